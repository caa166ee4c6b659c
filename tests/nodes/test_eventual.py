"""Eventual mode: the versioned keyspace, delta merging, digest anti-entropy, peer input."""

from __future__ import annotations

import random
from typing import Any

import pytest

from crdt.engine import Engine
from crdt.replication.clocks import Timestamp
from crdt.replication.keystates import Entry
from crdt.replication.lattices import shard_of
from crdt.replication.typed import KeyCRDT
from nodes import eventual
from nodes.eventual import KV_DELTA, KV_DIGESTS, KV_SHARDS
from nodes.kv_engine import json_bytes
from nodes.replicated import ReplicatedConfig, ReplicatedNode
from nodes.typed_keyspace import TypedKeyspace, entries_from_json, entries_to_json
from protocol.maelstrom_json import ErrorCode, Message
from tests.nodes.helpers_nodes import assert_error, roundtrip

T0 = 1_000_000


def keyspace(node_id: str = "n0") -> TypedKeyspace:
    ks = TypedKeyspace(Engine(now_ms=T0), T0)
    ks.start(node_id, f"{node_id}:1")
    return ks


def text_entry(key: bytes, data: bytes, ts: Timestamp, counter: int = 1) -> Entry:
    """A peer's delta setting a string (its dot: the timestamp's node, life 1)."""
    crdt = KeyCRDT()
    crdt.view("string").assign(data, (f"{ts.node_id}:1", counter), ts)
    return Entry((0, key), ts, crdt)


def node(me: str, ids: tuple[str, ...] = ("n0", "n1")) -> ReplicatedNode:
    core = ReplicatedNode(rng=random.Random(7), config=ReplicatedConfig(mode="eventual"), now_ms=T0)
    core.handle(Message("c0", me, {"type": "init", "msg_id": 1, "node_id": me, "node_ids": list(ids)}), T0)
    return core


def call(core: ReplicatedNode, body: dict[str, Any], now_ms: int = T0, src: str = "c1") -> list[Message]:
    return [roundtrip(m) for m in core.handle(roundtrip(Message(src, core.node_id or "", body)), now_ms)]


def read(core: ReplicatedNode, key: Any) -> Any:
    [reply] = call(core, {"type": "read", "key": key, "msg_id": 99})
    return reply.body.get("value")


# --- the keyspace ---------------------------------------------------------------------------------


def test_local_writes_get_increasing_timestamps_and_stay_in_the_engine() -> None:
    ks = keyspace()
    [(k1, ts1, _)] = ks.write(b"k", b"1", T0)
    [(_, ts2, _)] = ks.write(b"k", b"2", T0)  # same millisecond: the logical counter orders them
    assert k1 == (0, b"k") and ts1 < ts2 and ts2.node_id == "n0"
    assert ks.read(b"k", T0) == b"2" and ks.value_of(b"k") == b"2"
    reply, [(_, _, delete)] = ks.execute([b"DEL", b"k"], T0 + 1)
    assert reply == 1 and not delete.store.entries and ("n0:1", 2) in delete.store.ctx  # observed-remove
    assert ks.read(b"k", T0 + 1) is None and ks.value_of(b"k") is None


def test_a_counter_replicates_as_increments() -> None:
    ks = keyspace()
    ks.execute([b"INCRBY", b"n", b"-42"], T0)
    reply, [entry] = ks.execute([b"INCR", b"n"], T0 + 1)
    assert reply == -41 and entry.ref == (0, b"n")
    [(dot, value)] = entry.crdt.store.dots_of(("string", b"")).items()
    assert value.amount == 1  # the increment travels, not the text
    peer = keyspace("b")
    assert peer.merge([entry], T0 + 2) == [entry]
    assert peer.read(b"n", T0 + 2) == b"1"  # only this increment has arrived
    peer.merge(ks.table.items(), T0 + 2)
    assert peer.read(b"n", T0 + 2) == b"-41"


def test_merge_keeps_the_latest_whatever_the_order_and_repeats() -> None:
    old = text_entry(b"k", b"old", Timestamp(T0, 0, "n1"))
    new = text_entry(b"k", b"new", Timestamp(T0 + 5, 0, "n2"))
    a, b = keyspace("a"), keyspace("b")
    assert a.merge([old], T0) == [old] and a.merge([new, new], T0) == [new]
    assert b.merge([new], T0) == [new] and b.merge([old, new], T0) == [old]  # concurrent: both dots kept
    assert a.read(b"k", T0) == b.read(b"k", T0) == b"new"
    assert a.table == b.table and a.digests() == b.digests()


def test_equal_timestamps_break_ties_by_node_id() -> None:
    a, b = keyspace("a"), keyspace("b")
    x = text_entry(b"k", b"x", Timestamp(T0, 0, "n1"))
    y = text_entry(b"k", b"y", Timestamp(T0, 0, "n2"))
    a.merge([x, y], T0)
    b.merge([y, x], T0)
    assert a.read(b"k", T0) == b.read(b"k", T0) == b"y"


def test_incremental_digests_match_a_table_built_at_once() -> None:
    ks = keyspace()
    for i in range(40):
        ks.write(json_bytes(i % 13), json_bytes(i), T0 + i)
    ks.execute([b"DEL", json_bytes(3)], T0 + 50)
    fresh = keyspace("other")
    fresh.merge(list(ks.table.items()), T0 + 60)  # digests computed from scratch
    assert ks.digests() == fresh.digests() != [0] * 16


def test_receiving_observes_the_remote_clock() -> None:
    ks = keyspace("n0")
    ahead = Timestamp(T0 + 60_000, 3, "n1")
    ks.merge([text_entry(b"k", b"theirs", ahead)], T0)
    [(_, mine, _)] = ks.write(b"k", b"mine", T0)
    assert mine > ahead and ks.read(b"k", T0) == b"mine"


def test_entries_roundtrip_through_json() -> None:
    ks = keyspace()
    ks.execute([b"SET", b"\x00\xffk", b"v\x80"], T0)
    ks.execute([b"SELECT", b"3"], T0)
    ks.execute([b"RPUSH", b"l", b"a", b"a"], T0)
    ks.execute([b"PEXPIREAT", b"l", b"%d" % (T0 + 9)], T0)
    ks.execute([b"SET", b"gone", b"x"], T0)
    ks.execute([b"DEL", b"gone"], T0)
    entries = list(ks.table.items())
    assert len(entries) == 3 and entries_from_json(entries_to_json(entries)) == entries


# --- the handler ----------------------------------------------------------------------------------


def test_a_write_is_pushed_at_once_to_every_peer() -> None:
    n0 = node("n0", ("n0", "n1", "n2"))
    out = call(n0, {"type": "write", "key": 1, "value": [1, 2], "msg_id": 2})
    assert [m.dest for m in out] == ["n1", "n2", "c1"]
    assert all(m.body["type"] == KV_DELTA.type and "msg_id" not in m.body for m in out[:2])
    assert out[2].body == {"type": "write_ok", "in_reply_to": 2}


def test_deltas_reordered_and_duplicated_converge() -> None:
    n0, n1 = node("n0"), node("n1")
    first = call(n0, {"type": "write", "key": "k", "value": 1, "msg_id": 2})[0]
    second = call(n0, {"type": "cas", "key": "k", "from": 1, "to": 2, "msg_id": 3}, T0 + 1)[0]
    for m in (second, first, second, first):
        assert n1.handle(m, T0 + 2) == []
    assert read(n1, "k") == read(n0, "k") == 2


def test_failed_cas_writes_nothing_and_pushes_nothing() -> None:
    n0 = node("n0")
    call(n0, {"type": "write", "key": "k", "value": 1, "msg_id": 2})
    [reply] = call(n0, {"type": "cas", "key": "k", "from": 0, "to": 2, "msg_id": 3})
    assert_error(reply.body, ErrorCode.PRECONDITION_FAILED, 3)
    assert reply.body["text"] == "current value 1 is not 0"
    delta, reply = call(n0, {"type": "cas", "key": "new", "from": 0, "to": 2, "create_if_not_exists": True,
                             "msg_id": 4})
    assert delta.dest == "n1" and delta.body["type"] == KV_DELTA.type  # created: replicated
    assert reply.body == {"type": "cas_ok", "in_reply_to": 4}


def test_anti_entropy_sends_only_the_shards_that_differ() -> None:
    n0, n1 = node("n0"), node("n1")
    keys = list(range(30))
    for k in keys:
        for m in call(n0, {"type": "write", "key": k, "value": k, "msg_id": 10 + k}):
            if m.dest == "n1" and k != 7:  # the delta for key 7 is lost
                n1.handle(m, T0)
    digests = n0.tick(T0 + 5_000)  # n0's anti-entropy round
    [ask] = [m for m in digests if m.body["type"] == KV_DIGESTS.type]
    [repair] = n1.handle(ask, T0 + 5_000)
    assert repair.body["type"] == KV_SHARDS.type
    shards = {shard_of(e.ref[1]) for e in entries_from_json(repair.body["entries"])}
    assert shards == {shard_of(json_bytes(7))}  # one shard travels, not the keyspace
    push = n0.handle(repair, T0 + 5_000)  # n1 lacks key 7: n0 pushes that shard back
    assert [m.body["type"] for m in push] == [KV_DELTA.type]
    n1.handle(push[0], T0 + 5_000)
    assert read(n1, 7) == 7 and n1.kv.keyspace.digests() == n0.kv.keyspace.digests()
    assert n1.handle(ask, T0 + 5_001) == []  # in sync: no answer


def test_capped_repairs_reach_keys_past_the_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    # Every shard's last key (in repair order) is lost on the way to n1, and a repair carries
    # at most 2 entries: repairs that always took the first entries of the differing shards
    # would send n1 what it has, forever. Successive repairs move on and reach them all.
    monkeypatch.setattr(eventual, "REPAIR_ENTRIES_MAX", 2)
    n0, n1 = node("n0"), node("n1")
    keys = list(range(64))
    by_shard: dict[int, list[int]] = {}
    for k in keys:
        by_shard.setdefault(shard_of(json_bytes(k)), []).append(k)
    lost = {max(ks, key=json_bytes) for ks in by_shard.values() if len(ks) > 2}
    assert len(lost) >= 8
    for k in keys:
        for m in call(n0, {"type": "write", "key": k, "value": k, "msg_id": 10 + k}):
            if m.dest == "n1" and k not in lost:
                n1.handle(m, T0)
    now = T0 + 5_000
    for _ in range(200):  # anti-entropy rounds, every message delivered
        if n1.kv.keyspace.digests() == n0.kv.keyspace.digests():
            break
        flight = [*n0.tick(now), *n1.tick(now)]
        while flight:
            m = flight.pop(0)
            flight += (n0 if m.dest == "n0" else n1).handle(roundtrip(m), now)
        now += 1_000
    assert all(read(n1, k) == k for k in lost)
    assert n1.kv.keyspace.digests() == n0.kv.keyspace.digests()


def test_an_empty_replica_is_repaired_by_its_peers() -> None:
    n0, n1 = node("n0"), node("n1")
    call(n0, {"type": "write", "key": "k", "value": "v", "msg_id": 2})  # the delta is lost
    assert [m.body["type"] for m in n1.tick(T0 + 5_000)] == []  # n1 has nothing: silent
    [ask] = n0.tick(T0 + 5_000)
    [repair] = n1.handle(ask, T0 + 5_000)
    assert repair.body["entries"] == []
    [push] = n0.handle(repair, T0 + 5_000)
    n1.handle(push, T0 + 5_000)
    assert read(n1, "k") == "v"


def test_bad_peer_input_is_malformed_and_changes_nothing() -> None:
    n0 = node("n0")
    good = KeyCRDT()
    good.view("string").assign(b"x", ("n1:1", 1), Timestamp(1, 0, "n1"))
    state = good.to_json()
    for body in ({"type": "kv_delta", "entries": [["k", [1, 0], state]]},
                 {"type": "kv_delta", "entries": [["\u0400", [1, 0, "n1"], state]]},
                 {"type": "kv_delta", "entries": [["k", [1, 0, "n1"], {**state, "e": [[["string", ""], [["n1:1", 1,
                                                                                                   ["=", 5]]]]]}]]},
                 {"type": "kv_delta", "entries": [["k", [1, 0, "n1"], {**state, "ctx": {"vv": {}, "cloud": []}}]]},
                 {"type": "kv_digests", "digests": ["0"] * 3},
                 {"type": "kv_digests", "digests": ["zz"] * 16},
                 {"type": "kv_shards", "digests": ["0"] * 16, "entries": [1]}):
        [reply] = n0.handle(Message("n1", "n0", {**body, "msg_id": 5}), T0)
        assert_error(reply.body, ErrorCode.MALFORMED_REQUEST, 5)
    assert len(n0.kv.keyspace) == 0
