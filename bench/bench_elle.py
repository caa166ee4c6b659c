"""Benchmark of the Elle-style transactional checker (`maelstrom.elle`) on generated histories.

Strategy: the histories come from the test suite's builders
(`tests.maelstrom.elle_histories`): random transactions of one to four
micro-ops on 10 keys, half reads, on 10 overlapping processes, each applied
atomically at one moment inside its interval against an in-memory store, so
the history is strict-serializable by construction; about one in ten fails
without effect and one in ten ends indefinite. Each valid case is checked
against ``strict-serializable`` and must come out valid. The anomaly cases
take a serial history (each transaction completes before the next begins)
and make one late read miss the last append or write before it: the
transaction that wrote it finished before the reader began, so the checker
must find a realtime cycle (G-single-realtime) and come out invalid.

Times are this process's CPU seconds for the check alone (building the
history is not counted). Elle's own figure, for orientation: its README
states 100-160,000 transactions a second on modern hardware, with a
parallelised JVM implementation; this one is single-threaded Python.

Run: ``.venv/bin/python -m bench.bench_elle [--quick]``.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from maelstrom.elle.list_append import check_list_append  # noqa: E402
from maelstrom.elle.rw_register import check_rw_register  # noqa: E402
from maelstrom.history import History  # noqa: E402
from tests.maelstrom.elle_histories import build, concurrent_steps, serial_steps  # noqa: E402

KEYS: Final[int] = 10
PROCESSES: Final[int] = 10
MODELS: Final[tuple[str, ...]] = ("strict-serializable",)
#: The issue's target: a 10,000-transaction list-append history in under this many seconds.
TARGET_S: Final[float] = 10.0
#: Elle's README: transactions a second "readily attainable on modern hardware".
ELLE_TXN_PER_S: Final[str] = "100-160k"


@dataclass(frozen=True)
class Case:
    name: str
    txns: int
    write_f: str  # "append" (list-append) or "w" (rw-register)
    anomaly: bool  # inject a stale read into a serial history


def stale_read(steps: list[tuple[Any, ...]], rng: random.Random, write_f: str) -> list[tuple[Any, ...]]:
    """Make one read in the second half miss the latest write to its key (see module doc).

    For registers the missed write must be one whose transaction read the key
    first: that read orders the two versions (writes follow reads), which is
    how an Elle-style checker knows the stale value is the older one. A
    register's version order is otherwise not inferred from real time (Elle
    does the same), so a stale read of any other write can go unnoticed.
    """
    prior: dict[Any, Any] = {}  # key -> its value before its latest write
    current: dict[Any, Any] = {}
    ordered: dict[Any, bool] = {}  # key -> its latest writer read it before writing
    candidates: list[tuple[int, int, Any]] = []
    for i, (_, _, _, out) in enumerate(steps):
        own: set[Any] = set()
        for j, (f, k, _) in enumerate(out):
            if f == "r" and k not in own and k in ordered and i >= len(steps) // 2 \
                    and (write_f == "append" or ordered[k]):
                candidates.append((i, j, prior[k]))
            elif f != "r":
                own.add(k)
        read_first: set[Any] = set()  # keys this transaction read before it wrote them
        written: set[Any] = set()
        for f, k, _ in out:
            if f != "r":
                written.add(k)
            elif k not in written:
                read_first.add(k)
        for f, k, v in out:
            if f == "r":
                continue
            prior[k] = current.get(k)
            current[k] = [*(current.get(k) or []), v] if write_f == "append" else v
            ordered[k] = k in read_first and prior[k] is not None
    i, j, old = rng.choice(candidates)
    kind, p, mops_in, out = steps[i]
    out = [list(m) for m in out]
    out[j][2] = old
    return [*steps[:i], (kind, p, mops_in, out), *steps[i + 1:]]


def history(case: Case, seed: int) -> History:
    rng = random.Random(seed)
    if not case.anomaly:
        return build(*concurrent_steps(rng, case.txns, KEYS, case.write_f, processes=PROCESSES))
    return build(*stale_read(serial_steps(rng, case.txns, KEYS, case.write_f, processes=PROCESSES), rng,
                             case.write_f))


def cases(quick: bool) -> list[Case]:
    # With 10 keys every list-append read returns its key's whole list, so the history itself
    # grows with the square of its length (30,000 txns: reads of ~3,000 elements each).
    appends = (1_000, 10_000) if quick else (1_000, 10_000, 30_000)
    registers = (1_000, 10_000) if quick else (1_000, 10_000, 100_000)
    out = [Case(f"txn-list-append, {n:,} txns", n, "append", False) for n in appends]
    out += [Case(f"txn-rw-register, {n:,} txns", n, "w", False) for n in registers]
    out += [Case("txn-list-append, 10,000 txns, one stale read", 10_000, "append", True),
            Case("txn-rw-register, 10,000 txns, one stale read", 10_000, "w", True)]
    return out


def main(argv: list[str] | None = None) -> int:
    """Print the table; exit 1 if a verdict was wrong."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="histories up to 10,000 transactions")
    ap.add_argument("--seed", type=int, default=1, help="RNG seed of the histories")
    args = ap.parse_args(argv)
    wrong = 0
    print(f"{KEYS} keys, {PROCESSES} processes, checked against {', '.join(MODELS)}; "
          f"Elle (JVM, parallel) states {ELLE_TXN_PER_S} txn/s")
    print(f"{'case':48} {'verdict':>8} {'cpu s':>7} {'txn/s':>8}  anomalies")
    for case in cases(args.quick):
        h = history(case, args.seed)
        check: Callable[..., dict[str, Any]] = check_list_append if case.write_f == "append" else check_rw_register
        t0 = time.process_time()
        res = check(h, MODELS)
        secs = time.process_time() - t0
        bad = res["valid"] is not (not case.anomaly)
        wrong += bad
        found = ", ".join(res.get("anomaly_types", [])) or "-"
        note = ""
        if case.txns == 10_000 and not case.anomaly and case.write_f == "append":
            note = f"  (target < {TARGET_S:g} s: {'met' if secs < TARGET_S else 'NOT MET'})"
        print(f"{case.name:48} {str(res['valid']):>8} {secs:7.2f} {case.txns / secs:8,.0f}  {found}"
              + note + ("  WRONG VERDICT" if bad else ""), flush=True)
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
