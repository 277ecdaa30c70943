"""The one use case: issue a form as a numbered PDF.

    validate ─▶ number ─▶ render ─▶ convert ─▶ sign ─▶ store

Numbers are drawn before rendering because they are printed on the document. From the moment a
number is drawn, any failure voids the document with the reason (the number is never reused nor
lost), and nothing unfinished is ever served: a document is readable only once ``issued``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from marshmallow import ValidationError

from .agencies import Agency
from .auth.principal import Principal, authorize_issue
from .converting import priority
from .errors import (
    ChengnuoError,
    Conflict,
    Forbidden,
    InvalidData,
    PipelineError,
    StorageUnavailable,
    bilingual,
)
from .forms import FormSpec, get_form
from .forms.fields import as_of, dates_before_birth, flatten_errors
from .idempotency import request_hash, scoped_key
from .registry.documents import DocumentRecord
from .registry.templates import TemplateRef
from .rendering.context import template_context
from .rendering.docx_render import TemplateSource
from .rendering.draft import mark_draft
from .rendering.qr import qr_png
from .runtime import Services
from .signing.certify import SignatureRequest
from .webhooks import document_completed, document_issued

log = logging.getLogger(__name__)

STAGES = ("validate", "number", "render", "convert", "sign", "store")


@dataclass(frozen=True)
class Provenance:
    """Where a document's data came from: the case it is issued for, and the catalogue item versions that filled it
    (``[{"id", "version"}]``). Both are recorded on the document, also when issuing then fails."""

    case_id: str | None = None
    catalog_items: tuple[Mapping[str, Any], ...] = ()


@dataclass(frozen=True)
class IssueResult:
    document: DocumentRecord
    replayed: bool = False
    timings: Mapping[str, float] = field(default_factory=dict)


def validate(form_id: str, raw: Any, today: dt.date, agency: Agency | None = None) -> tuple[FormSpec, dict[str, Any]]:
    """The form and its data, loaded by the form's schema as on ``today``, for ``agency``; raises NotFound or InvalidData."""
    spec = get_form(form_id)
    if not isinstance(raw, Mapping):
        raise InvalidData({"data": ["应为 JSON 对象 / must be a JSON object"]})
    try:
        with as_of(today):
            data = spec.schema().load(raw)
    except ValidationError as exc:
        raise InvalidData(flatten_errors(exc.messages)) from None
    problems = dates_before_birth(data)
    if agency is not None:
        problems.update({name: [bilingual(f"不能是签发机关自己（{agency.name}）", f"may not be the issuing agency itself ({agency.name})")]
                         for name in spec.other_agency if str(data.get(name, "")).strip() == agency.name})
    if problems:
        raise InvalidData(problems)
    return spec, data


def issuing_agency(services: Services, principal: Principal, agency_id: str | None, form_id: str, *, action: str = "issue") -> Agency:
    """The agency ``principal`` issues ``form_id`` for (the named one, else its own). Raises NotFound, and Forbidden,
    audited as a denied ``action``."""
    agency = services.agencies.get(agency_id or principal.default_agency())
    try:
        authorize_issue(principal, agency.id, form_id)
    except Forbidden as exc:
        services.audit.record(actor=principal.actor, action=action, object=f"form:{form_id}", outcome="denied",
                              detail={"agency": agency.id, "error": exc.code})
        raise
    return agency


def request_fingerprint(form_id: str, agency_id: str | None, raw: Any) -> str:
    return request_hash({"form": form_id, "agency": agency_id, "data": raw})


def issue(
    services: Services,
    form_id: str,
    raw: Any,
    *,
    principal: Principal,
    agency_id: str | None = None,
    idempotency_key: str | None = None,
    request_id: str | None = None,
    provenance: Provenance | None = None,
) -> IssueResult:
    """Issues one document for ``principal``. With an ``idempotency_key`` (scoped to the principal), a
    repeat of the same request returns the first document (``replayed``); the same key with another
    body raises Conflict.

    Raises NotFound (form, agency), Forbidden, InvalidData, Conflict, and PipelineError subclasses.
    """
    with priority.foreground():  # a window's request goes before batch work (converting/priority.py)
        return _claimed_issue(services, form_id, raw, principal, agency_id, idempotency_key, request_id, provenance)


def _claimed_issue(services: Services, form_id: str, raw: Any, principal: Principal, agency_id: str | None,
                   idempotency_key: str | None, request_id: str | None, provenance: Provenance | None) -> IssueResult:
    agency = issuing_agency(services, principal, agency_id, form_id)
    if idempotency_key is None:
        return _issue(services, form_id, raw, agency, request_id, principal, provenance=provenance)
    idempotency_key = scoped_key(principal, idempotency_key)
    fingerprint = request_fingerprint(form_id, agency.id, raw)
    deadline = time.monotonic() + services.settings.idempotency_wait
    while True:
        now = services.now()
        claim = services.registry.claim_key(idempotency_key, fingerprint, now, services.instances.id,
                                            expired_before=now - dt.timedelta(hours=services.settings.idempotency_ttl_hours))
        if claim is None:
            break
        if claim.request_hash != fingerprint:
            raise Conflict(
                "该 Idempotency-Key 已用于内容不同的请求",
                "this Idempotency-Key was already used with a different request body",
                code="idempotency_key_reused",
            )
        if claim.document_id is not None:
            first = services.registry.get(claim.document_id)
            # a document voided before it was ever issued failed: its key is being released, and the retry issues afresh
            if first.status != "issuing" and first.issued_at is not None:
                return IssueResult(first, replayed=True)
        if time.monotonic() > deadline:
            raise Conflict("相同请求仍在处理中，请稍后重试", "the same request is still being processed; retry later", code="idempotency_in_progress")
        time.sleep(0.1)
    try:
        return _issue(services, form_id, raw, agency, request_id, principal, idempotency_key, provenance=provenance)
    except BaseException:
        services.registry.release_key(idempotency_key)
        raise


def _issue(services: Services, form_id: str, raw: Any, agency: Agency, request_id: str | None, principal: Principal,
           idempotency_key: str | None = None, *, provenance: Provenance | None = None) -> IssueResult:
    timings: dict[str, float] = {}
    started = time.perf_counter()

    def lap(stage: str) -> None:
        nonlocal started
        now = time.perf_counter()
        timings[stage] = now - started
        priority.give_way()  # batch work waits here while a window request is in flight
        started = time.perf_counter()

    spec, data = validate(form_id, raw, services.now().date(), agency)
    stored_data = spec.schema().dump(data)
    template = services.templates.current(agency.id, spec.id)  # the agency's own version, if it published one
    lap("validate")

    now = services.now()
    record = services.registry.reserve(
        form=spec.id,
        agency=agency,
        number_kind=spec.number_kind,
        subject=spec.subject(data),
        data=stored_data,
        now=now,
        year=now.year,
        request_id=request_id,
        owner=services.instances.id,
        idempotency_key=idempotency_key,
        case_id=provenance.case_id if provenance else None,
        catalog_items=[dict(item) for item in provenance.catalog_items] if provenance and provenance.catalog_items else None,
        template_version=template.version if template else None,
    )
    try:
        services.audit.record(actor=principal.actor, action="reserve", object=f"document:{record.id}", outcome="success",
                              detail={"serial": record.serial, "form": spec.id, "agency": agency.id, "number": record.number,
                                      "request_id": request_id})
        lap("number")
        verify_url = f"{services.settings.base_url}/v/{record.serial}"
        context = template_context(spec, data, agency=agency, number=record.number, serial=record.serial,
                                   verify_url=verify_url, issued_on=now.date())
        docx = services.renderer.render(spec.template, context, qr_png(verify_url), template_source(services, template))
        lap("render")
        pdf = services.converter.convert(docx)
        lap("convert")
        pdf = services.signer.sign(
            pdf, SignatureRequest(spec=spec, agency=agency, serial=record.serial, number=record.number, verify_url=verify_url)
        )
        lap("sign")
        pdf_path = services.files.put(record.id, "pdf", pdf, now)
        docx_path = services.files.put(record.id, "docx", docx, now)
        issued = services.registry.complete(
            record.id,
            sha256=hashlib.sha256(pdf).hexdigest(),
            pdf_path=pdf_path,
            docx_path=docx_path,
            pdf_size=len(pdf),
            now=services.now(),
            awaiting=any(party.present(stored_data) for party in spec.signers),
        )
        lap("store")
    except ChengnuoError as exc:
        _void_failed(services, record, exc.message, principal, exc.code)
        # Conflict: an operator voided it meanwhile; StorageUnavailable: 503, the client may retry
        if isinstance(exc, (PipelineError, Conflict, StorageUnavailable)):
            raise
        raise PipelineError(exc.zh, exc.en, code=exc.code) from exc
    except Exception as exc:
        log.exception("issuing %s (%s) failed", record.serial, spec.id)
        _void_failed(services, record, f"内部错误 / internal error ({type(exc).__name__})", principal, "internal_error")
        raise PipelineError("文书生成失败（内部错误）", "issuing failed (internal error)") from exc
    services.metrics.observe_issue(spec.id, timings)
    services.audit.record(actor=principal.actor, action="issue", object=f"document:{issued.id}", outcome="success",
                          detail={"serial": issued.serial, "form": spec.id, "agency": agency.id, "number": issued.number,
                                  "request_id": request_id})
    log.info("issued %s %s number=%s in %.0f ms", spec.id, issued.serial, issued.number, sum(timings.values()) * 1000)
    document_issued(services, issued)  # records the webhooks' deliveries; never raises, never waits for a receiver
    if issued.status == "completed":  # nobody else signs this document: it is complete as issued
        document_completed(services, issued)
    return IssueResult(issued, timings=timings)


def template_source(services: Services, ref: TemplateRef | None) -> TemplateSource | None:
    """What the renderer needs for the agency's version ``ref`` (None: the built-in template)."""
    if ref is None:
        return None
    return TemplateSource(ref.sha256, lambda: services.templates.content(ref.agency, ref.form, ref.version) or b"")


def preview(services: Services, form_id: str, raw: Any, *, principal: Principal, agency_id: str | None = None) -> bytes:
    """The form rendered as a 样稿 from the agency's template in use: marked as a draft on every page, no number
    drawn, not signed, not registered. Raises what ``issue`` raises before numbering, and the conversion errors."""
    agency = services.agencies.get(agency_id or principal.default_agency())
    authorize_issue(principal, agency.id, form_id)
    spec, data = validate(form_id, raw, services.now().date(), agency)
    return draft_pdf(services, spec, data, agency, template_source(services, services.templates.current(agency.id, spec.id)))


def draft_context(spec: FormSpec, data: Mapping[str, Any], agency: Agency, today: dt.date) -> dict[str, Any]:
    """The template context of a 样稿: no number, no serial, nothing to verify."""
    return template_context(spec, data, agency=agency, number="（样稿，未编号）" if spec.number_kind else None,
                            serial="样稿 · 未登记", verify_url="样稿不可核验 / a draft cannot be verified", issued_on=today)


def draft_pdf(services: Services, spec: FormSpec, data: Mapping[str, Any], agency: Agency, source: TemplateSource | None) -> bytes:
    """Validated ``data`` rendered from ``source`` (None: the built-in template) as a 样稿, marked as a draft."""
    context = draft_context(spec, data, agency, services.now().date())
    docx = services.renderer.render(spec.template, context, qr_png("样稿 未签发 不可核验 / DRAFT, NOT ISSUED"), source)
    return mark_draft(services.converter.convert(docx))


def _void_failed(services: Services, record: DocumentRecord, reason: str, principal: Principal, code: str) -> None:
    log.warning("voiding %s (%s): %s", record.serial, record.form, reason)
    services.metrics.failed.labels(form=record.form, error=code).inc()
    services.registry.void(record.id, f"签发失败 / issuing failed: {reason}", services.now())
    services.audit.record(actor=principal.actor, action="issue", object=f"document:{record.id}", outcome="failure",
                          detail={"serial": record.serial, "form": record.form, "agency": record.agency, "number": record.number,
                                  "error": code})
