"""The deliverer: a serving process's background threads that POST due deliveries, sign them, and retry.

Each round claims up to ``workers`` due deliveries (a lease in the database, so that processes sharing it
never send one twice at once: ``registry/webhooks.py``), POSTs them side by side with a short timeout, and
records every attempt. A 2xx answer delivers; anything else (another status, a redirect, which is not
followed, no connection, no answer in time) is retried after the next step of ``backoff``, and after the
last step the delivery is ``failed``. Request threads never wait for any of this: publishing only writes
the outbox, and wakes the deliverer of its own process.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

import requests

from ..errors import bilingual
from ..registry.webhooks import CANCELLED, DELIVERED, FAILED, PENDING, DueDelivery
from .secretbox import UnreadableSecret
from .signature import HEADER, signature_header

if TYPE_CHECKING:
    from ..runtime import Services

log = logging.getLogger(__name__)

# The wait after each failed attempt: ten attempts over about sixteen hours, then ``failed``.
DEFAULT_BACKOFF: tuple[dt.timedelta, ...] = tuple(dt.timedelta(seconds=s) for s in (10, 30, 120, 600, 1800, 3600, 7200, 14400, 28800))
USER_AGENT = "chengnuo-webhooks/1"


@dataclass(frozen=True)
class DeliverySettings:
    timeout: float = 5.0  # seconds to connect, and again to get the answer's status line
    backoff: tuple[dt.timedelta, ...] = DEFAULT_BACKOFF
    workers: int = 4  # deliveries sent side by side
    interval: float = 2.0  # seconds between rounds when nothing new was queued in this process
    retention: dt.timedelta = dt.timedelta(days=30)  # finished deliveries are forgotten after this
    prune_every: float = 3600.0  # seconds

    @property
    def lease(self) -> dt.timedelta:
        """How long a claim holds: well beyond one attempt (connect, send, status line), so a live process keeps it."""
        return dt.timedelta(seconds=max(60.0, 4 * self.timeout))

    @property
    def attempts(self) -> int:
        return len(self.backoff) + 1


@dataclass(frozen=True)
class Outcome:
    status: int | None
    error: str | None

    @property
    def delivered(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> Outcome:
    """One POST; what the receiver answered, or why there is no answer (bilingual, without the URL)."""
    try:
        with requests.post(url, data=body, headers=headers, timeout=(timeout, timeout), allow_redirects=False, stream=True) as answer:
            status = answer.status_code
    except requests.Timeout:
        return Outcome(None, bilingual(f"{timeout:g} 秒内未应答", f"no answer within {timeout:g} s"))
    except requests.ConnectionError:
        return Outcome(None, bilingual("无法连接", "could not connect"))
    except requests.RequestException as exc:
        return Outcome(None, bilingual("请求失败", f"the request failed ({type(exc).__name__})"))
    if 200 <= status < 300:
        return Outcome(status, None)
    if 300 <= status < 400:
        return Outcome(status, bilingual(f"HTTP {status}：不跟随重定向", f"HTTP {status}: redirects are not followed"))
    return Outcome(status, bilingual(f"HTTP {status}", f"HTTP {status}"))


class Deliverer:
    def __init__(self, services: Services, settings: DeliverySettings | None = None) -> None:
        self.services = services
        self.settings = settings or DeliverySettings(timeout=services.settings.webhook_timeout)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="chengnuo-webhooks", daemon=True)
        self._pool = ThreadPoolExecutor(max_workers=self.settings.workers, thread_name_prefix="chengnuo-webhook")
        self._pruned_at = 0.0

    @property
    def store(self):  # type: ignore[no-untyped-def]
        return self.services.webhooks

    def run_once(self) -> int:
        """Claims the due deliveries (up to ``workers``), sends them side by side, records each attempt; returns how
        many were attempted. Never raises: a failure is logged, and the lease lets the next round try again."""
        try:
            claimed = self.store.claim(self.services.instances.id, self.services.now(), lease=self.settings.lease,
                                       limit=self.settings.workers)
        except Exception:  # noqa: BLE001 - the database may be away for a moment
            log.exception("could not claim webhook deliveries")
            return 0
        for future in [self._pool.submit(self.deliver, due) for due in claimed]:
            future.result()
        return len(claimed)

    def deliver(self, due: DueDelivery) -> None:
        """Sends one claimed delivery and records the attempt. Never raises."""
        try:
            self._attempt(due)
        except Exception:  # noqa: BLE001 - the lease runs out, and the delivery is tried again
            log.exception("webhook delivery %d (%s, event %s) could not be completed", due.id, due.webhook_id, due.event_id)

    def _attempt(self, due: DueDelivery) -> None:
        if not due.active:
            self.store.cancel(due, self.services.instances.id, reason=CANCELLED)
            log.info("webhook %s: %s %s not sent (the webhook was deleted or its key revoked)", due.webhook_id, due.type, due.event_id)
            return
        started = time.monotonic()
        at = self.services.now()
        body = due.body.encode("utf-8")
        try:
            secret = self.services.webhook_secrets.open(due.sealed_secret, due.webhook_id)
        except UnreadableSecret:
            outcome = Outcome(None, bilingual("无法解开该 Webhook 的密钥（数据目录的 webhook.key 或 CHENGNUO_WEBHOOK_KEY 是否被更换？）",
                                              "the webhook's secret cannot be unsealed (was webhook.key or CHENGNUO_WEBHOOK_KEY replaced?)"))
        else:
            headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": USER_AGENT,
                       HEADER: signature_header(secret, int(at.timestamp()), body),
                       "X-Chengnuo-Event": due.type, "X-Chengnuo-Delivery": str(due.id)}
            outcome = post(due.url, body, headers, self.settings.timeout)
        duration_ms = round((time.monotonic() - started) * 1000)
        if outcome.delivered:
            state, next_at = DELIVERED, None
        elif due.attempt >= self.settings.attempts:
            state, next_at = FAILED, None
        else:
            state, next_at = PENDING, at + self.settings.backoff[due.attempt - 1]
        held = self.store.finish(due, self.services.instances.id, at=at, status=outcome.status, error=outcome.error,
                                 duration_ms=duration_ms, state=state, next_attempt_at=next_at)
        if not held:
            log.warning("webhook delivery %d: no longer held after attempt %d (its lease ran out, or the webhook was deleted)", due.id, due.attempt)
        if outcome.delivered:
            log.info("webhook %s: delivered %s %s (attempt %d, %d ms)", due.webhook_id, due.type, due.event_id, due.attempt, duration_ms)
        else:
            log.warning("webhook %s: attempt %d of %s %s failed: %s; %s", due.webhook_id, due.attempt, due.type, due.event_id,
                        outcome.error, f"next at {next_at.isoformat()}" if next_at else "given up")

    def prune(self) -> None:
        if time.monotonic() - self._pruned_at < self.settings.prune_every:
            return
        self._pruned_at = time.monotonic()
        try:
            forgotten = self.store.prune(self.services.now() - self.settings.retention)
        except Exception:  # noqa: BLE001 - next time
            log.exception("could not prune old webhook deliveries")
            return
        if forgotten:
            log.info("forgot %d webhook deliveries older than %s", forgotten, self.settings.retention)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self.store.enqueued.set()
        if self._thread.is_alive():
            self._thread.join(timeout=4 * self.settings.timeout + 5)
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.store.enqueued.clear()
            attempted = self.run_once()
            self.prune()
            if attempted < self.settings.workers:  # else more may be due at once
                self.store.enqueued.wait(self.settings.interval)
