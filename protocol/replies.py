"""Reply values shared by the command engine and the RESP encoder.

Strategy: a reply is a plain Python value whose *type* says how it goes on
the wire, so handlers build replies without knowing the protocol version.

    bytes / bytearray   bulk string
    SimpleString        +status
    ErrorReply          -error (the text starts with its code: b"ERR ...")
    int                 :integer          (bool is checked first, see below)
    bool                RESP3 #t/#f, RESP2 :1/:0
    float               RESP3 ,double, RESP2 bulk string formatted as Redis does
    None                RESP3 _, RESP2 $-1 (null bulk)
    NULL_ARRAY          RESP3 _, RESP2 *-1 (null multi-bulk)
    list / tuple        array
    Bulks               array of strings only (bytes, bytearray): no per-item type test
    dict                RESP3 %map, RESP2 flat array of key, value, ...
    SetReply            RESP3 ~set, RESP2 array
    BigNumber           RESP3 (big number, RESP2 bulk string
    Verbatim            RESP3 =verbatim (txt), RESP2 bulk string
    Push                RESP3 >push, RESP2 array

No I/O here; `protocol.resp.encode` turns these into bytes.
"""

from __future__ import annotations

from typing import Any, Final, TypeAlias


class SimpleString(bytes):
    """A status reply such as ``+OK``. Must not contain CR or LF."""

    __slots__ = ()


class ErrorReply(bytes):
    """An error reply such as ``-ERR syntax error``; the text starts with the code."""

    __slots__ = ()

    @property
    def code(self) -> bytes:
        return self.split(b" ", 1)[0]


class SetReply(list):  # type: ignore[type-arg]
    """An unordered collection: a RESP3 set, a plain array in RESP2."""

    __slots__ = ()


class Bulks(list):  # type: ignore[type-arg]
    """An array the handler knows holds only strings (LRANGE's elements).

    Encoded as an array of bulks without testing each item's type first.
    """

    __slots__ = ()


class Push(list):  # type: ignore[type-arg]
    """An out-of-band message (pub/sub): a RESP3 push, a plain array in RESP2."""

    __slots__ = ()


class Pairs(list):  # type: ignore[type-arg]
    """A map given as (key, value) pairs, in which a key may repeat.

    Redis writes COMMAND DOCS get get as a map with the same key twice; a
    dict cannot say that.
    """

    __slots__ = ()


class Spliced(list):  # type: ignore[type-arg]
    """Replies written one after another, with no header of their own.

    Redis's stream when a command queued in MULTI answers with several
    replies (SUBSCRIBE a b): EXEC's array counts the command once, and its
    replies follow each other in that slot.
    """

    __slots__ = ()


class BigNumber(int):
    """An integer outside the signed 64-bit range."""

    __slots__ = ()


class Verbatim(bytes):
    """Human-readable text (INFO, CLIENT LIST): RESP3 verbatim ``txt``, else bulk."""

    __slots__ = ()


class _NullArray:
    __slots__ = ()

    def __repr__(self) -> str:
        return "NULL_ARRAY"


NULL_ARRAY: Final = _NullArray()

OK: Final = SimpleString(b"OK")
PONG: Final = SimpleString(b"PONG")
QUEUED: Final = SimpleString(b"QUEUED")

Reply: TypeAlias = Any
