"""A handwritten signature as the signing screen sends it: ``data:image/png;base64,…``, checked before it
goes near a PDF (a PNG, not too large, not an empty drawing) and re-encoded, so that nothing but its pixels
reaches the document."""

from __future__ import annotations

import base64
import binascii
import io

from PIL import Image, ImageChops, UnidentifiedImageError

from ..errors import InvalidData, bilingual

MAX_BYTES = 512 * 1024
MAX_SIDE = 2000
MIN_INK = 40  # pixels of ink: fewer is an empty (or accidental) drawing
PREFIX = "data:image/png;base64,"


def _refuse(zh: str, en: str) -> InvalidData:
    return InvalidData({"signature": [bilingual(zh, en)]})


def signature_png(data_url: object) -> bytes:
    """The drawing as a clean PNG (RGBA, no metadata). Raises InvalidData naming ``signature``."""
    if not isinstance(data_url, str) or not data_url.startswith(PREFIX):
        raise _refuse("签名应为 PNG 图片（data:image/png;base64,…）", "the signature must be a PNG image (data:image/png;base64,…)")
    if len(data_url) > len(PREFIX) + MAX_BYTES * 4 // 3 + 4:
        raise _refuse(f"签名图片过大（上限 {MAX_BYTES // 1024} KB）", f"the signature image is larger than {MAX_BYTES // 1024} KB")
    try:
        raw = base64.b64decode(data_url[len(PREFIX):], validate=True)
        image = Image.open(io.BytesIO(raw))
        if image.format != "PNG":
            raise _refuse("签名应为 PNG 图片", "the signature must be a PNG image")
        if max(image.size) > MAX_SIDE or min(image.size) < 20:
            raise _refuse("签名图片的尺寸不合适", f"the signature image must be 20–{MAX_SIDE} pixels on each side")
        image = image.convert("RGBA")
    except (binascii.Error, UnidentifiedImageError, OSError, ValueError):
        raise _refuse("签名图片无法读取", "the signature image cannot be read") from None
    opaque = image.getchannel("A").point(lambda a: 255 if a > 32 else 0)
    dark = image.convert("L").point(lambda v: 255 if v < 200 else 0)
    ink = ImageChops.multiply(opaque, dark).histogram()[255]
    if ink < MIN_INK:
        raise _refuse("签名为空，请在签名框内手写签名", "the signature is empty: write it in the box")
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=False)
    return out.getvalue()
