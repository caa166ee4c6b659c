"""Short CI versions of the consistency-mode verdicts under our Maelstrom.

Eventual and causal modes answer on every side of a partition, so lin-kv
with partitions every half second is not linearizable: the checker must say
so (the honest result the README's comparison reports). Strong mode's valid
verdicts are in test_strong_e2e.py; convergence after healing is checked on
virtual time in test_replicated.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPLICATED = Path(sys.executable).parent / "gyre-node-replicated"
RUN_TIMEOUT_S = 120


@pytest.mark.parametrize("mode", ["eventual", "causal"])
def test_lin_kv_with_partitions_is_reported_invalid(tmp_path: Path, mode: str) -> None:
    store = tmp_path / "store"
    r = subprocess.run(
        [sys.executable, "-m", "nodes.gyre_cli", "test", "-w", "lin-kv", "--bin", str(REPLICATED),
         "--node-count", "3", "--concurrency", "2n", "--time-limit", "3", "--rate", "100",
         "--latency", "5", "--nemesis", "partition", "--nemesis-interval", "0.5", "--seed", "1",
         "--store", str(store)],
        capture_output=True, text=True, timeout=RUN_TIMEOUT_S, env={**os.environ, "GYRE_MODE": mode})
    assert r.returncode == 1, r.stdout + r.stderr
    results = json.loads((store / "lin-kv" / "latest" / "results.json").read_text())
    # Invalid for the right reason: the history, not a crash or missing ops.
    assert results["workload"]["valid"] is False
    assert results["stats"]["valid"] is True
    assert results["stats"]["info-count"] == 0  # every side answered
