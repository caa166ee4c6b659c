"""Unit tests for SORT and SORT_RO, run on the engine directly with virtual time.

Sets, sorted sets and hashes are made with their real commands (SADD, ZADD,
HSET), so SORT runs over the real value classes; the differential tests compare
the same paths with redis-server.
"""

from __future__ import annotations

import math
from typing import Any

import pytest

from crdt import errors
from crdt.commands.sort import lookup_by_pattern, sort_weight
from protocol.replies import ErrorReply
from tests.helpers import EngineBox

NOW = 1_000_000


class Client(EngineBox):
    """One session on a fresh engine at NOW (tests/helpers.py)."""

    def __init__(self) -> None:
        super().__init__(now=NOW)

@pytest.fixture
def c() -> Client:
    return Client()


def b(*items: Any) -> list[bytes]:
    return [str(i).encode() if not isinstance(i, bytes) else i for i in items]


@pytest.mark.parametrize(("raw", "expected"), [
    (b"1", 1.0), (b" 2", 2.0), (b"\t\n7", 7.0), (b"", 0.0), (b"\x00abc", 0.0), (b"1\x00x", 1.0),
    (b"+4", 4.0), (b".5", 0.5), (b"5.", 5.0), (b"1e3", 1000.0), (b"-0", -0.0), (b"0x10", 16.0),
    (b"0x1p3", 8.0), (b"inf", math.inf), (b"-Infinity", -math.inf), (b"0e999", 0.0), (b"0x0p-9999", 0.0),
    (b"2.2250738585072014e-308", 2.2250738585072014e-308),
    (b"nan", None), (b"1_000", None), (b"   ", None), (b"1e", None), (b"0x", None), (b"--1", None),
    (b"3 ", None), (b"1e999", None), (b"-1e999", None), (b"1e-400", None), (b"1e-310", None),
    (b"0x1p99999", None), (b"0x1p-1080", None), (b"abc", None),
])
def test_sort_weight(raw: bytes, expected: float | None) -> None:
    got = sort_weight(raw)
    if expected is None:
        assert got is None
    else:
        assert got == expected and math.copysign(1, got) == math.copysign(1, expected)


def test_option_errors_come_before_the_type_check(c: Client) -> None:
    c("SET", "s", "v")
    assert c("SORT", "s", "FOO") == ErrorReply(errors.SYNTAX)
    assert c("SORT", "s", "LIMIT", "x", 1) == ErrorReply(errors.NOT_INTEGER)
    assert c("SORT", "s", "LIMIT", 1) == ErrorReply(errors.SYNTAX)
    assert c("SORT", "s", "BY") == ErrorReply(errors.SYNTAX)
    assert c("SORT", "s", "GET") == ErrorReply(errors.SYNTAX)
    assert c("SORT", "s", "STORE") == ErrorReply(errors.SYNTAX)
    assert c("SORT_RO", "s", "STORE", "d") == ErrorReply(errors.SYNTAX)
    assert c("SORT", "s") == ErrorReply(errors.WRONGTYPE)
    assert c("HSET", "h", "f", "v") == 1
    assert c("SORT", "h") == ErrorReply(errors.WRONGTYPE)


def test_numeric_and_alpha(c: Client) -> None:
    c("RPUSH", "l", 3, 1, "10", "2", "1.5", "-1")
    assert c("SORT", "l") == b(-1, 1, "1.5", 2, 3, 10)
    assert c("SORT", "l", "DESC", "LIMIT", 1, 2) == b(3, 2)
    assert c("SORT", "l", "ALPHA") == b(-1, 1, "1.5", 10, 2, 3)
    assert c("SORT_RO", "l", "ALPHA", "DESC") == b(3, 2, 10, "1.5", 1, -1)
    c("RPUSH", "t", "1", "1.0", "01", "x")
    assert c("SORT", "t") == ErrorReply(errors.SORT_SCORE_NOT_FLOAT)
    c("LPOP", "t", 0)
    c("RPOP", "t")
    assert c("SORT", "t") == b("01", "1", "1.0")  # equal weights: by bytes
    assert c("SORT", "t", "DESC") == b("1.0", "1", "01")


def test_alpha_compares_up_to_nul_unless_storing(c: Client) -> None:
    c("RPUSH", "l", b"a\x00z", b"a", b"a\x00b", b"B")
    assert c("SORT", "l", "ALPHA") == [b"B", b"a\x00z", b"a", b"a\x00b"]
    assert c("SORT", "l", "ALPHA", "STORE", "d") == 4
    assert c("LRANGE", "d", 0, -1) == [b"B", b"a", b"a\x00b", b"a\x00z"]


def test_limit_clamping(c: Client) -> None:
    c("RPUSH", "l", 4, 3, 2, 1)
    assert c("SORT", "l", "LIMIT", -5, 2) == b(1, 2)
    assert c("SORT", "l", "LIMIT", 2, -1) == b(3, 4)
    assert c("SORT", "l", "LIMIT", 9, 2) == []
    assert c("SORT", "l", "LIMIT", 0, 0) == []
    assert c("SORT", "l", "LIMIT", 1, 2**63 - 1) == b(2, 3, 4)
    assert c("SORT", "nokey", "LIMIT", 0, 5) == []


def test_dontsort_on_lists(c: Client) -> None:
    c("RPUSH", "l", "c", "a", "b")
    assert c("SORT", "l", "BY", "nosort") == b("c", "a", "b")
    assert c("SORT", "l", "BY", "nosort", "DESC") == b("b", "a", "c")
    assert c("SORT", "l", "BY", "nosort", "DESC", "LIMIT", 1, 5) == b("a", "c")
    assert c("SORT", "l", "BY", "nosort", "LIMIT", 1, 1) == b("a")
    assert c("SORT", "l", "BY", "nosort", "BY", "w_*") == b("c", "a", "b")  # a later BY does not undo it
    assert c("SORT", "l", "BY", b"x\x00*") == b("c", "a", "b")


def test_by_and_get(c: Client) -> None:
    c("RPUSH", "l", 1, 2, 3)
    c("SET", "w_1", 30)
    c("SET", "w_2", 10)
    c("RPUSH", "w_3", "not a string")
    c("SET", "o_1", "one")
    c("APPEND", "o_2", "two")
    assert c("SORT", "l", "BY", "w_*") == b(3, 2, 1)
    assert c("SORT", "l", "BY", "w_*", "GET", "#", "GET", "o_*", "GET", "const") == [
        b"3", None, None, b"2", b"two", None, b"1", b"one", None]
    assert c("SORT", "l", "BY", "w_*", "ALPHA") == b(3, 2, 1)  # missing weight first
    assert c("SORT", "l", "BY", "w_*", "GET", "o_*", "STORE", "d") == 3
    assert c("LRANGE", "d", 0, -1) == [b"", b"two", b"one"]
    c("SET", "w_3", "bad")
    assert c("SORT", "l", "BY", "w_*") == ErrorReply(errors.SORT_SCORE_NOT_FLOAT)
    assert c("SORT", "l", "BY", "w_*", "ALPHA", "DESC") == b(3, 1, 2)


def test_store(c: Client) -> None:
    c("RPUSH", "l", 2, 1)
    c("SET", "d", "old")
    c("PEXPIRE", "d", 5000)
    assert c("SORT", "l", "STORE", "d") == 2
    assert c("TYPE", "d") == b"list"
    assert c("PTTL", "d") == -1
    assert c("SORT", "nokey", "STORE", "d") == 0
    assert c("EXISTS", "d") == 0
    before = c.db.changes
    assert c("SORT", "nokey", "STORE", "d") == 0
    assert c.db.changes == before


def test_expired_weight_keys_are_missing(c: Client) -> None:
    c("RPUSH", "l", 1, 2)
    c("SET", "w_1", 5)
    c("SET", "w_2", 1, "PX", 10)
    assert c("SORT", "l", "BY", "w_*") == b(2, 1)
    c.now += 20
    assert c("SORT", "l", "BY", "w_*") == b(2, 1)
    assert c("SORT", "l", "BY", "w_*", "GET", "#", "GET", "w_*") == [b"2", None, b"1", b"5"]


def test_hash_field_patterns(c: Client) -> None:
    c("RPUSH", "l", "a", "b", "c")
    assert c("HSET", "h_a", "w", "3", "n", "Anna", "x->y", "deep") == 3
    assert c("HSET", "h_b", "w", "1") == 1
    c("SET", "h_c", "string")
    c("SET", "h_c->", "plain")
    assert c("SORT", "l", "BY", "h_*->w", "GET", "#", "GET", "h_*->n") == [b"c", None, b"b", None, b"a", b"Anna"]
    assert c("SORT", "l", "BY", "nosort", "GET", "h_*->x->y") == [b"deep", None, None]
    assert c("SORT", "l", "BY", "nosort", "GET", "h_*->") == [None, None, b"plain"]
    assert lookup_by_pattern(c.db, b"h_*->w\x00", b"a", NOW) is None  # field "w\0" is not "w"
    assert lookup_by_pattern(c.db, b"#", b"a", NOW) == b"a"
    assert lookup_by_pattern(c.db, b"nostar", b"a", NOW) is None


def test_sets(c: Client) -> None:
    assert c("SADD", "st", "b", "a", "10", "9") == 4
    assert c("SORT", "st", "ALPHA") == b("10", "9", "a", "b")
    assert c("SORT", "st", "BY", "nosort", "STORE", "d") == 4  # forced ALPHA for STORE
    assert c("LRANGE", "d", 0, -1) == b("10", "9", "a", "b")
    assert sorted(c("SORT", "st", "BY", "nosort")) == b("10", "9", "a", "b")
    assert c("SORT", "st") == ErrorReply(errors.SORT_SCORE_NOT_FLOAT)


def test_sorted_sets(c: Client) -> None:
    assert c("ZADD", "z", 3, "a", 1, "b", 2, "c", 2, "bb") == 4
    assert c("OBJECT", "ENCODING", "z") == b"listpack"
    assert c("SORT", "z", "BY", "nosort") == b("b", "bb", "c", "a")
    assert c("OBJECT", "ENCODING", "z") == b"skiplist"  # BY nosort converts it, as Redis does
    assert c("SORT", "z", "BY", "nosort", "DESC", "LIMIT", 1, 2) == b("c", "bb")
    assert c("SORT", "z", "ALPHA") == b("a", "b", "bb", "c")
    assert c("SORT", "z", "BY", "nosort", "STORE", "d") == 4
    assert c("LRANGE", "d", 0, -1) == b("b", "bb", "c", "a")
