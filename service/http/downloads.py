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


def named_file(content: bytes, kind: str, filename: str, *, inline: bool = False) -> Response:
    """Any other file the API and the pages both serve (templates, previews, page images), by an ASCII name."""
    response = Response(content, mimetype={**MIMETYPES, "png": "image/png"}[kind])
    response.headers["Content-Disposition"] = f'{"inline" if inline else "attachment"}; filename="{filename}"'
    return response
