"""End-to-end runs of ``gyre test`` against `gyre-node-replicated` in each mode.

Short runs (about 1.5 s of test time with partitions every ~0.5 s) cover
one workload per mode by default; the full matrix, the 10 s lin-kv runs
(invalid in eventual and causal mode: the honest result) and the 25-node
broadcast message budget are marked slow.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from maelstrom import test_cli as cli_module

BIN = Path(sys.executable).parent / "gyre-node-replicated"
REPO = Path(__file__).resolve().parents[2]
#: Node start-up on a busy machine can be slow (25 Python processes at once).
INIT_TIMEOUT_S = "60"
EXIT_WAIT_S = 30

pytestmark = pytest.mark.skipif(not BIN.exists(), reason=f"{BIN} is not installed (make installs it)")


def gyre_test(store: Path, workload: str, mode: str, *args: str, seed: int = 11,
              bin_args: tuple[str, ...] = ()) -> Result:
    return CliRunner().invoke(
        cli_module.test_command,
        ["--store", str(store), "--seed", str(seed), "-w", workload, "--bin", str(BIN),
         "--init-timeout", INIT_TIMEOUT_S, *args, "--", "--mode", mode, *bin_args],
        catch_exceptions=False)


def results(store: Path, workload: str) -> dict[str, Any]:
    return json.loads((store / workload / "latest" / "results.json").read_text())


SHORT = ("--node-count", "3", "--time-limit", "1.5", "--rate", "30", "--nemesis", "partition",
         "--nemesis-interval", "0.4", "--latency", "5", "--latency-dist", "uniform", "--recovery-wait", "3")


def _crdt_run(tmp_path: Path, workload: str, mode: str) -> None:
    if mode == "strong":
        pytest.importorskip("nodes.strong")
    r = gyre_test(tmp_path, workload, mode, *SHORT, bin_args=("--workload", workload))
    assert r.exit_code == 0, r.output
    res = results(tmp_path, workload)
    assert res["valid"] is True and res["workload"]["valid"] is True
    assert res["stats"]["info-count"] == 0  # g-set and counters turn any error into info
    log = (tmp_path / workload / "latest" / "node-logs" / "n0.log").read_text()
    assert f"mode={mode}" in log
    hist = (tmp_path / workload / "latest" / "history.jsonl").read_text()
    assert '"start-partition"' in hist


@pytest.mark.parametrize("workload,mode", [("g-set", "eventual"), ("pn-counter", "causal"),
                                           ("broadcast", "causal"), ("g-counter", "strong")])
def test_crdt_workloads_valid_with_partitions(tmp_path: Path, workload: str, mode: str) -> None:
    _crdt_run(tmp_path, workload, mode)


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["eventual", "causal", "strong"])
@pytest.mark.parametrize("workload", ["g-set", "g-counter", "pn-counter", "broadcast"])
def test_crdt_matrix_valid_with_partitions(tmp_path: Path, workload: str, mode: str) -> None:
    _crdt_run(tmp_path, workload, mode)


@pytest.mark.parametrize("mode", ["eventual", "causal"])
def test_lin_kv_every_side_answers(tmp_path: Path, mode: str) -> None:
    r = gyre_test(tmp_path, "lin-kv", mode, "--node-count", "3", "--concurrency", "2n", "--time-limit", "1.5",
                  "--rate", "60", "--nemesis", "partition", "--nemesis-interval", "0.4", "--latency", "5")
    assert r.exit_code in (0, 1), r.output  # checked (not a crash); partitions may make it invalid
    res = results(tmp_path, "lin-kv")
    stats = res["stats"]
    assert stats["info-count"] == 0 and stats["ok-count"] > 0  # nothing timed out: every side answers
    assert res["workload"]["valid"] in (True, False)


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["eventual", "causal"])
def test_lin_kv_with_partitions_is_honestly_invalid(tmp_path: Path, mode: str) -> None:
    r = gyre_test(tmp_path, "lin-kv", mode, "--node-count", "3", "--concurrency", "2n", "--time-limit", "10",
                  "--rate", "100", "--nemesis", "partition", "--latency", "10")
    assert r.exit_code == 1, r.output
    res = results(tmp_path, "lin-kv")
    assert res["workload"]["valid"] is False and res["stats"]["info-count"] == 0


@pytest.mark.slow
def test_broadcast_grid_of_25_stays_under_30_messages_per_op(tmp_path: Path) -> None:
    r = gyre_test(tmp_path, "broadcast", "eventual", "--node-count", "25", "--topology", "grid",
                  "--latency", "100", "--rate", "10", "--time-limit", "10")
    assert r.exit_code == 0, r.output
    net = results(tmp_path, "broadcast")["net"]
    assert net["all"]["msgs-per-op"] < 30, net


# --- the executable's mode selection -----------------------------------------------------------------


def _init_and_log(args: list[str], env_mode: str | None) -> bytes:
    env = {k: v for k, v in os.environ.items() if k != "GYRE_MODE"}
    if env_mode is not None:
        env["GYRE_MODE"] = env_mode
    init = b'{"src":"c0","dest":"n0","body":{"type":"init","msg_id":1,"node_id":"n0","node_ids":["n0"]}}\n'
    proc = subprocess.run([str(BIN), *args], input=init, env=env, capture_output=True, cwd=REPO,
                          timeout=EXIT_WAIT_S)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.splitlines()[0])["body"] == {"type": "init_ok", "in_reply_to": 1}
    return proc.stderr


@pytest.mark.parametrize("args,env_mode,shown", [(["--mode", "causal"], None, b"causal"),
                                                 (["--mode", "eventual"], "causal", b"eventual"),
                                                 ([], "causal", b"causal"), ([], None, b"eventual")])
def test_mode_from_flag_or_environment(args: list[str], env_mode: str | None, shown: bytes) -> None:
    assert b"mode=" + shown in _init_and_log(args, env_mode)


def test_unknown_mode_is_a_usage_error() -> None:
    assert shutil.which(str(BIN))
    proc = subprocess.run([str(BIN), "--mode", "weird"], capture_output=True, timeout=EXIT_WAIT_S,
                          stdin=subprocess.DEVNULL)
    assert proc.returncode == 2 and b"weird" in proc.stderr
