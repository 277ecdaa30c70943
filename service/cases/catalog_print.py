"""The 实行告知承诺制的证明事项目录 (the ``item-catalog`` form, 002 附件3) printed from the agency's catalogue.

The form lists proof items (证明事项) only: its columns (证明用途, 索要单位, 开具单位) have nothing to say of a
permit item, so permit items are left out. The document records the version of every item it printed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..auth.principal import Principal, authorize_issue
from ..errors import Conflict
from ..issuing import IssueResult, Provenance, issue
from ..registry.catalog import CatalogItemRecord
from ..runtime import Services
from .catalogue import basis_text

FORM = "item-catalog"
MAX_ITEMS = 200  # the form's own limit


def form_data(records: Sequence[CatalogItemRecord]) -> dict[str, Any]:
    """The form's data: one row per item, in the order given."""
    return {"items": [{
        "name": record.data["name"],
        "purpose": record.data["purpose"],
        "basis": basis_text(record.data),
        "requester": record.data["requester"],
        "issuer": record.data["issuer"],
        "supervision": record.data["supervision"],
        "remarks": record.data.get("remarks", ""),
        "area": record.data["area"],
    } for record in records]}


def printable(services: Services, agency_id: str) -> list[CatalogItemRecord]:
    """The agency's current proof items, by name."""
    return [record for record in services.catalog.list(frozenset({agency_id})) if record.kind == "proof"]


def print_catalogue(services: Services, principal: Principal, agency_id: str | None, *, request_id: str | None = None) -> IssueResult:
    """Issues the ``item-catalog`` form from the agency's current proof items, as anyone who may issue that form does.

    Raises NotFound (agency), Forbidden, Conflict (nothing to print, or more than the form holds), and what
    ``issuing.issue`` raises."""
    agency = services.agencies.get(agency_id or principal.default_agency())
    authorize_issue(principal, agency.id, FORM)
    records = printable(services, agency.id)
    if not records:
        raise Conflict("本机关的事项目录中没有证明事项，无可打印", "the agency's catalogue has no proof items to print", code="catalog_empty")
    if len(records) > MAX_ITEMS:
        raise Conflict(f"证明事项超过 {MAX_ITEMS} 项，目录表无法容纳", f"more than {MAX_ITEMS} proof items: the form cannot hold them",
                       code="catalog_too_long")
    provenance = Provenance(catalog_items=tuple({"id": r.id, "version": r.version} for r in records))
    return issue(services, FORM, form_data(records), principal=principal, agency_id=agency.id, request_id=request_id,
                 provenance=provenance)
