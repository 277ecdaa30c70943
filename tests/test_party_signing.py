"""Parties sign in the form's order, each in the field prepared for it; staff with their own certificates,
entering their password again. Each signature is a new revision that pdfsig and pyHanko validate."""

from __future__ import annotations

import concurrent.futures
import io

import pytest
from pyhanko.pdf_utils.reader import PdfFileReader

from service import admin
from service.auth.principal import OPERATOR
from service.issuing import issue

from . import sigcheck
from .conftest import keyed_client, sample
from .test_pages import signed_in


def staff(app, services, role="clerk", agency="jc-justice", display_name="郭文斌"):
    name = f"{role}{len(services.users.list())}"
    _, password = admin.add_user(services, OPERATOR, name, role, agency, display_name)
    client, token = signed_in_as(app, name, password)
    return client, token, password


def signed_in_as(app, username, password):
    import re

    client = app.test_client()
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").get_data(as_text=True)).group(1)
    assert client.post("/login", data={"username": username, "password": password, "csrf_token": token}).status_code == 302
    with client.session_transaction() as session:
        return client, session["csrf"]


def issued(services, form="internal-verification", agency="jc-justice"):
    return issue(services, form, sample(form), principal=OPERATOR, agency_id=agency).document


def sign(client, token, document_id, party, password):
    return client.post(f"/api/v1/documents/{document_id}/signatures", json={"party": party, "password": password},
                       headers={"X-CSRF-Token": token})


@pytest.fixture(scope="module")
def nssdb(tmp_path_factory, pki):
    return sigcheck.make_nssdb(tmp_path_factory.mktemp("nss"), pki / "root-ca.pem")


def test_a_clerk_signs_as_verifier_with_their_own_certificate(app, services, nssdb, pki):
    document = issued(services)
    client, token, password = staff(app, services)
    before = client.get(f"/api/v1/documents/{document.id}").json
    assert before["status"] == "awaiting_signatures" and before["revision"] == 0
    assert before["parties"] == [{"role": "verifier", "label": "核验人（签字）", "required": True, "state": "waiting",
                                  "signer": None, "signed_at": None}]
    response = sign(client, token, document.id, "verifier", password)
    assert response.status_code == 200, response.json
    body = response.json
    assert body["status"] == "completed" and body["revision"] == 1
    assert body["parties"][0]["state"] == "signed" and body["parties"][0]["signer"] == "郭文斌"
    assert [r["number"] for r in body["revisions"]] == [0, 1] and body["revisions"][1]["party"] == "verifier"

    pdf = client.get(body["links"]["pdf"]).data  # the latest revision
    # LibreOffice's; the agency's, its validation data, a document timestamp; the same for the verifier
    assert PdfFileReader(io.BytesIO(pdf)).xrefs.total_revisions == 7
    by_pdfsig = sigcheck.pdfsig(pdf, nssdb)
    assert sorted(name for name, s in by_pdfsig.items() if s["signed"]) == ["agency", "verifier"]
    for name in ("agency", "verifier"):
        assert by_pdfsig[name]["Signature Validation"] == "Signature is Valid.", by_pdfsig[name]
        assert by_pdfsig[name]["Certificate Validation"] == "Certificate is Trusted.", by_pdfsig[name]
    by_pyhanko = sigcheck.signatures(pdf, pki / "root-ca.pem")
    assert all(status.intact and status.valid and status.trusted for status in by_pyhanko.values())
    report = app.test_client().post("/api/v1/verifications", data=pdf, content_type="application/pdf").json
    assert report["verdict"] == "valid", report["reasons"]
    verifier = next(s for s in report["signatures"] if s["field"] == "verifier")
    assert verifier["signer"] == "郭文斌" and verifier["trusted"] and verifier["role"] == "核验人（签字）"
    entry = services.audit.entries(limit=1, action="sign")[0]
    assert entry.detail["party"] == "verifier" and entry.detail["sha256_after"] == body["revisions"][1]["sha256"]


def test_a_wrong_password_signs_nothing(app, services):
    document = issued(services)
    client, token, _ = staff(app, services)
    refused = sign(client, token, document.id, "verifier", "not my password")
    assert refused.status_code == 403 and refused.json["error"] == "wrong_password"
    assert services.registry.get(document.id).revision == 0
    assert services.audit.entries(limit=1, action="sign")[0].outcome == "refused"


def test_signing_out_of_order_twice_elsewhere_or_void_is_a_409_and_changes_nothing(app, services):
    client, token, password = staff(app, services, role="supervisor")
    letter = issued(services, "commitment-letter")
    early = sign(client, token, letter.id, "handler", password)
    assert early.status_code == 409 and early.json["error"] == "not_your_turn" and "申请人签名" in early.json["message"]
    theirs = sign(client, token, letter.id, "applicant", password)
    assert theirs.status_code == 409 and theirs.json["error"] == "party_signs_in_person"
    unknown = sign(client, token, letter.id, "nobody", password)
    assert unknown.status_code == 422 and "party" in unknown.json["errors"]

    slip = issued(services)
    assert sign(client, token, slip.id, "verifier", password).status_code == 200
    again = sign(client, token, slip.id, "verifier", password)
    assert again.status_code == 409 and again.json["error"] == "document_completed"

    voided = issued(services)
    client.post(f"/api/v1/documents/{voided.id}/void", json={"reason": "填错"}, headers={"X-CSRF-Token": token})
    refused = sign(client, token, voided.id, "verifier", password)
    assert refused.status_code == 409 and refused.json["error"] == "document_voided"
    assert services.registry.get(voided.id).revision == 0 and services.registry.get(letter.id).revision == 0


def test_only_signed_in_staff_of_the_agency_sign(app, services, api_key):
    document = issued(services)
    by_key = keyed_client(app, api_key).post(f"/api/v1/documents/{document.id}/signatures", json={"party": "verifier", "password": "x"})
    assert by_key.status_code == 403
    client, token, password = staff(app, services, agency="jc-market")
    assert sign(client, token, document.id, "verifier", password).status_code == 404  # another agency's document
    forged = app.test_client()
    assert forged.post(f"/api/v1/documents/{document.id}/signatures", json={"party": "verifier", "password": "x"}).status_code == 401


def test_two_signatures_at_once_land_once(app, services):
    document = issued(services)
    first, first_token, first_password = staff(app, services)
    second, second_token, second_password = staff(app, services, display_name="李明")
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda args: sign(*args).status_code, [(first, first_token, document.id, "verifier", first_password),
                                                                         (second, second_token, document.id, "verifier", second_password)]))
    assert sorted(results) == [200, 409]
    assert services.registry.get(document.id).revision == 1 and len(services.registry.revisions(document.id)) == 2


@pytest.mark.parametrize("form", ["onsite-verification"])
def test_the_onsite_record_is_signed_first_by_the_inspector(app, services, form):
    document = issued(services, form)
    client, token, password = staff(app, services)
    body = sign(client, token, document.id, "onsite_inspector", password).json
    assert body["status"] == "awaiting_signatures"
    assert [(p["role"], p["state"]) for p in body["parties"]] == [("onsite_inspector", "signed"), ("applicant", "waiting")]


def test_a_copy_says_who_still_has_to_sign_and_whether_a_newer_revision_exists(app, services):
    document = issued(services, "onsite-verification")
    first = services.files.get(document.pdf_path)
    client, token, password = staff(app, services)
    sign(client, token, document.id, "onsite_inspector", password)
    latest = client.get(f"/api/v1/documents/{document.id}/pdf").data
    anonymous = app.test_client()
    old = anonymous.post("/api/v1/verifications", data=first, content_type="application/pdf").json
    assert old["verdict"] == "valid", old["reasons"]
    assert old["completeness"] == {"complete": False, "awaiting": ["现场核验人员(签字)", "申请人(签字)"], "newer_revision": True}
    assert any("更新的版本" in r for r in old["reasons"])
    new = anonymous.post("/api/v1/verifications", data=latest, content_type="application/pdf").json
    assert new["verdict"] == "valid" and new["changes_since_issue"] == "form_filling_and_signing"
    assert new["completeness"] == {"complete": False, "awaiting": ["申请人(签字)"], "newer_revision": False}
    inspector = next(s for s in new["signatures"] if s["field"] == "onsite_inspector")
    assert (inspector["kind"], inspector["party"], inspector["signer"], inspector["signer_id"]) == ("staff", "onsite_inspector", "郭文斌", None)
    agency = next(s for s in new["signatures"] if s["certification"])
    assert agency["kind"] == "agency" and agency["party"] is None


def test_a_clerk_signs_on_the_document_page(app, services):
    document = issued(services)
    client, token, password = staff(app, services)
    page = client.get(f"/documents/{document.id}").get_data(as_text=True)
    assert "核验人（签字）：待签署" in page and 'name="party" value="verifier"' in page
    wrong = client.post(f"/documents/{document.id}/sign", data={"party": "verifier", "password": "wrong", "csrf_token": token})
    assert wrong.status_code == 403 and "密码不正确" in wrong.get_data(as_text=True)
    done = client.post(f"/documents/{document.id}/sign", data={"party": "verifier", "password": password, "csrf_token": token})
    assert done.status_code == 302
    page = client.get(f"/documents/{document.id}").get_data(as_text=True)
    assert "核验人（签字）：已签署（郭文斌" in page and "有效，已签署完成" in page and "第 1 版" in page


def test_a_clerk_saves_a_handwritten_signature_that_their_signatures_then_show(app, services):
    from .test_signing_links import drawing

    client, token, password = staff(app, services)
    assert client.get("/account/signature").status_code == 200
    bad = client.put("/api/v1/account/signature", json={"signature": "data:image/png;base64,AAAA"}, headers={"X-CSRF-Token": token})
    assert bad.status_code == 422 and "signature" in bad.json["errors"]
    saved = client.put("/api/v1/account/signature", json={"signature": drawing()}, headers={"X-CSRF-Token": token})
    assert saved.status_code == 204
    assert client.get("/account/signature.png").data[:4] == b"\x89PNG"
    document = issued(services)
    body = sign(client, token, document.id, "verifier", password).json
    signed = client.get(body["links"]["pdf"]).data
    assert appearance_image_size(signed, "verifier") == (600, 220)  # the drawing, not the written name


def appearance_image_size(pdf: bytes, field: str) -> tuple[int, int]:
    """Width and height of the picture in the field's appearance (the seal style draws one image XObject)."""
    reader = PdfFileReader(io.BytesIO(pdf))
    widget = next(f.get_object() for f in reader.root["/AcroForm"]["/Fields"] if f.get_object()["/T"] == field)
    stack = [widget["/AP"]["/N"]]
    while stack:
        xobject = stack.pop()
        for inner in xobject.get("/Resources", {}).get("/XObject", {}).values():
            inner = inner.get_object()
            if inner.get("/Subtype") == "/Image":
                return int(inner["/Width"]), int(inner["/Height"])
            stack.append(inner)
    raise AssertionError("no picture in the appearance")
