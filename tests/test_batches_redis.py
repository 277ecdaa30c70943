"""Batches across processes through a real redis-server: the rows go to whichever worker takes them, and a worker
killed with ``kill -9`` in the middle of a batch loses nothing — its unacknowledged messages go back to the queue,
the number it drew for the row it was issuing is voided by recovery, and the batch finishes on another worker with
one document per row and every number issued or voided."""

from __future__ import annotations

import copy
import os
import re
import signal
import subprocess
import sys
import time

import pytest

from service.auth.principal import OPERATOR
from service.batches import submit
from service.config import load_settings
from service.runtime import build_services

from .conftest import ROOT, sample
from .servers import RedisServer

pytestmark = pytest.mark.slow


@pytest.fixture
def redis():
    server = RedisServer().start()
    yield server
    server.stop()


def rows(count: int) -> list[tuple[int, dict, dict]]:
    out = []
    for index in range(count):
        row = copy.deepcopy(sample("commitment-letter"))
        row["applicant"]["name"] = f"批量{index + 1:03d}"
        out.append((index + 1, row, {}))
    return out


def start_worker(env: dict[str, str], log) -> subprocess.Popen:  # type: ignore[no-untyped-def]
    return subprocess.Popen([sys.executable, "-m", "service", "worker", "--threads", "2", "--converters", "1"], cwd=ROOT, env=env,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def test_a_worker_killed_mid_batch_leaves_no_duplicate_and_no_missing_document(tmp_path, redis, pool, sandbox):
    environ = {"CHENGNUO_DATA_DIR": str(tmp_path / "data"), "CHENGNUO_REDIS_URL": redis.url, "CHENGNUO_BATCH_HEARTBEAT_SECONDS": "3",
               "CHENGNUO_BATCH_CHUNK": "4"}
    services = build_services(load_settings(environ=environ), converter=pool, sandbox=sandbox)
    env = {**os.environ, **environ}
    log = (tmp_path / "workers.log").open("wb")
    first = second = None
    try:
        batch = submit.submit(services, OPERATOR, "commitment-letter", "jc-justice", rows(40)).batch
        first = start_worker(env, log)
        deadline = time.monotonic() + 180
        while services.batches.counts(batch.id)["done"] < 8:
            assert time.monotonic() < deadline and first.poll() is None, (tmp_path / "workers.log").read_text()
            time.sleep(0.05)
        os.killpg(first.pid, signal.SIGKILL)  # the worker and its LibreOffice, mid-row
        first.wait(30)
        killed_at = services.batches.counts(batch.id)
        assert killed_at["pending"] > 0
        second = start_worker(env, log)
        while services.batches.get(batch.id).status != "finished":
            assert time.monotonic() < deadline, (services.batches.counts(batch.id), (tmp_path / "workers.log").read_text()[-3000:])
            time.sleep(0.2)
        finished = services.batches.rows(batch.id)
        assert [r.status for r in finished] == ["done"] * 40
        documents = [services.registry.get(r.document_id) for r in finished]
        assert len({d.id for d in documents}) == 40 and len({d.number for d in documents}) == 40
        assert all(d.status in ("completed", "awaiting_signatures") for d in documents)
        # every number drawn is one of the 40 documents, or voided with its reason (the rows the killed worker held)
        drawn = services.registry.list(limit=1000)
        ours = {d.id for d in documents}
        assert all(d.status == "voided" and d.void_reason for d in drawn if d.id not in ours)
        numbers = sorted(int(re.search(r"第(\d+)号", d.number).group(1)) for d in drawn)
        assert numbers == list(range(1, len(drawn) + 1))  # no gap, no number twice
        check = services.audit.verify()
        assert check.ok, check.problem
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(60)
        log.close()
        services.batch_queue.stop()
        services.instances.close()
        services.registry.engine.dispose()


def test_with_redis_gone_a_new_batch_is_kept_and_refused_with_503_and_the_node_says_degraded(tmp_path, pool, sandbox):
    from service import create_app

    server = RedisServer().start()
    services = build_services(load_settings(environ={"CHENGNUO_DATA_DIR": str(tmp_path / "data"), "CHENGNUO_REDIS_URL": server.url}),
                              converter=pool, sandbox=sandbox)
    try:
        _, key = services.api_keys.create(name="系统", agencies=["jc-justice"], forms=["*"], now=services.now())
        client = create_app(services=services).test_client()
        client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {key}"
        assert client.get("/healthz").json["checks"]["batches"] == {"ok": True, "queue": "redis", "threads": 0}
        server.stop()
        health = client.get("/healthz")
        assert health.status_code == 200 and health.json["status"] == "degraded" and health.json["checks"]["batches"]["ok"] is False
        body = {"form": "commitment-letter", "rows": [row for _, row, _ in rows(2)]}
        refused = client.post("/api/v1/batches", json=body, headers={"Idempotency-Key": "k1"})
        assert refused.status_code == 503 and refused.json["error"] == "queue_unavailable" and "Retry-After" in refused.headers
        kept = services.batches.recent(None)
        assert len(kept) == 1 and kept[0].total == 2 and services.batches.counts(kept[0].id)["pending"] == 2
    finally:
        server.stop()
        services.batch_queue.stop()
        services.instances.close()
        services.registry.engine.dispose()
