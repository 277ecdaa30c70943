"""Certificates the service issues at run time, from its persons CA (a sub-CA of the agency's PKI):

- a staff member's own signing certificate, made when the account is (or when its password is reset),
  valid three years; its key is kept encrypted with the person's password, so that only they can sign;
- an applicant's event certificate, made for one signature and valid one hour; its key lives only for
  that signature. The subject is the applicant's name; the ID number never appears, only its keyed hash
  (HMAC-SHA256 with a secret of the deployment), so that the service can later confirm whose it was and
  nobody else can read or guess it.

Built with ``cryptography``'s certificate builder (the development PKI's generator, ``devpki``, is not
part of the service). The kind of certificate is named in the subject's organizational unit.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import os
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ..errors import SigningKeyUnavailable

STAFF_UNIT = "工作人员 / staff"
EVENT_UNIT = "事件证书 / event"
STAFF_VALIDITY = dt.timedelta(days=3 * 365)
EVENT_VALIDITY = dt.timedelta(hours=1)
ID_HASH_PREFIX = "IDH-"
_DOCUMENT_SIGNING = x509.ObjectIdentifier("1.3.6.1.4.1.311.10.3.12")  # what Acrobat and NSS expect for signing PDFs


@dataclass(frozen=True)
class StaffCredentials:
    """PEM texts: the certificate, and the private key encrypted with the person's password."""

    certificate: str
    encrypted_key: str


@dataclass(frozen=True)
class EventCredentials:
    certificate: x509.Certificate
    key: ec.EllipticCurvePrivateKey


def kind_of(certificate: x509.Certificate) -> str | None:
    """``staff`` or ``event`` for a certificate this service issued to a person, else None."""
    units = [a.value for a in certificate.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)]
    return "staff" if STAFF_UNIT in units else "event" if EVENT_UNIT in units else None


class PersonsCA:
    """The CA's key and certificate, loaded on first use from a PKCS#12 file."""

    def __init__(self, p12: Path, passphrase: bytes | None, id_hash_key: bytes) -> None:
        self.p12 = p12
        self.passphrase = passphrase
        self.id_hash_key = id_hash_key
        self._loaded: tuple[object, x509.Certificate, list[x509.Certificate]] | None = None
        self._lock = threading.Lock()

    def _ca(self) -> tuple[object, x509.Certificate, list[x509.Certificate]]:
        with self._lock:
            if self._loaded is None:
                try:
                    key, cert, chain = pkcs12.load_key_and_certificates(self.p12.read_bytes(), self.passphrase)
                except (OSError, ValueError):
                    raise SigningKeyUnavailable("签发个人证书的 CA 不可用（persons-ca.p12）",
                                                "the CA that issues persons' certificates is unavailable (persons-ca.p12)") from None
                if key is None or cert is None:
                    raise SigningKeyUnavailable("个人证书 CA 文件缺少密钥或证书", "the persons CA file lacks its key or certificate")
                self._loaded = (key, cert, list(chain))
            return self._loaded

    @property
    def chain(self) -> list[x509.Certificate]:
        """The CA's certificate and those above it (to embed beside a person's certificate)."""
        _, cert, chain = self._ca()
        return [cert, *chain]

    def id_hash(self, id_number: str) -> str:
        return ID_HASH_PREFIX + hmac.new(self.id_hash_key, id_number.strip().upper().encode(), hashlib.sha256).hexdigest()

    def _issue(self, subject: x509.Name, public_key: ec.EllipticCurvePublicKey, now: dt.datetime, validity: dt.timedelta) -> x509.Certificate:
        ca_key, ca_cert, _ = self._ca()
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(ca_cert.subject)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + validity)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=True, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
                                         encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([_DOCUMENT_SIGNING, ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_cert.public_key()), critical=False)  # type: ignore[arg-type]
        )
        return builder.sign(ca_key, hashes.SHA256())  # type: ignore[arg-type]

    def staff(self, *, name: str, username: str, agency_name: str, password: str, now: dt.datetime) -> StaffCredentials:
        """A staff member's own certificate and its key, encrypted with ``password``."""
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, agency_name[:64]),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, STAFF_UNIT),
            x509.NameAttribute(NameOID.USER_ID, username),
            x509.NameAttribute(NameOID.COMMON_NAME, name[:64]),
        ])
        cert = self._issue(subject, key.public_key(), now, STAFF_VALIDITY)
        encrypted = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.BestAvailableEncryption(password.encode()))
        return StaffCredentials(cert.public_bytes(serialization.Encoding.PEM).decode(), encrypted.decode())

    def event(self, *, name: str, id_number: str | None, agency_name: str, now: dt.datetime) -> EventCredentials:
        """A certificate for one signature by ``name``, and its fresh key (to be dropped once used)."""
        key = ec.generate_private_key(ec.SECP256R1())
        attributes = [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, agency_name[:64]),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, EVENT_UNIT),
        ]
        if id_number:
            attributes.append(x509.NameAttribute(NameOID.SERIAL_NUMBER, self.id_hash(id_number)))
        attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, name[:64]))
        return EventCredentials(self._issue(x509.Name(attributes), key.public_key(), now, EVENT_VALIDITY), key)


def id_hash_key(data_dir: Path) -> bytes:
    """The deployment's secret for ID hashes: made once, kept in the data folder (mode 0600)."""
    path = data_dir / "id_hash_key"
    try:
        return bytes.fromhex(path.read_text().strip())
    except FileNotFoundError:
        data_dir.mkdir(parents=True, exist_ok=True)
        secret = secrets.token_hex(32)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return bytes.fromhex(path.read_text().strip())
        with os.fdopen(fd, "w") as handle:
            handle.write(secret)
        return bytes.fromhex(secret)
