"""Administrative assistance between agencies (002 四(六); 004 五(六); 附件7, 附件8).

A case's request (申请行政协助函) names the agency asked. When that agency is on this service, the request appears
in its incoming list (and as ``assistance.requested`` to its calling systems); its clerk answers with the
行政协助回复函, prefilled from the request and sealed and numbered by the agency that answers. When it is not, the
asking agency records the paper or PDF reply (a PDF is verified and the verdict kept). A written request (一) is
answered by a reply; a visit (二) by what the two staff sent found. Either way the finding flows back into the
asking case: its reply deadline is met (late if after the due date), and the case shows the finding.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .. import issuing, voiding
from ..agencies import Agency
from ..auth.principal import Principal
from ..errors import Conflict, Forbidden, InvalidData, NotFound, bilingual
from ..registry.assistance import AssistanceRecord
from ..registry.cases import CaseRecord, Change
from ..registry.documents import DocumentRecord
from ..runtime import Services
from ..verifying.report_schema import VerificationReportSchema
from ..webhooks import publish
from .steps import apply_change, authorize_handle, step_day, today_of

log = logging.getLogger(__name__)

FINDINGS = {"true": "真实", "false": "虚假", "cannot_assist": "无法提供协助", "not_ours": "不属于本部门应当掌握的内容"}
_ON_THE_FORM = {"true": "真实", "false": "虚假", "cannot_assist": "无法提供协助", "not_ours": "无法提供协助"}
REQUEST_FORMS = {"assistance-request-written": "written", "assistance-request-visit": "visit"}


@dataclass(frozen=True)
class Answered:
    request: AssistanceRecord
    document: DocumentRecord | None = None


def _hidden(request_id: str) -> NotFound:
    return NotFound(f"协助请求 {request_id} 不存在", f"assistance request {request_id} does not exist", code="assistance_not_found")


def agency_named(services: Services, name: str) -> Agency | None:
    """The agency on this service that ``name`` (as a letter addresses it) is, if any."""
    name = name.strip()
    return next((agency for agency in services.agencies.by_id.values() if agency.name == name), None)


def readable(services: Services, principal: Principal, request_id: str) -> AssistanceRecord:
    """The request, for those acting for the agency that asked or the one asked; NotFound for anyone else."""
    try:
        record = services.assistance.get(request_id)
    except NotFound:
        raise _hidden(request_id) from None
    sides = [record.from_agency, *([record.to_agency] if record.to_agency else [])]
    if principal.role == "public" or not any(principal.acts_for(agency) for agency in sides):
        raise _hidden(request_id)
    return record


def data(services: Services, record: AssistanceRecord) -> dict[str, Any]:
    """An assistance event's ``assistance``: which request, between whom, and its answer; never the applicant."""
    base = services.settings.base_url
    return {"id": record.id, "from_agency": record.from_agency, "to_agency": record.to_agency, "addressee": record.addressee,
            "kind": record.kind, "number": record.number, "letter_date": record.letter_date, "reply_days": record.reply_days,
            "state": record.state, "finding": record.finding, "links": {"self": f"{base}/api/v1/assistance/{record.id}"}}


def record_request(services: Services, actor: str, case: CaseRecord, document: DocumentRecord, raw: Mapping[str, Any]) -> AssistanceRecord:
    """Called once a case's request is issued: records it, and tells the agency asked when it is on the service."""
    asked = agency_named(services, raw["addressee"])
    record = services.assistance.add(
        case_id=case.id, request_document_id=document.id, from_agency=case.agency, to_agency=asked.id if asked else None,
        addressee=raw["addressee"], kind=REQUEST_FORMS[document.form], number=document.number, letter_date=str(raw["letter_date"]),
        reply_days=raw.get("reply_days"), now=services.now())
    services.audit.record(actor=actor, action="assistance.request", object=f"assistance:{record.id}", outcome="success",
                          detail={"case": case.number, "from": case.agency, "to": record.to_agency or record.addressee,
                                  "document": document.id, "number": document.number})
    if asked is not None:
        publish(services, "assistance.requested", {"assistance": data(services, record)}, agency=asked.id, form=None)
    return record


def incoming(services: Services, principal: Principal, agency_id: str | None = None, state: str | None = None) -> list[AssistanceRecord]:
    """The requests addressed to the principal's agencies (or to ``agency_id``), newest first."""
    if principal.role == "public":
        return []
    agencies = principal.agencies
    if agency_id is not None:
        agencies = frozenset({agency_id}) if principal.acts_for(agency_id) else frozenset()
    return services.assistance.incoming(agencies, state=state)


def request_document(services: Services, record: AssistanceRecord) -> DocumentRecord:
    return services.registry.get(record.request_document_id)


def _require_open(record: AssistanceRecord) -> None:
    if record.state != "open":
        raise Conflict("该协助请求已答复", "the assistance request has been answered already", code="assistance_answered")


def _open_for(services: Services, principal: Principal, request_id: str, side: str) -> AssistanceRecord:
    record = readable(services, principal, request_id)
    agency = record.to_agency if side == "to" else record.from_agency
    if agency is None:
        raise Conflict("被请求部门不在本服务上，请由请求部门登记其书面答复", "the agency asked is not on this service: the asking agency "
                       "records its reply", code="assistance_outside")
    authorize_handle(principal, agency)
    _require_open(record)
    return record


def reply_fixed(services: Services, principal: Principal, request_id: str) -> dict[str, Any]:
    """What the reply (附件8) takes from the request: the addressee, the request's date and number, the applicant and
    the committed items. Raises NotFound, Forbidden, Conflict (answered, or not addressed to this service)."""
    record = _open_for(services, principal, request_id, "to")
    request = request_document(services, record).data
    return {"addressee": services.agencies.get(record.from_agency).name, "request_date": record.letter_date,
            "applicant": request["applicant"], "items": list(request["items"]), "request_number": record.number or ""}


def reply_fixed_if_answering(services: Services, principal: Principal, record: AssistanceRecord) -> dict[str, Any] | None:
    """``reply_fixed`` for a page or an answer that shows the request: only while it is open and ``principal`` may
    answer it; None otherwise."""
    if record.state != "open" or not record.to_agency or not principal.acts_for(record.to_agency):
        return None
    try:
        return reply_fixed(services, principal, record.id)
    except (Forbidden, Conflict):
        return None


def _finding_fields(data: Mapping[str, Any]) -> dict[str, Any]:
    finding = data["finding"]
    reason = (data.get("reason") or "").strip()
    refer_to = (data.get("refer_to") or "").strip()
    if finding == "cannot_assist" and not reason:
        raise InvalidData({"reason": [bilingual("无法提供协助的，须书面说明理由（002 四(六)）", "say why assistance cannot be given")]})
    if finding == "not_ours":
        if not refer_to:
            raise InvalidData({"refer_to": [bilingual("不属于本部门掌握的内容时，须写明建议请予以协助的单位（附件8 备注）",
                                                      "name the unit to ask instead")]})
        reason = reason or "该事项不属于本部门应当掌握的内容"
    if finding in ("true", "false") and (reason or refer_to):
        raise InvalidData({"reason" if reason else "refer_to": [bilingual("核实结论为真实或虚假时不填此项", "only when assistance cannot be given")]})
    return {"finding": finding, "reason": reason or None, "refer_to": refer_to or None}


def reply(services: Services, principal: Principal, request_id: str, body: Mapping[str, Any], *,
          request_ref: str | None = None) -> Answered:
    """The agency asked answers on the service: its 行政协助回复函, sealed and numbered in its own 函字 sequence, then the
    finding flows back into the asking case. Raises NotFound, Forbidden, Conflict, InvalidData, and what issuing raises."""
    fixed = reply_fixed(services, principal, request_id)
    record = services.assistance.get(request_id)
    answer = _finding_fields(body)
    reply_date = step_day(body.get("reply_date"), services, "reply_date")
    raw = {**fixed, "finding": _ON_THE_FORM[answer["finding"]], "reply_date": reply_date.isoformat()}
    if answer["reason"] and answer["finding"] in ("cannot_assist", "not_ours"):
        raw["cannot_assist_reason"] = answer["reason"]
    if answer["refer_to"]:
        raw["refer_to"] = answer["refer_to"]
    document = issuing.issue(services, "assistance-reply", raw, principal=principal, agency_id=record.to_agency, request_id=request_ref).document
    try:
        answered = services.assistance.answer(request_id, {**answer, "reply_document_id": document.id, "reply_number": document.number,
                                                           "reply_date": reply_date.isoformat(), "answered_by": principal.actor},
                                              services.now())
    except Conflict:
        voiding.void(services, principal, document.id, "协助请求已由他人答复 / the request was answered meanwhile", force=True)
        raise
    _answered(services, principal.actor, answered)
    return Answered(answered, document)


def record_external_reply(services: Services, principal: Principal, request_id: str, body: Mapping[str, Any],
                          pdf: bytes | None = None) -> Answered:
    """The asking agency records the reply of an agency outside the service: its number, date and finding; an uploaded
    PDF is verified and kept with its verdict."""
    record = readable(services, principal, request_id)
    authorize_handle(principal, record.from_agency)
    if record.to_agency is not None:
        raise Conflict("被请求部门在本服务上，应由其在线答复", "the agency asked is on this service and answers here", code="assistance_on_service")
    _require_open(record)
    answer = _finding_fields(body)
    reply_date = step_day(body.get("reply_date"), services, "reply_date")
    values: dict[str, Any] = {**answer, "reply_number": body["reply_number"], "reply_date": reply_date.isoformat(),
                              "answered_by": principal.actor}
    if pdf is not None:
        from ..verification import verify

        report = verify(services, principal, pdf)
        values.update(reply_file=services.files.put(f"assistance-{record.id}", "pdf", pdf, services.now()),
                      reply_sha256=hashlib.sha256(pdf).hexdigest(), reply_verdict=VerificationReportSchema().dump(report))
    answered = services.assistance.answer(request_id, values, services.now())
    _answered(services, principal.actor, answered)
    return Answered(answered)


def record_visit(services: Services, principal: Principal, request_id: str, body: Mapping[str, Any]) -> Answered:
    """A visit (二): the asking agency records what its two staff found there."""
    record = readable(services, principal, request_id)
    authorize_handle(principal, record.from_agency)
    if record.kind != "visit":
        raise Conflict("这是书面协助请求，不是派员调查核实", "this is a written request, not a visit", code="assistance_kind")
    _require_open(record)
    answer = _finding_fields(body)
    visited_on = step_day(body.get("reply_date"), services, "reply_date")
    staff = list(request_document(services, record).data.get("staff", []))
    answered = services.assistance.answer(request_id, {**answer, "reply_date": visited_on.isoformat(), "answered_by": principal.actor,
                                                       "visit": {"staff": staff, "outcome": body["outcome"]}}, services.now())
    _answered(services, principal.actor, answered)
    return Answered(answered)


def _answered(services: Services, actor: str, record: AssistanceRecord) -> None:
    """Audits the answer, tells both agencies, and carries the finding into the asking case."""
    services.audit.record(actor=actor, action="assistance.answer", object=f"assistance:{record.id}", outcome="success",
                          detail={"finding": record.finding, "reply_number": record.reply_number, "reply_date": record.reply_date,
                                  "document": record.reply_document_id, "verdict": (record.reply_verdict or {}).get("verdict")})
    for agency in {record.from_agency, record.to_agency} - {None}:
        publish(services, "assistance.answered", {"assistance": data(services, record)}, agency=agency, form=None)  # type: ignore[arg-type]
    fact = {"finding": record.finding, "label": FINDINGS[record.finding or "true"], "reply_number": record.reply_number,
            "reply_date": record.reply_date, "from": record.addressee, "reason": record.reason, "refer_to": record.refer_to,
            "visit": record.visit, "verdict": (record.reply_verdict or {}).get("verdict")}
    for _ in range(5):  # the case may be changed by a step at the same moment: read it again and retry
        case = services.cases.get(record.case_id)
        change = Change(facts={"assistance": {**case.facts.get("assistance", {}), record.id: fact}},
                        done=[("assistance_reply", record.request_document_id)], done_on=dt.date.fromisoformat(record.reply_date or
                                                                                                             today_of(services).isoformat()))
        try:
            apply_change(services, actor, case, change, "assistance_answered", "case.assistance_answered",
                         {"request": record.id, "finding": FINDINGS[record.finding or "true"], "reply_number": record.reply_number})
            return
        except Conflict:
            continue
    log.error("the answer to assistance request %s could not be carried into case %s: it changed five times meanwhile",
              record.id, record.case_id)
