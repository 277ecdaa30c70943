"""The template an agency uses (its latest published version, else the built-in one), or any of its versions, as
a DOCX to edit in Word; and the field sheet that says what each placeholder means."""

from __future__ import annotations

from dataclasses import dataclass

from ..auth.principal import Principal
from ..errors import NotFound
from ..rendering.field_sheet import field_sheet_docx
from ..runtime import Services
from .access import authorize_read, target

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@dataclass(frozen=True)
class TemplateFile:
    filename: str
    content: bytes
    version: int | None  # None: the built-in template


def builtin_bytes(services: Services, template: str) -> bytes:
    """Raises NotFound when the built-in template file is missing."""
    try:
        return (services.settings.templates_dir / template).read_bytes()
    except OSError:
        raise NotFound(f"内置模板 {template} 缺失", f"the built-in template {template} is missing", code="template_missing") from None


def template_file(services: Services, principal: Principal, agency_id: str | None, form_id: str,
                  version: int | None = None) -> TemplateFile:
    """The agency's template in use, or its ``version`` (0: the built-in one). Raises NotFound, Forbidden."""
    agency, spec = target(services, principal, agency_id, form_id)
    authorize_read(principal, agency.id)
    if version is None:
        ref = services.templates.current(agency.id, spec.id)
        version = ref.version if ref else 0
    content = services.templates.content(agency.id, spec.id, version) if version else None
    if content is None:
        return TemplateFile(f"{spec.id}.docx", builtin_bytes(services, spec.template), None)
    return TemplateFile(f"{spec.id}-{agency.id}-v{version}.docx", content, version)


def field_sheet(services: Services, principal: Principal, agency_id: str | None, form_id: str) -> TemplateFile:
    """The field sheet (字段说明) of the form, for the template in use: every placeholder, what it holds, an example,
    whether it is required, the loops and conditions, the seal and signature labels. Raises NotFound, Forbidden."""
    current = template_file(services, principal, agency_id, form_id)
    _, spec = target(services, principal, agency_id, form_id)
    version = f"第 {current.version} 版" if current.version else "内置版本"
    return TemplateFile(f"{spec.id}-fields.docx", field_sheet_docx(spec, current.content, version=version, today=services.now().date()),
                        current.version)
