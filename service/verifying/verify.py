"""The one verification function behind the API, the CLI and the pages."""

from __future__ import annotations

import logging

from ..auth.principal import Principal
from ..errors import PdfTooLarge, UnusablePdf
from ..runtime import Services
from .report import VerificationReport, build_report

log = logging.getLogger(__name__)


def verify(services: Services, actor: Principal, pdf: bytes) -> VerificationReport:
    """Checks an uploaded PDF: its signatures (in a sandboxed worker), then the registry. Anyone may.

    Raises PdfTooLarge, or UnusablePdf for what is not a PDF that can be checked.
    """
    try:
        report = _verify(services, pdf)
    except (PdfTooLarge, UnusablePdf) as exc:
        services.metrics.verifications.labels(verdict="unusable").inc()
        services.audit.record(actor=actor.actor, action="verify", object="upload", outcome="unusable",
                              detail={"error": exc.code, "bytes": len(pdf)})
        raise
    services.metrics.verifications.labels(verdict=report.verdict).inc()
    serial = report.document.serial
    services.audit.record(actor=actor.actor, action="verify", object=f"serial:{serial}" if serial else "upload",
                          outcome=report.verdict, detail={"document": report.document.id, "bytes": len(pdf)})
    return report


def _verify(services: Services, pdf: bytes) -> VerificationReport:
    limit = services.settings.verify_max_bytes
    if len(pdf) > limit:
        raise PdfTooLarge(f"文件过大（上限 {limit // (1024 * 1024)} MB）", f"the file is larger than the limit of {limit} bytes")
    if not pdf.strip():
        raise UnusablePdf("文件为空", "the file is empty", code="empty_file")
    analysis = services.sandbox.analyse(pdf)
    record = services.registry.find_by_serial(analysis.serial) if analysis.serial else None
    agency = services.agencies.by_id.get(record.agency) if record else None
    report = build_report(analysis, record, agency.name if agency else None, services.now())
    log.info("verified serial=%s verdict=%s", analysis.serial, report.verdict)
    return report
