"""The JSON API's bodies, each declared once: requests are loaded by them, answers dumped by them, and the
OpenAPI document is generated from them. The forms' data is each form's own schema (``service/forms``)."""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace
from typing import Any, ClassVar

from flask import current_app, url_for
from marshmallow import (
    EXCLUDE,
    Schema,
    ValidationError,
    fields,
    missing,
    pre_dump,
    validate,
    validates,
)

from ..auth.principal import ROLES
from ..errors import bilingual
from ..forms import CATALOGUE
from ..forms.fields import (
    MSG_BLANK,
    MSG_NULL,
    MSG_REQUIRED,
    MSG_STRING,
    FormSchema,
    Text,
)
from ..forms.jsonschema import json_schema
from ..forms.jsonschema import sample as form_sample
from ..registry.documents import DocumentRecord
from ..webhooks.events import SUBSCRIBABLE, unknown_event
from ..webhooks.subscriptions import MAX_PAGE, MAX_PER_PAGE, url_problem

MSG_IDEMPOTENCY_KEY = bilingual("Idempotency-Key 须为 1–200 个可打印字符", "Idempotency-Key must be 1–200 printable characters")
MSG_LIST = bilingual("应为文本列表", "must be a list of strings")


# --- fields --------------------------------------------------------------------------------------


class Link(fields.String):
    """A link computed from the object being dumped; left out when ``link`` gives None."""

    def __init__(self, link: Callable[[Any], str | None], **kwargs: Any) -> None:
        super().__init__(dump_only=True, **kwargs)
        self.link = link

    def get_value(self, obj: Any, attr: str, accessor: Any = None, default: Any = missing) -> Any:
        value = self.link(obj)
        return missing if value is None else value


class Links(fields.Nested):
    """The links of the object being dumped: its schema reads the object itself, not one of its attributes."""

    def __init__(self, nested: type[Schema], **kwargs: Any) -> None:
        super().__init__(nested, dump_only=True, required=True, **kwargs)

    def get_value(self, obj: Any, attr: str, accessor: Any = None, default: Any = missing) -> Any:
        return obj


class Name(fields.String):
    """A name or id: surrounding spaces are dropped, and a blank one is refused."""

    default_error_messages: ClassVar[dict[str, str]] = {
        "required": MSG_REQUIRED, "null": MSG_NULL, "invalid": MSG_STRING, "blank": MSG_BLANK}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs).strip()
        if not text:
            raise self.make_error("blank")
        return text


class LenientBody(FormSchema):
    """A request body whose unknown fields are ignored (the administration and void bodies always ignored them);
    the issuing envelope refuses them, like the forms' data."""

    class Meta:
        unknown = EXCLUDE


def _names(**kwargs: Any) -> fields.List:
    return fields.List(Name(), error_messages={"invalid": MSG_LIST, "null": MSG_NULL, "required": MSG_REQUIRED}, **kwargs)


# --- forms ---------------------------------------------------------------------------------------


class FormLinksSchema(Schema):
    self_ = Link(lambda spec: url_for("forms_api.show", form_id=spec.id), data_key="self", required=True)


class FormSummarySchema(Schema):
    """Dumps a ``FormSpec``."""

    id = fields.String(required=True)
    title = fields.String(required=True)
    source = fields.String(required=True, metadata={"description": "the legal source of the form"})
    number_kind = fields.String(required=True, allow_none=True, metadata={"description": "letter | commitment | null"})
    links = Links(FormLinksSchema)


class FormCatalogueSchema(Schema):
    forms = fields.List(fields.Nested(FormSummarySchema), required=True)


class FormDetailSchema(FormSummarySchema):
    schema = fields.Function(json_schema, required=True, metadata={"type": "object", "description": "the form data's JSON Schema"})
    sample = fields.Function(form_sample, required=True, metadata={"type": "object", "description": "valid, realistic data"})


# --- documents -----------------------------------------------------------------------------------


class IssueRequestSchema(FormSchema):
    form = fields.String(
        required=True,
        validate=validate.OneOf(list(CATALOGUE), error=bilingual("未知的表单编号", "unknown form id")),
        error_messages={"required": MSG_REQUIRED, "null": MSG_NULL, "invalid": MSG_STRING},
        metadata={"description": "form id, see GET /api/v1/forms"},
    )
    agency = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(min=1, max=64, error=bilingual("应为 1–64 个字符", "must be 1–64 characters long")),
        error_messages={"invalid": MSG_STRING},
        metadata={"description": "issuing agency id (default: the configured default agency)"},
    )
    data = fields.Dict(
        required=True,
        error_messages={"required": MSG_REQUIRED, "null": MSG_NULL, "invalid": bilingual("应为 JSON 对象", "must be a JSON object")},
        metadata={"description": "the form's data; its JSON Schema is at GET /api/v1/forms/{form}"},
    )

    @validates("agency")
    def _configured(self, value: str | None, **kwargs: Any) -> None:
        if value is not None and value not in current_app.extensions["chengnuo"].agencies.by_id:
            raise ValidationError(bilingual("未配置该行政机关", "unknown agency"))


class IdempotencySchema(Schema):
    """Request headers of POST /api/v1/documents."""

    idempotency_key = fields.String(
        data_key="Idempotency-Key",
        validate=[validate.Length(min=1, max=200, error=MSG_IDEMPOTENCY_KEY), validate.Predicate("isprintable", error=MSG_IDEMPOTENCY_KEY)],
        error_messages={"invalid": MSG_IDEMPOTENCY_KEY},
        metadata={"description": "a repeat with the same key and body returns the first document; another body gets 409"},
    )


def _file_link(kind: str) -> Callable[[DocumentRecord], str | None]:
    return lambda record: url_for(f"documents_api.{kind}", document_id=record.id) if record.issued else None


class DocumentLinksSchema(Schema):
    self_ = Link(lambda record: url_for("documents_api.show", document_id=record.id), data_key="self", required=True)
    pdf = Link(_file_link("pdf"), metadata={"description": "only once issued"})
    docx = Link(_file_link("docx"), metadata={"description": "only once issued"})
    verify = Link(lambda record: f"{current_app.extensions['chengnuo'].settings.base_url}/v/{record.serial}", required=True,
                  metadata={"description": "the public page the QR code opens"})


class PartySchema(Schema):
    role = fields.String(required=True, metadata={"description": "applicant, handler, verifier, onsite_inspector, subject, proxy …"})
    label = fields.String(required=True, metadata={"description": "the form's own words beside the field"})
    required = fields.Boolean(required=True, metadata={"description": "false when the data leaves this party out"})
    state = fields.String(required=True, validate=validate.OneOf(["waiting", "signed", "skipped"]))
    signer = fields.String(required=True, allow_none=True)
    signed_at = fields.DateTime(required=True, allow_none=True)


class RevisionSchema(Schema):
    number = fields.Integer(required=True, metadata={"description": "0: as issued; then one per signature"})
    sha256 = fields.String(required=True)
    party = fields.String(required=True, allow_none=True)
    created_at = fields.DateTime(required=True)


class DocumentSchema(Schema):
    """Dumps a ``DocumentDetail``."""

    id = fields.String(required=True)
    form = fields.String(required=True)
    agency = fields.String(required=True)
    serial = fields.String(required=True)
    number = fields.String(required=True, allow_none=True, metadata={"description": "the official number, if the form has one"})
    status = fields.String(required=True, validate=validate.OneOf(["issuing", "awaiting_signatures", "completed", "voided"]))
    sha256 = fields.String(required=True, allow_none=True, metadata={"description": "of the PDF as issued (revision 0)"})
    revision = fields.Integer(required=True, metadata={"description": "the latest revision, which the PDF download gives"})
    parties = fields.List(fields.Nested(PartySchema), required=True, metadata={"description": "who signs, in order, and who has"})
    revisions = fields.List(fields.Nested(RevisionSchema), required=True)
    created_at = fields.DateTime(required=True)
    issued_at = fields.DateTime(required=True, allow_none=True)
    voided_at = fields.DateTime(required=True, allow_none=True)
    void_reason = fields.String(required=True, allow_none=True)
    case_id = fields.String(required=True, allow_none=True, metadata={"description": "the case (办件) it was issued for"})
    catalog_items = fields.List(fields.Dict(), required=True, allow_none=True,
                                metadata={"description": "[{id, version}]: the catalogue item versions that filled it"})
    template_version = fields.Integer(required=True, allow_none=True,
                                      metadata={"description": "the agency's template version it was rendered from; null: the built-in one"})
    links = Links(DocumentLinksSchema)


class StaffSignatureSchema(LenientBody):
    party = Name(required=True, metadata={"description": "the party to sign: handler, verifier, onsite_inspector"})
    password = fields.String(required=True, load_only=True, validate=validate.Length(min=1, max=200),
                             metadata={"description": "the signed-in staff member's password, again"})


class EvidenceEventSchema(Schema):
    seq = fields.Integer(required=True, metadata={"description": "the audit entry holding the event"})
    at = fields.DateTime(required=True)
    action = fields.String(required=True, metadata={"description": "reserve, issue, signing.link, sign, void"})
    what = fields.Function(lambda e: f"{e.what_zh} / {e.what_en}", required=True, metadata={"type": "string"})
    outcome = fields.String(required=True, metadata={"description": "success, or refused for a wrong try"})
    actor = fields.String(required=True)
    detail = fields.Dict(required=True, metadata={"description": "who, which party, how identity was checked and by whom, "
                                                                  "address, user agent, hashes before and after"})
    entry_hash = fields.String(required=True)


class EvidenceSchema(Schema):
    document = fields.Nested(DocumentSchema, required=True)
    form_title = fields.String(required=True)
    agency_name = fields.String(required=True)
    events = fields.List(fields.Nested(EvidenceEventSchema), required=True)
    entries_intact = fields.Boolean(required=True, metadata={"description": "each event's audit entry still hashes as the chain holds it"})
    head_agrees = fields.Boolean(required=True, metadata={"description": "the audit trail's head agreed with its chain"})


class SignatureImageSchema(LenientBody):
    signature = fields.String(required=True, validate=validate.Length(max=800_000),
                              metadata={"description": "the handwritten signature: data:image/png;base64,…"})


class LinkRequestSchema(LenientBody):
    party = Name(required=True, metadata={"description": "the party who signs with the link: applicant, subject, proxy …"})


class LinkSchema(Schema):
    url = fields.String(required=True, metadata={"description": "the signing page; give it to the signer"})
    token = fields.String(required=True, metadata={"description": "the link's credential, in the URL; shown this once"})
    expires_at = fields.DateTime(required=True)
    code = fields.String(required=True, allow_none=True, metadata={"description": "six digits, shown this once: send them apart from the URL"})


class LinkSignatureSchema(LenientBody):
    code = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=20))
    id_suffix = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=20),
                              metadata={"description": "the last six characters of the signer's ID number, when the form holds one"})
    agree = fields.Boolean(required=True, metadata={"description": "本人已阅读并知晓…: must be true"})
    signature = fields.String(required=True, validate=validate.Length(max=800_000),
                              metadata={"description": "the handwritten signature: data:image/png;base64,…"})


class VoidRequestSchema(LenientBody):
    reason = Text("作废原因", max_length=500, multiline=True, description="why; verifications of the document then say it")


# --- verifications -------------------------------------------------------------------------------


class PdfUploadSchema(Schema):
    """The PDF to verify: the multipart field ``file``, or the whole body as ``application/pdf``."""

    file = fields.Raw(required=True, metadata={"type": "string", "format": "binary"})


# --- administration ------------------------------------------------------------------------------


class UserSchema(Schema):
    id = fields.String(required=True)
    username = fields.String(required=True)
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    agency = fields.String(required=True, allow_none=True)
    created_at = fields.DateTime(required=True)
    disabled = fields.Function(lambda user: user.disabled_at is not None, required=True, metadata={"type": "boolean"})
    display_name = fields.String(required=True, metadata={"description": "the name they sign with"})
    has_certificate = fields.Boolean(required=True, metadata={"description": "a clerk or supervisor's own signing certificate"})


class UserListSchema(Schema):
    users = fields.List(fields.Nested(UserSchema), required=True)


class NewUserSchema(UserSchema):
    """A user just created, ``(user, password)``: the generated password is shown this once."""

    password = fields.String(required=True)

    @pre_dump
    def _with_password(self, created: tuple[Any, str], **kwargs: Any) -> SimpleNamespace:
        user, password = created
        return SimpleNamespace(**vars(user), password=password)


class UserRequestSchema(LenientBody):
    username = Name(required=True)
    role = Name(required=True, validate=validate.OneOf(ROLES, error=bilingual(f"角色只能是 {'、'.join(ROLES)}",
                                                                               f"the role must be one of {', '.join(ROLES)}")))
    agency = Name(load_default=None, allow_none=True, metadata={"description": "required for clerks and supervisors"})
    display_name = Name(load_default=None, allow_none=True, metadata={"description": "the name they sign with (default: the user name)"})


class KeySchema(Schema):
    id = fields.String(required=True)
    name = fields.String(required=True)
    agencies = fields.List(fields.String(), required=True)
    forms = fields.List(fields.String(), required=True, metadata={"description": '["*"] for every form'})
    created_at = fields.DateTime(required=True)
    revoked_at = fields.DateTime(required=True, allow_none=True)
    last_used_at = fields.DateTime(required=True, allow_none=True)


class KeyListSchema(Schema):
    keys = fields.List(fields.Nested(KeySchema), required=True)


class NewKeySchema(KeySchema):
    """A key just created, ``(record, key)``: the key itself is shown this once."""

    key = fields.String(required=True, metadata={"description": "send it as Authorization: Bearer <key>"})

    @pre_dump
    def _with_key(self, created: tuple[Any, str], **kwargs: Any) -> SimpleNamespace:
        record, key = created
        return SimpleNamespace(**vars(record), key=key)


class KeyRequestSchema(LenientBody):
    name = Name(required=True)
    agencies = _names(load_default=list, metadata={"description": "the agencies the key acts for"})
    forms = _names(load_default=lambda: ["*"], metadata={"description": 'the forms it may issue; ["*"] (default) for every form'})


# --- webhooks ------------------------------------------------------------------------------------


def _problem(check: Callable[[str], str | None]) -> Callable[[str], None]:
    """A marshmallow validator from a function that names the problem (bilingual) or returns None."""

    def validator(value: str) -> None:
        if problem := check(value):
            raise ValidationError(problem)

    return validator


class WebhookRequestSchema(FormSchema):
    url = fields.String(
        required=True,
        validate=_problem(url_problem),
        error_messages={"required": MSG_REQUIRED, "null": MSG_NULL, "invalid": MSG_STRING},
        metadata={"format": "uri", "description": "where events are POSTed: an http(s) URL, without credentials"},
    )
    events = fields.List(
        fields.String(validate=_problem(unknown_event), error_messages={"invalid": MSG_STRING, "null": MSG_NULL},
                      metadata={"enum": list(SUBSCRIBABLE)}),
        required=True,
        validate=validate.Length(min=1, max=50, error=bilingual("应列出 1–50 个事件", "list 1–50 events")),
        error_messages={"invalid": MSG_LIST, "null": MSG_NULL, "required": MSG_REQUIRED},
        metadata={"description": "event types, or a family's wildcard (document.*), or * for every event"},
    )


class WebhookLinksSchema(Schema):
    deliveries = Link(lambda webhook: url_for("webhooks_api.deliveries", webhook_id=webhook.id), required=True)


class WebhookSchema(Schema):
    """Dumps a ``Webhook`` (never its secret)."""

    id = fields.String(required=True)
    url = fields.String(required=True)
    events = fields.List(fields.String(), required=True)
    created_at = fields.DateTime(required=True)
    links = Links(WebhookLinksSchema)


class WebhookListSchema(Schema):
    webhooks = fields.List(fields.Nested(WebhookSchema), required=True)


class NewWebhookSchema(WebhookSchema):
    """A webhook just made, ``(webhook, secret)``: the secret is shown this once."""

    secret = fields.String(required=True, metadata={
        "description": "keys the HMAC of X-Chengnuo-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, \"<t>.<body>\")>; shown only now"})

    @pre_dump
    def _with_secret(self, created: tuple[Any, str], **kwargs: Any) -> SimpleNamespace:
        webhook, secret = created
        return SimpleNamespace(**vars(webhook), secret=secret)


class DeliveryAttemptSchema(Schema):
    number = fields.Integer(required=True)
    at = fields.DateTime(required=True)
    status = fields.Integer(required=True, allow_none=True, metadata={"description": "the receiver's HTTP status; null: no answer"})
    error = fields.String(required=True, allow_none=True)
    duration_ms = fields.Integer(required=True)


class DeliverySchema(Schema):
    """Dumps a ``Delivery``: one event sent (or being sent) to one webhook."""

    id = fields.Integer(required=True)
    event_id = fields.String(required=True, metadata={"description": "the id in the body; the same on every attempt"})
    type = fields.String(required=True)
    state = fields.String(required=True, validate=validate.OneOf(["pending", "delivered", "failed"]))
    attempts = fields.Integer(required=True)
    created_at = fields.DateTime(required=True)
    next_attempt_at = fields.DateTime(required=True, allow_none=True)
    last_attempt_at = fields.DateTime(required=True, allow_none=True)
    delivered_at = fields.DateTime(required=True, allow_none=True)
    last_status = fields.Integer(required=True, allow_none=True)
    last_error = fields.String(required=True, allow_none=True)
    log = fields.List(fields.Nested(DeliveryAttemptSchema), required=True, metadata={"description": "every attempt, first first"})


class DeliveryPageSchema(Schema):
    """Dumps a ``DeliveryPage``."""

    deliveries = fields.List(fields.Nested(DeliverySchema), required=True, metadata={"description": "newest first"})
    page = fields.Integer(required=True)
    per_page = fields.Integer(required=True)
    total = fields.Integer(required=True)


class PageQuerySchema(Schema):
    page = fields.Integer(load_default=1, strict=False, validate=validate.Range(min=1, max=MAX_PAGE, error=bilingual(
        f"页码应为 1–{MAX_PAGE}", f"the page must be from 1 to {MAX_PAGE}")), error_messages={"invalid": bilingual("应为整数", "must be a whole number")})
    per_page = fields.Integer(load_default=20, strict=False, validate=validate.Range(min=1, max=MAX_PER_PAGE, error=bilingual(
        f"每页条数应为 1–{MAX_PER_PAGE}", f"per_page must be from 1 to {MAX_PER_PAGE}")),
        error_messages={"invalid": bilingual("应为整数", "must be a whole number")})


# --- health --------------------------------------------------------------------------------------


class HealthSchema(Schema):
    status = fields.String(required=True, validate=validate.OneOf(["ok", "degraded", "unavailable"]))
    checks = fields.Dict(keys=fields.String(), values=fields.Dict(), required=True,
                         metadata={"description": "registry, storage, templates, signing, converter, audit: each with ok"})

