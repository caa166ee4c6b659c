"""Unit tests of crdt/commands/hashes.py on virtual time: every command, error path and encoding rule.

The engine runs in process with explicit `now_ms` values (no clock, no
sleeps); randomness comes from the engine's seeded RNG. The differential
twin (test_hashes_redis.py) checks the same behaviour against redis-server.
"""

from __future__ import annotations


import pytest

from crdt.errors import CommandError
from crdt.commands.hashes import HashValue
from crdt.scan import collection_scan, parse_scan_options
from tests.helpers import NOT_FLOAT, NOT_INTEGER, SYNTAX, WRONGTYPE, EngineBox

T0 = 1_700_000_000_000
HASH_NOT_INT = b"ERR hash value is not an integer"
HASH_NOT_FLOAT = b"ERR hash value is not a float"


class Box(EngineBox):
    """An engine, a session and a clock that only moves when told (tests/helpers.py)."""


@pytest.fixture
def box() -> Box:
    return Box()


def test_hset_hget_and_friends(box: Box) -> None:
    assert box("HSET", "h", "a", "1", "b", "2", "a", "3") == 2
    assert box("HGET", "h", "a") == b"3"
    assert box("HGET", "h", "z") is None
    assert box("HGET", "none", "a") is None
    assert box("HMGET", "h", "a", "z") == [b"3", None]
    assert box("HMGET", "none", "a", "b") == [None, None]
    assert box("HGETALL", "h") == {b"a": b"3", b"b": b"2"}
    assert box("HGETALL", "none") == {}
    assert box("HKEYS", "h") == [b"a", b"b"]
    assert box("HVALS", "h") == [b"3", b"2"]
    assert box("HLEN", "h") == 2 and box("HLEN", "none") == 0
    assert box("HEXISTS", "h", "a") == 1 and box("HEXISTS", "h", "z") == 0
    assert box("HEXISTS", "none", "a") == 0
    assert box("HSTRLEN", "h", "a") == 1 and box("HSTRLEN", "h", "z") == 0
    assert box("HSTRLEN", "none", "a") == 0
    assert box("HMSET", "h", "c", "4") == b"OK"
    assert box("HSETNX", "h", "c", "9") == 0 and box("HGET", "h", "c") == b"4"
    assert box("HSETNX", "h", "d", "9") == 1 and box("HSETNX", "new", "f", "v") == 1
    assert box("TYPE", "h") == b"hash"


def test_odd_arguments_are_arity_errors(box: Box) -> None:
    assert box.err("HSET", "h", "a", "1", "b") == b"ERR wrong number of arguments for 'hset' command"
    assert box.err("HMSET", "h", "a", "1", "b") == b"ERR wrong number of arguments for 'hmset' command"
    assert box.err("HSET", "h", "a") == b"ERR wrong number of arguments for 'hset' command"
    assert box("EXISTS", "h") == 0


def test_wrong_type(box: Box) -> None:
    box("SET", "s", "v")
    for argv in [("HSET", "s", "a", "1"), ("HMSET", "s", "a", "1"), ("HSETNX", "s", "a", "1"),
                 ("HGET", "s", "a"), ("HMGET", "s", "a"), ("HGETALL", "s"), ("HKEYS", "s"),
                 ("HVALS", "s"), ("HLEN", "s"), ("HEXISTS", "s", "a"), ("HSTRLEN", "s", "a"),
                 ("HDEL", "s", "a"), ("HINCRBY", "s", "a", "1"), ("HINCRBYFLOAT", "s", "a", "1"),
                 ("HRANDFIELD", "s"), ("HRANDFIELD", "s", "1"), ("HSCAN", "s", "0")]:
        assert box.err(*argv) == WRONGTYPE, argv
    assert box("GET", "s") == b"v"


def test_hdel_deletes_an_emptied_hash(box: Box) -> None:
    box("HSET", "h", "a", "1", "b", "2")
    assert box("HDEL", "h", "a", "a", "z") == 1
    assert box("HDEL", "none", "a") == 0
    assert box("HDEL", "h", "b", "c") == 1
    assert box("EXISTS", "h") == 0


def test_hincrby(box: Box) -> None:
    assert box("HINCRBY", "h", "a", "5") == 5
    assert box("HINCRBY", "h", "a", "-7") == -2
    assert box.err("HINCRBY", "h", "a", "x") == NOT_INTEGER
    assert box.err("HINCRBY", "none", "a", "1.5") == NOT_INTEGER
    box("HSET", "h", "big", str(2**63 - 1), "s", "x", "z", "007", "sp", " 1")
    assert box.err("HINCRBY", "h", "big", "1") == b"ERR increment or decrement would overflow"
    assert box("HINCRBY", "h", "big", "0") == 2**63 - 1
    for field in ("s", "z", "sp"):
        assert box.err("HINCRBY", "h", field, "1") == HASH_NOT_INT
    assert box("EXISTS", "none") == 0


def test_hincrbyfloat(box: Box) -> None:
    assert box("HINCRBYFLOAT", "h", "a", "1.5") == b"1.5"
    assert box("HINCRBYFLOAT", "h", "a", "-0.5") == b"1"
    assert box("HINCRBYFLOAT", "h", "a", "0x10") == b"17"
    assert box("HINCRBYFLOAT", "h", "a", "0.1") == b"17.1"
    assert box.err("HINCRBYFLOAT", "h", "a", "x") == NOT_FLOAT
    assert box.err("HINCRBYFLOAT", "h", "a", "1e-5000") == NOT_FLOAT
    assert box.err("HINCRBYFLOAT", "h", "a", "inf") == b"ERR value is NaN or Infinity"
    assert box.err("HINCRBYFLOAT", "none", "a", "-inf") == b"ERR value is NaN or Infinity"
    box("SET", "s", "v")
    # the increment is checked before the key's type
    assert box.err("HINCRBYFLOAT", "s", "a", "inf") == b"ERR value is NaN or Infinity"
    assert box.err("HINCRBYFLOAT", "s", "a", "1") == WRONGTYPE
    box("HSET", "h", "i", "inf", "x", "abc")
    assert box.err("HINCRBYFLOAT", "h", "i", "1") == b"ERR increment would produce NaN or Infinity"
    assert box.err("HINCRBYFLOAT", "h", "x", "1") == HASH_NOT_FLOAT
    assert box("HINCRBYFLOAT", "h", "n", "1e66").startswith(b"1000000000000000000037")


def test_listpack_conversions(box: Box) -> None:
    cfg = box.engine.config
    box("HSET", "a", "f" * 64, "v" * 64)
    assert box("OBJECT", "ENCODING", "a") == b"listpack"
    box("HSET", "b", "x", "1", "y", "v" * 65)
    assert box("OBJECT", "ENCODING", "b") == b"hashtable"
    box("HDEL", "b", "y")
    assert box("OBJECT", "ENCODING", "b") == b"hashtable"  # never back
    box("HSET", "c", "x", "1")
    box("HSETNX", "c", "x", "v" * 65)  # field exists: nothing written, nothing checked
    assert box("OBJECT", "ENCODING", "c") == b"listpack"
    box("HINCRBYFLOAT", "c", "y", "1e66")  # the result is 67 bytes long
    assert box("OBJECT", "ENCODING", "c") == b"hashtable"
    cfg.set([(b"hash-max-listpack-entries", b"2")])
    box("HSET", "d", "x", "1", "y", "2")
    assert box("OBJECT", "ENCODING", "d") == b"listpack"
    box("HSET", "d", "x", "3")
    assert box("OBJECT", "ENCODING", "d") == b"listpack"
    box("HINCRBY", "d", "z", "1")
    assert box("OBJECT", "ENCODING", "d") == b"hashtable"
    cfg.set([(b"hash-max-listpack-entries", b"0")])
    box("HSETNX", "e", "x", "1")
    assert box("OBJECT", "ENCODING", "e") == b"hashtable"


def test_copy_is_independent(box: Box) -> None:
    box("HSET", "h", "a", "1", "b", "v" * 100)
    assert box("COPY", "h", "h2") == 1
    assert box("OBJECT", "ENCODING", "h2") == b"hashtable"
    box("HSET", "h2", "a", "2")
    assert box("HGET", "h", "a") == b"1"
    original = box.db.lookup(b"h", box.now)
    assert isinstance(original.copy(), HashValue) and original.copy() == original


def test_sort_field_lookup_interface(box: Box) -> None:
    box("HSET", "h", "f", "v")
    value = box.db.lookup(b"h", box.now)
    assert value.type_name == b"hash"
    assert value.get(b"f") == b"v" and value.get(b"z") is None


def test_expired_hash_is_absent(box: Box) -> None:
    box("HSET", "h", "a", "1")
    box("PEXPIRE", "h", "100")
    box.now += 101
    assert box("HGET", "h", "a") is None
    assert box("HSET", "h", "b", "2") == 1
    assert box("HGETALL", "h") == {b"b": b"2"}
    assert box("TTL", "h") == -1


def test_ttl_survives_field_writes(box: Box) -> None:
    box("HSET", "h", "a", "1")
    box("PEXPIRE", "h", "1000")
    box("HSET", "h", "b", "2")
    box("HINCRBY", "h", "c", "1")
    box("HDEL", "h", "a")
    assert box("PTTL", "h") == 1000


def test_writes_signal_the_key(box: Box) -> None:
    db = box.db
    box("HSET", "h", "a", "1")
    for argv in [("HSET", "h", "a", "2"), ("HSETNX", "h", "b", "1"), ("HINCRBY", "h", "a", "1"),
                 ("HINCRBYFLOAT", "h", "a", "1"), ("HDEL", "h", "b")]:
        before = db.changes
        box(*argv)
        assert db.changes > before, argv
    before = db.changes
    box("HDEL", "h", "zz")
    box("HSETNX", "h", "a", "1")
    box("HINCRBY", "h", "a", "x")
    assert db.changes == before


def test_hrandfield(box: Box) -> None:
    box("HSET", "h", "a", "1", "b", "2", "c", "3")
    assert box("HRANDFIELD", "h") in (b"a", b"b", b"c")
    assert box("HRANDFIELD", "none") is None
    assert box("HRANDFIELD", "none", "3") == []
    assert box("HRANDFIELD", "h", "0") == []
    assert box("HRANDFIELD", "h", "5") == [b"a", b"b", b"c"]
    assert box("HRANDFIELD", "h", "3", "WITHVALUES") == [b"a", b"1", b"b", b"2", b"c", b"3"]
    two = box("HRANDFIELD", "h", "2")
    assert len(set(two)) == 2 and set(two) <= {b"a", b"b", b"c"}
    many = box("HRANDFIELD", "h", "-10")
    assert len(many) == 10 and set(many) <= {b"a", b"b", b"c"}
    assert box.err("HRANDFIELD", "h", "1", "x") == SYNTAX
    assert box.err("HRANDFIELD", "h", "1", "WITHVALUES", "x") == SYNTAX
    assert box.err("HRANDFIELD", "h", "x", "y") == NOT_INTEGER
    assert box.err("HRANDFIELD", "h", str(-(2**63))) == (
        b"ERR value is out of range, value must between -9223372036854775807 and "
        b"9223372036854775807")
    assert box.err("HRANDFIELD", "h", str(2**62), "WITHVALUES") == b"ERR value is out of range"
    assert box.err("HRANDFIELD", "h", str(-(2**62)), "withvalues") == b"ERR value is out of range"
    box("HELLO", "3")
    pairs = box("HRANDFIELD", "h", "-4", "WITHVALUES")
    assert len(pairs) == 4 and all(len(p) == 2 for p in pairs)


def test_hrandfield_is_deterministic_for_a_seed() -> None:
    replies = []
    for _ in range(2):
        box = Box(seed=42)
        box("HSET", "h", *[str(i) for i in range(40)])
        replies.append([box("HRANDFIELD", "h", "-5"), box("HRANDFIELD", "h", "5"), box("HRANDFIELD", "h")])
    assert replies[0] == replies[1]


def test_hscan_listpack_answers_at_once(box: Box) -> None:
    box("HSET", "h", "b", "1", "a", "2", "ab", "3")
    assert box("HSCAN", "h", "0") == [b"0", [b"b", b"1", b"a", b"2", b"ab", b"3"]]
    assert box("HSCAN", "h", "99", "COUNT", "1") == [b"0", [b"b", b"1", b"a", b"2", b"ab", b"3"]]
    assert box("HSCAN", "h", "0", "MATCH", "a*") == [b"0", [b"a", b"2", b"ab", b"3"]]
    assert box("HSCAN", "none", "0", "BAD") == [b"0", []]
    assert box.err("HSCAN", "h", "x") == b"ERR invalid cursor"
    assert box.err("HSCAN", "h", "0", "COUNT", "0") == SYNTAX
    assert box.err("HSCAN", "h", "0", "COUNT", "x") == NOT_INTEGER
    assert box.err("HSCAN", "h", "0", "COUNT") == SYNTAX
    assert box.err("HSCAN", "h", "0", "TYPE", "hash") == SYNTAX


def test_hscan_hashtable_returns_every_stable_field(box: Box) -> None:
    box("HSET", "h", *[x for i in range(600) for x in (f"f{i}", f"v{i}")])
    assert box("OBJECT", "ENCODING", "h") == b"hashtable"
    cursor, seen, step = b"0", {}, 0
    while True:
        cursor, batch = box("HSCAN", "h", cursor, "COUNT", "7")
        assert len(batch) // 2 <= 14
        seen.update(zip(batch[::2], batch[1::2]))
        step += 1
        # churn during the scan: fields f0..f99 are never touched
        box("HDEL", "h", f"f{599 - step}")
        box("HSET", "h", f"new{step}", "x")
        if cursor == b"0":
            break
    for i in range(100):
        assert seen[f"f{i}".encode()] == f"v{i}".encode()


def test_scan_helpers() -> None:
    matcher, count = parse_scan_options([b"x", b"x", b"x", b"MATCH", b"*", b"COUNT", b"3"], 3)
    assert matcher is None and count == 3
    with pytest.raises(CommandError):
        parse_scan_options([b"MATCH"], 0)

    class Holder:
        scan_index = None

    members = [b"m%d" % i for i in range(50)]
    holder = Holder()
    cursor, out = 0, []
    while True:
        cursor, batch = collection_scan(holder, members, lambda m: True, cursor, 4)
        out += batch
        if cursor == 0:
            break
    assert sorted(out) == sorted(members)


def test_command_metadata(box: Box) -> None:
    info = box("COMMAND", "INFO", "hset", "hgetall", "hrandfield")
    assert info[0][:6] == [b"hset", -4, [b"write", b"denyoom", b"fast"], 1, 1, 1]
    assert info[1][7] == [b"nondeterministic_output_order"]
    assert info[2][1] == -2
