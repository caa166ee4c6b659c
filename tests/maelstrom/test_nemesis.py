"""Partition shapes, the alternating staggered schedule, and applying ops to the network."""

from __future__ import annotations

import random

import pytest

from maelstrom.nemesis import (NemesisOp, NemesisSchedule, apply_op, grudge_majorities_ring,
                               grudge_majority, grudge_minority_third, grudge_one, parse_faults)
from maelstrom.net import NetConfig, NetModel


def nodes(n: int) -> list[str]:
    return [f"n{i}" for i in range(n)]


def sees(grudge: dict, node: str, universe: list[str]) -> set[str]:
    return set(universe) - set(grudge.get(node, ()))


def test_one_isolates_a_single_node() -> None:
    ns = nodes(5)
    g = grudge_one(ns, random.Random(1))
    alone = [n for n in ns if len(g[n]) == 4]
    assert len(alone) == 1
    for n in ns:
        if n != alone[0]:
            assert g[n] == {alone[0]}


@pytest.mark.parametrize("n", [2, 3, 4, 5, 7])
def test_majority_splits_at_half(n: int) -> None:
    ns = nodes(n)
    g = grudge_majority(ns, random.Random(n))
    small = [x for x in ns if len(g[x]) > n // 2 or len(g[x]) == n - n // 2]
    sizes = sorted({len(sees(g, x, ns)) for x in ns})
    assert sizes == sorted({n // 2, n - n // 2})
    assert small  # every node is cut from the other half
    for a in ns:  # symmetric
        for b in g[a]:
            assert a in g[b]


def test_minority_third_is_empty_below_four_and_cuts_a_third_above() -> None:
    assert grudge_minority_third(nodes(3), random.Random(1)) == {}
    g = grudge_minority_third(nodes(7), random.Random(1))
    cut = [x for x in nodes(7) if len(g[x]) == 5]
    assert len(cut) == 2  # floor((7-1)/3)


def test_majorities_ring_at_three_is_one_directional() -> None:
    ns = nodes(3)
    g = grudge_majorities_ring(ns, random.Random(2))
    assert all(len(g[x]) == 1 for x in ns)
    for a in ns:
        (b,) = g[a]
        assert a not in g[b]  # b still hears a: the cut goes one way only


@pytest.mark.parametrize("n", [4, 5, 6, 7, 9])
def test_majorities_ring_everyone_sees_a_majority_but_not_all(n: int) -> None:
    ns = nodes(n)
    g = grudge_majorities_ring(ns, random.Random(n))
    for x in ns:
        assert len(sees(g, x, ns)) >= n // 2 + 1
    assert any(g.get(x) for x in ns)
    if n > 5:
        for a in ns:
            for b in g.get(a, ()):
                assert a in g[b]  # the stochastic graph is symmetric


def test_majorities_ring_at_five_gives_distinct_windows() -> None:
    ns = nodes(5)
    g = grudge_majorities_ring(ns, random.Random(5))
    windows = {frozenset(sees(g, x, ns)) for x in ns}
    assert len(windows) == 5 and all(len(w) == 3 for w in windows)


def test_schedule_alternates_start_first_with_staggered_gaps() -> None:
    sched = NemesisSchedule(("partition",), 2.0, random.Random(9))
    ops: list[NemesisOp] = []
    now = 0.0
    while now < 200_000:
        ops += sched.due(now)
        now = sched.next_time_ms()  # type: ignore[assignment]
    assert ops[0].time_ms == 0.0 and ops[0].f == "start-partition"
    assert [o.f for o in ops[:4]] == ["start-partition", "stop-partition"] * 2
    assert all(o.value in ("one", "minority-third", "majority", "majorities-ring")
               for o in ops if o.f.startswith("start"))
    gaps = [b.time_ms - a.time_ms for a, b in zip(ops, ops[1:])]
    assert all(0 <= g < 4000 for g in gaps)
    assert 1600 < sum(gaps) / len(gaps) < 2400


def test_schedule_streams_per_fault_kind() -> None:
    sched = NemesisSchedule(("partition", "loss"), 1.0, random.Random(3), loss_rate=0.5)
    first = sched.due(0.0)
    assert {o.f for o in first} == {"start-partition", "start-loss"}
    assert [o.value for o in first if o.f == "start-loss"] == [0.5]
    assert {o.f for o in sched.heal_ops()} == {"stop-partition", "stop-loss"}


def test_parse_faults() -> None:
    assert parse_faults(None) == ()
    assert parse_faults("loss, partition") == ("partition", "loss")
    with pytest.raises(ValueError, match="kill"):
        parse_faults("partition,kill")


def test_apply_op_drives_the_network() -> None:
    ns = nodes(3)
    net = NetModel(NetConfig(loss_rate=0.1), random.Random(1), ns)
    rng = random.Random(1)
    v = apply_op(net, NemesisOp(0, "start-partition", "one"), ns, rng)
    assert v[0] == "isolated" and net.grudge
    assert apply_op(net, NemesisOp(0, "stop-partition"), ns, rng) == "network-healed"
    assert net.grudge == {}
    apply_op(net, NemesisOp(0, "start-loss", 0.9), ns, rng)
    assert net.loss_rate == 0.9
    apply_op(net, NemesisOp(0, "stop-loss"), ns, rng)
    assert net.loss_rate == 0.1
    apply_op(net, NemesisOp(0, "start-duplicate", 0.3), ns, rng)
    assert net.duplicate_rate == 0.3
