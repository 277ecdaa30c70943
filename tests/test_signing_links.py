"""The applicant signs through a single-use link (a code sent apart, their ID number's last six characters),
or at the window once the clerk has checked their ID; with a certificate made for that one signature."""

from __future__ import annotations

import base64
import datetime as dt
import io
import re

import pytest
from cryptography import x509
from PIL import Image, ImageDraw
from pyhanko.pdf_utils.reader import PdfFileReader

from service.auth.principal import OPERATOR
from service.issuing import issue

from . import sigcheck
from .conftest import keyed_client, sample
from .test_party_signing import nssdb, sign, staff  # noqa: F401 - fixtures and helpers shared with the staff's signatures


def drawing(width: int = 600, height: int = 220) -> str:
    image = Image.new("RGBA", (width, height), (255, 255, 255, 0))
    draw = ImageDraw.Draw(image)
    draw.line([(40, 150), (120, 60), (200, 170), (300, 70), (420, 160), (540, 80)], fill=(10, 10, 10, 255), width=6)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()


def letter(services):
    return issue(services, "commitment-letter", sample("commitment-letter"), principal=OPERATOR, agency_id="jc-justice").document


def link_for(client, document_id, party="applicant"):
    response = client.post(f"/api/v1/documents/{document_id}/signing-links", json={"party": party})
    assert response.status_code == 201, response.json
    return response.json


def sign_link(anonymous, token, **body):
    payload = {"agree": True, "signature": drawing(), **body}
    return anonymous.post(f"/api/v1/signing/{token}", json=payload)


ID = sample("commitment-letter")["applicant"]["id_number"]


def test_the_letter_is_signed_by_the_applicant_through_a_link_then_by_the_handler(app, services, client, anonymous, nssdb, pki):
    document = letter(services)
    link = link_for(client, document.id)
    assert re.fullmatch(r"\d{6}", link["code"]) and link["url"].endswith(f"/sign/{link['token']}")
    assert dt.datetime.fromisoformat(link["expires_at"]) - services.now() > dt.timedelta(hours=71)
    signed = sign_link(anonymous, link["token"], code=link["code"], id_suffix=ID[-6:])
    assert signed.status_code == 200, signed.json
    assert [(p["role"], p["state"]) for p in signed.json["parties"]] == [("applicant", "signed"), ("handler", "waiting")]
    assert signed.json["parties"][0]["signer"] == "陈秀兰"

    clerk, token, password = staff(app, services)
    done = sign(clerk, token, document.id, "handler", password).json
    assert done["status"] == "completed" and done["revision"] == 2

    pdf = client.get(done["links"]["pdf"]).data
    by_pdfsig = sigcheck.pdfsig(pdf, nssdb)
    assert sorted(name for name, s in by_pdfsig.items() if s["signed"]) == ["agency", "applicant", "handler"]
    assert all(s["Signature Validation"] == "Signature is Valid." for s in by_pdfsig.values() if s["signed"]), by_pdfsig
    report = anonymous.post("/api/v1/verifications", data=pdf, content_type="application/pdf").json
    assert report["verdict"] == "valid" and report["completeness"] == {"complete": True, "awaiting": [], "newer_revision": False}
    roles = {s["field"]: (s["role"], s["kind"]) for s in report["signatures"]}
    assert roles == {"agency": ("签发机关 / issuing agency", "agency"), "applicant": ("申请人签名", "event"), "handler": ("经办人", "staff")}
    applicant = next(s for s in report["signatures"] if s["field"] == "applicant")
    assert applicant["signer"] == "陈秀兰" and applicant["signer_id"] == ID[:4] + "*" * 10 + ID[-4:]

    certificate = _signer_certificate(pdf, "applicant")
    assert ID not in certificate.public_bytes(__import__("cryptography").hazmat.primitives.serialization.Encoding.PEM).decode()
    assert ID.encode() not in certificate.public_bytes(__import__("cryptography").hazmat.primitives.serialization.Encoding.DER)
    serial = certificate.subject.get_attributes_for_oid(x509.oid.NameOID.SERIAL_NUMBER)[0].value
    assert serial.startswith("IDH-") and serial == services.persons.id_hash(ID)
    assert certificate.not_valid_after_utc - certificate.not_valid_before_utc <= dt.timedelta(hours=1, minutes=5)

    first = anonymous.post("/api/v1/verifications", data=services.files.get(document.pdf_path), content_type="application/pdf").json
    assert first["verdict"] == "valid" and first["completeness"]["newer_revision"]
    assert first["completeness"]["awaiting"] == ["申请人签名", "经办人"]


def _signer_certificate(pdf: bytes, field: str) -> x509.Certificate:
    reader = PdfFileReader(io.BytesIO(pdf))
    signature = next(s for s in reader.embedded_signatures if s.field_name == field)
    return x509.load_der_x509_certificate(signature.signer_cert.dump())


def test_wrong_codes_count_down_and_the_fifth_locks_the_link(services, client, anonymous):
    document = letter(services)
    link = link_for(client, document.id)
    answers = [sign_link(anonymous, link["token"], code="000000" if link["code"] != "000000" else "111111", id_suffix=ID[-6:])
               for _ in range(4)]
    assert [a.status_code for a in answers] == [403] * 4
    assert [re.search(r"还可尝试 (\d) 次", a.json["message"]).group(1) for a in answers] == ["4", "3", "2", "1"]
    wrong_suffix = sign_link(anonymous, link["token"], code=link["code"], id_suffix="000000")
    assert wrong_suffix.status_code == 423 and wrong_suffix.json["error"] == "link_locked"
    assert sign_link(anonymous, link["token"], code=link["code"], id_suffix=ID[-6:]).status_code == 423
    assert services.registry.get(document.id).revision == 0
    tries = [e for e in services.audit.entries(limit=20, action="sign") if e.object == f"document:{document.id}"]
    assert len(tries) == 5 and {e.outcome for e in tries} == {"refused"}


def test_a_link_is_single_use_expires_and_is_bound_to_its_party(services, settings, client, anonymous, app):
    document = letter(services)
    link = link_for(client, document.id)
    assert sign_link(anonymous, link["token"], code=link["code"], id_suffix=ID[-6:]).status_code == 200
    used = sign_link(anonymous, link["token"], code=link["code"], id_suffix=ID[-6:])
    assert used.status_code == 409 and used.json["error"] == "link_used"
    assert anonymous.post("/api/v1/signing/not-a-token", json={"agree": True, "signature": drawing()}).status_code == 404

    other = letter(services)
    expiring = link_for(client, other.id)
    services.clock = lambda: dt.datetime.now(dt.UTC) + dt.timedelta(hours=73)  # type: ignore[method-assign]
    try:
        expired = sign_link(anonymous, expiring["token"], code=expiring["code"], id_suffix=ID[-6:])
        assert expired.status_code == 410 and expired.json["error"] == "link_expired"
    finally:
        services.clock = lambda: dt.datetime.now(dt.UTC)  # type: ignore[method-assign]
    handler_link = client.post(f"/api/v1/documents/{other.id}/signing-links", json={"party": "handler"})
    assert handler_link.status_code == 409 and handler_link.json["error"] == "party_signs_with_own_certificate"
    assert client.post(f"/api/v1/documents/{other.id}/signing-links", json={"party": "nobody"}).status_code == 422


@pytest.mark.parametrize(("signature", "agree", "field"), [
    ("data:image/jpeg;base64,AAAA", True, "signature"),
    ("data:image/png;base64,not-base64!", True, "signature"),
    ("data:image/png;base64," + "A" * 800_001, True, "signature"),
    (None, True, "signature"),
    ("EMPTY", True, "signature"),
    ("DRAWN", False, "agree"),
])
def test_bad_drawings_and_no_agreement_change_nothing(services, client, anonymous, signature, agree, field):
    document = letter(services)
    link = link_for(client, document.id)
    if signature == "EMPTY":
        signature = drawing().split(",")[0] + "," + base64.b64encode(_blank_png()).decode()
    elif signature == "DRAWN":
        signature = drawing()
    response = anonymous.post(f"/api/v1/signing/{link['token']}",
                              json={"code": link["code"], "id_suffix": ID[-6:], "agree": agree, "signature": signature})
    assert response.status_code == 422 and field in response.json["errors"], response.json
    assert services.registry.get(document.id).revision == 0
    assert sign_link(anonymous, link["token"], code=link["code"], id_suffix=ID[-6:]).status_code == 200  # the link still works


def _blank_png() -> bytes:
    out = io.BytesIO()
    Image.new("RGBA", (600, 220), (255, 255, 255, 0)).save(out, format="PNG")
    return out.getvalue()


def test_the_window_screen_is_opened_by_the_clerk_after_the_id_check(app, services):
    document = letter(services)
    clerk, token, _ = staff(app, services)
    refused = clerk.post(f"/documents/{document.id}/window-signing", data={"party": "applicant", "csrf_token": token})
    assert refused.status_code == 422 and "身份证件" in refused.get_data(as_text=True)
    opened = clerk.post(f"/documents/{document.id}/window-signing", data={"party": "applicant", "identity_checked": "yes", "csrf_token": token})
    assert opened.status_code == 302
    screen = clerk.get(opened.headers["Location"]).get_data(as_text=True)
    assert "窗口工作人员已核验您的身份证件" in screen and 'id="code"' not in screen and "/pages/4.png" in screen
    assert clerk.get(opened.headers["Location"] + "/pages/1.png").data[:8] == b"\x89PNG\r\n\x1a\n"
    window_token = opened.headers["Location"].rsplit("/", 1)[1]
    done = clerk.post(f"/api/v1/signing/{window_token}", json={"agree": True, "signature": drawing()}, headers={"X-CSRF-Token": token})
    assert done.status_code == 200, done.json
    evidence = services.audit.entries(limit=1, action="sign")[0].detail
    assert evidence["mode"] == "window" and evidence["checked_by"].startswith("user:clerk") and "窗口工作人员核验身份证件" in evidence["identity"]


def test_a_key_without_the_agency_gets_no_link(app, services):
    document = letter(services)
    _, other_key = services.api_keys.create(name="其他机关", agencies=["jc-market"], forms=["*"], now=services.now())
    assert keyed_client(app, other_key).post(f"/api/v1/documents/{document.id}/signing-links", json={"party": "applicant"}).status_code == 404


def test_the_evidence_tells_every_signing_act_and_prints_as_a_certificate(app, services, client, anonymous):
    document = letter(services)
    link = link_for(client, document.id)
    sign_link(anonymous, link["token"], code="999999" if link["code"] != "999999" else "000000", id_suffix=ID[-6:])  # one wrong try
    sign_link(anonymous, link["token"], code=link["code"], id_suffix=ID[-6:])
    clerk, token, password = staff(app, services)
    sign(clerk, token, document.id, "handler", password)
    evidence = client.get(f"/api/v1/documents/{document.id}/evidence").json
    assert [(e["action"], e["outcome"]) for e in evidence["events"]] == [
        ("reserve", "success"), ("issue", "success"), ("signing.link", "success"), ("sign", "refused"), ("sign", "success"),
        ("sign", "success")]
    applicant, handler = [e["detail"] for e in evidence["events"] if e["action"] == "sign" and e["outcome"] == "success"]
    assert applicant["party"] == "applicant" and applicant["mode"] == "remote" and applicant["sha256_after"] == evidence["document"]["revisions"][1]["sha256"]
    assert handler["party"] == "handler" and handler["sha256_before"] == applicant["sha256_after"] and handler["user_agent"] is not None
    assert evidence["entries_intact"] and evidence["head_agrees"] and evidence["document"]["status"] == "completed"
    assert ID not in str(evidence)
    page = client.get(f"/api/v1/documents/{document.id}/evidence", headers={"Accept": "text/html"})
    assert page.mimetype == "text/html" and "签署证明" in page.get_data(as_text=True) and "申请人签名" in page.get_data(as_text=True)
    timeline = clerk.get(f"/documents/{document.id}").get_data(as_text=True)
    assert "经过" in timeline and "签署：applicant" in timeline and "未通过" in timeline
    assert clerk.get(f"/documents/{document.id}/evidence").status_code == 200
    assert anonymous.get(f"/api/v1/documents/{document.id}/evidence").status_code == 401
