"""Histories: an append-only record of invocations and completions, in JSON Lines.

Strategy. A history is the list of events a test run produced, in real-time
order: the position of an event in the list (its line in the file) is the
authority on "happened before"; the ``time`` field (nanoseconds since the
start of the run) is carried along for reports. Each event is a frozen
:class:`Event`. :class:`History` is the append-only container: a harness calls
:meth:`History.invoke` and :meth:`History.complete` (or :meth:`History.append`)
while a test runs, and the checker calls :meth:`History.operations` afterwards.

Every append is validated on the spot, so a bad file fails at its first bad
line with ``file:line: what is wrong`` (a :class:`HistoryError`), and a buggy
recorder fails at the call that broke the rules, never later inside a checker:

- ``type`` is one of invoke | ok | fail | info; ``f`` is a non-empty string;
  ``index`` and ``time`` are non-negative integers; ``process`` is an integer
  or a string (``"nemesis"``).
- A process has at most one invocation open. A completion needs an open
  invocation by the same process with the same ``f`` (and the same key, when
  the completion names one).

Pairing invocations with completions gives :class:`Operation` values: the
call, the return (``+inf`` for info, and for an invocation that never
completed, which counts as info), the input value, the output value and the
outcome. One line in the file is one ``orjson`` object; unknown fields are
kept in :attr:`Event.extra` and written back unchanged. This module parses and
writes the text (`History.loads`, `History.dumps`); reading and writing files
is the store's (`maelstrom.store.read_history`, `write_history`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal, overload

import orjson

EventType = Literal["invoke", "ok", "fail", "info"]
Outcome = Literal["ok", "fail", "info"]
Process = int | str

EVENT_TYPES: Final[tuple[str, ...]] = ("invoke", "ok", "fail", "info")
COMPLETION_TYPES: Final[frozenset[str]] = frozenset(("ok", "fail", "info"))
REQUIRED_FIELDS: Final[tuple[str, ...]] = ("index", "time", "process", "type", "f")
KNOWN_FIELDS: Final[frozenset[str]] = frozenset((*REQUIRED_FIELDS, "key", "value", "error"))
INFINITE_TIME: Final[float] = math.inf


class HistoryError(ValueError):
    """A history (a file, a line, or a recorder call) breaks the format rules.

    The message starts with ``source:line:`` when the event came from a file.
    """


@dataclass(frozen=True, slots=True)
class Event:
    """One line of a history.

    Attributes:
        index: The history's own event number (Maelstrom's ``:index``).
        time: Nanoseconds since the start of the run.
        process: The logical process (an int for clients, e.g. ``"nemesis"`` otherwise).
        type: invoke | ok | fail | info.
        f: The operation's function: read | write | cas | append | anything else.
        key: The key the operation is about; ``None`` when it has none.
        value: The invocation's argument or the completion's result (a read's
            ``ok`` carries the observed value, ``None`` meaning absent).
        error: For fail/info completions: a Maelstrom error name or code.
        extra: Any other fields of the line, kept verbatim.
    """

    index: int
    time: int
    process: Process
    type: EventType
    f: str
    key: Any = None
    value: Any = None
    error: Any = None
    extra: Mapping[str, Any] | None = field(default=None, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """The event as a JSON-ready dict (``key``/``error`` only when set)."""
        d: dict[str, Any] = {"index": self.index, "time": self.time, "process": self.process,
                             "type": self.type, "f": self.f}
        if self.key is not None:
            d["key"] = self.key
        d["value"] = self.value
        if self.error is not None:
            d["error"] = self.error
        if self.extra:
            d.update(self.extra)
        return d

    @classmethod
    def from_dict(cls, d: Any, where: str = "event") -> Event:
        """Build an event from a decoded JSON object, validating every field.

        Args:
            d: The decoded line.
            where: Prefix for error messages, e.g. ``"run.jsonl:12"``.

        Returns:
            The event.

        Raises:
            HistoryError: ``d`` is not an object, misses a required field, or a
                field has the wrong type.
        """
        if not isinstance(d, dict):
            raise HistoryError(f"{where}: expected a JSON object, got {type(d).__name__}")
        for name in REQUIRED_FIELDS:
            if name not in d:
                raise HistoryError(f"{where}: missing field {name!r}")
        extra = {k: v for k, v in d.items() if k not in KNOWN_FIELDS} or None
        return _validated(where, d["index"], d["time"], d["process"], d["type"], d["f"],
                          d.get("key"), d.get("value"), d.get("error"), extra)


def _validated(where: str, index: Any, time: Any, process: Any, type_: Any, f: Any,
               key: Any, value: Any, error: Any, extra: Mapping[str, Any] | None) -> Event:
    if not _is_int(index) or index < 0:
        raise HistoryError(f"{where}: 'index' must be a non-negative integer, got {index!r}")
    if not _is_int(time) or time < 0:
        raise HistoryError(f"{where}: 'time' must be a non-negative integer (ns), got {time!r}")
    if not (_is_int(process) or isinstance(process, str)):
        raise HistoryError(f"{where}: 'process' must be an integer or a string, got {process!r}")
    if type_ not in EVENT_TYPES:
        raise HistoryError(f"{where}: 'type' must be one of {', '.join(EVENT_TYPES)}, got {type_!r}")
    if not isinstance(f, str) or not f:
        raise HistoryError(f"{where}: 'f' must be a non-empty string, got {f!r}")
    if isinstance(key, (dict, list)):
        raise HistoryError(f"{where}: 'key' must be a scalar, got {key!r}")
    return Event(index, time, process, type_, f, key, value, error, extra)


def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


@dataclass(frozen=True, slots=True)
class Operation:
    """An invocation paired with its completion.

    Attributes:
        process: The process that ran it.
        f: The function (read, write, cas, append, ...).
        key: The key, or ``None`` for key-less operations (nemesis ops).
        value: The invocation's value (the input).
        output: The completion's value (``None`` when there is no completion).
        outcome: ok | fail | info (a missing completion is info).
        error: The completion's error, if any.
        call_time: Invocation time (ns).
        return_time: Completion time (ns); ``math.inf`` for info.
        call_index: Position of the invocation in the history (0-based).
        return_index: Position of the completion, ``None`` if it never came.
        index: The invocation event's own ``index`` field (for reports).
    """

    process: Process
    f: str
    key: Any
    value: Any
    output: Any
    outcome: Outcome
    error: Any
    call_time: int
    return_time: float
    call_index: int
    return_index: int | None
    index: int

    def to_dict(self) -> dict[str, Any]:
        """The operation as a JSON-ready dict (an infinite return time becomes ``None``)."""
        return {"index": self.index, "process": self.process, "f": self.f, "key": self.key,
                "value": self.value, "output": self.output, "type": self.outcome,
                "error": self.error, "call_time": self.call_time,
                "return_time": None if math.isinf(self.return_time) else int(self.return_time)}


class History:
    """An append-only list of events with per-process invocation tracking.

    Use it as a recorder (``invoke``/``complete``), or load one from a file.
    Indexing, iteration and ``len`` work as on a list of :class:`Event`.

    Args:
        events: Events to append (each one is validated as by :meth:`append`).
        source: Name used in error messages (a file name, usually).
    """

    def __init__(self, events: Iterable[Event] = (), source: str = "history") -> None:
        self._events: list[Event] = []
        self._open: dict[Process, int] = {}
        self.source = source
        # `operations`' answer and how many events it was made from (events are only appended,
        # and operations are immutable: every checker of a run asks, so it is paired once).
        self._ops: tuple[int, list[Operation]] | None = None
        for event in events:
            self.append(event)

    # -- list-like ---------------------------------------------------------

    def __len__(self) -> int:
        return len(self._events)

    def __iter__(self) -> Iterator[Event]:
        return iter(self._events)

    @overload
    def __getitem__(self, i: int) -> Event: ...

    @overload
    def __getitem__(self, i: slice) -> list[Event]: ...

    def __getitem__(self, i: int | slice) -> Event | list[Event]:
        return self._events[i]

    def __repr__(self) -> str:
        return f"History({len(self._events)} events, {len(self._open)} open, source={self.source!r})"

    @property
    def events(self) -> tuple[Event, ...]:
        """A snapshot of the events recorded so far."""
        return tuple(self._events)

    @property
    def open_processes(self) -> frozenset[Process]:
        """Processes with an invocation that has not completed yet."""
        return frozenset(self._open)

    # -- recording ---------------------------------------------------------

    def append(self, event: Event, where: str | None = None) -> Event:
        """Append one event after checking it against the open invocations.

        Args:
            event: The event.
            where: Prefix for error messages; defaults to ``source:line``.

        Returns:
            The event.

        Raises:
            HistoryError: Two open invocations for one process, or a completion
                with no matching invocation.
        """
        where = where or f"{self.source}:{len(self._events) + 1}"
        if event.type == "invoke":
            if event.process in self._open:
                first = self._events[self._open[event.process]]
                raise HistoryError(f"{where}: process {event.process!r} invokes {event.f!r} while its "
                                   f"{first.f!r} (index {first.index}) has not completed")
            self._open[event.process] = len(self._events)
        else:
            pos = self._open.get(event.process)
            if pos is None:
                raise HistoryError(f"{where}: {event.type!r} completion of {event.f!r} by process "
                                   f"{event.process!r}, which has no open invocation")
            inv = self._events[pos]
            if inv.f != event.f:
                raise HistoryError(f"{where}: process {event.process!r} completes {event.f!r} but "
                                   f"invoked {inv.f!r} (index {inv.index})")
            if event.key is not None and event.key != inv.key:
                raise HistoryError(f"{where}: completion key {event.key!r} differs from the "
                                   f"invocation's key {inv.key!r} (index {inv.index})")
            del self._open[event.process]
        self._events.append(event)
        return event

    def record(self, *, time: int, process: Process, type: EventType, f: str, key: Any = None,
               value: Any = None, error: Any = None, **extra: Any) -> Event:
        """Build, validate and append an event; ``index`` is the next position.

        Args:
            time: Nanoseconds since the start of the run.
            process: The process.
            type: invoke | ok | fail | info.
            f: The function.
            key: The key, if any.
            value: The value.
            error: The error of a fail/info completion.
            **extra: Extra fields to keep (e.g. ``final=True``).

        Returns:
            The appended event.

        Raises:
            HistoryError: A field is invalid or the pairing rules are broken.
        """
        where = f"{self.source}:{len(self._events) + 1}"
        event = _validated(where, len(self._events), time, process, type, f, key, value, error,
                           extra or None)
        return self.append(event, where)

    def invoke(self, *, time: int, process: Process, f: str, key: Any = None, value: Any = None,
               **extra: Any) -> Event:
        """Record an invocation (see :meth:`record`)."""
        return self.record(time=time, process=process, type="invoke", f=f, key=key, value=value,
                           **extra)

    def complete(self, *, time: int, process: Process, type: EventType, value: Any = None,
                 error: Any = None, **extra: Any) -> Event:
        """Record the completion of ``process``'s open invocation.

        ``f`` and ``key`` are copied from the invocation.

        Args:
            time: Nanoseconds since the start of the run.
            process: The process whose invocation completes.
            type: ok | fail | info.
            value: The result (a read's observed value) or the input echoed back.
            error: Error name or code for fail/info.
            **extra: Extra fields to keep.

        Returns:
            The appended event.

        Raises:
            HistoryError: ``process`` has no open invocation, or ``type`` is not a completion.
        """
        if type not in COMPLETION_TYPES:
            raise HistoryError(f"{self.source}: complete() needs ok, fail or info, got {type!r}")
        pos = self._open.get(process)
        if pos is None:
            raise HistoryError(f"{self.source}: process {process!r} has no open invocation")
        inv = self._events[pos]
        return self.record(time=time, process=process, type=type, f=inv.f, key=inv.key,
                           value=value, error=error, **extra)

    # -- analysis ----------------------------------------------------------

    def operations(self) -> list[Operation]:
        """Pair every invocation with its completion, in invocation order.

        Returns:
            One :class:`Operation` per invocation. An invocation with no
            completion is an ``info`` operation with ``return_index=None``;
            ``info`` operations have ``return_time = inf``. A new list each call.
        """
        cached = self._ops
        if cached is not None and cached[0] == len(self._events):
            return list(cached[1])
        done: dict[int, int] = {}
        open_: dict[Process, int] = {}
        for pos, e in enumerate(self._events):
            if e.type == "invoke":
                open_[e.process] = pos
            else:
                done[open_.pop(e.process)] = pos
        ops: list[Operation] = []
        for pos, e in enumerate(self._events):
            if e.type != "invoke":
                continue
            rpos = done.get(pos)
            c = self._events[rpos] if rpos is not None else None
            outcome: Outcome = c.type if c is not None else "info"  # type: ignore[assignment]
            ops.append(Operation(
                process=e.process, f=e.f, key=e.key, value=e.value,
                output=c.value if c is not None else None, outcome=outcome,
                error=c.error if c is not None else None, call_time=e.time,
                return_time=INFINITE_TIME if outcome == "info" else float(c.time),  # type: ignore[union-attr]
                call_index=pos, return_index=rpos, index=e.index))
        self._ops = (len(self._events), ops)
        return list(ops)

    # -- JSON Lines ----------------------------------------------------------

    def dumps(self) -> bytes:
        """The history as JSON Lines (one event per line, newline-terminated)."""
        opts = orjson.OPT_NON_STR_KEYS | orjson.OPT_APPEND_NEWLINE
        return b"".join([orjson.dumps(e.to_dict(), option=opts) for e in self._events])

    @classmethod
    def loads(cls, data: bytes | str, source: str = "<string>") -> History:
        """Parse JSON Lines; blank lines are skipped.

        Args:
            data: The text.
            source: Name for error messages.

        Returns:
            The history.

        Raises:
            HistoryError: A line is not JSON, not an event, or breaks pairing.
        """
        if isinstance(data, str):
            data = data.encode()
        history = cls(source=source)
        for lineno, line in enumerate(data.split(b"\n"), start=1):
            if not line.strip():
                continue
            where = f"{source}:{lineno}"
            try:
                obj = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                raise HistoryError(f"{where}: not valid JSON ({exc})") from None
            history.append(Event.from_dict(obj, where), where)
        return history
