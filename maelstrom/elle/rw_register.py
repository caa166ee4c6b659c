"""Elle's rw-register checker: reads name their writer; the version order is what can be inferred.

Strategy (Kingsbury & Alvaro, "Elle", VLDB 2020). Every write to a key
writes a value no other write to that key writes, so a read names the
transaction whose version it saw: a **wr** edge from the writer to the
reader. Unlike list-append, a read shows one version, not its history, so
the version order of a key is only partly known. We infer it from:

- **the initial state**: null (never written) precedes every version, so a
  transaction that read null on a key precedes every transaction that
  wrote it and took effect: ok, or info with some write an ok read saw (**rw**);
- **writes follow reads** (Elle's ``wfr-keys``): an ok transaction that
  read x from a key and then wrote y to it orders x before y, giving **ww**
  from x's writer to it, and **rw** from every other reader of x to it.

From those facts come the ww and rw edges; process and realtime edges are
added as in list-append when a requested model forbids their anomalies, and
cycles are searched the same way (`maelstrom.elle.graph`). Ok transactions
take part; an info (indeterminate) one only when an ok read saw its write.

Anomalies without cycles, from reads of ok transactions: G1a (a read saw a
failed transaction's write), G1b (a read saw a write its transaction later
overwrote), ``internal`` (a read differs from the transaction's own last
read or write of that key), ``future-read`` (a read of a value the
transaction itself writes only later), ``garbage-read`` (a value nobody wrote) and
``lost-update`` (two ok transactions read the same version of a key and
both wrote it).

Limits: the version order is partial. Two writes that no transaction
linked by reading one and then writing the other stay unordered, so a stale
read of an older non-null version is caught only when such a link (or the
null rule) orders the versions; Elle's sequential-keys and
linearizable-keys inferences (order from one process's, or from realtime-
ordered, writes to a key) are not done. Values must be unique per key and
non-null (else `ElleError`). As Maelstrom reads Elle here, a history with no
ok transaction (an empty transaction graph) is *invalid*, not unknown.
"""

from __future__ import annotations

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

WORKLOAD = "rw-register"


def _internal(t: Txn, found: dict[str, list[dict[str, Any]]]) -> None:
    """A read must return the txn's own last read or write of that key."""
    state: dict[Any, tuple[str, Any]] = {}
    for f, k, v in t.mops:
        if f == "r" and k in state and state[k][1] != v:
            how, want = state[k]
            found["internal"].append({
                "type": "internal", "key": k, "value": v, "expected": want,
                "txn": explain.txn_dict(t),
                "explanation": f"{explain.name(t)} read {show(v)} from key {show(k)} right "
                               f"after it {how} {show(want)} there"})
        state[k] = ("wrote" if f == "w" else "read", v)
    for k, v, _ in future_reads(t, "w"):
        found["future-read"].append({
            "type": "future-read", "key": k, "value": v, "txn": explain.txn_dict(t),
            "explanation": f"{explain.name(t)} read {show(v)} from key {show(k)}, a value it "
                           f"writes there only later"})


def check_rw_register(ops_or_history: HistoryLike,
                      consistency_models: tuple[str, ...] | list[str] = ("strict-serializable",),
                      time_limit_s: float | None = None,
                      clock: Clock | None = None) -> dict[str, Any]:
    """Check a txn-rw-register history.

    Args:
        ops_or_history: A :class:`History`, events, event dicts or paired operations.
        consistency_models: Models the history must satisfy (Elle's names or aliases).
        time_limit_s: Stop the cycle search after this many seconds.
        clock: Monotonic seconds for the time limit; required with one.

    Returns:
        As `maelstrom.elle.check_list_append`; no ok transaction at all is
        ``empty-transaction-graph`` with verdict false (Maelstrom's reading).

    Raises:
        ElleError: Malformed micro-ops, a null write, or a value written twice to a key.
        maelstrom.elle.models.UnknownModel: An unknown model name.
        maelstrom.history.HistoryError: Badly paired events.
    """
    clock, start, deadline = start_clock(time_limit_s, clock)
    names, forbidden = check_models(consistency_models)
    txns = parse_txns(to_operations(ops_or_history), "w")
    found: dict[str, list[dict[str, Any]]] = defaultdict(list)

    writer: dict[tuple[Any, Any], int] = {}
    final: dict[tuple[int, Any], Any] = {}
    for t in txns:
        for f, k, v in t.mops:
            if f != "w":
                continue
            if v is None:
                raise ElleError(f"index {t.op.index}: writes null to key {k!r}; null means "
                                f"'never written' here")
            if (k, v) in writer:
                other = txns[writer[(k, v)]]
                raise ElleError(f"index {t.op.index}: writes {v!r} to key {k!r}, which index "
                                f"{other.op.index} writes too; values must be unique per key")
            writer[(k, v)] = t.tid
            final[(t.tid, k)] = v

    def live(k: Any, x: Any) -> int | None:
        w = writer.get((k, x))
        return None if w is None or txns[w].outcome == "fail" else w

    # External reads (first micro-op on the key) and the writes that follow them.
    ext_reads: list[tuple[int, Any, Any]] = []
    readers: dict[tuple[Any, Any], list[int]] = defaultdict(list)
    wfr: list[tuple[int, Any, Any, Any]] = []
    oks = 0
    for t in txns:
        if t.outcome != "ok":
            continue
        oks += 1
        _internal(t, found)
        first: dict[Any, tuple[str, Any]] = {}
        for f, k, v in t.mops:
            if k not in first:
                first[k] = (f, v)
                if f == "r":
                    ext_reads.append((t.tid, k, v))
                    readers[(k, v)].append(t.tid)
            if f == "r" and v is not None:
                w = writer.get((k, v))
                if w is None:
                    found["garbage-read"].append({
                        "type": "garbage-read", "key": k, "value": v, "txn": explain.txn_dict(t),
                        "explanation": f"{explain.name(t)} read {show(v)} from key {show(k)}, "
                                       f"which no transaction wrote"})
                elif w != t.tid and txns[w].outcome == "fail":
                    found["G1a"].append({
                        "type": "G1a", "key": k, "value": v, "reader": explain.txn_dict(t),
                        "writer": explain.txn_dict(txns[w]),
                        "explanation": f"{explain.name(t)} read {show(v)} from key {show(k)}, "
                                       f"written by {explain.name(txns[w])}, which failed "
                                       f"(an aborted read)"})
                elif w != t.tid and final[(w, k)] != v:
                    found["G1b"].append({
                        "type": "G1b", "key": k, "value": v, "reader": explain.txn_dict(t),
                        "writer": explain.txn_dict(txns[w]),
                        "explanation": f"{explain.name(t)} read {show(v)} from key {show(k)}, an "
                                       f"intermediate write of {explain.name(txns[w])}, which "
                                       f"then wrote {show(final[(w, k)])} there (an intermediate "
                                       f"read)"})
        for k, (f, v) in first.items():
            if f == "r" and (t.tid, k) in final:
                wfr.append((t.tid, k, v, final[(t.tid, k)]))

    for k, v, tids in lost_updates(txns, "w"):
        who = ", ".join(explain.name(txns[t]) for t in tids)
        found["lost-update"].append({
            "type": "lost-update", "key": k, "value": v,
            "txns": [explain.txn_dict(txns[t]) for t in tids],
            "explanation": f"{who} all read {show(v)} from key {show(k)} and then wrote it, so "
                           f"each update was made without seeing the others"})

    g = graph.DepGraph(len(txns))
    participants = {t.tid for t in txns if t.outcome == "ok"}
    for tid, k, v in ext_reads:
        if v is None:
            continue
        w = live(k, v)
        if w is not None:
            participants.add(w)
            g.add(w, tid, graph.WR, ("wr", k, v))
    # Initial state first: a null read precedes every write of the key that took
    # effect (an ok one, or any of an info txn some read showed took effect).
    ok_writes: dict[Any, list[tuple[Any, int]]] = defaultdict(list)
    for (k, v), w in writer.items():
        if w in participants:
            ok_writes[k].append((v, w))
    for (k, v), tids in readers.items():
        if v is not None:
            continue
        for y, w in ok_writes.get(k, ()):
            for tid in tids:
                g.add(tid, w, graph.RW, ("rw", k, None, y))
    # Writes follow reads: x < y.
    for tid, k, x, y in wfr:
        if x is None:
            continue
        w = live(k, x)
        if w is not None:
            g.add(w, tid, graph.WW, ("ww", k, x, y))
        for r in readers.get((k, x), ()):
            g.add(r, tid, graph.RW, ("rw", k, x, y))

    return finish(WORKLOAD, g, txns, participants, found, names, forbidden, ok_count=oks,
                  empty_valid=False, start=start, deadline=deadline, clock=clock,
                  time_limit_s=time_limit_s)
