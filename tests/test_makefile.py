"""The Makefile's Maelstrom targets: the command lines they hand to a stand-in `maelstrom`
(a shell script that records its calls), and one short run of our own harness (`gyre test`)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
MAKE = shutil.which("make")
MAKE_TIMEOUT_S = 120
needs_make = pytest.mark.skipif(MAKE is None, reason="make is not installed")
STAMP = ".venv/.installed"


def make(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    # -o STAMP: never rebuild the virtualenv from inside a test.
    return subprocess.run([MAKE, "-s", "-C", str(REPO), "-o", STAMP, *args], capture_output=True,
                          text=True, timeout=MAKE_TIMEOUT_S, env={**os.environ, **(env or {})})


@pytest.fixture
def stand_in(tmp_path: Path) -> tuple[Path, Path]:
    """A fake `maelstrom` that records GYRE_MODE, GYRE_WORKLOAD and its arguments, one call
    per line, and exits with $STAND_IN_EXIT (0 when unset), as a real one exits with its verdict."""
    log = tmp_path / "calls.txt"
    script = tmp_path / "maelstrom"
    script.write_text(f'#!/bin/sh\necho "GYRE_MODE=$GYRE_MODE GYRE_WORKLOAD=$GYRE_WORKLOAD $*" >> {log}\n'
                      f'exit ${{STAND_IN_EXIT:-0}}\n')
    script.chmod(0o755)
    return script, log


@needs_make
@pytest.mark.parametrize("mode", ["strong", "eventual", "causal"])
def test_lin_kv_targets_give_maelstrom_the_same_options(stand_in: tuple[Path, Path], mode: str) -> None:
    script, log = stand_in
    r = make(f"lin-kv-{mode}", f"MAELSTROM={script}", "TIME_LIMIT=30", "NODES=5")
    assert r.returncode == 0, r.stderr
    replicated = REPO / ".venv" / "bin" / "gyre-node-replicated"
    assert log.read_text().split() == [
        f"GYRE_MODE={mode}", "GYRE_WORKLOAD=lin-kv", "test", "-w", "lin-kv", "--bin", str(replicated),
        "--node-count", "5",
        "--concurrency", "2n", "--time-limit", "30", "--rate", "100", "--latency", "10",
        "--nemesis", "partition"]


@needs_make
def test_maelstrom_and_crdt_targets_build_their_maelstrom_command_lines(stand_in: tuple[Path, Path]) -> None:
    script, log = stand_in
    assert make("maelstrom", f"MAELSTROM={script}").returncode == 0
    assert make("crdt", f"MAELSTROM={script}").returncode == 0
    calls = log.read_text().splitlines()
    single = REPO / ".venv" / "bin" / "gyre-node"
    assert calls[0].split() == [
        "GYRE_MODE=", "GYRE_WORKLOAD=lin-kv", "test", "-w", "lin-kv", "--bin", str(single),
        "--node-count", "1", "--concurrency", "2n", "--time-limit", "20", "--rate", "100"]
    # Each CRDT run tells the replicated node its workload (GYRE_WORKLOAD is its --workload).
    crdt_calls = [c.split() for c in calls[1:]]
    assert [(c[1], c[4]) for c in crdt_calls] == [
        (f"GYRE_WORKLOAD={w}", w) for w in ("g-set", "g-counter", "pn-counter", "broadcast")]
    assert all(c[0] == "GYRE_MODE=eventual" for c in crdt_calls)


@needs_make
def test_maelstrom_workload_target_takes_any_binary(stand_in: tuple[Path, Path]) -> None:
    script, log = stand_in
    assert make("maelstrom-echo", f"MAELSTROM={script}", "BIN=/opt/node", "NODES=2").returncode == 0
    assert log.read_text().split()[1:] == [
        "GYRE_WORKLOAD=echo", "test", "-w", "echo", "--bin", "/opt/node", "--node-count", "2",
        "--time-limit", "20"]


@needs_make
@pytest.mark.parametrize("mode", ["eventual", "causal"])
@pytest.mark.parametrize("workload", ["lin-kv", "txn-rw-register", "kafka"])
@pytest.mark.parametrize(("verdict_exit", "make_ok", "says"), [
    ("1", True, "invalid, as expected for this mode"),
    ("0", True, "valid; this run did not catch the"),
    ("2", False, "exit 2: neither valid nor invalid"),
    ("255", False, "exit 255: neither valid nor invalid"),
])
def test_weak_mode_targets_expect_invalid(stand_in: tuple[Path, Path], mode: str, workload: str,
                                          verdict_exit: str, make_ok: bool, says: str) -> None:
    script, log = stand_in
    r = make(f"{workload}-{mode}", f"MAELSTROM={script}", env={"STAND_IN_EXIT": verdict_exit})
    assert (r.returncode == 0) is make_ok, r.stdout + r.stderr
    assert says in r.stdout + r.stderr
    call = log.read_text().splitlines()[-1].split()
    assert call[:6] == [f"GYRE_MODE={mode}", f"GYRE_WORKLOAD={workload}", "test", "-w", workload, "--bin"]
    assert ("--consistency-models" in call) is workload.startswith("txn-")


@needs_make
def test_strong_lin_kv_target_passes_the_verdict_through(stand_in: tuple[Path, Path]) -> None:
    script, _ = stand_in
    r = make("lin-kv-strong", f"MAELSTROM={script}", env={"STAND_IN_EXIT": "1"})
    assert r.returncode != 0 and "as expected" not in r.stdout


@needs_make
def test_make_maelstrom_runs_our_harness_and_prints_the_verdict(tmp_path: Path) -> None:
    r = make("maelstrom", "TIME_LIMIT=2", f"MAELSTROM_ARGS=--store {tmp_path / 'store'}")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Everything looks good" in r.stdout
    assert "results.json" in r.stdout


@needs_make
def test_workload_target_names_only_workloads_our_nodes_know(stand_in: tuple[Path, Path]) -> None:
    script, log = stand_in
    assert make("maelstrom-my-own-workload", f"MAELSTROM={script}").returncode == 0
    assert log.read_text().split()[:4] == ["GYRE_MODE=", "GYRE_WORKLOAD=", "test", "-w"]
    assert make("maelstrom-kafka", f"MAELSTROM={script}").returncode == 0
    assert log.read_text().splitlines()[-1].split()[:4] == ["GYRE_MODE=", "GYRE_WORKLOAD=kafka", "test", "-w"]
