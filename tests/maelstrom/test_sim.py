"""The simulator: the same seed gives the same run, and the correct nodes pass their seeds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from maelstrom.harness import EXIT_INVALID, EXIT_VALID
from maelstrom.sim.driver import sim_rngs
from maelstrom.sim.trace import first_difference
from maelstrom.store import HISTORY_FILE, MESSAGES_FILE
from tests.maelstrom.sim_helpers import sim_config, simulate

WORKLOADS = ("echo", "unique-ids", "broadcast", "g-set", "g-counter", "pn-counter", "lin-kv")
CONFIGS = ([(w, "single", "eventual") for w in WORKLOADS]
           + [("lin-kv", "replicated", m) for m in ("eventual", "causal", "strong")])


@pytest.mark.parametrize(("workload", "node", "mode"), CONFIGS)
def test_same_seed_same_trace(tmp_path: Path, workload: str, node: str, mode: str) -> None:
    cfg = sim_config(tmp_path, workload, node, mode, seed=7)
    a, ha = simulate(cfg)
    b, hb = simulate(cfg)
    assert a.store_path != b.store_path
    assert first_difference(a.store_path, b.store_path) is None
    assert ha == hb
    # the trace is not trivially empty: client traffic and node-to-node traffic both happened
    events = [json.loads(line) for line in (Path(a.store_path) / MESSAGES_FILE).read_text().splitlines()]
    assert any(e["src"].startswith("c") for e in events)
    assert (Path(a.store_path) / HISTORY_FILE).stat().st_size > 0


@pytest.mark.parametrize(("workload", "node", "mode"),
                         [("lin-kv", "replicated", "strong"), ("broadcast", "single", "eventual")])
def test_another_seed_another_trace(tmp_path: Path, workload: str, node: str, mode: str) -> None:
    a, ha = simulate(sim_config(tmp_path, workload, node, mode, seed=7))
    b, hb = simulate(sim_config(tmp_path, workload, node, mode, seed=8))
    assert ha != hb
    where = first_difference(a.store_path, b.store_path)
    assert where is not None and "first differs" in where


def test_rngs_are_drawn_from_one_seed_in_a_fixed_order() -> None:
    r1, n1 = sim_rngs(5, 3)
    r2, n2 = sim_rngs(5, 3)
    draws = [r.random() for r in (r1.net, r1.generator, r1.nemesis, r1.services, *n1)]
    assert draws == [r.random() for r in (r2.net, r2.generator, r2.nemesis, r2.services, *n2)]
    assert len(set(draws)) == len(draws)  # independent streams
    assert sim_rngs(6, 3)[0].net.random() != sim_rngs(5, 3)[0].net.random()


# The correct nodes pass these seeds with partitions (a fault every ~1 s of a 4 s run).
PASSING = ([(w, "single", "eventual") for w in WORKLOADS]
           + [(w, "replicated", m) for m in ("eventual", "causal", "strong")
              for w in ("g-set", "g-counter", "pn-counter", "broadcast")]
           + [("lin-kv", "replicated", "strong")])


@pytest.mark.parametrize(("workload", "node", "mode"), PASSING)
def test_correct_nodes_pass_fixed_seeds(tmp_path: Path, workload: str, node: str, mode: str) -> None:
    for seed in (1, 2):
        res, _ = simulate(sim_config(tmp_path, workload, node, mode, seed=seed, time_limit=4.0))
        assert res.exit_code == EXIT_VALID, (seed, res.summary)
        assert res.results is not None and res.results["workload"]["valid"] is True


def test_strong_lin_kv_with_partitions_is_linearizable_over_more_seeds(tmp_path: Path) -> None:
    for seed in range(3, 7):
        res, _ = simulate(sim_config(tmp_path, "lin-kv", "replicated", "strong", seed=seed,
                                     time_limit=6.0, rate=60))
        assert res.exit_code == EXIT_VALID, (seed, res.summary)


def test_single_node_lin_kv_forwarding_stays_linearizable_under_loss_and_duplication(
        tmp_path: Path) -> None:
    # Seeds 1, 5 and 6 were not linearizable before the home node served each
    # forwarded request once (a duplicated cas applied twice; its "precondition
    # failed" relayed first).
    for seed in (1, 5, 6):
        res, _ = simulate(sim_config(tmp_path, "lin-kv", seed=seed, time_limit=5.0, rate=50,
                                     nemesis=("duplicate", "loss"), latency_dist="exponential",
                                     duplicate_rate=0.3, loss_rate=0.1, nemesis_interval_s=10.0))
        assert res.exit_code == EXIT_VALID, (seed, res.summary)


@pytest.mark.parametrize("mode", ["eventual", "causal"])
def test_weak_modes_are_caught_non_linearizable_under_partitions(tmp_path: Path, mode: str) -> None:
    verdicts = []
    for seed in (1, 2, 3):
        res, _ = simulate(sim_config(tmp_path, "lin-kv", "replicated", mode, seed=seed,
                                     time_limit=6.0, rate=60))
        assert res.results is not None, res.summary
        verdicts.append(res.results["workload"]["valid"])
        if verdicts[-1] is False:
            assert res.exit_code == EXIT_INVALID
            break
    assert False in verdicts, verdicts


def test_a_run_writes_the_store_of_gyre_test(tmp_path: Path) -> None:
    res, _ = simulate(sim_config(tmp_path, "g-counter", "replicated", "eventual", report=True))
    run = Path(res.store_path)
    for name in ("results.json", "history.jsonl", "history.txt", "messages.jsonl", "report.html",
                 "test.json", "harness.log"):
        assert (run / name).is_file(), name
    results = json.loads((run / "results.json").read_text())
    assert results["valid"] is True and results["net"]["all"]["msg-count"] > 0
    test = json.loads((run / "test.json").read_text())
    assert test["sim-node"] == "replicated" and test["sim-mode"] == "eventual"
    # nemesis ops are in the history, as in gyre test
    assert "start-partition" in (run / "history.jsonl").read_text()


def test_a_body_that_cannot_be_serialised_crashes_the_run_naming_the_node(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from nodes import workload_handlers
    from nodes.core import NodeCore

    def bad_install(self: object, node: NodeCore) -> None:
        # a set is not JSON: orjson refuses it, as it would on a real node's stdout
        node.add_route(workload_handlers.ECHO, lambda msg, now_ms: node.send(
            msg.src, {"type": "echo_ok", "in_reply_to": msg.msg_id, "echo": {1, 2}}))

    monkeypatch.setattr(workload_handlers.Echo, "install", bad_install)
    res, _ = simulate(sim_config(tmp_path, "echo", nemesis=()))
    assert res.exit_code == 255
    assert res.crash is not None and "cannot be serialised" in res.crash and "node n" in res.crash


def test_an_exception_in_a_node_is_a_crash_with_its_traceback(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from nodes.workload_handlers import CounterWorkload

    def boom(self: object, msg: object, now_ms: int) -> None:
        raise RuntimeError("planted")

    monkeypatch.setattr(CounterWorkload, "_add", boom)
    res, _ = simulate(sim_config(tmp_path, "g-counter", nemesis=()))
    assert res.exit_code == 255
    assert res.crash is not None and "RuntimeError: planted" in res.crash and "Traceback" in res.crash


def test_healed_liveness_phase_passes_the_real_nodes(tmp_path: Path) -> None:
    res, _ = simulate(sim_config(tmp_path, "lin-kv", "replicated", "strong", seed=3, time_limit=4.0))
    assert res.results is not None
    live = res.results["liveness"]
    assert live["valid"] is True and sorted(live["first-ok-ms"]) == ["n0", "n1", "n2"]
    assert all(0 <= t <= live["bound-ms"] for t in live["first-ok-ms"].values())
    # the phase's ops come after the heal, in the checked history
    lines = (Path(res.store_path) / HISTORY_FILE).read_text().splitlines()
    heal = max(i for i, ln in enumerate(lines) if '"stop-partition"' in ln)
    assert any('"process":' in ln and '"nemesis"' not in ln for ln in lines[heal + 1:])


def test_a_node_that_stops_serving_fails_liveness_with_its_own_message(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from nodes.core import NodeCore

    real = NodeCore.handle

    def handle(self: NodeCore, msg: object, now_ms: int) -> list:  # type: ignore[type-arg]
        if self.node_id == "n1" and msg.src.startswith("c") and now_ms > 1000:  # type: ignore[attr-defined]
            return []  # n1 silently stops answering clients for good
        return real(self, msg, now_ms)  # type: ignore[arg-type]

    monkeypatch.setattr(NodeCore, "handle", handle)
    cfg = sim_config(tmp_path, "lin-kv", "replicated", "strong", seed=1, time_limit=2.0,
                     liveness_bound_ms=3000)
    res, _ = simulate(cfg)
    assert res.results is not None and res.exit_code == EXIT_INVALID
    assert res.results["workload"]["valid"] is True  # safe, but not live
    live = res.results["liveness"]
    assert live["valid"] is False and live["not-served"] == ["n1"]
    assert "liveness: after every fault was lifted" in res.summary
    assert "n1 answered no request ok within 3 s" in res.summary


def test_liveness_bound_zero_skips_the_phase(tmp_path: Path) -> None:
    res, _ = simulate(sim_config(tmp_path, "echo", liveness_bound_ms=0))
    assert res.results is not None and "liveness" not in res.results


def test_a_node_that_never_answers_init_crashes_the_run(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from nodes.core import NodeCore

    real = NodeCore.handle

    def handle(self: NodeCore, msg: object, now_ms: int) -> list:  # type: ignore[type-arg]
        out = real(self, msg, now_ms)  # type: ignore[arg-type]
        return [m for m in out if m.body.get("type") != "init_ok" or m.src != "n2"]

    monkeypatch.setattr(NodeCore, "handle", handle)
    res, _ = simulate(sim_config(tmp_path, "echo", nemesis=(), init_timeout_s=2.0))
    assert res.exit_code == 255 and res.crash is not None
    assert res.crash.startswith("init-failed: n2 did not answer init within 2 s")
