"""``gyre compare``: the driver. Runs the grid, reads each run back, writes the report.

Strategy: click parses the grid options; `run_grid` runs every cell and
seed, one run at a time, through the simulator's public entry point
(`maelstrom.sim.driver.run_sim`, the replicated node in the cell's mode) or,
with ``--real``, through ``gyre test``'s (`maelstrom.runner.run_test`,
``gyre-node-replicated --mode M --workload W`` as real processes). Each run
writes its store under ``<out>/runs/`` as any run does; the driver reads
``results.json``'s dict, ``history.jsonl`` and (for the workloads whose
convergence is measured) ``messages.jsonl`` back, hands them to the pure
`maelstrom.compare.measure.measure_run`, and deletes the run directory
(``--keep-failing`` keeps those of the runs that did not pass). Then
`maelstrom.compare.aggregate` pools and `maelstrom.compare.render` renders;
this module writes ``compare.md``, ``compare.html`` and ``compare.json``
into ``--out`` (default ``<store>/compare/<timestamp>/``, with
``<store>/compare/latest`` pointing at it, as the store links runs).

Exit status: 0 when the report is written (invalid verdicts are findings,
not errors), 255 when some run crashed (a node raised: a bug to look at;
the report is written anyway), 254 bad arguments.
"""

from __future__ import annotations

import datetime as _dt
import io
import os
import platform
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import click
import orjson

from maelstrom.compare.aggregate import CellSummary, summarise
from maelstrom.compare.grid import (CONVERGING_WORKLOADS, FAULTS, NODE_COUNTS, SEEDS_DEFAULT,
                                    WORKLOADS, Cell, Knobs, expand, node_args, real_rerun,
                                    sim_replay, test_config)
from maelstrom.compare.measure import RunMeasure, measure_run
from maelstrom.compare.render import Meta, render_html, render_markdown
from maelstrom.harness import EXIT_CRASH, EXIT_VALID, RunResult
from maelstrom.history import History
from maelstrom.sim.cli import parse_seeds
from maelstrom.sim.driver import MODES, SimConfig, run_sim
from maelstrom.store import iter_messages, read_history, timestamp_name
from maelstrom.test_cli import _Command, _usage_error

COMPARE_DIR: Final[str] = "compare"
NODE_PROGRAM: Final[str] = "gyre-node-replicated"


@dataclass(frozen=True)
class GridRun:
    """Everything `run_grid` needs besides the cells."""

    seeds: range
    knobs: Knobs
    runs_root: Path
    real: bool = False
    node_bin: str = ""
    keep_failing: bool = False


def _split(text: str) -> list[str]:
    return [x.strip() for x in text.split(",") if x.strip()]


def _run_one(cell: Cell, seed: int, g: GridRun) -> RunMeasure:
    """One run, measured; its directory deleted unless kept."""
    console = io.StringIO()
    if g.real:
        from maelstrom.runner import run_test

        cfg = test_config(cell, g.knobs, seed, str(g.runs_root), g.node_bin, node_args(cell))
        res: RunResult = run_test(cfg, console)
        replay = real_rerun(cell, g.knobs, seed, NODE_PROGRAM)
    else:
        cfg = test_config(cell, g.knobs, seed, str(g.runs_root), "gyre-sim:replicated")
        res = run_sim(SimConfig(cfg, "replicated", cell.mode, report=False), console)
        replay = sim_replay(cell, g.knobs, seed)
    run_dir = Path(res.store_path) if res.store_path else None
    history_path = run_dir / "history.jsonl" if run_dir else None
    history = (read_history(history_path) if history_path is not None and history_path.exists()
               else History())
    converging = cell.workload in CONVERGING_WORKLOADS
    journal_path = run_dir / "messages.jsonl" if run_dir else None
    journal = (iter_messages(journal_path) if converging and journal_path is not None
               and journal_path.exists() else iter(()))
    m = measure_run(cell.workload, seed, res.exit_code, res.results, history, journal, cfg.nodes,
                    replay, crash=res.crash, converging=converging)
    if run_dir is not None and not (g.keep_failing and res.exit_code != EXIT_VALID):
        shutil.rmtree(run_dir, ignore_errors=True)
    return m


def run_grid(cells: Sequence[Cell], g: GridRun,
             progress: Callable[[Cell, list[RunMeasure], float], None] | None = None
             ) -> list[tuple[Cell, RunMeasure]]:
    """Run every cell over every seed; ``progress(cell, its runs, wall s)`` after each cell."""
    out: list[tuple[Cell, RunMeasure]] = []
    for cell in cells:
        t0 = time.perf_counter()
        runs = [_run_one(cell, seed, g) for seed in g.seeds]
        out.extend((cell, m) for m in runs)
        if progress is not None:
            progress(cell, runs, time.perf_counter() - t0)
    return out


def _tidy_runs_root(root: Path) -> None:
    """Remove the runs' store root when no run directory is left in it (only its links)."""
    if not root.is_dir():
        return
    for link in (root / "latest", root / "current"):
        if link.is_symlink() and not link.exists():
            link.unlink()
    for wl in list(root.iterdir()):
        if wl.is_dir() and not wl.is_symlink():
            latest = wl / "latest"
            if latest.is_symlink() and not latest.exists():
                latest.unlink()
            if not any(wl.iterdir()):
                wl.rmdir()
    if not any(root.iterdir()):
        root.rmdir()


def _link_latest(out: Path, parent: Path) -> None:
    link = parent / "latest"
    tmp = parent / f".latest.{os.getpid()}"
    try:
        if tmp.is_symlink():
            tmp.unlink()
        tmp.symlink_to(out.name)
        os.replace(tmp, link)
    except OSError:  # a filesystem without symlinks: the report is still written
        pass


def _machine() -> str:
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (f"{os.cpu_count()} cores ({platform.machine()}), {platform.system()}, Python "
            f"{platform.python_version()}, load average {load:.1f} at the start")


def write_report(out: Path, rows: Sequence[CellSummary], runs: Sequence[tuple[Cell, RunMeasure]],
                 meta: Meta) -> list[Path]:
    """Write compare.md, compare.html and compare.json into ``out``; returns their paths."""
    out.mkdir(parents=True, exist_ok=True)
    md, html_, js = out / "compare.md", out / "compare.html", out / "compare.json"
    md.write_text(render_markdown(rows, meta), encoding="utf-8")
    html_.write_text(render_html(rows, meta), encoding="utf-8")
    runs_json = [{**dict(cell.__dict__), **{k: v for k, v in m.to_json().items()
                                            if k != "latencies_ms"}} for cell, m in runs]
    js.write_bytes(orjson.dumps({"meta": dict(meta.__dict__), "rows": [r.to_json() for r in rows],
                                 "runs": runs_json}, option=orjson.OPT_INDENT_2))
    return [md, html_, js]


def _command_line(seeds: str, workloads: list[str], modes: list[str], counts: list[int],
                  faults: list[str], knobs: Knobs, real: bool) -> str:
    return (f"gyre compare --seeds {seeds} --workloads {','.join(workloads)} --modes "
            f"{','.join(modes)} --node-counts {','.join(map(str, counts))} --faults "
            f"{','.join(faults)} --time-limit {knobs.time_limit_s:g} --rate {knobs.rate:g} "
            f"--latency {knobs.latency_ms:g} --nemesis-interval {knobs.nemesis_interval_s:g} "
            f"--recovery-wait {knobs.recovery_wait_s:g}" + (" --real" if real else ""))


@click.command("compare", cls=_Command, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--seeds", default=SEEDS_DEFAULT, show_default=True, metavar="A..B",
              help="Seeds of every cell of the grid.")
@click.option("--workloads", default=",".join(WORKLOADS), show_default=True, metavar="W,W…")
@click.option("--modes", default=",".join(MODES), show_default=True, metavar="M,M…")
@click.option("--node-counts", default=",".join(map(str, NODE_COUNTS)), show_default=True,
              metavar="N,N…")
@click.option("--faults", default=",".join(FAULTS), show_default=True, metavar="F,F…",
              help="none, partition, loss (message loss with duplication).")
@click.option("--time-limit", type=click.FloatRange(0, min_open=True),
              default=Knobs.time_limit_s, show_default=True, help="Seconds of each run's main phase.")
@click.option("--rate", type=click.FloatRange(0, min_open=True), default=Knobs.rate,
              show_default=True, help="Requests per second.")
@click.option("--latency", type=click.FloatRange(0), default=Knobs.latency_ms, show_default=True,
              help="Node-to-node latency, ms.")
@click.option("--nemesis-interval", type=click.FloatRange(0, min_open=True),
              default=Knobs.nemesis_interval_s, show_default=True,
              help="Mean seconds of a faulty, and of a healed, period.")
@click.option("--recovery-wait", type=click.FloatRange(0), default=Knobs.recovery_wait_s,
              show_default=True, help="Seconds between the heal and the final reads.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=None,
              help="Where compare.md/.html/.json go (default: STORE/compare/<timestamp>/).")
@click.option("--store", "store_root", type=click.Path(file_okay=False), default="store",
              show_default=True, help="The store (the default --out is under it).")
@click.option("--real", is_flag=True,
              help="Real node processes through gyre test (real time: slow) instead of the "
                   "simulator.")
@click.option("--node-bin", default=None, metavar="PATH",
              help=f"With --real: the node program (default: {NODE_PROGRAM} beside this gyre).")
@click.option("--keep-failing", is_flag=True,
              help="Keep the run directories of the runs that did not pass (under OUT/runs).")
def compare_command(seeds: str, workloads: str, modes: str, node_counts: str, faults: str,
                    time_limit: float, rate: float, latency: float, nemesis_interval: float,
                    recovery_wait: float, out_dir: str | None, store_root: str, real: bool,
                    node_bin: str | None, keep_failing: bool) -> None:
    """Compare the consistency modes over a grid of workloads, node counts and faults.

    Writes compare.md and compare.html: per cell, the verdict over the seeds,
    the anomalies by kind with a replay line each, availability, latency,
    messages per request and time to converge. Exit status: 0 report written,
    255 some run crashed, 254 bad arguments.
    """
    try:
        seed_range = parse_seeds(seeds)
        counts = [int(x) for x in _split(node_counts)]
        wl, md, fl = _split(workloads), _split(modes), _split(faults)
        cells = expand(wl, md, counts, fl)
    except ValueError as exc:
        raise _usage_error(str(exc)) from None
    if not cells:
        raise _usage_error("the grid is empty")
    bin_path = ""
    if real:
        bin_path = node_bin or str(Path(sys.executable).with_name(NODE_PROGRAM))
        if not (os.path.isfile(bin_path) and os.access(bin_path, os.X_OK)):
            raise _usage_error(f"{bin_path!r} is not an executable node program", "--node-bin")
    knobs = Knobs(time_limit_s=time_limit, rate=rate, latency_ms=latency,
                  nemesis_interval_s=nemesis_interval, recovery_wait_s=recovery_wait)
    started = _dt.datetime.now().astimezone()
    parent = Path(store_root) / COMPARE_DIR
    out = Path(out_dir) if out_dir is not None else parent / timestamp_name(started)
    for cell in cells:  # the workloads' own checks of the options, before any run (exit 254)
        test_config(cell, knobs, seed_range.start, str(out / "runs"), "check")
    g = GridRun(seed_range, knobs, out / "runs", real, bin_path, keep_failing)
    click.echo(f"gyre compare: {len(cells)} cells × {len(seed_range)} seeds, "
               f"{'real processes' if real else 'simulator'}; report in {out}", err=True)
    t0 = time.perf_counter()

    def progress(cell: Cell, runs: list[RunMeasure], wall: float) -> None:
        valid = sum(r.verdict == "valid" for r in runs)
        kinds: dict[str, int] = {}
        for r in runs:
            if r.anomaly is not None:
                kinds[r.anomaly.kind] = kinds.get(r.anomaly.kind, 0) + 1
        found = ", ".join(f"{k} ×{n}" for k, n in kinds.items())
        click.echo(f"{cell.label()}: {valid}/{len(runs)} valid{'; ' + found if found else ''} "
                   f"({wall:.1f} s)", err=True)

    try:
        runs = run_grid(cells, g, progress)
    except KeyboardInterrupt:
        sys.exit(EXIT_CRASH)
    wall = time.perf_counter() - t0
    _tidy_runs_root(out / "runs")
    rows = summarise(runs, cells)
    meta = Meta(command=_command_line(seeds, wl, md, counts, fl, knobs, real),
                engine=("real node processes (gyre test), real time" if real
                        else "deterministic simulator (gyre sim), virtual time"),
                seeds=f"{seed_range.start}..{seed_range.stop - 1}",
                knobs=(f"{knobs.time_limit_s:g} s main phase, rate {knobs.rate:g}/s, latency "
                       f"{knobs.latency_ms:g} ms, concurrency {knobs.concurrency}, faults every "
                       f"{knobs.nemesis_interval_s:g} s on average, recovery wait "
                       f"{knobs.recovery_wait_s:g} s"),
                machine=_machine(), started=started.isoformat(timespec="seconds"), wall_s=wall,
                runs=len(runs), time_unit="ms" if real else "virtual ms",
                replay_title=("Re-run lines (real time: a re-run, not an exact replay)" if real
                              else "Replay lines"))
    paths = write_report(out, rows, runs, meta)
    if out_dir is None:
        _link_latest(out, parent)
    for p in paths:
        click.echo(str(p))
    crashed = sum(r.verdict == "crashed" for _, r in runs)
    click.echo(f"{len(runs)} runs in {wall:.1f} s", err=True)
    if crashed:
        click.echo(f"{crashed} runs crashed (see the replay lines in {paths[0]})", err=True)
        sys.exit(EXIT_CRASH)
    sys.exit(EXIT_VALID)


__all__ = ["GridRun", "compare_command", "run_grid", "write_report"]
