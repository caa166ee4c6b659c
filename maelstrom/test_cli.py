"""``gyre test``: Maelstrom's ``test`` command, options and exit codes.

Strategy: click parses and validates, builds a `TestConfig` and hands it to
`maelstrom.runner.run_tests`; nothing else lives here. Exit codes follow
Maelstrom: 0 valid, 1 invalid, 2 unknown, 254 bad arguments (click's usage
errors are remapped from 2), 255 crash. A one-paragraph summary goes to
stdout; progress and diagnoses to stderr.

The node options combine as Maelstrom combines them (`maelstrom.node_names`);
names that would make a run wrong (empty, twice, a client's or a service's
id, not a file name) are refused with exit 254, where Maelstrom checks none.

Beyond Maelstrom: ``--seed`` (printed first; every random choice derives
from it), the ``loss`` and ``duplicate`` nemeses with ``--loss-rate`` and
``--duplicate-rate``, ``--recovery-wait`` (Maelstrom sleeps 10 s), and
``--init-timeout``, ``--store``, ``--checker-time-limit`` and ``--semantics``
(``knossos`` reads lin-kv outcomes as Maelstrom does). ``--consistency-models``
takes ``a,b`` as well as Maelstrom's ``a , b``, and an unknown model name is
a bad argument (254), where Maelstrom passes it to Elle unchecked.
"""

from __future__ import annotations

import os
import random
import shutil
import sys
from collections.abc import Callable
from typing import Any

import click

from maelstrom.generator import parse_concurrency
from maelstrom.models import SEMANTICS
from maelstrom.nemesis import parse_faults
from maelstrom.net import LATENCY_DISTS
from maelstrom.node_names import node_names
from maelstrom.runner import (EXIT_BAD_ARGS, EXIT_CRASH, INIT_TIMEOUT_S_DEFAULT,
                              RECOVERY_WAIT_S_DEFAULT, TestConfig, run_tests)
from maelstrom.workloads import WorkloadError, get_workload, workload_names
from maelstrom.workloads.broadcast import TOPOLOGIES
from maelstrom.workloads.txn import (CONSISTENCY_MODELS_DEFAULT, MAX_TXN_LENGTH_DEFAULT,
                                     MAX_WRITES_PER_KEY_DEFAULT, parse_consistency_models)


class _Command(click.Command):
    """A click command whose usage errors exit 254, as Maelstrom's do."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as exc:
            exc.exit_code = EXIT_BAD_ARGS
            raise


def _usage_error(text: str, hint: str | None = None) -> click.UsageError:
    exc = click.BadParameter(text, param_hint=hint) if hint else click.UsageError(text)
    exc.exit_code = EXIT_BAD_ARGS
    return exc


def _availability(ctx: click.Context, param: click.Parameter, value: str | None) -> Any:
    if value is None:
        return None
    if value == "total":
        return "total"
    try:
        x = float(value)
    except ValueError:
        raise click.BadParameter("must be 'total' or a number between 0 and 1") from None
    if not 0.0 <= x <= 1.0:
        raise click.BadParameter("must be 'total' or a number between 0 and 1")
    return x


def _nemesis(ctx: click.Context, param: click.Parameter, value: str | None) -> tuple[str, ...]:
    try:
        return parse_faults(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def _models(ctx: click.Context, param: click.Parameter, value: str) -> tuple[str, ...]:
    try:
        return parse_consistency_models(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def _rate(ctx: click.Context, param: click.Parameter, value: float | None) -> float | None:
    if value is not None and not 0.0 <= value <= 1.0:
        raise click.BadParameter("must be between 0 and 1")
    return value


#: Every option ``gyre test`` and ``gyre sim`` share, with the same meaning and checks
#: (the node-id option ``-n``/``--node`` and ``--bin`` are the test command's own).
COMMON_OPTIONS: list[Callable[[Any], Any]] = [
    click.option("-w", "--workload", default="lin-kv", show_default=True,
                 type=click.Choice(workload_names()), help="What to test."),
    click.option("--node-count", type=click.IntRange(1), default=None,
                 help="Number of nodes, named n0…; overrides --nodes. With none of the node "
                      "options: n1…n5."),
    click.option("--nodes", default=None, metavar="NAME,NAME…",
                 help="Comma-separated node ids."),
    click.option("--nodes-file", default=None, type=click.File("r", encoding="utf-8"),
                 metavar="FILE", help="A file of node ids, one per line."),
    click.option("--concurrency", default="1n", show_default=True,
                 help="Client threads: an integer, or Kn for K × node count."),
    click.option("--time-limit", type=click.FloatRange(0, min_open=True), default=60.0,
                 show_default=True, help="Seconds of the main phase."),
    click.option("--rate", type=click.FloatRange(0), default=5.0, show_default=True,
                 help="Client ops per second, across all threads (0: none)."),
    click.option("--latency", type=click.FloatRange(0), default=0.0, show_default=True,
                 help="Mean node-to-node latency in ms."),
    click.option("--latency-dist", type=click.Choice(LATENCY_DISTS), default="constant",
                 show_default=True, help="Latency distribution."),
    click.option("--nemesis", default=None, callback=_nemesis,
                 help="Faults, comma-separated: partition (Maelstrom), loss, duplicate (ours)."),
    click.option("--nemesis-interval", type=click.FloatRange(0, min_open=True), default=10.0,
                 show_default=True, help="Mean seconds between fault starts and stops."),
    click.option("--topology", type=click.Choice(TOPOLOGIES), default="grid", show_default=True,
                 help="Broadcast topology."),
    click.option("--availability", default=None, callback=_availability,
                 help="Required ok fraction: 'total' or a number in [0, 1]."),
    click.option("--log-stderr", is_flag=True, help="Echo node stderr to the console."),
    click.option("--log-net-send", is_flag=True, help="Echo every message sent."),
    click.option("--log-net-recv", is_flag=True, help="Echo every message received."),
    click.option("--key-count", type=click.IntRange(1), default=None,
                 help="Active keys of the txn workloads (default: Elle's 10)."),
    click.option("--max-txn-length", type=click.IntRange(1), default=MAX_TXN_LENGTH_DEFAULT,
                 show_default=True, help="Longest transaction of the txn workloads."),
    click.option("--max-writes-per-key", type=click.IntRange(1),
                 default=MAX_WRITES_PER_KEY_DEFAULT, show_default=True,
                 help="Writes a txn key gets before the generator moves to a fresh key."),
    click.option("--consistency-models", default="strict-serializable", show_default=True,
                 callback=_models, metavar="MODEL,MODEL…",
                 help="Comma-separated Elle models the txn workloads' histories must satisfy "
                      "(e.g. serializable, snapshot-isolation, read-committed)."),
    click.option("--test-count", type=click.IntRange(1), default=1, show_default=True,
                 help="Run this many tests (seed, seed+1…), stopping at the first non-valid one."),
    click.option("--seed", type=int, default=None, help="Random seed (default: a random one, printed)."),
    click.option("--loss-rate", type=float, default=None, callback=_rate,
                 help="Node-to-node loss probability (while the loss nemesis is active, if used; "
                      "default 0.25 then, else 0)."),
    click.option("--duplicate-rate", type=float, default=None, callback=_rate,
                 help="Node-to-node duplication probability (like --loss-rate)."),
    click.option("--recovery-wait", type=click.FloatRange(0), default=RECOVERY_WAIT_S_DEFAULT,
                 show_default=True, help="Seconds between the final heal and the final reads."),
    click.option("--init-timeout", type=click.FloatRange(0, min_open=True),
                 default=INIT_TIMEOUT_S_DEFAULT, show_default=True,
                 help="Seconds each node has to answer init."),
    click.option("--checker-time-limit", type=click.FloatRange(0, min_open=True), default=None,
                 help="Seconds the linearizability checker may spend per key (unset: no limit)."),
    click.option("--semantics", type=click.Choice(SEMANTICS), default="strict", show_default=True,
                 help="How lin-kv's checker reads outcomes: strict (a failed cas with code 20/22 "
                      "observed the key; a null read means absent) or knossos (Maelstrom's: fails "
                      "dropped, a null read matches any value)."),
    click.option("--faithful-stdout", is_flag=True,
                 help="After a node's first bad stdout line, read nothing more from it, as "
                      "Maelstrom does (default: drop the line and go on)."),
    click.option("--store", "store_root", default="store", show_default=True,
                 type=click.Path(file_okay=False), help="Where run directories go."),
]


def build_config(bin_: str, bin_args: tuple[str, ...], *, workload: str,
                 node_count: int | None, node: tuple[str, ...], nodes: str | None,
                 nodes_file: Any, concurrency: str, time_limit: float, rate: float,
                 latency: float, latency_dist: str, nemesis: tuple[str, ...],
                 nemesis_interval: float, topology: str, availability: Any, log_stderr: bool,
                 log_net_send: bool, log_net_recv: bool, key_count: int | None,
                 seed: int | None, loss_rate: float | None, duplicate_rate: float | None,
                 recovery_wait: float, init_timeout: float, checker_time_limit: float | None,
                 semantics: str, faithful_stdout: bool, store_root: str,
                 max_txn_length: int = MAX_TXN_LENGTH_DEFAULT,
                 max_writes_per_key: int = MAX_WRITES_PER_KEY_DEFAULT,
                 consistency_models: tuple[str, ...] = CONSISTENCY_MODELS_DEFAULT) -> TestConfig:
    """The `TestConfig` of the shared options, validated as ``gyre test`` validates them.

    A missing seed is drawn at random here; the txn options default as on the command line.

    Raises:
        click.UsageError: Bad node names, concurrency or workload options (exit 254).
    """
    try:
        names = node_names(node_count, node, nodes,
                           nodes_file.read() if nodes_file is not None else None)
    except (ValueError, UnicodeDecodeError) as exc:
        raise _usage_error(str(exc)) from None
    if seed is None:
        seed = random.SystemRandom().randrange(2**31)
    cfg = TestConfig(
        workload=workload, bin=bin_, bin_args=bin_args, nodes=names,
        concurrency=concurrency, time_limit_s=time_limit, rate=rate, latency_ms=latency,
        latency_dist=latency_dist, nemesis=nemesis, nemesis_interval_s=nemesis_interval,
        topology=topology, availability=availability, log_stderr=log_stderr,
        log_net_send=log_net_send, log_net_recv=log_net_recv, key_count=key_count, seed=seed,
        loss_rate=loss_rate, duplicate_rate=duplicate_rate, recovery_wait_s=recovery_wait,
        init_timeout_s=init_timeout, store_root=store_root,
        checker_time_limit_s=checker_time_limit, faithful_stdout=faithful_stdout,
        semantics=semantics, consistency_models=consistency_models,
        max_txn_length=max_txn_length, max_writes_per_key=max_writes_per_key)
    try:
        parse_concurrency(concurrency, len(names))
        get_workload(workload, cfg.workload_opts())
    except (ValueError, WorkloadError) as exc:
        raise _usage_error(str(exc)) from None
    return cfg


def common_options(f: Any) -> Any:
    """Apply `COMMON_OPTIONS` to a click command function."""
    for opt in reversed(COMMON_OPTIONS):
        f = opt(f)
    return f


@click.command("test", cls=_Command,
               context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--bin", "bin_", required=True, metavar="PATH",
              help="The node program (any executable); extra arguments follow it.")
@click.option("-n", "--node", "node", multiple=True, metavar="NAME",
              help="A node's id; repeat for each node (replaces the default n1…n5).")
@common_options
@click.argument("bin_args", nargs=-1, type=click.UNPROCESSED)
def test_command(workload: str, bin_: str, node_count: int | None, node: tuple[str, ...],
                 nodes: str | None, nodes_file: Any, concurrency: str,
                 time_limit: float, rate: float, latency: float, latency_dist: str,
                 nemesis: tuple[str, ...], nemesis_interval: float, topology: str,
                 availability: Any, log_stderr: bool, log_net_send: bool, log_net_recv: bool,
                 key_count: int | None, max_txn_length: int, max_writes_per_key: int,
                 consistency_models: tuple[str, ...], test_count: int, seed: int | None,
                 loss_rate: float | None, duplicate_rate: float | None, recovery_wait: float,
                 init_timeout: float, checker_time_limit: float | None, semantics: str,
                 faithful_stdout: bool, store_root: str, bin_args: tuple[str, ...]) -> None:
    """Run a Maelstrom workload against real node processes and check the history.

    Arguments after the options are passed to the node program (put -- before
    any that start with a dash). Exit status: 0 valid, 1 invalid, 2 unknown,
    254 bad arguments, 255 crash.
    """
    path = shutil.which(bin_) if os.sep not in bin_ else bin_
    if path is None or not os.path.isfile(path):
        raise _usage_error(f"{bin_!r} does not exist", "--bin")
    if not os.access(path, os.X_OK):
        raise _usage_error(f"{bin_!r} is not executable (chmod +x it)", "--bin")
    cfg = build_config(os.path.abspath(path), bin_args, workload=workload, node_count=node_count,
                       node=node, nodes=nodes, nodes_file=nodes_file, concurrency=concurrency,
                       time_limit=time_limit, rate=rate, latency=latency,
                       latency_dist=latency_dist, nemesis=nemesis,
                       nemesis_interval=nemesis_interval, topology=topology,
                       availability=availability, log_stderr=log_stderr,
                       log_net_send=log_net_send, log_net_recv=log_net_recv, key_count=key_count,
                       max_txn_length=max_txn_length, max_writes_per_key=max_writes_per_key,
                       consistency_models=consistency_models, seed=seed, loss_rate=loss_rate,
                       duplicate_rate=duplicate_rate,
                       recovery_wait=recovery_wait, init_timeout=init_timeout,
                       checker_time_limit=checker_time_limit, semantics=semantics,
                       faithful_stdout=faithful_stdout, store_root=store_root)
    seed = cfg.seed
    click.echo(f"seed {seed}", err=True)
    try:
        results = run_tests(cfg, test_count, console=sys.stderr)
    except KeyboardInterrupt:
        sys.exit(EXIT_CRASH)
    last = results[-1]
    for r in results:
        click.echo(r.summary)
    sys.exit(last.exit_code)
