"""The slow log and the latency monitor: what held the server, kept as Redis 7.0 keeps it.

The SLOWLOG and LATENCY commands that read them are in `crdt.commands.slowlog`.

Strategy: the core reads no clock. The driver measures how long each command
held the event loop (see `nodes.resp_server`) and hands every command that took at
least `timing_threshold_us` to `record_command`, which applies Redis's rules
and keeps what they keep:

- the slow log (`slowlog-log-slower-than` µs, -1 off, 0 everything;
  `slowlog-max-len` entries, trimmed when an entry is added, as Redis trims):
  newest first, each entry [id, unix time, µs, argv, client addr, client
  name], argv as the client sent it, cut to 32 arguments and 128-byte strings
  with Redis's "... (N more arguments)" / "... (N more bytes)" notes, and the
  passwords of AUTH and HELLO ... AUTH shown as "(redacted)". Commands Redis
  does not log are not logged: unknown ones, wrong arity, unknown
  subcommands, the ``skip_slowlog`` ones (EXEC: Redis logs the commands inside
  it one by one, which gyrekv does not time separately).
- the latency monitor (`latency-monitor-threshold` ms, 0 off): per event
  ("command", "fast-command" for commands flagged fast, "expire-cycle" from
  the driver's expiry cycle), at most 160 samples of one per second (a second
  keeps its worst), the latest and the all-time maximum.

LATENCY DOCTOR, GRAPH and HISTOGRAM are not offered (unknown subcommand).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from crdt.config import Config
    from crdt.table import Command, CommandTable

ENTRY_MAX_ARGC = 32  # SLOWLOG_ENTRY_MAX_ARGC
ENTRY_MAX_STRING = 128  # SLOWLOG_ENTRY_MAX_STRING
LATENCY_SAMPLES_MAX = 160  # LATENCY_TS_LEN
REDACTED = b"(redacted)"
EVENT_COMMAND = "command"
EVENT_FAST_COMMAND = "fast-command"
EVENT_EXPIRE_CYCLE = "expire-cycle"


@dataclass(frozen=True, slots=True)
class SlowEntry:
    """One slow log entry, already cut to Redis's limits."""

    id: int
    time_s: int
    duration_us: int
    argv: tuple[bytes, ...]
    addr: bytes
    name: bytes

    def reply(self) -> list[Any]:
        return [self.id, self.time_s, self.duration_us, list(self.argv), self.addr, self.name]


@dataclass(slots=True)
class SlowLog:
    """The slow log: newest entry first."""

    entries: deque[SlowEntry] = field(default_factory=deque)
    next_id: int = 0

    def push(self, argv: list[bytes], duration_us: int, now_ms: int, addr: str, name: bytes,
             max_len: int) -> None:
        self.entries.appendleft(SlowEntry(self.next_id, now_ms // 1000, duration_us,
                                          entry_argv(argv), addr.encode(), name))
        self.next_id += 1
        while len(self.entries) > max_len:
            self.entries.pop()


@dataclass(slots=True)
class LatencySeries:
    """One event's samples (unix second, ms), oldest first, and its all-time maximum."""

    samples: deque[list[int]] = field(default_factory=lambda: deque(maxlen=LATENCY_SAMPLES_MAX))
    max_ms: int = 0


@dataclass(slots=True)
class LatencyMonitor:
    """Latency spikes per event, as Redis's latency monitor keeps them."""

    events: dict[str, LatencySeries] = field(default_factory=dict)

    def add_sample(self, event: str, latency_ms: int, now_ms: int) -> None:
        """Record a spike; a second sample in the same second keeps the larger one."""
        series = self.events.get(event)
        if series is None:
            series = self.events[event] = LatencySeries()
        series.max_ms = max(series.max_ms, latency_ms)
        now_s = now_ms // 1000
        if series.samples and series.samples[-1][0] == now_s:
            last = series.samples[-1]
            last[1] = max(last[1], latency_ms)
            return
        series.samples.append([now_s, latency_ms])


class Timed(Protocol):
    """What recording reads of the engine (a `crdt.engine.Engine`)."""

    table: CommandTable
    config: Config
    slowlog: SlowLog
    latency: LatencyMonitor


class Client(Protocol):
    """What a slow log entry keeps of the client that sent the command."""

    addr: str
    name: bytes


def entry_argv(argv: list[bytes]) -> tuple[bytes, ...]:
    """The arguments a slow log entry keeps: at most 32, each at most 128 bytes, with notes."""
    argc = len(argv)
    kept = min(argc, ENTRY_MAX_ARGC)
    out: list[bytes] = []
    for j in range(kept):
        if kept != argc and j == kept - 1:
            out.append(b"... (%d more arguments)" % (argc - kept + 1))
            break
        arg = argv[j]
        if len(arg) > ENTRY_MAX_STRING:
            arg = arg[:ENTRY_MAX_STRING] + b"... (%d more bytes)" % (len(arg) - ENTRY_MAX_STRING)
        out.append(bytes(arg))
    return tuple(out)


def _redacted(cmd: Command, argv: list[bytes]) -> list[bytes]:
    """argv with the secrets Redis 7.0 hides from the slow log (AUTH, HELLO's AUTH option)."""
    if cmd.name == "auth":
        return [argv[0]] + [REDACTED] * (len(argv) - 1)
    if cmd.name == "hello":
        out = list(argv)
        j = 2
        while j < len(out):
            opt = out[j].lower()
            if opt == b"auth" and j + 2 < len(out):
                out[j + 1] = out[j + 2] = REDACTED
                j += 3
            elif opt == b"setname" and j + 1 < len(out):
                j += 2
            else:
                break
        return out
    return argv


def _resolve(engine: Timed, argv: list[bytes]) -> Command | None:
    """The command `argv` ran (a subcommand for containers), or None if Redis would have refused it
    before running it (unknown name or subcommand, wrong arity)."""
    cmd = engine.table.get(argv[0])
    n = len(argv)
    if cmd is None or (n != cmd.arity and (cmd.arity > 0 or n < -cmd.arity)):
        return None
    if cmd.subcommands and (n > 1 or cmd.handler is None):
        sub = cmd.subcommands.get(argv[1]) or cmd.subcommands.get(argv[1].lower())
        if sub is None or (n != sub.arity and (sub.arity > 0 or n < -sub.arity)):
            return None
        cmd = sub
    return cmd


def timing_threshold_us(config: Config) -> int | None:
    """The shortest command duration either monitor wants to hear about, or None if both are off."""
    slower_than: int = config["slowlog-log-slower-than"]
    latency_ms: int = config["latency-monitor-threshold"]
    limits = [slower_than] if slower_than >= 0 else []
    if latency_ms > 0:
        limits.append(latency_ms * 1000)
    return min(limits) if limits else None


def record_command(engine: Timed, session: Client, argv: list[bytes], duration_us: int,
                   now_ms: int) -> None:
    """The driver's report: `argv` of `session` held the server for `duration_us`.

    Args:
        engine: the engine whose slow log and latency monitor keep it.
        session: the client that sent the command (its address and name go in the entry).
        argv: the command as the client sent it.
        duration_us: how long it ran, as the driver measured.
        now_ms: the wall clock, for the entry's timestamp.
    """
    if not argv:
        return
    cmd = _resolve(engine, argv)
    if cmd is None:
        return
    config = engine.config
    latency_ms = config["latency-monitor-threshold"]
    if latency_ms and duration_us // 1000 >= latency_ms:
        event = EVENT_FAST_COMMAND if "fast" in cmd.flags else EVENT_COMMAND
        engine.latency.add_sample(event, duration_us // 1000, now_ms)
    slower_than = config["slowlog-log-slower-than"]
    if slower_than < 0 or duration_us < slower_than or "skip_slowlog" in cmd.flags:
        return
    engine.slowlog.push(_redacted(cmd, argv), duration_us, now_ms, session.addr, session.name,
                        config["slowlog-max-len"])


def record_event(engine: Timed, event: str, duration_us: int, now_ms: int) -> None:
    """A latency sample for work that is not a client's command (the expiry cycle)."""
    latency_ms = engine.config["latency-monitor-threshold"]
    if latency_ms and duration_us // 1000 >= latency_ms:
        engine.latency.add_sample(event, duration_us // 1000, now_ms)
