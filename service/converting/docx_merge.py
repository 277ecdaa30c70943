"""Several rendered DOCX → one, a section per document, so that LibreOffice converts them in one load.

Each document keeps what it would have alone: its body, its page setup and its own footer (with its
own QR code), in a section of its own whose page numbers restart at 1; the footer's page total
(NUMPAGES, which counts the whole file) becomes a PAGEREF to a bookmark at the end of the document's
own body, which LibreOffice 7.4 numbers within the section (SECTIONPAGES, Word's field for this,
LibreOffice imports as the page count of the whole file). Bookmarks at the start and the end of each
body say where each document landed in the PDF (``pdf_split.py``); every bookmark of the document
itself (the signature labels of ``rendering/label_marks.py``) gets a per-document suffix, removed
again when the PDF is split.

Only documents that are sure to lay out as they do alone are merged (:func:`inspect`): one section,
no fields but PAGE and NUMPAGES, no lists, footnotes or comments (whose numbering would run on
across documents), and the same settings, theme, fonts and numbering parts as the other documents of
the merge (the styles may differ where they do not clash: the merged file has their union).
"""

from __future__ import annotations

import copy
import hashlib
import io
import posixpath
import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field

from lxml import etree

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PACKAGE_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
CONTENT_TYPES = "http://schemas.openxmlformats.org/package/2006/content-types"
WP = "http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing"

DOCUMENT = "word/document.xml"
STYLES = "word/styles.xml"
# Parts that must be the same in every document of one merge: they act on the whole file.
SHARED_PARTS = ("word/settings.xml", "word/webSettings.xml", "word/theme/theme1.xml", "word/fontTable.xml",
                "word/numbering.xml", "docProps/core.xml")
_IMAGE = f"{R}/image"
_HEADER, _FOOTER, _HYPERLINK = f"{R}/header", f"{R}/footer", f"{R}/hyperlink"
MOVABLE_RELATIONSHIPS = frozenset({_IMAGE, _HEADER, _FOOTER, _HYPERLINK})
BODY_FIELDS = frozenset({"PAGE"})
FOOTER_FIELDS = frozenset({"PAGE", "NUMPAGES"})
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True)
_MARK = re.compile(r"^cnbatch(\d{4})([se])$")


def _w(tag: str) -> str:
    return f"{{{W}}}{tag}"


def start_mark(index: int) -> str:
    """The bookmark at the start of document ``index``'s body (letters and digits only, as LibreOffice
    writes other characters of a destination name escaped)."""
    return f"cnbatch{index:04d}s"


def end_mark(index: int) -> str:
    """The bookmark at the end of document ``index``'s body: on its last page."""
    return f"cnbatch{index:04d}e"


def own_suffix(index: int) -> str:
    """What document ``index``'s own bookmark names get appended in the merged file."""
    return f"cnb{index:04d}"


class Unmergeable(Exception):
    """This document must be converted alone; the message says why (for the log)."""


@dataclass
class Source:
    """One rendered DOCX, read and checked for merging."""

    parts: dict[str, bytes]
    document: etree._Element
    rels: dict[str, tuple[str, str, str | None]]  # Id → (type, target, target mode)
    styles: dict[str, bytes] = field(default_factory=dict)  # styleId → its definition, canonical
    key: str = ""  # same key: same shared parts and style defaults


def _words(instr: str) -> str:
    return (instr.split() or [""])[0].upper()


def _fields(root: etree._Element) -> set[str]:
    found = {_words(f.get(_w("instr"), "")) for f in root.iter(_w("fldSimple"))}
    found |= {_words(t.text or "") for t in root.iter(_w("instrText")) if (t.text or "").strip()}
    return found


def _read_rels(parts: dict[str, bytes], part: str) -> dict[str, tuple[str, str, str | None]]:
    name = posixpath.join(posixpath.dirname(part), "_rels", posixpath.basename(part) + ".rels")
    if name not in parts:
        return {}
    root = etree.fromstring(parts[name], _PARSER)
    return {rel.get("Id"): (rel.get("Type"), rel.get("Target"), rel.get("TargetMode")) for rel in root}


def inspect(docx: bytes) -> Source:
    """The document read for merging. Raises Unmergeable if it must be converted alone."""
    try:
        with zipfile.ZipFile(io.BytesIO(docx)) as archive:
            parts = {info.filename: archive.read(info) for info in archive.infolist()}
        document = etree.fromstring(parts[DOCUMENT], _PARSER)
        styles_root = etree.fromstring(parts[STYLES], _PARSER) if STYLES in parts else None
        rels = _read_rels(parts, DOCUMENT)
    except (zipfile.BadZipFile, KeyError, etree.XMLSyntaxError, ValueError) as exc:
        raise Unmergeable(f"unreadable DOCX: {type(exc).__name__}") from exc
    body = document.find(_w("body"))
    children = list(body) if body is not None else []
    if len(children) < 2 or children[-1].tag != _w("sectPr") or children[-2].tag not in (_w("p"), _w("tbl")):
        raise Unmergeable("the body does not end with a paragraph or a table, and its section properties")
    section = children[-1]
    if len(list(body.iter(_w("sectPr")))) != 1:
        raise Unmergeable("more than one section")
    kind = section.find(_w("type"))
    if kind is not None and kind.get(_w("val")) not in (None, "nextPage"):
        raise Unmergeable(f"a section that starts with a {kind.get(_w('val'))} break")
    if not _fields(body) <= BODY_FIELDS:
        raise Unmergeable(f"fields in the body: {sorted(_fields(body) - BODY_FIELDS)}")
    if any(True for _ in body.iter(_w("numPr"))):
        raise Unmergeable("numbered paragraphs (their numbers would run on across documents)")
    for rel_id in _relationship_ids(body):
        if rel_id not in rels:
            raise Unmergeable(f"a relationship {rel_id} that the package does not have")
        kind_, target, _mode = rels[rel_id]
        if kind_ not in MOVABLE_RELATIONSHIPS:
            raise Unmergeable(f"a part of type {kind_.rsplit('/', 1)[-1]}")
        if kind_ in (_HEADER, _FOOTER):
            part = _resolve(DOCUMENT, target)
            if part not in parts:
                raise Unmergeable(f"the part {part} is missing")
            root = etree.fromstring(parts[part], _PARSER)
            if not _fields(root) <= FOOTER_FIELDS:
                raise Unmergeable(f"fields in a header or footer: {sorted(_fields(root) - FOOTER_FIELDS)}")
            if any(r[0] not in (_IMAGE, _HYPERLINK) for r in _read_rels(parts, part).values()):
                raise Unmergeable("a header or footer with parts other than pictures and links")
    styles: dict[str, bytes] = {}
    digest = hashlib.sha256()
    for name in SHARED_PARTS:
        digest.update(name.encode() + b"\0" + hashlib.sha256(parts.get(name, b"")).digest())
    if styles_root is not None:
        numbered = set()
        for style in styles_root.iter(_w("style")):
            styles[style.get(_w("styleId"), "")] = etree.tostring(style, method="c14n")
            if style.find(f"{_w('pPr')}/{_w('numPr')}") is not None:
                numbered.add(style.get(_w("styleId")))
        used = {p.get(_w("val")) for p in body.iter(_w("pStyle"))}
        if used & _with_based_on(styles_root, numbered):
            raise Unmergeable("paragraphs in a numbered style (their numbers would run on across documents)")
        for child in styles_root:
            if child.tag != _w("style"):
                digest.update(etree.tostring(child, method="c14n"))
    return Source(parts, document, rels, styles, digest.hexdigest())


def _with_based_on(styles_root: etree._Element, numbered: set[str]) -> set[str]:
    """The numbered styles and every style based on one of them, however indirectly."""
    based = {s.get(_w("styleId")): (s.find(_w("basedOn")).get(_w("val")) if s.find(_w("basedOn")) is not None else None)
             for s in styles_root.iter(_w("style"))}
    result = set(numbered)
    for style in based:
        seen, current = set(), style
        while current and current not in seen:
            if current in numbered:
                result.add(style)
                break
            seen.add(current)
            current = based.get(current)
    return result


def clashes(styles: dict[str, bytes], other: dict[str, bytes]) -> bool:
    """Whether two documents define one style id differently (they cannot share a file)."""
    return any(styles[k] != other[k] for k in styles.keys() & other.keys())


def _relationship_ids(element: etree._Element) -> list[str]:
    ids: list[str] = []
    for node in element.iter():
        for name, value in node.attrib.items():
            if name.startswith(f"{{{R}}}") and value not in ids:
                ids.append(value)
    return ids


def _resolve(source_part: str, target: str) -> str:
    if target.startswith("/"):
        return target.lstrip("/")
    return posixpath.normpath(posixpath.join(posixpath.dirname(source_part), target))


def _relative(source_part: str, part: str) -> str:
    return posixpath.relpath(part, posixpath.dirname(source_part))


class _Package:
    """The merged file being built: the first document's parts, then what the others bring."""

    def __init__(self, first: Source) -> None:
        self.parts = dict(first.parts)
        self.types = etree.fromstring(self.parts["[Content_Types].xml"], _PARSER)
        self.rels_root = etree.fromstring(self.parts["word/_rels/document.xml.rels"], _PARSER)
        self.styles = etree.fromstring(self.parts[STYLES], _PARSER) if STYLES in self.parts else None
        self.style_ids = set(first.styles)
        for rel in list(self.rels_root):  # the first document's footers and pictures are copied like the others'
            if rel.get("Type") in MOVABLE_RELATIONSHIPS:
                self.rels_root.remove(rel)
                if rel.get("TargetMode") != "External":
                    self._drop(_resolve(DOCUMENT, rel.get("Target")))

    def _drop(self, part: str) -> None:
        rels_name = posixpath.join(posixpath.dirname(part), "_rels", posixpath.basename(part) + ".rels")
        for kind, target, mode in _read_rels(self.parts, part).values():
            if mode != "External":
                self._drop(_resolve(part, target))
        self.parts.pop(part, None)
        self.parts.pop(rels_name, None)
        for override in list(self.types.iter(f"{{{CONTENT_TYPES}}}Override")):
            if override.get("PartName") == "/" + part:
                self.types.remove(override)

    def content_type(self, source: Source, part: str) -> str | None:
        types = etree.fromstring(source.parts["[Content_Types].xml"], _PARSER)
        for override in types.iter(f"{{{CONTENT_TYPES}}}Override"):
            if override.get("PartName") == "/" + part:
                return override.get("ContentType")
        return None

    def copy_part(self, source: Source, part: str, new_part: str, transform=None) -> None:
        """``part`` of ``source`` as ``new_part``, with the parts it refers to copied along (same prefix)."""
        data = source.parts[part]
        rels_name = posixpath.join(posixpath.dirname(part), "_rels", posixpath.basename(part) + ".rels")
        if rels_name in source.parts:
            rels = etree.fromstring(source.parts[rels_name], _PARSER)
            for rel in rels:
                if rel.get("TargetMode") == "External":
                    continue
                target = _resolve(part, rel.get("Target"))
                copied = posixpath.join(posixpath.dirname(target), posixpath.basename(new_part).split("_")[0] + "_" + posixpath.basename(target))
                self.copy_part(source, target, copied)
                rel.set("Target", _relative(new_part, copied))
            self.parts[posixpath.join(posixpath.dirname(new_part), "_rels", posixpath.basename(new_part) + ".rels")] = etree.tostring(
                rels, xml_declaration=True, encoding="UTF-8", standalone=True)
        if transform is not None:
            data = transform(data)
        self.parts[new_part] = data
        content_type = self.content_type(source, part)
        if content_type:
            etree.SubElement(self.types, f"{{{CONTENT_TYPES}}}Override", PartName="/" + new_part, ContentType=content_type)
        else:
            extension = posixpath.splitext(part)[1].lstrip(".").lower()
            known = {d.get("Extension", "").lower() for d in self.types.iter(f"{{{CONTENT_TYPES}}}Default")}
            if extension not in known:
                source_types = etree.fromstring(source.parts["[Content_Types].xml"], _PARSER)
                for default in source_types.iter(f"{{{CONTENT_TYPES}}}Default"):
                    if default.get("Extension", "").lower() == extension:
                        self.types.append(copy.deepcopy(default))

    def add_relationship(self, rel_id: str, kind: str, target: str, mode: str | None) -> None:
        attributes = {"Id": rel_id, "Type": kind, "Target": target}
        if mode:
            attributes["TargetMode"] = mode
        etree.SubElement(self.rels_root, f"{{{PACKAGE_RELS}}}Relationship", attributes)

    def add_styles(self, source: Source) -> None:
        if self.styles is None or STYLES not in source.parts:
            return
        for style in etree.fromstring(source.parts[STYLES], _PARSER).iter(_w("style")):
            if style.get(_w("styleId"), "") not in self.style_ids:
                self.styles.append(copy.deepcopy(style))
                self.style_ids.add(style.get(_w("styleId"), ""))

    def save(self, document: etree._Element) -> bytes:
        self.parts[DOCUMENT] = _xml(document)
        self.parts["[Content_Types].xml"] = _xml(self.types)
        self.parts["word/_rels/document.xml.rels"] = _xml(self.rels_root)
        if self.styles is not None:
            self.parts[STYLES] = _xml(self.styles)
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("[Content_Types].xml", self.parts.pop("[Content_Types].xml"))
            for name, data in self.parts.items():
                archive.writestr(name, data)
        return out.getvalue()


def _xml(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def _page_total(index: int):
    """The footer's NUMPAGES → the page of this document's end bookmark, numbered within its section."""
    instruction = f" PAGEREF {end_mark(index)} "

    def transform(data: bytes) -> bytes:
        root = etree.fromstring(data, _PARSER)
        for simple in root.iter(_w("fldSimple")):
            if _words(simple.get(_w("instr"), "")) == "NUMPAGES":
                simple.set(_w("instr"), instruction)
        for text in root.iter(_w("instrText")):
            if _words(text.text or "") == "NUMPAGES":
                text.text = instruction
        _renumber_drawings(root, index)
        return _xml(root)

    return transform


def _renumber_drawings(root: etree._Element, index: int) -> None:
    """Drawing ids are unique per file: each document's get their own range."""
    for drawing in root.iter(f"{{{WP}}}docPr"):
        if drawing.get("id", "").isdigit():
            drawing.set("id", str(int(drawing.get("id")) + 100_000 * index))


def _bookmark(name: str, id_: int) -> tuple[etree._Element, etree._Element]:
    return (etree.Element(_w("bookmarkStart"), {_w("id"): str(id_), _w("name"): name}),
            etree.Element(_w("bookmarkEnd"), {_w("id"): str(id_)}))


def _first_paragraph(elements: list[etree._Element]) -> etree._Element:
    for element in elements:
        paragraph = element if element.tag == _w("p") else next(element.iter(_w("p")), None)
        if paragraph is not None:
            return paragraph
    raise Unmergeable("no paragraph")  # not reached: inspect() requires a last paragraph


def _mark_body(elements: list[etree._Element], index: int, next_id: int) -> int:
    """Suffixes the document's own bookmarks and adds the start and end marks; returns the next free id."""
    ids: dict[str, str] = {}
    for element in elements:
        for node in element.iter(_w("bookmarkStart"), _w("bookmarkEnd")):
            old = node.get(_w("id"), "")
            if old not in ids:
                ids[old] = str(next_id)
                next_id += 1
            node.set(_w("id"), ids[old])
            if node.tag == _w("bookmarkStart") and node.get(_w("name")):
                node.set(_w("name"), node.get(_w("name")) + own_suffix(index))
        _renumber_drawings(element, index)
    first = _first_paragraph(elements)
    start = _bookmark(start_mark(index), next_id)
    properties = first.find(_w("pPr"))
    at = 0 if properties is None else first.index(properties) + 1
    first.insert(at, start[1])
    first.insert(at, start[0])
    last = elements[-1] if elements[-1].tag == _w("p") else list(elements[-1].iter(_w("p")))[-1]
    last.extend(_bookmark(end_mark(index), next_id + 1))
    return next_id + 2


def _carrier() -> etree._Element:
    """The paragraph that ends the section of a document whose body ends with a table: as thin as a
    paragraph gets, since alone LibreOffice drops the empty paragraph it adds after a closing table."""
    paragraph = etree.Element(_w("p"))
    properties = etree.SubElement(paragraph, _w("pPr"))
    etree.SubElement(properties, _w("spacing"), {_w("before"): "0", _w("after"): "0", _w("line"): "20", _w("lineRule"): "exact"})
    etree.SubElement(etree.SubElement(properties, _w("rPr")), _w("sz"), {_w("val"): "2"})
    return paragraph


def _restart_numbering(section: etree._Element) -> None:
    """Page numbers from 1 in this section; the element is put where the schema orders it."""
    numbering = section.find(_w("pgNumType"))
    if numbering is None:
        numbering = etree.Element(_w("pgNumType"))
        later = [section.find(_w(tag)) for tag in ("cols", "formProt", "vAlign", "noEndnote", "titlePg", "textDirection",
                                                   "bidi", "rtlGutter", "docGrid", "printerSettings", "sectPrChange")]
        later = [element for element in later if element is not None]
        if later:
            min(later, key=section.index).addprevious(numbering)
        else:
            section.append(numbering)
    numbering.set(_w("start"), "1")


def _end_section(paragraph: etree._Element, section: etree._Element) -> None:
    """Moves ``section`` (the body's last sectPr) into ``paragraph``: the section ends with it."""
    properties = paragraph.find(_w("pPr"))
    if properties is None:
        properties = etree.Element(_w("pPr"))
        paragraph.insert(0, properties)
    change = properties.find(_w("pPrChange"))
    if change is not None:
        change.addprevious(section)
    else:
        properties.append(section)


def merge(sources: Sequence[Source]) -> bytes:
    """One DOCX holding every source, each in its own section (see the module's docstring). The sources
    must all have passed :func:`inspect` with the same key and no clashing styles."""
    package = _Package(sources[0])
    merged = copy.deepcopy(sources[0].document)
    body = merged.find(_w("body"))
    for child in list(body):
        body.remove(child)
    next_id = 1
    for index, source in enumerate(sources):
        document = copy.deepcopy(source.document)
        elements = list(document.find(_w("body")))
        section, content = elements[-1], elements[:-1]
        next_id = _mark_body(content, index, next_id)
        if content[-1].tag != _w("p"):
            content.append(_carrier())
        renamed: dict[str, str] = {}
        for rel_id in _relationship_ids(document.find(_w("body"))):
            kind, target, mode = source.rels[rel_id]
            new_id = f"rIdB{index}x{rel_id}"
            renamed[rel_id] = new_id
            if mode == "External":
                package.add_relationship(new_id, kind, target, mode)
                continue
            part = _resolve(DOCUMENT, target)
            new_part = posixpath.join(posixpath.dirname(part), f"b{index}_{posixpath.basename(part)}")
            package.copy_part(source, part, new_part, _page_total(index) if kind in (_HEADER, _FOOTER) else None)
            package.add_relationship(new_id, kind, _relative(DOCUMENT, new_part), None)
        for element in (*content, section):
            for node in element.iter():
                for name, value in node.attrib.items():
                    if name.startswith(f"{{{R}}}") and value in renamed:
                        node.set(name, renamed[value])
        _restart_numbering(section)
        if index:
            package.add_styles(source)
        if index < len(sources) - 1:
            _end_section(content[-1], section)
            body.extend(content)
        else:
            body.extend(content)
            body.append(section)
    return package.save(merged)


def parse_mark(name: str) -> tuple[int, str] | None:
    """(document index, "s" or "e") for a start or end mark's name, else None."""
    match = _MARK.match(name)
    return (int(match.group(1)), match.group(2)) if match else None
