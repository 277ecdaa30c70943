"""Documents a dead process left half-issued: voided with the reason, audited, their idempotency keys released.

A number is drawn (and the document recorded ``issuing``) before the document is rendered, because it
is printed on it. If the process dies before the document is issued — ``kill -9``, a power cut, a lost
machine — the row would stay ``issuing`` for ever, its number neither issued nor voided. Each process
records itself with a heartbeat (registry/instances.py); at start and then periodically, the rows of
processes that are gone are voided, never those of a process that still runs. No webhook event follows: such a
document was never issued, so no calling system heard of it (``document.voided`` follows only ``document.issued``).
"""

from __future__ import annotations

import datetime as dt
import logging

from .registry.documents import DocumentRecord
from .runtime import Services

log = logging.getLogger(__name__)

REASON = "服务中断，未完成签发 / interrupted before issue"
ACTOR = "system:recovery"
# Rows made before processes were recorded have no owner: no request runs this long (converter start and
# conversion time out at 60 s each), so one older than this is abandoned.
UNOWNED_GRACE = dt.timedelta(minutes=15)


def void_interrupted(services: Services) -> list[DocumentRecord]:
    """Voids the documents left ``issuing`` by processes that are gone, audits each, and forgets those
    processes; returns the documents voided."""
    gone = services.instances.gone()
    now = services.now()
    voided = services.registry.void_abandoned(gone, unowned_before=now - UNOWNED_GRACE, reason=REASON, now=now)
    for record in voided:
        log.warning("voided %s (%s, number %s): left issuing by a process that is gone", record.serial, record.form, record.number)
        services.audit.record(actor=ACTOR, action="void", object=f"document:{record.id}", outcome="success",
                              detail={"serial": record.serial, "form": record.form, "agency": record.agency,
                                      "number": record.number, "was": "issuing", "owner": record.owner, "reason": REASON})
    services.instances.forget(gone)
    return voided
