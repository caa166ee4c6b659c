"""Dots, causal contexts and the dot store every typed CRDT here is built on.

Strategy (Almeida, Shoker, Baquero, "Delta state replicated data types",
2018): every write a replica makes is named by a *dot* ``(replica, counter)``,
unique forever. A state is a *dot store* (which dots are alive, under which
key, with which value) plus a *causal context* (every dot the state has
seen, alive or not). Join keeps a dot when both sides hold it, or when one
side holds it and the other has never seen it; a dot one side has seen but
no longer holds was removed there and stays removed. That one rule gives
add-wins and observed-remove semantics to every type: a remove (or a write
that replaces) only removes the dots its replica had seen, so a concurrent
write (a dot it had not seen) survives.

* `CausalContext`: a version vector (every counter up to ``vv[r]`` seen)
  plus a *dot cloud* of dots seen beyond it (out-of-order delivery, or dots
  of other keys when counters are node-wide). `compact` folds the cloud into
  the vector; `fold(stable)` also raises the vector to a causally stable one.
* `DotStore`: ``key -> {dot: value}`` plus a context. Values are `Assign`
  (a written payload with its hybrid timestamp: text, a score, a list
  element, or nothing for a set member) or `Add` (a counter increment). A
  local operation builds a small delta store (the new dots, and in its
  context the dots it replaced), merges it into the state and returns it:
  the delta is what travels, and merging a delta or a full state is the
  same join. Join is commutative, associative and idempotent.
* Removes leave no tombstones: a removed dot lives on only in the causal
  context, which compresses to one integer per replica.
* GC (`DotStore.compact`): given a causally stable vector (every replica
  has seen those dots, and this one has merged every operation concurrent
  with them), one replica's stable `Add` dots of a key are coalesced into
  its newest one (``Add.start`` records the oldest counter folded in; on the
  same dot the value with the smaller start wins, so replicas that compacted
  at different times still join to the same state), and the context's
  vector is raised to the stable one. A delta that removes or replaces a
  coalesced dot also carries a *ghost* ``(replica, start, counter)`` for its
  key, so a replica that has not compacted yet drops the parts it still
  holds separately; the parts are stable, so no replica can receive one for
  the first time later, and ghosts never need to be kept in a state.
  `Assign` dots need no GC: a write replaces the dots of the key it saw, so
  a key holds at most one `Assign` dot per replica that wrote it
  concurrently.
* Dots must be unique forever: pass a node-wide counter that survives
  restarts. `DotStore.next_dot` (one past the largest counter this state
  has seen for the replica) suits a store used alone, as in the tests.

Determinism: nothing depends on ``hash()`` or set order; JSON forms sort.
Peer JSON is validated and a bad one raises `DecodeError`, nothing else.
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Final, Protocol, TypeAlias

from crdt.replication.clocks import DecodeError, Timestamp, VectorClock

__all__ = [
    "DOT_COUNTER_MAX",
    "Add", "Amount", "Assign", "CausalContext", "Codec", "Dot", "DotStore", "Value",
    "amount_from_json", "amount_to_json", "check_dot", "dot_from_json",
]

Dot: TypeAlias = tuple[str, int]
#: A counter increment: an int (INCRBY, HINCRBY) or an exact fraction (INCRBYFLOAT, ZINCRBY),
#: or an infinite float (a ZINCRBY by inf).
Amount: TypeAlias = int | Fraction | float

#: Largest counter a peer may name (JSON integers beyond it are refused).
DOT_COUNTER_MAX: Final[int] = (1 << 63) - 1
#: Fractions from peers: hex digits of numerator and denominator (a long double needs ~4200).
FRACTION_DIGITS_MAX: Final[int] = 6000
#: Integer increments from peers: far beyond any sum of int64 INCRBYs, far below a slow int.
AMOUNT_INT_MAX: Final[int] = 1 << 127
_HEX_RE: Final = re.compile(r"[0-9a-f]{1,%d}" % FRACTION_DIGITS_MAX)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_dot(dot: object) -> Dot:
    """Assert ``dot`` is a ``(replica, counter >= 1)`` pair (our own bug otherwise)."""
    assert isinstance(dot, tuple) and len(dot) == 2 and isinstance(dot[0], str), dot
    assert _is_int(dot[1]) and dot[1] >= 1, dot
    return dot


def dot_from_json(data: object) -> Dot:
    """Decode ``[replica, counter]``.

    Raises:
        DecodeError: not a string and a counter ``1..DOT_COUNTER_MAX``.
    """
    if (not isinstance(data, list) or len(data) != 2 or not isinstance(data[0], str)
            or not _is_int(data[1]) or not 1 <= data[1] <= DOT_COUNTER_MAX):
        raise DecodeError(f"a dot must be [replica, counter >= 1], got {data!r:.80}")
    return (data[0], data[1])


# --- values ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Assign:
    """A written payload: the newest (by ``ts``) of a key's surviving `Assign` dots is the value.

    Attributes:
        ts: the write's hybrid timestamp.
        payload: bytes (text, hash value, list element), a float (zset score) or None (set member).
    """

    ts: Timestamp
    payload: bytes | float | None


@dataclass(frozen=True, slots=True)
class Add:
    """A counter increment, applied on top of the key's `Assign` (or 0).

    Attributes:
        amount: the increment (or the sum of coalesced ones).
        start: the smallest dot counter coalesced into this one (its own counter when alone).
        ts: the newest timestamp among them (for the type-conflict rule).
    """

    amount: Amount
    start: int
    ts: Timestamp


Value: TypeAlias = Assign | Add


def _rank(v: Value) -> tuple[Any, ...]:
    """A total order used only when two states hold one dot with different values."""
    if isinstance(v, Add):
        return (1, -v.start, v.ts, repr(v.amount))
    return (0, v.ts, repr(v.payload))


def join_values(a: Value, b: Value) -> Value:
    """The value of a dot both sides hold: equal in honest states, except a coalesced `Add`
    (smaller ``start``) beats the parts it absorbed; otherwise a fixed total order decides."""
    if a == b:
        return a
    return a if _rank(a) >= _rank(b) else b


def newest_assign(dots: Mapping[Dot, Value]) -> Assign | None:
    """The winning write among a key's dots: largest timestamp, then largest payload repr."""
    best: Assign | None = None
    for v in dots.values():
        if isinstance(v, Assign) and (best is None or (v.ts, repr(v.payload)) > (best.ts, repr(best.payload))):
            best = v
    return best


def newest_ts(dots: Mapping[Dot, Value]) -> Timestamp | None:
    """The largest timestamp among a key's dots (Assign or Add)."""
    return max((v.ts for v in dots.values()), default=None)


def amount_to_json(a: Amount) -> int | str:
    """An int as itself; a fraction as ``"n/d"`` in hexadecimal (a long double's exact value can
    need more decimal digits than Python will parse); an infinity as ``"inf"``/``"-inf"``."""
    if isinstance(a, float):
        return "inf" if a > 0 else "-inf"
    if isinstance(a, Fraction):
        return f"{a.numerator:x}/{a.denominator:x}"
    return a


def amount_from_json(data: object) -> Amount:
    """Inverse of `amount_to_json`.

    Raises:
        DecodeError: anything else (NaN, a malformed or huge fraction).
    """
    if _is_int(data):
        assert isinstance(data, int)
        if abs(data) <= AMOUNT_INT_MAX:
            return data
    elif data == "inf":
        return float("inf")
    elif data == "-inf":
        return float("-inf")
    elif isinstance(data, str) and len(data) <= 2 * FRACTION_DIGITS_MAX + 2:
        num, sep, den = data.partition("/")
        digits = num[1:] if num.startswith("-") else num
        if sep and _HEX_RE.fullmatch(digits) and _HEX_RE.fullmatch(den):
            d = int(den, 16)
            if d > 0:
                return Fraction(int(num, 16), d)
    raise DecodeError(f"an amount must be an integer (|n| <= 2**127), hex 'n/d', 'inf' or '-inf', got {data!r:.60}")


# --- causal context ------------------------------------------------------------------------------


class CausalContext:
    """Every dot a state has seen: a version vector plus a cloud of dots beyond it.

    Mutable (states are mutated in place by local operations and merges); `copy` for a snapshot.
    """

    __slots__ = ("vv", "cloud")

    def __init__(self, vv: Mapping[str, int] | None = None, cloud: Iterable[Dot] = ()) -> None:
        self.vv: dict[str, int] = {r: c for r, c in (vv or {}).items() if c > 0}
        self.cloud: set[Dot] = set(cloud)
        self.compact()

    def copy(self) -> CausalContext:
        out = CausalContext.__new__(CausalContext)
        out.vv = dict(self.vv)
        out.cloud = set(self.cloud)
        return out

    def __contains__(self, dot: Dot) -> bool:
        return dot[1] <= self.vv.get(dot[0], 0) or dot in self.cloud

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CausalContext):
            return NotImplemented
        return self.vv == other.vv and self.cloud == other.cloud

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"CausalContext({dict(sorted(self.vv.items()))!r}, cloud={sorted(self.cloud)!r})"

    def dot_count(self) -> int:
        """How many dots it covers (cheap: the sum of the vector plus the cloud)."""
        return sum(self.vv.values()) + len(self.cloud)

    def dots(self) -> Iterator[Dot]:
        """Every dot covered (use only when `dot_count` is small)."""
        for r, c in self.vv.items():
            for i in range(1, c + 1):
                yield (r, i)
        yield from self.cloud

    def max_counter(self, replica: str) -> int:
        """The largest counter seen for ``replica`` (0 if none)."""
        top = self.vv.get(replica, 0)
        for r, c in self.cloud:
            if r == replica and c > top:
                top = c
        return top

    def add(self, dot: Dot) -> None:
        """Record one dot as seen."""
        r, c = dot
        have = self.vv.get(r, 0)
        if c == have + 1:
            self.vv[r] = c
            self._fold(r)
        elif c > have:
            self.cloud.add(dot)

    def _fold(self, replica: str) -> None:
        c = self.vv.get(replica, 0)
        cloud = self.cloud
        while (replica, c + 1) in cloud:
            c += 1
            cloud.discard((replica, c))
        if c:
            self.vv[replica] = c

    def compact(self) -> None:
        """Fold cloud dots contiguous with the vector into it; drop those already covered."""
        if not self.cloud:
            return
        self.cloud = {d for d in self.cloud if d[1] > self.vv.get(d[0], 0)}
        for r in sorted({d[0] for d in self.cloud}):
            self._fold(r)

    def merge(self, other: CausalContext) -> None:
        """Union, in place (cost: the other's size, plus this cloud when a vector entry rises)."""
        vv = self.vv
        raised = [r for r, c in other.vv.items() if c > vv.get(r, 0)]
        for r in raised:
            vv[r] = other.vv[r]
        if raised and self.cloud:
            self.cloud = {d for d in self.cloud if d[1] > vv.get(d[0], 0)}
            for r in sorted(raised):
                self._fold(r)
        for d in other.cloud:
            self.add(d)

    def fold(self, stable: VectorClock) -> None:
        """Treat every dot up to the causally stable vector as seen, then compact."""
        for r, c in stable.entries:
            if c > self.vv.get(r, 0):
                self.vv[r] = c
        self.compact()

    def to_json(self) -> dict[str, Any]:
        """``{"vv": {replica: counter}, "cloud": [[replica, counter], ...]}``, sorted."""
        return {"vv": dict(sorted(self.vv.items())), "cloud": [list(d) for d in sorted(self.cloud)]}

    @classmethod
    def from_json(cls, data: object) -> CausalContext:
        """Decode `to_json` output from a peer.

        Raises:
            DecodeError: not ``{"vv": {...}, "cloud": [...]}`` of valid counters.
        """
        if not isinstance(data, dict) or set(data) != {"vv", "cloud"}:
            raise DecodeError(f"a causal context must be {{'vv', 'cloud'}}, got {data!r:.80}")
        vv, cloud = data["vv"], data["cloud"]
        if not isinstance(vv, dict) or not all(
                isinstance(r, str) and _is_int(c) and 0 <= c <= DOT_COUNTER_MAX for r, c in vv.items()):
            raise DecodeError(f"a version vector must map replicas to counters, got {vv!r:.80}")
        if not isinstance(cloud, list):
            raise DecodeError(f"a dot cloud must be a list, got {cloud!r:.80}")
        return cls(vv, [dot_from_json(d) for d in cloud])

    def size(self) -> int:
        """Metadata entries: one per replica in the vector plus one per cloud dot."""
        return len(self.vv) + len(self.cloud)


# --- dot store ------------------------------------------------------------------------------------

Key: TypeAlias = Hashable


class Codec(Protocol):
    """How one family of keys and payloads travels as JSON (see `crdt.replication.typed.codec`)."""

    def sort_key(self, key: Key) -> Any: ...
    def encode_key(self, key: Key) -> Any: ...
    def decode_key(self, data: object) -> Key: ...
    def encode_payload(self, key: Key, payload: Any) -> Any: ...
    def decode_payload(self, key: Key, data: object) -> Any: ...
    def check_amount(self, key: Key, amount: Amount) -> None: ...


class DotStore:
    """``key -> {dot: Value}`` with a causal context; the join of delta-state CRDTs.

    Attributes:
        entries: live dots by key (a key with no dot is absent).
        ctx: every dot seen.
    """

    __slots__ = ("entries", "ctx", "ghosts", "_where")

    def __init__(self, entries: Mapping[Key, Mapping[Dot, Value]] | None = None,
                 ctx: CausalContext | None = None) -> None:
        self.entries: dict[Key, dict[Dot, Value]] = {k: dict(v) for k, v in (entries or {}).items() if v}
        self.ctx = ctx if ctx is not None else CausalContext()
        #: Deltas only: key -> ``(replica, start, counter)`` ranges of coalesced dots removed.
        self.ghosts: dict[Key, set[tuple[str, int, int]]] = {}
        self._where: dict[Dot, Key] = {d: k for k, dots in self.entries.items() for d in dots}
        for d in self._where:
            assert d in self.ctx, f"a live dot must be in the context: {d!r}"

    # -- plumbing ---------------------------------------------------------------------------------

    def copy(self) -> DotStore:
        out = DotStore.__new__(DotStore)
        out.entries = {k: dict(v) for k, v in self.entries.items()}
        out.ctx = self.ctx.copy()
        out.ghosts = {k: set(v) for k, v in self.ghosts.items()}
        out._where = dict(self._where)
        return out

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, DotStore):
            return NotImplemented
        return self.entries == other.entries and self.ctx == other.ctx and self.ghosts == other.ghosts

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"DotStore({len(self.entries)} keys, {len(self._where)} dots, {self.ctx!r})"

    def next_dot(self, replica: str) -> Dot:
        """One past the largest counter seen for ``replica`` (for a store used alone)."""
        return (replica, self.ctx.max_counter(replica) + 1)

    def dots_of(self, key: Key) -> Mapping[Dot, Value]:
        """The live dots of ``key`` (empty when absent)."""
        return self.entries.get(key, {})

    def __contains__(self, key: Key) -> bool:
        return key in self.entries

    # -- local operations (each returns the delta it merged) ----------------------------------------

    def write(self, key: Key, dot: Dot, value: Value, *, replace: bool = True) -> DotStore:
        """Add ``dot`` under ``key``; with ``replace``, also remove the dots of ``key`` seen here.

        Args:
            key: where.
            dot: a fresh dot (never seen by this state).
            value: what it holds.
            replace: True for a write that overwrites (SET, SADD, HSET); False for one that
                accumulates (an increment keeps the key's other dots).

        Returns:
            The delta (already merged into this state).
        """
        check_dot(dot)
        assert dot not in self.ctx, f"dot {dot!r} was already used"
        delta = _blank()
        delta.entries = {key: {dot: value}}
        delta._where = {dot: key}
        delta.ctx.add(dot)
        self._apply_write(delta, key, dot, value, replace)
        return delta

    def _apply_write(self, delta: DotStore, key: Key, dot: Dot, value: Value, replace: bool) -> None:
        """What merging a one-key write's delta does, done directly: the replaced dots go (they are
        in the context already), the new one comes."""
        mine = self.entries.get(key)
        if mine is None:
            mine = self.entries[key] = {}
        elif replace and mine:
            self._forget(delta, key)
            where = self._where
            for d in mine:
                del where[d]
            mine.clear()
        mine[dot] = value
        self._where[dot] = key
        self.ctx.add(dot)

    def _forget(self, delta: DotStore, key: Key) -> None:
        """Put the dots of ``key`` seen here into ``delta``'s context (and ghosts for coalesced ones)."""
        for d, v in self.entries.get(key, {}).items():
            delta.ctx.add(d)
            if isinstance(v, Add) and v.start < d[1]:
                delta.ghosts.setdefault(key, set()).add((d[0], v.start, d[1]))

    def write_many(self, writes: Iterable[tuple[Key, Dot, Value]]) -> DotStore:
        """Several replacing writes to distinct keys as one delta (a multi-element push)."""
        delta = _blank()
        for key, dot, value in writes:
            check_dot(dot)
            assert dot not in self.ctx and key not in delta.entries, (dot, key)
            delta.entries[key] = {dot: value}
            delta._where[dot] = key
            delta.ctx.add(dot)
            self._apply_write(delta, key, dot, value, True)
        return delta

    def remove(self, keys: Iterable[Key]) -> DotStore:
        """Observed-remove: drop every dot of ``keys`` seen here (a concurrent write survives).

        Returns:
            The delta: no entries, a context holding the removed dots.
        """
        delta = _blank()
        entries, where = self.entries, self._where
        for key in keys:
            dots = entries.pop(key, None)
            if dots:
                entries[key] = dots  # `_forget` reads them
                self._forget(delta, key)
                del entries[key]
                for d in dots:
                    del where[d]
        return delta

    def clear(self) -> DotStore:
        """Observed-remove of every key (DEL, EXPIRE firing, eviction)."""
        return self.remove(list(self.entries))

    # -- join ------------------------------------------------------------------------------------------

    def merge(self, other: DotStore) -> DotStore:
        """Join ``other`` (a delta or a full state) into this state, in place.

        Returns:
            This state.
        """
        self.join(other)
        return self

    def join(self, other: DotStore) -> bool:
        """`merge`, telling whether the live dots changed (a dot added, removed or re-valued)."""
        if other is self:
            return False
        changed = False
        entries, where = self.entries, self._where
        # 1. our dots the other side has seen but no longer holds were removed there.
        octx = other.ctx
        if octx.dot_count() <= len(where):
            candidates = [d for d in octx.dots() if d in where]
        else:
            candidates = [d for d in where if d in octx]
        for d in candidates:
            key = where[d]
            theirs = other.entries.get(key)
            if theirs is None or d not in theirs:
                mine = entries[key]
                del mine[d]
                del where[d]
                changed = True
                if not mine:
                    del entries[key]
        # 2. their dots we hold too are joined; those we never saw are added.
        ctx = self.ctx
        for key, theirs in other.entries.items():
            mine = entries.get(key)
            for d, v in theirs.items():
                if mine is not None and d in mine:
                    held = mine[d]
                    if held != v:
                        mine[d] = join_values(held, v)
                        changed = changed or mine[d] is not held
                elif d not in ctx:
                    if mine is None:
                        mine = entries[key] = {}
                    mine[d] = v
                    where[d] = key
                    changed = True
        # 3. ghosts: coalesced dots the other side removed, held here one by one.
        for key, ranges in other.ghosts.items():
            mine = entries.get(key)
            if not mine:
                continue
            theirs = other.entries.get(key, {})
            for r, lo, hi in ranges:
                for d in [d for d in mine if d[0] == r and lo <= d[1] <= hi and d not in theirs]:
                    del mine[d]
                    del where[d]
                    changed = True
            if not mine:
                del entries[key]
        ctx.merge(octx)
        return changed

    def drop_older(self, ts: Timestamp) -> bool:
        """Drop every live dot whose value is older than ``ts`` (a flush mark), keeping them in the
        context (so they stay dropped); True if any was live."""
        doomed = [(key, d) for key, dots in self.entries.items() for d, v in dots.items() if v.ts < ts]
        for key, d in doomed:
            dots = self.entries[key]
            del dots[d]
            del self._where[d]
            if not dots:
                del self.entries[key]
        return bool(doomed)

    # -- GC --------------------------------------------------------------------------------------------

    def compact(self, stable: VectorClock) -> bool:
        """Drop metadata no replica needs any more (module doc); reads are unchanged.

        Args:
            stable: a causally stable vector. Every replica has acknowledged seeing every dot up to
                it, and this state has merged every dot any replica had made by the time it sent
                that acknowledgement (so every operation concurrent with a dot up to ``stable``
                is already here). The keyspace computes it: ``stable`` = pointwise minimum of the
                acknowledged vectors ``V_j``, usable once this replica's vector >= every ``V_j``.

        Returns:
            Whether anything changed (coalesced counter dots, or the context).
        """
        def is_stable(d: Dot) -> bool:
            return d[1] <= stable.counter(d[0])

        changed = False
        for key in list(self.entries):
            dots = self.entries[key]
            by_replica: dict[str, list[tuple[Dot, Add]]] = {}
            for d, v in dots.items():
                if isinstance(v, Add) and is_stable(d) and not isinstance(v.amount, float):  # infinities stay apart
                    by_replica.setdefault(d[0], []).append((d, v))
            if all(len(parts) < 2 for parts in by_replica.values()):
                continue
            keep = dict(dots)
            for parts in by_replica.values():
                if len(parts) < 2:
                    continue
                for d, _ in parts:
                    del keep[d]
                parts.sort()
                top = parts[-1][0]
                keep[top] = Add(_sum(v.amount for _, v in parts), min(v.start for _, v in parts),
                                max(v.ts for _, v in parts))
            for d in dots:
                if d not in keep:
                    del self._where[d]
            self.entries[key] = keep
            changed = True
        ctx = self.ctx
        before = (dict(ctx.vv), len(ctx.cloud))
        ctx.fold(stable)
        return changed or before != (ctx.vv, len(ctx.cloud))

    def metadata_size(self) -> int:
        """Metadata entries: live dots plus the context's vector entries and cloud dots."""
        return len(self._where) + self.ctx.size()

    def dot_count(self) -> int:
        return len(self._where)

    # -- JSON --------------------------------------------------------------------------------------------

    def to_json(self, codec: Codec) -> dict[str, Any]:
        """``{"ctx": context, "e": [[key, [[replica, counter, value], ...]], ...]}``, sorted.

        A value is ``["=", ts, payload]`` or ``["+", amount, start, ts]``.
        """
        body: dict[str, Any] = {"ctx": self.ctx.to_json(), "e": self.entries_json(codec)}
        if self.ghosts:
            body["g"] = [[codec.encode_key(k), [list(g) for g in sorted(self.ghosts[k])]]
                         for k in sorted(self.ghosts, key=codec.sort_key)]
        return body

    def entries_json(self, codec: Codec) -> list[Any]:
        """The live dots as `to_json` writes them (``"e"``): equal live contents, equal JSON."""
        out = []
        for key in sorted(self.entries, key=codec.sort_key):
            dots = self.entries[key]
            out.append([codec.encode_key(key), [[r, c, _value_to_json(dots[(r, c)], key, codec)]
                                                for r, c in sorted(dots)]])
        return out

    @classmethod
    def from_json(cls, data: object, codec: Codec) -> DotStore:
        """Decode `to_json` output from a peer.

        Args:
            codec: decodes and checks keys and payloads (raising `DecodeError`).

        Raises:
            DecodeError: the structure, a dot, a value, a repeated dot, or a live dot missing from
                the context.
        """
        if (not isinstance(data, dict) or not {"ctx", "e"} <= set(data) <= {"ctx", "e", "g"}
                or not isinstance(data["e"], list) or not isinstance(data.get("g", []), list)):
            raise DecodeError(f"a dot store must be {{'ctx', 'e', maybe 'g'}}, got {data!r:.80}")
        ctx = CausalContext.from_json(data["ctx"])
        store = cls(None, ctx)
        for item in data.get("g", []):
            if not isinstance(item, list) or len(item) != 2 or not isinstance(item[1], list):
                raise DecodeError(f"a ghost entry must be [key, ranges], got {item!r:.80}")
            ranges = set()
            for g in item[1]:
                if not isinstance(g, list) or len(g) != 3:
                    raise DecodeError(f"a ghost must be [replica, start, counter], got {g!r:.80}")
                r, lo = dot_from_json(g[:2])
                hi = dot_from_json([r, g[2]])[1]
                if lo >= hi or (r, hi) not in ctx:
                    raise DecodeError(f"a ghost must be a seen range start < counter, got {g!r:.80}")
                ranges.add((r, lo, hi))
            store.ghosts[codec.decode_key(item[0])] = ranges
        for item in data["e"]:
            if not isinstance(item, list) or len(item) != 2 or not isinstance(item[1], list):
                raise DecodeError(f"a dot store entry must be [key, dots], got {item!r:.80}")
            key = codec.decode_key(item[0])
            if key in store.entries:
                raise DecodeError("a dot store names a key twice")
            dots: dict[Dot, Value] = {}
            for raw in item[1]:
                if not isinstance(raw, list) or len(raw) != 3:
                    raise DecodeError(f"a dot entry must be [replica, counter, value], got {raw!r:.80}")
                dot = dot_from_json(raw[:2])
                if dot in store._where or dot in dots:
                    raise DecodeError(f"dot {dot!r} appears twice")
                if dot not in ctx:
                    raise DecodeError(f"live dot {dot!r} is missing from the context")
                dots[dot] = _value_from_json(raw[2], key, codec, dot)
            if dots:
                store.entries[key] = dots
                for d in dots:
                    store._where[d] = key
        return store


def _blank() -> DotStore:
    """An empty dot store, built without `DotStore.__init__`'s checks (nothing to check)."""
    out = DotStore.__new__(DotStore)
    ctx = CausalContext.__new__(CausalContext)
    ctx.vv, ctx.cloud = {}, set()
    out.entries, out.ctx, out.ghosts, out._where = {}, ctx, {}, {}
    return out


def _sum(amounts: Iterable[Amount]) -> Amount:
    total: Amount = 0
    for a in amounts:
        total = total + a
    return total


def _value_to_json(v: Value, key: Key, codec: Codec) -> list[Any]:
    if isinstance(v, Add):
        return ["+", amount_to_json(v.amount), v.start, v.ts.to_json()]
    return ["=", v.ts.to_json(), codec.encode_payload(key, v.payload)]


def _value_from_json(data: object, key: Key, codec: Codec, dot: Dot) -> Value:
    if isinstance(data, list) and len(data) == 3 and data[0] == "=":
        return Assign(Timestamp.from_json(data[1]), codec.decode_payload(key, data[2]))
    if isinstance(data, list) and len(data) == 4 and data[0] == "+":
        start = data[2]
        if not _is_int(start) or not 1 <= start <= dot[1]:
            raise DecodeError(f"an increment's start must be 1..its dot's counter, got {start!r:.40}")
        amount = amount_from_json(data[1])
        codec.check_amount(key, amount)
        return Add(amount, start, Timestamp.from_json(data[3]))
    raise DecodeError(f"a value must be ['=', ts, payload] or ['+', amount, start, ts], got {data!r:.80}")
