"""Where the signatures' RFC 3161 timestamps come from, and whether that source proves anything.

Every timestamp is asked of a TSA over HTTP through pyHanko's client: the TSA at ``CHENGNUO_TSA_URL``,
or, in development without one, the development PKI's TSA, served by certomancer on loopback
(``devpki``, outside this package). A timestamp the service obtains from its own development PKI
proves nothing independent about the time of signing: /healthz and every verification report of such
a timestamp say so. A deployment with its own agency keys, or with ``CHENGNUO_ENV=production``,
refuses to start without a TSA URL.

A timestamp that cannot be had fails the signature, and with it the request: no fallback to the clock.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterable
from pathlib import Path

from asn1crypto import pem
from pyhanko.sign.timestamps import TimeStamper
from pyhanko.sign.timestamps.requests_client import RequestsHTTPTimeStamper

from ..agencies import Agency
from ..config import Settings
from ..errors import ConfigurationError
from .paths import PkiPaths

DEVELOPMENT_NOTE = ("开发环境的时间戳，由本服务的开发用 PKI 签发，不能独立证明签署时间 / "
                    "a development timestamp, from the service's own development PKI: it proves nothing independent about the time of signing")


class TimestampSource:
    """The TSA the service asks; for the development one, its loopback server starts on first use."""

    def __init__(self, url: str | None, timeout: float, development_url: Callable[[], str]) -> None:
        """``url``: None for the development PKI's TSA, whose address ``development_url`` gives (starting it)."""
        self.url = url
        self.timeout = timeout
        self.development_url = development_url
        self._timestamper: TimeStamper | None = None
        self._lock = threading.Lock()

    @property
    def development(self) -> bool:
        return self.url is None

    @property
    def label(self) -> str:
        return self.url or "development"

    def timestamper(self) -> TimeStamper:
        """pyHanko's HTTP client for this TSA. Raises ConfigurationError when the development PKI is
        missing (init-pki not run, or ``devpki`` absent from an installation)."""
        with self._lock:
            if self._timestamper is None:
                self._timestamper = RequestsHTTPTimeStamper(self.url or self.development_url(), timeout=self.timeout)
            return self._timestamper


def timestamp_source(settings: Settings, agencies: Iterable[Agency], development_url: Callable[[], str]) -> TimestampSource:
    """The configured TSA, or the development one (``development_url``) where that is allowed.

    Raises ConfigurationError when production (``CHENGNUO_ENV=production``) or an agency's own signing
    key would be timestamped by the development PKI.
    """
    if not settings.tsa_url:
        own = sorted(agency.id for agency in agencies if agency.own_key)
        if settings.env == "production" or own:
            why_zh = "生产环境" if settings.env == "production" else f"机关 {'、'.join(own)} 使用自己的签名密钥"
            why_en = "CHENGNUO_ENV=production" if settings.env == "production" else f"agencies {', '.join(own)} sign with their own keys"
            raise ConfigurationError(
                f"未配置可信时间戳服务 CHENGNUO_TSA_URL（{why_zh}）：开发用时间戳不能证明签署时间，服务不启动",
                f"CHENGNUO_TSA_URL is not set ({why_en}): a development timestamp proves nothing, so the service does not start",
            )
    return TimestampSource(url=settings.tsa_url or None, timeout=settings.tsa_timeout, development_url=development_url)


def development_tsa_fingerprints(certs_dir: Path) -> frozenset[str]:
    """SHA-256 of the development PKI's TSA certificates (``tsa`` and ``tsa-next``) found under ``certs_dir``."""
    fingerprints = set()
    for path in PkiPaths(certs_dir).development_tsa_certs:
        try:
            data = path.read_bytes()
        except OSError:
            continue
        if pem.detect(data):
            _, _, data = pem.unarmor(data)
        fingerprints.add(hashlib.sha256(data).hexdigest())
    return frozenset(fingerprints)
