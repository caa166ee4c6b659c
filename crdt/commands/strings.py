"""String and counter commands: GET, SET and friends, INCR/DECR/INCRBYFLOAT, ranges and LCS.

Strategy:
- A string value is `bytes`; a string edited in place (APPEND, SETRANGE,
  SETBIT) becomes a `bytearray`, which OBJECT ENCODING reports as ``raw``
  like Redis's unshared sds. Replies never hand out a stored `bytearray`
  (a later command could mutate it before the reply is encoded, e.g. in
  MULTI): they copy it to `bytes`. INCR, DECR, INCRBY and DECRBY store their
  result as an `int` (Redis's ``int`` encoding), so a counter is neither
  parsed nor formatted to be stored; every reader here turns it back into
  its decimal text.
- The hot paths (GET, plain SET, INCR/DECR) do one keyspace lookup and at
  most one store, with no option parsing and no helper objects. Everything
  with options goes through `_parse_set_options`, which follows Redis 7.0's
  rules for which option may follow which (``EX 1 EX 2`` is fine, ``EX 1
  PX 2`` is a syntax error) and, like Redis's C string compare, reads an
  option word only up to its first NUL byte.
- The order of checks is Redis 7.0's, since it decides which error a bad
  command gets: for SET, option syntax, then the expire time, then GET's
  type check, then NX/XX. Handlers whose order differs say so (GETEX looks
  the key up before it checks the time; INCRBY parses its increment before
  it looks at the key, INCRBYFLOAT after).
- Integers follow string2ll: a stored value is an integer only in its
  canonical decimal form (no ``+``, no leading zeros, no ``-0``) within
  int64, so parsing is ``int()`` plus a round-trip check. Floats for
  INCRBYFLOAT follow strtold with an 80-bit long double, using the exact
  helpers in `crdt.args`; the overflow/underflow rules of strtold (ERANGE)
  and the 5 KiB length limit are applied here.
- LCS uses the bit-parallel LCS-length recurrence (one big integer per row
  of the first string) instead of an (n+1)x(m+1) table, so it runs at C
  speed inside Python's big integers; the traceback reads the same table
  values a dynamic-programming table would hold, with Redis's tie-breaking,
  so the string and the IDX ranges are identical to Redis's.
"""

from __future__ import annotations

from fractions import Fraction
from typing import TYPE_CHECKING, Any
from zlib import crc32

from crdt import errors
from crdt.args import INT64_MAX, INT64_MIN, to_int
from crdt.errors import CommandError
from crdt.keyspace import SHARD_MASK, string_bytes
from crdt.long_double import add_long_double, format_incr_float, parse_long_double
from crdt.table import command
from crdt.writes import lookup_write, notify, notify_new
from protocol.replies import OK, Reply

if TYPE_CHECKING:
    from crdt.session import Session

WRONGTYPE = errors.WRONGTYPE

_NX = 1
_XX = 2
_GET = 4
_KEEPTTL = 8
_PERSIST = 16
_EX = 32
_PX = 64
_EXAT = 128
_PXAT = 256
_ANY_EXPIRE = _EX | _PX | _EXAT | _PXAT
_SECONDS = _EX | _EXAT
_RELATIVE = _EX | _PX


# -- shared helpers --------------------------------------------------------------


def check_string_length(session: Session, size: int, append: int) -> None:
    """Refuse a string that would grow past ``proto-max-bulk-len`` (APPEND, SETRANGE).

    Raises:
        CommandError: ``string exceeds maximum allowed size (proto-max-bulk-len)``.
    """
    if size + append > session.engine.config["proto-max-bulk-len"]:
        raise CommandError(errors.STRING_TOO_LONG)


def _option(word: bytes) -> bytes:
    """An option word as Redis's C compare sees it: up to the first NUL, upper case."""
    nul = word.find(b"\0")
    if nul >= 0:
        word = word[:nul]
    return word.upper()


def _stored_int(value: Any) -> int:
    """The integer a stored string holds, by string2ll's rules.

    Raises:
        CommandError: WRONGTYPE for a non-string, else "not an integer".
    """
    t = type(value)
    if t is int:
        return value  # type: ignore[no-any-return]
    if t is not bytes and t is not bytearray:
        raise CommandError(WRONGTYPE)
    return to_int(value)


def _expire_at(raw: bytes, flags: int, now_ms: int, name: str) -> int:
    """The absolute expiry time (ms) an EX/PX/EXAT/PXAT argument asks for.

    Raises:
        CommandError: "not an integer" for bad text; "invalid expire time in
        '<name>' command" for a value <= 0 or one that overflows int64 in ms.
    """
    when = to_int(raw)
    if when <= 0 or (flags & _SECONDS and when > INT64_MAX // 1000):
        raise CommandError(errors.invalid_expire(name))
    if flags & _SECONDS:
        when *= 1000
    if flags & _RELATIVE:
        when += now_ms
        if when > INT64_MAX:  # Redis's signed addition wraps negative here
            raise CommandError(errors.invalid_expire(name))
    return when


def _parse_set_options(argv: list[bytes], start: int, for_set: bool) -> tuple[int, bytes | None]:
    """Parse SET's (or GETEX's) options from ``argv[start:]``.

    Returns:
        (flags, the raw expire argument or None).

    Raises:
        CommandError: syntax error for an unknown, misplaced or conflicting option.
    """
    flags = 0
    expire: bytes | None = None
    n = len(argv)
    i = start
    while i < n:
        opt = _option(argv[i])
        has_next = i + 1 < n
        if opt == b"NX" and for_set and not flags & _XX:
            flags |= _NX
        elif opt == b"XX" and for_set and not flags & _NX:
            flags |= _XX
        elif opt == b"GET" and for_set:
            flags |= _GET
        elif opt == b"KEEPTTL" and for_set and not flags & (_PERSIST | _ANY_EXPIRE):
            flags |= _KEEPTTL
        elif opt == b"PERSIST" and not for_set and not flags & (_KEEPTTL | _ANY_EXPIRE):
            flags |= _PERSIST
        elif opt == b"EX" and has_next and not flags & (_KEEPTTL | _PERSIST | _PX | _EXAT | _PXAT):
            flags |= _EX
            expire = argv[i + 1]
            i += 1
        elif opt == b"PX" and has_next and not flags & (_KEEPTTL | _PERSIST | _EX | _EXAT | _PXAT):
            flags |= _PX
            expire = argv[i + 1]
            i += 1
        elif opt == b"EXAT" and has_next and not flags & (_KEEPTTL | _PERSIST | _EX | _PX | _PXAT):
            flags |= _EXAT
            expire = argv[i + 1]
            i += 1
        elif opt == b"PXAT" and has_next and not flags & (_KEEPTTL | _PERSIST | _EX | _PX | _EXAT):
            flags |= _PXAT
            expire = argv[i + 1]
            i += 1
        else:
            raise CommandError(errors.SYNTAX)
        i += 1
    return flags, expire


def _string_or_none(value: Any) -> bytes | None:
    """A stored value as a reply: bytes for a string, None if absent.

    Raises:
        CommandError: WRONGTYPE for a non-string.
    """
    if value is None:
        return None
    text = string_bytes(value)
    if text is None:
        raise CommandError(WRONGTYPE)
    return text


# -- GET / SET family ------------------------------------------------------------


@command("get", 2, "readonly fast", keys=(1, 1, 1), group="string", since="1.0.0",
         summary="Get the value of a key", syntax="key", key_specs=("RO access",))
def get(s: Session, argv: list[bytes]) -> Reply:
    """GET key: the string, or null."""
    value = s.db.read(argv[1], s.now_ms)
    if value is None or type(value) is bytes:
        return value
    return _string_or_none(value)


@command("set", -3, "write denyoom", keys=(1, 1, 1), group="string", since="1.0.0",
         summary="Set the string value of a key",
         syntax=("key value [condition: NX | XX]@2.6.12 [GET@6.2.0] [expiration: EX "
                 "seconds@2.6.12 | PX milliseconds@2.6.12 | EXAT unix-time-seconds@6.2.0 | "
                 "PXAT unix-time-milliseconds@6.2.0 | KEEPTTL@6.0.0]"),
         key_specs=("RW access update variable_flags # RW and ACCESS due to the optional `GET` "
                    "argument",),
         history=(("2.6.12", "Added the `EX`, `PX`, `NX` and `XX` options."),
                  ("6.0.0", "Added the `KEEPTTL` option."),
                  ("6.2.0", "Added the `GET`, `EXAT` and `PXAT` option."),
                  ("7.0.0", "Allowed the `NX` and `GET` options to be used together.")))
def set_(s: Session, argv: list[bytes]) -> Reply:
    """SET key value [NX|XX] [GET] [EX|PX|EXAT|PXAT time | KEEPTTL].

    Order: option syntax, expire time, GET's type check (WRONGTYPE sets nothing),
    then NX/XX (a refused write answers null, or the old value with GET).
    """
    if len(argv) == 3:
        if s.engine.pubsub.notify_flags:
            _set_with_events(s, argv[1], argv[2], None)
            return OK
        s.db.set(argv[1], argv[2], s.now_ms)
        return OK
    flags, raw_expire = _parse_set_options(argv, 3, True)
    now = s.now_ms
    when = _expire_at(raw_expire, flags, now, "set") if raw_expire is not None else None
    db = s.db
    key = argv[1]
    if flags & _GET:
        old = _string_or_none(db.read(key, now))
        found = old is not None
    else:
        old = None
        found = lookup_write(db, key, now) is not None
    if (flags & _NX and found) or (flags & _XX and not found):
        return old
    db.set(key, argv[2], now, when, bool(flags & _KEEPTTL))
    if s.engine.pubsub.notify_flags:
        if not found:
            notify_new(s, key)
        notify(s, "$", b"set", key)
        if when is not None:
            notify(s, "g", b"expire", key)
    return old if flags & _GET else OK


def _set_with_events(s: Session, key: bytes, value: bytes, when: int | None) -> None:
    """SET's store when keyspace events are on: looks the key up first (lazy expiry,
    ``new``), then sends ``set`` and, with a TTL, ``expire`` as Redis does."""
    db = s.db
    created = db.lookup(key, s.now_ms) is None
    db.set(key, value, s.now_ms, when)
    if created:
        notify_new(s, key)
    notify(s, "$", b"set", key)
    if when is not None:
        notify(s, "g", b"expire", key)


@command("setnx", 3, "write denyoom fast", keys=(1, 1, 1), group="string", since="1.0.0",
         summary="Set the value of a key, only if the key does not exist", syntax="key value",
         key_specs=("OW insert",))
def setnx(s: Session, argv: list[bytes]) -> Reply:
    """SETNX key value: 1 if set, 0 if the key existed."""
    db = s.db
    if lookup_write(db, argv[1], s.now_ms) is not None:
        return 0
    db.set(argv[1], argv[2], s.now_ms)
    notify_new(s, argv[1])
    notify(s, "$", b"set", argv[1])
    return 1


def _set_with_expire(s: Session, argv: list[bytes], unit: int, name: str) -> Reply:
    when = _expire_at(argv[2], unit, s.now_ms, name)
    if s.engine.pubsub.notify_flags:
        _set_with_events(s, argv[1], argv[3], when)
        return OK
    s.db.set(argv[1], argv[3], s.now_ms, when)
    return OK


@command("setex", 4, "write denyoom", keys=(1, 1, 1), group="string", since="2.0.0",
         summary="Set the value and expiration of a key", syntax="key seconds value",
         key_specs=("OW update",))
def setex(s: Session, argv: list[bytes]) -> Reply:
    """SETEX key seconds value."""
    return _set_with_expire(s, argv, _EX, "setex")


@command("psetex", 4, "write denyoom", keys=(1, 1, 1), group="string", since="2.6.0",
         summary="Set the value and expiration in milliseconds of a key",
         syntax="key milliseconds value", key_specs=("OW update",))
def psetex(s: Session, argv: list[bytes]) -> Reply:
    """PSETEX key milliseconds value."""
    return _set_with_expire(s, argv, _PX, "psetex")


@command("mget", -2, "readonly fast", keys=(1, -1, 1), group="string", since="1.0.0",
         complexity="O(N) where N is the number of keys to retrieve.",
         summary="Get the values of all the given keys", syntax="key [key ...]",
         key_specs=("RO access",), tips="request_policy:multi_shard")
def mget(s: Session, argv: list[bytes]) -> Reply:
    """MGET key [key ...]: a value per key; null for a missing key or a non-string."""
    db = s.db
    now = s.now_ms
    return [string_bytes(db.read(key, now)) for key in argv[1:]]


@command("mset", -3, "write denyoom", keys=(1, -1, 2), group="string", since="1.0.1",
         complexity="O(N) where N is the number of keys to set.",
         summary="Set multiple keys to multiple values", syntax="key value [key value ...]",
         key_specs=("OW update",), tips="request_policy:multi_shard response_policy:all_succeeded")
def mset(s: Session, argv: list[bytes]) -> Reply:
    """MSET key value [key value ...]."""
    if len(argv) % 2 == 0:
        raise CommandError(errors.wrong_arity("mset"))
    db = s.db
    now = s.now_ms
    if s.engine.pubsub.notify_flags:
        for i in range(1, len(argv), 2):
            _set_with_events(s, argv[i], argv[i + 1], None)
        return OK
    for i in range(1, len(argv), 2):
        db.set(argv[i], argv[i + 1], now)
    return OK


@command("msetnx", -3, "write denyoom", keys=(1, -1, 2), group="string", since="1.0.1",
         complexity="O(N) where N is the number of keys to set.",
         summary="Set multiple keys to multiple values, only if none of the keys exist",
         syntax="key value [key value ...]", key_specs=("OW insert",),
         tips="request_policy:multi_shard response_policy:agg_min")
def msetnx(s: Session, argv: list[bytes]) -> Reply:
    """MSETNX key value [key value ...]: 1 if all were set, 0 (nothing set) if any existed."""
    if len(argv) % 2 == 0:
        raise CommandError(errors.wrong_arity("msetnx"))
    db = s.db
    now = s.now_ms
    for i in range(1, len(argv), 2):
        if lookup_write(db, argv[i], now) is not None:
            return 0
    for i in range(1, len(argv), 2):
        db.set(argv[i], argv[i + 1], now)
        notify_new(s, argv[i])
        notify(s, "$", b"set", argv[i])
    return 1


@command("getset", 3, "write denyoom fast", keys=(1, 1, 1), group="string", since="1.0.0",
         summary="Set the string value of a key and return its old value", syntax="key value",
         key_specs=("RW access update",), doc_flags="deprecated", deprecated_since="6.2.0",
         replaced_by="`SET` with the `!GET` argument")
def getset(s: Session, argv: list[bytes]) -> Reply:
    """GETSET key value: the old string (or null); the TTL is cleared."""
    db = s.db
    old = _string_or_none(db.read(argv[1], s.now_ms))
    db.set(argv[1], argv[2], s.now_ms)
    if old is None:
        notify_new(s, argv[1])
    notify(s, "$", b"set", argv[1])
    return old


@command("getdel", 2, "write fast", keys=(1, 1, 1), group="string", since="6.2.0",
         summary="Get the value of a key and delete the key", syntax="key",
         key_specs=("RW access delete",))
def getdel(s: Session, argv: list[bytes]) -> Reply:
    """GETDEL key: the string (or null), and the key is gone."""
    db = s.db
    old = _string_or_none(db.read(argv[1], s.now_ms))
    if old is not None:
        db.delete(argv[1])
        notify(s, "g", b"del", argv[1])
    return old


@command("getex", -2, "write fast", keys=(1, 1, 1), group="string", since="6.2.0",
         summary="Get the value of a key and optionally set its expiration",
         syntax=("key [expiration: EX seconds | PX milliseconds | EXAT unix-time-seconds | "
                 "PXAT unix-time-milliseconds | PERSIST]"),
         key_specs=("RW access update # RW and UPDATE because it changes the TTL",))
def getex(s: Session, argv: list[bytes]) -> Reply:
    """GETEX key [EX|PX|EXAT|PXAT time | PERSIST].

    Order (Redis 7.0): option syntax, then the key (a missing key answers
    null and a non-string WRONGTYPE whatever the time says), then the expire
    time. An EXAT/PXAT time that is not in the future deletes the key
    (after replying).
    """
    flags, raw_expire = _parse_set_options(argv, 2, False)
    now = s.now_ms
    db = s.db
    key = argv[1]
    value = _string_or_none(db.read(key, now))
    if value is None:
        return None
    when = _expire_at(raw_expire, flags, now, "getex") if raw_expire is not None else None
    if when is not None:
        if flags & (_EXAT | _PXAT) and when <= now:
            db.delete(key)
            notify(s, "g", b"del", key)
        else:
            db.set_expire(key, when)
            db.signal(key)
            notify(s, "g", b"expire", key)
    elif flags & _PERSIST:
        if db.persist(key):
            db.signal(key)
            notify(s, "g", b"persist", key)
    return value


@command("strlen", 2, "readonly fast", keys=(1, 1, 1), group="string", since="2.2.0",
         summary="Get the length of the value stored in a key", syntax="key", key_specs=("RO",))
def strlen(s: Session, argv: list[bytes]) -> Reply:
    """STRLEN key: the length, 0 for a missing key."""
    value = s.db.read(argv[1], s.now_ms)
    if value is None:
        return 0
    t = type(value)
    if t is bytes or t is bytearray:
        return len(value)
    if t is int:
        return len(b"%d" % value)
    raise CommandError(WRONGTYPE)


# -- in-place edits -----------------------------------------------------------------


@command("append", 3, "write denyoom fast", keys=(1, 1, 1), group="string", since="2.0.0",
         complexity=("O(1). The amortized time complexity is O(1) assuming the appended value "
                    "is small and the already present value is of any size, since the dynamic "
                    "string library used by Redis will double the free space available on "
                    "every reallocation."),
         summary="Append a value to a key", syntax="key value", key_specs=("RW insert",))
def append(s: Session, argv: list[bytes]) -> Reply:
    """APPEND key value: the new length. The key keeps its TTL and becomes a raw string."""
    db = s.db
    key, tail = argv[1], argv[2]
    value = lookup_write(db, key, s.now_ms)
    if value is None:
        db.set(key, tail, s.now_ms)
        notify_new(s, key)
        notify(s, "$", b"append", key)
        return len(tail)
    t = type(value)
    if t is int:
        value, t = b"%d" % value, bytes
    elif t is not bytes and t is not bytearray:
        raise CommandError(WRONGTYPE)
    check_string_length(s, len(value), len(tail))
    if t is bytearray:
        value += tail
        db.signal(key)
    else:
        value = bytearray(value)
        value += tail
        db.replace_value(key, value)
    notify(s, "$", b"append", key)
    return len(value)


@command("setrange", 4, "write denyoom", keys=(1, 1, 1), group="string", since="2.2.0",
         complexity=("O(1), not counting the time taken to copy the new string in place. "
                    "Usually, this string is very small so the amortized complexity is O(1). "
                    "Otherwise, complexity is O(M) with M being the length of the value argument."),
         summary="Overwrite part of a string at key starting at the specified offset",
         syntax="key offset value", key_specs=("RW update",))
def setrange(s: Session, argv: list[bytes]) -> Reply:
    """SETRANGE key offset value: the new length; the gap is zero-filled.

    An empty value changes nothing (no key is created), whatever the offset.
    """
    offset = to_int(argv[2])
    if offset < 0:
        raise CommandError(errors.OFFSET_RANGE)
    db = s.db
    key, patch = argv[1], argv[3]
    value = lookup_write(db, key, s.now_ms)
    if value is None:
        if not patch:
            return 0
        check_string_length(s, offset, len(patch))
        new = bytearray(offset)
        new += patch
        db.set(key, new, s.now_ms)
        notify_new(s, key)
        notify(s, "$", b"setrange", key)
        return len(new)
    t = type(value)
    if t is int:
        value, t = b"%d" % value, bytes
    elif t is not bytes and t is not bytearray:
        raise CommandError(WRONGTYPE)
    if not patch:
        return len(value)
    check_string_length(s, offset, len(patch))
    if t is bytes:
        value = bytearray(value)
        db.replace_value(key, value)
    else:
        db.signal(key)
    end = offset + len(patch)
    if len(value) < offset:
        value.extend(bytes(offset - len(value)))
    value[offset:end] = patch
    notify(s, "$", b"setrange", key)
    return len(value)


def _getrange(s: Session, argv: list[bytes]) -> Reply:
    start = to_int(argv[2])
    end = to_int(argv[3])
    value = s.db.read(argv[1], s.now_ms)
    if value is None:
        return b""
    value = _string_or_none(value)
    n = len(value)
    if start < 0 and end < 0 and start > end:
        return b""
    if start < 0:
        start = max(n + start, 0)
    if end < 0:
        end = max(n + end, 0)
    if end >= n:
        end = n - 1
    if start > end or n == 0:
        return b""
    return bytes(value[start:end + 1])


_GETRANGE_COMPLEXITY = (
    "O(N) where N is the length of the returned string. The complexity is ultimately "
    "determined by the returned length, but because creating a substring from an existing "
    "string is very cheap, it can be considered O(1) for small strings.")


@command("getrange", 4, "readonly", keys=(1, 1, 1), group="string", since="2.4.0",
         complexity=_GETRANGE_COMPLEXITY, summary="Get a substring of the string stored at a key",
         syntax="key start end", key_specs=("RO access",))
def getrange(s: Session, argv: list[bytes]) -> Reply:
    """GETRANGE key start end: inclusive byte range, negative indexes from the end."""
    return _getrange(s, argv)


@command("substr", 4, "readonly", keys=(1, 1, 1), group="string", since="1.0.0",
         complexity=_GETRANGE_COMPLEXITY, summary="Get a substring of the string stored at a key",
         syntax="key start end", key_specs=("RO access",), doc_flags="deprecated",
         deprecated_since="2.0.0", replaced_by="`GETRANGE`")
def substr(s: Session, argv: list[bytes]) -> Reply:
    """SUBSTR key start end: the old name of GETRANGE."""
    return _getrange(s, argv)


# -- counters -----------------------------------------------------------------------


@command("incr", 2, "write denyoom fast", keys=(1, 1, 1), group="string", since="1.0.0",
         summary="Increment the integer value of a key by one", syntax="key",
         key_specs=("RW access update",))
def incr(s: Session, argv: list[bytes], delta: int = 1) -> Reply:
    """INCR key; DECR, INCRBY and DECRBY call it with their `delta`.

    Adds `delta` to the integer at the key (0 if absent), keeping the TTL, and
    stores the result as an `int`: a counter stays one, so the usual INCR
    reads no text and writes none. The key's shard is found once, for the
    lookup and the store (`Db.lookup` written out, and `Db.signal`): this is
    INCR's hot path, and a second crc32 and two calls were 9% of its instructions.
    """
    key = argv[1]
    db = s.db
    now = s.now_ms
    shard = db.shards[crc32(key) & SHARD_MASK]
    value = shard.get(key)
    if value is not None and db.expires and db.is_expired(key, now):
        value = db.lookup(key, now)  # expires it
    if value is None:
        n = delta
        db.set(key, n, now, None, True)
    else:
        n = (value if type(value) is int else _stored_int(value)) + delta
        if n > INT64_MAX or n < INT64_MIN:
            raise CommandError(errors.OVERFLOW)
        if type(value) is not int:  # text becomes a counter: the accounting follows
            db.account_swap(key, value, n)
        shard[key] = n
        db.atime[key] = now
        db.changes += 1  # `Db.signal`, written out like `Db.set` writes it
        if db.watchers or db.delta is not None:
            db.tell_observers(key)
    if db.delta is not None:
        db.note_increment(key, None)
    if s.engine.pubsub.notify_flags:
        if value is None:
            notify_new(s, key)
        notify(s, "$", b"incrby", key)
    return n


@command("decr", 2, "write denyoom fast", keys=(1, 1, 1), group="string", since="1.0.0",
         summary="Decrement the integer value of a key by one", syntax="key",
         key_specs=("RW access update",))
def decr(s: Session, argv: list[bytes]) -> Reply:
    """DECR key."""
    return incr(s, argv, -1)


@command("incrby", 3, "write denyoom fast", keys=(1, 1, 1), group="string", since="1.0.0",
         summary="Increment the integer value of a key by the given amount", syntax="key increment",
         key_specs=("RW access update",))
def incrby(s: Session, argv: list[bytes]) -> Reply:
    """INCRBY key increment (the increment is checked before the key's type)."""
    return incr(s, argv, to_int(argv[2]))


@command("decrby", 3, "write denyoom fast", keys=(1, 1, 1), group="string", since="1.0.0",
         summary="Decrement the integer value of a key by the given number", syntax="key decrement",
         key_specs=("RW access update",))
def decrby(s: Session, argv: list[bytes]) -> Reply:
    """DECRBY key decrement; the decrement -2**63 cannot be negated and is refused first."""
    amount = to_int(argv[2])
    if amount == INT64_MIN:
        raise CommandError(errors.DECR_OVERFLOW)
    return incr(s, argv, -amount)


@command("incrbyfloat", 3, "write denyoom fast", keys=(1, 1, 1), group="string", since="2.6.0",
         summary="Increment the float value of a key by the given amount",
         syntax="key increment{double}", key_specs=("RW access update",))
def incrbyfloat(s: Session, argv: list[bytes]) -> Reply:
    """INCRBYFLOAT key increment: long double arithmetic, the result as ``%.17Lf`` trimmed.

    Order: the key's type, the stored value, then the increment. The TTL is kept.
    """
    db = s.db
    key = argv[1]
    now = s.now_ms
    value = db.lookup(key, now)
    if value is None:
        current: Fraction | float = Fraction(0)
    else:
        current = parse_long_double(_string_or_none(value))
    total = add_long_double(current, parse_long_double(argv[2]))
    if isinstance(total, float):  # inf or nan
        raise CommandError(errors.INCR_NAN_OR_INF)
    text = format_incr_float(total)
    db.set(key, text, now, None, True)
    db.note_increment(key, None)
    if value is None:
        notify_new(s, key)
    notify(s, "$", b"incrbyfloat", key)
    return text


# -- LCS ------------------------------------------------------------------------------


def _lcs_rows(a: bytes, b: bytes, keep: bool) -> list[int]:
    """Bit-parallel LCS rows (Allison-Dix / Hyyro): row i describes LCS(a[:i], b[:j]) for all j.

    Bit j-1 of ``rows[i]`` is 0 exactly where LCS(i, j) = LCS(i, j-1) + 1, so
    LCS(i, j) = j - popcount(rows[i] & (2**j - 1)). With `keep` false only
    the first and last rows are returned (enough for the length).
    """
    m = len(b)
    full = (1 << m) - 1
    matches: dict[int, int] = {}
    for j, ch in enumerate(b):
        matches[ch] = matches.get(ch, 0) | (1 << j)
    v = full
    rows = [v]
    for ch in a:
        u = v & matches.get(ch, 0)
        v = ((v + u) | (v - u)) & full
        if keep:
            rows.append(v)
    if not keep:
        rows.append(v)
    return rows


def _lcs_at(rows: list[int], i: int, j: int) -> int:
    return j - (rows[i] & ((1 << j) - 1)).bit_count()


@command("lcs", -3, "readonly", keys=(1, 2, 1), group="string", since="7.0.0",
         complexity="O(N*M) where N and M are the lengths of s1 and s2, respectively",
         summary="Find longest common substring",
         syntax="key1 key2 [LEN] [IDX] [MINMATCHLEN len] [WITHMATCHLEN]", key_specs=("RO access",))
def lcs(s: Session, argv: list[bytes]) -> Reply:
    """LCS key1 key2 [LEN] [IDX] [MINMATCHLEN n] [WITHMATCHLEN].

    Missing keys are empty strings. Order: the keys' types, the options,
    then the LEN+IDX conflict. IDX answers a map ``matches`` (ranges from the
    end of the strings backwards, each [[a_start, a_end], [b_start, b_end]]
    plus the length with WITHMATCHLEN) and ``len``.
    """
    db = s.db
    now = s.now_ms
    va = db.read(argv[1], now)
    vb = db.read(argv[2], now)
    a = string_bytes(va) if va is not None else b""
    b = string_bytes(vb) if vb is not None else b""
    if a is None or b is None:
        raise CommandError(errors.LCS_WRONGTYPE)
    want_len = want_idx = with_len = False
    min_len = 0
    i = 3
    n = len(argv)
    while i < n:
        opt = _option(argv[i])
        if opt == b"IDX":
            want_idx = True
        elif opt == b"LEN":
            want_len = True
        elif opt == b"WITHMATCHLEN":
            with_len = True
        elif opt == b"MINMATCHLEN" and i + 1 < n:
            min_len = max(to_int(argv[i + 1]), 0)
            i += 1
        else:
            raise CommandError(errors.SYNTAX)
        i += 1
    if want_idx and want_len:
        raise CommandError(errors.LCS_LEN_AND_IDX)

    rows = _lcs_rows(a, b, keep=not want_len)
    total = _lcs_at(rows, len(rows) - 1, len(b))
    if want_len:
        return total
    # Walk back from the end, as Redis does: on a match take the byte and move
    # diagonally; otherwise step towards the larger neighbour (up on a strict
    # win, else left). Contiguous matches form a range, emitted when it ends.
    out = bytearray(total)
    k = total
    ranges: list[list[Any]] = []
    ia, jb = len(a), len(b)
    current: list[int] | None = None  # [a_start, a_end, b_start, b_end]
    while ia > 0 and jb > 0:
        emit = False
        if a[ia - 1] == b[jb - 1]:
            out[k - 1] = a[ia - 1]
            if current is None:
                current = [ia - 1, ia - 1, jb - 1, jb - 1]
            elif current[0] == ia and current[2] == jb:
                current[0] -= 1
                current[2] -= 1
            else:
                emit = True
            if current[0] == 0 or current[2] == 0:
                emit = True
            k -= 1
            ia -= 1
            jb -= 1
        else:
            if _lcs_at(rows, ia - 1, jb) > _lcs_at(rows, ia, jb - 1):
                ia -= 1
            else:
                jb -= 1
            if current is not None:
                emit = True
        if emit and current is not None:
            match_len = current[1] - current[0] + 1
            if want_idx and (min_len == 0 or match_len >= min_len):
                entry: list[Any] = [[current[0], current[1]], [current[2], current[3]]]
                if with_len:
                    entry.append(match_len)
                ranges.append(entry)
            current = None
    if want_idx:
        return {b"matches": ranges, b"len": total}
    return bytes(out)
