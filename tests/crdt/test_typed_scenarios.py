"""Partition scenarios, one per rule in crdt/replication/typed's package doc.

Two replicas share a starting state, a partition separates them, both write, the partition heals
(each side merges the other's deltas, in a shuffled order, twice) and both must read the result
the rule promises.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from crdt.replication.clocks import HybridClock
from crdt.replication.typed import CounterRegister, KeyCRDT, ORHash, ORSet, RList, ZSetCRDT


class Pair:
    """Replicas A and B of one value; ``a(fn)`` runs a local operation on A and keeps its delta."""

    def __init__(self, make: Callable[[], Any]) -> None:
        self.state = {"A": make(), "B": make()}
        self.clock = {"A": HybridClock("A"), "B": HybridClock("B")}
        self.out: dict[str, list[Any]] = {"A": [], "B": []}
        self.now = 0

    def _run(self, r: str, fn: Callable[..., Any]) -> Any:
        self.now += 1
        s = self.state[r]
        result = fn(s, lambda: s.next_dot(r), self.clock[r].now(self.now))
        delta = result[1] if isinstance(result, tuple) else result
        self.out[r].append(delta.copy())
        return result

    def a(self, fn: Callable[..., Any]) -> Any:
        return self._run("A", fn)

    def b(self, fn: Callable[..., Any]) -> Any:
        return self._run("B", fn)

    def sync(self, seed: int = 0) -> None:
        rng = random.Random(seed)
        for src, dst in (("A", "B"), ("B", "A")):
            deltas = self.out[src] * 2  # every delta twice
            rng.shuffle(deltas)
            for d in deltas:
                self.state[dst].merge(d)
            self.out[src] = []
        assert self.state["A"] == self.state["B"]

    @property
    def A(self) -> Any:
        return self.state["A"]


def test_concurrent_increments_add_up() -> None:
    p = Pair(CounterRegister)
    for _ in range(3):
        p.a(lambda s, dot, ts: s.increment(1, dot(), ts))
    p.b(lambda s, dot, ts: s.increment(10, dot(), ts))
    p.b(lambda s, dot, ts: s.increment(-4, dot(), ts))
    p.sync()
    assert p.A.text() == b"9"


def test_set_resets_the_counter_and_concurrent_increments_stay_on_top() -> None:
    p = Pair(CounterRegister)
    p.a(lambda s, dot, ts: s.increment(5, dot(), ts))
    p.sync()
    p.a(lambda s, dot, ts: s.assign(b"100", dot(), ts))  # saw the 5: resets it
    p.b(lambda s, dot, ts: s.increment(2, dot(), ts))  # concurrent: kept on top
    p.sync()
    assert p.A.text() == b"102"


def test_concurrent_sets_last_writer_wins_by_hybrid_clock() -> None:
    p = Pair(CounterRegister)
    p.a(lambda s, dot, ts: s.assign(b"first", dot(), ts))
    p.b(lambda s, dot, ts: s.assign(b"second", dot(), ts))  # later timestamp
    p.sync()
    assert p.A.text() == b"second"


def test_text_base_hides_concurrent_increments_until_the_next_set() -> None:
    p = Pair(CounterRegister)
    p.a(lambda s, dot, ts: s.assign(b"abc", dot(), ts))
    p.b(lambda s, dot, ts: s.increment(3, dot(), ts))
    p.sync()
    assert p.A.text() == b"abc"
    p.a(lambda s, dot, ts: s.assign(b"7", dot(), ts))
    p.sync()
    assert p.A.text() == b"7"


def test_float_increments_print_as_incrbyfloat() -> None:
    from fractions import Fraction

    p = Pair(CounterRegister)
    p.a(lambda s, dot, ts: s.assign(b"10", dot(), ts))
    p.sync()
    p.a(lambda s, dot, ts: s.increment(Fraction(1, 2), dot(), ts))
    p.b(lambda s, dot, ts: s.increment(1, dot(), ts))
    p.sync()
    assert p.A.text() == b"11.5"


def test_sadd_and_srem_of_one_member_add_wins() -> None:
    p = Pair(ORSet)
    p.a(lambda s, dot, ts: s.add(b"x", dot(), ts))
    p.a(lambda s, dot, ts: s.add(b"y", dot(), ts))
    p.sync()
    p.a(lambda s, dot, ts: s.remove([b"x", b"y"]))
    p.b(lambda s, dot, ts: s.add(b"x", dot(), ts))
    p.sync()
    assert p.A.members() == [b"x"]  # y's remove saw every add of y; x was re-added concurrently


def test_hdel_and_hset_of_one_field_keep_the_hset_and_hincrby_fields_add_up() -> None:
    p = Pair(ORHash)
    p.a(lambda s, dot, ts: s.set(b"f", b"old", dot(), ts))
    p.a(lambda s, dot, ts: s.increment(b"n", 1, dot(), ts))
    p.sync()
    p.a(lambda s, dot, ts: s.delete([b"f"]))
    p.b(lambda s, dot, ts: s.set(b"f", b"new", dot(), ts))
    p.a(lambda s, dot, ts: s.increment(b"n", 2, dot(), ts))
    p.b(lambda s, dot, ts: s.increment(b"n", 3, dot(), ts))
    p.sync()
    assert p.A.items() == {b"f": b"new", b"n": b"6"}


def test_zset_add_wins_members_lww_scores_and_zincrby_adds() -> None:
    p = Pair(ZSetCRDT)
    p.a(lambda s, dot, ts: s.add(b"m", 1.0, dot(), ts))
    p.a(lambda s, dot, ts: s.add(b"gone", 1.0, dot(), ts))
    p.sync()
    p.a(lambda s, dot, ts: s.add(b"m", 10.0, dot(), ts))
    p.b(lambda s, dot, ts: s.increment(b"m", 2.0, dot(), ts))
    p.a(lambda s, dot, ts: s.remove([b"gone"]))
    p.b(lambda s, dot, ts: s.increment(b"gone", 0.5, dot(), ts))
    p.sync()
    # m: A's ZADD 10 reset what it saw, B's concurrent ZINCRBY 2 lands on top. gone: the ZREM
    # removed the ZADD it saw; the concurrent ZINCRBY survives, on top of 0.
    assert p.A.items() == [(b"gone", 0.5), (b"m", 12.0)]


def test_concurrent_lpushes_are_all_kept_in_one_agreed_order() -> None:
    p = Pair(RList)
    p.a(lambda s, dot, ts: s.push_right([b"m"], [dot()], ts))
    p.sync()

    def push(values: list[bytes]) -> Callable[..., Any]:
        def go(s: RList, dot: Callable[[], tuple[str, int]], ts: Any) -> RList:
            r, c = dot()
            return s.push_left(values, [(r, c + i) for i in range(len(values))], ts)
        return go

    p.a(push([b"a1", b"a2"]))
    p.b(push([b"b1", b"b2", b"b3"]))
    p.a(lambda s, dot, ts: s.push_right([b"tail-a"], [dot()], ts))
    p.b(lambda s, dot, ts: s.push_right([b"tail-b"], [dot()], ts))
    p.sync()
    got = p.A.values()
    assert got == p.state["B"].values()
    # Each LPUSH's batch stays whole and in Redis's order; batches ordered by replica id.
    assert got == [b"a2", b"a1", b"b3", b"b2", b"b1", b"m", b"tail-a", b"tail-b"]


def test_racing_pops_remove_an_element_once_and_never_a_concurrent_push() -> None:
    p = Pair(RList)
    p.a(lambda s, dot, ts: s.push_right([b"x", b"y", b"z"], [("A", 1), ("A", 2), ("A", 3)], ts))
    p.sync()
    popped_a, _ = p.a(lambda s, dot, ts: s.pop_left(1))
    popped_b, _ = p.b(lambda s, dot, ts: s.pop_left(1))
    p.b(lambda s, dot, ts: s.push_left([b"new"], [dot()], ts))
    p.sync()
    assert popped_a == popped_b == [b"x"]  # both callers got x
    assert p.A.values() == [b"new", b"y", b"z"]  # x removed once; y was not popped for B


def test_lset_concurrent_with_a_pop_survives() -> None:
    p = Pair(RList)
    p.a(lambda s, dot, ts: s.push_right([b"x", b"y"], [("A", 1), ("A", 2)], ts))
    p.sync()
    p.a(lambda s, dot, ts: s.pop_left(1))
    p.b(lambda s, dot, ts: s.set(0, b"X", dot(), ts))
    p.sync()
    assert p.A.values() == [b"X", b"y"]


def test_concurrent_linserts_in_one_gap_are_ordered_by_replica() -> None:
    p = Pair(RList)
    p.a(lambda s, dot, ts: s.push_right([b"l", b"r"], [("A", 1), ("A", 2)], ts))
    p.sync()
    p.b(lambda s, dot, ts: s.insert(1, b"from-b", dot(), ts))
    p.a(lambda s, dot, ts: s.insert(1, b"from-a", dot(), ts))
    p.sync()
    assert p.A.values() == [b"l", b"from-a", b"from-b", b"r"]


def test_del_concurrent_with_sadd_keeps_the_sadd_only() -> None:
    p = Pair(KeyCRDT)

    def sadd(m: bytes) -> Callable[..., Any]:
        return lambda k, dot, ts: k.claim("set").merge(k.view("set").add(m, dot(), ts))

    p.a(sadd(b"old"))
    p.sync()
    p.a(lambda k, dot, ts: k.expire(5000, dot(), ts))
    p.sync()
    p.a(lambda k, dot, ts: k.delete())
    p.b(sadd(b"new"))
    p.sync()
    assert p.A.read() == ("set", [b"new"])
    assert p.A.expire_at() is None  # the DEL removed the TTL it saw


def test_del_concurrent_with_incr_keeps_only_the_increment() -> None:
    p = Pair(KeyCRDT)
    p.a(lambda k, dot, ts: k.view("string").assign(b"40", dot(), ts))
    p.sync()
    p.a(lambda k, dot, ts: k.delete())
    p.b(lambda k, dot, ts: k.view("string").increment(2, dot(), ts))
    p.sync()
    assert p.A.read() == ("string", b"2")


def test_expire_racing_a_del_leaves_no_ttl_for_the_next_write() -> None:
    p = Pair(KeyCRDT)
    p.a(lambda k, dot, ts: k.view("string").assign(b"v", dot(), ts))
    p.sync()
    p.a(lambda k, dot, ts: k.delete())
    p.b(lambda k, dot, ts: k.expire(9000, dot(), ts))
    p.sync()
    assert p.A.read() is None and p.A.expire_at() is None
    p.a(lambda k, dot, ts: k.claim("string").merge(k.view("string").assign(b"w", dot(), ts)))
    p.sync()
    assert p.A.read() == ("string", b"w") and p.A.expire_at() is None


def test_type_conflict_newest_type_wins_everywhere_and_the_loser_goes_on_next_write() -> None:
    p = Pair(KeyCRDT)
    p.a(lambda k, dot, ts: k.claim("list").merge(k.view("list").push_left([b"l"], [dot()], ts)))
    p.b(lambda k, dot, ts: k.claim("set").merge(k.view("set").add(b"s", dot(), ts)))  # later
    p.sync()
    assert p.A.type() == p.state["B"].type() == "set"
    assert p.A.read() == ("set", [b"s"])
    p.a(lambda k, dot, ts: k.claim("set").merge(k.view("set").add(b"t", dot(), ts)))
    p.sync()
    assert {tag for tag, _ in p.A.store.entries} == {"set"}  # the hidden list is gone
    assert p.A.read() == ("set", [b"s", b"t"])
