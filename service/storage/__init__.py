"""File stores for issued PDFs and rendered DOCX files, behind one interface (base.py): a folder under the
data directory (folder.py, the default), the registry's own database (database.py), or S3-compatible object
storage (s3.py). ``make_store`` picks one from the settings."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from ..config import Settings
from .base import FileStore, verified
from .folder import FolderStore

__all__ = ["FileStore", "FolderStore", "make_store", "verified"]


def make_store(settings: Settings, engine: Engine) -> FileStore:
    """The store ``CHENGNUO_STORAGE`` names; ``engine`` is the registry's, used by the database store."""
    if settings.storage == "database":
        from .database import DatabaseStore

        return DatabaseStore(engine)
    if settings.storage == "s3":
        from .s3 import S3Store

        return S3Store(bucket=settings.s3_bucket, endpoint=settings.s3_endpoint or None, region=settings.s3_region,
                       timeout=settings.storage_timeout)
    return FolderStore(settings.files_dir)
