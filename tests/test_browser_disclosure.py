"""The public disclosure page (承诺公示) in Chromium, with nobody signed in: an entry (one later found false, so its mark
is checked too), the search narrowed by agency, and a bad parameter named. axe-core finds nothing on a desktop and on a
360-px phone, and nothing scrolls sideways. Screenshots go to test-artifacts/screens/."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.auth.principal import OPERATOR
from service.cases import catalog_use

from .test_browser import CHROMIUM, accessible, browser, live, screens  # noqa: F401 (fixtures)
from .test_cases import item_data, step
from .test_disclosure import decided_case

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed (make test installs it)")

VIEWPORTS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 360, "height": 740}}


def check(page, screens, name: str) -> None:  # noqa: F811 (screens is the fixture's folder)
    page.screenshot(path=str(screens / f"disclosure-{name}.png"), full_page=True)
    accessible(page, name)
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 1, (name, overflow)


@pytest.fixture
def published(app, services, client, anonymous):
    """A commitment decided, then found false and the decision revoked: still shown, marked."""
    item = catalog_use.add_item(services, OPERATOR, "jc-justice", item_data())
    case = decided_case(app, services, client, anonymous, item.id)
    step(client, case["id"], "documents", 201, form="assistance-request-written")
    step(client, case["id"], "verification-result", result="false")
    step(client, case["id"], "close", outcome="revoked", reason="隐瞒收入")
    return item


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_the_disclosure_page_reads_and_passes_axe(browser, live, published, screens, viewport):  # noqa: F811
    page = browser.new_context(viewport=VIEWPORTS[viewport]).new_page()
    page.goto(f"{live['url']}/gongshi")
    entry = page.locator("article").first
    assert "陈*兰" in entry.inner_text() and "1405**********1629" in entry.inner_text()
    assert "经核查承诺不实，已撤销行政决定" in entry.inner_text()
    check(page, screens, f"list-{viewport}")

    page.locator("#agency").select_option("jc-justice")
    page.locator("#item").select_option(published.id)
    page.get_by_role("button", name="查找 / Search").click()
    page.wait_for_url(f"**/gongshi?agency=jc-justice&item={published.id}*")
    assert page.locator("article").count() == 1

    with page.expect_navigation():
        entry_link = page.get_by_role("link", name="核验承诺书", exact=False).first
        entry_link.click()
    assert "文书登记信息" in page.locator("h1").inner_text()

    page.goto(f"{live['url']}/gongshi?from=2026-13-01&page=0")
    alert = page.get_by_role("alert")
    assert "决定日期自" in alert.inner_text() and "页码" in alert.inner_text()
    check(page, screens, f"error-{viewport}")
