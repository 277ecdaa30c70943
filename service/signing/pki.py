"""The development PKI: a root CA, an intermediate, one signing certificate per configured agency and a
timestamping (TSA) certificate, under ``certs/``.

    certs/root-ca.pem              trust anchor (give it to validators: pdfsig, pyHanko, Adobe)
    certs/intermediate-ca.pem      embedded in every signature with the signer's certificate
    certs/agencies/<id>.p12        each agency's signing key and certificate chain
    certs/tsa.p12                  the local TSA's key and certificate
    certs/private/                 CA keys and the PKCS#12 passphrase (mode 0700; never in git, logs or responses)

Only for development and tests: a deployment points the service at its own PKCS#12 files and trust
roots (``agencies.toml`` ``pkcs12``/``passphrase_file``, ``CHENGNUO_TRUST_ROOTS``, ``CHENGNUO_TSA_URL``).
Creating is idempotent: what exists is kept, what is missing (a newly configured agency) is added.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ..agencies import Agency

ROOT_NAME = "Chengnuo Development Root CA"
INTERMEDIATE_NAME = "Chengnuo Development Signing CA"
TSA_NAME = "Chengnuo Development Timestamping Authority"


@dataclass(frozen=True)
class PkiPaths:
    root: Path

    @property
    def root_cert(self) -> Path:
        return self.root / "root-ca.pem"

    @property
    def intermediate_cert(self) -> Path:
        return self.root / "intermediate-ca.pem"

    @property
    def private(self) -> Path:
        return self.root / "private"

    @property
    def root_key(self) -> Path:
        return self.private / "root-ca.key.pem"

    @property
    def intermediate_key(self) -> Path:
        return self.private / "intermediate-ca.key.pem"

    @property
    def passphrase_file(self) -> Path:
        return self.private / "passphrase"

    @property
    def tsa(self) -> Path:
        return self.root / "tsa.p12"

    def agency(self, agency_id: str) -> Path:
        return self.root / "agencies" / f"{agency_id}.p12"


def _name(common_name: str, organisation: str | None = None) -> x509.Name:
    parts = [x509.NameAttribute(NameOID.COUNTRY_NAME, "CN")]
    parts.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation or "Chengnuo Development PKI"))
    parts.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    return x509.Name(parts)


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def _certificate(
    subject: x509.Name,
    public_key: rsa.RSAPublicKey,
    issuer: x509.Name,
    issuer_key: rsa.RSAPrivateKey,
    *,
    now: dt.datetime,
    years: int,
    ca_path_length: int | None,
    key_usage: dict[str, bool],
    extended: Iterable[x509.ObjectIdentifier] = (),
    issuer_public: rsa.RSAPublicKey | None = None,
) -> x509.Certificate:
    usage = dict.fromkeys(
        ("digital_signature", "content_commitment", "key_encipherment", "data_encipherment", "key_agreement",
         "key_cert_sign", "crl_sign", "encipher_only", "decipher_only"),
        False,
    )
    usage.update(key_usage)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=365 * years))
        .add_extension(x509.BasicConstraints(ca=ca_path_length is not None, path_length=ca_path_length), critical=True)
        .add_extension(x509.KeyUsage(**usage), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_public or issuer_key.public_key()), critical=False)
    )
    extended = list(extended)
    if extended:
        builder = builder.add_extension(x509.ExtendedKeyUsage(extended), critical=True)
    return builder.sign(issuer_key, hashes.SHA256())


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _load_key(path: Path, passphrase: bytes) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=passphrase)
    assert isinstance(key, rsa.RSAPrivateKey)
    return key


def read_passphrase(path: Path) -> bytes:
    return path.read_bytes().strip()


def init_pki(certs_dir: Path, agencies: Iterable[Agency], *, now: dt.datetime | None = None) -> list[str]:
    """Creates whatever of the development PKI is missing; returns what it created (no secrets)."""
    now = now or dt.datetime.now(dt.timezone.utc)
    paths = PkiPaths(certs_dir)
    created: list[str] = []
    paths.private.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(paths.private, 0o700)

    if not paths.passphrase_file.exists():
        _write_private(paths.passphrase_file, secrets.token_urlsafe(24).encode())
        created.append("passphrase")
    passphrase = read_passphrase(paths.passphrase_file)
    encryption = serialization.BestAvailableEncryption(passphrase)

    if not (paths.root_cert.exists() and paths.root_key.exists()):
        root_key = _key()
        root_name = _name(ROOT_NAME)
        root = _certificate(root_name, root_key.public_key(), root_name, root_key, now=now, years=20,
                            ca_path_length=1, key_usage={"key_cert_sign": True, "crl_sign": True})
        _write_private(paths.root_key, root_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption))
        paths.root_cert.write_bytes(_pem(root))
        paths.intermediate_cert.unlink(missing_ok=True)  # a new root invalidates everything below it
        created.append("root CA")
    root = x509.load_pem_x509_certificate(paths.root_cert.read_bytes())
    root_key = _load_key(paths.root_key, passphrase)

    if not (paths.intermediate_cert.exists() and paths.intermediate_key.exists()):
        inter_key = _key()
        inter = _certificate(_name(INTERMEDIATE_NAME), inter_key.public_key(), root.subject, root_key, now=now, years=10,
                             ca_path_length=0, key_usage={"key_cert_sign": True, "crl_sign": True})
        _write_private(paths.intermediate_key, inter_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption))
        paths.intermediate_cert.write_bytes(_pem(inter))
        for stale in (paths.tsa, *paths.root.glob("agencies/*.p12")):
            stale.unlink(missing_ok=True)
        created.append("intermediate CA")
    inter = x509.load_pem_x509_certificate(paths.intermediate_cert.read_bytes())
    inter_key = _load_key(paths.intermediate_key, passphrase)

    def issue_p12(target: Path, label: str, subject: x509.Name, key_usage: dict[str, bool], extended=()) -> None:
        key = _key()
        cert = _certificate(subject, key.public_key(), inter.subject, inter_key, now=now, years=3,
                            ca_path_length=None, key_usage=key_usage, extended=extended)
        blob = pkcs12.serialize_key_and_certificates(label.encode(), key, cert, [inter, root], encryption)
        _write_private(target, blob)

    if not paths.tsa.exists():
        issue_p12(paths.tsa, "tsa", _name(TSA_NAME), {"digital_signature": True, "content_commitment": True},
                  [ExtendedKeyUsageOID.TIME_STAMPING])
        created.append("TSA certificate")
    for agency in agencies:
        target = paths.agency(agency.id)
        if not target.exists():
            issue_p12(target, agency.id, _name(agency.name, agency.name), {"digital_signature": True, "content_commitment": True})
            created.append(f"signing certificate of {agency.name} ({agency.id})")
    return created
