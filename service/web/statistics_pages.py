"""/statistics: the figures of ``cases/statistics.py`` as a page with server-drawn charts (``charts.py``) and a
table beside each, and the same figures as ``/statistics.csv`` and ``/statistics.xlsx``. Signed-in staff only;
a bad parameter comes back as the page with the message beside its field (400)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, render_template, request

from ..auth.http import csrf_token
from ..cases import statistics
from ..errors import ChengnuoError
from ..http.errors import status_of
from . import charts
from .staff_pages import principal, services, signed_in_only

bp = Blueprint("statistics_pages", __name__, template_folder="templates")
signed_in_only(bp)

DEADLINE_SERIES = (charts.Series("按时办结", "#2e7d32", "solid"), charts.Series("逾期办结", "#b35c00", "stripes"),
                   charts.Series("逾期未办", "#b71c1c", "cross"), charts.Series("未到期", "#57606a", "outline"))
FILE_TYPES = {"csv": "text/csv; charset=utf-8", "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def _charts(figures: statistics.Statistics) -> dict[str, Any]:
    pairs = lambda counts: [(c.label, c.count) for c in counts]
    return {
        "types": charts.bar_chart("chart-types", "按承诺类型的办件数", pairs(figures.by_commitment_type)),
        "items": charts.bar_chart("chart-items", "按事项的办件数", pairs(figures.by_item)),
        "outcomes": charts.bar_chart("chart-outcomes", "按办理结果的办件数", pairs(figures.by_outcome)),
        "procedure": charts.bar_chart("chart-procedure", "告知承诺与一般程序的办件数",
                                      [(statistics.PROCEDURES["commitment"], figures.commitment),
                                       (statistics.PROCEDURES["ordinary"], figures.ordinary)]),
        "reasons": charts.bar_chart("chart-reasons", "按一般程序办理的原因", pairs(figures.ordinary_reasons)),
        "deadlines": charts.stacked_chart("chart-deadlines", "各类期限的遵守情况", DEADLINE_SERIES,
                                          [(d.label, (d.met, d.late, d.overdue, d.open)) for d in figures.deadlines]),
        "days": charts.histogram("chart-days", "受理至决定用时分布", pairs(figures.decision_days.histogram),
                                 axis="受理至决定的工作日数 / working days from receipt to decision"),
    }


def _agencies() -> list[Any]:
    return [a for a in services().agencies.by_id.values() if principal().acts_for(a.id)]


def _page(status: int, figures: statistics.Statistics | None, error: ChengnuoError | None) -> tuple[str, int]:
    return render_template("statistics.html", principal=principal(), csrf_token=csrf_token(), figures=figures, error=error,
                           charts=_charts(figures) if figures else {}, query=request.args, agencies=_agencies(),
                           whole_service=principal().agencies is None, procedures=statistics.PROCEDURES,
                           deadline_states=statistics.DEADLINE_STATES,
                           params=_params(figures)), status


def _params(figures: statistics.Statistics | None) -> dict[str, str]:
    """The query of the downloads: the figures' own agency and period, as the page counted them."""
    if figures is None:
        return {}
    return {**({"agency": figures.agency} if figures.agency else {}), "from": figures.since.isoformat(), "to": figures.until.isoformat()}


@bp.get("/statistics")
def index() -> tuple[str, int]:
    try:
        figures = statistics.statistics(services(), principal(), request.args)
    except ChengnuoError as exc:  # a bad parameter (400, named beside its field) or another agency's (403)
        return _page(status_of(exc), None, exc)
    return _page(200, figures, None)


@bp.get("/statistics.csv", defaults={"kind": "csv"})
@bp.get("/statistics.xlsx", defaults={"kind": "xlsx"})
def download(kind: str) -> Response:
    """The same figures as the page, as a file; a bad parameter or a forbidden agency is the service's JSON error."""
    figures = statistics.statistics(services(), principal(), request.args)
    body = statistics.as_csv(figures) if kind == "csv" else statistics.as_xlsx(figures)
    response = Response(body, mimetype=FILE_TYPES[kind])
    response.headers["Content-Disposition"] = f'attachment; filename="{statistics.file_name(figures, kind)}"'
    return response
