"""Test doubles behind the converter and signer interfaces, for tests of the HTTP layer and the access rules
that need a document but not what LibreOffice and pyHanko make of it (those run end to end elsewhere:
test_issue_every_form, test_signing, test_verification, the browser tests)."""

from __future__ import annotations

import io
from functools import cache

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.writer import PdfFileWriter


@cache
def blank_pdf() -> bytes:
    """A one-page PDF, made once."""
    writer = PdfFileWriter()
    writer.insert_page(generic.DictionaryObject({
        generic.NameObject("/Type"): generic.NameObject("/Page"),
        generic.NameObject("/MediaBox"): generic.ArrayObject([generic.NumberObject(n) for n in (0, 0, 595, 842)]),
        generic.NameObject("/Resources"): generic.DictionaryObject(),
        generic.NameObject("/Contents"): writer.add_object(generic.StreamObject(stream_data=b"")),
    }))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


class BlankPdfConverter:
    """Answers every DOCX with the same blank page, at once."""

    def __init__(self) -> None:
        self.conversions = 0

    def convert(self, docx: bytes) -> bytes:
        self.conversions += 1
        return blank_pdf()

    def start(self) -> None:
        pass

    def stop(self) -> None:
        pass

    def status(self) -> dict:
        return {"workers": 1, "idle": 1, "waiting": 0, "size": 1, "conversions": self.conversions, "failures": 0,
                "restarts": 0, "started": True}


class UnsignedSigner:
    """Returns the PDF as it came: no seal, no signature, no timestamp."""

    def sign(self, pdf: bytes, request: object) -> bytes:
        return pdf
