"""Assistance requests between agencies: recorded when a case's request is issued, answered once (compare-and-set
on ``state``), listed for the agency asked and for the case that asked."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, insert, select, update

from ..errors import Conflict, NotFound
from .rows import FromRow
from .tables import assistance_requests


@dataclass(frozen=True)
class AssistanceRecord(FromRow):
    id: str
    case_id: str
    request_document_id: str
    from_agency: str
    to_agency: str | None
    addressee: str
    kind: str
    number: str | None
    letter_date: str
    reply_days: int | None
    state: str
    finding: str | None
    reason: str | None
    refer_to: str | None
    visit: dict[str, Any] | None
    reply_document_id: str | None
    reply_number: str | None
    reply_date: str | None
    reply_file: str | None
    reply_sha256: str | None
    reply_verdict: dict[str, Any] | None
    answered_by: str | None
    answered_at: dt.datetime | None
    created_at: dt.datetime


def _not_found(request_id: str) -> NotFound:
    return NotFound(f"协助请求 {request_id} 不存在", f"assistance request {request_id} does not exist", code="assistance_not_found")


class AssistanceStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add(self, *, case_id: str, request_document_id: str, from_agency: str, to_agency: str | None, addressee: str, kind: str,
            number: str | None, letter_date: str, reply_days: int | None, now: dt.datetime) -> AssistanceRecord:
        request_id = str(uuid.uuid4())
        with self.engine.begin() as conn:
            conn.execute(insert(assistance_requests).values(
                id=request_id, case_id=case_id, request_document_id=request_document_id, from_agency=from_agency, to_agency=to_agency,
                addressee=addressee, kind=kind, number=number, letter_date=letter_date, reply_days=reply_days, state="open",
                created_at=now))
        return self.get(request_id)

    def get(self, request_id: str) -> AssistanceRecord:
        with self.engine.connect() as conn:
            row = conn.execute(select(assistance_requests).where(assistance_requests.c.id == request_id)).first()
        if row is None:
            raise _not_found(request_id)
        return AssistanceRecord.from_row(row)

    def answer(self, request_id: str, values: Mapping[str, Any], now: dt.datetime) -> AssistanceRecord:
        """Records the answer, once: Conflict when the request was answered meanwhile."""
        with self.engine.begin() as conn:
            changed = conn.execute(update(assistance_requests)
                                   .where(assistance_requests.c.id == request_id, assistance_requests.c.state == "open")
                                   .values(state="answered", answered_at=now, **values)).rowcount
        if not changed:
            self.get(request_id)
            raise Conflict("该协助请求已答复", "the assistance request has been answered already", code="assistance_answered")
        return self.get(request_id)

    def for_case(self, case_id: str) -> list[AssistanceRecord]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(assistance_requests).where(assistance_requests.c.case_id == case_id)
                                .order_by(assistance_requests.c.created_at)).all()
        return [AssistanceRecord.from_row(row) for row in rows]

    def incoming(self, agencies: frozenset[str] | None, *, state: str | None = None, limit: int = 200) -> list[AssistanceRecord]:
        query = select(assistance_requests).where(assistance_requests.c.to_agency.is_not(None))
        if agencies is not None:
            query = query.where(assistance_requests.c.to_agency.in_(sorted(agencies)))
        if state is not None:
            query = query.where(assistance_requests.c.state == state)
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(assistance_requests.c.created_at.desc()).limit(limit)).all()
        return [AssistanceRecord.from_row(row) for row in rows]
