"""Replicated RESP servers: stamping what commands wrote (`TypedKeyspace.stamp`) and merging it on a peer.

Each `Server` is an engine with every database's write delta kept open, as
`gyre serve --peers` runs it, plus the `TypedKeyspace` beside it; a batch of
commands is stamped the way `Replication.after_batch` does it.
"""

from __future__ import annotations

import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crdt.replication.clocks import DecodeError, Timestamp
from crdt.replication.images import Image
from crdt.replication.keystates import Entry, Mark
from crdt.replication.typed import KeyCRDT
from nodes.causal import CAUSAL_SNAPSHOT, CAUSAL_SYNC, CAUSAL_WRITES, CausalKv
from nodes.eventual import KV_DELTA, EventualKv
from nodes.replicated import ReplicatedConfig, ReplicatedNode
from nodes.typed_keyspace import (
    Stamped,
)
from protocol.maelstrom_json import ErrorCode, Message
from tests.nodes.helpers_nodes import assert_error, roundtrip
from tests.nodes.helpers_replicas import T0, Server


def refs(stamped: Stamped) -> list[tuple[int, bytes]]:
    return [e.ref for e in stamped.entries]


# --- stamping -------------------------------------------------------------------------------------


def test_each_command_stamps_the_keys_it_wrote_with_their_images() -> None:
    s = Server()
    out = s.batch(("SET", "k", "v"))
    assert s.images(out) == {(0, b"k"): Image("string", b"v")} and not out.marks
    assert s.images(s.batch(("SET", "t", "v", "PX", 500))) == {(0, b"t"): Image("string", b"v", T0 + 500)}
    assert s.images(s.batch(("EXPIRE", "k", 100), now=T0 + 1)) == {(0, b"k"): Image("string", b"v", T0 + 100_001)}
    assert s.images(s.batch(("PERSIST", "k"), now=T0 + 2)) == {(0, b"k"): Image("string", b"v")}
    assert s.images(s.batch(("RENAME", "k", "r"))) == {(0, b"k"): None, (0, b"r"): Image("string", b"v")}
    assert s.images(s.batch(("MOVE", "r", 2))) == {(0, b"r"): None, (2, b"r"): Image("string", b"v")}
    assert s.images(s.batch(("COPY", "t", "c", "DB", 1))) == {(1, b"c"): Image("string", b"v", T0 + 500)}
    assert s.images(s.batch(("SELECT", 3), ("SET", "three", "3"), ("SELECT", 0))) == {
        (3, b"three"): Image("string", b"3")}
    assert s.images(s.batch(("LPUSH", "l", "a", "b", "a"))) == {(0, b"l"): Image("list", (b"a", b"b", b"a"))}
    assert s.images(s.batch(("SADD", "s", "2", "x", "1"))) == {(0, b"s"): Image("set", (b"1", b"2", b"x"))}
    assert s.images(s.batch(("HSET", "h", "g", "2", "f", "1"))) == {
        (0, b"h"): Image("hash", ((b"f", b"1"), (b"g", b"2")))}
    assert s.images(s.batch(("ZADD", "z", "inf", "m", "-1.5", "a"))) == {
        (0, b"z"): Image("zset", ((b"a", -1.5), (b"m", float("inf"))))}
    assert s.images(s.batch(("INCR", "n"), ("INCRBY", "n", 41))) == {(0, b"n"): Image("string", b"42")}
    assert s.images(s.batch(("DEL", "l", "s"))) == {(0, b"l"): None, (0, b"s"): None}


def test_timestamps_grow_and_the_table_keeps_the_latest() -> None:
    s = Server()
    first = s.batch(("SET", "k", "1"))
    second = s.batch(("SET", "k", "2"), ("APPEND", "k", "x"))  # one key, one delta per batch
    [e1], [e2] = first.entries, second.entries
    assert e1.ts < e2.ts and s.ks.table.get(e2.ref).ts == e2.ts  # type: ignore[union-attr]
    assert s.images(second) == {(0, b"k"): Image("string", b"2x")}
    assert len(e2.crdt.store.dots_of(("string", b""))) == 1  # only the batch's net effect travels


def test_nothing_written_stamps_nothing() -> None:
    s = Server()
    assert not s.batch(("DEL", "missing"), ("GET", "missing"), ("SREM", "s", "x"), ("PERSIST", "nope"))
    s.batch(("SET", "k", "v"))
    assert not s.batch(("GET", "k"), ("EXPIRE", "nope", 5))


def test_flushdb_is_a_mark_and_later_writes_of_the_batch_follow_it() -> None:
    s = Server()
    s.batch(("SET", "old", "1"), ("SELECT", 1), ("SET", "other", "1"), ("SELECT", 0))
    out = s.batch(("SET", "before", "1"), ("FLUSHDB",), ("SET", "after", "2"), ("SET", "after", "3"))
    assert list(out.marks) == [0] and refs(out) == [(0, b"after")]  # no entry for keys the flush removed
    [entry] = out.entries
    assert s.images(out) == {(0, b"after"): Image("string", b"3")} and entry.ts > out.marks[0].ts
    assert s.live(0) == [(0, b"after")] and s.live(1) == [(1, b"other")]  # another database is untouched
    out = s.batch(("FLUSHALL",))
    assert sorted(out.marks) == list(range(len(s.engine.dbs))) and not out.entries
    assert not any(s.live(db) for db in range(len(s.engine.dbs)))


def test_swapdb_marks_both_databases_and_rewrites_every_key() -> None:
    s = Server()
    s.batch(("SET", "a", "0"), ("SELECT", 1), ("SET", "b", "1"), ("RPUSH", "c", "x"), ("SELECT", 0))
    out = s.batch(("SWAPDB", 0, 1), ("SET", "d", "after"))
    assert sorted(out.marks) == [0, 1] and out.marks[0] != out.marks[1]
    assert s.images(out) == {(0, b"b"): Image("string", b"1"), (0, b"c"): Image("list", (b"x",)),
                          (0, b"d"): Image("string", b"after"), (1, b"a"): Image("string", b"0")}
    assert all(e.ts > out.marks[e.ref[0]].ts for e in out.entries)
    assert s.live(1) == [(1, b"a")]


def test_expiry_replicates_as_an_observed_remove() -> None:
    s, peer = Server(), Server("n1")
    peer.merge(s.batch(("SET", "lazy", "v", "PX", 10), ("SET", "active", "v", "PX", 10), ("SET", "kept", "v")))
    later = T0 + 100
    assert s("GET", "lazy", now=later) is None  # lazy expiry deletes it: the delta records the key
    assert s.engine.active_expire(later) == 1
    out = s.stamp(later)
    assert sorted(refs(out)) == [(0, b"active"), (0, b"lazy")]
    assert all(not e.crdt.store.entries for e in out.entries)  # removes, no new contents
    peer.merge(out, T0 + 5)  # the peer's clock has not reached the TTL: the remove still applies
    assert peer.state(T0 + 5) == s.state(later) == {0: {b"kept": (b"string", b"v", -1)}}


# --- a peer merging what was stamped ---------------------------------------------------------------


def test_a_peer_merging_every_batch_holds_the_same_keyspace() -> None:
    a, peer = Server("n0"), Server("n1")
    batches = [
        [("SET", "s", "v", "EX", 100), ("SET", "plain", "p"), ("INCR", "n"), ("INCR", "n")],
        [("RPUSH", "l", "a", "a", "b"), ("SADD", "set", *range(600)), ("SADD", "small", "x", "1")],
        [("HSET", "h", "f", "v", "g", "w"), ("ZADD", "z", "-inf", "lo", "0", "zero", "2.5", "m")],
        [("SELECT", 3), ("SET", "in3", "x"), ("PEXPIRE", "in3", 5000), ("SELECT", 0), ("MOVE", "plain", 5)],
        [("COPY", "l", "l2", "DB", 2), ("RENAME", "h", "h2"), ("PERSIST", "s"), ("EXPIRE", "z", 50)],
        [("SELECT", 1), ("SET", "gone", "1"), ("FLUSHDB",), ("SET", "survivor", "1"), ("SELECT", 0)],
        [("SWAPDB", 1, 2), ("DEL", "n"), ("LPOP", "l"), ("SPOP", "small"), ("SET", "t", "1", "PX", 1)],
    ]
    for i, batch in enumerate(batches):
        now = T0 + 10 * i
        peer.merge(a.batch(*batch, now=now), now)
        assert peer.state(now) == a.state(now), i
    later = T0 + 60_000  # TTLs pass on both sides by their own clocks
    assert peer.state(later) == a.state(later) and b"z" not in peer.state(later)[0]
    assert peer.ks.table == a.ks.table and peer.ks.digests() == a.ks.digests()


def test_a_remote_flush_removes_older_keys_but_keeps_a_later_concurrent_write() -> None:
    a, peer = Server("n0"), Server("n1")
    peer.merge(a.batch(("SET", "x", "1"), ("SET", "y", "1"), now=T0), T0)
    early = peer.batch(("SET", "w", "before-the-flush"), now=T0 + 5)
    flush = a.batch(("FLUSHDB",), now=T0 + 10)  # concurrent with the peer's writes
    late = peer.batch(("SET", "z", "after-the-flush"), now=T0 + 20)
    peer.merge(flush, T0 + 21)
    a.merge(late, T0 + 21)
    a.merge(early, T0 + 21)  # older than the flush: refused
    assert peer.state(T0 + 21) == a.state(T0 + 21) == {
        0: {b"z": (b"string", b"after-the-flush", -1)}}
    assert a.ks.table == peer.ks.table and a.ks.digests() == peer.ks.digests()


def test_a_merge_naming_a_missing_database_changes_nothing() -> None:
    s = Server()
    s.batch(("SET", "k", "v"))
    before, digests = s.state(T0), s.ks.digests()
    ts = Timestamp(T0 + 50, 0, "n9")
    crdt = KeyCRDT()
    crdt.view("string").assign(b"new", ("n9:1", 1), ts)
    good = Entry((0, b"k"), ts, crdt)
    bad = Entry((len(s.engine.dbs), b"k"), ts, crdt)
    with pytest.raises(DecodeError):
        s.ks.merge([good, bad], T0)
    with pytest.raises(DecodeError):
        s.ks.merge([good], T0, marks=[(len(s.engine.dbs), Mark(ts, ("n9:1", 2)))])
    assert s.state(T0) == before and s.ks.digests() == digests and s.ks.applied == 0


# --- through the nodes ----------------------------------------------------------------------------


def node(me: str, mode: str, ids: tuple[str, ...] = ("n0", "n1")) -> ReplicatedNode:
    core = ReplicatedNode(rng=random.Random(int(me[1:])), config=ReplicatedConfig(mode=mode), now_ms=T0)
    core.handle(Message("c0", me, {"type": "init", "msg_id": 1, "node_id": me, "node_ids": list(ids)}), T0)
    return core


def test_a_delta_with_a_garbage_state_is_malformed_and_changes_nothing() -> None:
    n0 = node("n0", "eventual")
    assert isinstance(n0.kv, EventualKv)
    ctx = {"vv": {"n1:1": 1}, "cloud": []}
    good = ["k", [T0, 0, "n1"], {"ctx": ctx, "e": [[["list", [[0, "n1:1", 1]]], [["n1:1", 1, ["=", [T0, 0, "n1"], "a"]]]]]}]
    for garbage in ({"ctx": ctx, "e": [[["zset", "m"], [["n1:1", 1, ["=", [T0, 0, "n1"], "nan"]]]]]},
                    {"ctx": ctx, "e": [[["set", "m"], [["n1:1", 1, ["+", 1, 1, [T0, 0, "n1"]]]]]]},
                    {"ctx": ctx, "e": [[["set", "m"], [["n1:1", 2, ["=", [T0, 0, "n1"], None]]]]]},
                    {"ctx": ctx, "e": [[["ttl", ""], [["n1:1", 1, ["=", [T0, 0, "n1"], -1]]]]]},
                    {"ctx": ctx, "e": [[["stream", "a"], [["n1:1", 1, ["=", [T0, 0, "n1"], "a"]]]]]},
                    {"ctx": ctx, "e": [], "extra": 1}):
        body = {"type": KV_DELTA.type, "entries": [good, ["bad", [T0, 1, "n1"], garbage]],
                "marks": [[0, [T0, 2, "n1"], ["n1:1", 3]]], "msg_id": 5}
        [reply] = n0.handle(roundtrip(Message("n1", "n0", body)), T0)
        assert_error(reply.body, ErrorCode.MALFORMED_REQUEST, 5)
    ks = n0.kv.keyspace
    assert len(ks) == 0 and not ks.table.marks and ks.engine.dbs[0].key_count == 0


def resp_side(core: ReplicatedNode) -> Server:
    return Server(keyspace=core.kv.keyspace)


def deliver(messages: list[Message], dest: ReplicatedNode, now: int) -> list[Message]:
    out: list[Message] = []
    for m in messages:
        if m.dest == dest.node_id:
            out += [roundtrip(x) for x in dest.handle(roundtrip(m), now)]
    return out


def test_causal_replicate_carries_flush_marks() -> None:
    n0, n1 = node("n0", "causal"), node("n1", "causal")
    kv0 = n0.kv
    assert isinstance(kv0, CausalKv)
    a, b_side = resp_side(n0), resp_side(n1)
    kv0.replicate(a.batch(("SET", "k", "v"), ("SELECT", 2), ("HSET", "h", "f", "v"), ("SELECT", 0)))
    [push] = n0.drain()
    assert push.body["type"] == CAUSAL_WRITES.type
    assert deliver([push], n1, T0) == []
    assert b_side.state(T0) == a.state(T0) != {}
    kv0.replicate(a.batch(("SELECT", 2), ("FLUSHDB",), ("SET", "after", "1"), ("SELECT", 0), now=T0 + 5))
    [push] = n0.drain()
    [write] = push.body["writes"]
    assert [m[0] for m in write["marks"]] == [2] and len(write["entries"]) == 1
    deliver([push], n1, T0 + 5)
    assert b_side.state(T0 + 5) == a.state(T0 + 5)
    assert set(b_side.state(T0 + 5)[2]) == {b"after"}
    assert n1.kv.keyspace.table == kv0.keyspace.table


def test_causal_request_sync_on_an_empty_node_gets_a_snapshot() -> None:
    n0, n1 = node("n0", "causal"), node("n1", "causal")
    kv0, kv1 = n0.kv, n1.kv
    assert isinstance(kv0, CausalKv) and isinstance(kv1, CausalKv)
    a = resp_side(n0)
    kv0.replicate(a.batch(("SET", "k", "v", "EX", 60), ("SELECT", 1), ("FLUSHDB",), ("SADD", "s", "m")))
    n0.drain()  # lost: n1 starts empty
    kv1.request_sync()
    [ask] = n1.drain()
    assert ask.body["type"] == CAUSAL_SYNC.type and ask.body["sync"] is True
    [snap] = deliver([ask], n0, T0 + 1)
    assert snap.body["type"] == CAUSAL_SNAPSHOT.type and snap.body["sync"] is True and "marks" in snap.body
    assert kv1.synced_with == set()
    deliver([snap], n1, T0 + 1)
    assert kv1.synced_with == {"n0"}
    assert resp_side(n1).state(T0 + 1) == a.state(T0 + 1)
    assert kv1.keyspace.table == kv0.keyspace.table and kv1.clock == kv0.clock


def test_eventual_replicate_carries_flush_marks_and_request_sync_repairs_an_empty_node() -> None:
    n0, n1 = node("n0", "eventual"), node("n1", "eventual")
    kv0, kv1 = n0.kv, n1.kv
    assert isinstance(kv0, EventualKv) and isinstance(kv1, EventualKv)
    a = resp_side(n0)
    kv0.replicate(a.batch(("SET", "k", "v"), ("SELECT", 4), ("ZADD", "z", "1", "m"), ("SELECT", 0)))
    n0.drain()  # lost
    kv0.replicate(a.batch(("SELECT", 4), ("FLUSHDB",), ("SELECT", 0), now=T0 + 1))
    [push] = n0.drain()
    assert push.body["type"] == KV_DELTA.type and push.body["entries"] == [] and len(push.body["marks"]) == 1
    deliver([push], n1, T0 + 1)
    assert n1.kv.keyspace.table.marks == kv0.keyspace.table.marks
    kv1.request_sync()
    [ask] = n1.drain()
    assert ask.body["sync"] is True
    [answer] = deliver([ask], n0, T0 + 2)
    assert kv1.synced_with == set()
    assert deliver([answer], n1, T0 + 2) == []  # nothing left to push back
    assert kv1.synced_with == {"n0"}
    assert resp_side(n1).state(T0 + 2) == a.state(T0 + 2) == {0: {b"k": (b"string", b"v", -1)}}
    assert kv1.keyspace.digests() == kv0.keyspace.digests()
    [ask] = (kv1.request_sync(), n1.drain())[1]
    [answer] = deliver([ask], n0, T0 + 3)  # in sync: a sync request is still answered
    assert answer.body["entries"] == []


KEYS = ("a", "b", "c")
commands = st.one_of(
    st.tuples(st.just("SET"), st.sampled_from(KEYS), st.sampled_from(["1", "x"])),
    st.tuples(st.just("SET"), st.sampled_from(KEYS), st.just("v"), st.just("PX"), st.integers(1, 30)),
    st.tuples(st.sampled_from(["DEL", "PERSIST", "INCR", "LPOP", "SPOP"]), st.sampled_from(KEYS)),
    st.tuples(st.just("PEXPIRE"), st.sampled_from(KEYS), st.integers(-5, 30)),
    st.tuples(st.sampled_from(["RPUSH", "SADD"]), st.sampled_from(KEYS), st.sampled_from(["m", "2", "-0"])),
    st.tuples(st.just("HSET"), st.sampled_from(KEYS), st.sampled_from(["f", "g"]), st.just("v")),
    st.tuples(st.just("ZADD"), st.sampled_from(KEYS), st.sampled_from(["-0", "inf", "1"]), st.just("m")),
    st.tuples(st.sampled_from(["RENAME", "COPY"]), st.sampled_from(KEYS), st.sampled_from(KEYS)),
    st.tuples(st.just("MOVE"), st.sampled_from(KEYS), st.integers(0, 2)),
    st.tuples(st.just("SELECT"), st.integers(0, 2)),
    st.tuples(st.just("SWAPDB"), st.integers(0, 2), st.integers(0, 2)),
    st.just(("FLUSHDB",)), st.just(("GET", "a")), st.just(("EXPIRE_CYCLE",)),
    # element-wise writes of every type, increments among them
    st.tuples(st.just("LINSERT"), st.sampled_from(KEYS), st.sampled_from(["BEFORE", "AFTER"]),
              st.sampled_from(["m", "2"]), st.sampled_from(["n", "m"])),
    st.tuples(st.just("LSET"), st.sampled_from(KEYS), st.integers(-2, 1), st.sampled_from(["s", "m"])),
    st.tuples(st.just("LREM"), st.sampled_from(KEYS), st.integers(-1, 1), st.sampled_from(["m", "2"])),
    st.tuples(st.just("LTRIM"), st.sampled_from(KEYS), st.integers(-2, 1), st.integers(-2, 2)),
    st.tuples(st.sampled_from(["RPOP", "SREM", "ZREM"]), st.sampled_from(KEYS), st.sampled_from(["m", "2"])),
    st.tuples(st.just("LPUSH"), st.sampled_from(KEYS), st.sampled_from(["m", "q"]), st.sampled_from(["m", "r"])),
    st.tuples(st.just("INCRBYFLOAT"), st.sampled_from(KEYS), st.sampled_from(["0.1", "-2.5", "1e3"])),
    st.tuples(st.just("INCRBY"), st.sampled_from(KEYS), st.integers(-3, 3)),
    st.tuples(st.just("HINCRBY"), st.sampled_from(KEYS), st.sampled_from(["f", "g"]), st.integers(-3, 3)),
    st.tuples(st.just("HINCRBYFLOAT"), st.sampled_from(KEYS), st.sampled_from(["f", "n"]), st.just("0.5")),
    st.tuples(st.just("HDEL"), st.sampled_from(KEYS), st.sampled_from(["f", "g"])),
    st.tuples(st.just("ZINCRBY"), st.sampled_from(KEYS), st.sampled_from(["1.5", "-1", "inf"]),
              st.sampled_from(["m", "n"])),
    st.tuples(st.just("SMOVE"), st.sampled_from(KEYS), st.sampled_from(KEYS), st.sampled_from(["m", "2"])),
    st.tuples(st.just("APPEND"), st.sampled_from(KEYS), st.just("+")),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(commands, min_size=1, max_size=6), min_size=1, max_size=5))
def test_any_batches_merged_on_a_peer_give_the_same_keyspace(batches: list[list[tuple[Any, ...]]]) -> None:
    a, peer = Server("n0"), Server("n1")
    for i, batch in enumerate(batches):
        now = T0 + 7 * i
        for argv in batch:
            if argv == ("EXPIRE_CYCLE",):
                a.engine.active_expire(now)
            else:
                a(*argv, now=now)
        peer.merge(a.stamp(now), now)
        assert peer.state(now) == a.state(now)
    assert peer.ks.table == a.ks.table and peer.ks.digests() == a.ks.digests()


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.lists(commands, min_size=1, max_size=5), st.booleans()),
                min_size=1, max_size=6), st.randoms(use_true_random=False))
def test_two_writers_converge_whatever_the_delivery_order(batches: list[tuple[bool, list[tuple[Any, ...]], bool]],
                                                         rnd: Any) -> None:
    sides = (Server("n0"), Server("n1"))
    held: list[list[Stamped]] = [[], []]  # batches not yet delivered to side i
    for i, (on_b, batch, deliver_now) in enumerate(batches):
        now = T0 + 7 * i
        me, other = sides[on_b], sides[not on_b]
        for argv in batch:
            if argv == ("EXPIRE_CYCLE",):
                me.engine.active_expire(now)
            else:
                me(*argv, now=now)
        held[not on_b].append(me.stamp(now))
        if deliver_now:
            for stamped in held[not on_b]:
                other.merge(stamped, now)
            held[not on_b].clear()
    end = T0 + 7 * len(batches)  # some TTLs still run
    for side, pending in zip(sides, held, strict=True):
        rnd.shuffle(pending)
        for stamped in pending + pending[:1]:  # any order, duplicates harmless
            side.merge(stamped, end)
    a, b_side = sides
    assert a.ks.table == b_side.ks.table and a.ks.digests() == b_side.ks.digests()
    assert a.state(end) == b_side.state(end)


def test_causal_writes_naming_a_missing_database_are_refused_whole() -> None:
    """Refused on receipt: a write that fails only when delivered was lost and blocked its origin's later writes."""
    n1 = node("n1", "causal")
    kv1 = n1.kv
    assert isinstance(kv1, CausalKv)

    def write(seq: int, db: int) -> dict[str, Any]:
        state = {"ctx": {"vv": {"n0:1": seq}, "cloud": []},
                 "e": [[["string", ""], [["n0:1", seq, ["=", [T0, seq, "n0"], "v"]]]]]}
        return {"origin": "n0:1", "seq": seq, "deps": {"n0:1": seq}, "client": None,
                "entries": [[f"k{seq}", [T0, seq, "n0"], state, db]]}

    body = {"type": CAUSAL_WRITES.type, "writes": [write(1, 0), write(2, 20)], "msg_id": 3}
    [reply] = n1.handle(roundtrip(Message("n0", "n1", body)), T0)
    assert_error(reply.body, ErrorCode.MALFORMED_REQUEST, 3)
    body = {"type": CAUSAL_WRITES.type, "writes": [write(1, 0), {**write(2, 0), "marks": [[16, [T0, 9, "n0"], ["n0:1", 9]]]}],
            "msg_id": 4}
    [reply] = n1.handle(roundtrip(Message("n0", "n1", body)), T0)
    assert_error(reply.body, ErrorCode.MALFORMED_REQUEST, 4)
    assert kv1.pending_count == 0 and not kv1.applied and len(kv1.keyspace) == 0
    body = {"type": CAUSAL_WRITES.type, "writes": [write(2, 1), write(1, 0)]}
    assert n1.handle(roundtrip(Message("n0", "n1", body)), T0) == []  # the origin is not blocked
    assert kv1.applied == {"n0:1": 2} and len(kv1.keyspace) == 2
