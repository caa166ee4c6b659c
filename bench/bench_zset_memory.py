"""Sorted-set memory and ZADD cost: gyre serve against Debian's redis-server.

Both servers run as real processes on free loopback ports. One sorted set is
filled with 1,000,000 members on each, through redis-py pipelines of 10,000
ZADD commands (one member each, as clients write them). Reported per server:
the RSS growth of the process (VmRSS from /proc/<pid>/status, before and
after) and, for Redis, the growth of INFO memory ``used_memory``. The target
is gyre's RSS growth <= 3x Redis's.

On the way, the cost of 10,000 more ZADDs of new members is timed (pipelined,
wall clock) when the set holds 10^4, 10^5 and 10^6 members: with O(log n)
inserts the time stays roughly flat as the set grows 100-fold.

Usage: ``python -m bench.bench_zset_memory [--members N] [--quick]``.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time

import redis

from bench.servers import both_servers

MEMBERS_DEFAULT = 1_000_000
PIPELINE_COMMANDS = 10_000
TIMED_ZADDS = 10_000
MEMORY_RATIO_TARGET = 3.0
# Flat enough: the 10^6 row may cost at most this many times the 10^4 row.
FLATNESS_TARGET = 3.0
KIB = 1024


def rss_bytes(pid: int) -> int:
    """Resident set size of a process, from /proc/<pid>/status VmRSS."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * KIB
    raise RuntimeError(f"no VmRSS for pid {pid}")


def _member(i: int) -> bytes:
    return b"member:%d" % i


def _score(i: int) -> int:
    # A scattered, repeatable score so inserts land all over the set, with ties.
    return (i * 7919) % 1_000_003


def fill(client: redis.Redis, key: str, start: int, stop: int) -> None:
    """ZADD members start..stop-1, one member per command, pipelined."""
    for base in range(start, stop, PIPELINE_COMMANDS):
        pipe = client.pipeline(transaction=False)
        for i in range(base, min(stop, base + PIPELINE_COMMANDS)):
            pipe.execute_command("ZADD", key, _score(i), _member(i))
        pipe.execute()


def timed_zadds(client: redis.Redis, key: str, start: int) -> float:
    """Seconds for TIMED_ZADDS pipelined ZADDs of new members."""
    t0 = time.perf_counter()
    fill(client, key, start, start + TIMED_ZADDS)
    return time.perf_counter() - t0


def measure(port: int, pid: int, members: int, is_redis: bool) -> dict[str, object]:
    """Fill one key with `members` members; time 10,000 more inserts at each checkpoint size."""
    client = redis.Redis(port=port)
    client.flushall()
    checkpoints = [n for n in (10_000, 100_000, 1_000_000) if n <= members]
    rss0 = rss_bytes(pid)
    used0 = int(client.info("memory")["used_memory"]) if is_redis else 0
    times: dict[int, float] = {}
    filled = 0
    for n in checkpoints:
        if n == members:
            break
        fill(client, "zbig", filled, n)
        times[n] = timed_zadds(client, "zbig", n)
        filled = n + TIMED_ZADDS
    fill(client, "zbig", filled, members)
    rss1 = rss_bytes(pid)
    used1 = int(client.info("memory")["used_memory"]) if is_redis else 0
    card = client.zcard("zbig")
    assert card == members, f"expected {members} members, found {card}"
    if members in checkpoints:
        times[members] = timed_zadds(client, "zbig", members)
    client.flushall()
    client.close()
    return {"rss": rss1 - rss0, "used": used1 - used0, "times": times}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, default=MEMBERS_DEFAULT)
    parser.add_argument("--quick", action="store_true", help="100,000 members")
    # `make bench` hands the same ARGS to bench_server, whose other options are not ours.
    opts, _ = parser.parse_known_args()
    members = 100_000 if opts.quick else opts.members
    if shutil.which("redis-server") is None:
        print("bench: redis-server is not installed (make redis-tools as root)", file=sys.stderr)
        return 1
    with both_servers() as ((gyre_port, gyre_pid), (redis_port, redis_pid)):
        theirs = measure(redis_port, redis_pid, members, True)
        ours = measure(gyre_port, gyre_pid, members, False)
    mb = 1e6
    ratio = ours["rss"] / theirs["rss"]  # type: ignore[operator]
    ratio_used = ours["rss"] / theirs["used"]  # type: ignore[operator]
    print(f"ZADD {members:,} members into one key (pipelines of {PIPELINE_COMMANDS:,})")
    print(f"{'':<28}{'redis':>12}{'gyre':>12}{'gyre/redis':>12}")
    print(f"{'RSS growth (MB)':<28}{theirs['rss'] / mb:>12.1f}{ours['rss'] / mb:>12.1f}{ratio:>12.2f}")  # type: ignore[operator]
    print(f"{'redis used_memory growth':<28}{theirs['used'] / mb:>12.1f}{'':>12}{ratio_used:>12.2f}")  # type: ignore[operator]
    print(f"{'bytes per member (RSS)':<28}{theirs['rss'] / members:>12.0f}{ours['rss'] / members:>12.0f}")  # type: ignore[operator]
    mem_ok = ratio <= MEMORY_RATIO_TARGET
    print(f"memory target gyre <= {MEMORY_RATIO_TARGET}x redis (RSS): {'ok' if mem_ok else 'MISSED'}")
    print(f"\n{TIMED_ZADDS:,} ZADDs of new members (pipelined), seconds")
    print(f"{'set size':<28}{'redis':>12}{'gyre':>12}")
    t_ours: dict[int, float] = ours["times"]  # type: ignore[assignment]
    t_theirs: dict[int, float] = theirs["times"]  # type: ignore[assignment]
    for n in t_ours:
        print(f"{n:<28,}{t_theirs[n]:>12.3f}{t_ours[n]:>12.3f}")
    sizes = sorted(t_ours)
    flat_ok = t_ours[sizes[-1]] <= FLATNESS_TARGET * t_ours[sizes[0]]
    print(f"flat within {FLATNESS_TARGET}x from {sizes[0]:,} to {sizes[-1]:,}: {'ok' if flat_ok else 'MISSED'}")
    return 0 if mem_ok and flat_ok else 1


if __name__ == "__main__":
    sys.exit(main())
