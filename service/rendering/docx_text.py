"""Where things are in a DOCX, said as a person reading it in Word would: 第 12 段, 表格 2 第 3 行.

A story (the body, a header, a footer) is read as its paragraphs and table rows in document order,
each with its location and its visible text. The template check (template_check.py) marks the same
elements in the template's Jinja source to say where a placeholder or an error is, and seed_text.py
reads the fixed sentences of a template with it. Only for packages that passed docx_guard.
"""

from __future__ import annotations

import io
import posixpath
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass

from lxml import etree

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_P, _TR, _TC, _TBL, _T, _TAB, _FLDCHAR, _FLDSIMPLE = (f"{{{W}}}{tag}" for tag in ("p", "tr", "tc", "tbl", "t", "tab", "fldChar", "fldSimple"))
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
_RELS = "{http://schemas.openxmlformats.org/package/2006/relationships}Relationship"
_OFFICE = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/"
ANCHOR = re.compile(r"<w:(?:p|tr)(?=[ >/])")  # the elements located, as they start in the XML text
_WHITESPACE = re.compile(r"\s+")
STORIES = {"body": ("", ""), "header": ("页眉", "header "), "footer": ("页脚", "footer ")}


@dataclass(frozen=True)
class Anchor:
    """A paragraph (``kind`` "p") or a table row ("tr"), where it is and what it shows."""

    kind: str
    location: str  # "第 12 段 / paragraph 12", "表格 2 第 3 行第 1 格 / table 2 row 3 cell 1", "页眉第 1 段 / header paragraph 1"
    text: str


def anchors(xml: str | bytes, story: str = "body") -> list[Anchor]:
    """Every paragraph and table row of a story's XML, in document order (the order in which ANCHOR
    finds their start tags in the text)."""
    root = etree.fromstring(xml.encode("utf-8") if isinstance(xml, str) else xml, _PARSER)
    zh_story, en_story = STORIES[story]
    tables = {table: number for number, table in enumerate(root.iter(_TBL), start=1)}
    found: list[Anchor] = []
    paragraphs = 0
    for element in root.iter(_P, _TR):
        if element.tag == _TR:
            table, row = _row_place(element, tables)
            found.append(Anchor("tr", f"{zh_story}表格 {table} 第 {row} 行 / {en_story}table {table} row {row}", text_of(element)))
            continue
        cell = next((a for a in element.iterancestors(_TC)), None)
        if cell is not None and cell.getparent() is not None and cell.getparent().tag == _TR:
            table, row = _row_place(cell.getparent(), tables)
            column = sum(1 for sibling in cell.itersiblings(_TC, preceding=True)) + 1
            location = f"{zh_story}表格 {table} 第 {row} 行第 {column} 格 / {en_story}table {table} row {row} cell {column}"
        else:
            paragraphs += 1
            location = f"{zh_story}第 {paragraphs} 段 / {en_story}paragraph {paragraphs}"
        found.append(Anchor("p", location, text_of(element)))
    return found


def _row_place(row: etree._Element, tables: dict[etree._Element, int]) -> tuple[int, int]:
    table = row.getparent()
    number = sum(1 for _ in row.itersiblings(_TR, preceding=True)) + 1
    return tables.get(table, 0), number


def text_of(element: etree._Element) -> str:
    """The visible text: w:t contents, a tab as a space; not the results of fields (page numbers,
    which Word updates as it pleases)."""
    pieces: list[str] = []
    fields: list[bool] = []  # for each open field: showing its result
    for node in element.iter(_T, _TAB, _FLDCHAR):
        if node.tag == _FLDCHAR:
            kind = node.get(f"{{{W}}}fldCharType")
            if kind == "begin":
                fields.append(False)
            elif kind == "separate" and fields:
                fields[-1] = True
            elif kind == "end" and fields:
                fields.pop()
        elif any(fields) or _in_simple_field(node):
            continue
        else:
            pieces.append(node.text or "" if node.tag == _T else " ")
    return "".join(pieces)


def _in_simple_field(node: etree._Element) -> bool:
    run = node.getparent()
    return run is not None and run.getparent() is not None and run.getparent().tag == _FLDSIMPLE


def normalise(text: str) -> str:
    """Text compared for sameness: whitespace removed (Chinese needs none, and Word adds some as it pleases)."""
    return _WHITESPACE.sub("", text)


def excerpt(text: str, needle: str = "", width: int = 80) -> str:
    """``text`` cut to ``width`` characters around ``needle``."""
    text = " ".join(text.split())
    if len(text) <= width:
        return text
    at = max(text.find(needle), 0) if needle else 0
    start = max(0, min(at - width // 3, len(text) - width))
    return ("…" if start else "") + text[start:start + width] + ("…" if start + width < len(text) else "")


def stories(docx: bytes) -> Iterator[tuple[str, bytes]]:
    """The body, then the headers and footers, of a package: (story, XML)."""
    with zipfile.ZipFile(io.BytesIO(docx)) as archive:
        yield "body", archive.read("word/document.xml")
        try:
            rels = etree.fromstring(archive.read("word/_rels/document.xml.rels"), _PARSER)
        except KeyError:
            return
        names = set(archive.namelist())
        for rel in rels.iter(_RELS):
            kind = rel.get("Type", "").removeprefix(_OFFICE)
            target = posixpath.normpath(posixpath.join("word", rel.get("Target", "")))
            if kind in ("header", "footer") and rel.get("TargetMode") != "External" and target in names:
                yield kind, archive.read(target)
