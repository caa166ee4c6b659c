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

from crdt import errors
from crdt.errors import CommandError

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1

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
        value = hex_to_float(raw)
    else:
        raise CommandError(error)
    if math.isnan(value) and not allow_nan:
        raise CommandError(error)
    return value


def hex_to_float(raw: bytes) -> float:
    """A hexadecimal float as strtod reads it: too large for a double is ±inf (HUGE_VAL),
    as a decimal one is, where Python's fromhex raises."""
    try:
        return float.fromhex(raw.decode())
    except OverflowError:
        return -math.inf if raw[:1] == b"-" else math.inf


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


def c_word(raw: bytes) -> bytes:
    """An option word as Redis's strcasecmp sees it: up to the first NUL, upper case."""
    nul = raw.find(b"\0")
    if nul >= 0:
        raw = raw[:nul]
    return raw.upper()


def upper(raw: bytes) -> bytes:
    """An option word in upper case, for case-insensitive option matching."""
    return raw.upper()


def parse_random_count(raw: bytes) -> int:
    """HRANDFIELD/SRANDMEMBER/ZRANDMEMBER's count: an integer in [-LONG_MAX, LONG_MAX].

    Raises:
        CommandError: not an integer; out of range (LONG_MIN).
    """
    count = to_int(raw)
    if count < -INT64_MAX:
        raise CommandError(errors.RANDOM_COUNT_RANGE)
    return count
