"""The development PKI of devpki/pki.yml: what init-pki materialises is what the declaration says, and its
revocation services answer on loopback, at the addresses the certificates name, as pyHanko's validator
fetches them."""

from __future__ import annotations

import asyncio
import urllib.request
from contextlib import aclosing
from pathlib import Path

import pytest
from asn1crypto import crl, pem, x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12
from pyhanko_certvalidator import CertificateValidator, ValidationContext
from pyhanko_certvalidator.errors import PathValidationError, RevokedError

from devpki import DevPki, DevPkiServer, dev_pki_server, init_pki
from devpki.declaration import agency_label
from service.agencies import Agency, load_agencies
from service.config import load_settings
from service.signing.paths import PkiPaths, read_passphrase

from . import sigcheck
from .conftest import sample


def test_every_agency_without_a_key_of_its_own_signs_with_a_certificate_of_the_declaration(pki: Path, dev_pki: DevPki):
    agencies = load_agencies(load_settings(environ={}).agencies_file).by_id.values()
    paths, passphrase = PkiPaths(pki), read_passphrase(PkiPaths(pki).passphrase_file)
    interm = dev_pki.cert("interm")
    for agency in [a for a in agencies if not a.sm2]:  # the SM2 ones: tests/test_sm2.py, test_an_sm2_agency_…_from_the_sm2_root
        declared = dev_pki.cert(agency_label(agency.id))
        assert declared.subject.native["common_name"] == agency.name and declared.issuer == interm.subject
        materialised = pkcs12.load_pkcs12(paths.agency(agency.id).read_bytes(), passphrase).cert
        assert materialised is not None and materialised.certificate.public_bytes(serialization.Encoding.DER) == declared.dump()
    assert paths.tsa_cert.read_bytes() == pem.armor("CERTIFICATE", dev_pki.cert("tsa").dump())
    assert paths.tsa_next_cert.read_bytes() == pem.armor("CERTIFICATE", dev_pki.cert("tsa-next").dump())


def test_an_sm2_agency_gets_an_sm2_certificate_from_the_sm2_root(pki: Path):
    import service.gm  # noqa: F401 - the SM2 OIDs
    from devpki.sm2 import CRL_PATH
    from service.gm import sm2

    paths = PkiPaths(pki)
    [agency] = [a for a in load_agencies(load_settings(environ={}).agencies_file).by_id.values() if a.sm2]
    root = x509.Certificate.load(pem.unarmor(paths.sm2_root_cert.read_bytes())[2])
    cert, chained_root = [x509.Certificate.load(der) for _, _, der in pem.unarmor(paths.sm2_agency_cert(agency.id).read_bytes(), multiple=True)]
    assert chained_root.dump() == root.dump() and cert.issuer == root.subject and cert.subject.native["common_name"] == agency.name
    assert sm2.is_sm2_key(cert.public_key) and cert.signature_algo == "sm2" and cert.hash_algo == "sm3"
    assert sm2.verify(root.public_key, cert.signature, cert["tbs_certificate"].dump())
    assert CRL_PATH in str(cert.crl_distribution_points_value.native)
    assert oct(paths.sm2_agency_key(agency.id).stat().st_mode & 0o777) == "0o600"


def test_the_seal_maker_gets_an_sm2_signing_certificate_from_the_sm2_root(pki: Path):
    import service.gm  # noqa: F401 - the SM2 OIDs
    from devpki.sm2 import SEAL_MAKER_NAME
    from service.gm import sm2

    paths = PkiPaths(pki)
    root = x509.Certificate.load(pem.unarmor(paths.sm2_root_cert.read_bytes())[2])
    cert, chained_root = [x509.Certificate.load(der) for _, _, der in pem.unarmor(paths.seal_maker_cert.read_bytes(), multiple=True)]
    assert chained_root.dump() == root.dump() and cert.issuer == root.subject and cert.subject.native["common_name"] == SEAL_MAKER_NAME
    assert sm2.is_sm2_key(cert.public_key) and not cert.ca and cert.key_usage_value.native == {"digital_signature", "non_repudiation"}
    assert sm2.verify(root.public_key, cert.signature, cert["tbs_certificate"].dump())
    assert oct(paths.seal_maker_key.stat().st_mode & 0o777) == "0o600"


def test_init_pki_keeps_what_exists_and_adds_a_new_agency(tmp_path: Path):
    first = init_pki(tmp_path, [Agency("a-one", "一号机关")])
    assert "signing certificate of 一号机关 (a-one)" in first and "root CA certificate" in first
    root = (tmp_path / "root-ca.pem").read_bytes()
    assert init_pki(tmp_path, [Agency("a-one", "一号机关")]) == []
    added = init_pki(tmp_path, [Agency("a-one", "一号机关"), Agency("a-two", "二号机关")])
    assert added == ["key agency-a-two (rsa-2048)", "signing certificate of 二号机关 (a-two)"]
    assert (tmp_path / "root-ca.pem").read_bytes() == root
    assert init_pki(tmp_path, [Agency("a-own", "自带密钥的机关", pkcs12=tmp_path / "own.p12")]) == []  # brings its own key
    assert not (tmp_path / "agencies" / "a-own.p12").exists()
    assert oct((tmp_path / "private").stat().st_mode & 0o777) == "0o700"


@pytest.fixture(scope="module")
def served(pki: Path) -> DevPkiServer:
    """The PKI's services at the declared address (this process serves them, or another of this checkout)."""
    return dev_pki_server(pki)


def validate(dev_pki: DevPki, label: str) -> None:
    """pyHanko's certificate validator, fetching revocation data and requiring it (hard-fail)."""

    async def run() -> None:
        context = ValidationContext(trust_roots=[dev_pki.cert("root")], other_certs=[dev_pki.cert("interm")],
                                    allow_fetching=True, revocation_mode="hard-fail")
        async with aclosing(context):
            await CertificateValidator(dev_pki.cert(label), validation_context=context).async_validate_usage({"digital_signature"})

    asyncio.run(run())


def test_the_crl_at_the_address_the_certificates_name_lists_the_revoked_signer(dev_pki: DevPki, served: DevPkiServer):
    revoked = dev_pki.cert("revoked-signer")
    [url] = [p["distribution_point"].chosen[0].native for p in revoked.crl_distribution_points]
    assert url.startswith(served.pki.url)
    with urllib.request.urlopen(url, timeout=10) as response:
        listed = crl.CertificateList.load(response.read())
    entries = {entry["user_certificate"].native: entry for entry in listed["tbs_cert_list"]["revoked_certificates"]}
    assert set(entries) == {revoked.serial_number}
    assert entries[revoked.serial_number].crl_reason_value.native == "key_compromise"


def test_pyhanko_fetches_revocation_data_and_refuses_the_revoked_signer(dev_pki: DevPki, served: DevPkiServer):
    validate(dev_pki, "test-signer")  # the OCSP responder and the CRLs answer: good
    validate(dev_pki, agency_label("jc-justice"))  # an agency's certificate: its CRL
    with pytest.raises(RevokedError):
        validate(dev_pki, "revoked-signer")
    if served.serves_declared_address:
        assert served.served["ocsp"] >= 2 and served.served["crls"] >= 2


def test_the_expired_signer_does_not_validate(dev_pki: DevPki, served: DevPkiServer):
    with pytest.raises(PathValidationError, match="expired"):
        validate(dev_pki, "expired-signer")


def test_the_test_signers_sign_as_pyhanko_signers(client, dev_pki: DevPki, pki: Path):
    response = client.post("/api/v1/documents", json={"form": "commitment-letter", "data": sample("commitment-letter")})
    pdf = client.get(response.json["links"]["pdf"]).data
    signed = sigcheck.sign_field(pdf, "applicant", dev_pki.signer("test-signer"))
    applicant = sigcheck.signatures(signed, pki / "root-ca.pem")["applicant"]
    assert applicant.intact and applicant.valid and applicant.trusted
    assert applicant.signing_cert.subject.native["common_name"] == "测试签名人"
