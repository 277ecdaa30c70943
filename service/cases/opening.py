"""Opening a case (办件): its agency, items, applicant, channel and kind of commitment, checked against the
agency's catalogue; safe to retry with an Idempotency-Key."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..auth.principal import Principal
from ..errors import (
    Conflict,
    InvalidData,
    NotFound,
    bilingual,
)
from ..idempotency import hashed_key
from ..registry.cases import CaseRecord, NewDeadline
from ..registry.catalog import CatalogItemRecord
from ..runtime import Services
from ..webhooks import case_event
from . import deadlines
from .applicants import identity_key, masked
from .vocabulary import (
    CHANNELS,
    COMMITMENT_TYPES,
    REMOTE_CHANNELS,
)

log = logging.getLogger(__name__)
from .steps import authorize_handle, readable_case, record_step, step_day

# --- receipt ----------------------------------------------------------------------------------------


def _items_for(services: Services, principal: Principal, agency: str, ids: list[str], commitment_type: str) -> list[CatalogItemRecord]:
    items, errors = [], {}
    for n, item_id in enumerate(ids):
        try:
            record = services.catalog.get(item_id)
        except NotFound:
            record = None
        if record is None or record.agency != agency:
            errors[f"items.{n}"] = [bilingual("本机关的事项目录中没有这个事项", "no such item in the agency's catalogue")]
        elif record.retired_at is not None:
            errors[f"items.{n}"] = [bilingual(f"事项“{record.name}”已停用", f"the item “{record.name}” is retired")]
        elif commitment_type in ("proof", "permit") and record.kind != commitment_type:
            errors[f"items.{n}"] = [bilingual(f"“{COMMITMENT_TYPES[commitment_type]}”的办件不能办理此类事项",
                                              f"a {commitment_type} case cannot take a {record.kind} item")]
        else:
            items.append(record)
    if len({item.id for item in items}) != len(items):
        errors["items"] = [bilingual("事项重复", "an item is listed twice")]
    if errors:
        raise InvalidData(errors)
    return items


@dataclass(frozen=True)
class Opened:
    case: CaseRecord
    replayed: bool = False  # an earlier request with the same Idempotency-Key made it


def _request_hash(data: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()


def open_case(services: Services, principal: Principal, data: Mapping[str, Any], *, idempotency_key: str | None = None) -> Opened:
    """A case for one application, ``received``, safe to retry: the same ``idempotency_key`` (scoped to the caller) with
    the same data gives the case the first request made (``replayed``); with other data, Conflict. ``data`` as
    ``inputs.CaseCreateSchema`` loads it.

    Raises NotFound (agency), Forbidden, InvalidData (items not in the agency's catalogue, a proxy an item does
    not allow, a date in the future), InvalidRequest (a bad key), Conflict (a key reused with other data)."""
    idempotency = None
    if idempotency_key is not None:
        idempotency = (hashed_key(principal, idempotency_key), _request_hash(data))
        earlier = services.cases.by_idempotency_key(idempotency[0])
        if earlier is not None and earlier.created_at < services.now() - dt.timedelta(hours=services.settings.idempotency_ttl_hours):
            services.cases.forget_key(earlier.id)  # expired: the key is free again
            earlier = None
        if earlier is not None:
            return _replay(services, principal, earlier, idempotency[1])
    case, created = _create(services, principal, data, idempotency)
    return Opened(case) if created else _replay(services, principal, case, idempotency[1] if idempotency else "")


def _replay(services: Services, principal: Principal, earlier: CaseRecord, fingerprint: str) -> Opened:
    if earlier.request_hash != fingerprint:
        raise Conflict("该 Idempotency-Key 已用于内容不同的请求", "this Idempotency-Key was already used with a different request body",
                       code="idempotency_key_reused")
    return Opened(readable_case(services, principal, earlier.id), replayed=True)


def create_case(services: Services, principal: Principal, data: Mapping[str, Any]) -> CaseRecord:
    """``open_case`` without an idempotency key."""
    return open_case(services, principal, data).case


def _create(services: Services, principal: Principal, data: Mapping[str, Any],
            idempotency: tuple[str, str] | None) -> tuple[CaseRecord, bool]:
    agency = services.agencies.get(data.get("agency") or principal.default_agency())
    authorize_handle(principal, agency.id)
    received = step_day(data["received_on"], services, "received_on")
    items = _items_for(services, principal, agency.id, list(data["items"]), data["commitment_type"])
    applicant = dict(data["applicant"])
    if applicant.get("proxy"):
        refusing = [item.name for item in items if not item.data["proxy_allowed"]]
        if refusing:
            raise InvalidData({"applicant.proxy": [bilingual(f"事项“{'、'.join(refusing)}”不可代为承诺",
                                                             f"these items may not be committed to by proxy: {', '.join(refusing)}")]})
    first: list[NewDeadline] = []
    if data["channel"] in REMOTE_CHANNELS:
        first.append(deadlines.working("letter", received, deadlines.LETTER_DAYS))
    facts: dict[str, Any] = {}
    if data.get("tolerance"):
        tolerance = data["tolerance"]
        facts["tolerance"] = {"missing_materials": list(tolerance["missing_materials"]), "supply_by": tolerance["supply_by"].isoformat()}
        first.append(deadlines.on_date("materials", received, tolerance["supply_by"]))
    if data.get("note"):
        facts["note"] = data["note"]
    case, created = services.cases.create(
        agency=agency.id, prefix=agency.case_prefix, actor=principal.actor, now=services.now(), deadlines=first,
        idempotency_key=idempotency[0] if idempotency else None, request_hash=idempotency[1] if idempotency else None,
        values={
            "state": "received", "procedure": "commitment", "commitment_type": data["commitment_type"], "channel": data["channel"],
            "received_on": received.isoformat(), "applicant": applicant, "applicant_name": applicant["name"],
            "applicant_key": identity_key(services.persons.id_hash, applicant), "facts": facts,
            "items": [{"id": item.id, "version": item.version, "name": item.name} for item in items],
        },
    )
    if not created:
        return case, False
    record_step(services, principal.actor, case, "created", {"applicant": masked(applicant)["name"], "channel": CHANNELS[case.channel],
                                                   "commitment_type": case.commitment_type, "items": case.items}, before="")
    case_event(services, "case.created", case, step="created")
    return case, True


