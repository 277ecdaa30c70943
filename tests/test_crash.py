"""The service killed outright (kill -9) while four clients issue letters, twice: right after each kill
the audit trail verifies; after each restart no document is left 'issuing', each interrupted one is
voided with the reason and audited, and the clients' retries issue."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import pytest

from .conftest import ROOT, SAMPLES
from .servers import ServiceProcess

pytestmark = pytest.mark.slow

REASON = "服务中断，未完成签发 / interrupted before issue"


def cli(env, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "service", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def statuses(database) -> dict[str, list[tuple[str, str | None]]]:
    with sqlite3.connect(database) as conn:
        rows = conn.execute("SELECT id, status, void_reason FROM documents").fetchall()
    found: dict[str, list] = {}
    for document_id, status, reason in rows:
        found.setdefault(status, []).append((document_id, reason))
    return found


class Clients:
    """Four calling systems issuing letters, each with an idempotency key per letter, retrying on failure."""

    def __init__(self, base: str, key: str) -> None:
        self.base, self.key = base, key
        self.stop = threading.Event()
        self.issued: list[str] = []
        self.payload = json.dumps({"form": "commitment-letter",
                                   "data": json.loads((SAMPLES / "commitment-letter.json").read_text(encoding="utf-8"))}).encode()
        self.threads = [threading.Thread(target=self._run, args=(n,), daemon=True) for n in range(4)]

    def _run(self, n: int) -> None:
        letter = 0
        while not self.stop.is_set():
            request = urllib.request.Request(f"{self.base}/api/v1/documents", data=self.payload, headers={
                "Content-Type": "application/json", "Authorization": f"Bearer {self.key}", "Idempotency-Key": f"client{n}-{letter}"})
            try:
                with urllib.request.urlopen(request, timeout=60) as response:
                    self.issued.append(json.load(response)["id"])
                letter += 1
            except (urllib.error.URLError, OSError, ValueError):
                time.sleep(0.1)  # the server is down: retry the same letter

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def wait_for(self, count: int, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while len(self.issued) < count:
            assert time.monotonic() < deadline, f"only {len(self.issued)} letters issued"
            time.sleep(0.05)

    def finish(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=90)


def test_kill_9_while_issuing_leaves_nothing_issuing_and_the_audit_intact(tmp_path):
    env = {**os.environ, "CHENGNUO_DATA_DIR": str(tmp_path / "data"), "CHENGNUO_CONVERTER_WORKERS": "2"}
    database = tmp_path / "data" / "chengnuo.db"
    key = cli(env, "key", "add", "--agency", "jc-justice", "--name", "崩溃测试").stdout.strip().splitlines()[-1]
    service = ServiceProcess(env, ROOT)
    service.start()
    clients = Clients(service.base, key)
    clients.start()
    interrupted: list[str] = []
    try:
        for kill in range(2):
            clients.wait_for(len(clients.issued) + 6)
            service.kill()
            stuck = [document_id for document_id, _ in statuses(database).get("issuing", [])]
            assert stuck, "no letter was in flight at the kill"
            interrupted += stuck
            verified = cli(env, "audit", "verify")
            assert verified.returncode == 0, (kill, verified.stdout)

            health = service.start()  # the clients resume at once: rows 'issuing' now are the new process's
            assert health["status"] == "ok", health
            voided = dict(statuses(database)["voided"])
            assert all(voided.get(document_id) == REASON for document_id in stuck), stuck
        clients.wait_for(len(clients.issued) + 4)
    finally:
        clients.finish()
        service.stop()
    with sqlite3.connect(database) as conn:
        audited = {row[0] for row in conn.execute(
            "SELECT object FROM audit_log WHERE action = 'void' AND actor = 'system:recovery'")}
    assert audited == {f"document:{document_id}" for document_id in interrupted}
    assert cli(env, "audit", "verify").returncode == 0
    final = statuses(database)
    assert "issuing" not in final and len(final["awaiting_signatures"]) == len(clients.issued)
