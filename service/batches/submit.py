"""Making a batch: a form, an agency, and rows — JSON, or an uploaded CSV/XLSX whose columns are the form's fields
(``columns.py``). The batch and its rows are stored in one transaction, then handed to the queue; the call returns
at once (202), and the rows are issued by the workers of every node.

A row whose cells cannot be read (a yes/no cell saying neither) is failed at once with its errors; every other row
is validated by the form's schema when it is issued, and reported with its field errors if it fails. With an
Idempotency-Key the same request gives the same batch, however often it is sent, to whichever node.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..auth.principal import Principal
from ..errors import (
    ChengnuoError,
    Conflict,
    FileTooLarge,
    InvalidData,
    NotFound,
    ServiceBusy,
    bilingual,
)
from ..forms import get_form
from ..idempotency import request_hash, scoped_key
from ..issuing import issuing_agency
from ..registry.batches import BatchRecord
from ..runtime import Services
from ..spreadsheets import read_rows
from . import columns
from .work import stored_principal

log = logging.getLogger(__name__)

MAX_COLUMNS = 200


@dataclass(frozen=True)
class Submitted:
    batch: BatchRecord
    replayed: bool = False


def rows_from_file(services: Services, form_id: str, content: bytes, filename: str | None) -> list[tuple[int, dict[str, Any], dict[str, list[str]]]]:
    """The file's rows as (row number, data, cells that could not be read). Raises InvalidData / FileTooLarge on ``file``."""
    spec = get_form(form_id)
    limit = services.settings.batch_max_rows
    numbered = read_rows(content, filename, max_bytes=services.settings.batch_max_bytes, max_rows=limit, max_columns=MAX_COLUMNS,
                         sheet_name="批量签发")
    (_, header), body = numbered[0], numbered[1:]
    headings = columns.read_header(spec, header)
    if not body:
        raise InvalidData({"file": [bilingual("表头之外没有数据行", "the file has a header and no rows")]}, "文件无法导入", "the file cannot be imported")
    _check_size(len(body), limit)
    return [(number, *columns.row_data(headings, cells)) for number, cells in body]


def rows_from_json(services: Services, rows: Sequence[Any]) -> list[tuple[int, dict[str, Any], dict[str, list[str]]]]:
    if not rows:
        raise InvalidData({"rows": [bilingual("至少需要一行", "at least one row is needed")]})
    _check_size(len(rows), services.settings.batch_max_rows)
    return [(number, dict(row) if isinstance(row, Mapping) else {},
             {} if isinstance(row, Mapping) else {"": [bilingual("每行应为 JSON 对象", "each row must be a JSON object")]})
            for number, row in enumerate(rows, start=1)]


def _check_size(count: int, limit: int) -> None:
    if count > limit:
        raise FileTooLarge(f"一批最多 {limit} 行，本批有 {count} 行", f"at most {limit} rows per batch; this one has {count}", code="too_many_rows")


def submit(services: Services, principal: Principal, form_id: str, agency_id: str | None,
           rows: Sequence[tuple[int, Mapping[str, Any], Mapping[str, list[str]]]], *, source: str = "json",
           filename: str | None = None, idempotency_key: str | None = None) -> Submitted:
    """Stores the batch and queues its rows. Raises NotFound (form, agency), Forbidden, InvalidData, FileTooLarge,
    Conflict (the Idempotency-Key with another request), ServiceBusy (the queue cannot be reached: the batch is kept,
    and the same request with the same key queues it)."""
    get_form(form_id)
    agency = issuing_agency(services, principal, agency_id, form_id, action="batch")
    key = scoped_key(principal, idempotency_key) if idempotency_key else None
    fingerprint = request_hash({"form": form_id, "agency": agency.id, "rows": [[n, d, e] for n, d, e in rows]})
    now = services.now()
    record = BatchRecord(id=str(uuid.uuid4()), form=form_id, agency=agency.id, principal=stored_principal(principal), source=source,
                         filename=(filename or "")[:200] or None, total=len(rows), status="running", idempotency_key=key,
                         request_hash=fingerprint, created_at=now, started_at=None, finished_at=None)
    first = services.batches.by_key(key) if key else None
    if first is None and services.batches.create(record, rows) is None:  # the same key, sent to another node meanwhile
        first = services.batches.by_key(key or "")
    if first is not None:
        if first.request_hash != fingerprint:
            raise Conflict("该 Idempotency-Key 已用于内容不同的请求", "this Idempotency-Key was already used with a different request body",
                           code="idempotency_key_reused")
        if first.started_at is None and first.status == "running":
            _enqueue(services, first)  # its rows may never have reached the queue
        return Submitted(first, replayed=True)
    services.audit.record(actor=principal.actor, action="batch", object=f"batch:{record.id}", outcome="success",
                          detail={"form": form_id, "agency": agency.id, "rows": len(rows), "source": source})
    log.info("batch %s: %d row(s) of %s for %s", record.id, len(rows), form_id, agency.id)
    _enqueue(services, record)
    if not services.batches.pending_numbers(record.id):
        services.batches.finish_if_complete(record.id, services.now())
    return Submitted(services.batches.get(record.id) or record)


def _enqueue(services: Services, batch: BatchRecord) -> None:
    try:
        services.batch_queue.enqueue(batch.id, services.batches.pending_numbers(batch.id))
    except ChengnuoError:
        raise
    except Exception as exc:  # the broker's many ways to fail (Redis down): the batch is kept, the caller told to retry
        log.error("batch %s: the queue cannot be reached (%s)", batch.id, exc)
        raise ServiceBusy(f"任务队列暂不可用，批次 {batch.id} 已保存；请用相同的 Idempotency-Key 重试，或运行 batch resume",
                          f"the job queue cannot be reached; batch {batch.id} is kept: retry with the same Idempotency-Key, "
                          "or run `batch resume`", code="queue_unavailable") from exc


def resume(services: Services, batch_id: str) -> int:
    """Queues a batch's pending rows again (after a restart of the embedded queue, or messages that ran out of
    retries); returns how many rows. Harmless when they are queued already."""
    batch = services.batches.get(batch_id)
    if batch is None:
        raise NotFound(f"批次 {batch_id} 不存在", f"batch {batch_id} does not exist", code="batch_not_found")
    pending = services.batches.pending_numbers(batch_id)
    if pending:
        services.batch_queue.enqueue(batch_id, pending)
    return len(pending)


def resume_unfinished(services: Services) -> int:
    """At start, with the embedded queue (which forgets on restart): every unfinished batch's pending rows."""
    if services.batch_queue.shared:
        return 0
    return sum(resume(services, batch.id) for batch in services.batches.unfinished())
