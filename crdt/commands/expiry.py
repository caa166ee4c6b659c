"""Key expiry commands: EXPIRE PEXPIRE EXPIREAT PEXPIREAT TTL PTTL EXPIRETIME PEXPIRETIME PERSIST.

Strategy: one generic setter and one generic getter, each parameterised by
unit and base time, doing Redis 7.0's steps in Redis's order, because the
order decides which error a bad command gets:

1. options (NX XX GT LT, any case; an unknown word fails at once with
   "Unsupported option"), then their incompatibilities;
2. the time (string2ll rules), then overflow: seconds beyond int64/1000, or
   base + time beyond int64 (only the positive side is checked, as in Redis);
3. the key (a missing or expired key answers 0), then the condition against
   the current TTL, where "no TTL" counts as infinite for GT and LT;
4. a time already reached (<= now) deletes the key and answers 1; otherwise
   the TTL is stored and watchers are told.

The TTL readers count a keyspace hit or miss without touching the access
time (Redis's LOOKUP_NOTOUCH) and round seconds as Redis does: (ms+500)/1000.
All times are absolute milliseconds; `now` is ``session.now_ms``.
"""

from __future__ import annotations

from typing import Any

from crdt import errors
from crdt.args import INT64_MAX, to_int
from crdt.errors import CommandError
from crdt.table import command
from crdt.writes import notify

MS_PER_SECOND = 1000
# The largest |seconds| that converts to milliseconds without int64 overflow
# (C's LLONG_MAX / 1000 and LLONG_MIN / 1000, which truncates toward zero).
SECONDS_LIMIT = INT64_MAX // MS_PER_SECOND

_CONDITION = "[condition: NX | XX | GT | LT]@7.0.0"
_CONDITION_HISTORY = (("7.0.0", "Added options: `NX`, `XX`, `GT` and `LT`."),)


def c_text(raw: bytes) -> bytes:
    """An argument as Redis prints it inside an error (%s): cut at NUL.

    CR and LF are the encoder's: it trims them off the end of an error, as
    Redis's addReplyErrorFormat does, and makes the others spaces.
    """
    return raw.split(b"\0", 1)[0]


def lookup_notouch(db: Any, key: bytes, now_ms: int) -> Any:
    """A read that counts a keyspace hit or miss but leaves the access time (LOOKUP_NOTOUCH)."""
    value = db.lookup(key, now_ms)
    if value is None:
        db.misses += 1
    else:
        db.hits += 1
    return value


def _set_expiry(s: Any, argv: list[bytes], name: str, unit_ms: int, relative: bool) -> int:
    """EXPIRE and its siblings: `unit_ms` 1000 for seconds; `relative` adds now."""
    nx = xx = gt = lt = False
    for raw in argv[3:]:
        opt = raw.lower()
        if opt == b"nx":
            nx = True
        elif opt == b"xx":
            xx = True
        elif opt == b"gt":
            gt = True
        elif opt == b"lt":
            lt = True
        else:
            raise CommandError(errors.UNSUPPORTED_OPTION % c_text(raw))
    if nx and (xx or gt or lt):
        raise CommandError(errors.EXPIRE_OPTIONS)
    if gt and lt:
        raise CommandError(errors.EXPIRE_GT_LT)
    when = to_int(argv[2])
    if unit_ms != 1:
        if when > SECONDS_LIMIT or when < -SECONDS_LIMIT:
            raise CommandError(errors.invalid_expire(name))
        when *= unit_ms
    now = s.now_ms
    base = now if relative else 0
    if when > INT64_MAX - base:
        raise CommandError(errors.invalid_expire(name))
    when += base

    db = s.db
    key = argv[1]
    if db.lookup(key, now) is None:
        return 0
    current = db.expires.get(key)
    if current is None:
        if xx or gt:
            return 0
    else:
        if nx or (gt and when <= current) or (lt and when >= current):
            return 0
    if when <= now:
        db.delete(key)
        notify(s, "g", b"del", key)
        return 1
    db.set_expire(key, when)
    db.atime[key] = now
    db.signal(key)
    notify(s, "g", b"expire", key)
    return 1


def _get_expiry(s: Any, key: bytes, in_ms: bool, absolute: bool) -> int:
    """TTL and its siblings: -2 no key, -1 no TTL, else the (remaining or absolute) time."""
    db = s.db
    now = s.now_ms
    if lookup_notouch(db, key, now) is None:
        return -2
    when = db.expires.get(key)
    if when is None:
        return -1
    ttl = when if absolute else when - now
    if ttl < 0:
        ttl = 0
    return ttl if in_ms else (ttl + 500) // MS_PER_SECOND


@command("expire", -3, flags="write fast", keys=(1, 1, 1), group="generic", since="1.0.0",
         summary="Set a key's time to live in seconds",
         syntax="key seconds " + _CONDITION, key_specs=("RW update",),
         history=_CONDITION_HISTORY)
def expire(s: Any, argv: list[bytes]) -> int:
    """EXPIRE key seconds [NX | XX | GT | LT]."""
    return _set_expiry(s, argv, "expire", MS_PER_SECOND, True)


@command("pexpire", -3, flags="write fast", keys=(1, 1, 1), group="generic", since="2.6.0",
         summary="Set a key's time to live in milliseconds",
         syntax="key milliseconds " + _CONDITION, key_specs=("RW update",),
         history=_CONDITION_HISTORY)
def pexpire(s: Any, argv: list[bytes]) -> int:
    """PEXPIRE key milliseconds [NX | XX | GT | LT]."""
    return _set_expiry(s, argv, "pexpire", 1, True)


@command("expireat", -3, flags="write fast", keys=(1, 1, 1), group="generic", since="1.2.0",
         summary="Set the expiration for a key as a UNIX timestamp",
         syntax="key unix-time-seconds " + _CONDITION,
         key_specs=("RW update",),
         history=_CONDITION_HISTORY)
def expireat(s: Any, argv: list[bytes]) -> int:
    """EXPIREAT key unix-time-seconds [NX | XX | GT | LT]."""
    return _set_expiry(s, argv, "expireat", MS_PER_SECOND, False)


@command("pexpireat", -3, flags="write fast", keys=(1, 1, 1), group="generic", since="2.6.0",
         summary="Set the expiration for a key as a UNIX timestamp specified in milliseconds",
         syntax="key unix-time-milliseconds " + _CONDITION,
         key_specs=("RW update",),
         history=_CONDITION_HISTORY)
def pexpireat(s: Any, argv: list[bytes]) -> int:
    """PEXPIREAT key unix-time-milliseconds [NX | XX | GT | LT]."""
    return _set_expiry(s, argv, "pexpireat", 1, False)


@command("ttl", 2, flags="readonly fast", keys=(1, 1, 1), group="generic", since="1.0.0",
         summary="Get the time to live for a key in seconds", syntax="key",
         key_specs=("RO access",), tips="nondeterministic_output",
         history=(("2.8.0", "Added the -2 reply."),))
def ttl(s: Any, argv: list[bytes]) -> int:
    """TTL key: seconds left, rounded to nearest; -1 without TTL; -2 without key."""
    return _get_expiry(s, argv[1], False, False)


@command("pttl", 2, flags="readonly fast", keys=(1, 1, 1), group="generic", since="2.6.0",
         summary="Get the time to live for a key in milliseconds", syntax="key",
         key_specs=("RO access",), tips="nondeterministic_output",
         history=(("2.8.0", "Added the -2 reply."),))
def pttl(s: Any, argv: list[bytes]) -> int:
    """PTTL key: milliseconds left; -1 without TTL; -2 without key."""
    return _get_expiry(s, argv[1], True, False)


@command("expiretime", 2, flags="readonly fast", keys=(1, 1, 1), group="generic", since="7.0.0",
         summary="Get the expiration Unix timestamp for a key", syntax="key",
         key_specs=("RO access",))
def expiretime(s: Any, argv: list[bytes]) -> int:
    """EXPIRETIME key: the absolute expiry in seconds (rounded); -1 / -2 as TTL."""
    return _get_expiry(s, argv[1], False, True)


@command("pexpiretime", 2, flags="readonly fast", keys=(1, 1, 1), group="generic", since="7.0.0",
         summary="Get the expiration Unix timestamp for a key in milliseconds", syntax="key",
         key_specs=("RO access",))
def pexpiretime(s: Any, argv: list[bytes]) -> int:
    """PEXPIRETIME key: the absolute expiry in milliseconds; -1 / -2 as TTL."""
    return _get_expiry(s, argv[1], True, True)


@command("persist", 2, flags="write fast", keys=(1, 1, 1), group="generic", since="2.2.0",
         summary="Remove the expiration from a key", syntax="key", key_specs=("RW update",))
def persist(s: Any, argv: list[bytes]) -> int:
    """PERSIST key: 1 if a TTL was removed, else 0."""
    db = s.db
    key = argv[1]
    now = s.now_ms
    if db.lookup(key, now) is None:
        return 0
    db.atime[key] = now
    if not db.persist(key):
        return 0
    db.signal(key)
    notify(s, "g", b"persist", key)
    return 1
