"""``gyre check`` on every workload's histories: the right checker, no silent green.

Each history is built here, event by event, inside a run directory whose
``test.json`` names the workload as ``gyre test`` writes it; a store tree
with ``latest`` links is built the way `maelstrom.store.RunStore` lays it out.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import CliRunner

from maelstrom.check_cli import check

DATA = Path(__file__).resolve().parent.parent / "data"
VALID = DATA / "lin-valid-register-5p-300.jsonl"
INVALID = DATA / "lin-invalid-stale-read-5p-300.jsonl"

_SAME = object()


def op(p: int, f: str, value: Any = None, *, out: Any = _SAME, type: str = "ok",
       key: Any = None, error: Any = None, final: bool = False) -> tuple[dict[str, Any], ...]:
    """One sequential operation: its invocation and its completion (times filled in later)."""
    inv: dict[str, Any] = {"process": p, "type": "invoke", "f": f, "value": value}
    done: dict[str, Any] = {"process": p, "type": type, "f": f,
                            "value": value if out is _SAME else out}
    for e in (inv, done):
        if key is not None:
            e["key"] = key
        if final:
            e["final"] = True
    if error is not None:
        done["error"] = error
    return inv, done


def history(*ops: tuple[dict[str, Any], ...]) -> bytes:
    events = [e for pair in ops for e in pair]
    return b"".join(orjson.dumps({"index": i, "time": i * 1000, **e}) + b"\n"
                    for i, e in enumerate(events))


def run_dir(root: Path, workload: str | None, data: bytes, name: str = "run",
            **config: Any) -> Path:
    d = root / name
    d.mkdir(parents=True)
    (d / "history.jsonl").write_bytes(data)
    if workload is not None:
        (d / "test.json").write_bytes(orjson.dumps({"workload": workload, **config}))
    return d


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(check, list(args))
    return result.exit_code, result.stdout, result.stderr


def run_json(*args: str) -> tuple[int, list[dict[str, Any]]]:
    code, out, _ = run(*args, "--json")
    return code, [orjson.loads(line) for line in out.splitlines()]


ECHO_OK = op(0, "echo", "Please echo 1", out={"type": "echo_ok", "echo": "Please echo 1"})
HISTORIES: dict[str, tuple[bytes, bytes, str]] = {
    # workload: (a valid history, an invalid one, what the invalid one's verdict says)
    "echo": (history(ECHO_OK),
             history(ECHO_OK, op(1, "echo", "Please echo 2", type="info", error="net-timeout")),
             'echoes wrong; the first, index 2, sent "Please echo 2" and it ended info'),
    "unique-ids": (history(op(0, "generate", out=1), op(1, "generate", out=2)),
                   history(op(0, "generate", out=1), op(1, "generate", out=1)),
                   "1 ids were handed out more than once: 1 (×2)"),
    "g-set": (history(op(0, "add", 0), op(1, "add", 1), op(0, "read", out=[0, 1])),
              history(op(0, "add", 0), op(1, "add", 1), op(0, "read", out=[0, 1]),
                      op(1, "read", out=[0])),
              "1 of 2 elements lost"),
    "broadcast": (history(op(0, "broadcast", 0), op(1, "read", out=[0])),
                  history(op(0, "broadcast", 0), op(1, "read", out=[0]), op(0, "read", out=[])),
                  "1 of 1 elements lost"),
    "g-counter": (history(op(0, "add", 2), op(1, "add", 3), op(0, "read", out=5, final=True)),
                  history(op(0, "add", 2), op(1, "add", 3), op(0, "read", out=4, final=True)),
                  "the final read at index 4 (process 0) saw 4, but the adds allow only 5"),
    "pn-counter": (history(op(0, "add", -2), op(1, "add", 3), op(0, "read", out=1, final=True)),
                   history(op(0, "add", -2), op(1, "add", 3), op(0, "read", out=2, final=True)),
                   "saw 2, but the adds allow only 1"),
    "lin-kv": (history(op(0, "write", 1, key=0), op(1, "read", out=1, key=0),
                       op(0, "cas", [1, 2], key=0)),
               history(op(0, "write", 1, key=0), op(1, "read", out=3, key=0),
                       op(0, "cas", [1, 2], key=0)),
               "key 0 is not linearizable: observed 3, a value no operation wrote"),
    # the last read misses an append another read already saw: a stale read
    "txn-list-append": (
        history(op(0, "txn", [["append", 1, 1]]), op(1, "txn", [["r", 1, None], ["append", 1, 2]],
                                                      out=[["r", 1, [1]], ["append", 1, 2]])),
        history(op(0, "txn", [["append", 1, 1]]), op(1, "txn", [["append", 1, 2]]),
                op(1, "txn", [["r", 1, None]], out=[["r", 1, [1, 2]]]),
                op(0, "txn", [["r", 1, None]], out=[["r", 1, [1]]])),
        "G-single-realtime, so not "),
    # a read of null after a write completed
    "txn-rw-register": (
        history(op(0, "txn", [["w", 1, 1]]), op(1, "txn", [["r", 1, None], ["w", 1, 2]],
                                                 out=[["r", 1, 1], ["w", 1, 2]])),
        history(op(0, "txn", [["w", 1, 1]]), op(1, "txn", [["r", 1, None]], out=[["r", 1, None]])),
        "G-single-realtime, so not "),
}


@pytest.mark.parametrize("workload", sorted(HISTORIES))
def test_each_workload_is_judged_by_its_own_checker(tmp_path: Path, workload: str) -> None:
    good, bad, says = HISTORIES[workload]
    ok_dir = run_dir(tmp_path, workload, good, "ok")
    bad_dir = run_dir(tmp_path, workload, bad, "bad")
    code, out, _ = run(str(ok_dir))
    assert code == 0, out
    assert out.startswith(f"{ok_dir / 'history.jsonl'}: valid ({workload}, strict reading, run")
    code, out, _ = run(str(bad_dir / "history.jsonl"))
    assert code == 1, out
    assert says in out.splitlines()[1]
    code, lines = run_json(str(bad_dir))
    assert code == 1 and lines[0]["workload"] == workload and lines[0]["valid"] is False
    assert lines[0]["checkers"]["workload"] is False and says in lines[0]["explanation"][0]


@pytest.mark.parametrize("workload", sorted(HISTORIES))
@pytest.mark.parametrize("other", sorted(HISTORIES))
def test_no_history_passes_another_workloads_checker(tmp_path: Path, workload: str,
                                                     other: str) -> None:
    """Every valid history, named with every other workload, is refused: never a green."""
    if other == workload or {workload, other} == {"g-counter", "pn-counter"}:
        return  # the counters share one checker and one shape
    path = tmp_path / "history.jsonl"  # no test.json: the workload is what --workload says
    path.write_bytes(HISTORIES[workload][0])
    code, out, err = run(str(path), "--workload", other)
    assert code == 254, out
    assert out == "" and f"not a {other} history" in err


def test_a_g_set_history_is_no_longer_linearizable_with_zero_ops(tmp_path: Path) -> None:
    good = HISTORIES["g-set"][0]
    # Inside a run directory: test.json says g-set, so set-full judges it.
    d = run_dir(tmp_path, "g-set", good)
    code, out, _ = run(str(d / "history.jsonl"))
    assert code == 0 and "g-set: valid (2 attempted, 2 stable, 0 lost, 0 never read)" in out
    # Alone, it is read as lin-kv (Maelstrom's default workload) and refused.
    alone = tmp_path / "alone.jsonl"
    alone.write_bytes(good)
    code, out, err = run(str(alone))
    assert code == 254 and out == ""
    assert "f='add' is not an operation of the lin-kv workload" in err
    assert "no test.json beside it" in err
    assert run(str(alone), "-w", "g-set")[0] == 0
    # A --workload that contradicts the run's own test.json is refused too.
    code, _, err = run(str(d), "--workload", "lin-kv")
    assert code == 254 and "recorded by a g-set run" in err


def test_shapes_tell_workloads_with_the_same_operations_apart(tmp_path: Path) -> None:
    path = tmp_path / "h.jsonl"
    path.write_bytes(HISTORIES["g-set"][0])
    code, _, err = run(str(path), "-w", "pn-counter")
    assert code == 254 and "a read that returned [0, 1], not an integer" in err
    path.write_bytes(HISTORIES["pn-counter"][0])
    code, _, err = run(str(path), "-w", "g-set")
    assert code == 254 and "index 4: a read that returned 1, not a list" in err


def _store_tree(root: Path) -> dict[str, Path]:
    """store/<workload>/<timestamp>/ runs with messages.jsonl and the latest links."""
    runs = {
        "g-set": run_dir(root / "g-set", "g-set", HISTORIES["g-set"][0], "20261207T050000.000+0000"),
        "lin-kv": run_dir(root / "lin-kv", "lin-kv", HISTORIES["lin-kv"][1],
                          "20261207T050100.000+0000"),
    }
    for w, d in runs.items():
        # The network journal is JSON Lines too, but no history: it must never be read as one.
        (d / "messages.jsonl").write_text('{"time": 0, "event": "send", "src": "c0"}\n')
        (root / w / "latest").symlink_to(d.name)
    (root / "latest").symlink_to(Path("lin-kv") / runs["lin-kv"].name)
    (root / "current").symlink_to(Path("lin-kv") / runs["lin-kv"].name)
    return runs


def test_a_store_tree_gets_one_verdict_per_run(tmp_path: Path) -> None:
    runs = _store_tree(tmp_path)
    code, lines = run_json(str(tmp_path))
    assert code == 1  # the lin-kv run is invalid
    assert [(x["run"], x["workload"], x["valid"]) for x in lines] == [
        (str(runs["g-set"]), "g-set", True), (str(runs["lin-kv"]), "lin-kv", False)]


def test_a_run_directory_through_its_latest_link(tmp_path: Path) -> None:
    runs = _store_tree(tmp_path)
    code, out, err = run(str(tmp_path / "g-set" / "latest"))
    assert code == 0 and err == ""
    assert out.count("history.jsonl: valid (g-set") == 1
    # Named twice (a link and the file itself), it is checked once.
    code, lines = run_json(str(tmp_path / "g-set" / "latest"),
                           str(runs["g-set"] / "history.jsonl"), str(tmp_path / "latest"))
    assert code == 1 and [x["workload"] for x in lines] == ["g-set", "lin-kv"]


def test_exit_code_precedence(tmp_path: Path) -> None:
    """1 invalid > 254 uncheckable > 2 unknown > 0 valid, every verdict printed."""
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    code, out, err = run(str(INVALID), str(empty))
    assert code == 1 and "INVALID" in out and "no client operations" in err
    code, out, _ = run(str(VALID), str(empty))
    assert code == 254 and ": valid (lin-kv" in out
    code, out, _ = run(str(VALID), str(empty), "--time-limit", "1e-9")
    assert code == 254 and ": unknown (lin-kv" in out
    assert run(str(VALID), "--time-limit", "1e-9")[0] == 2
    assert run(str(VALID), str(INVALID), "--time-limit", "1e-9")[0] == 1


def test_lin_kv_options_apply_to_lin_kv_only(tmp_path: Path) -> None:
    d = run_dir(tmp_path, "g-set", HISTORIES["g-set"][0])
    code, _, err = run(str(d), "--model", "kv")
    assert code == 254 and "--model and --initial apply to lin-kv histories" in err


def test_a_broken_test_json_is_not_guessed_around(tmp_path: Path) -> None:
    d = run_dir(tmp_path, None, HISTORIES["g-set"][0])
    (d / "test.json").write_text("{nope")
    code, _, err = run(str(d))
    assert code == 254 and "cannot be read" in err and "--workload" in err


def test_availability_from_the_run_counts(tmp_path: Path) -> None:
    h = history(ECHO_OK, op(1, "echo", "Please echo 2", out={"type": "echo_ok",
                                                              "echo": "Please echo 2"}))
    d = run_dir(tmp_path, "echo", h, availability="total")
    code, lines = run_json(str(d))
    assert code == 0 and lines[0]["checkers"] == {"workload": True, "stats": True,
                                                 "availability": True}


# -- the two readings ----------------------------------------------------------------------------

NULL_AFTER_WRITE = history(op(0, "write", 1, key=0), op(1, "read", out=None, key=0),
                           op(0, "cas", [1, 2], key=0))
FAILED_CAS_SAW_WRONG_VALUE = history(
    op(0, "write", 1, key=0), op(1, "cas", [1, 2], key=0, type="fail", error="precondition-failed"),
    op(0, "cas", [1, 2], key=0), op(1, "read", out=2, key=0))


@pytest.mark.parametrize("data", [NULL_AFTER_WRITE, FAILED_CAS_SAW_WRONG_VALUE])
def test_semantics_strict_by_default_knossos_on_request(tmp_path: Path, data: bytes) -> None:
    d = run_dir(tmp_path, "lin-kv", data)
    code, out, _ = run(str(d))
    assert code == 1 and "(lin-kv, strict reading" in out
    code, out, _ = run(str(d), "--semantics", "knossos")
    assert code == 0, out
    assert "(lin-kv, knossos reading" in out


def test_semantics_default_comes_from_the_run(tmp_path: Path) -> None:
    d = run_dir(tmp_path, "lin-kv", NULL_AFTER_WRITE, semantics="knossos")
    code, lines = run_json(str(d))
    assert code == 0 and lines[0]["semantics"] == "knossos"
    assert run(str(d), "--semantics", "strict")[0] == 1


def test_symlinked_histories_inside_a_tree_are_skipped(tmp_path: Path) -> None:
    d = run_dir(tmp_path, "lin-kv", HISTORIES["lin-kv"][0], "real")
    link_dir = tmp_path / "elsewhere"
    link_dir.mkdir()
    os.symlink(d / "history.jsonl", link_dir / "history.jsonl")
    code, lines = run_json(str(tmp_path))
    assert code == 0 and [x["file"] for x in lines] == [str(d / "history.jsonl")]
