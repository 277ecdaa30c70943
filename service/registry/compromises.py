"""Registry queries for agency keys reported compromised: recorded per certificate, found by the SHA-256 of its DER."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

from asn1crypto import x509
from sqlalchemy import Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from .rows import FromRow
from .tables import key_compromises


def cert_sha256(cert: x509.Certificate) -> str:
    """The hex SHA-256 of a certificate's DER: how a compromise is found again."""
    return hashlib.sha256(cert.dump()).hexdigest()


@dataclass(frozen=True)
class KeyCompromise(FromRow):
    agency: str
    cert_sha256: str
    cert_serial: str  # hex, upper case, without separators
    cert_subject: str
    since: dt.datetime  # signatures made at or after it are not the agency's
    recorded_at: dt.datetime
    recorded_by: str
    note: str


class CompromiseStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def record(self, agency: str, cert: x509.Certificate, since: dt.datetime, actor: str, note: str, now: dt.datetime) -> KeyCompromise:
        """Records that ``cert``'s key may have been in other hands since ``since``; returns what is now recorded.

        Recording the same certificate again moves ``since`` to the earlier of the two times, never later: a
        compromise, once known, cannot be made to have started after signatures already put in doubt. The latest
        report's time, actor and note replace the earlier one's (the audit trail keeps every report).
        Raises ValueError for a naive time.
        """
        if since.tzinfo is None or now.tzinfo is None:
            raise ValueError("naive datetime: a compromise is recorded with aware times")
        digest = cert_sha256(cert)
        values = {"agency": agency, "cert_sha256": digest, "cert_serial": format(cert.serial_number, "X"),
                  "cert_subject": cert.subject.human_friendly, "since": since, "recorded_at": now, "recorded_by": actor, "note": note}
        for attempt in range(2):  # a report of the same certificate by another process inserted first: then update
            try:
                with self.engine.begin() as conn:
                    row = conn.execute(select(key_compromises).where(key_compromises.c.cert_sha256 == digest).with_for_update()).first()
                    if row is None:
                        conn.execute(insert(key_compromises).values(**values))
                    else:
                        earliest = min(KeyCompromise.from_row(row).since, since)
                        conn.execute(update(key_compromises).where(key_compromises.c.cert_sha256 == digest)
                                     .values(since=earliest, recorded_at=now, recorded_by=actor, note=note))
                break
            except IntegrityError:
                if attempt:
                    raise
        found = self.find(digest)
        assert found is not None
        return found

    def find(self, cert_sha256: str) -> KeyCompromise | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(key_compromises).where(key_compromises.c.cert_sha256 == cert_sha256)).first()
        return KeyCompromise.from_row(row) if row else None

    def all(self) -> list[KeyCompromise]:
        """Every recorded compromise, the most recently recorded first."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(key_compromises).order_by(key_compromises.c.recorded_at.desc(), key_compromises.c.id.desc())).all()
        return [KeyCompromise.from_row(row) for row in rows]
