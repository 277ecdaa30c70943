"""The events a webhook can subscribe to, how a subscription matches them, and what a document event carries.

A subscription names event types (``document.issued``) or a wildcard for a whole family (``document.*``, or
``*`` for everything, including events added later). An event carries no personal data: it says what happened
to which document; the calling system reads the rest with its key (``GET /api/v1/documents/{id}``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from ..errors import bilingual
from ..registry.documents import DocumentRecord

DOCUMENT_ISSUED = "document.issued"
DOCUMENT_SIGNED = "document.signed"
DOCUMENT_COMPLETED = "document.completed"
DOCUMENT_VOIDED = "document.voided"

# A case's events: one per step that changes it (its state, its facts or its deadlines), and one per deadline missed.
CASE_EVENTS: tuple[str, ...] = (
    "case.created", "case.credit_checked", "case.notified", "case.committed", "case.decided", "case.verification_started",
    "case.verified", "case.withdrawn", "case.closed", "case.materials", "case.credit_reported", "case.complaint",
    "case.assistance_answered", "case.deadline_missed",
)
# Assistance between agencies on the service: to the agency asked, and to both once it is answered.
ASSISTANCE_EVENTS: tuple[str, ...] = ("assistance.requested", "assistance.answered")

# Every event the service sends. A new kind is added here when something emits it.
EVENTS: tuple[str, ...] = (DOCUMENT_ISSUED, DOCUMENT_SIGNED, DOCUMENT_COMPLETED, DOCUMENT_VOIDED, *CASE_EVENTS, *ASSISTANCE_EVENTS)
FAMILIES: tuple[str, ...] = tuple(sorted({name.split(".", 1)[0] for name in EVENTS}))
SUBSCRIBABLE: tuple[str, ...] = (*EVENTS, *(f"{family}.*" for family in FAMILIES), "*")


def unknown_event(name: str) -> str | None:
    """A bilingual problem with ``name`` as a subscription, or None when it is one of ``SUBSCRIBABLE``."""
    if name in SUBSCRIBABLE:
        return None
    return bilingual(f"未知的事件：{name[:60]}（可选：{'、'.join(SUBSCRIBABLE)}）",
                     f"unknown event {name[:60]!r} (one of: {', '.join(SUBSCRIBABLE)})")


def matches(subscribed: Iterable[str], event_type: str) -> bool:
    """Whether a webhook subscribed to ``subscribed`` hears ``event_type``."""
    family = event_type.split(".", 1)[0]
    return any(name in ("*", event_type, f"{family}.*") for name in subscribed)


def iso_time(value: dt.datetime | None) -> str | None:
    """UTC, ISO 8601, with a Z: the one time format of events."""
    return value.astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z") if value is not None else None


def document_data(record: DocumentRecord, base_url: str) -> dict[str, Any]:
    """The ``document`` of a document event: what a calling system needs to find it, never its data. ``sha256`` is
    the PDF's as issued; ``revision`` counts the parties' signatures since (the latest PDF is ``links.pdf``)."""
    links = {"self": f"{base_url}/api/v1/documents/{record.id}", "verify": f"{base_url}/v/{record.serial}"}
    if record.issued:
        links["pdf"] = f"{base_url}/api/v1/documents/{record.id}/pdf"
    return {
        "id": record.id,
        "form": record.form,
        "agency": record.agency,
        "serial": record.serial,
        "number": record.number,
        "status": record.status,
        "revision": record.revision,
        "sha256": record.sha256,
        "issued_at": iso_time(record.issued_at),
        "voided_at": iso_time(record.voided_at),
        "void_reason": record.void_reason,
        "links": links,
    }


def case_data(case: Any, base_url: str) -> dict[str, Any]:
    """The ``case`` of a case event: its number, state and outcome, never the applicant (read it with the key)."""
    return {
        "id": case.id,
        "number": case.number,
        "agency": case.agency,
        "state": case.state,
        "procedure": case.procedure,
        "commitment_type": case.commitment_type,
        "outcome": case.outcome,
        "links": {"self": f"{base_url}/api/v1/cases/{case.id}"},
    }


def envelope(event_id: str, event_type: str, created_at: dt.datetime, data: Mapping[str, Any]) -> dict[str, Any]:
    """The body of every delivery: ``{"id", "type", "created_at", "data"}``."""
    return {"id": event_id, "type": event_type, "created_at": iso_time(created_at), "data": dict(data)}
