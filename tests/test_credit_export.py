"""Credit information (信用承诺信息, 践诺信息) exported for the credit platform: real cases through the procedure (real
letters signed by real parties), exported through the API, the command line and the use case; the files read back
with the csv module and openpyxl."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import subprocess
import sys

import openpyxl
import pytest
import schemathesis

from service.auth.principal import OPERATOR
from service.cases import catalog_use, credit_export

from .conftest import keyed_client
from .test_cases import APPLICANT, committed_case, item_data, open_case, step
from .test_party_signing import staff

HEADER = ["信息类别", "主体名称", "主体类型", "统一社会信用代码或身份证号", "承诺类型", "承诺事项", "承诺日期", "作出承诺的部门", "决定日期",
          "核查方式", "核查结果", "履约状态", "失信情形", "办件编号"]
SECOND = {**APPLICANT, "name": "王建军", "id_number": "140502198811230019"}
THIRD = {**APPLICANT, "name": "李红梅", "id_number": "140525199002283021"}


@pytest.fixture
def item(services):
    return catalog_use.add_item(services, OPERATOR, "jc-justice", item_data("internal"))


@pytest.fixture
def later(services):
    """Moves the service's clock on by whole days (never back), as the days of a period pass."""
    real = services.clock

    def move(days: int) -> dt.date:
        services.clock = lambda: real() + dt.timedelta(days=days)
        return services.now().date()

    yield move
    services.clock = real


@pytest.fixture
def supervisor(app, services):
    client, token, _ = staff(app, services, role="supervisor")
    client.environ_base["HTTP_X_CSRF_TOKEN"] = token
    return client



def export(client, start: dt.date, end: dt.date, fmt: str = "json", expected: int = 201, **body):
    response = client.post("/api/v1/credit/exports", json={"agency": "jc-justice", "from": start.isoformat(), "to": end.isoformat(),
                                                           "format": fmt, **body})
    assert response.status_code == expected, response.get_data(as_text=True)[:500]
    return response


def csv_rows(content: bytes) -> list[list[str]]:
    assert content.startswith(b"\xef\xbb\xbf")  # the BOM: Excel opens UTF-8 right
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))


def deadline(client, case_id: str, kind: str = "credit_report") -> dict:
    return next(d for d in client.get(f"/api/v1/cases/{case_id}").json["deadlines"] if d["kind"] == kind)


def test_an_export_lists_exactly_the_commitments_decided_in_the_period_and_a_second_one_is_empty(
        app, services, client, anonymous, item, later, supervisor):
    day0 = services.now().date()
    before = committed_case(app, services, client, anonymous, item.id)  # decided the day before the period
    granted = committed_case(app, services, client, anonymous, item.id, applicant=SECOND)
    refused = committed_case(app, services, client, anonymous, item.id, applicant=THIRD)
    ordinary = open_case(client, item.id)
    step(client, ordinary["id"], "credit-check", result="blacklisted", source="信用中国网站查询")
    step(client, before["id"], "decision", decision="grant")
    start = later(1)
    step(client, granted["id"], "decision", decision="grant")
    later(2)
    step(client, refused["id"], "decision", decision="refuse", reason="申请人不符合经济困难标准")
    assert step(client, ordinary["id"], "decision", decision="grant")["procedure"] == "ordinary"
    end = later(3)

    first = export(supervisor, start, end, "csv")
    rows = csv_rows(first.data)
    assert rows[0] == HEADER
    assert sorted((r[0], r[-1]) for r in rows[1:]) == sorted([("信用承诺信息", granted["number"]), ("信用承诺信息", refused["number"])])
    assert first.headers["X-Credit-Export-Rows"] == "2"
    assert first.headers["Content-Disposition"].startswith('attachment; filename="credit-jc-justice-')
    row = dict(zip(HEADER, next(r for r in rows[1:] if r[-1] == granted["number"])))
    assert row == {
        "信息类别": "信用承诺信息", "主体名称": "王建军", "主体类型": "自然人", "统一社会信用代码或身份证号": "140502198811230019",
        "承诺类型": "证明事项告知承诺", "承诺事项": "申请人经济困难状况证明", "承诺日期": day0.isoformat(),
        "作出承诺的部门": services.agencies.get("jc-justice").name, "决定日期": start.isoformat(),
        "核查方式": "内部核验（山西省最低生活保障信息系统）", "核查结果": "", "履约状态": "", "失信情形": "", "办件编号": granted["number"]}

    second = export(supervisor, start, end, "csv")
    assert csv_rows(second.data) == [HEADER] and second.headers["X-Credit-Export-Rows"] == "0"

    # The cases it covered have met their credit-report deadline, through their own step; the others have not.
    for case in (granted, refused):
        assert deadline(client, case["id"])["done_on"] == end.isoformat()
        history = client.get(f"/api/v1/cases/{case['id']}").json["history"]
        assert [h["detail"].get("reference") for h in history if h["action"] == "credit_report"] == [first.headers["X-Credit-Export-Id"]]
    assert deadline(client, before["id"])["done_on"] is None

    # Each export is audited: who, agency, period, count — never the rows.
    entries = [e for e in services.audit.entries(limit=500) if e.action == "credit.export"]
    assert [(e.actor.startswith("user:supervisor"), e.detail["rows"], e.detail["from"], e.detail["to"]) for e in reversed(entries)] == [
        (True, 2, start.isoformat(), end.isoformat()), (True, 0, start.isoformat(), end.isoformat())]
    assert entries[-1].object == f"credit_export:{first.headers['X-Credit-Export-Id']}"
    assert all(secret not in json.dumps([e.detail for e in entries], ensure_ascii=False)
               for secret in ("王建军", "140502198811230019", "李红梅"))
    assert services.audit.verify().ok

    again = export(supervisor, start, end, "json", full=True)  # everything of the period again, still recorded
    assert sorted(r["case_number"] for r in again.json["rows"]) == sorted([granted["number"], refused["number"]])
    listed = supervisor.get("/api/v1/credit/exports?agency=jc-justice").json["exports"]
    assert [e["rows"] for e in listed] == [2, 0, 2] and "王建军" not in json.dumps(listed, ensure_ascii=False)


def test_a_verification_result_comes_back_in_the_next_export_as_the_fulfilment_row(app, services, client, anonymous, item, supervisor):
    today = services.now().date()
    case = committed_case(app, services, client, anonymous, item.id)
    step(client, case["id"], "decision", decision="grant")
    assert [r["kind_code"] for r in export(supervisor, today, today).json["rows"]] == ["commitment"]
    step(client, case["id"], "documents", 201, form="internal-verification", data={"findings": "系统显示申请人为最低生活保障对象。"})
    step(client, case["id"], "verification-result", result="true")

    rows = export(supervisor, today, today).json["rows"]
    assert [(r["kind_code"], r["kind"], r["verification_result"], r["fulfilment"], r["breach"]) for r in rows] == [
        ("fulfilment", "践诺信息", "属实", "已履约", "")]
    assert export(supervisor, today, today).json["rows"] == []

    step(client, case["id"], "close", outcome="fulfilled")  # the closure changes nothing the rows say
    assert export(supervisor, today, today).json["rows"] == []

    # The same rows as CSV and as XLSX.
    as_csv = csv_rows(export(supervisor, today, today, "csv", full=True).data)
    book = openpyxl.load_workbook(io.BytesIO(export(supervisor, today, today, "xlsx", full=True).data))
    as_xlsx = [["" if v is None else v for v in row] for row in book["信用信息"].iter_rows(values_only=True)]
    assert as_xlsx == as_csv and len(as_csv) == 3
    assert [r[0] for r in as_csv[1:]] == ["信用承诺信息", "践诺信息"]


def test_a_false_commitment_is_reported_with_what_was_false(app, services, client, anonymous, item, supervisor):
    today = services.now().date()
    case = committed_case(app, services, client, anonymous, item.id)
    step(client, case["id"], "decision", decision="grant")
    step(client, case["id"], "documents", 201, form="internal-verification", data={"findings": "系统显示申请人不是最低生活保障对象。"})
    step(client, case["id"], "verification-result", result="false", note="承诺的低保待遇不存在")
    assert [(r["fulfilment"], r["breach"]) for r in export(supervisor, today, today).json["rows"] if r["kind_code"] == "fulfilment"] == [
        ("未履约", "")]
    step(client, case["id"], "close", outcome="revoked", reason="承诺享受最低生活保障待遇不实")
    rows = export(supervisor, today, today).json["rows"]
    assert [(r["kind_code"], r["fulfilment"], r["breach"]) for r in rows] == [
        ("fulfilment", "未履约（撤销行政决定）", "撤销行政决定：承诺享受最低生活保障待遇不实")]


def test_only_supervisors_of_the_agency_and_administrators_export(app, services, client):
    today = services.now().date()
    clerk, clerk_token, _ = staff(app, services, role="clerk")
    clerk.environ_base["HTTP_X_CSRF_TOKEN"] = clerk_token
    other, other_token, _ = staff(app, services, role="supervisor", agency="jc-market")
    other.environ_base["HTTP_X_CSRF_TOKEN"] = other_token
    admin, admin_token, _ = staff(app, services, role="admin", agency=None)
    admin.environ_base["HTTP_X_CSRF_TOKEN"] = admin_token
    for refused in (clerk, client, other):
        assert export(refused, today, today, expected=403).json["error"] == "forbidden"
        assert refused.get("/api/v1/credit/exports?agency=jc-justice").status_code == 403
    assert clerk.get("/credit").status_code == 403
    made = export(admin, today, today, "xlsx")
    assert made.headers["X-Credit-Export-Rows"] == "0"
    assert [e["created_by"] for e in admin.get("/api/v1/credit/exports").json["exports"]] == [made_by(services)]
    assert other.get("/api/v1/credit/exports?agency=jc-market").json["exports"] == []  # its own agency: allowed, and empty
    assert [e.actor for e in services.audit.entries(limit=50) if e.action == "credit.export"] == [made_by(services)]


def made_by(services) -> str:
    return next(f"user:{u.username}" for u in services.users.list() if u.role == "admin")


def test_a_period_that_ends_before_it_starts_is_refused_on_to(app, services):
    supervisor, token, _ = staff(app, services, role="supervisor")
    supervisor.environ_base["HTTP_X_CSRF_TOKEN"] = token
    today = services.now().date()
    refused = export(supervisor, today, today - dt.timedelta(days=1), expected=422)
    assert list(refused.json["errors"]) == ["to"]
    assert export(supervisor, today, today, "pdf", expected=422).json["errors"]["format"]
    assert supervisor.post("/api/v1/credit/exports", json={"agency": "nowhere", "from": today.isoformat(), "to": today.isoformat(),
                                                           "format": "csv"}).status_code == 404
    assert not [e for e in services.audit.entries(limit=50) if e.action == "credit.export"]


def test_the_answers_match_the_openapi_document(app, services):
    supervisor, token, _ = staff(app, services, role="supervisor")
    supervisor.environ_base["HTTP_X_CSRF_TOKEN"] = token
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    today = services.now().date()
    for fmt in ("json", "csv", "xlsx"):
        schema["/api/v1/credit/exports"]["POST"].validate_response(export(supervisor, today, today, fmt))
    schema["/api/v1/credit/exports"]["GET"].validate_response(supervisor.get("/api/v1/credit/exports"))
    schema["/api/v1/credit/exports"]["POST"].validate_response(export(keyed_client(app, services.api_keys.create(
        name="案件系统", agencies=["jc-justice"], forms=["*"], now=services.now())[1]), today, today, expected=403))


def test_the_command_line_exports_as_the_operator(tmp_path):
    env = {**os.environ, "CHENGNUO_DATA_DIR": str(tmp_path / "data")}
    out = tmp_path / "credit.csv"

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "service", "credit", *args], env=env, capture_output=True, text=True, timeout=180,
                              check=False)

    run = cli("export", "--agency", "jc-justice", "--from", "2026-01-01", "--to", "2026-11-01", "--format", "csv", "--out", str(out))
    assert run.returncode == 0, run.stderr
    made = json.loads(run.stdout)
    assert (made["agency"], made["rows"], made["created_by"]) == ("jc-justice", 0, "operator:operator")
    assert csv_rows(out.read_bytes()) == [HEADER]
    assert [e["id"] for e in json.loads(cli("exports").stdout)["exports"]] == [made["id"]]
    bad = cli("export", "--agency", "jc-justice", "--from", "2026-02-01", "--to", "2026-01-01", "--format", "csv", "--out", str(out))
    assert bad.returncode == 2 and "to: 结束日期不能早于开始日期" in bad.stderr


def test_a_cell_a_spreadsheet_would_run_is_kept_as_text():
    row = credit_export.CreditRow("c", "commitment", {code: "" for code in credit_export.CODES} | {"subject_name": "=HYPERLINK(\"x\")"})
    assert csv_rows(credit_export.to_csv([row]))[1][1] == "'=HYPERLINK(\"x\")"
    cell = openpyxl.load_workbook(io.BytesIO(credit_export.to_xlsx([row])))["信用信息"]["B2"]
    assert (cell.value, cell.data_type) == ("=HYPERLINK(\"x\")", "s")
