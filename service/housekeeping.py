"""Periodic work of a serving process, on a daemon thread: voiding what dead processes left half-issued
(``recovery.py``), announcing the case deadlines newly missed (``case.deadline_missed``, once each, whichever
node claims it), pruning the idempotency keys older than ``CHENGNUO_IDEMPOTENCY_TTL_HOURS``, and dropping the row data
(applicants' details) of batches finished more than ``CHENGNUO_BATCH_KEEP_DAYS`` ago. A failure is logged and retried at the next round; it never stops the service."""

from __future__ import annotations

import datetime as dt
import logging
import threading

from . import recovery
from .cases import procedure
from .runtime import Services

log = logging.getLogger(__name__)


class Housekeeping:
    def __init__(self, services: Services, interval: float = 30.0) -> None:
        self.services = services
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="chengnuo-housekeeping", daemon=True)

    def run_once(self) -> None:
        try:
            recovery.void_interrupted(self.services)
        except Exception:
            log.exception("housekeeping failed")
        try:
            procedure.announce_missed_deadlines(self.services)
        except Exception:
            log.exception("announcing missed deadlines failed")
        try:
            pruned = self.services.registry.prune_keys(self.services.now() - dt.timedelta(hours=self.services.settings.idempotency_ttl_hours))
            if pruned:
                log.info("pruned %d expired idempotency keys", pruned)
        except Exception:
            log.exception("pruning idempotency keys failed")
        try:
            now = self.services.now()
            dropped = self.services.batches.drop_data(now - dt.timedelta(days=self.services.settings.batch_keep_days), now)
            if dropped:
                log.info("dropped the row data of %d finished batch(es)", dropped)
        except Exception:
            log.exception("dropping finished batches' row data failed")

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.run_once()
