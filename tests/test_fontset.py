"""The converter's font set: narrowed faces, the fallback to complete ones, and the same pages either way."""

from __future__ import annotations

import io
import os
import subprocess
from collections.abc import Iterator
from dataclasses import replace

import pytest
from docx import Document
from docx.oxml.ns import qn
from fontTools.ttLib import TTFont
from PIL import Image, ImageChops

from service.config import load_settings
from service.converting.pool import ConverterPool
from service.rendering.docx_render import DocxRenderer
from service.converting.fontset import (
    COMPLETE_SUFFIX,
    FAMILIES,
    common_code_points,
    ensure,
    installed_faces,
)
from service.runtime import pool_settings, template_labels

from . import pdfcheck
from .conftest import ROOT, issue_context, sample

RARE = "镕喆玥堃䶮한국어"  # outside GB 2312 (and Hangul): drawn from the complete faces
COMMON = "告知承诺书申请人ABC123《》“”（一）①"


@pytest.fixture(scope="module")
def font_config() -> str:
    config = ensure(load_settings(environ={}).fonts_dir)
    assert config is not None, "the font set could not be built"
    return str(config)


@pytest.fixture(scope="module")
def system_pool() -> Iterator[ConverterPool]:
    """One LibreOffice with the system's fonts, as before the font set."""
    pool = ConverterPool(replace(pool_settings(load_settings(environ={}, converter_workers=1, font_set=False)), size=1))
    pool.start()
    yield pool
    pool.stop()


def fc_match(config: str, pattern: str) -> str:
    env = {**os.environ, "FONTCONFIG_FILE": config}
    return subprocess.run(["fc-match", "--format", "%{family[0]}|%{file}", pattern], env=env, capture_output=True,
                          text=True, check=True).stdout


def pages(pdf: bytes) -> list[Image.Image]:
    return [pdfcheck.render_page(pdf, n, dpi=100).convert("L") for n in range(1, pdfcheck.page_count(pdf) + 1)]


def differing_pixels(a: Image.Image, b: Image.Image) -> int:
    return ImageChops.difference(a, b).point(lambda value: 255 if value > 96 else 0).histogram()[255]


def test_common_code_points_keep_gb2312_and_everything_outside_the_wide_blocks():
    cmap = {ord(c): "g" for c in COMMON + RARE + "カé€"}
    kept = {chr(c) for c in common_code_points(cmap)}
    assert kept == set(COMMON + "カé€")


def test_the_narrowed_faces_keep_their_names_and_the_complete_ones_are_renamed(font_config):
    faces = installed_faces()
    assert {face.family for face in faces} == set(FAMILIES)
    folder = os.path.join(os.path.dirname(font_config), "faces")
    for face in faces:
        common = TTFont(os.path.join(folder, f"{face.stem}-common.otf"))
        complete = TTFont(os.path.join(folder, f"{face.stem}-complete.otf"))
        assert common["name"].getDebugName(1) == face.family
        assert complete["name"].getDebugName(1) == face.family + COMPLETE_SUFFIX
        assert len(common.getBestCmap()) < 12_000
        assert len(complete.getBestCmap()) > 40_000
        assert ord("镕") not in common.getBestCmap() and ord("镕") in complete.getBestCmap()


def test_fontconfig_gives_the_narrowed_face_and_the_complete_one_for_what_it_lacks(font_config):
    assert fc_match(font_config, "Noto Serif CJK SC:bold").endswith("NotoSerifCJKSC-Bold-common.otf")
    assert fc_match(font_config, "Noto Sans CJK SC").endswith("NotoSansCJKSC-Regular-common.otf")
    assert fc_match(font_config, "Noto Serif CJK SC:bold:charset=9555").startswith("Noto Serif CJK SC Complete|")
    assert fc_match(font_config, "Noto Sans CJK SC:charset=ac00").startswith("Noto Sans CJK SC Complete|")
    assert "fandol" in fc_match(font_config, "FandolFang").lower()  # the rest is the system's


def test_a_letter_is_the_same_to_the_pixel_with_the_font_set(pool, system_pool, font_config):
    assert pool.settings.fontconfig_file == font_config  # the suite's pool uses the font set
    docx = DocxRenderer(ROOT / "templates", labels=template_labels()).render(
        *issue_context("commitment-letter", sample("commitment-letter")))
    ours, theirs = pool.convert(docx), system_pool.convert(docx)
    assert pdfcheck.text(ours) == pdfcheck.text(theirs)
    for mine, system in zip(pages(ours), pages(theirs), strict=True):
        assert ImageChops.difference(mine, system).getbbox() is None


def test_characters_beyond_the_narrowed_faces_fall_back_to_the_same_glyphs(pool, system_pool):
    document = Document()
    for family in FAMILIES:
        for bold in (False, True):
            run = document.add_paragraph().add_run(f"{COMMON} {RARE} {COMMON}")
            run.bold, run.font.name = bold, family
            run._element.rPr.rFonts.set(qn("w:eastAsia"), family)
    buffer = io.BytesIO()
    document.save(buffer)
    ours, theirs = pool.convert(buffer.getvalue()), system_pool.convert(buffer.getvalue())
    assert pdfcheck.text(ours) == pdfcheck.text(theirs)
    drawn = pdfcheck.glyphs(ours, set(RARE))
    assert all(drawn[c] and all(glyph != 0 for _, glyph in drawn[c]) for c in RARE), drawn  # no empty boxes
    (mine,), (system,) = pages(ours), pages(theirs)
    # Without the complete faces these characters come out in another face (the system's Noto Sans CJK JP,
    # for the serif lines too): ~2,000 pixels differ at 100 dpi.
    assert differing_pixels(mine, system) < 50
