"""A process that dies while issuing: its documents are voided with the reason and audited at the next
start, its idempotency keys released; a live process's documents are never touched. On SQLite and on a
real PostgreSQL server."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import signal
import subprocess
import sys

import pytest
from sqlalchemy import insert, select

from service import recovery
from service.auth.principal import OPERATOR
from service.errors import Conflict
from service.issuing import issue
from service.registry.tables import instances
from service.runtime import build_services
from service.voiding import void

from .conftest import ROOT, sample

# Reserves a document (and claims an idempotency key) as the issuing pipeline does, says so, then hangs
# as a process does in the middle of a conversion.
HALF_ISSUE = """
import json, sys, time
from service.config import load_settings
from service.runtime import build_services
services = build_services(load_settings(environ={"CHENGNUO_DATA_DIR": sys.argv[1], "CHENGNUO_DATABASE_URL": sys.argv[2]}))
agency = services.agencies.get("jc-justice")
services.registry.claim_key("key:case-7\\x1fretry-me", "fingerprint", services.now(), services.instances.id)
record = services.registry.reserve(form="liaison-form", agency=agency, number_kind=None, subject="", data={},
                                   now=services.now(), year=services.now().year, request_id=None, owner=services.instances.id)
print(json.dumps({"id": record.id, "serial": record.serial}), flush=True)
time.sleep(600)
"""


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request, settings):
    """The services' settings on SQLite (the default) or on a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return settings
    return dataclasses.replace(settings, database_url=request.getfixturevalue("pg_url"))


@pytest.fixture
def recovering(database, services):
    svc = build_services(database, converter=services.converter, sandbox=services.sandbox)
    yield svc
    svc.instances.close()
    svc.registry.engine.dispose()


def half_issue(settings) -> tuple[subprocess.Popen, dict]:
    process = subprocess.Popen([sys.executable, "-c", HALF_ISSUE, str(settings.data_dir), settings.database], cwd=ROOT,
                               stdout=subprocess.PIPE, text=True)
    return process, json.loads(process.stdout.readline())


def test_a_killed_process_s_document_is_voided_with_the_reason_and_audited(database, recovering):
    process, half = half_issue(database)
    assert recovery.void_interrupted(recovering) == []  # alive: its work is its own
    assert recovering.registry.get(half["id"]).status == "issuing"
    process.send_signal(signal.SIGKILL)
    process.wait()

    [voided] = recovery.void_interrupted(recovering)
    record = recovering.registry.get(half["id"])
    assert (voided.id, record.status, record.void_reason) == (half["id"], "voided", recovery.REASON)
    [entry] = recovering.audit.entries(limit=1, action="void")
    assert entry.actor == "system:recovery" and entry.detail["serial"] == half["serial"] and entry.detail["was"] == "issuing"
    assert recovering.audit.verify().ok
    assert recovery.void_interrupted(recovering) == []  # once
    with recovering.registry.engine.connect() as conn:
        assert conn.execute(select(instances.c.id).where(instances.c.id == voided.owner)).first() is None  # forgotten


def test_the_idempotency_key_of_a_killed_request_is_released_for_the_retry(database, recovering):
    process, half = half_issue(database)
    process.send_signal(signal.SIGKILL)
    process.wait()
    recovery.void_interrupted(recovering)
    principal = dataclasses.replace(OPERATOR, kind="key", id="case-7")
    retried = issue(recovering, "liaison-form", sample("liaison-form"), principal=principal, agency_id="jc-justice",
                    idempotency_key="retry-me")
    assert retried.document.status == "completed" and retried.document.id != half["id"]


def test_a_process_on_another_machine_is_gone_only_when_its_heartbeat_is_stale(recovering):
    now = recovering.now()
    agency = recovering.agencies.get("jc-justice")
    owners = {"fresh": now - dt.timedelta(seconds=20), "stale": now - dt.timedelta(minutes=5)}
    rows = {}
    with recovering.registry.engine.begin() as conn:
        for name, beat in owners.items():
            conn.execute(insert(instances).values(id=f"node-{name}", host="other-node", boot_id="b", pid=1234, proc_start="1",
                                                  started_at=beat, heartbeat_at=beat))
    for name in owners:
        rows[name] = recovering.registry.reserve(form="liaison-form", agency=agency, number_kind=None, subject="", data={},
                                                 now=now, year=now.year, request_id=None, owner=f"node-{name}")
    assert [r.id for r in recovery.void_interrupted(recovering)] == [rows["stale"].id]
    assert recovering.registry.get(rows["fresh"].id).status == "issuing"


def test_a_row_from_before_owners_were_recorded_is_voided_once_it_is_old(recovering):
    agency = recovering.agencies.get("jc-justice")
    now = recovering.now()
    old = recovering.registry.reserve(form="liaison-form", agency=agency, number_kind=None, subject="", data={},
                                      now=now - dt.timedelta(hours=1), year=now.year, request_id=None, owner=None)
    recent = recovering.registry.reserve(form="liaison-form", agency=agency, number_kind=None, subject="", data={},
                                         now=now, year=now.year, request_id=None, owner=None)
    assert [r.id for r in recovery.void_interrupted(recovering)] == [old.id]
    assert recovering.registry.get(recent.id).status == "issuing"


def test_the_operator_voids_a_stuck_document_and_its_process_then_fails_cleanly(services):
    agency = services.agencies.get("jc-justice")
    now = services.now()
    stuck = services.registry.reserve(form="liaison-form", agency=agency, number_kind="letter", subject="", data={},
                                      now=now, year=now.year, request_id=None, owner=services.instances.id)
    supervisor = dataclasses.replace(OPERATOR, kind="user", role="supervisor", agencies=frozenset({"jc-justice"}))
    with pytest.raises(Conflict):
        void(services, supervisor, stuck.id, "卡住了")
    voided = void(services, OPERATOR, stuck.id, "进程挂起，人工作废")
    assert (voided.status, voided.void_reason) == ("voided", "进程挂起，人工作废")
    assert services.audit.entries(limit=1, action="void")[0].detail["was"] == "issuing"
    with pytest.raises(Conflict):
        services.registry.complete(stuck.id, sha256="0" * 64, pdf_path="x", docx_path="y", pdf_size=1, now=now, awaiting=False)


def test_the_cli_voids_a_stuck_document(settings, services):
    agency = services.agencies.get("jc-justice")
    now = services.now()
    stuck = services.registry.reserve(form="liaison-form", agency=agency, number_kind=None, subject="", data={},
                                      now=now, year=now.year, request_id=None, owner=services.instances.id)
    env = {**os.environ, "CHENGNUO_DATA_DIR": str(settings.data_dir)}
    result = subprocess.run([sys.executable, "-m", "service", "void", stuck.id, "--reason", "进程挂起"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert stuck.serial in result.stdout and services.registry.get(stuck.id).status == "voided"
