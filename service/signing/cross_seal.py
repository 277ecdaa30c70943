"""The 骑缝章 (cross-page seal): on a document of two pages or more, the agency's seal is also cut into
as many vertical strips as the document has pages, and strip i is drawn at the right edge of page i,
flush with the edge, at the same height on every page. Fanned out on paper (page 1 on top, each next
page showing one strip more to the right) the strips recompose the seal, as a seal pressed across the
fanned edges of a paper document does; a page taken out, added or swapped shows a broken seal.

Height: the middle of the page's right edge, where paper practice presses a 骑缝章. It keeps the strips
clear of the footer (serial and QR code), and the seal's centre (the star) lands on every fold of the
fan at the same spot whatever the page count.

The strips are page content written into the same incremental update as the agency's certification
signature, before it is computed, so the certification covers them: removing or moving a strip later
is a change of page content that the certification (DocMDP: form filling and signing) does not allow.
They are marked as artifacts, as LibreOffice marks its own decorations of the tagged PDF (the QR code).

Cost: the strips' pixels depend only on the agency's seal and the page count; they are cut and deflated
once per pair, and a document only writes them out (≈ 21 KB for the drawn 600-pixel seal, whatever
the page count) with three small objects per page.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from itertools import pairwise

from PIL import Image
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.content import PdfResources, RawContent
from pyhanko.pdf_utils.generic import pdf_name
from pyhanko.pdf_utils.rw_common import find_inherited_value_in_tree
from pyhanko.pdf_utils.writer import BasePdfFileWriter

from .seal_stamp import EncodedImage, encode_picture, open_picture
from .spots import SEAL_DIAMETER


@dataclass(frozen=True)
class Strip:
    """One vertical strip of the seal and its size on the page, in points."""

    image: EncodedImage
    width: float
    height: float


def cut(picture: Image.Image, count: int, diameter: float = SEAL_DIAMETER) -> tuple[Strip, ...]:
    """``picture`` cut into ``count`` vertical strips, left to right, sized so that side by side they
    make the seal ``diameter`` points across its longer side (as the main seal is fitted to its box).

    Strip edges fall on whole pixels, so the strips share the picture's pixels without resampling, and
    their widths add up to the seal's exactly. Raises ValueError if ``count`` < 1.
    """
    if count < 1:
        raise ValueError(f"count must be at least 1, not {count}")
    if picture.width < count:  # a small scan and a very long document: at least one pixel per strip
        picture = picture.resize((count, max(1, round(picture.height * count / picture.width))), Image.Resampling.LANCZOS)
    scale = diameter / max(picture.size)
    edges = [round(i * picture.width / count) for i in range(count + 1)]
    return tuple(
        Strip(encode_picture(picture.crop((left, 0, right, picture.height))), (right - left) * scale, picture.height * scale)
        for left, right in pairwise(edges)
    )


def visible_box(writer: BasePdfFileWriter, page_index: int) -> tuple[float, float, float, float]:
    """(left, bottom, right, top) of the page as shown and printed: its crop box, else its media box,
    either possibly inherited from the page tree. Raises pyHanko's PdfError for a page it cannot find.

    /Rotate is not taken into account: LibreOffice lays a landscape page out in a landscape media box.
    """
    page_ref, _ = writer.find_page_for_modification(page_index)
    page = page_ref.get_object()
    box = find_inherited_value_in_tree(page, "/CropBox", "/Parent") or find_inherited_value_in_tree(page, "/MediaBox", "/Parent")
    if box is None:
        box = [0, 0, 595.0, 842.0]  # no box at all: A4, as spots.pages assumes
    x0, y0, x1, y1 = (float(v) for v in box)
    return min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)


def stamp(writer: BasePdfFileWriter, strips: tuple[Strip, ...]) -> None:
    """Draws strip i at the right edge of page i, flush with it and vertically centred, over the page's
    content; the page's own content is wrapped in q … Q first (as pyHanko's stamps do), so that a
    graphics state it leaves behind cannot move or clip the strip. Raises pyHanko's PdfError."""
    save = writer.add_object(generic.StreamObject(stream_data=b"q"))  # one pair shared by every page
    restore = writer.add_object(generic.StreamObject(stream_data=b"Q"))
    for index, strip in enumerate(strips):
        _, bottom, right, top = visible_box(writer, index)
        x, y = right - strip.width, (bottom + top - strip.height) / 2
        name = f"/CrossSeal{index + 1}"  # unique per page: pages may share one resource dictionary
        resources = PdfResources()
        resources.xobject[pdf_name(name)] = strip.image.add_to(writer)
        drawing = b"/Artifact BMC q %g 0 0 %g %g %g cm %s Do Q EMC" % (
            round(strip.width, 4), round(strip.height, 4), round(x, 4), round(y, 4), name.encode("ascii"))
        writer.add_stream_to_page(index, save, prepend=True)
        writer.add_stream_to_page(index, restore)
        RawContent(drawing, resources=resources).add_to_page(writer, index)


def page_count(writer: BasePdfFileWriter) -> int:
    return int(writer.root["/Pages"]["/Count"])


class CrossPageSeal:
    """Applies the 骑缝章 with strips cut once per seal and page count (thread-safe: a race cuts twice)."""

    def __init__(self, diameter: float = SEAL_DIAMETER) -> None:
        self.diameter = diameter
        self._strips: dict[tuple[str, int], tuple[Strip, ...]] = {}

    def strips(self, seal_id: str, count: int, picture: Callable[[], bytes]) -> tuple[Strip, ...]:
        """The strips of the seal ``seal_id`` for ``count`` pages; ``picture`` (the seal's image file) is
        only called the first time. Raises what ``picture`` raises, and OSError for an unreadable image."""
        key = (seal_id, count)
        found = self._strips.get(key)
        if found is None:
            found = self._strips.setdefault(key, cut(open_picture(picture()), count, self.diameter))
        return found

    def apply(self, writer: BasePdfFileWriter, seal_id: str, picture: Callable[[], bytes]) -> int:
        """Stamps a document of two pages or more and returns how many pages it stamped (0 for one page).
        Raises pyHanko's PdfError, and what ``strips`` raises."""
        count = page_count(writer)
        if count < 2:
            return 0
        stamp(writer, self.strips(seal_id, count, picture))
        return count
