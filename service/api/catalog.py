"""The item catalogue: /api/v1/catalog/items (versioned), imports, the import templates, and the printed catalogue.

Anyone acting for an agency reads its items; supervisors, administrators and the operator change them (an API key
reads only). Printing issues the ``item-catalog`` form, as anyone who may issue it for the agency.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from flask import Response, current_app, g, url_for

from .. import documents
from ..auth.http import require_principal
from ..cases import catalog_import, catalog_print, catalog_use
from ..http.openapi import BINARY, Blueprint, header
from ..registry.catalog import CatalogItemRecord
from ..registry.documents import DocumentRecord
from ..runtime import Services
from .catalog_schemas import (
    CatalogItemDetailSchema,
    CatalogItemListSchema,
    CatalogItemRecordSchema,
    CatalogQuerySchema,
    ImportReportSchema,
    ImportRequestSchema,
    ItemEditSchema,
    ItemRequestSchema,
    ItemVersionQuerySchema,
    PrintRequestSchema,
)
from .schemas import DocumentSchema

bp = Blueprint("catalog_api", __name__, url_prefix="/api/v1/catalog", description="the agency's item catalogue (versioned)")

WRITERS = "an API key, a clerk, or another agency's supervisor (catalog_read_only, forbidden)"
TEMPLATE_TYPES = {"csv": "text/csv; charset=utf-8", "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def services() -> Services:
    return current_app.extensions["chengnuo"]


def _detail(record: CatalogItemRecord) -> SimpleNamespace:
    return SimpleNamespace(**vars(record), history=services().catalog.history(record.id))


@bp.get("/items")
@bp.arguments(CatalogQuerySchema, location="query")
@bp.response(200, CatalogItemListSchema, description="the current version of each item, by agency and name")
def index(query: dict[str, Any]) -> dict[str, list[CatalogItemRecord]]:
    """The items of the agencies the caller acts for."""
    return {"items": catalog_use.list_items(services(), require_principal(), query["agency"], include_retired=query["include_retired"])}


@bp.post("/items")
@bp.arguments(ItemRequestSchema)
@bp.response(201, CatalogItemDetailSchema, description="added, as version 1", headers={"Location": header("LOCATION")})
@bp.errors((403, WRITERS), (404, "unknown agency"), (409, "the agency already has an item of that name (item_exists)"),
           (422, "invalid item: every bad field by its path (item.basis.article …); an excluded area is refused on item.area"))
def create(body: dict[str, Any]) -> tuple[SimpleNamespace, int, dict[str, str]]:
    """Add an item to the agency's catalogue."""
    record = catalog_use.add_item(services(), require_principal(), body["agency"], body["item"])
    return _detail(record), 201, {"Location": url_for("catalog_api.show", item_id=record.id)}


@bp.get("/items/<item_id>")
@bp.arguments(ItemVersionQuerySchema, location="query")
@bp.response(200, CatalogItemDetailSchema, description="the item (or the version asked for) and its version history")
@bp.errors((404, "unknown item or version, or another agency's item"))
def show(query: dict[str, Any], item_id: str) -> SimpleNamespace:
    """One item, as it is now or as it was at ``version``."""
    return _detail(catalog_use.get_item(services(), require_principal(), item_id, query["version"]))


@bp.put("/items/<item_id>")
@bp.arguments(ItemEditSchema)
@bp.response(200, CatalogItemDetailSchema, description="the new version")
@bp.errors((403, WRITERS), (404, "unknown item, or another agency's"),
           (409, "changed since `version` (item_changed), or the new name is another item's (item_exists)"),
           (422, "invalid item: every bad field by its path"))
def edit(body: dict[str, Any], item_id: str) -> SimpleNamespace:
    """Edit an item: a new version; the earlier ones stay readable, and documents keep the one they were made from."""
    return _detail(catalog_use.edit_item(services(), require_principal(), item_id, body["item"], expected_version=body["version"]))


@bp.delete("/items/<item_id>")
@bp.response(200, CatalogItemRecordSchema, description="retired: no new case may use it; its versions stay readable")
@bp.errors((403, WRITERS), (404, "unknown item, or another agency's"))
def retire(item_id: str) -> CatalogItemRecord:
    """Retire an item."""
    return catalog_use.retire_item(services(), require_principal(), item_id)


@bp.post("/imports")
@bp.arguments(ImportRequestSchema, location="multipart")
@bp.response(200, ImportReportSchema, description="every row's outcome; a refused row's errors by field path")
@bp.errors((403, WRITERS), (404, "unknown agency"), (413, f"over {catalog_import.MAX_BYTES // 1024} KB or {catalog_import.MAX_ROWS} rows"),
           (422, "no file, or a file that cannot be read as CSV or XLSX, or a header with unknown columns (on `file`)"))
def import_items(body: dict[str, Any]) -> catalog_import.ImportReport:
    """Import items from a CSV or XLSX file (the templates name the columns): new items are added, changed ones get a
    new version, and every bad row is reported by its row number and field paths."""
    filename, content = body["file"]
    return catalog_import.import_items(services(), require_principal(), body["agency"], content, filename=filename,
                                       dry_run=body["dry_run"])


def _template(kind: str) -> Response:
    response = Response(catalog_import.template(kind), mimetype=TEMPLATE_TYPES[kind])
    response.headers["Content-Disposition"] = f'attachment; filename="catalog-template.{kind}"'
    return response


@bp.get("/template.csv")
@bp.response(200, BINARY, content_type="text/csv", description="the header row (UTF-8 with BOM)")
def template_csv() -> Response:
    """The import template as CSV."""
    return _template("csv")


@bp.get("/template.xlsx")
@bp.response(200, BINARY, content_type=TEMPLATE_TYPES["xlsx"], description="the header row, and a sheet explaining each column")
def template_xlsx() -> Response:
    """The import template as XLSX."""
    return _template("xlsx")


@bp.post("/print")
@bp.arguments(PrintRequestSchema)
@bp.response(201, DocumentSchema, description="the item-catalog document, issued; it records the item versions it printed",
             headers={"Location": header("LOCATION")})
@bp.errors((403, "not allowed to issue the item-catalog form for the agency"), (404, "unknown agency"),
           (409, "no proof items to print, or more than the form holds"), (422, "an item does not fit the form"),
           (429, "converters busy, queue full; see Retry-After"), (500, "issuing failed; the drawn number is voided with the reason"),
           (502, "conversion failed"), (503, "the timestamping service is unavailable; see Retry-After"), (504, "conversion timed out"))
def print_catalogue(body: dict[str, Any]) -> tuple[Any, int, dict[str, str]]:
    """Print the agency's catalogue of proof items (实行告知承诺制的证明事项目录) as a sealed document."""
    result = catalog_print.print_catalogue(services(), require_principal(), body["agency"], request_id=g.get("request_id"))
    record: DocumentRecord = result.document
    return documents.detail(services(), record), 201, {"Location": url_for("documents_api.show", document_id=record.id)}
