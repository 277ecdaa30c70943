"""docs/deploy.md on loopback: two service nodes behind Debian's haproxy, on one PostgreSQL, one Redis and one
S3-compatible store (moto's server), the audit head in the bucket. Eight calling systems issue through haproxy,
each document under its own Idempotency-Key, retrying the same key when an answer is lost; one node is killed
(kill -9) mid-run and started again. Then: every key gave exactly one document; every number drawn belongs to one
document, issued or voided with the reason; the audit chain verifies; and every document downloads from either
node directly, with the registry's SHA-256, and verifies as valid."""

from __future__ import annotations

import concurrent.futures
import contextlib
import csv
import hashlib
import http.client
import io
import json
import os
import re
import secrets
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import select

from service.recovery import REASON
from service.registry.db import make_engine
from service.registry.tables import audit_log, counters, documents, instances

from .conftest import ROOT, SAMPLES
from .servers import HAProxyServer, RedisServer, S3Server, ServiceProcess

pytestmark = pytest.mark.slow

CLIENTS, PER_CLIENT = 8, 8  # 64 documents, under 64 keys
FORMS = ["commitment-letter", "assistance-request-written"]  # a commitment number and a letter number
RETRYABLE = {502, 503, 504}


def call(url: str, *, data: bytes | None = None, headers: dict[str, str] | None = None, timeout: float = 150) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=data, headers=headers or {}), timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


@dataclass
class Client:
    """A calling system that retries the same Idempotency-Key, with backoff, after a lost connection, a 502/503/504
    or a 409 'still in progress'; any other answer is final."""

    base: str
    key: str
    answers: dict[str, list[str]] = field(default_factory=dict)  # Idempotency-Key → the document ids answered
    failures: list[str] = field(default_factory=list)
    retries: int = 0

    def issue(self, idempotency_key: str, form: str) -> None:
        body = json.dumps({"form": form, "data": json.loads((SAMPLES / f"{form}.json").read_text(encoding="utf-8"))}).encode()
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {self.key}", "Idempotency-Key": idempotency_key}
        delay, deadline = 0.2, time.monotonic() + 150
        while True:
            try:
                status, answer = call(f"{self.base}/api/v1/documents", data=body, headers=headers)
            except (OSError, http.client.HTTPException):  # refused, reset, or closed without an answer
                status, answer = 0, b""
            if status == 201:
                self.answers.setdefault(idempotency_key, []).append(json.loads(answer)["id"])
                return
            in_progress = status == 409 and b"idempotency_in_progress" in answer
            if not (status in RETRYABLE or status == 0 or in_progress) or time.monotonic() > deadline:
                self.failures.append(f"{idempotency_key}: {status} {answer[:300]!r}")
                return
            self.retries += 1
            time.sleep(delay)
            delay = min(delay * 2, 2.0)


@pytest.fixture
def s3() -> Iterator[S3Server]:
    server = S3Server().start()
    yield server
    server.stop()


@pytest.fixture
def redis() -> Iterator[RedisServer]:
    server = RedisServer().start()
    yield server
    server.stop()


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "service", *args], check=False, cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)


def trailing_number(number: str) -> int:
    return int(re.search(r"(\d+)号$", number)[1])


@dataclass
class Cluster:
    nodes: list[ServiceProcess]
    proxy: HAProxyServer
    operator: dict[str, str]  # the environment of an operator's command
    key: str  # an API key for jc-justice
    engine: object


@contextlib.contextmanager
def cluster(tmp_path: Path, pg_url: str, s3: S3Server, redis: RedisServer, **extra: str) -> Iterator[Cluster]:
    """Two nodes (started) behind haproxy (started) on PostgreSQL, Redis and S3, the audit head in the bucket."""
    shared = {
        **os.environ, **S3Server.CREDENTIALS,
        "CHENGNUO_DATABASE_URL": pg_url, "CHENGNUO_REDIS_URL": redis.url,
        "CHENGNUO_STORAGE": "s3", "CHENGNUO_S3_ENDPOINT": s3.endpoint, "CHENGNUO_S3_BUCKET": s3.new_bucket(),
        "CHENGNUO_AUDIT_HEAD": "s3",
        "CHENGNUO_SECRET_KEY": secrets.token_urlsafe(32), "CHENGNUO_WEBHOOK_KEY": secrets.token_urlsafe(32),
        "CHENGNUO_ID_HASH_KEY": secrets.token_hex(32), "CHENGNUO_TRUSTED_PROXIES": "1",
        "CHENGNUO_CONVERTER_WORKERS": "1", "CHENGNUO_VERIFY_WORKERS": "1",
        "CHENGNUO_PUBLIC_RATE_LIMIT": "100000 per minute",  # every verification below comes from one address
        **extra,
    }
    shared.pop("AWS_PROFILE", None)
    nodes = [ServiceProcess({**shared, "CHENGNUO_DATA_DIR": str(tmp_path / f"node{n}")}, ROOT, log=tmp_path / f"node{n}.log")
             for n in (1, 2)]
    proxy = HAProxyServer([f"127.0.0.1:{node.port}" for node in nodes], tmp_path / "haproxy")
    for node in nodes:
        node.env["CHENGNUO_BASE_URL"] = proxy.base  # what the QR codes print
    operator = {**shared, "CHENGNUO_DATA_DIR": str(tmp_path / "operator"), "CHENGNUO_BASE_URL": proxy.base}
    key = cli(operator, "key", "add", "--agency", "jc-justice", "--name", "多节点测试").stdout.strip().splitlines()[-1]
    engine = make_engine(pg_url)
    try:
        with concurrent.futures.ThreadPoolExecutor(2) as starting:
            assert all(health["status"] == "ok" for health in starting.map(lambda node: node.start(), nodes))
        proxy.start()
        yield Cluster(nodes, proxy, operator, key, engine)
    finally:
        proxy.stop()
        for node in nodes:
            if node.process is not None:
                node.stop()
        engine.dispose()


def test_two_nodes_behind_haproxy_issue_one_document_per_key_through_a_kill_9(tmp_path: Path, pg_url: str, s3: S3Server,
                                                                               redis: RedisServer) -> None:
    started = time.monotonic()
    with cluster(tmp_path, pg_url, s3, redis) as setup:
        issue_through_a_kill(setup, started)


def issue_through_a_kill(setup: Cluster, started: float) -> None:
    nodes, proxy, operator, key, engine = setup.nodes, setup.proxy, setup.operator, setup.key, setup.engine
    clients = [Client(proxy.base, key) for _ in range(CLIENTS)]

    def run(n: int) -> None:
        for k in range(PER_CLIENT):
            clients[n].issue(f"client{n}-{k}", FORMS[(n + k) % 2])

    workers = [threading.Thread(target=run, args=(n,), daemon=True) for n in range(CLIENTS)]
    for worker in workers:
        worker.start()

    def issued() -> int:
        return sum(len(c.answers) for c in clients)

    wait_until(lambda: issued() >= 16, 120, "16 documents issued")
    victim = nodes[0]
    victim_id = instance_of(engine, victim)
    wait_until(lambda: in_flight(engine, victim_id), 30, "a document in flight on node 1")
    victim.kill()
    stuck = in_flight(engine, victim_id)
    assert stuck, "no document was in flight at the kill"
    verified = cli(operator, "audit", "verify")  # right after the kill, the head perhaps pending: intact
    assert 0 == verified.returncode, verified.stdout + verified.stderr

    time.sleep(2)  # the other node serves alone meanwhile
    assert victim.start()["status"] == "ok"  # its start voids what it left half-issued
    for worker in workers:
        worker.join(timeout=300)
    assert not any(worker.is_alive() for worker in workers)
    issue_seconds = time.monotonic() - started

    # One document per key: the same id for every answer to a key; as many live documents as keys.
    assert [] == [f for c in clients for f in c.failures]
    answers = {k: ids for c in clients for k, ids in c.answers.items()}
    assert CLIENTS * PER_CLIENT == len(answers)
    assert {} == {k: ids for k, ids in answers.items() if len(set(ids)) != 1}
    with engine.connect() as conn:
        rows = conn.execute(select(documents)).all()
        drawn = conn.execute(select(counters)).all()
        recovered = {r.object for r in conn.execute(
            select(audit_log.c.object).where(audit_log.c.action == "void", audit_log.c.actor == "system:recovery"))}
    live = {r.id: r for r in rows if r.status != "voided"}
    by_id = {r.id: r for r in rows}
    assert {} == {k: (ids[0], by_id[ids[0]].status, by_id[ids[0]].void_reason, ids[0] in stuck)
                  for k, ids in answers.items() if ids[0] not in live}
    assert {ids[0] for ids in answers.values()} == set(live)

    # No number twice, none unaccounted for: each counter's values 1…n are n documents, the extra ones voided
    # with their reason; among them the documents the killed node had in flight, voided by recovery and audited.
    voided = {r.id: r for r in rows if r.status == "voided"}
    assert all(r.void_reason for r in voided.values())
    assert {REASON} == {voided[document_id].void_reason for document_id in stuck}
    assert {f"document:{document_id}" for document_id in stuck} <= recovered
    for counter in drawn:
        if counter.kind == "serial":
            values = [int(r.serial.split("-")[1]) for r in rows]
        else:
            values = [trailing_number(r.number) for r in rows if r.agency == counter.agency and r.number_kind == counter.kind]
        assert list(range(1, counter.value + 1)) == sorted(values), counter
    assert "issuing" not in {r.status for r in rows}

    # The audit chain verifies, and both nodes agree with the shared head.
    verified = cli(operator, "audit", "verify")
    assert 0 == verified.returncode, verified.stdout + verified.stderr
    for node in nodes:
        status, health = call(f"{node.base}/healthz")
        assert (200, "ok") == (status, json.loads(health)["status"]), health

    # Every document from either node directly: the registry's bytes, and valid when verified on the other node.
    auth = {"Authorization": f"Bearer {key}"}

    def check(n_record: tuple[int, object]) -> str | None:
        n, record = n_record
        status, pdf = call(f"{nodes[n % 2].base}/api/v1/documents/{record.id}/pdf", headers=auth)
        if status != 200 or hashlib.sha256(pdf).hexdigest() != record.sha256:
            return f"{record.id}: download {status}"
        status, report = call(f"{nodes[(n + 1) % 2].base}/api/v1/verifications", data=pdf,
                              headers={"Content-Type": "application/pdf"})
        verdict = json.loads(report).get("verdict") if status == 200 else status
        return None if verdict == "valid" and json.loads(report)["document"]["id"] == record.id else f"{record.id}: {verdict}"

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        problems = [p for p in pool.map(check, enumerate(live.values())) if p]
    assert [] == problems
    print(f"\n{len(live)} documents ({len(voided)} numbers voided, {sum(c.retries for c in clients)} retries) issued in "
          f"{issue_seconds:.0f} s; whole test {time.monotonic() - started:.0f} s")


BATCH_ROWS = 40


def test_a_batch_through_haproxy_finishes_on_the_other_node_when_one_is_killed(tmp_path: Path, pg_url: str, s3: S3Server,
                                                                                redis: RedisServer) -> None:
    """Part 3's exactly-once: the rows go to both nodes' workers through Redis; node 1 dies (kill -9) in the middle; its
    unacknowledged messages go back to the queue, node 2 finishes the batch, and every row has one document."""
    with cluster(tmp_path, pg_url, s3, redis, CHENGNUO_BATCH_HEARTBEAT_SECONDS="3", CHENGNUO_BATCH_CHUNK="4",
                 CHENGNUO_BATCH_WORKERS="2") as setup:
        auth = {"Authorization": f"Bearer {setup.key}", "Content-Type": "application/json"}
        sample = json.loads((SAMPLES / "commitment-letter.json").read_text(encoding="utf-8"))
        rows = [{**sample, "applicant": {**sample["applicant"], "name": f"批量{n:03d}"}} for n in range(BATCH_ROWS)]
        status, answer = call(f"{setup.proxy.base}/api/v1/batches", data=json.dumps({"form": "commitment-letter", "rows": rows}).encode(),
                              headers={**auth, "Idempotency-Key": "campaign-1"})
        assert status == 202, answer
        batch = json.loads(answer)

        def progress() -> dict:
            status, answer = call(f"{setup.proxy.base}/api/v1/batches/{batch['id']}", headers=auth)
            return json.loads(answer) if status == 200 else {"status": "?", "done": 0}

        victim = setup.nodes[0]
        victim_id = instance_of(setup.engine, victim)
        wait_until(lambda: progress()["done"] >= 8 and in_flight(setup.engine, victim_id), 180, "8 rows done, one in flight on node 1")
        victim.kill()
        assert progress()["pending"] > 0
        wait_until(lambda: progress()["status"] == "finished", 240, "the batch finished on node 2")
        assert victim.start()["status"] == "ok"
        final = progress()
        assert (final["done"], final["failed"]) == (BATCH_ROWS, 0), final

        status, content = call(f"{setup.nodes[1].base}/api/v1/batches/{batch['id']}/archive", headers=auth)
        assert status == 200
        archive = zipfile.ZipFile(io.BytesIO(content))
        manifest = list(csv.DictReader(io.StringIO(archive.read("manifest.csv").decode("utf-8-sig"))))
        with setup.engine.connect() as conn:
            rows_now = {r.id: r for r in conn.execute(select(documents)).all()}
        ids = [line["document_id"] for line in manifest]
        assert len(set(ids)) == BATCH_ROWS and all(rows_now[i].status == "completed" or rows_now[i].status == "awaiting_signatures" for i in ids)
        for line in manifest:
            assert rows_now[line["document_id"]].sha256 == line["sha256"] == hashlib.sha256(
                archive.read(f"{int(line['row']):05d}-{line['serial']}.pdf")).hexdigest()
        extra = [r for r in rows_now.values() if r.id not in set(ids)]
        assert all(r.status == "voided" and r.void_reason for r in extra)  # the rows node 1 held, voided by recovery
        numbers = sorted(trailing_number(r.number) for r in rows_now.values())
        assert numbers == list(range(1, len(rows_now) + 1))
        verified = cli(setup.operator, "audit", "verify")
        assert verified.returncode == 0, verified.stdout + verified.stderr


def wait_until(condition, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"waited {timeout:.0f} s for: {what}"
        time.sleep(0.02)


def instance_of(engine, node: ServiceProcess) -> str:  # type: ignore[no-untyped-def]
    """The node's entry in the instances table (it registers at start)."""
    with engine.connect() as conn:
        return conn.execute(select(instances.c.id).where(instances.c.pid == node.process.pid, instances.c.stopped_at.is_(None))
                            .order_by(instances.c.started_at.desc())).scalars().first()


def in_flight(engine, owner: str) -> list[str]:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return list(conn.execute(select(documents.c.id).where(documents.c.owner == owner, documents.c.status == "issuing")).scalars())
