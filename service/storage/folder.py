"""The folder store (the default): files under the data folder, written atomically."""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from pathlib import Path

from .base import missing, relative_path, unreachable


class FolderStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def put(self, document_id: str, suffix: str, content: bytes, when: dt.datetime) -> str:
        """Writes ``content`` and returns its path relative to the store (``2026/11/<id>.pdf``).
        Raises StorageUnavailable when the folder cannot be written."""
        relative = relative_path(document_id, suffix, when)
        target = self.root / relative
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        except OSError as exc:
            raise unreachable() from exc
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(content)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, target)
        except BaseException as exc:
            Path(temporary).unlink(missing_ok=True)
            if isinstance(exc, OSError):
                raise unreachable() from exc
            raise
        return relative

    def get(self, relative: str | None) -> bytes:
        """Raises NotFound when the file is missing, StorageUnavailable when the folder cannot be read."""
        if not relative:
            raise missing()
        path = (self.root / relative).resolve()
        if self.root.resolve() not in path.parents:
            raise missing()
        try:
            return path.read_bytes()
        except FileNotFoundError:
            raise missing() from None
        except OSError as exc:
            raise unreachable() from exc

    def healthy(self) -> bool:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=self.root):
                pass
            return True
        except OSError:
            return False

