"""The drawn official seal: a transparent RGBA PNG with red ink at the requested opacity, deterministic."""

from __future__ import annotations

import io
import math

import pytest
from PIL import Image

from service.signing import seal as seal_module
from service.signing.seal import seal_png

NAME = "晋城市司法局"
RED = (220, 30, 30)


def _open(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def _is_red(pixel: tuple[int, int, int, int], color: tuple[int, int, int] = RED) -> bool:
    return pixel[:3] == color and pixel[3] > 0


def test_png_is_rgba_of_requested_size() -> None:
    image = _open(seal_png(NAME, size_px=400))
    assert image.format == "PNG"
    assert image.mode == "RGBA"
    assert image.size == (400, 400)


def test_corners_are_fully_transparent() -> None:
    image = _open(seal_png(NAME))
    w, h = image.size
    for x, y in [(0, 0), (w - 1, 0), (0, h - 1), (w - 1, h - 1), (5, 5), (w - 6, h - 6)]:
        assert image.getpixel((x, y))[3] == 0


def test_star_in_centre_is_red_at_requested_opacity() -> None:
    for opacity in (0.85, 0.5):
        image = _open(seal_png(NAME, opacity=opacity))
        pixel = image.getpixel((image.width // 2, image.height // 2))
        assert pixel[:3] == RED
        assert abs(pixel[3] - opacity * 255) <= 1.5


def test_custom_colour_is_used() -> None:
    image = _open(seal_png(NAME, color=(200, 0, 40)))
    assert image.getpixel((300, 300))[:3] == (200, 0, 40)


def test_ring_is_red() -> None:
    size = 600
    image = _open(seal_png(NAME, size_px=size))
    ring_mid = size / 2 - size * 0.01 - size / 22 / 2  # halfway through the ring's width
    for degrees in (0, 90, 180, 270, 45):
        a = math.radians(degrees)
        x, y = size / 2 + ring_mid * math.sin(a), size / 2 - ring_mid * math.cos(a)
        pixel = image.getpixel((round(x), round(y)))
        assert _is_red(pixel) and abs(pixel[3] - 0.85 * 255) <= 1.5, (degrees, pixel)


def test_text_is_on_the_upper_arc_inside_the_ring() -> None:
    size = 600
    image = _open(seal_png(NAME, size_px=size))
    alpha = image.getchannel("A")
    inner = size / 2 - size * 0.01 - size / 22 - 2
    top_band = [  # inside the ring and outside the star, top third: only the name's characters are there
        alpha.getpixel((x, y))
        for y in range(size // 3)
        for x in range(size)
        if math.hypot(x + 0.5 - size / 2, y + 0.5 - size / 2) < inner
    ]
    assert sum(1 for a in top_band if a > 128) > 500
    bottom_band = [
        alpha.getpixel((x, y))
        for y in range(size * 2 // 3, size)
        for x in range(size // 3, size * 2 // 3)
        if math.hypot(x + 0.5 - size / 2, y + 0.5 - size / 2) < inner
    ]
    assert max(bottom_band) == 0  # no text at the bottom of the seal


LONG_NAMES = ["晋城市市场监督管理局", "郏县政务服务和大数据管理局", "中华人民共和国国家市场监督管理总局执法"]


@pytest.mark.parametrize("name", LONG_NAMES)
def test_long_names_render(name: str) -> None:
    image = _open(seal_png(name, size_px=300))
    assert image.size == (300, 300)
    assert image.getpixel((0, 0))[3] == 0


def test_output_is_deterministic() -> None:
    first = seal_png(NAME)
    seal_module._render.cache_clear()  # a fresh drawing, not the cached bytes
    assert seal_png(NAME) == first
    assert seal_png(" 晋城市 司法局 ") == first
    assert seal_png("晋城市市场监督管理局") != first


@pytest.mark.parametrize("blank", ["", "   ", "\u3000\n"])
def test_blank_name_raises(blank: str) -> None:
    with pytest.raises(ValueError, match=" / "):
        seal_png(blank)
