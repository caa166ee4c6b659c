"""One simulated run: the real node cores, the harness, virtual time.

Strategy: `Simulation` is the simulator's counterpart of
`maelstrom.runner.Runner`, over the same `maelstrom.harness.Harness`, with
the trio tasks replaced by one loop over integer virtual milliseconds:

- each step jumps to the earliest due time among the network's queues
  (`NetModel.next_deadline_ms`), the nodes' timers
  (`NodeCore.next_deadline_ms`) and the event queue (client timeouts, the
  scheduler's and the nemesis's wake-ups), then runs, in this fixed order,
  every delivery due (nodes in the network's ``(deadline, seq)`` order),
  every node timer due (nodes in name order) and every event due; a step
  that produced zero-latency messages is followed by another at the same
  millisecond;
- everything between the harness and a node crosses the real JSON encoding
  and decoding (`protocol.maelstrom_json`): the envelope a node reads is
  ``orjson.dumps(env.wire())`` decoded with ``decode_line``, and each message
  a node emits is ``encode``d and decoded again before it reaches the
  network, so a body that cannot be serialised fails here as it would on a
  pipe (the run crashes with the node's name);
- phases as in ``gyre test``: init (``--init-timeout``), setup, main
  (scheduler + nemesis), and for workloads with a final phase: heal,
  recovery wait, one final op per thread;
- then, for the workloads without a final phase (whose checker has no
  convergence test of its own), a healed liveness phase (vopr's liveness
  mode): every fault is lifted, and within ``liveness_bound_ms`` of the heal
  every node must answer at least one client request ``ok``. Each round
  gives every client thread one op of the main generator (recorded and
  checked like any other); rounds repeat, `LIVENESS_PAUSE_MS` apart, until
  every node has served or the bound passes. The verdict is the
  ``liveness`` entry of ``results.json``, with its own message;
- an exception escaping a node's ``handle`` or ``tick`` ends the run as a
  crash (exit 255) with the traceback, so a seed sweep reports it;
- the node's log (the ``gyre.node`` logger, stderr in a real run) goes to
  ``node-logs/<id>.log`` and, with ``--log-stderr``, to the console;
- node faults (`maelstrom.sim.faults`: ``--faults`` pause, crash, skew,
  buggify, one-way): the plan is drawn from the seed before anything else
  and printed after the banner. A paused node's queue is held by the network
  and its timers are not run until it resumes. A crashed node's core is
  dropped (its durable records kept, `nodes.core.DurableStore`), the network
  drops what reaches it, and its restart builds a new core (RNG
  ``derive_rng(seed, "sim/node/<id>/life/<k>")``) that gets an ``init`` from
  a new client, as at start. A pause or crash picks its victims among the
  nodes running (not down, paused or restarting). With ``skew`` each node
  is called with its own clock's ``now_ms`` and its timers are converted
  back to simulator time (`maelstrom.sim.faults.NodeClock`). The heal before
  the final or liveness phase also resumes and restarts every node and
  turns BUGGIFY off (clocks stay skewed: they are the machines'). Counts and
  BUGGIFY's points are in ``results.json`` under ``faults``.

Randomness: one ``random.Random(seed)`` draws, in this order, the seeds of
the network's, the generator's, the nemesis's and the services' RNGs, then
one per node in node order; the faults above draw from streams of their own
(``derive_rng(seed, "sim/...")``), so they leave those draws alone. Nothing reads the wall clock; node outputs are
kept in the order produced; every collection iterated is a list or a dict
in insertion order.
"""

from __future__ import annotations

import gc
import logging
import math
import random
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import IO, Any, Final

import orjson

from maelstrom.generator import Invocation, Scheduler, Wait
from maelstrom.harness import ClientSlot, Harness, RunResult, RunRngs, TestConfig, derive_rng
from maelstrom.nemesis import FLAKY_RATE_DEFAULT, NemesisOp, NemesisSchedule
from maelstrom.sim.faults import Buggify, FaultPlan, NodeClock, NodeFaultSchedule, draw_plan, pick_victims
from maelstrom.sim.loop import EventQueue
from maelstrom.workloads import SETUP_TIMEOUT_MS
from nodes.core import DurableStore, NodeCore
from protocol.maelstrom_json import LINE_BYTES_MAX, MalformedMessage, Message, decode_line, decode_obj, encode

_dumps = orjson.dumps
_loads = orjson.loads
_APPEND_NEWLINE: Final[int] = orjson.OPT_APPEND_NEWLINE

NODE_KINDS: Final[tuple[str, ...]] = ("single", "replicated")
MODES: Final[tuple[str, ...]] = ("eventual", "causal", "strong")
#: Workloads the node programs know by name (`nodes.workload_handlers.WORKLOADS`); others run as "auto".
_NODE_LOGGER: Final[str] = "gyre.node"

#: Default time the healed cluster has to serve a request on every node.
LIVENESS_BOUND_MS_DEFAULT: Final[int] = 10_000
#: Pause between two liveness rounds.
LIVENESS_PAUSE_MS: Final[int] = 100

#: Builds one node: ``(node_id, rng, now_ms) -> NodeCore``.
NodeFactory = Callable[[str, random.Random, int], NodeCore]


@dataclass(frozen=True)
class SimConfig:
    """A simulated run: the ``gyre test`` options plus which node runs.

    Attributes:
        test: Every ``gyre test`` option (``bin`` is only a label here).
        node: ``single`` or ``replicated``.
        mode: The replicated node's consistency mode.
        report: Write ``report.html`` (a seed sweep skips it for runs it deletes).
        liveness_bound_ms: The healed liveness phase's bound (0: no such phase).
        faults: ``--faults``: the simulator's faults (`maelstrom.sim.faults.SIM_FAULTS`),
            on top of ``test.nemesis``.
        swarm: ``--swarm``: each seed draws which faults are on and their settings.
    """

    test: TestConfig
    node: str = "single"
    mode: str = "eventual"
    report: bool = True
    liveness_bound_ms: int = LIVENESS_BOUND_MS_DEFAULT
    faults: tuple[str, ...] = ()
    swarm: bool = False

    def label(self) -> str:
        return self.node if self.node == "single" else f"{self.node} --mode {self.mode}"


def _copy_message(msg: Message) -> Message:
    """A separate copy of ``msg``, through the wire encoding (for a duplicated message)."""
    return decode_line(encode(msg))


def node_factory(cfg: SimConfig) -> NodeFactory:
    """The real node class for ``cfg.node`` and ``cfg.mode``, told the workload as GYRE_WORKLOAD would."""
    from nodes.workload_handlers import WORKLOADS

    workload = cfg.test.workload if cfg.test.workload in WORKLOADS else "auto"
    if cfg.node == "single":
        from nodes.single import SingleConfig, SingleNode

        scfg = SingleConfig(workload=workload)
        return lambda node_id, rng, now_ms: SingleNode(rng=rng, config=scfg, now_ms=now_ms)
    if cfg.node == "replicated":
        from nodes.replicated import ReplicatedConfig, ReplicatedNode

        rcfg = ReplicatedConfig(mode=cfg.mode, workload=workload)
        return lambda node_id, rng, now_ms: ReplicatedNode(rng=rng, config=rcfg, now_ms=now_ms)
    raise ValueError(f"node must be one of {', '.join(NODE_KINDS)}, not {cfg.node!r}")


def sim_rngs(seed: int, node_count: int) -> tuple[RunRngs, list[random.Random]]:
    """Every RNG of a run, drawn from one ``random.Random(seed)`` in a fixed order."""
    master = random.Random(seed)
    harness = RunRngs(*(random.Random(master.getrandbits(64)) for _ in range(4)))
    nodes = [random.Random(master.getrandbits(64)) for _ in range(node_count)]
    return harness, nodes


class _NodeLog(logging.Handler):
    """Routes the node logger to the log of the node the simulator is running."""

    def __init__(self, sim: Simulation) -> None:
        super().__init__(logging.INFO)
        self.sim = sim

    def emit(self, record: logging.LogRecord) -> None:
        node = self.sim.current
        text = f"{self.sim.now:>9} {record.levelname[0]} {record.getMessage()}"
        self.sim.h.store.node_log(node or "harness", text.encode())
        if self.sim.cfg.test.log_stderr:
            self.sim.h.say(f"{node} | {text}")


class _Stop(Exception):
    """The run cannot go on (a crash was recorded)."""


class Simulation:
    """One simulated run (see module doc).

    Args:
        cfg: The options.
        console: Where the banner and diagnoses go.
        factory: Builds the nodes (default: the real node of ``cfg.node``/``cfg.mode``).
    """

    def __init__(self, cfg: SimConfig, console: IO[str] | None = None,
                 factory: NodeFactory | None = None) -> None:
        self.cfg = cfg
        self.plan: FaultPlan = draw_plan(cfg.test, cfg.faults, cfg.swarm)
        t = self.plan.test_config(cfg.test)
        rngs, node_rngs = sim_rngs(t.seed, len(t.nodes))
        # The checkers' time limit is wall time, as in gyre test (a check that runs out
        # of it is "unknown"; virtual time would let a slow search run forever).
        self.h = Harness(t, rngs, console if console is not None else sys.stderr, verb="gyre sim",
                         checker_clock=time.monotonic)
        self.net = self.h.net
        self.net.clone = _copy_message
        if self.net.journal == self.h.store.message_line:  # nothing is sent once the store closes
            self.net.journal = self.h.store.message_writer()
        self.now = 0
        self.current: str | None = None
        self.events = EventQueue()
        self._build = factory if factory is not None else node_factory(cfg)
        # node faults: each node's clock (skew), BUGGIFY, who is paused, down or restarting
        self._clocks: dict[str, NodeClock] = dict(self.plan.clocks)
        self.buggify = Buggify(t.seed, self.plan.buggify_enable, self.plan.buggify_fire)
        self.paused: dict[str, int] = {}  # node -> when it was paused
        self.down: dict[str, dict[str, bytes]] = {}  # crashed node -> its durable records
        self._restarting: dict[str, ClientSlot] = {}
        self._lives: dict[str, int] = {n: 0 for n in self.h.nodes}
        self.fault_counts = {"paused": 0, "resumed": 0, "crashed": 0, "restarted": 0}
        self._node_faults: NodeFaultSchedule | None = None
        self._fault_rng = derive_rng(t.seed, "sim/node-faults")
        self.cores: dict[str, NodeCore] = {}
        # each node's next timer in simulator time (see `_run_node`), in node order; None while
        # it has none, is paused or is down
        self._deadlines: dict[str, int | None] = {}
        for node_id, rng in zip(self.h.nodes, node_rngs):
            self.net.register(node_id)
            self._start_core(node_id, rng, DurableStore())
        # client id -> (call number, what to do with the reply or the timeout)
        self._waiters: dict[str, tuple[int, Callable[[int], None]]] = {}
        self._calls = 0
        self._sched: Scheduler | None = None
        self._sched_wake: int | None = None
        self._pumping = False
        self._nemesis: NemesisSchedule | None = None

    # -- nodes, their clocks and their faults ----------------------------------------------------

    def node_now(self, node_id: str) -> int:
        """``node_id``'s clock now (the simulator's, unless ``skew`` gave it its own)."""
        clock = self._clocks.get(node_id)
        return self.now if clock is None else clock.to_node(self.now)

    def _sim_deadline(self, node_id: str, deadline: int | None) -> int | None:
        clock = self._clocks.get(node_id)
        if deadline is None or clock is None:
            return deadline
        return clock.to_sim(deadline)

    def _start_core(self, node_id: str, rng: random.Random, durable: DurableStore) -> NodeCore:
        core = self._build(node_id, rng, self.node_now(node_id))
        core.durable = durable
        if self.plan.on("buggify"):
            core.set_buggify(self.buggify)
        self.cores[node_id] = core
        self._deadlines[node_id] = self._sim_deadline(node_id, core.next_deadline_ms())
        return core

    def running(self) -> list[str]:
        """The nodes a pause or crash may hit: up, not paused, not restarting (node order)."""
        return [n for n in self.h.nodes
                if n in self.cores and n not in self.paused and n not in self._restarting]

    def pause(self, node_id: str) -> None:
        """SIGSTOP: hold the node's inbound queue and stop its timers."""
        assert node_id in self.cores and node_id not in self.paused
        self.paused[node_id] = self.now
        self.net.hold(node_id)
        self._deadlines[node_id] = None
        self.fault_counts["paused"] += 1
        self.h.log(f"{node_id} paused")

    def resume(self, node_id: str) -> None:
        """SIGCONT: deliver what was held (in order) and run the timers that came due meanwhile."""
        del self.paused[node_id]
        self.net.release(node_id)
        self._deadlines[node_id] = self._sim_deadline(node_id, self.cores[node_id].next_deadline_ms())
        self.fault_counts["resumed"] += 1
        self.h.log(f"{node_id} resumed")

    def kill(self, node_id: str) -> None:
        """Crash: drop the core; keep only its durable records; what reaches it is lost."""
        core = self.cores.pop(node_id)
        self.down[node_id] = core.durable.records
        self._deadlines[node_id] = None
        self.net.set_down(node_id, True)
        self.fault_counts["crashed"] += 1
        self.h.log(f"{node_id} crashed ({len(self.down[node_id])} durable records kept)")

    def restart(self, node_id: str) -> None:
        """A new core with the durable records of the last life, and a fresh ``init``."""
        records = self.down.pop(node_id)
        self._lives[node_id] += 1
        rng = derive_rng(self.cfg.test.seed, f"sim/node/{node_id}/life/{self._lives[node_id]}")
        self.net.set_down(node_id, False)
        self._start_core(node_id, rng, DurableStore(records))
        self.fault_counts["restarted"] += 1
        self.h.log(f"{node_id} restarted (life {self._lives[node_id]})")
        h = self.h
        c = h.open_client()
        self._restarting[node_id] = c

        def done(now: int) -> None:
            del self._restarting[node_id]
            h.init_done(node_id, c)

        self._call(c, h.init_request(node_id, c), self.cfg.test.init_timeout_s * 1000, done)

    def _node_fault(self, op: NemesisOp) -> Any:
        """Perform a pause/crash op; returns its recorded completion value."""
        kind = op.f.split("-", 1)[1]
        if op.f.startswith("start-"):
            victims = pick_victims(op.value, self.running(), len(self.h.nodes), self._fault_rng)
            for n in victims:
                (self.pause if kind == "pause" else self.kill)(n)
            return ["paused" if kind == "pause" else "crashed", victims]
        if kind == "pause":
            back = sorted(self.paused)
            for n in back:
                self.resume(n)
            return ["resumed", back]
        back = sorted(self.down)
        for n in back:
            self.restart(n)
        return ["restarted", back]

    def _on_node_faults(self, now: int) -> None:
        sched = self._node_faults
        if sched is None or self.h.phase != "main":
            return
        for op in sched.due(now):
            self.h.nemesis_op(op, now, self._node_fault)
        nxt = sched.next_time_ms()
        if nxt is not None:
            self.events.at(max(int(math.ceil(nxt)), now + 1), self._on_node_faults)

    def _heal_nodes(self) -> None:
        """Lift every node fault: resume, restart, BUGGIFY off."""
        if self._node_faults is not None:
            for op in self._node_faults.heal_ops():
                self.h.nemesis_op(op, self.now, self._node_fault)
        self.buggify.active = False

    def _fault_results(self) -> dict[str, Any]:
        res: dict[str, Any] = {"valid": True, "plan": self.plan.as_dict(), **self.fault_counts}
        if self.plan.on("buggify"):
            res["buggify"] = self.buggify.stats()
        return res

    # -- the loop ------------------------------------------------------------------------------

    def _next_time(self) -> int | None:
        """The earliest due time among the event queue, the network and the nodes' timers."""
        best = self.events.next_time_ms()
        net = self.net.next_deadline_ms()
        if net is not None:
            t = int(math.ceil(net))
            best = t if best is None or t < best else best
        for d in self._deadlines.values():
            if d is not None and (best is None or d < best):
                best = d
        return best

    def _step(self, now: int) -> None:
        """One step at ``now`` (see module doc): deliveries, then node timers, then events."""
        self.now = now
        self._deliver(now)
        self._fire_timers(now)
        self.events.run_due(now)

    def _deliver(self, now: int) -> None:
        cores = self.cores
        for env in self.net.deliver_due(now):
            msg = env.msg
            dest = msg.dest
            core = cores.get(dest)
            if core is None:
                slot = self.h.route(env, now)
                if slot is not None:
                    self._wake(slot, now)
                continue
            if msg.src not in cores:
                # from a client or a service, which may keep the body: the node gets its own
                msg = decode_line(orjson.dumps(env.wire()))
            self._run_node(dest, core, msg)

    def _fire_timers(self, now: int) -> None:
        # Only `_run_node(n)` changes ``_deadlines[n]`` (a value, never the keys), so the
        # dict is walked as it is: each node's deadline is read before that node runs.
        cores = self.cores
        for node_id, d in self._deadlines.items():
            if d is not None and d <= now:
                self._run_node(node_id, cores[node_id], None)

    def run_until(self, stop: Callable[[], bool], until_ms: int | None = None) -> None:
        """Step until ``stop()`` holds, or virtual time would pass ``until_ms``.

        `_next_time` and `_step` inlined (this loop turns once per virtual millisecond
        with work): a phase whose source has nothing due is not called.
        """
        h = self.h
        events = self.events
        net = self.net
        deadlines = self._deadlines
        while not stop():
            if h.crash_reason is not None:
                raise _Stop
            t = events.next_time_ms()
            t_net = net.next_deadline_ms()
            if t_net is not None:
                t_net = int(math.ceil(t_net))
                if t is None or t_net < t:
                    t = t_net
            for d in deadlines.values():
                if d is not None and (t is None or d < t):
                    t = d
            if t is None or (until_ms is not None and t > until_ms):
                if until_ms is not None:
                    self.now = max(self.now, until_ms)
                return
            now = self.now = max(self.now, t)
            if t_net is not None and t_net <= now:
                self._deliver(now)
            for node_id, d in deadlines.items():  # `_fire_timers`, inlined
                if d is not None and d <= now:
                    self._run_node(node_id, self.cores[node_id], None)
            events.run_due(now)
        if h.crash_reason is not None:
            raise _Stop

    def _run_node(self, node_id: str, core: NodeCore, msg: Message | None) -> None:
        """Hand ``msg`` to the node (None: fire its due timers) and send what it produced.

        A core's next deadline only changes when it is called, so it is read
        back here once and kept in ``_deadlines``.

        Each message the node produced goes through the wire encoding (one
        ``orjson.dumps``, as `protocol.maelstrom_json.encode` writes it, and one
        decode, as `protocol.maelstrom_json.decode_line` reads it) onto the network.
        This runs for every message, so those steps are inlined here; anything
        unusual (a body that cannot be serialised, a line that is not a message,
        an unknown destination) takes the slow path, which says why.
        """
        self.current = node_id
        clock = self._clocks.get(node_id) if self._clocks else None
        now = self.now if clock is None else clock.to_node(self.now)
        try:
            out = core.tick(now) if msg is None else core.handle(msg, now)
        except Exception as exc:  # noqa: BLE001 - a node bug ends the run as a crash, with its trace
            self.h.crash(f"node-crashed: node {node_id} raised {type(exc).__name__}: {exc} at "
                         f"{self.now} ms during the {self.h.phase} phase\n"
                         + traceback.format_exc().rstrip())
            return
        finally:
            self.current = None
        deadline = core.next_deadline_ms()
        self._deadlines[node_id] = deadline if clock is None or deadline is None else clock.to_sim(deadline)
        if not out:
            return
        now = self.now
        self.h.now_ms = now
        send = self.net.send
        for m in out:
            try:
                line = _dumps({"src": m.src, "dest": m.dest, "body": m.body}, option=_APPEND_NEWLINE)
                sent = decode_obj(_loads(line)) if len(line) <= LINE_BYTES_MAX else None
            except (TypeError, ValueError, MalformedMessage):  # orjson's errors are TypeError, ValueError
                sent = None
            if sent is None:
                self._emit(node_id, m)
                continue
            try:
                send(sent, now, line)
            except KeyError:
                self.h.send(sent, f"{node_id} stdout", now, line)  # diagnoses it

    def _emit(self, node_id: str, m: Message) -> None:
        """A message a node produced: through the wire encoding, onto the network
        (`_run_node` does the same inline; this is its careful path)."""
        try:
            line = encode(m)
        except TypeError as exc:
            self.h.crash(f"node-crashed: node {node_id} produced a message that cannot be "
                         f"serialised ({exc}): {m!r}")
            return
        try:
            msg = decode_line(line)
        except MalformedMessage as exc:
            self.h.diagnose(f"{node_id} printed a line on stdout that is not a Maelstrom message "
                            f"({exc.text}): {line.decode(errors='replace')[:300]}")
            return
        self.h.send(msg, f"{node_id} stdout", self.now, line)

    # -- clients --------------------------------------------------------------------------------

    def _wake(self, slot: ClientSlot, now: int) -> None:
        waiter = self._waiters.pop(slot.id, None)
        if waiter is not None:
            waiter[1](now)

    def _call(self, c: ClientSlot, msg: Message, timeout_ms: float,
              then: Callable[[int], None]) -> None:
        """Send a client's request; ``then(now)`` runs on its reply or at its timeout."""
        self._await(c, self.h.call(c, msg, self.now), timeout_ms, then)

    def _await(self, c: ClientSlot, sent: bool, timeout_ms: float,
               then: Callable[[int], None]) -> None:
        """``then(now)`` once, on the reply to ``c``'s request or after ``timeout_ms``
        (at once when the request could not be sent)."""
        if not sent:
            self.events.at(self.now, then)
            return
        self._calls += 1
        call = self._calls
        self._waiters[c.id] = (call, then)

        def timeout(now: int) -> None:
            w = self._waiters.get(c.id)
            if w is not None and w[0] == call:
                del self._waiters[c.id]
                c.expect = None
                then(now)

        self.events.at(self.now + int(math.ceil(timeout_ms)), timeout)

    # -- phases ------------------------------------------------------------------------------------

    def _init(self) -> None:
        h = self.h
        h.phase = "init"
        pending: list[tuple[str, ClientSlot]] = [(n, h.open_client()) for n in h.nodes]
        answered: list[str] = []
        for node_id, c in pending:
            self._call(c, h.init_request(node_id, c), self.cfg.test.init_timeout_s * 1000,
                       lambda now, n=node_id: answered.append(n))
        self.run_until(lambda: len(answered) == len(pending))
        for node_id, c in pending:
            h.init_done(node_id, c)
        if h.crash_reason is not None:
            raise _Stop
        setups = h.workload.setup_requests()
        if not setups:
            return
        h.phase = "setup"
        calls = [(n, h.open_client(), *setups[n]) for n in h.nodes if n in setups]
        done: list[str] = []
        for node_id, c, body, _ in calls:
            _, msg = c.session.raw_request(node_id, body)
            self._call(c, msg, SETUP_TIMEOUT_MS, lambda now, n=node_id: done.append(n))
        self.run_until(lambda: len(done) == len(calls))
        for node_id, c, body, schema in calls:
            h.setup_done(node_id, c, body, schema)
        if h.crash_reason is not None:
            raise _Stop

    def _start_op(self, sched: Scheduler, inv: Invocation,
                  then: Callable[[int], None] | None = None) -> None:
        c, sent = self.h.start_op(inv, self.now)
        timeout_ms = self.h.workload.rpc_timeout_ms()
        # A partial, not a closure that names itself: that would be a reference cycle per op,
        # left for the cyclic collector.
        self._await(c, sent, timeout_ms, partial(self._op_done, sched, inv, c, then, timeout_ms))

    def _op_done(self, sched: Scheduler, inv: Invocation, c: ClientSlot,
                 then: Callable[[int], None] | None, timeout_ms: float, now: int) -> None:
        """An op's reply came, or its timeout passed (`_start_op`)."""
        if self.h.advance_op(c, now):  # another RPC for this op (kafka's commit_offsets)
            self._await(c, True, timeout_ms, partial(self._op_done, sched, inv, c, then, timeout_ms))
            return
        self.h.end_op(sched, inv, c, now)
        if then is not None:
            then(now)
        self._pump()

    def _pump(self) -> None:
        """Start every op the scheduler allows now and arrange to be woken for the next."""
        sched = self._sched
        if sched is None or self._pumping or self.h.phase != "main":
            return
        self._pumping = True
        try:
            now = self.now
            while (inv := sched.poll(now)) is not None:
                self._start_op(sched, inv)
            wake = sched.wake_ms(now)
            if wake is not None:
                at = max(int(math.ceil(wake)), now + 1)
                if at != self._sched_wake:
                    self._sched_wake = at
                    self.events.at(at, self._on_sched_wake)
        finally:
            self._pumping = False

    def _on_sched_wake(self, now: int) -> None:
        self._sched_wake = None
        self._pump()

    def _nemesis_schedule(self) -> NemesisSchedule | None:
        """The harness's nemesis schedule, with ``one-way`` among its shapes when that is on."""
        if not self.plan.on("one-way"):
            return self.h.nemesis_schedule()
        t = self.h.cfg
        return NemesisSchedule(
            t.nemesis, t.nemesis_interval_s, self.h.rngs.nemesis,
            loss_rate=t.loss_rate if t.loss_rate is not None else FLAKY_RATE_DEFAULT,
            duplicate_rate=t.duplicate_rate if t.duplicate_rate is not None else FLAKY_RATE_DEFAULT,
            shapes=self.plan.shapes)

    def _on_nemesis(self, now: int) -> None:
        nem = self._nemesis
        if nem is None or self.h.phase != "main":
            return
        for op in nem.due(now):
            self.h.nemesis_op(op, now)
        nxt = nem.next_time_ms()
        if nxt is not None:
            self.events.at(max(int(math.ceil(nxt)), now + 1), self._on_nemesis)

    def _main(self) -> None:
        h = self.h
        h.phase = "main"
        sched = self._sched = h.scheduler(self.now)
        self._nemesis = self._nemesis_schedule()
        if self._nemesis is not None:
            self._on_nemesis(self.now)
        self._node_faults = self.plan.node_schedule(self._fault_rng)
        if self._node_faults is not None:
            self._on_node_faults(self.now)
        self._pump()
        self.run_until(lambda: sched.done(self.now))
        if h.workload.has_final:
            self._final(sched)
        elif self.cfg.liveness_bound_ms > 0:
            self._liveness(sched)

    def _liveness(self, sched: Scheduler) -> None:
        """Heal everything; every node must serve a request ok within the bound."""
        h = self.h
        h.phase = "healing"
        if self._nemesis is not None:
            for op in self._nemesis.heal_ops():
                h.nemesis_op(op, self.now)
        self._heal_nodes()
        h.phase = "liveness"
        healed = self.now
        bound = self.cfg.liveness_bound_ms
        deadline = healed + bound
        served: dict[str, int] = {}  # node -> when it first answered ok
        rounds = 0
        while len(served) < len(h.nodes) and self.now < deadline:
            rounds += 1
            invs = sched.final_invocations(sched.source, self.now)
            if not invs:
                break
            pending = {inv.thread for inv in invs}
            for inv in invs:
                self._start_liveness_op(sched, inv, served, pending)
            self.run_until(lambda: not pending)
            if len(served) < len(h.nodes):
                self.run_until(lambda: False, self.now + LIVENESS_PAUSE_MS)
        late = [n for n in h.nodes if n not in served]
        result: dict[str, Any] = {"valid": not late, "bound-ms": bound, "healed-at-ms": healed,
                                  "rounds": rounds,
                                  "first-ok-ms": {n: t - healed for n, t in served.items()}}
        if late:
            result["not-served"] = late
            result["why"] = (f"after every fault was lifted at {healed / 1000:.1f} s, "
                             f"{', '.join(late)} answered no request ok within {bound / 1000:g} s "
                             f"({rounds} rounds of one request per client thread)")
        h.extra_results["liveness"] = result

    def _start_liveness_op(self, sched: Scheduler, inv: Invocation, served: dict[str, int],
                           pending: set[int]) -> None:
        c, sent = self.h.start_op(inv, self.now)
        timeout_ms = self.h.workload.rpc_timeout_ms()

        def complete(now: int) -> None:
            if self.h.advance_op(c, now):
                self._await(c, True, timeout_ms, complete)
                return
            comp = self.h.end_op(sched, inv, c, now)
            if comp.type == "ok":
                served.setdefault(inv.node, now)
            pending.discard(inv.thread)

        self._await(c, sent, timeout_ms, complete)

    def _final(self, sched: Scheduler) -> None:
        h = self.h
        h.phase = "healing"
        if self._nemesis is not None:
            for op in self._nemesis.heal_ops():
                h.nemesis_op(op, self.now)
        self._heal_nodes()
        h.phase = "recovery"
        h.log(f"Waiting for recovery... ({self.cfg.test.recovery_wait_s:g} s)")
        until = self.now + int(math.ceil(self.cfg.test.recovery_wait_s * 1000))
        self.run_until(lambda: False, until)
        final = h.workload.final_generator()
        assert final is not None
        h.phase = "final"
        done: set[int] = set()

        def step(thread: int, now: int) -> None:
            nxt = sched.final_next(final, thread, now)
            if nxt is None:
                done.add(thread)
            elif isinstance(nxt, Wait):
                self.events.at(max(now + 1, int(math.ceil(nxt.until_ms))), lambda t: step(thread, t))
            else:
                self._start_op(sched, nxt, lambda t: step(thread, t))

        for thread in range(sched.concurrency):
            step(thread, self.now)
        self.run_until(lambda: len(done) == sched.concurrency)

    # -- the run -----------------------------------------------------------------------------------

    def run(self) -> RunResult:
        """Run, check and write the store; never raises for node misbehaviour."""
        h = self.h
        h.say(f"{h.banner()}; node {self.cfg.label()}")
        if self.cfg.faults or self.cfg.swarm:
            h.say(f"seed {self.cfg.test.seed} fault plan: {self.plan.describe()}")
        logger = logging.getLogger(_NODE_LOGGER)
        handler = _NodeLog(self)
        saved = (logger.level, logger.propagate)
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
        # Everything alive before the run (modules, the harness, the nodes as built) leaves the
        # cyclic collector's generations while the run goes, so a full collection triggered
        # by the run's garbage does not walk them all again; they rejoin the oldest generation
        # after (objects are freed by reference counting as usual meanwhile).
        gc.freeze()
        try:
            self._init()
            self._main()
            h.phase = "done"
        except _Stop:
            pass
        finally:
            gc.unfreeze()
            logger.removeHandler(handler)
            logger.setLevel(saved[0])
            logger.propagate = saved[1]
        extra: dict[str, Any] = {"sim-node": self.cfg.node, "sim-mode": self.cfg.mode}
        if self.cfg.faults or self.cfg.swarm:
            h.extra_results["faults"] = self._fault_results()
            extra["sim-faults"] = list(self.plan.faults)
        return h.finish(self.now, extra, report=self.cfg.report)


def run_sim(cfg: SimConfig, console: IO[str] | None = None,
            factory: NodeFactory | None = None) -> RunResult:
    """Run one simulation to completion.

    Raises:
        maelstrom.workloads.WorkloadError: Options the workload cannot run with.
    """
    return Simulation(cfg, console, factory).run()
