"""Tests for crdt.replication.images: engine value -> image -> JSON -> image -> engine value, and peer validation."""

from __future__ import annotations

import math
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crdt.commands.hashes import HashValue
from crdt.commands.lists import ListValue
from crdt.commands.sets import SetValue
from crdt.commands.zsets import ZSet
from crdt.engine import Engine
from crdt.replication.clocks import DecodeError
from crdt.replication.images import Image, image_from_json, image_of, image_to_json, restore
from crdt.replication.lattices import canonical_bytes

CONFIG = Engine(now_ms=0).config
SET_CAP = CONFIG["set-max-intset-entries"]

small_bytes = st.binary(max_size=6)
expiry = st.none() | st.integers(0, 1 << 50)
scores = st.floats(allow_nan=False) | st.sampled_from([math.inf, -math.inf, -0.0, 0.0])
int_members = st.integers(-(1 << 63), (1 << 63) - 1).map(lambda n: b"%d" % n)


def make_set(members: list[bytes]) -> SetValue:
    s = SetValue()
    for m in members:
        s.add(m, SET_CAP)
    return s


def make_zset(pairs: list[tuple[bytes, float]]) -> ZSet:
    z = ZSet()
    for m, score in pairs:
        z.add(m, score, CONFIG)
    return z


strings = st.one_of(small_bytes, small_bytes.map(bytearray), st.integers(-(1 << 63), (1 << 63) - 1))
lists = st.lists(st.sampled_from([b"a", b"b", b"", b"\xff"]) | small_bytes, min_size=1, max_size=8).map(ListValue)
sets = st.one_of(
    st.lists(small_bytes, min_size=1, max_size=8),
    st.lists(int_members, min_size=1, max_size=8),  # an intset
    st.lists(int_members | small_bytes, min_size=1, max_size=8),
).map(make_set)
hashes = st.dictionaries(small_bytes, small_bytes | st.binary(min_size=65, max_size=70),
                         min_size=1, max_size=8).map(HashValue)
zsets = st.lists(st.tuples(small_bytes | st.binary(min_size=65, max_size=66), scores),
                 min_size=1, max_size=8).map(make_zset)
values = st.one_of(strings, lists, sets, hashes, zsets)


def wire(image: Image) -> Any:
    """The JSON form as a peer receives it."""
    return orjson.loads(orjson.dumps(image_to_json(image)))


def check_roundtrip(value: Any, expire_at: int | None) -> Image:
    image = image_of(value, expire_at)
    back = image_from_json(wire(image))
    assert back == image and canonical_bytes(back) == canonical_bytes(image)
    again = image_of(restore(back, CONFIG), expire_at)
    assert again == image and canonical_bytes(again) == canonical_bytes(image)
    return image


@settings(max_examples=80, deadline=None)
@given(values, expiry)
def test_every_type_roundtrips_through_json_and_the_engine(value: Any, expire_at: int | None) -> None:
    image = check_roundtrip(value, expire_at)
    assert image.expire_at == expire_at
    assert image.type == {bytes: "string", bytearray: "string", int: "string", ListValue: "list",
                          SetValue: "set", HashValue: "hash", ZSet: "zset"}[type(value)]


def test_string_forms() -> None:
    assert check_roundtrip(bytearray(b"ab"), None) == Image("string", b"ab")
    assert check_roundtrip(-42, 7) == Image("string", b"-42", 7)
    assert image_to_json(Image("string", b"\x00\xff")) == "\x00\xff"  # bare: the lin-kv wire form
    assert image_to_json(Image("string", b"v", 5)) == {"t": "string", "v": "v", "x": 5}
    assert type(restore(Image("string", b"1"), CONFIG)) is bytes


def test_list_keeps_order_and_repeats() -> None:
    image = check_roundtrip(ListValue([b"b", b"a", b"b", b"b"]), None)
    assert image.data == (b"b", b"a", b"b", b"b")


def test_big_sets_and_int_looking_members() -> None:
    intset = make_set([b"3", b"-1", b"10"])
    assert intset.intset and check_roundtrip(intset, None).data == (b"-1", b"10", b"3")
    big = make_set([b"%d" % i for i in range(SET_CAP + 10)])  # > 512: a hashtable
    assert not big.intset
    check_roundtrip(big, 99)
    restored = restore(image_of(big, None), CONFIG)
    assert not restored.intset and len(restored) == SET_CAP + 10
    mixed = make_set([b"1", b"x", b"01"])  # "01" is not an integer's canonical text
    assert check_roundtrip(mixed, None).data == (b"01", b"1", b"x")


def test_zset_special_scores() -> None:
    z = make_zset([(b"i", math.inf), (b"n", -math.inf), (b"z", -0.0), (b"f", 1.5)])
    image = check_roundtrip(z, None)
    assert dict(image.data) == {b"i": math.inf, b"n": -math.inf, b"z": 0.0, b"f": 1.5}
    assert image_to_json(image)["v"] == [["f", "1.5"], ["i", "inf"], ["n", "-inf"], ["z", "0.0"]]


def test_a_skiplist_zset_keeps_a_negative_zero() -> None:
    """A skiplist keeps ``-0`` (ZSCORE says "-0"); a replica's copy must too, whatever member comes first."""
    for pairs in ([(b"a", -0.0)] + [(b"m%04d" % i, 1.0) for i in range(CONFIG["zset-max-listpack-entries"])],
                  [(b"a", -0.0), (b"b" * 100, 1.0)]):  # a member too long for a listpack
        z = make_zset([(b"a", 1.0)] + pairs[1:])
        z.add(b"a", -0.0, CONFIG)
        assert z.big and math.copysign(1, z.scores[b"a"]) == -1
        image = check_roundtrip(z, None)
        restored = restore(image, CONFIG)
        assert math.copysign(1, restored.scores[b"a"]) == -1 and restored.big


def test_hash_encoding_follows_the_limits() -> None:
    small = HashValue({b"f": b"v"})
    assert restore(check_roundtrip(small, None), CONFIG).listpack
    long_value = HashValue({b"f": b"v" * 100})
    assert not restore(check_roundtrip(long_value, None), CONFIG).listpack
    many = HashValue({b"%d" % i: b"v" for i in range(CONFIG["hash-max-listpack-entries"] + 1)})
    assert not restore(check_roundtrip(many, None), CONFIG).listpack


@settings(max_examples=30, deadline=None)
@given(st.data())
def test_insertion_order_does_not_change_the_image(data: st.DataObject) -> None:
    members = data.draw(st.lists(small_bytes | int_members, min_size=1, max_size=10, unique=True))
    other = data.draw(st.permutations(members))
    a, b = image_of(make_set(members), 5), image_of(make_set(other), 5)
    assert a == b and canonical_bytes(a) == canonical_bytes(b)
    pairs = {m: data.draw(small_bytes) for m in members}
    ha = image_of(HashValue((m, pairs[m]) for m in members), None)
    hb = image_of(HashValue((m, pairs[m]) for m in other), None)
    assert ha == hb and canonical_bytes(ha) == canonical_bytes(hb)
    sc = {m: data.draw(st.floats(allow_nan=False, allow_infinity=True)) for m in members}
    za, zb = image_of(make_zset([(m, sc[m]) for m in members]), 1), image_of(make_zset([(m, sc[m]) for m in other]), 1)
    assert za == zb and canonical_bytes(za) == canonical_bytes(zb)


def test_unknown_value_types_have_no_image() -> None:
    with pytest.raises(TypeError):
        image_of(object(), None)


# --- validation of peer input ----------------------------------------------------------------

MALFORMED = [
    None, 5, 1.5, True, [], ["a"], {},
    {"t": "string"}, {"v": "a"},  # missing keys
    {"t": "string", "v": "a", "y": 1}, {"t": "list", "v": ["a"], "x": 1, "extra": 0},  # extra keys
    {"t": "stream", "v": ["a"]}, {"t": 3, "v": ["a"]}, {"t": ["list"], "v": ["a"]}, {"t": None, "v": "a"},
    {"t": "string", "v": 5}, {"t": "string", "v": ["a"]}, {"t": "string", "v": "\u0100"},
    "\u20ac", "ok\U0001f600",  # a bare string outside Latin-1
    {"t": "list", "v": "ab"}, {"t": "list", "v": [1]}, {"t": "list", "v": ["\u0400"]}, {"t": "list", "v": []},
    {"t": "set", "v": []}, {"t": "set", "v": ["a", "a"]}, {"t": "set", "v": [None]}, {"t": "set", "v": {"a": 1}},
    {"t": "hash", "v": []}, {"t": "hash", "v": [["f", "v"], ["f", "w"]]}, {"t": "hash", "v": [["f"]]},
    {"t": "hash", "v": [["f", "v", "w"]]}, {"t": "hash", "v": [["f", 1]]}, {"t": "hash", "v": ["fv"]},
    {"t": "hash", "v": {"f": "v"}},
    {"t": "zset", "v": []}, {"t": "zset", "v": [["m", "1"], ["m", "2"]]}, {"t": "zset", "v": [["m", "nan"]]},
    {"t": "zset", "v": [["m", "NaN"]]}, {"t": "zset", "v": [["m", 1.0]]}, {"t": "zset", "v": [["m", "one"]]},
    {"t": "zset", "v": [["m", None]]}, {"t": "zset", "v": [[1, "1"]]}, {"t": "zset", "v": [["m"]]},
    {"t": "string", "v": "a", "x": -1}, {"t": "string", "v": "a", "x": True}, {"t": "string", "v": "a", "x": 1.0},
    {"t": "string", "v": "a", "x": "5"}, {"t": "list", "v": ["a"], "x": -5}, {"t": "set", "v": ["a"], "x": False},
]


@pytest.mark.parametrize("data", MALFORMED, ids=repr)
def test_malformed_images_are_decode_errors(data: Any) -> None:
    with pytest.raises(DecodeError):
        image_from_json(data)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=4)
    | st.sampled_from(["string", "list", "set", "hash", "zset", "inf", "-inf", "nan", "\xff", "\u0100"]),
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.sampled_from(["t", "v", "x", "y"]) | st.text(max_size=2), inner, max_size=4),
    max_leaves=12,
)
image_like = st.fixed_dictionaries(
    {"t": st.sampled_from(["string", "list", "set", "hash", "zset", "bogus"]), "v": json_values},
    optional={"x": json_values},
)


@settings(max_examples=80, deadline=None)
@given(json_values | image_like)
def test_arbitrary_json_is_an_image_or_a_decode_error(data: Any) -> None:
    try:
        image = image_from_json(data)
    except DecodeError:
        return
    assert isinstance(image, Image)
    assert image.size() >= 1
    if image.type != "string":
        assert not any(isinstance(x, tuple) and len(x) == 2 and isinstance(x[1], float) and math.isnan(x[1])
                       for x in image.data)
    # what was accepted is canonical: it re-encodes and decodes to itself
    assert image_from_json(wire(image)) == image
