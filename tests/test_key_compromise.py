"""Key rotation and compromise (issue 18, part 5): ``python -m service key rotate`` gives an agency of the development
PKI a new key and certificate, and ``key compromise`` records a compromise, revokes the certificate in the development
PKI (its CRL lists it) and rotates, or tells the operator what to ask the real CA. A service already running picks it
all up without a restart; nothing more is signed with a compromised certificate.

The session's PKI (``pki``) is shared by every test: the tests that rotate or revoke work on a copy of it whose services
answer at an address of their own (init-pki rewrites the certificates that name it, the root's own CRL location
included, so the copy has a root of its own and a verification sandbox trusting it), and the commands run as separate
processes, as an operator runs them beside a running service.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from asn1crypto import crl
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature

from devpki import init_pki, load_dev_pki
from devpki.declaration import agency_label
from devpki.materialise import _free_port
from devpki.server import _servers
from service import create_app
from service.agencies import load_agencies
from service.auth.principal import OPERATOR
from service.config import load_settings
from service.runtime import Services, build_services
from service.verifying.sandbox import SandboxSettings, VerificationSandbox

from .conftest import ROOT, keyed_client, sample
from .test_ltv import offline_context
from .test_signing import agencies_file
from .test_verification import check as verify

AGENCY = "jc-justice"


def copy_pki(pki: Path, target: Path) -> Path:
    """A copy of the development PKI under ``target``, its services at a free loopback port."""
    shutil.copytree(pki, target)
    state_file = target / "dev-pki.json"
    state = json.loads(state_file.read_text(encoding="utf-8"))
    state["url"] = f"http://127.0.0.1:{_free_port()}"
    state_file.write_text(json.dumps(state, ensure_ascii=False), encoding="utf-8")
    init_pki(target, load_agencies(load_settings(environ={}).agencies_file).by_id.values())
    return target


@pytest.fixture(scope="module")
def copied(tmp_path_factory, pki) -> Iterator[Path]:
    """One copy of the development PKI for this module; each test rotates an agency of its own."""
    certs = copy_pki(pki, tmp_path_factory.mktemp("pki") / "certs")
    yield certs
    stop_server(certs)


@pytest.fixture(scope="module")
def copied_sandbox(copied) -> Iterator[VerificationSandbox]:
    box = VerificationSandbox(SandboxSettings(workers=1), [str(copied / "root-ca.pem")])
    box.start()
    yield box
    box.stop()


def stop_server(certs: Path) -> None:
    server = _servers.pop(certs.resolve(), None)
    if server is not None:
        server.stop()


def make_services(settings, pool, sandbox) -> Services:
    return build_services(settings, converter=pool, sandbox=sandbox)


def close(svc: Services) -> None:
    svc.batch_queue.stop()
    svc.instances.close()
    svc.registry.engine.dispose()


def client_of(svc: Services):
    _, key = svc.api_keys.create(name="测试案件系统", agencies=svc.agencies.by_id, forms=["*"], now=svc.now())
    return keyed_client(create_app(services=svc), key)


def cli(*args: str, settings) -> subprocess.CompletedProcess:
    """``python -m service`` in a process of its own, on the same data folder, PKI and agencies as ``settings``."""
    env = {**os.environ, "CHENGNUO_DATA_DIR": str(settings.data_dir), "CHENGNUO_CERTS_DIR": str(settings.certs_dir),
           "CHENGNUO_AGENCIES_FILE": str(settings.agencies_file), "CHENGNUO_TSA_URL": settings.tsa_url}
    return subprocess.run([sys.executable, "-m", "service", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180, check=False)


def issue(client, agency: str = AGENCY, form: str = "liaison-form") -> tuple[dict, bytes]:
    response = client.post("/api/v1/documents", json={"form": form, "agency": agency, "data": sample(form)})
    assert response.status_code == 201, response.json
    return response.json, client.get(response.json["links"]["pdf"]).data


def agency_signature(pdf: bytes):
    return PdfFileReader(io.BytesIO(pdf)).embedded_signatures[0]


def sha256(cert) -> str:
    return hashlib.sha256(cert.dump()).hexdigest()


@dataclasses.dataclass
class Compromised:
    """Document A signed, then time T, then document B, then ``key compromise jc-justice --since T``, then C."""

    svc: Services
    client: object
    certs: Path
    since: dt.datetime
    a: bytes
    b: bytes
    c: bytes
    output: str


@pytest.fixture(scope="module")
def compromised(tmp_path_factory, copied, pool, copied_sandbox) -> Iterator[Compromised]:
    base = tmp_path_factory.mktemp("compromise")
    certs = copied
    settings = dataclasses.replace(load_settings(environ={"CHENGNUO_DATA_DIR": str(base / "data")}), certs_dir=certs)
    svc = make_services(settings, pool, copied_sandbox)  # the running service: never restarted below
    client = client_of(svc)
    try:
        _, a = issue(client)
        time.sleep(1.1)  # T, to the second (the CRL's precision), falls after A's signature
        since = dt.datetime.now(dt.UTC).replace(microsecond=0)
        _, b = issue(client)
        done = cli("key", "compromise", AGENCY, "--since", since.isoformat(), "--note", "U 盾遗失", settings=settings)
        assert done.returncode == 0, done.stdout + done.stderr
        _, c = issue(client)
        yield Compromised(svc, client, certs, since, a, b, c, done.stdout)
    finally:
        close(svc)


def test_a_compromise_is_recorded_and_audited(compromised):
    old = agency_signature(compromised.a).signer_cert
    recorded = compromised.svc.compromises.find(sha256(old))
    assert recorded is not None
    assert (recorded.agency, recorded.since, recorded.cert_serial, recorded.note) == (AGENCY, compromised.since, f"{old.serial_number:X}", "U 盾遗失")
    assert recorded.recorded_by == OPERATOR.actor and "晋城市司法局" in recorded.cert_subject
    assert compromised.svc.compromises.all() == [recorded]
    [entry] = compromised.svc.audit.entries(action="key_compromise")
    assert (entry.object, entry.outcome, entry.detail["cert_sha256"]) == (f"agency:{AGENCY}", "success", sha256(old))
    assert entry.detail["new_cert_sha256"] == sha256(agency_signature(compromised.c).signer_cert)
    assert "revoked" in compromised.output and agency_label(AGENCY, 2) in compromised.output
    assert "needs no restart" in compromised.output


def test_the_development_crl_lists_the_compromised_certificate_since_the_reported_time(compromised):
    old = agency_signature(compromised.a).signer_cert
    [url] = [p["distribution_point"].chosen[0].native for p in old.crl_distribution_points]
    with urllib.request.urlopen(url, timeout=10) as response:  # the running service's PKI server, never restarted
        listed = crl.CertificateList.load(response.read())
    entries = {e["user_certificate"].native: e for e in listed["tbs_cert_list"]["revoked_certificates"]}
    assert set(entries) == {old.serial_number, load_dev_pki(compromised.certs).cert("revoked-signer").serial_number}
    assert entries[old.serial_number]["revocation_date"].native == compromised.since
    assert entries[old.serial_number].crl_reason_value.native == "key_compromise"


def test_a_document_issued_after_the_report_carries_the_new_certificate(compromised):
    old, new = agency_signature(compromised.a).signer_cert, agency_signature(compromised.c).signer_cert
    assert agency_signature(compromised.b).signer_cert.dump() == old.dump()  # B: before the report, the old key
    assert new.serial_number != old.serial_number and new.public_key.dump() != old.public_key.dump()
    assert new.subject == old.subject and new.issuer == old.issuer
    assert new.dump() == load_dev_pki(compromised.certs).cert(agency_label(AGENCY, 2)).dump()
    reader = PdfFileReader(io.BytesIO(compromised.c))
    context = offline_context(reader, compromised.certs / "root-ca.pem")  # only the root and what C embeds, no fetching
    status = validate_pdf_signature(reader.embedded_signatures[0], context, ts_validation_context=context)
    assert status.intact and status.valid and status.trusted and status.bottom_line
    assert compromised.svc.signing_health.check(compromised.svc.agencies.by_id.values())["keys"][AGENCY] == {"ok": True, "algorithm": "rsa-sha256"}


def test_the_compromises_are_listed(compromised):
    listed = cli("key", "compromises", settings=compromised.svc.settings)
    assert listed.returncode == 0 and AGENCY in listed.stdout and f"{agency_signature(compromised.a).signer_cert.serial_number:X}" in listed.stdout


def test_a_document_signed_after_the_compromise_time_verifies_invalid(compromised):
    report = verify(compromised.client, compromised.b)
    assert report["verdict"] == "invalid"
    assert any(r["severity"] == "invalid" and ("泄露" in r["zh"] or "compromised" in r["en"]) for r in report["reasons_detail"]), report


def test_a_document_signed_before_the_compromise_time_stays_valid_with_a_note(compromised):
    report = verify(compromised.client, compromised.a)
    assert report["verdict"] == "valid", report["reasons"]
    assert any(r["severity"] == "info" and "revoked" in r["en"] for r in report["reasons_detail"]), report


def test_a_rotation_gives_new_documents_a_new_certificate_and_old_ones_still_verify(copied, settings, pool, copied_sandbox):
    agency = "jc-market"
    svc = make_services(dataclasses.replace(settings, certs_dir=copied), pool, copied_sandbox)
    try:
        client = client_of(svc)
        _, before = issue(client, agency)
        done = cli("key", "rotate", agency, settings=svc.settings)
        assert done.returncode == 0, done.stdout + done.stderr
        assert agency_label(agency, 2) in done.stdout and "stays valid" in done.stdout
        _, after = issue(client, agency)
        old, new = agency_signature(before).signer_cert, agency_signature(after).signer_cert
        assert new.serial_number != old.serial_number and new.issuer == old.issuer
        assert svc.compromises.all() == []
        for pdf in (before, after):
            report = verify(client, pdf)
            assert report["verdict"] == "valid", report["reasons"]
        [entry] = svc.audit.entries(action="key_rotate")
        assert (entry.detail["old_cert_sha256"], entry.detail["new_cert_sha256"]) == (sha256(old), sha256(new))
        again = cli("key", "rotate", agency, settings=svc.settings)  # a third generation, from the second
        assert again.returncode == 0 and agency_label(agency, 3) in again.stdout
    finally:
        close(svc)


def test_an_agency_with_its_own_key_is_told_what_to_ask_its_ca_and_signs_nothing_more(tmp_path, pki, settings, pool, sandbox, dev_tsa_url):
    p12, passphrase = tmp_path / "jc-justice.p12", tmp_path / "pass"
    shutil.copy(pki / "agencies" / f"{AGENCY}.p12", p12)
    shutil.copy(pki / "private" / "passphrase", passphrase)
    own = dataclasses.replace(settings, agencies_file=agencies_file(tmp_path, f'pkcs12 = "{p12}"\npassphrase_file = "{passphrase}"'),
                              tsa_url=dev_tsa_url)
    state_before = (pki / "dev-pki.json").read_bytes()
    svc = make_services(own, pool, sandbox)
    try:
        client = client_of(svc)
        _, signed = issue(client)
        cert = agency_signature(signed).signer_cert
        done = cli("key", "compromise", AGENCY, "--since", "2026-01-05T09:30", settings=own)  # no zone: Asia/Shanghai
        assert done.returncode == 0, done.stdout + done.stderr
        for expected in (cert.issuer.human_friendly, f"{cert.serial_number:X} (hex)", f"{cert.serial_number} (decimal)",
                         cert.subject.human_friendly, "keyCompromise", "2026-01-05T01:30:00+00:00", "agencies.toml", "restart"):
            assert expected in done.stdout, expected
        assert svc.compromises.find(sha256(cert)).since == dt.datetime(2026, 1, 5, 1, 30, tzinfo=dt.UTC)
        assert (pki / "dev-pki.json").read_bytes() == state_before  # nothing in the development PKI changed

        response = client.post("/api/v1/documents", json={"form": "liaison-form", "agency": AGENCY, "data": sample("liaison-form")})
        assert response.status_code == 503 and response.json["error"] == "signing_key_compromised"
        assert "已报告泄露" in response.json["message"] and "reported compromised" in response.json["message"]
        [voided] = [r for r in svc.registry.list() if r.status == "voided"]
        assert "compromised" in voided.void_reason and voided.pdf_path is None
        svc.signing_health.forget()  # the report came from another process: this one's health answer is 30 s old
        health = client.get("/healthz")
        assert health.status_code == 503
        key = health.json["checks"]["signing"]["keys"][AGENCY]
        assert key["ok"] is False and "晋城市司法局" in key["error"] and AGENCY in key["error"]
    finally:
        close(svc)


def test_recording_a_certificate_again_never_moves_its_compromise_later(services, dev_pki):
    cert = dev_pki.cert(agency_label(AGENCY))
    at = dt.datetime(2026, 3, 1, 8, tzinfo=dt.UTC)
    first = services.compromises.record(AGENCY, cert, at, "operator:cli", "一", now=at)
    later = services.compromises.record(AGENCY, cert, at + dt.timedelta(days=1), "operator:cli", "二", now=at)
    earlier = services.compromises.record(AGENCY, cert, at - dt.timedelta(days=1), "operator:cli", "三", now=at)
    assert (first.since, later.since, earlier.since, earlier.note) == (at, at, at - dt.timedelta(days=1), "三")
    assert len(services.compromises.all()) == 1


@pytest.mark.parametrize(("args", "zh", "en"), [
    (["key", "compromise", AGENCY, "--since", "yesterday"], "不是 ISO 8601 时间", "not an ISO 8601 time"),
    (["key", "compromise", AGENCY, "--since", "2999-01-01T00:00:00+08:00"], "不能晚于现在", "may not be in the future"),
    (["key", "compromise", "no-such-agency", "--since", "2026-01-01"], "没有编号为", "there is no agency"),
])
def test_the_compromise_command_refuses_bad_input_clearly(args, zh, en, settings):
    refused = cli(*args, settings=settings)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert zh in refused.stderr and en in refused.stderr
    assert json.loads(refused.stdout)["error"] in {"invalid_data", "unknown_agency"}


def test_rotating_an_agency_with_its_own_key_is_refused(tmp_path, settings):
    own = dataclasses.replace(settings, agencies_file=agencies_file(tmp_path, 'pkcs12 = "own.p12"'), tsa_url="http://127.0.0.1:9/tsa")
    refused = cli("key", "rotate", AGENCY, settings=own)
    assert refused.returncode == 2 and "agencies.toml" in refused.stderr and "own key" in refused.stderr


def test_a_stale_key_file_is_recorded_compromised_but_not_revoked_in_its_place(copied, settings, pool, copied_sandbox):
    from service.errors import ConfigurationError
    from service.key_compromise import report_compromise, rotate_key

    agency = "jx-service"
    svc = make_services(dataclasses.replace(settings, certs_dir=copied), pool, copied_sandbox)
    try:
        p12 = copied / "agencies" / f"{agency}.p12"
        stale = p12.read_bytes()
        rotate_key(svc, agency, OPERATOR.actor)
        state = (copied / "dev-pki.json").read_bytes()
        p12.write_bytes(stale)  # a backup of the first generation's file put back
        with pytest.raises(ConfigurationError) as refused:
            report_compromise(svc, agency, svc.now(), OPERATOR.actor, "")
        assert "init-pki" in refused.value.en and "the compromise is recorded" in refused.value.en
        assert (copied / "dev-pki.json").read_bytes() == state  # nothing revoked or rotated in the wrong certificate's place
        [failed] = svc.audit.entries(action="key_compromise")
        assert failed.outcome == "failure"
        response = client_of(svc).post("/api/v1/documents", json={"form": "liaison-form", "agency": agency, "data": sample("liaison-form")})
        assert response.status_code == 503 and response.json["error"] == "signing_key_compromised"
    finally:
        close(svc)


def test_fifteen_years_on_the_document_before_the_compromise_is_valid_and_the_one_after_invalid(compromised, pool, copied_sandbox):
    """Issue 18's check at +15 years, when every certificate involved has expired: validated as of their timestamps,
    offline, A (signed before the reported time) stays valid and says the key was later revoked; B does not."""
    later = build_services(compromised.svc.settings, converter=pool, sandbox=copied_sandbox,
                           clock=lambda: compromised.svc.now() + dt.timedelta(days=15 * 365 + 4))
    try:
        client = client_of(later)
        before, after = verify(client, compromised.a), verify(client, compromised.b)
    finally:
        close(later)
    assert before["verdict"] == "valid", before["reasons"]
    assert after["verdict"] == "invalid", after["reasons"]
    for report in (before, after):
        [agency] = [s for s in report["signatures"] if s["certification"]]
        assert agency["level"] == "B-LTA" and agency["validation_time"] and agency["revoked_at"]
        assert dt.datetime.fromisoformat(agency["revoked_at"]) == compromised.since
        assert report["checked_at"] > "2040"
    assert any("后来" in r and "仍然有效" in r for r in before["reasons"])
    assert any("签名无效" in r for r in after["reasons"])
