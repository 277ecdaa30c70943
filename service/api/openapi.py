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


_NULLABLE_STRING = {"type": ["string", "null"]}
VERIFICATION_REPORT = {
    "type": "object",
    "required": ["verdict", "reasons", "document", "signatures", "changes_since_issue"],
    "properties": {
        "verdict": {"type": "string", "enum": ["valid", "invalid", "indeterminate"]},
        "reasons": {"type": "array", "items": {"type": "string"}, "description": "Chinese / English, one line each"},
        "reasons_detail": {"type": "array", "items": {"type": "object", "properties": {
            "zh": {"type": "string"}, "en": {"type": "string"}, "severity": {"type": "string", "enum": ["invalid", "indeterminate", "info"]}}}},
        "document": {"type": "object", "required": ["registered"], "properties": {
            "registered": {"type": "boolean"}, **{k: _NULLABLE_STRING for k in (
                "id", "form", "form_title", "serial", "number", "agency", "issued_at", "status", "voided_at", "void_reason")}}},
        "signatures": {"type": "array", "items": {"type": "object", "properties": {
            "field": {"type": "string"}, "role": {"type": "string"}, "signer": {"type": "string"},
            "intact": {"type": "boolean"}, "trusted": {"type": "boolean"}, "certification": {"type": "boolean"},
            "signed_at": _NULLABLE_STRING, "timestamp": _NULLABLE_STRING, "coverage": {"type": "string"},
            "modifications": _NULLABLE_STRING}}},
        "changes_since_issue": {"type": "string", "enum": ["none", "form_filling_and_signing", "disallowed"]},
        "checked_at": {"type": "string"},
    },
}

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
    spec.components.schema("VerificationReport", VERIFICATION_REPORT)
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
                    {"name": "Idempotency-Key", "in": "header", "required": False, "schema": {"type": "string", "minLength": 1, "maxLength": 200},
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
                    "429": _error("converters busy, queue full; see Retry-After"),
                    "503": _error("the timestamping service is unavailable; see Retry-After"),
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
        path="/api/v1/documents/{document_id}/void",
        operations={"post": {"summary": "void an issued document (it stays in the registry; verification then says invalid)",
                             "parameters": [doc_param],
                             "requestBody": {"required": True, "content": {"application/json": {"schema": {
                                 "type": "object", "required": ["reason"],
                                 "properties": {"reason": {"type": "string", "minLength": 1, "maxLength": 500}}}}}},
                             "responses": {"200": _json("Document", "voided"), "404": _error("unknown document"),
                                           "409": _error("not an issued document"), "422": _error("no reason given")}}},
    )
    spec.path(
        path="/api/v1/verifications",
        operations={"post": {
            "summary": "verify a PDF that came back: signatures, changes since issue, registry match",
            "requestBody": {"required": True, "content": {
                "application/pdf": {"schema": {"type": "string", "format": "binary"}},
                "multipart/form-data": {"schema": {"type": "object", "required": ["file"],
                                                   "properties": {"file": {"type": "string", "format": "binary"}}}},
            }},
            "responses": {
                "200": {"description": "the report (JSON; an HTML page for Accept: text/html)",
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/VerificationReport"}},
                                    "text/html": {"schema": {"type": "string"}}}},
                "400": _error("no file in the multipart request"),
                "413": _error("file over the size limit"),
                "422": _error("not a usable PDF: empty, not a PDF, damaged, encrypted, too complex, too slow"),
            },
        }},
    )
    spec.path(
        path="/v/{serial}",
        operations={"get": {"summary": "the public page a document's QR code opens",
                            "parameters": [{"name": "serial", "in": "path", "required": True, "schema": {"type": "string"}}],
                            "responses": {"200": {"description": "HTML page", "content": {"text/html": {"schema": {"type": "string"}}}},
                                          "404": {"description": "unknown serial", "content": {"text/html": {"schema": {"type": "string"}}}}}}},
    )
    spec.path(
        path="/metrics",
        operations={"get": {"summary": "Prometheus metrics", "responses": {"200": {"description": "text exposition format",
                                                                               "content": {"text/plain": {"schema": {"type": "string"}}}}}}},
    )
    spec.path(
        path="/healthz",
        operations={"get": {"summary": "liveness and readiness",
                            "responses": {"200": {"description": "ready", "content": {"application/json": {"schema": {"type": "object"}}}},
                                          "503": {"description": "not ready", "content": {"application/json": {"schema": {"type": "object"}}}}}}},
    )
    key_param = {"name": "key_id", "in": "path", "required": True, "schema": {"type": "string"}}
    text = {"type": "string", "minLength": 1}
    admin_errors = {"400": _error("malformed request"), "401": _error("not signed in"), "403": _error("not an administrator"),
                    "422": _error("invalid fields")}
    spec.path(path="/api/v1/users", operations={
        "get": {"summary": "the users (administrators)", "responses": {"200": {"description": "users", "content": {"application/json": {"schema": {"type": "object"}}}}}},
        "post": {"summary": "create a user; the generated password is in the answer, once",
                 "requestBody": {"required": True, "content": {"application/json": {"schema": {
                     "type": "object", "required": ["username", "role"],
                     "properties": {"username": text, "role": {"type": "string", "enum": ["clerk", "supervisor", "admin"]}, "agency": text}}}}},
                 "responses": {"201": {"description": "created", "content": {"application/json": {"schema": {"type": "object"}}}},
                               "404": _error("unknown agency"), "409": _error("user name taken"), **admin_errors}},
    })
    spec.path(path="/api/v1/keys", operations={
        "get": {"summary": "the API keys (never the keys themselves)", "responses": {"200": {"description": "keys", "content": {"application/json": {"schema": {"type": "object"}}}}}},
        "post": {"summary": "create an API key for agencies and forms; the key is in the answer, once",
                 "requestBody": {"required": True, "content": {"application/json": {"schema": {
                     "type": "object", "required": ["name", "agencies"],
                     "properties": {"name": text, "agencies": {"type": "array", "items": text, "minItems": 1},
                                    "forms": {"type": "array", "items": text}}}}}},
                 "responses": {"201": {"description": "created", "content": {"application/json": {"schema": {"type": "object"}}}},
                               "404": _error("unknown agency"), **admin_errors}},
    })
    spec.path(path="/api/v1/keys/{key_id}/revoke", operations={
        "post": {"summary": "revoke an API key", "parameters": [key_param],
                 "responses": {"200": {"description": "revoked", "content": {"application/json": {"schema": {"type": "object"}}}},
                               "404": _error("unknown key"), **admin_errors}},
    })
    document = spec.to_dict()
    document["components"]["securitySchemes"] = {
        "apiKey": {"type": "http", "scheme": "bearer", "description": "a calling system's key: Authorization: Bearer cnk_…"},
        "session": {"type": "apiKey", "in": "cookie", "name": "chengnuo_session",
                    "description": "a signed-in person; state-changing requests also send X-CSRF-Token"},
    }
    public = {"/api/v1/forms", "/api/v1/forms/{form_id}", "/api/v1/verifications", "/v/{serial}", "/healthz", "/metrics"}
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            if path not in public:
                operation["security"] = [{"apiKey": []}, {"session": []}]
                responses.setdefault("401", _error("no or bad credentials"))
                responses.setdefault("403", _error("not allowed, or CSRF token missing"))
            else:
                operation["security"] = []
                responses.setdefault("401", _error("a bad API key was sent"))
            if path in ("/api/v1/verifications", "/v/{serial}"):
                responses.setdefault("429", _error("too many requests from this address; see Retry-After"))
            if method == "post":
                responses.setdefault("400", _error("malformed request"))
                responses.setdefault("403", _error("CSRF token missing for a signed-in session"))
    return document


@bp.get("/api/openapi.json")
def openapi_json() -> Response:
    return jsonify(build_spec())
