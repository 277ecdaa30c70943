"""The QR code printed on every document: its verification address as a PNG."""

from __future__ import annotations

import io

import qrcode
from PIL import Image

QR_BOX = 6  # pixels per module


def qr_png(url: str) -> bytes:
    # A fixed mask pattern spares the library scoring all eight (most of its time); any mask is valid.
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=QR_BOX, border=2, mask_pattern=2)
    code.add_data(url)
    code.make(fit=True)
    # The image straight from the module matrix (border included), scaled up: the same PNG, byte for
    # byte, as the library's make_image(), which draws every module as its own rectangle (3× slower).
    matrix = code.get_matrix()
    size = len(matrix)
    modules = Image.frombytes("L", (size, size), bytes(0 if dark else 255 for row in matrix for dark in row))
    image = modules.convert("1", dither=Image.Dither.NONE).resize((size * QR_BOX, size * QR_BOX), Image.Resampling.NEAREST)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()
