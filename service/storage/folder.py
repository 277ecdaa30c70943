"""The file store: issued PDFs and rendered DOCX files under the data folder, written atomically."""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from pathlib import Path

from ..errors import NotFound


class FileStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def put(self, document_id: str, suffix: str, content: bytes, when: dt.datetime) -> str:
        """Writes ``content`` and returns its path relative to the store (``2026/11/<id>.pdf``)."""
        relative = Path(f"{when:%Y}") / f"{when:%m}" / f"{document_id}.{suffix}"
        target = self.root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(content)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return relative.as_posix()

    def get(self, relative: str | None) -> bytes:
        """Raises NotFound when the file is missing."""
        if not relative:
            raise NotFound("文件不存在", "the file does not exist", code="file_not_found")
        path = (self.root / relative).resolve()
        if self.root.resolve() not in path.parents:
            raise NotFound("文件不存在", "the file does not exist", code="file_not_found")
        try:
            return path.read_bytes()
        except FileNotFoundError:
            raise NotFound("文件不存在", "the file does not exist", code="file_not_found") from None

    def writable(self) -> bool:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=self.root):
                pass
            return True
        except OSError:
            return False
