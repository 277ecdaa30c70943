"""Agencies' own templates: /api/v1/templates. Download the template in use (and its field sheet), upload an edited
one to be checked, preview it beside the one in use, publish it as a new version, roll back.

Anyone acting for the agency downloads; supervisors (their own agency), administrators and the operator upload,
preview, publish and roll back (an API key only downloads).
"""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, url_for

from ..agency_templates import download, listing
from ..agency_templates import preview as previews
from ..agency_templates import publish as publishing
from ..agency_templates import upload as uploads
from ..auth.http import require_principal
from ..http.downloads import named_file
from ..http.openapi import BINARY, Blueprint, header
from ..registry.templates import TemplateUpload, TemplateVersion
from ..runtime import Services
from .template_schemas import (
    AgencyQuerySchema,
    DownloadQuerySchema,
    FormTemplatesSchema,
    OverviewSchema,
    PageQuerySchema,
    PreviewRequestSchema,
    PublishRequestSchema,
    RollbackRequestSchema,
    UploadRequestSchema,
    UploadSchema,
    VersionSchema,
)

bp = Blueprint("templates_api", __name__, url_prefix="/api/v1/templates",
               description="agencies' own versions of the forms' templates: download, check, preview, publish, roll back")

MANAGERS = "an API key, a clerk, or another agency's supervisor (templates_staff_only, forbidden)"
DOCX_TYPE = download.DOCX


def services() -> Services:
    return current_app.extensions["chengnuo"]


@bp.get("")
@bp.arguments(AgencyQuerySchema, location="query")
@bp.response(200, OverviewSchema, description="every form, with the version the agency uses (null: the built-in template)")
@bp.errors((404, "unknown agency"))
def index(query: dict[str, Any]) -> dict[str, Any]:
    """The agency's templates."""
    forms = listing.overview(services(), require_principal(), query["agency"])
    return {"agency": forms[0].agency if forms else (query["agency"] or ""), "forms": forms}


@bp.get("/<form_id>")
@bp.arguments(AgencyQuerySchema, location="query")
@bp.response(200, FormTemplatesSchema, description="the version in use and every version, newest first, with who and when")
@bp.errors((404, "unknown form or agency"))
def show(query: dict[str, Any], form_id: str) -> listing.FormTemplates:
    """One form's template versions for the agency."""
    return listing.form_templates(services(), require_principal(), query["agency"], form_id)


@bp.get("/<form_id>/docx")
@bp.arguments(DownloadQuerySchema, location="query")
@bp.response(200, BINARY, content_type=DOCX_TYPE, description="the template in use (or the version asked for), to edit in Word")
@bp.errors((404, "unknown form, agency or version"))
def docx(query: dict[str, Any], form_id: str) -> Response:
    """Download the template to edit: the agency's published version, else the built-in one."""
    found = download.template_file(services(), require_principal(), query["agency"], form_id, query["version"])
    return named_file(found.content, "docx", found.filename)


@bp.get("/<form_id>/field-sheet")
@bp.arguments(AgencyQuerySchema, location="query")
@bp.response(200, BINARY, content_type=DOCX_TYPE, description="the field sheet: every placeholder, what it holds, an example")
@bp.errors((404, "unknown form or agency, or the field sheet is not available (field_sheet_unavailable)"))
def field_sheet(query: dict[str, Any], form_id: str) -> Response:
    """The field sheet to edit the template with."""
    found = download.field_sheet(services(), require_principal(), query["agency"], form_id)
    return named_file(found.content, "docx", found.filename)


@bp.post("/<form_id>/uploads")
@bp.arguments(UploadRequestSchema, location="multipart")
@bp.response(201, UploadSchema, description="checked and kept for preview; its warnings are to be acknowledged to publish",
             headers={"Location": header("LOCATION")})
@bp.errors((403, MANAGERS), (404, "unknown form or agency"), (413, f"over {uploads.MAX_BYTES // 1024 // 1024} MB"),
           (422, ("not a safe DOCX (unsafe_template: not_docx, zip_bomb, xml_entities, active_content …), or a template that "
                  "fails the check (template_refused: every problem under `file`, by line)")))
def create_upload(body: dict[str, Any], form_id: str) -> tuple[TemplateUpload, int, dict[str, str]]:
    """Upload an edited template for the agency: it is checked, and kept to preview and publish."""
    filename, content = body["file"]
    record = uploads.upload_template(services(), require_principal(), body["agency"], form_id, filename, content)
    return record, 201, {"Location": url_for("templates_api.upload", form_id=form_id, upload_id=record.id)}


@bp.get("/<form_id>/uploads/<upload_id>")
@bp.response(200, UploadSchema)
@bp.errors((404, "unknown upload"))
def upload(form_id: str, upload_id: str) -> TemplateUpload:
    """An upload and its warnings."""
    return uploads.get_upload(services(), require_principal(), form_id, upload_id)


@bp.get("/<form_id>/uploads/<upload_id>/preview.pdf")
@bp.response(200, BINARY, content_type="application/pdf", description="the 样稿: marked as a draft, unnumbered, unsigned, "
             "unregistered, with the seal and signature spots drawn")
@bp.errors((404, "unknown upload"), (422, "the form's sample fails its schema"), 502, 503, 504)
def preview(form_id: str, upload_id: str) -> Response:
    """Preview the upload with the form's sample data."""
    return named_file(previews.preview_upload(services(), require_principal(), form_id, upload_id), "pdf",
                      f"{form_id}-preview.pdf", inline=True)


@bp.post("/<form_id>/uploads/<upload_id>/preview")
@bp.arguments(PreviewRequestSchema)
@bp.response(200, BINARY, content_type="application/pdf", description="the 样稿 with the data sent")
@bp.errors((404, "unknown upload"), (422, "the data fails the form's schema: every bad field by its path"), 502, 503, 504)
def preview_with(body: dict[str, Any], form_id: str, upload_id: str) -> Response:
    """Preview the upload with your own data."""
    return named_file(previews.preview_upload(services(), require_principal(), form_id, upload_id, body["data"]), "pdf",
                      f"{form_id}-preview.pdf", inline=True)


@bp.get("/<form_id>/uploads/<upload_id>/preview/pages/<int:number>.png")
@bp.arguments(PageQuerySchema, location="query")
@bp.response(200, BINARY, content_type="image/png", description="page `number` (from 1) of the upload's or the current template's 样稿")
@bp.errors((404, "unknown upload, or no such page"), (422, "the form's sample fails its schema"), 502, 503, 504)
def page(query: dict[str, Any], form_id: str, upload_id: str, number: int) -> Response:
    """A page of the preview, to put the upload beside the template in use."""
    png = previews.page_png(services(), require_principal(), form_id, upload_id, number, query["version"])
    return named_file(png, "png", f"{form_id}-{query['version']}-{number}.png", inline=True)


@bp.post("/<form_id>/uploads/<upload_id>/publish")
@bp.arguments(PublishRequestSchema)
@bp.response(201, VersionSchema, description="the agency's new version: its next letters are rendered from it")
@bp.errors((403, MANAGERS), (404, "unknown upload"), (409, "published already (upload_published), or another version meanwhile"),
           (422, "the template fails the check (template_refused), or warnings not acknowledged (acknowledge_warnings)"))
def publish_upload(body: dict[str, Any], form_id: str, upload_id: str) -> TemplateVersion:
    """Publish the upload as the agency's next version (audited)."""
    return publishing.publish(services(), require_principal(), form_id, upload_id, acknowledge_warnings=body["acknowledge_warnings"])


@bp.post("/<form_id>/rollback")
@bp.arguments(RollbackRequestSchema)
@bp.response(201, VersionSchema, description="a new version with the earlier one's content (or back to the built-in template)")
@bp.errors((403, MANAGERS), (404, "unknown form, agency or version"), (409, "nothing to roll back, or that is the version in use"))
def rollback(body: dict[str, Any], form_id: str) -> TemplateVersion:
    """Roll back to an earlier version, or to the built-in template (version 0), as a new version (audited)."""
    return publishing.rollback(services(), require_principal(), body["agency"], form_id, body["version"])
