"""RFC 3161 timestamps: the development PKI's local TSA by default, any TSA URL by configuration.

A timestamp that cannot be had fails the signature, and with it the request: no silent fallback to
the local clock.

The local TSA answers in-process. Most of a token never changes for one TSA certificate (its name,
its ESS signing-certificate attribute, the certificates it embeds, its signer identifier); those
parts are encoded once and reused as DER, which asn1crypto copies without re-encoding them. Building
them from parsed certificates for every token cost about 4 ms of CPU, a tenth of the service's work
per document.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from asn1crypto import algos, cms, core, tsp, x509
from cryptography.hazmat.primitives import hashes
from pyhanko.sign import general
from pyhanko.sign.general import simple_cms_attribute
from pyhanko.sign.timestamps import TimeStamper
from pyhanko.sign.timestamps.common_utils import get_nonce
from pyhanko.sign.timestamps.requests_client import HTTPTimeStamper
from pyhanko_certvalidator.util import get_pyca_cryptography_hash

from .keys import CachedKeySigner


def encoded_signer_id(cert: x509.Certificate) -> bytes:
    return cms.SignerIdentifier(
        {"issuer_and_serial_number": cms.IssuerAndSerialNumber({"issuer": cert.issuer, "serial_number": cert.serial_number})}
    ).dump()


def encoded_certificates(certs: list[x509.Certificate]) -> bytes:
    return cms.CertificateSet([cms.CertificateChoices(name="certificate", value=c) for c in certs]).dump()

POLICY = "1.3.6.1.4.1.4146.2.2"  # pyHanko's DummyTimeStamper's; a development TSA has no policy of its own


@dataclass(frozen=True)
class _Constant:
    """DER of the parts of a token that depend only on the TSA certificate and its chain."""

    tsa_name: bytes
    content_type: bytes
    signing_certificate: bytes
    signer_id: bytes
    certificates: bytes


@lru_cache(maxsize=4)
def _constant(cert_der: bytes, chain_der: tuple[bytes, ...]) -> _Constant:
    cert = x509.Certificate.load(cert_der)
    certificates = [cert] + [x509.Certificate.load(der) for der in chain_der if der != cert_der]
    return _Constant(
        tsa_name=x509.GeneralName(name="directory_name", value=cert.subject).dump(),
        content_type=simple_cms_attribute("content_type", "tst_info").dump(),
        signing_certificate=simple_cms_attribute("signing_certificate", general.as_signing_certificate(cert)).dump(),
        signer_id=encoded_signer_id(cert),
        certificates=encoded_certificates(certificates),
    )


class LocalTimeStamper(TimeStamper):
    """A TSA in-process, signing with the development PKI's TSA certificate (key parsed once).

    ``clock`` supplies the time, so tests can freeze it.
    """

    def __init__(self, tsa: CachedKeySigner, clock: Callable[[], dt.datetime]) -> None:
        super().__init__(include_nonce=True)
        self._tsa = tsa
        self._clock = clock
        cert = tsa.signing_cert
        assert cert is not None
        self._parts = _constant(cert.dump(), tuple(c.dump() for c in tsa.cert_registry))

    def request_tsa_response(self, req: tsp.TimeStampReq) -> tsp.TimeStampResp:
        parts = self._parts
        imprint = req["message_imprint"]
        md_algorithm = imprint["hash_algorithm"]["algorithm"].native
        now = self._clock()
        info = {
            "version": "v1",
            "policy": tsp.ObjectIdentifier(POLICY),
            "message_imprint": imprint,
            "serial_number": get_nonce(),
            "gen_time": now,
            "tsa": x509.GeneralName.load(parts.tsa_name),
        }
        if req["nonce"].native is not None:
            info["nonce"] = req["nonce"]
        tst_info = tsp.TSTInfo(info).dump()
        digest = hashes.Hash(get_pyca_cryptography_hash(md_algorithm))
        digest.update(tst_info)
        signed_attrs = cms.CMSAttributes(
            [
                cms.CMSAttribute.load(parts.content_type),
                simple_cms_attribute("signing_time", cms.Time({"utc_time": core.UTCTime(now)})),
                cms.CMSAttribute.load(parts.signing_certificate),
                simple_cms_attribute("message_digest", digest.finalize()),
            ]
        )
        digest_algorithm = algos.DigestAlgorithm({"algorithm": md_algorithm})
        signer_info = cms.SignerInfo(
            {
                "version": "v1",
                "sid": cms.SignerIdentifier.load(parts.signer_id),
                "digest_algorithm": digest_algorithm,
                "signature_algorithm": self._tsa.get_signature_mechanism_for_digest(md_algorithm),
                "signed_attrs": signed_attrs,
                "signature": self._tsa.sign_raw(signed_attrs.dump(), md_algorithm),
            }
        )
        signed_data = cms.SignedData(
            {
                "version": "v3",
                "digest_algorithms": cms.DigestAlgorithms((digest_algorithm,)),
                "encap_content_info": cms.EncapsulatedContentInfo(
                    {"content_type": cms.ContentType("tst_info"), "content": cms.ParsableOctetString(tst_info)}
                ),
                "certificates": cms.CertificateSet.load(parts.certificates),
                "signer_infos": [signer_info],
            }
        )
        token = cms.ContentInfo({"content_type": cms.ContentType("signed_data"), "content": signed_data})
        return tsp.TimeStampResp({"status": tsp.PKIStatusInfo({"status": tsp.PKIStatus("granted")}), "time_stamp_token": token})

    async def async_request_tsa_response(self, req: tsp.TimeStampReq) -> tsp.TimeStampResp:
        return self.request_tsa_response(req)


def http_timestamper(url: str, timeout: float) -> TimeStamper:
    return HTTPTimeStamper(url, timeout=timeout)
