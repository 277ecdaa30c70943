"""/api/v1/credit/exports: credit information (信用承诺信息, 践诺信息) exported for the credit platform, and the list of
earlier exports. Supervisors (their own agency) and administrators only; an API key is refused (403)."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app
from marshmallow import Schema, fields

from ..auth.http import require_principal
from ..cases import credit_export
from ..cases.credit_export import COLUMNS, CreditExportRequestSchema
from ..http.openapi import BINARY, Blueprint
from ..runtime import Services

bp = Blueprint("credit_api", __name__, url_prefix="/api/v1/credit", description="credit information for the credit platform (002 四(七))")

EXPORT_HEADERS = {
    "X-Credit-Export-Id": {"description": "X-Credit-Export-Id: the export's id, as the list of exports names it", "schema": {"type": "string"}},
    "X-Credit-Export-Rows": {"description": "X-Credit-Export-Rows: how many rows the file holds (0: nothing new)", "schema": {"type": "integer"}},
    "Content-Disposition": {"description": "attachment; filename=\"credit-{agency}-{from}-{to}-{id}.{format}\" (csv, xlsx)",
                            "schema": {"type": "string"}},
}
_COLUMNS = " · ".join(f"{code} {header}" for code, header in COLUMNS)


class CreditExportRecordSchema(Schema):
    id = fields.String(required=True)
    agency = fields.String(required=True)
    period_from = fields.String(required=True, metadata={"format": "date", "description": "decision dates from (included)"})
    period_to = fields.String(required=True, metadata={"format": "date", "description": "decision dates to (included)"})
    rows = fields.Integer(required=True, metadata={"description": "how many rows it held"})
    format = fields.String(required=True, metadata={"description": "csv · xlsx · json"})
    created_by = fields.String(required=True)
    created_at = fields.DateTime(required=True)


class CreditColumnSchema(Schema):
    code = fields.String(required=True)
    header = fields.String(required=True)


class CreditExportResultSchema(Schema):
    export = fields.Nested(CreditExportRecordSchema, required=True)
    full = fields.Boolean(required=True)
    columns = fields.List(fields.Nested(CreditColumnSchema), required=True, metadata={"description": "the column set, in order"})
    rows = fields.List(fields.Dict(keys=fields.String(), values=fields.String()), required=True,
                       metadata={"description": f"one object per row: case_id, kind_code (commitment | fulfilment), and by code: {_COLUMNS}"})


class CreditExportListSchema(Schema):
    exports = fields.List(fields.Nested(CreditExportRecordSchema), required=True)


class CreditExportQuerySchema(Schema):
    agency = fields.String(load_default=None, metadata={"description": "default: every agency the caller may export for"})


def services() -> Services:
    return current_app.extensions["chengnuo"]


@bp.post("/exports")
@bp.arguments(CreditExportRequestSchema)
@bp.response(201, CreditExportResultSchema, description="format json: the rows", headers=EXPORT_HEADERS)
@bp.alt_response(201, schema=BINARY, content_type="text/csv", description="format csv: the file (UTF-8 with BOM, Chinese header row)",
                 headers=EXPORT_HEADERS)
@bp.alt_response(201, schema=BINARY, content_type=credit_export.FORMATS["xlsx"], description="format xlsx: the file", headers=EXPORT_HEADERS)
@bp.errors((403, "not a supervisor of the agency or an administrator (an API key, a clerk, another agency's supervisor)"),
           (404, "unknown agency"), (409, "another export of the agency ran at the same time; nothing was recorded, retry"),
           (422, "invalid data: every bad field by its path (a period that ends before it starts on `to`)"))
def create(body: dict[str, Any]) -> Any:
    """Export the agency's credit information of a period (by decision date): the rows new or changed since the last
    export (all of them with `full`). The rows are marked as exported, the export is audited, and the credit-report
    deadline of every case it covers is met."""
    made = credit_export.export(services(), require_principal(), body)
    if made.record.format == "json":
        return made.as_json(), 201, made.headers()
    return Response(made.content(), status=201, mimetype=made.mimetype.split(";")[0], headers=made.headers())


@bp.get("/exports")
@bp.arguments(CreditExportQuerySchema, location="query")
@bp.response(200, CreditExportListSchema, description="earlier exports, newest first (never their rows)")
@bp.errors((403, "not a supervisor of the agency or an administrator"), (404, "unknown agency"))
def index(query: dict[str, Any]) -> dict[str, Any]:
    """Earlier credit information exports."""
    return {"exports": credit_export.list_exports(services(), require_principal(), query["agency"])}
