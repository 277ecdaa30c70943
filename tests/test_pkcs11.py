"""An agency's key on a PKCS#11 token: SoftHSM2 holding the development PKI's key and certificate of 晋城市司法局,
signing through pyHanko's PKCS#11 signer; a wrong PIN, a missing module and an unplugged token each fail the request
with 503, void the drawn number with the reason, and show on /healthz — and the PIN is nowhere to be read."""

from __future__ import annotations

import dataclasses
import io
import json
import secrets
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pkcs11
import pytest
from asn1crypto import pem, x509
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    pkcs12,
)
from pkcs11 import Attribute, CertificateType, ObjectClass
from pyhanko.pdf_utils.reader import PdfFileReader

from service import create_app
from service.agencies import load_agencies
from service.errors import ConfigurationError
from service.runtime import Services, build_services

from . import sigcheck
from .conftest import keyed_client, sample

MODULE = Path("/usr/lib/softhsm/libsofthsm2.so")
TOKEN = "chengnuo-jc-justice"
KEY = "seal"
AGENCY = "晋城市司法局"
PIN_ENV = "CHENGNUO_TEST_TOKEN_PIN"


@dataclasses.dataclass(frozen=True)
class Token:
    directory: Path  # SoftHSM2's tokendir: removing it unplugs the token
    pin: str
    chain: Path


@pytest.fixture(scope="module")
def token(pki: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Token]:
    """A SoftHSM2 token in a temporary directory with jc-justice's key and certificate from the development PKI."""
    home = tmp_path_factory.mktemp("softhsm")
    tokens = home / "tokens"
    tokens.mkdir()
    conf = home / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {tokens}\nobjectstore.backend = file\nlog.level = ERROR\n")
    pin, so_pin = secrets.token_hex(6), secrets.token_hex(6)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("SOFTHSM2_CONF", str(conf))
        run = lambda *args: subprocess.run(["softhsm2-util", *args], check=True, capture_output=True, text=True)
        run("--init-token", "--free", "--label", TOKEN, "--pin", pin, "--so-pin", so_pin)
        passphrase = (pki / "private" / "passphrase").read_bytes().strip()
        key, cert, chain = pkcs12.load_key_and_certificates((pki / "agencies" / "jc-justice.p12").read_bytes(), passphrase)
        key_pem = home / "key.pem"
        key_pem.touch(mode=0o600)
        key_pem.write_bytes(key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
        run("--import", str(key_pem), "--token", TOKEN, "--label", KEY, "--id", "01", "--pin", pin)
        key_pem.unlink()
        # the path the service resolves: python-pkcs11 initialises a module once per path, and twice is an error
        with pkcs11.lib(str(MODULE.resolve())).get_token(token_label=TOKEN).open(rw=True, user_pin=pin) as session:
            session.create_object({
                Attribute.CLASS: ObjectClass.CERTIFICATE, Attribute.CERTIFICATE_TYPE: CertificateType.X_509,
                Attribute.TOKEN: True, Attribute.LABEL: KEY, Attribute.ID: b"\x01",
                Attribute.VALUE: cert.public_bytes(Encoding.DER), Attribute.SUBJECT: cert.subject.public_bytes(),
            })
        bundle = home / "chain.pem"
        bundle.write_bytes(b"".join(c.public_bytes(Encoding.PEM) for c in chain))  # intermediate and root, as in the .p12
        yield Token(tokens, pin, bundle)


def agencies_file(folder: Path, token: Token, **overrides: str) -> Path:
    keys = {"pkcs11_module": str(MODULE), "token_label": TOKEN, "key_label": KEY, "chain_file": str(token.chain),
            "pin_env": PIN_ENV, **overrides}
    lines = "\n".join(f'{name} = "{value}"' for name, value in keys.items() if value)
    path = folder / "agencies.toml"
    path.write_text(f'default = "jc-justice"\n[[agencies]]\nid = "jc-justice"\nname = "{AGENCY}"\n{lines}\n'
                    '[agencies.numbers]\ncommitment = "[{year}年]第{seq}号"\nletter = "晋市司函字〔{year}〕{seq}号"\n', encoding="utf-8")
    return path


@pytest.fixture
def on_token(services, settings, tmp_path, token, dev_tsa_url, monkeypatch) -> Iterator:
    """``make(**agency_file_overrides)``: the service with jc-justice's key on the token; closed afterwards."""
    made: list[Services] = []
    monkeypatch.setenv(PIN_ENV, token.pin)

    def make(**overrides: str) -> Services:
        folder = tmp_path / f"config-{len(made)}"
        folder.mkdir()
        svc = build_services(dataclasses.replace(settings, agencies_file=agencies_file(folder, token, **overrides), tsa_url=dev_tsa_url),
                             converter=services.converter)
        svc.signing_health.ttl = 0
        made.append(svc)
        return svc

    yield make
    for svc in made:
        svc.keys.close()  # logs out: PKCS#11 login belongs to the process, and the next test logs in afresh
        svc.batch_queue.stop()
        svc.instances.close()
        svc.registry.engine.dispose()


def post_letter(client):
    return client.post("/api/v1/documents", json={"form": "commitment-letter", "data": sample("commitment-letter")})


def voided_rows(svc: Services):
    return [r for r in svc.registry.list() if r.status == "voided"]


@pytest.fixture(scope="module")
def nssdb(pki, tmp_path_factory):
    return sigcheck.make_nssdb(tmp_path_factory.mktemp("nss"), pki / "root-ca.pem")


def test_a_commitment_letter_is_signed_through_the_token_and_pdfsig_trusts_it(on_token, token, api_key, nssdb, pki, caplog, tmp_path):
    pin_file = tmp_path / "pin"
    pin_file.write_text(token.pin + "\n")
    svc = on_token(pin_env="", pin_file=str(pin_file))
    client = keyed_client(create_app(services=svc), api_key)
    caplog.set_level("DEBUG")
    first = post_letter(client)
    assert first.status_code == 201, first.json
    session = svc.keys.signer(svc.agencies.default).session_used
    second = post_letter(client)
    assert second.status_code == 201, second.json
    assert svc.keys.signer(svc.agencies.default).session_used is session  # one session for every document

    pdf = client.get(second.json["links"]["pdf"]).data
    report = sigcheck.pdfsig(pdf, nssdb)["agency"]
    assert (report["Signature Validation"], report["Certificate Validation"]) == ("Signature is Valid.", "Certificate is Trusted.")
    assert report["Signer Certificate Common Name"] == AGENCY and report["whole document"] is False
    status = sigcheck.signatures(pdf, pki / "root-ca.pem")["agency"]
    assert status.bottom_line and status.timestamp_validity is not None and status.timestamp_validity.trusted
    lta = sigcheck.ades_lta(pdf, pki / "root-ca.pem")  # pyHanko's own PAdES-LTA validation, offline
    assert lta.ades_subindic.status.name == "PASSED" and lta.oldest_evidence_record_timestamp is not None, lta.ades_subindic
    # the same container as a PKCS#12 key gives (tests/test_signing.py)
    info = PdfFileReader(io.BytesIO(pdf)).embedded_signatures[0].signer_info
    assert sorted(a["type"].native for a in info["signed_attrs"]) == ["content_type", "message_digest", "signing_certificate_v2"]
    assert [a["type"].native for a in info["unsigned_attrs"]] == ["signature_time_stamp_token"]
    health = client.get("/healthz").json
    assert health["checks"]["signing"]["keys"]["jc-justice"] == {"ok": True, "algorithm": "rsa-sha256"}
    everything = first.get_data(as_text=True) + second.get_data(as_text=True) + json.dumps(health) + caplog.text
    assert token.pin not in everything


def test_documents_issued_at_once_share_the_session_and_all_verify(on_token, api_key, pki):
    svc = on_token()
    app = create_app(services=svc)
    with ThreadPoolExecutor(max_workers=4) as pool:
        responses = list(pool.map(lambda _: post_letter(keyed_client(app, api_key)), range(4)))
    assert [r.status_code for r in responses] == [201] * 4, [r.json for r in responses]
    client = keyed_client(app, api_key)
    for response in responses:
        assert sigcheck.signatures(client.get(response.json["links"]["pdf"]).data, pki / "root-ca.pem")["agency"].bottom_line

def test_a_wrong_pin_answers_503_voids_the_number_and_is_not_tried_again(on_token, token, api_key, caplog, monkeypatch):
    wrong = secrets.token_hex(6)
    monkeypatch.setenv(PIN_ENV, wrong)
    svc = on_token()
    client = keyed_client(create_app(services=svc), api_key)
    caplog.set_level("DEBUG")
    responses = [post_letter(client), post_letter(client)]
    for response in responses:
        assert (response.status_code, response.json["error"]) == (503, "signing_key_unavailable")
        assert AGENCY in response.json["message"] and "wrong PIN" in response.json["message"]
    voided = voided_rows(svc)
    assert len(voided) == 2 and all("wrong PIN" in r.void_reason and r.pdf_path is None for r in voided)
    health = client.get("/healthz")
    assert health.status_code == 503 and "wrong PIN" in health.json["checks"]["signing"]["keys"]["jc-justice"]["error"]
    assert caplog.text.count("refused the PIN") == 1  # sent once: a token locks itself after a few wrong PINs
    everything = "".join(r.get_data(as_text=True) for r in responses) + health.get_data(as_text=True) + caplog.text
    assert wrong not in everything and token.pin not in everything


def test_unplugging_the_token_answers_503_voids_the_number_and_healthz_names_the_agency(on_token, token, api_key, caplog):
    svc = on_token()
    client = keyed_client(create_app(services=svc), api_key)
    caplog.set_level("DEBUG")
    assert post_letter(client).status_code == 201
    away = token.directory.with_name("unplugged")
    token.directory.rename(away)
    try:
        response = post_letter(client)
        assert (response.status_code, response.json["error"]) == (503, "signing_key_unavailable")
        assert AGENCY in response.json["message"]
        [voided] = voided_rows(svc)
        assert voided.pdf_path is None and "signing token" in voided.void_reason and AGENCY in voided.void_reason
        assert client.get(f"/api/v1/documents/{voided.id}/pdf").status_code == 404
        health = client.get("/healthz")
        key = health.json["checks"]["signing"]["keys"]["jc-justice"]
        assert health.status_code == 503 and key["ok"] is False and AGENCY in key["error"]
        assert post_letter(client).status_code == 503  # still away: a new session finds no token either
    finally:
        away.rename(token.directory)
    back = post_letter(client)  # plugged back in: the session is opened again, no restart
    assert back.status_code == 201, back.json
    assert client.get("/healthz").json["checks"]["signing"]["keys"]["jc-justice"] == {"ok": True, "algorithm": "rsa-sha256"}
    assert token.pin not in caplog.text


def test_a_missing_module_answers_503_naming_the_agency(on_token, api_key):
    svc = on_token(pkcs11_module="/nonexistent/libpkcs11-gone.so")
    client = keyed_client(create_app(services=svc), api_key)
    response = post_letter(client)
    assert (response.status_code, response.json["error"]) == (503, "signing_key_unavailable")
    assert AGENCY in response.json["message"] and "PKCS#11 module" in response.json["message"]
    assert "PKCS#11 module" in voided_rows(svc)[0].void_reason
    assert client.get("/healthz").json["checks"]["signing"]["keys"]["jc-justice"]["ok"] is False


def test_a_pin_variable_that_is_not_set_answers_503_naming_the_variable(on_token, api_key, monkeypatch):
    svc = on_token()
    monkeypatch.delenv(PIN_ENV)
    response = post_letter(keyed_client(create_app(services=svc), api_key))
    assert response.status_code == 503 and PIN_ENV in response.json["message"] and AGENCY in response.json["message"]


@pytest.mark.parametrize(("keys", "complaint"), [
    ({"token_label": "t", "key_label": "k", "chain_file": "c.pem", "pin_env": "P"}, "pkcs11_module"),
    ({"pkcs11_module": "m.so", "token_label": "t", "key_label": "k", "chain_file": "c.pem"}, "exactly one of pin_env and pin_file"),
    ({"pkcs11_module": "m.so", "token_label": "t", "key_label": "k", "chain_file": "c.pem", "pin_env": "P", "pin_file": "p"},
     "exactly one of pin_env and pin_file"),
    ({"pkcs11_module": "m.so", "token_label": "t", "key_label": "k", "chain_file": "c.pem", "pin_env": "P", "pkcs12": "a.p12"},
     "excludes pkcs12"),
])
def test_an_incomplete_token_configuration_is_refused_at_start(tmp_path, keys, complaint):
    lines = "\n".join(f'{name} = "{value}"' for name, value in keys.items())
    path = tmp_path / "agencies.toml"
    path.write_text(f'[[agencies]]\nid = "a"\nname = "甲"\n{lines}\n[agencies.numbers]\ncommitment = "{{seq}}"\nletter = "{{seq}}"\n',
                    encoding="utf-8")
    with pytest.raises(ConfigurationError) as refused:
        load_agencies(path)
    assert complaint in refused.value.en


def test_an_agency_on_a_token_refuses_the_development_tsa(settings, tmp_path, token):
    with pytest.raises(ConfigurationError) as refused:
        build_services(dataclasses.replace(settings, agencies_file=agencies_file(tmp_path, token)))
    assert "CHENGNUO_TSA_URL" in refused.value.en and "jc-justice" in refused.value.en



def test_a_key_on_a_token_reported_compromised_signs_nothing_more_and_the_ca_request_names_its_certificate(on_token, api_key):
    import datetime as dt

    from service.auth.principal import OPERATOR
    from service.key_compromise import report_compromise

    svc = on_token()
    client = keyed_client(create_app(services=svc), api_key)
    assert post_letter(client).status_code == 201
    cert = svc.keys.certificate(svc.agencies.get("jc-justice"))  # read from the token
    since = svc.now() - dt.timedelta(hours=2)
    report = report_compromise(svc, "jc-justice", since, OPERATOR.actor, "HSM 管理口令外泄")
    assert report.rotation is None and report.ca_request is not None
    assert (report.ca_request.serial_hex, report.ca_request.serial_decimal) == (f"{cert.serial_number:X}", str(cert.serial_number))
    assert report.ca_request.issuer == cert.issuer.human_friendly and report.ca_request.invalidity_date == since
    response = post_letter(client)
    assert (response.status_code, response.json["error"]) == (503, "signing_key_compromised")
    assert AGENCY in response.json["message"]
    [voided] = voided_rows(svc)
    assert "compromised" in voided.void_reason and voided.pdf_path is None
    key = client.get("/healthz").json["checks"]["signing"]["keys"]["jc-justice"]
    assert key["ok"] is False and AGENCY in key["error"] and "泄露" in key["error"]


def test_an_sm2_agency_on_a_token_without_an_sm2_key_answers_503_and_voids_the_number(on_token, api_key):
    """SoftHSM2 has no SM2: the SM2 token backend (docs/sm2-signing-server.md) is checked here for its failure path, a
    token whose certificate is not an SM2 one."""
    svc = on_token(algorithm="sm2", pkcs11_mechanism="0x80000001")
    client = keyed_client(create_app(services=svc), api_key)
    response = post_letter(client)
    assert (response.status_code, response.json["error"]) == (503, "signing_key_unavailable")
    assert "holds no SM2 certificate" in response.json["message"] and AGENCY in response.json["message"]
    assert "no SM2 certificate" in voided_rows(svc)[0].void_reason
    health = client.get("/healthz").json["checks"]["signing"]["keys"]["jc-justice"]
    assert health["ok"] is False and health["algorithm"] == "sm2"


def test_an_sm2_mechanism_the_token_does_not_offer_answers_503_and_voids_the_number(on_token, token, pki, api_key):
    """The vendor mechanism reaches the token (python-pkcs11 lists no vendor mechanisms): SoftHSM2, which has no SM2,
    refuses it, with an SM2 certificate beside its RSA key, and the request fails visibly."""
    sm2_cert = (pki / "agencies" / "jx-market-sm2.sm2.pem").read_bytes()
    der = next(pem.unarmor(sm2_cert, multiple=True))[2]
    with pkcs11.lib(str(MODULE.resolve())).get_token(token_label=TOKEN).open(rw=True, user_pin=token.pin) as session:
        if not list(session.get_objects({Attribute.CLASS: ObjectClass.CERTIFICATE, Attribute.LABEL: "sm2"})):
            session.create_object({Attribute.CLASS: ObjectClass.CERTIFICATE, Attribute.CERTIFICATE_TYPE: CertificateType.X_509,
                                   Attribute.TOKEN: True, Attribute.LABEL: "sm2", Attribute.ID: b"\x02", Attribute.VALUE: der,
                                   Attribute.SUBJECT: x509.Certificate.load(der).subject.dump()})
    svc = on_token(algorithm="sm2", pkcs11_mechanism="0x80000001", cert_label="sm2")
    client = keyed_client(create_app(services=svc), api_key)
    response = post_letter(client)
    assert (response.status_code, response.json["error"]) == (503, "signing_key_unavailable")
    assert "cannot sign with the configured SM2 mechanism" in response.json["message"]
    assert "configured SM2 mechanism" in voided_rows(svc)[0].void_reason


STAFF_KEY = "staff-guo"


def test_a_staff_member_signs_with_their_own_key_on_a_token(services, settings, tmp_path, token, dev_tsa_url, monkeypatch, pki):
    """Issue 18 part 1: staff certificates can live on a token too (``[[agencies.staff_tokens]]``). The clerk signs as
    verifier with the key on SoftHSM2; their password still decides, and a token without its PIN answers 503."""
    from cryptography import x509 as crypto_x509
    from cryptography.hazmat.primitives import serialization

    from service import admin
    from service.auth.principal import OPERATOR

    from .test_party_signing import issued, sign, signed_in_as

    # a staff certificate from the persons CA, its key moved onto the token
    username, display = "guo-token", "郭文斌"
    made = services.persons.staff(name=display, username=username, agency_name=AGENCY, password="x" * 12, now=services.now())
    key = serialization.load_pem_private_key(made.encrypted_key.encode(), b"x" * 12)
    cert = crypto_x509.load_pem_x509_certificate(made.certificate.encode())
    key_pem = tmp_path / "staff.pem"
    key_pem.write_bytes(key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
    subprocess.run(["softhsm2-util", "--import", str(key_pem), "--token", TOKEN, "--label", STAFF_KEY, "--id", "07", "--pin", token.pin],
                   check=True, capture_output=True)
    key_pem.unlink()
    with pkcs11.lib(str(MODULE.resolve())).get_token(token_label=TOKEN).open(rw=True, user_pin=token.pin) as session:
        session.create_object({Attribute.CLASS: ObjectClass.CERTIFICATE, Attribute.CERTIFICATE_TYPE: CertificateType.X_509,
                               Attribute.TOKEN: True, Attribute.LABEL: STAFF_KEY, Attribute.ID: b"\x07",
                               Attribute.VALUE: cert.public_bytes(Encoding.DER), Attribute.SUBJECT: cert.subject.public_bytes()})
    chain = tmp_path / "persons-chain.pem"
    chain.write_bytes(b"".join(c.public_bytes(Encoding.PEM) for c in services.persons.chain))
    config = tmp_path / "agencies.toml"
    config.write_text(f'default = "jc-justice"\n[[agencies]]\nid = "jc-justice"\nname = "{AGENCY}"\n'
                      '[agencies.numbers]\ncommitment = "[{year}年]第{seq}号"\nletter = "晋市司函字〔{year}〕{seq}号"\n'
                      f'[[agencies.staff_tokens]]\nusername = "{username}"\npkcs11_module = "{MODULE}"\ntoken_label = "{TOKEN}"\n'
                      f'key_label = "{STAFF_KEY}"\nchain_file = "{chain}"\npin_env = "{PIN_ENV}"\n', encoding="utf-8")
    monkeypatch.setenv(PIN_ENV, token.pin)
    svc = build_services(dataclasses.replace(settings, agencies_file=config, tsa_url=dev_tsa_url), converter=services.converter,
                         sandbox=services.sandbox)
    try:
        app = create_app(services=svc)
        _, password = admin.add_user(svc, OPERATOR, username, "clerk", "jc-justice", display)
        client, csrf = signed_in_as(app, username, password)
        assert sign(client, csrf, issued(svc).id, "verifier", "wrong password").status_code == 403  # the password still decides

        document = issued(svc)
        response = sign(client, csrf, document.id, "verifier", password)
        assert response.status_code == 200, response.json
        pdf = client.get(f"/api/v1/documents/{document.id}/pdf").data
        signed = {s.field_name: s for s in PdfFileReader(io.BytesIO(pdf)).embedded_signatures}
        assert signed["verifier"].signer_cert.dump() == cert.public_bytes(Encoding.DER)  # the token's certificate
        status = sigcheck.signatures(pdf, pki / "root-ca.pem")["verifier"]
        assert status.intact and status.valid and status.trusted
        report = app.test_client().post("/api/v1/verifications", data=pdf, content_type="application/pdf").json
        assert report["verdict"] == "valid", report["reasons"]
        assert next(s for s in report["signatures"] if s["field"] == "verifier")["kind"] == "staff"
        assert svc.users.credentials(svc.users.get(username).id) is None  # no key of theirs is kept by the service

        svc.keys.close()
        monkeypatch.delenv(PIN_ENV)
        refused = sign(client, csrf, issued(svc).id, "verifier", password)
        assert refused.status_code == 503 and refused.json["error"] == "signing_key_unavailable", refused.json
        assert PIN_ENV in refused.json["message"] and token.pin not in refused.get_data(as_text=True)
    finally:
        svc.keys.close()
        svc.batch_queue.stop()
        svc.instances.close()
        svc.registry.engine.dispose()
