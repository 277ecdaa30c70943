"""Signing keys and trust roots, loaded once and kept: parsing a private key costs more than using it.

An agency's key comes from a PKCS#12 file: by default ``certs/agencies/<id>.p12`` of the development
PKI with its passphrase in ``certs/private/passphrase``; a deployment names its own file and
passphrase source in ``agencies.toml`` (``pkcs12``, ``passphrase_file`` or ``passphrase_env``), or a
PKCS#11 token instead (``pkcs11_module``, ``token_label``, ``key_label``…: ``token.py``). An SM2 agency
(``algorithm = "sm2"``) signs through ``sm2.py``: the development PKI's SM2 key, a signing server or a token.

A PKCS#12 file is loaded again when it changes (its inode, modification time or size), so that a running service
signs with the key a rotation wrote (``python -m service key rotate``) without a restart. A certificate whose key was
reported compromised (``python -m service key compromise``) signs nothing: the store asks the registry at every
signature, so a report made by another process counts at once.
Passphrases and PINs are read, used and dropped; they never reach a log line or an error message.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from asn1crypto import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ec import ECDSA, EllipticCurvePrivateKey
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from pyhanko.sign.attributes import SignedAttributeProviderSpec
from pyhanko.sign.general import as_signing_certificate_v2
from pyhanko.sign.signers import SimpleSigner
from pyhanko_certvalidator.util import get_pyca_cryptography_hash

from ..agencies import Agency
from ..errors import SigningKeyCompromised, SigningKeyUnavailable
from . import sm2
from .paths import PkiPaths, read_passphrase
from .signed_attributes import SigningCertificateOnce
from .token import TokenKeys, TokenSigner


class CachedKeySigner(SimpleSigner):
    """pyHanko's SimpleSigner with what depends on the key and certificate alone computed once.

    pyHanko builds every signature container itself (its attribute providers, its signer info, its
    packaging, the timestamp through its TSTProvider). Two of its inputs are kept instead of being made
    again for each signature:

    - the private key, parsed once: parsing an RSA key runs OpenSSL's key check, ~28 ms;
    - the signing-certificate-v2 attribute's value, computed by pyHanko's ``as_signing_certificate_v2``
      once and handed back to pyHanko as DER: asn1crypto re-encodes a value built from other values
      (rather than parsed from bytes) each time it is nested and dumped, ~7 ms per signature
      (bench/RESULTS.md).

    The value goes in through ``_signed_attr_provider_spec``, the internal method with which pyHanko
    picks its attribute providers; tests/test_signing.py fails if pyHanko stops calling it.
    """

    def __init__(self, base: SimpleSigner) -> None:
        super().__init__(signing_cert=base.signing_cert, signing_key=base.signing_key, cert_registry=base.cert_registry)
        self._key = serialization.load_der_private_key(base.signing_key.dump(), password=None)
        cert = self.signing_cert
        assert cert is not None
        self._signing_certificate_v2 = as_signing_certificate_v2(cert).dump()

    def _signed_attr_provider_spec(self, *args: Any, **kwargs: Any) -> SignedAttributeProviderSpec:
        spec = super()._signed_attr_provider_spec(*args, **kwargs)
        cert = self.signing_cert
        assert cert is not None
        return SigningCertificateOnce(spec, cert, self._signing_certificate_v2)

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
    """Every agency's signer, loaded on first use and kept: from its PKCS#12 file (loaded again when the file changes),
    or over its token's session."""

    def __init__(self, certs_dir: Path, compromised: Callable[[str], object | None] = lambda sha256: None) -> None:
        """``compromised``: the recorded compromise of the certificate with this DER SHA-256 (hex), or None."""
        self.paths = PkiPaths(certs_dir)
        self.compromised = compromised
        # id → (the key file's stamp, signer); an SM2 agency's signer is kept as made (stamp None)
        self._signers: dict[str, tuple[tuple[int, int, int] | None, CachedKeySigner | sm2.Sm2Signer]] = {}
        self._lock = threading.Lock()
        self.tokens = TokenKeys()

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

    def _current(self, agency: Agency) -> CachedKeySigner | TokenSigner | sm2.Sm2Signer:
        """The agency's signer as its file, token or signing server holds it now. Raises SigningKeyUnavailable
        (SigningTokenUnavailable)."""
        if agency.sm2 and agency.token is not None:
            return sm2.token_signer(agency, self.tokens)  # over the token's kept session: cheap
        if agency.token is not None:
            return self.tokens.signer(agency)
        with self._lock:
            if agency.sm2:
                kept = self._signers.get(agency.id)
                if kept is None:
                    signer = sm2.server_signer(agency) if agency.signing_server else sm2.development_signer(agency, self.paths)
                    kept = self._signers[agency.id] = (None, signer)
                return kept[1]
            path = agency.pkcs12 or self.paths.agency(agency.id)
            try:
                info = path.stat()
            except OSError:
                raise SigningKeyUnavailable(f"{agency.name}的签名密钥文件不可读", f"the signing key file of {agency.name} cannot be read") from None
            stamp = (info.st_ino, info.st_mtime_ns, info.st_size)
            kept = self._signers.get(agency.id)
            if kept is None or kept[0] != stamp:
                kept = self._signers[agency.id] = (stamp, load_pkcs12_signer(path, self._passphrase(agency), what=agency.name))
            return kept[1]

    def certificate(self, agency: Agency) -> x509.Certificate:
        """The agency's current signing certificate, whether or not its key was reported compromised.
        Raises SigningKeyUnavailable (SigningTokenUnavailable for a token)."""
        cert = self._current(agency).signing_cert
        if cert is None:
            raise SigningKeyUnavailable(f"{agency.name}的签名证书缺失", f"the signing certificate of {agency.name} is missing")
        return cert

    def signer(self, agency: Agency) -> CachedKeySigner | TokenSigner | sm2.Sm2Signer:
        """The agency's signer. Raises SigningKeyUnavailable (SigningTokenUnavailable for a token; SigningKeyCompromised
        when its certificate's key was reported compromised)."""
        signer = self._current(agency)
        if signer.signing_cert is None:
            raise SigningKeyUnavailable(f"{agency.name}的签名证书缺失", f"the signing certificate of {agency.name} is missing")
        if self.compromised(hashlib.sha256(signer.signing_cert.dump()).hexdigest()) is not None:
            raise SigningKeyCompromised(
                f"{agency.name}的签名密钥已报告泄露，请配置新的密钥",
                f"the signing key of {agency.name} ({agency.id}) was reported compromised; configure a new key",
            )
        return signer

    def check(self, agency: Agency) -> None:
        """Whether the agency can sign now: its key file opens, its token answers and holds the key, or its signing
        server's secret is set; and its key was not reported compromised. Raises SigningKeyUnavailable
        (SigningTokenUnavailable for a token, SigningKeyCompromised, SigningServerUnavailable for a signing server)."""
        if agency.token is not None:
            self.tokens.check(agency)
        signer = self.signer(agency)
        if isinstance(signer, sm2.Sm2Signer):
            signer.backend.check()

    def algorithm(self, agency: Agency) -> str:
        """What the agency's signatures use: ``sm2-sm3``, ``rsa-sha256`` or ``ecdsa-sha256``. Raises what ``signer`` raises."""
        if agency.sm2:
            return "sm2-sm3"
        cert = self.certificate(agency)
        return "ecdsa-sha256" if cert.public_key.algorithm == "ec" else "rsa-sha256"

    def close(self) -> None:
        """Closes the tokens' sessions; the store opens them again when next used."""
        self.tokens.close()
