"""The scheduler (rate, round-robin, processes, time limit, final phase) and the op sources."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from maelstrom.generator import (GenContext, Op, PerThreadOnce, Repeat, Scheduler,
                                 parse_concurrency)
from maelstrom.workloads import WorkloadOpts, get_workload
from maelstrom.workloads.lin_kv import IndependentGenerator

NODES = ["n0", "n1"]


def sched(concurrency: int = 4, rate: float = 10.0, limit: float = 100.0, seed: int = 1) -> Scheduler:
    return Scheduler(Repeat(lambda r: Op("read")), NODES, concurrency, rate, limit,
                     random.Random(seed))


def test_gaps_are_uniform_on_zero_to_two_over_rate() -> None:
    s = sched(concurrency=1, rate=10.0, limit=1000.0)
    times = []
    now = 0.0
    while len(times) < 2000:
        inv = s.poll(now)
        if inv is None:
            now = s.wake_ms(now)  # type: ignore[assignment]
            continue
        times.append(now)
        s.complete(inv.thread, "ok")
    assert times[0] == 0.0
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert all(0 <= g < 200 for g in gaps)
    assert 90 < sum(gaps) / len(gaps) < 110


def test_round_robin_and_node_binding() -> None:
    s = sched(concurrency=4, rate=1e6)  # gaps under 0.002 ms: the rate is no obstacle
    invs = []
    for now in range(4):
        inv = s.poll(float(now))
        assert inv is not None
        invs.append(inv)
    assert [i.thread for i in invs] == [0, 1, 2, 3]
    assert [i.node for i in invs] == ["n0", "n1", "n0", "n1"]
    assert s.poll(10.0) is None and s.wake_ms(10.0) == s.end_ms  # every thread busy
    s.complete(2, "ok")
    assert s.poll(11.0).thread == 2  # type: ignore[union-attr]
    s.complete(0, "ok")
    s.complete(1, "ok")
    assert s.poll(12.0).thread == 0  # type: ignore[union-attr]  # rotation continues after 3


def test_info_moves_process_by_concurrency() -> None:
    s = sched(concurrency=3, rate=1e6)
    inv = s.poll(0)
    assert inv is not None and inv.process == 0
    s.complete(inv.thread, "info")
    assert s.processes == [3, 1, 2]
    s.complete(s.poll(1000).thread, "fail")  # type: ignore[union-attr]
    assert s.processes[1] == 1


def test_time_limit_stops_new_ops() -> None:
    s = sched(rate=1e6, limit=1.0)
    assert s.poll(999.0) is not None
    assert s.poll(1000.0) is None and s.main_over(1000.0)
    assert not s.done(1000.0)  # one op still in flight
    s.complete(0, "ok")
    assert s.done(1000.0)


def test_rate_zero_sleeps_out_the_limit() -> None:
    s = sched(rate=0.0, limit=2.0)
    assert s.poll(0.0) is None and s.wake_ms(0.0) == 2000.0
    assert not s.done(1999.0) and s.done(2000.0)


def test_final_invocations_one_per_thread() -> None:
    s = sched(concurrency=3)
    s.processes[1] = 4
    invs = s.final_invocations(PerThreadOnce(lambda t: Op("read", final=True)), 5.0)
    assert [(i.thread, i.process, i.op.final) for i in invs] == [(0, 0, True), (1, 4, True),
                                                                  (2, 2, True)]


def test_parse_concurrency() -> None:
    assert parse_concurrency("1n", 5) == 5
    assert parse_concurrency("2n", 3) == 6
    assert parse_concurrency("n", 3) == 3
    assert parse_concurrency("7", 3) == 7
    for bad in ("0", "x", "-2n", "2.5"):
        with pytest.raises(ValueError):
            parse_concurrency(bad, 3)


def ctx(thread: int, processes: list[int], seed: int = 1) -> GenContext:
    return GenContext(thread, processes[thread], tuple(processes), random.Random(seed))


def test_lin_kv_groups_reserve_reads_by_absolute_thread() -> None:
    gen = IndependentGenerator(node_count=2, group_size=4)
    procs = list(range(8))
    ops = {t: gen.op(ctx(t, procs)) for t in range(8)}
    assert [ops[t].key for t in range(8)] == [0, 0, 0, 0, 1, 1, 1, 1]  # type: ignore[union-attr]
    assert ops[0].f == ops[1].f == "read"  # type: ignore[union-attr]
    rng = random.Random(5)
    fs = Counter(gen.op(GenContext(t, t, tuple(procs), rng)).f for t in range(2, 8) for _ in range(300))  # type: ignore[union-attr]
    assert fs["read"] == 0  # groups after the first never read, as in Maelstrom
    assert 0.25 < fs["write"] / (fs["write"] + fs["cas"]) < 0.42


def test_lin_kv_key_rotates_after_process_limit() -> None:
    gen = IndependentGenerator(node_count=1, group_size=2, process_limit=4)
    procs = [0, 1]
    assert gen.op(ctx(0, procs)).key == 0  # type: ignore[union-attr]
    procs[1] += 2  # one info: processes seen {0, 1, 3}
    assert gen.op(ctx(0, procs)).key == 0  # type: ignore[union-attr]
    procs[1] += 2  # {0, 1, 3, 5}: still at the limit
    assert gen.op(ctx(0, procs)).key == 0  # type: ignore[union-attr]
    procs[0] += 2  # a fifth process: the key is done
    assert gen.op(ctx(0, procs)).key == 1  # type: ignore[union-attr]


def test_lin_kv_values_and_bodies() -> None:
    w = get_workload("lin-kv", WorkloadOpts(("n0",), 2))
    rng = random.Random(3)
    src = w.generator(rng)
    ops = [src.op(GenContext(t % 2, t % 2, (0, 1), rng)) for t in range(200)]
    for op in ops:
        assert op is not None
        if op.f == "write":
            assert op.value in range(5)
        if op.f == "cas":
            assert all(v in range(5) for v in op.value)
            assert w.request_body(op) == {"type": "cas", "key": op.key, "from": op.value[0],
                                          "to": op.value[1]}


@pytest.mark.parametrize("name,lo,hi,read_share", [("pn-counter", -5, 4, 0.5),
                                                     ("g-counter", 0, 4, 2 / 3)])
def test_counter_generators(name: str, lo: int, hi: int, read_share: float) -> None:
    w = get_workload(name, WorkloadOpts(("n0",), 1))
    rng = random.Random(11)
    src = w.generator(rng)
    ops = [src.op(GenContext(0, 0, (0,), rng)) for _ in range(3000)]
    deltas = [o.value for o in ops if o and o.f == "add"]
    assert min(deltas) == lo and max(deltas) == hi
    reads = sum(1 for o in ops if o and o.f == "read") / len(ops)
    assert abs(reads - read_share) < 0.05


def test_broadcast_values_count_up_and_mix_reads() -> None:
    w = get_workload("broadcast", WorkloadOpts(("n0", "n1"), 2))
    rng = random.Random(2)
    src = w.generator(rng)
    ops = [src.op(GenContext(0, 0, (0, 1), rng)) for _ in range(100)]
    values = [o.value for o in ops if o and o.f == "broadcast"]
    assert values == list(range(len(values))) and 30 < len(values) < 70
