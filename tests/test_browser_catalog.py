"""The catalogue's pages in Chromium: a supervisor imports a CSV (a dry run, then for real), reads the row report with
the excluded item refused, fixes an item's field on its page, and prints the catalogue. axe-core checks every page,
on a desktop and on a 360-px phone. Screenshots go to test-artifacts/screens/."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from .conftest import ROOT, SAMPLES
from .test_browser import CHROMIUM, accessible, browser, live, screens, sign_in  # noqa: F401 (fixtures)

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed (make test installs it)")

EXCLUDED = ROOT / "tests" / "fixtures" / "catalog-excluded.csv"
VIEWPORTS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 360, "height": 740}}


def fits_the_width(page, what: str) -> None:
    """Nothing makes the page scroll sideways."""
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 1, (what, overflow)


def check(page, screens, name: str) -> None:  # noqa: F811 (the fixture, passed on)
    page.screenshot(path=str(screens / f"catalog-{name}.png"), full_page=True)
    accessible(page, name)
    fits_the_width(page, name)


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_a_supervisor_imports_reads_the_report_edits_an_item_and_prints(browser, live, screens, viewport):  # noqa: F811
    context = browser.new_context(viewport=VIEWPORTS[viewport], accept_downloads=True)
    page = context.new_page()
    sign_in(page, live, "li", live["supervisor"])
    page.get_by_role("link", name="事项目录").click()
    page.wait_for_url(f"{live['url']}/catalog")
    check(page, screens, f"empty-{viewport}")

    page.get_by_role("link", name="导入 CSV/XLSX / Import").click()
    check(page, screens, f"import-{viewport}")
    page.get_by_label("CSV 或 XLSX 文件 / File").set_input_files(str(EXCLUDED))
    page.get_by_label("仅试导入，不写入 / Dry run").check()
    page.get_by_role("button", name="导入 / Import").click()
    page.wait_for_selector("#import-counts")
    assert "拒绝 1" in page.locator("#import-counts").inner_text() and "试导入" in page.locator("h2").first.inner_text()
    check(page, screens, f"import-dry-run-{viewport}")

    page.get_by_label("CSV 或 XLSX 文件 / File").set_input_files(str(EXCLUDED))
    page.get_by_role("button", name="导入 / Import").click()
    page.wait_for_selector("#import-counts")
    assert "新增 2" in page.locator("#import-counts").inner_text()
    refused = page.locator("#import-rows tr.refused")
    assert refused.count() == 1
    text = refused.inner_text()
    assert "第 3 行" in text and "保安员证申请人无犯罪记录证明" in text and "所属领域（area）" in text and "公共安全" in text
    check(page, screens, f"import-report-{viewport}")

    page.get_by_role("link", name="司法鉴定人执业申请人相关工作经历证明").click()
    page.wait_for_url(re.compile(r"/catalog/items/[0-9a-f-]+$"))
    check(page, screens, f"item-{viewport}")
    article = page.locator("#f-basis-article")
    article.fill("第四条")
    page.locator("#f-verification-reply_days").fill("")
    page.locator("#f-verification-agency").fill("")
    page.get_by_role("button", name="保存为第 2 版 / Save").click()
    page.wait_for_selector("#form-message")
    assert page.locator("#f-verification-agency-error").inner_text().startswith("行政协助须写明被请求协助的部门")
    check(page, screens, f"item-errors-{viewport}")
    page.locator("#f-verification-agency").fill("晋城市人力资源和社会保障局")
    page.get_by_role("button", name="保存为第 2 版 / Save").click()
    page.wait_for_url(re.compile(r"\?saved=1"))
    assert "已保存为第 2 版" in page.get_by_role("status").first.inner_text()
    assert "第四条" in page.locator("dl").inner_text()
    page.get_by_role("link", name="第 1 版").click()
    assert "第四条第（二）项" in page.locator("dl").inner_text()
    check(page, screens, f"item-version-1-{viewport}")

    page.goto(f"{live['url']}/catalog/new")
    check(page, screens, f"new-{viewport}")
    page.goto(f"{live['url']}/catalog")
    assert page.locator("tbody tr").count() == 2
    check(page, screens, f"list-{viewport}")
    page.get_by_role("link", name="打印目录 / Print").click()
    check(page, screens, f"print-{viewport}")
    if viewport == "desktop":  # once is enough: the conversion is the same
        with page.expect_download():
            page.get_by_role("button", name="签发并盖章 / Issue and seal").click()
        page.wait_for_url(re.compile(r"/documents/[0-9a-f-]+\?issued=1"))
    context.close()


def test_the_sample_catalogue_reads_on_a_phone(browser, live, screens):  # noqa: F811
    context = browser.new_context(viewport=VIEWPORTS["phone"])
    page = context.new_page()
    sign_in(page, live, "li", live["supervisor"])
    page.goto(f"{live['url']}/catalog/import")
    page.get_by_label("CSV 或 XLSX 文件 / File").set_input_files(str(SAMPLES / "catalog-items.csv"))
    page.get_by_role("button", name="导入 / Import").click()
    page.wait_for_selector("#import-counts")
    assert "新增 6" in page.locator("#import-counts").inner_text()
    page.goto(f"{live['url']}/catalog")
    assert page.locator("tbody tr").count() == 6
    check(page, screens, "sample-list-phone")
    context.close()
