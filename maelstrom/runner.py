"""The trio driver of ``gyre test``: real node processes, the simulated network, clients.

Strategy: everything that decides anything lives in pure objects the
simulator can reuse (`NetModel`, `NemesisSchedule`, `Scheduler`, the
workload's `ClientSession`s and checkers, the services). This module only
moves bytes and waits:

- one process per node (argv = ``--bin`` + extra args), one JSON line per
  message on stdin/stdout, stderr to ``node-logs/<id>.log``;
- a stdout reader per node feeds `NetModel.send`; bad lines (non-JSON,
  schema violations, unknown src/dest) are logged with a diagnosis and
  dropped (Maelstrom would stop reading that node);
- one delivery task sleeps until `NetModel.next_deadline_ms` and hands each
  due message to a node's writer task, a client, or a service;
- ``init`` to every node (10 s), the workload's setup RPCs (5 s), the main
  phase (scheduler + nemesis), then for workloads with a final phase: heal,
  recovery wait, one final op per thread;
- a node that exits during the run ends it at once: exit 255 with its last
  stdout and stderr lines (the history so far is still saved);
- each node runs in its own session; teardown ends its whole process group
  with SIGKILL, so children a node forked die with it, even after the node
  itself has exited or when it ignores stdin;
- a live progress line on stderr.

Time is ``trio.current_time()`` relative to the start; the pure objects get
it as ``now_ms``. All randomness comes from RNGs derived from the seed.
"""

from __future__ import annotations

import math
import os
import random
import signal
import sys
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import IO, Any, Final

import orjson
import trio

from maelstrom.generator import Invocation, Scheduler, parse_concurrency
from maelstrom.history import History
from maelstrom.nemesis import FLAKY_RATE_DEFAULT, NemesisOp, NemesisSchedule, apply_op
from maelstrom.net import Envelope, NetConfig, NetModel, is_client
from maelstrom.node_names import DEFAULT_NODES
from maelstrom.services import Service, make_services
from maelstrom.store import MESSAGES_FILE, RunStore, iter_messages
from maelstrom.verdict import explain, not_valid
from maelstrom.workloads import (INIT_TIMEOUT_MS, SETUP_TIMEOUT_MS, ClientSession, Completion,
                                 Workload, WorkloadOpts, get_workload)
from maelstrom.workloads.common import (availability_checker, exceptions_checker, merge_valid,
                                        perf_checker, stats_checker)
from protocol.maelstrom_json import MalformedMessage, Message, decode_line

RECOVERY_WAIT_S_DEFAULT: Final[float] = 10.0
INIT_TIMEOUT_S_DEFAULT: Final[float] = INIT_TIMEOUT_MS / 1000
LAST_LINES_MAX: Final[int] = 32
LINE_SHOW_MAX: Final[int] = 300
PROGRESS_TTY_INTERVAL_S: Final[float] = 0.5
PROGRESS_PLAIN_INTERVAL_S: Final[float] = 5.0
KILL_WAIT_S: Final[float] = 5.0
#: After a node exits, how long to wait for its last output.
DRAIN_WAIT_S: Final[float] = 1.0
#: Lines are read in chunks of this many bytes.
READ_CHUNK_BYTES: Final[int] = 65536
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

    def net_config(self) -> NetConfig:
        """The network knobs; a rate given for a nemesis fault applies only while it is active."""
        loss = 0.0 if "loss" in self.nemesis else (self.loss_rate or 0.0)
        dup = 0.0 if "duplicate" in self.nemesis else (self.duplicate_rate or 0.0)
        return NetConfig(self.latency_ms, self.latency_dist, loss, dup)  # type: ignore[arg-type]

    def workload_opts(self) -> WorkloadOpts:
        """What the workload sees."""
        nodes = self.nodes
        return WorkloadOpts(nodes=nodes, concurrency=parse_concurrency(self.concurrency, len(nodes)),
                            latency_ms=self.latency_ms, topology=self.topology,
                            key_count=self.key_count,
                            checker_time_limit_s=self.checker_time_limit_s,
                            semantics=self.semantics)


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


def derive_rng(seed: int, purpose: str) -> random.Random:
    """An independent RNG per concern, derived from the run seed."""
    return random.Random(f"{seed}/{purpose}")


class _NodeProc:
    def __init__(self, node_id: str, proc: trio.Process) -> None:
        self.id = node_id
        self.proc = proc
        self.send_ch, self.recv_ch = trio.open_memory_channel[bytes](math.inf)
        self.last_stdout: deque[str] = deque(maxlen=LAST_LINES_MAX)
        self.last_stderr: deque[str] = deque(maxlen=LAST_LINES_MAX)
        self.stdout_done = trio.Event()
        self.stderr_done = trio.Event()


class _Client:
    def __init__(self, session: ClientSession) -> None:
        self.session = session
        self.expect: int | None = None
        self.reply: Message | None = None
        self.event = trio.Event()


class Runner:
    """One test run.

    Args:
        cfg: The options.
        console: Where progress and diagnoses go (stderr).
    """

    def __init__(self, cfg: TestConfig, console: IO[str] | None = None) -> None:
        self.cfg = cfg
        self.console = console if console is not None else sys.stderr
        self.nodes = list(cfg.nodes)
        self.workload: Workload = get_workload(cfg.workload, cfg.workload_opts())
        self.concurrency = self.workload.opts.concurrency
        self.store = RunStore(cfg.store_root, cfg.workload)
        self.net = NetModel(cfg.net_config(), derive_rng(cfg.seed, "net"), self.nodes, self._journal)
        self.gen_rng = derive_rng(cfg.seed, "generator")
        self.nemesis_rng = derive_rng(cfg.seed, "nemesis")
        self.service_rng = derive_rng(cfg.seed, "services")
        self.services: dict[str, Service] = make_services()
        self.history = History(source="history")
        self.procs: dict[str, _NodeProc] = {}
        self.clients: dict[str, _Client] = {}
        self._closed_clients: set[str] = set()
        self.thread_clients: dict[int, _Client] = {}
        self.next_client = 0
        self.diagnoses: list[str] = []
        self.crash_reason: str | None = None
        self.phase = "starting"
        self.t0 = 0.0
        self._net_wake = trio.Event()
        self._sched_wake = trio.Event()
        self._stopping = False
        self._counts = {"ok": 0, "fail": 0, "info": 0}
        self._is_tty = bool(getattr(self.console, "isatty", lambda: False)())
        self._progress_shown = False

    # -- clock, logging ----------------------------------------------------------------

    def now_ms(self) -> float:
        return (trio.current_time() - self.t0) * 1000.0

    def _now_ns(self) -> int:
        return max(0, int(self.now_ms() * 1e6))

    def say(self, text: str) -> None:
        """A line on the console (after clearing the progress line) and in harness.log."""
        self._clear_progress()
        print(text, file=self.console, flush=True)
        self.store.log(f"{self.now_ms() / 1000:9.3f} {text}")

    def diagnose(self, text: str) -> None:
        self.diagnoses.append(text)
        self.say(f"WARN {text}")

    def _journal(self, event: dict[str, Any]) -> None:
        ns = int(event.pop("time_ms") * 1e6)
        event = {"time": ns, **event}
        self.store.message(event)
        kind = event["event"]
        if (kind == "send" and self.cfg.log_net_send) or (kind == "recv" and self.cfg.log_net_recv):
            body = orjson.dumps(event["body"]).decode()
            self.say(f"{kind} {event['src']} -> {event['dest']} #{event['id']} {body}")

    # -- progress ------------------------------------------------------------------------

    def _progress_text(self) -> str:
        c = self._counts
        cut = " partitioned" if self.net.grudge else ""
        return (f"[{self.now_ms() / 1000:6.1f}s] {self.phase}: {sum(c.values())} ops "
                f"({c['ok']} ok, {c['fail']} fail, {c['info']} info), "
                f"{self.net.stats['all'].send_count} msgs{cut}")

    def _clear_progress(self) -> None:
        if self._is_tty and self._progress_shown:
            self.console.write("\r\x1b[2K")
            self._progress_shown = False

    async def _progress_loop(self) -> None:
        interval = PROGRESS_TTY_INTERVAL_S if self._is_tty else PROGRESS_PLAIN_INTERVAL_S
        while True:
            await trio.sleep(interval)
            if self._is_tty:
                self.console.write("\r\x1b[2K" + self._progress_text())
                self.console.flush()
                self._progress_shown = True
            else:
                print(self._progress_text(), file=self.console, flush=True)

    # -- network plumbing -------------------------------------------------------------------

    def send(self, msg: Message, origin: str) -> bool:
        """Put a message on the network; diagnose an unknown src/dest. Returns success."""
        try:
            self.net.send(msg, self.now_ms())
        except KeyError as exc:
            hint = ""
            if is_client(msg.dest) and msg.dest in self._closed_clients:
                hint = (f" ({msg.dest} was closed after a timeout or crash and reopened under a new "
                        f"id: this is a late reply, which Maelstrom would choke on)")
            self.diagnose(f"{origin}: dropped a message with {exc.args[0]}{hint}: "
                          f"{_show(orjson.dumps(msg.body).decode())}")
            return False
        self._net_wake.set()
        return True

    async def _delivery_loop(self) -> None:
        while True:
            self._net_wake = trio.Event()
            deadline = self.net.next_deadline_ms()
            if deadline is None:
                await self._net_wake.wait()
            else:
                with trio.move_on_at(self.t0 + deadline / 1000.0):
                    await self._net_wake.wait()
            for env in self.net.deliver_due(self.now_ms()):
                self._dispatch(env)

    def _dispatch(self, env: Envelope) -> None:
        dest = env.msg.dest
        if dest in self.procs:
            self.procs[dest].send_ch.send_nowait(orjson.dumps(env.wire()) + b"\n")
        elif dest in self.services:
            reply = self.services[dest].handle(env.msg, self.service_rng)
            if reply is not None:
                self.send(reply, f"service {dest}")
        elif dest in self.clients:
            c = self.clients[dest]
            if c.expect is not None and env.msg.in_reply_to == c.expect:
                c.expect = None
                c.reply = env.msg
                c.event.set()
            else:
                self.store.log(f"{self.now_ms() / 1000:9.3f} {dest} dropped an unexpected or "
                               f"late message: {_show(orjson.dumps(env.msg.body).decode())}")

    # -- node processes ---------------------------------------------------------------------

    async def _spawn(self, nursery: trio.Nursery) -> None:
        import subprocess

        argv = [self.cfg.bin, *self.cfg.bin_args]
        for node_id in self.nodes:
            try:
                # Its own session, so its process group (children it forks included) can be
                # ended as one at teardown, even after the node itself has exited.
                proc = await trio.lowlevel.open_process(
                    argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                    cwd=self.cfg.node_cwd, start_new_session=True)
            except OSError as exc:
                self._crash(f"cannot start {' '.join(argv)!r} for {node_id}: {exc}")
                return
            p = _NodeProc(node_id, proc)
            self.procs[node_id] = p
            self.net.register(node_id)
            nursery.start_soon(self._stdout_reader, p)
            nursery.start_soon(self._stderr_reader, p)
            nursery.start_soon(self._stdin_writer, p)
            nursery.start_soon(self._exit_watcher, p)

    async def _lines(self, stream: Any) -> Any:
        buf = b""
        while True:
            chunk = await stream.receive_some(READ_CHUNK_BYTES)
            if not chunk:
                if buf:
                    yield buf
                return
            buf += chunk
            *lines, buf = buf.split(b"\n")
            for line in lines:
                yield line

    async def _stdout_reader(self, p: _NodeProc) -> None:
        choked = False
        async for line in self._lines(p.proc.stdout):
            text = line.decode("utf-8", "replace")
            p.last_stdout.append(text)
            if choked or not line.strip():
                continue  # faithful mode: drained so the node never blocks, but never delivered
            try:
                msg = decode_line(line)
            except MalformedMessage as exc:
                self.diagnose(f"{p.id} printed a line on stdout that is not a Maelstrom message "
                              f"({exc.text}); stdout carries protocol messages only, logs go to "
                              f"stderr: {_show(text)}")
                choked = self._choke(p)
                continue
            if not self.send(msg, f"{p.id} stdout"):
                choked = self._choke(p)
        p.stdout_done.set()

    def _choke(self, p: _NodeProc) -> bool:
        """With --faithful-stdout, stop taking this node's messages, as Maelstrom's reader does."""
        if self.cfg.faithful_stdout:
            self.diagnose(f"{p.id}: its stdout is no longer read (--faithful-stdout: Maelstrom's "
                          f"reader stops at the first bad line)")
        return self.cfg.faithful_stdout

    async def _stderr_reader(self, p: _NodeProc) -> None:
        async for line in self._lines(p.proc.stderr):
            self.store.node_log(p.id, line)
            text = line.decode("utf-8", "replace")
            p.last_stderr.append(text)
            if self.cfg.log_stderr:
                self.say(f"{p.id} | {text}")
        p.stderr_done.set()

    async def _stdin_writer(self, p: _NodeProc) -> None:
        assert p.proc.stdin is not None
        async for data in p.recv_ch:
            try:
                await p.proc.stdin.send_all(data)
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                return  # the exit watcher reports the death

    async def _exit_watcher(self, p: _NodeProc) -> None:
        code = await p.proc.wait()
        if self._stopping:
            return
        with trio.move_on_after(DRAIN_WAIT_S):  # let the readers reach EOF first
            await p.stdout_done.wait()
            await p.stderr_done.wait()
        lines = "\n".join(["  stdout: " + s for s in p.last_stdout] +
                          ["  stderr: " + s for s in p.last_stderr])
        self._crash(f"node-crashed: node {p.id} exited with status {code} during the {self.phase} "
                    f"phase (nodes must keep running until killed).\nIts last output:\n"
                    f"{lines or '  (none)'}")

    def _crash(self, reason: str) -> None:
        if self.crash_reason is None:
            self.crash_reason = reason
        self._main_scope.cancel()

    # -- clients --------------------------------------------------------------------------------

    def _open_client(self) -> _Client:
        cid = f"c{self.next_client}"
        self.next_client += 1
        c = _Client(ClientSession(cid, self.workload))
        self.clients[cid] = c
        self.net.register(cid)
        return c

    def _close_client(self, c: _Client) -> None:
        self.clients.pop(c.session.id, None)
        self.net.unregister(c.session.id)
        self._closed_clients.add(c.session.id)

    async def _call(self, c: _Client, msg: Message, timeout_ms: float) -> Message | None:
        """Send a request and wait for its reply; None on timeout."""
        assert msg.msg_id is not None
        c.expect, c.reply, c.event = msg.msg_id, None, trio.Event()
        if not self.send(msg, f"client {c.session.id}"):
            c.expect = None
            return None
        with trio.move_on_after(timeout_ms / 1000.0):
            await c.event.wait()
        c.expect = None
        return c.reply

    async def _init_node(self, node_id: str, c: _Client) -> None:
        _, msg = c.session.raw_request(node_id, {"type": "init", "node_id": node_id,
                                                 "node_ids": list(self.nodes)})
        reply = await self._call(c, msg, self.cfg.init_timeout_s * 1000)
        self._close_client(c)
        if reply is None:
            self._crash(f"init-failed: {node_id} did not answer init within "
                        f"{self.cfg.init_timeout_s:g} s (it must reply "
                        f'{{"type": "init_ok", "in_reply_to": 1}} on stdout)')
        elif reply.type != "init_ok":
            self._crash(f"init-failed: {node_id} answered init with "
                        f"{_show(orjson.dumps(reply.body).decode())}, expected type init_ok")

    async def _setup_node(self, node_id: str, c: _Client, body: dict[str, Any], schema: Any) -> None:
        # Maelstrom keeps setup clients open to the end.
        _, msg = c.session.raw_request(node_id, body)
        reply = await self._call(c, msg, SETUP_TIMEOUT_MS)
        if reply is None:
            self._crash(f"setup failed: {node_id} did not answer {body['type']} within "
                        f"{SETUP_TIMEOUT_MS / 1000:g} s")
            return
        try:
            schema.validate(reply.body)
        except ValueError as exc:
            self._crash(f"setup failed: {node_id} answered {body['type']} badly: {exc}")

    # -- operations -------------------------------------------------------------------------------

    async def _run_op(self, sched: Scheduler, inv: Invocation) -> None:
        c = self.thread_clients.get(inv.thread)
        if c is None:
            c = self.thread_clients[inv.thread] = self._open_client()
        op = inv.op
        extra = {"final": True} if op.final else {}
        self.history.invoke(time=self._now_ns(), process=inv.process, f=op.f, key=op.key,
                            value=op.value, **extra)
        msg = c.session.request(inv.node, op)
        reply = await self._call(c, msg, self.workload.rpc_timeout_ms())
        comp: Completion | None = c.session.on_message(reply) if reply is not None else None
        if comp is None:
            comp = c.session.on_timeout()
        self.history.complete(time=self._now_ns(), process=inv.process, type=comp.type,  # type: ignore[arg-type]
                              value=comp.value, error=comp.error, **{**extra, **comp.extra})
        self._counts[comp.type] += 1
        sched.complete(inv.thread, comp.type)
        if comp.type == "info" and not self.workload.reusable:
            self._close_client(c)
            del self.thread_clients[inv.thread]
        self._sched_wake.set()

    async def _main_phase(self, sched: Scheduler) -> None:
        async with trio.open_nursery() as ops:
            while True:
                now = self.now_ms()
                inv = sched.poll(now)
                if inv is not None:
                    ops.start_soon(self._run_op, sched, inv)
                    continue
                if sched.done(now):
                    return
                wake = sched.wake_ms(now)
                self._sched_wake = trio.Event()
                deadline = self.t0 + wake / 1000.0 if wake is not None else math.inf
                with trio.move_on_at(deadline):
                    await self._sched_wake.wait()

    def _nemesis_op(self, op: NemesisOp) -> None:
        t = self._now_ns()
        self.history.invoke(time=t, process="nemesis", f=op.f, value=op.value)
        value = apply_op(self.net, op, self.nodes, self.nemesis_rng)
        self.history.complete(time=self._now_ns(), process="nemesis", type="info", value=value)
        self.store.log(f"{self.now_ms() / 1000:9.3f} nemesis {op.f} {op.value!r} -> {value!r}")

    async def _nemesis_loop(self, sched: NemesisSchedule) -> None:
        while True:
            for op in sched.due(self.now_ms()):
                self._nemesis_op(op)
            nxt = sched.next_time_ms()
            if nxt is None:
                return
            await trio.sleep_until(self.t0 + nxt / 1000.0)

    async def _final_phase(self, sched: Scheduler, nemesis: NemesisSchedule | None) -> None:
        self.phase = "healing"
        if nemesis is not None:
            for op in nemesis.heal_ops():
                self._nemesis_op(op)
        self.phase = "recovery"
        self.say(f"Waiting for recovery... ({self.cfg.recovery_wait_s:g} s)")
        await trio.sleep(self.cfg.recovery_wait_s)
        final = self.workload.final_generator()
        assert final is not None
        self.phase = "final"
        async with trio.open_nursery() as ops:
            for inv in sched.final_invocations(final, self.now_ms()):
                ops.start_soon(self._run_op, sched, inv)

    # -- the run ---------------------------------------------------------------------------------

    async def _run(self) -> None:
        cfg = self.cfg
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._delivery_loop)
            nursery.start_soon(self._progress_loop)
            for sid in self.services:
                self.net.register(sid)
            await self._spawn(nursery)
            self.phase = "init"
            # Clients are opened here, in node order, not inside the tasks: trio
            # starts tasks in no fixed order, and ids must not depend on it.
            async with trio.open_nursery() as inits:
                for n in self.nodes:
                    inits.start_soon(self._init_node, n, self._open_client())
            setups = self.workload.setup_requests()
            if setups:
                self.phase = "setup"
                async with trio.open_nursery() as s:
                    for n in self.nodes:
                        if n in setups:
                            s.start_soon(self._setup_node, n, self._open_client(), *setups[n])
            self.phase = "main"
            sched = Scheduler(self.workload.generator(self.gen_rng), self.nodes, self.concurrency,
                              cfg.rate, cfg.time_limit_s, self.gen_rng, start_ms=self.now_ms())
            nemesis = None
            if cfg.nemesis:
                nemesis = NemesisSchedule(
                    cfg.nemesis, cfg.nemesis_interval_s, self.nemesis_rng,
                    loss_rate=cfg.loss_rate if cfg.loss_rate is not None else FLAKY_RATE_DEFAULT,
                    duplicate_rate=(cfg.duplicate_rate if cfg.duplicate_rate is not None
                                    else FLAKY_RATE_DEFAULT))
            async with trio.open_nursery() as main:
                if nemesis is not None:
                    main.start_soon(self._nemesis_loop, nemesis)
                await self._main_phase(sched)
                main.cancel_scope.cancel()
            if self.workload.has_final:
                await self._final_phase(sched, nemesis)
            self.phase = "done"
            nursery.cancel_scope.cancel()

    async def run(self) -> RunResult:
        """Run the test, check it and write the store; never raises for node misbehaviour."""
        self.t0 = trio.current_time()
        c = self.cfg
        self.say(f"gyre test -w {c.workload} --seed {c.seed}: {len(self.nodes)} nodes "
                 f"{','.join(self.nodes)}, concurrency {self.concurrency}, rate {c.rate:g}/s, "
                 f"time limit {c.time_limit_s:g} s, latency {c.latency_ms:g} ms {c.latency_dist}, "
                 f"nemesis {','.join(c.nemesis) or 'none'}; store {self.store.path}")
        self._main_scope = trio.CancelScope()
        try:
            with self._main_scope:
                await self._run()
        finally:
            self._stopping = True
            await self._kill_all()
            self._clear_progress()
        return self._finish()

    async def _kill_all(self) -> None:
        with trio.CancelScope(shield=True):
            for p in self.procs.values():
                # The whole group: a node that exited (or crashed) may have left children
                # behind, which would otherwise outlive the run. The group id is the node's
                # pid, which Linux does not hand out again while any member is alive.
                try:
                    os.killpg(p.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass  # the node and everything it started are gone already
                except PermissionError as exc:
                    self.store.log(f"cannot end the process group of {p.id}: {exc}")
                if p.proc.returncode is None:
                    p.proc.kill()
            with trio.move_on_after(KILL_WAIT_S):
                for p in self.procs.values():
                    await p.proc.wait()
            for p in self.procs.values():
                for s in (p.proc.stdin, p.proc.stdout, p.proc.stderr):
                    if s is not None:
                        await s.aclose()

    # -- checking ---------------------------------------------------------------------------------

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
        results["valid"] = merge_valid(r["valid"] for r in results.values())
        return results

    def _finish(self) -> RunResult:
        from maelstrom.report import render_report

        self.store.write_history(self.history)
        self.store.write_json("test.json", {**_config_dict(self.cfg), "nodes": self.nodes,
                                            "concurrency-threads": self.concurrency})
        if self.crash_reason is not None:
            self.say(f"CRASH {self.crash_reason}")
            self.store.close()
            return RunResult(EXIT_CRASH, None, None, str(self.store.path), self.crash_reason,
                             summary=self._summary(None), diagnoses=self.diagnoses)
        results = self.check()
        results["diagnoses"] = self.diagnoses
        self.store.write_json("results.json", results)
        try:
            self.store.flush()
            html = render_report(self.cfg.workload, self.history,
                                 iter_messages(self.store.path / MESSAGES_FILE), results,
                                 self.now_ms(), self.nodes)
            self.store.write_text("report.html", html)
        except Exception as exc:  # noqa: BLE001 - a broken report must not hide the verdict
            self.diagnose(f"could not render report.html: {type(exc).__name__}: {exc}")
        self.store.close()
        v = results["valid"]
        code = EXIT_VALID if v is True else EXIT_INVALID if v is False else EXIT_UNKNOWN
        return RunResult(code, v, results, str(self.store.path), summary=self._summary(results),
                         diagnoses=self.diagnoses)

    def _summary(self, results: dict[str, Any] | None) -> str:
        c = self.cfg
        ops = sum(self._counts.values())
        msgs = self.net.stats["all"]
        head = (f"{c.workload} on {len(self.nodes)} nodes with seed {c.seed}: {ops} ops "
                f"({self._counts['ok']} ok, {self._counts['fail']} fail, {self._counts['info']} info) "
                f"and {len(msgs.msg_ids)} messages in {self.now_ms() / 1000:.1f} s")
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


def _show(text: str) -> str:
    return text if len(text) <= LINE_SHOW_MAX else text[:LINE_SHOW_MAX] + "…"


def _config_dict(cfg: TestConfig) -> dict[str, Any]:
    from dataclasses import asdict

    return {k.replace("_", "-"): v for k, v in asdict(cfg).items()}


def run_test(cfg: TestConfig, console: IO[str] | None = None) -> RunResult:
    """Run one test to completion (``trio.run`` inside).

    Raises:
        maelstrom.workloads.WorkloadError: Options the workload cannot run with.
    """
    runner = Runner(cfg, console)
    return trio.run(runner.run)


def run_tests(cfg: TestConfig, count: int, console: IO[str] | None = None) -> list[RunResult]:
    """``--test-count``: run up to ``count`` times, stopping at the first non-valid run."""
    out: list[RunResult] = []
    for i in range(count):
        seed = cfg.seed + i
        from dataclasses import replace

        res = run_test(replace(cfg, seed=seed), console)
        out.append(res)
        if res.exit_code != EXIT_VALID:
            break
    return out


def validate(cfg: TestConfig) -> Sequence[str]:
    """Build the workload once to surface option errors before any process starts."""
    get_workload(cfg.workload, cfg.workload_opts())
    return cfg.nodes
