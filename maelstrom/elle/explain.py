"""Anomalies in words: who did what, and why each edge of a cycle is there.

Strategy: pure formatting over the transactions and the graph's edge
reasons. A cycle's transactions are named T1, T2, ... in cycle order; each
step says what the two transactions did to which key and which dependency
that makes (ww, wr, rw, process, realtime), and the steps are joined into one
sentence that ends where it began. A small text diagram draws the same
cycle top to bottom. Edge reasons are tuples the workloads put on edges:

- ``("ww", key, x, y)``: the tail wrote x, the head wrote y, a later version;
- ``("wr", key, x)``: the tail wrote x, the head read it;
- ``("rw", key, x, y)``: the tail read x (``None``: nothing yet), the head
  wrote y, a later version;
- ``("process", p)`` and ``("realtime",)``.

The wording depends on the workload (`WORDS`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Final

from maelstrom.elle.graph import KIND_NAMES, PROCESS, REALTIME, Cycle, DepGraph
from maelstrom.verdict import show

if TYPE_CHECKING:
    from maelstrom.elle.txn import Txn

#: Per workload, the sentence for each data edge (``{a}``, ``{b}``: the two txns; ``{k}``:
#: the key; ``{x}``, ``{y}``: the versions). In rw-register every non-null order fact
#: comes from a txn that read x and then wrote y, so the sentences say so.
WORDS: Final[dict[str, dict[str, str]]] = {
    "list-append": {
        "ww": "{a} appended {x} to key {k}, and {b} appended {y} right after it",
        "wr": "{a} appended {x} to key {k}, which {b} read",
        "rw": "{a} read key {k} up to {x}, missing {y}, which {b} appended right after it",
        "rw_none": "{a} read key {k} before anything was appended to it, missing {y}, which {b} "
                   "appended first"},
    "rw-register": {
        "ww": "{a} wrote {x} to key {k}, and {b} read it and then wrote {y}",
        "wr": "{a} wrote {x} to key {k}, which {b} read",
        "rw": "{a} read {x} from key {k}, and {b} read it too and then overwrote it with {y}",
        "rw_none": "{a} read key {k} as null (its initial state), which {b} overwrote with {y}"},
}


def txn_label(t: Txn) -> str:
    """``index 12, process 3`` (plus ``, info`` for an indeterminate one)."""
    kind = "" if t.outcome == "ok" else f", {t.outcome}"
    return f"index {t.op.index}, process {t.op.process}{kind}"


def txn_dict(t: Txn, name: str | None = None) -> dict[str, Any]:
    """A JSON-ready transaction: name (in a cycle), index, process, outcome, micro-ops, times."""
    d: dict[str, Any] = {"index": t.op.index, "process": t.op.process, "type": t.outcome,
                         "value": [[f, k, list(v) if isinstance(v, tuple) else v]
                                   for f, k, v in t.mops],
                         "call_time": t.op.call_time,
                         "return_time": None if math.isinf(t.op.return_time)
                         else int(t.op.return_time)}
    if name is not None:
        d = {"name": name, **d}
    return d


def edge_text(workload: str, kind: int, reason: Any, a: str, b: str, ta: Txn, tb: Txn) -> str:
    """One step of a cycle in words, ending with the edge's kind in parentheses."""
    w = WORDS[workload]
    tag = KIND_NAMES[kind]
    if kind == PROCESS:
        return f"{a} and {b} ran on process {ta.op.process}, {a} first ({tag})"
    if kind == REALTIME:
        return f"{a} completed before {b} began ({tag})"
    if not isinstance(reason, tuple) or not reason:
        return f"{a} precedes {b} ({tag})"
    what = reason[0]
    if what not in ("ww", "wr", "rw"):
        return f"{a} precedes {b} ({tag})"
    x = reason[2]
    y = show(reason[3]) if len(reason) > 3 else ""
    template = w["rw_none"] if what == "rw" and x is None else w[what]
    return f"{template.format(a=a, b=b, k=show(reason[1]), x=show(x), y=y)} ({tag})"


def _edge_short(kind: int, reason: Any) -> str:
    tag = KIND_NAMES[kind]
    if isinstance(reason, tuple) and reason and reason[0] in ("ww", "wr", "rw"):
        vals = " < ".join(show(v) if v is not None else "initial" for v in reason[2:])
        return f"{tag}  key {show(reason[1])}: {vals}"
    return tag


def explain_cycle(workload: str, g: DepGraph, txns: Sequence[Txn], cycle: Cycle
                  ) -> dict[str, Any]:
    """A cycle anomaly, explained.

    Returns:
        ``{"type", "cycle": [txn dicts named T1..], "steps": [{"from", "to",
        "type", "text"}], "explanation", "diagram"}``.
    """
    order = [s[0] for s in cycle.steps]
    names = {t: f"T{i + 1}" for i, t in enumerate(order)}
    steps = []
    parts = []
    for i, (a, b, kind) in enumerate(cycle.steps):
        reason = g.reason(a, b, kind)
        na, nb = names[a], names[b]
        if i == 0:
            na = f"{na} ({txn_label(txns[a])})"
        if b != order[0]:
            nb = f"{nb} ({txn_label(txns[b])})"
        text = edge_text(workload, kind, reason, na, nb, txns[a], txns[b])
        parts.append(text)
        steps.append({"from": names[a], "to": names[b], "type": KIND_NAMES[kind],
                      "key": reason[1] if isinstance(reason, tuple) and len(reason) > 1
                      and reason[0] in ("ww", "wr", "rw") else None,
                      "text": text})
    first = names[order[0]]
    explanation = "; ".join(parts) + f". So {first} would have to come before itself: a cycle."
    lines = []
    for a, b, kind in cycle.steps:
        lines.append(f"{names[a]} ({txn_label(txns[a])})")
        lines.append(f"  | {_edge_short(kind, g.reason(a, b, kind))}")
        lines.append("  v")
    lines.append(first)
    return {"type": cycle.anomaly,
            "cycle": [txn_dict(txns[t], names[t]) for t in order],
            "steps": steps, "explanation": explanation, "diagram": "\n".join(lines)}


def name(t: Txn) -> str:
    """``the txn at index 12 (process 3)``: a lone transaction in a non-cycle anomaly."""
    info = "" if t.outcome == "ok" else f", {t.outcome}"
    return f"the txn at index {t.op.index} (process {t.op.process}{info})"
