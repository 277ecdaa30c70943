"""The declared answers of /api/v1/cases (its request bodies are ``cases/inputs.py``'s, declared once there)."""

from __future__ import annotations

from marshmallow import EXCLUDE, Schema, fields, validate

from ..cases.deadlines import KINDS
from ..cases.steps import REQUEST_KEYS
from ..cases.vocabulary import STATES
from .assistance_schemas import AssistanceSchema
from .schemas import DocumentSchema


class DeadlineSchema(Schema):
    kind = fields.String(required=True, metadata={"description": "letter, decision, verification, assistance_reply, rectification, "
                                                                 "materials, credit_report, complaint"})
    label = fields.String(required=True)
    ref = fields.String(required=True, allow_none=True, metadata={"description": "what it is about: an item, a document, a complaint"})
    start_on = fields.Date(required=True)
    working_days = fields.Integer(required=True, allow_none=True, metadata={"description": "None: a calendar date someone set"})
    due_on = fields.Date(required=True)
    source = fields.String(required=True, metadata={"description": "the legal source of the deadline"})
    done_on = fields.Date(required=True, allow_none=True)
    overdue = fields.Boolean(required=True)
    due_soon = fields.Boolean(required=True)
    exact = fields.Boolean(required=True, metadata={"description": "false: counted across a year whose holidays are not published"})
    note = fields.String(required=True)


class HistorySchema(Schema):
    at = fields.DateTime(required=True)
    actor = fields.String(required=True)
    action = fields.String(required=True)
    from_ = fields.String(data_key="from", required=True, allow_none=True)
    to = fields.String(required=True, allow_none=True)
    detail = fields.Dict(required=True)


class NextActionSchema(Schema):
    step = fields.String(required=True)
    label = fields.String(required=True)
    form = fields.String(required=True, allow_none=True)
    item = fields.String(required=True, allow_none=True)


def _case(view: object) -> object:
    return getattr(view, "case", view)


class CaseSummarySchema(Schema):
    """Dumps a ``CaseRecord`` with its (possibly masked) applicant."""

    id = fields.String(required=True)
    number = fields.String(required=True)
    agency = fields.String(required=True)
    state = fields.String(required=True, metadata={"description": " · ".join(STATES)})
    procedure = fields.String(required=True, metadata={"description": "commitment, or ordinary"})
    commitment_type = fields.String(required=True)
    channel = fields.String(required=True)
    received_on = fields.String(required=True, metadata={"format": "date"})
    items = fields.List(fields.Dict(), required=True, metadata={"description": "[{id, version, name}]: the catalogue versions"})
    applicant = fields.Dict(required=True, metadata={"description": "masked unless the caller acts for the case's agency"})
    outcome = fields.String(required=True, allow_none=True)
    overdue = fields.Boolean(required=True)


class CaseSchema(Schema):
    """Dumps a ``CaseView``."""

    id = fields.Function(lambda v: v.case.id, required=True, metadata={"type": "string"})
    number = fields.Function(lambda v: v.case.number, required=True, metadata={"type": "string"})
    agency = fields.Function(lambda v: v.case.agency, required=True, metadata={"type": "string"})
    state = fields.Function(lambda v: v.case.state, required=True, metadata={"type": "string"})
    procedure = fields.Function(lambda v: v.case.procedure, required=True, metadata={"type": "string"})
    commitment_type = fields.Function(lambda v: v.case.commitment_type, required=True, metadata={"type": "string"})
    channel = fields.Function(lambda v: v.case.channel, required=True, metadata={"type": "string"})
    received_on = fields.Function(lambda v: v.case.received_on, required=True, metadata={"type": "string", "format": "date"})
    items = fields.Function(lambda v: v.case.items, required=True, metadata={"type": "array", "items": {"type": "object"}})
    applicant = fields.Dict(required=True, metadata={"description": "masked unless the caller acts for the case's agency"})
    facts = fields.Function(lambda v: {k: v for k, v in v.case.facts.items() if k != REQUEST_KEYS}, required=True, metadata={"type": "object", "description": "what the steps recorded"})
    outcome = fields.Function(lambda v: v.case.outcome, required=True, allow_none=True, metadata={"type": "string", "nullable": True})
    overdue = fields.Boolean(required=True)
    documents = fields.List(fields.Nested(DocumentSchema), required=True)
    deadlines = fields.List(fields.Nested(DeadlineSchema), required=True)
    history = fields.List(fields.Nested(HistorySchema), required=True)
    next_actions = fields.List(fields.Nested(NextActionSchema), required=True)
    assistance = fields.List(fields.Nested(AssistanceSchema), required=True,
                             metadata={"description": "the assistance requests the case made, and their answers"})


class CaseStepResultSchema(CaseSchema):
    document = fields.Nested(DocumentSchema, allow_none=True, metadata={"description": "the document a step issued"})


class CaseListSchema(Schema):
    cases = fields.List(fields.Nested(CaseSummarySchema), required=True)
    total = fields.Integer(required=True)
    page = fields.Integer(required=True)
    pages = fields.Integer(required=True)


class CaseListQuerySchema(Schema):
    """Read as given; ``cases/queries.parse_list_query`` checks each and names the bad ones (400)."""

    class Meta:
        unknown = EXCLUDE

    agency = fields.String(metadata={"description": "one agency of the caller's"})
    q = fields.String(metadata={"description": "the applicant's name or the case number, in part"})
    item = fields.String(metadata={"description": "a catalogue item id"})
    state = fields.String(metadata={"description": " · ".join(STATES)})
    from_ = fields.String(data_key="from", metadata={"description": "received on or after (YYYY-MM-DD)"})
    to = fields.String(metadata={"description": "received on or before (YYYY-MM-DD)"})
    overdue = fields.String(metadata={"description": "true: only cases with an overdue deadline"})
    due_within = fields.String(metadata={"description": "only cases with an open deadline due within this many days"})
    page = fields.String()


class DeadlineRowSchema(Schema):
    case_id = fields.String(required=True)
    case_number = fields.String(required=True)
    applicant = fields.String(required=True)
    state = fields.String(required=True)
    deadline = fields.Nested(DeadlineSchema, required=True)


class DeadlineListSchema(Schema):
    deadlines = fields.List(fields.Nested(DeadlineRowSchema), required=True)


class DeadlineQuerySchema(Schema):
    class Meta:
        unknown = EXCLUDE

    agency = fields.String()
    overdue = fields.Boolean(load_default=False)
    due_within = fields.Integer(load_default=None, allow_none=True, strict=False, validate=validate.Range(min=0, max=366),
                                metadata={"description": "deadlines due from today to this many days ahead"})
    kind = fields.String(load_default=None, validate=validate.OneOf(list(KINDS)))
