"""Signing keys and trust roots, loaded once and kept: parsing a private key costs more than using it.

An agency's key comes from a PKCS#12 file: by default ``certs/agencies/<id>.p12`` of the development
PKI with its passphrase in ``certs/private/passphrase``; a deployment names its own file and
passphrase source in ``agencies.toml`` (``pkcs12``, ``passphrase_file`` or ``passphrase_env``).
Passphrases are read, used and dropped; they never reach a log line or an error message.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ec import ECDSA, EllipticCurvePrivateKey
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from pyhanko.keys import load_certs_from_pemder
from pyhanko.sign.signers import SimpleSigner
from pyhanko_certvalidator.util import get_pyca_cryptography_hash

from ..agencies import Agency
from ..errors import SigningKeyUnavailable
from .pki import PkiPaths, read_passphrase


class CachedKeySigner(SimpleSigner):
    """pyHanko's SimpleSigner, but with the private key parsed once instead of on every signature."""

    def __init__(self, base: SimpleSigner) -> None:
        super().__init__(signing_cert=base.signing_cert, signing_key=base.signing_key, cert_registry=base.cert_registry)
        self._key = serialization.load_der_private_key(base.signing_key.dump(), password=None)

    def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
        mechanism = self.get_signature_mechanism_for_digest(digest_algorithm).signature_algo
        hash_algorithm = get_pyca_cryptography_hash(digest_algorithm)
        if mechanism == "rsassa_pkcs1v15" and isinstance(self._key, RSAPrivateKey):
            return self._key.sign(data, PKCS1v15(), hash_algorithm)
        if mechanism == "ecdsa" and isinstance(self._key, EllipticCurvePrivateKey):
            return self._key.sign(data, ECDSA(hash_algorithm))
        return super().sign_raw(data, digest_algorithm)


def load_pkcs12_signer(path: Path, passphrase: bytes | None, *, what: str) -> CachedKeySigner:
    """Raises SigningKeyUnavailable naming ``what`` (never the passphrase)."""
    try:
        data = path.read_bytes()
    except OSError:
        raise SigningKeyUnavailable(f"{what}的签名密钥文件不可读", f"the signing key file of {what} cannot be read") from None
    try:
        return CachedKeySigner(SimpleSigner.load_pkcs12_data(data, other_certs=[], passphrase=passphrase))
    except ValueError:
        raise SigningKeyUnavailable(
            f"{what}的签名密钥无法打开（文件损坏或口令错误）", f"the signing key of {what} cannot be opened (damaged file or wrong passphrase)"
        ) from None


class KeyStore:
    """Every agency's signer and the TSA key, loaded on first use and kept."""

    def __init__(self, certs_dir: Path) -> None:
        self.paths = PkiPaths(certs_dir)
        self._signers: dict[str, CachedKeySigner] = {}
        self._lock = threading.Lock()

    def _passphrase(self, agency: Agency) -> bytes | None:
        if agency.passphrase_env:
            value = os.environ.get(agency.passphrase_env)
            if value is None:
                raise SigningKeyUnavailable(
                    f"{agency.name}的签名密钥口令未设置", f"the passphrase of {agency.id}'s signing key is not set ({agency.passphrase_env})"
                )
            return value.encode()
        path = agency.passphrase_file or (None if agency.pkcs12 else self.paths.passphrase_file)
        if path is None:
            return None
        try:
            return read_passphrase(path)
        except OSError:
            raise SigningKeyUnavailable(f"{agency.name}的签名密钥口令文件不可读", f"the passphrase file of {agency.id}'s signing key cannot be read") from None

    def signer(self, agency: Agency) -> CachedKeySigner:
        """The agency's signer; raises SigningKeyUnavailable."""
        with self._lock:
            signer = self._signers.get(agency.id)
            if signer is None:
                path = agency.pkcs12 or self.paths.agency(agency.id)
                signer = load_pkcs12_signer(path, self._passphrase(agency), what=agency.name)
                self._signers[agency.id] = signer
            return signer

    def tsa_signer(self) -> CachedKeySigner:
        with self._lock:
            signer = self._signers.get("\0tsa")
            if signer is None:
                try:
                    passphrase = read_passphrase(self.paths.passphrase_file)
                except OSError:
                    raise SigningKeyUnavailable("本地时间戳服务的密钥口令不可读", "the local TSA's passphrase cannot be read") from None
                signer = load_pkcs12_signer(self.paths.tsa, passphrase, what="本地时间戳服务")
                self._signers["\0tsa"] = signer
            return signer


def load_trust_roots(paths: list[Path]) -> list[asn1_x509.Certificate]:
    """The configured trust anchors (PEM or DER files); raises SigningKeyUnavailable if none can be read."""
    roots: list[asn1_x509.Certificate] = []
    for path in paths:
        try:
            roots.extend(load_certs_from_pemder([str(path)]))
        except (OSError, ValueError):
            continue
    if not roots:
        raise SigningKeyUnavailable("没有可用的信任根证书", "no trust root certificate could be read")
    return roots
