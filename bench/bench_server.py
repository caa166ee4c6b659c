"""`make bench`: gyre serve and Debian's redis-server side by side under redis-benchmark.

Both servers run at once on free loopback ports, pinned to core 0 where
`taskset` exists, with redis-benchmark pinned to core 1. Each load is run on
one server and then the other, back to back, so the two figures of a row
share the machine's conditions; the ratio gyre/redis is what to read, since
absolute numbers on a shared machine are noise.
"""

from __future__ import annotations

import argparse
import csv
import io
import shutil
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
    opts = parser.parse_args()
    for tool in ("redis-server", "redis-benchmark"):
        if shutil.which(tool) is None:
            print(f"bench: {tool} is not installed (make redis-tools as root)", file=sys.stderr)
            return 1
    loads = QUICK_LOADS if opts.quick else LOADS
    with both_servers() as ((gyre_port, _), (redis_port, _)):
        print(f"{'load':<14}{'test':<34}{'redis rps':>12}{'gyre rps':>12}{'ratio':>8}  target")
        failed = 0
        for load in loads:
            for test in opts.tests.split(","):
                theirs = run_benchmark(redis_port, load, test)
                ours = run_benchmark(gyre_port, load, test)
                for name in theirs:
                    target = TARGET_OVERRIDES.get(name, load.target_ratio)
                    ratio = ours.get(name, 0.0) / theirs[name]
                    ok = ratio >= target
                    failed += not ok
                    print(f"{load.label:<14}{name:<34}{theirs[name]:>12,.0f}{ours.get(name, 0):>12,.0f}"
                          f"{ratio:>8.2f}  >= {target} {'ok' if ok else 'MISSED'}", flush=True)
    print(f"\n{failed} row(s) below target" if failed else "\nevery row meets its target")
    return 0


if __name__ == "__main__":
    sys.exit(main())
