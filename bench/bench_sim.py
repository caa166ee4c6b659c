"""Speed of ``gyre sim``: wall seconds per seed and the ratio of virtual to wall time.

Strategy: the run the issue sets the target on (3 nodes, strong-mode lin-kv,
30 virtual seconds at rate 100, 10 ms latency, partitions), for a few seeds,
in one process (imports paid once, before the clock starts). Each seed is
timed three ways: the event loop with the nodes (until the history is
complete), the checkers and store (``finish`` without the report), and
``report.html``. Times are this process's CPU seconds (``time.process_time``:
one core, and not inflated by other processes sharing the machine); the
wall seconds of the whole seed are printed beside them. ``--profile`` adds
a cProfile of one seed, grouped by file.
No number here is asserted anywhere; the README quotes a run of it.

Run: ``.venv/bin/python -m bench.bench_sim [--seeds 1..5] [--profile]``.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from maelstrom.harness import TestConfig  # noqa: E402
from maelstrom.sim.cli import parse_seeds  # noqa: E402
from maelstrom.sim.driver import SimConfig, Simulation  # noqa: E402


def config(store: str, seed: int, time_limit: float) -> SimConfig:
    t = TestConfig(workload="lin-kv", bin="gyre-sim", nodes=("n0", "n1", "n2"), concurrency="2n",
                   time_limit_s=time_limit, rate=100.0, latency_ms=10.0, nemesis=("partition",),
                   store_root=store, seed=seed)
    return SimConfig(t, "replicated", "strong", report=False)


def one(store: str, seed: int, time_limit: float) -> tuple[float, float, float, float, float, str]:
    """CPU seconds of (loop, finish, report), wall seconds of loop + finish, virtual seconds
    and the first summary line."""
    sim = Simulation(config(store, seed, time_limit), io.StringIO())
    w0 = time.perf_counter()
    t0 = time.process_time()
    finish = sim.h.finish
    times: dict[str, float] = {}

    def timed_finish(*a: object, **kw: object) -> object:
        times["loop"] = time.process_time() - t0
        t1 = time.process_time()
        res = finish(*a, **kw)  # type: ignore[arg-type]
        times["finish"] = time.process_time() - t1
        return res

    sim.h.finish = timed_finish  # type: ignore[method-assign]
    res = sim.run()
    wall = time.perf_counter() - w0
    t2 = time.process_time()
    if res.results is not None:
        sim.h.write_report(res.results, sim.now)
    report = time.process_time() - t2
    return (times["loop"], times["finish"], report, wall, sim.now / 1000,
            res.summary.splitlines()[0])


def profile(store: str, seed: int, time_limit: float) -> None:
    prof = cProfile.Profile()
    sim = Simulation(config(store, seed, time_limit), io.StringIO())
    prof.enable()
    sim.run()
    prof.disable()
    st = pstats.Stats(prof)
    by_file: dict[str, float] = defaultdict(float)
    total = 0.0
    for (file, _, _), (_, _, tottime, _, _) in st.stats.items():  # type: ignore[attr-defined]
        key = file.split("/work/")[-1] if "site-packages" not in file else "site-packages"
        parts = Path(key).parts
        key = "/".join(parts[-2:]) if len(parts) >= 2 else key
        by_file[key] += tottime
        total += tottime
    print(f"\nprofile of seed {seed} (own time by file, {total:.2f} s under the profiler):")
    for key, t in sorted(by_file.items(), key=lambda kv: -kv[1])[:15]:
        print(f"  {t:6.2f} s {100 * t / total:5.1f}%  {key}")
    out = io.StringIO()
    pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(15)
    print(out.getvalue())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="1..5", help="seed range A..B")
    ap.add_argument("--time-limit", type=float, default=30.0, help="virtual seconds of the main phase")
    ap.add_argument("--profile", action="store_true", help="also profile the first seed")
    args = ap.parse_args()
    seeds = parse_seeds(args.seeds)
    with tempfile.TemporaryDirectory(prefix="bench-sim-") as store:
        one(store, seeds.start, 2.0)  # warm-up: lazy imports, caches
        print(f"3-node strong lin-kv, {args.time_limit:g} virtual s at rate 100, latency 10 ms, "
              f"partitions")
        print(f"{'seed':>6} {'loop':>6} {'check':>6} {'cpu s':>6} {'wall s':>7} {'report':>7} "
              f"{'virtual/cpu':>11}  summary")
        cpus: list[float] = []
        for seed in seeds:
            loop, fin, report, wall, virtual, head = one(store, seed, args.time_limit)
            cpu = loop + fin
            cpus.append(cpu)
            print(f"{seed:>6} {loop:6.2f} {fin:6.2f} {cpu:6.2f} {wall:7.2f} {report:7.2f} "
                  f"{virtual / cpu:10.1f}x  {head[head.find(':') + 2:][:60]}")
        cpus.sort()
        print(f"median {cpus[len(cpus) // 2]:.2f} CPU s per seed (loop + check, no report); "
              f"target 1 s, aim 0.5 s")
        if args.profile:
            profile(store, seeds.start, args.time_limit)


if __name__ == "__main__":
    main()
