"""Templates are slimmed of Word's style gallery and Word-only parts, and the document stays the same."""

from __future__ import annotations

import io
import re
import subprocess
import zipfile
from pathlib import Path

from docx import Document
from lxml import etree

from service.converting.pool import ConverterPool
from service.rendering.docx_render import DocxRenderer
from service.rendering.slim import slim_docx
from tools.templates_commitments import TEMPLATES

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def _bloated_letter() -> bytes:
    """The commitment letter as python-docx writes it, with Word's whole style gallery."""
    builder = TEMPLATES["commitment-letter"]()
    out = io.BytesIO()
    builder.doc.save(out)
    return out.getvalue()


def _parts(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _style_ids(styles_xml: bytes) -> set[str]:
    return {style.get(f"{W}styleId") for style in etree.fromstring(styles_xml).iter(f"{W}style")}


def test_slimming_drops_word_only_parts_and_unused_styles_but_keeps_what_the_document_uses() -> None:
    bloated = _bloated_letter()
    before, after = _parts(bloated), _parts(slim_docx(bloated))
    assert "word/stylesWithEffects.xml" in before and "docProps/thumbnail.jpeg" in before
    dropped = set(before) - set(after)
    assert dropped >= {"word/stylesWithEffects.xml", "docProps/thumbnail.jpeg"}
    assert not any(name.startswith("customXml/") for name in after)
    for name in ("word/document.xml", "word/numbering.xml", "word/settings.xml", "word/fontTable.xml", "word/theme/theme1.xml"):
        assert after[name] == before[name]
    content_types = after["[Content_Types].xml"].decode()
    rels = after["_rels/.rels"].decode() + after["word/_rels/document.xml.rels"].decode()
    for name in dropped:
        assert f'PartName="/{name}"' not in content_types
        assert name.split("/")[-1] not in rels

    kept = _style_ids(after["word/styles.xml"])
    assert len(after["word/styles.xml"]) < len(before["word/styles.xml"]) / 10
    assert b"latentStyles" not in after["word/styles.xml"]
    used = {value.decode() for part in ("word/document.xml", "word/footer1.xml") if part in after
            for value in re.findall(rb'w:pStyle w:val="([^"]+)"', after[part])}
    assert used and used <= kept
    styles = {s.get(f"{W}styleId"): s for s in etree.fromstring(after["word/styles.xml"]).iter(f"{W}style")}
    for style in styles.values():  # every style a kept one is based on is kept
        based = style.find(f"{W}basedOn")
        assert based is None or based.get(f"{W}val") in kept
    assert {"Normal", "DefaultParagraphFont", "TableNormal"} <= kept


def test_slimming_leaves_a_file_it_cannot_read_alone() -> None:
    for data in (b"", b"not a zip", b"PK\x03\x04broken"):
        assert slim_docx(data) == data


def test_a_slimmed_template_lays_out_the_same_pdf(pool: ConverterPool, tmp_path: Path) -> None:
    bloated = _bloated_letter()
    texts = []
    for name, data in (("bloated", bloated), ("slim", slim_docx(bloated))):
        pdf = tmp_path / f"{name}.pdf"
        pdf.write_bytes(pool.convert(data))
        texts.append(subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True, text=True).stdout)
        subprocess.run(["pdftoppm", "-r", "40", "-png", str(pdf), str(tmp_path / name)], check=True)
    assert texts[0] == texts[1] and "证明事项告知承诺书" in texts[0]
    pages = sorted(tmp_path.glob("bloated-*.png"))
    assert pages and [p.read_bytes() for p in pages] == [(tmp_path / p.name.replace("bloated", "slim")).read_bytes() for p in pages]


def test_the_renderer_slims_a_template_saved_with_the_whole_gallery(tmp_path: Path) -> None:
    (tmp_path / "letter.docx").write_bytes(_bloated_letter())
    renderer = DocxRenderer(tmp_path)
    slim = renderer.template_bytes("letter.docx")
    assert "word/stylesWithEffects.xml" not in _parts(slim)
    assert Document(io.BytesIO(slim)).paragraphs[0].text == Document(io.BytesIO(_bloated_letter())).paragraphs[0].text
