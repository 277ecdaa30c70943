"""Batches of rows to issue, and each row's outcome.

A row moves once, from ``pending`` to ``done`` (with its document) or ``failed`` (with its errors), by
compare-and-set on ``pending``: a row taken up twice — a message delivered again after a worker died — is
recorded once. The row's document itself is made once by the issuing's Idempotency-Key (``batch:<id>:<row>``);
this table only says how it went.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from .rows import FromRow
from .tables import batch_rows, batches

ROW_STATES = ("pending", "done", "failed")


@dataclass(frozen=True)
class BatchRecord(FromRow):
    id: str
    form: str
    agency: str
    principal: dict[str, Any]
    source: str
    filename: str | None
    total: int
    status: str
    idempotency_key: str | None
    request_hash: str | None
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    data_dropped_at: dt.datetime | None = None


@dataclass(frozen=True)
class BatchRow(FromRow):
    batch_id: str
    row: int
    data: dict[str, Any]
    status: str
    document_id: str | None
    errors: dict[str, list[str]] | None
    attempts: int
    updated_at: dt.datetime


class BatchStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def create(self, record: BatchRecord, rows: Sequence[tuple[int, Mapping[str, Any], Mapping[str, list[str]] | None]]) -> BatchRecord | None:
        """Stores the batch and its rows ``(number, data, errors)`` in one transaction — a row with errors is failed from
        the start; returns None if the batch's Idempotency-Key was taken meanwhile."""
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(batches).values(**vars(record)))
                conn.execute(insert(batch_rows), [
                    {"batch_id": record.id, "row": number, "data": dict(data), "status": "failed" if errors else "pending",
                     "errors": dict(errors) if errors else None, "attempts": 0, "updated_at": record.created_at}
                    for number, data, errors in rows])
        except IntegrityError:
            if record.idempotency_key is None:
                raise
            return None
        return record

    def get(self, batch_id: str) -> BatchRecord | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(batches).where(batches.c.id == batch_id)).first()
        return BatchRecord.from_row(row) if row else None

    def by_key(self, key: str) -> BatchRecord | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(batches).where(batches.c.idempotency_key == key)).first()
        return BatchRecord.from_row(row) if row else None

    def recent(self, agencies: Iterable[str] | None, limit: int = 50) -> list[BatchRecord]:
        query = select(batches).order_by(batches.c.created_at.desc()).limit(limit)
        if agencies is not None:
            query = query.where(batches.c.agency.in_(list(agencies)))
        with self.engine.connect() as conn:
            return [BatchRecord.from_row(row) for row in conn.execute(query)]

    def unfinished(self) -> list[BatchRecord]:
        with self.engine.connect() as conn:
            return [BatchRecord.from_row(row) for row in conn.execute(select(batches).where(batches.c.status == "running"))]

    def counts(self, batch_id: str) -> dict[str, int]:
        with self.engine.connect() as conn:
            found = dict(conn.execute(select(batch_rows.c.status, func.count()).where(batch_rows.c.batch_id == batch_id)
                                      .group_by(batch_rows.c.status)).all())
        return {state: int(found.get(state, 0)) for state in ROW_STATES}

    def rows(self, batch_id: str, numbers: Sequence[int] | None = None, *, status: str | None = None) -> list[BatchRow]:
        query = select(batch_rows).where(batch_rows.c.batch_id == batch_id).order_by(batch_rows.c.row)
        if numbers is not None:
            query = query.where(batch_rows.c.row.in_(list(numbers)))
        if status is not None:
            query = query.where(batch_rows.c.status == status)
        with self.engine.connect() as conn:
            return [BatchRow.from_row(row) for row in conn.execute(query)]

    def pending_numbers(self, batch_id: str) -> list[int]:
        with self.engine.connect() as conn:
            return list(conn.execute(select(batch_rows.c.row).where(batch_rows.c.batch_id == batch_id, batch_rows.c.status == "pending")
                                     .order_by(batch_rows.c.row)).scalars())

    def mark_started(self, batch_id: str, now: dt.datetime) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(batches).where(batches.c.id == batch_id, batches.c.started_at.is_(None)).values(started_at=now))

    def attempted(self, batch_id: str, row: int, now: dt.datetime) -> int:
        """Counts one more attempt at a pending row; returns the attempts so far."""
        with self.engine.begin() as conn:
            conn.execute(update(batch_rows).where(batch_rows.c.batch_id == batch_id, batch_rows.c.row == row, batch_rows.c.status == "pending")
                         .values(attempts=batch_rows.c.attempts + 1, updated_at=now))
            return int(conn.execute(select(batch_rows.c.attempts).where(batch_rows.c.batch_id == batch_id, batch_rows.c.row == row)).scalar_one())

    def settle(self, batch_id: str, row: int, now: dt.datetime, *, document_id: str | None = None,
               errors: Mapping[str, list[str]] | None = None) -> bool:
        """Records a pending row's outcome: done with ``document_id``, or failed with ``errors``. False if it was settled already."""
        values: dict[str, Any] = {"status": "done", "document_id": document_id, "updated_at": now} if document_id else \
            {"status": "failed", "errors": {k: list(v) for k, v in (errors or {}).items()}, "updated_at": now}
        with self.engine.begin() as conn:
            return bool(conn.execute(update(batch_rows).where(batch_rows.c.batch_id == batch_id, batch_rows.c.row == row,
                                                              batch_rows.c.status == "pending").values(**values)).rowcount)

    def drop_data(self, finished_before: dt.datetime, now: dt.datetime) -> int:
        """Empties the rows' data of the batches finished before ``finished_before`` (their outcomes, errors and
        documents stay); returns how many batches."""
        with self.engine.begin() as conn:
            ids = list(conn.execute(select(batches.c.id).where(batches.c.status == "finished", batches.c.finished_at < finished_before,
                                                               batches.c.data_dropped_at.is_(None))).scalars())
            if ids:
                conn.execute(update(batch_rows).where(batch_rows.c.batch_id.in_(ids)).values(data={}))
                conn.execute(update(batches).where(batches.c.id.in_(ids)).values(data_dropped_at=now))
        return len(ids)

    def finish_if_complete(self, batch_id: str, now: dt.datetime) -> bool:
        """Marks the batch finished once no row is pending; True for the one call that did."""
        with self.engine.begin() as conn:
            pending = conn.execute(select(func.count()).where(batch_rows.c.batch_id == batch_id, batch_rows.c.status == "pending")).scalar_one()
            if pending:
                return False
            return bool(conn.execute(update(batches).where(batches.c.id == batch_id, batches.c.status == "running")
                                     .values(status="finished", finished_at=now)).rowcount)
