"""The failing key of an invalid linearizability check, drawn on a time axis.

Strategy (after Porcupine's visualisation and Jepsen's timelines): one lane
per process, the lane of the operation that could not be linearized first so
it is on screen without scrolling; each operation a bar from its invocation
to its completion on an axis of milliseconds since the run began (an
operation whose outcome is unknown runs to the right edge, dashed). Every bar
carries a label ``#index description``, preceded by its place in the longest
linearizable prefix when it has one. A label goes inside its bar when it
fits, else beside it (right, then left); a bar and its label together take a
footprint, and footprints that would overlap in a lane go to a new row of
that lane, so no label runs over another or off the picture. The operations
whose indexes the checker's reason names get a heavy outline and a bold
label; the failing one is red and has ``id="failing-op"``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

from maelstrom.report.svg import (MONO, Frame, esc, fit, fmt_tick, legend, linear_ticks,
                                  text_width)

WIDTH: Final[int] = 760
LANE_LABEL_PX: Final[int] = 84
ROW_PX: Final[int] = 24
BAR_PX: Final[int] = 17
FONT_PX: Final[int] = 11
#: Ops of the linearizable prefix shown besides the ones the failure names.
PREFIX_TAIL: Final[int] = 3
FILL_FAILING, FILL_PREFIX, FILL_OTHER = "#f4a3a3", "#b5e3bd", "#e1e6ee"

_INDEX_RE = re.compile(r"index (\d+)")


def named_indexes(reason: str) -> list[int]:
    """The operation indexes a checker's reason names (``... index 12 ... index 40``)."""
    return [int(m) for m in _INDEX_RE.findall(reason)]


def _ops_to_draw(failure: Mapping[str, Any], named: set[int]) -> list[Mapping[str, Any]]:
    prefix = list(failure.get("prefix") or [])
    chosen: dict[Any, Mapping[str, Any]] = {}
    for o in [*(failure.get("ops") or []), *([failure["op"]] if failure.get("op") else []),
              *(o for o in prefix if o.get("index") in named), *prefix[-PREFIX_TAIL:]]:
        if isinstance(o, Mapping) and isinstance(o.get("call_time"), (int, float)):
            chosen.setdefault(o.get("index"), o)
    return sorted(chosen.values(), key=lambda o: o["call_time"])


def _process_key(p: str) -> tuple[int, int, str]:
    return (0, int(p), p) if p.isdigit() else (1, 0, p)


def linearizability_svg(failure: Mapping[str, Any], width: int = WIDTH, suffix: str = "") -> str:
    """The failing key's operations on a time axis, lanes per process, labels that fit.

    Args:
        failure: The ``failure`` of a linearizability result (see `maelstrom.checker`).
        width: The picture's width in pixels (the page draws one for narrow and one for
            wide windows).
        suffix: Appended to element ids, so two pictures of one failure can share a page.
    """
    reason = str(failure.get("reason") or "")
    named = set(named_indexes(reason))
    ops = _ops_to_draw(failure, named)
    if not ops:
        return "<p>No operations to draw.</p>"
    bad = failure.get("op") or {}
    bad_index = bad.get("index")
    order = {o.get("index"): i + 1 for i, o in enumerate(failure.get("prefix") or [])}
    t_lo = min(o["call_time"] for o in ops)
    t_hi = max([o["return_time"] for o in ops if isinstance(o.get("return_time"), (int, float))]
               + [o["call_time"] for o in ops])
    pad = max(1.0, (t_hi - t_lo) * 0.03)
    lo_ms, hi_ms = (t_lo - pad) / 1e6, (t_hi + pad) / 1e6
    frame = Frame(width=width, left=LANE_LABEL_PX, right=8, top=0, bottom=0)

    def x_of(t_ns: float) -> float:
        return frame.x0 + (frame.x1 - frame.x0) * (t_ns / 1e6 - lo_ms) / (hi_ms - lo_ms)

    bad_process = str(bad.get("process")) if bad else None
    lanes = sorted({str(o["process"]) for o in ops},
                   key=lambda p: (p != bad_process, _process_key(p)))
    # Place every op: bar, label position, footprint; pack footprints into rows per lane.
    rows: dict[str, list[float]] = {p: [] for p in lanes}
    placed = []
    for o in ops:
        idx = o.get("index")
        x0 = x_of(o["call_time"])
        rt = o.get("return_time")
        unknown = not isinstance(rt, (int, float))
        x1 = frame.x1 if unknown else max(x0 + 3, x_of(rt))
        label = f"#{idx} {o.get('description') or o.get('f')}"
        if o.get("type") == "info":
            label += " (unknown outcome)"
        if idx in order:
            label = f"{order[idx]}. {label}"
        tw = text_width(label, FONT_PX)
        if x1 - x0 >= tw + 8:
            lx, anchor, foot = x0 + 4, "start", (x0, x1)
        elif x1 + 4 + tw <= frame.x1:
            lx, anchor, foot = x1 + 4, "start", (x0, x1 + 4 + tw)
        elif x0 - 4 - tw >= frame.x0:
            lx, anchor, foot = x0 - 4, "end", (x0 - 4 - tw, x1)
        else:
            room = max(x1 - x0 - 8, frame.x1 - x1 - 4)
            label = fit(label, room, FONT_PX)
            inside = x1 - x0 - 8 >= frame.x1 - x1 - 4
            lx, anchor = (x0 + 4, "start") if inside else (x1 + 4, "start")
            foot = (x0, x1) if inside else (x0, frame.x1)
        lane = rows[str(o["process"])]
        row = next((i for i, end in enumerate(lane) if end + 6 <= foot[0]), len(lane))
        if row == len(lane):
            lane.append(foot[1])
        else:
            lane[row] = foot[1]
        placed.append((o, str(o["process"]), row, x0, x1, unknown, label, lx, anchor))
    legend_y, axis_y = 16, 62
    lane_top: dict[str, float] = {}
    y = axis_y + 10
    for p in lanes:
        lane_top[p] = y
        y += ROW_PX * max(1, len(rows[p])) + 6
    height = int(y + 4)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="failing-key" width="{width}" '
             f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
             f'aria-label="operations on the failing key" font-family="sans-serif" font-size="12">']
    parts.append(legend(frame, [("cannot be linearized", FILL_FAILING, "box"),
                                ("linearizable prefix (1. 2. … its order)", FILL_PREFIX, "box"),
                                ("other", FILL_OTHER, "box"),
                                ("named in the reason", "#fff", "outline")], y=legend_y))
    ticks, step = linear_ticks(lo_ms, hi_ms, 7)
    parts.append(f'<g class="time-axis"><line x1="{frame.x0}" y1="{axis_y}" x2="{frame.x1}" '
                 f'y2="{axis_y}" stroke="#333"/>')
    for t in ticks:
        x = frame.x0 + (frame.x1 - frame.x0) * (t - lo_ms) / (hi_ms - lo_ms)
        parts.append(f'<line x1="{x:.1f}" y1="{axis_y - 4}" x2="{x:.1f}" y2="{height}" '
                     f'stroke="#e6e6e6"/><text class="tick" x="{x:.1f}" y="{axis_y - 8}" '
                     f'text-anchor="middle" font-size="11">{fmt_tick(t, step)}</text>')
    parts.append(f'<text x="{frame.x1}" y="{axis_y - 24}" text-anchor="end" font-size="11" '
                 f'fill="#555">time since the run began (ms)</text></g>')
    for i, p in enumerate(lanes):
        top = lane_top[p]
        h = ROW_PX * max(1, len(rows[p]))
        shade = "#f6f7f9" if i % 2 == 0 else "#fff"
        parts.append(f'<rect x="0" y="{top - 3}" width="{width}" height="{h + 2}" fill="{shade}"/>'
                     f'<text x="6" y="{top + 14}" font-size="12">process {esc(p)}</text>')
    for o, p, row, x0, x1, unknown, label, lx, anchor in placed:
        idx = o.get("index")
        top = lane_top[p] + row * ROW_PX
        is_bad = idx == bad_index
        is_named = idx in named
        fill = FILL_FAILING if is_bad else FILL_PREFIX if idx in order else FILL_OTHER
        stroke = "#b00" if is_bad else "#111" if is_named else "#778"
        stroke_px = 2.5 if is_named or is_bad else 1
        classes = "op" + (" failing" if is_bad else "") + (" named" if is_named else "")
        ident = f' id="failing-op{suffix}"' if is_bad else ""
        dash = ' stroke-dasharray="5 3"' if unknown else ""
        weight = ' font-weight="bold"' if is_named or is_bad else ""
        tip = (f"index {idx}, process {p}, {o.get('type')}: {o.get('description')}; "
               f"{o['call_time'] / 1e6:.3f}–"
               + ("?" if unknown else f"{o['return_time'] / 1e6:.3f}") + " ms")
        parts.append(f'<g class="op-group" id="op-{esc(str(idx))}{suffix}">'
                     f'<rect class="{classes}"{ident} data-index="{esc(str(idx))}" '
                     f'x="{x0:.1f}" y="{top}" '
                     f'width="{x1 - x0:.1f}" height="{BAR_PX}" rx="3" fill="{fill}" '
                     f'stroke="{stroke}" stroke-width="{stroke_px}"{dash}/>'
                     f'<text class="op-label" data-index="{esc(str(idx))}" x="{lx:.1f}" '
                     f'y="{top + 13}" text-anchor="{anchor}" font-family="{MONO}" '
                     f'font-size="{FONT_PX}"{weight}>{esc(label)}</text>'
                     f'<title>{esc(tip)}</title></g>')
    parts.append("</svg>")
    return "".join(parts)
