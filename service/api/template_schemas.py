"""The templates API's bodies (/api/v1/templates): an agency's own versions of the forms' templates."""

from __future__ import annotations

from typing import Any, ClassVar

from flask import url_for
from marshmallow import EXCLUDE, Schema, fields, validate
from werkzeug.datastructures import FileStorage

from ..agency_templates.upload import MAX_BYTES
from ..errors import bilingual
from ..forms.fields import MSG_NULL
from .schemas import LenientBody, Link, Links, Name

MSG_BOOLEAN = bilingual("应为 true 或 false", "must be true or false")
MSG_VERSION = bilingual("应为版本号（0 为内置模板）", "must be a version number (0: the built-in template)")
AGENCY = {"description": "the agency (default: the caller's own, else the configured default)"}


class AgencyQuerySchema(Schema):
    class Meta:
        unknown = EXCLUDE

    agency = Name(load_default=None, metadata=AGENCY)


class DownloadQuerySchema(AgencyQuerySchema):
    version = fields.Integer(load_default=None, strict=False, validate=validate.Range(min=0, max=2**31 - 1, error=MSG_VERSION),
                             error_messages={"invalid": MSG_VERSION},
                             metadata={"description": "a version (0: the built-in template; default: the one in use)"})


class PageQuerySchema(Schema):
    class Meta:
        unknown = EXCLUDE

    version = fields.String(load_default="upload", validate=validate.OneOf(["upload", "current"], error=bilingual(
        "应为 upload 或 current", "must be upload or current")), metadata={"description": "the upload, or the template in use"})


class DocxUpload(fields.Field):
    """A multipart file → ``(filename, bytes)``, read no further than one byte over the limit."""

    default_error_messages: ClassVar[dict[str, str]] = {
        "required": bilingual("请在表单字段 file 中上传 DOCX 文件", "upload the DOCX file in the multipart field 'file'"),
        "null": MSG_NULL, "invalid": bilingual("应为上传的文件", "must be an uploaded file")}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> tuple[str | None, bytes]:
        if isinstance(value, FileStorage):
            return value.filename, value.stream.read(MAX_BYTES + 1)
        if isinstance(value, str):
            return None, value.encode("utf-8")
        raise self.make_error("invalid")


class UploadRequestSchema(LenientBody):
    file = DocxUpload(required=True, metadata={"type": "string", "format": "binary",
                                               "description": f"the edited template (DOCX), at most {MAX_BYTES // 1024 // 1024} MB"})
    agency = Name(load_default=None, allow_none=True, metadata=AGENCY)


class PreviewRequestSchema(LenientBody):
    data = fields.Dict(load_default=None, allow_none=True,
                       metadata={"description": "the form's data to preview with (default: the form's sample)"})


class PublishRequestSchema(LenientBody):
    acknowledge_warnings = fields.Boolean(load_default=False, error_messages={"invalid": MSG_BOOLEAN, "null": MSG_NULL},
                                          metadata={"description": "accept the check's warnings (removed fixed sentences)"})


class RollbackRequestSchema(LenientBody):
    agency = Name(load_default=None, allow_none=True, metadata=AGENCY)
    version = fields.Integer(required=True, strict=True, validate=validate.Range(min=0, max=2**31 - 1, error=MSG_VERSION),
                             error_messages={"invalid": MSG_VERSION, "null": MSG_NULL},
                             metadata={"description": "the version to restore (0: the built-in template)"})


# --- answers -------------------------------------------------------------------------------------------


class ProblemSchema(Schema):
    kind = fields.String(required=True, metadata={"description": "syntax, undefined, unused, missing_label, removed_sentence …"})
    severity = fields.String(required=True, validate=validate.OneOf(["error", "warning"]))
    location = fields.String(required=True, metadata={"description": "the line of the document (第 N 行 / line N)"})
    excerpt = fields.String(required=True)
    zh = fields.String(required=True)
    en = fields.String(required=True)


class VersionSchema(Schema):
    """Dumps a ``TemplateVersion``."""

    agency = fields.String(required=True)
    form = fields.String(required=True)
    version = fields.Integer(required=True)
    builtin = fields.Boolean(required=True, metadata={"description": "true: this version returns to the built-in template"})
    sha256 = fields.String(required=True, allow_none=True)
    size = fields.Integer(required=True, allow_none=True)
    filename = fields.String(required=True, allow_none=True)
    upload_id = fields.String(required=True, allow_none=True)
    restores = fields.Integer(required=True, allow_none=True, metadata={"description": "a rollback: the version restored (0: built-in)"})
    warnings_acknowledged = fields.Integer(required=True)
    created_by = fields.String(required=True, metadata={"description": "who published it"})
    created_at = fields.DateTime(required=True, metadata={"description": "when"})


class UploadLinksSchema(Schema):
    self_ = Link(lambda u: url_for("templates_api.upload", form_id=u.form, upload_id=u.id), data_key="self", required=True)
    preview = Link(lambda u: url_for("templates_api.preview", form_id=u.form, upload_id=u.id), required=True)
    publish = Link(lambda u: url_for("templates_api.publish_upload", form_id=u.form, upload_id=u.id), required=True)


class UploadSchema(Schema):
    """Dumps a ``TemplateUpload``."""

    id = fields.String(required=True)
    agency = fields.String(required=True)
    form = fields.String(required=True)
    filename = fields.String(required=True)
    sha256 = fields.String(required=True)
    size = fields.Integer(required=True)
    warnings = fields.List(fields.Nested(ProblemSchema), required=True,
                           metadata={"description": "to acknowledge before publishing (an upload with errors is refused)"})
    created_by = fields.String(required=True)
    created_at = fields.DateTime(required=True)
    published_version = fields.Integer(required=True, allow_none=True)
    links = Links(UploadLinksSchema)


class FormTemplateSummarySchema(Schema):
    """Dumps a ``FormTemplates`` without its versions."""

    agency = fields.String(required=True)
    form = fields.String(required=True)
    title = fields.String(required=True)
    version = fields.Integer(required=True, allow_none=True, metadata={"description": "the version in use; null: the built-in template"})


class FormTemplatesSchema(FormTemplateSummarySchema):
    """Dumps a ``FormTemplates``."""

    versions = fields.List(fields.Nested(VersionSchema), required=True, metadata={"description": "newest first"})


class OverviewSchema(Schema):
    agency = fields.String(required=True)
    forms = fields.List(fields.Nested(FormTemplateSummarySchema), required=True)
