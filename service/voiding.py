"""Voiding an issued document: it stays in the registry, every verification of it says invalid, with when and
why, and the calling systems that hear of its documents get ``document.voided``."""

from __future__ import annotations

import logging

from .auth.principal import Principal, authorize_read, authorize_void
from .errors import Conflict, InvalidData
from .registry.documents import ISSUED, DocumentRecord
from .runtime import Services
from .webhooks import document_voided

log = logging.getLogger(__name__)


def void(services: Services, principal: Principal, document_id: str, reason: object, *, force: bool = False) -> DocumentRecord:
    """Voids an issued document; the operator may also void one stuck ``issuing`` (its process hung or gone;
    if the process finishes after all, it finds the document voided and fails).

    Raises NotFound (also for another agency's document), Forbidden, InvalidData (no reason given) or
    Conflict (not an issued document). ``force``: a step of a case that the principal may take voids its own
    paper (a withdrawn commitment's letter), whatever the principal's role."""
    record = services.registry.get(document_id)
    if force:
        authorize_read(principal, document_id, record.agency, record.form)
    else:
        authorize_void(principal, document_id, record.agency, record.form)
    if not isinstance(reason, str) or not reason.strip():
        raise InvalidData({"reason": ["作废须说明原因 / a reason is required"]})
    if len(reason) > 500:
        raise InvalidData({"reason": ["不能超过 500 个字符 / may be at most 500 characters long"]})
    voidable = ("issuing", *ISSUED) if principal.role == "operator" else ISSUED
    if not services.registry.void(document_id, reason.strip(), services.now(), only=voidable):
        raise Conflict(f"该文书当前状态为 {record.status}，不能作废", f"the document is {record.status}; only issued documents can be voided",
                       code="not_voidable")
    services.audit.record(actor=principal.actor, action="void", object=f"document:{record.id}", outcome="success",
                          detail={"serial": record.serial, "form": record.form, "agency": record.agency, "number": record.number,
                                  "was": record.status, "reason": reason.strip()})
    log.info("voided %s (%s)", record.serial, record.form)
    voided = services.registry.get(document_id)
    if voided.issued_at is not None:  # one voided while still issuing was never announced (no document.issued): no event
        document_voided(services, voided)
    return voided
