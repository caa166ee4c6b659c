"""RESP replies: encode what a Redis server answers, in RESP2 or RESP3.

Replies.  `encode(reply, resp3)` returns bytes; `encode_into(out, reply,
resp3)` appends to a caller's bytearray (the server encodes every reply of one
read into one buffer).  The wire meaning of each Python type is documented in
`protocol.replies`.  Exact types are tested first (``type(x) is bytes``) so
the common replies take a short path; subclasses are resolved after.
"""

from __future__ import annotations

from operator import itemgetter
from typing import Final

from protocol.replies import (
    NULL_ARRAY,
    OK,
    BigNumber,
    Bulks,
    ErrorReply,
    Pairs,
    Push,
    Reply,
    SetReply,
    SimpleString,
    Spliced,
    Verbatim,
)

_BYTES_ONLY: Final = frozenset({bytes})

# ---------------------------------------------------------------- encoder

_CRLF_TO_SPACE: Final = bytes.maketrans(b"\r\n", b"  ")
_BULK_HEADER: Final = b"\r\n$%d\r\n".__mod__
_JOINED_BULKS_MIN: Final = 8  # shorter arrays are cheaper item by item
# Bulk headers for the usual sizes, formatted once (%-formatting costs ~140 ns
# a header): "\r\n$<n>\r\n" to join with no separator (each ends the line
# before it), and "$<n>\r\n" for one reply at a time.
_BULK_HEADERS_N: Final = 1024
_BULK_HEADERS: Final = tuple(b"\r\n$%d\r\n" % n for n in range(_BULK_HEADERS_N))
_BULK_HEADERS_CRLF: Final = tuple(b"$%d\r\n" % n for n in range(_BULK_HEADERS_N))
# Integer replies 0..N-1 (SADD, HSET, ZADD, EXISTS, DEL... mostly answer 0 or 1).
_INTEGERS_N: Final = 1024
_INTEGERS: Final = tuple(b":%d\r\n" % n for n in range(_INTEGERS_N))


def format_double(value: float) -> bytes:
    """Redis 7.0's text for a double: ``%.17g``, with ``inf``, ``-inf``, ``nan``.

    Args:
        value: the double.

    Returns:
        ASCII text, e.g. ``b"3.1400000000000001"``, ``b"1e+20"``, ``b"-inf"``.
    """
    if value != value:
        return b"nan"  # glibc would print "-nan" for a negative NaN; Redis never sends that
    return b"%.17g" % value


def encode(reply: Reply, resp3: bool) -> bytes:
    """Encode one reply value for the wire.

    Args:
        reply: a reply value (see `protocol.replies` for each type's meaning).
        resp3: the connection's protocol version is 3 (``HELLO 3``), else 2.

    Returns:
        The encoded bytes.

    Raises:
        TypeError: a value (maybe nested) has no wire meaning; our bug.
    """
    out = bytearray()
    encode_into(out, reply, resp3)
    return bytes(out)


def encode_into(out: bytearray, reply: Reply, resp3: bool) -> None:
    """Append one encoded reply to ``out``; the fast form of `encode`.

    Args:
        out: the connection's output buffer.
        reply: a reply value (see `protocol.replies`).
        resp3: RESP3 if true, else RESP2.

    Raises:
        TypeError: a value (maybe nested) has no wire meaning; ``out`` may
            then hold part of the reply.
    """
    t = type(reply)
    # Fast path: exact types, most frequent first.
    if t is SimpleString:
        out += b"+%b\r\n" % reply.translate(_CRLF_TO_SPACE)  # faster than testing for CR/LF
    elif t is bytes:
        out += b"$%d\r\n%b\r\n" % (len(reply), reply)
    elif t is int:
        out += b":%d\r\n" % reply
    elif reply is None:
        out += b"_\r\n" if resp3 else b"$-1\r\n"
    elif t is list or t is Bulks:
        n = len(reply)
        if n >= _JOINED_BULKS_MIN and (t is Bulks or _BYTES_ONLY.issuperset(map(type, reply))):
            # Arrays of bulks (LRANGE, MGET, HGETALL...): headers looked up and
            # everything joined in C, instead of a loop in Python.
            out += b"*%d" % n  # its CRLF starts the first header
            parts = [b"\r\n"] * (2 * n + 1)
            try:  # every header from the table, in one C call
                parts[0:2 * n:2] = itemgetter(*map(len, reply))(_BULK_HEADERS)
            except IndexError:  # an element of 1024 bytes or more
                parts[0:2 * n:2] = map(_BULK_HEADER, map(len, reply))
            parts[1::2] = reply
            out += b"".join(parts)
            return
        out += b"*%d\r\n" % n
        for item in reply:
            if type(item) is bytes:
                out += b"$%d\r\n%b\r\n" % (len(item), item)
            else:
                encode_into(out, item, resp3)
    elif t is ErrorReply:
        # Redis trims CR/LF off the end of a formatted error, then turns the rest into spaces.
        out += b"-%b\r\n" % reply.rstrip(b"\r\n").translate(_CRLF_TO_SPACE)
    else:
        _encode_other(out, reply, resp3)


def encode_many(out: bytearray, replies: list[Reply], resp3: bool) -> None:
    """`encode_into` for each reply in turn: the server's way to encode a pipeline.

    The usual replies (bulk, +OK, integer, null, empty array) are encoded here with no call
    each and collected as parts, joined once: appending to a list is cheaper
    than growing the bytearray per reply.
    """
    parts: list[bytes] = []
    put = parts.append
    for reply in replies:
        if type(reply) is bytes:
            size = len(reply)
            put(_BULK_HEADERS_CRLF[size] if size < _BULK_HEADERS_N else b"$%d\r\n" % size)
            put(reply)
            put(b"\r\n")
        elif reply is OK:
            put(b"+OK\r\n")
        elif type(reply) is int:
            put(_INTEGERS[reply] if 0 <= reply < _INTEGERS_N else b":%d\r\n" % reply)
        elif reply is None:
            put(b"_\r\n" if resp3 else b"$-1\r\n")
        elif type(reply) is list and not reply:  # a missing key's range or pop
            put(b"*0\r\n")
        else:
            if parts:
                out += b"".join(parts)
                parts.clear()
            encode_into(out, reply, resp3)
    if parts:
        out += b"".join(parts)


def _encode_other(out: bytearray, reply: Reply, resp3: bool) -> None:
    """`encode_into` for everything off the fast path; subclasses resolved in order."""
    if reply is NULL_ARRAY:
        out += b"_\r\n" if resp3 else b"*-1\r\n"
    elif isinstance(reply, bool):  # before int: bool is an int subclass
        if resp3:
            out += b"#t\r\n" if reply else b"#f\r\n"
        else:
            out += b":1\r\n" if reply else b":0\r\n"
    elif isinstance(reply, BigNumber):
        if resp3:
            out += b"(%d\r\n" % reply
        else:
            text = b"%d" % reply
            out += b"$%d\r\n%b\r\n" % (len(text), text)
    elif isinstance(reply, float):
        text = format_double(reply)
        if resp3:
            out += b",%b\r\n" % text
        else:
            out += b"$%d\r\n%b\r\n" % (len(text), text)
    elif isinstance(reply, Verbatim):
        if resp3:
            out += b"=%d\r\ntxt:%b\r\n" % (len(reply) + 4, reply)
        else:
            out += b"$%d\r\n%b\r\n" % (len(reply), reply)
    elif isinstance(reply, SimpleString):
        out += b"+%b\r\n" % reply.translate(_CRLF_TO_SPACE)
    elif isinstance(reply, ErrorReply):
        # Redis trims CR/LF off the end of a formatted error, then turns the rest into spaces.
        out += b"-%b\r\n" % reply.rstrip(b"\r\n").translate(_CRLF_TO_SPACE)
    elif isinstance(reply, (bytes, bytearray, memoryview)):
        data = bytes(reply)
        out += b"$%d\r\n%b\r\n" % (len(data), data)
    elif isinstance(reply, int):
        out += b":%d\r\n" % reply
    elif isinstance(reply, dict):
        out += (b"%%%d\r\n" % len(reply)) if resp3 else (b"*%d\r\n" % (2 * len(reply)))
        for key, value in reply.items():
            encode_into(out, key, resp3)
            encode_into(out, value, resp3)
    elif isinstance(reply, Pairs):
        out += (b"%%%d\r\n" % len(reply)) if resp3 else (b"*%d\r\n" % (2 * len(reply)))
        for key, value in reply:
            encode_into(out, key, resp3)
            encode_into(out, value, resp3)
    elif isinstance(reply, Spliced):
        for item in reply:
            encode_into(out, item, resp3)
    elif isinstance(reply, (SetReply, Push, list, tuple)):
        if resp3 and isinstance(reply, SetReply):
            out += b"~%d\r\n" % len(reply)
        elif resp3 and isinstance(reply, Push):
            out += b">%d\r\n" % len(reply)
        else:
            out += b"*%d\r\n" % len(reply)
        for item in reply:
            encode_into(out, item, resp3)
    else:
        raise TypeError(f"no RESP encoding for {type(reply).__name__}: {reply!r}")
