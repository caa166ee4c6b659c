"""The single-node program under our Maelstrom: every workload it serves is valid."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

NODE = Path(sys.executable).parent / "gyre-node"
RUN_TIMEOUT_S = 120


def gyre_test(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "nodes.gyre_cli", "test", "--bin", str(NODE), "--node-count", "1",
         "--store", str(tmp_path / "store"), "--seed", "5", *args],
        capture_output=True, text=True, timeout=RUN_TIMEOUT_S)


@pytest.mark.parametrize("workload", ["echo", "unique-ids", "broadcast", "g-set", "g-counter",
                                      "pn-counter"])
def test_workload_is_valid(tmp_path: Path, workload: str) -> None:
    r = gyre_test(tmp_path, "-w", workload, "--time-limit", "1.5", "--rate", "50",
                  "--recovery-wait", "0.2")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Everything looks good" in r.stdout


def test_lin_kv_is_linearizable(tmp_path: Path) -> None:
    r = gyre_test(tmp_path, "-w", "lin-kv", "--concurrency", "2n", "--time-limit", "3",
                  "--rate", "100")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Everything looks good" in r.stdout
