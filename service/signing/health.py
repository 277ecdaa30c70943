"""Can the service sign right now? Every agency's key loads (a token answers and holds its key, an SM2 signing server's
secret is set), each named with its algorithm; an agency's electronic seal, if it has one, is in its validity window; and the TSA answers with a timestamp — and is that timestamp worth anything: a development TSA's is said to be one."""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from asn1crypto import cms
from pyhanko.sign.general import extract_certificate_info

from ..agencies import Agency
from ..errors import ChengnuoError
from .agency_seals import AgencySeals
from .keys import KeyStore
from .sync import run_sync
from .timestamps import DEVELOPMENT_NOTE, TimestampSource


def _tsa_fingerprint(token: cms.ContentInfo) -> str:
    """SHA-256 of the certificate that signed a timestamp token. Raises pyHanko's CMSExtractionError."""
    return hashlib.sha256(extract_certificate_info(token["content"]).signer_cert.dump()).hexdigest()


class SigningHealth:
    """Probes keys and the TSA; remembers the answer for ``ttl`` seconds so /healthz stays cheap."""

    def __init__(self, keys: KeyStore, timestamps: TimestampSource, development_tsas: frozenset[str], ttl: float = 30.0, *,
                 seals: AgencySeals | None = None, clock: Callable[[], dt.datetime] | None = None) -> None:
        self.keys = keys
        self.seals = seals or AgencySeals()
        self.clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self.timestamps = timestamps
        self.development_tsas = development_tsas
        self.ttl = ttl
        self._cached: tuple[float, dict[str, Any]] | None = None
        self._lock = threading.Lock()

    def check(self, agencies: Iterable[Agency]) -> dict[str, Any]:
        with self._lock:
            if self._cached and time.monotonic() - self._cached[0] < self.ttl:
                return self._cached[1]
        keys: dict[str, Any] = {}
        seals: dict[str, Any] = {}
        now = self.clock()
        for agency in agencies:
            seal = self.seals.status(agency, now)
            if seal is not None:  # an electronic seal outside its window: the agency signs nothing
                seals[agency.id] = seal
            try:
                self.keys.check(agency)
                keys[agency.id] = {"ok": True, "algorithm": self.keys.algorithm(agency)}
            except ChengnuoError as exc:  # the configured family (rsa | sm2): the key itself could not be read
                keys[agency.id] = {"ok": False, "algorithm": agency.algorithm, "error": exc.message}
        result = {"ok": False, "keys": keys, "timestamp": self._probe_tsa(), **({"seals": seals} if seals else {})}
        result["ok"] = all(k["ok"] for k in [*keys.values(), *seals.values()]) and result["timestamp"]["ok"]
        with self._lock:
            self._cached = (time.monotonic(), result)
        return result

    def forget(self) -> None:
        """Drops the remembered answer: the next check probes again (after a key was rotated or reported compromised)."""
        with self._lock:
            self._cached = None

    def _probe_tsa(self) -> dict[str, Any]:
        tsa: dict[str, Any] = {"ok": False, "tsa": self.timestamps.label, "development": self.timestamps.development}
        digest = hashlib.sha256(b"chengnuo health probe").digest()
        try:
            token = run_sync(lambda: self.timestamps.timestamper().async_timestamp(digest, "sha256"))
            tsa["ok"] = True
            tsa["development"] = self.timestamps.development or _tsa_fingerprint(token) in self.development_tsas
        except ChengnuoError as exc:
            tsa["error"] = exc.message
        except Exception as exc:  # noqa: BLE001 - any TSA failure means "not usable", said without internals
            tsa["error"] = f"时间戳服务不可用 / the TSA is not usable ({type(exc).__name__})"
        if tsa["development"]:
            tsa["note"] = DEVELOPMENT_NOTE
        return tsa
