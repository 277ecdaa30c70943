"""Use case: keep stored documents verifiable after their TSA's certificate ends (PAdES B-LTA archival timestamps).

Every issued document (not voided, not being issued) is examined at its latest revision. It is *due* when the
certificate of the TSA that signed its last timestamp ends within the threshold (``CHENGNUO_LTV_RENEW_DAYS``). A due
document is renewed (``signing/archival.py``): the last timestamp's validation data and a new document timestamp
from the configured TSA, kept as a new revision of kind ``archive``, which changes no party's state and still
matches what the registry issued (the certified revision is untouched). Each document ends as one of:

    not_due   its last timestamp's TSA certificate ends after the threshold
    renewed   a new revision, stored, recorded and audited
    blocked   renewing would extend nothing (the configured TSA's certificate ends no later), or the document is
              not B-LTA: nothing is written, someone must act
    failed    the TSA, the revocation data, the store or a concurrent signature: the document stays as it was

Safe to stop and run again: the new file is stored before it is recorded, and the registry points at the old one
until the record commits; a renewed document is not due, or blocked, the next time.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass

from asn1crypto import x509

from .auth.principal import Principal
from .documents import latest_pdf
from .errors import ChengnuoError, TimestampUnavailable
from .registry.documents import DocumentRecord
from .runtime import Services
from .signing.archival import (
    LastTimestamp,
    add_archival_timestamp,
    current_tsa_certificate,
    last_timestamp,
)

log = logging.getLogger(__name__)

NOT_DUE, RENEWED, WOULD_RENEW, BLOCKED, FAILED = "not_due", "renewed", "would_renew", "blocked", "failed"


@dataclass(frozen=True)
class Outcome:
    document_id: str
    serial: str
    state: str  # not_due | renewed | would_renew (a dry run) | blocked | failed
    zh: str = ""  # why, for blocked and failed
    en: str = ""
    expires: dt.datetime | None = None  # when the certificate of the document's last timestamp ends (before renewal)
    renewed_until: dt.datetime | None = None  # when the new timestamp's certificate ends
    sha256: str | None = None  # of the renewed file

    @property
    def reason(self) -> str:
        return f"{self.zh} / {self.en}" if self.zh else ""


@dataclass(frozen=True)
class RenewalSummary:
    total: int  # issued documents when the run started
    outcomes: tuple[Outcome, ...]  # one per document examined, in order
    dry_run: bool

    def count(self, *states: str) -> int:
        return sum(1 for o in self.outcomes if o.state in states)

    @property
    def examined(self) -> int:
        return len(self.outcomes)

    @property
    def due(self) -> int:
        return self.count(RENEWED, WOULD_RENEW, BLOCKED, FAILED)

    @property
    def renewed(self) -> int:
        return self.count(RENEWED)

    @property
    def blocked(self) -> int:
        return self.count(BLOCKED)

    @property
    def failed(self) -> int:
        return self.count(FAILED)

    @property
    def ok(self) -> bool:
        """Nothing failed (blocked documents need someone, but the run did what it could)."""
        return self.failed == 0


def _day(moment: dt.datetime) -> str:
    return f"{moment:%Y-%m-%d}"


class _Tsa:
    """The configured TSA, and the certificate it signs with now: asked once, when the first document is due."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self._cert: x509.Certificate | None = None
        self._error: ChengnuoError | None = None

    def certificate(self) -> x509.Certificate:
        """Raises TimestampUnavailable (and again for every later document, without asking again)."""
        if self._error is not None:
            raise self._error
        if self._cert is None:
            try:
                self.services.revocation.prepare()  # in development: the development PKI's server, which also answers its TSAs
                self._cert = current_tsa_certificate(self.services.timestamps.timestamper())
            except ChengnuoError as exc:  # TimestampUnavailable; ConfigurationError when the development PKI is missing
                self._error = exc
                raise
            log.info("the TSA (%s) signs with %s, valid to %s", self.services.timestamps.label, self._cert.subject.human_friendly,
                     self._cert.not_valid_after.isoformat())
        return self._cert


def renew_archives(services: Services, principal: Principal, *, within: dt.timedelta | None = None, limit: int | None = None,
                   dry_run: bool = False, progress: Callable[[int, int], None] | None = None) -> RenewalSummary:
    """Renews every due document (see the module's docstring); ``within``: the threshold (default: the setting);
    ``limit``: stop after this many renewed (or, dry, that would be); ``progress(done, total)`` after each document.
    A document that fails is reported and audited, and the next one is tried. Raises nothing of its own per document;
    StorageUnavailable or an audit error from the registry or the audit chain themselves."""
    within = within if within is not None else dt.timedelta(days=services.settings.ltv_renew_days)
    tsa = _Tsa(services)
    ids = services.registry.issued_ids()
    outcomes: list[Outcome] = []
    for done, document_id in enumerate(ids, start=1):
        record = services.registry.get(document_id)
        if record.issued:  # voided since the list was read: nothing to keep alive
            outcome = _examine(services, principal, record, tsa, within, dry_run)
            outcomes.append(outcome)
            if outcome.state == FAILED:
                log.warning("archive of %s not renewed: %s", record.serial, outcome.en)
        if progress:
            progress(done, len(ids))
        if limit is not None and sum(1 for o in outcomes if o.state in (RENEWED, WOULD_RENEW)) >= limit:
            break
    return RenewalSummary(total=len(ids), outcomes=tuple(outcomes), dry_run=dry_run)


def _examine(services: Services, principal: Principal, record: DocumentRecord, tsa: _Tsa, within: dt.timedelta,
             dry_run: bool) -> Outcome:
    def outcome(state: str, zh: str = "", en: str = "", **more: object) -> Outcome:
        return Outcome(record.id, record.serial, state, zh, en, **more)  # type: ignore[arg-type]

    try:
        pdf = latest_pdf(services, record)
        last = last_timestamp(pdf)
    except ChengnuoError as exc:  # NotFound, StorageUnavailable, StoredFileCorrupt, SigningError (unreadable)
        return _failed(services, principal, record, exc, None, audit=not dry_run)
    if last is None:
        return outcome(BLOCKED, "文书没有任何时间戳，不能续期", "the document carries no timestamp at all: there is nothing to renew")
    if last.not_after - services.now() > within:
        return outcome(NOT_DUE, expires=last.not_after)
    if last.kind != "document":
        return outcome(BLOCKED, "文书没有文档时间戳（签发于 PAdES B-LTA 之前），不能自动续期",
                       "the document has no document timestamp (issued before PAdES B-LTA): it cannot be renewed automatically",
                       expires=last.not_after)
    try:
        current = tsa.certificate()
    except ChengnuoError as exc:
        return _failed(services, principal, record, exc, last, audit=not dry_run)
    if current.not_valid_after <= last.not_after:
        return outcome(BLOCKED, f"时间戳服务当前的证书（至 {_day(current.not_valid_after)}）不晚于文书最后一个时间戳的证书"
                                f"（至 {_day(last.not_after)}）到期，续期不能延长有效期；请配置证书更新的时间戳服务",
                       f"the TSA's current certificate (valid to {_day(current.not_valid_after)}) ends no later than that of the "
                       f"document's last timestamp (valid to {_day(last.not_after)}): renewing would extend nothing; configure a TSA "
                       "with a newer certificate", expires=last.not_after)
    if dry_run:
        return outcome(WOULD_RENEW, expires=last.not_after, renewed_until=current.not_valid_after)
    try:
        renewed = add_archival_timestamp(pdf, last, services.timestamps.timestamper(), services.revocation)
        return _record(services, principal, record, pdf, renewed, last, current)
    except ChengnuoError as exc:  # TimestampUnavailable, RevocationUnavailable, SigningError, StorageUnavailable, Conflict
        return _failed(services, principal, record, exc, last)


def _record(services: Services, principal: Principal, record: DocumentRecord, before: bytes, renewed: bytes, last: LastTimestamp,
            current: x509.Certificate) -> Outcome:
    """Stores the renewed file under a name of its own (a party signing meanwhile writes its own revision's), then
    records it; a Conflict leaves the stored file unreferenced and the document as it was."""
    now = services.now()
    number = record.revision + 1
    sha256 = hashlib.sha256(renewed).hexdigest()
    path = services.files.put(f"{record.id}.r{number}-archive-{sha256[:12]}", "pdf", renewed, now)
    services.registry.add_archival_revision(record.id, after=record.revision, sha256=sha256, pdf_path=path, size=len(renewed), now=now)
    services.audit.record(actor=principal.actor, action="renew_archive", object=f"document:{record.id}", outcome="success", detail={
        "serial": record.serial, "revision": number, "sha256_before": hashlib.sha256(before).hexdigest(), "sha256_after": sha256,
        "tsa": current.subject.human_friendly, "tsa_not_after": current.not_valid_after.isoformat(),
        "previous_tsa_not_after": last.not_after.isoformat(),
    })
    log.info("renewed the archive of %s (%s): revision %d, timestamp certificate now valid to %s (was %s)", record.serial, record.form,
             number, _day(current.not_valid_after), _day(last.not_after))
    return Outcome(record.id, record.serial, RENEWED, expires=last.not_after, renewed_until=current.not_valid_after, sha256=sha256)


def _failed(services: Services, principal: Principal, record: DocumentRecord, error: ChengnuoError, last: LastTimestamp | None,
            *, audit: bool = True) -> Outcome:
    """The failure as an outcome, audited unless ``audit`` is false (a dry run writes nothing)."""
    if audit:
        services.audit.record(actor=principal.actor, action="renew_archive", object=f"document:{record.id}", outcome="failed",
                              detail={"serial": record.serial, "error": error.code, "message": error.en})
    if isinstance(error, TimestampUnavailable):
        log.debug("TSA %s unavailable", services.timestamps.label, exc_info=error)
    return Outcome(record.id, record.serial, FAILED, error.zh, error.en, expires=last.not_after if last else None)
