"""An edited template uploaded for an agency and a form: guarded (``inspect_docx``) before anything parses it,
checked against the form (``check_template_bytes``), and kept for preview and publication when it passes."""

from __future__ import annotations

import dataclasses
import hashlib

from ..agencies import Agency
from ..auth.principal import Principal
from ..errors import ChengnuoError, FileTooLarge, NotFound, TemplateError, TemplateRefused
from ..forms import FormSpec
from ..forms.jsonschema import sample
from ..issuing import draft_context, validate
from ..registry.templates import TemplateUpload
from ..rendering.docx_guard import inspect_docx
from ..rendering.docx_render import TemplateSource
from ..rendering.template_check import check_template_bytes
from ..runtime import Services
from .access import authorize_manage, target

MAX_BYTES = 10 * 1024 * 1024


def check(services: Services, spec, content: bytes) -> list[dict]:  # type: ignore[no-untyped-def]
    """The check's findings on ``content`` as stored (dicts); raises FileTooLarge, UnsafeTemplate, TemplateRefused."""
    if len(content) > MAX_BYTES:
        raise FileTooLarge(f"模板文件超过 {MAX_BYTES // 1024 // 1024} MB", f"the template is over {MAX_BYTES // 1024 // 1024} MB")
    inspect_docx(content)  # before python-docx, docxtpl or LibreOffice see a byte of it
    report = check_template_bytes(spec, content)
    problems = [dataclasses.asdict(p) for p in report.problems]
    if not report.ok:
        raise TemplateRefused(problems or [{"kind": "error", "severity": "error", "location": "—", "excerpt": "",
                                            "zh": "模板未通过检查", "en": "the template fails the check"}])
    return problems


def trial_render(services: Services, spec: FormSpec, agency: Agency, content: bytes) -> None:
    """The form's sample rendered from ``content`` in the bounded worker (rendering only, no conversion), so that a
    template that loops for too long, makes too large a document or fails on real data is refused when it is uploaded
    and published, not when a clerk issues with it. Raises TemplateRenderLimit, UnsafeTemplate, TemplateRefused."""
    today = services.now().date()
    _, data = validate(spec.id, sample(spec), today)
    context = draft_context(spec, data, agency, today)
    try:
        services.renderer.render(spec.template, context, None, TemplateSource(hashlib.sha256(content).hexdigest(), lambda: content))
    except TemplateError as exc:
        raise TemplateRefused([{"kind": "render", "severity": "error", "location": "—", "excerpt": "", "zh": exc.zh, "en": exc.en,
                                "code": exc.code}]) from exc


def upload_template(services: Services, principal: Principal, agency_id: str | None, form_id: str, filename: str | None,
                    content: bytes) -> TemplateUpload:
    """Keeps a checked upload. Raises NotFound, Forbidden, FileTooLarge (413), UnsafeTemplate and TemplateRefused (422:
    the problems by line); a refused upload is audited and not kept."""
    agency, spec = target(services, principal, agency_id, form_id)
    authorize_manage(services, principal, agency.id, spec.id, "template.upload")
    subject = f"template:{agency.id}/{spec.id}"
    try:
        problems = check(services, spec, content)
        trial_render(services, spec, agency, content)
    except ChengnuoError as exc:
        services.audit.record(actor=principal.actor, action="template.upload", object=subject, outcome="refused",
                              detail={"error": exc.code, "size": len(content)})
        raise
    record = services.templates.add_upload(agency.id, spec.id, filename or f"{spec.id}.docx", content, problems,
                                           principal.actor, services.now())
    services.audit.record(actor=principal.actor, action="template.upload", object=subject, outcome="success",
                          detail={"upload": record.id, "sha256": record.sha256, "size": record.size, "warnings": len(record.warnings)})
    return record


def get_upload(services: Services, principal: Principal, form_id: str, upload_id: str, *, action: str = "template.read_upload") -> TemplateUpload:
    """An upload of ``form_id``, for someone who may manage its agency's templates. Raises NotFound, Forbidden."""
    record = services.templates.upload(upload_id)
    if record.form != form_id:
        raise NotFound(f"模板上传 {upload_id} 不存在", f"template upload {upload_id} does not exist", code="upload_not_found")
    authorize_manage(services, principal, record.agency, record.form, action)
    return record
