"""Set commands: SADD/SREM/SMEMBERS..., SPOP/SRANDMEMBER, SMOVE, the algebra (SINTER, SUNION,
SDIFF, their STORE forms, SINTERCARD) and SSCAN.

Strategy:
- A stored set is a `SetValue`: a list of members plus a member -> index
  dict. Add appends; remove moves the last member into the hole; so SADD,
  SREM, SISMEMBER, SPOP and SRANDMEMBER are O(1) (a random member is
  ``items[int(rng.random() * n)]``). The order is deterministic (never Python's
  set or hash order).
- Encoding, as redis-server 7.0.15 reports it: ``intset`` while every member
  ever added is an integer in string2ll's canonical form and the set never
  grew past ``set-max-intset-entries`` (checked when an add succeeds),
  ``hashtable`` otherwise. 7.0 has no listpack sets (7.2 added them): a
  small set of strings is a ``hashtable``. A new set starts as an intset
  and converts on its first non-integer member, which is what Redis's
  setTypeCreate/setTypeAdd amount to; the STORE commands build their result
  the same way (Redis starts those results as intsets too). Shrinking never
  converts back, with one exception: SPOP with a count that leaves few
  members rebuilds the set (Redis's "case 3"), so remaining integers make
  an intset again.
- Reply order: an intset is sorted by value, and Redis's replies that walk
  one (SMEMBERS, SSCAN, SINTER over an intset, SUNION/SDIFF whose result is
  an intset, SRANDMEMBER/SPOP returning the whole set) come out in that
  order; we reproduce it exactly. A hashtable set's order is Redis's hash
  order, which cannot be reproduced: we answer in our own deterministic
  order (differential tests compare those replies sorted).
- Reply types: SMEMBERS, SINTER, SUNION, SDIFF and SPOP with a count are
  RESP3 sets (`SetReply`); SRANDMEMBER with a count and SSCAN are arrays.
- Order of checks is Redis 7.0's: SPOP/SRANDMEMBER parse the count before
  the key; the algebra checks every key's type (a missing key does not stop
  the check); SINTERCARD parses numkeys and LIMIT first; SMOVE answers 0 for
  a missing source before it looks at the types. Emptied sets are deleted.
- Randomness (SPOP, SRANDMEMBER) only from ``session.engine.rng``.

Interface of `SetValue` (SORT iterates it; COPY, OBJECT, SSCAN use it):
``iter(value)`` yields the members in Redis's order for the encoding
(sorted integers for an intset), ``len``, ``member in value``,
``ordered() -> list[bytes]``, ``add(member, max_intset) -> bool``,
``discard(member) -> bool``, ``random_member(rng)``, ``pop_random(rng)``,
``type_name = b"set"``, ``encoding(config)``, ``copy()``, ``intset`` (bool).
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from crdt import errors
from crdt.args import c_word, is_int, parse_random_count, to_int
from crdt.errors import CommandError
from crdt.scan import collection_scan, parse_scan_cursor, parse_scan_options
from crdt.table import command
from crdt.writes import notify, notify_new, signal_or_delete
from protocol.replies import Reply, SetReply

if TYPE_CHECKING:
    from crdt.keyspace import Db
    from crdt.session import Session


WRONGTYPE = errors.WRONGTYPE
# Redis caps set-max-intset-entries at 2**30 (intset internals).
INTSET_ENTRIES_CAP = 1 << 30
# SPOP with a count rebuilds the set when remaining * this <= count (Redis's SPOP_MOVE_STRATEGY_MUL).
SPOP_MOVE_STRATEGY_MUL = 5


class SetValue:
    """A Redis set: members in a swap-remove list plus a member -> index dict."""

    __slots__ = ("items", "index", "intset", "scan_index")
    type_name = b"set"

    def __init__(self, members: Iterable[bytes] = ()) -> None:
        self.items: list[bytes] = []
        self.index: dict[bytes, int] = {}
        self.intset = True
        self.scan_index: tuple[list[int], list[bytes]] | None = None
        for m in members:
            self.add(m, INTSET_ENTRIES_CAP)

    def __len__(self) -> int:
        return len(self.items)

    def __contains__(self, member: object) -> bool:
        return member in self.index

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.ordered())

    def ordered(self) -> list[bytes]:
        """The members in Redis's order for the encoding: an intset is sorted by value."""
        if self.intset:
            return sorted(self.items, key=int)
        return list(self.items)

    def add(self, member: bytes, max_intset: int) -> bool:
        """Add a member; True if it was new. Converts to a hashtable as Redis's setTypeAdd does."""
        index = self.index
        if member in index:
            return False
        items = self.items
        index[member] = len(items)
        items.append(member)
        if self.intset and (not is_int(member) or len(items) > max_intset
                            or len(items) > INTSET_ENTRIES_CAP):
            self.intset = False
        return True

    def discard(self, member: bytes) -> bool:
        """Remove a member; True if it was there."""
        pos = self.index.pop(member, None)
        if pos is None:
            return False
        items = self.items
        last = items.pop()
        if pos < len(items):
            items[pos] = last
            self.index[last] = pos
        return True

    def random_member(self, rng: random.Random) -> bytes:
        """A random member (the set must not be empty)."""
        items = self.items
        return items[int(rng.random() * len(items))]

    def pop_random(self, rng: random.Random) -> bytes:
        """Remove and return a random member (the set must not be empty)."""
        items = self.items
        pos = int(rng.random() * len(items))  # C speed; randrange's bias-free loop costs more
        member = items[pos]
        last = items.pop()
        del self.index[member]
        if pos < len(items):
            items[pos] = last
            self.index[last] = pos
        return member

    def encoding(self, config: Any) -> bytes:
        """OBJECT ENCODING: ``intset`` or ``hashtable`` (Redis 7.0 has no listpack sets)."""
        return b"intset" if self.intset else b"hashtable"

    def copy(self) -> SetValue:
        """An independent copy (COPY) with the same encoding and order."""
        dup = SetValue()
        dup.items = list(self.items)
        dup.index = dict(self.index)
        dup.intset = self.intset
        return dup


# -- helpers ----------------------------------------------------------------------------------


def _set_or_none(value: Any) -> SetValue | None:
    """A looked-up value as a set (None if absent). Raises WRONGTYPE for another type."""
    if value is None or type(value) is SetValue:
        return value
    raise CommandError(WRONGTYPE)


def _max_intset(s: Session) -> int:
    return s.engine.config.values["set-max-intset-entries"]  # type: ignore[no-any-return]


def _load_sets(s: Session, keys: list[bytes], write: bool) -> list[SetValue | None]:
    """The sets at `keys` (None for a missing key), every type checked in order.

    The STORE forms look their sources up as writes (no hit/miss statistics), as Redis does.
    """
    db = s.db
    now = s.now_ms
    get = db.lookup if write else db.read
    return [_set_or_none(get(key, now)) for key in keys]


def _store_result(s: Session, dst: bytes, result: SetValue, event: bytes) -> int:
    """Replace `dst` with `result` (TTL cleared), or delete it when the result is empty.

    Events: ``new`` (dst created) and `event` for a stored result; ``del`` when
    an existing dst is deleted.
    """
    db = s.db
    if result:
        created = s.engine.pubsub.notify_flags and db.lookup(dst, s.now_ms) is None
        db.set(dst, result, s.now_ms)
        if created:
            notify_new(s, dst)
        notify(s, "s", event, dst)
    elif db.delete(dst):
        notify(s, "g", b"del", dst)
    return len(result)


def _intersection(sets: list[SetValue | None], limit: int = 0) -> list[bytes]:
    """Members of every set, walking the smallest set in its own order (Redis's sinter).

    `limit` > 0 stops once that many are found (SINTERCARD).
    """
    if not sets or any(x is None for x in sets):
        return []
    present: list[SetValue] = sorted(sets, key=len)  # type: ignore[arg-type]
    first, others = present[0], present[1:]
    out: list[bytes] = []
    for member in first.ordered():
        for other in others:
            if member not in other:
                break
        else:
            out.append(member)
            if len(out) == limit:
                break
    return out


def _union(sets: list[SetValue | None], max_intset: int) -> SetValue:
    result = SetValue()
    for x in sets:
        if x is not None:
            for member in x.items:
                result.add(member, max_intset)
    return result


def _difference(sets: list[SetValue | None], max_intset: int) -> SetValue:
    result = SetValue()
    first = sets[0]
    if first is None:
        return result
    others = [x for x in sets[1:] if x is not None]
    for member in first.ordered():
        for other in others:
            if member in other:
                break
        else:
            result.add(member, max_intset)
    return result


# -- members ----------------------------------------------------------------------------------


@command("sadd", -3, "write denyoom fast", keys=(1, 1, 1), group="set", since="1.0.0",
         complexity=("O(1) for each element added, so O(N) to add N elements when the command "
                     "is called with multiple arguments."),
         summary="Add one or more members to a set", syntax="key member [member ...]",
         key_specs=("RW insert",), history=(("2.4.0", "Accepts multiple `member` arguments."),))
def sadd(s: Session, argv: list[bytes]) -> Reply:
    """SADD key member [member ...]: how many members were new."""
    db = s.db
    key = argv[1]
    now = s.now_ms
    st = db.lookup(key, now)
    created = st is None
    if created:
        st = SetValue()
    elif type(st) is not SetValue:
        raise CommandError(WRONGTYPE)
    max_intset = _max_intset(s) if st.intset else INTSET_ENTRIES_CAP
    if len(argv) == 3:  # one member: the usual SADD, without the loop
        added = 1 if st.add(argv[2], max_intset) else 0
    else:
        add = st.add
        added = 0
        for member in argv[2:]:
            if add(member, max_intset):
                added += 1
    if created:
        db.set(key, st, now)
        if s.engine.pubsub.notify_flags:
            notify_new(s, key)
    elif added:
        db.signal(key)
    if db.delta is not None:
        db.note_touched(key, argv[2:])
    if added and s.engine.pubsub.notify_flags:
        notify(s, "s", b"sadd", key)
    return added


@command("srem", -3, "write fast", keys=(1, 1, 1), group="set", since="1.0.0",
         complexity="O(N) where N is the number of members to be removed.",
         summary="Remove one or more members from a set", syntax="key member [member ...]",
         key_specs=("RW delete",), history=(("2.4.0", "Accepts multiple `member` arguments."),))
def srem(s: Session, argv: list[bytes]) -> Reply:
    """SREM key member [member ...]: how many were removed; an emptied set is deleted."""
    db = s.db
    key = argv[1]
    st = _set_or_none(db.lookup(key, s.now_ms))
    if st is None:
        return 0
    removed = 0
    for member in argv[2:]:
        if st.discard(member):
            removed += 1
            if not st.items:
                break
    if removed:
        notify(s, "s", b"srem", key)
        signal_or_delete(s, db, key, bool(st.items))
    return removed


@command("smembers", 2, "readonly", keys=(1, 1, 1), group="set", since="1.0.0",
         complexity="O(N) where N is the set cardinality.",
         summary="Get all the members in a set", syntax="key", key_specs=("RO access",),
         tips="nondeterministic_output_order")
def smembers(s: Session, argv: list[bytes]) -> Reply:
    """SMEMBERS key: every member (a RESP3 set)."""
    st = _set_or_none(s.db.read(argv[1], s.now_ms))
    return SetReply() if st is None else SetReply(st.ordered())


@command("sismember", 3, "readonly fast", keys=(1, 1, 1), group="set", since="1.0.0",
         summary="Determine if a given value is a member of a set", syntax="key member",
         key_specs=("RO",))
def sismember(s: Session, argv: list[bytes]) -> Reply:
    """SISMEMBER key member: 1 or 0."""
    st = _set_or_none(s.db.read(argv[1], s.now_ms))
    return 1 if st is not None and argv[2] in st.index else 0


@command("smismember", -3, "readonly fast", keys=(1, 1, 1), group="set", since="6.2.0",
         complexity="O(N) where N is the number of elements being checked for membership",
         summary="Returns the membership associated with the given elements for a set",
         syntax="key member [member ...]", key_specs=("RO access",))
def smismember(s: Session, argv: list[bytes]) -> Reply:
    """SMISMEMBER key member [member ...]: 1 or 0 per member."""
    st = _set_or_none(s.db.read(argv[1], s.now_ms))
    if st is None:
        return [0] * (len(argv) - 2)
    index = st.index
    return [1 if m in index else 0 for m in argv[2:]]


@command("scard", 2, "readonly fast", keys=(1, 1, 1), group="set", since="1.0.0",
         summary="Get the number of members in a set", syntax="key", key_specs=("RO",))
def scard(s: Session, argv: list[bytes]) -> Reply:
    """SCARD key: the number of members (0 if absent)."""
    st = _set_or_none(s.db.read(argv[1], s.now_ms))
    return 0 if st is None else len(st.items)


# -- random members ---------------------------------------------------------------------------


def set_pop(db: Db, key: bytes, st: SetValue, count: int, rng: random.Random,
            max_intset: int, s: Session | None = None) -> list[bytes]:
    """Remove `count` random distinct members (all of them, in order, if count >= size).

    The key is deleted when the set empties, else signalled. The core of SPOP.
    When few members stay (remaining * 5 <= count) Redis 7.0 moves them into
    a new set created like SADD creates one, so a hashtable whose remaining
    members are all integers (and few enough) becomes an intset again.
    """
    size = len(st.items)
    if s is not None:
        notify(s, "s", b"spop", key)
    if count >= size:
        popped = st.ordered()
        db.delete(key)
        if s is not None:
            notify(s, "g", b"del", key)
        return popped
    pop = st.pop_random
    popped = [pop(rng) for _ in range(count)]
    remaining = st.items
    if (not st.intset and (size - count) * SPOP_MOVE_STRATEGY_MUL <= count
            and len(remaining) <= min(max_intset, INTSET_ENTRIES_CAP)
            and all(is_int(m) for m in remaining)):
        st.intset = True
    db.signal(key)
    return popped


@command("spop", -2, "write fast", keys=(1, 1, 1), group="set", since="1.0.0",
         complexity=("Without the count argument O(1), otherwise O(N) where N is the value of "
                     "the passed count."),
         summary="Remove and return one or multiple random members from a set",
         syntax="key [count@3.2.0]", key_specs=("RW access delete",),
         tips="nondeterministic_output", history=(("3.2.0", "Added the `count` argument."),))
def spop(s: Session, argv: list[bytes]) -> Reply:
    """SPOP key [count]: one random member (or null), or a set of up to count members."""
    n = len(argv)
    db = s.db
    key = argv[1]
    if n == 2:
        st = _set_or_none(db.lookup(key, s.now_ms))
        if st is None:
            return None
        member = st.pop_random(s.engine.rng)
        if st.items:
            db.signal(key)
            if s.engine.pubsub.notify_flags:
                notify(s, "s", b"spop", key)
        else:
            db.delete(key)
            if s.engine.pubsub.notify_flags:
                notify(s, "s", b"spop", key)
                notify(s, "g", b"del", key)
        return member
    if n > 3:
        raise CommandError(errors.SYNTAX)
    count = to_int(argv[2], errors.OUT_OF_RANGE)
    if count < 0:
        raise CommandError(errors.OUT_OF_RANGE)
    st = _set_or_none(db.lookup(key, s.now_ms))
    if st is None or count == 0:
        return SetReply()
    return SetReply(set_pop(db, key, st, count, s.engine.rng, _max_intset(s), s))


@command("srandmember", -2, "readonly", keys=(1, 1, 1), group="set", since="1.0.0",
         complexity=("Without the count argument O(1), otherwise O(N) where N is the absolute "
                     "value of the passed count."),
         summary="Get one or multiple random members from a set", syntax="key [count@2.6.0]",
         key_specs=("RO access",), tips="nondeterministic_output",
         history=(("2.6.0", "Added the optional `count` argument."),))
def srandmember(s: Session, argv: list[bytes]) -> Reply:
    """SRANDMEMBER key [count]: one random member, or count distinct ones (-count may repeat)."""
    n = len(argv)
    rng = s.engine.rng
    if n == 2:
        st = _set_or_none(s.db.read(argv[1], s.now_ms))
        return None if st is None else st.random_member(rng)
    if n > 3:
        raise CommandError(errors.SYNTAX)
    count = parse_random_count(argv[2])
    st = _set_or_none(s.db.read(argv[1], s.now_ms))
    if st is None or count == 0:
        return []
    items = st.items
    if count < 0:
        size = len(items)
        return [items[rng.randrange(size)] for _ in range(-count)]
    if count >= len(items):
        return st.ordered()
    return rng.sample(items, count)


# -- moving -----------------------------------------------------------------------------------


@command("smove", 4, "write fast", keys=(1, 2, 1), group="set", since="1.0.0",
         summary="Move a member from one set to another", syntax="source destination member",
         key_specs=("RW access delete", "RW insert"))
def smove(s: Session, argv: list[bytes]) -> Reply:
    """SMOVE source destination member: 1 if moved (or already in source == destination)."""
    db = s.db
    now = s.now_ms
    src_key, dst_key, member = argv[1], argv[2], argv[3]
    src = db.lookup(src_key, now)
    dst = db.lookup(dst_key, now)
    if src is None:
        return 0
    _set_or_none(src)
    _set_or_none(dst)
    if src_key == dst_key:
        return 1 if member in src.index else 0
    if not src.discard(member):
        return 0
    notify(s, "s", b"srem", src_key)
    if src.items:
        db.signal(src_key)
    else:
        db.delete(src_key)
        notify(s, "g", b"del", src_key)
    if dst is None:
        dst = SetValue()
        dst.add(member, _max_intset(s))
        db.set(dst_key, dst, now)
        notify_new(s, dst_key)
        notify(s, "s", b"sadd", dst_key)
    elif dst.add(member, _max_intset(s)):
        db.signal(dst_key)
        notify(s, "s", b"sadd", dst_key)
    return 1


# -- algebra ----------------------------------------------------------------------------------

_INTER_COMPLEXITY = ("O(N*M) worst case where N is the cardinality of the smallest set and M is "
                     "the number of sets.")
_UNION_COMPLEXITY = "O(N) where N is the total number of elements in all given sets."
_STORE_SPECS_RW = ("RW update index:1 range:0:1:0", "RO access index:2 range:-1:1:0")
_STORE_SPECS_OW = ("OW update index:1 range:0:1:0", "RO access index:2 range:-1:1:0")


@command("sinter", -2, "readonly", keys=(1, -1, 1), group="set", since="1.0.0",
         complexity=_INTER_COMPLEXITY, summary="Intersect multiple sets", syntax="key [key ...]",
         key_specs=("RO access",), tips="nondeterministic_output_order")
def sinter(s: Session, argv: list[bytes]) -> Reply:
    """SINTER key [key ...]: the members in every set (a RESP3 set)."""
    return SetReply(_intersection(_load_sets(s, argv[1:], False)))


@command("sinterstore", -3, "write denyoom", keys=(1, -1, 1), group="set", since="1.0.0",
         complexity=_INTER_COMPLEXITY,
         summary="Intersect multiple sets and store the resulting set in a key",
         syntax="destination key [key ...]", key_specs=_STORE_SPECS_RW)
def sinterstore(s: Session, argv: list[bytes]) -> Reply:
    """SINTERSTORE destination key [key ...]: the size of the stored intersection."""
    sets = _load_sets(s, argv[2:], True)
    result = SetValue()
    max_intset = _max_intset(s)
    for member in _intersection(sets):
        result.add(member, max_intset)
    return _store_result(s, argv[1], result, b"sinterstore")


@command("sintercard", -3, "readonly", keys=(0, 0, 0), group="set", since="7.0.0",
         complexity=_INTER_COMPLEXITY,
         summary="Intersect multiple sets and return the cardinality of the result",
         syntax="numkeys key [key ...] [LIMIT limit]",
         key_specs=("RO access index:1 keynum:0:1:1",))
def sintercard(s: Session, argv: list[bytes]) -> Reply:
    """SINTERCARD numkeys key [key ...] [LIMIT limit]: the intersection's size, capped by LIMIT."""
    numkeys = to_int(argv[1], errors.NUMKEYS_POSITIVE)
    if numkeys < 1:
        raise CommandError(errors.NUMKEYS_POSITIVE)
    n = len(argv)
    if numkeys > n - 2:
        raise CommandError(errors.NUMKEYS_OVER_ARGS)
    limit = 0
    i = 2 + numkeys
    while i < n:
        if c_word(argv[i]) == b"LIMIT" and i + 1 < n:
            limit = to_int(argv[i + 1], errors.LIMIT_NEGATIVE)
            if limit < 0:
                raise CommandError(errors.LIMIT_NEGATIVE)
            i += 2
        else:
            raise CommandError(errors.SYNTAX)
    sets = _load_sets(s, argv[2:2 + numkeys], False)
    return len(_intersection(sets, limit))


@command("sunion", -2, "readonly", keys=(1, -1, 1), group="set", since="1.0.0",
         complexity=_UNION_COMPLEXITY, summary="Add multiple sets", syntax="key [key ...]",
         key_specs=("RO access",), tips="nondeterministic_output_order")
def sunion(s: Session, argv: list[bytes]) -> Reply:
    """SUNION key [key ...]: the members of any set (a RESP3 set)."""
    return SetReply(_union(_load_sets(s, argv[1:], False), _max_intset(s)).ordered())


@command("sunionstore", -3, "write denyoom", keys=(1, -1, 1), group="set", since="1.0.0",
         complexity=_UNION_COMPLEXITY,
         summary="Add multiple sets and store the resulting set in a key",
         syntax="destination key [key ...]", key_specs=_STORE_SPECS_OW)
def sunionstore(s: Session, argv: list[bytes]) -> Reply:
    """SUNIONSTORE destination key [key ...]: the size of the stored union."""
    return _store_result(s, argv[1], _union(_load_sets(s, argv[2:], True), _max_intset(s)),
                         b"sunionstore")


@command("sdiff", -2, "readonly", keys=(1, -1, 1), group="set", since="1.0.0",
         complexity=_UNION_COMPLEXITY, summary="Subtract multiple sets", syntax="key [key ...]",
         key_specs=("RO access",), tips="nondeterministic_output_order")
def sdiff(s: Session, argv: list[bytes]) -> Reply:
    """SDIFF key [key ...]: the members of the first set in none of the others (a RESP3 set)."""
    return SetReply(_difference(_load_sets(s, argv[1:], False), _max_intset(s)).ordered())


@command("sdiffstore", -3, "write denyoom", keys=(1, -1, 1), group="set", since="1.0.0",
         complexity=_UNION_COMPLEXITY,
         summary="Subtract multiple sets and store the resulting set in a key",
         syntax="destination key [key ...]", key_specs=_STORE_SPECS_OW)
def sdiffstore(s: Session, argv: list[bytes]) -> Reply:
    """SDIFFSTORE destination key [key ...]: the size of the stored difference."""
    return _store_result(s, argv[1], _difference(_load_sets(s, argv[2:], True), _max_intset(s)),
                         b"sdiffstore")


# -- scanning ---------------------------------------------------------------------------------


@command("sscan", -3, "readonly", keys=(1, 1, 1), group="set", since="2.8.0",
         complexity=("O(1) for every call. O(N) for a complete iteration, including enough "
                     "command calls for the cursor to return back to 0. N is the number of "
                     "elements inside the collection.."),
         summary="Incrementally iterate Set elements",
         syntax="key cursor [MATCH pattern] [COUNT count]", key_specs=("RO access",),
         tips="nondeterministic_output")
def sscan(s: Session, argv: list[bytes]) -> Reply:
    """SSCAN key cursor [MATCH pattern] [COUNT count]: [next cursor, members].

    An intset answers every member at once, sorted, with cursor 0 (whatever the cursor).
    """
    cursor = parse_scan_cursor(argv[2])
    st = _set_or_none(s.db.read(argv[1], s.now_ms))
    if st is None:
        return [b"0", []]
    matcher, count = parse_scan_options(argv, 3)
    if st.intset:
        next_cursor = 0
        members: list[bytes] = st.ordered()
    else:
        next_cursor, members = collection_scan(st, st.items, st.index.__contains__, cursor, count)
    if matcher is not None:
        members = [m for m in members if matcher(m)]
    return [b"%d" % next_cursor, members]

