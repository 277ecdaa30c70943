"""Case queries: create a case (drawing its number), change it by compare-and-set together with its deadlines,
find it, list cases and deadlines.

Every change names the ``lock`` it read; a change made meanwhile by another request makes it fail with
Conflict and leaves the case as the other request left it."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, Text, and_, cast, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from ..errors import Conflict, NotFound
from .documents import DocumentRecord
from .numbering import next_value
from .rows import FromRow
from .tables import case_deadlines, cases, documents


@dataclass(frozen=True)
class DeadlineRecord(FromRow):
    id: int
    case_id: str
    agency: str
    kind: str
    ref: str | None
    start_on: str
    working_days: int | None
    due_on: str
    exact: int
    unknown_years: list[int]
    source: str
    done_on: str | None
    missed_at: dt.datetime | None
    created_at: dt.datetime

    def overdue(self, today: dt.date) -> bool:
        return self.done_on is None and dt.date.fromisoformat(self.due_on) < today


@dataclass(frozen=True)
class CaseRecord(FromRow):
    id: str
    number: str
    agency: str
    state: str
    procedure: str
    commitment_type: str
    channel: str
    received_on: str
    items: list[dict[str, Any]]
    applicant: dict[str, Any]
    applicant_name: str
    applicant_key: str
    facts: dict[str, Any]
    outcome: str | None
    false_commitment: int
    created_by: str
    created_at: dt.datetime
    updated_at: dt.datetime
    lock: int
    decided_on: str | None = None
    request_hash: str | None = None


@dataclass(frozen=True)
class NewDeadline:
    kind: str
    start_on: dt.date
    due_on: dt.date
    working_days: int | None
    exact: bool
    unknown_years: Sequence[int]
    source: str
    ref: str | None = None


@dataclass(frozen=True)
class Change:
    """What one step does to a case, applied in one transaction."""

    state: str | None = None
    procedure: str | None = None
    outcome: str | None = None
    false_commitment: bool | None = None
    decided_on: dt.date | None = None
    facts: Mapping[str, Any] = field(default_factory=dict)  # merged into the case's facts
    deadlines: Sequence[NewDeadline] = ()
    done: Sequence[tuple[str, str | None]] = ()  # (kind, ref or None for every ref) of open deadlines now met
    done_on: dt.date | None = None


@dataclass(frozen=True)
class CaseQuery:
    agencies: frozenset[str] | None
    text: str = ""
    item: str | None = None
    state: str | None = None
    since: dt.date | None = None
    until: dt.date | None = None
    overdue_on: dt.date | None = None  # only cases with a deadline overdue on that day
    due_by: tuple[dt.date, dt.date] | None = None  # only cases with an open deadline due from [0] to [1]
    page: int = 1
    per_page: int = 50


def _not_found(case_id: str) -> NotFound:
    return NotFound(f"办件 {case_id} 不存在", f"case {case_id} does not exist", code="case_not_found")


class CaseStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def create(self, *, agency: str, prefix: str, values: Mapping[str, Any], deadlines: Iterable[NewDeadline],
               actor: str, now: dt.datetime, idempotency_key: str | None = None,
               request_hash: str | None = None) -> tuple[CaseRecord, bool]:
        """Draws the case number (``{prefix}-{year}-{seq:06d}``) and records the case and its first deadlines; returns it
        and True. With an ``idempotency_key`` another request already used, nothing is made: that request's case, False."""
        case_id = str(uuid.uuid4())
        try:
            with self.engine.begin() as conn:
                seq = next_value(conn, agency, "case", now.year)
                conn.execute(insert(cases).values(id=case_id, number=f"{prefix}-{now.year}-{seq:06d}", agency=agency, created_by=actor,
                                                  created_at=now, updated_at=now, lock=0, false_commitment=0, outcome=None,
                                                  idempotency_key=idempotency_key, request_hash=request_hash, **values))
                self._add_deadlines(conn, case_id, agency, deadlines, now)
        except IntegrityError:
            earlier = self.by_idempotency_key(idempotency_key) if idempotency_key else None
            if earlier is None:
                raise
            return earlier, False
        return self.get(case_id), True

    def forget_key(self, case_id: str) -> None:
        """The case's Idempotency-Key expired: another request may use it."""
        with self.engine.begin() as conn:
            conn.execute(update(cases).where(cases.c.id == case_id).values(idempotency_key=None))

    def by_idempotency_key(self, key: str) -> CaseRecord | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(cases).where(cases.c.idempotency_key == key)).first()
        return CaseRecord.from_row(row) if row else None

    @staticmethod
    def _add_deadlines(conn: Any, case_id: str, agency: str, deadlines: Iterable[NewDeadline], now: dt.datetime) -> None:
        for d in deadlines:
            conn.execute(insert(case_deadlines).values(
                case_id=case_id, agency=agency, kind=d.kind, ref=d.ref, start_on=d.start_on.isoformat(), working_days=d.working_days,
                due_on=d.due_on.isoformat(), exact=int(d.exact), unknown_years=list(d.unknown_years), source=d.source, created_at=now))

    def apply(self, case: CaseRecord, change: Change, now: dt.datetime) -> CaseRecord:
        """Applies ``change`` if the case is still as ``case`` read it; raises Conflict otherwise."""
        values: dict[str, Any] = {"updated_at": now, "lock": case.lock + 1}
        if change.state is not None:
            values["state"] = change.state
        if change.procedure is not None:
            values["procedure"] = change.procedure
        if change.outcome is not None:
            values["outcome"] = change.outcome
        if change.false_commitment is not None:
            values["false_commitment"] = int(change.false_commitment)
        if change.decided_on is not None:
            values["decided_on"] = change.decided_on.isoformat()
        if change.facts:
            values["facts"] = {**case.facts, **change.facts}
        with self.engine.begin() as conn:
            changed = conn.execute(update(cases).where(cases.c.id == case.id, cases.c.lock == case.lock).values(**values)).rowcount
            if not changed:
                raise Conflict("办件已被他人同时处理，请刷新后重试", "the case was changed by another request meanwhile; reload and retry",
                               code="case_changed")
            for kind, ref in change.done:
                where = [case_deadlines.c.case_id == case.id, case_deadlines.c.kind == kind, case_deadlines.c.done_on.is_(None)]
                if ref is not None:
                    where.append(case_deadlines.c.ref == ref)
                conn.execute(update(case_deadlines).where(*where).values(done_on=(change.done_on or now.date()).isoformat()))
            self._add_deadlines(conn, case.id, case.agency, change.deadlines, now)
        return self.get(case.id)

    def get(self, case_id: str) -> CaseRecord:
        with self.engine.connect() as conn:
            row = conn.execute(select(cases).where(cases.c.id == case_id)).first()
        if row is None:
            raise _not_found(case_id)
        return CaseRecord.from_row(row)

    def deadlines(self, case_id: str) -> list[DeadlineRecord]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(case_deadlines).where(case_deadlines.c.case_id == case_id)
                                .order_by(case_deadlines.c.due_on, case_deadlines.c.id)).all()
        return [DeadlineRecord.from_row(row) for row in rows]

    def documents(self, case_id: str) -> list[DocumentRecord]:
        """The documents issued (or attempted, then voided) for the case, oldest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(documents).where(documents.c.case_id == case_id).order_by(documents.c.created_at)).all()
        return [DocumentRecord.from_row(row) for row in rows]

    def false_commitments(self, applicant_key: str, *, excluding: str | None = None) -> list[CaseRecord]:
        """The service's own record: this applicant's cases closed on a false commitment (失信)."""
        query = select(cases).where(cases.c.applicant_key == applicant_key, cases.c.false_commitment == 1)
        if excluding:
            query = query.where(cases.c.id != excluding)
        with self.engine.connect() as conn:
            return [CaseRecord.from_row(row) for row in conn.execute(query.order_by(cases.c.updated_at))]

    def search(self, q: CaseQuery) -> tuple[list[CaseRecord], int]:
        where: list[Any] = []
        if q.agencies is not None:
            where.append(cases.c.agency.in_(sorted(q.agencies)))
        if q.text:
            like = f"%{q.text}%"
            where.append(or_(cases.c.applicant_name.like(like), cases.c.number.like(like)))
        if q.item:
            where.append(cast(cases.c.items, Text).like(f"%{q.item}%"))
        if q.state:
            where.append(cases.c.state == q.state)
        if q.since:
            where.append(cases.c.received_on >= q.since.isoformat())
        if q.until:
            where.append(cases.c.received_on <= q.until.isoformat())
        if q.overdue_on is not None:
            where.append(cases.c.id.in_(select(case_deadlines.c.case_id).where(
                case_deadlines.c.done_on.is_(None), case_deadlines.c.due_on < q.overdue_on.isoformat())))
        if q.due_by is not None:
            where.append(cases.c.id.in_(select(case_deadlines.c.case_id).where(
                case_deadlines.c.done_on.is_(None), case_deadlines.c.due_on >= q.due_by[0].isoformat(),
                case_deadlines.c.due_on <= q.due_by[1].isoformat())))
        condition = and_(*where) if where else True
        with self.engine.connect() as conn:
            total = conn.execute(select(func.count()).select_from(cases).where(condition)).scalar_one()
            rows = conn.execute(select(cases).where(condition).order_by(cases.c.received_on.desc(), cases.c.number.desc())
                                .limit(q.per_page).offset((q.page - 1) * q.per_page)).all()
        return [CaseRecord.from_row(row) for row in rows], int(total)

    def open_deadlines(self, agencies: frozenset[str] | None, *, due_before: dt.date | None = None,
                       due_from: dt.date | None = None, due_until: dt.date | None = None,
                       kinds: Sequence[str] = ()) -> list[tuple[DeadlineRecord, str, str, str]]:
        """Open deadlines with their case's number, applicant name and state, soonest first."""
        where: list[Any] = [case_deadlines.c.done_on.is_(None)]
        if agencies is not None:
            where.append(case_deadlines.c.agency.in_(sorted(agencies)))
        if due_before is not None:
            where.append(case_deadlines.c.due_on < due_before.isoformat())
        if due_from is not None:
            where.append(case_deadlines.c.due_on >= due_from.isoformat())
        if due_until is not None:
            where.append(case_deadlines.c.due_on <= due_until.isoformat())
        if kinds:
            where.append(case_deadlines.c.kind.in_(list(kinds)))
        query = (select(case_deadlines, cases.c.number.label("case_number"), cases.c.applicant_name, cases.c.state)
                 .join(cases, cases.c.id == case_deadlines.c.case_id).where(*where)
                 .order_by(case_deadlines.c.due_on, case_deadlines.c.id).limit(1000))
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [(DeadlineRecord.from_row(row), row.case_number, row.applicant_name, row.state) for row in rows]

    def overdue_counts(self, today: dt.date) -> dict[tuple[str, str], int]:
        """Open deadlines past due, by (agency, kind): the ``/metrics`` gauge."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(case_deadlines.c.agency, case_deadlines.c.kind, func.count())
                                .where(case_deadlines.c.done_on.is_(None), case_deadlines.c.due_on < today.isoformat())
                                .group_by(case_deadlines.c.agency, case_deadlines.c.kind)).all()
        return {(agency, kind): int(n) for agency, kind, n in rows}

    def newly_missed(self, today: dt.date, limit: int = 200) -> list[DeadlineRecord]:
        """Open deadlines past due that no event has announced yet."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(case_deadlines).where(
                case_deadlines.c.done_on.is_(None), case_deadlines.c.due_on < today.isoformat(), case_deadlines.c.missed_at.is_(None))
                .order_by(case_deadlines.c.id).limit(limit)).all()
        return [DeadlineRecord.from_row(row) for row in rows]

    def mark_missed(self, deadline_id: int, now: dt.datetime) -> bool:
        """Claims the announcement of a missed deadline; False when another process announced it."""
        with self.engine.begin() as conn:
            return bool(conn.execute(update(case_deadlines).where(case_deadlines.c.id == deadline_id, case_deadlines.c.missed_at.is_(None))
                                     .values(missed_at=now)).rowcount)

