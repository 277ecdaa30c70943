"""The seal as the appearance of the agency's signature field: an image XObject whose pixels are
compressed once per agency.

pyHanko's ``PdfImage`` converts and deflates the picture again for every PDF it goes into (about
5 ms of CPU per signature for a 400×400 seal) and keeps the writer it last drew into on the shared
object, so one instance cannot serve signatures running in parallel. Here the deflated pixels are
computed once, and every signature gets its own small content object that only writes them out.
"""

from __future__ import annotations

import io
import zlib
from dataclasses import dataclass

from PIL import Image
from pyhanko.pdf_utils import generic, layout
from pyhanko.pdf_utils.content import PdfContent, ResourceType
from pyhanko.pdf_utils.generic import pdf_name
from pyhanko.pdf_utils.layout import BoxConstraints
from pyhanko.pdf_utils.writer import BasePdfFileWriter
from pyhanko.stamp import StaticStampStyle

_XOBJECT_NAME = "/ImgSeal"


@dataclass(frozen=True)
class EncodedImage:
    """Flate-compressed 8-bit pixels with their PDF image attributes; ``mask`` holds the alpha channel."""

    width: int
    height: int
    color_space: str  # /DeviceRGB or /DeviceGray
    data: bytes
    mask: EncodedImage | None = None

    def add_to(self, writer: BasePdfFileWriter) -> generic.IndirectObject:
        entries = {
            pdf_name("/Type"): pdf_name("/XObject"),
            pdf_name("/Subtype"): pdf_name("/Image"),
            pdf_name("/Width"): generic.NumberObject(self.width),
            pdf_name("/Height"): generic.NumberObject(self.height),
            pdf_name("/ColorSpace"): pdf_name(self.color_space),
            pdf_name("/BitsPerComponent"): generic.NumberObject(8),
            pdf_name("/Filter"): pdf_name("/FlateDecode"),
        }
        if self.mask is not None:
            entries[pdf_name("/SMask")] = self.mask.add_to(writer)
        return writer.add_object(generic.StreamObject(entries, encoded_data=self.data))


def encode_image(png: bytes) -> EncodedImage:
    """Any picture Pillow reads (an agency's own seal scan included), as RGB or grey plus an alpha mask."""
    return encode_picture(open_picture(png))


def open_picture(png: bytes) -> Image.Image:
    """The decoded picture (any format Pillow reads)."""
    image = Image.open(io.BytesIO(png))
    image.load()
    return image


def encode_picture(image: Image.Image) -> EncodedImage:
    """A decoded picture, as RGB or grey plus an alpha mask."""
    if image.mode not in ("RGB", "RGBA", "L", "LA"):
        image = image.convert("RGBA")
    mask = None
    if image.mode.endswith("A"):
        mask = _encode_plain(image.getchannel("A"))
        image = image.convert(image.mode[:-1])
    plain = _encode_plain(image)
    return EncodedImage(plain.width, plain.height, plain.color_space, plain.data, mask)


def _encode_plain(image: Image.Image) -> EncodedImage:
    space = "/DeviceGray" if image.mode == "L" else "/DeviceRGB"
    return EncodedImage(image.width, image.height, space, zlib.compress(image.tobytes(), 9))


class SealImage(PdfContent):
    """The seal picture drawn into one signature appearance (one instance per signature)."""

    def __init__(self, image: EncodedImage) -> None:
        super().__init__(box=BoxConstraints(image.width, image.height))
        self.image = image
        self._written: tuple[BasePdfFileWriter, generic.IndirectObject] | None = None

    def render(self) -> bytes:
        writer = self._ensure_writer
        if self._written is None or self._written[0] is not writer:
            self._written = (writer, self.image.add_to(writer))
        self.set_resource(category=ResourceType.XOBJECT, name=pdf_name(_XOBJECT_NAME), value=self._written[1])
        return b"%g 0 0 %g 0 0 cm %s Do" % (self.box.width, self.box.height, _XOBJECT_NAME.encode("ascii"))


def seal_stamp_style(image: EncodedImage) -> StaticStampStyle:
    """A fresh stamp style showing ``image`` filling the field, centred, fully opaque, without a border."""
    return StaticStampStyle(
        background=SealImage(image),
        background_opacity=1.0,
        border_width=0,
        background_layout=layout.SimpleBoxLayoutRule(
            x_align=layout.AxisAlignment.ALIGN_MID,
            y_align=layout.AxisAlignment.ALIGN_MID,
            margins=layout.Margins.uniform(0),
        ),
    )
