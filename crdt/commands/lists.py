"""List commands: pushes, pops, ranges, LINSERT/LSET/LREM/LTRIM, LPOS, LMOVE and LMPOP.

Strategy:
- A stored list is a `ListValue`, a `collections.deque` subclass holding
  the elements as `bytes`: pushes and pops at either end are O(1) C calls,
  and the hot paths (LPUSH/RPUSH/LPOP/RPOP/LRANGE) do one keyspace lookup,
  one deque call and nothing else. Redis 7.0 keeps every list in a
  quicklist (the listpack encoding for small lists arrived in 7.2), so
  OBJECT ENCODING answers ``quicklist`` whatever list-max-listpack-size
  says; checked against redis-server 7.0.15.
- An integer-looking element comes back from Redis exactly as it was pushed
  (listpack integers round-trip through string2ll's canonical form only),
  so the elements are kept as the bytes the client sent.
- A list that becomes empty is deleted, as Redis does. Every in-place
  mutation calls `db.signal(key)`; LTRIM signals even when it removes
  nothing, like Redis's signalModifiedKey.
- The order of checks is Redis 7.0's because it decides which error a bad
  command gets: LRANGE/LTRIM/LREM parse their integers before the key
  lookup, LINDEX/LSET after it; LINSERT, LMOVE, LPOS and LMPOP parse their
  options first. Option words are compared as C's strcasecmp sees them (up
  to the first NUL byte).
- `list_pop`, `list_mpop` and `list_move` are the cores the blocking
  variants (BLPOP, BLMPOP, BLMOVE, ...) reuse.
- LPOS with ``RANK -9223372036854775808`` reproduces Redis's signed
  overflow: the negation stays negative, so every match qualifies and the
  COUNT limit never triggers.
"""

from __future__ import annotations

from collections import deque
from itertools import islice
from typing import TYPE_CHECKING, Any

from crdt import errors
from crdt.args import c_word, to_int
from crdt.errors import CommandError
from crdt.table import command
from crdt.writes import notify, notify_new, signal_or_delete
from protocol.replies import NULL_ARRAY, OK, Bulks, Reply

if TYPE_CHECKING:
    from crdt.keyspace import Db
    from crdt.session import Session


WRONGTYPE = errors.WRONGTYPE
_INT64_WRAP = 2**64
_INT64_MIN = -(2**63)


class ListValue(deque):  # type: ignore[type-arg]
    """A Redis list: a deque of bytes elements (head = left)."""

    __slots__ = ()
    type_name = b"list"

    def encoding(self, config: Any) -> bytes:
        """OBJECT ENCODING: Redis 7.0 stores every list as a quicklist."""
        return b"quicklist"

    def copy(self) -> ListValue:
        """An independent copy (COPY); the elements are immutable bytes."""
        return ListValue(self)


def _side(raw: bytes) -> bool:
    """LEFT -> True, RIGHT -> False (getListPositionFromObjectOrReply).

    Raises:
        CommandError: syntax error for any other word.
    """
    word = c_word(raw)
    if word == b"LEFT":
        return True
    if word == b"RIGHT":
        return False
    raise CommandError(errors.SYNTAX)


def _write_list(db: Db, key: bytes, now_ms: int) -> ListValue | None:
    """lookupKeyWrite + checkType(list): the list or None; refreshes the access time.

    Raises:
        CommandError: WRONGTYPE for another type.
    """
    value = db.lookup(key, now_ms)
    if value is None:
        return None
    if type(value) is not ListValue:
        raise CommandError(WRONGTYPE)
    db.atime[key] = now_ms
    return value


def _read_list(db: Db, key: bytes, now_ms: int) -> ListValue | None:
    """lookupKeyRead + checkType(list): the list or None (counts a hit or miss).

    Raises:
        CommandError: WRONGTYPE for another type.
    """
    value = db.read(key, now_ms)
    if value is None or type(value) is ListValue:
        return value
    raise CommandError(WRONGTYPE)


def _range_bounds(start: int, end: int, length: int) -> tuple[int, int] | None:
    """Redis's LRANGE/LTRIM index arithmetic: (start, end) inclusive, or None if empty."""
    if start < 0:
        start += length
    if end < 0:
        end += length
    if start < 0:
        start = 0
    if start > end or start >= length:
        return None
    if end >= length:
        end = length - 1
    return start, end


# -- cores shared with the blocking variants -------------------------------------


def list_pop(db: Db, key: bytes, left: bool, count: int | None, now_ms: int = 0,
             s: Session | None = None) -> list[bytes] | None:
    """Pop up to `count` elements (one if None) from a list; deletes it when emptied.

    Args:
        db: the database.
        key: the list's key.
        left: pop from the head (True) or the tail.
        count: how many at most (>= 1), or None for one.
        now_ms: the time used to expire the key lazily.
        s: the session whose database `db` is, for keyspace events (none without it).

    Returns:
        The popped elements in pop order, or None if the key does not exist.

    Raises:
        CommandError: WRONGTYPE if the key holds another type.
    """
    value = _write_list(db, key, now_ms)
    if value is None:
        return None
    pop = value.popleft if left else value.pop
    n = 1 if count is None else min(count, len(value))
    out = [pop() for _ in range(n)]
    if s is not None:
        notify(s, "l", b"lpop" if left else b"rpop", key)
    signal_or_delete(s, db, key, bool(value))
    return out


def list_mpop(db: Db, keys: list[bytes], left: bool, count: int,
              now_ms: int = 0, s: Session | None = None) -> tuple[bytes, list[bytes]] | None:
    """LMPOP's core: pop from the first non-empty list among `keys`.

    Returns:
        (key, elements) or None when no key holds a list.

    Raises:
        CommandError: WRONGTYPE at the first key (in order) holding another type.
    """
    for key in keys:
        popped = list_pop(db, key, left, count, now_ms, s)
        if popped is not None:
            return key, popped
    return None


def list_move(db: Db, src: bytes, dst: bytes, wherefrom: bool, whereto: bool,
              now_ms: int, s: Session | None = None) -> bytes | None:
    """LMOVE's core: pop from `src` (head if `wherefrom`) and push to `dst` (head if `whereto`).

    Returns:
        The moved element, or None if `src` does not exist.

    Raises:
        CommandError: WRONGTYPE if `src` or (when `src` exists) `dst` holds another type;
        nothing moves then.
    """
    source = _write_list(db, src, now_ms)
    if source is None:
        return None
    target = _write_list(db, dst, now_ms)
    element = source.popleft() if wherefrom else source.pop()
    if target is None:
        target = ListValue((element,))
        db.set(dst, target, now_ms)
        if s is not None:
            notify_new(s, dst)
    else:
        if whereto:
            target.appendleft(element)
        else:
            target.append(element)
        db.signal(dst)
    # Redis's order: the push event on dst, the pop event on src, then src's del.
    if s is not None:
        notify(s, "l", b"lpush" if whereto else b"rpush", dst)
        notify(s, "l", b"lpop" if wherefrom else b"rpop", src)
    signal_or_delete(s, db, src, bool(source))
    return element


# -- push ------------------------------------------------------------------------

_PUSH_COMPLEXITY = ("O(1) for each element added, so O(N) to add N elements when the command "
                    "is called with multiple arguments.")
_PUSH_HISTORY = (("2.4.0", "Accepts multiple `element` arguments."),)
_PUSHX_HISTORY = (("4.0.0", "Accepts multiple `element` arguments."),)
_POP_HISTORY = (("6.2.0", "Added the `count` argument."),)


@command("lpush", -3, "write denyoom fast", keys=(1, 1, 1), group="list", since="1.0.0",
         complexity=_PUSH_COMPLEXITY, summary="Prepend one or multiple elements to a list",
         syntax="key element [element ...]", key_specs=("RW insert",), history=_PUSH_HISTORY)
def lpush(s: Session, argv: list[bytes]) -> Reply:
    """LPUSH key element [element ...]: the new length."""
    db = s.db
    key = argv[1]
    now = s.now_ms
    value = db.lookup(key, now)
    if value is None:
        value = ListValue()
        value.extendleft(argv[2:])
        db.set(key, value, now)
        if s.engine.pubsub.notify_flags:
            notify_new(s, key)
            notify(s, "l", b"lpush", key)
        return len(value)
    if type(value) is not ListValue:
        raise CommandError(WRONGTYPE)
    if len(argv) == 3:  # one element: the usual LPUSH, without the slice
        value.appendleft(argv[2])
    else:
        value.extendleft(argv[2:])
    db.atime[key] = now
    db.signal(key)
    if s.engine.pubsub.notify_flags:
        notify(s, "l", b"lpush", key)
    return len(value)


@command("rpush", -3, "write denyoom fast", keys=(1, 1, 1), group="list", since="1.0.0",
         complexity=_PUSH_COMPLEXITY, summary="Append one or multiple elements to a list",
         syntax="key element [element ...]", key_specs=("RW insert",), history=_PUSH_HISTORY)
def rpush(s: Session, argv: list[bytes]) -> Reply:
    """RPUSH key element [element ...]: the new length."""
    db = s.db
    key = argv[1]
    now = s.now_ms
    value = db.lookup(key, now)
    if value is None:
        value = ListValue(argv[2:])
        db.set(key, value, now)
        if s.engine.pubsub.notify_flags:
            notify_new(s, key)
            notify(s, "l", b"rpush", key)
        return len(value)
    if type(value) is not ListValue:
        raise CommandError(WRONGTYPE)
    if len(argv) == 3:
        value.append(argv[2])
    else:
        value.extend(argv[2:])
    db.atime[key] = now
    db.signal(key)
    if s.engine.pubsub.notify_flags:
        notify(s, "l", b"rpush", key)
    return len(value)


def _pushx(s: Session, argv: list[bytes], left: bool) -> Reply:
    value = _write_list(s.db, argv[1], s.now_ms)
    if value is None:
        return 0
    if left:
        value.extendleft(argv[2:])
    else:
        value.extend(argv[2:])
    s.db.signal(argv[1])
    notify(s, "l", b"lpush" if left else b"rpush", argv[1])
    return len(value)


@command("lpushx", -3, "write denyoom fast", keys=(1, 1, 1), group="list", since="2.2.0",
         complexity=_PUSH_COMPLEXITY, summary="Prepend an element to a list, only if the list exists",
         syntax="key element [element ...]", key_specs=("RW insert",), history=_PUSHX_HISTORY)
def lpushx(s: Session, argv: list[bytes]) -> Reply:
    """LPUSHX key element [element ...]: the new length, 0 if the key is absent."""
    return _pushx(s, argv, True)


@command("rpushx", -3, "write denyoom fast", keys=(1, 1, 1), group="list", since="2.2.0",
         complexity=_PUSH_COMPLEXITY, summary="Append an element to a list, only if the list exists",
         syntax="key element [element ...]", key_specs=("RW insert",), history=_PUSHX_HISTORY)
def rpushx(s: Session, argv: list[bytes]) -> Reply:
    """RPUSHX key element [element ...]: the new length, 0 if the key is absent."""
    return _pushx(s, argv, False)


# -- pop -------------------------------------------------------------------------


def _pop(s: Session, argv: list[bytes], left: bool, name: str) -> Reply:
    """LPOP/RPOP key [count]. Order: arity, count, key lookup and type, count 0."""
    n = len(argv)
    db = s.db
    key = argv[1]
    if n == 2:
        now = s.now_ms
        value = db.lookup(key, now)
        if value is None:
            return None
        if type(value) is not ListValue:
            raise CommandError(WRONGTYPE)
        element = value.popleft() if left else value.pop()
        if value:
            db.atime[key] = now
            db.signal(key)
            if s.engine.pubsub.notify_flags:
                notify(s, "l", b"lpop" if left else b"rpop", key)
        else:
            db.delete(key)
            if s.engine.pubsub.notify_flags:
                notify(s, "l", b"lpop" if left else b"rpop", key)
                notify(s, "g", b"del", key)
        return element
    if n > 3:
        raise CommandError(errors.wrong_arity(name))
    count = to_int(argv[2], errors.OUT_OF_RANGE)
    if count < 0:
        raise CommandError(errors.OUT_OF_RANGE)
    value = _write_list(db, key, s.now_ms)
    if value is None:
        return NULL_ARRAY
    if count == 0:
        return []
    return list_pop(db, key, left, count, s.now_ms, s)


@command("lpop", -2, "write fast", keys=(1, 1, 1), group="list", since="1.0.0",
         complexity="O(N) where N is the number of elements returned",
         summary="Remove and get the first elements in a list", syntax="key [count@6.2.0]",
         key_specs=("RW access delete",), history=_POP_HISTORY)
def lpop(s: Session, argv: list[bytes]) -> Reply:
    """LPOP key [count]: an element (null if absent) or, with count, an array (null array if absent)."""
    return _pop(s, argv, True, "lpop")


@command("rpop", -2, "write fast", keys=(1, 1, 1), group="list", since="1.0.0",
         complexity="O(N) where N is the number of elements returned",
         summary="Remove and get the last elements in a list", syntax="key [count@6.2.0]",
         key_specs=("RW access delete",), history=_POP_HISTORY)
def rpop(s: Session, argv: list[bytes]) -> Reply:
    """RPOP key [count]: like LPOP, from the tail."""
    return _pop(s, argv, False, "rpop")


# -- reads -----------------------------------------------------------------------


@command("llen", 2, "readonly fast", keys=(1, 1, 1), group="list", since="1.0.0",
         summary="Get the length of a list", syntax="key", key_specs=("RO",))
def llen(s: Session, argv: list[bytes]) -> Reply:
    """LLEN key: the length, 0 if absent."""
    value = _read_list(s.db, argv[1], s.now_ms)
    return 0 if value is None else len(value)


@command("lrange", 4, "readonly", keys=(1, 1, 1), group="list", since="1.0.0",
         complexity="O(S+N) where S is the distance of start offset from HEAD for small lists, "
                    "from nearest end (HEAD or TAIL) for large lists; and N is the number of "
                    "elements in the specified range.",
         summary="Get a range of elements from a list", syntax="key start stop",
         key_specs=("RO access",))
def lrange(s: Session, argv: list[bytes]) -> Reply:
    """LRANGE key start stop: the elements in the inclusive range."""
    start = to_int(argv[2])
    end = to_int(argv[3])
    value = _read_list(s.db, argv[1], s.now_ms)
    if value is None:
        return []
    length = len(value)
    bounds = _range_bounds(start, end, length)
    if bounds is None:
        return []
    start, end = bounds
    if start == 0 and end == length - 1:
        return Bulks(value)
    if start > length - 1 - end:  # nearer the tail: walk from there
        out = Bulks(islice(reversed(value), length - 1 - end, length - start))
        out.reverse()
        return out
    return Bulks(islice(value, start, end + 1))


@command("lindex", 3, "readonly", keys=(1, 1, 1), group="list", since="1.0.0",
         complexity="O(N) where N is the number of elements to traverse to get to the element "
                    "at index. This makes asking for the first or the last element of the list O(1).",
         summary="Get an element from a list by its index", syntax="key index",
         key_specs=("RO access",))
def lindex(s: Session, argv: list[bytes]) -> Reply:
    """LINDEX key index: the element, or null (absent key or index out of range)."""
    value = _read_list(s.db, argv[1], s.now_ms)
    if value is None:
        return None
    index = to_int(argv[2])
    length = len(value)
    if index < 0:
        index += length
    if 0 <= index < length:
        return value[index]
    return None


_LPOS_RANK = 1
_LPOS_COUNT = 2
_LPOS_MAXLEN = 3


@command("lpos", -3, "readonly", keys=(1, 1, 1), group="list", since="6.0.6",
         complexity="O(N) where N is the number of elements in the list, for the average case. "
                    "When searching for elements near the head or the tail of the list, or when "
                    "the MAXLEN option is provided, the command may run in constant time.",
         summary="Return the index of matching elements on a list",
         syntax="key element [RANK rank] [COUNT num-matches] [MAXLEN len]", key_specs=("RO access",))
def lpos(s: Session, argv: list[bytes]) -> Reply:
    """LPOS key element [RANK rank] [COUNT n] [MAXLEN len]: an index, null, or an array with COUNT."""
    rank = 1
    count = -1  # -1: no COUNT option
    maxlen = 0
    n = len(argv)
    j = 3
    while j < n:
        word = c_word(argv[j])
        more = j + 1 < n
        if word == b"RANK" and more:
            rank = to_int(argv[j + 1])
            if rank == 0:
                raise CommandError(errors.LPOS_RANK_ZERO)
        elif word == b"COUNT" and more:
            count = to_int(argv[j + 1], errors.LPOS_COUNT_NEGATIVE)
            if count < 0:
                raise CommandError(errors.LPOS_COUNT_NEGATIVE)
        elif word == b"MAXLEN" and more:
            maxlen = to_int(argv[j + 1], errors.LPOS_MAXLEN_NEGATIVE)
            if maxlen < 0:
                raise CommandError(errors.LPOS_MAXLEN_NEGATIVE)
        else:
            raise CommandError(errors.SYNTAX)
        j += 2
    value = _read_list(s.db, argv[1], s.now_ms)
    if value is None:
        return [] if count != -1 else None
    element = argv[2]
    length = len(value)
    from_tail = rank < 0
    if from_tail:
        # C's -rank: LONG_MIN stays LONG_MIN (negative), so every match then qualifies.
        rank = rank if rank == _INT64_MIN else -rank
    items = reversed(value) if from_tail else iter(value)
    if maxlen:
        items = islice(items, maxlen)
    matches = 0
    found: list[int] = []
    for index, item in enumerate(items):
        if item != element:
            continue
        matches += 1
        if matches < rank:
            continue
        pos = length - index - 1 if from_tail else index
        if count == -1:
            return pos
        found.append(pos)
        if count:
            seen = (matches - rank + 1 - _INT64_MIN) % _INT64_WRAP + _INT64_MIN
            if seen >= count:
                break
    return found if count != -1 else None


# -- in-place edits ----------------------------------------------------------------


@command("lset", 4, "write denyoom", keys=(1, 1, 1), group="list", since="1.0.0",
         complexity="O(N) where N is the length of the list. Setting either the first or the "
                    "last element of the list is O(1).",
         summary="Set the value of an element in a list by its index", syntax="key index element",
         key_specs=("RW update",))
def lset(s: Session, argv: list[bytes]) -> Reply:
    """LSET key index element: OK; "no such key" / "index out of range" errors."""
    value = _write_list(s.db, argv[1], s.now_ms)
    if value is None:
        raise CommandError(errors.NO_SUCH_KEY)
    index = to_int(argv[2])
    length = len(value)
    if index < 0:
        index += length
    if not 0 <= index < length:
        raise CommandError(errors.INDEX_OUT_OF_RANGE)
    value[index] = argv[3]
    s.db.signal(argv[1])
    notify(s, "l", b"lset", argv[1])
    return OK


@command("linsert", 5, "write denyoom", keys=(1, 1, 1), group="list", since="2.2.0",
         complexity="O(N) where N is the number of elements to traverse before seeing the value "
                    "pivot. This means that inserting somewhere on the left end on the list (head) "
                    "can be considered O(1) and inserting somewhere on the right end (tail) is O(N).",
         summary="Insert an element before or after another element in a list",
         syntax="key (where: BEFORE | AFTER) pivot element", key_specs=("RW insert",))
def linsert(s: Session, argv: list[bytes]) -> Reply:
    """LINSERT key BEFORE|AFTER pivot element: the new length, -1 without pivot, 0 without key."""
    where = c_word(argv[2])
    if where == b"AFTER":
        after = True
    elif where == b"BEFORE":
        after = False
    else:
        raise CommandError(errors.SYNTAX)
    value = _write_list(s.db, argv[1], s.now_ms)
    if value is None:
        return 0
    try:
        index = value.index(argv[3])
    except ValueError:
        return -1
    value.insert(index + 1 if after else index, argv[4])
    s.db.signal(argv[1])
    notify(s, "l", b"linsert", argv[1])
    return len(value)


@command("lrem", 4, "write", keys=(1, 1, 1), group="list", since="1.0.0",
         complexity="O(N+M) where N is the length of the list and M is the number of elements removed.",
         summary="Remove elements from a list", syntax="key count element",
         key_specs=("RW delete",))
def lrem(s: Session, argv: list[bytes]) -> Reply:
    """LREM key count element: how many were removed (count > 0 from the head, < 0 from the tail, 0 all)."""
    count = to_int(argv[2])
    db = s.db
    key = argv[1]
    value = _write_list(db, key, s.now_ms)
    if value is None:
        return 0
    element = argv[3]
    if element not in value:
        return 0
    limit = abs(count) if count else len(value)
    kept: list[bytes] = []
    removed = 0
    source = reversed(value) if count < 0 else iter(value)
    for item in source:
        if removed < limit and item == element:
            removed += 1
        else:
            kept.append(item)
    if count < 0:
        kept.reverse()
    value.clear()
    value.extend(kept)
    notify(s, "l", b"lrem", key)
    signal_or_delete(s, db, key, bool(value))
    return removed


@command("ltrim", 4, "write", keys=(1, 1, 1), group="list", since="1.0.0",
         complexity="O(N) where N is the number of elements to be removed by the operation.",
         summary="Trim a list to the specified range", syntax="key start stop",
         key_specs=("RW delete",))
def ltrim(s: Session, argv: list[bytes]) -> Reply:
    """LTRIM key start stop: OK; keeps only the range, deleting the key if nothing is left."""
    start = to_int(argv[2])
    end = to_int(argv[3])
    db = s.db
    key = argv[1]
    value = _write_list(db, key, s.now_ms)
    if value is None:
        return OK
    length = len(value)
    bounds = _range_bounds(start, end, length)
    if bounds is None:
        db.delete(key)
        notify(s, "l", b"ltrim", key)
        notify(s, "g", b"del", key)
        return OK
    start, end = bounds
    tail = length - 1 - end
    if start + tail > length // 2:
        kept = list(islice(value, start, end + 1))
        value.clear()
        value.extend(kept)
    else:
        for _ in range(start):
            value.popleft()
        for _ in range(tail):
            value.pop()
    db.signal(key)
    notify(s, "l", b"ltrim", key)
    return OK


# -- moves -------------------------------------------------------------------------


@command("lmove", 5, "write denyoom", keys=(1, 2, 1), group="list", since="6.2.0",
         summary="Pop an element from a list, push it to another list and return it",
         syntax="source destination (wherefrom: LEFT | RIGHT) (whereto: LEFT | RIGHT)",
         key_specs=("RW access delete", "RW insert"))
def lmove(s: Session, argv: list[bytes]) -> Reply:
    """LMOVE source destination LEFT|RIGHT LEFT|RIGHT: the moved element, or null."""
    wherefrom = _side(argv[3])
    whereto = _side(argv[4])
    return list_move(s.db, argv[1], argv[2], wherefrom, whereto, s.now_ms, s)


@command("rpoplpush", 3, "write denyoom", keys=(1, 2, 1), group="list", since="1.2.0",
         summary="Remove the last element in a list, prepend it to another list and return it",
         syntax="source destination", key_specs=("RW access delete", "RW insert"),
         doc_flags="deprecated", deprecated_since="6.2.0",
         replaced_by="`LMOVE` with the `RIGHT` and `LEFT` arguments")
def rpoplpush(s: Session, argv: list[bytes]) -> Reply:
    """RPOPLPUSH source destination: LMOVE source destination RIGHT LEFT."""
    return list_move(s.db, argv[1], argv[2], False, True, s.now_ms, s)


def parse_mpop(argv: list[bytes], numkeys_index: int) -> tuple[list[bytes], bool, int]:
    """Parse LMPOP's (or BLMPOP's) ``numkeys key [key ...] LEFT|RIGHT [COUNT count]``.

    Args:
        argv: the whole command.
        numkeys_index: where numkeys is (1 for LMPOP, 2 for BLMPOP).

    Returns:
        (keys, left, count).

    Raises:
        CommandError: numkeys/count range errors, syntax errors, in Redis's order.
    """
    numkeys = to_int(argv[numkeys_index], errors.NUMKEYS_POSITIVE)
    if numkeys < 1:
        raise CommandError(errors.NUMKEYS_POSITIVE)
    where_index = numkeys_index + numkeys + 1
    n = len(argv)
    if where_index >= n:
        raise CommandError(errors.SYNTAX)
    left = _side(argv[where_index])
    count = -1
    j = where_index + 1
    while j < n:
        if count == -1 and c_word(argv[j]) == b"COUNT" and j + 1 < n:
            count = to_int(argv[j + 1], errors.COUNT_POSITIVE)
            if count < 1:
                raise CommandError(errors.COUNT_POSITIVE)
            j += 2
        else:
            raise CommandError(errors.SYNTAX)
    return argv[numkeys_index + 1:where_index], left, (1 if count == -1 else count)


@command("lmpop", -4, "write movablekeys", group="list", since="7.0.0",
         complexity="O(N+M) where N is the number of provided keys and M is the number of "
                    "elements returned.",
         summary="Pop elements from a list",
         syntax="numkeys key [key ...] (where: LEFT | RIGHT) [COUNT count]",
         key_specs=("RW access delete index:1 keynum:0:1:1",))
def lmpop(s: Session, argv: list[bytes]) -> Reply:
    """LMPOP numkeys key [key ...] LEFT|RIGHT [COUNT count]: [key, [elements]] or a null array."""
    keys, left, count = parse_mpop(argv, 1)
    popped = list_mpop(s.db, keys, left, count, s.now_ms, s)
    if popped is None:
        return NULL_ARRAY
    return [popped[0], popped[1]]
