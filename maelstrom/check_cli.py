"""``gyre check``: the standalone linearizability checker for recorded histories.

Strategy: validate every argument before checking anything (a nonexistent
path, a folder with no histories, bad ``--initial`` JSON or a bad option all
exit 254 with one line on stderr, like Maelstrom's bad-arguments code, instead
of click's usage code 2, which here means "unknown"); then check each file in
turn with :func:`maelstrom.linearizable.check_history` and print a verdict per
file. The exit code merges the verdicts the way Maelstrom does: 1 if any
history is not linearizable, else 2 if any is unknown (time limit), else 0. A
file that cannot be read or interpreted is reported and makes the exit code
254.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Final

import click
import orjson

from maelstrom.history import History, HistoryError
from maelstrom.linearizable import check_history
from maelstrom.models import MODEL_NAMES, ModelError

EXIT_VALID: Final[int] = 0
EXIT_INVALID: Final[int] = 1
EXIT_UNKNOWN: Final[int] = 2
EXIT_BAD_ARGS: Final[int] = 254
#: Lines of the longest linearizable prefix shown in the human report (its tail).
PREFIX_SHOWN_MAX: Final[int] = 20
#: Keys listed by name in the human report, at most.
KEYS_SHOWN_MAX: Final[int] = 20


class BadArguments(click.ClickException):
    """Bad command-line arguments: exit 254 with a one-line message."""

    exit_code = EXIT_BAD_ARGS


class _Command(click.Command):
    """A click command whose usage errors exit 254 (2 means "unknown" here)."""

    def make_context(self, info_name: str | None, args: list[str],
                     parent: click.Context | None = None, **extra: Any) -> click.Context:
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except click.UsageError as exc:
            raise BadArguments(exc.format_message()) from None


def collect_files(paths: tuple[str, ...]) -> list[Path]:
    """Expand the arguments: files as given, folders to their ``*.jsonl`` (recursive, sorted).

    Raises:
        BadArguments: A path does not exist, or a folder holds no ``*.jsonl``.
    """
    files: list[Path] = []
    for arg in paths:
        p = Path(arg)
        if p.is_dir():
            found = sorted(p.rglob("*.jsonl"))
            if not found:
                raise BadArguments(f"no *.jsonl histories under {arg}")
            files.extend(found)
        elif p.exists():
            files.append(p)
        else:
            raise BadArguments(f"no such file or directory: {arg}")
    return files


def _fmt_ns(t: Any) -> str:
    if t is None:
        return "∞"
    return f"{t / 1e6:.3f} ms"


def _op_line(op: dict[str, Any]) -> str:
    err = f" ({op['error']})" if op.get("error") is not None else ""
    return (f"index {op['index']:<6} p{op['process']!s:<5} {op['type']:<4} "
            f"{op['description']}{err}  [{_fmt_ns(op['call_time'])} .. {_fmt_ns(op['return_time'])}]")


def _verdict_word(valid: Any) -> str:
    return {True: "linearizable", False: "NOT linearizable"}.get(valid, "unknown")


def format_result(name: str, result: dict[str, Any]) -> str:
    """The human-readable report of one file's check."""
    keys = result["keys"]
    lines = [f"{name}: {_verdict_word(result['valid'])} "
             f"({result['seconds']:.3f} s, {result['op_count']} ops, {len(keys)} keys)"]
    n_valid = sum(1 for k in keys.values() if k["valid"] is True)
    invalid = [k for k, v in keys.items() if v["valid"] is False]
    unknown = [k for k, v in keys.items() if v["valid"] == "unknown"]
    parts = [f"{n_valid} valid"]
    if invalid:
        parts.append(f"invalid keys: {', '.join(map(str, invalid[:KEYS_SHOWN_MAX]))}")
    if unknown:
        more = f" (+{len(unknown) - KEYS_SHOWN_MAX} more)" if len(unknown) > KEYS_SHOWN_MAX else ""
        reasons = sorted({keys[k].get("reason", "") for k in unknown} - {""})
        parts.append(f"unknown keys: {', '.join(map(str, unknown[:KEYS_SHOWN_MAX]))}{more}"
                     + (f" [{'; '.join(reasons)}]" if reasons else ""))
    lines.append("  keys: " + "; ".join(parts))
    f = result.get("failure")
    if f:
        lines.append(f"  key {f['key']}: {f['reason']}")
        if f.get("op"):
            lines.append(f"    stuck at: {_op_line(f['op'])}")
        lines.append(f"    operations involved ({f['ops_total']}):")
        lines.extend(f"      {_op_line(op)}" for op in f["ops"])
        if f["ops_total"] > len(f["ops"]):
            lines.append(f"      ... {f['ops_total'] - len(f['ops'])} more")
        prefix = f["prefix"]
        lines.append(f"    longest linearizable prefix: {len(prefix)} ops"
                     + (f", value after it: {f['state']}" if f.get("state") is not None else ""))
        if len(prefix) > PREFIX_SHOWN_MAX:
            lines.append(f"      ... {len(prefix) - PREFIX_SHOWN_MAX} earlier ops")
        lines.extend(f"      {_op_line(op)}" for op in prefix[-PREFIX_SHOWN_MAX:])
    return "\n".join(lines)


def _json_line(name: str, result: dict[str, Any]) -> bytes:
    keys = result["keys"]
    summary = {
        "valid": sum(1 for k in keys.values() if k["valid"] is True),
        "invalid": [k for k, v in keys.items() if v["valid"] is False],
        "unknown": [k for k, v in keys.items() if v["valid"] == "unknown"],
    }
    obj = {"file": name, "valid": result["valid"], "seconds": result["seconds"],
           "model": result["model"], "op_count": result["op_count"], "keys": summary,
           "failure": result["failure"]}
    return orjson.dumps(obj, option=orjson.OPT_NON_STR_KEYS)


@click.command("check", cls=_Command)
@click.argument("paths", nargs=-1, required=True)
@click.option("--model", type=click.Choice(MODEL_NAMES), default="cas-register", show_default=True,
              help="cas-register: read/write/cas per key (Maelstrom lin-kv); kv: adds append.")
@click.option("--initial", "initial_json", default=None, metavar="JSON",
              help="Every key's initial value as JSON (default: absent, i.e. null).")
@click.option("--time-limit", type=float, default=None, metavar="S",
              help="Give up on a history after S seconds (verdict unknown, exit 2).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per file per line.")
def check(paths: tuple[str, ...], model: str, initial_json: str | None, time_limit: float | None,
          as_json: bool) -> None:
    """Check recorded histories (JSON Lines files or folders of *.jsonl) for linearizability.

    A read of null means the key was absent (stricter than Knossos). Exit
    status: 0 all linearizable, 1 some history is not, 2 some check timed out,
    254 bad arguments or an unreadable history.
    """
    initial: Any = None
    if initial_json is not None:
        try:
            initial = orjson.loads(initial_json)
        except orjson.JSONDecodeError as exc:
            raise BadArguments(f"--initial is not valid JSON: {exc}") from None
    if time_limit is not None and not (time_limit > 0 and math.isfinite(time_limit)):
        raise BadArguments(f"--time-limit must be a positive number of seconds, got {time_limit}")
    files = collect_files(paths)
    verdicts: list[Any] = []
    bad = False
    for path in files:
        name = str(path)
        try:
            history = History.load(path)
            result = check_history(history, model=model, initial=initial, time_limit_s=time_limit)
        except (HistoryError, ModelError) as exc:
            bad = True
            msg = str(exc) if str(exc).startswith(name) else f"{name}: {exc}"
            click.echo(f"Error: {msg}", err=True)
            if as_json:
                click.echo(orjson.dumps({"file": name, "valid": None, "error": msg}).decode())
            continue
        verdicts.append(result["valid"])
        if as_json:
            click.echo(_json_line(name, result).decode())
        else:
            click.echo(format_result(name, result))
    ctx = click.get_current_context()
    if bad:
        ctx.exit(EXIT_BAD_ARGS)
    if any(v is False for v in verdicts):
        ctx.exit(EXIT_INVALID)
    if any(v == "unknown" for v in verdicts):
        ctx.exit(EXIT_UNKNOWN)
    ctx.exit(EXIT_VALID)


if __name__ == "__main__":
    check()
