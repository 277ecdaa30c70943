"""GET /api/v1/forms and /api/v1/forms/{form}."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, url_for

from ..forms import CATALOGUE, FormSpec, get_form
from ..forms.jsonschema import json_schema, sample

bp = Blueprint("forms_api", __name__, url_prefix="/api/v1/forms")


def _summary(spec: FormSpec) -> dict:
    return {
        "id": spec.id,
        "title": spec.title,
        "source": spec.source,
        "number_kind": spec.number_kind,
        "links": {"self": url_for("forms_api.show", form_id=spec.id)},
    }


@bp.get("")
def index() -> Response:
    return jsonify({"forms": [_summary(spec) for spec in CATALOGUE.values()]})


@bp.get("/<form_id>")
def show(form_id: str) -> Response:
    spec = get_form(form_id)
    return jsonify({**_summary(spec), "schema": json_schema(spec), "sample": sample(spec)})
