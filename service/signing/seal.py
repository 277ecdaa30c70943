"""The red round official seal (公章) of an agency, drawn from its name, as the visible appearance of a PDF signature.

A digital signature is invisible on paper; readers of a printed 告知承诺书 look for the familiar seal. The
layout follows GB/T 9704 practice for agency seals: a thick outer ring, the full agency name clockwise along
the upper arc with each character upright towards the rim, and a solid five-pointed star in the centre. The
PNG has a transparent background and the ink's opacity in its alpha channel, so the text the seal is placed
over stays readable. Output is deterministic and cached: an agency uses the same seal on every document.
"""

from __future__ import annotations

import io
import math
import subprocess
import threading
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

FANDOL_SONG_BOLD = Path("/usr/local/share/fonts/fandol/FandolSong-Bold.otf")
FALLBACK_PATTERN = "Noto Serif CJK SC:bold"

_SUPERSAMPLE = 4  # drawn at 4× and box-filtered down: anti-aliased edges
_RING = 1 / 22  # ring width, as a fraction of the diameter
_STAR = 1 / 4  # star's tip-to-tip width across, as a fraction of the diameter
_MAX_CHAR = 0.18  # tallest character, as a fraction of the diameter
_MIN_ASPECT = 0.7  # long names get narrower (长宋-like) characters before smaller ones
_DRAWING = threading.Lock()
_EM_ASCENT = 0.88  # CJK fonts put the ideographic em box from 0.12 em below the baseline to 0.88 em above


@lru_cache(maxsize=1)
def font_files() -> tuple[tuple[str, int], ...]:
    """(path, face index) of the bold song faces to draw with, in order of preference; asks fontconfig once."""
    files: list[tuple[str, int]] = []
    if FANDOL_SONG_BOLD.is_file():
        files.append((str(FANDOL_SONG_BOLD), 0))
    try:
        found = subprocess.run(
            ["fc-match", "-f", "%{file}:%{index}", FALLBACK_PATTERN],
            capture_output=True, text=True, timeout=10, check=True,
        ).stdout
        path, _, index = found.rpartition(":")
        if Path(path).is_file():
            files.append((path, int(index or 0)))
    except (OSError, subprocess.SubprocessError, ValueError):
        pass
    if not files:
        raise RuntimeError(
            f"找不到印章字体（{FANDOL_SONG_BOLD} 或 {FALLBACK_PATTERN}） / "
            f"no seal font found ({FANDOL_SONG_BOLD} or {FALLBACK_PATTERN})"
        )
    return tuple(files)


@lru_cache(maxsize=8)
def _fonts(em: int) -> tuple[ImageFont.FreeTypeFont, ...]:
    return tuple(ImageFont.truetype(p, em, index=i, layout_engine=ImageFont.Layout.BASIC) for p, i in font_files())


def _font_for(char: str, em: int) -> ImageFont.FreeTypeFont:
    """The first preferred face that has a glyph for ``char`` (FandolSong covers little beyond GB 2312)."""
    fonts = _fonts(em)
    for font in fonts:
        mask, notdef = font.getmask(char), font.getmask("\U000f0000")
        if (mask.size, bytes(mask)) != (notdef.size, bytes(notdef)):
            return font
    return fonts[0]


def _glyph(char: str, height: int, width: int) -> Image.Image:
    """``char`` filling its em box, squeezed to ``width``: a white-on-black mask, upright."""
    box = Image.new("L", (height, height), 0)
    ImageDraw.Draw(box).text((0, round(height * _EM_ASCENT)), char, fill=255, font=_font_for(char, height), anchor="ls")
    return box if width == height else box.resize((width, height), Image.Resampling.LANCZOS)


def _arc_layout(count: int, side: float, text_outer: float, star_radius: float) -> tuple[float, float, float, float]:
    """(span in degrees, character height, character width, radius of the characters' centres)."""
    span = min(270.0, max(210.0, 180.0 + 5.0 * count))
    half_step = math.radians(span / (count - 1) / 2) if count > 1 else math.pi / 2
    spacing = 0.94 * 2 * math.sin(half_step)  # neighbours' gap along the characters' inner edge, per unit radius
    height = min(_MAX_CHAR * side, spacing * text_outer / (_MIN_ASPECT + spacing), text_outer - 1.4 * star_radius)
    width = min(height, spacing * (text_outer - height))
    return span, height, width, text_outer - height / 2


def _star(draw: ImageDraw.ImageDraw, cx: float, cy: float, radius: float) -> None:
    inner = radius * math.sin(math.radians(18)) / math.sin(math.radians(54))
    points = []
    for k in range(10):
        r, a = (radius if k % 2 == 0 else inner), math.radians(k * 36)
        points.append((cx + r * math.sin(a), cy - r * math.cos(a)))
    draw.polygon(points, fill=255)


def _mask(name: str, size_px: int) -> Image.Image:
    """The seal's ink coverage (0–255) at ``size_px``, drawn supersampled."""
    side = size_px * _SUPERSAMPLE
    centre = side / 2
    outer = side / 2 - max(side * 0.01, _SUPERSAMPLE)
    ring = side * _RING
    mask = Image.new("L", (side, side), 0)
    draw = ImageDraw.Draw(mask)
    draw.ellipse((centre - outer, centre - outer, centre + outer, centre + outer), outline=255, width=round(ring))
    star_radius = side * _STAR / 2
    _star(draw, centre, centre, star_radius)

    span, height, width, radius = _arc_layout(len(name), side, outer - ring - side * 0.025, star_radius)
    step = span / (len(name) - 1) if len(name) > 1 else 0.0
    for i, char in enumerate(name):
        angle = -span / 2 + i * step if len(name) > 1 else 0.0
        glyph = _glyph(char, round(height), max(1, round(width)))
        glyph = glyph.rotate(-angle, resample=Image.Resampling.BICUBIC, expand=True)
        x = centre + radius * math.sin(math.radians(angle)) - glyph.width / 2
        y = centre - radius * math.cos(math.radians(angle)) - glyph.height / 2
        mask.paste(255, (round(x), round(y)), glyph)
    return mask.reduce(_SUPERSAMPLE)


@lru_cache(maxsize=64)
def _render(name: str, size_px: int, color: tuple[int, int, int], opacity: float) -> bytes:
    with _DRAWING:  # FreeType faces are shared through _fonts and are not safe to use from two threads at once
        coverage = _mask(name, size_px)
    image = Image.new("RGBA", (size_px, size_px), (*color, 0))
    image.putalpha(coverage.point(lambda v: round(v * opacity)))
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def seal_png(
    agency_name: str, *, size_px: int = 600, color: tuple[int, int, int] = (220, 30, 30), opacity: float = 0.85
) -> bytes:
    """The seal of ``agency_name`` as PNG bytes: RGBA, ``size_px`` square, transparent outside the ink."""
    name = "".join(agency_name.split()) if isinstance(agency_name, str) else ""
    if not name:
        raise ValueError("印章单位名称不能为空 / the agency name for the seal must not be empty")
    if size_px < 64:
        raise ValueError(f"印章尺寸过小：{size_px} 像素 / seal size too small: {size_px} px (at least 64)")
    if not 0.0 <= opacity <= 1.0:
        raise ValueError(f"不透明度须在 0 到 1 之间：{opacity} / opacity must be between 0 and 1: {opacity}")
    if len(color) != 3 or not all(0 <= int(c) <= 255 for c in color):
        raise ValueError(f"颜色须为三个 0–255 的整数：{color} / color must be three integers 0–255: {color}")
    rgb = (int(color[0]), int(color[1]), int(color[2]))
    return _render(name, int(size_px), rgb, float(opacity))
