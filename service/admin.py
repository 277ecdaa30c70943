"""Managing who may use the service: people and API keys. Administrators (and the operator at the
CLI) only; every change is audited, and passwords and keys are returned once, never recorded."""

from __future__ import annotations

from collections.abc import Iterable

from .auth.api_keys import ApiKey
from .auth.principal import Principal, authorize_admin
from .auth.users import SigningCredentials, User
from .errors import Conflict, Forbidden, InvalidData
from .signing.handwriting import signature_png
from .forms import CATALOGUE
from .runtime import Services

STAFF = ("clerk", "supervisor")  # the roles that sign as 经办人, 核验人 …: they have their own certificates


def add_user(services: Services, principal: Principal, username: str, role: str, agency: str | None,
             display_name: str | None = None) -> tuple[User, str]:
    """The user and the generated password; a clerk or supervisor also gets their own signing certificate.
    Raises Forbidden, InvalidData, Conflict, NotFound (agency), SigningKeyUnavailable (the persons CA)."""
    authorize_admin(principal)
    if agency is not None:
        agency = services.agencies.get(agency).id
    user, password = services.users.create(username, role, agency, services.now(), display_name)
    services.audit.record(actor=principal.actor, action="user.add", object=f"user:{user.username}", outcome="success",
                          detail={"role": user.role, "agency": user.agency})
    issue_staff_certificate(services, user, password)
    return services.users.get(username), password


def issue_staff_certificate(services: Services, user: User, password: str) -> None:
    """Gives a clerk or supervisor their own signing certificate, its key encrypted with ``password``; not to one whose
    key is on a token (``[[agencies.staff_tokens]]``). Raises SigningKeyUnavailable when the persons CA cannot be used."""
    if user.role not in STAFF or user.agency is None:
        return
    agency = services.agencies.get(user.agency)
    if user.username in agency.staff_tokens:
        return
    issued = services.persons.staff(name=user.display_name, username=user.username, agency_name=agency.name, password=password,
                                    now=services.now())
    services.users.set_credentials(user.id, SigningCredentials(issued.certificate, issued.encrypted_key))
    services.audit.record(actor="system:persons-ca", action="user.certificate", object=f"user:{user.username}", outcome="success",
                          detail={"agency": agency.id})


def list_users(services: Services, principal: Principal) -> list[User]:
    """Raises Forbidden for anyone but an administrator."""
    authorize_admin(principal)
    return services.users.list()


def ensure_administrator(services: Services, principal: Principal) -> str | None:
    """On a registry without users, creates the administrator ``admin`` and returns its password, to show once.
    None when there are users already, also when another process starting at the same moment made it first."""
    if services.users.count():
        return None
    try:
        _, password = add_user(services, principal, "admin", "admin", None)
    except Conflict:
        return None
    return password


def reset_password(services: Services, principal: Principal, username: str) -> str:
    authorize_admin(principal)
    password = services.users.reset_password(username)
    services.audit.record(actor=principal.actor, action="user.password", object=f"user:{username}", outcome="success")
    issue_staff_certificate(services, services.users.get(username), password)
    return password


def add_key(services: Services, principal: Principal, name: str, agencies: Iterable[str], forms: Iterable[str]) -> tuple[ApiKey, str]:
    """The key's record and the key itself. Raises Forbidden, InvalidData, NotFound (agency)."""
    authorize_admin(principal)
    agency_ids = [services.agencies.get(a).id for a in agencies]
    form_ids = list(forms) or ["*"]
    unknown = [f for f in form_ids if f != "*" and f not in CATALOGUE]
    if unknown:
        raise InvalidData({"forms": [f"未知的表单编号 / unknown form ids: {', '.join(unknown)}"]})
    record, key = services.api_keys.create(name=name, agencies=agency_ids, forms=form_ids, now=services.now())
    services.audit.record(actor=principal.actor, action="key.add", object=f"key:{record.id}", outcome="success",
                          detail={"name": record.name, "agencies": list(record.agencies), "forms": list(record.forms)})
    return record, key


def list_keys(services: Services, principal: Principal) -> list[ApiKey]:
    """The keys' records (never the keys). Raises Forbidden for anyone but an administrator."""
    authorize_admin(principal)
    return services.api_keys.list()


def revoke_key(services: Services, principal: Principal, key_id: str) -> ApiKey:
    authorize_admin(principal)
    record = services.api_keys.revoke(key_id, services.now())
    services.audit.record(actor=principal.actor, action="key.revoke", object=f"key:{record.id}", outcome="success")
    return record


def save_signature_image(services: Services, principal: Principal, data_url: object) -> None:
    """A signed-in clerk or supervisor saves the handwritten signature their own signatures show. Raises
    Forbidden (anyone else), InvalidData (not a usable drawing)."""
    if principal.kind != "user" or principal.role not in STAFF:
        raise Forbidden("只有窗口工作人员保存手写签名", "only clerks and supervisors keep a handwritten signature")
    services.users.set_signature_image(principal.id, signature_png(data_url))
    services.audit.record(actor=principal.actor, action="user.signature", object=f"user:{principal.name}", outcome="success")
