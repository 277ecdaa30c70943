"""POST /api/v1/verifications: the PDF as the raw body (application/pdf) or as multipart field ``file``.
Answers the report as JSON, or as a printable page for ``Accept: text/html``."""

from __future__ import annotations

from flask import Response, current_app, g

from ..auth.http import actor
from ..http.openapi import BINARY, TEXT, Blueprint
from ..http.report_page import render_report_html, wants_html
from ..verification import verify
from ..verifying.report import VerificationReport
from ..verifying.report_schema import VerificationReportSchema
from .schemas import PdfUploadSchema

REPORT = "the report (JSON; a printable page for Accept: text/html)"

bp = Blueprint("verifications_api", __name__, url_prefix="/api/v1/verifications", public=True, rate_limited=True,
               description="checking a document that came back")


@bp.post("")
@bp.arguments(PdfUploadSchema, location="pdf", error_status_code=400)
# The same PDF may come as the whole body: a body that is not an object has no schema to generate it from.
@bp.doc(requestBody={"content": {"application/pdf": {"schema": BINARY}}})
@bp.response(200, VerificationReportSchema, description=REPORT)
@bp.alt_response(200, schema=TEXT, content_type="text/html", description=REPORT, success=True)
@bp.errors((400, "no file in the multipart request"), (413, "file over the size limit"),
           (422, "not a usable PDF: empty, not a PDF, damaged, encrypted, too complex, too slow"),
           (503, "every verification worker busy and the queue full; see Retry-After"))
def create(upload: dict[str, bytes]) -> VerificationReport | Response:
    """Verify a PDF that came back: signatures, changes since issue, registry match."""
    report = verify(current_app.extensions["chengnuo"], actor(), upload["file"], started=g.get("arrived"))
    return Response(render_report_html(report), mimetype="text/html") if wants_html() else report
