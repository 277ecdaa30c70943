"""Assistance between agencies: a case's request reaches the agency asked when it is on the service, which answers
with its own sealed, numbered reply; an outside agency's reply is recorded (its PDF verified); a visit is recorded.
Real documents throughout (LibreOffice, pyHanko, the development TSA)."""

from __future__ import annotations

import io

from service.auth.principal import OPERATOR
from service.cases import catalog_use
from service.issuing import issue

from . import sigcheck
from .conftest import keyed_client, sample
from .test_cases import APPLICANT, committed_case, item_data, pdf_text, step
from .test_party_signing import nssdb, staff  # noqa: F401 - the NSS database fixture
from .test_webhooks import Receiver, deliver_all, fast, subscribe


def decided_case_asking(app, services, client, anonymous, agency_name, method="assistance"):
    plan = {"method": method, "agency": agency_name, "days": 10, "reply_days": 5}
    item = catalog_use.add_item(services, OPERATOR, "jc-justice", item_data(method, verification=plan))
    case = committed_case(app, services, client, anonymous, item.id)
    step(client, case["id"], "decision", decision="grant")
    return case


def test_an_agency_on_the_service_answers_with_its_own_sealed_numbered_reply_and_the_case_shows_the_finding(
        app, services, client, anonymous, nssdb, tmp_path):  # noqa: F811 - the fixture
    from service.webhooks.delivery import Deliverer

    _, market_key = services.api_keys.create(name="市场监管局案件系统", agencies=["jc-market"], forms=["*"], now=services.now())
    market_system = keyed_client(app, market_key)
    case = decided_case_asking(app, services, client, anonymous, "晋城市市场监督管理局")
    with Receiver() as receiver:
        subscribe(market_system, receiver, ["assistance.*"])
        request = step(client, case["id"], "documents", 201, form="assistance-request-written")["document"]
        assert deliver_all(Deliverer(services, fast())) == 1
    [event] = receiver.events()
    assert event["type"] == "assistance.requested" and event["data"]["assistance"]["to_agency"] == "jc-market"
    assert APPLICANT["name"] not in str(event)

    clerk, token, _ = staff(app, services, agency="jc-market", display_name="牛丽萍")
    incoming = clerk.get("/api/v1/assistance?state=open").json["requests"]
    assert [(r["from_agency"], r["number"], r["request_document_id"]) for r in incoming] == [("jc-justice", request["number"], request["id"])]
    detail = clerk.get(f"/api/v1/assistance/{incoming[0]['id']}").json
    assert detail["reply_fixed"] == {"addressee": "晋城市司法局", "request_date": detail["letter_date"], "applicant": APPLICANT["name"],
                                     "items": sample("commitment-letter")["conditions_met"], "request_number": request["number"]}

    asker, asker_token, _ = staff(app, services, agency="jc-justice")
    refused = asker.post(f"/api/v1/assistance/{incoming[0]['id']}/reply", json={"finding": "true"}, headers={"X-CSRF-Token": asker_token})
    assert refused.status_code == 403  # the agency that asked never answers itself
    answered = clerk.post(f"/api/v1/assistance/{incoming[0]['id']}/reply", json={"finding": "true"}, headers={"X-CSRF-Token": token})
    assert answered.status_code == 201, answered.json
    reply = answered.json["document"]
    year = services.now().year
    assert (reply["agency"], reply["form"], reply["number"]) == ("jc-market", "assistance-reply", f"晋市监函字〔{year}〕1号")
    pdf = clerk.get(f"/api/v1/documents/{reply['id']}/pdf").data
    seal = sigcheck.pdfsig(pdf, nssdb)["agency"]
    assert seal["Signature Validation"] == "Signature is Valid." and "晋城市市场监督管理局" in seal["Signer Certificate Common Name"]
    assert f"根据贵单位行政协助函{request['number']}内容" in pdf_text(pdf, tmp_path).replace(" ", "").replace("\n", "")

    after = client.get(f"/api/v1/cases/{case['id']}").json
    [made] = after["assistance"]
    assert (made["state"], made["finding"], made["reply_number"]) == ("answered", "true", reply["number"])
    assert next(d for d in after["deadlines"] if d["kind"] == "assistance_reply")["done_on"] == services.now().date().isoformat()
    assert "assistance_answered" in [h["action"] for h in after["history"]]
    again = clerk.post(f"/api/v1/assistance/{incoming[0]['id']}/reply", json={"finding": "false"}, headers={"X-CSRF-Token": token})
    assert again.status_code == 409


def test_cannot_assist_needs_a_reason_and_not_ours_names_the_unit_to_ask(app, services, client, anonymous):
    case = decided_case_asking(app, services, client, anonymous, "晋城市市场监督管理局")
    step(client, case["id"], "documents", 201, form="assistance-request-written")
    clerk, token, _ = staff(app, services, agency="jc-market")
    request_id = clerk.get("/api/v1/assistance").json["requests"][0]["id"]
    post = lambda body: clerk.post(f"/api/v1/assistance/{request_id}/reply", json=body, headers={"X-CSRF-Token": token})
    assert "reason" in post({"finding": "cannot_assist"}).json["errors"]
    assert "refer_to" in post({"finding": "not_ours"}).json["errors"]
    answered = post({"finding": "not_ours", "refer_to": "晋城市民政局"})
    assert answered.status_code == 201 and answered.json["request"]["refer_to"] == "晋城市民政局"
    assert services.registry.get(answered.json["document"]["id"]).data["refer_to"] == "晋城市民政局"
    [made] = client.get(f"/api/v1/cases/{case['id']}").json["assistance"]
    assert made["finding"] == "not_ours"


def test_an_outside_agencys_pdf_reply_is_verified_and_kept_with_its_verdict(app, services, client, anonymous):
    case = decided_case_asking(app, services, client, anonymous, "晋城市民政局")
    step(client, case["id"], "documents", 201, form="assistance-request-written")
    [made] = client.get(f"/api/v1/cases/{case['id']}").json["assistance"]
    assert made["to_agency"] is None and client.get("/api/v1/assistance").json["requests"] == []
    paper = issue(services, "assistance-reply", sample("assistance-reply"), principal=OPERATOR, agency_id="jc-justice").document
    pdf = services.files.get(paper.pdf_path)
    recorded = client.post(f"/api/v1/assistance/{made['id']}/external-reply", content_type="multipart/form-data", data={
        "reply_number": "晋市民函字〔2026〕12号", "finding": "false", "file": (io.BytesIO(pdf), "reply.pdf")})
    assert recorded.status_code == 200, recorded.json
    answer = recorded.json["request"]
    assert (answer["finding"], answer["reply_number"], answer["reply_verdict"]["verdict"]) == ("false", "晋市民函字〔2026〕12号", "valid")
    after = client.get(f"/api/v1/cases/{case['id']}").json
    assert after["facts"]["assistance"][made["id"]]["verdict"] == "valid"
    assert next(d for d in after["deadlines"] if d["kind"] == "assistance_reply")["done_on"]
    bad = client.post(f"/api/v1/assistance/{made['id']}/external-reply", content_type="multipart/form-data",
                      data={"reply_number": "x", "finding": "true"})
    assert bad.status_code == 409


def test_a_visit_records_the_two_staff_and_what_they_found(app, services, client, anonymous):
    case = decided_case_asking(app, services, client, anonymous, "泽州县人力资源和社会保障局")
    step(client, case["id"], "documents", 201, form="assistance-request-visit", data={"staff": ["刘建军", "张海燕"]})
    [made] = client.get(f"/api/v1/cases/{case['id']}").json["assistance"]
    assert made["kind"] == "visit"
    visited = client.post(f"/api/v1/assistance/{made['id']}/visit", json={"finding": "true", "outcome": "经查社保缴费记录，与承诺一致。"})
    assert visited.status_code == 200, visited.json
    assert visited.json["request"]["visit"] == {"staff": ["刘建军", "张海燕"], "outcome": "经查社保缴费记录，与承诺一致。"}


def test_a_request_and_a_reply_never_address_the_agency_itself(app, services, client, anonymous):
    case = decided_case_asking(app, services, client, anonymous, "晋城市司法局")
    refused = client.post(f"/api/v1/cases/{case['id']}/documents", json={"form": "assistance-request-written"})
    assert refused.status_code == 422 and "addressee" in refused.json["errors"]
    assert client.get(f"/api/v1/cases/{case['id']}").json["state"] == "decided"
