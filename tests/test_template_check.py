"""The template check an agency runs after editing a template in Word."""

from __future__ import annotations

import copy
import shutil
import subprocess
import sys

from docx import Document

from service.forms import CATALOGUE
from service.rendering.template_check import check_form as check_template

from .conftest import ROOT


def test_every_shipped_template_matches_its_schema():
    reports = [check_template(spec, ROOT / "templates") for spec in CATALOGUE.values()]
    assert [r for r in reports if not r.ok] == []


def edited_template(tmp_path, form_id: str, replace: dict[str, str]):
    templates = tmp_path / "templates"
    templates.mkdir()
    document = Document(str(ROOT / "templates" / f"{form_id}.docx"))
    for paragraph in document.paragraphs:
        for run in paragraph.runs:
            for old, new in replace.items():
                if old in run.text:
                    run.text = run.text.replace(old, new)
    document.save(str(templates / f"{form_id}.docx"))
    return templates


def test_a_misspelt_placeholder_and_an_unused_field_are_reported(tmp_path):
    templates = edited_template(tmp_path, "liaison-form", {"{{ agency.name }}": "{{ agency.name }}{{ departmnet }}"})
    document = Document(str(templates / "liaison-form.docx"))
    cell = document.tables[0].rows[0].cells[1]
    cell.paragraphs[0].runs[0].text = "（待填）"
    document.save(str(templates / "liaison-form.docx"))
    report = check_template(CATALOGUE["liaison-form"], templates)
    assert report.undefined == ("departmnet",)
    assert report.unused == ("department",)
    assert not report.ok


def test_a_syntax_error_is_reported_with_the_words_around_it(tmp_path):
    templates = edited_template(tmp_path, "liaison-form", {"{{ agency.name }}": "{{ agency.name }"})
    report = check_template(CATALOGUE["liaison-form"], templates)
    assert report.syntax_errors and "单位名称" in report.syntax_errors[0]


def test_loop_variables_are_resolved_against_list_items():
    report = check_template(CATALOGUE["item-catalog"], ROOT / "templates")
    assert any(path.startswith("items[].") for path in report.used)


def test_cli_exit_status_follows_the_result(tmp_path):
    ok = subprocess.run([sys.executable, "-m", "service", "templates", "check"], cwd=ROOT, capture_output=True, text=True)
    assert ok.returncode == 0, ok.stdout
    assert ok.stdout.count("ok  ") == len(CATALOGUE)
    templates = edited_template(tmp_path, "liaison-form", {"{{ agency.name }}": "{{ agency.name }}{{ nope }}"})
    for spec in CATALOGUE.values():
        if spec.id != "liaison-form":
            shutil.copy(ROOT / "templates" / spec.template, templates / spec.template)
    bad = subprocess.run([sys.executable, "-m", "service", "templates", "check", "liaison-form"], cwd=ROOT,
                         capture_output=True, text=True, env={"CHENGNUO_TEMPLATES_DIR": str(templates), "PATH": "/usr/bin:/bin"})
    assert bad.returncode == 1 and "nope" in bad.stdout


def test_a_removed_seal_label_is_reported(tmp_path):
    templates = edited_template(tmp_path, "liaison-form", {"单位名称（盖章）": "单位名称"})
    report = check_template(CATALOGUE["liaison-form"], templates)
    assert report.missing_labels == ("单位名称（盖章）",)


def test_every_shipped_label_can_be_bookmarked_for_the_signing_stage():
    for spec in CATALOGUE.values():
        assert check_template(spec, ROOT / "templates").unmarked_labels == (), spec.id


def test_a_label_split_across_runs_is_pointed_out_but_not_an_error(tmp_path):
    """Word splits text into runs as it pleases; such a label is still found (by PDFium), only slower."""
    templates = tmp_path / "templates"
    templates.mkdir()
    document = Document(str(ROOT / "templates" / "liaison-form.docx"))
    for paragraph in document.paragraphs:
        for run in paragraph.runs:
            if "单位名称（盖章）" in run.text:
                rest = run.text.replace("单位名称（盖章）", "（盖章）", 1)
                run.text = "单位名称"
                run._r.addnext(copy.deepcopy(run._r))
                run._r.getnext().find("{http://schemas.openxmlformats.org/wordprocessingml/2006/main}t").text = rest
    document.save(str(templates / "liaison-form.docx"))
    report = check_template(CATALOGUE["liaison-form"], templates)
    assert report.ok and report.missing_labels == ()
    assert report.unmarked_labels == ("单位名称（盖章）",)


def test_a_template_already_carrying_the_label_bookmarks_is_not_pointed_out(tmp_path):
    """A template saved from a rendered document has the bookmarks already; they still serve."""
    from service.rendering.label_marks import mark_labels

    templates = tmp_path / "templates"
    templates.mkdir()
    spec = CATALOGUE["commitment-letter"]
    marked = mark_labels((ROOT / "templates" / spec.template).read_bytes(), spec.labels)
    (templates / spec.template).write_bytes(marked)
    assert check_template(spec, templates).unmarked_labels == ()
