"""Strong mode's transactions: the change function of the one transactional register, and
simulated runs judged by the Elle checker (strong: strict-serializable through partitions, loss
and duplication; eventual and causal: anomalies found)."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from nodes.caspaxos import Op, RegState
from nodes.json_registers import apply_json_ops, json_op
from nodes.strong_txn import run_txn, txn_step
from tests.maelstrom.sim_helpers import sim_config, simulate

TXN_WORKLOADS = ("txn-list-append", "txn-rw-register")


def op(rid: str, mops: list[list[object]]) -> Op:
    return json_op(rid, mops, 10_000)


def apply(state: RegState, *ops: Op) -> tuple[RegState, dict[str, object]]:
    new, results = apply_json_ops(txn_step, state, ops, origin="n0", live_own=[o.rid for o in ops],
                                  now_ms=1_000, gc_margin_ms=1_000)
    return new, {rid: (r.code, r.text) if not r.ok else orjson.loads(r.value or b"null")
                 for rid, r in results.items()}


def test_a_txn_sees_its_own_writes_and_reads_get_copies() -> None:
    state: dict[str, object] = {}
    got = run_txn(state, [["append", 1, 5], ["r", 1, None], ["append", 1, 6], ["w", "1", 2], ["r", "1", None]])
    assert got == [["append", 1, 5], ["r", 1, [5]], ["append", 1, 6], ["w", "1", 2], ["r", "1", 2]]
    assert state == {"1": [5, 6], '"1"': 2}  # 1 and "1" are different keys
    got[1][2].append(99)  # type: ignore[union-attr]
    assert state["1"] == [5, 6]


@pytest.mark.parametrize("mops", [[["w", 9, 1], ["append", 2, 7]], [["append", 9, 1], ["w", 1, 7]]])
def test_a_write_of_the_wrong_type_rejects_the_whole_txn(mops: list[list[object]]) -> None:
    state: dict[str, object] = {"1": [1], "2": 3}
    assert isinstance(run_txn(state, mops), str)
    assert state == {"1": [1], "2": 3}


def test_the_batch_applies_in_order_and_records_only_writing_txns() -> None:
    s1, results = apply(RegState(), op("a", [["append", 1, 1]]), op("b", [["r", 1, None]]),
                        op("c", [["w", 1, 2]]))
    assert results == {"a": [["append", 1, 1]], "b": [["r", 1, [1]]], "c": (14, "w to key 1, which holds a list")}
    assert orjson.loads(s1.value or b"null") == {"1": [1]}
    assert sorted(e.rid for e in s1.done) == ["a"]  # neither the read-only nor the aborted txn wrote


def test_a_retried_txn_answers_its_first_result_and_is_not_applied_twice() -> None:
    s1, first = apply(RegState(), op("a", [["append", 1, 1], ["r", 1, None]]))
    s2, again = apply(s1, op("a", [["append", 1, 1], ["r", 1, None]]), op("b", [["r", 1, None]]))
    assert again["a"] == first["a"] == [["append", 1, 1], ["r", 1, [1]]]
    assert again["b"] == [["r", 1, [1]]]
    assert s2.value == s1.value


@pytest.mark.parametrize("workload", TXN_WORKLOADS)
@pytest.mark.parametrize("seed", [1, 2])
def test_strong_mode_is_strict_serializable_through_partitions_loss_and_duplication(
        tmp_path: Path, workload: str, seed: int) -> None:
    cfg = sim_config(tmp_path, workload, "replicated", "strong", seed=seed,
                     nemesis=("partition", "loss", "duplicate"), consistency_models=("strict-serializable",))
    res, _ = simulate(cfg)
    assert res.valid is True, res.summary
    stats = res.results["stats"] if res.results else {}
    assert stats["ok-count"] > 40, stats  # mostly committed, not a history of timeouts


@pytest.mark.parametrize("mode", ["eventual", "causal"])
def test_coordination_free_modes_show_their_anomalies(tmp_path: Path, mode: str) -> None:
    cfg = sim_config(tmp_path, "txn-list-append", "replicated", mode, seed=1,
                     consistency_models=("strict-serializable",))
    res, _ = simulate(cfg)
    assert res.valid is False
    workload = res.results["workload"] if res.results else {}
    assert workload["anomaly_types"], workload
    assert "strict-serializable" in workload["also_not"] + workload["not"]
    assert all(" T1 " in e or "txn at index" in e for e in workload["explanations"])
