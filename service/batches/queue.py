"""The job queue that carries a batch's rows to workers: Dramatiq.

- Embedded (no ``CHENGNUO_REDIS_URL``): Dramatiq's in-process broker and a worker in the service's own process,
  nothing to install. The queue lives in memory: at start the service re-enqueues the pending rows of unfinished
  batches (``resume``), so a restart loses nothing.
- Across nodes (``CHENGNUO_REDIS_URL``): Dramatiq's Redis broker, consumed by every node's worker threads (and by
  ``python -m service worker``). A message is acknowledged only after its rows are settled (late
  acknowledgement); the messages a worker held when it died — ``kill -9``, a lost machine — go back to the queue
  once its heartbeat is ``batch_heartbeat_seconds`` old, and another node takes them up.

A message names a batch and up to ``batch_chunk`` of its rows. Taking one up twice is harmless: a row already
settled is skipped, and a row's document is made once by its Idempotency-Key (see ``work.py``). A message whose
rows could not be settled yet — the converters busy, the store down, a row still held by a dead worker — raises
``RetryLater`` and comes back with backoff.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

import dramatiq
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker

from ..config import Settings

log = logging.getLogger(__name__)

QUEUE = "chengnuo-batches"
ACTOR = "issue_batch_rows"


class RetryLater(dramatiq.Retry):
    """A message's rows cannot all be settled now; Dramatiq delivers the message again after a backoff (an expected
    turn of events: logged as a warning with the reason, not as an error with a traceback)."""


class BatchQueue:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.shared = bool(settings.redis_url)
        if self.shared:
            self.broker: dramatiq.Broker = RedisBroker(
                url=settings.redis_url, namespace="chengnuo", heartbeat_timeout=int(settings.batch_heartbeat_seconds * 1000),
                maintenance_chance=50_000)  # of a million fetches: a dead worker's messages come back within seconds
        else:
            self.broker = StubBroker()
            self.broker.emit_after("process_boot")
        self._handler: Callable[[str, list[int]], None] | None = None
        self.actor = dramatiq.actor(self._run, broker=self.broker, actor_name=ACTOR, queue_name=QUEUE,
                                    max_retries=settings.batch_retries, min_backoff=500, max_backoff=15_000,
                                    time_limit=int(settings.batch_message_seconds * 1000), max_age=None)
        self._worker: dramatiq.Worker | None = None

    def _run(self, batch_id: str, rows: list[int]) -> None:
        if self._handler is None:
            raise RetryLater("no handler bound")
        try:
            self._handler(batch_id, rows)
        except RetryLater as exc:
            log.warning("batch %s: rows %s wait: %s", batch_id, rows, exc)
            raise

    def enqueue(self, batch_id: str, rows: Sequence[int]) -> int:
        """Sends the rows in messages of ``batch_chunk``; returns how many messages."""
        chunk = max(1, self.settings.batch_chunk)
        messages = 0
        for start in range(0, len(rows), chunk):
            self.actor.send(batch_id, list(rows[start:start + chunk]))
            messages += 1
        return messages

    def start_worker(self, threads: int, handler: Callable[[str, list[int]], None]) -> None:
        """Consumes the queue with ``threads`` threads of this process, each message done by ``handler(batch_id, rows)``."""
        if self._worker is not None or threads <= 0:
            return
        self._handler = handler
        self._worker = dramatiq.Worker(self.broker, queues={QUEUE}, worker_threads=threads, worker_timeout=500)
        self._worker.start()
        log.info("batch worker: %d thread(s) on %s", threads, "Redis" if self.shared else "the in-process queue")

    def status(self) -> dict[str, object]:
        """For /healthz: the kind of queue, this process's batch threads, and whether the broker answers."""
        ok = True
        if self.shared:
            try:
                self.broker.client.ping()  # type: ignore[attr-defined]
            except Exception as exc:  # noqa: BLE001 - a health check reports, it does not raise
                log.warning("the batch queue's Redis does not answer: %s", exc)
                ok = False
        return {"ok": ok, "queue": "redis" if self.shared else "in-process",
                "threads": self._worker.worker_threads if self._worker is not None else 0}

    def stop(self) -> None:
        if self._worker is not None:
            self._worker.stop(timeout=30_000)
            self._worker = None
        self.broker.close()
