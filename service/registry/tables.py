"""The registry's tables. SQLite by default; PostgreSQL works with the same definitions."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    JSON,
    Column,
    LargeBinary,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)

metadata = MetaData()


class UTCDateTime(TypeDecorator):
    """Aware datetimes in, aware UTC datetimes out, on every database (SQLite keeps no offset)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect) -> dt.datetime | None:  # type: ignore[no-untyped-def]
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: the registry stores only aware times")
        return value.astimezone(dt.timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: dt.datetime | None, dialect) -> dt.datetime | None:  # type: ignore[no-untyped-def]
        return value.replace(tzinfo=dt.timezone.utc) if value is not None else None

documents = Table(
    "documents",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("serial", String(40), nullable=False, unique=True),
    Column("form", String(64), nullable=False, index=True),
    Column("agency", String(64), nullable=False, index=True),
    Column("number", String(120), nullable=True, index=True),
    Column("number_kind", String(20), nullable=True),
    Column("status", String(24), nullable=False),  # issuing | awaiting_signatures | completed | voided
    Column("subject", String(200), nullable=False, default="", index=True),
    Column("data", JSON, nullable=False),
    Column("sha256", String(64), nullable=True),
    Column("pdf_path", Text, nullable=True),
    Column("docx_path", Text, nullable=True),
    Column("pdf_size", Integer, nullable=True),
    Column("created_at", UTCDateTime(), nullable=False, index=True),
    Column("issued_at", UTCDateTime(), nullable=True),
    Column("voided_at", UTCDateTime(), nullable=True),
    Column("void_reason", Text, nullable=True),
    Column("request_id", String(64), nullable=True),
    Column("owner", String(36), nullable=True, index=True),  # the process (instances.id) issuing it; see recovery.py
    Column("revision", Integer, nullable=False, default=0),  # the latest revision (0: as issued); pdf_path is its file
    Column("case_id", String(36), nullable=True, index=True),  # the case (办件) it was issued for, if any
    Column("catalog_items", JSON, nullable=True),  # [{"id", "version"}]: the catalogue item versions that filled it
    Column("template_version", Integer, nullable=True),  # the agency's template version it was rendered from; None: built-in
)

# A party's way to sign: a link for the applicant at a distance (a one-time code sent apart, and their ID
# number's last characters), or the window's screen (the clerk has checked the identity document). The
# token and the code are never stored, only their keyed hashes.
signing_links = Table(
    "signing_links",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("document_id", String(36), nullable=False, index=True),
    Column("party", String(40), nullable=False),
    Column("mode", String(10), nullable=False),  # remote | window
    Column("code_hash", String(64), nullable=True),  # remote only
    Column("identity_checked_by", String(200), nullable=True),  # window only: the clerk who checked the ID document
    Column("created_by", String(200), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
    Column("failures", Integer, nullable=False, default=0),
    Column("locked_at", UTCDateTime(), nullable=True),
    Column("used_at", UTCDateTime(), nullable=True),
)

# Every revision of a document's PDF: 0 as the agency issued it, then one per party's signature. The
# bytes stay (files named in pdf_path); the hash proves a copy is one of them.
revisions = Table(
    "revisions",
    metadata,
    Column("document_id", String(36), primary_key=True),
    Column("number", Integer, primary_key=True),
    Column("sha256", String(64), nullable=False, index=True),
    Column("pdf_path", Text, nullable=False),
    Column("size", Integer, nullable=False),
    Column("party", String(40), nullable=True),  # the role that signed in this revision; None for 0
    Column("signer", String(200), nullable=True),  # the name in the signer's certificate
    Column("kind", String(12), nullable=True),  # staff | event | archive (a fresh archival timestamp, no party); None for 0
    Column("created_at", UTCDateTime(), nullable=False),
)

# One row per (agency, kind, year); kind "serial" with agency "*" numbers the registry serials.
counters = Table(
    "counters",
    metadata,
    Column("agency", String(64), primary_key=True),
    Column("kind", String(20), primary_key=True),
    Column("year", Integer, primary_key=True),
    Column("value", Integer, nullable=False),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("key", String(255), primary_key=True),
    Column("request_hash", String(64), nullable=False),
    Column("document_id", String(36), nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("owner", String(36), nullable=True),  # the process whose request claimed the key
)

# The service's processes, each with a heartbeat: a document left ``issuing`` by a process that is gone
# (its heartbeat stale, or its PID dead on this very machine) is voided; another live process's never is.
instances = Table(
    "instances",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("host", String(255), nullable=False),
    Column("boot_id", String(64), nullable=False),  # the kernel's boot id: the same PID after a reboot is another process
    Column("pid", Integer, nullable=False),
    Column("proc_start", String(32), nullable=False),  # the process's start time in clock ticks: PIDs are reused
    Column("started_at", UTCDateTime(), nullable=False),
    Column("heartbeat_at", UTCDateTime(), nullable=False),
    Column("stopped_at", UTCDateTime(), nullable=True),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String(16), primary_key=True),  # public part, shown in listings and logs
    Column("name", String(200), nullable=False),
    Column("secret_hash", String(64), nullable=False),  # sha256 of the whole key; the key itself is never stored
    Column("agencies", JSON, nullable=False),  # agency ids this key may act for
    Column("forms", JSON, nullable=False),  # form ids, or ["*"]
    Column("created_at", UTCDateTime(), nullable=False),
    Column("revoked_at", UTCDateTime(), nullable=True),
    Column("last_used_at", UTCDateTime(), nullable=True),
)

users = Table(
    "users",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("password_hash", Text, nullable=False),
    Column("role", String(20), nullable=False),  # clerk | supervisor | admin
    Column("agency", String(64), nullable=True),  # None: every agency (administrators)
    Column("created_at", UTCDateTime(), nullable=False),
    Column("disabled_at", UTCDateTime(), nullable=True),
    Column("failed_logins", Integer, nullable=False, default=0),
    Column("locked_until", UTCDateTime(), nullable=True),
    Column("display_name", String(100), nullable=True),  # the name a staff member signs with (default: the user name)
    Column("signing_cert", Text, nullable=True),  # PEM: the staff member's own signing certificate
    Column("signing_key", Text, nullable=True),  # PEM, PKCS#8 encrypted with the user's password: never returned
    Column("signature_image", LargeBinary, nullable=True),  # PNG: their handwritten signature
)

# Append-only and hash-chained: each entry's hash covers its fields and the previous entry's hash;
# prev_hash is unique, so two writers can never fork the chain.
audit_log = Table(
    "audit_log",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime(), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("action", String(40), nullable=False, index=True),
    Column("object", String(200), nullable=False, index=True),  # a document's evidence is found by it
    Column("outcome", String(20), nullable=False),
    Column("detail", JSON, nullable=False),
    Column("prev_hash", String(64), nullable=False, unique=True),
    Column("hash", String(64), nullable=False),
)

# Calling systems' webhooks (service/webhooks/). Each belongs to the API key that made it and hears the events
# of the documents that key may act for. The signing secret is stored sealed (webhooks/secretbox.py) with a key
# kept outside the database; it is returned once, when the webhook is made.
webhooks = Table(
    "webhooks",
    metadata,
    Column("id", String(24), primary_key=True),  # wh_…, public
    Column("owner", String(16), nullable=False, index=True),  # api_keys.id
    Column("url", Text, nullable=False),
    Column("events", JSON, nullable=False),  # event types or wildcards (document.*)
    Column("secret", Text, nullable=False),  # sealed; never returned after creation
    Column("created_at", UTCDateTime(), nullable=False),
    Column("disabled_at", UTCDateTime(), nullable=True),  # deleted by its owner: no more deliveries
)

# The outbox and the delivery log: one row per event and webhook, with the body exactly as it is sent every
# time. A deliverer claims a due row by setting a lease (lease_owner, lease_until), so that several processes
# on one database never send it at once; a lease that runs out (its process died) lets another claim it.
webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("webhook_id", String(24), nullable=False, index=True),
    Column("event_id", String(40), nullable=False),
    Column("type", String(40), nullable=False),
    Column("body", Text, nullable=False),
    Column("state", String(12), nullable=False),  # pending | delivered | failed
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UTCDateTime(), nullable=True),  # when pending
    Column("lease_owner", String(36), nullable=True),
    Column("lease_until", UTCDateTime(), nullable=True),
    Column("last_status", Integer, nullable=True),  # the receiver's last HTTP status; None: no answer
    Column("last_error", String(500), nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("last_attempt_at", UTCDateTime(), nullable=True),
    Column("delivered_at", UTCDateTime(), nullable=True),
    UniqueConstraint("webhook_id", "event_id", name="uq_webhook_deliveries_event"),
    Index("ix_webhook_deliveries_due", "state", "next_attempt_at"),
)

# Every attempt of a delivery: when, what the receiver answered (or why there was no answer), how long it took.
webhook_attempts = Table(
    "webhook_attempts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("delivery_id", Integer, nullable=False, index=True),
    Column("number", Integer, nullable=False),
    Column("at", UTCDateTime(), nullable=False),
    Column("status", Integer, nullable=True),
    Column("error", String(500), nullable=True),
    Column("duration_ms", Integer, nullable=False),
)

# The item catalogue (事项目录): an agency's items that accept commitment. Each edit is a new version; the
# row here points to the current one, and documents and cases record the version they were made from.
catalog_items = Table(
    "catalog_items",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("agency", String(64), nullable=False, index=True),
    Column("kind", String(12), nullable=False),  # proof (证明事项) | permit (涉企经营许可事项)
    Column("name", String(200), nullable=False),
    Column("version", Integer, nullable=False),  # the current version
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("retired_at", UTCDateTime(), nullable=True),
    UniqueConstraint("agency", "name", name="uq_catalog_items_agency_name"),
)

catalog_item_versions = Table(
    "catalog_item_versions",
    metadata,
    Column("item_id", String(36), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("data", JSON, nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)

# A case (办件): one application carried through the procedure. ``lock`` is bumped by every change, so that two
# steps taken at once can never both apply (compare-and-set). The applicant's identity is kept whole in
# ``applicant`` (shown only to those acting for the agency) and as a keyed hash in ``applicant_key``, by which
# the service finds its own record of false commitments.
cases = Table(
    "cases",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("number", String(60), nullable=False, unique=True),
    Column("agency", String(64), nullable=False, index=True),
    Column("state", String(24), nullable=False, index=True),
    Column("procedure", String(12), nullable=False),  # commitment | ordinary
    Column("commitment_type", String(24), nullable=False),
    Column("channel", String(10), nullable=False),  # window | mail | online
    Column("received_on", String(10), nullable=False, index=True),  # ISO date
    Column("items", JSON, nullable=False),  # [{"id", "version", "name"}]
    Column("applicant", JSON, nullable=False),
    Column("applicant_name", String(200), nullable=False, index=True),
    Column("applicant_key", String(64), nullable=False, index=True),
    Column("facts", JSON, nullable=False),  # what the steps recorded: credit check, decision, results, outcome …
    Column("outcome", String(24), nullable=True),
    Column("false_commitment", Integer, nullable=False, default=0),  # 1: closed on a false commitment (失信)
    Column("created_by", String(200), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("lock", Integer, nullable=False, default=0),
    Column("decided_on", String(10), nullable=True, index=True),  # the decision's date (facts hold the rest): periods count by it
    Column("idempotency_key", String(64), nullable=True, unique=True),  # sha256 of the caller and its Idempotency-Key
    Column("request_hash", String(64), nullable=True),  # of the request that made it, to tell a retry from a reuse
)

# A case's deadlines, each counted in working days from a start date and citing its legal source.
case_deadlines = Table(
    "case_deadlines",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("case_id", String(36), nullable=False, index=True),
    Column("agency", String(64), nullable=False, index=True),
    Column("kind", String(24), nullable=False),
    Column("ref", String(60), nullable=True),  # what it is about: a document id, a complaint number
    Column("start_on", String(10), nullable=False),
    Column("working_days", Integer, nullable=True),  # None: a calendar date given (容缺 materials)
    Column("due_on", String(10), nullable=False, index=True),
    Column("exact", Integer, nullable=False),  # 0: counted across a year whose holidays nobody has published
    Column("unknown_years", JSON, nullable=False),
    Column("source", Text, nullable=False),
    Column("done_on", String(10), nullable=True),
    Column("missed_at", UTCDateTime(), nullable=True),  # when case.deadline_missed was sent
    Column("created_at", UTCDateTime(), nullable=False),
)

# A request for administrative assistance (申请行政协助函, 附件7) made in a case: to an agency on this service (``to_agency``),
# which answers it here with its own sealed reply (附件8), or to one outside it, whose paper or PDF reply is recorded.
assistance_requests = Table(
    "assistance_requests",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("case_id", String(36), nullable=False, index=True),
    Column("request_document_id", String(36), nullable=False, unique=True),
    Column("from_agency", String(64), nullable=False, index=True),
    Column("to_agency", String(64), nullable=True, index=True),  # None: an agency outside the service
    Column("addressee", String(200), nullable=False),  # as the request names it
    Column("kind", String(10), nullable=False),  # written (一) | visit (二)
    Column("number", String(120), nullable=True),  # the request's 函字 number
    Column("letter_date", String(10), nullable=False),
    Column("reply_days", Integer, nullable=True),
    Column("state", String(12), nullable=False),  # open | answered
    Column("finding", String(20), nullable=True),  # true | false | cannot_assist | not_ours
    Column("reason", Text, nullable=True),  # why it cannot assist
    Column("refer_to", String(200), nullable=True),  # the unit to ask instead
    Column("visit", JSON, nullable=True),  # (二): the two staff sent and what the visit found
    Column("reply_document_id", String(36), nullable=True),  # the reply issued on this service
    Column("reply_number", String(120), nullable=True),
    Column("reply_date", String(10), nullable=True),
    Column("reply_file", Text, nullable=True),  # an outside agency's PDF reply, kept
    Column("reply_sha256", String(64), nullable=True),
    Column("reply_verdict", JSON, nullable=True),  # that PDF's verification report
    Column("answered_by", String(200), nullable=True),
    Column("answered_at", UTCDateTime(), nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
)

# Credit information exported for the credit platform (信用承诺信息, 践诺信息; 002 四(七)): each export, and for each
# case and kind of row the hash of what was last exported, so that the next export holds only new or changed rows.
credit_exports = Table(
    "credit_exports",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("agency", String(64), nullable=False, index=True),
    Column("period_from", String(10), nullable=False),
    Column("period_to", String(10), nullable=False),
    Column("rows", Integer, nullable=False),
    Column("format", String(8), nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)

credit_export_rows = Table(
    "credit_export_rows",
    metadata,
    Column("case_id", String(36), primary_key=True),
    Column("kind", String(12), primary_key=True),  # commitment | fulfilment
    Column("agency", String(64), nullable=False, index=True),
    Column("row_hash", String(64), nullable=False),
    Column("export_id", String(36), nullable=False, index=True),
    Column("exported_at", UTCDateTime(), nullable=False),
)

# Issued PDFs and rendered DOCX files when CHENGNUO_STORAGE=database (service/storage/database.py): the
# bytes in the registry's own database, under the same relative path the folder store would use.
stored_files = Table(
    "stored_files",
    metadata,
    Column("path", String(300), primary_key=True),
    Column("content", LargeBinary, nullable=False),
    Column("size", Integer, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)

# Bulk issuing (service/batches/): a batch of rows of one form for one agency, issued by queue workers on any node.
# The caller is kept as it was when the batch was made, so that every row is issued with its rights, and audited as it.
batches = Table(
    "batches",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("form", String(64), nullable=False),
    Column("agency", String(64), nullable=False, index=True),
    Column("principal", JSON, nullable=False),  # {kind, id, name, role, agencies, forms}
    Column("source", String(8), nullable=False),  # json | csv | xlsx
    Column("filename", String(200), nullable=True),
    Column("total", Integer, nullable=False),
    Column("status", String(12), nullable=False),  # running | finished
    Column("idempotency_key", String(200), nullable=True, unique=True),
    Column("request_hash", String(64), nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("started_at", UTCDateTime(), nullable=True),  # the first row a worker took up
    Column("finished_at", UTCDateTime(), nullable=True),
    Column("data_dropped_at", UTCDateTime(), nullable=True),  # the rows' data (applicants' details) dropped, outcomes kept
)

batch_rows = Table(
    "batch_rows",
    metadata,
    Column("batch_id", String(36), primary_key=True),
    Column("row", Integer, primary_key=True),  # as the file numbers it (CSV/XLSX), or 1… for JSON
    Column("data", JSON, nullable=False),
    Column("status", String(10), nullable=False),  # pending | done | failed
    Column("document_id", String(36), nullable=True),
    Column("errors", JSON, nullable=True),  # {field path: [message]}
    Column("attempts", Integer, nullable=False, default=0),
    Column("updated_at", UTCDateTime(), nullable=False),
    Index("ix_batch_rows_status", "batch_id", "status"),
)

# Agency keys reported compromised (python -m service key compromise): one row per certificate, found by the SHA-256 of
# its DER. Documents signed with it at or after ``since`` no longer verify; the service signs nothing more with it.
key_compromises = Table(
    "key_compromises",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("agency", String(64), nullable=False, index=True),
    Column("cert_sha256", String(64), nullable=False, unique=True, index=True),  # hex SHA-256 of the certificate's DER
    Column("cert_serial", String(80), nullable=False),  # hex, as a CA's revocation form asks for it
    Column("cert_subject", Text, nullable=False),
    Column("since", UTCDateTime(), nullable=False),  # the earliest time the key may have been in other hands
    Column("recorded_at", UTCDateTime(), nullable=False),
    Column("recorded_by", String(200), nullable=False),
    Column("note", Text, nullable=False),
)

# Agencies' own templates (告知承诺书格式文本 an agency adapts and publishes), kept in the database so that every node
# renders the same bytes and ``make templates`` (which rebuilds templates/) never touches them. An upload is checked
# and kept for preview (one that fails the check is refused, not kept); publishing copies it into a new version. The latest version of an (agency, form) is the one
# in use; a rollback is a new version with an earlier one's content, or with none (back to the built-in template).
template_uploads = Table(
    "template_uploads",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("agency", String(64), nullable=False, index=True),
    Column("form", String(64), nullable=False),
    Column("filename", String(255), nullable=False),
    Column("content", LargeBinary, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("size", Integer, nullable=False),
    Column("problems", JSON, nullable=False),  # the check's warnings: [{kind, severity, location, excerpt, zh, en}]
    Column("created_by", String(200), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("published_version", Integer, nullable=True),
)

template_versions = Table(
    "template_versions",
    metadata,
    Column("agency", String(64), primary_key=True),
    Column("form", String(64), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("content", LargeBinary, nullable=True),  # None: back to the built-in template
    Column("sha256", String(64), nullable=True),
    Column("size", Integer, nullable=True),
    Column("filename", String(255), nullable=True),
    Column("upload_id", String(36), nullable=True),  # the upload it was published from
    Column("restores", Integer, nullable=True),  # a rollback: the version restored (0: the built-in template)
    Column("warnings_acknowledged", Integer, nullable=False, default=0),  # how many warnings the publisher accepted
    Column("created_by", String(200), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)
