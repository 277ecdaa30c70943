"""Bulk issuing in Chromium: a clerk finds 批量签发 in the navigation, downloads a form's template, uploads it filled
in (one row bad), watches the progress bar fill by itself, reads the failed row's reason and downloads the ZIP.
A file with unknown columns is refused beside the file field. axe-core checks every page on a desktop and a phone."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

import pytest

from service.batches.work import start_workers

from .test_browser import CHROMIUM, accessible, browser, live, screens, sign_in  # noqa: F401 (fixtures)

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed (make test installs it)")

VIEWPORTS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 360, "height": 740}}


def check(page, screens, name: str) -> None:  # noqa: F811 (screens is the fixture's folder)
    page.screenshot(path=str(screens / f"batches-{name}.png"), full_page=True)
    accessible(page, name)
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 1, (name, overflow)


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_a_clerk_issues_a_batch_from_the_page_and_watches_it_finish(browser, live, services, screens, viewport, tmp_path):  # noqa: F811
    start_workers(services, 1)
    context = browser.new_context(viewport=VIEWPORTS[viewport], accept_downloads=True)
    page = context.new_page()
    sign_in(page, live, "zhang", live["clerk"])
    if viewport == "desktop":
        page.get_by_role("link", name="批量签发", exact=True).click()
    else:
        page.goto(f"{live['url']}/batches")
    page.wait_for_url(f"{live['url']}/batches")
    check(page, screens, f"list-{viewport}")

    with page.expect_download() as download:
        page.locator('a[href="/api/v1/batches/templates/commitment-letter.csv"]').click()
    template = tmp_path / "template.csv"
    download.value.save_as(template)
    header, example = list(csv.reader(io.StringIO(template.read_text(encoding="utf-8-sig"))))

    bad = tmp_path / "bad.csv"
    bad.write_text("姓名,电话\n张三,1\n", encoding="utf-8")
    page.locator("#f-form").select_option("commitment-letter")
    page.locator("#f-file").set_input_files(str(bad))
    page.get_by_role("button", name="上传并签发 / Upload and issue").click()
    page.wait_for_selector("#form-message")
    assert "未知的列" in page.locator("#f-file-error").inner_text()
    assert page.locator("#f-file").get_attribute("aria-invalid") == "true"
    check(page, screens, f"refused-{viewport}")

    name, phone = header.index("申请人·姓名（applicant.name）"), header.index("申请人·联系方式（applicant.phone）")
    rows = [header]
    for n in range(3):
        row = list(example)
        row[name] = f"页面批量{n}"
        rows.append(row)
    rows[2][phone] = "12"
    good = tmp_path / "名单.csv"
    with good.open("w", encoding="utf-8-sig", newline="") as out:
        csv.writer(out).writerows(rows)
    page.locator("#f-form").select_option("commitment-letter")
    page.locator("#f-file").set_input_files(str(good))
    page.get_by_role("button", name="上传并签发 / Upload and issue").click()
    page.wait_for_url(f"{live['url']}/batches/*")
    check(page, screens, f"progress-{viewport}")
    page.wait_for_function("document.querySelector('#batch-bar').value == document.querySelector('#batch-bar').max", timeout=120_000)
    page.wait_for_selector("text=已完成", timeout=30_000)  # reloaded once finished: the failed rows listed
    assert "第 3 行" in page.locator("#failure-rows").inner_text() and "applicant.phone" in page.locator("#failure-rows").inner_text()
    check(page, screens, f"finished-{viewport}")

    with page.expect_download() as download:
        page.locator("#batch-archive").click()
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    archive = zipfile.ZipFile(saved)
    manifest = list(csv.DictReader(io.StringIO(archive.read("manifest.csv").decode("utf-8-sig"))))
    assert [m["status"] for m in manifest] == ["done", "failed", "done"]
    assert len([n for n in archive.namelist() if n.endswith(".pdf")]) == 2
    context.close()
