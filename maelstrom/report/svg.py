"""Small SVG building blocks shared by the report's charts: round ticks, axes, legends.

Strategy: every chart is a string of SVG built from plain numbers. Axis ticks
sit at 1-2-5 steps (0.1, 0.2, 0.5, 1, 2, 5, 10 …) so their labels are round;
legends go in the band above the plot area, never on the data. Text that must
fit a box is set in a monospace font, whose advance is 0.6 em, so its width is
known here without a browser.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

#: Monospace advance as a fraction of the font size (DejaVu / Liberation Mono).
MONO_ADVANCE: Final[float] = 0.6
MONO: Final[str] = "DejaVu Sans Mono, Liberation Mono, monospace"
#: A generous average advance of a sans-serif font (for spacing legend items only).
SANS_ADVANCE: Final[float] = 0.58

esc = html.escape


def text_width(text: str, font_px: float) -> float:
    """Width of ``text`` in the monospace font at ``font_px``."""
    return len(text) * font_px * MONO_ADVANCE


def fit(text: str, width_px: float, font_px: float) -> str:
    """``text`` cut (with an ellipsis) to fit ``width_px`` in the monospace font; "" if nothing fits."""
    n = int(width_px / (font_px * MONO_ADVANCE))
    if len(text) <= n:
        return text
    return text[:n - 1] + "…" if n >= 2 else ""


def nice_step(span: float, target: int) -> float:
    """The 1-2-5 step nearest (by ratio) to cutting ``span`` into ``target`` intervals."""
    raw = max(span, 1e-12) / max(1, target)
    mag = 10 ** math.floor(math.log10(raw))
    return min((m * mag for m in (1, 2, 5, 10)), key=lambda s: abs(math.log(s / raw)))


def linear_ticks(lo: float, hi: float, target: int = 6) -> tuple[list[float], float]:
    """Round ticks covering ``[lo, hi]`` at a 1-2-5 step; returns (ticks, step)."""
    step = nice_step(hi - lo, target)
    first = math.floor(lo / step + 1e-9) * step
    ticks = []
    k = 0
    while True:
        v = first + k * step
        if v > hi + step * 1e-9:
            break
        if v >= lo - step * 1e-9:
            ticks.append(round(v, 12))
        k += 1
    return ticks, step


def log_ticks(lo: float, hi: float) -> list[float]:
    """1-2-5 ticks per decade from ``lo`` to ``hi`` (decades only when that would be crowded)."""
    d0, d1 = math.floor(math.log10(lo)), math.ceil(math.log10(hi))
    mults = (1, 2, 5) if d1 - d0 <= 3 else (1,)
    out = []
    for d in range(d0, d1 + 1):
        for m in mults:
            v = m * 10.0 ** d
            if lo * 0.999 <= v <= hi * 1.001:
                out.append(round(v, 12))
    return out


def fmt_tick(v: float, step: float | None = None) -> str:
    """A tick label with exactly the decimals its step needs (``0.2``, ``15``, ``0.05``)."""
    if step is None:
        step = abs(v) if v else 1.0
    decimals = max(0, -math.floor(math.log10(step) + 1e-9)) if step > 0 else 0
    text = f"{v:.{decimals}f}"
    return "0" if text.strip("-0.") == "" else text


@dataclass(frozen=True)
class Frame:
    """A chart's canvas and plot area (pixels)."""

    width: int = 760
    height: int = 280
    left: int = 60
    right: int = 16
    top: int = 56
    bottom: int = 40

    @property
    def x0(self) -> float:
        return self.left

    @property
    def x1(self) -> float:
        return self.width - self.right

    @property
    def y0(self) -> float:
        """The plot's top."""
        return self.top

    @property
    def y1(self) -> float:
        """The plot's bottom."""
        return self.height - self.bottom


def open_svg(frame: Frame, cls: str, label: str) -> str:
    """The opening tag: intrinsic size, scales down to fit a narrow page."""
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="{cls}" width="{frame.width}" '
            f'height="{frame.height}" viewBox="0 0 {frame.width} {frame.height}" role="img" '
            f'aria-label="{esc(label)}" font-family="sans-serif" font-size="12">')


def x_axis(frame: Frame, x_of: Callable[[float], float], ticks: Sequence[float], step: float,
           label: str) -> str:
    """Bottom axis line, tick marks, grid lines and round labels."""
    out = [f'<g class="x-axis"><line x1="{frame.x0}" y1="{frame.y1}" x2="{frame.x1}" '
           f'y2="{frame.y1}" stroke="#333"/>']
    for t in ticks:
        x = x_of(t)
        out.append(f'<line x1="{x:.1f}" y1="{frame.y0}" x2="{x:.1f}" y2="{frame.y1}" stroke="#eee"/>'
                   f'<line x1="{x:.1f}" y1="{frame.y1}" x2="{x:.1f}" y2="{frame.y1 + 4}" stroke="#333"/>'
                   f'<text class="tick" x="{x:.1f}" y="{frame.y1 + 16}" text-anchor="middle" '
                   f'font-size="11">{fmt_tick(t, step)}</text>')
    out.append(f'<text x="{(frame.x0 + frame.x1) / 2:.0f}" y="{frame.height - 6}" '
               f'text-anchor="middle" font-size="11">{esc(label)}</text></g>')
    return "".join(out)


def y_axis(frame: Frame, y_of: Callable[[float], float], ticks: Sequence[float],
           step: float | None, label: str) -> str:
    """Left axis line, grid lines and round labels."""
    out = [f'<g class="y-axis"><line x1="{frame.x0}" y1="{frame.y0}" x2="{frame.x0}" '
           f'y2="{frame.y1}" stroke="#333"/>']
    for t in ticks:
        y = y_of(t)
        out.append(f'<line x1="{frame.x0}" y1="{y:.1f}" x2="{frame.x1}" y2="{y:.1f}" stroke="#eee"/>'
                   f'<text class="tick" x="{frame.x0 - 5}" y="{y + 4:.1f}" text-anchor="end" '
                   f'font-size="11">{fmt_tick(t, step if step is not None else t)}</text>')
    mid = (frame.y0 + frame.y1) / 2
    out.append(f'<text x="14" y="{mid:.0f}" transform="rotate(-90 14 {mid:.0f})" '
               f'text-anchor="middle" font-size="11">{esc(label)}</text></g>')
    return "".join(out)


def title(frame: Frame, text: str) -> str:
    return (f'<text x="{frame.x0}" y="18" font-weight="bold" font-size="14">{esc(text)}</text>')


def legend(frame: Frame, items: Sequence[tuple[str, str, str]], y: float = 36) -> str:
    """A legend in the band above the plot: (label, colour, swatch "dot" | "line" | "box").

    Items wrap onto a second line (16 px lower) when the first is full.
    """
    out = ['<g class="legend">']
    x = frame.x0
    for label, colour, kind in items:
        w = 18 + len(label) * 12 * SANS_ADVANCE + 18
        if x > frame.x0 and x + w - 18 > frame.x1:
            x, y = frame.x0, y + 16
        swatch = (f'<circle cx="{x + 6}" cy="{y - 4}" r="4" fill="{colour}"/>' if kind == "dot" else
                  f'<line x1="{x}" y1="{y - 4}" x2="{x + 14}" y2="{y - 4}" stroke="{colour}" '
                  f'stroke-width="2.5"/>' if kind == "line" else
                  f'<rect x="{x}" y="{y - 11}" width="14" height="12" fill="{colour}" '
                  f'stroke="#667"/>' if kind == "box" else
                  f'<rect x="{x}" y="{y - 11}" width="14" height="12" fill="#fff" stroke="#111" '
                  f'stroke-width="2.5"/>')
        out.append(f'<g class="legend-item">{swatch}<text x="{x + 18}" y="{y}" '
                   f'font-size="12">{esc(label)}</text></g>')
        x += w
    out.append("</g>")
    return "".join(out)
