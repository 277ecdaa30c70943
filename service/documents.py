"""Reading issued documents: metadata and files, for whoever may see them; every download is audited."""

from __future__ import annotations

from .auth.principal import Principal, authorize_read
from .errors import NotFound
from .registry.documents import DocumentRecord
from .runtime import Services


def get_document(services: Services, principal: Principal, document_id: str) -> DocumentRecord:
    """Raises NotFound, also for a document of an agency the principal does not act for."""
    record = services.registry.get(document_id)
    authorize_read(principal, document_id, record.agency, record.form)
    return record


def document_file(services: Services, principal: Principal, document_id: str, kind: str) -> tuple[DocumentRecord, bytes]:
    """The issued PDF (``kind="pdf"``) or rendered DOCX; raises NotFound when not visible or not issued."""
    record = get_document(services, principal, document_id)
    if record.status != "issued":
        raise NotFound("该文书未签发或已作废，无法下载", f"document {document_id} is {record.status}; there is nothing to download",
                       code="document_not_available")
    content = services.files.get(record.pdf_path if kind == "pdf" else record.docx_path)
    services.audit.record(actor=principal.actor, action="download", object=f"document:{record.id}", outcome="success",
                          detail={"serial": record.serial, "kind": kind})
    return record, content
