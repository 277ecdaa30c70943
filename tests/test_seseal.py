"""GB/T 38540 electronic seals (issue 20 part 5): an agency's SESeal, made by the development seal maker, verified,
and drawn as the agency's seal on its documents; an expired one refuses to sign.

The maker's signature is checked by the service (tongsuopy) and, independently, by gmssl; the seal on the page is
found by rendering the issued PDF with PDFium and looking for the test seal's blue where the agency's seal goes."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
from collections.abc import Iterator
from pathlib import Path

import pymupdf
import pypdfium2 as pdfium
import pytest
from asn1crypto import x509
from gmssl import sm2 as gmssl_sm2
from PIL import Image, ImageDraw

from devpki import sm2 as dev_sm2
from service import create_app
from service.__main__ import main
from service.agencies import Agency, load_agencies
from service.config import load_settings
from service.errors import ConfigurationError, InvalidData, UnusableSeal
from service.gm import eseal
from service.gm import sm2 as gm
from service.gm.seseal import SESeal
from service.pdfium import PDFIUM
from service.runtime import Services, build_services
from service.signing.paths import PkiPaths, read_passphrase

from .conftest import keyed_client, sample

SM2_AGENCY = "jx-market-sm2"
SEALED, PLAIN = "jc-justice", "jx-service"  # RSA agencies of the development PKI: one with an electronic seal, one without
NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
FORM = "assistance-reply"  # a form with a visible agency seal


def blue_seal_png(size: int = 400) -> bytes:
    """A distinctive test picture: a blue square, checkered, on a transparent background."""
    image = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    cell = size // 8
    for row in range(8):
        for col in range(8):
            colour = (20, 40, 230, 255) if (row + col) % 2 == 0 else (120, 160, 255, 255)
            draw.rectangle((col * cell, row * cell, (col + 1) * cell - 1, (row + 1) * cell - 1), fill=colour)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


@pytest.fixture(scope="module")
def agencies(pki: Path) -> dict[str, Agency]:
    return dict(load_agencies(load_settings(environ={}).agencies_file).by_id)


@pytest.fixture(scope="module")
def maker(pki: Path):
    """The development seal maker's key (tongsuopy) and certificate."""
    paths = PkiPaths(pki)
    return dev_sm2.load_key(paths.seal_maker_key, read_passphrase(paths.passphrase_file)), dev_sm2.read_cert(paths.seal_maker_cert)


@pytest.fixture(scope="module")
def roots(pki: Path) -> list[x509.Certificate]:
    return [dev_sm2.read_cert(PkiPaths(pki).sm2_root_cert)]


@pytest.fixture(scope="module")
def sm2_cert(pki: Path) -> x509.Certificate:
    return dev_sm2.read_cert(PkiPaths(pki).sm2_agency_cert(SM2_AGENCY))


def make(agency: Agency, maker, cert: x509.Certificate, *, picture: bytes | None = None, start: dt.datetime = NOW - dt.timedelta(days=1),
         end: dt.datetime = NOW + dt.timedelta(days=30)) -> bytes:
    key, maker_cert = maker
    return eseal.make_seal(agency, picture or blue_seal_png(), start, end, key, maker_cert, signer_certs=[cert])


def codes(report: eseal.SealReport) -> list[str]:
    return [problem.code for problem in report.problems]


# --- the seal itself ------------------------------------------------------------------------------------------------


def test_a_seal_made_by_the_development_maker_verifies_and_carries_what_was_given(agencies, maker, roots, sm2_cert):
    picture = blue_seal_png()
    der = make(agencies[SM2_AGENCY], maker, sm2_cert, picture=picture)
    report = eseal.verify_seal(der, roots)
    assert (report.bottom_line, report.problems) == (True, ())
    assert (report.name, report.seal_type, report.picture, report.picture_type) == ("郏县市场监督管理局", 1, picture, "png")
    assert [c.dump() for c in report.signer_certs] == [sm2_cert.dump()]
    assert report.maker.dump() == maker[1].dump() and (report.width_mm, report.height_mm) == (42, 42)
    seal = SESeal.load(der)
    assert seal["e_seal_info"]["header"].native == {"id": "ES", "version": 4, "vid": "chengnuo"}
    assert (seal["sign_alg_id"].dotted, seal["e_seal_info"]["property"]["cert_list_type"].native) == ("1.2.156.10197.1.501", 1)
    assert seal.dump(force=True) == der  # DER: encoding it again gives the same bytes


def test_a_byte_flipped_in_the_seal_information_breaks_the_makers_signature(agencies, maker, roots, sm2_cert):
    der = make(agencies[SM2_AGENCY], maker, sm2_cert)
    at = der.index(b"IDAT") + 20  # inside the picture: the seal still decodes, as a forger would want
    flipped = der[:at] + bytes([der[at] ^ 0x01]) + der[at + 1:]
    assert codes(eseal.verify_seal(flipped, roots))[0] == "signature"


def test_a_seal_signed_by_a_key_that_is_not_the_makers_is_invalid(agencies, maker, roots, sm2_cert):
    seal = SESeal.load(make(agencies[SM2_AGENCY], maker, sm2_cert))
    forger = dev_sm2.new_key()
    forged = SESeal({"e_seal_info": seal["e_seal_info"], "cert": seal["cert"], "sign_alg_id": seal["sign_alg_id"],
                     "signed_value": gm.sign(forger, seal["e_seal_info"].dump())}).dump()
    assert codes(eseal.verify_seal(forged, roots)) == ["signature"]
    # a maker of the forger's own, under a root of its own: signed consistently, but not by a trusted maker
    fake_root_key = dev_sm2.new_key()
    fake_root = dev_sm2.root_certificate(fake_root_key)
    fake_maker = dev_sm2.seal_maker_certificate(dev_sm2.public_info(forger), fake_root, fake_root_key)
    own = make(agencies[SM2_AGENCY], (forger, fake_maker), sm2_cert)
    assert codes(eseal.verify_seal(own, roots)) == ["maker_untrusted"]
    assert eseal.verify_seal(own, [fake_root]).bottom_line  # the structure itself is sound


def test_an_expired_seal_is_reported_expired_and_a_future_one_not_yet_valid(agencies, maker, roots, sm2_cert):
    der = make(agencies[SM2_AGENCY], maker, sm2_cert, start=NOW, end=NOW + dt.timedelta(days=10))
    expired = eseal.verify_seal(der, roots, at=NOW + dt.timedelta(days=11))
    assert (codes(expired), expired.sound, expired.bottom_line) == (["expired"], True, False)
    assert (NOW + dt.timedelta(days=10)).strftime("%Y-%m-%d") in expired.problems[0].zh
    early = eseal.verify_seal(der, roots, at=NOW - dt.timedelta(days=1))
    assert codes(early) == ["not_yet_valid"]


def test_gmssl_verifies_the_makers_signature_over_the_der_of_the_seal_information(agencies, maker, sm2_cert):
    seal = SESeal.load(make(agencies[SM2_AGENCY], maker, sm2_cert))
    signed, signature = seal["e_seal_info"].dump(), seal["signed_value"].native
    verifier = gmssl_sm2.CryptSM2(private_key=None, public_key="", asn1=True)
    verifier.public_key = gm.public_point(x509.Certificate.load(seal["cert"].native).public_key).hex()
    assert verifier.verify_with_sm3(signature.hex(), signed)  # GM/T 0009's default distinguishing ID, as gmssl fixes it
    assert not verifier.verify_with_sm3(signature.hex(), signed + b"x")


def test_what_is_not_a_seal_is_unusable_and_a_picture_that_is_not_png_is_refused(agencies, maker, roots, sm2_cert):
    for junk in (b"", b"not a seal", b"\x30\x03\x02\x01\x04"):
        with pytest.raises(UnusableSeal):
            eseal.verify_seal(junk, roots)
    with pytest.raises(InvalidData) as refused:
        make(agencies[SM2_AGENCY], maker, sm2_cert, picture=b"GIF89a....")
    assert "PNG" in refused.value.errors["image"][0]


# --- the command line -----------------------------------------------------------------------------------------------


def test_the_cli_makes_a_seal_and_verifies_it_with_exit_codes(tmp_path, capsys, roots):
    picture = tmp_path / "seal.png"
    picture.write_bytes(blue_seal_png())
    out = tmp_path / "sealed.esl"
    assert main(["seal", "make", SM2_AGENCY, "--image", str(picture), "--valid-days", "3", "--out", str(out)]) == 0
    report = eseal.verify_seal(out.read_bytes(), roots)
    assert report.bottom_line and report.picture == picture.read_bytes()
    assert report.valid_end - report.valid_start == dt.timedelta(days=3)
    capsys.readouterr()
    assert main(["seal", "verify", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "郏县市场监督管理局" in printed and "有效 / valid" in printed
    der = out.read_bytes()
    at = der.index(b"IDAT") + 20
    (tmp_path / "flipped.esl").write_bytes(der[:at] + bytes([der[at] ^ 1]) + der[at + 1:])
    assert main(["seal", "verify", str(tmp_path / "flipped.esl")]) == 1
    assert "the seal maker's signature over the seal's information is invalid" in capsys.readouterr().out
    (tmp_path / "junk.esl").write_bytes(b"junk")
    assert main(["seal", "verify", str(tmp_path / "junk.esl")]) == 2
    assert main(["seal", "verify", str(tmp_path / "missing.esl")]) == 2
    assert main(["seal", "make", "no-such-agency", "--out", str(tmp_path / "x.esl")]) == 2


def test_the_cli_draws_the_agencys_seal_by_default(tmp_path, roots):
    from service.signing.seal import seal_png

    out = tmp_path / "default.esl"
    assert main(["seal", "make", SEALED, "--out", str(out)]) == 0
    report = eseal.verify_seal(out.read_bytes(), roots)
    assert report.bottom_line and report.picture == seal_png("晋城市司法局") and report.name == "晋城市司法局"
    assert report.signer_certs[0].subject.native["common_name"] == "晋城市司法局"  # the RSA agency's certificate, listed


# --- the service: seal_file ----------------------------------------------------------------------------------------


def agencies_file(folder: Path, seal_file: Path | None, extra: str = "") -> Path:
    numbers = '[agencies.numbers]\ncommitment = "[{year}年]第{seq}号"\nletter = "晋市司函字〔{year}〕{seq}号"\n'
    sealed = f'seal_file = "{seal_file}"\n' if seal_file else ""
    text = (f'default = "{SEALED}"\n[[agencies]]\nid = "{SEALED}"\nname = "晋城市司法局"\n{sealed}{extra}{numbers}'
            f'[[agencies]]\nid = "{PLAIN}"\nname = "郏县政务服务和大数据管理局"\n{numbers}')
    path = folder / "agencies.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def sealed_service(services, settings, tmp_path, dev_tsa_url) -> Iterator:
    """``make(seal_der)``: a service whose agency jc-justice has that electronic seal (and jx-service none)."""
    made: list[Services] = []

    def start(der: bytes, extra: str = "") -> Services:
        folder = tmp_path / f"config-{len(made)}"
        folder.mkdir()
        (folder / "justice.esl").write_bytes(der)
        svc = build_services(dataclasses.replace(settings, agencies_file=agencies_file(folder, folder / "justice.esl", extra),
                                                 tsa_url=dev_tsa_url), converter=services.converter, sandbox=services.sandbox)
        svc.signing_health.ttl = 0
        made.append(svc)
        return svc

    yield start
    for svc in made:
        svc.batch_queue.stop()
        svc.instances.close()
        svc.registry.engine.dispose()


@pytest.fixture(scope="module")
def justice_cert(pki: Path) -> x509.Certificate:
    from service.signing.keys import KeyStore

    return KeyStore(pki).certificate(Agency(SEALED, "晋城市司法局"))


def seal_region_blue(pdf: bytes) -> float:
    """Share of clearly blue pixels inside the agency's seal field (PyMuPDF finds it), PDFium rendering the page at 100 dpi."""
    document = pymupdf.open(stream=pdf, filetype="pdf")
    [(page_number, rect)] = [(page.number, w.rect) for page in document for w in page.widgets() if w.field_name == "agency"]
    zoom = 100 / 72
    with PDFIUM:
        rendered = pdfium.PdfDocument(pdf)
        try:
            rendered.init_forms()  # without it PDFium leaves out the widgets' appearances, the signature's seal among them
            image = rendered[page_number].render(scale=zoom, may_draw_forms=True).to_pil().convert("RGB")
        finally:
            rendered.close()
    region = image.crop(tuple(int(v * zoom) for v in (rect.x0, rect.y0, rect.x1, rect.y1)))
    pixels = list(region.get_flattened_data())
    return sum(1 for r, g, b in pixels if b > 200 and r < 140 and g < 180 and b - r > 90) / len(pixels)


def test_the_seal_on_the_page_is_the_seseals_picture(sealed_service, api_key, agencies, maker, justice_cert, artefacts):
    svc = sealed_service(make(agencies[SEALED], maker, justice_cert))
    client = keyed_client(create_app(services=svc), api_key)
    pdfs = {}
    for agency in (SEALED, PLAIN):
        response = client.post("/api/v1/documents", json={"form": FORM, "agency": agency, "data": sample(FORM)})
        assert response.status_code == 201, response.json
        pdfs[agency] = client.get(response.json["links"]["pdf"]).data
    (artefacts / "seseal-assistance-reply.pdf").write_bytes(pdfs[SEALED])
    assert seal_region_blue(pdfs[SEALED]) > 0.3  # the checkered blue square fills most of the round seal's box
    assert seal_region_blue(pdfs[PLAIN]) == 0.0  # the other agency's seal is the red one drawn from its name
    health = client.get("/healthz").json["checks"]["signing"]
    assert health["seals"][SEALED]["ok"] is True and PLAIN not in health["seals"]


def test_an_expired_seal_refuses_to_sign_voids_the_number_and_healthz_names_the_agency(sealed_service, api_key, agencies, maker,
                                                                                        justice_cert):
    end = NOW - dt.timedelta(days=1)
    svc = sealed_service(make(agencies[SEALED], maker, justice_cert, start=NOW - dt.timedelta(days=30), end=end))
    client = keyed_client(create_app(services=svc), api_key)
    response = client.post("/api/v1/documents", json={"form": FORM, "agency": SEALED, "data": sample(FORM)})
    assert (response.status_code, response.json["error"]) == (503, "seal_expired")
    local_end = end.astimezone(svc.clock().tzinfo).strftime("%Y-%m-%d")
    assert "晋城市司法局的电子印章已于" in response.json["message"] and local_end in response.json["message"]
    assert "jc-justice" in response.json["message"] and "expired" in response.json["message"]
    [voided] = [r for r in svc.registry.list() if r.status == "voided"]
    assert voided.number.endswith("〕1号") and "expired" in voided.void_reason and voided.pdf_path is None
    health = client.get("/healthz")
    assert health.status_code == 503
    seal = health.json["checks"]["signing"]["seals"][SEALED]
    assert seal["ok"] is False and "晋城市司法局" in seal["error"]
    other = client.post("/api/v1/documents", json={"form": FORM, "agency": PLAIN, "data": sample(FORM)})
    assert other.status_code == 201  # the other agency still signs


@pytest.mark.parametrize("case", ["tampered", "another_agency", "untrusted", "with_seal_image"])
def test_an_unusable_seal_file_refuses_to_start_naming_the_agency(case, sealed_service, agencies, maker, justice_cert, sm2_cert, tmp_path):
    der = make(agencies[SEALED], maker, justice_cert)
    extra = ""
    if case == "tampered":
        at = der.index(b"IDAT") + 20
        der = der[:at] + bytes([der[at] ^ 1]) + der[at + 1:]
    elif case == "another_agency":
        der = make(agencies[SM2_AGENCY], maker, sm2_cert)
    elif case == "untrusted":
        key = dev_sm2.new_key()
        fake_root = dev_sm2.root_certificate(key)
        der = make(agencies[SEALED], (key, dev_sm2.seal_maker_certificate(dev_sm2.public_info(key), fake_root, key)), justice_cert)
    else:
        (tmp_path / "own.png").write_bytes(blue_seal_png())
        extra = f'seal_image = "{tmp_path / "own.png"}"\n'
    with pytest.raises(ConfigurationError) as refused:
        sealed_service(der, extra)
    assert "jc-justice" in refused.value.en and "jc-justice" in refused.value.zh
    expected = {"tampered": "signature", "another_agency": "郏县市场监督管理局", "untrusted": "trust root",
                "with_seal_image": "exclude each other"}[case]
    assert expected in refused.value.en
