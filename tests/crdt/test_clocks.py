"""Tests for crdt.replication.clocks: hybrid logical clocks and vector clocks."""

from __future__ import annotations

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from crdt.replication.clocks import (
    DecodeError,
    HybridClock,
    Ordering,
    Timestamp,
    VectorClock,
    hlc_now,
    hlc_observe,
)
from protocol.errors import ProtocolError

node_ids = st.sampled_from(["n0", "n1", "n2", "n3"])
times = st.integers(min_value=0, max_value=10_000)
timestamps = st.builds(Timestamp, times, st.integers(min_value=0, max_value=50), node_ids)
vector_clocks = st.dictionaries(node_ids, st.integers(min_value=0, max_value=5)).map(VectorClock.of)

# A clock's life: local events at some reading, or receipts of remote timestamps.
events = st.lists(st.tuples(st.booleans(), times, timestamps), max_size=30)


# --- Timestamp ---------------------------------------------------------------


def test_timestamp_order_is_lexicographic() -> None:
    assert Timestamp(1, 9, "z") < Timestamp(2, 0, "a")
    assert Timestamp(2, 0, "z") < Timestamp(2, 1, "a")
    assert Timestamp(2, 1, "a") < Timestamp(2, 1, "b")
    assert Timestamp(2, 1, "a") == Timestamp(2, 1, "a")


@given(timestamps)
def test_timestamp_json_round_trip(ts: Timestamp) -> None:
    data = ts.to_json()
    assert data == [ts.physical_ms, ts.logical, ts.node_id]
    assert Timestamp.from_json(orjson.loads(orjson.dumps(data))) == ts


@pytest.mark.parametrize(
    "data",
    [None, [], [1, 2], [1, 2, "n", 4], {"p": 1}, [1.0, 0, "n"], [1, True, "n"], [-1, 0, "n"], [1, -2, "n"], [1, 0, 5]],
)
def test_timestamp_from_json_rejects(data: object) -> None:
    with pytest.raises(DecodeError) as info:
        Timestamp.from_json(data)
    assert isinstance(info.value, ProtocolError)


# --- hybrid logical clock -----------------------------------------------------


def test_hlc_follows_physical_time_then_counts() -> None:
    clock = HybridClock("n1")
    assert clock.last is None
    assert clock.now(100) == Timestamp(100, 0, "n1")
    assert clock.now(100) == Timestamp(100, 1, "n1")
    assert clock.now(90) == Timestamp(100, 2, "n1")  # clock went backwards
    assert clock.now(101) == Timestamp(101, 0, "n1")


def test_hlc_observe_rules() -> None:
    assert hlc_observe(None, Timestamp(50, 3, "n2"), "n1", 10) == Timestamp(50, 4, "n1")
    assert hlc_observe(None, Timestamp(50, 3, "n2"), "n1", 60) == Timestamp(60, 0, "n1")
    last = Timestamp(50, 7, "n1")
    assert hlc_observe(last, Timestamp(50, 3, "n2"), "n1", 10) == Timestamp(50, 8, "n1")
    assert hlc_observe(last, Timestamp(50, 9, "n2"), "n1", 10) == Timestamp(50, 10, "n1")
    assert hlc_observe(last, Timestamp(40, 9, "n2"), "n1", 10) == Timestamp(50, 8, "n1")
    assert hlc_observe(last, Timestamp(70, 2, "n2"), "n1", 10) == Timestamp(70, 3, "n1")


def test_hlc_observe_beats_equal_timestamp_from_higher_node() -> None:
    # Same physical and logical, higher node id: the result must still be greater.
    clock = HybridClock("a", last=Timestamp(5, 1, "a"))
    assert clock.observe(Timestamp(5, 1, "z"), 0) > Timestamp(5, 1, "z")


@given(node_ids, events)
def test_hlc_is_strictly_monotonic(node: str, life: list[tuple[bool, int, Timestamp]]) -> None:
    clock = HybridClock(node)
    previous: Timestamp | None = None
    for local, now_ms, remote in life:
        ts = clock.now(now_ms) if local else clock.observe(remote, now_ms)
        assert ts.node_id == node
        assert ts.physical_ms >= now_ms
        if previous is not None:
            assert ts > previous
        previous = ts
        assert clock.last == ts


@given(node_ids, events, timestamps, times, times)
def test_observe_then_now_is_after_remote(
    node: str, life: list[tuple[bool, int, Timestamp]], remote: Timestamp, t1: int, t2: int
) -> None:
    clock = HybridClock(node)
    for local, now_ms, other in life:
        if local:
            clock.now(now_ms)
        else:
            clock.observe(other, now_ms)
    observed = clock.observe(remote, t1)
    assert observed > remote
    assert clock.now(t2) > observed > remote


@given(st.one_of(st.none(), timestamps), node_ids, times)
def test_hlc_functions_are_pure(last: Timestamp | None, node: str, now_ms: int) -> None:
    assert hlc_now(last, node, now_ms) == hlc_now(last, node, now_ms)
    if last is not None and last.node_id == node:
        assert hlc_now(last, node, now_ms) > last


# --- VectorClock ----------------------------------------------------------------


def test_vector_clock_is_canonical() -> None:
    a = VectorClock.of({"n2": 1, "n1": 3, "n3": 0})
    assert a == VectorClock.of({"n1": 3, "n2": 1})
    assert hash(a) == hash(VectorClock.of({"n1": 3, "n2": 1}))
    assert a.entries == (("n1", 3), ("n2", 1))
    assert list(a) == ["n1", "n2"] and len(a) == 2
    assert a["n1"] == 3 and a.counter("n9") == 0 and "n9" not in a
    with pytest.raises(KeyError):
        a["n9"]


def test_vector_clock_increment() -> None:
    a = VectorClock()
    b = a.increment("n1").increment("n1").increment("n2", 5)
    assert a == VectorClock()  # unchanged
    assert b.to_json() == {"n1": 2, "n2": 5}
    assert b.increment("n3", 0) == b
    with pytest.raises(ValueError):
        b.increment("n1", -1)
    with pytest.raises(ValueError):
        VectorClock.of({"n1": -1})


def test_vector_clock_compare_examples() -> None:
    a = VectorClock.of({"n1": 1})
    b = VectorClock.of({"n1": 1, "n2": 1})
    c = VectorClock.of({"n2": 2})
    assert a.compare(a) is Ordering.EQUAL
    assert a.compare(b) is Ordering.BEFORE and b.compare(a) is Ordering.AFTER
    assert a.compare(c) is Ordering.CONCURRENT
    assert a <= b and a < b and b >= a and b > a and not a >= b
    assert not (a <= c) and not (c <= a)
    assert b.dominates(a) and b.dominates(b) and not a.dominates(b)


def test_vector_clock_json_is_sorted_and_deterministic() -> None:
    a = VectorClock.of({"n3": 1, "n1": 2, "n2": 3})
    assert orjson.dumps(a.to_json()) == b'{"n1":2,"n2":3,"n3":1}'


@pytest.mark.parametrize("data", [None, [], {"n1": -1}, {"n1": 1.0}, {"n1": True}, {"n1": "1"}])
def test_vector_clock_from_json_rejects(data: object) -> None:
    with pytest.raises(DecodeError):
        VectorClock.from_json(data)


@given(vector_clocks)
def test_vector_clock_json_round_trip(a: VectorClock) -> None:
    assert VectorClock.from_json(orjson.loads(orjson.dumps(a.to_json()))) == a


@given(vector_clocks, vector_clocks)
def test_merge_commutative_and_dominates_both(a: VectorClock, b: VectorClock) -> None:
    m = a.merge(b)
    assert m == b.merge(a)
    assert m.dominates(a) and m.dominates(b)
    assert a <= m and b <= m


@given(vector_clocks, vector_clocks, vector_clocks)
def test_merge_associative(a: VectorClock, b: VectorClock, c: VectorClock) -> None:
    assert a.merge(b).merge(c) == a.merge(b.merge(c))


@given(vector_clocks)
def test_merge_idempotent(a: VectorClock) -> None:
    assert a.merge(a) == a
    assert a.merge(VectorClock()) == a


@given(vector_clocks, vector_clocks)
def test_compare_is_mirrored_and_consistent(a: VectorClock, b: VectorClock) -> None:
    order = a.compare(b)
    assert b.compare(a) is order.mirror()
    assert (order is Ordering.EQUAL) == (a == b)
    assert a.dominates(b) == (order in (Ordering.AFTER, Ordering.EQUAL))
    m = a.merge(b)
    # the merge is the least upper bound: equal to a exactly when a dominates b
    assert (m == a) == a.dominates(b)
    if order is Ordering.CONCURRENT:
        assert m.compare(a) is Ordering.AFTER and m.compare(b) is Ordering.AFTER


@given(vector_clocks, node_ids)
def test_increment_moves_strictly_after(a: VectorClock, node: str) -> None:
    assert a.increment(node).compare(a) is Ordering.AFTER


def test_ordering_mirror() -> None:
    assert Ordering.BEFORE.mirror() is Ordering.AFTER
    assert Ordering.AFTER.mirror() is Ordering.BEFORE
    assert Ordering.EQUAL.mirror() is Ordering.EQUAL
    assert Ordering.CONCURRENT.mirror() is Ordering.CONCURRENT
