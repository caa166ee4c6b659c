"""An Elle anomaly's cycle as a small diagram: the transactions top to bottom, the edges between.

Strategy: the checker explains a cycle as ``cycle`` (its transactions, named
T1, T2, ... in cycle order, with index, process and micro-ops) and ``steps``
(one edge per transaction to the next, the last one back to T1, each with
its kind: ww, wr, rw, realtime or process, and the key of a data edge). The
picture follows the checker's text diagram: one box per transaction in a
column, a labelled arrow down from each to the next, and the closing edge as
an arrow that leaves the last box on the right and climbs back into T1, so a
cycle of any length draws without crossings. Arrow colours tell the edge
kinds apart, and every arrow carries its kind and key as text too. Micro-ops
are shown in the monospace font, cut to the box (the page's text has them in
full).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from maelstrom.report.svg import MONO, esc, fit

__all__ = ["EDGE_COLOURS", "cycle_svg", "mops_text"]

EDGE_COLOURS: Final[dict[str, str]] = {"ww": "#8e44ad", "wr": "#2b6cd4", "rw": "#c0392b",
                                       "realtime": "#d35400", "process": "#16a085"}
_OTHER: Final[str] = "#555"
BOX_W: Final[int] = 500
BOX_H: Final[int] = 40
GAP: Final[int] = 34  # between boxes: room for an arrow and its label
LEFT: Final[int] = 12
TOP: Final[int] = 12
RETURN_X: Final[int] = LEFT + BOX_W + 40  # where the closing arrow climbs
WIDTH: Final[int] = RETURN_X + 150
FONT: Final[int] = 12


def _show(v: Any) -> str:
    if v is None:
        return "nil"
    if isinstance(v, list):
        return "[" + ",".join(_show(x) for x in v) + "]"
    return str(v)


def mops_text(mops: Sequence[Sequence[Any]]) -> str:
    """``r 6 [1,2,3]  append 8 15``: a transaction's micro-ops on one line."""
    return "  ".join(f"{m[0]} {_show(m[1])} {_show(m[2])}" for m in mops if len(m) == 3)


def _label(step: Mapping[str, Any]) -> str:
    kind = str(step.get("type", ""))
    key = step.get("key")
    return kind if key is None else f"{kind}, key {_show(key)}"


def _arrow_head(x: float, y: float, direction: str, colour: str) -> str:
    if direction == "down":
        pts = f"{x - 5},{y - 9} {x + 5},{y - 9} {x},{y}"
    else:  # left
        pts = f"{x + 9},{y - 5} {x + 9},{y + 5} {x},{y}"
    return f"<polygon points='{pts}' fill='{colour}'/>"


def cycle_svg(anomaly: Mapping[str, Any]) -> str:
    """The SVG of one cycle anomaly (``type``, ``cycle``, ``steps``: see module doc); "" if it has none."""
    txns = list(anomaly.get("cycle") or [])
    steps = list(anomaly.get("steps") or [])
    if not txns or len(steps) != len(txns):
        return ""
    n = len(txns)
    height = TOP * 2 + n * BOX_H + (n - 1) * GAP + 16
    kind = str(anomaly.get("type", "cycle"))
    out = [f"<svg class='cycle' xmlns='http://www.w3.org/2000/svg' width='{WIDTH}' height='{height}' "
           f"viewBox='0 0 {WIDTH} {height}' role='img' aria-label='{esc(kind)} cycle of {n} transactions' "
           f"font-family='{MONO}' font-size='{FONT}'>"]
    top_of = [TOP + i * (BOX_H + GAP) for i in range(n)]
    for i, t in enumerate(txns):
        y = top_of[i]
        outcome = "" if t.get("type") in (None, "ok") else f", {t.get('type')}"
        head = f"{t.get('name', f'T{i + 1}')}  index {t.get('index')}, process {t.get('process')}{outcome}"
        ops = mops_text(t.get("value") or [])
        out.append(f"<g class='txn'><title>{esc(head)}: {esc(ops)}</title>"
                   f"<rect x='{LEFT}' y='{y}' width='{BOX_W}' height='{BOX_H}' rx='4' fill='#f7f8fb' "
                   f"stroke='#99a'/>"
                   f"<text x='{LEFT + 8}' y='{y + 16}' font-weight='bold'>{esc(fit(head, BOX_W - 16, FONT))}</text>"
                   f"<text x='{LEFT + 8}' y='{y + 32}' fill='#333'>{esc(fit(ops, BOX_W - 16, FONT))}</text></g>")
    cx = LEFT + BOX_W // 2
    for i, step in enumerate(steps[:-1]):
        colour = EDGE_COLOURS.get(str(step.get("type")), _OTHER)
        y0 = top_of[i] + BOX_H
        y1 = top_of[i + 1]
        out.append(f"<g class='edge'><title>{esc(str(step.get('text', '')))}</title>"
                   f"<line x1='{cx}' y1='{y0}' x2='{cx}' y2='{y1 - 8}' stroke='{colour}' stroke-width='2'/>"
                   f"{_arrow_head(cx, y1, 'down', colour)}"
                   f"<text x='{cx + 10}' y='{(y0 + y1) // 2 + 4}' fill='{colour}'>{esc(_label(step))}</text></g>")
    last = steps[-1]
    colour = EDGE_COLOURS.get(str(last.get("type")), _OTHER)
    y_from = top_of[-1] + BOX_H // 2
    y_to = top_of[0] + BOX_H // 2
    right = LEFT + BOX_W
    if n == 1:  # a transaction that precedes itself (never from the checker; drawn all the same)
        y_from = top_of[0] + BOX_H - 8
        y_to = top_of[0] + 8
    out.append(f"<g class='edge closing'><title>{esc(str(last.get('text', '')))}</title>"
               f"<path d='M{right},{y_from} H{RETURN_X} V{y_to} H{right + 9}' fill='none' stroke='{colour}' "
               f"stroke-width='2'/>{_arrow_head(right, y_to, 'left', colour)}"
               f"<text x='{RETURN_X + 6}' y='{(y_from + y_to) // 2 + 4}' fill='{colour}'>"
               f"{esc(fit(_label(last), WIDTH - RETURN_X - 8, FONT))}</text></g>")
    out.append("</svg>")
    return "".join(out)
