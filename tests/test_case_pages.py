"""The case pages through the test client: a clerk opens a case on the page (errors beside their fields), takes its
steps on the case page (a stale page gets the state named), issues the letter from the paper the case fills, and
reads the agency's deadlines; an administrator sees the applicant masked and no step forms."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from service.auth.principal import OPERATOR
from service.cases import catalog_use

from . import pdfcheck
from .conftest import service_today
from .test_cases import APPLICANT, item_data
from .test_pages import signed_in


@pytest.fixture
def item(services):
    return catalog_use.add_item(services, OPERATOR, "jc-justice", item_data())


def case_form(item_id, **changes):
    form = {"items": [item_id], "applicant.type": "person", "applicant.name": APPLICANT["name"], "applicant.id_type": APPLICANT["id_type"],
            "applicant.id_number": APPLICANT["id_number"], "applicant.phone": APPLICANT["phone"], "channel": "window",
            "received_on": service_today().isoformat(), "commitment_type": "proof", "_action": "create"}
    return {**form, **changes}


def open_case(client, token, item_id, **changes):
    response = client.post("/cases/new", data={**case_form(item_id, **changes), "csrf_token": token})
    assert response.status_code == 302, response.get_data(as_text=True)
    match = re.fullmatch(r"/cases/([0-9a-f-]+)\?created=1", response.headers["Location"])
    assert match, response.headers["Location"]
    return match.group(1)


def text(response) -> str:
    return response.get_data(as_text=True)


def test_the_case_pages_need_a_session_and_posts_need_the_csrf_token(app, services, anonymous, item):
    assert anonymous.get("/cases").headers["Location"].startswith("/login?next=/cases")
    assert anonymous.get("/deadlines").status_code == 302
    client, _ = signed_in(app, services)
    assert client.post("/cases/new", data=case_form(item.id)).status_code == 403
    assert client.get("/cases").status_code == 200


def test_a_bad_id_number_is_shown_beside_its_field_and_nothing_is_opened(app, services, item):
    client, token = signed_in(app, services)
    page = client.get("/cases/new")
    assert page.status_code == 200
    html = text(page)
    assert item.name in html and f'value="{service_today().isoformat()}"' in html  # received today by default
    response = client.post("/cases/new", data={**case_form(item.id, **{"applicant.id_number": "140525197903041628"}), "csrf_token": token})
    assert response.status_code == 422
    html = text(response)
    assert '<p class="error" id="f-applicant-id_number-error">居民身份证号码校验位不正确 / the check digit' in html
    assert 'aria-describedby="f-applicant-id_number-hint f-applicant-id_number-error"' in html
    assert 'value="140525197903041628"' in html and 'value="陈秀兰"' in html  # what was typed is kept
    assert f'value="{item.id}" style="width:auto" checked' in html
    assert "共 0 件" in text(client.get("/cases"))


def test_an_item_left_out_and_a_tolerance_without_materials_are_named(app, services, item):
    client, token = signed_in(app, services)
    response = client.post("/cases/new", data={**case_form(item.id, items=[]), "csrf_token": token})
    assert response.status_code == 422
    html = text(response)
    assert 'id="f-items-error"' in html and 'href="#f-items"' in html
    response = client.post("/cases/new", data={**case_form(item.id, commitment_type="credit_tolerance"), "csrf_token": token})
    assert response.status_code == 422
    html = text(response)
    assert 'id="f-tolerance-error"' in html and "容缺受理须写明缺乏的材料和补正时限" in html


def test_a_good_case_goes_to_its_page_with_the_applicant_whole_for_its_clerk(app, services, item):
    client, token = signed_in(app, services)
    case_id = open_case(client, token, item.id, channel="mail")
    html = text(client.get(f"/cases/{case_id}?created=1"))
    case = services.cases.get(case_id)
    assert case.number in html and "已受理" in html and "信函/邮寄" in html
    assert APPLICANT["id_number"] in html and APPLICANT["phone"] in html
    assert f'/catalog/items/{item.id}?version=1' in html and "事项目录第 1 版" in html
    assert 'href="#step-credit-check"' in html and 'id="step-credit-check"' in html  # the next action, as one button
    assert "送达告知承诺书" in html and "四(三)3" in html  # the letter's deadline with its source
    listed = text(client.get("/cases?q=陈秀兰"))
    assert "共 1 件" in listed and case.number in listed and "已受理" in listed
    assert "共 0 件" in text(client.get("/cases?state=closed"))


def test_step_forms_move_the_case_and_errors_stay_beside_their_field(app, services, item):
    client, token = signed_in(app, services)
    case_id = open_case(client, token, item.id)
    missing = client.post(f"/cases/{case_id}/steps/credit-check", data={"result": "good", "source": "", "csrf_token": token})
    assert missing.status_code == 422
    assert 'id="s-credit-check-source-error">不能为空白' in text(missing)
    assert 'id="s-credit-check-source" name="source" aria-required="true" aria-invalid="true"' in text(missing)
    done = client.post(f"/cases/{case_id}/steps/credit-check", data={"result": "good", "source": "信用中国网站查询", "csrf_token": token})
    assert done.status_code == 302 and done.headers["Location"].startswith(f"/cases/{case_id}?done=credit-check")
    assert services.cases.get(case_id).state == "credit_checked"
    html = text(client.get(done.headers["Location"]))
    assert f'href="/cases/{case_id}/papers/commitment-letter?item={item.id}"' in html  # the letter, from the next-action button
    assert "信用核查" in html and "信用中国网站查询" in html  # on the timeline
    withdrawn = client.post(f"/cases/{case_id}/steps/withdrawal", data={"reason": "申请人选择提交证明材料", "csrf_token": token})
    assert withdrawn.status_code == 302 and services.cases.get(case_id).state == "ordinary"
    refused = client.post(f"/cases/{case_id}/steps/decision", data={"decision": "refuse", "csrf_token": token})
    assert refused.status_code == 422 and 'id="s-decision-reason-error"' in text(refused)
    decided = client.post(f"/cases/{case_id}/steps/decision", data={"decision": "grant", "csrf_token": token})
    assert decided.status_code == 302
    case = services.cases.get(case_id)
    assert (case.state, case.outcome) == ("closed", "ordinary_granted")
    html = text(client.get(f"/cases/{case_id}"))
    assert "已结案" in html and "按一般程序准予" in html and 'action="/cases/' + case_id + '/steps/decision"' not in html


def test_a_stale_step_is_answered_with_the_state_named_not_an_error_page(app, services, item):
    client, token = signed_in(app, services)
    case_id = open_case(client, token, item.id)
    body = {"result": "good", "source": "信用中国网站查询", "csrf_token": token}
    assert client.post(f"/cases/{case_id}/steps/credit-check", data=body).status_code == 302
    stale = client.post(f"/cases/{case_id}/steps/credit-check", data=body)  # the same page, posted again
    assert stale.status_code == 409 and stale.mimetype == "text/html"
    html = text(stale)
    assert "办件当前状态为“信用核查通过”" in html and 'role="alert"' in html
    assert services.cases.get(case_id).state == "credit_checked"


def test_complaints_are_taken_and_resolved_on_the_case_page(app, services, item):
    client, token = signed_in(app, services)
    case_id = open_case(client, token, item.id)
    assert client.post(f"/cases/{case_id}/steps/complaint", data={"summary": "窗口办理拖延", "csrf_token": token}).status_code == 302
    html = text(client.get(f"/cases/{case_id}"))
    assert "投诉举报处理" in html and f'action="/cases/{case_id}/complaints/C1/resolution"' in html
    assert client.post(f"/cases/{case_id}/complaints/C1/resolution", data={"result": "已核实并答复", "csrf_token": token}).status_code == 302
    assert services.cases.get(case_id).facts["complaints"][0]["result"] == "已核实并答复"


def test_an_administrator_sees_the_applicant_masked_and_no_step_forms(app, services, item):
    client, token = signed_in(app, services)
    case_id = open_case(client, token, item.id)
    admin_client, admin_token = signed_in(app, services, role="admin", agency=None)
    html = text(admin_client.get(f"/cases/{case_id}"))
    assert "1405**********1629" in html and "138****2817" in html and "陈*兰" in html
    assert APPLICANT["id_number"] not in html and APPLICANT["phone"] not in html and "陈秀兰" not in html
    assert "<form method=\"post\" action=\"/cases/" not in html and "不能办理" in html
    listed = text(admin_client.get("/cases"))
    assert "陈*兰" in listed and "陈秀兰" not in listed
    refused = admin_client.post(f"/cases/{case_id}/steps/credit-check", data={"result": "good", "source": "x", "csrf_token": admin_token})
    assert refused.status_code == 403 and services.cases.get(case_id).state == "received"


def test_the_paper_shows_what_the_case_fixes_read_only_and_issues_the_letter(app, services, item):
    client, token = signed_in(app, services)
    case_id = open_case(client, token, item.id)
    early = client.get(f"/cases/{case_id}/papers/commitment-letter")
    assert early.status_code == 409 and "已受理" in text(early)  # no letter before the credit check
    client.post(f"/cases/{case_id}/steps/credit-check", data={"result": "good", "source": "信用中国网站查询", "csrf_token": token})
    page = client.get(f"/cases/{case_id}/papers/commitment-letter?item={item.id}")
    assert page.status_code == 200
    html = text(page)
    fixed = html[html.index('<dl id="fixed"'):html.index("</dl>", html.index('<dl id="fixed"'))]
    assert "设定证明的依据" in fixed and "《中华人民共和国法律援助法》第四十一条" in fixed and "陈秀兰" in fixed
    assert 'name="legal_basis"' not in html and 'name="applicant.name"' not in html  # read-only: not a field
    assert 'name="conditions_met.0"' in html and 'name="sign_date"' in html  # the defaults, editable
    form = {"conditions_met.0": "本人为晋城市城区城市居民最低生活保障对象", "sign_date": service_today().isoformat(),
            "_item": item.id, "_action": "issue", "csrf_token": token}
    issued = client.post(f"/cases/{case_id}/papers/commitment-letter", data=form)
    assert issued.status_code == 302, text(issued)
    assert issued.headers["Location"].startswith(f"/cases/{case_id}?issued=")
    case = services.cases.get(case_id)
    assert case.state == "notified"
    letter = services.cases.documents(case_id)[0]
    assert letter.data["legal_basis"].startswith("《中华人民共和国法律援助法》第四十一条")
    assert letter.data["conditions_met"] == ["本人为晋城市城区城市居民最低生活保障对象"]
    html = text(client.get(issued.headers["Location"]))
    assert letter.serial in html and f'href="/documents/{letter.id}"' in html and f'href="/v/{letter.serial}"' in html
    assert "申请人签名：待签署" in html and "有效，待签署" in html
    assert f'<a class="button" href="/documents/{letter.id}">请申请人签署告知承诺书' in html  # the next action opens the signing


def test_a_paper_previews_as_an_unnumbered_draft_with_what_the_case_fixes(app, services, item):
    client, token = signed_in(app, services)
    case_id = open_case(client, token, item.id)
    client.post(f"/cases/{case_id}/steps/credit-check", data={"result": "good", "source": "信用中国网站查询", "csrf_token": token})
    response = client.post(f"/cases/{case_id}/papers/commitment-letter",
                           data={"conditions_met.0": "本人家庭人均月收入低于最低生活保障标准", "_item": item.id, "_action": "preview", "csrf_token": token})
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    words = pdfcheck.text(response.data).replace(" ", "")
    assert "样稿" in words and "《中华人民共和国法律援助法》第四十一条" in words and "本人家庭人均月收入低于最低生活保障标准" in words
    assert services.cases.get(case_id).state == "credit_checked" and services.cases.documents(case_id) == []
    assert client.post(f"/cases/{case_id}/steps/no-such-step", data={"csrf_token": token}).status_code == 404


def test_a_paper_field_the_clerk_must_fill_is_refused_beside_it(app, services, item):
    client, token = signed_in(app, services)
    case_id = open_case(client, token, item.id)
    client.post(f"/cases/{case_id}/steps/credit-check", data={"result": "good", "source": "信用中国网站查询", "csrf_token": token})
    response = client.post(f"/cases/{case_id}/papers/commitment-letter",
                           data={"sign_date": "2026-02-30", "conditions_met.0": "x", "_item": item.id, "_action": "issue", "csrf_token": token})
    assert response.status_code == 422 and 'id="f-sign_date-error"' in text(response)
    assert services.cases.get(case_id).state == "credit_checked" and services.cases.documents(case_id) == []


def test_the_deadlines_page_lists_the_overdue_and_the_due_soon(app, services, item):
    client, token = signed_in(app, services)
    late = open_case(client, token, item.id, channel="mail", received_on=(service_today() - dt.timedelta(days=30)).isoformat())
    fresh = open_case(client, token, item.id, channel="online")
    html = text(client.get("/deadlines?within=10"))
    overdue = html[html.index('id="overdue"'):html.index('id="due-soon"')]
    soon = html[html.index('id="due-soon"'):]
    assert services.cases.get(late).number in overdue and "已逾期" in overdue and "送达告知承诺书" in overdue
    assert services.cases.get(fresh).number in soon and services.cases.get(late).number not in soon
    assert f'href="/cases/{late}"' in overdue and "四(三)3" in overdue
    listed = text(client.get("/cases?overdue=true"))
    assert "共 1 件" in listed and services.cases.get(late).number in listed and "已逾期" in listed
    bad = client.get("/deadlines?within=9999")
    assert bad.status_code == 400 and 'id="within-error"' in text(bad)
    assert client.get("/cases?from=2026-13-01").status_code == 400


def test_a_case_opened_on_the_page_is_the_apis_case_recorded_as_its_clerks(app, services, item, client):
    """The page calls the same use case as the API: the API reads the case whole, with its clerk in the history."""
    clerk, token = signed_in(app, services)
    case_id = open_case(clerk, token, item.id)
    case = client.get(f"/api/v1/cases/{case_id}").json
    assert {k: case["applicant"][k] for k in APPLICANT} == APPLICANT
    assert [h["action"] for h in case["history"]] == ["created"] and case["history"][0]["actor"].startswith("user:clerk")
