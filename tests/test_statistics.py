"""Statistics (统计): a handful of cases taken through the real steps (letters issued through LibreOffice and signed,
a verification paper, a false commitment), then the CSV, the XLSX, the JSON and the command line must agree with the
cases as the API shows them — counts by kind, item and outcome, the commitment share and its reasons, false
commitments, deadlines met and missed, and the working days to each decision counted by hand with
``add_working_days``. Another agency's cases and cases outside the period are not counted; keys and other agencies'
clerks are refused."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import statistics as py_statistics
import subprocess
import sys

import openpyxl
import pytest
import schemathesis

from service.auth.principal import OPERATOR
from service.cases import catalog_use
from service.cases.statistics import working_days_between
from service.workdays import add_working_days

from .test_cases import APPLICANT, committed_case, item_data, open_case, step
from .test_party_signing import staff

PERIOD = {"agency": "jc-justice", "from": "2025-09-01", "to": "2025-12-31"}
OTHER = {**APPLICANT, "name": "王建军", "id_number": "140502198811230019"}


def by_hand_days(received: str, decided: str) -> int:
    """The n for which ``add_working_days(received, n)`` is the decision day (a working day)."""
    start, end = dt.date.fromisoformat(received), dt.date.fromisoformat(decided)
    n = 0
    while add_working_days(start, n)[0] < end:
        n += 1
    assert add_working_days(start, n)[0] == end, "a decision on a working day"
    return n


@pytest.fixture
def built(app, services, client, anonymous):
    """Five cases of jc-justice received in the period, one before it, and one of jc-market; their final state."""
    exempt = catalog_use.add_item(services, OPERATOR, "jc-justice", item_data("exempt", verification={"method": "exempt"}))
    internal = catalog_use.add_item(services, OPERATOR, "jc-justice", item_data("internal", name="申请人无犯罪记录证明"))
    market = catalog_use.add_item(services, OPERATOR, "jc-market", item_data("exempt", verification={"method": "exempt"}))

    # 1: by commitment across National Day 2025 (9-28 and 10-11 worked): decided, reported late, fulfilled
    one = committed_case(app, services, client, anonymous, exempt.id, received_on="2025-09-26")
    step(client, one["id"], "decision", decision="grant", decided_on="2025-10-10")
    step(client, one["id"], "credit-report", reported_on="2025-10-24", reference="信用平台回执 2025-1024")
    step(client, one["id"], "close", outcome="fulfilled", closed_on="2025-10-24")
    # 2: blacklisted: the ordinary procedure, refused
    two = open_case(client, exempt.id, received_on="2025-10-13", applicant=OTHER)
    step(client, two["id"], "credit-check", result="blacklisted", source="信用中国网站查询", checked_on="2025-10-13")
    step(client, two["id"], "decision", decision="refuse", decided_on="2025-10-15", reason="不符合条件")
    # 3: a credit commitment withdrawn: the ordinary procedure, granted
    three = open_case(client, internal.id, received_on="2025-11-03", commitment_type="credit_disclosure", applicant=OTHER)
    step(client, three["id"], "credit-check", result="good", source="信用中国网站查询", checked_on="2025-11-03")
    step(client, three["id"], "withdrawal", reason="申请人选择提交证明材料", withdrawn_on="2025-11-04")
    step(client, three["id"], "decision", decision="grant", decided_on="2025-11-04")
    # 4: found false on verification: revoked (失信); its credit report never made
    four = committed_case(app, services, client, anonymous, internal.id, received_on="2025-11-10")
    step(client, four["id"], "decision", decision="grant", decided_on="2025-11-14")
    step(client, four["id"], "documents", 201, form="internal-verification", data={"findings": "系统显示申请人有犯罪记录，与承诺不符。"})
    step(client, four["id"], "verification-result", result="false", found_on="2025-11-20", note="承诺不实")
    step(client, four["id"], "close", outcome="revoked", reason="承诺无犯罪记录不实")
    # 5: two items by mail, never answered: its letter overdue
    five = open_case(client, exempt.id, items=[exempt.id, internal.id], channel="mail", received_on="2025-12-01", applicant=OTHER)
    # not counted: before the period, and another agency's
    open_case(client, exempt.id, received_on="2025-08-29")
    elsewhere = open_case(client, market.id, agency="jc-market", received_on="2025-10-20")
    step(client, elsewhere["id"], "credit-check", result="blacklisted", source="信用中国网站查询", checked_on="2025-10-20")
    cases = [client.get(f"/api/v1/cases/{c['id']}").json for c in (one, two, three, four, five)]
    return {"cases": cases, "items": {exempt.id: exempt.name, internal.id: internal.name}}


def csv_figures(body: bytes) -> dict[tuple[str, str], str]:
    assert body.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[0] == ["section", "section_label", "key", "label", "value"]
    return {(section, key): value for section, _, key, _, value in rows[1:]}


def number(value: object) -> object:
    """A cell as a number when it is one (the XLSX keeps 3.0 as 3), else as text."""
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return "" if value is None else str(value)


def expected_deadlines(cases: list[dict], today: dt.date) -> dict[tuple[str, str], int]:
    counts: dict[tuple[str, str], int] = {}
    for case in cases:
        for d in case["deadlines"]:
            due = dt.date.fromisoformat(d["due_on"])
            done = dt.date.fromisoformat(d["done_on"]) if d["done_on"] else None
            state = ("met" if done <= due else "late") if done else ("overdue" if due < today else "open")
            counts[(state, d["kind"])] = counts.get((state, d["kind"]), 0) + 1
    return counts


def test_the_csv_agrees_with_the_cases(services, built, app):
    cases = built["cases"]
    session, _, _ = staff(app, services)  # a clerk of jc-justice
    response = session.get("/statistics.csv", query_string=PERIOD)
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert 'filename="statistics-jc-justice-2025-09-01-2025-12-31.csv"' in response.headers["Content-Disposition"]
    figures = csv_figures(response.data)

    assert figures[("cases", "total")] == str(len(cases)) == "5"
    for kind in ("proof", "credit_disclosure", "permit"):
        assert figures[("commitment_type", kind)] == str(sum(c["commitment_type"] == kind for c in cases))
    for item_id in built["items"]:
        assert figures[("item", item_id)] == str(sum(any(i["id"] == item_id for i in c["items"]) for c in cases))
    assert figures[("item", next(iter(built["items"])))] == "3"  # case 5 counts for both of its items
    for outcome in ("fulfilled", "revoked", "ordinary_granted", "ordinary_refused", "refused"):
        assert figures[("outcome", outcome)] == str(sum(c["outcome"] == outcome for c in cases))
    assert figures[("outcome", "open")] == str(sum(c["outcome"] is None for c in cases)) == "1"

    commitment = sum(c["procedure"] == "commitment" for c in cases)
    assert (figures[("procedure", "commitment")], figures[("procedure", "ordinary")]) == (str(commitment), str(len(cases) - commitment))
    assert figures[("procedure", "commitment_share_percent")] == str(round(commitment / len(cases) * 100, 1)) == "60.0"
    assert figures[("ordinary_reason", "blacklisted")] == "1" and figures[("ordinary_reason", "withdrawn")] == "1"
    assert figures[("ordinary_reason", "serious_bad_record")] == "0"

    assert figures[("false_commitment", "total")] == str(sum("false_record" in c["facts"] for c in cases)) == "1"
    assert figures[("false_commitment", "revoked")] == "1"

    expected = expected_deadlines(cases, services.now().date())
    assert expected[("late", "credit_report")] >= 1 and expected[("overdue", "letter")] == 1
    for (section, kind), value in figures.items():
        if section.startswith("deadline_"):
            assert int(value) == expected.get((section.removeprefix("deadline_"), kind), 0), (section, kind)
    assert sum(int(v) for (s, _), v in figures.items() if s.startswith("deadline_")) == sum(len(c["deadlines"]) for c in cases)

    decided = [c for c in cases if "decision" in c["facts"]]
    days = [by_hand_days(c["received_on"], c["facts"]["decision"]["decided_on"]) for c in decided]
    assert sorted(days) == [1, 2, 4, 5]  # 2025-09-26 → 10-10 across National Day is 5 working days, not 14 calendar days
    assert figures[("decision_days", "cases")] == str(len(decided))
    assert float(figures[("decision_days", "median")]) == py_statistics.median(days)
    assert float(figures[("decision_days", "mean")]) == round(sum(days) / len(days), 2)
    assert figures[("decision_days", "max")] == str(max(days))
    assert [figures[("decision_days_histogram", k)] for k in ("0", "1", "2", "4-5")] == ["0", "1", "1", "2"]
    assert "陈秀兰" not in response.data.decode("utf-8-sig") and APPLICANT["id_number"] not in response.data.decode("utf-8-sig")


def test_the_json_xlsx_and_command_line_count_the_same(services, built, client, app, tmp_path):
    admin_session, _, _ = staff(app, services, role="admin", agency=None)
    answer = admin_session.get("/api/v1/statistics", query_string=PERIOD)
    assert answer.status_code == 200, answer.json
    schemathesis.openapi.from_wsgi("/api/openapi.json", app)["/api/v1/statistics"]["GET"].validate_response(answer)  # as declared
    body = answer.json
    assert body["cases"] == 5 and body["procedure"]["commitment_share"] == 0.6
    assert body["decision_days"]["median"] == 3.0 and body["decision_days"]["max"] == 5
    assert {d["kind"]: d["missed"] for d in body["deadlines"]}["letter"] == 1

    whole = admin_session.get("/api/v1/statistics", query_string={"from": PERIOD["from"], "to": PERIOD["to"]}).json
    assert whole["agency"] is None and whole["cases"] == 6  # the whole service: jc-market's case too
    reasons = {r["key"]: r["count"] for r in whole["procedure"]["ordinary_reasons"]}
    assert (reasons["blacklisted"], reasons["false_commitment"]) == (1, 1)  # jc-market's applicant was found false at jc-justice

    book = openpyxl.load_workbook(io.BytesIO(admin_session.get("/statistics.xlsx", query_string=PERIOD).data))
    sheet = book["统计"]
    from_xlsx = {(r[0], r[2]): r[4] for r in sheet.iter_rows(min_row=2, values_only=True)}
    from_csv = csv_figures(admin_session.get("/statistics.csv", query_string=PERIOD).data)
    assert {k: number(v) for k, v in from_xlsx.items()} == {k: number(v) for k, v in from_csv.items()}

    data_dir = services.settings.data_dir
    out = tmp_path / "stats.csv"
    run = subprocess.run([sys.executable, "-m", "service", "statistics", "--agency", "jc-justice", "--from", PERIOD["from"], "--to",
                          PERIOD["to"], "--format", "csv", "--out", str(out)], env={**os.environ, "CHENGNUO_DATA_DIR": str(data_dir)},
                         capture_output=True, text=True, timeout=120, check=False)
    assert run.returncode == 0, run.stderr
    by_cli = csv_figures(out.read_bytes())
    assert {k: v for k, v in by_cli.items() if k[0] != "scope"} == {k: v for k, v in from_csv.items() if k[0] != "scope"}
    bad = subprocess.run([sys.executable, "-m", "service", "statistics", "--from", "2025-13-01"], env={**os.environ,
                         "CHENGNUO_DATA_DIR": str(data_dir)}, capture_output=True, text=True, timeout=120, check=False)
    assert bad.returncode == 2 and "--from" in bad.stderr
    assert json.loads(subprocess.run([sys.executable, "-m", "service", "statistics", "--agency", "jc-market", "--from", PERIOD["from"],
                                      "--to", PERIOD["to"]], env={**os.environ, "CHENGNUO_DATA_DIR": str(data_dir)},
                                     capture_output=True, text=True, timeout=120, check=True).stdout)["cases"] == 1


def test_rights_and_bounded_parameters(services, app, client):
    item = catalog_use.add_item(services, OPERATOR, "jc-justice", item_data("exempt", verification={"method": "exempt"}))
    open_case(client, item.id, received_on="2025-10-13")
    assert client.get("/api/v1/statistics", query_string=PERIOD).status_code == 403  # a calling system's key
    assert app.test_client().get("/api/v1/statistics").status_code == 401
    assert app.test_client().get("/statistics").status_code == 302  # to the sign-in page
    market, _, _ = staff(app, services, agency="jc-market")
    assert market.get("/api/v1/statistics", query_string=PERIOD).status_code == 403
    assert market.get("/statistics.csv", query_string=PERIOD).status_code == 403
    page = market.get("/statistics", query_string=PERIOD)
    assert page.status_code == 403 and "无权查看" in page.get_data(as_text=True)
    own = market.get("/api/v1/statistics", query_string={"from": PERIOD["from"], "to": PERIOD["to"]}).json
    assert own["agency"] == "jc-market" and own["cases"] == 0  # a clerk's own agency by default; jc-justice's case not counted

    justice, _, _ = staff(app, services)
    for query, name in [({"from": "2025-02-30"}, "from"), ({"to": "yesterday"}, "to"), ({"from": "2025-12-01", "to": "2025-01-01"}, "to"),
                        ({"from": "2010-01-01", "to": "2025-01-01"}, "from"), ({"agency": "x" * 500}, "agency"), ({"from": "1999-12-31"}, "from")]:
        answer = justice.get("/api/v1/statistics", query_string=query)
        assert answer.status_code == 400 and list(answer.json["errors"]) == [name], (query, answer.json)
        page = justice.get("/statistics", query_string=query)
        assert page.status_code == 400
        if name != "agency":  # a clerk of one agency has no agency to choose: the message stands above the figures
            assert f'id="{name}-error"' in page.get_data(as_text=True)
    assert justice.get("/api/v1/statistics", query_string=PERIOD).json["cases"] == 1


def test_working_days_count_after_the_day_of_receipt():
    assert working_days_between(dt.date(2025, 9, 30), dt.date(2025, 10, 9)) == (1, True)  # National Day: only 10-09 is worked
    assert working_days_between(dt.date(2025, 10, 10), dt.date(2025, 10, 10)) == (0, True)
    assert working_days_between(dt.date(2025, 10, 10), dt.date(2025, 10, 12)) == (1, True)  # Saturday 10-11 is a make-up day
