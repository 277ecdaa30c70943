"""The credit information page in Chromium: a supervisor finds it in the navigation, sees the case whose credit
information is overdue, exports the period as CSV (a bad period first, refused beside its field) and finds the export
listed while the overdue case is gone. axe-core checks the page on a desktop and on a 360-px phone."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import pytest

from service.auth.principal import OPERATOR
from service.cases import catalog_use

from .test_browser import CHROMIUM, accessible, browser, live, screens, sign_in  # noqa: F401 (fixtures)
from .test_cases import item_data
from .test_credit_export import HEADER, committed_case, step

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed (make test installs it)")

VIEWPORTS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 360, "height": 740}}


def check(page, screens, name: str) -> None:  # noqa: F811 (screens is the fixture's folder)
    """axe finds nothing, and nothing makes the page scroll sideways."""
    page.screenshot(path=str(screens / f"credit-{name}.png"), full_page=True)
    accessible(page, name)
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 1, (name, overflow)


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_a_supervisor_exports_the_credit_information_on_the_page(browser, live, app, services, client, anonymous, screens,  # noqa: F811
                                                                 viewport, tmp_path):
    item = catalog_use.add_item(services, OPERATOR, "jc-justice", item_data("exempt", verification={"method": "exempt"}))
    case = committed_case(app, services, client, anonymous, item.id)
    step(client, case["id"], "decision", decision="grant")
    decided = services.now().date()
    real = services.clock
    services.clock = lambda: real() + dt.timedelta(days=30)  # a month on: the 7 working days are long past
    try:
        context = browser.new_context(viewport=VIEWPORTS[viewport], accept_downloads=True)
        page = context.new_page()
        sign_in(page, live, "li", live["supervisor"])
        page.get_by_role("link", name="信用信息", exact=True).click()
        page.wait_for_url(f"{live['url']}/credit")
        assert case["number"] in page.locator("#overdue + table").inner_text()
        check(page, screens, f"page-{viewport}")

        page.locator("#f-from").fill(decided.isoformat())
        page.locator("#f-to").fill((decided - dt.timedelta(days=1)).isoformat())
        page.get_by_role("button", name="导出 / Export").click()
        page.wait_for_selector("#form-message")
        assert "结束日期不能早于开始日期" in page.locator("#f-to-error").inner_text()
        assert page.locator("#f-to").get_attribute("aria-invalid") == "true"
        check(page, screens, f"refused-{viewport}")

        page.locator("#f-to").fill(decided.isoformat())
        page.locator("#f-format").select_option("csv")
        with page.expect_download() as download:
            page.get_by_role("button", name="导出 / Export").click()
        saved = tmp_path / download.value.suggested_filename
        download.value.save_as(saved)
        assert saved.name.startswith("credit-jc-justice-") and saved.suffix == ".csv"
        rows = list(csv.reader(io.StringIO(saved.read_bytes().decode("utf-8-sig"))))
        assert rows[0] == HEADER and [(r[0], r[-1]) for r in rows[1:]] == [("信用承诺信息", case["number"])]

        page.goto(f"{live['url']}/credit")
        assert "没有逾期未归集" in page.locator("#overdue + table").inner_text()
        listed = page.locator("#export-rows").inner_text()
        assert f"{decided} 至 {decided}" in listed and "CSV" in listed
        check(page, screens, f"exported-{viewport}")
        context.close()
    finally:
        services.clock = real
