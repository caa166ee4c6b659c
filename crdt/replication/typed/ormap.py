"""Hashes: an observed-remove map of fields, each a register with the string rules.

Rules:

* HSET/HSETNX/HMSET of a field is an assignment to that field (`register`
  rules: last writer wins by hybrid clock among concurrent HSETs; it resets
  the field's counter).
* HINCRBY/HINCRBYFLOAT of a field is an increment: concurrent increments add
  up; an increment concurrent with an HSET is kept on top of the HSET's value.
* HDEL removes the dots of the field this replica had seen: a concurrent
  HSET (or HINCRBY) of the field survives, so a concurrent HDEL and HSET keep
  the HSET (add/update wins, Active-Active's observed-remove rule for fields).
* Fields are independent: writes to different fields never conflict.
"""

from __future__ import annotations

from collections.abc import Iterable
from fractions import Fraction

from crdt.replication.clocks import Timestamp
from crdt.replication.typed.base import Typed
from crdt.replication.typed.context import Add, Assign, Dot
from crdt.replication.typed.register import text_of

__all__ = ["ORHash"]


class ORHash(Typed):
    """A hash: field -> register (text or counter)."""

    TAG = "hash"
    __slots__ = ()

    def set(self, field: bytes, value: bytes, dot: Dot, ts: Timestamp) -> ORHash:
        """HSET one field. Returns the delta."""
        return self._wrap(self.store.write(("hash", bytes(field)), dot, Assign(ts, bytes(value))))

    def increment(self, field: bytes, amount: int | Fraction, dot: Dot, ts: Timestamp) -> ORHash:
        """HINCRBY (an int) or HINCRBYFLOAT (an exact fraction). Returns the delta."""
        assert isinstance(amount, int | Fraction) and not isinstance(amount, bool), amount
        return self._wrap(self.store.write(("hash", bytes(field)), dot, Add(amount, dot[1], ts), replace=False))

    def delete(self, fields: Iterable[bytes]) -> ORHash:
        """HDEL: remove what this replica saw of each field. Returns the delta."""
        return self._wrap(self.store.remove([("hash", bytes(f)) for f in fields]))

    def get(self, field: bytes) -> bytes | None:
        """HGET."""
        return text_of(self.store.dots_of(("hash", bytes(field))))

    def items(self) -> dict[bytes, bytes]:
        """HGETALL, fields sorted."""
        out = {f: text_of(dots) for f, dots in self._items()}
        return {f: out[f] for f in sorted(out)}  # type: ignore[misc]

    def __len__(self) -> int:
        return sum(1 for _ in self._items())
