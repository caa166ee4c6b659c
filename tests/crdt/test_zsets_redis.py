"""Differential tests: sorted-set commands against a real redis-server 7.0.

Every scripted command runs on our engine and on Debian's redis-server through
the `diff` fixture, and the replies must be identical (error texts, score
formatting and RESP3 shapes included). A hypothesis-driven test then plays
random sequences of sorted-set commands, valid and invalid, mixed with DEL,
EXISTS, TYPE, EXPIRE, RENAME, COPY and OBJECT ENCODING on the same keys and a
string key for WRONGTYPE. ZRANDMEMBER is random on both sides, so its replies
are checked for the rules it follows (membership, distinctness, counts).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import weighted

pytestmark = pytest.mark.redis


def run_all(diff: Any, commands: list[tuple[Any, ...]]) -> None:
    for argv in commands:
        diff.check(*argv)


SETUP: list[tuple[Any, ...]] = [
    ("ZADD", "z", "1", "a", "2", "b", "2", "bb", "3", "c", "-0", "zero", "1.1", "f", "inf", "top",
     "-inf", "bottom", "1e-310", "tiny", "0x10", "hex"),
    ("ZADD", "lex", "0", "a", "0", "b", "0", "c", "0", "d", "0", "e", "0", "f", "0", "g", "0", "",
     "0", "aa", "0", "b\x00"),
    ("ZADD", "mixed", "3", "a", "1", "z", "2", "c", "0", "m"),
    ("SET", "s", "string"),
]


@pytest.fixture
def loaded(diff: Any) -> Iterator[Any]:
    run_all(diff, SETUP)
    yield diff


# -- ZADD and ZINCRBY ---------------------------------------------------------------------------

ZADD_CASES: list[tuple[Any, ...]] = [
    ("ZADD", "z", "5", "a"), ("ZADD", "z", "NX", "5", "a", "6", "new"), ("ZADD", "z", "XX", "5", "a", "6", "new2"),
    ("ZADD", "z", "GT", "0", "a", "10", "b"), ("ZADD", "z", "LT", "0", "a", "10", "b"),
    ("ZADD", "z", "GT", "CH", "0", "a", "10", "b", "1", "n3"), ("ZADD", "z", "CH", "1", "a", "9", "b"),
    ("ZADD", "z", "XX", "CH", "1", "a", "1", "nope"), ("ZADD", "z", "LT", "CH", "XX", "-5", "a"),
    ("ZADD", "z", "INCR", "2.5", "a"), ("ZADD", "z", "INCR", "1", "newinc"),
    ("ZADD", "z", "NX", "INCR", "1", "a"), ("ZADD", "z", "XX", "INCR", "1", "missing"),
    ("ZADD", "z", "GT", "INCR", "-1", "a"), ("ZADD", "z", "LT", "INCR", "-1", "a"),
    ("ZADD", "z", "GT", "INCR", "0", "a"), ("ZADD", "z", "INCR", "0", "a"),
    ("ZADD", "z", "INCR", "-inf", "top"), ("ZADD", "z", "INCR", "inf", "bottom"),
    ("ZADD", "z", "NX", "XX", "1", "a"), ("ZADD", "z", "GT", "LT", "1", "a"), ("ZADD", "z", "NX", "GT", "1", "a"),
    ("ZADD", "z", "NX", "LT", "1", "a"), ("ZADD", "z", "INCR", "1", "a", "2", "b"),
    ("ZADD", "z", "1", "a", "2"), ("ZADD", "z", "NX", "XX", "1"), ("ZADD", "z", "NX", "XX", "x", "a"),
    ("ZADD", "z", "INCR", "x", "a", "1", "b"), ("ZADD", "z", "nx", "Xx", "ch", "1", "a"),
    ("ZADD", "z", b"nx\x00junk", "1", "a"), ("ZADD", "z", "NXX", "1", "a"),
    ("ZADD", "z", "1", "a", "x", "b"), ("ZADD", "z", "nan", "a"), ("ZADD", "z", " 1", "a"),
    ("ZADD", "z", "1 ", "a"), ("ZADD", "z", "", "a"), ("ZADD", "z", "1e400", "a"), ("ZADD", "z", "-1e400", "a"),
    ("ZADD", "z", "1e-400", "a"), ("ZADD", "z", "0x1p-2000", "a"), ("ZADD", "z", "0x1P3", "a"),
    ("ZADD", "z", "+inf", "a"), ("ZADD", "z", "-Infinity", "a"), ("ZADD", "z", "+5", "a"),
    ("ZADD", "z", ".5", "a"), ("ZADD", "z", "5.", "a"), ("ZADD", "z", "1_0", "a"), ("ZADD", "z", b"1\x00", "a"),
    ("ZADD", "s", "1", "a"), ("ZADD", "s", "x", "a"), ("ZADD", "s", "NX", "XX", "1", "a"),
    ("ZADD", "nokey", "XX", "1", "a"), ("ZADD", "nokey", "XX", "INCR", "1", "a"),
    ("ZADD", "nokey", "GT", "1", "a"), ("ZADD", "nokey", "LT", "INCR", "1", "a"),
    ("ZADD", "z"), ("ZADD", "z", "1"), ("ZADD", "z", "NX"),
    ("ZINCRBY", "z", "1", "a"), ("ZINCRBY", "z", "-1.5", "nm"), ("ZINCRBY", "z", "x", "a"),
    ("ZINCRBY", "z", "nx", "a"), ("ZINCRBY", "z", "incr", "a"), ("ZINCRBY", "z", "-inf", "top"),
    ("ZINCRBY", "s", "1", "a"), ("ZINCRBY", "nokey2", "5", "a"), ("ZINCRBY", "z", "1"),
    ("ZINCRBY", "z", "1e400", "a"),
]


@pytest.mark.parametrize("argv", ZADD_CASES, ids=repr)
def test_zadd_and_zincrby(loaded: Any, argv: tuple[Any, ...]) -> None:
    loaded.check(*argv)
    key = argv[1]
    loaded.check("ZRANGE", key, 0, -1, "WITHSCORES")
    loaded.check("OBJECT", "ENCODING", key)


def test_scores_are_formatted_like_redis(diff: Any) -> None:
    scores = ["1.1", "0.1", "-0", "3.0", "1e17", "123456789012345678", "1e-5", "2.5e-320", "0.3",
              "1e21", "-2.2250738585072014e-308", "4503599627370496", "9007199254740993",
              "0x1.fffffffffffffp1023", "100", "-100.25", "1.7976931348623157e308"]
    for i, score in enumerate(scores):
        diff.check("ZADD", "f", score, f"m{i}")
        diff.check("ZSCORE", "f", f"m{i}")
        diff.check("ZINCRBY", "g", score, f"m{i}")
    diff.check("ZRANGE", "f", 0, -1, "WITHSCORES")
    diff.check("ZSCAN", "f", 0)
    diff.check("ZADD", "g", "INCR", "0.1", "m1")
    diff.check("ZADD", "g", "INCR", "0.2", "m1")


# -- reads --------------------------------------------------------------------------------------

READ_CASES: list[tuple[Any, ...]] = [
    ("ZCARD", "z"), ("ZCARD", "nokey"), ("ZCARD", "s"),
    ("ZSCORE", "z", "a"), ("ZSCORE", "z", "zero"), ("ZSCORE", "z", "top"), ("ZSCORE", "z", "tiny"),
    ("ZSCORE", "z", "nope"), ("ZSCORE", "nokey", "a"), ("ZSCORE", "s", "a"),
    ("ZMSCORE", "z", "a", "nope", "f", "bottom"), ("ZMSCORE", "nokey", "a", "b"), ("ZMSCORE", "s", "a"),
    ("ZRANK", "z", "a"), ("ZRANK", "z", "bb"), ("ZRANK", "z", "nope"), ("ZRANK", "nokey", "a"),
    ("ZRANK", "s", "a"), ("ZREVRANK", "z", "a"), ("ZREVRANK", "z", "top"), ("ZREVRANK", "z", "nope"),
    ("ZREVRANK", "s", "a"), ("ZRANK", "z", "a", "WITHSCORE"),
    ("ZCOUNT", "z", "-inf", "+inf"), ("ZCOUNT", "z", "(1", "2"), ("ZCOUNT", "z", "1", "(2"),
    ("ZCOUNT", "z", "(2", "(2"), ("ZCOUNT", "z", "2", "2"), ("ZCOUNT", "z", "3", "1"),
    ("ZCOUNT", "z", "", ""), ("ZCOUNT", "z", "(", "+inf"), ("ZCOUNT", "z", " 1", "+inf"),
    ("ZCOUNT", "z", "( 1", "inf"), ("ZCOUNT", "z", "1 ", "2"), ("ZCOUNT", "z", "0x1", "2"),
    ("ZCOUNT", "z", "1e400", "inf"), ("ZCOUNT", "z", "(inf", "+inf"), ("ZCOUNT", "z", "-inf", "(-inf"),
    ("ZCOUNT", "z", "nan", "1"), ("ZCOUNT", "z", "abc", "1"), ("ZCOUNT", "z", "1e-400", "inf"),
    ("ZCOUNT", "z", b"1\x00x", "2"), ("ZCOUNT", "z", "((1", "2"), ("ZCOUNT", "z", "   ", "2"),
    ("ZCOUNT", "nokey", "x", "1"), ("ZCOUNT", "nokey", "0", "1"), ("ZCOUNT", "s", "0", "1"),
    ("ZCOUNT", "s", "x", "1"), ("ZCOUNT", "z", "-0", "0"), ("ZCOUNT", "z", "(0", "1"),
    ("ZLEXCOUNT", "lex", "-", "+"), ("ZLEXCOUNT", "lex", "[b", "[d"), ("ZLEXCOUNT", "lex", "(b", "(d"),
    ("ZLEXCOUNT", "lex", "+", "-"), ("ZLEXCOUNT", "lex", "[", "+"), ("ZLEXCOUNT", "lex", "(", "+"),
    ("ZLEXCOUNT", "lex", "", "+"), ("ZLEXCOUNT", "lex", "a", "+"), ("ZLEXCOUNT", "lex", "-x", "+"),
    ("ZLEXCOUNT", "lex", b"-\x00x", "+"), ("ZLEXCOUNT", "lex", "[b", b"[b\x00"),
    ("ZLEXCOUNT", "lex", "[z", "+"), ("ZLEXCOUNT", "mixed", "[b", "[n"), ("ZLEXCOUNT", "mixed", "-", "[c"),
    ("ZLEXCOUNT", "nokey", "-", "+"), ("ZLEXCOUNT", "nokey", "x", "+"), ("ZLEXCOUNT", "s", "-", "+"),
]


@pytest.mark.parametrize("argv", READ_CASES, ids=repr)
def test_reads(loaded: Any, argv: tuple[Any, ...]) -> None:
    loaded.check(*argv)


# -- ranges -----------------------------------------------------------------------------------------

RANGE_CASES: list[tuple[Any, ...]] = [
    ("ZRANGE", "z", 0, -1), ("ZRANGE", "z", 0, -1, "WITHSCORES"), ("ZRANGE", "z", 2, 4),
    ("ZRANGE", "z", -3, -1), ("ZRANGE", "z", -100, 100), ("ZRANGE", "z", 5, 2), ("ZRANGE", "z", 50, 60),
    ("ZRANGE", "z", 0, -1, "REV", "WITHSCORES"), ("ZRANGE", "z", 1, 3, "REV"),
    ("ZRANGE", "z", "(1", "3", "BYSCORE"), ("ZRANGE", "z", "3", "(1", "BYSCORE", "REV"),
    ("ZRANGE", "z", "-inf", "+inf", "BYSCORE", "LIMIT", 1, 3, "WITHSCORES"),
    ("ZRANGE", "z", "+inf", "-inf", "BYSCORE", "REV", "LIMIT", 1, 3),
    ("ZRANGE", "z", "-inf", "+inf", "BYSCORE", "LIMIT", -1, 3),
    ("ZRANGE", "z", "-inf", "+inf", "BYSCORE", "LIMIT", 2, -1),
    ("ZRANGE", "z", "-inf", "+inf", "BYSCORE", "LIMIT", 2, 0),
    ("ZRANGE", "z", "-inf", "+inf", "BYSCORE", "LIMIT", 100, 1),
    ("ZRANGE", "z", "-inf", "+inf", "BYSCORE", "REV", "LIMIT", 3, -5),
    ("ZRANGE", "lex", "[b", "(e", "BYLEX"), ("ZRANGE", "lex", "(e", "[b", "BYLEX", "REV"),
    ("ZRANGE", "lex", "-", "+", "BYLEX", "LIMIT", 2, 3), ("ZRANGE", "lex", "+", "-", "BYLEX", "REV", "LIMIT", 2, 3),
    ("ZRANGE", "lex", "-", "+", "BYLEX", "LIMIT", -1, 3), ("ZRANGE", "lex", "-", "+", "BYLEX", "LIMIT", 1, -1),
    ("ZRANGE", "mixed", "[b", "[n", "BYLEX"), ("ZRANGE", "mixed", "[n", "[b", "BYLEX", "REV"),
    ("ZRANGE", "mixed", "-", "[c", "BYLEX", "LIMIT", 1, 5), ("ZRANGE", "mixed", "[a", "[c", "BYLEX", "LIMIT", 2, 1),
    ("ZRANGE", "mixed", "[c", "[a", "BYLEX", "REV", "LIMIT", 2, 5),
    ("ZRANGE", "z", 0, -1, "LIMIT", 0, -1), ("ZRANGE", "z", 0, -1, "LIMIT", 0, 5),
    ("ZRANGE", "z", 0, -1, "REV", "LIMIT", 0, 1), ("ZRANGE", "lex", "-", "+", "BYLEX", "WITHSCORES"),
    ("ZRANGE", "z", 0, -1, "REV", "REV"), ("ZRANGE", "z", 0, -1, "BYLEX", "BYSCORE"),
    ("ZRANGE", "z", 0, -1, "BYSCORE", "BYSCORE"), ("ZRANGE", "z", "x", 1), ("ZRANGE", "z", 0, "1.5"),
    ("ZRANGE", "z", 0, 1, "LIMIT", "x", 1), ("ZRANGE", "z", 0, 1, "LIMIT", 1),
    ("ZRANGE", "z", 0, 1, "WITHSCORES", "LIMIT", 1, 1), ("ZRANGE", "z", "x", 1, "BYSCORE"),
    ("ZRANGE", "z", "a", "b", "BYLEX"), ("ZRANGE", "z", 0, 1, "FOO"), ("ZRANGE", "z", 0, 1, "withscores", "rev"),
    ("ZRANGE", "nokey", 0, -1), ("ZRANGE", "nokey", "x", 1), ("ZRANGE", "s", 0, -1), ("ZRANGE", "s", "x", 1),
    ("ZREVRANGE", "z", 0, 2), ("ZREVRANGE", "z", 0, -1, "WITHSCORES"), ("ZREVRANGE", "z", 0, 1, "LIMIT", 0, 1),
    ("ZREVRANGE", "z", 0, 1, "REV"), ("ZREVRANGE", "z", 0, 1, "BYSCORE"), ("ZREVRANGE", "s", 0, 1),
    ("ZRANGEBYSCORE", "z", "1", "2"), ("ZRANGEBYSCORE", "z", "-inf", "inf", "WITHSCORES", "LIMIT", 1, 2),
    ("ZRANGEBYSCORE", "z", "1", "2", "REV"), ("ZRANGEBYSCORE", "z", "1", "2", "BYSCORE"),
    ("ZRANGEBYSCORE", "z", "1", "x"), ("ZRANGEBYSCORE", "z", "", ""), ("ZRANGEBYSCORE", "s", "1", "2"),
    ("ZREVRANGEBYSCORE", "z", "2", "1"), ("ZREVRANGEBYSCORE", "z", "+inf", "-inf", "WITHSCORES", "LIMIT", 0, 3),
    ("ZREVRANGEBYSCORE", "z", "1", "2"), ("ZREVRANGEBYSCORE", "z", "(2", "(1"),
    ("ZRANGEBYLEX", "lex", "[a", "[c"), ("ZRANGEBYLEX", "lex", "-", "+", "LIMIT", 0, 2),
    ("ZRANGEBYLEX", "lex", "-", "+", "WITHSCORES"), ("ZRANGEBYLEX", "lex", "a", "+"),
    ("ZREVRANGEBYLEX", "lex", "[c", "[a"), ("ZREVRANGEBYLEX", "lex", "+", "-", "LIMIT", 1, 2),
    ("ZREVRANGEBYLEX", "lex", "[a", "[c"), ("ZREVRANGEBYLEX", "s", "+", "-"),
]


@pytest.mark.parametrize("argv", RANGE_CASES, ids=repr)
def test_ranges(loaded: Any, argv: tuple[Any, ...]) -> None:
    loaded.check(*argv)


STORE_CASES: list[tuple[Any, ...]] = [
    ("ZRANGESTORE", "d", "z", 0, -1), ("ZRANGESTORE", "d", "z", 1, 2),
    ("ZRANGESTORE", "d", "z", "(1", "inf", "BYSCORE", "LIMIT", 1, 2),
    ("ZRANGESTORE", "d", "z", "inf", "(1", "BYSCORE", "REV"), ("ZRANGESTORE", "d", "lex", "[b", "+", "BYLEX"),
    ("ZRANGESTORE", "d", "z", 5, 1), ("ZRANGESTORE", "d", "nokey", 0, -1),
    ("ZRANGESTORE", "d", "z", 0, -1, "WITHSCORES"), ("ZRANGESTORE", "d", "z", "x", 1),
    ("ZRANGESTORE", "d", "s", 0, -1), ("ZRANGESTORE", "s", "z", 0, 1), ("ZRANGESTORE", "z", "z", 1, 2),
    ("ZRANGESTORE", "d", "z", 0, 1, "LIMIT", 0, 1),
]


@pytest.mark.parametrize("argv", STORE_CASES, ids=repr)
@pytest.mark.parametrize("dest", ["absent", "zset", "string-with-ttl"])
def test_zrangestore(loaded: Any, argv: tuple[Any, ...], dest: str) -> None:
    if dest == "zset":
        loaded.check("ZADD", "d", "9", "old")
    elif dest == "string-with-ttl":
        loaded.check("SET", "d", "x", "EX", "100")
    loaded.check(*argv)
    loaded.check("TYPE", "d")
    loaded.check("TTL", "d")
    loaded.check("ZRANGE", "d", 0, -1, "WITHSCORES")
    loaded.check("OBJECT", "ENCODING", argv[1])


# -- removing -----------------------------------------------------------------------------------------

REMOVE_CASES: list[tuple[Any, ...]] = [
    ("ZREM", "z", "a"), ("ZREM", "z", "a", "a", "nope", "b"), ("ZREM", "z", "nope"), ("ZREM", "nokey", "a"),
    ("ZREM", "s", "a"), ("ZREM", "mixed", "a", "z", "c", "m", "more"),
    ("ZREMRANGEBYRANK", "z", 0, 1), ("ZREMRANGEBYRANK", "z", -2, -1), ("ZREMRANGEBYRANK", "z", 0, -1),
    ("ZREMRANGEBYRANK", "z", 5, 1), ("ZREMRANGEBYRANK", "z", 100, 200), ("ZREMRANGEBYRANK", "z", -100, 2),
    ("ZREMRANGEBYRANK", "z", "x", 1), ("ZREMRANGEBYRANK", "nokey", 0, 1), ("ZREMRANGEBYRANK", "nokey", "x", 1),
    ("ZREMRANGEBYRANK", "s", 0, 1),
    ("ZREMRANGEBYSCORE", "z", "1", "2"), ("ZREMRANGEBYSCORE", "z", "(1", "(2"),
    ("ZREMRANGEBYSCORE", "z", "-inf", "+inf"), ("ZREMRANGEBYSCORE", "z", "x", "1"),
    ("ZREMRANGEBYSCORE", "nokey", "x", "1"), ("ZREMRANGEBYSCORE", "s", "0", "1"),
    ("ZREMRANGEBYLEX", "lex", "[b", "[d"), ("ZREMRANGEBYLEX", "lex", "-", "+"),
    ("ZREMRANGEBYLEX", "lex", "(a", "(c"), ("ZREMRANGEBYLEX", "lex", "x", "+"),
    ("ZREMRANGEBYLEX", "mixed", "[b", "[n"), ("ZREMRANGEBYLEX", "s", "-", "+"),
]


@pytest.mark.parametrize("argv", REMOVE_CASES, ids=repr)
def test_removals(loaded: Any, argv: tuple[Any, ...]) -> None:
    loaded.check(*argv)
    loaded.check("EXISTS", argv[1])
    loaded.check("ZRANGE", argv[1], 0, -1, "WITHSCORES")


# -- popping ---------------------------------------------------------------------------------------------

POP_CASES: list[tuple[Any, ...]] = [
    ("ZPOPMIN", "z"), ("ZPOPMAX", "z"), ("ZPOPMIN", "z", 3), ("ZPOPMAX", "z", 3), ("ZPOPMIN", "z", 0),
    ("ZPOPMIN", "z", 100), ("ZPOPMIN", "z", -1), ("ZPOPMIN", "z", "x"), ("ZPOPMIN", "z", 1, 2),
    ("ZPOPMIN", "nokey"), ("ZPOPMIN", "nokey", 0), ("ZPOPMIN", "nokey", -1), ("ZPOPMIN", "s"),
    ("ZPOPMIN", "s", 0), ("ZPOPMAX", "s", 5),
    ("ZMPOP", 1, "z", "MIN"), ("ZMPOP", 1, "z", "max", "COUNT", 3), ("ZMPOP", 2, "nokey", "z", "MIN", "count", 2),
    ("ZMPOP", 2, "nokey", "nokey2", "MIN"), ("ZMPOP", 2, "nokey", "s", "MIN"), ("ZMPOP", 2, "z", "s", "MIN"),
    ("ZMPOP", 0, "z", "MIN"), ("ZMPOP", -1, "z", "MIN"), ("ZMPOP", "x", "z", "MIN"), ("ZMPOP", 2, "z", "MIN"),
    ("ZMPOP", 1, "z", "MID"), ("ZMPOP", 1, "z", "MIN", "COUNT", 0), ("ZMPOP", 1, "z", "MIN", "COUNT", -1),
    ("ZMPOP", 1, "z", "MIN", "COUNT", "x"), ("ZMPOP", 1, "z", "MIN", "COUNT", 1, "COUNT", 2),
    ("ZMPOP", 1, "z", "MIN", "COUNT"), ("ZMPOP", 1, "z", "MIN", "FOO"), ("ZMPOP", 1, "z", "MIN", "COUNT", 100),
]


@pytest.mark.parametrize("argv", POP_CASES, ids=repr)
def test_pops(loaded: Any, argv: tuple[Any, ...]) -> None:
    loaded.check(*argv)
    loaded.check("ZRANGE", "z", 0, -1, "WITHSCORES")
    loaded.check("EXISTS", "z")


def test_pop_empties_and_deletes(diff: Any) -> None:
    run_all(diff, [("ZADD", "k", 1, "a", 2, "b"), ("EXPIRE", "k", 100), ("ZPOPMIN", "k"), ("TTL", "k"),
                   ("ZPOPMAX", "k", 5), ("EXISTS", "k"), ("ZADD", "k", 1, "a"), ("ZMPOP", 1, "k", "MAX"),
                   ("EXISTS", "k"), ("ZMPOP", 1, "k", "MAX")])


# -- set algebra ----------------------------------------------------------------------------------------------

ALGEBRA_CASES: list[tuple[Any, ...]] = [
    ("ZUNION", 2, "z", "mixed"), ("ZUNION", 2, "z", "mixed", "WITHSCORES"),
    ("ZUNION", 2, "z", "mixed", "WEIGHTS", 2, "0.5", "WITHSCORES"),
    ("ZUNION", 2, "z", "mixed", "AGGREGATE", "MIN", "WITHSCORES"),
    ("ZUNION", 2, "z", "mixed", "AGGREGATE", "max", "WITHSCORES"),
    ("ZUNION", 3, "z", "z", "z", "WEIGHTS", 1, -1, 0, "WITHSCORES"),
    ("ZUNION", 2, "z", "z", "WEIGHTS", "inf", "-inf", "WITHSCORES"),
    ("ZUNION", 2, "z", "z", "WEIGHTS", 0, 0, "AGGREGATE", "MAX", "WITHSCORES"),
    ("ZUNION", 2, "z", "nokey", "WITHSCORES"), ("ZUNION", 1, "nokey"), ("ZUNION", 0, "z"),
    ("ZUNION", -1, "z"), ("ZUNION", "x", "z"), ("ZUNION", 3, "z", "mixed"), ("ZUNION", 2, "z", "s"),
    ("ZUNION", 2, "s", "z", "WEIGHTS", "x"), ("ZUNION", 2, "z", "mixed", "WEIGHTS", 1),
    ("ZUNION", 2, "z", "mixed", "WEIGHTS", 1, "x"), ("ZUNION", 2, "z", "mixed", "WEIGHTS", 1, "nan"),
    ("ZUNION", 2, "z", "mixed", "AGGREGATE"), ("ZUNION", 2, "z", "mixed", "AGGREGATE", "AVG"),
    ("ZUNION", 2, "z", "mixed", "LIMIT", 1), ("ZUNION", 2, "z", "mixed", "WITHSCORES", "WITHSCORES"),
    ("ZUNION", 2, "z", "mixed", "WEIGHTS", 1, 2, "WEIGHTS", 3, 4, "WITHSCORES"),
    ("ZINTER", 2, "z", "mixed", "WITHSCORES"), ("ZINTER", 2, "z", "z", "WEIGHTS", 1, 2, "WITHSCORES"),
    ("ZINTER", 2, "z", "z", "WEIGHTS", "inf", "-inf", "WITHSCORES"),
    ("ZINTER", 2, "z", "z", "WEIGHTS", "0", "1", "AGGREGATE", "MIN", "WITHSCORES"),
    ("ZINTER", 2, "z", "nokey"), ("ZINTER", 2, "mixed", "z", "AGGREGATE", "MAX", "WITHSCORES"),
    ("ZINTER", 0, "z"), ("ZINTER", 2, "z", "s"),
    ("ZDIFF", 2, "z", "mixed"), ("ZDIFF", 2, "z", "mixed", "WITHSCORES"), ("ZDIFF", 2, "mixed", "z", "WITHSCORES"),
    ("ZDIFF", 1, "z", "WEIGHTS", 1), ("ZDIFF", 1, "z", "AGGREGATE", "SUM"), ("ZDIFF", 2, "nokey", "z"),
    ("ZDIFF", 0, "z"), ("ZDIFF", 2, "z", "s"),
    ("ZINTERCARD", 2, "z", "mixed"), ("ZINTERCARD", 1, "z"), ("ZINTERCARD", 1, "z", "LIMIT", 3),
    ("ZINTERCARD", 1, "z", "LIMIT", 0), ("ZINTERCARD", 1, "z", "LIMIT", -1), ("ZINTERCARD", 1, "z", "LIMIT", "x"),
    ("ZINTERCARD", 0, "z"), ("ZINTERCARD", -1, "z"), ("ZINTERCARD", "x", "z"), ("ZINTERCARD", 2, "z"),
    ("ZINTERCARD", 1, "z", "WITHSCORES"), ("ZINTERCARD", 1, "z", "LIMIT"), ("ZINTERCARD", 2, "z", "s"),
]


@pytest.mark.parametrize("argv", ALGEBRA_CASES, ids=repr)
def test_algebra(loaded: Any, argv: tuple[Any, ...]) -> None:
    loaded.check(*argv)


STORE_ALGEBRA_CASES: list[tuple[Any, ...]] = [
    ("ZUNIONSTORE", "d", 2, "z", "mixed"), ("ZUNIONSTORE", "d", 2, "z", "mixed", "WEIGHTS", 2, 3),
    ("ZUNIONSTORE", "d", 2, "z", "mixed", "AGGREGATE", "MIN"), ("ZUNIONSTORE", "d", 1, "nokey"),
    ("ZUNIONSTORE", "d", 1, "z", "WITHSCORES"), ("ZUNIONSTORE", "d", 0, "z"), ("ZUNIONSTORE", "d", 2, "z", "s"),
    ("ZUNIONSTORE", "z", 2, "z", "mixed"),
    ("ZINTERSTORE", "d", 2, "z", "mixed"), ("ZINTERSTORE", "d", 2, "z", "nokey"),
    ("ZINTERSTORE", "d", 2, "z", "z", "WEIGHTS", 1, -1),
    ("ZDIFFSTORE", "d", 2, "z", "mixed"), ("ZDIFFSTORE", "d", 1, "nokey"), ("ZDIFFSTORE", "d", 2, "z", "z"),
    ("ZDIFFSTORE", "d", 2, "z", "s"), ("ZDIFFSTORE", "d", 1, "z", "WEIGHTS", 1),
]


@pytest.mark.parametrize("argv", STORE_ALGEBRA_CASES, ids=repr)
@pytest.mark.parametrize("dest", ["absent", "string-with-ttl"])
def test_algebra_store(loaded: Any, argv: tuple[Any, ...], dest: str) -> None:
    if dest == "string-with-ttl":
        loaded.check("SET", "d", "x", "EX", "100")
    loaded.check(*argv)
    for key in ("d", argv[1]):
        loaded.check("TYPE", key)
        loaded.check("TTL", key)
        loaded.check("ZRANGE", key, 0, -1, "WITHSCORES")
        loaded.check("OBJECT", "ENCODING", key)


def test_algebra_with_plain_sets(loaded: Any) -> None:
    run_all(loaded, [
        ("SADD", "set", "a", "b", "x", "1", "2"), ("ZUNION", 2, "z", "set", "WITHSCORES"),
        ("ZINTER", 2, "set", "z", "WEIGHTS", 3, 2, "WITHSCORES"), ("ZDIFF", 2, "set", "z", "WITHSCORES"),
        ("ZINTERCARD", 2, "set", "z"), ("ZUNIONSTORE", "d", 2, "set", "set"), ("ZRANGE", "d", 0, -1, "WITHSCORES"),
        ("ZRANGE", "set", 0, -1), ("ZADD", "set", 1, "a"),
    ])


# -- ZRANDMEMBER and ZSCAN -------------------------------------------------------------------------------------

def test_zrandmember_errors_and_shapes(loaded: Any) -> None:
    run_all(loaded, [
        ("ZRANDMEMBER", "nokey"), ("ZRANDMEMBER", "nokey", 5), ("ZRANDMEMBER", "nokey", -5, "WITHSCORES"),
        ("ZRANDMEMBER", "s"), ("ZRANDMEMBER", "s", 0), ("ZRANDMEMBER", "z", 0), ("ZRANDMEMBER", "z", "x"),
        ("ZRANDMEMBER", "z", 1, "x"), ("ZRANDMEMBER", "z", 1, "WITHSCORES", "x"),
        ("ZRANDMEMBER", "z", 4611686018427387904, "WITHSCORES"),
        ("ZRANDMEMBER", "z", -4611686018427387904, "WITHSCORES"), ("ZRANDMEMBER", "z", 100),
        ("ZRANDMEMBER", "z", 100, "WITHSCORES"), ("ZRANDMEMBER", "z", 11, "withscores"),
    ])
    members = loaded.check("ZRANGE", "z", 0, -1, "WITHSCORES")
    scores = dict(zip(members[::2], members[1::2]))
    for count in (1, 3, 10, -3, -25):
        ours, theirs = loaded.run("ZRANDMEMBER", "z", count, "WITHSCORES")
        assert len(ours) == len(theirs) == 2 * abs(count)
        pairs = list(zip(ours[::2], ours[1::2]))
        assert all(scores[m] == sc for m, sc in pairs)
        if count > 0:
            assert len({m for m, _ in pairs}) == count
        ours, theirs = loaded.run("ZRANDMEMBER", "z", count)
        assert len(ours) == len(theirs) and set(ours) <= set(scores)
    assert loaded.run("ZRANDMEMBER", "z")[0] in scores


def test_zscan(loaded: Any) -> None:
    run_all(loaded, [
        ("ZSCAN", "z", 0), ("ZSCAN", "z", 0, "MATCH", "b*"), ("ZSCAN", "z", 0, "COUNT", 1),
        ("ZSCAN", "z", 0, "MATCH", "*", "COUNT", 100), ("ZSCAN", "z", "x"), ("ZSCAN", "z", 0, "COUNT", 0),
        ("ZSCAN", "z", 0, "COUNT", "x"), ("ZSCAN", "z", 0, "TYPE", "zset"), ("ZSCAN", "z", 0, "MATCH"),
        ("ZSCAN", "nokey", 0), ("ZSCAN", "nokey", 0, "COUNT", 0), ("ZSCAN", "s", 0), ("ZSCAN", "s", "x"),
        ("ZSCAN", "lex", 0, "MATCH", "[a-c]"), ("ZSCAN", "z", -1),
    ])


def test_zscan_big_set_returns_everything(diff: Any) -> None:
    members = [f"m{i}" for i in range(300)]
    args = [x for i, m in enumerate(members) for x in (str(i % 7), m)]
    diff.check("ZADD", "big", *args)
    diff.check("OBJECT", "ENCODING", "big")
    seen: dict[bytes, bytes] = {}
    cursor = b"0"
    for _ in range(1000):
        cursor, found = diff.ours.call(b"ZSCAN", b"big", cursor, b"COUNT", b"20")
        seen.update(zip(found[::2], found[1::2]))
        if cursor == b"0":
            break
    theirs = diff.real.call(b"ZSCAN", b"big", b"0", b"COUNT", b"1000")
    assert seen == dict(zip(theirs[1][::2], theirs[1][1::2]))


# -- encodings ---------------------------------------------------------------------------------------------

@pytest.fixture
def small_limits(diff: Any) -> Iterator[Any]:
    for side in (diff.ours, diff.real):
        side.call(b"CONFIG", b"SET", b"zset-max-listpack-entries", b"3")
        side.call(b"CONFIG", b"SET", b"zset-max-listpack-value", b"4")
    try:
        yield diff
    finally:
        diff.real.call(b"CONFIG", b"SET", b"zset-max-listpack-entries", b"128")
        diff.real.call(b"CONFIG", b"SET", b"zset-max-listpack-value", b"64")


def test_encodings(small_limits: Any) -> None:
    d = small_limits
    steps: list[tuple[Any, ...]] = [
        ("ZADD", "e", 1, "a", 2, "b", 3, "c"), ("OBJECT", "ENCODING", "e"), ("ZADD", "e", 4, "d"),
        ("OBJECT", "ENCODING", "e"), ("ZREM", "e", "a", "b", "c"), ("OBJECT", "ENCODING", "e"),
        ("ZADD", "v", 1, "abcd"), ("OBJECT", "ENCODING", "v"), ("ZADD", "w", 1, "abcde"), ("OBJECT", "ENCODING", "w"),
        ("ZADD", "x", 1, "abcd", 2, "abcdefgh"), ("OBJECT", "ENCODING", "x"),
        ("ZADD", "y", "-0", "neg"), ("ZSCORE", "y", "neg"), ("ZADD", "w", "-0", "neg"), ("ZSCORE", "w", "neg"),
        ("ZADD", "w", "INCR", "-0", "neg2"), ("ZINCRBY", "y", "-0", "neg3"), ("ZSCORE", "y", "neg3"),
        ("ZRANGESTORE", "d1", "e", 0, -1), ("OBJECT", "ENCODING", "d1"),
        ("ZUNIONSTORE", "d2", 1, "w"), ("OBJECT", "ENCODING", "d2"), ("ZRANGE", "d2", 0, -1, "WITHSCORES"),
        ("ZUNIONSTORE", "d3", 2, "e", "x"), ("OBJECT", "ENCODING", "d3"),
        ("ZINTERSTORE", "d4", 2, "x", "x"), ("OBJECT", "ENCODING", "d4"),
        ("ZDIFFSTORE", "d5", 1, "x"), ("OBJECT", "ENCODING", "d5"),
        ("COPY", "e", "e2"), ("OBJECT", "ENCODING", "e2"), ("ZRANGE", "e2", 0, -1, "WITHSCORES"),
        ("ZADD", "w", "1e17", "big", "4611686018427387904", "b2", "4611686018427387905", "b3",
         "-4611686018427387904", "b4", "9223372036854775807", "b5", "1.5", "b6"),
        ("ZSCAN", "y", 0), ("ZSCAN", "w", 0),
        ("CONFIG", "SET", "zset-max-listpack-entries", "0"), ("ZADD", "zero", 1, "a"), ("OBJECT", "ENCODING", "zero"),
        ("ZRANGESTORE", "d6", "y", 0, 0), ("OBJECT", "ENCODING", "d6"),
    ]
    for argv in steps:
        if argv[0] == "ZSCAN" and argv[1] == "w":
            ours, theirs = d.run(*argv)  # skiplist scans: same content, order may differ
            assert dict(zip(ours[1][::2], ours[1][1::2])) == dict(zip(theirs[1][::2], theirs[1][1::2]))
        else:
            d.check(*argv)


# -- RESP3 shapes ------------------------------------------------------------------------------------------

def test_resp3_shapes(real_redis_port: int) -> None:
    from tests.differential import Differential

    d = Differential(real_redis_port, resp3=True)
    try:
        run_all(d, SETUP + [
            ("ZSCORE", "z", "f"), ("ZSCORE", "z", "top"), ("ZSCORE", "z", "nope"), ("ZMSCORE", "z", "a", "nope"),
            ("ZINCRBY", "z", "1.5", "a"), ("ZADD", "z", "INCR", "1", "a"), ("ZADD", "z", "GT", "INCR", "-1", "a"),
            ("ZRANGE", "z", 0, -1, "WITHSCORES"), ("ZRANGE", "z", 0, -1), ("ZREVRANGEBYSCORE", "z", "+inf", 1, "WITHSCORES"),
            ("ZUNION", 2, "z", "mixed", "WITHSCORES"), ("ZINTER", 1, "z", "WITHSCORES"), ("ZDIFF", 1, "z", "WITHSCORES"),
            ("ZRANDMEMBER", "z", 0, "WITHSCORES"), ("ZRANDMEMBER", "nokey"), ("ZSCAN", "z", 0),
            ("ZPOPMIN", "z"), ("ZPOPMIN", "z", 1), ("ZPOPMAX", "z", 2), ("ZPOPMIN", "z", 0), ("ZPOPMIN", "nokey"),
            ("ZMPOP", 1, "z", "MIN"), ("ZMPOP", 1, "z", "MAX", "COUNT", 2), ("ZMPOP", 1, "nokey", "MIN"),
            ("ZRANK", "z", "nope"),
        ])
        ours, theirs = d.run("ZRANDMEMBER", "z", -3, "WITHSCORES")
        assert len(ours) == len(theirs) == 3 and all(len(p) == 2 for p in ours)
    finally:
        d.close()


# -- random sequences -------------------------------------------------------------------------------------

KEYS = ["za", "zb", "zc", "str"]
keys = st.sampled_from(KEYS)
members = st.sampled_from(["a", "b", "c", "d", "e", "", "aa", "b\x00", "long-member-name"])
scores = st.sampled_from(["0", "1", "2", "-1", "1.5", "0.1", "-0", "inf", "-inf", "+inf", "3", "1e3",
                          "x", "nan", "", "1e400", " 1"])
bounds = st.sampled_from(["0", "1", "(1", "2", "(2", "-inf", "+inf", "inf", "(0", "x", "", "(", "1.5"])
lex_bounds = st.sampled_from(["-", "+", "[a", "(a", "[b", "(c", "[", "(", "[aa", "a", ""])
ints = st.sampled_from(["0", "1", "2", "-1", "-2", "5", "-10", "x"])
counts = st.sampled_from(["0", "1", "2", "3", "-1", "10", "x"])
zadd_flags = st.lists(st.sampled_from(["NX", "XX", "GT", "LT", "CH", "INCR"]), max_size=3, unique=True)
limits = st.one_of(st.just(()), st.tuples(st.just("LIMIT"), ints, ints))
withscores = st.sampled_from([(), ("WITHSCORES",)])
key_lists = st.lists(keys, min_size=1, max_size=3)


WEIGHTED = [
    (8, st.builds(lambda k, f, p: ("ZADD", k, *f, *[x for pair in p for x in pair]),
                  keys, zadd_flags, st.lists(st.tuples(scores, members), min_size=1, max_size=4))),
    (2, st.tuples(st.just("ZINCRBY"), keys, scores, members)),
    (2, st.builds(lambda k, m: ("ZREM", k, *m), keys, st.lists(members, min_size=1, max_size=3))),
    (3, st.tuples(st.sampled_from(["ZSCORE", "ZRANK", "ZREVRANK"]), keys, members)),
    (1, st.builds(lambda k, m: ("ZMSCORE", k, *m), keys, st.lists(members, min_size=1, max_size=3))),
    (2, st.tuples(st.sampled_from(["ZCARD", "EXISTS", "TYPE", "DEL"]), keys)),
    (2, st.tuples(st.sampled_from(["ZCOUNT", "ZREMRANGEBYSCORE"]), keys, bounds, bounds)),
    (2, st.tuples(st.sampled_from(["ZLEXCOUNT", "ZREMRANGEBYLEX"]), keys, lex_bounds, lex_bounds)),
    (1, st.tuples(st.just("ZREMRANGEBYRANK"), keys, ints, ints)),
    (4, st.builds(lambda k, a, b, opts, ws: ("ZRANGE", k, a, b, *opts, *ws), keys, ints, ints,
                  st.sampled_from([(), ("REV",)]), withscores)),
    (3, st.builds(lambda k, a, b, rev, lim, ws: ("ZRANGE", k, a, b, "BYSCORE", *rev, *lim, *ws), keys, bounds,
                  bounds, st.sampled_from([(), ("REV",)]), limits, withscores)),
    (3, st.builds(lambda k, a, b, rev, lim: ("ZRANGE", k, a, b, "BYLEX", *rev, *lim), keys, lex_bounds,
                  lex_bounds, st.sampled_from([(), ("REV",)]), limits)),
    (2, st.builds(lambda c, k, a, b, lim, ws: (c, k, a, b, *ws, *lim),
                  st.sampled_from(["ZRANGEBYSCORE", "ZREVRANGEBYSCORE"]), keys, bounds, bounds, limits, withscores)),
    (1, st.builds(lambda c, k, a, b, lim: (c, k, a, b, *lim), st.sampled_from(["ZRANGEBYLEX", "ZREVRANGEBYLEX"]),
                  keys, lex_bounds, lex_bounds, limits)),
    (1, st.builds(lambda k, a, b, ws: ("ZREVRANGE", k, a, b, *ws), keys, ints, ints, withscores)),
    (2, st.builds(lambda d, k, a, b, t: ("ZRANGESTORE", d, k, a, b, *t), keys, keys, ints, ints,
                  st.sampled_from([(), ("REV",)]))),
    (2, st.builds(lambda c, k, n: (c, k) if n is None else (c, k, n), st.sampled_from(["ZPOPMIN", "ZPOPMAX"]),
                  keys, st.one_of(st.none(), counts))),
    (1, st.builds(lambda ks, side, n: ("ZMPOP", len(ks), *ks, side, *(() if n is None else ("COUNT", n))),
                  key_lists, st.sampled_from(["MIN", "MAX", "mid"]), st.one_of(st.none(), counts))),
    (2, st.builds(lambda c, ks, w, agg, ws: (c, len(ks), *ks, *w, *agg, *ws),
                  st.sampled_from(["ZUNION", "ZINTER", "ZDIFF"]), key_lists,
                  st.sampled_from([(), ("WEIGHTS", "2", "1", "-1"), ("WEIGHTS", "2")]),
                  st.sampled_from([(), ("AGGREGATE", "MIN"), ("AGGREGATE", "MAX"), ("AGGREGATE", "sum")]),
                  withscores)),
    (2, st.builds(lambda c, d, ks, agg: (c, d, len(ks), *ks, *agg),
                  st.sampled_from(["ZUNIONSTORE", "ZINTERSTORE", "ZDIFFSTORE"]), keys, key_lists,
                  st.sampled_from([(), ("AGGREGATE", "MAX"), ("WEIGHTS", "0", "1", "2")]))),
    (1, st.builds(lambda ks, lim: ("ZINTERCARD", len(ks), *ks, *lim), key_lists,
                  st.sampled_from([(), ("LIMIT", "1"), ("LIMIT", "0"), ("LIMIT", "-1")]))),
    (1, st.tuples(st.just("SET"), keys, st.just("v"))),
    (1, st.tuples(st.just("EXPIRE"), keys, st.sampled_from(["100", "0", "-1"]))),
    (1, st.tuples(st.just("TTL"), keys)),
    (1, st.tuples(st.sampled_from(["RENAME", "COPY"]), keys, keys)),
    (1, st.tuples(st.just("OBJECT"), st.just("ENCODING"), keys)),
    (1, st.tuples(st.just("ZSCAN"), keys, st.just("0"))),
    (1, st.tuples(st.just("ZRANDMEMBER"), keys, st.just("0"))),
]
commands = weighted(WEIGHTED)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=st.lists(commands, min_size=10, max_size=40))
def test_random_sequences(diff: Any, ops: list[tuple[Any, ...]]) -> None:
    diff.reset()
    for op in ops:
        diff.check(*op)
    for key in KEYS:
        diff.check("TYPE", key)
        ours, theirs = diff.run("ZRANGE", key, 0, -1, "WITHSCORES")
        assert ours == theirs, f"{key}: {ours!r} != {theirs!r} after {ops!r}"
