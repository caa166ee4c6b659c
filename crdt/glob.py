"""Redis's glob-style pattern matching (KEYS, SCAN MATCH, CONFIG GET, PSUBSCRIBE).

Strategy: a pattern is parsed once into tokens with exactly the meaning of
Redis 7.0's ``stringmatchlen`` and compiled into a bytes regex (cached,
bounded). Every token but ``*`` matches exactly one byte, so a token is the
*set* of bytes it accepts, a 256-bit integer built from Redis's rules with
interval arithmetic (compiling stays linear in the pattern's length). That
keeps the quirks exact without imitating them in regex syntax:

- ``[...]`` classes: ``^`` negates; ``\\x`` is a literal x compared
  case-sensitively even in nocase mode; ``a-z`` is a range whenever two
  more pattern bytes follow the ``a``, even when the end is the closing
  ``]`` (``[a-]`` is the range ``]``..``a`` and the class stays open);
  ranges compare C ``char`` values, which are signed, so bytes >= 0x80 sort
  below ``\\x00`` (``[a-\\xff]`` is -1..97); in nocase mode the ends are
  swapped first and lowered after (``[a-Z]`` then matches nothing). A class
  never closed runs to the end of the pattern and still matches one byte
  (``[^`` alone matches any byte, ``[`` alone nothing); ``[]`` is empty.
- ``\\x`` outside a class is a literal x; a trailing backslash is literal.
- ``?`` is any byte; consecutive ``*`` collapse into one.
- The empty subject matches only the empty pattern (Redis's loop never runs,
  so ``*`` does not match ``""``; KEYS and SCAN special-case ``*`` themselves).
- Redis refuses to recurse through more than 1000 stars (CVE-2022-36021
  fix): a pattern whose 1001st star is not its last token matches nothing.

Matching has no catastrophic backtracking: the segments between stars are
fixed-width, so the leftmost occurrence of each middle segment is always a
right choice, and each is wrapped in an atomic group ``(?>.*?seg)``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

PATTERN_CACHE_ENTRIES = 512
# Redis 7.0 stops recursing at this depth of nested stars.
MAX_STAR_NESTING = 1000

_STAR = -1  # the token for '*'; every other token is the bitset of bytes one position accepts
_BACKSLASH, _CARET, _CLOSE, _DASH, _OPEN, _QUESTION, _STAR_BYTE = b"\\^]-[?*"
_ALL = (1 << 256) - 1
_UPPER = ((1 << 26) - 1) << 65  # bytes A..Z
_LOWER = _UPPER << 32  # bytes a..z


def _signed(byte: int) -> int:
    """A byte as a C ``char`` (signed on the platforms Redis ships for)."""
    return byte - 256 if byte >= 128 else byte


def _lower(c: int) -> int:
    """C ``tolower`` in the C locale, on a signed char value."""
    return c + 32 if 65 <= c <= 90 else c


def _interval(first: int, last: int) -> int:
    """The bitset of bytes first..last (empty if first > last)."""
    return ((1 << (last - first + 1)) - 1) << first if first <= last else 0


def _signed_range(low: int, high: int) -> int:
    """The bytes whose signed ``char`` value lies in low..high (-128..127 each)."""
    bits = 0
    if low < 0:  # -128..-1 are the bytes 0x80..0xff
        bits |= _interval(low + 256, min(high, -1) + 256)
    if high >= 0:
        bits |= _interval(max(low, 0), high)
    return bits


def _literal(byte: int, nocase: bool) -> int:
    bit = 1 << byte
    if nocase:
        if _UPPER & bit:
            bit |= bit << 32
        elif _LOWER & bit:
            bit |= bit >> 32
    return bit


def _class(pattern: bytes, i: int, nocase: bool) -> tuple[int, int]:
    """Parse a class whose ``[`` is at ``i - 1``; returns its bitset and the index after it."""
    n = len(pattern)
    negate = i < n and pattern[i] == _CARET
    if negate:
        i += 1
    bits = 0
    while i < n:
        c = pattern[i]
        if c == _BACKSLASH and n - i >= 2:
            bits |= 1 << pattern[i + 1]  # escaped: compared exactly, even in nocase mode
            i += 2
        elif c == _CLOSE:
            i += 1
            break
        elif n - i >= 3 and pattern[i + 1] == _DASH:
            low, high = _signed(c), _signed(pattern[i + 2])
            if low > high:
                low, high = high, low
            if nocase:  # tolower(c) in tolower(low)..tolower(high)
                low, high = _lower(low), _lower(high)
                in_range = _signed_range(low, high) if low <= high else 0
                bits |= (in_range & ~_UPPER) | ((in_range & _LOWER) >> 32)
            else:
                bits |= _signed_range(low, high)
            i += 3
        else:
            bits |= _literal(c, nocase)
            i += 1
    return (_ALL ^ bits if negate else bits), i


def tokenize(pattern: bytes, nocase: bool = False) -> list[int]:
    """The pattern as tokens: -1 for a (collapsed) ``*``, else the 256-bit set of one position."""
    tokens: list[int] = []
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == _STAR_BYTE:
            if not tokens or tokens[-1] != _STAR:
                tokens.append(_STAR)
            i += 1
        elif c == _QUESTION:
            tokens.append(_ALL)
            i += 1
        elif c == _OPEN:
            bits, i = _class(pattern, i + 1, nocase)
            tokens.append(bits)
        else:
            if c == _BACKSLASH and n - i >= 2:
                i += 1
                c = pattern[i]
            tokens.append(_literal(c, nocase))
            i += 1
    return tokens


def _regex_class(bits: int) -> bytes:
    """One regex atom accepting exactly the bytes in `bits`; linear in its number of runs."""
    if bits == _ALL:
        return b"."
    if bits == 0:
        return b"(?!)"
    parts: list[bytes] = []
    while bits:
        first = (bits & -bits).bit_length() - 1
        run = bits >> first
        length = (~run & (run + 1)).bit_length() - 1  # trailing ones of `run`
        last = first + length - 1
        parts.append(b"\\x%02x" % first if first == last else b"\\x%02x-\\x%02x" % (first, last))
        bits &= ~_interval(first, last)
    if len(parts) == 1 and b"-" not in parts[0]:
        return parts[0]
    return b"[" + b"".join(parts) + b"]"


@lru_cache(maxsize=PATTERN_CACHE_ENTRIES)
def compile_glob(pattern: bytes, nocase: bool = False) -> re.Pattern[bytes] | None:
    """The regex equivalent of a Redis glob for non-empty subjects, or None if nothing matches."""
    tokens = tokenize(pattern, nocase)
    stars = [k for k, tok in enumerate(tokens) if tok == _STAR]
    if len(stars) > MAX_STAR_NESTING and stars[MAX_STAR_NESTING] != len(tokens) - 1:
        return None
    parts: list[list[bytes]] = [[]]
    for tok in tokens:
        if tok == _STAR:
            parts.append([])
        else:
            parts[-1].append(_regex_class(tok))
    segments = [b"".join(p) for p in parts]
    if len(segments) == 1:
        regex = segments[0]
    else:
        middle = b"".join(b"(?>.*?" + seg + b")" for seg in segments[1:-1])
        regex = segments[0] + middle + b".*" + segments[-1]
    return re.compile(regex + b"\\Z", re.DOTALL)


def glob_match(pattern: bytes, subject: bytes, nocase: bool = False) -> bool:
    """True if `subject` matches the Redis glob `pattern`, exactly as ``stringmatchlen``.

    Args:
        pattern: the glob pattern.
        subject: the string tested (a key, a channel, a parameter name).
        nocase: compare letters case-insensitively (CONFIG GET does).

    Returns:
        Whether the whole subject matches. Note that ``*`` does not match the
        empty subject, as in Redis; KEYS and SCAN treat ``*`` as "all" first.
    """
    if not subject:
        return not pattern
    compiled = compile_glob(pattern, nocase)
    return compiled is not None and compiled.match(subject) is not None


def _never(subject: bytes) -> bool:
    return False


def _empty_only(subject: bytes) -> bool:
    return not subject


def glob_matcher(pattern: bytes, nocase: bool = False) -> Callable[[bytes], bool]:
    """A predicate equal to ``glob_match(pattern, s, nocase)``, for testing many subjects.

    Compiles once, so KEYS and SCAN pay no per-key cache lookup.
    """
    if not pattern:
        return _empty_only
    compiled = compile_glob(pattern, nocase)
    if compiled is None:
        return _never
    match = compiled.match

    def matches(subject: bytes) -> bool:
        return bool(subject) and match(subject) is not None

    return matches
