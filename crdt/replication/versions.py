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

* Settled digests: a server under write load always has deltas in flight,
  so its digests and its peers' never agree and every round would repair
  whole shards that are about to agree anyway (a full keyspace a second per
  pair of servers: measured, it took the links down). So each shard's digest
  is also kept per *epoch* (`EPOCH_MS` of the entry's physical time), and a
  digest can be asked for the entries older than a cutoff epoch
  (`digests(cutoff)`, `shard_items(i, cutoff)`): the two sides of an
  exchange use the initiator's cutoff, so a repair only ever concerns
  entries that had time to arrive. Epochs far behind every cutoff asked are
  folded into one sum, so the per-epoch sums stay few.

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

__all__ = ["EPOCH_MS", "Ref", "VersionTable", "epoch_of", "ref_digest"]

Ref: TypeAlias = tuple[int, bytes]
_DIGEST_MOD: Final[int] = 1 << 64
#: Width of a digest epoch (ms of an entry's physical timestamp).
EPOCH_MS: Final[int] = 1000
#: Epochs older than this many before the latest cutoff asked are folded into one sum.
EPOCHS_KEPT: Final[int] = 120


def epoch_of(ts: Timestamp) -> int:
    """The digest epoch of a timestamp."""
    return ts.physical_ms // EPOCH_MS


def ref_digest(ref: Ref, register: LWWRegister[Any]) -> int:
    """A 64-bit hash of one entry (database, key, timestamp, value), the same in every process.

    Every write is hashed once (when digests are next asked for), so this is
    on the replication path: a string's entry is encoded here directly,
    length-prefixed so that no two entries share an encoding; other values go
    through `canonical_bytes` (tagged so the two forms never collide).
    """
    ts = register.ts
    key = ref[1]
    node = ts.node_id.encode("utf-8", "surrogatepass")
    value = register.value
    if value is None:
        tail = b"N"
    elif value.type == "string":
        data = value.data
        tail = b"S%d %d|" % (len(data), -1 if value.expire_at is None else value.expire_at) + data
    else:
        tail = b"C" + canonical_bytes(value)
    head = b"%d %d %d %d %d|" % (ref[0], len(key), ts.physical_ms, ts.logical, len(node))
    return int.from_bytes(hashlib.blake2b(head + key + node + tail, digest_size=8).digest(), "big")


def _mark_digest(db: int, ts: Timestamp) -> int:
    data = canonical_bytes(("flush", db, ts.physical_ms, ts.logical, ts.node_id))
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "big")


class VersionTable:
    """Mutable ``(db, key) -> LWWRegister`` in 16 shards, with lazy digests and flush marks."""

    __slots__ = ("shards", "marks", "_digests", "_entry_digests", "_dirty", "_epochs", "_folded",
                 "_fold_below")

    def __init__(self) -> None:
        self.shards: list[dict[Ref, LWWRegister[Any]]] = [{} for _ in range(SHARD_COUNT)]
        #: db -> the timestamp of the latest flush of that database.
        self.marks: dict[int, Timestamp] = {}
        self._digests = [0] * SHARD_COUNT
        self._entry_digests: dict[Ref, tuple[int, int]] = {}  # ref -> (digest, epoch)
        self._dirty: set[Ref] = set()
        self._epochs: list[dict[int, int]] = [{} for _ in range(SHARD_COUNT)]  # shard -> epoch -> sum
        self._folded = [0] * SHARD_COUNT  # the sum of the epochs below `_fold_below`
        self._fold_below = 0

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

    def shard_items(self, index: int, cutoff: int | None = None) -> list[tuple[Ref, LWWRegister[Any]]]:
        """One shard's entries sorted by ref (only those of epochs below ``cutoff``, if given)."""
        items = self.shards[index].items()
        if cutoff is not None:
            limit = cutoff * EPOCH_MS
            items = [(ref, reg) for ref, reg in items if reg.ts.physical_ms < limit]
        return sorted(items, key=lambda pair: pair[0])

    def refs_of_db(self, db: int) -> list[Ref]:
        """Every ref of one database (tombstones included), in a deterministic order."""
        return sorted(ref for shard in self.shards for ref in shard if ref[0] == db)

    def digests(self, cutoff: int | None = None) -> list[int]:
        """The 16 shard digests (flush marks folded into shard 0), after settling dirty refs.

        Args:
            cutoff: only the entries (and marks) of epochs below this one
                (see the module doc); None: everything.
        """
        self._settle()
        if cutoff is None:
            out = list(self._digests)
        else:
            if cutoff - EPOCHS_KEPT > self._fold_below:
                self._fold(cutoff - EPOCHS_KEPT)
            out = [(self._folded[i] + sum(v for e, v in self._epochs[i].items() if e < cutoff)) % _DIGEST_MOD
                   for i in range(SHARD_COUNT)]
        for db, ts in sorted(self.marks.items()):
            if cutoff is None or epoch_of(ts) < cutoff:
                out[0] = (out[0] + _mark_digest(db, ts)) % _DIGEST_MOD
        return out

    def _fold(self, below: int) -> None:
        """Fold the epochs below ``below`` into one sum per shard (a cutoff that old is then
        answered as if it were ``below``: at worst a needless repair)."""
        for i, epochs in enumerate(self._epochs):
            for e in [e for e in epochs if e < below]:
                self._folded[i] = (self._folded[i] + epochs.pop(e)) % _DIGEST_MOD
        self._fold_below = below

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
        fold_below = self._fold_below
        for ref in self._dirty:  # sums commute: the order is free
            i = shard_of(ref[1])
            reg = self.shards[i].get(ref)
            epochs = self._epochs[i]
            old = known.pop(ref, None)
            if old is not None:
                self._add(i, epochs, old[1], -old[0], fold_below)
                digests[i] = (digests[i] - old[0]) % _DIGEST_MOD
            if reg is not None:
                new = ref_digest(ref, reg)
                epoch = epoch_of(reg.ts)
                known[ref] = (new, epoch)
                self._add(i, epochs, epoch, new, fold_below)
                digests[i] = (digests[i] + new) % _DIGEST_MOD
        self._dirty.clear()

    def _add(self, shard: int, epochs: dict[int, int], epoch: int, amount: int, fold_below: int) -> None:
        if epoch < fold_below:
            self._folded[shard] = (self._folded[shard] + amount) % _DIGEST_MOD
        else:
            epochs[epoch] = (epochs.get(epoch, 0) + amount) % _DIGEST_MOD

    def merge_entries(self, entries: Iterable[tuple[Ref, LWWRegister[Any]]]) -> list[tuple[Ref, LWWRegister[Any]]]:
        """`put` each entry; the ones that won, in the order given."""
        return [(ref, reg) for ref, reg in entries if self.put(ref, reg)]
