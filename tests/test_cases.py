"""Cases (办件): one application from the credit check to the result, through the API, with real documents
(LibreOffice, pyHanko, the development TSA), real signatures, and deadlines in Chinese working days."""

from __future__ import annotations

import datetime as dt
import subprocess

import pytest

from service.auth.principal import OPERATOR
from service.cases import catalog_use, procedure
from service.workdays import add_working_days

from .conftest import keyed_client, sample, service_today
from .test_party_signing import sign, staff
from .test_signing_links import link_for, sign_link

APPLICANT = {"type": "person", "name": "陈秀兰", "id_type": "居民身份证", "id_number": "140525197903041629", "phone": "13834562817"}


def item_data(method="assistance", **changes):
    letter = sample("commitment-letter")
    data = {
        "kind": "proof", "name": "申请人经济困难状况证明", "matter": "法律援助申请", "purpose": letter["proof_purpose"],
        "basis": {"law": "《中华人民共和国法律援助法》", "article": "第四十一条",
                  "text": "因经济困难申请法律援助的，申请人应当如实说明经济困难状况。"},
        "content": letter["proof_content"], "conditions": letter["conditions_met"],
        "requester": "晋城市法律援助中心", "issuer": "申请人户籍所在地民政部门", "proxy_allowed": True,
        "consequences": letter["consequences"], "disclosure": letter["disclosure"],
        "disclosure_days": 30,
        "verification": {"method": method, **({"agency": "晋城市民政局", "days": 10, "reply_days": 5} if method == "assistance" else {}),
                         **({"system": "山西省最低生活保障信息", "days": 5} if method == "internal" else {})},
        "supervision": "通过山西省政务信息共享平台查询最低生活保障信息。", "contact": {"name": "郭文斌", "phone": "0356-2023148"},
        "credit_catalogue": "信用中国（山西）", "area": "一般事项",
    }
    return {**data, **changes}


@pytest.fixture
def item(services):
    return catalog_use.add_item(services, OPERATOR, "jc-justice", item_data())


def open_case(client, item_id, **changes):
    body = {"agency": "jc-justice", "items": [item_id], "applicant": APPLICANT, "channel": "window",
            "received_on": service_today().isoformat(), "commitment_type": "proof", **changes}
    response = client.post("/api/v1/cases", json=body)
    assert response.status_code == 201, response.json
    return response.json


def step(client, case_id, name, expected=200, **body):
    response = client.post(f"/api/v1/cases/{case_id}/{name}", json=body)
    assert response.status_code == expected, response.json
    return response.json


def sign_letter(app, services, client, anonymous, document_id, applicant=APPLICANT):
    link = link_for(client, document_id)
    assert sign_link(anonymous, link["token"], code=link["code"], id_suffix=applicant["id_number"][-6:]).status_code == 200
    clerk, token, password = staff(app, services)
    signed = sign(clerk, token, document_id, "handler", password)
    assert signed.status_code == 200, signed.json
    return signed.json


def committed_case(app, services, client, anonymous, item_id, applicant=APPLICANT, **changes):
    """A case whose letter the applicant (by link) and the clerk signed: committed today."""
    case = open_case(client, item_id, applicant=applicant, **changes)
    step(client, case["id"], "credit-check", result="good", source="信用中国网站查询")
    issued = step(client, case["id"], "documents", 201, form="commitment-letter")
    sign_letter(app, services, client, anonymous, issued["document"]["id"], applicant)
    return client.get(f"/api/v1/cases/{case['id']}").json


def pdf_text(pdf: bytes, tmp_path) -> str:
    path = tmp_path / "doc.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout


def test_a_mail_case_received_before_national_day_has_its_letter_due_after_the_holiday(client, item):
    case = open_case(client, item.id, channel="mail", received_on="2026-09-30")  # 国庆节 10月1日–7日; 10月10日 (Saturday) is worked
    letter = next(d for d in case["deadlines"] if d["kind"] == "letter")
    assert letter["due_on"] == "2026-10-10"
    assert letter["working_days"] == 3 and letter["exact"] is True
    assert "四(三)3" in letter["source"] and "3个工作日" in letter["source"]


def test_a_window_case_has_no_letter_deadline_and_a_year_nobody_published_is_said(services, client, item):
    assert [d["kind"] for d in open_case(client, item.id)["deadlines"]] == []
    _, exact = add_working_days(dt.date(2026, 12, 28), 5)
    assert not exact  # 2027's arrangement is not in the package: counted Monday to Friday, and flagged
    from service.cases.deadlines import view, working
    from service.registry.cases import DeadlineRecord

    new = working("complaint", dt.date(2026, 12, 28), 5)
    record = DeadlineRecord(1, "c", "jc-justice", new.kind, None, "2026-12-28", 5, new.due_on.isoformat(), 0, list(new.unknown_years),
                            new.source, None, None, dt.datetime.now(dt.UTC))
    assert "2027年法定节假日安排尚未公布" in view(record, dt.date(2026, 12, 28), 3).note


def test_a_full_case_runs_from_the_letter_to_fulfilment(app, services, client, anonymous, item, tmp_path):
    case = committed_case(app, services, client, anonymous, item.id)
    assert case["state"] == "committed"
    letter = next(d for d in case["documents"] if d["form"] == "commitment-letter")
    assert letter["status"] == "completed" and letter["catalog_items"] == [{"id": item.id, "version": 1}]
    text = pdf_text(client.get(f"/api/v1/documents/{letter['id']}/pdf").data, tmp_path)
    assert "《中华人民共和国法律援助法》第四十一条" in text.replace(" ", "")  # the item's 设定依据, not retyped
    assert "陈秀兰" in text

    decided = step(client, case["id"], "decision", decision="grant")
    assert decided["state"] == "decided"
    kinds = {d["kind"]: d for d in decided["deadlines"]}
    today = service_today()
    assert kinds["verification"]["due_on"] == add_working_days(today, 10)[0].isoformat()
    assert kinds["credit_report"]["due_on"] == add_working_days(today, 7)[0].isoformat()

    request = step(client, case["id"], "documents", 201, form="assistance-request-written")
    assert request["state"] == "verifying"
    data = services.registry.get(request["document"]["id"]).data
    assert data["addressee"] == "晋城市民政局" and data["matter"] == "法律援助申请" and data["reply_days"] == 5
    assert data["items"] == sample("commitment-letter")["conditions_met"]  # what the applicant committed to, from the letter
    reply = next(d for d in request["deadlines"] if d["kind"] == "assistance_reply")
    assert reply["due_on"] == add_working_days(today, 5)[0].isoformat() and reply["ref"] == request["document"]["id"]

    rectifying = step(client, case["id"], "verification-result", result="rectify", days=5, note="缺少户籍地民政部门的核对结果")
    assert rectifying["state"] == "rectifying"
    rectification = next(d for d in rectifying["deadlines"] if d["kind"] == "rectification")
    assert rectification["due_on"] == add_working_days(today, 5)[0].isoformat() and rectification["working_days"] == 5
    assert next(d for d in rectifying["deadlines"] if d["kind"] == "assistance_reply")["done_on"] == today.isoformat()

    verified = step(client, case["id"], "verification-result", result="true")
    assert verified["state"] == "verified"
    closed = step(client, case["id"], "close", outcome="fulfilled")
    assert (closed["state"], closed["outcome"]) == ("closed", "fulfilled")
    assert [h["action"] for h in closed["history"]] == ["created", "credit_check", "letter", "committed", "decision",
                                                        "verification_document", "verification_result", "verification_result", "close"]
    assert all(h["actor"] for h in closed["history"])
    assert {h["detail"].get("document_number") for h in closed["history"] if h["action"] == "letter"} == {letter["number"]}
    assert services.audit.verify().ok


def test_an_earlier_false_commitment_found_by_the_service_refuses_commitment(app, services, client, anonymous):
    item = catalog_use.add_item(services, OPERATOR, "jc-justice", item_data("internal"))
    first = committed_case(app, services, client, anonymous, item.id)
    step(client, first["id"], "decision", decision="grant")
    slip = step(client, first["id"], "documents", 201, form="internal-verification",
                data={"findings": "系统显示申请人不是最低生活保障对象，与承诺不符。"})
    assert services.registry.get(slip["document"]["id"]).data["system"] == "山西省最低生活保障信息"
    step(client, first["id"], "verification-result", result="false", note="承诺的低保待遇不存在")
    closed = step(client, first["id"], "close", outcome="revoked", reason="承诺享受最低生活保障待遇不实")
    assert closed["facts"]["false_record"]["outcome"] == "撤销行政决定"

    second = open_case(client, item.id)
    checked = step(client, second["id"], "credit-check", result="good", source="信用中国网站查询")
    assert checked["state"] == "ordinary" and checked["procedure"] == "ordinary"
    assert checked["facts"]["credit_check"]["result"] == "false_commitment"
    assert checked["facts"]["credit_check"]["own_record"] == [first["number"]]
    refused = client.post(f"/api/v1/cases/{second['id']}/documents", json={"form": "commitment-letter"})
    assert refused.status_code == 409 and "ordinary" in refused.json["message"]


def test_the_overdue_list_shows_a_case_whose_assistance_reply_is_late(app, services, client, anonymous, item):
    case = committed_case(app, services, client, anonymous, item.id, received_on=(service_today() - dt.timedelta(days=40)).isoformat())
    step(client, case["id"], "decision", decision="grant")
    letter_date = (service_today() - dt.timedelta(days=30)).isoformat()
    step(client, case["id"], "documents", 201, form="assistance-request-written", data={"letter_date": letter_date})

    overdue = client.get("/api/v1/deadlines?overdue=true&agency=jc-justice").json["deadlines"]
    assert [(row["case_number"], row["deadline"]["kind"]) for row in overdue] == [(case["number"], "assistance_reply")]
    assert overdue[0]["deadline"]["overdue"] is True
    listed = client.get("/api/v1/cases?overdue=true").json
    assert [c["number"] for c in listed["cases"]] == [case["number"]] and listed["cases"][0]["overdue"] is True
    metrics = anonymous.get("/metrics").get_data(as_text=True)
    assert 'chengnuo_case_deadlines_overdue{agency="jc-justice",kind="assistance_reply"} 1.0' in metrics
    assert procedure.announce_missed_deadlines(services) == 1
    assert procedure.announce_missed_deadlines(services) == 0  # announced once
    assert client.get("/api/v1/deadlines?due_within=400").status_code == 400


def test_a_step_the_state_does_not_allow_is_a_409_naming_the_state_and_changes_nothing(client, item):
    case = open_case(client, item.id)
    for name, body in [("decision", {"decision": "grant"}), ("verification-result", {"result": "true"}),
                       ("close", {"outcome": "fulfilled"}), ("documents", {"form": "commitment-letter"})]:
        response = client.post(f"/api/v1/cases/{case['id']}/{name}", json=body)
        assert response.status_code == 409, (name, response.json)
        assert response.json["error"] == "case_state" and "received" in response.json["message"]
    after = client.get(f"/api/v1/cases/{case['id']}").json
    assert after["state"] == "received" and after["documents"] == [] and len(after["history"]) == 1
    assert step(client, case["id"], "credit-check", 422, result="good")["errors"]["source"]


def test_withdrawal_before_the_decision_voids_the_unsigned_letter_and_goes_on_by_the_ordinary_procedure(client, item):
    case = open_case(client, item.id)
    step(client, case["id"], "credit-check", result="good", source="信用中国网站查询")
    letter = step(client, case["id"], "documents", 201, form="commitment-letter")["document"]
    withdrawn = step(client, case["id"], "withdrawal", reason="申请人选择提交证明材料")
    assert withdrawn["state"] == "ordinary"
    voided = next(d for d in withdrawn["documents"] if d["id"] == letter["id"])
    assert voided["status"] == "voided" and "撤回承诺" in voided["void_reason"]
    step(client, case["id"], "withdrawal", 409, reason="再次撤回")
    assert step(client, case["id"], "decision", decision="grant")["outcome"] == "ordinary_granted"


def test_data_cannot_change_what_the_case_fixes(client, item):
    case = open_case(client, item.id)
    step(client, case["id"], "credit-check", result="good", source="信用中国网站查询")
    response = client.post(f"/api/v1/cases/{case['id']}/documents",
                           json={"form": "commitment-letter", "data": {"legal_basis": "随便写的依据"}})
    assert response.status_code == 422 and "data.legal_basis" in response.json["errors"]
    proxy = {"name": "陈秀芳", "id_type": "居民身份证", "id_number": "140502198506123129", "authorisation": "授权委托书"}
    response = client.post(f"/api/v1/cases/{case['id']}/documents", json={"form": "commitment-letter", "data": {"proxy": proxy}})
    assert response.status_code == 422 and "data.proxy" in response.json["errors"]  # the case has no proxy: neither may its letter


def test_a_failed_issue_leaves_the_case_as_it_was_with_the_voided_number_kept(services, client, item):
    from service.errors import ConversionError

    class Broken:
        def convert(self, docx):
            raise ConversionError("转换失败", "conversion failed")

    case = open_case(client, item.id)
    step(client, case["id"], "credit-check", result="good", source="信用中国网站查询")
    working = services.converter
    services.converter = Broken()
    try:
        assert client.post(f"/api/v1/cases/{case['id']}/documents", json={"form": "commitment-letter"}).status_code == 502
    finally:
        services.converter = working
    after = client.get(f"/api/v1/cases/{case['id']}").json
    assert after["state"] == "credit_checked"
    assert [(d["status"], d["case_id"]) for d in after["documents"]] == [("voided", case["id"])]
    assert "签发失败" in after["documents"][0]["void_reason"]


def test_the_applicant_is_masked_for_an_administrator_and_hidden_from_another_agency(app, services, client, item):
    case = open_case(client, item.id)
    admin_client, _, _ = staff(app, services, role="admin", agency=None)
    seen = admin_client.get(f"/api/v1/cases/{case['id']}").json["applicant"]
    assert seen["id_number"] == "1405**********1629" and seen["phone"] == "138****2817" and seen["name"] == "陈*兰"
    assert client.get(f"/api/v1/cases/{case['id']}").json["applicant"]["id_number"] == APPLICANT["id_number"]
    _, other = services.api_keys.create(name="另一机关", agencies=["jc-market"], forms=["*"], now=services.now())
    assert keyed_client(app, other).get(f"/api/v1/cases/{case['id']}").status_code == 404
    assert keyed_client(app, other).post("/api/v1/cases", json={
        "agency": "jc-justice", "items": [item.id], "applicant": APPLICANT, "channel": "window",
        "received_on": "2026-11-02", "commitment_type": "proof"}).status_code == 403


def test_bad_case_data_is_a_422_with_field_paths(client, item):
    response = client.post("/api/v1/cases", json={
        "agency": "jc-justice", "items": ["no-such-item"], "applicant": {**APPLICANT, "id_number": "140525197903041628"},
        "channel": "fax", "received_on": "2026-11-02", "commitment_type": "proof"})
    assert response.status_code == 422
    assert {"applicant.id_number", "channel"} <= set(response.json["errors"])
    response = client.post("/api/v1/cases", json={
        "agency": "jc-justice", "items": ["no-such-item"], "applicant": APPLICANT, "channel": "mail",
        "received_on": "2026-11-02", "commitment_type": "proof"})
    assert response.status_code == 422 and "items.0" in response.json["errors"]


@pytest.mark.parametrize("query", ["item=%00", "item=" + "a" * 5000, "q=%00", "q=" + "查" * 101, "state=done", "from=2026-13-01",
                                   "due_within=9999", "page=0", "overdue=yes"])
def test_a_bad_list_parameter_is_a_400_naming_it(client, query):
    response = client.get(f"/api/v1/cases?{query}")
    assert response.status_code == 400, response.json
    assert query.split("=")[0] in response.json["errors"]


def test_the_command_line_opens_a_case_and_takes_its_steps(tmp_path):
    import json
    import os
    import sys

    env = {**os.environ, "CHENGNUO_DATA_DIR": str(tmp_path / "data")}

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "service", *args], env=env, capture_output=True, text=True, timeout=180, check=False)

    (tmp_path / "item.json").write_text(json.dumps(item_data("exempt", verification={"method": "exempt"})), encoding="utf-8")
    added = run("catalog", "add", "--agency", "jc-justice", "--data", str(tmp_path / "item.json"))
    assert added.returncode == 0, added.stderr
    body = {"agency": "jc-justice", "items": [json.loads(added.stdout)["id"]], "applicant": APPLICANT, "channel": "mail",
            "received_on": "2026-09-30", "commitment_type": "proof"}
    (tmp_path / "case.json").write_text(json.dumps(body, ensure_ascii=False), encoding="utf-8")
    created = run("case", "create", "--data", str(tmp_path / "case.json"))
    assert created.returncode == 0, created.stderr
    case = json.loads(created.stdout)
    assert case["deadlines"][0]["due_on"] == "2026-10-10" and case["state"] == "received"

    (tmp_path / "decision.json").write_text('{"decision": "grant"}')
    refused = run("case", "step", case["id"], "decision", "--data", str(tmp_path / "decision.json"))
    assert refused.returncode == 1 and "received" in refused.stderr
    (tmp_path / "check.json").write_text('{"result": "blacklisted", "source": "信用中国网站查询"}')
    checked = run("case", "step", case["id"], "credit-check", "--data", str(tmp_path / "check.json"))
    assert checked.returncode == 0 and json.loads(checked.stdout)["state"] == "ordinary"
    (tmp_path / "bad.json").write_text('{"result": "great"}')
    invalid = run("case", "step", case["id"], "credit-check", "--data", str(tmp_path / "bad.json"))
    assert invalid.returncode == 2 and "result" in invalid.stderr and "source" in invalid.stderr
    listed = run("case", "list", "--state", "ordinary")
    assert [c["number"] for c in json.loads(listed.stdout)["cases"]] == [case["number"]]
    overdue = run("case", "deadlines", "--overdue")
    assert json.loads(overdue.stdout)["deadlines"] == []  # the letter deadline ended with the ordinary procedure


def test_materials_not_supplied_after_a_reminder_end_the_case_and_refuse_the_next_commitment(app, services, client, anonymous):
    item = catalog_use.add_item(services, OPERATOR, "jc-justice", item_data("exempt", verification={"method": "exempt"}, window="司法行政"))
    today = services.now().date()
    supply_by = today + dt.timedelta(days=3)
    case = open_case(client, item.id, commitment_type="credit_tolerance",
                     tolerance={"missing_materials": ["户籍所在地民政部门出具的低保证明原件"], "supply_by": supply_by.isoformat()})
    assert next(d for d in case["deadlines"] if d["kind"] == "materials")["due_on"] == supply_by.isoformat()
    step(client, case["id"], "credit-check", result="good", source="信用中国（山西）查询")
    letter = step(client, case["id"], "documents", 201, form="credit-commitment-tolerance")["document"]
    assert services.registry.get(letter["id"]).data["missing_materials"] == ["户籍所在地民政部门出具的低保证明原件"]
    link = link_for(client, letter["id"], party="subject")
    assert sign_link(anonymous, link["token"], code=link["code"], id_suffix=APPLICANT["id_number"][-6:]).status_code == 200
    assert step(client, case["id"], "decision", decision="grant")["state"] == "decided"

    real_clock = services.clock
    services.clock = lambda: real_clock() + dt.timedelta(days=10)
    try:
        early = client.post(f"/api/v1/cases/{case['id']}/close", json={"outcome": "returned", "reason": "逾期未补齐"})
        assert early.status_code == 409 and "催告" in early.json["message"]
        step(client, case["id"], "materials", action="reminded", note="电话催告，仍未提交")
        closed = step(client, case["id"], "close", outcome="returned", reason="经催告仍未补齐低保证明原件")
        assert (closed["state"], closed["outcome"], closed["facts"]["false_record"]["outcome"]) == ("closed", "returned", "终止退件")
        again = open_case(client, item.id)
        checked = step(client, again["id"], "credit-check", result="good", source="信用中国（山西）查询")
        assert checked["state"] == "ordinary" and checked["facts"]["credit_check"]["own_record"] == [case["number"]]
    finally:
        services.clock = real_clock


def test_complaints_and_the_credit_report_meet_their_deadlines(app, services, client, anonymous, item):
    case = committed_case(app, services, client, anonymous, item.id)
    decided = step(client, case["id"], "decision", decision="refuse", reason="申请人不符合经济困难标准")
    assert (decided["state"], decided["outcome"]) == ("closed", "refused")
    report = next(d for d in decided["deadlines"] if d["kind"] == "credit_report")
    assert report["done_on"] is None and "7个工作日" in report["source"]
    reported = step(client, case["id"], "credit-report", reference="JCXY-2026-0001")
    assert next(d for d in reported["deadlines"] if d["kind"] == "credit_report")["done_on"] == services.now().date().isoformat()
    complained = step(client, case["id"], "complaints", summary="申请人认为不予决定理由不充分")
    complaint = next(d for d in complained["deadlines"] if d["kind"] == "complaint")
    assert complaint["due_on"] == add_working_days(services.now().date(), 5)[0].isoformat() and complaint["ref"] == "C1"
    resolved = step(client, case["id"], "complaints/C1/resolution", result="经复核，决定理由充分，已书面告知投诉人")
    assert next(d for d in resolved["deadlines"] if d["kind"] == "complaint")["done_on"]
    step(client, case["id"], "complaints/C1/resolution", 409, result="再次处理")


def test_two_steps_at_once_apply_once(app, services, client, anonymous, item):
    import concurrent.futures

    case = committed_case(app, services, client, anonymous, item.id)
    clients = [keyed_client(app, services.api_keys.create(name=f"k{n}", agencies=["jc-justice"], forms=["*"], now=services.now())[1])
               for n in range(2)]
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(lambda c: c.post(f"/api/v1/cases/{case['id']}/decision", json={"decision": "grant"}).status_code, clients))
    assert sorted(answers) == [200, 409]
    after = client.get(f"/api/v1/cases/{case['id']}").json
    assert [h["action"] for h in after["history"]].count("decision") == 1
    assert len([d for d in after["deadlines"] if d["kind"] == "credit_report"]) == 1


def test_every_step_and_a_missed_deadline_are_case_events_signed_like_document_events(app, services, client):
    from service.webhooks.delivery import Deliverer

    from .test_webhooks import Receiver, deliver_all, fast, subscribe

    item = catalog_use.add_item(services, OPERATOR, "jc-justice", item_data())
    with Receiver() as receiver:
        subscribe(client, receiver, ["case.*"])
        case = open_case(client, item.id, channel="online", received_on="2026-09-30")
        step(client, case["id"], "credit-check", result="good", source="信用中国网站查询")
        procedure.announce_missed_deadlines(services)  # the letter was due on 2026-10-10
        assert deliver_all(Deliverer(services, fast())) == 3
    assert all(r.verified for r in receiver.received)
    events = {e["type"]: e for e in receiver.events()}
    assert sorted(events) == ["case.created", "case.credit_checked", "case.deadline_missed"]
    checked, missed = events["case.credit_checked"]["data"], events["case.deadline_missed"]["data"]
    assert checked["case"]["state"] == "credit_checked" and checked["case"]["number"] == case["number"]
    assert missed["deadline"]["kind"] == "letter" and missed["deadline"]["due_on"] == "2026-10-10"
    assert APPLICANT["id_number"] not in json_dump(events) and APPLICANT["name"] not in json_dump(events)


def json_dump(value) -> str:
    import json

    return json.dumps(value, ensure_ascii=False)


ENTERPRISE = {"type": "organisation", "name": "晋城市恒达物流有限公司", "id_type": "统一社会信用代码", "id_number": "91140500MA0K7D3N2T",
              "phone": "13903568821", "legal_representative": "王志强"}


def test_a_permit_is_decided_on_the_spot_once_its_letter_is_signed(app, services, client, anonymous):
    permit = sample("business-permit-commitment")
    item = catalog_use.add_item(services, OPERATOR, "jc-justice", item_data(
        "onsite", kind="permit", name="道路货物运输经营许可", matter="道路货物运输经营许可", purpose="",
        basis={"law": "《中华人民共和国道路运输条例》", "article": "第二十一条"}, conditions=permit["permit_conditions"],
        materials=permit["required_materials"], requester="", issuer="", verification={"method": "onsite", "days": 40}))
    assert client.post("/api/v1/cases", json={"agency": "jc-justice", "items": [item.id], "applicant": APPLICANT, "channel": "window",
                                              "received_on": "2026-11-02", "commitment_type": "proof"}).status_code == 422
    case = open_case(client, item.id, applicant={**ENTERPRISE}, commitment_type="permit")
    step(client, case["id"], "credit-check", result="good", source="纳税信用联合激励卡")
    letter = step(client, case["id"], "documents", 201, form="business-permit-commitment")["document"]
    assert services.registry.get(letter["id"]).data["applicant"]["credit_code"] == ENTERPRISE["id_number"]
    for party, suffix in (("applicant", ENTERPRISE["id_number"][-6:]), ("legal_representative", None)):
        link = link_for(client, letter["id"], party=party)
        body = {"code": link["code"], **({"id_suffix": suffix} if suffix else {})}
        assert sign_link(anonymous, link["token"], **body).status_code == 200
    clerk, token, password = staff(app, services)
    assert sign(clerk, token, letter["id"], "handler", password).status_code == 200
    committed = client.get(f"/api/v1/cases/{case['id']}").json
    decision = next(d for d in committed["deadlines"] if d["kind"] == "decision")
    assert committed["state"] == "committed" and decision["due_on"] == services.now().date().isoformat()
    assert "当场作出行政许可决定" in decision["source"]
    decided = step(client, case["id"], "decision", decision="grant")
    assert next(d for d in decided["deadlines"] if d["kind"] == "decision")["done_on"] == services.now().date().isoformat()
    onsite = step(client, case["id"], "documents", 201, form="onsite-verification", data={
        "items": [{"name": "道路货物运输经营许可", "conforms": False}], "record": "现场仅见2辆营运车辆，与承诺的5辆不符。",
        "days": 10, "submit_to": "晋城市司法局"})["document"]
    rectifying = step(client, case["id"], "verification-result", result="rectify")
    rectification = next(d for d in rectifying["deadlines"] if d["kind"] == "rectification")
    record_date = dt.date.fromisoformat(services.registry.get(onsite["id"]).data["record_date"])
    assert rectification["due_on"] == add_working_days(record_date, 10)[0].isoformat() and rectification["ref"] == onsite["id"]


def test_a_retried_case_with_its_idempotency_key_is_opened_once(app, services, client, item):
    import concurrent.futures

    body = {"agency": "jc-justice", "items": [item.id], "applicant": APPLICANT, "channel": "online", "received_on": "2026-11-02",
            "commitment_type": "proof"}
    clients = [keyed_client(app, client.environ_base["HTTP_AUTHORIZATION"].removeprefix("Bearer ")) for _ in range(6)]
    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(lambda c: c.post("/api/v1/cases", json=body, headers={"Idempotency-Key": "case-42"}), clients))
    assert {a.status_code for a in answers} == {201} and len({a.json["id"] for a in answers}) == 1
    assert sorted(a.headers.get("Idempotent-Replayed", "") for a in answers) == [""] + ["true"] * 5
    assert client.get("/api/v1/cases").json["total"] == 1
    other = client.post("/api/v1/cases", json={**body, "channel": "mail"}, headers={"Idempotency-Key": "case-42"})
    assert other.status_code == 409 and other.json["error"] == "idempotency_key_reused"
    assert len([e for e in services.audit.about(f"case:{answers[0].json['id']}") if e.action == "case.created"]) == 1


def test_a_bad_idempotency_key_is_a_400(client, item):
    body = {"agency": "jc-justice", "items": [item.id], "applicant": APPLICANT, "channel": "online", "received_on": "2026-11-02",
            "commitment_type": "proof"}
    assert client.post("/api/v1/cases", json=body, headers={"Idempotency-Key": "x" * 201}).status_code == 400


def test_a_retried_step_with_its_idempotency_key_is_taken_once(app, services, client, anonymous, item):
    case = committed_case(app, services, client, anonymous, item.id)
    first = client.post(f"/api/v1/cases/{case['id']}/decision", json={"decision": "grant"}, headers={"Idempotency-Key": "d-1"})
    again = client.post(f"/api/v1/cases/{case['id']}/decision", json={"decision": "grant"}, headers={"Idempotency-Key": "d-1"})
    assert (first.status_code, again.status_code) == (200, 200) and again.json["state"] == "decided"
    assert [h["action"] for h in again.json["history"]].count("decision") == 1 and "request_keys" not in again.json["facts"]
    other = client.post(f"/api/v1/cases/{case['id']}/decision", json={"decision": "refuse", "reason": "x"}, headers={"Idempotency-Key": "d-1"})
    assert other.status_code == 409 and other.json["error"] == "idempotency_key_reused"
    assert client.post(f"/api/v1/cases/{case['id']}/decision", json={"decision": "grant"}).status_code == 409  # no key: the state says no


def test_a_case_idempotency_key_expires_after_its_time(services, client, item):
    body = {"agency": "jc-justice", "items": [item.id], "applicant": APPLICANT, "channel": "online", "received_on": "2026-11-02",
            "commitment_type": "proof"}
    first = client.post("/api/v1/cases", json=body, headers={"Idempotency-Key": "case-old"}).json
    real = services.clock
    try:
        services.clock = lambda: real() + dt.timedelta(hours=25)
        again = client.post("/api/v1/cases", json={**body, "channel": "mail"}, headers={"Idempotency-Key": "case-old"})
    finally:
        services.clock = real
    assert again.status_code == 201 and again.json["id"] != first["id"] and "Idempotent-Replayed" not in again.headers


def test_nodes_with_one_id_hash_key_find_the_same_applicant(tmp_path, pool, sandbox):
    from service.cases.applicants import identity_key
    from service.config import load_settings
    from service.errors import ConfigurationError
    from service.runtime import build_services

    from .test_cases import APPLICANT as applicant

    key = "ab" * 32
    keys = []
    for n in range(2):
        settings = load_settings(environ={"CHENGNUO_DATA_DIR": str(tmp_path / f"node{n}"), "CHENGNUO_ID_HASH_KEY": key})
        services = build_services(settings, converter=pool, sandbox=sandbox)
        keys.append(identity_key(services.persons.id_hash, applicant))
        services.instances.close()
    assert keys[0] == keys[1]
    alone = build_services(load_settings(environ={"CHENGNUO_DATA_DIR": str(tmp_path / "alone")}), converter=pool, sandbox=sandbox)
    assert identity_key(alone.persons.id_hash, applicant) != keys[0]  # its own data folder's key: another record
    alone.instances.close()
    with pytest.raises(ConfigurationError, match="CHENGNUO_ID_HASH_KEY"):
        load_settings(environ={"CHENGNUO_ID_HASH_KEY": "not-hex"})
