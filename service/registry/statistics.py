"""The aggregates behind the statistics (``cases/statistics.py``): counted by the database, grouped, never a case
at a time. Each query returns as many rows as there are groups (types, outcomes, item combinations, deadline
kinds, pairs of receipt and decision dates), not as many as there are cases."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, Integer, Text, and_, case, cast, func, select

from .tables import case_deadlines, cases


@dataclass(frozen=True)
class Scope:
    """The cases counted: one agency (None: the whole service) and the period they were received in."""

    agency: str | None
    since: dt.date
    until: dt.date

    def where(self) -> Any:
        condition = and_(cases.c.received_on >= self.since.isoformat(), cases.c.received_on <= self.until.isoformat())
        return and_(condition, cases.c.agency == self.agency) if self.agency is not None else condition


@dataclass(frozen=True)
class DeadlineTally:
    kind: str
    met: int  # done on or before the day it was due
    late: int  # done after it
    overdue: int  # still open, past due
    open: int  # still open, not yet due


@dataclass(frozen=True)
class Aggregates:
    total: int
    by_type: Mapping[str, int]
    by_outcome: Mapping[str | None, int]  # None: not closed yet
    by_procedure: Mapping[str, int]
    ordinary_reasons: Mapping[tuple[str | None, bool], int]  # (credit check result, withdrawn)
    false_by_outcome: Mapping[str | None, int]
    false_found_open: int  # found false, not closed yet
    items: Mapping[str, tuple[str, int, int]]  # item id → (its name at its latest version, that version, cases)
    decisions: Mapping[tuple[str, str], int]  # (received_on, decided_on) → cases
    deadlines: tuple[DeadlineTally, ...]


def _grouped(conn: Any, column: Any, where: Any) -> dict[Any, int]:
    return {key: int(n) for key, n in conn.execute(select(column, func.count()).where(where).group_by(column)).all()}


def _items(conn: Any, where: Any) -> dict[str, tuple[str, int, int]]:
    """Cases by catalogue item, from the cases grouped by their list of items (a case with two items counts for both)."""
    column = cast(cases.c["items"], Text)  # c.items is the collection's own method
    found: dict[str, tuple[str, int, int]] = {}
    for text, n in conn.execute(select(column, func.count()).where(where).group_by(column)).all():
        for entry in {e["id"]: e for e in json.loads(text)}.values():
            name, version, count = found.get(entry["id"], (entry["name"], entry["version"], 0))
            if entry["version"] >= version:
                name, version = entry["name"], entry["version"]
            found[entry["id"]] = (name, version, count + int(n))
    return found


def _deadlines(conn: Any, scope: Scope, today: dt.date) -> tuple[DeadlineTally, ...]:
    d = case_deadlines.c
    day = today.isoformat()

    def count(condition: Any) -> Any:
        return func.sum(case((condition, 1), else_=0))

    query = (select(d.kind, count(and_(d.done_on.is_not(None), d.done_on <= d.due_on)), count(and_(d.done_on.is_not(None), d.done_on > d.due_on)),
                    count(and_(d.done_on.is_(None), d.due_on < day)), count(and_(d.done_on.is_(None), d.due_on >= day)))
             .join(cases, cases.c.id == d.case_id).where(scope.where()).group_by(d.kind).order_by(d.kind))
    return tuple(DeadlineTally(kind, int(met or 0), int(late or 0), int(overdue or 0), int(still or 0))
                 for kind, met, late, overdue, still in conn.execute(query).all())


def aggregates(engine: Engine, scope: Scope, today: dt.date) -> Aggregates:
    """Everything the statistics count, for the cases in ``scope``; deadlines open on ``today`` are overdue or not yet due."""
    where = scope.where()
    reasons = select(cases.c.facts[("credit_check", "result")].as_string().label("result"),
                     cast(cases.c.facts[("withdrawal", "withdrawn_on")].as_string().is_not(None), Integer).label("withdrawn")
                     ).where(where, cases.c.procedure == "ordinary").subquery()  # grouped outside: the same JSON path, bound once
    with engine.connect() as conn:
        total = int(conn.execute(select(func.count()).select_from(cases).where(where)).scalar_one())
        ordinary = conn.execute(select(reasons.c.result, reasons.c.withdrawn, func.count())
                                .group_by(reasons.c.result, reasons.c.withdrawn)).all()
        return Aggregates(
            total=total,
            by_type=_grouped(conn, cases.c.commitment_type, where),
            by_outcome=_grouped(conn, cases.c.outcome, where),
            by_procedure=_grouped(conn, cases.c.procedure, where),
            ordinary_reasons={(result, bool(out)): int(n) for result, out, n in ordinary},
            false_by_outcome=_grouped(conn, cases.c.outcome, and_(where, cases.c.false_commitment == 1)),
            false_found_open=int(conn.execute(select(func.count()).select_from(cases).where(where, cases.c.state == "false_found")).scalar_one()),
            items=_items(conn, where),
            decisions={(r, d): int(n) for r, d, n in conn.execute(
                select(cases.c.received_on, cases.c.decided_on, func.count()).where(where, cases.c.decided_on.is_not(None))
                .group_by(cases.c.received_on, cases.c.decided_on)).all()},
            deadlines=_deadlines(conn, scope, today),
        )
