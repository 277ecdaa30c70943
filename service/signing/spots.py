"""Where, on the rendered PDF, a party signs: found by the label the form prints (行政机关（公章）,
申请人签名 …), not by coordinates, so that an agency's edited template still gets its seal and its
signature fields in the right place.

Coordinates are PDF user space: points, origin at the bottom left of the page.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

import pypdfium2 as pdfium

from ..pdfium import PDFIUM

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
