"""BITFIELD and BITFIELD_RO: integers of 1 to 64 bits at any bit offset of a string.

Strategy:
- Every subcommand is parsed before the key is touched, as in Redis, so a
  bad argument anywhere answers its error and changes nothing. The key is
  then looked up once: for reads only (GETs, or no subcommand at all) as a
  read, otherwise as a write that creates the string or grows it with zero
  bytes up to the farthest bit any SET or INCRBY reaches, and makes it raw.
- A field is read and written as a Python int over the bytes it spans
  (``int.from_bytes``), most significant bit first as Redis numbers bits;
  past the end of the string everything reads as zero.
- Overflow follows Redis's own checks (checkSignedBitfieldOverflow and its
  unsigned twin) step by step in 64-bit arithmetic, wrap-arounds included,
  so SAT and FAIL pick the same side Redis picks even for SET values far out
  of the field's range. A FAIL that trips answers nil and writes nothing,
  but still counts as a change (the key is signalled), as in Redis.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from crdt import errors
from crdt.args import INT64_MAX, c_word, to_int
from crdt.commands.bits import string_for_write, string_value
from crdt.errors import CommandError
from crdt.table import command
from crdt.writes import notify
from protocol.replies import Reply

if TYPE_CHECKING:
    from crdt.session import Session

GET, SET, INCRBY = 0, 1, 2
WRAP, SAT, FAIL = 0, 1, 2
_SUBCOMMANDS = {b"GET": (GET, 2), b"SET": (SET, 3), b"INCRBY": (INCRBY, 3)}
_OVERFLOW_TYPES = {b"WRAP": WRAP, b"SAT": SAT, b"FAIL": FAIL}
_U64 = 1 << 64


@dataclass(frozen=True, slots=True)
class FieldOp:
    """One parsed GET, SET or INCRBY."""

    opcode: int
    signed: bool
    bits: int
    offset: int
    value: int  # SET's value or INCRBY's increment (0 for GET)
    overflow: int


def _i64(x: int) -> int:
    """`x` as C's int64_t holds it after wrapping modulo 2**64."""
    return (x + (1 << 63)) % _U64 - (1 << 63)


def parse_type(raw: bytes) -> tuple[bool, int]:
    """``i<bits>`` (1-64) or ``u<bits>`` (1-63): (signed, bits).

    Raises:
        CommandError: Redis's "Invalid bitfield type" text.
    """
    if raw[:1] not in (b"i", b"u"):
        raise CommandError(errors.BITFIELD_TYPE)
    signed = raw[:1] == b"i"
    digits = raw[1:]
    nul = digits.find(b"\0")  # Redis reads the width up to the first NUL (strlen)
    if nul >= 0:
        digits = digits[:nul]
    try:
        bits = to_int(digits)
    except CommandError:
        raise CommandError(errors.BITFIELD_TYPE) from None
    if bits < 1 or bits > (64 if signed else 63):
        raise CommandError(errors.BITFIELD_TYPE)
    return signed, bits


def parse_offset(s: Session, raw: bytes, bits: int) -> int:
    """A bit offset, or ``#N`` for the N-th field of this width.

    Raises:
        CommandError: bit offset is not an integer or out of range.
    """
    by_index = raw[:1] == b"#"
    offset = to_int(raw[1:] if by_index else raw, errors.BIT_OFFSET)
    if by_index:
        offset = _i64(offset * bits)  # Redis multiplies in 64 bits
    if offset < 0 or (offset >> 3) >= s.engine.config["proto-max-bulk-len"]:
        raise CommandError(errors.BIT_OFFSET)
    return offset


def parse_ops(s: Session, argv: list[bytes]) -> list[FieldOp]:
    """Every subcommand after the key, in order (OVERFLOW applies to those after it).

    Raises:
        CommandError: the first bad subcommand, type, offset or value.
    """
    ops: list[FieldOp] = []
    overflow = WRAP
    j = 2
    n = len(argv)
    while j < n:
        left = n - j - 1
        word = c_word(argv[j])
        if word == b"OVERFLOW" and left >= 1:
            kind = _OVERFLOW_TYPES.get(c_word(argv[j + 1]))
            if kind is None:
                raise CommandError(errors.BITFIELD_OVERFLOW)
            overflow = kind
            j += 2
            continue
        sub = _SUBCOMMANDS.get(word)
        if sub is None or left < sub[1]:
            raise CommandError(errors.SYNTAX)
        opcode = sub[0]
        signed, bits = parse_type(argv[j + 1])
        offset = parse_offset(s, argv[j + 2], bits)
        value = 0 if opcode == GET else to_int(argv[j + 3])
        ops.append(FieldOp(opcode, signed, bits, offset, value, overflow))
        j += 1 + sub[1]
    return ops


def read_field(data: bytes | bytearray, op: FieldOp) -> int:
    """The field's value: bits past the end of `data` read as zero."""
    first = op.offset >> 3
    last = (op.offset + op.bits - 1) >> 3
    chunk = data[first:last + 1]
    span = (last - first + 1) * 8
    raw = int.from_bytes(chunk, "big") << (8 * (last + 1 - first - len(chunk)))
    value = (raw >> (span - (op.offset & 7) - op.bits)) & ((1 << op.bits) - 1)
    if op.signed and value >> (op.bits - 1):
        value -= 1 << op.bits
    return value


def write_field(buf: bytearray, op: FieldOp, value: int) -> None:
    """Store the low `bits` bits of `value` in the field (`buf` already long enough)."""
    first = op.offset >> 3
    last = (op.offset + op.bits - 1) >> 3
    span = (last - first + 1) * 8
    shift = span - (op.offset & 7) - op.bits
    mask = ((1 << op.bits) - 1) << shift
    word = int.from_bytes(buf[first:last + 1], "big")
    word = (word & ~mask) | ((value << shift) & mask)
    buf[first:last + 1] = word.to_bytes(last - first + 1, "big")


def _signed_overflow(value: int, incr: int, bits: int, kind: int) -> tuple[int, int]:
    """checkSignedBitfieldOverflow: (0, _) or (±1, the value to store instead)."""
    top = INT64_MAX if bits == 64 else (1 << (bits - 1)) - 1
    bottom = -top - 1
    max_incr = _i64(top - value)
    min_incr = _i64(bottom - value)
    if value > top or (bits != 64 and incr > max_incr) or (value >= 0 and 0 < incr and incr > max_incr):
        return 1, _signed_wrap(value, incr, bits) if kind == WRAP else top
    if value < bottom or (bits != 64 and incr < min_incr) or (value < 0 and incr < 0 and incr < min_incr):
        return -1, _signed_wrap(value, incr, bits) if kind == WRAP else bottom
    return 0, 0


def _signed_wrap(value: int, incr: int, bits: int) -> int:
    total = (value + incr) % (1 << bits)
    return total - (1 << bits) if total >> (bits - 1) else total


def _unsigned_overflow(value: int, incr: int, bits: int, kind: int) -> tuple[int, int]:
    """checkUnsignedBitfieldOverflow: `value` as uint64, `incr` as int64."""
    top = (1 << bits) - 1
    wrapped = (value + incr) & top
    if value > top or (incr > 0 and incr > _i64(top - value)):
        return 1, wrapped if kind == WRAP else top
    if incr < 0 and incr < _i64(-value):
        return -1, wrapped if kind == WRAP else 0
    return 0, 0


def apply_write(buf: bytearray, op: FieldOp) -> int | None:
    """Run a SET or INCRBY on `buf`: its reply (None for a FAIL that tripped)."""
    old = read_field(buf, op)
    if op.signed:
        value, incr = (old, op.value) if op.opcode == INCRBY else (op.value, 0)
        overflow, limited = _signed_overflow(value, incr, op.bits, op.overflow)
    else:
        value, incr = (old, op.value) if op.opcode == INCRBY else (op.value % _U64, 0)
        overflow, limited = _unsigned_overflow(value, incr, op.bits, op.overflow)
    if overflow and op.overflow == FAIL:
        return None
    new = limited if overflow else value + incr
    write_field(buf, op, new)
    return new if op.opcode == INCRBY else old


def _bitfield(s: Session, argv: list[bytes], read_only: bool) -> Reply:
    ops = parse_ops(s, argv)
    db = s.db
    key = argv[1]
    writes = [op for op in ops if op.opcode != GET]
    if not writes:
        value = db.read(key, s.now_ms)
        data = b"" if value is None else string_value(value)
        return [read_field(data, op) for op in ops]
    if read_only:
        raise CommandError(errors.BITFIELD_RO_GET_ONLY)
    size = max((op.offset + op.bits - 1) >> 3 for op in writes) + 1
    buf = string_for_write(s, key, size)[0]
    replies: list[Any] = []
    for op in ops:
        if op.opcode == GET:
            replies.append(read_field(buf, op))
        else:
            replies.append(apply_write(buf, op))  # None: a FAIL that tripped (nil)
    db.signal(key)
    notify(s, "$", b"setbit", key)
    return replies


@command("bitfield", -2, "write denyoom", keys=(1, 1, 1), group="bitmap", since="3.2.0",
         complexity="O(1) for each subcommand specified",
         summary="Perform arbitrary bitfield integer operations on strings",
         syntax=("key [(operation: GET encoding offset | (write: [OVERFLOW (WRAP | SAT | FAIL)] "
                 "(write_operation: SET encoding offset value{integer} | "
                 "INCRBY encoding offset increment))) [encoding_offset write ...]]"),
         key_specs=("RW update access variable_flags # This command allows both access and "
                    "modification of the key",))
def bitfield(s: Session, argv: list[bytes]) -> Reply:
    """BITFIELD key [GET type offset] [SET type offset value] [INCRBY type offset incr]
    [OVERFLOW WRAP|SAT|FAIL] ...: one reply per GET, SET and INCRBY, in order."""
    return _bitfield(s, argv, read_only=False)


@command("bitfield_ro", -2, "readonly fast", keys=(1, 1, 1), group="bitmap", since="6.0.0",
         complexity="O(1) for each subcommand specified",
         summary="Perform arbitrary bitfield integer operations on strings. Read-only variant of BITFIELD",
         syntax="key [GET encoding offset [GET encoding offset ...]]", key_specs=("RO access",))
def bitfield_ro(s: Session, argv: list[bytes]) -> Reply:
    """BITFIELD_RO key [GET type offset ...]: BITFIELD's GETs only."""
    return _bitfield(s, argv, read_only=True)
