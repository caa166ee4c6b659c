"""Shared builders for the simulator tests: a short simulated run's config and its result."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from maelstrom.harness import RunResult, TestConfig
from maelstrom.sim.driver import SimConfig, Simulation
from maelstrom.sim.trace import trace_hash

NODES = ("n0", "n1", "n2")


def sim_config(store: Path, workload: str, node: str = "single", mode: str = "eventual", *,
               seed: int = 1, time_limit: float = 3.0, rate: float = 50.0,
               nemesis: tuple[str, ...] = ("partition",), report: bool = False,
               liveness_bound_ms: int = 10_000, faults: tuple[str, ...] = (), swarm: bool = False,
               **test: Any) -> SimConfig:
    """A 3-node run with 10 ms latency and a fault every second or so."""
    opts: dict[str, Any] = dict(workload=workload, bin="sim", nodes=NODES, concurrency="2n",
                                time_limit_s=time_limit, rate=rate, latency_ms=10.0,
                                nemesis=nemesis, nemesis_interval_s=1.0, recovery_wait_s=3.0,
                                store_root=str(store), seed=seed)
    opts.update(test)
    return SimConfig(TestConfig(**opts), node, mode, report=report,
                     liveness_bound_ms=liveness_bound_ms, faults=faults, swarm=swarm)


def simulate(cfg: SimConfig, **kw: Any) -> tuple[RunResult, str]:
    """Run it; the result and its trace hash."""
    res = Simulation(cfg, io.StringIO(), **kw).run()
    assert res.store_path is not None
    return res, trace_hash(res.store_path)
