"""The head: where the audit chain must end, kept outside the database — in a file (``HeadFile``), or, for
nodes on several machines, in an object of the S3 bucket they share (``head_object.py``).

The chain cannot see its own end: deleting the last entries, or rewriting the last one, leaves a shorter
chain that is perfectly consistent. The head file says where it ends. It is written in two phases
around each append, so that a crash at any moment leaves a state that explains itself:

    3:<hash of entry 3>          the last entry committed
    pending 4:<hash of entry 4>  written (and fsynced) before entry 4 commits; cleared once it has

After a crash the chain ends either at the committed mark (entry 4 never committed) or at the pending one
(it did): both are consistent. Anything else is a mismatch, and a mismatch is never silently rewritten:
it is recorded on a ``broken`` line (what the head said, where the chain ended, when it was found),
carried through every later write, and reported by ``audit verify`` and ``/healthz`` until an operator
acknowledges it (``python -m service audit acknowledge``), which is itself an audit entry.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

from ..errors import bilingual

GENESIS = "0" * 64
_MARK = re.compile(r"(\d+):([0-9a-f]{64})")


@dataclass(frozen=True)
class Mark:
    seq: int
    hash: str

    def __str__(self) -> str:
        return f"{self.seq}:{self.hash}"


NOTHING = Mark(0, GENESIS)  # the end of an empty chain


@dataclass(frozen=True)
class HeadState:
    committed: Mark
    pending: Mark | None = None
    broken: dict[str, Any] | None = None  # a mismatch found and not yet acknowledged

    def render(self) -> str:
        lines = [str(self.committed)]
        if self.pending is not None:
            lines.append(f"pending {self.pending}")
        if self.broken is not None:
            lines.append("broken " + json.dumps(self.broken, ensure_ascii=False, sort_keys=True, separators=(",", ":")))
        return "\n".join(lines) + "\n"


class MalformedHead(ValueError):
    def __init__(self, content: str) -> None:
        super().__init__("malformed head file")
        self.content = content


def parse(text: str) -> HeadState:
    """Raises MalformedHead."""
    lines = text.splitlines()
    first = _MARK.fullmatch(lines[0].strip()) if lines else None
    if first is None:
        raise MalformedHead(text)
    state = HeadState(Mark(int(first[1]), first[2]))
    for line in lines[1:]:
        kind, _, rest = line.partition(" ")
        pending = _MARK.fullmatch(rest.strip())
        if kind == "pending" and pending:
            state = replace(state, pending=Mark(int(pending[1]), pending[2]))
        elif kind == "broken":
            try:
                state = replace(state, broken=dict(json.loads(rest)))
            except (ValueError, TypeError):
                raise MalformedHead(text) from None
        elif line.strip():
            raise MalformedHead(text)
    return state


class HeadStore(Protocol):
    """Where the head is kept: a file (``HeadFile``) or an object in a bucket (``head_object.HeadObject``). Either
    way a write replaces the whole head at once, so a reader, or a crash, sees the old state or the new one; and
    a read after a write sees that write. Callers write one at a time (the audit log's lock)."""

    def read(self) -> HeadState | None:
        """None when there is no head yet; raises MalformedHead, and OSError or StorageUnavailable when it cannot be read."""

    def write(self, state: HeadState) -> None:
        """Raises OSError or StorageUnavailable when the head cannot be written."""


class HeadFile:
    """The head in a local file (``CHENGNUO_AUDIT_HEAD=file``): ``<data folder>/audit.head``."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def read(self) -> HeadState | None:
        """None when there is no head file; raises MalformedHead."""
        try:
            return parse(self.path.read_text(encoding="utf-8", errors="replace"))
        except FileNotFoundError:
            return None

    def write(self, state: HeadState) -> None:
        """Temp file (0600), fsync, rename: a reader, or a crash, sees the old state or the new one.
        One writer at a time (the audit log's lock), so one temporary name will do."""
        tmp = self.path.with_name(self.path.name + ".tmp")
        with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w", encoding="utf-8") as f:
            f.write(state.render())
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)


def reconcile(state: HeadState | None, end: Mark, *, now: dt.datetime, raw: str | None = None) -> tuple[HeadState, str | None]:
    """The head to build on, given where the chain ends (``end``), and the problem if the two disagree in a
    way no crash explains (the returned state then records it as ``broken``, unless one is already recorded)."""
    if state is None and raw is None and end == NOTHING:  # a log never written to
        return HeadState(NOTHING), None
    if state is not None:
        if end == state.committed:
            return replace(state, pending=None), None
        if state.pending is not None and end == state.pending:  # the last append committed; its confirmation was lost
            return replace(state, committed=end, pending=None), None
    problem = mismatch(state, end, raw)
    broken = (state.broken if state is not None else None) or {
        "problem": problem, "head": raw.strip()[:300] if raw is not None else (str(state.committed) if state else None),
        "chain_end": str(end), "found_at": now.isoformat(timespec="seconds"),
    }
    return HeadState(end, None, broken), problem


def mismatch(state: HeadState | None, end: Mark, raw: str | None = None) -> str:
    if raw is not None:
        return bilingual("头文件格式错误", f"the head file is malformed (last entry: seq {end.seq})")
    if state is None:
        return bilingual(f"头文件缺失，无法确认第 {end.seq} 条之后的记录", f"the head file is missing: the end after seq {end.seq} is unverifiable")
    head = state.committed
    if head.seq > end.seq:
        return bilingual(f"第 {end.seq + 1}–{head.seq} 条记录被删除", f"entries seq {end.seq + 1}–{head.seq} were removed (per the head file)")
    return bilingual(f"第 {end.seq} 条与头文件（第 {head.seq} 条）不符", f"the last entry, seq {end.seq}, does not match the head file")


def mismatch_seq(state: HeadState | None, end: Mark) -> int:
    """The seq a mismatch is reported at: the removed tail's last, or the chain's last entry."""
    return max(state.committed.seq, end.seq) if state is not None else end.seq
