"""Causal mode: lin-kv writes carry vector clocks and become visible in causal order.

Strategy: causal broadcast (Birman-Schiper-Stephenson) over the same typed
keyspace as the eventual mode (`nodes.typed_keyspace.TypedKeyspace`).

* Every node has an *origin* id, ``<node_id>:<incarnation>`` (32 random bits
  drawn at init), so a restarted node never reuses the sequence numbers of
  its previous life. ``applied`` is a vector clock origin -> how many of that
  origin's writes are visible here; the visible state is always a causally
  closed set of writes.
* A local write gets the next sequence number of this origin, the vector
  clock ``deps`` = ``applied`` including itself (everything it may depend
  on), and an HLC timestamp per key; it is applied at once, logged, and sent
  to every peer in ``causal_writes`` (fire and forget).
* A remote write from origin ``o`` with clock ``deps`` is *deliverable* when
  ``applied[o] == deps[o] - 1`` and ``applied[n] >= deps[n]`` for every other
  ``n``. Until then it waits in a buffer; each delivery re-checks the buffer
  heads (one queue per origin, sorted by sequence number). Duplicates and
  writes already visible are dropped, so loss, duplication and reordering
  only delay visibility.
* Convergence: applying a write joins its key deltas into the keys' typed
  CRDTs (concurrent writes merge by data type; strings: larger HLC timestamp
  wins). The HLC observes every received timestamp, so a write that
  causally follows another has a larger timestamp: last-writer-wins agrees
  with causal order, and concurrent writes are resolved the same way
  everywhere. Replicas that applied the same set of writes hold the same
  state.
* Anti-entropy: every ``anti_entropy_ms`` a node with writes sends its
  ``applied`` clock to every peer (``causal_sync``). The receiver answers
  with the writes the sender lacks from its log (at most
  `WRITES_PER_MESSAGE_MAX` writes and about `ENTRIES_PER_MESSAGE_MAX` key
  entries a round; nothing while the link to the sender still holds a
  backlog, `peer_ready`), and syncs back once when it is itself
  behind, so an empty (restarted) replica is repaired too. The round also
  carries the replica's acknowledgement (the version vector of the dots it
  has merged), which drives the keyspace's GC. Shard digests
  would not do here: merging arbitrary registers could make a write visible
  before its dependencies. The unit of repair is the write, identified by
  ``(origin, seq)``.
* The log keeps writes until every peer's reported clock covers them. When a
  peer needs writes that were already collected, the receiver sends a
  snapshot instead (``causal_snapshot``: its ``applied`` clock and all its
  versions). A snapshot is a causally closed cut, and merging two closed
  cuts gives a closed cut, so it is safe to merge at any time.
* Sessions: per client (``src``), the clock of everything the client has
  read or written here. A request waits (up to ``session_wait_ms``) until
  ``applied`` covers the client's clock, then fails with the definite
  ``temporarily-unavailable``. A client that stays on one node (as in
  Maelstrom) never waits: read-your-writes and monotonic reads follow from
  ``applied`` only growing. Session clocks also travel with writes (the
  writing client) and with the anti-entropy round (clients active since the
  last round), so a client that moves to another node is protected once
  that record reached the new node. The ``*_ok`` schemas are closed, so the
  clock cannot ride in the reply path to the client: a client that moves
  faster than one anti-entropy round may miss its own writes (documented
  limitation).
* ``cas`` compares locally and writes on a match, as in eventual mode.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from crdt.engine import Engine
from crdt.replication.clocks import DecodeError, VectorClock
from crdt.replication.keystates import Entry, Mark
from nodes.core import Field, Kind, NodeCore, Rpc
from nodes.eventual import KvRequests, note_ack
from nodes.typed_keyspace import (
    Stamped,
    TypedKeyspace,
    entries_from_json,
    entries_to_json,
    marks_from_json,
    marks_to_json,
)
from nodes.workload_handlers import ANTI_ENTROPY_MS, CAS, KV_READ, TXN, WRITE, jitter_ms
from protocol.maelstrom_json import ErrorCode, Message

__all__ = [
    "CAUSAL_SNAPSHOT", "CAUSAL_SYNC", "CAUSAL_WRITES", "CausalKv", "CausalWrite",
    "ENTRIES_PER_MESSAGE_MAX", "SESSION_WAIT_MS", "WRITES_PER_MESSAGE_MAX",
]

log = logging.getLogger("gyre.node")

CAUSAL_WRITES: Final = Rpc("causal_writes", fields=(Field("writes", Kind.LIST),))
CAUSAL_SYNC: Final = Rpc("causal_sync", fields=(Field("clock", Kind.OBJECT),),
                         optional=(Field("sessions", Kind.OBJECT), Field("reply", Kind.BOOL),
                                   Field("sync", Kind.BOOL), Field("seen", Kind.OBJECT)))
CAUSAL_SNAPSHOT: Final = Rpc("causal_snapshot", fields=(Field("clock", Kind.OBJECT), Field("entries", Kind.LIST)),
                             optional=(Field("marks", Kind.LIST), Field("sync", Kind.BOOL)))

#: How long a request waits for its client's causal past to become visible
#: (under the lin-kv client's minimum timeout of 1000 ms).
SESSION_WAIT_MS: Final[int] = 500
#: Writes sent in one anti-entropy answer, and their key entries (a write of a RESP
#: server carries every key of a replication window); the rest follow next round.
WRITES_PER_MESSAGE_MAX: Final[int] = 500
ENTRIES_PER_MESSAGE_MAX: Final[int] = 4096
#: Buffered (not yet deliverable) remote writes kept; beyond it new ones are
#: dropped and fetched again by anti-entropy.
PENDING_MAX: Final[int] = 100_000
#: Client session clocks kept (least recently used are forgotten).
SESSIONS_MAX: Final[int] = 10_000
#: Session clocks sent in one anti-entropy round.
SESSIONS_PER_SYNC_MAX: Final[int] = 1_000


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True, slots=True)
class CausalWrite:
    """One replicated write.

    Attributes:
        origin: the origin (node incarnation) that made it.
        seq: its sequence number at that origin, from 1.
        deps: its vector clock: everything visible at the origin, itself included.
        entries: the registers it sets.
        client: the client that asked for it, if known.
    """

    origin: str
    seq: int
    deps: VectorClock
    entries: tuple[Entry, ...]
    client: str | None = None
    #: flush marks of the write (FLUSHDB, FLUSHALL, SWAPDB of a RESP client), applied before its entries.
    marks: tuple[tuple[int, Mark], ...] = ()

    def __post_init__(self) -> None:
        assert self.seq >= 1 and self.deps.counter(self.origin) == self.seq, self

    def to_json(self) -> dict[str, Any]:
        out = {"origin": self.origin, "seq": self.seq, "deps": self.deps.to_json(),
               "entries": entries_to_json(self.entries), "client": self.client}
        if self.marks:
            out["marks"] = marks_to_json(dict(self.marks))
        return out

    @classmethod
    def from_json(cls, data: object) -> CausalWrite:
        """Decode a peer's write.

        Raises:
            DecodeError: any field is missing or invalid.
        """
        if not isinstance(data, dict):
            raise DecodeError(f"causal write must be an object, got {data!r}")
        origin, seq, client = data.get("origin"), data.get("seq"), data.get("client")
        if not isinstance(origin, str) or not _is_int(seq) or seq < 1:
            raise DecodeError(f"causal write needs origin (string) and seq (int >= 1): {data!r}")
        if client is not None and not isinstance(client, str):
            raise DecodeError(f"causal write client must be a string or null: {client!r}")
        deps = VectorClock.from_json(data.get("deps"))
        if deps.counter(origin) != seq:
            raise DecodeError(f"causal write deps[{origin}] must equal seq {seq}: {deps!r}")
        return cls(origin, seq, deps, tuple(entries_from_json(data.get("entries"))), client,
                   tuple(marks_from_json(data.get("marks", []))))


@dataclass(eq=False, slots=True)
class _Waiting:
    msg: Message
    handler: Any  # Callable[[Message, int], None]
    need: VectorClock


class CausalKv(KvRequests):
    """lin-kv in causal mode (see module doc).

    Args:
        engine: the node's engine.
        now_ms: when the node starts.
        anti_entropy_ms: period of the clock exchange.
        session_wait_ms: how long a request may wait for its session's past.
    """

    def __init__(self, engine: Engine, now_ms: int = 0, *, anti_entropy_ms: int = ANTI_ENTROPY_MS,
                 session_wait_ms: int = SESSION_WAIT_MS) -> None:
        self.keyspace = TypedKeyspace(engine, now_ms)
        self.anti_entropy_ms = anti_entropy_ms
        self.session_wait_ms = session_wait_ms
        self.node: NodeCore | None = None
        self.origin = ""
        self.applied: dict[str, int] = {}
        self.log: dict[str, dict[int, CausalWrite]] = {}
        self.pending: dict[str, dict[int, CausalWrite]] = {}
        self.pending_count = 0
        self.peer_clocks: dict[str, VectorClock] = {}
        self.sessions: dict[str, VectorClock] = {}
        self._sessions_dirty: dict[str, None] = {}
        self.waiting: list[_Waiting] = []
        self.snapshots_sent = 0
        self.synced_with: set[str] = set()  # peers whose snapshot answered this replica's sync request

    def install(self, node: NodeCore) -> None:
        self.node = node
        node.add_route(KV_READ, self._session_gate(self._read), when=lambda body: "key" in body)
        node.add_route(WRITE, self._session_gate(self._write))
        node.add_route(CAS, self._session_gate(self._cas))
        node.add_route(TXN, self._session_gate(self._txn))
        node.add_route(CAUSAL_WRITES, self._on_writes)
        node.add_route(CAUSAL_SYNC, self._on_sync)
        node.add_route(CAUSAL_SNAPSHOT, self._on_snapshot)
        node.on_init(self._start)

    def _start(self, now_ms: int) -> None:
        node = self.node
        assert node is not None and node.node_id is not None
        self.origin = f"{node.node_id}:{node.rng.getrandbits(32):08x}"
        self.keyspace.start(node.node_id, self.origin)
        node.call_later(now_ms, jitter_ms(node, self.anti_entropy_ms), self._anti_entropy)

    @property
    def clock(self) -> VectorClock:
        """What is visible here, as a vector clock."""
        return VectorClock.of(self.applied)

    def _covers(self, vc: VectorClock) -> bool:
        applied = self.applied
        return all(applied.get(n, 0) >= c for n, c in vc.entries)

    # -- sessions -----------------------------------------------------------------------------

    def _note_session(self, client: str, vc: VectorClock, *, ours: bool = True) -> None:
        """Raise a client's session clock; ``ours``: learnt here (forwarded at the next round)."""
        old = self.sessions.pop(client, None)
        self.sessions[client] = vc if old is None else old.merge(vc)  # re-inserted: most recent last
        if ours:
            self._sessions_dirty[client] = None
        if len(self.sessions) > SESSIONS_MAX:
            oldest = next(iter(self.sessions))
            del self.sessions[oldest]
            self._sessions_dirty.pop(oldest, None)

    def _session_gate(self, handler: Any) -> Any:
        """Wrap a client handler: run it once the client's causal past is visible here."""

        def gated(msg: Message, now_ms: int) -> None:
            need = self.sessions.get(msg.src)
            if need is None or self._covers(need):
                handler(msg, now_ms)
                return
            entry = _Waiting(msg, handler, need)
            self.waiting.append(entry)
            node = self.node
            assert node is not None
            node.call_later(now_ms, self.session_wait_ms, lambda t: self._give_up(entry))

        return gated

    def _give_up(self, entry: _Waiting) -> None:
        if entry not in self.waiting:
            return
        self.waiting.remove(entry)
        node = self.node
        assert node is not None
        node.reply_error(entry.msg, ErrorCode.TEMPORARILY_UNAVAILABLE,
                         "this client's earlier reads and writes are not visible on this node yet")

    def _release_waiting(self, now_ms: int) -> None:
        if not self.waiting:
            return
        ready = [w for w in self.waiting if self._covers(w.need)]
        if ready:
            self.waiting = [w for w in self.waiting if w not in ready]
            for w in ready:
                w.handler(w.msg, now_ms)

    # -- client requests --------------------------------------------------------------------------

    def _observed(self, client: str) -> None:
        self._note_session(client, self.clock)

    def _replicate(self, entries: list[Entry], client: str) -> None:
        self._commit_local(entries, client)

    def replicate(self, stamped: Stamped) -> None:
        """What local RESP commands wrote (`TypedKeyspace.stamp`) as one causal write.

        A RESP client stays on its server, which gives it read-your-writes
        and monotonic reads with no session clock.
        """
        self._commit_local(stamped.entries, None, tuple(sorted(stamped.marks.items())))

    def request_sync(self) -> None:
        """Ask every peer for a snapshot (a node that starts empty); the first one merged
        means this replica caught up with that peer (`synced_with`)."""
        node = self.node
        assert node is not None
        body = {"type": CAUSAL_SYNC.type, "clock": self.clock.to_json(), "reply": True, "sync": True}
        for peer in node.peers:
            node.send(peer, body)

    def _commit_local(self, entries: list[Entry], client: str | None,
                      marks: tuple[tuple[int, Mark], ...] = ()) -> None:
        """Turn locally applied registers into a causal write: log it and push it to every peer."""
        node = self.node
        assert node is not None
        if not entries and not marks:
            return
        seq = self.applied.get(self.origin, 0) + 1
        self.applied[self.origin] = seq
        write = CausalWrite(self.origin, seq, self.clock, tuple(entries), client, marks)
        self.log.setdefault(self.origin, {})[seq] = write
        if client is not None:
            self._note_session(client, write.deps)
        data = [write.to_json()]
        for peer in node.peers:
            node.send(peer, {"type": CAUSAL_WRITES.type, "writes": data})

    # -- delivery ------------------------------------------------------------------------------------

    def _receive(self, writes: Iterable[CausalWrite], now_ms: int) -> int:
        """Buffer writes from a peer and deliver everything deliverable.

        Returns:
            How many writes became visible.
        """
        writes = list(writes)
        self.keyspace.observe((e for w in writes for e in w.entries), now_ms)
        for w in writes:
            if w.client is not None:
                self._note_session(w.client, w.deps, ours=False)
            if w.seq <= self.applied.get(w.origin, 0):
                continue  # already visible (a duplicate, or covered by a snapshot)
            queue = self.pending.setdefault(w.origin, {})
            if w.seq in queue:
                continue
            if self.pending_count >= PENDING_MAX:
                log.warning("causal buffer full (%d writes): dropping %s/%d", PENDING_MAX, w.origin, w.seq)
                continue
            queue[w.seq] = w
            self.pending_count += 1
        delivered = self._deliver(now_ms)
        self._release_waiting(now_ms)
        return delivered

    def _deliver(self, now_ms: int) -> int:
        delivered = 0
        progress = True
        while progress:
            progress = False
            for origin in sorted(self.pending):
                queue = self.pending[origin]
                while True:
                    nxt = self.applied.get(origin, 0) + 1
                    w = queue.get(nxt)
                    if w is None or not self._covers_except(w.deps, origin):
                        break
                    del queue[nxt]
                    self.pending_count -= 1
                    self._apply(w, now_ms)
                    delivered += 1
                    progress = True
                if not queue:
                    del self.pending[origin]
        return delivered

    def _covers_except(self, deps: VectorClock, origin: str) -> bool:
        applied = self.applied
        return all(applied.get(n, 0) >= c for n, c in deps.entries if n != origin)

    def _apply(self, w: CausalWrite, now_ms: int) -> None:
        assert self.applied.get(w.origin, 0) == w.seq - 1, (w.origin, w.seq)
        self.keyspace.merge(w.entries, now_ms, w.marks)
        self.applied[w.origin] = w.seq
        self.log.setdefault(w.origin, {})[w.seq] = w

    def _drop_covered_pending(self) -> None:
        for origin in sorted(self.pending):
            queue = self.pending[origin]
            floor = self.applied.get(origin, 0)
            for seq in [s for s in queue if s <= floor]:
                del queue[seq]
                self.pending_count -= 1
            if not queue:
                del self.pending[origin]

    # -- peer messages ---------------------------------------------------------------------------------

    def _on_writes(self, msg: Message, now_ms: int) -> None:
        data = msg.body["writes"]
        writes = [CausalWrite.from_json(w) for w in data]
        for w in writes:  # refused whole here: a write that fails when delivered would block its origin
            self.keyspace.check_databases(w.entries, w.marks)
        self._receive(writes, now_ms)

    def _anti_entropy(self, now_ms: int) -> None:
        node = self.node
        assert node is not None
        if self.applied:
            self.keyspace.collect(node.peers)
            body: dict[str, Any] = {"type": CAUSAL_SYNC.type, "clock": self.clock.to_json(),
                                    "seen": self.keyspace.table.acknowledgement()}
            if self._sessions_dirty:
                names = list(self._sessions_dirty)[-SESSIONS_PER_SYNC_MAX:]
                body["sessions"] = {c: self.sessions[c].to_json() for c in names if c in self.sessions}
                self._sessions_dirty = {}
            for peer in node.peers:
                node.send(peer, body)
        node.call_later(now_ms, jitter_ms(node, self.anti_entropy_ms), self._anti_entropy)

    def _on_sync(self, msg: Message, now_ms: int) -> None:
        node = self.node
        assert node is not None
        body = msg.body
        theirs = VectorClock.from_json(body["clock"])
        if "seen" in body:
            note_ack(self.keyspace, msg.src, body["seen"])
        sessions = body.get("sessions") or {}
        decoded = {c: VectorClock.from_json(vc) for c, vc in sorted(sessions.items())}
        for client, vc in decoded.items():
            self._note_session(client, vc, ours=False)
        peer = msg.src
        self.peer_clocks[peer] = theirs  # a stale (reordered) clock only makes collection later
        self._collect_log()
        if not body.get("sync") and not self.peer_ready(peer):
            self._release_waiting(now_ms)
            return  # what it lacks is still in the link's queue
        missing = None if body.get("sync") else self._missing_for(theirs)
        if missing is None:
            self.snapshots_sent += 1
            snapshot: dict[str, Any] = {"type": CAUSAL_SNAPSHOT.type, "clock": self.clock.to_json(),
                                        "entries": entries_to_json(self.keyspace.table.items())}
            if self.keyspace.table.marks:
                snapshot["marks"] = marks_to_json(self.keyspace.table.marks)
            if body.get("sync"):
                snapshot["sync"] = True
            node.send(peer, snapshot)
        elif missing:
            node.send(peer, {"type": CAUSAL_WRITES.type, "writes": [w.to_json() for w in missing]})
        if not body.get("reply") and not self._covers(theirs):
            node.send(peer, {"type": CAUSAL_SYNC.type, "clock": self.clock.to_json(), "reply": True})
        self._release_waiting(now_ms)

    def _missing_for(self, theirs: Mapping[str, int]) -> list[CausalWrite] | None:
        """The writes a peer at clock ``theirs`` lacks, from the log; None when some were collected."""
        out: list[CausalWrite] = []
        carried = 0  # key entries in ``out``
        for origin in sorted(self.applied):
            have = self.applied[origin]
            start = theirs.get(origin, 0)
            if have <= start:
                continue
            entries = self.log.get(origin, {})
            for seq in range(start + 1, have + 1):
                w = entries.get(seq)
                if w is None:
                    return None
                out.append(w)
                carried += len(w.entries)
                if len(out) >= WRITES_PER_MESSAGE_MAX or carried >= ENTRIES_PER_MESSAGE_MAX:
                    return out
        return out

    def _collect_log(self) -> None:
        """Forget logged writes every peer has reported as visible."""
        node = self.node
        assert node is not None
        peers = node.peers
        if not peers or any(p not in self.peer_clocks for p in peers):
            return
        for origin in sorted(self.log):
            floor = min(self.peer_clocks[p].counter(origin) for p in peers)
            entries = self.log[origin]
            for seq in [s for s in entries if s <= floor]:
                del entries[seq]

    def _on_snapshot(self, msg: Message, now_ms: int) -> None:
        theirs = VectorClock.from_json(msg.body["clock"])
        entries = entries_from_json(msg.body["entries"])
        self.keyspace.merge(entries, now_ms, marks_from_json(msg.body.get("marks", [])))
        if msg.body.get("sync"):
            self.synced_with.add(msg.src)
        for origin, seq in theirs.entries:
            if seq > self.applied.get(origin, 0):
                self.applied[origin] = seq
        self._drop_covered_pending()
        self._deliver(now_ms)
        self._release_waiting(now_ms)
