"""Use case: a party signs a document, in the field prepared for it, in the form's order.

Staff (经办人, 核验人, 现场核验人员) sign with their own certificate: signed in, they enter their password
again, which both proves it is them and opens their key (kept encrypted with it). Each signature is a new
revision of the PDF (the registry keeps every one), and an evidence record in the audit chain: who,
which party, how identity was checked and by whom, when, from where, and the hashes before and after.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pyhanko.sign import signers

from . import admin, documents
from .agencies import Agency
from .auth.principal import Principal
from .auth.users import SignInRefused, User
from .cases import papers
from .errors import Conflict, Forbidden, SigningError
from .forms import get_form
from .masking import mask_name
from .parties import check_turn, party_of, party_states
from .registry.documents import DocumentRecord
from .runtime import Services
from .signing.party import PartySignature, pyhanko_signer, sign_field
from .webhooks import document_completed, document_signed

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Client:
    """Where a signing request came from, for the evidence."""

    address: str
    user_agent: str


class PasswordRefused(Forbidden):
    code = "wrong_password"


def sign_as_staff(services: Services, principal: Principal, document_id: str, role: object, password: str,
                  client: Client) -> DocumentRecord:
    """The signed-in staff member signs the party ``role`` with their own certificate.

    Raises NotFound (not their agency's document), Forbidden (not a signed-in clerk or supervisor; the
    password is wrong: PasswordRefused), InvalidData (no such party on the form), Conflict (voided,
    complete, signed already, not this party's turn, a party that signs through a link), SigningError.
    """
    record = documents.get_document(services, principal, document_id)
    if principal.kind != "user" or principal.role not in admin.STAFF:
        raise Forbidden("只有登录的窗口工作人员可以用本人证书签署", "only a signed-in clerk or supervisor signs with their own certificate")
    spec = get_form(record.form)
    party = party_of(spec, role)
    if not party.staff:
        raise Conflict(f"{party.label}须由本人签署（签署链接或窗口签署屏）", f"{party.role} signs in person (a signing link or the window screen)",
                       code="party_signs_in_person")
    states = party_states(spec, record.data, services.registry.revisions(record.id))
    check_turn(record, states, party.role)
    try:
        user = services.users.authenticate(principal.name, password, services.now())
    except SignInRefused as exc:
        services.audit.record(actor=principal.actor, action="sign", object=f"document:{record.id}", outcome="refused",
                              detail={"party": party.role, "cause": exc.cause, "address": client.address})
        raise PasswordRefused("密码不正确，未签署", "wrong password: nothing was signed") from None
    agency = services.agencies.get(record.agency)
    before = services.files.get(record.pdf_path)
    signed = sign_field(
        before,
        PartySignature(field=party.role, name=user.display_name, reason=f"{party.label}签署（登记编号 {record.serial}）",
                       location=agency.name, picture=services.users.signature_image(user.id)),
        _staff_signer(services, agency, user, password),
        services.timestamps.timestamper(),
        services.revocation,
    )
    key_on_token = user.username in agency.staff_tokens
    return store_signature(services, record, party.role, user.display_name, "staff", before, signed, evidence={
        "signer": user.display_name, "user": user.username, "identity": "本人密码 / the signer's own password",
        "key": "PKCS#11 令牌 / PKCS#11 token" if key_on_token else "本人证书（服务保管，以本人密码加密）/ own certificate, kept encrypted with the password",
        "checked_by": principal.actor, "address": client.address, "user_agent": client.user_agent[:300],
    })


def _staff_signer(services: Services, agency: Agency, user: User, password: str) -> signers.Signer:
    """The staff member's own signer: over their key on a PKCS#11 token where ``agencies.toml`` puts one
    (``[[agencies.staff_tokens]]``), else from the certificate the service keeps for them, opened with their password.
    Raises SigningTokenUnavailable (503) for a token that is missing, locked or refuses its PIN."""
    token = agency.staff_tokens.get(user.username)
    if token is not None:
        # the token machinery keys its sessions and signers by an agency: the staff member's key is one of its own
        holder = dataclasses.replace(agency, id=f"{agency.id}/staff:{user.username}", name=f"{agency.name} {user.display_name}",
                                     token=token, pkcs12=None, staff_tokens={})
        return services.keys.tokens.signer(holder)
    credentials = services.users.credentials(user.id)
    if credentials is None:  # an account from before staff certificates, or one whose password was reset
        admin.issue_staff_certificate(services, user, password)
        credentials = services.users.credentials(user.id)
    if credentials is None:
        raise SigningError("未能为工作人员签发签名证书", "no signing certificate could be issued for the staff member")
    certificate = x509.load_pem_x509_certificate(credentials.certificate.encode())
    key = serialization.load_pem_private_key(credentials.encrypted_key.encode(), password.encode())
    return pyhanko_signer(certificate, key, services.persons.chain)


def store_signature(services: Services, record: DocumentRecord, role: str, signer: str, kind: str, before: bytes, signed: bytes,
           *, evidence: dict[str, str]) -> DocumentRecord:
    """Keeps the new revision, completes the document if nobody is left, and records the evidence."""
    now = services.now()
    spec = get_form(record.form)
    number = record.revision + 1
    path = services.files.put(f"{record.id}.r{number}", "pdf", signed, now)
    states = party_states(spec, record.data, services.registry.revisions(record.id))
    remaining = [s for s in states if s.state == "waiting" and s.role != role]
    updated = services.registry.add_revision(record.id, after=record.revision, sha256=hashlib.sha256(signed).hexdigest(), pdf_path=path,
                                             size=len(signed), party=role, signer=signer, kind=kind, completed=not remaining, now=now)
    services.audit.record(actor=evidence.get("checked_by", "system"), action="sign", object=f"document:{record.id}", outcome="success", detail={
        "serial": record.serial, "party": role, "kind": kind, "revision": number, **evidence,
        "sha256_before": hashlib.sha256(before).hexdigest(), "sha256_after": hashlib.sha256(signed).hexdigest(),
        "completed": not remaining,
    })
    log.info("%s signed %s (%s) as %s; revision %d%s", signer, record.serial, record.form, role, number, ", completed" if not remaining else "")
    # Webhooks (never raising, never waiting for a receiver); a person signing for themselves is named masked, staff in full.
    document_signed(services, updated, party=role, label=party_of(spec, role).label, signed_at=now,
                    signer=signer if kind == "staff" else mask_name(signer))
    if updated.status == "completed":
        document_completed(services, updated)
        papers.on_document_completed(services, evidence.get("checked_by", "system"), updated)
    return updated
