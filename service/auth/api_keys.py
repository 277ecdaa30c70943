"""API keys of calling systems: ``cnk_<id>_<secret>``, shown once; only a SHA-256 of it is stored.

The secret has 256 bits of entropy, so a fast hash is enough (unlike a password): nobody can search
that space. The id is public (listings, audit entries); the whole key never reaches a log.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Engine, insert, select, update

from ..errors import InvalidData, NotFound, Unauthorized
from ..registry.tables import api_keys
from .principal import Principal

_KEY = re.compile(r"^cnk_([0-9a-f]{12})_([A-Za-z0-9_-]{20,100})$")


@dataclass(frozen=True)
class ApiKey:
    id: str
    name: str
    agencies: tuple[str, ...]
    forms: tuple[str, ...]  # ("*",) for every form
    created_at: dt.datetime
    revoked_at: dt.datetime | None
    last_used_at: dt.datetime | None

    def principal(self) -> Principal:
        forms = None if "*" in self.forms else frozenset(self.forms)
        return Principal("key", self.id, f"{self.id}({self.name})", "system", frozenset(self.agencies), forms)


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _row(row) -> ApiKey:  # type: ignore[no-untyped-def]
    m = row._mapping
    return ApiKey(m["id"], m["name"], tuple(m["agencies"]), tuple(m["forms"]), m["created_at"], m["revoked_at"], m["last_used_at"])


class ApiKeys:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def create(self, *, name: str, agencies: Iterable[str], forms: Iterable[str], now: dt.datetime) -> tuple[ApiKey, str]:
        """The new key's record and the key itself (to show once). Raises InvalidData."""
        agencies, forms = sorted(set(agencies)), sorted(set(forms)) or ["*"]
        if not agencies:
            raise InvalidData({"agencies": ["至少指定一个行政机关 / name at least one agency"]})
        if not name.strip() or len(name) > 200:
            raise InvalidData({"name": ["名称须为 1–200 个字符 / the name must have 1–200 characters"]})
        key_id = secrets.token_hex(6)
        key = f"cnk_{key_id}_{secrets.token_urlsafe(32)}"
        with self.engine.begin() as conn:
            conn.execute(insert(api_keys).values(id=key_id, name=name.strip(), secret_hash=_digest(key), agencies=agencies,
                                                 forms=forms, created_at=now))
        return self.get(key_id), key

    def authenticate(self, key: str, now: dt.datetime) -> Principal:
        """Raises Unauthorized (never saying whether the id exists)."""
        match = _KEY.match(key)
        row = None
        if match:
            with self.engine.connect() as conn:
                row = conn.execute(select(api_keys).where(api_keys.c.id == match.group(1))).first()
        if row is None or not hmac.compare_digest(row.secret_hash, _digest(key)) or row.revoked_at is not None:
            raise Unauthorized("API 密钥无效或已吊销", "the API key is invalid or revoked", code="invalid_api_key")
        if row.last_used_at is None or now - row.last_used_at > dt.timedelta(minutes=1):
            with self.engine.begin() as conn:
                conn.execute(update(api_keys).where(api_keys.c.id == row.id).values(last_used_at=now))
        return _row(row).principal()

    def revoke(self, key_id: str, now: dt.datetime) -> ApiKey:
        """Raises NotFound."""
        with self.engine.begin() as conn:
            done = conn.execute(update(api_keys).where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None)).values(revoked_at=now))
        if done.rowcount == 0:
            self.get(key_id)  # raises NotFound for an unknown id; an already revoked key stays revoked
        return self.get(key_id)

    def get(self, key_id: str) -> ApiKey:
        with self.engine.connect() as conn:
            row = conn.execute(select(api_keys).where(api_keys.c.id == key_id)).first()
        if row is None:
            raise NotFound(f"API 密钥 {key_id} 不存在", f"there is no API key {key_id}", code="key_not_found")
        return _row(row)

    def list(self) -> list[ApiKey]:
        with self.engine.connect() as conn:
            return [_row(r) for r in conn.execute(select(api_keys).order_by(api_keys.c.created_at))]
