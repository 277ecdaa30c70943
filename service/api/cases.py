"""/api/v1/cases: cases (办件) and the procedure's steps; /api/v1/deadlines: an agency's overdue and due-soon lists."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace
from typing import Any

from flask import current_app, g, request, url_for

from ..auth.http import require_principal
from ..cases import inputs, opening, papers, procedure, queries
from ..http.openapi import Blueprint, header
from ..runtime import Services
from .case_schemas import (
    CaseListQuerySchema,
    CaseListSchema,
    CaseSchema,
    CaseStepResultSchema,
    DeadlineListSchema,
    DeadlineQuerySchema,
)
from .schemas import IdempotencySchema

bp = Blueprint("cases_api", __name__, url_prefix="/api/v1", description="cases (办件): the procedure from the credit check to the result")

_STEP_ERRORS = ((404, "unknown case"), (409, ("the case's state does not allow this step (the state is named), it changed meanwhile, "
                                               "or the Idempotency-Key was used for another request")),
                (422, "invalid data: every bad field by its path"))


def services() -> Services:
    return current_app.extensions["chengnuo"]


def _view(case_id: str) -> queries.CaseView:
    return queries.case_view(services(), require_principal(), case_id)


@bp.post("/cases")
@bp.arguments(inputs.CaseCreateSchema)
@bp.arguments(IdempotencySchema, location="headers", error_status_code=400)
@bp.response(201, CaseSchema, description="the case, received; its first deadlines (or, with a repeated Idempotency-Key, the first case)",
             headers={"Location": header("LOCATION"), "Idempotent-Replayed": header("IDEMPOTENT_REPLAYED")})
@bp.errors((404, "unknown agency"), (409, "Idempotency-Key reused with another body"),
           (422, "invalid data, an item not in the agency's catalogue, a proxy an item does not allow"))
def create(body: dict[str, Any], headers: dict[str, str]) -> tuple[queries.CaseView, int, dict[str, str]]:
    """Open a case for one application."""
    opened = opening.open_case(services(), require_principal(), body, idempotency_key=headers.get("idempotency_key"))
    answer = {"Location": url_for("cases_api.show", case_id=opened.case.id)}
    if opened.replayed:
        answer["Idempotent-Replayed"] = "true"
    return _view(opened.case.id), 201, answer


@bp.get("/cases")
@bp.arguments(CaseListQuerySchema, location="query", error_status_code=400)
@bp.response(200, CaseListSchema)
@bp.errors((400, "a bad list parameter, named"))
def list_cases(args: dict[str, Any]) -> dict[str, Any]:
    """The cases the caller may see, newest received first."""
    principal = require_principal()
    found = queries.list_cases(services(), principal, queries.parse_list_query(principal, request.args, services().now().date()))
    return {"cases": [{**dataclasses.asdict(c), "applicant": found.applicants[c.id], "overdue": c.id in found.overdue} for c in found.cases],
            "total": found.total, "page": found.page, "pages": found.pages}


@bp.get("/cases/<case_id>")
@bp.response(200, CaseSchema)
@bp.errors((404, "unknown case"))
def show(case_id: str) -> queries.CaseView:
    """A case: state, applicant, documents, deadlines, history and the next actions."""
    return _view(case_id)


def _step(function: Any, case_id: str, body: dict[str, Any], headers: dict[str, str]) -> queries.CaseView:
    function(services(), require_principal(), case_id, body, idempotency_key=headers.get("idempotency_key"))
    return _view(case_id)


@bp.post("/cases/<case_id>/credit-check")
@bp.arguments(inputs.CreditCheckSchema)
@bp.arguments(IdempotencySchema, location="headers", error_status_code=400)
@bp.response(200, CaseSchema)
@bp.errors(*_STEP_ERRORS)
def credit_check(body: dict[str, Any], headers: dict[str, str], case_id: str) -> queries.CaseView:
    """信用核查: a bad result (or an earlier false commitment on the service's record) moves the case to the ordinary procedure."""
    return _step(procedure.credit_check, case_id, body, headers)


@bp.post("/cases/<case_id>/documents")
@bp.arguments(inputs.CaseDocumentSchema)
@bp.arguments(IdempotencySchema, location="headers", error_status_code=400)
@bp.response(201, CaseStepResultSchema, description="the document issued, and the case after it")
@bp.errors(*_STEP_ERRORS, (429, "converters busy; see Retry-After"), (500, "issuing failed; the drawn number is voided and kept with the case"),
           (502, "conversion failed"), (503, "the timestamping service is unavailable"), (504, "conversion timed out"))
def issue(body: dict[str, Any], headers: dict[str, str], case_id: str) -> tuple[Any, int]:
    """Issue a form for the case, filled from the case and its catalogue item (``data`` only adds what they cannot know)."""
    result = papers.issue_document(services(), require_principal(), case_id, body["form"], body.get("item"), body.get("data"),
                                      idempotency_key=headers.get("idempotency_key"), request_id=g.get("request_id"))
    view = _view(case_id)
    document = next((d for d in view.documents if d.id == result.document.id), None) if result.document else None
    return SimpleNamespace(**{f.name: getattr(view, f.name) for f in dataclasses.fields(view)}, overdue=view.overdue, document=document), 201


@bp.post("/cases/<case_id>/decision")
@bp.arguments(inputs.DecisionSchema)
@bp.arguments(IdempotencySchema, location="headers", error_status_code=400)
@bp.response(200, CaseSchema)
@bp.errors(*_STEP_ERRORS)
def decision(body: dict[str, Any], headers: dict[str, str], case_id: str) -> queries.CaseView:
    """决定: 准予 (grant) or 不予 (refuse, with the reason)."""
    return _step(procedure.decide, case_id, body, headers)


@bp.post("/cases/<case_id>/verification-result")
@bp.arguments(inputs.VerificationResultSchema)
@bp.arguments(IdempotencySchema, location="headers", error_status_code=400)
@bp.response(200, CaseSchema)
@bp.errors(*_STEP_ERRORS)
def verification_result(body: dict[str, Any], headers: dict[str, str], case_id: str) -> queries.CaseView:
    """核查结果: 属实 (true), 不实 (false), or 限期整改 (rectify) with its working days."""
    return _step(procedure.record_verification, case_id, body, headers)


@bp.post("/cases/<case_id>/withdrawal")
@bp.arguments(inputs.WithdrawalSchema)
@bp.arguments(IdempotencySchema, location="headers", error_status_code=400)
@bp.response(200, CaseSchema)
@bp.errors(*_STEP_ERRORS)
def withdrawal(body: dict[str, Any], headers: dict[str, str], case_id: str) -> queries.CaseView:
    """撤回承诺 before the decision: the case goes on by the ordinary procedure."""
    return _step(procedure.withdraw, case_id, body, headers)


@bp.post("/cases/<case_id>/close")
@bp.arguments(inputs.CloseSchema)
@bp.arguments(IdempotencySchema, location="headers", error_status_code=400)
@bp.response(200, CaseSchema)
@bp.errors(*_STEP_ERRORS)
def close(body: dict[str, Any], headers: dict[str, str], case_id: str) -> queries.CaseView:
    """结案: fulfilled, revoked, terminated (a false commitment, recorded as 失信), or returned (容缺 materials not supplied)."""
    return _step(procedure.close, case_id, body, headers)


@bp.post("/cases/<case_id>/materials")
@bp.arguments(inputs.MaterialsSchema)
@bp.arguments(IdempotencySchema, location="headers", error_status_code=400)
@bp.response(200, CaseSchema)
@bp.errors(*_STEP_ERRORS)
def materials(body: dict[str, Any], headers: dict[str, str], case_id: str) -> queries.CaseView:
    """容缺 materials supplied, or a reminder (催告) sent."""
    return _step(procedure.materials, case_id, body, headers)


@bp.post("/cases/<case_id>/credit-report")
@bp.arguments(inputs.CreditReportSchema)
@bp.arguments(IdempotencySchema, location="headers", error_status_code=400)
@bp.response(200, CaseSchema)
@bp.errors(*_STEP_ERRORS)
def credit_report(body: dict[str, Any], headers: dict[str, str], case_id: str) -> queries.CaseView:
    """The commitment was reported to the credit platform (within 7 working days of the decision)."""
    return _step(procedure.credit_report, case_id, body, headers)


@bp.post("/cases/<case_id>/complaints")
@bp.arguments(inputs.ComplaintSchema)
@bp.arguments(IdempotencySchema, location="headers", error_status_code=400)
@bp.response(200, CaseSchema)
@bp.errors(*_STEP_ERRORS)
def complaint(body: dict[str, Any], headers: dict[str, str], case_id: str) -> queries.CaseView:
    """A complaint about the case, to be handled within 5 working days."""
    return _step(procedure.complaint, case_id, body, headers)


@bp.post("/cases/<case_id>/complaints/<ref>/resolution")
@bp.arguments(inputs.ComplaintResolutionSchema)
@bp.arguments(IdempotencySchema, location="headers", error_status_code=400)
@bp.response(200, CaseSchema)
@bp.errors(*_STEP_ERRORS)
def complaint_resolution(body: dict[str, Any], headers: dict[str, str], case_id: str, ref: str) -> queries.CaseView:
    """The complaint's handling and its result."""
    procedure.complaint_resolved(services(), require_principal(), case_id, ref, body, idempotency_key=headers.get("idempotency_key"))
    return _view(case_id)


@bp.get("/deadlines")
@bp.arguments(DeadlineQuerySchema, location="query", error_status_code=400)
@bp.response(200, DeadlineListSchema)
@bp.errors((400, "a bad parameter"))
def deadlines(args: dict[str, Any]) -> dict[str, Any]:
    """Open deadlines: ``overdue=true`` for the overdue list, ``due_within=N`` for those due in the next N days."""
    rows = queries.deadline_list(services(), require_principal(), agency=args.get("agency"), overdue=args["overdue"],
                                 due_within=args["due_within"], kinds=(args["kind"],) if args.get("kind") else ())
    return {"deadlines": rows}
