"""Sorted sets: add-wins members, last-writer-wins scores, ZINCRBY as a counter.

Rules:

* Membership is an add-wins observed-remove set: ZREM (ZPOPMIN, ZREMRANGEBY*)
  removes the dots of the member this replica had seen; a concurrent ZADD or
  ZINCRBY of the member survives it.
* ZADD of a member is an assignment of its score: concurrent ZADDs resolve
  last-writer-wins by hybrid clock (ties: the larger score text).
* ZINCRBY is an increment: concurrent ZINCRBYs add up, and one concurrent
  with a ZADD is applied on top of the ZADD's score (the string counter rule).
  Active-Active treats every score as a counter; we keep ZADD as "set the
  score", which is what a single Redis does with it.
* The score is the exact sum rounded once to a double (+inf and -inf
  together read as 0). Single-node Redis rounds after each ZINCRBY; the two
  agree unless a chain of increments rounds differently.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from fractions import Fraction

from crdt.replication.clocks import Timestamp
from crdt.replication.typed.base import Typed
from crdt.replication.typed.context import Add, Assign, Dot
from crdt.replication.typed.register import score_of

__all__ = ["ZSetCRDT"]


class ZSetCRDT(Typed):
    """A sorted set: member -> score register."""

    TAG = "zset"
    __slots__ = ()

    def add(self, member: bytes, score: float, dot: Dot, ts: Timestamp) -> ZSetCRDT:
        """ZADD one member (the score the engine decided on). Returns the delta."""
        assert not math.isnan(score), score
        return self._wrap(self.store.write(("zset", bytes(member)), dot, Assign(ts, float(score))))

    def increment(self, member: bytes, amount: float, dot: Dot, ts: Timestamp) -> ZSetCRDT:
        """ZINCRBY (ZADD INCR): add ``amount``. Returns the delta."""
        assert not math.isnan(amount), amount
        exact = float(amount) if math.isinf(amount) else Fraction(amount)
        return self._wrap(self.store.write(("zset", bytes(member)), dot, Add(exact, dot[1], ts), replace=False))

    def remove(self, members: Iterable[bytes]) -> ZSetCRDT:
        """ZREM: remove what this replica saw of each member. Returns the delta."""
        return self._wrap(self.store.remove([("zset", bytes(m)) for m in members]))

    def score(self, member: bytes) -> float | None:
        """ZSCORE."""
        return score_of(self.store.dots_of(("zset", bytes(member))))

    def items(self) -> list[tuple[bytes, float]]:
        """ZRANGE 0 -1 WITHSCORES: by score, then member."""
        out = [(m, score_of(dots)) for m, dots in self._items()]
        out.sort(key=lambda ms: (ms[1], ms[0]))
        return out  # type: ignore[return-value]

    def __len__(self) -> int:
        return sum(1 for _ in self._items())
