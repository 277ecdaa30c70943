"""The case pages in Chromium: a clerk opens a case (a bad ID number refused beside its field first), records the
credit check, opens the letter from the next-action button, issues it and finds it on the case page; the agency's
deadlines. axe-core checks every page, on a desktop and on a 360-px phone. Screenshots go to test-artifacts/screens/."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from service.auth.principal import OPERATOR
from service.cases import catalog_use, inputs, opening

from .conftest import service_today
from .test_browser import CHROMIUM, accessible, browser, live, screens, sign_in  # noqa: F401 (fixtures)
from .test_cases import APPLICANT, item_data

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed (make test installs it)")

VIEWPORTS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 360, "height": 740}}


def check(page, screens, name: str) -> None:  # noqa: F811 (screens is the fixture's folder)
    """axe finds nothing, and nothing makes the page scroll sideways."""
    page.screenshot(path=str(screens / f"cases-{name}.png"), full_page=True)
    accessible(page, name)
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 1, (name, overflow)


def late_case(services, item_id: str) -> str:
    """A mail case received a month ago whose letter was never sent: overdue."""
    received = (service_today() - dt.timedelta(days=30)).isoformat()
    data = inputs.parse(inputs.CaseCreateSchema, {"agency": "jc-justice", "items": [item_id], "applicant": {**APPLICANT, "name": "王建军",
                        "id_number": "140502198811230019"}, "channel": "mail", "received_on": received, "commitment_type": "proof"})
    return opening.create_case(services, OPERATOR, data).number


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_a_clerk_opens_a_case_checks_credit_and_issues_its_letter(browser, live, services, screens, viewport):  # noqa: F811
    item = catalog_use.add_item(services, OPERATOR, "jc-justice", item_data())
    overdue = late_case(services, item.id)
    context = browser.new_context(viewport=VIEWPORTS[viewport])
    page = context.new_page()
    sign_in(page, live, "zhang", live["clerk"])
    page.get_by_role("link", name="办件", exact=True).click()
    page.wait_for_url(f"{live['url']}/cases")
    assert "已逾期" in page.locator("#case-rows").inner_text()
    check(page, screens, f"list-{viewport}")

    page.get_by_role("link", name="新办件 / New case").click()
    page.wait_for_url(f"{live['url']}/cases/new")
    check(page, screens, f"new-{viewport}")
    page.get_by_label(item.name).check()
    page.locator("#f-applicant-type").select_option("person")
    page.locator("#f-applicant-name").fill(APPLICANT["name"])
    page.locator("#f-applicant-id_type").select_option(APPLICANT["id_type"])
    page.locator("#f-applicant-id_number").fill("140525197903041628")  # a wrong check digit
    page.locator("#f-applicant-phone").fill(APPLICANT["phone"])
    page.locator("#f-channel").select_option("mail")
    page.locator("#f-commitment_type").select_option("proof")
    page.get_by_role("button", name="受理 / Open the case").click()
    page.wait_for_selector("#form-message")
    assert "校验位不正确" in page.locator("#f-applicant-id_number-error").inner_text()
    assert page.locator("#f-applicant-name").input_value() == APPLICANT["name"]  # what was typed is kept
    check(page, screens, f"new-error-{viewport}")
    page.locator("#f-applicant-id_number").fill(APPLICANT["id_number"])
    page.get_by_role("button", name="受理 / Open the case").click()
    page.wait_for_url(re.compile(r"/cases/[0-9a-f-]+\?created=1$"))
    assert "已受理" in page.locator("h1").inner_text()
    assert APPLICANT["id_number"] in page.locator("#applicant").inner_text()
    check(page, screens, f"case-received-{viewport}")

    page.get_by_role("link", name="记录信用核查结果 / record the credit check").click()
    page.locator("#s-credit-check-result").select_option("good")
    page.locator("#s-credit-check-source").fill("信用中国网站查询")
    page.get_by_role("button", name="提交：信用核查 / Submit").click()
    page.wait_for_url(re.compile(r"\?done=credit-check"))
    assert "信用核查通过" in page.locator("h1").inner_text()
    check(page, screens, f"case-checked-{viewport}")

    page.get_by_role("link", name=re.compile("^发出告知承诺书：申请人经济困难状况证明")).click()
    page.wait_for_url(re.compile(r"/papers/commitment-letter\?item="))
    fixed = page.locator("#fixed").inner_text()
    assert "《中华人民共和国法律援助法》第四十一条" in fixed and APPLICANT["name"] in fixed
    assert page.locator("[name=legal_basis]").count() == 0  # the case's and the catalogue's values are read only
    check(page, screens, f"paper-{viewport}")
    page.get_by_role("button", name="签发并盖章 / Issue and seal").click()
    page.wait_for_url(re.compile(r"\?issued=[0-9a-f-]+#documents$"))
    assert "已告知" in page.locator("h1").inner_text()
    documents = page.locator("#documents + table").inner_text()
    assert "证明事项告知承诺书" in documents and "有效，待签署" in documents and "申请人签名：待签署" in documents
    check(page, screens, f"case-notified-{viewport}")
    page.get_by_role("link", name="请申请人签署告知承诺书 / have the applicant sign the letter", exact=False).click()
    page.wait_for_url(re.compile(r"/documents/[0-9a-f-]+$"))
    assert page.get_by_role("button", name="打开签署屏 / Open the signing screen").count() == 1  # the signing starts there

    page.goto(f"{live['url']}/deadlines")
    assert overdue in page.locator("#overdue + table").inner_text()
    check(page, screens, f"deadlines-{viewport}")
    context.close()


def test_a_case_is_opened_and_checked_without_javascript(browser, live, services):  # noqa: F811
    item = catalog_use.add_item(services, OPERATOR, "jc-justice", item_data())
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    sign_in(page, live, "zhang", live["clerk"])
    page.goto(f"{live['url']}/cases/new")
    page.get_by_label(item.name).check()
    page.locator("#f-applicant-type").select_option("person")
    page.locator("#f-applicant-name").fill(APPLICANT["name"])
    page.locator("#f-applicant-id_type").select_option(APPLICANT["id_type"])
    page.locator("#f-applicant-id_number").fill(APPLICANT["id_number"])
    page.locator("#f-applicant-phone").fill(APPLICANT["phone"])
    page.locator("#f-channel").select_option("window")
    page.locator("#f-commitment_type").select_option("credit_tolerance")
    page.get_by_role("button", name="增加一项：缺乏的材料").click()  # the server adds the row
    page.locator("#f-tolerance-missing_materials-0").fill("申请人户籍所在地民政部门出具的经济困难证明")
    page.locator("#f-tolerance-missing_materials-1").fill("申请人的收入证明")
    page.locator("#f-tolerance-supply_by").fill((service_today() + dt.timedelta(days=10)).isoformat())
    page.get_by_role("button", name="受理 / Open the case").click()
    page.wait_for_url(re.compile(r"/cases/[0-9a-f-]+\?created=1$"))
    assert "容缺材料补正" in page.locator("#deadlines + table").inner_text()
    page.get_by_role("link", name="记录信用核查结果 / record the credit check").click()
    page.locator("#s-credit-check-result").select_option("good")
    page.locator("#s-credit-check-source").fill("纳税信用联合激励卡")
    page.get_by_role("button", name="提交：信用核查 / Submit").click()
    page.wait_for_url(re.compile(r"\?done=credit-check"))
    assert "信用核查通过" in page.locator("h1").inner_text()
    context.close()
