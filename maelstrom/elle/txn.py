"""What the list-append and rw-register checkers share: transactions, order edges, verdicts.

Strategy. A history's ``txn`` operations become :class:`Txn` values: the
micro-ops as the client saw them (the ok completion's, with reads filled in;
the invocation's for fail and info, whose reads are unknown). Shapes are
validated here, so a malformed history raises :class:`ElleError` with the
operation's index instead of failing deep inside a check.

The two "order" relations do not depend on the data model:

- *process*: each participating transaction of a process follows the last
  ok one before it on that process (an info one may take effect after its
  process moved on, so nothing follows it);
- *realtime*: ``a -> b`` when ``a`` completed before ``b`` was invoked,
  kept as a transitive reduction (Elle's trick): walking the history in
  order, an invocation links from every completed transaction on the
  current *frontier* (those with no completed successor yet), and a
  completion replaces its own predecessors on the frontier. The closure is
  the full realtime order; the edge count stays near n times the concurrency.

`verdict` turns the anomalies found into the result dict: anomalies the
requested models allow are left out (Elle's "reportable" set), ``valid`` is
false if any remain, "unknown" if only `models.UNKNOWN_ANOMALIES` remain,
and ``not``/``also_not`` come from `models.boundary`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from maelstrom import linearizable
from maelstrom.checker import no_clock
from maelstrom.elle import explain, graph, models
from maelstrom.elle.graph import PROCESS, REALTIME, DepGraph
from maelstrom.history import Event, History, Operation

Clock = Callable[[], float]
HistoryLike = History | Iterable[Event] | Iterable[Mapping[str, Any]] | Iterable[Operation]
#: Anomalies of one type kept in a result (the count is always exact).
ANOMALIES_PER_TYPE_MAX: Final[int] = 16
#: Explanation lines in a result, at most one per anomaly type.
EXPLANATION_LINES_MAX: Final[int] = 12
#: Text length of one explanation line in ``explanations``.
EXPLANATION_LINE_CHARS_MAX: Final[int] = 600

Mop = tuple[str, Any, Any]


class ElleError(ValueError):
    """A history these checkers cannot read (wrong shapes, repeated write values)."""


@dataclass(frozen=True, slots=True)
class Txn:
    """One transaction.

    Attributes:
        tid: Its position among the history's transactions (the graph vertex).
        op: The paired operation.
        mops: Micro-ops ``(f, key, value)``; reads carry what was read when ok.
        outcome: ok | fail | info.
    """

    tid: int
    op: Operation
    mops: tuple[Mop, ...]
    outcome: str


def to_operations(ops_or_history: HistoryLike) -> list[Operation]:
    """Operations from a History, events, event dicts or operations (as for lin-kv)."""
    return linearizable.to_operations(ops_or_history)


def _mop(raw: Any, allowed: frozenset[str], where: str) -> Mop:
    if not isinstance(raw, (list, tuple)) or len(raw) != 3:
        raise ElleError(f"{where}: a micro-op must be [f, key, value], got {raw!r}")
    f, k, v = raw
    if f not in allowed:
        raise ElleError(f"{where}: micro-op function must be one of {', '.join(sorted(allowed))}, "
                        f"got {f!r}")
    if isinstance(k, (list, dict)):
        raise ElleError(f"{where}: a key must be a scalar, got {k!r}")
    if isinstance(v, list):
        v = tuple(v)
    return (f, k, v)


def parse_txns(ops: Sequence[Operation], write_f: str) -> list[Txn]:
    """The ``txn`` operations as :class:`Txn` values, in invocation order.

    Args:
        ops: Paired operations (others than ``f == "txn"`` are skipped).
        write_f: The write micro-op's name (``append`` or ``w``).

    Raises:
        ElleError: A value is not a list of micro-ops, or an ok completion's
            micro-ops do not match the invocation's (function, key, written value).
    """
    allowed = frozenset(("r", write_f))
    txns: list[Txn] = []
    for op in ops:
        if op.f != "txn":
            continue
        where = f"index {op.index}"
        if not isinstance(op.value, list):
            raise ElleError(f"{where}: a txn's value must be a list of micro-ops, got {op.value!r}")
        inv = tuple(_mop(m, allowed, where) for m in op.value)
        mops = inv
        if op.outcome == "ok":
            if not isinstance(op.output, list) or len(op.output) != len(inv):
                raise ElleError(f"{where}: the ok completion's value must list the same "
                                f"{len(inv)} micro-ops, got {op.output!r}")
            mops = tuple(_mop(m, allowed, where) for m in op.output)
            for a, b in zip(inv, mops):
                if a[0] != b[0] or a[1] != b[1] or (a[0] == write_f and a[2] != b[2]):
                    raise ElleError(f"{where}: completion micro-op {list(b)!r} does not match the "
                                    f"invocation's {list(a)!r}")
            for f, k, v in mops:
                if f == "r" and v is not None and write_f == "append" and not isinstance(v, tuple):
                    raise ElleError(f"{where}: a list-append read must return a list or null, "
                                    f"got {v!r} for key {k!r}")
        for f, k, v in mops:
            if f == write_f and isinstance(v, (tuple, dict)):
                raise ElleError(f"{where}: written values must be scalars, got {v!r}")
        txns.append(Txn(len(txns), op, mops, op.outcome))
    return txns


def add_order_edges(g: DepGraph, txns: Sequence[Txn], participants: Iterable[int], *,
                    process: bool, realtime: bool) -> None:
    """Add process and/or realtime edges between participating transactions."""
    part = sorted(set(participants), key=lambda t: txns[t].op.call_index)
    if process:
        last: dict[Any, int] = {}
        for t in part:
            p = txns[t].op.process
            if p in last:
                g.add(last[p], t, PROCESS, ("process", p))
            if txns[t].outcome == "ok":
                last[p] = t
    if realtime:
        events: list[tuple[int, int, int]] = []
        for t in part:
            op = txns[t].op
            events.append((op.call_index, 0, t))
            if txns[t].outcome == "ok" and op.return_index is not None:
                events.append((op.return_index, 1, t))
        events.sort()
        frontier: set[int] = set()
        preds: dict[int, tuple[int, ...]] = {}
        for _, kind, t in events:
            if kind == 0:
                preds[t] = tuple(sorted(frontier))
                for a in preds[t]:
                    g.add(a, t, REALTIME, ("realtime",))
            else:
                frontier.difference_update(preds.get(t, ()))
                frontier.add(t)


def lost_updates(txns: Sequence[Txn], write_f: str) -> list[tuple[Any, Any, list[int]]]:
    """Ok transactions that read the same version of a key and then both wrote it.

    Returns:
        ``(key, value read, [tids])`` for each collision of two or more.
    """
    seen: dict[tuple[Any, Any], list[int]] = {}
    for t in txns:
        if t.outcome != "ok":
            continue
        first_read: dict[Any, Any] = {}
        wrote: set[Any] = set()
        for f, k, v in t.mops:
            if f == "r":
                if k not in first_read and k not in wrote:
                    first_read[k] = v
            elif k not in wrote:
                wrote.add(k)
                if k in first_read:
                    v0 = first_read[k]
                    if v0 is None and write_f == "append":
                        v0 = ()
                    seen.setdefault((k, _hashable(v0)), []).append(t.tid)
    return [(k, v, ts) for (k, v), ts in seen.items() if len(ts) >= 2]


def future_reads(t: Txn, write_f: str) -> list[tuple[Any, Any, Any]]:
    """Reads that saw a value their own txn writes only later: ``(key, read, value)``.

    A list-append read is checked element by element; a register read as a whole.
    """
    writes = [(i, k, v) for i, (f, k, v) in enumerate(t.mops) if f == write_f]
    out = []
    if not writes:
        return out
    for i, (f, k, v) in enumerate(t.mops):
        if f != "r" or v is None:
            continue
        for j, k2, x in writes:
            if j > i and k2 == k and (x in v if write_f == "append" else x == v):
                out.append((k, v, x))
                break
    return out


def _hashable(v: Any) -> Any:
    return tuple(v) if isinstance(v, list) else v


def check_models(consistency_models: Iterable[str]) -> tuple[list[str], frozenset[str]]:
    """Canonical model names and the anomalies they forbid.

    Raises:
        models.UnknownModel: An unknown name.
    """
    names = [models.canonical(m) for m in consistency_models]
    if not names:
        raise models.UnknownModel("no consistency model given")
    return names, models.forbidden_by(names)


def verdict(found: Mapping[str, list[dict[str, Any]]], model_names: Sequence[str],
            forbidden: frozenset[str], *, empty_valid: bool | str,
            extra: Mapping[str, Any]) -> dict[str, Any]:
    """The result dict of a check.

    Args:
        found: Anomaly type -> explained anomalies (all of them; trimmed here).
        model_names: The canonical requested models.
        forbidden: What they forbid.
        empty_valid: The verdict when ``empty-transaction-graph`` is the only anomaly.
        extra: More fields (counts, seconds).

    Returns:
        ``{"valid", "anomaly_types", "anomalies", "anomaly_counts", "not",
        "also_not", "explanations", "consistency_models", ...extra}``.
    """
    reportable = {t: lst for t, lst in found.items()
                  if lst and (t in forbidden or t in models.UNKNOWN_ANOMALIES)}
    types = sorted(reportable)
    real = [t for t in types if t not in models.UNKNOWN_ANOMALIES]
    valid: bool | str
    if real:
        valid = False
    elif "empty-transaction-graph" in reportable:
        valid = empty_valid
    elif types:
        valid = "unknown"
    else:
        valid = True
    not_, also_not = models.boundary(real)
    explanations = []
    for t in types[:EXPLANATION_LINES_MAX]:
        lst = reportable[t]
        more = f" ({len(lst) - 1} more)" if len(lst) > 1 else ""
        text = str(lst[0].get("explanation", t))
        if len(text) > EXPLANATION_LINE_CHARS_MAX:
            text = text[:EXPLANATION_LINE_CHARS_MAX] + "…"
        explanations.append(f"{t}{more}: {text}")
    return {"valid": valid, "anomaly_types": types,
            "anomalies": {t: reportable[t][:ANOMALIES_PER_TYPE_MAX] for t in types},
            "anomaly_counts": {t: len(reportable[t]) for t in types},
            "not": not_, "also_not": also_not, "explanations": explanations,
            "consistency_models": list(model_names), **extra}


def finish(workload: str, g: DepGraph, txns: Sequence[Txn], participants: Iterable[int],
           found: dict[str, list[dict[str, Any]]], model_names: Sequence[str],
           forbidden: frozenset[str], *, ok_count: int, empty_valid: bool | str,
           start: float, deadline: float, clock: Clock,
           time_limit_s: float | None) -> dict[str, Any]:
    """Add the order edges, search the cycles the models forbid, and build the result.

    Process and realtime edges (and the searches that need them) are added only
    when a requested model forbids some process or realtime anomaly.
    """
    want_process = any(a.endswith("-process") for a in forbidden)
    want_realtime = any(a.endswith("-realtime") for a in forbidden)
    add_order_edges(g, txns, participants, process=want_process, realtime=want_realtime)
    classes = [c for c in graph.CLASSES if c.name in forbidden]
    cycles, timed_out = graph.find_cycles(g, classes, deadline, clock)
    for cyc in cycles:
        found[cyc.anomaly].append(explain.explain_cycle(workload, g, txns, cyc))
    if timed_out:
        found["cycle-search-timeout"].append({
            "type": "cycle-search-timeout",
            "explanation": f"the cycle search passed its {time_limit_s} s limit; "
                           f"cycles may be missed"})
    if ok_count == 0:
        found["empty-transaction-graph"].append({
            "type": "empty-transaction-graph",
            "explanation": "no transaction completed ok, so there is nothing to check"})
    return verdict(found, model_names, forbidden, empty_valid=empty_valid,
                   extra={"txn_count": len(txns), "ok_count": ok_count,
                          "edge_count": g.edge_count(), "seconds": clock() - start})


def start_clock(time_limit_s: float | None, clock: Clock | None) -> tuple[Clock, float, float]:
    """The clock to use, its reading now, and the deadline.

    Raises:
        ValueError: A time limit without a clock (a core reads no clock of its own).
    """
    if clock is None:
        if time_limit_s is not None:
            raise ValueError("a time limit needs the clock it is measured on")
        clock = no_clock
    start = clock()
    return clock, start, start + time_limit_s if time_limit_s is not None else math.inf
