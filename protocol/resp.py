"""RESP: parse what clients send to a Redis server, encode what it answers.

This module is the face of three: `protocol.resp_reader` (the pure,
sans-I/O request parser, Redis's limits and error texts),
`protocol.resp_hiredis` (the same parser's fast path through hiredis, and
`make_reader`, which picks one) and `protocol.resp_encoder` (replies, RESP2
and RESP3). Each module's docstring gives its strategy.
"""

from __future__ import annotations

from protocol.resp_encoder import encode, encode_into, encode_many, format_double
from protocol.resp_hiredis import HIREDIS_AVAILABLE, HiredisReader, make_reader
from protocol.resp_reader import (
    ERR_BIG_BULK_COUNT,
    ERR_BIG_INLINE,
    ERR_BIG_MBULK_COUNT,
    ERR_BULK_LEN,
    ERR_EXPECTED_DOLLAR,
    ERR_MULTIBULK_LEN,
    ERR_UNAUTH_BULK_LEN,
    ERR_UNAUTH_MULTIBULK_LEN,
    ERR_UNBALANCED_QUOTES,
    INLINE_MAX_BYTES,
    MULTIBULK_LEN_MAX,
    NEED_DATA,
    PROTO_MAX_BULK_LEN,
    QUERY_BUFFER_MAX_BYTES,
    UNAUTHENTICATED_BULK_LEN_MAX,
    UNAUTHENTICATED_MULTIBULK_LEN_MAX,
    Argv,
    QueryBufferLimitError,
    Reader,
    _split_inline_args_slow,
    split_inline_args,
)

__all__ = [
    "ERR_BIG_BULK_COUNT",
    "ERR_BIG_INLINE",
    "ERR_BIG_MBULK_COUNT",
    "ERR_BULK_LEN",
    "ERR_EXPECTED_DOLLAR",
    "ERR_MULTIBULK_LEN",
    "ERR_UNAUTH_BULK_LEN",
    "ERR_UNAUTH_MULTIBULK_LEN",
    "ERR_UNBALANCED_QUOTES",
    "HIREDIS_AVAILABLE",
    "INLINE_MAX_BYTES",
    "MULTIBULK_LEN_MAX",
    "NEED_DATA",
    "PROTO_MAX_BULK_LEN",
    "QUERY_BUFFER_MAX_BYTES",
    "UNAUTHENTICATED_BULK_LEN_MAX",
    "UNAUTHENTICATED_MULTIBULK_LEN_MAX",
    "Argv",
    "HiredisReader",
    "QueryBufferLimitError",
    "Reader",
    "_split_inline_args_slow",
    "encode",
    "encode_into",
    "encode_many",
    "format_double",
    "make_reader",
    "split_inline_args",
]
