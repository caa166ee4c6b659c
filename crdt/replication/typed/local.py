"""A local write as typed CRDT operations: what the engine now holds, turned into the key's delta.

Strategy: the engine runs Redis's commands (their semantics stay exactly
Redis's); replication then compares the value a key holds after a batch of
commands with what the key's `KeyCRDT` reads, and expresses the difference
as the typed operations of `crdt.replication.typed` (`local_write`). The
CRDT reads what the engine held before the batch, so the difference is what
the batch did:

* a string that changed is an assignment (the new text), except that a key
  the batch changed *only* by increments (INCR, INCRBY, DECR, DECRBY,
  INCRBYFLOAT: the engine notes them, `crdt.keyspace.Incremented`) is an
  increment of the exact difference, so concurrent increments add up;
* a set: new members are adds (and so are members SADD named again:
  Redis wrote them, so they survive a concurrent SREM), missing ones
  observed-removes;
* a hash: new or changed fields are assignments (increments when only
  HINCRBY/HINCRBYFLOAT changed them), missing fields are removed;
* a sorted set: new members and changed scores are assignments (increments
  when only ZINCRBY/ZADD INCR changed them), missing members removed;
* a list: the old and new element sequences are matched (common head and
  tail, then `difflib` over the middle): kept elements keep their identity,
  dropped ones are removed by identity, new runs are inserted as one
  contiguous batch between their neighbours, and an element replaced in
  place (LSET) is re-written at its position;
* the TTL, when it differs, is written; a key the engine no longer holds
  (DEL, expiry, eviction) is an observed-remove of the whole key;
* a key whose type changed claims it first (`KeyCRDT.claim`); a key whose
  TTL had passed is removed first (its replica expired it), then rebuilt.

A batch that wrote a key several times becomes one delta: only its net
effect travels. Within one batch an element both assigned and incremented
is an assignment of the final value. The CRDT's read after `local_write`
equals the engine's value (tested), so a replica's engine and its key
states never disagree.

Every delta carries at least one fresh dot (a remove-only delta records an
*operation dot* in its context only), so that the version vectors replicas
acknowledge cover removes too: garbage collection (`DotStore.compact`)
relies on it.

Pure: dots, timestamps and the engine value come from the caller.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Mapping
from difflib import SequenceMatcher
from fractions import Fraction
from typing import Any

from crdt.args import is_int
from crdt.commands.hashes import HashValue
from crdt.commands.lists import ListValue
from crdt.commands.sets import SetValue
from crdt.commands.zsets import ZSet
from crdt.errors import CommandError
from crdt.keyspace import string_bytes
from crdt.long_double import parse_long_double
from crdt.replication.clocks import Timestamp
from crdt.replication.images import Image
from crdt.replication.typed.context import Add, Assign, Dot, DotStore, Value, newest_assign
from crdt.replication.typed.key import KeyCRDT
from crdt.replication.typed.register import STRING_KEY, score_of, text_of
from crdt.replication.typed.rlist import Position, RList, between

__all__ = ["contents_of", "image_of_key", "join_delta", "local_write"]

_TEXT_TYPES = (bytes, bytearray, int)


def contents_of(value: Any) -> tuple[str, Any]:
    """An engine value as ``(type, contents)``: bytes, a list, a set, a field dict, a score dict.

    Raises:
        TypeError: a value of a type replication does not know.
    """
    text = string_bytes(value)
    if text is not None:
        return "string", text
    t = type(value)
    if t is ListValue:
        return "list", list(value)
    if t is SetValue:
        return "set", set(value.items)
    if t is HashValue:
        return "hash", dict(value.items())
    if t is ZSet:
        return "zset", dict(value.scores)
    raise TypeError(f"no typed replication for a value of type {t.__name__}")


def image_of_key(state: KeyCRDT, now_ms: int | None = None) -> Image | None:
    """What the engine must hold for a key state: an `Image` (canonical contents and TTL), or None
    when the key holds nothing (or, given ``now_ms``, its TTL has passed)."""
    entries = state.store.entries
    if len(entries) == 1 and STRING_KEY in entries:  # the usual key: a string without a TTL
        return Image("string", text_of(entries[STRING_KEY]), None)
    read = state.read()
    if read is None:
        return None
    kind, value = read
    expire_at = state.expire_at()
    if now_ms is not None and expire_at is not None and now_ms > expire_at:
        return None
    if kind == "string":
        return Image("string", value, expire_at)
    if kind == "list":
        return Image("list", tuple(value), expire_at)
    if kind == "set":
        return Image("set", tuple(value), expire_at)
    if kind == "hash":
        return Image("hash", tuple(value.items()), expire_at)
    return Image("zset", tuple(sorted(value)), expire_at)


def join_delta(into: DotStore, delta: DotStore) -> None:
    """Accumulate one delta into another (the join, keeping the ghosts a delta carries)."""
    into.merge(delta)
    for key, ranges in delta.ghosts.items():
        into.ghosts.setdefault(key, set()).update(ranges)


# --- exact totals of counters ------------------------------------------------------------------


def _exact(text: bytes) -> int | Fraction | None:
    """A counter's text as an exact number (None: not a finite number)."""
    if is_int(text):
        return int(text)
    try:
        parsed = parse_long_double(text)
    except CommandError:
        return None
    return None if isinstance(parsed, float) else parsed


def _exact_total(dots: Mapping[Dot, Value]) -> int | Fraction | None:
    """The un-rounded value of a register's dots: base (or 0) plus every increment (None: not a
    finite number, or an infinite increment)."""
    base = newest_assign(dots)
    total: int | Fraction = 0
    if base is not None:
        payload = base.payload
        if not isinstance(payload, bytes):
            return None
        parsed = _exact(payload)
        if parsed is None:
            return None
        total = parsed
    for v in dots.values():
        if isinstance(v, Add):
            if isinstance(v.amount, float):
                return None
            total = total + v.amount
    return total


def _score_total(dots: Mapping[Dot, Value]) -> Fraction | None:
    """A zset member's exact score (base or 0, plus increments); None when anything is infinite."""
    base = newest_assign(dots)
    total = Fraction(0)
    if base is not None:
        assert isinstance(base.payload, float)
        if math.isinf(base.payload):
            return None
        total = Fraction(base.payload)
    for v in dots.values():
        if isinstance(v, Add):
            if isinstance(v.amount, float):
                return None
            total += v.amount
    return total


def _increment(text: bytes, dots: Mapping[Dot, Value]) -> int | Fraction | None:
    """The increment that takes a register from its dots' value to ``text`` (None: assign instead)."""
    new = _exact(text)
    old = _exact_total(dots)
    if new is None or old is None:
        return None
    return new - old


# --- the diff ----------------------------------------------------------------------------------------


class _Writer:
    """Builds one delta from several typed operations on one key state."""

    __slots__ = ("state", "delta", "dot", "ts", "wrote")

    def __init__(self, state: KeyCRDT, dot: Callable[[], Dot], ts: Timestamp) -> None:
        self.state = state
        self.delta = DotStore()
        self.dot = dot
        self.ts = ts
        self.wrote = False

    def take(self, part: Any) -> None:
        store = part.store if not isinstance(part, DotStore) else part
        if store.entries or store.ctx.vv or store.ctx.cloud:
            if self.wrote:
                join_delta(self.delta, store)
            else:  # the first part is the delta so far (nothing else holds it)
                self.delta = store
            self.wrote = True

    def assign(self, key: Any, payload: bytes | float | None) -> None:
        self.take(self.state.store.write(key, self.dot(), Assign(self.ts, payload)))

    def add(self, key: Any, amount: int | Fraction) -> None:
        d = self.dot()
        self.take(self.state.store.write(key, d, Add(amount, d[1], self.ts), replace=False))

    def remove(self, keys: list[Any]) -> None:
        if keys:
            self.take(self.state.store.remove(keys))

    def finish(self) -> KeyCRDT | None:
        if not self.wrote:
            return None
        if not self.delta.entries:  # a remove-only delta: give it an operation dot (module doc)
            d = self.dot()
            self.delta.ctx.add(d)
            self.state.store.ctx.add(d)
        return KeyCRDT(self.delta)


def local_write(state: KeyCRDT, value: Any, expire_at: int | None, now_ms: int, *,
                incremented: Collection[bytes | None] = (), touched: Collection[bytes] = (),
                dot: Callable[[], Dot], ts: Timestamp) -> KeyCRDT | None:
    """Bring ``state`` to the engine's value for the key, in place; return the delta (module doc).

    Args:
        state: the key's CRDT state (what the engine held before the batch).
        value: the engine's value now (None: the key is gone).
        expire_at: the engine's absolute expiry for the key (ms), or None.
        now_ms: the local time (a state whose TTL has passed is removed first).
        incremented: the elements the batch changed only by increments: None for a string's
            value, a field for a hash, a member for a sorted set.
        touched: members or fields SADD, HSET or ZADD named: written again even when their
            value did not change (so they survive a concurrent remove, as Redis wrote them).
        dot: allocates a fresh dot (a node-wide counter).
        ts: the batch's hybrid timestamp for this key.

    Returns:
        The delta to replicate, or None when the key's state did not change.
    """
    if expire_at is None and not incremented and type(value) in _TEXT_TYPES:
        entries = state.store.entries
        if not entries or (len(entries) == 1 and STRING_KEY in entries):
            # The usual SET: a string without a TTL over a string without one (or nothing):
            # what the general path below does, without its checks.
            text = value if type(value) is bytes else string_bytes(value)
            return KeyCRDT(state.store.write(STRING_KEY, dot(), Assign(ts, text)))  # type: ignore[arg-type]
    w = _Writer(state, dot, ts)
    old_expiry = state.expire_at()
    if state.type() is not None and old_expiry is not None and now_ms > old_expiry:
        w.take(state.delete())  # it expired here: what it held is gone, the write starts afresh
    if value is None:
        if state.type() is not None:
            w.take(state.delete())
        return w.finish()
    kind, new = contents_of(value)
    w.take(state.claim(kind))
    store = state.store
    if kind == "string":
        dots = store.dots_of(STRING_KEY)
        amount = _increment(new, dots) if dots and None in incremented else None
        if None in incremented and not dots:
            amount = _exact(new)
        if amount is not None:
            if amount != 0 or not dots:  # INCRBY k 0 on a missing key creates it
                w.add(STRING_KEY, amount)
        else:
            w.assign(STRING_KEY, bytes(new))
    elif kind == "set":
        old = {inner for (t, inner) in store.entries if t == "set"}
        for member in sorted((new - old) | (new & set(touched))):
            w.assign(("set", member), None)
        w.remove([("set", m) for m in sorted(old - new)])
    elif kind == "hash":
        _diff_fields(w, "hash", new, incremented, touched)
    elif kind == "zset":
        _diff_scores(w, new, incremented, touched)
    else:
        _diff_list(w, new)
    if state.expire_at() != expire_at:
        w.assign(("ttl", b""), expire_at)
    return w.finish()


def _diff_fields(w: _Writer, tag: str, new: Mapping[bytes, bytes], incremented: Collection[bytes | None],
                 touched: Collection[bytes]) -> None:
    store = w.state.store
    old = {inner: text_of(dots) for (t, inner), dots in store.entries.items() if t == tag}
    for field in sorted(new):
        text = new[field]
        if old.get(field) == text and field not in touched:
            continue
        key = (tag, field)
        amount = _increment(text, store.dots_of(key)) if field in incremented else None
        if amount is not None:
            w.add(key, amount)
        else:
            w.assign(key, bytes(text))
    w.remove([(tag, f) for f in sorted(old) if f not in new])


def _same_score(a: float | None, b: float) -> bool:
    return a is not None and a == b and math.copysign(1.0, a) == math.copysign(1.0, b)


def _diff_scores(w: _Writer, new: Mapping[bytes, float], incremented: Collection[bytes | None],
                 touched: Collection[bytes]) -> None:
    store = w.state.store
    old = {inner: score_of(dots) for (t, inner), dots in store.entries.items() if t == "zset"}
    for member in sorted(new):
        score = new[member]
        if _same_score(old.get(member), score) and member not in touched:
            continue
        key = ("zset", member)
        total = _score_total(store.dots_of(key)) if member in incremented and not math.isinf(score) else None
        if total is not None:
            w.add(key, Fraction(score) - total)
        else:
            w.assign(key, float(score))
    w.remove([("zset", m) for m in sorted(old) if m not in new])


def _diff_list(w: _Writer, new: list[bytes]) -> None:
    view = RList(w.state.store)
    positions = view.positions()
    old = view.values()
    n_old, n_new = len(old), len(new)
    head = 0
    while head < n_old and head < n_new and old[head] == new[head]:
        head += 1
    tail = 0
    while tail < n_old - head and tail < n_new - head and old[n_old - 1 - tail] == new[n_new - 1 - tail]:
        tail += 1
    a, b = old[head:n_old - tail], new[head:n_new - tail]
    if not a and not b:
        return
    ops = SequenceMatcher(None, a, b, autojunk=False).get_opcodes() if a and b else (
        [("delete", 0, len(a), 0, 0)] if a else [("insert", 0, 0, 0, len(b))])
    removed: list[Any] = []
    for op, i1, i2, j1, j2 in ops:
        if op == "equal":
            continue
        if op == "replace" and i2 - i1 == j2 - j1:  # rewritten in place (LSET)
            for k in range(i2 - i1):
                w.assign(("list", positions[head + i1 + k]), bytes(b[j1 + k]))
            continue
        if op in ("delete", "replace"):
            removed.extend(("list", positions[head + i]) for i in range(i1, i2))
        if op in ("insert", "replace"):
            lo = positions[head + i1 - 1] if head + i1 > 0 else None
            hi = positions[head + i2] if head + i2 < n_old else None
            _insert_run(w, lo, hi, b[j1:j2])
    w.remove(removed)


def _insert_run(w: _Writer, lo: Position | None, hi: Position | None, values: list[bytes]) -> None:
    """Insert a run of elements between two neighbours as one contiguous batch: the first at a
    fresh position between them, the others just below it (a prefix sorts first)."""
    first_dot = w.dot()
    first = between(lo, hi, first_dot)
    writes = [(("list", first), first_dot, Assign(w.ts, bytes(values[0])))]
    for i, value in enumerate(values[1:], start=1):
        d = w.dot()
        writes.append((("list", first + ((i, d[0], d[1]),)), d, Assign(w.ts, bytes(value))))
    w.take(w.state.store.write_many(writes))
