"""The credit information page (/credit): the export form, the earlier exports and the cases whose credit information
is overdue. Supervisors and administrators; anyone else signed in sees why not (403). The form posts to the same use
case as the API and the command line, and answers with the file."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Blueprint, Response, render_template, request

from ..auth.http import csrf_token
from ..cases import credit_export, inputs
from ..cases.credit_export import COLUMNS, KINDS
from ..errors import ChengnuoError, Forbidden, InvalidData
from ..http.errors import status_of
from .staff_pages import principal as _principal
from .staff_pages import services, signed_in_only

bp = Blueprint("credit_pages", __name__, template_folder="templates")
signed_in_only(bp)

FILE_FORMATS = {"csv": "CSV（UTF-8，Excel 可直接打开）", "xlsx": "Excel（XLSX）"}
LABELS = {"agency": "行政机关", "from": "决定日期自", "to": "决定日期至", "format": "格式", "full": "全部重新导出"}


def _agencies() -> list[Any]:
    return [a for a in services().agencies.by_id.values() if _principal().acts_for(a.id)]


def _page(agency: str, values: Mapping[str, str], status: int = 200, *, errors: Mapping[str, list[str]] | None = None,
          message: ChengnuoError | None = None) -> tuple[str, int]:
    principal = _principal()
    context: dict[str, Any] = {"principal": principal, "csrf_token": csrf_token(), "agency": agency, "agencies": _agencies(),
                               "values": values, "errors": errors or {}, "message": message, "labels": LABELS, "formats": FILE_FORMATS,
                               "columns": COLUMNS, "kinds": KINDS, "exports": [], "overdue": [], "refused": None}
    try:
        context["exports"] = credit_export.list_exports(services(), principal, agency)
        context["overdue"] = credit_export.overdue_reports(services(), principal, agency)
    except Forbidden as exc:
        context["refused"] = exc
        status = 403
    return render_template("credit.html", **context), status


def _default_agency() -> str:
    return _principal().default_agency() or services().agencies.default.id


@bp.get("/credit")
def index() -> tuple[str, int]:
    today = services().now().date()
    agency = request.args.get("agency") or _default_agency()
    if agency not in services().agencies.by_id:
        agency = _default_agency()
    return _page(agency, {"from": today.replace(day=1).isoformat(), "to": today.isoformat(), "format": "csv"})


@bp.post("/credit/exports")
def create() -> Response | tuple[str, int]:
    values = {name: request.form.get(name, "") for name in ("agency", "from", "to", "format")}
    values["full"] = "true" if request.form.get("full") else ""
    agency = values["agency"] if values["agency"] in services().agencies.by_id else _default_agency()
    raw = {"agency": values["agency"], "format": values["format"], "full": bool(values["full"]),
           **{name: values[name] for name in ("from", "to") if values[name]}}
    try:
        made = credit_export.export(services(), _principal(), inputs.parse(credit_export.CreditExportRequestSchema, raw))
    except InvalidData as exc:
        return _page(agency, values, 422, errors=exc.errors, message=exc)
    except ChengnuoError as exc:
        return _page(agency, values, status_of(exc), message=exc)
    return Response(made.content(), mimetype=made.mimetype.split(";")[0], headers=made.headers())
