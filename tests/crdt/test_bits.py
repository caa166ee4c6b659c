"""Unit tests of crdt/commands/bits.py and crdt/commands/bitfield.py: SETBIT GETBIT BITCOUNT BITPOS BITOP
BITFIELD BITFIELD_RO, on virtual time.

Wrong-type cases make a real list with RPUSH. Random
ranges are checked against a naive bit-by-bit model of Redis's rules.
"""

from __future__ import annotations

import random

import pytest

from crdt.keyspace import encoding_of
from tests.helpers import EngineBox, NOT_INTEGER, SYNTAX, WRONGTYPE

T0 = 1_700_000_000_000
BIT_OFFSET = b"ERR bit offset is not an integer or out of range"
BIT_VALUE = b"ERR bit is not an integer or out of range"
BITPOS_BIT = b"ERR The bit argument must be 1 or 0."
MAX_BULK = 512 * 1024 * 1024


class Box(EngineBox):
    """An engine, a session and a clock that only moves when told (tests/helpers.py)."""


@pytest.fixture
def box() -> Box:
    return Box()


# --- SETBIT / GETBIT ----------------------------------------------------------------------------

def test_setbit_getbit(box: Box) -> None:
    assert box("SETBIT", "k", 7, 1) == 0
    assert box("GET", "k") == b"\x01"
    assert box("SETBIT", "k", 7, 1) == 1
    assert box("SETBIT", "k", 0, 1) == 0
    assert box("GET", "k") == b"\x81"
    assert box("SETBIT", "k", 7, 0) == 1
    assert box("GET", "k") == b"\x80"
    assert box("GETBIT", "k", 0) == 1
    assert box("GETBIT", "k", 1) == 0
    assert box("GETBIT", "k", 100) == 0
    assert box("GETBIT", "missing", 5) == 0


def test_setbit_grows_with_zeros_and_is_raw(box: Box) -> None:
    assert box("SETBIT", "k", 23, 0) == 0
    assert box("GET", "k") == b"\x00\x00\x00"
    assert encoding_of(box.db.lookup(b"k", box.now), box.engine.config) == b"raw"
    box("SET", "s", "a")  # 0x61
    assert box("SETBIT", "s", 9, 1) == 0
    assert box("GET", "s") == b"a\x40"
    assert type(box.db.lookup(b"s", box.now)) is bytearray


def test_setbit_keeps_ttl(box: Box) -> None:
    box("SET", "k", "a", "PX", 700)
    box("SETBIT", "k", 0, 1)
    assert box.db.ttl_ms(b"k") == T0 + 700
    assert box("GET", "k") == b"\xe1"


def test_setbit_noop_does_not_signal(box: Box) -> None:
    box("SET", "k", "a")
    changes = box.db.changes
    assert box("SETBIT", "k", 1, 1) == 1  # already set
    assert box("SETBIT", "k", 0, 0) == 0  # already clear
    assert box.db.changes == changes
    assert box("SETBIT", "k", 0, 1) == 0
    assert box("SETBIT", "k", 100, 0) == 0  # grows: a change
    assert box.db.changes == changes + 2


@pytest.mark.parametrize("offset", ["-1", "abc", "1.5", "", "+1", str(MAX_BULK * 8),
                                    "9223372036854775807", "99999999999999999999"])
def test_bit_offset_errors(box: Box, offset: str) -> None:
    assert box.err("SETBIT", "k", offset, 1) == BIT_OFFSET
    assert box.err("GETBIT", "k", offset) == BIT_OFFSET


def test_largest_bit_offset(box: Box) -> None:
    assert box("GETBIT", "k", MAX_BULK * 8 - 1) == 0
    box.engine.config.set([(b"proto-max-bulk-len", b"1048576")])
    assert box.err("GETBIT", "k", 1048576 * 8) == BIT_OFFSET
    assert box("SETBIT", "k", 1048576 * 8 - 1, 1) == 0
    assert box("STRLEN", "k") == 1048576


@pytest.mark.parametrize("value", ["2", "-1", "a", "", "1.0", "01"])
def test_setbit_value_errors(box: Box, value: str) -> None:
    assert box.err("SETBIT", "k", 0, value) == BIT_VALUE
    assert box("GET", "k") is None


def test_bit_wrongtype_and_order(box: Box) -> None:
    assert box("RPUSH", "l", "x") == 1
    assert box.err("SETBIT", "l", 0, 1) == WRONGTYPE
    assert box.err("GETBIT", "l", 0) == WRONGTYPE
    assert box.err("GETBIT", "l", "x") == BIT_OFFSET  # the offset is parsed first
    assert box.err("SETBIT", "l", 0, 5) == BIT_VALUE
    assert box.err("SETBIT", "k", 0) == b"ERR wrong number of arguments for 'setbit' command"


# --- BITCOUNT --------------------------------------------------------------------------------------

def test_bitcount_basics(box: Box) -> None:
    box("SET", "k", "foobar")
    assert box("BITCOUNT", "k") == 26
    assert box("BITCOUNT", "k", 0, 0) == 4
    assert box("BITCOUNT", "k", 1, 1) == 6
    assert box("BITCOUNT", "k", 1, 1, "BYTE") == 6
    assert box("BITCOUNT", "k", 5, 30, "BIT") == 17
    assert box("BITCOUNT", "k", 5, 30, "bit") == 17
    assert box("BITCOUNT", "missing") == 0
    box("SET", "e", "")
    assert box("BITCOUNT", "e") == 0
    assert box("BITCOUNT", "e", 0, -1, "BIT") == 0


def test_bitcount_missing_key_ignores_arguments(box: Box) -> None:
    assert box("BITCOUNT", "missing", 1) == 0
    assert box("BITCOUNT", "missing", "a", "b") == 0
    assert box("BITCOUNT", "missing", 1, 2, "FOO", "BAR") == 0


def test_bitcount_errors(box: Box) -> None:
    box("SET", "k", "foobar")
    assert box.err("BITCOUNT", "k", 1) == SYNTAX
    assert box.err("BITCOUNT", "k", 1, 2, 3, 4) == SYNTAX
    assert box.err("BITCOUNT", "k", "a", 1) == NOT_INTEGER
    assert box.err("BITCOUNT", "k", 1, "b") == NOT_INTEGER
    assert box.err("BITCOUNT", "k", 0, -1, "bits") == SYNTAX
    assert box.err("BITCOUNT", "k", "a", 1, "bits") == NOT_INTEGER  # numbers before the unit
    assert box("RPUSH", "l", "x") == 1
    assert box.err("BITCOUNT", "l", "a") == WRONGTYPE
    assert box.err("BITCOUNT") == b"ERR wrong number of arguments for 'bitcount' command"


def test_bitcount_unit_stops_at_nul(box: Box) -> None:
    box("SET", "k", "foobar")
    assert box("BITCOUNT", "k", 5, 30, b"BIT\x00x") == 17


# --- BITPOS ----------------------------------------------------------------------------------------

def test_bitpos_basics(box: Box) -> None:
    box.put(b"k", b"\xff\xf0\x00")
    assert box("BITPOS", "k", 0) == 12
    assert box("BITPOS", "k", 1) == 0
    assert box("BITPOS", "k", 1, 2) == -1
    assert box("BITPOS", "k", 0, 2) == 16
    assert box("BITPOS", "k", 1, 7, 15, "BIT") == 7
    assert box("BITPOS", "k", 0, 7, 15, "bit") == 12
    box.put(b"z", b"\x00\x00\x00")
    assert box("BITPOS", "z", 1) == -1
    assert box("BITPOS", "z", 0) == 0


def test_bitpos_clear_bit_past_the_end(box: Box) -> None:
    box.put(b"k", b"\xff\xff\xff")
    assert box("BITPOS", "k", 0) == 24  # no end given: zeros continue on the right
    assert box("BITPOS", "k", 0, 1) == 24
    assert box("BITPOS", "k", 0, 0, -1) == -1  # an explicit end: not found
    assert box("BITPOS", "k", 0, 0, 2) == -1
    assert box("BITPOS", "k", 0, 8, -1, "BIT") == -1
    assert box("BITPOS", "k", 0, 8, 100, "BIT") == -1
    assert box("BITPOS", "k", 0, 8) == -1  # start past the end: empty range


def test_bitpos_missing_and_empty(box: Box) -> None:
    assert box("BITPOS", "missing", 0) == 0
    assert box("BITPOS", "missing", 1) == -1
    assert box("BITPOS", "missing", 1, "junk", "args", "here", "too") == -1
    box.put(b"e", b"")
    assert box("BITPOS", "e", 0) == -1
    assert box("BITPOS", "e", 1) == -1
    assert box("BITPOS", "e", 0, 0) == -1


def test_bitpos_negative_ranges(box: Box) -> None:
    box.put(b"k", b"\xc3\xbf\x00")
    assert box("BITPOS", "k", 0, -100, -200) == 2
    assert box("BITPOS", "k", 1, -100, -200) == 0
    assert box("BITPOS", "k", 0, 2, 1) == -1
    assert box("BITPOS", "k", 1, -1) == -1
    assert box("BITPOS", "k", 0, -1) == 16
    assert box("BITPOS", "k", 1, -9, -1, "BIT") == 15


def test_bitpos_errors(box: Box) -> None:
    box.put(b"k", b"abc")
    assert box.err("BITPOS", "k", 2) == BITPOS_BIT
    assert box.err("BITPOS", "missing", -1) == BITPOS_BIT
    assert box.err("BITPOS", "k", "x") == NOT_INTEGER
    assert box.err("BITPOS", "k", 1, "a") == NOT_INTEGER
    assert box.err("BITPOS", "k", 1, 0, "b") == NOT_INTEGER
    assert box.err("BITPOS", "k", 1, 0, -1, "bits") == SYNTAX
    assert box.err("BITPOS", "k", 1, 0, -1, "bit", "x") == SYNTAX
    assert box.err("BITPOS", "k", 1, 0, "x", "bits") == SYNTAX  # the unit before the end
    assert box("RPUSH", "l", "x") == 1
    assert box.err("BITPOS", "l", 1, "a") == WRONGTYPE
    assert box.err("BITPOS", "l", 3) == BITPOS_BIT
    assert box.err("BITPOS", "k") == b"ERR wrong number of arguments for 'bitpos' command"


# --- random ranges against a bit-by-bit model ----------------------------------------------------

def _bits(data: bytes) -> list[int]:
    return [(byte >> (7 - k)) & 1 for byte in data for k in range(8)]


def _resolve(start: int, end: int, total: int) -> tuple[int, int]:
    if start < 0:
        start = max(start + total, 0)
    if end < 0:
        end = max(end + total, 0)
    return start, min(end, total - 1)


def model_bitcount(data: bytes, start: int, end: int, in_bits: bool) -> int:
    total = len(data) * 8 if in_bits else len(data)
    if start < 0 and end < 0 and start > end:
        return 0
    start, end = _resolve(start, end, total)
    if start > end:
        return 0
    lo, hi = (start, end) if in_bits else (start * 8, end * 8 + 7)
    return sum(_bits(data)[lo:hi + 1])


def model_bitpos(data: bytes, bit: int, start: int, end: int | None, in_bits: bool) -> int:
    total = len(data) * 8 if in_bits else len(data)
    start, last = _resolve(start, total - 1 if end is None else end, total)
    if start > last:
        return -1
    lo, hi = (start, last) if in_bits else (start * 8, last * 8 + 7)
    bits = _bits(data)
    for i in range(lo, hi + 1):
        if bits[i] == bit:
            return i
    if bit == 1 or end is not None:
        return -1
    return (hi // 8 + 1) * 8


@pytest.mark.parametrize("seed", range(30))
def test_ranges_match_model(box: Box, seed: int) -> None:
    rng = random.Random(seed)
    data = bytes(rng.choice((0, 0xFF, rng.randrange(256))) for _ in range(rng.randrange(0, 12)))
    box.put(b"k", data)
    for _ in range(60):
        start, end = rng.randrange(-100, 100), rng.randrange(-100, 100)
        unit = rng.choice(("BYTE", "BIT"))
        in_bits = unit == "BIT"
        assert box("BITCOUNT", "k", start, end, unit) == model_bitcount(data, start, end, in_bits)
        bit = rng.randrange(2)
        assert box("BITPOS", "k", bit, start, end, unit) == model_bitpos(data, bit, start, end, in_bits)
        assert box("BITPOS", "k", bit, start) == model_bitpos(data, bit, start, None, False)
    assert box("BITCOUNT", "k") == sum(_bits(data))
    for bit in (0, 1):
        expected = -1 if not data else model_bitpos(data, bit, 0, None, False)
        assert box("BITPOS", "k", bit) == expected


def test_bitpos_long_runs(box: Box) -> None:
    data = b"\x00" * 5000 + b"\x01" + b"\xff" * 5000 + b"\xfe"
    box.put(b"k", data)
    assert box("BITPOS", "k", 1) == 5000 * 8 + 7
    assert box("BITPOS", "k", 0, 5001) == 10001 * 8 + 7
    assert box("BITPOS", "k", 0, 5001, 10000) == -1
    assert box("BITCOUNT", "k") == 1 + 5000 * 8 + 7


def test_in_place_strings(box: Box) -> None:
    box("SETBIT", "k", 9, 1)  # a bytearray value: b"\x00\x40"
    box("SETBIT", "k", 31, 1)
    assert type(box.db.lookup(b"k", box.now)) is bytearray
    assert box("BITCOUNT", "k") == 2
    assert box("BITCOUNT", "k", 1, -1) == 2
    assert box("BITCOUNT", "k", 10, 31, "BIT") == 1
    assert box("BITPOS", "k", 1) == 9
    assert box("BITPOS", "k", 1, 2) == 31
    assert box("BITPOS", "k", 0, 0, -1, "BIT") == 0
    assert box("GETBIT", "k", 31) == 1
    assert box("GET", "k") == b"\x00\x40\x00\x01"


# --- BITOP -----------------------------------------------------------------------------------------

def test_bitop_documented_example(box: Box) -> None:
    box("SET", "key1", "foobar")
    box("SET", "key2", "abcdef")
    assert box("BITOP", "AND", "dest", "key1", "key2") == 6
    assert box("GET", "dest") == b"`bc`ab"
    assert encoding_of(box.db.lookup(b"dest", box.now), box.engine.config) == b"raw"


def test_bitop_pads_shorter_sources_with_zeros(box: Box) -> None:
    box("SET", "a", b"\xff\xff\xff")
    box("SET", "b", b"\x0f")
    assert box("BITOP", "AND", "d", "a", "b", "missing") == 3
    assert box("GET", "d") == b"\x00\x00\x00"
    assert box("BITOP", "AND", "d", "a", "b") == 3
    assert box("GET", "d") == b"\x0f\x00\x00"
    assert box("BITOP", "OR", "d", "b", "missing") == 1
    assert box("GET", "d") == b"\x0f"
    assert box("BITOP", "XOR", "d", "a", "b", "a") == 3
    assert box("GET", "d") == b"\x0f\x00\x00"
    assert box("BITOP", "NOT", "d", "b") == 1
    assert box("GET", "d") == b"\xf0"


def test_bitop_replaces_ttl_and_deletes_on_empty_result(box: Box) -> None:
    box("SET", "d", "x", "PX", 500)
    box("SET", "a", "ab")
    assert box("BITOP", "OR", "d", "a") == 2
    assert box.db.ttl_ms(b"d") is None
    assert box("BITOP", "OR", "d", "missing", "nope") == 0
    assert box("EXISTS", "d") == 0


def test_bitop_errors_leave_the_destination(box: Box) -> None:
    assert box("RPUSH", "l", "x") == 1
    box("SET", "d", "keep")
    assert box.err("BITOP", "NAND", "d", "l") == SYNTAX
    assert box.err("BITOP", "NOT", "d", "a", "b") == b"ERR BITOP NOT must be called with a single source key."
    assert box.err("BITOP", "AND", "d", "d", "l") == WRONGTYPE
    assert box("GET", "d") == b"keep"


# --- BITFIELD --------------------------------------------------------------------------------------

def test_bitfield_documented_examples(box: Box) -> None:
    assert box("BITFIELD", "k", "INCRBY", "i5", 100, 1, "GET", "u4", 0) == [1, 0]
    replies = [box("BITFIELD", "s", "INCRBY", "u2", 100, 1, "OVERFLOW", "SAT", "INCRBY", "u2", 102, 1)
               for _ in range(4)]
    assert replies == [[1, 1], [2, 2], [3, 3], [0, 3]]
    assert [box("BITFIELD", "f", "OVERFLOW", "FAIL", "INCRBY", "u2", 102, 1)[0] for _ in range(4)] \
        == [1, 2, 3, None]


def test_bitfield_set_returns_old_value_and_wraps(box: Box) -> None:
    assert box("BITFIELD", "k", "SET", "i8", 0, 200) == [0]  # 200 wraps to -56
    assert box("BITFIELD", "k", "GET", "i8", 0, "GET", "u8", 0) == [-56, 200]
    assert box("BITFIELD", "k", "OVERFLOW", "SAT", "SET", "i8", 0, 200, "GET", "i8", 0) == [-56, 127]
    assert box("BITFIELD", "k", "SET", "u8", "#1", 7, "GET", "u16", 0) == [0, 127 * 256 + 7]


def test_bitfield_saturation_follows_redis_int64_arithmetic(box: Box) -> None:
    # Redis computes max - value in 64 bits: for the lowest int64 values it wraps
    # negative, and the SET is taken as an overflow upwards (saturating to max).
    low = -(2**63)
    assert box("BITFIELD", "k", "OVERFLOW", "SAT", "SET", "i8", 0, low, "GET", "i8", 0) == [0, 127]
    assert box("BITFIELD", "k", "OVERFLOW", "SAT", "SET", "i8", 0, low + 200, "GET", "i8", 0) == [127, -128]
    assert box("BITFIELD", "k", "OVERFLOW", "SAT", "SET", "u8", 0, -1, "GET", "u8", 0) == [128, 255]


def test_bitfield_ro_and_reads_never_write(box: Box) -> None:
    assert box("BITFIELD", "k", "GET", "u8", 0) == [0]
    assert box("BITFIELD", "k") == []
    assert box("EXISTS", "k") == 0
    box("SET", "k", "abc")
    changes = box.db.changes
    assert box("BITFIELD_RO", "k", "GET", "u8", 0, "GET", "i4", 4) == [97, 1]
    assert box.db.changes == changes
    assert box.err("BITFIELD_RO", "k", "SET", "u8", 0, 1) == b"ERR BITFIELD_RO only supports the GET subcommand"
    assert box("GET", "k") == b"abc"
    assert type(box.db.lookup(b"k", box.now)) is bytes  # still shared, not made raw


def test_bitfield_checks_every_argument_before_the_key(box: Box) -> None:
    assert box("RPUSH", "l", "x") == 1
    bad_type = b"ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is."
    assert box.err("BITFIELD", "l", "GET", "u64", 0) == bad_type
    assert box.err("BITFIELD", "l", "GET", "u8", -1) == BIT_OFFSET
    assert box.err("BITFIELD", "l", "SET", "u8", 0, "x") == NOT_INTEGER
    assert box.err("BITFIELD", "l", "OVERFLOW", "X") == b"ERR Invalid OVERFLOW type specified"
    assert box.err("BITFIELD", "l", "GET", "u8") == SYNTAX
    assert box.err("BITFIELD", "l", "GET", "u8", 0) == WRONGTYPE
    assert box.err("BITFIELD", "l", "SET", "u8", 0, 1) == WRONGTYPE
    box("SET", "k", "abc")
    assert box.err("BITFIELD", "k", "SET", "u8", 0, 1, "GET", "i0", 0) == bad_type
    assert box("GET", "k") == b"abc"


def _model_get(data: bytes, signed: bool, bits: int, offset: int) -> int:
    """A field read bit by bit, as the documentation describes it."""
    value = 0
    for i in range(offset, offset + bits):
        byte = data[i >> 3] if (i >> 3) < len(data) else 0
        value = value * 2 + ((byte >> (7 - (i & 7))) & 1)
    return value - (1 << bits) if signed and value >> (bits - 1) else value


@pytest.mark.parametrize("seed", range(5))
def test_bitfield_fields_match_a_bit_by_bit_model(box: Box, seed: int) -> None:
    rng = random.Random(seed)
    model = bytearray()
    for _ in range(200):
        signed = rng.random() < 0.5
        bits = rng.randint(1, 64 if signed else 63)
        offset = rng.randint(0, 120)
        kind = b"i" if signed else b"u"
        if rng.random() < 0.5:
            value = rng.randint(-(2**70), 2**70) % (1 << bits)
            as_arg = value - (1 << bits) if signed and value >> (bits - 1) else value
            box("BITFIELD", "k", "SET", kind + b"%d" % bits, offset, as_arg)
            end = (offset + bits + 7) >> 3
            model.extend(bytes(max(0, end - len(model))))
            for i in range(bits):
                bit = (value >> (bits - 1 - i)) & 1
                pos = offset + i
                model[pos >> 3] = (model[pos >> 3] & ~(0x80 >> (pos & 7))) | (bit << (7 - (pos & 7)))
        got = box("BITFIELD", "k", "GET", kind + b"%d" % bits, offset)
        assert got == [_model_get(bytes(model), signed, bits, offset)]
    assert (box("GET", "k") or b"") == bytes(model)
