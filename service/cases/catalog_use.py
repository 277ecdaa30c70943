"""The item catalogue's use cases, for the API, the pages and the command line alike.

Anyone acting for an agency reads its catalogue; supervisors (their own agency), administrators and the
operator manage it. Every change is audited (``catalog:{id}``) with the version it made.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from marshmallow import ValidationError

from ..auth.principal import Principal
from ..auth.principal import authorize_manage as manage
from ..errors import InvalidData, NotFound
from ..forms.fields import flatten_errors
from ..registry.catalog import CatalogItemRecord
from ..runtime import Services
from .catalogue import CatalogItemSchema


def load_item(raw: Any) -> dict[str, Any]:
    """An item's data, validated; raises InvalidData with every bad field by its path."""
    if not isinstance(raw, Mapping):
        raise InvalidData({"": ["应为 JSON 对象 / must be a JSON object"]})
    try:
        return CatalogItemSchema().load(raw)
    except ValidationError as exc:
        raise InvalidData(flatten_errors(exc.messages)) from None


def dump_item(data: Mapping[str, Any]) -> dict[str, Any]:
    return CatalogItemSchema().dump(data)


def _hidden(item_id: str) -> NotFound:
    return NotFound(f"事项 {item_id} 不存在", f"catalogue item {item_id} does not exist", code="item_not_found")


def authorize_manage(principal: Principal, agency_id: str) -> None:
    """Raises Forbidden."""
    manage(principal, agency_id, what=("事项目录", "the item catalogue"), key_may=("读取", "reads"), key_code="catalog_read_only")


def _readable(principal: Principal, record: CatalogItemRecord) -> CatalogItemRecord:
    if principal.role == "public" or not principal.acts_for(record.agency):
        raise _hidden(record.id)
    return record


def get_item(services: Services, principal: Principal, item_id: str, version: int | None = None) -> CatalogItemRecord:
    """Raises NotFound (also for another agency's item)."""
    record = services.catalog.get(item_id) if version is None else services.catalog.version(item_id, version)
    return _readable(principal, record)


def list_items(services: Services, principal: Principal, agency_id: str | None = None, *,
               include_retired: bool = False) -> list[CatalogItemRecord]:
    if principal.role == "public":
        return []
    agencies = principal.agencies
    if agency_id is not None:
        if not principal.acts_for(agency_id):
            return []
        agencies = frozenset({agency_id})
    return services.catalog.list(agencies, include_retired=include_retired)


def add_item(services: Services, principal: Principal, agency_id: str | None, raw: Any) -> CatalogItemRecord:
    """Raises NotFound (agency), Forbidden, InvalidData, Conflict (a name the agency already has)."""
    agency = services.agencies.get(agency_id or principal.default_agency())
    authorize_manage(principal, agency.id)
    data = dump_item(load_item(raw))
    record = services.catalog.add(agency.id, data, principal.actor, services.now())
    services.audit.record(actor=principal.actor, action="catalog_add", object=f"catalog:{record.id}", outcome="success",
                          detail={"agency": agency.id, "name": record.name, "version": record.version})
    return record


def edit_item(services: Services, principal: Principal, item_id: str, raw: Any, *,
              expected_version: int | None = None) -> CatalogItemRecord:
    """A new version of the item. Raises NotFound, Forbidden, InvalidData, Conflict (changed meanwhile)."""
    current = get_item(services, principal, item_id)
    authorize_manage(principal, current.agency)
    data = dump_item(load_item(raw))
    record = services.catalog.edit(item_id, data, principal.actor, services.now(),
                                   expected_version=current.version if expected_version is None else expected_version)
    services.audit.record(actor=principal.actor, action="catalog_edit", object=f"catalog:{record.id}", outcome="success",
                          detail={"agency": record.agency, "name": record.name, "version": record.version})
    return record


def retire_item(services: Services, principal: Principal, item_id: str) -> CatalogItemRecord:
    """The item leaves the catalogue: no new case may use it; cases and documents keep their version."""
    current = get_item(services, principal, item_id)
    authorize_manage(principal, current.agency)
    record = services.catalog.retire(item_id, services.now())
    services.audit.record(actor=principal.actor, action="catalog_retire", object=f"catalog:{record.id}", outcome="success",
                          detail={"agency": record.agency, "name": record.name, "version": record.version})
    return record
