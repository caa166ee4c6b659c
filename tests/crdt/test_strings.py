"""Unit tests of crdt/commands/strings.py (GET/SET family, ranges, LCS) on virtual time.

Every test passes explicit `now_ms` values; no clock and no sleeps. Wrong-type
cases store a real list (crdt/commands/lists.py's ListValue) straight into the Db.
"""

from __future__ import annotations

from typing import Any

import pytest

from crdt.args import INT64_MAX
from crdt.keyspace import encoding_of
from crdt.commands.lists import ListValue
from protocol.resp import encode
from tests.helpers import EngineBox, NOT_INTEGER, SYNTAX, WRONGTYPE

T0 = 1_700_000_000_000  # a plausible wall-clock time in ms
TOO_LONG = b"ERR string exceeds maximum allowed size (proto-max-bulk-len)"


class Box(EngineBox):
    """An engine, a session and a clock that only moves when told (tests/helpers.py)."""

    def put_list(self, key: bytes) -> None:
        """Replace whatever is at key with a one-element list (the real ListValue)."""
        self.db.set(key, ListValue([b"x"]), self.now)

    def ttl(self, key: bytes) -> int | None:
        """Remaining ms of a key's TTL, None if it has none."""
        when = self.db.ttl_ms(key)
        return None if when is None else when - self.now

    def encoding(self, key: bytes) -> bytes:
        return encoding_of(self.db.lookup(key, self.now), self.engine.config)


@pytest.fixture
def box() -> Box:
    return Box()


# --- GET / SET -------------------------------------------------------------------------

def test_get_set_roundtrip(box: Box) -> None:
    assert box("GET", "k") is None
    assert box("SET", "k", "v") == b"OK"
    assert box("GET", "k") == b"v"
    assert box("set", "k", b"\x00\xff") == b"OK"
    assert box("get", "k") == b"\x00\xff"


def test_get_wrongtype(box: Box) -> None:
    box.put_list(b"l")
    assert box.err("GET", "l") == WRONGTYPE


def test_get_of_in_place_string_is_bytes_snapshot(box: Box) -> None:
    box("SET", "k", "ab")
    box("APPEND", "k", "cd")
    first = box("GET", "k")
    assert type(first) is bytes and first == b"abcd"
    box("APPEND", "k", "ef")
    assert first == b"abcd"  # the earlier reply did not change
    assert box("GET", "k") == b"abcdef"


def test_plain_set_clears_ttl(box: Box) -> None:
    box("SET", "k", "v", "EX", 10)
    assert box.ttl(b"k") == 10_000
    box("SET", "k", "w")
    assert box.ttl(b"k") is None


@pytest.mark.parametrize("opt,arg,ttl", [
    ("EX", 10, 10_000), ("PX", 1500, 1500),
    ("EXAT", T0 // 1000 + 20, 20_000), ("PXAT", T0 + 1234, 1234),
    ("ex", 1, 1000), ("pX", 7, 7),
])
def test_set_expire_options(box: Box, opt: str, arg: int, ttl: int) -> None:
    assert box("SET", "k", "v", opt, arg) == b"OK"
    assert box.ttl(b"k") == ttl
    box.now += ttl
    assert box("GET", "k") == b"v"  # expired only once now > when
    box.now += 1
    assert box("GET", "k") is None


def test_set_past_absolute_time_sets_an_expired_key(box: Box) -> None:
    assert box("SET", "k", "v", "PXAT", 1) == b"OK"
    assert box("GET", "k") is None
    box("SET", "k", "old")
    assert box("SET", "k", "new", "EXAT", 1, "GET") == b"old"
    assert box("GET", "k") is None


def test_set_repeated_options(box: Box) -> None:
    assert box("SET", "k", "v", "EX", 10, "EX", 20) == b"OK"
    assert box.ttl(b"k") == 20_000
    assert box("SET", "k", "v", "NX", "NX") is None
    assert box("SET", "k", "w", "XX", "XX", "GET", "GET", "PX", 30) == b"v"
    assert box("SET", "k", "v", "KEEPTTL", "KEEPTTL") == b"OK"
    assert box.ttl(b"k") == 30


def test_set_keepttl(box: Box) -> None:
    box("SET", "k", "v", "PX", 5000)
    box.now += 1000
    assert box("SET", "k", "w", "KEEPTTL") == b"OK"
    assert box.ttl(b"k") == 4000
    assert box("GET", "k") == b"w"


@pytest.mark.parametrize("argv", [
    ("EX", 10, "PX", 10), ("PX", 10, "EX", 10), ("EX", 10, "EXAT", 10),
    ("PXAT", 10, "EX", 10), ("EXAT", 1, "PXAT", 1),
    ("KEEPTTL", "EX", 10), ("EX", 10, "KEEPTTL"), ("PXAT", 5, "KEEPTTL"),
    ("NX", "XX"), ("XX", "NX"), ("PERSIST",), ("EX",), ("PX",), ("EXAT",), ("PXAT",),
    ("BOGUS",), ("NX", "EX"), ("GETT",), ("E",), ("EX", 10, 11),
])
def test_set_syntax_errors(box: Box, argv: tuple[Any, ...]) -> None:
    box("SET", "k", "old")
    assert box.err("SET", "k", "v", *argv) == SYNTAX
    assert box("GET", "k") == b"old"


def test_set_option_words_stop_at_nul(box: Box) -> None:
    # Redis compares option words as C strings: "EX\0junk" reads as EX.
    assert box("SET", "k", "v", b"ex\x00junk", 10) == b"OK"
    assert box.ttl(b"k") == 10_000
    assert box("SET", "k", "v", b"nx\x00") is None
    assert box.err("SET", "k", "v", b"\x00nx") == SYNTAX


@pytest.mark.parametrize("opt,arg", [
    ("EX", 0), ("EX", -1), ("PX", 0), ("PX", -5), ("EXAT", 0), ("PXAT", -1),
    ("EX", INT64_MAX // 1000 + 1), ("EXAT", INT64_MAX // 1000 + 1),
    ("EX", INT64_MAX // 1000), ("PX", INT64_MAX), ("PX", INT64_MAX - T0 + 1),
])
def test_set_invalid_expire(box: Box, opt: str, arg: int) -> None:
    assert box.err("SET", "k", "v", opt, arg) == b"ERR invalid expire time in 'set' command"
    assert box("GET", "k") is None


def test_set_largest_valid_expires(box: Box) -> None:
    assert box("SET", "k", "v", "PX", INT64_MAX - T0) == b"OK"
    assert box.db.ttl_ms(b"k") == INT64_MAX
    assert box("SET", "k", "v", "EXAT", INT64_MAX // 1000) == b"OK"
    assert box("SET", "k", "v", "PXAT", INT64_MAX) == b"OK"


@pytest.mark.parametrize("arg", ["abc", "1.5", " 1", "+1", "", "99999999999999999999"])
def test_set_expire_not_integer(box: Box, arg: str) -> None:
    assert box.err("SET", "k", "v", "EX", arg) == NOT_INTEGER


def test_set_nx_xx(box: Box) -> None:
    assert box("SET", "k", "v", "XX") is None
    assert box("GET", "k") is None
    assert box("SET", "k", "v", "NX") == b"OK"
    assert box("SET", "k", "w", "NX") is None
    assert box("GET", "k") == b"v"
    assert box("SET", "k", "w", "XX", "PX", 100) == b"OK"
    assert box("GET", "k") == b"w"
    assert box.ttl(b"k") == 100


def test_set_nx_treats_expired_key_as_absent(box: Box) -> None:
    box("SET", "k", "v", "PX", 10)
    box.now += 11
    assert box("SET", "k", "w", "NX") == b"OK"
    assert box("GET", "k") == b"w"


def test_set_get(box: Box) -> None:
    assert box("SET", "k", "v", "GET") is None
    assert box("SET", "k", "w", "GET") == b"v"
    assert box("SET", "k", "x", "NX", "GET") == b"w"  # refused, old value answered
    assert box("GET", "k") == b"w"
    assert box("SET", "n", "x", "XX", "GET") is None
    assert box("GET", "n") is None
    assert box("SET", "m", "x", "NX", "GET") is None
    assert box("GET", "m") == b"x"


def test_set_get_wrongtype_changes_nothing(box: Box) -> None:
    box.put_list(b"l")
    assert box.err("SET", "l", "v", "GET") == WRONGTYPE
    assert box.db.lookup(b"l", box.now).type_name == b"list"
    # Without GET, SET simply replaces whatever was there.
    assert box("SET", "l", "v") == b"OK"
    assert box("GET", "l") == b"v"
    box.put_list(b"l")
    assert box("SET", "l", "v", "XX") == b"OK"


def test_set_error_order(box: Box) -> None:
    box.put_list(b"l")
    # Syntax before expire, expire before type.
    assert box.err("SET", "l", "v", "GET", "EX", 0, "PX", 1) == SYNTAX
    assert box.err("SET", "l", "v", "GET", "EX", 0) == b"ERR invalid expire time in 'set' command"
    assert box.err("SET", "l", "v", "GET", "EX", "x") == NOT_INTEGER


def test_set_arity(box: Box) -> None:
    assert box.err("SET", "k") == b"ERR wrong number of arguments for 'set' command"


def test_set_encodings(box: Box) -> None:
    box("SET", "i", "12345")
    box("SET", "e", "x" * 44)
    box("SET", "r", "x" * 45)
    assert (box.encoding(b"i"), box.encoding(b"e"), box.encoding(b"r")) == (b"int", b"embstr", b"raw")


# --- SETNX / SETEX / PSETEX --------------------------------------------------------------

def test_setnx(box: Box) -> None:
    assert box("SETNX", "k", "v") == 1
    assert box("SETNX", "k", "w") == 0
    assert box("GET", "k") == b"v"
    box.put_list(b"l")
    assert box("SETNX", "l", "w") == 0


def test_setex_psetex(box: Box) -> None:
    assert box("SETEX", "k", 10, "v") == b"OK"
    assert box.ttl(b"k") == 10_000
    assert box("PSETEX", "p", 1500, "v") == b"OK"
    assert box.ttl(b"p") == 1500
    box.now += 1501
    assert box("GET", "p") is None
    assert box("GET", "k") == b"v"
    box.put_list(b"l")
    assert box("SETEX", "l", 10, "v") == b"OK"


@pytest.mark.parametrize("cmd,arg", [
    ("SETEX", 0), ("SETEX", -10), ("PSETEX", 0), ("PSETEX", -1),
    ("SETEX", INT64_MAX // 1000 + 1), ("PSETEX", INT64_MAX),
])
def test_setex_invalid_expire(box: Box, cmd: str, arg: int) -> None:
    assert box.err(cmd, "k", arg, "v") == f"ERR invalid expire time in '{cmd.lower()}' command".encode()


def test_setex_not_integer_and_arity(box: Box) -> None:
    assert box.err("SETEX", "k", "ten", "v") == NOT_INTEGER
    assert box.err("PSETEX", "k", "1.5", "v") == NOT_INTEGER
    assert box.err("SETEX", "k", 10) == b"ERR wrong number of arguments for 'setex' command"


# --- MGET / MSET / MSETNX ------------------------------------------------------------------

def test_mget(box: Box) -> None:
    box("SET", "a", "1")
    box.put_list(b"l")
    box("SET", "r", "x")
    box("APPEND", "r", "y")
    assert box("MGET", "a", "l", "missing", "r", "a") == [b"1", None, None, b"xy", b"1"]


def test_mset(box: Box) -> None:
    box("SET", "a", "old", "EX", 100)
    box.put_list(b"l")
    assert box("MSET", "a", "1", "b", "2", "l", "3", "a", "4") == b"OK"
    assert box("MGET", "a", "b", "l") == [b"4", b"2", b"3"]
    assert box.ttl(b"a") is None
    assert box.err("MSET", "a", "1", "b") == b"ERR wrong number of arguments for 'mset' command"
    assert box.err("MSET", "a") == b"ERR wrong number of arguments for 'mset' command"


def test_msetnx(box: Box) -> None:
    assert box("MSETNX", "a", "1", "b", "2") == 1
    assert box("MSETNX", "c", "3", "a", "x") == 0
    assert box("GET", "c") is None
    assert box("MSETNX", "d", "1", "d", "2") == 1
    assert box("GET", "d") == b"2"
    box.put_list(b"l")
    assert box("MSETNX", "l", "1") == 0
    assert box.err("MSETNX", "a", "1", "b") == b"ERR wrong number of arguments for 'msetnx' command"


# --- GETSET / GETDEL / GETEX ----------------------------------------------------------------

def test_getset(box: Box) -> None:
    assert box("GETSET", "k", "v") is None
    box.db.set_expire(b"k", box.now + 100_000)
    assert box("GETSET", "k", "w") == b"v"
    assert box.ttl(b"k") is None
    assert box("GET", "k") == b"w"
    box.put_list(b"l")
    assert box.err("GETSET", "l", "v") == WRONGTYPE
    assert box.db.lookup(b"l", box.now).type_name == b"list"


def test_getdel(box: Box) -> None:
    assert box("GETDEL", "k") is None
    box("SET", "k", "v")
    assert box("GETDEL", "k") == b"v"
    assert box("GET", "k") is None
    box.put_list(b"l")
    assert box.err("GETDEL", "l") == WRONGTYPE
    assert box.db.lookup(b"l", box.now) is not None


def test_getex_no_options_keeps_ttl(box: Box) -> None:
    box("SET", "k", "v", "PX", 500)
    assert box("GETEX", "k") == b"v"
    assert box.ttl(b"k") == 500


@pytest.mark.parametrize("opt,arg,ttl", [
    ("EX", 10, 10_000), ("PX", 1500, 1500),
    ("EXAT", T0 // 1000 + 20, 20_000), ("PXAT", T0 + 1234, 1234),
])
def test_getex_sets_ttl(box: Box, opt: str, arg: int, ttl: int) -> None:
    box("SET", "k", "v")
    assert box("GETEX", "k", opt, arg) == b"v"
    assert box.ttl(b"k") == ttl


def test_getex_past_absolute_time_deletes(box: Box) -> None:
    box("SET", "k", "v")
    assert box("GETEX", "k", "PXAT", box.now) == b"v"
    assert box.db.lookup(b"k", box.now) is None
    assert len(box.db) == 0
    box("SET", "k", "v")
    assert box("GETEX", "k", "EXAT", 1) == b"v"
    assert len(box.db) == 0


def test_getex_persist(box: Box) -> None:
    box("SET", "k", "v", "EX", 100)
    changes = box.db.changes
    assert box("GETEX", "k", "PERSIST") == b"v"
    assert box.ttl(b"k") is None
    assert box.db.changes == changes + 1
    assert box("GETEX", "k", "PERSIST", "PERSIST") == b"v"
    assert box.db.changes == changes + 1  # nothing to remove: no change signalled


def test_getex_missing_and_wrongtype(box: Box) -> None:
    assert box("GETEX", "k", "EX", 10) is None
    assert box.db.lookup(b"k", box.now) is None
    box.put_list(b"l")
    assert box.err("GETEX", "l", "EX", 10) == WRONGTYPE
    assert box.db.ttl_ms(b"l") is None


@pytest.mark.parametrize("argv", [
    ("NX",), ("XX",), ("GET",), ("KEEPTTL",), ("EX",), ("EX", 1, "PX", 1),
    ("PERSIST", "EX", 1), ("EX", 1, "PERSIST"), ("PXAT", 1, "EXAT", 1), ("BOGUS",),
])
def test_getex_syntax_errors(box: Box, argv: tuple[Any, ...]) -> None:
    box("SET", "k", "v")
    assert box.err("GETEX", "k", *argv) == SYNTAX


def test_getex_expire_checked_after_lookup(box: Box) -> None:
    invalid = b"ERR invalid expire time in 'getex' command"
    # Redis 7.0 looks the key up first: a missing key answers null, a list WRONGTYPE.
    assert box("GETEX", "missing", "EX", 0) is None
    assert box("GETEX", "missing", "PX", "x") is None
    box.put_list(b"l")
    assert box.err("GETEX", "l", "EX", 0) == WRONGTYPE
    assert box.err("GETEX", "l", "NX") == SYNTAX  # syntax still comes first
    box("SET", "k", "v", "EX", 50)
    assert box.err("GETEX", "k", "EX", 0) == invalid
    assert box.err("GETEX", "k", "PXAT", -1) == invalid
    assert box.err("GETEX", "k", "EX", INT64_MAX) == invalid
    assert box.err("GETEX", "k", "PX", "x") == NOT_INTEGER
    assert box.ttl(b"k") == 50_000
    assert box.err("GETEX") == b"ERR wrong number of arguments for 'getex' command"


def test_getex_repeated_expire(box: Box) -> None:
    box("SET", "k", "v")
    assert box("GETEX", "k", "EX", 1, "EX", 2) == b"v"
    assert box.ttl(b"k") == 2000


# --- STRLEN / APPEND ---------------------------------------------------------------------------

def test_strlen(box: Box) -> None:
    assert box("STRLEN", "k") == 0
    box("SET", "k", "hello")
    assert box("STRLEN", "k") == 5
    box("SETRANGE", "k", 10, "x")
    assert box("STRLEN", "k") == 11
    box.put_list(b"l")
    assert box.err("STRLEN", "l") == WRONGTYPE


def test_append(box: Box) -> None:
    assert box("APPEND", "k", "12") == 2
    assert box.encoding(b"k") == b"int"  # a new key is stored as SET would
    assert box("APPEND", "k", "ab") == 4
    assert box("GET", "k") == b"12ab"
    assert box.encoding(b"k") == b"raw"
    assert box("APPEND", "k", "") == 4


def test_append_empty_still_makes_raw(box: Box) -> None:
    box("SET", "k", "1")
    assert box("APPEND", "k", "") == 1
    assert box.encoding(b"k") == b"raw"
    assert box("GET", "k") == b"1"


def test_append_keeps_ttl_and_signals(box: Box) -> None:
    box("SET", "k", "a", "EX", 10)
    changes = box.db.changes
    box("APPEND", "k", "b")
    box("APPEND", "k", "c")
    assert box.db.changes == changes + 2
    assert box.ttl(b"k") == 10_000


def test_append_wrongtype_and_limit(box: Box) -> None:
    box.put_list(b"l")
    assert box.err("APPEND", "l", "x") == WRONGTYPE
    box.engine.config.set([(b"proto-max-bulk-len", b"1048576")])
    box("SET", "k", b"x" * 1_048_570)
    assert box("APPEND", "k", "123456") == 1_048_576
    assert box.err("APPEND", "k", "1") == TOO_LONG
    assert box("STRLEN", "k") == 1_048_576


# --- SETRANGE / GETRANGE / SUBSTR --------------------------------------------------------------

def test_setrange(box: Box) -> None:
    box("SET", "k", "Hello World")
    assert box("SETRANGE", "k", 6, "Redis") == 11
    assert box("GET", "k") == b"Hello Redis"
    assert box.encoding(b"k") == b"raw"
    assert box("SETRANGE", "k", 13, "!") == 14
    assert box("GET", "k") == b"Hello Redis\x00\x00!"
    assert box("SETRANGE", "n", 3, "ab") == 5
    assert box("GET", "n") == b"\x00\x00\x00ab"
    assert box.encoding(b"n") == b"raw"


def test_setrange_empty_value(box: Box) -> None:
    assert box("SETRANGE", "k", 1_000_000_000, "") == 0
    assert box.db.lookup(b"k", box.now) is None
    box("SET", "k", "abc")
    changes = box.db.changes
    assert box("SETRANGE", "k", 10**12, "") == 3
    assert box.encoding(b"k") == b"embstr"
    assert box.db.changes == changes


def test_setrange_keeps_ttl(box: Box) -> None:
    box("SET", "k", "abc", "PX", 900)
    box("SETRANGE", "k", 1, "X")
    assert box("GET", "k") == b"aXc"
    assert box.ttl(b"k") == 900


def test_setrange_errors(box: Box) -> None:
    assert box.err("SETRANGE", "k", -1, "x") == b"ERR offset is out of range"
    assert box.err("SETRANGE", "k", "x", "x") == NOT_INTEGER
    box.put_list(b"l")
    assert box.err("SETRANGE", "l", -1, "") == b"ERR offset is out of range"
    assert box.err("SETRANGE", "l", 0, "") == WRONGTYPE
    assert box.err("SETRANGE", "l", 0, "x") == WRONGTYPE
    assert box.err("SETRANGE", "k", 512 * 1024 * 1024, "x") == TOO_LONG
    assert box.err("SETRANGE", "k", INT64_MAX, "x") == TOO_LONG
    assert box.db.lookup(b"k", box.now) is None
    box("SET", "s", "abc")
    assert box.err("SETRANGE", "s", 512 * 1024 * 1024 - 1, "xy") == TOO_LONG
    assert box("GET", "s") == b"abc"


@pytest.mark.parametrize("start,end,expected", [
    (0, 3, b"This"), (-3, -1, b"ing"), (0, -1, b"This is a string"), (10, 100, b"string"),
    (5, 3, b""), (-100, -200, b""), (-1, -3, b""), (-100, 2, b"Thi"), (-3, 100, b"ing"),
    (100, 200, b""), (0, 0, b"T"), (-1, -1, b"g"), (2, -100, b""),
])
def test_getrange(box: Box, start: int, end: int, expected: bytes) -> None:
    box("SET", "k", "This is a string")
    assert box("GETRANGE", "k", start, end) == expected
    assert box("SUBSTR", "k", start, end) == expected


def test_getrange_edge_cases(box: Box) -> None:
    assert box("GETRANGE", "missing", 0, -1) == b""
    box("SET", "e", "")
    assert box("GETRANGE", "e", 0, -1) == b""
    box("SET", "n", "12345")
    assert box("GETRANGE", "n", 1, 2) == b"23"
    box.put_list(b"l")
    assert box.err("GETRANGE", "l", 0, 1) == WRONGTYPE
    assert box.err("GETRANGE", "l", "a", 1) == NOT_INTEGER
    assert box.err("SUBSTR", "k", 0, "b") == NOT_INTEGER
    assert box.err("GETRANGE", "k", 0) == b"ERR wrong number of arguments for 'getrange' command"


# --- LCS ---------------------------------------------------------------------------------------

@pytest.fixture
def lcs_box(box: Box) -> Box:
    box("MSET", "a", "ohmytext", "b", "mynewtext")
    return box


def test_lcs_string_and_len(lcs_box: Box) -> None:
    assert lcs_box("LCS", "a", "b") == b"mytext"
    assert lcs_box("LCS", "a", "b", "LEN") == 6
    assert lcs_box("LCS", "a", "missing") == b""
    assert lcs_box("LCS", "missing", "b", "len") == 0


def test_lcs_idx(lcs_box: Box) -> None:
    assert lcs_box("LCS", "a", "b", "IDX") == {
        b"matches": [[[4, 7], [5, 8]], [[2, 3], [0, 1]]], b"len": 6}
    assert lcs_box("LCS", "a", "b", "IDX", "MINMATCHLEN", 4, "WITHMATCHLEN") == {
        b"matches": [[[4, 7], [5, 8], 4]], b"len": 6}
    assert lcs_box("LCS", "a", "b", "IDX", "WITHMATCHLEN", "MINMATCHLEN", -5) == {
        b"matches": [[[4, 7], [5, 8], 4], [[2, 3], [0, 1], 2]], b"len": 6}


def test_lcs_idx_reply_shapes(lcs_box: Box) -> None:
    reply = lcs_box("LCS", "a", "b", "IDX", "MINMATCHLEN", 4)
    assert encode(reply, False) == (
        b"*4\r\n$7\r\nmatches\r\n*1\r\n*2\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n"
        b"$3\r\nlen\r\n:6\r\n")
    assert encode(reply, True).startswith(b"%2\r\n$7\r\nmatches\r\n")


def test_lcs_ignores_idx_only_options_without_idx(lcs_box: Box) -> None:
    assert lcs_box("LCS", "a", "b", "WITHMATCHLEN", "MINMATCHLEN", 3) == b"mytext"
    assert lcs_box("LCS", "a", "b", "LEN", "MINMATCHLEN", 3) == 6


def test_lcs_errors(lcs_box: Box) -> None:
    box = lcs_box
    both = b"ERR If you want both the length and indexes, please just use IDX."
    assert box.err("LCS", "a", "b", "IDX", "LEN") == both
    assert box.err("LCS", "a", "b", "LEN", "IDX") == both
    assert box.err("LCS", "a", "b", "MINMATCHLEN") == SYNTAX
    assert box.err("LCS", "a", "b", "MINMATCHLEN", "x") == NOT_INTEGER
    assert box.err("LCS", "a", "b", "FOO") == SYNTAX
    assert box.err("LCS", "a") == b"ERR wrong number of arguments for 'lcs' command"
    box.put_list(b"l")
    text = b"ERR The specified keys must contain string values"
    assert box.err("LCS", "l", "a") == text
    assert box.err("LCS", "a", "l", "FOO") == text  # type before options


def reference_lcs(a: bytes, b: bytes) -> tuple[bytes, list[list[Any]]]:
    """A plain dynamic-programming LCS with Redis's traceback, to check the bit-parallel one."""
    table = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            if a[i - 1] == b[j - 1]:
                table[i][j] = table[i - 1][j - 1] + 1
            else:
                table[i][j] = max(table[i - 1][j], table[i][j - 1])
    out: list[int] = []
    ranges: list[list[Any]] = []
    i, j = len(a), len(b)
    cur: list[int] | None = None
    while i > 0 and j > 0:
        if a[i - 1] == b[j - 1]:
            out.append(a[i - 1])
            if cur is None:
                cur = [i - 1, i - 1, j - 1, j - 1]
            else:
                cur[0] -= 1
                cur[2] -= 1
            i -= 1
            j -= 1
            if cur[0] == 0 or cur[2] == 0:
                ranges.append([[cur[0], cur[1]], [cur[2], cur[3]]])
                cur = None
        else:
            if table[i - 1][j] > table[i][j - 1]:
                i -= 1
            else:
                j -= 1
            if cur is not None:
                ranges.append([[cur[0], cur[1]], [cur[2], cur[3]]])
                cur = None
    return bytes(reversed(out)), ranges


@pytest.mark.parametrize("seed", range(40))
def test_lcs_matches_reference(box: Box, seed: int) -> None:
    import random

    rng = random.Random(seed)
    alphabet = b"ab" if seed % 2 else b"abcd"
    a = bytes(rng.choice(alphabet) for _ in range(rng.randrange(0, 40)))
    b = bytes(rng.choice(alphabet) for _ in range(rng.randrange(0, 40)))
    box("MSET", "x", a, "y", b)
    text, ranges = reference_lcs(a, b)
    assert box("LCS", "x", "y") == text
    assert box("LCS", "x", "y", "IDX") == {b"matches": ranges, b"len": len(text)}


def test_lcs_large_strings(box: Box) -> None:
    # 4000 x 4000 would be 16M table cells; the bit-parallel rows keep it quick.
    a = b"".join(b"%d," % i for i in range(800))[:4000]
    b = b"".join(b"%d;" % (i * 7) for i in range(800))[:4000]
    box("MSET", "x", a, "y", b)
    text = box("LCS", "x", "y")
    assert len(text) == box("LCS", "x", "y", "LEN")
    reply = box("LCS", "x", "y", "IDX", "WITHMATCHLEN")
    assert reply[b"len"] == len(text)
    assert sum(m[2] for m in reply[b"matches"]) == len(text)
