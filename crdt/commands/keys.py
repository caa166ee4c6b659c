"""Keyspace commands: DEL UNLINK EXISTS TYPE KEYS SCAN RENAME RENAMENX COPY MOVE RANDOMKEY
DBSIZE TOUCH OBJECT FLUSHDB FLUSHALL SWAPDB.

Strategy: each handler follows Redis 7.0's own order of checks (it decides
which error wins when several apply) and its choice of lookup, because the
lookup decides the side effects clients can observe:

- "write" lookups (DEL, RENAME, MOVE, COPY's destination) use `Db.lookup`:
  lazy expiry, no statistics;
- "read" lookups that refresh the access time (TOUCH, COPY's source) use
  `Db.read`;
- introspection (EXISTS, TYPE, OBJECT, SCAN ... TYPE) counts a keyspace hit
  or miss but leaves the access time alone (Redis's LOOKUP_NOTOUCH).

KEYS filters expired keys without deleting them and DBSIZE counts stored
keys, expired or not, exactly as Redis does (only a lookup deletes).
SCAN walks `Db.scan`'s position cursor, so every key present from the first
call to the last is returned (see crdt/keyspace.py).

SWAPDB swaps the *contents* of two `Db` objects and leaves each object at
its index: a session holds a `Db`, so one that selected index 0 sees the new
data of index 0, while WATCHers and counters stay with their index. Watched
keys present in either database are signalled, as Redis's
touchAllWatchedKeysInDb does.
"""

from __future__ import annotations

from typing import Any

from crdt import errors
from crdt.args import to_int
from crdt.commands.expiry import lookup_notouch
from crdt.errors import CommandError
from crdt.glob import glob_matcher
from crdt.keyspace import SWAPPED, Db, encoding_of, shard_of, type_name
from crdt.scan import parse_scan_cursor
from crdt.table import command, container
from crdt.writes import notify
from protocol.replies import OK, SimpleString

INT32_MIN = -(2**31)
INT32_MAX = 2**31 - 1
MS_PER_SECOND = 1000
# Redis shares the string objects of the integers 0..9999; their refcount reads as INT_MAX.
SHARED_INTEGERS = 10_000
SHARED_REFCOUNT = INT32_MAX

# The attributes of a Db that are its *contents* (SWAPDB exchanges them). Every
# other slot stays with the database index: index, watchers, delta, on_expire
# and the statistics. tests/crdt/test_keys.py checks this list against Db.__slots__.
DB_CONTENT_SLOTS = ("shards", "expires", "_heap", "atime", "key_count",
                    "_scan_keys", "_scan_pos", "_scan_stale", "sized", "dirty", "averages", "freq",
                    "samples")
DB_INDEX_SLOTS = ("index", "hits", "misses", "expired", "changes", "watchers", "delta",
                  "on_expire", "blocked_keys", "on_ready", "account", "lfu")

_NONE = SimpleString(b"none")
_TYPE_REPLIES = {name: SimpleString(name)
                 for name in (b"string", b"list", b"set", b"zset", b"hash", b"stream")}

OBJECT_HELP = [
    b"OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    b"ENCODING <key>",
    b"    Return the kind of internal representation used in order to store the value",
    b"    associated with a <key>.",
    b"FREQ <key>",
    b"    Return the access frequency index of the <key>. The returned integer is",
    b"    proportional to the logarithm of the recent access frequency of the key.",
    b"IDLETIME <key>",
    b"    Return the idle time of the <key>, that is the approximated number of",
    b"    seconds elapsed since the last access to the key.",
    b"REFCOUNT <key>",
    b"    Return the number of references of the value associated with the specified",
    b"    <key>.",
    b"HELP",
    b"    Prints this help.",
]


# -- helpers -------------------------------------------------------------------

def to_c_int(raw: bytes, error: bytes | None = None) -> int:
    """A C ``int`` as getIntFromObjectOrReply reads it.

    Args:
        raw: the argument.
        error: Redis's custom text; when given it replaces both the
            not-an-integer and the out-of-range texts.

    Raises:
        CommandError: not an int64 integer, or outside the 32-bit range.
    """
    value = to_int(raw, error if error is not None else errors.NOT_INTEGER)
    if value < INT32_MIN or value > INT32_MAX:
        raise CommandError(error if error is not None else errors.INT_RANGE)
    return value


def duplicate(value: Any) -> Any:
    """An independent copy of a stored value (COPY): bytes and ints are shared, the rest copied."""
    t = type(value)
    if t is bytes or t is int:
        return value
    if t is bytearray:
        return bytearray(value)
    return value.copy()


def _db_at(s: Any, raw: bytes) -> Db:
    """The database an index argument names (COPY DB, MOVE)."""
    index = to_c_int(raw)
    dbs = s.engine.dbs
    if index < 0 or index >= len(dbs):
        raise CommandError(errors.DB_INDEX)
    return dbs[index]  # type: ignore[no-any-return]


def swap_contents(a: Db, b: Db) -> None:
    """Exchange the keys of two databases; tell the WATCHers of keys present in either,
    and the blocked clients of keys present now (Redis's scan for ready keys)."""
    if a is b:
        return
    for slot in DB_CONTENT_SLOTS:
        va, vb = getattr(a, slot), getattr(b, slot)
        setattr(a, slot, vb)
        setattr(b, slot, va)
    for db in (a, b):
        if db.delta is not None:
            db.delta.append(SWAPPED)  # replication rewrites both databases
    for db, other in ((a, b), (b, a)):
        db.wake_blocked()
        if db.watchers:
            for key in list(db.watchers):
                shard = shard_of(key)
                if key in db.shards[shard] or key in other.shards[shard]:
                    db.signal(key)


# -- deletion and existence ------------------------------------------------------

@command("del", -2, flags="write", keys=(1, -1, 1), group="generic", since="1.0.0",
         complexity=("O(N) where N is the number of keys that will be removed. When a key to "
                     "remove holds a value other than a string, the individual complexity for "
                     "this key is O(M) where M is the number of elements in the list, set, "
                     "sorted set or hash. Removing a single key that holds a string value is "
                     "O(1)."),
         summary="Delete a key", syntax="key [key ...]", key_specs=("RM delete",),
         tips="request_policy:multi_shard response_policy:agg_sum")
def del_(s: Any, argv: list[bytes]) -> int:
    """DEL key [key ...]: how many live keys were removed (a repeated key counts once)."""
    db = s.db
    now = s.now_ms
    removed = 0
    for key in argv[1:]:
        if db.lookup(key, now) is not None and db.delete(key):
            notify(s, "g", b"del", key)
            removed += 1
    return removed


@command("unlink", -2, flags="write fast", keys=(1, -1, 1), group="generic", since="4.0.0",
         complexity=("O(1) for each key removed regardless of its size. Then the command does "
                     "O(N) work in a different thread in order to reclaim memory, where N is the "
                     "number of allocations the deleted objects where composed of."),
         summary=("Delete a key asynchronously in another thread. Otherwise it is just as DEL, "
                  "but non blocking."),
         syntax="key [key ...]", key_specs=("RM delete",),
         tips="request_policy:multi_shard response_policy:agg_sum")
def unlink(s: Any, argv: list[bytes]) -> int:
    """UNLINK key [key ...]: DEL (Python frees memory as it goes)."""
    return del_(s, argv)


@command("exists", -2, flags="readonly fast", keys=(1, -1, 1), group="generic", since="1.0.0",
         complexity="O(N) where N is the number of keys to check.",
         summary="Determine if a key exists", syntax="key [key ...]", key_specs=("RO",),
         tips="request_policy:multi_shard response_policy:agg_sum",
         history=(("3.0.3", "Accepts multiple `key` arguments."),))
def exists(s: Any, argv: list[bytes]) -> int:
    """EXISTS key [key ...]: how many of the arguments exist, repeats counted each time."""
    db = s.db
    now = s.now_ms
    found = 0
    for key in argv[1:]:
        if db.lookup(key, now) is None:
            db.misses += 1
        else:
            db.hits += 1
            found += 1
    return found


@command("type", 2, flags="readonly fast", keys=(1, 1, 1), group="generic", since="1.0.0",
         summary="Determine the type stored at key", syntax="key", key_specs=("RO",))
def type_(s: Any, argv: list[bytes]) -> SimpleString:
    """TYPE key: string, list, set, zset, hash, stream, or none."""
    value = lookup_notouch(s.db, argv[1], s.now_ms)
    if value is None:
        return _NONE
    name = type_name(value)
    reply = _TYPE_REPLIES.get(name)
    return reply if reply is not None else SimpleString(name)


@command("touch", -2, flags="readonly fast", keys=(1, -1, 1), group="generic", since="3.2.1",
         complexity="O(N) where N is the number of keys that will be touched.",
         summary=("Alters the last access time of a key(s). Returns the number of existing "
                  "keys specified."),
         syntax="key [key ...]", key_specs=("RO",),
         tips="request_policy:multi_shard response_policy:agg_sum")
def touch(s: Any, argv: list[bytes]) -> int:
    """TOUCH key [key ...]: refresh access times; how many of the arguments exist."""
    db = s.db
    now = s.now_ms
    found = 0
    for key in argv[1:]:
        if db.read(key, now) is not None:
            found += 1
    return found


@command("dbsize", 1, flags="readonly fast", group="server", since="1.0.0",
         summary="Return the number of keys in the selected database",
         tips="request_policy:all_shards response_policy:agg_sum", acl="keyspace")
def dbsize(s: Any, argv: list[bytes]) -> int:
    """DBSIZE: stored keys, including expired ones no lookup has deleted yet (as Redis)."""
    return len(s.db)


# -- listing -------------------------------------------------------------------

@command("keys", 2, flags="readonly", group="generic", since="1.0.0",
         complexity=("O(N) with N being the number of keys in the database, under the "
                     "assumption that the key names in the database and the given pattern have "
                     "limited length."),
         summary="Find all keys matching the given pattern", syntax="pattern",
         tips="request_policy:all_shards nondeterministic_output_order", acl="dangerous")
def keys(s: Any, argv: list[bytes]) -> list[bytes]:
    """KEYS pattern: every live matching key; expired keys are skipped, not deleted."""
    db = s.db
    now = s.now_ms
    pattern = argv[1]
    expires = db.expires
    matches = None if pattern == b"*" else glob_matcher(pattern)
    out = []
    for key in db.keys():
        if matches is None or matches(key):
            when = expires.get(key) if expires else None
            if when is None or now <= when:
                out.append(key)
    return out


@command("scan", -2, flags="readonly", group="generic", since="2.8.0",
         complexity=("O(1) for every call. O(N) for a complete iteration, including enough "
                     "command calls for the cursor to return back to 0. N is the number of "
                     "elements inside the collection."),
         summary="Incrementally iterate the keys space",
         syntax="cursor [MATCH pattern] [COUNT count] [TYPE type@6.0.0]",
         tips="nondeterministic_output request_policy:special",
         history=(("6.0.0", "Added the `TYPE` subcommand."),))
def scan(s: Any, argv: list[bytes]) -> list[Any]:
    """SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]: [next cursor, keys]."""
    cursor = parse_scan_cursor(argv[1])
    count = 10
    pattern: bytes | None = None
    wanted: bytes | None = None
    i, n = 2, len(argv)
    while i < n:
        opt = argv[i].lower()
        if i + 1 >= n:
            raise CommandError(errors.SYNTAX)
        if opt == b"count":
            count = to_int(argv[i + 1])
            if count < 1:
                raise CommandError(errors.SYNTAX)
        elif opt == b"match":
            pattern = argv[i + 1]
        elif opt == b"type":
            wanted = argv[i + 1].lower()
        else:
            raise CommandError(errors.SYNTAX)
        i += 2
    db = s.db
    now = s.now_ms
    next_cursor, found = db.scan(cursor, count)
    matches = None if pattern is None or pattern == b"*" else glob_matcher(pattern)
    out = []
    for key in found:
        if matches is not None and not matches(key):
            continue
        if wanted is not None:
            value = lookup_notouch(db, key, now)
            if value is None or type_name(value) != wanted:
                continue
        elif db.lookup(key, now) is None:
            continue
        out.append(key)
    return [b"%d" % next_cursor, out]


@command("randomkey", 1, flags="readonly", group="generic", since="1.0.0",
         summary="Return a random key from the keyspace",
         tips="request_policy:all_shards nondeterministic_output")
def randomkey(s: Any, argv: list[bytes]) -> bytes | None:
    """RANDOMKEY: a live key chosen with the engine's RNG, or nil when there is none."""
    return s.db.random_key(s.engine.rng, s.now_ms)  # type: ignore[no-any-return]


# -- renaming, copying, moving ----------------------------------------------------

def _rename(s: Any, argv: list[bytes], nx: bool) -> Any:
    db = s.db
    now = s.now_ms
    src, dst = argv[1], argv[2]
    value = db.lookup(src, now)
    if value is None:
        raise CommandError(errors.NO_SUCH_KEY)
    if src == dst:
        db.atime[src] = now
        return 0 if nx else OK
    if db.lookup(dst, now) is not None and nx:
        return 0
    expire = db.expires.get(src)
    db.delete(src)
    db.delete(dst)  # Redis deletes dst, then adds it: its blocked clients are woken
    db.set(dst, value, now, expire_at_ms=expire)
    # Redis adds dst (``new``) before it deletes src, then sends the rename pair.
    notify(s, "n", b"new", dst)
    notify(s, "g", b"rename_from", src)
    notify(s, "g", b"rename_to", dst)
    return 1 if nx else OK


@command("rename", 3, flags="write", keys=(1, 2, 1), group="generic", since="1.0.0",
         summary="Rename a key", syntax="key newkey", key_specs=("RW access delete", "OW update"))
def rename(s: Any, argv: list[bytes]) -> Any:
    """RENAME key newkey: the value and its TTL move; an existing newkey is replaced."""
    return _rename(s, argv, False)


@command("renamenx", 3, flags="write fast", keys=(1, 2, 1), group="generic", since="1.0.0",
         summary="Rename a key, only if the new key does not exist", syntax="key newkey",
         key_specs=("RW access delete", "OW insert"),
         history=(("3.2.0", "The command no longer returns an error when source and "
                            "destination names are the same."),))
def renamenx(s: Any, argv: list[bytes]) -> Any:
    """RENAMENX key newkey: 1 if renamed, 0 if newkey exists (or is key itself)."""
    return _rename(s, argv, True)


@command("copy", -3, flags="write denyoom", keys=(1, 2, 1), group="generic", since="6.2.0",
         complexity=("O(N) worst case for collections, where N is the number of nested items. "
                     "O(1) for string values."),
         summary="Copy a key", syntax="source destination [DB destination-db] [REPLACE]",
         key_specs=("RO access", "OW update"))
def copy(s: Any, argv: list[bytes]) -> int:
    """COPY source destination [DB destination-db] [REPLACE]: 1 if copied (TTL included)."""
    src_db = dst_db = s.db
    replace = False
    i, n = 3, len(argv)
    while i < n:
        opt = argv[i].lower()
        if opt == b"replace":
            replace = True
        elif opt == b"db" and i + 1 < n:
            dst_db = _db_at(s, argv[i + 1])
            i += 1
        else:
            raise CommandError(errors.SYNTAX)
        i += 1
    src, dst = argv[1], argv[2]
    if src_db is dst_db and src == dst:
        raise CommandError(errors.SAME_OBJECT)
    now = s.now_ms
    value = src_db.read(src, now)
    if value is None:
        return 0
    expire = src_db.expires.get(src)
    if dst_db.lookup(dst, now) is not None:
        if not replace:
            return 0
        dst_db.delete(dst)
    dst_db.set(dst, duplicate(value), now, expire_at_ms=expire)
    ps = s.engine.pubsub
    if ps.notify_flags:
        ps.notify("n", b"new", dst, dst_db.index)
        ps.notify("g", b"copy_to", dst, dst_db.index)
    return 1


@command("move", 3, flags="write fast", keys=(1, 1, 1), group="generic", since="1.0.0",
         summary="Move a key to another database", syntax="key db", key_specs=("RW access update",))
def move(s: Any, argv: list[bytes]) -> int:
    """MOVE key db: 1 if moved with its TTL; 0 if absent here or present there."""
    dst_db = _db_at(s, argv[2])
    src_db = s.db
    if dst_db is src_db:
        raise CommandError(errors.SAME_OBJECT)
    key = argv[1]
    now = s.now_ms
    value = src_db.lookup(key, now)
    if value is None:
        return 0
    if dst_db.lookup(key, now) is not None:
        return 0
    expire = src_db.expires.get(key)
    dst_db.set(key, value, now, expire_at_ms=expire)
    src_db.delete(key)
    ps = s.engine.pubsub
    if ps.notify_flags:
        ps.notify("n", b"new", key, dst_db.index)
        ps.notify("g", b"move_from", key, src_db.index)
        ps.notify("g", b"move_to", key, dst_db.index)
    return 1


# -- OBJECT --------------------------------------------------------------------

container("object", group="generic", since="2.2.3",
          summary="A container for object introspection commands")

# Registered in the order Redis 7.0 lists them (COMMAND INFO, COMMAND DOCS).


@command("object|encoding", 3, flags="readonly", keys=(2, 2, 1), group="generic", since="2.2.3",
         summary="Inspect the internal encoding of a Redis object", syntax="key", key_specs=("RO",),
         tips="nondeterministic_output")
def object_encoding(s: Any, argv: list[bytes]) -> bytes | None:
    """OBJECT ENCODING key: Redis 7.0's encoding name for the value at its size, or nil."""
    value = lookup_notouch(s.db, argv[2], s.now_ms)
    if value is None:
        return None
    return encoding_of(value, s.engine.config)  # type: ignore[no-any-return]


@command("object|idletime", 3, flags="readonly", keys=(2, 2, 1), group="generic", since="2.2.3",
         summary="Get the time since a Redis object was last accessed", syntax="key",
         key_specs=("RO",), tips="nondeterministic_output")
def object_idletime(s: Any, argv: list[bytes]) -> int | None:
    """OBJECT IDLETIME key: whole seconds since the last access; nil if absent."""
    db = s.db
    key = argv[2]
    now_s = s.now_ms // MS_PER_SECOND
    if lookup_notouch(db, key, s.now_ms) is None:
        return None
    if db.lfu is not None:
        raise CommandError(errors.OBJECT_IDLETIME)
    return max(0, now_s - db.atime.get(key, s.now_ms) // MS_PER_SECOND)  # type: ignore[no-any-return]


@command("object|help", 2, flags="loading stale", group="generic", since="6.2.0",
         summary="Show helpful text about the different subcommands")
def object_help(s: Any, argv: list[bytes]) -> list[bytes]:
    """OBJECT HELP: Redis's help lines."""
    return list(OBJECT_HELP)


@command("object|refcount", 3, flags="readonly", keys=(2, 2, 1), group="generic", since="2.2.3",
         summary="Get the number of references to the value of the key", syntax="key",
         key_specs=("RO",), tips="nondeterministic_output")
def object_refcount(s: Any, argv: list[bytes]) -> int | None:
    """OBJECT REFCOUNT key: 1, or INT_MAX for Redis's shared integers 0..9999; nil if absent."""
    value = lookup_notouch(s.db, argv[2], s.now_ms)
    if value is None:
        return None
    if type(value) in (bytes, int) and encoding_of(value, s.engine.config) == b"int" \
            and 0 <= int(value) < SHARED_INTEGERS:
        return SHARED_REFCOUNT
    return 1


@command("object|freq", 3, flags="readonly", keys=(2, 2, 1), group="generic", since="4.0.0",
         summary="Get the logarithmic access frequency counter of a Redis object", syntax="key",
         key_specs=("RO",), tips="nondeterministic_output")
def object_freq(s: Any, argv: list[bytes]) -> int | None:
    """OBJECT FREQ key: the key's decayed LFU counter under an LFU policy, else Redis's
    error; nil if absent."""
    db = s.db
    if lookup_notouch(db, argv[2], s.now_ms) is None:
        return None
    if db.lfu is None:
        raise CommandError(errors.OBJECT_FREQ)
    return db.lfu.frequency(db.freq, argv[2], s.now_ms)  # type: ignore[no-any-return]


# -- whole databases -------------------------------------------------------------

def _flush_mode(argv: list[bytes]) -> None:
    """Check FLUSHDB/FLUSHALL's optional ASYNC | SYNC (both free memory at once here)."""
    if len(argv) == 2 and argv[1].lower() in (b"sync", b"async"):
        return
    if len(argv) != 1:
        raise CommandError(errors.SYNTAX)


_FLUSH_SYNTAX = "[async: ASYNC@4.0.0 | SYNC@6.2.0]"
_FLUSH_HISTORY = (("4.0.0", "Added the `ASYNC` flushing mode modifier."),
                  ("6.2.0", "Added the `SYNC` flushing mode modifier."))


@command("flushdb", -1, flags="write", group="server", since="1.0.0",
         complexity="O(N) where N is the number of keys in the selected database",
         summary="Remove all keys from the current database",
         syntax=_FLUSH_SYNTAX, tips="request_policy:all_shards response_policy:all_succeeded",
         acl="keyspace dangerous", history=_FLUSH_HISTORY)
def flushdb(s: Any, argv: list[bytes]) -> SimpleString:
    """FLUSHDB [ASYNC | SYNC]."""
    _flush_mode(argv)
    s.db.flush()
    return OK


@command("flushall", -1, flags="write", group="server", since="1.0.0",
         complexity="O(N) where N is the total number of keys in all databases",
         summary="Remove all keys from all databases", syntax=_FLUSH_SYNTAX,
         tips="request_policy:all_shards response_policy:all_succeeded", acl="keyspace dangerous",
         history=_FLUSH_HISTORY)
def flushall(s: Any, argv: list[bytes]) -> SimpleString:
    """FLUSHALL [ASYNC | SYNC]."""
    _flush_mode(argv)
    for db in s.engine.dbs:
        db.flush()
    return OK


@command("swapdb", 3, flags="write fast", group="server", since="4.0.0",
         complexity=("O(N) where N is the count of clients watching or blocking on keys from "
                     "both databases."),
         summary="Swaps two Redis databases", syntax="index1 index2", acl="keyspace dangerous")
def swapdb(s: Any, argv: list[bytes]) -> SimpleString:
    """SWAPDB index1 index2: every session on either index sees the other's keys."""
    first = to_c_int(argv[1], errors.INVALID_DB_INDEX)
    second = to_c_int(argv[2], errors.INVALID_DB_INDEX_2)
    dbs = s.engine.dbs
    if not (0 <= first < len(dbs) and 0 <= second < len(dbs)):
        raise CommandError(errors.DB_INDEX)
    swap_contents(dbs[first], dbs[second])
    return OK
