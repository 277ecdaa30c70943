"""Agencies make the forms their own: a supervisor downloads the template in use, edits it (python-docx stands in
for Word), uploads it to be checked, previews it, publishes it as the agency's version, and rolls back. Real
LibreOffice, real signing, real HTTP through the Flask test client."""

from __future__ import annotations

import io
import time
import zipfile

import pymupdf
import pytest
from docx import Document
from docx.shared import Pt, RGBColor

from service import admin
from service.auth.principal import OPERATOR

from . import pdfcheck
from .conftest import ROOT, keyed_client, sample
from .test_catalog import sign_in

FORM = "commitment-letter"
SENTENCE = "本机关承诺对申请人提交的承诺书在五个工作日内完成核查。"
TEMPLATES = f"/api/v1/templates/{FORM}"
SEAL_LABEL = "行政机关（公章）"


def edited_letter(source: bytes, *, add: str | None = SENTENCE, replace: dict[str, str] | None = None) -> bytes:
    """The letter as an agency edits it in Word: a sentence added after 三、申请人承诺's heading, its own heading style
    (the title larger, dark blue), and words replaced in runs (as tests/test_template_check.py edited_template)."""
    document = Document(io.BytesIO(source))
    title = document.paragraphs[0]
    for run in title.runs:
        run.font.size = Pt(24)
        run.font.color.rgb = RGBColor(0x1F, 0x3A, 0x6E)
    for paragraph in document.paragraphs:
        for run in paragraph.runs:
            for old, new in (replace or {}).items():
                if old in run.text:
                    run.text = run.text.replace(old, new)
    if add:
        anchor = next(p for p in document.paragraphs if p.text.startswith("三、"))
        added = anchor.insert_paragraph_before(add)
        added.style = document.paragraphs[-1].style
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def upload(client, content: bytes, agency: str | None = "jc-justice", form: str = FORM):
    data = {"file": (io.BytesIO(content), "承诺书.docx")}
    if agency:
        data["agency"] = agency
    return client.post(f"/api/v1/templates/{form}/uploads", data=data, content_type="multipart/form-data")


@pytest.fixture
def people(app, services):
    made = {}
    for name, role, agency in (("zhang", "clerk", "jc-justice"), ("li", "supervisor", "jc-justice"),
                               ("wang", "supervisor", "jc-market"), ("root", "admin", None)):
        _, password = admin.add_user(services, OPERATOR, name, role, agency)
        made[name] = sign_in(app, name, password)
    return made


@pytest.fixture
def li(people):
    return people["li"]


@pytest.fixture
def builtin() -> bytes:
    return (ROOT / "templates" / f"{FORM}.docx").read_bytes()


def issue(client, agency: str) -> tuple[dict, bytes]:
    response = client.post("/api/v1/documents", json={"form": FORM, "agency": agency, "data": sample(FORM)})
    assert response.status_code == 201, response.json
    return client.get(f"/api/v1/documents/{response.json['id']}").json, client.get(response.json["links"]["pdf"]).data


def seal_over_its_label(pdf: bytes) -> bool:
    """The agency's signature widget (the seal) sits on the line of 行政机关（公章）, as tests/test_signing.py checks it."""
    document = pymupdf.open(stream=pdf, filetype="pdf")
    [(page_number, widget)] = [(page.number, w) for page in document for w in page.widgets() if w.field_name == "agency"]
    [label] = document[page_number].search_for(SEAL_LABEL)[-1:]
    line = pymupdf.Rect(label.x0, label.y0, document[page_number].rect.x1, label.y1)
    return widget.rect.intersects(line)


def spot_drawn(pdf: bytes, label: str) -> bool:
    """Opaque red (the dashed box and its caption; the draft mark is a pale pink) right of ``label``, on its line."""
    document = pymupdf.open(stream=pdf, filetype="pdf")
    page = next(p for p in reversed(document) if p.search_for(label))
    found = page.search_for(label)[-1]
    zoom = 100 / 72
    image = pdfcheck.render_page(pdf, page.number + 1, dpi=100).convert("RGB")
    area = image.crop(tuple(int(v * zoom) for v in (found.x1, found.y0 - 40, page.rect.x1, found.y1 + 40)))
    red = sum(1 for r, g, b in area.get_flattened_data() if r > 170 and g < 90 and b < 90)
    return red > 200


def test_agency_a_publishes_its_letter_and_only_its_new_letters_carry_it(li, client, services, builtin):
    current = li.get(f"{TEMPLATES}/docx", query_string={"agency": "jc-justice"})
    assert current.status_code == 200 and current.data == builtin  # nothing published yet: the built-in template

    edited = edited_letter(current.data)
    uploaded = upload(li, edited)
    assert uploaded.status_code == 201, uploaded.json
    assert uploaded.json["warnings"] == [] and uploaded.json["agency"] == "jc-justice"

    preview = li.get(uploaded.json["links"]["preview"])
    assert preview.status_code == 200 and preview.mimetype == "application/pdf"
    text = pdfcheck.squash(pdfcheck.text(preview.data))
    assert SENTENCE in text and "样稿" in text and "未编号" in text
    assert spot_drawn(preview.data, SEAL_LABEL) and spot_drawn(preview.data, "申请人签名")  # red dashed boxes at the spots
    for which in ("current", "upload"):
        page = li.get(f"{TEMPLATES}/uploads/{uploaded.json['id']}/preview/pages/1.png", query_string={"version": which})
        assert page.status_code == 200 and page.data.startswith(b"\x89PNG"), which
    assert li.get(f"{TEMPLATES}/uploads/{uploaded.json['id']}/preview/pages/99.png").status_code == 404
    with_data = li.post(f"{TEMPLATES}/uploads/{uploaded.json['id']}/preview", json={"data": {**sample(FORM), "applicant": {
        **sample(FORM)["applicant"], "name": "预览人"}}})
    assert with_data.status_code == 200 and "预览人" in pdfcheck.text(with_data.data)
    assert services.registry.engine.connect().exec_driver_sql("SELECT count(*) FROM documents").scalar() == 0  # nothing registered

    published = li.post(uploaded.json["links"]["publish"], json={})
    assert published.status_code == 201, published.json
    assert (published.json["version"], published.json["created_by"], published.json["builtin"]) == (1, "user:li", False)
    assert li.get(f"{TEMPLATES}/docx", query_string={"agency": "jc-justice"}).data == edited

    record, pdf = issue(client, "jc-justice")
    assert SENTENCE in pdfcheck.squash(pdfcheck.text(pdf))
    assert record["template_version"] == 1
    assert seal_over_its_label(pdf)

    other, other_pdf = issue(client, "jc-market")
    assert SENTENCE not in pdfcheck.squash(pdfcheck.text(other_pdf)) and other["template_version"] is None
    assert seal_over_its_label(other_pdf)

    assert [e.detail["version"] for e in services.audit.entries(action="template.publish")] == [1]
    listed = client.get("/api/v1/templates", query_string={"agency": "jc-justice"}).json
    assert {f["form"]: f["version"] for f in listed["forms"]}[FORM] == 1
    assert {f["form"]: f["version"] for f in client.get("/api/v1/templates", query_string={"agency": "jc-market"}).json["forms"]}[FORM] is None


def test_a_misspelt_placeholder_is_refused_by_its_line_and_nothing_is_published(li, services, builtin):
    refused = upload(li, edited_letter(builtin, add=None, replace={"{{ applicant.name }}": "{{ applicant.nmae }}"}))
    assert refused.status_code == 422 and refused.json["error"] == "template_refused"
    [problem, *_] = refused.json["errors"]["file"]
    assert "applicant.nmae" in problem and "第 6 段" in problem
    assert li.get(TEMPLATES, query_string={"agency": "jc-justice"}).json["versions"] == []
    assert [e.outcome for e in services.audit.entries(action="template.upload")] == ["refused"]


def test_a_template_that_renders_for_too_long_or_too_much_is_stopped_and_refused(li, services, builtin):
    """Rendering an agency's template is bounded: the trial render of the sample at upload runs in the bounded worker."""
    endless = "{% for a in range(100000) %}{% for b in range(100000) %}{{ a }}{% endfor %}{% endfor %}"
    started = time.monotonic()
    refused = upload(li, edited_letter(builtin, add=endless))
    assert time.monotonic() - started < 30
    assert refused.status_code == 422 and refused.json["error"] in ("template_render_timeout", "template_render_too_large",
                                                                    "template_render_memory"), refused.json
    huge = "{% for a in range(100000) %}{{ applicant.name * 1000 }}{% endfor %}"
    refused = upload(li, edited_letter(builtin, add=huge))
    assert refused.status_code == 422 and refused.json["error"].startswith("template_render"), refused.json
    assert li.get(TEMPLATES, query_string={"agency": "jc-justice"}).json["versions"] == []
    assert [e.outcome for e in services.audit.entries(action="template.upload")] == ["refused", "refused"]


def test_a_stored_upload_that_fails_the_check_now_is_not_published(li, services, builtin):
    """The check runs again when publishing: an upload kept before a stricter check cannot slip through."""
    bad = edited_letter(builtin, add=None, replace={"{{ applicant.name }}": "{{ applicant.nmae }}"})
    kept = services.templates.add_upload("jc-justice", FORM, "old.docx", bad, [], "user:li", services.now())
    refused = li.post(f"{TEMPLATES}/uploads/{kept.id}/publish", json={"acknowledge_warnings": True})
    assert refused.status_code == 422 and refused.json["error"] == "template_refused"
    assert services.templates.versions("jc-justice", FORM) == []


def test_removed_fixed_sentences_are_warnings_to_acknowledge_before_publishing(li, builtin):
    removed = "申请人书面承诺已经符合告知的条件、要求，并愿意承担不实承诺的法律责任后，行政机关不再索要有关证明而依据书面承诺办理相关事项。"
    uploaded = upload(li, edited_letter(builtin, add=None, replace={removed: "申请人书面承诺后，行政机关依据书面承诺办理。"}))
    assert uploaded.status_code == 201, uploaded.json
    assert [w["kind"] for w in uploaded.json["warnings"]] == ["seed_removed"]
    assert removed in uploaded.json["warnings"][0]["excerpt"]
    unacknowledged = li.post(uploaded.json["links"]["publish"], json={})
    assert unacknowledged.status_code == 422 and "acknowledge_warnings" in unacknowledged.json["errors"]
    acknowledged = li.post(uploaded.json["links"]["publish"], json={"acknowledge_warnings": True})
    assert acknowledged.status_code == 201 and acknowledged.json["warnings_acknowledged"] == 1
    assert li.post(uploaded.json["links"]["publish"], json={"acknowledge_warnings": True}).status_code == 409


def test_rolling_back_restores_the_earlier_text_as_a_new_audited_version(li, client, services, builtin):
    uploaded = upload(li, edited_letter(builtin))
    assert li.post(uploaded.json["links"]["publish"], json={}).status_code == 201

    back = li.post(f"{TEMPLATES}/rollback", json={"agency": "jc-justice", "version": 0})
    assert back.status_code == 201, back.json
    assert (back.json["version"], back.json["restores"], back.json["builtin"]) == (2, 0, True)
    record, pdf = issue(client, "jc-justice")
    assert SENTENCE not in pdfcheck.squash(pdfcheck.text(pdf)) and record["template_version"] is None

    again = li.post(f"{TEMPLATES}/rollback", json={"agency": "jc-justice", "version": 1})
    assert (again.status_code, again.json["version"], again.json["restores"]) == (201, 3, 1)
    record, pdf = issue(client, "jc-justice")
    assert SENTENCE in pdfcheck.squash(pdfcheck.text(pdf)) and record["template_version"] == 3

    versions = li.get(TEMPLATES, query_string={"agency": "jc-justice"}).json
    assert versions["version"] == 3
    assert [(v["version"], v["restores"], v["created_by"]) for v in versions["versions"]] == \
        [(3, 1, "user:li"), (2, 0, "user:li"), (1, None, "user:li")]
    assert all(v["created_at"] for v in versions["versions"])
    assert [e.detail["restores"] for e in services.audit.entries(action="template.rollback")] == [1, 0]  # newest first
    assert li.post(f"{TEMPLATES}/rollback", json={"agency": "jc-justice", "version": 1}).json["error"] == "template_in_use"


def test_who_may_publish(people, app, api_key, builtin):
    li, wang, zhang, root = people["li"], people["wang"], people["zhang"], people["root"]
    key = keyed_client(app, api_key)
    edited = edited_letter(builtin)

    assert upload(zhang, edited).status_code == 403  # a clerk
    assert upload(wang, edited).status_code == 403  # another agency's supervisor
    refused = upload(key, edited)
    assert (refused.status_code, refused.json["error"]) == (403, "templates_staff_only")
    assert key.get(f"{TEMPLATES}/docx", query_string={"agency": "jc-justice"}).status_code == 200  # but it downloads
    assert zhang.get(f"{TEMPLATES}/docx", query_string={"agency": "jc-justice"}).status_code == 200
    assert zhang.get(f"{TEMPLATES}/docx", query_string={"agency": "jc-market"}).status_code == 403

    mine = upload(li, edited)
    assert mine.status_code == 201
    for stranger in (zhang, wang, key):
        assert stranger.post(mine.json["links"]["publish"], json={}).status_code == 403
        assert stranger.post(f"{TEMPLATES}/rollback", json={"agency": "jc-justice", "version": 0}).status_code == 403
    assert li.post(mine.json["links"]["publish"], json={}).status_code == 201

    theirs = upload(root, edited, agency="jc-market")  # an administrator, for any agency
    assert theirs.status_code == 201 and theirs.json["agency"] == "jc-market"
    assert root.post(theirs.json["links"]["publish"], json={}).status_code == 201
    assert root.post(f"{TEMPLATES}/rollback", json={"agency": "jc-justice", "version": 0}).status_code == 201


def _zip(parts: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in parts.items():
            archive.writestr(name, content)
    return out.getvalue()


def test_an_unsafe_file_is_refused_before_anything_parses_it(li, services, builtin, monkeypatch):
    import service.agency_templates.upload as module

    def never(*_args):
        raise AssertionError("the check parsed an unsafe file")

    monkeypatch.setattr(module, "check_template_bytes", never)
    monkeypatch.setattr(services.converter, "convert", never)
    with zipfile.ZipFile(io.BytesIO(builtin)) as archive:
        parts = {name: archive.read(name) for name in archive.namelist()}
    entities = dict(parts, **{"word/document.xml": b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaa">]>' + parts["word/document.xml"][38:]})
    for content, code in ((b"not a zip at all", "not_docx"), (_zip(entities), "xml_entities"),
                          (_zip(dict(parts, **{"word/vbaProject.bin": b"\0" * 10})), "active_content")):
        refused = upload(li, content)
        assert (refused.status_code, refused.json["error"]) == (422, code)
    assert upload(li, b"x" * (10 * 1024 * 1024 + 1)).status_code == 413
    assert services.templates.versions("jc-justice", FORM) == []


def test_the_field_sheet_comes_with_the_template_to_edit(li):
    sheet = li.get(f"{TEMPLATES}/field-sheet", query_string={"agency": "jc-justice"})
    assert sheet.status_code == 200
    assert "applicant.name" in "\n".join(p.text for p in Document(io.BytesIO(sheet.data)).paragraphs) + \
        "\n".join(c.text for t in Document(io.BytesIO(sheet.data)).tables for r in t.rows for c in r.cells)


def test_the_command_line_downloads_uploads_previews_publishes_lists_and_rolls_back(tmp_path, monkeypatch, capsys, builtin):
    import json

    from service.__main__ import main

    monkeypatch.setenv("CHENGNUO_DATA_DIR", str(tmp_path / "data"))

    def run(*args: str) -> tuple[int, dict]:
        code = main(["templates", *args])
        out = capsys.readouterr().out
        return code, json.loads(out) if out.strip() else {}

    current = tmp_path / "current.docx"
    assert run("download", FORM, "--agency", "jc-justice", "--out", str(current)) == (0, {"form": FORM, "version": None, "out": str(current)})
    assert current.read_bytes() == builtin
    bad = tmp_path / "bad.docx"
    bad.write_bytes(edited_letter(builtin, add=None, replace={"{{ applicant.name }}": "{{ applicant.nmae }}"}))
    code, refused = run("upload", FORM, str(bad), "--agency", "jc-justice")
    assert code == 2 and refused["error"] == "template_refused" and "第 6 段" in refused["errors"]["file"][0]
    good = tmp_path / "good.docx"
    good.write_bytes(edited_letter(builtin))
    code, uploaded = run("upload", FORM, str(good), "--agency", "jc-justice")
    assert code == 0 and uploaded["warnings"] == []
    out = tmp_path / "preview.pdf"
    assert run("preview", FORM, uploaded["id"], "--out", str(out))[0] == 0
    assert SENTENCE in pdfcheck.squash(pdfcheck.text(out.read_bytes()))
    code, published = run("publish", FORM, uploaded["id"])
    assert (code, published["version"], published["created_by"]) == (0, 1, "operator:operator")
    code, back = run("rollback", FORM, "--agency", "jc-justice", "--to", "0")
    assert (code, back["version"], back["restores"], back["builtin"]) == (0, 2, 0, True)
    code, listed = run("versions", FORM, "--agency", "jc-justice")
    assert code == 0 and listed["version"] is None and [v["version"] for v in listed["versions"]] == [2, 1]


def test_the_successful_answers_match_the_openapi_document(app, li, builtin):
    import schemathesis

    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)

    def check(path: str, method: str, response, status: int) -> dict:
        assert response.status_code == status, response.get_data(as_text=True)
        schema[path][method].validate_response(response)
        return response.json

    made = check("/api/v1/templates/{form_id}/uploads", "POST", upload(li, edited_letter(builtin)), 201)
    check("/api/v1/templates/{form_id}/uploads/{upload_id}", "GET", li.get(made["links"]["self"]), 200)
    check("/api/v1/templates/{form_id}/uploads/{upload_id}/publish", "POST", li.post(made["links"]["publish"], json={}), 201)
    check("/api/v1/templates/{form_id}/rollback", "POST", li.post(f"{TEMPLATES}/rollback", json={"agency": "jc-justice", "version": 0}), 201)
    check("/api/v1/templates/{form_id}", "GET", li.get(TEMPLATES, query_string={"agency": "jc-justice"}), 200)
    check("/api/v1/templates", "GET", li.get("/api/v1/templates", query_string={"agency": "jc-justice"}), 200)
