"""Unit tests for the sorted-set commands, run on the engine directly with virtual time.

Covers every error path, the encodings and their limits, big (skiplist) sets
where ranges are bisected and ZSCAN uses a cursor, expiry, RESP3 reply shapes,
the `zset_pop` core the blocking commands reuse, plain sets as inputs of the
set algebra, and ZRANDMEMBER's rules under the engine's seeded RNG.
"""

from __future__ import annotations

import math
import random
from typing import Any

import pytest

from crdt.config import Config
from crdt import errors
from crdt.engine import Engine
from crdt.errors import CommandError
from crdt.commands.zsets import ZSet, format_score, parse_score, parse_score_range, zset_pop
from protocol.replies import NULL_ARRAY, ErrorReply
from tests.helpers import NOT_INTEGER, SYNTAX, WRONGTYPE

NOW = 1_000_000


class Client:
    """An engine and one session; `__call__` runs a command at the current virtual time."""

    def __init__(self) -> None:
        self.engine = Engine(now_ms=NOW, rng=random.Random(7))
        self.now = NOW
        self.session = self.engine.open_session(NOW)

    def __call__(self, *argv: Any) -> Any:
        args = [a if isinstance(a, bytes) else str(a).encode() for a in argv]
        return self.engine.execute(args, self.session, self.now)


@pytest.fixture
def c() -> Client:
    return Client()


def err(reply: Any) -> bytes:
    assert isinstance(reply, ErrorReply), reply
    return bytes(reply)


def test_zadd_basics_and_options(c: Client) -> None:
    assert c("ZADD", "z", 1, "a", 2, "b") == 2
    assert c("ZADD", "z", 3, "a", 4, "c") == 1
    assert c("ZADD", "z", "CH", 5, "a", 4, "c", 6, "d") == 2
    assert c("ZADD", "z", "NX", 0, "a", 7, "e") == 1
    assert c("ZSCORE", "z", "a") == 5.0
    assert c("ZADD", "z", "XX", 1, "a", 1, "nope") == 0
    assert c("ZSCORE", "z", "nope") is None
    assert c("ZADD", "z", "GT", "CH", 0, "a", 9, "b") == 1
    assert c("ZADD", "z", "LT", "CH", 0, "a", 99, "b") == 1
    assert c("ZMSCORE", "z", "a", "b", "zz") == [0.0, 9.0, None]
    assert c("ZADD", "z", "INCR", "2.5", "a") == 2.5
    assert c("ZADD", "z", "GT", "INCR", "-1", "a") is None
    assert c("ZADD", "z", "NX", "INCR", "1", "a") is None
    assert c("ZADD", "nokey", "XX", "INCR", "1", "a") is None
    assert c("ZADD", "nokey", "XX", 1, "a") == 0
    assert c("EXISTS", "nokey") == 0
    assert c("ZINCRBY", "z", 1, "a") == 3.5
    assert c("ZINCRBY", "new", "-2", "m") == -2.0


@pytest.mark.parametrize("argv, text", [
    (("ZADD", "z", "NX", "XX", 1, "a"), errors.ZADD_NX_XX),
    (("ZADD", "z", "GT", "LT", 1, "a"), errors.ZADD_GT_LT_NX),
    (("ZADD", "z", "GT", "NX", 1, "a"), errors.ZADD_GT_LT_NX),
    (("ZADD", "z", "LT", "NX", 1, "a"), errors.ZADD_GT_LT_NX),
    (("ZADD", "z", "INCR", 1, "a", 2, "b"), errors.ZADD_INCR_PAIR),
    (("ZADD", "z", 1, "a", 2), SYNTAX),
    (("ZADD", "z", "NX", 1), SYNTAX),
    (("ZADD", "z", "x", "a"), b"ERR value is not a valid float"),
    (("ZADD", "z", "nan", "a"), b"ERR value is not a valid float"),
    (("ZADD", "z", "1e400", "a"), b"ERR value is not a valid float"),
    (("ZADD", "z", "1e-400", "a"), b"ERR value is not a valid float"),
    (("ZADD", "z", " 1", "a"), b"ERR value is not a valid float"),
    (("ZADD", "z"), b"ERR wrong number of arguments for 'zadd' command"),
    (("ZINCRBY", "z", "nx", "a"), SYNTAX),
    (("ZINCRBY", "z", "x", "a"), b"ERR value is not a valid float"),
])
def test_zadd_errors(c: Client, argv: tuple[Any, ...], text: bytes) -> None:
    assert err(c(*argv)) == text


def test_nan_results_are_refused_and_change_nothing(c: Client) -> None:
    c("ZADD", "z", "inf", "a")
    assert err(c("ZINCRBY", "z", "-inf", "a")) == errors.SCORE_NAN
    assert err(c("ZADD", "z", "INCR", "-inf", "a")) == errors.SCORE_NAN
    assert c("ZSCORE", "z", "a") == math.inf


def test_wrongtype_everywhere(c: Client) -> None:
    c("SET", "s", "v")
    for argv in [("ZADD", "s", 1, "a"), ("ZINCRBY", "s", 1, "a"), ("ZREM", "s", "a"), ("ZCARD", "s"),
                 ("ZSCORE", "s", "a"), ("ZMSCORE", "s", "a"), ("ZRANK", "s", "a"), ("ZREVRANK", "s", "a"),
                 ("ZCOUNT", "s", 0, 1), ("ZLEXCOUNT", "s", "-", "+"), ("ZRANGE", "s", 0, 1),
                 ("ZRANGESTORE", "d", "s", 0, 1), ("ZPOPMIN", "s"), ("ZPOPMAX", "s", 0),
                 ("ZMPOP", 1, "s", "MIN"), ("ZREMRANGEBYRANK", "s", 0, 1), ("ZREMRANGEBYSCORE", "s", 0, 1),
                 ("ZREMRANGEBYLEX", "s", "-", "+"), ("ZUNION", 1, "s"), ("ZINTERSTORE", "d", 1, "s"),
                 ("ZDIFF", 1, "s"), ("ZINTERCARD", 1, "s"), ("ZRANDMEMBER", "s"), ("ZRANDMEMBER", "s", 1),
                 ("ZSCAN", "s", 0)]:
        assert err(c(*argv)) == WRONGTYPE, argv
    assert c("GET", "s") == b"v"


def test_zrem_deletes_empty_key_and_keeps_ttl(c: Client) -> None:
    c("ZADD", "z", 1, "a", 2, "b")
    c("PEXPIRE", "z", 5000)
    assert c("ZREM", "z", "a", "a", "x") == 1
    assert c("PTTL", "z") == 5000
    assert c("ZREM", "z", "b") == 1
    assert c("EXISTS", "z") == 0
    assert c("ZREM", "z", "b") == 0


def test_expired_zset_is_gone(c: Client) -> None:
    c("ZADD", "z", 1, "a")
    c("PEXPIRE", "z", 100)
    c.now += 101
    assert c("ZCARD", "z") == 0
    assert c("ZADD", "z", "XX", 1, "a") == 0
    assert c("ZADD", "z", 2, "b") == 1
    assert c("PTTL", "z") == -1


def test_ranks_counts_and_ranges(c: Client) -> None:
    c("ZADD", "z", 1, "a", 2, "b", 2, "c", 3, "d")
    assert (c("ZRANK", "z", "c"), c("ZREVRANK", "z", "c"), c("ZRANK", "z", "x")) == (2, 1, None)
    assert c("ZCOUNT", "z", "(1", 2) == 2
    assert c("ZCOUNT", "z", "", "") == 0
    assert c("ZRANGE", "z", 0, -1) == [b"a", b"b", b"c", b"d"]
    assert c("ZRANGE", "z", 1, 2, "REV", "WITHSCORES") == [b"c", 2.0, b"b", 2.0]
    assert c("ZRANGE", "z", "(1", "+inf", "BYSCORE", "LIMIT", 1, 5) == [b"c", b"d"]
    assert c("ZRANGEBYSCORE", "z", "-inf", "(2") == [b"a"]
    assert c("ZREVRANGEBYSCORE", "z", "+inf", "2", "LIMIT", 0, 2) == [b"d", b"c"]
    assert c("ZREVRANGE", "z", 0, 0, "WITHSCORES") == [b"d", 3.0]
    assert err(c("ZRANGE", "z", 0, 1, "LIMIT", 0, 1)) == errors.RANGE_LIMIT
    assert err(c("ZRANGE", "z", "-", "+", "BYLEX", "WITHSCORES")) == errors.RANGE_BYLEX_WITHSCORES
    assert err(c("ZRANGE", "z", "x", "1", "BYSCORE")) == errors.MIN_MAX_NOT_FLOAT
    assert err(c("ZRANGE", "z", "x", "1", "BYLEX")) == errors.MIN_MAX_NOT_LEX
    assert err(c("ZRANGE", "z", "x", "1")) == NOT_INTEGER
    assert err(c("ZRANGEBYSCORE", "z", 0, 1, "REV")) == SYNTAX
    assert err(c("ZRANGESTORE", "d", "z", 0, 1, "WITHSCORES")) == SYNTAX
    assert err(c("ZCOUNT", "nokey", "x", 1)) == errors.MIN_MAX_NOT_FLOAT
    assert err(c("ZLEXCOUNT", "nokey", "a", "+")) == errors.MIN_MAX_NOT_LEX


def test_lex_ranges(c: Client) -> None:
    c("ZADD", "l", 0, "a", 0, "b", 0, "c", 0, "d")
    assert c("ZRANGEBYLEX", "l", "(a", "[c") == [b"b", b"c"]
    assert c("ZREVRANGEBYLEX", "l", "+", "(b", "LIMIT", 1, 5) == [b"c"]
    assert c("ZLEXCOUNT", "l", "[b", "+") == 3
    assert c("ZLEXCOUNT", "l", "+", "-") == 0
    assert c("ZREMRANGEBYLEX", "l", "-", "(c") == 2
    assert c("ZRANGE", "l", 0, -1) == [b"c", b"d"]


def test_score_range_parsing() -> None:
    inf = math.inf
    assert parse_score_range(b"(1", b"+inf") == (1.0, True, inf, False)
    assert parse_score_range(b"", b"(") == (0.0, False, 0.0, True)
    assert parse_score_range(b" 1", b"( 2") == (1.0, False, 2.0, True)
    assert parse_score_range(b"1\x00junk", b"0x10") == (1.0, False, 16.0, False)
    assert parse_score_range(b"1e400", b"1e-400") == (inf, False, 0.0, False)
    for bad in (b"1 ", b"   ", b"nan", b"abc", b"((1", b"0x"):
        with pytest.raises(CommandError):
            parse_score_range(bad, b"1")


def test_score_parsing() -> None:
    assert parse_score(b"1e-310") == 1e-310
    assert parse_score(b"-inf") == -math.inf
    assert parse_score(b"0x1P3") == 8.0
    assert math.copysign(1.0, parse_score(b"-0")) == -1.0
    for bad in (b"1e400", b"-1e400", b"1e-400", b"0x1p-2000", b"nan", b"", b" 1", b"1\x00", b"1_0"):
        with pytest.raises(CommandError):
            parse_score(bad)


def test_format_score() -> None:
    assert format_score(1e17, True) == b"100000000000000000"
    assert format_score(1e17, False) == b"1e+17"
    assert format_score(2.0**62, True) == b"4611686018427387904"
    assert format_score(2.0**63, True) == b"9.2233720368547758e+18"
    assert format_score(-0.0, False) == b"-0"
    assert format_score(1.1, True) == b"1.1000000000000001"
    assert format_score(-math.inf, True) == b"-inf"


def test_remove_ranges(c: Client) -> None:
    c("ZADD", "z", 1, "a", 2, "b", 3, "c", 4, "d")
    assert c("ZREMRANGEBYRANK", "z", -2, -1) == 2
    assert c("ZREMRANGEBYRANK", "z", 5, 9) == 0
    assert c("ZREMRANGEBYSCORE", "z", "(1", 10) == 1
    assert c("ZREMRANGEBYSCORE", "z", "-inf", "+inf") == 1
    assert c("EXISTS", "z") == 0
    assert err(c("ZREMRANGEBYRANK", "z", "x", 1)) == NOT_INTEGER
    assert err(c("ZREMRANGEBYSCORE", "z", "x", 1)) == errors.MIN_MAX_NOT_FLOAT
    assert err(c("ZREMRANGEBYLEX", "z", "x", "+")) == errors.MIN_MAX_NOT_LEX


def test_pops_and_resp3_shapes(c: Client) -> None:
    c("ZADD", "z", 1, "a", 2, "b", 3, "c", 4, "d", 5, "e")
    assert c("ZPOPMIN", "z") == [b"a", 1.0]
    assert c("ZPOPMAX", "z", 2) == [b"e", 5.0, b"d", 4.0]
    assert c("ZPOPMIN", "z", 0) == []
    assert err(c("ZPOPMIN", "z", -1)) == b"ERR value is out of range, must be positive"
    assert err(c("ZPOPMIN", "z", "x")) == b"ERR value is out of range, must be positive"
    assert err(c("ZPOPMIN", "z", 1, 2)) == SYNTAX
    c.session.resp3 = True
    assert c("ZPOPMIN", "z") == [b"b", 2.0]
    assert c("ZPOPMIN", "z", 1) == [[b"c", 3.0]]
    assert c("ZPOPMIN", "z") == []
    c("ZADD", "z", 1, "a", 2, "b")
    assert c("ZRANGE", "z", 0, -1, "WITHSCORES") == [[b"a", 1.0], [b"b", 2.0]]
    assert c("ZUNION", 1, "z", "WITHSCORES") == [[b"a", 1.0], [b"b", 2.0]]
    assert c("ZRANDMEMBER", "z", 5, "WITHSCORES") == [[b"b", 2.0], [b"a", 1.0]]
    assert c("ZSCAN", "z", 0) == [b"0", [b"a", b"1", b"b", b"2"]]


def test_zmpop(c: Client) -> None:
    c("ZADD", "b", 1, "x", 2, "y")
    assert c("ZMPOP", 2, "a", "b", "MAX", "COUNT", 5) == [b"b", [[b"y", 2.0], [b"x", 1.0]]]
    assert c("ZMPOP", 2, "a", "b", "MIN") is NULL_ARRAY
    for argv, text in [((0, "a", "MIN"), errors.NUMKEYS_POSITIVE), (("x", "a", "MIN"), errors.NUMKEYS_POSITIVE),
                       ((2, "a", "MIN"), SYNTAX), ((1, "a", "MID"), SYNTAX),
                       ((1, "a", "MIN", "COUNT", 0), errors.COUNT_POSITIVE),
                       ((1, "a", "MIN", "COUNT", "x"), errors.COUNT_POSITIVE),
                       ((1, "a", "MIN", "COUNT", 1, "COUNT", 1), SYNTAX),
                       ((1, "a", "MIN", "COUNT"), SYNTAX)]:
        assert err(c("ZMPOP", *argv)) == text, argv


def test_zset_pop_core(c: Client) -> None:
    db = c.session.db
    c("ZADD", "z", 1, "a", 2, "b", 3, "c")
    changes = db.changes
    assert zset_pop(db, b"z", True, 2, c.now) == [(b"c", 3.0), (b"b", 2.0)]
    assert db.changes > changes
    assert zset_pop(db, b"z", False, 5, c.now) == [(b"a", 1.0)]
    assert zset_pop(db, b"z", False, 1, c.now) is None
    c("SET", "s", "v")
    with pytest.raises(CommandError):
        zset_pop(db, b"s", False, 1, c.now)


def test_set_algebra(c: Client) -> None:
    c("ZADD", "a", 1, "x", 2, "y", 3, "z")
    c("ZADD", "b", 10, "y", 20, "z", 30, "w")
    assert c("ZUNION", 2, "a", "b", "WITHSCORES") == [b"x", 1.0, b"y", 12.0, b"z", 23.0, b"w", 30.0]
    assert c("ZINTER", 2, "a", "b", "AGGREGATE", "MAX", "WITHSCORES") == [b"y", 10.0, b"z", 20.0]
    assert c("ZINTER", 2, "a", "b", "WEIGHTS", 2, 0, "AGGREGATE", "MIN") == [b"y", b"z"]
    assert c("ZDIFF", 2, "a", "b", "WITHSCORES") == [b"x", 1.0]
    assert c("ZINTERCARD", 2, "a", "b", "LIMIT", 1) == 1
    assert c("ZUNION", 2, "a", "a", "WEIGHTS", "inf", "-inf", "WITHSCORES") == [b"x", 0.0, b"y", 0.0, b"z", 0.0]
    c("SET", "d", "old", "EX", 100)
    assert c("ZINTERSTORE", "d", 2, "a", "b") == 2
    assert c("TTL", "d") == -1
    assert c("ZDIFFSTORE", "d", 2, "a", "a") == 0
    assert c("EXISTS", "d") == 0
    for argv, text in [
        (("ZUNION", 0, "a"), b"ERR at least 1 input key is needed for 'zunion' command"),
        (("ZUNIONSTORE", "d", 0, "a"), b"ERR at least 1 input key is needed for 'zunionstore' command"),
        (("ZINTERCARD", -1, "a"), b"ERR at least 1 input key is needed for 'zintercard' command"),
        (("ZUNION", 3, "a", "b"), SYNTAX),
        (("ZUNION", 2, "a", "b", "WEIGHTS", 1, "x"), errors.WEIGHT_NOT_FLOAT),
        (("ZUNION", 2, "a", "b", "AGGREGATE", "AVG"), SYNTAX),
        (("ZUNIONSTORE", "d", 1, "a", "WITHSCORES"), SYNTAX),
        (("ZDIFF", 1, "a", "WEIGHTS", 1), SYNTAX),
        (("ZINTERCARD", 1, "a", "LIMIT", -1), errors.LIMIT_NEGATIVE),
        (("ZINTERCARD", 1, "a", "LIMIT", "x"), errors.LIMIT_NEGATIVE),
        (("ZINTERCARD", 1, "a", "WITHSCORES"), SYNTAX),
    ]:
        assert err(c(*argv)) == text, argv


def test_plain_sets_count_with_score_one(c: Client) -> None:
    assert c("SADD", "st", "x", "q") == 2
    c("ZADD", "a", 5, "x", 2, "y")
    assert c("ZUNION", 2, "a", "st", "WITHSCORES") == [b"q", 1.0, b"y", 2.0, b"x", 6.0]
    assert c("ZINTER", 2, "st", "a", "WEIGHTS", 3, 1, "WITHSCORES") == [b"x", 8.0]
    assert c("ZDIFF", 2, "st", "a", "WITHSCORES") == [b"q", 1.0]


def test_encodings_and_limits(c: Client) -> None:
    c("CONFIG", "SET", "zset-max-listpack-entries", "2")
    c("CONFIG", "SET", "zset-max-listpack-value", "3")
    c("ZADD", "z", 1, "a", 2, "b")
    assert c("OBJECT", "ENCODING", "z") == b"listpack"
    c("ZADD", "z", 3, "c")
    assert c("OBJECT", "ENCODING", "z") == b"skiplist"
    c("ZREM", "z", "a", "b")
    assert c("OBJECT", "ENCODING", "z") == b"skiplist"
    c("COPY", "z", "z2")
    assert c("OBJECT", "ENCODING", "z2") == b"skiplist"
    c("ZADD", "z2", 9, "new")
    assert c("ZCARD", "z") == 1 and c("ZCARD", "z2") == 2
    assert c("ZRANGESTORE", "d", "z2", 0, 0) == 1
    assert c("OBJECT", "ENCODING", "d") == b"listpack"
    c("ZADD", "long", 1, "abcd")
    assert c("OBJECT", "ENCODING", "long") == b"skiplist"
    c("ZADD", "neg", "-0", "m")
    assert c("ZSCORE", "neg", "m") == 0.0 and math.copysign(1, c("ZSCORE", "neg", "m")) == 1
    c("ZADD", "long", "-0", "m")
    assert math.copysign(1, c("ZSCORE", "long", "m")) == -1
    c("CONFIG", "SET", "zset-max-listpack-entries", "0")
    c("ZADD", "zero", 1, "a")
    assert c("OBJECT", "ENCODING", "zero") == b"skiplist"


def big_set(c: Client, n: int, same_score: bool = False) -> list[bytes]:
    members = [b"m%05d" % i for i in range(n)]
    args: list[Any] = []
    for i, m in enumerate(members):
        args += [0 if same_score else i % 50, m]
    assert c("ZADD", "big", *args) == n
    assert c("OBJECT", "ENCODING", "big") == b"skiplist"
    return members


def test_big_sets_ranges_and_ranks(c: Client) -> None:
    members = big_set(c, 1000)
    model = sorted(((i % 50, m) for i, m in enumerate(members)))
    assert c("ZRANK", "big", model[500][1]) == 500
    assert c("ZRANGE", "big", 100, 104) == [m for _, m in model[100:105]]
    assert c("ZRANGE", "big", "(10", "12", "BYSCORE") == [m for s, m in model if 10 < s <= 12]
    assert c("ZCOUNT", "big", "(10", "12") == 40
    assert c("ZREMRANGEBYSCORE", "big", "-inf", "(1") == 20
    assert c("ZCARD", "big") == 980


def test_big_lex_ranges_are_bisected(c: Client) -> None:
    members = big_set(c, 500, same_score=True)
    assert c("ZRANGE", "big", "[m00100", "(m00105", "BYLEX") == members[100:105]
    assert c("ZRANGE", "big", "(m00105", "[m00100", "BYLEX", "REV", "LIMIT", 1, 2) == members[103:101:-1]
    assert c("ZLEXCOUNT", "big", "-", "(m00010") == 10
    assert c("ZLEXCOUNT", "big", "(m00499", "+") == 0
    assert c("ZREMRANGEBYLEX", "big", "[m00490", "+") == 10
    assert c("ZRANGE", "big", "+", "-", "BYLEX") == []


def test_big_zscan_walks_with_a_cursor(c: Client) -> None:
    members = big_set(c, 400)
    seen: set[bytes] = set()
    cursor = b"0"
    steps = 0
    while True:
        cursor, found = c("ZSCAN", "big", cursor, "COUNT", 25)
        steps += 1
        seen.update(found[::2])
        if steps == 3:
            c("ZREM", "big", members[0])  # removing mid-scan loses nothing else
            c("ZADD", "big", 1, "late")
        if cursor == b"0":
            break
    assert steps > 5
    assert set(members[1:]) <= seen
    _, matched = c("ZSCAN", "big", 0, "MATCH", "m0000*", "COUNT", 1000)
    assert sorted(matched[::2]) == members[1:10]


def test_zscan_errors(c: Client) -> None:
    c("ZADD", "z", 1, "a")
    assert err(c("ZSCAN", "z", "x")) == b"ERR invalid cursor"
    assert err(c("ZSCAN", "z", 0, "COUNT", 0)) == SYNTAX
    assert err(c("ZSCAN", "z", 0, "TYPE", "zset")) == SYNTAX
    assert c("ZSCAN", "nokey", 0, "COUNT", 0) == [b"0", []]


def test_zrandmember(c: Client) -> None:
    assert c("ZRANDMEMBER", "nokey") is None
    assert c("ZRANDMEMBER", "nokey", 3) == []
    c("ZADD", "z", 1, "a", 2, "b", 3, "c")
    assert c("ZRANDMEMBER", "z") in (b"a", b"b", b"c")
    two = c("ZRANDMEMBER", "z", 2)
    assert len(set(two)) == 2
    many = c("ZRANDMEMBER", "z", -20, "WITHSCORES")
    assert len(many) == 40 and set(many[::2]) <= {b"a", b"b", b"c"}
    assert c("ZRANDMEMBER", "z", 10) == [b"c", b"b", b"a"]
    assert err(c("ZRANDMEMBER", "z", 2**62, "WITHSCORES")) == errors.VALUE_RANGE
    assert err(c("ZRANDMEMBER", "z", 1, "FOO")) == SYNTAX


def test_zrandmember_is_deterministic_under_a_seed() -> None:
    def draw() -> Any:
        cl = Client()
        cl("ZADD", "z", *[x for i in range(50) for x in (i, f"m{i}")])
        return [cl("ZRANDMEMBER", "z", 5), cl("ZRANDMEMBER", "z", -5), cl("ZRANDMEMBER", "z")]
    assert draw() == draw()


def test_watch_signal_on_in_place_writes(c: Client) -> None:
    c("ZADD", "z", 1, "a")
    db = c.session.db
    for argv in [("ZADD", "z", 2, "a"), ("ZINCRBY", "z", 1, "a"), ("ZADD", "z", 1, "b"), ("ZREM", "z", "b"),
                 ("ZPOPMIN", "z"), ("ZADD", "z", 1, "a", 2, "b"), ("ZREMRANGEBYRANK", "z", 0, 0)]:
        before = db.changes
        c(*argv)
        assert db.changes > before, argv
    before = db.changes
    c("ZADD", "z", "NX", 5, "b")
    c("ZADD", "z", 2, "b")
    assert db.changes == before


def test_copy_is_independent() -> None:
    zs = ZSet()
    cfg = Config()
    zs.add(b"a", 1.0, cfg)
    dup = zs.copy()
    dup.add(b"b", 2.0, cfg)
    dup.remove(b"a")
    assert list(zs) == [(1.0, b"a")] and list(dup) == [(2.0, b"b")]
    assert zs.type_name == b"zset"


def test_command_metadata() -> None:
    from crdt.commands import TABLE

    zadd = TABLE.get(b"zadd")
    assert zadd is not None and zadd.arity == -4 and zadd.flags == {"write", "denyoom", "fast"}
    assert zadd.group == "sorted-set" and zadd.since == "1.2.0"
    zmpop = TABLE.get(b"ZMPOP")
    assert zmpop is not None and "movablekeys" in zmpop.flags
    for name in (b"zunionstore", b"zinterstore", b"zdiffstore"):
        cmd = TABLE.get(name)
        assert cmd is not None and (cmd.first_key, cmd.last_key, cmd.key_step) == (1, 1, 1)
    store = TABLE.get(b"zrangestore")
    assert store is not None and (store.first_key, store.last_key) == (1, 2)
