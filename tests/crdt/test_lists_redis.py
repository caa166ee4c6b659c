"""Differential tests: list commands against a real redis-server 7.0.

Every test runs the same commands on our engine and on Debian's
redis-server through the `diff` fixture and requires identical replies,
error texts included. hiredis reads a RESP2 null bulk and a null array (and
RESP3's null) as the same None, so the null shapes of the count variants are
compared on the raw wire bytes instead. A hypothesis-driven test plays random
sequences of list commands, valid and invalid, mixed with generic key
commands and a string key for WRONGTYPE.
"""

from __future__ import annotations

import socket
from typing import Any

import hiredis
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crdt.engine import Engine
from protocol.resp import encode
from tests.differential import encode_command

pytestmark = pytest.mark.redis

INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)
RAW_READ_TIMEOUT_S = 5.0


def run_all(diff: Any, commands: list[tuple[Any, ...]]) -> None:
    for argv in commands:
        diff.check(*argv)


ERROR_CASES: list[tuple[Any, ...]] = [
    ("LPOP", "l", 0), ("LPOP", "l", -1), ("LPOP", "l", "abc"), ("LPOP", "l", 1, 2),
    ("LPOP", "s", 0), ("LPOP", "s", -1), ("RPOP", "s"), ("RPOP", "l", "1\x00"),
    ("RPOP", "l", INT64_MAX), ("RPOP", "l", "99999999999999999999"), ("LPOP", "nokey", 0),
    ("LPOS", "l", "a", "RANK", 0), ("LPOS", "l", "a", "RANK", INT64_MIN),
    ("LPOS", "l", "a", "RANK", INT64_MIN, "COUNT", 1), ("LPOS", "l", "a", "RANK", INT64_MAX),
    ("LPOS", "l", "a", "RANK", -INT64_MAX), ("LPOS", "l", "a", "COUNT", -1),
    ("LPOS", "l", "a", "MAXLEN", -1), ("LPOS", "l", "a", "RANK", "x"), ("LPOS", "l", "a", "foo"),
    ("LPOS", "l", "a", "RANK"), ("LPOS", "s", "a", "RANK", 0), ("LPOS", "s", "a"),
    ("LPOS", "nokey", "a", "COUNT", 1), ("LPOS", "nokey", "a", "COUNT", "x"),
    ("LPOS", "nokey", "a", "MAXLEN", "x"), ("LPOS", "l", "a", "COUNT", 1, "COUNT", 0),
    ("LPOS", "l", "a", "rank", -2, "count", 2, "maxlen", 4), ("LPOS", "l", "a", "RANK", 2, "COUNT", 0),
    ("LPOS", "l", "a", "RANK", 1, "RANK", 2), ("LPOS", "l", "z"), ("LPOS", "l", "z", "COUNT", 0),
    ("LPOS", "l", "a", "MAXLEN", 1, "RANK", -1), ("LPOS", b"l", b"a", b"rank\x00x", 2),
    ("LMPOP", 0, "l", "left"), ("LMPOP", -1, "l", "left"), ("LMPOP", "x", "l", "left"),
    ("LMPOP", 2, "l", "left"), ("LMPOP", 1, "l", "middle"), ("LMPOP", 1, "l", "left", "count", 0),
    ("LMPOP", 1, "l", "left", "count", -1), ("LMPOP", 1, "l", "left", "count", 1, "count", 1),
    ("LMPOP", 1, "l", "left", "foo"), ("LMPOP", 1, "s", "left"), ("LMPOP", 1, "nokey", "left"),
    ("LMPOP", 1, "nokey", "left", "count", "x"), ("LMPOP", 1, "l", "left", "count"),
    ("LMPOP", 3, "nokey", "s", "l", "left"), ("LMPOP", 3, "nokey", "l", "s", "RIGHT", "COUNT", 2),
    ("LMPOP", 1, "l"), ("LMPOP", 5, "l", "left"),
    ("LMOVE", "l", "l2", "up", "left"), ("LMOVE", "s", "l2", "left", "left"),
    ("LMOVE", "nokey", "s", "left", "left"), ("LMOVE", "l", "s", "left", "left"),
    ("LMOVE", "l", "l", b"left\x00x", "right"), ("RPOPLPUSH", "l", "s"), ("RPOPLPUSH", "s", "l"),
    ("LINSERT", "l", "middle", "a", "b"), ("LINSERT", "nokey", "middle", "a", "b"),
    ("LINSERT", "s", "before", "a", "b"), ("LINSERT", "nokey", "before", "a", "b"),
    ("LINSERT", "l", b"before\x00zz", "a", "b"), ("LINSERT", "l", "after", "zz", "b"),
    ("LSET", "nokey", 0, "a"), ("LSET", "s", "x", "a"), ("LSET", "l", "x", "a"),
    ("LSET", "l", 99, "a"), ("LSET", "l", -99, "a"), ("LSET", "l", -1, "z"),
    ("LINDEX", "s", "x"), ("LINDEX", "nokey", "x"), ("LINDEX", "l", "x"), ("LINDEX", "l", -1),
    ("LINDEX", "l", 99), ("LINDEX", "l", INT64_MIN),
    ("LRANGE", "s", "x", 1), ("LRANGE", "nokey", "x", 1), ("LRANGE", "s", 0, 1),
    ("LRANGE", "l", INT64_MIN, INT64_MAX), ("LRANGE", "l", "1", "x"),
    ("LREM", "s", "x", 1), ("LREM", "nokey", "x", 1), ("LREM", "s", 1, "a"), ("LREM", "nokey", 1, "a"),
    ("LTRIM", "s", "x", 1), ("LTRIM", "nokey", 0, 1), ("LTRIM", "s", 0, 1),
    ("LPUSHX", "nokey", "a"), ("LPUSHX", "s", "a"), ("RPUSHX", "s", "a"), ("LPUSH", "s", "a"),
    ("RPUSH", "s", "a", "b"), ("LLEN", "s"), ("LLEN", "nokey"),
    ("LPUSH", "l"), ("LLEN",), ("LPOP",), ("LMOVE", "a", "b", "left"), ("LINSERT", "l", "before", "a"),
    ("LRANGE", "l", 0), ("LPOS", "l"), ("RPOPLPUSH", "l"),
    ("OBJECT", "ENCODING", "l"), ("TYPE", "l"),
]


@pytest.mark.parametrize("argv", ERROR_CASES, ids=repr)
def test_edge_cases(diff: Any, argv: tuple[Any, ...]) -> None:
    diff.check("SET", "s", "str")
    diff.check("RPUSH", "l", "a", "b", "a", "c", "a")
    diff.check(*argv)
    diff.check("LRANGE", "l", 0, -1)
    diff.check("LRANGE", "l2", 0, -1)
    diff.check("EXISTS", "l", "l2", "s", "nokey")


def test_push_pop_and_ranges(diff: Any) -> None:
    run_all(diff, [
        ("LPUSH", "l", 1, 2, 3), ("RPUSH", "l", "x", "y"), ("LRANGE", "l", 0, -1),
        ("LPUSHX", "l", "p", "q"), ("RPUSHX", "l", "r"), ("LLEN", "l"),
        ("LRANGE", "l", -3, -1), ("LRANGE", "l", 2, 1), ("LRANGE", "l", -100, 2), ("LRANGE", "l", 5, 100),
        ("LINDEX", "l", 0), ("LINDEX", "l", -1), ("LINDEX", "l", 4),
        ("LPOP", "l"), ("RPOP", "l"), ("LPOP", "l", 2), ("RPOP", "l", 100), ("EXISTS", "l"),
        ("RPUSH", "l", ""), ("LPOP", "l"), ("EXISTS", "l"),
        ("RPUSH", "big", *range(300)), ("LRANGE", "big", 250, 260), ("LRANGE", "big", 10, 20),
        ("LINDEX", "big", 299), ("LINDEX", "big", -300), ("OBJECT", "ENCODING", "big"),
    ])


def test_insert_set_rem_trim(diff: Any) -> None:
    run_all(diff, [
        ("RPUSH", "l", "a", "b", "a", "c", "a", "b"), ("LINSERT", "l", "BEFORE", "a", "x"),
        ("LINSERT", "l", "after", "c", "y"), ("LRANGE", "l", 0, -1), ("LSET", "l", 0, "z"),
        ("LSET", "l", -1, "w"), ("LREM", "l", 1, "a"), ("LRANGE", "l", 0, -1),
        ("LREM", "l", -1, "a"), ("LRANGE", "l", 0, -1), ("RPUSH", "l", "q", "q", "q"),
        ("LREM", "l", 0, "q"), ("LREM", "l", 5, "nope"), ("LRANGE", "l", 0, -1),
        ("LTRIM", "l", 1, -2), ("LRANGE", "l", 0, -1), ("LTRIM", "l", 0, 0), ("LRANGE", "l", 0, -1),
        ("LTRIM", "l", 5, 10), ("EXISTS", "l"), ("RPUSH", "m", "x", "x"), ("LREM", "m", 0, "x"),
        ("EXISTS", "m"), ("RPUSH", "t", *range(50)), ("LTRIM", "t", 10, 12), ("LRANGE", "t", 0, -1),
        ("LTRIM", "t", -1, -100), ("EXISTS", "t"),
    ])


def test_moves(diff: Any) -> None:
    run_all(diff, [
        ("RPUSH", "a", 1, 2, 3), ("LMOVE", "a", "b", "LEFT", "RIGHT"), ("LMOVE", "a", "b", "right", "left"),
        ("LRANGE", "a", 0, -1), ("LRANGE", "b", 0, -1), ("RPOPLPUSH", "a", "a"), ("LRANGE", "a", 0, -1),
        ("LMOVE", "a", "a", "left", "right"), ("RPOPLPUSH", "a", "b"), ("EXISTS", "a"),
        ("LRANGE", "b", 0, -1), ("RPOPLPUSH", "nokey", "b"), ("LMOVE", "b", "b", "left", "left"),
        ("LMPOP", 2, "a", "b", "RIGHT"), ("LMPOP", 2, "a", "b", "LEFT", "COUNT", 10), ("EXISTS", "b"),
    ])


def test_ttl_survives_edits(diff: Any) -> None:
    run_all(diff, [
        ("RPUSH", "l", 1, 2, 3), ("EXPIRE", "l", 100), ("LPUSH", "l", 0), ("RPOP", "l"), ("LSET", "l", 0, "x"),
        ("LTRIM", "l", 0, 1), ("TTL", "l"), ("RPOPLPUSH", "l", "l"), ("TTL", "l"),
        ("RPOPLPUSH", "l", "d"), ("TTL", "d"), ("COPY", "l", "c"), ("LRANGE", "c", 0, -1), ("LPUSH", "c", "n"),
        ("LRANGE", "l", 0, -1), ("LRANGE", "c", 0, -1),
    ])


def test_object_encoding_ignores_listpack_size(diff: Any) -> None:
    """Redis 7.0 reports quicklist for every list, whatever list-max-listpack-size says."""
    for size in ("-2", "-5", "1", "2", "128"):
        diff.check("CONFIG", "SET", "list-max-listpack-size", size)
        diff.check("DEL", "l")
        diff.check("RPUSH", "l", "a")
        diff.check("OBJECT", "ENCODING", "l")
        diff.check("RPUSH", "l", "b", "c", "x" * 9000)
        diff.check("OBJECT", "ENCODING", "l")
        diff.check("LTRIM", "l", 0, 0)
        diff.check("OBJECT", "ENCODING", "l")
    diff.check("CONFIG", "SET", "list-max-listpack-size", "-2")


# --- null shapes on the wire (RESP2 and RESP3) --------------------------------------------------

class RawRedis:
    """The reference server's raw reply bytes for one command."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=RAW_READ_TIMEOUT_S)

    def call(self, *argv: bytes) -> bytes:
        self.sock.sendall(encode_command(list(argv)))
        reader = hiredis.Reader()
        data = b""
        while True:
            chunk = self.sock.recv(65536)
            data += chunk
            reader.feed(chunk)
            if reader.gets() is not False:
                return data


NULL_SHAPE_COMMANDS: list[tuple[bytes, ...]] = [
    (b"LPOP", b"nokey"), (b"LPOP", b"nokey", b"0"), (b"LPOP", b"nokey", b"1"), (b"RPOP", b"nokey", b"2"),
    (b"LPOP", b"l", b"0"), (b"RPOP", b"l", b"1"), (b"LMPOP", b"1", b"nokey", b"LEFT"),
    (b"LPOS", b"l", b"zz"), (b"LPOS", b"l", b"zz", b"COUNT", b"1"), (b"LPOS", b"nokey", b"a"),
    (b"LPOS", b"nokey", b"a", b"COUNT", b"1"), (b"LINDEX", b"l", b"9"), (b"LINDEX", b"nokey", b"0"),
    (b"LMOVE", b"nokey", b"x", b"LEFT", b"LEFT"), (b"RPOPLPUSH", b"nokey", b"x"),
    (b"LRANGE", b"nokey", b"0", b"1"),
]


@pytest.mark.parametrize("resp3", [False, True])
def test_null_shapes_on_the_wire(real_redis_port: int, resp3: bool) -> None:
    raw = RawRedis(real_redis_port)
    engine = Engine()
    session = engine.open_session(0)
    now = 1_000_000
    setup = [(b"SELECT", b"9"), (b"FLUSHDB",), (b"RPUSH", b"l", b"a", b"b", b"c", b"d")]
    if resp3:
        setup.insert(0, (b"HELLO", b"3"))
    for argv in setup:
        raw.call(*argv)
        engine.execute(list(argv), session, now)
    for argv in NULL_SHAPE_COMMANDS:
        ours = encode(engine.execute(list(argv), session, now), session.resp3)
        assert ours == raw.call(*argv), argv
    raw.call(b"FLUSHDB")
    raw.sock.close()


# --- random sequences ----------------------------------------------------------------------------

KEYS = st.sampled_from(["l1", "l2", "s"])
ELEMENTS = st.sampled_from(["a", "b", "c", "1", "2", "-3", "", "a\x00b", "x" * 70])
INDEXES = st.one_of(st.integers(-6, 6), st.sampled_from([INT64_MAX, INT64_MIN, "x", "1.5", ""]))
SIDES = st.sampled_from(["LEFT", "RIGHT", "left", "up"])
COUNTS = st.one_of(st.integers(-2, 5), st.sampled_from(["x", INT64_MAX]))


def _lpos_options() -> st.SearchStrategy[tuple[Any, ...]]:
    opt = st.one_of(
        st.tuples(st.just("RANK"), st.one_of(st.integers(-3, 3), st.just(INT64_MIN))),
        st.tuples(st.just("COUNT"), st.integers(-1, 3)),
        st.tuples(st.just("MAXLEN"), st.integers(-1, 5)),
        st.tuples(st.just("BOGUS")),
    )
    return st.lists(opt, max_size=3).map(lambda opts: tuple(x for o in opts for x in o))


command_st = st.one_of(
    st.tuples(st.sampled_from(["LPUSH", "RPUSH", "LPUSHX", "RPUSHX"]), KEYS, ELEMENTS),
    st.tuples(st.sampled_from(["LPUSH", "RPUSH"]), KEYS, ELEMENTS, ELEMENTS, ELEMENTS),
    st.tuples(st.sampled_from(["LPOP", "RPOP", "LLEN", "TYPE", "EXISTS", "DEL"]), KEYS),
    st.tuples(st.sampled_from(["LPOP", "RPOP"]), KEYS, COUNTS),
    st.tuples(st.sampled_from(["LRANGE", "LTRIM"]), KEYS, INDEXES, INDEXES),
    st.tuples(st.just("LINDEX"), KEYS, INDEXES),
    st.tuples(st.just("LSET"), KEYS, INDEXES, ELEMENTS),
    st.tuples(st.just("LINSERT"), KEYS, st.sampled_from(["BEFORE", "after", "middle"]), ELEMENTS, ELEMENTS),
    st.tuples(st.just("LREM"), KEYS, st.integers(-3, 3), ELEMENTS),
    st.tuples(st.just("LPOS"), KEYS, ELEMENTS).flatmap(lambda t: _lpos_options().map(lambda o: t + o)),
    st.tuples(st.just("LMOVE"), KEYS, KEYS, SIDES, SIDES),
    st.tuples(st.just("RPOPLPUSH"), KEYS, KEYS),
    st.tuples(st.just("LMPOP"), st.just(2), KEYS, KEYS, SIDES),
    st.tuples(st.just("LMPOP"), st.just(1), KEYS, SIDES, st.just("COUNT"), COUNTS),
    st.tuples(st.just("SET"), KEYS, ELEMENTS),
    st.tuples(st.sampled_from(["RENAME", "COPY"]), KEYS, KEYS),
    st.tuples(st.just("EXPIRE"), KEYS, st.sampled_from([100, 0, -1])),
    st.tuples(st.just("OBJECT"), st.just("ENCODING"), KEYS),
)


@settings(max_examples=400, deadline=None, database=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(commands=st.lists(command_st, min_size=1, max_size=20))
def test_random_sequences(diff: Any, commands: list[tuple[Any, ...]]) -> None:
    diff.reset()
    diff.check("SET", "s", "str")
    for argv in commands:
        diff.check(*argv)
    for key in ("l1", "l2", "s"):
        diff.check("TYPE", key)
        diff.check("LRANGE", key, 0, -1)


LIST_COMMANDS = ("lpush", "rpush", "lpushx", "rpushx", "lpop", "rpop", "llen", "lrange", "lindex", "lset",
                 "linsert", "lrem", "ltrim", "lpos", "lmove", "rpoplpush", "lmpop")


@pytest.mark.parametrize("name", LIST_COMMANDS)
def test_command_info_and_docs(diff: Any, name: str) -> None:
    diff.check("COMMAND", "INFO", name)
    diff.check("COMMAND", "DOCS", name)
