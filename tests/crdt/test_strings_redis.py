"""Differential tests: string, counter and bitmap commands against a real redis-server 7.0.

Each test runs the same commands on our engine and on Debian's redis-server
through the `diff` fixture and requires identical replies (error texts
included). TTLs are compared through PTTL with a tolerance, because the two
servers read the wall clock a few ms apart. A hypothesis-driven test plays
random sequences of these commands, with valid and invalid arguments and
expiry options (future times only, or times long past), on a few keys.

Wrong-type cases hold a list (RPUSH) under the key, on both servers, and
check that option and argument errors still come before the type check.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.redis

# PTTL replies of the two servers may differ by this much: the wall clock
# moves between the two calls, and EX rounds to whole seconds on each side.
TTL_TOLERANCE_MS = 1500
INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)


def now_s() -> int:
    return int(time.time())


def now_ms() -> int:
    return int(time.time() * 1000)


def check_ttl(diff: Any, key: bytes | str) -> None:
    """PTTL agrees: both -2, both -1, or both positive and within the tolerance."""
    ours, theirs = diff.run("PTTL", key)
    if ours < 0 or theirs < 0:
        assert ours == theirs, f"PTTL {key!r}: gyre {ours} != redis {theirs}"
    else:
        assert abs(ours - theirs) <= TTL_TOLERANCE_MS, f"PTTL {key!r}: gyre {ours} vs redis {theirs}"


def run_all(diff: Any, commands: list[tuple[Any, ...]]) -> None:
    for argv in commands:
        diff.check(*argv)


# --- GET / SET family ----------------------------------------------------------------------------

SET_OPTIONS: list[tuple[Any, ...]] = [
    (), ("NX",), ("XX",), ("GET",), ("NX", "GET"), ("XX", "GET"), ("KEEPTTL",), ("KEEPTTL", "GET"),
    ("EX", 100), ("PX", 100000), ("ex", 5, "GET"), ("NX", "PX", 2000), ("XX", "EX", 50),
    ("EX", 10, "EX", 20), ("NX", "NX"), ("GET", "GET"), ("KEEPTTL", "KEEPTTL"),
    ("EX", 0), ("EX", -1), ("PX", 0), ("EXAT", 0), ("PXAT", -5), ("EX", "abc"), ("PX", "1.5"),
    ("EX", INT64_MAX // 1000 + 1), ("EX", INT64_MAX // 1000), ("PX", INT64_MAX),
    ("EXAT", INT64_MAX // 1000), ("PXAT", INT64_MAX), ("EXAT", INT64_MAX // 1000 + 1),
    ("EX", 10, "PX", 10), ("KEEPTTL", "EX", 10), ("EX", 10, "KEEPTTL"), ("NX", "XX"), ("XX", "NX"),
    ("EX",), ("PXAT",), ("PERSIST",), ("FOO",), (b"ex\x00junk", 10), (b"nx\x00",), ("GET", "EX", 0),
    ("EXAT", 1), ("PXAT", 1, "GET"),
]


@pytest.mark.parametrize("options", SET_OPTIONS, ids=repr)
@pytest.mark.parametrize("existing", ["absent", "plain", "int", "ttl"])
def test_set_options(diff: Any, options: tuple[Any, ...], existing: str) -> None:
    if existing == "plain":
        diff.check("SET", "k", "old")
    elif existing == "int":
        diff.check("SET", "k", "12")
    elif existing == "ttl":
        diff.check("SET", "k", "old", "EX", 1000)
    diff.check("SET", "k", "new", *options)
    diff.check("GET", "k")
    check_ttl(diff, "k")


def test_set_with_absolute_times(diff: Any) -> None:
    diff.check("SET", "k", "v", "EXAT", now_s() + 100)
    check_ttl(diff, "k")
    diff.check("SET", "k", "w", "PXAT", now_ms() + 100_000, "GET")
    check_ttl(diff, "k")
    diff.check("SET", "k", "x", "KEEPTTL", "XX")
    check_ttl(diff, "k")
    diff.check("SET", "k", "y", "PXAT", 1, "GET")
    diff.check("GET", "k")


@pytest.mark.parametrize("commands", [
    [("SETNX", "k", "v"), ("SETNX", "k", "w"), ("GET", "k")],
    [("SETEX", "k", 100, "v"), ("GET", "k")],
    [("PSETEX", "k", 100000, "v"), ("GET", "k")],
    [("SETEX", "k", 0, "v"), ("SETEX", "k", -1, "v"), ("SETEX", "k", "x", "v"),
     ("PSETEX", "k", 0, "v"), ("PSETEX", "k", INT64_MAX, "v"), ("SETEX", "k", INT64_MAX // 1000, "v"),
     ("SETEX", "k", 1), ("GET", "k")],
    [("MSET", "a", "1", "b", "2"), ("MGET", "a", "b", "c", "a"), ("MSET", "a"), ("MSET", "a", "1", "b"),
     ("MSETNX", "c", "3", "a", "9"), ("MGET", "a", "c"), ("MSETNX", "c", "3", "d", "4"),
     ("MSETNX", "e", "1", "e", "2"), ("MGET", "c", "d", "e"), ("MSETNX", "x"), ("MGET",)],
    [("GETSET", "k", "v"), ("GETSET", "k", "w"), ("GET", "k"), ("GETDEL", "k"), ("GETDEL", "k"),
     ("GET", "k"), ("GETSET", "k"), ("GETDEL",)],
    [("APPEND", "k", "12"), ("OBJECT", "ENCODING", "k"), ("APPEND", "k", "34"), ("GET", "k"),
     ("OBJECT", "ENCODING", "k"), ("APPEND", "k", ""), ("STRLEN", "k"), ("STRLEN", "missing"),
     ("SET", "n", "5"), ("APPEND", "n", ""), ("OBJECT", "ENCODING", "n"), ("INCR", "n")],
    [("SET", "k", "Hello World"), ("SETRANGE", "k", 6, "Redis"), ("GET", "k"), ("SETRANGE", "k", 15, "!"),
     ("GET", "k"), ("SETRANGE", "n", 3, "ab"), ("GET", "n"), ("SETRANGE", "m", 100, ""), ("EXISTS", "m"),
     ("SETRANGE", "k", -1, "x"), ("SETRANGE", "k", "x", "y"), ("SETRANGE", "k", 536870912, "x"),
     ("SETRANGE", "k", 536870911, "xy"), ("SETRANGE", "k", 536870912, ""), ("SETRANGE", "z", 536870912, ""),
     ("SETRANGE", "z", INT64_MAX, "x"), ("SETRANGE", "k", 0, ""), ("OBJECT", "ENCODING", "k")],
])
def test_command_sequences(diff: Any, commands: list[tuple[Any, ...]]) -> None:
    run_all(diff, commands)


def test_setex_ttls(diff: Any) -> None:
    diff.check("SETEX", "k", 100, "v")
    check_ttl(diff, "k")
    diff.check("PSETEX", "p", 5000, "v")
    check_ttl(diff, "p")
    diff.check("GETSET", "k", "w")
    check_ttl(diff, "k")
    diff.check("SET", "a", "1", "EX", 100)
    diff.check("APPEND", "a", "2")
    diff.check("SETRANGE", "a", 0, "x")
    check_ttl(diff, "a")


def test_getex(diff: Any) -> None:
    diff.check("SET", "k", "v")
    diff.check("GETEX", "k")
    check_ttl(diff, "k")
    diff.check("GETEX", "k", "EX", 100)
    check_ttl(diff, "k")
    diff.check("GETEX", "k", "PX", 50_000)
    check_ttl(diff, "k")
    diff.check("GETEX", "k", "EXAT", now_s() + 300)
    check_ttl(diff, "k")
    diff.check("GETEX", "k", "PXAT", now_ms() + 7000)
    check_ttl(diff, "k")
    diff.check("GETEX", "k", "PERSIST")
    check_ttl(diff, "k")
    diff.check("GETEX", "k", "PERSIST", "PERSIST")
    diff.check("GETEX", "k", "EX", 1, "EX", 200)
    check_ttl(diff, "k")
    for bad in [("NX",), ("KEEPTTL",), ("GET",), ("EX",), ("EX", 1, "PX", 1), ("PERSIST", "EX", 1),
                ("EX", 0), ("PX", -1), ("EX", "a"), ("EX", INT64_MAX), ("FOO",)]:
        diff.check("GETEX", "k", *bad)
        diff.check("GETEX", "missing", *bad)
    diff.check("GETEX", "missing", "EX", 10)
    diff.check("GETEX", "k", "EXAT", 1)
    diff.check("GET", "k")
    diff.check("SET", "k", "v")
    diff.check("GETEX", "k", "PXAT", now_ms() - 10)
    diff.check("EXISTS", "k")


@pytest.mark.parametrize("start,end", [
    (0, 3), (-3, -1), (0, -1), (10, 100), (5, 3), (-100, -200), (-1, -3), (-100, 2), (-3, 100),
    (100, 200), (0, 0), (-1, -1), (2, -100), (INT64_MIN, INT64_MAX), (INT64_MAX, INT64_MIN),
    ("a", 1), (1, "b"), ("1.0", 2),
])
def test_getrange(diff: Any, start: Any, end: Any) -> None:
    diff.check("SET", "k", "This is a string")
    diff.check("SET", "e", "")
    for key in ("k", "e", "missing"):
        diff.check("GETRANGE", key, start, end)
        diff.check("SUBSTR", key, start, end)


# --- counters ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("stored", [
    None, b"0", b"-1", b"10", b"9223372036854775807", b"-9223372036854775808", b"9223372036854775806",
    b"", b"abc", b" 1", b"+1", b"01", b"-0", b"1.0", b"1e3", b"9223372036854775808", b"1" * 21,
])
def test_integer_counters(diff: Any, stored: bytes | None) -> None:
    argvs: list[tuple[Any, ...]] = [
        ("INCR", "n"), ("DECR", "n"), ("INCRBY", "n", 5), ("DECRBY", "n", 5), ("INCRBY", "n", INT64_MAX),
        ("INCRBY", "n", INT64_MIN), ("DECRBY", "n", INT64_MIN), ("DECRBY", "n", INT64_MAX),
        ("INCRBY", "n", "x"), ("INCRBY", "n", "+1"), ("INCRBY", "n", "01"), ("DECRBY", "n", ""),
        ("INCRBY", "n", "9223372036854775808"),
    ]
    for argv in argvs:
        if stored is not None:
            diff.check("SET", "n", stored, "EX", 1000)
        else:
            diff.check("DEL", "n")
        diff.check(*argv)
        diff.check("GET", "n")
        check_ttl(diff, "n")


# A counter INCRBY wrote is kept as a number (Redis's int encoding, a Python
# int here); every command that reads or edits a string must see its digits.
COUNTER_READERS: list[tuple[Any, ...]] = [
    ("GET", "n"), ("MGET", "n", "missing", "n"), ("STRLEN", "n"), ("TYPE", "n"),
    ("OBJECT", "ENCODING", "n"), ("OBJECT", "REFCOUNT", "n"), ("GETRANGE", "n", 1, -2),
    ("SUBSTR", "n", 0, 0), ("GETRANGE", "n", -100, 100), ("LCS", "n", "other"), ("LCS", "n", "n", "IDX"),
    ("GETBIT", "n", 3), ("BITCOUNT", "n"), ("BITPOS", "n", 0), ("EXISTS", "n"), ("KEYS", "n"),
    ("SORT", "ids", "BY", "w*"), ("SORT", "ids", "BY", "nosort", "GET", "w*", "GET", "#"),
]
COUNTER_WRITERS: list[tuple[Any, ...]] = [
    ("APPEND", "n", "7"), ("SETRANGE", "n", 1, "xy"), ("SETRANGE", "n", 30, "z"), ("SETBIT", "n", 1, 0),
    ("SETBIT", "n", 7, 1), ("SETBIT", "n", 100, 1), ("INCRBYFLOAT", "n", "0.5"),
    ("GETSET", "n", "v"), ("GETDEL", "n"), ("GETEX", "n", "PERSIST"), ("SET", "n", "v", "GET"),
    ("COPY", "n", "n2"), ("RENAME", "n", "n2"), ("MOVE", "n", 1),
    ("INCR", "n"), ("DECRBY", "n", -5),
]


@pytest.mark.parametrize("value", [0, 7, -7, 9999, 10000, 123456789, INT64_MAX, INT64_MIN])
def test_counters_read_as_text(diff: Any, value: int) -> None:
    diff.check("RPUSH", "ids", "a", "b", "c")
    diff.check("INCRBY", "wa", 5)
    diff.check("SET", "wb", "3")
    diff.check("INCRBY", "wc", -1)
    diff.check("SET", "other", "1234567890-")
    diff.check("INCRBY", "n", value)
    for argv in COUNTER_READERS:
        diff.check(*argv)
    diff.check("SCAN", 0, "TYPE", "string", normalise=lambda r: (r[0], sorted(r[1])))


@pytest.mark.parametrize("argv", COUNTER_WRITERS, ids=repr)
@pytest.mark.parametrize("value", [0, 42, -42, INT64_MIN])
@pytest.mark.parametrize("made_by", ["INCRBY", "SET"])
def test_counters_edited_as_text(diff: Any, argv: tuple[Any, ...], value: int, made_by: str) -> None:
    diff.check(made_by, "n", value)
    diff.check("EXPIRE", "n", 1000)
    diff.check(*argv)
    for key in ("n", "n2"):
        diff.check("GET", key)
        diff.check("OBJECT", "ENCODING", key)
        check_ttl(diff, key)
    diff.check("SELECT", 1)
    diff.check("GET", "n")
    diff.check("SELECT", 0)


@pytest.mark.parametrize("stored,incr", [
    (b"10.50", b"0.1"), (None, b"1"), (None, b"-0"), (b"-0", b"-0"), (b"5.0e3", b"2.0e2"), (b"3", b"1.5"),
    (None, b"0.1"), (None, b"-1e-30"), (None, b"1e-17"), (b"1", b"0x1p3"), (None, b"0x.8p1"),
    (None, b"0X1P-3"), (None, b".5"), (None, b"5."), (None, b"+1.25"), (None, b"1E2"), (b"1", b"1e-4940"),
    (None, b"123456789012345678901234567890"), (None, b"17179869184.1"), (b"1.23456789012345678901234", b"0"),
    (None, b"1.1e4932"), (None, b"-1e4500"), (b"1e4000", b"1"), (b"0.1", b"0.2"), (b"-3.5", b"3.5"),
    (None, b"3.0e-3"), (b"1.7976931348623157e308", b"1e308"), (None, b"2.2250738585072014e-308"),
    (None, b"abc"), (None, b""), (None, b" 1"), (None, b"1 "), (None, b"1e"), (None, b"."), (None, b"nan"),
    (None, b"0x"), (None, b"0x1p"), (None, b"1e5000"), (None, b"1.2e4932"), (None, b"1e-5000"),
    (None, b"1e-4951"), (None, b"1e999999999"), (None, b"0x1p20000"), (None, b"1" * 5119),
    (None, b"1" * 5120), (None, b"0" * 5118 + b"1"), (None, b"0" * 5119 + b"1"), (None, b"inf"), (None, b"-inf"), (None, b"Infinity"), (None, b"infinit"),
    (b"abc", b"1"), (b"", b"1"), (b"1e5000", b"1"), (b"inf", b"1"), (b" 1", b"1"), (b"1.1e4932", b"1.1e4932"),
])
def test_incrbyfloat(diff: Any, stored: bytes | None, incr: bytes) -> None:
    if stored is not None:
        diff.check("SET", "f", stored, "PX", 100_000)
    diff.check("INCRBYFLOAT", "f", incr)
    diff.check("GET", "f")
    check_ttl(diff, "f")


def test_incrbyfloat_accumulates(diff: Any) -> None:
    for incr in ["0.1"] * 12 + ["-0.3", "1e10", "1e-10", "-1e10", "3.14159", "2.5e-5", "-7"]:
        diff.check("INCRBYFLOAT", "f", incr)


# --- bits ------------------------------------------------------------------------------------------

def test_setbit_getbit(diff: Any) -> None:
    run_all(diff, [
        ("SETBIT", "k", 7, 1), ("GET", "k"), ("SETBIT", "k", 7, 1), ("SETBIT", "k", 0, 1), ("GET", "k"),
        ("SETBIT", "k", 100, 0), ("GET", "k"), ("STRLEN", "k"), ("OBJECT", "ENCODING", "k"),
        ("GETBIT", "k", 0), ("GETBIT", "k", 1), ("GETBIT", "k", 1000), ("GETBIT", "missing", 3),
        ("SETBIT", "k", -1, 1), ("SETBIT", "k", "x", 1), ("SETBIT", "k", 4294967296, 1),
        ("SETBIT", "k", 4294967295, 2), ("SETBIT", "k", 1, -1), ("SETBIT", "k", 1, "a"),
        ("GETBIT", "k", 4294967295), ("GETBIT", "k", 4294967296), ("GETBIT", "k", "+1"),
        ("SET", "s", "a"), ("SETBIT", "s", 9, 1), ("GET", "s"), ("OBJECT", "ENCODING", "s"),
        ("SET", "i", "12"), ("SETBIT", "i", 0, 0), ("INCR", "i"),
    ])


BIT_DATA = [b"", b"\x00", b"\xff", b"foobar", b"\xff\xf0\x00", b"\x00\x00\x01", b"\xff\xff\xff",
            b"\xc3\xbf\x00", b"\x80" + b"\x00" * 20 + b"\x01"]
RANGES: list[tuple[Any, ...]] = [
    (), (0,), (1,), (-1,), (-100,), (100,), (0, -1), (1, 1), (2, 1), (-100, -200), (-1, -3), (-3, -1),
    (0, 100), (-100, 100), (5, 30, "BIT"), (0, -1, "BIT"), (7, 15, "bit"), (-9, -1, "BIT"), (3, 3, "BIT"),
    (0, 0, "BYTE"), (1, -1, "byte"), (-100, -200, "BIT"), (INT64_MIN, INT64_MAX, "BIT"),
    (INT64_MIN, INT64_MAX), (1, 2, "BITS"), (0, -1, "BIT", "x"), ("a", 1), (1, "b"), ("a", 1, "FOO"),
    (1, "b", "FOO"), (0, -1, b"BIT\x00x"),
]


@pytest.mark.parametrize("data", BIT_DATA, ids=repr)
def test_bitcount_and_bitpos(diff: Any, data: bytes) -> None:
    diff.check("SET", "k", data)
    for rng in RANGES:
        diff.check("BITCOUNT", "k", *rng)
        diff.check("BITCOUNT", "missing", *rng)
        for bit in (0, 1):
            diff.check("BITPOS", "k", bit, *rng)
            diff.check("BITPOS", "missing", bit, *rng)
    for bad in ("2", "-1", "x", ""):
        diff.check("BITPOS", "k", bad)


BITOP_SOURCES = [b"", b"\x00", b"\xff", b"foobar", b"abcdef", b"\xff\xf0", b"\x01\x02\x03\x04\x05\x06\x07"]


@pytest.mark.parametrize("op", ["AND", "OR", "XOR", "NOT", "and", "Xor"])
def test_bitop_on_strings_of_every_length(diff: Any, op: str) -> None:
    for i, data in enumerate(BITOP_SOURCES):
        diff.check("SET", f"s{i}", data)
    pairs = [(a, b) for a in range(len(BITOP_SOURCES)) for b in range(len(BITOP_SOURCES))]
    for a, b in pairs:
        sources = [f"s{a}"] if op.upper() == "NOT" else [f"s{a}", f"s{b}", "missing"][: 2 + (a == b)]
        diff.check("BITOP", op, "dest", *sources)
        diff.check("GET", "dest")
        diff.check("OBJECT", "ENCODING", "dest")


def test_bitop_edges(diff: Any) -> None:
    run_all(diff, [
        # Counters and short strings are read as their text; three and more sources.
        ("INCRBY", "n", 12345), ("SET", "e", "ab"), ("BITOP", "OR", "d", "n", "e", "missing", "e"),
        ("GET", "d"), ("OBJECT", "ENCODING", "d"),
        ("BITOP", "XOR", "d", "n", "n"), ("GET", "d"), ("STRLEN", "d"),
        # The destination loses its TTL, and may be one of the sources.
        ("SET", "t", "xyz", "EX", 100), ("BITOP", "NOT", "t", "t"), ("GET", "t"), ("TTL", "t"),
        # Only missing or empty sources: the destination is deleted, 0 either way.
        ("SET", "d", "old"), ("BITOP", "AND", "d", "missing", "nothing"), ("EXISTS", "d"),
        ("BITOP", "AND", "d", "missing"), ("SET", "empty", ""), ("SET", "d", "old"),
        ("BITOP", "OR", "d", "empty"), ("EXISTS", "d"),
        # Errors, in Redis's order: operation, NOT's source count, then the sources' types.
        ("BITOP", "NAND", "d", "e"), ("BITOP", "NOT", "d", "e", "e"), ("BITOP", "NOT", "d", "e", "missing"),
        ("BITOP", b"and\x00x", "d", "e"), ("BITOP", "AND", "d"), ("BITOP", "AND"),
        ("RPUSH", "list", "x"), ("SET", "d", "keep"), ("BITOP", "AND", "d", "e", "list"), ("GET", "d"),
        ("BITOP", "NOT", "d", "list"), ("BITOP", "OR", "list", "e"), ("TYPE", "list"), ("GET", "list"),
        ("BITOP", "NAND", "d", "list"),
    ])


def test_bitfield_reads_and_writes(diff: Any) -> None:
    run_all(diff, [
        ("BITFIELD", "k"), ("BITFIELD", "k", "GET", "u8", 0), ("EXISTS", "k"),
        ("BITFIELD", "k", "SET", "i8", 0, 100, "GET", "u4", 0, "GET", "i4", 4, "GET", "u16", 0),
        ("GET", "k"), ("OBJECT", "ENCODING", "k"),
        ("BITFIELD", "k", "INCRBY", "i5", 100, 1, "GET", "u4", 0, "INCRBY", "u2", 102, 1), ("GET", "k"),
        ("BITFIELD", "k", "SET", "u8", "#2", 255, "GET", "u8", "#2", "GET", "u8", 16), ("STRLEN", "k"),
        ("BITFIELD", "k", "SET", "i64", 3, -1, "GET", "i64", 3, "GET", "u63", 4, "GET", "i1", 3),
        ("BITFIELD", "k", "GET", "i64", 100000, "GET", "u1", 7), ("STRLEN", "k"),
        ("BITFIELD", "k", "SET", "u1", 0, 1, "SET", "u1", 0, 0, "SET", "u1", 0, 1),
        ("BITFIELD_RO", "k", "GET", "u8", 0, "GET", "i16", 3),
        ("BITFIELD_RO", "missing", "GET", "u8", 0), ("BITFIELD_RO", "k"),
        # Reads of a shared string leave it as it was; any write makes it raw.
        ("SET", "s", "hello"), ("BITFIELD", "s", "GET", "u8", 8), ("OBJECT", "ENCODING", "s"),
        ("INCRBY", "c", 300), ("BITFIELD", "c", "GET", "u16", 0), ("OBJECT", "ENCODING", "c"),
        ("BITFIELD", "c", "INCRBY", "u8", 0, 0), ("OBJECT", "ENCODING", "c"), ("GET", "c"),
        # A write that fails still creates the key, zero-filled to the field's end.
        ("BITFIELD", "z", "OVERFLOW", "FAIL", "SET", "u4", 10, 99), ("GET", "z"),
        ("SET", "t", "abc", "EX", 100), ("BITFIELD", "t", "SET", "u8", 40, 1), ("TTL", "t"), ("GET", "t"),
    ])


OVERFLOW_CASES: list[tuple[Any, ...]] = [
    (t, off, v) for t in ("u8", "i8", "u1", "i1", "u63", "i64", "i2", "u31", "i33")
    for off in (0, 5)
    for v in (0, 1, -1, 127, 128, -128, -129, 255, 256, 2**31, -(2**31), INT64_MAX, INT64_MIN,
              INT64_MIN + 1, INT64_MIN + 127, INT64_MIN + 128, INT64_MAX - 127)
]


@pytest.mark.parametrize("overflow", ["WRAP", "SAT", "FAIL", "sat"])
def test_bitfield_overflow_matches_redis(diff: Any, overflow: str) -> None:
    """SET and INCRBY at and past every width's limits, each overflow policy (Redis's quirks too)."""
    for t, off, v in OVERFLOW_CASES:
        diff.check("BITFIELD", "k", "OVERFLOW", overflow, "SET", t, off, v, "GET", t, off)
        diff.check("BITFIELD", "k", "OVERFLOW", overflow, "INCRBY", t, off, v, "GET", t, off)
        diff.check("BITFIELD", "k", "OVERFLOW", overflow, "INCRBY", t, off, v)
    diff.check("GET", "k")


def test_bitfield_errors(diff: Any) -> None:
    run_all(diff, [
        ("SET", "k", "abc"),
        ("BITFIELD", "k", "GET", "u64", 0), ("BITFIELD", "k", "GET", "i65", 0), ("BITFIELD", "k", "GET", "i0", 0),
        ("BITFIELD", "k", "GET", "U8", 0), ("BITFIELD", "k", "GET", "i08", 0), ("BITFIELD", "k", "GET", "i", 0),
        ("BITFIELD", "k", "GET", "", 0), ("BITFIELD", "k", "GET", "u+8", 0), ("BITFIELD", "k", "GET", b"u8\x00x", 0),
        ("BITFIELD", "k", "GET", "u8", -1), ("BITFIELD", "k", "GET", "u8", "x"), ("BITFIELD", "k", "GET", "u8", "#"),
        ("BITFIELD", "k", "GET", "u8", "#-1"), ("BITFIELD", "k", "GET", "u8", 4294967296),
        ("BITFIELD", "k", "GET", "u8", 4294967295), ("BITFIELD", "k", "GET", "u8", "#536870911"),
        ("BITFIELD", "k", "GET", "u8", "#536870912"), ("BITFIELD", "k", "GET", "i64", "#2305843009213693952"),
        ("BITFIELD", "k", "GET", "u8", "+1"), ("BITFIELD", "k", "GET", "u8", "##1"),
        ("BITFIELD", "k", "SET", "u8", 0), ("BITFIELD", "k", "SET", "u8", 0, "x"),
        ("BITFIELD", "k", "SET", "u8", 0, "9223372036854775808"), ("BITFIELD", "k", "INCRBY", "u8", 0),
        ("BITFIELD", "k", "GET", "u8"), ("BITFIELD", "k", "OVERFLOW"), ("BITFIELD", "k", "OVERFLOW", "FOO"),
        ("BITFIELD", "k", "OVERFLOW", "SAT", "OVERFLOW", "WRAP"), ("BITFIELD", "k", "FOO", "u8", 0),
        ("BITFIELD", "k", "get", "u8", 0, "FOO"), ("BITFIELD", "k", "SET", "u8", 0, 1, "GET", "u64", 0),
        ("GET", "k"),  # a bad subcommand after a good SET: nothing ran
        ("BITFIELD_RO", "k", "SET", "u8", 0, 1), ("BITFIELD_RO", "k", "INCRBY", "u8", 0, 1, "GET", "u8", 0),
        ("BITFIELD_RO", "k", "OVERFLOW", "SAT"), ("BITFIELD_RO", "k", "GET", "u64", 0), ("GET", "k"),
        ("RPUSH", "list", "x"), ("BITFIELD", "list", "GET", "u8", 0), ("BITFIELD", "list"),
        ("BITFIELD", "list", "SET", "u8", 0, 1), ("BITFIELD_RO", "list", "GET", "u8", 0),
        ("BITFIELD", "list", "GET", "u64", 0), ("BITFIELD", "list", "SET", "u8", 0, 1, "OVERFLOW", "X"),
        ("BITFIELD", "list", "OVERFLOW", "SAT"), ("BITFIELD",), ("BITFIELD_RO",),
    ])


field_type_st = st.builds(lambda sign, bits: b"%s%d" % (sign, bits),
                          st.sampled_from([b"i", b"u"]), st.integers(1, 64))
field_offset_st = st.one_of(st.integers(0, 80).map(lambda i: b"%d" % i),
                            st.integers(0, 10).map(lambda i: b"#%d" % i))
field_value_st = st.one_of(
    st.integers(-300, 300), st.integers(INT64_MIN, INT64_MAX),
    st.sampled_from([INT64_MIN, INT64_MAX, 2**32, -(2**32), 2**62, -(2**62)]),
).map(lambda i: b"%d" % i)
bitfield_op_st = st.one_of(
    st.tuples(st.just(b"GET"), field_type_st, field_offset_st),
    st.tuples(st.sampled_from([b"SET", b"INCRBY"]), field_type_st, field_offset_st, field_value_st),
    st.tuples(st.just(b"OVERFLOW"), st.sampled_from([b"WRAP", b"SAT", b"FAIL"])),
)


@settings(max_examples=300, deadline=None, database=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(script=st.lists(st.tuples(st.sampled_from([b"BITFIELD", b"BITFIELD_RO"]),
                                 st.lists(bitfield_op_st, max_size=6)), min_size=1, max_size=8))
def test_random_bitfield_scripts(diff: Any, script: list[tuple[bytes, list[tuple[bytes, ...]]]]) -> None:
    """Random BITFIELD calls on one string (widths 1-64, u64 refused), compared reply by reply."""
    key = PREFIXES.next()(b"bf")
    diff.check(b"DEL", key)
    for name, ops in script:
        diff.check(name, key, *_flat(ops))
        diff.check(b"GET", key)


# --- LCS -------------------------------------------------------------------------------------------

LCS_OPTIONS: list[tuple[Any, ...]] = [
    (), ("LEN",), ("IDX",), ("IDX", "WITHMATCHLEN"), ("IDX", "MINMATCHLEN", 4), ("IDX", "MINMATCHLEN", 2),
    ("IDX", "MINMATCHLEN", -3, "WITHMATCHLEN"), ("idx", "minmatchlen", 1, "withmatchlen"),
    ("WITHMATCHLEN",), ("MINMATCHLEN", 3), ("LEN", "MINMATCHLEN", 3), ("IDX", "LEN"), ("LEN", "IDX"),
    ("MINMATCHLEN",), ("IDX", "MINMATCHLEN", "x"), ("FOO",), ("IDX", "IDX", "LEN"),
]


@pytest.mark.parametrize("a,b", [
    (b"ohmytext", b"mynewtext"), (b"", b"abc"), (b"abc", b""), (b"abcabcabc", b"cbacbacba"),
    (b"aaaa", b"aa"), (b"12345", b"54321"), (b"\x00\xff\x00", b"\xff\x00\xff"),
    (b"ACCGGTCGAGTGCGCGGAAGCCGGCCGAA", b"GTCGTTCGGAATGCCGTTGCTCTGTAAA"),
])
def test_lcs(diff: Any, a: bytes, b: bytes) -> None:
    diff.check("MSET", "a", a, "b", b)
    for options in LCS_OPTIONS:
        diff.check("LCS", "a", "b", *options)
        diff.check("LCS", "b", "a", *options)
        diff.check("LCS", "a", "missing", *options)


def test_lcs_random_strings(diff: Any) -> None:
    import random

    rng = random.Random(7)
    for _ in range(40):
        alphabet = rng.choice([b"ab", b"abc", b"abcdefgh"])
        a = bytes(rng.choice(alphabet) for _ in range(rng.randrange(0, 60)))
        b = bytes(rng.choice(alphabet) for _ in range(rng.randrange(0, 60)))
        diff.check("MSET", "a", a, "b", b)
        diff.check("LCS", "a", "b")
        diff.check("LCS", "a", "b", "IDX", "WITHMATCHLEN")
        diff.check("LCS", "a", "b", "IDX", "MINMATCHLEN", rng.randrange(0, 4))


def test_lcs_resp3_map(real_redis_port: int) -> None:
    from tests.differential import Differential

    d = Differential(real_redis_port, resp3=True)
    try:
        assert d.ours.session.resp3  # HELLO 3 took on our side
        d.check("MSET", "a", "ohmytext", "b", "mynewtext")
        d.check("LCS", "a", "b", "IDX", "WITHMATCHLEN")
        d.check("LCS", "a", "b", "IDX", "MINMATCHLEN", 5)
        d.check("LCS", "a", "b", "LEN")
    finally:
        d.close()


# --- random sequences -----------------------------------------------------------------------------

class Rel:
    """An argument resolved when the command is sent: an absolute time relative to now."""

    def __init__(self, unit_ms: int, offset: int) -> None:
        self.unit_ms = unit_ms
        self.offset = offset

    def resolve(self) -> bytes:
        return b"%d" % (now_ms() // self.unit_ms + self.offset)

    def __repr__(self) -> str:
        return f"Rel({self.unit_ms}, {self.offset})"


KEYS = [b"a", b"b", b"c", b"n", b"f"]
keys_st = st.sampled_from(KEYS)
values_st = st.one_of(
    st.sampled_from([b"", b"0", b"1", b"-1", b"10", b"10.5", b"9223372036854775807", b"-9223372036854775808",
                     b"abc", b"foobar", b"1e3", b" 1", b"+1", b"0x10", b"inf", b"\x00\xff", b"3.0e-3", b"-0"]),
    st.binary(max_size=10),
    st.integers(-(10**20), 10**20).map(lambda i: b"%d" % i),
)
ints_st = st.one_of(
    st.integers(-20, 40).map(lambda i: b"%d" % i),
    st.sampled_from([b"%d" % INT64_MAX, b"%d" % INT64_MIN, b"9223372036854775808", b"x", b"", b"1.5", b"+1"]),
)
floats_st = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False, width=64).map(lambda x: repr(x).encode()),
    st.sampled_from([b"0.1", b"-0.1", b"1e10", b"-0", b"inf", b"nan", b"abc", b"0x1p3", b"1e5000", b" 1", b"5."]),
    st.integers(-1000, 1000).map(lambda i: b"%d" % i),
)
# Only offsets that fail or stay small: a valid huge offset would build a 512 MB string.
offsets_st = st.one_of(
    st.integers(0, 100).map(lambda i: b"%d" % i),
    st.sampled_from([b"-1", b"x", b"4294967296", b"%d" % INT64_MAX]),
)
range_offsets_st = st.one_of(offsets_st, st.sampled_from([b"536870912", b"4294967295"]))
expire_st = st.one_of(
    st.tuples(st.sampled_from([b"EX", b"ex"]), st.integers(100, 10_000).map(lambda i: b"%d" % i)),
    st.tuples(st.just(b"PX"), st.integers(100_000, 10_000_000).map(lambda i: b"%d" % i)),
    st.tuples(st.just(b"EXAT"), st.integers(100, 10_000).map(lambda i: Rel(1000, i))),
    st.tuples(st.just(b"PXAT"), st.integers(100_000, 10_000_000).map(lambda i: Rel(1, i))),
    st.tuples(st.sampled_from([b"EXAT", b"PXAT"]), st.sampled_from([b"1", b"1000"])),  # long past
    st.tuples(st.sampled_from([b"EX", b"PX", b"EXAT", b"PXAT"]),
              st.sampled_from([b"0", b"-1", b"x", b"9223372036854775807"])),
    st.just((b"EX",)),
)
# A TTL either long enough that nothing expires during an example, or refused.
long_or_bad_ttl_st = st.one_of(
    st.integers(100, 100_000).map(lambda i: b"%d" % i),
    st.sampled_from([b"0", b"-1", b"x", b"", b"%d" % INT64_MAX, b"%d" % INT64_MIN, b"1.5"]),
)
set_option_st = st.one_of(
    st.sampled_from([(b"NX",), (b"XX",), (b"GET",), (b"KEEPTTL",), (b"PERSIST",), (b"FOO",)]),
    expire_st,
)
getex_option_st = st.one_of(st.sampled_from([(b"PERSIST",), (b"NX",), (b"KEEPTTL",)]), expire_st)
range_st = st.one_of(
    st.tuples(),
    st.tuples(ints_st),
    st.tuples(ints_st, ints_st),
    st.tuples(ints_st, ints_st, st.sampled_from([b"BIT", b"BYTE", b"bit", b"bits"])),
)


def _flat(parts: list[tuple[Any, ...]]) -> list[Any]:
    return [x for part in parts for x in part]


command_st = st.one_of(
    st.tuples(st.just(b"GET"), keys_st),
    st.builds(lambda k, v, opts: (b"SET", k, v, *_flat(opts)), keys_st, values_st,
              st.lists(set_option_st, max_size=3)),
    st.tuples(st.just(b"SETNX"), keys_st, values_st),
    st.tuples(st.just(b"SETEX"), keys_st, long_or_bad_ttl_st, values_st),
    st.tuples(st.just(b"PSETEX"), keys_st, long_or_bad_ttl_st.map(lambda t: t + b"000"), values_st),
    st.builds(lambda ks: (b"MGET", *ks), st.lists(keys_st, min_size=1, max_size=4)),
    st.builds(lambda kv: (b"MSET", *_flat(kv)), st.lists(st.tuples(keys_st, values_st), min_size=1, max_size=3)),
    st.builds(lambda kv: (b"MSETNX", *_flat(kv)), st.lists(st.tuples(keys_st, values_st), min_size=1, max_size=3)),
    st.tuples(st.just(b"APPEND"), keys_st, values_st),
    st.tuples(st.sampled_from([b"GETSET"]), keys_st, values_st),
    st.tuples(st.sampled_from([b"GETDEL", b"STRLEN"]), keys_st),
    st.builds(lambda k, opts: (b"GETEX", k, *_flat(opts)), keys_st, st.lists(getex_option_st, max_size=2)),
    st.tuples(st.just(b"SETRANGE"), keys_st, range_offsets_st, values_st),
    st.tuples(st.sampled_from([b"GETRANGE", b"SUBSTR"]), keys_st, ints_st, ints_st),
    st.builds(lambda a, b, opts: (b"LCS", a, b, *opts), keys_st, keys_st,
              st.lists(st.sampled_from([b"LEN", b"IDX", b"WITHMATCHLEN", b"MINMATCHLEN", b"2"]), max_size=3)),
    st.tuples(st.sampled_from([b"INCR", b"DECR"]), keys_st),
    st.tuples(st.sampled_from([b"INCRBY", b"DECRBY"]), keys_st, ints_st),
    st.tuples(st.just(b"INCRBYFLOAT"), keys_st, floats_st),
    st.tuples(st.just(b"SETBIT"), keys_st, offsets_st, st.sampled_from([b"0", b"1", b"2", b"x"])),
    st.tuples(st.just(b"GETBIT"), keys_st, range_offsets_st),
    st.builds(lambda k, r: (b"BITCOUNT", k, *r), keys_st, range_st),
    st.builds(lambda op, d, ks: (b"BITOP", op, d, *ks), st.sampled_from([b"AND", b"OR", b"XOR", b"NOT"]),
              keys_st, st.lists(keys_st, min_size=1, max_size=3)),
    st.builds(lambda k, ops: (b"BITFIELD", k, *_flat(ops)), keys_st, st.lists(bitfield_op_st, max_size=3)),
    st.builds(lambda k, b, r: (b"BITPOS", k, b, *r), keys_st, st.sampled_from([b"0", b"1", b"2"]),
              st.one_of(st.tuples(), st.tuples(ints_st), st.tuples(ints_st, ints_st),
                        st.tuples(ints_st, ints_st, st.sampled_from([b"BIT", b"BYTE", b"x"])))),
)


class Prefixed:
    """Each example gets its own key prefix, so no example sees another's keys."""

    def __init__(self) -> None:
        self.n = 0

    def next(self) -> Callable[[bytes], bytes]:
        self.n += 1
        prefix = b"h%d:" % self.n
        return lambda key: prefix + key


def _resolve(argv: tuple[Any, ...], name: Callable[[bytes], bytes]) -> list[bytes]:
    """Prefix key arguments and resolve relative times."""
    cmd = argv[0]
    key_positions: set[int]
    if cmd in (b"MGET",):
        key_positions = set(range(1, len(argv)))
    elif cmd in (b"MSET", b"MSETNX"):
        key_positions = set(range(1, len(argv), 2))
    elif cmd == b"LCS":
        key_positions = {1, 2}
    elif cmd == b"BITOP":
        key_positions = set(range(2, len(argv)))
    else:
        key_positions = {1}
    out: list[bytes] = []
    for i, arg in enumerate(argv):
        if isinstance(arg, Rel):
            out.append(arg.resolve())
        elif i in key_positions:
            out.append(name(arg))
        else:
            out.append(arg)
    return out


PREFIXES = Prefixed()


@settings(max_examples=600, deadline=None, database=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(commands=st.lists(command_st, min_size=1, max_size=25))
def test_random_sequences(diff: Any, commands: list[tuple[Any, ...]]) -> None:
    name = PREFIXES.next()
    for argv in commands:
        diff.check(*_resolve(argv, name))
    for key in KEYS:
        check_ttl(diff, name(key))
        diff.check(b"GET", name(key))


WRONGTYPE_ON_A_LIST = [
    ("GET", "l"), ("GETDEL", "l"), ("GETEX", "l", "EX", 10), ("GETSET", "l", "v"), ("STRLEN", "l"),
    ("APPEND", "l", "x"), ("GETRANGE", "l", 0, -1), ("SETRANGE", "l", 0, "x"), ("SET", "l", "v", "GET"),
    ("MGET", "l", "s"), ("INCR", "l"), ("DECRBY", "l", 2), ("INCRBYFLOAT", "l", "1.5"),
    ("INCRBY", "l", "x"), ("INCRBYFLOAT", "l", "x"), ("SETRANGE", "l", -1, "x"),
    ("SETBIT", "l", 0, 1), ("SETBIT", "l", 0, 2), ("GETBIT", "l", 0), ("BITCOUNT", "l"),
    ("BITPOS", "l", 1), ("BITPOS", "l", 3), ("BITOP", "AND", "d", "l", "s"), ("BITOP", "NOT", "d", "l"),
    ("BITFIELD", "l", "GET", "u8", 0), ("BITFIELD", "l", "GET", "u64", 0), ("BITFIELD_RO", "l", "GET", "i8", 0),
    ("LCS", "l", "s"), ("SETNX", "l", "v"), ("MSETNX", "l", "v", "s", "w"),
]


@pytest.mark.parametrize("argv", WRONGTYPE_ON_A_LIST, ids=repr)
def test_string_commands_on_a_list(diff: Any, argv: tuple[Any, ...]) -> None:
    diff.check("RPUSH", "l", "a", "b")
    diff.check("SET", "s", "text")
    diff.check(*argv)
    diff.check("LRANGE", "l", 0, -1)  # the list is untouched
    diff.check("EXISTS", "d")
