"""Argument parsing shared by every command module, with Redis's exact acceptance rules.

Strategy: Redis parses integers with ``string2ll`` (no sign but '-', no
leading zeros, no spaces, within int64) and floats with ``strtod``/``strtold``
(decimal, hex, inf/infinity, never a leading space, nan refused). Python's
``int()``/``float()`` accept more (``+1``, ``1_000``, `` 1``), so each rule is
written out here once and raises `CommandError` with Redis's text.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction

from crdt import errors
from crdt.errors import CommandError

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
LONG_DOUBLE_MANTISSA_BITS = 64
LONG_DOUBLE_MAX_EXP = 16384
# Half the least subnormal long double (2**-16445): anything smaller rounds to zero.
LONG_DOUBLE_TINY = Fraction(1, 2**16446)

_INT_RE = re.compile(rb"(?:0|-?[1-9][0-9]*)\Z")
_PLAIN_DIGITS_MAX = 19  # digit strings shorter than this are within int64
_ZERO = 48  # b"0"
_DEC_FLOAT_RE = re.compile(rb"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\Z")
_HEX_FLOAT_RE = re.compile(rb"[+-]?0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)(?:[pP][+-]?[0-9]+)?\Z")
_INF_RE = re.compile(rb"[+-]?(?:inf|infinity)\Z", re.IGNORECASE)


def to_int(raw: bytes | bytearray, error: bytes = errors.NOT_INTEGER) -> int:
    """Parse a signed 64-bit integer as Redis's string2ll does.

    Raises:
        CommandError: with `error` (default: value is not an integer or out of range).
    """
    if raw.isdigit() and len(raw) < _PLAIN_DIGITS_MAX and (raw[0] != _ZERO or len(raw) == 1):
        return int(raw)  # the common case: canonical, and within int64 by its length
    if len(raw) > 20 or not _INT_RE.match(raw):
        raise CommandError(error)
    value = int(raw)
    if value < INT64_MIN or value > INT64_MAX:
        raise CommandError(error)
    return value


def is_int(raw: bytes) -> bool:
    """True if Redis would read `raw` as a 64-bit integer."""
    if len(raw) > 20 or not _INT_RE.match(raw):
        return False
    return INT64_MIN <= int(raw) <= INT64_MAX


def to_float(raw: bytes, error: bytes = errors.NOT_FLOAT, allow_nan: bool = False) -> float:
    """Parse a double as Redis's strtod-based parsers do (no spaces, no nan).

    Raises:
        CommandError: with `error` (default: value is not a valid float).
    """
    if not raw or raw[0] in b" \t\n\r\v\f":
        raise CommandError(error)
    if _DEC_FLOAT_RE.match(raw):
        value = float(raw)
    elif _INF_RE.match(raw):
        value = -math.inf if raw[0] == 0x2D else math.inf
    elif _HEX_FLOAT_RE.match(raw):
        value = float.fromhex(raw.decode())
    else:
        raise CommandError(error)
    if math.isnan(value) and not allow_nan:
        raise CommandError(error)
    return value


def to_nonneg_int(raw: bytes, error: bytes) -> int:
    """An integer that must be >= 0, with a command-specific error text."""
    value = to_int(raw)
    if value < 0:
        raise CommandError(error)
    return value


def format_float(value: float) -> bytes:
    """A double as Redis prints it in replies (``%.17g``; inf, -inf)."""
    if math.isinf(value):
        return b"inf" if value > 0 else b"-inf"
    return (b"%.17g" % value)


def round_long_double(x: Fraction) -> Fraction | float:
    """Round an exact value to an x87 80-bit long double (64-bit mantissa, half-even)."""
    if x == 0:
        return x
    sign = -1 if x < 0 else 1
    a = abs(x)
    e = a.numerator.bit_length() - a.denominator.bit_length()
    if Fraction(2) ** e > a:
        e -= 1
    if e >= LONG_DOUBLE_MAX_EXP:
        return sign * math.inf
    shift = LONG_DOUBLE_MANTISSA_BITS - 1 - e
    scaled = a * (Fraction(2) ** shift)
    m = round(scaled)  # Fraction rounding is half-even
    result = Fraction(m) / (Fraction(2) ** shift)
    if result >= Fraction(2) ** LONG_DOUBLE_MAX_EXP:
        return sign * math.inf
    return sign * result


def to_long_double(raw: bytes, error: bytes = errors.NOT_FLOAT) -> Fraction | float:
    """Parse as Redis's string2ld does (strtold): exact decimal, rounded to a long double.

    Returns:
        An exact `Fraction` for finite values, or ``math.inf``/``-math.inf``.

    Raises:
        CommandError: for text strtold refuses, leading space, or nan.
    """
    if not raw or raw[0] in b" \t\n\r\v\f":
        raise CommandError(error)
    if _DEC_FLOAT_RE.match(raw):
        exact = Fraction(raw.decode())
        if exact and abs(exact) < LONG_DOUBLE_TINY:
            raise CommandError(error)  # underflows to zero: strtold's ERANGE, which string2ld refuses
        return round_long_double(exact)
    if _INF_RE.match(raw):
        return -math.inf if raw[0] == 0x2D else math.inf
    if _HEX_FLOAT_RE.match(raw):
        return Fraction(float.fromhex(raw.decode()))
    raise CommandError(error)


def add_long_double(a: Fraction | float, b: Fraction | float) -> Fraction | float:
    """a + b in long double arithmetic (inf propagates; inf + -inf is nan)."""
    if isinstance(a, float) or isinstance(b, float):
        return float(a) + float(b)
    return round_long_double(a + b)


def format_long_double(value: Fraction | float) -> bytes:
    """INCRBYFLOAT's output, as Redis's ld2string(LD_STR_HUMAN): ``%.17Lf``, trailing zeros cut."""
    if isinstance(value, float):
        return b"inf" if value > 0 else b"-inf"
    scaled = value * 10**17
    digits = round(scaled)  # printf rounds the exact binary value half-even
    sign = b"-" if digits < 0 else b""
    text = b"%d" % abs(digits)
    text = text.rjust(18, b"0")
    whole, frac = text[:-17], text[-17:].rstrip(b"0")
    out = sign + whole + (b"." + frac if frac else b"")
    return b"0" if out == b"-0" else out


def c_word(raw: bytes) -> bytes:
    """An option word as Redis's strcasecmp sees it: up to the first NUL, upper case."""
    nul = raw.find(b"\0")
    if nul >= 0:
        raw = raw[:nul]
    return raw.upper()


def upper(raw: bytes) -> bytes:
    """An option word in upper case, for case-insensitive option matching."""
    return raw.upper()
