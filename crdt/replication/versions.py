"""The version table of a replicated keyspace: one LWW register per (database, key), plus flush marks.

Strategy: `LWWMap` (lattices) is a persistent map, right for values passed
around, but a write copies its shard; a server holding a million keys
cannot afford that per command. `VersionTable` is the mutable form the
replicas keep: 16 shard dicts keyed by ``Ref = (db, key)`` (the shard is
the key's, `shard_of`, the same in every process) holding the same
`LWWRegister`s and merging by the same rule (`LWWRegister.wins_over`).

* Shard digests are kept lazily: a write only marks its ref dirty; `digests`
  folds the dirty refs in (subtract the entry's old digest, add its new one),
  so a hot key written a thousand times between two anti-entropy rounds is
  hashed once, and a write costs a set insertion.
* Flush marks: FLUSHDB at timestamp T is one register per database, the
  *mark*, merged by max: every entry of that database older than the mark
  is dead. Locally the entries go at once; remotely a newer mark removes
  the entries it covers and any later entry older than it is refused. A
  write concurrent with the flush survives exactly when its timestamp is
  later, which is last-writer-wins at the level of the database. Marks take
  part in the digests (a replica that missed a flush differs), and travel
  with deltas and anti-entropy.

Nothing here touches the engine: `nodes.eventual.LwwKeyspace` applies what
wins to it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from typing import Any, Final, TypeAlias

from crdt.replication.clocks import Timestamp
from crdt.replication.lattices import (
    SHARD_COUNT,
    LWWRegister,
    canonical_bytes,
    shard_of,
)

__all__ = ["Ref", "VersionTable", "ref_digest"]

Ref: TypeAlias = tuple[int, bytes]
_DIGEST_MOD: Final[int] = 1 << 64


def ref_digest(ref: Ref, register: LWWRegister[Any]) -> int:
    """A 64-bit hash of one entry (database, key, timestamp, value), the same in every process."""
    ts = register.ts
    data = canonical_bytes((ref[0], ref[1], ts.physical_ms, ts.logical, ts.node_id, register.value))
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "big")


def _mark_digest(db: int, ts: Timestamp) -> int:
    data = canonical_bytes(("flush", db, ts.physical_ms, ts.logical, ts.node_id))
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "big")


class VersionTable:
    """Mutable ``(db, key) -> LWWRegister`` in 16 shards, with lazy digests and flush marks."""

    __slots__ = ("shards", "marks", "_digests", "_entry_digests", "_dirty")

    def __init__(self) -> None:
        self.shards: list[dict[Ref, LWWRegister[Any]]] = [{} for _ in range(SHARD_COUNT)]
        #: db -> the timestamp of the latest flush of that database.
        self.marks: dict[int, Timestamp] = {}
        self._digests = [0] * SHARD_COUNT
        self._entry_digests: dict[Ref, int] = {}
        self._dirty: set[Ref] = set()

    def __len__(self) -> int:
        return sum(len(s) for s in self.shards)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, VersionTable):
            return NotImplemented
        return self.shards == other.shards and self.marks == other.marks

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"VersionTable({len(self)} entries, marks={self.marks!r})"

    # -- reads ---------------------------------------------------------------------------

    def get(self, ref: Ref) -> LWWRegister[Any] | None:
        """The register of ``ref`` (tombstones included), or None."""
        return self.shards[shard_of(ref[1])].get(ref)

    def covered(self, ref: Ref, register: LWWRegister[Any]) -> bool:
        """Whether a flush mark of the ref's database is newer than the register (it is dead)."""
        mark = self.marks.get(ref[0])
        return mark is not None and register.ts < mark

    def items(self) -> Iterator[tuple[Ref, LWWRegister[Any]]]:
        """Every entry in a deterministic order (by shard, then ref)."""
        for i in range(SHARD_COUNT):
            yield from self.shard_items(i)

    def shard_items(self, index: int) -> list[tuple[Ref, LWWRegister[Any]]]:
        """One shard's entries sorted by ref."""
        return sorted(self.shards[index].items(), key=lambda pair: pair[0])

    def refs_of_db(self, db: int) -> list[Ref]:
        """Every ref of one database (tombstones included), in a deterministic order."""
        return sorted(ref for shard in self.shards for ref in shard if ref[0] == db)

    def digests(self) -> list[int]:
        """The 16 shard digests (flush marks folded into shard 0), after settling dirty refs."""
        self._settle()
        out = list(self._digests)
        for db, ts in sorted(self.marks.items()):
            out[0] = (out[0] + _mark_digest(db, ts)) % _DIGEST_MOD
        return out

    # -- writes --------------------------------------------------------------------------

    def put(self, ref: Ref, register: LWWRegister[Any]) -> bool:
        """Merge one register; True when it won (the table changed).

        A register older than its database's flush mark is refused.
        """
        if self.covered(ref, register):
            return False
        shard = self.shards[shard_of(ref[1])]
        old = shard.get(ref)
        if old is not None and (old is register or old.wins_over(register)):
            return False
        shard[ref] = register
        self._dirty.add(ref)
        return True

    def remove(self, ref: Ref) -> None:
        """Drop an entry (a flush covered it)."""
        if self.shards[shard_of(ref[1])].pop(ref, None) is not None:
            self._dirty.add(ref)

    def mark_flush(self, db: int, ts: Timestamp) -> list[tuple[Ref, LWWRegister[Any]]] | None:
        """Merge a flush mark; None when it is not newer than the one held.

        Returns:
            The entries of ``db`` it covers, now removed (their keys must go
            from the engine when they hold a value).
        """
        held = self.marks.get(db)
        if held is not None and ts <= held:
            return None
        self.marks[db] = ts
        gone: list[tuple[Ref, LWWRegister[Any]]] = []
        for shard in self.shards:
            dead = [ref for ref, reg in shard.items() if ref[0] == db and reg.ts < ts]
            for ref in dead:
                gone.append((ref, shard.pop(ref)))
                self._dirty.add(ref)
        gone.sort(key=lambda pair: pair[0])
        return gone

    def _settle(self) -> None:
        if not self._dirty:
            return
        digests, known = self._digests, self._entry_digests
        for ref in self._dirty:  # sums commute: the order is free
            i = shard_of(ref[1])
            reg = self.shards[i].get(ref)
            new = 0 if reg is None else ref_digest(ref, reg)
            old = known.pop(ref, 0)
            if reg is not None:
                known[ref] = new
            digests[i] = (digests[i] + new - old) % _DIGEST_MOD
        self._dirty.clear()

    def merge_entries(self, entries: Iterable[tuple[Ref, LWWRegister[Any]]]) -> list[tuple[Ref, LWWRegister[Any]]]:
        """`put` each entry; the ones that won, in the order given."""
        return [(ref, reg) for ref, reg in entries if self.put(ref, reg)]
