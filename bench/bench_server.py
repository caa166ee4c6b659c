"""`make bench`: gyre serve and Debian's redis-server side by side under redis-benchmark.

Both servers run at once on free loopback ports, pinned to core 0 where
`taskset` exists, with redis-benchmark pinned to core 1. Each load is run on
one server and then the other, back to back, so the two figures of a round
share the machine's conditions; the ratio gyre/redis is what to read, since
absolute numbers on a shared machine are noise. With ``--rounds N`` every
row is measured N times, the order of the two servers alternating.

A row is judged by the median of its per-round ratios. Each round pairs the
two servers a few seconds apart, so a slow spell of the VM that spans the
round moves both figures and their ratio much less, and a spell that hits
only one of them makes an outlier that the median drops. The ratio of the two
servers' medians (also printed, "of medians") takes each median from whichever
rounds it lands in, so drift across the row's minute moves it (in one 9-round
LPOP row, 0.82 against a median round ratio of 0.96). The table also shows each
server's median requests/s, the lowest and highest round ratio, and each
server's CPU time (user + system, from /proc) per request, median over the
rounds: steadier than requests/s on a noisy machine, and what to read to see
where a row's time goes.
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
# The foundation's commands, then the collection types' (redis-benchmark's names), then
# ours: "evalsha" is an EVALSHA of a script that GETs its one key (see `evalsha_command`).
TESTS = "ping,set,get,incr,lpush,rpush,lpop,rpop,sadd,hset,spop,zadd,zpopmin,lrange_100,evalsha"
EVALSHA_ROW = "EVALSHA (one redis.call GET)"
EVALSHA_SCRIPT = b"return redis.call('GET', KEYS[1])"
EVALSHA_KEY = b"bench:evalsha"
# LRANGE_100 moves 100 elements a request: its target is lower; so does EVALSHA, whose
# script runs in Lua and crosses into Python for its redis.call (Redis's is all C).
# Pipelined, Redis's all-C script path pulls further ahead (target by (load, row) first).
TARGET_OVERRIDES: dict[object, float] = {"LRANGE_100 (first 100 elements)": 0.4, EVALSHA_ROW: 0.5,
                                         ("-c 50 -P 16", EVALSHA_ROW): 0.3}


def evalsha_command(port: int) -> list[str]:
    """Load the EVALSHA row's script and key on a server; the command line to benchmark."""
    import hashlib
    import socket

    sha = hashlib.sha1(EVALSHA_SCRIPT).hexdigest()
    with socket.create_connection(("127.0.0.1", port)) as sock:
        for argv in ([b"SCRIPT", b"LOAD", EVALSHA_SCRIPT], [b"SET", EVALSHA_KEY, b"x" * 3]):
            sock.sendall(b"*%d\r\n" % len(argv) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in argv))
            reply = b""
            while not reply.endswith(b"\r\n"):
                reply += sock.recv(4096)
            assert not reply.startswith(b"-"), reply
    return ["EVALSHA", sha, "1", EVALSHA_KEY.decode()]


@dataclass(frozen=True)
class RowFigures:
    """What the table says of one row, from its rounds' (requests/s, CPU µs a request)."""

    redis_rps: float  # medians over the rounds
    gyre_rps: float
    ratio: float  # the median of the per-round ratios gyre/redis: what the target judges
    lowest: float  # the lowest and highest per-round ratio
    highest: float
    of_medians: float  # gyre_rps / redis_rps, for comparison
    redis_cpu: float
    gyre_cpu: float


def row_figures(redis_runs: list[tuple[float, float]],
                gyre_runs: list[tuple[float, float]]) -> RowFigures:
    """Pair the i-th run of each server (one round) and summarise the row."""
    redis_rps = [rps for rps, _ in redis_runs]
    gyre_rps = [rps for rps, _ in gyre_runs]
    each = [g / t if t else 0.0 for g, t in zip(gyre_rps, redis_rps, strict=True)]
    redis_median = statistics.median(redis_rps)
    gyre_median = statistics.median(gyre_rps)
    return RowFigures(
        redis_rps=redis_median, gyre_rps=gyre_median, ratio=statistics.median(each),
        lowest=min(each), highest=max(each),
        of_medians=gyre_median / redis_median if redis_median else 0.0,
        redis_cpu=statistics.median(cpu for _, cpu in redis_runs),
        gyre_cpu=statistics.median(cpu for _, cpu in gyre_runs))


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
    custom = evalsha_command(port) if tests == "evalsha" else None
    selection = custom if custom is not None else ["-t", tests]
    before = cpu_seconds(pid)
    out = subprocess.run(
        [*pin(CLIENT_CORE), "redis-benchmark", "-p", str(port), "--csv", *load.args, *selection],
        capture_output=True, text=True, check=True,
    ).stdout
    used = cpu_seconds(pid) - before
    rows = [row for row in list(csv.reader(io.StringIO(out)))[1:] if len(row) > 1]
    if custom is not None:
        rows = [[EVALSHA_ROW, *row[1:]] for row in rows]
    requests = int(load.args[load.args.index("-n") + 1]) * max(1, len(rows))
    return {row[0]: (float(row[1]), 1e6 * used / requests) for row in rows}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="10x fewer requests")
    parser.add_argument("--tests", default=TESTS, help="redis-benchmark -t list")
    parser.add_argument("--rounds", type=int, default=5, help="measurements per row (median)")
    parser.add_argument("--gyre-args", default="", help="more gyre serve options, e.g. '--maxmemory 1gb'")
    opts = parser.parse_args()
    for tool in ("redis-server", "redis-benchmark"):
        if shutil.which(tool) is None:
            print(f"bench: {tool} is not installed (make redis-tools as root)", file=sys.stderr)
            return 1
    loads = QUICK_LOADS if opts.quick else LOADS
    rounds = max(1, opts.rounds)
    with both_servers(tuple(opts.gyre_args.split())) as ((gyre_port, gyre_pid), (redis_port, redis_pid)):
        # The interpreter matters (a build without PGO/LTO is ~20% slower): say which ran.
        print(f"gyre serve on Python {sys.version.split()[0]} ({os.path.realpath(sys.executable)})")
        print(f"{'load':<14}{'test':<34}{'redis rps':>12}{'gyre rps':>12}{'ratio':>8}"
              f"{'(range)':>13}{'of med.':>8}  target      {'cpu µs/req redis gyre':>21}"
              f"   [{rounds} round(s); ratio = median of the round ratios]")
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
                    row = row_figures(redis_runs, ours.get(name, [(0.0, 0.0)] * len(redis_runs)))
                    target = TARGET_OVERRIDES.get((load.label, name),
                                                  TARGET_OVERRIDES.get(name, load.target_ratio))
                    ok = row.ratio >= target
                    failed += not ok
                    print(f"{load.label:<14}{name:<34}{row.redis_rps:>12,.0f}{row.gyre_rps:>12,.0f}"
                          f"{row.ratio:>8.2f}{f'({row.lowest:.2f}-{row.highest:.2f})':>13}"
                          f"{row.of_medians:>8.2f}  >= {target} {'ok    ' if ok else 'MISSED'}"
                          f"{row.redis_cpu:>11.2f}{row.gyre_cpu:>8.2f}", flush=True)
    print(f"\n{failed} row(s) below target" if failed else "\nevery row meets its target")
    return 0


if __name__ == "__main__":
    sys.exit(main())
