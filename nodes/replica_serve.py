"""Replicated `gyre serve`: the RESP server, a replicated node core and the peer transport, in one trio program.

Strategy: nothing here decides anything about replication. The node core is
the very object the Maelstrom node runs (a `NodeCore` with the mode's kv
handler: `nodes.eventual.EventualKv`, `nodes.causal.CausalKv` or
`nodes.strong.StrongKv`), fed peer messages and ticks like any driver feeds
it; this module only moves things between three parties:

* **RESP clients -> peers** (eventual, causal). Every database's write
  ``delta`` is kept open, so the engine records each key a client command
  writes (and FLUSHED / SWAPPED marks). Whenever the serving loop yields
  (after at most 16 poll batches) the server calls
  `Replication.after_batch`: the keyspace stamps what was written
  (`TypedKeyspace.stamp`), the handler turns it into one delta (eventual) or
  one causal write (causal), and the messages go to the transport; under
  load at most once per `REPLICATE_WINDOW_MS` (batches stamped sooner wait
  for the window's end and leave together, before any peer message is
  handled). So all
  writes of one command, one EXEC, or one batch of commands travel together,
  and a client's reply never waits for its peers (eventual and causal
  modes answer locally, as the modes promise).
* **Peers -> RESP clients.** The messages of each read from a peer
  (`nodes.peers.PeerTransport` calls `_deliver` from its reader task, with
  no task switch on the way) go to `NodeCore.handle` as one turn between
  poll batches (trio runs one task at a time, so a merge is atomic for
  every client); remote winners are written into
  the engine without being stamped again, clients blocked on a key that a
  merge created are served at once (`RespServer.after_external_writes`).
* **Strong mode.** The engine hands every checked command to `_route`
  (`Engine.router`): a single-key command is submitted to `StrongKv` and
  answered `DEFERRED` (the server parks its client), others are refused or
  run locally; `after_batch` ticks the core so the submitted rounds start,
  and each round's reply goes back through `RespServer.answer_deferred`.
* **Timers.** One task sleeps until the core's `next_deadline_ms` (woken
  early whenever the core was fed) and ticks it: anti-entropy rounds.
* **Catching up.** A server starts with no data, so it answers ``-LOADING``
  (the engine's gate: commands without Redis's ``loading`` flag) until a
  peer answered its sync request (the first full repair merged) or
  ``sync_timeout_s`` passed with no peer reachable; then it serves.

Durable state (`--dir`): the directory is locked and the core's durable
records live in `nodes.durable_log.DurableLog`. Strong mode keeps its
acceptor state there, and nothing that depends on a record leaves before
the record is on disk: each turn (a `handle`/`tick`/batch) that appended
records ends with one fsync, on the event loop, before its answers and
replies go (`_commit`), as Redis's ``appendfsync always`` fsyncs before it
replies. Group commit comes from the turns themselves: commands and peer
messages that arrive during an fsync wait in their sockets and are served
together in the next turn, under one fsync. Only the phase requests
(prepare, accept) leave before the fsync: they depend on no record but a
ballot reservation, so they go first and the peers' fsyncs overlap ours;
unless the turn reserved ballots (``kv.reserved_this_turn``), when they wait
too. Every other message (an acceptor's answer depends on its slot record)
and every RESP client's reply of a round (`_route`'s ``answer``) leaves
after it: the proposer's own acceptor answers inline and counts toward the
majority, so a round may commit on one peer's ack, and the client must not
hear "OK" before this node's accept record is durable. A failed fsync
poisons the log and stops the node. ``--volatile`` keeps nothing and
syncs nothing. In every mode the log's compactions run off the event loop
(`_compact_loop`: a worker thread writes and fsyncs the snapshot while the
server goes on appending to the old log; `nodes.durable_log`): inline, a
log of a few 100k keys stalled the server for seconds.

An fsync in a worker thread, with the loop serving on meanwhile, was the
earlier design: on the 3-server benchmark the hand-offs (waking the worker,
taking the GIL back, waking the loop) cost 150-450 us a round on top of an
fsync of 250-300 us, more than the loop had to do meanwhile (every client
waits on the round): syncing inline measured 9-21% more one-key SETs a
second in each of 4 paired runs, and no fewer with random keys.

Eventual and causal modes keep every key's version there
(`TypedKeyspace.persist_to`), fsynced once a second like Redis's
``appendfsync everysec``: a restarted server serves what it kept at once
(no ``-LOADING``) and catches up with its peers meanwhile; a ``kill -9``
loses at most the last second of writes that had not reached a peer.
"""

from __future__ import annotations

import gc
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import trio

from crdt.engine import DEFERRED, Engine
from nodes.core import NodeCore, VolatileStore
from nodes.durable_log import DurableLog
from nodes.peer_auth import PeerConfig
from nodes.peers import PeerTransport
from nodes.replicated import ReplicatedConfig, make_kv
from nodes.stdio import wall_ms
from nodes.typed_keyspace import Stamped
from protocol.maelstrom_json import MalformedMessage, Message, decode_obj
from protocol.replies import ErrorReply

__all__ = ["Replication", "ReplicaOptions", "ServeNode"]

log = logging.getLogger("gyre.replication")

#: The id the driver's own init message comes from (its answer is dropped).
DRIVER_ID: Final[str] = "gyre-serve"
#: Eventual and causal modes with --dir: how often the log is fsynced.
SYNC_INTERVAL_S: Final[float] = 1.0
#: Eventual and causal modes: the shortest gap between two replicated messages. Batches stamped
#: sooner are sent together at the end of the window (`Replication.after_batch`): under load a
#: peer handles one message per window instead of one per poll batch (its cost is mostly per
#: message: the read, the decode, a turn of its loop), and lag grows by at most this much.
REPLICATE_WINDOW_MS: Final[int] = 5
#: Body type of several messages to one peer sent as one (see `Replication._emit`).
BUNDLE_TYPE: Final[str] = "gyre_bundle"
#: The garbage-collector thresholds of a replicated server (Python's default is 700, 10, 10).
#: Every strong-mode round, and every replicated write, allocates short-lived containers, so at
#: 700 the young collection runs every few messages: measured on the 3-server benchmark, 20,000
#: saves ~10% of the strong-mode proposer's CPU. What survives two collections is the keyspace,
#: acceptor slots, versions: state kept for as long as its key lives, never cyclic garbage (full
#: collections of such a heap found nothing to free), so it is frozen (`_freeze_survivors`)
#: instead of being traversed again and again: with 600,000 random keys in strong mode a full
#: collection held the server 4.9 s (its clients got -TIMEOUT) and every middle one 0.2-0.3 s.
#: The middle generation's threshold is 2 so that each middle collection stays short.
GC_THRESHOLDS: Final = (20_000, 2, 1_000)
#: Modes `gyre serve --peers` runs.
SERVE_MODES: Final = ("eventual", "causal", "strong")


@dataclass(frozen=True, slots=True)
class ReplicaOptions:
    """What `gyre serve` was told about its cluster.

    Attributes:
        node_id: this server's id.
        mode: "eventual" or "causal".
        peers: every other server's id and peer address.
        peer_host: where this server listens for peers.
        peer_port: its peer port.
        secret: the cluster secret (required beyond loopback).
        data_dir: where durable state lives, or None.
        sync_timeout_s: how long a new server waits for a peer before serving anyway.
        anti_entropy_ms: period of the anti-entropy rounds.
    """

    node_id: str
    mode: str
    peers: dict[str, tuple[str, int]]
    peer_host: str = "127.0.0.1"
    peer_port: int = 0
    secret: bytes | None = None
    data_dir: Path | None = None
    sync_timeout_s: float = 5.0
    anti_entropy_ms: int = 1000

    def peer_config(self) -> PeerConfig:
        return PeerConfig(node_id=self.node_id, peers=self.peers, listen_host=self.peer_host,
                          listen_port=self.peer_port, secret=self.secret)


def _freeze_survivors(phase: str, info: dict[str, int]) -> None:
    """A `gc.callbacks` hook: after a collection of the middle generation, freeze what survived
    it (`GC_THRESHOLDS`); `gc.freeze` moves whole lists, it traverses nothing."""
    if phase == "stop" and info["generation"] >= 1:
        gc.freeze()


class ServeNode(NodeCore):
    """The replicated core behind a RESP server: a `NodeCore` with only its mode's kv handler.

    Args:
        rng: the node's randomness.
        engine: the server's engine (the handler's keyspace is its databases).
        mode: "eventual", "causal" or "strong".
        now_ms: when the node starts.
        anti_entropy_ms: period of the anti-entropy rounds.
    """

    def __init__(self, *, rng: random.Random, engine: Engine, mode: str, now_ms: int,
                 anti_entropy_ms: int) -> None:
        super().__init__(rng=rng)
        config = ReplicatedConfig(mode=mode, workload="lin-kv", anti_entropy_ms=anti_entropy_ms)
        self.kv = make_kv(config, engine, now_ms)
        self.kv.install(self)


class Replication:
    """The driver between a `RespServer`, its `ServeNode` and a `PeerTransport` (see module doc).

    Args:
        server: the RESP server (its engine is replicated).
        options: the cluster options.
        rng: randomness for the core and the transport's jitter.
        clock: the wall clock in ms.
    """

    def __init__(self, server: Any, options: ReplicaOptions, *, rng: random.Random,
                 clock: Callable[[], int] = wall_ms) -> None:
        if options.mode not in SERVE_MODES:
            raise ValueError(f"mode must be one of {', '.join(SERVE_MODES)}, not {options.mode!r}")
        self.server = server
        self.options = options
        self.clock = clock
        self.engine: Engine = server.engine
        now = clock()
        self.core = ServeNode(rng=rng, engine=self.engine, mode=options.mode, now_ms=now,
                              anti_entropy_ms=options.anti_entropy_ms)
        self.kv = self.core.kv
        self.durable: DurableLog | None = None
        self.restored = 0  # entries read back from --dir (eventual, causal)
        if options.data_dir is not None:
            self.durable = DurableLog.open(options.data_dir)
            self.durable.background = True  # compactions run in `_compact_loop`, off the loop
            self.core.durable = self.durable
        elif options.mode == "strong":  # --volatile: no later life reads the acceptor records
            self.core.durable = VolatileStore()
        self.transport = PeerTransport(options.peer_config(), self._deliver, rng=rng, now_ms=clock)
        self._wake = trio.Event()
        self._sleep_until_ms: int | None = None  # what the timer task sleeps until
        self._synced = trio.Event()  # set once a peer answered the sync request
        self.loaded_at_ms: int | None = None
        self.batches_replicated = 0
        self._replicated_at_ms = 0  # when local writes were last stamped and sent (eventual, causal)
        self._replicate_due_ms: int | None = None  # stamped writes wait for the window's end (timer task)
        self._unsent: Stamped | None = None  # the window's stamped writes, not sent yet
        self.strong = options.mode == "strong"
        self._kick = False  # strong: commands were submitted; the core's next tick starts their rounds
        self._phase_requests: frozenset[str] = frozenset()
        # Strong mode with --dir: this turn's round replies, answered after its fsync (`_commit`).
        self._replies: list[tuple[Any, bytes, bytes]] = []
        self._compaction_wanted = trio.Event()  # set when the durable log asks for a compaction
        if self.strong:
            from nodes.strong import PHASE_REQUESTS  # only strong mode needs the module

            self._phase_requests = PHASE_REQUESTS
            self.engine.router = self._route
        else:
            for db in self.engine.dbs:
                db.delta = []
            self.engine.loading = True
        self.engine.replication_info = self.info_lines
        if not self.strong:  # no repair towards a peer whose link still holds a backlog
            backlog = self.transport.backlog
            self.kv.peer_ready = lambda peer: not backlog(peer)  # type: ignore[method-assign]
        init = Message(DRIVER_ID, options.node_id, {
            "type": "init", "msg_id": 1, "node_id": options.node_id,
            "node_ids": sorted([options.node_id, *options.peers])})
        self.core.handle(init, now)  # the init_ok goes nowhere
        if self.durable is not None and not self.strong:
            self.restored = self.kv.keyspace.persist_to(self.durable, now)
            if self.restored:  # it has state: it serves it at once, and catches up meanwhile
                self.engine.loading = False
                log.warning("node %s restored %d keys from %s", options.node_id, self.restored,
                            options.data_dir)
        server.replication = self

    # -- the RESP side (called by RespServer) -------------------------------------------------

    def after_batch(self, now_ms: int, *, force: bool = False) -> None:
        """Stamp what the commands of a poll batch (or an expiry cycle) wrote, and replicate it.

        Eventual and causal modes stamp every batch at once (so what one batch wrote
        stays one unit, as the typed rules need) but send at most once per
        `REPLICATE_WINDOW_MS`: batches stamped within the window wait for its end
        (the timer task calls back with ``force``) and go as one delta or causal
        write. ``force`` sends at once (before a peer's message is handled).
        """
        if self.strong:
            if self._kick:  # start the rounds of the commands submitted meanwhile
                self._kick = False
                self._emit(self.core.tick(now_ms))
            return
        delta: dict[int, list[Any]] | None = None
        for db in self.engine.dbs:
            if db.delta:
                if delta is None:
                    delta = {}
                delta[db.index] = db.delta
                db.delta = []
        if delta is not None:
            stamped = self.kv.keyspace.stamp(delta, now_ms)
            if stamped:
                unsent = self._unsent
                if unsent is None:
                    self._unsent = stamped
                else:
                    unsent.entries.extend(stamped.entries)
                    unsent.marks.update(stamped.marks)
                self.batches_replicated += 1
        if self._unsent is None:
            return
        if force or now_ms - self._replicated_at_ms >= REPLICATE_WINDOW_MS:
            unsent, self._unsent = self._unsent, None
            self._replicate_due_ms = None
            self._replicated_at_ms = now_ms
            self.kv.replicate(unsent)
            self._emit(self.core.drain())
        elif self._replicate_due_ms is None:
            self._replicate_due_ms = due = self._replicated_at_ms + REPLICATE_WINDOW_MS
            if self._sleep_until_ms is None or due < self._sleep_until_ms:
                self._wake.set()

    def _route(self, argv: list[bytes], session: Any) -> Any:
        """Strong mode's `Engine.router`: a single-key command becomes a round, answered later."""
        kv = self.kv
        route = kv.classify(argv)
        kind = route.kind.value
        if kind == "local":
            return None
        if kind == "refused":
            return ErrorReply(route.error)
        if self.durable is None:  # --volatile: nothing to wait for
            def answer(reply: bytes) -> None:
                self._answer(session, argv[0], reply)
        else:  # answered after this turn's fsync (module doc)
            def answer(reply: bytes) -> None:
                self._replies.append((session, argv[0], reply))
        kv.submit_command(argv, session.db_index, session.resp3, session.now_ms, answer, route=route)
        self._kick = True
        return DEFERRED

    def _answer(self, session: Any, name: bytes, reply: bytes) -> None:
        """A round's reply to its client (served by the next `after_external_writes`)."""
        if reply[:1] == b"-":  # the command's error, or the round's: counted as the server's own
            self.engine.deferred_error(name, reply[1:].rstrip(b"\r\n"))
        self.server.answer_deferred(session, reply)

    # -- the loop ---------------------------------------------------------------------------

    async def run(self, task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED) -> None:
        """Listen for peers, catch up, and replicate until cancelled; reports the peer port."""
        # This driver owns the process (gyre serve): see GC_THRESHOLDS.
        gc.freeze()  # what startup built lives as long as the process: never traverse it again
        gc.set_threshold(*GC_THRESHOLDS)
        if _freeze_survivors not in gc.callbacks:
            gc.callbacks.append(_freeze_survivors)
        try:
            async with trio.open_nursery() as nursery:
                port = await nursery.start(self.transport.run)
                nursery.start_soon(self._timer_loop)
                nursery.start_soon(self._catch_up)
                if self.durable is not None:
                    nursery.start_soon(self._compact_loop)
                    if not self.strong:
                        nursery.start_soon(self._sync_loop)
                task_status.started(port)
        finally:
            if self.durable is not None:
                self.durable.close()

    async def _sync_loop(self) -> None:
        """Eventual and causal modes with --dir: fsync once a second (Redis's appendfsync
        everysec); strong mode syncs before every answer instead (`_commit`)."""
        assert self.durable is not None
        while True:
            await trio.sleep(SYNC_INTERVAL_S)
            self.durable.sync()
            if self.durable.compaction_wanted:  # (a turn that wrote records may not have emitted)
                self._compaction_wanted.set()

    async def _compact_loop(self) -> None:
        """With --dir: run the compactions the durable log asks for off the event loop (the
        snapshot is written and fsynced by a worker thread, `nodes.durable_log`).

        A failed compaction raises `DurableLogError` out of `finish_compaction`: the nursery,
        and the node, stop (the log is poisoned; a restart replays the old log, still complete).
        """
        durable = self.durable
        assert durable is not None
        while True:
            await self._compaction_wanted.wait()
            self._compaction_wanted = trio.Event()
            if not durable.compaction_wanted:
                continue
            job = durable.start_compaction()
            await trio.to_thread.run_sync(job.run)
            durable.finish_compaction(job)

    async def _catch_up(self) -> None:
        if self.strong:  # the state lives in a majority of acceptors: nothing to catch up on
            log.warning("node %s: strong mode, every key lives in a majority of acceptors; serving",
                        self.options.node_id)
            self.loaded_at_ms = self.clock()
            return
        self.kv.request_sync()
        self._emit(self.core.drain())
        if not self.engine.loading:  # restored from --dir: already serving
            return
        with trio.move_on_after(self.options.sync_timeout_s):
            await self._synced.wait()
        if self.kv.synced_with:
            log.warning("node %s caught up with %s; serving", self.options.node_id,
                        ", ".join(sorted(self.kv.synced_with)))
        else:
            log.warning("node %s: no peer answered within %.1f s; serving what it has",
                        self.options.node_id, self.options.sync_timeout_s)
        self.engine.loading = False
        self.loaded_at_ms = self.clock()

    def _deliver(self, messages: list[Message]) -> None:
        """The transport's delivery: the messages of one read from a peer, handled as one turn."""
        now = self.clock()
        self.after_batch(now, force=True)  # local writes not stamped yet go first (blocked clients served late)
        out: list[Message] = []
        for msg in messages:
            out.extend(self._handle(msg, now))
        self._emit(out)
        self.after_batch(self.clock())  # what the clients served just now wrote
        if not self.strong and self.kv.synced_with:
            self._synced.set()

    async def _timer_loop(self) -> None:
        core = self.core
        while True:
            self._wake = trio.Event()
            deadline = core.next_deadline_ms()
            due = self._replicate_due_ms
            if due is not None and (deadline is None or due < deadline):
                deadline = due
            self._sleep_until_ms = deadline
            if deadline is None:
                await self._wake.wait()
                continue
            delay_ms = deadline - self.clock()
            if delay_ms > 0:
                with trio.move_on_after(delay_ms / 1000):
                    await self._wake.wait()
                continue
            self._sleep_until_ms = None
            now = self.clock()
            if self._replicate_due_ms is not None:
                self.after_batch(now, force=True)
            core_due = core.next_deadline_ms()
            if core_due is not None and core_due <= now:
                self._emit(core.tick(now))

    def _handle(self, msg: Message, now_ms: int) -> list[Message]:
        """Feed one peer message to the core; a bundle is fed message by message."""
        if msg.type != BUNDLE_TYPE:
            return self.core.handle(msg, now_ms)
        bodies = msg.body.get("bodies")
        if not isinstance(bodies, list):
            log.warning("dropped a bundle from %s: 'bodies' is not a list", msg.src)
            return []
        out: list[Message] = []
        for body in bodies:
            try:
                inner = decode_obj({"src": msg.src, "dest": msg.dest, "body": body})
            except MalformedMessage as exc:
                log.warning("dropped a message of a bundle from %s: %s", msg.src, exc.text)
                continue
            if inner.type == BUNDLE_TYPE:
                log.warning("dropped a bundle nested in a bundle from %s", msg.src)
                continue
            out.extend(self.core.handle(inner, now_ms))
        return out

    def _emit(self, out: list[Message]) -> None:
        """Hand what the core produced to the transport, the messages for one peer as one
        bundle (one line, one decode, one task switch), and serve the clients it answered.

        Strong mode with --dir: the turn's records are made durable first (`_commit`).
        """
        durable = self.durable
        if durable is not None:
            if self.strong:
                out = self._commit(out)
            if durable.compaction_wanted:
                self._compaction_wanted.set()
        self._send_bundled(out)
        deadline = self.core.next_deadline_ms()  # wake the timer task only if it sleeps too long
        if deadline is not None and (self._sleep_until_ms is None or deadline < self._sleep_until_ms):
            self._wake.set()
        # Clients whose deferred replies came out, or who were blocked on keys a merge
        # created, are served now (they may submit more, or write more).
        self.server.after_external_writes()

    def _commit(self, out: list[Message]) -> list[Message]:
        """Strong mode with --dir: fsync what this turn appended, then answer its round replies.

        The turn's phase requests are sent before the fsync, unless it reserved
        ballots (module doc).

        Returns:
            What is left to send (everything but the phase requests sent already).

        Raises:
            DurableLogError: the fsync failed (the log is poisoned; the node stops).
        """
        durable = self.durable
        assert durable is not None
        kv = self.kv
        reserved, kv.reserved_this_turn = kv.reserved_this_turn, False
        if durable.dirty:
            if out and not reserved:
                requests = self._phase_requests
                early = [m for m in out if m.body.get("type") in requests]
                if early:
                    self._send_bundled(early)
                    out = [m for m in out if m.body.get("type") not in requests]
            durable.sync()
        if self._replies:
            replies, self._replies = self._replies, []
            for session, name, reply in replies:
                self._answer(session, name, reply)
        return out

    def _send_bundled(self, out: list[Message]) -> None:
        """Send to the peers: the messages for one peer as one bundle."""
        peers = self.options.peers
        send = self.transport.send
        if len(out) > 1:
            by_peer: dict[str, list[Message]] = {}
            for msg in out:
                if msg.dest in peers:
                    by_peer.setdefault(msg.dest, []).append(msg)
            out = [msgs[0] if len(msgs) == 1 else
                   Message(self.options.node_id, dest, {"type": BUNDLE_TYPE, "bodies": [m.body for m in msgs]})
                   for dest, msgs in by_peer.items()]
        for msg in out:
            if msg.dest in peers:
                send(msg)

    # -- INFO ---------------------------------------------------------------------------------

    def info_lines(self, now_ms: int) -> list[str]:
        """INFO replication's gyrekv lines: mode, node, every peer's link, then the mode's counters."""
        opts = self.options
        kv = self.kv
        lines = [
            f"gyre_mode:{opts.mode}",
            f"gyre_node_id:{opts.node_id}",
            f"gyre_peer_port:{self.transport.port or opts.peer_port}",
            f"gyre_loading:{int(self.engine.loading)}",
            f"gyre_peers:{len(opts.peers)}",
        ]
        for i, (peer_id, status) in enumerate(sorted(self.transport.links().items())):
            host, port = opts.peers[peer_id]
            contact = status.last_contact_ms
            ago = -1 if contact is None else max(0, now_ms - contact)
            oldest = status.oldest_queued_ms
            lag = 0 if oldest is None else max(0, now_ms - oldest)
            lines.append(
                f"peer{i}:id={peer_id},ip={host},port={port},state={'up' if status.up else 'down'},"
                f"last_contact_ms_ago={ago},lag_ms={lag},queued={status.queued},dropped={status.dropped},"
                f"reconnects={status.reconnects}")
        durable = self.core.durable
        lines += [f"gyre_durable_records:{len(durable)}", f"gyre_durable_fsyncs:{getattr(durable, 'fsyncs', 0)}"]
        if self.strong:
            st = kv.stats
            return lines + [
                f"gyre_paxos_rounds:{st.rounds}", f"gyre_paxos_warm_rounds:{st.warm_rounds}",
                f"gyre_paxos_pipelined_rounds:{st.pipelined_rounds}",
                f"gyre_paxos_committed:{st.committed}",
                f"gyre_paxos_rejected:{st.rejected}", f"gyre_paxos_resends:{st.resends}",
                f"gyre_paxos_definite_failures:{st.definite_failures}",
                f"gyre_paxos_indefinite_failures:{st.indefinite_failures}",
            ]
        lines += [
            f"gyre_replicated_batches:{self.batches_replicated}",
            f"gyre_remote_writes_applied:{kv.keyspace.applied}",
            f"gyre_versioned_keys:{len(kv.keyspace)}",
            f"gyre_gc_passes:{kv.keyspace.table.collections}",
            f"gyre_gc_forgotten_keys:{kv.keyspace.table.forgotten}",
        ]
        if opts.mode == "eventual":
            return lines + [f"gyre_anti_entropy_rounds:{kv.rounds}", f"gyre_anti_entropy_repairs:{kv.repairs}",
                            f"gyre_repaired_keys:{kv.repaired_keys}"]
        return lines + [f"gyre_causal_pending:{kv.pending_count}", f"gyre_snapshots_sent:{kv.snapshots_sent}"]
