"""Validation at the timestamped time (issue 18, part 3) and trust roots from configuration (part 6): a document
verified 15 years on, when every certificate involved has expired, is checked as of its timestamps with the data it
carries, offline; a signature made after its certificate was revoked is invalid; the report names each signature's
PAdES level and the time it was validated as of."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io

import pytest
from asn1crypto import pem
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import signers
from pyhanko.sign.timestamps.requests_client import RequestsHTTPTimeStamper
from pyhanko.sign.validation.dss import DocumentSecurityStore

from devpki import dev_pki_server
from devpki.declaration import agency_label
from service import create_app
from service.errors import ConfigurationError
from service.runtime import build_services
from service.verifying.analysis import analyse
from service.verifying.trust_roots import load_trust_roots

from .conftest import keyed_client
from .test_ltv import issue
from .test_verification import check as verify

LATER = dt.timedelta(days=15 * 365 + 4)


@pytest.fixture
def years_later(services, settings, api_key):
    """The same service, registry and files, with its clock 15 years ahead."""
    moved = build_services(settings, converter=services.converter, sandbox=services.sandbox,
                           clock=lambda: services.now() + LATER)
    yield keyed_client(create_app(services=moved), api_key)
    moved.batch_queue.stop()


def test_fifteen_years_on_a_document_is_valid_as_of_its_timestamp_with_the_data_it_carries(client, years_later, services, dev_pki, pki):
    _, pdf = issue(client, "commitment-letter")
    later = services.now() + LATER
    for label in ("root", "interm", "tsa", "ocsp", agency_label("jc-justice")):
        assert dev_pki.cert(label).not_valid_after < later, label  # every certificate involved has expired by then
    server = dev_pki_server(pki)
    asked = dict(server.served)

    report = verify(years_later, pdf)
    assert report["verdict"] == "valid", report["reasons"]
    assert report["level"] == "B-LTA"
    assert report["checked_at"].startswith(str(later.year))
    [agency] = report["signatures"]
    assert agency["level"] == "B-LTA"
    validated = dt.datetime.fromisoformat(agency["validation_time"])
    signed = dt.datetime.fromisoformat(agency["timestamp"])
    assert abs(validated - signed) < dt.timedelta(seconds=1)  # as of its timestamp, not of the verification
    assert abs(validated - services.now()) < dt.timedelta(minutes=10)
    assert any("过期" in r and "B-LTA" in r for r in report["reasons"])  # the report says the certificate has expired since
    assert dict(server.served) == asked  # no CRL, OCSP or certificate was asked for: offline

    today = verify(client, pdf)
    assert today["verdict"] == "valid" and today["level"] == "B-LTA"
    assert not any("过期" in r for r in today["reasons"])


def test_without_its_validation_data_a_signature_is_only_b_t(client, pki, services):
    _, pdf = issue(client)
    reader_bytes = pdf[: pdf.index(b"%%EOF", pdf.index(b"/ByteRange")) + 6]  # the agency's revision alone: no DSS, no document timestamp
    [finding] = analyse(reader_bytes, [str(pki / "root-ca.pem")], services.now()).signatures
    assert (finding.level, finding.trusted) == ("B-T", True)
    assert abs(dt.datetime.fromisoformat(finding.validation_time) - dt.datetime.fromisoformat(finding.timestamp)) < dt.timedelta(seconds=1)


def _sign_with_validation_data(pdf: bytes, field: str, signer: signers.SimpleSigner, tsa_url: str, dev_pki) -> bytes:
    """A party's signature with a timestamp, then the DSS with the current CRL of the signer's CA, as B-LT signing does."""
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    signed = signers.sign_pdf(writer, signers.PdfSignatureMetadata(field_name=field), signer=signer,
                              timestamper=RequestsHTTPTimeStamper(tsa_url), existing_fields_only=True)
    crl = dev_pki.arch.service_registry.get_crl("interm", dt.datetime.now(dt.UTC))
    contents = PdfFileReader(io.BytesIO(signed.getvalue())).embedded_signatures[-1].pkcs7_content
    DocumentSecurityStore.add_dss(signed, contents, certs=[dev_pki.cert("interm")], crls=[crl])
    return signed.getvalue()


def test_a_signature_made_after_its_certificate_was_revoked_is_invalid(client, dev_pki, dev_tsa_url):
    _, pdf = issue(client, "commitment-letter")
    revoked = dev_pki.signer("revoked-signer")  # revoked for key compromise on 2025-06-01
    signed = _sign_with_validation_data(pdf, "applicant", revoked, dev_tsa_url, dev_pki)
    report = verify(client, signed)
    assert report["verdict"] == "invalid", report["reasons"]
    assert any("吊销" in r and "2025-06-01" in r for r in report["reasons"]), report["reasons"]
    applicant = next(s for s in report["signatures"] if s["field"] == "applicant")
    assert applicant["revoked_at"].startswith("2025-06-01")


def test_several_trust_roots_from_configuration_in_pem_and_der(services, settings, pki, tmp_path, client, api_key):
    _, pdf = issue(client)
    root = (pki / "root-ca.pem").read_bytes()
    der = tmp_path / "root.der"
    der.write_bytes(pem.unarmor(root)[2])
    unrelated = tmp_path / "unrelated.pem"
    unrelated.write_bytes(pem.armor("CERTIFICATE", _self_signed_root()))
    for roots in (f"{unrelated},{der}", str(unrelated)):
        configured = dataclasses.replace(settings, trust_roots=roots)
        elsewhere = build_services(configured, converter=services.converter)
        try:
            report = verify(keyed_client(create_app(services=elsewhere), api_key), pdf)
        finally:
            elsewhere.batch_queue.stop()
            elsewhere.sandbox.stop()
        expected = "valid" if str(der) in roots else "indeterminate"
        assert report["verdict"] == expected, (roots, report["reasons"])


def test_trust_roots_that_cannot_serve_stop_the_service_at_start(settings, tmp_path, pki):
    leaf = tmp_path / "leaf.pem"
    leaf.write_bytes((pki / "tsa.pem").read_bytes())
    garbage = tmp_path / "garbage.pem"
    garbage.write_bytes(b"not a certificate")
    bundle = tmp_path / "bundle.pem"
    bundle.write_bytes(pem.armor("CERTIFICATE", _self_signed_root()) + (pki / "root-ca.pem").read_bytes())
    assert len(load_trust_roots([bundle])) == 2  # several roots in one PEM file
    for path, words in ((tmp_path / "missing.pem", "无法读取"), (garbage, "没有可读的证书"), (leaf, "不是 CA 证书")):
        with pytest.raises(ConfigurationError) as raised:
            build_services(dataclasses.replace(settings, trust_roots=f"{bundle},{path}"))
        assert words in raised.value.zh and str(path) in raised.value.en


def _self_signed_root() -> bytes:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "另一个根证书 Another Root")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now).not_valid_after(now + dt.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True).sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.DER)
