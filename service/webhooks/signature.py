"""The signature of a webhook delivery, for the sender and for receivers (copy this file: it needs only the
standard library).

Every delivery carries one header::

    X-Chengnuo-Signature: t=1764988800,v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd

``t`` is the Unix time of the attempt; ``v1`` is the hex HMAC-SHA256, keyed with the webhook's secret (its
UTF-8 bytes, ``whsec_…`` included), of ``"<t>.<body>"``: the decimal ``t``, a full stop, then the raw request
body exactly as received. A receiver recomputes it over the bytes it read (before parsing any JSON), compares
in constant time, and refuses a ``t`` more than five minutes from its own clock, so that a captured delivery
cannot be replayed later. A header may carry several ``v1`` values (while a secret is being replaced); one
match is enough. Retries are signed afresh, with their own ``t``; the event ``id`` in the body stays the same,
so a receiver that has seen an id already answers 2xx and ignores it.
"""

from __future__ import annotations

import hashlib
import hmac
import time

HEADER = "X-Chengnuo-Signature"
TOLERANCE = 300  # seconds


def compute(secret: str, timestamp: int, body: bytes) -> str:
    """The hex HMAC-SHA256 of ``"<timestamp>.<body>"`` keyed with ``secret``."""
    return hmac.new(secret.encode("utf-8"), str(timestamp).encode("ascii") + b"." + body, hashlib.sha256).hexdigest()


def signature_header(secret: str, timestamp: int, body: bytes) -> str:
    """The value of the X-Chengnuo-Signature header for ``body`` sent at ``timestamp`` (Unix seconds)."""
    return f"t={timestamp},v1={compute(secret, timestamp, body)}"


def verify_signature(secret: str, header: str | None, body: bytes, now: float | None = None, tolerance: int = TOLERANCE) -> bool:
    """Whether ``header`` (the X-Chengnuo-Signature value) signs ``body`` (the raw bytes received) with ``secret``,
    at a time no more than ``tolerance`` seconds from ``now`` (default: this machine's clock). Never raises:
    a missing, malformed, stale or wrong header is simply False."""
    if not header or not isinstance(body, bytes):
        return False
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isascii() and value.isdigit() and len(value) <= 12:
            timestamp = int(value)
        elif key == "v1" and value:
            candidates.append(value)
    if timestamp is None or not candidates:
        return False
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        return False
    expected = compute(secret, timestamp, body)
    return any(hmac.compare_digest(expected.encode("ascii"), candidate.encode("utf-8", "replace")) for candidate in candidates)
