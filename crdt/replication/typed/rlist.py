"""Lists: a sequence CRDT over dense, totally ordered positions (a fractional index).

Strategy: every element sits at a *position*, a tuple of components
``(n, replica, counter)`` compared lexicographically (a prefix sorts first).
Positions are unique (each embeds the dot of the element that created it)
and dense (there is always one between two others), so the list is an
observed-remove map position -> element, read in position order. Every
replica sorts the same positions the same way, and removes leave no
tombstones (an RGA would keep them as anchors).

Rules:

* RPUSH puts its elements after the last position this replica sees, LPUSH
  before the first; one command's elements share a first component, so two
  replicas that push concurrently at the same end keep both batches whole,
  one after the other (ordered by replica id, then counter), never
  interleaved. Every concurrently pushed element is kept.
* LINSERT and the destination of LMOVE insert between the two neighbours
  they see; concurrent inserts into the same gap are ordered by replica id.
* LSET writes a new value at the element's position; concurrent LSETs of one
  element resolve last-writer-wins by hybrid clock.
* Pops: LPOP/RPOP/BLPOP/LMOVE's source, LREM and LTRIM remove exactly the
  elements the replica returned or dropped, by identity (their dots), never
  "whatever is at index 0 after merging". Two replicas that pop concurrently
  may both return the same element; it is removed once, and no pop removes an
  element on the other's behalf: after healing the list has lost the union
  of the popped elements, which is fewer than the number of pops when they
  overlapped. An element pushed concurrently is never removed by a pop, and
  one re-set by a concurrent LSET survives the pop (add/update wins).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TypeAlias

from crdt.replication.clocks import Timestamp
from crdt.replication.typed.base import Typed
from crdt.replication.typed.context import Assign, Dot, newest_assign

__all__ = ["Position", "RList", "between"]

Component: TypeAlias = tuple[int, str, int]
Position: TypeAlias = tuple[Component, ...]


def between(lo: Position | None, hi: Position | None, dot: Dot) -> Position:
    """A fresh position strictly between ``lo`` and ``hi`` (None: the list's ends).

    Args:
        lo: the left neighbour, or None at the head.
        hi: the right neighbour, or None at the tail; ``lo < hi``.
        dot: the new element's dot (makes the position unique).

    Returns:
        The position, kept as shallow as the neighbours allow.
    """
    r, c = dot
    if lo is None and hi is None:
        return ((0, r, c),)
    if hi is None:
        assert lo is not None
        return ((lo[0][0] + 1, r, c),)
    if lo is None:
        return ((hi[0][0] - 1, r, c),)
    assert lo < hi, (lo, hi)
    k = len(lo)
    i = 0
    while i < k and i < len(hi) and lo[i] == hi[i]:
        i += 1
    if i == k:  # hi extends lo
        return lo + ((hi[k][0] - 1, r, c),)
    assert i < len(hi) and lo[i] < hi[i], (lo, hi)
    if i + 1 < k:
        return lo[: i + 1] + ((lo[i + 1][0] + 1, r, c),)
    if lo[i][0] + 1 < hi[i][0]:
        return lo[:i] + ((lo[i][0] + 1, r, c),)
    return lo + ((0, r, c),)


class RList(Typed):
    """A list of byte strings (module doc). Indexes are 0-based, already normalized by the engine."""

    TAG = "list"
    __slots__ = ()

    def positions(self) -> list[Position]:
        """Every element's position, in list order."""
        return sorted(p for p, _ in self._items())

    def values(self) -> list[bytes]:
        """LRANGE 0 -1."""
        entries = self.store.entries
        out = []
        for p in self.positions():
            best = newest_assign(entries[("list", p)])
            assert best is not None and isinstance(best.payload, bytes)
            out.append(best.payload)
        return out

    def __len__(self) -> int:
        return sum(1 for _ in self._items())

    def _push(self, values: Sequence[bytes], dots: Sequence[Dot], ts: Timestamp, left: bool) -> RList:
        assert values and len(values) == len(dots), (values, dots)
        replica = dots[0][0]
        assert all(d[0] == replica for d in dots), dots
        ps = self.positions()
        if left:
            head = (ps[0][0][0] - 1) if ps else 0
        else:
            head = (ps[-1][0][0] + 1) if ps else 0
        first: Component = (head, replica, dots[0][1])
        m = len(values)
        writes = []
        for i, (value, dot) in enumerate(zip(values, dots, strict=True)):
            if m == 1:
                pos: Position = (first,)
            else:
                pos = (first, ((m - 1 - i) if left else i, replica, dot[1]))
            writes.append((("list", pos), dot, Assign(ts, bytes(value))))
        return self._wrap(self.store.write_many(writes))

    def push_left(self, values: Sequence[bytes], dots: Sequence[Dot], ts: Timestamp) -> RList:
        """LPUSH v1 v2 ...: the list then starts ... v2 v1 (as in Redis). One dot per value."""
        return self._push(values, dots, ts, left=True)

    def push_right(self, values: Sequence[bytes], dots: Sequence[Dot], ts: Timestamp) -> RList:
        """RPUSH v1 v2 ...: the list then ends v1 v2 ... One dot per value."""
        return self._push(values, dots, ts, left=False)

    def insert(self, index: int, value: bytes, dot: Dot, ts: Timestamp) -> RList:
        """Insert so that ``value`` ends up at ``index`` (0..len): LINSERT, LMOVE's destination."""
        ps = self.positions()
        assert 0 <= index <= len(ps), (index, len(ps))
        lo = ps[index - 1] if index > 0 else None
        hi = ps[index] if index < len(ps) else None
        return self._wrap(self.store.write(("list", between(lo, hi, dot)), dot, Assign(ts, bytes(value))))

    def set(self, index: int, value: bytes, dot: Dot, ts: Timestamp) -> RList:
        """LSET index value."""
        ps = self.positions()
        return self._wrap(self.store.write(("list", ps[index]), dot, Assign(ts, bytes(value))))

    def remove_at(self, indexes: Iterable[int]) -> RList:
        """Remove the elements at these indexes, by identity (LREM, LTRIM, pops). Returns the delta."""
        ps = self.positions()
        return self._wrap(self.store.remove([("list", ps[i]) for i in sorted(set(indexes))]))

    def pop_left(self, count: int = 1) -> tuple[list[bytes], RList]:
        """LPOP [count]: the popped values and the delta."""
        values = self.values()[:count]
        return values, self.remove_at(range(len(values)))

    def pop_right(self, count: int = 1) -> tuple[list[bytes], RList]:
        """RPOP [count]: the popped values (last first, as Redis answers) and the delta."""
        n = len(self)
        take = min(count, n)
        values = self.values()[n - take:][::-1]
        return values, self.remove_at(range(n - take, n))

    def trim(self, start: int, stop: int) -> RList:
        """LTRIM with normalized inclusive bounds: keep ``[start, stop]``, drop the rest."""
        n = len(self)
        return self.remove_at(i for i in range(n) if not start <= i <= stop)
