"""The registry on a real PostgreSQL server: the numbering, idempotency and audit tests of the SQLite suite run
again here against a fresh PostgreSQL database (the functions are imported; this module's ``settings`` and
``log`` fixtures put them on PostgreSQL), and two service processes share one database and one data folder."""

from __future__ import annotations

import concurrent.futures
import hashlib
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import select

from service.audit import AuditLog
from service.registry.db import make_engine
from service.registry.tables import counters, documents

from .conftest import ROOT, SAMPLES
from .servers import ServiceProcess
from .test_api import (  # noqa: F401 - collected again, on PostgreSQL
    test_concurrent_retries_with_one_key_issue_one_document,
    test_idempotency_key_returns_the_first_document_and_refuses_another_body,
)
from .test_assistance import (  # noqa: F401 - collected again, on PostgreSQL
    test_an_agency_on_the_service_answers_with_its_own_sealed_numbered_reply_and_the_case_shows_the_finding,
)
from .test_audit import (  # noqa: F401 - collected again, on PostgreSQL
    Clock,
    append_from_processes,
    test_a_head_older_than_the_chain_stays_reported_after_more_entries,
    test_a_mismatch_is_never_healed_by_later_entries_until_acknowledged,
    test_altered_entry_is_caught_at_that_seq,
    test_altered_entry_with_recomputed_hash_is_caught_at_the_next_entry,
    test_concurrent_appends_stay_linear,
    test_deleted_last_entries_are_caught_by_the_head_file,
    test_deleted_middle_entry_is_a_gap,
    test_entries_are_chained_with_the_documented_hash,
    test_intact_log_verifies,
    test_rewritten_last_entry_is_caught_by_the_head_file,
)
from .test_cases import (  # noqa: F401 - collected again, on PostgreSQL
    item,
    test_a_bad_list_parameter_is_a_400_naming_it,
    test_a_full_case_runs_from_the_letter_to_fulfilment,
    test_an_earlier_false_commitment_found_by_the_service_refuses_commitment,
    test_the_overdue_list_shows_a_case_whose_assistance_reply_is_late,
)
from .test_numbering import (  # noqa: F401 - collected again, on PostgreSQL
    test_a_number_drawn_for_a_failed_document_is_kept_as_voided_with_the_reason,
    test_counters_run_per_agency_per_kind_per_year,
    test_numbers_never_repeat_when_requests_race,
)
from .test_party_signing import nssdb  # noqa: F401 - a fixture of the tests above
from .test_statistics import built, test_the_csv_agrees_with_the_cases  # noqa: F401 - collected again, on PostgreSQL


@pytest.fixture
def settings(tmp_path: Path, pg_url: str):
    from service.config import load_settings

    return load_settings(environ={"CHENGNUO_DATA_DIR": str(tmp_path / "data"), "CHENGNUO_DATABASE_URL": pg_url})


@pytest.fixture
def log(tmp_path: Path, pg_url: str) -> AuditLog:
    return AuditLog(make_engine(pg_url), tmp_path / "state" / "audit.head", Clock())


def test_appends_from_several_processes_stay_linear_on_postgresql(tmp_path: Path, pg_url: str) -> None:
    head = tmp_path / "audit.head"
    append_from_processes(pg_url, head, 4, 30)
    check = AuditLog(make_engine(pg_url), head, Clock()).verify()
    assert (check.ok, check.entries) == (True, 120)


def _call(url: str, *, data: bytes | None = None, headers: dict | None = None) -> tuple[int, bytes, dict]:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=data, headers=headers or {}), timeout=120) as response:
            return response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), dict(exc.headers)


@pytest.mark.slow
def test_two_processes_on_one_database_and_data_folder_issue_from_eight_clients(tmp_path: Path, pg_url: str) -> None:
    env = {**os.environ, "CHENGNUO_DATA_DIR": str(tmp_path / "data"), "CHENGNUO_DATABASE_URL": pg_url,
           "CHENGNUO_CONVERTER_WORKERS": "1"}
    key = subprocess.run([sys.executable, "-m", "service", "key", "add", "--agency", "jc-justice"], cwd=ROOT, env=env,
                         capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1]
    nodes = [ServiceProcess(env, ROOT), ServiceProcess(env, ROOT)]
    for node in nodes:
        node.start()
    auth = {"Authorization": f"Bearer {key}"}
    forms = ["commitment-letter", "assistance-request-written"]  # a commitment number and a letter number

    def issue(n: int) -> dict:
        form = forms[n % 2]
        body = json.dumps({"form": form, "data": json.loads((SAMPLES / f"{form}.json").read_text("utf-8"))}).encode()
        status, answer, _ = _call(f"{nodes[n % 2].base}/api/v1/documents", data=body,
                                  headers={**auth, "Content-Type": "application/json", "Idempotency-Key": f"two-nodes-{n}"})
        assert status == 201, answer
        return json.loads(answer)

    try:
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            issued = list(pool.map(issue, range(40)))
        for n, document in enumerate(issued):  # each node serves what the other issued
            other = nodes[(n + 1) % 2]
            status, pdf, _ = _call(other.base + document["links"]["pdf"], headers=auth)
            assert status == 200 and pdf.startswith(b"%PDF-")
            assert hashlib.sha256(pdf).hexdigest() == document["sha256"]
    finally:
        for node in nodes:
            node.stop()

    engine = make_engine(pg_url)
    with engine.connect() as conn:
        rows = conn.execute(select(documents.c.number, documents.c.serial, documents.c.number_kind, documents.c.status)).all()
        drawn = {(row.kind, row.agency): row.value for row in conn.execute(select(counters))}
    assert len(rows) == 40 and {row.status for row in rows} == {"awaiting_signatures", "completed"}
    assert len({row.serial for row in rows}) == 40
    for kind in ("commitment", "letter"):
        numbers = [row.number for row in rows if row.number_kind == kind]
        assert len(set(numbers)) == len(numbers) == 20 == drawn[(kind, "jc-justice")]  # none repeated, none unaccounted
    assert drawn[("serial", "*")] == 40
    verified = subprocess.run([sys.executable, "-m", "service", "audit", "verify"], cwd=ROOT, env=env, capture_output=True,
                              text=True, check=False)
    assert verified.returncode == 0, verified.stdout

