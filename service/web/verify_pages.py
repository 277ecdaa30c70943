"""The public verification page: upload a PDF (choose or drop it), see the verdict large, then the details."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, g, render_template, request

from ..auth.http import actor, csrf_token, current_principal
from ..errors import PdfTooLarge, ServiceBusy, UnusablePdf
from ..verification import verify
from ..http.report_page import CHANGES, VERDICTS

bp = Blueprint("verify_pages", __name__, template_folder="templates")


@bp.get("/verify")
def upload_form() -> str:
    return render_template("verify_upload.html", principal=current_principal(), csrf_token=csrf_token(), error=None)


@bp.post("/verify")
def upload() -> tuple[str, int] | Response:
    services = current_app.extensions["chengnuo"]
    request.max_content_length = services.settings.verify_max_bytes + 64 * 1024
    upload = request.files.get("file")
    context = {"principal": current_principal(), "csrf_token": csrf_token()}
    if upload is None or not upload.filename:
        error = UnusablePdf("请选择要核验的 PDF 文件", "choose the PDF to verify", code="missing_file")
        return render_template("verify_upload.html", error=error, **context), 400
    try:
        report = verify(services, actor(), upload.read(), started=g.get("arrived"))
    except ServiceBusy as exc:
        page = render_template("verify_upload.html", error=exc, **context)
        return Response(page, status=503, headers={"Retry-After": str(exc.retry_after)})
    except (UnusablePdf, PdfTooLarge) as exc:
        return render_template("verify_upload.html", error=exc, **context), 413 if isinstance(exc, PdfTooLarge) else 422
    return render_template("report.html", report=report, verdict=VERDICTS[report.verdict], changes=CHANGES, **context), 200
