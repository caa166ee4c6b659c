"""SLOWLOG and LATENCY: the commands that held the server, kept and answered as Redis 7.0 does.

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
from typing import TYPE_CHECKING, Any

from crdt import errors
from crdt.args import to_int
from crdt.errors import CommandError
from crdt.session import Session
from crdt.table import container
from crdt.table import command as register
from protocol.replies import OK

if TYPE_CHECKING:
    from crdt.config import Config
    from crdt.engine import Engine
    from crdt.table import Command

ENTRY_MAX_ARGC = 32  # SLOWLOG_ENTRY_MAX_ARGC
ENTRY_MAX_STRING = 128  # SLOWLOG_ENTRY_MAX_STRING
GET_DEFAULT_COUNT = 10
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


def _resolve(engine: Engine, argv: list[bytes]) -> Command | None:
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


def record_command(engine: Engine, session: Session, argv: list[bytes], duration_us: int,
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


def record_event(engine: Engine, event: str, duration_us: int, now_ms: int) -> None:
    """A latency sample for work that is not a client's command (the expiry cycle)."""
    latency_ms = engine.config["latency-monitor-threshold"]
    if latency_ms and duration_us // 1000 >= latency_ms:
        engine.latency.add_sample(event, duration_us // 1000, now_ms)


def _help(name: str, lines: tuple[str, ...]) -> list[bytes]:
    out = [f"{name} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:", *lines,
           "HELP", "    Prints this help."]
    return [line.encode() for line in out]


# -- SLOWLOG -----------------------------------------------------------------------

container("slowlog", group="server", since="2.2.12", summary="A container for slow log commands")


@register("slowlog|get", -2, "admin loading stale", group="server", since="2.2.12",
          complexity="O(N) where N is the number of entries returned",
          summary="Get the slow log's entries", syntax="[count]",
          tips="request_policy:all_nodes nondeterministic_output",
          history=(("4.0.0", "Added client IP address, port and name to the reply."),))
def slowlog_get(s: Session, argv: list[bytes]) -> Any:
    """SLOWLOG GET [count]: the newest `count` entries (10; -1: all)."""
    if len(argv) > 3:
        raise CommandError(errors.subcommand_syntax(argv))
    entries = s.engine.slowlog.entries
    count = GET_DEFAULT_COUNT
    if len(argv) == 3:
        count = to_int(argv[2], errors.SLOWLOG_COUNT)
        if count < -1:
            raise CommandError(errors.SLOWLOG_COUNT)
        if count == -1:
            count = len(entries)
    return [entry.reply() for _, entry in zip(range(count), entries)]


@register("slowlog|len", 2, "admin loading stale", group="server", since="2.2.12",
          summary="Get the slow log's length",
          tips="request_policy:all_nodes response_policy:agg_sum nondeterministic_output")
def slowlog_len(s: Session, argv: list[bytes]) -> Any:
    """SLOWLOG LEN."""
    return len(s.engine.slowlog.entries)


@register("slowlog|reset", 2, "admin loading stale", group="server", since="2.2.12",
          complexity="O(N) where N is the number of entries in the slowlog",
          summary="Clear all entries from the slow log",
          tips="request_policy:all_nodes response_policy:all_succeeded")
def slowlog_reset(s: Session, argv: list[bytes]) -> Any:
    """SLOWLOG RESET: the entries go; ids keep counting, as in Redis."""
    s.engine.slowlog.entries.clear()
    return OK


_SLOWLOG_HELP = (
    "GET [<count>]",
    "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
    "    Entries are made of:",
    "    id, timestamp, time in microseconds, arguments array, client IP and port,",
    "    client name",
    "LEN",
    "    Return the length of the slowlog.",
    "RESET",
    "    Reset the slowlog.",
)


@register("slowlog|help", 2, "loading stale", group="server", since="6.2.0",
          summary="Show helpful text about the different subcommands")
def slowlog_help(s: Session, argv: list[bytes]) -> Any:
    """SLOWLOG HELP: Redis's lines."""
    return _help("SLOWLOG", _SLOWLOG_HELP)


# -- LATENCY -----------------------------------------------------------------------

container("latency", group="server", since="2.8.13",
          summary="A container for latency diagnostics commands")

_LATENCY_TIPS = "nondeterministic_output request_policy:all_nodes response_policy:special"


@register("latency|latest", 2, "admin noscript loading stale", group="server", since="2.8.13",
          summary="Return the latest latency samples for all events.", tips=_LATENCY_TIPS)
def latency_latest(s: Session, argv: list[bytes]) -> Any:
    """LATENCY LATEST: [event, unix time, latest ms, all-time max ms] per event."""
    out = []
    for event, series in s.engine.latency.events.items():
        time_s, latest = series.samples[-1]
        out.append([event.encode(), time_s, latest, series.max_ms])
    return out


@register("latency|history", 3, "admin noscript loading stale", group="server", since="2.8.13",
          summary="Return timestamp-latency samples for the event.", syntax="event",
          tips=_LATENCY_TIPS)
def latency_history(s: Session, argv: list[bytes]) -> Any:
    """LATENCY HISTORY event: [unix time, ms] pairs, oldest first (none for an unknown event)."""
    series = s.engine.latency.events.get(argv[2].decode(errors="replace"))
    if series is None:
        return []
    return [[time_s, ms] for time_s, ms in series.samples]


@register("latency|reset", -2, "admin noscript loading stale", group="server", since="2.8.13",
          summary="Reset latency data for one or more events.", syntax="[event [event ...]]",
          tips="request_policy:all_nodes response_policy:all_succeeded")
def latency_reset(s: Session, argv: list[bytes]) -> Any:
    """LATENCY RESET [event ...]: how many events had data and lost it (no event: all)."""
    events = s.engine.latency.events
    if len(argv) == 2:
        count = len(events)
        events.clear()
        return count
    count = 0
    for raw in argv[2:]:
        if events.pop(raw.decode(errors="replace"), None) is not None:
            count += 1
    return count


_LATENCY_HELP = (
    "HISTORY <event>",
    "    Return time-latency samples for the <event> class.",
    "LATEST",
    "    Return the latest latency samples for all events.",
    "RESET [<event> ...]",
    "    Reset latency data of one or more <event> classes.",
    "    (default: reset all data for all event classes)",
)


@register("latency|help", 2, "loading stale", group="server", since="2.8.13",
          summary="Show helpful text about the different subcommands.")
def latency_help(s: Session, argv: list[bytes]) -> Any:
    """LATENCY HELP: Redis's lines for the subcommands gyrekv has."""
    return _help("LATENCY", _LATENCY_HELP)
