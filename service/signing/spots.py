"""Where, on the rendered PDF, a party signs: found by the label the form prints (行政机关（公章）,
申请人签名 …), not by coordinates, so that an agency's edited template still gets its seal and its
signature fields in the right place.

Two ways to find a label. PDFium reads the page's text and gives the label's glyph box (~3.5 ms of
CPU: it parses the page and its fonts). The renderer also bookmarks each label (``label_marks.py``)
and LibreOffice exports the bookmarks as named destinations, read here in microseconds; they give the
label's start, end and line end and the top of its line, but not its glyph box. So the first document
of each form and label is measured both ways, and the offsets between the two (a ``Calibration``)
turn the destinations of later documents into the same glyph box. A label whose destinations are
missing, or whose width no longer matches the calibration (an edited template), goes to PDFium again.

Coordinates are PDF user space: points, origin at the bottom left of the page.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

import pypdfium2 as pdfium
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.reader import PdfFileReader

from ..pdfium import PDFIUM
from ..rendering.label_marks import bookmark_names

log = logging.getLogger(__name__)

MM = 72 / 25.4
SEAL_DIAMETER = 42 * MM  # a round official seal, 42 mm
FIELD_WIDTH, FIELD_HEIGHT = 48 * MM, 14 * MM
MARGIN = 12 * MM  # keep boxes this far inside the page
FOOTER = 30 * MM  # and above the footer (serial, QR code)


@dataclass(frozen=True)
class Box:
    page: int  # 0-based
    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def rect(self) -> tuple[float, float, float, float]:
        return (self.x0, self.y0, self.x1, self.y1)


@dataclass(frozen=True)
class Label:
    """A label found on a page: its own box, and how far the text after it runs on the same line."""

    page: int
    x0: float
    y0: float
    x1: float
    y1: float
    line_end: float  # right edge of the text that follows on the same line (== x1 if none)
    page_width: float
    page_height: float


@dataclass(frozen=True)
class PageScan:
    labels: dict[str, Label]
    last_page: tuple[int, float, float]  # index, width, height


def find_labels(pdf: bytes, labels: Iterable[str]) -> PageScan:
    """The last occurrence of each label (signature blocks close a form), searching from the last page
    back and stopping once every label is found; and the last page's size."""
    with PDFIUM:
        return _find_labels(pdf, labels)


def _find_labels(pdf: bytes, labels: Iterable[str]) -> PageScan:
    wanted = [label for label in dict.fromkeys(labels) if label]
    found: dict[str, Label] = {}
    document = pdfium.PdfDocument(pdf)
    try:
        last = len(document) - 1
        last_size = document.get_page_size(last)  # without loading the page (~2 ms each)
        for index in range(last, -1, -1):
            if len(found) == len(wanted):
                break
            page = document[index]
            width, height = page.get_size()
            text_page = page.get_textpage()
            total = text_page.count_chars()
            for label in wanted:
                if label in found:
                    continue
                searcher = text_page.search(label, match_case=True)
                while (hit := searcher.get_next()) is not None:
                    start, count = hit
                    boxes = [text_page.get_charbox(i) for i in range(start, start + count)]
                    x0 = min(b[0] for b in boxes)
                    y0 = min(b[1] for b in boxes)
                    x1 = max(b[2] for b in boxes)
                    y1 = max(b[3] for b in boxes)
                    found[label] = Label(index, x0, y0, x1, y1, _line_end(text_page, start + count, total, (y0 + y1) / 2, x1), width, height)
                searcher.close()
            text_page.close()
            page.close()
    finally:
        document.close()
    return PageScan(found, (last, *last_size))


@dataclass(frozen=True)
class Mark:
    """A label's bookmarks as LibreOffice placed them: x of its start, its end and its line's end, and
    the top of its line."""

    page: int
    start: float
    end: float
    line_end: float
    top: float
    page_width: float
    page_height: float


@dataclass(frozen=True)
class Calibration:
    """How a label's glyph box (PDFium) sits relative to its bookmarks, measured on one document."""

    width: float  # end - start of the marks it was measured on
    dx0: float
    dx1: float
    dline: float
    dy0: float
    dy1: float

    @classmethod
    def between(cls, label: Label, mark: Mark) -> Calibration:
        return cls(mark.end - mark.start, label.x0 - mark.start, label.x1 - mark.end, label.line_end - mark.line_end,
                   label.y0 - mark.top, label.y1 - mark.top)

    def fits(self, mark: Mark) -> bool:
        """The label is laid out as it was when measured (same font and size: same width)."""
        return abs(mark.end - mark.start - self.width) < 0.5

    def apply(self, mark: Mark) -> Label:
        return Label(mark.page, mark.start + self.dx0, mark.top + self.dy0, mark.end + self.dx1, mark.top + self.dy1,
                     max(mark.line_end + self.dline, mark.end + self.dx1), mark.page_width, mark.page_height)


def pages(reader: PdfFileReader) -> list[tuple[int, float, float]]:
    """(object number, width, height) of every page, in order."""
    found: list[tuple[int, float, float]] = []

    def walk(reference: generic.PdfObject, box: generic.PdfObject | None) -> None:
        node = reference.get_object()
        box = node.raw_get("/MediaBox").get_object() if "/MediaBox" in node else box
        if "/Kids" not in node:
            x0, y0, x1, y1 = (float(v) for v in box) if box is not None else (0.0, 0.0, 595.0, 842.0)
            found.append((reference.idnum if isinstance(reference, generic.IndirectObject) else -1, x1 - x0, y1 - y0))
            return
        for kid in node.raw_get("/Kids").get_object():
            walk(kid, box)

    walk(reader.root.raw_get("/Pages"), None)
    return found


def marks(reader: PdfFileReader, labels: Iterable[str], page_list: list[tuple[int, float, float]]) -> dict[str, Mark]:
    """Each label's bookmarks, where LibreOffice exported all three as destinations (a /Dests dictionary)."""
    dests = reader.root.raw_get("/Dests").get_object() if "/Dests" in reader.root else None
    if not isinstance(dests, generic.DictionaryObject):
        return {}
    index = {idnum: (i, width, height) for i, (idnum, width, height) in enumerate(page_list)}
    found: dict[str, Mark] = {}
    for label in labels:
        points = [_destination(dests, name, index) for name in bookmark_names(label)]
        if all(points) and len({p[0] for p in points if p}) == 1:
            (page, x_start, top), (_, x_end, _), (_, x_line, _) = points  # type: ignore[misc]
            _, width, height = page_list[page]
            found[label] = Mark(page, x_start, x_end, x_line, top, width, height)
    return found


def _destination(dests: generic.DictionaryObject, name: str, index: dict) -> tuple[int, float, float] | None:
    """(page index, left, top) of an /XYZ destination, or None."""
    try:
        value = dests.raw_get("/" + name)
        value = value.get_object() if isinstance(value, generic.IndirectObject) else value
        if isinstance(value, generic.DictionaryObject):
            value = value["/D"]
        page_ref, kind, left, top = value.raw_get(0), value[1], value[2], value[3]
        if kind != "/XYZ" or not isinstance(page_ref, generic.IndirectObject) or page_ref.idnum not in index:
            return None
        return index[page_ref.idnum][0], float(left), float(top)
    except (KeyError, IndexError, TypeError, ValueError):
        return None


def _line_end(text_page: pdfium.PdfTextPage, index: int, total: int, middle: float, x1: float) -> float:
    end = x1
    while index < total:
        char = text_page.get_text_range(index, 1)
        if char in ("\r", "\n"):
            break
        left, bottom, right, top = text_page.get_charbox(index)
        if not bottom <= middle <= top and right > left:
            break
        if right > left:
            end = max(end, right)
        index += 1
    return end


def _clamp(x0: float, y0: float, width: float, height: float, page_width: float, page_height: float) -> tuple[float, float]:
    x0 = min(max(x0, MARGIN), page_width - MARGIN - width)
    y0 = min(max(y0, FOOTER), page_height - MARGIN - height)
    return x0, y0


def seal_box(label: Label | None, last_page: tuple[int, float, float]) -> Box:
    """Where the round seal goes: over the agency's name after the label (or the label's end),
    pressed down toward the date line below, as GB/T 9704 places it.

    Without a label, at the bottom right of the last page.
    """
    size = SEAL_DIAMETER
    if label is None:
        page, width, height = last_page
        x0, y0 = _clamp(width - MARGIN - size - 10 * MM, FOOTER + 10 * MM, size, size, width, height)
        return Box(page, x0, y0, x0 + size, y0 + size)
    follows = label.line_end - label.x1
    centre_x = (label.x1 + label.line_end) / 2 if follows > 2 * (label.y1 - label.y0) else label.x1 + size * 0.3
    centre_y = (label.y0 + label.y1) / 2 - size * 0.2
    x0, y0 = _clamp(centre_x - size / 2, centre_y - size / 2, size, size, label.page_width, label.page_height)
    return Box(label.page, x0, y0, x0 + size, y0 + size)


def field_box(label: Label | None, last_page: tuple[int, float, float], slot: int) -> Box:
    """Where a party's empty signature field goes: right after its label, on its line.

    Without a label, stacked at the bottom left of the last page (``slot`` orders them).
    """
    width, height = FIELD_WIDTH, FIELD_HEIGHT
    if label is None:
        page, page_width, page_height = last_page
        x0, y0 = _clamp(MARGIN + 10 * MM, FOOTER + 4 * MM + slot * (height + 2 * MM), width, height, page_width, page_height)
        return Box(page, x0, y0, x0 + width, y0 + height)
    centre_y = (label.y0 + label.y1) / 2
    x0, y0 = _clamp(label.x1 + 2, centre_y - height / 2, width, height, label.page_width, label.page_height)
    return Box(label.page, x0, y0, x0 + width, y0 + height)
