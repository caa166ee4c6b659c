"""Benchmark of the linearizability checker on simulated histories.

Strategy: a seeded simulator of a linearizable register store and concurrent
clients produces histories; each operation takes effect at a random instant
inside its interval, so the history is linearizable by construction. Some
operations time out (info: they took effect or not, 50/50, and the client
continues as a new process). An anomaly can be injected: a stale read (a read
returns a value certainly overwritten before it began) or a lost write (an
acknowledged write that never takes effect, noticed by a later read). The
table prints the checker's seconds per history, plus the two comparison
cases against porcupine's figures on this machine.

Run: ``.venv/bin/python -m bench.bench_checker [--quick]``.
"""

from __future__ import annotations

import argparse
import heapq
import random
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from maelstrom.history import History  # noqa: E402
from maelstrom.linearizable import check_history  # noqa: E402

#: Porcupine's times on this machine for the two comparison cases (seconds).
PORCUPINE_KV_C50_S: Final[float] = 0.2
PORCUPINE_ETCD_100_S: Final[float] = 0.5
#: The target: within this factor of porcupine.
TARGET_RATIO: Final[float] = 3.0

NS_PER_MS: Final[int] = 1_000_000
#: Writes tried per history when injecting a lost write.
LOST_WRITE_TRIES: Final[int] = 20
#: Seeds tried per history until an anomaly can be injected with certainty.
INJECT_RETRIES: Final[int] = 20


@dataclass
class SimConfig:
    """Knobs of one simulated history.

    Attributes:
        ops: Number of client operations.
        procs: Concurrent client threads.
        keys: Number of keys (threads pick keys uniformly).
        mix: Relative weights of read, write, cas, append.
        p_info: Probability that an operation times out (info).
        unique: Unique values for writes (else ``0..small_values-1``).
        small_values: Range of values when not unique.
        anomaly: None, "stale-read" or "lost-write".
        drop_completion: Probability that an info op has no completion at all.
    """

    ops: int
    procs: int
    keys: int = 1
    mix: tuple[int, int, int, int] = (2, 1, 1, 0)
    p_info: float = 0.0
    unique: bool = True
    small_values: int = 5
    anomaly: str | None = None
    drop_completion: float = 0.3


@dataclass
class _SimOp:
    thread: int
    process: int
    f: str
    key: int
    value: Any
    call: int
    lin: int
    ret: int
    info: bool = False
    applied: bool = True
    outcome: str = "ok"
    output: Any = None
    error: Any = None
    extra: dict[str, Any] = field(default_factory=dict)


def _plan(rng: random.Random, cfg: SimConfig) -> list[_SimOp]:
    """Schedule operations: each thread invokes, waits, completes, thinks, repeats."""
    free = [(rng.randrange(0, 2 * NS_PER_MS), t) for t in range(cfg.procs)]
    heapq.heapify(free)
    process = list(range(cfg.procs))
    counter = [0] * cfg.keys
    fs = ("read", "write", "cas", "append")
    ops: list[_SimOp] = []
    while len(ops) < cfg.ops:
        t0, th = heapq.heappop(free)
        f = rng.choices(fs, weights=cfg.mix)[0]
        key = rng.randrange(cfg.keys)
        if f == "read":
            value = None
        elif f == "append":
            counter[key] += 1
            value = f"x{th}.{counter[key]} "
        elif cfg.unique:
            counter[key] += 1
            v: Any = counter[key] if cfg.mix[3] == 0 else f"w{counter[key]} "
            value = v if f == "write" else [None, v]
        else:
            small = [rng.randrange(cfg.small_values) for _ in range(2)]
            if cfg.mix[3]:
                small = [f"v{x} " for x in small]
            value = small[0] if f == "write" else small
        dur = rng.randrange(NS_PER_MS // 10, 5 * NS_PER_MS)
        lin = t0 + rng.randrange(1, dur)
        op = _SimOp(th, process[th], f, key, value, t0, lin, t0 + dur)
        if rng.random() < cfg.p_info:
            op.info = True
            op.applied = rng.random() < 0.5
            process[th] += cfg.procs
        ops.append(op)
        heapq.heappush(free, (op.ret + rng.randrange(0, NS_PER_MS), th))
    return ops


def _apply(ops: list[_SimOp], last_seen: dict[tuple[int, int], Any]) -> None:
    """Run the effects in linearization order and fill in outcomes."""
    state: dict[int, Any] = {}
    for op in sorted(ops, key=lambda o: o.lin):
        cur = state.get(op.key)
        if op.f == "cas" and op.value[0] is None:
            # Unique-value cas: expect what this thread saw last (often still current).
            op.value = [last_seen.get((op.thread, op.key), 1), op.value[1]]
        if op.f == "read":
            op.output = cur
            last_seen[(op.thread, op.key)] = cur
        elif not op.applied:
            pass
        elif op.f == "write":
            state[op.key] = op.value
        elif op.f == "append":
            state[op.key] = (cur or "") + op.value
        elif op.f == "cas":
            if cur is not None and cur == op.value[0]:
                state[op.key] = op.value[1]
            else:
                op.outcome = "fail"
                op.error = "key-does-not-exist" if cur is None else "precondition-failed"
        if op.info:
            op.outcome = "info"
            op.error = "net-timeout"
            op.output = None
        elif op.outcome == "ok" and op.f != "read":
            op.output = op.value


def _stored(o: _SimOp) -> Any:
    return o.value[-1] if o.f == "cas" else o.value


def _inject_stale_read(rng: random.Random, ops: list[_SimOp]) -> bool:
    """Make one ok read return a value certainly overwritten before it began."""
    reads = [o for o in ops if o.f == "read" and o.outcome == "ok"]
    rng.shuffle(reads)
    setters = [o for o in ops if o.outcome == "ok" and o.f in ("write", "cas")]
    for r in reads:
        before = [o for o in setters if o.key == r.key and o.ret < r.call]
        for old in sorted(before, key=lambda o: -o.ret):
            stale = _stored(old)
            newer = [o for o in before if o.call > old.ret and _stored(o) != stale]
            if newer and stale != r.output and _written_once(ops, r.key, stale):
                r.output = stale
                return True
    return False


def _written_once(ops: list[_SimOp], key: int, value: Any) -> bool:
    n = 0
    for o in ops:
        if o.key == key and o.f in ("write", "cas"):
            n += _stored(o) == value
    return n == 1


def _inject_lost_write(rng: random.Random, ops: list[_SimOp], cfg: SimConfig) -> bool:
    """Drop the effect of one acknowledged write that a later read observed."""
    writes = [o for o in ops if o.f == "write" and o.outcome == "ok"]
    rng.shuffle(writes)
    for w in writes[:LOST_WRITE_TRIES]:
        w.applied = False
        for o in ops:
            o.outcome, o.error = "ok", None
            if o.f == "cas" and cfg.unique:
                o.value = [None, o.value[1]]
        _apply(ops, {})
        # Caught for sure when a read that began after w returned saw a value whose
        # only writer finished before w began.
        producers: dict[Any, list[_SimOp]] = {}
        for o in ops:
            if o.key == w.key and o.f in ("write", "cas") and o.outcome == "ok":
                producers.setdefault(_stored(o), []).append(o)
        if not _written_once(ops, w.key, w.value):
            w.applied = True
            continue
        for r in ops:
            if r.f == "read" and r.outcome == "ok" and r.key == w.key and r.call > w.ret:
                producer = producers.get(r.output, [])
                if r.output is None or (len(producer) == 1 and producer[0].ret < w.call):
                    return True
        w.applied = True
    for o in ops:
        o.outcome, o.error = "ok", None
    _apply(ops, {})
    return False


def simulate(seed: int, cfg: SimConfig) -> History:
    """A simulated history (see :func:`simulate_anomaly`)."""
    return simulate_anomaly(seed, cfg)[0]


def simulate_anomaly(seed: int, cfg: SimConfig) -> tuple[History, bool]:
    """A simulated history, and whether the requested anomaly could be injected.

    Args:
        seed: RNG seed.
        cfg: The knobs.

    Returns:
        The history (linearizable unless an anomaly was injected) and whether
        ``cfg.anomaly`` was injected (an injected anomaly is certainly
        non-linearizable; write values must be unique for that).
    """
    rng = random.Random(seed)
    ops = _plan(rng, cfg)
    _apply(ops, {})
    injected = False
    if cfg.anomaly == "stale-read":
        injected = _inject_stale_read(rng, ops)
    elif cfg.anomaly == "lost-write":
        injected = _inject_lost_write(rng, ops, cfg)
    events: list[tuple[int, int, int, _SimOp]] = []
    for n, op in enumerate(ops):
        events.append((op.call, 0, n, op))
        if not (op.info and rng.random() < cfg.drop_completion):
            events.append((op.ret, 1, n, op))
    events.sort(key=lambda e: (e[0], e[1], e[2]))
    h = History(source=f"sim-{seed}")
    for t, kind, _, op in events:
        if kind == 0:
            h.invoke(time=t, process=op.process, f=op.f, key=op.key,
                     value=None if op.f == "read" else op.value)
        else:
            h.complete(time=t, process=op.process, type=op.outcome,  # type: ignore[arg-type]
                       value=op.output, error=op.error)
    return h, injected


# -- the benchmark ---------------------------------------------------------------------


@dataclass
class Case:
    """One row of the table."""

    name: str
    cfg: SimConfig
    model: str = "cas-register"
    initial: Any = None
    count: int = 1
    expect: bool | None = True


def cases(quick: bool) -> list[Case]:
    """The benchmark cases (a shorter list with ``quick``)."""
    big = 10_000 if quick else 100_000
    rows = [
        Case("register 5p 100", SimConfig(100, 5)),
        Case("register 5p 1k", SimConfig(1_000, 5)),
        Case("register 5p 10k", SimConfig(10_000, 5)),
        Case(f"register 5p {big // 1000}k", SimConfig(big, 5)),
        Case("register 1p 10k", SimConfig(10_000, 1)),
        Case("register 20p 10k info10%", SimConfig(10_000, 20, p_info=0.1)),
        Case("register 50p 10k", SimConfig(10_000, 50)),
        Case("register 50p 2k info5%", SimConfig(2_000, 50, p_info=0.05)),
        Case(f"10 keys 50p {big // 1000}k info5%", SimConfig(big, 50, keys=10, p_info=0.05)),
        Case("lin-kv-like 10p 10k vals0-4 info10%",
             SimConfig(10_000, 10, p_info=0.1, unique=False)),
        Case("kv append 10 keys 50p 10k", SimConfig(10_000, 50, keys=10, mix=(5, 1, 0, 4)),
             model="kv"),
        Case("stale read 5p 10k", SimConfig(10_000, 5, anomaly="stale-read"), expect=False),
        Case("stale read 50p 10k info5%",
             SimConfig(10_000, 50, p_info=0.05, anomaly="stale-read"), expect=False),
        Case("lost write 5p 10k", SimConfig(10_000, 5, anomaly="lost-write"), expect=False),
        Case("lost write 20p 2k info5%",
             SimConfig(2_000, 20, p_info=0.05, anomaly="lost-write"), expect=False),
    ]
    if quick:
        rows = [r for r in rows if r.cfg.ops <= 10_000]
    return rows


def case_a() -> Case:
    """Porcupine's c50 kv case: ~1,700 get/put/append ops, 50 clients, 10 keys."""
    return Case("(a) kv 50 clients 10 keys 1.7k", SimConfig(1_700, 50, keys=10, mix=(5, 1, 0, 4)),
                model="kv")


def case_b() -> Case:
    """Porcupine's etcd case: 100 register histories, ~80 ops, 5 clients, many info ops."""
    return Case("(b) 100 x register 5p 80 ops info", SimConfig(80, 5, p_info=0.25, unique=False),
                count=100)


def run_case(case: Case, seed: int, time_limit_s: float | None) -> tuple[float, list[Any]]:
    """Generate and check ``case.count`` histories; return total check seconds and verdicts."""
    total = 0.0
    verdicts = []
    for n in range(case.count):
        h, injected = simulate_anomaly(seed + n, case.cfg)
        retry = 0
        while case.cfg.anomaly and not injected and retry < INJECT_RETRIES:
            retry += 1
            h, injected = simulate_anomaly(seed + n + 1000 * retry, case.cfg)
        ops = h.operations()
        t0 = time.perf_counter()
        res = check_history(ops, model=case.model, initial=case.initial, time_limit_s=time_limit_s,
                            clock=time.monotonic)
        total += time.perf_counter() - t0
        verdicts.append(res["valid"])
    return total, verdicts


def main(argv: list[str] | None = None) -> int:
    """Print the benchmark table; exit 1 if a verdict was wrong."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="short run (histories up to 10k ops)")
    ap.add_argument("--seed", type=int, default=1, help="base RNG seed")
    ap.add_argument("--time-limit", type=float, default=60.0, help="per-history limit (s)")
    args = ap.parse_args(argv)
    wrong = 0
    print(f"{'case':42} {'ops':>7} {'verdict':>8} {'seconds':>9}")
    for case in cases(args.quick):
        secs, verdicts = run_case(case, args.seed, args.time_limit)
        v = verdicts[0]
        bad = case.expect is not None and any(x != case.expect for x in verdicts)
        wrong += bad
        print(f"{case.name:42} {case.cfg.ops * case.count:>7} {str(v):>8} {secs:>9.3f}"
              + ("  WRONG VERDICT" if bad else ""), flush=True)
    print()
    for case, ref in ((case_a(), PORCUPINE_KV_C50_S), (case_b(), PORCUPINE_ETCD_100_S)):
        secs, verdicts = run_case(case, args.seed, args.time_limit)
        ok = sum(v is True for v in verdicts)
        ratio = secs / ref
        print(f"{case.name:42} {case.cfg.ops * case.count:>7} {ok:>4}/{len(verdicts):<3} "
              f"{secs:>9.3f}  porcupine {ref:.1f} s, ratio {ratio:.2f}"
              f" ({'within' if ratio <= TARGET_RATIO else 'OVER'} {TARGET_RATIO:.0f}x)", flush=True)
        wrong += ok != len(verdicts)
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
