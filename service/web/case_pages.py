"""The case pages: the list of cases, a new case, a case (header, next actions, step forms, deadlines, documents,
timeline), a paper as the case fills it, and the agency's overdue and due-soon deadlines. Signed-in people only.

Every page loads its post with the schemas of ``cases.inputs`` and calls the same use case as the API; the state
rules live there. A step the case's state no longer allows (a stale page) comes back as the case page with the
use case's message, which names the state."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from flask import (
    Blueprint,
    Response,
    redirect,
    render_template,
    request,
    url_for,
)

from ..auth.http import csrf_token
from ..cases import assistance, catalog_use, inputs, opening, papers, procedure, queries, steps
from ..cases.applicants import APPLICANT_TYPES
from ..cases.deadlines import KINDS as DEADLINE_KINDS
from ..cases.vocabulary import (
    BEFORE_DECISION,
    CHANNELS,
    COMMITMENT_TYPES,
    CREDIT_RESULTS,
    DECISIONS,
    MATERIAL_ACTIONS,
    OUTCOMES,
    RESULTS,
    STATES,
    STEP_LABELS,
)
from ..errors import (
    ChengnuoError,
    Conflict,
    Forbidden,
    InvalidData,
    InvalidRequest,
    NotFound,
)
from ..forms import CATALOGUE, get_form
from ..forms.fields import FormSchema
from ..http.errors import status_of
from . import formbuilder
from .staff_pages import principal as _principal
from .staff_pages import services, signed_in_only

bp = Blueprint("case_pages", __name__, template_folder="templates")
signed_in_only(bp)

PROCEDURES = {"commitment": "告知承诺", "ordinary": "一般程序"}
DOCUMENT_STATES = {"awaiting_signatures": "有效，待签署", "completed": "有效，已签署完成", "voided": "已作废", "issuing": "签发中"}
HISTORY_STEPS = STEP_LABELS
CLOSE_OUTCOMES = ("fulfilled", "revoked", "terminated", "returned")  # what a clerk closes a case with; the rest come from steps


@dataclass(frozen=True)
class Step:
    """A step form on the case page: what it is called, what it takes, and the use case it calls."""

    title: str
    schema: type[FormSchema]
    function: Callable[..., Any]
    labels: Mapping[str, Mapping[str, str]]  # field → coded choice → what the select shows


STEPS: dict[str, Step] = {
    "credit-check": Step("信用核查 / Credit check", inputs.CreditCheckSchema, procedure.credit_check, {"result": CREDIT_RESULTS}),
    "decision": Step("作出决定 / Decision", inputs.DecisionSchema, procedure.decide, {"decision": DECISIONS}),
    "verification-result": Step("核查结果 / Verification result", inputs.VerificationResultSchema, procedure.record_verification,
                                {"result": RESULTS}),
    "close": Step("结案 / Close the case", inputs.CloseSchema, procedure.close, {"outcome": OUTCOMES}),
    "withdrawal": Step("撤回承诺 / Withdrawal", inputs.WithdrawalSchema, procedure.withdraw, {}),
    "materials": Step("容缺材料 / Missing materials", inputs.MaterialsSchema, procedure.materials, {"action": MATERIAL_ACTIONS}),
    "credit-report": Step("信用信息归集 / Credit report", inputs.CreditReportSchema, procedure.credit_report, {}),
    "complaint": Step("投诉举报 / Complaint", inputs.ComplaintSchema, procedure.complaint, {}),
}
RESOLUTION = Step("投诉举报处理结果 / Complaint handled", inputs.ComplaintResolutionSchema, procedure.complaint_resolved, {})


def _page(template: str, status: int = 200, **context: Any) -> tuple[str, int]:
    return render_template(template, principal=_principal(), csrf_token=csrf_token(), states=STATES, channels=CHANNELS,
                           commitment_types=COMMITMENT_TYPES, **context), status


def _agency(value: str | None = None) -> str:
    """The agency a page is about: the one asked for, else the caller's own, else the configured default."""
    return value or _principal().default_agency() or services().agencies.default.id


def _my_agencies() -> list[Any]:
    return [a for a in services().agencies.by_id.values() if _principal().acts_for(a.id)]


def _fields(schema: type[FormSchema], labels: Mapping[str, Mapping[str, str]], prefix: str = "") -> list[formbuilder.Field]:
    return formbuilder.labelled_fields(schema, labels)


def _form_context(fields: list[formbuilder.Field], values: Mapping[str, str], errors: Mapping[str, list[str]]) -> dict[str, Any]:
    return {"fields": fields, "values": values, "errors": errors, "row_count": formbuilder.row_count,
            "labels": {path: formbuilder.label_for(fields, path) for path in errors}}


# --- the list ---------------------------------------------------------------------------------------------


@bp.get("/cases")
def index() -> tuple[str, int]:
    principal = _principal()
    agency = _agency(request.args.get("agency"))
    items = catalog_use.list_items(services(), principal, agency, include_retired=True)
    context = {"query": request.args, "items": items, "item_names": {i.id: i.name for i in items},
               "may_open": principal.role in steps.HANDLERS}
    try:
        found = queries.list_cases(services(), principal, queries.parse_list_query(principal, request.args, services().now().date()))
    except InvalidRequest as exc:
        return _page("case_list.html", 400, found=queries.CaseList([], {}, set(), 0, 1, 1), error=exc, **context)
    return _page("case_list.html", found=found, error=None, **context)


# --- a new case -----------------------------------------------------------------------------------------------

_NEW_LABELS = {"applicant.type": APPLICANT_TYPES, "channel": CHANNELS, "commitment_type": COMMITMENT_TYPES}


def _new_fields() -> list[formbuilder.Field]:
    """The case's fields but the agency and the items, which the page offers as its own choices."""
    return [f for f in _fields(inputs.CaseCreateSchema, _NEW_LABELS) if f.path not in ("agency", "items")]


def _new_page(agency: str, values: Mapping[str, str], chosen: list[str], errors: Mapping[str, list[str]], status: int = 200,
              message: ChengnuoError | None = None) -> tuple[str, int]:
    items = [i for i in catalog_use.list_items(services(), _principal(), agency) if i.retired_at is None]
    item_errors = [m for path, msgs in errors.items() if path == "items" or path.startswith("items.") for m in msgs]
    context = _form_context(_new_fields(), values, errors)
    context["labels"].update({path: "事项" for path in errors if path == "items" or path.startswith("items.")})
    anchors = {path: "f-items" for path in errors if path == "items" or path.startswith("items.")}
    return _page("case_new.html", status, anchors=anchors, agency=agency, agencies=_my_agencies(), items=items, chosen=chosen, item_errors=item_errors,
                 message=message, **context)


@bp.get("/cases/new")
def new() -> tuple[str, int]:
    return _new_page(_agency(request.args.get("agency")), {"received_on": services().now().date().isoformat()}, [], {})


@bp.post("/cases/new")
def create() -> Response | tuple[str, int]:
    agency = _agency(request.form.get("agency"))
    values = formbuilder.page_values(request.form)
    values.pop("agency", None)
    values.pop("items", None)
    chosen = request.form.getlist("items")
    action = request.form.get("_action", "create")
    if action.startswith(("add:", "remove:")):
        return _new_page(agency, formbuilder.apply_action(values, action), chosen, {})
    try:
        data = inputs.parse(inputs.CaseCreateSchema, {**formbuilder.to_data(_new_fields(), values), "agency": agency, "items": chosen})
        case = opening.create_case(services(), _principal(), data)
    except InvalidData as exc:
        return _new_page(agency, values, chosen, exc.errors, 422, exc)
    except ChengnuoError as exc:
        return _new_page(agency, values, chosen, {}, status_of(exc), exc)
    return redirect(url_for("case_pages.show", case_id=case.id, created=1))


# --- a case ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StepForm:
    key: str  # the step, or complaint:<ref>
    action: str  # where it posts
    title: str
    fields: list[formbuilder.Field]
    primary: bool  # a next action: shown open, with the prominent button pointing at it
    note: str = ""


def _may_handle(case: Any) -> bool:
    try:
        steps.authorize_handle(_principal(), case.agency)
    except Forbidden:
        return False
    return True


def _step_fields(key: str, step: Step) -> list[formbuilder.Field]:
    fields = _fields(step.schema, step.labels)
    if key == "close":
        for f in fields:
            if f.path == "outcome":
                f.choices = list(CLOSE_OUTCOMES)
    return fields


def _step_forms(view: queries.CaseView) -> list[StepForm]:
    """The step forms the case's state offers now: its next actions first, then what may also happen (a withdrawal
    before the decision, 容缺 materials, the credit report, complaints). The use case still decides."""
    case = view.case
    base = f"/cases/{case.id}/steps"
    nexts = [a.step for a in view.next_actions if a.step in STEPS]
    open_kinds = {d.kind for d in view.deadlines if d.done_on is None}
    materials_overdue = any(d.kind == "materials" and d.overdue for d in view.deadlines)
    wanted = list(dict.fromkeys(nexts))
    if case.state in BEFORE_DECISION:
        wanted.append("withdrawal")
    if "materials" in open_kinds and case.state != "closed":
        wanted.append("materials")
        if materials_overdue and "close" not in wanted:
            wanted.append("close")
    if "credit_report" in open_kinds:
        wanted.append("credit-report")
    wanted.append("complaint")
    forms = [StepForm(key, f"{base}/{key}", STEPS[key].title, _step_fields(key, STEPS[key]), key in nexts) for key in wanted]
    for entry in case.facts.get("complaints", []):
        if not entry.get("resolved_on"):
            forms.append(StepForm(f"complaint:{entry['ref']}", f"/cases/{case.id}/complaints/{entry['ref']}/resolution",
                                  f"{RESOLUTION.title}：{entry['ref']}", _step_fields("resolution", RESOLUTION), False,
                                  note=f"{entry['received_on']} 接到：{entry['summary']}"))
    return forms


def history_note(entry: Mapping[str, Any]) -> str:
    """What a timeline entry says beyond its step: the decision, result or outcome, the reason, the paper."""
    detail = entry.get("detail") or {}
    result = detail.get("result")
    form = detail.get("form")
    parts = [detail.get("decision"), CREDIT_RESULTS.get(result, result) if entry.get("action") == "credit_check" else result,
             detail.get("outcome"), CATALOGUE[form].title if form in CATALOGUE else form, detail.get("number") or detail.get("serial"),
             detail.get("source"), detail.get("reason"), detail.get("note"), detail.get("reference"), detail.get("ref")]
    return "；".join(str(p) for p in parts if p)


def _case_page(case_id: str, status: int = 200, *, failed: str | None = None, values: Mapping[str, str] | None = None,
               errors: Mapping[str, list[str]] | None = None, message: ChengnuoError | None = None) -> tuple[str, int]:
    view = queries.case_view(services(), _principal(), case_id)
    handles = _may_handle(view.case)
    forms = _step_forms(view) if handles else []
    letters = [d for d in view.documents if d.status == "awaiting_signatures"]
    return _page("case_view.html", status, view=view, handles=handles, forms=forms, failed=failed, step_values=values or {},
                 step_errors=errors or {}, message=message, letters=letters, procedures=PROCEDURES, outcomes=OUTCOMES,
                 applicant_types=APPLICANT_TYPES, document_states=DOCUMENT_STATES, history_steps=HISTORY_STEPS, history_note=history_note,
                 assistance_findings=assistance.FINDINGS,
                 credit_results=CREDIT_RESULTS, decisions=DECISIONS, results=RESULTS, catalogue=CATALOGUE,
                 row_count=formbuilder.row_count, created=request.args.get("created") == "1", done=request.args.get("done"),
                 issued=request.args.get("issued"))


@bp.get("/cases/<case_id>")
def show(case_id: str) -> tuple[str, int]:
    return _case_page(case_id)


def _run_step(case_id: str, key: str, step: Step, call: Callable[[dict[str, Any]], Any]) -> Response | tuple[str, int]:
    values = formbuilder.page_values(request.form)
    try:
        call(inputs.parse(step.schema, formbuilder.to_data(_step_fields(key, step), values)))
    except InvalidData as exc:
        return _case_page(case_id, 422, failed=key, values=values, errors=exc.errors, message=exc)
    except ChengnuoError as exc:  # a 409 from a stale page names the state the case is in now
        return _case_page(case_id, status_of(exc), failed=None if isinstance(exc, Conflict) else key, values=values, message=exc)
    return redirect(url_for("case_pages.show", case_id=case_id, done=key.partition(":")[0]) + "#top")


@bp.post("/cases/<case_id>/steps/<step>")
def take_step(case_id: str, step: str) -> Response | tuple[str, int]:
    if step not in STEPS:
        raise NotFound("没有这个办理步骤", f"no step {step}", code="not_found")
    function = STEPS[step].function
    return _run_step(case_id, step, STEPS[step], lambda data: function(services(), _principal(), case_id, data))


@bp.post("/cases/<case_id>/complaints/<ref>/resolution")
def resolve_complaint(case_id: str, ref: str) -> Response | tuple[str, int]:
    return _run_step(case_id, f"complaint:{ref}", RESOLUTION,
                     lambda data: procedure.complaint_resolved(services(), _principal(), case_id, ref, data))


# --- a paper as the case fills it -----------------------------------------------------------------------------------


def _text(f: formbuilder.Field, value: Any) -> str:
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, Mapping):
        return "；".join(f"{c.label}：{_text(c, value[c.path.rsplit('.', 1)[-1]])}" for c in f.children
                        if value.get(c.path.rsplit(".", 1)[-1]) not in (None, ""))
    return f.choice_labels.get(str(value), str(value))


def readonly_rows(fields: list[formbuilder.Field], data: Mapping[str, Any], prefix: str = "") -> list[tuple[str, str, str | list[str]]]:
    """The fixed values as (path, label, text or lines), in the form's order, for a read-only list."""
    rows: list[tuple[str, str, str | list[str]]] = []
    for f in fields:
        key = f.path.rsplit(".", 1)[-1]
        value = data.get(key)
        if value in (None, "", [], {}):
            continue
        label = f"{prefix}{f.label}"
        if f.kind == "group" and isinstance(value, Mapping):
            rows.extend(readonly_rows(f.children, value, f"{label} · "))  # the children's paths are whole already
        elif f.kind == "list" and isinstance(value, list):
            rows.append((f.path, label, [_text(f.children[0], v) for v in value]))
        else:
            rows.append((f.path, label, _text(f, value)))
    return rows


def _paper_page(case_id: str, form: str, item: str | None, status: int = 200, *, values: Mapping[str, str] | None = None,
                errors: Mapping[str, list[str]] | None = None, message: ChengnuoError | None = None) -> tuple[str, int]:
    spec = get_form(form)
    try:
        paper = papers.prefill(services(), _principal(), case_id, form, item)
    except (Conflict, InvalidData, Forbidden) as exc:  # the state does not offer this paper (now)
        view = queries.case_view(services(), _principal(), case_id)
        return _page("case_paper.html", status_of(exc), spec=spec, case=view.case, paper=None, message=exc, item=item,
                     fixed_rows=[], fixed_errors={}, **_form_context([], {}, {}))
    everything = formbuilder.form_fields(spec.schema)
    editable = [f for f in everything if f.path not in paper.locked]
    errors = dict(errors or {})
    fixed_errors = {p: m for p, m in errors.items() if p.split(".")[0] in paper.fixed}
    return _page("case_paper.html", status, spec=spec, case=paper.case, paper=paper, message=message, item=paper.item.id,
                 fixed_rows=readonly_rows([f for f in everything if f.path in paper.fixed], paper.fixed), fixed_errors=fixed_errors,
                 anchors={path: "fixed" for path in fixed_errors},
                 **_form_context(editable, values if values is not None else formbuilder.flatten(paper.defaults), errors))


@bp.get("/cases/<case_id>/papers/<form>")
def paper(case_id: str, form: str) -> tuple[str, int]:
    return _paper_page(case_id, form, request.args.get("item") or None)


@bp.post("/cases/<case_id>/papers/<form>")
def paper_submit(case_id: str, form: str) -> Response | tuple[str, int]:
    item = request.form.get("_item") or None
    values = formbuilder.page_values(request.form)
    action = request.form.get("_action", "issue")
    if action.startswith(("add:", "remove:")):
        return _paper_page(case_id, form, item, values=formbuilder.apply_action(values, action))
    principal = _principal()
    try:
        paper = papers.prefill(services(), principal, case_id, form, item)
        editable = [f for f in formbuilder.form_fields(get_form(form).schema) if f.path not in paper.locked]
        data = formbuilder.to_data(editable, values)  # only what the case cannot know; the use case adds the rest
        if action == "preview":
            pdf = papers.preview_document(services(), principal, case_id, form, paper.item.id, data)
            response = Response(pdf, mimetype="application/pdf")
            response.headers["Content-Disposition"] = f'inline; filename="{form}-preview.pdf"'
            return response
        result = papers.issue_document(services(), principal, case_id, form, paper.item.id, data)
    except InvalidData as exc:
        errors = {path.removeprefix("data."): messages for path, messages in exc.errors.items()}
        return _paper_page(case_id, form, item, 422, values=values, errors=errors, message=exc)
    except ChengnuoError as exc:
        return _paper_page(case_id, form, item, status_of(exc), values=values, message=exc)
    return redirect(url_for("case_pages.show", case_id=case_id, issued=result.document.id if result.document else None) + "#documents")


# --- the agency's deadlines ---------------------------------------------------------------------------------------------


@bp.get("/deadlines")
def deadlines() -> tuple[str, int]:
    principal = _principal()
    agency = request.args.get("agency") or principal.default_agency()
    soon = services().settings.due_soon_days
    raw = request.args.get("within", "")
    error = None
    if raw:
        if raw.isascii() and raw.isdigit() and len(raw) <= 4 and int(raw) <= queries.MAX_WITHIN:
            soon = int(raw)
        else:
            error = InvalidRequest("期限天数有误", "bad number of days", errors={"within": [
                f"应为 0–{queries.MAX_WITHIN} 的整数（天） / a whole number of days from 0 to {queries.MAX_WITHIN}"]})
    overdue = queries.deadline_list(services(), principal, agency=agency, overdue=True)
    due_soon = queries.deadline_list(services(), principal, agency=agency, due_within=soon)
    return _page("deadlines.html", 400 if error else 200, overdue=overdue, due_soon=due_soon, within=soon, raw_within=raw,
                 error=error, agency=agency, agencies=_my_agencies(), kinds=DEADLINE_KINDS,
                 today=services().now().date())
