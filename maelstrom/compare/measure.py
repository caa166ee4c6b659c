"""One run reduced to what ``gyre compare`` reports: pure functions of its records.

Strategy: a run leaves ``results.json`` (one verdict per checker), its
history and its message journal. `measure_run` reads all three once and
keeps only numbers and short strings (`RunMeasure`), so a grid of hundreds
of runs needs no run directory after its run:

- **verdict**: from the exit code (valid, invalid, unknown, crashed);
- **anomaly**: the kind of the first failing checker's finding
  (`classify`). For lin-kv it is read from the linearizability checker's
  failure: the failing operation and the reason the checker gives
  (`maelstrom.models`: ``stale: observed X (last stored by index A), but
  index B certainly set the key after that ...``):

  - a ``cas`` or ``write`` that took effect (ok, or info) and cannot be
    linearized is a **lost update** (a read-modify-write or write that acted
    on a state another acknowledged update had already replaced);
  - a read (or a failed cas, which under the strict reading observed the
    key: absent, or not its ``from``) of a value no operation wrote, or
    wrote only later, is an **impossible read**;
  - any other read or failed cas that cannot be linearized is a **stale
    read**, and a read is a
    **non-monotonic read** when the same process had already seen a newer
    state of the key: an earlier read of its own, invoked after B returned
    and returned before this read began, saw a different value, and that
    value was written (write, or cas ``to``) by B or by an operation invoked
    after A (values repeat in lin-kv, so this is read from indexes and
    times, not values alone);

  for the transactional workloads, the first anomaly type the Elle-style
  checker found (``G-single-realtime``, ``lost-update``, ``G1c`` ...); for
  kafka, the first of its checker's error types (``lost-write``,
  ``inconsistent-offsets`` ...); for the other workloads, from the checker's
  counts (lost, duplicated or unexpected elements; a wrong final count), and ``liveness``,
  ``availability``/``stats``, a crash or an unknown verdict by name;
- **availability**: client operations invoked while a fault was active
  (an effective partition, `maelstrom.report.partitions`, or loss or
  duplication between their start and stop) and those invoked while the
  network was whole, each as the fraction *answered*: ok, or a definite
  application answer (a cas ``precondition-failed``, a read
  ``key-does-not-exist``: the service answered, it was not down);
- **latency**: of every ok client operation (virtual ms in a simulation);
- **messages**: node-to-node messages (``net.servers`` in results.json);
- **convergence** (the workloads that replicate by pushing state or
  gossip: g-counter, pn-counter, g-set, broadcast): the run records no
  convergence time (its final reads come after a fixed recovery wait), so it
  is reconstructed from the journal (`convergence`): what each node knows
  is what clients handed it (``add`` elements, ``broadcast`` messages) and
  what it sent or received in a ``gset_state``, ``counter_state`` or
  ``gossip`` body (elements, messages, per-node counter entries, merged by
  maximum, as the lattices merge). The cluster has converged when every
  node knows the same; the time reported is from the heal (or the last
  update, whichever is later) to the last moment any node learned
  anything, 0 when nothing was left to learn, and ``None`` with
  ``converged=False`` when the nodes still differ at the end of the run.
"""

from __future__ import annotations

import math
import re
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import orjson

from maelstrom.harness import EXIT_CRASH, EXIT_INVALID, EXIT_UNKNOWN, EXIT_VALID
from maelstrom.history import History, Operation
from maelstrom.report.partitions import partition_spans
from maelstrom.verdict import explain, not_valid

VERDICTS: Final[dict[int, str]] = {EXIT_VALID: "valid", EXIT_INVALID: "invalid",
                                   EXIT_UNKNOWN: "unknown", EXIT_CRASH: "crashed"}
#: Definite errors that are the application's answer, not an outage.
ANSWER_ERRORS: Final[frozenset[str]] = frozenset({"precondition-failed", "key-does-not-exist"})
#: Client operations that add information the replicas must spread.
UPDATE_FS: Final[frozenset[str]] = frozenset({"add", "broadcast"})
#: The why of an anomaly is cut to this many characters.
WHY_MAX: Final[int] = 300

STALE_READ: Final = "stale read"
NON_MONOTONIC_READ: Final = "non-monotonic read"
LOST_UPDATE: Final = "lost update"
IMPOSSIBLE_READ: Final = "impossible read"
LOST_ELEMENT: Final = "lost element"
DUPLICATED_ELEMENT: Final = "duplicated element"
UNEXPECTED_ELEMENT: Final = "unexpected element"
NO_STABLE_ELEMENT: Final = "no stable element"
WRONG_COUNT: Final = "wrong final count"
NOT_LIVE: Final = "not live after heal"
UNAVAILABLE: Final = "unavailable"
CRASH: Final = "crash"
UNDECIDED: Final = "undecided"
OTHER: Final = "other"
#: Workloads judged by the Elle-style checker: a run's anomaly is the first anomaly type it found.
TXN_WORKLOADS: Final[frozenset[str]] = frozenset({"txn-list-append", "txn-rw-register"})

_STORED_BY: Final = re.compile(r"last stored by index (\d+)")
_SET_BY: Final = re.compile(r"index (\d+) certainly set")
_IMPOSSIBLE: Final = re.compile(r"a value no operation wrote|only written after")


@dataclass(frozen=True)
class Anomaly:
    """What a failing run found: its kind and the checker's one-line why."""

    kind: str
    why: str


@dataclass(frozen=True)
class RunMeasure:
    """One run, reduced (see module doc). Times in ms of the run's clock."""

    seed: int
    verdict: str
    anomaly: Anomaly | None
    replay: str
    fault_ops: int
    fault_answered: int
    healed_ops: int
    healed_answered: int
    latencies_ms: tuple[float, ...]
    client_ops: int
    server_msgs: int
    converged: bool | None
    converge_ms: float | None

    def to_json(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        d["anomaly"] = None if self.anomaly is None else dict(self.anomaly.__dict__)
        d["latencies_ms"] = list(self.latencies_ms)
        return d

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> RunMeasure:
        a = d.get("anomaly")
        return cls(**{**d, "anomaly": None if a is None else Anomaly(**a),  # type: ignore[arg-type]
                      "latencies_ms": tuple(d.get("latencies_ms") or ())})


# -- faults and availability ------------------------------------------------------------------


def fault_windows(history: History, end_ms: float) -> list[tuple[float, float]]:
    """``(start, end)`` ms of every period a fault was active, merged and sorted.

    Partitions count only when their grudge cut a link (`partition_spans`);
    loss and duplication from their start to their stop (or the end).
    """
    spans = [(s.start_ms, s.end_ms) for s in partition_spans(history, end_ms)]
    open_at: dict[str, float] = {}
    for e in history:
        if e.process != "nemesis" or e.type == "invoke" or "-" not in e.f:
            continue
        verb, kind = e.f.split("-", 1)
        if kind == "partition":
            continue
        t = e.time / 1e6
        if verb == "start":
            open_at.setdefault(kind, t)
        elif verb == "stop" and kind in open_at:
            spans.append((open_at.pop(kind), t))
    spans.extend((t, max(t, end_ms)) for t in open_at.values())
    merged: list[tuple[float, float]] = []
    for a, b in sorted(spans):
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return merged


def _inside(t_ms: float, windows: Sequence[tuple[float, float]]) -> bool:
    return any(a <= t_ms < b for a, b in windows)


def answered(op: Operation) -> bool:
    """The service gave an answer: ok, or a definite application error (`ANSWER_ERRORS`)."""
    return op.outcome == "ok" or (op.outcome == "fail" and op.error in ANSWER_ERRORS)


def availability(ops: Iterable[Operation], windows: Sequence[tuple[float, float]]
                 ) -> tuple[int, int, int, int]:
    """``(ops in faults, answered of them, ops healed, answered of them)``, by invocation time."""
    fn = fa = hn = ha = 0
    for op in ops:
        a = answered(op)
        if _inside(op.call_time / 1e6, windows):
            fn, fa = fn + 1, fa + a
        else:
            hn, ha = hn + 1, ha + a
    return fn, fa, hn, ha


def latencies_ms(ops: Iterable[Operation]) -> list[float]:
    """The latency of every ok operation, in ms."""
    return [(op.return_time - op.call_time) / 1e6 for op in ops if op.outcome == "ok"]


# -- anomalies ----------------------------------------------------------------------------------


def _written(op: Operation) -> Any:
    """The value ``op`` stores when it takes effect (a write's value, a cas's ``to``)."""
    if op.f == "write":
        return op.value
    if op.f == "cas" and isinstance(op.value, Sequence) and len(op.value) == 2:
        return op.value[1]
    return _NOTHING


_NOTHING: Final = object()


def _non_monotonic(bad: Mapping[str, Any], reason: str, ops: Sequence[Operation]) -> bool:
    """Had the failing read's process already seen a newer state of the key? (module doc)"""
    a_m, b_m = _STORED_BY.search(reason), _SET_BY.search(reason)
    if b_m is None:
        return False
    by_index = {op.index: op for op in ops}
    b = by_index.get(int(b_m.group(1)))
    a = by_index.get(int(a_m.group(1))) if a_m is not None else None
    if b is None or math.isinf(b.return_time):
        return False
    after = a.call_time if a is not None else b.call_time
    newer = [_written(b)] + [_written(o) for o in ops
                             if o.key == bad.get("key") and o.call_time > after
                             and o.outcome != "fail" and _written(o) is not _NOTHING]
    call = bad.get("call_time")
    if not isinstance(call, (int, float)):
        return False
    for o in ops:
        if (o.process == bad.get("process") and o.f == "read" and o.key == bad.get("key")
                and o.outcome == "ok" and b.return_time < o.call_time and o.return_time < call
                and o.output != bad.get("output") and o.output in newer):
            return True
    return False


def lin_kv_anomaly(workload_result: Mapping[str, Any], ops: Sequence[Operation]) -> str:
    """The kind of the linearizability checker's first failure (module doc)."""
    per_key = workload_result.get("results") or {}
    failures = workload_result.get("failures") or []
    if not failures:
        return OTHER
    lin = (per_key.get(str(failures[0])) or {}).get("linearizable") or {}
    failure = lin.get("failure") or {}
    bad = failure.get("op") or {}
    reason = str(failure.get("reason") or "")
    f, outcome = bad.get("f"), bad.get("type")
    if f in ("cas", "write") and outcome != "fail":
        return LOST_UPDATE
    if f not in ("read", "cas"):
        return OTHER
    if _IMPOSSIBLE.search(reason):
        return IMPOSSIBLE_READ
    if f == "read" and _non_monotonic(bad, reason, ops):
        return NON_MONOTONIC_READ
    return STALE_READ


def _workload_anomaly(workload: str, res: Mapping[str, Any], ops: Sequence[Operation]) -> str:
    if res.get("valid") not in (True, False):
        return UNDECIDED
    if workload == "lin-kv":
        return lin_kv_anomaly(res, ops)
    if workload in TXN_WORKLOADS:
        # Elle's anomaly names (G-single-realtime, lost-update, G1c, ...): the first in the
        # checker's order, the rest are counted in results.json.
        kinds = res.get("anomaly_types") or []
        return str(kinds[0]) if kinds else OTHER
    if workload == "kafka":
        kinds = res.get("bad-error-types") or []  # lost-write, inconsistent-offsets, ...
        return str(kinds[0]) if kinds else OTHER
    if res.get("lost-count"):
        return LOST_ELEMENT
    if res.get("duplicated-count"):
        return DUPLICATED_ELEMENT
    if res.get("unexpected-count"):
        return UNEXPECTED_ELEMENT
    if res.get("errors"):
        return WRONG_COUNT
    return OTHER


def classify(workload: str, exit_code: int, results: Mapping[str, Any] | None,
             ops: Sequence[Operation], crash: str | None = None) -> Anomaly | None:
    """What a run that did not pass found (None when it passed).

    Args:
        workload: The workload's name.
        exit_code: The run's exit status.
        results: ``results.json`` (None when the run crashed before its checks).
        ops: The run's client operations (`History.operations`).
        crash: The crash reason, if the run crashed.
    """
    if exit_code == EXIT_VALID:
        return None
    if exit_code == EXIT_CRASH or results is None:
        return Anomaly(CRASH, _cut((crash or "the run crashed").splitlines()[0]))
    why = _cut("; ".join(line.strip() for line in explain(workload, results)[:2]))
    bad = not_valid(results)
    first = bad[0] if bad else ""
    if first == "workload":
        return Anomaly(_workload_anomaly(workload, results["workload"], ops), why)
    if first == "liveness":
        return Anomaly(NOT_LIVE, why)
    if first in ("availability", "stats"):
        return Anomaly(UNAVAILABLE, why)
    if exit_code == EXIT_UNKNOWN:
        return Anomaly(UNDECIDED, why or "the verdict is unknown")
    return Anomaly(OTHER, why or f"exit {exit_code}")


def _cut(text: str) -> str:
    return text if len(text) <= WHY_MAX else text[:WHY_MAX - 1] + "…"


# -- convergence --------------------------------------------------------------------------------


def _key(x: Any) -> str:
    return orjson.dumps(x, option=orjson.OPT_SORT_KEYS).decode()


def knowledge(body: Mapping[str, Any]) -> dict[Hashable, float]:
    """What a message body tells its holder: atoms with a value merged by maximum (module doc)."""
    t = body.get("type")
    if t == "gossip":
        return {("m", _key(x)): 1 for x in body.get("messages") or ()}
    if t == "broadcast" and "message" in body:
        return {("m", _key(body["message"])): 1}
    if t == "gset_state":
        return {("e", _key(x)): 1 for x in body.get("state") or ()}
    if t == "add" and "element" in body:
        return {("e", _key(body["element"])): 1}
    if t == "counter_state":
        out: dict[Hashable, float] = {}
        state = body.get("state") or {}
        for part, entries in state.items() if isinstance(state, Mapping) else ():
            for node, v in entries.items() if isinstance(entries, Mapping) else ():
                if isinstance(v, (int, float)) and not isinstance(v, bool):
                    out[("c", str(part), str(node))] = v
        return out
    return {}


def convergence(journal: Iterable[Mapping[str, Any]], nodes: Sequence[str],
                since_ms: float) -> tuple[bool, float | None]:
    """Whether the nodes ended knowing the same, and when the last of them learned its last.

    Args:
        journal: ``messages.jsonl`` records in order (``time`` in ns).
        nodes: The node ids.
        since_ms: The heal (or last update): the time is measured from here.

    Returns:
        ``(True, ms after since_ms, 0 if nothing was learned after it)`` or ``(False, None)``.
    """
    known: dict[str, dict[Hashable, float]] = {n: {} for n in nodes}
    last_ms = 0.0
    for m in journal:
        event = m.get("event")
        holder = m.get("dest") if event == "recv" else m.get("src") if event == "send" else None
        mine = known.get(holder) if isinstance(holder, str) else None
        body = m.get("body")
        if mine is None or not isinstance(body, Mapping):
            continue
        grew = False
        for atom, v in knowledge(body).items():
            if mine.get(atom, -math.inf) < v:
                mine[atom] = v
                grew = True
        if grew:
            last_ms = max(last_ms, m.get("time", 0) / 1e6)
    views = list(known.values())
    if any(v != views[0] for v in views[1:]):
        return False, None
    return True, max(0.0, last_ms - since_ms)


def quiet_since_ms(history: History, ops: Sequence[Operation]) -> float:
    """The heal or the last update's completion, whichever is later (ms)."""
    heal = max((e.time / 1e6 for e in history if e.process == "nemesis" and e.type != "invoke"
                and e.f.startswith("stop-")), default=0.0)
    last = max((op.return_time / 1e6 for op in ops
                if op.f in UPDATE_FS and not math.isinf(op.return_time)), default=0.0)
    return max(heal, last)


# -- one run ------------------------------------------------------------------------------------


def measure_run(workload: str, seed: int, exit_code: int, results: Mapping[str, Any] | None,
                history: History, journal: Iterable[Mapping[str, Any]], nodes: Sequence[str],
                replay: str, crash: str | None = None, converging: bool = False) -> RunMeasure:
    """Reduce one run (see module doc).

    Args:
        workload: The workload's name.
        seed: The run's seed.
        exit_code: Its exit status.
        results: ``results.json`` (None after a crash).
        history: Its history.
        journal: ``messages.jsonl`` records, in order (read once, only when ``converging``).
        nodes: The node ids.
        replay: The line that re-runs it.
        crash: The crash reason, if any.
        converging: Measure convergence (the workload spreads state by gossip).
    """
    all_ops = history.operations()
    ops = [op for op in all_ops if isinstance(op.process, int)]
    end_ms = max((e.time / 1e6 for e in history), default=0.0)
    fn, fa, hn, ha = availability(ops, fault_windows(history, end_ms))
    net = ((results or {}).get("net") or {}).get("servers") or {}
    converged: bool | None = None
    converge_ms: float | None = None
    if converging:
        converged, converge_ms = convergence(journal, nodes, quiet_since_ms(history, ops))
    return RunMeasure(
        seed=seed, verdict=VERDICTS.get(exit_code, f"exit {exit_code}"),
        anomaly=classify(workload, exit_code, results, ops, crash), replay=replay,
        fault_ops=fn, fault_answered=fa, healed_ops=hn, healed_answered=ha,
        latencies_ms=tuple(latencies_ms(ops)), client_ops=len(ops),
        server_msgs=int(net.get("msg-count", 0) or 0), converged=converged,
        converge_ms=converge_ms)
