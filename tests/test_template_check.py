"""The template check an agency runs after editing a template in Word."""

from __future__ import annotations

import copy
import io
import shutil
import subprocess
import sys

import pytest
from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Pt

from service.forms import CATALOGUE
from service.rendering.template_check import check_form as check_template
from service.rendering.template_check import check_template_bytes

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


# Uploads: check_template_bytes, problems with where they are.


def edited_bytes(form_id: str, replace: dict[str, str], *, tables: bool = True) -> bytes:
    """The built-in template of ``form_id`` with text replaced in its runs (body paragraphs and table cells)."""
    document = Document(str(ROOT / "templates" / f"{form_id}.docx"))
    paragraphs = list(document.paragraphs)
    if tables:
        paragraphs += [p for table in document.tables for row in table.rows for cell in row.cells for p in cell.paragraphs]
    for paragraph in paragraphs:
        for run in paragraph.runs:
            for old, new in replace.items():
                if old in run.text:
                    run.text = run.text.replace(old, new)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def kinds(report) -> list[tuple[str, str]]:
    return [(problem.kind, problem.severity) for problem in report.problems]


def test_an_honestly_edited_template_passes_without_errors():
    document = Document(str(ROOT / "templates" / "commitment-letter.docx"))
    document.add_paragraph("本机关办理时限为五个工作日，咨询电话见窗口公示。")
    heading = document.paragraphs[0]
    heading.alignment = WD_ALIGN_PARAGRAPH.LEFT
    for run in heading.runs:
        run.font.size, run.font.italic = Pt(26), True
    out = io.BytesIO()
    document.save(out)
    report = check_template_bytes(CATALOGUE["commitment-letter"], out.getvalue())
    assert (report.ok, report.problems, report.warnings) == (True, (), ())


def test_a_misspelt_placeholder_names_its_paragraph_and_the_field_meant():
    report = check_template_bytes(CATALOGUE["commitment-letter"], edited_bytes("commitment-letter", {"{{ applicant.name }}": "{{ applicant.nmae }}"}))
    assert not report.ok
    [problem] = report.errors
    assert (problem.kind, problem.location) == ("undefined", "第 6 段 / paragraph 6")
    assert "{{ applicant.nmae }}" in problem.excerpt
    assert "applicant.name" in problem.zh and "did you mean applicant.name" in problem.en


def test_a_placeholder_in_a_table_row_names_the_table_row_and_cell():
    report = check_template_bytes(CATALOGUE["item-catalog"], edited_bytes("item-catalog", {"{{ r.basis }}": "{{ r.basiss }}"}))
    [problem] = report.errors
    assert (problem.kind, problem.location) == ("undefined", "表格 1 第 3 行第 4 格 / table 1 row 3 cell 4")


def test_a_syntax_error_names_its_paragraph():
    report = check_template_bytes(CATALOGUE["liaison-form"], edited_bytes("liaison-form", {"{{ agency.name }}": "{{ agency.name }"}))
    assert kinds(report) == [("syntax", "error")]
    assert report.problems[0].location == "第 3 段 / paragraph 3" and "单位名称" in report.problems[0].excerpt


@pytest.mark.parametrize("expression", ["{{ ''.__class__ }}", "{{ ''.__class__.__mro__[1].__subclasses__() }}", "{{ applicant|attr('__class__') }}"])
def test_a_template_reaching_for_python_internals_is_refused(expression):
    report = check_template_bytes(CATALOGUE["commitment-letter"], edited_bytes("commitment-letter", {"{{ applicant.name }}": expression}))
    assert not report.ok
    assert {problem.kind for problem in report.errors} >= {"unsafe"}
    assert all(problem.location == "第 6 段 / paragraph 6" for problem in report.errors if problem.kind == "unsafe")


def test_a_required_field_no_longer_shown_is_an_error():
    report = check_template_bytes(CATALOGUE["commitment-letter"], edited_bytes("commitment-letter", {"{{ applicant.name }}": ""}))
    assert kinds(report) == [("required_missing", "error")]
    assert "applicant.name" in report.problems[0].en


def test_required_paths_follow_required_groups_only():
    from service.rendering.template_check import required_paths

    required = required_paths(CATALOGUE["commitment-letter"].schema)
    assert "applicant.name" in required
    assert not any(path.startswith("proxy.") for path in required)  # 代为承诺人: an optional group


@pytest.mark.parametrize("written", ["行政机关(公章)", "行政机关（盖章）", "行政机关（公）"])
def test_a_misspelt_seal_label_is_named_with_what_was_found(written):
    report = check_template_bytes(CATALOGUE["commitment-letter"], edited_bytes("commitment-letter", {"行政机关（公章）": written}))
    assert not report.ok
    [problem] = report.errors
    assert (problem.kind, problem.location) == ("label_misspelt", "表格 1 第 1 行第 2 格 / table 1 row 1 cell 2")
    assert written in problem.zh and "行政机关（公章）" in problem.zh
    assert report.missing_labels == ("行政机关（公章）",)


def test_a_removed_seal_label_is_label_missing():
    report = check_template_bytes(CATALOGUE["liaison-form"], edited_bytes("liaison-form", {"单位名称（盖章）": "单位"}))
    assert ("label_missing", "error") in kinds(report)


def test_a_removed_fixed_sentence_is_a_warning_to_acknowledge():
    footnote = "（本文书一式两份，行政机关与申请人各执一份。）"
    report = check_template_bytes(CATALOGUE["commitment-letter"], edited_bytes("commitment-letter", {footnote: "（本文书一式三份。）"}))
    assert report.ok
    [warning] = report.warnings
    assert warning.kind == "seed_removed" and warning.severity == "warning"
    assert "一式两份" in warning.excerpt and warning.location.startswith("原模板第 ")


def test_fixed_sentences_come_from_the_built_in_template():
    from service.rendering.seed_text import fixed_sentences

    texts = [sentence.text for sentence in fixed_sentences("internal-verification.docx")]
    assert "承诺的如下证明事项：" in texts  # text between placeholders counts too
    assert not any("{{" in text for text in texts)


def test_a_refused_package_is_a_refused_report_and_never_reaches_python_docx(monkeypatch):
    import docxtpl

    from service.rendering import template_check

    def reached(*args, **kwargs):
        raise AssertionError("python-docx reached")

    monkeypatch.setattr(template_check, "DocxTemplate", reached)
    monkeypatch.setattr(docxtpl, "DocxTemplate", reached)
    report = check_template_bytes(CATALOGUE["liaison-form"], b"PK\x03\x04 not really a zip")
    assert not report.ok
    assert [(p.kind, p.code) for p in report.problems] == [("unsafe", "not_docx")]
