"""Agencies' own templates: checked uploads, and the versions published from them (see tables.py).

The latest version of an (agency, form) is the one in use; none, or one without content, means the built-in
template. Version numbers are the table's key, so two publications at once cannot both take the same number.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from ..errors import Conflict, NotFound
from .rows import FromRow
from .tables import template_uploads, template_versions


@dataclass(frozen=True)
class TemplateRef:
    """The version in use, without its bytes: what issuing records and the renderer caches by."""

    agency: str
    form: str
    version: int
    sha256: str


@dataclass(frozen=True)
class TemplateVersion(FromRow):
    agency: str
    form: str
    version: int
    sha256: str | None  # None: the built-in template
    size: int | None
    filename: str | None
    upload_id: str | None
    restores: int | None
    warnings_acknowledged: int
    created_by: str
    created_at: dt.datetime

    @property
    def builtin(self) -> bool:
        return self.sha256 is None


@dataclass(frozen=True)
class TemplateUpload(FromRow):
    id: str
    agency: str
    form: str
    filename: str
    sha256: str
    size: int
    problems: list[dict[str, Any]]  # the check's findings when it was uploaded: warnings only (errors refuse an upload)
    created_by: str
    created_at: dt.datetime
    published_version: int | None

    @property
    def warnings(self) -> list[dict[str, Any]]:
        return [p for p in self.problems if p.get("severity") == "warning"]


_VERSION_COLUMNS = [template_versions.c[name] for name in TemplateVersion.__dataclass_fields__]
_UPLOAD_COLUMNS = [template_uploads.c[name] for name in TemplateUpload.__dataclass_fields__]


class TemplateStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # --- uploads -------------------------------------------------------------------------------------------

    def add_upload(self, agency: str, form: str, filename: str, content: bytes, problems: Iterable[Mapping[str, Any]],
                   actor: str, now: dt.datetime) -> TemplateUpload:
        upload_id = str(uuid.uuid4())
        with self.engine.begin() as conn:
            conn.execute(insert(template_uploads).values(
                id=upload_id, agency=agency, form=form, filename=filename[:255], content=content,
                sha256=hashlib.sha256(content).hexdigest(), size=len(content), problems=[dict(p) for p in problems],
                created_by=actor, created_at=now))
        return self.upload(upload_id)

    def upload(self, upload_id: str) -> TemplateUpload:
        """Raises NotFound."""
        with self.engine.connect() as conn:
            row = conn.execute(select(*_UPLOAD_COLUMNS).where(template_uploads.c.id == upload_id)).first()
        if row is None:
            raise NotFound(f"模板上传 {upload_id} 不存在", f"template upload {upload_id} does not exist", code="upload_not_found")
        return TemplateUpload.from_row(row)

    def upload_content(self, upload_id: str) -> bytes:
        with self.engine.connect() as conn:
            content = conn.execute(select(template_uploads.c.content).where(template_uploads.c.id == upload_id)).scalar()
        if content is None:
            raise NotFound(f"模板上传 {upload_id} 不存在", f"template upload {upload_id} does not exist", code="upload_not_found")
        return bytes(content)

    # --- versions ------------------------------------------------------------------------------------------

    def current(self, agency: str, form: str) -> TemplateRef | None:
        """The agency's version in use, or None for the built-in template (no version, or a rollback to it)."""
        with self.engine.connect() as conn:
            row = conn.execute(select(template_versions.c.version, template_versions.c.sha256)
                               .where(template_versions.c.agency == agency, template_versions.c.form == form)
                               .order_by(template_versions.c.version.desc()).limit(1)).first()
        return TemplateRef(agency, form, row.version, row.sha256) if row is not None and row.sha256 else None

    def _latest_number(self, agency: str, form: str) -> int | None:
        with self.engine.connect() as conn:
            return conn.execute(select(func.max(template_versions.c.version)).where(
                template_versions.c.agency == agency, template_versions.c.form == form)).scalar()

    def content(self, agency: str, form: str, version: int) -> bytes | None:
        """A version's bytes (None: the built-in template); raises NotFound."""
        with self.engine.connect() as conn:
            row = conn.execute(select(template_versions.c.content).where(
                template_versions.c.agency == agency, template_versions.c.form == form, template_versions.c.version == version)).first()
        if row is None:
            raise _no_version(agency, form, version)
        return bytes(row.content) if row.content is not None else None

    def version(self, agency: str, form: str, version: int) -> TemplateVersion:
        """Raises NotFound."""
        with self.engine.connect() as conn:
            row = conn.execute(select(*_VERSION_COLUMNS).where(
                template_versions.c.agency == agency, template_versions.c.form == form, template_versions.c.version == version)).first()
        if row is None:
            raise _no_version(agency, form, version)
        return TemplateVersion.from_row(row)

    def versions(self, agency: str, form: str) -> list[TemplateVersion]:
        """Newest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(*_VERSION_COLUMNS).where(template_versions.c.agency == agency, template_versions.c.form == form)
                                .order_by(template_versions.c.version.desc())).all()
        return [TemplateVersion.from_row(row) for row in rows]

    def in_use(self, agency: str) -> dict[str, TemplateVersion]:
        """By form, the agency's latest version (which may be a return to the built-in template)."""
        latest = (select(template_versions.c.form, func.max(template_versions.c.version).label("version"))
                  .where(template_versions.c.agency == agency).group_by(template_versions.c.form).subquery())
        with self.engine.connect() as conn:
            rows = conn.execute(select(*_VERSION_COLUMNS).join(latest, (latest.c.form == template_versions.c.form)
                                                               & (latest.c.version == template_versions.c.version))
                                .where(template_versions.c.agency == agency)).all()
        return {row.form: TemplateVersion.from_row(row) for row in rows}

    def add_version(self, agency: str, form: str, content: bytes | None, *, filename: str | None, actor: str, now: dt.datetime,
                    upload_id: str | None = None, restores: int | None = None, warnings_acknowledged: int = 0) -> TemplateVersion:
        """The next version, with ``content`` (None: back to the built-in template). Raises Conflict when another
        publication took the number meanwhile."""
        number = (self._latest_number(agency, form) or 0) + 1
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(template_versions).values(
                    agency=agency, form=form, version=number, content=content,
                    sha256=hashlib.sha256(content).hexdigest() if content is not None else None,
                    size=len(content) if content is not None else None, filename=filename, upload_id=upload_id,
                    restores=restores, warnings_acknowledged=warnings_acknowledged, created_by=actor, created_at=now))
                if upload_id is not None:
                    conn.execute(update(template_uploads).where(template_uploads.c.id == upload_id).values(published_version=number))
        except IntegrityError:
            raise Conflict("另一版本刚刚发布，请刷新后重试", "another version was published meanwhile; reload and retry",
                           code="template_version_taken") from None
        return self.version(agency, form, number)


def _no_version(agency: str, form: str, version: int) -> NotFound:
    return NotFound(f"{agency} 的表单 {form} 没有第 {version} 版模板", f"{agency} has no version {version} of the template of {form}",
                    code="template_version_not_found")
