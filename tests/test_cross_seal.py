"""The 骑缝章: a document of two pages or more carries its agency's seal cut into one strip per page at the
right edges, which side by side recompose the seal; it is covered by the certification. Checked on the
pixels poppler renders and with pyHanko's validator, the service's verification and pdfsig."""

from __future__ import annotations

import io
import re
import zlib

import pymupdf
import pytest
from PIL import Image, ImageChops
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

from service.agencies import Agency
from service.errors import SigningError
from service.signing.cross_seal import CrossPageSeal, cut
from service.signing.seal import seal_png
from service.signing.seal_stamp import EncodedImage, open_picture
from service.signing.spots import SEAL_DIAMETER

from . import pdfcheck, sigcheck
from .conftest import sample

AGENCY = "晋城市司法局"
DPI = 150
ZOOM = DPI / 72


@pytest.fixture(scope="session")
def root(pki):
    return pki / "root-ca.pem"


@pytest.fixture(scope="session")
def nssdb(tmp_path_factory, root):
    return sigcheck.make_nssdb(tmp_path_factory.mktemp("nss"), root)


def issue(client, form_id: str, data: dict | None = None) -> tuple[dict, bytes]:
    response = client.post("/api/v1/documents", json={"form": form_id, "data": data or sample(form_id)})
    assert response.status_code == 201, response.json
    return response.json, client.get(response.json["links"]["pdf"]).data


def verify(client, pdf: bytes) -> dict:
    response = client.post("/api/v1/verifications", data=pdf, content_type="application/pdf")
    assert response.status_code == 200, response.json
    return response.json


def red_mask(image: Image.Image) -> Image.Image:
    """255 where the ink is clearly the seal's red (over white paper), else 0."""
    r, g, b = image.convert("RGB").split()
    return ImageChops.multiply(
        ImageChops.multiply(r.point(lambda v: 255 if v > 170 else 0), g.point(lambda v: 255 if v < 120 else 0)),
        b.point(lambda v: 255 if v < 120 else 0),
    )


def red_share(image: Image.Image) -> float:
    mask = red_mask(image)
    return sum(1 for v in mask.get_flattened_data() if v) / (mask.width * mask.height)


def overlap(a: Image.Image, b: Image.Image) -> float:
    """Intersection over union of two red masks of the same size."""
    both = sum(1 for x, y in zip(a.get_flattened_data(), b.get_flattened_data()) if x and y)
    either = sum(1 for x, y in zip(a.get_flattened_data(), b.get_flattened_data()) if x or y)
    return both / either


def seal_on_paper(size: int) -> Image.Image:
    """The agency's seal PNG laid on white paper at ``size`` pixels: what the strips must recompose."""
    seal = Image.open(io.BytesIO(seal_png(AGENCY))).convert("RGBA").resize((size, size), Image.Resampling.LANCZOS)
    paper = Image.new("RGBA", seal.size, "white")
    return Image.alpha_composite(paper, seal).convert("RGB")


def edge_strips(pdf: bytes) -> tuple[list[Image.Image], list[Image.Image]]:
    """Each page rendered, and the part of its right edge where strip i of an N-page seal must be:
    the last 42/N mm, 42 mm tall around the page's middle."""
    pages = pdfcheck.page_count(pdf)
    renders = [pdfcheck.render_page(pdf, page, dpi=DPI) for page in range(1, pages + 1)]
    diameter = SEAL_DIAMETER * ZOOM
    strips = []
    for image in renders:
        right, middle = image.width, image.height / 2
        strips.append(image.crop((round(right - diameter / pages), round(middle - diameter / 2), right, round(middle + diameter / 2))))
    return renders, strips


def side_by_side(strips: list[Image.Image]) -> Image.Image:
    joined = Image.new("RGB", (sum(s.width for s in strips), strips[0].height), "white")
    x = 0
    for strip in strips:
        joined.paste(strip, (x, 0))
        x += strip.width
    return joined


def decoded(image: EncodedImage) -> Image.Image:
    """An encoded strip back as RGBA pixels."""
    mode = "RGB" if image.color_space == "/DeviceRGB" else "L"
    picture = Image.frombytes(mode, (image.width, image.height), zlib.decompress(image.data))
    assert image.mask is not None
    picture.putalpha(Image.frombytes("L", (image.width, image.height), zlib.decompress(image.mask.data)))
    return picture


# --- the strips themselves ------------------------------------------------------------------------------------


@pytest.mark.parametrize("count", [2, 3, 4, 7])
def test_the_strips_put_side_by_side_are_the_seal_pixel_for_pixel(count):
    picture = open_picture(seal_png(AGENCY))
    strips = cut(picture, count)
    assert len(strips) == count
    joined = Image.new("RGBA", picture.size)
    x = 0
    for strip in strips:
        pixels = decoded(strip.image)
        joined.paste(pixels, (x, 0))
        x += pixels.width
    assert x == picture.width
    assert ImageChops.difference(joined, picture.convert("RGBA")).getbbox() is None
    assert sum(s.width for s in strips) == pytest.approx(SEAL_DIAMETER)
    assert {round(s.height, 6) for s in strips} == {round(SEAL_DIAMETER, 6)}
    assert max(s.width for s in strips) - min(s.width for s in strips) <= SEAL_DIAMETER / picture.width + 1e-9


def test_more_pages_than_the_seal_has_pixel_columns_still_get_a_strip_each():
    picture = open_picture(seal_png(AGENCY, size_px=64))
    strips = cut(picture, 100)
    assert len(strips) == 100 and all(s.image.width >= 1 for s in strips)
    assert sum(s.width for s in strips) == pytest.approx(SEAL_DIAMETER)


def test_strips_are_cut_once_per_seal_and_page_count():
    cross = CrossPageSeal()
    drawn: list[str] = []

    def picture() -> bytes:
        drawn.append(AGENCY)
        return seal_png(AGENCY)

    first = cross.strips("jc-justice", 3, picture)
    assert cross.strips("jc-justice", 3, picture) is first
    assert len(cross.strips("jc-justice", 4, picture)) == 4
    assert len(drawn) == 2


def test_an_unreadable_seal_image_fails_signing_with_our_error(services, tmp_path):
    agency = Agency(id="broken", name=AGENCY, seal_image=tmp_path / "missing.png")
    two_pages = pymupdf.open()
    two_pages.new_page(), two_pages.new_page()
    writer = IncrementalPdfFileWriter(io.BytesIO(two_pages.tobytes()))
    with pytest.raises(SigningError) as failed:
        services.signer.apply_cross_seal(writer, agency)
    assert "骑缝章" in failed.value.zh and "cross-page seal" in failed.value.en


# --- issued documents -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("form_id", "pages"), [("commitment-letter", 4), ("item-catalog", 2)])
def test_every_page_carries_its_strip_at_the_right_edge_and_together_they_recompose_the_seal(client, artefacts, form_id, pages):
    _, pdf = issue(client, form_id)
    renders, strips = edge_strips(pdf)
    assert len(renders) == pages
    for number, (image, strip) in enumerate(zip(renders, strips), start=1):
        image.save(artefacts / f"cross-seal-{form_id}-page{number}.png")
        assert red_share(strip) > 0.03, number  # each strip shows ring, name or star in red
    joined = side_by_side(strips)
    joined.save(artefacts / f"cross-seal-{form_id}-recomposed.png")
    reference = seal_on_paper(joined.height)
    assert overlap(red_mask(joined.resize(reference.size)), red_mask(reference)) > 0.85
    # In the wrong order, or shifted inwards from the edge, they would not make the seal.
    shuffled = side_by_side(strips[::-1]).resize(reference.size)
    assert overlap(red_mask(shuffled), red_mask(reference)) < 0.6


def test_nothing_else_of_the_right_margin_is_red(client):
    _, pdf = issue(client, "commitment-letter")
    diameter = SEAL_DIAMETER * ZOOM
    for page in range(1, 4):  # the last page has the main seal; the others only their strip
        image = pdfcheck.render_page(pdf, page, dpi=DPI)
        margin = image.crop((round(image.width - 20 * ZOOM * 72 / 25.4), 0, image.width, image.height))
        middle = image.height / 2
        above = margin.crop((0, 0, margin.width, round(middle - diameter / 2) - 2))
        below = margin.crop((0, round(middle + diameter / 2) + 2, margin.width, margin.height))
        assert (red_share(above), red_share(below)) == (0.0, 0.0)


@pytest.mark.parametrize("form_id", ["assistance-reply", "liaison-form", "credit-commitment-disclosure"])
def test_one_page_documents_and_forms_without_the_agency_seal_have_no_strips(client, artefacts, form_id):
    _, pdf = issue(client, form_id)
    pages = pdfcheck.page_count(pdf)
    assert pages == (2 if form_id == "credit-commitment-disclosure" else 1)  # the subject signs that one: no seal
    for page in range(1, pages + 1):
        image = pdfcheck.render_page(pdf, page, dpi=DPI)
        edge = image.crop((round(image.width - 8 * ZOOM * 72 / 25.4), 0, image.width, image.height))
        assert red_share(edge) == 0.0
    assert b"/CrossSeal" not in pdf


def test_the_main_seal_stays_at_its_spot_and_unchanged(client, services, monkeypatch, artefacts):
    def sealed_widget(pdf: bytes) -> tuple[int, pymupdf.Rect, Image.Image]:
        document = pymupdf.open(stream=pdf, filetype="pdf")
        [(page, widget)] = [(p.number, w) for p in document for w in p.widgets() if w.field_name == "agency"]
        image = pdfcheck.render_page(pdf, page + 1, dpi=DPI)
        box = tuple(round(v * ZOOM) for v in (widget.rect.x0, widget.rect.y0, widget.rect.x1, widget.rect.y1))
        return page, widget.rect, image.crop(box)

    _, with_strips = issue(client, "commitment-letter")
    monkeypatch.setattr(services.signer.cross_seal, "apply", lambda *args: 0)
    _, without = issue(client, "commitment-letter")
    assert b"/CrossSeal" in with_strips and b"/CrossSeal" not in without
    page, rect, seal = sealed_widget(with_strips)
    assert (page, rect) == sealed_widget(without)[:2]
    seal.save(artefacts / "cross-seal-main-seal.png")
    assert ImageChops.difference(seal, sealed_widget(without)[2]).getbbox() is None
    assert red_share(seal) > 0.08


def test_a_cross_sealed_document_verifies_valid_and_pdfsig_agrees(client, nssdb, root):
    _, pdf = issue(client, "commitment-letter")
    report = verify(client, pdf)
    assert report["verdict"] == "valid", report["reasons"]
    assert report["changes_since_issue"] == "none"
    assert sigcheck.signatures(pdf, root)["agency"].bottom_line
    signed = sigcheck.pdfsig(pdf, nssdb)["agency"]
    assert signed["Signature Validation"] == "Signature is Valid."
    assert signed["Certificate Validation"] == "Certificate is Trusted."
    assert signed["whole document"] is False  # the validation data and a document timestamp (B-LTA) follow


def test_the_strips_are_in_the_certified_revision(client):
    _, pdf = issue(client, "commitment-letter")
    signature = IncrementalPdfFileWriter(io.BytesIO(pdf)).prev.embedded_signatures[0]
    covered = b"".join(pdf[start : start + length] for start, length in zip(*[iter(signature.sig_object["/ByteRange"])] * 2))
    assert covered.count(b"/CrossSeal") >= 4  # each page's drawing is inside the signed bytes
    assert signature.signed_revision == 1  # right after LibreOffice's; the DSS and the document timestamp follow


def test_the_applicant_signing_a_prepared_field_keeps_a_cross_sealed_document_valid(client, nssdb, artefacts):
    _, pdf = issue(client, "commitment-letter")
    returned = sigcheck.sign_field(pdf, "applicant", sigcheck.applicant_signer())
    (artefacts / "cross-seal-commitment-letter-signed-by-applicant.pdf").write_bytes(returned)
    report = verify(client, returned)
    assert report["verdict"] == "valid", report["reasons"]
    assert report["changes_since_issue"] == "form_filling_and_signing"
    signed = sigcheck.pdfsig(returned, nssdb)
    assert signed["agency"]["Signature Validation"] == "Signature is Valid."
    assert signed["applicant"]["Signature Validation"] == "Signature is Valid."


def _page_contents(writer: IncrementalPdfFileWriter, index: int) -> tuple[generic.DictionaryObject, generic.ArrayObject]:
    page = writer.root["/Pages"]["/Kids"][index].get_object()
    return page, page["/Contents"]


def strip_removed(pdf: bytes) -> bytes:
    """An update that takes page 2's strip off: its drawing dropped from the page's content."""
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    page, contents = _page_contents(writer, 1)
    page["/Contents"] = generic.ArrayObject([ref for ref in contents if b"/CrossSeal" not in ref.get_object().data])
    writer.update_container(page)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def strip_moved(pdf: bytes) -> bytes:
    """An update that draws page 2's strip 100 points lower: its drawing replaced by a moved one."""
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    page, contents = _page_contents(writer, 1)
    moved = []
    for ref in contents:
        data = ref.get_object().data
        if b"/CrossSeal" in data:
            data = re.sub(rb"(\S+) cm /CrossSeal", lambda m: b"%g cm /CrossSeal" % (float(m.group(1)) - 100), data)
            ref = writer.add_object(generic.StreamObject(stream_data=data))
        moved.append(ref)
    page["/Contents"] = generic.ArrayObject(moved)
    writer.update_container(page)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@pytest.mark.parametrize("tamper", [strip_removed, strip_moved])
def test_removing_or_moving_a_strip_after_issue_makes_the_document_invalid(client, tamper, artefacts):
    _, pdf = issue(client, "commitment-letter")
    tampered = tamper(pdf)
    assert pdfcheck.render_page(tampered, 2, dpi=DPI) != pdfcheck.render_page(pdf, 2, dpi=DPI)  # the change shows
    report = verify(client, tampered)
    assert report["verdict"] == "invalid", report["reasons"]
    assert report["changes_since_issue"] == "disallowed"
