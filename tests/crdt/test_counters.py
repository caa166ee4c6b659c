"""Unit tests of the counter commands in crdt/commands/strings.py: INCR DECR INCRBY DECRBY INCRBYFLOAT.

Virtual time only; wrong-type cases make a real list with RPUSH.
"""

from __future__ import annotations

from fractions import Fraction

import pytest

from crdt.args import INT64_MAX, INT64_MIN, to_int
from crdt.errors import CommandError
from crdt.keyspace import encoding_of
from crdt.long_double import format_incr_float, parse_long_double
from tests.helpers import NOT_FLOAT, NOT_INTEGER, WRONGTYPE, EngineBox

T0 = 1_700_000_000_000
OVERFLOW = b"ERR increment or decrement would overflow"
NAN_INF = b"ERR increment would produce NaN or Infinity"


class Box(EngineBox):
    """An engine, a session and a clock that only moves when told (tests/helpers.py)."""


@pytest.fixture
def box() -> Box:
    return Box()


# --- INCR / DECR / INCRBY / DECRBY ---------------------------------------------------------

def test_incr_decr(box: Box) -> None:
    assert box("INCR", "n") == 1
    assert box("INCR", "n") == 2
    assert box("DECR", "n") == 1
    assert box("DECR", "m") == -1
    assert box("INCRBY", "n", 10) == 11
    assert box("DECRBY", "n", 20) == -9
    assert box("INCRBY", "n", -1) == -10
    assert box("DECRBY", "n", -10) == 0
    assert box("GET", "n") == b"0"
    assert type(box.db.lookup(b"n", box.now)) is int  # kept as a number, like Redis's int encoding
    assert encoding_of(box.db.lookup(b"n", box.now), box.engine.config) == b"int"


def test_incr_keeps_ttl(box: Box) -> None:
    box("SET", "n", "5", "PX", 1000)
    assert box("INCR", "n") == 6
    assert box.db.ttl_ms(b"n") == T0 + 1000
    box.now += 1001
    assert box("INCR", "n") == 1  # expired: starts again from 0, with no TTL
    assert box.db.ttl_ms(b"n") is None


def test_incr_on_in_place_string(box: Box) -> None:
    box("SET", "n", "1")
    box("APPEND", "n", "2")
    assert box("INCR", "n") == 13
    assert type(box.db.lookup(b"n", box.now)) is int


@pytest.mark.parametrize("stored", [
    b"", b"abc", b" 1", b"1 ", b"+1", b"01", b"-0", b"1.0", b"1e3", b"0x10",
    b"9223372036854775808", b"-9223372036854775809", b"1" * 21, b"\xd9\xa1", b"1_0",
])
def test_incr_refuses_non_canonical_integers(box: Box, stored: bytes) -> None:
    box.put(b"n", stored)
    assert box.err("INCR", "n") == NOT_INTEGER
    assert box.err("DECRBY", "n", 1) == NOT_INTEGER
    assert box("GET", "n") == stored


@pytest.mark.parametrize("stored", [b"0", b"-1", b"9223372036854775806", b"-9223372036854775807"])
def test_incr_accepts_canonical_integers(box: Box, stored: bytes) -> None:
    box.put(b"n", stored)
    assert box("INCR", "n") == int(stored) + 1


def test_overflow(box: Box) -> None:
    box.put(b"n", b"%d" % INT64_MAX)
    assert box.err("INCR", "n") == OVERFLOW
    assert box.err("INCRBY", "n", 1) == OVERFLOW
    assert box("INCRBY", "n", 0) == INT64_MAX
    assert box("INCRBY", "n", INT64_MIN) == -1
    box.put(b"n", b"%d" % INT64_MIN)
    assert box.err("DECR", "n") == OVERFLOW
    assert box.err("DECRBY", "n", 1) == OVERFLOW
    assert box.err("INCRBY", "n", -1) == OVERFLOW
    assert box("INCRBY", "n", INT64_MAX) == -1
    assert box("GET", "n") == b"-1"


def test_decrby_min_int(box: Box) -> None:
    decr = b"ERR decrement would overflow"
    assert box.err("DECRBY", "n", INT64_MIN) == decr
    box.put(b"s", b"text")
    assert box.err("DECRBY", "s", INT64_MIN) == decr  # before the value is read
    assert box("RPUSH", "l", "x") == 1
    assert box.err("DECRBY", "l", INT64_MIN) == decr
    assert box("DECRBY", "n", INT64_MAX) == -INT64_MAX


@pytest.mark.parametrize("amount", ["a", "1.5", "", " 1", "+1", "01", "9223372036854775808"])
def test_incrby_bad_amount(box: Box, amount: str) -> None:
    assert box.err("INCRBY", "n", amount) == NOT_INTEGER
    assert box.err("DECRBY", "n", amount) == NOT_INTEGER
    assert box("GET", "n") is None


def test_wrongtype_and_order(box: Box) -> None:
    assert box("RPUSH", "l", "x") == 1
    for cmd in (("INCR", "l"), ("DECR", "l"), ("INCRBY", "l", 1), ("DECRBY", "l", 1)):
        assert box.err(*cmd) == WRONGTYPE
    # INCRBY parses its increment before it looks at the key.
    assert box.err("INCRBY", "l", "x") == NOT_INTEGER


def test_arity(box: Box) -> None:
    assert box.err("INCR") == b"ERR wrong number of arguments for 'incr' command"
    assert box.err("INCRBY", "n") == b"ERR wrong number of arguments for 'incrby' command"
    assert box.err("DECR", "a", "b") == b"ERR wrong number of arguments for 'decr' command"


def test_counters_signal_writes(box: Box) -> None:
    changes = box.db.changes
    box("INCR", "n")
    box("INCRBYFLOAT", "n", "1.5")
    assert box.db.changes == changes + 2
    box.err("INCRBY", "n", 1)
    assert box.db.changes == changes + 2


# --- INCRBYFLOAT ------------------------------------------------------------------------------

@pytest.mark.parametrize("start,incr,expected", [
    (b"10.50", b"0.1", b"10.6"),
    (None, b"1", b"1"),
    (None, b"-0", b"0"),
    (b"-0", b"-0", b"0"),
    (b"5.0e3", b"2.0e2", b"5200"),
    (b"3", b"1.5", b"4.5"),
    (None, b"0.1", b"0.1"),
    (None, b"-1e-30", b"0"),
    (None, b"1e-17", b"0.00000000000000001"),
    (b"1", b"0x1p3", b"9"),
    (None, b"0x.8p1", b"1"),
    (None, b"0X1P-3", b"0.125"),
    (None, b".5", b"0.5"),
    (None, b"5.", b"5"),
    (None, b"+1.25", b"1.25"),
    (None, b"1E2", b"100"),
    (b"1", b"1e-4940", b"1"),
    (None, b"123456789012345678901234567890", b"123456789012345678899921813504"),
    (b"17179869184", b"1.5", b"17179869185.5"),
    (None, b"0" * 5118 + b"1", b"1"),  # 5119 characters: the longest text strtold gets
    (None, b"17179869184.1", b"17179869184.09999999962747097"),
    (b"17179869184.09999999962747097", b"0.3", b"17179869184.40000000037252903"),
    (b"1.23456789012345678901234", b"0", b"1.23456789012345679"),
])
def test_incrbyfloat_values(box: Box, start: bytes | None, incr: bytes, expected: bytes) -> None:
    if start is not None:
        box.put(b"f", start)
    assert box("INCRBYFLOAT", "f", incr) == expected
    assert box("GET", "f") == expected


def test_incrbyfloat_repeated_tenths(box: Box) -> None:
    for _ in range(10):
        box("INCRBYFLOAT", "f", "0.1")
    assert box("GET", "f") == b"1"


def test_incrbyfloat_keeps_ttl(box: Box) -> None:
    box("SET", "f", "1", "EX", 100)
    assert box("INCRBYFLOAT", "f", "0.5") == b"1.5"
    assert box.db.ttl_ms(b"f") == T0 + 100_000


@pytest.mark.parametrize("incr", [
    b"abc", b"", b" 1", b"1 ", b"1e", b".", b"-.e1", b"nan", b"-nan", b"NaN", b"0x", b"0x1p",
    b"1e5000", b"1.2e4932", b"-1.2e4932", b"1e-5000", b"1e-4951", b"1e999999999", b"0x1p20000",
    b"0x1p-20000", b"1" * 5119, b"1" * 5120, b"0." + b"0" * 5000 + b"1", b"1,5", b"infinit",
    b"1" + b"0" * 20000, b"0" * 5119 + b"1",
])
def test_incrbyfloat_bad_increment(box: Box, incr: bytes) -> None:
    box.put(b"f", b"1")
    assert box.err("INCRBYFLOAT", "f", incr) == NOT_FLOAT
    assert box("GET", "f") == b"1"


@pytest.mark.parametrize("incr", [b"inf", b"-inf", b"+INF", b"Infinity", b"-infinity"])
def test_incrbyfloat_infinity(box: Box, incr: bytes) -> None:
    assert box.err("INCRBYFLOAT", "f", incr) == NAN_INF
    assert box("GET", "f") is None


def test_incrbyfloat_overflow_of_the_sum(box: Box) -> None:
    box("INCRBYFLOAT", "f", "1.1e4932")
    assert box.err("INCRBYFLOAT", "f", "1.1e4932") == NAN_INF


def test_incrbyfloat_huge_values_print_in_full(box: Box) -> None:
    reply = box("INCRBYFLOAT", "f", "1.1e4932")
    assert len(reply) == 4933 and reply.startswith(b"10999999999999999999743731075")
    assert box("INCRBYFLOAT", "f", "-1.1e4932") == b"0"
    assert box("INCRBYFLOAT", "g", "-1e4500").startswith(b"-99999999999999999999559257859368")


@pytest.mark.parametrize("stored", [b"abc", b"", b"1e5000", b"1e-5000", b" 1", b"nan", b"inf"])
def test_incrbyfloat_bad_stored_value(box: Box, stored: bytes) -> None:
    box.put(b"f", stored)
    reply = box.err("INCRBYFLOAT", "f", "1")
    assert reply == (NAN_INF if stored == b"inf" else NOT_FLOAT)
    assert box("GET", "f") == stored


def test_incrbyfloat_wrongtype_before_increment(box: Box) -> None:
    assert box("RPUSH", "l", "x") == 1
    assert box.err("INCRBYFLOAT", "l", "abc") == WRONGTYPE
    box.put(b"s", b"x")
    assert box.err("INCRBYFLOAT", "s", "abc") == NOT_FLOAT
    assert box.err("INCRBYFLOAT", "f") == b"ERR wrong number of arguments for 'incrbyfloat' command"


def test_parse_long_double_is_exact() -> None:
    assert parse_long_double(b"0.5") == Fraction(1, 2)
    assert parse_long_double(b"-0x10") == -16
    assert parse_long_double(bytearray(b"2")) == 2
    # 0.1 rounded to a 64-bit mantissa, not to a double's 53 bits.
    assert parse_long_double(b"0.1") != Fraction(0.1)
    tenth = parse_long_double(b"0.1")
    assert isinstance(tenth, Fraction)
    assert abs(tenth - Fraction(1, 10)) < Fraction(1, 2**67)
    with pytest.raises(CommandError):
        parse_long_double(b"nan")


def test_format_incr_float_large() -> None:
    assert format_incr_float(Fraction(10**4100)) == b"1" + b"0" * 4100
    assert format_incr_float(Fraction(-(10**4100) - 7)) == b"-1" + b"0" * 4099 + b"7"
    assert format_incr_float(Fraction(3, 2)) == b"1.5"


@pytest.mark.parametrize(("raw", "value"), [
    (b"0", 0), (b"7", 7), (b"-1", -1), (b"1234567890123456789", 1234567890123456789),
    (b"9223372036854775807", INT64_MAX), (b"-9223372036854775808", INT64_MIN),
    (bytearray(b"42"), 42),
])
def test_to_int_reads_what_string2ll_reads(raw: bytes, value: int) -> None:
    assert to_int(raw) == value


@pytest.mark.parametrize("raw", [
    b"", b"00", b"01", b"007", b"-0", b"+1", b" 1", b"1 ", b"1.0", b"1e3", b"\xd9\xa1",
    b"9223372036854775808", b"-9223372036854775809", b"1" * 21, b"0" * 18 + b"1",
])
def test_to_int_refuses_what_string2ll_refuses(raw: bytes) -> None:
    with pytest.raises(CommandError) as info:
        to_int(raw)
    assert info.value.text == NOT_INTEGER
