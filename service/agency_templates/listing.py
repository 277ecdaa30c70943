"""What an agency's templates are: every form with the version it uses, and one form's versions."""

from __future__ import annotations

from dataclasses import dataclass

from ..auth.principal import Principal
from ..forms import CATALOGUE
from ..registry.templates import TemplateVersion
from ..runtime import Services
from .access import authorize_read, target


@dataclass(frozen=True)
class FormTemplates:
    agency: str
    form: str
    title: str
    current: TemplateVersion | None  # the latest version (None, or one without content: the built-in template)
    versions: tuple[TemplateVersion, ...] = ()

    @property
    def version(self) -> int | None:
        """The version in use, None for the built-in template."""
        return self.current.version if self.current and not self.current.builtin else None


def overview(services: Services, principal: Principal, agency_id: str | None) -> list[FormTemplates]:
    """Every form, with the version the agency uses. Raises NotFound (agency), Forbidden."""
    agency = services.agencies.get(agency_id or principal.default_agency())
    authorize_read(principal, agency.id)
    in_use = services.templates.in_use(agency.id)
    return [FormTemplates(agency.id, spec.id, spec.title, in_use.get(spec.id)) for spec in CATALOGUE.values() if principal.uses(spec.id)]


def form_templates(services: Services, principal: Principal, agency_id: str | None, form_id: str) -> FormTemplates:
    """One form's versions, newest first. Raises NotFound, Forbidden."""
    agency, spec = target(services, principal, agency_id, form_id)
    authorize_read(principal, agency.id)
    versions = services.templates.versions(agency.id, spec.id)
    return FormTemplates(agency.id, spec.id, spec.title, versions[0] if versions else None, tuple(versions))
