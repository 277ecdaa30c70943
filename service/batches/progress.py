"""Where a batch stands: its counts, each failed row's errors, and when it should be done."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..auth.principal import Principal
from ..errors import NotFound
from ..registry.batches import BatchRecord
from ..runtime import Services


@dataclass(frozen=True)
class FailedRow:
    row: int
    errors: dict[str, list[str]]


@dataclass(frozen=True)
class Progress:
    batch: BatchRecord
    total: int
    done: int
    failed: int
    pending: int
    eta_seconds: float | None  # None: not started, or finished
    per_minute: float | None  # rows settled per minute so far
    failures: list[FailedRow] = field(default_factory=list)

    @property
    def finished(self) -> bool:
        return self.batch.status == "finished"

    @property
    def percent(self) -> int:
        return 100 * (self.done + self.failed) // self.total if self.total else 100


def get_batch(services: Services, principal: Principal, batch_id: str) -> BatchRecord:
    """The batch, if the principal acts for its agency; another agency's batch is reported as not found."""
    batch = services.batches.get(batch_id)
    if batch is None or not principal.acts_for(batch.agency) or principal.role == "public":
        raise NotFound(f"批次 {batch_id} 不存在", f"batch {batch_id} does not exist", code="batch_not_found")
    return batch


def progress(services: Services, principal: Principal, batch_id: str) -> Progress:
    return _progress(services, get_batch(services, principal, batch_id))


def _progress(services: Services, batch: BatchRecord) -> Progress:
    counts = services.batches.counts(batch.id)
    settled = counts["done"] + counts["failed"]
    eta = per_minute = None
    if batch.started_at is not None and settled:
        end = batch.finished_at or services.now()
        elapsed = max((end - batch.started_at).total_seconds(), 0.001)
        per_minute = round(settled / elapsed * 60, 1)
        if counts["pending"]:
            eta = round(counts["pending"] * elapsed / settled, 1)
    failures = [FailedRow(row.row, row.errors or {}) for row in services.batches.rows(batch.id, status="failed")]
    return Progress(batch, batch.total, counts["done"], counts["failed"], counts["pending"], eta, per_minute, failures)


def recent(services: Services, principal: Principal, limit: int = 50) -> list[Progress]:
    agencies = None if principal.agencies is None else sorted(principal.agencies)
    return [_progress(services, batch) for batch in services.batches.recent(agencies, limit)]  # of its agencies already
