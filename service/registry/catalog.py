"""Catalogue queries: items and their versions. An edit adds a version and moves the item's pointer to it, in one
transaction and only if nobody else edited it meanwhile."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from ..errors import Conflict, NotFound
from .tables import catalog_item_versions, catalog_items


@dataclass(frozen=True)
class CatalogItemRecord:
    id: str
    agency: str
    kind: str
    name: str
    version: int
    data: Mapping[str, Any]
    created_at: dt.datetime
    updated_at: dt.datetime
    retired_at: dt.datetime | None
    updated_by: str


def _not_found(item_id: str) -> NotFound:
    return NotFound(f"事项 {item_id} 不存在", f"catalogue item {item_id} does not exist", code="item_not_found")


def _duplicate(name: str) -> Conflict:
    return Conflict(f"本机关的目录中已有同名事项：{name}", f"the agency's catalogue already has an item named {name}",
                    code="item_exists")


class CatalogStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def _select(self):  # type: ignore[no-untyped-def]
        v = catalog_item_versions
        return (select(catalog_items, v.c.data, v.c.created_by.label("updated_by"))
                .join(v, (v.c.item_id == catalog_items.c.id) & (v.c.version == catalog_items.c.version)))

    @staticmethod
    def _record(row: Any) -> CatalogItemRecord:
        m = row._mapping
        return CatalogItemRecord(**{name: m[name] for name in CatalogItemRecord.__dataclass_fields__})

    def add(self, agency: str, data: Mapping[str, Any], actor: str, now: dt.datetime) -> CatalogItemRecord:
        """Raises Conflict when the agency already has an item of that name."""
        item_id = str(uuid.uuid4())
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(catalog_items).values(id=item_id, agency=agency, kind=data["kind"], name=data["name"],
                                                          version=1, created_at=now, updated_at=now))
                conn.execute(insert(catalog_item_versions).values(item_id=item_id, version=1, data=dict(data),
                                                                  created_by=actor, created_at=now))
        except IntegrityError:
            raise _duplicate(data["name"]) from None
        return self.get(item_id)

    def edit(self, item_id: str, data: Mapping[str, Any], actor: str, now: dt.datetime, *, expected_version: int) -> CatalogItemRecord:
        """A new version. Raises NotFound, and Conflict when the item changed since ``expected_version`` or
        the new name is another item's."""
        try:
            with self.engine.begin() as conn:
                new = expected_version + 1
                changed = conn.execute(update(catalog_items)
                                       .where(catalog_items.c.id == item_id, catalog_items.c.version == expected_version)
                                       .values(version=new, kind=data["kind"], name=data["name"], updated_at=now)).rowcount
                if not changed:
                    current = conn.execute(select(catalog_items.c.version).where(catalog_items.c.id == item_id)).scalar()
                    if current is None:
                        raise _not_found(item_id)
                    raise Conflict(f"事项已被他人修改（当前为第 {current} 版），请刷新后重试",
                                   f"the item was changed meanwhile (now version {current}); reload and retry", code="item_changed")
                conn.execute(insert(catalog_item_versions).values(item_id=item_id, version=new, data=dict(data),
                                                                  created_by=actor, created_at=now))
        except IntegrityError:
            raise _duplicate(data["name"]) from None
        return self.get(item_id)

    def retire(self, item_id: str, now: dt.datetime) -> CatalogItemRecord:
        with self.engine.begin() as conn:
            if not conn.execute(update(catalog_items).where(catalog_items.c.id == item_id).values(retired_at=now)).rowcount:
                raise _not_found(item_id)
        return self.get(item_id)

    def get(self, item_id: str) -> CatalogItemRecord:
        with self.engine.connect() as conn:
            row = conn.execute(self._select().where(catalog_items.c.id == item_id)).first()
        if row is None:
            raise _not_found(item_id)
        return self._record(row)

    def version(self, item_id: str, version: int) -> CatalogItemRecord:
        """The item as it was at ``version``; raises NotFound."""
        v = catalog_item_versions
        with self.engine.connect() as conn:
            row = conn.execute(
                select(catalog_items.c.id, catalog_items.c.agency, catalog_items.c.created_at, catalog_items.c.retired_at,
                       v.c.version, v.c.data, v.c.created_by.label("updated_by"), v.c.created_at.label("updated_at"))
                .join(v, v.c.item_id == catalog_items.c.id).where(catalog_items.c.id == item_id, v.c.version == version)).first()
        if row is None:
            raise NotFound(f"事项 {item_id} 没有第 {version} 版", f"catalogue item {item_id} has no version {version}",
                           code="item_not_found")
        m = row._mapping
        return CatalogItemRecord(id=m["id"], agency=m["agency"], kind=m["data"]["kind"], name=m["data"]["name"], version=m["version"],
                                 data=m["data"], created_at=m["created_at"], updated_at=m["updated_at"], retired_at=m["retired_at"],
                                 updated_by=m["updated_by"])

    def history(self, item_id: str) -> list[dict[str, Any]]:
        v = catalog_item_versions
        with self.engine.connect() as conn:
            rows = conn.execute(select(v.c.version, v.c.created_by, v.c.created_at).where(v.c.item_id == item_id)
                                .order_by(v.c.version.desc())).all()
        return [dict(row._mapping) for row in rows]

    def list(self, agencies: frozenset[str] | None, *, include_retired: bool = False) -> list[CatalogItemRecord]:
        query = self._select().order_by(catalog_items.c.agency, catalog_items.c.name)
        if agencies is not None:
            query = query.where(catalog_items.c.agency.in_(sorted(agencies)))
        if not include_retired:
            query = query.where(catalog_items.c.retired_at.is_(None))
        with self.engine.connect() as conn:
            return [self._record(row) for row in conn.execute(query)]

    def by_name(self, agency: str, name: str) -> CatalogItemRecord | None:
        with self.engine.connect() as conn:
            row = conn.execute(self._select().where(catalog_items.c.agency == agency, catalog_items.c.name == name)).first()
        return self._record(row) if row else None
