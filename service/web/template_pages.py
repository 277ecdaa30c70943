"""Agencies' template pages: every form with the version the agency uses; a form's page (download to edit, upload,
versions, roll back); an upload's page (its warnings, the 样稿, the pages beside the template in use, publish).
Signed-in people only; every page calls the same use cases as the API and the command line."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Response, redirect, render_template, request, url_for

from ..agency_templates import download, listing
from ..agency_templates import preview as previews
from ..agency_templates import publish as publishing
from ..agency_templates import upload as uploads
from ..agency_templates.access import may_manage
from ..auth.http import csrf_token
from ..errors import ChengnuoError, InvalidData, TemplateRefused
from ..http.downloads import named_file
from ..http.errors import status_of
from ..registry.templates import TemplateUpload
from .staff_pages import principal as _principal
from .staff_pages import services, signed_in_only

bp = Blueprint("template_pages", __name__, template_folder="templates")
signed_in_only(bp)


def _agency(value: str | None = None) -> str:
    """The agency a page is about: the one asked for, else the caller's own, else the configured default."""
    return value or _principal().default_agency() or services().agencies.default.id


def _page(template: str, status: int = 200, **context: Any) -> tuple[str, int]:
    principal = _principal()
    agencies = [a for a in services().agencies.by_id.values() if principal.acts_for(a.id)]
    return render_template(template, principal=principal, csrf_token=csrf_token(), agencies=agencies, **context), status


@bp.get("/templates")
def index() -> tuple[str, int]:
    agency = _agency(request.args.get("agency"))
    forms = listing.overview(services(), _principal(), agency)
    return _page("templates.html", agency=agency, agency_name=services().agencies.get(agency).name, forms=forms)


def _form_page(form_id: str, agency: str, status: int = 200, **context: Any) -> tuple[str, int]:
    found = listing.form_templates(services(), _principal(), agency, form_id)
    return _page("template_form.html", status, agency=agency, agency_name=services().agencies.get(agency).name, found=found,
                 manages=may_manage(_principal(), agency), **context)


@bp.get("/templates/<form_id>")
def form(form_id: str) -> tuple[str, int]:
    return _form_page(form_id, _agency(request.args.get("agency")), published=request.args.get("published"),
                      rolled_back=request.args.get("rolled_back"))


@bp.get("/templates/<form_id>/docx")
def docx(form_id: str) -> Response:
    version = request.args.get("version", "")
    found = download.template_file(services(), _principal(), _agency(request.args.get("agency")), form_id,
                                   int(version) if version.isdigit() else None)
    return named_file(found.content, "docx", found.filename)


@bp.get("/templates/<form_id>/field-sheet")
def field_sheet(form_id: str) -> Response:
    found = download.field_sheet(services(), _principal(), _agency(request.args.get("agency")), form_id)
    return named_file(found.content, "docx", found.filename)


@bp.post("/templates/<form_id>/upload")
def upload(form_id: str) -> Response | tuple[str, int]:
    agency = _agency(request.form.get("agency"))
    file = request.files.get("file")
    try:
        if file is None or not file.filename:
            raise InvalidData({"file": ["请选择编辑好的 DOCX 文件 / choose the edited DOCX file"]})
        record = uploads.upload_template(services(), _principal(), agency, form_id, file.filename,
                                         file.stream.read(uploads.MAX_BYTES + 1))
    except TemplateRefused as exc:
        return _form_page(form_id, agency, 422, message=exc, problems=[p for p in exc.problems if p["severity"] == "error"])
    except ChengnuoError as exc:
        return _form_page(form_id, agency, status_of(exc), message=exc)
    return redirect(url_for("template_pages.show_upload", form_id=form_id, upload_id=record.id))


def _upload_page(record: TemplateUpload, status: int = 200, **context: Any) -> tuple[str, int]:
    pages = request.args.get("page", "1")
    page = int(pages) if pages.isdigit() and int(pages) > 0 else 1
    counts = previews.page_count(services(), _principal(), record.form, record.id)
    found = listing.form_templates(services(), _principal(), record.agency, record.form)
    return _page("template_upload.html", status, record=record, found=found, agency_name=services().agencies.get(record.agency).name,
                 page=min(page, max(counts.values())), counts=counts, data=context.pop("data", ""), **context)


@bp.get("/templates/<form_id>/uploads/<upload_id>")
def show_upload(form_id: str, upload_id: str) -> tuple[str, int]:
    return _upload_page(uploads.get_upload(services(), _principal(), form_id, upload_id), message=None)


@bp.get("/templates/<form_id>/uploads/<upload_id>/preview.pdf")
def preview(form_id: str, upload_id: str) -> Response:
    return named_file(previews.preview_upload(services(), _principal(), form_id, upload_id), "pdf", f"{form_id}-preview.pdf", inline=True)


@bp.post("/templates/<form_id>/uploads/<upload_id>/preview")
def preview_with(form_id: str, upload_id: str) -> Response | tuple[str, int]:
    record = uploads.get_upload(services(), _principal(), form_id, upload_id)
    text = request.form.get("data", "")
    try:
        try:
            data = json.loads(text) if text.strip() else None
        except ValueError:
            raise InvalidData({"data": ["不是有效的 JSON / not valid JSON"]}) from None
        pdf = previews.preview_upload(services(), _principal(), form_id, upload_id, data)
    except ChengnuoError as exc:
        return _upload_page(record, status_of(exc), message=exc, data=text, data_errors=getattr(exc, "errors", {}))
    return named_file(pdf, "pdf", f"{form_id}-preview.pdf", inline=True)


@bp.get("/templates/<form_id>/uploads/<upload_id>/pages/<int:number>.png")
def page(form_id: str, upload_id: str, number: int) -> Response:
    which = request.args.get("version", "upload")
    return named_file(previews.page_png(services(), _principal(), form_id, upload_id, number, which), "png",
                      f"{form_id}-{which}-{number}.png", inline=True)


@bp.post("/templates/<form_id>/uploads/<upload_id>/publish")
def publish(form_id: str, upload_id: str) -> Response | tuple[str, int]:
    record = uploads.get_upload(services(), _principal(), form_id, upload_id)
    try:
        version = publishing.publish(services(), _principal(), form_id, upload_id,
                                     acknowledge_warnings=request.form.get("acknowledge_warnings") == "yes")
    except ChengnuoError as exc:
        return _upload_page(record, status_of(exc), message=exc, publish_errors=getattr(exc, "errors", {}))
    return redirect(url_for("template_pages.form", form_id=form_id, agency=record.agency, published=version.version))


@bp.post("/templates/<form_id>/rollback")
def rollback(form_id: str) -> Response | tuple[str, int]:
    agency = _agency(request.form.get("agency"))
    version = request.form.get("version", "")
    try:
        made = publishing.rollback(services(), _principal(), agency, form_id, int(version) if version.isdigit() else -1)
    except ChengnuoError as exc:
        return _form_page(form_id, agency, status_of(exc), message=exc)
    return redirect(url_for("template_pages.form", form_id=form_id, agency=agency, rolled_back=made.version))
