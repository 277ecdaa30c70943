"""GET /api/openapi.json: the OpenAPI 3.1 description of the HTTP contract in DESIGN.md."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Blueprint, Response, jsonify

from .. import __version__
from ..forms import CATALOGUE
from .schemas import DocumentSchema, ErrorSchema, FormSummarySchema, IssueRequestSchema

bp = Blueprint("openapi", __name__)


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


def _json(ref: str, description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}}}


REQUEST_ID = {
    "X-Request-ID": {"description": "the request id, also in the server's logs", "schema": {"type": "string"}},
}


@lru_cache(maxsize=1)
def build_spec() -> dict[str, Any]:
    spec = APISpec(
        title="chengnuo 告知承诺文书服务",
        version=__version__,
        openapi_version="3.1.0",
        plugins=[MarshmallowPlugin()],
        info={"description": "Issue numbered official forms of the 证明事项告知承诺制 and 信用承诺 reforms as PDFs."},
    )
    spec.components.schema("IssueRequest", schema=IssueRequestSchema)
    spec.components.schema("Document", schema=DocumentSchema)
    spec.components.schema("Error", schema=ErrorSchema)
    spec.components.schema("FormSummary", schema=FormSummarySchema)
    form_param = {"name": "form_id", "in": "path", "required": True, "schema": {"type": "string", "enum": list(CATALOGUE)}}
    doc_param = {"name": "document_id", "in": "path", "required": True, "schema": {"type": "string"}}
    spec.path(
        path="/api/v1/forms",
        operations={
            "get": {
                "summary": "the form catalogue",
                "responses": {
                    "200": {
                        "description": "every form",
                        "content": {"application/json": {"schema": {"type": "object", "properties": {"forms": {"type": "array", "items": {"$ref": "#/components/schemas/FormSummary"}}}}}},
                    }
                },
            }
        },
    )
    spec.path(
        path="/api/v1/forms/{form_id}",
        operations={
            "get": {
                "summary": "a form's JSON Schema and a sample of its data",
                "parameters": [form_param],
                "responses": {"200": {"description": "the form", "content": {"application/json": {"schema": {"type": "object"}}}}, "404": _error("unknown form")},
            }
        },
    )
    spec.path(
        path="/api/v1/documents",
        operations={
            "post": {
                "summary": "issue one document",
                "parameters": [
                    {"name": "Idempotency-Key", "in": "header", "required": False, "schema": {"type": "string", "maxLength": 255},
                     "description": "a repeat with the same key and body returns the first document; another body gets 409"},
                ],
                "requestBody": {"required": True, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/IssueRequest"}}}},
                "responses": {
                    "201": {**_json("Document", "issued (or, with a repeated Idempotency-Key, the first document)"), "headers": REQUEST_ID},
                    "400": _error("malformed request"),
                    "409": _error("Idempotency-Key reused with another body, or still in progress"),
                    "413": _error("request too large"),
                    "422": _error("invalid data: every bad field by its path"),
                    "500": _error("issuing failed; the drawn number is voided with the reason"),
                    "502": _error("conversion failed"),
                    "503": _error("converters busy; see Retry-After"),
                    "504": _error("conversion timed out"),
                },
            }
        },
    )
    spec.path(
        path="/api/v1/documents/{document_id}",
        operations={"get": {"summary": "a document's metadata", "parameters": [doc_param],
                            "responses": {"200": _json("Document", "the document"), "404": _error("unknown document")}}},
    )
    for suffix, mimetype in (("pdf", "application/pdf"), ("docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document")):
        spec.path(
            path=f"/api/v1/documents/{{document_id}}/{suffix}",
            operations={"get": {"summary": f"the issued {suffix.upper()}", "parameters": [doc_param],
                                "responses": {"200": {"description": "the file", "content": {mimetype: {"schema": {"type": "string", "format": "binary"}}}},
                                              "404": _error("unknown document, or not issued")}}},
        )
    spec.path(
        path="/v/{serial}",
        operations={"get": {"summary": "the public page a document's QR code opens",
                            "parameters": [{"name": "serial", "in": "path", "required": True, "schema": {"type": "string"}}],
                            "responses": {"200": {"description": "HTML page", "content": {"text/html": {"schema": {"type": "string"}}}},
                                          "404": {"description": "unknown serial", "content": {"text/html": {"schema": {"type": "string"}}}}}}},
    )
    spec.path(
        path="/healthz",
        operations={"get": {"summary": "liveness and readiness",
                            "responses": {"200": {"description": "ready", "content": {"application/json": {"schema": {"type": "object"}}}},
                                          "503": {"description": "not ready", "content": {"application/json": {"schema": {"type": "object"}}}}}}},
    )
    return spec.to_dict()


@bp.get("/api/openapi.json")
def openapi_json() -> Response:
    return jsonify(build_spec())
