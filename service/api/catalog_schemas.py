"""The catalogue API's bodies (/api/v1/catalog): requests loaded by them, answers dumped by them, and the OpenAPI
document generated from them. An item's data is the catalogue's own schema (``cases/catalogue.py``)."""

from __future__ import annotations

from typing import Any, ClassVar

from flask import url_for
from marshmallow import EXCLUDE, Schema, fields, validate
from werkzeug.datastructures import FileStorage

from ..cases import catalog_import
from ..cases.catalogue import CatalogItemSchema
from ..errors import bilingual
from ..forms.fields import MSG_NULL, Group
from .schemas import LenientBody, Link, Links, Name

MSG_BOOLEAN = bilingual("应为 true 或 false", "must be true or false")
MSG_WHOLE = bilingual("应为正整数", "must be a positive whole number")


class CatalogItemDataSchema(CatalogItemSchema):
    """An item's data: what its letters print, and how its commitments are checked."""


def _flag(description: str) -> fields.Boolean:
    return fields.Boolean(load_default=False, error_messages={"invalid": MSG_BOOLEAN, "null": MSG_NULL},
                          metadata={"description": description})


# --- requests ----------------------------------------------------------------------------------------


class CatalogQuerySchema(Schema):
    class Meta:
        unknown = EXCLUDE

    agency = Name(load_default=None, metadata={"description": "one agency (default: every agency the caller acts for)"})
    include_retired = _flag("also the retired items")


class ItemVersionQuerySchema(Schema):
    class Meta:
        unknown = EXCLUDE

    version = fields.Integer(load_default=None, strict=False, validate=validate.Range(min=1, max=2**31 - 1, error=MSG_WHOLE),
                             error_messages={"invalid": MSG_WHOLE}, metadata={"description": "an earlier version (default: the current one)"})


class ItemRequestSchema(LenientBody):
    agency = Name(load_default=None, allow_none=True, metadata={"description": "the agency (default: the only one the caller acts for, "
                                                                            "or the configured default)"})
    item = Group(CatalogItemDataSchema, "事项")


class ItemEditSchema(LenientBody):
    version = fields.Integer(load_default=None, allow_none=True, strict=True,
                             validate=validate.Range(min=1, max=2**31 - 1, error=MSG_WHOLE), error_messages={"invalid": MSG_WHOLE},
                             metadata={"description": "the version the edit starts from; another one since answers 409"})
    item = Group(CatalogItemDataSchema, "事项")


class Upload(fields.Field):
    """A multipart file → ``(filename, bytes)``, read no further than one byte over the import's limit."""

    default_error_messages: ClassVar[dict[str, str]] = {
        "required": bilingual("请在表单字段 file 中上传 CSV 或 XLSX 文件", "upload the CSV or XLSX file in the multipart field 'file'"),
        "null": MSG_NULL, "invalid": bilingual("应为上传的文件", "must be an uploaded file")}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> tuple[str | None, bytes]:
        if isinstance(value, FileStorage):
            return value.filename, value.stream.read(catalog_import.MAX_BYTES + 1)
        if isinstance(value, str):  # a field sent as text rather than as a file
            return None, value.encode("utf-8")
        raise self.make_error("invalid")


class ImportRequestSchema(LenientBody):
    file = Upload(required=True, metadata={"type": "string", "format": "binary",
                                           "description": f"CSV (UTF-8 or GB18030) or XLSX, at most {catalog_import.MAX_BYTES // 1024} KB "
                                                          f"and {catalog_import.MAX_ROWS} rows; columns as in the templates"})
    agency = Name(load_default=None, allow_none=True, metadata={"description": "the agency (default: the caller's own)"})
    dry_run = _flag("only report what the import would do")


class PrintRequestSchema(LenientBody):
    agency = Name(load_default=None, allow_none=True, metadata={"description": "the agency (default: the caller's own)"})


# --- answers -------------------------------------------------------------------------------------------


class CatalogItemLinksSchema(Schema):
    self_ = Link(lambda record: url_for("catalog_api.show", item_id=record.id), data_key="self", required=True)


class CatalogItemRecordSchema(Schema):
    """Dumps a ``CatalogItemRecord``: one version of an item."""

    id = fields.String(required=True)
    agency = fields.String(required=True)
    kind = fields.String(required=True, metadata={"description": "proof 证明事项 · permit 涉企经营许可事项"})
    name = fields.String(required=True)
    version = fields.Integer(required=True, metadata={"description": "this version; documents record the one they were made from"})
    data = fields.Nested(CatalogItemDataSchema, required=True)
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True, metadata={"description": "when this version was made"})
    updated_by = fields.String(required=True, metadata={"description": "who made this version"})
    retired_at = fields.DateTime(required=True, allow_none=True)
    links = Links(CatalogItemLinksSchema)


class CatalogVersionSchema(Schema):
    version = fields.Integer(required=True)
    created_by = fields.String(required=True)
    created_at = fields.DateTime(required=True)


class CatalogItemDetailSchema(CatalogItemRecordSchema):
    history = fields.List(fields.Nested(CatalogVersionSchema), required=True, metadata={"description": "every version, newest first"})


class CatalogItemListSchema(Schema):
    items = fields.List(fields.Nested(CatalogItemRecordSchema), required=True)


class ImportRowSchema(Schema):
    row = fields.Integer(required=True, metadata={"description": "the row as the spreadsheet numbers it (the header is row 1)"})
    name = fields.String(required=True)
    outcome = fields.String(required=True, validate=validate.OneOf(catalog_import.OUTCOMES),
                            metadata={"description": "added, updated (a new version), unchanged, refused; in a dry run, what would happen"})
    item_id = fields.String(required=True, allow_none=True)
    version = fields.Integer(required=True, allow_none=True, metadata={"description": "the version made (null in a dry run)"})
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()), required=True,
                         metadata={"description": "a refused row's errors by field path, each message 中文 / English"})
    columns = fields.Dict(keys=fields.String(), values=fields.String(), required=True,
                          metadata={"description": "the column header of each error's path"})


class ImportCountsSchema(Schema):
    total = fields.Integer(required=True)
    added = fields.Integer(required=True)
    updated = fields.Integer(required=True)
    unchanged = fields.Integer(required=True)
    refused = fields.Integer(required=True)


class ImportReportSchema(Schema):
    """Dumps an ``ImportReport``."""

    agency = fields.String(required=True)
    dry_run = fields.Boolean(required=True)
    counts = fields.Nested(ImportCountsSchema, required=True)
    rows = fields.List(fields.Nested(ImportRowSchema), required=True)

