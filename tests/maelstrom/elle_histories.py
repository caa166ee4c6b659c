"""Building transactional histories for the Elle checker tests.

`build` turns a compact script into a :class:`History`; `serial_history`
runs random transactions one at a time against an in-memory store, which
yields histories every model must accept.
"""

from __future__ import annotations

import random
from typing import Any

from maelstrom.history import History

Mops = list[list[Any]]


def build(*steps: tuple[Any, ...]) -> History:
    """A history from ``("inv", p, mops)``, ``("ok", p, mops)``, ``("fail", p)``, ``("info", p)``.

    ``("txn", p, mops_in, mops_out)`` is an invocation followed at once by its ok.
    Times are the positions (ns).
    """
    h = History()
    for s in steps:
        kind, p = s[0], s[1]
        t = len(h)
        if kind == "inv":
            h.invoke(time=t, process=p, f="txn", value=s[2])
        elif kind == "ok":
            h.complete(time=t, process=p, type="ok", value=s[2])
        elif kind == "txn":
            h.invoke(time=t, process=p, f="txn", value=s[2])
            h.complete(time=t + 1, process=p, type="ok", value=s[3])
        elif kind == "fail":
            h.complete(time=t, process=p, type="fail", error="txn-conflict")
        else:
            h.complete(time=t, process=p, type="info", error="net-timeout")
    return h


def random_txn(rng: random.Random, keys: int, write_f: str, counter: dict[Any, int],
               max_len: int = 4) -> Mops:
    """A random transaction of reads and writes with fresh write values per key."""
    mops: Mops = []
    for _ in range(rng.randint(1, max_len)):
        k = rng.randrange(keys)
        if rng.random() < 0.5:
            mops.append(["r", k, None])
        else:
            counter[k] = counter.get(k, 0) + 1
            mops.append([write_f, k, counter[k]])
    return mops


def apply_txn(store: dict[Any, Any], mops: Mops, write_f: str) -> Mops:
    """Run ``mops`` against ``store`` (mutated); returns the completed micro-ops."""
    out: Mops = []
    for f, k, v in mops:
        if f == "r":
            cur = store.get(k)
            out.append(["r", k, list(cur) if isinstance(cur, list) else cur])
        elif write_f == "append":
            store.setdefault(k, []).append(v)
            out.append([f, k, v])
        else:
            store[k] = v
            out.append([f, k, v])
    return out


def serial_steps(rng: random.Random, n: int, keys: int, write_f: str,
                 processes: int = 3) -> list[tuple[Any, ...]]:
    """``n`` random transactions run one at a time, as `build` steps (``("txn", ...)``)."""
    store: dict[Any, Any] = {}
    counter: dict[Any, int] = {}
    steps: list[tuple[Any, ...]] = []
    for i in range(n):
        mops = random_txn(rng, keys, write_f, counter)
        steps.append(("txn", i % processes, mops, apply_txn(store, mops, write_f)))
    return steps


def serial_history(rng: random.Random, n: int, keys: int, write_f: str,
                   processes: int = 3) -> History:
    """``n`` random transactions run one at a time (each completes before the next begins)."""
    return build(*serial_steps(rng, n, keys, write_f, processes))


def concurrent_steps(rng: random.Random, n: int, keys: int, write_f: str,
                     processes: int = 3) -> list[tuple[Any, ...]]:
    """``n`` transactions on ``processes`` overlapping processes, each applied atomically
    at one random moment between its invocation and its completion (so the history is
    strict-serializable). About 1 in 10 fails without effect; about 1 in 10 ends info,
    half of those applied and half not."""
    store: dict[Any, Any] = {}
    counter: dict[Any, int] = {}
    steps: list[tuple[Any, ...]] = []
    state: dict[int, tuple[str, Any]] = {}
    started = 0
    while started < n or state:
        p = rng.randrange(processes)
        cur = state.get(p)
        if cur is None:
            if started < n:
                mops = random_txn(rng, keys, write_f, counter)
                steps.append(("inv", p, mops))
                state[p] = ("invoked", mops)
                started += 1
        elif cur[0] == "invoked":
            x = rng.random()
            if x < 0.1:
                steps.append(("fail", p))
                del state[p]
            elif x < 0.15:
                steps.append(("info", p))
                del state[p]
            else:
                state[p] = ("applied", apply_txn(store, cur[1], write_f))
        else:
            if rng.random() < 0.05:
                steps.append(("info", p))
            else:
                steps.append(("ok", p, cur[1]))
            del state[p]
    return steps
