"""The candidates of the public disclosure page (``cases/disclosure.py``): completed letters of the listed forms whose
case was decided within the dates asked, with their case. What the page may show of them is decided above."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Engine, Text, cast, select

from .cases import CaseRecord
from .documents import DocumentRecord
from .tables import cases, documents


def decided_letters(engine: Engine, *, forms: Iterable[str], decided_from: dt.date, decided_until: dt.date,
                    agency: str | None = None, item: str | None = None) -> list[tuple[DocumentRecord, CaseRecord]]:
    """Completed (every party signed) letters of ``forms`` bound to a case decided on a day from ``decided_from`` to
    ``decided_until``, of ``agency`` and naming catalogue ``item`` when given; newest decision first."""
    where: list[Any] = [documents.c.status == "completed", documents.c.form.in_(sorted(forms)), cases.c.decided_on.is_not(None),
                        cases.c.decided_on >= decided_from.isoformat(), cases.c.decided_on <= decided_until.isoformat()]
    if agency is not None:
        where.append(cases.c.agency == agency)
    if item is not None:
        where.append(cast(documents.c.catalog_items, Text).like(f"%{item}%"))
    joined = documents.join(cases, cases.c.id == documents.c.case_id)
    letters = (select(documents).select_from(joined).where(*where)
               .order_by(cases.c.decided_on.desc(), documents.c.serial.desc()))
    their_cases = select(cases).where(cases.c.id.in_(select(documents.c.case_id).select_from(joined).where(*where)))
    with engine.connect() as conn:
        rows = conn.execute(letters).all()
        found = {row.id: CaseRecord.from_row(row) for row in conn.execute(their_cases)}
    return [(DocumentRecord.from_row(row), found[row.case_id]) for row in rows]
