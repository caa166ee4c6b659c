"""Tests for crdt.replication.lattices: semilattice laws, JSON round trips, shards and digests."""

from __future__ import annotations

import os
import subprocess
import sys
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from crdt.replication.clocks import DecodeError, Timestamp, VectorClock
from crdt.replication.lattices import (
    SHARD_COUNT,
    GCounter,
    GSet,
    Key,
    LWWMap,
    LWWRegister,
    MaxInt,
    PNCounter,
    canonical_bytes,
    decode_bytes,
    differing_shards,
    digest,
    encode_bytes,
    entry_digest,
    shard_of,
)

nodes = st.sampled_from(["n0", "n1", "n2"])
# Few distinct timestamps, so equal timestamps with different values are common.
small_ts = st.builds(Timestamp, st.integers(0, 3), st.integers(0, 2), nodes)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 3) | st.text(max_size=3),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=2), inner, max_size=3),
    max_leaves=6,
)
keys: st.SearchStrategy[Key] = st.sampled_from(["a", "b", "c", "d", "é", b"a", b"\xff", b"k"])

gsets = st.frozensets(st.integers(-5, 5) | st.text(max_size=2)).map(GSet)
gcounters = st.dictionaries(nodes, st.integers(0, 5)).map(lambda d: GCounter(VectorClock.of(d)))
pncounters = st.builds(PNCounter, gcounters, gcounters)
maxints = st.integers(-(2**63), 2**63 - 1).map(MaxInt)  # orjson: 64-bit ints
registers = st.builds(LWWRegister, json_values, small_ts)
lwwmaps = st.lists(st.tuples(keys, st.builds(LWWRegister, st.none() | json_values, small_ts)), max_size=8).map(
    LWWMap.from_items
)


def tagged_key(key: Key) -> list[str]:
    return ["b", encode_bytes(key)] if isinstance(key, bytes) else ["s", key]


def untag_key(data: Any) -> Key:
    tag, text = data
    return decode_bytes(text) if tag == "b" else text


def via_json(data: Any) -> Any:
    return orjson.loads(orjson.dumps(data))


# name -> (strategy, to_json, from_json)
LATTICES: dict[str, tuple[st.SearchStrategy[Any], Callable[[Any], Any], Callable[[Any], Any]]] = {
    "GSet": (gsets, GSet.to_json, GSet.from_json),
    "GCounter": (gcounters, GCounter.to_json, GCounter.from_json),
    "PNCounter": (pncounters, PNCounter.to_json, PNCounter.from_json),
    "MaxInt": (maxints, MaxInt.to_json, MaxInt.from_json),
    "LWWRegister": (registers, LWWRegister.to_json, LWWRegister.from_json),
    "LWWMap": (
        lwwmaps,
        lambda m: m.to_json(encode_key=tagged_key),
        lambda d: LWWMap.from_json(d, decode_key=untag_key),
    ),
}
KINDS = sorted(LATTICES)


# --- laws for every lattice ------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
@given(data=st.data())
def test_merge_commutative(kind: str, data: st.DataObject) -> None:
    strategy = LATTICES[kind][0]
    a, b = data.draw(strategy), data.draw(strategy)
    assert a.merge(b) == b.merge(a)


@pytest.mark.parametrize("kind", KINDS)
@given(data=st.data())
def test_merge_associative(kind: str, data: st.DataObject) -> None:
    strategy = LATTICES[kind][0]
    a, b, c = data.draw(strategy), data.draw(strategy), data.draw(strategy)
    assert a.merge(b).merge(c) == a.merge(b.merge(c))


@pytest.mark.parametrize("kind", KINDS)
@given(data=st.data())
def test_merge_idempotent(kind: str, data: st.DataObject) -> None:
    strategy = LATTICES[kind][0]
    a, b = data.draw(strategy), data.draw(strategy)
    assert a.merge(a) == a
    m = a.merge(b)
    assert m.merge(a) == m and m.merge(b) == m  # merge is an upper bound


@pytest.mark.parametrize("kind", KINDS)
@given(data=st.data())
def test_json_round_trip(kind: str, data: st.DataObject) -> None:
    strategy, to_json, from_json = LATTICES[kind]
    a = data.draw(strategy)
    encoded = orjson.dumps(to_json(a))
    back = from_json(orjson.loads(encoded))
    assert back == a
    assert orjson.dumps(to_json(back)) == encoded  # deterministic encoding


@pytest.mark.parametrize("kind", KINDS)
@given(data=st.data())
def test_merge_does_not_mutate(kind: str, data: st.DataObject) -> None:
    strategy, to_json, _ = LATTICES[kind]
    a, b = data.draw(strategy), data.draw(strategy)
    before = (orjson.dumps(to_json(a)), orjson.dumps(to_json(b)))
    a.merge(b)
    b.merge(a)
    assert (orjson.dumps(to_json(a)), orjson.dumps(to_json(b))) == before


# --- monotonic reads ---------------------------------------------------------------------


@given(gsets, gsets)
def test_gset_merge_is_monotone(a: GSet, b: GSet) -> None:
    assert a.value <= a.merge(b).value and b.value <= a.merge(b).value


@given(gcounters, gcounters)
def test_gcounter_merge_is_monotone(a: GCounter, b: GCounter) -> None:
    assert a.merge(b).value >= max(a.value, b.value)


@given(pncounters, pncounters)
def test_pncounter_halves_are_monotone(a: PNCounter, b: PNCounter) -> None:
    m = a.merge(b)
    assert m.p.value >= max(a.p.value, b.p.value)
    assert m.n.value >= max(a.n.value, b.n.value)


@given(maxints, maxints)
def test_maxint_merge_is_max(a: MaxInt, b: MaxInt) -> None:
    assert a.merge(b).value == max(a.value, b.value)


@given(lwwmaps, lwwmaps)
def test_lwwmap_merge_keeps_later_writes(a: LWWMap, b: LWWMap) -> None:
    m = a.merge(b)
    for source in (a, b):
        for key, reg in source.items():
            merged = m.get(key)
            assert merged is not None and merged.ts >= reg.ts and merged.wins_over(reg)


# --- GSet ---------------------------------------------------------------------------------


def test_gset_add_and_json() -> None:
    s = GSet().add("b").add(3).add("a").add(-1).add(3)
    assert s.to_json() == [-1, 3, "a", "b"]
    assert 3 in s and "3" not in s and True not in GSet().add(1)
    assert len(s) == 4
    with pytest.raises(TypeError):
        GSet().add(True)
    with pytest.raises(TypeError):
        GSet().add(1.5)  # type: ignore[arg-type]


@pytest.mark.parametrize("data", [None, {}, [1.5], [True], [[1]], [None], "ab"])
def test_gset_from_json_rejects(data: object) -> None:
    with pytest.raises(DecodeError):
        GSet.from_json(data)


# --- counters -----------------------------------------------------------------------------


def test_gcounter() -> None:
    c = GCounter().increment("n1").increment("n2", 4).increment("n1", 2)
    assert c.value == 7
    assert c.to_json() == {"n1": 3, "n2": 4}
    assert c.merge(GCounter().increment("n1", 5)).value == 9
    with pytest.raises(ValueError):
        c.increment("n1", -1)


def test_pncounter() -> None:
    c = PNCounter().add("n1", 5).add("n2", -3).add("n1", -1).add("n1", 0)
    assert c.value == 1
    assert c.to_json() == {"n": {"n1": 1, "n2": 3}, "p": {"n1": 5}}
    with pytest.raises(ValueError):
        c.add("n1", 1.0)  # type: ignore[arg-type]


@pytest.mark.parametrize("data", [None, {"p": {}}, {"p": {}, "n": {}, "x": 1}, {"p": {"n1": -1}, "n": {}}, {"p": [], "n": {}}])
def test_pncounter_from_json_rejects(data: object) -> None:
    with pytest.raises(DecodeError):
        PNCounter.from_json(data)


@pytest.mark.parametrize("data", [None, 1.0, True, "3"])
def test_maxint_from_json_rejects(data: object) -> None:
    with pytest.raises(DecodeError):
        MaxInt.from_json(data)


def test_maxint_raise_to() -> None:
    assert MaxInt(3).raise_to(5) == MaxInt(5)
    assert MaxInt(3).raise_to(1) == MaxInt(3)


# --- LWWRegister ------------------------------------------------------------------------


def test_register_later_timestamp_wins() -> None:
    early = LWWRegister("x", Timestamp(1, 0, "n2"))
    late = LWWRegister("y", Timestamp(1, 1, "n1"))
    assert early.merge(late) is late and late.merge(early) is late
    assert late.set("z", Timestamp(1, 0, "n9")) is late  # stale write ignored
    assert late.set("z", Timestamp(2, 0, "n0")).value == "z"


def test_register_tie_break_is_deterministic() -> None:
    ts = Timestamp(5, 0, "n1")
    a, b = LWWRegister("apple", ts), LWWRegister("banana", ts)
    assert a.merge(b) == b.merge(a)
    # the winner is the value with the larger canonical encoding
    winner = max((a, b), key=lambda r: canonical_bytes(r.value))
    assert a.merge(b) == winner
    # values that are == in Python but differ in type still merge one way
    one, true = LWWRegister(1, ts), LWWRegister(True, ts)
    assert one.merge(true).value is true.merge(one).value


def test_register_json_with_codec() -> None:
    reg = LWWRegister(b"\x00\xffhi", Timestamp(7, 1, "n3"))
    data = via_json(reg.to_json(encode_bytes))
    assert data == {"ts": [7, 1, "n3"], "value": "\x00\xffhi"}
    assert LWWRegister.from_json(data, decode_bytes) == reg
    tomb = LWWRegister(None, Timestamp(1, 0, "n1"))
    assert LWWRegister.from_json(via_json(tomb.to_json(encode_bytes)), decode_bytes) == tomb


@pytest.mark.parametrize(
    "data", [None, [], {"ts": [1, 0, "n"]}, {"value": 1}, {"ts": [1, 0], "value": 1}, {"ts": [1, 0, "n"], "value": 1, "x": 0}]
)
def test_register_from_json_rejects(data: object) -> None:
    with pytest.raises(DecodeError):
        LWWRegister.from_json(data)


# --- canonical encoding and bytes codec ----------------------------------------------------


@dataclass(frozen=True)
class Entry:
    value: bytes
    expires_at_ms: int | None


def test_canonical_bytes_distinguishes_types_and_structure() -> None:
    values: list[object] = [
        None, True, False, 0, 1, 1.0, -1, "1", b"1", "", b"", [], (), {}, set(),
        [1, 2], [[1], 2], [1, [2]], (1, 2), {"a": 1}, {"a": "1"}, {1: "a"}, {1, 2}, frozenset({3}),
        Entry(b"x", None), Entry(b"x", 5), "ab", ["a", "b"], ["ab"],
    ]
    encodings = [canonical_bytes(v) for v in values]
    assert len(set(encodings)) == len(values)


def test_canonical_bytes_ignores_insertion_order() -> None:
    assert canonical_bytes({"a": 1, "b": 2}) == canonical_bytes({"b": 2, "a": 1})
    assert canonical_bytes({"x", "y", "z"}) == canonical_bytes({"z", "y", "x"})


def test_canonical_bytes_rejects_unknown_types() -> None:
    with pytest.raises(TypeError):
        canonical_bytes(object())
    with pytest.raises(TypeError):
        canonical_bytes([1, object()])


def test_bytes_codec_round_trips_every_byte() -> None:
    data = bytes(range(256))
    assert decode_bytes(via_json(encode_bytes(data))) == data
    with pytest.raises(DecodeError):
        decode_bytes("\u0100")
    with pytest.raises(DecodeError):
        decode_bytes(5)


# --- sharding and digests ------------------------------------------------------------------


def test_shard_of_is_crc32_mod_16() -> None:
    for key in [b"", b"foo", b"user:1000", bytes(range(256))]:
        assert shard_of(key) == zlib.crc32(key) % SHARD_COUNT
    assert shard_of("foo") == shard_of(b"foo") == 1  # crc32(b"foo") = 0x8c736521
    assert shard_of("é") == shard_of("é".encode())
    with pytest.raises(TypeError):
        shard_of(3)  # type: ignore[arg-type]


@given(st.binary() | st.text())
def test_shard_of_in_range(key: Key) -> None:
    assert 0 <= shard_of(key) < SHARD_COUNT


@given(st.lists(st.tuples(keys, registers), unique_by=lambda kv: kv[0]), st.randoms(use_true_random=False))
def test_digest_is_order_independent(pairs: list[tuple[Key, LWWRegister[Any]]], rng: Any) -> None:
    shuffled = list(pairs)
    rng.shuffle(shuffled)
    assert digest(pairs) == digest(shuffled) == digest(dict(pairs))
    assert 0 <= digest(pairs) < 2**64


def test_digest_changes_with_timestamp_value_and_key() -> None:
    ts = Timestamp(1, 0, "n1")
    base = entry_digest("k", LWWRegister(1, ts))
    assert base != entry_digest("k", LWWRegister(2, ts))
    assert base != entry_digest("k", LWWRegister(1, Timestamp(1, 0, "n2")))
    assert base != entry_digest(b"k", LWWRegister(1, ts))
    assert base != entry_digest("k", LWWRegister(None, ts))
    assert digest([]) == 0


DIGEST_SCRIPT = """
import sys
from crdt.replication.clocks import Timestamp
from crdt.replication.lattices import LWWMap
m = LWWMap()
for i in range(50):
    m = m.set(f"key{i}", {"v": [i, str(i)], "s": {"a", "b", "c"}}, Timestamp(i, i % 3, f"n{i % 4}"))
m = m.set(b"\\xffbin", b"\\x00", Timestamp(9, 9, "n9")).delete("key3", Timestamp(99, 0, "n1"))
print(m.shard_digests())
"""


def test_digests_are_stable_across_processes() -> None:
    outputs = set()
    for seed in ("0", "1", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        out = subprocess.run(
            [sys.executable, "-c", DIGEST_SCRIPT], env=env, capture_output=True, text=True, check=True,
            cwd=os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
        )
        outputs.add(out.stdout)
    assert len(outputs) == 1


@given(lwwmaps, lwwmaps)
def test_anti_entropy_by_shard_digests_converges(a: LWWMap, b: LWWMap) -> None:
    diff = differing_shards(a.shard_digests(), b.shard_digests())
    assert (diff == []) == (a == b)
    a2 = a.merge(b.restrict(diff))
    b2 = b.merge(a.restrict(diff))
    assert a2 == b2 == a.merge(b)
    assert a2.shard_digests() == b2.shard_digests()
    # shards that matched were left alone
    for i in set(range(SHARD_COUNT)) - set(diff):
        assert a2.shards[i] is a.shards[i]


def test_differing_shards_needs_16() -> None:
    with pytest.raises(ValueError):
        differing_shards([0] * 15, [0] * 16)


# --- LWWMap -------------------------------------------------------------------------------


def test_lwwmap_set_get_delete() -> None:
    m = LWWMap().set("a", 1, Timestamp(1, 0, "n1")).set(b"b", b"x", Timestamp(1, 0, "n1"))
    assert m.get_value("a") == 1 and m.get_value(b"b") == b"x" and m.get_value("b") is None
    m2 = m.set("a", 0, Timestamp(0, 5, "n2"))  # older: ignored
    assert m2 is m
    m3 = m.delete("a", Timestamp(2, 0, "n2"))
    assert m3.get_value("a", "gone") == "gone"
    reg = m3.get("a")
    assert reg is not None and reg.value is None  # tombstone kept
    assert m3.value == {b"b": b"x"}
    assert len(m3) == 2
    assert m.get_value("a") == 1  # original unchanged
    assert m3.set("a", 7, Timestamp(3, 0, "n1")).get_value("a") == 7


def test_lwwmap_json_is_deterministic() -> None:
    writes = [(k, i, Timestamp(i, 0, "n1")) for i, k in enumerate(["z", "a", "é", "m", "b"])]
    forward, backward = LWWMap(), LWWMap()
    for k, v, ts in writes:
        forward = forward.set(k, v, ts)
    for k, v, ts in reversed(writes):
        backward = backward.set(k, v, ts)
    assert forward == backward
    assert orjson.dumps(forward.to_json()) == orjson.dumps(backward.to_json())
    assert [k for k, _ in forward.to_json()] == ["a", "b", "m", "z", "é"]


def test_lwwmap_from_json_merges_repeated_keys() -> None:
    data = [["k", {"ts": [1, 0, "n1"], "value": "old"}], ["k", {"ts": [2, 0, "n1"], "value": "new"}]]
    assert LWWMap.from_json(data).get_value("k") == "new"


@pytest.mark.parametrize(
    "data",
    [None, {}, [["k"]], [[1, {"ts": [1, 0, "n"], "value": 1}]], [["k", {"ts": "x", "value": 1}]], ["k"]],
)
def test_lwwmap_from_json_rejects(data: object) -> None:
    with pytest.raises(DecodeError):
        LWWMap.from_json(data)


def test_lwwmap_holds_dataclass_entries() -> None:
    ts = Timestamp(1, 0, "n1")
    a = LWWMap().set(b"k", Entry(b"v1", None), ts)
    b = LWWMap().set(b"k", Entry(b"v2", 10), ts)  # same timestamp: tie-break on canonical bytes
    assert a.merge(b) == b.merge(a)
    assert a.merge(b).shard_digests() == b.merge(a).shard_digests()
