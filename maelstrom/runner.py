"""The trio driver of ``gyre test``: real node processes, the simulated network, clients.

Strategy: everything that decides anything lives in `maelstrom.harness`
(which the simulator drives too) and the pure objects it holds
(`NetModel`, `NemesisSchedule`, `Scheduler`, the workload's
`ClientSession`s and checkers, the services). This module only moves bytes
and waits:

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
import signal
import sys
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import replace
from typing import IO, Any, Final

import orjson
import trio

from maelstrom.generator import Invocation, Scheduler, Wait
from maelstrom.harness import (EXIT_BAD_ARGS, EXIT_CRASH, EXIT_INVALID, EXIT_UNKNOWN, EXIT_VALID,
                               INIT_TIMEOUT_S_DEFAULT, RECOVERY_WAIT_S_DEFAULT, ClientSlot, Harness,
                               RunResult, TestConfig, derive_rng, show, test_rngs)
from maelstrom.nemesis import NemesisSchedule
from maelstrom.net import Envelope
from maelstrom.workloads import SETUP_TIMEOUT_MS, get_workload
from protocol.maelstrom_json import MalformedMessage, Message, decode_line

__all__ = ["EXIT_BAD_ARGS", "EXIT_CRASH", "EXIT_INVALID", "EXIT_UNKNOWN", "EXIT_VALID",
           "INIT_TIMEOUT_S_DEFAULT", "RECOVERY_WAIT_S_DEFAULT", "RunResult", "Runner", "TestConfig",
           "derive_rng", "run_test", "run_tests", "validate"]

LAST_LINES_MAX: Final[int] = 32
PROGRESS_TTY_INTERVAL_S: Final[float] = 0.5
PROGRESS_PLAIN_INTERVAL_S: Final[float] = 5.0
KILL_WAIT_S: Final[float] = 5.0
#: After a node exits, how long to wait for its last output.
DRAIN_WAIT_S: Final[float] = 1.0
#: Lines are read in chunks of this many bytes.
READ_CHUNK_BYTES: Final[int] = 65536
_show = show


class _NodeProc:
    def __init__(self, node_id: str, proc: trio.Process) -> None:
        self.id = node_id
        self.proc = proc
        self.send_ch, self.recv_ch = trio.open_memory_channel[bytes](math.inf)
        self.last_stdout: deque[str] = deque(maxlen=LAST_LINES_MAX)
        self.last_stderr: deque[str] = deque(maxlen=LAST_LINES_MAX)
        self.stdout_done = trio.Event()
        self.stderr_done = trio.Event()


class Runner:
    """One test run.

    Args:
        cfg: The options.
        console: Where progress and diagnoses go (stderr).
    """

    def __init__(self, cfg: TestConfig, console: IO[str] | None = None) -> None:
        self.cfg = cfg
        self.console = console if console is not None else sys.stderr
        self._is_tty = bool(getattr(self.console, "isatty", lambda: False)())
        self._progress_shown = False
        self.h = Harness(cfg, test_rngs(cfg.seed), self.console, before_say=self._clear_progress,
                         checker_clock=time.monotonic)
        self.nodes = self.h.nodes
        self.net = self.h.net
        self.store = self.h.store
        self.procs: dict[str, _NodeProc] = {}
        self._events: dict[str, trio.Event] = {}
        self.t0 = 0.0
        self._net_wake = trio.Event()
        self._sched_wake = trio.Event()
        self._stopping = False

    # -- clock, logging ----------------------------------------------------------------

    def now_ms(self) -> float:
        return (trio.current_time() - self.t0) * 1000.0

    def say(self, text: str) -> None:
        self.h.now_ms = self.now_ms()
        self.h.say(text)

    def diagnose(self, text: str) -> None:
        self.h.now_ms = self.now_ms()
        self.h.diagnose(text)

    # -- progress ------------------------------------------------------------------------

    def _clear_progress(self) -> None:
        if self._is_tty and self._progress_shown:
            self.console.write("\r\x1b[2K")
            self._progress_shown = False

    async def _progress_loop(self) -> None:
        interval = PROGRESS_TTY_INTERVAL_S if self._is_tty else PROGRESS_PLAIN_INTERVAL_S
        while True:
            await trio.sleep(interval)
            self.h.now_ms = self.now_ms()
            if self._is_tty:
                self.console.write("\r\x1b[2K" + self.h.progress_text())
                self.console.flush()
                self._progress_shown = True
            else:
                print(self.h.progress_text(), file=self.console, flush=True)

    # -- network plumbing -------------------------------------------------------------------

    def send(self, msg: Message, origin: str) -> bool:
        """Put a message on the network; diagnose an unknown src/dest. Returns success."""
        ok = self.h.send(msg, origin, self.now_ms())
        if ok:
            self._net_wake.set()
        return ok

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
            return
        slot = self.h.route(env, self.now_ms())
        if slot is not None:
            self._events[slot.id].set()
        self._net_wake.set()  # a service may have answered

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
        self._crash(f"node-crashed: node {p.id} exited with status {code} during the {self.h.phase} "
                    f"phase (nodes must keep running until killed).\nIts last output:\n"
                    f"{lines or '  (none)'}")

    def _crash(self, reason: str) -> None:
        self.h.crash(reason)
        self._main_scope.cancel()

    # -- clients --------------------------------------------------------------------------------

    async def _call(self, c: ClientSlot, msg: Message, timeout_ms: float) -> None:
        """Send a request and wait for its reply (in ``c.reply``; None on timeout)."""
        event = self._events[c.id] = trio.Event()
        if not self.h.call(c, msg, self.now_ms()):
            return
        self._net_wake.set()
        with trio.move_on_after(timeout_ms / 1000.0):
            await event.wait()
        c.expect = None

    async def _init_node(self, node_id: str, c: ClientSlot) -> None:
        await self._call(c, self.h.init_request(node_id, c), self.cfg.init_timeout_s * 1000)
        self.h.now_ms = self.now_ms()
        self.h.init_done(node_id, c)
        if self.h.crash_reason is not None:
            self._main_scope.cancel()

    async def _setup_node(self, node_id: str, c: ClientSlot, body: dict[str, Any], schema: Any) -> None:
        _, msg = c.session.raw_request(node_id, body)
        await self._call(c, msg, SETUP_TIMEOUT_MS)
        self.h.now_ms = self.now_ms()
        self.h.setup_done(node_id, c, body, schema)
        if self.h.crash_reason is not None:
            self._main_scope.cancel()

    # -- operations -------------------------------------------------------------------------------

    async def _run_op(self, sched: Scheduler, inv: Invocation) -> None:
        c, sent = self.h.start_op(inv, self.now_ms())
        while sent:  # one wait per RPC: kafka's poll is followed by commit_offsets
            event = self._events[c.id] = trio.Event()
            self._net_wake.set()
            with trio.move_on_after(self.h.workload.rpc_timeout_ms() / 1000.0):
                await event.wait()
            sent = self.h.advance_op(c, self.now_ms())
        self.h.end_op(sched, inv, c, self.now_ms())
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

    async def _nemesis_loop(self, sched: NemesisSchedule) -> None:
        while True:
            for op in sched.due(self.now_ms()):
                self.h.nemesis_op(op, self.now_ms())
            nxt = sched.next_time_ms()
            if nxt is None:
                return
            await trio.sleep_until(self.t0 + nxt / 1000.0)

    async def _final_phase(self, sched: Scheduler, nemesis: NemesisSchedule | None) -> None:
        self.h.phase = "healing"
        if nemesis is not None:
            for op in nemesis.heal_ops():
                self.h.nemesis_op(op, self.now_ms())
        self.h.phase = "recovery"
        self.say(f"Waiting for recovery... ({self.cfg.recovery_wait_s:g} s)")
        await trio.sleep(self.cfg.recovery_wait_s)
        final = self.h.workload.final_generator()
        assert final is not None
        self.h.phase = "final"
        async with trio.open_nursery() as ops:
            for thread in range(sched.concurrency):
                ops.start_soon(self._final_thread, sched, final, thread)

    async def _final_thread(self, sched: Scheduler, final: Any, thread: int) -> None:
        """One thread's final ops, one after another, until its source has no more."""
        while True:
            nxt = sched.final_next(final, thread, self.now_ms())
            if nxt is None:
                return
            if isinstance(nxt, Wait):
                await trio.sleep_until(self.t0 + nxt.until_ms / 1000.0)
                continue
            await self._run_op(sched, nxt)

    # -- the run ---------------------------------------------------------------------------------

    async def _run(self) -> None:
        h = self.h
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._delivery_loop)
            nursery.start_soon(self._progress_loop)
            await self._spawn(nursery)
            h.phase = "init"
            # Clients are opened here, in node order, not inside the tasks: trio
            # starts tasks in no fixed order, and ids must not depend on it.
            async with trio.open_nursery() as inits:
                for n in self.nodes:
                    inits.start_soon(self._init_node, n, h.open_client())
            setups = h.workload.setup_requests()
            if setups:
                h.phase = "setup"
                async with trio.open_nursery() as s:
                    for n in self.nodes:
                        if n in setups:
                            s.start_soon(self._setup_node, n, h.open_client(), *setups[n])
            h.phase = "main"
            sched = h.scheduler(self.now_ms())
            nemesis = h.nemesis_schedule()
            async with trio.open_nursery() as main:
                if nemesis is not None:
                    main.start_soon(self._nemesis_loop, nemesis)
                await self._main_phase(sched)
                main.cancel_scope.cancel()
            if h.workload.has_final:
                await self._final_phase(sched, nemesis)
            h.phase = "done"
            nursery.cancel_scope.cancel()

    async def run(self) -> RunResult:
        """Run the test, check it and write the store; never raises for node misbehaviour."""
        self.t0 = trio.current_time()
        self.say(self.h.banner())
        self._main_scope = trio.CancelScope()
        try:
            with self._main_scope:
                await self._run()
        finally:
            self._stopping = True
            await self._kill_all()
            self._clear_progress()
        return self.h.finish(self.now_ms())

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
        res = run_test(replace(cfg, seed=cfg.seed + i), console)
        out.append(res)
        if res.exit_code != EXIT_VALID:
            break
    return out


def validate(cfg: TestConfig) -> Sequence[str]:
    """Build the workload once to surface option errors before any process starts."""
    get_workload(cfg.workload, cfg.workload_opts())
    return cfg.nodes
