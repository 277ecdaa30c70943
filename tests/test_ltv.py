"""PAdES B-LT and B-LTA (issue 18, part 2): every signature the service makes leaves its chain's certificates and
revocation data in the document security store, and the document ends with a document timestamp; checked offline
with pyHanko (only the trust root, no fetching) and with poppler's pdfsig. A revocation responder that does not
answer fails the request, like a TSA that does not: 503, and the drawn number voided with the reason."""

from __future__ import annotations

import dataclasses
import io

import pytest

from pyhanko.keys import load_cert_from_pemder
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature, validate_pdf_timestamp
from pyhanko.sign.validation.dss import DocumentSecurityStore

from devpki import load_dev_pki
from devpki.declaration import agency_label
from service import create_app
from service.runtime import build_services

from . import sigcheck
from .conftest import keyed_client, sample
from .test_signing import agencies_file


@pytest.fixture(scope="module")
def nssdb(tmp_path_factory, pki):
    return sigcheck.make_nssdb(tmp_path_factory.mktemp("nss"), pki / "root-ca.pem")


def issue(client, form: str = "assistance-reply") -> tuple[dict, bytes]:
    response = client.post("/api/v1/documents", json={"form": form, "data": sample(form)})
    assert response.status_code == 201, response.json
    return response.json, client.get(response.json["links"]["pdf"]).data


def offline_context(reader: PdfFileReader, root) -> object:
    """Only the trust root and what the document embeds: no fetching; revocation data required wherever a
    certificate names a CRL or OCSP location."""
    return DocumentSecurityStore.read_dss(reader).as_validation_context(
        {"trust_roots": [load_cert_from_pemder(str(root))], "allow_fetching": False, "revocation_mode": "hard-fail"})


def test_an_issued_document_embeds_its_validation_data_and_ends_with_a_document_timestamp(client, pki, dev_pki):
    _, pdf = issue(client)
    reader = PdfFileReader(io.BytesIO(pdf))
    dss = DocumentSecurityStore.read_dss(reader)
    embedded = {ref.get_object().data for ref in dss.certs.values()}
    for label in ("interm", "root", "tsa", agency_label("jc-justice")):
        assert dev_pki.cert(label).dump() in embedded, label
    assert dss.crls  # the intermediate's CRL (agency and TSA certificates) and the root's
    [agency, stamp] = reader.embedded_signatures
    assert (agency.sig_object_type, stamp.sig_object_type) == ("/Sig", "/DocTimeStamp")
    assert stamp.signed_revision > agency.signed_revision

    context = offline_context(reader, pki / "root-ca.pem")
    status = validate_pdf_signature(agency, context, ts_validation_context=context)
    assert status.intact and status.valid and status.trusted and status.docmdp_ok
    assert status.timestamp_validity.trusted
    assert status.modification_level.name == "LTA_UPDATES"  # the DSS and the document timestamp, nothing else
    stamped = validate_pdf_timestamp(stamp, validation_context=context)
    assert stamped.intact and stamped.valid and stamped.trusted


def test_pyhanko_validates_the_document_as_pades_lta(client, pki):
    _, pdf = issue(client, "commitment-letter")
    result = sigcheck.ades_lta(pdf, pki / "root-ca.pem")
    assert result.ades_subindic.status.name == "PASSED", result.ades_subindic
    assert result.api_status.bottom_line
    assert result.oldest_evidence_record_timestamp is not None  # the document timestamp: the evidence record of LTA


def test_pdfsig_and_the_report_accept_the_b_lta_document(client, nssdb):
    _, pdf = issue(client, "commitment-letter")
    report = sigcheck.pdfsig(pdf, nssdb)["agency"]
    assert (report["Signature Validation"], report["Certificate Validation"]) == ("Signature is Valid.", "Certificate is Trusted.")
    assert len(sigcheck.document_timestamps(pdf)) == 1
    verdict = client.post("/api/v1/verifications", data=pdf, content_type="application/pdf").json
    assert verdict["verdict"] == "valid", verdict["reasons"]
    assert verdict["changes_since_issue"] == "none"


def test_revocation_data_is_fetched_once_per_chain_while_it_is_current(services, client):
    issue(client)
    fetched = services.revocation.fetches
    issue(client)
    assert fetched == services.revocation.fetches == 1


def test_an_unreachable_revocation_responder_fails_the_request_and_voids_the_number(services, settings, tmp_path, api_key, pki, dev_tsa_url):
    # the agency's certificate, from the same CA, names a CRL at an address where nothing answers
    unreachable = load_dev_pki(pki, url="http://127.0.0.1:9")
    passphrase = (pki / "private" / "passphrase").read_bytes().strip()
    p12 = tmp_path / "agency.p12"
    p12.write_bytes(unreachable.arch.package_pkcs12(agency_label("jc-justice"), password=passphrase))
    (tmp_path / "pass").write_bytes(passphrase)
    down = build_services(dataclasses.replace(settings, tsa_url=dev_tsa_url, tsa_timeout=2,
                                              agencies_file=agencies_file(tmp_path, f'pkcs12 = "{p12}"\npassphrase_file = "{tmp_path / "pass"}"')),
                          converter=services.converter)
    client = keyed_client(create_app(services=down), api_key)
    response = client.post("/api/v1/documents", json={"form": "assistance-reply", "data": sample("assistance-reply")})
    assert response.status_code == 503 and response.json["error"] == "revocation_unavailable"
    assert response.headers["Retry-After"]
    [voided] = [r for r in down.registry.list() if r.status == "voided"]
    assert "revocation" in voided.void_reason and voided.pdf_path is None
