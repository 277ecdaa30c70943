"""The assistance pages: the agency asked sees the request in its list and answers it on the page; the asking case
page shows the finding; an outside agency's reply is recorded on the page. In Chromium, axe finds nothing on the
list and the request page, on a desktop and on a 360-px phone."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from service import admin
from service.auth.principal import OPERATOR

from .test_assistance import decided_case_asking
from .test_browser import CHROMIUM, accessible, browser, live, screens, sign_in  # noqa: F401 (fixtures)
from .test_cases import step
from .test_party_signing import signed_in_as


def csrf(client) -> str:
    with client.session_transaction() as session:
        return session["csrf"]


def test_the_agency_asked_answers_on_the_page_and_the_asking_case_shows_the_finding(app, services, client, anonymous):
    case = decided_case_asking(app, services, client, anonymous, "晋城市市场监督管理局")
    step(client, case["id"], "documents", 201, form="assistance-request-written")
    _, password = admin.add_user(services, OPERATOR, "niu", "clerk", "jc-market", "牛丽萍")
    clerk, token = signed_in_as(app, "niu", password)
    listing = clerk.get("/assistance?state=open").get_data(as_text=True)
    request_id = re.search(r'href="/assistance/([0-9a-f-]{36})"', listing).group(1)
    page = clerk.get(f"/assistance/{request_id}").get_data(as_text=True)
    assert "出具行政协助回复函" in page and "晋城市司法局" in page and "/cases/" not in page  # the asking case stays the asker's
    refused = clerk.post(f"/assistance/{request_id}/reply", data={"csrf_token": token, "finding": "cannot_assist"})
    assert refused.status_code == 422 and "须书面说明理由" in refused.get_data(as_text=True)
    done = clerk.post(f"/assistance/{request_id}/reply", data={"csrf_token": token, "finding": "true"})
    assert done.status_code == 302, done.get_data(as_text=True)
    answered = clerk.get(done.headers["Location"]).get_data(as_text=True)
    assert "已登记答复" in answered and "晋市监函字" in answered
    _, asker_password = admin.add_user(services, OPERATOR, "guo", "clerk", "jc-justice", "郭文斌")
    asker, _ = signed_in_as(app, "guo", asker_password)
    case_page = asker.get(f"/cases/{case['id']}").get_data(as_text=True)
    assert "行政协助" in case_page and "真实" in case_page and "晋市监函字" in case_page
    assert asker.get("/assistance").status_code == 200 and request_id not in asker.get("/assistance").get_data(as_text=True)


def test_an_outside_reply_is_recorded_on_the_page(app, services, client, anonymous):
    case = decided_case_asking(app, services, client, anonymous, "晋城市民政局")
    step(client, case["id"], "documents", 201, form="assistance-request-written")
    request_id = client.get(f"/api/v1/cases/{case['id']}").json["assistance"][0]["id"]
    _, password = admin.add_user(services, OPERATOR, "guo", "clerk", "jc-justice", "郭文斌")
    asker, token = signed_in_as(app, "guo", password)
    page = asker.get(f"/assistance/{request_id}").get_data(as_text=True)
    assert "登记对方的书面答复" in page and 'enctype="multipart/form-data"' in page
    done = asker.post(f"/assistance/{request_id}/external-reply", content_type="multipart/form-data",
                      data={"csrf_token": token, "finding": "false", "reply_number": "晋市民函字〔2026〕12号"})
    assert done.status_code == 302, done.get_data(as_text=True)
    assert client.get(f"/api/v1/cases/{case['id']}").json["assistance"][0]["finding"] == "false"


pytestmark_browser = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed (make test installs it)")


@pytestmark_browser
@pytest.mark.parametrize("viewport", [{"width": 1280, "height": 900}, {"width": 360, "height": 740}], ids=["desktop", "phone"])
def test_the_assistance_pages_pass_axe(browser, live, app, services, screens, viewport, client, anonymous):  # noqa: F811
    case = decided_case_asking(app, services, client, anonymous, "晋城市市场监督管理局")
    step(client, case["id"], "documents", 201, form="assistance-request-written")
    _, password = admin.add_user(services, OPERATOR, "niu", "clerk", "jc-market", "牛丽萍")
    page = browser.new_context(viewport=viewport).new_page()
    sign_in(page, live, "niu", password)
    page.get_by_role("link", name="行政协助", exact=True).click()
    page.wait_for_url(f"{live['url']}/assistance")
    accessible(page, f"assistance-list-{viewport['width']}")
    page.locator("table a").first.click()
    page.wait_for_selector("#answer-reply")
    accessible(page, f"assistance-request-{viewport['width']}")
    page.locator("#s-reply-finding").select_option("true")
    page.get_by_role("button", name="提交 / Submit").click()
    page.wait_for_selector("text=已登记答复")
    accessible(page, f"assistance-answered-{viewport['width']}")
    assert page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth") <= 1
