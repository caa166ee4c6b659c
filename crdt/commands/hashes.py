"""Hash commands: HSET/HGET and friends, HINCRBY/HINCRBYFLOAT, HRANDFIELD and HSCAN.

Strategy:
- A stored hash is a `HashValue`: a `dict` subclass mapping field bytes to
  value bytes, plus the encoding Redis would be using (``listpack`` flag).
  A listpack hash in Redis keeps its fields in insertion order, updates in
  place and deletes without reordering, which is exactly a Python dict's
  order, so HGETALL/HKEYS/HVALS/HSCAN/HRANDFIELD replies of small hashes are
  byte for byte Redis's. A hashtable hash is in Redis's hash order, which
  nobody can reproduce; we keep insertion order (deterministic, per the
  architecture's rule against hash-order decisions).
- Encoding (checked against redis-server 7.0.15): a new hash is a listpack;
  it becomes a hashtable, for good, when a write stores a field or value
  longer than ``hash-max-listpack-value`` or the hash grows past
  ``hash-max-listpack-entries``. HSET/HMSET check every argument before they
  write; HSETNX checks only when it writes; HINCRBY/HINCRBYFLOAT check the
  field and the *result*. Shrinking never converts back.
- Order of checks is Redis 7.0's: HSET's odd-argument arity error comes
  before the key; HINCRBY/HINCRBYFLOAT parse the increment before the key
  (HINCRBYFLOAT refuses an infinite increment there too); HRANDFIELD
  parses its count, then WITHVALUES, then looks up the key; HSCAN parses
  the cursor, then looks up the key, then reads its options (so a bad
  option on a missing key answers an empty scan).
- HINCRBYFLOAT is INCRBYFLOAT's exact 80-bit long double arithmetic
  (`crdt.long_double.parse_long_double` / `format_incr_float`).
- HSCAN of a listpack hash answers everything at once with cursor 0 (any
  cursor), like Redis. A hashtable hash is walked by `collection_scan`: the
  fields ordered by crc32 (stable across processes), the cursor being a
  position plus one, so every field present for the whole scan is returned.
  SSCAN (crdt/commands/sets.py) uses the same helpers.
- Randomness (HRANDFIELD) comes only from ``session.engine.rng``.

Interface of `HashValue` (for SORT's ``->field`` patterns, COPY, OBJECT):
``value.get(field) -> bytes | None`` (it is a dict of bytes -> bytes:
``len``, ``in``, iteration over fields, ``items()``), ``type_name = b"hash"``,
``encoding(config) -> b"listpack" | b"hashtable"``, ``copy() -> HashValue``
(independent), ``listpack`` (bool attribute). Handlers mutate it only
through the functions here, which keep the encoding flag right.
"""

from __future__ import annotations

from collections.abc import Iterable
from fractions import Fraction
from itertools import islice
from typing import TYPE_CHECKING, Any

from crdt import errors
from crdt.args import INT64_MAX, INT64_MIN, c_word, parse_random_count, to_int
from crdt.errors import CommandError
from crdt.long_double import add_long_double, format_incr_float, parse_long_double
from crdt.scan import collection_scan, parse_scan_cursor, parse_scan_options
from crdt.table import command
from crdt.writes import notify, notify_new, signal_or_delete
from protocol.replies import OK, Reply

if TYPE_CHECKING:
    from crdt.keyspace import Db
    from crdt.session import Session


WRONGTYPE = errors.WRONGTYPE
# HRANDFIELD ... WITHVALUES refuses counts beyond +-LONG_MAX/2 (its reply would overflow).
WITHVALUES_COUNT_MAX = INT64_MAX // 2


class HashValue(dict):  # type: ignore[type-arg]
    """A Redis hash: field bytes -> value bytes, in insertion order, plus its encoding."""

    __slots__ = ("listpack", "scan_index")
    type_name = b"hash"

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.listpack = True
        # (positions, fields) sorted by crc32 position, built by `collection_scan`.
        self.scan_index: tuple[list[int], list[bytes]] | None = None

    def encoding(self, config: Any) -> bytes:
        """OBJECT ENCODING: ``listpack`` until a write made it a ``hashtable``."""
        return b"listpack" if self.listpack else b"hashtable"

    def copy(self) -> HashValue:
        """An independent copy (COPY) with the same encoding; fields and values are bytes."""
        dup = HashValue(self)
        dup.listpack = self.listpack
        return dup


def _hash_or_none(value: Any) -> HashValue | None:
    """A looked-up value as a hash (None if absent). Raises WRONGTYPE for another type."""
    if value is None or type(value) is HashValue:
        return value
    raise CommandError(WRONGTYPE)


def _hash_for_write(db: Db, key: bytes, now: int) -> tuple[HashValue, bool]:
    """The hash at `key` for a write, or a new empty one; (hash, created). WRONGTYPE otherwise."""
    h = db.lookup(key, now)
    if h is None:
        return HashValue(), True
    if type(h) is not HashValue:
        raise CommandError(WRONGTYPE)
    return h, False


def _store(s: Session, key: bytes, h: HashValue, created: bool, event: bytes) -> None:
    """Publish a write: add a new hash to the keyspace, or signal the changed one.

    Then the keyspace events: ``new`` for a created hash, and `event` (class h).
    """
    db = s.db
    if created:
        db.set(key, h, s.now_ms)
    else:
        db.signal(key)
    if s.engine.pubsub.notify_flags:
        if created:
            notify_new(s, key)
        notify(s, "h", event, key)


def _set_field(h: HashValue, field: bytes, value: bytes, config: Any) -> bool:
    """Store one field with Redis's conversion checks; True if the field is new."""
    if h.listpack:
        limit = config["hash-max-listpack-value"]
        if len(field) > limit or len(value) > limit:
            h.listpack = False
    new = field not in h
    h[field] = value
    if new and h.listpack and len(h) > config["hash-max-listpack-entries"]:
        h.listpack = False
    return new


# -- setting ------------------------------------------------------------------------------


@command("hset", -4, "write denyoom fast", keys=(1, 1, 1), group="hash", since="2.0.0",
         complexity=("O(1) for each field/value pair added, so O(N) to add N field/value pairs "
                     "when the command is called with multiple field/value pairs."),
         summary="Set the string value of a hash field",
         syntax="key field value [field value ...]", key_specs=("RW update",),
         history=(("4.0.0", "Accepts multiple `field` and `value` arguments."),))
def hset(s: Session, argv: list[bytes]) -> Reply:
    """HSET key field value [field value ...]: how many fields were added (HMSET's work too)."""
    n = len(argv)
    if n % 2:
        raise CommandError(errors.wrong_arity("hset"))
    db = s.db
    key = argv[1]
    now = s.now_ms
    h = db.lookup(key, now)
    created = h is None
    if created:
        h = HashValue()
    elif type(h) is not HashValue:
        raise CommandError(WRONGTYPE)
    params = s.engine.config.values  # a plain dict: no Config.__getitem__ call per lookup
    if n == 4:  # one pair: the usual HSET, without the loop
        added = 1 if _set_field(h, argv[2], argv[3], params) else 0
    else:
        added = 0
        for i in range(2, n, 2):
            if _set_field(h, argv[i], argv[i + 1], params):
                added += 1
    if created:  # `_store`, written out: this is HSET's hot path
        db.set(key, h, now)
    else:
        db.signal(key)
    if db.delta is not None:
        db.note_touched(key, argv[2::2])
    if s.engine.pubsub.notify_flags:
        if created:
            notify_new(s, key)
        notify(s, "h", b"hset", key)
    return added


@command("hmset", -4, "write denyoom fast", keys=(1, 1, 1), group="hash", since="2.0.0",
         complexity="O(N) where N is the number of fields being set.",
         summary="Set multiple hash fields to multiple values",
         syntax="key field value [field value ...]", key_specs=("RW update",),
         doc_flags="deprecated", deprecated_since="4.0.0",
         replaced_by="`HSET` with multiple field-value pairs")
def hmset(s: Session, argv: list[bytes]) -> Reply:
    """HMSET key field value [field value ...]: OK."""
    if len(argv) % 2:
        raise CommandError(errors.wrong_arity("hmset"))
    hset(s, argv)
    return OK


@command("hsetnx", 4, "write denyoom fast", keys=(1, 1, 1), group="hash", since="2.0.0",
         summary="Set the value of a hash field, only if the field does not exist",
         syntax="key field value", key_specs=("RW insert",))
def hsetnx(s: Session, argv: list[bytes]) -> Reply:
    """HSETNX key field value: 1 if set, 0 if the field existed (no encoding check then)."""
    db = s.db
    key = argv[1]
    now = s.now_ms
    h, created = _hash_for_write(db, key, now)
    if argv[2] in h:
        return 0
    _set_field(h, argv[2], argv[3], s.engine.config)
    _store(s, key, h, created, b"hset")
    return 1


# -- reading ------------------------------------------------------------------------------


@command("hget", 3, "readonly fast", keys=(1, 1, 1), group="hash", since="2.0.0",
         summary="Get the value of a hash field", syntax="key field", key_specs=("RO access",))
def hget(s: Session, argv: list[bytes]) -> Reply:
    """HGET key field: the value, or null."""
    h = s.db.read(argv[1], s.now_ms)
    if h is None:
        return None
    if type(h) is not HashValue:
        raise CommandError(WRONGTYPE)
    return h.get(argv[2])


@command("hmget", -3, "readonly fast", keys=(1, 1, 1), group="hash", since="2.0.0",
         complexity="O(N) where N is the number of fields being requested.",
         summary="Get the values of all the given hash fields", syntax="key field [field ...]",
         key_specs=("RO access",))
def hmget(s: Session, argv: list[bytes]) -> Reply:
    """HMGET key field [field ...]: one value or null per field."""
    h = _hash_or_none(s.db.read(argv[1], s.now_ms))
    if h is None:
        return [None] * (len(argv) - 2)
    get = h.get
    return [get(f) for f in argv[2:]]


@command("hgetall", 2, "readonly", keys=(1, 1, 1), group="hash", since="2.0.0",
         complexity="O(N) where N is the size of the hash.",
         summary="Get all the fields and values in a hash", syntax="key",
         key_specs=("RO access",), tips="nondeterministic_output_order")
def hgetall(s: Session, argv: list[bytes]) -> Reply:
    """HGETALL key: a map (RESP3) or flat field/value array (RESP2)."""
    h = _hash_or_none(s.db.read(argv[1], s.now_ms))
    return {} if h is None else dict(h)


@command("hkeys", 2, "readonly", keys=(1, 1, 1), group="hash", since="2.0.0",
         complexity="O(N) where N is the size of the hash.",
         summary="Get all the fields in a hash", syntax="key",
         key_specs=("RO access",), tips="nondeterministic_output_order")
def hkeys(s: Session, argv: list[bytes]) -> Reply:
    """HKEYS key: the fields."""
    h = _hash_or_none(s.db.read(argv[1], s.now_ms))
    return [] if h is None else list(h)


@command("hvals", 2, "readonly", keys=(1, 1, 1), group="hash", since="2.0.0",
         complexity="O(N) where N is the size of the hash.",
         summary="Get all the values in a hash", syntax="key",
         key_specs=("RO access",), tips="nondeterministic_output_order")
def hvals(s: Session, argv: list[bytes]) -> Reply:
    """HVALS key: the values."""
    h = _hash_or_none(s.db.read(argv[1], s.now_ms))
    return [] if h is None else list(h.values())


@command("hlen", 2, "readonly fast", keys=(1, 1, 1), group="hash", since="2.0.0",
         summary="Get the number of fields in a hash", syntax="key", key_specs=("RO",))
def hlen(s: Session, argv: list[bytes]) -> Reply:
    """HLEN key: the number of fields (0 if absent)."""
    h = _hash_or_none(s.db.read(argv[1], s.now_ms))
    return 0 if h is None else len(h)


@command("hexists", 3, "readonly fast", keys=(1, 1, 1), group="hash", since="2.0.0",
         summary="Determine if a hash field exists", syntax="key field", key_specs=("RO",))
def hexists(s: Session, argv: list[bytes]) -> Reply:
    """HEXISTS key field: 1 or 0."""
    h = _hash_or_none(s.db.read(argv[1], s.now_ms))
    return 1 if h is not None and argv[2] in h else 0


@command("hstrlen", 3, "readonly fast", keys=(1, 1, 1), group="hash", since="3.2.0",
         summary="Get the length of the value of a hash field", syntax="key field",
         key_specs=("RO",))
def hstrlen(s: Session, argv: list[bytes]) -> Reply:
    """HSTRLEN key field: the value's length (0 if absent)."""
    h = _hash_or_none(s.db.read(argv[1], s.now_ms))
    if h is None:
        return 0
    value = h.get(argv[2])
    return 0 if value is None else len(value)


# -- deleting -----------------------------------------------------------------------------


@command("hdel", -3, "write fast", keys=(1, 1, 1), group="hash", since="2.0.0",
         complexity="O(N) where N is the number of fields to be removed.",
         summary="Delete one or more hash fields", syntax="key field [field ...]",
         key_specs=("RW delete",), history=(("2.4.0", "Accepts multiple `field` arguments."),))
def hdel(s: Session, argv: list[bytes]) -> Reply:
    """HDEL key field [field ...]: how many fields were removed; an emptied hash is deleted."""
    db = s.db
    key = argv[1]
    h = _hash_or_none(db.lookup(key, s.now_ms))
    if h is None:
        return 0
    removed = 0
    for field in argv[2:]:
        if h.pop(field, None) is not None:
            removed += 1
            if not h:
                break
    if removed:
        notify(s, "h", b"hdel", key)
        signal_or_delete(s, db, key, bool(h))
    return removed


# -- counters -----------------------------------------------------------------------------


@command("hincrby", 4, "write denyoom fast", keys=(1, 1, 1), group="hash", since="2.0.0",
         summary="Increment the integer value of a hash field by the given number",
         syntax="key field increment", key_specs=("RW access update",))
def hincrby(s: Session, argv: list[bytes]) -> Reply:
    """HINCRBY key field increment: the new value (int64, overflow refused)."""
    incr = to_int(argv[3])
    db = s.db
    key = argv[1]
    now = s.now_ms
    h, created = _hash_for_write(db, key, now)
    field = argv[2]
    old = h.get(field)
    current = 0 if old is None else to_int(old, errors.HASH_NOT_INTEGER)
    total = current + incr
    if total < INT64_MIN or total > INT64_MAX:
        raise CommandError(errors.OVERFLOW)
    _set_field(h, field, b"%d" % total, s.engine.config)
    _store(s, key, h, created, b"hincrby")
    db.note_increment(key, field)
    return total


@command("hincrbyfloat", 4, "write denyoom fast", keys=(1, 1, 1), group="hash", since="2.6.0",
         summary="Increment the float value of a hash field by the given amount",
         syntax="key field increment{double}", key_specs=("RW access update",))
def hincrbyfloat(s: Session, argv: list[bytes]) -> Reply:
    """HINCRBYFLOAT key field increment: long double arithmetic, printed as INCRBYFLOAT does.

    Order: the increment (text, then NaN/Infinity), the key's type, the stored value.
    """
    incr = parse_long_double(argv[3])
    if isinstance(incr, float):
        raise CommandError(errors.NAN_OR_INF)
    db = s.db
    key = argv[1]
    now = s.now_ms
    h, created = _hash_for_write(db, key, now)
    field = argv[2]
    old = h.get(field)
    current: Fraction | float = Fraction(0)
    if old is not None:
        try:
            current = parse_long_double(old)
        except CommandError:
            raise CommandError(errors.HASH_NOT_FLOAT) from None
    total = add_long_double(current, incr)
    if isinstance(total, float):
        raise CommandError(errors.INCR_NAN_OR_INF)
    text = format_incr_float(total)
    _set_field(h, field, text, s.engine.config)
    _store(s, key, h, created, b"hincrbyfloat")
    db.note_increment(key, field)
    return text


# -- random fields and scanning -------------------------------------------------------------


def _pairs_reply(pairs: list[tuple[bytes, bytes]], resp3: bool) -> list[Any]:
    """Field/value pairs: nested two-element arrays in RESP3, a flat array in RESP2."""
    if resp3:
        return [[f, v] for f, v in pairs]
    flat: list[Any] = []
    for f, v in pairs:
        flat.append(f)
        flat.append(v)
    return flat


@command("hrandfield", -2, "readonly", keys=(1, 1, 1), group="hash", since="6.2.0",
         complexity="O(N) where N is the number of fields returned",
         summary="Get one or multiple random fields from a hash",
         syntax="key [options: count [WITHVALUES]]", key_specs=("RO access",),
         tips="nondeterministic_output")
def hrandfield(s: Session, argv: list[bytes]) -> Reply:
    """HRANDFIELD key [count [WITHVALUES]].

    No count: one random field or null. count >= 0: distinct fields (the whole
    hash, in its order, when count >= its size). count < 0: -count fields,
    repeats allowed.
    """
    n = len(argv)
    rng = s.engine.rng
    if n == 2:
        h = _hash_or_none(s.db.read(argv[1], s.now_ms))
        if h is None:
            return None
        return next(islice(h, rng.randrange(len(h)), None))
    count = parse_random_count(argv[2])
    withvalues = False
    if n > 4 or (n == 4 and c_word(argv[3]) != b"WITHVALUES"):
        raise CommandError(errors.SYNTAX)
    if n == 4:
        withvalues = True
        if count < -WITHVALUES_COUNT_MAX or count > WITHVALUES_COUNT_MAX:
            raise CommandError(errors.VALUE_RANGE)
    h = _hash_or_none(s.db.read(argv[1], s.now_ms))
    if h is None or count == 0:
        return []
    size = len(h)
    if count < 0:
        items = list(h.items())
        picks = [items[rng.randrange(size)] for _ in range(-count)]
    elif count >= size:
        picks = list(h.items())
    else:
        picks = rng.sample(list(h.items()), count)
    if withvalues:
        return _pairs_reply(picks, s.resp3)
    return [f for f, _ in picks]


@command("hscan", -3, "readonly", keys=(1, 1, 1), group="hash", since="2.8.0",
         complexity=("O(1) for every call. O(N) for a complete iteration, including enough "
                     "command calls for the cursor to return back to 0. N is the number of "
                     "elements inside the collection.."),
         summary="Incrementally iterate hash fields and associated values",
         syntax="key cursor [MATCH pattern] [COUNT count]", key_specs=("RO access",),
         tips="nondeterministic_output")
def hscan(s: Session, argv: list[bytes]) -> Reply:
    """HSCAN key cursor [MATCH pattern] [COUNT count]: [next cursor, [field, value, ...]]."""
    cursor = parse_scan_cursor(argv[2])
    h = _hash_or_none(s.db.read(argv[1], s.now_ms))
    if h is None:
        return [b"0", []]
    matcher, count = parse_scan_options(argv, 3)
    if h.listpack:
        next_cursor = 0
        fields: Iterable[bytes] = h
    else:
        next_cursor, fields = collection_scan(h, h, h.__contains__, cursor, count)
    out: list[bytes] = []
    for field in fields:
        if matcher is None or matcher(field):
            out.append(field)
            out.append(h[field])
    return [b"%d" % next_cursor, out]
