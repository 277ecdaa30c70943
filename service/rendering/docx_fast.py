"""Renders a form template into the DOCX docxtpl would make, without reopening the package per render.

docxtpl opens the template with python-docx (parsing every XML part) and saves it again (serialising
every part, deflating the zip) for each document, which is most of its CPU time. Here a template is
prepared once: docxtpl and python-docx read it, docxtpl's own preprocessing turns the body, headers
and footers into Jinja templates, and every other part is kept as python-docx writes it, deflated.
A render then only renders those stories, post-processes them as docxtpl does, and appends them to
the prepared zip. tests/test_docx_render_fast.py checks that the two paths make the same document.

The appended parts are stored, not deflated: deflating them cost ~0.25 ms of the ~1 ms a render takes,
LibreOffice converts either in the same time (differences under its run-to-run noise), and the DOCX
grows from ~14 to ~28 KB.

Templates using what docxtpl handles beyond that (footnotes, Jinja tags in the document properties)
raise Unsupported when prepared; the renderer keeps docxtpl for them.
"""

from __future__ import annotations

import base64
import copy
import functools
import io
import re
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jinja2
from docx.document import Document
from docx.image.image import Image
from docx.opc.constants import CONTENT_TYPE as CT
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.oxml.ns import nsmap, qn
from docx.oxml.shape import CT_Inline
from docx.shared import Mm
from docxtpl import DocxTemplate
from lxml import etree

QR_WIDTH = Mm(18)

_RENDERED_PROPERTIES = ("author", "comments", "identifier", "language", "subject", "title")  # as render_properties
_JINJA_TAG = re.compile(r"\{[{%#]")
_PARAGRAPH = re.compile(r"<w:p([ >])")
_MARKED_PARAGRAPH = re.compile(r"\n<w:p([ >])")
_LISTING_CHARACTERS = re.compile("[\t\a\n\f]")
_DOC_PR = etree.XPath("//wp:docPr", namespaces=nsmap)
_FIRST_DOC_PR_ID = 1001  # as DocxTemplate.render_init + fix_docpr_ids
_BODY_MARK = "docx-fast:body"
_XML_DECLARATION = "<?xml version='1.0' encoding='UTF-8' standalone='yes'?>\n"
_ONE_PIXEL_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)
# docxtpl's patch_xml, resolve_listing and fix_tables use nothing of their instance: one serves all threads.
_DOCXTPL = DocxTemplate(io.BytesIO())


class Unsupported(Exception):
    """The template uses something this module does not render as docxtpl does."""


@dataclass(frozen=True)
class _Story:
    """The body, a header or a footer: its compiled source, and what showing the QR code in it adds."""

    name: str
    template: jinja2.Template
    rels_name: str
    rels: bytes | None
    rels_with_picture: bytes
    picture_rid: str
    picture_shape_id: int


class _Picture:
    """The QR code as docxtpl's InlineImage draws it: an inline picture in the story being rendered,
    with that story's relationship id and next shape id; remembers the stories that showed it."""

    def __init__(self, png: bytes) -> None:
        self.png = png
        self.image: Image | None = None
        self.story: _Story | None = None
        self.shown_in: set[str] = set()

    def __html__(self) -> str:
        assert self.story is not None
        if self.image is None:
            self.image = Image.from_blob(self.png)
        cx, cy = self.image.scaled_dimensions(QR_WIDTH, None)
        self.shown_in.add(self.story.name)
        return _drawing(self.story.picture_shape_id, self.story.picture_rid, self.image.filename, cx, cy)

    __str__ = __html__


@functools.lru_cache(maxsize=64)
def _drawing(shape_id: int, rid: str, filename: str, cx: int, cy: int) -> str:
    inline = CT_Inline.new_pic_inline(shape_id, rid, filename, cx, cy).xml
    return f'</w:t></w:r><w:r><w:drawing>{inline}</w:drawing></w:r><w:r><w:t xml:space="preserve">'


class FastTemplate:
    """One template, prepared; ``render`` is safe to call from several threads at once. ``env`` must be
    a sandboxed environment (``environment.make_environment``): templates are untrusted input."""

    def __init__(self, data: bytes, env: jinja2.Environment) -> None:
        if not env.sandboxed:
            raise TypeError("templates are rendered in a sandboxed Jinja environment only")
        tpl = DocxTemplate(io.BytesIO(data))
        tpl.init_docx()
        document = tpl.docx
        package = document.part.package
        if any(part.content_type == CT.WML_FOOTNOTES for part in package.iter_parts()):
            raise Unsupported("footnotes")
        if not any(rel.reltype == RT.CORE_PROPERTIES for rel in package.rels.values()):
            raise Unsupported("no document properties (python-docx would date new ones at each render)")
        if any(_JINJA_TAG.search(getattr(document.core_properties, name) or "") for name in _RENDERED_PROPERTIES):
            raise Unsupported("Jinja tags in the document properties")
        tpl.render_properties({}, env)  # without tags, the result does not depend on the context

        self._head, self._tail = _around_body(document.element)
        parts = [(document.part, tpl.get_xml())]
        parts += [(part, tpl.get_part_xml(part)) for uri in (tpl.HEADER_URI, tpl.FOOTER_URI) for _, part in tpl.get_headers_footers(uri)]
        if len({part.partname for part, _ in parts}) != len(parts):
            raise Unsupported("a header or footer related to twice")
        plain = _saved(document)
        shape_ids = {part.partname: part.next_id for part, _ in parts}
        rids = {part.partname: part.get_or_add_image(io.BytesIO(_ONE_PIXEL_PNG))[0] for part, _ in parts}
        with_picture = _saved(document)
        body_part = parts[0][0]
        self._media_name = body_part.related_parts[rids[body_part.partname]].partname.membername

        self._stories: list[_Story] = []
        for part, xml in parts:
            name = part.partname.membername
            rels_name = part.partname.rels_uri.membername
            source = _PARAGRAPH.sub(r"\n<w:p\1", _DOCXTPL.patch_xml(xml))
            self._stories.append(
                _Story(name, env.from_string(source), rels_name, plain.get(rels_name), with_picture[rels_name],
                       rids[part.partname], shape_ids[part.partname])
            )
        changing = {self._media_name} | {story.name for story in self._stories} | {story.rels_name for story in self._stories}
        self._bases = {
            shown: _deflated({name: blob for name, blob in package_parts.items() if name not in changing})
            for shown, package_parts in ((False, plain), (True, with_picture))
        }

    def render(self, context: Mapping[str, Any], qr_png: bytes | None) -> bytes:
        """The DOCX for ``context``, with ``qr_png`` as ``qr`` (an empty string if None)."""
        picture = _Picture(qr_png) if qr_png else None
        full = {**context, "qr": picture or ""}
        body, *others = self._stories
        tree = _DOCXTPL.fix_tables(_render(body, full, picture))
        for number, doc_pr in enumerate(_DOC_PR(tree), start=_FIRST_DOC_PR_ID):
            doc_pr.set("id", str(number))
        rendered = {body.name: f"{_XML_DECLARATION}{self._head}{etree.tostring(tree, encoding='unicode')}{self._tail}".encode()}
        for story in others:
            root = etree.fromstring(_render(story, full, picture).encode(), _story_parser())
            rendered[story.name] = etree.tostring(root, encoding="UTF-8", standalone=True)
        shown_in = picture.shown_in if picture else set()
        for story in self._stories:
            rels = story.rels_with_picture if story.name in shown_in else story.rels
            if rels is not None:
                rendered[story.rels_name] = rels
        if picture and shown_in:
            rendered[self._media_name] = picture.png
        out = io.BytesIO(self._bases[bool(shown_in)])
        with zipfile.ZipFile(out, "a", zipfile.ZIP_STORED) as archive:
            for name, blob in rendered.items():
                archive.writestr(name, blob)
        return out.getvalue()


def _render(story: _Story, context: Mapping[str, Any], picture: _Picture | None) -> str:
    """The story's XML as DocxTemplate.render_xml_part returns it."""
    if picture is not None:
        picture.story = story
    xml = _MARKED_PARAGRAPH.sub(r"<w:p\1", story.template.render(context))
    xml = xml.replace("{_{", "{{").replace("}_}", "}}").replace("{_%", "{%").replace("%_}", "%}")
    if _LISTING_CHARACTERS.search(xml):  # resolve_listing rewrites these and nothing else, but walks every run
        xml = _DOCXTPL.resolve_listing(xml)
    return xml


def _story_parser() -> etree.XMLParser:
    """python-docx's parser options, with which it reloads a rendered header or footer; one per call,
    as in docxtpl's fix_tables, since parses sharing an lxml parser wait for each other."""
    return etree.XMLParser(remove_blank_text=True, resolve_entities=False)


def _around_body(element: etree._Element) -> tuple[str, str]:
    """The document part's XML before and after ``<w:body>``, as python-docx serialises it."""
    root = copy.deepcopy(element)
    body = root.find(qn("w:body"))
    if body is None:
        raise Unsupported("no document body")
    root.replace(body, etree.Comment(_BODY_MARK))
    head, tail = etree.tostring(root, encoding="unicode").split(f"<!--{_BODY_MARK}-->")
    return head, tail


def _saved(document: Document) -> dict[str, bytes]:
    out = io.BytesIO()
    document.save(out)
    with zipfile.ZipFile(out) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


def _deflated(parts: Mapping[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, blob in parts.items():
            archive.writestr(name, blob)
    return out.getvalue()
