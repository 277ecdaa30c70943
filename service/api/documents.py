"""POST /api/v1/documents and GET /api/v1/documents/{id} (+ /pdf, /docx, /void)."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, g, request, url_for

from .. import documents, issuing, signing_flow, voiding
from ..auth.http import client_address, require_principal
from ..http.downloads import MIMETYPES, file_response
from ..evidence import evidence as evidence_of
from ..http.openapi import BINARY, TEXT, Blueprint, header
from ..http.report_page import render_evidence_html, wants_html
from ..registry.documents import DocumentRecord
from ..runtime import Services
from .schemas import (
    DocumentSchema,
    EvidenceSchema,
    IdempotencySchema,
    IssueRequestSchema,
    StaffSignatureSchema,
    VoidRequestSchema,
)

bp = Blueprint("documents_api", __name__, url_prefix="/api/v1/documents", description="issuing, reading and voiding documents")


def services() -> Services:
    return current_app.extensions["chengnuo"]


def _created(result: issuing.IssueResult) -> tuple[DocumentRecord, int, dict[str, str]]:
    headers = {"Location": url_for("documents_api.show", document_id=result.document.id)}
    if result.replayed:
        headers["Idempotent-Replayed"] = "true"
    return documents.detail(services(), result.document), 201, headers


@bp.post("")
@bp.arguments(IssueRequestSchema)
@bp.arguments(IdempotencySchema, location="headers", error_status_code=400)
@bp.response(201, DocumentSchema, description="issued (or, with a repeated Idempotency-Key, the first document)",
             headers={"Location": header("LOCATION"), "Idempotent-Replayed": header("IDEMPOTENT_REPLAYED")})
@bp.errors(404, (409, "Idempotency-Key reused with another body, or that request still in progress"), 413,
           (422, "invalid data: every bad field by its path"), (429, "converters busy, queue full; see Retry-After"),
           (500, "issuing failed; the drawn number is voided with the reason"), (502, "conversion failed"),
           (503, "the timestamping service is unavailable; see Retry-After"), (504, "conversion timed out"))
def create(envelope: dict[str, Any], headers: dict[str, str]) -> tuple[DocumentRecord, int, dict[str, str]]:
    """Issue one document."""
    return _created(issuing.issue(services(), envelope["form"], envelope["data"], principal=require_principal(),
                                  agency_id=envelope["agency"], idempotency_key=headers.get("idempotency_key"),
                                  request_id=g.get("request_id")))


@bp.get("/<document_id>")
@bp.response(200, DocumentSchema)
@bp.errors((404, "unknown document"))
def show(document_id: str) -> DocumentRecord:
    """A document's metadata."""
    return documents.get_detail(services(), require_principal(), document_id)


@bp.get("/<document_id>/pdf")
@bp.response(200, BINARY, content_type=MIMETYPES["pdf"], description="the signed PDF, latest revision")
@bp.errors((404, "unknown document, or not issued"))
def pdf(document_id: str) -> Response:
    """The issued PDF."""
    return file_response(*documents.document_file(services(), require_principal(), document_id, "pdf"), "pdf")


@bp.get("/<document_id>/docx")
@bp.response(200, BINARY, content_type=MIMETYPES["docx"], description="the rendered DOCX")
@bp.errors((404, "unknown document, or not issued"))
def docx(document_id: str) -> Response:
    """The issued DOCX."""
    return file_response(*documents.document_file(services(), require_principal(), document_id, "docx"), "docx")


@bp.post("/<document_id>/void")
@bp.arguments(VoidRequestSchema)
@bp.response(200, DocumentSchema, description="voided")
@bp.errors((404, "unknown document"), (409, "not an issued document"), (422, "no reason given"))
def void(body: dict[str, str], document_id: str) -> DocumentRecord:
    """Void an issued document: it stays in the registry, and verifications of it then say invalid."""
    return documents.detail(services(), voiding.void(services(), require_principal(), document_id, body["reason"]))


@bp.get("/<document_id>/evidence")
@bp.response(200, EvidenceSchema, description="the signing evidence (JSON; the printable 签署证明 for Accept: text/html)")
@bp.alt_response(200, success=True, content_type="text/html", schema=TEXT, description="the printable 签署证明")
@bp.errors((404, "unknown document"))
def evidence(document_id: str) -> Any:
    """What happened to the document, from the audit chain: issue, signing links, signatures, voiding."""
    found = evidence_of(services(), require_principal(), document_id)
    return Response(render_evidence_html(found), mimetype="text/html") if wants_html() else found


@bp.post("/<document_id>/signatures")
@bp.arguments(StaffSignatureSchema)
@bp.response(200, DocumentSchema, description="signed: the new revision is the latest, completed when nobody is left")
@bp.errors((403, "not a signed-in clerk or supervisor, or a wrong password (wrong_password)"), (404, "unknown document"),
           (409, "voided, complete, signed already, not this party's turn, or a party that signs in person"),
           (422, "the form has no such party"), (503, "the timestamping service is unavailable; see Retry-After"))
def sign(body: dict[str, str], document_id: str) -> DocumentRecord:
    """A signed-in staff member signs their party (经办人, 核验人, 现场核验人员) with their own certificate."""
    return documents.detail(services(), signing_flow.sign_as_staff(
        services(), require_principal(), document_id, body["party"], body["password"],
        signing_flow.Client(client_address(), request.headers.get("User-Agent", ""))))
