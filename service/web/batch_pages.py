"""Bulk issuing from a page (/batches): choose a form, download its template, upload the filled-in CSV/XLSX, and
watch the batch's progress bar; then download the ZIP. The page calls the same use cases as the API and the CLI;
the progress bar refreshes itself from the API (progressive enhancement: without JavaScript, reload the page)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, redirect, render_template, request, url_for

from ..auth.http import csrf_token
from ..batches import progress, submit
from ..errors import ChengnuoError, InvalidData
from ..forms import CATALOGUE
from ..http.errors import status_of
from ..spreadsheets import kind_of
from .staff_pages import principal as _principal
from .staff_pages import services, signed_in_only

bp = Blueprint("batch_pages", __name__, template_folder="templates")
signed_in_only(bp)


def _forms() -> list[Any]:
    principal = _principal()
    return [spec for spec in CATALOGUE.values() if principal.uses(spec.id)]


def _list(status: int = 200, *, values: dict[str, str] | None = None, message: ChengnuoError | None = None,
          errors: dict[str, list[str]] | None = None) -> tuple[str, int]:
    principal = _principal()
    agencies = [a for a in services().agencies.by_id.values() if principal.acts_for(a.id)]
    return render_template("batches.html", principal=principal, csrf_token=csrf_token(), forms=_forms(), agencies=agencies,
                           titles={spec.id: spec.title for spec in CATALOGUE.values()},
                           batches=progress.recent(services(), principal, 20), values=values or {}, message=message,
                           errors=errors or {}), status


@bp.get("/batches")
def index() -> tuple[str, int]:
    return _list(values={"form": request.args.get("form", "commitment-letter")})


@bp.post("/batches")
def create() -> Response | tuple[str, int]:
    values = {"form": request.form.get("form", ""), "agency": request.form.get("agency", "")}
    upload = request.files.get("file")
    try:
        if upload is None or not upload.filename:
            raise InvalidData({"file": ["请选择要上传的 CSV 或 XLSX 文件 / choose the CSV or XLSX file to upload"]})
        content = upload.stream.read(services().settings.batch_max_bytes + 1)
        rows = submit.rows_from_file(services(), values["form"], content, upload.filename)
        result = submit.submit(services(), _principal(), values["form"], values["agency"] or None, rows, source=kind_of(content),
                               filename=upload.filename)
    except ChengnuoError as exc:
        return _list(status_of(exc), values=values, message=exc, errors=exc.errors if isinstance(exc, InvalidData) else None)
    return redirect(url_for("batch_pages.show", batch_id=result.batch.id), code=303)


@bp.get("/batches/<batch_id>")
def show(batch_id: str) -> tuple[str, int]:
    try:
        state = progress.progress(services(), _principal(), batch_id)
    except ChengnuoError as exc:
        return render_template("batches.html", principal=_principal(), csrf_token=csrf_token(), forms=_forms(), agencies=[],
                               batches=[], values={}, message=exc, errors={}), status_of(exc)
    spec = CATALOGUE.get(state.batch.form)
    return render_template("batch.html", principal=_principal(), csrf_token=csrf_token(), p=state,
                           form_title=spec.title if spec else state.batch.form), 200
