"""Builds the DOCX form templates in the official look (GB/T 9704-2012) with python-docx.

The templates in ``templates/`` are the product: agencies open and edit them in Word or LibreOffice.
This module only makes the first version of each reproducible (``python -m tools.build_templates``).

Layout: A4, margins 37/35/28/26 mm; title in a bold song face (2号, 22 pt), body in a fangsong face
(3号, 16 pt) on a fixed 28 pt line grid, headings in a hei face, and on every page a footer with the
registry serial, the verification URL, the QR code and the page number.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from pathlib import Path

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt
from docx.table import Table
from docx.text.paragraph import Paragraph

from service.rendering.slim import slim_docx

SONG_BOLD = "Noto Serif CJK SC"  # title: bold song (小标宋 stand-in)
FANGSONG = "FandolFang"  # body: 仿宋
HEI = "Noto Sans CJK SC"  # first-level headings: 黑体
KAI = "FandolKai"  # second-level headings: 楷体

BODY_PT = 16
LINE_PT = 28


def _set_fonts(rpr_owner, family: str) -> None:
    """Sets ascii, hAnsi and eastAsia fonts: Word and LibreOffice pick Chinese text's face from eastAsia."""
    rpr = rpr_owner.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)
    for attr in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(attr), family)


def _add_style(doc, name: str, family: str, size: float, *, bold: bool = False, align=None,
               indent_chars: float = 0, exact_line: float | None = LINE_PT, space_before: float = 0,
               space_after: float = 0, keep_with_next: bool = False):
    style = doc.styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
    style.base_style = doc.styles["Normal"]
    style.font.size = Pt(size)
    style.font.bold = bold
    _set_fonts(style.element, family)
    fmt = style.paragraph_format
    if align is not None:
        fmt.alignment = align
    if exact_line:
        fmt.line_spacing_rule = WD_LINE_SPACING.EXACTLY
        fmt.line_spacing = Pt(exact_line)
    fmt.first_line_indent = Pt(size * indent_chars) if indent_chars else None
    fmt.space_before = Pt(space_before)
    fmt.space_after = Pt(space_after)
    fmt.keep_with_next = keep_with_next
    fmt.widow_control = True
    return style


def _field(paragraph: Paragraph, instruction: str, placeholder: str = "1") -> None:
    fld = OxmlElement("w:fldSimple")
    fld.set(qn("w:instr"), instruction)
    run = OxmlElement("w:r")
    text = OxmlElement("w:t")
    text.text = placeholder
    run.append(text)
    fld.append(run)
    paragraph._p.append(fld)


def _no_borders(table: Table) -> None:
    tbl_pr = table._tbl.tblPr
    borders = OxmlElement("w:tblBorders")
    for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
        element = OxmlElement(f"w:{edge}")
        element.set(qn("w:val"), "nil")
        borders.append(element)
    tbl_pr.append(borders)


def _grid_borders(table: Table) -> None:
    tbl_pr = table._tbl.tblPr
    borders = OxmlElement("w:tblBorders")
    for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
        element = OxmlElement(f"w:{edge}")
        element.set(qn("w:val"), "single")
        element.set(qn("w:sz"), "6")
        element.set(qn("w:color"), "000000")
        borders.append(element)
    tbl_pr.append(borders)


def _fixed_widths(table: Table, widths) -> None:
    """Column widths that Word and LibreOffice both respect: fixed layout, grid and every cell."""
    table.autofit = False
    layout = OxmlElement("w:tblLayout")
    layout.set(qn("w:type"), "fixed")
    table._tbl.tblPr.append(layout)
    for column, width in zip(table.columns, widths, strict=True):
        column.width = width
        for cell in column.cells:
            cell.width = width


def _repeat_header(row) -> None:
    tr_pr = row._tr.get_or_add_trPr()
    header = OxmlElement("w:tblHeader")
    tr_pr.append(header)
    cant_split = OxmlElement("w:cantSplit")
    tr_pr.append(cant_split)


class FormDocument:
    """One form template under construction. Text passed in may contain docxtpl/Jinja tags."""

    def __init__(self, *, landscape: bool = False) -> None:
        self.doc = Document()
        section = self.doc.sections[0]
        if landscape:
            section.orientation = WD_ORIENT.LANDSCAPE
            section.page_width, section.page_height = Mm(297), Mm(210)
            section.top_margin, section.bottom_margin = Mm(28), Mm(30)
            section.left_margin, section.right_margin = Mm(30), Mm(30)
        else:
            section.page_width, section.page_height = Mm(210), Mm(297)
            section.top_margin, section.bottom_margin = Mm(37), Mm(35)
            section.left_margin, section.right_margin = Mm(28), Mm(26)
        section.header_distance = Mm(15)
        section.footer_distance = Mm(8)
        self.landscape = landscape

        normal = self.doc.styles["Normal"]
        normal.font.size = Pt(BODY_PT)
        _set_fonts(normal.element, FANGSONG)
        normal.paragraph_format.space_after = Pt(0)
        normal.paragraph_format.space_before = Pt(0)

        center, right = WD_ALIGN_PARAGRAPH.CENTER, WD_ALIGN_PARAGRAPH.RIGHT
        justify = WD_ALIGN_PARAGRAPH.JUSTIFY
        self.s_title = _add_style(self.doc, "Form Title", SONG_BOLD, 22, bold=True, align=center,
                                  exact_line=None, space_after=12)
        self.s_subtitle = _add_style(self.doc, "Form Subtitle", FANGSONG, BODY_PT, align=center)
        self.s_number = _add_style(self.doc, "Form Number", FANGSONG, BODY_PT, align=center, space_after=8)
        self.s_heading = _add_style(self.doc, "Form Heading 1", HEI, BODY_PT, align=justify, keep_with_next=True,
                                    indent_chars=2)
        self.s_subheading = _add_style(self.doc, "Form Heading 2", KAI, BODY_PT, align=justify, keep_with_next=True,
                                       indent_chars=2)
        self.s_body = _add_style(self.doc, "Form Body", FANGSONG, BODY_PT, align=justify, indent_chars=2)
        self.s_plain = _add_style(self.doc, "Form Plain", FANGSONG, BODY_PT, align=justify)
        self.s_right = _add_style(self.doc, "Form Signature", FANGSONG, BODY_PT, align=right)
        self.s_note = _add_style(self.doc, "Form Note", FANGSONG, 14, align=justify, exact_line=22)
        self.s_cell = _add_style(self.doc, "Form Table Text", FANGSONG, 12, exact_line=None)
        self.s_cell_head = _add_style(self.doc, "Form Table Head", HEI, 12, align=center, exact_line=None)
        self.s_footer = _add_style(self.doc, "Form Footer", FANGSONG, 9, exact_line=None)
        self._compat()
        self._footer()

    def _compat(self) -> None:
        """A line ended by a manual break (a newline the user typed) is not stretched to full width."""
        settings = self.doc.settings.element
        compat = settings.find(qn("w:compat"))
        if compat is None:
            compat = OxmlElement("w:compat")
            settings.append(compat)
        compat.append(OxmlElement("w:doNotExpandShiftReturn"))

    # --- footer --------------------------------------------------------------------------------

    def _footer(self) -> None:
        footer = self.doc.sections[0].footer
        footer.is_linked_to_previous = False
        usable = self.doc.sections[0].page_width - self.doc.sections[0].left_margin - self.doc.sections[0].right_margin
        table = footer.add_table(rows=1, cols=2, width=usable)
        _no_borders(table)
        _fixed_widths(table, [usable - Mm(22), Mm(22)])
        left, right = table.rows[0].cells
        text = left.paragraphs[0]
        text.style = self.s_footer
        text.add_run("登记编号 Serial：{{ serial }}")
        line = left.add_paragraph(style=self.s_footer)
        line.add_run("核验网址 Verify：{{ verify_url }}")
        page = left.add_paragraph(style=self.s_footer)
        page.add_run("第 ")
        _field(page, "PAGE")
        page.add_run(" 页 / 共 ")
        _field(page, "NUMPAGES")
        page.add_run(" 页　扫描二维码或上传文件核验真伪")
        qr_paragraph = right.paragraphs[0]
        qr_paragraph.style = self.s_footer
        qr_paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT
        qr_paragraph.add_run("{{ qr }}")
        # The first (empty) paragraph python-docx puts in a footer would add a blank line.
        first = footer.paragraphs[0]
        if not first.text:
            first._p.getparent().remove(first._p)

    # --- blocks ----------------------------------------------------------------------------------

    def _paragraph(self, text: str, style, *, bold: bool = False) -> Paragraph:
        paragraph = self.doc.add_paragraph(style=style)
        if text:
            run = paragraph.add_run(text)
            run.bold = bold or None
        return paragraph

    def title(self, text: str) -> Paragraph:
        return self._paragraph(text, self.s_title)

    def subtitle(self, text: str) -> Paragraph:
        return self._paragraph(text, self.s_subtitle)

    def number_line(self, text: str = "{{ number }}") -> Paragraph:
        """The official number, centred under the title."""
        return self._paragraph(text, self.s_number)

    def heading(self, text: str) -> Paragraph:
        return self._paragraph(text, self.s_heading)

    def subheading(self, text: str) -> Paragraph:
        return self._paragraph(text, self.s_subheading)

    def para(self, text: str = "", *, indent: bool = True, bold: bool = False) -> Paragraph:
        return self._paragraph(text, self.s_body if indent else self.s_plain, bold=bold)

    def mixed(self, parts: Iterable[tuple[str, bool]], *, indent: bool = True) -> Paragraph:
        """A paragraph of runs, each ``(text, underline)``: filled-in blanks are underlined as on paper."""
        paragraph = self.doc.add_paragraph(style=self.s_body if indent else self.s_plain)
        for text, underline in parts:
            run = paragraph.add_run(text)
            if underline:
                run.underline = True
        return paragraph

    def right(self, text: str) -> Paragraph:
        return self._paragraph(text, self.s_right)

    def note(self, text: str) -> Paragraph:
        return self._paragraph(text, self.s_note)

    def blank(self) -> Paragraph:
        return self._paragraph("", self.s_plain)

    def loop(self, opening: str, body: Sequence[str], *, indent: bool = True, closing: str = "{%p endfor %}") -> None:
        """A paragraph loop: ``{%p for … %}`` paragraph, the body paragraphs, ``{%p endfor %}`` paragraph."""
        self._paragraph(opening, self.s_plain)
        for text in body:
            self.para(text, indent=indent)
        self._paragraph(closing, self.s_plain)

    def control(self, tag: str) -> Paragraph:
        """A paragraph holding only a ``{%p … %}`` tag (if/endif); docxtpl removes it on rendering."""
        return self._paragraph(tag, self.s_plain)

    def signature_block(self, lines: Sequence[str], *, indent_mm: float = 80) -> None:
        """Lines starting at ``indent_mm`` from the left margin, as the seal/date block sits on paper."""
        for text in lines:
            paragraph = self.doc.add_paragraph(style=self.s_plain)
            paragraph.paragraph_format.left_indent = Mm(indent_mm)
            if text:
                paragraph.add_run(text)

    def two_columns(self, rows: Sequence[tuple[str, str]]) -> Table:
        """A borderless two-column block (e.g. applicant signature on the left, agency seal on the right)."""
        table = self.doc.add_table(rows=len(rows), cols=2)
        _no_borders(table)
        for row, (left, right) in zip(table.rows, rows, strict=True):
            for cell, text in ((row.cells[0], left), (row.cells[1], right)):
                paragraph = cell.paragraphs[0]
                paragraph.style = self.s_plain
                if text:
                    paragraph.add_run(text)
        return table

    def grid(self, rows: Sequence[Sequence[str]], widths_mm: Sequence[float] | None = None) -> Table:
        """A bordered table of fixed cells (label/value pairs, like the liaison form)."""
        table = self.doc.add_table(rows=len(rows), cols=len(rows[0]))
        _grid_borders(table)
        table.alignment = WD_TABLE_ALIGNMENT.CENTER
        if widths_mm:
            _fixed_widths(table, [Mm(w) for w in widths_mm])
        for row, texts in zip(table.rows, rows, strict=True):
            row.height = Mm(14)
            for cell, text in zip(row.cells, texts, strict=True):
                paragraph = cell.paragraphs[0]
                paragraph.style = self.s_plain
                paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
                if text:
                    paragraph.add_run(text)
        return table

    def repeating_table(
        self,
        headers: Sequence[str],
        cells: Sequence[str],
        *,
        loop: str,
        widths_mm: Sequence[float],
        footer_rows: Sequence[Sequence[str]] = (),
    ) -> Table:
        """A table whose header repeats on every page and whose body row repeats per item.

        ``loop`` is the ``{%tr for … %}`` opening, e.g. ``"{%tr for row in items %}"``; ``cells`` hold
        the row's expressions. ``footer_rows`` are fixed rows after the loop (a row of one merged cell
        when it has a single text).
        """
        columns = len(headers)
        table = self.doc.add_table(rows=4, cols=columns)
        _grid_borders(table)
        table.alignment = WD_TABLE_ALIGNMENT.CENTER
        _fixed_widths(table, [Mm(w) for w in widths_mm])
        head, opening, body, closing = table.rows
        _repeat_header(head)
        for i, text in enumerate(headers):
            paragraph = head.cells[i].paragraphs[0]
            paragraph.style = self.s_cell_head
            paragraph.add_run(text)
        opening.cells[0].paragraphs[0].add_run(loop)
        closing.cells[0].paragraphs[0].add_run("{%tr endfor %}")
        for i, text in enumerate(cells):
            paragraph = body.cells[i].paragraphs[0]
            paragraph.style = self.s_cell
            paragraph.add_run(text)
        for texts in footer_rows:
            row = table.add_row()
            if len(texts) == 1:
                merged = row.cells[0].merge(row.cells[columns - 1])
                paragraph = merged.paragraphs[0]
                paragraph.style = self.s_cell
                paragraph.add_run(texts[0])
            else:
                for i, text in enumerate(texts):
                    paragraph = row.cells[i].paragraphs[0]
                    paragraph.style = self.s_cell
                    paragraph.add_run(text)
        return table

    def page_break(self) -> None:
        self.doc.add_page_break()

    def save(self, path: Path) -> None:
        self.doc.core_properties.author = "chengnuo"
        self.doc.core_properties.title = ""
        path.parent.mkdir(parents=True, exist_ok=True)
        out = io.BytesIO()
        self.doc.save(out)
        path.write_bytes(slim_docx(out.getvalue()))
