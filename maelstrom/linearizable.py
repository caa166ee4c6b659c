"""Entry points of the linearizability checker.

Strategy: turn whatever the caller has (a :class:`History`, events, event
dicts or paired operations) into operations, pick the model by name, and hand
both to :func:`maelstrom.checker.check_operations`. The real clock is chosen
here and nowhere deeper.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from maelstrom.checker import check_operations
from maelstrom.history import Event, History, HistoryError, Operation
from maelstrom.models import get_model

HistoryLike = History | Iterable[Event] | Iterable[Mapping[str, Any]] | Iterable[Operation]


def to_operations(ops_or_events: HistoryLike) -> list[Operation]:
    """Normalise a history-like value into paired operations.

    Args:
        ops_or_events: A :class:`History`, or a sequence of :class:`Event`,
            event dicts (as decoded from JSON Lines) or :class:`Operation`.

    Returns:
        The operations, in invocation order.

    Raises:
        HistoryError: The events are malformed or badly paired.
    """
    if isinstance(ops_or_events, History):
        return ops_or_events.operations()
    items = list(ops_or_events)
    if not items:
        return []
    if all(isinstance(x, Operation) for x in items):
        return items  # type: ignore[return-value]
    history = History()
    for n, x in enumerate(items, start=1):
        where = f"event {n}"
        if isinstance(x, Event):
            history.append(x, where)
        elif isinstance(x, Mapping):
            history.append(Event.from_dict(dict(x), where), where)
        else:
            raise HistoryError(f"{where}: expected an event or an operation, got {type(x).__name__}")
    return history.operations()


def check_history(ops_or_events: HistoryLike, model: str = "cas-register", initial: Any = None,
                  time_limit_s: float | None = None,
                  clock: Callable[[], float] | None = None,
                  semantics: str = "strict") -> dict[str, Any]:
    """Check a history for linearizability.

    Args:
        ops_or_events: The history (see :func:`to_operations`).
        model: ``"cas-register"`` (Maelstrom lin-kv) or ``"kv"`` (adds append).
        initial: Every key's initial value; ``None`` means absent.
        time_limit_s: Give up with ``"unknown"`` after this many seconds.
        clock: The driver's monotonic clock in seconds; required with a time
            limit (see `maelstrom.checker.check_operations`).
        semantics: ``"strict"`` (ours: a failed cas with code 20/22 is an
            observation, a null read means absent) or ``"knossos"``
            (Maelstrom's: fails dropped, a null read matches anything).

    Returns:
        ``{"valid": True|False|"unknown", "seconds": float, "keys": {key: {...}},
        "failure": {...} or None, ...}`` (see :func:`maelstrom.checker.check_operations`).

    Raises:
        HistoryError: Malformed events.
        ValueError: Unknown model name or semantics.
        maelstrom.models.ModelError: An operation the model cannot interpret.
    """
    m = get_model(model, initial, semantics)
    return check_operations(to_operations(ops_or_events), m, time_limit_s=time_limit_s,
                            clock=clock)
