"""POST /api/v1/documents and GET /api/v1/documents/{id} (+ /pdf, /docx)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, g, jsonify, request, url_for
from marshmallow import ValidationError

from .. import documents, issuing, voiding
from ..auth.http import require_principal
from ..errors import InvalidData
from ..forms.fields import flatten_errors
from ..registry.documents import DocumentRecord
from ..http.downloads import file_response
from ..runtime import Services
from .body import json_body
from .schemas import IssueRequestSchema

bp = Blueprint("documents_api", __name__, url_prefix="/api/v1/documents")


def services() -> Services:
    return current_app.extensions["chengnuo"]


def document_json(record: DocumentRecord) -> dict[str, Any]:
    links = {"self": url_for("documents_api.show", document_id=record.id, _external=False)}
    if record.status == "issued":
        links["pdf"] = url_for("documents_api.pdf", document_id=record.id)
        links["docx"] = url_for("documents_api.docx", document_id=record.id)
    links["verify"] = f"{services().settings.base_url}/v/{record.serial}"
    return {
        "id": record.id,
        "form": record.form,
        "agency": record.agency,
        "serial": record.serial,
        "number": record.number,
        "status": record.status,
        "sha256": record.sha256,
        "created_at": record.created_at.isoformat(),
        "issued_at": record.issued_at.isoformat() if record.issued_at else None,
        "voided_at": record.voided_at.isoformat() if record.voided_at else None,
        "void_reason": record.void_reason,
        "links": links,
    }


@bp.post("")
def create() -> tuple[Response, int]:
    try:
        envelope = IssueRequestSchema().load(json_body())
    except ValidationError as exc:
        raise InvalidData(flatten_errors(exc.messages)) from None
    svc = services()
    if envelope["agency"] is not None and envelope["agency"] not in svc.agencies.by_id:
        raise InvalidData({"agency": ["未配置该行政机关 / unknown agency"]})
    result = issuing.issue(
        svc,
        envelope["form"],
        envelope["data"],
        principal=require_principal(),
        agency_id=envelope["agency"],
        idempotency_key=request.headers.get("Idempotency-Key"),
        request_id=g.get("request_id"),
    )
    response = jsonify(document_json(result.document))
    response.headers["Location"] = url_for("documents_api.show", document_id=result.document.id)
    if result.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response, 201


@bp.get("/<document_id>")
def show(document_id: str) -> Response:
    return jsonify(document_json(documents.get_document(services(), require_principal(), document_id)))


@bp.get("/<document_id>/pdf")
def pdf(document_id: str) -> Response:
    return file_response(*documents.document_file(services(), require_principal(), document_id, "pdf"), "pdf")


@bp.get("/<document_id>/docx")
def docx(document_id: str) -> Response:
    return file_response(*documents.document_file(services(), require_principal(), document_id, "docx"), "docx")


@bp.post("/<document_id>/void")
def void(document_id: str) -> Response:
    body = json_body()
    reason = body.get("reason") if isinstance(body, dict) else None
    return jsonify(document_json(voiding.void(services(), require_principal(), document_id, reason)))
