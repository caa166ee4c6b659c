"""Bitmap commands on string values: SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP.

Strategy:
- Bits are numbered from the most significant bit of byte 0, as in Redis.
  A missing key reads as an endless run of zero bits.
- SETBIT edits the value in place: a `bytes` value becomes a `bytearray`
  (OBJECT ENCODING ``raw``) and grows with zero bytes. Like Redis, it only
  signals a change (WATCH, replication) when the string grew or the bit
  flipped; a no-op SETBIT leaves the value as it was.
- Offsets are limited by ``proto-max-bulk-len`` (the byte holding the bit must
  fit), with Redis's "bit offset is not an integer or out of range" text.
- Ranges (BITCOUNT, BITPOS) are resolved to an inclusive bit range first,
  with Redis 7.0's index rules (negative from the end, clamped, BYTE or
  BIT units), then the work is done at C speed: popcount through
  ``int.from_bytes(...).bit_count()`` and the first interesting byte
  through a compiled regex search over the buffer (no copy), with only the
  two partial edge bytes looked at in Python.
- BITOP works on whole strings as Python ints (``int.from_bytes``), each
  source zero-padded on the right to the longest one; a missing source is
  an empty string. The result is stored raw (Redis builds it as a raw
  string), replacing the destination and its TTL; an empty result deletes
  the destination instead.
- Check order matches Redis per command: BITCOUNT looks the key up before
  parsing its range (a missing key is 0 whatever the arguments); BITPOS
  parses the bit first, then looks the key up, then parses the range;
  GETBIT/SETBIT parse their offset (and bit) before the key's type.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from crdt import errors
from crdt.args import c_word, to_int
from crdt.errors import CommandError
from crdt.table import command
from crdt.writes import lookup_write, notify, notify_new
from protocol.replies import Reply

if TYPE_CHECKING:
    from crdt.session import Session

_ANY_SET_BYTE = re.compile(rb"[^\x00]")
_ANY_CLEAR_BYTE = re.compile(rb"[^\xff]")


def _bit_offset(s: Session, raw: bytes) -> int:
    """A bit offset argument: an int >= 0 whose byte fits in proto-max-bulk-len.

    Raises:
        CommandError: ``bit offset is not an integer or out of range``.
    """
    offset = to_int(raw, errors.BIT_OFFSET)
    if offset < 0 or (offset >> 3) >= s.engine.config["proto-max-bulk-len"]:
        raise CommandError(errors.BIT_OFFSET)
    return offset


def string_value(value: Any) -> bytes | bytearray:
    """A string value's bytes (the value itself unless a counter); WRONGTYPE otherwise."""
    t = type(value)
    if t is bytes or t is bytearray:
        return value  # type: ignore[no-any-return]
    if t is int:
        return b"%d" % value
    raise CommandError(errors.WRONGTYPE)


def _unit(raw: bytes) -> bool:
    """BYTE or BIT (case-insensitive, up to a NUL as Redis's strcasecmp reads it): True for BIT."""
    word = c_word(raw)
    if word == b"BIT":
        return True
    if word == b"BYTE":
        return False
    raise CommandError(errors.SYNTAX)


@command("setbit", 4, "write denyoom", keys=(1, 1, 1), group="bitmap", since="2.2.0",
         summary="Sets or clears the bit at offset in the string value stored at key",
         syntax="key offset value{integer}", key_specs=("RW access update",))
def setbit(s: Session, argv: list[bytes]) -> Reply:
    """SETBIT key offset value: the bit's previous value; the string grows as needed."""
    offset = _bit_offset(s, argv[2])
    on = to_int(argv[3], errors.BIT_VALUE)
    if on & ~1:
        raise CommandError(errors.BIT_VALUE)
    key = argv[1]
    index = offset >> 3
    shift = 7 - (offset & 7)
    buf, created, grew = string_for_write(s, key, index + 1)
    old = (buf[index] >> shift) & 1
    if old == on and not (created or grew):
        return old  # nothing changes: Redis does not signal the key either
    if on:
        buf[index] |= 1 << shift
    else:
        buf[index] &= ~(1 << shift) & 0xFF
    if not created:  # a new key was signalled when it was stored
        s.db.signal(key)
    notify(s, "$", b"setbit", key)
    return old


def string_for_write(s: Session, key: bytes, size: int) -> tuple[bytearray, bool, bool]:
    """Redis's lookupStringForBitCommand: the key's string, raw, at least `size` bytes.

    A missing key is stored as `size` zero bytes (``new`` is notified); an
    existing string is made editable first (Redis makes it raw even when the
    command then changes nothing; that alone is not a write) and grown with
    zero bytes. Returns (the buffer, whether it was created, whether it grew).

    Raises:
        CommandError: WRONGTYPE for a key holding another type.
    """
    db = s.db
    value = lookup_write(db, key, s.now_ms)
    if value is None:
        buf = bytearray(size)
        db.set(key, buf, s.now_ms)
        notify_new(s, key)
        return buf, True, False
    data = string_value(value)
    if type(data) is bytearray:
        buf = data
    else:
        buf = bytearray(data)
        db.unshare(key, buf)
    if len(buf) >= size:
        return buf, False, False
    buf.extend(bytes(size - len(buf)))
    return buf, False, True


@command("getbit", 3, "readonly fast", keys=(1, 1, 1), group="bitmap", since="2.2.0",
         summary="Returns the bit value at offset in the string value stored at key",
         syntax="key offset", key_specs=("RO access",))
def getbit(s: Session, argv: list[bytes]) -> Reply:
    """GETBIT key offset: 0 past the end of the string or for a missing key."""
    offset = _bit_offset(s, argv[2])
    value = s.db.read(argv[1], s.now_ms)
    if value is None:
        return 0
    value = string_value(value)
    index = offset >> 3
    if index >= len(value):
        return 0
    return (value[index] >> (7 - (offset & 7))) & 1


def _count_bits(data: bytes | bytearray, first_bit: int, last_bit: int) -> int:
    """Set bits in the inclusive bit range (first_bit <= last_bit, both inside data)."""
    first, last = first_bit >> 3, last_bit >> 3
    total = int.from_bytes(data[first:last + 1], "big").bit_count()
    head = data[first] & ~(0xFF >> (first_bit & 7)) & 0xFF  # bits before first_bit
    tail = data[last] & (0xFF >> ((last_bit & 7) + 1))  # bits after last_bit
    return total - head.bit_count() - tail.bit_count()


@command("bitcount", -2, "readonly", keys=(1, 1, 1), group="bitmap", since="2.6.0",
         complexity="O(N)", summary="Count set bits in a string",
         syntax="key [index: start end [index_unit: BYTE | BIT]@7.0.0]", key_specs=("RO access",),
         history=(("7.0.0", "Added the `BYTE|BIT` option."),))
def bitcount(s: Session, argv: list[bytes]) -> Reply:
    """BITCOUNT key [start end [BYTE|BIT]]: set bits in the (inclusive) range.

    The key is looked up first: a missing key answers 0 before any argument is checked.
    """
    value = s.db.read(argv[1], s.now_ms)
    if value is None:
        return 0
    data = string_value(value)
    n = len(data)
    argc = len(argv)
    if argc == 2:
        return int.from_bytes(data, "big").bit_count()
    if argc not in (4, 5):
        raise CommandError(errors.SYNTAX)
    start = to_int(argv[2])
    end = to_int(argv[3])
    in_bits = _unit(argv[4]) if argc == 5 else False
    total = n * 8 if in_bits else n
    if start < 0 and end < 0 and start > end:
        return 0
    if start < 0:
        start = max(start + total, 0)
    if end < 0:
        end = max(end + total, 0)
    if end >= total:
        end = total - 1
    if start > end:
        return 0
    if in_bits:
        return _count_bits(data, start, end)
    return int.from_bytes(data[start:end + 1], "big").bit_count()


def _first_bit(data: bytes | bytearray, bit: int, first_bit: int, last_bit: int) -> int:
    """Index of the first bit equal to `bit` in the inclusive range, or -1."""
    first, last = first_bit >> 3, last_bit >> 3
    head_mask = 0xFF >> (first_bit & 7)
    tail_mask = (0xFF << (7 - (last_bit & 7))) & 0xFF

    def in_byte(i: int, allowed: int) -> int:
        byte = (data[i] if bit else ~data[i]) & allowed
        return i * 8 + 8 - byte.bit_length() if byte else -1

    if first == last:
        return in_byte(first, head_mask & tail_mask)
    found = in_byte(first, head_mask)
    if found >= 0:
        return found
    if last - first > 1:
        m = (_ANY_SET_BYTE if bit else _ANY_CLEAR_BYTE).search(data, first + 1, last)
        if m is not None:
            return in_byte(m.start(), 0xFF)
    return in_byte(last, tail_mask)


@command("bitpos", -3, "readonly", keys=(1, 1, 1), group="bitmap", since="2.8.7", complexity="O(N)",
         summary="Find first bit set or clear in a string",
         syntax="key bit [index: start [end_index: end [index_unit: BYTE | BIT]@7.0.0]]",
         key_specs=("RO access",), history=(("7.0.0", "Added the `BYTE|BIT` option."),))
def bitpos(s: Session, argv: list[bytes]) -> Reply:
    """BITPOS key bit [start [end [BYTE|BIT]]]: the first bit equal to `bit`, or -1.

    A missing key is all zeros: 0 for a clear bit, -1 for a set bit. When no
    clear bit is found and no end was given, the string is taken as padded
    with zeros on the right, so the answer is the first bit past the range's
    last byte; with an explicit end it is -1.
    """
    bit = to_int(argv[2])
    if bit != 0 and bit != 1:
        raise CommandError(errors.BITPOS_BIT)
    value = s.db.read(argv[1], s.now_ms)
    if value is None:
        return -1 if bit else 0
    data = string_value(value)
    n = len(data)
    argc = len(argv)
    end_given = False
    in_bits = False
    if argc == 3:
        start, end = 0, n - 1
    elif argc <= 6:
        start = to_int(argv[3])
        if argc == 6:
            in_bits = _unit(argv[5])
        if argc >= 5:
            end = to_int(argv[4])
            end_given = True
        else:
            end = n * 8 - 1 if in_bits else n - 1
        total = n * 8 if in_bits else n
        if start < 0:
            start = max(start + total, 0)
        if end < 0:
            end = max(end + total, 0)
        if end >= total:
            end = total - 1
    else:
        raise CommandError(errors.SYNTAX)
    if start > end:
        return -1
    first_bit, last_bit = (start, end) if in_bits else (start * 8, end * 8 + 7)
    found = _first_bit(data, bit, first_bit, last_bit)
    if found >= 0:
        return found
    if bit or end_given:
        return -1
    return ((last_bit >> 3) + 1) * 8


_BITOPS = (b"AND", b"OR", b"XOR", b"NOT")


@command("bitop", -4, "write denyoom", keys=(2, -1, 1), group="bitmap", since="2.6.0",
         complexity="O(N)", summary="Perform bitwise operations between strings",
         syntax="operation destkey key [key ...]",
         key_specs=("OW update index:2 range:0:1:0", "RO access index:3 range:-1:1:0"))
def bitop(s: Session, argv: list[bytes]) -> Reply:
    """BITOP AND|OR|XOR|NOT destkey key [key ...]: the length of the stored result.

    Checks in Redis's order: the operation, NOT's single source, then each
    source's type (nothing is written if one is not a string).
    """
    op = c_word(argv[1])
    if op not in _BITOPS:
        raise CommandError(errors.SYNTAX)
    if op == b"NOT" and len(argv) != 4:
        raise CommandError(errors.BITOP_NOT_ONE_KEY)
    db = s.db
    sources: list[bytes | bytearray] = []
    for key in argv[3:]:
        value = db.read(key, s.now_ms)
        sources.append(b"" if value is None else string_value(value))
    size = max(map(len, sources))
    dest = argv[2]
    if not size:
        if db.delete(dest):
            notify(s, "g", b"del", dest)
        return 0
    # Each source as an int of `size` bytes: shorter ones padded with zero bytes on the right.
    words = [int.from_bytes(data, "big") << (8 * (size - len(data))) for data in sources]
    result = words[0]
    if op == b"AND":
        for word in words[1:]:
            result &= word
    elif op == b"OR":
        for word in words[1:]:
            result |= word
    elif op == b"XOR":
        for word in words[1:]:
            result ^= word
    else:
        result = ~result & ((1 << (8 * size)) - 1)
    created = db.lookup(dest, s.now_ms) is None
    db.set(dest, bytearray(result.to_bytes(size, "big")), s.now_ms)
    if created:
        notify_new(s, dest)
    notify(s, "$", b"set", dest)
    return size
