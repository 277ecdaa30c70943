"""Use cases: an agency's signing key is replaced (rotation), or reported compromised (issue 18, part 5).

A compromise is recorded against the agency's current certificate (``registry/compromises.py``): from then on the
service signs nothing with it (``signing/keys.py`` refuses it, 503, and /healthz names the agency), and the
verification report judges its signatures by their timestamped time against ``since``. Where the development PKI
certified the agency, the certificate is also revoked there (its CRL lists it, keyCompromise, since that time) and the
agency moves to a new key and certificate at once (``devpki/rotation.py``). An agency with its own key must ask its CA:
the report says what to ask, and the operator configures the new key in ``agencies.toml``.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from .errors import ChengnuoError, ConfigurationError, InvalidData, InvalidRequest
from .registry.compromises import KeyCompromise, cert_sha256
from .runtime import Services, development_pki

if TYPE_CHECKING:
    from devpki.rotation import Rotation

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CaRequest:
    """What to ask the CA that issued a certificate whose key was compromised (RFC 5280: revocation reason
    keyCompromise, with the invalidity date from which signatures are in doubt)."""

    issuer: str
    serial_hex: str
    serial_decimal: str
    subject: str
    invalidity_date: dt.datetime
    reason: str = "keyCompromise"


@dataclass(frozen=True)
class CompromiseReport:
    compromise: KeyCompromise
    rotation: Rotation | None  # the development PKI's new generation; None for an agency with its own key
    ca_request: CaRequest | None  # for an agency with its own key: what its CA must be asked


def _audit(services: Services, actor: str, action: str, agency_id: str, outcome: str, detail: dict[str, Any]) -> None:
    services.audit.record(actor=actor, action=action, object=f"agency:{agency_id}", outcome=outcome, detail=detail)


def report_compromise(services: Services, agency_id: str, since: dt.datetime, actor: str, note: str) -> CompromiseReport:
    """Records that the agency's current signing key may have been in other hands since ``since`` (an aware time, or
    one in the service's zone); revokes and replaces it where the development PKI certified it. Audited
    (``key_compromise``).

    Raises NotFound (unknown agency), InvalidData (``since`` in the future), SigningKeyUnavailable when the agency's
    current certificate cannot be read (key file, token), ConfigurationError when the development PKI cannot revoke and
    rotate (the compromise is recorded then, and the message says so).
    """
    agency = services.agencies.get(agency_id)
    now = services.now()
    if since.tzinfo is None:
        since = since.replace(tzinfo=ZoneInfo(services.settings.timezone))
    if since > now:
        shown = now.isoformat(timespec="seconds")
        raise InvalidData({"since": [f"不能晚于现在（{shown}） / may not be in the future (now is {shown})"]})
    cert = services.keys.certificate(agency)
    compromise = services.compromises.record(agency.id, cert, since, actor, note, now)
    services.revocation.forget()  # nothing fetched before the report is reused for this process's next signature
    services.signing_health.forget()
    detail: dict[str, Any] = {"cert_sha256": compromise.cert_sha256, "cert_serial": compromise.cert_serial,
                              "cert_subject": compromise.cert_subject, "since": compromise.since.isoformat(), "note": note,
                              "own_key": agency.own_key}
    rotation = ca_request = None
    if agency.own_key:
        ca_request = CaRequest(issuer=cert.issuer.human_friendly, serial_hex=format(cert.serial_number, "X"),
                               serial_decimal=str(cert.serial_number), subject=cert.subject.human_friendly,
                               invalidity_date=compromise.since)
    else:
        try:
            rotation = development_pki().rotate(services.settings.certs_dir, agency.id, now, revoke_since=compromise.since,
                                                expected=cert)
        except (ChengnuoError, OSError) as exc:
            _audit(services, actor, "key_compromise", agency.id, "failure", {**detail, "error": type(exc).__name__})
            zh, en = (exc.zh, exc.en) if isinstance(exc, ChengnuoError) else (f"文件无法写入（{exc.strerror}）", f"a file cannot be written ({exc.strerror})")
            raise ConfigurationError(f"已记录密钥泄露，该证书不再用于签署；但开发用 PKI 未能吊销并更换密钥：{zh}",
                                     f"the compromise is recorded and the certificate signs nothing more, but the development PKI "
                                     f"could not revoke and replace it: {en}") from exc
        detail.update(revoked_since=rotation.revoked_since.isoformat() if rotation.revoked_since else None,
                      new_cert_serial=format(rotation.new_cert.serial_number, "X"), new_cert_sha256=cert_sha256(rotation.new_cert))
    _audit(services, actor, "key_compromise", agency.id, "success", detail)
    log.warning("key of %s (certificate %s) reported compromised since %s", agency.id, compromise.cert_serial, compromise.since.isoformat())
    return CompromiseReport(compromise, rotation, ca_request)


def rotate_key(services: Services, agency_id: str, actor: str) -> Rotation:
    """Gives an agency of the development PKI a new key and certificate; the old one stays valid (not revoked), so the
    documents it signed still verify, and new ones carry the new certificate. Audited (``key_rotate``).

    Raises NotFound (unknown agency), InvalidRequest (the agency brings its own key: its CA issues the new one),
    ConfigurationError when the development PKI is incomplete."""
    agency = services.agencies.get(agency_id)
    if agency.own_key:
        raise InvalidRequest(f"{agency.name}使用自有密钥：请向其 CA 申请新证书，并在 agencies.toml 中配置新的密钥",
                             f"{agency.id} signs with its own key: obtain a new certificate from its CA and configure the new key "
                             "in agencies.toml", code="own_key")
    rotation = development_pki().rotate(services.settings.certs_dir, agency.id, services.now(),
                                        expected=services.keys.certificate(agency))
    _audit(services, actor, "key_rotate", agency.id, "success",
           {"old_cert_serial": format(rotation.old_cert.serial_number, "X"), "old_cert_sha256": cert_sha256(rotation.old_cert),
            "new_cert_serial": format(rotation.new_cert.serial_number, "X"), "new_cert_sha256": cert_sha256(rotation.new_cert)})
    services.signing_health.forget()
    return rotation
