"""Bulk issuing: POST /api/v1/batches (202), its progress, its ZIP, and the per-form spreadsheet templates."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, send_file, url_for

from ..auth.http import require_principal
from ..batches import archive as archives
from ..batches import columns, progress, submit
from ..forms import get_form
from ..http.openapi import BINARY, Blueprint, header
from ..runtime import Services
from ..spreadsheets import XLSX_MIME, kind_of
from .batch_schemas import BatchListSchema, BatchRequestSchema, BatchSchema
from .schemas import IdempotencySchema

bp = Blueprint("batches_api", __name__, url_prefix="/api/v1/batches", description="bulk issuing: many rows of one form, issued by the queue's workers")

TEMPLATE_TYPES = {"csv": "text/csv; charset=utf-8", "xlsx": XLSX_MIME}


def services() -> Services:
    return current_app.extensions["chengnuo"]


@bp.post("")
@bp.arguments(BatchRequestSchema, location="batch")
@bp.arguments(IdempotencySchema, location="headers", error_status_code=400)
@bp.response(202, BatchSchema, description="accepted: stored and queued (or, with a repeated Idempotency-Key, the first batch)",
             headers={"Location": header("LOCATION"), "Idempotent-Replayed": header("IDEMPOTENT_REPLAYED")})
@bp.errors((403, "not allowed to issue this form for the agency"), (404, "unknown form or agency"),
           (409, "Idempotency-Key reused with another body"), (413, "over the batch's size or row limit"),
           (422, "no rows, both rows and a file, a file that cannot be read, or a header with unknown columns (on `file`)"),
           (503, "the job queue cannot be reached: the batch is kept; retry with the same Idempotency-Key"))
def create(body: dict[str, Any], headers: dict[str, str]) -> tuple[progress.Progress, int, dict[str, str]]:
    """Issue many documents of one form: JSON rows, or a multipart upload of a CSV/XLSX file (field ``file``, with
    ``form`` and ``agency`` as form fields) whose columns are the form's fields. Answers at once; the rows are issued
    by the workers of every node. Follow ``Location`` for the progress."""
    principal = require_principal()
    if body["file"] is not None:
        filename, content = body["file"]
        rows = submit.rows_from_file(services(), body["form"], content, filename)
        source = kind_of(content)
    else:
        rows, source, filename = submit.rows_from_json(services(), body["rows"]), "json", None
    result = submit.submit(services(), principal, body["form"], body["agency"], rows, source=source, filename=filename,
                           idempotency_key=headers.get("idempotency_key"))
    out = {"Location": url_for("batches_api.show", batch_id=result.batch.id)}
    if result.replayed:
        out["Idempotent-Replayed"] = "true"
    return progress.progress(services(), principal, result.batch.id), 202, out


@bp.get("")
@bp.response(200, BatchListSchema, description="the latest 50 batches of the agencies the caller acts for")
def index() -> dict[str, list[progress.Progress]]:
    """Recent batches."""
    return {"batches": progress.recent(services(), require_principal())}


@bp.get("/<batch_id>")
@bp.response(200, BatchSchema, description="total, done, failed (each failed row's errors), pending, and an ETA")
@bp.errors((404, "unknown batch, or another agency's"))
def show(batch_id: str) -> progress.Progress:
    """A batch's progress."""
    return progress.progress(services(), require_principal(), batch_id)


@bp.get("/<batch_id>/archive")
@bp.response(200, BINARY, content_type="application/zip", description="the issued PDFs, and manifest.csv (row, serial, number, sha256, …)")
@bp.errors((404, "unknown batch, or another agency's"), (500, "a stored document does not match the registry"),
           (503, "the file store cannot be reached"))
def archive(batch_id: str) -> Response:
    """The batch's documents as a ZIP (those issued so far, if it is still running), with a manifest of every row."""
    name, content = archives.build_archive(services(), require_principal(), batch_id)
    return send_file(content, mimetype="application/zip", as_attachment=True, download_name=name)



@bp.get("/templates/<form_id>.<kind>")
@bp.response(200, BINARY, content_type="text/csv", description="the form's columns, and the sample row (XLSX: and a sheet explaining each)")
@bp.errors((404, "unknown form"), (422, "kind is neither csv nor xlsx"))
def template(form_id: str, kind: str) -> Response:
    """The spreadsheet template of a form for bulk issuing (``csv`` or ``xlsx``)."""
    content = columns.template(get_form(form_id), kind)
    response = Response(content, mimetype=TEMPLATE_TYPES.get(kind, "application/octet-stream"))
    response.headers["Content-Disposition"] = f'attachment; filename="batch-{form_id}.{kind}"'
    return response
