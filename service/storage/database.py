"""The database store: files as rows of ``stored_files`` in the registry's own database (PostgreSQL across
nodes), so one backup of the database holds the documents and their bytes, and a document is never
recorded as issued before its bytes are committed."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, insert, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import InterfaceError, OperationalError

from ..registry.tables import stored_files
from .base import missing, relative_path, unreachable


class DatabaseStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def put(self, document_id: str, suffix: str, content: bytes, when: dt.datetime) -> str:
        """Stores ``content`` (replacing a file at the same path) and returns its path. Raises StorageUnavailable."""
        relative = relative_path(document_id, suffix, when)
        try:
            with self.engine.begin() as conn:
                conn.execute(delete(stored_files).where(stored_files.c.path == relative))
                conn.execute(insert(stored_files).values(path=relative, content=content, size=len(content), created_at=when))
        except (OperationalError, InterfaceError) as exc:
            raise unreachable() from exc
        return relative

    def get(self, relative: str | None) -> bytes:
        """Raises NotFound when there is no such file, StorageUnavailable when the database cannot be read."""
        if not relative:
            raise missing()
        try:
            with self.engine.connect() as conn:
                content = conn.execute(select(stored_files.c.content).where(stored_files.c.path == relative)).scalar()
        except (OperationalError, InterfaceError) as exc:
            raise unreachable() from exc
        if content is None:
            raise missing()
        return bytes(content)

    def healthy(self) -> bool:
        try:
            with self.engine.connect() as conn:
                conn.execute(select(stored_files.c.path).limit(1)).all()
            return True
        except (OperationalError, InterfaceError):
            return False
