"""Eventual mode: lin-kv on last-writer-wins registers, pushed at once and repaired by digests.

Strategy (Anna-style): the Redis engine holds the values; beside it every
key carries the version of the write that set it, an `LWWRegister` in one
`LWWMap` (16 shards) stamped by the node's hybrid logical clock, so versions
are totally ordered by ``(physical_ms, logical, node_id)``.

* A local write (``write``, or the SET of a successful ``cas``) runs through
  `Engine.execute_with_delta`; each key it wrote gets a fresh HLC timestamp
  and the new registers are pushed to every peer at once in one
  ``kv_delta`` message (fire and forget).
* Receiving registers (a delta, a repair) first observes their timestamps
  (HLC receive rule), then merges them key by key; a register that wins is
  written into the engine. Merging is a join, so lost, duplicated and
  reordered messages are harmless: whatever arrives eventually, in any
  order and any number of times, gives the same state.
* Anti-entropy: every ``anti_entropy_ms`` (jittered) a node that holds any
  key sends its 16 shard digests (`LWWMap` digests, maintained
  incrementally) to every peer in ``kv_digests``. A peer whose digests
  differ answers ``kv_shards`` with its entries of the differing shards and
  all its digests; the initiator merges them and, for each shard still
  different, pushes its own entries back as a ``kv_delta``. Replicas in
  sync exchange one small message per pair and round; only differing shards
  travel.
* ``cas`` compares locally and, when it matches, does an LWW write: two
  sides of a partition may both succeed, and the later timestamp wins after
  healing. That is the honest eventual-consistency result: lin-kv with
  partitions is not linearizable, but every replica converges.

`LwwKeyspace` (engine + versions + clock) is shared with the causal mode,
which adds visibility rules on top. Expiry (TTL) is not replicated: lin-kv
never sets one, and a key that expires locally keeps its version.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import orjson

from crdt.engine import Engine
from crdt.keyspace import FLUSHED, SWAPPED, Db
from crdt.replication.clocks import DecodeError, HybridClock, Timestamp
from crdt.replication.images import Image, image_from_json, image_of, image_to_json, restore
from crdt.replication.lattices import (
    SHARD_COUNT,
    LWWRegister,
    decode_bytes,
    encode_bytes,
)
from crdt.replication.versions import EPOCH_MS, Ref, VersionTable
from nodes.core import DurableStore, Field, Kind, NodeCore, Rpc
from nodes.kv_engine import CasOutcome, EngineError, json_bytes, kv_txn
from nodes.workload_handlers import ANTI_ENTROPY_MS, CAS, KV_READ, TXN, WRITE, attempt_txn, jitter_ms, txn_problem
from protocol.maelstrom_json import ErrorCode, Message
from protocol.replies import ErrorReply

__all__ = [
    "KV_DELTA", "KV_DIGESTS", "KV_SHARDS", "Entry", "EventualKv", "LwwKeyspace", "Stamped",
    "entries_from_json", "entries_to_json", "marks_from_json", "marks_to_json",
]

log = logging.getLogger("gyre.node")

Entry = tuple[Ref, LWWRegister[Any]]

# Node-to-node messages of the eventual mode (all fire and forget). ``marks``
# carries flush marks (FLUSHDB, FLUSHALL, SWAPDB) wherever entries travel.
KV_DELTA: Final = Rpc("kv_delta", fields=(Field("entries", Kind.LIST),), optional=(Field("marks", Kind.LIST),))
KV_DIGESTS: Final = Rpc("kv_digests", fields=(Field("digests", Kind.STR_LIST),),
                        optional=(Field("marks", Kind.LIST), Field("sync", Kind.BOOL), Field("cutoff", Kind.INT)))
KV_SHARDS: Final = Rpc("kv_shards", fields=(Field("entries", Kind.LIST), Field("digests", Kind.STR_LIST)),
                       optional=(Field("marks", Kind.LIST), Field("cutoff", Kind.INT)))
#: Anti-entropy compares entries at least this many whole epochs old
#: (`crdt.replication.versions.EPOCH_MS`): deltas still in flight are not repaired.
SETTLE_EPOCHS: Final[int] = 1
#: The most entries one repair message carries; the rest follow in the next rounds.
REPAIR_ENTRIES_MAX: Final[int] = 4096

#: Databases a peer may name (Redis's own ceiling for ``databases`` is far above any real use).
DATABASES_MAX: Final[int] = 1 << 16
_DIGEST_MOD: Final[int] = 1 << 64


# --- wire forms ---------------------------------------------------------------------------------


def entries_to_json(entries: Iterable[Entry]) -> list[list[Any]]:
    """Encode ``((db, key), register)`` pairs as ``[[key, {"ts", "value"}], ...]``.

    An entry of database 0 is ``[key, register]``, of another database
    ``[key, register, db]``; keys are Latin-1 strings, values `image_to_json`.
    """
    out: list[list[Any]] = []
    for (db, key), reg in entries:
        item = [encode_bytes(key), reg.to_json(image_to_json)]
        if db:
            item.append(db)
        out.append(item)
    return out


def entries_from_json(data: object) -> list[Entry]:
    """Decode `entries_to_json` output from a peer.

    Raises:
        DecodeError: the structure, a key, a database, a timestamp or a value is invalid.
    """
    if not isinstance(data, list):
        raise DecodeError(f"entries must be a list, got {data!r:.80}")
    out: list[Entry] = []
    append = out.append
    for item in data:
        # The usual entry, a string without TTL in database 0, checked with exact type tests
        # in one pass (as `decode_obj` does for envelopes); anything else takes the full path.
        if type(item) is list and len(item) == 2:
            key, raw = item
            if type(key) is str and type(raw) is dict and len(raw) == 2:
                ts, value = raw.get("ts"), raw.get("value", raw)
                if (type(ts) is list and len(ts) == 3 and type(ts[0]) is int and type(ts[1]) is int
                        and type(ts[2]) is str and ts[0] >= 0 and ts[1] >= 0
                        and (value is None or type(value) is str)):
                    try:
                        ref = (0, key.encode("latin-1"))
                        image = None if value is None else Image("string", value.encode("latin-1"))
                    except UnicodeEncodeError as exc:
                        raise DecodeError(f"a key or value is not a byte string: {exc}") from exc
                    append((ref, LWWRegister(image, Timestamp(ts[0], ts[1], ts[2]))))
                    continue
        if not isinstance(item, list) or len(item) not in (2, 3):
            raise DecodeError(f"an entry must be [key, register] or [key, register, db], got {item!r:.80}")
        db = item[2] if len(item) == 3 else 0
        if not isinstance(db, int) or isinstance(db, bool) or not 0 <= db < DATABASES_MAX:
            raise DecodeError(f"an entry's database must be an integer 0..{DATABASES_MAX - 1}, got {db!r:.40}")
        out.append(((db, decode_bytes(item[0])), LWWRegister.from_json(item[1], image_from_json)))
    return out


def marks_to_json(marks: Mapping[int, Timestamp]) -> list[list[Any]]:
    """Flush marks as ``[[db, timestamp], ...]``."""
    return [[db, ts.to_json()] for db, ts in sorted(marks.items())]


def marks_from_json(data: object) -> list[tuple[int, Timestamp]]:
    """Decode `marks_to_json` output from a peer.

    Raises:
        DecodeError: not a list of ``[db, timestamp]`` pairs.
    """
    if not isinstance(data, list):
        raise DecodeError(f"flush marks must be a list, got {data!r:.80}")
    out: list[tuple[int, Timestamp]] = []
    for item in data:
        if (not isinstance(item, list) or len(item) != 2 or not isinstance(item[0], int)
                or isinstance(item[0], bool) or not 0 <= item[0] < DATABASES_MAX):
            raise DecodeError(f"a flush mark must be [db, timestamp], got {item!r:.80}")
        out.append((item[0], Timestamp.from_json(item[1])))
    return out


def digests_to_json(digests: Sequence[int]) -> list[str]:
    """16 digests as fixed-width hex strings (JSON numbers lose 64-bit precision in some readers)."""
    return [f"{d:016x}" for d in digests]


def digests_from_json(data: list[str]) -> list[int]:
    """Decode `digests_to_json` output from a peer.

    Raises:
        DecodeError: not `SHARD_COUNT` hex strings of 64-bit values.
    """
    if len(data) != SHARD_COUNT:
        raise DecodeError(f"expected {SHARD_COUNT} shard digests, got {len(data)}")
    try:
        out = [int(d, 16) for d in data]
    except ValueError as exc:
        raise DecodeError(f"shard digests must be hex strings: {exc}") from exc
    if any(not 0 <= d < _DIGEST_MOD for d in out):
        raise DecodeError("shard digest out of 64-bit range")
    return out


# --- the versioned keyspace ----------------------------------------------------------------------


@dataclass(slots=True)
class Stamped:
    """What a batch of local commands replicates: new registers and flush marks (one unit)."""

    entries: list[Entry]
    marks: dict[int, Timestamp]

    def __bool__(self) -> bool:
        return bool(self.entries or self.marks)


class LwwKeyspace:
    """The engine's databases plus one LWW version per ``(db, key)``, flush marks and the node's HLC.

    Local writes are stamped after the engine ran them (`stamp`, from the
    keys each database recorded in its ``delta``); remote registers are
    merged into the version table and the winners written into the engine
    directly (not through commands, so they are never stamped again).
    Expiry is not replicated as a delete: the TTL travels in the image and
    every replica expires the key on its own clock.

    Args:
        engine: where values live.
        now_ms: when the engine session opens.
    """

    def __init__(self, engine: Engine, now_ms: int = 0) -> None:
        self.engine = engine
        self.session = engine.open_session(now_ms, addr="replication")
        self.versions = VersionTable()
        self.clock: HybridClock | None = None  # set by `start` once the node id is known
        self.applied = 0  # remote registers that won here (INFO replication)
        self.durable: DurableStore | None = None  # where versions are kept, once `persist_to` ran

    def start(self, node_id: str) -> None:
        """Create the clock; called at init."""
        self.clock = HybridClock(node_id)

    def __len__(self) -> int:
        return len(self.versions)

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
        """Run a local command and stamp every key it wrote with a new HLC timestamp.

        Returns:
            The reply and the new ``(ref, register)`` entries (to replicate).
        """
        reply, delta = self.engine.execute_with_delta(argv, self.session, now_ms)
        stamped = self.stamp(delta, now_ms)
        assert not stamped.marks, "lin-kv commands do not flush"
        return reply, stamped.entries

    def stamp(self, delta: Mapping[int, Sequence[Any]], now_ms: int) -> Stamped:
        """Version what local commands wrote: ``delta`` maps a database to the keys its
        ``delta`` recorded (with `FLUSHED`/`SWAPPED` marks), in write order.

        A flush gives the database a new mark; keys written after the last
        flush get registers. A swap is a flush followed by a write of every
        key the database holds now. A key that is absent because its TTL
        passed is not stamped (its replicas expire it themselves).
        """
        clock = self.clock
        assert clock is not None, "keyspace used before init"
        versions = self.versions
        out = Stamped([], {})
        for db_index in sorted(delta):
            keys = delta[db_index]
            db = self.engine.dbs[db_index]
            last = _last_mark(keys)
            if last >= 0:
                mark = clock.now(now_ms)
                self._persist_flush(db_index, mark, versions.mark_flush(db_index, mark))
                out.marks[db_index] = mark
                keys = list(db.keys()) if keys[last] is SWAPPED else keys[last + 1:]
            for key in dict.fromkeys(keys):
                if key is FLUSHED or key is SWAPPED:
                    continue
                ref = (db_index, key)
                value = db.peek(key)
                expire_at = db.expires.get(key) if value is not None else None
                if value is None or (expire_at is not None and now_ms > expire_at):
                    old = versions.get(ref)
                    if old is None or old.value is None or old.value.expired(now_ms):
                        continue  # nothing replicated to delete, or it expired everywhere
                    reg: LWWRegister[Any] = LWWRegister(None, clock.now(now_ms))
                else:
                    reg = LWWRegister(image_of(value, expire_at), clock.now(now_ms))
                versions.put(ref, reg)
                out.entries.append((ref, reg))
                if self.durable is not None:
                    self.durable.put(_entry_name(ref), reg.to_json(image_to_json))
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
            The completed micro-ops (`nodes.kv_engine.kv_txn`) and the new entries.

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
                marks: Iterable[tuple[int, Timestamp]] = ()) -> None:
        """HLC receive rule over the largest timestamp among ``entries`` and ``marks``."""
        clock = self.clock
        assert clock is not None
        latest: Timestamp | None = max(
            [r.ts for _, r in entries] + [ts for _, ts in marks], default=None)
        if latest is not None:
            clock.observe(latest, now_ms)

    def merge(self, entries: Iterable[Entry], now_ms: int,
              marks: Iterable[tuple[int, Timestamp]] = ()) -> list[Entry]:
        """Merge flush marks, then registers, from a peer; winners are written into the engine.

        Raises:
            DecodeError: an entry or mark names a database this engine does
                not have (nothing is merged then).

        Returns:
            The entries that changed this replica.
        """
        entries = list(entries)
        marks = list(marks)
        self.check_databases(entries, marks)
        dbs = self.engine.dbs
        self.observe(entries, now_ms, marks)
        for db_index, ts in marks:
            gone = self.versions.mark_flush(db_index, ts)
            self._persist_flush(db_index, ts, gone)
            if gone:
                db = dbs[db_index]
                with _quiet(db):
                    for (_, key), reg in gone:
                        if reg.value is not None:
                            db.delete(key)
        changed = self.versions.merge_entries(entries)
        durable = self.durable
        config = self.engine.config
        saved = [db.delta for db in dbs]  # remote winners are not local writes: not recorded
        for db in dbs:
            db.delta = None
        try:
            for ref, reg in changed:
                if durable is not None:
                    durable.put(_entry_name(ref), reg.to_json(image_to_json))
                db = dbs[ref[0]]
                image = reg.value
                if image is None or image.expired(now_ms):
                    db.delete(ref[1])
                elif image.type == "string":
                    db.set(ref[1], image.data, now_ms, expire_at_ms=image.expire_at)
                else:
                    db.set(ref[1], restore(image, config), now_ms, expire_at_ms=image.expire_at)
        finally:
            for db, kept in zip(dbs, saved, strict=True):
                db.delta = kept
        self.applied += len(changed)
        return changed

    def persist_to(self, durable: DurableStore, now_ms: int) -> int:
        """Restore the versions (and values) a previous life kept in ``durable``, then keep every
        change there from now on (``kv/<db>/<key>`` registers, ``kv-mark/<db>`` flush marks).

        Returns:
            How many entries were restored.

        Raises:
            DecodeError: a record is not what this module writes.
        """
        marks = [(_int_name(name, MARK_RECORD), Timestamp.from_json(v)) for name, v in durable.items(MARK_RECORD)]
        entries: list[Entry] = []
        for name, value in durable.items(ENTRY_RECORD):
            db_text, _, key = name[len(ENTRY_RECORD):].partition("/")
            db = _int_name(ENTRY_RECORD + db_text, ENTRY_RECORD)
            entries.append(((db, key.encode("latin-1")), LWWRegister.from_json(value, image_from_json)))
        self.merge(entries, now_ms, marks)
        self.durable = durable
        return len(entries)

    def _persist_flush(self, db: int, mark: Timestamp, gone: list[Entry] | None) -> None:
        durable = self.durable
        if durable is None or gone is None:
            return
        durable.put(f"{MARK_RECORD}{db}", mark.to_json())
        for ref, _ in gone:
            durable.delete(_entry_name(ref))

    def check_databases(self, entries: Iterable[Entry], marks: Iterable[tuple[int, Timestamp]] = ()) -> None:
        """Refuse peer input naming a database this engine does not have.

        Raises:
            DecodeError: an entry or mark names a database index out of range.
        """
        count = len(self.engine.dbs)
        for db_index in [ref[0] for ref, _ in entries] + [db for db, _ in marks]:
            if db_index >= count:
                raise DecodeError(f"database {db_index} does not exist here ({count} databases)")

    def digests(self, cutoff: int | None = None) -> list[int]:
        """The 16 shard digests, flush marks included (of epochs below ``cutoff``, if given)."""
        return self.versions.digests(cutoff)

    def shard_entries(self, shards: Iterable[int], cutoff: int | None = None,
                      limit: int | None = None) -> list[Entry]:
        """The entries (tombstones included) of some shards, in deterministic order: those of
        epochs below ``cutoff`` if given, at most ``limit`` of them."""
        out: list[Entry] = []
        for i in sorted(set(shards)):
            out.extend(self.versions.shard_items(i, cutoff))
            if limit is not None and len(out) >= limit:
                return out[:limit]
        return out

    def value_of(self, key: bytes, db: int = 0) -> bytes | None:
        """The replicated string value of ``key`` (None when absent, deleted or not a string)."""
        reg = self.versions.get((db, key))
        if reg is None or reg.value is None or reg.value.type != "string":
            return None
        return reg.value.data  # type: ignore[no-any-return]


#: Durable record names (`LwwKeyspace.persist_to`).
ENTRY_RECORD: Final[str] = "kv/"
MARK_RECORD: Final[str] = "kv-mark/"


def _entry_name(ref: Ref) -> str:
    return f"{ENTRY_RECORD}{ref[0]}/{ref[1].decode('latin-1')}"


def _int_name(name: str, prefix: str) -> int:
    text = name[len(prefix):]
    if not text.isdigit():
        raise DecodeError(f"durable record {name!r} does not name a database")
    return int(text)


def _last_mark(keys: Sequence[Any]) -> int:
    """The index of the last `FLUSHED`/`SWAPPED` mark in a delta, or -1."""
    for i in range(len(keys) - 1, -1, -1):
        if keys[i] is FLUSHED or keys[i] is SWAPPED:
            return i
    return -1


class _quiet:
    """Write a remote winner into a database without recording it as a local write."""

    __slots__ = ("db", "saved")

    def __init__(self, db: Db) -> None:
        self.db = db
        self.saved: list[Any] | None = None

    def __enter__(self) -> None:
        self.saved, self.db.delta = self.db.delta, None

    def __exit__(self, *exc: object) -> None:
        self.db.delta = self.saved


# --- the lin-kv handler ----------------------------------------------------------------------------


def answer_kv_error(node: NodeCore, msg: Message, exc: EngineError) -> None:
    """An engine error on a lin-kv step: definite, nothing was written."""
    node.reply_error(msg, ErrorCode.TEMPORARILY_UNAVAILABLE, str(exc))


def answer_cas(node: NodeCore, msg: Message, outcome: CasOutcome) -> None:
    """``cas_ok`` or the error Maelstrom's lin-kv service gives."""
    if outcome.ok:
        node.reply_ok(msg, CAS)
    elif outcome.current is None:
        node.reply_error(msg, ErrorCode.KEY_DOES_NOT_EXIST, "key does not exist")
    else:
        node.reply_error(msg, ErrorCode.PRECONDITION_FAILED,
                         f"current value {outcome.current.decode()} is not "
                         f"{json_bytes(msg.body['from']).decode()}")


class KvRequests:
    """read, write and cas against a replica's `LwwKeyspace`.

    The modes differ only in how a local write is replicated (`_replicate`)
    and what a client's read tells them (`_observed`).
    """

    node: NodeCore | None
    keyspace: LwwKeyspace

    def _replicate(self, entries: list[Entry], client: str) -> None:
        raise NotImplementedError

    def replicate_local(self, entries: list[Entry], client: str) -> None:
        """Replicate what another handler wrote through this keyspace for ``client`` (kafka)."""
        self._replicate(entries, client)

    def _observed(self, client: str) -> None:
        """A client saw this replica's state (the causal mode keeps its session)."""

    def _read(self, msg: Message, now_ms: int) -> None:
        node = self.node
        assert node is not None
        try:
            stored = self.keyspace.read(json_bytes(msg.body["key"]), now_ms)
        except EngineError as exc:
            answer_kv_error(node, msg, exc)
            return
        self._observed(msg.src)
        if stored is None:
            node.reply_error(msg, ErrorCode.KEY_DOES_NOT_EXIST, "key does not exist")
        else:
            node.reply_ok(msg, KV_READ, value=orjson.loads(stored))

    def _write(self, msg: Message, now_ms: int) -> None:
        node = self.node
        assert node is not None
        body = msg.body
        try:
            entries = self.keyspace.write(json_bytes(body["key"]), json_bytes(body["value"]), now_ms)
        except EngineError as exc:
            answer_kv_error(node, msg, exc)
            return
        self._replicate(entries, msg.src)
        node.reply_ok(msg, WRITE)

    def _txn(self, msg: Message, now_ms: int) -> None:
        """A transaction on this replica alone, coordination-free: its writes replicate as one delta.

        Nothing orders transactions across replicas, so concurrent ones on
        different nodes both commit and the later write of each key wins:
        the checker shows which anomalies that allows (lost updates, ...).
        """
        node = self.node
        assert node is not None
        problem = txn_problem(msg.body["txn"])
        if problem is not None:
            node.reply_error(msg, ErrorCode.MALFORMED_REQUEST, problem)
            return
        ran = attempt_txn(node, msg, lambda: self.keyspace.txn(msg.body["txn"], now_ms))
        if ran is None:
            return
        done, entries = ran
        self._after_local(entries, msg.src)
        node.reply_ok(msg, TXN, txn=done)

    def _after_local(self, entries: list[Entry], client: str) -> None:
        """What a client's request wrote is replicated; a request that wrote nothing was a read."""
        if entries:
            self._replicate(entries, client)
        else:
            self._observed(client)

    def _cas(self, msg: Message, now_ms: int) -> None:
        node = self.node
        assert node is not None
        body = msg.body
        try:
            outcome, entries = self.keyspace.cas(json_bytes(body["key"]), json_bytes(body["from"]),
                                                 json_bytes(body["to"]), now_ms,
                                                 create_if_missing=body.get("create_if_not_exists") is True)
        except EngineError as exc:
            answer_kv_error(node, msg, exc)
            return
        self._after_local(entries, msg.src)
        answer_cas(node, msg, outcome)


class EventualKv(KvRequests):
    """lin-kv in eventual mode (see module doc).

    Args:
        engine: the node's engine.
        now_ms: when the node starts.
        anti_entropy_ms: period of the digest exchange.
    """

    def __init__(self, engine: Engine, now_ms: int = 0, *, anti_entropy_ms: int = ANTI_ENTROPY_MS) -> None:
        self.keyspace = LwwKeyspace(engine, now_ms)
        self.anti_entropy_ms = anti_entropy_ms
        self.node: NodeCore | None = None
        self.repairs = 0  # kv_shards answers sent (for tests, logs and INFO)
        self.repaired_keys = 0  # entries that changed this replica through a repair
        self.rounds = 0  # anti-entropy rounds started
        self.synced_with: set[str] = set()  # peers whose kv_shards answer this replica merged
        # Whether the link to a peer has drained what was sent to it (a driver with a real
        # transport tells; the simulator's links are never backed up). A repair towards a
        # peer still receiving a backlog of deltas would only resend what is on its way.
        self.peer_ready: Callable[[str], bool] = lambda peer: True

    def install(self, node: NodeCore) -> None:
        self.node = node
        node.add_route(KV_READ, self._read, when=lambda body: "key" in body)
        node.add_route(WRITE, self._write)
        node.add_route(CAS, self._cas)
        node.add_route(TXN, self._txn)
        node.add_route(KV_DELTA, self._on_delta)
        node.add_route(KV_DIGESTS, self._on_digests)
        node.add_route(KV_SHARDS, self._on_shards)
        node.on_init(self._start)

    def _start(self, now_ms: int) -> None:
        node = self.node
        assert node is not None and node.node_id is not None
        self.keyspace.start(node.node_id)
        node.call_later(now_ms, jitter_ms(node, self.anti_entropy_ms), self._anti_entropy)

    # -- client requests -------------------------------------------------------------------------

    def _replicate(self, entries: list[Entry], client: str) -> None:
        self._push(entries)

    def replicate(self, stamped: Stamped) -> None:
        """Push what local commands wrote (`LwwKeyspace.stamp`) to every peer, as one delta."""
        self._push(stamped.entries, marks=stamped.marks)

    def request_sync(self) -> None:
        """Ask every peer for whatever this replica lacks (a node that starts empty).

        Each peer answers ``kv_shards`` even when nothing differs, so the
        first answer tells that this replica has caught up with that peer.
        """
        node = self.node
        assert node is not None
        body = {"type": KV_DIGESTS.type, "digests": digests_to_json(self.keyspace.digests()),
                "marks": marks_to_json(self.keyspace.versions.marks), "sync": True}
        for peer in node.peers:
            node.send(peer, body)

    # -- replication --------------------------------------------------------------------------------

    def _push(self, entries: list[Entry], peers: Iterable[str] | None = None,
              marks: Mapping[int, Timestamp] | None = None) -> None:
        node = self.node
        assert node is not None
        if not entries and not marks:
            return
        body: dict[str, Any] = {"type": KV_DELTA.type, "entries": entries_to_json(entries)}
        if marks:
            body["marks"] = marks_to_json(marks)
        for peer in (node.peers if peers is None else peers):
            node.send(peer, body)

    def _on_delta(self, msg: Message, now_ms: int) -> None:
        body = msg.body
        self.keyspace.merge(entries_from_json(body["entries"]), now_ms, marks_from_json(body.get("marks", [])))

    def _anti_entropy(self, now_ms: int) -> None:
        node = self.node
        assert node is not None
        keyspace = self.keyspace
        if len(keyspace) or keyspace.versions.marks:  # an empty replica stays silent; peers repair it
            cutoff = max(0, now_ms // EPOCH_MS - SETTLE_EPOCHS)
            body: dict[str, Any] = {"type": KV_DIGESTS.type, "cutoff": cutoff,
                                    "digests": digests_to_json(keyspace.digests(cutoff))}
            if keyspace.versions.marks:
                body["marks"] = marks_to_json(keyspace.versions.marks)
            for peer in node.peers:
                if self.peer_ready(peer):
                    node.send(peer, body)
        self.rounds += 1
        node.call_later(now_ms, jitter_ms(node, self.anti_entropy_ms), self._anti_entropy)

    def _on_digests(self, msg: Message, now_ms: int) -> None:
        node = self.node
        assert node is not None
        body = msg.body
        theirs = digests_from_json(body["digests"])
        cutoff = body.get("cutoff")
        marks = self.keyspace.versions.marks
        mine = self.keyspace.digests(cutoff)
        differ = [i for i in range(SHARD_COUNT) if mine[i] != theirs[i]]
        if not differ and not body.get("sync"):
            return
        if not body.get("sync") and not self.peer_ready(msg.src):
            return  # what it lacks is still in the link's queue
        self.repairs += 1
        entries = self.keyspace.shard_entries(differ, cutoff, REPAIR_ENTRIES_MAX)
        answer: dict[str, Any] = {"type": KV_SHARDS.type, "digests": digests_to_json(mine),
                                  "entries": entries_to_json(entries)}
        if cutoff is not None:
            answer["cutoff"] = cutoff
        if marks:
            answer["marks"] = marks_to_json(marks)
        node.send(msg.src, answer)

    def _on_shards(self, msg: Message, now_ms: int) -> None:
        body = msg.body
        theirs = digests_from_json(body["digests"])
        changed = self.keyspace.merge(entries_from_json(body["entries"]), now_ms,
                                      marks_from_json(body.get("marks", [])))
        self.repaired_keys += len(changed)
        self.synced_with.add(msg.src)
        cutoff = body.get("cutoff")
        mine = self.keyspace.digests(cutoff)
        still = [i for i in range(SHARD_COUNT) if mine[i] != theirs[i]]
        marks = self.keyspace.versions.marks
        self._push(self.keyspace.shard_entries(still, cutoff, REPAIR_ENTRIES_MAX), peers=[msg.src],
                   marks=marks if still else None)
