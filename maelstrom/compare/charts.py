"""Grouped bar charts for ``compare.html``, on the report's SVG helpers.

Strategy: one chart compares the modes (the series, a colour each) across
the grid's rows (the groups: workload and node count) for one metric and one
fault. Axes, round ticks, titles and the legend come from
`maelstrom.report.svg`, so the charts read like report.html's. Each bar is a
``rect.bar`` carrying its group, series and value as data attributes and a
tooltip; a missing value is a grey dash on the baseline, never a zero bar.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Final

from maelstrom.report.svg import (Frame, esc, fit, legend, linear_ticks, open_svg, text_width, title,
                                  y_axis)

#: One colour per consistency mode (and a fallback for anything else).
MODE_COLOURS: Final[dict[str, str]] = {"eventual": "#4c78a8", "causal": "#f58518",
                                       "strong": "#54a24b"}
OTHER_COLOUR: Final[str] = "#888888"
FRAME: Final[Frame] = Frame(width=760, height=300, bottom=58)
#: Space between groups, as a fraction of a group's width.
GROUP_GAP: Final[float] = 0.25
LABEL_PX: Final[int] = 10
#: The value printed above a bar (when it fits the bar's width).
VALUE_PX: Final[int] = 9


def short(v: float) -> str:
    """A bar's value label: no unit, two decimals up to 1, one below 10, none above."""
    if abs(v) <= 1:
        return f"{v:.2f}"
    return f"{v:.1f}" if abs(v) < 10 else f"{v:.0f}"


def grouped_bars(chart_title: str, groups: Sequence[tuple[str, str]], series: Sequence[str],
                 values: Mapping[tuple[str, str], float | None], y_label: str,
                 fmt: Callable[[float], str], y_max: float | None = None,
                 cls: str = "") -> str:
    """An SVG grouped bar chart.

    Args:
        chart_title: Shown above the legend.
        groups: ``(id, label)`` per group, left to right; a label may hold one newline.
        series: Series names (modes), one bar each per group, coloured by `MODE_COLOURS`.
        values: ``(group id, series) -> value``; missing or None draws a dash.
        y_label: The value axis's label.
        fmt: A value as text (tooltips and data attributes keep the raw number).
        y_max: The axis top (default: the largest value, rounded up to a tick).
        cls: Extra CSS class of the ``svg``.
    """
    frame = FRAME
    present = [v for v in values.values() if v is not None]
    top = y_max if y_max is not None else max([0.0, *present])
    ticks, step = linear_ticks(0.0, top if top > 0 else 1.0, 5)
    y_top = max(ticks[-1], top) if ticks else 1.0

    def y_of(v: float) -> float:
        return frame.y1 - (frame.y1 - frame.y0) * min(max(v, 0.0), y_top) / y_top

    n = max(1, len(groups))
    group_w = (frame.x1 - frame.x0) / n
    bar_w = group_w * (1 - GROUP_GAP) / max(1, len(series))
    out = [open_svg(frame, f"chart compare-chart {cls}".strip(), chart_title),
           title(frame, chart_title),
           legend(frame, [(s, MODE_COLOURS.get(s, OTHER_COLOUR), "box") for s in series]),
           y_axis(frame, y_of, ticks, step, y_label),
           f'<line x1="{frame.x0}" y1="{frame.y1}" x2="{frame.x1}" y2="{frame.y1}" stroke="#333"/>']
    for gi, (gid, label) in enumerate(groups):
        gx = frame.x0 + gi * group_w + group_w * GROUP_GAP / 2
        for si, s in enumerate(series):
            x = gx + si * bar_w
            v = values.get((gid, s))
            if v is None:
                out.append(f'<text class="no-value" x="{x + bar_w / 2:.1f}" y="{frame.y1 - 3}" '
                           f'text-anchor="middle" font-size="10" fill="#999">–<title>'
                           f'{esc(gid)}, {esc(s)}: nothing to measure</title></text>')
                continue
            y = y_of(v)
            out.append(f'<rect class="bar" data-group="{esc(gid)}" data-series="{esc(s)}" '
                       f'data-value="{v:.6g}" x="{x:.1f}" y="{y:.1f}" width="{max(1.0, bar_w - 1):.1f}" '
                       f'height="{max(0.0, frame.y1 - y):.1f}" '
                       f'fill="{MODE_COLOURS.get(s, OTHER_COLOUR)}"><title>{esc(gid)}, {esc(s)}: '
                       f'{esc(fmt(v))}</title></rect>')
            label_text = short(v)
            if text_width(label_text, VALUE_PX) <= bar_w + 2:  # else only the tooltip has it
                out.append(f'<text class="bar-value" x="{x + bar_w / 2:.1f}" y="{y - 3:.1f}" '
                           f'text-anchor="middle" font-size="{VALUE_PX}" font-family="monospace" '
                           f'fill="#333">{esc(label_text)}</text>')
        for li, line in enumerate(label.split("\n")[:2]):
            text = fit(line, group_w - 2, LABEL_PX)
            out.append(f'<text class="group-label" x="{gx + group_w * (1 - GROUP_GAP) / 2:.1f}" '
                       f'y="{frame.y1 + 14 + li * 12}" text-anchor="middle" '
                       f'font-size="{LABEL_PX}" font-family="monospace">{esc(text)}</text>')
    out.append("</svg>")
    return "".join(out)
