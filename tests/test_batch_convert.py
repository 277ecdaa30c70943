"""Converting a batch in one LibreOffice load gives each document the PDF it would get alone: its pages,
text, footer numbers, QR code and label destinations — and fonts that hold nothing of the others."""

from __future__ import annotations

import copy
import datetime as dt
import io
import re

import pikepdf
import pytest
from pyhanko.pdf_utils.reader import PdfFileReader

from service.agencies import load_agencies
from service.config import load_settings
from service.converting import docx_merge, font_subset
from service.converting.batch import BatchTimings, convert_batch
from service.converting.pool import Part
from service.converting.priority import background
from service.forms import CATALOGUE
from service.rendering.context import template_context
from service.rendering.docx_render import DocxRenderer
from service.rendering.qr import qr_png
from service.runtime import template_labels
from service.signing import spots
from service.signing.certify import SignatureRequest

from . import pdfcheck, sigcheck
from .conftest import sample

# Four forms, four applicants; each name has characters no other document of the batch prints.
BATCH = [
    ("commitment-letter", "2026-00000011-AAAA", {"applicant": {"name": "龚翠娥"}}),
    ("onsite-verification", "2026-00000012-BBBB", {}),
    ("credit-commitment-disclosure", "2026-00000013-CCCC", {}),
    ("commitment-letter", "2026-00000014-DDDD", {"applicant": {"name": "覃鹭鸶"}}),
]


def _merged(data: dict, changes: dict) -> dict:
    result = copy.deepcopy(data)
    for key, value in changes.items():
        result[key] = _merged(result[key], value) if isinstance(value, dict) else value
    return result


def _render(renderer: DocxRenderer, form_id: str, serial: str, changes: dict) -> tuple[bytes, str]:
    """A rendered document as service.issuing does it, and its verification URL."""
    spec = CATALOGUE[form_id]
    agency = load_agencies(load_settings(environ={}).agencies_file).default
    verify_url = f"http://127.0.0.1:8000/v/{serial}"
    number = {"letter": "晋市司函字〔2026〕1号", "commitment": "[2026年]第1号"}.get(spec.number_kind)
    data = spec.schema().load(_merged(sample(form_id), changes))
    context = template_context(spec, data, agency=agency, number=number, serial=serial, verify_url=verify_url,
                               issued_on=dt.date(2026, 3, 16))
    return renderer.render(spec.template, context, qr_png(verify_url)), verify_url


class _ConvertOnly:
    """A converter without ``convert_parts``: convert_batch cuts the merged PDF apart itself (pikepdf, fontTools)."""

    def __init__(self, pool) -> None:
        self.convert = pool.convert


@pytest.fixture(scope="module", params=["libreoffice-cuts", "pikepdf-cuts"])
def batch(pool, request):
    """The batch converted both ways: LibreOffice exporting each document's pages from the one load (the pool's
    ``convert_parts``), and one export cut apart in Python. The second document is one page long, so Writer puts a
    blank page before the third (which starts again on a right-hand page 1), one the export leaves out."""
    renderer = DocxRenderer(load_settings(environ={}).templates_dir, labels=template_labels())
    rendered = [_render(renderer, form_id, serial, changes) for form_id, serial, changes in BATCH]
    docxs = [docx for docx, _ in rendered]
    timings = BatchTimings()
    split = convert_batch(pool if request.param == "libreoffice-cuts" else _ConvertOnly(pool), docxs, timings=timings)
    alone = [pool.convert(docx) for docx in docxs]
    return {"split": split, "alone": alone, "urls": [url for _, url in rendered], "timings": timings}


def test_every_document_of_the_batch_is_cut_out_of_one_merged_conversion(batch):
    assert (batch["timings"].merged_documents, batch["timings"].alone_documents) == (len(BATCH), 0)


@pytest.mark.parametrize("index", range(len(BATCH)))
def test_a_split_document_has_the_pages_and_text_it_has_alone(batch, index):
    split, alone = batch["split"][index], batch["alone"][index]
    assert pdfcheck.page_count(alone) == pdfcheck.page_count(split)
    assert pdfcheck.text(alone) == pdfcheck.text(split)


@pytest.mark.parametrize("index", range(len(BATCH)))
def test_a_split_document_numbers_its_own_pages_in_its_footer(batch, index):
    split = batch["split"][index]
    total = pdfcheck.page_count(split)
    footers = re.findall(r"第\s*(\d+)\s*页\s*/\s*共\s*(\d+)\s*页", pdfcheck.text(split))
    assert [(str(n), str(total)) for n in range(1, total + 1)] == footers


@pytest.mark.parametrize("index", range(len(BATCH)))
def test_a_split_document_looks_as_it_does_alone(batch, index):
    """Same layout to the pixel but for glyph positions within a line, which LibreOffice rounds at the
    boundaries of its font subsets (those differ in a batch): under a quarter of a point."""
    split, alone = batch["split"][index], batch["alone"][index]
    for page in range(1, pdfcheck.page_count(alone) + 1):
        a, b = pdfcheck.render_page(alone, page, dpi=50).convert("L"), pdfcheck.render_page(split, page, dpi=50).convert("L")
        differing = sum(1 for x, y in zip(a.get_flattened_data(), b.get_flattened_data()) if abs(x - y) > 96)
        assert differing < 0.002 * a.width * a.height, (page, differing)
    with pikepdf.open(io.BytesIO(split)) as one, pikepdf.open(io.BytesIO(alone)) as other:
        assert sorted(other.Root.get("/Dests", {}).keys()) == sorted(one.Root.get("/Dests", {}).keys())


@pytest.mark.parametrize("index", range(len(BATCH)))
def test_a_split_documents_qr_code_reads_as_its_own_url(batch, index):
    split = batch["split"][index]
    last = pdfcheck.page_count(split)
    assert [batch["urls"][index]] == pdfcheck.qr_codes(pdfcheck.render_page(split, last, dpi=200).convert("L"))


def _font_characters(pdf: bytes) -> tuple[set[str], int, int]:
    """Every character any embedded font of ``pdf`` maps (ToUnicode), its glyphs in all, and its codes."""
    characters: set[str] = set()
    glyphs = codes = 0
    with pikepdf.open(io.BytesIO(pdf)) as document:
        for obj in document.objects:
            if not (isinstance(obj, pikepdf.Dictionary) and obj.get("/Type") == "/Font"):
                continue
            mapping = font_subset.to_unicode(obj.ToUnicode.read_bytes())
            characters |= {text.decode("utf-16-be") for text in mapping.values()}
            codes += len(mapping)
            descriptor = obj.FontDescriptor
            if "/FontFile" in descriptor:
                glyphs += len(font_subset._read_type1(descriptor.FontFile.read_bytes())["CharStrings"]) - 1  # .notdef
            else:
                from fontTools.ttLib import TTFont
                glyphs += len(TTFont(io.BytesIO(descriptor.FontFile2.read_bytes())).getGlyphOrder()) - 1
    return characters, glyphs, codes


def test_a_split_documents_fonts_hold_none_of_the_other_documents_characters(batch):
    shown = [set(pdfcheck.squash(pdfcheck.text(pdf))) for pdf in batch["alone"]]
    for index, pdf in enumerate(batch["split"]):
        others_only = set().union(*(s for i, s in enumerate(shown) if i != index)) - shown[index]
        characters, glyphs, codes = _font_characters(pdf)
        assert others_only, "the batch should have characters of its own per document"
        assert set() == characters & others_only
        assert glyphs <= codes  # no glyph without a code of this document's own


def test_documents_that_cannot_share_a_load_are_converted_alone(pool):
    renderer = DocxRenderer(load_settings(environ={}).templates_dir, labels=template_labels())
    docx, _ = _render(renderer, "commitment-letter", "2026-00000021-EEEE", {})
    broken = b"not a docx"
    with pytest.raises(docx_merge.Unmergeable):
        docx_merge.inspect(broken)
    timings = BatchTimings()
    [pdf] = convert_batch(pool, [docx], timings=timings)
    assert (0, 1) == (timings.merged_documents, timings.alone_documents)
    assert pdfcheck.text(pool.convert(docx)) == pdfcheck.text(pdf)


@pytest.fixture(scope="module")
def nssdb(tmp_path_factory, pki):
    return sigcheck.make_nssdb(tmp_path_factory.mktemp("nss"), pki / "root-ca.pem")


def test_split_documents_are_signed_at_their_own_labels_and_verify(batch, services, nssdb):
    for (form_id, serial, _), url, pdf in zip(BATCH, batch["urls"], batch["split"]):
        spec = CATALOGUE[form_id]
        reader = PdfFileReader(io.BytesIO(pdf))
        marks = spots.marks(reader, spec.labels, spots.pages(reader))
        assert sorted(spec.labels) == sorted(marks)  # found through the destinations, on the document's own pages
        signed = services.signer.sign(pdf, SignatureRequest(spec=spec, agency=services.agencies.default, serial=serial,
                                                            number=None, verify_url=url))
        report = sigcheck.pdfsig(signed, nssdb)
        assert "Signature is Valid." == report["agency"]["Signature Validation"]
        assert report["agency"]["whole document"] is False  # the validation data and a document timestamp (B-LTA) follow


def test_a_part_whose_bookmarks_are_missing_is_skipped_not_guessed(pool):
    renderer = DocxRenderer(load_settings(environ={}).templates_dir, labels=template_labels())
    docx, _ = _render(renderer, "commitment-letter", "2026-00000031-FFFF", {})
    assert [None] == pool.convert_parts(docx, [Part("cnbatch0000s", "cnbatch0000e")])


def test_batch_work_gets_its_parts_through_the_background_path(pool):
    renderer = DocxRenderer(load_settings(environ={}).templates_dir, labels=template_labels())
    docxs = [_render(renderer, "commitment-letter", f"2026-0000004{i}-GGGG", {})[0] for i in range(2)]
    with background():
        timings = BatchTimings()
        pdfs = convert_batch(pool, docxs, timings=timings)
    assert (2, 0, 0) == (timings.merged_documents, timings.alone_documents, pool.status()["background"])
    assert [pdfcheck.text(pool.convert(docx)) for docx in docxs] == [pdfcheck.text(pdf) for pdf in pdfs]
