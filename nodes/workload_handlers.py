"""Per-workload request handlers, shared by the single and the replicated nodes.

Strategy: every Maelstrom RPC a node answers is declared once, as an `Rpc`
in the table below (request fields and the closed ``*_ok`` reply fields);
node-to-node messages are declared the same way. A handler object owns one
workload's state and installs its routes on a `NodeCore`
(``handler.install(node)``), so a node kind is just a list of handlers and
the replicated node swaps only the ones it replicates differently (lin-kv).

Maelstrom gives a node no hint of the workload, and three workloads share
``read`` (and two share ``add``). Bodies with distinguishing fields route
themselves (``read{key}`` is lin-kv, ``add{element}`` is g-set,
``add{delta}`` is a counter). A bare ``read`` goes to the workload the node
has seen evidence of (``topology``/``broadcast``, ``add{element}``,
``add{delta}``) or that it was configured with; with neither, it fails with
the definite ``temporarily-unavailable`` rather than guess a reply shape.
`WorkloadSelector` holds that decision.

Handlers:

* `Echo`, `UniqueIds` (ids ``"<node>.<incarnation>.<n>"``: the incarnation
  is 32 random bits drawn at init, so a restarted node does not repeat the
  ids of its previous life).
* `Broadcast`: a grow-only set of messages, gossiped along the topology
  (all peers when none was given). Per neighbour it keeps the messages not
  yet acknowledged and sends them in one ``gossip`` RPC; at most one is in
  flight per neighbour, later messages batch up behind it, and a periodic
  retry timer resends what a partition or loss kept unacknowledged. Two
  knobs cut messages per operation (the replicated node turns both on):
  ``batch_ms`` holds a client's new message for a neighbour that long so
  one RPC carries all that arrived meanwhile (``relay_ms``, the same for
  messages relayed from a peer, is 0 there: they already travel in
  batches, and waiting at every hop adds up), and ``tree`` gossips only along a
  spanning tree of the topology (`spanning_tree`: breadth-first from a
  centre of each connected component, the same at every node because every
  node gets the same topology), so each message crosses each tree edge once
  instead of flooding every edge of the grid.
* `GSetWorkload`, `CounterWorkload` (g-counter and pn-counter share one
  `PNCounter`): state-based CRDTs from `crdt.replication.lattices`; the whole state is
  pushed to every peer shortly after a change and again every
  ``anti_entropy_ms``; receivers merge.
* `TxnKv`: txn-list-append and txn-rw-register: ``txn{txn}`` runs as one
  MULTI/EXEC on the engine (`nodes.kv_engine.kv_txn`: RPUSH/LRANGE for
  lists, SET/GET for registers, null for a missing key), served by the
  same node of record as lin-kv (`KeyspaceOfRecord`), so it is strict
  serializable.
* `Kafka`: ``send``/``poll``/``commit_offsets``/``list_committed_offsets``
  over engine lists (RPUSH, LRANGE) and one hash of committed offsets; the
  single node only (the replicated node answers them ``not-supported``).
* `LinKv`: ``read``/``write``/``cas`` through the Redis engine (GET, SET and
  the `kv_cas` helper: GET, compare, SET in one synchronous step of the
  single-threaded core, so it is atomic). Keys and values are stored as
  their canonical JSON bytes, so ``1`` and ``1.0`` differ, as in
  Maelstrom's Clojure equality. With several nodes, every node forwards to
  the first node of ``node_ids`` (the one keyspace of record) and relays its
  answer; a forward that times out is answered with the indefinite
  ``timeout`` (0).

Durable state (`NodeCore.durable`, read back at init after a crash): what a
node acknowledged must survive it. Broadcast keeps the messages it has seen
(``broadcast/seen``; after a restart it offers all of them to every
neighbour once, since what was unacknowledged is not known) and the
topology it was given (``broadcast/topology``: Maelstrom does not send it
again); g-set and the counters keep their lattice (``g-set/state``,
``counter/state``, pushed to the peers soon after a restart); lin-kv's
keyspace of record keeps every key it wrote (``lin-kv/<key>``), and the txn
keyspace each list (``txn-list/<key>``) and register (``txn-register/<key>``). Echo and
unique-ids need nothing (a restart draws a new incarnation).

BUGGIFY points (`NodeCore.buggify`): ``crdt.skip-anti-entropy`` (a g-set or
counter anti-entropy round pushes nothing), ``broadcast.skip-retry`` (a
resend round is skipped) and ``broadcast.short-timeout`` (a gossip RPC
times out after 1 to `BUGGIFY_SHORT_TIMEOUT_MS` ms).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Final, TypeVar

import orjson

from crdt.engine import Engine
from crdt.replication.lattices import GSet, PNCounter
from nodes.core import Field, Kind, NodeCore, Rpc, Timer
from nodes.kv_engine import (
    TXN_APPEND,
    TXN_READ,
    TXN_WRITE,
    EngineError,
    TxnRejected,
    json_bytes,
    kv_cas,
    kv_read,
    kv_txn,
    kv_write,
)
from protocol.maelstrom_json import ErrorCode, Message
from protocol.replies import ErrorReply

__all__ = [
    "BROADCAST", "BROADCAST_READ", "CAS", "COUNTER_ADD", "COUNTER_READ", "COUNTER_STATE", "ECHO",
    "GENERATE", "GOSSIP", "GSET_ADD", "GSET_READ", "GSET_STATE", "KAFKA_COMMIT", "KAFKA_LIST_COMMITTED",
    "KAFKA_POLL", "KAFKA_SEND", "KV_READ", "TOPOLOGY", "TXN", "WORKLOADS", "WRITE", "Broadcast",
    "CounterWorkload", "Echo", "GSetWorkload", "Kafka", "KeyspaceOfRecord", "LinKv", "TxnKv", "UniqueIds",
    "WorkloadSelector", "attempt_txn", "jitter_ms", "kafka_offsets", "spanning_tree", "txn_problem",
]

log = logging.getLogger("gyre.node")

# --- the RPC table -------------------------------------------------------------------------
# Client requests (maelstrom-spec.md section 4); reply_fields are the closed *_ok schemas.

ECHO: Final = Rpc("echo", fields=(Field("echo"),), reply_fields=("echo",))
GENERATE: Final = Rpc("generate", reply_fields=("id",))
TOPOLOGY: Final = Rpc("topology", fields=(Field("topology", Kind.TOPOLOGY),))
BROADCAST: Final = Rpc("broadcast", fields=(Field("message", Kind.ELEMENT),))
BROADCAST_READ: Final = Rpc("read", reply_fields=("messages",))
GSET_ADD: Final = Rpc("add", fields=(Field("element", Kind.ELEMENT),))
GSET_READ: Final = Rpc("read", reply_fields=("value",))
COUNTER_ADD: Final = Rpc("add", fields=(Field("delta", Kind.INT),))
COUNTER_READ: Final = Rpc("read", reply_fields=("value",))
KV_READ: Final = Rpc("read", fields=(Field("key"),), reply_fields=("value",))
WRITE: Final = Rpc("write", fields=(Field("key"), Field("value")))
CAS: Final = Rpc("cas", fields=(Field("key"), Field("from"), Field("to")),
                 optional=(Field("create_if_not_exists", Kind.BOOL),))
TXN: Final = Rpc("txn", fields=(Field("txn", Kind.LIST),), reply_fields=("txn",))

KAFKA_SEND: Final = Rpc("send", fields=(Field("key", Kind.STR), Field("msg")), reply_fields=("offset",))
KAFKA_POLL: Final = Rpc("poll", fields=(Field("offsets", Kind.OBJECT),), reply_fields=("msgs",))
KAFKA_COMMIT: Final = Rpc("commit_offsets", fields=(Field("offsets", Kind.OBJECT),))
KAFKA_LIST_COMMITTED: Final = Rpc("list_committed_offsets", fields=(Field("keys", Kind.STR_LIST),),
                                  reply_fields=("offsets",))

# Node-to-node messages.
GOSSIP: Final = Rpc("gossip", fields=(Field("messages", Kind.ELEMENT_LIST),))
GSET_STATE: Final = Rpc("gset_state", fields=(Field("state", Kind.LIST),))
COUNTER_STATE: Final = Rpc("counter_state", fields=(Field("state", Kind.OBJECT),))

#: Workload names a node can be told to expect (``--workload``); "auto" infers.
WORKLOADS: Final = ("auto", "echo", "unique-ids", "broadcast", "g-set", "g-counter", "pn-counter",
                    "lin-kv", "txn-list-append", "txn-rw-register", "kafka")

# Which handler answers a bare ``read`` for each workload name.
_BARE_READ_OWNER: Final = {"broadcast": "broadcast", "g-set": "g-set", "g-counter": "counter",
                           "pn-counter": "counter"}

#: Gossip and retry periods (ms); jittered by up to a quarter from the node's RNG.
GOSSIP_RETRY_MS: Final[int] = 200
GOSSIP_TIMEOUT_MS: Final[int] = 1000
STATE_PUSH_DELAY_MS: Final[int] = 50
ANTI_ENTROPY_MS: Final[int] = 1000
#: How long a forwarded lin-kv request waits for the home node: under the lin-kv
#: client's minimum timeout (1000 ms), so the client gets our indefinite error.
FORWARD_TIMEOUT_MS: Final[int] = 800
#: How many forwarded requests the home node remembers, to serve each once (see `LinKv`).
FORWARDED_MEMORY = 65_536
#: Durable record prefix of lin-kv's keyspace of record (the key's canonical JSON follows).
DURABLE_KV: Final[str] = "lin-kv/"
#: Durable record prefixes of the txn keyspace: a list key's elements, a register's value.
DURABLE_TXN_LIST: Final[str] = "txn-list/"
DURABLE_TXN_REGISTER: Final[str] = "txn-register/"
#: Durable record prefixes of kafka: one record per message (``<key>/<offset>``), and each
#: key's committed offset.
DURABLE_KAFKA_MSG: Final[str] = "kafka-msg/"
DURABLE_KAFKA_COMMITTED: Final[str] = "kafka-committed/"
#: Kafka: the most messages one poll returns per key.
KAFKA_POLL_MAX: Final[int] = 100
#: Kafka: engine key prefix of each log (a list) and the hash of committed offsets.
KAFKA_LOG_PREFIX: Final[bytes] = b"kafka/log/"
KAFKA_COMMITTED: Final[bytes] = b"kafka/committed"
#: BUGGIFY ``broadcast.short-timeout``: a gossip RPC's timeout shrinks to at most this.
BUGGIFY_SHORT_TIMEOUT_MS: Final[int] = 20


def jitter_ms(node: NodeCore, period_ms: int) -> int:
    """``period_ms`` give or take an eighth, drawn from the node's RNG (spreads periodic work)."""
    return period_ms - period_ms // 8 + node.rng.randrange(period_ms // 4 + 1)


class WorkloadSelector:
    """Decides which workload a bare ``read`` belongs to.

    Args:
        configured: a name from `WORKLOADS`; "auto" infers from traffic.
    """

    def __init__(self, configured: str = "auto") -> None:
        assert configured in WORKLOADS, configured
        self.configured = configured
        self.seen: str | None = None
        self.mixed = False

    def note(self, owner: str) -> None:
        """Record evidence that ``owner`` ("broadcast", "g-set", "counter") is running."""
        if self.seen is not None and self.seen != owner and not self.mixed:
            self.mixed = True
            log.warning("traffic for both %s and %s: a bare read goes to the latest one seen", self.seen, owner)
        self.seen = owner

    def owner(self) -> str | None:
        """The handler that answers a bare read, or None when unknown."""
        if self.configured != "auto":
            return _BARE_READ_OWNER.get(self.configured)
        return self.seen

    def claims(self, owner: str) -> Callable[[Mapping[str, Any]], bool]:
        """A route predicate: a keyless ``read`` that belongs to ``owner``."""
        return lambda body: "key" not in body and self.owner() == owner


def install_unknown_read(node: NodeCore, selector: WorkloadSelector) -> None:
    """The last ``read`` route: a keyless read while no workload is known."""
    spec = Rpc("read")

    def refuse(msg: Message, now_ms: int) -> None:
        node.reply_error(msg, ErrorCode.TEMPORARILY_UNAVAILABLE,
                         "read: workload not known yet (no topology, broadcast or add seen); "
                         "start the node with --workload to fix it")

    node.add_route(spec, refuse, when=lambda body: "key" not in body and selector.owner() is None)


# --- echo and unique ids ---------------------------------------------------------------------


class Echo:
    """``echo{echo}`` -> ``echo_ok{echo}``."""

    def install(self, node: NodeCore) -> None:
        node.add_route(ECHO, lambda msg, now_ms: node.reply_ok(msg, ECHO, echo=msg.body["echo"]))


class UniqueIds:
    """``generate`` -> ``generate_ok{id}``, unique across nodes and restarts."""

    def __init__(self) -> None:
        self.incarnation: int | None = None
        self.count = 0

    def install(self, node: NodeCore) -> None:
        def start(now_ms: int) -> None:
            self.incarnation = node.rng.getrandbits(32)

        def generate(msg: Message, now_ms: int) -> None:
            assert self.incarnation is not None
            self.count += 1
            node.reply_ok(msg, GENERATE, id=f"{node.node_id}.{self.incarnation:08x}.{self.count}")

        node.on_init(start)
        node.add_route(GENERATE, generate)


# --- broadcast ---------------------------------------------------------------------------------


def _sorted_elements(xs: Iterable[int | str]) -> list[int | str]:
    return sorted(xs, key=lambda x: (isinstance(x, str), x))


class Broadcast:
    """The broadcast workload: gossip along the topology until acknowledged.

    Args:
        selector: shared with the other handlers of the node.
        retry_ms: period of the resend timer.
        gossip_timeout_ms: how long one ``gossip`` RPC may stay unanswered.
        batch_ms: how long a client's new message waits for company before
            it goes out to a neighbour in one RPC (0: at once when the link
            is idle; later messages queue behind an RPC in flight anyway).
        relay_ms: the same for messages learnt from a peer, which already
            arrive in batches (default: ``batch_ms``).
        tree: gossip only along `spanning_tree` of the topology.
    """

    def __init__(self, selector: WorkloadSelector, *, retry_ms: int = GOSSIP_RETRY_MS,
                 gossip_timeout_ms: int = GOSSIP_TIMEOUT_MS, batch_ms: int = 0,
                 relay_ms: int | None = None, tree: bool = False) -> None:
        assert batch_ms >= 0 and (relay_ms is None or relay_ms >= 0), (batch_ms, relay_ms)
        self.selector = selector
        self.retry_ms = retry_ms
        self.gossip_timeout_ms = gossip_timeout_ms
        self.batch_ms = batch_ms
        self.relay_ms = batch_ms if relay_ms is None else relay_ms
        self.tree = tree
        self.seen = GSet()
        self.neighbours: tuple[str, ...] | None = None  # None: all peers
        self.tree_neighbours: tuple[str, ...] | None = None  # set from the topology when ``tree``
        self.unacked: dict[str, set[int | str]] = {}
        self.in_flight: dict[str, int] = {}  # neighbour -> msg_id of its gossip RPC
        self.armed: dict[str, Timer] = {}  # neighbour -> its pending batch flush
        self.node: NodeCore | None = None

    def install(self, node: NodeCore) -> None:
        self.node = node
        node.add_route(TOPOLOGY, self._topology)
        node.add_route(BROADCAST, self._broadcast)
        node.add_route(BROADCAST_READ, self._read, when=self.selector.claims("broadcast"))
        node.add_route(GOSSIP, self._gossip)
        node.on_init(self._start)

    def _start(self, now_ms: int) -> None:
        node = self.node
        assert node is not None
        topology = node.durable.get("broadcast/topology")
        if topology is not None:
            self.selector.note("broadcast")
            self._use_topology(topology)
        seen = node.durable.get("broadcast/seen")
        if seen:  # a restart: offer everything to every neighbour (what was unacked is lost)
            self.selector.note("broadcast")
            self.seen = GSet(frozenset(seen))
            for n in self.targets():
                self.unacked.setdefault(n, set()).update(seen)
        node.call_later(now_ms, jitter_ms(node, self.retry_ms), self._retry)

    def targets(self) -> tuple[str, ...]:
        """Where new messages go: the topology's neighbours that exist, else all peers."""
        node = self.node
        assert node is not None
        if self.tree_neighbours is not None:
            return self.tree_neighbours
        return node.peers if self.neighbours is None else self.neighbours

    def _topology(self, msg: Message, now_ms: int) -> None:
        node = self.node
        assert node is not None
        self.selector.note("broadcast")
        node.durable.put("broadcast/topology", msg.body["topology"])
        self._use_topology(msg.body["topology"])
        node.reply_ok(msg, TOPOLOGY)

    def _use_topology(self, topology: dict[str, list[str]]) -> None:
        node = self.node
        assert node is not None
        given = topology.get(node.node_id)
        if given is None:
            log.warning("topology has no entry for %s; gossiping to every peer", node.node_id)
        else:
            known = set(node.peers)
            unknown = [n for n in given if n not in known]
            if unknown:
                log.warning("topology names unknown nodes %s; ignoring them", unknown)
            self.neighbours = tuple(dict.fromkeys(n for n in given if n in known))
            log.info("neighbours: %s", list(self.neighbours))
            if self.tree:
                forest = spanning_tree(topology, node.node_ids)
                if forest is None:
                    log.warning("topology leaves some node without links; gossiping on all its edges")
                    self.tree_neighbours = None
                else:
                    self.tree_neighbours = forest[node.node_id]
                    log.info("spanning tree neighbours: %s", list(self.tree_neighbours))

    def _broadcast(self, msg: Message, now_ms: int) -> None:
        self.selector.note("broadcast")
        self._learn([msg.body["message"]], msg.src, now_ms, self.batch_ms)
        assert self.node is not None
        self.node.reply_ok(msg, BROADCAST)

    def _read(self, msg: Message, now_ms: int) -> None:
        assert self.node is not None
        self.node.reply_ok(msg, BROADCAST_READ, messages=self.seen.to_json())

    def _gossip(self, msg: Message, now_ms: int) -> None:
        self.selector.note("broadcast")
        self._learn(msg.body["messages"], msg.src, now_ms, self.relay_ms)
        assert self.node is not None
        self.node.reply_ok(msg, GOSSIP)

    def _learn(self, messages: list[int | str], src: str, now_ms: int, delay_ms: int) -> None:
        new = [m for m in dict.fromkeys(messages) if m not in self.seen]
        if not new:
            return
        self.seen = self.seen.merge(GSet(frozenset(new)))
        assert self.node is not None
        self.node.durable.put("broadcast/seen", self.seen.to_json())
        for n in self.targets():
            if n != src:
                self.unacked.setdefault(n, set()).update(new)
                self._schedule(n, now_ms, delay_ms)

    def _schedule(self, neighbour: str, now_ms: int, delay_ms: int) -> None:
        """Flush now, or after ``delay_ms`` so that later messages join the same RPC."""
        node = self.node
        assert node is not None
        if delay_ms <= 0:
            self._flush(neighbour, now_ms)
            return
        if neighbour in self.armed or neighbour in self.in_flight:
            return

        def fire(t: int) -> None:
            self.armed.pop(neighbour, None)
            self._flush(neighbour, t)

        self.armed[neighbour] = node.call_later(now_ms, delay_ms, fire)

    def _flush(self, neighbour: str, now_ms: int) -> None:
        node = self.node
        assert node is not None
        batch = self.unacked.get(neighbour)
        if not batch or neighbour in self.in_flight:
            return
        sent = _sorted_elements(batch)

        def acked(answer: Message, t: int) -> None:
            self.in_flight.pop(neighbour, None)
            if answer.type == GOSSIP.reply_type:
                self.unacked[neighbour].difference_update(sent)
                if self.unacked[neighbour]:
                    self._schedule(neighbour, t, self.relay_ms)

        def timed_out(t: int) -> None:
            self.in_flight.pop(neighbour, None)  # the retry timer resends

        timeout = self.gossip_timeout_ms
        if node.buggify("broadcast.short-timeout"):
            timeout = 1 + node.rng.randrange(BUGGIFY_SHORT_TIMEOUT_MS)
        self.in_flight[neighbour] = node.rpc(neighbour, {"type": GOSSIP.type, "messages": sent}, now_ms,
                                             on_reply=acked, on_timeout=timed_out, timeout_ms=timeout)

    def _retry(self, now_ms: int) -> None:
        node = self.node
        assert node is not None
        if not node.buggify("broadcast.skip-retry"):
            for n in sorted(self.unacked):
                if n not in self.armed:
                    self._flush(n, now_ms)
        node.call_later(now_ms, jitter_ms(node, self.retry_ms), self._retry)


def spanning_tree(topology: Mapping[str, list[str]], nodes: Sequence[str]) -> dict[str, tuple[str, ...]] | None:
    """A breadth-first spanning forest of a topology, the same at every node.

    Edges are the topology's links taken both ways, between known nodes.
    Each connected component is rooted at a centre (smallest eccentricity,
    ties to the earliest in ``nodes``), which keeps the tree shallow, and
    neighbours are visited in ``nodes`` order, so every node that gets the
    same topology builds the same forest.

    Args:
        topology: node -> its neighbours, as the ``topology`` request gives it.
        nodes: every node id, in init order.

    Returns:
        Node -> its tree neighbours (parent first, then children), or None
        when some node has no link at all while others exist (a topology
        that does not cover the cluster: better gossip on its own edges).
    """
    order = {n: i for i, n in enumerate(nodes)}
    adj: dict[str, set[str]] = {n: set() for n in nodes}
    for u in sorted(topology, key=lambda x: order.get(x, len(order))):
        if u not in order:
            continue
        for v in topology[u]:
            if v in order and v != u:
                adj[u].add(v)
                adj[v].add(u)
    ordered = {n: sorted(adj[n], key=order.__getitem__) for n in nodes}
    if len(nodes) > 1 and any(not ordered[n] for n in nodes):
        return None

    def bfs(root: str) -> dict[str, tuple[str | None, int]]:
        seen: dict[str, tuple[str | None, int]] = {root: (None, 0)}
        frontier = [root]
        while frontier:
            nxt: list[str] = []
            for u in frontier:
                for v in ordered[u]:
                    if v not in seen:
                        seen[v] = (u, seen[u][1] + 1)
                        nxt.append(v)
            frontier = nxt
        return seen

    out: dict[str, list[str]] = {n: [] for n in nodes}
    done: set[str] = set()
    for start in nodes:
        if start in done:
            continue
        component = sorted(bfs(start), key=order.__getitem__)
        done.update(component)
        root = min(component, key=lambda n: (max(d for _, d in bfs(n).values()), order[n]))
        tree = bfs(root)
        for n in component:  # parent first, then children in `nodes` order
            parent = tree[n][0]
            if parent is not None:
                out[n].insert(0, parent)
        for n in component:
            parent = tree[n][0]
            if parent is not None:
                out[parent].append(n)
    return {n: tuple(out[n]) for n in nodes}


# --- state-based CRDT workloads ---------------------------------------------------------------


class _StateGossip:
    """Push a lattice to every peer soon after it changes and every ``anti_entropy_ms``."""

    state_spec: Rpc
    owner: str  # the WorkloadSelector name

    def __init__(self, selector: WorkloadSelector, *, push_delay_ms: int = STATE_PUSH_DELAY_MS,
                 anti_entropy_ms: int = ANTI_ENTROPY_MS) -> None:
        self.selector = selector
        self.push_delay_ms = push_delay_ms
        self.anti_entropy_ms = anti_entropy_ms
        self.node: NodeCore | None = None
        self.in_use = False  # some state exists: push it (an idle workload stays silent)
        self._push_armed = False

    def _install_gossip(self, node: NodeCore) -> None:
        self.node = node
        node.add_route(self.state_spec, self._on_state)
        node.on_init(self._start)

    @property
    def durable_name(self) -> str:
        return f"{self.owner}/state"

    def _start(self, now_ms: int) -> None:
        node = self.node
        assert node is not None
        saved = node.durable.get(self.durable_name)
        if saved is not None:  # a restart: take the state back and tell the peers soon
            self.merge_json(saved)
            self.selector.note(self.owner)
            self.changed(now_ms)
        node.call_later(now_ms, jitter_ms(node, self.anti_entropy_ms), self._anti_entropy)

    def _save(self) -> None:
        """Write the lattice through to the durable store (before the change is acknowledged)."""
        assert self.node is not None
        self.node.durable.put(self.durable_name, self.state_json())

    def state_json(self) -> Any:
        raise NotImplementedError

    def merge_json(self, data: Any) -> None:
        """Merge a peer's state; raises `DecodeError` (a ProtocolError) on bad JSON."""
        raise NotImplementedError

    def changed(self, now_ms: int) -> None:
        """Note local use and schedule a push (coalescing changes within ``push_delay_ms``)."""
        node = self.node
        assert node is not None
        self.in_use = True
        self._save()
        if node.peers and not self._push_armed:
            self._push_armed = True
            node.call_later(now_ms, self.push_delay_ms, self._push_now)

    def _push_now(self, now_ms: int) -> None:
        self._push_armed = False
        self._push()

    def _push(self) -> None:
        node = self.node
        assert node is not None
        state = self.state_json()
        for peer in node.peers:
            node.send(peer, {"type": self.state_spec.type, "state": state})

    def _anti_entropy(self, now_ms: int) -> None:
        node = self.node
        assert node is not None
        if self.in_use and not node.buggify("crdt.skip-anti-entropy"):
            self._push()
        node.call_later(now_ms, jitter_ms(node, self.anti_entropy_ms), self._anti_entropy)

    def _on_state(self, msg: Message, now_ms: int) -> None:
        self.merge_json(msg.body["state"])  # DecodeError -> malformed-request via NodeCore
        self.selector.note(self.owner)
        self.in_use = True
        self._save()


class GSetWorkload(_StateGossip):
    """g-set: ``add{element}`` and ``read`` -> ``read_ok{value: [...]}``."""

    state_spec = GSET_STATE
    owner = "g-set"

    def __init__(self, selector: WorkloadSelector, **kwargs: int) -> None:
        super().__init__(selector, **kwargs)
        self.set = GSet()

    def install(self, node: NodeCore) -> None:
        node.add_route(GSET_ADD, self._add, when=lambda body: "element" in body)
        node.add_route(GSET_READ, self._read, when=self.selector.claims(self.owner))
        self._install_gossip(node)

    def state_json(self) -> Any:
        return self.set.to_json()

    def merge_json(self, data: Any) -> None:
        self.set = self.set.merge(GSet.from_json(data))

    def _add(self, msg: Message, now_ms: int) -> None:
        assert self.node is not None
        self.selector.note(self.owner)
        element = msg.body["element"]
        if element not in self.set:
            self.set = self.set.add(element)
            self.changed(now_ms)
        self.node.reply_ok(msg, GSET_ADD)

    def _read(self, msg: Message, now_ms: int) -> None:
        assert self.node is not None
        self.node.reply_ok(msg, GSET_READ, value=self.set.to_json())


class CounterWorkload(_StateGossip):
    """g-counter and pn-counter: ``add{delta}`` and ``read`` -> ``read_ok{value: int}``."""

    state_spec = COUNTER_STATE
    owner = "counter"

    def __init__(self, selector: WorkloadSelector, **kwargs: int) -> None:
        super().__init__(selector, **kwargs)
        self.counter = PNCounter()

    def install(self, node: NodeCore) -> None:
        node.add_route(COUNTER_ADD, self._add, when=lambda body: "delta" in body)
        node.add_route(COUNTER_READ, self._read, when=self.selector.claims(self.owner))
        self._install_gossip(node)

    def state_json(self) -> Any:
        return self.counter.to_json()

    def merge_json(self, data: Any) -> None:
        self.counter = self.counter.merge(PNCounter.from_json(data))

    def _add(self, msg: Message, now_ms: int) -> None:
        node = self.node
        assert node is not None and node.node_id is not None
        self.selector.note(self.owner)
        delta = msg.body["delta"]
        if delta:
            self.counter = self.counter.add(node.node_id, delta)
            self.changed(now_ms)
        node.reply_ok(msg, COUNTER_ADD)

    def _read(self, msg: Message, now_ms: int) -> None:
        assert self.node is not None
        self.node.reply_ok(msg, COUNTER_READ, value=self.counter.value)


# --- lin-kv through the Redis engine ------------------------------------------------------------


class KeyspaceOfRecord:
    """One node of record (the first of ``node_ids``) serves a keyspace; the others forward to it.

    Subclasses set ``node`` (at install) and ``forward_timeout_ms``, and keep
    ``_forwarded``, the requests of peers already served (see `LinKv`).
    """

    node: NodeCore | None
    forward_timeout_ms: int
    _forwarded: dict[tuple[str, Any], None]

    @property
    def home(self) -> str | None:
        """The node that holds the keyspace of record (the first of ``node_ids``)."""
        assert self.node is not None
        return self.node.node_ids[0] if self.node.node_ids else None

    def _local(self) -> bool:
        assert self.node is not None
        return self.home == self.node.node_id

    def _served_before(self, msg: Message) -> bool:
        """Whether `msg` is a copy of a peer's forwarded request already served (see `LinKv`)."""
        node = self.node
        assert node is not None
        if msg.src not in node.node_ids:
            return False  # a client's request: the network never duplicates those
        ident = (msg.src, msg.body.get("msg_id"))
        seen = self._forwarded
        if ident in seen:
            return True
        seen[ident] = None
        if len(seen) > FORWARDED_MEMORY:
            del seen[next(iter(seen))]
        return False

    def _forward(self, msg: Message, spec: Rpc, now_ms: int) -> None:
        """Ask the home node and relay its answer, keeping the reply schema closed."""
        node = self.node
        home = self.home
        assert node is not None and home is not None
        request = {k: v for k, v in msg.body.items() if k != "msg_id"}

        def relay(answer: Message, t: int) -> None:
            body = answer.body
            if body.get("type") == spec.reply_type and all(f in body for f in spec.reply_fields):
                node.reply_ok(msg, spec, **{f: body[f] for f in spec.reply_fields})
                return
            code = body.get("code")
            if body.get("type") == "error" and isinstance(code, int) and not isinstance(code, bool):
                text = body.get("text")
                node.reply_error(msg, code, text if isinstance(text, str) else None)
                return
            log.warning("%s answered a forwarded %s with %.200r", home, spec.type, body)
            node.reply_error(msg, ErrorCode.CRASH, f"{home} answered {spec.type} with a bad body")

        def timed_out(t: int) -> None:
            node.reply_error(msg, ErrorCode.TIMEOUT, f"{home} did not answer {spec.type} in time")

        node.rpc(home, request, now_ms, on_reply=relay, on_timeout=timed_out,
                 timeout_ms=self.forward_timeout_ms)


class LinKv(KeyspaceOfRecord):
    """lin-kv: ``read``, ``write`` and ``cas`` on the engine, or forwarded to the keyspace of record.

    The home node serves each forwarded request once: the network may
    duplicate node-to-node messages, and a second ``cas`` (or an old ``write``
    again, after later writes) would change the key twice, while its
    "precondition failed" answer could reach the forwarder first and be
    relayed as a definite failure of a write that took effect. A copy of a
    request already served, known by its sender and ``msg_id`` (unique per
    sender), is dropped; the forwarder's own answer is the first one, and if
    that was lost its timeout answers the client with an indefinite error.
    The last `FORWARDED_MEMORY` requests are remembered (in memory: a copy
    that outlives a crash of the home node is served again).

    Args:
        engine: the engine this node serves from (when it is the keyspace of record).
        now_ms: the time the engine session opens.
        forward_timeout_ms: how long a forwarded request may stay unanswered.
    """

    def __init__(self, engine: Engine, now_ms: int = 0, *,
                 forward_timeout_ms: int = FORWARD_TIMEOUT_MS) -> None:
        self.engine = engine
        self.session = engine.open_session(now_ms, addr="maelstrom")
        self.forward_timeout_ms = forward_timeout_ms
        self.node: NodeCore | None = None
        self._forwarded: dict[tuple[str, Any], None] = {}  # (peer, msg_id) served, oldest first

    def install(self, node: NodeCore) -> None:
        self.node = node
        node.add_route(KV_READ, self._read, when=lambda body: "key" in body)
        node.add_route(WRITE, self._write)
        node.add_route(CAS, self._cas)
        node.on_init(self._restore)

    def _restore(self, now_ms: int) -> None:
        """Take back the keys a previous life of this node wrote (nothing on a first start)."""
        assert self.node is not None
        for name, value in self.node.durable.items(DURABLE_KV):
            kv_write(self.engine, self.session, name[len(DURABLE_KV):].encode(), value.encode(), now_ms)

    def _save(self, key: bytes, now_ms: int) -> None:
        assert self.node is not None
        stored = kv_read(self.engine, self.session, key, now_ms)
        name = DURABLE_KV + key.decode()
        if stored is None:
            self.node.durable.delete(name)
        else:
            self.node.durable.put(name, stored.decode())

    def _read(self, msg: Message, now_ms: int) -> None:
        if not self._local():
            self._forward(msg, KV_READ, now_ms)
            return
        if self._served_before(msg):
            return
        node = self.node
        assert node is not None
        try:
            stored = kv_read(self.engine, self.session, json_bytes(msg.body["key"]), now_ms)
        except EngineError as exc:
            node.reply_error(msg, ErrorCode.TEMPORARILY_UNAVAILABLE, str(exc))
            return
        if stored is None:
            node.reply_error(msg, ErrorCode.KEY_DOES_NOT_EXIST, "key does not exist")
            return
        node.reply_ok(msg, KV_READ, value=orjson.loads(stored))

    def _write(self, msg: Message, now_ms: int) -> None:
        if not self._local():
            self._forward(msg, WRITE, now_ms)
            return
        if self._served_before(msg):
            return
        node = self.node
        assert node is not None
        body = msg.body
        try:
            kv_write(self.engine, self.session, json_bytes(body["key"]), json_bytes(body["value"]), now_ms)
        except EngineError as exc:
            node.reply_error(msg, ErrorCode.TEMPORARILY_UNAVAILABLE, str(exc))
            return
        self._save(json_bytes(body["key"]), now_ms)
        node.reply_ok(msg, WRITE)

    def _cas(self, msg: Message, now_ms: int) -> None:
        if not self._local():
            self._forward(msg, CAS, now_ms)
            return
        if self._served_before(msg):
            return
        node = self.node
        assert node is not None
        body = msg.body
        try:
            outcome = kv_cas(self.engine, self.session, json_bytes(body["key"]), json_bytes(body["from"]),
                             json_bytes(body["to"]), now_ms,
                             create_if_missing=body.get("create_if_not_exists") is True)
        except EngineError as exc:
            node.reply_error(msg, ErrorCode.TEMPORARILY_UNAVAILABLE, str(exc))
            return
        if outcome.ok:
            self._save(json_bytes(body["key"]), now_ms)
            node.reply_ok(msg, CAS)
        elif outcome.current is None:
            node.reply_error(msg, ErrorCode.KEY_DOES_NOT_EXIST, "key does not exist")
        else:
            node.reply_error(msg, ErrorCode.PRECONDITION_FAILED,
                             f"current value {outcome.current.decode()} is not {json_bytes(body['from']).decode()}")


# --- txn-list-append and txn-rw-register through the Redis engine --------------------------------

_TXN_FS: Final = (TXN_READ, TXN_APPEND, TXN_WRITE)


def txn_problem(txn: list[Any]) -> str | None:
    """Why a ``txn`` body's micro-ops cannot run (a malformed request), or None."""
    if not txn:
        return "txn: an empty transaction"
    for m in txn:
        if not (isinstance(m, list) and len(m) == 3 and m[0] in _TXN_FS):
            return f"txn: a micro-op must be [f, key, value] with f one of r, append, w; got {m!r:.80}"
        if isinstance(m[1], (list, dict)):
            return f"txn: a key must be a scalar, got {m[1]!r:.80}"
        if m[0] != TXN_READ and (m[2] is None or isinstance(m[2], (list, dict))):
            return f"txn: a written value must be a non-null scalar, got {m[2]!r:.80}"
    return None


T = TypeVar("T")


def attempt_txn(node: NodeCore, msg: Message, run: Callable[[], T]) -> T | None:
    """``run()`` a transaction; on failure answer ``msg`` and return None.

    A write of the wrong type for its key is ``abort`` (definite: nothing ran);
    an engine error is ``crash`` (indefinite: it may have partly run).
    """
    try:
        return run()
    except TxnRejected as exc:
        node.reply_error(msg, ErrorCode.ABORT, str(exc))
    except EngineError as exc:
        node.reply_error(msg, ErrorCode.CRASH, str(exc))
    return None


class TxnKv(KeyspaceOfRecord):
    """txn-list-append and txn-rw-register: each ``txn`` one MULTI/EXEC on the engine.

    With several nodes, every node forwards to the node of record, as `LinKv`
    does (duplicated forwards are served once, for the same reason).

    Args:
        engine: the engine this node serves from (when it is the node of record).
        now_ms: the time the engine session opens.
        forward_timeout_ms: how long a forwarded request may stay unanswered.
    """

    def __init__(self, engine: Engine, now_ms: int = 0, *,
                 forward_timeout_ms: int = FORWARD_TIMEOUT_MS) -> None:
        self.engine = engine
        self.session = engine.open_session(now_ms, addr="maelstrom-txn")
        self.forward_timeout_ms = forward_timeout_ms
        self.node: NodeCore | None = None
        self._forwarded: dict[tuple[str, Any], None] = {}

    def install(self, node: NodeCore) -> None:
        self.node = node
        node.add_route(TXN, self._txn)
        node.on_init(self._restore)

    def _restore(self, now_ms: int) -> None:
        """Take back the lists and registers a previous life of this node wrote."""
        assert self.node is not None
        for name, elements in self.node.durable.items(DURABLE_TXN_LIST):
            key = name[len(DURABLE_TXN_LIST):].encode()
            self.engine.execute([b"RPUSH", key, *(json_bytes(x) for x in elements)], self.session,
                                now_ms)
        for name, value in self.node.durable.items(DURABLE_TXN_REGISTER):
            kv_write(self.engine, self.session, name[len(DURABLE_TXN_REGISTER):].encode(),
                     json_bytes(value), now_ms)

    def _save(self, mops: list[list[Any]]) -> None:
        """Write the txn's appends and writes through to the durable store."""
        assert self.node is not None
        durable = self.node.durable
        for f, k, v in mops:
            if f == TXN_APPEND:
                name = DURABLE_TXN_LIST + json_bytes(k).decode()
                durable.put(name, [*(durable.get(name) or []), v])
            elif f == TXN_WRITE:
                durable.put(DURABLE_TXN_REGISTER + json_bytes(k).decode(), v)

    def _txn(self, msg: Message, now_ms: int) -> None:
        node = self.node
        assert node is not None
        problem = txn_problem(msg.body["txn"])
        if problem is not None:
            node.reply_error(msg, ErrorCode.MALFORMED_REQUEST, problem)
            return
        if not self._local():
            self._forward(msg, TXN, now_ms)
            return
        if self._served_before(msg):
            return
        done = attempt_txn(node, msg, lambda: kv_txn(self.engine, self.session, msg.body["txn"], now_ms))
        if done is None:
            return
        self._save(done)
        node.reply_ok(msg, TXN, txn=done)


class Kafka(KeyspaceOfRecord):
    """kafka: each key's log is an engine list, committed offsets one engine hash.

    ``send`` is RPUSH (offset = new length − 1, so offsets are dense from 0);
    ``poll`` is LRANGE from each requested offset, at most `KAFKA_POLL_MAX`
    messages per key (keys with nothing are left out); ``commit_offsets``
    raises each key's committed offset, never lowers it (HGET, compare, HSET
    in one synchronous step of the single-threaded core); and
    ``list_committed_offsets`` is HMGET (unknown keys left out). Messages are
    stored as canonical JSON. With several nodes every node forwards to the
    first of ``node_ids`` and the home node serves a forwarded request once
    (`KeyspaceOfRecord`, as lin-kv does). Every acknowledged send and commit
    is written through to the durable store first (one record per message,
    so a send costs one small record), and a restarted node takes its logs
    and offsets back at init.

    Args:
        engine: the keyspace.
        now_ms: the time the engine session opens.
        durable: write through to, and restore from, the node's durable store.
    """

    def __init__(self, engine: Engine, now_ms: int = 0, *,
                 forward_timeout_ms: int = FORWARD_TIMEOUT_MS, durable: bool = True) -> None:
        self.engine = engine
        self.session = engine.open_session(now_ms, addr="maelstrom-kafka")
        self.node: NodeCore | None = None
        self.forward_timeout_ms = forward_timeout_ms
        self._forwarded: dict[tuple[str, Any], None] = {}
        self.durable = durable

    def install(self, node: NodeCore) -> None:
        self.node = node
        for spec, fn in ((KAFKA_SEND, self._send), (KAFKA_POLL, self._poll),
                         (KAFKA_COMMIT, self._commit), (KAFKA_LIST_COMMITTED, self._list_committed)):
            node.add_route(spec, self._serve(spec, fn))
        if self.durable:
            node.on_init(self._restore)

    def _restore(self, now_ms: int) -> None:
        """Take back the logs and committed offsets a previous life of this node acknowledged."""
        assert self.node is not None
        logs: dict[str, dict[int, Any]] = {}
        for name, msg in self.node.durable.items(DURABLE_KAFKA_MSG):
            key, _, offset = name[len(DURABLE_KAFKA_MSG):].rpartition("/")
            logs.setdefault(key, {})[int(offset)] = msg
        for key, msgs in logs.items():
            self._run([b"RPUSH", KAFKA_LOG_PREFIX + key.encode(),
                       *(json_bytes(msgs[i]) for i in sorted(msgs))], now_ms)
        for name, offset in self.node.durable.items(DURABLE_KAFKA_COMMITTED):
            self._run([b"HSET", KAFKA_COMMITTED, name[len(DURABLE_KAFKA_COMMITTED):].encode(),
                       str(offset).encode()], now_ms)

    def _serve(self, spec: Rpc, fn: Callable[[Mapping[str, Any], int], dict[str, Any]]
               ) -> Callable[[Message, int], None]:
        def handle(msg: Message, now_ms: int) -> None:
            node = self.node
            assert node is not None
            if not self._local():
                self._forward(msg, spec, now_ms)
                return
            if self._served_before(msg):
                return
            try:
                fields = fn(msg.body, now_ms)
            except EngineError as exc:
                node.reply_error(msg, ErrorCode.TEMPORARILY_UNAVAILABLE, str(exc))
                return
            except _BadRequest as exc:
                node.reply_error(msg, ErrorCode.MALFORMED_REQUEST, str(exc))
                return
            node.reply_ok(msg, spec, **fields)
        return handle

    def _run(self, argv: list[bytes], now_ms: int) -> Any:
        reply = self.engine.execute(argv, self.session, now_ms)
        if isinstance(reply, ErrorReply):
            raise EngineError(reply.decode("utf-8", "replace"))
        return reply

    def _send(self, body: Mapping[str, Any], now_ms: int) -> dict[str, Any]:
        length = self._run([b"RPUSH", KAFKA_LOG_PREFIX + body["key"].encode(), json_bytes(body["msg"])],
                           now_ms)
        offset = int(length) - 1
        if self.durable:
            assert self.node is not None
            self.node.durable.put(f"{DURABLE_KAFKA_MSG}{body['key']}/{offset}", body["msg"])
        return {"offset": offset}

    def _poll(self, body: Mapping[str, Any], now_ms: int) -> dict[str, Any]:
        msgs: dict[str, list[list[Any]]] = {}
        for key, offset in sorted(kafka_offsets(body["offsets"]).items()):
            start = max(0, offset)
            got = self._run([b"LRANGE", KAFKA_LOG_PREFIX + key.encode(), str(start).encode(),
                             str(start + KAFKA_POLL_MAX - 1).encode()], now_ms)
            if got:
                msgs[key] = [[start + i, orjson.loads(m)] for i, m in enumerate(got)]
        return {"msgs": msgs}

    def _commit(self, body: Mapping[str, Any], now_ms: int) -> dict[str, Any]:
        for key, offset in sorted(kafka_offsets(body["offsets"]).items()):
            field_ = key.encode()
            old = self._run([b"HGET", KAFKA_COMMITTED, field_], now_ms)
            if old is None or int(old) < offset:
                self._run([b"HSET", KAFKA_COMMITTED, field_, str(offset).encode()], now_ms)
                if self.durable:
                    assert self.node is not None
                    self.node.durable.put(DURABLE_KAFKA_COMMITTED + key, offset)
        return {}

    def _list_committed(self, body: Mapping[str, Any], now_ms: int) -> dict[str, Any]:
        keys = list(body["keys"])
        if not keys:
            return {"offsets": {}}
        got = self._run([b"HMGET", KAFKA_COMMITTED, *(k.encode() for k in keys)], now_ms)
        return {"offsets": {k: int(v) for k, v in zip(keys, got) if v is not None}}


class _BadRequest(ValueError):
    """A kafka request whose offsets map is not keys to integers."""


def kafka_offsets(value: Mapping[str, Any]) -> dict[str, int]:
    """A kafka request's ``offsets`` map, checked: keys to integers.

    Raises:
        ValueError: an offset that is not an integer.
    """
    out: dict[str, int] = {}
    for k, v in value.items():
        if not isinstance(v, int) or isinstance(v, bool):
            raise _BadRequest(f"offset of key {k!r} must be an integer, not {v!r}")
        out[k] = v
    return out
