"""GET /api/v1/disclosures: the commitments published to the public (承诺公示), masked, as the page /gongshi lists
them. Public and rate-limited like the other public endpoints."""

from __future__ import annotations

from typing import Any

from flask import current_app, request
from marshmallow import EXCLUDE, Schema, fields

from ..cases import disclosure
from ..http.openapi import Blueprint

bp = Blueprint("disclosure_api", __name__, url_prefix="/api/v1", public=True, rate_limited=True,
               description="承诺公示: the commitments applicants agreed to publish, masked, within their period")


class DisclosureQuerySchema(Schema):
    """Read as given; ``cases/disclosure.parse_query`` checks each and names the bad ones (400)."""

    class Meta:
        unknown = EXCLUDE

    agency = fields.String(metadata={"description": "an agency id"})
    item = fields.String(metadata={"description": "a catalogue item id"})
    from_ = fields.String(data_key="from", metadata={"description": "decided on or after (YYYY-MM-DD)"})
    to = fields.String(metadata={"description": "decided on or before (YYYY-MM-DD)"})
    page = fields.String(metadata={"description": f"{disclosure.PER_PAGE} entries a page"})


class DisclosedItemSchema(Schema):
    id = fields.String(required=True)
    name = fields.String(required=True, metadata={"description": "事项名称"})
    matter = fields.String(required=True, metadata={"description": "申请事项名称"})


class DisclosureSchema(Schema):
    agency = fields.String(required=True)
    agency_name = fields.String(required=True)
    items = fields.List(fields.Nested(DisclosedItemSchema), required=True)
    decided_on = fields.Date(required=True)
    shown_until = fields.Date(required=True, metadata={"description": "the last day of publication"})
    applicant_type = fields.String(required=True, metadata={"description": "person or organisation"})
    name = fields.String(required=True, metadata={"description": "a person's name masked; an organisation's name"})
    id_type = fields.String(required=True)
    id_number = fields.String(required=True, metadata={"description": "the ID number or credit code, masked"})
    commitment = fields.List(fields.String(), required=True, metadata={"description": "what the applicant committed to, as the letter printed it"})
    scope = fields.String(required=True, metadata={"description": "公开范围, as printed"})
    period = fields.String(required=True, metadata={"description": "公开时限, as printed"})
    form = fields.String(required=True)
    number = fields.String(required=True, allow_none=True)
    serial = fields.String(required=True)
    verify_url = fields.String(required=True, metadata={"description": "the letter's public verify page"})
    false_commitment = fields.Boolean(required=True, metadata={"description": "closed on a false commitment"})
    false_mark = fields.String(required=True, allow_none=True, metadata={"description": "e.g. 经核查承诺不实，已撤销行政决定"})
    false_on = fields.String(required=True, allow_none=True, metadata={"format": "date"})


class DisclosureListSchema(Schema):
    disclosures = fields.List(fields.Nested(DisclosureSchema), required=True)
    total = fields.Integer(required=True)
    page = fields.Integer(required=True)
    pages = fields.Integer(required=True)
    today = fields.Date(required=True)


@bp.get("/disclosures")
@bp.arguments(DisclosureQuerySchema, location="query", error_status_code=400)
@bp.response(200, DisclosureListSchema)
@bp.errors((400, "a bad search parameter, named"))
def index(args: dict[str, Any]) -> dict[str, Any]:
    """The commitments published today: per agency, newest decision first; searchable by agency, item and decision date."""
    services = current_app.extensions["chengnuo"]
    found = disclosure.published(services, disclosure.parse_query(services, request.args))
    return {"disclosures": found.entries, "total": found.total, "page": found.page, "pages": found.pages, "today": found.today}
