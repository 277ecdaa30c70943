"""The validation data a signature embeds for PAdES B-LT: every certificate of the signer's chain and
of the TSA's, and the CRLs and OCSP responses that say none of them was revoked when it signed.

pyHanko collects and writes all of it (``PdfSignatureMetadata(embed_validation_info=True,
use_pades_lta=True, validation_context=...)``: the signature, then the document security store, then a
document timestamp). What this module adds is where the ``validation_context`` comes from, and its cost:

- The revocation data is fetched with pyHanko's own fetchers (pyhanko_certvalidator, ``requests``
  backend) by validating the signer's certificate and the TSA's in ``hard-fail`` mode: a CRL or OCSP
  location a certificate names that does not answer fails the fetch. There is no soft fallback: the
  caller gets ``RevocationUnavailable`` and the request fails (503), as for a timestamp.
- What was fetched is kept, per chain, until the earliest ``nextUpdate`` among it (at most
  ``max_age``), so that a signature does not cost a round trip per CRL. Each signature gets a context
  of its own, without fetching, over the kept data: pyHanko embeds exactly that data, and a context
  is never shared between threads or event loops (the fetchers' caches are not made for that).

The chain's key is the signer's certificate when that names a CRL or OCSP location of its own (an
agency's), else its issuer's (a person's one-hour event certificate: the data is the persons CA's).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from asn1crypto import crl, ocsp, x509
from pyhanko.keys import load_certs_from_pemder
from pyhanko.sign.timestamps import TimeStamper
from pyhanko.sign.timestamps.common_utils import TimestampRequestError
from pyhanko_certvalidator import CertificateValidator, ValidationContext
from pyhanko_certvalidator.errors import (
    InsufficientRevinfoError,
    PathBuildingError,
    RevokedError,
    ValidationError,
)
from pyhanko_certvalidator.fetchers.requests_fetchers import RequestsFetcherBackend
from pyhanko_certvalidator.util import get_ocsp_urls, get_relevant_crl_dps

from ..errors import (
    RevocationUnavailable,
    SigningError,
    SigningKeyUnavailable,
    TimestampUnavailable,
)
from ..gm.validator import GM_VALIDATOR
from .sync import run_sync

log = logging.getLogger(__name__)

MODE = "hard-fail"  # revocation data a certificate declares must be had; a certificate that declares none needs none


class _NoFetchingWarning(logging.Filter):
    """pyHanko warns at every signature whose context does not fetch; ours are built over fetched data on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "fetching is not allowed" not in record.getMessage()


logging.getLogger("pyhanko.sign.signers.pdf_signer").addFilter(_NoFetchingWarning())


@dataclass(frozen=True)
class RevocationData:
    """What one fetch brought back, and until when it may be used."""

    crls: tuple[crl.CertificateList, ...]
    ocsps: tuple[ocsp.OCSPResponse, ...]
    fetched_at: dt.datetime
    usable_until: dt.datetime


def declares_revocation(cert: x509.Certificate) -> bool:
    return bool(get_ocsp_urls(cert) or get_relevant_crl_dps(cert, use_deltas=False))


def _next_updates(crls: Iterable[crl.CertificateList], ocsps: Iterable[ocsp.OCSPResponse]) -> list[dt.datetime]:
    moments = [c["tbs_cert_list"]["next_update"].native for c in crls]
    for response in ocsps:
        try:
            for single in response["response_bytes"]["response"].parsed["tbs_response_data"]["responses"]:
                moments.append(single["next_update"].native)
        except (KeyError, TypeError, ValueError):
            continue
    return [m for m in moments if isinstance(m, dt.datetime)]


class RevocationSource:
    """Fetched revocation data per chain, kept while it is current; a fresh non-fetching context per signature."""

    def __init__(self, trust_root_files: Sequence[Path], timeout: float, *,
                 max_age: dt.timedelta = dt.timedelta(hours=1), prepare: Callable[[], object] = lambda: None,
                 clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)) -> None:
        """``trust_root_files``: PEM or DER, loaded on first use. ``prepare``: called before a fetch (the development PKI's
        server, which answers its CRLs and OCSP, starts there)."""
        self.trust_root_files = list(trust_root_files)
        self._roots: list[x509.Certificate] | None = None
        self.timeout = timeout
        self.max_age = max_age
        self.prepare = prepare
        self.clock = clock
        self._kept: dict[tuple[str, int], RevocationData] = {}
        self._locks: dict[tuple[str, int], threading.Lock] = {}
        self._lock = threading.Lock()
        self.fetches = 0  # how many times data was fetched (not served from what was kept)

    def _trust_roots(self) -> list[x509.Certificate]:
        """Raises SigningKeyUnavailable when a trust root file cannot be read."""
        if self._roots is None:
            try:
                self._roots = list(load_certs_from_pemder([str(p) for p in self.trust_root_files]))
            except (OSError, ValueError) as exc:
                raise SigningKeyUnavailable("受信任的根证书无法读取，未签署", "the trust roots cannot be read; nothing was signed") from exc
        return self._roots

    @staticmethod
    def chain_key(cert: x509.Certificate, chain: Sequence[x509.Certificate]) -> str:
        if declares_revocation(cert):
            return hashlib.sha256(cert.dump()).hexdigest()
        issuer = next((c for c in chain if c.subject == cert.issuer), None)
        return hashlib.sha256((issuer or cert).dump()).hexdigest()

    def context(self, cert: x509.Certificate, chain: Sequence[x509.Certificate], timestamper: TimeStamper) -> ValidationContext:
        """A context that does not fetch, holding current revocation data for ``cert`` (with ``chain``, its CA
        certificates) and for ``timestamper``'s TSA: what pyHanko embeds in the DSS.

        Raises RevocationUnavailable when the data cannot be fetched, TimestampUnavailable when the TSA does
        not answer (its certificates come from a first timestamp), SigningError when a certificate of
        either chain is revoked or does not chain to a trust root.
        """
        key = (self.chain_key(cert, chain), id(timestamper))
        with self._lock:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:  # one fetch per chain at a time; the others wait for its data
            data = self._kept.get(key)
            if data is None or self.clock() >= data.usable_until:
                data = self._fetch(cert, chain, timestamper)
                self._kept[key] = data
        return ValidationContext(trust_roots=self._trust_roots(), other_certs=list(chain), crls=data.crls, ocsps=data.ocsps,
                                 allow_fetching=False, revocation_mode=MODE, signature_validator=GM_VALIDATOR)

    def forget(self) -> None:
        """Drops what was kept: the next signature of every chain fetches again."""
        with self._lock:
            self._kept.clear()

    def _fetch(self, cert: x509.Certificate, chain: Sequence[x509.Certificate], timestamper: TimeStamper) -> RevocationData:
        self.prepare()
        backend = RequestsFetcherBackend(per_request_timeout=self.timeout)
        context = ValidationContext(trust_roots=self._trust_roots(), other_certs=list(chain), allow_fetching=True,
                                    revocation_mode=MODE, fetcher_backend=backend, signature_validator=GM_VALIDATOR)

        async def fetch() -> None:
            await CertificateValidator(cert, intermediate_certs=list(chain), validation_context=context).async_validate_path()
            async for _ in timestamper.validation_paths(context):
                pass

        try:
            run_sync(fetch)
        except RevokedError as exc:
            raise SigningError("签名证书或时间戳证书已被吊销，未签署", f"a certificate of the signer's or the TSA's chain is revoked ({exc})") from exc
        except (TimestampRequestError, OSError) as exc:
            raise TimestampUnavailable("时间戳服务不可用，未签署", "the timestamping service is unavailable; nothing was signed") from exc
        except PathBuildingError as exc:
            raise SigningError("签名证书不能追溯到受信任的根证书，未签署", "the signer's certificate does not chain to a trust root") from exc
        except InsufficientRevinfoError as exc:
            raise RevocationUnavailable(
                "证书吊销信息（CRL/OCSP）无法获取，未签署", "the certificates' revocation data (CRL/OCSP) could not be fetched; nothing was signed"
            ) from exc
        except ValidationError as exc:
            raise SigningError("签名证书或时间戳证书无效，未签署", f"a certificate of the signer's or the TSA's chain is not valid ({type(exc).__name__})") from exc
        self.fetches += 1
        now = self.clock()
        crls, ocsps = tuple(context.crls), tuple(context.ocsps)
        until = min([now + self.max_age, *(m for m in _next_updates(crls, ocsps) if m > now)])
        log.info("fetched revocation data for %s: %d CRL(s), %d OCSP response(s), kept until %s",
                 cert.subject.human_friendly, len(crls), len(ocsps), until.isoformat(timespec="seconds"))
        return RevocationData(crls, ocsps, now, until)
