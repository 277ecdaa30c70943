"""Keeping archives alive (issue 18, part 4): ``ltv renew`` adds a fresh archival timestamp, from a TSA whose
certificate ends later, to the stored documents whose last timestamp's TSA certificate nears its end. The renewed
revision is stored, recorded (kind ``archive``) and audited, still matches the registry, validates offline, and
both it and the old copy verify valid. Documents are issued with the development TSA (``tsa``, to 2036) and
renewed with ``tsa-next`` (to 2039) of the same declared PKI."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import io
import os
import subprocess
import sys

import pytest
from asn1crypto import pem
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature, validate_pdf_timestamp

from devpki import DevPkiServer, dev_pki_server, load_dev_pki
from service.auth.principal import OPERATOR
from service.errors import Conflict
from service.renewal import (
    BLOCKED,
    FAILED,
    NOT_DUE,
    RENEWED,
    WOULD_RENEW,
    renew_archives,
)
from service.runtime import Services, build_services

from . import sigcheck
from .conftest import ROOT
from .test_ltv import issue, offline_context

DUE = dt.timedelta(days=4000)  # the tsa certificate (to 2036-01-01) ends within it, tsa-next's (to 2039-01-01) does not


@pytest.fixture(scope="module")
def nssdb(tmp_path_factory, pki):
    return sigcheck.make_nssdb(tmp_path_factory.mktemp("nss"), pki / "root-ca.pem")


def services_with_tsa(services: Services, settings, url: str, **more) -> Services:
    """The same registry, store and audit chain, timestamped by the TSA at ``url``."""
    return build_services(dataclasses.replace(settings, tsa_url=url, **more), converter=services.converter, sandbox=services.sandbox)


@pytest.fixture
def renewing(services, settings, pki):
    """The service once its operator has configured the TSA's next certificate (tsa-next)."""
    svc = services_with_tsa(services, settings, dev_pki_server(pki).tsa_next_url)
    yield svc
    svc.batch_queue.stop()
    svc.instances.close()
    svc.registry.engine.dispose()


def stored(services: Services, document_id: str) -> bytes:
    return services.files.get(services.registry.get(document_id).pdf_path)


def test_renewal_adds_a_document_timestamp_from_the_next_tsa_and_keeps_the_registry_match(client, services, renewing, pki, dev_pki,
                                                                                           nssdb):
    created, old = issue(client)
    summary = renew_archives(renewing, OPERATOR, within=DUE)
    assert (summary.examined, summary.due, summary.renewed, summary.blocked, summary.failed) == (1, 1, 1, 0, 0)
    [outcome] = summary.outcomes
    assert outcome.state == RENEWED
    assert outcome.expires == dev_pki.cert("tsa").not_valid_after
    assert outcome.renewed_until == dev_pki.cert("tsa-next").not_valid_after

    record = services.registry.get(created["id"])
    renewed = stored(services, created["id"])
    assert record.status == "completed" and record.revision == 1  # the status is what it was
    [first, latest] = services.registry.revisions(created["id"])
    assert (latest.kind, latest.party, latest.signer) == ("archive", None, None)
    assert latest.sha256 == outcome.sha256 == hashlib.sha256(renewed).hexdigest() != first.sha256
    assert renewed.startswith(old)  # incremental: the copy issued is a prefix of the renewed one
    assert client.get(created["links"]["pdf"]).data == renewed

    # offline, with only the root and what the document embeds: both timestamps and the agency's signature
    reader = PdfFileReader(io.BytesIO(renewed))
    context = offline_context(reader, pki / "root-ca.pem")
    assert len(sigcheck.document_timestamps(renewed)) == 2
    [before, after] = reader.embedded_timestamp_signatures
    assert before.signer_cert.dump() == dev_pki.cert("tsa").dump()
    assert after.signer_cert.dump() == dev_pki.cert("tsa-next").dump()
    for stamp in (before, after):
        status = validate_pdf_timestamp(stamp, validation_context=context)
        assert status.intact and status.valid and status.trusted, stamp.field_name
    [agency] = [s for s in reader.embedded_signatures if s.sig_object_type == "/Sig"]
    status = validate_pdf_signature(agency, context, ts_validation_context=context)
    assert status.intact and status.valid and status.trusted and status.docmdp_ok
    assert status.modification_level.name == "LTA_UPDATES"
    report = sigcheck.pdfsig(renewed, nssdb)["agency"]
    assert (report["Signature Validation"], report["Certificate Validation"]) == ("Signature is Valid.", "Certificate is Trusted.")

    verdicts = {}
    for name, copy in (("renewed", renewed), ("old", old)):
        verdicts[name] = verdict = client.post("/api/v1/verifications", data=copy, content_type="application/pdf").json
        assert verdict["verdict"] == "valid", verdict["reasons"]
        assert verdict["document"]["status"] == "issued" and verdict["changes_since_issue"] == "none"
    assert not verdicts["renewed"]["completeness"]["newer_revision"]
    assert verdicts["old"]["completeness"]["newer_revision"]
    assert any("renewed archival timestamp" in reason for reason in verdicts["old"]["reasons"])

    [entry] = services.audit.entries(action="renew_archive")
    assert entry.outcome == "success" and entry.object == f"document:{created['id']}"
    assert (entry.detail["sha256_before"], entry.detail["sha256_after"]) == (first.sha256, latest.sha256)
    assert entry.detail["tsa_not_after"] == dev_pki.cert("tsa-next").not_valid_after.isoformat()
    assert services.audit.verify().ok


def test_a_second_run_renews_nothing(client, services, renewing):
    created, _ = issue(client)
    assert renew_archives(renewing, OPERATOR, within=DUE).renewed == 1
    renewed = stored(services, created["id"])

    again = renew_archives(renewing, OPERATOR, within=DUE)
    assert [o.state for o in again.outcomes] == [NOT_DUE] and again.ok
    # with a threshold that makes tsa-next's certificate due too, the TSA has nothing later to offer
    blocked = renew_archives(renewing, OPERATOR, within=dt.timedelta(days=5000))
    [outcome] = blocked.outcomes
    assert outcome.state == BLOCKED and blocked.ok
    assert "2039-01-01" in outcome.en and "extend nothing" in outcome.en and "不能延长" in outcome.zh
    assert services.registry.get(created["id"]).revision == 1
    assert stored(services, created["id"]) == renewed


def test_a_tsa_whose_certificate_ends_no_later_blocks_the_renewal(client, services):
    created, old = issue(client)
    summary = renew_archives(services, OPERATOR, within=DUE)  # the development TSA itself: the same certificate
    assert [o.state for o in summary.outcomes] == [BLOCKED] and summary.ok
    assert services.registry.get(created["id"]).revision == 0 and stored(services, created["id"]) == old
    assert services.audit.entries(action="renew_archive") == []


def test_nothing_is_due_within_the_default_threshold(client, services, renewing):
    issue(client)
    assert renewing.settings.ltv_renew_days == 365
    summary = renew_archives(renewing, OPERATOR)
    assert (summary.examined, summary.due, summary.renewed) == (1, 0, 0)


def test_a_dry_run_writes_nothing(client, services, renewing):
    created, old = issue(client)
    summary = renew_archives(renewing, OPERATOR, within=DUE, dry_run=True)
    assert [o.state for o in summary.outcomes] == [WOULD_RENEW] and summary.renewed == 0
    assert services.registry.get(created["id"]).revision == 0 and stored(services, created["id"]) == old
    assert services.audit.entries(action="renew_archive") == []


def test_voided_documents_are_not_examined_and_limit_stops_after_n_renewals(client, services, renewing):
    voided, _ = issue(client)
    services.registry.void(voided["id"], "测试", services.now())
    first, _ = issue(client)
    second, _ = issue(client)
    summary = renew_archives(renewing, OPERATOR, within=DUE, limit=1)
    assert [(o.document_id, o.state) for o in summary.outcomes] == [(first["id"], RENEWED)]
    assert services.registry.get(second["id"]).revision == 0
    assert [o.document_id for o in renew_archives(renewing, OPERATOR, within=DUE).outcomes if o.state == RENEWED] == [second["id"]]


def test_a_tsa_that_does_not_answer_fails_the_document_and_leaves_it_as_it_was(client, services, settings):
    created, old = issue(client)
    down = services_with_tsa(services, settings, "http://127.0.0.1:9/tsa", tsa_timeout=2)
    try:
        dry = renew_archives(down, OPERATOR, within=DUE, dry_run=True)
        assert [o.state for o in dry.outcomes] == [FAILED] and services.audit.entries(action="renew_archive") == []
        summary = renew_archives(down, OPERATOR, within=DUE)
    finally:
        down.instances.close()
        down.registry.engine.dispose()
    [outcome] = summary.outcomes
    assert outcome.state == FAILED and not summary.ok
    assert "timestamping service is unavailable" in outcome.en
    assert services.registry.get(created["id"]).revision == 0 and stored(services, created["id"]) == old
    [entry] = services.audit.entries(action="renew_archive")
    assert (entry.outcome, entry.detail["error"]) == ("failed", "timestamp_unavailable")


def test_revocation_data_that_cannot_be_fetched_fails_the_document(client, services, settings, pki):
    created, old = issue(client)
    # the same PKI, but its certificates name CRLs where nothing answers: tsa-next's, served on a port of its own
    elsewhere = DevPkiServer(load_dev_pki(pki, url="http://127.0.0.1:9"), port=0)
    down = services_with_tsa(services, settings, elsewhere.tsa_next_url, tsa_timeout=2)
    try:
        summary = renew_archives(down, OPERATOR, within=DUE)
    finally:
        down.instances.close()
        down.registry.engine.dispose()
        elsewhere.stop()
    [outcome] = summary.outcomes
    assert outcome.state == FAILED and "revocation data (CRL/OCSP) could not be fetched" in outcome.en
    assert services.registry.get(created["id"]).revision == 0 and stored(services, created["id"]) == old


def test_a_revision_recorded_meanwhile_wins_and_the_archival_one_is_refused(client, services):
    created, _ = issue(client)
    record = services.registry.get(created["id"])
    services.registry.add_archival_revision(record.id, after=0, sha256="0" * 64, pdf_path=record.pdf_path, size=1, now=services.now())
    with pytest.raises(Conflict) as conflict:  # renewed on top of revision 0, which is no longer the latest
        services.registry.add_archival_revision(record.id, after=0, sha256="1" * 64, pdf_path=record.pdf_path, size=1, now=services.now())
    assert conflict.value.code == "document_changed"
    assert [r.sha256 for r in services.registry.revisions(record.id)] == [record.sha256, "0" * 64]
    services.registry.void(record.id, "测试", services.now())
    with pytest.raises(Conflict):
        services.registry.add_archival_revision(record.id, after=1, sha256="2" * 64, pdf_path=record.pdf_path, size=1, now=services.now())


def test_both_development_tsa_certificates_are_reported_as_development(services, dev_pki):
    for label in ("tsa", "tsa-next"):
        assert hashlib.sha256(dev_pki.cert(label).dump()).hexdigest() in services.development_tsas, label
    assert (ROOT / "certs" / "tsa-next.pem").read_bytes() == pem.armor("CERTIFICATE", dev_pki.cert("tsa-next").dump())


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "service", "ltv", "renew", *args], check=False, cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=180)


def test_the_command_renews_prints_a_summary_and_exits_0_then_1_when_the_tsa_is_down(client, services, settings, pki):
    created, _ = issue(client)
    env = {**os.environ, "CHENGNUO_DATA_DIR": str(settings.data_dir), "CHENGNUO_TSA_URL": dev_pki_server(pki).tsa_next_url}

    dry = run_cli("--within-days", "4000", "--dry-run", env=env)
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.splitlines()[-1] == "examined 1 of 1, due 1, would renew 1, blocked 0, failed 0"
    assert services.registry.get(created["id"]).revision == 0

    done = run_cli("--within-days", "4000", env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "examined 1 of 1, due 1, renewed 1, blocked 0, failed 0"
    assert "renewed the archive of " + created["serial"] in done.stderr  # the log line
    assert "1/1" in done.stderr  # the progress bar
    assert services.registry.get(created["id"]).revision == 1

    blocked = run_cli("--within-days", "5000", env=env)
    assert blocked.returncode == 0, blocked.stderr
    assert blocked.stdout.splitlines()[0].startswith(f"blocked  {created['serial']}  ")

    second, _ = issue(client)
    down = run_cli("--within-days", "4000", env={**env, "CHENGNUO_TSA_URL": "http://127.0.0.1:9/tsa", "CHENGNUO_TSA_TIMEOUT": "2"})
    assert down.returncode == 1, down.stderr
    assert f"failed   {second['serial']}  时间戳服务不可用" in down.stdout
    assert down.stdout.splitlines()[-1] == "examined 2 of 2, due 1, renewed 0, blocked 0, failed 1"
    assert services.registry.get(second["id"]).revision == 0


def test_a_party_signs_a_renewed_document_and_the_result_verifies_valid(app, client, services, renewing):
    from .test_party_signing import issued, sign, staff

    document = issued(services)
    assert renew_archives(renewing, OPERATOR, within=DUE).renewed == 1
    assert services.registry.get(document.id).status == "awaiting_signatures"  # the renewal signs for no one
    staff_client, token, password = staff(app, services)
    response = sign(staff_client, token, document.id, "verifier", password)
    assert response.status_code == 200, response.json
    assert response.json["status"] == "completed" and response.json["revision"] == 2
    assert [(r.kind, r.party) for r in services.registry.revisions(document.id)] == [(None, None), ("archive", None), ("staff", "verifier")]
    verdict = client.post("/api/v1/verifications", data=stored(services, document.id), content_type="application/pdf").json
    assert verdict["verdict"] == "valid", verdict["reasons"]
    assert verdict["completeness"] == {"complete": True, "awaiting": [], "newer_revision": False}
