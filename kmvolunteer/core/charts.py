"""Small charts drawn on the server as SVG: no JavaScript, and they print.

Only presentation attributes are used (no style attributes), so the
Content-Security-Policy of 'self' holds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from html import escape
from typing import Any

from markupsafe import Markup

INK = "#1f2328"
MUTED = "#5b6470"
GRID = "#d8dde3"
BAR = "#b3261e"
LINE = "#1d5fa8"


@dataclass(frozen=True)
class Point:
    label: str
    value: float


def _fmt(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"


def _axis_label(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def nice_ceiling(value: float) -> float:
    """The smallest round number at least ``value`` whose quarters are round too, for an axis of
    0, ¼, ½, ¾ and the whole (1,000 → 250, 500, 750; 3,200 → 800, 1,600, 2,400)."""
    if value <= 1:
        return 1
    power = 10 ** (len(str(int(value))) - 1)
    for step in (1, 1.2, 1.6, 2, 2.4, 3.2, 4, 6, 8, 10):
        if step * power >= value:
            return step * power
    return 10 * power


def for_any_screen(draw: Callable[..., Markup], *args: Any, **kwargs: Any) -> Markup:
    """The chart drawn twice: wide, and narrow enough for a 360 px phone with its words at full size. The
    style sheet shows the one that fits the screen, so a phone neither scrolls it nor shrinks its words."""
    return draw(*args, **kwargs) + draw(*args, narrow=True, **kwargs)


def _svg_open(width: int, height: int, title: str, narrow: bool) -> str:
    kind = "narrow" if narrow else "wide"
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart chart--{kind}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" '
        f'preserveAspectRatio="xMinYMin meet">'
    )


def bar_chart(
    points: list[Point], *, title: str, unit: str = "%", maximum: float | None = None, narrow: bool = False
) -> Markup:
    """Horizontal bars, one per point (e.g. compliance rate by sub-area)."""
    row, pad = 26, 8
    label_w, bar_w, chars = (112, 148, 8) if narrow else (190, 340, 12)
    height = pad * 2 + row * max(len(points), 1) + 20
    width = label_w + bar_w + 60 if narrow else label_w + bar_w + 70
    top = maximum if maximum is not None else max([p.value for p in points] + [1])
    parts = [_svg_open(width, height, title, narrow), f"<title>{escape(title)}</title>"]
    if not points:
        parts.append(f'<text x="{pad}" y="{pad + 16}" fill="{MUTED}" font-size="13">—</text>')
    for index, point in enumerate(points):
        y = pad + index * row
        length = 0 if top <= 0 else max(point.value, 0) / top * bar_w
        parts.append(
            f'<text x="{label_w - 8}" y="{y + 17}" text-anchor="end" fill="{INK}" '
            f'font-size="13">{escape(point.label[:chars])}</text>'
        )
        parts.append(f'<rect x="{label_w}" y="{y + 4}" width="{bar_w}" height="16" fill="{GRID}" opacity="0.5"/>')
        parts.append(f'<rect x="{label_w}" y="{y + 4}" width="{length:.1f}" height="16" fill="{BAR}"/>')
        shown = f"{point.value:.1f}" if unit == "%" else _fmt(point.value)  # as the tables show rates
        parts.append(
            f'<text x="{label_w + bar_w + 6}" y="{y + 17}" fill="{INK}" font-size="13">{shown}{escape(unit)}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def line_chart(points: list[Point], *, title: str, unit: str = "", narrow: bool = False) -> Markup:
    """A line over evenly spaced labels (e.g. approved hours by month)."""
    width, height, left, bottom, top_pad, right = (330, 200, 58, 28, 14, 12) if narrow else (560, 220, 72, 28, 14, 16)
    plot_w, plot_h = width - left - right, height - bottom - top_pad
    top = nice_ceiling(max([p.value for p in points] + [1]))
    step = plot_w / max(len(points) - 1, 1)
    parts = [_svg_open(width, height, title, narrow), f"<title>{escape(title)}</title>"]
    for fraction in (0, 0.25, 0.5, 0.75, 1):
        y = top_pad + plot_h * (1 - fraction)
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="{GRID}"/>')
        parts.append(
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="{MUTED}" '
            f'font-size="12">{_axis_label(top * fraction)}</text>'
        )
    coords = [(left + i * step, top_pad + plot_h * (1 - p.value / top)) for i, p in enumerate(points)]
    if coords:
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
        parts.append(f'<polyline points="{path}" fill="none" stroke="{LINE}" stroke-width="2.5"/>')
    for (x, y), point in zip(coords, points, strict=True):
        parts.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{LINE}">'
            f"<title>{escape(point.label)}: {_fmt(point.value)}{escape(unit)}</title></circle>"
        )
        parts.append(
            f'<text x="{x:.1f}" y="{height - 8}" text-anchor="middle" fill="{MUTED}" '
            f'font-size="12">{escape(point.label)}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))
