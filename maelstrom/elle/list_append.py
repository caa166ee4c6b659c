"""Elle's list-append checker: reads of whole lists reveal each key's version order.

Strategy (Kingsbury & Alvaro, "Elle", VLDB 2020). Every append to a key
writes a value no other append to that key writes, so an element names the
transaction that appended it, and a read of a key, being the whole list,
names every version that preceded it.

1. **Version order.** Per key, the longest read (of any ok transaction) is
   the order; every other read must be a prefix of it, or the key gets an
   ``incompatible-order`` anomaly and is left out of the dependency graph
   (its reads do not describe one timeline). A list in which an element
   repeats is a ``duplicate-elements`` anomaly; the order keeps the first
   occurrence.
2. **Dependencies.** For consecutive elements x, y of a key's order, ww
   from x's appender to y's. For a transaction's *external* read of a key
   (its first micro-op on that key is the read) ending at x: wr from x's
   appender, and rw to the appender of the element after x (the first
   element, for an empty read). Failed appends and elements nobody appended
   are skipped over. Ok transactions take part; an info (indeterminate)
   transaction takes part only once some read shows one of its appends.
   Process and realtime edges are added when a requested model forbids
   their anomalies (see `maelstrom.elle.txn`).
3. **Anomalies without cycles**, from the reads of ok transactions:
   G1a (a read includes an append of a failed transaction), G1b (a read
   ends at an append its transaction followed with another append to the
   same key), ``internal`` (a read disagrees with the transaction's own
   earlier reads and appends of that key), ``duplicate-elements``,
   ``incompatible-order``, ``garbage-read`` (an element nobody appended),
   ``future-read`` (a read shows an element its own txn appends later),
   ``dirty-update`` (in a key's order, an ok or info append follows a
   failed one) and ``lost-update`` (two ok transactions read the same
   version of a key and both appended to it).
4. **Cycles** (`maelstrom.elle.graph`): G0, G1c, G-single, G2-item and their
   process and realtime variants, searched only when a requested model
   forbids them.

Limits: appended values must be unique per key (a repeat raises
`ElleError`); an append nobody ever read is invisible (no edges), so what
it conflicts with cannot be seen; keys with incompatible orders give no
edges at all.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from typing import Any

from maelstrom.elle import explain, graph
from maelstrom.elle.txn import (
    Clock,
    ElleError,
    HistoryLike,
    Txn,
    check_models,
    finish,
    future_reads,
    lost_updates,
    parse_txns,
    start_clock,
    to_operations,
)
from maelstrom.verdict import show

WORKLOAD = "list-append"


def _read_list(v: Any) -> tuple[Any, ...]:
    return () if v is None else v


def _internal(t: Txn, found: dict[str, list[dict[str, Any]]]) -> None:
    """A read must agree with what the txn already read and appended to the key."""
    state: dict[Any, tuple[bool, tuple[Any, ...]]] = {}
    for f, k, v in t.mops:
        if f == "append":
            known, lst = state.get(k, (False, ()))
            state[k] = (known, lst + (v,))
            continue
        r = _read_list(v)
        if k in state:
            known, lst = state[k]
            good = r == lst if known else (len(r) >= len(lst) and r[len(r) - len(lst):] == lst)
            if not good:
                want = show(list(lst)) if known else f"a list ending in {show(list(lst))}"
                found["internal"].append({
                    "type": "internal", "key": k, "value": list(r), "expected": list(lst),
                    "expected_exact": known, "txn": explain.txn_dict(t),
                    "explanation": f"{explain.name(t)} read key {show(k)} as {show(list(r))}, but "
                                   f"its own earlier micro-ops on that key imply {want}"})
        state[k] = (True, r)
    for k, r, x in future_reads(t, "append"):
        found["future-read"].append({
            "type": "future-read", "key": k, "value": list(r), "element": x,
            "txn": explain.txn_dict(t),
            "explanation": f"{explain.name(t)} read key {show(k)} as {show(list(r))}, which "
                           f"includes {show(x)}, an element it appends only later"})


def check_list_append(ops_or_history: HistoryLike,
                      consistency_models: tuple[str, ...] | list[str] = ("strict-serializable",),
                      time_limit_s: float | None = None,
                      clock: Clock | None = None) -> dict[str, Any]:
    """Check a txn-list-append history.

    Args:
        ops_or_history: A :class:`History`, events, event dicts or paired operations.
        consistency_models: Models the history must satisfy (Elle's names or aliases).
        time_limit_s: Stop the cycle search after this many seconds (verdict
            "unknown" unless an anomaly was already found).
        clock: Monotonic seconds for the time limit; required with one.

    Returns:
        ``{"valid": True|False|"unknown", "anomaly_types", "anomalies",
        "anomaly_counts", "not", "also_not", "explanations",
        "consistency_models", "txn_count", "ok_count", "edge_count", "seconds"}``
        (see `maelstrom.elle.txn.verdict`). No ok transaction at all is
        ``empty-transaction-graph``, verdict "unknown".

    Raises:
        ElleError: Malformed micro-ops, or an append value repeated on a key.
        maelstrom.elle.models.UnknownModel: An unknown model name.
        maelstrom.history.HistoryError: Badly paired events.
    """
    clock, start, deadline = start_clock(time_limit_s, clock)
    names, forbidden = check_models(consistency_models)
    txns = parse_txns(to_operations(ops_or_history), "append")
    found: dict[str, list[dict[str, Any]]] = defaultdict(list)

    # Who appended what; each txn's last append per key.
    writer: dict[tuple[Any, Any], int] = {}
    final: dict[tuple[int, Any], Any] = {}
    for t in txns:
        for f, k, v in t.mops:
            if f == "append":
                if (k, v) in writer:
                    other = txns[writer[(k, v)]]
                    raise ElleError(f"index {t.op.index}: appends {v!r} to key {k!r}, which index "
                                    f"{other.op.index} appends too; values must be unique per key")
                writer[(k, v)] = t.tid
                final[(t.tid, k)] = v

    # Reads of ok txns: (tid, key, list, external?).
    reads: list[tuple[int, Any, tuple[Any, ...], bool]] = []
    longest: dict[Any, tuple[Any, ...]] = {}
    oks = 0
    for t in txns:
        if t.outcome != "ok":
            continue
        oks += 1
        touched: set[Any] = set()
        for f, k, v in t.mops:
            if f == "r":
                r = _read_list(v)
                reads.append((t.tid, k, r, k not in touched))
                if len(r) > len(longest.get(k, ())):
                    longest[k] = r
            touched.add(k)
        _internal(t, found)

    # Per key: where the longest read first repeats an element, and where it holds
    # elements of failed appends or of none; a prefix read holds those before its end.
    first_dup: dict[Any, int] = {}
    bad_pos: dict[Any, list[int]] = {}
    for k, order in longest.items():
        seen: set[Any] = set()
        for i, x in enumerate(order):
            if x in seen:
                first_dup[k] = i
                break
            seen.add(x)
        bad_pos[k] = [i for i, x in enumerate(order)
                      if (w := writer.get((k, x))) is None or txns[w].outcome == "fail"]

    incompatible: set[Any] = set()
    for tid, k, r, _ in reads:
        if not r:
            continue
        order = longest[k]
        t = txns[tid]
        if r == order[:len(r)]:
            dup_at = first_dup.get(k)
            has_dup = dup_at is not None and len(r) > dup_at
            bad = [order[i] for i in bad_pos[k][:bisect.bisect_left(bad_pos[k], len(r))]]
        else:
            if k not in incompatible:
                incompatible.add(k)
                other = txns[next(t2 for t2, k2, r2, _ in reads if k2 == k and r2 is order)]
                found["incompatible-order"].append({
                    "type": "incompatible-order", "key": k, "values": [list(r), list(order)],
                    "txns": [explain.txn_dict(t), explain.txn_dict(other)],
                    "explanation": f"key {show(k)} was read as {show(list(r))} by "
                                   f"{explain.name(t)} and as {show(list(order))} by "
                                   f"{explain.name(other)}; neither is a prefix of the other, "
                                   f"so no single order of appends explains both"})
            has_dup = len(set(r)) != len(r)
            bad = [x for x in r if (w := writer.get((k, x))) is None or txns[w].outcome == "fail"]
        if has_dup:
            counts: dict[Any, int] = defaultdict(int)
            for x in r:
                counts[x] += 1
            x, n = next((x, n) for x, n in counts.items() if n > 1)
            found["duplicate-elements"].append({
                "type": "duplicate-elements", "key": k, "value": list(r), "element": x,
                "txn": explain.txn_dict(t),
                "explanation": f"{explain.name(t)} read key {show(k)} as {show(list(r))}, in which "
                               f"{show(x)} appears {n} times"})
        for x in bad:
            w = writer.get((k, x))
            if w is None:
                found["garbage-read"].append({
                    "type": "garbage-read", "key": k, "element": x, "value": list(r),
                    "txn": explain.txn_dict(t),
                    "explanation": f"{explain.name(t)} read key {show(k)} as "
                                   f"{show(list(r))}, which includes {show(x)}, which no "
                                   f"transaction appended"})
            else:
                found["G1a"].append({
                    "type": "G1a", "key": k, "element": x, "value": list(r),
                    "reader": explain.txn_dict(t), "writer": explain.txn_dict(txns[w]),
                    "explanation": f"{explain.name(t)} read key {show(k)} as "
                                   f"{show(list(r))}, which includes {show(x)}, appended by "
                                   f"{explain.name(txns[w])}, which failed (an aborted read)"})
        x = r[-1]
        w = writer.get((k, x))
        if w is not None and w != tid and final[(w, k)] != x:
            found["G1b"].append({
                "type": "G1b", "key": k, "element": x, "value": list(r),
                "reader": explain.txn_dict(t), "writer": explain.txn_dict(txns[w]),
                "explanation": f"{explain.name(t)} read key {show(k)} up to {show(x)}, an "
                               f"intermediate state of {explain.name(txns[w])}, which appended "
                               f"{show(final[(w, k)])} to key {show(k)} after it (an intermediate "
                               f"read)"})

    # Dirty updates: an ok or info append after a failed one in a key's order.
    for k, order in sorted(longest.items(), key=lambda kv: repr(kv[0])):
        if k in incompatible:
            continue
        failed_at = next((i for i in bad_pos[k] if writer.get((k, order[i])) is not None), None)
        if failed_at is None:
            continue
        x = order[failed_at]
        for y in order[failed_at + 1:]:
            w = writer.get((k, y))
            if w is not None and txns[w].outcome != "fail":
                fw = txns[writer[(k, x)]]
                found["dirty-update"].append({
                    "type": "dirty-update", "key": k, "failed": x, "element": y,
                    "writers": [explain.txn_dict(fw), explain.txn_dict(txns[w])],
                    "explanation": f"in key {show(k)}'s order, {show(y)}, appended by "
                                   f"{explain.name(txns[w])}, comes after {show(x)}, appended by "
                                   f"{explain.name(fw)}, which failed"})
                break

    for k, v, tids in lost_updates(txns, "append"):
        who = ", ".join(explain.name(txns[t]) for t in tids)
        read_value = list(v)
        found["lost-update"].append({
            "type": "lost-update", "key": k, "value": read_value,
            "txns": [explain.txn_dict(txns[t]) for t in tids],
            "explanation": f"{who} all read key {show(k)} as {show(read_value)} and then appended "
                           f"to it, so each update was made without seeing the others"})

    # The dependency graph.
    g = graph.DepGraph(len(txns))
    participants = {t.tid for t in txns if t.outcome == "ok"}

    def live(k: Any, x: Any) -> int | None:
        w = writer.get((k, x))
        return None if w is None or txns[w].outcome == "fail" else w

    for k, order in longest.items():
        if k in incompatible:
            continue
        prev: tuple[Any, int] | None = None
        for x in order:
            w = live(k, x)
            if w is None:
                continue
            participants.add(w)
            if prev is not None:
                g.add(prev[1], w, graph.WW, ("ww", k, prev[0], x))
            prev = (x, w)
    for tid, k, r, external in reads:
        if not external or k in incompatible:
            continue
        order = longest.get(k, ())
        if r:
            w = live(k, r[-1])
            if w is not None:
                g.add(w, tid, graph.WR, ("wr", k, r[-1]))
        i = len(r)
        while i < len(order):
            w = live(k, order[i])
            if w is not None:
                g.add(tid, w, graph.RW, ("rw", k, r[-1] if r else None, order[i]))
                break
            i += 1
    return finish(WORKLOAD, g, txns, participants, found, names, forbidden, ok_count=oks,
                  empty_valid="unknown", start=start, deadline=deadline, clock=clock,
                  time_limit_s=time_limit_s)
