"""Logical clocks for the replicated keyspace: hybrid timestamps and vector clocks.

Strategy: clocks are values. Nothing here reads the wall clock; the caller
passes ``now_ms`` (the real clock in production, a virtual one in the
simulator), so the same inputs always give the same timestamps.

* `Timestamp` is a hybrid logical clock (HLC) timestamp
  ``(physical_ms, logical, node_id)``, totally ordered field by field. The
  node id breaks ties, so timestamps from different nodes never compare
  equal; last-writer-wins registers order writes by it. JSON form:
  ``[physical_ms, logical, node_id]``.
* `hlc_now` and `hlc_observe` are the pure HLC rules (Kulkarni et al.,
  "Logical Physical Clocks", 2014): the physical part follows the largest
  clock reading seen, and the logical counter orders events within one
  millisecond, so timestamps stay strictly increasing on a node even when
  ``now_ms`` goes backwards or a peer's clock runs ahead.
  `HybridClock` is a tiny mutable holder of one node's last timestamp over
  those functions: it is per-node state owned by the node, not module state.
  There is no bound on how far a peer's clock may run ahead; a node that
  wants one checks ``remote.physical_ms - now_ms`` before observing.
* `VectorClock` is an immutable mapping node id -> counter, stored as a
  tuple of ``(node_id, counter)`` pairs sorted by node id with zero counters
  dropped, so equal clocks are equal field by field, hash alike and encode
  to the same JSON. `compare` returns an `Ordering`, never a bool.

`DecodeError` is raised by every ``from_json`` here and in `crdt.replication.lattices`:
the JSON comes from peers, so it is a `ProtocolError`.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from protocol.errors import ProtocolError

__all__ = [
    "DecodeError",
    "HybridClock",
    "Ordering",
    "Timestamp",
    "VectorClock",
    "hlc_now",
    "hlc_observe",
]


class DecodeError(ProtocolError, ValueError):
    """JSON from a peer that does not describe a valid clock or lattice value."""


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# --- hybrid logical clock --------------------------------------------------------


@dataclass(frozen=True, slots=True, order=True)
class Timestamp:
    """A hybrid logical clock timestamp, totally ordered.

    Comparison is lexicographic on ``(physical_ms, logical, node_id)``.

    Attributes:
        physical_ms: the largest clock reading (ms) known when it was made.
        logical: counter ordering events that share ``physical_ms``.
        node_id: the node that made it; the final tie-break.
    """

    physical_ms: int
    logical: int
    node_id: str

    def __post_init__(self) -> None:
        assert _is_int(self.physical_ms) and self.physical_ms >= 0, self
        assert _is_int(self.logical) and self.logical >= 0, self
        assert isinstance(self.node_id, str), self

    def to_json(self) -> list[Any]:
        """Encode as ``[physical_ms, logical, node_id]``.

        Returns:
            A three-element JSON list.
        """
        return [self.physical_ms, self.logical, self.node_id]

    @classmethod
    def from_json(cls, data: object) -> Timestamp:
        """Decode the output of `to_json`.

        Args:
            data: parsed JSON from a peer.

        Returns:
            The timestamp.

        Raises:
            DecodeError: ``data`` is not ``[int >= 0, int >= 0, str]``.
        """
        if not isinstance(data, list) or len(data) != 3:
            raise DecodeError(f"timestamp must be a list [physical_ms, logical, node_id], got {data!r}")
        physical_ms, logical, node_id = data
        if not (_is_int(physical_ms) and physical_ms >= 0 and _is_int(logical) and logical >= 0):
            raise DecodeError(f"timestamp counters must be non-negative integers, got {data!r}")
        if not isinstance(node_id, str):
            raise DecodeError(f"timestamp node id must be a string, got {data!r}")
        return cls(physical_ms, logical, node_id)


def hlc_now(last: Timestamp | None, node_id: str, now_ms: int) -> Timestamp:
    """The timestamp of a local event (a write, or sending a message).

    Args:
        last: this node's previous timestamp, or None before its first event.
        node_id: this node's id.
        now_ms: the current clock reading in ms; may go backwards.

    Returns:
        A timestamp for ``node_id`` strictly greater than ``last`` (when
        ``last`` is this node's) and with ``physical_ms >= now_ms``.
    """
    assert _is_int(now_ms) and now_ms >= 0, now_ms
    if last is None or now_ms > last.physical_ms:
        return Timestamp(now_ms, 0, node_id)
    return Timestamp(last.physical_ms, last.logical + 1, node_id)


def hlc_observe(last: Timestamp | None, remote: Timestamp, node_id: str, now_ms: int) -> Timestamp:
    """The timestamp of receiving an event stamped ``remote``.

    Args:
        last: this node's previous timestamp, or None before its first event.
        remote: the timestamp carried by the received message.
        node_id: this node's id.
        now_ms: the current clock reading in ms; may go backwards.

    Returns:
        A timestamp for ``node_id`` strictly greater than both ``last`` and
        ``remote`` (whatever their node ids).
    """
    assert _is_int(now_ms) and now_ms >= 0, now_ms
    last_pt = -1 if last is None else last.physical_ms
    physical = max(last_pt, remote.physical_ms, now_ms)
    if last is not None and physical == last_pt == remote.physical_ms:
        logical = max(last.logical, remote.logical) + 1
    elif last is not None and physical == last_pt:
        logical = last.logical + 1
    elif physical == remote.physical_ms:
        logical = remote.logical + 1
    else:
        logical = 0
    return Timestamp(physical, logical, node_id)


class HybridClock:
    """One node's hybrid logical clock: its id and its last timestamp.

    This object is mutable node state (like a counter the node owns); the
    timestamps it hands out are immutable. The rules themselves are the pure
    functions `hlc_now` and `hlc_observe`.
    """

    __slots__ = ("_last", "node_id")

    def __init__(self, node_id: str, last: Timestamp | None = None) -> None:
        """Create a clock.

        Args:
            node_id: the owning node's id, stamped on every timestamp.
            last: a timestamp to resume from (e.g. the largest one in a
                recovered keyspace), or None for a fresh node.
        """
        self.node_id = node_id
        self._last = last

    @property
    def last(self) -> Timestamp | None:
        """The most recent timestamp this clock produced, or None."""
        return self._last

    def now(self, now_ms: int) -> Timestamp:
        """Stamp a local event.

        Args:
            now_ms: the current clock reading in ms.

        Returns:
            A timestamp strictly greater than every earlier one from this
            clock.
        """
        self._last = hlc_now(self._last, self.node_id, now_ms)
        return self._last

    def observe(self, remote: Timestamp, now_ms: int) -> Timestamp:
        """Advance past a timestamp received from another node.

        Args:
            remote: the received timestamp.
            now_ms: the current clock reading in ms.

        Returns:
            The receive event's timestamp, greater than ``remote`` and than
            every earlier one from this clock; later `now` calls are greater
            still.
        """
        self._last = hlc_observe(self._last, remote, self.node_id, now_ms)
        return self._last

    def __repr__(self) -> str:
        return f"HybridClock({self.node_id!r}, last={self._last!r})"


# --- vector clocks ----------------------------------------------------------------


class Ordering(enum.Enum):
    """How two vector clocks (or versions) relate in causal order."""

    BEFORE = "before"
    AFTER = "after"
    EQUAL = "equal"
    CONCURRENT = "concurrent"

    def mirror(self) -> Ordering:
        """The ordering seen from the other side (BEFORE <-> AFTER).

        Returns:
            ``b.compare(a)`` given that this is ``a.compare(b)``.
        """
        if self is Ordering.BEFORE:
            return Ordering.AFTER
        if self is Ordering.AFTER:
            return Ordering.BEFORE
        return self


@dataclass(frozen=True, slots=True)
class VectorClock(Mapping[str, int]):
    """An immutable vector clock: node id -> number of events seen.

    A missing node counts as 0. Build one with `VectorClock()` (empty),
    `VectorClock.of({...})` or `from_json`.

    Attributes:
        entries: ``(node_id, counter)`` pairs sorted by node id, counters
            all positive. Use `of` rather than building this by hand.
    """

    entries: tuple[tuple[str, int], ...] = ()

    def __post_init__(self) -> None:
        nodes = [node for node, _ in self.entries]
        assert nodes == sorted(set(nodes)), f"entries must be sorted and unique: {self.entries!r}"
        assert all(isinstance(n, str) and _is_int(c) and c > 0 for n, c in self.entries), self.entries

    @classmethod
    def of(cls, counters: Mapping[str, int]) -> VectorClock:
        """Build a clock from a mapping.

        Args:
            counters: node id -> counter (>= 0); zero counters are dropped.

        Returns:
            The canonical clock.

        Raises:
            ValueError: a counter is negative or not an int.
        """
        for node, counter in counters.items():
            if not isinstance(node, str) or not _is_int(counter) or counter < 0:
                raise ValueError(f"vector clock entry must be str -> int >= 0, got {node!r}: {counter!r}")
        return cls(tuple(sorted((n, c) for n, c in counters.items() if c > 0)))

    # Mapping protocol (missing keys raise KeyError as a Mapping must;
    # `counter` returns 0 instead).
    def __getitem__(self, node: str) -> int:
        for n, c in self.entries:
            if n == node:
                return c
        raise KeyError(node)

    def __iter__(self) -> Iterator[str]:
        return (n for n, _ in self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    def counter(self, node: str) -> int:
        """The counter for ``node``.

        Args:
            node: a node id.

        Returns:
            Its counter, 0 when absent.
        """
        return self.get(node, 0)

    def increment(self, node: str, by: int = 1) -> VectorClock:
        """Count ``by`` more events at ``node``.

        Args:
            node: the node id.
            by: how many events (>= 0).

        Returns:
            A new clock; this one is unchanged.

        Raises:
            ValueError: ``by`` is negative.
        """
        if not _is_int(by) or by < 0:
            raise ValueError(f"increment must be a non-negative integer, got {by!r}")
        counters = dict(self.entries)
        counters[node] = counters.get(node, 0) + by
        return VectorClock.of(counters)

    def merge(self, other: VectorClock) -> VectorClock:
        """Pointwise maximum (the least upper bound).

        Args:
            other: another clock.

        Returns:
            A new clock that dominates both.
        """
        counters = dict(self.entries)
        for node, counter in other.entries:
            counters[node] = max(counters.get(node, 0), counter)
        return VectorClock(tuple(sorted(counters.items())))

    def compare(self, other: VectorClock) -> Ordering:
        """Relate two clocks in causal order.

        Args:
            other: another clock.

        Returns:
            EQUAL if identical, BEFORE if ``self`` <= ``other`` pointwise,
            AFTER if ``self`` >= ``other`` pointwise, else CONCURRENT.
        """
        mine, theirs = dict(self.entries), dict(other.entries)
        le = all(c <= theirs.get(n, 0) for n, c in mine.items())
        ge = all(c <= mine.get(n, 0) for n, c in theirs.items())
        if le and ge:
            return Ordering.EQUAL
        if le:
            return Ordering.BEFORE
        if ge:
            return Ordering.AFTER
        return Ordering.CONCURRENT

    def dominates(self, other: VectorClock) -> bool:
        """Whether ``self`` has seen everything ``other`` has (AFTER or EQUAL).

        Args:
            other: another clock.

        Returns:
            True when ``self`` >= ``other`` pointwise.
        """
        return self.compare(other) in (Ordering.AFTER, Ordering.EQUAL)

    # Partial order operators, like set's: a <= b iff b dominates a.
    def __le__(self, other: object) -> bool:
        if not isinstance(other, VectorClock):
            return NotImplemented
        return other.dominates(self)

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, VectorClock):
            return NotImplemented
        return self.compare(other) is Ordering.BEFORE

    def __ge__(self, other: object) -> bool:
        if not isinstance(other, VectorClock):
            return NotImplemented
        return self.dominates(other)

    def __gt__(self, other: object) -> bool:
        if not isinstance(other, VectorClock):
            return NotImplemented
        return self.compare(other) is Ordering.AFTER

    def to_json(self) -> dict[str, int]:
        """Encode as a JSON object with keys in sorted order.

        Returns:
            ``{node_id: counter}``; zero counters are omitted.
        """
        return dict(self.entries)

    @classmethod
    def from_json(cls, data: object) -> VectorClock:
        """Decode the output of `to_json`.

        Args:
            data: parsed JSON from a peer.

        Returns:
            The clock.

        Raises:
            DecodeError: ``data`` is not an object of non-negative integers.
        """
        if not isinstance(data, dict):
            raise DecodeError(f"vector clock must be a JSON object, got {data!r}")
        for node, counter in data.items():
            if not isinstance(node, str) or not _is_int(counter) or counter < 0:
                raise DecodeError(f"vector clock entry must be str -> int >= 0, got {node!r}: {counter!r}")
        return cls.of(data)

    def __repr__(self) -> str:
        return f"VectorClock({dict(self.entries)!r})"
