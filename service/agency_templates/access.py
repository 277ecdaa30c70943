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
from ..auth.principal import Principal
from ..errors import Forbidden
from ..forms import FormSpec, get_form
from ..runtime import Services

READERS = ("system", "clerk", "supervisor", "admin", "operator")
MANAGERS = ("supervisor", "admin", "operator")


def may_manage(principal: Principal, agency_id: str) -> bool:
    return principal.kind != "key" and principal.role in MANAGERS and principal.acts_for(agency_id)


def authorize_read(principal: Principal, agency_id: str) -> None:
    """Raises Forbidden."""
    if principal.role not in READERS or not principal.acts_for(agency_id):
        raise Forbidden(f"无权查看行政机关 {agency_id} 的模板", f"not allowed to read the templates of agency {agency_id}")


def authorize_manage(services: Services, principal: Principal, agency_id: str, form_id: str, action: str) -> None:
    """Raises Forbidden, audited as a denied ``action``."""
    try:
        if principal.kind == "key":
            raise Forbidden("API 密钥只能下载模板；上传和发布须由主管人员或管理员登录后操作",
                            "an API key only downloads templates; a supervisor or administrator signs in to upload and publish",
                            code="templates_staff_only")
        if principal.role not in MANAGERS:
            raise Forbidden("只有主管人员和管理员可以上传和发布模板", "only supervisors and administrators upload and publish templates")
        if not principal.acts_for(agency_id):
            raise Forbidden(f"无权管理行政机关 {agency_id} 的模板", f"not allowed to manage the templates of agency {agency_id}")
    except Forbidden as exc:
        services.audit.record(actor=principal.actor, action=action, object=f"template:{agency_id}/{form_id}", outcome="denied",
                              detail={"error": exc.code})
        raise


def target(services: Services, principal: Principal, agency_id: str | None, form_id: str) -> tuple[Agency, FormSpec]:
    """The agency (the named one, else the caller's own, else the configured default) and the form; raises NotFound."""
    agency = services.agencies.get(agency_id or principal.default_agency())
    return agency, get_form(form_id)
