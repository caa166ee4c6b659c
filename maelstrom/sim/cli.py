"""``gyre sim``: ``gyre test``'s options, run by the deterministic simulator.

Strategy: click parses; the options ``gyre test`` has are the very same
decorators and the same validation (`maelstrom.test_cli.COMMON_OPTIONS`,
`maelstrom.test_cli.build_config`), so a ``gyre test`` command line becomes
a simulation by changing the verb and replacing ``--bin PROGRAM`` with
``--node single|replicated`` (node ids keep ``-n NAME``, ``--nodes``,
``--node-count`` and ``--nodes-file``), plus ``--mode`` (default from
``GYRE_MODE``, else eventual). Then:

- ``--seed N`` runs one seed (a random one, printed, when absent);
  ``--test-count K`` runs N, N+1… stopping at the first non-valid one, as
  ``gyre test`` does; ``--seeds A..B`` runs every seed of the range, one
  summary line each and a total, keeping the store directory only of the
  seeds that did not pass (all of them with ``--store-all``);
- ``--check-determinism`` runs each seed twice and compares the SHA-256 of
  the message trace and history (`maelstrom.sim.trace`), printing where
  they first differ;
- ``--liveness-bound S``: the healed liveness phase's bound (see
  `maelstrom.sim.driver`; 0 skips the phase);
- ``--faults LIST``: the simulator's faults (`maelstrom.sim.faults`:
  partition, one-way, loss, duplicate, pause, crash, skew, buggify); the
  faults on are those of ``--faults`` and ``--nemesis`` together, with
  ``--nemesis-interval``, ``--loss-rate`` and ``--duplicate-rate`` as in
  ``gyre test``; ``--swarm`` lets each seed draw which of them are on and
  their settings. Each run prints its plan after its banner;
- a seed that does not pass prints one ``replay:`` line: the same command
  line with ``--seed N`` in place of the seed options (``--faults`` and
  ``--swarm`` stay: a swarm seed draws the same plan again).

Exit codes as ``gyre test``: 0 valid, 1 invalid, 2 unknown (also: a run
that was not deterministic), 254 bad arguments, 255 crash. Over several
seeds: 1 if any was invalid, else 255 if any crashed, else 2 if any was
unknown, else 0.
"""

from __future__ import annotations

import re
import shlex
import shutil
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, Final

import click

from maelstrom.harness import EXIT_CRASH, EXIT_INVALID, EXIT_UNKNOWN, EXIT_VALID, RunResult
from maelstrom.sim.driver import LIVENESS_BOUND_MS_DEFAULT, MODES, NODE_KINDS, SimConfig, Simulation
from maelstrom.sim.faults import SIM_FAULTS, parse_sim_faults
from maelstrom.sim.trace import first_difference, trace_hash
from maelstrom.test_cli import _Command, _usage_error, build_config, common_options

#: The options that pick seeds (the replay line replaces them with ``--seed N``) and the
#: node options (spelled out again in the replay line).
_SEED_OPTIONS: Final[dict[str, bool]] = {  # option -> takes a value
    "--seed": True, "--seeds": True, "--test-count": True,
    "--check-determinism": False, "--store-all": False, "--node": True, "--mode": True,
}
_SEEDS_RE: Final = re.compile(r"^\s*(-?\d+)\s*\.\.\s*(-?\d+)\s*$")
_VERDICT: Final[dict[int, str]] = {EXIT_VALID: "valid", EXIT_INVALID: "INVALID",
                                   EXIT_UNKNOWN: "unknown", EXIT_CRASH: "CRASHED"}


class _SimCommand(_Command):
    """Keeps the raw arguments (for the replay line); usage errors exit 254."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        ctx.meta["gyre_sim_args"] = list(args)
        return super().parse_args(ctx, args)


def parse_seeds(text: str) -> range:
    """``A..B`` (inclusive) as a range.

    Raises:
        ValueError: Not ``A..B`` with integers A <= B.
    """
    m = _SEEDS_RE.match(text)
    if m is None:
        raise ValueError(f"--seeds must be A..B (two integers), not {text!r}")
    a, b = int(m.group(1)), int(m.group(2))
    if b < a:
        raise ValueError(f"--seeds {text}: the range is empty (B < A)")
    return range(a, b + 1)


def replay_line(args: list[str], seed: int, node: str = "single", mode: str = "eventual") -> str:
    """The command line that re-runs exactly ``seed``: ``args`` without the seed options.

    The node and the mode are spelled out, so ``GYRE_MODE`` does not change the replay.
    """
    out: list[str] = []
    skip = False
    for a in args:
        if skip:
            skip = False
            continue
        name = a.split("=", 1)[0]
        if name in _SEED_OPTIONS:
            skip = _SEED_OPTIONS[name] and "=" not in a
            continue
        out.append(a)
    kind = ["--node", node] + (["--mode", mode] if node != "single" else [])
    return shlex.join(["gyre", "sim", *kind, *out, "--seed", str(seed)])


def combined_exit(codes: list[int]) -> int:
    """The exit status of several runs (see module doc)."""
    for code in (EXIT_INVALID, EXIT_CRASH, EXIT_UNKNOWN):
        if code in codes:
            return code
    return EXIT_VALID


def _drop_store(path: str | None, root: str) -> None:
    """Delete a passing run's directory and the ``latest`` links that pointed at it."""
    if path is None:
        return
    shutil.rmtree(path, ignore_errors=True)
    r = Path(root)
    for link in (r / "latest", r / "current", Path(path).parent / "latest"):
        if link.is_symlink() and not link.exists():
            try:
                link.unlink()
            except OSError:
                pass


def run_seed(sim: SimConfig, keep: bool | None = None) -> tuple[RunResult, str, float, float]:
    """One seed: the result, its trace hash, wall seconds and virtual seconds.

    Args:
        sim: The run.
        keep: None keeps the store (with its report); False deletes it when the
            run passed; True keeps it always.
    """
    cfg = sim if keep is None else replace(sim, report=False)
    t0 = time.perf_counter()
    s = Simulation(cfg, sys.stderr)
    res = s.run()
    wall = time.perf_counter() - t0
    digest = trace_hash(res.store_path) if res.store_path else ""
    passed = res.exit_code == EXIT_VALID
    if keep is not None:
        if passed and not keep:
            _drop_store(res.store_path, sim.test.store_root)
        elif res.results is not None:
            s.h.write_report(res.results, s.now)
    return res, digest, wall, s.now / 1000


@click.command("sim", cls=_SimCommand, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--node", "node_kind", type=click.Choice(NODE_KINDS), default="single",
              show_default=True, help="The node to simulate (in place of gyre test's --bin).")
@click.option("--mode", type=click.Choice(MODES), default="eventual", show_default=True,
              envvar="GYRE_MODE", help="Consistency mode of the replicated node.")
@click.option("-n", "node", multiple=True, metavar="NAME",
              help="A node's id; repeat for each node (gyre test's -n/--node; --node is the "
                   "node kind here).")
@common_options
@click.option("--liveness-bound", type=click.FloatRange(0), default=LIVENESS_BOUND_MS_DEFAULT / 1000,
              show_default=True,
              help="Workloads without a final phase: after the main phase every fault is lifted "
                   "and each node must answer a request ok within this many seconds (0: skip).")
@click.option("--seeds", default=None, metavar="A..B",
              help="Run every seed from A to B; a line each and a total.")
@click.option("--check-determinism", is_flag=True,
              help="Run each seed twice and compare the SHA-256 of message trace and history.")
@click.option("--store-all", is_flag=True,
              help="With --seeds: keep the store of passing seeds too (default: failing only).")
@click.option("--faults", "faults_spec", default=None, metavar="LIST",
              help=f"Comma list of simulator faults ({','.join(SIM_FAULTS)}); on together with "
                   "--nemesis's, timed by --nemesis-interval.")
@click.option("--swarm", is_flag=True,
              help="Swarm testing: each seed draws which faults (of --faults/--nemesis, or all) are "
                   "on and their rates.")
@click.pass_context
def sim_command(ctx: click.Context, node_kind: str, mode: str, test_count: int, seeds: str | None,
                check_determinism: bool, store_all: bool, liveness_bound: float,
                faults_spec: str | None, swarm: bool, **params: Any) -> None:
    """Run a Maelstrom workload against simulated nodes in virtual time.

    Every random choice derives from the seed, so a seed replays exactly.
    Exit status: 0 valid, 1 invalid, 2 unknown, 254 bad arguments, 255 crash.
    """
    if seeds is not None and params["seed"] is not None:
        raise _usage_error("give --seed or --seeds, not both")
    if seeds is not None and test_count != 1:
        raise _usage_error("give --test-count or --seeds, not both")
    try:
        faults = parse_sim_faults(faults_spec)
    except ValueError as exc:
        raise _usage_error(str(exc), "--faults") from None
    seed_range: range | None = None
    if seeds is not None:
        try:
            seed_range = parse_seeds(seeds)
        except ValueError as exc:
            raise _usage_error(str(exc), "--seeds") from None
        params["seed"] = seed_range.start
    test = build_config(f"gyre-sim:{node_kind}", (), **params)
    args: list[str] = ctx.meta.get("gyre_sim_args", [])
    base = SimConfig(test, node_kind, mode, liveness_bound_ms=int(round(liveness_bound * 1000)),
                     faults=faults, swarm=swarm)
    try:
        if seed_range is None:
            codes = _run_count(base, test_count, check_determinism, args)
        else:
            codes = _run_range(base, seed_range, check_determinism, store_all, args)
    except KeyboardInterrupt:
        sys.exit(EXIT_CRASH)
    sys.exit(combined_exit(codes))


def _describe(sim: SimConfig) -> str:
    t = sim.test
    return (f"node {sim.label()}, workload {t.workload}, nodes {','.join(t.nodes)}, concurrency "
            f"{t.concurrency}, rate {t.rate:g}/s, time limit {t.time_limit_s:g} s, latency "
            f"{t.latency_ms:g} ms {t.latency_dist}, nemesis {','.join(t.nemesis) or 'none'}"
            + (f", faults {','.join(sim.faults)}" if sim.faults else "")
            + (" (swarm: drawn per seed)" if sim.swarm else ""))


def _determinism(sim: SimConfig, first: RunResult, digest: str) -> bool:
    """Run ``sim`` again and compare; prints the outcome. True when identical."""
    again, digest2, _, _ = run_seed(sim, keep=True)
    seed = sim.test.seed
    if digest2 == digest:
        click.echo(f"determinism: seed {seed} gave the same trace twice (sha256 {digest})")
        _drop_store(again.store_path, sim.test.store_root)
        return True
    where = first_difference(first.store_path or "", again.store_path or "")
    click.echo(f"determinism: seed {seed} is NOT deterministic: sha256 {digest} then {digest2}; "
               f"{where or 'the stores differ outside the trace'} "
               f"(stores {first.store_path} and {again.store_path})")
    return False


def _run_count(base: SimConfig, count: int, check: bool, args: list[str]) -> list[int]:
    click.echo(f"seed {base.test.seed}: {_describe(base)}", err=True)
    codes: list[int] = []
    for i in range(count):
        sim = replace(base, test=replace(base.test, seed=base.test.seed + i))
        res, digest, wall, virtual = run_seed(sim, keep=True if check else None)
        click.echo(res.summary)
        click.echo(f"trace sha256 {digest}; {virtual:.1f} virtual s in {wall:.2f} wall s")
        code = res.exit_code
        if check and not _determinism(sim, res, digest) and code == EXIT_VALID:
            code = EXIT_UNKNOWN
        if res.exit_code != EXIT_VALID:
            click.echo(f"replay: {replay_line(args, sim.test.seed, sim.node, sim.mode)}")
        codes.append(code)
        if code != EXIT_VALID:
            break
    return codes


def _run_range(base: SimConfig, seeds: range, check: bool, store_all: bool,
               args: list[str]) -> list[int]:
    click.echo(f"seeds {seeds.start}..{seeds.stop - 1}: {_describe(base)}", err=True)
    codes: list[int] = []
    counts = {v: 0 for v in _VERDICT.values()}
    t0 = time.perf_counter()
    virtual_total = 0.0
    for seed in seeds:
        sim = replace(base, test=replace(base.test, seed=seed))
        res, digest, wall, virtual = run_seed(sim, keep=store_all or check)
        virtual_total += virtual
        verdict = _VERDICT.get(res.exit_code, f"exit {res.exit_code}")
        counts[verdict] = counts.get(verdict, 0) + 1
        click.echo(f"seed {seed}: {verdict}, {sum(_ops(res))} ops, {_msgs(res)} msgs, "
                   f"{virtual:.1f} virtual s in {wall:.2f} wall s, sha256 {digest[:16]}")
        code = res.exit_code
        if check:
            if not _determinism(sim, res, digest):
                if code == EXIT_VALID:
                    code = EXIT_UNKNOWN
            elif res.exit_code == EXIT_VALID and not store_all:
                _drop_store(res.store_path, base.test.store_root)
        if res.exit_code != EXIT_VALID:
            for line in res.summary.splitlines()[1:]:
                click.echo(f"  {line.strip()}")
            click.echo(f"  replay: {replay_line(args, seed, sim.node, sim.mode)}")
        codes.append(code)
    wall_total = time.perf_counter() - t0
    parts = ", ".join(f"{n} {v}" for v, n in counts.items() if n)
    click.echo(f"total: {len(codes)} seeds: {parts}; {virtual_total:.1f} virtual s in "
               f"{wall_total:.1f} wall s")
    return codes


def _ops(res: RunResult) -> list[int]:
    stats = (res.results or {}).get("stats", {})
    return [int(stats.get("count", 0) or 0)]


def _msgs(res: RunResult) -> Any:
    net = (res.results or {}).get("net", {})
    return net.get("all", {}).get("msg-count", "?")


__all__ = ["combined_exit", "parse_seeds", "replay_line", "run_seed", "sim_command"]