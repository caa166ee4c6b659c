"""Unit tests of crdt/commands/keys.py: every keyspace command and its error paths, on virtual time.

Strings are stored with `Db.set`; collections are made by the real commands
(RPUSH), so TYPE, SCAN TYPE, COPY and OBJECT see the real value classes.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crdt.commands.keys import DB_CONTENT_SLOTS, DB_INDEX_SLOTS, to_c_int
from crdt.scan import parse_scan_cursor
from crdt.keyspace import Db
from crdt.errors import CommandError
from protocol.replies import ErrorReply, SimpleString
from tests.helpers import EngineBox, NOT_INTEGER, SYNTAX

T0 = 1_700_000_000_000
INT_RANGE = b"ERR value is out of range, value must between -2147483648 and 2147483647"
SAME = b"ERR source and destination objects are the same"
DB_RANGE = b"ERR DB index is out of range"


class Box(EngineBox):
    """An engine with a seeded RNG, a session and a clock that only moves when told."""

    def __init__(self) -> None:
        super().__init__(seed=7)


@pytest.fixture
def box() -> Box:
    return Box()


def err(reply: Any) -> bytes:
    assert isinstance(reply, ErrorReply), reply
    return bytes(reply)


def full_scan(box: Box, *opts: str | int) -> list[bytes]:
    cursor = b"0"
    seen: list[bytes] = []
    for _ in range(10_000):
        cursor, batch = box("SCAN", cursor, *opts)
        seen += batch
        if cursor == b"0":
            return seen
    raise AssertionError("SCAN did not finish")


# --- DEL / UNLINK / EXISTS / TOUCH / DBSIZE ---------------------------------------------

@pytest.mark.parametrize("cmd", ["DEL", "UNLINK"])
def test_del_counts_live_keys_once(box: Box, cmd: str) -> None:
    box.put(b"a")
    box.put(b"b")
    box.put(b"gone", expire_at=T0 - 1)
    assert box(cmd, "a", "a", "b", "nokey", "gone") == 2
    assert box("DBSIZE") == 0
    assert box.db.expired == 1  # the expired one was expired, not deleted by DEL
    assert box(cmd, "a") == 0
    assert err(box(cmd)) == b"ERR wrong number of arguments for '%s' command" % cmd.lower().encode()


def test_del_signals(box: Box) -> None:
    box.put(b"a")
    reply, delta = box.engine.execute_with_delta([b"DEL", b"a", b"b"], box.session, box.now)
    assert reply == 1 and delta == {0: [b"a"]}


def test_exists_counts_repeats_and_stats(box: Box) -> None:
    box.put(b"a")
    box.put(b"gone", expire_at=T0)
    box.now += 1
    assert box("EXISTS", "a", "a", "nokey", "gone", "a") == 3
    assert (box.db.hits, box.db.misses) == (3, 2)
    assert err(box("EXISTS")) == b"ERR wrong number of arguments for 'exists' command"


def test_exists_does_not_touch(box: Box) -> None:
    box.put(b"a")
    box.now += 4000
    box("EXISTS", "a")
    box("TYPE", "a")
    assert box("OBJECT", "IDLETIME", "a") == 4


def test_touch(box: Box) -> None:
    box.put(b"a")
    box.put(b"b")
    box.now += 7000
    assert box("TOUCH", "a", "nokey", "a") == 2
    assert box("OBJECT", "IDLETIME", "a") == 0
    assert box("OBJECT", "IDLETIME", "b") == 7
    assert (box.db.hits, box.db.misses) == (2 + 2, 1)
    assert err(box("TOUCH")) == b"ERR wrong number of arguments for 'touch' command"


def test_dbsize_counts_unexpired_lazily(box: Box) -> None:
    assert box("DBSIZE") == 0
    box.put(b"a")
    box.put(b"b", expire_at=T0 + 1)
    box.now += 2
    assert box("DBSIZE") == 2  # like Redis: the expired key is still stored
    assert box("KEYS", "*") == [b"a"]
    assert box("DBSIZE") == 2  # KEYS does not delete
    assert box("EXISTS", "b") == 0
    assert box("DBSIZE") == 1
    assert err(box("DBSIZE", "x")) == b"ERR wrong number of arguments for 'dbsize' command"


# --- TYPE ---------------------------------------------------------------------------

def test_type(box: Box) -> None:
    box.put(b"s")
    box.put(b"ba", bytearray(b"x"))
    assert box("RPUSH", "l", "x") == 1
    box.put(b"gone", expire_at=T0)
    box.now += 1
    for key, name in [(b"s", b"string"), (b"ba", b"string"), (b"l", b"list"), (b"gone", b"none"),
                      (b"nokey", b"none")]:
        reply = box("TYPE", key)
        assert reply == name and isinstance(reply, SimpleString)
    assert err(box("TYPE")) == b"ERR wrong number of arguments for 'type' command"


# --- KEYS -----------------------------------------------------------------------------

def test_keys(box: Box) -> None:
    for k in [b"", b"a", b"ab", b"b", b"a*"]:
        box.put(k)
    box.put(b"ax", expire_at=T0)
    box.now += 1
    assert sorted(box("KEYS", "*")) == [b"", b"a", b"a*", b"ab", b"b"]
    assert sorted(box("KEYS", "**")) == [b"a", b"a*", b"ab", b"b"]  # '*' alone is special
    assert sorted(box("KEYS", "a*")) == [b"a", b"a*", b"ab"]
    assert box("KEYS", "a\\*") == [b"a*"]
    assert box("KEYS", "") == [b""]
    assert box("KEYS", "[") == []
    assert err(box("KEYS")) == b"ERR wrong number of arguments for 'keys' command"


# --- SCAN -----------------------------------------------------------------------------

def test_scan_returns_every_live_key(box: Box) -> None:
    keys = {b"k%d" % i for i in range(200)}
    for k in keys:
        box.put(k)
    box.put(b"gone", expire_at=T0)
    box.now += 1
    seen = full_scan(box)
    assert sorted(seen) == sorted(keys)
    assert len(seen) == len(set(seen))
    assert box("DBSIZE") == 200  # SCAN deleted the expired key it met


def test_scan_count_bounds_a_step(box: Box) -> None:
    for i in range(100):
        box.put(b"k%d" % i)
    cursor, batch = box("SCAN", 0, "COUNT", 7)
    assert cursor != b"0" and 7 <= len(batch) <= 8
    cursor, batch = box("SCAN", 0)
    assert len(batch) >= 10
    cursor, batch = box("SCAN", 0, "COUNT", 1000)
    assert cursor == b"0" and len(batch) == 100


def test_scan_match_and_type(box: Box) -> None:
    box.put(b"", b"empty")
    box.put(b"s1")
    box.put(b"s2")
    assert box("RPUSH", "l1", "x") == 1
    assert sorted(full_scan(box, "MATCH", "*")) == [b"", b"l1", b"s1", b"s2"]
    assert sorted(full_scan(box, "MATCH", "**")) == [b"l1", b"s1", b"s2"]
    assert sorted(full_scan(box, "MATCH", "s*")) == [b"s1", b"s2"]
    assert sorted(full_scan(box, "TYPE", "STRING")) == [b"", b"s1", b"s2"]
    assert full_scan(box, "type", "list") == [b"l1"]
    assert full_scan(box, "TYPE", "foo") == []
    assert full_scan(box, "MATCH", "s*", "TYPE", "list") == []
    # the last of a repeated option wins
    assert full_scan(box, "MATCH", "x", "MATCH", "l*", "COUNT", 1, "COUNT", 100) == [b"l1"]


def test_scan_type_counts_hits(box: Box) -> None:
    box.put(b"a")
    box.put(b"b")
    box.put(b"c", expire_at=T0)
    box.now += 1
    full_scan(box, "TYPE", "string")
    assert (box.db.hits, box.db.misses) == (2, 1)
    full_scan(box)
    assert (box.db.hits, box.db.misses) == (2, 1)


@pytest.mark.parametrize("args,text", [
    (["abc"], b"ERR invalid cursor"),
    ([" 0"], b"ERR invalid cursor"),
    (["0 "], b"ERR invalid cursor"),
    (["+"], b"ERR invalid cursor"),
    (["18446744073709551616"], b"ERR invalid cursor"),
    (["abc", "COUNT", "0"], b"ERR invalid cursor"),
    (["0", "COUNT", "0"], SYNTAX),
    (["0", "COUNT", "-1"], SYNTAX),
    (["0", "COUNT", "abc"], NOT_INTEGER),
    (["0", "COUNT"], SYNTAX),
    (["0", "MATCH"], SYNTAX),
    (["0", "TYPE"], SYNTAX),
    (["0", "FOO", "x"], SYNTAX),
    (["0", "COUNT", "1", "MATCH"], SYNTAX),
    (["0", "COUNT", "abc", "FOO"], NOT_INTEGER),
    (["0", "FOO", "x", "COUNT", "abc"], SYNTAX),
])
def test_scan_errors(box: Box, args: list[str], text: bytes) -> None:
    assert err(box("SCAN", *args)) == text


def test_scan_arity(box: Box) -> None:
    assert err(box("SCAN")) == b"ERR wrong number of arguments for 'scan' command"


@pytest.mark.parametrize("raw,value", [
    (b"0", 0), (b"", 0), (b"+0", 0), (b"-0", 0), (b"007", 7), (b"-1", 2**64 - 1),
    (b"18446744073709551615", 2**64 - 1), (b"-18446744073709551615", 1), (b"5\x00junk", 5),
])
def test_parse_scan_cursor(raw: bytes, value: int) -> None:
    assert parse_scan_cursor(raw) == value


@pytest.mark.parametrize("raw", [b"x", b"-", b"+", b"\t1", b"1x", b"0x10", b"--1", b"1 ",
                                 b"-18446744073709551616", b"\x001"])
def test_parse_scan_cursor_rejects(raw: bytes) -> None:
    if raw == b"\x001":  # a C string that ends at once is the empty string: cursor 0
        assert parse_scan_cursor(raw) == 0
        return
    with pytest.raises(CommandError):
        parse_scan_cursor(raw)


def test_scan_with_foreign_cursor_ends(box: Box) -> None:
    box.put(b"a")
    assert box("SCAN", "-1") == [b"0", []]
    assert box("SCAN", "99999999999") == [b"0", []]


@settings(max_examples=60, deadline=None)
@given(initial=st.sets(st.integers(0, 60), max_size=40),
       steps=st.lists(st.tuples(st.sampled_from(["add", "del", "expire"]), st.integers(0, 80),
                                st.integers(1, 12)), max_size=40))
def test_scan_guarantee_under_churn(initial: set[int], steps: list[tuple[str, int, int]]) -> None:
    """Keys present for the whole scan are returned; nothing is returned twice in one step."""
    box = Box()
    for i in initial:
        box.put(b"k%d" % i)
    present_throughout = {b"k%d" % i for i in initial}
    seen: set[bytes] = set()
    cursor = b"0"
    step_iter = iter(steps)
    for _ in range(1000):
        count = 3
        op = next(step_iter, None)
        if op is not None:
            kind, n, count = op
            key = b"k%d" % n
            if kind == "add":
                box.put(key)
            elif kind == "del":
                box("DEL", key)
                present_throughout.discard(key)
            else:
                box("PEXPIRE", key, 1)
                present_throughout.discard(key)
                box.now += 2
        cursor, batch = box("SCAN", cursor, "COUNT", count)
        assert len(batch) == len(set(batch))
        for k in batch:
            assert box.db.lookup(k, box.now) is not None
        seen.update(batch)
        if cursor == b"0":
            break
    assert present_throughout <= seen


# --- RANDOMKEY --------------------------------------------------------------------------

def test_randomkey(box: Box) -> None:
    assert box("RANDOMKEY") is None
    for i in range(20):
        box.put(b"k%d" % i)
    picks = {box("RANDOMKEY") for _ in range(200)}
    assert picks <= {b"k%d" % i for i in range(20)} and len(picks) > 10
    assert err(box("RANDOMKEY", "x")) == b"ERR wrong number of arguments for 'randomkey' command"


def test_randomkey_is_deterministic_for_a_seed() -> None:
    a, b = Box(), Box()
    for bx in (a, b):
        for i in range(50):
            bx.put(b"k%d" % i)
    assert [a("RANDOMKEY") for _ in range(20)] == [b("RANDOMKEY") for _ in range(20)]


def test_randomkey_skips_and_deletes_expired(box: Box) -> None:
    for i in range(300):
        box.put(b"e%d" % i, expire_at=T0)
    box.put(b"live")
    box.now += 1
    assert box("RANDOMKEY") == b"live"
    box("DEL", "live")
    assert box("RANDOMKEY") is None
    assert box("DBSIZE") == 0


# --- RENAME / RENAMENX ------------------------------------------------------------------

def test_rename_moves_value_and_ttl(box: Box) -> None:
    box.put(b"a", b"1", expire_at=T0 + 5000)
    box.put(b"b", b"2", expire_at=T0 + 9000)
    assert box("RENAME", "a", "b") == b"OK"
    assert box.db.lookup(b"b", box.now) == b"1"
    assert box("PTTL", "b") == 5000
    assert box("EXISTS", "a") == 0
    box.put(b"c", b"3")
    assert box("RENAME", "b", "d") == b"OK"
    assert box("RENAME", "c", "d") == b"OK"
    assert box("PTTL", "d") == -1  # a persistent source clears the destination's TTL


def test_rename_same_key_and_missing(box: Box) -> None:
    box.put(b"a", expire_at=T0 + 100)
    assert box("RENAME", "a", "a") == b"OK"
    assert box("RENAMENX", "a", "a") == 0
    assert box("PTTL", "a") == 100
    for cmd in ("RENAME", "RENAMENX"):
        assert err(box(cmd, "nokey", "x")) == b"ERR no such key"
        assert err(box(cmd, "nokey", "nokey")) == b"ERR no such key"
    box.now += 101
    assert err(box("RENAME", "a", "b")) == b"ERR no such key"


def test_renamenx(box: Box) -> None:
    box.put(b"a", b"1", expire_at=T0 + 100)
    box.put(b"b", b"2")
    assert box("RENAMENX", "a", "b") == 0
    assert box.db.lookup(b"a", box.now) == b"1"
    box.put(b"c", b"3", expire_at=T0 + 1)
    box.now += 2
    assert box("RENAMENX", "a", "c") == 1  # the expired destination does not count
    assert box("PTTL", "c") == 98
    assert err(box("RENAMENX", "a")) == b"ERR wrong number of arguments for 'renamenx' command"


def test_rename_signals_both_keys(box: Box) -> None:
    box.put(b"a")
    _, delta = box.engine.execute_with_delta([b"RENAME", b"a", b"b"], box.session, box.now)
    assert delta == {0: [b"a", b"b"]}


# --- COPY -----------------------------------------------------------------------------

def test_copy_string_and_ttl(box: Box) -> None:
    box.put(b"a", b"1", expire_at=T0 + 5000)
    assert box("COPY", "a", "b") == 1
    assert box.db.lookup(b"b", box.now) == b"1"
    assert box("PTTL", "b") == 5000
    assert box("COPY", "a", "b") == 0
    box.put(b"a", b"2")
    assert box("COPY", "a", "b", "REPLACE") == 1
    assert box.db.lookup(b"b", box.now) == b"2" and box("PTTL", "b") == -1


def test_copy_duplicates_mutable_values(box: Box) -> None:
    ba = bytearray(b"xy")
    box.put(b"ba", ba)
    assert box("RPUSH", "l", "1") == 1
    lst = box.db.lookup(b"l", box.now)
    assert box("COPY", "ba", "ba2") == 1
    assert box("COPY", "l", "l2") == 1
    ba2 = box.db.lookup(b"ba2", box.now)
    l2 = box.db.lookup(b"l2", box.now)
    assert ba2 == ba and ba2 is not ba
    assert l2 == lst and l2 is not lst and type(l2) is type(lst)
    assert box("RPUSH", "l", "2") == 2  # the copy does not follow the source
    assert box("LRANGE", "l2", 0, -1) == [b"1"]
    assert box("TYPE", "l2") == b"list"
    assert box("OBJECT", "ENCODING", "ba2") == b"raw"


def test_copy_to_other_db(box: Box) -> None:
    box.put(b"a", b"1")
    box.put(b"a", b"old", db=3)
    assert box("COPY", "a", "a", "DB", 3) == 0
    assert box("COPY", "a", "a", "db", 3, "replace") == 1
    assert box.dbn(3).lookup(b"a", box.now) == b"1"
    assert box("COPY", "a", "x", "DB", 1, "DB", 2) == 1  # the last DB wins
    assert box.dbn(2).lookup(b"x", box.now) == b"1"
    assert box.dbn(1).lookup(b"x", box.now) is None
    assert box("COPY", "nokey", "x", "DB", 1) == 0


def test_copy_source_stats_and_missing(box: Box) -> None:
    box.put(b"gone", expire_at=T0)
    box.now += 1
    assert box("COPY", "gone", "x") == 0
    assert box("COPY", "nokey", "x") == 0
    assert box.db.misses == 2


@pytest.mark.parametrize("args,text", [
    (["a", "a"], SAME),
    (["nokey", "nokey"], SAME),
    (["a", "a", "DB", "0"], SAME),
    (["a", "b", "DB"], SYNTAX),
    (["a", "b", "REPLACE", "DB"], SYNTAX),
    (["a", "b", "FOO"], SYNTAX),
    (["a", "b", "DB", "abc"], NOT_INTEGER),
    (["a", "b", "DB", "1.5"], NOT_INTEGER),
    (["a", "b", "DB", "99999999999999999999"], NOT_INTEGER),
    (["a", "b", "DB", "2147483648"], INT_RANGE),
    (["a", "b", "DB", "-2147483649"], INT_RANGE),
    (["a", "b", "DB", "16"], DB_RANGE),
    (["a", "b", "DB", "-1"], DB_RANGE),
    (["nokey", "b", "DB", "99"], DB_RANGE),
])
def test_copy_errors(box: Box, args: list[str], text: bytes) -> None:
    box.put(b"a")
    assert err(box("COPY", *args)) == text


def test_copy_arity(box: Box) -> None:
    assert err(box("COPY", "a")) == b"ERR wrong number of arguments for 'copy' command"


# --- MOVE -----------------------------------------------------------------------------

def test_move(box: Box) -> None:
    box.put(b"a", b"1", expire_at=T0 + 3000)
    assert box("MOVE", "a", 1) == 1
    assert box("EXISTS", "a") == 0
    assert box.dbn(1).lookup(b"a", box.now) == b"1"
    assert box.dbn(1).ttl_ms(b"a") == T0 + 3000
    assert box("MOVE", "a", 1) == 0
    box.put(b"a", b"2")
    assert box("MOVE", "a", 1) == 0  # present there: stays here
    assert box.db.lookup(b"a", box.now) == b"2"
    box.put(b"b", b"3", db=1, expire_at=T0 + 1)
    box.put(b"b", b"4")
    box.now += 2
    assert box("MOVE", "b", 1) == 1  # an expired key there does not block
    assert box.dbn(1).ttl_ms(b"b") is None


def test_move_signals_both_dbs(box: Box) -> None:
    box.put(b"a")
    _, delta = box.engine.execute_with_delta([b"MOVE", b"a", b"2"], box.session, box.now)
    assert delta == {0: [b"a"], 2: [b"a"]}


@pytest.mark.parametrize("args,text", [
    (["a", "0"], SAME), (["nokey", "0"], SAME), (["a", "abc"], NOT_INTEGER),
    (["a", "16"], DB_RANGE), (["a", "-1"], DB_RANGE), (["a", "2147483648"], INT_RANGE),
    (["a", "99999999999999999999"], NOT_INTEGER),
])
def test_move_errors(box: Box, args: list[str], text: bytes) -> None:
    box.put(b"a")
    assert err(box("MOVE", *args)) == text
    assert err(box("MOVE", "a")) == b"ERR wrong number of arguments for 'move' command"


# --- OBJECT -----------------------------------------------------------------------------

@pytest.mark.parametrize("value,encoding,refcount", [
    (b"abc", b"embstr", 1), (b"x" * 45, b"raw", 1), (b"123", b"int", 2147483647),
    (b"0", b"int", 2147483647), (b"9999", b"int", 2147483647), (b"10000", b"int", 1),
    (b"-1", b"int", 1), (b"007", b"embstr", 1), (bytearray(b"12"), b"raw", 1),
])
def test_object_encoding_refcount(box: Box, value: Any, encoding: bytes, refcount: int) -> None:
    box.put(b"k", value)
    assert box("OBJECT", "ENCODING", "k") == encoding
    assert box("object", "refcount", "k") == refcount


def test_object_of_collection(box: Box) -> None:
    assert box("RPUSH", "l", "x") == 1
    assert box("OBJECT", "ENCODING", "l") == b"quicklist"  # Redis 7.0: every list
    assert box("OBJECT", "REFCOUNT", "l") == 1


@pytest.mark.parametrize("sub", ["ENCODING", "REFCOUNT", "IDLETIME", "FREQ"])
def test_object_missing_key_is_nil(box: Box, sub: str) -> None:
    box.put(b"gone", expire_at=T0)
    box.now += 1
    assert box("OBJECT", sub, "nokey") is None
    assert box("OBJECT", sub, "gone") is None
    assert box.db.misses == 2


def test_object_idletime(box: Box) -> None:
    box.put(b"k")
    box.now += 61_999
    assert box("OBJECT", "IDLETIME", "k") == 61
    box.db.read(b"k", box.now)
    assert box("OBJECT", "IDLETIME", "k") == 0
    assert box.db.hits == 3


def test_object_freq_error(box: Box) -> None:
    box.put(b"k")
    assert err(box("OBJECT", "FREQ", "k")) == (
        b"ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note "
        b"that when switching between policies at runtime LRU and LFU data will take some time "
        b"to adjust.")


def test_object_help_and_errors(box: Box) -> None:
    lines = box("OBJECT", "HELP")
    assert lines[0] == b"OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
    assert lines[-2:] == [b"HELP", b"    Prints this help."]
    assert len(lines) == 15
    assert err(box("OBJECT", "help", "x")) == b"ERR wrong number of arguments for 'object|help' command"
    assert err(box("OBJECT", "foo")) == b"ERR unknown subcommand 'foo'. Try OBJECT HELP."
    assert err(box("OBJECT")) == b"ERR wrong number of arguments for 'object' command"
    assert err(box("OBJECT", "ENCODING")) == b"ERR wrong number of arguments for 'object|encoding' command"


# --- FLUSHDB / FLUSHALL -----------------------------------------------------------------

@pytest.mark.parametrize("mode", [[], ["ASYNC"], ["sync"], ["Async"]])
def test_flushdb_and_flushall(box: Box, mode: list[str]) -> None:
    box.put(b"a", expire_at=T0 + 10)
    box.put(b"b", db=1)
    assert box("FLUSHDB", *mode) == b"OK"
    assert box("DBSIZE") == 0 and len(box.dbn(1)) == 1
    box.put(b"a")
    assert box("FLUSHALL", *mode) == b"OK"
    assert all(len(db) == 0 for db in box.engine.dbs)


@pytest.mark.parametrize("cmd", ["FLUSHDB", "FLUSHALL"])
@pytest.mark.parametrize("args", [["foo"], ["async", "x"], ["sync", "sync"], [""]])
def test_flush_syntax_errors(box: Box, cmd: str, args: list[str]) -> None:
    box.put(b"a")
    assert err(box(cmd, *args)) == SYNTAX
    assert box("DBSIZE") == 1


def test_flush_tells_watchers(box: Box) -> None:
    box.put(b"a")
    watcher = box.engine.open_session(T0)
    assert box("WATCH", "a", session=watcher) == b"OK"
    box("FLUSHALL")
    assert watcher.watch_dirty


# --- SWAPDB -----------------------------------------------------------------------------

def test_swapdb_sessions_see_the_swap(box: Box) -> None:
    other = box.engine.open_session(T0)
    assert box("SELECT", 1, session=other) == b"OK"
    box.put(b"zero", b"0", expire_at=T0 + 100)
    box.put(b"one", b"1", db=1)
    db0, db1 = box.dbn(0), box.dbn(1)
    assert box("SWAPDB", 0, 1) == b"OK"
    assert box.dbn(0) is db0 and box.dbn(1) is db1  # the objects stay at their index
    assert box("KEYS", "*") == [b"one"]
    assert box("KEYS", "*", session=other) == [b"zero"]
    assert box("PTTL", "zero", session=other) == 100
    assert box.engine.active_expire(T0 + 101) == 1  # the expiry heap went along
    assert db1.expired == 1
    assert full_scan(box) == [b"one"]


def test_swapdb_same_index_and_errors(box: Box) -> None:
    box.put(b"a")
    assert box("SWAPDB", 0, 0) == b"OK"
    assert box("DBSIZE") == 1
    assert err(box("SWAPDB", "abc", 0)) == b"ERR invalid first DB index"
    assert err(box("SWAPDB", "abc", "abc")) == b"ERR invalid first DB index"
    assert err(box("SWAPDB", 0, "abc")) == b"ERR invalid second DB index"
    assert err(box("SWAPDB", "2147483648", 0)) == b"ERR invalid first DB index"
    assert err(box("SWAPDB", 0, "2147483648")) == b"ERR invalid second DB index"
    assert err(box("SWAPDB", 0, 16)) == DB_RANGE
    assert err(box("SWAPDB", -1, 0)) == DB_RANGE
    assert err(box("SWAPDB", 0)) == b"ERR wrong number of arguments for 'swapdb' command"


def test_swapdb_tells_watchers_of_keys_in_either_db(box: Box) -> None:
    w_here, w_there, w_none = (box.engine.open_session(T0) for _ in range(3))
    box.put(b"a")  # db0 only
    box.put(b"b", db=1)  # db1 only
    assert box("WATCH", "b", session=w_here) == b"OK"  # watched in db0, exists in db1
    box("SELECT", 1, session=w_there)
    assert box("WATCH", "a", session=w_there) == b"OK"  # watched in db1, exists in db0
    assert box("WATCH", "c", session=w_none) == b"OK"  # nowhere
    box("SWAPDB", 0, 1)
    assert w_here.watch_dirty and w_there.watch_dirty and not w_none.watch_dirty
    assert b"b" in box.dbn(0).watchers  # watchers stay with their index


def test_db_slots_are_all_classified() -> None:
    """SWAPDB must know, for every attribute of Db, whether it is content or per index."""
    assert sorted(DB_CONTENT_SLOTS + DB_INDEX_SLOTS) == sorted(Db.__slots__)


def test_to_c_int() -> None:
    assert to_c_int(b"-2147483648") == -(2**31)
    with pytest.raises(CommandError) as e:
        to_c_int(b"2147483648")
    assert e.value.text == INT_RANGE
    with pytest.raises(CommandError) as e:
        to_c_int(b"2147483648", b"ERR custom")
    assert e.value.text == b"ERR custom"
