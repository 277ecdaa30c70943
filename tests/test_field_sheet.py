"""The field sheet an agency downloads with a template to edit (issue 19, part 1)."""

from __future__ import annotations

import io

import pytest
from docx import Document

from service.forms import CATALOGUE
from service.forms.jsonschema import sample
from service.rendering.field_sheet import field_sheet_docx

from .conftest import ROOT


def sheet(form_id: str, template: bytes | None = None) -> tuple[list[str], list[list[str]]]:
    spec = CATALOGUE[form_id]
    data = field_sheet_docx(spec, template or (ROOT / "templates" / spec.template).read_bytes())
    document = Document(io.BytesIO(data))
    rows = [[cell.text for cell in row.cells] for table in document.tables for row in table.rows]
    return [p.text for p in document.paragraphs], rows


@pytest.mark.parametrize("form_id", sorted(CATALOGUE))
def test_every_form_has_a_field_sheet_naming_its_labels(form_id):
    paragraphs, rows = sheet(form_id)
    assert rows[0] == ["占位符", "含义", "示例", "是否必填"]
    assert len(rows) > 3
    for label in CATALOGUE[form_id].labels:
        assert label in paragraphs


def test_the_commitment_letter_sheet_gives_meaning_example_and_whether_required():
    paragraphs, rows = sheet("commitment-letter")
    by_placeholder = {row[0]: row for row in rows[1:]}
    assert by_placeholder["{{ applicant.name }}"][1:] == ["申请人·姓名", sample(CATALOGUE["commitment-letter"])["applicant"]["name"], "必填"]
    assert by_placeholder["{{ proxy.authorisation }}"][3] == "选填"
    assert by_placeholder["{{ number }}"][3] == "系统生成"
    assert "循环内" in by_placeholder["{{ condition }}"][1]
    loops = [p for p in paragraphs if p.startswith("{% for")]
    assert any("不实承诺的处理措施" in p and "每一项" in p for p in loops)
    conditions = [p for p in paragraphs if p.startswith("{% if")]
    assert any("代为承诺人" in p and "仅当" in p for p in conditions)
    assert any("{% if willing %}" in p and "否则" in p for p in conditions)


def test_the_sheet_describes_the_template_as_edited():
    spec = CATALOGUE["commitment-letter"]
    document = Document(str(ROOT / "templates" / spec.template))
    document.add_paragraph("{% if disclosure.public %}本机关将于{{ disclosure.period }}内公开。{% endif %}")
    for paragraph in document.paragraphs:
        if "{{ applicant.phone }}" in paragraph.text:
            for run in paragraph.runs:
                run.text = run.text.replace("{{ applicant.phone }}", "")
    edited = io.BytesIO()
    document.save(edited)
    paragraphs, rows = sheet("commitment-letter", edited.getvalue())
    placeholders = [row[0] for row in rows[1:]]
    assert "{{ applicant.phone }}" not in placeholders
    assert any("申请人·联系方式（applicant.phone）" in p for p in paragraphs if p.startswith("以下字段本模板未使用"))
