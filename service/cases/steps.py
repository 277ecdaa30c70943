"""What every step of a case shares: who may take it, the guard that names the state, the step's date, and the
change applied by compare-and-set, recorded in the audit chain (``case:{id}``: who, when, why) and sent as a
``case.*`` event."""

from __future__ import annotations

import contextvars
import dataclasses
import datetime as dt
import functools
import hashlib
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ..auth.principal import Principal
from ..errors import (
    Conflict,
    Forbidden,
    InvalidData,
    NotFound,
    bilingual,
)
from ..idempotency import hashed_key
from ..registry.cases import CaseRecord, Change
from ..registry.documents import DocumentRecord
from ..runtime import Services
from ..webhooks import case_event
from .vocabulary import STATES

log = logging.getLogger(__name__)

HANDLERS = ("system", "clerk", "supervisor", "operator")


@dataclass(frozen=True)
class StepResult:
    case: CaseRecord
    document: DocumentRecord | None = None


def _hidden(case_id: str) -> NotFound:
    return NotFound(f"办件 {case_id} 不存在", f"case {case_id} does not exist", code="case_not_found")


def authorize_handle(principal: Principal, agency_id: str) -> None:
    """Raises Forbidden: only those acting for the agency take a case's steps."""
    if principal.role not in HANDLERS:
        raise Forbidden("您的角色不能办理办件", f"the role {principal.role} cannot handle cases")
    if not principal.acts_for(agency_id):
        raise Forbidden(f"无权办理行政机关 {agency_id} 的办件", f"not allowed to handle cases of agency {agency_id}")


def readable_case(services: Services, principal: Principal, case_id: str) -> CaseRecord:
    """The case, for a principal who may see it (its agency's people and keys, administrators); NotFound otherwise."""
    try:
        case = services.cases.get(case_id)
    except NotFound:
        raise _hidden(case_id) from None
    if principal.role == "public" or not principal.acts_for(case.agency):
        raise _hidden(case_id)
    return case


def handled_case(services: Services, principal: Principal, case_id: str) -> CaseRecord:
    case = readable_case(services, principal, case_id)
    authorize_handle(principal, case.agency)
    return case


def require_state(case: CaseRecord, allowed: tuple[str, ...], zh_step: str, en_step: str) -> None:
    if case.state not in allowed:
        raise Conflict(f"办件当前状态为“{STATES[case.state]}”（{case.state}），不能{zh_step}",
                       f"the case is {case.state} ({STATES[case.state]}): it cannot {en_step} now", code="case_state")


def today_of(services: Services) -> dt.date:
    return services.now().date()


def step_day(value: dt.date | None, services: Services, field: str) -> dt.date:
    """A step's date: given, or today; never in the future."""
    today = today_of(services)
    if value is None:
        return today
    if value > today:
        raise InvalidData({field: [bilingual("日期不能晚于今天", "the date cannot be in the future")]})
    return value


def record_step(services: Services, actor: str, case: CaseRecord, step: str, detail: Mapping[str, Any],
                before: str | None = None) -> None:
    services.audit.record(actor=actor, action=f"case.{step}", object=f"case:{case.id}", outcome="success",
                          detail={"number": case.number, "agency": case.agency, "from": before or case.state, "to": case.state, **detail})


def apply_change(services: Services, actor: str, case: CaseRecord, change: Change, step: str, event: str,
                 detail: Mapping[str, Any]) -> CaseRecord:
    """Applies ``change`` by compare-and-set (Conflict if the case changed meanwhile), audits it and sends its event.
    Inside ``retry_safe``, the request's key is kept with the change, in the same transaction."""
    request = _request.get()
    if request is not None:
        key, fingerprint = request
        change = dataclasses.replace(change, facts={**change.facts, REQUEST_KEYS: {**case.facts.get(REQUEST_KEYS, {}), key: fingerprint}})
    updated = services.cases.apply(case, change, services.now())
    record_step(services, actor, updated, step, detail, before=case.state)
    case_event(services, event, updated, step=step)
    log.info("case %s: %s (%s → %s)", updated.number, step, case.state, updated.state)
    return updated


# --- retries -----------------------------------------------------------------------------------------------

REQUEST_KEYS = "request_keys"  # in a case's facts: the Idempotency-Keys (hashed with their caller) of the steps taken
_request: contextvars.ContextVar[tuple[str, str] | None] = contextvars.ContextVar("case_step_request", default=None)


def retry_safe(step: Callable[..., CaseRecord]) -> Callable[..., CaseRecord]:
    """Makes a step safe for a retrying caller: with ``idempotency_key=``, a step already taken with that key (by this
    caller) and the same data answers the case as it is now, instead of a 409 for the state it moved on to; the
    same key with other data is a Conflict. The key is stored with the step's change, in its transaction."""

    @functools.wraps(step)
    def run(services: Services, principal: Principal, case_id: str, *args: Any, idempotency_key: str | None = None) -> CaseRecord:
        if idempotency_key is None:
            return step(services, principal, case_id, *args)
        key = hashed_key(principal, idempotency_key)
        fingerprint = hashlib.sha256(json.dumps([step.__name__, *args], sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()
        case = readable_case(services, principal, case_id)
        seen = case.facts.get(REQUEST_KEYS, {}).get(key)
        if seen is not None:
            if seen != fingerprint:
                raise Conflict("该 Idempotency-Key 已用于内容不同的请求", "this Idempotency-Key was already used with a different request",
                               code="idempotency_key_reused")
            return case
        token = _request.set((key, fingerprint))
        try:
            return step(services, principal, case_id, *args)
        finally:
            _request.reset(token)

    return run
