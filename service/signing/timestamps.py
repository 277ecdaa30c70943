"""RFC 3161 timestamps: the development PKI's local TSA by default, any TSA URL by configuration.

A timestamp that cannot be had fails the signature, and with it the request: no silent fallback to
the local clock.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from asn1crypto import cms, core
from cryptography.hazmat.primitives import hashes
from pyhanko.sign import general
from pyhanko.sign.general import simple_cms_attribute
from pyhanko.sign.timestamps import TimeStamper
from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper
from pyhanko.sign.timestamps.requests_client import HTTPTimeStamper
from pyhanko_certvalidator.util import get_pyca_cryptography_hash

from .keys import CachedKeySigner


class LocalTimeStamper(DummyTimeStamper):
    """A TSA in-process, signing with the development PKI's TSA certificate (key parsed once).

    ``clock`` supplies the time, so tests can freeze it.
    """

    def __init__(self, tsa: CachedKeySigner, clock: Callable[[], dt.datetime]) -> None:
        super().__init__(tsa_cert=tsa.signing_cert, tsa_key=tsa.signing_key, certs_to_embed=tsa.cert_registry)
        self._tsa = tsa
        self._clock = clock

    def request_tsa_response(self, req):  # type: ignore[no-untyped-def]
        self.fixed_dt = self._clock()
        return super().request_tsa_response(req)

    def _sign_tst_info(self, tst_info_data: bytes, md_algorithm: str, dt_: dt.datetime) -> tuple[bytes, cms.CMSAttributes]:
        digest = hashes.Hash(get_pyca_cryptography_hash(md_algorithm))
        digest.update(tst_info_data)
        signed_attrs = cms.CMSAttributes(
            [
                simple_cms_attribute("content_type", "tst_info"),
                simple_cms_attribute("signing_time", cms.Time({"utc_time": core.UTCTime(dt_)})),
                simple_cms_attribute("signing_certificate", general.as_signing_certificate(self.tsa_cert)),
                simple_cms_attribute("message_digest", digest.finalize()),
            ]
        )
        return self._tsa.sign_raw(signed_attrs.dump(), md_algorithm.lower()), signed_attrs


def http_timestamper(url: str, timeout: float) -> TimeStamper:
    return HTTPTimeStamper(url, timeout=timeout)
