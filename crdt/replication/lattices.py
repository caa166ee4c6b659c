"""State-based CRDTs (join semilattices) for replication and gossip.

Strategy: every lattice is a frozen dataclass with a pure ``merge(other)``
that returns a new value: the least upper bound, so merging is commutative,
associative and idempotent and replicas that have exchanged the same states
hold equal values whatever the order, duplication or batching of messages.
Each type also has ``to_json()`` / ``from_json()`` for gossip and a read
accessor (``value``).

Determinism: nothing depends on ``hash()`` or on set/dict iteration order.
JSON forms sort wherever the order is free, so equal values encode to equal
bytes. Values are compared and hashed through `canonical_bytes`, a tagged,
length-prefixed encoding that is identical in every process.

* `GSet`: grow-only set of ints and strings; merge is union.
* `GCounter`: per-node counts (a `VectorClock`); merge is pointwise max;
  the value is the sum.
* `PNCounter`: a pair of GCounters (increments, decrements).
* `MaxInt`: an integer that only grows; merge is max.
* `LWWRegister`: a value stamped with a hybrid `Timestamp`; merge keeps the
  larger timestamp. Equal timestamps with different values (only possible
  when a node reuses a timestamp, e.g. after a restart that lost its clock)
  are resolved by keeping the value with the larger `canonical_bytes`, so
  merge stays a deterministic join over the total order
  ``(timestamp, canonical_bytes(value))``.
* `LWWMap`: key -> LWWRegister, merged per key; the eventual-consistency
  keyspace. A deleted key keeps a tombstone register whose value is None.
  Keys (``str`` or ``bytes``) live in `SHARD_COUNT` (16) shards chosen by
  `shard_of` (CRC-32, stable across processes). `digest` sums a 64-bit
  BLAKE2b hash of each entry modulo 2**64: it does not depend on order and
  can be maintained incrementally (add the new entry's hash, subtract the
  old). Two replicas compare their 16 shard digests and exchange only the
  shards that differ (`differing_shards`, `LWWMap.restrict`).

Tombstones are never collected here; that needs a stability rule the node
owns (e.g. all replicas acknowledged), and is out of scope for this module.
"""

from __future__ import annotations

import dataclasses
import hashlib
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Final, Generic, TypeAlias, TypeVar

from crdt.replication.clocks import DecodeError, Timestamp, VectorClock

__all__ = [
    "SHARD_COUNT",
    "DIGEST_BITS",
    "GCounter",
    "GSet",
    "Key",
    "LWWMap",
    "LWWRegister",
    "MaxInt",
    "PNCounter",
    "canonical_bytes",
    "decode_bytes",
    "differing_shards",
    "digest",
    "encode_bytes",
    "entry_digest",
    "shard_of",
]

#: Number of keyspace shards: the unit of digests and anti-entropy.
SHARD_COUNT: Final[int] = 16
#: Width of `entry_digest` and `digest` values.
DIGEST_BITS: Final[int] = 64
_DIGEST_MOD: Final[int] = 1 << DIGEST_BITS

V = TypeVar("V")
Key: TypeAlias = str | bytes
GSetElement: TypeAlias = int | str


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# --- canonical encoding -------------------------------------------------------------


def canonical_bytes(value: object) -> bytes:
    """A deterministic, injective byte encoding of a value.

    Every item is ``tag + length + b":" + payload`` so concatenations never
    collide. Dict items and set elements are sorted by their own encoding.
    Equal encodings imply equal values (``1`` and ``1.0`` and ``True``
    encode differently, which only makes the encoding finer).

    Args:
        value: None, bool, int, float, str, bytes/bytearray/memoryview,
            list, tuple, dict, set, frozenset, or a dataclass instance whose
            fields are all of these.

    Returns:
        The encoding; the same in every process.

    Raises:
        TypeError: the value (or something inside it) has another type.
    """
    parts: list[bytes] = []
    _canonical_into(value, parts)
    return b"".join(parts)


def _item(tag: bytes, payload: bytes) -> bytes:
    return tag + str(len(payload)).encode() + b":" + payload


def _canonical_into(value: object, out: list[bytes]) -> None:
    if value is None:
        out.append(b"N")
    elif value is True:
        out.append(b"T")
    elif value is False:
        out.append(b"F")
    elif isinstance(value, int):
        out.append(_item(b"i", str(int(value)).encode()))
    elif isinstance(value, float):
        out.append(_item(b"d", repr(float(value)).encode()))
    elif isinstance(value, str):
        out.append(_item(b"s", value.encode("utf-8", "surrogatepass")))
    elif isinstance(value, bytes | bytearray | memoryview):
        out.append(_item(b"b", bytes(value)))
    elif isinstance(value, list | tuple):
        tag = b"l" if isinstance(value, list) else b"t"
        out.append(_item(tag, b"".join(canonical_bytes(v) for v in value)))
    elif isinstance(value, dict | MappingProxyType):
        pairs = sorted(canonical_bytes(k) + canonical_bytes(v) for k, v in value.items())
        out.append(_item(b"m", b"".join(pairs)))
    elif isinstance(value, set | frozenset):
        out.append(_item(b"e", b"".join(sorted(canonical_bytes(v) for v in value))))
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        cls = type(value)
        name = f"{cls.__module__}.{cls.__qualname__}".encode()
        fields = b"".join(canonical_bytes(getattr(value, f.name)) for f in dataclasses.fields(value))
        out.append(_item(b"o", _item(b"s", name) + fields))
    else:
        raise TypeError(f"no canonical encoding for {type(value).__name__}: {value!r}")


# --- bytes <-> JSON string ---------------------------------------------------------------


def encode_bytes(data: bytes) -> str:
    """Map bytes to a JSON-safe string, one character per byte (Latin-1).

    A ready ``encode_key``/``encode_value`` hook for `LWWMap.to_json`.

    Args:
        data: any bytes.

    Returns:
        A str with code points 0..255; orjson writes it as valid UTF-8.
    """
    return data.decode("latin-1")


def decode_bytes(data: object) -> bytes:
    """Inverse of `encode_bytes`, validating peer input.

    Args:
        data: parsed JSON.

    Returns:
        The original bytes.

    Raises:
        DecodeError: ``data`` is not a string of code points 0..255.
    """
    if not isinstance(data, str):
        raise DecodeError(f"expected a byte string, got {data!r}")
    try:
        return data.encode("latin-1")
    except UnicodeEncodeError as exc:
        raise DecodeError(f"byte string has a character above U+00FF: {data!r}") from exc


# --- GSet ---------------------------------------------------------------------------------


def _gset_sort_key(x: GSetElement) -> tuple[bool, Any]:
    return (isinstance(x, str), x)


def _check_gset_element(x: object) -> bool:
    return _is_int(x) or isinstance(x, str)


@dataclass(frozen=True, slots=True)
class GSet:
    """A grow-only set of ints and strings. Merge is union.

    Attributes:
        elements: the members (``1`` and ``"1"`` are different members).
    """

    elements: frozenset[GSetElement] = frozenset()

    @property
    def value(self) -> frozenset[GSetElement]:
        """The members."""
        return self.elements

    def __contains__(self, x: object) -> bool:
        return _check_gset_element(x) and x in self.elements

    def __len__(self) -> int:
        return len(self.elements)

    def add(self, x: GSetElement) -> GSet:
        """Add one member.

        Args:
            x: an int (not a bool) or a str.

        Returns:
            A new set; this one is unchanged.

        Raises:
            TypeError: ``x`` is not an int or a str.
        """
        if not _check_gset_element(x):
            raise TypeError(f"GSet members are ints or strings, got {x!r}")
        return GSet(self.elements | {x})

    def merge(self, other: GSet) -> GSet:
        """Union.

        Args:
            other: another set.

        Returns:
            A set holding the members of both.
        """
        return GSet(self.elements | other.elements)

    def to_json(self) -> list[GSetElement]:
        """Encode as a list: ints ascending, then strings ascending.

        Returns:
            The sorted members.
        """
        return sorted(self.elements, key=_gset_sort_key)

    @classmethod
    def from_json(cls, data: object) -> GSet:
        """Decode the output of `to_json` (duplicates are tolerated).

        Args:
            data: parsed JSON from a peer.

        Returns:
            The set.

        Raises:
            DecodeError: ``data`` is not a list of ints and strings.
        """
        if not isinstance(data, list) or not all(_check_gset_element(x) for x in data):
            raise DecodeError(f"GSet must be a list of ints and strings, got {data!r}")
        return cls(frozenset(data))


# --- counters ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GCounter:
    """A grow-only counter: one count per node, merged by pointwise max.

    Attributes:
        counts: node id -> that node's total increments.
    """

    counts: VectorClock = VectorClock()

    @property
    def value(self) -> int:
        """The sum of all nodes' counts."""
        return sum(c for _, c in self.counts.entries)

    def increment(self, node: str, n: int = 1) -> GCounter:
        """Add ``n`` at ``node``.

        Args:
            node: the node doing the increment (normally this node).
            n: amount, >= 0.

        Returns:
            A new counter.

        Raises:
            ValueError: ``n`` is negative or not an int.
        """
        return GCounter(self.counts.increment(node, n))

    def merge(self, other: GCounter) -> GCounter:
        """Pointwise maximum of the per-node counts.

        Args:
            other: another counter.

        Returns:
            The merged counter.
        """
        return GCounter(self.counts.merge(other.counts))

    def to_json(self) -> dict[str, int]:
        """Encode as ``{node: count}`` with sorted keys.

        Returns:
            The per-node counts (zeros omitted).
        """
        return self.counts.to_json()

    @classmethod
    def from_json(cls, data: object) -> GCounter:
        """Decode the output of `to_json`.

        Args:
            data: parsed JSON from a peer.

        Returns:
            The counter.

        Raises:
            DecodeError: not an object of non-negative integers.
        """
        return cls(VectorClock.from_json(data))


@dataclass(frozen=True, slots=True)
class PNCounter:
    """A counter that goes up and down: increments and decrements kept apart.

    Attributes:
        p: increments per node.
        n: decrements per node (as positive amounts).
    """

    p: GCounter = GCounter()
    n: GCounter = GCounter()

    @property
    def value(self) -> int:
        """Increments minus decrements."""
        return self.p.value - self.n.value

    def add(self, node: str, delta: int) -> PNCounter:
        """Add ``delta`` (any sign) at ``node``.

        Args:
            node: the node doing the update.
            delta: the amount; negative values decrement.

        Returns:
            A new counter.

        Raises:
            ValueError: ``delta`` is not an int.
        """
        if not _is_int(delta):
            raise ValueError(f"delta must be an integer, got {delta!r}")
        if delta >= 0:
            return PNCounter(self.p.increment(node, delta), self.n)
        return PNCounter(self.p, self.n.increment(node, -delta))

    def merge(self, other: PNCounter) -> PNCounter:
        """Merge increments and decrements separately.

        Args:
            other: another counter.

        Returns:
            The merged counter.
        """
        return PNCounter(self.p.merge(other.p), self.n.merge(other.n))

    def to_json(self) -> dict[str, dict[str, int]]:
        """Encode as ``{"n": {...}, "p": {...}}``.

        Returns:
            Both halves, each with sorted keys.
        """
        return {"n": self.n.to_json(), "p": self.p.to_json()}

    @classmethod
    def from_json(cls, data: object) -> PNCounter:
        """Decode the output of `to_json`.

        Args:
            data: parsed JSON from a peer.

        Returns:
            The counter.

        Raises:
            DecodeError: not ``{"p": counts, "n": counts}``.
        """
        if not isinstance(data, dict) or set(data) != {"p", "n"}:
            raise DecodeError(f"PNCounter must be an object with keys 'p' and 'n', got {data!r}")
        return cls(GCounter.from_json(data["p"]), GCounter.from_json(data["n"]))


@dataclass(frozen=True, slots=True)
class MaxInt:
    """An integer that only grows. Merge is max.

    Attributes:
        value: the current maximum.
    """

    value: int

    def __post_init__(self) -> None:
        assert _is_int(self.value), self

    def raise_to(self, n: int) -> MaxInt:
        """Move up to at least ``n``.

        Args:
            n: a candidate value.

        Returns:
            ``MaxInt(max(self.value, n))``.
        """
        return MaxInt(max(self.value, n))

    def merge(self, other: MaxInt) -> MaxInt:
        """The larger of the two.

        Args:
            other: another MaxInt.

        Returns:
            The maximum.
        """
        return self if self.value >= other.value else other

    def to_json(self) -> int:
        """Encode as a JSON integer.

        Returns:
            The value.
        """
        return self.value

    @classmethod
    def from_json(cls, data: object) -> MaxInt:
        """Decode the output of `to_json`.

        Args:
            data: parsed JSON from a peer.

        Returns:
            The MaxInt.

        Raises:
            DecodeError: ``data`` is not an integer.
        """
        if not _is_int(data):
            raise DecodeError(f"MaxInt must be an integer, got {data!r}")
        assert isinstance(data, int)
        return cls(data)


# --- last-writer-wins ---------------------------------------------------------------------


def _identity(x: Any) -> Any:
    return x


@dataclass(frozen=True, slots=True)
class LWWRegister(Generic[V]):
    """A value with the timestamp of the write that set it.

    Merge keeps the register with the larger timestamp; on equal timestamps,
    the one whose value has the larger `canonical_bytes`. That is a total
    order, so merge is a join even when a timestamp was reused.

    Attributes:
        value: the written value (None is the tombstone in an `LWWMap`).
            Must be something `canonical_bytes` accepts.
        ts: the write's hybrid timestamp.
    """

    value: V
    ts: Timestamp

    def wins_over(self, other: LWWRegister[V]) -> bool:
        """Whether ``self`` survives a merge with ``other``.

        Args:
            other: another register.

        Returns:
            True when self's ``(ts, canonical_bytes(value))`` is >= other's.
        """
        if self.ts != other.ts:
            return self.ts > other.ts
        if self.value is other.value:
            return True
        return canonical_bytes(self.value) >= canonical_bytes(other.value)

    def merge(self, other: LWWRegister[V]) -> LWWRegister[V]:
        """Keep the later write.

        Args:
            other: another register.

        Returns:
            Whichever of the two wins (see `wins_over`).
        """
        return self if self.wins_over(other) else other

    def set(self, value: V, ts: Timestamp) -> LWWRegister[V]:
        """Apply a write; a write older than the current one is ignored.

        Args:
            value: the new value.
            ts: its timestamp.

        Returns:
            ``self.merge(LWWRegister(value, ts))``.
        """
        return self.merge(LWWRegister(value, ts))

    def to_json(self, encode_value: Callable[[V], Any] | None = None) -> dict[str, Any]:
        """Encode as ``{"ts": [...], "value": ...}``.

        Args:
            encode_value: turns the value into JSON (default: used as is).
                Never called for a None value, which encodes as null.

        Returns:
            The JSON form.
        """
        enc = encode_value or _identity
        return {"ts": self.ts.to_json(), "value": None if self.value is None else enc(self.value)}

    @classmethod
    def from_json(
        cls, data: object, decode_value: Callable[[Any], V] | None = None
    ) -> LWWRegister[V]:
        """Decode the output of `to_json`.

        Args:
            data: parsed JSON from a peer.
            decode_value: inverse of the encoder (default: used as is); never
                called for null. It should raise `DecodeError` on bad input.

        Returns:
            The register.

        Raises:
            DecodeError: not ``{"ts": timestamp, "value": ...}``.
        """
        if not isinstance(data, dict) or set(data) != {"ts", "value"}:
            raise DecodeError(f"LWWRegister must be an object with keys 'ts' and 'value', got {data!r}")
        dec = decode_value or _identity
        raw = data["value"]
        return cls(None if raw is None else dec(raw), Timestamp.from_json(data["ts"]))


# --- sharding and digests -----------------------------------------------------------------


def _key_bytes(key: Key) -> bytes:
    if isinstance(key, bytes):
        return key
    if isinstance(key, str):
        return key.encode("utf-8", "surrogatepass")
    raise TypeError(f"keys are str or bytes, got {type(key).__name__}: {key!r}")


def _key_sort(key: Key) -> tuple[bool, bytes]:
    return (isinstance(key, bytes), _key_bytes(key))


def shard_of(key: Key) -> int:
    """The shard a key belongs to.

    Args:
        key: a str (hashed as UTF-8) or bytes.

    Returns:
        ``zlib.crc32(key) % SHARD_COUNT``, the same in every process.

    Raises:
        TypeError: the key is neither str nor bytes.
    """
    return zlib.crc32(_key_bytes(key)) % SHARD_COUNT


def entry_digest(key: Key, register: LWWRegister[Any]) -> int:
    """A 64-bit hash of one keyspace entry: key, timestamp and value.

    Args:
        key: the entry's key.
        register: its register (a tombstone counts too).

    Returns:
        An int in ``0 .. 2**64 - 1``, the same in every process.

    Raises:
        TypeError: the value has no `canonical_bytes` encoding.
    """
    data = canonical_bytes((key, register.ts.physical_ms, register.ts.logical, register.ts.node_id, register.value))
    return int.from_bytes(hashlib.blake2b(data, digest_size=DIGEST_BITS // 8).digest(), "big")


def digest(entries: Mapping[Key, LWWRegister[Any]] | Iterable[tuple[Key, LWWRegister[Any]]]) -> int:
    """An order-independent digest of a set of entries.

    Args:
        entries: a mapping key -> register, or ``(key, register)`` pairs
            with distinct keys.

    Returns:
        The sum of `entry_digest` over the entries, modulo 2**64; 0 when
        empty. Equal entry sets give equal digests in every process.
    """
    pairs = entries.items() if isinstance(entries, Mapping) else entries
    return sum(entry_digest(k, r) for k, r in pairs) % _DIGEST_MOD


def differing_shards(mine: Sequence[int], theirs: Sequence[int]) -> list[int]:
    """The shards whose digests differ.

    Args:
        mine: this replica's `LWWMap.shard_digests()`.
        theirs: the peer's (``SHARD_COUNT`` ints).

    Returns:
        Ascending shard indexes where the digests differ.

    Raises:
        ValueError: either sequence does not have ``SHARD_COUNT`` items.
    """
    if len(mine) != SHARD_COUNT or len(theirs) != SHARD_COUNT:
        raise ValueError(f"expected {SHARD_COUNT} digests, got {len(mine)} and {len(theirs)}")
    return [i for i in range(SHARD_COUNT) if mine[i] != theirs[i]]


# --- LWWMap ------------------------------------------------------------------------------

_Shard: TypeAlias = Mapping[Key, LWWRegister[Any]]


def _empty_shards() -> tuple[_Shard, ...]:
    return tuple(MappingProxyType({}) for _ in range(SHARD_COUNT))


def _merge_shards(a: _Shard, b: _Shard) -> _Shard:
    if a is b or not b:
        return a
    if not a:
        return b
    merged = dict(a)
    for key, reg in b.items():
        mine = merged.get(key)
        merged[key] = reg if mine is None else mine.merge(reg)
    return MappingProxyType(merged)


@dataclass(frozen=True, slots=True)
class LWWMap:
    """A map of last-writer-wins registers, merged key by key, in 16 shards.

    A write copies only the shard of its key. Shard mappings are read-only
    and shared between versions of the map, never modified.

    Attributes:
        shards: ``SHARD_COUNT`` read-only mappings; key ``k`` is in
            ``shards[shard_of(k)]``. Build maps with `LWWMap()`, `set`,
            `delete`, `put` and `from_items`, not by hand.
    """

    shards: tuple[_Shard, ...] = field(default_factory=_empty_shards)

    def __post_init__(self) -> None:
        assert len(self.shards) == SHARD_COUNT, len(self.shards)

    @classmethod
    def from_items(cls, items: Iterable[tuple[Key, LWWRegister[Any]]]) -> LWWMap:
        """Build a map; repeated keys are merged.

        Args:
            items: ``(key, register)`` pairs.

        Returns:
            The map.

        Raises:
            TypeError: a key is neither str nor bytes.
        """
        shards: list[dict[Key, LWWRegister[Any]]] = [{} for _ in range(SHARD_COUNT)]
        for key, reg in items:
            shard = shards[shard_of(key)]
            mine = shard.get(key)
            shard[key] = reg if mine is None else mine.merge(reg)
        return cls(tuple(MappingProxyType(s) for s in shards))

    def __len__(self) -> int:
        return sum(len(s) for s in self.shards)

    def __repr__(self) -> str:
        return f"LWWMap({dict(self.items())!r})"

    def get(self, key: Key) -> LWWRegister[Any] | None:
        """The register for ``key``, tombstones included.

        Args:
            key: the key.

        Returns:
            Its register, or None when the map has never seen the key.
        """
        return self.shards[shard_of(key)].get(key)

    def get_value(self, key: Key, default: Any = None) -> Any:
        """The live value for ``key``.

        Args:
            key: the key.
            default: returned when the key is absent or deleted.

        Returns:
            The register's value, or ``default``.
        """
        reg = self.get(key)
        return default if reg is None or reg.value is None else reg.value

    def put(self, key: Key, register: LWWRegister[Any]) -> LWWMap:
        """Merge one register into the entry for ``key``.

        Args:
            key: the key.
            register: a register (e.g. received in a delta).

        Returns:
            A new map (or this one when nothing changed).
        """
        i = shard_of(key)
        shard = self.shards[i]
        mine = shard.get(key)
        merged = register if mine is None else mine.merge(register)
        if merged is mine:
            return self
        new_shard = dict(shard)
        new_shard[key] = merged
        return LWWMap(self.shards[:i] + (MappingProxyType(new_shard),) + self.shards[i + 1 :])

    def set(self, key: Key, value: Any, ts: Timestamp) -> LWWMap:
        """Write ``value`` at ``ts`` (ignored if an equal or later write won).

        Args:
            key: the key.
            value: the new value; must not be None (that is `delete`).
            ts: the write's timestamp.

        Returns:
            A new map.
        """
        assert value is not None, "use delete() to remove a key"
        return self.put(key, LWWRegister(value, ts))

    def delete(self, key: Key, ts: Timestamp) -> LWWMap:
        """Write a tombstone for ``key`` at ``ts``.

        Args:
            key: the key.
            ts: the delete's timestamp.

        Returns:
            A new map.
        """
        return self.put(key, LWWRegister(None, ts))

    def merge(self, other: LWWMap) -> LWWMap:
        """Merge key by key, shard by shard.

        Args:
            other: another map (a full state or a few shards of one).

        Returns:
            The merged map; shards that other leaves empty are shared.
        """
        return LWWMap(tuple(_merge_shards(a, b) for a, b in zip(self.shards, other.shards, strict=True)))

    def items(self) -> Iterator[tuple[Key, LWWRegister[Any]]]:
        """All entries, tombstones included, in a deterministic key order.

        Returns:
            ``(key, register)`` pairs: str keys by UTF-8 bytes, then bytes keys.
        """
        everything = [pair for shard in self.shards for pair in shard.items()]
        everything.sort(key=lambda pair: _key_sort(pair[0]))
        return iter(everything)

    @property
    def value(self) -> dict[Key, Any]:
        """The live keyspace: key -> value, tombstones left out, keys sorted."""
        return {k: r.value for k, r in self.items() if r.value is not None}

    def shard_items(self, index: int) -> list[tuple[Key, LWWRegister[Any]]]:
        """One shard's entries in deterministic key order.

        Args:
            index: a shard, ``0 <= index < SHARD_COUNT``.

        Returns:
            Its ``(key, register)`` pairs.
        """
        return sorted(self.shards[index].items(), key=lambda pair: _key_sort(pair[0]))

    def shard_digests(self) -> tuple[int, ...]:
        """The `digest` of every shard.

        Returns:
            ``SHARD_COUNT`` ints, comparable across replicas.
        """
        return tuple(digest(s) for s in self.shards)

    def restrict(self, indexes: Iterable[int]) -> LWWMap:
        """The sub-map holding only some shards, to send to a peer.

        Args:
            indexes: shard numbers to keep.

        Returns:
            A map with those shards and every other shard empty.
        """
        keep = set(indexes)
        empty: _Shard = MappingProxyType({})
        return LWWMap(tuple(s if i in keep else empty for i, s in enumerate(self.shards)))

    def to_json(
        self,
        encode_key: Callable[[Key], Any] | None = None,
        encode_value: Callable[[Any], Any] | None = None,
    ) -> list[list[Any]]:
        """Encode as ``[[key, register_json], ...]`` in `items` order.

        Args:
            encode_key: turns a key into JSON (default: used as is, so str
                keys only; pass `encode_bytes` for bytes keys).
            encode_value: passed to `LWWRegister.to_json`.

        Returns:
            The JSON form.
        """
        enc = encode_key or _identity
        return [[enc(k), r.to_json(encode_value)] for k, r in self.items()]

    @classmethod
    def from_json(
        cls,
        data: object,
        decode_key: Callable[[Any], Key] | None = None,
        decode_value: Callable[[Any], Any] | None = None,
    ) -> LWWMap:
        """Decode the output of `to_json`; repeated keys are merged.

        Args:
            data: parsed JSON from a peer.
            decode_key: inverse of the key encoder (default: keys must be
                JSON strings); should raise `DecodeError` on bad input.
            decode_value: passed to `LWWRegister.from_json`.

        Returns:
            The map.

        Raises:
            DecodeError: the structure, a key or a register is invalid.
        """
        if not isinstance(data, list):
            raise DecodeError(f"LWWMap must be a list of [key, register] pairs, got {data!r}")
        items: list[tuple[Key, LWWRegister[Any]]] = []
        for pair in data:
            if not isinstance(pair, list) or len(pair) != 2:
                raise DecodeError(f"LWWMap entry must be [key, register], got {pair!r}")
            key = pair[0] if decode_key is None else decode_key(pair[0])
            if not isinstance(key, str | bytes):
                raise DecodeError(f"LWWMap key must be a string, got {pair[0]!r}")
            items.append((key, LWWRegister.from_json(pair[1], decode_value)))
        return cls.from_items(items)
