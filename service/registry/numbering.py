"""Official numbers and registry serials.

Both come from counters per (agency, kind, year), incremented by one atomic upsert, so two requests
that race never get the same number. Numbers are drawn inside the transaction that records the
document as ``issuing``; a document that then fails is voided with the reason, never deleted, so
no drawn number vanishes silently.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import Connection, insert
from sqlalchemy.dialects import postgresql, sqlite

from ..agencies import Agency
from .tables import counters

SERIAL_COUNTER_AGENCY = "*"
# Crockford-style alphabet without the letters people misread (0/O, 1/I/L, U).
_SUFFIX_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"


@dataclass(frozen=True)
class DrawnNumbers:
    serial: str
    number: str | None
    year: int


def next_value(conn: Connection, agency: str, kind: str, year: int) -> int:
    """Increments and returns the counter (agency, kind, year), starting at 1; atomic on SQLite and PostgreSQL."""
    dialect = conn.dialect.name
    if dialect == "sqlite":
        statement = sqlite.insert(counters)
    elif dialect == "postgresql":
        statement = postgresql.insert(counters)
    else:  # pragma: no cover - the two supported databases are above
        statement = insert(counters)
    statement = statement.values(agency=agency, kind=kind, year=year, value=1)
    statement = statement.on_conflict_do_update(
        index_elements=[counters.c.agency, counters.c.kind, counters.c.year],
        set_={"value": counters.c.value + 1},
    ).returning(counters.c.value)
    return int(conn.execute(statement).scalar_one())


def format_serial(year: int, seq: int, suffix: str | None = None) -> str:
    """``2026-00000042-K7QF``: year, registry sequence, and a random suffix so serials cannot be enumerated."""
    suffix = suffix or "".join(secrets.choice(_SUFFIX_ALPHABET) for _ in range(4))
    return f"{year}-{seq:08d}-{suffix}"


def draw(conn: Connection, agency: Agency, kind: str | None, year: int) -> DrawnNumbers:
    """Draws the registry serial and, for forms that carry one, the agency's official number."""
    serial = format_serial(year, next_value(conn, SERIAL_COUNTER_AGENCY, "serial", year))
    number = None
    if kind is not None:
        number = agency.format_number(kind, year, next_value(conn, agency.id, kind, year))
    return DrawnNumbers(serial=serial, number=number, year=year)
