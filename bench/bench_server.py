"""`make bench`: gyre serve and Debian's redis-server side by side under redis-benchmark.

Both servers run at once on free loopback ports, pinned to core 0 where
`taskset` exists, with redis-benchmark pinned to core 1. Each load is run on
one server and then the other, back to back, so the two figures of a row
share the machine's conditions; the ratio gyre/redis is what to read, since
absolute numbers on a shared machine are noise. With ``--rounds N`` every
row is measured N times, the order of the two servers alternating, and the
table shows each server's median and the ratio of the medians (with the
lowest and highest round ratio), so one disturbed run does not decide a row.
"""

from __future__ import annotations

import argparse
import csv
import io
import shutil
import statistics
import subprocess
import sys
from dataclasses import dataclass

from bench.servers import CLIENT_CORE, both_servers, pin

@dataclass(frozen=True)
class Load:
    label: str
    args: tuple[str, ...]
    target_ratio: float


LOADS = (
    Load("-c 25", ("-c", "25", "-n", "200000"), 0.8),
    Load("-c 50 -P 16", ("-c", "50", "-P", "16", "-n", "1000000"), 0.4),
)
QUICK_LOADS = (
    Load("-c 25", ("-c", "25", "-n", "20000"), 0.8),
    Load("-c 50 -P 16", ("-c", "50", "-P", "16", "-n", "100000"), 0.4),
)
# The foundation's commands, then the collection types' (redis-benchmark's names).
TESTS = "ping,set,get,incr,lpush,rpush,lpop,rpop,sadd,hset,spop,zadd,zpopmin,lrange_100"
# LRANGE_100 moves 100 elements a request: its target is lower.
TARGET_OVERRIDES = {"LRANGE_100 (first 100 elements)": 0.4}


def run_benchmark(port: int, load: Load, tests: str) -> dict[str, float]:
    """requests/s per redis-benchmark test name."""
    out = subprocess.run(
        [*pin(CLIENT_CORE), "redis-benchmark", "-p", str(port), "-t", tests, "--csv", *load.args],
        capture_output=True, text=True, check=True,
    ).stdout
    rows = list(csv.reader(io.StringIO(out)))
    return {row[0]: float(row[1]) for row in rows[1:] if len(row) > 1}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="10x fewer requests")
    parser.add_argument("--tests", default=TESTS, help="redis-benchmark -t list")
    parser.add_argument("--rounds", type=int, default=3, help="measurements per row (median)")
    opts = parser.parse_args()
    for tool in ("redis-server", "redis-benchmark"):
        if shutil.which(tool) is None:
            print(f"bench: {tool} is not installed (make redis-tools as root)", file=sys.stderr)
            return 1
    loads = QUICK_LOADS if opts.quick else LOADS
    rounds = max(1, opts.rounds)
    with both_servers() as ((gyre_port, _), (redis_port, _)):
        print(f"{'load':<14}{'test':<34}{'redis rps':>12}{'gyre rps':>12}{'ratio':>8}"
              f"{'(range)':>13}  target   [{rounds} round(s), medians]")
        failed = 0
        for load in loads:
            for test in opts.tests.split(","):
                theirs: dict[str, list[float]] = {}
                ours: dict[str, list[float]] = {}
                for r in range(rounds):
                    order = ((redis_port, theirs), (gyre_port, ours))
                    for port, into in order if r % 2 == 0 else reversed(order):
                        for name, rps in run_benchmark(port, load, test).items():
                            into.setdefault(name, []).append(rps)
                for name, redis_rps in theirs.items():
                    gyre_rps = ours.get(name, [0.0] * len(redis_rps))
                    target = TARGET_OVERRIDES.get(name, load.target_ratio)
                    ratio = statistics.median(gyre_rps) / statistics.median(redis_rps)
                    each = [g / t for g, t in zip(gyre_rps, redis_rps)]
                    ok = ratio >= target
                    failed += not ok
                    print(f"{load.label:<14}{name:<34}{statistics.median(redis_rps):>12,.0f}"
                          f"{statistics.median(gyre_rps):>12,.0f}{ratio:>8.2f}"
                          f"{f'({min(each):.2f}-{max(each):.2f})':>13}"
                          f"  >= {target} {'ok' if ok else 'MISSED'}", flush=True)
    print(f"\n{failed} row(s) below target" if failed else "\nevery row meets its target")
    return 0


if __name__ == "__main__":
    sys.exit(main())
