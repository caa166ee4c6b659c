"""``gyre check`` through click's test runner: verdicts, exit codes, --json, bad input."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner

from maelstrom.check_cli import check
from maelstrom.history import History

DATA = Path(__file__).resolve().parent.parent / "data"
VALID = DATA / "lin-valid-register-5p-300.jsonl"
INVALID = DATA / "lin-invalid-stale-read-5p-300.jsonl"
KV = DATA / "lin-valid-kv-append-5keys-20p.jsonl"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(check, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_valid_file_exits_0() -> None:
    code, out, _ = run(str(VALID))
    assert code == 0
    assert "lin-valid-register-5p-300.jsonl: linearizable" in out
    assert "1 valid" in out


def test_invalid_file_exits_1_with_report() -> None:
    code, out, _ = run(str(INVALID))
    assert code == 1
    assert "NOT linearizable" in out
    assert "operations involved" in out and "longest linearizable prefix" in out
    assert "stuck at: index" in out


def test_worst_verdict_wins() -> None:
    assert run(str(VALID), str(INVALID))[0] == 1


def test_time_limit_exits_2() -> None:
    code, out, _ = run(str(VALID), "--time-limit", "1e-9")
    assert code == 2
    assert "unknown" in out


def test_kv_model_and_initial() -> None:
    assert run(str(KV), "--model", "kv")[0] == 0
    assert run(str(KV))[0] == 254  # append is not in cas-register
    assert run(str(KV), "--model", "kv", "--initial", '"zz"')[0] == 1


def test_json_lines(tmp_path: Path) -> None:
    code, out, _ = run(str(DATA), "--json", "--model", "kv")
    lines = [orjson.loads(line) for line in out.splitlines()]
    files = sorted(p for p in DATA.rglob("*.jsonl"))
    assert [x["file"] for x in lines] == [str(p) for p in files]
    for x in lines:
        assert x["valid"] is Path(x["file"]).name.startswith("lin-valid-")
        assert isinstance(x["seconds"], float)
    assert code == 1


def test_folder_recursion_sorted(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    History.load(VALID).save(tmp_path / "b" / "two.jsonl")
    History.load(VALID).save(tmp_path / "one.jsonl")
    (tmp_path / "notes.txt").write_text("ignored")
    code, out, _ = run(str(tmp_path), "--json")
    assert code == 0
    assert [orjson.loads(line)["file"] for line in out.splitlines()] == [
        str(tmp_path / "b" / "two.jsonl"), str(tmp_path / "one.jsonl")]


@pytest.mark.parametrize("args", [
    ["/nonexistent/history.jsonl"],
    [str(VALID), "--initial", "{not json"],
    [str(VALID), "--model", "nope"],
    [str(VALID), "--time-limit", "-1"],
    [str(VALID), "--frobnicate"],
    [],
])
def test_bad_arguments_exit_254_with_one_line(args: list[str]) -> None:
    code, out, err = run(*args)
    assert code == 254
    assert len(err.strip().splitlines()) == 1 and err.startswith("Error: ")
    assert out == ""


def test_empty_folder_is_a_bad_argument(tmp_path: Path) -> None:
    assert run(str(tmp_path))[0] == 254


@pytest.mark.parametrize(("content", "message"), [
    ("garbage\n", ":1: not valid JSON"),
    ('{"index":0,"time":0,"process":0,"f":"read"}\n', ":1: missing field 'type'"),
    ('{"index":0,"time":0,"process":0,"type":"invoke","f":"read","key":0}\n'
     '{"index":1,"time":1,"process":0,"type":"ok","f":"write","key":0}\n', ":2: process 0"),
    ('{"index":0,"time":0,"process":0,"type":"invoke","f":"cas","key":0,"value":3}\n',
     "cas value must be [from, to]"),
])
def test_bad_files_exit_254(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(content)
    code, out, err = run(str(path), str(VALID))
    assert code == 254
    assert message in err and str(path) in err
    assert "linearizable" in out  # the good file is still checked
    code, out, _ = run(str(path), "--json")
    assert code == 254 and orjson.loads(out)["error"]


def test_help() -> None:
    code, out, _ = run("--help")
    assert code == 0
    assert "--time-limit" in out and "--initial" in out and "254" in out
