"""A batch's documents as one ZIP: each issued PDF (checked against the registry's SHA-256 as it is read, like any
download), and ``manifest.csv`` with one line per row: row, serial, number, sha256, status, document id, errors."""

from __future__ import annotations

import csv
import io
import tempfile
import zipfile
from typing import IO

from ..auth.principal import Principal
from ..runtime import Services
from ..storage import verified
from .progress import get_batch

MANIFEST_COLUMNS = ("row", "serial", "number", "sha256", "status", "document_id", "errors")
SPOOL_BYTES = 16 * 1024 * 1024  # built in memory up to this size, then in a temporary file


def pdf_name(row: int, serial: str) -> str:
    return f"{row:05d}-{serial}.pdf"


def build_archive(services: Services, principal: Principal, batch_id: str) -> tuple[str, IO[bytes]]:
    """(file name, the ZIP, positioned at its start). Raises NotFound, StorageUnavailable, StoredFileCorrupt: a ZIP is
    never handed out with a document missing or altered."""
    batch = get_batch(services, principal, batch_id)
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 - handed to the response, which closes it
    manifest = io.StringIO()
    writer = csv.writer(manifest, lineterminator="\r\n")
    writer.writerow(MANIFEST_COLUMNS)
    count = 0
    with zipfile.ZipFile(spool, "w", zipfile.ZIP_STORED) as archive:  # PDFs are compressed already
        for row in services.batches.rows(batch_id):
            if row.status == "done" and row.document_id:
                record = services.registry.get(row.document_id)
                revisions = services.registry.revisions(record.id)
                sha256 = revisions[0].sha256 if revisions else record.sha256 or ""
                # the document as the batch issued it: its first revision (parties may have signed it since)
                path = revisions[0].pdf_path if revisions else record.pdf_path
                archive.writestr(pdf_name(row.row, record.serial), verified(services.files.get(path), sha256, path))
                writer.writerow([row.row, record.serial, record.number or "", sha256, row.status, record.id, ""])
                count += 1
            else:
                errors = "; ".join(f"{path}: {' '.join(messages)}" if path else " ".join(messages)
                                   for path, messages in (row.errors or {}).items())
                writer.writerow([row.row, "", "", "", row.status, "", errors])
        archive.writestr("manifest.csv", "\ufeff" + manifest.getvalue())
    services.audit.record(actor=principal.actor, action="download", object=f"batch:{batch.id}", outcome="success",
                          detail={"kind": "archive", "documents": count})
    spool.seek(0)
    return f"batch-{batch.id}.zip", spool
