"""The decisions of one test run, shared by the trio runner and the simulator.

Strategy: `Harness` holds everything about a run that is not I/O or
waiting: the workload, the `NetModel` and its journal, the services, the
client sessions and which reply each one waits for, the op lifecycle
(invoke recorded, request built, reply or timeout turned into a completion
by the workload's outcome rules, the scheduler told, a crashed client
replaced), the nemesis ops, the init and setup reply checks, the checkers,
``results.json``/``history.jsonl``/``report.html`` and the summary. A
driver owns time and concurrency: it passes ``now_ms`` to every call,
delivers what `NetModel.deliver_due` pops through `Harness.route`, and
decides how to wait (`maelstrom.runner`: trio tasks and the real clock;
`maelstrom.sim`: a discrete-event loop over virtual milliseconds).

No clock is read and no randomness is drawn here except from the RNGs in
`RunRngs`, which the driver derives from the seed. Its only I/O is the run's
store directory (`RunStore`) and the console lines, which both drivers write
the same way; processes, pipes and waiting stay in the drivers.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import IO, Any, Final

import orjson

from maelstrom.generator import Invocation, Scheduler, parse_concurrency
from maelstrom.history import History
from maelstrom.nemesis import FLAKY_RATE_DEFAULT, NemesisOp, NemesisSchedule, apply_op
from maelstrom.net import Envelope, NetConfig, NetModel, is_client
from maelstrom.node_names import DEFAULT_NODES
from maelstrom.services import Service, make_services
from maelstrom.store import MESSAGES_FILE, RunStore, iter_messages
from maelstrom.verdict import explain, not_valid
from maelstrom.workloads import (INIT_TIMEOUT_MS, ClientSession, Completion, Workload,
                                 WorkloadOpts, get_workload)
from maelstrom.workloads.common import (availability_checker, exceptions_checker, merge_valid,
                                        perf_checker, stats_checker)
from maelstrom.workloads.txn import (CONSISTENCY_MODELS_DEFAULT, MAX_TXN_LENGTH_DEFAULT,
                                     MAX_WRITES_PER_KEY_DEFAULT)
from protocol.maelstrom_json import Message

RECOVERY_WAIT_S_DEFAULT: Final[float] = 10.0
INIT_TIMEOUT_S_DEFAULT: Final[float] = INIT_TIMEOUT_MS / 1000
LINE_SHOW_MAX: Final[int] = 300
EXIT_VALID, EXIT_INVALID, EXIT_UNKNOWN, EXIT_BAD_ARGS, EXIT_CRASH = 0, 1, 2, 254, 255


@dataclass(frozen=True)
class TestConfig:
    """Every option of one ``gyre test`` run (see `maelstrom.test_cli`)."""

    workload: str
    bin: str
    bin_args: tuple[str, ...] = ()
    # The node ids, from the node options (`maelstrom.node_names`).
    nodes: tuple[str, ...] = DEFAULT_NODES
    concurrency: str = "1n"
    time_limit_s: float = 60.0
    rate: float = 5.0
    latency_ms: float = 0.0
    latency_dist: str = "constant"
    nemesis: tuple[str, ...] = ()
    nemesis_interval_s: float = 10.0
    topology: str = "grid"
    availability: str | float | None = None
    log_stderr: bool = False
    log_net_send: bool = False
    log_net_recv: bool = False
    key_count: int | None = None
    seed: int = 0
    loss_rate: float | None = None
    duplicate_rate: float | None = None
    recovery_wait_s: float = RECOVERY_WAIT_S_DEFAULT
    init_timeout_s: float = INIT_TIMEOUT_S_DEFAULT
    store_root: str = "store"
    checker_time_limit_s: float | None = None
    node_cwd: str | None = None
    # Maelstrom's reader chokes on a bad stdout line and reads that node no more.
    faithful_stdout: bool = False
    # How the linearizability checker reads outcomes (maelstrom.models.SEMANTICS).
    semantics: str = "strict"
    # The txn workloads: Elle's consistency models, transaction length, writes per key.
    consistency_models: tuple[str, ...] = CONSISTENCY_MODELS_DEFAULT
    max_txn_length: int = MAX_TXN_LENGTH_DEFAULT
    max_writes_per_key: int = MAX_WRITES_PER_KEY_DEFAULT

    def net_config(self) -> NetConfig:
        """The network knobs; a rate given for a nemesis fault applies only while it is active."""
        loss = 0.0 if "loss" in self.nemesis else (self.loss_rate or 0.0)
        dup = 0.0 if "duplicate" in self.nemesis else (self.duplicate_rate or 0.0)
        return NetConfig(self.latency_ms, self.latency_dist, loss, dup)  # type: ignore[arg-type]

    def workload_opts(self, checker_clock: Callable[[], float] | None = None) -> WorkloadOpts:
        """What the workload sees; `checker_clock` is the driver's (for the checker's time limit)."""
        nodes = self.nodes
        return WorkloadOpts(nodes=nodes, concurrency=parse_concurrency(self.concurrency, len(nodes)),
                            latency_ms=self.latency_ms, topology=self.topology,
                            key_count=self.key_count,
                            checker_time_limit_s=self.checker_time_limit_s,
                            checker_clock=checker_clock, semantics=self.semantics,
                            consistency_models=tuple(self.consistency_models),
                            max_txn_length=self.max_txn_length,
                            max_writes_per_key=self.max_writes_per_key)


@dataclass
class RunResult:
    """What a run produced."""

    exit_code: int
    valid: Any
    results: dict[str, Any] | None
    store_path: str | None
    crash: str | None = None
    summary: str = ""
    diagnoses: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class RunRngs:
    """The random sources of the harness's pure objects, one per concern."""

    net: random.Random
    generator: random.Random
    nemesis: random.Random
    services: random.Random


def derive_rng(seed: int, purpose: str) -> random.Random:
    """An independent RNG per concern, derived from the run seed (``gyre test``'s way)."""
    return random.Random(f"{seed}/{purpose}")


def test_rngs(seed: int) -> RunRngs:
    """The RNGs of a ``gyre test`` run."""
    return RunRngs(*(derive_rng(seed, p) for p in ("net", "generator", "nemesis", "services")))


class ClientSlot:
    """A client session plus the id of the reply it waits for (None: none)."""

    __slots__ = ("session", "expect", "reply", "done")

    def __init__(self, session: ClientSession) -> None:
        self.session = session
        self.expect: int | None = None
        self.reply: Message | None = None
        # the op's completion once known (see `Harness.advance_op`)
        self.done: Completion | None = None

    @property
    def id(self) -> str:
        return self.session.id


def show(text: str) -> str:
    """A line cut to `LINE_SHOW_MAX` characters for the console."""
    return text if len(text) <= LINE_SHOW_MAX else text[:LINE_SHOW_MAX] + "…"


def body_text(msg: Message) -> str:
    return show(orjson.dumps(msg.body).decode())


class Harness:
    """One run's state and rules (see module doc).

    Args:
        cfg: The options.
        rngs: The random sources.
        console: Where progress and diagnoses go.
        verb: How the banner names the command (``gyre test`` or ``gyre sim``).
    """

    def __init__(self, cfg: TestConfig, rngs: RunRngs, console: IO[str], verb: str = "gyre test",
                 before_say: Callable[[], None] | None = None,
                 checker_clock: Callable[[], float] | None = None) -> None:
        self.cfg = cfg
        self.console = console
        self.verb = verb
        self.before_say = before_say
        self.nodes = list(cfg.nodes)
        # The checkers' clock is the driver's: a pure module reads none.
        self.workload: Workload = get_workload(cfg.workload, cfg.workload_opts(checker_clock))
        self.concurrency = self.workload.opts.concurrency
        self.store = RunStore(cfg.store_root, cfg.workload)
        self.rngs = rngs
        # Straight to the store unless messages are also printed (one call less per event).
        journal = self._journal if (cfg.log_net_send or cfg.log_net_recv) else self.store.message_line
        self.net = NetModel(cfg.net_config(), rngs.net, self.nodes, journal)
        self.services: dict[str, Service] = make_services()
        for sid in self.services:
            self.net.register(sid)
        self.history = History(source="history")
        self.clients: dict[str, ClientSlot] = {}
        self.closed_clients: set[str] = set()
        self.thread_clients: dict[int, ClientSlot] = {}
        self.next_client = 0
        self.diagnoses: list[str] = []
        self.crash_reason: str | None = None
        self.phase = "starting"
        self.counts = {"ok": 0, "fail": 0, "info": 0}
        self.now_ms = 0.0  # the time of the latest call, for logs
        # verdicts a driver adds beside the checkers' (the simulator's liveness phase)
        self.extra_results: dict[str, Any] = {}

    # -- logging ------------------------------------------------------------------------

    def say(self, text: str) -> None:
        """A line on the console and in harness.log."""
        if self.before_say is not None:
            self.before_say()
        print(text, file=self.console, flush=True)
        self.store.log(f"{self.now_ms / 1000:9.3f} {text}")

    def log(self, text: str) -> None:
        """A line in harness.log only."""
        self.store.log(f"{self.now_ms / 1000:9.3f} {text}")

    def diagnose(self, text: str) -> None:
        self.diagnoses.append(text)
        self.say(f"WARN {text}")

    def crash(self, reason: str) -> None:
        """Record why the run cannot go on (the first reason wins)."""
        if self.crash_reason is None:
            self.crash_reason = reason

    def _journal(self, line: bytes) -> None:
        self.store.message_line(line)
        event = orjson.loads(line)
        kind = event["event"]
        if (kind == "send" and self.cfg.log_net_send) or (kind == "recv" and self.cfg.log_net_recv):
            body = orjson.dumps(event["body"]).decode()
            self.say(f"{kind} {event['src']} -> {event['dest']} #{event['id']} {body}")

    def banner(self) -> str:
        c = self.cfg
        return (f"{self.verb} -w {c.workload} --seed {c.seed}: {len(self.nodes)} nodes "
                f"{','.join(self.nodes)}, concurrency {self.concurrency}, rate {c.rate:g}/s, "
                f"time limit {c.time_limit_s:g} s, latency {c.latency_ms:g} ms {c.latency_dist}, "
                f"nemesis {','.join(c.nemesis) or 'none'}; store {self.store.path}")

    def progress_text(self) -> str:
        c = self.counts
        cut = " partitioned" if self.net.grudge else ""
        return (f"[{self.now_ms / 1000:6.1f}s] {self.phase}: {sum(c.values())} ops "
                f"({c['ok']} ok, {c['fail']} fail, {c['info']} info), "
                f"{self.net.stats['all'].send_count} msgs{cut}")

    # -- the network ----------------------------------------------------------------------

    def send(self, msg: Message, origin: str, now_ms: float, wire: bytes | None = None) -> bool:
        """Put a message on the network; diagnose an unknown src/dest. Returns success.

        ``wire`` is the message's JSON line when the caller has it (see `NetModel.send`).
        """
        self.now_ms = now_ms
        try:
            self.net.send(msg, now_ms, wire)
        except KeyError as exc:
            hint = ""
            if is_client(msg.dest) and msg.dest in self.closed_clients:
                hint = (f" ({msg.dest} was closed after a timeout or crash and reopened under a new "
                        f"id: this is a late reply, which Maelstrom would choke on)")
            self.diagnose(f"{origin}: dropped a message with {exc.args[0]}{hint}: {body_text(msg)}")
            return False
        return True

    def route(self, env: Envelope, now_ms: float) -> ClientSlot | None:
        """Deliver a message that is not for a node.

        A service answers at once (its reply goes on the network). A client
        keeps the reply it waits for and the slot is returned, so the driver
        can wake whoever waits; anything else for a client is logged and
        dropped. Messages for nodes are the driver's: returns None.
        """
        self.now_ms = now_ms
        dest = env.msg.dest
        service = self.services.get(dest)
        if service is not None:
            reply = service.handle(env.msg, self.rngs.services)
            if reply is not None:
                self.send(reply, f"service {dest}", now_ms)
            return None
        c = self.clients.get(dest)
        if c is None:
            return None
        if c.expect is not None and env.msg.in_reply_to == c.expect:
            c.expect = None
            c.reply = env.msg
            return c
        self.log(f"{dest} dropped an unexpected or late message: {body_text(env.msg)}")
        return None

    # -- clients -------------------------------------------------------------------------

    def open_client(self) -> ClientSlot:
        cid = f"c{self.next_client}"
        self.next_client += 1
        c = ClientSlot(ClientSession(cid, self.workload))
        self.clients[cid] = c
        self.net.register(cid)
        return c

    def close_client(self, c: ClientSlot) -> None:
        self.clients.pop(c.id, None)
        self.net.unregister(c.id)
        self.closed_clients.add(c.id)

    def call(self, c: ClientSlot, msg: Message, now_ms: float) -> bool:
        """Send a client's request and mark its reply as awaited; False if it could not go."""
        assert msg.msg_id is not None
        c.expect, c.reply = msg.msg_id, None
        if not self.send(msg, f"client {c.id}", now_ms):
            c.expect = None
            return False
        return True

    def init_request(self, node_id: str, c: ClientSlot) -> Message:
        _, msg = c.session.raw_request(node_id, {"type": "init", "node_id": node_id,
                                                 "node_ids": list(self.nodes)})
        return msg

    def init_done(self, node_id: str, c: ClientSlot) -> None:
        """After the init call returned or timed out: close the client, crash on no ``init_ok``."""
        reply = c.reply
        c.expect = None
        self.close_client(c)
        if reply is None:
            self.crash(f"init-failed: {node_id} did not answer init within "
                       f"{self.cfg.init_timeout_s:g} s (it must reply "
                       f'{{"type": "init_ok", "in_reply_to": 1}} on stdout)')
        elif reply.type != "init_ok":
            self.crash(f"init-failed: {node_id} answered init with {body_text(reply)}, "
                       f"expected type init_ok")

    def setup_done(self, node_id: str, c: ClientSlot, body: dict[str, Any], schema: Any) -> None:
        """After a setup call (Maelstrom keeps setup clients open to the end)."""
        reply = c.reply
        c.expect = None
        if reply is None:
            from maelstrom.workloads import SETUP_TIMEOUT_MS

            self.crash(f"setup failed: {node_id} did not answer {body['type']} within "
                       f"{SETUP_TIMEOUT_MS / 1000:g} s")
            return
        try:
            schema.validate(reply.body)
        except ValueError as exc:
            self.crash(f"setup failed: {node_id} answered {body['type']} badly: {exc}")

    # -- operations ------------------------------------------------------------------------

    def scheduler(self, now_ms: float) -> Scheduler:
        """The main phase's scheduler, starting now."""
        return Scheduler(self.workload.generator(self.rngs.generator), self.nodes,
                         self.concurrency, self.cfg.rate, self.cfg.time_limit_s,
                         self.rngs.generator, start_ms=now_ms)

    def nemesis_schedule(self) -> NemesisSchedule | None:
        cfg = self.cfg
        if not cfg.nemesis:
            return None
        return NemesisSchedule(
            cfg.nemesis, cfg.nemesis_interval_s, self.rngs.nemesis,
            loss_rate=cfg.loss_rate if cfg.loss_rate is not None else FLAKY_RATE_DEFAULT,
            duplicate_rate=(cfg.duplicate_rate if cfg.duplicate_rate is not None
                            else FLAKY_RATE_DEFAULT))

    def start_op(self, inv: Invocation, now_ms: float) -> tuple[ClientSlot, bool]:
        """Record the invoke and send the request from the thread's client.

        Returns:
            The client and whether the request went out (if not, the driver
            completes the op as a timeout at once).
        """
        self.now_ms = now_ms
        c = self.thread_clients.get(inv.thread)
        if c is None:
            c = self.thread_clients[inv.thread] = self.open_client()
        op = inv.op
        extra = {"final": True} if op.final else {}
        self.history.invoke(time=_ns(now_ms), process=inv.process, f=op.f, key=op.key,
                            value=op.value, **extra)
        step = c.session.begin(inv.node, op)
        if isinstance(step, Completion):  # answered with no RPC (kafka's crash)
            c.done = step
            return c, False
        return c, self.call(c, step, now_ms)

    def advance_op(self, c: ClientSlot, now_ms: float) -> bool:
        """After a wait for ``c``'s reply: send the op's next request if it needs another
        RPC (kafka's poll, then commit_offsets) and return True (wait again); otherwise keep
        the completion for `end_op` and return False."""
        self.now_ms = now_ms
        if c.done is not None:
            return False
        reply, c.reply, c.expect = c.reply, None, None
        step = c.session.on_reply(reply) if reply is not None else None
        if isinstance(step, Message):
            if self.call(c, step, now_ms):
                return True
            step = None
        c.done = step if step is not None else c.session.on_timeout()
        return False

    def end_op(self, sched: Scheduler, inv: Invocation, c: ClientSlot, now_ms: float) -> Completion:
        """The op's completion: kept by `advance_op`, else the reply (``c.reply``) or its
        absence (a timeout)."""
        self.now_ms = now_ms
        if c.done is None:
            self.advance_op(c, now_ms)
            if c.done is None:  # it wanted another RPC the driver did not wait for
                c.expect = None
                c.done = c.session.on_timeout()
        comp, c.done = c.done, None
        extra = {"final": True} if inv.op.final else {}
        self.history.complete(time=_ns(now_ms), process=inv.process, type=comp.type,  # type: ignore[arg-type]
                              value=comp.value, error=comp.error, **{**extra, **comp.extra})
        self.counts[comp.type] += 1
        sched.complete(inv.thread, comp.type, inv.op, comp)
        if comp.type == "info" and not self.workload.reusable:
            self.close_client(c)
            del self.thread_clients[inv.thread]
        return comp

    def nemesis_op(self, op: NemesisOp, now_ms: float,
                   apply: Callable[[NemesisOp], Any] | None = None) -> None:
        """Record and perform one nemesis op (``apply``: a driver's own op, e.g. a node crash)."""
        self.now_ms = now_ms
        self.history.invoke(time=_ns(now_ms), process="nemesis", f=op.f, value=op.value)
        value = apply(op) if apply is not None else apply_op(self.net, op, self.nodes, self.rngs.nemesis)
        self.history.complete(time=_ns(now_ms), process="nemesis", type="info", value=value)
        self.log(f"nemesis {op.f} {op.value!r} -> {value!r}")

    # -- checking ---------------------------------------------------------------------------

    def check(self) -> dict[str, Any]:
        """Run every checker over the history (a checker that raises gives "unknown")."""
        h = self.history
        invokes = sum(1 for e in h if e.type == "invoke" and isinstance(e.process, int))
        results: dict[str, Any] = {}
        for name, fn in (("workload", lambda: self.workload.check(h)),
                         ("stats", lambda: stats_checker(h)),
                         ("availability", lambda: availability_checker(h, self.cfg.availability)),
                         ("net", lambda: self.net.stats_dict(invokes)),
                         ("exceptions", lambda: exceptions_checker(h)),
                         ("perf", lambda: perf_checker(h))):
            try:
                results[name] = fn()
            except Exception as exc:  # noqa: BLE001 - Jepsen check-safe: report, do not crash
                results[name] = {"valid": "unknown", "error": f"{type(exc).__name__}: {exc}"}
        results.update(self.extra_results)
        results["valid"] = merge_valid(r["valid"] for r in results.values())
        return results

    def finish(self, now_ms: float, extra_config: dict[str, Any] | None = None,
               report: bool = True) -> RunResult:
        """Check the history and write the store (history, test.json, results.json, report)."""
        self.now_ms = now_ms
        self.store.write_history(self.history)
        self.store.write_json("test.json", {**config_dict(self.cfg), **(extra_config or {}),
                                            "nodes": self.nodes,
                                            "concurrency-threads": self.concurrency})
        if self.crash_reason is not None:
            self.say(f"CRASH {self.crash_reason}")
            self.store.close()
            return RunResult(EXIT_CRASH, None, None, str(self.store.path), self.crash_reason,
                             summary=self.summary(None, now_ms), diagnoses=self.diagnoses)
        results = self.check()
        results["diagnoses"] = self.diagnoses
        self.store.write_json("results.json", results)
        if report:
            self.store.flush()
            problem = self.write_report(results, now_ms)
            if problem is not None:
                self.diagnose(problem)
        self.store.close()
        v = results["valid"]
        code = EXIT_VALID if v is True else EXIT_INVALID if v is False else EXIT_UNKNOWN
        return RunResult(code, v, results, str(self.store.path),
                         summary=self.summary(results, now_ms), diagnoses=self.diagnoses)

    def write_report(self, results: dict[str, Any], now_ms: float) -> str | None:
        """Render ``report.html`` (also after `finish`); returns why it failed, or None."""
        from maelstrom.report import render_report

        try:
            html = render_report(self.cfg.workload, self.history,
                                 iter_messages(self.store.path / MESSAGES_FILE), results,
                                 now_ms, self.nodes)
            self.store.write_text("report.html", html)
        except Exception as exc:  # noqa: BLE001 - a broken report must not hide the verdict
            return f"could not render report.html: {type(exc).__name__}: {exc}"
        return None

    def summary(self, results: dict[str, Any] | None, now_ms: float) -> str:
        c = self.cfg
        ops = sum(self.counts.values())
        msgs = self.net.stats["all"]
        head = (f"{c.workload} on {len(self.nodes)} nodes with seed {c.seed}: {ops} ops "
                f"({self.counts['ok']} ok, {self.counts['fail']} fail, {self.counts['info']} info) "
                f"and {msgs.msg_count} messages in {now_ms / 1000:.1f} s")
        if results is None:
            first = self.crash_reason.splitlines()[0] if self.crash_reason else "unknown reason"
            return (f"{head}. The run CRASHED, so nothing was checked: {first} "
                    f"The history so far is in {self.store.path}.")
        v = results["valid"]
        verdict = {True: "Everything looks good! ヽ(‘ー`)ノ",
                   False: "Analysis invalid! (ﾉಥ益ಥ）ﾉ ┻━┻"}.get(v, "Errors occurred during analysis, "
                                                                "but no anomalies found. ಠ~ಠ")
        bad = not_valid(results)
        why = f" Not valid: {', '.join(bad)}." if bad else ""
        diag = f" {len(self.diagnoses)} harness warning(s), see harness.log." if self.diagnoses else ""
        lines = [f"{head}. {verdict}{why}{diag}"]
        lines.extend(f"  {line}" for line in explain(c.workload, results))
        lines.append(f"Report: {self.store.path / 'report.html'} (results.json beside it); "
                     f"repro: --seed {c.seed}.")
        return "\n".join(lines)


def _ns(now_ms: float) -> int:
    return max(0, int(now_ms * 1e6))


def config_dict(cfg: TestConfig) -> dict[str, Any]:
    return {k.replace("_", "-"): v for k, v in asdict(cfg).items()}
