"""Registry queries: reserve a document (drawing its numbers), complete it, add the revisions its parties sign,
void it, find it.

A document is ``issuing`` while the pipeline runs, then ``awaiting_signatures`` until every party the form
requires has signed (or ``completed`` at once when nobody else signs), and may be ``voided``."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, and_, delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from ..agencies import Agency
from ..errors import Conflict, NotFound
from . import numbering
from .rows import FromRow
from .tables import documents, idempotency_keys, revisions

ISSUED = ("awaiting_signatures", "completed")  # the states of a document that was issued and is not voided
ARCHIVE = "archive"  # the kind of a revision that only adds an archival timestamp (and its validation data)


@dataclass(frozen=True)
class RevisionRecord(FromRow):
    document_id: str
    number: int
    sha256: str
    pdf_path: str
    size: int
    party: str | None
    signer: str | None
    kind: str | None
    created_at: dt.datetime


@dataclass(frozen=True)
class DocumentRecord(FromRow):
    id: str
    serial: str
    form: str
    agency: str
    number: str | None
    status: str
    subject: str
    data: Mapping[str, Any]
    sha256: str | None
    pdf_path: str | None
    docx_path: str | None
    pdf_size: int | None
    created_at: dt.datetime
    issued_at: dt.datetime | None
    voided_at: dt.datetime | None
    void_reason: str | None
    request_id: str | None
    owner: str | None
    revision: int
    case_id: str | None = None
    catalog_items: list[dict[str, Any]] | None = None
    template_version: int | None = None  # the agency's template version it was rendered from; None: the built-in one

    @property
    def issued(self) -> bool:
        """Issued and not voided: its files may be read and its parties may sign."""
        return self.status in ISSUED


@dataclass(frozen=True)
class IdempotencyClaim:
    """The state of a key when another request already holds it."""

    request_hash: str
    document_id: str | None


class DocumentRegistry:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def reserve(
        self,
        *,
        form: str,
        agency: Agency,
        number_kind: str | None,
        subject: str,
        data: Mapping[str, Any],
        now: dt.datetime,
        year: int,
        request_id: str | None,
        owner: str | None,
        idempotency_key: str | None = None,
        case_id: str | None = None,
        catalog_items: list[dict[str, Any]] | None = None,
        template_version: int | None = None,
    ) -> DocumentRecord:
        """Draws the serial (and official number) and records the document as ``issuing`` by the process
        ``owner``, atomically; binds ``idempotency_key`` (claimed before) to it in the same transaction, so that
        whatever happens next, a retry finds the document this request made."""
        with self.engine.begin() as conn:
            drawn = numbering.draw(conn, agency, number_kind, year)
            document_id = str(uuid.uuid4())
            row = conn.execute(
                insert(documents).values(
                    id=document_id,
                    serial=drawn.serial,
                    form=form,
                    agency=agency.id,
                    number=drawn.number,
                    number_kind=number_kind,
                    status="issuing",
                    subject=subject[:200],
                    data=dict(data),
                    created_at=now,
                    request_id=request_id,
                    owner=owner,
                    case_id=case_id,
                    catalog_items=catalog_items,
                    template_version=template_version,
                ).returning(*documents.c)
            ).one()
            if idempotency_key is not None:
                conn.execute(update(idempotency_keys).where(idempotency_keys.c.key == idempotency_key).values(document_id=document_id))
        return DocumentRecord.from_row(row)

    def complete(self, document_id: str, *, sha256: str, pdf_path: str, docx_path: str, pdf_size: int, now: dt.datetime,
                 awaiting: bool) -> DocumentRecord:
        """Marks an ``issuing`` document issued (``awaiting_signatures``, or ``completed`` when nobody else signs)
        and records its revision 0. Raises Conflict if it is no longer issuing (an operator voided it
        meanwhile), NotFound if there is no such document."""
        with self.engine.begin() as conn:
            row = conn.execute(
                update(documents)
                .where(documents.c.id == document_id, documents.c.status == "issuing")
                .values(status="awaiting_signatures" if awaiting else "completed", sha256=sha256, pdf_path=pdf_path,
                        docx_path=docx_path, pdf_size=pdf_size, issued_at=now, revision=0)
                .returning(*documents.c)
            ).first()
            if row is not None:
                conn.execute(insert(revisions).values(document_id=document_id, number=0, sha256=sha256, pdf_path=pdf_path,
                                                      size=pdf_size, created_at=now))
        if row is None:
            current = self.get(document_id)
            raise Conflict(f"文书在签发过程中被作废：{current.void_reason or ''}", "the document was voided while it was being issued",
                           code="voided_while_issuing")
        return DocumentRecord.from_row(row)

    def add_revision(self, document_id: str, *, after: int, sha256: str, pdf_path: str, size: int, party: str, signer: str,
                     kind: str, completed: bool, now: dt.datetime) -> DocumentRecord:
        """Records the revision a party signed on top of revision ``after``, as the latest; the document is
        ``completed`` if ``completed``. Raises Conflict if the document is not awaiting signatures or moved past
        ``after`` meanwhile (another signature came first): nothing is recorded then."""
        with self.engine.begin() as conn:
            row = conn.execute(
                update(documents)
                .where(documents.c.id == document_id, documents.c.revision == after, documents.c.status == "awaiting_signatures")
                .values(revision=after + 1, pdf_path=pdf_path, pdf_size=size, status="completed" if completed else "awaiting_signatures")
                .returning(*documents.c)
            ).first()
            if row is None:
                raise Conflict("文书已被他人同时签署或已作废，请刷新后重试", "the document was signed by someone else or voided meanwhile; reload and retry",
                               code="document_changed")
            conn.execute(insert(revisions).values(document_id=document_id, number=after + 1, sha256=sha256, pdf_path=pdf_path,
                                                  size=size, party=party, signer=signer[:200], kind=kind, created_at=now))
        return DocumentRecord.from_row(row)

    def add_archival_revision(self, document_id: str, *, after: int, sha256: str, pdf_path: str, size: int,
                              now: dt.datetime) -> DocumentRecord:
        """Records revision ``after`` with a fresh archival timestamp (kind ``archive``, no party) as the latest; the
        document's status stays what it is. Raises Conflict if the document is no longer issued (voided) or moved past
        ``after`` meanwhile (a party signed): nothing is recorded then."""
        with self.engine.begin() as conn:
            row = conn.execute(
                update(documents)
                .where(documents.c.id == document_id, documents.c.revision == after, documents.c.status.in_(ISSUED))
                .values(revision=after + 1, pdf_path=pdf_path, pdf_size=size)
                .returning(*documents.c)
            ).first()
            if row is None:
                raise Conflict("文书在续期时已被签署或作废，未记录续期", "the document was signed or voided while it was renewed; nothing recorded",
                               code="document_changed")
            conn.execute(insert(revisions).values(document_id=document_id, number=after + 1, sha256=sha256, pdf_path=pdf_path,
                                                  size=size, kind=ARCHIVE, created_at=now))
        return DocumentRecord.from_row(row)

    def issued_ids(self) -> list[str]:
        """The ids of every issued document that is not voided, oldest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(documents.c.id).where(documents.c.status.in_(ISSUED))
                                .order_by(documents.c.issued_at, documents.c.id))
            return [row.id for row in rows]

    def revisions(self, document_id: str) -> list[RevisionRecord]:
        """The document's revisions, oldest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(revisions).where(revisions.c.document_id == document_id).order_by(revisions.c.number))
            return [RevisionRecord.from_row(row) for row in rows]

    def void(self, document_id: str, reason: str, now: dt.datetime, *, only: tuple[str, ...] = ("issuing", *ISSUED)) -> bool:
        """Voids the document, with the reason, if its status is one of ``only``; False if it was not. Its numbers stay drawn."""
        with self.engine.begin() as conn:
            result = conn.execute(
                update(documents)
                .where(documents.c.id == document_id, documents.c.status.in_(only))
                .values(status="voided", void_reason=reason[:2000], voided_at=now)
            )
        return result.rowcount == 1

    def void_abandoned(self, owners: list[str], *, unowned_before: dt.datetime, reason: str, now: dt.datetime) -> list[DocumentRecord]:
        """Voids the documents still ``issuing`` whose process is one of ``owners`` (gone), or that have no owner
        (made before owners were recorded) and were reserved before ``unowned_before``; returns them. Their
        idempotency keys, and the keys those processes claimed without reserving, are released for the retry."""
        abandoned = or_(documents.c.owner.in_(owners), and_(documents.c.owner.is_(None), documents.c.created_at < unowned_before))
        with self.engine.begin() as conn:
            rows = conn.execute(
                update(documents)
                .where(documents.c.status == "issuing", abandoned)
                .values(status="voided", void_reason=reason[:2000], voided_at=now)
                .returning(*documents.c)
            ).all()
            unbound = and_(idempotency_keys.c.document_id.is_(None),
                           or_(idempotency_keys.c.owner.in_(owners),
                               and_(idempotency_keys.c.owner.is_(None), idempotency_keys.c.created_at < unowned_before)))
            conn.execute(delete(idempotency_keys).where(or_(unbound, idempotency_keys.c.document_id.in_([row.id for row in rows]))))
        return [DocumentRecord.from_row(row) for row in rows]

    def get(self, document_id: str) -> DocumentRecord:
        """Raises NotFound."""
        with self.engine.connect() as conn:
            row = conn.execute(select(documents).where(documents.c.id == document_id)).first()
        if row is None:
            raise NotFound(f"文书 {document_id} 不存在", f"document {document_id} does not exist", code="document_not_found")
        return DocumentRecord.from_row(row)

    def find_by_serial(self, serial: str) -> DocumentRecord | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(documents).where(documents.c.serial == serial)).first()
        return DocumentRecord.from_row(row) if row else None

    def search(
        self,
        *,
        agencies: frozenset[str] | None,
        forms: frozenset[str] | None = None,
        text: str = "",
        form: str | None = None,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
        page: int = 1,
        per_page: int = 20,
    ) -> tuple[list[DocumentRecord], int]:
        """Documents of ``agencies`` and ``forms`` (None: all), newest first, whose number, serial or applicant
        contains ``text``; and how many match in all."""
        conditions = []
        if agencies is not None:
            conditions.append(documents.c.agency.in_(sorted(agencies)))
        if forms is not None:
            conditions.append(documents.c.form.in_(sorted(forms)))
        if text.strip():
            pattern = f"%{text.strip().replace('%', '').replace('_', '')}%"
            conditions.append(or_(documents.c.number.like(pattern), documents.c.serial.like(pattern), documents.c.subject.like(pattern)))
        if form:
            conditions.append(documents.c.form == form)
        if since:
            conditions.append(documents.c.created_at >= since)
        if until:
            conditions.append(documents.c.created_at < until)
        query = select(documents).where(and_(*conditions)) if conditions else select(documents)
        with self.engine.connect() as conn:
            total = conn.execute(select(func.count()).select_from(query.subquery())).scalar_one()
            rows = conn.execute(query.order_by(documents.c.created_at.desc()).limit(per_page).offset((page - 1) * per_page))
            return [DocumentRecord.from_row(row) for row in rows], int(total)

    def list(self, *, status: str | None = None, limit: int = 100) -> list[DocumentRecord]:
        query = select(documents).order_by(documents.c.created_at.desc()).limit(limit)
        if status:
            query = query.where(documents.c.status == status)
        with self.engine.connect() as conn:
            return [DocumentRecord.from_row(row) for row in conn.execute(query)]

    # --- idempotency keys ------------------------------------------------------------------------

    def claim_key(self, key: str, request_hash: str, now: dt.datetime, owner: str,
                  expired_before: dt.datetime | None = None) -> IdempotencyClaim | None:
        """Claims ``key`` for this request of the process ``owner``; returns None if claimed, else the state
        another request left. A key claimed before ``expired_before`` has expired: it is claimed afresh, as if
        it had never been used (its first document stays as it is)."""
        for _ in range(2):
            try:
                with self.engine.begin() as conn:
                    conn.execute(insert(idempotency_keys).values(key=key, request_hash=request_hash, created_at=now, owner=owner))
                return None
            except IntegrityError:
                if expired_before is None or not self._drop_expired(key, expired_before):
                    return self.key_state(key)
        return self.key_state(key)

    def _drop_expired(self, key: str, expired_before: dt.datetime) -> bool:
        with self.engine.begin() as conn:
            return bool(conn.execute(delete(idempotency_keys).where(idempotency_keys.c.key == key,
                                                                    idempotency_keys.c.created_at < expired_before)).rowcount)

    def prune_keys(self, expired_before: dt.datetime) -> int:
        """Deletes the idempotency keys claimed before ``expired_before`` whose request finished (bound to a document
        that is no longer issuing, or never bound); returns how many."""
        finished = or_(idempotency_keys.c.document_id.is_(None),
                       idempotency_keys.c.document_id.not_in(select(documents.c.id).where(documents.c.status == "issuing")))
        with self.engine.begin() as conn:
            return conn.execute(delete(idempotency_keys).where(idempotency_keys.c.created_at < expired_before, finished)).rowcount

    def key_state(self, key: str) -> IdempotencyClaim | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(idempotency_keys).where(idempotency_keys.c.key == key)).first()
        return IdempotencyClaim(row.request_hash, row.document_id) if row else None

    def release_key(self, key: str) -> None:
        """Frees a key whose request failed, so that a retry may issue."""
        with self.engine.begin() as conn:
            conn.execute(delete(idempotency_keys).where(idempotency_keys.c.key == key))

    def ping(self) -> None:
        with self.engine.connect() as conn:
            conn.execute(select(1))
