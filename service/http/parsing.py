"""Reading requests for the declared contract: webargs' parser, with our body readers and our errors.

A JSON body that is malformed, or nested deep enough to exhaust Python's recursion, is a 400
(``invalid_json``), never a 500. The body is read as JSON whatever its Content-Type says, as it always
was. A verification's PDF comes raw (``application/pdf``) or as the multipart field ``file``: the
location ``pdf`` reads either. An upload with its form fields (a catalogue import) is the location
``multipart``: the files and the fields as one. Field errors are raised as ours, with flat dotted paths, so that
``errors.py`` answers them like any other: 422 ``invalid_data``, or 400 ``invalid_request`` for
arguments declared with ``error_status_code=400`` (headers).
"""

from __future__ import annotations

import json
from typing import Any, ClassVar, NoReturn

from flask import Request, current_app
from marshmallow import Schema, ValidationError
from webargs.flaskparser import FlaskParser
from werkzeug.datastructures import CombinedMultiDict

from ..errors import InvalidData, InvalidRequest
from ..forms.fields import flatten_errors

MAX_DEPTH = 32
MULTIPART_ROOM = 64 * 1024  # the multipart envelope around an upload


def _too_deep(value: Any) -> bool:
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            return True
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return False


def json_body(request: Request) -> Any:
    """The parsed body; raises InvalidRequest (400) for anything that is not reasonable JSON."""
    try:
        body = json.loads(request.get_data(cache=True))
    except (ValueError, RecursionError):
        raise InvalidRequest("请求体不是有效的 JSON", "the request body is not valid JSON", code="invalid_json") from None
    if _too_deep(body):
        raise InvalidRequest(f"JSON 嵌套超过 {MAX_DEPTH} 层", f"the JSON is nested deeper than {MAX_DEPTH} levels", code="invalid_json")
    return body


def uploaded_pdf(request: Request, limit: int) -> bytes:
    """The uploaded PDF, raw or multipart; raises InvalidRequest when a multipart request has no ``file``."""
    request.max_content_length = limit + MULTIPART_ROOM
    if request.mimetype == "multipart/form-data":
        upload = request.files.get("file")
        if upload is None:
            raise InvalidRequest("请在表单字段 file 中上传 PDF 文件", "upload the PDF in the multipart field 'file'", code="missing_file")
        return upload.read()
    return request.get_data()


class Parser(FlaskParser):
    __location_map__: ClassVar[dict[str, Any]] = {**FlaskParser.__location_map__, "pdf": "load_pdf", "multipart": "load_multipart",
                                                     "batch": "load_batch"}

    def _raw_load_json(self, req: Request) -> Any:
        return json_body(req)

    def load_pdf(self, req: Request, schema: Schema) -> dict[str, bytes]:
        return {"file": uploaded_pdf(req, current_app.extensions["chengnuo"].settings.verify_max_bytes)}

    def load_multipart(self, req: Request, schema: Schema) -> Any:
        return self._makeproxy(CombinedMultiDict([req.files, req.form]), schema)

    def load_batch(self, req: Request, schema: Schema) -> Any:
        """A batch: JSON, or a multipart upload with its form fields; either up to the batch limit, not the request one."""
        req.max_content_length = current_app.extensions["chengnuo"].settings.batch_max_bytes + MULTIPART_ROOM
        if req.mimetype == "multipart/form-data":
            return self.load_multipart(req, schema)
        return self.load_json(req, schema)

    def handle_error(self, error: ValidationError, req: Request, schema: Schema, *, error_status_code: int | None,
                     error_headers: Any) -> NoReturn:
        # webargs files the messages under their location ({"json": {...}}); the paths start below it.
        errors = flatten_errors(next(iter(error.messages.values())) if isinstance(error.messages, dict) else error.messages)
        if error_status_code == 400:
            raise InvalidRequest("请求参数有误", "the request's parameters are invalid", errors=errors)
        raise InvalidData(errors)


PARSER = Parser()
