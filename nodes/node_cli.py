"""The node programs' command line: `node single` and `node replicated --mode ...`.

click parses, builds the node's config and calls `trio.run` on the stdio
driver; nothing else lives here. `node_group` is mounted by the `gyre` CLI;
`single_main` and `replicated_main` are the `gyre-node` and
`gyre-node-replicated` executables that Maelstrom's ``--bin`` runs. The
replicated node's mode comes from ``--mode`` or else the ``GYRE_MODE``
environment variable (default eventual); strong mode imports `nodes.strong`
only when asked for.
Logs go to stderr; stdout carries protocol messages only.
"""

from __future__ import annotations

import logging
import random
import secrets
import sys

import click
import trio

from nodes.workload_handlers import WORKLOADS

__all__ = ["node_group", "replicated_main", "single_main"]

LOG_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING,
              "error": logging.ERROR}
MODES = ("eventual", "causal", "strong")  # as nodes.replicated.MODES (not imported: startup time)
#: Exit code when the requested node kind is not available.
EXIT_NOT_BUILT = 1

_seed_option = click.option("--seed", type=int, default=None,
                            help="Seed of the node's RNG (default: random, logged).")
_log_option = click.option("--log-level", default="info", show_default=True,
                           type=click.Choice(sorted(LOG_LEVELS)), envvar="GYRE_LOG_LEVEL",
                           help="Verbosity of the stderr log.")


def _setup_logging(level: str) -> None:
    logging.basicConfig(stream=sys.stderr, level=LOG_LEVELS[level],
                        format="%(asctime)s %(levelname).1s %(name)s %(message)s")


def _seeded_rng(seed: int | None) -> tuple[random.Random, int]:
    chosen = secrets.randbits(63) if seed is None else seed
    return random.Random(chosen), chosen


@click.group("node", context_settings={"help_option_names": ["-h", "--help"]})
def node_group() -> None:
    """Maelstrom node programs: JSON lines on stdin, replies on stdout."""


@node_group.command("single")
@click.option("--workload", type=click.Choice(WORKLOADS), default="auto", show_default=True,
              envvar="GYRE_WORKLOAD",
              help="The workload to expect; 'auto' infers it from the traffic.")
@_seed_option
@_log_option
def single(workload: str, seed: int | None, log_level: str) -> None:
    """Every workload on one node's state (lin-kv on the Redis engine)."""
    from nodes.single import SingleConfig, SingleNode
    from nodes.stdio import run_stdio, wall_ms

    _setup_logging(log_level)
    rng, chosen = _seeded_rng(seed)
    logging.getLogger("gyre.node").info("single node: workload=%s seed=%d", workload, chosen)
    core = SingleNode(rng=rng, config=SingleConfig(workload=workload), now_ms=wall_ms())
    try:
        trio.run(run_stdio, core)
    except KeyboardInterrupt:
        sys.exit(130)


@node_group.command("replicated")
@click.option("--mode", type=click.Choice(MODES), default="eventual", show_default=True,
              envvar="GYRE_MODE", help="Consistency mode of the replicated keyspace.")
@click.option("--workload", type=click.Choice(WORKLOADS), default="auto", show_default=True,
              envvar="GYRE_WORKLOAD",
              help="The workload to expect; 'auto' infers it from the traffic.")
@_seed_option
@_log_option
def replicated(mode: str, workload: str, seed: int | None, log_level: str) -> None:
    """The replicated node (eventual | causal | strong; GYRE_MODE sets the default)."""
    from nodes.replicated import ReplicatedConfig, ReplicatedNode
    from nodes.stdio import run_stdio, wall_ms

    _setup_logging(log_level)
    rng, chosen = _seeded_rng(seed)
    logging.getLogger("gyre.node").info("replicated node: mode=%s workload=%s seed=%d", mode, workload, chosen)
    try:
        core = ReplicatedNode(rng=rng, config=ReplicatedConfig(mode=mode, workload=workload), now_ms=wall_ms())
    except ImportError as exc:  # strong mode before nodes/strong.py exists
        click.echo(f"gyre-node-replicated: mode {mode} is not available: {exc}", err=True)
        sys.exit(EXIT_NOT_BUILT)
    try:
        trio.run(run_stdio, core)
    except KeyboardInterrupt:
        sys.exit(130)


def single_main() -> None:
    """Entry point of the `gyre-node` executable."""
    single.main(prog_name="gyre-node")


def replicated_main() -> None:
    """Entry point of the `gyre-node-replicated` executable."""
    replicated.main(prog_name="gyre-node-replicated")


if __name__ == "__main__":
    node_group()
