"""The grid of ``gyre compare``: which runs, and the options of each.

Strategy: a `Cell` is one point of the grid (workload, mode, node count,
fault); a `Knobs` holds the options every run shares. From the two and a
seed come the ``gyre sim`` argument list (for the replay line, through
`maelstrom.sim.cli.replay_line`) and the `TestConfig` (through
`maelstrom.test_cli.build_config`, the validation ``gyre sim`` and
``gyre test`` use), built from the same option values so the replay line
re-runs exactly the run that was measured. Pure: nothing here runs or
writes anything.
"""

from __future__ import annotations

import itertools
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from maelstrom.harness import INIT_TIMEOUT_S_DEFAULT, TestConfig
from maelstrom.sim.cli import replay_line
from maelstrom.sim.driver import MODES
from maelstrom.test_cli import build_config

#: The workloads compared, in report order.
WORKLOADS: Final[tuple[str, ...]] = ("lin-kv", "txn-list-append", "txn-rw-register", "kafka", "g-counter",
                                     "pn-counter", "g-set", "broadcast")
NODE_COUNTS: Final[tuple[int, ...]] = (3, 5)
#: Fault name -> the nemesis faults it turns on (``loss``: loss with duplication).
FAULT_NEMESIS: Final[dict[str, tuple[str, ...]]] = {
    "none": (), "partition": ("partition",), "loss": ("loss", "duplicate")}
FAULTS: Final[tuple[str, ...]] = tuple(FAULT_NEMESIS)
#: The default seeds: enough to catch eventual and causal lin-kv most of the time.
SEEDS_DEFAULT: Final[str] = "1..10"
#: Workloads whose checker judges linearizability (their anomalies are read from its failure).
LINEARIZABLE_WORKLOADS: Final[frozenset[str]] = frozenset({"lin-kv"})
#: Workloads that replicate by gossip or state pushes, whose convergence is measured.
CONVERGING_WORKLOADS: Final[frozenset[str]] = frozenset({"g-counter", "pn-counter", "g-set",
                                                         "broadcast"})


@dataclass(frozen=True, order=True)
class Cell:
    """One point of the grid: a row of the report."""

    workload: str
    mode: str
    node_count: int
    fault: str

    def label(self) -> str:
        return f"{self.workload} {self.mode} {self.node_count} nodes {self.fault}"


@dataclass(frozen=True)
class Knobs:
    """The options every run of the grid shares (``gyre sim``'s meanings and units).

    Attributes:
        time_limit_s: Length of the main phase.
        rate: Requests per second, over all clients.
        latency_ms: Node-to-node latency.
        nemesis_interval_s: Mean length of a faulty, and of a healed, period.
        recovery_wait_s: Quiet time between the heal and the final reads.
        concurrency: Client threads (``2n``: lin-kv needs a multiple of 2 × nodes).
    """

    time_limit_s: float = 10.0
    rate: float = 50.0
    latency_ms: float = 10.0
    nemesis_interval_s: float = 2.0
    recovery_wait_s: float = 5.0
    concurrency: str = "2n"


def expand(workloads: Sequence[str], modes: Sequence[str], node_counts: Sequence[int],
           faults: Sequence[str]) -> list[Cell]:
    """Every cell, in report order (workload, then mode, nodes, fault, in the orders given).

    Raises:
        ValueError: A name that is not a known workload, mode or fault, or a node count < 1.
    """
    for what, names, known in (("workload", workloads, WORKLOADS), ("mode", modes, MODES),
                               ("fault", faults, FAULTS)):
        bad = [n for n in names if n not in known]
        if bad:
            raise ValueError(f"unknown {what} {', '.join(map(repr, bad))}: "
                             f"choose from {', '.join(known)}")
    if any(n < 1 for n in node_counts):
        raise ValueError(f"node counts must be at least 1, not {list(node_counts)}")
    return [Cell(w, m, n, f) for w, m, n, f in itertools.product(workloads, modes, node_counts,
                                                                 faults)]


def _num(x: float) -> str:
    return f"{x:g}"


def sim_args(cell: Cell, knobs: Knobs) -> list[str]:
    """The ``gyre sim`` options of ``cell`` (without node kind, mode and seed)."""
    args = ["-w", cell.workload, "--node-count", str(cell.node_count), "--concurrency",
            knobs.concurrency, "--time-limit", _num(knobs.time_limit_s), "--rate",
            _num(knobs.rate), "--latency", _num(knobs.latency_ms)]
    nemesis = FAULT_NEMESIS[cell.fault]
    if nemesis:
        args += ["--nemesis", ",".join(nemesis)]
    return args + ["--nemesis-interval", _num(knobs.nemesis_interval_s), "--recovery-wait",
                   _num(knobs.recovery_wait_s)]


def sim_replay(cell: Cell, knobs: Knobs, seed: int) -> str:
    """The ``gyre sim ... --seed N`` line that re-runs this run exactly."""
    return replay_line(sim_args(cell, knobs), seed, "replicated", cell.mode)


def real_rerun(cell: Cell, knobs: Knobs, seed: int, node_bin: str) -> str:
    """The ``gyre test`` line of a real run (real time: it re-runs, it does not replay)."""
    return shlex.join(["gyre", "test", *sim_args(cell, knobs), "--bin", node_bin, "--seed",
                       str(seed), "--", *node_args(cell)])


def node_args(cell: Cell) -> list[str]:
    """The arguments of ``gyre-node-replicated`` for a real run (GYRE_MODE and GYRE_WORKLOAD's
    meaning, given on its command line so nothing depends on the environment)."""
    return ["--mode", cell.mode, "--workload", cell.workload]


def test_config(cell: Cell, knobs: Knobs, seed: int, store_root: str, bin_: str,
                bin_args: Sequence[str] = ()) -> TestConfig:
    """The `TestConfig` of one run, validated as ``gyre sim`` validates its options.

    Raises:
        click.UsageError: Options the workload cannot run with.
    """
    nemesis = FAULT_NEMESIS[cell.fault]
    return build_config(
        bin_, tuple(bin_args), workload=cell.workload, node_count=cell.node_count, node=(),
        nodes=None, nodes_file=None, concurrency=knobs.concurrency, time_limit=knobs.time_limit_s,
        rate=knobs.rate, latency=knobs.latency_ms, latency_dist="constant", nemesis=nemesis,
        nemesis_interval=knobs.nemesis_interval_s, topology="grid",
        availability=None, log_stderr=False, log_net_send=False, log_net_recv=False,
        key_count=None, seed=seed, loss_rate=None, duplicate_rate=None,
        recovery_wait=knobs.recovery_wait_s, init_timeout=INIT_TIMEOUT_S_DEFAULT, checker_time_limit=None,
        semantics="strict", faithful_stdout=False, store_root=store_root)
