"""The pages in a real browser (Debian's Chromium, driven by Playwright): a clerk issues three forms,
fixes a validation error, downloads the PDF and verifies it on the public page; a supervisor voids a
document and the verifier's page turns red; the QR page at phone width. Screenshots are kept in
test-artifacts/screens/."""

from __future__ import annotations

import concurrent.futures
import re
import shutil
import socket
import threading
from pathlib import Path

import pytest
from waitress.server import create_server

from service import admin, create_app
from service.auth.principal import OPERATOR

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed (make test installs it)")

playwright_api = pytest.importorskip("playwright.sync_api")
AXE = Path(pytest.importorskip("axe_playwright_python").__file__).with_name("axe.min.js").read_text(encoding="utf-8")


def accessible(page, what: str) -> None:
    """axe-core (WCAG 2.0/2.1 A and AA) finds nothing wrong with the page as it stands."""
    page.evaluate(AXE)
    found = page.evaluate("axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})"
                          ".then(r => r.violations.map(v => [v.id, v.help, v.nodes.map(n => n.target.join(' ')).slice(0, 3)]))")
    assert found == [], (what, found)


@pytest.fixture
def live(services):
    """The service on a free loopback port, in this process, with a clerk and a supervisor."""
    app = create_app(services=services)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = create_server(app, host="127.0.0.1", port=port, threads=4)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    _, clerk = admin.add_user(services, OPERATOR, "zhang", "clerk", "jc-justice")
    _, supervisor = admin.add_user(services, OPERATOR, "li", "supervisor", "jc-justice")
    yield {"url": f"http://127.0.0.1:{port}", "clerk": clerk, "supervisor": supervisor}
    server.close()


@pytest.fixture
def browser():
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run", "--disable-quic"],
        )
        yield browser
        browser.close()


@pytest.fixture
def screens(artefacts) -> Path:
    folder = artefacts / "screens"
    folder.mkdir(exist_ok=True)
    return folder


def sign_in(page, live, username: str, password: str, screens: Path | None = None) -> None:
    page.goto(f"{live['url']}/login")
    if screens:
        page.screenshot(path=str(screens / "login.png"), full_page=True)
        accessible(page, "login")
    page.get_by_label("用户名 / User name").fill(username)
    page.get_by_label("密码 / Password").fill(password)
    page.get_by_role("button", name="登录 / Sign in").click()
    page.wait_for_url(f"{live['url']}/")


def issue_and_download(page, tmp_path: Path, name: str, *, javascript: bool = True) -> tuple[str, Path]:
    """Issues the filled form; with JavaScript the signed PDF downloads by itself, without it by the link."""
    if javascript:
        with page.expect_download() as download:
            page.get_by_role("button", name="签发并盖章 / Issue and seal").click()
        page.wait_for_url(re.compile(r"/documents/[0-9a-f-]+\?issued=1"))
    else:
        page.get_by_role("button", name="签发并盖章 / Issue and seal").click()
        page.wait_for_url(re.compile(r"/documents/[0-9a-f-]+\?issued=1"))
        with page.expect_download() as download:
            page.get_by_role("link", name="下载盖章 PDF / Download PDF").click()
    number = page.locator("#issued-number").inner_text()
    target = tmp_path / f"{name}.pdf"
    download.value.save_as(target)
    return number, target


def verify_on_public_page(browser, live, pdf: Path, screens: Path, name: str) -> str:
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{live['url']}/verify")
    page.screenshot(path=str(screens / "verify-upload.png"), full_page=True)
    accessible(page, "verify upload")
    page.set_input_files("#file", str(pdf))  # the page submits itself once a file is chosen
    page.wait_for_selector(".verdict")
    page.screenshot(path=str(screens / f"verify-{name}.png"), full_page=True)
    accessible(page, f"report {name}")
    verdict = page.locator(".verdict").first.inner_text()
    context.close()
    return verdict


def test_a_clerk_issues_three_forms_and_the_public_verifies_them(browser, live, tmp_path, screens):
    context = browser.new_context(accept_downloads=True)
    page = context.new_page()
    sign_in(page, live, "zhang", live["clerk"], screens)
    page.get_by_role("link", name="签发文书").click()
    page.screenshot(path=str(screens / "forms.png"), full_page=True)
    accessible(page, "forms")

    # 1. The liaison form, typed in field by field.
    page.get_by_role("link", name="推行证明事项告知承诺制联络表").click()
    page.get_by_label("具体承办科室").fill("行政审批服务科")
    page.get_by_label("办公电话").fill("0356-2196035")
    for group, name, phone in (("科室负责人", "李建国", "13903561208"), ("联络员", "赵晓燕", "15935612047")):
        block = page.locator("fieldset", has=page.get_by_text(group, exact=True))
        block.get_by_label("姓名").fill(name)
        block.get_by_label("联系电话").fill(phone)
    page.screenshot(path=str(screens / "form-liaison.png"), full_page=True)
    accessible(page, "a form")
    number, liaison_pdf = issue_and_download(page, tmp_path, "liaison")
    assert number == "（本表单无文号）"
    assert liaison_pdf.read_bytes().startswith(b"%PDF-")
    page.screenshot(path=str(screens / "document-issued.png"), full_page=True)
    accessible(page, "a document")

    # 2. A letter with list rows, and a validation error fixed on the way.
    page.goto(f"{live['url']}/forms/assistance-request-written")
    page.get_by_label("被请求协助部门").fill("晋城市民政局")
    page.get_by_label("申请人到我单位办理日期").fill("2026-11-16")
    page.get_by_label("办理事项").fill("法律援助申请")
    page.get_by_label("承诺的证明事项（第1项）").fill("本人为晋城市城区城市居民最低生活保障对象")
    page.get_by_role("button", name="增加一项：承诺内容").click()
    page.get_by_label("承诺的证明事项（第2项）").fill("本人家庭人均月收入低于晋城市城市居民最低生活保障标准")
    page.get_by_role("button", name="增加一项：承诺内容").click()
    page.get_by_label("承诺的证明事项（第3项）").fill("多余的一项")
    page.get_by_role("button", name="删除承诺内容第3项").click()
    assert page.get_by_label("承诺的证明事项（第3项）").count() == 0
    assert page.get_by_label("承诺的证明事项（第2项）").input_value().startswith("本人家庭人均月收入")
    page.get_by_label("发函日期").fill("2026-11-17")
    page.get_by_label("书面回复期限（工作日）").fill("5")
    page.get_by_role("button", name="签发并盖章 / Issue and seal").click()  # the applicant is missing
    error = page.locator("#f-applicant-error")
    assert "必填" in error.inner_text() or "不能为空白" in error.inner_text()
    assert page.get_by_label("被请求协助部门").input_value() == "晋城市民政局"  # what was typed is kept
    page.screenshot(path=str(screens / "form-error.png"), full_page=True)
    accessible(page, "a form with an error")
    page.get_by_role("textbox", name="申请人", exact=True).fill("李秀英")
    number, letter_pdf = issue_and_download(page, tmp_path, "letter")
    assert re.fullmatch(r"晋市司函字〔\d{4}〕1号", number)

    # 3. The commitment letter, from the sample, with the applicant changed.
    page.goto(f"{live['url']}/forms/commitment-letter?sample=1")
    page.locator("fieldset", has=page.get_by_text("申请人", exact=True)).first.get_by_label("姓名").fill("王䶮")
    number, commitment_pdf = issue_and_download(page, tmp_path, "commitment")
    assert re.fullmatch(r"\[\d{4}年\]第1号", number)

    page.get_by_role("link", name="文书列表").click()
    page.get_by_label("文号、登记编号或申请人").fill("王䶮")
    page.get_by_role("button", name="查找 / Search").click()
    assert page.locator("tbody tr").count() == 1
    page.screenshot(path=str(screens / "documents.png"), full_page=True)
    accessible(page, "the document list")
    context.close()

    for name, pdf in (("liaison", liaison_pdf), ("letter", letter_pdf), ("commitment", commitment_pdf)):
        assert verify_on_public_page(browser, live, pdf, screens, name).startswith("真实有效")


def test_a_supervisor_voids_and_the_verifier_page_turns_red(browser, live, services, tmp_path, screens):
    from service.issuing import issue

    from .conftest import sample

    record = issue(services, "assistance-reply", sample("assistance-reply"), principal=OPERATOR, agency_id="jc-justice").document
    pdf = tmp_path / "reply.pdf"
    pdf.write_bytes(services.files.get(record.pdf_path))
    context = browser.new_context()
    page = context.new_page()
    sign_in(page, live, "li", live["supervisor"])
    page.goto(f"{live['url']}/documents/{record.id}")
    page.get_by_label("作废原因 / Reason").fill("回复函内容有误，重新出具")
    page.get_by_label("我确认作废此文书 / I confirm").check()
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="作废 / Void").click()
    page.wait_for_selector("text=已作废")
    page.screenshot(path=str(screens / "document-voided.png"), full_page=True)
    context.close()

    phone = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True)
    page = phone.new_page()
    page.goto(f"{live['url']}/v/{record.serial}")
    verdict = page.locator(".verdict")
    assert "已作废" in verdict.inner_text()
    assert verdict.evaluate("e => getComputedStyle(e).color") == "rgb(164, 22, 26)"  # red
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 360  # nothing wider than the phone
    page.screenshot(path=str(screens / "qr-page-phone.png"), full_page=True)
    accessible(page, "the QR page on a phone")
    phone.close()
    assert verify_on_public_page(browser, live, pdf, screens, "voided").startswith("无效")


def test_the_essential_paths_work_without_javascript(browser, live, screens, tmp_path):
    context = browser.new_context(java_script_enabled=False, accept_downloads=True)
    page = context.new_page()
    sign_in(page, live, "zhang", live["clerk"])
    page.goto(f"{live['url']}/forms/internal-verification?sample=1")
    page.get_by_role("button", name="增加一项：承诺的证明事项").click()
    page.get_by_label("证明事项（第3项）").fill("本人已取得律师执业证书")
    number, pdf = issue_and_download(page, tmp_path, "no-js", javascript=False)
    page.goto(f"{live['url']}/verify")
    page.set_input_files("#file", str(pdf))
    page.get_by_role("button", name="核验 / Verify").click()
    assert page.locator(".verdict").first.inner_text().startswith("真实有效")
    page.screenshot(path=str(screens / "verify-no-js.png"), full_page=True)
    context.close()


def draw_signature(page) -> None:
    """Writes a few strokes on the pad with the mouse (pointer events, as a finger or a pen makes them)."""
    pad = page.locator("#pad")
    pad.scroll_into_view_if_needed()
    box = pad.bounding_box()
    for stroke in (((0.1, 0.7), (0.25, 0.3), (0.4, 0.75)), ((0.5, 0.3), (0.65, 0.7), (0.85, 0.35))):
        page.mouse.move(box["x"] + box["width"] * stroke[0][0], box["y"] + box["height"] * stroke[0][1])
        page.mouse.down()
        for x, y in stroke[1:]:
            page.mouse.move(box["x"] + box["width"] * x, box["y"] + box["height"] * y, steps=8)
        page.mouse.up()


def test_the_applicant_signs_at_the_window_and_the_clerk_as_handler(browser, live, services, tmp_path, screens):
    from service.issuing import issue

    from . import sigcheck
    from .conftest import sample

    record = issue(services, "commitment-letter", sample("commitment-letter"), principal=OPERATOR, agency_id="jc-justice").document
    context = browser.new_context(accept_downloads=True)
    page = context.new_page()
    sign_in(page, live, "zhang", live["clerk"])
    page.goto(f"{live['url']}/documents/{record.id}")
    accessible(page, "a document awaiting signatures")
    page.get_by_label("我已核验其身份证件 / I have checked the identity document").check()
    page.get_by_role("button", name="打开签署屏 / Open the signing screen").click()
    page.wait_for_url(re.compile(r"/sign/"))
    assert page.locator(".pages img").count() == 4
    accessible(page, "the signing screen at the window")
    page.get_by_label(re.compile("本人已阅读并知晓")).check()
    draw_signature(page)
    page.screenshot(path=str(screens / "sign-window.png"), full_page=True)
    page.get_by_role("button", name="确认签署 / Sign").click()
    page.wait_for_selector("text=签署完成")
    accessible(page, "signed")

    page.goto(f"{live['url']}/documents/{record.id}")
    page.get_by_label("密码 / Password").fill(live["clerk"])
    page.get_by_role("button", name="签署 / Sign").click()
    page.wait_for_selector("text=有效，已签署完成")
    page.screenshot(path=str(screens / "document-completed.png"), full_page=True)
    accessible(page, "a completed document with its timeline")
    page.get_by_role("link", name="签署证明（可打印） / Signing evidence (printable)").click()
    page.wait_for_selector("text=签署证明")
    page.screenshot(path=str(screens / "evidence.png"), full_page=True)
    accessible(page, "the signing evidence")
    page.go_back()
    with page.expect_download() as download:
        page.get_by_role("link", name="下载盖章 PDF / Download PDF").click()
    pdf = tmp_path / "completed.pdf"
    download.value.save_as(pdf)
    context.close()
    with concurrent.futures.ThreadPoolExecutor(1) as outside:  # pyHanko runs its own event loop; Playwright's holds this thread
        statuses = outside.submit(sigcheck.signatures, pdf.read_bytes(), services.settings.certs_dir / "root-ca.pem").result()
    assert sorted(statuses) == ["agency", "applicant", "handler"] and all(s.intact and s.trusted for s in statuses.values())
    assert verify_on_public_page(browser, live, pdf, screens, "completed").startswith("真实有效")


def test_the_applicant_signs_a_link_on_a_phone(browser, live, services, screens):
    from service import signing_links
    from service.issuing import issue

    from .conftest import sample

    data = sample("commitment-letter")
    record = issue(services, "commitment-letter", data, principal=OPERATOR, agency_id="jc-justice").document
    link = signing_links.create_link(services, OPERATOR, record.id, "applicant")
    phone = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True)
    page = phone.new_page()
    page.goto(link.url.replace(services.settings.base_url, live["url"]))
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 360
    accessible(page, "the signing screen on a phone")
    page.get_by_label("验证码 / Code").fill(link.code)
    page.get_by_label("证件号码后六位 / Last six characters of your ID number").fill(data["applicant"]["id_number"][-6:])
    page.get_by_label(re.compile("本人已阅读并知晓")).check()
    draw_signature(page)
    page.get_by_role("button", name="确认签署 / Sign").click()
    page.wait_for_selector("text=签署完成")
    page.screenshot(path=str(screens / "sign-phone.png"), full_page=True)
    phone.close()
    assert services.registry.get(record.id).revision == 1
    assert [r.party for r in services.registry.revisions(record.id)] == [None, "applicant"]
