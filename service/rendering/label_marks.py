"""Bookmarks at the signature labels of a template, which LibreOffice exports as PDF named destinations.

The signing stage must know where each label (行政机关（公章）, 申请人签名 …) landed on the page.
Reading that back from the PDF's text with PDFium costs ~3.5 ms of CPU per document (PDFium parses
the whole page and its fonts); a named destination is a dictionary lookup. So before a template is
used, the last occurrence of each label gets three zero-width bookmarks: where the label starts,
where it ends, and where its paragraph ends. ``signing/spots.py`` reads them back.

Only a label that sits whole in one run of plain text is marked; anything else is left alone, and
the signing stage then finds that label with PDFium as before.
"""

from __future__ import annotations

import copy
import hashlib
import io
import zipfile
from collections.abc import Iterable

from lxml import etree

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
DOCUMENT = "word/document.xml"
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True)
_XML_SPACE = "{http://www.w3.org/XML/1998/namespace}space"


def _w(tag: str) -> str:
    return f"{{{W}}}{tag}"


def bookmark_names(label: str) -> tuple[str, str, str]:
    """The bookmarks at the start of ``label``, its end, and the end of its line. Letters and digits
    only: LibreOffice writes other characters of a destination name escaped."""
    stem = "cnlabel" + hashlib.sha1(label.encode("utf-8")).hexdigest()[:12]
    return f"{stem}s", f"{stem}e", f"{stem}l"


def mark_labels(docx: bytes, labels: Iterable[str]) -> bytes:
    """``docx`` with the labels' bookmarks added to its body; unchanged if there is nothing to mark."""
    wanted = [label for label in dict.fromkeys(labels) if label]
    if not wanted:
        return docx
    try:
        with zipfile.ZipFile(io.BytesIO(docx)) as archive:
            infos = archive.infolist()
            parts = {info.filename: archive.read(info) for info in infos}
        root = etree.fromstring(parts[DOCUMENT], _PARSER)
    except (zipfile.BadZipFile, KeyError, etree.XMLSyntaxError):
        return docx
    next_id = 1 + max((int(b.get(_w("id"), "0")) for b in root.iter(_w("bookmarkStart")) if b.get(_w("id"), "").isdigit()), default=9000)
    marked = 0
    for label in wanted:
        if _mark(root, label, next_id):
            next_id += 3
            marked += 1
    if not marked:
        return docx
    parts[DOCUMENT] = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for info in infos:
            archive.writestr(info.filename, parts[info.filename], compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


def _mark(root: etree._Element, label: str, first_id: int) -> bool:
    start_name, end_name, line_name = bookmark_names(label)
    if any(b.get(_w("name")) == start_name for b in root.iter(_w("bookmarkStart"))):
        return False  # marked already (a template saved from a rendered document)
    hits = [t for t in root.iter(_w("t")) if t.text and label in t.text]
    if not hits:
        return False
    text = hits[-1]
    run = text.getparent()
    paragraph = run.getparent() if run is not None else None
    if run is None or run.tag != _w("r") or paragraph is None or paragraph.tag != _w("p"):
        return False
    if [child for child in run if child.tag != _w("rPr")] != [text]:
        return False  # a run with tabs, breaks or pictures besides its text: not split here
    at = text.text.rfind(label)
    before, after = text.text[:at], text.text[at + len(label):]
    elements = [
        *([_run_like(run, before)] if before else []),
        *_bookmark(start_name, first_id),
        _run_like(run, label),
        *_bookmark(end_name, first_id + 1),
        *([_run_like(run, after)] if after else []),
    ]
    index = paragraph.index(run)
    paragraph.remove(run)
    for offset, element in enumerate(elements):
        paragraph.insert(index + offset, element)
    paragraph.extend(_bookmark(line_name, first_id + 2))
    return True


def _run_like(run: etree._Element, text: str) -> etree._Element:
    """A copy of ``run`` (its formatting) holding ``text``."""
    copied = copy.deepcopy(run)
    t = copied.find(_w("t"))
    t.text = text
    t.set(_XML_SPACE, "preserve")
    return copied


def _bookmark(name: str, id_: int) -> tuple[etree._Element, etree._Element]:
    start = etree.Element(_w("bookmarkStart"), {_w("id"): str(id_), _w("name"): name})
    end = etree.Element(_w("bookmarkEnd"), {_w("id"): str(id_)})
    return start, end
