"""The latency and rate charts: client operations over time, partitions shaded.

Strategy: both charts share one `Frame` and a time axis in seconds with 1-2-5
ticks. Latency is drawn on a log scale (1-2-5 per decade): a run's latencies
span a millisecond to a timeout, and a linear axis flattens all but the
slowest. Operations whose outcome is unknown (info) have no latency; they sit
in a band above the plot. The rate chart counts completions per bucket (a
1-2-5 width giving some 40 buckets) and plots ops/s per outcome. Each chart
has its legend above the plot, and every effective partition
(`maelstrom.report.partitions`) is a shaded ``rect.partition`` carrying its
times and shape, numbered P1, P2 … to match the partitions table.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Final

from maelstrom.history import History
from maelstrom.report.partitions import PartitionSpan
from maelstrom.report.svg import (Frame, esc, fit, legend, linear_ticks, log_ticks, nice_step,
                                  open_svg, title, x_axis, y_axis)

COLORS: Final[dict[str, str]] = {"ok": "#2a9d3a", "fail": "#d62828", "info": "#e08e0b"}
FRAME: Final[Frame] = Frame()
#: The rate chart aims at about this many buckets.
RATE_BUCKETS: Final[int] = 40
#: Latencies below this are drawn at it (a log axis has no zero).
LATENCY_FLOOR_MS: Final[float] = 0.01


def _time_axis(end_ms: float, frame: Frame) -> tuple[Callable[[float], float], str]:
    t_max = max(end_ms / 1000, 1e-3)
    ticks, step = linear_ticks(0, t_max, 8)

    def x_of(t_s: float) -> float:
        return frame.x0 + (frame.x1 - frame.x0) * min(max(t_s, 0.0), t_max) / t_max

    return x_of, x_axis(frame, x_of, ticks, step, "time since the run began (s)")


def shade(spans: Sequence[PartitionSpan], x_of: Callable[[float], float], frame: Frame) -> str:
    """One ``rect.partition`` per span, numbered, with its shape in the tooltip and, if it fits, inline."""
    out = []
    for i, s in enumerate(spans, 1):
        x0, x1 = x_of(s.start_ms / 1000), x_of(s.end_ms / 1000)
        w = max(1.5, x1 - x0)
        tip = f"P{i} {s.start_ms / 1000:.2f}–{s.end_ms / 1000:.2f} s, {s.label}"
        out.append(f'<rect class="partition" data-start-ms="{s.start_ms:.1f}" '
                   f'data-end-ms="{s.end_ms:.1f}" data-shape="{esc(s.shape)}" x="{x0:.1f}" '
                   f'y="{frame.y0}" width="{w:.1f}" height="{frame.y1 - frame.y0}" fill="#7a7a99" '
                   f'fill-opacity="0.16"><title>{esc(tip)}</title></rect>')
        text = fit(f"P{i} {s.shape}", w - 4, 10) or fit(f"P{i}", w - 2, 10)
        if text:
            out.append(f'<text class="partition-label" x="{x0 + 2:.1f}" y="{frame.y0 + 10}" '
                       f'font-size="10" font-family="monospace" fill="#55557a">{esc(text)}</text>')
    return "".join(out)


def latency_svg(history: History, spans: Sequence[PartitionSpan], end_ms: float) -> str:
    """Every client operation's latency (log scale) at its invocation time, partitions shaded."""
    frame = FRAME
    ops = [op for op in history.operations() if isinstance(op.process, int)]
    lats = [max(LATENCY_FLOOR_MS, (op.return_time - op.call_time) / 1e6)
            for op in ops if op.outcome != "info"]
    lo = 10 ** math.floor(math.log10(min(lats))) if lats else 0.1
    hi = 10 ** math.ceil(math.log10(max(lats))) if lats else 10.0
    if hi <= lo:
        hi = lo * 10
    info_band = frame.y0 + 22
    plot_top = frame.y0 + 40

    def y_of(v: float) -> float:
        f = (math.log10(max(v, lo)) - math.log10(lo)) / (math.log10(hi) - math.log10(lo))
        return frame.y1 - (frame.y1 - plot_top) * f

    x_of, xa = _time_axis(end_ms, frame)
    counts = {k: 0 for k in COLORS}
    dots = []
    for op in ops:
        counts[op.outcome] += 1
        if op.outcome == "info":
            y, lat = float(info_band), "unknown outcome"
        else:
            v = (op.return_time - op.call_time) / 1e6
            y, lat = y_of(max(v, LATENCY_FLOOR_MS)), f"{v:.2f} ms"
        dots.append(f'<circle cx="{x_of(op.call_time / 1e9):.1f}" cy="{y:.1f}" r="2.3" '
                    f'fill="{COLORS[op.outcome]}" fill-opacity="0.8"><title>{esc(op.f)} '
                    f'{op.outcome} {lat} at {op.call_time / 1e9:.3f} s</title></circle>')
    items = [(f"{k} ({counts[k]})", c, "dot") for k, c in COLORS.items()]
    items.append(("partition", "#c9c9d9", "box"))
    band = (f'<text x="{frame.x0 - 5}" y="{info_band + 4}" text-anchor="end" font-size="10" '
            f'fill="{COLORS["info"]}">info</text>'
            f'<line x1="{frame.x0}" y1="{plot_top - 4}" x2="{frame.x1}" y2="{plot_top - 4}" '
            f'stroke="#ddd" stroke-dasharray="3 3"/>')
    return (open_svg(frame, "chart latency", "latency of every operation over time")
            + title(frame, "Latency of each operation")
            + legend(frame, items)
            + shade(spans, x_of, frame)
            + y_axis(frame, y_of, log_ticks(lo, hi), None, "latency (ms, log scale)")
            + xa + band + "".join(dots) + "</svg>")


def rate_svg(history: History, spans: Sequence[PartitionSpan], end_ms: float) -> str:
    """Completions per second by outcome, partitions shaded."""
    frame = FRAME
    t_max = max(end_ms / 1000, 1e-3)
    bucket_s = max(0.01, nice_step(t_max, RATE_BUCKETS))
    n = max(1, math.ceil(t_max / bucket_s - 1e-9))
    counts = {k: [0] * n for k in COLORS}
    for e in history:
        if isinstance(e.process, int) and e.type in counts:
            counts[e.type][min(n - 1, int(e.time / 1e9 / bucket_s))] += 1
    y_top = max([1.0] + [c / bucket_s for cs in counts.values() for c in cs])
    ticks, step = linear_ticks(0, y_top, 5)
    y_max = max(ticks[-1], y_top)

    def y_of(v: float) -> float:
        return frame.y1 - (frame.y1 - frame.y0) * v / y_max

    x_of, xa = _time_axis(end_ms, frame)
    lines = []
    for kind, cs in counts.items():
        pts = " ".join(f"{x_of(min(t_max, (i + 0.5) * bucket_s)):.1f},{y_of(c / bucket_s):.1f}"
                       for i, c in enumerate(cs))
        lines.append(f'<polyline class="series" points="{pts}" fill="none" '
                     f'stroke="{COLORS[kind]}" stroke-width="1.8"><title>{kind} per second'
                     f'</title></polyline>')
    items = [(f"{k} ({sum(counts[k])})", c, "line") for k, c in COLORS.items()]
    items.append(("partition", "#c9c9d9", "box"))
    return (open_svg(frame, "chart rate", "completions per second by outcome")
            + title(frame, f"Completions per second (buckets of {bucket_s:g} s)")
            + legend(frame, items)
            + shade(spans, x_of, frame)
            + y_axis(frame, y_of, ticks, step, "ops/s")
            + xa + "".join(lines) + "</svg>")
