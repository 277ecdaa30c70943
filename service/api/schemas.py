"""Schemas of the API's own envelopes (not the forms' data, which each form's schema defines)."""

from __future__ import annotations

from marshmallow import fields, validate

from ..errors import bilingual
from ..forms import CATALOGUE
from ..forms.fields import MSG_NULL, MSG_REQUIRED, FormSchema


class IssueRequestSchema(FormSchema):
    form = fields.String(
        required=True,
        validate=validate.OneOf(list(CATALOGUE), error=bilingual("未知的表单编号", "unknown form id")),
        error_messages={"required": MSG_REQUIRED, "null": MSG_NULL, "invalid": bilingual("应为文本", "must be a string")},
        metadata={"description": "form id, see GET /api/v1/forms"},
    )
    agency = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(min=1, max=64),
        error_messages={"invalid": bilingual("应为文本", "must be a string")},
        metadata={"description": "issuing agency id (default: the configured default agency)"},
    )
    data = fields.Dict(
        required=True,
        error_messages={"required": MSG_REQUIRED, "null": MSG_NULL, "invalid": bilingual("应为 JSON 对象", "must be a JSON object")},
        metadata={"description": "the form's data; its JSON Schema is at GET /api/v1/forms/{form}"},
    )


class LinksSchema(FormSchema):
    pdf = fields.String()
    docx = fields.String()
    verify = fields.String()
    self_ = fields.String(data_key="self")


class DocumentSchema(FormSchema):
    id = fields.String()
    form = fields.String()
    agency = fields.String()
    serial = fields.String()
    number = fields.String(allow_none=True)
    status = fields.String(metadata={"enum": ["issuing", "issued", "voided"]})
    sha256 = fields.String(allow_none=True)
    created_at = fields.DateTime()
    issued_at = fields.DateTime(allow_none=True)
    voided_at = fields.DateTime(allow_none=True)
    void_reason = fields.String(allow_none=True)
    links = fields.Nested(LinksSchema)


class ErrorSchema(FormSchema):
    error = fields.String(required=True)
    message = fields.String(required=True)
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()))


class FormSummarySchema(FormSchema):
    id = fields.String()
    title = fields.String()
    source = fields.String()
    number_kind = fields.String(allow_none=True)
    links = fields.Dict()
