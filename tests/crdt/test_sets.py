"""Unit tests of crdt/commands/sets.py on virtual time: every command, error path and encoding rule.

The engine runs in process with explicit `now_ms` values (no clock, no
sleeps); randomness comes from the engine's seeded RNG. The differential
twin (test_sets_redis.py) checks the same behaviour against redis-server.
"""

from __future__ import annotations

import random
from typing import Any

import pytest

from crdt.commands.sets import SetValue
from protocol.replies import SetReply
from tests.helpers import EngineBox, NOT_INTEGER, SYNTAX, WRONGTYPE

T0 = 1_700_000_000_000
POSITIVE = b"ERR value is out of range, must be positive"


class Box(EngineBox):
    """An engine, a session and a clock that only moves when told (tests/helpers.py)."""


@pytest.fixture
def box() -> Box:
    return Box()


def members(*names: Any) -> list[bytes]:
    return [str(n).encode() for n in names]


def test_sadd_srem_and_queries(box: Box) -> None:
    assert box("SADD", "s", "a", "b", "a") == 2
    assert box("SADD", "s", "b", "c") == 1
    assert box("SCARD", "s") == 3 and box("SCARD", "none") == 0
    assert box("SISMEMBER", "s", "a") == 1 and box("SISMEMBER", "s", "z") == 0
    assert box("SISMEMBER", "none", "a") == 0
    assert box("SMISMEMBER", "s", "a", "z", "c") == [1, 0, 1]
    assert box("SMISMEMBER", "none", "a", "b") == [0, 0]
    assert box("SMEMBERS", "s") == [b"a", b"b", b"c"]
    assert isinstance(box("SMEMBERS", "none"), SetReply)
    assert box("SREM", "s", "a", "z", "a") == 1
    assert box("SREM", "none", "a") == 0
    assert box("SREM", "s", "b", "c") == 2
    assert box("EXISTS", "s") == 0
    assert box("TYPE", "s") == b"none"


def test_wrong_type(box: Box) -> None:
    box("SET", "str", "v")
    box("SADD", "s", "1")
    for argv in [("SADD", "str", "a"), ("SREM", "str", "a"), ("SMEMBERS", "str"),
                 ("SISMEMBER", "str", "a"), ("SMISMEMBER", "str", "a"), ("SCARD", "str"),
                 ("SPOP", "str"), ("SPOP", "str", "0"), ("SRANDMEMBER", "str"),
                 ("SRANDMEMBER", "str", "0"), ("SMOVE", "str", "s", "1"),
                 ("SMOVE", "s", "str", "9"), ("SINTER", "none", "str"), ("SUNION", "str"),
                 ("SDIFF", "none", "str"), ("SINTERSTORE", "d", "str"), ("SUNIONSTORE", "d", "str"),
                 ("SDIFFSTORE", "d", "s", "str"), ("SINTERCARD", "2", "none", "str"),
                 ("SSCAN", "str", "0")]:
        assert box.err(*argv) == WRONGTYPE, argv
    assert box("SMOVE", "none", "str", "1") == 0
    assert box("SMEMBERS", "s") == [b"1"]


def test_intset_encoding_and_sorted_order(box: Box) -> None:
    box("SADD", "i", "10", "-3", "7", "0")
    assert box("OBJECT", "ENCODING", "i") == b"intset"
    assert box("SMEMBERS", "i") == members(-3, 0, 7, 10)
    assert box("SSCAN", "i", "123") == [b"0", members(-3, 0, 7, 10)]
    assert box("SRANDMEMBER", "i", "10") == members(-3, 0, 7, 10)
    value = box.db.lookup(b"i", box.now)
    assert list(value) == members(-3, 0, 7, 10)  # SORT iterates in Redis's order
    for bad in ("007", "-0", "9223372036854775808", " 1", "1.0", "x"):
        box("SADD", "t", "1")
        box("SADD", "t", bad)
        assert box("OBJECT", "ENCODING", "t") == b"hashtable", bad
        box("DEL", "t")
    box("SADD", "u", "1", "x")
    box("SREM", "u", "x")
    assert box("OBJECT", "ENCODING", "u") == b"hashtable"  # never back


def test_intset_entries_limit(box: Box) -> None:
    box.engine.config.set([(b"set-max-intset-entries", b"3")])
    box("SADD", "u", "1", "2", "3")
    assert box("OBJECT", "ENCODING", "u") == b"intset"
    box("SADD", "u", "3")
    assert box("OBJECT", "ENCODING", "u") == b"intset"
    box("SADD", "u", "4")
    assert box("OBJECT", "ENCODING", "u") == b"hashtable"
    box("SREM", "u", "4", "3")
    assert box("OBJECT", "ENCODING", "u") == b"hashtable"
    box("SADD", "a", "1", "2")
    box("SADD", "b", "3", "4")
    assert box("SUNIONSTORE", "c", "a", "b") == 4
    assert box("OBJECT", "ENCODING", "c") == b"hashtable"
    box.engine.config.set([(b"set-max-intset-entries", b"0")])
    box("SADD", "z", "1")
    assert box("OBJECT", "ENCODING", "z") == b"hashtable"


def test_spop(box: Box) -> None:
    box("SADD", "s", *members(*range(10)))
    one = box("SPOP", "s")
    assert one in members(*range(10)) and box("SCARD", "s") == 9
    three = box("SPOP", "s", "3")
    assert isinstance(three, SetReply) and len(set(three)) == 3 and one not in three
    assert box("SCARD", "s") == 6
    rest = box("SPOP", "s", "100")
    assert sorted(rest, key=int) == rest and len(rest) == 6  # intset: the whole set, sorted
    assert box("EXISTS", "s") == 0
    assert box("SPOP", "none") is None
    assert box("SPOP", "none", "2") == []
    assert box.err("SPOP", "s", "-1") == POSITIVE
    assert box.err("SPOP", "s", "x") == POSITIVE
    assert box.err("SPOP", "s", "1", "2") == SYNTAX
    box("SADD", "t", "a")
    assert box("SPOP", "t", "0") == [] and box("EXISTS", "t") == 1
    assert box("SPOP", "t") == b"a" and box("EXISTS", "t") == 0


def test_srandmember(box: Box) -> None:
    box("SADD", "s", *members(*"abcdef"))
    assert box("SRANDMEMBER", "s") in members(*"abcdef")
    assert box("SRANDMEMBER", "none") is None
    assert box("SRANDMEMBER", "none", "3") == []
    assert box("SRANDMEMBER", "s", "0") == []
    picked = box("SRANDMEMBER", "s", "4")
    assert len(set(picked)) == 4 and set(picked) <= set(members(*"abcdef"))
    assert sorted(box("SRANDMEMBER", "s", "6")) == members(*"abcdef")
    repeated = box("SRANDMEMBER", "s", "-20")
    assert len(repeated) == 20 and set(repeated) <= set(members(*"abcdef"))
    assert box.err("SRANDMEMBER", "s", "x") == NOT_INTEGER
    assert box.err("SRANDMEMBER", "s", "1", "2") == SYNTAX
    assert box.err("SRANDMEMBER", "s", str(-(2**63))).startswith(b"ERR value is out of range, value")
    assert box("SCARD", "s") == 6


def test_random_replies_depend_only_on_the_seed() -> None:
    runs = []
    for _ in range(2):
        box = Box(seed=7)
        box("SADD", "s", *members(*range(50)))
        runs.append([box("SRANDMEMBER", "s", "-5"), box("SRANDMEMBER", "s", "5"),
                     box("SPOP", "s", "5"), box("SPOP", "s")])
    assert runs[0] == runs[1]


def test_smove(box: Box) -> None:
    box("SADD", "a", "1", "2", "x")
    box("SADD", "b", "3")
    assert box("SMOVE", "a", "b", "9") == 0
    assert box("SMOVE", "a", "b", "1") == 1
    assert box("SMOVE", "a", "a", "2") == 1 and box("SMOVE", "a", "a", "9") == 0
    assert box("SMOVE", "none", "b", "1") == 0
    assert box("SMOVE", "a", "c", "2") == 1
    assert box("OBJECT", "ENCODING", "c") == b"intset"
    assert box("SMOVE", "a", "d", "x") == 1
    assert box("OBJECT", "ENCODING", "d") == b"hashtable"
    assert box("EXISTS", "a") == 0
    assert box("SMEMBERS", "b") == members(1, 3)


def test_algebra(box: Box) -> None:
    box("SADD", "a", "1", "2", "3", "x")
    box("SADD", "b", "3", "2", "5")
    box("SADD", "c", "3", "x")
    assert box("SINTER", "a", "b") == members(2, 3)  # walks b, an intset: sorted
    assert box("SINTER", "a", "b", "c") == members(3)
    assert box("SINTER", "a", "none") == []
    assert box("SUNION", "b", "none") == members(2, 3, 5)
    assert sorted(box("SUNION", "a", "b")) == sorted(members(1, 2, 3, "x", 5))
    assert box("SDIFF", "a", "b") == [b"1", b"x"]
    assert box("SDIFF", "b", "a") == members(5)
    assert box("SDIFF", "none", "a") == []
    assert box("SINTERSTORE", "d", "a", "b") == 2
    assert box("OBJECT", "ENCODING", "d") == b"intset"
    assert box("SUNIONSTORE", "d", "a", "b") == 5
    assert box("OBJECT", "ENCODING", "d") == b"hashtable"
    box("EXPIRE", "d", "100")
    assert box("SDIFFSTORE", "d", "b", "a") == 1
    assert box("TTL", "d") == -1
    box("SET", "str", "v")
    assert box("SINTERSTORE", "str", "a", "none") == 0
    assert box("EXISTS", "str") == 0
    assert box("SDIFFSTORE", "a", "a", "b") == 2
    assert sorted(box("SMEMBERS", "a")) == [b"1", b"x"]


def test_sintercard(box: Box) -> None:
    box("SADD", "s", "1", "2", "3")
    box("SADD", "t", "2", "3", "4")
    assert box("SINTERCARD", "2", "s", "t") == 2
    assert box("SINTERCARD", "2", "s", "t", "LIMIT", "1") == 1
    assert box("SINTERCARD", "2", "s", "t", "limit", "0") == 2
    assert box("SINTERCARD", "1", "none") == 0
    assert box.err("SINTERCARD", "0", "s") == b"ERR numkeys should be greater than 0"
    assert box.err("SINTERCARD", "x", "s") == b"ERR numkeys should be greater than 0"
    assert box.err("SINTERCARD", "3", "s", "t") == (
        b"ERR Number of keys can't be greater than number of args")
    assert box.err("SINTERCARD", "1", "s", "LIMIT", "-1") == b"ERR LIMIT can't be negative"
    assert box.err("SINTERCARD", "1", "s", "LIMIT", "x") == b"ERR LIMIT can't be negative"
    assert box.err("SINTERCARD", "1", "s", "LIMIT") == SYNTAX
    assert box.err("SINTERCARD", "1", "s", "t") == SYNTAX
    info = box("COMMAND", "INFO", "sintercard")[0]
    assert info[:6] == [b"sintercard", -3, [b"readonly", b"movablekeys"], 0, 0, 0]
    assert box("COMMAND", "GETKEYS", "SINTERCARD", "2", "s", "t", "LIMIT", "1") == [b"s", b"t"]


def test_sscan_hashtable_returns_every_stable_member(box: Box) -> None:
    box("SADD", "s", *[f"m{i}" for i in range(500)])
    assert box("OBJECT", "ENCODING", "s") == b"hashtable"
    cursor, seen, step = b"0", set(), 0
    while True:
        cursor, batch = box("SSCAN", "s", cursor, "COUNT", "9")
        seen.update(batch)
        step += 1
        box("SREM", "s", f"m{499 - step}")
        box("SADD", "s", f"new{step}")
        if cursor == b"0":
            break
    assert {f"m{i}".encode() for i in range(200)} <= seen
    assert box("SSCAN", "s", "0", "MATCH", "m1?", "COUNT", "1000")[1] != []
    assert box.err("SSCAN", "s", "0", "COUNT", "0") == SYNTAX
    assert box.err("SSCAN", "s", "-x") == b"ERR invalid cursor"
    assert box("SSCAN", "none", "0", "BAD") == [b"0", []]


def test_writes_signal_and_ttl_is_kept(box: Box) -> None:
    db = box.db
    box("SADD", "s", "1", "2", "3", "x")
    box("PEXPIRE", "s", "1000")
    for argv in [("SADD", "s", "4"), ("SREM", "s", "4"), ("SMOVE", "s", "t", "3"), ("SPOP", "s")]:
        before = db.changes
        box(*argv)
        assert db.changes > before, argv
    assert box("SCARD", "s") == 2 and box("PTTL", "s") == 1000
    before = db.changes
    box("SADD", "s", *box("SMEMBERS", "s"))
    box("SREM", "s", "zz")
    box("SMOVE", "s", "t", "zz")
    assert db.changes == before


def test_expired_set_is_absent(box: Box) -> None:
    box("SADD", "s", "a")
    box("PEXPIRE", "s", "10")
    box.now += 11
    assert box("SCARD", "s") == 0
    assert box("SADD", "s", "b") == 1
    assert box("SMEMBERS", "s") == [b"b"]


def test_value_class_interface() -> None:
    rng = random.Random(1)
    v = SetValue(members(3, 1, 2))
    assert v.intset and list(v) == members(1, 2, 3) and len(v) == 3 and b"2" in v
    dup = v.copy()
    assert dup.discard(b"2") and not dup.discard(b"2")
    assert len(v) == 3 and v.encoding(None) == b"intset"
    assert v.add(b"x", 512) and v.encoding(None) == b"hashtable"
    popped = {v.pop_random(rng) for _ in range(4)}
    assert popped == set(members(1, 2, 3, "x")) and len(v) == 0
    assert SetValue.type_name == b"set"


def test_spop_rebuild_makes_an_intset_again(box: Box) -> None:
    box("SADD", "s", *range(20), "x")
    box("SREM", "s", "x")
    assert box("OBJECT", "ENCODING", "s") == b"hashtable"
    box("SPOP", "s", "10")  # 10 remain: 10 * 5 > 10, popped in place
    assert box("OBJECT", "ENCODING", "s") == b"hashtable"
    box("SPOP", "s", "8")  # 2 remain: 2 * 5 > 8, popped in place
    assert box("OBJECT", "ENCODING", "s") == b"hashtable"
    box("SADD", "s", "100", "101", "102", "103", "104", "105", "106", "107", "108", "109")
    box("SPOP", "s", "10")  # 2 remain: 2 * 5 <= 10, rebuilt
    assert box("OBJECT", "ENCODING", "s") == b"intset"
    assert box("SMEMBERS", "s") == sorted(box("SMEMBERS", "s"), key=int)
    box.engine.config.set([(b"set-max-intset-entries", b"1")])
    box("SADD", "t", *range(20), "x")
    box("SREM", "t", "x")
    box("SPOP", "t", "16")
    assert box("OBJECT", "ENCODING", "t") == b"hashtable"
