"""The audit chain shared by nodes on several machines: one PostgreSQL database (a real server on loopback) and the
head as an object in one S3 bucket (moto's server), each "machine" with its own data folder. Writers on both take
turns under PostgreSQL's advisory lock; a kill -9 mid-append and the loss of the last entries are still told apart
through the shared head."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from sqlalchemy import delete

from service.audit import AuditLog, make_audit_log
from service.audit.head_object import KEY
from service.audit.locks import AdvisoryLock
from service.config import Settings, load_settings
from service.errors import ConfigurationError, StorageUnavailable
from service.registry.db import make_engine
from service.registry.tables import audit_log

from .conftest import ROOT
from .servers import S3Server
from .test_audit import Clock


@pytest.fixture(scope="module")
def s3() -> Iterator[S3Server]:
    with pytest.MonkeyPatch.context() as patch:
        for name, value in S3Server.CREDENTIALS.items():
            patch.setenv(name, value)
        patch.delenv("AWS_PROFILE", raising=False)
        server = S3Server().start()
        yield server
        server.stop()


@pytest.fixture
def shared(tmp_path: Path, pg_url: str, s3: S3Server) -> dict[str, str]:
    """What every machine's environment says alike: one database, one bucket, the head in it."""
    return {"CHENGNUO_DATABASE_URL": pg_url, "CHENGNUO_STORAGE": "s3", "CHENGNUO_S3_ENDPOINT": s3.endpoint,
            "CHENGNUO_S3_BUCKET": s3.new_bucket(), "CHENGNUO_STORAGE_TIMEOUT": "2", "CHENGNUO_AUDIT_HEAD": "s3",
            **S3Server.CREDENTIALS}


def machine(tmp_path: Path, shared: dict[str, str], name: str) -> Settings:
    return load_settings(environ={**shared, "CHENGNUO_DATA_DIR": str(tmp_path / name)})


def open_log(settings: Settings) -> AuditLog:
    return make_audit_log(settings, make_engine(settings.database), Clock())


def head_object(settings: Settings) -> str:
    client = boto3.client("s3", endpoint_url=settings.s3_endpoint, region_name=settings.s3_region)
    return client.get_object(Bucket=settings.s3_bucket, Key=KEY)["Body"].read().decode()


# Appends from its own process, as one machine's node does, with the settings of its environment:
# ``APPEND NAME THREADS COUNT`` (COUNT "forever": until killed), saying "ready" once its log is open.
APPEND = (
    "import datetime as dt, itertools, sys, threading\n"
    "from service.audit import make_audit_log\n"
    "from service.config import load_settings\n"
    "from service.registry.db import make_engine\n"
    "settings = load_settings()\n"
    "log = make_audit_log(settings, make_engine(settings.database), lambda: dt.datetime.now(dt.timezone.utc))\n"
    "name, threads, count = sys.argv[1], int(sys.argv[2]), sys.argv[3]\n"
    "def work(t):\n"
    "    for i in itertools.count() if count == 'forever' else range(int(count)):\n"
    "        log.record(actor=f'node:{name}', action='issue', object=f'{name}-{t}-{i}', outcome='ok')\n"
    "print('ready', flush=True)\n"
    "workers = [threading.Thread(target=work, args=(t,)) for t in range(threads)]\n"
    "[w.start() for w in workers]\n"
    "[w.join() for w in workers]\n"
)


def appender(settings: Settings, shared: dict[str, str], name: str, threads: int, count: str) -> subprocess.Popen:
    env = {**os.environ, **shared, "CHENGNUO_DATA_DIR": str(settings.data_dir)}
    return subprocess.Popen([sys.executable, "-c", APPEND, name, str(threads), count], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, text=True)


def test_two_machines_appending_at_once_give_one_chain_that_audit_verify_accepts(tmp_path, shared):
    a, b = machine(tmp_path, shared, "a"), machine(tmp_path, shared, "b")
    procs = [appender(a, shared, "a", 4, "15"), appender(b, shared, "b", 4, "15")]
    assert [p.wait(timeout=180) for p in procs] == [0, 0]

    check = open_log(machine(tmp_path, shared, "c")).verify()  # a third machine sees the same chain and head
    assert (check.ok, check.entries, check.problem) == (True, 120, None)
    last = open_log(a).entries(limit=1)[0]
    assert f"120:{last.hash}\n" == head_object(a)
    assert not any((tmp_path / name / "audit.head").exists() for name in "abc")  # no machine kept a head of its own
    env = {**os.environ, **shared, "CHENGNUO_DATA_DIR": str(tmp_path / "operator")}
    verified = subprocess.run([sys.executable, "-m", "service", "audit", "verify"], cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=120)
    assert (0, "(120 entries)") == (verified.returncode, verified.stdout.strip()[-13:]), verified.stdout + verified.stderr


def test_the_last_entries_deleted_are_caught_on_the_other_machine(tmp_path, shared):
    a, b = open_log(machine(tmp_path, shared, "a")), open_log(machine(tmp_path, shared, "b"))
    for i in range(5):
        a.record(actor="clerk:wang", action="issue", object=f"doc-{i}", outcome="ok")
    assert b.verify().ok
    with a.engine.begin() as conn:
        conn.execute(delete(audit_log).where(audit_log.c.seq >= 4))
    check = b.verify()
    assert (check.ok, check.entries, check.first_bad_seq) == (False, 3, 5)
    assert "removed" in check.problem and "4–5" in check.problem
    assert "4–5" in b.head_problem()
    b.record(actor="clerk:li", action="issue", object="doc-6", outcome="ok")  # the mismatch stays recorded, on both
    assert not a.verify().ok and "4–5" in a.head_problem()
    a.acknowledge("operator:operator", "已核实：测试删除")
    assert b.verify().ok


def test_a_machine_killed_mid_append_leaves_a_chain_the_other_builds_on(tmp_path, shared):
    a, b = machine(tmp_path, shared, "a"), machine(tmp_path, shared, "b")
    other = appender(b, shared, "b", 2, "forever")
    assert other.stdout.readline().strip() == "ready"
    try:
        for kill in range(4):
            victim = appender(a, shared, "a", 2, "forever")
            assert victim.stdout.readline().strip() == "ready"
            time.sleep(0.3 + 0.13 * kill)
            victim.kill()  # perhaps holding the lock, with the head pending: PostgreSQL lets the lock go
            victim.wait(timeout=10)
            check = open_log(b).verify()
            assert check.ok, (kill, check.problem)
    finally:
        other.kill()
        other.wait(timeout=10)
    check = open_log(machine(tmp_path, shared, "c")).verify()
    assert check.ok and check.entries > 20, check


def test_the_advisory_lock_makes_a_writer_on_another_machine_wait(tmp_path, shared):
    a, b = machine(tmp_path, shared, "a"), open_log(machine(tmp_path, shared, "b"))
    finished = threading.Event()
    with AdvisoryLock(make_engine(a.database)).hold():
        writer = threading.Thread(target=lambda: (b.record(actor="a", action="issue", object="o", outcome="ok"), finished.set()))
        writer.start()
        assert not finished.wait(0.5)
    writer.join(timeout=10)
    assert finished.is_set() and b.verify().ok


def test_an_unreachable_head_object_refuses_the_entry(tmp_path, shared):
    server = S3Server().start()
    settings = machine(tmp_path, {**shared, "CHENGNUO_S3_ENDPOINT": server.endpoint, "CHENGNUO_S3_BUCKET": server.new_bucket()}, "a")
    log = open_log(settings)
    log.record(actor="a", action="issue", object="doc-1", outcome="ok")
    server.stop()
    with pytest.raises(StorageUnavailable):
        log.record(actor="a", action="issue", object="doc-2", outcome="ok")
    assert [1] == [e.seq for e in log.entries()]  # not committed without its head


def test_a_shared_head_needs_a_bucket_and_is_file_or_s3():
    assert "file" == load_settings(environ={}).audit_head
    with pytest.raises(ConfigurationError, match="CHENGNUO_S3_BUCKET"):
        load_settings(environ={"CHENGNUO_AUDIT_HEAD": "s3"})
    with pytest.raises(ConfigurationError, match="CHENGNUO_AUDIT_HEAD"):
        load_settings(environ={"CHENGNUO_AUDIT_HEAD": "nfs"})


def test_on_sqlite_the_head_stays_a_file_under_flock(tmp_path):
    log = open_log(load_settings(environ={"CHENGNUO_DATA_DIR": str(tmp_path / "data")}))
    entry = log.record(actor="a", action="issue", object="doc-1", outcome="ok")
    assert tmp_path / "data" / "audit.head" == log.head_file
    assert f"1:{entry.hash}\n" == log.head_file.read_text()
    assert (tmp_path / "data" / "audit.head.lock").exists()
    assert dt.timedelta(0) == entry.at.utcoffset()


def test_a_node_whose_head_object_is_out_of_reach_answers_503_with_its_health(tmp_path, shared, pool, sandbox):
    from service import create_app
    from service.runtime import build_services

    server = S3Server().start()
    settings = machine(tmp_path, {**shared, "CHENGNUO_S3_ENDPOINT": server.endpoint, "CHENGNUO_S3_BUCKET": server.new_bucket()}, "a")
    services = build_services(settings, converter=pool, sandbox=sandbox)
    try:
        services.audit.record(actor="a", action="issue", object="doc-1", outcome="ok")
        client = create_app(services=services).test_client()
        server.stop()
        health = client.get("/healthz")
        assert health.status_code == 503 and health.json["status"] == "unavailable"
        assert health.json["checks"]["audit_head"] == {"ok": False, "error": "audit head unreachable"}
    finally:
        server.stop()
        services.batch_queue.stop()
        services.instances.close()
        services.registry.engine.dispose()
