"""Reading issued documents: metadata, files and searches, for whoever may see them; every download is audited.

A search applies the same scope as the detail views (the principal's agencies and forms), and its
parameters are bounded: a page, a date or a search text out of range is a 400, never a database error.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from collections.abc import Mapping
from dataclasses import dataclass

from . import query_params
from .auth.principal import Principal, authorize_read
from .errors import InvalidRequest, NotFound, bilingual
from .forms import CATALOGUE
from .parties import PartyState, party_states
from .registry.documents import DocumentRecord, RevisionRecord
from .runtime import Services
from .storage import verified

MAX_QUERY_TEXT = 100


@dataclass(frozen=True)
class DocumentQuery:
    text: str = ""
    form: str | None = None
    since: dt.date | None = None  # issued on or after
    until: dt.date | None = None  # issued on or before
    page: int = 1


@dataclass(frozen=True)
class SearchResult:
    records: list[DocumentRecord]
    total: int
    page: int
    pages: int


def parse_query(args: Mapping[str, str]) -> DocumentQuery:
    """A search from query parameters ``q``, ``form``, ``from``, ``to``, ``page``; raises InvalidRequest naming each bad one."""
    errors: dict[str, list[str]] = {}
    text = args.get("q", "") or ""
    if len(text) > MAX_QUERY_TEXT:
        errors["q"] = [bilingual(f"查找内容不能超过 {MAX_QUERY_TEXT} 个字符", f"the search text may be at most {MAX_QUERY_TEXT} characters")]
    form = args.get("form") or None
    if form is not None and form not in CATALOGUE:
        errors["form"] = [bilingual("没有这种表单", "no such form")]
    page = query_params.page(args, errors)
    dates = {name: query_params.date_bound(args, name, errors) for name in ("from", "to")}
    if errors:
        raise InvalidRequest("查找条件有误", "the search parameters are invalid", code="invalid_query", errors=errors)
    return DocumentQuery(text=text.strip(), form=form, since=dates["from"], until=dates["to"], page=page)


def search(services: Services, principal: Principal, query: DocumentQuery, per_page: int = 20) -> SearchResult:
    """The documents ``principal`` may read that match ``query``, newest first, and how many match in all.
    The scope is that of ``get_document``: the principal's agencies and forms."""
    zone = services.now().tzinfo

    def start_of(day: dt.date | None) -> dt.datetime | None:
        return dt.datetime.combine(day, dt.time(), tzinfo=zone) if day else None

    if principal.role == "public":
        return SearchResult([], 0, 1, 1)
    records, total = services.registry.search(
        agencies=principal.agencies, forms=principal.forms, text=query.text, form=query.form,
        since=start_of(query.since), until=start_of(query.until + dt.timedelta(days=1) if query.until else None),
        page=query.page, per_page=per_page,
    )
    return SearchResult(records, total, query.page, max(1, math.ceil(total / per_page)))


@dataclass(frozen=True)
class DocumentDetail(DocumentRecord):
    """A document with its parties' state and its revisions, as the API and the pages show it."""

    parties: tuple[PartyState, ...] = ()
    revisions: tuple[RevisionRecord, ...] = ()


def detail(services: Services, record: DocumentRecord) -> DocumentDetail:
    revisions = services.registry.revisions(record.id)
    spec = CATALOGUE.get(record.form)
    states = party_states(spec, record.data, revisions) if spec and record.status != "issuing" else []
    fields = {name: getattr(record, name) for name in DocumentRecord.__dataclass_fields__}
    return DocumentDetail(**fields, parties=tuple(states), revisions=tuple(revisions))


def get_detail(services: Services, principal: Principal, document_id: str) -> DocumentDetail:
    """Raises NotFound, also for a document of an agency or form the principal does not act for."""
    return detail(services, get_document(services, principal, document_id))


def get_document(services: Services, principal: Principal, document_id: str) -> DocumentRecord:
    """Raises NotFound, also for a document of an agency the principal does not act for."""
    record = services.registry.get(document_id)
    authorize_read(principal, document_id, record.agency, record.form)
    return record


@dataclass(frozen=True)
class RegistryState:
    """What the registry itself says of a document, without a verification: its status and whether the
    stored PDF is still the one it issued (its SHA-256)."""

    verdict: str  # valid | invalid | pending
    zh: str
    en: str


def registry_state(services: Services, record: DocumentRecord) -> RegistryState:
    if record.status == "issuing":
        return RegistryState("pending", "签发中，尚未完成", "being issued")
    if record.status == "voided":
        return RegistryState("invalid", f"已作废：{record.void_reason or '未说明原因'}", f"voided: {record.void_reason or 'no reason given'}")
    revisions = services.registry.revisions(record.id)
    registered = revisions[-1].sha256 if revisions else record.sha256 or ""
    try:
        intact = hashlib.sha256(services.files.get(record.pdf_path)).hexdigest() == registered
    except NotFound:
        intact = False
    if not intact:
        return RegistryState("invalid", "存档的 PDF 与登记的哈希不符或缺失，请联系管理员",
                             "the stored PDF is missing or differs from the registered hash; tell an administrator")
    return RegistryState("valid", f"有效：存档 PDF（第 {record.revision} 版）与登记一致（SHA-256 {registered[:16]}…）",
                         f"valid: the stored PDF (revision {record.revision}) is the one registered (SHA-256 {registered[:16]}…)")


def latest_pdf(services: Services, record: DocumentRecord) -> bytes:
    """The stored PDF of the document's latest revision, if it is the one the registry recorded (its SHA-256).
    Raises StoredFileCorrupt, NotFound (the file is gone), StorageUnavailable."""
    revisions = services.registry.revisions(record.id)
    return verified(services.files.get(record.pdf_path), revisions[-1].sha256 if revisions else record.sha256 or "", record.pdf_path)


def document_file(services: Services, principal: Principal, document_id: str, kind: str) -> tuple[DocumentRecord, bytes]:
    """The issued PDF (``kind="pdf"``) or rendered DOCX; raises NotFound when not visible or not issued,
    StoredFileCorrupt when the stored PDF is not the one registered, StorageUnavailable when the store cannot be read."""
    record = get_document(services, principal, document_id)
    if not record.issued:
        raise NotFound("该文书未签发或已作废，无法下载", f"document {document_id} is {record.status}; there is nothing to download",
                       code="document_not_available")
    if kind == "pdf":
        content = latest_pdf(services, record)
    else:
        content = services.files.get(record.docx_path)
    services.audit.record(actor=principal.actor, action="download", object=f"document:{record.id}", outcome="success",
                          detail={"serial": record.serial, "kind": kind})
    return record, content
