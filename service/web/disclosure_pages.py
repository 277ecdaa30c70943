"""/gongshi: the public disclosure page (承诺公示). Public, rate-limited; the same use case as GET /api/v1/disclosures."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, request

from ..auth.http import csrf_token, current_principal
from ..cases import disclosure
from ..errors import InvalidRequest
from ..runtime import Services

bp = Blueprint("disclosure_pages", __name__, template_folder="templates")


def _public_items(services: Services, agency: str | None) -> list[tuple[str, str, str]]:
    """(id, name, agency name) of the catalogue items that publish their commitments: the page's item choices."""
    names = {a.id: a.name for a in services.agencies.by_id.values()}
    found = services.catalog.list(frozenset({agency}) if agency in names else None)
    return [(i.id, i.name, names.get(i.agency, i.agency)) for i in found if (i.data.get("disclosure") or {}).get("public")]


@bp.get("/gongshi")
def index() -> tuple[str, int]:
    services = current_app.extensions["chengnuo"]
    context = {"principal": current_principal(), "csrf_token": csrf_token(), "query": request.args,
               "agencies": list(services.agencies.by_id.values()), "items": _public_items(services, request.args.get("agency"))}
    try:
        found = disclosure.published(services, disclosure.parse_query(services, request.args))
    except InvalidRequest as exc:
        empty = disclosure.DisclosureList([], 0, 1, 1, services.now().date())
        return render_template("disclosure.html", found=empty, error=exc, **context), 400
    return render_template("disclosure.html", found=found, error=None, **context), 200
