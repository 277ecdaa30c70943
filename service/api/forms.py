"""GET /api/v1/forms and /api/v1/forms/{form}."""

from __future__ import annotations

from ..forms import CATALOGUE, FormSpec, get_form
from ..http.openapi import Blueprint
from .schemas import FormCatalogueSchema, FormDetailSchema

bp = Blueprint("forms_api", __name__, url_prefix="/api/v1/forms", public=True, description="the catalogue of forms")


@bp.get("")
@bp.response(200, FormCatalogueSchema, description="every form")
def index() -> dict[str, list[FormSpec]]:
    """The form catalogue."""
    return {"forms": list(CATALOGUE.values())}


@bp.get("/<form_id>")
@bp.response(200, FormDetailSchema, description="the form")
@bp.errors((404, "unknown form"))
def show(form_id: str) -> FormSpec:
    """A form's JSON Schema and a sample of its data."""
    return get_form(form_id)
