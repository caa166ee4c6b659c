"""The SCAN family's shared parts: cursors, MATCH/COUNT options, and the walk of a big collection.

Strategy: SCAN walks the keyspace by its own cursor (crdt.keyspace); HSCAN,
SSCAN and ZSCAN walk a big (hashtable) collection with `collection_scan`,
which orders the members by crc32 so a cursor means the same in every
process, and keeps the ordered index on the value while a scan runs.
Small (listpack/intset) values answer whole, cursor 0, as Redis does.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterable
from typing import Any
from zlib import crc32

from crdt import errors
from crdt.args import c_word, to_int
from crdt.errors import CommandError
from crdt.glob import glob_matcher

SCAN_DEFAULT_COUNT = 10
UINT64_MAX = 2**64 - 1
_C_SPACE = b" \t\n\v\f\r"


def parse_scan_cursor(raw: bytes) -> int:
    """A SCAN cursor as Redis reads it with strtoul: C string, optional sign, base 10, no
    leading space, nothing after the digits; "-n" wraps modulo 2**64; "" is 0.

    Raises:
        CommandError: "invalid cursor".
    """
    text = raw.split(b"\0", 1)[0]
    if not text:
        return 0
    if text[0] in _C_SPACE:
        raise CommandError(errors.BAD_CURSOR)
    negative = text[0] == 0x2D
    digits = text[1:] if text[0] in b"+-" else text
    significant = digits.lstrip(b"0")
    if not digits or not digits.isdigit() or len(significant) > 20:  # past 2**64 anyway
        raise CommandError(errors.BAD_CURSOR)
    value = int(significant or b"0")
    if value > UINT64_MAX:
        raise CommandError(errors.BAD_CURSOR)
    return (-value) & UINT64_MAX if negative else value


def parse_scan_options(argv: list[bytes], start: int) -> tuple[Callable[[bytes], bool] | None, int]:
    """HSCAN/SSCAN/ZSCAN's ``[MATCH pattern] [COUNT count]`` from ``argv[start:]``.

    Returns:
        (a matcher, or None when every element matches; the count).

    Raises:
        CommandError: syntax error (unknown option, missing value, COUNT < 1),
        not an integer (COUNT's text).
    """
    matcher: Callable[[bytes], bool] | None = None
    count = SCAN_DEFAULT_COUNT
    i, n = start, len(argv)
    while i < n:
        word = c_word(argv[i])
        if word == b"COUNT" and i + 1 < n:
            count = to_int(argv[i + 1])
            if count < 1:
                raise CommandError(errors.SYNTAX)
        elif word == b"MATCH" and i + 1 < n:
            pattern = argv[i + 1]
            matcher = None if pattern == b"*" else glob_matcher(pattern)
        else:
            raise CommandError(errors.SYNTAX)
        i += 2
    return matcher, count


def collection_scan(holder: Any, members: Iterable[bytes], present: Callable[[bytes], bool],
                    cursor: int, count: int) -> tuple[int, list[bytes]]:
    """One cursor step over a large collection: about `count` members and the next cursor.

    Members are ordered by crc32 (identical in every process); a cursor is a
    position plus one (0 = start and end). The ordered index is kept in
    ``holder.scan_index`` and rebuilt when a scan starts (cursor 0) or when
    there is none: an index built at or after the start of a scan holds every
    member present for the whole scan. Members removed since are skipped
    with `present`; members sharing a position are returned together.
    """
    index = holder.scan_index
    if cursor == 0 or index is None:
        pairs = sorted((crc32(m), m) for m in members)
        index = ([p for p, _ in pairs], [m for _, m in pairs])
        holder.scan_index = index
    positions, ordered = index
    n = len(positions)
    i = bisect_left(positions, cursor - 1) if cursor else 0
    out: list[bytes] = []
    visited = 0
    while i < n and visited < count:
        pos = positions[i]
        while i < n and positions[i] == pos:
            member = ordered[i]
            if present(member):
                out.append(member)
            visited += 1
            i += 1
    return (0 if i >= n else positions[i] + 1), out
