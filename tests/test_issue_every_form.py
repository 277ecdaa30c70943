"""Every form, issued end to end through the API and real LibreOffice, read back from the PDF."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from service.forms import CATALOGUE

from . import pdfcheck
from .conftest import sample
from .phrases_basic import PHRASES as BASIC
from .phrases_commitments import PHRASES as COMMITMENTS
from .phrases_verification import PHRASES as VERIFICATION

PHRASES = {**BASIC, **COMMITMENTS, **VERIFICATION}
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def string_leaves(value, path=""):
    if isinstance(value, dict):
        for key, item in value.items():
            yield from string_leaves(item, f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        for item in value:
            yield from string_leaves(item, f"{path}[]")
    elif isinstance(value, str):
        yield path, value


def expected_text(value: str) -> list[str]:
    if ISO_DATE.match(value):
        day = dt.date.fromisoformat(value)
        return [f"{day.year}年{day.month}月{day.day}日"]
    return [line for line in value.split("\n") if line.strip()]


def test_every_form_of_forms_md_is_in_the_catalogue():
    assert list(CATALOGUE) == [
        "liaison-form", "item-catalog", "commitment-letter", "business-permit-commitment",
        "internal-verification", "onsite-verification", "assistance-request-written",
        "assistance-request-visit", "assistance-reply", "credit-commitment-disclosure",
        "credit-commitment-tolerance", "credit-commitment-substitution",
    ]


@pytest.mark.parametrize("form_id", list(CATALOGUE))
def test_form_issues_as_a_pdf_that_reads_like_the_paper_form(form_id, client, artefacts):
    spec = CATALOGUE[form_id]
    data = sample(form_id)
    response = client.post("/api/v1/documents", json={"form": form_id, "data": data})
    assert response.status_code == 201, response.json
    body = response.json
    assert body["form"] == form_id
    assert body["status"] == ("awaiting_signatures" if spec.signers else "completed")
    if spec.number_kind == "letter":
        assert re.fullmatch(r"晋市司函字〔\d{4}〕1号", body["number"])
    elif spec.number_kind == "commitment":
        assert re.fullmatch(r"\[\d{4}年\]第1号", body["number"])
    else:
        assert body["number"] is None

    pdf = client.get(body["links"]["pdf"]).data
    assert pdf.startswith(b"%PDF-")
    (artefacts / f"{form_id}.pdf").write_bytes(pdf)
    text = pdfcheck.squash(pdfcheck.body_text(pdf))

    missing_phrases = [p for p in PHRASES[form_id] if pdfcheck.squash(p) not in text]
    assert missing_phrases == []
    missing_values = [
        (path, piece)
        for path, value in string_leaves(data)
        if path not in spec.unprinted
        for piece in expected_text(value)
        if pdfcheck.squash(piece) not in text
    ]
    assert missing_values == []
    if body["number"]:
        assert pdfcheck.squash(body["number"]) in text

    # Every page: the serial in the footer; fonts all embedded.
    for page in range(1, pdfcheck.page_count(pdf) + 1):
        assert body["serial"] in pdfcheck.text(pdf, page)
    assert all(font["emb"] == "yes" for font in pdfcheck.fonts(pdf))
    drawn = pdfcheck.glyphs(pdf, set(pdfcheck.text(pdf)) - set(" \n\f"))
    assert [c for c, uses in drawn.items() if any(glyph == 0 for _font, glyph in uses)] == []

    # The QR code on the rendered first page opens the verification URL.
    image = pdfcheck.render_page(pdf, 1)
    image.save(artefacts / f"{form_id}-page1.png")
    assert pdfcheck.qr_codes(image) == [f"http://127.0.0.1:8000/v/{body['serial']}"]


def test_a_long_catalogue_repeats_its_header_on_every_page(client):
    data = sample("item-catalog")
    data["items"] = [dict(data["items"][i % 3], name=f"第{i + 1}项证明") for i in range(30)]
    body = client.post("/api/v1/documents", json={"form": "item-catalog", "data": data}).json
    pdf = client.get(body["links"]["pdf"]).data
    pages = pdfcheck.page_count(pdf)
    assert pages >= 3
    for page in range(1, pages + 1):
        text = pdfcheck.squash(pdfcheck.text(pdf, page))
        assert all(head in text for head in ("序号", "证明事项", "证明用途", "设定依据", "索要单位", "开具单位", "监管措施", "备注"))
    text = pdfcheck.squash(pdfcheck.body_text(pdf))
    assert all(f"第{i}项证明" in text for i in range(1, 31))
    assert pdfcheck.squash("证明事项应当有法律、法规或者国务院决定依据") in text
