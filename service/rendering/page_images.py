"""A PDF's pages as pictures, for a signer to read on a screen before signing (the service's own PDFs only)."""

from __future__ import annotations

import io

import pypdfium2 as pdfium

from ..errors import NotFound
from ..pdfium import PDFIUM

SCALE = 1.5  # 108 dpi: legible on a phone, light enough to send


def page_count(pdf: bytes) -> int:
    with PDFIUM:
        document = pdfium.PdfDocument(pdf)
        try:
            return len(document)
        finally:
            document.close()


def page_png(pdf: bytes, index: int) -> bytes:
    """Page ``index`` (from 0) as a PNG; raises NotFound for a page the document does not have."""
    with PDFIUM:
        document = pdfium.PdfDocument(pdf)
        try:
            if not 0 <= index < len(document):
                raise NotFound("没有这一页", "no such page", code="page_not_found")
            image = document[index].render(scale=SCALE).to_pil()
        finally:
            document.close()
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=False)
    return out.getvalue()
