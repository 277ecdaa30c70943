"""The QR code of a document: the library's own image, made faster, and still read back by a scanner."""

from __future__ import annotations

import io

import pytest
import qrcode
from PIL import Image

from service.rendering.qr import QR_BOX, qr_png

from . import pdfcheck

URLS = ["https://x.gov.cn/v/2026-00000001-ABCD", "http://127.0.0.1:8000/v/2026-12345678-WXYZ",
        "https://zwfw.example.gov.cn/chengnuo/v/" + "2026-87654321-QRST" * 4]


@pytest.mark.parametrize("url", URLS)
def test_the_qr_png_is_the_librarys_own_byte_for_byte(url):
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=QR_BOX, border=2, mask_pattern=2)
    code.add_data(url)
    code.make(fit=True)
    buffer = io.BytesIO()
    code.make_image().save(buffer, format="PNG")
    assert qr_png(url) == buffer.getvalue()


@pytest.mark.parametrize("url", URLS)
def test_the_qr_png_reads_back_as_its_url(url):
    image = Image.open(io.BytesIO(qr_png(url)))
    assert image.mode == "1"
    assert pdfcheck.qr_codes(image.convert("L")) == [url]
