"""The declared answers of /api/v1/assistance (request bodies are ``cases/inputs.py``'s)."""

from __future__ import annotations

from typing import Any

from flask import current_app
from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate
from werkzeug.datastructures import FileStorage

from ..cases.inputs import ExternalReplySchema
from ..errors import bilingual
from .schemas import DocumentSchema


class AssistanceSchema(Schema):
    """Dumps an ``AssistanceRecord``."""

    id = fields.String(required=True)
    case_id = fields.String(required=True, metadata={"description": "the asking case (readable by the asking agency only)"})
    request_document_id = fields.String(required=True)
    from_agency = fields.String(required=True)
    to_agency = fields.String(required=True, allow_none=True, metadata={"description": "None: an agency outside the service"})
    addressee = fields.String(required=True)
    kind = fields.String(required=True, metadata={"description": "written (一) or visit (二)"})
    number = fields.String(required=True, allow_none=True, metadata={"description": "the request's 函字 number"})
    letter_date = fields.String(required=True, metadata={"format": "date"})
    reply_days = fields.Integer(required=True, allow_none=True)
    state = fields.String(required=True, validate=validate.OneOf(["open", "answered"]))
    finding = fields.String(required=True, allow_none=True, metadata={"description": "true, false, cannot_assist, not_ours"})
    reason = fields.String(required=True, allow_none=True)
    refer_to = fields.String(required=True, allow_none=True)
    visit = fields.Dict(required=True, allow_none=True)
    reply_document_id = fields.String(required=True, allow_none=True)
    reply_number = fields.String(required=True, allow_none=True)
    reply_date = fields.String(required=True, allow_none=True, metadata={"format": "date"})
    reply_verdict = fields.Dict(required=True, allow_none=True, metadata={"description": "an outside agency's PDF reply, verified"})
    answered_at = fields.DateTime(required=True, allow_none=True)
    created_at = fields.DateTime(required=True)


class AssistanceDetailSchema(AssistanceSchema):
    request = fields.Dict(required=True, metadata={"description": "the request as issued: applicant, matter, committed items …"})
    reply_fixed = fields.Dict(required=True, allow_none=True,
                              metadata={"description": "what the reply takes from the request, for the agency asked while open"})


class AssistanceListSchema(Schema):
    requests = fields.List(fields.Nested(AssistanceSchema), required=True)


class AnsweredSchema(Schema):
    request = fields.Nested(AssistanceSchema, required=True)
    document = fields.Nested(DocumentSchema, required=True, allow_none=True)


class IncomingQuerySchema(Schema):
    class Meta:
        unknown = EXCLUDE

    agency = fields.String(load_default=None)
    state = fields.String(load_default=None, validate=validate.OneOf(["open", "answered"]))


class PdfUpload(fields.Field):
    """A multipart file → its bytes, read no further than one byte over the verification limit (then refused: 413)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bytes:
        if isinstance(value, FileStorage):
            return value.stream.read(current_app.extensions["chengnuo"].settings.verify_max_bytes + 1)
        raise ValidationError(bilingual("应为上传的 PDF 文件", "must be an uploaded PDF file"))


class ExternalReplyUploadSchema(ExternalReplySchema):
    file = PdfUpload(load_default=None, metadata={"type": "string", "format": "binary",
                                                  "description": "the reply as a signed PDF, if there is one: verified, kept with its verdict"})
