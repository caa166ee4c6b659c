"""Checkers shared by every workload: stats, availability, exceptions, perf, set-full.

Strategy: each checker is a pure function of a finished `History` (plus a few
options) returning a JSON-ready dict with ``valid`` and Maelstrom's field
names (``ok-count``, ``msgs-per-op``...; section 9 of maelstrom-spec.md).
`merge_valid` combines verdicts with priority false > "unknown" > true.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Final

from maelstrom.history import History, Operation

Verdict = bool | str
QUANTILES: Final[tuple[float, ...]] = (0.0, 0.5, 0.95, 0.99, 1.0)
#: Kafka's exempt fs, kept so the stats checker is ready for it.
STATS_EXEMPT_FS: Final[frozenset[str]] = frozenset({"crash", "debug-topic-partitions"})
EXAMPLES_MAX: Final[int] = 48


def merge_valid(verdicts: Iterable[Any]) -> Verdict:
    """False beats "unknown" beats True (Jepsen ``merge-valid``)."""
    vs = list(verdicts)
    if any(v is False for v in vs):
        return False
    if any(v is not True for v in vs):
        return "unknown"
    return True


def client_ops(history: History) -> list[Operation]:
    """Operations of client processes (integers), in invocation order."""
    return [op for op in history.operations() if isinstance(op.process, int)]


def short_repr(value: Any, limit: int = 60) -> str:
    """``repr(value)``, cut to ``limit`` characters."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "…"


def read_list_problem(op: Operation) -> str | None:
    """A set workload's read returns a list: anything else is another workload's read."""
    if op.f == "read" and op.outcome == "ok" and not isinstance(op.output, list):
        return (f"a read that returned {short_repr(op.output)}, not a list of elements: "
                f"another workload's read?")
    return None


def event_extra(history: History, index: int) -> dict[str, Any]:
    """Extra fields of the event at ``index`` (``final``, ``exception``...)."""
    extra = history[index].extra
    return dict(extra) if extra else {}


def quantiles_ms(values_ns: Sequence[float]) -> dict[str, float]:
    """Quantiles 0, 0.5, 0.95, 0.99, 1 of durations in ns, as ms."""
    if not values_ns:
        return {}
    s = sorted(values_ns)
    out: dict[str, float] = {}
    for q in QUANTILES:
        i = min(len(s) - 1, int(math.floor(q * len(s))))
        out[str(q)] = round(s[i] / 1e6, 3)
    return out


def stats_checker(history: History) -> dict[str, Any]:
    """Jepsen ``stats``: counts by outcome and by ``f``; false if some ``f`` never succeeds."""
    by_f: dict[str, Counter[str]] = defaultdict(Counter)
    total: Counter[str] = Counter()
    for op in client_ops(history):
        by_f[op.f][op.outcome] += 1
        total[op.outcome] += 1

    def block(c: Counter[str]) -> dict[str, Any]:
        n = sum(c.values())
        return {"count": n, "ok-count": c["ok"], "fail-count": c["fail"], "info-count": c["info"],
                "valid": c["ok"] > 0}

    fs = {f: block(c) for f, c in sorted(by_f.items())}
    res = block(total)
    res["by-f"] = fs
    res["valid"] = all(b["valid"] for f, b in fs.items() if f not in STATS_EXEMPT_FS)
    return res


def availability_checker(history: History, availability: str | float | None) -> dict[str, Any]:
    """Maelstrom's availability: ``ok-fraction`` = oks ÷ invokes against the target."""
    ops = client_ops(history)
    oks = sum(1 for op in ops if op.outcome == "ok")
    frac = oks / len(ops) if ops else 1.0
    if availability is None:
        valid: Verdict = True
    elif availability == "total":
        valid = frac == 1.0
    else:
        valid = frac >= float(availability)
    return {"valid": valid, "ok-fraction": frac}


def exceptions_checker(history: History) -> dict[str, Any]:
    """Group info ops that carry an ``exception`` by its class, with one example each."""
    groups: dict[str, dict[str, Any]] = {}
    for e in history:
        if e.type != "info" or not e.extra or "exception" not in e.extra:
            continue
        cls = str(e.extra["exception"])
        g = groups.setdefault(cls, {"count": 0, "class": cls, "example": e.to_dict()})
        g["count"] += 1
    return {"valid": True, "exceptions": sorted(groups.values(), key=lambda g: -g["count"])}


def perf_checker(history: History) -> dict[str, Any]:
    """Latency quantiles per ``f`` and outcome, and the overall rate (always valid)."""
    lat: dict[str, list[float]] = defaultdict(list)
    ops = client_ops(history)
    for op in ops:
        if op.outcome in ("ok", "fail") and op.return_index is not None:
            lat[f"{op.f} {op.outcome}"].append(op.return_time - op.call_time)
    span_ns = (history[-1].time - history[0].time) if len(history) else 0
    return {"valid": True,
            "latency-ms": {k: quantiles_ms(v) for k, v in sorted(lat.items())},
            "rate-hz": (len(ops) / (span_ns / 1e9)) if span_ns > 0 else None}


def set_full_checker(history: History, add_f: str, read_value: Callable[[Any], Any] = lambda v: v
                     ) -> dict[str, Any]:
    """Jepsen ``set-full`` (not linearizable), plus duplicate detection.

    For each element, with read *invocation* positions:

    - stable: the last read that saw it is later than the last read that missed it;
    - lost: it is known (add ok, or seen by a read) and a read invoked after
      both its last sighting and the known point missed it;
    - never-read: neither.

    Reads invoked before the element's add was invoked do not count as misses.
    Unlike Jepsen 0.3.7, an element appearing twice in one read is a
    duplicate (invalid), and an element no add ever attempted is unexpected
    (invalid).

    Returns:
        ``valid`` (false if anything is lost, duplicated or unexpected, else
        "unknown" if nothing is stable, else true) and Maelstrom's counts.
    """
    ops = client_ops(history)
    adds: dict[Any, Operation] = {}
    reads: list[tuple[int, int, frozenset[Any]]] = []  # (invoke pos, invoke time, elements)
    duplicated: dict[Any, int] = {}
    for op in ops:
        if op.f == add_f:
            adds.setdefault(_hashable(op.value), op)
        elif op.f == "read" and op.outcome == "ok":
            elems = read_value(op.output)
            if not isinstance(elems, list):
                continue
            seen = Counter(_hashable(x) for x in elems)
            for x, c in seen.items():
                if c > 1:
                    duplicated[x] = max(duplicated.get(x, 0), c)
            reads.append((op.call_index, op.call_time, frozenset(seen)))
    unexpected = sorted({x for _, _, es in reads for x in es if x not in adds}, key=repr)
    last_present: dict[Any, int] = {}
    first_present_time: dict[Any, int] = {}
    for pos, t, es in reads:
        for x in es:
            last_present[x] = max(last_present.get(x, -1), pos)
            first_present_time.setdefault(x, t)
    stable, lost, never_read, stale = [], [], [], []
    stable_lat: list[float] = []
    lost_lat: list[float] = []
    worst_stale: list[dict[str, Any]] = []
    for x, add in adds.items():
        known_pos = add.return_index if add.outcome == "ok" and add.return_index is not None else None
        lp = last_present.get(x, -1)
        absent = [(pos, t) for pos, t, es in reads if pos > add.call_index and x not in es]
        la = max((pos for pos, _ in absent), default=-1)
        if lp >= 0:
            known_pos = lp if known_pos is None else min(known_pos, lp)
        if known_pos is not None and la > max(lp, known_pos):
            lost.append(x)
            lost_lat.append(0.0)
        elif lp >= 0 and lp > la:
            stable.append(x)
            # became stable at the first read after the last miss that saw it
            after = [t for pos, t, es in reads if pos > la and x in es]
            t_stable = min(after) if after else add.call_time
            stable_lat.append(max(0.0, t_stable - add.call_time))
            if la >= 0 and known_pos is not None and la > known_pos:
                stale.append(x)
                worst_stale.append({"element": x, "stale-ms": (t_stable - add.call_time) / 1e6})
        else:
            never_read.append(x)
    worst_stale.sort(key=lambda d: -d["stale-ms"])
    valid: Verdict
    if lost or duplicated or unexpected:
        valid = False
    elif not stable:
        valid = "unknown"
    else:
        valid = True
    srt = lambda xs: sorted(xs, key=_sort_key)  # noqa: E731
    return {
        "valid": valid,
        "attempt-count": len(adds),
        "stable-count": len(stable),
        "lost-count": len(lost),
        "never-read-count": len(never_read),
        "stale-count": len(stale),
        "duplicated-count": len(duplicated),
        "unexpected-count": len(unexpected),
        "lost": srt(lost)[:EXAMPLES_MAX],
        "never-read": srt(never_read)[:EXAMPLES_MAX],
        "stale": srt(stale)[:EXAMPLES_MAX],
        "duplicated": {str(k): v for k, v in list(duplicated.items())[:EXAMPLES_MAX]},
        "unexpected": unexpected[:EXAMPLES_MAX],
        "worst-stale": worst_stale[:8],
        "stable-latencies": quantiles_ms(stable_lat),
        "lost-latencies": quantiles_ms(lost_lat),
    }


def _hashable(x: Any) -> Any:
    if isinstance(x, list):
        return tuple(_hashable(v) for v in x)
    if isinstance(x, dict):
        return tuple(sorted((k, _hashable(v)) for k, v in x.items()))
    return x


def _sort_key(x: Any) -> tuple[str, Any]:
    return (type(x).__name__, x if isinstance(x, (int, float, str)) else repr(x))
