"""The verification report of DESIGN.md as JSON: one schema for the API's answer, its OpenAPI description
and what ``python -m service verify`` prints. No Flask here, so that the command line can use it."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from .report import INDETERMINATE, INVALID, VALID, Reason

NULLABLE = {"required": True, "allow_none": True}
LEVELS = ["B-B", "B-T", "B-LT", "B-LTA"]


class ReasonText(fields.String):
    """A reason as one line, "中文 / English"."""

    def _serialize(self, value: Reason | None, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        return None if value is None else value.text()


class ReasonSchema(Schema):
    zh = fields.String(required=True)
    en = fields.String(required=True)
    severity = fields.String(required=True, validate=validate.OneOf([INVALID, INDETERMINATE, "info"]))


class DocumentInfoSchema(Schema):
    registered = fields.Boolean(required=True, metadata={"description": "whether this registry issued the document"})
    id = fields.String(**NULLABLE)
    form = fields.String(**NULLABLE)
    form_title = fields.String(**NULLABLE)
    serial = fields.String(**NULLABLE)
    number = fields.String(**NULLABLE)
    agency = fields.String(**NULLABLE)
    issued_at = fields.String(**NULLABLE)
    status = fields.String(**NULLABLE)
    voided_at = fields.String(**NULLABLE)
    void_reason = fields.String(**NULLABLE)


class SignatureReportSchema(Schema):
    field = fields.String(required=True, metadata={"description": "the signature field"})
    role = fields.String(required=True, metadata={"description": "the party's label on the form, or 签发机关"})
    signer = fields.String(required=True)
    intact = fields.Boolean(required=True)
    trusted = fields.Boolean(required=True)
    signed_at = fields.String(**NULLABLE)
    timestamp = fields.String(**NULLABLE)
    coverage = fields.String(required=True)
    modifications = fields.String(**NULLABLE)
    certification = fields.Boolean(required=True, metadata={"description": "the issuing agency's certification signature"})
    party = fields.String(required=True, allow_none=True, metadata={"description": "the form's role for this field; null for the agency"})
    kind = fields.String(required=True, validate=validate.OneOf(["agency", "staff", "event", "other"]), metadata={
        "description": "the agency's certification, a staff member's own certificate, an applicant's event certificate, or another"})
    signer_id = fields.String(required=True, allow_none=True, metadata={"description": "the party's ID number from the registry, masked"})
    development_timestamp = fields.Boolean(required=True, metadata={
        "description": "the timestamp comes from the service's development PKI: it proves no time independently"})
    level = fields.String(required=True, allow_none=True, validate=validate.OneOf(LEVELS), metadata={
        "description": "the PAdES baseline level the signature reaches: B-B (no trusted timestamp), B-T (timestamped), B-LT (and its "
                       "validation data embedded), B-LTA (and a document timestamp over it)"})
    validation_time = fields.String(required=True, allow_none=True, metadata={
        "description": "the moment its certificate chain was validated as of: its trusted timestamp's, else the time of verification"})
    revoked_at = fields.String(required=True, allow_none=True, metadata={
        "description": "when the signer's certificate was revoked or reported compromised, where known"})
    algorithm = fields.String(required=True, allow_none=True, metadata={
        "description": "the signature's algorithm and digest as it names them: sm2-sm3 (国密), rsa-sha256, ecdsa-sha256 …; "
                       "null when it cannot be read"})


class CompletenessSchema(Schema):
    complete = fields.Boolean(required=True, metadata={"description": "every party the document requires has signed this copy"})
    awaiting = fields.List(fields.String(), required=True, metadata={"description": "the labels of those who have not"})
    newer_revision = fields.Boolean(required=True, metadata={"description": "the registry holds a later revision than this copy"})


class VerificationReportSchema(Schema):
    """Dumps a ``VerificationReport``."""

    verdict = fields.String(required=True, validate=validate.OneOf([VALID, INVALID, INDETERMINATE]))
    reasons = fields.List(ReasonText(), required=True, metadata={"description": "中文 / English, one line each"})
    document = fields.Nested(DocumentInfoSchema, required=True)
    signatures = fields.List(fields.Nested(SignatureReportSchema), required=True)
    changes_since_issue = fields.String(required=True, validate=validate.OneOf(["none", "form_filling_and_signing", "disallowed"]))
    checked_at = fields.String(required=True)
    completeness = fields.Nested(CompletenessSchema, required=True, allow_none=True, metadata={"description": "for a registered document"})
    level = fields.String(required=True, allow_none=True, validate=validate.OneOf(LEVELS), metadata={
        "description": "the PAdES baseline level of the issuing agency's signature"})
    reasons_detail = fields.List(fields.Nested(ReasonSchema), attribute="reasons", dump_only=True, required=True)
