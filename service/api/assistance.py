"""/api/v1/assistance: requests for administrative assistance between agencies, and their answers."""

from __future__ import annotations

from typing import Any

from flask import current_app, g

from ..auth.http import require_principal
from ..cases import assistance, inputs
from ..http.openapi import Blueprint
from ..runtime import Services
from .assistance_schemas import (
    AnsweredSchema,
    AssistanceDetailSchema,
    AssistanceListSchema,
    ExternalReplyUploadSchema,
    IncomingQuerySchema,
)

bp = Blueprint("assistance_api", __name__, url_prefix="/api/v1/assistance",
               description="assistance between agencies: the requests addressed to an agency, its replies, and replies from outside")

_ANSWER_ERRORS = ((404, "unknown request, or one between other agencies"),
                  (409, "answered already, or answered by the other side (on or outside the service)"), (422, "invalid data, by field"))


def services() -> Services:
    return current_app.extensions["chengnuo"]


@bp.get("")
@bp.arguments(IncomingQuerySchema, location="query", error_status_code=400)
@bp.response(200, AssistanceListSchema)
@bp.errors((400, "a bad parameter"))
def incoming(args: dict[str, Any]) -> dict[str, Any]:
    """The requests addressed to the caller's agencies (``agency`` for one), newest first; ``state=open`` for those to answer."""
    return {"requests": assistance.incoming(services(), require_principal(), args["agency"], args["state"])}


@bp.get("/<request_id>")
@bp.response(200, AssistanceDetailSchema)
@bp.errors((404, "unknown request, or one between other agencies"))
def show(request_id: str) -> dict[str, Any]:
    """A request, as issued, with its answer; for the agency asked while it is open, what its reply takes from it."""
    principal = require_principal()
    record = assistance.readable(services(), principal, request_id)
    request = assistance.request_document(services(), record)
    fixed = assistance.reply_fixed_if_answering(services(), principal, record)
    return {**record.__dict__, "request": {"form": request.form, "serial": request.serial, "number": request.number, **request.data},
            "reply_fixed": fixed}


@bp.post("/<request_id>/reply")
@bp.arguments(inputs.AssistanceReplySchema)
@bp.response(201, AnsweredSchema, description="the reply issued (sealed, numbered by the agency asked), and the request answered")
@bp.errors(*_ANSWER_ERRORS, (503, "the timestamping service is unavailable"))
def reply(body: dict[str, Any], request_id: str) -> tuple[assistance.Answered, int]:
    """The agency asked answers: its 行政协助回复函, prefilled from the request; the finding goes back into the asking case."""
    return assistance.reply(services(), require_principal(), request_id, body, request_ref=g.get("request_id")), 201


@bp.post("/<request_id>/external-reply")
@bp.arguments(ExternalReplyUploadSchema, location="multipart")
@bp.response(200, AnsweredSchema)
@bp.errors(*_ANSWER_ERRORS, (413, "the PDF is over the verification limit"))
def external_reply(body: dict[str, Any], request_id: str) -> assistance.Answered:
    """The asking agency records the reply of an agency outside the service (a signed PDF is verified and kept)."""
    pdf = body.pop("file", None)
    return assistance.record_external_reply(services(), require_principal(), request_id, body, pdf)


@bp.post("/<request_id>/visit")
@bp.arguments(inputs.VisitOutcomeSchema)
@bp.response(200, AnsweredSchema)
@bp.errors(*_ANSWER_ERRORS)
def visit(body: dict[str, Any], request_id: str) -> assistance.Answered:
    """A visit (二): the asking agency records what its two staff found."""
    return assistance.record_visit(services(), require_principal(), request_id, body)
