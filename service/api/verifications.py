"""POST /api/v1/verifications: the PDF as the raw body (application/pdf) or as multipart field ``file``.
Answers the report as JSON, or as a printable page for ``Accept: text/html``."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, g, jsonify, request

from ..auth.http import actor
from ..errors import InvalidRequest
from ..verification import verify
from ..http.report_page import render_report_html
from ..verifying.report_schema import VerificationReportSchema

bp = Blueprint("verifications_api", __name__, url_prefix="/api/v1/verifications")


def uploaded_pdf(limit: int) -> bytes:
    """The upload, from either form of request; raises InvalidRequest when there is none."""
    request.max_content_length = limit + 64 * 1024  # room for the multipart envelope
    if request.mimetype == "multipart/form-data":
        upload = request.files.get("file")
        if upload is None:
            raise InvalidRequest("请在表单字段 file 中上传 PDF 文件", "upload the PDF in the multipart field 'file'", code="missing_file")
        return upload.read()
    return request.get_data()


def wants_html() -> bool:
    return request.accept_mimetypes.best_match(["application/json", "text/html"]) == "text/html" and \
        request.accept_mimetypes["text/html"] > request.accept_mimetypes["application/json"]


@bp.post("")
def create() -> Response:
    services = current_app.extensions["chengnuo"]
    report = verify(services, actor(), uploaded_pdf(services.settings.verify_max_bytes), started=g.get("arrived"))
    if wants_html():
        return Response(render_report_html(report), mimetype="text/html")
    return jsonify(VerificationReportSchema().dump(report))
