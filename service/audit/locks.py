"""Appends to the audit chain take turns: one writer (or verifier) at a time reads the head, inserts the entry
and writes the head twice. Threads of one process queue on a lock; processes, on one of two well-known locks:

- ``AdvisoryLock``: a PostgreSQL advisory lock, transaction-level, for every process on every machine using
  that database. A process that dies holding it loses its connection, and PostgreSQL releases the lock.
- ``FileLock``: ``flock`` on a file beside the head, for the processes of one machine (the SQLite default).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError

from ..errors import ChengnuoError

AUDIT_LOCK = 0x61756469  # "audi": the audit chain's advisory lock (schema changes hold "chng", registry/schema.py)
LOCK_TIMEOUT = "60s"  # longer than any append takes, even with a slow object store; then audit_contention


class AuditLock(Protocol):
    def hold(self) -> contextlib.AbstractContextManager[None]:
        """Held while the head and the chain are read or written together. Raises ChengnuoError (audit_contention)
        when the lock is not had in reasonable time."""


def contention() -> ChengnuoError:
    return ChengnuoError("审计日志繁忙，记录未写入", "the audit log stayed busy; the entry was not recorded", code="audit_contention")


class FileLock:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._threads = threading.Lock()

    @contextlib.contextmanager
    def hold(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._threads, open(os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)) as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file is closed
            yield


class AdvisoryLock:
    """Holds ``pg_advisory_xact_lock`` in a transaction of its own connection (the append commits on another)
    for as long as the block runs; the transaction's end, however the block ends, releases it."""

    def __init__(self, engine: Engine) -> None:
        if engine.dialect.name != "postgresql":
            raise ValueError("an advisory lock needs PostgreSQL")
        self.engine = engine
        self._threads = threading.Lock()  # a process's own writers queue here, holding no connection meanwhile

    @contextlib.contextmanager
    def hold(self) -> Iterator[None]:
        with self._threads, self.engine.connect() as conn, conn.begin():
            try:
                conn.execute(text(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'"))
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": AUDIT_LOCK})
            except OperationalError as exc:
                if getattr(exc.orig, "sqlstate", None) == "55P03":  # lock_timeout: another writer held it all that time
                    raise contention() from exc
                raise
            yield
