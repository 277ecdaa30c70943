"""国密 (issue 20): an agency that signs with SM2 over SM3, beside the RSA ones, on one service.

Its documents are issued through the API, signed by pyHanko with the agency's SM2 signer (tongsuopy), checked by
pyHanko with the service's SM2 validator, by gmssl (an SM2 implementation independent of tongsuopy) and by hashlib's
SM3; every tamper the service rejects for an RSA agency's document it rejects for an SM2 one; a signing server that
does not answer in time fails the request with 503 and voids the drawn number."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import http.server
import io
import json
import secrets
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import asn1crypto
import pytest
from asn1crypto import cms, pem, x509
from gmssl import sm2 as gmssl_sm2
from pyhanko.keys import load_cert_from_pemder
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.fields import MDPPerm
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext
from tongsuopy.crypto.serialization import load_pem_private_key

from service import create_app
from service.agencies import load_agencies
from service.errors import ConfigurationError
from service.gm import oids
from service.gm import sm2 as gm
from service.gm.validator import GM_VALIDATOR
from service.runtime import Services, build_services
from service.signing.paths import PkiPaths, read_passphrase

from . import attacks, sigcheck
from .conftest import ROOT, keyed_client, sample
from .test_verification import check

SM2_AGENCY = "jx-market-sm2"
SM2_NAME = "郏县市场监督管理局"
SECRET_ENV = "CHENGNUO_TEST_SIGNING_SECRET"


def issue(client, form_id: str = "commitment-letter", agency: str = SM2_AGENCY) -> tuple[dict, bytes]:
    response = client.post("/api/v1/documents", json={"form": form_id, "agency": agency, "data": sample(form_id)})
    assert response.status_code == 201, response.json
    return response.json, client.get(response.json["links"]["pdf"]).data


def context(pki: Path) -> ValidationContext:
    """pyHanko's context with both roots (SM2 for the agency, RSA for the development TSA) and the SM2 validator."""
    roots = [load_cert_from_pemder(str(pki / "sm2-root-ca.pem")), load_cert_from_pemder(str(pki / "root-ca.pem"))]
    return ValidationContext(trust_roots=roots, allow_fetching=False, signature_validator=GM_VALIDATOR)


def agency_signature(pdf: bytes):
    return next(s for s in PdfFileReader(io.BytesIO(pdf)).embedded_signatures if s.field_name == "agency")


def signed_attributes_der(info: cms.SignerInfo) -> bytes:
    """The signed attributes as signed: a SET OF, not the [0] they are tagged with in the SignerInfo."""
    return b"\x31" + info["signed_attrs"].dump()[1:]


def gmssl_verifier(cert: x509.Certificate, private_key: str | None = None) -> gmssl_sm2.CryptSM2:
    crypt = gmssl_sm2.CryptSM2(private_key=private_key, public_key="", asn1=True)
    crypt.public_key = gm.public_point(cert.public_key).hex()  # set after: gmssl's constructor lstrips "0"/"4" off the key
    return crypt


@pytest.fixture(scope="module")
def sm2_key(pki: Path) -> tuple[int, x509.Certificate]:
    """The development SM2 agency's private scalar and certificate (what a signing server would hold)."""
    paths = PkiPaths(pki)
    key = load_pem_private_key(paths.sm2_agency_key(SM2_AGENCY).read_bytes(), read_passphrase(paths.passphrase_file))
    [cert, _root] = [x509.Certificate.load(der) for _, _, der in pem.unarmor(paths.sm2_agency_cert(SM2_AGENCY).read_bytes(), multiple=True)]
    return key.private_numbers().private_value, cert


# --- issuing and checking, in development --------------------------------------------------------------------------


def test_an_sm2_agency_issues_the_commitment_letter_and_pyhanko_trusts_it(client, pki, artefacts):
    body, pdf = issue(client)
    (artefacts / "sm2-commitment-letter.pdf").write_bytes(pdf)
    status = validate_pdf_signature(agency_signature(pdf), context(pki), ts_validation_context=context(pki))
    assert (status.intact, status.valid, status.trusted, status.bottom_line) == (True, True, True, True)
    assert status.signing_cert.subject.native["common_name"] == SM2_NAME and agency_signature(pdf).docmdp_level == MDPPerm.FILL_FORMS
    assert status.timestamp_validity is not None and status.timestamp_validity.valid and status.timestamp_validity.trusted
    info = agency_signature(pdf).signer_info
    assert info["digest_algorithm"]["algorithm"].dotted == "1.2.156.10197.1.401"  # SM3
    assert info["signature_algorithm"]["algorithm"].dotted == "1.2.156.10197.1.501"  # SM2 with SM3
    report = check(client, pdf)
    assert report["verdict"] == "valid", report["reasons"]
    [agency] = report["signatures"]
    assert (agency["signer"], agency["algorithm"], agency["level"], agency["trusted"]) == (SM2_NAME, "sm2-sm3", "B-LTA", True)
    assert report["document"]["serial"] == body["serial"]


def test_gmssl_verifies_the_raw_signature_and_hashlib_sm3_the_digest(client):
    _, pdf = issue(client)
    sig = agency_signature(pdf)
    info = sig.signer_info
    start1, length1, start2, length2 = sig.byte_range
    signed_range = pdf[start1:start1 + length1] + pdf[start2:start2 + length2]
    digest = next(a["values"][0].native for a in info["signed_attrs"] if a["type"].native == "message_digest")
    assert digest == hashlib.new("sm3", signed_range).digest()
    signature = info["signature"].native
    verifier = gmssl_verifier(sig.signer_cert)
    assert verifier.verify_with_sm3(signature.hex(), signed_attributes_der(info))  # GM/T 0009's default ID, as gmssl fixes it
    assert not verifier.verify_with_sm3(signature.hex(), signed_attributes_der(info) + b"x")
    # under another distinguishing ID (OpenSSL's empty default) the same signature does not verify
    assert not verifier.verify(signature.hex(), gm.digest_e(sig.signer_cert.public_key, signed_attributes_der(info), b""))


def test_a_byte_flipped_in_the_signed_range_makes_the_document_invalid(client):
    _, pdf = issue(client)
    start = pdf.index(b"stream", 2000) + 40
    assert start < agency_signature(pdf).byte_range[1]  # inside the first signed range
    flipped = pdf[:start] + bytes([pdf[start] ^ 0x01]) + pdf[start + 1:]
    report = check(client, flipped)
    assert report["verdict"] == "invalid", report["reasons"]
    assert report["signatures"][0]["intact"] is False


def test_the_applicants_signature_afterwards_keeps_the_certification_valid(client, pki):
    _, pdf = issue(client)
    returned = sigcheck.sign_field(pdf, "applicant", sigcheck.applicant_signer("陈秀兰"))
    report = check(client, returned)
    assert report["verdict"] == "valid", report["reasons"]
    assert report["changes_since_issue"] == "form_filling_and_signing"
    agency = next(s for s in report["signatures"] if s["field"] == "agency")
    applicant = next(s for s in report["signatures"] if s["field"] == "applicant")
    assert agency["intact"] and agency["trusted"] and agency["algorithm"] == "sm2-sm3"
    assert applicant["signer"] == "陈秀兰" and applicant["intact"] and applicant["algorithm"] == "ecdsa-sha256"
    status = validate_pdf_signature(agency_signature(returned), context(pki))
    assert status.bottom_line and status.modification_level is not None


def test_rsa_and_sm2_agencies_issue_side_by_side_and_healthz_names_both_algorithms(client):
    _, rsa = issue(client, agency="jc-justice")
    _, sm2 = issue(client)
    assert [s["algorithm"] for s in check(client, rsa)["signatures"]] == ["rsa-sha256"]
    assert [s["algorithm"] for s in check(client, sm2)["signatures"]] == ["sm2-sm3"]
    keys = client.get("/healthz").json["checks"]["signing"]["keys"]
    assert keys["jc-justice"] == {"ok": True, "algorithm": "rsa-sha256"}
    assert keys[SM2_AGENCY] == {"ok": True, "algorithm": "sm2-sm3"}


# --- every tamper rejected for RSA is rejected for SM2 (tests/test_verification.py runs them on an RSA document) -----

TAMPERS: list[Callable[[bytes], bytes]] = [
    attacks.incremental_saving, attacks.shadow_replace, attacks.evil_annotation, attacks.sneaky_signature_field,
    attacks.retitled, attacks.replaced_info, attacks.added_xmp, attacks.signature_wrapping,
    attacks.broken_byte_range, attacks.emptied_contents, attacks.unsigned_original,
]


@pytest.mark.parametrize("attack", TAMPERS, ids=lambda a: a.__name__)
def test_every_tamper_of_an_sm2_document_is_invalid(client, attack):
    _, pdf = issue(client)
    report = check(client, attack(pdf))
    assert report["verdict"] == "invalid", report["reasons"]


def test_a_re_signature_of_an_sm2_document_by_a_lookalike_key_is_caught(client):
    body, pdf = issue(client)
    report = check(client, attacks.resigned_by_lookalike(pdf, body["serial"], SM2_NAME))
    assert report["verdict"] == "invalid", report["reasons"]
    [signature] = report["signatures"]
    assert signature["signer"] == SM2_NAME and signature["intact"] and not signature["trusted"]


def test_an_sm2_signature_copied_from_another_document_is_caught(client):
    _, first = issue(client, "liaison-form")
    _, second = issue(client, "liaison-form")
    report = check(client, attacks.copied_signature(second, first))
    assert report["verdict"] == "invalid" and report["signatures"][0]["intact"] is False


def test_a_signing_tool_may_touch_an_sm2_document_as_an_rsa_one(client):
    _, pdf = issue(client)
    assert check(client, attacks.touched_by_a_signing_tool(pdf))["verdict"] == "valid"


# --- the signing server ---------------------------------------------------------------------------------------------


@dataclasses.dataclass
class SigningServerStub:
    """An HTTP signing server on loopback as docs/sm2-signing-server.md describes it, signing e with gmssl."""

    private_scalar: int
    cert: x509.Certificate
    secret: bytes
    mode: str = "sign"  # sign | sleep | other_key
    sleep: float = 3.0
    requests: list = dataclasses.field(default_factory=list)

    def answer(self, headers, raw: bytes) -> tuple[int, dict]:
        stamp, _, mac = headers.get("X-Chengnuo-Signature", "").partition(",v1=")
        stamp = stamp.removeprefix("t=")
        expected = hmac.new(self.secret, stamp.encode() + b"." + raw, hashlib.sha256).hexdigest()
        if not (stamp.isdigit() and abs(time.time() - int(stamp)) < 300 and hmac.compare_digest(mac, expected)):
            return 401, {"error": "unauthorized"}
        body = json.loads(raw)
        self.requests.append(body)
        if self.mode == "sleep":
            time.sleep(self.sleep)
        scalar = self.private_scalar if self.mode != "other_key" else secrets.randbelow(self.private_scalar) + 1
        crypt = gmssl_sm2.CryptSM2(private_key=f"{scalar:064x}", public_key="", asn1=True)
        signature = None
        while signature is None:
            signature = crypt.sign(base64.b64decode(body["digest"]), secrets.token_hex(31))
        return 200, {"signature": base64.b64encode(bytes.fromhex(signature)).decode()}


@pytest.fixture
def signing_server(sm2_key) -> Iterator[tuple[SigningServerStub, str]]:
    stub = SigningServerStub(sm2_key[0], sm2_key[1], secrets.token_hex(16).encode())

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            status, body = stub.answer(self.headers, raw)
            data = json.dumps(body).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except OSError:
                pass  # the service gave up waiting

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.block_on_close = False
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield stub, f"http://127.0.0.1:{server.server_port}/v1/sm2/sign"
    server.shutdown()
    server.server_close()


def sm2_agencies_file(folder: Path, pki: Path, *, server_url: str | None = None, timeout: float = 1.0, gm_oids: bool = False) -> Path:
    lines = [f'id = "{SM2_AGENCY}"', f'name = "{SM2_NAME}"', 'algorithm = "sm2"', f"gm_oids = {'true' if gm_oids else 'false'}"]
    table = ""
    if server_url:
        table = (f'[agencies.signing_server]\nurl = "{server_url}"\ncertificate = "{PkiPaths(pki).sm2_agency_cert(SM2_AGENCY)}"\n'
                 f'auth = "hmac"\nsecret_env = "{SECRET_ENV}"\ntimeout = {timeout}\n')
    path = folder / "agencies.toml"
    path.write_text(f'default = "{SM2_AGENCY}"\n[[agencies]]\n' + "\n".join(lines) + "\n" + table +
                    '[agencies.numbers]\ncommitment = "[{year}年]第{seq}号"\nletter = "郏市监函字〔{year}〕{seq}号"\n', encoding="utf-8")
    return path


@pytest.fixture
def sm2_service(services, settings, tmp_path, dev_tsa_url, pki) -> Iterator[Callable[..., Services]]:
    """``make(**agency_file_options)``: a service whose one agency is the SM2 one, configured as given."""
    made: list[Services] = []

    def make(**options) -> Services:
        folder = tmp_path / f"config-{len(made)}"
        folder.mkdir()
        svc = build_services(dataclasses.replace(settings, agencies_file=sm2_agencies_file(folder, pki, **options), tsa_url=dev_tsa_url),
                             converter=services.converter, sandbox=services.sandbox)
        svc.signing_health.ttl = 0
        made.append(svc)
        return svc

    yield make
    for svc in made:
        svc.batch_queue.stop()
        svc.instances.close()
        svc.registry.engine.dispose()


def post_letter(client):
    return client.post("/api/v1/documents", json={"form": "commitment-letter", "data": sample("commitment-letter")})


def test_a_signing_server_signs_the_digest_with_hmac_authentication(sm2_service, signing_server, api_key, pki, monkeypatch):
    stub, url = signing_server
    monkeypatch.setenv(SECRET_ENV, stub.secret.decode())
    client = keyed_client(create_app(services=sm2_service(server_url=url)), api_key)
    response = post_letter(client)
    assert response.status_code == 201, response.json
    [request] = stub.requests
    assert (request["algorithm"], request["message_type"], len(base64.b64decode(request["digest"]))) == ("SM2-SM3", "digest", 32)
    pdf = client.get(response.json["links"]["pdf"]).data
    status = validate_pdf_signature(agency_signature(pdf), context(pki))
    assert status.bottom_line
    info = agency_signature(pdf).signer_info
    assert base64.b64decode(request["digest"]) == gm.digest_e(stub.cert.public_key, signed_attributes_der(info))
    assert check(client, pdf)["verdict"] == "valid"
    assert client.get("/healthz").json["checks"]["signing"]["keys"][SM2_AGENCY] == {"ok": True, "algorithm": "sm2-sm3"}


def test_a_signing_server_that_times_out_answers_503_and_voids_the_number(sm2_service, signing_server, api_key, monkeypatch):
    stub, url = signing_server
    stub.mode, stub.sleep = "sleep", 3.0
    secret = stub.secret.decode()
    monkeypatch.setenv(SECRET_ENV, secret)
    svc = sm2_service(server_url=url, timeout=0.5)
    client = keyed_client(create_app(services=svc), api_key)
    started = time.monotonic()
    response = post_letter(client)
    assert time.monotonic() - started < 2.5  # the timeout, not the server's sleep
    assert (response.status_code, response.json["error"]) == (503, "signing_server_unavailable")
    assert SM2_NAME in response.json["message"] and "did not answer within 0.5 s" in response.json["message"]
    [voided] = [r for r in svc.registry.list() if r.status == "voided"]
    assert voided.pdf_path is None and "did not answer within 0.5 s" in voided.void_reason
    assert client.get(f"/api/v1/documents/{voided.id}/pdf").status_code == 404
    assert secret not in response.get_data(as_text=True)


def test_a_signing_server_refusing_the_secret_or_signing_with_another_key_fails_visibly(sm2_service, signing_server, api_key, monkeypatch):
    stub, url = signing_server
    monkeypatch.setenv(SECRET_ENV, "not-the-secret")
    svc = sm2_service(server_url=url)
    client = keyed_client(create_app(services=svc), api_key)
    refused = post_letter(client)
    assert (refused.status_code, refused.json["error"]) == (503, "signing_server_unavailable")
    assert "refused the service's credentials" in refused.json["message"]
    monkeypatch.setenv(SECRET_ENV, stub.secret.decode())
    stub.mode = "other_key"
    wrong = post_letter(client)
    assert (wrong.status_code, wrong.json["error"]) == (503, "signing_server_unavailable")
    assert "does not verify with its certificate" in wrong.json["message"]
    assert [r.status for r in svc.registry.list()] == ["voided", "voided"]
    monkeypatch.delenv(SECRET_ENV)
    health = client.get("/healthz").json["checks"]["signing"]["keys"][SM2_AGENCY]
    assert health["ok"] is False and SECRET_ENV in health["error"] and health["algorithm"] == "sm2"


def test_gm_oids_write_gmt_0010_content_types_and_still_verify(sm2_service, api_key, pki):
    client = keyed_client(create_app(services=sm2_service(gm_oids=True)), api_key)
    response = post_letter(client)
    assert response.status_code == 201, response.json
    pdf = client.get(response.json["links"]["pdf"]).data
    sig = agency_signature(pdf)
    contents = cms.ContentInfo.load(bytes(sig.sig_object["/Contents"]))
    signed = contents["content"]
    assert contents["content_type"].dotted == oids.GM_SIGNED_DATA and contents["content_type"].native == "signed_data"
    assert signed["encap_content_info"]["content_type"].dotted == oids.GM_DATA
    assert signed["signer_infos"][0]["signature_algorithm"]["algorithm"].dotted == oids.GM_SM2_SIGN
    assert validate_pdf_signature(sig, context(pki)).bottom_line
    assert gmssl_verifier(sig.signer_cert).verify_with_sm3(sig.signer_info["signature"].native.hex(), signed_attributes_der(sig.signer_info))
    report = check(client, pdf)
    assert report["verdict"] == "valid", report["reasons"]


# --- configuration and the asn1crypto patch -------------------------------------------------------------------------


def test_the_oid_registration_is_pinned_to_the_versions_it_was_checked_against(monkeypatch):
    assert asn1crypto.__version__ == "1.5.1", "service/gm/oids.py patches asn1crypto 1.5.1: re-check it before moving"
    oids.register()
    oids.register()  # idempotent
    from asn1crypto import algos

    assert algos.SignedDigestAlgorithm({"algorithm": "sm2_sm3"}).dump().hex() == "300a06082a811ccf55018375"
    assert algos.SignedDigestAlgorithm({"algorithm": "sha256_rsa"}).signature_algo == "rsassa_pkcs1v15"
    assert cms.ContentType("signed_data").dotted == "1.2.840.113549.1.7.2"  # the GM alias reads, never writes
    monkeypatch.setattr(oids, "_registered", False)
    monkeypatch.setattr(asn1crypto, "__version__", "1.6.0")
    with pytest.raises(oids.UnsupportedAsn1crypto, match="re-check"):
        oids.register()


@pytest.mark.parametrize(("entry", "complaint"), [
    ('algorithm = "sm3"', "algorithm must be rsa or sm2"),
    ('gm_oids = true', "apply to SM2 agencies only"),
    ('algorithm = "sm2"\n[agencies.signing_server]\nurl = "https://s"\ncertificate = "c.pem"', "exactly one of secret_env and secret_file"),
    ('algorithm = "sm2"\n[agencies.signing_server]\nurl = "ftp://s"\ncertificate = "c.pem"\nsecret_env = "S"', "must be http(s)"),
    ('algorithm = "sm2"\npkcs11_module = "m.so"\ntoken_label = "t"\nkey_label = "k"\nchain_file = "c"\npin_env = "P"',
     "needs pkcs11_mechanism"),
])
def test_an_unusable_sm2_configuration_is_refused_at_start(tmp_path, entry, complaint):
    path = tmp_path / "agencies.toml"
    table, _, rest = entry.partition("\n[agencies.signing_server]")
    text = f'[[agencies]]\nid = "a"\nname = "甲"\n{table}\n'
    if rest:
        text += f"[agencies.signing_server]{rest}\n"
    path.write_text(text + '[agencies.numbers]\ncommitment = "{seq}"\nletter = "{seq}"\n', encoding="utf-8")
    with pytest.raises(ConfigurationError) as refused:
        load_agencies(path)
    assert complaint in refused.value.en


def test_content_types_other_modules_add_still_encode_after_the_registration():
    """In a fresh process (as ``serve`` is) the registration comes before anything imports asn1crypto.tsp: the
    development TSA's tst_info must still encode."""
    code = ("from service.gm import oids; oids.register(); from asn1crypto import cms; "
            "print(cms.ContentType('tst_info').dotted, cms.ContentType('signed_data').dotted)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["1.2.840.113549.1.9.16.1.4", "1.2.840.113549.1.7.2"]
