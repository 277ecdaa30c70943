"""The audit log the settings call for: where its head is kept (``CHENGNUO_AUDIT_HEAD``) and how its writers
take turns (the database's kind). Nodes on several machines need both shared: the head in their bucket, turns
by PostgreSQL's advisory lock."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy import Engine

from ..config import Settings
from .chain import AuditLog
from .head import HeadFile, HeadStore
from .locks import AdvisoryLock, AuditLock, FileLock


def make_audit_log(settings: Settings, engine: Engine, clock: Callable[[], dt.datetime]) -> AuditLog:
    """``engine`` is the registry's, which holds the chain."""
    head: HeadStore
    if settings.audit_head == "s3":
        from .head_object import HeadObject

        head = HeadObject(bucket=settings.s3_bucket, endpoint=settings.s3_endpoint or None, region=settings.s3_region,
                          timeout=settings.storage_timeout)
    else:
        head = HeadFile(settings.data_dir / "audit.head")
    lock: AuditLock = AdvisoryLock(engine) if engine.dialect.name == "postgresql" else FileLock(settings.data_dir / "audit.head.lock")
    return AuditLog(engine, head, clock, lock=lock)
