"""Publishing an event: one pending delivery per matching webhook, recorded in the database, and nothing more.

Publishing runs in the caller's thread (a request issuing or voiding a document), so it only writes the outbox
and wakes this process's deliverer; the deliverer sends from its own thread (``delivery.py``). It never raises:
a document is issued, signed or voided whether or not its events could be recorded, and a failure to record
them is logged.

A webhook hears an event when it subscribed to its type (or a wildcard) and the API key that made it may act
for the document's agency and form, as it may read the document itself.

Issuing calls ``document_issued`` (and ``document_completed`` for a document nobody else signs, complete as
issued); the signing flow calls ``document_signed`` for each party's signature and ``document_completed`` when
it was the last one required; voiding calls ``document_voided``.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..auth.principal import Principal
from ..registry.documents import DocumentRecord
from . import events

if TYPE_CHECKING:
    import datetime as dt

    from ..runtime import Services

log = logging.getLogger(__name__)


def encode(body: Mapping[str, Any]) -> str:
    """The body as sent: compact UTF-8 JSON (Chinese as is), the bytes every signature covers."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))


def publish(services: Services, event_type: str, data: Mapping[str, Any], *, agency: str, form: str | None) -> str | None:
    """Records one delivery of the event for every webhook that hears it; returns the event's id, or None when
    nothing could be recorded (logged). Never raises."""
    try:
        if event_type not in events.EVENTS:
            raise ValueError(f"unknown event type {event_type!r}")
        targets = [s.webhook_id for s in services.webhooks.subscribers()
                   if events.matches(s.events, event_type) and _may_read(s.agencies, s.forms, agency, form)]
        event_id = f"evt_{uuid.uuid4().hex}"
        if not targets:
            return event_id
        now = services.now()
        body = encode(events.envelope(event_id, event_type, now, data))
        services.webhooks.enqueue(event_id=event_id, event_type=event_type, body=body, webhook_ids=targets, now=now)
        log.info("%s %s: %d delivery(ies) queued", event_type, event_id, len(targets))
        return event_id
    except Exception:  # noqa: BLE001 - an event must never fail what it reports
        log.exception("could not record the %s event (agency %s, form %s); no webhook will hear of it", event_type, agency, form)
        return None


def _may_read(agencies: frozenset[str], forms: frozenset[str] | None, agency: str, form: str | None) -> bool:
    """Whether a key hears an event of ``agency`` (and of ``form``; None: a case's event, heard by its agency's keys)."""
    key = Principal("key", "", "", "system", agencies, forms)
    return key.acts_for(agency) and (form is None or key.uses(form))


def _document_event(services: Services, event_type: str, record: DocumentRecord, **extra: Any) -> str | None:
    try:
        data = {"document": events.document_data(record, services.settings.base_url), **extra}
    except Exception:  # noqa: BLE001 - as publish: never fail the caller
        log.exception("could not describe document %s for the %s event", getattr(record, "id", "?"), event_type)
        return None
    return publish(services, event_type, data, agency=record.agency, form=record.form)


def document_issued(services: Services, record: DocumentRecord) -> str | None:
    """``document.issued``: the document is stored and readable. Called by issuing once it is."""
    return _document_event(services, events.DOCUMENT_ISSUED, record)


def document_voided(services: Services, record: DocumentRecord) -> str | None:
    """``document.voided``, for a document that was issued (its ``document.issued`` went out) and now is void."""
    return _document_event(services, events.DOCUMENT_VOIDED, record)


def document_signed(services: Services, record: DocumentRecord, *, party: str, label: str | None = None,
                    signed_at: dt.datetime | None = None, signer: str | None = None) -> str | None:
    """``document.signed``: the party ``party`` (a form role: applicant, handler, verifier …; ``label`` as printed
    on the form, 申请人签名) has signed ``record``, at ``signed_at``, as ``signer`` (a name as the signing evidence
    shows it, masked if it is personal data). Call it after the signed revision is stored; never raises."""
    return _document_event(services, events.DOCUMENT_SIGNED, record,
                           party={"role": party, "label": label, "signer": signer, "signed_at": events.iso_time(signed_at)})


def document_completed(services: Services, record: DocumentRecord) -> str | None:
    """``document.completed``: every required party has signed ``record`` (or nobody else signs it: then right after
    ``document.issued``). Call it after the ``document.signed`` of the last required party; never raises."""
    return _document_event(services, events.DOCUMENT_COMPLETED, record)


def case_event(services: Services, event_type: str, case: Any, **extra: Any) -> str | None:
    """A ``case.*`` event for the keys of the case's agency; never raises."""
    try:
        data = {"case": events.case_data(case, services.settings.base_url), **extra}
    except Exception:  # noqa: BLE001 - as publish: never fail the caller
        log.exception("could not describe case %s for the %s event", getattr(case, "id", "?"), event_type)
        return None
    return publish(services, event_type, data, agency=case.agency, form=None)
