"""Partition spans read back from a history's nemesis operations.

Strategy: a ``start-partition`` completion records the grudge the network
applied (``["isolated", {dest: [srcs it drops]}]``); the span it opens ends at
the next ``stop-partition`` completion, another start, or the end of the run.
A span is kept only when its grudge cut at least one link: Jepsen's
``minority-third`` on fewer than four nodes isolates nobody, and shading it
would show a fault that never happened. The shape is described from the
grudge itself: groups that cannot hear each other (``n1 | n0 n2``) when the
grudge splits the nodes into groups, else the one-way cuts (``n2↛n0``).
A value this module does not recognise (a history from elsewhere) gives a
span whose shape is unknown: it may have cut something, so it is shown.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from maelstrom.history import History


@dataclass(frozen=True)
class PartitionSpan:
    """One effective partition.

    Attributes:
        start_ms: When the grudge took effect (ms since the run began).
        end_ms: When the network healed (or the run ended).
        kind: The nemesis' name for it (``one``, ``majority`` ...), "" if not recorded.
        grudge: ``{dest: (srcs dropped)}``, or None when the value was not a grudge.
        shape: Which nodes were cut from which, in words.
    """

    start_ms: float
    end_ms: float
    kind: str
    grudge: Mapping[str, tuple[str, ...]] | None
    shape: str

    @property
    def label(self) -> str:
        return f"{self.kind}: {self.shape}" if self.kind else self.shape


def _node_key(name: str) -> tuple[str, int, str]:
    digits = "".join(ch for ch in name if ch.isdigit())
    return "".join(ch for ch in name if not ch.isdigit()), int(digits) if digits else -1, name


def parse_grudge(value: Any) -> dict[str, tuple[str, ...]] | None:
    """The grudge of a ``start-partition`` completion value, or None when it is not one."""
    if (isinstance(value, Sequence) and not isinstance(value, str) and len(value) == 2
            and value[0] == "isolated" and isinstance(value[1], Mapping)):
        out: dict[str, tuple[str, ...]] = {}
        for dest, srcs in value[1].items():
            if not isinstance(srcs, Sequence) or isinstance(srcs, str):
                return None
            if srcs:
                out[str(dest)] = tuple(sorted((str(s) for s in srcs), key=_node_key))
        return out
    return None


def describe_grudge(grudge: Mapping[str, Sequence[str]]) -> str:
    """``n1 | n0 n2`` for groups that hear nobody outside, else the one-way cuts ``n2↛n0 …``."""
    nodes = sorted({*grudge, *(s for srcs in grudge.values() for s in srcs)}, key=_node_key)
    drops = {(s, d) for d, srcs in grudge.items() for s in srcs}
    hears = {n: frozenset(m for m in nodes if (m, n) not in drops) for n in nodes}
    groups = sorted({hears[n] for n in nodes}, key=lambda g: (len(g), sorted(g, key=_node_key)))
    is_split = (all(n in hears[n] for n in nodes)
                and all(hears[m] == hears[n] for n in nodes for m in hears[n]))
    if is_split:
        return " | ".join(" ".join(sorted(g, key=_node_key)) for g in groups)
    cuts = sorted(drops, key=lambda sd: (_node_key(sd[1]), _node_key(sd[0])))
    return " ".join(f"{s}↛{d}" for s, d in cuts)


def partition_spans(history: History, end_ms: float) -> list[PartitionSpan]:
    """The partitions of a run that actually cut a link, in time order."""
    spans: list[PartitionSpan] = []
    open_at: float | None = None
    kind = pending_kind = ""
    grudge: dict[str, tuple[str, ...]] | None = None
    raw: Any = None

    def close(at_ms: float) -> None:
        if open_at is None:
            return
        if grudge is None:
            spans.append(PartitionSpan(open_at, at_ms, kind, None, f"shape unknown ({raw!r:.60})"))
        elif grudge:
            spans.append(PartitionSpan(open_at, at_ms, kind, grudge, describe_grudge(grudge)))

    for e in history:
        if e.process != "nemesis":
            continue
        t_ms = e.time / 1e6
        if e.f == "start-partition" and e.type == "invoke":
            pending_kind = str(e.value) if isinstance(e.value, str) else ""
        elif e.f == "start-partition":
            close(t_ms)
            open_at, raw, grudge, kind = t_ms, e.value, parse_grudge(e.value), pending_kind
        elif e.f == "stop-partition" and e.type != "invoke":
            close(t_ms)
            open_at = None
    close(max(end_ms, open_at or 0.0))
    return spans


def partitions_that_cut_nothing(history: History) -> list[tuple[float, str]]:
    """``(start ms, nemesis name)`` of every start-partition whose grudge dropped no link."""
    out = []
    kind = ""
    for e in history:
        if e.process != "nemesis" or e.f != "start-partition":
            continue
        if e.type == "invoke":
            kind = str(e.value) if isinstance(e.value, str) else ""
        elif parse_grudge(e.value) == {}:
            out.append((e.time / 1e6, kind))
    return out
