"""Why a run got its verdict, in one or two lines per failing checker.

Strategy: a pure function of a run's results (the dict ``results.json``
holds: one entry per checker, each with ``valid``) and the workload's name.
The first checker that is not valid, in the order a reader cares about
(the workload's own checker, then stats, then availability, then the
rest), gets the lines: for lin-kv the failing key, the operation the
search got stuck at and the checker's reason; for the set workloads the
lost elements; for the counters the final read outside the acceptable
values; for echo and unique-ids the first wrong echo or repeated id; for
the txn workloads the anomaly types, the models they rule out and the first
anomaly in words. Both
``gyre test`` and ``gyre check`` print them under their verdict, so a
failure is explained on the terminal, not only in report.html.

Key names are printed as JSON (``key 0``, ``key "a"``), never bare after a
count, so a key called ``0`` cannot read as a number of keys.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

import orjson

#: Checker order: the workload's own first, then Maelstrom's generic ones.
CHECKER_ORDER: Final[tuple[str, ...]] = ("workload", "stats", "availability", "net", "exceptions",
                                         "perf")
#: Elements or keys named in one line, at most.
NAMED_MAX: Final[int] = 5
#: Characters of a value shown in a line, at most.
VALUE_SHOWN_MAX: Final[int] = 80


def show(value: Any) -> str:
    """A value as compact JSON (strings quoted), cut to a readable length."""
    try:
        text = orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:
        text = repr(value)
    return text if len(text) <= VALUE_SHOWN_MAX else text[:VALUE_SHOWN_MAX] + "…"


def key_name(key: Any) -> str:
    """``key 0`` or ``key "a"``: a key's name, never confusable with a count."""
    return f"key {show(key)}"


def _names(items: Sequence[Any], total: int | None = None) -> str:
    shown = ", ".join(show(x) for x in items[:NAMED_MAX])
    n = len(items) if total is None else total
    return shown + (f" (+{n - min(len(items), NAMED_MAX)} more)" if n > NAMED_MAX else "")


def _ms(ns: Any) -> str:
    return "∞" if ns is None else f"{ns / 1e6:.1f} ms"


def describe_op(op: Mapping[str, Any]) -> str:
    """``index 57 (process 3, ok): read → 3, 12.0 ms .. 12.9 ms``."""
    err = f", error {show(op['error'])}" if op.get("error") is not None else ""
    return (f"index {op['index']} (process {op['process']}, {op['type']}{err}): "
            f"{op['description']}, {_ms(op.get('call_time'))} .. {_ms(op.get('return_time'))}")


def _lin_kv(res: Mapping[str, Any]) -> list[str]:
    per_key = res.get("results") or {}
    failures = res.get("failures") or []
    if res.get("valid") is False and failures:
        k = failures[0]
        lin = (per_key.get(str(k)) or {}).get("linearizable") or {}
        f = lin.get("failure") or {}
        more = f" ({len(failures) - 1} more keys failed too)" if len(failures) > 1 else ""
        lines = [f"{key_name(k)} is not linearizable{more}: {f.get('reason', 'no reason recorded')}"]
        if f.get("op"):
            lines.append(f"at {describe_op(f['op'])}")
        return lines
    unknown = [k for k, r in per_key.items() if r.get("valid") not in (True, False)]
    if unknown:
        reasons = sorted({str(k2.get("reason")) for r in per_key.values()
                          for k2 in ((r.get("linearizable") or {}).get("keys") or {}).values()
                          if k2.get("reason")})
        why = f" ({'; '.join(reasons)})" if reasons else ""
        return [f"{len(unknown)} of {len(per_key)} keys undecided{why}: "
                f"{', '.join(f'key {k}' for k in unknown[:NAMED_MAX])}"]
    return []


def _set_full(res: Mapping[str, Any]) -> list[str]:
    attempts = res.get("attempt-count", 0)
    if res.get("lost-count"):
        return [f"{res['lost-count']} of {attempts} elements lost (acknowledged or seen by a read, "
                f"then missing from a later read): {_names(res.get('lost', []), res['lost-count'])}"]
    if res.get("duplicated-count"):
        dup = res.get("duplicated") or {}
        return [f"{res['duplicated-count']} elements appear more than once in one read: "
                + ", ".join(f"{k} (×{v})" for k, v in list(dup.items())[:NAMED_MAX])]
    if res.get("unexpected-count"):
        return [f"{res['unexpected-count']} elements were read that no add attempted: "
                f"{_names(res.get('unexpected', []), res['unexpected-count'])}"]
    if res.get("valid") not in (True, False):
        return [f"no element is stable: no read after an element's last miss saw it "
                f"({attempts} attempted, {res.get('never-read-count', 0)} never read)"]
    return []


def _counter(res: Mapping[str, Any]) -> list[str]:
    errors = res.get("errors") or []
    if not errors:
        return []
    e = errors[0]
    ok = ", ".join(f"{lo}" if lo == hi else f"{lo}..{hi}" for lo, hi in res.get("acceptable", []))
    more = f" ({len(errors) - 1} more final reads wrong)" if len(errors) > 1 else ""
    return [f"the final read at index {e['index']} (process {e['process']}) saw {show(e['value'])}, "
            f"but the adds allow only {ok or 'nothing'}{more}"]


def _echo(res: Mapping[str, Any]) -> list[str]:
    errors = res.get("errors") or []
    if not errors:
        return []
    e = errors[0]
    got = (f"got {show(e.get('received'))}" if e.get("type") == "ok"
           else f"it ended {e.get('type')}" + (f" ({show(e['error'])})" if e.get("error") else ""))
    return [f"{res.get('error-count', len(errors))} echoes wrong; the first, index {e['index']}, "
            f"sent {show(e.get('expected'))} and {got}"]


def _unique_ids(res: Mapping[str, Any]) -> list[str]:
    dup = res.get("duplicated") or {}
    if not dup:
        return []
    return [f"{res.get('duplicated-count', len(dup))} ids were handed out more than once: "
            + ", ".join(f"{k} (×{v})" for k, v in list(dup.items())[:NAMED_MAX])]


def _txn(res: Mapping[str, Any]) -> list[str]:
    types = res.get("anomaly_types") or []
    if not types:
        return []
    counts = res.get("anomaly_counts") or {}
    found = ", ".join(f"{t} (×{counts[t]})" if counts.get(t, 1) > 1 else t for t in types)
    not_ = res.get("not") or []
    head = f"{found}" + (f", so not {', '.join(not_)}" if not_ else "")
    return [head, *(res.get("explanations") or [])]


_WORKLOAD_EXPLAINERS = {"lin-kv": _lin_kv, "txn-list-append": _txn, "txn-rw-register": _txn, "g-set": _set_full, "broadcast": _set_full,
                        "g-counter": _counter, "pn-counter": _counter, "echo": _echo,
                        "unique-ids": _unique_ids}


def _stats(res: Mapping[str, Any]) -> list[str]:
    bad = [(f, b) for f, b in (res.get("by-f") or {}).items() if b.get("valid") is False]
    return [f"no {f} ever succeeded ({b.get('count', 0)} attempted: {b.get('fail-count', 0)} fail, "
            f"{b.get('info-count', 0)} info)" for f, b in bad[:2]]


def _availability(res: Mapping[str, Any]) -> list[str]:
    return [f"only {res.get('ok-fraction', 0):.3f} of the operations succeeded, below the "
            f"--availability asked for"]


def checker_lines(workload: str, name: str, res: Mapping[str, Any]) -> list[str]:
    """Why one checker is not valid (empty when it is, or when nothing more can be said)."""
    if res.get("valid") is True:
        return []
    if res.get("error"):
        return [f"the {name} checker could not finish: {res['error']}"]
    if name == "workload":
        fn = _WORKLOAD_EXPLAINERS.get(workload)
        if fn is not None:
            return fn(res)  # otherwise the checker's own "why", as for the rest
    if name == "stats":
        return _stats(res)
    if name == "availability":
        return _availability(res)
    if isinstance(res.get("why"), str):
        return [res["why"]]
    return []


def not_valid(results: Mapping[str, Any]) -> list[str]:
    """The checkers whose verdict is not true, in `CHECKER_ORDER` (then any others)."""
    names = [n for n in CHECKER_ORDER if n in results]
    names += sorted(n for n in results if n not in CHECKER_ORDER)
    return [n for n in names if isinstance(results[n], Mapping) and "valid" in results[n]
            and results[n]["valid"] is not True]


def explain(workload: str, results: Mapping[str, Any]) -> list[str]:
    """One or two lines on why ``results`` is not valid (empty when it is valid).

    Args:
        workload: The workload's name (which explainer reads ``results["workload"]``).
        results: One entry per checker, as in ``results.json``.

    Returns:
        ``"<checker>: <why>"`` for the first checker that is not valid, with a
        second line for the operation when there is one, and a last line
        naming the other checkers that are not valid either.
    """
    bad = not_valid(results)
    if not bad:
        return []
    first = bad[0]
    label = f"{first} ({workload})" if first == "workload" else first
    why = checker_lines(workload, first, results[first]) or [
        f"verdict {show(results[first]['valid'])}"]
    lines = [f"{label}: {why[0]}", *(f"  {w}" for w in why[1:2])]
    if len(bad) > 1:
        lines.append(f"also not valid: {', '.join(bad[1:])}")
    return lines
