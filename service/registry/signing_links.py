"""Registry queries for signing links: made, found by their token's hash, a wrong try counted (atomically,
locking at the limit), used once."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Engine, case, insert, select, update

from .rows import FromRow
from .tables import signing_links

MAX_FAILURES = 5


@dataclass(frozen=True)
class SigningLink(FromRow):
    id: str
    token_hash: str
    document_id: str
    party: str
    mode: str  # remote | window
    code_hash: str | None
    identity_checked_by: str | None
    created_by: str
    created_at: dt.datetime
    expires_at: dt.datetime
    failures: int
    locked_at: dt.datetime | None
    used_at: dt.datetime | None


class SigningLinks:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def create(self, link: SigningLink) -> None:
        with self.engine.begin() as conn:
            conn.execute(insert(signing_links).values(**{name: getattr(link, name) for name in SigningLink.__dataclass_fields__}))

    def find(self, token_hash: str) -> SigningLink | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(signing_links).where(signing_links.c.token_hash == token_hash)).first()
        return SigningLink.from_row(row) if row else None

    def fail(self, link_id: str, now: dt.datetime) -> SigningLink:
        """One more wrong try, counted in the database (so parallel tries all count); the link locks at the limit."""
        failures = signing_links.c.failures + 1
        with self.engine.begin() as conn:
            row = conn.execute(
                update(signing_links).where(signing_links.c.id == link_id)
                .values(failures=failures, locked_at=case((failures >= MAX_FAILURES, now), else_=signing_links.c.locked_at))
                .returning(*signing_links.c)
            ).one()
        return SigningLink.from_row(row)

    def use(self, link_id: str, now: dt.datetime) -> bool:
        """Marks the link used; False if it already was (or is locked)."""
        with self.engine.begin() as conn:
            done = conn.execute(update(signing_links).where(
                signing_links.c.id == link_id, signing_links.c.used_at.is_(None), signing_links.c.locked_at.is_(None),
            ).values(used_at=now))
        return done.rowcount == 1

    def release(self, link_id: str) -> None:
        """Makes a link usable again when the signature it was used for could not be made (nothing was signed)."""
        with self.engine.begin() as conn:
            conn.execute(update(signing_links).where(signing_links.c.id == link_id).values(used_at=None))
