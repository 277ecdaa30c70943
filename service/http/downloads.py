"""A download of an issued document's PDF or DOCX: the same response for the API and the pages."""

from __future__ import annotations

from flask import Response

from ..registry.documents import DocumentRecord

MIMETYPES = {"pdf": "application/pdf", "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document"}


def file_response(record: DocumentRecord, content: bytes, kind: str) -> Response:
    """A download of an issued document's PDF or DOCX: the same for the API and the pages."""
    response = Response(content, mimetype=MIMETYPES[kind])
    response.headers["Content-Disposition"] = f'attachment; filename="{record.form}-{record.serial}.{kind}"'
    response.headers["X-Document-Serial"] = record.serial
    return response
