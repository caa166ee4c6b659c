"""Eventual mode: every key a typed CRDT, deltas pushed at once and repaired by digests.

Strategy (Anna-style, with typed lattices): the Redis engine holds the
values; beside it every key is a typed CRDT (`nodes.typed_keyspace`), so
replicas merge concurrent writes by data type (counters add up, sets are
add-wins, hashes merge per field, lists keep every push; strings are
last-writer-wins by the node's hybrid logical clock).

* A local write (``write``, the SET of a successful ``cas``, a transaction,
  or a RESP client's batch in `gyre serve`) is stamped into one delta per
  key it wrote, pushed to every peer at once in one ``kv_delta`` message
  (fire and forget).
* Receiving deltas or states (a delta, a repair) first observes their
  timestamps (HLC receive rule), then joins them key by key; a key whose
  contents changed is written into the engine. Joining is commutative,
  associative and idempotent, so lost, duplicated and reordered messages
  are harmless: whatever arrives eventually, in any order and any number of
  times, gives the same state.
* Anti-entropy: every ``anti_entropy_ms`` (jittered) a node that holds any
  key sends its 16 shard digests (of its keys' states, maintained
  incrementally) to every peer in ``kv_digests``, with its acknowledgement
  (the version vector of what it has merged). A peer whose digests differ
  answers ``kv_shards`` with the states of its keys in the differing shards
  and all its digests; the initiator merges them and, for each shard still
  different, pushes its own states back as a ``kv_delta``. Replicas in sync
  exchange one small message per pair and round; only differing shards
  travel. The acknowledgements drive GC (`TypedKeyspace.collect`), run once
  a round.
* ``cas`` compares locally and, when it matches, writes: two sides of a
  partition may both succeed, and the later timestamp wins after healing.
  That is the honest eventual-consistency result: lin-kv with partitions is
  not linearizable, but every replica converges.

`TypedKeyspace` is shared with the causal mode, which adds visibility rules
on top.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

import orjson

from crdt.engine import Engine
from crdt.replication.clocks import DecodeError, VectorClock
from crdt.replication.keystates import EPOCH_MS, Entry, Mark
from crdt.replication.lattices import SHARD_COUNT
from nodes.core import Field, Kind, NodeCore, Rpc
from nodes.kv_engine import CasOutcome, EngineError, json_bytes
from nodes.typed_keyspace import (
    Stamped,
    TypedKeyspace,
    entries_from_json,
    entries_to_json,
    marks_from_json,
    marks_to_json,
)
from nodes.workload_handlers import ANTI_ENTROPY_MS, CAS, KV_READ, TXN, WRITE, attempt_txn, jitter_ms, txn_problem
from protocol.maelstrom_json import ErrorCode, Message

__all__ = ["KV_DELTA", "KV_DIGESTS", "KV_SHARDS", "EventualKv", "KvRequests", "note_ack"]

log = logging.getLogger("gyre.node")

# Node-to-node messages of the eventual mode (all fire and forget). ``marks``
# carries flush marks (FLUSHDB, FLUSHALL, SWAPDB) wherever entries travel.
KV_DELTA: Final = Rpc("kv_delta", fields=(Field("entries", Kind.LIST),), optional=(Field("marks", Kind.LIST),))
KV_DIGESTS: Final = Rpc("kv_digests", fields=(Field("digests", Kind.STR_LIST),),
                        optional=(Field("marks", Kind.LIST), Field("sync", Kind.BOOL), Field("cutoff", Kind.INT),
                                  Field("seen", Kind.OBJECT)))
KV_SHARDS: Final = Rpc("kv_shards", fields=(Field("entries", Kind.LIST), Field("digests", Kind.STR_LIST)),
                       optional=(Field("marks", Kind.LIST), Field("cutoff", Kind.INT)))
#: Anti-entropy compares entries at least this many whole epochs old
#: (`crdt.replication.keystates.EPOCH_MS`): deltas still in flight are not repaired.
SETTLE_EPOCHS: Final[int] = 1
#: The most entries one repair message carries; the rest follow in the next rounds.
REPAIR_ENTRIES_MAX: Final[int] = 4096

_DIGEST_MOD: Final[int] = 1 << 64


# --- wire forms ---------------------------------------------------------------------------------


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
    """read, write and cas against a replica's `TypedKeyspace`.

    The modes differ only in how a local write is replicated (`_replicate`)
    and what a client's read tells them (`_observed`).
    """

    node: NodeCore | None
    keyspace: TypedKeyspace

    def _replicate(self, entries: list[Entry], client: str) -> None:
        raise NotImplementedError

    def replicate_local(self, entries: list[Entry], client: str) -> None:
        """Replicate what another handler wrote through this keyspace for ``client`` (kafka)."""
        self._replicate(entries, client)

    def _observed(self, client: str) -> None:
        """A client saw this replica's state (the causal mode keeps its session)."""

    def peer_ready(self, peer: str) -> bool:
        """Whether the link to ``peer`` has drained what was sent to it: a repair towards a peer
        still receiving a backlog would only resend what is on its way. Always true here (the
        simulator's links are never backed up); a driver with a real transport replaces it on
        the instance (`nodes.replica_serve`)."""
        return True

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
        self.keyspace = TypedKeyspace(engine, now_ms)
        self.anti_entropy_ms = anti_entropy_ms
        self.node: NodeCore | None = None
        self.repairs = 0  # kv_shards answers sent (for tests, logs and INFO)
        self.repaired_keys = 0  # entries that changed this replica through a repair
        self.rounds = 0  # anti-entropy rounds started
        self.synced_with: set[str] = set()  # peers whose kv_shards answer this replica merged
        self._repair_cursor = 0  # moves every capped repair on to other entries (`_next_repair`)

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
        self.keyspace.start(node.node_id, f"{node.node_id}:{node.rng.getrandbits(32):08x}")
        node.call_later(now_ms, jitter_ms(node, self.anti_entropy_ms), self._anti_entropy)

    # -- client requests -------------------------------------------------------------------------

    def _replicate(self, entries: list[Entry], client: str) -> None:
        self._push(entries)

    def replicate(self, stamped: Stamped) -> None:
        """Push what local commands wrote (`TypedKeyspace.stamp`) to every peer, as one delta."""
        self._push(stamped.entries, marks=stamped.marks)

    def request_sync(self) -> None:
        """Ask every peer for whatever this replica lacks (a node that starts empty).

        Each peer answers ``kv_shards`` even when nothing differs, so the
        first answer tells that this replica has caught up with that peer.
        """
        node = self.node
        assert node is not None
        body = {"type": KV_DIGESTS.type, "digests": digests_to_json(self.keyspace.digests()),
                "marks": marks_to_json(self.keyspace.table.marks), "sync": True}
        for peer in node.peers:
            node.send(peer, body)

    # -- replication --------------------------------------------------------------------------------

    def _push(self, entries: list[Entry], peers: Iterable[str] | None = None,
              marks: Mapping[int, Mark] | None = None) -> None:
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
        table = keyspace.table
        if len(keyspace) or table.marks:  # an empty replica stays silent; peers repair it
            keyspace.collect(node.peers)
            cutoff = max(0, now_ms // EPOCH_MS - SETTLE_EPOCHS)
            body: dict[str, Any] = {"type": KV_DIGESTS.type, "cutoff": cutoff,
                                    "digests": digests_to_json(keyspace.digests(cutoff)),
                                    "seen": table.acknowledgement()}
            if table.marks:
                body["marks"] = marks_to_json(table.marks)
            for peer in node.peers:
                if self.peer_ready(peer):
                    node.send(peer, body)
        self.rounds += 1
        node.call_later(now_ms, jitter_ms(node, self.anti_entropy_ms), self._anti_entropy)

    def _next_repair(self) -> int:
        """Where the next capped repair starts (`TypedKeyspace.shard_entries`): each one moves on."""
        self._repair_cursor += 1
        return self._repair_cursor

    def _on_digests(self, msg: Message, now_ms: int) -> None:
        node = self.node
        assert node is not None
        body = msg.body
        theirs = digests_from_json(body["digests"])
        if "seen" in body:
            note_ack(self.keyspace, msg.src, body["seen"])
        cutoff = body.get("cutoff")
        marks = self.keyspace.table.marks
        mine = self.keyspace.digests(cutoff)
        differ = [i for i in range(SHARD_COUNT) if mine[i] != theirs[i]]
        if not differ and not body.get("sync"):
            return
        if not body.get("sync") and not self.peer_ready(msg.src):
            return  # what it lacks is still in the link's queue
        self.repairs += 1
        entries = self.keyspace.shard_entries(differ, cutoff, REPAIR_ENTRIES_MAX, self._next_repair())
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
        marks = self.keyspace.table.marks
        entries = self.keyspace.shard_entries(still, cutoff, REPAIR_ENTRIES_MAX, self._next_repair())
        self._push(entries, peers=[msg.src], marks=marks if still else None)


def note_ack(keyspace: TypedKeyspace, peer: str, data: object) -> None:
    """Keep a peer's acknowledgement (the version vector of what it has merged) for GC.

    Raises:
        DecodeError: not an object of non-negative integers.
    """
    keyspace.table.note_ack(peer, VectorClock.from_json(data).to_json())
