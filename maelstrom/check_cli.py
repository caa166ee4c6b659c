"""``gyre check``: judge recorded histories with their own workload's checkers.

Strategy: validate every argument before checking anything (a nonexistent
path, a folder with no histories, bad ``--initial`` JSON or a bad option all
exit 254 with one line on stderr, like Maelstrom's bad-arguments code,
instead of click's usage code 2, which here means "unknown"). Then, per
history:

1. **Which workload.** ``--workload`` if given; else the ``workload`` of the
   run's ``test.json`` beside the history (what ``gyre test`` writes); else
   lin-kv, Maelstrom's default workload. A ``--workload`` that contradicts
   ``test.json`` is an error: the run says what it was.
2. **Can its checker judge it?** `Workload.history_problem`: an empty
   history, one with no client operations, an ``f`` the workload does not
   have, or values of another workload's shape (a g-set read checked as a
   counter) make the history *uncheckable*, never a pass.
3. **The verdict** is the one ``gyre test`` gives a run: the workload's own
   checker (the very object ``gyre test`` uses), Jepsen's stats checker, and
   availability when the run asked for one, merged false > unknown > true.
   The txn workloads' Elle checkers hold a history to ``--consistency-models``,
   else the run's recorded models, else strict-serializable; their report
   lists the anomalies, the models ruled out and the first few anomalies in
   words.
   The network checker needs the live network and is not repeated (it is
   always valid).

A folder is searched recursively for files named ``history.jsonl``
(``--pattern`` picks another name or glob, e.g. ``'*.jsonl'`` for a folder of
recorded histories). Symbolic links inside it are not followed, so a store
tree's ``latest`` and ``current`` links do not check a run twice, and a file
named twice on the command line is checked once.

Exit code, worst first: 1 some history is invalid; 254 some history could
not be checked (or bad arguments); 2 some verdict is unknown (time limit);
0 every history is valid. Invalid outranks uncheckable because a violation
found is a fact about the system that an unreadable neighbour must not hide;
uncheckable outranks unknown because it is not even an attempt. Every
history's own verdict is printed either way.
"""

from __future__ import annotations

import fnmatch
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import click
import orjson

from maelstrom.elle import ElleError, UnknownModel
from maelstrom.history import HistoryError
from maelstrom.models import MODEL_NAMES, SEMANTICS, ModelError
from maelstrom.store import HISTORY_FILE, TEST_FILE, read_history
from maelstrom.verdict import explain, key_name
from maelstrom.workloads import Workload, WorkloadOpts, get_workload, workload_names
from maelstrom.workloads.common import availability_checker, merge_valid, stats_checker
from maelstrom.workloads.txn import CONSISTENCY_MODELS_DEFAULT, parse_consistency_models

EXIT_VALID: Final[int] = 0
EXIT_INVALID: Final[int] = 1
EXIT_UNKNOWN: Final[int] = 2
EXIT_BAD_ARGS: Final[int] = 254
#: The workload of a history with no test.json beside it and no --workload.
DEFAULT_WORKLOAD: Final[str] = "lin-kv"
#: Lines of the longest linearizable prefix shown in the human report (its tail).
PREFIX_SHOWN_MAX: Final[int] = 20
#: Keys listed by name in the human report, at most.
KEYS_SHOWN_MAX: Final[int] = 20
#: Elle explanations shown in the human report of a txn history, at most.
EXPLANATIONS_SHOWN_MAX: Final[int] = 5
#: The workloads checked by Elle (``--consistency-models`` applies to them).
TXN_WORKLOADS: Final[tuple[str, ...]] = ("txn-list-append", "txn-rw-register")


class BadArguments(click.ClickException):
    """Bad command-line arguments: exit 254 with a one-line message."""

    exit_code = EXIT_BAD_ARGS


class Uncheckable(ValueError):
    """A history that no checker can judge (reported, exit 254, never a pass)."""


class _Command(click.Command):
    """A click command whose usage errors exit 254 (2 means "unknown" here)."""

    def make_context(self, info_name: str | None, args: list[str],
                     parent: click.Context | None = None, **extra: Any) -> click.Context:
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except click.UsageError as exc:
            raise BadArguments(exc.format_message()) from None


# -- which files ----------------------------------------------------------------------


def _walk(top: Path, pattern: str) -> list[Path]:
    """Files under ``top`` whose name matches ``pattern``; symlinks are not followed."""
    found: list[Path] = []
    for dirpath, _, filenames in os.walk(top, followlinks=False):
        for name in filenames:
            p = Path(dirpath) / name
            if fnmatch.fnmatchcase(name, pattern) and not p.is_symlink():
                found.append(p)
    return sorted(found)


def collect_files(paths: tuple[str, ...], pattern: str = HISTORY_FILE) -> list[Path]:
    """Expand the arguments: files as given, folders to their histories (recursive, sorted).

    A file reached twice (named twice, or through a symlink given as an
    argument) is kept once.

    Raises:
        BadArguments: A path does not exist, or a folder holds no file named ``pattern``.
    """
    files: list[Path] = []
    seen: set[str] = set()
    for arg in paths:
        p = Path(arg)
        if p.is_dir():
            found = _walk(p, pattern)
            if not found:
                raise BadArguments(f"no {pattern} under {arg} (a run directory holds "
                                   f"{HISTORY_FILE}; --pattern picks other names)")
        elif p.exists():
            found = [p]
        else:
            raise BadArguments(f"no such file or directory: {arg}")
        for f in found:
            real = os.path.realpath(f)
            if real not in seen:
                seen.add(real)
                files.append(f)
    return files


# -- one history ------------------------------------------------------------------------


@dataclass
class Options:
    """What the command line says about every history."""

    workload: str | None = None
    semantics: str | None = None
    model: str | None = None
    initial: Any = None
    initial_given: bool = False
    time_limit_s: float | None = None
    consistency_models: tuple[str, ...] | None = None


@dataclass
class Checked:
    """One history's verdict."""

    path: Path
    workload: str
    semantics: str
    run: Path | None
    results: dict[str, Any]
    valid: Any
    lines: list[str] = field(default_factory=list)


def _run_config(path: Path) -> tuple[Path | None, dict[str, Any]]:
    """The run directory and its ``test.json`` (empty when the history has none beside it)."""
    test_json = path.parent / TEST_FILE
    if not test_json.is_file():
        return None, {}
    try:
        cfg = orjson.loads(test_json.read_bytes())
    except (OSError, orjson.JSONDecodeError) as exc:
        raise Uncheckable(f"{test_json} cannot be read ({exc}), so the workload is unknown; "
                          f"name it with --workload") from None
    if not isinstance(cfg, dict):
        raise Uncheckable(f"{test_json} is not a JSON object; name the workload with --workload")
    return path.parent, cfg


def _workload(path: Path, opts: Options, cfg: dict[str, Any]) -> tuple[Workload, str]:
    recorded = cfg.get("workload")
    if recorded is not None and recorded not in workload_names():
        raise Uncheckable(f"its run's {TEST_FILE} names workload {recorded!r}, which gyre check "
                          f"does not know ({', '.join(workload_names())})")
    if opts.workload is not None and recorded is not None and opts.workload != recorded:
        raise Uncheckable(f"it was recorded by a {recorded} run ({path.parent / TEST_FILE}), not "
                          f"{opts.workload}; drop --workload to check it as {recorded}")
    name = opts.workload or recorded or DEFAULT_WORKLOAD
    if name != "lin-kv" and (opts.model is not None or opts.initial_given):
        raise Uncheckable(f"--model and --initial apply to lin-kv histories; this one is {name}")
    if name not in TXN_WORKLOADS and opts.consistency_models is not None:
        raise Uncheckable(f"--consistency-models applies to {' and '.join(TXN_WORKLOADS)} "
                          f"histories; this one is {name}")
    models = CONSISTENCY_MODELS_DEFAULT
    if name in TXN_WORKLOADS:
        models = opts.consistency_models or _recorded_models(cfg) or models
    semantics = opts.semantics or cfg.get("semantics") or "strict"
    if semantics not in SEMANTICS:
        raise Uncheckable(f"its run's {TEST_FILE} names semantics {semantics!r}")
    nodes = cfg.get("nodes")
    threads = cfg.get("concurrency-threads")
    wopts = WorkloadOpts(
        nodes=tuple(nodes) if isinstance(nodes, list) and nodes else ("n0",),
        concurrency=threads if isinstance(threads, int) and threads > 0 else 1,
        latency_ms=float(cfg.get("latency-ms") or 0.0),
        topology=str(cfg.get("topology") or "grid"),
        checker_time_limit_s=(opts.time_limit_s if opts.time_limit_s is not None
                              else cfg.get("checker-time-limit-s")),
        checker_clock=time.monotonic,
        semantics=semantics, lin_model=opts.model or "cas-register", lin_initial=opts.initial,
        consistency_models=models)
    return get_workload(name, wopts, validate=False), semantics


def _recorded_models(cfg: dict[str, Any]) -> tuple[str, ...] | None:
    """The run's ``consistency-models`` (validated), or None when it recorded none."""
    recorded = cfg.get("consistency-models")
    if recorded is None:
        return None
    if not (isinstance(recorded, list) and recorded and all(isinstance(m, str) for m in recorded)):
        raise Uncheckable(f"its run's {TEST_FILE} has consistency-models {recorded!r}, not a "
                          f"list of model names")
    try:
        return parse_consistency_models(",".join(recorded))
    except ValueError as exc:
        raise Uncheckable(f"its run's {TEST_FILE}: {exc}") from None


def check_one(path: Path, opts: Options) -> Checked:
    """Check one history file with its workload's checkers.

    Raises:
        Uncheckable: The history (or its run's test.json) cannot be judged.
    """
    run, cfg = _run_config(path)
    workload, semantics = _workload(path, opts, cfg)
    try:
        history = read_history(path)
    except HistoryError as exc:
        raise Uncheckable(str(exc)) from None
    problem = workload.history_problem(history)
    if problem is not None:
        raise Uncheckable(f"not a {workload.name} history: {problem}"
                          + ("" if opts.workload or cfg else
                             f" (no {TEST_FILE} beside it, so it was read as {DEFAULT_WORKLOAD}; "
                             f"name the workload with --workload)"))
    try:
        results: dict[str, Any] = {"workload": workload.check(history),
                                   "stats": stats_checker(history)}
    except (ModelError, ElleError, UnknownModel) as exc:
        raise Uncheckable(str(exc)) from None
    if cfg.get("availability") is not None:
        results["availability"] = availability_checker(history, cfg["availability"])
    valid = merge_valid(r["valid"] for r in results.values())
    results["valid"] = valid
    return Checked(path, workload.name, semantics, run, results, valid)


# -- reports ---------------------------------------------------------------------------------


def _verdict_word(valid: Any) -> str:
    return {True: "valid", False: "INVALID"}.get(valid, "unknown")


def _lin_word(valid: Any) -> str:
    return {True: "linearizable", False: "NOT linearizable"}.get(valid, "unknown")


def _fmt_ns(t: Any) -> str:
    return "∞" if t is None else f"{t / 1e6:.3f} ms"


def _op_line(op: dict[str, Any]) -> str:
    err = f" ({op['error']})" if op.get("error") is not None else ""
    return (f"index {op['index']:<6} p{op['process']!s:<5} {op['type']:<4} "
            f"{op['description']}{err}  [{_fmt_ns(op['call_time'])} .. {_fmt_ns(op['return_time'])}]")


def lin_kv_summary(res: dict[str, Any]) -> dict[str, Any]:
    """Totals over lin-kv's per-key results: seconds, ops, keys by verdict, first failure."""
    per_key = res.get("results", {})
    lins = [r["linearizable"] for r in per_key.values()]
    failure = None
    for k in res.get("failures", []):
        failure = per_key[str(k)]["linearizable"].get("failure")
        if failure:
            break
    return {
        "seconds": sum(x["seconds"] for x in lins),
        "op_count": sum(x["op_count"] for x in lins),
        "model": lins[0]["model"] if lins else None,
        "keys": {"checked": len(per_key),
                 "valid": sum(1 for r in per_key.values() if r["valid"] is True),
                 "invalid": list(res.get("failures", [])),
                 "unknown": [k for k, r in per_key.items() if r["valid"] not in (True, False)]},
        "failure": failure,
    }


def _lin_kv_lines(res: dict[str, Any]) -> list[str]:
    s = lin_kv_summary(res)
    keys = s["keys"]

    def names(ks: list[Any]) -> str:
        more = f" +{len(ks) - KEYS_SHOWN_MAX} more" if len(ks) > KEYS_SHOWN_MAX else ""
        return ", ".join(key_name(k) for k in ks[:KEYS_SHOWN_MAX]) + more

    parts = [f"{keys['checked']} checked", f"{keys['valid']} valid",
             f"{len(keys['invalid'])} invalid" + (f" ({names(keys['invalid'])})" if keys['invalid'] else ""),
             f"{len(keys['unknown'])} unknown" + (f" ({names(keys['unknown'])})" if keys['unknown'] else "")]
    lines = [f"lin-kv: {_lin_word(res['valid'])} ({s['seconds']:.3f} s, {s['op_count']} ops; "
             f"keys: {', '.join(parts)})"]
    f = s["failure"]
    if f:
        lines.append(f"{key_name(f['key'])}, where the search got stuck:")
        if f.get("op"):
            lines.append(f"  stuck at: {_op_line(f['op'])}")
        lines.append(f"  operations involved ({f['ops_total']}):")
        lines.extend(f"    {_op_line(op)}" for op in f["ops"])
        if f["ops_total"] > len(f["ops"]):
            lines.append(f"    ... {f['ops_total'] - len(f['ops'])} more")
        prefix = f["prefix"]
        lines.append(f"  longest linearizable prefix: {len(prefix)} ops"
                     + (f", value after it: {f['state']}" if f.get("state") is not None else ""))
        if len(prefix) > PREFIX_SHOWN_MAX:
            lines.append(f"    ... {len(prefix) - PREFIX_SHOWN_MAX} earlier ops")
        lines.extend(f"    {_op_line(op)}" for op in prefix[-PREFIX_SHOWN_MAX:])
    return lines


def _txn_lines(workload: str, res: dict[str, Any]) -> list[str]:
    lines = [f"{workload}: {_verdict_word(res['valid'])} ({res.get('ok_count', 0)} of "
             f"{res.get('txn_count', 0)} txns ok, {res.get('edge_count', 0)} edges, "
             f"{res.get('seconds', 0.0):.3f} s; models "
             f"{', '.join(res.get('consistency_models') or [])})"]
    types = res.get("anomaly_types") or []
    if types:
        counts = res.get("anomaly_counts") or {}
        lines.append("anomalies: " + ", ".join(f"{t} ×{counts.get(t, 1)}" for t in types))
    if res.get("not"):
        lines.append(f"not {', '.join(res['not'])}"
                     + (f"; also not {', '.join(res['also_not'])}" if res.get("also_not") else ""))
    explanations = res.get("explanations") or []
    lines.extend(f"  {x}" for x in explanations[:EXPLANATIONS_SHOWN_MAX])
    if len(explanations) > EXPLANATIONS_SHOWN_MAX:
        lines.append(f"  ... {len(explanations) - EXPLANATIONS_SHOWN_MAX} more anomaly types")
    return lines


def _workload_line(workload: str, res: dict[str, Any]) -> str:
    v = _verdict_word(res["valid"])
    if workload in ("g-set", "broadcast"):
        return (f"{workload}: {v} ({res['attempt-count']} attempted, {res['stable-count']} stable, "
                f"{res['lost-count']} lost, {res['never-read-count']} never read)")
    if workload in ("g-counter", "pn-counter"):
        reads = res["final-reads"]
        return (f"{workload}: {v} ({len(reads)} final reads; acceptable values "
                f"{', '.join(f'{lo}..{hi}' if lo != hi else str(lo) for lo, hi in res['acceptable'])})")
    if workload == "echo":
        return f"echo: {v} ({res['error-count']} wrong echoes)"
    if workload == "unique-ids":
        return (f"unique-ids: {v} ({res['attempted-count']} attempted, "
                f"{res['acknowledged-count']} acknowledged, {res['duplicated-count']} duplicated)")
    return f"{workload}: {v}"


def format_checked(c: Checked) -> str:
    """The human-readable report of one history's check."""
    where = f", run {c.run}" if c.run is not None else ""
    lines = [f"{c.path}: {_verdict_word(c.valid)} ({c.workload}, {c.semantics} reading{where})"]
    lines.extend(f"  {x}" for x in explain(c.workload, c.results))
    res = c.results["workload"]
    if c.workload == "lin-kv":
        body = _lin_kv_lines(res)
    elif c.workload in TXN_WORKLOADS:
        body = _txn_lines(c.workload, res)
    else:
        body = [_workload_line(c.workload, res)]
    lines.extend(f"  {x}" for x in body)
    others = [f"{n} {_verdict_word(r['valid'])}" for n, r in c.results.items()
              if n not in ("workload", "valid")]
    lines.append(f"  other checkers: {', '.join(others)}")
    return "\n".join(lines)


def json_checked(c: Checked) -> bytes:
    """One JSON line for one history's check."""
    obj: dict[str, Any] = {
        "file": str(c.path), "run": str(c.run) if c.run is not None else None,
        "workload": c.workload, "semantics": c.semantics, "valid": c.valid,
        "checkers": {n: r["valid"] for n, r in c.results.items() if n != "valid"},
        "explanation": explain(c.workload, c.results),
    }
    if c.workload == "lin-kv":
        obj.update(lin_kv_summary(c.results["workload"]))
    else:
        obj["result"] = c.results["workload"]
    return orjson.dumps(obj, option=orjson.OPT_NON_STR_KEYS, default=repr)


def exit_code(verdicts: list[Any], uncheckable: bool) -> int:
    """1 invalid > 254 uncheckable > 2 unknown > 0 valid (see the module docstring)."""
    if any(v is False for v in verdicts):
        return EXIT_INVALID
    if uncheckable:
        return EXIT_BAD_ARGS
    if any(v is not True for v in verdicts):
        return EXIT_UNKNOWN
    return EXIT_VALID


@click.command("check", cls=_Command)
@click.argument("paths", nargs=-1, required=True)
@click.option("-w", "--workload", type=click.Choice(workload_names()), default=None,
              help="The histories' workload (default: the run's test.json, else lin-kv).")
@click.option("--semantics", type=click.Choice(SEMANTICS), default=None,
              help="How lin-kv outcomes are read: strict (default; a failed cas with code "
                   "20/22 observed the key, a null read means absent) or knossos (Maelstrom's "
                   "verdicts: fails dropped, a null read matches any value).")
@click.option("--model", type=click.Choice(MODEL_NAMES), default=None,
              help="lin-kv only. cas-register (default): read/write/cas per key; kv: adds append.")
@click.option("--initial", "initial_json", default=None, metavar="JSON",
              help="lin-kv only. Every key's initial value as JSON (default: absent, i.e. null).")
@click.option("--consistency-models", default=None, metavar="MODEL,MODEL…",
              help="txn workloads only. Comma-separated Elle models the histories must satisfy "
                   "(default: the run's test.json, else strict-serializable).")
@click.option("--time-limit", type=float, default=None, metavar="S",
              help="Give up on a key (lin-kv) or on the cycle search (txn) after S seconds "
                   "(verdict unknown, exit 2).")
@click.option("--pattern", default=HISTORY_FILE, show_default=True, metavar="GLOB",
              help="Names of the files to check inside folders.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per history per line.")
def check(paths: tuple[str, ...], workload: str | None, semantics: str | None, model: str | None,
          initial_json: str | None, consistency_models: str | None, time_limit: float | None,
          pattern: str, as_json: bool) -> None:
    """Check recorded histories, or run directories and store trees, with their workload's checkers.

    The workload comes from --workload, else the run's test.json, else
    lin-kv. A history its checker cannot judge (empty, no client operation,
    an operation of another workload) is an error, never a pass. Exit
    status, worst first: 1 some history is invalid, 254 bad arguments or
    some history could not be checked, 2 some verdict is unknown (time
    limit), 0 all valid.
    """
    opts = Options(workload=workload, semantics=semantics, model=model,
                   initial_given=initial_json is not None)
    if initial_json is not None:
        try:
            opts.initial = orjson.loads(initial_json)
        except orjson.JSONDecodeError as exc:
            raise BadArguments(f"--initial is not valid JSON: {exc}") from None
    if consistency_models is not None:
        try:
            opts.consistency_models = parse_consistency_models(consistency_models)
        except ValueError as exc:
            raise BadArguments(f"--consistency-models: {exc}") from None
    if time_limit is not None and not (time_limit > 0 and math.isfinite(time_limit)):
        raise BadArguments(f"--time-limit must be a positive number of seconds, got {time_limit}")
    opts.time_limit_s = time_limit
    files = collect_files(paths, pattern)
    verdicts: list[Any] = []
    uncheckable = False
    for path in files:
        name = str(path)
        try:
            checked = check_one(path, opts)
        except Uncheckable as exc:
            uncheckable = True
            msg = str(exc) if str(exc).startswith(name) else f"{name}: {exc}"
            click.echo(f"Error: cannot check {msg}", err=True)
            if as_json:
                click.echo(orjson.dumps({"file": name, "valid": None, "error": msg}).decode())
            continue
        verdicts.append(checked.valid)
        click.echo(json_checked(checked).decode() if as_json else format_checked(checked))
    click.get_current_context().exit(exit_code(verdicts, uncheckable))


if __name__ == "__main__":
    check()
