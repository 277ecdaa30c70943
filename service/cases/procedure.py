"""The procedure's steps after a case is opened (opening.py) and beside its papers (papers.py): 信用核查, 决定,
核查结果, 撤回承诺, 结案, 容缺 materials, the credit report, complaints, and the announcement of missed deadlines.
Each is a guarded change of state (steps.py): refused with Conflict naming the state when it does not allow it.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from typing import Any

from .. import voiding
from ..auth.principal import Principal
from ..errors import (
    Conflict,
    InvalidData,
    NotFound,
    bilingual,
)
from ..registry.cases import CaseRecord, Change
from ..registry.documents import ISSUED, DocumentRecord
from ..runtime import Services
from ..webhooks import case_event
from . import deadlines
from .steps import (
    apply_change,
    handled_case,
    require_state,
    retry_safe,
    step_day,
    today_of,
)
from .vocabulary import (
    BEFORE_DECISION,
    CREDIT_RESULTS,
    DECISIONS,
    FALSE_OUTCOMES,
    LETTER_FORM,
    OUTCOMES,
    RESULTS,
)

log = logging.getLogger(__name__)


# --- 信用核查 ------------------------------------------------------------------------------------------


@retry_safe
def credit_check(services: Services, principal: Principal, case_id: str, data: Mapping[str, Any]) -> CaseRecord:
    """Records the credit check. A bad result — or an earlier false commitment on the service's own record, whatever
    the result given — moves the case to the ordinary procedure (002 四(二); 000 四(一))."""
    case = handled_case(services, principal, case_id)
    require_state(case, ("received",), "进行信用核查", "take a credit check")
    checked_on = step_day(data.get("checked_on"), services, "checked_on")
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
    return apply_change(services, principal.actor, case, change, "credit_check", "case.credit_checked",
                        {"result": result, "source": data["source"], "own_record": found})


# --- 决定 ---------------------------------------------------------------------------------------------


@retry_safe
def decide(services: Services, principal: Principal, case_id: str, data: Mapping[str, Any]) -> CaseRecord:
    """准予 or 不予: on the signed commitment, or at the end of the ordinary procedure."""
    case = handled_case(services, principal, case_id)
    require_state(case, ("committed", "ordinary"), "作出决定（须先签署承诺书）", "be decided (the commitment must be signed first)")
    decided_on = step_day(data.get("decided_on"), services, "decided_on")
    decision = data["decision"]
    facts = {"decision": {"decision": decision, "decided_on": decided_on.isoformat(), "reason": data.get("reason") or ""}}
    if case.state == "ordinary":
        change = Change(state="closed", outcome=f"ordinary_{'granted' if decision == 'grant' else 'refused'}", facts=facts,
                        decided_on=decided_on)
    else:
        added = [deadlines.working("credit_report", decided_on, deadlines.CREDIT_REPORT_DAYS)]
        if decision == "grant":
            for entry in case.items:
                plan = services.catalog.version(entry["id"], entry["version"]).data["verification"]
                if plan["method"] != "exempt":
                    added.append(deadlines.working("verification", decided_on, int(plan["days"]), ref=entry["id"]))
            change = Change(state="decided", facts=facts, deadlines=added, decided_on=decided_on,
                            done=[("decision", None)], done_on=decided_on)
        else:
            change = Change(state="closed", outcome="refused", facts=facts, deadlines=added, decided_on=decided_on,
                            done=[("decision", None)], done_on=decided_on)
    return apply_change(services, principal.actor, case, change, "decision", "case.decided",
                        {"decision": DECISIONS[decision], "reason": data.get("reason") or ""})


# --- 核查结果 ------------------------------------------------------------------------------------------


def _latest_onsite(services: Services, case: CaseRecord) -> DocumentRecord | None:
    records = [d for d in services.cases.documents(case.id) if d.form == "onsite-verification" and d.status in ISSUED]
    return records[-1] if records else None


@retry_safe
def record_verification(services: Services, principal: Principal, case_id: str, data: Mapping[str, Any]) -> CaseRecord:
    """属实, 不实, or 限期整改 with its working days — by default those the on-site record set, counted from its date."""
    case = handled_case(services, principal, case_id)
    require_state(case, ("verifying", "rectifying"), "记录核查结果（须先发出核查文书）", "record a verification result (issue a verification paper first)")
    found_on = step_day(data.get("found_on"), services, "found_on")
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
    return apply_change(services, principal.actor, case, change, "verification_result", "case.verified",
                        {"result": RESULTS[result], "note": data.get("note") or "", "days": fact.get("days")})


# --- 撤回, 结案, 容缺材料, 归集, 投诉 ---------------------------------------------------------------------------


@retry_safe
def withdraw(services: Services, principal: Principal, case_id: str, data: Mapping[str, Any]) -> CaseRecord:
    """The applicant withdraws the commitment before the decision (002 四(二); 004 五(八)): the case goes on by the
    ordinary procedure, and a letter still awaiting signatures is voided."""
    case = handled_case(services, principal, case_id)
    require_state(case, BEFORE_DECISION, "撤回承诺（作出决定后不能撤回）", "be withdrawn (not after the decision)")
    on = step_day(data.get("withdrawn_on"), services, "withdrawn_on")
    updated = apply_change(services, principal.actor, case,
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
        require_state(case, ("verified", "decided") if exempt else ("verified",), "以履约结案（须核查属实）", "close as fulfilled (verify first)")
    elif outcome in ("revoked", "terminated"):
        require_state(case, ("false_found",), f"以“{OUTCOMES[outcome]}”结案（须核查不实）", f"close as {outcome} (a false commitment must be found)")
    elif outcome == "returned":
        require_state(case, ("committed", "decided", "verifying", "rectifying", "verified"), "终止退件", "be returned")
        materials = case.facts.get("materials") or {}
        due = next((d for d in services.cases.deadlines(case.id) if d.kind == "materials"), None)
        if due is None:
            raise Conflict("只有容缺受理的办件才能终止退件", "only a case accepted with missing materials can be returned", code="case_state")
        if due.done_on is not None or materials.get("supplied_on"):
            raise Conflict("容缺材料已补齐，不能终止退件", "the missing materials were supplied", code="case_state")
        if dt.date.fromisoformat(due.due_on) >= today_of(services):
            raise Conflict(f"容缺补正时限（{due.due_on}）尚未届满", f"the materials are not overdue yet (due {due.due_on})", code="case_state")
        if not materials.get("reminded_on"):
            raise Conflict("须先催告，经催告仍未补齐的才能终止退件（扎兰屯“信易批” 三.5）",
                           "send a reminder (催告) first: only materials still missing after it end the case", code="case_state")
    else:
        raise InvalidData({"outcome": [bilingual("结案方式应为履约、撤销行政决定、终止办理或终止退件",
                                                 "close as fulfilled, revoked, terminated or returned")]})


@retry_safe
def close(services: Services, principal: Principal, case_id: str, data: Mapping[str, Any]) -> CaseRecord:
    """结案: 履约; 撤销行政决定 or 终止办理 on a false commitment (recorded as 失信); 终止退件 for 容缺 materials not
    supplied after a reminder (also 失信, 003 三.5)."""
    case = handled_case(services, principal, case_id)
    outcome = data["outcome"]
    if case.state == "closed":
        require_state(case, (), "再结案", "be closed again")
    _close_allowed(services, case, outcome)
    false = outcome in FALSE_OUTCOMES
    if false and not (data.get("reason") or "").strip():
        raise InvalidData({"reason": [bilingual("须写明不实承诺或未补正的情形", "say what was false, or what was not supplied")]})
    closed_on = step_day(data.get("closed_on"), services, "closed_on")
    facts: dict[str, Any] = {"closure": {"outcome": outcome, "closed_on": closed_on.isoformat(), "reason": data.get("reason") or ""}}
    if false:
        facts["false_record"] = {"outcome": OUTCOMES[outcome], "on": closed_on.isoformat(), "reason": data["reason"]}
    open_kinds = [(kind, None) for kind in ("verification", "assistance_reply", "rectification", "materials", "decision", "letter")]
    change = Change(state="closed", outcome=outcome, false_commitment=false or None, facts=facts, done=open_kinds, done_on=closed_on)
    return apply_change(services, principal.actor, case, change, "close", "case.closed", {"outcome": OUTCOMES[outcome], "reason": data.get("reason") or ""})


@retry_safe
def materials(services: Services, principal: Principal, case_id: str, data: Mapping[str, Any]) -> CaseRecord:
    """容缺 materials: supplied (the deadline is met), or a reminder (催告) sent."""
    case = handled_case(services, principal, case_id)
    if case.commitment_type != "credit_tolerance":
        raise Conflict("只有容缺受理的办件才有容缺材料", "only a case accepted with missing materials has them", code="case_state")
    require_state(case, ("received", "credit_checked", "notified", "committed", "decided", "verifying", "rectifying", "verified"),
             "登记容缺材料", "record materials")
    on = step_day(data.get("on"), services, "on")
    current = dict(case.facts.get("materials") or {})
    if data["action"] == "supplied":
        current.update(supplied_on=on.isoformat(), note=data.get("note") or "")
        change = Change(facts={"materials": current}, done=[("materials", None)], done_on=on)
    else:
        current.update(reminded_on=on.isoformat(), reminder_note=data.get("note") or "")
        change = Change(facts={"materials": current})
    return apply_change(services, principal.actor, case, change, f"materials_{data['action']}", "case.materials", {"action": data["action"]})


@retry_safe
def credit_report(services: Services, principal: Principal, case_id: str, data: Mapping[str, Any]) -> CaseRecord:
    """The commitment and its result were reported to the credit platform (002 四(七))."""
    case = handled_case(services, principal, case_id)
    if not case.facts.get("decision") or case.procedure != "commitment":
        raise Conflict("作出决定后才归集信用承诺信息", "the commitment is reported once decided", code="case_state")
    on = step_day(data.get("reported_on"), services, "reported_on")
    reports = [*case.facts.get("credit_reports", []), {"reported_on": on.isoformat(), "reference": data["reference"]}]
    return apply_change(services, principal.actor, case, Change(facts={"credit_reports": reports}, done=[("credit_report", None)], done_on=on),
                        "credit_report", "case.credit_reported", {"reference": data["reference"]})


@retry_safe
def complaint(services: Services, principal: Principal, case_id: str, data: Mapping[str, Any]) -> CaseRecord:
    """A complaint about the case: to be handled within 5 working days (002 四(三)3)."""
    case = handled_case(services, principal, case_id)
    on = step_day(data.get("received_on"), services, "received_on")
    complaints = list(case.facts.get("complaints", []))
    ref = f"C{len(complaints) + 1}"
    complaints.append({"ref": ref, "received_on": on.isoformat(), "summary": data["summary"]})
    change = Change(facts={"complaints": complaints}, deadlines=[deadlines.working("complaint", on, deadlines.COMPLAINT_DAYS, ref=ref)])
    return apply_change(services, principal.actor, case, change, "complaint", "case.complaint", {"ref": ref})


@retry_safe
def complaint_resolved(services: Services, principal: Principal, case_id: str, ref: str, data: Mapping[str, Any]) -> CaseRecord:
    case = handled_case(services, principal, case_id)
    complaints = [dict(c) for c in case.facts.get("complaints", [])]
    target = next((c for c in complaints if c["ref"] == ref), None)
    if target is None:
        raise NotFound(f"没有投诉举报 {ref}", f"no complaint {ref}", code="complaint_not_found")
    if target.get("resolved_on"):
        raise Conflict(f"投诉举报 {ref} 已处理", f"complaint {ref} is already handled", code="case_state")
    on = step_day(data.get("resolved_on"), services, "resolved_on")
    target.update(resolved_on=on.isoformat(), result=data["result"])
    return apply_change(services, principal.actor, case, Change(facts={"complaints": complaints}, done=[("complaint", ref)], done_on=on),
                        "complaint_resolved", "case.complaint", {"ref": ref})


# --- missed deadlines -------------------------------------------------------------------------------


def announce_missed_deadlines(services: Services) -> int:
    """Sends ``case.deadline_missed`` once for every deadline newly past due (any node may run it; each is claimed
    once). Returns how many were announced."""
    today = today_of(services)
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
