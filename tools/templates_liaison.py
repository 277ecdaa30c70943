"""Template of the liaison form (附件1)."""

from __future__ import annotations

from .docx_builder import FormDocument


def liaison_form() -> FormDocument:
    doc = FormDocument()
    doc.title("推行证明事项告知承诺制联络表")
    doc.blank()
    doc.para("单位名称（盖章）：{{ agency.name }}", indent=False)
    doc.blank()
    doc.grid(
        [
            ["具体承办科室", "{{ department }}", "办公电话", "{{ office_phone }}"],
            ["科室负责人", "{{ head.name }}", "联系电话", "{{ head.phone }}"],
            ["联络员", "{{ liaison.name }}", "联系电话", "{{ liaison.phone }}"],
        ],
        widths_mm=[42, 46, 28, 40],
    )
    return doc


TEMPLATES = {"liaison-form": liaison_form}
