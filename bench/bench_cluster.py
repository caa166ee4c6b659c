"""`make bench-cluster`: one server of a 3-node replicated cluster beside a single `gyre serve`.

For each mode, a 3-server cluster runs on loopback next to a single server
(all at once, measured in alternating rounds as `make bench` does): the
single server and the cluster's n1 are pinned to core 0, n2, n3 and
redis-benchmark to core 1, so the node under load has a core of its own as
on a real deployment, and its two peers share the other core with the load
generator (which is how much a 2-core machine allows). redis-benchmark
``-c 25`` SET and GET go to the single server and to n1, with one key (the
benchmark's default, on which the targets are read) and with random keys
(``-r 1000000``, the harder case, printed beside it); the ratio
cluster/single is what to read.

Strong mode's servers keep their acceptor state in a --dir each (fsynced
before every promise and accept, as deployed). Replication lag (eventual
and causal; a strong-mode read is a round on a majority, so it has none): while SET load runs on n1, a prober
writes a fresh key on n1 every few milliseconds (under each key pattern's SET load, right after that pattern's
throughput runs, so it does not inherit another pattern's backlog) and asks n2 for it again
until it is there; the lag is the time from n1's reply to the first read on
n2 that sees the value. p50 and p99 over the probes.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

import redis

from bench.bench_server import Load, row_figures, run_benchmark
from bench.servers import CLIENT_CORE, SERVER_CORE, pin, server_process
from tests.helpers import GYRE_READY_TEXT, free_port

TARGETS = {"eventual": 0.7, "causal": 0.5, "strong": 0.2}
LAG_P99_TARGET_MS = 50.0
# Two key patterns. redis-benchmark's default, one key for every request, is what the targets
# are read on; there replication coalesces (eventual: a batch stamps the key once; strong: the
# key's queued commands share a round). Random keys (-r 1000000) make every SET a key of its
# own, stamped and sent (eventual) or a round of its own with a fresh prepare (strong): the
# harder figure, printed beside it.
KEY_PATTERNS = {"1 key": (), "-r 1M": ("-r", "1000000")}
LOAD = Load("-c 25", ("-c", "25", "-n", "200000"), 0.0)
QUICK_LOAD = Load("-c 25", ("-c", "25", "-n", "20000"), 0.0)
PROBE_GAP_S = 0.005


@contextmanager
def single_server() -> Iterator[tuple[int, int]]:
    port = free_port()
    with server_process([*pin(SERVER_CORE), sys.executable, "-m", "nodes.gyre_cli", "serve",
                         "--port", str(port)], GYRE_READY_TEXT) as proc:
        yield port, proc.pid


@contextmanager
def cluster(mode: str) -> Iterator[list[tuple[int, int]]]:
    """Three servers in ``mode``; yields [(port, pid)] of n1, n2, n3."""
    ports = [free_port() for _ in range(3)]
    peer_ports = [free_port() for _ in range(3)]
    with ExitStack() as stack, tempfile.TemporaryDirectory() as data:
        out = []
        for i in range(3):
            peers = ",".join(f"n{j + 1}=127.0.0.1:{peer_ports[j]}" for j in range(3) if j != i)
            core = SERVER_CORE if i == 0 else CLIENT_CORE
            durable = ["--dir", f"{data}/n{i + 1}"] if mode == "strong" else []  # fsynced, as deployed
            proc = stack.enter_context(server_process(
                [*pin(core), sys.executable, "-m", "nodes.gyre_cli", "serve", "--port", str(ports[i]),
                 "--node-id", f"n{i + 1}", "--peer-port", str(peer_ports[i]), "--peers", peers,
                 "--mode", mode, *durable], GYRE_READY_TEXT))
            out.append((ports[i], proc.pid))
        for port, _ in out:  # past -LOADING
            client = redis.Redis(port=port)
            while True:
                try:
                    client.ping()
                    break
                except redis.exceptions.BusyLoadingError:
                    time.sleep(0.05)
        yield out


def probe_lag(writer_port: int, reader_port: int, stop: threading.Event, lags_ms: list[float]) -> None:
    w, r = redis.Redis(port=writer_port), redis.Redis(port=reader_port)
    i = 0
    while not stop.is_set():
        key, value = f"lag:{i}", str(i)
        w.set(key, value)
        written = time.perf_counter()
        deadline = written + 5.0
        while r.get(key) != value.encode():
            if time.perf_counter() > deadline:
                lags_ms.append(5000.0)
                break
        else:
            lags_ms.append((time.perf_counter() - written) * 1000)
        i += 1
        time.sleep(PROBE_GAP_S)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="10x fewer requests")
    parser.add_argument("--rounds", type=int, default=3, help="measurements per row (median)")
    parser.add_argument("--modes", default=",".join(TARGETS), help="modes to measure")
    parser.add_argument("--keys", default=",".join(KEY_PATTERNS), help="key patterns: '1 key', '-r 1M'")
    opts = parser.parse_args()
    if shutil.which("redis-benchmark") is None:
        print("bench-cluster: redis-benchmark is not installed (make redis-tools as root)", file=sys.stderr)
        return 1
    base = QUICK_LOAD if opts.quick else LOAD
    patterns = [p.strip() for p in opts.keys.split(",")]
    print(f"{'mode':<10}{'test':<8}{'keys':<7}{'single rps':>12}{'cluster rps':>13}{'ratio':>8}{'(range)':>13}"
          f"  target      cpu µs/req single n1   [{opts.rounds} round(s), -c 25, n1 of 3]")
    missed = 0
    with single_server() as (single_port, single_pid):
        for mode in opts.modes.split(","):
            with cluster(mode) as nodes:
                (n1_port, n1_pid), (n2_port, _), _ = nodes
                for pattern in patterns:
                    load = Load(base.label, base.args + KEY_PATTERNS[pattern], 0.0)
                    for test in ("set", "get"):
                        single: dict[str, list[tuple[float, float]]] = {}
                        ours: dict[str, list[tuple[float, float]]] = {}
                        failed = None
                        for r in range(opts.rounds):
                            order = ((single_port, single_pid, single), (n1_port, n1_pid, ours))
                            for port, pid, into in order if r % 2 == 0 else reversed(order):
                                try:
                                    measured_rows = run_benchmark(port, pid, load, test)
                                except subprocess.CalledProcessError as exc:  # it stops at an error reply
                                    failed = (exc.stderr or exc.stdout or "").strip().splitlines()[:1]
                                    break
                                for name, measured in measured_rows.items():
                                    into.setdefault(name, []).append(measured)
                            if failed is not None:
                                break
                        if failed is not None:
                            missed += pattern == "1 key"
                            print(f"{mode:<10}{test.upper():<8}{pattern:<7} redis-benchmark stopped: "
                                  f"{failed[0] if failed else 'no output'}", flush=True)
                            continue
                        for name, runs in single.items():
                            row = row_figures(runs, ours.get(name, [(0.0, 0.0)] * len(runs)))
                            judged = pattern == "1 key"  # the target's own benchmark (module doc)
                            ok = row.ratio >= TARGETS[mode]
                            missed += judged and not ok
                            verdict = ("ok    " if ok else "MISSED") if judged else "(info)"
                            print(f"{mode:<10}{name:<8}{pattern:<7}{row.redis_rps:>12,.0f}{row.gyre_rps:>13,.0f}"
                                  f"{row.ratio:>8.2f}{f'({row.lowest:.2f}-{row.highest:.2f})':>13}  >= "
                                  f"{TARGETS[mode]} {verdict}{row.redis_cpu:>12.2f}{row.gyre_cpu:>6.2f}",
                                  flush=True)
                    if mode == "strong":  # a read is a round on a majority: it sees every acknowledged write
                        continue
                    # Right after the pattern's own runs: a lag measured after the random-key runs
                    # would measure the backlog they left on the peers, not this pattern's lag.
                    stop = threading.Event()
                    lags: list[float] = []
                    prober = threading.Thread(target=probe_lag, args=(n1_port, n2_port, stop, lags))
                    prober.start()
                    run_benchmark(n1_port, n1_pid, Load(base.label, base.args + KEY_PATTERNS[pattern], 0.0), "set")
                    stop.set()
                    prober.join()
                    p50, p99 = statistics.median(lags), percentile(lags, 0.99)
                    judged = pattern == "1 key"
                    ok = p99 < LAG_P99_TARGET_MS
                    missed += judged and not ok
                    verdict = ("ok" if ok else "MISSED") if judged else "(info)"
                    print(f"{mode:<10}replication lag n1 -> n2 under SET load ({pattern}): p50 {p50:.1f} ms, "
                          f"p99 {p99:.1f} ms ({len(lags)} probes)  target p99 < {LAG_P99_TARGET_MS:.0f} ms "
                          f"{verdict}", flush=True)
    print(f"\n{missed} figure(s) below target" if missed else "\nevery figure meets its target")
    return 0


if __name__ == "__main__":
    sys.exit(main())
