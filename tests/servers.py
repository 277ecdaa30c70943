"""Real servers the tests start and stop themselves, on loopback: PostgreSQL (installed by ``make test``), in a
throw-away folder, as the ``postgres`` user when the tests run as root (PostgreSQL refuses root); Redis; moto's
S3-compatible server; Debian's haproxy; and the service itself, as ``make run`` starts it."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pytest


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _postgres_bin() -> Path:
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: int(p.parent.parent.name))
    if not candidates:
        pytest.fail("PostgreSQL is not installed: `make test` installs it (Debian's postgresql package)")
    return candidates[-1].parent


class PostgresServer:
    def __init__(self) -> None:
        self.bin = _postgres_bin()
        self.root = Path(tempfile.mkdtemp(prefix="chengnuo-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self._as_postgres = os.geteuid() == 0

    def _run(self, *command: str) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if self._as_postgres else []
        result = subprocess.run([*prefix, *command], capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            raise RuntimeError(f"{command[0]} failed: {result.stdout}{result.stderr}")

    def start(self) -> PostgresServer:
        if self._as_postgres:
            shutil.chown(self.root, "postgres", "postgres")
        self._run(str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8",
                  "--locale=C")
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.root / "log"), "-o", options, "-w", "start")
        return self

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """A fresh, empty database; its URL."""
        import psycopg

        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        try:
            self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


class ServiceProcess:
    """``python -m service serve`` in its own process, as ``make run`` starts it. Its output is read at the end, or,
    with ``log``, goes to that file (appended to across restarts), so that a long run never fills a pipe."""

    def __init__(self, env: dict[str, str], root: Path, *, log: Path | None = None) -> None:
        self.env, self.root, self.log = env, root, log
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 90.0) -> dict:
        """Starts the service and waits until /healthz answers; returns what it said."""
        import json
        import time
        import urllib.error
        import urllib.request

        out = open(self.log, "a", encoding="utf-8") if self.log else subprocess.PIPE  # noqa: SIM115 - the child holds it
        try:
            self.process = subprocess.Popen([sys.executable, "-m", "service", "serve", "--port", str(self.port)], cwd=self.root,
                                            env=self.env, stdout=out, stderr=subprocess.STDOUT, text=True)
        finally:
            if self.log:
                out.close()
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(f"{self.base}/healthz", timeout=5) as response:
                    return json.load(response)
            except urllib.error.HTTPError as exc:
                return json.load(exc)
            except OSError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise RuntimeError(f"the service did not come up: {self.output()}") from None
                time.sleep(0.2)

    def kill(self) -> None:
        """kill -9, as a crash does."""
        assert self.process is not None
        self.process.kill()
        self.process.wait(timeout=30)

    def stop(self) -> str:
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.output()

    def output(self) -> str:
        assert self.process is not None
        if self.log:
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            return self.log.read_text(encoding="utf-8", errors="replace")
        try:
            out, _ = self.process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            out, _ = self.process.communicate()
        return out or ""


class RedisServer:
    """Debian's redis-server on a free loopback port, in memory only, for one test session."""

    def __init__(self) -> None:
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    def start(self) -> RedisServer:
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        self.process = subprocess.Popen([binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                                         "--protected-mode", "yes"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as conn:
                    conn.sendall(b"PING\r\n")
                    if conn.recv(16).startswith(b"+PONG"):
                        return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("redis-server did not start")

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


class S3Server:
    """moto's S3-compatible server (``python -m moto.server``) in its own process. Clients need AWS credentials in
    their environment, any will do (``S3Server.CREDENTIALS``)."""

    CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}

    def __init__(self) -> None:
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def start(self) -> S3Server:
        self.process = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait_for_port(self.port, self.process, "moto's S3 server")
        return self

    def new_bucket(self) -> str:
        import boto3

        name = f"chengnuo-{uuid.uuid4().hex[:12]}"
        boto3.client("s3", endpoint_url=self.endpoint, region_name="us-east-1", **_aws_keys()).create_bucket(Bucket=name)
        return name

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


class HAProxyServer:
    """Debian's haproxy in front of ``backends`` (``host:port``), as docs/deploy.md configures it: health checks
    on /healthz, and retries only where no request reached a node."""

    def __init__(self, backends: list[str], root: Path, *, check_interval: str = "1s") -> None:
        self.backends, self.root, self.check_interval = backends, root, check_interval
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def config(self) -> str:
        servers = "\n".join(f"    server node{n} {backend} check" for n, backend in enumerate(self.backends, 1))
        return f"""global
    maxconn 512
defaults
    mode http
    timeout connect 5s
    timeout client 120s
    timeout server 120s
    option forwardfor
    option http-server-close
frontend chengnuo
    bind 127.0.0.1:{self.port}
    default_backend nodes
backend nodes
    balance roundrobin
    option httpchk GET /healthz
    http-check expect status 200
    default-server inter {self.check_interval} fall 2 rise 2
    retry-on conn-failure empty-response
    retries 2
    option redispatch
{servers}
"""

    def start(self) -> HAProxyServer:
        binary = shutil.which("haproxy") or "/usr/sbin/haproxy"
        if not Path(binary).exists():
            pytest.fail("haproxy is not installed: `make test` installs it (Debian's haproxy package)")
        self.root.mkdir(parents=True, exist_ok=True)
        cfg = self.root / "haproxy.cfg"
        cfg.write_text(self.config(), encoding="utf-8")
        check = subprocess.run([binary, "-c", "-f", str(cfg)], capture_output=True, text=True, timeout=30)
        if check.returncode != 0:
            raise RuntimeError(f"haproxy refused its configuration: {check.stdout}{check.stderr}")
        # -db: in the foreground, not as a daemon, so that this object owns the process
        self.process = subprocess.Popen([binary, "-db", "-f", str(cfg)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait_for_port(self.port, self.process, "haproxy")
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def _aws_keys() -> dict[str, str]:
    """The test credentials, unless the environment has its own."""
    if os.environ.get("AWS_ACCESS_KEY_ID"):
        return {}
    return {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


def _wait_for_port(port: int, process: subprocess.Popen, name: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited at start (status {process.returncode})")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError(f"{name} did not start within {timeout:.0f} s")
