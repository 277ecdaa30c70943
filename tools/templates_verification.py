"""Templates of the catalogue, verification and administrative-assistance forms (晋市政办〔2021〕8号 附件3, 5–8)."""

from __future__ import annotations

from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt
from docx.table import Table

from .docx_builder import BODY_PT, FormDocument, _fixed_widths

NOTE_PT = 14  # the note style's size (docx_builder: "Form Note")
U = True  # a filled-in blank: underlined as on paper
T = False  # the form's own words


def _right(doc: FormDocument, text: str) -> None:
    """A right-aligned line of the seal/date block, two characters in from the right margin."""
    paragraph = doc.right(text)
    paragraph.paragraph_format.right_indent = Pt(BODY_PT * 2)
    paragraph.paragraph_format.keep_with_next = True


def _keep_last(doc: FormDocument, count: int) -> None:
    """Keeps the last ``count`` paragraphs with what follows: the seal/signature block never stands alone on a page."""
    for paragraph in doc.doc.paragraphs[-count:]:
        paragraph.paragraph_format.keep_with_next = True


def _keep_together(table: Table) -> None:
    """No page break inside the table, nor between it and the paragraph before it."""
    previous = table._tbl.getprevious()
    if previous is not None and previous.tag == qn("w:p"):
        ppr = previous.get_or_add_pPr()
        ppr.append(OxmlElement("w:keepNext"))
    for row in table.rows:
        row._tr.get_or_add_trPr().append(OxmlElement("w:cantSplit"))
        for cell in row.cells:
            for paragraph in cell.paragraphs:
                paragraph.paragraph_format.keep_with_next = True


CELL_MARGIN_MM = 3.0
CELL_PADDING_MM = 2.0


def _cell_margins(table: Table, side, top) -> None:
    """Wider cell padding: the columns and rows of a dense table stay apart on paper and in extracted text."""
    tbl_pr = table._tbl.tblPr
    margins = OxmlElement("w:tblCellMar")
    for edge, width in (("top", top), ("left", side), ("bottom", top), ("right", side)):
        element = OxmlElement(f"w:{edge}")
        element.set(qn("w:w"), str(int(width.twips)))
        element.set(qn("w:type"), "dxa")
        margins.append(element)
    tbl_pr.append(margins)


def _lines(doc: FormDocument, name: str) -> None:
    """A multi-line text as one indented paragraph per line the user typed (not one ragged paragraph).

    docxtpl turns the BEL character into a paragraph break that keeps the paragraph's properties.
    """
    doc.para(f'{{{{ {name}|replace("\\n", "\\a") }}}}')


# --- 附件3 --------------------------------------------------------------------------------------------


def item_catalog() -> FormDocument:
    doc = FormDocument(landscape=True)
    doc.title("实行告知承诺制的证明事项目录")
    doc.para("行政机关名称：{{ agency.name }}", indent=False)
    table = doc.repeating_table(
        ["序号", "证明事项", "证明用途", "设定依据", "索要单位", "开具单位", "监管措施", "备注"],
        [
            "{{ loop.index }}",
            "{{ r.name }}",
            "{{ r.purpose }}",
            "{{ r.basis }}",
            "{{ r.requester }}",
            "{{ r.issuer }}",
            "{{ r.supervision }}",
            "{{ r.remarks }}",
        ],
        loop="{%tr for r in items %}",
        widths_mm=[15, 30, 30, 59, 25, 25, 35, 18],
    )
    _cell_margins(table, Mm(CELL_MARGIN_MM), Mm(CELL_PADDING_MM))
    # The body row: the 序号 centred; a row is not split across pages unless it is taller than a page.
    body = table.rows[2]
    body.cells[0].paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.CENTER
    body._tr.get_or_add_trPr().append(OxmlElement("w:cantSplit"))
    # 说明: its label in the first column, the two notes in one cell across the others (as in the seed).
    row = table.add_row()
    label = row.cells[0].paragraphs[0]
    label.style = doc.s_cell_head
    label.add_run("说明")
    merged = row.cells[1].merge(row.cells[len(row.cells) - 1])
    first = merged.paragraphs[0]
    first.style = doc.s_cell
    first.add_run("1. 证明事项应当有法律、法规或者国务院决定依据。")
    second = merged.add_paragraph(style=doc.s_cell)
    second.add_run("2. 设定依据填写：依据名称、文号及条文内容等。")
    return doc


# --- 附件5 --------------------------------------------------------------------------------------------


def internal_verification() -> FormDocument:
    doc = FormDocument()
    doc.title("证明事项内部核验单")
    doc.subtitle("（{{ department }}）")
    doc.blank()
    doc.mixed(
        [
            ("经登录", T),
            ("{{ system }}", U),
            ("系统核实，申请人", T),
            ("{{ applicant }}", U),
            ("承诺的如下证明事项：", T),
        ]
    )
    doc.loop("{%p for item in items %}", ["{{ loop.index }}. {{ item }}"])
    doc.para("相关信息如下：")
    _lines(doc, "findings")
    doc.blank()
    doc.signature_block(["核验人（签字）：", "", "核验单位：{{ agency.name }}", "{{ verify_date|cn_date }}"], indent_mm=70)
    _keep_last(doc, 5)
    return doc


# --- 附件6 --------------------------------------------------------------------------------------------


def onsite_verification() -> FormDocument:
    # The seed prints this form with half-width punctuation (, : ( )); its fixed words are kept as printed.
    doc = FormDocument()
    doc.title("证明事项现场核验记录单")
    doc.subtitle("({{ department }})")
    doc.blank()
    doc.mixed([("申请人", T), ("{{ applicant }}", U), ("承诺的以下证明事项:", T)])
    doc.loop("{%p for item in items %}", ["{{ loop.index }}. {{ item.name }}"])
    doc.mixed([("经", T), ("{{ inspection_date|cn_date }}", U), ("现场核验,其有关情况记录如下:", T)])
    _lines(doc, "record")
    doc.control("{%p if nonconforming %}")
    doc.mixed(
        [
            ("不符合要求的事项", T),
            ("{{ nonconforming_text }}", U),
            (",请于", T),
            ("{{ days }}", U),
            ("个工作日将有关证明材料递交", T),
            ("{{ submit_to }}", U),
            (",逾期未递交的,按证明材料缺失处理,同时纳入失信惩戒名单。", T),
        ]
    )
    doc.para("{{ due_note }}")
    _keep_last(doc, 1)
    doc.control("{%p else %}")
    doc.para("经现场核验，申请人承诺的证明事项均符合要求。")
    _keep_last(doc, 1)
    doc.control("{%p endif %}")
    doc.blank()
    # The seal and date on the right, the two signatures on the left, kept on one page.
    table = doc.two_columns(
        [
            ("现场核验人员(签字):", "行政机关(公章)"),
            ("", ""),
            ("申请人(签字):", "{{ record_date|cn_date }}"),
        ]
    )
    _fixed_widths(table, [Mm(100), Mm(56)])
    _keep_together(table)
    return doc


# --- 附件7 --------------------------------------------------------------------------------------------


def _request(title: str, closing: list[tuple[str, bool]]) -> FormDocument:
    doc = FormDocument()
    doc.title(title)
    doc.number_line("{{ number }}")
    doc.para("{{ addressee }}：", indent=False)
    doc.mixed(
        [
            ("{{ visit_date|cn_date }}", U),
            ("，", T),
            ("{{ applicant }}", U),
            ("到我单位办理", T),
            ("{{ matter }}", U),
            ("事项，根据推行证明事项告知承诺制工作的要求，申请人已作出证明事项书面承诺，承诺内容为：", T),
        ]
    )
    doc.loop("{%p for item in items %}", ["{{ loop.index }}. {{ item }}"])
    doc.mixed(closing)
    doc.blank()
    doc.blank()
    _keep_last(doc, 3)
    _right(doc, "行政机关名称（公章）：{{ agency.name }}")
    _right(doc, "{{ letter_date|cn_date }}")
    doc.blank()
    doc.note("（一式两份，本部门一份，行政协助部门一份）")
    return doc


def assistance_request_written() -> FormDocument:
    return _request(
        "申请行政协助函（一）",
        [
            ("请贵单位对申请人书面承诺的真实性给予核查，在", T),
            ("{{ reply_days }}", U),
            ("个工作日内给予书面回复。", T),
        ],
    )


def assistance_request_visit() -> FormDocument:
    return _request(
        "申请行政协助函（二）",
        [
            ("兹派我单位", T),
            ("{{ staff[0] }}", U),
            ("、", T),
            ("{{ staff[1] }}", U),
            ("两名同志前往贵单位调查核实，请给予配合。", T),
        ],
    )


# --- 附件8 --------------------------------------------------------------------------------------------


def assistance_reply() -> FormDocument:
    doc = FormDocument()
    doc.title("行政协助回复函")
    doc.number_line("{{ number }}")
    doc.para("{{ addressee }}：", indent=False)
    doc.mixed(
        [
            ("{{ request_date|cn_date }}", U),
            ("，贵单位请我单位协助核实", T),
            ("{{ applicant }}", U),
            ("（申请人）承诺事项：", T),
        ]
    )
    doc.loop("{%p for item in items %}", ["{{ loop.index }}. {{ item }}"])
    doc.control("{%p if cannot_assist %}")
    doc.mixed(
        [
            ("根据贵单位行政协助函", T),
            ("{{ request_number }}", U),
            ("内容，我单位无法提供协助，原因见备注。", T),
        ]
    )
    _keep_last(doc, 1)
    doc.control("{%p else %}")
    doc.mixed(
        [
            ("根据贵单位行政协助函", T),
            ("{{ request_number }}", U),
            ("内容，经我单位核实，申请人承诺事项", T),
            ("{{ finding }}", U),
            ("。", T),
        ]
    )
    doc.control("{%p endif %}")
    doc.blank()
    doc.blank()
    _keep_last(doc, 4)
    _right(doc, "行政机关名称（公章）：{{ agency.name }}")
    _right(doc, "{{ reply_date|cn_date }}")
    doc.blank()
    doc.note("（一式两份，本部门一份，请求行政协助部门一份）")
    doc.control("{%p if cannot_assist %}")
    doc.blank()
    # 备注 with a hanging indent: the lines after the first align with the text after “备注：”.
    remark = doc.note("备注：无法提供协助的原因：{{ cannot_assist_reason }}")
    remark.paragraph_format.left_indent = Pt(NOTE_PT * 3)
    remark.paragraph_format.first_line_indent = Pt(-NOTE_PT * 3)
    doc.control("{%p if refer_to %}")
    referral = doc.note("该事项不属于本部门应当掌握的内容，建议请{{ refer_to }}予以行政协助。")
    referral.paragraph_format.left_indent = Pt(NOTE_PT * 3)
    doc.control("{%p endif %}")
    doc.control("{%p endif %}")
    return doc


TEMPLATES = {
    "item-catalog": item_catalog,
    "internal-verification": internal_verification,
    "onsite-verification": onsite_verification,
    "assistance-request-written": assistance_request_written,
    "assistance-request-visit": assistance_request_visit,
    "assistance-reply": assistance_reply,
}
