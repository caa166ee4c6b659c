"""One Redis key as a CRDT: its type, its contents, its TTL, and observed-remove deletes.

Strategy: the key is one `DotStore` whose keys are tagged with the type
(`codec`), so every type of the key and its TTL share one causal context.
A typed view (`view`) reads and writes one type's entries.

Rules:

* Deletes are observed-remove at the key level: DEL, UNLINK, an EXPIRE whose
  time has come (each replica expires the key on its own clock and removes
  what it saw), eviction, and the delete half of RENAME/MOVE/GETDEL remove
  every dot the deleting replica had seen, contents and TTL alike. A write
  concurrent with the delete carries a dot the deleter had not seen, so it
  survives: after healing the key holds exactly the concurrent writes (for a
  set, the concurrently added members; for a counter, the concurrent
  increments, on top of 0). That is add-wins at the key level, like
  Active-Active's "delete vs update".
* Type conflicts (one replica makes the key a list while another, not having
  seen it, makes it a set): the key's type is the one whose newest surviving
  write has the largest hybrid timestamp (ties by type name). The other
  type's contents are hidden, not merged; the next local write to the key on
  any replica that sees them removes them (`claim`), and a DEL removes both.
  Every replica computes the same type from the same dots.
* TTL: PEXPIREAT/EXPIRE set it and PERSIST clears it, last writer wins by
  hybrid clock; a write that clears the TTL in Redis (SET) writes "none". A
  key that holds no type holds no TTL: `claim` on a typeless key drops any
  TTL left by an EXPIRE that raced a DEL.
"""

from __future__ import annotations

from typing import Any

from crdt.replication.clocks import Timestamp, VectorClock
from crdt.replication.typed.base import Typed
from crdt.replication.typed.codec import CODEC, TYPES
from crdt.replication.typed.context import Assign, Dot, DotStore, newest_assign
from crdt.replication.typed.ormap import ORHash
from crdt.replication.typed.orset import ORSet
from crdt.replication.typed.register import CounterRegister
from crdt.replication.typed.rlist import RList
from crdt.replication.typed.zset import ZSetCRDT

__all__ = ["VIEWS", "KeyCRDT"]

#: The typed view class of each type.
VIEWS: dict[str, type[Typed]] = {
    "string": CounterRegister, "list": RList, "set": ORSet, "hash": ORHash, "zset": ZSetCRDT,
}
_TTL = ("ttl", b"")


class KeyCRDT:
    """A whole key (module doc). Mutable; local operations return the delta (a `KeyCRDT`)."""

    __slots__ = ("store",)

    def __init__(self, store: DotStore | None = None) -> None:
        self.store = store if store is not None else DotStore()

    # -- reads ----------------------------------------------------------------------------------

    def type(self) -> str | None:
        """TYPE: the winning type (module doc), or None when the key holds nothing."""
        tags = {key[0] for key in self.store.entries}
        tags.discard("ttl")
        if len(tags) < 2:  # the usual case: no type conflict, no timestamps to compare
            return next(iter(tags), None)
        newest: dict[str, Timestamp] = {}
        for (tag, _), dots in self.store.entries.items():
            if tag == "ttl":
                continue
            ts = max(v.ts for v in dots.values())
            if tag not in newest or ts > newest[tag]:
                newest[tag] = ts
        if not newest:
            return None
        return max(newest, key=lambda t: (newest[t], t))

    def view(self, tag: str) -> Any:
        """The typed view of one type (writes through it change this key)."""
        return VIEWS[tag](self.store)

    def expire_at(self) -> int | None:
        """The absolute expiry in ms, or None (no TTL, or no key)."""
        if self.type() is None:
            return None
        best = newest_assign(self.store.dots_of(_TTL))
        return None if best is None else best.payload  # type: ignore[return-value]

    def read(self) -> tuple[str, Any] | None:
        """The key in Redis terms: ``(type, value)`` with the visible type's read, or None."""
        tag = self.type()
        if tag is None:
            return None
        v = self.view(tag)
        if tag == "string":
            return tag, v.text()
        if tag == "list":
            return tag, v.values()
        if tag == "set":
            return tag, v.members()
        return tag, v.items()

    # -- local operations ----------------------------------------------------------------------------

    def claim(self, tag: str) -> KeyCRDT:
        """Before a local write of type ``tag``: remove the other types' dots seen here (and a TTL
        left on a typeless key). Returns the delta (empty when there was nothing to remove)."""
        assert tag in TYPES, tag
        typeless = self.type() is None
        doomed = [k for k in self.store.entries if k[0] != tag and (k[0] != "ttl" or typeless)]
        return KeyCRDT(self.store.remove(doomed) if doomed else None)

    def delete(self) -> KeyCRDT:
        """DEL, expiry, eviction: observed-remove of everything. Returns the delta."""
        return KeyCRDT(self.store.clear())

    def expire(self, expire_at: int | None, dot: Dot, ts: Timestamp) -> KeyCRDT:
        """Set (or, with None, clear) the TTL. Returns the delta."""
        assert expire_at is None or expire_at >= 0, expire_at
        return KeyCRDT(self.store.write(_TTL, dot, Assign(ts, expire_at)))

    # -- lattice ---------------------------------------------------------------------------------------

    def merge(self, other: KeyCRDT | Typed | DotStore) -> KeyCRDT:
        """Join a key delta, a typed delta or a state, in place."""
        self.store.merge(other if isinstance(other, DotStore) else other.store)
        return self

    def copy(self) -> KeyCRDT:
        return KeyCRDT(self.store.copy())

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, KeyCRDT):
            return NotImplemented
        return self.store == other.store

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"KeyCRDT({self.read()!r}, {self.store!r})"

    def next_dot(self, replica: str) -> Dot:
        return self.store.next_dot(replica)

    def compact(self, stable: VectorClock) -> bool:
        """GC up to a causally stable vector; reads unchanged. True when the state changed."""
        return self.store.compact(stable)

    def forgettable(self, stable: VectorClock) -> bool:
        """Whether the keyspace may drop this key's state: it holds nothing and every dot it has
        seen is stable. The keyspace must then answer a later delta for the key by starting from
        ``KeyCRDT.fresh(stable)``, so that old dots arriving late stay removed."""
        return not self.store.entries and all(c <= stable.counter(r) for r, c in self.store.ctx.vv.items()) \
            and not self.store.ctx.cloud

    @classmethod
    def fresh(cls, floor: VectorClock) -> KeyCRDT:
        """An empty key that has seen every dot up to ``floor`` (see `forgettable`)."""
        store = DotStore()
        store.ctx.fold(floor)
        return cls(store)

    def metadata_size(self) -> int:
        return self.store.metadata_size()

    def to_json(self) -> dict[str, Any]:
        return self.store.to_json(CODEC)

    @classmethod
    def from_json(cls, data: object) -> KeyCRDT:
        """Decode a peer's key state or delta.

        Raises:
            DecodeError: malformed.
        """
        return cls(DotStore.from_json(data, CODEC))


