"""Registry queries of webhooks: the subscriptions, the outbox of deliveries, claiming them, and the delivery log.

Claiming is safe when several processes share one database. One UPDATE sets a lease on due rows whose lease is
free or has run out, and returns the rows it took; the conditions are repeated in the UPDATE itself, so it is a
compare-and-set on every database. On PostgreSQL the rows are chosen ``FOR UPDATE SKIP LOCKED``: a process
skips the rows another is claiming instead of waiting for them. SQLite runs one writer at a time, and a single
UPDATE takes the write lock before it reads. A process that dies while delivering leaves its lease to run out;
another then sends the delivery again (at least once: receivers tell repeats by the event id).
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import Engine, and_, delete, func, insert, or_, select, update

from ..errors import NotFound
from .tables import api_keys, webhook_attempts, webhook_deliveries, webhooks

PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"
CANCELLED = "Webhook 已删除或其 API 密钥已吊销 / the webhook was deleted, or its API key revoked"


@dataclass(frozen=True)
class Webhook:
    id: str
    owner: str  # the API key's id
    url: str
    events: tuple[str, ...]
    created_at: dt.datetime
    disabled_at: dt.datetime | None


@dataclass(frozen=True)
class Subscriber:
    """An active webhook with what its key may act for (``forms`` None: every form)."""

    webhook_id: str
    events: tuple[str, ...]
    agencies: frozenset[str]
    forms: frozenset[str] | None


@dataclass(frozen=True)
class DueDelivery:
    """A delivery this process has claimed, with what it needs to send it."""

    id: int
    webhook_id: str
    url: str
    sealed_secret: str
    event_id: str
    type: str
    body: str
    attempt: int  # the number of the attempt about to be made, from 1
    active: bool = True  # False: the webhook was deleted, or its key revoked, after the event was queued


@dataclass(frozen=True)
class Attempt:
    number: int
    at: dt.datetime
    status: int | None
    error: str | None
    duration_ms: int


@dataclass(frozen=True)
class Delivery:
    id: int
    webhook_id: str
    event_id: str
    type: str
    state: str
    attempts: int
    created_at: dt.datetime
    next_attempt_at: dt.datetime | None
    last_attempt_at: dt.datetime | None
    delivered_at: dt.datetime | None
    last_status: int | None
    last_error: str | None
    log: tuple[Attempt, ...]


def _webhook(row) -> Webhook:  # type: ignore[no-untyped-def]
    m = row._mapping
    return Webhook(m["id"], m["owner"], m["url"], tuple(m["events"]), m["created_at"], m["disabled_at"])


def _not_found(webhook_id: str) -> NotFound:
    return NotFound(f"Webhook {webhook_id[:40]} 不存在", f"there is no webhook {webhook_id[:40]!r}", code="webhook_not_found")


class WebhookStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.enqueued = threading.Event()  # set when this process queues a delivery: its deliverer need not wait for the next round

    # --- subscriptions -----------------------------------------------------------------------------------

    def create(self, *, webhook_id: str, owner: str, url: str, events: Sequence[str], sealed_secret: str, now: dt.datetime) -> Webhook:
        with self.engine.begin() as conn:
            conn.execute(insert(webhooks).values(id=webhook_id, owner=owner, url=url, events=list(events), secret=sealed_secret,
                                                 created_at=now))
        return self.get(owner, webhook_id)

    def get(self, owner: str, webhook_id: str) -> Webhook:
        """The active webhook ``webhook_id`` of ``owner``; raises NotFound for any other (another key's is not revealed)."""
        with self.engine.connect() as conn:
            row = conn.execute(select(webhooks).where(webhooks.c.id == webhook_id, webhooks.c.owner == owner,
                                                      webhooks.c.disabled_at.is_(None))).first()
        if row is None:
            raise _not_found(webhook_id)
        return _webhook(row)

    def owned(self, owner: str) -> list[Webhook]:
        """The active webhooks of ``owner``, oldest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(webhooks).where(webhooks.c.owner == owner, webhooks.c.disabled_at.is_(None))
                                .order_by(webhooks.c.created_at, webhooks.c.id)).all()
        return [_webhook(row) for row in rows]

    def disable(self, owner: str, webhook_id: str, now: dt.datetime) -> Webhook:
        """Stops the webhook and cancels its pending deliveries (kept in the log as failed). Raises NotFound."""
        with self.engine.begin() as conn:
            done = conn.execute(update(webhooks).where(webhooks.c.id == webhook_id, webhooks.c.owner == owner,
                                                       webhooks.c.disabled_at.is_(None)).values(disabled_at=now))
            if done.rowcount == 0:
                raise _not_found(webhook_id)
            conn.execute(update(webhook_deliveries)
                         .where(webhook_deliveries.c.webhook_id == webhook_id, webhook_deliveries.c.state == PENDING)
                         .values(state=FAILED, next_attempt_at=None, last_error=CANCELLED))
            row = conn.execute(select(webhooks).where(webhooks.c.id == webhook_id)).one()
        return _webhook(row)

    def subscribers(self) -> list[Subscriber]:
        """The active webhooks of keys that are not revoked."""
        query = (select(webhooks.c.id, webhooks.c.events, api_keys.c.agencies, api_keys.c.forms)
                 .join(api_keys, api_keys.c.id == webhooks.c.owner)
                 .where(webhooks.c.disabled_at.is_(None), api_keys.c.revoked_at.is_(None)))
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [Subscriber(row.id, tuple(row.events), frozenset(row.agencies), None if "*" in row.forms else frozenset(row.forms))
                for row in rows]

    # --- the outbox --------------------------------------------------------------------------------------

    def enqueue(self, *, event_id: str, event_type: str, body: str, webhook_ids: Iterable[str], now: dt.datetime) -> int:
        """One pending delivery of the event per webhook, due at once; returns how many."""
        rows = [{"webhook_id": webhook_id, "event_id": event_id, "type": event_type, "body": body, "state": PENDING, "attempts": 0,
                 "next_attempt_at": now, "created_at": now} for webhook_id in webhook_ids]
        if rows:
            with self.engine.begin() as conn:
                conn.execute(insert(webhook_deliveries), rows)
            self.enqueued.set()
        return len(rows)

    def claim(self, instance: str, now: dt.datetime, *, lease: dt.timedelta, limit: int) -> list[DueDelivery]:
        """Takes up to ``limit`` due deliveries for ``instance`` until ``now + lease``; see the module's docstring."""
        d = webhook_deliveries
        claimable = and_(d.c.state == PENDING, d.c.next_attempt_at <= now, or_(d.c.lease_until.is_(None), d.c.lease_until < now))
        due = (select(d.c.id).where(claimable).order_by(d.c.next_attempt_at, d.c.id).limit(limit)
               .with_for_update(skip_locked=True))
        with self.engine.begin() as conn:
            taken = conn.execute(update(d).where(d.c.id.in_(due), claimable)
                                 .values(lease_owner=instance, lease_until=now + lease).returning(d.c.id)).scalars().all()
            if not taken:
                return []
            rows = conn.execute(select(d, webhooks.c.url, webhooks.c.secret, webhooks.c.disabled_at, api_keys.c.revoked_at)
                                .join(webhooks, webhooks.c.id == d.c.webhook_id)
                                .outerjoin(api_keys, api_keys.c.id == webhooks.c.owner)
                                .where(d.c.id.in_(taken)).order_by(d.c.next_attempt_at, d.c.id)).all()
        return [DueDelivery(row.id, row.webhook_id, row.url, row.secret, row.event_id, row.type, row.body, row.attempts + 1,
                            active=row.disabled_at is None and row.revoked_at is None) for row in rows]

    def cancel(self, due: DueDelivery, instance: str, *, reason: str) -> None:
        """Ends a claimed delivery unsent (``failed``, with the reason)."""
        d = webhook_deliveries
        with self.engine.begin() as conn:
            conn.execute(update(d).where(d.c.id == due.id, d.c.lease_owner == instance, d.c.state == PENDING).values(
                state=FAILED, next_attempt_at=None, lease_owner=None, lease_until=None, last_error=reason[:500]))

    def finish(self, due: DueDelivery, instance: str, *, at: dt.datetime, status: int | None, error: str | None, duration_ms: int,
               state: str, next_attempt_at: dt.datetime | None) -> bool:
        """Records the attempt in the log and the delivery's new ``state``; False when this process no longer held
        the lease (it ran out and another process took the delivery over: the attempt is logged all the same)."""
        d = webhook_deliveries
        error = error[:500] if error else None
        with self.engine.begin() as conn:
            conn.execute(insert(webhook_attempts).values(delivery_id=due.id, number=due.attempt, at=at, status=status, error=error,
                                                         duration_ms=duration_ms))
            done = conn.execute(update(d).where(d.c.id == due.id, d.c.lease_owner == instance, d.c.state == PENDING).values(
                state=state, attempts=due.attempt, next_attempt_at=next_attempt_at, lease_owner=None, lease_until=None,
                last_status=status, last_error=error, last_attempt_at=at, delivered_at=at if state == DELIVERED else None))
        return done.rowcount == 1

    def prune(self, before: dt.datetime) -> int:
        """Forgets delivered and failed deliveries (and their attempts) made before ``before``; returns how many."""
        d = webhook_deliveries
        old = select(d.c.id).where(d.c.state.in_((DELIVERED, FAILED)), d.c.created_at < before)
        with self.engine.begin() as conn:
            conn.execute(delete(webhook_attempts).where(webhook_attempts.c.delivery_id.in_(old)))
            return conn.execute(delete(d).where(d.c.state.in_((DELIVERED, FAILED)), d.c.created_at < before)).rowcount

    # --- the log -----------------------------------------------------------------------------------------

    def deliveries(self, owner: str, webhook_id: str, *, page: int, per_page: int) -> tuple[list[Delivery], int]:
        """A page of the webhook's deliveries, newest first, each with its attempts, and how many there are in all.
        Raises NotFound when the webhook is not ``owner``'s active one."""
        self.get(owner, webhook_id)
        d, a = webhook_deliveries, webhook_attempts
        with self.engine.connect() as conn:
            total = conn.execute(select(func.count()).select_from(d).where(d.c.webhook_id == webhook_id)).scalar_one()
            rows = conn.execute(select(d).where(d.c.webhook_id == webhook_id).order_by(d.c.id.desc())
                                .limit(per_page).offset((page - 1) * per_page)).all()
            attempts: dict[int, list[Attempt]] = {}
            if rows:
                for row in conn.execute(select(a).where(a.c.delivery_id.in_([r.id for r in rows])).order_by(a.c.delivery_id, a.c.number, a.c.id)):
                    attempts.setdefault(row.delivery_id, []).append(Attempt(row.number, row.at, row.status, row.error, row.duration_ms))
        return [Delivery(r.id, r.webhook_id, r.event_id, r.type, r.state, r.attempts, r.created_at, r.next_attempt_at, r.last_attempt_at,
                         r.delivered_at, r.last_status, r.last_error, tuple(attempts.get(r.id, ()))) for r in rows], total
