"""An agency's SM2 signer for pyHanko, and the backends that hold its key (国密, issue 20).

pyHanko builds the whole CMS container, PAdES attributes, timestamp and DSS as for RSA; ``Sm2Signer`` (a pyHanko
``Signer``) only makes the raw signature: SM2 with SM3 over the DER of the signed attributes, by one of three
backends, chosen by the agency's configuration (``agencies.toml``):

- ``KeyFileBackend``    development: the development PKI's SM2 key, signed with tongsuopy (``service.gm.sm2``);
- ``SigningServerBackend``  an HTTP signing server (docs/sm2-signing-server.md): it gets e = SM3(Z_A ‖ M), as cloud
                        KMS and signing servers that sign a digest do, and answers the DER signature;
- ``TokenBackend``      a PKCS#11 token with a vendor SM2 mechanism, over ``token.py``'s sessions.

Every signature a backend returns is verified against the agency's certificate before it is embedded: a signing
server answering with another key, another distinguishing ID or garbage fails the request (503) instead of issuing
a document that will not verify. A backend that fails raises a SigningError subclass: the request fails and the
drawn number is voided with the reason, as for RSA.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import os
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Protocol

import pkcs11
import requests
from asn1crypto import algos, cms, x509
from pyhanko.keys import load_certs_from_pemder
from pyhanko.sign.attributes import SignedAttributeProviderSpec
from pyhanko.sign.general import as_signing_certificate_v2
from pyhanko.sign.signers import Signer
from pyhanko_certvalidator.registry import SimpleCertificateStore

from ..agencies import Agency, SigningServer
from ..errors import (
    SigningError,
    SigningKeyUnavailable,
    SigningServerUnavailable,
    SigningTokenUnavailable,
)
from ..gm import oids
from ..gm import sm2 as gm
from .paths import PkiPaths, read_passphrase
from .signed_attributes import SigningCertificateOnce

log = logging.getLogger(__name__)

DRY_RUN_SIGNATURE = bytes(72)  # a DER (r, s) of two 33-byte integers: the longest an SM2 signature gets


class Sm2Backend(Protocol):
    """Where an SM2 key signs. ``sign`` returns the DER signature of ``message`` (SM3 with Z_A, the pinned ID)."""

    def sign(self, message: bytes) -> bytes: ...

    def check(self) -> None: ...


def _key_unavailable(agency: Agency, zh: str, en: str) -> SigningKeyUnavailable:
    return SigningKeyUnavailable(f"{agency.name}的 SM2 签名密钥{zh}", f"the SM2 signing key of {agency.name} ({agency.id}) {en}")


def read_chain(agency: Agency, path: Path) -> list[x509.Certificate]:
    """The agency's certificate, then its CA chain, from a PEM or DER file. Raises SigningKeyUnavailable when it cannot
    be read or its first certificate is not an SM2 one."""
    try:
        certs = list(load_certs_from_pemder([str(path)]))
    except (OSError, ValueError) as exc:
        log.warning("the SM2 certificate file of %s cannot be read (%s)", agency.id, type(exc).__name__)
        raise _key_unavailable(agency, "的证书文件不可读", "has an unreadable certificate file") from None
    if not certs or not gm.is_sm2_key(certs[0].public_key):
        raise _key_unavailable(agency, "的证书不是 SM2 证书", "has a certificate that is not an SM2 one")
    return certs


class KeyFileBackend:
    """The development PKI's SM2 key (an encrypted PKCS#8 file), parsed once, signed with tongsuopy."""

    def __init__(self, agency: Agency, key_file: Path, passphrase: bytes) -> None:
        from tongsuopy.crypto.serialization import load_pem_private_key

        try:
            self._key = load_pem_private_key(key_file.read_bytes(), passphrase)
        except (OSError, ValueError, TypeError) as exc:
            raise _key_unavailable(agency, "无法打开（文件缺失、损坏或口令错误）", "cannot be opened (missing, damaged or wrong passphrase)") from exc

    def sign(self, message: bytes) -> bytes:
        return gm.sign(self._key, message)

    def check(self) -> None:
        pass


class SigningServerBackend:
    """An HTTP signing server (docs/sm2-signing-server.md). Raises SigningServerUnavailable for every failure."""

    def __init__(self, agency: Agency, server: SigningServer, public_key: Any) -> None:
        self.agency = agency
        self.server = server
        self.public_key = public_key
        self._session = threading.local()

    def _unavailable(self, zh: str, en: str) -> SigningServerUnavailable:
        return SigningServerUnavailable(f"{self.agency.name}的签名服务器{zh}，文书未签发",
                                        f"the signing server of {self.agency.name} ({self.agency.id}) {en}; nothing was issued")

    def _secret(self) -> bytes:
        server = self.server
        if server.secret_env:
            value = os.environ.get(server.secret_env)
            if not value:
                raise self._unavailable(f"的密钥未设置（环境变量 {server.secret_env}）", f"has no secret: {server.secret_env} is not set")
            return value.encode()
        assert server.secret_file is not None
        try:
            return read_passphrase(server.secret_file)
        except OSError:
            raise self._unavailable("的密钥文件不可读", "has an unreadable secret file") from None

    def request(self, digest: bytes) -> tuple[bytes, dict[str, str]]:
        """The request's body and headers for ``digest`` (e = SM3(Z_A ‖ M))."""
        body = {"algorithm": "SM2-SM3", "message_type": "digest", "digest": base64.b64encode(digest).decode(),
                "request_id": uuid.uuid4().hex}
        if self.server.key_id:
            body["key_id"] = self.server.key_id
        raw = json.dumps(body, separators=(",", ":")).encode()
        secret = self._secret()
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.server.auth == "hmac":
            stamp = str(int(time.time()))
            mac = hmac.new(secret, stamp.encode() + b"." + raw, hashlib.sha256).hexdigest()
            headers["X-Chengnuo-Signature"] = f"t={stamp},v1={mac}"
        else:
            headers["Authorization"] = f"Bearer {secret.decode()}"
        return raw, headers

    def sign(self, message: bytes) -> bytes:
        raw, headers = self.request(gm.digest_e(self.public_key, message))
        session = getattr(self._session, "value", None)
        if session is None:
            session = self._session.value = requests.Session()
        try:
            response = session.post(self.server.url, data=raw, headers=headers, timeout=(self.server.timeout, self.server.timeout))
        except requests.Timeout as exc:
            log.warning("signing server of %s did not answer within %.1f s", self.agency.id, self.server.timeout)
            raise self._unavailable(f"在 {self.server.timeout:g} 秒内未响应", f"did not answer within {self.server.timeout:g} s") from exc
        except requests.RequestException as exc:
            log.warning("signing server of %s cannot be reached: %s", self.agency.id, type(exc).__name__)
            raise self._unavailable("无法连接", "cannot be reached") from exc
        if response.status_code in (401, 403):
            raise self._unavailable("拒绝了本服务的凭据", f"refused the service's credentials (HTTP {response.status_code})")
        if response.status_code != 200:
            raise self._unavailable(f"返回错误（HTTP {response.status_code}）", f"answered HTTP {response.status_code}")
        try:
            signature = base64.b64decode(response.json()["signature"], validate=True)
        except (ValueError, KeyError, TypeError) as exc:
            raise self._unavailable("的应答无法识别", "answered something that is not a signature") from exc
        return signature

    def check(self) -> None:
        """Whether a secret is configured (no signature is asked for: a health probe must not sign)."""
        self._secret()


def vendor_mechanism(value: int) -> pkcs11.Mechanism:
    """python-pkcs11 takes only members of its ``Mechanism`` enum, which lists no vendor-defined mechanism (and SM2 is
    one): a pseudo-member carrying the configured number, passed to the token unchanged."""
    try:
        return pkcs11.Mechanism(value)
    except ValueError:
        member = int.__new__(pkcs11.Mechanism, value)
        member._name_, member._value_ = f"VENDOR_{value:#x}", value
        return member


class TokenBackend:
    """An SM2 key on a PKCS#11 token, over ``token.py``'s session (one per token, kept, reopened after a failure).

    PKCS#11 itself has no SM2 mechanism: tokens offer a vendor one (``pkcs11_mechanism``), which either hashes the
    message with SM3 and Z_A itself (``pkcs11_input = "message"``) or signs e (``"digest"``). EC signatures come back
    as r ‖ s and are DER-encoded here.
    """

    def __init__(self, keys: Any, agency: Agency, public_key: Any) -> None:
        self.keys = keys  # token.TokenKeys
        self.agency = agency
        self.public_key = public_key

    def sign(self, message: bytes) -> bytes:
        signer = self.keys.signer(self.agency)
        module = self.keys.module_of(self.agency)
        payload = message if self.agency.pkcs11_input == "message" else gm.digest_e(self.public_key, message)
        with module.lock:
            try:
                raw = signer._key_handle.sign(payload, mechanism=vendor_mechanism(self.agency.pkcs11_mechanism or 0))
            except (pkcs11.PKCS11Error, ValueError) as exc:
                log.warning("token of %s failed to sign with mechanism %#x (%s)", self.agency.id, self.agency.pkcs11_mechanism or 0,
                            type(exc).__name__)
                if isinstance(exc, pkcs11.PKCS11Error):
                    self.keys.drop(self.agency, signer.session_used)
                raise SigningTokenUnavailable(
                    f"{self.agency.name}的签名令牌不能以配置的 SM2 机制签名", f"the signing token of {self.agency.name} ({self.agency.id}) "
                    "cannot sign with the configured SM2 mechanism") from exc
        if len(raw) != 64:
            return raw
        return algos.DSASignature({"r": int.from_bytes(raw[:32], "big"), "s": int.from_bytes(raw[32:], "big")}).dump()

    def check(self) -> None:
        self.keys.check(self.agency)


class Sm2Signer(Signer):
    """pyHanko's signer for an SM2 agency: SM3 digests, SM2-with-SM3 (1.2.156.10197.1.501) or, with ``gm_oids``,
    GM/T 0010's OIDs; the raw signature from the backend, checked against the certificate."""

    def __init__(self, agency: Agency, chain: list[x509.Certificate], backend: Sm2Backend) -> None:
        oids.register()
        mechanism = algos.SignedDigestAlgorithm({"algorithm": "sm2_gm" if agency.gm_oids else "sm2_sm3"})
        super().__init__(signing_cert=chain[0], cert_registry=SimpleCertificateStore.from_certs(chain[1:]),
                         signature_mechanism=mechanism)
        self.agency = agency
        self.backend = backend
        self.gm_oids = agency.gm_oids
        self._signing_certificate_v2 = as_signing_certificate_v2(chain[0]).dump()

    def _signed_attr_provider_spec(self, *args: Any, **kwargs: Any) -> SignedAttributeProviderSpec:
        spec = super()._signed_attr_provider_spec(*args, **kwargs)
        cert = self.signing_cert
        assert cert is not None
        return SigningCertificateOnce(spec, cert, self._signing_certificate_v2)

    async def async_sign_raw(self, data: bytes, digest_algorithm: str, dry_run: bool = False) -> bytes:
        if digest_algorithm != "sm3":
            raise SigningError("SM2 签名须使用 SM3 摘要", f"an SM2 signature uses SM3, not {digest_algorithm}")
        if dry_run:
            return DRY_RUN_SIGNATURE
        signature = await asyncio.to_thread(self.backend.sign, data)
        cert = self.signing_cert
        assert cert is not None
        if not (gm.is_der_signature(signature) and gm.verify(cert.public_key, signature, data)):
            log.warning("the SM2 signature made for %s does not verify with its certificate", self.agency.id)
            raise SigningServerUnavailable(
                f"{self.agency.name}的 SM2 签名无法用其证书验证（密钥、区分标识或应答有误），文书未签发",
                f"the SM2 signature made for {self.agency.name} ({self.agency.id}) does not verify with its certificate "
                "(another key, another distinguishing ID or a damaged answer); nothing was issued")
        return signature

    async def signed_attrs(self, *args: Any, **kwargs: Any) -> cms.CMSAttributes:
        if self.gm_oids:
            kwargs["content_type"] = oids.gm_content_type(oids.GM_DATA)
        return await super().signed_attrs(*args, **kwargs)

    def _package_signature(self, **kwargs: Any) -> cms.ContentInfo:
        if not self.gm_oids:
            return super()._package_signature(**kwargs)
        kwargs["encap_content_info"] = {"content_type": oids.gm_content_type(oids.GM_DATA)}
        packaged = super()._package_signature(**kwargs)
        return cms.ContentInfo({"content_type": oids.gm_content_type(oids.GM_SIGNED_DATA), "content": packaged["content"]})


def development_signer(agency: Agency, paths: PkiPaths) -> Sm2Signer:
    """The agency's signer over the development PKI's SM2 key. Raises SigningKeyUnavailable."""
    try:
        passphrase = read_passphrase(paths.passphrase_file)
    except OSError:
        raise _key_unavailable(agency, "的口令文件不可读", "has an unreadable passphrase file") from None
    chain = read_chain(agency, paths.sm2_agency_cert(agency.id))
    return Sm2Signer(agency, chain, KeyFileBackend(agency, paths.sm2_agency_key(agency.id), passphrase))


def server_signer(agency: Agency) -> Sm2Signer:
    assert agency.signing_server is not None
    chain = read_chain(agency, agency.signing_server.certificate)
    return Sm2Signer(agency, chain, SigningServerBackend(agency, agency.signing_server, chain[0].public_key))


def token_signer(agency: Agency, tokens: Any) -> Sm2Signer:
    """Raises SigningTokenUnavailable when the token cannot be reached or holds no SM2 certificate."""
    base = tokens.signer(agency)
    chain = [base.signing_cert, *base.cert_registry]
    if not gm.is_sm2_key(chain[0].public_key):
        raise SigningTokenUnavailable(f"{agency.name}的签名令牌上的证书不是 SM2 证书",
                                      f"the signing token of {agency.name} ({agency.id}) holds no SM2 certificate")
    return Sm2Signer(agency, chain, TokenBackend(tokens, agency, chain[0].public_key))
