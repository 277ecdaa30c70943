"""Previews (样稿): the rendered form, marked across every page as a draft — not numbered, not signed,
not registered, so that nobody can take one for an issued document."""

from __future__ import annotations

import io
from functools import lru_cache

from PIL import Image, ImageDraw, ImageFont
from pyhanko.pdf_utils import layout
from pyhanko.pdf_utils.images import PdfImage
import pypdfium2 as pdfium
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.stamp import StaticStampStyle
from pyhanko.stamp.static import StaticContentStamp

from ..pdfium import PDFIUM
from ..signing.seal import font_files

MARK = "样稿 · 未签发"
SIZE = 420  # points: the mark's square box


@lru_cache(maxsize=1)
def _mark_image() -> Image.Image:
    path, index = font_files()[0]
    font = ImageFont.truetype(path, 150, index=index)
    text = Image.new("RGBA", (1400, 220), (0, 0, 0, 0))
    ImageDraw.Draw(text).text((700, 110), MARK, font=font, fill=(200, 40, 40, 70), anchor="mm")
    return text.rotate(35, expand=True, resample=Image.Resampling.BICUBIC)


def mark_draft(pdf: bytes) -> bytes:
    """The PDF with the draft mark over the middle of each page."""
    with PDFIUM:
        document = pdfium.PdfDocument(pdf)
        try:
            sizes = [document[i].get_size() for i in range(len(document))]
        finally:
            document.close()
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    style = StaticStampStyle(background=PdfImage(_mark_image()), border_width=0, background_opacity=1.0,
                             background_layout=layout.SimpleBoxLayoutRule(x_align=layout.AxisAlignment.ALIGN_MID,
                                                                          y_align=layout.AxisAlignment.ALIGN_MID,
                                                                          margins=layout.Margins.uniform(0)))
    for index, (width, height) in enumerate(sizes):
        stamp = StaticContentStamp(writer=writer, style=style, box=layout.BoxConstraints(width=SIZE, height=SIZE))
        stamp.apply(index, int((width - SIZE) / 2), int((height - SIZE) / 2))
    result = io.BytesIO()
    writer.write(result)
    return result.getvalue()


SPOT_RED = (210, 30, 30, 255)
SPOT_SCALE = 4  # pixels per point of the drawn box


def _spot_image(width: float, height: float, label: str) -> Image.Image:
    w, h = max(int(width * SPOT_SCALE), 8), max(int(height * SPOT_SCALE), 8)
    image = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    dash, gap, line = 9 * SPOT_SCALE, 5 * SPOT_SCALE, SPOT_SCALE
    for x in range(0, w, dash + gap):
        draw.line([(x, line // 2), (min(x + dash, w), line // 2)], fill=SPOT_RED, width=line)
        draw.line([(x, h - 1 - line // 2), (min(x + dash, w), h - 1 - line // 2)], fill=SPOT_RED, width=line)
    for y in range(0, h, dash + gap):
        draw.line([(line // 2, y), (line // 2, min(y + dash, h))], fill=SPOT_RED, width=line)
        draw.line([(w - 1 - line // 2, y), (w - 1 - line // 2, min(y + dash, h))], fill=SPOT_RED, width=line)
    path, index = font_files()[0]
    font = ImageFont.truetype(path, 8 * SPOT_SCALE, index=index)
    draw.text((3 * SPOT_SCALE, 2 * SPOT_SCALE), label, font=font, fill=SPOT_RED)
    return image


def mark_spots(pdf: bytes, spots: list[tuple[str, int, tuple[float, float, float, float]]]) -> bytes:
    """The PDF with a red dashed box and its label at each ``(label, page, (x0, y0, x1, y1))``: where the seal
    and the signatures will go (PDF points, origin at the bottom left)."""
    if not spots:
        return pdf
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    for label, page, (x0, y0, x1, y1) in spots:
        style = StaticStampStyle(background=PdfImage(_spot_image(x1 - x0, y1 - y0, label)), border_width=0, background_opacity=1.0,
                                 background_layout=layout.SimpleBoxLayoutRule(x_align=layout.AxisAlignment.ALIGN_MID,
                                                                              y_align=layout.AxisAlignment.ALIGN_MID,
                                                                              margins=layout.Margins.uniform(0)))
        stamp = StaticContentStamp(writer=writer, style=style, box=layout.BoxConstraints(width=x1 - x0, height=y1 - y0))
        stamp.apply(page, int(x0), int(y0))
    result = io.BytesIO()
    writer.write(result)
    return result.getvalue()
