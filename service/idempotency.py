"""An Idempotency-Key as the service keeps it: checked, and scoped to the caller who sent it (two callers may
use the same key without meeting). Issuing, opening a case and a case's steps all read it here."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from .auth.principal import Principal
from .errors import InvalidRequest


def scoped_key(principal: Principal, key: str) -> str:
    """``key`` scoped to ``principal``; raises InvalidRequest unless it is 1–200 printable characters."""
    if not 1 <= len(key) <= 200 or not key.isprintable():
        raise InvalidRequest("Idempotency-Key 须为 1–200 个可打印字符", "Idempotency-Key must be 1–200 printable characters")
    return f"{principal.kind}:{principal.id}\x1f{key}"


def hashed_key(principal: Principal, key: str) -> str:
    """The scoped key's SHA-256, for a column of fixed width."""
    return hashlib.sha256(scoped_key(principal, key).encode()).hexdigest()


def request_hash(request: Any) -> str:
    """The SHA-256 of a request's canonical JSON (sorted keys, no spaces, UTF-8): the same key with another body is
    told apart from a repeat by it."""
    canonical = json.dumps(request, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
