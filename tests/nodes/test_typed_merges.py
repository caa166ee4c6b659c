"""Typed merges of the eventual and causal modes: concurrent writes on two sides of a partition, then a heal.

Each scenario runs real commands on two replicated servers (`helpers_replicas.Server`: an
engine and its typed keyspace) that do not hear each other, exchanges what each stamped
(any order, duplicates included), and checks both read the documented answer
(`crdt.replication.typed` and the README's table).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from crdt.replication.keystates import GC_KEYS_PER_PASS, KeyTable
from tests.nodes.helpers_replicas import T0, Server, b


def partitioned(a_cmds: list[tuple[Any, ...]], b_cmds: list[tuple[Any, ...]],
                before: list[tuple[Any, ...]] = ()) -> tuple[Server, Server]:  # type: ignore[assignment]
    """Both sides start from ``before`` (replicated), then write apart, then exchange everything."""
    a, z = Server("n0"), Server("n1")
    if before:
        z.merge(a.batch(*before, now=T0), T0)
    sa = [a.batch(c, now=T0 + 10 + i) for i, c in enumerate(a_cmds)]
    sz = [z.batch(c, now=T0 + 10 + i) for i, c in enumerate(b_cmds)]
    for stamped in sz[::-1] + sz[:1]:  # reordered, one duplicated
        a.merge(stamped, T0 + 100)
    for stamped in sa + sa[-1:]:
        z.merge(stamped, T0 + 100)
    assert a.state(T0 + 100) == z.state(T0 + 100)
    return a, z


def read(s: Server, *argv: Any) -> Any:
    return s(*argv, now=T0 + 100)


def test_concurrent_increments_add_up() -> None:
    a, z = partitioned([("INCRBY", "c", 5)] * 3 + [("DECR", "c")], [("INCRBY", "c", 7), ("INCR", "c")],
                       before=[("SET", "c", "100")])
    assert read(a, "GET", "c") == read(z, "GET", "c") == b"122"


def test_a_set_resets_what_it_saw_and_keeps_concurrent_increments() -> None:
    a, z = partitioned([("SET", "c", "10")], [("INCRBY", "c", 5), ("INCR", "c")],
                       before=[("SET", "c", "1"), ("INCRBY", "c", 2)])
    assert read(a, "GET", "c") == b"16"  # the SET's 10, plus the increments it had not seen


def test_float_increments_add_up() -> None:
    a, z = partitioned([("INCRBYFLOAT", "f", "0.5")], [("INCRBYFLOAT", "f", "1.25")],
                       before=[("SET", "f", "1")])
    assert read(a, "GET", "f") == b"2.75"


def test_sets_are_add_wins() -> None:
    a, z = partitioned([("SREM", "s", "x"), ("SADD", "s", "only-a")], [("SADD", "s", "x", "only-z")],
                       before=[("SADD", "s", "x", "y")])
    assert sorted(read(a, "SMEMBERS", "s")) == [b"only-a", b"only-z", b"x", b"y"]
    a, z = partitioned([("SREM", "s", "x")], [("SREM", "s", "y")], before=[("SADD", "s", "x", "y", "w")])
    assert sorted(read(z, "SMEMBERS", "s")) == [b"w"]  # concurrent removes both apply


def test_hashes_merge_per_field() -> None:
    a, z = partitioned([("HSET", "h", "a", "1"), ("HINCRBY", "n", "cnt", 2), ("HDEL", "h", "f")],
                       [("HSET", "h", "b", "2", "f", "kept"), ("HINCRBY", "n", "cnt", 3)],
                       before=[("HSET", "h", "f", "0"), ("HSET", "n", "cnt", "10")])
    assert sorted(read(a, "HGETALL", "h").items()) == [(b"a", b"1"), (b"b", b"2"), (b"f", b"kept")]
    assert read(z, "HGET", "n", "cnt") == b"15"


def test_sorted_sets_add_wins_and_zincrby_adds() -> None:
    a, z = partitioned([("ZINCRBY", "z", 2, "m"), ("ZREM", "z", "gone")],
                       [("ZINCRBY", "z", 3, "m"), ("ZADD", "z", 7, "gone"), ("ZADD", "z", 1, "new")],
                       before=[("ZADD", "z", 10, "m", 1, "gone")])
    assert read(a, "ZRANGE", "z", 0, -1, "WITHSCORES") == [b"new", 1.0, b"gone", 7.0, b"m", 15.0]


def test_concurrent_pushes_are_all_kept_in_one_order() -> None:
    a, z = partitioned([("RPUSH", "l", "a1", "a2"), ("LPUSH", "l", "A")], [("RPUSH", "l", "z1", "z2"), ("LPUSH", "l", "Z")],
                       before=[("RPUSH", "l", "m")])
    got = read(a, "LRANGE", "l", 0, -1)
    assert got == read(z, "LRANGE", "l", 0, -1) and sorted(got) == sorted(b("A", "Z", "m", "a1", "a2", "z1", "z2"))
    assert got.index(b"a2") == got.index(b"a1") + 1 and got.index(b"z2") == got.index(b"z1") + 1  # batches whole


def test_concurrent_pops_of_one_element_remove_it_once() -> None:
    a, z = partitioned([("LPOP", "l")], [("LPOP", "l"), ("RPUSH", "l", "new")], before=[("RPUSH", "l", "x", "y")])
    assert read(a, "LRANGE", "l", 0, -1) == [b"y", b"new"]  # both popped x; y was popped by nobody


def test_delete_is_observed_remove_and_a_concurrent_write_survives() -> None:
    a, z = partitioned([("DEL", "s", "k", "c")], [("SADD", "s", "late"), ("INCRBY", "c", 4)],
                       before=[("SADD", "s", "x", "y"), ("SET", "k", "v"), ("SET", "c", "100")])
    assert read(a, "SMEMBERS", "s") == [b"late"] and read(a, "EXISTS", "k") == 0
    assert read(z, "GET", "c") == b"4"  # the increment the DEL had not seen, on top of nothing


def test_expiry_is_a_delete_and_the_ttl_is_last_writer_wins() -> None:
    a, z = partitioned([("EXPIRE", "k", 100)], [("PERSIST", "k"), ("SET", "t", "v")],
                       before=[("SET", "k", "v", "EX", 50)])
    assert read(a, "TTL", "k") == -1 == read(z, "TTL", "k")  # the later write (PERSIST) wins


def test_a_type_conflict_resolves_the_same_on_both_sides() -> None:
    a, z = partitioned([("RPUSH", "k", "x")], [("SADD", "k", "y")])
    assert read(a, "TYPE", "k") == read(z, "TYPE", "k")
    a(*("DEL", "k"), now=T0 + 200)
    z.merge(a.stamp(T0 + 200), T0 + 200)
    assert read(z, "EXISTS", "k") == 0


def test_gc_forgets_deleted_keys_and_folds_counters_once_every_peer_acknowledged() -> None:
    a, z = Server("n0"), Server("n1")
    for i in range(50):
        z.merge(a.batch(("INCR", "c"), ("SADD", "s", i), ("SET", f"k{i}", "v"), now=T0 + i), T0 + i)
        if i % 2:
            z.merge(a.batch(("SREM", "s", i), ("DEL", f"k{i}"), now=T0 + i), T0 + i)
    for s in (a, z):
        assert len(s.ks.table) == 52 and s.ks.table.collect(["peer"]) == []  # no acknowledgement yet
    ack_a, ack_z = a.ks.table.acknowledgement(), z.ks.table.acknowledgement()
    a.ks.table.note_ack("n1", ack_z)
    z.ks.table.note_ack("n0", ack_a)
    forgotten = a.ks.collect(["n1"])
    assert forgotten == 25 == z.ks.collect(["n0"])  # the deleted keys
    counter = a.ks.table.get((0, b"c"))
    assert counter is not None and counter.crdt.store.dot_count() == 1  # 50 increments folded into one
    dots, ctx = a.ks.table.metadata()
    assert dots == 25 + 1 + 25 and ctx <= 2 * 27  # one dot per live element; one context entry per writer
    assert a.state(T0 + 60) == z.state(T0 + 60)
    late = a.batch(("SET", "k1", "again"), now=T0 + 70)  # a forgotten key written again replicates
    z.merge(late, T0 + 70)
    assert z("GET", "k1", now=T0 + 70) == b"again"


def test_a_gc_pass_looks_at_a_bounded_number_of_keys_oldest_first() -> None:
    a, z = Server("n0"), Server("n1")
    n = GC_KEYS_PER_PASS + 500
    z.merge(a.batch(*[("SET", f"k{i}", "v") for i in range(n)], now=T0), T0)
    z.merge(a.batch(*[("DEL", f"k{i}") for i in range(n)], now=T0 + 1), T0 + 1)
    a.ks.table.note_ack("n1", z.ks.table.acknowledgement())
    assert a.ks.collect(["n1"]) == GC_KEYS_PER_PASS  # one pass never looks at every key
    assert len(a.ks.table) == 500
    assert a.ks.collect(["n1"]) == 500 and len(a.ks.table) == 0  # the next pass takes the rest
    assert a.ks.collect(["n1"]) == 0


def test_a_late_delta_for_a_forgotten_key_stays_removed() -> None:
    a, z = Server("n0"), Server("n1")
    old = a.batch(("SADD", "s", "x"), now=T0)
    z.merge(old, T0)
    z.merge(a.batch(("DEL", "s"), now=T0 + 1), T0 + 1)
    for me, peer, name in ((a, z, "n1"), (z, a, "n0")):
        me.ks.table.note_ack(name, peer.ks.table.acknowledgement())
    assert a.ks.collect(["n1"]) == 1 == z.ks.collect(["n0"])
    z.merge(old, T0 + 2)  # a duplicate of the first delta, long delayed
    assert z("EXISTS", "s", now=T0 + 2) == 0


def test_acknowledgements_of_a_peer_this_replica_has_not_caught_up_with_are_not_used() -> None:
    t = KeyTable()
    t.note_dot(("me", 1))
    t.note_ack("p", {"me": 1, "p": 5})  # the peer has seen its own dots 1..5; we have none of them
    assert t.stable(["p"]) is None
    t.note_ack("p", {"me": 1})  # an older one would do, but it is not newer than what is kept
    assert t.stable(["p"]) is None


@pytest.mark.parametrize("mode", ["eventual", "causal"])
@pytest.mark.parametrize("workload", ["g-counter", "pn-counter"])
def test_counter_workloads_through_incrby_stay_valid_with_partitions_loss_and_duplication(
        tmp_path: Path, mode: str, workload: str) -> None:
    from tests.maelstrom.sim_helpers import sim_config, simulate

    res, _ = simulate(sim_config(tmp_path, workload, "replicated", mode, seed=2,
                                 nemesis=("partition", "loss", "duplicate")))
    assert res.valid is True, res.summary
