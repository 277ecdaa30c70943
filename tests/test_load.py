"""The service under hostile verification load, over HTTP with its own threads: eight uploads of a copy
crafted to keep a verifier busy, at once, while a clerk issues and a load balancer asks /healthz."""

from __future__ import annotations

import concurrent.futures
import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from . import attacks
from .conftest import ROOT, SAMPLES
from .servers import ServiceProcess

pytestmark = pytest.mark.slow


def call(url: str, *, data: bytes | None = None, headers: dict | None = None, timeout: float = 120) -> tuple[int, bytes, float]:
    started = time.monotonic()
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=data, headers=headers or {}), timeout=timeout) as response:
            return response.status, response.read(), time.monotonic() - started
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), time.monotonic() - started


def test_crafted_uploads_neither_take_long_nor_starve_issuing_and_healthz(tmp_path):
    env = {**os.environ, "CHENGNUO_DATA_DIR": str(tmp_path / "data")}
    key = subprocess.run([sys.executable, "-m", "service", "key", "add", "--agency", "jc-justice"], cwd=ROOT, env=env,
                         capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1]
    service = ServiceProcess(env, ROOT)
    service.start()
    auth = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    letter = json.dumps({"form": "commitment-letter", "data": json.loads((SAMPLES / "commitment-letter.json").read_text("utf-8"))}).encode()
    try:
        status, body, _ = call(f"{service.base}/api/v1/documents", data=letter, headers=auth)
        assert status == 201
        _, pdf, _ = call(service.base + json.loads(body)["links"]["pdf"], headers=auth)
        crafted = attacks.many_fields_one_signature(pdf)
        with concurrent.futures.ThreadPoolExecutor(10) as pool:
            uploads = [pool.submit(call, f"{service.base}/api/v1/verifications", data=crafted,
                                   headers={"Content-Type": "application/pdf", "X-Request-ID": f"crafted-{n}"}) for n in range(8)]
            time.sleep(0.2)
            health = pool.submit(call, f"{service.base}/healthz")
            issued = pool.submit(call, f"{service.base}/api/v1/documents", data=letter, headers=auth)
            results = [u.result() for u in uploads]
        assert all(status in (422, 503) for status, _, _ in results), results
        assert max(seconds for _, _, seconds in results) < 10, [round(s, 1) for _, _, s in results]
        assert health.result()[0] == 200 and health.result()[2] < 3
        assert issued.result()[0] == 201 and issued.result()[2] < 15
    finally:
        output = service.stop()
    assert "Traceback" not in output, output[max(0, output.find("Traceback") - 300):][:6000]  # the whole traceback, to diagnose it
    lines = [line for line in output.splitlines() if "service.verification" in line]
    assert sorted(re.search(r"\[(crafted-\d)\]", line).group(1) for line in lines if "crafted-" in line) == \
        [f"crafted-{n}" for n in range(8)]
