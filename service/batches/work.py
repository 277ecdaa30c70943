"""What a queue message does: issue some rows of a batch, each exactly once.

A row's document is issued through the one issuing use case, as the batch's maker, with the Idempotency-Key
``batch:<batch id>:<row>``: if a worker dies after drawing the row's number, recovery voids that number and frees
the key (``recovery.py``), and the row is issued afresh on redelivery; if it dies after issuing but before the row
was settled, the redelivered message finds the document under the key and settles the row with it. Either way
one row ends with one document, and every number drawn is issued or voided with its reason.

Batch work runs at background priority in the converter pool (``converting.priority``): a window's request is
served first.
"""

from __future__ import annotations

import logging
from typing import Any

from .. import issuing
from ..auth.principal import Principal
from ..converting.priority import background
from ..errors import (
    ChengnuoError,
    Conflict,
    ConverterBusy,
    Forbidden,
    InvalidData,
    NotFound,
    PipelineError,
    StorageUnavailable,
    TimestampUnavailable,
    bilingual,
)
from ..registry.batches import BatchRecord, BatchRow
from ..runtime import Services
from .queue import RetryLater

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3  # a row whose issuing fails this often (conversion, signing) is failed with the reason
TRANSIENT = (ConverterBusy, StorageUnavailable, TimestampUnavailable)


def start_workers(services: Services, threads: int) -> None:
    """This process takes batch rows from the queue with ``threads`` threads."""
    services.batch_queue.start_worker(threads, lambda batch_id, rows: issue_rows(services, batch_id, rows))


def principal_of(stored: dict[str, Any]) -> Principal:
    return Principal(kind=stored["kind"], id=stored["id"], name=stored["name"], role=stored["role"],
                     agencies=frozenset(stored["agencies"]) if stored.get("agencies") is not None else None,
                     forms=frozenset(stored["forms"]) if stored.get("forms") is not None else None)


def maker_now(services: Services, stored: dict[str, Any]) -> Principal | None:
    """The batch's maker with their rights as they are now; None when their key is revoked or their account disabled."""
    if stored["kind"] == "key":
        try:
            key = services.api_keys.get(stored["id"])
        except NotFound:
            return None
        return None if key.revoked_at is not None else key.principal()
    if stored["kind"] == "user":
        user = services.users.by_id(stored["id"])
        return None if user is None or user.disabled_at is not None else user.principal()
    return principal_of(stored)


def stored_principal(principal: Principal) -> dict[str, Any]:
    return {"kind": principal.kind, "id": principal.id, "name": principal.name, "role": principal.role,
            "agencies": sorted(principal.agencies) if principal.agencies is not None else None,
            "forms": sorted(principal.forms) if principal.forms is not None else None}


def row_key(batch_id: str, row: int) -> str:
    return f"batch:{batch_id}:{row}"


def issue_rows(services: Services, batch_id: str, numbers: list[int]) -> None:
    """Issues the pending ones of ``numbers``; raises RetryLater when some must wait (the others stay settled)."""
    batch = services.batches.get(batch_id)
    if batch is None:
        log.warning("batch %s is gone; its message is dropped", batch_id)
        return
    services.batches.mark_started(batch_id, services.now())
    principal = maker_now(services, batch.principal)
    waiting: list[str] = []
    if principal is None:  # the maker's key was revoked, or their account disabled, since: the rest is not issued
        for row in services.batches.rows(batch_id, numbers, status="pending"):
            services.batches.settle(batch_id, row.row, services.now(), errors={"": [bilingual(
                "提交本批次的密钥已被吊销或账户已停用，未签发", "the key or account that made this batch was revoked or disabled: not issued")]})
    with background():
        for row in services.batches.rows(batch_id, numbers, status="pending"):
            problem = _issue_row(services, batch, principal, row)
            if problem:
                waiting.append(f"row {row.row}: {problem}")
    if services.batches.finish_if_complete(batch_id, services.now()):
        _finished(services, batch)
    if waiting:
        raise RetryLater("; ".join(waiting))


def _issue_row(services: Services, batch: BatchRecord, principal: Principal, row: BatchRow) -> str | None:
    """Settles the row, or returns why it must wait."""
    try:
        result = issuing.issue(services, batch.form, row.data, principal=principal, agency_id=batch.agency,
                               idempotency_key=row_key(batch.id, row.row), request_id=row_key(batch.id, row.row))
    except InvalidData as exc:
        services.batches.settle(batch.id, row.row, services.now(), errors=exc.errors)
        return None
    except (Forbidden, NotFound) as exc:
        services.batches.settle(batch.id, row.row, services.now(), errors={"": [exc.message]})
        return None
    except TRANSIENT as exc:
        return exc.en
    except Conflict as exc:  # the row's key is held by a request still issuing (or by a dead worker, until recovery)
        return exc.en
    except PipelineError as exc:
        attempts = services.batches.attempted(batch.id, row.row, services.now())
        if attempts >= MAX_ATTEMPTS:
            services.batches.settle(batch.id, row.row, services.now(), errors={"": [exc.message]})
            return None
        return exc.en
    except ChengnuoError as exc:
        return exc.en
    services.batches.settle(batch.id, row.row, services.now(), document_id=result.document.id)
    return None


def _finished(services: Services, batch: BatchRecord) -> None:
    counts = services.batches.counts(batch.id)
    log.info("batch %s finished: %d issued, %d failed", batch.id, counts["done"], counts["failed"])
    services.audit.record(actor=principal_of(batch.principal).actor, action="batch_finished", object=f"batch:{batch.id}",
                          outcome="success", detail={"form": batch.form, "agency": batch.agency, **counts})
