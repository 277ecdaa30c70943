"""The procedure's steps. Each is a guarded change of a case's state: it checks the state allows it (else
Conflict naming the state), changes the case and its deadlines in one compare-and-set transaction, records
who, when and why in the audit chain (``case:{id}``), and sends a ``case.*`` event.

A document issued inside a case is issued first and then bound to the case's change; if either fails the
case stays as it was, and the drawn number is voided with the reason (``issuing`` does it for a failed
issue; here for a case that changed meanwhile). The voided document stays listed with the case.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .. import issuing, voiding
from ..auth.principal import Principal
from ..errors import (
    ChengnuoError,
    Conflict,
    Forbidden,
    InvalidData,
    InvalidRequest,
    NotFound,
    bilingual,
)
from ..forms import get_form
from ..registry.cases import CaseRecord, Change, NewDeadline
from ..registry.catalog import CatalogItemRecord
from ..registry.documents import ISSUED, DocumentRecord
from ..runtime import Services
from ..webhooks import case_event
from . import deadlines
from .applicants import identity_key, masked
from .prefill import form_data, layers
from .vocabulary import (
    BEFORE_DECISION,
    CHANNELS,
    COMMITMENT_TYPES,
    CREDIT_RESULTS,
    DECISIONS,
    FALSE_OUTCOMES,
    LETTER_FORM,
    OUTCOMES,
    REMOTE_CHANNELS,
    RESULTS,
    STATES,
    VERIFICATION_FORMS,
)

log = logging.getLogger(__name__)
HANDLERS = ("system", "clerk", "supervisor", "operator")


@dataclass(frozen=True)
class StepResult:
    case: CaseRecord
    document: DocumentRecord | None = None


def _hidden(case_id: str) -> NotFound:
    return NotFound(f"办件 {case_id} 不存在", f"case {case_id} does not exist", code="case_not_found")


def authorize_handle(principal: Principal, agency_id: str) -> None:
    """Raises Forbidden: only those acting for the agency take a case's steps."""
    if principal.role not in HANDLERS:
        raise Forbidden("您的角色不能办理办件", f"the role {principal.role} cannot handle cases")
    if not principal.acts_for(agency_id):
        raise Forbidden(f"无权办理行政机关 {agency_id} 的办件", f"not allowed to handle cases of agency {agency_id}")


def readable_case(services: Services, principal: Principal, case_id: str) -> CaseRecord:
    """The case, for a principal who may see it (its agency's people and keys, administrators); NotFound otherwise."""
    try:
        case = services.cases.get(case_id)
    except NotFound:
        raise _hidden(case_id) from None
    if principal.role == "public" or not principal.acts_for(case.agency):
        raise _hidden(case_id)
    return case


def _handled_case(services: Services, principal: Principal, case_id: str) -> CaseRecord:
    case = readable_case(services, principal, case_id)
    authorize_handle(principal, case.agency)
    return case


def _require(case: CaseRecord, allowed: tuple[str, ...], zh_step: str, en_step: str) -> None:
    if case.state not in allowed:
        raise Conflict(f"办件当前状态为“{STATES[case.state]}”（{case.state}），不能{zh_step}",
                       f"the case is {case.state} ({STATES[case.state]}): it cannot {en_step} now", code="case_state")


def _today(services: Services) -> dt.date:
    return services.now().date()


def _day(value: dt.date | None, services: Services, field: str) -> dt.date:
    """A step's date: given, or today; never in the future."""
    today = _today(services)
    if value is None:
        return today
    if value > today:
        raise InvalidData({field: [bilingual("日期不能晚于今天", "the date cannot be in the future")]})
    return value


def _record(services: Services, actor: str, case: CaseRecord, step: str, detail: Mapping[str, Any],
            before: str | None = None) -> None:
    services.audit.record(actor=actor, action=f"case.{step}", object=f"case:{case.id}", outcome="success",
                          detail={"number": case.number, "agency": case.agency, "from": before or case.state, "to": case.state, **detail})


def _apply(services: Services, actor: str, case: CaseRecord, change: Change, step: str, event: str,
           detail: Mapping[str, Any]) -> CaseRecord:
    updated = services.cases.apply(case, change, services.now())
    _record(services, actor, updated, step, detail, before=case.state)
    case_event(services, event, updated, step=step)
    log.info("case %s: %s (%s → %s)", updated.number, step, case.state, updated.state)
    return updated


# --- receipt ----------------------------------------------------------------------------------------


def _items_for(services: Services, principal: Principal, agency: str, ids: list[str], commitment_type: str) -> list[CatalogItemRecord]:
    items, errors = [], {}
    for n, item_id in enumerate(ids):
        try:
            record = services.catalog.get(item_id)
        except NotFound:
            record = None
        if record is None or record.agency != agency:
            errors[f"items.{n}"] = [bilingual("本机关的事项目录中没有这个事项", "no such item in the agency's catalogue")]
        elif record.retired_at is not None:
            errors[f"items.{n}"] = [bilingual(f"事项“{record.name}”已停用", f"the item “{record.name}” is retired")]
        elif commitment_type in ("proof", "permit") and record.kind != commitment_type:
            errors[f"items.{n}"] = [bilingual(f"“{COMMITMENT_TYPES[commitment_type]}”的办件不能办理此类事项",
                                              f"a {commitment_type} case cannot take a {record.kind} item")]
        else:
            items.append(record)
    if len({item.id for item in items}) != len(items):
        errors["items"] = [bilingual("事项重复", "an item is listed twice")]
    if errors:
        raise InvalidData(errors)
    return items


@dataclass(frozen=True)
class Opened:
    case: CaseRecord
    replayed: bool = False  # an earlier request with the same Idempotency-Key made it


def _request_hash(data: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()


def open_case(services: Services, principal: Principal, data: Mapping[str, Any], *, idempotency_key: str | None = None) -> Opened:
    """A case for one application, ``received``, safe to retry: the same ``idempotency_key`` (scoped to the caller) with
    the same data gives the case the first request made (``replayed``); with other data, Conflict. ``data`` as
    ``inputs.CaseCreateSchema`` loads it.

    Raises NotFound (agency), Forbidden, InvalidData (items not in the agency's catalogue, a proxy an item does
    not allow, a date in the future), InvalidRequest (a bad key), Conflict (a key reused with other data)."""
    idempotency = None
    if idempotency_key is not None:
        if not 1 <= len(idempotency_key) <= 200 or not idempotency_key.isprintable():
            raise InvalidRequest("Idempotency-Key 须为 1–200 个可打印字符", "Idempotency-Key must be 1–200 printable characters")
        idempotency = (hashlib.sha256(f"{principal.kind}:{principal.id}\x1f{idempotency_key}".encode()).hexdigest(), _request_hash(data))
        earlier = services.cases.by_idempotency_key(idempotency[0])
        if earlier is not None:
            return _replay(services, principal, earlier, idempotency[1])
    case, created = _create(services, principal, data, idempotency)
    return Opened(case) if created else _replay(services, principal, case, idempotency[1] if idempotency else "")


def _replay(services: Services, principal: Principal, earlier: CaseRecord, fingerprint: str) -> Opened:
    if earlier.request_hash != fingerprint:
        raise Conflict("该 Idempotency-Key 已用于内容不同的请求", "this Idempotency-Key was already used with a different request body",
                       code="idempotency_key_reused")
    return Opened(readable_case(services, principal, earlier.id), replayed=True)


def create_case(services: Services, principal: Principal, data: Mapping[str, Any]) -> CaseRecord:
    """``open_case`` without an idempotency key."""
    return open_case(services, principal, data).case


def _create(services: Services, principal: Principal, data: Mapping[str, Any],
            idempotency: tuple[str, str] | None) -> tuple[CaseRecord, bool]:
    agency = services.agencies.get(data.get("agency") or principal.default_agency())
    authorize_handle(principal, agency.id)
    received = _day(data["received_on"], services, "received_on")
    items = _items_for(services, principal, agency.id, list(data["items"]), data["commitment_type"])
    applicant = dict(data["applicant"])
    if applicant.get("proxy"):
        refusing = [item.name for item in items if not item.data["proxy_allowed"]]
        if refusing:
            raise InvalidData({"applicant.proxy": [bilingual(f"事项“{'、'.join(refusing)}”不可代为承诺",
                                                             f"these items may not be committed to by proxy: {', '.join(refusing)}")]})
    first: list[NewDeadline] = []
    if data["channel"] in REMOTE_CHANNELS:
        first.append(deadlines.working("letter", received, deadlines.LETTER_DAYS))
    facts: dict[str, Any] = {}
    if data.get("tolerance"):
        tolerance = data["tolerance"]
        facts["tolerance"] = {"missing_materials": list(tolerance["missing_materials"]), "supply_by": tolerance["supply_by"].isoformat()}
        first.append(deadlines.on_date("materials", received, tolerance["supply_by"]))
    if data.get("note"):
        facts["note"] = data["note"]
    case, created = services.cases.create(
        agency=agency.id, prefix=agency.case_prefix, actor=principal.actor, now=services.now(), deadlines=first,
        idempotency_key=idempotency[0] if idempotency else None, request_hash=idempotency[1] if idempotency else None,
        values={
            "state": "received", "procedure": "commitment", "commitment_type": data["commitment_type"], "channel": data["channel"],
            "received_on": received.isoformat(), "applicant": applicant, "applicant_name": applicant["name"],
            "applicant_key": identity_key(services.persons.id_hash, applicant), "facts": facts,
            "items": [{"id": item.id, "version": item.version, "name": item.name} for item in items],
        },
    )
    if not created:
        return case, False
    _record(services, principal.actor, case, "created", {"applicant": masked(applicant)["name"], "channel": CHANNELS[case.channel],
                                                   "commitment_type": case.commitment_type, "items": case.items}, before="")
    case_event(services, "case.created", case, step="created")
    return case, True


# --- 信用核查 ------------------------------------------------------------------------------------------


def credit_check(services: Services, principal: Principal, case_id: str, data: Mapping[str, Any]) -> CaseRecord:
    """Records the credit check. A bad result — or an earlier false commitment on the service's own record, whatever
    the result given — moves the case to the ordinary procedure (002 四(二); 000 四(一))."""
    case = _handled_case(services, principal, case_id)
    _require(case, ("received",), "进行信用核查", "take a credit check")
    checked_on = _day(data.get("checked_on"), services, "checked_on")
    result = data["result"]
    own = services.cases.false_commitments(case.applicant_key, excluding=case.id)
    found = [c.number for c in own]
    if found:
        result = "false_commitment"
    check = {"result": result, "given": data["result"], "source": data["source"], "checked_on": checked_on.isoformat(),
             "own_record": found, "note": data.get("note") or ""}
    if result == "good":
        change = Change(state="credit_checked", facts={"credit_check": check})
    else:
        reason = (f"本服务记录显示申请人曾作出虚假承诺（办件 {'、'.join(found)}）" if found else CREDIT_RESULTS[result])
        check["reason"] = reason
        change = Change(state="ordinary", procedure="ordinary", facts={"credit_check": check},
                        done=[("letter", None)], done_on=checked_on)
    return _apply(services, principal.actor, case, change, "credit_check", "case.credit_checked",
                  {"result": result, "source": data["source"], "own_record": found})


# --- documents: 告知 and 核查 ---------------------------------------------------------------------------


def _case_item(services: Services, case: CaseRecord, item_id: str | None, candidates: list[dict[str, Any]]) -> CatalogItemRecord:
    if not item_id:
        if len(candidates) != 1:
            raise InvalidData({"item": [bilingual("办件有多个事项，请指明事项编号", "the case has several items: name the item")]})
        item_id = candidates[0]["id"]
    if item_id not in {item["id"] for item in candidates}:
        raise InvalidData({"item": [bilingual("这个事项不属于本办件，或不用此表单核查", "not an item of this case, or not verified with this form")]})
    return services.catalog.get(item_id)


def _letters(documents: list[DocumentRecord], form: str) -> list[DocumentRecord]:
    return [d for d in documents if d.form == form and d.status in ISSUED]


def _letter_data(services: Services, case: CaseRecord, item_id: str) -> dict[str, Any]:
    for document in _letters(services.cases.documents(case.id), LETTER_FORM[case.commitment_type]):
        if any(entry.get("id") == item_id for entry in document.catalog_items or ()):
            return dict(document.data)
    return {}


def _paper(services: Services, principal: Principal, case_id: str, form: str,
           item_id: str | None) -> tuple[CaseRecord, CatalogItemRecord, dict[str, Any]]:
    """The case, the item and the letter's data a paper of ``form`` would be filled from, if its state allows it now."""
    case = _handled_case(services, principal, case_id)
    get_form(form)
    if form == LETTER_FORM[case.commitment_type]:
        _require(case, ("credit_checked", "notified"), "再发告知承诺书", "issue its letter")
        live = {entry["id"] for d in _letters(services.cases.documents(case.id), form) for entry in (d.catalog_items or ())}
        pending = [item for item in case.items if item["id"] not in live]
        if not pending:
            raise Conflict("本办件的告知承诺书都已发出（作废后才能重发）", "every letter of this case is issued (void one to issue it again)",
                           code="case_state")
        return case, _case_item(services, case, item_id, pending), {}
    plans = [(entry, services.catalog.version(entry["id"], entry["version"])) for entry in case.items]
    fitting = [entry for entry, record in plans if form in VERIFICATION_FORMS.get(record.data["verification"]["method"], ())]
    if not fitting:
        raise InvalidData({"form": [bilingual("本办件事项的核查方式不用这种表单", "the case's items are not verified with this form")]})
    _require(case, ("decided", "verifying", "rectifying"), "开始核查（须先作出准予决定）", "start a verification (decide first)")
    item = _case_item(services, case, item_id, fitting)
    return case, item, {"letter": _letter_data(services, case, item.id)}


@dataclass(frozen=True)
class Paper:
    """A paper as the case would fill it: ``fixed`` by the case and the catalogue, ``defaults`` a clerk may change;
    ``locked`` names every field the clerk may not fill, also those the case leaves out on purpose (no proxy)."""

    case: CaseRecord
    form: str
    item: CatalogItemRecord
    fixed: dict[str, Any]
    defaults: dict[str, Any]
    locked: frozenset[str]


def prefill(services: Services, principal: Principal, case_id: str, form: str, item_id: str | None) -> Paper:
    """What ``issue_document`` would fill in, for the page that opens the form; raises what it raises before issuing."""
    case, item, context = _paper(services, principal, case_id, form, item_id)
    fixed, defaults = layers(form, case, item.data, services.agencies.get(case.agency), _today(services), context)
    return Paper(case, form, item, {k: v for k, v in fixed.items() if v is not None}, defaults, frozenset(fixed))


def preview_document(services: Services, principal: Principal, case_id: str, form: str, item_id: str | None,
                     data: Mapping[str, Any] | None) -> bytes:
    """The paper as ``issue_document`` would issue it, as a 样稿 (no number drawn, nothing recorded)."""
    case, item, context = _paper(services, principal, case_id, form, item_id)
    raw = form_data(form, case, item.data, services.agencies.get(case.agency), _today(services), data, context)
    return issuing.preview(services, form, raw, principal=principal, agency_id=case.agency)


def issue_document(services: Services, principal: Principal, case_id: str, form: str, item_id: str | None,
                   data: Mapping[str, Any] | None, *, idempotency_key: str | None = None, request_id: str | None = None) -> StepResult:
    """Issues ``form`` for the case, filled from the case and its catalogue item: the case's letter (告知) while the
    credit check has passed, or a verification paper of the item's plan (核查) once decided.

    Raises NotFound, Forbidden, Conflict (the state does not allow it), InvalidData, and what ``issuing.issue`` raises."""
    case, item, context = _paper(services, principal, case_id, form, item_id)
    letter_form = LETTER_FORM[case.commitment_type]
    raw = form_data(form, case, item.data, services.agencies.get(case.agency), _today(services), data, context)
    provenance = issuing.Provenance(case_id=case.id, catalog_items=({"id": item.id, "version": item.version},))
    result = issuing.issue(services, form, raw, principal=principal, agency_id=case.agency, idempotency_key=idempotency_key,
                           request_id=request_id, provenance=provenance)
    document = result.document
    if result.replayed:
        return StepResult(services.cases.get(case.id), document)
    if form == letter_form:
        change = Change(state="notified", done=[("letter", None)], facts={"letters": {**case.facts.get("letters", {}), item.id: document.id}})
        step, event = "letter", "case.notified"
    else:
        added = []
        if form == "assistance-request-written":
            added.append(deadlines.working("assistance_reply", dt.date.fromisoformat(raw["letter_date"]), int(raw["reply_days"]),
                                           ref=document.id))
        change = Change(state="verifying" if case.state == "decided" else None, deadlines=added)
        step, event = "verification_document", "case.verification_started"
    try:
        updated = _apply(services, principal.actor, case, change, step, event,
                         {"document": document.id, "form": form, "serial": document.serial, "document_number": document.number,
                          "item": {"id": item.id, "version": item.version}})
    except Conflict:
        voiding.void(services, principal, document.id, "办件已被同时处理，此文书未计入办件 / the case changed meanwhile", force=True)
        raise
    return StepResult(updated, document)


def on_document_completed(services: Services, actor: str, document: DocumentRecord) -> None:
    """A case's letter is signed by every party: once every item's letter is, the case is ``committed`` (承诺). A
    涉企经营许可 is then decided on the spot (004 五(四)): its decision is due the same day. Never raises."""
    if not document.case_id:
        return
    try:
        case = services.cases.get(document.case_id)
        letter_form = LETTER_FORM[case.commitment_type]
        if document.form != letter_form or case.state != "notified":
            return
        signed = {entry["id"] for d in services.cases.documents(case.id) if d.form == letter_form and d.status == "completed"
                  for entry in (d.catalog_items or ())}
        if not all(item["id"] in signed for item in case.items):
            return
        today = _today(services)
        added = [deadlines.working("decision", today, 0)] if case.commitment_type == "permit" else []
        _apply(services, actor, case, Change(state="committed", deadlines=added, facts={"committed_on": today.isoformat()}),
               "committed", "case.committed", {"document": document.id})
    except ChengnuoError as exc:
        log.warning("case of document %s not advanced after its signature: %s", document.id, exc.message)
    except Exception:
        log.exception("case of document %s not advanced after its signature", document.id)


# --- 决定 ---------------------------------------------------------------------------------------------


def decide(services: Services, principal: Principal, case_id: str, data: Mapping[str, Any]) -> CaseRecord:
    """准予 or 不予: on the signed commitment, or at the end of the ordinary procedure."""
    case = _handled_case(services, principal, case_id)
    _require(case, ("committed", "ordinary"), "作出决定（须先签署承诺书）", "be decided (the commitment must be signed first)")
    decided_on = _day(data.get("decided_on"), services, "decided_on")
    decision = data["decision"]
    facts = {"decision": {"decision": decision, "decided_on": decided_on.isoformat(), "reason": data.get("reason") or ""}}
    if case.state == "ordinary":
        change = Change(state="closed", outcome=f"ordinary_{'granted' if decision == 'grant' else 'refused'}", facts=facts)
    else:
        added = [deadlines.working("credit_report", decided_on, deadlines.CREDIT_REPORT_DAYS)]
        if decision == "grant":
            for entry in case.items:
                plan = services.catalog.version(entry["id"], entry["version"]).data["verification"]
                if plan["method"] != "exempt":
                    added.append(deadlines.working("verification", decided_on, int(plan["days"]), ref=entry["id"]))
            change = Change(state="decided", facts=facts, deadlines=added, done=[("decision", None)], done_on=decided_on)
        else:
            change = Change(state="closed", outcome="refused", facts=facts, deadlines=added, done=[("decision", None)], done_on=decided_on)
    return _apply(services, principal.actor, case, change, "decision", "case.decided",
                  {"decision": DECISIONS[decision], "reason": data.get("reason") or ""})


# --- 核查结果 ------------------------------------------------------------------------------------------


def _latest_onsite(services: Services, case: CaseRecord) -> DocumentRecord | None:
    records = [d for d in services.cases.documents(case.id) if d.form == "onsite-verification" and d.status in ISSUED]
    return records[-1] if records else None


def record_verification(services: Services, principal: Principal, case_id: str, data: Mapping[str, Any]) -> CaseRecord:
    """属实, 不实, or 限期整改 with its working days — by default those the on-site record set, counted from its date."""
    case = _handled_case(services, principal, case_id)
    _require(case, ("verifying", "rectifying"), "记录核查结果（须先发出核查文书）", "record a verification result (issue a verification paper first)")
    found_on = _day(data.get("found_on"), services, "found_on")
    result = data["result"]
    met = [("verification", None), ("assistance_reply", None), ("rectification", None)]
    fact = {"result": result, "found_on": found_on.isoformat(), "note": data.get("note") or ""}
    if result == "rectify":
        onsite = _latest_onsite(services, case)
        days, start = data.get("days"), found_on
        if onsite is not None and onsite.data.get("days"):
            days = days or int(onsite.data["days"])
            start = dt.date.fromisoformat(onsite.data["record_date"])
            fact["record"] = onsite.id
        if not days:
            raise InvalidData({"days": [bilingual("限期整改须写明整改期限（工作日），或先出具写明期限的现场核验记录单",
                                                  "give the working days allowed, or issue an on-site record that sets them")]})
        fact["days"] = days
        deadline = deadlines.working("rectification", start, int(days), ref=fact.get("record"))
        change = Change(state="rectifying", facts={"verification": fact}, deadlines=[deadline],
                        done=[("verification", None), ("assistance_reply", None), ("rectification", None)], done_on=found_on)
    else:
        change = Change(state="verified" if result == "true" else "false_found", facts={"verification": fact}, done=met, done_on=found_on)
    return _apply(services, principal.actor, case, change, "verification_result", "case.verified",
                  {"result": RESULTS[result], "note": data.get("note") or "", "days": fact.get("days")})


# --- 撤回, 结案, 容缺材料, 归集, 投诉 ---------------------------------------------------------------------------


def withdraw(services: Services, principal: Principal, case_id: str, data: Mapping[str, Any]) -> CaseRecord:
    """The applicant withdraws the commitment before the decision (002 四(二); 004 五(八)): the case goes on by the
    ordinary procedure, and a letter still awaiting signatures is voided."""
    case = _handled_case(services, principal, case_id)
    _require(case, BEFORE_DECISION, "撤回承诺（作出决定后不能撤回）", "be withdrawn (not after the decision)")
    on = _day(data.get("withdrawn_on"), services, "withdrawn_on")
    updated = _apply(services, principal.actor, case,
                     Change(state="ordinary", procedure="ordinary", done=[("letter", None), ("decision", None)], done_on=on,
                            facts={"withdrawal": {"reason": data["reason"], "withdrawn_on": on.isoformat()}}),
                     "withdrawal", "case.withdrawn", {"reason": data["reason"]})
    for document in services.cases.documents(case.id):
        if document.form == LETTER_FORM[case.commitment_type] and document.status == "awaiting_signatures":
            voiding.void(services, principal, document.id, f"申请人撤回承诺 / the applicant withdrew: {data['reason']}", force=True)
    return updated


def _close_allowed(services: Services, case: CaseRecord, outcome: str) -> None:
    if outcome == "fulfilled":
        exempt = all(services.catalog.version(e["id"], e["version"]).data["verification"]["method"] == "exempt" for e in case.items)
        _require(case, ("verified", "decided") if exempt else ("verified",), "以履约结案（须核查属实）", "close as fulfilled (verify first)")
    elif outcome in ("revoked", "terminated"):
        _require(case, ("false_found",), f"以“{OUTCOMES[outcome]}”结案（须核查不实）", f"close as {outcome} (a false commitment must be found)")
    elif outcome == "returned":
        _require(case, ("committed", "decided", "verifying", "rectifying", "verified"), "终止退件", "be returned")
        materials = case.facts.get("materials") or {}
        due = next((d for d in services.cases.deadlines(case.id) if d.kind == "materials"), None)
        if due is None:
            raise Conflict("只有容缺受理的办件才能终止退件", "only a case accepted with missing materials can be returned", code="case_state")
        if due.done_on is not None or materials.get("supplied_on"):
            raise Conflict("容缺材料已补齐，不能终止退件", "the missing materials were supplied", code="case_state")
        if dt.date.fromisoformat(due.due_on) >= _today(services):
            raise Conflict(f"容缺补正时限（{due.due_on}）尚未届满", f"the materials are not overdue yet (due {due.due_on})", code="case_state")
        if not materials.get("reminded_on"):
            raise Conflict("须先催告，经催告仍未补齐的才能终止退件（扎兰屯“信易批” 三.5）",
                           "send a reminder (催告) first: only materials still missing after it end the case", code="case_state")
    else:
        raise InvalidData({"outcome": [bilingual("结案方式应为履约、撤销行政决定、终止办理或终止退件",
                                                 "close as fulfilled, revoked, terminated or returned")]})


def close(services: Services, principal: Principal, case_id: str, data: Mapping[str, Any]) -> CaseRecord:
    """结案: 履约; 撤销行政决定 or 终止办理 on a false commitment (recorded as 失信); 终止退件 for 容缺 materials not
    supplied after a reminder (also 失信, 003 三.5)."""
    case = _handled_case(services, principal, case_id)
    outcome = data["outcome"]
    if case.state == "closed":
        _require(case, (), "再结案", "be closed again")
    _close_allowed(services, case, outcome)
    false = outcome in FALSE_OUTCOMES
    if false and not (data.get("reason") or "").strip():
        raise InvalidData({"reason": [bilingual("须写明不实承诺或未补正的情形", "say what was false, or what was not supplied")]})
    closed_on = _day(data.get("closed_on"), services, "closed_on")
    facts: dict[str, Any] = {"closure": {"outcome": outcome, "closed_on": closed_on.isoformat(), "reason": data.get("reason") or ""}}
    if false:
        facts["false_record"] = {"outcome": OUTCOMES[outcome], "on": closed_on.isoformat(), "reason": data["reason"]}
    open_kinds = [(kind, None) for kind in ("verification", "assistance_reply", "rectification", "materials", "decision", "letter")]
    change = Change(state="closed", outcome=outcome, false_commitment=false or None, facts=facts, done=open_kinds, done_on=closed_on)
    return _apply(services, principal.actor, case, change, "close", "case.closed", {"outcome": OUTCOMES[outcome], "reason": data.get("reason") or ""})


def materials(services: Services, principal: Principal, case_id: str, data: Mapping[str, Any]) -> CaseRecord:
    """容缺 materials: supplied (the deadline is met), or a reminder (催告) sent."""
    case = _handled_case(services, principal, case_id)
    if case.commitment_type != "credit_tolerance":
        raise Conflict("只有容缺受理的办件才有容缺材料", "only a case accepted with missing materials has them", code="case_state")
    _require(case, ("received", "credit_checked", "notified", "committed", "decided", "verifying", "rectifying", "verified"),
             "登记容缺材料", "record materials")
    on = _day(data.get("on"), services, "on")
    current = dict(case.facts.get("materials") or {})
    if data["action"] == "supplied":
        current.update(supplied_on=on.isoformat(), note=data.get("note") or "")
        change = Change(facts={"materials": current}, done=[("materials", None)], done_on=on)
    else:
        current.update(reminded_on=on.isoformat(), reminder_note=data.get("note") or "")
        change = Change(facts={"materials": current})
    return _apply(services, principal.actor, case, change, f"materials_{data['action']}", "case.materials", {"action": data["action"]})


def credit_report(services: Services, principal: Principal, case_id: str, data: Mapping[str, Any]) -> CaseRecord:
    """The commitment and its result were reported to the credit platform (002 四(七))."""
    case = _handled_case(services, principal, case_id)
    if not case.facts.get("decision") or case.procedure != "commitment":
        raise Conflict("作出决定后才归集信用承诺信息", "the commitment is reported once decided", code="case_state")
    on = _day(data.get("reported_on"), services, "reported_on")
    reports = [*case.facts.get("credit_reports", []), {"reported_on": on.isoformat(), "reference": data["reference"]}]
    return _apply(services, principal.actor, case, Change(facts={"credit_reports": reports}, done=[("credit_report", None)], done_on=on),
                  "credit_report", "case.credit_reported", {"reference": data["reference"]})


def complaint(services: Services, principal: Principal, case_id: str, data: Mapping[str, Any]) -> CaseRecord:
    """A complaint about the case: to be handled within 5 working days (002 四(三)3)."""
    case = _handled_case(services, principal, case_id)
    on = _day(data.get("received_on"), services, "received_on")
    complaints = list(case.facts.get("complaints", []))
    ref = f"C{len(complaints) + 1}"
    complaints.append({"ref": ref, "received_on": on.isoformat(), "summary": data["summary"]})
    return _apply(services, principal.actor, case, Change(facts={"complaints": complaints},
                                                     deadlines=[deadlines.working("complaint", on, deadlines.COMPLAINT_DAYS, ref=ref)]),
                  "complaint", "case.complaint", {"ref": ref})


def complaint_resolved(services: Services, principal: Principal, case_id: str, ref: str, data: Mapping[str, Any]) -> CaseRecord:
    case = _handled_case(services, principal, case_id)
    complaints = [dict(c) for c in case.facts.get("complaints", [])]
    target = next((c for c in complaints if c["ref"] == ref), None)
    if target is None:
        raise NotFound(f"没有投诉举报 {ref}", f"no complaint {ref}", code="complaint_not_found")
    if target.get("resolved_on"):
        raise Conflict(f"投诉举报 {ref} 已处理", f"complaint {ref} is already handled", code="case_state")
    on = _day(data.get("resolved_on"), services, "resolved_on")
    target.update(resolved_on=on.isoformat(), result=data["result"])
    return _apply(services, principal.actor, case, Change(facts={"complaints": complaints}, done=[("complaint", ref)], done_on=on),
                  "complaint_resolved", "case.complaint", {"ref": ref})


# --- missed deadlines -------------------------------------------------------------------------------


def announce_missed_deadlines(services: Services) -> int:
    """Sends ``case.deadline_missed`` once for every deadline newly past due (any node may run it; each is claimed
    once). Returns how many were announced."""
    today = _today(services)
    announced = 0
    for deadline in services.cases.newly_missed(today):
        if not services.cases.mark_missed(deadline.id, services.now()):
            continue
        case = services.cases.get(deadline.case_id)
        services.audit.record(actor="service:deadlines", action="case.deadline_missed", object=f"case:{case.id}", outcome="success",
                              detail={"number": case.number, "kind": deadline.kind, "due_on": deadline.due_on, "ref": deadline.ref})
        case_event(services, "case.deadline_missed", case,
                   deadline={"kind": deadline.kind, "due_on": deadline.due_on, "source": deadline.source, "ref": deadline.ref})
        announced += 1
    return announced
