"""Tiny inline-SVG charts (no scripts, no fonts or styles from outside): grouped bars and
line series, drawn from plain numbers so the HTML report works offline."""

from __future__ import annotations

from collections.abc import Iterable
from html import escape

WIDTH, HEIGHT = 720, 260
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 48, 64
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf")


def bars(title: str, labels: list[str], series: dict[str, list[float]]) -> str:
    """Grouped vertical bars: one group per label, one bar per series."""
    top = _top(v for values in series.values() for v in values if v == v)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    group = plot_w / max(len(labels), 1)
    bar = group * 0.8 / max(len(series), 1)
    parts = _frame(title, top)
    for i, label in enumerate(labels):
        x0 = LEFT + i * group + group * 0.1
        for j, values in enumerate(series.values()):
            value = values[i] if values[i] == values[i] else 0.0
            h = plot_h * value / (top or 1.0)
            parts.append(
                f'<rect x="{x0 + j * bar:.1f}" y="{TOP + plot_h - h:.1f}" width="{bar:.1f}" '
                f'height="{h:.1f}" fill="{PALETTE[j % len(PALETTE)]}"><title>{escape(label)}: '
                f"{value:.4g}</title></rect>"
            )
        parts.append(_label(LEFT + i * group + group / 2, TOP + plot_h + 14, label))
    parts += _legend(list(series))
    return _svg(parts)


def lines(title: str, labels: list[str], series: dict[str, list[float]]) -> str:
    """One polyline per series over evenly spaced labels (e.g. days)."""
    top = _top(v for values in series.values() for v in values)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = plot_w / max(len(labels) - 1, 1)
    parts = _frame(title, top)
    for j, values in enumerate(series.values()):
        points = " ".join(
            f"{LEFT + i * step:.1f},{TOP + plot_h - plot_h * v / (top or 1.0):.1f}"
            for i, v in enumerate(values)
        )
        colour = PALETTE[j % len(PALETTE)]
        parts.append(
            f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2"/>'
        )
    every = max(1, len(labels) // 8)
    for i in range(0, len(labels), every):
        parts.append(_label(LEFT + i * step, TOP + plot_h + 14, labels[i]))
    parts += _legend(list(series))
    return _svg(parts)


def _top(values: Iterable[float]) -> float:
    """The axis' top: the largest value, 0 for none (an empty chart's axis reads 0 to 0)."""
    return max(values, default=0.0)


def _frame(title: str, top: float) -> list[str]:
    plot_h = HEIGHT - TOP - BOTTOM
    return [
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="#ffffff"/>',
        f'<text x="{LEFT}" y="18" font-size="14" font-weight="bold">{escape(title)}</text>',
        f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{TOP + plot_h}" stroke="#444"/>',
        f'<line x1="{LEFT}" y1="{TOP + plot_h}" x2="{WIDTH - RIGHT}" y2="{TOP + plot_h}" '
        'stroke="#444"/>',
        f'<text x="{LEFT - 4}" y="{TOP + 4}" font-size="10" text-anchor="end">{top:.3g}</text>',
        f'<text x="{LEFT - 4}" y="{TOP + plot_h}" font-size="10" text-anchor="end">0</text>',
    ]


def _label(x: float, y: float, text: str) -> str:
    short = text if len(text) <= 14 else text[:13] + "…"
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="10" text-anchor="end" '
        f'transform="rotate(-30 {x:.1f} {y:.1f})">{escape(short)}</text>'
    )


def _legend(names: list[str]) -> list[str]:
    """One row of swatches under the title, as wide as the names need."""
    parts, x = [], LEFT
    for j, name in enumerate(names):
        colour = PALETTE[j % len(PALETTE)]
        parts.append(f'<rect x="{x}" y="26" width="10" height="10" fill="{colour}"/>')
        parts.append(f'<text x="{x + 14}" y="35" font-size="11">{escape(name)}</text>')
        x += 24 + 7 * len(name)
    return parts


def _svg(parts: list[str]) -> str:
    body = "".join(parts)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif">{body}</svg>'
    )
