"""SLOWLOG and LATENCY: the commands that read and reset what `crdt.timings` keeps."""

from __future__ import annotations

from typing import Any

from crdt import errors
from crdt.args import to_int
from crdt.errors import CommandError
from crdt.session import Session
from crdt.table import command as register
from crdt.table import container
from protocol.replies import OK

GET_DEFAULT_COUNT = 10


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
