"""Shared test helpers: free ports, a real Debian redis-server to compare against,
an engine box on virtual time, and the error texts many tests compare with."""

from __future__ import annotations

import queue
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from hypothesis import strategies as st

REDIS_SERVER = shutil.which("redis-server")
REDIS_START_TIMEOUT_S = 10.0


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def read_until_closed(sock: socket.socket) -> bytes:
    """Everything a server sends on `sock` until it closes it (``<reset>`` marks a reset)."""
    out = b""
    try:
        while chunk := sock.recv(65536):
            out += chunk
    except ConnectionResetError:
        out += b"<reset>"
    return out


@contextmanager
def real_redis_server(*extra_args: str, preexec_fn: Callable[[], None] | None = None,
                      startup_log: list[str] | None = None) -> Iterator[int]:
    """Run Debian's redis-server on a free loopback port with no persistence.

    Readiness is read from the server's own log line, not guessed with a sleep.
    ``preexec_fn`` runs in the child before exec (e.g. to set rlimits); the
    log lines before readiness are appended to ``startup_log`` if given.

    Yields:
        The port it listens on.
    """
    assert REDIS_SERVER is not None, "redis-server is not installed"
    port = free_port()
    with tempfile.TemporaryDirectory() as workdir:
        proc = subprocess.Popen(
            [REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", workdir, "--daemonize", "no",
             "--loglevel", "notice", "--logfile", "", *extra_args],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, preexec_fn=preexec_fn,
        )
        try:
            assert proc.stdout is not None
            for line in proc.stdout:
                if startup_log is not None:
                    startup_log.append(line.rstrip("\n"))
                if "Ready to accept connections" in line:
                    break
            else:
                raise RuntimeError(f"redis-server exited with {proc.wait()}")
            yield port
        finally:
            proc.terminate()
            proc.wait(timeout=REDIS_START_TIMEOUT_S)


# The command families (modules of crdt/commands/) whose COMMAND rows and docs the
# differential tests compare field for field, in two groups.
TABLE_MODULES = tuple("crdt.commands." + m for m in (
    "strings", "bits", "bitfield", "memory", "monitor", "keys", "expiry", "server",
    "introspection", "slowlog"))
COLLECTION_MODULES = tuple("crdt.commands." + m for m in (
    "lists", "sort", "hashes", "sets", "zsets", "zset_ops", "blocking"))

GYRE_READY_TEXT = "ready to accept connections on "


@contextmanager
def gyre_server(*extra_args: str) -> Iterator[int]:
    """Run `gyre serve --port 0` as a real process; yields the port it logged."""
    with gyre_process(*extra_args) as (port, _):
        yield port


@contextmanager
def gyre_process(*extra_args: str, preexec_fn: Callable[[], None] | None = None,
                 startup_log: list[str] | None = None) -> Iterator[tuple[int, subprocess.Popen[str]]]:
    """Run `gyre serve --port 0` as a real process; yields the port it logged and the process.

    Readiness and the port are read from the server's own log line; the lines
    before it are appended to ``startup_log`` if given.  ``preexec_fn`` runs
    in the child before exec.
    """
    import re
    import sys

    proc = subprocess.Popen(
        [sys.executable, "-m", "nodes.gyre_cli", "serve", "--port", "0", *extra_args],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, preexec_fn=preexec_fn,
    )
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            if startup_log is not None:
                startup_log.append(line.rstrip("\n"))
            if GYRE_READY_TEXT in line:
                m = re.search(r":(\d+)\s*$", line)
                assert m, line
                port = int(m.group(1))
                break
        else:
            raise RuntimeError(f"gyre serve exited with {proc.wait()}")
        yield port, proc
    finally:
        proc.terminate()
        proc.wait(timeout=REDIS_START_TIMEOUT_S)


T0_MS = 1_700_000_000_000  # a plausible wall-clock time in ms

# Error texts many test files compare with, spelled out here as Redis 7.0 words
# them (not imported from crdt/errors.py, so a typo there fails the tests).
WRONGTYPE = b"WRONGTYPE Operation against a key holding the wrong kind of value"
SYNTAX = b"ERR syntax error"
NOT_INTEGER = b"ERR value is not an integer or out of range"
NOT_FLOAT = b"ERR value is not a valid float"


def weighted(choices: list[tuple[int, st.SearchStrategy[Any]]]) -> st.SearchStrategy[Any]:
    """Draw from one of the strategies, picked with the given integer weights."""
    return st.sampled_from([s for w, s in choices for _ in range(w)]).flatmap(lambda s: s)


class EngineBox:
    """An engine, one session and a clock that only moves when a test says so.

    Call it like a client: ``box("SET", "k", "v")`` runs the command at
    ``box.now`` (ints and strs are encoded) and returns the reply value.
    """

    def __init__(self, engine: object | None = None, session: object | None = None,
                 now: int = T0_MS, seed: int = 0) -> None:
        import random

        from crdt.engine import Engine

        self.now = now
        self.engine: Any = engine if engine is not None else Engine(now_ms=now, rng=random.Random(seed))
        # session=False: the subclass opens its own session.
        self.session: Any = session if session is not None else self.engine.open_session(now)

    @property
    def db(self) -> Any:
        return self.session.db

    def dbn(self, index: int) -> Any:
        return self.engine.dbs[index]

    def __call__(self, *argv: bytes | str | int, session: Any = None) -> Any:
        args = [a if isinstance(a, bytes) else str(a).encode() for a in argv]
        return self.engine.execute(args, session if session is not None else self.session, self.now)

    def err(self, *argv: bytes | str | int, session: Any = None) -> bytes:
        """Run a command that must fail; its error text."""
        from protocol.replies import ErrorReply

        reply = self(*argv, session=session)
        assert isinstance(reply, ErrorReply), reply
        return bytes(reply)

    def put(self, key: bytes, value: Any = b"v", expire_at: int | None = None,
            db: int | None = None) -> None:
        """Store a value directly (bypassing commands), optionally with a TTL or in another db."""
        target = self.db if db is None else self.dbn(db)
        target.set(key, value, self.now, expire_at_ms=expire_at)


LOG_WAIT_S = 10.0  # for log lines that must come


class LogLines:
    """The server's log, line by line, read by a thread so a test can wait with a deadline."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        assert proc.stdout is not None
        stream = proc.stdout
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream: Iterator[str]) -> None:
        for line in stream:
            self.lines.put(line)
        self.lines.put("")  # the end

    def wait_for(self, pattern: str | re.Pattern[str], timeout_s: float = LOG_WAIT_S) -> re.Match[str]:
        regex = re.compile(pattern) if isinstance(pattern, str) else pattern
        deadline = time.monotonic() + timeout_s
        while True:
            line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            self.seen.append(line)
            m = regex.search(line)
            if m:
                return m

    def find(self, pattern: str, timeout_s: float = LOG_WAIT_S) -> re.Match[str]:
        """`wait_for`, but a line already read counts too."""
        regex = re.compile(pattern)
        for line in self.seen:
            m = regex.search(line)
            if m:
                return m
        return self.wait_for(regex, timeout_s)

    def rest(self) -> str:
        """Every line not read yet (call once the process has ended)."""
        while True:
            try:
                self.seen.append(self.lines.get(timeout=LOG_WAIT_S))
            except queue.Empty:
                return "".join(self.seen)
            if not self.seen[-1]:
                return "".join(self.seen)
