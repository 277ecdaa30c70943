"""This process's entry in the ``instances`` table, kept alive by a heartbeat, and which entries are gone.

A process is gone when its heartbeat is older than the lease, or, on this very machine and boot, when
no process with its PID and start time exists any more (a ``kill -9`` is then seen at the next start,
without waiting for the lease). A process that stopped cleanly marks itself stopped.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, delete, insert, select, update

from .tables import documents, instances

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ProcessIdentity:
    host: str
    boot_id: str
    pid: int
    proc_start: str


def _proc_start(pid: int) -> str | None:
    """The start time of ``pid`` in clock ticks since boot (field 22 of /proc/PID/stat); None if there is no such process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat[stat.rindex(")") + 2:].split()[19]


def this_process() -> ProcessIdentity:
    try:
        boot_id = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        boot_id = "unknown"
    return ProcessIdentity(socket.gethostname()[:255], boot_id, os.getpid(), _proc_start(os.getpid()) or "unknown")


def is_alive_here(identity: ProcessIdentity, here: ProcessIdentity) -> bool | None:
    """Whether the process ``identity`` still runs, if that can be told from this machine; None if it cannot."""
    if identity.host != here.host or identity.boot_id != here.boot_id or here.boot_id == "unknown":
        return None
    return _proc_start(identity.pid) == identity.proc_start


class Instances:
    """Registers this process on first use (``id``), beats every ``interval`` seconds from a daemon thread,
    and tells which registered processes are gone."""

    def __init__(self, engine: Engine, clock: Callable[[], dt.datetime], *, lease: dt.timedelta = dt.timedelta(seconds=60),
                 interval: float = 10.0) -> None:
        self.engine = engine
        self.clock = clock
        self.lease = lease
        self.interval = interval
        self._id: str | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def id(self) -> str:
        with self._lock:
            if self._id is None:
                self._id = self._register()
                self._thread = threading.Thread(target=self._beat, name="chengnuo-heartbeat", daemon=True)
                self._thread.start()
            return self._id

    def _register(self) -> str:
        me, now, instance_id = this_process(), self.clock(), str(uuid.uuid4())
        with self.engine.begin() as conn:
            conn.execute(insert(instances).values(id=instance_id, host=me.host, boot_id=me.boot_id, pid=me.pid,
                                                  proc_start=me.proc_start, started_at=now, heartbeat_at=now))
        log.info("registered as instance %s (%s, pid %d)", instance_id, me.host, me.pid)
        return instance_id

    def _beat(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                with self.engine.begin() as conn:
                    conn.execute(update(instances).where(instances.c.id == self._id).values(heartbeat_at=self.clock()))
            except Exception:  # noqa: BLE001 - a missed beat is retried; a long outage lets the lease run out, as it should
                log.warning("heartbeat failed", exc_info=True)

    def gone(self) -> list[str]:
        """The ids of registered processes that are gone (never this one)."""
        now, here = self.clock(), this_process()
        with self.engine.connect() as conn:
            rows = conn.execute(select(instances).where(instances.c.id != (self._id or ""))).all()
        gone = []
        for row in rows:
            alive = is_alive_here(ProcessIdentity(row.host, row.boot_id, row.pid, row.proc_start), here)
            if row.stopped_at is not None or alive is False or (alive is None and row.heartbeat_at < now - self.lease):
                gone.append(row.id)
        return gone

    def forget(self, instance_ids: list[str]) -> None:
        """Removes gone processes that no longer own an ``issuing`` document."""
        if not instance_ids:
            return
        with self.engine.begin() as conn:
            conn.execute(delete(instances).where(
                instances.c.id.in_(instance_ids),
                ~select(documents.c.id).where(documents.c.owner == instances.c.id, documents.c.status == "issuing").exists(),
            ))

    def close(self) -> None:
        """Stops the heartbeat and marks this process stopped (its unfinished rows are then another's to void)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._id is not None:
            try:
                with self.engine.begin() as conn:
                    conn.execute(update(instances).where(instances.c.id == self._id).values(stopped_at=self.clock()))
            except Exception:  # noqa: BLE001 - the lease runs out instead
                log.warning("could not mark instance %s stopped", self._id, exc_info=True)

