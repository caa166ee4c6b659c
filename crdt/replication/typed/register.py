"""Strings: last-writer-wins text, or a counter whose SET resets what it saw.

Rules (a string key; the same rules give hash fields and zset scores):

* SET, APPEND, SETRANGE, GETSET, SETEX, ... are *assignments*: the new text
  replaces every write and increment this replica had seen. Concurrent
  assignments are resolved last-writer-wins by hybrid logical clock (ties:
  the larger text), the Active-Active rule for strings.
* INCR, DECR, INCRBY, DECRBY and INCRBYFLOAT are *increments*: each is kept
  as its own amount (a PN-counter in delta form), so concurrent increments on
  different replicas add up.
* Value = the winning assignment (0 when none survives) + every increment no
  surviving assignment had seen. So a SET concurrent with INCRs resets the
  counter to the SET's value and the concurrent increments are kept on top of
  it; the increments the SET had seen are gone (Active-Active's counter rule).
* Text: an integer when the base is integer text and every increment is an
  integer (INCRBY); otherwise, when the base reads as a long double, the exact
  sum rounded once to a long double and printed as INCRBYFLOAT prints it
  (``%.17Lf``, trailing zeros cut). Single-node Redis rounds after every
  INCRBYFLOAT; the results agree except when a chain of float increments
  rounds differently. A base that is not a number (``SET k abc`` concurrent
  with ``INCR k``) reads as its text, hiding the increments until the next
  assignment; the engine keeps refusing INCR on it as Redis does.
* The sum is unbounded: concurrent INCRBYs may carry a counter past 2**63-1.
  Reads then show the big number; the engine refuses the next INCR with
  Redis's overflow error (Active-Active caps counters at 59 bits instead).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from fractions import Fraction
from typing import Final

from crdt.args import is_int
from crdt.errors import CommandError
from crdt.long_double import format_incr_float, parse_long_double, round_long_double
from crdt.replication.clocks import Timestamp
from crdt.replication.typed.base import Typed
from crdt.replication.typed.context import Add, Amount, Assign, Dot, Value, newest_assign

__all__ = ["STRING_KEY", "CounterRegister", "score_of", "text_of"]

#: The dot-store key of a string's value (its tag and an empty inner key).
STRING_KEY: Final = ("string", b"")


def text_of(dots: Mapping[Dot, Value]) -> bytes | None:
    """The Redis text of a register's dots (module doc), None when it has none."""
    if not dots:
        return None
    base = newest_assign(dots)
    adds = [v.amount for v in dots.values() if isinstance(v, Add)]
    text = None if base is None else base.payload
    assert text is None or isinstance(text, bytes), text
    if not adds:
        return text
    if text is None or is_int(text):
        start: Fraction | int = 0 if text is None else int(text)
        if all(type(a) is int for a in adds):
            return b"%d" % (start + sum(adds))  # type: ignore[operator]
    else:
        try:
            parsed = parse_long_double(text)
        except CommandError:
            return text
        if isinstance(parsed, float):  # inf: INCRBYFLOAT refuses it, so nothing was added locally
            return text
        start = parsed
    total = Fraction(start) + sum((Fraction(a) for a in adds), Fraction(0))  # type: ignore[arg-type]
    rounded = round_long_double(total)
    if isinstance(rounded, float):
        return b"inf" if rounded > 0 else b"-inf"
    return format_incr_float(rounded)


def score_of(dots: Mapping[Dot, Value]) -> float | None:
    """A zset member's score: its winning ZADD (or 0) plus every ZINCRBY it had not seen.

    The exact sum is rounded once to a double. +inf and -inf together read as 0.
    """
    if not dots:
        return None
    base = newest_assign(dots)
    parts: list[Amount] = [0.0 if base is None else base.payload]  # type: ignore[list-item]
    parts += [v.amount for v in dots.values() if isinstance(v, Add)]
    infinite = {p for p in parts if isinstance(p, float) and math.isinf(p)}
    if infinite:
        return next(iter(infinite)) if len(infinite) == 1 else 0.0
    total = sum((Fraction(p) for p in parts), Fraction(0))
    try:
        return float(total)
    except OverflowError:  # beyond a double: what repeated ZINCRBYs would reach
        return math.inf if total > 0 else -math.inf


class CounterRegister(Typed):
    """A string key's value: LWW text, or a counter with the SET-resets rule (module doc)."""

    TAG = "string"
    __slots__ = ()

    def assign(self, text: bytes, dot: Dot, ts: Timestamp) -> CounterRegister:
        """SET (and every write that computes new text: APPEND, SETRANGE, ...).

        Returns:
            The delta.
        """
        return self._wrap(self.store.write(STRING_KEY, dot, Assign(ts, bytes(text))))

    def increment(self, amount: int | Fraction, dot: Dot, ts: Timestamp) -> CounterRegister:
        """INCRBY (an int) or INCRBYFLOAT (the increment as `parse_long_double` read it).

        Returns:
            The delta.
        """
        assert isinstance(amount, int | Fraction) and not isinstance(amount, bool), amount
        return self._wrap(self.store.write(STRING_KEY, dot, Add(amount, dot[1], ts), replace=False))

    def delete(self) -> CounterRegister:
        """Observed-remove of the whole value (a concurrent write survives)."""
        return self._wrap(self.store.remove([STRING_KEY]))

    def text(self) -> bytes | None:
        """GET: the text, or None when absent."""
        return text_of(self.store.dots_of(STRING_KEY))
