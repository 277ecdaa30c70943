"""Use case: a person who is not the agency's staff (the applicant, the 承诺主体, a 委托代理人) signs.

Two ways, each a single-use link bound to one party of one document:

- **remote**: a calling system asks for a link (``create_link``) and delivers the URL and the six-digit code
  by different channels; the signer proves who they are with the code and the last six characters of their
  ID number (when the form holds one). Five wrong tries lock the link; it expires after
  ``CHENGNUO_SIGNING_LINK_HOURS``.
- **window**: the clerk at the counter, having checked the identity document, opens the screen for the
  applicant in front of them (the evidence names the clerk).

The signature is made with an event certificate issued for it alone (``signing/issuance.py``) and the
person's handwriting as its appearance. Every try, right or wrong, is audited.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from . import documents, signing_flow
from .auth.principal import Principal
from .errors import Conflict, Forbidden, Gone, InvalidData, Locked, NotFound, bilingual
from .forms import FormSpec, Party, get_form
from .parties import PartyState, check_turn, party_of, party_states
from .registry.documents import DocumentRecord
from .registry.signing_links import MAX_FAILURES, SigningLink
from .rendering.page_images import page_count
from .runtime import Services
from .signing.handwriting import signature_png
from .signing.party import PartySignature, pyhanko_signer, sign_field

SUFFIX = 6  # characters of the ID number a remote signer types


@dataclass(frozen=True)
class NewLink:
    url: str
    token: str  # shown this once
    expires_at: dt.datetime
    code: str | None  # shown this once; None for the window
    mode: str


@dataclass(frozen=True)
class LinkView:
    """What the signing screen shows."""

    link: SigningLink
    document: DocumentRecord
    spec: FormSpec
    party: PartyState
    pages: int
    asks_id_suffix: bool


def identity(party: Party, data: Mapping[str, Any]) -> tuple[str, str | None]:
    """The signer's name and ID number (or the enterprise's credit code) as the document's data gives them."""
    applicant = data.get("applicant")
    if party.role == "legal_representative" and isinstance(applicant, Mapping):
        return str(applicant.get("legal_representative", "")), None
    block = data.get("proxy") if party.role == "proxy" else applicant
    if isinstance(block, str):
        return block, None
    if isinstance(block, Mapping):
        number = block.get("id_number") or block.get("credit_code")
        return str(block.get("name", "")), str(number) if number else None
    return "", None


def _hash(services: Services, purpose: str, value: str) -> str:
    return hmac.new(services.persons.id_hash_key, f"{purpose}:{value}".encode(), hashlib.sha256).hexdigest()


def create_link(services: Services, principal: Principal, document_id: str, role: object, *, mode: str = "remote",
                identity_checked: bool = False) -> NewLink:
    """A signing link for the party ``role``. Raises NotFound, Forbidden (the public; the window without a
    signed-in clerk), InvalidData (no such party; the window without the identity check confirmed),
    Conflict (a staff party; voided or complete; the party has signed or is not in this document)."""
    record = documents.get_document(services, principal, document_id)
    if principal.role not in ("system", "clerk", "supervisor", "operator"):
        raise Forbidden("您的角色不能发起签署", f"the role {principal.role} cannot ask for a signature")
    spec = get_form(record.form)
    party = party_of(spec, role)
    if party.staff:
        raise Conflict(f"{party.label}由工作人员用本人证书签署", f"{party.role} is signed by staff with their own certificate",
                       code="party_signs_with_own_certificate")
    state = _waiting(record, spec, party)
    if mode == "window":
        if principal.kind != "user":
            raise Forbidden("窗口签署须由登录的窗口工作人员发起", "the window screen is opened by a signed-in clerk")
        if not identity_checked:
            raise InvalidData({"identity_checked": [bilingual("请先核验申请人的身份证件并勾选确认", "check the applicant's identity document and confirm it")]})
    now = services.now()
    token = secrets.token_urlsafe(32)
    code = f"{secrets.randbelow(10 ** 6):06d}" if mode == "remote" else None
    link = SigningLink(
        id=str(uuid.uuid4()), token_hash=_hash(services, "token", token), document_id=record.id, party=state.role, mode=mode,
        code_hash=None, identity_checked_by=principal.actor if mode == "window" else None, created_by=principal.actor,
        created_at=now, expires_at=now + dt.timedelta(hours=services.settings.signing_link_hours), failures=0, locked_at=None,
        used_at=None,
    )
    if code is not None:
        link = SigningLink(**{**link.__dict__, "code_hash": _hash(services, f"code:{link.id}", code)})
    services.links.create(link)
    services.audit.record(actor=principal.actor, action="signing.link", object=f"document:{record.id}", outcome="success",
                          detail={"link": link.id, "party": state.role, "mode": mode, "expires_at": link.expires_at.isoformat()})
    return NewLink(f"{services.settings.base_url}/sign/{token}", token, link.expires_at, code, mode)


def _waiting(record: DocumentRecord, spec: FormSpec, party: Party) -> PartyState:
    if record.status == "voided":
        raise Conflict("文书已作废，不能签署", "the document is voided: it cannot be signed", code="document_voided")
    if record.status != "awaiting_signatures":
        raise Conflict("文书已签署完成", "every party has signed: the document is complete", code="document_completed")
    state = next(s for s in party_states(spec, record.data, []) if s.role == party.role)
    return state


def open_link(services: Services, token: str) -> LinkView:
    """The link's document and party, if it can still be used. Raises NotFound, Gone (expired), Locked,
    Conflict (used; the document voided, complete, or this party signed already)."""
    link = services.links.find(_hash(services, "token", token))
    if link is None:
        raise NotFound("签署链接不存在", "there is no such signing link", code="link_not_found")
    if link.used_at is not None:
        raise Conflict("签署链接已使用", "the signing link has been used", code="link_used")
    if link.locked_at is not None:
        raise Locked("错误次数过多，签署链接已锁定，请联系办理窗口", "too many wrong tries: the link is locked; contact the window",
                     code="link_locked")
    if link.expires_at <= services.now():
        raise Gone("签署链接已过期，请联系办理窗口重新发送", "the signing link has expired; ask the window for a new one", code="link_expired")
    record = services.registry.get(link.document_id)
    spec = get_form(record.form)
    party = party_of(spec, link.party)
    states = party_states(spec, record.data, services.registry.revisions(record.id))
    state = next(s for s in states if s.role == party.role)
    if record.status != "awaiting_signatures" or state.state != "waiting":
        check_turn(record, states, party.role)
    _, number = identity(party, record.data)
    return LinkView(link, record, spec, state, page_count(services.files.get(record.pdf_path)), link.mode == "remote" and number is not None)


class WrongProof(Forbidden):
    """A wrong code or ID number ending; the message says how many tries are left."""

    code = "wrong_code"

    def __init__(self, tries_left: int) -> None:
        super().__init__(f"验证码或证件号后六位不正确，还可尝试 {tries_left} 次", f"wrong code or ID number ending: {tries_left} tries left")
        self.tries_left = tries_left


def sign_with_link(services: Services, token: str, *, code: object, id_suffix: object, agree: object, signature: object,
                   client: signing_flow.Client) -> DocumentRecord:
    """The link's party signs. Raises what ``open_link`` raises, WrongProof (403, with the tries left),
    Locked (the fifth wrong try), InvalidData (not agreed; the drawing), Conflict (not this party's turn)."""
    view = open_link(services, token)
    link, record, spec = view.link, view.document, view.spec
    party = party_of(spec, link.party)
    name, number = identity(party, record.data)
    actor = f"signer:{link.id}"
    if link.mode == "remote":
        good_code = isinstance(code, str) and link.code_hash is not None and hmac.compare_digest(
            _hash(services, f"code:{link.id}", code.strip()), link.code_hash)
        good_suffix = number is None or (isinstance(id_suffix, str) and hmac.compare_digest(
            id_suffix.strip().upper().encode(), number.strip().upper()[-SUFFIX:].encode()))
        if not (good_code and good_suffix):
            failed = services.links.fail(link.id, services.now())
            services.audit.record(actor=actor, action="sign", object=f"document:{record.id}", outcome="refused",
                                  detail={"party": link.party, "failures": failed.failures, "address": client.address})
            if failed.locked_at is not None:
                raise Locked("错误次数过多，签署链接已锁定，请联系办理窗口", "too many wrong tries: the link is locked; contact the window",
                             code="link_locked")
            raise WrongProof(MAX_FAILURES - failed.failures)
    if agree is not True:
        raise InvalidData({"agree": [bilingual("请阅读全文并勾选“本人已阅读并知晓”", "read the document and confirm that you have")]})
    picture = signature_png(signature)
    states = party_states(spec, record.data, services.registry.revisions(record.id))
    check_turn(record, states, party.role)
    if not services.links.use(link.id, services.now()):
        raise Conflict("签署链接已使用", "the signing link has been used", code="link_used")
    try:
        agency = services.agencies.get(record.agency)
        event = services.persons.event(name=name, id_number=number, agency_name=agency.name, now=services.now())
        before = services.files.get(record.pdf_path)
        signed = sign_field(
            before,
            PartySignature(field=party.role, name=name, reason=f"{party.label}签署（登记编号 {record.serial}）", location=agency.name,
                           picture=picture),
            pyhanko_signer(event.certificate, event.key, services.persons.chain),
            services.timestamps.timestamper(),
            services.revocation,
        )
        del event  # the key served this one signature
        how = ("一次性验证码与证件号后六位 / a one-time code and the ID number's last characters" if link.mode == "remote"
               else f"窗口工作人员核验身份证件 / identity document checked at the window by {link.identity_checked_by}")
        return signing_flow.store_signature(services, record, party.role, name, "event", before, signed, evidence={
            "signer": name, "identity": how, "checked_by": link.identity_checked_by or actor, "link": link.id, "mode": link.mode,
            "address": client.address, "user_agent": client.user_agent[:300],
        })
    except BaseException:
        services.links.release(link.id)
        raise
