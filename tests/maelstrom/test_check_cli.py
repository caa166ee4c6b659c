"""``gyre check`` through click's test runner: verdicts, exit codes, --json, bad input.

Histories of every workload live in run directories built here (``test.json``
names the workload, as ``gyre test`` writes it), so each test says which
checker must judge what and what a history no checker can judge does.
"""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner

from maelstrom.check_cli import check
from maelstrom.store import read_history, write_history

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
    assert "lin-valid-register-5p-300.jsonl: valid (lin-kv, strict reading)" in out
    assert "lin-kv: linearizable" in out and "keys: 1 checked, 1 valid, 0 invalid, 0 unknown" in out


def test_invalid_file_exits_1_with_report() -> None:
    code, out, _ = run(str(INVALID))
    assert code == 1
    assert "INVALID" in out and "NOT linearizable" in out
    assert "operations involved" in out and "longest linearizable prefix" in out
    assert "stuck at: index" in out
    # The verdict's first lines name the key, the reason and the operation; a key named 0
    # is "key 0" and never follows a bare count.
    lines = out.splitlines()
    assert lines[1].startswith("  workload (lin-kv): key 0 is not linearizable: stale: observed 10")
    assert lines[2].startswith("    at index 49 (process 0, ok): read → 10")
    assert "keys: 1 checked, 0 valid, 1 invalid (key 0), 0 unknown" in out


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
    code, out, _ = run(str(DATA), "--json", "--model", "kv", "--pattern", "*.jsonl")
    lines = [orjson.loads(line) for line in out.splitlines()]
    files = sorted(p for p in DATA.rglob("*.jsonl"))
    assert [x["file"] for x in lines] == [str(p) for p in files]
    for x in lines:
        assert x["valid"] is Path(x["file"]).name.startswith("lin-valid-")
        assert isinstance(x["seconds"], float)
    assert code == 1


def test_folder_recursion_sorted(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    write_history(tmp_path / "b" / "two.jsonl", read_history(VALID))
    write_history(tmp_path / "one.jsonl", read_history(VALID))
    (tmp_path / "notes.txt").write_text("ignored")
    code, out, _ = run(str(tmp_path), "--json", "--pattern", "*.jsonl")
    assert code == 0
    assert [orjson.loads(line)["file"] for line in out.splitlines()] == [
        str(tmp_path / "b" / "two.jsonl"), str(tmp_path / "one.jsonl")]
    # By default a folder yields its history.jsonl files only: none here.
    code, _, err = run(str(tmp_path))
    assert code == 254 and "no history.jsonl under" in err


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
     "a cas whose value 3 is not [from, to]"),
    ("", "no client operations to check"),
    ('{"index":0,"time":0,"process":"nemesis","type":"invoke","f":"start-partition"}\n'
     '{"index":1,"time":1,"process":"nemesis","type":"info","f":"start-partition"}\n',
     "no client operations to check"),
    ('{"index":0,"time":0,"process":0,"type":"invoke","f":"add","value":1}\n'
     '{"index":1,"time":1,"process":0,"type":"ok","f":"add","value":1}\n',
     "f='add' is not an operation of the lin-kv workload"),
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
