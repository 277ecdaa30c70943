"""GET /v/{serial}: what a holder of a copy may see — form, number, agency, date, status. No personal data."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template

from ..forms import CATALOGUE

bp = Blueprint("public", __name__, template_folder="templates")


@bp.get("/v/<serial>")
def verify_page(serial: str) -> tuple[str, int]:
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
        ),
        200,
    )
