"""Use case: a document's evidence — what happened to it, from the audit chain: its number drawn, its issue,
each signing link made, each signature (who, which party, how identity was checked and by whom, when, from
where, the document's hashes before and after) and every refused try, its voiding. Each event names the
audit entry (seq and hash) that holds it, so that ``audit verify`` vouches for it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from . import documents
from .audit import entry_hash
from .auth.principal import Principal
from .documents import DocumentDetail
from .forms import CATALOGUE
from .runtime import Services

WHAT = {
    "reserve": ("编号", "number drawn"), "issue": ("签发", "issued"), "signing.link": ("发起签署", "signing link made"),
    "sign": ("签署", "signed"), "void": ("作废", "voided"), "download": ("下载", "downloaded"),
}


@dataclass(frozen=True)
class EvidenceEvent:
    seq: int
    at: dt.datetime
    action: str
    what_zh: str
    what_en: str
    outcome: str
    actor: str
    detail: Mapping[str, Any]
    entry_hash: str


@dataclass(frozen=True)
class Evidence:
    document: DocumentDetail
    form_title: str
    agency_name: str
    events: tuple[EvidenceEvent, ...]
    entries_intact: bool  # each event's audit entry still hashes to what the chain holds
    head_agrees: bool  # the audit trail's head agreed with its chain when this evidence was made


def evidence(services: Services, principal: Principal, document_id: str) -> Evidence:
    """Raises NotFound (also for a document the principal may not read)."""
    record = documents.get_detail(services, principal, document_id)
    entries = [e for e in services.audit.about(f"document:{record.id}") if e.action != "download"]
    events = tuple(
        EvidenceEvent(e.seq, e.at, e.action, *WHAT.get(e.action, (e.action, e.action)), e.outcome, e.actor, e.detail, e.hash)
        for e in entries
    )
    intact = all(entry_hash(**{k: v for k, v in asdict(e).items() if k != "hash"}) == e.hash for e in entries)
    spec, agency = CATALOGUE.get(record.form), services.agencies.by_id.get(record.agency)
    return Evidence(record, spec.title if spec else record.form, agency.name if agency else record.agency, events, intact,
                    services.audit.head_problem() is None)
