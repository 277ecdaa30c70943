"""The statistics page in Chromium: a clerk sees the figures with their charts (inline SVG, drawn and sized), the
charts still there when the page is printed, the CSV downloaded from the page; axe-core finds nothing on a desktop
and on a 360-px phone. The cases are taken through the real use cases. Screenshots go to test-artifacts/screens/."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from service.auth.principal import OPERATOR
from service.cases import catalog_use, inputs, opening, procedure

from .test_browser import CHROMIUM, accessible, browser, live, screens, sign_in  # noqa: F401 (fixtures)
from .test_cases import APPLICANT, item_data

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed (make test installs it)")

VIEWPORTS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 360, "height": 740}}
CHARTS = ("chart-types", "chart-items", "chart-outcomes", "chart-procedure", "chart-reasons", "chart-deadlines", "chart-days")


def some_cases(services) -> None:
    """Three cases of jc-justice received this year: one refused by the ordinary procedure, one withdrawn, one by mail still open."""
    item = catalog_use.add_item(services, OPERATOR, "jc-justice", item_data("exempt", verification={"method": "exempt"}))
    today = services.now().date()
    received = today - dt.timedelta(days=20) if today.timetuple().tm_yday > 20 else today.replace(month=1, day=1)

    def opened(name: str, id_number: str, channel: str = "window") -> str:
        data = inputs.parse(inputs.CaseCreateSchema, {"agency": "jc-justice", "items": [item.id], "applicant": {**APPLICANT, "name": name,
                            "id_number": id_number}, "channel": channel, "received_on": received.isoformat(), "commitment_type": "proof"})
        return opening.create_case(services, OPERATOR, data).id

    refused = opened("王建军", "140502198811230019")
    procedure.credit_check(services, OPERATOR, refused, inputs.parse(inputs.CreditCheckSchema, {"result": "blacklisted", "source": "信用中国网站查询"}))
    procedure.decide(services, OPERATOR, refused, inputs.parse(inputs.DecisionSchema, {"decision": "refuse", "reason": "不符合条件"}))
    withdrawn = opened(APPLICANT["name"], APPLICANT["id_number"])
    procedure.credit_check(services, OPERATOR, withdrawn, inputs.parse(inputs.CreditCheckSchema, {"result": "good", "source": "信用中国网站查询"}))
    procedure.withdraw(services, OPERATOR, withdrawn, inputs.parse(inputs.WithdrawalSchema, {"reason": "申请人选择提交证明材料"}))
    opened("李娜", "140502199001010019", channel="mail")


def charts_drawn(page) -> None:
    for chart in CHARTS:
        box = page.locator(f"svg#{chart}").bounding_box()
        assert box is not None and box["width"] > 250 and box["height"] > 20, (chart, box)  # one bar on a phone is short but there
        assert page.locator(f"svg#{chart} rect").count() >= 2, chart
        assert page.locator(f"svg#{chart} desc").text_content(), chart


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_the_statistics_page_shows_its_charts_prints_them_and_passes_axe(browser, live, services, screens, viewport, tmp_path):  # noqa: F811
    some_cases(services)
    context = browser.new_context(viewport=VIEWPORTS[viewport], accept_downloads=True)
    page = context.new_page()
    sign_in(page, live, "zhang", live["clerk"])
    page.goto(f"{live['url']}/statistics")
    assert "晋城市司法局" in page.locator("h1").inner_text()
    assert "3 件" in page.locator("#summary").inner_text()
    assert page.locator("#table-outcomes").inner_text().count("按一般程序不予") == 1
    charts_drawn(page)
    page.screenshot(path=str(screens / f"statistics-{viewport}.png"), full_page=True)
    accessible(page, f"statistics-{viewport}")
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 1, overflow

    page.emulate_media(media="print")
    charts_drawn(page)
    assert not page.locator("form.filters").is_visible()  # the form is not printed; the figures are
    page.screenshot(path=str(screens / f"statistics-print-{viewport}.png"), full_page=True)
    if viewport == "desktop":
        page.pdf(path=str(tmp_path / "statistics.pdf"))
        assert (tmp_path / "statistics.pdf").stat().st_size > 10_000
    page.emulate_media(media="screen")

    with page.expect_download() as download:
        page.get_by_role("link", name="下载 CSV / Download CSV").click()
    body = Path(download.value.path()).read_bytes().decode("utf-8-sig")
    assert "cases,办件总数,total,办件总数,3" in body

    page.goto(f"{live['url']}/statistics?from=2025-13-01")
    assert page.locator("#from-error").is_visible()
    accessible(page, f"statistics-error-{viewport}")
    context.close()
