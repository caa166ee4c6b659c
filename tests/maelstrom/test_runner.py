"""End-to-end runs of ``gyre test`` through click's CliRunner, against the test node programs.

Each run is 1–3 s of test time; the verdict, the exit code and the
diagnoses are checked, plus the files in the run directory.
"""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from maelstrom import test_cli as cli_module
from maelstrom.check_cli import check as check_command

NODES = Path(__file__).parent / "nodes"
CORRECT = str(NODES / "correct.py")
FAULTY = str(NODES / "faulty.py")


def gyre_test(store: Path, *args: str, seed: int = 7) -> Result:
    return CliRunner().invoke(cli_module.test_command, ["--store", str(store), "--seed", str(seed), *args],
                              catch_exceptions=False)


def results(store: Path, workload: str) -> dict[str, Any]:
    return json.loads((store / workload / "latest" / "results.json").read_text())


def test_echo_valid_and_store_layout(tmp_path: Path) -> None:
    r = gyre_test(tmp_path, "-w", "echo", "--bin", CORRECT, "--node-count", "2", "--time-limit", "1.5",
                  "--rate", "20", "echo")
    assert r.exit_code == 0, r.output + r.stderr
    assert "seed 7" in r.stderr and "Everything looks good" in r.output
    run = (tmp_path / "echo" / "latest").resolve()
    for name in ("results.json", "history.jsonl", "history.txt", "messages.jsonl", "report.html",
                 "test.json", "node-logs"):
        assert (run / name).exists(), name
    res = results(tmp_path, "echo")
    assert set(res) >= {"workload", "stats", "availability", "net", "exceptions", "perf", "valid"}
    assert res["valid"] is True and res["stats"]["ok-count"] >= 10
    assert res["net"]["clients"]["msg-count"] == res["net"]["all"]["msg-count"]
    msgs = [json.loads(line) for line in (run / "messages.jsonl").read_text().splitlines()]
    # Nodes are initialised concurrently, each by its own init client: c0 for n0, c1 for n1...
    inits = {m["dest"]: m["src"] for m in msgs if m["body"].get("type") == "init"}
    assert inits == {f"n{i}": f"c{i}" for i in range(len(inits))} and "n0" in inits
    hist = [json.loads(line) for line in (run / "history.jsonl").read_text().splitlines()]
    assert hist[0]["type"] == "invoke" and hist[0]["process"] == 0 and hist[0]["f"] == "echo"


def test_lin_kv_single_node_valid(tmp_path: Path) -> None:
    r = gyre_test(tmp_path, "--bin", CORRECT, "--node-count", "1", "--concurrency", "2n",
                  "--time-limit", "1.5", "--rate", "40", "lin-kv-local")
    assert r.exit_code == 0, r.output
    res = results(tmp_path, "lin-kv")
    assert res["workload"]["results"]["0"]["valid"] is True
    assert res["stats"]["by-f"]["cas"]["count"] > 0


def test_lin_kv_stale_reads_invalid(tmp_path: Path) -> None:
    r = gyre_test(tmp_path, "--bin", FAULTY, "--node-count", "1", "--concurrency", "2n",
                  "--time-limit", "2", "--rate", "50", "stale-read")
    assert r.exit_code == 1, r.output
    assert "Analysis invalid" in r.output
    res = results(tmp_path, "lin-kv")
    assert res["valid"] is False and res["workload"]["failures"] == [0]
    report = (tmp_path / "lin-kv" / "latest" / "report.html").read_text()
    assert "Key 0 is not linearizable" in report
    # The terminal verdict names the key, the reason and the operation, then the report.
    lines = r.output.splitlines()
    at = next(i for i, line in enumerate(lines) if "Analysis invalid" in line)
    assert lines[at + 1].startswith("  workload (lin-kv): key 0 is not linearizable: ")
    failure = res["workload"]["results"]["0"]["linearizable"]["failure"]
    assert failure["reason"] in lines[at + 1]
    assert lines[at + 2].startswith(f"    at index {failure['op']['index']} (process ")
    run = (tmp_path / "lin-kv" / "latest").resolve()
    assert f"Report: {run / 'report.html'}" in r.output
    # gyre check on the run directory gives the verdict gyre test gave, for the same reason.
    check = CliRunner().invoke(check_command, [str(tmp_path / "lin-kv" / "latest")])
    assert check.exit_code == 1 and lines[at + 1].strip() in check.stdout


def test_semantics_knossos_reaches_the_lin_kv_checker(tmp_path: Path) -> None:
    r = gyre_test(tmp_path, "--bin", CORRECT, "--node-count", "1", "--concurrency", "2n",
                  "--time-limit", "1", "--rate", "40", "--semantics", "knossos", "lin-kv-local")
    assert r.exit_code in (0, 1), r.output  # a short run may see no cas succeed (stats)
    res = results(tmp_path, "lin-kv")
    assert res["workload"]["semantics"] == "knossos" and res["workload"]["valid"] is True
    assert res["workload"]["results"]["0"]["linearizable"]["semantics"] == "knossos"
    test_json = json.loads((tmp_path / "lin-kv" / "latest" / "test.json").read_text())
    assert test_json["semantics"] == "knossos"


def test_lin_kv_through_service_with_partitions(tmp_path: Path) -> None:
    r = gyre_test(tmp_path, "--bin", CORRECT, "--node-count", "3", "--concurrency", "2n",
                  "--time-limit", "2", "--rate", "30", "--latency", "5", "--latency-dist", "uniform",
                  "--nemesis", "partition", "--nemesis-interval", "0.5", "lin-kv")
    assert r.exit_code == 0, r.output
    hist = (tmp_path / "lin-kv" / "latest" / "history.jsonl").read_text()
    assert '"start-partition"' in hist and '"nemesis"' in hist
    assert results(tmp_path, "lin-kv")["net"]["servers"]["msg-count"] > 0  # node <-> lin-kv


@pytest.mark.parametrize("workload", ["broadcast", "g-counter"])
def test_final_phase_converges_after_heal(tmp_path: Path, workload: str) -> None:
    r = gyre_test(tmp_path, "-w", workload, "--bin", CORRECT, "--node-count", "3", "--time-limit",
                  "2", "--rate", "30", "--latency", "5", "--nemesis", "partition,loss",
                  "--nemesis-interval", "0.5", "--recovery-wait", "0.6", workload)
    assert r.exit_code == 0, r.output
    assert "Waiting for recovery" in r.stderr
    hist = [json.loads(x) for x in
            (tmp_path / workload / "latest" / "history.jsonl").read_text().splitlines()]
    finals = [e for e in hist if e.get("final") and e["type"] == "ok"]
    assert len(finals) == 3  # one final read per client thread
    res = results(tmp_path, workload)["workload"]
    if workload == "broadcast":
        assert res["stable-count"] == res["attempt-count"] > 0
    else:
        assert len(res["final-reads"]) == 3


def test_lost_writes_are_invalid(tmp_path: Path) -> None:
    # Every node-to-node message is dropped, so a node that never retries loses
    # every broadcast it does not hold itself: no timing luck involved.
    r = gyre_test(tmp_path, "-w", "broadcast", "--bin", FAULTY, "--node-count", "3", "--time-limit",
                  "1.5", "--rate", "40", "--latency", "5", "--loss-rate", "1",
                  "--recovery-wait", "0.2", "lost-write")
    assert r.exit_code == 1, r.output
    assert results(tmp_path, "broadcast")["workload"]["lost-count"] > 0


def test_garbage_on_stdout_is_diagnosed_and_dropped(tmp_path: Path) -> None:
    r = gyre_test(tmp_path, "-w", "echo", "--bin", FAULTY, "--node-count", "1", "--time-limit", "1",
                  "--rate", "20", "garbage")
    assert r.exit_code == 0, r.output  # the node's good replies still count
    assert "is not a Maelstrom message (line is not valid JSON" in r.stderr
    assert "unknown destination 'n-nowhere'" in r.stderr
    assert "message has no 'dest'" in r.stderr
    assert results(tmp_path, "echo")["diagnoses"]


def test_closed_schema_violation_makes_echo_invalid(tmp_path: Path) -> None:
    r = gyre_test(tmp_path, "-w", "echo", "--bin", FAULTY, "--node-count", "1", "--time-limit", "1",
                  "--rate", "10", "bad-schema")
    assert r.exit_code == 1
    exc = results(tmp_path, "echo")["exceptions"]["exceptions"]
    assert exc[0]["class"] == "malformed-rpc-response"


def test_node_exit_mid_run_crashes_with_last_lines(tmp_path: Path) -> None:
    r = gyre_test(tmp_path, "-w", "echo", "--bin", FAULTY, "--node-count", "1", "--time-limit", "3",
                  "--rate", "20", "crash")
    assert r.exit_code == 255
    assert "node-crashed: node n0 exited with status 3" in r.stderr
    assert "stderr: n0: crashing on purpose after 3 requests" in r.stderr
    run = (tmp_path / "echo" / "latest")
    assert (run / "history.jsonl").exists() and not (run / "results.json").exists()


def test_init_timeout_crashes(tmp_path: Path) -> None:
    r = gyre_test(tmp_path, "-w", "echo", "--bin", FAULTY, "--node-count", "1", "--init-timeout",
                  "0.5", "no-init")
    assert r.exit_code == 255
    assert "init-failed: n0 did not answer init within 0.5 s" in r.stderr


@pytest.mark.parametrize("args,text", [
    (["--concurrency", "1n", "--node-count", "2"], "multiple of 2n"),
    (["--nemesis", "kill"], "unknown nemesis"),
    (["--availability", "2"], "between 0 and 1"),
    (["-w", "nope"], "nope"),
    (["--time-limit", "x"], "time-limit"),
])
def test_bad_arguments_exit_254(tmp_path: Path, args: list[str], text: str) -> None:
    r = gyre_test(tmp_path, "--bin", CORRECT, *args)
    assert r.exit_code == 254, r.output
    assert text in r.output + r.stderr


def test_missing_or_non_executable_bin_is_254(tmp_path: Path) -> None:
    assert gyre_test(tmp_path, "--bin", str(tmp_path / "nope")).exit_code == 254
    f = tmp_path / "node.sh"
    f.write_text("#!/bin/sh\n")
    r = gyre_test(tmp_path, "--bin", str(f))
    assert r.exit_code == 254 and "not executable" in r.stderr


def test_faithful_stdout_stops_reading_a_node_after_its_first_bad_line(tmp_path: Path) -> None:
    # The garbage node's first bad line comes before its third reply; Maelstrom reads no
    # further, so every later echo times out and the echo checker fails the run.
    r = gyre_test(tmp_path, "-w", "echo", "--bin", FAULTY, "--node-count", "1", "--time-limit", "1",
                  "--rate", "20", "--faithful-stdout", "garbage")
    assert r.exit_code == 1, r.output
    assert "its stdout is no longer read (--faithful-stdout" in r.stderr


def test_named_nodes_run_under_their_names(tmp_path: Path) -> None:
    nodes_file = tmp_path / "nodes.txt"
    nodes_file.write_text("alpha\nbeta\n")
    r = gyre_test(tmp_path, "-w", "echo", "--bin", CORRECT, "--nodes-file", str(nodes_file),
                  "--nodes", "gamma", "-n", "delta", "--concurrency", "1n", "--time-limit", "1",
                  "--rate", "20", "echo")
    assert r.exit_code == 0, r.output + r.stderr
    run = (tmp_path / "echo" / "latest").resolve()
    msgs = [json.loads(line) for line in (run / "messages.jsonl").read_text().splitlines()]
    inits = {m["dest"]: m["body"] for m in msgs if m["body"].get("type") == "init"}
    assert set(inits) == {"alpha", "beta", "gamma", "delta"}
    assert all(body["node_ids"] == ["alpha", "beta", "gamma", "delta"] for body in inits.values())
    # --concurrency 1n counts the named nodes: four client threads, one per node.
    hist = [json.loads(line) for line in (run / "history.jsonl").read_text().splitlines()]
    assert {op["process"] for op in hist if op["type"] == "invoke"} == {0, 1, 2, 3}


@pytest.mark.parametrize("args,text", [
    (["--nodes", "n1,n1"], "named twice"),
    (["-n", "c7"], "clients"),
    (["--nodes-file", "/nonexistent/nodes.txt"], "nodes-file"),
])
def test_bad_node_names_exit_254(tmp_path: Path, args: list[str], text: str) -> None:
    r = gyre_test(tmp_path, "-w", "echo", "--bin", CORRECT, *args)
    assert r.exit_code == 254, r.output
    assert text in r.output + r.stderr


# -- teardown ends every process a node started --------------------------------------------------

FORKING = str(NODES / "forking.py")
GONE_WAIT_S = 10.0


def _gone(pid: int) -> bool:
    """Dead, or a zombie nobody has reaped yet (it runs nothing any more)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] in ("Z", "X")


def _wait_gone(pid: int) -> bool:
    import time

    deadline = time.monotonic() + GONE_WAIT_S
    while not _gone(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


@pytest.mark.parametrize(("mode", "args", "exit_code"), [
    # The node exits at its first request, its child still running: a crash run.
    ("exit", ["-w", "echo", "--time-limit", "1", "--rate", "20"], 255),
    # The node stops reading stdin after init: every request times out (lin-kv: 1 s).
    ("deaf", ["--concurrency", "2n", "--time-limit", "0.5", "--rate", "10"], None),
])
def test_teardown_kills_the_nodes_whole_process_group(tmp_path: Path, mode: str, args: list[str],
                                                      exit_code: int | None) -> None:
    pidfile = tmp_path / "child.pid"
    try:
        r = gyre_test(tmp_path / "store", "--bin", FORKING, "--node-count", "1", *args,
                      str(pidfile), mode)
        if exit_code is not None:
            assert r.exit_code == exit_code, r.output + r.stderr
        child = int(pidfile.read_text())
        assert _wait_gone(child), f"the node's child {child} outlived the run"
    finally:
        if pidfile.exists() and not _gone(int(pidfile.read_text())):
            os.kill(int(pidfile.read_text()), signal.SIGKILL)
