"""StrongKv: linearizable lin-kv and RESP commands by per-key CASPaxos over majority quorums.

Strategy: the protocol's pure parts live in `nodes.caspaxos` (ballots, the
register state, the acceptor, one proposer `Round`); this handler wires
them to a `NodeCore`. Every node is an acceptor (``paxos_prepare`` and
``paxos_accept`` routes, answered at once from `Acceptor`) and a proposer:

* A client ``read``/``write``/``cas`` becomes an `Op` queued on its key's
  `_KeyProposer`, with a deadline ``request_timeout_ms`` after arrival.
  So does a RESP command the server driver submits (`StrongKv.submit_command`;
  `nodes.strong_commands` says which commands qualify, names their keys'
  registers and holds their change function). Both kinds of op share
  everything below: acceptor, rounds, batching, done table, durable
  records, resend, backoff and deadlines; only the change function and the
  way an answer leaves differ.
* A round takes every queued op (a batch), prepares at a fresh ballot
  ``(counter, node_id)``, adopts the highest accepted state of a majority of
  promises, applies the batch to it in arrival order (`apply_batch`, or
  `apply_commands` for a RESP key, both through the Redis engine) and sends
  the result in ``accept``. A majority of acks commits the round and every
  op in it is answered with its result. A read is a full round too (it
  writes back the state it adopted), so it is linearizable without clock
  assumptions.
* The rounds of a key on this node form a chain at one ballot
  (`nodes.caspaxos`): once a round committed, the key's next round goes
  straight to accept at ``(ballot, seq + 1)`` on the state it committed (one
  round trip), and ops that arrive while a round's accept is in flight are
  proposed at once in a round chained to it, on the state it proposed
  (pipelining, up to ``pipeline_depth`` rounds in flight on a key). An ack
  of a later round commits the earlier ones too; answers go in chain order.
  Any failure drops the whole chain: its ops are retried in a full round at
  a fresh ballot.
* This node's own acceptor answers by a direct call; the others get an
  item in a one-way message (every item for one peer and kind in a turn
  goes in one message, answered by one message: per-message work is paid
  once per turn, not per key), matched by ``(key, ballot, phase)``. A phase
  is resent every ``resend_ms`` (adapted to the measured round trip) to
  acceptors that have not answered, so loss only slows a round.
* Thrifty accepts: an accept goes to this node and just enough peers for a
  majority, first those whose answers completed the latest quorums (a
  prepare, rarer, asks everyone). The other acceptors get it only if the
  round is resent, and their answers then move them to the front of that
  order, so a silent peer costs one resend period, not one per round.
  Safety does not depend on who is asked (a value is chosen by any
  majority's acks, and a prepare's majority meets every accepting one); a
  skipped acceptor holds an older state of the key, which the next prepare
  reaching it replaces or outranks. Measured on the 3-server benchmark
  (one-key SET): +18-28% rounds a second, a third fewer messages and
  fsyncs in the cluster. ``thrifty=False`` asks every acceptor. A nack with
  a higher ballot raises the ballot counter past it; once a majority is out
  of reach, or at a resend after any nack, the round is abandoned and a new
  one starts after a random backoff (from the node's RNG) that doubles with
  each consecutive failure.
* Retrying an op that was in an abandoned accept is safe because the state
  carries a done table (see `nodes.caspaxos`): an op some acceptor already
  has applied keeps its recorded result instead of being applied twice.
* At its deadline an unanswered op fails: ``temporarily-unavailable`` (11,
  definite) when no accept carrying it was ever sent, so it can never take
  effect (it leaves the queue before any later accept), otherwise the
  indefinite ``timeout`` (0). The default deadline (800 ms) answers before
  the lin-kv client's own timeout (``max(10 x latency, 1 s)``). A command
  op gets `COMMAND_NOT_APPLIED` or `COMMAND_MAY_HAVE_APPLIED` instead.

Lin-kv keys are their canonical JSON text (so ``1`` and ``1.0`` are
different keys, as in Maelstrom); a RESP key's register is
``r:<db>:<key as Latin-1>`` (`nodes.strong_commands.resp_key`).

Durable state (`NodeCore.durable`; CASPaxos is safe through crashes only
with it): every acceptor slot whose promise or accepted ``(ballot, state)``
changes is written through (``paxos/slot/<key>``: promised, accepted, state)
before the answer leaves. The ballot counter is reserved in blocks:
``paxos/counter`` holds the highest counter this node may use
(`BALLOT_BLOCK` past the one that needed it), written when a new ballot
passes it, and a restarted proposer starts above it, so it never reuses a
ballot with another value. A slot record also holds the accepted state's
place in its ballot's chain (``seq``). A restarted node reads both back at init. So a phase request
(prepare, accept) depends on no durable write but a new reservation:
a server driver may send the requests of a turn before it syncs the turn's
records, unless ``reserved_this_turn`` (the acceptor's answers, which
depend on the slot records, always wait for the sync). Everything else (queued requests,
rounds, chains, the round-trip estimate) is lost with the process,
which only costs availability: a client whose request died with it sees a
timeout (indefinite). A store that keeps nothing (`VolatileStore`, ``gyre
serve --volatile``) gets no slot records (not even encoded).

BUGGIFY points (`NodeCore.buggify`): ``strong.delay-reply`` (an acceptor
answers up to `BUGGIFY_REPLY_DELAY_MS` late; its state changed at once) and
``strong.short-resend`` (a phase is resent after 1 to `RESEND_MIN_MS` ms
instead of the adaptive period).
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Final

import orjson

from crdt.config import Config
from crdt.engine import Engine
from crdt.replication.images import Image
from nodes.caspaxos import (
    Acceptor,
    AcceptorSlot,
    Ballot,
    Op,
    OpKind,
    Outcome,
    Phase,
    Promise,
    RegState,
    Result,
    Round,
    apply_batch,
    ballot_from_wire,
    ballot_to_wire,
)
from nodes.core import Field, Kind, NodeCore, Rpc, Timer
from nodes.json_registers import JSON_PREFIX, Step, apply_json_ops, json_op
from nodes.kv_engine import EngineError, json_bytes
from nodes.strong_commands import (
    CommandScratch,
    Route,
    RouteKind,
    apply_commands,
    check_state,
    classify,
    is_resp_key,
    parse_resp_key,
    resp_key,
)
from nodes.strong_kafka import COMMIT_PREFIX, LOG_PREFIX, commit_step, log_step
from nodes.strong_txn import TXN_REGISTER, txn_step
from nodes.workload_handlers import CAS, KV_READ, TXN, WRITE, txn_problem
from protocol.errors import ProtocolError
from protocol.maelstrom_json import ErrorCode, Message

__all__ = ["BALLOT_BLOCK", "COMMAND_MAY_HAVE_APPLIED", "COMMAND_NOT_APPLIED", "PAXOS_ACCEPT",
           "PAXOS_ACCEPT_OK", "PAXOS_PREPARE", "PAXOS_PREPARE_OK", "PHASE_REQUESTS",
           "REQUEST_TIMEOUT_MS", "StrongKv"]

log = logging.getLogger("gyre.node")

# Node-to-node messages, one-way, each carrying every item of its kind this node has for that
# peer in one turn (`_flush`); answers are matched by (key, ballot, phase), not by msg_id. The key
# is its canonical JSON text (or a RESP register name), the state `RegState.to_wire`, a ballot
# ``[counter, node]``:
#   paxos_prepare    items [key, ballot]
#   paxos_prepare_ok items [key, ballot, ok, promised, accepted, state, accepted seq]
#   paxos_accept     items [key, ballot, state, seq] (seq: the state's place in the ballot's chain)
#   paxos_accept_ok  items [key, ballot, ok, promised, seq]
PAXOS_PREPARE: Final = Rpc("paxos_prepare", fields=(Field("items", Kind.LIST),))
PAXOS_PREPARE_OK: Final = Rpc("paxos_prepare_ok", fields=(Field("items", Kind.LIST),))
PAXOS_ACCEPT: Final = Rpc("paxos_accept", fields=(Field("items", Kind.LIST),))
PAXOS_ACCEPT_OK: Final = Rpc("paxos_accept_ok", fields=(Field("items", Kind.LIST),))
#: A resent phase (and the answers to it) also travels through every other peer, one hop:
#: ``paxos_relay{to, body}`` to the relaying peer, ``paxos_relayed{from, body}`` from it.
#: With one-way cuts (a majorities ring on three nodes: n0 -> n2 -> n1 -> n0 only) no
#: direct exchange completes, but every relayed one does.
#: The phase requests a proposer sends (what a server driver may send before syncing, see module doc).
PHASE_REQUESTS: Final[frozenset[str]] = frozenset({PAXOS_PREPARE.type, PAXOS_ACCEPT.type})
PAXOS_RELAY: Final = Rpc("paxos_relay", fields=(Field("to", Kind.STR), Field("body", Kind.OBJECT)))
PAXOS_RELAYED: Final = Rpc("paxos_relayed", fields=(Field("from", Kind.STR), Field("body", Kind.OBJECT)))

#: How long a client request may wait for its round (under lin-kv's 1 s client timeout).
REQUEST_TIMEOUT_MS: Final[int] = 800
#: Resend period of a phase before any round trip was measured.
RESEND_INITIAL_MS: Final[int] = 100
#: Bounds of the adaptive resend period (3 x smoothed round trip + 10 ms).
RESEND_MIN_MS: Final[int] = 20
RESEND_MAX_MS: Final[int] = 250
#: Backoff after a lost duel: uniform in [1, min(cap, base x 2^failures)], base ~ one round trip.
BACKOFF_BASE_MIN_MS: Final[int] = 5
BACKOFF_CAP_MS: Final[int] = 200
#: How long past its expiry a done entry survives (covers clock skew between nodes).
DONE_GC_MARGIN_MS: Final[int] = 10_000
#: Weight of a new round-trip sample in the smoothed estimate (as TCP's SRTT, 1/8).
RTT_GAIN: Final[float] = 0.125
#: Rounds a key may have in flight at once (one prepare or accept, then chained accepts, `_extend`).
PIPELINE_DEPTH: Final[int] = 3
#: BUGGIFY ``strong.delay-reply``: an acceptor's answer leaves up to this much later.
BUGGIFY_REPLY_DELAY_MS: Final[int] = 200
#: Durable record names.
DURABLE_SLOT: Final[str] = "paxos/slot/"
DURABLE_COUNTER: Final[str] = "paxos/counter"
#: Ballot counters reserved by one durable write of ``paxos/counter`` (module doc).
BALLOT_BLOCK: Final[int] = 1024

_SPECS: Final = {OpKind.READ: KV_READ, OpKind.WRITE: WRITE, OpKind.CAS: CAS}


def _slot_record(promised: Ballot, accepted: Ballot, state: RegState, seq: int) -> list[object]:
    """The durable record of an acceptor slot (``paxos/slot/<key>``)."""
    return [ballot_to_wire(promised), ballot_to_wire(accepted), state.to_wire(), seq]


def _same_content(kept: RegState, new: RegState) -> bool:
    """Whether a later state of the same chain needs no durable record of its own: the same
    value, and no done entry the kept one lacks (a round of reads, which may also drop
    answered requests' entries).

    Then the record on disk, ``(ballot, seq, kept)``, serves in its place after a restart:
    the promise and the ballot are the same, a prepare that adopts ``kept`` adopts the same
    value, and an entry kept longer only answers a retry nobody makes. So a round of reads
    costs no write and no fsync, on the proposer or on its acceptors.
    """
    if new.value != kept.value:
        return False
    if not new.done:
        return True
    have = {e.rid for e in kept.done}
    return all(e.rid in have for e in new.done)


def _json_step(register: str) -> Step | None:
    """The step function of a JSON register (`nodes.json_registers`), by its name; None for others."""
    if not register.startswith(JSON_PREFIX):
        return None
    if register == TXN_REGISTER:
        return txn_step
    if register.startswith(LOG_PREFIX):
        return log_step
    if register.startswith(COMMIT_PREFIX):
        return commit_step
    return None

#: A command op's answer when it failed definitely: no accept carrying it was ever sent.
COMMAND_NOT_APPLIED: Final[bytes] = (b"-TRYAGAIN strong mode: no majority reachable in time; "
                                     b"the command was not applied\r\n")
#: A command op's answer when an accept carrying it was sent but no majority confirmed in time.
COMMAND_MAY_HAVE_APPLIED: Final[bytes] = (b"-TIMEOUT strong mode: no majority answered in time; "
                                          b"the command may or may not have taken effect\r\n")
#: A command submitted before the node knows its cluster (no ``init`` yet).
COMMAND_NOT_READY: Final[bytes] = (b"-TRYAGAIN strong mode: this node has not joined its cluster yet; "
                                   b"the command was not applied\r\n")


@dataclass(eq=False, slots=True)
class _Request:
    msg: Message | None  # a lin-kv client's request, or None for a command op
    op: Op
    done: Callable[[bytes], None] | None = None  # a command op's answer goes here
    on_result: Callable[[Result], None] | None = None  # a JSON op's result goes here
    proposed: bool = False  # an accept carrying it was sent: failure is indefinite from now on
    answered: bool = False
    in_flight: bool = False  # in the batch of a round of the key's chain still in flight
    timer: Timer | None = None


@dataclass(eq=False, slots=True)
class _Flight:
    """One round of a key's chain in flight: a prepare then an accept, or (chained) an accept only."""

    round: Round
    batch: list[_Request] = field(default_factory=list)  # the ops of the round's accept
    results: dict[str, Result] = field(default_factory=dict)  # their results, if the accept commits
    sent_at: dict[str, int] = field(default_factory=dict)  # acceptor -> when this phase last asked it
    phase_at: int = 0  # when the round's current phase was first sent


@dataclass(slots=True)
class _KeyProposer:
    key: str  # canonical JSON text, or a RESP key's register name
    command_key: bytes | None = None  # the Redis key of a RESP register (None: lin-kv)
    queue: list[_Request] = field(default_factory=list)  # every request not answered yet, in order
    # The chain's rounds in flight, oldest first (`nodes.caspaxos`): at most one prepares (the
    # first); the others are accepts at the same ballot, each proposing the change of its batch
    # applied to the state the round before it proposed. Empty: no round on the key.
    flights: list[_Flight] = field(default_factory=list)
    resend: Timer | None = None
    backoff: Timer | None = None
    kicked: bool = False  # waiting in `StrongKv._kicked` for the next tick
    failures: int = 0
    # The chain's last committed ``(ballot, seq, state)`` once no round is in flight: the key's next
    # round goes straight to accept at ``(ballot, seq + 1)``. None: the next round prepares.
    warm: tuple[Ballot, int, RegState] | None = None
    wire: list[object] | None = None  # the chain's ballot, as sent
    resend_from: int = 0  # when the pending resend timer was armed


@dataclass(slots=True)
class StrongStats:
    """Counters for logs and tests."""

    rounds: int = 0
    warm_rounds: int = 0  # rounds that skipped prepare (chained: one round trip)
    pipelined_rounds: int = 0  # chained rounds started while an earlier round of the key was in flight
    committed: int = 0
    rejected: int = 0
    resends: int = 0
    deduplicated: int = 0
    definite_failures: int = 0
    indefinite_failures: int = 0


class StrongKv:
    """lin-kv by per-key CASPaxos (see module doc).

    Args:
        rpc_timeout_ms: how long a client request may wait for its rounds
            before it fails (11 when nothing was proposed, else 0).
        engine: the engine that evaluates lin-kv change functions (a fresh
            one by default); each key holds the last state this node proposed.
        config: the config of the private engine that evaluates command ops
            (`CommandScratch`); default: ``engine``'s, else a fresh one.
        resend_initial_ms: resend period before any round trip was measured.
        backoff_cap_ms: longest backoff after a lost duel.
        pipeline_depth: how many rounds a key may have in flight at once (1: no pipelining).
        gc_margin_ms: how long past its expiry a done entry is kept.
        thrifty: send an accept to just a majority (this node and the peers that completed
            the latest quorums), the others only on a resend (module doc); False: to every
            acceptor at once.
    """

    def __init__(self, rpc_timeout_ms: int = REQUEST_TIMEOUT_MS, *, engine: Engine | None = None,
                 resend_initial_ms: int = RESEND_INITIAL_MS, backoff_cap_ms: int = BACKOFF_CAP_MS,
                 gc_margin_ms: int = DONE_GC_MARGIN_MS, config: Config | None = None,
                 pipeline_depth: int = PIPELINE_DEPTH, thrifty: bool = True) -> None:
        assert rpc_timeout_ms > 0 and resend_initial_ms > 0 and backoff_cap_ms > 0 and pipeline_depth >= 1
        self.pipeline_depth = pipeline_depth
        self.thrifty = thrifty
        # Peers, the one whose answer last completed a quorum first: a thrifty accept asks the
        # first of them (filled at the first accept; `_quorum_by`).
        self._peer_order: list[str] = []
        self.request_timeout_ms = rpc_timeout_ms
        self.engine = engine
        self.session = None if engine is None else engine.open_session(0, addr="strong")
        self.command_config = config if config is not None else (engine.config if engine is not None else None)
        self.scratch: CommandScratch | None = None  # built at the first command op
        # Told (db, key, image or None) when a command round this node proposed commits, before
        # its replies: a driver may mirror committed values for INFO keyspace and the like. Only
        # this node's own rounds are seen, so such a mirror lags; reads must still go through rounds.
        self.on_command_commit: Callable[[int, bytes, Image | None], None] | None = None
        self.backoff_cap_ms = backoff_cap_ms
        self.gc_margin_ms = gc_margin_ms
        self.acceptor = Acceptor()
        self.proposers: dict[str, _KeyProposer] = {}
        self.counter = 0
        # The highest counter the durable record allows (`_next_ballot`), and whether this
        # turn raised it: then no phase request may leave before the record is synced.
        self.reserved = 0
        self.reserved_this_turn = False
        self.incarnation = 0
        self.next_rid = 0
        self.srtt_ms: float | None = None
        self.resend_initial_ms = resend_initial_ms
        self.stats = StrongStats()
        self.node: NodeCore | None = None
        # Items to send at the end of this turn: (peer, message type) -> items, in first-use order.
        self._outgoing: dict[tuple[str, str], list[list[object]]] = {}
        self._relay: set[tuple[str, str]] = set()  # outgoing batches that also go through the other peers
        self._resending = False  # `_send_phase` is resending: its batches are relayed too
        # Proposers whose first round starts at the next tick (submitted commands), and its one timer.
        self._kicked: list[_KeyProposer] = []
        self._kick: Timer | None = None

    # -- wiring ---------------------------------------------------------------------------

    def install(self, node: NodeCore) -> None:
        self.node = node
        if self.engine is None:
            self.engine = Engine(config=Config(), rng=node.rng)
            self.session = self.engine.open_session(0, addr="strong")
        node.add_route(KV_READ, self._on_client, when=lambda body: "key" in body)
        node.add_route(WRITE, self._on_client)
        node.add_route(CAS, self._on_client)
        node.add_route(TXN, self._on_txn)
        node.add_route(PAXOS_PREPARE, self._on_prepare)
        node.add_route(PAXOS_ACCEPT, self._on_accept)
        node.add_route(PAXOS_PREPARE_OK, self._on_promises)
        node.add_route(PAXOS_ACCEPT_OK, self._on_accepts)
        node.add_route(PAXOS_RELAY, self._on_relay)
        node.add_route(PAXOS_RELAYED, self._on_relayed)
        node.on_init(self._start)
        node.on_drain(self._flush)

    def _start(self, now_ms: int) -> None:
        node = self.node
        assert node is not None
        self.incarnation = node.rng.getrandbits(32)
        self._restore(node)

    # -- durable state --------------------------------------------------------------------

    def _restore(self, node: NodeCore) -> None:
        """Read back what a previous life of this node wrote (nothing on a first start)."""
        self.counter = self.reserved = max(self.counter, int(node.durable.get(DURABLE_COUNTER, 0)))
        restored = 0
        for name, record in node.durable.items(DURABLE_SLOT):
            promised, accepted, state = record[:3]
            seq = record[3] if len(record) > 3 else 1  # a record of a version before chains: seq 1
            self.acceptor.slots[name[len(DURABLE_SLOT):]] = AcceptorSlot(
                ballot_from_wire(promised), ballot_from_wire(accepted), RegState.from_wire(state), seq)
            restored += 1
        if restored or self.counter:
            log.info("restored %d acceptor slots and ballot counter %d", restored, self.counter)

    def _save(self, name: str, value: object) -> None:
        """Write one durable record through (the only place strong mode writes `NodeCore.durable`).

        A callable ``value`` makes the record (`DurableStore.put_later`: encoded only if read).
        """
        node = self.node
        assert node is not None
        if callable(value):
            node.durable.put_later(name, value)
        else:
            node.durable.put(name, value)

    def _save_slot(self, key: str) -> None:
        node = self.node
        assert node is not None
        if node.durable.discards:  # --volatile: skip encoding a record nobody keeps
            return
        s = self.acceptor.slots[key]
        # ballots are tuples and the state is frozen: the record is encoded only if it is read
        self._save(DURABLE_SLOT + key, partial(_slot_record, s.promised, s.accepted, s.state, s.seq))

    def _prepare_here(self, key: str, ballot: Ballot) -> Promise:
        """This node's acceptor: prepare, and persist the promise before anyone hears of it."""
        before = self.acceptor.slots.get(key)
        old = None if before is None else before.promised
        p = self.acceptor.prepare(key, ballot)
        if p.ok and old != ballot:
            self._save_slot(key)
        return p

    def _accept_here(self, key: str, ballot: Ballot, state: RegState, seq: int) -> tuple[bool, Ballot]:
        """This node's acceptor: accept ``(ballot, seq)``, and persist the accepted state and the
        promise before anyone hears of them, unless the record on disk already stands for it
        (`_same_content`)."""
        slot = self.acceptor.slots.get(key)
        before = None if slot is None else (slot.promised, slot.accepted, slot.seq, slot.state)
        ok, promised = self.acceptor.accept(key, ballot, state, seq)
        if ok:
            slot = self.acceptor.slots[key]
            if before is None or (slot.promised, slot.accepted, slot.seq) != before[:3]:  # else a repeat
                if (before is None or before[:2] != (slot.promised, slot.accepted)
                        or not _same_content(before[3], slot.state)):
                    self._save_slot(key)
        return ok, promised

    def _node(self) -> NodeCore:
        assert self.node is not None
        return self.node

    @property
    def resend_ms(self) -> int:
        if self.srtt_ms is None:
            return self.resend_initial_ms
        return int(min(RESEND_MAX_MS, max(RESEND_MIN_MS, 3 * self.srtt_ms + 10)))

    def _sample_rtt(self, ms: int) -> None:
        self.srtt_ms = float(ms) if self.srtt_ms is None else self.srtt_ms + RTT_GAIN * (ms - self.srtt_ms)

    def _see(self, ballot: Ballot) -> None:
        if ballot[0] > self.counter:
            self.counter = ballot[0]

    def _next_ballot(self) -> Ballot:
        node = self.node
        assert node is not None
        assert node.node_id is not None
        self.counter += 1
        if self.counter > self.reserved:
            self.reserved = self.counter + BALLOT_BLOCK - 1
            self._save(DURABLE_COUNTER, self.reserved)
            self.reserved_this_turn = True
        return (self.counter, node.node_id)

    # -- acceptor -------------------------------------------------------------------------

    def _on_prepare(self, msg: Message, now_ms: int) -> None:
        parsed = []
        for item in msg.body["items"]:  # all checked before any is answered
            if not isinstance(item, list) or len(item) != 2 or not isinstance(item[0], str):
                raise ProtocolError(f"a prepare item is [key, ballot], not {item!r:.80}")
            if item[0] not in self.acceptor.slots and is_resp_key(item[0]):  # a known key was checked
                parse_resp_key(item[0])
            parsed.append((item[0], ballot_from_wire(item[1]), item[1]))
        out: list[list[object]] = []
        for key, ballot, ballot_wire in parsed:
            self._see(ballot)
            p = self._prepare_here(key, ballot)
            out.append([key, ballot_wire, p.ok, ballot_to_wire(p.promised), ballot_to_wire(p.accepted),
                        p.state.to_wire(), p.seq])
        self._reply(msg, PAXOS_PREPARE_OK, out, now_ms)

    def _on_accept(self, msg: Message, now_ms: int) -> None:
        parsed = []
        for item in msg.body["items"]:  # all checked before any is accepted
            if (not isinstance(item, list) or len(item) != 4 or not isinstance(item[0], str)
                    or type(item[3]) is not int or item[3] < 1):
                raise ProtocolError(f"an accept item is [key, ballot, state, seq >= 1], not {item!r:.80}")
            key = item[0]
            state = RegState.from_wire(item[2])
            check_state(key, state, known=key in self.acceptor.slots)
            parsed.append((key, ballot_from_wire(item[1]), item[1], state, item[3]))
        out: list[list[object]] = []
        for key, ballot, ballot_wire, state, seq in parsed:
            self._see(ballot)
            ok, promised = self._accept_here(key, ballot, state, seq)
            out.append([key, ballot_wire, ok, ballot_to_wire(promised), seq])
        self._reply(msg, PAXOS_ACCEPT_OK, out, now_ms)

    def _reply(self, msg: Message, spec: Rpc, items: list[list[object]], now_ms: int) -> None:
        """An acceptor's answers to one message: at once (with the turn's others), or (BUGGIFY)
        later; the answers to a resend are relayed too (see `PAXOS_RELAY`)."""
        node = self.node
        assert node is not None
        dest = msg.src
        if node.buggify("strong.delay-reply"):
            delay = 1 + node.rng.randrange(BUGGIFY_REPLY_DELAY_MS)
            node.call_later(now_ms, delay, lambda t: node.send(dest, {"type": spec.type, "items": items}))
            return
        self._outgoing.setdefault((dest, spec.type), []).extend(items)
        if msg.body.get("resend") is True:
            self._relay.add((dest, spec.type))

    def _flush(self) -> None:
        """Send what this turn gathered: one message per peer and kind (`NodeCore.on_drain`)."""
        if not self._outgoing:
            return
        node = self.node
        assert node is not None
        outgoing, self._outgoing = self._outgoing, {}
        relay, self._relay = self._relay, set()
        for (dest, kind), items in outgoing.items():
            body: dict[str, object] = {"type": kind, "items": items}
            if (dest, kind) in relay:
                if kind in (PAXOS_PREPARE.type, PAXOS_ACCEPT.type):
                    body["resend"] = True  # asks the acceptor to relay its answers too
                for via in node.peers:
                    if via != dest:
                        node.send(via, {"type": PAXOS_RELAY.type, "to": dest, "body": body})
            node.send(dest, body)

    def _on_relay(self, msg: Message, now_ms: int) -> None:
        """Pass a peer's Paxos message on to its destination (one hop, never further)."""
        node = self.node
        assert node is not None
        to = msg.body["to"]
        if to == node.node_id or to not in node.peers:
            raise ProtocolError(f"paxos_relay to {to!r}: not another node of this cluster")
        node.send(to, {"type": PAXOS_RELAYED.type, "from": msg.src, "body": msg.body["body"]})

    def _on_relayed(self, msg: Message, now_ms: int) -> None:
        """A Paxos message another node relayed: handled as if it came from its sender."""
        node = self.node
        assert node is not None
        origin, body = msg.body["from"], msg.body["body"]
        if origin == node.node_id or origin not in node.peers:
            raise ProtocolError(f"paxos_relayed from {origin!r}: not another node of this cluster")
        handlers = {PAXOS_PREPARE.type: (PAXOS_PREPARE, self._on_prepare),
                    PAXOS_ACCEPT.type: (PAXOS_ACCEPT, self._on_accept),
                    PAXOS_PREPARE_OK.type: (PAXOS_PREPARE_OK, self._on_promises),
                    PAXOS_ACCEPT_OK.type: (PAXOS_ACCEPT_OK, self._on_accepts)}
        route = handlers.get(body.get("type"))
        if route is None:
            raise ProtocolError(f"paxos_relayed carries {body.get('type')!r}, not a Paxos message")
        problem = route[0].problem(body)
        if problem is not None:
            raise ProtocolError(problem)
        route[1](Message(origin, msg.dest, body), now_ms)

    # -- client requests --------------------------------------------------------------------

    def _on_client(self, msg: Message, now_ms: int) -> None:
        node = self.node
        assert node is not None
        body = msg.body
        self.next_rid += 1
        rid = f"{node.node_id}.{self.incarnation:08x}.{self.next_rid}"
        expires = now_ms + self.request_timeout_ms
        if msg.type == WRITE.type:
            op = Op(rid, OpKind.WRITE, value=json_bytes(body["value"]), expires_ms=expires)
        elif msg.type == CAS.type:
            op = Op(rid, OpKind.CAS, value=json_bytes(body["to"]), expected=json_bytes(body["from"]),
                    create=body.get("create_if_not_exists") is True, expires_ms=expires)
        else:
            op = Op(rid, OpKind.READ, expires_ms=expires)
        key = json_bytes(body["key"]).decode()
        kp = self.proposers.get(key)
        if kp is None:
            kp = self.proposers[key] = _KeyProposer(key)
        req = _Request(msg, op)
        req.timer = node.call_at(expires, lambda t: self._expire(kp, req, t))
        kp.queue.append(req)
        self._queued(kp, now_ms)

    def _on_txn(self, msg: Message, now_ms: int) -> None:
        """A transaction: one op on `TXN_REGISTER` (`nodes.strong_txn`)."""
        node = self.node
        assert node is not None
        problem = txn_problem(msg.body["txn"])
        if problem is not None:
            node.reply_error(msg, ErrorCode.MALFORMED_REQUEST, problem)
            return

        def answer(result: Result) -> None:
            if result.ok:
                assert result.value is not None
                node.reply_ok(msg, TXN, txn=orjson.loads(result.value))
            else:
                assert result.code is not None
                node.reply_error(msg, result.code, result.text)
        self.submit_json(TXN_REGISTER, msg.body["txn"], now_ms, answer)

    def submit_json(self, register: str, request: Any, now_ms: int, on_result: Callable[[Result], None]) -> None:
        """Queue one request on a JSON register (`nodes.json_registers`): txn and kafka ops.

        Args:
            register: the register's name; its prefix picks the change function (`_JSON_STEPS`).
            request: the request, JSON (the step function's second argument).
            now_ms: the current time.
            on_result: called exactly once, from inside `handle` or `tick`, with the
                request's result, or with a failure at its deadline: 11 (definite)
                if no accept carrying it was ever sent, else 0 (indefinite).
        """
        node = self.node
        assert node is not None
        assert _json_step(register) is not None, register
        self.next_rid += 1
        rid = f"{node.node_id}.{self.incarnation:08x}.{self.next_rid}"
        expires = now_ms + self.request_timeout_ms
        kp = self.proposers.get(register)
        if kp is None:
            kp = self.proposers[register] = _KeyProposer(register)
        req = _Request(None, json_op(rid, request, expires), on_result=on_result)
        req.timer = node.call_at(expires, lambda t: self._expire(kp, req, t))
        kp.queue.append(req)
        self._queued(kp, now_ms)

    # -- RESP commands (the server driver's API) ------------------------------------------

    @staticmethod
    def classify(argv: Sequence[bytes]) -> Route:
        """Where a command goes in strong mode: `nodes.strong_commands.classify` (pure, fast)."""
        return classify(argv)

    def submit_command(self, argv: list[bytes], db: int, resp3: bool, now_ms: int,
                       done: Callable[[bytes], None], *, route: Route | None = None) -> None:
        """Queue one command on its key's proposer: one CASPaxos round, batched with the key's others.

        Nothing happens before the node's next `tick` (a timer due at
        ``now_ms``; `NodeCore.next_deadline_ms` says so), so several commands
        submitted together share a round, and the messages the round sends
        come out of `handle`/`tick` as usual.

        Args:
            argv: the command, name first; it should classify SINGLE_KEY (any
                other is answered with its refusal, or an error for LOCAL).
            db: the client's selected database.
            resp3: encode the reply in RESP3 (else RESP2).
            now_ms: the current time (the driver's time base, as `handle`'s).
            done: called exactly once, from inside `handle` or `tick`, with the
                complete RESP reply: the command's own (error replies included),
                `COMMAND_NOT_APPLIED` (definite: nothing was proposed) or
                `COMMAND_MAY_HAVE_APPLIED` (an accept carrying it was sent).
            route: ``classify(argv)``, when the caller has it already.
        """
        node = self.node
        assert node is not None
        assert db >= 0, db
        if route is None:
            route = classify(argv)
        if route.kind is not RouteKind.SINGLE_KEY or node.node_id is None:
            if node.node_id is None:
                reply = COMMAND_NOT_READY
            elif route.kind is RouteKind.REFUSED:
                assert route.error is not None
                reply = b"-" + route.error + b"\r\n"
            else:
                reply = b"-ERR strong mode: this command runs on the node itself, not in a round\r\n"
            node.call_at(now_ms, lambda t: done(reply))
            return
        assert route.key is not None
        self.next_rid += 1
        rid = f"{node.node_id}.{self.incarnation:08x}.{self.next_rid}"
        expires = now_ms + self.request_timeout_ms
        op = Op(rid, OpKind.COMMAND, expires_ms=expires, argv=tuple(argv), resp3=resp3,
                readonly=route.readonly)
        name = resp_key(db, route.key)
        kp = self.proposers.get(name)
        if kp is None:
            kp = self.proposers[name] = _KeyProposer(name, command_key=route.key)
        req = _Request(None, op, done)
        req.timer = node.call_at(expires, lambda t: self._expire(kp, req, t))
        kp.queue.append(req)
        if not kp.kicked and kp.backoff is None:
            if self._kick is None:  # one timer starts every round submitted before the next tick
                self._kick = node.call_at(now_ms, self._start_kicked)
            self._kicked.append(kp)
            kp.kicked = True

    def _scratch(self) -> CommandScratch:
        if self.scratch is None:
            node = self.node
            assert node is not None
            config = self.command_config if self.command_config is not None else Config()
            self.scratch = CommandScratch(config, random.Random(node.rng.getrandbits(64)))
        return self.scratch

    def _answer(self, req: _Request, result: Result) -> None:
        node = self.node
        assert node is not None
        req.answered = True
        if req.timer is not None:
            req.timer.cancel()
            req.timer = None  # its callback holds this request: no cycle left for the collector
        if req.on_result is not None:
            req.on_result(result)
            return
        if req.done is not None:
            if result.ok:
                assert result.value is not None
                req.done(result.value)
            elif result.code == ErrorCode.TIMEOUT:
                req.done(COMMAND_MAY_HAVE_APPLIED)
            elif result.code == ErrorCode.TEMPORARILY_UNAVAILABLE:
                req.done(COMMAND_NOT_APPLIED)
            else:
                req.done(b"-ERR strong mode: " + (result.text or "").encode() + b"\r\n")
            return
        assert req.msg is not None
        spec = _SPECS[req.op.kind]
        if result.ok:
            if req.op.kind is OpKind.READ:
                assert result.value is not None
                node.reply_ok(req.msg, spec, value=orjson.loads(result.value))
            else:
                node.reply_ok(req.msg, spec)
        else:
            assert result.code is not None
            node.reply_error(req.msg, result.code, result.text)

    def _expire(self, kp: _KeyProposer, req: _Request, now_ms: int) -> None:
        if req.answered:
            return
        if req.proposed:
            self.stats.indefinite_failures += 1
            self._answer(req, Result(ErrorCode.TIMEOUT, "no majority accepted in time; the request may "
                                     "or may not take effect"))
        else:
            self.stats.definite_failures += 1
            self._answer(req, Result(ErrorCode.TEMPORARILY_UNAVAILABLE,
                                     "no majority reachable in time; nothing was proposed"))
        kp.queue = [r for r in kp.queue if not r.answered]

    # -- proposer -------------------------------------------------------------------------

    def _start_kicked(self, now_ms: int) -> None:
        kicked, self._kicked, self._kick = self._kicked, [], None
        for kp in kicked:
            kp.kicked = False
            self._queued(kp, now_ms)

    def _queued(self, kp: _KeyProposer, now_ms: int) -> None:
        """Requests were queued on ``kp``: start its round, or chain one behind those in flight."""
        if kp.backoff is not None:
            return  # the backoff's timer starts the next round
        if not kp.flights:
            self._start_round(kp, now_ms)
        else:
            self._extend(kp, now_ms)

    def _pending(self, kp: _KeyProposer) -> list[_Request]:
        """The key's requests that wait for a round (not answered, in no round in flight)."""
        return [r for r in kp.queue if not r.answered and not r.in_flight]

    def _start_round(self, kp: _KeyProposer, now_ms: int) -> None:
        """Start the key's first round in flight: chained to the last committed one, else a prepare."""
        node = self.node
        assert node is not None
        assert not kp.flights
        kp.backoff = None
        kp.queue = [r for r in kp.queue if not r.answered]
        if not kp.queue:
            return
        self.stats.rounds += 1
        if kp.warm is not None:  # our chain still holds its ballot: straight to accept
            ballot, seq, adopted = kp.warm
            kp.warm = None
            self.stats.warm_rounds += 1
            self._chain(kp, Round.chained(ballot, seq + 1, node.node_ids, adopted), now_ms)
            return
        rnd = Round(self._next_ballot(), node.node_ids)
        kp.wire = ballot_to_wire(rnd.ballot)
        flight = _Flight(rnd, phase_at=now_ms)
        kp.flights = [flight]
        self._send_phase(kp, flight, now_ms, rnd.missing())
        if kp.flights and rnd.phase in (Phase.PREPARE, Phase.ACCEPT) and kp.resend is None:
            self._arm_resend(kp, now_ms)

    def _extend(self, kp: _KeyProposer, now_ms: int) -> None:
        """Pipeline: a round chained to the last one in flight, for the requests queued since
        (at most `pipeline_depth` rounds in flight on a key; none behind a prepare)."""
        node = self.node
        assert node is not None
        last = kp.flights[-1].round
        if (len(kp.flights) >= self.pipeline_depth or last.phase is not Phase.ACCEPT
                or not self._pending(kp)):
            return
        assert last.proposal is not None
        self.stats.rounds += 1
        self.stats.warm_rounds += 1
        self.stats.pipelined_rounds += 1
        self._chain(kp, Round.chained(last.ballot, last.seq + 1, node.node_ids, last.proposal), now_ms)

    def _chain(self, kp: _KeyProposer, rnd: Round, now_ms: int) -> None:
        flight = _Flight(rnd)
        kp.flights.append(flight)
        self._propose(kp, flight, now_ms)

    def _arm_resend(self, kp: _KeyProposer, now_ms: int) -> None:
        if kp.resend is not None:
            kp.resend.cancel()
        node = self.node
        assert node is not None
        delay = self.resend_ms
        if node.buggify("strong.short-resend"):
            delay = 1 + node.rng.randrange(RESEND_MIN_MS)
        kp.resend_from = now_ms
        kp.resend = node.call_later(now_ms, delay, lambda t: self._on_resend(kp, t))

    def _send_phase(self, kp: _KeyProposer, flight: _Flight, now_ms: int, targets: list[str]) -> None:
        """Ask ``targets`` for the round's current phase; our own acceptor answers inline, the
        others get an item in this turn's message to them (`_flush`)."""
        node = self.node
        assert node is not None
        me = node.node_id
        rnd = flight.round
        phase = rnd.phase
        item: list[object] | None = None
        if phase is Phase.ACCEPT and self.thrifty and not self._resending:
            targets = self._thrifty(targets, rnd.quorum)
        for acceptor in targets:
            if rnd.phase is not phase or flight not in kp.flights:
                return  # our own answer already moved the round on
            flight.sent_at[acceptor] = now_ms
            if acceptor == me:
                if phase is Phase.PREPARE:
                    self._on_promise(kp, flight, acceptor, self._prepare_here(kp.key, rnd.ballot), now_ms)
                else:
                    assert rnd.proposal is not None
                    ok, promised = self._accept_here(kp.key, rnd.ballot, rnd.proposal, rnd.seq)
                    self._on_accepted(kp, flight, acceptor, ok, promised, now_ms)
                continue
            if item is None:  # one item for every peer (sent as JSON, never changed)
                if phase is Phase.PREPARE:
                    item = [kp.key, kp.wire]
                else:
                    assert rnd.proposal is not None
                    item = [kp.key, kp.wire, rnd.proposal.to_wire(), rnd.seq]
            kind = PAXOS_PREPARE.type if phase is Phase.PREPARE else PAXOS_ACCEPT.type
            self._outgoing.setdefault((acceptor, kind), []).append(item)
            if self._resending:
                self._relay.add((acceptor, kind))

    def _thrifty(self, targets: list[str], quorum: int) -> list[str]:
        """Of a fresh accept's ``targets``: this node and just enough peers for a majority, those
        that completed the latest quorums first (the others get it if the round is resent)."""
        node = self.node
        assert node is not None
        me = node.node_id
        if not self._peer_order:
            self._peer_order = sorted(node.peers)
        need = quorum - 1 if me in targets else quorum
        picked = {me}
        for peer in self._peer_order:
            if len(picked) > need:
                break
            if peer in targets:
                picked.add(peer)
        if len(picked) <= need:  # fewer peers than a majority needs among the targets: ask them all
            return targets
        return [t for t in targets if t in picked]

    def _quorum_by(self, acceptor: str) -> None:
        """``acceptor``'s answer completed a quorum: the next thrifty accept asks it first."""
        order = self._peer_order
        if order and order[0] != acceptor and acceptor in order:
            order.remove(acceptor)
            order.insert(0, acceptor)

    def _flight_for(self, key: object, ballot_wire: object, phase: Phase,
                    seq: int = 1) -> tuple[_KeyProposer, _Flight] | None:
        """The round in flight an answer item is for, or None when it is stale (that round is over).

        Compared in wire form: an answer names the ballot we sent, so the
        common case parses nothing (a stale or garbage ballot simply matches no round).
        """
        if not isinstance(key, str):
            raise ProtocolError(f"an answer's key must be a string, not {key!r:.40}")
        kp = self.proposers.get(key)
        if kp is None or ballot_wire != kp.wire:
            return None
        for flight in kp.flights:
            rnd = flight.round
            if rnd.seq == seq:
                return (kp, flight) if rnd.phase is phase else None
        return None

    def _promised(self, wire: object, kp: _KeyProposer | None, rnd: Round | None) -> Ballot:
        """The ballot an answer says its acceptor promised, seen (`_see`); ours is not parsed again."""
        if kp is not None and rnd is not None and wire == kp.wire:
            return rnd.ballot
        promised = ballot_from_wire(wire)
        self._see(promised)
        return promised

    def _on_promises(self, msg: Message, now_ms: int) -> None:
        """Answers to our prepares: each item is checked on its own (a bad one is dropped and counted)."""
        acceptor = msg.src
        for item in msg.body["items"]:
            try:
                if (not isinstance(item, list) or len(item) != 7 or not isinstance(item[2], bool)
                        or type(item[6]) is not int or item[6] < 0):
                    raise ProtocolError(f"a promise item is [key, ballot, ok, promised, accepted, state, seq], "
                                        f"not {item!r:.80}")
                found = self._flight_for(item[0], item[1], Phase.PREPARE)
                if found is None:
                    self._promised(item[3], None, None)
                    continue
                kp, flight = found
                promise = Promise(item[2], self._promised(item[3], kp, flight.round), ballot_from_wire(item[4]),
                                  RegState.from_wire(item[5]), item[6])
                check_state(kp.key, promise.state, known=True)  # our own key: only the kind
            except ProtocolError as exc:
                self._node().counters.malformed += 1
                log.warning("bad paxos_prepare_ok item from %s: %s", acceptor, exc)
                continue
            self._rtt(kp, flight, acceptor, Phase.PREPARE, now_ms)
            self._on_promise(kp, flight, acceptor, promise, now_ms)

    def _on_accepts(self, msg: Message, now_ms: int) -> None:
        """Answers to our accepts: each item is checked on its own (a bad one is dropped and counted)."""
        acceptor = msg.src
        for item in msg.body["items"]:
            try:
                if (not isinstance(item, list) or len(item) != 5 or not isinstance(item[2], bool)
                        or type(item[4]) is not int):
                    raise ProtocolError(f"an accepted item is [key, ballot, ok, promised, seq], not {item!r:.80}")
                found = self._flight_for(item[0], item[1], Phase.ACCEPT, item[4])
                if found is None:
                    self._promised(item[3], None, None)
                    continue
                kp, flight = found
                promised = self._promised(item[3], kp, flight.round)
            except ProtocolError as exc:
                self._node().counters.malformed += 1
                log.warning("bad paxos_accept_ok item from %s: %s", acceptor, exc)
                continue
            self._rtt(kp, flight, acceptor, Phase.ACCEPT, now_ms)
            self._on_accepted(kp, flight, acceptor, item[2], promised, now_ms)

    def _rtt(self, kp: _KeyProposer, flight: _Flight, acceptor: str, phase: Phase, now_ms: int) -> None:
        if flight.round.phase is phase and acceptor in flight.sent_at and flight in kp.flights:
            self._sample_rtt(now_ms - flight.sent_at[acceptor])

    def _on_promise(self, kp: _KeyProposer, flight: _Flight, acceptor: str, promise: Promise,
                    now_ms: int) -> None:
        if flight not in kp.flights:
            return
        rnd = flight.round
        outcome = rnd.on_promise(acceptor, rnd.ballot, promise)
        if outcome is Outcome.PREPARED:
            self._quorum_by(acceptor)
            self._propose(kp, flight, now_ms)
        elif outcome is Outcome.REJECTED:
            self._lost(kp, now_ms)

    def _propose(self, kp: _KeyProposer, flight: _Flight, now_ms: int) -> None:
        """Apply the batch of pending requests to the round's starting state and send the accept."""
        node = self.node
        assert node is not None
        assert node.node_id is not None and self.engine is not None and self.session is not None
        rnd = flight.round
        kp.queue = [r for r in kp.queue if not r.answered]
        batch = self._pending(kp)
        if not batch:  # every op expired while preparing: nothing to propose
            self._drop(kp, flight)
            return
        current = rnd.current()
        ops = [r.op for r in batch]
        # Every request that may still be retried keeps its done entry, those of earlier rounds
        # still in flight too (a retry after this round failed may adopt this round's state).
        live_own = [r.op.rid for r in kp.queue]
        try:
            step = _json_step(kp.key)
            if step is not None:
                proposal, results = apply_json_ops(step, current, ops, origin=node.node_id, live_own=live_own,
                                                   now_ms=now_ms, gc_margin_ms=self.gc_margin_ms)
            elif kp.command_key is None:
                proposal, results = apply_batch(
                    self.engine, self.session, kp.key.encode(), current, ops,
                    origin=node.node_id, live_own=live_own, now_ms=now_ms, gc_margin_ms=self.gc_margin_ms)
            else:
                proposal, results = apply_commands(
                    self._scratch(), kp.command_key, current, ops,
                    origin=node.node_id, live_own=live_own, now_ms=now_ms, gc_margin_ms=self.gc_margin_ms)
        except (EngineError, TypeError) as exc:  # a bug (the engine refused GET/SET, a value without
            # an image): fail loudly but answer
            log.error("engine refused a change function on %s: %s", kp.key, exc)
            for r in batch:
                if not r.proposed:
                    self._answer(r, Result(ErrorCode.TEMPORARILY_UNAVAILABLE, str(exc)))
            self._drop(kp, flight)
            return
        if current.done:
            recorded = {e.rid for e in current.done}
            self.stats.deduplicated += sum(1 for r in batch if r.op.rid in recorded)
        flight.batch = batch
        flight.results = results
        for r in batch:
            r.proposed = True
            r.in_flight = True
        rnd.start_accept(proposal)
        flight.sent_at = {}
        flight.phase_at = now_ms
        self._send_phase(kp, flight, now_ms, rnd.missing())
        if flight in kp.flights and rnd.phase is Phase.ACCEPT and kp.resend is None:
            self._arm_resend(kp, now_ms)  # else the prepare's timer moves on when it fires

    def _drop(self, kp: _KeyProposer, flight: _Flight) -> None:
        """A round that proposed nothing leaves the chain (no accept went out for it)."""
        flight.round.abandon()
        kp.flights.remove(flight)
        if not kp.flights:
            self._end_round(kp)

    def _on_accepted(self, kp: _KeyProposer, flight: _Flight, acceptor: str, ok: bool, promised: Ballot,
                     now_ms: int) -> None:
        if flight not in kp.flights:
            return
        rnd = flight.round
        outcome = rnd.on_accepted(acceptor, rnd.ballot, ok, promised)
        if outcome is Outcome.COMMITTED:
            self._quorum_by(acceptor)
            self._commit(kp, flight, now_ms)
        elif outcome is Outcome.REJECTED:
            self._lost(kp, now_ms)

    def _commit(self, kp: _KeyProposer, flight: _Flight, now_ms: int) -> None:
        """A majority accepted ``flight``'s state: it and every earlier round of the chain committed
        (their states are contained in it, `nodes.caspaxos`); answer them in chain order."""
        at = kp.flights.index(flight)
        committed, kp.flights = kp.flights[:at + 1], kp.flights[at + 1:]
        mirror = self.on_command_commit if kp.command_key is not None else None
        for done in committed:
            self.stats.committed += 1
            if done is not flight:
                done.round.committed_by_chain()
            if mirror is not None:
                assert done.round.proposal is not None and kp.command_key is not None
                db, _ = parse_resp_key(kp.key)
                mirror(db, kp.command_key, done.round.proposal.image)
            for r in done.batch:
                r.in_flight = False
                if not r.answered:
                    self._answer(r, done.results[r.op.rid])
        kp.failures = 0
        if kp.flights:  # later rounds of the chain are still in flight
            self._extend(kp, now_ms)
            return
        rnd = flight.round
        assert rnd.proposal is not None
        kp.warm = (rnd.ballot, rnd.seq, rnd.proposal)
        self._end_round(kp)
        if any(not r.answered for r in kp.queue):
            self._start_round(kp, now_ms)
        else:
            kp.queue = []

    def _end_round(self, kp: _KeyProposer) -> None:
        kp.flights = []
        if kp.resend is not None:
            kp.resend.cancel()
            kp.resend = None

    def _lost(self, kp: _KeyProposer, now_ms: int) -> None:
        """A round of the chain was rejected: drop the whole chain (its ballot is never used
        again), and prepare at a fresh ballot after a random backoff."""
        node = self.node
        assert node is not None
        self.stats.rejected += 1
        for flight in kp.flights:
            self._see(flight.round.highest_seen)
            flight.round.abandon()
            for r in flight.batch:
                r.in_flight = False
        self._end_round(kp)
        kp.warm = None
        kp.failures += 1
        base = max(BACKOFF_BASE_MIN_MS, int(self.srtt_ms or BACKOFF_BASE_MIN_MS))
        span = min(self.backoff_cap_ms, base << min(kp.failures, 6))
        delay = 1 + node.rng.randrange(span)
        kp.backoff = node.call_later(now_ms, delay, lambda t: self._start_round(kp, t))

    def _on_resend(self, kp: _KeyProposer, now_ms: int) -> None:
        kp.resend = None
        if not kp.flights:
            return
        head = kp.flights[0]
        if head.phase_at > kp.resend_from:  # armed for an earlier phase or round; this one went out since
            self._arm_resend(kp, head.phase_at)
            return
        if any(flight.round.nacks for flight in kp.flights):
            self._lost(kp, now_ms)
            return
        if not any(not r.answered for r in kp.queue):
            # Every op expired: stop asking (nothing is waiting for these rounds any more).
            for flight in kp.flights:
                flight.round.abandon()
                for r in flight.batch:
                    r.in_flight = False
            self._end_round(kp)
            return
        self.stats.resends += 1
        self._resending = True
        try:
            for flight in list(kp.flights):
                if flight in kp.flights:
                    self._send_phase(kp, flight, now_ms, flight.round.missing())
        finally:
            self._resending = False
        if kp.flights:
            self._arm_resend(kp, now_ms)
