"""Liveness of `gyre serve`: SIGTERM/SIGINT stop it whatever the event loop does; a watchdog names what holds it.

Strategy: one daemon thread, started by `serve()`, watches the server from
outside the event loop. A thread can do that in CPython because the
interpreter hands the GIL to a waiting thread every ``sys.getswitchinterval()``
(5 ms) while the main thread runs Python bytecode, and whenever it sleeps or
waits in a system call.

- **Signals.** Our Python-level handler runs in the main thread at the next
  bytecode boundary (a ``time.sleep`` is interrupted for it). It asks the
  event loop for the graceful stop (close every connection, exit 0, as Redis
  exits 0 on SIGTERM) through `trio.lowlevel.TrioToken.run_sync_soon`, which
  needs the loop to run again, and it hands both signals back to the
  kernel's default action, so a second SIGINT or SIGTERM ends the process at
  once, whatever it is doing. If the graceful stop has not finished
  `GRACE_S` after the signal (a command is spinning in Python, DEBUG SLEEP
  is sleeping), the thread logs what holds the loop and re-raises the signal:
  the process ends as the signal's default action ends it (status -15 or -2
  to a parent, 143 or 130 in a shell), which says "stopped, not cleanly".
- **Watchdog.** The serving loop writes ``held_since_ms`` (the wall-clock
  start of the work it is doing, 0 while it waits in trio) once per poll
  batch. When that value stays the same for longer than ``watchdog-period``
  ms (a CONFIG parameter, Redis's name; 0 = off; gyrekv's default 1000), the
  thread logs one warning naming the command running (found in the main
  thread's frames), its client and where it is, and one more line when the
  loop moves on. Nothing runs per command.

What a forced stop loses: gyrekv keeps no persistence, so the data goes with
any stop; besides, the command in flight never answers, nor do the commands
queued behind it (pipelined, parked behind a blocking command), and replies
already made but not yet written to a socket (the poll batch's deferred
replies, the output buffers of slow readers) are not sent. Clients see the
connection close.

What the thread cannot preempt: a single long C call that holds the GIL
(say, one sort of a huge list) keeps every Python thread, and the Python-level
signal handler, waiting until it returns; only SIGKILL stops the process then.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from types import FrameType
from typing import Any, Protocol

import trio

from crdt.engine import Engine
from crdt.session import Session

log = logging.getLogger("gyre.server")

GRACE_S = 0.5  # how long the graceful stop may take before the signal is re-raised
TICK_MAX_S = 0.1  # the thread looks at the loop at least this often while the watchdog is on
TICK_MIN_S = 0.01
TICK_PER_PERIOD = 10  # ticks per watchdog period (a period of 200 ms is checked every 20 ms)
IDLE_TICK_S = 1.0  # with the watchdog off, the thread only waits for signals
JOIN_TIMEOUT_S = 1.0
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def held_by(thread_id: int) -> tuple[str, str]:
    """What the thread `thread_id` is running: (the command and its client, the code location).

    Walks the thread's frames from the innermost: the first frame with a
    `Session` in ``s`` or ``session`` names the client, and its ``argv`` (or
    the session's last command) the command.
    """
    frame = sys._current_frames().get(thread_id)
    if frame is None:
        return "nothing", "?"
    where = _location(frame)
    f: FrameType | None = frame
    while f is not None:
        local = f.f_locals
        session = local.get("session", local.get("s"))
        if isinstance(session, Session):
            argv = local.get("argv")
            name = argv[0] if isinstance(argv, list) and argv else session.last_cmd
            return (f"'{bytes(name).decode(errors='replace').lower()}' of client id={session.id} "
                    f"addr={session.addr} name={session.name.decode(errors='replace')}"), where
        f = f.f_back
    return "server work (no client command)", where


def _location(frame: FrameType) -> str:
    path = frame.f_code.co_filename
    parts = path.replace(os.sep, "/").rsplit("/", 2)
    short = "/".join(parts[-2:])
    return f"{short}:{frame.f_lineno} in {frame.f_code.co_name}"


class Watched(Protocol):
    """What the watchdog reads of the server it watches (`nodes.resp_server.RespServer`)."""

    held_since_ms: int  # when the loop began what it is doing; 0 while it waits
    engine: Engine
    clock: Callable[[], int]  # wall-clock ms


class Liveness:
    """The signal handlers and the watchdog thread of one `serve()` run."""

    def __init__(self, server: Watched, token: trio.lowlevel.TrioToken,
                 stop: Callable[[], None]) -> None:
        self.server = server
        self.token = token
        self.stop = stop  # run in the event loop: begins the graceful stop
        self.main_thread = threading.get_ident()
        self.signum = 0
        self.signal_at = 0.0
        self.finished = False
        self.wake = threading.Event()
        self.thread = threading.Thread(target=self._watch, name="gyre-watchdog", daemon=True)
        self.previous: dict[int, Any] = {}
        # The hold the watchdog reported: (held_since_ms, what) until the loop moves on.
        self.reported: tuple[int, str] | None = None

    # -- the main thread -------------------------------------------------------------

    def install(self) -> None:
        """Take SIGINT and SIGTERM and start the thread (call from the main thread)."""
        for signum in STOP_SIGNALS:
            self.previous[signum] = signal.signal(signum, self._on_signal)
        self.thread.start()

    def uninstall(self) -> None:
        """The graceful stop finished: stop the thread and give the handlers back."""
        self.finished = True
        self.wake.set()
        self.thread.join(JOIN_TIMEOUT_S)
        if not self.signum:  # after a signal both stay at the default action
            for signum, handler in self.previous.items():
                signal.signal(signum, handler)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        """The first SIGINT/SIGTERM: ask the loop to stop and arm the backstop."""
        if self.signum:
            return
        self.signum = signum
        self.signal_at = time.monotonic()
        for other in STOP_SIGNALS:  # a second signal: the kernel ends the process at once
            signal.signal(other, signal.SIG_DFL)
        try:
            self.token.run_sync_soon(self._graceful, signum)
        except trio.RunFinishedError:
            pass
        self.wake.set()

    def _graceful(self, signum: int) -> None:
        log.warning("received %s, shutting down", signal.Signals(signum).name)
        self.stop()

    # -- the thread ------------------------------------------------------------------

    def _watch(self) -> None:
        announced = False
        while not self.finished:
            self.wake.wait(self._tick())
            self.wake.clear()
            if self.finished:
                return
            if self.signum and not announced:
                announced = True
                self._announce()
            if self.signum and time.monotonic() - self.signal_at >= GRACE_S:
                self._force()
                return
            self._check_held()

    def _announce(self) -> None:
        """A signal came while a command holds the loop: say what happens next."""
        if self.server.held_since_ms:
            what, where = held_by(self.main_thread)
            log.warning("received %s while %s holds the event loop (at %s): the process ends in "
                        "%.1f s unless the loop stops first; a second signal ends it now",
                        signal.Signals(self.signum).name, what, where, GRACE_S)

    def _tick(self) -> float:
        period_ms = self.server.engine.config["watchdog-period"]
        tick = IDLE_TICK_S
        if period_ms:
            tick = min(max(period_ms / 1000 / TICK_PER_PERIOD, TICK_MIN_S), TICK_MAX_S)
        if self.signum:
            tick = min(tick, max(0.0, self.signal_at + GRACE_S - time.monotonic()))
        return tick

    def _check_held(self) -> None:
        """Log when the loop has been held longer than watchdog-period, and when it moves on."""
        server = self.server
        since = server.held_since_ms
        now = server.clock()
        if self.reported is not None and self.reported[0] != since:
            held_since, what = self.reported
            self.reported = None
            log.warning("WATCHDOG: %s released the event loop after about %d ms",
                        what, now - held_since)
        period_ms = server.engine.config["watchdog-period"]
        if not since or not period_ms or self.reported is not None or now - since < period_ms:
            return
        what, where = held_by(self.main_thread)
        self.reported = (since, what)
        log.warning("WATCHDOG: the event loop has been held for %d ms (watchdog-period %d) "
                    "by %s, now at %s", now - since, period_ms, what, where)

    def _force(self) -> None:
        """The graceful stop did not finish in time: log what holds the loop, end the process."""
        name = signal.Signals(self.signum).name
        what, where = held_by(self.main_thread)
        log.warning("%s: the event loop did not stop within %.1f s; it is held by %s at %s. "
                    "Stopping now: replies in flight and output not yet sent are lost",
                    name, GRACE_S, what, where)
        for handler in logging.getLogger().handlers:
            handler.flush()
        sys.stderr.flush()
        if self.finished:  # the graceful stop won the race after all
            return
        os.kill(os.getpid(), self.signum)  # the default action since `_on_signal`
        os._exit(128 + self.signum)  # in case the signal was caught after all
