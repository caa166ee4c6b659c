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
from collections.abc import Iterable, Sequence
from typing import Any, Final

import orjson

from crdt.replication.clocks import DecodeError, HybridClock, Timestamp
from crdt.engine import Engine
from crdt.keyspace import string_bytes
from crdt.replication.lattices import (
    SHARD_COUNT,
    LWWMap,
    LWWRegister,
    decode_bytes,
    encode_bytes,
    entry_digest,
    shard_of,
)
from nodes.core import Field, Kind, NodeCore, Rpc
from nodes.kv_engine import CasOutcome, EngineError, json_bytes
from nodes.workload_handlers import ANTI_ENTROPY_MS, CAS, KV_READ, WRITE, jitter_ms
from protocol.maelstrom_json import ErrorCode, Message
from protocol.replies import ErrorReply

__all__ = [
    "KV_DELTA", "KV_DIGESTS", "KV_SHARDS", "Entry", "EventualKv", "LwwKeyspace",
    "entries_from_json", "entries_to_json",
]

log = logging.getLogger("gyre.node")

Entry = tuple[bytes, LWWRegister[Any]]

# Node-to-node messages of the eventual mode (all fire and forget).
KV_DELTA: Final = Rpc("kv_delta", fields=(Field("entries", Kind.LIST),))
KV_DIGESTS: Final = Rpc("kv_digests", fields=(Field("digests", Kind.STR_LIST),))
KV_SHARDS: Final = Rpc("kv_shards", fields=(Field("entries", Kind.LIST), Field("digests", Kind.STR_LIST)))

_DIGEST_MOD: Final[int] = 1 << 64


# --- wire forms ---------------------------------------------------------------------------------


def entries_to_json(entries: Iterable[Entry]) -> list[list[Any]]:
    """Encode ``(key, register)`` pairs as ``[[key, {"ts", "value"}], ...]`` (bytes as Latin-1 strings)."""
    return [[encode_bytes(k), r.to_json(encode_bytes)] for k, r in entries]


def entries_from_json(data: object) -> list[Entry]:
    """Decode `entries_to_json` output from a peer.

    Raises:
        DecodeError: the structure, a key, a timestamp or a value is invalid.
    """
    return list(LWWMap.from_json(data, decode_bytes, decode_bytes).items())  # type: ignore[arg-type]


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


class LwwKeyspace:
    """The engine's database 0 plus one LWW version per key and the node's HLC.

    Args:
        engine: where values live (reads are plain GETs on it).
        now_ms: when the engine session opens.
    """

    def __init__(self, engine: Engine, now_ms: int = 0) -> None:
        self.engine = engine
        self.session = engine.open_session(now_ms, addr="replication")
        self.versions = LWWMap()
        self.clock: HybridClock | None = None  # set by `start` once the node id is known
        self._digests = [0] * SHARD_COUNT

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
            The reply and the new ``(key, register)`` entries (to replicate).
        """
        clock = self.clock
        assert clock is not None, "keyspace used before init"
        reply, delta = self.engine.execute_with_delta(argv, self.session, now_ms)
        entries: list[Entry] = []
        for db_index, keys in sorted(delta.items()):
            if db_index != 0:
                log.warning("writes to database %d are not replicated", db_index)
                continue
            db = self.engine.dbs[0]
            for key in dict.fromkeys(keys):
                value = db.lookup(key, now_ms)
                text = None if value is None else string_bytes(value)
                if value is not None and text is None:
                    log.warning("only string values are replicated; %r is a %s", key, type(value).__name__)
                    continue
                reg = LWWRegister(text, clock.now(now_ms))
                self._store(key, reg)
                entries.append((key, reg))
        return reply, entries

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

    # -- replication ---------------------------------------------------------------------------

    def observe(self, entries: Iterable[Entry], now_ms: int) -> None:
        """HLC receive rule over the largest timestamp among ``entries``."""
        clock = self.clock
        assert clock is not None
        latest: Timestamp | None = max((r.ts for _, r in entries), default=None)
        if latest is not None:
            clock.observe(latest, now_ms)

    def merge(self, entries: Iterable[Entry], now_ms: int) -> list[Entry]:
        """Merge registers from a peer; winners are written into the engine.

        Returns:
            The entries that changed this replica.
        """
        entries = list(entries)
        self.observe(entries, now_ms)
        changed: list[Entry] = []
        for key, reg in entries:
            old = self.versions.get(key)
            if old is not None and old.wins_over(reg):
                continue
            self._store(key, reg)
            argv = [b"DEL", key] if reg.value is None else [b"SET", key, reg.value]
            reply = self.engine.execute(argv, self.session, now_ms)
            assert not isinstance(reply, ErrorReply), reply
            changed.append((key, reg))
        return changed

    def _store(self, key: bytes, reg: LWWRegister[Any]) -> None:
        i = shard_of(key)
        old = self.versions.get(key)
        self.versions = self.versions.put(key, reg)
        new = self.versions.get(key)
        assert new is not None
        if new is not old:
            d = self._digests[i] + entry_digest(key, new)
            if old is not None:
                d -= entry_digest(key, old)
            self._digests[i] = d % _DIGEST_MOD

    def digests(self) -> list[int]:
        """The 16 shard digests (maintained incrementally; equal to `LWWMap.shard_digests`)."""
        return list(self._digests)

    def shard_entries(self, shards: Iterable[int]) -> list[Entry]:
        """Every entry (tombstones included) of some shards, in deterministic order."""
        out: list[Entry] = []
        for i in sorted(set(shards)):
            out.extend(self.versions.shard_items(i))  # type: ignore[arg-type]
        return out

    def value_of(self, key: bytes) -> bytes | None:
        """The replicated value of ``key`` (None when absent or deleted), from the versions."""
        reg = self.versions.get(key)
        return None if reg is None else reg.value


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
        if entries:
            self._replicate(entries, msg.src)
        else:
            self._observed(msg.src)
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
        self.repairs = 0  # kv_shards answers sent (for tests and logs)

    def install(self, node: NodeCore) -> None:
        self.node = node
        node.add_route(KV_READ, self._read, when=lambda body: "key" in body)
        node.add_route(WRITE, self._write)
        node.add_route(CAS, self._cas)
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

    # -- replication --------------------------------------------------------------------------------

    def _push(self, entries: list[Entry], peers: Iterable[str] | None = None) -> None:
        node = self.node
        assert node is not None
        if not entries:
            return
        data = entries_to_json(entries)
        for peer in (node.peers if peers is None else peers):
            node.send(peer, {"type": KV_DELTA.type, "entries": data})

    def _on_delta(self, msg: Message, now_ms: int) -> None:
        self.keyspace.merge(entries_from_json(msg.body["entries"]), now_ms)

    def _anti_entropy(self, now_ms: int) -> None:
        node = self.node
        assert node is not None
        if len(self.keyspace):  # an empty replica stays silent; peers with data repair it
            digests = digests_to_json(self.keyspace.digests())
            for peer in node.peers:
                node.send(peer, {"type": KV_DIGESTS.type, "digests": digests})
        node.call_later(now_ms, jitter_ms(node, self.anti_entropy_ms), self._anti_entropy)

    def _on_digests(self, msg: Message, now_ms: int) -> None:
        node = self.node
        assert node is not None
        theirs = digests_from_json(msg.body["digests"])
        mine = self.keyspace.digests()
        differ = [i for i in range(SHARD_COUNT) if mine[i] != theirs[i]]
        if not differ:
            return
        self.repairs += 1
        node.send(msg.src, {"type": KV_SHARDS.type, "digests": digests_to_json(mine),
                            "entries": entries_to_json(self.keyspace.shard_entries(differ))})

    def _on_shards(self, msg: Message, now_ms: int) -> None:
        theirs = digests_from_json(msg.body["digests"])
        self.keyspace.merge(entries_from_json(msg.body["entries"]), now_ms)
        mine = self.keyspace.digests()
        still = [i for i in range(SHARD_COUNT) if mine[i] != theirs[i]]
        self._push(self.keyspace.shard_entries(still), peers=[msg.src])
