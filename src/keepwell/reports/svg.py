"""Small static SVG charts for the business review (printed to PDF, so no JavaScript):
a line chart and a bar chart with a title, axis labels and units. Every text is
XML-escaped; numbers are formatted here."""

from __future__ import annotations

import math
from collections.abc import Sequence
from xml.sax.saxutils import escape

WIDTH, HEIGHT = 520, 220
LEFT, RIGHT, TOP, BOTTOM = 52, 28, 30, 38
COLOURS = ("#2458d6", "#1f8a4c", "#c53030", "#d69e2e", "#6b46c1", "#00a3c4")


def _fmt(value: float) -> str:
    if abs(value) >= 1e6:
        return f"{value / 1e6:.1f}M"
    if abs(value) >= 1e3:
        return f"{value / 1e3:.1f}k"
    return f"{value:.0f}" if value == int(value) else f"{value:.1f}"


def _frame(title: str, y_label: str, top: float) -> list[str]:
    plot_h = HEIGHT - TOP - BOTTOM
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="10" role="img" '
        f'aria-label="{escape(title, {chr(34): "&quot;"})}">',
        f'<text x="{LEFT}" y="16" font-size="12" font-weight="bold">{escape(title)}</text>',
        f'<text x="12" y="{TOP + plot_h / 2}" transform="rotate(-90 12 {TOP + plot_h / 2})" '
        f'text-anchor="middle" fill="#5d6778">{escape(y_label)}</text>',
    ]
    for i in range(5):
        y = TOP + plot_h * (1 - i / 4)
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e3e7ee"/>'
            f'<text x="{LEFT - 4}" y="{y + 3:.1f}" text-anchor="end" fill="#5d6778">'
            f"{_fmt(top * i / 4)}</text>"
        )
    return parts


def _x_labels(labels: Sequence[str], xs: Sequence[float]) -> list[str]:
    step = max(1, len(labels) // 8)
    return [
        f'<text x="{x:.1f}" y="{HEIGHT - BOTTOM + 14}" text-anchor="middle" fill="#5d6778">'
        f"{escape(str(label))}</text>"
        for i, (label, x) in enumerate(zip(labels, xs, strict=True))
        if i % step == 0 or i == len(labels) - 1
    ]


def nice_top(peak: float) -> float:
    """The smallest 1, 2, 4, 6 or 8 x 10^k at or above ``peak`` (so the four grid
    steps are round numbers); 1 when ``peak`` is not positive."""
    if peak <= 0:
        return 1.0
    scale = 10.0 ** math.floor(math.log10(peak))
    return next(m * scale for m in (1, 2, 4, 6, 8, 10) if m * scale >= peak)


def _top(values: Sequence[float], fixed: float | None) -> float:
    if fixed is not None:
        return fixed
    return nice_top(max([v for v in values if v is not None] or [0.0]))


def line_chart(
    title: str,
    labels: Sequence[str],
    series: dict[str, Sequence[float | None]],
    *,
    y_label: str,
    y_max: float | None = None,
) -> str:
    """Lines over ``labels``; None values leave a gap. Returns the SVG markup."""
    top = _top([v for s in series.values() for v in s if v is not None], y_max)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    n = max(1, len(labels) - 1)
    xs = [LEFT + plot_w * i / n for i in range(len(labels))]
    parts = _frame(title, y_label, top) + _x_labels(labels, xs)
    for k, (name, values) in enumerate(series.items()):
        colour = COLOURS[k % len(COLOURS)]
        points = [
            f"{x:.1f},{TOP + plot_h * (1 - v / top):.1f}"
            for x, v in zip(xs, values, strict=True)
            if v is not None
        ]
        parts += [
            f'<circle cx="{p.split(",")[0]}" cy="{p.split(",")[1]}" r="2.5" fill="{colour}"/>'
            for p in points
        ]
        if points:
            parts.append(
                f'<polyline fill="none" stroke="{colour}" stroke-width="2" '
                f'points="{" ".join(points)}"/>'
            )
        if len(series) > 1:
            parts.append(
                f'<text x="{WIDTH - RIGHT}" y="{16 + 12 * k}" text-anchor="end" fill="{colour}">'
                f"{escape(name)}</text>"
            )
    return "".join(parts) + "</svg>"


def bar_chart(title: str, labels: Sequence[str], values: Sequence[float], *, y_label: str) -> str:
    """One bar per label. Returns the SVG markup."""
    top = _top(values, None)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    width = plot_w / max(1, len(labels))
    xs = [LEFT + width * (i + 0.5) for i in range(len(labels))]
    parts = _frame(title, y_label, top) + _x_labels(labels, xs)
    for x, v in zip(xs, values, strict=True):
        h = plot_h * max(0.0, v) / top
        parts.append(
            f'<rect x="{x - width * 0.35:.1f}" y="{TOP + plot_h - h:.1f}" '
            f'width="{width * 0.7:.1f}" height="{h:.1f}" fill="{COLOURS[0]}"/>'
        )
    return "".join(parts) + "</svg>"
