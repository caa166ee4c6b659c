"""Unit tests for the list commands, run on the engine directly with virtual time.

Covers every error path, the null shapes (null bulk vs null array), empty-list
deletion, TTL handling with explicit times, change signalling, and the cores
(`list_pop`, `list_mpop`, `list_move`) the blocking commands will reuse.
"""

from __future__ import annotations


import pytest

from crdt import errors
from crdt.errors import CommandError
from crdt.commands.lists import (
    ListValue,
    list_move,
    list_mpop,
    list_pop,
    parse_mpop,
)
from protocol.replies import NULL_ARRAY, OK, ErrorReply
from tests.helpers import EngineBox

NOW = 1_000_000
INT64_MIN = -(2**63)


class Client(EngineBox):
    """One session on a fresh engine at NOW (tests/helpers.py)."""

    def __init__(self) -> None:
        super().__init__(now=NOW)

@pytest.fixture
def c() -> Client:
    return Client()


def err(text: bytes) -> ErrorReply:
    return ErrorReply(text)


WRONGTYPE = err(errors.WRONGTYPE)


def test_push_and_range(c: Client) -> None:
    assert c("LPUSH", "l", "a", "b", "c") == 3
    assert c("RPUSH", "l", "x", "y") == 5
    assert c("LRANGE", "l", 0, -1) == [b"c", b"b", b"a", b"x", b"y"]
    assert c("LRANGE", "l", -2, -1) == [b"x", b"y"]
    assert c("LRANGE", "l", 3, 1) == []
    assert c("LRANGE", "l", 5, 10) == []
    assert c("LRANGE", "l", -100, 0) == [b"c"]
    assert c("LRANGE", "l", 3, 100) == [b"x", b"y"]
    assert c("LRANGE", "nokey", 0, -1) == []
    assert c("LLEN", "l") == 5
    assert c("LLEN", "nokey") == 0
    assert c("TYPE", "l") == b"list"
    assert c("OBJECT", "ENCODING", "l") == b"quicklist"


def test_lrange_near_the_tail_of_a_long_list(c: Client) -> None:
    c("RPUSH", "l", *range(1000))
    assert c("LRANGE", "l", 990, 995) == [str(i).encode() for i in range(990, 996)]
    assert c("LRANGE", "l", 5, 7) == [b"5", b"6", b"7"]


def test_pushx(c: Client) -> None:
    assert c("LPUSHX", "l", "a") == 0
    assert c("RPUSHX", "l", "a") == 0
    assert c("EXISTS", "l") == 0
    c("RPUSH", "l", "m")
    assert c("LPUSHX", "l", "a", "b") == 3
    assert c("RPUSHX", "l", "z") == 4
    assert c("LRANGE", "l", 0, -1) == [b"b", b"a", b"m", b"z"]


def test_pop_shapes(c: Client) -> None:
    assert c("LPOP", "l") is None
    assert c("LPOP", "l", 0) is NULL_ARRAY
    assert c("RPOP", "l", 3) is NULL_ARRAY
    c("RPUSH", "l", "a", "b", "c")
    assert c("LPOP", "l", 0) == []
    assert c("LPOP", "l") == b"a"
    assert c("RPOP", "l", 5) == [b"c", b"b"]
    assert c("EXISTS", "l") == 0


def test_pop_errors_in_redis_order(c: Client) -> None:
    c("SET", "s", "v")
    assert c("LPOP", "s", -1) == err(errors.OUT_OF_RANGE)  # count is checked before the type
    assert c("LPOP", "s", "abc") == err(errors.OUT_OF_RANGE)
    assert c("LPOP", "s", 0) == WRONGTYPE
    assert c("RPOP", "s") == WRONGTYPE
    assert c("LPOP", "l", 1, 2) == err(errors.wrong_arity("lpop"))
    assert c("RPOP", "l", 1, 2) == err(errors.wrong_arity("rpop"))


def test_lindex_and_lset(c: Client) -> None:
    assert c("LINDEX", "l", "x") is None  # the key is looked up first
    c("SET", "s", "v")
    assert c("LINDEX", "s", "x") == WRONGTYPE
    c("RPUSH", "l", "a", "b", "c")
    assert c("LINDEX", "l", "x") == err(errors.NOT_INTEGER)
    assert c("LINDEX", "l", -1) == b"c"
    assert c("LINDEX", "l", 3) is None
    assert c("LINDEX", "l", -4) is None
    assert c("LSET", "nokey", 0, "v") == err(errors.NO_SUCH_KEY)
    assert c("LSET", "s", 0, "v") == WRONGTYPE
    assert c("LSET", "l", "x", "v") == err(errors.NOT_INTEGER)
    assert c("LSET", "l", 3, "v") == err(errors.INDEX_OUT_OF_RANGE)
    assert c("LSET", "l", -3, "v") == OK
    assert c("LRANGE", "l", 0, -1) == [b"v", b"b", b"c"]


def test_linsert(c: Client) -> None:
    assert c("LINSERT", "nokey", "middle", "a", "b") == err(errors.SYNTAX)
    assert c("LINSERT", "nokey", "before", "a", "b") == 0
    c("SET", "s", "v")
    assert c("LINSERT", "s", "before", "a", "b") == WRONGTYPE
    c("RPUSH", "l", "a", "b", "a")
    assert c("LINSERT", "l", "before", "zz", "x") == -1
    assert c("LINSERT", "l", "BEFORE", "a", "x") == 4
    assert c("LINSERT", "l", b"after\x00junk", "a", "y") == 5
    assert c("LRANGE", "l", 0, -1) == [b"x", b"a", b"y", b"b", b"a"]


def test_lrem(c: Client) -> None:
    c("SET", "s", "v")
    assert c("LREM", "s", "x", "a") == err(errors.NOT_INTEGER)
    assert c("LREM", "s", 1, "a") == WRONGTYPE
    assert c("LREM", "nokey", 1, "a") == 0
    c("RPUSH", "l", "a", "b", "a", "c", "a")
    assert c("LREM", "l", 1, "a") == 1
    assert c("LRANGE", "l", 0, -1) == [b"b", b"a", b"c", b"a"]
    assert c("LREM", "l", -1, "a") == 1
    assert c("LRANGE", "l", 0, -1) == [b"b", b"a", b"c"]
    assert c("LREM", "l", 0, "zz") == 0
    assert c("LREM", "l", 0, "a") == 1
    assert c("LREM", "l", -10, "b") == 1
    assert c("LREM", "l", 0, "c") == 1
    assert c("EXISTS", "l") == 0


def test_ltrim(c: Client) -> None:
    c("SET", "s", "v")
    assert c("LTRIM", "s", "x", 1) == err(errors.NOT_INTEGER)
    assert c("LTRIM", "s", 0, 1) == WRONGTYPE
    assert c("LTRIM", "nokey", 0, 1) == OK
    c("RPUSH", "l", *range(10))
    assert c("LTRIM", "l", 1, -2) == OK
    assert c("LRANGE", "l", 0, -1) == [str(i).encode() for i in range(1, 9)]
    assert c("LTRIM", "l", 2, 3) == OK  # keeps a small middle: rebuilt
    assert c("LRANGE", "l", 0, -1) == [b"3", b"4"]
    assert c("LTRIM", "l", 5, 10) == OK
    assert c("EXISTS", "l") == 0


def test_lpos(c: Client) -> None:
    c("SET", "s", "v")
    assert c("LPOS", "s", "a", "RANK", 0) == err(errors.LPOS_RANK_ZERO)  # options before the key
    assert c("LPOS", "s", "a") == WRONGTYPE
    assert c("LPOS", "l", "a", "COUNT", -1) == err(errors.LPOS_COUNT_NEGATIVE)
    assert c("LPOS", "l", "a", "COUNT", "x") == err(errors.LPOS_COUNT_NEGATIVE)
    assert c("LPOS", "l", "a", "MAXLEN", -1) == err(errors.LPOS_MAXLEN_NEGATIVE)
    assert c("LPOS", "l", "a", "MAXLEN", "x") == err(errors.LPOS_MAXLEN_NEGATIVE)
    assert c("LPOS", "l", "a", "RANK", "x") == err(errors.NOT_INTEGER)
    assert c("LPOS", "l", "a", "RANK") == err(errors.SYNTAX)
    assert c("LPOS", "l", "a", "FOO", 1) == err(errors.SYNTAX)
    assert c("LPOS", "nokey", "a") is None
    assert c("LPOS", "nokey", "a", "COUNT", 1) == []
    c("RPUSH", "l", "a", "b", "a", "c", "a")
    assert c("LPOS", "l", "a") == 0
    assert c("LPOS", "l", "a", "RANK", 2) == 2
    assert c("LPOS", "l", "a", "RANK", -1) == 4
    assert c("LPOS", "l", "a", "RANK", 4) is None
    assert c("LPOS", "l", "a", "COUNT", 0) == [0, 2, 4]
    assert c("LPOS", "l", "a", "COUNT", 2, "RANK", -1) == [4, 2]
    assert c("LPOS", "l", "a", "COUNT", 0, "MAXLEN", 3) == [0, 2]
    assert c("LPOS", "l", "a", "RANK", -2, "COUNT", 2, "MAXLEN", 4) == [2]
    assert c("LPOS", "l", "z", "COUNT", 0) == []
    assert c("LPOS", "l", "a", "RANK", INT64_MIN) == 4
    assert c("LPOS", "l", "a", "RANK", INT64_MIN, "COUNT", 1) == [4, 2, 0]


def test_lmove_and_rpoplpush(c: Client) -> None:
    assert c("LMOVE", "a", "b", "up", "left") == err(errors.SYNTAX)
    assert c("LMOVE", "a", "b", "left", b"right\x00") is None
    c("SET", "s", "v")
    assert c("LMOVE", "s", "b", "left", "left") == WRONGTYPE
    assert c("LMOVE", "nokey", "s", "left", "left") is None  # no source: dst not checked
    c("RPUSH", "a", 1, 2, 3)
    assert c("LMOVE", "a", "s", "left", "left") == WRONGTYPE
    assert c("LRANGE", "a", 0, -1) == [b"1", b"2", b"3"]
    assert c("LMOVE", "a", "b", "LEFT", "RIGHT") == b"1"
    assert c("RPOPLPUSH", "a", "b") == b"3"
    assert c("LRANGE", "b", 0, -1) == [b"3", b"1"]
    assert c("RPOPLPUSH", "b", "b") == b"1"
    assert c("LRANGE", "b", 0, -1) == [b"1", b"3"]
    assert c("LMOVE", "a", "a", "right", "left") == b"2"  # one element onto itself: kept
    assert c("LRANGE", "a", 0, -1) == [b"2"]
    assert c("RPOPLPUSH", "a", "b") == b"2"
    assert c("EXISTS", "a") == 0


def test_lmpop(c: Client) -> None:
    assert c("LMPOP", 0, "l", "left") == err(errors.NUMKEYS_POSITIVE)
    assert c("LMPOP", "x", "l", "left") == err(errors.NUMKEYS_POSITIVE)
    assert c("LMPOP", 2, "l", "left") == err(errors.SYNTAX)
    assert c("LMPOP", 1, "l", "middle") == err(errors.SYNTAX)
    assert c("LMPOP", 1, "l", "left", "COUNT", 0) == err(errors.COUNT_POSITIVE)
    assert c("LMPOP", 1, "l", "left", "COUNT", "x") == err(errors.COUNT_POSITIVE)
    assert c("LMPOP", 1, "l", "left", "COUNT") == err(errors.SYNTAX)
    assert c("LMPOP", 1, "l", "left", "COUNT", 1, "COUNT", 1) == err(errors.SYNTAX)
    assert c("LMPOP", 1, "l", "left", "foo") == err(errors.SYNTAX)
    assert c("LMPOP", 1, "l", "left") is NULL_ARRAY
    c("SET", "s", "v")
    c("RPUSH", "l", "a", "b", "c")
    assert c("LMPOP", 3, "nokey", "s", "l", "left") == WRONGTYPE
    assert c("LMPOP", 3, "nokey", "l", "s", "right", "count", 2) == [b"l", [b"c", b"b"]]
    assert c("LMPOP", 1, "l", "LEFT", "COUNT", 9) == [b"l", [b"a"]]
    assert c("EXISTS", "l") == 0


def test_wrongtype_everywhere(c: Client) -> None:
    c("SET", "s", "v")
    for argv in [("LPUSH", "s", "a"), ("RPUSH", "s", "a"), ("LPUSHX", "s", "a"), ("RPUSHX", "s", "a"),
                 ("LLEN", "s"), ("LRANGE", "s", 0, 1), ("RPOPLPUSH", "s", "d")]:
        assert c(*argv) == WRONGTYPE, argv


def test_empty_list_is_deleted_and_ttl_kept_on_edits(c: Client) -> None:
    c("RPUSH", "l", "a", "b")
    c("PEXPIRE", "l", 5000)
    c("LPUSH", "l", "z")
    c("LSET", "l", 0, "y")
    assert c("PTTL", "l") == 5000
    c.now += 6000
    assert c("LLEN", "l") == 0  # expired lazily
    assert c("LPOS", "l", "a") is None
    c("RPUSH", "l", "x")
    assert c("PTTL", "l") == -1


def test_expired_source_and_destination(c: Client) -> None:
    c("RPUSH", "src", "a")
    c("RPUSH", "dst", "old")
    c("PEXPIRE", "dst", 10)
    c.now += 20
    assert c("RPOPLPUSH", "src", "dst") == b"a"
    assert c("LRANGE", "dst", 0, -1) == [b"a"]
    assert c("PTTL", "dst") == -1


def test_writes_signal_and_reads_do_not(c: Client) -> None:
    db = c.db
    c("RPUSH", "l", "a", "b", "c")
    for argv in [("LPUSH", "l", "x"), ("RPOP", "l"), ("LSET", "l", 0, "y"), ("LINSERT", "l", "before", "a", "q"),
                 ("LREM", "l", 1, "q"), ("LTRIM", "l", 0, -1), ("LMOVE", "l", "l", "left", "right")]:
        before = db.changes
        c(*argv)
        assert db.changes > before, argv
    for argv in [("LRANGE", "l", 0, -1), ("LLEN", "l"), ("LINDEX", "l", 0), ("LPOS", "l", "a"),
                 ("LINSERT", "l", "before", "nope", "q"), ("LREM", "l", 1, "nope"), ("LPUSHX", "nokey", "a")]:
        before = db.changes
        c(*argv)
        assert db.changes == before, argv


def test_copy_is_independent(c: Client) -> None:
    c("RPUSH", "l", "a", "b")
    assert c("COPY", "l", "m") == 1
    c("RPUSH", "m", "c")
    assert c("LRANGE", "l", 0, -1) == [b"a", b"b"]
    value = ListValue([b"a"])
    clone = value.copy()
    assert type(clone) is ListValue and clone == value and clone is not value


def test_cores(c: Client) -> None:
    db = c.db
    c("RPUSH", "l", "a", "b", "c")
    c("SET", "s", "v")
    assert list_pop(db, b"nokey", True, 1, NOW) is None
    assert list_pop(db, b"l", True, None, NOW) == [b"a"]
    assert list_pop(db, b"l", False, 5, NOW) == [b"c", b"b"]
    assert db.lookup(b"l", NOW) is None
    with pytest.raises(CommandError):
        list_pop(db, b"s", True, 1, NOW)
    c("RPUSH", "l", "a", "b")
    assert list_mpop(db, [b"nokey", b"l"], False, 1, NOW) == (b"l", [b"b"])
    assert list_mpop(db, [b"nokey"], False, 1, NOW) is None
    assert list_move(db, b"l", b"m", True, True, NOW) == b"a"
    assert list_move(db, b"l", b"m", True, True, NOW) is None
    c("RPUSH", "l", "z")
    with pytest.raises(CommandError):
        list_move(db, b"l", b"s", True, True, NOW)
    assert c("LRANGE", "l", 0, -1) == [b"z"]
    assert parse_mpop([b"BLMPOP", b"0", b"2", b"a", b"b", b"RIGHT", b"COUNT", b"3"], 2) == (
        [b"a", b"b"], False, 3)


def test_arity(c: Client) -> None:
    for argv in [("LPUSH", "l"), ("LLEN",), ("LPOP",), ("LMOVE", "a", "b", "left"), ("LINSERT", "l", "x", "y"),
                 ("LRANGE", "l", 0), ("LPOS", "l"), ("RPOPLPUSH", "l"), ("LMPOP", 1, "l"), ("LSET", "l", 0),
                 ("LINDEX", "l"), ("LTRIM", "l", 0), ("LREM", "l", 0)]:
        reply = c(*argv)
        assert isinstance(reply, ErrorReply) and b"wrong number of arguments" in reply, argv


def test_command_metadata() -> None:
    from crdt.commands import TABLE

    lmpop = TABLE.by_name["lmpop"]
    assert (lmpop.arity, lmpop.first_key, lmpop.last_key) == (-4, 0, 0)
    assert "movablekeys" in lmpop.flags
    assert TABLE.by_name["lmove"].first_key == 1 and TABLE.by_name["lmove"].last_key == 2
    assert TABLE.by_name["lpush"].flags == frozenset({"write", "denyoom", "fast"})
