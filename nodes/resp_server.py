"""`gyre serve`: the RESP listener, a thin trio driver around the command engine.

Strategy: per-read scheduling is what costs in Python, not parsing, so the
listener is one trio task that waits (``trio.lowlevel.wait_readable``) on a
`select.epoll` object's own descriptor and then serves every ready socket in a
loop: read what is there, execute every complete command in order, encode
all replies into one buffer, and once every ready socket was served, send
each buffer with one ``send`` (as Redis writes before it sleeps). Sockets are plain
non-blocking sockets; whatever the kernel does not take stays in the
connection's output buffer and is sent when the socket turns writable.
Other work (the active expiry cycle, idle-client sweeps, blocked-client
timeouts) runs in sibling tasks of the same nursery, so the server stays one
trio program. Signals and the watchdog are `nodes.watchdog`'s: a thread that
watches ``held_since_ms``, which the loop writes once per poll batch.

SLOWLOG and the latency monitor get their durations from here (the engine
reads no clock): the end of each client's run of commands is read from
``time.perf_counter_ns`` (one reading per run, the start being the end of the
run before or the batch's start). A run of one command, which is every
request of a client that does not pipeline, is that command's time. A
pipelined run is timed command by command (one reading per command, through
`_marked`) when ``slowlog-log-slower-than`` is below
`EACH_COMMAND_BELOW_US`, and otherwise only after one of the client's
pipelined runs took longer than the threshold (for its next
`TIMED_RUNS_AFTER_SLOW_PIPELINE` runs): that first run is not logged, as
its slow command cannot be told from the others.

The engine never writes to a socket: pub/sub pushes wait in session outboxes
and are encoded here before the reply of the command that made them; a
blocking command answers `BLOCKED`, its client's later commands wait (in
`Conn.pending` and in its reader); the clients a command releases are
answered right after that command, in the order Redis serves them, and the
commands they queued meanwhile run once the releasing client's batch is done
(Redis runs them before it sleeps).

Limits follow Redis: ``maxclients`` (refused with its error; at start-up the
soft NOFILE limit is raised to maxclients + 32, or maxclients shrinks, with
Redis's log lines), the query buffer limit (in the reader),
``client-output-buffer-limit`` for normal clients (hard limit, checked after
each reply of a batch, and soft limit held for N seconds: the client is
disconnected with whatever was queued for it, nobody else waits), ``timeout``
for idle clients, and TCP keepalive so half-open connections are found and
closed. A departed client's memory is freed at once and the heap it leaves
is handed back to the OS every second (`_trim_loop`), so the RSS comes back
near its baseline after a load.

A Lua script runs inside its command, on this loop. Once it has run longer
than ``busy-reply-threshold``, the script's instruction hook calls
`_while_script_busy` (Redis's processEventsWhileBlocked): other clients are
read and answered right there, -BUSY for everything but the commands flagged
``allow_busy`` (SCRIPT KILL, FUNCTION KILL, FUNCTION STATS, MULTI...), which
run. Nothing else (expiry, timeouts) runs until the script ends. SHUTDOWN
(NOSAVE) stops the script even after it wrote, and then the server.
"""

from __future__ import annotations

import errno
import gc
import logging
import os
import random
import resource
import select
import socket
import sys
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import chain
from time import perf_counter_ns
from typing import Any

import trio

from crdt.channels import NO_REPLY
from crdt.config import Config
from crdt.engine import DEFERRED, Engine, HostInfo
from crdt.scripting import vm as lua_vm
from crdt.session import Session
from crdt.timings import (
    EVENT_EXPIRE_CYCLE,
    record_command,
    record_event,
    timing_threshold_us,
)
from crdt.waiters import BLOCKED
from nodes.watchdog import Liveness
from protocol.errors import ProtocolError
from protocol.replies import SimpleString
from protocol.resp import NEED_DATA, encode_into, encode_many, make_reader

log = logging.getLogger("gyre.server")

RECV_BYTES = 64 * 1024
LISTEN_BACKLOG = 511
TCP_KEEPALIVE_S = 300
TIMEOUT_SWEEP_INTERVAL_S = 1.0
EVENTS_PER_POLL = 1024
# Connections accepted per poll batch: a storm of connects is taken in slices
# of ~5 ms, served between the other clients' reads (Redis takes 1000 at a time,
# but its accept costs a tenth of ours).
ACCEPTS_PER_POLL = 64
BATCHES_PER_YIELD = 16
EV_READ = select.EPOLLIN
EV_WRITE = select.EPOLLOUT
EV_READ_WRITE = EV_READ | EV_WRITE
# Hang-up and error conditions are served as reads: recv then reports them.
EV_READABLE = EV_READ | select.EPOLLHUP | select.EPOLLERR
MAX_CLIENTS_REPLY = b"-ERR max number of clients reached\r\n"
# glibc keeps the heap that departed clients freed; it is handed back to the
# OS (malloc_trim) at most every TRIM_INTERVAL_S once this many clients left,
# or once a client with a buffer of TRIM_BIG_BUFFER_BYTES or more left.
TRIM_INTERVAL_S = 1.0
TRIM_AFTER_CLOSES = 256
TRIM_BIG_BUFFER_BYTES = 1024 * 1024
# Descriptors kept for the listener, epoll, trio's own and logs (Redis's CONFIG_MIN_RESERVED_FDS).
RESERVED_FDS = 32
# Below this slowlog-log-slower-than, every command of a pipeline is timed on its own
# (about 0.2 µs a command); above it, runs are timed (see the module's docstring).
EACH_COMMAND_BELOW_US = 1000
TIMED_RUNS_AFTER_SLOW_PIPELINE = 1000
TIME_EVERY_RUN = sys.maxsize


class ShutdownRequested(Exception):
    """A client ran SHUTDOWN: unwinds the serving of the poll batch (see `_serve_loop`)."""


@dataclass(slots=True)
class ServeConfig:
    """What `gyre serve` was asked for on its command line."""

    host: str = "127.0.0.1"
    port: int = 6379
    requirepass: str = ""
    maxclients: int = 10000
    databases: int = 16
    loglevel: str = "notice"
    extra: dict[str, str] = field(default_factory=dict)  # other CONFIG parameters

    def engine_config(self) -> Config:
        overrides = {
            "bind": self.host, "port": str(self.port), "requirepass": self.requirepass,
            "maxclients": str(self.maxclients), "databases": str(self.databases),
            "loglevel": self.loglevel, **self.extra,
        }
        return Config(overrides)


def now_ms() -> int:
    """The wall clock in ms: EXPIREAT and TIME need real Unix time."""
    return int(time.time() * 1000)


def _rss_bytes() -> int:
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _cpu_seconds() -> tuple[float, float]:
    t = os.times()
    return t.user, t.system


def real_host(port: int) -> HostInfo:
    """HostInfo backed by this process."""
    return HostInfo(
        pid=os.getpid(), tcp_port=port, executable=sys.argv[0], start_ms=now_ms(),
        rss_bytes=_rss_bytes, cpu_seconds=_cpu_seconds,
        os=f"{os.uname().sysname} {os.uname().release} {os.uname().machine}",
        python_version=sys.version.split()[0],
    )


class Conn:
    """One client socket: its reader, its session and the bytes not yet sent."""

    __slots__ = ("sock", "fd", "reader", "session", "out", "events", "soft_since_ms", "closing",
                 "pending", "time_each", "awaiting")

    def __init__(self, sock: socket.socket, reader: Any, session: Session) -> None:
        self.sock = sock
        self.fd = sock.fileno()
        self.reader = reader
        self.session = session
        self.out = bytearray()
        self.events = EV_READ
        self.soft_since_ms = 0
        self.closing = False  # sending what is queued, reading no more
        self.pending: list[list[bytes]] = []  # commands parsed after a blocking one
        self.time_each = 0  # runs left whose commands are timed one by one (see `_marked`)
        self.awaiting = False  # a deferred command's reply is due (strong mode)


class RespServer:
    """The listener. Create, then ``await nursery.start(server.run)`` to get the bound port."""

    def __init__(self, cfg: ServeConfig, engine: Engine | None = None,
                 clock: Callable[[], int] = now_ms) -> None:
        self.cfg = cfg
        self.clock = clock
        config = cfg.engine_config()
        # The server's randomness (RANDOMKEY, SPOP, run_id) is seeded from the OS here,
        # at the edge; the engine only ever sees the Random object.
        self.engine = engine if engine is not None else Engine(
            config=config, rng=random.Random(), now_ms=clock())
        self.engine.on_internal_error = _log_internal_error
        scripts = lua_vm.of(self.engine)
        scripts.clock = clock
        scripts.while_busy = self._while_script_busy
        scripts.log = _log_script
        self.conns: dict[int, Conn] = {}
        self.poller = select.epoll()
        self.listener: socket.socket | None = None
        self.port = 0
        self._timer_changed = trio.Event()
        self._tasks: trio.CancelScope | None = None  # the serving tasks, while `run` runs
        # While a poll batch is served: the clients whose replies wait to be sent.
        self._deferred: list[Conn] | None = None
        # Clients a blocking command released, answered: their queued commands run next.
        self._released: deque[Conn] = deque()
        # client-output-buffer-limit's normal class, parsed once: (hard, soft bytes, soft seconds).
        self._output_limits = _normal_output_limits(self.engine.config["client-output-buffer-limit"])
        # The wall-clock ms at which the loop began what it is doing, 0 while it waits
        # in trio: written once per poll batch, read by the watchdog thread.
        self.held_since_ms = 0
        # Command timing for SLOWLOG/LATENCY (see the module docstring).
        self._timed = False
        self._slow_ns = 0
        self._time_each = 0  # Conn.time_each of every client when each command is timed
        self._run_end_ns = 0  # the end of the last timed run, or the start of the batch
        self._update_timing()
        self.engine.config.listeners.append(self._config_changed)
        self._closed_since_trim = 0
        self._trim_wanted = False
        # A replicated server's driver (`nodes.replica_serve.Replication`): told whenever
        # the serving loop yields (so what up to BATCHES_PER_YIELD poll batches wrote
        # travels together, before any peer message is merged) and after each expiry cycle.
        self.replication: Any = None

    def _config_changed(self, name: str, value: Any) -> None:
        """CONFIG SET of a request limit: connected clients get it at once, as in Redis."""
        if name == "proto-max-bulk-len":
            for conn in self.conns.values():
                conn.reader.set_limits(proto_max_bulk_len=value)
        elif name == "client-query-buffer-limit":
            for conn in self.conns.values():
                conn.reader.set_limits(query_buffer_max_bytes=value)
        elif name == "client-output-buffer-limit":
            self._output_limits = _normal_output_limits(self.engine.config[name])
        elif name in ("slowlog-log-slower-than", "latency-monitor-threshold"):
            self._update_timing()

    def _update_timing(self) -> None:
        threshold_us = timing_threshold_us(self.engine.config)
        self._timed = threshold_us is not None
        self._slow_ns = (threshold_us or 0) * 1000
        each = threshold_us is not None and threshold_us < EACH_COMMAND_BELOW_US
        self._time_each = TIME_EVERY_RUN if each else 0
        for conn in self.conns.values():
            conn.time_each = self._time_each

    # -- lifecycle -----------------------------------------------------------

    async def run(self, task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED) -> None:
        """Bind, report the port, then serve until cancelled."""
        config = self.engine.config
        config.values["maxclients"] = adjust_open_files_limit(config["maxclients"])
        self.listener = self._bind()
        self.port = self.listener.getsockname()[1]
        self.engine.host = real_host(self.port)
        self.engine.config.values["port"] = self.port
        self.poller.register(self.listener.fileno(), EV_READ)
        try:
            async with trio.open_nursery() as nursery:
                self._tasks = nursery.cancel_scope
                nursery.start_soon(self._expire_loop)
                nursery.start_soon(self._memory_loop)
                nursery.start_soon(self._timeout_loop)
                nursery.start_soon(self._trim_loop)
                nursery.start_soon(self._blocked_timeout_loop)
                task_status.started(self.port)
                await self._serve_loop()  # returns when a client ran SHUTDOWN
                nursery.cancel_scope.cancel()
        finally:
            self.close()

    def close(self) -> None:
        for conn in list(self.conns.values()):
            self._drop(conn)
        if self.listener is not None:
            try:
                self.poller.unregister(self.listener.fileno())
            except (OSError, ValueError):
                pass
            self.listener.close()
            self.listener = None
        self.poller.close()

    def _bind(self) -> socket.socket:
        family = socket.AF_INET6 if ":" in self.cfg.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.cfg.host, self.cfg.port))
        sock.listen(LISTEN_BACKLOG)
        sock.setblocking(False)
        return sock

    # -- the loop ------------------------------------------------------------

    async def _serve_loop(self) -> None:
        poll = self.poller.poll
        poll_fd = self.poller.fileno()
        listen_fd = self.listener.fileno() if self.listener is not None else -1
        conns = self.conns
        replication = self.replication
        while True:
            self.held_since_ms = 0
            if replication is not None:  # what the batches wrote, before anything else runs
                replication.after_batch(self.clock())
            await trio.lowlevel.wait_readable(poll_fd)
            # Under load, keep polling our own epoll instead of going back
            # through trio's for every batch; yield to the other tasks (expiry,
            # timers) every few batches so they still run on time.
            for _ in range(BATCHES_PER_YIELD):
                events = poll(0)
                if not events:
                    break
                # Replies are sent once every ready client has been served, as
                # Redis does before it sleeps: a client process woken by the
                # first reply is still awake for the others, which spares a
                # wake-up (costly on a VM) per reply.
                deferred = self._deferred = []
                now = self.clock()  # one reading per batch, like Redis's cached time
                self.held_since_ms = now
                if self._timed:
                    self._run_end_ns = perf_counter_ns()
                stopping = False
                try:
                    for fd, mask in events:
                        conn = conns.get(fd)
                        if conn is None:
                            if fd == listen_fd:
                                self._accept()
                            continue  # closed earlier in this batch
                        if mask & EV_WRITE:
                            self._flush(conn)
                            if fd not in conns:
                                continue
                        if mask & EV_READABLE and not conn.closing:
                            self._on_readable(conn, now)
                except ShutdownRequested:
                    stopping = True  # no one else is served; replies already made still go
                finally:
                    self._deferred = None
                for conn in deferred:
                    if conn.out and conns.get(conn.fd) is conn:
                        self._flush(conn)
                if stopping or self.engine.shutdown_requested:  # the latter: SHUTDOWN during a script
                    if replication is not None:
                        replication.after_batch(now)
                    return
            else:
                self.held_since_ms = 0
                if replication is not None:
                    replication.after_batch(self.clock())
                await trio.lowlevel.checkpoint()

    def _accept(self) -> None:
        assert self.listener is not None
        engine = self.engine
        maxclients = engine.config["maxclients"]
        for _ in range(ACCEPTS_PER_POLL):
            try:
                sock, addr = self.listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as e:  # EMFILE and friends: log, keep serving the others
                log.warning("accept failed: %s", e)
                return
            if len(self.conns) >= maxclients:
                engine.stats.rejected_connections += 1
                try:
                    sock.send(MAX_CLIENTS_REPLY)
                except OSError:
                    pass
                sock.close()
                continue
            sock.setblocking(False)
            if sock.family != socket.AF_UNIX:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
                if hasattr(socket, "TCP_KEEPIDLE"):
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, TCP_KEEPALIVE_S)
            laddr = sock.getsockname()
            session = engine.open_session(
                self.clock(), addr=_fmt_addr(addr), laddr=_fmt_addr(laddr), fd=sock.fileno())
            cfg = engine.config
            reader = make_reader(proto_max_bulk_len=cfg["proto-max-bulk-len"],
                                 query_buffer_max_bytes=cfg["client-query-buffer-limit"])
            reader.unauthenticated = not session.authenticated
            conn = Conn(sock, reader, session)
            conn.time_each = self._time_each
            session.user_data = conn
            self.conns[conn.fd] = conn
            self.poller.register(conn.fd, EV_READ)

    def _receive(self, conn: Conn) -> bytes | None:
        """What the client sent (counted in INFO), or None: nothing yet, or it left (dropped)."""
        try:
            # os.read/os.write, not sock.recv/send: the same syscalls on a
            # socket, without the socket methods' argument parsing and timeout
            # handling (4% of the instructions of a one-command read).
            data = os.read(conn.fd, RECV_BYTES)
        except (BlockingIOError, InterruptedError):
            return None
        except OSError:
            self._drop(conn)
            return None
        if not data:
            self._drop(conn)
            return None
        self.engine.stats.net_input_bytes += len(data)
        return data

    def _on_readable(self, conn: Conn, now: int) -> None:
        data = self._receive(conn)
        if data is None:
            return
        session = conn.session
        reader = conn.reader
        try:
            if session.blocked is None and not conn.pending and not reader.unauthenticated \
                    and not conn.awaiting:
                commands = reader.take(data)
            else:
                reader.feed(data)
                commands = None
        except ProtocolError as e:  # the query buffer limit: Redis closes without a reply
            log.warning("closing client id=%d addr=%s: %s", session.id, session.addr, e)
            self._drop(conn)
            return
        if session.blocked is not None or conn.awaiting:
            return  # a blocked client's next commands wait in its reader, as in Redis
        self._serve_client(conn, now, commands)
        if self._released:
            self._serve_unblocked()

    def _serve_client(self, conn: Conn, now: int, commands: Any = None) -> None:
        """Run the client's parked commands and every complete one in its reader, then send.

        This is the hot path. The engine runs commands until one needs us
        (`Engine.execute_many`: pushes, no reply, blocking, QUIT/KILL/AUTH/
        HELLO/RESET, DEBUG SLEEP); their replies are encoded here, the one
        that stopped the run goes to `_after_special`, and the batch's end
        takes `_finish_batch` only when such a command ran or the reader holds
        a protocol error.
        """
        reader = conn.reader
        if commands is None:  # not given by the read: parked ones, then what the reader holds
            commands = self._parked_and_buffered(conn)
        session = conn.session
        session.last_ms = now
        out = conn.out
        execute_many = self.engine.execute_many
        plain = True
        replies: list[Any] = []
        commands_left = iter(commands)
        hard_limit = self._output_limits[0]
        if hard_limit:
            commands_left = self._within_output_limit(conn, commands_left, replies, hard_limit)
        feed = commands_left
        marks: list[Any] | None = None
        if conn.time_each:
            conn.time_each -= 1
            marks = []
            feed = _marked(commands_left, marks)
        while True:
            # HELLO and RESET stop a run, so every reply of one is in the protocol it began with.
            resp3 = session.resp3
            special = execute_many(feed, session, now, replies)
            last = replies.pop() if special else None  # the reply that needs a closer look
            encode_many(out, replies, resp3)
            if not special:
                break
            replies.clear()
            plain = False
            if not self._after_special(conn, last, commands_left):
                break
        if hard_limit and len(out) > hard_limit:
            self._drop_over_output_limit(conn)
            return
        if plain and reader.error is None:
            if out:
                if self._deferred is not None:
                    self._deferred.append(conn)  # sent after the poll batch
                else:
                    self._flush(conn)
        else:
            self._finish_batch(conn)
        if self._timed:
            end = perf_counter_ns()
            if end - self._run_end_ns >= self._slow_ns:
                self._slow_run(conn, commands, marks, end)
            self._run_end_ns = end

    def _slow_run(self, conn: Conn, commands: Any, marks: list[Any] | None, end: int) -> None:
        """A run that took at least the timing threshold: report its commands to the engine."""
        session = conn.session
        engine = self.engine
        now = self.clock()
        if marks is not None:  # [start, argv, start, argv, ...]: each command's own time
            last = len(marks) - 2
            for i in range(0, len(marks), 2):
                stop = marks[i + 2] if i < last else end
                if stop - marks[i] >= self._slow_ns and not (i == last and session.blocked):
                    record_command(engine, session, marks[i + 1], (stop - marks[i]) // 1000, now)
        elif type(commands) is list and len(commands) == 1:
            if session.blocked is None:  # a command that blocked is not logged, as in Redis
                record_command(engine, session, commands[0], (end - self._run_end_ns) // 1000, now)
        elif conn.time_each < TIMED_RUNS_AFTER_SLOW_PIPELINE:
            conn.time_each = TIMED_RUNS_AFTER_SLOW_PIPELINE

    @staticmethod
    def _within_output_limit(conn: Conn, commands: Iterator[list[bytes]], replies: list[Any],
                             hard_limit: int) -> Iterator[list[bytes]]:
        """The commands of a run, stopped once the client's replies pass the hard output limit.

        Only used when a hard limit is set. Each reply is encoded as soon as
        its command ran, so a client that pipelines big reads without reading
        the answers costs at most one reply past the limit, not all of them
        (Redis likewise stops serving a client once it is to be closed).
        """
        out = conn.out
        session = conn.session
        for argv in commands:
            if replies:
                encode_many(out, replies, session.resp3)
                replies.clear()
                if len(out) > hard_limit:
                    return
            yield argv

    def _drop_over_output_limit(self, conn: Conn) -> None:
        log.warning("client id=%d addr=%s closed for overcoming of output buffer limits",
                    conn.session.id, conn.session.addr)
        self._drop(conn)

    def _parked_and_buffered(self, conn: Conn) -> Any:
        """The commands a blocked client parked, then those in its reader."""
        reader = conn.reader
        commands: Any = conn.pending
        if commands:
            conn.pending = []
        if reader.unauthenticated:
            # Before AUTH every command is parsed only once the one before it ran,
            # so the small limits end exactly where Redis's do.
            return chain(commands, self._one_at_a_time(reader, conn.session))
        try:
            return commands + reader.gets_all()
        except ProtocolError:
            return commands

    def _finish_batch(self, conn: Conn) -> None:
        """The end of a batch in which something rare happened: auth, kills, errors, closing."""
        session = conn.session
        reader = conn.reader
        out = conn.out
        reader.unauthenticated = not session.authenticated
        if self.engine.killed:
            self._reap_killed()
        # Commands before a protocol error run; then the error is answered and the client closed.
        error = reader.error
        if error is not None and session.blocked is None:
            if error.reply is not None:
                out += b"-" + error.reply + b"\r\n"
            log.info("protocol error from client id=%d addr=%s: %s", session.id, session.addr, error)
            session.close_after_reply = True
        if session.kill:
            self._drop(conn)
            return
        if out:
            self._flush(conn)
        if session.close_after_reply and conn.fd in self.conns:
            conn.closing = True
            if not conn.out:
                self._drop(conn)

    @staticmethod
    def _one_at_a_time(reader: Any, session: Session) -> Iterator[list[bytes]]:
        while True:
            reader.unauthenticated = not session.authenticated
            if not reader.unauthenticated:
                try:
                    yield from reader.gets_all()
                except ProtocolError:
                    pass
                return
            try:
                argv = reader.gets()
            except ProtocolError:
                return
            if argv is NEED_DATA:
                return
            yield argv

    def _after_special(self, conn: Conn, reply: Any, commands_left: Iterator[list[bytes]]) -> bool:
        """The slow path of one command's reply; False when the batch must stop here."""
        session = conn.session
        own_lines: list[Any] = []
        if self.engine.pubsub.pending:  # pushes go out before the reply of the command that made them
            own_lines = self._deliver_pushes(conn)
        if reply is BLOCKED:
            conn.pending = list(commands_left)
            self._timer_changed.set()
            session.attention = False
            return False
        if reply is DEFERRED:  # a strong-mode round: the client waits for `answer_deferred`
            conn.pending = list(commands_left)
            conn.awaiting = True
            session.attention = False
            return False
        if reply is not NO_REPLY:
            encode_into(conn.out, reply, session.resp3)
        for monitor_line in own_lines:  # a monitor's line about its own command follows the reply
            encode_into(conn.out, monitor_line, session.resp3)
        if self.engine.blocking.pending():  # the command released blocked clients: served now
            self._serve_ready()
        if reply is NO_REPLY and self.engine.shutdown_requested:
            log.warning("SHUTDOWN from client id=%d addr=%s: closing every connection and exiting",
                        session.id, session.addr)
            raise ShutdownRequested
        if session.sleep_ms:
            self._debug_sleep(session)
        session.attention = False
        return not (session.close_after_reply or session.kill)

    def _serve_unblocked(self) -> None:
        """Run what each released client queued while blocked, in the order they were released.

        Their commands may release (and answer) more clients, who take their turn after.
        """
        blocking = self.engine.blocking
        released = self._released
        while True:
            if blocking.pending():
                self._serve_ready()
            if not released:
                return
            conn = released.popleft()
            if self.conns.get(conn.fd) is conn and conn.session.blocked is None:
                if conn.pending or conn.reader.buffered_bytes or conn.reader.error is not None:
                    self._serve_client(conn, self.clock())  # also sends the reply answered before
                else:  # nothing queued meanwhile (the usual case): only the reply to send
                    self._send_released(conn)

    def _send_released(self, conn: Conn) -> None:
        """Send what a released client was answered, when it queued no command meanwhile: what
        `_serve_client` does for a run of no commands."""
        conn.session.last_ms = self.clock()
        hard_limit = self._output_limits[0]
        if hard_limit and len(conn.out) > hard_limit:
            self._drop_over_output_limit(conn)
        elif conn.out:
            if self._deferred is not None:
                self._deferred.append(conn)  # sent after the poll batch
            else:
                self._flush(conn)

    def answer_deferred(self, session: Session, reply: bytes) -> None:
        """The reply (RESP bytes) of a client's deferred command: sent, then its queued commands run
        (from `after_external_writes`)."""
        conn = session.user_data
        if conn is None or self.conns.get(conn.fd) is not conn or not conn.awaiting:
            return  # the client left meanwhile
        conn.out += reply
        conn.awaiting = False
        self._released.append(conn)

    def after_external_writes(self) -> None:
        """Serve the clients blocked on keys that something other than a client wrote
        (a replicated server's merges), and what they queued meanwhile."""
        if self._released or self.engine.blocking.pending():
            self._serve_unblocked()
            if self.engine.killed:
                self._reap_killed()

    def _serve_ready(self) -> None:
        """Serve the keys made ready (and CLIENT UNBLOCK's targets); the pops' keyspace
        events go out at once, after the reply of the command that made the keys ready."""
        engine = self.engine
        self._answer_unblocked(engine.blocking.serve(self.clock()))
        if engine.pubsub.pending:
            self._deliver_pushes(None)

    def _answer_unblocked(self, answered: list[tuple[Session, Any]]) -> None:
        """Put each released client's reply in its buffer; its queued commands wait their turn."""
        for session, reply in answered:
            conn = session.user_data
            if conn is None or self.conns.get(conn.fd) is not conn:
                continue
            encode_into(conn.out, reply, session.resp3)
            self._released.append(conn)

    def _deliver_pushes(self, current: Conn | None) -> list[Any]:
        """Encode every pending push (pub/sub, MONITOR lines) into its client's buffer.

        The other clients' buffers are sent after the poll batch (now, outside
        one). Returns the current client's MONITOR lines, held back: they
        follow the reply of the command they show (`crdt.monitor_feed`). `current`
        is None for pushes no client's command made (active expiry's events).
        """
        held: list[Any] = []
        for session in self.engine.pubsub.take_pending():
            conn = session.user_data
            if conn is None or conn.fd not in self.conns:
                session.outbox.clear()
                continue
            for message in session.outbox:
                if conn is current and type(message) is SimpleString:
                    held.append(message)
                else:
                    encode_into(conn.out, message, session.resp3)
            session.outbox.clear()
            if conn is not current and conn.out:
                if self._deferred is not None:
                    self._deferred.append(conn)
                else:
                    self._flush(conn)
        return held

    def _debug_sleep(self, session: Session) -> None:
        """DEBUG SLEEP: the whole server pauses, as Redis does; blocking here is the point."""
        delay_s = session.sleep_ms / 1000
        session.sleep_ms = 0
        time.sleep(delay_s)

    def _flush(self, conn: Conn) -> None:
        out = conn.out
        try:
            sent = os.write(conn.fd, out)  # see _on_readable
            if sent == len(out) and conn.events == EV_READ and not conn.closing:
                out.clear()  # the usual case: everything went, nothing else to do
                self.engine.stats.net_output_bytes += sent
                return
        except (BlockingIOError, InterruptedError):
            sent = 0
        except OSError:
            self._drop(conn)
            return
        self.engine.stats.net_output_bytes += sent
        if sent == len(out):
            out.clear()
            conn.soft_since_ms = 0
            if conn.closing:
                self._drop(conn)
            elif conn.events != EV_READ:
                conn.events = EV_READ
                self.poller.modify(conn.fd, EV_READ)
            conn.session.output_buffer_bytes = 0
            return
        del out[:sent]
        conn.session.output_buffer_bytes = len(out)
        if self._over_output_limit(conn):
            self._drop_over_output_limit(conn)
            return
        if conn.events != EV_READ_WRITE:
            conn.events = EV_READ_WRITE
            self.poller.modify(conn.fd, EV_READ_WRITE)

    def _over_output_limit(self, conn: Conn) -> bool:
        hard, soft, soft_s = self._output_limits
        size = len(conn.out)
        if hard and size > hard:
            return True
        if soft and size > soft:
            now = self.clock()
            if not conn.soft_since_ms:
                conn.soft_since_ms = now
            elif now - conn.soft_since_ms >= soft_s * 1000:
                return True
        else:
            conn.soft_since_ms = 0
        return False

    def _drop(self, conn: Conn) -> None:
        """Close a connection and forget everything about it."""
        if self.conns.pop(conn.fd, None) is None:
            return
        try:
            self.poller.unregister(conn.fd)
        except (OSError, ValueError):
            pass
        conn.sock.close()
        self.engine.close_session(conn.session)
        # Break the session <-> connection cycle: the connection, its reader and
        # its buffers (up to a 512 MB bulk) are freed now, not at the next full
        # garbage collection, which may be far away.
        conn.session.user_data = None
        self._closed_since_trim += 1
        if self._closed_since_trim >= TRIM_AFTER_CLOSES or len(conn.out) >= TRIM_BIG_BUFFER_BYTES \
                or conn.reader.buffered_bytes >= TRIM_BIG_BUFFER_BYTES:
            self._trim_wanted = True
        conn.out = bytearray()

    def _reap_killed(self) -> None:
        """Close the clients CLIENT KILL marked (the engine lists them)."""
        killed = self.engine.killed
        self.engine.killed = []
        for session in killed:
            conn = session.user_data
            if conn is not None and self.conns.get(conn.fd) is conn:
                self._drop(conn)

    # -- a long script -------------------------------------------------------

    def _while_script_busy(self) -> None:
        """Serve the other clients while a script runs past busy-reply-threshold (see the docstring)."""
        engine = self.engine
        running = engine.lua_vm.caller
        listen_fd = self.listener.fileno() if self.listener is not None else -1
        now = self.clock()
        for fd, mask in self.poller.poll(0):
            conn = self.conns.get(fd)
            if conn is None:
                if fd == listen_fd:
                    self._accept()
                continue
            if conn.session is running:
                continue
            if mask & EV_WRITE:
                self._flush(conn)
                if fd not in self.conns:
                    continue
            if mask & EV_READABLE and not conn.closing:
                self._answer_while_busy(conn, now, running)

    def _answer_while_busy(self, conn: Conn, now: int, running: Session | None) -> None:
        data = self._receive(conn)
        if data is None:
            return
        engine = self.engine
        session = conn.session
        try:
            conn.reader.feed(data)
            commands = conn.reader.gets_all()
        except ProtocolError:
            commands = []
        if session.blocked is not None or conn.awaiting:
            conn.pending.extend(commands)
            return
        lookup = engine.table.lookup.get
        replies = []
        for argv in commands:
            cmd = lookup(argv[0]) or lookup(argv[0].lower())
            if cmd is not None and cmd.subcommands and len(argv) > 1:
                cmd = cmd.subcommands.get(argv[1]) or cmd.subcommands.get(argv[1].lower()) or cmd
            if cmd is None or "allow_busy" in cmd.flags or cmd.subcommands:
                reply = engine.execute(argv, session, now)  # runs, or refuses (unknown...)
                engine.blocking.running = running
                session.attention = False
                if reply is NO_REPLY:  # SHUTDOWN: the script is stopped, then the server
                    if engine.shutdown_requested:
                        log.warning("SHUTDOWN from client id=%d addr=%s during a script: stopping it, "
                                    "then closing every connection and exiting", session.id, session.addr)
                    continue
                replies.append(reply)
            else:
                replies.append(engine._reject(session, engine.lua_vm.busy_error, cmd))
        encode_many(conn.out, replies, session.resp3)
        if session.close_after_reply or session.kill:
            conn.closing = True
        self._flush(conn)

    # -- periodic work -------------------------------------------------------

    async def _expire_loop(self) -> None:
        """Redis's active expiry cycle, every 1000/hz ms; its ``expired`` events go out at once."""
        engine = self.engine
        while True:
            await trio.sleep(engine.expire_interval_ms() / 1000)
            now = self.held_since_ms = self.clock()
            start = perf_counter_ns()
            engine.active_expire(now)
            if engine.pubsub.pending:
                self._deliver_pushes(None)
            if self.replication is not None:
                self.replication.after_batch(now)
            record_event(engine, EVENT_EXPIRE_CYCLE, (perf_counter_ns() - start) // 1000, now)
            self.held_since_ms = 0

    async def _memory_loop(self) -> None:
        """The memory figure's refresh every 1000/hz ms and, while over maxmemory, bounded
        eviction steps back to back, with the clients served between them (Redis's
        eviction time proc): a lowered maxmemory is reached at once without a stall."""
        engine = self.engine
        wanted = trio.Event()

        def wake() -> None:
            wanted.set()

        engine.evictor.on_pending = wake
        while True:
            with trio.move_on_after(engine.expire_interval_ms() / 1000):
                await wanted.wait()
            wanted = trio.Event()
            while True:
                now = self.held_since_ms = self.clock()
                more = engine.memory_tick(now)
                if engine.pubsub.pending:
                    self._deliver_pushes(None)
                if self.replication is not None:
                    self.replication.after_batch(now)
                self.held_since_ms = 0
                if not more:
                    break
                await trio.sleep(0)

    async def _blocked_timeout_loop(self) -> None:
        """Answer blocked clients when their timeout passes (re-armed when one blocks)."""
        blocking = self.engine.blocking
        while True:
            self._timer_changed = trio.Event()
            deadline = blocking.next_deadline_ms()
            if deadline is None:
                await self._timer_changed.wait()
                continue
            with trio.move_on_after(max(0, deadline - self.clock()) / 1000):
                await self._timer_changed.wait()
            now = self.held_since_ms = self.clock()
            self._run_end_ns = perf_counter_ns()
            try:
                self._answer_unblocked(blocking.expire(now))
                self._serve_unblocked()
            except ShutdownRequested:  # parked behind a blocking command that timed out
                assert self._tasks is not None
                self._tasks.cancel()
                return
            self.held_since_ms = 0

    async def _trim_loop(self) -> None:
        """Return the memory of departed clients to the OS, as jemalloc's purging does for Redis.

        CPython frees a closed client's objects at once, but glibc keeps the
        freed heap pages (only the top of the heap is trimmed by itself).
        """
        trim = _malloc_trim()
        if trim is None:
            return
        while True:
            await trio.sleep(TRIM_INTERVAL_S)
            if self._trim_wanted:
                self._trim_wanted = False
                self._closed_since_trim = 0
                trim(0)

    async def _timeout_loop(self) -> None:
        """Close clients idle longer than `timeout` seconds (0 = never)."""
        while True:
            await trio.sleep(TIMEOUT_SWEEP_INTERVAL_S)
            limit_s = self.engine.config["timeout"]
            if not limit_s:
                continue
            cutoff = self.clock() - limit_s * 1000
            for conn in [c for c in self.conns.values() if c.session.last_ms < cutoff]:
                session = conn.session
                if session.blocked is None and not session.pubsub_count and not session.monitor:
                    self._drop(conn)


def _log_script(level: str, text: bytes) -> None:
    """redis.log: into the server's log at the matching level."""
    log.log({"debug": logging.DEBUG, "verbose": logging.DEBUG, "notice": logging.INFO,
             "warning": logging.WARNING}[level], "<script> %s", text.decode("utf-8", "replace"))


def _log_internal_error(argv: list[bytes], exc: Exception) -> None:
    """A command failed with a bug of ours: the client got an error reply; we log the trace."""
    shown = b" ".join(a[:64] for a in argv[:8])
    log.error("internal error running %r (the client got an error reply)", shown,
              exc_info=(type(exc), exc, exc.__traceback__))


def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's ``malloc_trim``, or None with another C library."""
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(name).malloc_trim if name else None  # type: ignore[no-any-return]
    except (OSError, AttributeError):
        return None


def adjust_open_files_limit(maxclients: int) -> int:
    """Raise RLIMIT_NOFILE to ``maxclients`` + `RESERVED_FDS`, as Redis does at start-up.

    When the hard limit forbids it, the soft limit goes as high as allowed and
    ``maxclients`` shrinks to fit, with Redis's warnings.

    Returns:
        The ``maxclients`` the server can honour.

    Raises:
        SystemExit: not even `RESERVED_FDS` descriptors are available.
    """
    wanted = maxclients + RESERVED_FDS
    try:
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    except (OSError, ValueError) as e:
        log.warning("Unable to obtain the current NOFILE limit (%s), assuming 1024 and setting "
                    "the max clients configuration accordingly.", e)
        return 1024 - RESERVED_FDS
    infinite = resource.RLIM_INFINITY
    if soft == infinite or soft >= wanted:
        return maxclients
    error = ""
    best = soft
    # Redis asks for `wanted` as both limits (root may raise the hard one), then
    # steps down; an unprivileged process can go no higher than its hard limit.
    for limit in dict.fromkeys([wanted, *([hard] if hard != infinite and hard < wanted else [])]):
        if limit <= soft:
            break
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (limit, max(limit, hard) if hard != infinite else hard))
        except OSError as e:
            error = e.strerror or str(e)
            continue
        except (ValueError, OverflowError):  # Python's word for EPERM here
            error = os.strerror(errno.EPERM)
            continue
        best = limit
        break
    if best >= wanted:
        log.warning("Increased maximum number of open files to %d (it was originally set to %d).",
                    wanted, soft)
        return maxclients
    if best <= RESERVED_FDS:
        log.warning("Your current 'ulimit -n' of %d is not enough for the server to start. "
                    "Please increase your open file limit to at least %d. Exiting.", soft, wanted)
        raise SystemExit(1)
    reduced = best - RESERVED_FDS
    log.warning("You requested maxclients of %d requiring at least %d max file descriptors.",
                maxclients, wanted)
    log.warning("Server can't set maximum open files to %d because of OS error: %s.", wanted, error)
    log.warning("Current maximum open files is %d. maxclients has been reduced to %d to compensate "
                "for low ulimit. If you need higher maxclients increase 'ulimit -n'.", best, reduced)
    return reduced


def _marked(commands: Iterator[list[bytes]], marks: list[Any]) -> Iterator[list[bytes]]:
    """`commands`, noting when the engine takes each one: a command ends when the next is taken.

    It takes one command at a time from `commands`, so what the engine did
    not run stays there (`_after_special` parks it).
    """
    for argv in commands:
        marks.append(perf_counter_ns())
        marks.append(argv)
        yield argv


def _normal_output_limits(spec: str) -> tuple[int, int, int]:
    """(hard, soft, soft seconds) of the ``normal`` class in client-output-buffer-limit."""
    from crdt.config import parse_memory

    words = spec.split()
    for i in range(0, len(words) - 3, 4):
        if words[i] == "normal":
            return (parse_memory(words[i + 1]) or 0, parse_memory(words[i + 2]) or 0,
                    int(words[i + 3]))
    return 0, 0, 0


def _fmt_addr(addr: Any) -> str:
    if isinstance(addr, tuple):
        host, port = addr[0], addr[1]
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    return str(addr)


async def serve(cfg: ServeConfig, attach: Callable[[RespServer], Any] | None = None) -> None:
    """Run a server until SIGINT, SIGTERM or SHUTDOWN, then close every connection and return.

    A signal the event loop cannot act on within `nodes.watchdog.GRACE_S`
    (a command holds it) ends the process from the watchdog thread; a second
    signal ends it at once. See `nodes.watchdog` for what is lost then.

    Args:
        cfg: the server's options.
        attach: builds what runs beside the server (a replicated server's
            `nodes.replica_serve.Replication`) from it: an object with an
            async ``run(task_status)``, started before clients are accepted
            and stopped with the server.
    """
    server = RespServer(cfg)
    liveness: Liveness | None = None
    try:
        async with trio.open_nursery() as nursery:
            liveness = Liveness(server, trio.lowlevel.current_trio_token(),
                                nursery.cancel_scope.cancel)
            liveness.install()
            if attach is not None:
                companion = attach(server)
                peer_port = await nursery.start(companion.run)
                log.warning("listening for peers on port %d", peer_port)
            stop_all = nursery.cancel_scope.cancel

            async def run_server(task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED) -> None:
                await server.run(task_status)  # returns after SHUTDOWN or the cancel
                stop_all()  # SHUTDOWN stops the companion too

            port = await nursery.start(run_server)
            # Start-up's objects (modules, the command table, config) live as long as the
            # process: out of the collector's sight, a full collection with thousands of
            # clients connected pauses the loop about half as long.
            gc.freeze()
            log.warning("gyrekv %s ready to accept connections on %s:%d",
                        _version(), cfg.host, port)
    finally:
        if liveness is not None:
            liveness.uninstall()


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("gyrekv")
    except PackageNotFoundError:
        return "dev"
