"""`make bench`: gyre serve and Debian's redis-server side by side under redis-benchmark.

Both servers run at once on free loopback ports, pinned to core 0 where
`taskset` exists, with redis-benchmark pinned to core 1. Each load is run on
one server and then the other, back to back, so the two figures of a row
share the machine's conditions; the ratio gyre/redis is what to read, since
absolute numbers on a shared machine are noise. With ``--rounds N`` every
row is measured N times, the order of the two servers alternating, and the
table shows each server's median and the ratio of the medians (with the
lowest and highest round ratio), so one disturbed run does not decide a row.
The last two columns are each server's CPU time (user + system, from /proc)
per request, median over the rounds: steadier than requests/s on a noisy
machine, and what to read to see where a row's time goes.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
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


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used, from /proc (0.0 where there is none)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_benchmark(port: int, pid: int, load: Load, tests: str) -> dict[str, tuple[float, float]]:
    """(requests/s, server CPU µs a request) per redis-benchmark test name.

    The CPU time is the server's over the whole run, so the two rows of one run
    (LRANGE_100 is preceded by the LPUSH that fills its list) share a figure.
    """
    before = cpu_seconds(pid)
    out = subprocess.run(
        [*pin(CLIENT_CORE), "redis-benchmark", "-p", str(port), "-t", tests, "--csv", *load.args],
        capture_output=True, text=True, check=True,
    ).stdout
    used = cpu_seconds(pid) - before
    rows = [row for row in list(csv.reader(io.StringIO(out)))[1:] if len(row) > 1]
    requests = int(load.args[load.args.index("-n") + 1]) * max(1, len(rows))
    return {row[0]: (float(row[1]), 1e6 * used / requests) for row in rows}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="10x fewer requests")
    parser.add_argument("--tests", default=TESTS, help="redis-benchmark -t list")
    parser.add_argument("--rounds", type=int, default=5, help="measurements per row (median)")
    opts = parser.parse_args()
    for tool in ("redis-server", "redis-benchmark"):
        if shutil.which(tool) is None:
            print(f"bench: {tool} is not installed (make redis-tools as root)", file=sys.stderr)
            return 1
    loads = QUICK_LOADS if opts.quick else LOADS
    rounds = max(1, opts.rounds)
    with both_servers() as ((gyre_port, gyre_pid), (redis_port, redis_pid)):
        # The interpreter matters (a build without PGO/LTO is ~20% slower): say which ran.
        print(f"gyre serve on Python {sys.version.split()[0]} ({os.path.realpath(sys.executable)})")
        print(f"{'load':<14}{'test':<34}{'redis rps':>12}{'gyre rps':>12}{'ratio':>8}"
              f"{'(range)':>13}  target      {'cpu µs/req redis gyre':>21}"
              f"   [{rounds} round(s), medians]")
        failed = 0
        for load in loads:
            for test in opts.tests.split(","):
                theirs: dict[str, list[tuple[float, float]]] = {}
                ours: dict[str, list[tuple[float, float]]] = {}
                for r in range(rounds):
                    order = ((redis_port, redis_pid, theirs), (gyre_port, gyre_pid, ours))
                    for port, pid, into in order if r % 2 == 0 else reversed(order):
                        for name, measured in run_benchmark(port, pid, load, test).items():
                            into.setdefault(name, []).append(measured)
                for name, redis_runs in theirs.items():
                    gyre_runs = ours.get(name, [(0.0, 0.0)] * len(redis_runs))
                    redis_rps = [rps for rps, _ in redis_runs]
                    gyre_rps = [rps for rps, _ in gyre_runs]
                    target = TARGET_OVERRIDES.get(name, load.target_ratio)
                    ratio = statistics.median(gyre_rps) / statistics.median(redis_rps)
                    each = [g / t for g, t in zip(gyre_rps, redis_rps)]
                    ok = ratio >= target
                    failed += not ok
                    redis_cpu = statistics.median(cpu for _, cpu in redis_runs)
                    gyre_cpu = statistics.median(cpu for _, cpu in gyre_runs)
                    print(f"{load.label:<14}{name:<34}{statistics.median(redis_rps):>12,.0f}"
                          f"{statistics.median(gyre_rps):>12,.0f}{ratio:>8.2f}"
                          f"{f'({min(each):.2f}-{max(each):.2f})':>13}"
                          f"  >= {target} {'ok    ' if ok else 'MISSED'}"
                          f"{redis_cpu:>11.2f}{gyre_cpu:>8.2f}", flush=True)
    print(f"\n{failed} row(s) below target" if failed else "\nevery row meets its target")
    return 0


if __name__ == "__main__":
    sys.exit(main())
