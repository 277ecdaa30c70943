"""Bulk issuing: /api/v1/batches (JSON and CSV/XLSX uploads, progress, the ZIP and its manifest), the per-form
templates, and exactly one document per row when a row is taken up twice (a message delivered again)."""

from __future__ import annotations

import copy
import csv
import datetime as dt
import hashlib
import io
import json
import os
import subprocess
import sys
import threading
import time
import zipfile

import openpyxl
import pytest

from service.batches import columns, submit
from service.batches.queue import RetryLater
from service.batches.work import issue_rows, start_workers
from service.config import load_settings
from service.forms import get_form
from service.runtime import build_services

from . import sigcheck
from .conftest import ROOT, keyed_client, sample

pytestmark = pytest.mark.doubles  # the rules and the bookkeeping; one batch is issued for real (marked office)

BATCHES = "/api/v1/batches"


def letters(count: int) -> list[dict]:
    rows = []
    for index in range(count):
        row = copy.deepcopy(sample("commitment-letter"))
        row["applicant"]["name"] = f"申请人{index + 1:03d}"
        rows.append(row)
    return rows


def finished(client, location: str, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        body = client.get(location).json
        if body["status"] == "finished":
            return body
        assert time.monotonic() < deadline, body
        time.sleep(0.1)


@pytest.fixture
def worker(services):
    start_workers(services, 1)
    return services


def test_a_json_batch_is_accepted_at_once_and_issued_by_the_worker(client, worker):
    response = client.post(BATCHES, json={"form": "commitment-letter", "rows": letters(3)})
    assert response.status_code == 202, response.json
    assert response.json["total"] == 3 and response.json["source"] == "json"
    body = finished(client, response.headers["Location"])
    assert (body["done"], body["failed"], body["pending"], body["percent"]) == (3, 0, 0, 100)
    assert body["failures"] == [] and body["eta_seconds"] is None and body["per_minute"] > 0


def test_failed_rows_are_reported_with_their_field_errors_and_the_others_issued(client, worker):
    rows = letters(3)
    rows[1]["applicant"]["phone"] = "12"
    del rows[2]["matter"]
    body = finished(client, client.post(BATCHES, json={"form": "commitment-letter", "rows": rows}).headers["Location"])
    assert (body["done"], body["failed"]) == (1, 2)
    failures = {f["row"]: f["errors"] for f in body["failures"]}
    assert set(failures) == {2, 3}
    assert "applicant.phone" in failures[2] and "matter" in failures[3]


def test_the_archive_holds_every_issued_pdf_and_a_manifest_matching_the_registry(client, worker, services):
    rows = letters(2)
    rows.append({"matter": ""})
    body = finished(client, client.post(BATCHES, json={"form": "commitment-letter", "rows": rows}).headers["Location"])
    response = client.get(body["links"]["archive"])
    assert response.status_code == 200 and response.mimetype == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    manifest = list(csv.DictReader(io.StringIO(archive.read("manifest.csv").decode("utf-8-sig"))))
    assert [m["row"] for m in manifest] == ["1", "2", "3"] and [m["status"] for m in manifest] == ["done", "done", "failed"]
    assert "matter" in manifest[2]["errors"]
    for line in manifest[:2]:
        record = services.registry.get(line["document_id"])
        pdf = archive.read(f"{int(line['row']):05d}-{line['serial']}.pdf")
        assert hashlib.sha256(pdf).hexdigest() == line["sha256"] == record.sha256
        assert line["number"] == record.number and line["serial"] == record.serial
    assert len({m["number"] for m in manifest[:2]}) == 2


def test_a_csv_from_the_template_is_issued_row_by_row_with_the_spreadsheets_row_numbers(client, worker):
    template = client.get(f"{BATCHES}/templates/commitment-letter.csv")
    assert template.status_code == 200
    header, example = list(csv.reader(io.StringIO(template.data.decode("utf-8-sig"))))
    assert "申请人·姓名（applicant.name）" in header
    bad_phone, bad_flag = list(example), list(example)
    bad_phone[header.index("申请人·联系方式（applicant.phone）")] = "12"
    bad_flag[header.index("申请人是否愿意就上述事项采取承诺制的方式（willing）")] = "也许"
    out = io.StringIO()
    csv.writer(out).writerows([header, example, bad_phone, [], bad_flag])
    response = client.post(BATCHES, data={"form": "commitment-letter", "file": (io.BytesIO(out.getvalue().encode("gb18030")), "名单.csv")})
    assert response.status_code == 202, response.json
    assert response.json["source"] == "csv" and response.json["filename"] == "名单.csv" and response.json["total"] == 3
    body = finished(client, response.headers["Location"])
    failures = {f["row"]: f["errors"] for f in body["failures"]}
    assert body["done"] == 1 and set(failures) == {3, 5}  # the blank line 4 is skipped, as a spreadsheet numbers it
    assert "applicant.phone" in failures[3] and "willing" in failures[5]


def test_an_xlsx_upload_with_chinese_headers_only(client, worker):
    spec = get_form("commitment-letter")
    book = openpyxl.Workbook()
    sheet = book.active
    data = sample("commitment-letter")
    cols = [c for c in columns.columns(spec) if "#" not in c.path]
    sheet.append([c.label for c in cols])
    sheet.append([columns._example(data, c.path) for c in cols])
    out = io.BytesIO()
    book.save(out)
    response = client.post(BATCHES, data={"form": "commitment-letter", "file": (io.BytesIO(out.getvalue()), "list.xlsx")})
    assert response.status_code == 202, response.json
    assert finished(client, response.headers["Location"])["done"] == 1


def test_a_header_with_unknown_columns_is_refused_whole(client):
    response = client.post(BATCHES, data={"form": "commitment-letter", "file": (io.BytesIO("姓名,电话\n张三,1\n".encode()), "x.csv")})
    assert response.status_code == 422
    assert "未知的列" in response.json["errors"]["file"][0] and "unknown columns" in response.json["errors"]["file"][0]


@pytest.mark.parametrize(("body", "status", "where"), [
    ({"form": "commitment-letter"}, 422, "rows"),
    ({"form": "commitment-letter", "rows": []}, 422, "rows"),
    ({"form": "commitment-letter", "rows": "x"}, 422, "rows"),
    ({"form": "no-such-form", "rows": [{}]}, 404, None),
])
def test_bad_requests_get_clear_errors(client, body, status, where):
    response = client.post(BATCHES, json=body)
    assert response.status_code == status, response.json
    if where:
        assert where in response.json["errors"]


def test_too_many_rows_is_413(services, app, api_key):
    services.settings = type(services.settings)(**{**vars(services.settings), "batch_max_rows": 2})
    response = keyed_client(app, api_key).post(BATCHES, json={"form": "commitment-letter", "rows": letters(3)})
    assert response.status_code == 413 and response.json["error"] == "too_many_rows"


def test_the_same_idempotency_key_gives_the_same_batch_and_another_body_409(client):
    body = {"form": "commitment-letter", "rows": letters(2)}
    first = client.post(BATCHES, json=body, headers={"Idempotency-Key": "campaign-7"})
    again = client.post(BATCHES, json=body, headers={"Idempotency-Key": "campaign-7"})
    assert first.status_code == again.status_code == 202
    assert again.json["id"] == first.json["id"] and again.headers["Idempotent-Replayed"] == "true"
    other = client.post(BATCHES, json={"form": "commitment-letter", "rows": letters(1)}, headers={"Idempotency-Key": "campaign-7"})
    assert other.status_code == 409 and other.json["error"] == "idempotency_key_reused"


def test_another_agencys_batch_is_not_found_and_a_form_not_granted_is_403(app, services, client):
    batch = client.post(BATCHES, json={"form": "commitment-letter", "rows": letters(1)}).json
    _, other = services.api_keys.create(name="他局", agencies=["jc-market"], forms=["commitment-letter"], now=services.now())
    assert keyed_client(app, other).get(f"{BATCHES}/{batch['id']}").status_code == 404
    assert keyed_client(app, other).get(f"{BATCHES}/{batch['id']}/archive").status_code == 404
    _, narrow = services.api_keys.create(name="窄", agencies=["jc-justice"], forms=["liaison-form"], now=services.now())
    response = keyed_client(app, narrow).post(BATCHES, json={"form": "commitment-letter", "agency": "jc-justice", "rows": letters(1)})
    assert response.status_code == 403


def test_a_row_taken_up_twice_at_once_gives_one_document(client, services):
    """Two workers with the same message (a redelivery while the first still runs): one document per row."""
    batch = client.post(BATCHES, json={"form": "commitment-letter", "rows": letters(4)}).json
    errors: list[BaseException] = []

    def work() -> None:
        try:
            issue_rows(services, batch["id"], [1, 2, 3, 4])
        except RetryLater as exc:  # the other thread holds a row: the queue would deliver the message again
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    while services.batches.pending_numbers(batch["id"]):
        issue_rows(services, batch["id"], services.batches.pending_numbers(batch["id"]))
    rows = services.batches.rows(batch["id"])
    assert [r.status for r in rows] == ["done"] * 4
    assert len({r.document_id for r in rows}) == 4
    issued = [d for d in services.registry.search_all() if d.status != "voided"] if hasattr(services.registry, "search_all") else None
    documents = {r.document_id: services.registry.get(r.document_id) for r in rows}
    assert len({d.number for d in documents.values()}) == 4
    if issued is not None:
        assert len(issued) == 4


def test_an_unfinished_batch_is_resumed_when_the_service_starts_again(client, services, settings, pool, sandbox):
    """The embedded queue forgets on restart; the rows wait in the registry and are queued again."""
    batch = client.post(BATCHES, json={"form": "commitment-letter", "rows": letters(2)}).json
    services.batch_queue.stop()  # the process ends before any worker took the rows up
    again = build_services(settings, converter=services.converter, sandbox=sandbox)
    again.signer = services.signer
    try:
        assert submit.resume_unfinished(again) == 2
        start_workers(again, 1)
        deadline = time.monotonic() + 60
        while again.batches.get(batch["id"]).status != "finished":
            assert time.monotonic() < deadline
            time.sleep(0.1)
        assert again.batches.counts(batch["id"])["done"] == 2
    finally:
        again.batch_queue.stop()
        again.instances.close()
        again.registry.engine.dispose()


@pytest.mark.office
def test_a_batch_issued_for_real_gives_signed_pdfs_that_pdfsig_accepts(client, worker, pki, tmp_path):
    body = finished(client, client.post(BATCHES, json={"form": "commitment-letter", "rows": letters(3)}).headers["Location"])
    assert body["done"] == 3
    archive = zipfile.ZipFile(io.BytesIO(client.get(body["links"]["archive"]).data))
    nss = sigcheck.make_nssdb(tmp_path / "nss", pki / "root-ca.pem")
    pdfs = [name for name in archive.namelist() if name.endswith(".pdf")]
    assert len(pdfs) == 3
    for name in pdfs:
        report = sigcheck.pdfsig(archive.read(name), nss)
        assert report["agency"]["Signature Validation"] == "Signature is Valid."
        assert report["agency"]["Certificate Validation"] == "Certificate is Trusted."


@pytest.mark.office
def test_the_command_line_issues_a_csv_with_a_progress_bar_and_its_archive_matches_the_registry(tmp_path, services):
    env = {**os.environ, "CHENGNUO_DATA_DIR": str(tmp_path / "cli-data")}

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "service", *args], check=False, cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=300)

    template = tmp_path / "t.csv"
    assert run("batch", "template", "commitment-letter", "--format", "csv", "--out", str(template)).returncode == 0
    header, example = list(csv.reader(io.StringIO(template.read_text(encoding="utf-8-sig"))))
    name = header.index("申请人·姓名（applicant.name）")
    rows = [header] + [[f"批量{i}" if j == name else cell for j, cell in enumerate(example)] for i in range(4)]
    rows[3][header.index("申请人·联系方式（applicant.phone）")] = "12"
    source = tmp_path / "名单.csv"
    with source.open("w", encoding="utf-8-sig", newline="") as out:
        csv.writer(out).writerows(rows)
    done = run("batch", "submit", str(source), "--form", "commitment-letter", "--agency", "jc-justice")
    assert done.returncode == 1, done.stderr  # one row failed
    assert "批量签发 / issuing [" in done.stderr and "4/4" in done.stderr
    assert "第 4 行 / row 4：applicant.phone" in done.stderr
    summary = json.loads(done.stdout)
    assert (summary["done"], summary["failed"], summary["status"]) == (3, 1, "finished")
    out = tmp_path / "batch.zip"
    assert run("batch", "archive", summary["id"], "--out", str(out)).returncode == 0
    archive = zipfile.ZipFile(out)
    manifest = list(csv.DictReader(io.StringIO(archive.read("manifest.csv").decode("utf-8-sig"))))
    registry = build_services(load_settings(environ={"CHENGNUO_DATA_DIR": str(tmp_path / "cli-data")}), converter=services.converter,
                              sandbox=services.sandbox)
    try:
        for line in manifest:
            if line["status"] == "done":
                record = registry.registry.get(line["document_id"])
                assert record.sha256 == line["sha256"] == hashlib.sha256(archive.read(f"{int(line['row']):05d}-{line['serial']}.pdf")).hexdigest()
                assert record.number == line["number"] and record.status in ("completed", "awaiting_signatures")
    finally:
        registry.batch_queue.stop()
        registry.instances.close()
        registry.registry.engine.dispose()
    assert [m["status"] for m in manifest] == ["done", "done", "failed", "done"]


def test_a_separate_worker_needs_the_shared_queue(tmp_path):
    env = {**os.environ, "CHENGNUO_DATA_DIR": str(tmp_path / "data")}
    result = subprocess.run([sys.executable, "-m", "service", "worker"], check=False, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode != 0 and "CHENGNUO_REDIS_URL" in result.stderr


def test_rows_left_when_the_makers_key_is_revoked_are_not_issued(app, services):
    record, key = services.api_keys.create(name="活动", agencies=["jc-justice"], forms=["*"], now=services.now())
    batch = keyed_client(app, key).post(BATCHES, json={"form": "commitment-letter", "rows": letters(3)}).json
    issue_rows(services, batch["id"], [1])
    services.api_keys.revoke(record.id, services.now())
    issue_rows(services, batch["id"], [2, 3])
    rows = services.batches.rows(batch["id"])
    assert [r.status for r in rows] == ["done", "failed", "failed"]
    assert "revoked" in rows[1].errors[""][0] and rows[1].document_id is None
    assert services.batches.get(batch["id"]).status == "finished"


def test_a_finished_batch_forgets_its_rows_data_after_the_keeping_time_and_keeps_the_outcomes(client, services):
    from service.housekeeping import Housekeeping

    rows = letters(2)
    rows[1]["applicant"]["phone"] = "12"
    batch = client.post(BATCHES, json={"form": "commitment-letter", "rows": rows}).json
    issue_rows(services, batch["id"], [1, 2])
    Housekeeping(services).run_once()
    assert services.batches.rows(batch["id"])[0].data["applicant"]["id_number"]  # within the keeping time: kept
    real = services.clock
    services.clock = lambda: real() + dt.timedelta(days=services.settings.batch_keep_days + 1)
    try:
        Housekeeping(services).run_once()
    finally:
        services.clock = real
    kept = services.batches.rows(batch["id"])
    assert [r.data for r in kept] == [{}, {}] and services.batches.get(batch["id"]).data_dropped_at is not None
    assert kept[0].document_id and "applicant.phone" in kept[1].errors
    assert client.get(f"{BATCHES}/{batch['id']}").json["failures"][0]["row"] == 2
    assert zipfile.ZipFile(io.BytesIO(client.get(f"{BATCHES}/{batch['id']}/archive").data)).read("manifest.csv")
