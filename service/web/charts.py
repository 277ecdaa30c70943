"""Charts drawn by the service as inline SVG: no script, no CDN, and they print. Each carries its own text
equivalent (``<title>`` and a ``<desc>`` that lists every value, named by ``aria-labelledby``), every bar is labelled
with its name and number in text, and the series of a stacked bar differ by pattern as well as by colour. The page
puts a data table beside each chart as well."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH = 560
INK, MUTED, BAR, AXIS = "#1f2328", "#57606a", "#1f5fa8", "#8c959f"
FONT = 'font-family="Noto Sans CJK SC, Source Han Sans SC, PingFang SC, Microsoft YaHei, sans-serif"'


@dataclass(frozen=True)
class Series:
    """One part of a stacked bar: its name, its colour, and its pattern (``solid``, ``stripes``, ``cross``, ``outline``)."""

    name: str
    colour: str
    pattern: str


def _frame(chart_id: str, title: str, description: str, height: int, body: str, defs: str = "") -> Markup:
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" id="{escape(chart_id)}" class="chart" role="img" '
        f'aria-labelledby="{escape(chart_id)}-title {escape(chart_id)}-desc" viewBox="0 0 {WIDTH} {height}" '
        f'width="100%" preserveAspectRatio="xMinYMin meet" {FONT}>'
        f'<title id="{escape(chart_id)}-title">{escape(title)}</title><desc id="{escape(chart_id)}-desc">{escape(description)}</desc>'
        f'{defs}<rect width="{WIDTH}" height="{height}" fill="#fff"/>{body}</svg>'
    )


def _scale(values: Sequence[int], room: float) -> float:
    top = max(values, default=0)
    return room / top if top else 0.0


def _listing(pairs: Sequence[tuple[str, int]], unit: str) -> str:
    return "；".join(f"{label}：{value}{unit}" for label, value in pairs) or "无数据 / no data"


def bar_chart(chart_id: str, title: str, bars: Sequence[tuple[str, int]], *, unit: str = "件") -> Markup:
    """Horizontal bars, one a row: the name above its bar, the number after it."""
    row, top, room = 44, 8, WIDTH - 90
    scale = _scale([v for _, v in bars], room)
    parts = []
    for index, (label, value) in enumerate(bars):
        y = top + index * row
        length = max(value * scale, 0)
        parts.append(f'<text x="0" y="{y + 14}" font-size="14" fill="{INK}">{escape(label)}</text>'
                     f'<rect x="0" y="{y + 20}" width="{length:.1f}" height="16" fill="{BAR}"/>'
                     f'<line x1="0" y1="{y + 18}" x2="0" y2="{y + 38}" stroke="{AXIS}"/>'
                     f'<text x="{length + 6:.1f}" y="{y + 33}" font-size="14" font-weight="bold" fill="{INK}">{value}{escape(unit)}</text>')
    if not bars:
        parts.append(f'<text x="0" y="24" font-size="14" fill="{MUTED}">无数据 / no data</text>')
    height = top + max(len(bars), 1) * row
    return _frame(chart_id, title, _listing(bars, unit), height, "".join(parts))


def _pattern(chart_id: str, index: int, series: Series) -> tuple[str, str]:
    """The ``<pattern>`` of a series (if it has one) and the fill that uses it."""
    pid = f"{chart_id}-p{index}"
    if series.pattern == "stripes":
        return (f'<pattern id="{pid}" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">'
                f'<rect width="6" height="6" fill="#fff"/><rect width="3" height="6" fill="{series.colour}"/></pattern>'), f"url(#{pid})"
    if series.pattern == "cross":
        return (f'<pattern id="{pid}" width="6" height="6" patternUnits="userSpaceOnUse">'
                f'<rect width="6" height="6" fill="{series.colour}"/><path d="M0 0L6 6M6 0L0 6" stroke="#fff" stroke-width="1.2"/></pattern>'
                ), f"url(#{pid})"
    if series.pattern == "outline":
        return "", "#fff"
    return "", series.colour


def stacked_chart(chart_id: str, title: str, series: Sequence[Series], bars: Sequence[tuple[str, Sequence[int]]], *,
                  unit: str = "项") -> Markup:
    """One horizontal bar a row, split into ``series``; a legend above, and under each bar its numbers in words."""
    fills = [_pattern(chart_id, i, s) for i, s in enumerate(series)]
    defs = "<defs>" + "".join(d for d, _ in fills) + "</defs>"
    legend = []
    x = 0
    for (_, fill), s in zip(fills, series, strict=True):
        legend.append(f'<rect x="{x}" y="4" width="16" height="16" fill="{fill}" stroke="{s.colour}"/>'
                      f'<text x="{x + 22}" y="17" font-size="13" fill="{INK}">{escape(s.name)}</text>')
        x += 34 + 14 * len(s.name)
    row, top, room = 64, 36, WIDTH - 2
    scale = _scale([sum(values) for _, values in bars], room)
    parts = ["".join(legend)]
    for index, (label, values) in enumerate(bars):
        y = top + index * row
        parts.append(f'<text x="0" y="{y + 14}" font-size="14" font-weight="bold" fill="{INK}">{escape(label)}</text>')
        at = 0.0
        for (_, fill), s, value in zip(fills, series, values, strict=True):
            if value:
                parts.append(f'<rect x="{at:.1f}" y="{y + 20}" width="{value * scale:.1f}" height="18" fill="{fill}" stroke="{s.colour}"/>')
                at += value * scale
        words = " · ".join(f"{s.name} {value}" for s, value in zip(series, values, strict=True))
        parts.append(f'<text x="0" y="{y + 54}" font-size="13" fill="{INK}">{escape(words)}</text>')
    if not bars:
        parts.append(f'<text x="0" y="{top + 14}" font-size="14" fill="{MUTED}">无数据 / no data</text>')
    height = top + max(len(bars), 1) * row
    description = "；".join(f"{label}：" + "，".join(f"{s.name} {v}{unit}" for s, v in zip(series, values, strict=True))
                           for label, values in bars) or "无数据 / no data"
    return _frame(chart_id, title, description, height, "".join(parts), defs)


def histogram(chart_id: str, title: str, bins: Sequence[tuple[str, int]], *, axis: str, unit: str = "件") -> Markup:
    """Vertical bars side by side over an axis: each bin's name under it, its number above it."""
    height, base, left = 240, 190, 8
    width = (WIDTH - left) / max(len(bins), 1)
    scale = _scale([v for _, v in bins], base - 40)
    parts = [f'<line x1="{left}" y1="{base}" x2="{WIDTH}" y2="{base}" stroke="{INK}"/>']
    for index, (label, value) in enumerate(bins):
        x = left + index * width
        tall = value * scale
        parts.append(f'<rect x="{x + 6:.1f}" y="{base - tall:.1f}" width="{width - 12:.1f}" height="{tall:.1f}" fill="{BAR}"/>'
                     f'<text x="{x + width / 2:.1f}" y="{base - tall - 6:.1f}" font-size="14" font-weight="bold" fill="{INK}" '
                     f'text-anchor="middle">{value}</text>'
                     f'<text x="{x + width / 2:.1f}" y="{base + 20}" font-size="13" fill="{INK}" text-anchor="middle">{escape(label)}</text>')
    parts.append(f'<text x="{WIDTH / 2:.0f}" y="{height - 8}" font-size="13" fill="{MUTED}" text-anchor="middle">{escape(axis)}</text>')
    return _frame(chart_id, title, f"{axis}。" + _listing(bins, unit), height, "".join(parts))
