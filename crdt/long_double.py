"""Redis's long double (x87, 80 bits): read text as string2ld does, add, round, print.

Strategy: a value is an exact `Fraction` already rounded to a long double
(64-bit mantissa, half-even), or ``±inf``; arithmetic is exact and then
rounded, so results match Redis's ``long double`` ones bit for bit.
`parse_long_double` is strtold with string2ld's refusals (5 KiB of text,
overflow and underflow to zero, nan, spaces) and bounds the exponent before
building any number, so no text costs more than a short computation.
INCRBYFLOAT, HINCRBYFLOAT and the blocking commands' timeouts read through it.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction

from crdt import errors
from crdt.errors import CommandError

LONG_DOUBLE_MANTISSA_BITS = 64
LONG_DOUBLE_MAX_EXP = 16384
# strtold inputs of this many characters or more are refused (Redis's
# MAX_LONG_DOUBLE_CHARS buffer is 5 KiB, NUL included).
LONG_DOUBLE_TEXT_MAX_BYTES = 5 * 1024
# A long double's smallest subnormal is 2**-16445; anything up to half of it
# rounds to zero, which strtold reports as ERANGE and Redis refuses.
_LONG_DOUBLE_UNDERFLOW = Fraction(1, 2**16446)
# Exponents beyond these bounds overflow or underflow whatever the mantissa
# (the mantissa has at most LONG_DOUBLE_TEXT_MAX_BYTES digits); checked before
# building an exact Fraction so ``1e999999999`` costs nothing.
_DEC_EXPONENT_BOUND = 12_000
_HEX_EXPONENT_BOUND = 40_000
# Python converts at most 4300 digits between int and text at once.
_INT_TEXT_CHUNK = 4000
_INT_TEXT_LIMIT = 10**_INT_TEXT_CHUNK

_DEC_RE = re.compile(rb"[+-]?([0-9]*)(?:\.([0-9]*))?(?:[eE]([+-]?[0-9]+))?\Z")
_HEX_RE = re.compile(rb"([+-]?)0[xX]([0-9a-fA-F]*)(?:\.([0-9a-fA-F]*))?(?:[pP]([+-]?[0-9]+))?\Z")

# SET / GETEX option flags (Redis's OBJ_SET_* bits, our names).
_INF_RE = re.compile(rb"[+-]?(?:inf|infinity)\Z", re.IGNORECASE)


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


def _exponent(raw: bytes | None) -> int:
    """A decimal exponent's value, clamped far beyond any long double's range."""
    if raw is None:
        return 0
    digits = raw.lstrip(b"+-").lstrip(b"0")
    value = int(digits) if digits and len(digits) <= 9 else (10**9 if digits else 0)
    return -value if raw[:1] == b"-" else value


def _digits_value(digits: bytes) -> int:
    """A run of decimal digits as an int, in chunks (Python caps one int() at 4300 digits)."""
    n = 0
    for i in range(0, len(digits), _INT_TEXT_CHUNK):
        chunk = digits[i:i + _INT_TEXT_CHUNK]
        n = n * 10 ** len(chunk) + int(chunk)
    return n


def _int_text(n: int) -> bytes:
    """A non-negative int in decimal, in chunks (Python caps one conversion at 4300 digits)."""
    if n < _INT_TEXT_LIMIT:
        return b"%d" % n
    high, low = divmod(n, _INT_TEXT_LIMIT)
    return _int_text(high) + (b"%d" % low).rjust(_INT_TEXT_CHUNK, b"0")


def parse_long_double(raw: bytes | bytearray, error: bytes = errors.NOT_FLOAT) -> Fraction | float:
    """Read text as Redis's string2ld does (strtold into an 80-bit long double).

    Decimal and hexadecimal (``0x1p3``) forms, ``inf``/``infinity`` with a
    sign; no spaces, no nan. Text of 5 KiB or more is refused, and so is a
    finite value that overflows to infinity or underflows to zero (ERANGE).

    Returns:
        An exact `Fraction` (already rounded to a long double) or ``±inf``.

    Raises:
        CommandError: `error` (``value is not a valid float`` unless the
            caller words it otherwise, as the blocking timeouts do).
    """
    raw = bytes(raw)
    if len(raw) >= LONG_DOUBLE_TEXT_MAX_BYTES:
        raise CommandError(error)
    m = _DEC_RE.match(raw)
    if m is not None:
        whole, frac = m.group(1), m.group(2) or b""
        if not whole and not frac:
            raise CommandError(error)
        mantissa = _digits_value(whole + frac)
        power = _exponent(m.group(3)) - len(frac)
        if mantissa == 0:
            return Fraction(0)
        if abs(power) > _DEC_EXPONENT_BOUND:
            raise CommandError(error)  # overflows or underflows
        exact = Fraction(mantissa * 10**power) if power >= 0 else Fraction(mantissa, 10**-power)
        if raw[:1] == b"-":
            exact = -exact
        return _check_range(add_long_double(Fraction(0), exact), error)
    m = _HEX_RE.match(raw)
    if m is not None:
        whole, frac = m.group(2), m.group(3) or b""
        if not whole and not frac:
            raise CommandError(error)
        mantissa = int((whole + frac).decode(), 16)
        power = _exponent(m.group(4)) - 4 * len(frac)
        if mantissa == 0:
            return Fraction(0)
        if abs(power) > _HEX_EXPONENT_BOUND:
            raise CommandError(error)
        exact = Fraction(mantissa) * Fraction(2) ** power
        if m.group(1) == b"-":
            exact = -exact
        return _check_range(add_long_double(Fraction(0), exact), error)
    if _INF_RE.match(raw):
        return -math.inf if raw[:1] == b"-" else math.inf
    raise CommandError(error)


def _check_range(value: Fraction | float, error: bytes) -> Fraction | float:
    """Refuse what strtold flags as ERANGE: overflow to infinity, underflow to zero."""
    if isinstance(value, float) or (value and abs(value) <= _LONG_DOUBLE_UNDERFLOW):
        raise CommandError(error)
    return value


def format_incr_float(value: Fraction) -> bytes:
    """INCRBYFLOAT's output (``%.17Lf``, trailing zeros cut) for any finite long double.

    `format_long_double` does the work; values of 10**4000 and more
    (whole numbers in a long double) are printed here in chunks, because
    Python refuses to print an int of more than 4300 digits in one go.
    """
    if abs(value) < _INT_TEXT_LIMIT:
        return format_long_double(value)
    whole = int(abs(value))
    return (b"-" if value < 0 else b"") + _int_text(whole)
