"""The acting party of a request, and the rules of what it may do.

| role        | issue | read, download | void | manage users and keys |
|-------------|-------|----------------|------|-----------------------|
| system (API key)  | its agencies and forms | same | same | – |
| clerk       | own agency | own agency | – | – |
| supervisor  | own agency | own agency | own agency | – |
| admin       | – | every agency | – | yes |
| operator (CLI) | all | all | all | yes |

Webhooks belong to the API key that made them: only a key makes, lists and deletes them, and only its own.

Another agency's document is reported as not found, so that a key cannot probe for it.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import Forbidden, NotFound

ROLES = ("clerk", "supervisor", "admin")


@dataclass(frozen=True)
class Principal:
    kind: str  # "key" | "user" | "operator" | "public"
    id: str
    name: str
    role: str  # "system" | "clerk" | "supervisor" | "admin" | "operator" | "public"
    agencies: frozenset[str] | None  # None: every agency
    forms: frozenset[str] | None = None  # None: every form

    @property
    def actor(self) -> str:
        return f"{self.kind}:{self.name}"

    def acts_for(self, agency_id: str) -> bool:
        return self.agencies is None or agency_id in self.agencies

    def uses(self, form_id: str) -> bool:
        return self.forms is None or form_id in self.forms

    def default_agency(self) -> str | None:
        """The agency a request that names none is for: the only one this principal acts for."""
        if self.agencies is not None and len(self.agencies) == 1:
            return next(iter(self.agencies))
        return None


OPERATOR = Principal("operator", "cli", "operator", "operator", None, None)


def public(address: str) -> Principal:
    return Principal("public", address, address, "public", frozenset())


def _not_found(document_id: str) -> NotFound:
    return NotFound(f"文书 {document_id} 不存在", f"document {document_id} does not exist", code="document_not_found")


def authorize_issue(principal: Principal, agency_id: str, form_id: str) -> None:
    """Raises Forbidden."""
    if principal.role not in ("system", "clerk", "supervisor", "operator"):
        raise Forbidden("您的角色不能签发文书", f"the role {principal.role} cannot issue documents")
    if not principal.acts_for(agency_id):
        raise Forbidden(f"无权以行政机关 {agency_id} 的名义签发", f"not allowed to issue for agency {agency_id}")
    if not principal.uses(form_id):
        raise Forbidden(f"无权签发表单 {form_id}", f"not allowed to issue the form {form_id}")


def authorize_read(principal: Principal, document_id: str, agency_id: str, form_id: str) -> None:
    """Raises NotFound for another agency's document (its existence is not revealed)."""
    if principal.role == "public" or not principal.acts_for(agency_id) or not principal.uses(form_id):
        raise _not_found(document_id)


def authorize_void(principal: Principal, document_id: str, agency_id: str, form_id: str) -> None:
    """Raises NotFound (another agency's document) or Forbidden (a role that may not void)."""
    authorize_read(principal, document_id, agency_id, form_id)
    if principal.role not in ("system", "supervisor", "operator"):
        raise Forbidden("只有主管人员可以作废文书", "only a supervisor can void documents")


MANAGERS = ("supervisor", "admin", "operator")  # who maintains what an agency keeps itself: its catalogue, its templates


def authorize_manage(principal: Principal, agency_id: str, *, what: tuple[str, str], key_may: tuple[str, str], key_code: str) -> None:
    """A supervisor of ``agency_id``, an administrator or the operator, signed in; never an API key. ``what``: what is
    maintained (事项目录 / the item catalogue); ``key_may``: what a key may do with it instead (读取 / read). Raises Forbidden."""
    zh, en = what
    if principal.kind == "key":
        raise Forbidden(f"API 密钥只能{key_may[0]}{zh}；维护{zh}须由主管人员或管理员登录后操作",
                        f"an API key only {key_may[1]} {en}; a supervisor or administrator signs in to maintain it", code=key_code)
    if principal.role not in MANAGERS:
        raise Forbidden(f"只有主管人员和管理员可以维护{zh}", f"only supervisors and administrators maintain {en}")
    if not principal.acts_for(agency_id):
        raise Forbidden(f"无权维护行政机关 {agency_id} 的{zh}", f"not allowed to maintain {en} of agency {agency_id}")


def authorize_admin(principal: Principal) -> None:
    if principal.role not in ("admin", "operator"):
        raise Forbidden("只有管理员可以管理用户和密钥", "only an administrator can manage users and keys")


def authorize_webhooks(principal: Principal) -> None:
    """Raises Forbidden for anyone but a calling system: a webhook belongs to the API key that makes it."""
    if principal.kind != "key":
        raise Forbidden("只有调用系统（API 密钥）可以管理 Webhook", "only calling systems (API keys) can manage webhooks")
