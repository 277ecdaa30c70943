"""Signing keys and trust roots, loaded once and kept: parsing a private key costs more than using it.

An agency's key comes from a PKCS#12 file: by default ``certs/agencies/<id>.p12`` of the development
PKI with its passphrase in ``certs/private/passphrase``; a deployment names its own file and
passphrase source in ``agencies.toml`` (``pkcs12``, ``passphrase_file`` or ``passphrase_env``).
Passphrases are read, used and dropped; they never reach a log line or an error message.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

from asn1crypto import algos, cms
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ec import ECDSA, EllipticCurvePrivateKey
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from pyhanko.sign.general import as_signing_certificate_v2, simple_cms_attribute
from pyhanko.sign.signers import SimpleSigner
from pyhanko_certvalidator.util import get_pyca_cryptography_hash

from ..agencies import Agency
from ..errors import SigningKeyUnavailable
from .pki import PkiPaths, read_passphrase


@dataclass(frozen=True)
class _Constant:
    """DER of the parts of a PAdES signature container that depend only on the signer's certificates."""

    content_type: bytes
    signing_certificate_v2: bytes
    signer_id: bytes
    certificates: bytes


def encoded_signer_id(cert: asn1_x509.Certificate) -> bytes:
    """DER of the CMS SignerIdentifier (issuer and serial number) naming ``cert``."""
    return cms.SignerIdentifier(
        {"issuer_and_serial_number": cms.IssuerAndSerialNumber({"issuer": cert.issuer, "serial_number": cert.serial_number})}
    ).dump()


def encoded_certificates(certs: list[asn1_x509.Certificate]) -> bytes:
    """DER of the CMS CertificateSet embedding ``certs``."""
    return cms.CertificateSet([cms.CertificateChoices(name="certificate", value=c) for c in certs]).dump()


class CachedKeySigner(SimpleSigner):
    """pyHanko's SimpleSigner, but with the private key parsed once instead of on every signature, and
    the constant parts of a PAdES signature encoded once.

    For the signatures this service makes (PAdES, detached, no CAdES attributes beyond the signing
    certificate, no dry run), :meth:`async_sign` assembles the same container pyHanko would — signed
    attributes content-type, message-digest and signing-certificate-v2, a signature timestamp as the one
    unsigned attribute — from pre-encoded parts: pyHanko rebuilding them from parsed certificates cost
    about 8 ms of CPU per document. Anything else goes to pyHanko. tests/test_signing.py checks that
    both make the same signed attributes and signature.
    """

    def __init__(self, base: SimpleSigner) -> None:
        super().__init__(signing_cert=base.signing_cert, signing_key=base.signing_key, cert_registry=base.cert_registry)
        self._key = serialization.load_der_private_key(base.signing_key.dump(), password=None)
        self._constant: _Constant | None = None

    def constant(self) -> _Constant:
        if self._constant is None:
            cert = self.signing_cert
            assert cert is not None
            certs = [cert] + [c for c in self.cert_registry if c.dump() != cert.dump() and (self.embed_roots or c.self_signed == "no")]
            self._constant = _Constant(
                content_type=simple_cms_attribute("content_type", "data").dump(),
                signing_certificate_v2=simple_cms_attribute("signing_certificate_v2", as_signing_certificate_v2(cert)).dump(),
                signer_id=encoded_signer_id(cert),
                certificates=encoded_certificates(certs),
            )
        return self._constant

    def _fast_path(self, *, dry_run: bool, use_pades: bool, is_pdf_sig: bool, encap_content_info: object, settings: object) -> bool:
        plain_settings = settings is None or (
            getattr(settings, "cades_signed_attrs", None) is None and getattr(settings, "adobe_revinfo_attr", None) is None
        )
        return (not dry_run and use_pades and is_pdf_sig and encap_content_info is None and plain_settings
                and self.signed_attr_prov_spec is None and self.unsigned_attr_prov_spec is None and not self.attribute_certs)

    async def async_sign(  # type: ignore[no-untyped-def, override]
        self, data_digest: bytes, digest_algorithm: str, dry_run=False, use_pades=False, timestamper=None,
        signed_attr_settings=None, is_pdf_sig=True, encap_content_info=None,
    ) -> cms.ContentInfo:
        if not self._fast_path(dry_run=dry_run, use_pades=use_pades, is_pdf_sig=is_pdf_sig,
                               encap_content_info=encap_content_info, settings=signed_attr_settings):
            return await super().async_sign(data_digest, digest_algorithm, dry_run=dry_run, use_pades=use_pades,
                                            timestamper=timestamper, signed_attr_settings=signed_attr_settings,
                                            is_pdf_sig=is_pdf_sig, encap_content_info=encap_content_info)
        md = digest_algorithm.lower()
        parts = self.constant()
        signed_attrs = cms.CMSAttributes(
            [
                cms.CMSAttribute.load(parts.content_type),
                simple_cms_attribute("message_digest", data_digest),
                cms.CMSAttribute.load(parts.signing_certificate_v2),
            ]
        )
        signature = self.sign_raw(signed_attrs.dump(), md)
        digest_obj = algos.DigestAlgorithm({"algorithm": md})
        info = {
            "version": "v1",
            "sid": cms.SignerIdentifier.load(parts.signer_id),
            "digest_algorithm": digest_obj,
            "signature_algorithm": self.get_signature_mechanism_for_digest(md),
            "signed_attrs": signed_attrs,
            "signature": signature,
        }
        if timestamper is not None:
            imprint = hashes.Hash(get_pyca_cryptography_hash(md))
            imprint.update(signature)
            token = await timestamper.async_timestamp(imprint.finalize(), md)
            info["unsigned_attrs"] = cms.CMSAttributes([simple_cms_attribute("signature_time_stamp_token", token)])
        signed_data = cms.SignedData(
            {
                "version": "v1",
                "digest_algorithms": cms.DigestAlgorithms((digest_obj,)),
                "encap_content_info": {"content_type": "data"},
                "certificates": cms.CertificateSet.load(parts.certificates),
                "signer_infos": [cms.SignerInfo(info)],
            }
        )
        return cms.ContentInfo({"content_type": "signed_data", "content": signed_data})

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
