"""Key images: a stored value of any Redis type, with its TTL, as one comparable, JSON-able value.

Strategy: replication in eventual and causal mode is last-writer-wins per
key, so what travels is the whole key: an `Image` of its type, its contents
and its absolute expiry time. An image is immutable and canonical (a set's
members and a hash's fields sorted, a zset's members sorted), so two
replicas holding equal keys hold equal images, and `canonical_bytes` (which
digests and LWW tie-breaks use) is the same in every process.

* Strings are plain ``bytes`` contents (whatever form the engine holds: a
  ``bytearray`` or an ``int`` counter becomes its text). A string without a
  TTL travels as a bare JSON string, so the Maelstrom lin-kv wire form is
  unchanged; everything else travels as ``{"t": type, "v": contents, "x":
  expire_at_ms}`` (``x`` omitted without a TTL).
* Bytes travel as Latin-1 strings (`encode_bytes`); zset scores as their
  ``repr`` text (``"inf"``, ``"-inf"`` included; JSON has no infinities).
* Peer input is validated: a bad image raises `DecodeError`, never builds a
  value the engine could not hold (an empty collection, a NaN score).

`image_of` reads an engine value; `restore` builds a fresh engine value
from an image (the encodings a replica picks follow its own config).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Final

from crdt.commands.hashes import HashValue
from crdt.commands.lists import ListValue
from crdt.commands.sets import SetValue
from crdt.commands.zsets import ZSet
from crdt.config import Config
from crdt.keyspace import string_bytes
from crdt.replication.clocks import DecodeError
from crdt.replication.lattices import decode_bytes, encode_bytes

__all__ = ["TYPES", "Image", "image_from_json", "image_of", "image_to_json", "restore"]

#: The replicated types, by the name TYPE answers.
TYPES: Final = ("string", "list", "set", "hash", "zset")


@dataclass(frozen=True, slots=True)
class Image:
    """One key: its type, canonical contents and absolute expiry (ms, or None).

    Attributes:
        type: one of `TYPES`.
        data: ``bytes`` for a string; a tuple of elements for a list (in
            order); of sorted members for a set; of sorted ``(field, value)``
            pairs for a hash; of ``(member, score)`` pairs sorted by member
            for a zset.
        expire_at: the key's absolute expiry time in ms, None without a TTL.
    """

    type: str
    data: Any
    expire_at: int | None = None

    def expired(self, now_ms: int) -> bool:
        """Whether the key has expired at ``now_ms`` (the engine's rule: past its time)."""
        return self.expire_at is not None and now_ms > self.expire_at

    def size(self) -> int:
        """How many elements it holds (1 for a string), for logs and limits."""
        return 1 if self.type == "string" else len(self.data)


def image_of(value: Any, expire_at: int | None) -> Image:
    """The image of an engine value.

    Args:
        value: a stored value (any of the engine's types).
        expire_at: its absolute expiry in ms, or None.

    Returns:
        The image.

    Raises:
        TypeError: the value is of a type replication does not know.
    """
    text = string_bytes(value)
    if text is not None:
        return Image("string", text, expire_at)
    t = type(value)
    if t is ListValue:
        return Image("list", tuple(value), expire_at)
    if t is SetValue:
        return Image("set", tuple(sorted(value.items)), expire_at)
    if t is HashValue:
        return Image("hash", tuple(sorted(value.items())), expire_at)
    if t is ZSet:
        return Image("zset", tuple(sorted(value.scores.items())), expire_at)
    raise TypeError(f"no image for a value of type {t.__name__}")


def restore(image: Image, config: Config) -> Any:
    """A fresh engine value holding the image's contents.

    Args:
        image: a validated image.
        config: the engine's config (collection encodings follow it).

    Returns:
        The value to store (its TTL is ``image.expire_at``, set by the caller).
    """
    kind, data = image.type, image.data
    if kind == "string":
        return data
    if kind == "list":
        return ListValue(data)
    if kind == "set":
        s = SetValue()
        cap = config["set-max-intset-entries"]
        for member in data:
            s.add(member, cap)
        return s
    if kind == "hash":
        h = HashValue(data)
        limits = config.values
        if len(data) > limits["hash-max-listpack-entries"] or any(
                len(f) > limits["hash-max-listpack-value"] or len(v) > limits["hash-max-listpack-value"]
                for f, v in data):
            h.listpack = False
        return h
    # Pick the encoding first: a listpack turns a -0 score into 0, so adding
    # members to a listpack that only converts later would lose the sign of
    # the scores added before the conversion.
    limits = config.values
    z = ZSet(big=len(data) > limits["zset-max-listpack-entries"]
             or any(len(m) > limits["zset-max-listpack-value"] for m, _ in data))
    for member, score in data:
        z.add(member, score, config)
    return z


# --- JSON ----------------------------------------------------------------------------------


def _score_text(score: float) -> str:
    return repr(score)


def image_to_json(image: Image) -> Any:
    """The wire form (see module doc): a bare string for a string without TTL, else an object."""
    kind, data = image.type, image.data
    if kind == "string":
        if image.expire_at is None:
            return encode_bytes(data)
        contents: Any = encode_bytes(data)
    elif kind == "hash":
        contents = [[encode_bytes(f), encode_bytes(v)] for f, v in data]
    elif kind == "zset":
        contents = [[encode_bytes(m), _score_text(s)] for m, s in data]
    else:
        contents = [encode_bytes(x) for x in data]
    out: dict[str, Any] = {"t": kind, "v": contents}
    if image.expire_at is not None:
        out["x"] = image.expire_at
    return out


def _decode_score(raw: object) -> float:
    if not isinstance(raw, str):
        raise DecodeError(f"zset score must be a string, got {raw!r:.60}")
    try:
        score = float(raw)
    except ValueError as exc:
        raise DecodeError(f"zset score is not a number: {raw!r:.60}") from exc
    if math.isnan(score):
        raise DecodeError("zset score is NaN")
    return score


def _pairs(raw: object, what: str) -> list[list[Any]]:
    if not isinstance(raw, list) or not all(isinstance(p, list) and len(p) == 2 for p in raw):
        raise DecodeError(f"{what} contents must be a list of pairs")
    return raw


def image_from_json(data: object) -> Image:
    """Decode `image_to_json` output from a peer.

    Raises:
        DecodeError: the structure, a type, an element or the expiry is invalid.
    """
    if isinstance(data, str):
        return Image("string", decode_bytes(data))
    if not isinstance(data, dict) or not {"t", "v"} <= data.keys() or not data.keys() <= {"t", "v", "x"}:
        raise DecodeError(f"an image must be a string or an object with 't', 'v' and maybe 'x', not {data!r:.80}")
    kind, raw, expire_at = data["t"], data["v"], data.get("x")
    if expire_at is not None and (not isinstance(expire_at, int) or isinstance(expire_at, bool)
                                  or expire_at < 0):
        raise DecodeError(f"an image's expiry must be a non-negative integer, not {expire_at!r:.40}")
    if kind == "string":
        return Image("string", decode_bytes(raw), expire_at)
    if kind not in TYPES:
        raise DecodeError(f"unknown image type {kind!r:.40}")
    contents: tuple[Any, ...]
    if kind == "hash":
        contents = tuple(sorted((decode_bytes(f), decode_bytes(v)) for f, v in _pairs(raw, kind)))
        if len({f for f, _ in contents}) != len(contents):
            raise DecodeError("hash image repeats a field")
    elif kind == "zset":
        contents = tuple(sorted((decode_bytes(m), _decode_score(s)) for m, s in _pairs(raw, kind)))
        if len({m for m, _ in contents}) != len(contents):
            raise DecodeError("zset image repeats a member")
    else:
        if not isinstance(raw, list):
            raise DecodeError(f"{kind} contents must be a list")
        items = [decode_bytes(x) for x in raw]
        if kind == "set":
            contents = tuple(sorted(set(items)))
            if len(contents) != len(items):
                raise DecodeError("set image repeats a member")
        else:
            contents = tuple(items)
    if not contents:
        raise DecodeError(f"an empty {kind} cannot be stored (Redis deletes an emptied key)")
    return Image(kind, contents, expire_at)
