"""Differential tests: hash commands against a real redis-server 7.0.

Scripted checks cover every command, option and error path, HINCRBYFLOAT's
long double arithmetic, the listpack -> hashtable conversions (by entries
and by field/value length, with CONFIG SET), and RESP3 shapes. A listpack
hash keeps insertion order in Redis as in our engine, so HGETALL, HKEYS,
HVALS, HSCAN and whole-hash HRANDFIELD replies of small hashes are compared
exactly; a hashtable hash's order is Redis's hash order, which we do not
reproduce, so those replies are compared sorted (HSCAN as the union of a
whole iteration). Hypothesis plays random sequences of hash commands mixed
with DEL/EXISTS/TYPE/EXPIRE/RENAME/COPY/OBJECT ENCODING and string keys.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.differential import Differential, Err
from tests.helpers import weighted

pytestmark = pytest.mark.redis

LONG = "L" * 65


@pytest.fixture
def diff3(real_redis_port: int) -> Iterator[Differential]:
    d = Differential(real_redis_port, resp3=True)
    yield d
    d.close()


@pytest.fixture
def small_listpacks(diff: Any) -> Iterator[Any]:
    """hash-max-listpack-entries 2 and -value 8 on both servers, restored afterwards."""
    diff.check("CONFIG", "SET", "hash-max-listpack-entries", 2, "hash-max-listpack-value", 8)
    try:
        yield diff
    finally:
        diff.real.call(b"CONFIG", b"SET", b"hash-max-listpack-entries", b"512",
                       b"hash-max-listpack-value", b"64")


def pairs(reply: Any) -> Any:
    """A field/value reply (flat RESP2 array or RESP3 map) as sorted pairs."""
    if isinstance(reply, dict):
        return sorted(reply.items())
    if isinstance(reply, list):
        return sorted(zip(reply[::2], reply[1::2]))
    return reply


def sorted_reply(reply: Any) -> Any:
    return sorted(reply, key=repr) if isinstance(reply, list) else reply


def scan_all(side: Any, key: bytes, *options: bytes) -> Any:
    cursor = b"0"
    seen: dict[bytes, bytes] = {}
    for _ in range(10_000):
        reply = side.call(b"HSCAN", key, cursor, *options)
        if isinstance(reply, Err):
            return reply
        cursor, batch = reply
        seen.update(zip(batch[::2], batch[1::2]))
        if cursor == b"0":
            return sorted(seen.items())
    raise AssertionError("HSCAN did not finish")


def check_scan_all(diff: Any, key: str, *options: Any) -> None:
    opts = [o if isinstance(o, bytes) else str(o).encode() for o in options]
    ours, theirs = scan_all(diff.ours, key.encode(), *opts), scan_all(diff.real, key.encode(), *opts)
    assert ours == theirs, f"HSCAN {key} {options}: gyre {ours!r} != redis {theirs!r}"


# -- basic commands and errors ---------------------------------------------------------------


def test_set_get_delete(diff: Any) -> None:
    for argv in [
        ("HSET", "h", "a", "1", "b", "2", "a", "3"), ("HSET", "h", "c", "4"), ("HGETALL", "h"),
        ("HGET", "h", "a"), ("HGET", "h", "z"), ("HGET", "none", "a"), ("HMGET", "h", "a", "z", "c"),
        ("HMGET", "none", "a", "b"), ("HLEN", "h"), ("HLEN", "none"), ("HEXISTS", "h", "b"),
        ("HEXISTS", "h", "z"), ("HEXISTS", "none", "z"), ("HSTRLEN", "h", "a"),
        ("HSTRLEN", "h", "z"), ("HSTRLEN", "none", "z"), ("HKEYS", "h"), ("HVALS", "h"),
        ("HKEYS", "none"), ("HVALS", "none"), ("HGETALL", "none"),
        ("HSETNX", "h", "a", "9"), ("HSETNX", "h", "n", "9"), ("HSETNX", "new", "f", "v"),
        ("HMSET", "h", "x", "1", "y", "2"), ("HGETALL", "h"),
        ("HDEL", "h", "a", "a", "z", "b"), ("HDEL", "none", "a"), ("HGETALL", "h"),
        ("HDEL", "h", "c", "n", "x", "y"), ("EXISTS", "h"),
        ("HSET", "h", "x"), ("HSET", "h", "x", "y", "z"), ("HMSET", "h", "x", "y", "z"),
        ("HMSET", "h", "x"), ("HSET", "h"), ("HGET", "h"), ("HMGET", "h"), ("HDEL", "h"),
        ("HSETNX", "h", "f"), ("HSET", "e", "", ""), ("HGETALL", "e"), ("HSTRLEN", "e", ""),
    ]:
        diff.check(*argv)


def test_wrong_type_everywhere(diff: Any) -> None:
    diff.check("SET", "str", "v")
    for argv in [
        ("HSET", "str", "a", "1"), ("HMSET", "str", "a", "1"), ("HSETNX", "str", "a", "1"),
        ("HGET", "str", "a"), ("HMGET", "str", "a"), ("HGETALL", "str"), ("HKEYS", "str"),
        ("HVALS", "str"), ("HLEN", "str"), ("HEXISTS", "str", "a"), ("HSTRLEN", "str", "a"),
        ("HDEL", "str", "a"), ("HINCRBY", "str", "a", 1), ("HINCRBY", "str", "a", "x"),
        ("HINCRBYFLOAT", "str", "a", 1), ("HINCRBYFLOAT", "str", "a", "x"),
        ("HINCRBYFLOAT", "str", "a", "inf"), ("HRANDFIELD", "str"), ("HRANDFIELD", "str", 1),
        ("HRANDFIELD", "str", "x"), ("HRANDFIELD", "str", 1, "y"), ("HSCAN", "str", 0),
        ("HSCAN", "str", "x"), ("HSCAN", "str", 0, "COUNT", 0), ("HSET", "str", "a"),
        ("GET", "str"),
    ]:
        diff.check(*argv)


def test_hincrby(diff: Any) -> None:
    for argv in [
        ("HINCRBY", "h", "a", 5), ("HINCRBY", "h", "a", -7), ("HINCRBY", "h", "a", "x"),
        ("HINCRBY", "none", "a", "x"), ("HINCRBY", "h", "a", "1.5"), ("HINCRBY", "h", "a", " 1"),
        ("HSET", "h", "big", str(2**63 - 1), "small", str(-(2**63)), "s", "x", "sp", " 1",
         "z", "007", "neg0", "-0", "e", ""),
        ("HINCRBY", "h", "big", 1), ("HINCRBY", "h", "big", 0), ("HINCRBY", "h", "small", -1),
        ("HINCRBY", "h", "small", str(2**63 - 1)), ("HINCRBY", "h", "s", 1),
        ("HINCRBY", "h", "sp", 1), ("HINCRBY", "h", "z", 1), ("HINCRBY", "h", "neg0", 1),
        ("HINCRBY", "h", "e", 1), ("HINCRBY", "h", "a", str(2**63)),
        ("HINCRBY", "h", "a", str(-(2**63))), ("HGETALL", "h"),
        ("HINCRBY", "h", "a"), ("HINCRBY", "h", "a", 1, 2),
    ]:
        diff.check(*argv)


def test_hincrbyfloat(diff: Any) -> None:
    for argv in [
        ("HINCRBYFLOAT", "h", "a", "1.5"), ("HINCRBYFLOAT", "h", "a", "-0.5"),
        ("HINCRBYFLOAT", "h", "a", "0x10"), ("HINCRBYFLOAT", "h", "a", "1e-5000"),
        ("HINCRBYFLOAT", "h", "a", "x"), ("HINCRBYFLOAT", "h", "a", " 1"),
        ("HINCRBYFLOAT", "h", "a", "inf"), ("HINCRBYFLOAT", "h", "a", "-inf"),
        ("HINCRBYFLOAT", "h", "a", "nan"), ("HINCRBYFLOAT", "none", "a", "inf"),
        ("HINCRBYFLOAT", "h", "a", "0.1"), ("HINCRBYFLOAT", "h", "a", "1e4900"),
        ("HINCRBYFLOAT", "h", "a", "1e4940"), ("HSTRLEN", "h", "a"),
        ("HSET", "h", "i", "inf", "s", "x", "sp", " 1", "e", "", "f", "1e400", "g", "3.0"),
        ("HINCRBYFLOAT", "h", "i", "1"), ("HINCRBYFLOAT", "h", "s", "1"),
        ("HINCRBYFLOAT", "h", "sp", "1"), ("HINCRBYFLOAT", "h", "e", "1"),
        ("HINCRBYFLOAT", "h", "f", "1"), ("HINCRBYFLOAT", "h", "g", "0"),
        ("HINCRBYFLOAT", "h", "n", "5.0e3"), ("HINCRBYFLOAT", "h", "n", "-5000"),
        ("HINCRBY", "h", "g", 1), ("HINCRBYFLOAT", "h", "a", "1", "2"),
        ("HINCRBYFLOAT", "h", "w", "1.23456789012345678901234567890"),
    ]:
        diff.check(*argv)


def test_encodings_by_length(diff: Any) -> None:
    for argv in [
        ("HSET", "a", "f" * 64, "v" * 64), ("OBJECT", "ENCODING", "a"),
        ("HSET", "b", LONG, "1"), ("OBJECT", "ENCODING", "b"),
        ("HSET", "c", "x", "1", "y", LONG), ("OBJECT", "ENCODING", "c"),
        ("HSET", "d", "x", "1"), ("HSET", "d", "x", LONG), ("OBJECT", "ENCODING", "d"),
        ("HSET", "e", "x", "1"), ("HSETNX", "e", "x", LONG), ("OBJECT", "ENCODING", "e"),
        ("HSETNX", "e", "y", LONG), ("OBJECT", "ENCODING", "e"),
        ("HSETNX", "f", LONG, "1"), ("OBJECT", "ENCODING", "f"),
        ("HMSET", "g", "a", LONG), ("OBJECT", "ENCODING", "g"),
        ("HSET", "h", "x", "1"), ("HINCRBYFLOAT", "h", "y", "1e66"), ("OBJECT", "ENCODING", "h"),
        ("HSET", "i", "x", "1"), ("HINCRBY", "i", LONG, 1), ("OBJECT", "ENCODING", "i"),
        ("HSET", "j", "x", "1"), ("HINCRBYFLOAT", "j", LONG, 1), ("OBJECT", "ENCODING", "j"),
        ("HDEL", "c", "y"), ("OBJECT", "ENCODING", "c"), ("OBJECT", "ENCODING", "none"),
        ("COPY", "c", "c2"), ("OBJECT", "ENCODING", "c2"), ("COPY", "a", "a2"),
        ("OBJECT", "ENCODING", "a2"), ("HGETALL", "a2"),
    ]:
        diff.check(*argv)


def test_encodings_with_small_limits(small_listpacks: Any) -> None:
    diff = small_listpacks
    for argv in [
        ("HSET", "a", "x", "1", "y", "2"), ("OBJECT", "ENCODING", "a"),
        ("HSET", "a", "x", "3"), ("OBJECT", "ENCODING", "a"),
        ("HINCRBY", "a", "z", 1), ("OBJECT", "ENCODING", "a"), ("HDEL", "a", "x", "y"),
        ("OBJECT", "ENCODING", "a"),
        ("HSET", "b", "x", "1", "y", "2", "z", "3"), ("OBJECT", "ENCODING", "b"),
        ("HSET", "c", "x", "1"), ("HINCRBY", "c", "x", 100000000), ("OBJECT", "ENCODING", "c"),
        ("HSET", "d", "x", "1"), ("HINCRBYFLOAT", "d", "x", "0.0000001"),
        ("OBJECT", "ENCODING", "d"), ("HSET", "e", "123456789", "1"), ("OBJECT", "ENCODING", "e"),
        ("CONFIG", "SET", "hash-max-listpack-entries", 0), ("HSET", "f", "a", "1"),
        ("OBJECT", "ENCODING", "f"), ("HSETNX", "g", "a", "1"), ("OBJECT", "ENCODING", "g"),
        ("HINCRBY", "h", "a", 1), ("OBJECT", "ENCODING", "h"),
    ]:
        diff.check(*argv)
    for key in "abcdef":
        diff.check("HGETALL", key, normalise=pairs)


def test_listpack_order_is_exact(diff: Any) -> None:
    diff.check("HSET", "h", "z", "1", "a", "2", "m", "3", "b", "4")
    diff.check("HDEL", "h", "a")
    diff.check("HSET", "h", "a", "5", "z", "6")
    for argv in [("HGETALL", "h"), ("HKEYS", "h"), ("HVALS", "h"), ("HSCAN", "h", 0),
                 ("HSCAN", "h", 77, "COUNT", 1), ("HSCAN", "h", 0, "MATCH", "[am]"),
                 ("HRANDFIELD", "h", 4), ("HRANDFIELD", "h", 100, "WITHVALUES")]:
        diff.check(*argv)


def test_hashtable_order_compared_sorted(diff: Any) -> None:
    fields = [x for i in range(200) for x in (f"f{i}", f"v{i}")]
    diff.check("HSET", "h", *fields)
    diff.check("OBJECT", "ENCODING", "h")
    diff.check("HGETALL", "h", normalise=pairs)
    diff.check("HKEYS", "h", normalise=sorted_reply)
    diff.check("HVALS", "h", normalise=sorted_reply)
    diff.check("HRANDFIELD", "h", 500, "WITHVALUES", normalise=pairs)
    check_scan_all(diff, "h")
    check_scan_all(diff, "h", "COUNT", 7)
    check_scan_all(diff, "h", "MATCH", "f1*", "COUNT", 3)


def test_hrandfield(diff: Any) -> None:
    diff.check("HSET", "h", "a", "1", "b", "2", "c", "3")
    for argv in [
        ("HRANDFIELD", "none"), ("HRANDFIELD", "none", 2), ("HRANDFIELD", "none", -2, "WITHVALUES"),
        ("HRANDFIELD", "h", 0), ("HRANDFIELD", "h", 0, "WITHVALUES"), ("HRANDFIELD", "h", 3),
        ("HRANDFIELD", "h", 1, "x"), ("HRANDFIELD", "h", "x"), ("HRANDFIELD", "h", "1.5"),
        ("HRANDFIELD", "none", "x", "y"), ("HRANDFIELD", "h", 1, "WITHVALUES", "x"),
        ("HRANDFIELD", "h", str(-(2**63))), ("HRANDFIELD", "h", str(-(2**63)), "WITHVALUES"),
        ("HRANDFIELD", "h", str(-(2**62)), "WITHVALUES"), ("HRANDFIELD", "h", str(2**62), "WITHVALUES"),
        ("HRANDFIELD", "h", str(2**62 - 1), "WITHVALUES"), ("HRANDFIELD", "h", 4, b"withvalues\x00x"),
    ]:
        diff.check(*argv)
    full = {b"a": b"1", b"b": b"2", b"c": b"3"}
    for count in (1, 2):
        for reply in diff.run("HRANDFIELD", "h", count):
            assert len(reply) == count and len(set(reply)) == count and set(reply) <= set(full)
        for reply in diff.run("HRANDFIELD", "h", count, "WITHVALUES"):
            got = list(zip(reply[::2], reply[1::2]))
            assert len(got) == count and all(full[f] == v for f, v in got)
    for reply in diff.run("HRANDFIELD", "h", -7, "WITHVALUES"):
        got = list(zip(reply[::2], reply[1::2]))
        assert len(got) == 7 and all(full[f] == v for f, v in got)
    for reply in diff.run("HRANDFIELD", "h"):
        assert reply in full


def test_resp3_shapes(diff3: Differential) -> None:
    diff3.check("HSET", "h", "a", "1", "b", "2")
    for argv in [("HGETALL", "h"), ("HGETALL", "none"), ("HRANDFIELD", "h", 5, "WITHVALUES"),
                 ("HRANDFIELD", "h", 0, "WITHVALUES"), ("HRANDFIELD", "none", 1, "WITHVALUES"),
                 ("HSCAN", "h", 0), ("HKEYS", "h"), ("HMGET", "h", "a", "x"),
                 ("HINCRBYFLOAT", "h", "a", "2.5"), ("HRANDFIELD", "none")]:
        diff3.check(*argv)
    for reply in diff3.run("HRANDFIELD", "h", -3, "WITHVALUES"):
        assert len(reply) == 3 and all(isinstance(p, list) and len(p) == 2 for p in reply)


def test_hscan_options_and_errors(diff: Any) -> None:
    diff.check("HSET", "h", "a", "1", "b", "2")
    for argv in [
        ("HSCAN", "h", "x"), ("HSCAN", "h", "-1"), ("HSCAN", "h", str(2**64)),
        ("HSCAN", "h", str(2**64 - 1)), ("HSCAN", "h", 0, "COUNT", 0), ("HSCAN", "h", 0, "COUNT"),
        ("HSCAN", "h", 0, "COUNT", "x"), ("HSCAN", "h", 0, "MATCH"), ("HSCAN", "h", 0, "NOVALUES"),
        ("HSCAN", "h", 0, "TYPE", "hash"), ("HSCAN", "none", 0, "FOO"), ("HSCAN", "none", "x"),
        ("HSCAN", "h", 0, "MATCH", "a", "MATCH", "b"), ("HSCAN", "h"),
    ]:
        diff.check(*argv)


# -- random sequences ------------------------------------------------------------------------

KEYS = ["h1", "h2", "str"]
fields = st.sampled_from(["a", "b", "c", "1", "", "long" * 17, "x y"])
values = st.sampled_from(["1", "-2", "0", "1.5", "abc", "", "9223372036854775807", "1e3",
                          "v" * 70, " 3"])
field_values = st.lists(st.tuples(fields, values), min_size=1, max_size=3)
keys = st.sampled_from(KEYS + ["none"])
field_lists = st.lists(fields, min_size=1, max_size=4)

WEIGHTED: list[tuple[int, Any]] = [
    (5, st.tuples(st.sampled_from(["HSET", "HMSET"]), keys, field_values)),
    (2, st.tuples(st.just("HSETNX"), keys, fields, values)),
    (2, st.tuples(st.sampled_from(["HGET", "HEXISTS", "HSTRLEN"]), keys, fields)),
    (2, st.tuples(st.sampled_from(["HMGET", "HDEL"]), keys, field_lists)),
    (2, st.tuples(st.sampled_from(["HGETALL", "HKEYS", "HVALS", "HLEN"]), keys)),
    (3, st.tuples(st.just("HINCRBY"), keys, fields,
                  st.sampled_from(["1", "-1", "100", "x", "9223372036854775807", "1.5"]))),
    (3, st.tuples(st.just("HINCRBYFLOAT"), keys, fields,
                  st.sampled_from(["1", "-1.5", "0.1", "x", "inf", "1e300", "3e-2"]))),
    (1, st.tuples(st.just("HRANDFIELD"), keys, st.sampled_from(["", "0", "100", "x", "1 y",
                                                               "100 WITHVALUES"]))),
    (1, st.tuples(st.just("HSCAN"), keys, st.sampled_from(["", "MATCH a*", "COUNT 0"]))),
    (1, st.tuples(st.just("SET"), keys)),
    (1, st.tuples(st.sampled_from(["DEL", "EXISTS", "TYPE", "PERSIST", "TTL"]), keys)),
    (1, st.tuples(st.just("EXPIRE"), keys, st.sampled_from(["100", "0", "-1"]))),
    (1, st.tuples(st.sampled_from(["RENAME", "COPY"]), keys, keys)),
    (2, st.tuples(st.just("OBJECT"), keys)),
]
commands = weighted(WEIGHTED)


def _listpack(diff: Any, key: str) -> bool:
    return diff.real.call(b"OBJECT", b"ENCODING", key.encode()) != b"hashtable"


def run_random(diff: Any, op: tuple[Any, ...]) -> None:
    name = op[0]
    if name in ("HSET", "HMSET"):
        diff.check(name, op[1], *[x for pair in op[2] for x in pair])
    elif name in ("HMGET", "HDEL"):
        diff.check(name, op[1], *op[2])
    elif name in ("HGETALL", "HKEYS", "HVALS"):
        exact = _listpack(diff, op[1])
        diff.check(*op, normalise=None if exact else (pairs if name == "HGETALL" else sorted_reply))
    elif name == "HRANDFIELD":
        args = op[2].split()
        if args and args[0] == "100":  # the whole hash: its order when it is a listpack
            exact = _listpack(diff, op[1])
            diff.check(name, op[1], *args, normalise=None if exact else sorted_reply)
        elif args == []:
            ours, theirs = diff.run(name, op[1])
            assert type(ours) is type(theirs), f"{op}: gyre {ours!r} != redis {theirs!r}"
        else:
            diff.check(name, op[1], *args)
    elif name == "HSCAN":
        exact = _listpack(diff, op[1])
        if exact:
            diff.check(name, op[1], 0, *op[2].split())
        else:
            check_scan_all(diff, op[1], *op[2].split())
    elif name == "SET":
        diff.check("SET", op[1], "v")
    elif name == "OBJECT":
        diff.check("OBJECT", "ENCODING", op[1])
    else:
        diff.check(*op)


@settings(max_examples=500, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=st.lists(commands, min_size=5, max_size=40), resp3=st.booleans())
def test_random_sequences(diff: Any, diff3: Differential, ops: list[tuple[Any, ...]],
                          resp3: bool) -> None:
    d = diff3 if resp3 else diff
    d.reset()
    for op in ops:
        run_random(d, op)
    for key in KEYS:
        d.check("TYPE", key)
        d.check("OBJECT", "ENCODING", key)
        d.check("HGETALL", key, normalise=None if _listpack(d, key) else pairs)
