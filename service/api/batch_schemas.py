"""The bulk-issuing API's bodies (/api/v1/batches)."""

from __future__ import annotations

from typing import Any, ClassVar

from flask import current_app, url_for
from marshmallow import Schema, ValidationError, fields, validates_schema
from werkzeug.datastructures import FileStorage

from ..errors import bilingual
from ..forms.fields import MSG_NULL
from .schemas import LenientBody, Link, Links, Name

MSG_ROWS = bilingual("应为 JSON 对象的列表", "must be a list of JSON objects")
MSG_ONE_SOURCE = bilingual("请提供 rows（JSON）或上传文件 file（CSV/XLSX），二者选一", "give either rows (JSON) or an uploaded file (CSV/XLSX)")


class BatchUpload(fields.Field):
    """A multipart file → ``(filename, bytes)``, read no further than one byte over the batch limit."""

    default_error_messages: ClassVar[dict[str, str]] = {"null": MSG_NULL, "invalid": bilingual("应为上传的文件", "must be an uploaded file")}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> tuple[str | None, bytes]:
        limit = current_app.extensions["chengnuo"].settings.batch_max_bytes
        if isinstance(value, FileStorage):
            return value.filename, value.stream.read(limit + 1)
        if isinstance(value, str):
            return None, value.encode("utf-8")
        raise self.make_error("invalid")


class BatchRequestSchema(LenientBody):
    form = Name(required=True, metadata={"description": "the form's id (GET /api/v1/forms)"})
    agency = Name(load_default=None, allow_none=True, metadata={"description": "the agency (default: the caller's own)"})
    rows = fields.List(fields.Dict(), load_default=None, error_messages={"invalid": MSG_ROWS, "null": MSG_NULL},
                       metadata={"description": "JSON: each row is the form's data, as for POST /api/v1/documents"})
    file = BatchUpload(load_default=None, metadata={"type": "string", "format": "binary",
                                                    "description": "multipart instead of JSON: a CSV (UTF-8 or GB18030) or XLSX whose "
                                                                   "columns are the form's fields (GET /api/v1/batches/templates/{form}.csv)"})

    @validates_schema
    def _one_source(self, data: dict[str, Any], **_: Any) -> None:
        if (data.get("rows") is None) == (data.get("file") is None):
            raise ValidationError(MSG_ONE_SOURCE, field_name="rows")


class FailedRowSchema(Schema):
    row = fields.Integer(required=True, metadata={"description": "the row's number: as the spreadsheet numbers it, or from 1 in JSON"})
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()), required=True,
                         metadata={"description": "by field path; the key '' for the row as a whole"})


class BatchLinksSchema(Schema):
    self_ = Link(lambda p: url_for("batches_api.show", batch_id=p.batch.id), data_key="self", required=True)
    archive = Link(lambda p: url_for("batches_api.archive", batch_id=p.batch.id), required=True)
    page = Link(lambda p: url_for("batch_pages.show", batch_id=p.batch.id), required=True)


class BatchSchema(Schema):
    id = fields.Function(lambda p: p.batch.id, required=True)
    form = fields.Function(lambda p: p.batch.form, required=True)
    agency = fields.Function(lambda p: p.batch.agency, required=True)
    status = fields.Function(lambda p: p.batch.status, required=True, metadata={"description": "running | finished"})
    source = fields.Function(lambda p: p.batch.source, required=True, metadata={"description": "json | csv | xlsx"})
    filename = fields.Function(lambda p: p.batch.filename)
    total = fields.Integer(required=True)
    done = fields.Integer(required=True, metadata={"description": "rows issued"})
    failed = fields.Integer(required=True, metadata={"description": "rows that could not be issued (see failures)"})
    pending = fields.Integer(required=True)
    percent = fields.Integer(required=True)
    eta_seconds = fields.Float(allow_none=True, metadata={"description": "estimated seconds to the end, from the pace so far"})
    per_minute = fields.Float(allow_none=True, metadata={"description": "rows settled per minute so far"})
    created_at = fields.Function(lambda p: p.batch.created_at.isoformat(), required=True)
    started_at = fields.Function(lambda p: p.batch.started_at.isoformat() if p.batch.started_at else None)
    finished_at = fields.Function(lambda p: p.batch.finished_at.isoformat() if p.batch.finished_at else None)
    failures = fields.List(fields.Nested(FailedRowSchema), required=True)
    links = Links(BatchLinksSchema)


class BatchListSchema(Schema):
    batches = fields.List(fields.Nested(BatchSchema), required=True)
