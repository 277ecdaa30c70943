"""The item catalogue's pages: the agency's list, an item (all its fields, its versions, a supervisor's edit form),
a new item, the import (upload, dry run, the row report) and the printed catalogue. Signed-in people only; every
page calls the same use cases as the API and the command line."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    Response,
    redirect,
    render_template,
    request,
    url_for,
)

from ..auth.http import csrf_token
from ..auth.principal import MANAGERS
from ..cases import catalog_import, catalog_print, catalog_use
from ..cases.catalogue import KINDS, METHODS, CatalogItemSchema, basis_text
from ..errors import ChengnuoError, InvalidData
from ..http.errors import status_of
from ..registry.catalog import CatalogItemRecord
from . import formbuilder
from .staff_pages import principal as _principal
from .staff_pages import services, signed_in_only

bp = Blueprint("catalog_pages", __name__, template_folder="templates")
signed_in_only(bp)
TEMPLATE_TYPES = {"csv": "text/csv; charset=utf-8", "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
OUTCOMES = {"added": "新增", "updated": "更新为新版本", "unchanged": "未变", "refused": "拒绝"}
DRY_OUTCOMES = {"added": "将新增", "updated": "将更新为新版本", "unchanged": "未变", "refused": "拒绝"}


def _page(template: str, status: int = 200, **context: Any) -> tuple[str, int]:
    principal = _principal()
    agencies = [a for a in services().agencies.by_id.values() if principal.acts_for(a.id)]
    return render_template(template, principal=principal, csrf_token=csrf_token(), agencies=agencies,
                           manages=principal.role in MANAGERS, kinds=KINDS, methods=METHODS, **context), status


def _agency(value: str | None = None) -> str:
    """The agency a page is about: the one asked for, else the caller's own, else the configured default."""
    return value or _principal().default_agency() or services().agencies.default.id


def _fields() -> list[formbuilder.Field]:
    fields = formbuilder.form_fields(CatalogItemSchema)
    for f in fields:
        if f.path == "kind":
            f.choice_labels = dict(KINDS)
        if f.path == "verification":
            for child in f.children:
                if child.path == "verification.method":
                    child.choice_labels = dict(METHODS)
    return fields


def _form_context(values: dict[str, str], errors: dict[str, list[str]]) -> dict[str, Any]:
    fields = _fields()
    return {"fields": fields, "values": values, "errors": errors, "row_count": formbuilder.row_count,
            "labels": {path: formbuilder.label_for(fields, path) for path in errors}}


# --- the list --------------------------------------------------------------------------------------


@bp.get("/catalog")
def index() -> tuple[str, int]:
    agency = _agency(request.args.get("agency"))
    retired = request.args.get("include_retired") == "1"
    items = catalog_use.list_items(services(), _principal(), agency, include_retired=retired)
    return _page("catalog_list.html", items=items, agency=agency, include_retired=retired,
                 agency_name=services().agencies.by_id[agency].name if agency in services().agencies.by_id else agency)


@bp.get("/catalog/template.<kind>")
def template(kind: str) -> Response:
    response = Response(catalog_import.template(kind), mimetype=TEMPLATE_TYPES.get(kind, "application/octet-stream"))
    response.headers["Content-Disposition"] = f'attachment; filename="catalog-template.{kind}"'
    return response


# --- one item -------------------------------------------------------------------------------------------


def _item_page(record: CatalogItemRecord, status: int = 200, *, values: dict[str, str] | None = None,
               errors: dict[str, list[str]] | None = None, message: ChengnuoError | None = None, **context: Any) -> tuple[str, int]:
    current = services().catalog.get(record.id)
    editable = _principal().role in MANAGERS and current.retired_at is None and record.version == current.version
    return _page("catalog_item.html", status, record=record, current=current, basis=basis_text(record.data),
                 history=services().catalog.history(record.id), editable=editable, message=message,
                 **_form_context(values if values is not None else formbuilder.flatten(dict(record.data)), errors or {}), **context)


@bp.get("/catalog/items/<item_id>")
def item(item_id: str) -> tuple[str, int]:
    version = request.args.get("version", "")
    record = catalog_use.get_item(services(), _principal(), item_id, int(version) if version.isdigit() else None)
    return _item_page(record, saved=request.args.get("saved") == "1")


@bp.post("/catalog/items/<item_id>")
def edit(item_id: str) -> Response | tuple[str, int]:
    record = catalog_use.get_item(services(), _principal(), item_id)
    values = formbuilder.page_values(request.form)
    action = request.form.get("_action", "save")
    if action.startswith(("add:", "remove:")):
        return _item_page(record, values=formbuilder.apply_action(values, action))
    version = request.form.get("_version", "")
    try:
        catalog_use.edit_item(services(), _principal(), item_id, formbuilder.to_data(_fields(), values),
                              expected_version=int(version) if version.isdigit() else None)
    except InvalidData as exc:
        return _item_page(record, 422, values=values, errors=exc.errors, message=exc)
    except ChengnuoError as exc:
        return _item_page(record, status_of(exc), values=values, message=exc)
    return redirect(url_for("catalog_pages.item", item_id=item_id, saved=1))


@bp.post("/catalog/items/<item_id>/retire")
def retire(item_id: str) -> Response | tuple[str, int]:
    record = catalog_use.get_item(services(), _principal(), item_id)
    try:
        if request.form.get("confirm") != "yes":
            raise InvalidData({"confirm": ["请勾选确认框后再停用 / tick the confirmation box to retire"]})
        catalog_use.retire_item(services(), _principal(), item_id)
    except InvalidData as exc:
        return _item_page(record, 422, retire_error=exc.errors["confirm"][0])
    except ChengnuoError as exc:
        return _item_page(record, status_of(exc), message=exc)
    return redirect(url_for("catalog_pages.item", item_id=item_id))


# --- a new item ---------------------------------------------------------------------------------------------


@bp.get("/catalog/new")
def new() -> tuple[str, int]:
    return _page("catalog_new.html", agency=_agency(request.args.get("agency")), message=None, **_form_context({}, {}))


@bp.post("/catalog/new")
def create() -> Response | tuple[str, int]:
    agency = _agency(request.form.get("_agency"))
    values = formbuilder.page_values(request.form)
    action = request.form.get("_action", "save")
    if action.startswith(("add:", "remove:")):
        return _page("catalog_new.html", agency=agency, message=None, **_form_context(formbuilder.apply_action(values, action), {}))
    try:
        record = catalog_use.add_item(services(), _principal(), agency, formbuilder.to_data(_fields(), values))
    except InvalidData as exc:
        return _page("catalog_new.html", 422, agency=agency, message=exc, **_form_context(values, exc.errors))
    except ChengnuoError as exc:
        return _page("catalog_new.html", status_of(exc), agency=agency, message=exc, **_form_context(values, {}))
    return redirect(url_for("catalog_pages.item", item_id=record.id, saved=1))


# --- the import ---------------------------------------------------------------------------------------------


@bp.get("/catalog/import")
def import_form() -> tuple[str, int]:
    return _page("catalog_import.html", agency=_agency(request.args.get("agency")), report=None, message=None,
                 limits=(catalog_import.MAX_BYTES // 1024, catalog_import.MAX_ROWS), columns=catalog_import.COLUMNS)


@bp.post("/catalog/import")
def import_upload() -> tuple[str, int]:
    agency = _agency(request.form.get("agency"))
    upload = request.files.get("file")
    context: dict[str, Any] = {"agency": agency, "limits": (catalog_import.MAX_BYTES // 1024, catalog_import.MAX_ROWS),
                               "columns": catalog_import.COLUMNS, "outcomes": OUTCOMES}
    try:
        if upload is None or not upload.filename:
            raise InvalidData({"file": ["请选择要导入的 CSV 或 XLSX 文件 / choose a CSV or XLSX file to import"]})
        report = catalog_import.import_items(services(), _principal(), agency, upload.stream.read(catalog_import.MAX_BYTES + 1),
                                             filename=upload.filename, dry_run=request.form.get("dry_run") == "yes")
    except ChengnuoError as exc:
        return _page("catalog_import.html", status_of(exc), report=None, message=exc, **context)
    return _page("catalog_import.html", report=report, message=None, **{**context, "outcomes": DRY_OUTCOMES if report.dry_run else OUTCOMES})


# --- printing ------------------------------------------------------------------------------------------------


@bp.get("/catalog/print")
def print_form() -> tuple[str, int]:
    agency = _agency(request.args.get("agency"))
    items = catalog_print.printable(services(), agency) if _principal().acts_for(agency) else []
    return _page("catalog_print.html", agency=agency, items=items, message=None)


@bp.post("/catalog/print")
def print_issue() -> Response | tuple[str, int]:
    agency = _agency(request.form.get("agency"))
    try:
        result = catalog_print.print_catalogue(services(), _principal(), agency)
    except ChengnuoError as exc:
        items = catalog_print.printable(services(), agency) if _principal().acts_for(agency) else []
        return _page("catalog_print.html", status_of(exc), agency=agency, items=items, message=exc)
    return redirect(url_for("clerk.document", document_id=result.document.id, issued=1))
