"""Signature labels are bookmarked in the template, exported as PDF destinations, and (once calibrated
against PDFium on a form's first document) place seals and fields where PDFium would."""

from __future__ import annotations

import datetime as dt
import io
import zipfile

import pytest
from lxml import etree
from pyhanko.pdf_utils.reader import PdfFileReader

from service.forms import CATALOGUE
from service.issuing import validate
from service.rendering.context import template_context
from service.rendering.qr import qr_png
from service.rendering.label_marks import bookmark_names, mark_labels
from service.signing import spots
from service.signing.certify import DocumentSigner

from .conftest import ROOT, sample

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def _document(docx: bytes) -> etree._Element:
    return etree.fromstring(zipfile.ZipFile(io.BytesIO(docx)).read("word/document.xml"))


def _docx_with(paragraph_xml: str) -> bytes:
    template = (ROOT / "templates" / "commitment-letter.docx").read_bytes()
    with zipfile.ZipFile(io.BytesIO(template)) as archive:
        parts = {name: archive.read(name) for name in archive.namelist()}
    xml = parts["word/document.xml"].decode()
    parts["word/document.xml"] = xml.replace("<w:body>", f"<w:body>{paragraph_xml}", 1).encode()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, blob in parts.items():
            archive.writestr(name, blob)
    return out.getvalue()


def test_a_label_gets_bookmarks_at_its_start_its_end_and_its_line_end() -> None:
    docx = _docx_with('<w:p><w:r><w:rPr><w:b/></w:rPr><w:t>前文甲方签章：乙</w:t></w:r><w:r><w:t>后文</w:t></w:r></w:p>')
    root = _document(mark_labels(docx, ["甲方签章"]))
    paragraph = next(p for p in root.iter(f"{W}p") if "甲方签章" in "".join(p.itertext()))
    start, end, line = bookmark_names("甲方签章")
    sequence = [(child.tag.split("}")[1], child.get(f"{W}name") or "".join(child.itertext())) for child in paragraph]
    assert sequence == [
        ("r", "前文"), ("bookmarkStart", start), ("bookmarkEnd", ""), ("r", "甲方签章"), ("bookmarkStart", end),
        ("bookmarkEnd", ""), ("r", "：乙"), ("r", "后文"), ("bookmarkStart", line), ("bookmarkEnd", ""),
    ]
    assert all(run.find(f"{W}rPr/{W}b") is not None for run in paragraph.findall(f"{W}r")[:3])  # the run's format kept
    ids = [b.get(f"{W}id") for b in root.iter(f"{W}bookmarkStart")]
    assert len(ids) == len(set(ids))


def test_only_the_last_occurrence_is_marked_and_never_twice() -> None:
    docx = _docx_with('<w:p><w:r><w:t>经办人甲</w:t></w:r></w:p><w:p><w:r><w:t>经办人乙</w:t></w:r></w:p>')
    once = mark_labels(docx, ["经办人甲", "经办人乙"])
    twice = mark_labels(once, ["经办人甲", "经办人乙"])
    names = [b.get(f"{W}name") for b in _document(twice).iter(f"{W}bookmarkStart")]
    for label in ("经办人甲", "经办人乙"):
        assert names.count(bookmark_names(label)[0]) == 1


def test_a_label_split_across_runs_or_missing_is_left_alone() -> None:
    docx = _docx_with('<w:p><w:r><w:t>甲方</w:t></w:r><w:r><w:t>签章</w:t></w:r></w:p>')
    assert mark_labels(docx, ["甲方签章", "不存在的标签"]) == docx
    assert mark_labels(b"not a docx", ["甲方签章"]) == b"not a docx"


@pytest.mark.parametrize("form_id", list(CATALOGUE))
def test_destinations_place_labels_where_pdfium_finds_them(services, form_id: str) -> None:
    """The first document of a form calibrates; the next is placed from its destinations alone. One
    from an agency with a longer name (which can respace a justified line) is placed within a point
    of PDFium's own reading of it, from destinations or, if the label's width changed, by PDFium."""
    spec = CATALOGUE[form_id]
    signer = DocumentSigner(services.signer.keys, services.signer.timestamper, services.signer.revocation)
    pdfs = []
    for serial, agency_id in (("2026-00000001-AAAA", "jc-justice"), ("2026-00000002-BBBB", "jc-justice"),
                              ("2026-00000003-CCCC", "jx-service")):
        _, data = validate(form_id, sample(form_id), dt.date(2026, 11, 22))
        context = template_context(spec, data, agency=services.agencies.get(agency_id), number="N", serial=serial,
                                   verify_url=f"https://x/v/{serial}", issued_on=dt.date(2026, 11, 22))
        pdfs.append(services.converter.convert(services.renderer.render(spec.template, context, qr_png(f"https://x/v/{serial}"))))

    calls = []
    original = spots.find_labels

    def counting(pdf, labels):  # observes, does not replace
        calls.append(list(labels))
        return original(pdf, labels)

    def locate(pdf):
        return signer.locate_labels(pdf, PdfFileReader(io.BytesIO(pdf), strict=False), spec)

    spots.find_labels = counting
    try:
        locate(pdfs[0])
        assert calls == [list(spec.labels)]  # the first document of the form is measured with PDFium
        locate(pdfs[1])
        assert calls == [list(spec.labels)]  # the next is not
        found, last = locate(pdfs[2])
    finally:
        spots.find_labels = original
    truth = original(pdfs[2], spec.labels)
    assert last == pytest.approx(truth.last_page, abs=0.01)
    for label in spec.labels:
        a, b = found[label], truth.labels[label]
        assert a.page == b.page
        for field in ("x0", "y0", "x1", "y1"):
            assert getattr(a, field) == pytest.approx(getattr(b, field), abs=1.0), (label, field)
        assert a.line_end == pytest.approx(b.line_end, abs=3.0)
