"""Every error becomes ``{"error": code, "message": …, "errors": {…}}`` here, and only here.

Expected errors carry their own safe, bilingual message; anything unexpected is logged with its
cause and answered with a generic 500 that leaks nothing.
"""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify
from marshmallow import Schema, fields
from werkzeug.exceptions import HTTPException

from ..errors import (
    ChengnuoError,
    ConfigurationError,
    Conflict,
    ConversionError,
    ConversionTimeout,
    ConverterBusy,
    FileTooLarge,
    Forbidden,
    Gone,
    InvalidData,
    InvalidRequest,
    Locked,
    NotFound,
    PdfTooLarge,
    PipelineError,
    RevocationUnavailable,
    SealExpired,
    ServiceBusy,
    SigningKeyCompromised,
    SigningServerUnavailable,
    SigningTokenUnavailable,
    StorageUnavailable,
    StoredFileCorrupt,
    TemplateError,
    TemplateRenderLimit,
    TimestampUnavailable,
    Unauthorized,
    UnsafeTemplate,
    UnusablePdf,
    UnusableSeal,
    bilingual,
)

log = logging.getLogger(__name__)

# Most specific first.
STATUS: tuple[tuple[type[ChengnuoError], int], ...] = (
    (InvalidRequest, 400),
    (InvalidData, 422),
    (UnusablePdf, 422),
    (UnusableSeal, 422),
    (UnsafeTemplate, 422),
    (TemplateRenderLimit, 422),
    (PdfTooLarge, 413),
    (FileTooLarge, 413),
    (Unauthorized, 401),
    (Forbidden, 403),
    (NotFound, 404),
    (Conflict, 409),
    (Gone, 410),
    (Locked, 423),
    (ConverterBusy, 429),
    (ServiceBusy, 503),
    (StorageUnavailable, 503),
    (StoredFileCorrupt, 500),
    (TimestampUnavailable, 503),
    (RevocationUnavailable, 503),
    (SigningTokenUnavailable, 503),
    (SigningKeyCompromised, 503),
    (SigningServerUnavailable, 503),
    (SealExpired, 503),
    (ConversionTimeout, 504),
    (ConversionError, 502),
    (TemplateError, 500),
    (PipelineError, 500),
    (ConfigurationError, 500),
)

_HTTP_MESSAGES = {
    400: ("请求格式错误", "the request is malformed"),
    401: ("需要身份验证", "authentication is required"),
    403: ("无权执行此操作", "not allowed"),
    404: ("资源不存在", "not found"),
    405: ("不支持该请求方法", "method not allowed"),
    406: ("无法提供所需的格式", "not acceptable"),
    413: ("请求内容过大", "the request body is too large"),
    415: ("不支持的内容类型", "unsupported media type"),
    429: ("请求过于频繁", "too many requests"),
}


class ErrorSchema(Schema):
    """The one error envelope: what every error answer carries, and what the OpenAPI document says of it."""

    error = fields.String(required=True, metadata={"description": "stable machine-readable code, e.g. invalid_data"})
    message = fields.String(required=True, metadata={"description": "中文 / English"})
    errors = fields.Dict(
        keys=fields.String(),
        values=fields.List(fields.String()),
        metadata={"description": "field errors by dotted path (applicant.id_number), each message 中文 / English"},
    )


ENVELOPE = ErrorSchema()


def status_of(error: ChengnuoError) -> int:
    for kind, status in STATUS:
        if isinstance(error, kind):
            return status
    return 500


def error_response(status: int, code: str, message: str, errors: dict | None = None) -> Response:
    body: dict = {"error": code, "message": message}
    if errors:
        body["errors"] = errors
    response = jsonify(ENVELOPE.dump(body))
    response.status_code = status
    return response


def handle_chengnuo_error(error: ChengnuoError) -> Response:
    status = status_of(error)
    if status >= 500:
        log.error("%s: %s", error.code, error.en, exc_info=error.__cause__ is not None)
    response = error_response(status, error.code, error.message, getattr(error, "errors", None))
    if isinstance(error, (ConverterBusy, ServiceBusy, StorageUnavailable)):
        response.headers["Retry-After"] = str(error.retry_after)
    elif isinstance(error, Unauthorized):
        response.headers["WWW-Authenticate"] = 'Bearer realm="chengnuo"'
    elif isinstance(error, (TimestampUnavailable, RevocationUnavailable)):
        response.headers["Retry-After"] = "30"
    return response


def handle_http_exception(error: HTTPException) -> Response:
    status = error.code or 500
    zh, en = _HTTP_MESSAGES.get(status, ("请求无法处理", error.name.lower()))
    code = error.name.lower().replace(" ", "_")
    response = error_response(status, code, bilingual(zh, en))
    if status == 405 and error.valid_methods:  # type: ignore[attr-defined]
        response.headers["Allow"] = ", ".join(error.valid_methods)  # type: ignore[attr-defined]
    return response


def handle_unexpected(error: Exception) -> Response:
    log.exception("unexpected error")
    return error_response(500, "internal_error", bilingual("服务器内部错误，请稍后重试", "internal server error; please retry later"))


def init_app(app: Flask) -> None:
    app.register_error_handler(ChengnuoError, handle_chengnuo_error)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(Exception, handle_unexpected)
