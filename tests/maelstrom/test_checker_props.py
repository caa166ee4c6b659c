"""Property tests: simulated correct registers are always linearizable, injected
anomalies are always caught, and the recorded histories keep their verdicts."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.bench_checker import SimConfig, simulate_anomaly
from maelstrom.checker import check_operations
from maelstrom.history import History
from maelstrom.linearizable import check_history
from maelstrom.models import get_model
from maelstrom.store import read_history

DATA = Path(__file__).resolve().parent.parent / "data"
DATA_FILES = sorted(DATA.glob("lin-*.jsonl"))
PROPERTY_SETTINGS = settings(max_examples=150, deadline=None,
                             suppress_health_check=[HealthCheck.too_slow])


#: The search alone (no shortcuts) runs on a budget of clock reads, not seconds, so its
#: verdict does not depend on the machine's load: `check_operations` reads its clock about
#: once per CLOCK_CHECK_STEPS (512) search steps, and `step_clock` advances one "second" per
#: read, so the limit is about 100,000 steps. The largest histories these strategies make
#: took under 6,000 steps (1,500 worst-case configurations measured: 60-80 ops, 6 processes,
#: the highest info rates); running out of this budget is a failure, never agreement.
SEARCH_ONLY_CLOCK_READS = 200


def step_clock() -> Callable[[], float]:
    """A clock that advances by one on every read: a time limit becomes a step budget."""
    reads = itertools.count()
    return lambda: float(next(reads))


def both_ways(history: History, model: str = "cas-register") -> list[object]:
    """Verdicts with the shortcuts, and of the search alone (which must finish)."""
    m = get_model(model)
    ops = history.operations()
    fast = check_operations(ops, m, clock=step_clock())["valid"]
    slow = check_operations(ops, m, shortcuts=False, time_limit_s=SEARCH_ONLY_CLOCK_READS,
                            clock=step_clock())
    steps = sum(k["steps"] for k in slow["keys"].values())
    assert slow["valid"] != "unknown", f"the search alone ran out of its budget after {steps} steps"
    return [fast, slow["valid"]]


configs = st.builds(
    SimConfig,
    ops=st.integers(1, 60),
    procs=st.integers(1, 6),
    keys=st.integers(1, 2),
    mix=st.sampled_from([(2, 1, 1, 0), (1, 1, 0, 0), (1, 0, 1, 0), (3, 1, 2, 0)]),
    p_info=st.sampled_from([0.0, 0.1, 0.3]),
    unique=st.booleans(),
)


@PROPERTY_SETTINGS
@given(seed=st.integers(0, 2**32 - 1), cfg=configs)
def test_simulated_register_is_linearizable(seed: int, cfg: SimConfig) -> None:
    history, _ = simulate_anomaly(seed, cfg)
    assert both_ways(history) == [True, True]


@PROPERTY_SETTINGS
@given(seed=st.integers(0, 2**32 - 1), ops=st.integers(1, 60), procs=st.integers(1, 6),
       p_info=st.sampled_from([0.0, 0.2]))
def test_simulated_kv_with_appends_is_linearizable(seed: int, ops: int, procs: int,
                                                   p_info: float) -> None:
    cfg = SimConfig(ops, procs, keys=2, mix=(4, 1, 0, 4), p_info=p_info)
    history, _ = simulate_anomaly(seed, cfg)
    assert both_ways(history, "kv") == [True, True]


@PROPERTY_SETTINGS
@given(seed=st.integers(0, 2**32 - 1), ops=st.integers(10, 80), procs=st.integers(1, 6),
       p_info=st.sampled_from([0.0, 0.1]),
       anomaly=st.sampled_from(["stale-read", "lost-write"]))
def test_injected_anomalies_are_caught(seed: int, ops: int, procs: int, p_info: float,
                                       anomaly: str) -> None:
    cfg = SimConfig(ops, procs, p_info=p_info, anomaly=anomaly)
    history, injected = simulate_anomaly(seed, cfg)
    expected = not injected
    assert both_ways(history) == [expected, expected]


def test_there_are_recorded_histories() -> None:
    names = [p.name for p in DATA_FILES]
    assert any(n.startswith("lin-valid-") for n in names)
    assert any(n.startswith("lin-invalid-") for n in names)


@pytest.mark.parametrize("path", DATA_FILES, ids=[p.name for p in DATA_FILES])
def test_recorded_histories_keep_their_verdicts(path: Path) -> None:
    model = "kv" if "-kv-" in path.name else "cas-register"
    expected = path.name.startswith("lin-valid-")
    result = check_history(read_history(path), model=model)
    assert result["valid"] is expected
    assert both_ways(read_history(path), model) == [expected, expected]
    if not expected:
        f = result["failure"]
        assert f["reason"] and f["op"] is not None and f["ops"]
