"""Webhook secrets at rest: sealed with AES-256-GCM under a key that is not in the database.

The service must keep each secret to sign deliveries with it, so it cannot store a hash as it does for API
keys. The sealing key comes from ``CHENGNUO_WEBHOOK_KEY`` (the same on every node of a deployment that shares
one database), or else is generated once into the data folder (``webhook.key``, mode 0600), like the session
secret. A copy of the database alone (a backup, a dump) then reveals no secret. Each sealed secret is bound
to its webhook's id (GCM's associated data), so it cannot be moved to another webhook's row.
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets
import threading
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ..errors import ConfigurationError

PREFIX = "v1:"
KEY_FILE = "webhook.key"


class UnreadableSecret(Exception):
    """A sealed secret that this key cannot open (the key was replaced, or the row altered)."""


def parse_key(text: str) -> bytes:
    """A 32-byte key from its URL-safe base64 text; raises ConfigurationError."""
    try:
        key = base64.urlsafe_b64decode(text.strip().encode("ascii") + b"==")
    except (binascii.Error, ValueError, UnicodeEncodeError):
        key = b""
    if len(key) != 32:
        raise ConfigurationError("CHENGNUO_WEBHOOK_KEY 应为 32 字节密钥的 base64 编码（可用 python -c \"import secrets; "
                                 "print(secrets.token_urlsafe(32))\" 生成）",
                                 "CHENGNUO_WEBHOOK_KEY must be 32 bytes in URL-safe base64 (make one with "
                                 "python -c \"import secrets; print(secrets.token_urlsafe(32))\")")
    return key


def key_file(path: Path) -> bytes:
    """The key kept at ``path``, made first if there is none. Several processes may start at once: the key is
    written to a private temporary file and linked into place, so every one of them reads the same whole key."""
    try:
        return parse_key(path.read_text())
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(base64.urlsafe_b64encode(secrets.token_bytes(32)).decode("ascii").rstrip("="))
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass  # another process made it first: use theirs
    finally:
        temporary.unlink(missing_ok=True)
    return parse_key(path.read_text())


class SecretBox:
    """Seals and opens webhook secrets. The key is read (or made) on first use, so commands that never touch a
    webhook secret never create the key file."""

    def __init__(self, data_dir: Path, configured: str = "") -> None:
        self._path = data_dir / KEY_FILE
        self._configured = configured
        self._aead: AESGCM | None = None
        self._lock = threading.Lock()
        if configured:
            parse_key(configured)  # a bad setting stops the service at start, not at the first delivery

    def _cipher(self) -> AESGCM:
        with self._lock:
            if self._aead is None:
                self._aead = AESGCM(parse_key(self._configured) if self._configured else key_file(self._path))
            return self._aead

    def seal(self, secret: str, webhook_id: str) -> str:
        nonce = secrets.token_bytes(12)
        sealed = self._cipher().encrypt(nonce, secret.encode("utf-8"), webhook_id.encode("utf-8"))
        return PREFIX + base64.b64encode(nonce + sealed).decode("ascii")

    def open(self, sealed: str, webhook_id: str) -> str:
        """Raises UnreadableSecret."""
        if not sealed.startswith(PREFIX):
            raise UnreadableSecret("not a sealed secret")
        try:
            raw = base64.b64decode(sealed[len(PREFIX):], validate=True)
            return self._cipher().decrypt(raw[:12], raw[12:], webhook_id.encode("utf-8")).decode("utf-8")
        except (InvalidTag, binascii.Error, ValueError) as exc:
            raise UnreadableSecret(type(exc).__name__) from None
