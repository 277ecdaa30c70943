"""python -m service, as an operator runs it: real processes, real files, exit codes of DESIGN.md."""

from __future__ import annotations

import hashlib
import re
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from . import pdfcheck, sigcheck
from .conftest import ROOT, SAMPLES


def run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "service", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)


@pytest.fixture
def env(tmp_path):
    return {**os.environ, "CHENGNUO_DATA_DIR": str(tmp_path / "data")}


def test_issue_writes_the_pdf_and_prints_one_json_object(tmp_path, env):
    out, docx = tmp_path / "letter.pdf", tmp_path / "letter.docx"
    result = run("issue", "assistance-request-visit", "--data", str(SAMPLES / "assistance-request-visit.json"),
                 "--out", str(out), "--docx", str(docx), "--agency", "jc-justice", env=env)
    assert result.returncode == 0, result.stderr
    printed = json.loads(result.stdout)
    assert set(printed) == {"id", "form", "serial", "number", "sha256"}
    assert printed["number"].startswith("晋市司函字〔") and printed["number"].endswith("〕1号")
    assert hashlib.sha256(out.read_bytes()).hexdigest() == printed["sha256"]
    assert printed["serial"] in pdfcheck.text(out.read_bytes())
    assert docx.read_bytes()[:2] == b"PK"
    status = sigcheck.signatures(out.read_bytes(), ROOT / "certs" / "root-ca.pem")["agency"]
    assert status.bottom_line and status.timestamp_validity is not None


def test_invalid_data_exits_2_listing_every_field(tmp_path, env):
    data = json.loads((SAMPLES / "assistance-request-visit.json").read_text(encoding="utf-8"))
    data["staff"] = [data["staff"][0]]
    data["applicant"] = ""
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    result = run("issue", "assistance-request-visit", "--data", str(bad), "--out", str(tmp_path / "x.pdf"), env=env)
    assert result.returncode == 2
    printed = json.loads(result.stdout)
    assert set(printed["errors"]) == {"staff", "applicant"}
    assert "staff:" in result.stderr and "applicant:" in result.stderr
    assert not (tmp_path / "x.pdf").exists()


def test_unreadable_data_file_and_unknown_form_exit_2(tmp_path, env):
    assert run("issue", "liaison-form", "--data", str(tmp_path / "missing.json"), "--out", str(tmp_path / "x.pdf"), env=env).returncode == 2
    assert run("issue", "no-such-form", "--data", str(SAMPLES / "liaison-form.json"), "--out", str(tmp_path / "x.pdf"), env=env).returncode == 2
    assert run("issue", "liaison-form", "--data", str(SAMPLES / "liaison-form.json"), "--agency", "nope", "--out", str(tmp_path / "x.pdf"), env=env).returncode == 2


def test_serve_in_production_without_a_tsa_url_refuses_to_start(env):
    result = run("serve", "--port", str(free_port()), env={**env, "CHENGNUO_ENV": "production", "CHENGNUO_TSA_URL": ""})
    assert result.returncode == 1
    assert "未配置可信时间戳服务 CHENGNUO_TSA_URL" in result.stderr and "a development timestamp proves nothing" in result.stderr


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_serve_starts_the_pool_answers_over_http_and_stops_cleanly(env):
    key = run("key", "add", "--name", "案件系统", env=env).stdout.strip().splitlines()[-1]
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "service", "serve", "--port", str(port)], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=5) as response:
                    health = json.load(response)
                break
            except OSError:
                assert time.monotonic() < deadline and server.poll() is None, "server did not come up"
                time.sleep(0.2)
        assert health["status"] == "ok" and health["checks"]["converter"]["workers"] == 2
        payload = json.dumps({"form": "liaison-form", "data": json.loads((SAMPLES / "liaison-form.json").read_text(encoding="utf-8"))})
        auth = {"Authorization": f"Bearer {key}"}
        request = urllib.request.Request(f"{base}/api/v1/documents", data=payload.encode(), headers={"Content-Type": "application/json", **auth})
        with urllib.request.urlopen(request, timeout=60) as response:
            assert response.status == 201
            created = json.load(response)
        with urllib.request.urlopen(urllib.request.Request(f"{base}{created['links']['pdf']}", headers=auth), timeout=10) as response:
            assert response.read().startswith(b"%PDF-")
    finally:
        server.send_signal(signal.SIGTERM)
        output, _ = server.communicate(timeout=30)
    assert server.returncode == 0, output
    assert created["id"] and "serving on" in output
    assert re.search(r"as 'admin' with password: \S{16}", output)  # the first start says how to sign in
