"""The template pages in Chromium: a supervisor opens 文书模板, downloads the letter's template, uploads one with a
misspelt placeholder (the problem shown by its line), uploads an edited one, reads its warning, looks at the pages
side by side, publishes it after acknowledging the warning, and rolls back. axe-core checks every page, on a desktop
and on a 360-px phone; nothing scrolls sideways. Screenshots go to test-artifacts/screens/."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from .conftest import ROOT
from .test_agency_templates import SENTENCE, edited_letter
from .test_browser import CHROMIUM, accessible, browser, live, screens, sign_in  # noqa: F401 (fixtures)

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed (make test installs it)")

VIEWPORTS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 360, "height": 740}}
REMOVED = "申请人书面承诺已经符合告知的条件、要求，并愿意承担不实承诺的法律责任后，行政机关不再索要有关证明而依据书面承诺办理相关事项。"


def check(page, screens, name: str) -> None:  # noqa: F811 (the fixture, passed on)
    page.screenshot(path=str(screens / f"templates-{name}.png"), full_page=True)
    accessible(page, name)
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 1, (name, overflow)


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_a_supervisor_checks_previews_publishes_and_rolls_back_a_template(browser, live, services, screens, viewport, tmp_path):  # noqa: F811
    builtin = (ROOT / "templates" / "commitment-letter.docx").read_bytes()
    misspelt, edited = tmp_path / "misspelt.docx", tmp_path / "承诺书-本机关.docx"
    misspelt.write_bytes(edited_letter(builtin, add=None, replace={"{{ applicant.name }}": "{{ applicant.nmae }}"}))
    edited.write_bytes(edited_letter(builtin, replace={REMOVED: "申请人书面承诺后，行政机关依据书面承诺办理。"}))

    context = browser.new_context(viewport=VIEWPORTS[viewport], accept_downloads=True)
    page = context.new_page()
    sign_in(page, live, "li", live["supervisor"])
    if viewport == "desktop":
        page.get_by_role("link", name="文书模板").click()
    else:
        page.goto(f"{live['url']}/templates")
    page.wait_for_url(f"{live['url']}/templates")
    check(page, screens, f"list-{viewport}")

    page.get_by_role("link", name="证明事项告知承诺书").click()
    page.wait_for_url(re.compile(r"/templates/commitment-letter\?agency=jc-justice$"))
    assert "内置模板" in page.locator("#template-in-use").inner_text()
    check(page, screens, f"form-{viewport}")
    with page.expect_download() as download:
        page.get_by_role("link", name="下载正在使用的模板 / Template (DOCX)").click()
    assert Path(download.value.path()).read_bytes() == builtin

    page.get_by_label("编辑好的模板 DOCX / Edited template").set_input_files(str(misspelt))
    page.get_by_role("button", name="上传并检查 / Upload and check").click()
    page.wait_for_selector("#template-problems")
    problems = page.locator("#template-problems").inner_text()
    assert "第 6 段" in problems and "applicant.nmae" in problems
    check(page, screens, f"refused-{viewport}")

    page.get_by_label("编辑好的模板 DOCX / Edited template").set_input_files(str(edited))
    page.get_by_role("button", name="上传并检查 / Upload and check").click()
    page.wait_for_url(re.compile(r"/templates/commitment-letter/uploads/[0-9a-f-]+$"), timeout=120_000)
    assert REMOVED[:20] in page.locator("#template-warnings").inner_text()
    for image in page.locator(".compare img").all():
        image.scroll_into_view_if_needed()
        page.wait_for_function("image => image.complete && image.naturalWidth > 0", arg=image.element_handle(), timeout=60_000)
    assert page.locator(".compare img").count() == 2
    check(page, screens, f"upload-{viewport}")
    preview = page.request.get(live["url"] + page.get_by_role("link", name="打开样稿 PDF / Open the preview").get_attribute("href"))
    assert preview.ok and preview.headers["content-type"] == "application/pdf"

    page.get_by_role("button", name=re.compile("发布为第 1 版")).click()
    page.wait_for_selector("#acknowledge-error")
    check(page, screens, f"unacknowledged-{viewport}")
    page.get_by_label("我已阅读上述提示，确认发布 / I have read the warnings above").check()
    page.get_by_role("button", name=re.compile("发布为第 1 版")).click()
    page.wait_for_url(re.compile(r"published=1"))
    assert "本机关第 1 版" in page.locator("#template-in-use").inner_text()
    assert "user:li" in page.locator("#template-versions").inner_text()
    check(page, screens, f"published-{viewport}")
    assert services.templates.current("jc-justice", "commitment-letter").version == 1

    page.get_by_role("button", name="恢复使用内置模板 / Back to the built-in template").click()
    page.wait_for_url(re.compile(r"rolled_back=2"))
    assert "内置模板" in page.locator("#template-in-use").inner_text()
    page.get_by_role("button", name="回退到第 1 版 / Roll back").click()
    page.wait_for_url(re.compile(r"rolled_back=3"))
    assert "本机关第 3 版" in page.locator("#template-in-use").inner_text()
    assert page.locator("#template-versions tbody tr").count() == 3
    check(page, screens, f"rolled-back-{viewport}")
    assert SENTENCE  # the same edit the API tests publish
    context.close()
