"""The kafka checker's cycle search: G0 and G1c over ww, wr, process and realtime edges.

Strategy (Jepsen's kafka checker, on `maelstrom.elle.graph`): every send and
ok poll is a vertex. Edges:

- ``ww``: within each key's version order (the dense order of offsets the
  checker rebuilt from every send and poll), the op that sent the message at
  one position precedes the op that sent the next one;
- ``wr``: the op that sent a message precedes every ok poll that returned it;
- ``process``: one process's ops in order (ok ones lead on);
- ``realtime``: an op that completed precedes every op invoked after that
  (the transitive reduction `maelstrom.elle.txn.add_order_edges` builds).

Polls write nothing, so a data-only cycle needs multi-send operations
(transactions, which Maelstrom's kafka never generates); with process or
realtime edges a cycle needs no such thing: a poll that returned a message
at offset 6 and completed before the send of offset 5 began closes
``send(5) -ww-> send(6) -wr-> poll -realtime-> send(5)``, G1c-realtime. The
classes searched are G0, G1c and their process and realtime variants
(`maelstrom.elle.graph.CLASSES`), one shortest cycle per class and strongly
connected component. G0 is among Jepsen's allowed error types for kafka
(with assign), G1c is not.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

from maelstrom.elle.graph import CLASS_BY_NAME, KIND_NAMES, WR, WW, Cycle, DepGraph, find_cycles
from maelstrom.elle.txn import Txn, add_order_edges
from maelstrom.history import Operation

__all__ = ["CYCLE_CLASSES", "kafka_cycles"]

#: The classes searched, in report order.
CYCLE_CLASSES: Final[tuple[str, ...]] = ("G0", "G1c", "G0-process", "G1c-process", "G0-realtime",
                                          "G1c-realtime")


def kafka_cycles(ops: Sequence[Operation], version_order: Mapping[str, Sequence[Sequence[Any]]],
                 senders: Mapping[tuple[str, Any], Operation], readers: Mapping[tuple[str, Any], list[Operation]],
                 show: Callable[[Any], str], deadline: float = float("inf"),
                 clock: Callable[[], float] = lambda: 0.0) -> dict[str, list[dict[str, Any]]]:
    """Search the ops' dependency graph for G0/G1c cycles (see module doc).

    Args:
        ops: The send, poll (and txn) ops, in history order.
        version_order: Per key, the messages at each dense position (hashable forms).
        senders: ``(key, message)`` -> the op that sent it (not failed ones).
        readers: ``(key, message)`` -> every ok op that polled it.
        show: How a message is written in an explanation.
        deadline, clock: When to stop searching (a clock value and the clock).

    Returns:
        Anomaly type -> one example per cycle found: ``cycle`` (op indexes in cycle
        order), ``steps`` and an ``explanation`` in words.
    """
    vertex = {op.index: i for i, op in enumerate(ops)}
    g = DepGraph(len(ops))
    for k, positions in version_order.items():
        prev: tuple[Operation, Any] | None = None
        for at in positions:
            for m in at:
                w = senders.get((k, m))
                if w is None:
                    continue
                if prev is not None and prev[0] is not w:
                    g.add(vertex[prev[0].index], vertex[w.index], WW, ("ww", k, prev[1], m))
                prev = (w, m)
    for (k, m), w in senders.items():
        for r in readers.get((k, m), ()):
            if r is not w:
                g.add(vertex[w.index], vertex[r.index], WR, ("wr", k, m))
    txns = [Txn(i, op, (), op.outcome) for i, op in enumerate(ops)]
    participants = range(len(ops))
    add_order_edges(g, txns, participants, process=True, realtime=True)
    cycles, _ = find_cycles(g, [CLASS_BY_NAME[c] for c in CYCLE_CLASSES], deadline, clock)
    found: dict[str, list[dict[str, Any]]] = {}
    for cycle in cycles:
        found.setdefault(cycle.anomaly, []).append(_explain(cycle, g, ops, show))
    return found


def _who(name: str, op: Operation) -> str:
    return f"{name} ({op.f}, process {op.process}, op index {op.index})"


def _explain(cycle: Cycle, g: DepGraph, ops: Sequence[Operation], show: Callable[[Any], str]) -> dict[str, Any]:
    order = [a for a, _, _ in cycle.steps]
    names = {v: f"T{i + 1}" for i, v in enumerate(order)}
    parts = []
    steps = []
    for i, (a, b, kind) in enumerate(cycle.steps):
        na = _who(names[a], ops[a]) if i == 0 else names[a]
        nb = names[b] if b == order[0] else _who(names[b], ops[b])
        reason = g.reason(a, b, kind)
        tag = KIND_NAMES[kind]
        if tag == "ww":
            _, k, m1, m2 = reason
            text = f"{na} sent {show(m1)} to key {k!r} right before {nb}'s {show(m2)} in the log (ww)"
        elif tag == "wr":
            _, k, m = reason
            text = f"{na} sent {show(m)} to key {k!r}, which {nb} polled (wr)"
        elif tag == "process":
            text = f"{na} and {nb} ran on process {ops[a].process}, {names[a]} first (process)"
        else:
            text = f"{na} completed before {nb} began (realtime)"
        parts.append(text)
        steps.append({"from": names[a], "to": names[b], "type": tag, "text": text})
    first = names[order[0]]
    return {"cycle": [ops[v].index for v in order], "steps": steps,
            "explanation": "; ".join(parts) + f". So {first} would have to come before itself: a cycle."}
