"""``report.html``: one self-contained page with inline SVG charts. Pure: data in, text out.

Strategy: each section is a function returning an SVG (or HTML) string built
from plain values, so the report can be rendered from a live run or from a
stored one alike:

- `latency_svg`: every client op as a point (x = invocation time, y = latency,
  colour = outcome; info ops pinned to the top), partitions shaded;
- `rate_svg`: completions per second by outcome, partitions shaded;
- `lamport_svg`: a Lamport diagram of the first journal events like
  Maelstrom's ``messages.svg``: one vertical line per participant, an arrow
  per delivered message from its send to its receive, errors pink, client
  traffic blue, the rest black, labelled with the type and other body keys
  cut to 48 characters (``init`` traffic left out);
- `linearizability_svg`: for a failed lin-kv check, the failing key's
  operations on a timeline, one lane per process, with the longest
  linearizable prefix numbered in order and the operation that could not be
  linearized in red.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from typing import Any, Final

import orjson

from maelstrom.history import History

WIDTH: Final[int] = 900
HEIGHT: Final[int] = 260
MARGIN: Final[int] = 50
LABEL_MAX: Final[int] = 48
LAMPORT_ROW_PX: Final[int] = 14
LAMPORT_COL_PX: Final[int] = 110
LAMPORT_EVENTS_MAX: Final[int] = 10_000
COLORS: Final[dict[str, str]] = {"ok": "#2a9d3a", "fail": "#d62828", "info": "#f2a20c"}

_esc = html.escape


def _shade(partitions: Sequence[Sequence[float]], end_ms: float, x_of: Any, top: float,
           height: float) -> str:
    out = []
    for start, stop in partitions:
        stop = end_ms if stop is None or (isinstance(stop, float) and math.isnan(stop)) else stop
        x0, x1 = x_of(start / 1000), x_of(stop / 1000)
        out.append(f'<rect x="{x0:.1f}" y="{top}" width="{max(1.0, x1 - x0):.1f}" '
                   f'height="{height}" fill="#888" fill-opacity="0.18"><title>partition '
                   f'{start / 1000:.2f}–{stop / 1000:.2f} s</title></rect>')
    return "".join(out)


def _axes(title: str, x_max: float, y_max: float, y_label: str) -> str:
    w, h, m = WIDTH, HEIGHT, MARGIN
    parts = [f'<text x="{w / 2}" y="16" text-anchor="middle" font-weight="bold">{_esc(title)}</text>',
             f'<line x1="{m}" y1="{h - m}" x2="{w - 10}" y2="{h - m}" stroke="#000"/>',
             f'<line x1="{m}" y1="20" x2="{m}" y2="{h - m}" stroke="#000"/>',
             f'<text x="{w / 2}" y="{h - 12}" text-anchor="middle">time (s)</text>',
             f'<text x="12" y="{h / 2}" transform="rotate(-90 12 {h / 2})" '
             f'text-anchor="middle">{_esc(y_label)}</text>']
    for i in range(6):
        x = m + (w - 10 - m) * i / 5
        parts.append(f'<text x="{x:.1f}" y="{h - m + 14}" text-anchor="middle" '
                     f'font-size="10">{x_max * i / 5:.1f}</text>')
        y = h - m - (h - m - 20) * i / 5
        parts.append(f'<text x="{m - 4}" y="{y:.1f}" text-anchor="end" '
                     f'font-size="10">{y_max * i / 5:.3g}</text>')
    return "".join(parts)


def latency_svg(history: History, partitions: Sequence[Sequence[float]], end_ms: float) -> str:
    """Latency over time of every client op, partitions shaded."""
    ops = [op for op in history.operations() if isinstance(op.process, int)]
    t_max = max(end_ms / 1000, 1e-3)
    lats = [(op.return_time - op.call_time) / 1e6 for op in ops if op.outcome != "info"]
    y_max = max(lats + [1.0])
    w, h, m = WIDTH, HEIGHT, MARGIN

    def x_of(t_s: float) -> float:
        return m + (w - 10 - m) * min(t_s, t_max) / t_max

    def y_of(v: float) -> float:
        return h - m - (h - m - 20) * min(v, y_max) / y_max

    dots = []
    for op in ops:
        if op.outcome == "info":
            y, lat = 24.0, "info (unknown)"
        else:
            v = (op.return_time - op.call_time) / 1e6
            y, lat = y_of(v), f"{v:.1f} ms"
        dots.append(f'<circle cx="{x_of(op.call_time / 1e9):.1f}" cy="{y:.1f}" r="2.2" '
                    f'fill="{COLORS[op.outcome]}"><title>{_esc(op.f)} {op.outcome} {lat}</title></circle>')
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" '
            f'font-size="12">{_shade(partitions, end_ms, x_of, 20, h - m - 20)}'
            f'{_axes("Latency", t_max, y_max, "latency (ms)")}{"".join(dots)}</svg>')


def rate_svg(history: History, partitions: Sequence[Sequence[float]], end_ms: float,
             bucket_s: float = 1.0) -> str:
    """Completions per second by outcome, partitions shaded."""
    t_max = max(end_ms / 1000, 1e-3)
    n = max(1, math.ceil(t_max / bucket_s))
    counts = {k: [0] * n for k in COLORS}
    for e in history:
        if isinstance(e.process, int) and e.type in counts:
            counts[e.type][min(n - 1, int(e.time / 1e9 / bucket_s))] += 1
    y_max = max([1.0] + [c / bucket_s for cs in counts.values() for c in cs])
    w, h, m = WIDTH, HEIGHT, MARGIN

    def x_of(t_s: float) -> float:
        return m + (w - 10 - m) * min(t_s, t_max) / t_max

    lines = []
    for kind, cs in counts.items():
        pts = " ".join(f"{x_of((i + 0.5) * bucket_s):.1f},"
                       f"{h - m - (h - m - 20) * (c / bucket_s) / y_max:.1f}" for i, c in enumerate(cs))
        lines.append(f'<polyline points="{pts}" fill="none" stroke="{COLORS[kind]}" '
                     f'stroke-width="1.5"><title>{kind}</title></polyline>')
    legend = "".join(f'<text x="{w - 150 + 45 * i}" y="34" fill="{c}">{k}</text>'
                     for i, (k, c) in enumerate(COLORS.items()))
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" '
            f'font-size="12">{_shade(partitions, end_ms, x_of, 20, h - m - 20)}'
            f'{_axes("Throughput", t_max, y_max, "ops/s")}{"".join(lines)}{legend}</svg>')


def _label(body: Mapping[str, Any]) -> str:
    rest = {k: v for k, v in body.items() if k not in ("type", "msg_id", "in_reply_to")}
    text = str(body.get("type", "?"))
    if rest:
        text += " " + orjson.dumps(rest, default=repr).decode()
    return text if len(text) <= LABEL_MAX else text[:LABEL_MAX - 1] + "…"


def _participant_key(name: str) -> tuple[int, int, str]:
    rank = 0 if name.startswith("c") else 1 if name.startswith("n") else 2
    digits = "".join(ch for ch in name if ch.isdigit())
    return rank, int(digits) if digits else 0, name


def lamport_svg(journal: Sequence[Mapping[str, Any]], limit: int = LAMPORT_EVENTS_MAX) -> str:
    """A Lamport diagram of delivered messages among the first ``limit`` journal events."""
    init_ids = {e["id"] for e in journal if e.get("body", {}).get("type") in ("init", "init_ok")}
    events = [e for e in journal[:limit] if e["id"] not in init_ids
              and e["event"] in ("send", "recv")]
    if not events:
        return "<p>No messages.</p>"
    names = sorted({e["src"] for e in events} | {e["dest"] for e in events}, key=_participant_key)
    col = {n: 60 + i * LAMPORT_COL_PX for i, n in enumerate(names)}
    sends: dict[int, int] = {}
    arrows = []
    rows = 0
    for e in events:
        rows += 1
        y = 40 + rows * LAMPORT_ROW_PX
        if e["event"] == "send":
            sends.setdefault(e["id"], y)
            continue
        y0 = sends.get(e["id"])
        if y0 is None:
            continue
        body = e.get("body", {})
        color = ("#e5549a" if body.get("type") == "error"
                 else "#2b6cd4" if e["src"].startswith("c") or e["dest"].startswith("c") else "#222")
        x0, x1 = col[e["src"]], col[e["dest"]]
        label = _label(body)
        arrows.append(
            f'<g><line x1="{x0}" y1="{y0}" x2="{x1}" y2="{y}" stroke="{color}" '
            f'marker-end="url(#arrow)"/><text x="{(x0 + x1) / 2:.0f}" y="{(y0 + y) / 2 - 2:.0f}" '
            f'fill="{color}" font-size="9" text-anchor="middle">{_esc(label)}</text>'
            f'<title>#{e["id"]} {_esc(e["src"])}→{_esc(e["dest"])} t={e["time"] / 1e6:.1f} ms '
            f'{_esc(orjson.dumps(body, default=repr).decode()[:500])}</title></g>')
    height = 60 + rows * LAMPORT_ROW_PX
    width = 60 + len(names) * LAMPORT_COL_PX
    heads = "".join(f'<text x="{x}" y="24" text-anchor="middle" font-weight="bold">{_esc(n)}</text>'
                    f'<line x1="{x}" y1="30" x2="{x}" y2="{height}" stroke="#ccc"/>'
                    for n, x in col.items())
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'font-family="sans-serif" font-size="11"><defs><marker id="arrow" viewBox="0 0 10 10" '
            f'refX="10" refY="5" markerWidth="6" markerHeight="6" orient="auto-start-reverse">'
            f'<path d="M 0 0 L 10 5 L 0 10 z"/></marker></defs>{heads}{"".join(arrows)}</svg>')


def linearizability_svg(failure: Mapping[str, Any]) -> str:
    """The failing key's operations, one lane per process, with the linearizable prefix."""
    ops = list(failure.get("ops") or [])
    bad = failure.get("op")
    if bad is not None and all(o.get("index") != bad.get("index") for o in ops):
        ops.append(bad)
    if not ops:
        return "<p>No operations to draw.</p>"
    order = {o.get("index"): i + 1 for i, o in enumerate(failure.get("prefix") or [])}
    t0 = min(o["call_time"] for o in ops)
    t1 = max([o["return_time"] for o in ops if o.get("return_time") is not None] +
             [o["call_time"] for o in ops]) + 1
    lanes = sorted({str(o["process"]) for o in ops}, key=lambda p: (len(p), p))
    lane_y = {p: 40 + i * 34 for i, p in enumerate(lanes)}
    w = WIDTH
    span = max(1, t1 - t0)

    def x_of(t: float) -> float:
        return 90 + (w - 110) * (t - t0) / span

    parts = []
    for p, y in lane_y.items():
        parts.append(f'<text x="8" y="{y + 14}">process {_esc(p)}</text>')
    for o in ops:
        y = lane_y[str(o["process"])]
        x0 = x_of(o["call_time"])
        rt = o.get("return_time")
        x1 = x_of(rt) if rt is not None else w - 20
        is_bad = bad is not None and o.get("index") == bad.get("index")
        n = order.get(o.get("index"))
        fill = "#f4a3a3" if is_bad else "#a8e0b0" if n else "#dde3ea"
        label = o.get("description") or f'{o.get("f")} {o.get("value")}'
        if n:
            label = f"{n}. {label}"
        parts.append(f'<g><rect x="{x0:.1f}" y="{y}" width="{max(3.0, x1 - x0):.1f}" height="22" '
                     f'rx="3" fill="{fill}" stroke="{"#c00" if is_bad else "#667"}"/>'
                     f'<text x="{x0 + 3:.1f}" y="{y + 15}" font-size="11">{_esc(str(label))}</text>'
                     f'<title>index {o.get("index")} {o.get("type")} '
                     f'{_esc(str(label))}</title></g>')
    h = 60 + len(lanes) * 34
    legend = ('<text x="90" y="20" font-size="11">green: longest linearizable prefix (numbered in '
              'linearization order) · red: the operation that cannot be linearized · grey: '
              'concurrent operations</text>')
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" '
            f'font-family="sans-serif" font-size="12">{legend}{"".join(parts)}</svg>')


def _lin_failures(results: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    wl = results.get("workload") or {}
    out = []
    for k, r in (wl.get("results") or {}).items():
        lin = r.get("linearizable") or {}
        if lin.get("valid") is False and lin.get("failure"):
            out.append((k, lin["failure"]))
    return out


def render_report(workload: str, history: History, journal: Sequence[Mapping[str, Any]],
                  results: Mapping[str, Any], partitions: Sequence[Sequence[float]],
                  end_ms: float) -> str:
    """The whole page.

    Args:
        workload: The workload name (title).
        history: The run's history.
        journal: The first network journal events (``messages.jsonl`` records).
        results: ``results.json``.
        partitions: ``[start_ms, end_ms]`` pairs (end NaN/None = until the end).
        end_ms: Length of the run.
    """
    valid = results.get("valid")
    colour = {True: "#2a9d3a", False: "#d62828"}.get(valid, "#f2a20c")  # type: ignore[call-overload]
    sections = [f"<h1>{_esc(workload)}: <span style='color:{colour}'>valid = {_esc(str(valid))}"
                f"</span></h1>"]
    sections.append("<h2>Checkers</h2><ul>" + "".join(
        f"<li>{_esc(k)}: {_esc(str(v.get('valid')))}</li>"
        for k, v in results.items() if isinstance(v, Mapping) and "valid" in v) + "</ul>")
    for k, failure in _lin_failures(results):
        sections.append(f"<h2>Key {_esc(str(k))} is not linearizable</h2>"
                        f"<p>{_esc(str(failure.get('reason', '')))}</p>"
                        f"<p>State after the prefix: {_esc(str(failure.get('state')))}</p>"
                        f"{linearizability_svg(failure)}")
    sections.append("<h2>Latency</h2>" + latency_svg(history, partitions, end_ms))
    sections.append("<h2>Rate</h2>" + rate_svg(history, partitions, end_ms))
    sections.append(f"<h2>Messages (first {min(len(journal), LAMPORT_EVENTS_MAX)} events)</h2>"
                    f"<div style='overflow:auto;max-height:900px;border:1px solid #ddd'>"
                    f"{lamport_svg(journal)}</div>")
    body = "\n".join(sections)
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{_esc(workload)} – gyre test"
            f"</title><style>body{{font-family:sans-serif;margin:20px}}</style></head>"
            f"<body>{body}</body></html>\n")
