"""The replicated keyspace of the eventual and causal modes: the engine plus one typed CRDT per key.

Strategy: the Redis engine holds the values and runs every command with
Redis's semantics; beside it `crdt.replication.keystates.KeyTable` holds a
typed CRDT per ``(db, key)`` (`crdt.replication.typed`), so concurrent
writes on different replicas merge by data type: counters add up, sets are
add-wins, hashes merge per field, lists keep every push, a delete removes
only what its replica had seen (the rules: `crdt.replication.typed` and the
README).

* Local writes are stamped after the engine ran them (`stamp`), from the
  keys each database recorded in its ``delta`` (with `Incremented` notes and
  `FLUSHED`/`SWAPPED` marks): each key's new engine value is turned into the
  typed operations that take its CRDT there
  (`crdt.replication.typed.local.local_write`), one delta per key and
  batch, stamped by the node's hybrid logical clock. Dots are ``(replica,
  counter)`` with a replica id drawn anew in every life of the node
  (``<node_id>:<32 random bits>``), so no life reuses a dot.
* Remote deltas and states (`merge`) are joined into the key's CRDT, and
  the key's new reading is written into the engine directly (not through
  commands, so it is never stamped again); a key whose TTL has passed is
  removed from the engine, not from the CRDT.
* Expiry, DEL and eviction are observed-removes replicated like any write.
* GC (`collect`): the stable vector from the peers' acknowledgements
  compacts counters and forgets deleted keys (`KeyTable.collect`).

No I/O here: the handlers (`nodes.eventual`, `nodes.causal`) move entries.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from crdt.engine import Engine
from crdt.keyspace import FLUSHED, SWAPPED, Incremented, Touched
from crdt.replication.clocks import DecodeError, HybridClock, Timestamp, VectorClock
from crdt.replication.images import restore
from crdt.replication.keystates import Entry, KeyState, KeyTable, Mark, Ref
from crdt.replication.lattices import decode_bytes, encode_bytes
from crdt.replication.typed import KeyCRDT
from crdt.replication.typed.context import Dot, dot_from_json
from crdt.replication.typed.local import image_of_key, local_write
from nodes.core import DurableStore
from nodes.kv_engine import CasOutcome, EngineError, kv_txn
from protocol.replies import ErrorReply

__all__ = [
    "DATABASES_MAX", "ENTRY_RECORD", "FLOOR_RECORD", "MARK_RECORD", "Stamped", "TypedKeyspace",
    "entries_from_json", "entries_to_json", "marks_from_json", "marks_to_json",
]

#: Databases a peer may name (Redis's own ceiling for ``databases`` is far above any real use).
DATABASES_MAX: Final[int] = 1 << 16


# --- wire forms ---------------------------------------------------------------------------------


def entries_to_json(entries: Iterable[Entry]) -> list[list[Any]]:
    """Encode entries as ``[[key, ts, crdt], ...]`` (``[key, ts, crdt, db]`` beyond database 0).

    Keys are Latin-1 strings, ``crdt`` is `KeyCRDT.to_json`.
    """
    out: list[list[Any]] = []
    for (db, key), ts, crdt in entries:
        item = [encode_bytes(key), ts.to_json(), crdt.to_json()]
        if db:
            item.append(db)
        out.append(item)
    return out


def entries_from_json(data: object) -> list[Entry]:
    """Decode `entries_to_json` output from a peer.

    Raises:
        DecodeError: the structure, a key, a database, a timestamp or a state is invalid.
    """
    if not isinstance(data, list):
        raise DecodeError(f"entries must be a list, got {data!r:.80}")
    out: list[Entry] = []
    for item in data:
        if not isinstance(item, list) or len(item) not in (3, 4):
            raise DecodeError(f"an entry must be [key, ts, state] or [key, ts, state, db], got {item!r:.80}")
        db = item[3] if len(item) == 4 else 0
        if not isinstance(db, int) or isinstance(db, bool) or not 0 <= db < DATABASES_MAX:
            raise DecodeError(f"an entry's database must be an integer 0..{DATABASES_MAX - 1}, got {db!r:.40}")
        out.append(Entry((db, decode_bytes(item[0])), Timestamp.from_json(item[1]), KeyCRDT.from_json(item[2])))
    return out


def marks_to_json(marks: Mapping[int, Mark]) -> list[list[Any]]:
    """Flush marks as ``[[db, timestamp, dot], ...]``."""
    return [[db, m.ts.to_json(), list(m.dot)] for db, m in sorted(marks.items())]


def marks_from_json(data: object) -> list[tuple[int, Mark]]:
    """Decode `marks_to_json` output from a peer.

    Raises:
        DecodeError: not a list of ``[db, timestamp, dot]``.
    """
    if not isinstance(data, list):
        raise DecodeError(f"flush marks must be a list, got {data!r:.80}")
    out: list[tuple[int, Mark]] = []
    for item in data:
        if (not isinstance(item, list) or len(item) != 3 or not isinstance(item[0], int)
                or isinstance(item[0], bool) or not 0 <= item[0] < DATABASES_MAX):
            raise DecodeError(f"a flush mark must be [db, timestamp, dot], got {item!r:.80}")
        out.append((item[0], Mark(Timestamp.from_json(item[1]), dot_from_json(item[2]))))
    return out


# --- the keyspace ---------------------------------------------------------------------------------


@dataclass(slots=True)
class Stamped:
    """What a batch of local commands replicates: key deltas and flush marks (one unit)."""

    entries: list[Entry]
    marks: dict[int, Mark]

    def __bool__(self) -> bool:
        return bool(self.entries or self.marks)


#: Durable record names (`TypedKeyspace.persist_to`).
ENTRY_RECORD: Final[str] = "kv/"
MARK_RECORD: Final[str] = "kv-mark/"
FLOOR_RECORD: Final[str] = "kv-floor"


class TypedKeyspace:
    """The engine's databases plus one typed CRDT per ``(db, key)``, flush marks and the node's HLC.

    Args:
        engine: where values live.
        now_ms: when the engine session opens.
    """

    def __init__(self, engine: Engine, now_ms: int = 0) -> None:
        self.engine = engine
        self.session = engine.open_session(now_ms, addr="replication")
        self.table = KeyTable()
        self.clock: HybridClock | None = None  # set by `start` once the node id is known
        self.replica = ""  # the dots' replica id, this life's
        self.counter = 0  # the last dot counter used
        self.applied = 0  # remote entries that changed this replica (INFO replication)
        self.durable: DurableStore | None = None  # where states are kept, once `persist_to` ran

    def start(self, node_id: str, replica: str) -> None:
        """Create the clock and name this life's dots; called at init."""
        self.clock = HybridClock(node_id)
        self.replica = replica

    def __len__(self) -> int:
        return len(self.table)

    def _dot(self) -> Dot:
        self.counter += 1
        dot = (self.replica, self.counter)
        self.table.note_dot(dot)
        return dot

    # -- local commands -----------------------------------------------------------------------

    def read(self, key: bytes, now_ms: int) -> bytes | None:
        """GET ``key`` from the engine.

        Raises:
            EngineError: the engine answered with an error reply.
        """
        reply = self.engine.execute([b"GET", key], self.session, now_ms)
        if isinstance(reply, ErrorReply):
            raise EngineError(reply.decode("utf-8", "replace"))
        return None if reply is None else bytes(reply)

    def execute(self, argv: list[bytes], now_ms: int) -> tuple[Any, list[Entry]]:
        """Run a local command and stamp every key it wrote.

        Returns:
            The reply and the key deltas (to replicate).
        """
        reply, delta = self.engine.execute_with_delta(argv, self.session, now_ms)
        stamped = self.stamp(delta, now_ms)
        assert not stamped.marks, "lin-kv commands do not flush"
        return reply, stamped.entries

    def stamp(self, delta: Mapping[int, Sequence[Any]], now_ms: int) -> Stamped:
        """Turn what local commands wrote into key deltas: ``delta`` maps a database to what its
        ``delta`` recorded (keys, `Incremented` notes, `FLUSHED`/`SWAPPED` marks), in write order.

        A flush gives the database a new mark; keys written after the last
        flush are stamped. A swap is a flush followed by a write of every
        key the database holds now.
        """
        clock = self.clock
        assert clock is not None, "keyspace used before init"
        table = self.table
        out = Stamped([], {})
        for db_index in sorted(delta):
            items = delta[db_index]
            db = self.engine.dbs[db_index]
            last = _last_mark(items)
            if last >= 0:
                mark = Mark(clock.now(now_ms), self._dot())
                gone = table.mark_flush(db_index, mark)
                self._persist_mark(db_index, mark, gone)
                out.marks[db_index] = mark
                items = list(db.keys()) if items[last] is SWAPPED else items[last + 1:]
            for key, (incremented, touched) in _writes(items).items():
                ref = (db_index, key)
                value = db.peek(key)
                expire_at = db.expires.get(key) if value is not None else None
                if value is not None and expire_at is not None and now_ms > expire_at:
                    value = expire_at = None
                state = table.state_for(ref)
                ts = clock.now(now_ms)
                crdt = local_write(state.crdt, value, expire_at, now_ms, incremented=incremented,
                                   touched=touched, dot=self._dot, ts=ts)
                if crdt is None:
                    continue
                table.put(ref, state, ts)
                out.entries.append(Entry(ref, ts, crdt))
                self._persist(ref, state)
        return out

    def write(self, key: bytes, value: bytes, now_ms: int) -> list[Entry]:
        """SET ``key`` ``value`` locally.

        Raises:
            EngineError: the engine answered with an error reply.
        """
        reply, entries = self.execute([b"SET", key, value], now_ms)
        if isinstance(reply, ErrorReply):
            raise EngineError(reply.decode("utf-8", "replace"))
        return entries

    def cas(self, key: bytes, expected: bytes, new: bytes, now_ms: int,
            create_if_missing: bool = False) -> tuple[CasOutcome, list[Entry]]:
        """Compare locally, then write on a match (atomic: nothing runs in between).

        Raises:
            EngineError: the engine answered with an error reply.
        """
        current = self.read(key, now_ms)
        if current is None and not create_if_missing:
            return CasOutcome(False, None), []
        if current is not None and current != expected:
            return CasOutcome(False, current), []
        return CasOutcome(True, current), self.write(key, new, now_ms)

    def txn(self, mops: Sequence[Sequence[Any]], now_ms: int) -> tuple[list[list[Any]], list[Entry]]:
        """Run one Elle transaction locally as MULTI/EXEC and stamp every key it wrote.

        Returns:
            The completed micro-ops (`nodes.kv_engine.kv_txn`) and the key deltas.

        Raises:
            TxnRejected: a write of the wrong type for its key (nothing ran).
            EngineError: the engine answered with an error reply.
        """
        dbs = self.engine.dbs
        saved = [db.delta for db in dbs]
        for db in dbs:
            db.delta = []
        try:
            done = kv_txn(self.engine, self.session, mops, now_ms)
            delta = {db.index: db.delta for db in dbs if db.delta}
        finally:
            for db, kept in zip(dbs, saved, strict=True):
                db.delta = kept
        stamped = self.stamp(delta, now_ms)  # type: ignore[arg-type]
        return done, stamped.entries

    # -- replication ---------------------------------------------------------------------------

    def observe(self, entries: Iterable[Entry], now_ms: int,
                marks: Iterable[tuple[int, Mark]] = ()) -> None:
        """HLC receive rule over the largest timestamp among ``entries`` and ``marks``."""
        clock = self.clock
        assert clock is not None
        latest: Timestamp | None = max([e.ts for e in entries] + [m.ts for _, m in marks], default=None)
        if latest is not None:
            clock.observe(latest, now_ms)

    def merge(self, entries: Iterable[Entry], now_ms: int,
              marks: Iterable[tuple[int, Mark]] = ()) -> list[Entry]:
        """Merge flush marks, then key deltas or states, from a peer; write what changed into the engine.

        Raises:
            DecodeError: an entry or mark names a database this engine does
                not have (nothing is merged then).

        Returns:
            The entries that changed this replica's contents.
        """
        entries = list(entries)
        marks = list(marks)
        self.check_databases(entries, marks)
        self.observe(entries, now_ms, marks)
        table = self.table
        touched: dict[Ref, None] = {}
        for db_index, mark in marks:
            gone = table.mark_flush(db_index, mark)
            self._persist_mark(db_index, mark, gone)
            for ref in gone or ():
                touched[ref] = None
        changed: list[Entry] = []
        durable = self.durable
        for entry in entries:
            if table.merge(entry):
                touched[entry.ref] = None
                changed.append(entry)
                if durable is not None:
                    self._persist(entry.ref, table.state_for(entry.ref))
        if touched:
            self._apply(touched, now_ms)
        self.applied += len(changed)
        return changed

    def _apply(self, refs: Iterable[Ref], now_ms: int) -> None:
        """Write the reading of each key's CRDT into the engine, unrecorded (not a local write)."""
        refs = list(refs)
        dbs = [self.engine.dbs[i] for i in sorted({ref[0] for ref in refs})]
        config = self.engine.config
        table = self.table
        saved = [db.delta for db in dbs]
        for db in dbs:
            db.delta = None
        try:
            for ref in refs:
                db = self.engine.dbs[ref[0]]
                state = table.get(ref)
                image = None if state is None else image_of_key(state.crdt, now_ms)
                if image is None:
                    db.delete(ref[1])
                elif image.type == "string":
                    db.set(ref[1], image.data, now_ms, expire_at_ms=image.expire_at)
                else:
                    db.set(ref[1], restore(image, config), now_ms, expire_at_ms=image.expire_at)
        finally:
            for db, kept in zip(dbs, saved, strict=True):
                db.delta = kept

    def collect(self, peers: Iterable[str]) -> int:
        """One GC pass (`KeyTable.collect`); forgotten keys leave the durable store too.

        Returns:
            How many keys were forgotten.
        """
        forgotten = self.table.collect(peers)
        durable = self.durable
        if durable is not None and self.table.floor:
            durable.put(FLOOR_RECORD, dict(self.table.floor))
            for ref in forgotten:
                durable.delete(_entry_name(ref))
        return len(forgotten)

    def persist_to(self, durable: DurableStore, now_ms: int) -> int:
        """Restore the states (and values) a previous life kept in ``durable``, then keep every
        change there from now on (``kv/<db>/<key>`` states, ``kv-mark/<db>`` flush marks,
        ``kv-floor`` the GC floor).

        Returns:
            How many keys were restored.

        Raises:
            DecodeError: a record is not what this module writes.
        """
        floor = durable.get(FLOOR_RECORD, None)
        if floor is not None:
            if not isinstance(floor, dict) or not all(
                    isinstance(n, str) and isinstance(c, int) and c >= 0 for n, c in floor.items()):
                raise DecodeError(f"durable record {FLOOR_RECORD!r} is not a version vector")
            self.table.floor = dict(floor)
            self.table.seen.fold(VectorClock.of(floor))
        marks = [(_int_name(name, MARK_RECORD), _mark_from_record(v)) for name, v in durable.items(MARK_RECORD)]
        entries: list[Entry] = []
        for name, value in durable.items(ENTRY_RECORD):
            db_text, _, key = name[len(ENTRY_RECORD):].partition("/")
            db = _int_name(ENTRY_RECORD + db_text, ENTRY_RECORD)
            if not isinstance(value, list) or len(value) != 2:
                raise DecodeError(f"durable record {name!r} is not [ts, state]")
            entries.append(Entry((db, key.encode("latin-1")), Timestamp.from_json(value[0]),
                                 KeyCRDT.from_json(value[1])))
        self.merge(entries, now_ms, marks)
        self.durable = durable
        return len(entries)

    def _persist(self, ref: Ref, state: KeyState) -> None:
        durable = self.durable
        if durable is not None and state.ts is not None:
            durable.put(_entry_name(ref), [state.ts.to_json(), state.crdt.to_json()])

    def _persist_mark(self, db: int, mark: Mark, gone: list[Ref] | None) -> None:
        durable = self.durable
        if durable is None or gone is None:
            return
        durable.put(f"{MARK_RECORD}{db}", [mark.ts.to_json(), list(mark.dot)])
        for ref in gone:
            state = self.table.get(ref)
            if state is not None:
                self._persist(ref, state)

    def check_databases(self, entries: Iterable[Entry], marks: Iterable[tuple[int, Mark]] = ()) -> None:
        """Refuse peer input naming a database this engine does not have.

        Raises:
            DecodeError: an entry or mark names a database index out of range.
        """
        count = len(self.engine.dbs)
        for db_index in [e.ref[0] for e in entries] + [db for db, _ in marks]:
            if db_index >= count:
                raise DecodeError(f"database {db_index} does not exist here ({count} databases)")

    def digests(self, cutoff: int | None = None) -> list[int]:
        """The 16 shard digests, flush marks included (of epochs below ``cutoff``, if given)."""
        return self.table.digests(cutoff)

    def shard_entries(self, shards: Iterable[int], cutoff: int | None = None,
                      limit: int | None = None, start: int = 0) -> list[Entry]:
        """The whole states of some shards' keys, in deterministic order: those of epochs below
        ``cutoff`` if given, at most ``limit`` of them.

        With a ``limit``, calls with ``start`` = 0, 1, 2, ... cover every entry in turn: the
        shards are taken in an order rotated by ``start``, each from an offset that moves on by
        ``limit`` every time the rotation comes round (a capped repair that always sent the
        first ``limit`` entries would never reach a key past them).
        """
        order = sorted(set(shards))
        if limit is None or not order:
            return [e for i in order for e in self.table.shard_items(i, cutoff)]
        first = start % len(order)
        skip = start // len(order) * limit
        out: list[Entry] = []
        for i in order[first:] + order[:first]:
            items = self.table.shard_items(i, cutoff)
            if items and skip % len(items):
                k = skip % len(items)
                items = items[k:] + items[:k]
            out.extend(items)
            if len(out) >= limit:
                return out[:limit]
        return out

    def value_of(self, key: bytes, db: int = 0) -> bytes | None:
        """The replicated string value of ``key`` (None when absent, deleted or not a string)."""
        state = self.table.get((db, key))
        if state is None:
            return None
        read = state.crdt.read()
        if read is None or read[0] != "string":
            return None
        return read[1]  # type: ignore[no-any-return]


def _entry_name(ref: Ref) -> str:
    return f"{ENTRY_RECORD}{ref[0]}/{ref[1].decode('latin-1')}"


def _int_name(name: str, prefix: str) -> int:
    text = name[len(prefix):]
    if not text.isdigit():
        raise DecodeError(f"durable record {name!r} does not name a database")
    return int(text)


def _mark_from_record(value: object) -> Mark:
    if not isinstance(value, list) or len(value) != 2:
        raise DecodeError(f"a durable flush mark must be [ts, dot], got {value!r:.60}")
    return Mark(Timestamp.from_json(value[0]), dot_from_json(value[1]))


def _last_mark(items: Sequence[Any]) -> int:
    """The index of the last `FLUSHED`/`SWAPPED` mark in a delta, or -1."""
    for i in range(len(items) - 1, -1, -1):
        if items[i] is FLUSHED or items[i] is SWAPPED:
            return i
    return -1


def _writes(items: Sequence[Any]) -> dict[bytes, tuple[set[bytes | None], set[bytes]]]:
    """The keys a delta wrote, in first-write order, each with the elements it changed only by
    increments and the elements SADD/HSET/ZADD named (`Touched`). An `Incremented` note right
    after its key's write makes that write an increment; any other write of the key makes every
    change of the batch to it an assignment."""
    out: dict[bytes, tuple[set[bytes | None], set[bytes]]] = {}
    plain: set[bytes] = set()
    pending: bytes | None = None  # the last key written, not yet known to be an increment
    for item in items:
        kind = type(item)
        if kind is Incremented:
            if item.key == pending:
                pending = None
            out.setdefault(item.key, (set(), set()))[0].add(item.element)
            continue
        if kind is Touched:
            out.setdefault(item.key, (set(), set()))[1].update(item.elements)
            continue
        if item is FLUSHED or item is SWAPPED:
            continue
        if pending is not None:
            plain.add(pending)
        pending = item
        out.setdefault(item, (set(), set()))
    if pending is not None:
        plain.add(pending)
    for key in plain:
        out[key][0].clear()
    return out
