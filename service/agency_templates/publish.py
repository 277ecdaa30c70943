"""Publishing an upload as the agency's next version of a form's template, and rolling back (a new version whose
content is an earlier one's, or the built-in template). Both are audited (``template:{agency}/{form}``) with who,
the version and the SHA-256 of its content; the documents issued afterwards record the version they came from."""

from __future__ import annotations

from ..auth.principal import Principal
from ..errors import Conflict, InvalidData, bilingual
from ..registry.templates import TemplateVersion
from ..runtime import Services
from .access import authorize_manage, target
from .upload import check, get_upload, trial_render


def publish(services: Services, principal: Principal, form_id: str, upload_id: str, *, acknowledge_warnings: bool = False) -> TemplateVersion:
    """The upload as the next version. The check runs again on its bytes: a template that fails it is never
    published. Raises NotFound, Forbidden, TemplateRefused, InvalidData (warnings not acknowledged), Conflict
    (published already, or another publication took the number)."""
    upload = get_upload(services, principal, form_id, upload_id, action="template.publish")
    agency, spec = target(services, principal, upload.agency, form_id)
    if upload.published_version is not None:
        raise Conflict(f"该上传已发布为第 {upload.published_version} 版", f"this upload was published as version {upload.published_version}",
                       code="upload_published")
    content = services.templates.upload_content(upload.id)
    warnings = [p for p in check(services, spec, content) if p["severity"] == "warning"]
    trial_render(services, spec, agency, content)
    if warnings and not acknowledge_warnings:
        raise InvalidData({"acknowledge_warnings": [bilingual(f"模板删去了 {len(warnings)} 处原文固定语句，请确认后再发布",
                                                              f"the template removes {len(warnings)} fixed sentences of the "
                                                              "original: acknowledge them to publish")]},
                          "发布前请确认提示", "acknowledge the warnings to publish")
    version = services.templates.add_version(agency.id, spec.id, content, filename=upload.filename, actor=principal.actor,
                                             now=services.now(), upload_id=upload.id, warnings_acknowledged=len(warnings))
    services.audit.record(actor=principal.actor, action="template.publish", object=f"template:{agency.id}/{spec.id}",
                          outcome="success", detail={"version": version.version, "sha256": version.sha256, "upload": upload.id,
                                                     "warnings_acknowledged": len(warnings)})
    return version


def rollback(services: Services, principal: Principal, agency_id: str | None, form_id: str, to_version: int) -> TemplateVersion:
    """A new version with the content of ``to_version`` (0: back to the built-in template). Raises NotFound (no such
    version), Forbidden, Conflict (nothing to roll back, or it is the version in use)."""
    agency, spec = target(services, principal, agency_id, form_id)
    authorize_manage(services, principal, agency.id, spec.id, "template.rollback")
    versions = services.templates.versions(agency.id, spec.id)
    if not versions:
        raise Conflict("本机关仍在使用内置模板，无可回退的版本", "the agency uses the built-in template: there is nothing to roll back",
                       code="nothing_to_roll_back")
    earlier = services.templates.version(agency.id, spec.id, to_version) if to_version else None
    content = services.templates.content(agency.id, spec.id, to_version) if to_version else None
    if versions[0].sha256 == (earlier.sha256 if earlier else None):
        raise Conflict("所选版本与正在使用的版本内容相同", "the version chosen is the one in use", code="template_in_use")
    version = services.templates.add_version(agency.id, spec.id, content, filename=earlier.filename if earlier else None,
                                             actor=principal.actor, now=services.now(), restores=to_version)
    services.audit.record(actor=principal.actor, action="template.rollback", object=f"template:{agency.id}/{spec.id}",
                          outcome="success", detail={"version": version.version, "restores": to_version, "sha256": version.sha256})
    return version
