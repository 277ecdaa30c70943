"""/api/v1/statistics: the figures of ``cases/statistics.py`` as JSON (the page and its CSV and XLSX count the same)."""

from __future__ import annotations

from typing import Any

from flask import current_app, request
from marshmallow import EXCLUDE, Schema, fields

from ..auth.http import require_principal
from ..cases import statistics
from ..http.openapi import Blueprint

bp = Blueprint("statistics_api", __name__, url_prefix="/api/v1", description="statistics: how the reform is going, counts only")


class StatisticsQuerySchema(Schema):
    """Read as given; ``cases/statistics.parse_request`` checks each and names the bad ones (400)."""

    class Meta:
        unknown = EXCLUDE

    agency = fields.String(metadata={"description": "one agency; absent: the caller's own, or the whole service for an administrator"})
    from_ = fields.String(data_key="from", metadata={"description": "received on or after (YYYY-MM-DD; default 1 January of this year)"})
    to = fields.String(metadata={"description": f"received on or before (YYYY-MM-DD; default today); at most {statistics.MAX_DAYS} days"})


class CountSchema(Schema):
    key = fields.String(required=True)
    label = fields.String(required=True)
    count = fields.Integer(required=True)


class ProcedureSchema(Schema):
    commitment = fields.Integer(required=True, metadata={"description": "cases handled by commitment (no certificates)"})
    ordinary = fields.Integer(required=True, metadata={"description": "cases handled by the ordinary procedure (certificates)"})
    commitment_share = fields.Float(required=True, allow_none=True, metadata={"description": "commitment / cases, 0–1; null: no cases"})
    ordinary_reasons = fields.List(fields.Nested(CountSchema), required=True,
                                   metadata={"description": "serious_bad_record, blacklisted, false_commitment (the credit check), withdrawn, other"})


class FalseCommitmentsSchema(Schema):
    total = fields.Integer(required=True, metadata={"description": "cases closed on a false commitment or on materials not supplied (失信)"})
    by_outcome = fields.List(fields.Nested(CountSchema), required=True)
    found_not_closed = fields.Integer(required=True, metadata={"description": "found false, not closed yet"})


class DeadlineFiguresSchema(Schema):
    kind = fields.String(required=True)
    label = fields.String(required=True)
    met = fields.Integer(required=True, metadata={"description": "done on or before the day due"})
    late = fields.Integer(required=True, metadata={"description": "done after the day due"})
    overdue = fields.Integer(required=True, metadata={"description": "still open, past the day due"})
    open = fields.Integer(required=True, metadata={"description": "still open, not yet due"})
    missed = fields.Integer(required=True, metadata={"description": "late + overdue"})


class DecisionDaysSchema(Schema):
    cases = fields.Integer(required=True)
    median = fields.Float(required=True, allow_none=True)
    mean = fields.Float(required=True, allow_none=True)
    max = fields.Integer(required=True, allow_none=True)
    exact = fields.Boolean(required=True, metadata={"description": "false: counted across a year whose holidays are not published"})
    histogram = fields.List(fields.Nested(CountSchema), required=True)


class StatisticsSchema(Schema):
    agency = fields.String(required=True, allow_none=True, metadata={"description": "null: the whole service"})
    agency_name = fields.String(required=True)
    from_ = fields.Date(data_key="from", attribute="from", required=True)
    to = fields.Date(required=True)
    today = fields.Date(required=True)
    cases = fields.Integer(required=True, metadata={"description": "cases received in the period"})
    by_commitment_type = fields.List(fields.Nested(CountSchema), required=True)
    by_item = fields.List(fields.Nested(CountSchema), required=True, metadata={"description": "a case with two items counts for each"})
    by_outcome = fields.List(fields.Nested(CountSchema), required=True, metadata={"description": "open: not closed yet"})
    procedure = fields.Nested(ProcedureSchema, required=True)
    false_commitments = fields.Nested(FalseCommitmentsSchema, required=True)
    deadlines = fields.List(fields.Nested(DeadlineFiguresSchema), required=True)
    decision_days = fields.Nested(DecisionDaysSchema, required=True,
                                  metadata={"description": "working days after the day of receipt up to the day of decision"})


@bp.get("/statistics")
@bp.arguments(StatisticsQuerySchema, location="query", error_status_code=400)
@bp.response(200, StatisticsSchema)
@bp.errors((400, "a bad parameter, named"), (403, "a calling system's key, or another agency's"))
def show(args: dict[str, Any]) -> dict[str, Any]:
    """Cases by kind of commitment, item and outcome; the share handled by commitment; false commitments; deadlines
    met and missed; working days from receipt to decision — for one agency and a period of receipt."""
    return statistics.statistics(current_app.extensions["chengnuo"], require_principal(), request.args).as_dict()
