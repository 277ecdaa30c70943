"""The declared HTTP contract: flask-smorest builds ``/api/openapi.json`` from the blueprints' schemas.

Blueprints declare each operation once (``arguments`` validates the request, ``response`` dumps the answer,
both document it). Errors stay ours: flask-smorest's own error handler is replaced by ``errors.py``'s, and
webargs' validation errors are raised as ours by ``parsing.PARSER``. The JSON API (``api/``) and the
public page (``web/``) both declare their routes with the Blueprint here.
"""

from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus
from typing import Any, ClassVar

import flask_smorest
from flask import Flask

from ..auth.http import require_principal
from . import errors
from .parsing import PARSER

# Bodies that are not JSON objects, for the few operations that answer files, pages or text.
BINARY = {"type": "string", "format": "binary"}
TEXT = {"type": "string"}

SECURITY_SCHEMES = {
    "apiKey": {"type": "http", "scheme": "bearer", "description": "a calling system's key: Authorization: Bearer cnk_…"},
    "session": {"type": "apiKey", "in": "cookie", "name": "chengnuo_session",
                "description": "a signed-in person; state-changing requests also send X-CSRF-Token"},
}
HEADERS = {
    "X_REQUEST_ID": ("X-Request-ID", "the request id (the client's, or a new one), also in the server's logs"),
    "LOCATION": ("Location", "the path of the document"),
    "IDEMPOTENT_REPLAYED": ("Idempotent-Replayed", "true when a repeated Idempotency-Key returned the first document"),
    "RETRY_AFTER": ("Retry-After", "seconds to wait before retrying"),
    "WWW_AUTHENTICATE": ("WWW-Authenticate", 'Bearer realm="chengnuo"'),
}
UNSAFE = {"post", "put", "patch", "delete"}


def header(name: str) -> dict[str, str]:
    """A reference to one of ``HEADERS``, for ``response(headers=…)``."""
    return {"$ref": f"#/components/headers/{name}"}


class Api(flask_smorest.Api):
    """Serves the document at /api/openapi.json; errors are answered by ``errors.py`` only."""

    ERROR_SCHEMA = errors.ErrorSchema
    DEFAULT_ERROR_RESPONSE_NAME = None  # every status an operation can answer is listed, so that tests can hold us to it

    def __init__(self, app: Flask, *, title: str, version: str, description: str) -> None:
        app.config.update(OPENAPI_URL_PREFIX="/api", OPENAPI_JSON_PATH="openapi.json")
        super().__init__(app, spec_kwargs={
            "title": title, "version": version, "openapi_version": "3.1.0",
            "info": {"description": description}, "security": [{"apiKey": []}, {"session": []}],
        })
        for name, scheme in SECURITY_SCHEMES.items():
            self.spec.components.security_scheme(name, scheme)
        for key, (name, meaning) in HEADERS.items():
            self.spec.components.header(key, {"description": f"{name}: {meaning}", "schema": {"type": "string"}})

    def _register_error_handlers(self) -> None:
        errors.init_app(self._app)


class Blueprint(flask_smorest.Blueprint):
    """A documented blueprint. ``public`` operations need no credentials; ``rate_limited`` ones may answer 429.

    Elsewhere a caller without credentials is refused (401) before its request is validated, so that the
    validation errors tell it nothing. Every operation may answer 401 (a bad API key is refused anywhere);
    one that needs credentials also 403, and so does a state-changing one (a session without its CSRF token);
    one with a body also 400 (malformed). Those are added to the document here, not repeated on every view.
    """

    ARGUMENTS_PARSER = PARSER
    DEFAULT_LOCATION_CONTENT_TYPE_MAPPING: ClassVar[dict[str, str]] = {
        **flask_smorest.Blueprint.DEFAULT_LOCATION_CONTENT_TYPE_MAPPING, "pdf": "multipart/form-data",
        "multipart": "multipart/form-data", "batch": "application/json"}

    def __init__(self, *args: Any, public: bool = False, rate_limited: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.public = public
        self.rate_limited = rate_limited
        self._prepare_doc_cbks.append(self._prepare_access_doc)
        if not public:
            self.before_request(_authenticate)

    def errors(self, *statuses: int | tuple[int, str]) -> Callable[[Callable], Callable]:
        """Documents error answers (the envelope): ``404`` with the status's phrase, or ``(404, "unknown document")``."""

        def decorator(view: Callable) -> Callable:
            for status in reversed(statuses):
                code, description = status if isinstance(status, tuple) else (status, None)
                view = self.alt_response(code, schema=errors.ErrorSchema, description=description or HTTPStatus(code).phrase,
                                         headers=_error_headers(code))(view)
            return view

        return decorator

    def _prepare_access_doc(self, doc: dict, doc_info: dict, *, method: str, **kwargs: Any) -> dict:
        needed = {401} | ({403} if not self.public or method in UNSAFE else set()) | \
            ({400} if "requestBody" in doc else set()) | ({429} if self.rate_limited else set())
        responses = doc.setdefault("responses", {})
        for status in sorted(needed):
            responses.setdefault(status, _error_response(status))
        for response in responses.values():
            if isinstance(response, dict):  # not a reference to a response component
                response.setdefault("headers", {}).setdefault("X-Request-ID", header("X_REQUEST_ID"))
        if self.public:
            doc["security"] = []
        return doc


def _authenticate() -> None:
    require_principal()


def _error_headers(status: int) -> dict[str, Any] | None:
    if status in (429, 503):
        return {"Retry-After": header("RETRY_AFTER")}
    if status == 401:
        return {"WWW-Authenticate": header("WWW_AUTHENTICATE")}
    return None


def _error_response(status: int) -> dict[str, Any]:
    """An error answer as flask-smorest's ``alt_response`` would have prepared it."""
    response = {"description": HTTPStatus(status).phrase, "content": {"application/json": {"schema": errors.ErrorSchema}}}
    if headers := _error_headers(status):
        response["headers"] = headers
    return response
