"""The one verification function behind the API, the CLI and the pages."""

from __future__ import annotations

import hashlib
import logging
import time

from .auth.principal import Principal
from .errors import PdfTooLarge, ServiceBusy, UnusablePdf
from .runtime import Services
from .verifying.report import VerificationReport, build_report

log = logging.getLogger(__name__)


def verify(services: Services, actor: Principal, pdf: bytes, *, started: float | None = None) -> VerificationReport:
    """Checks an uploaded PDF: its signatures (in a sandboxed worker), then the registry. Anyone may.
    The time limit counts from ``started`` (time.monotonic() when the request arrived; default: now).
    Logs one line per verification.

    Raises PdfTooLarge, UnusablePdf for what is not a PDF that can be checked, ServiceBusy when every
    verification worker is taken and the queue is full.
    """
    started = started if started is not None else time.monotonic()
    try:
        report, notes = _verify(services, pdf, started)
    except (PdfTooLarge, UnusablePdf, ServiceBusy) as exc:
        log.info("verification of %d bytes: %s in %.0f ms%s", len(pdf), exc.code, (time.monotonic() - started) * 1000,
                 f"; {exc.notes}" if getattr(exc, "notes", "") else "")
        if isinstance(exc, ServiceBusy):
            raise
        services.metrics.verifications.labels(verdict="unusable").inc()
        services.audit.record(actor=actor.actor, action="verify", object="upload", outcome="unusable",
                              detail={"error": exc.code, "bytes": len(pdf)})
        raise
    log.info("verified %d bytes: serial=%s verdict=%s in %.0f ms%s", len(pdf), report.document.serial, report.verdict,
             (time.monotonic() - started) * 1000, f"; {notes}" if notes else "")
    services.metrics.verifications.labels(verdict=report.verdict).inc()
    serial = report.document.serial
    services.audit.record(actor=actor.actor, action="verify", object=f"serial:{serial}" if serial else "upload",
                          outcome=report.verdict, detail={"document": report.document.id, "bytes": len(pdf)})
    return report


def _verify(services: Services, pdf: bytes, started: float) -> tuple[VerificationReport, str]:
    limit = services.settings.verify_max_bytes
    if len(pdf) > limit:
        raise PdfTooLarge(f"文件过大（上限 {limit // (1024 * 1024)} MB）", f"the file is larger than the limit of {limit} bytes")
    if not pdf.strip():
        raise UnusablePdf("文件为空", "the file is empty", code="empty_file")
    analysis, notes = services.sandbox.analyse(pdf, started, services.now())
    record = services.registry.find_by_serial(analysis.serial) if analysis.serial else None
    agency = services.agencies.by_id.get(record.agency) if record else None
    revisions = services.registry.revisions(record.id) if record else []
    return build_report(analysis, record, agency.name if agency else None, services.now(), services.development_tsas,
                        revisions=revisions, copy_sha256=hashlib.sha256(pdf).hexdigest(), compromise_of=services.compromises.find), notes
