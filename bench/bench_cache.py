"""make bench-cache: the quality of eviction, gyre serve beside Debian's redis-server.

A cache-aside workload: GET a key drawn from a Zipf distribution (exponent
`--zipf`, ranks shuffled over the key space so hot keys are spread); on a
miss, SET it (a 100-byte value). The key space is ten times what maxmemory
holds. Each server's maxmemory is calibrated so that it holds about the same
number of keys in steady state (see `calibrate`). The same request sequence
(one seed) then runs against each server, for allkeys-lru and allkeys-lfu.

Printed per policy and server: the hit ratio (after the first tenth of the
requests, the warm-up), requests/s (GETs and SETs, pipelined in batches of
`BATCH` by one Python client pinned to the other core: the client is part of
the figure), keys held at the end, RSS and maxmemory. The target: gyrekv's hit
ratio within 0.02 of Redis's, or better.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from itertools import accumulate

from bench.memory_fill import Client, rss_bytes
from bench.servers import SERVER_CORE, pin, server_process
from tests.helpers import GYRE_READY_TEXT, free_port

BATCH = 100
VALUE = b"v" * 100
WARMUP_SHARE = 0.1
CALIBRATION_SHARE = 0.25
HIT_RATIO_MARGIN = 0.02
POLICIES = ("allkeys-lru", "allkeys-lfu")


def zipf_requests(keys: int, requests: int, exponent: float, seed: int) -> list[int]:
    """`requests` key numbers, Zipf-distributed over `keys` ranks in a shuffled order."""
    rng = random.Random(seed)
    cum = list(accumulate(1.0 / (rank ** exponent) for rank in range(1, keys + 1)))
    ranks = rng.choices(range(keys), cum_weights=cum, k=requests)
    order = list(range(keys))
    rng.shuffle(order)
    return [order[r] for r in ranks]


def key_of(n: int) -> bytes:
    return b"key:%d" % n


def calibrate(client: Client, capacity: int, policy: str, requests: list[int]) -> int:
    """Set maxmemory so that this server holds about `capacity` keys while the workload runs.

    A first guess is what `capacity` freshly written keys take; the first
    `CALIBRATION_SHARE` of the requests then run under it, and the limit is
    scaled by capacity / keys held (once more if still off by over 2%): a
    server's tables carry more per key under churn than when freshly filled
    (gyrekv's dicts keep deleted slots until they resize), and it is the keys
    held in steady state that a hit ratio depends on.
    """
    client.call("CONFIG", "SET", "maxmemory", "0")
    client.call("CONFIG", "SET", "maxmemory-policy", policy)
    client.call("FLUSHALL")
    before = int(client.info_memory()["used_memory"])
    for start in range(0, capacity, 1000):
        client.pipeline([[b"SET", key_of(n), VALUE] for n in range(start, min(capacity, start + 1000))])
    limit = max(int(client.info_memory()["used_memory"]), before + 1)
    warm = requests[:int(len(requests) * CALIBRATION_SHARE)]
    for _ in range(3):
        client.call("FLUSHALL")
        client.call("CONFIG", "SET", "maxmemory", str(limit))
        run_workload(client, warm)
        held = int(client.call("DBSIZE")[1:])
        if abs(held / capacity - 1) <= 0.02:
            break
        limit = int(limit * capacity / held)
    client.call("FLUSHALL")
    client.call("CONFIG", "SET", "maxmemory", str(limit))
    client.call("CONFIG", "RESETSTAT")
    return limit


def run_workload(client: Client, requests: list[int]) -> tuple[float, float, int]:
    """(hit ratio after warm-up, requests/s, requests sent)."""
    warmup = int(len(requests) * WARMUP_SHARE)
    hits = gets = sent = 0
    start = time.perf_counter()
    for i in range(0, len(requests), BATCH):
        batch = requests[i:i + BATCH]
        replies = client.pipeline([[b"GET", key_of(n)] for n in batch])
        misses = [n for n, r in zip(batch, replies, strict=True) if r == b"$-1"]
        sent += len(batch) + len(misses)
        if misses:
            for reply in client.pipeline([[b"SET", key_of(n), VALUE] for n in misses]):
                if reply != b"+OK":
                    raise RuntimeError(f"SET refused: {reply!r}")
        if i >= warmup:
            gets += len(batch)
            hits += len(batch) - len(misses)
    elapsed = time.perf_counter() - start
    return hits / gets, sent / elapsed, sent


@contextmanager
def started(name: str) -> Iterator[tuple[int, int]]:
    """A fresh server (redis or gyrekv) pinned to the server core: (port, pid)."""
    port = free_port()
    with tempfile.TemporaryDirectory() as workdir:
        if name == "redis":
            argv = ["redis-server", "--port", str(port), "--save", "", "--appendonly", "no",
                    "--dir", workdir, "--logfile", ""]
            ready = "Ready to accept connections"
        else:
            argv = [sys.executable, "-m", "nodes.gyre_cli", "serve", "--port", str(port)]
            ready = GYRE_READY_TEXT
        with server_process([*pin(SERVER_CORE), *argv], ready) as proc:
            yield port, proc.pid


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a smaller run (about a minute)")
    parser.add_argument("--requests", type=int, default=2_000_000, help="GETs per policy and server")
    parser.add_argument("--capacity", type=int, default=100_000, help="keys maxmemory is sized for")
    parser.add_argument("--zipf", type=float, default=1.0, help="Zipf exponent")
    parser.add_argument("--seed", type=int, default=1)
    opts = parser.parse_args()
    if shutil.which("redis-server") is None:
        print("bench-cache: redis-server is not installed (make redis-tools as root)", file=sys.stderr)
        return 1
    requests_n, capacity = opts.requests, opts.capacity
    if opts.quick:
        requests_n, capacity = 300_000, 20_000
    keys = 10 * capacity
    requests = zipf_requests(keys, requests_n, opts.zipf, opts.seed)
    print(f"{requests_n:,} GETs (SET on a miss), Zipf {opts.zipf} over {keys:,} keys; "
          f"maxmemory sized for {capacity:,} keys of {len(VALUE)} bytes")
    print(f"{'policy':<13}{'server':<8}{'hit ratio':>10}{'req/s':>10}{'keys held':>11}"
          f"{'maxmemory':>12}{'RSS':>10}{'RSS-idle':>10}{'(RSS-idle)/maxmem':>19}")
    failed = 0
    for policy in POLICIES:
        ratios = {}
        for name in ("redis", "gyrekv"):
            with started(name) as (port, _):  # calibrated on one process...
                client = Client(port)
                limit = calibrate(client, capacity, policy, requests)
                client.close()
            with started(name) as (port, pid):  # ...measured on a fresh one: its RSS is this run's
                client = Client(port)
                idle = rss_bytes(pid)
                client.call("CONFIG", "SET", "maxmemory-policy", policy)
                client.call("CONFIG", "SET", "maxmemory", str(limit))
                ratio, rate, _ = run_workload(client, requests)
                held = int(client.call("DBSIZE")[1:])
                rss = rss_bytes(pid)
                client.close()
            ratios[name] = ratio
            print(f"{policy:<13}{name:<8}{ratio:>10.4f}{rate:>10,.0f}{held:>11,}"
                  f"{limit / 2**20:>10.1f}MB{rss / 2**20:>8.1f}MB{(rss - idle) / 2**20:>8.1f}MB"
                  f"{(rss - idle) / limit:>19.2f}", flush=True)
        delta = ratios["gyrekv"] - ratios["redis"]
        ok = delta >= -HIT_RATIO_MARGIN
        failed += not ok
        print(f"{policy:<13}gyrekv - redis hit ratio: {delta:+.4f} "
              f"(target >= -{HIT_RATIO_MARGIN}) {'ok' if ok else 'MISSED'}", flush=True)
    print("(RSS-idle: the RSS at the end less the same process's when idle: the interpreter and "
          "code for gyrekv)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
