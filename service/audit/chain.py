"""The audit trail: append-only, hash-chained, with a head file that guards the tail.

Each entry's ``hash`` is the SHA-256 of the canonical JSON of its fields, ``seq`` and ``prev_hash`` (the
previous entry's hash). Altering an entry breaks its hash; altering it *and* recomputing the hash breaks the
next ``prev_hash``; removing entries leaves a gap in ``seq``. ``prev_hash`` is UNIQUE, so writers cannot fork
the chain: the loser of a race gets an IntegrityError and retries on the new last entry (and writers are
serialised anyway: a lock per process, ``flock`` on ``<head_file>.lock`` across processes).

Why a head file: the chain cannot see its own end. Deleting the last entries, or rewriting the last one,
leaves a shorter chain that is perfectly consistent. So every append also writes ``seq:hash`` atomically to
``head_file``, outside the database, and ``verify`` checks that the chain ends exactly there. (A crash between
commit and head write leaves the head one behind; ``verify`` reports that too, for a person to judge.)
Text is scrubbed of ID and mobile numbers (``masking.scrub``) and truncated before it is hashed.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import json
import math
import os
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import IntegrityError

from .errors import ChengnuoError, bilingual
from .masking import scrub
from .registry.tables import audit_log

GENESIS = "0" * 64
MAX_TEXT = 1000  # characters kept of any string in ``detail``
MAX_ITEMS = 100  # items kept of any list or mapping in ``detail``
_HEAD = re.compile(r"(\d+):([0-9a-f]{64})")


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
    """Offers ``record``, ``verify`` and ``entries``; deliberately nothing that updates or deletes."""

    def __init__(self, engine: Engine, head_file: Path, clock: Callable[[], dt.datetime]) -> None:
        self.engine = engine
        self.head_file = Path(head_file)
        self.head_file.parent.mkdir(parents=True, exist_ok=True)
        self.clock = clock
        self._lock = threading.Lock()

    def record(self, *, actor: str, action: str, object: str, outcome: str, detail: Mapping[str, Any] | None = None) -> AuditEntry:
        """Appends an entry; moves the head file to it. Raises ValueError for a naive clock, ChengnuoError (audit_contention)
        if all 50 attempts lost the race, OSError if the head cannot be written (the entry stays; verify reports it)."""
        at = self.clock()
        if at.tzinfo is None:
            raise ValueError("naive datetime: the audit log stores only aware times")
        fields: dict[str, Any] = {
            "at": at.astimezone(dt.timezone.utc), "actor": scrub(actor)[:200], "action": scrub(action)[:40],
            "object": scrub(object)[:200], "outcome": scrub(outcome)[:20], "detail": _clean(dict(detail or {})),
        }
        with self._exclusive():
            for _ in range(50):
                try:
                    with self.engine.begin() as conn:
                        last = conn.execute(select(audit_log.c.seq, audit_log.c.hash).order_by(audit_log.c.seq.desc()).limit(1)).first()
                        seq, prev = (last.seq + 1, last.hash) if last else (1, GENESIS)
                        digest = entry_hash(seq=seq, prev_hash=prev, **fields)
                        conn.execute(insert(audit_log).values(seq=seq, prev_hash=prev, hash=digest, **fields))
                except IntegrityError:  # another writer appended first: build on its entry instead
                    time.sleep(0.005)
                    continue
                self._write_head(seq, digest)
                return AuditEntry(seq=seq, prev_hash=prev, hash=digest, **fields)
        raise ChengnuoError("审计日志繁忙，记录未写入", "the audit log stayed busy; the entry was not recorded", code="audit_contention")

    def verify(self) -> AuditCheck:
        """Walks the chain in seq order, then checks its end against the head file. Reports damage; raises OSError only."""
        with self._exclusive():  # the head and the last seq read together: a concurrent append is no false alarm
            try:
                head: str | None = self.head_file.read_text(encoding="utf-8", errors="replace")
            except FileNotFoundError:
                head = None
            with self.engine.connect() as conn:
                last = conn.execute(select(audit_log.c.seq).order_by(audit_log.c.seq.desc()).limit(1)).scalar() or 0
        count, prev = 0, GENESIS
        with self.engine.connect() as conn:
            for row in conn.execute(select(audit_log).where(audit_log.c.seq <= last).order_by(audit_log.c.seq)):
                e, count = AuditEntry(**row._mapping), count + 1  # seqs run 1, 2, 3 …: entry n must be seq n
                if e.seq != count:
                    return _bad(count, count, f"第 {count} 条起的记录缺失", f"entries are missing from seq {count} (next is {e.seq})")
                if entry_hash(**{k: v for k, v in row._mapping.items() if k != "hash"}) != e.hash:
                    return _bad(count, e.seq, f"第 {e.seq} 条记录被篡改（哈希不符）", f"entry seq {e.seq} was altered (hash mismatch)")
                if e.prev_hash != prev:
                    return _bad(count, e.seq, f"第 {e.seq} 条记录与上一条不衔接", f"entry seq {e.seq} does not follow its predecessor (prev_hash)")
                prev = e.hash
        if head is None and last == 0:  # a log never written to
            return AuditCheck(True, 0, None, None)
        if head is None:
            return _bad(count, last, f"头文件缺失，无法确认第 {last} 条之后的记录", f"the head file is missing: the end after seq {last} is unverifiable")
        match = _HEAD.fullmatch(head.strip())
        if match is None:
            return _bad(count, last or None, "头文件格式错误", f"the head file is malformed (last entry: seq {last})")
        head_seq = int(match[1])
        if head_seq > last:
            return _bad(count, head_seq, f"第 {last + 1}–{head_seq} 条记录被删除", f"entries seq {last + 1}–{head_seq} were removed (per the head file)")
        if head_seq != last or match[2] != prev:
            return _bad(count, last, f"第 {last} 条与头文件（第 {head_seq} 条）不符", f"the last entry, seq {last}, does not match the head file")
        return AuditCheck(True, count, None, None)

    def entries(self, *, limit: int = 100, before_seq: int | None = None, action: str | None = None) -> list[AuditEntry]:
        """Newest first: up to ``limit`` (at most 1000) entries below ``before_seq``, of ``action`` if given."""
        query = select(audit_log).order_by(audit_log.c.seq.desc()).limit(max(0, min(limit, 1000)))
        if before_seq is not None:
            query = query.where(audit_log.c.seq < before_seq)
        if action is not None:
            query = query.where(audit_log.c.action == action)
        with self.engine.connect() as conn:
            return [AuditEntry(**row._mapping) for row in conn.execute(query)]

    @contextlib.contextmanager
    def _exclusive(self) -> Iterator[None]:
        """One writer (or verifier) at a time: threads by the lock, processes by flock on ``<head>.lock``."""
        with self._lock, open(os.open(self.head_file.with_name(self.head_file.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)) as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file is closed
            yield

    def _write_head(self, seq: int, digest: str) -> None:
        """Temp file (0600; one writer at a time, so one name will do), fsync, rename: readers see old or new."""
        tmp = self.head_file.with_name(self.head_file.name + ".tmp")
        with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w", encoding="ascii") as f:
            f.write(f"{seq}:{digest}\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.head_file)


def _bad(entries: int, seq: int | None, zh: str, en: str) -> AuditCheck:
    return AuditCheck(False, entries, seq, bilingual(zh, en))
