"""What every file store does, and the integrity check on the read path of downloads.

A store keeps bytes under a relative path it chooses (``2026/11/<id>.pdf``). Its errors are ours:
NotFound for a path it does not hold, StorageUnavailable when it cannot be reached or answers only in
part. A store never returns part of a file.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from typing import Protocol

from ..errors import NotFound, StorageUnavailable, StoredFileCorrupt

log = logging.getLogger(__name__)


class FileStore(Protocol):
    def put(self, document_id: str, suffix: str, content: bytes, when: dt.datetime) -> str:
        """Stores ``content`` and returns its path relative to the store. Raises StorageUnavailable."""

    def get(self, relative: str | None) -> bytes:
        """The whole file. Raises NotFound when it is missing, StorageUnavailable when the store cannot be read."""

    def healthy(self) -> bool:
        """Whether the store can be reached (and, for a folder, written) now."""


def relative_path(document_id: str, suffix: str, when: dt.datetime) -> str:
    """Where a file issued at ``when`` is kept: the same layout in every store."""
    return f"{when:%Y}/{when:%m}/{document_id}.{suffix}"


def missing() -> NotFound:
    return NotFound("文件不存在", "the file does not exist", code="file_not_found")


def unreachable() -> StorageUnavailable:
    return StorageUnavailable("文件存储暂时无法访问，请稍后重试", "the file store cannot be reached; retry later")


def verified(content: bytes, sha256: str, relative: str | None) -> bytes:
    """``content`` if its SHA-256 is ``sha256`` (as the registry recorded it); raises StoredFileCorrupt otherwise,
    and logs the mismatch for an administrator."""
    actual = hashlib.sha256(content).hexdigest()
    if actual != sha256:
        log.error("stored file %s has SHA-256 %s, the registry recorded %s: refused", relative, actual, sha256)
        raise StoredFileCorrupt("存档文件与登记的哈希不符，已拒绝提供，请联系管理员",
                                "the stored file differs from the registered hash and is not served; tell an administrator")
    return content
