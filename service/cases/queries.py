"""Reading cases: a case's whole picture (documents with their signature state, deadlines, history, the next
action), the searchable list, and the overdue and due-soon deadlines of an agency."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .. import query_params
from ..auth.principal import Principal
from ..documents import detail as document_detail
from ..errors import InvalidRequest, bilingual
from ..masking import mask_name
from ..registry.assistance import AssistanceRecord
from ..registry.cases import CaseQuery, CaseRecord
from ..runtime import Services
from . import deadlines as deadline_rules
from .applicants import shown
from .steps import readable_case
from .vocabulary import LETTER_FORM, STATES, VERIFICATION_FORMS

MAX_TEXT, MAX_WITHIN = 100, 366
_ITEM_ID = re.compile(r"[0-9a-f-]{36}")


@dataclass(frozen=True)
class NextAction:
    step: str  # credit-check | documents | sign | decision | verification-result | close | materials | none
    label: str
    form: str | None = None
    item: str | None = None


@dataclass(frozen=True)
class CaseView:
    case: CaseRecord
    applicant: dict[str, Any]
    documents: list[Any]
    deadlines: list[deadline_rules.DeadlineView]
    history: list[dict[str, Any]]
    next_actions: list[NextAction]
    assistance: tuple[AssistanceRecord, ...] = ()  # the assistance requests the case made, and their answers

    @property
    def overdue(self) -> bool:
        return any(d.overdue for d in self.deadlines)


def _next_actions(services: Services, case: CaseRecord, documents: list[Any]) -> list[NextAction]:
    state = case.state
    letter_form = LETTER_FORM[case.commitment_type]
    if state == "received":
        return [NextAction("credit-check", "记录信用核查结果 / record the credit check")]
    if state in ("credit_checked", "notified"):
        live = {e["id"] for d in documents if d.form == letter_form and d.issued for e in (d.catalog_items or ())}
        pending = [item for item in case.items if item["id"] not in live]
        if pending:
            return [NextAction("documents", f"发出告知承诺书：{item['name']} / issue the letter", letter_form, item["id"]) for item in pending]
        return [NextAction("sign", "请申请人签署告知承诺书 / have the applicant sign the letter")]
    if state in ("committed", "ordinary"):
        return [NextAction("decision", "作出决定 / decide")]
    if state in ("decided", "verifying", "rectifying"):
        actions = []
        for entry in case.items:
            plan = services.catalog.version(entry["id"], entry["version"]).data["verification"]
            for form in VERIFICATION_FORMS.get(plan["method"], ()):
                actions.append(NextAction("documents", f"出具核查文书（{entry['name']}）/ issue the verification paper", form, entry["id"]))
            if plan["method"] == "exempt" and state == "decided":
                actions.append(NextAction("close", "免于核查，以履约结案 / exempt: close as fulfilled"))
        if state != "decided":
            actions.insert(0, NextAction("verification-result", "记录核查结果 / record the result"))
        return actions
    if state in ("verified", "false_found"):
        return [NextAction("close", "结案 / close the case")]
    return []


def _history(services: Services, case: CaseRecord) -> list[dict[str, Any]]:
    return [{"at": e.at, "actor": e.actor, "action": e.action.removeprefix("case."), "from": e.detail.get("from"),
             "to": e.detail.get("to"), "detail": {k: v for k, v in e.detail.items() if k not in ("from", "to", "number", "agency")}}
            for e in services.audit.about(f"case:{case.id}")]


def case_view(services: Services, principal: Principal, case_id: str) -> CaseView:
    """Raises NotFound (also for another agency's case)."""
    case = readable_case(services, principal, case_id)
    today = services.now().date()
    documents = [document_detail(services, d) for d in services.cases.documents(case.id)]
    return CaseView(
        case=case,
        applicant=shown(principal, case.agency, case.applicant),
        documents=documents,
        deadlines=[deadline_rules.view(d, today, services.settings.due_soon_days) for d in services.cases.deadlines(case.id)],
        history=_history(services, case),
        next_actions=_next_actions(services, case, documents),
        assistance=tuple(services.assistance.for_case(case.id)),
    )


def parse_list_query(principal: Principal, args: Mapping[str, str], today: dt.date) -> CaseQuery:
    """A list of cases from ``agency``, ``q``, ``item``, ``state``, ``from``, ``to``, ``overdue``, ``due_within``,
    ``page``; raises InvalidRequest naming each bad parameter."""
    errors: dict[str, list[str]] = {}
    agencies = principal.agencies
    agency = args.get("agency") or None
    if agency is not None:
        agencies = frozenset({agency}) if principal.acts_for(agency) else frozenset()
    text = (args.get("q") or "").strip()
    if len(text) > MAX_TEXT or not text.isprintable():
        errors["q"] = [bilingual(f"查找内容应为不超过 {MAX_TEXT} 个可打印字符", f"the search text must be at most {MAX_TEXT} printable characters")]
    item = args.get("item") or None
    if item is not None and not _ITEM_ID.fullmatch(item):
        errors["item"] = [bilingual("事项编号格式不正确", "not an item id")]
    state = args.get("state") or None
    if state is not None and state not in STATES:
        errors["state"] = [bilingual(f"状态应为：{'、'.join(STATES)}", f"the state must be one of: {', '.join(STATES)}")]
    dates = {name: query_params.date_bound(args, name, errors) for name in ("from", "to")}
    overdue = (args.get("overdue") or "").lower()
    if overdue not in ("", "true", "false", "1", "0"):
        errors["overdue"] = [bilingual("应为 true 或 false", "must be true or false")]
    within = query_params.whole_number(args, "due_within", 0, MAX_WITHIN, errors, unit=("（天）", " of days"))
    page = query_params.page(args, errors)
    if errors:
        raise InvalidRequest("查询条件有误", "bad list parameters", errors=errors)
    return CaseQuery(agencies=agencies, text=text, item=item, state=state, since=dates.get("from"),
                     until=dates.get("to"), overdue_on=today if overdue in ("true", "1") else None,
                     due_by=(today, today + dt.timedelta(days=within)) if within is not None else None, page=page)


@dataclass(frozen=True)
class CaseList:
    cases: list[CaseRecord]
    applicants: dict[str, dict[str, Any]]
    overdue: set[str]
    total: int
    page: int
    pages: int


def list_cases(services: Services, principal: Principal, query: CaseQuery) -> CaseList:
    if principal.role == "public":
        return CaseList([], {}, set(), 0, 1, 1)
    records, total = services.cases.search(query)
    today = services.now().date()
    overdue = {d.case_id for d, *_ in services.cases.open_deadlines(query.agencies, due_before=today)}
    return CaseList(records, {c.id: shown(principal, c.agency, c.applicant) for c in records}, overdue, total, query.page,
                    max(1, -(-total // query.per_page)))


@dataclass(frozen=True)
class DeadlineRow:
    case_id: str
    case_number: str
    applicant: str
    state: str
    deadline: deadline_rules.DeadlineView


def deadline_list(services: Services, principal: Principal, *, agency: str | None = None, overdue: bool = False,
                  due_within: int | None = None, kinds: tuple[str, ...] = ()) -> list[DeadlineRow]:
    """An agency's overdue deadlines (``overdue``) or those due within ``due_within`` days, soonest first."""
    if principal.role == "public":
        return []
    agencies = principal.agencies
    if agency is not None:
        agencies = frozenset({agency}) if principal.acts_for(agency) else frozenset()
    today = services.now().date()
    bounds: dict[str, Any] = {"due_before": today} if overdue else {}
    if due_within is not None:
        bounds = {"due_from": today, "due_until": today + dt.timedelta(days=due_within)}
    rows = []
    for record, number, name, state in services.cases.open_deadlines(agencies, kinds=kinds, **bounds):
        whole = principal.role in ("system", "clerk", "supervisor", "operator")
        rows.append(DeadlineRow(record.case_id, number, name if whole else mask_name(name), state,
                                deadline_rules.view(record, today, services.settings.due_soon_days)))
    return rows
