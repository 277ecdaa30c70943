"""The audit trail: append-only, hash-chained, with a head file that guards the tail.

Each entry's ``hash`` is the SHA-256 of the canonical JSON of its fields, ``seq`` and ``prev_hash`` (the
previous entry's hash). Altering an entry breaks its hash; altering it *and* recomputing the hash breaks the
next ``prev_hash``; removing entries leaves a gap in ``seq``. ``prev_hash`` is UNIQUE, so writers cannot fork
the chain: the loser of a race gets an IntegrityError and retries on the new last entry (and writers are
serialised anyway, ``locks.py``: a lock per process, and across processes a PostgreSQL advisory lock, or on
SQLite ``flock`` on ``<head_file>.lock``).

The chain cannot see its own end, so a head outside the database says where it ends (``head.py``; a file, or
an object in the nodes' shared bucket, ``head_object.py``): it names each entry as pending before the entry commits and as committed after, so that a crash leaves both or
neither, and a real mismatch is recorded until an operator acknowledges it. Text is scrubbed of ID and mobile numbers (``masking.scrub``) and truncated before it is hashed.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import logging
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import IntegrityError

from ..errors import Conflict, bilingual
from ..masking import scrub
from ..registry.tables import audit_log
from .head import GENESIS, NOTHING, HeadFile, HeadState, HeadStore, MalformedHead, Mark, mismatch_seq, reconcile
from .locks import AdvisoryLock, AuditLock, FileLock, contention

log = logging.getLogger(__name__)
MAX_TEXT = 1000  # characters kept of any string in ``detail``
MAX_ITEMS = 100  # items kept of any list or mapping in ``detail``


@dataclass(frozen=True)
class AuditEntry:
    seq: int
    at: dt.datetime
    actor: str
    action: str
    object: str
    outcome: str
    detail: Mapping[str, Any]
    prev_hash: str
    hash: str


@dataclass(frozen=True)
class AuditCheck:
    ok: bool
    entries: int  # how many entries were checked
    first_bad_seq: int | None  # the first entry altered, or the position where entries are missing
    problem: str | None  # bilingual, naming the seq


def entry_hash(*, seq: int, at: dt.datetime, actor: str, action: str, object: str, outcome: str, detail: Mapping[str, Any], prev_hash: str) -> str:
    """The hex SHA-256 of the entry's canonical JSON (sorted keys, UTF-8, no spaces; ``at`` in UTC)."""
    payload = {"seq": seq, "at": at.astimezone(dt.timezone.utc).isoformat(timespec="microseconds"), "actor": actor,
               "action": action, "object": object, "outcome": outcome, "detail": detail, "prev_hash": prev_hash}
    canonical = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _clean(value: Any, depth: int = 0) -> Any:
    """Plain JSON, scrubbed and bounded: strings truncated, containers capped, odd objects stringified."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):  # an ID or phone number given as a number is masked too
        return value if scrub(text := str(value)) == text else scrub(text)
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, Mapping) and depth < 8:
        return {scrub(str(k))[:200]: _clean(v, depth + 1) for k, v in list(value.items())[:MAX_ITEMS]}
    if isinstance(value, (list, tuple, set, frozenset)) and depth < 8:
        return [_clean(v, depth + 1) for v in list(value)[:MAX_ITEMS]]
    return scrub(value if isinstance(value, str) else str(value))[:MAX_TEXT]


class AuditLog:
    """Offers ``record``, ``verify``, ``entries``, ``head_problem`` and ``acknowledge``; deliberately nothing that
    updates or deletes an entry."""

    def __init__(self, engine: Engine, head: Path | HeadStore, clock: Callable[[], dt.datetime], *,
                 lock: AuditLock | None = None) -> None:
        """``head``: a file's path, or a HeadStore. ``lock``, by default: an advisory lock on PostgreSQL, else
        ``flock`` beside the head file. Raises ValueError for a head outside the file system on SQLite without
        a lock (``setup.make_audit_log`` chooses both from the settings)."""
        self.engine = engine
        self.head: HeadStore = HeadFile(head) if isinstance(head, Path) else head
        self.clock = clock
        if lock is None:
            if engine.dialect.name == "postgresql":
                lock = AdvisoryLock(engine)
            elif isinstance(self.head, HeadFile):
                lock = FileLock(self.head.path.with_name(self.head.path.name + ".lock"))
            else:
                raise ValueError("a head outside the file system on this database needs a lock")
        self._lock = lock

    @property
    def head_file(self) -> Path | None:
        """The head's file; None when the head is an object in a bucket."""
        return self.head.path if isinstance(self.head, HeadFile) else None

    def record(self, *, actor: str, action: str, object: str, outcome: str, detail: Mapping[str, Any] | None = None) -> AuditEntry:
        """Appends an entry. Raises ValueError for a naive clock, ChengnuoError (audit_contention) if all 50 attempts
        lost the race or the lock stayed taken, OSError or StorageUnavailable if the head cannot be read or written
        (then the entry is not committed, or it is and the head names it pending: see ``head.py``)."""
        with self._exclusive():
            return self._append(self._reconciled(), actor=actor, action=action, object=object, outcome=outcome, detail=detail)

    def acknowledge(self, actor: str, note: str) -> AuditEntry:
        """Records that a person has seen the recorded head mismatch (what it was goes into the entry) and clears it.
        Raises Conflict when there is nothing to acknowledge."""
        with self._exclusive():
            state = self._reconciled()
            if state.broken is None:
                raise Conflict("审计链头文件与记录一致，无需确认", "the audit head agrees with the chain: nothing to acknowledge",
                               code="nothing_to_acknowledge")
            return self._append(state, actor=actor, action="audit.acknowledge", object="audit:head", outcome="success",
                                detail={**state.broken, "note": note}, acknowledge=True)

    def head_problem(self) -> str | None:
        """The head's disagreement with the chain, recorded or new; None when they agree. Records a new one."""
        with self._exclusive():
            state = self._reconciled()
        return state.broken["problem"] if state.broken else None

    def _end(self) -> Mark:
        with self.engine.connect() as conn:
            last = conn.execute(select(audit_log.c.seq, audit_log.c.hash).order_by(audit_log.c.seq.desc()).limit(1)).first()
        return Mark(last.seq, last.hash) if last else NOTHING

    def _reconciled(self) -> HeadState:
        """The head state to build on (a crash's leftovers folded in); a new mismatch is written down and logged at once."""
        raw = None
        try:
            state = self.head.read()
        except MalformedHead as exc:
            state, raw = None, exc.content
        reconciled, problem = reconcile(state, self._end(), now=self.clock(), raw=raw)
        if problem is not None and (state is None or state.broken is None):
            log.error("audit head mismatch: %s", problem)
            self.head.write(reconciled)
        return reconciled

    def _append(self, state: HeadState, *, actor: str, action: str, object: str, outcome: str, detail: Mapping[str, Any] | None,
                acknowledge: bool = False) -> AuditEntry:
        at = self.clock()
        if at.tzinfo is None:
            raise ValueError("naive datetime: the audit log stores only aware times")
        fields: dict[str, Any] = {
            "at": at.astimezone(dt.timezone.utc), "actor": scrub(actor)[:200], "action": scrub(action)[:40],
            "object": scrub(object)[:200], "outcome": scrub(outcome)[:20], "detail": _clean(dict(detail or {})),
        }
        for _ in range(50):
            try:
                with self.engine.begin() as conn:
                    last = conn.execute(select(audit_log.c.seq, audit_log.c.hash).order_by(audit_log.c.seq.desc()).limit(1)).first()
                    seq, prev = (last.seq + 1, last.hash) if last else (1, GENESIS)
                    digest = entry_hash(seq=seq, prev_hash=prev, **fields)
                    conn.execute(insert(audit_log).values(seq=seq, prev_hash=prev, hash=digest, **fields))
                    self.head.write(HeadState(state.committed, Mark(seq, digest), state.broken))  # before the commit
            except IntegrityError:  # another writer appended first (one without our lock): build on its entry instead
                time.sleep(0.005)
                continue
            self.head.write(HeadState(Mark(seq, digest), None, None if acknowledge else state.broken))
            return AuditEntry(seq=seq, prev_hash=prev, hash=digest, **fields)
        raise contention()

    def verify(self) -> AuditCheck:
        """Walks the chain in seq order, then checks its end against the head file, and reports a recorded mismatch
        not yet acknowledged. Reports damage; raises OSError or StorageUnavailable when the head cannot be read."""
        with self._exclusive():  # the head and the last seq read together: a concurrent append is no false alarm
            raw = None
            try:
                state = self.head.read()
            except MalformedHead as exc:
                state, raw = None, exc.content
            end = self._end()
        count, prev = 0, GENESIS
        with self.engine.connect() as conn:
            for row in conn.execute(select(audit_log).where(audit_log.c.seq <= end.seq).order_by(audit_log.c.seq)):
                e, count = AuditEntry(**row._mapping), count + 1  # seqs run 1, 2, 3 …: entry n must be seq n
                if e.seq != count:
                    return _bad(count, count, f"第 {count} 条起的记录缺失", f"entries are missing from seq {count} (next is {e.seq})")
                if entry_hash(**{k: v for k, v in row._mapping.items() if k != "hash"}) != e.hash:
                    return _bad(count, e.seq, f"第 {e.seq} 条记录被篡改（哈希不符）", f"entry seq {e.seq} was altered (hash mismatch)")
                if e.prev_hash != prev:
                    return _bad(count, e.seq, f"第 {e.seq} 条记录与上一条不衔接", f"entry seq {e.seq} does not follow its predecessor (prev_hash)")
                prev = e.hash
        reconciled, problem = reconcile(state, end, now=self.clock(), raw=raw)
        if problem is not None:
            return AuditCheck(False, count, mismatch_seq(state, end), problem)
        if reconciled.broken is not None:
            broken = reconciled.broken
            return AuditCheck(False, count, None, bilingual(
                f"未经确认的头文件不一致（{broken.get('found_at')} 发现，当时头文件为 {broken.get('head')}，记录止于 {broken.get('chain_end')}）："
                f"{broken.get('problem')}；核实后以 audit acknowledge 确认",
                f"an unacknowledged head mismatch, found {broken.get('found_at')}; confirm with 'audit acknowledge' once checked"))
        return AuditCheck(True, count, None, None)

    def about(self, object: str, *, limit: int = 1000) -> list[AuditEntry]:
        """The entries about ``object`` (``document:<id>``), oldest first."""
        query = select(audit_log).where(audit_log.c.object == object).order_by(audit_log.c.seq).limit(limit)
        with self.engine.connect() as conn:
            return [AuditEntry(**row._mapping) for row in conn.execute(query)]

    def entries(self, *, limit: int = 100, before_seq: int | None = None, action: str | None = None) -> list[AuditEntry]:
        """Newest first: up to ``limit`` (at most 1000) entries below ``before_seq``, of ``action`` if given."""
        query = select(audit_log).order_by(audit_log.c.seq.desc()).limit(max(0, min(limit, 1000)))
        if before_seq is not None:
            query = query.where(audit_log.c.seq < before_seq)
        if action is not None:
            query = query.where(audit_log.c.action == action)
        with self.engine.connect() as conn:
            return [AuditEntry(**row._mapping) for row in conn.execute(query)]

    def _exclusive(self) -> contextlib.AbstractContextManager[None]:
        """One writer (or verifier) at a time, on every node sharing the chain (``locks.py``)."""
        return self._lock.hold()


def _bad(entries: int, seq: int | None, zh: str, en: str) -> AuditCheck:
    return AuditCheck(False, entries, seq, bilingual(zh, en))
