"""Every issued document leaves signed and sealed — proven with pyHanko's validator and poppler's pdfsig."""

from __future__ import annotations

import dataclasses
import io
import json

import pymupdf
import pytest
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.fields import MDPPerm
from pyhanko.sign.general import as_signing_certificate_v2

from devpki import DevPkiServer
from service import create_app
from service.config import load_settings
from service.errors import ConfigurationError
from service.forms import CATALOGUE
from service.runtime import build_services

from . import pdfcheck, sigcheck
from .conftest import keyed_client, sample


@pytest.fixture(scope="session")
def root(pki):
    return pki / "root-ca.pem"


@pytest.fixture(scope="session")
def nssdb(tmp_path_factory, root):
    return sigcheck.make_nssdb(tmp_path_factory.mktemp("nss"), root)


def issue(client, form_id="commitment-letter", data=None, **envelope):
    response = client.post("/api/v1/documents", json={"form": form_id, "data": data or sample(form_id), **envelope})
    assert response.status_code == 201, response.json
    return response.json, client.get(response.json["links"]["pdf"]).data


def red_fraction(image, rect, zoom: float) -> float:
    """Share of clearly red pixels inside ``rect`` (PDF points, top-left origin as PyMuPDF gives it)."""
    box = tuple(int(v * zoom) for v in (rect.x0, rect.y0, rect.x1, rect.y1))
    region = image.crop(box).convert("RGB")
    pixels = list(region.get_flattened_data())
    red = sum(1 for r, g, b in pixels if r > 170 and g < 110 and b < 110)
    return red / len(pixels)


@pytest.mark.parametrize("form_id", list(CATALOGUE))
def test_every_form_is_certified_by_its_agency_with_a_timestamp(form_id, client, root):
    body, pdf = issue(client, form_id)
    spec = CATALOGUE[form_id]
    statuses = sigcheck.signatures(pdf, root)
    assert list(statuses) == ["agency"]
    agency = statuses["agency"]
    assert agency.intact and agency.valid and agency.trusted and agency.bottom_line
    assert agency.timestamp_validity is not None and agency.timestamp_validity.intact and agency.timestamp_validity.trusted
    assert agency.signing_cert.subject.native["common_name"] == "晋城市司法局"
    assert agency.md_algorithm == "sha256"
    assert sorted(sigcheck.empty_signature_fields(pdf)) == sorted(p.role for p in spec.signers)
    reader = PdfFileReader(io.BytesIO(pdf))
    signature = reader.embedded_signatures[0]
    assert signature.docmdp_level == MDPPerm.FILL_FORMS
    assert signature.sig_object["/SubFilter"] == "/ETSI.CAdES.detached"
    assert body["serial"] in str(signature.sig_object["/Reason"])
    assert body["serial"] in str(reader.document_meta_view.subject)


def test_pdfsig_trusting_the_development_root_accepts_the_signature(client, nssdb):
    _, pdf = issue(client, "commitment-letter")
    report = sigcheck.pdfsig(pdf, nssdb)
    assert report["agency"]["Signature Validation"] == "Signature is Valid."
    assert report["agency"]["Certificate Validation"] == "Certificate is Trusted."
    assert report["agency"]["Signer Certificate Common Name"] == "晋城市司法局"
    assert report["agency"]["whole document"] is False  # the validation data and a document timestamp (B-LTA) follow
    assert {name: entry["signed"] for name, entry in report.items() if name != "agency"} == {"applicant": False, "handler": False}


def test_a_tampered_byte_breaks_the_signature_for_both_validators(client, root, nssdb):
    _, pdf = issue(client, "assistance-request-written")
    index = pdf.index(b"2026")  # a byte inside the signed range (the document text stream or metadata)
    tampered = pdf[:index] + b"2027" + pdf[index + 4 :]
    assert not sigcheck.signatures(tampered, root)["agency"].intact
    assert sigcheck.pdfsig(tampered, nssdb)["agency"]["Signature Validation"] != "Signature is Valid."


def test_the_seal_is_visible_at_the_seal_spot_and_the_text_stays(client, artefacts):
    _, pdf = issue(client, "assistance-reply")
    document = pymupdf.open(stream=pdf, filetype="pdf")
    widgets = [(page.number, w) for page in document for w in page.widgets() if w.field_name == "agency"]
    assert len(widgets) == 1
    page_number, widget = widgets[0]
    zoom = 100 / 72
    image = pdfcheck.render_page(pdf, page_number + 1, dpi=100)
    image.save(artefacts / "sealed-assistance-reply.png")
    assert red_fraction(image, widget.rect, zoom) > 0.08  # the ring, the star and the name in red
    [label] = document[page_number].search_for("行政机关名称（公章）")
    line = pymupdf.Rect(label.x0, label.y0, document[page_number].rect.x1, label.y1)
    assert widget.rect.intersects(line)  # on the agency's line, over its name, as a seal is pressed
    assert "行政机关名称（公章）" in pdfcheck.text(pdf)  # the seal is drawn over the text, not instead of it


def test_forms_the_subject_signs_carry_an_invisible_certification(client):
    _, pdf = issue(client, "credit-commitment-disclosure")
    document = pymupdf.open(stream=pdf, filetype="pdf")
    agency = [w for page in document for w in page.widgets() if w.field_name == "agency"]
    assert len(agency) == 1 and agency[0].rect.is_empty


def test_an_applicant_signing_the_prepared_field_keeps_the_certification_valid(client, root, nssdb, artefacts):
    _, pdf = issue(client, "commitment-letter")
    returned = sigcheck.sign_field(pdf, "applicant", sigcheck.applicant_signer())
    (artefacts / "commitment-letter-signed-by-applicant.pdf").write_bytes(returned)
    statuses = sigcheck.signatures(returned, root)
    agency, applicant = statuses["agency"], statuses["applicant"]
    assert agency.intact and agency.valid and agency.trusted
    assert agency.docmdp_ok and agency.modification_level == ModificationLevel.FORM_FILLING
    assert applicant.intact and applicant.valid and not applicant.trusted
    assert applicant.signing_cert.subject.native["common_name"] == "陈秀兰"
    report = sigcheck.pdfsig(returned, nssdb)
    assert report["agency"]["Signature Validation"] == "Signature is Valid."
    assert report["applicant"]["Signature Validation"] == "Signature is Valid."
    assert report["handler"]["signed"] is False


def test_content_added_after_certification_is_caught(client, root):
    _, pdf = issue(client, "commitment-letter")
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    page = writer.root["/Pages"]["/Kids"][0].get_object()
    stream = writer.add_object(generic.StreamObject(stream_data=b"BT /F1 24 Tf 100 700 Td (FORGED) Tj ET"))
    contents = page["/Contents"]
    page["/Contents"] = generic.ArrayObject([*(contents if isinstance(contents, generic.ArrayObject) else [contents]), stream])
    writer.update_container(page)
    out = io.BytesIO()
    writer.write(out)
    agency = sigcheck.signatures(out.getvalue(), root)["agency"]
    assert agency.intact  # the signed bytes are untouched...
    assert not agency.docmdp_ok and agency.modification_level == ModificationLevel.OTHER  # ...but the page was changed


def test_signing_against_a_tsa_url_over_http(services, settings, api_key, dev_pki):
    tsa = DevPkiServer(dev_pki, port=0)  # the declared TSA, at an address of its own
    try:
        remote = build_services(dataclasses.replace(settings, tsa_url=tsa.tsa_url), converter=services.converter)
        client = keyed_client(create_app(services=remote), api_key)
        _, pdf = issue(client, "liaison-form")
        first = tsa.served["tsa"]
        _, pdf = issue(client, "liaison-form")
        assert tsa.served["tsa"] - first == 2  # each document: its signature's timestamp and its document timestamp (B-LTA)
        status = sigcheck.signatures(pdf, settings.certs_dir / "root-ca.pem")["agency"]
        assert status.timestamp_validity is not None and status.timestamp_validity.trusted
        timestamp = client.get("/healthz").json["checks"]["signing"]["timestamp"]
        assert (timestamp["ok"], timestamp["tsa"]) == (True, tsa.tsa_url)
        assert timestamp["development"] is True  # the configured URL answers with the development PKI's TSA
    finally:
        tsa.stop()


def voided_rows(svc):
    return [r for r in svc.registry.list() if r.status == "voided"]


def test_tsa_down_fails_the_request_and_voids_the_number(services, settings, api_key):
    down = build_services(dataclasses.replace(settings, tsa_url="http://127.0.0.1:9/tsa", tsa_timeout=2), converter=services.converter)
    client = keyed_client(create_app(services=down), api_key)
    response = client.post("/api/v1/documents", json={"form": "assistance-reply", "data": sample("assistance-reply")})
    assert response.status_code == 503 and response.json["error"] == "timestamp_unavailable"
    assert response.headers["Retry-After"]
    [voided] = voided_rows(down)
    assert voided.number.endswith("〕1号") and "timestamp" in voided.void_reason and voided.pdf_path is None
    assert client.get(f"/api/v1/documents/{voided.id}/pdf").status_code == 404
    health = client.get("/healthz")
    assert health.status_code == 503 and health.json["checks"]["signing"]["timestamp"]["ok"] is False


def agencies_file(tmp_path, extra: str):
    text = f'default = "jc-justice"\n[[agencies]]\nid = "jc-justice"\nname = "晋城市司法局"\n{extra}\n' \
           '[agencies.numbers]\ncommitment = "[{year}年]第{seq}号"\nletter = "晋市司函字〔{year}〕{seq}号"\n'
    path = tmp_path / "agencies.toml"
    path.write_text(text, encoding="utf-8")
    return path


def own_key(settings, tmp_path, extra: str, tsa_url: str):
    """Settings with an agency that brings its own key (and so needs a TSA of its own)."""
    return dataclasses.replace(settings, agencies_file=agencies_file(tmp_path, extra), tsa_url=tsa_url)


def test_a_missing_key_fails_the_request_clearly_and_voids_the_number(services, settings, tmp_path, api_key, dev_tsa_url):
    broken = build_services(own_key(settings, tmp_path, 'pkcs12 = "missing.p12"', dev_tsa_url), converter=services.converter)
    client = keyed_client(create_app(services=broken), api_key)
    response = client.post("/api/v1/documents", json={"form": "liaison-form", "data": sample("liaison-form")})
    assert response.status_code == 500 and response.json["error"] == "signing_key_unavailable"
    assert "晋城市司法局" in response.json["message"]
    [voided] = voided_rows(broken)
    assert "signing key" in voided.void_reason
    health = client.get("/healthz").json
    assert health["status"] == "unavailable" and health["checks"]["signing"]["keys"]["jc-justice"]["ok"] is False


def test_a_wrong_passphrase_is_reported_without_revealing_any_passphrase(services, settings, tmp_path, monkeypatch, caplog, api_key,
                                                                        dev_tsa_url):
    secret = "wrong-secret-Zq81"
    monkeypatch.setenv("JC_PASS", secret)
    p12 = settings.certs_dir / "agencies" / "jc-justice.p12"
    broken = build_services(own_key(settings, tmp_path, f'pkcs12 = "{p12}"\npassphrase_env = "JC_PASS"', dev_tsa_url),
                            converter=services.converter)
    client = keyed_client(create_app(services=broken), api_key)
    caplog.set_level("DEBUG")
    response = client.post("/api/v1/documents", json={"form": "liaison-form", "data": sample("liaison-form")})
    assert response.status_code == 500 and response.json["error"] == "signing_key_unavailable"
    real = (settings.certs_dir / "private" / "passphrase").read_text().strip()
    everything = json.dumps(response.json, ensure_ascii=False) + caplog.text + json.dumps(client.get("/healthz").json)
    assert secret not in everything and real not in everything


def test_finding_seal_spots_from_many_threads_does_not_crash(client, tmp_path):
    """PDFium is not thread-safe; concurrent requests once crashed the service (SIGSEGV) here."""
    import subprocess
    import sys

    _, pdf = issue(client, "commitment-letter")
    (tmp_path / "letter.pdf").write_bytes(pdf)
    script = (
        "import sys, threading\n"
        "from pathlib import Path\n"
        "from service.signing.spots import find_labels\n"
        f"pdf = Path({str(tmp_path / 'letter.pdf')!r}).read_bytes()\n"
        "work = lambda: [find_labels(pdf, ['行政机关（公章）', '申请人签名', '经办人']) for _ in range(100)]\n"
        "threads = [threading.Thread(target=work) for _ in range(4)]\n"
        "[t.start() for t in threads]; [t.join() for t in threads]\n"
    )
    from .conftest import ROOT

    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]


def test_the_agency_signature_is_a_pades_baseline_container_with_a_signature_timestamp(client):
    _, pdf = issue(client, "commitment-letter")
    signature = PdfFileReader(io.BytesIO(pdf)).embedded_signatures[0]
    info = signature.signer_info
    assert sorted(a["type"].native for a in info["signed_attrs"]) == ["content_type", "message_digest", "signing_certificate_v2"]
    assert [a["type"].native for a in info["unsigned_attrs"]] == ["signature_time_stamp_token"]
    assert info["digest_algorithm"]["algorithm"].native == "sha256"
    [ess] = [a["values"][0] for a in info["signed_attrs"] if a["type"].native == "signing_certificate_v2"]
    assert ess.dump() == as_signing_certificate_v2(signature.signer_cert).dump()
    names = {c.chosen.subject.native["common_name"] for c in signature.signed_data["certificates"]}
    assert names >= {"晋城市司法局", "Chengnuo Development Signing CA"}


def test_what_depends_on_the_key_alone_is_computed_once_however_many_documents_it_signs(client, services, monkeypatch):
    from cryptography.hazmat.primitives import serialization
    from pyhanko.sign import attributes

    issue(client, "liaison-form")  # keys loaded
    signer = services.keys.signer(services.agencies.default)
    key, cert = signer.signing_key.dump(), signer.signing_cert
    parsed, described = [], []
    real_load, real_describe = serialization.load_der_private_key, attributes.as_signing_certificate_v2
    monkeypatch.setattr(serialization, "load_der_private_key", lambda data, *a, **k: parsed.append(data == key) or real_load(data, *a, **k))
    monkeypatch.setattr(attributes, "as_signing_certificate_v2", lambda c, *a, **k: described.append(c is cert) or real_describe(c, *a, **k))
    for _ in range(2):
        _, pdf = issue(client, "liaison-form")
        assert sigcheck.signatures(pdf, services.settings.certs_dir / "root-ca.pem")["agency"].bottom_line
    assert (True not in parsed, True not in described) == (True, True)


def test_in_development_healthz_says_the_timestamps_are_development_ones(client):
    timestamp = client.get("/healthz").json["checks"]["signing"]["timestamp"]
    assert (timestamp["ok"], timestamp["tsa"], timestamp["development"]) == (True, "development", True)
    assert "不能独立证明签署时间" in timestamp["note"] and "proves nothing independent" in timestamp["note"]


def test_production_refuses_to_start_without_a_tsa_url(settings):
    with pytest.raises(ConfigurationError) as refused:
        build_services(dataclasses.replace(settings, env="production"))
    assert "CHENGNUO_TSA_URL" in refused.value.zh and "CHENGNUO_TSA_URL" in refused.value.en
    assert "生产环境" in refused.value.zh and "CHENGNUO_ENV=production" in refused.value.en


def test_an_agency_with_its_own_key_refuses_the_development_tsa(settings, tmp_path):
    own = dataclasses.replace(settings, agencies_file=agencies_file(tmp_path, 'pkcs12 = "jc.p12"'))
    with pytest.raises(ConfigurationError) as refused:
        build_services(own)
    assert "CHENGNUO_TSA_URL" in refused.value.en and "jc-justice" in refused.value.en


def test_an_unknown_environment_is_refused():
    with pytest.raises(ConfigurationError) as refused:
        load_settings(environ={"CHENGNUO_ENV": "staging"})
    assert "CHENGNUO_ENV" in refused.value.en and "'staging'" in refused.value.en
