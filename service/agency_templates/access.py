"""Who may do what with an agency's templates.

| role               | download, versions | upload, preview, publish, roll back |
|--------------------|--------------------|-------------------------------------|
| system (API key)   | its agencies       | – (templates_staff_only)            |
| clerk              | own agency         | –                                   |
| supervisor         | own agency         | own agency                          |
| admin, operator    | every agency       | every agency                        |
"""

from __future__ import annotations

from ..agencies import Agency
from ..auth.principal import MANAGERS, Principal
from ..auth.principal import authorize_manage as manage
from ..errors import Forbidden
from ..forms import FormSpec, get_form
from ..runtime import Services

READERS = ("system", "clerk", "supervisor", "admin", "operator")


def may_manage(principal: Principal, agency_id: str) -> bool:
    return principal.kind != "key" and principal.role in MANAGERS and principal.acts_for(agency_id)


def authorize_read(principal: Principal, agency_id: str) -> None:
    """Raises Forbidden."""
    if principal.role not in READERS or not principal.acts_for(agency_id):
        raise Forbidden(f"无权查看行政机关 {agency_id} 的模板", f"not allowed to read the templates of agency {agency_id}")


def authorize_manage(services: Services, principal: Principal, agency_id: str, form_id: str, action: str) -> None:
    """Raises Forbidden, audited as a denied ``action``."""
    try:
        manage(principal, agency_id, what=("文书模板", "the document templates"), key_may=("下载", "downloads"), key_code="templates_staff_only")
    except Forbidden as exc:
        services.audit.record(actor=principal.actor, action=action, object=f"template:{agency_id}/{form_id}", outcome="denied",
                              detail={"error": exc.code})
        raise


def target(services: Services, principal: Principal, agency_id: str | None, form_id: str) -> tuple[Agency, FormSpec]:
    """The agency (the named one, else the caller's own, else the configured default) and the form; raises NotFound."""
    agency = services.agencies.get(agency_id or principal.default_agency())
    return agency, get_form(form_id)
