"""GET /v/{serial}: what a holder of a copy may see — form, number, agency, date, status. No personal data."""

from __future__ import annotations

from flask import current_app, render_template

from ..forms import CATALOGUE
from ..http.openapi import TEXT, Blueprint
from ..masking import mask_id_number, mask_name, mask_phone

bp = Blueprint("public", __name__, template_folder="templates", public=True, rate_limited=True,
               description="what anyone holding a copy may see")


def personal_summary(data: dict) -> dict[str, str]:
    """The applicant's (or subject's) name, ID and phone, masked: enough to match a copy to its holder."""
    holder = data.get("applicant") if isinstance(data.get("applicant"), dict) else data
    summary: dict[str, str] = {}
    if isinstance(holder.get("name"), str):
        summary["name"] = mask_name(holder["name"])
    elif isinstance(data.get("applicant"), str):
        summary["name"] = mask_name(data["applicant"])
    number = holder.get("id_number") or holder.get("credit_code")
    if isinstance(number, str):
        summary["id_number"] = mask_id_number(number)
    if isinstance(holder.get("phone"), str):
        summary["phone"] = mask_phone(holder["phone"])
    return summary


@bp.get("/v/<serial>")
@bp.alt_response(200, schema=TEXT, content_type="text/html", description="the page", success=True)
@bp.alt_response(404, schema=TEXT, content_type="text/html", description="unknown serial")
def verify_page(serial: str) -> tuple[str, int]:
    """The public page a document's QR code opens."""
    svc = current_app.extensions["chengnuo"]
    record = svc.registry.find_by_serial(serial) if len(serial) <= 40 else None
    if record is None:
        return render_template("verify_unknown.html", serial=serial), 404
    spec = CATALOGUE.get(record.form)
    agency = svc.agencies.by_id.get(record.agency)
    zone = svc.now().tzinfo
    return (
        render_template(
            "verify.html",
            record=record,
            form_title=spec.title if spec else record.form,
            agency_name=agency.name if agency else record.agency,
            issued_at=record.issued_at.astimezone(zone) if record.issued_at else None,
            voided_at=record.voided_at.astimezone(zone) if record.voided_at else None,
            holder=personal_summary(dict(record.data)),
        ),
        200,
    )
