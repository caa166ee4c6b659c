"""The JSON codec of every typed key: tagged inner keys and per-type payloads, validated.

Strategy: all typed CRDTs of one Redis key share one `DotStore` (so one
causal context covers the whole key, and a DEL removes everything it saw).
Its keys are ``(tag, inner)`` pairs:

==========  ================================  ==========================  ===================
tag         inner key                         Assign payload              Add (increments)
==========  ================================  ==========================  ===================
``string``  ``b""``                           bytes (the text)            int or fraction
``hash``    the field (bytes)                 bytes (the value)           int or fraction
``set``     the member (bytes)                None                        refused
``zset``    the member (bytes)                float score (not NaN)       int, fraction, ±inf
``list``    the position (see `rlist`)        bytes (the element)         refused
``ttl``     ``b""``                           absolute expiry ms or None  refused
==========  ================================  ==========================  ===================

JSON: a key is ``[tag, inner]`` (bytes as Latin-1 strings, a position as
``[[n, replica, counter], ...]``); a score is its ``repr`` text (``"inf"``
included); an expiry an integer. Anything else from a peer raises
`DecodeError`.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any, Final

from crdt.replication.clocks import DecodeError
from crdt.replication.lattices import decode_bytes, encode_bytes
from crdt.replication.typed.context import DOT_COUNTER_MAX, Amount, Key

__all__ = ["CODEC", "POSITION_DEPTH_MAX", "TAGS", "TYPES", "TypedCodec"]

#: The Redis types a key can hold, by the name TYPE answers.
TYPES: Final = ("string", "list", "set", "hash", "zset")
#: Every tag: the types plus the key's TTL register.
TAGS: Final = (*TYPES, "ttl")
#: Deepest list position a peer may send (ours stay far shallower).
POSITION_DEPTH_MAX: Final[int] = 1024
#: Largest |n| in a position component (a peer cannot make us build huge ints).
POSITION_N_MAX: Final[int] = 1 << 62

_BYTES_TAGS: Final = frozenset({"set", "hash", "zset"})
_UNIT_TAGS: Final = frozenset({"string", "ttl"})


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class TypedCodec:
    """Encodes and validates ``(tag, inner)`` keys and their payloads (module doc)."""

    def sort_key(self, key: Key) -> Any:
        return key

    def encode_key(self, key: Key) -> Any:
        tag, inner = key  # type: ignore[misc]
        if tag == "list":
            return [tag, [list(c) for c in inner]]
        return [tag, encode_bytes(inner)]

    def decode_key(self, data: object) -> Key:
        if not isinstance(data, list) or len(data) != 2 or data[0] not in TAGS:
            raise DecodeError(f"a typed key must be [tag, inner] with a known tag, got {data!r:.80}")
        tag, raw = data
        if tag == "list":
            return (tag, decode_position(raw))
        inner = decode_bytes(raw)
        if tag in _UNIT_TAGS and inner:
            raise DecodeError(f"a {tag} key has no inner key, got {raw!r:.40}")
        return (tag, inner)

    def encode_payload(self, key: Key, payload: Any) -> Any:
        tag = key[0]  # type: ignore[index]
        if tag == "set":
            return None
        if tag == "zset":
            return repr(payload)
        if tag == "ttl":
            return payload
        return encode_bytes(payload)

    def decode_payload(self, key: Key, data: object) -> Any:
        tag = key[0]  # type: ignore[index]
        if tag == "set":
            if data is not None:
                raise DecodeError(f"a set member carries no payload, got {data!r:.40}")
            return None
        if tag == "zset":
            if not isinstance(data, str) or len(data) > 64:
                raise DecodeError(f"a score must be its repr text, got {data!r:.40}")
            try:
                score = float(data)
            except ValueError as exc:
                raise DecodeError(f"a score is not a number: {data!r:.40}") from exc
            if math.isnan(score):
                raise DecodeError("a score is NaN")
            return score
        if tag == "ttl":
            if data is None or (_is_int(data) and 0 <= data <= DOT_COUNTER_MAX):  # type: ignore[operator]
                return data
            raise DecodeError(f"an expiry must be null or an integer >= 0, got {data!r:.40}")
        return decode_bytes(data)

    def check_amount(self, key: Key, amount: Amount) -> None:
        tag = key[0]  # type: ignore[index]
        if tag in ("string", "hash") and isinstance(amount, int | Fraction):
            return
        if tag == "zset":
            return
        raise DecodeError(f"a {tag} key takes no increment of {amount!r:.40}")


CODEC: Final = TypedCodec()


def decode_position(raw: object) -> tuple[tuple[int, str, int], ...]:
    """A list position: a non-empty list of ``[n, replica, counter]``.

    Raises:
        DecodeError: anything else.
    """
    if not isinstance(raw, list) or not 1 <= len(raw) <= POSITION_DEPTH_MAX:
        raise DecodeError(f"a list position must be a non-empty list, got {raw!r:.80}")
    out = []
    for c in raw:
        if (not isinstance(c, list) or len(c) != 3 or not _is_int(c[0]) or abs(c[0]) > POSITION_N_MAX
                or not isinstance(c[1], str) or not _is_int(c[2]) or not 1 <= c[2] <= DOT_COUNTER_MAX):
            raise DecodeError(f"a position component must be [n, replica, counter], got {c!r:.80}")
        out.append((c[0], c[1], c[2]))
    return tuple(out)
