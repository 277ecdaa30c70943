"""Can the service sign right now? Every agency's key loads, and the TSA answers with a timestamp."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from pyhanko.sign.timestamps import TimeStamper

from ..agencies import Agency
from ..errors import ChengnuoError
from .keys import KeyStore
from .sync import run_sync


class SigningHealth:
    """Probes keys and the TSA; remembers the answer for ``ttl`` seconds so /healthz stays cheap."""

    def __init__(self, keys: KeyStore, timestamper: Callable[[], TimeStamper], tsa_label: str, ttl: float = 30.0) -> None:
        self.keys = keys
        self.timestamper = timestamper
        self.tsa_label = tsa_label
        self.ttl = ttl
        self._cached: tuple[float, dict[str, Any]] | None = None
        self._lock = threading.Lock()

    def check(self, agencies: Iterable[Agency]) -> dict[str, Any]:
        with self._lock:
            if self._cached and time.monotonic() - self._cached[0] < self.ttl:
                return self._cached[1]
        keys: dict[str, Any] = {}
        for agency in agencies:
            try:
                self.keys.signer(agency)
                keys[agency.id] = {"ok": True}
            except ChengnuoError as exc:
                keys[agency.id] = {"ok": False, "error": exc.message}
        try:
            digest = hashlib.sha256(b"chengnuo health probe").digest()
            run_sync(lambda: self.timestamper().async_timestamp(digest, "sha256"))
            tsa: dict[str, Any] = {"ok": True, "tsa": self.tsa_label}
        except ChengnuoError as exc:
            tsa = {"ok": False, "tsa": self.tsa_label, "error": exc.message}
        except Exception as exc:  # noqa: BLE001 - any TSA failure means "not usable", said without internals
            tsa = {"ok": False, "tsa": self.tsa_label, "error": f"时间戳服务不可用 / the TSA is not usable ({type(exc).__name__})"}
        result = {"ok": all(k["ok"] for k in keys.values()) and tsa["ok"], "keys": keys, "timestamp": tsa}
        with self._lock:
            self._cached = (time.monotonic(), result)
        return result
