"""Credit information exports: the commitment-procedure cases an agency decided in a period, what each case's rows
looked like when last exported (a hash per case and kind of row), and the exports themselves.

An export and the marks of the rows it holds are written in one transaction, each mark by compare-and-set on the
hash read before: two exports running at once cannot both hand out the same new row — the second fails with
Conflict and leaves nothing behind."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import Engine, and_, insert, select, update
from sqlalchemy.exc import IntegrityError

from ..errors import Conflict
from .cases import CaseRecord
from .tables import cases, credit_export_rows, credit_exports


@dataclass(frozen=True)
class CreditExportRecord:
    id: str
    agency: str
    period_from: str
    period_to: str
    rows: int
    format: str
    created_by: str
    created_at: dt.datetime


@dataclass(frozen=True)
class RowMark:
    """A row to mark as exported: its case and kind, its hash now, and the hash read before (None: never exported)."""

    case_id: str
    kind: str
    row_hash: str
    previous: str | None


def _changed_meanwhile() -> Conflict:
    return Conflict("另一次导出同时进行，请重试", "another export ran at the same time; retry", code="credit_export_changed")


class CreditExportStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def decided_cases(self, agency: str, date_from: dt.date, date_to: dt.date) -> list[CaseRecord]:
        """The agency's commitment-procedure cases decided from ``date_from`` to ``date_to`` (both included), by
        decision date and number. Ordinary-procedure cases are not commitments and are never among them."""
        query = (select(cases).where(cases.c.agency == agency, cases.c.procedure == "commitment", cases.c.decided_on.is_not(None),
                                     cases.c.decided_on >= date_from.isoformat(), cases.c.decided_on <= date_to.isoformat())
                 .order_by(cases.c.decided_on, cases.c.number))
        with self.engine.connect() as conn:
            return [CaseRecord.from_row(row) for row in conn.execute(query)]

    def marks(self, case_ids: Iterable[str]) -> dict[tuple[str, str], str]:
        """The hash last exported, by (case id, kind of row)."""
        ids = sorted(set(case_ids))
        found: dict[tuple[str, str], str] = {}
        with self.engine.connect() as conn:
            for start in range(0, len(ids), 500):  # bounded IN lists
                rows = conn.execute(select(credit_export_rows.c.case_id, credit_export_rows.c.kind, credit_export_rows.c.row_hash)
                                    .where(credit_export_rows.c.case_id.in_(ids[start:start + 500]))).all()
                found.update({(case_id, kind): row_hash for case_id, kind, row_hash in rows})
        return found

    def record(self, *, agency: str, period_from: dt.date, period_to: dt.date, fmt: str, actor: str, now: dt.datetime,
               rows: Sequence[RowMark]) -> CreditExportRecord:
        """Records the export and marks its rows, in one transaction. Raises Conflict when another export marked one
        of the rows since it was read (nothing is recorded then)."""
        export_id = str(uuid.uuid4())
        values = {"id": export_id, "agency": agency, "period_from": period_from.isoformat(), "period_to": period_to.isoformat(),
                  "rows": len(rows), "format": fmt, "created_by": actor, "created_at": now}
        t = credit_export_rows
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(credit_exports).values(**values))
                for row in rows:
                    if row.previous is None:
                        conn.execute(insert(t).values(case_id=row.case_id, kind=row.kind, agency=agency, row_hash=row.row_hash,
                                                      export_id=export_id, exported_at=now))
                        continue
                    changed = conn.execute(update(t).where(and_(t.c.case_id == row.case_id, t.c.kind == row.kind,
                                                                t.c.row_hash == row.previous))
                                           .values(row_hash=row.row_hash, export_id=export_id, exported_at=now)).rowcount
                    if not changed:
                        raise _changed_meanwhile()
        except IntegrityError:  # another export inserted the first mark of one of these rows
            raise _changed_meanwhile() from None
        return CreditExportRecord(**values)

    def list(self, agencies: frozenset[str] | None, *, limit: int = 200) -> list[CreditExportRecord]:
        """Earlier exports of these agencies (None: every agency), newest first."""
        query = select(credit_exports).order_by(credit_exports.c.created_at.desc(), credit_exports.c.id).limit(limit)
        if agencies is not None:
            query = query.where(credit_exports.c.agency.in_(sorted(agencies)))
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [CreditExportRecord(**{name: row._mapping[name] for name in CreditExportRecord.__dataclass_fields__}) for row in rows]
