"""What every step of a case shares: who may take it, the guard that names the state, the step's date, and the
change applied by compare-and-set, recorded in the audit chain (``case:{id}``: who, when, why) and sent as a
``case.*`` event."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
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
from ..registry.cases import CaseRecord, Change
from ..registry.documents import DocumentRecord
from ..runtime import Services
from ..webhooks import case_event
from .vocabulary import (
    STATES,
)

log = logging.getLogger(__name__)

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
    updated = services.cases.apply(case, change, services.now())
    record_step(services, actor, updated, step, detail, before=case.state)
    case_event(services, event, updated, step=step)
    log.info("case %s: %s (%s → %s)", updated.number, step, case.state, updated.state)
    return updated


