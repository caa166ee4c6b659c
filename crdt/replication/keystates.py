"""The typed state of a replicated keyspace: one `KeyCRDT` per (database, key), digests, flush marks, GC.

Strategy: every key of the eventual and causal modes is a typed CRDT
(`crdt.replication.typed`), so concurrent writes merge by data type instead
of one overwriting the other. `KeyTable` holds them, mutable, in 16 shard
dicts keyed by ``Ref = (db, key)`` (the shard is the key's, `shard_of`, the
same in every process), and what travels is an `Entry`: a key's delta or
whole state with the newest hybrid timestamp of the operations in it.

* Digests cover each key's whole state, causal context included, so
  anti-entropy also brings together what replicas have heard of removes
  (the acknowledgements below need every dot to arrive somewhere). They are
  kept lazily (a write marks its key dirty; `digests` folds the dirty keys
  in) and per epoch of the key's newest operation: anti-entropy compares
  only settled epochs, so deltas still in flight are not repaired (a server
  under write load never has equal digests otherwise).
* Flush marks (FLUSHDB, FLUSHALL, SWAPDB): one per database, newest wins;
  every dot of that database older than the mark is dead, now and when it
  arrives later. A mark is an operation with its own dot, so the version
  vectors below cover it.
* ``seen``: every dot this replica has merged (its own included), as one
  causal context; its version vector is what the replica acknowledges to
  its peers (`note_ack`). A *stable* vector (`stable`) is the pointwise
  minimum of the peers' acknowledgements, usable once this replica has
  merged everything each of those peers had seen when it acknowledged. GC
  (`collect`) then compacts keys (`KeyCRDT.compact`) and forgets keys that
  hold nothing and whose every dot is stable; ``floor`` (the largest stable
  vector used) stands for every forgotten key: a late delta for one starts
  from `KeyCRDT.fresh(floor)`, so the dots it removed stay removed. A pass
  looks at most `GC_KEYS_PER_PASS` keys, oldest write first (a key not
  settled yet goes to the back): a server written faster than GC goes
  never stalls in one pass, and the backlog is at most one entry a key.

Nothing here touches the engine: `nodes.eventual.TypedKeyspace` applies
what changed to it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Mapping
from itertools import islice
from typing import Final, NamedTuple, TypeAlias
from zlib import crc32

import orjson

from crdt.replication.clocks import Timestamp, VectorClock
from crdt.replication.lattices import SHARD_COUNT
from crdt.replication.typed import KeyCRDT
from crdt.replication.typed.context import CausalContext, Dot

__all__ = ["ACKS_KEPT", "EPOCH_MS", "Entry", "KeyState", "KeyTable", "Mark", "Ref", "epoch_of", "state_digest"]

Ref: TypeAlias = tuple[int, bytes]
_DIGEST_MOD: Final[int] = 1 << 64
#: Width of a digest epoch (ms of a key's newest operation).
EPOCH_MS: Final[int] = 1000
#: Epochs older than this many before the latest cutoff asked are folded into one sum.
EPOCHS_KEPT: Final[int] = 120
#: Acknowledgements kept per peer (the newest one this replica has caught up with is used).
ACKS_KEPT: Final[int] = 8
#: Keys one GC pass looks at (module doc): a pass costs ~10-30 us a key, so at most tens of ms.
GC_KEYS_PER_PASS: Final[int] = 2048


def shard_of(key: bytes) -> int:
    """A key's shard: `crdt.replication.lattices.shard_of` for bytes keys, without its type checks."""
    return crc32(key) & (SHARD_COUNT - 1)


def epoch_of(ts: Timestamp) -> int:
    """The digest epoch of a timestamp."""
    return ts.physical_ms // EPOCH_MS


class Entry(NamedTuple):
    """What travels for one key: a delta or a whole state, and its newest operation's timestamp."""

    ref: Ref
    ts: Timestamp
    crdt: KeyCRDT


class Mark(NamedTuple):
    """A database's flush: its timestamp and the dot of the operation."""

    ts: Timestamp
    dot: Dot


class KeyState:
    """One key: its CRDT and the newest timestamp of the operations merged into it."""

    __slots__ = ("crdt", "ts")

    def __init__(self, crdt: KeyCRDT, ts: Timestamp | None) -> None:
        self.crdt = crdt
        self.ts = ts

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, KeyState):
            return NotImplemented
        return self.crdt == other.crdt and self.ts == other.ts

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"KeyState({self.crdt!r}, {self.ts!r})"


def state_digest(ref: Ref, state: KeyState) -> int:
    """A 64-bit hash of a key's state (module doc), the same in every process."""
    data = orjson.dumps([ref[0], ref[1].decode("latin-1"), state.crdt.to_json()])
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "big")


def _mark_digest(db: int, mark: Mark) -> int:
    ts = mark.ts
    data = orjson.dumps(["flush", db, ts.physical_ms, ts.logical, ts.node_id])
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "big")


def _vv_min(vectors: Iterable[Mapping[str, int]]) -> dict[str, int]:
    vectors = list(vectors)
    names = set().union(*vectors) if vectors else set()
    out = {n: min(v.get(n, 0) for v in vectors) for n in sorted(names)}
    return {n: c for n, c in out.items() if c > 0}


def _covers(vv: Mapping[str, int], other: Mapping[str, int]) -> bool:
    return all(vv.get(n, 0) >= c for n, c in other.items())


class KeyTable:
    """Mutable ``(db, key) -> KeyState`` in 16 shards, with lazy digests, flush marks, acks and GC."""

    __slots__ = ("shards", "marks", "seen", "floor", "acks", "_digests", "_entry_digests", "_dirty",
                 "_epochs", "_folded", "_fold_below", "_gc", "forgotten", "collections")

    def __init__(self) -> None:
        self.shards: list[dict[Ref, KeyState]] = [{} for _ in range(SHARD_COUNT)]
        #: db -> its latest flush.
        self.marks: dict[int, Mark] = {}
        self.seen = CausalContext()
        self.floor: dict[str, int] = {}
        #: peer -> its latest acknowledged vectors, oldest first.
        self.acks: dict[str, list[dict[str, int]]] = {}
        self._digests = [0] * SHARD_COUNT
        self._entry_digests: dict[Ref, tuple[int, int]] = {}  # ref -> (digest, epoch)
        self._dirty: set[Ref] = set()
        self._epochs: list[dict[int, int]] = [{} for _ in range(SHARD_COUNT)]
        self._folded = [0] * SHARD_COUNT
        self._fold_below = 0
        self._gc: dict[Ref, None] = {}  # keys GC has yet to look at, oldest write first
        self.forgotten = 0  # keys dropped by GC (INFO, benchmarks)
        self.collections = 0  # GC passes that ran

    def __len__(self) -> int:
        return sum(len(s) for s in self.shards)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, KeyTable):
            return NotImplemented
        return self.shards == other.shards and self.marks == other.marks

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"KeyTable({len(self)} keys, marks={self.marks!r})"

    # -- reads ---------------------------------------------------------------------------

    def get(self, ref: Ref) -> KeyState | None:
        """The state of ``ref`` (a key holding nothing included), or None."""
        return self.shards[shard_of(ref[1])].get(ref)

    def state_for(self, ref: Ref) -> KeyState:
        """The state of ``ref``, or a fresh one standing for a key never seen or forgotten (not stored:
        `put` it once written)."""
        state = self.get(ref)
        if state is None:
            state = KeyState(KeyCRDT.fresh(VectorClock.of(self.floor)) if self.floor else KeyCRDT(), None)
        return state

    def items(self) -> Iterator[Entry]:
        """Every key's whole state, in a deterministic order (by shard, then ref)."""
        for i in range(SHARD_COUNT):
            yield from self.shard_items(i)

    def shard_items(self, index: int, cutoff: int | None = None) -> list[Entry]:
        """One shard's whole states sorted by ref (those whose newest operation is of an epoch below
        ``cutoff``, if given)."""
        items = [(ref, st) for ref, st in self.shards[index].items() if st.ts is not None]
        if cutoff is not None:
            limit = cutoff * EPOCH_MS
            items = [(ref, st) for ref, st in items if st.ts.physical_ms < limit]  # type: ignore[union-attr]
        items.sort(key=lambda pair: pair[0])
        return [Entry(ref, st.ts, st.crdt) for ref, st in items]  # type: ignore[arg-type]

    def refs_of_db(self, db: int) -> list[Ref]:
        """Every ref of one database, in a deterministic order."""
        return sorted(ref for shard in self.shards for ref in shard if ref[0] == db)

    # -- writes --------------------------------------------------------------------------

    def put(self, ref: Ref, state: KeyState, ts: Timestamp) -> None:
        """Store a state a local operation changed in place (from `state_for`), stamped ``ts``."""
        if state.ts is None or ts > state.ts:
            state.ts = ts
        self.shards[shard_of(ref[1])][ref] = state
        self._dirty.add(ref)
        self._gc[ref] = None

    def note_dot(self, dot: Dot) -> None:
        """A dot this replica made."""
        self.seen.add(dot)

    def merge(self, entry: Entry) -> bool:
        """Join a peer's delta or state; True when the key's live contents changed."""
        ref = entry.ref
        shard = self.shards[shard_of(ref[1])]
        state = shard.get(ref)
        if state is None:
            state = self.state_for(ref)
            shard[ref] = state
        store = state.crdt.store
        changed = store.join(entry.crdt.store)
        if self.marks:
            mark = self.marks.get(ref[0])
            if mark is not None:
                store.drop_older(mark.ts)  # what the delta brought that a flush covers stays dead
        self.seen.merge(entry.crdt.store.ctx)
        if state.ts is None or entry.ts > state.ts:
            state.ts = entry.ts
        self._dirty.add(ref)
        self._gc[ref] = None
        return changed

    def remove(self, ref: Ref) -> None:
        """Drop a key's state (GC forgot it)."""
        if self.shards[shard_of(ref[1])].pop(ref, None) is not None:
            self._dirty.add(ref)

    def mark_flush(self, db: int, mark: Mark) -> list[Ref] | None:
        """Merge a flush mark; None when it is not newer than the one held.

        Returns:
            The refs whose live contents it removed (their keys must go from the engine).
        """
        self.seen.add(mark.dot)
        held = self.marks.get(db)
        if held is not None and mark.ts <= held.ts:
            return None
        self.marks[db] = mark
        gone: list[Ref] = []
        for shard in self.shards:
            for ref, state in shard.items():
                if ref[0] == db and state.crdt.store.drop_older(mark.ts):
                    gone.append(ref)
                    self._dirty.add(ref)
                    self._gc[ref] = None
        gone.sort()
        return gone

    # -- digests -------------------------------------------------------------------------

    def digests(self, cutoff: int | None = None) -> list[int]:
        """The 16 shard digests (flush marks folded into shard 0), after settling dirty refs.

        Args:
            cutoff: only the keys (and marks) of epochs below this one; None: everything.
        """
        self._settle()
        if cutoff is None:
            out = list(self._digests)
        else:
            if cutoff - EPOCHS_KEPT > self._fold_below:
                self._fold(cutoff - EPOCHS_KEPT)
            out = [(self._folded[i] + sum(v for e, v in self._epochs[i].items() if e < cutoff)) % _DIGEST_MOD
                   for i in range(SHARD_COUNT)]
        for db, mark in sorted(self.marks.items()):
            if cutoff is None or epoch_of(mark.ts) < cutoff:
                out[0] = (out[0] + _mark_digest(db, mark)) % _DIGEST_MOD
        return out

    def _fold(self, below: int) -> None:
        for i, epochs in enumerate(self._epochs):
            for e in [e for e in epochs if e < below]:
                self._folded[i] = (self._folded[i] + epochs.pop(e)) % _DIGEST_MOD
        self._fold_below = below

    def _settle(self) -> None:
        if not self._dirty:
            return
        digests, known = self._digests, self._entry_digests
        fold_below = self._fold_below
        for ref in self._dirty:  # sums commute: the order is free
            i = shard_of(ref[1])
            state = self.shards[i].get(ref)
            epochs = self._epochs[i]
            old = known.pop(ref, None)
            if old is not None:
                self._add(i, epochs, old[1], -old[0], fold_below)
                digests[i] = (digests[i] - old[0]) % _DIGEST_MOD
            if state is not None and state.ts is not None:
                new = state_digest(ref, state)
                epoch = epoch_of(state.ts)
                known[ref] = (new, epoch)
                self._add(i, epochs, epoch, new, fold_below)
                digests[i] = (digests[i] + new) % _DIGEST_MOD
        self._dirty.clear()

    def _add(self, shard: int, epochs: dict[int, int], epoch: int, amount: int, fold_below: int) -> None:
        if epoch < fold_below:
            self._folded[shard] = (self._folded[shard] + amount) % _DIGEST_MOD
        else:
            epochs[epoch] = (epochs.get(epoch, 0) + amount) % _DIGEST_MOD

    # -- acknowledgements and GC -----------------------------------------------------------

    def acknowledgement(self) -> dict[str, int]:
        """What this replica tells its peers it has merged: the version vector of ``seen``."""
        return dict(sorted(self.seen.vv.items()))

    def note_ack(self, peer: str, vv: Mapping[str, int]) -> None:
        """A peer's acknowledgement (`acknowledgement`), kept among its latest `ACKS_KEPT`."""
        kept = self.acks.setdefault(peer, [])
        if kept and _covers(kept[-1], vv):
            return  # nothing new (or a reordered older one)
        kept.append(dict(vv))
        del kept[:-ACKS_KEPT]

    def stable(self, peers: Iterable[str]) -> dict[str, int] | None:
        """A causally stable vector (module doc), or None while some peer's acknowledgement is missing
        or not yet caught up with."""
        mine = self.seen.vv
        chosen: list[Mapping[str, int]] = [mine]
        for peer in peers:
            usable = [vv for vv in self.acks.get(peer, ()) if _covers(mine, vv)]
            if not usable:
                return None
            chosen.append(usable[-1])
        return _vv_min(chosen)

    def collect(self, peers: Iterable[str]) -> list[Ref]:
        """One GC pass (module doc) over at most `GC_KEYS_PER_PASS` of the keys written since
        they were last looked at.

        Returns:
            The refs forgotten (their durable records can go).
        """
        stable = self.stable(peers)
        if stable is None:
            return []
        self.collections += 1
        for n, c in stable.items():
            if c > self.floor.get(n, 0):
                self.floor[n] = c
        floor = VectorClock.of(self.floor)
        forgotten: list[Ref] = []
        keep: list[Ref] = []
        pending = self._gc
        batch = list(islice(pending, GC_KEYS_PER_PASS))
        for ref in batch:
            del pending[ref]
        for ref in batch:
            state = self.get(ref)
            if state is None:
                continue
            crdt = state.crdt
            if crdt.compact(floor):
                self._dirty.add(ref)  # its digest covers the dots and context compaction changed
            if crdt.forgettable(floor):
                self.remove(ref)
                forgotten.append(ref)
                continue
            store = crdt.store
            if not store.entries or store.ctx.cloud or any(
                    c > floor.counter(n) for n, c in store.ctx.vv.items()):
                keep.append(ref)  # not settled yet: look again, after the others
        for ref in keep:
            pending[ref] = None
        self.forgotten += len(forgotten)
        return forgotten

    def metadata(self) -> tuple[int, int]:
        """``(live dots, causal-context entries)`` over every key (benchmarks)."""
        dots = ctx = 0
        for shard in self.shards:
            for state in shard.values():
                store = state.crdt.store
                dots += store.dot_count()
                ctx += store.ctx.size()
        return dots, ctx
