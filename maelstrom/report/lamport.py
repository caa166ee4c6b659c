"""Lamport diagrams of the network journal, in windows around what matters.

Strategy: a run's journal holds tens of thousands of events; one diagram of
all of them is a page nobody reads. `pick_windows` reads the journal once, as
a stream (the caller hands it an iterator over ``messages.jsonl``), and keeps
a window of events around each anchor: the failing operation's invocation, the
start of each effective partition, or, with no anchor, the first events.
Windows that overlap are merged. Each window is drawn by `lamport_svg` like
Maelstrom's ``messages.svg``: one vertical line per participant seen in the
window (nodes first, then services, then clients), one row per event (send,
receive, drop), an arrow per message from its send row to its receive row
(dashed to the window's edge when the other end lies outside it; a red cross
where a partition or loss dropped it), errors pink, client traffic blue, the
rest black. A message's label sits on one row only (its receive, else its
drop, else its send) and is cut to the gap between its two lines, so no two
labels share a row or run past their arrow. Marks (a partition starting, the
failing operation's invocation and completion) get rows of their own. ``init``
traffic is left out.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import orjson

from maelstrom.report.svg import MONO, esc, fit

ROW_PX: Final[int] = 16
COL_PX: Final[int] = 150
LEFT_PX: Final[int] = 64
TOP_PX: Final[int] = 40
LABEL_FONT_PX: Final[float] = 9.5
#: Events kept before and after each anchor.
BEFORE_EVENTS: Final[int] = 24
AFTER_EVENTS: Final[int] = 40
EVENT_KINDS: Final[frozenset[str]] = frozenset({"send", "recv", "drop"})
INIT_TYPES: Final[frozenset[str]] = frozenset({"init", "init_ok"})


@dataclass
class Window:
    """A run of consecutive journal events (``seq`` counts kept events from 0)."""

    reasons: list[str]
    events: list[tuple[int, Mapping[str, Any]]] = field(default_factory=list)
    want: int = 0

    @property
    def first_seq(self) -> int:
        return self.events[0][0] if self.events else 0

    @property
    def last_seq(self) -> int:
        return self.events[-1][0] if self.events else -1


@dataclass
class Windows:
    """What `pick_windows` found: the windows, how many events there were, the node ids."""

    windows: list[Window]
    total: int
    nodes: list[str]


def _kept(e: Mapping[str, Any]) -> bool:
    body = e.get("body")
    return (e.get("event") in EVENT_KINDS
            and not (isinstance(body, Mapping) and body.get("type") in INIT_TYPES))


def pick_windows(journal: Iterable[Mapping[str, Any]], anchors: Sequence[tuple[float, str]],
                 before: int = BEFORE_EVENTS, after: int = AFTER_EVENTS) -> Windows:
    """One pass over the journal, keeping ``before`` + ``after`` events around each anchor.

    Args:
        journal: Journal events in order (``messages.jsonl`` records).
        anchors: ``(time_ns, why)`` pairs; none means "the first events".
        before: Events kept before each anchor.
        after: Events kept from each anchor on.
    """
    todo = sorted(anchors, key=lambda a: a[0])
    recent: deque[tuple[int, Mapping[str, Any]]] = deque(maxlen=before)
    active: list[Window] = []
    done: list[Window] = []
    nodes: list[str] = []
    if not todo:
        active.append(Window(["the first events of the run"], want=before + after))
    seq = 0
    for e in journal:
        body = e.get("body")
        if (e.get("event") == "send" and isinstance(body, Mapping) and body.get("type") == "init"
                and isinstance(body.get("node_id"), str) and body["node_id"] not in nodes):
            nodes.append(body["node_id"])
        if not _kept(e):
            continue
        t = e.get("time", 0)
        while todo and todo[0][0] <= t:
            w = Window([todo.pop(0)[1]], list(recent))
            w.want = len(w.events) + after
            active.append(w)
        item = (seq, e)
        for w in active:
            w.events.append(item)
        done.extend(w for w in active if len(w.events) >= w.want)
        active = [w for w in active if len(w.events) < w.want]
        recent.append(item)
        seq += 1
    for t, why in todo:  # anchors after the last event: the journal's tail
        active.append(Window([why], list(recent)))
    done.extend(w for w in active if w.events)
    done.sort(key=lambda w: w.first_seq)
    merged: list[Window] = []
    for w in done:
        if merged and w.first_seq <= merged[-1].last_seq + 1:
            m = merged[-1]
            have = {s for s, _ in m.events}
            m.events.extend(x for x in w.events if x[0] not in have)
            m.events.sort(key=lambda x: x[0])
            m.reasons.extend(r for r in w.reasons if r not in m.reasons)
        else:
            merged.append(w)
    return Windows(merged, seq, nodes)


def _participant_key(name: str) -> tuple[int, int, str]:
    # Nodes first: their traffic (and what a partition cut) is what a window is about;
    # then services (lin-kv ...), then the clients, who are many.
    rank = 0 if name.startswith("n") else 2 if name.startswith("c") else 1
    digits = "".join(ch for ch in name if ch.isdigit())
    return rank, int(digits) if digits else 0, name


def _label(body: Mapping[str, Any]) -> str:
    rest = {k: v for k, v in body.items() if k not in ("type", "msg_id", "in_reply_to")}
    text = str(body.get("type", "?"))
    if rest:
        text += " " + orjson.dumps(rest, default=repr).decode()
    return text


def lamport_svg(events: Iterable[Mapping[str, Any]],
                marks: Sequence[tuple[float, str]] = (), uid: str = "0") -> str:
    """A Lamport diagram of ``events`` (journal records, in order), with marked instants.

    Args:
        events: The journal events to draw (``init`` traffic is skipped).
        marks: ``(time_ns, text)`` rows drawn as a dashed line across the diagram.
        uid: Makes the arrow marker's id unique among several diagrams on one page.
    """
    evs = [e for e in events if _kept(e)]
    if not evs:
        return "<p>No messages.</p>"
    rows: list[tuple[str, Any]] = []
    pending = sorted(marks, key=lambda m: m[0])
    lo, hi = evs[0].get("time", 0), evs[-1].get("time", 0)
    pending = [m for m in pending if lo <= m[0] <= hi]
    for e in evs:
        while pending and pending[0][0] <= e.get("time", 0):
            rows.append(("mark", pending.pop(0)))
        rows.append(("event", e))
    names = sorted({e["src"] for e in evs} | {e["dest"] for e in evs}, key=_participant_key)
    col = {n: LEFT_PX + 40 + i * COL_PX for i, n in enumerate(names)}
    width = LEFT_PX + 40 + (len(names) - 1) * COL_PX + 60
    height = TOP_PX + len(rows) * ROW_PX + 24
    bottom = height - 8
    y_send: dict[Any, float] = {}
    y_end: dict[Any, tuple[float, str]] = {}
    first: dict[Any, Mapping[str, Any]] = {}
    drop_reason: dict[Any, str] = {}
    parts = []
    for i, (kind, item) in enumerate(rows):
        y = TOP_PX + (i + 1) * ROW_PX
        if kind == "mark":
            t, text = item
            parts.append(f'<g class="mark"><line x1="{LEFT_PX}" y1="{y - 4}" x2="{width}" '
                         f'y2="{y - 4}" stroke="#8a5" stroke-dasharray="6 3"/><text x="{LEFT_PX + 4}" '
                         f'y="{y - 6}" font-size="10" fill="#472">{esc(text)}</text></g>')
            continue
        e = item
        mid = e.get("id")
        first.setdefault(mid, e)
        if i % 6 == 0:
            parts.append(f'<text x="4" y="{y}" font-size="9" fill="#888">'
                         f'{e.get("time", 0) / 1e9:.3f} s</text>')
        if e["event"] == "send":
            y_send.setdefault(mid, y)
        elif mid not in y_end:
            y_end[mid] = (y, e["event"])
            if e["event"] == "drop":
                drop_reason[mid] = str(e.get("reason", "by the network"))
    heads = "".join(f'<text x="{x}" y="22" text-anchor="middle" font-weight="bold">{esc(n)}</text>'
                    f'<line x1="{x}" y1="30" x2="{x}" y2="{height}" stroke="#ccc"/>'
                    for n, x in col.items())
    arrows = []
    for mid, e in first.items():
        body = e.get("body") if isinstance(e.get("body"), Mapping) else {}
        src, dest = e["src"], e["dest"]
        x0, x1 = col[src], col[dest]
        ys = y_send.get(mid)
        end = y_end.get(mid)
        colour = ("#e5549a" if body.get("type") == "error"
                  else "#2b6cd4" if src.startswith("c") or dest.startswith("c") else "#222")
        dropped = end is not None and end[1] == "drop"
        if dropped:
            colour = "#c0392b"
        y0 = ys if ys is not None else TOP_PX
        y1 = end[0] if end is not None else bottom
        dashed = ys is None or end is None or dropped
        dash = ' stroke-dasharray="4 3"' if dashed else ""
        marker = "" if dropped or end is None else f' marker-end="url(#arrow-{uid})"'
        full = _label(body)
        label_y = end[0] if end is not None else ys if ys is not None else TOP_PX
        avail = abs(x1 - x0) - 12
        text = fit(full, avail, LABEL_FONT_PX)
        if x0 < x1:
            lx, anchor = x1 - 6, "end"
        else:
            lx, anchor = x1 + 6, "start"
        if end is None:  # labelled at its send, beside the sender
            lx, anchor = (x0 + 6, "start") if x0 < x1 else (x0 - 6, "end")
        cross = (f'<text x="{x1}" y="{y1 + 4}" text-anchor="middle" fill="#c0392b" '
                 f'font-weight="bold">✕</text>') if dropped else ""
        what = f"dropped ({drop_reason.get(mid, 'by the network')})" if dropped else ""
        tip = (f"#{mid} {src}→{dest} {what} "
               f"{esc(orjson.dumps(body, default=repr).decode()[:500])}")
        arrows.append(
            f'<g class="msg"><line x1="{x0}" y1="{y0}" x2="{x1}" y2="{y1}" stroke="{colour}"'
            f'{dash}{marker}/>{cross}<text class="label" x="{lx}" y="{label_y - 3}" '
            f'text-anchor="{anchor}" fill="{colour}" font-size="{LABEL_FONT_PX}" '
            f'font-family="{MONO}" stroke="#fff" stroke-width="2.5" stroke-opacity="0.9" paint-order="stroke">'
            f'{esc(text)}</text><title>{tip}</title></g>')
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="lamport" width="{width}" '
            f'height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif" '
            f'font-size="11"><defs><marker id="arrow-{uid}" viewBox="0 0 10 10" refX="10" refY="5" '
            f'markerWidth="6" markerHeight="6" orient="auto-start-reverse">'
            f'<path d="M 0 0 L 10 5 L 0 10 z" fill="#555"/></marker></defs>'
            f'{heads}{"".join(parts)}{"".join(arrows)}</svg>')
