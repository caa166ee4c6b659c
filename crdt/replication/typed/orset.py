"""Sets: an add-wins observed-remove set (Bieniusa et al.'s optimized OR-set, in delta form).

Rules:

* SADD of a member adds a fresh dot and replaces the member's dots this
  replica had seen (so a member carries one dot per concurrent adder, not
  one per SADD).
* SREM (and SPOP, SMOVE's source side, and the set side of SINTERSTORE and
  friends, which the engine turns into adds and removes) removes the dots of
  the member this replica had seen. A concurrent SADD's dot was not seen, so
  it survives: a concurrent SADD and SREM of one member keep it (add-wins),
  as Active-Active's sets do. Removed members leave no tombstone: their dots
  live on only in the causal context.
"""

from __future__ import annotations

from collections.abc import Iterable

from crdt.replication.clocks import Timestamp
from crdt.replication.typed.base import Typed
from crdt.replication.typed.context import Assign, Dot

__all__ = ["ORSet"]


class ORSet(Typed):
    """An add-wins set of byte strings."""

    TAG = "set"
    __slots__ = ()

    def add(self, member: bytes, dot: Dot, ts: Timestamp) -> ORSet:
        """SADD one member. Returns the delta."""
        return self._wrap(self.store.write(("set", bytes(member)), dot, Assign(ts, None)))

    def remove(self, members: Iterable[bytes]) -> ORSet:
        """SREM: remove what this replica saw of each member. Returns the delta."""
        return self._wrap(self.store.remove([("set", bytes(m)) for m in members]))

    def members(self) -> list[bytes]:
        """SMEMBERS, sorted."""
        return sorted(m for m, _ in self._items())

    def __contains__(self, member: object) -> bool:
        return ("set", member) in self.store.entries

    def __len__(self) -> int:
        return sum(1 for _ in self._items())
