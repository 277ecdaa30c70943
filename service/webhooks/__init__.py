"""Webhooks for calling systems: events of their documents POSTed to the URLs they registered, signed.

    publishing.py     document_issued / _signed / _completed / _voided → one pending delivery per webhook (never raises)
    delivery.py       the deliverer: a serving process's background threads; claim, sign, POST, retry with backoff
    signature.py      X-Chengnuo-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>; the receiver's check
    events.py         the event types, wildcards, and what a document event carries
    subscriptions.py  a key's webhooks: make (the secret shown once), list, delete; the delivery log
    secretbox.py      secrets sealed at rest with a key kept outside the database

The tables and their queries are ``registry/webhooks.py``.
"""

from __future__ import annotations

from .publishing import (
    case_event,
    document_completed,
    document_issued,
    document_signed,
    document_voided,
    publish,
)

__all__ = ["case_event", "document_completed", "document_issued", "document_signed", "document_voided", "publish"]
