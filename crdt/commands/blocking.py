"""The blocking commands: BLPOP BRPOP BLMOVE BRPOPLPUSH BLMPOP BZPOPMIN BZPOPMAX BZMPOP, CLIENT UNBLOCK.

Each tries its non-blocking core first and, with nothing to take, parks the
client in the engine's `crdt.waiters.Blocking` registry, whose docstring
has Redis 7.0's wake-up rules.
"""

from __future__ import annotations

import math
from typing import Any

from crdt import errors
from crdt.args import to_int
from crdt.commands.lists import list_move, list_pop, parse_mpop
from crdt.commands.zsets import parse_mpop as parse_zmpop
from crdt.commands.zsets import zset_pop
from crdt.errors import CommandError
from crdt.long_double import parse_long_double, round_long_double
from crdt.session import Session
from crdt.table import command
from crdt.waiters import BLOCKED, LIST, ZSET, ServeKey, Waiter
from protocol.replies import NULL_ARRAY, ErrorReply

# Timeouts are milliseconds in a signed 64-bit integer; beyond it Redis wraps negative.
TIMEOUT_MS_LIMIT = 2**63


def parse_timeout(raw: bytes, now_ms: int) -> int:
    """A blocking timeout in seconds (fractions allowed) as an absolute deadline; 0 = forever.

    Read as Redis 7.0 reads it: a long double (string2ld: text a double
    would take differently, such as 1e-400, counts), times 1000 in long
    double arithmetic, rounded up (ceill) to whole milliseconds. So -0.0001
    and -0.001 (just above -1 ms as a long double) are 0, forever; 1e-400
    is 1 ms. Milliseconds that do not fit a signed 64-bit integer (inf,
    1e300) wrap negative in Redis and are refused as negative;
    9223372036854775 seconds fits and never ends.
    """
    if raw.isdigit() and len(raw) <= 12:  # the usual whole seconds, exactly
        ms = int(raw) * 1000
        return now_ms + ms if ms else 0
    value = parse_long_double(raw, errors.TIMEOUT_NOT_FLOAT)
    if isinstance(value, float):  # ±inf
        raise CommandError(errors.TIMEOUT_NEGATIVE)
    ms = math.ceil(round_long_double(value * 1000))
    if ms < 0 or ms >= TIMEOUT_MS_LIMIT:
        raise CommandError(errors.TIMEOUT_NEGATIVE)
    return now_ms + ms if ms else 0


def _block_or_answer(s: Session, keys: list[bytes], deadline: int, kind: bytes,
                     serve_key: ServeKey[Session], exec_reply: Any = NULL_ARRAY) -> Any:
    """Take from the first key that holds something, else park the client.

    Inside EXEC the command answers `exec_reply` at once (BLMOVE's is a null
    bulk string); a parked client that times out or is unblocked gets a null
    array, whatever its command, as from Redis 7.0.
    """
    for key in keys:
        reply = serve_key(s, key)
        if reply is not None:
            return reply
    if s.in_exec:
        return exec_reply
    s.engine.blocking.park(Waiter(s, s.db, keys, deadline, kind, serve_key, s.last_cmd,
                                  NULL_ARRAY))
    s.attention = True  # the driver parks the client's next commands
    return BLOCKED


# -- lists ---------------------------------------------------------------------

_TIMEOUT_HISTORY = (("6.0.0", "`timeout` is interpreted as a double instead of an integer."),)

def _bpop(s: Session, argv: list[bytes], left: bool) -> Any:
    deadline = parse_timeout(argv[-1], s.now_ms)

    def serve_key(session: Session, key: bytes) -> Any:
        popped = list_pop(session.db, key, left, None, session.now_ms, session)
        return None if popped is None else [key, popped[0]]

    return _block_or_answer(s, argv[1:-1], deadline, LIST, serve_key)


@command("blpop", -3, flags="write noscript blocking", keys=(1, -2, 1), group="list",
         since="2.0.0", complexity="O(N) where N is the number of provided keys.",
         summary="Remove and get the first element in a list, or block until one is available",
         syntax="key [key ...] timeout", key_specs=("RW access delete",), history=_TIMEOUT_HISTORY)
def blpop(s: Session, argv: list[bytes]) -> Any:
    return _bpop(s, argv, True)


@command("brpop", -3, flags="write noscript blocking", keys=(1, -2, 1), group="list",
         since="2.0.0", complexity="O(N) where N is the number of provided keys.",
         summary="Remove and get the last element in a list, or block until one is available",
         syntax="key [key ...] timeout", key_specs=("RW access delete",), history=_TIMEOUT_HISTORY)
def brpop(s: Session, argv: list[bytes]) -> Any:
    return _bpop(s, argv, False)


def _bmove(s: Session, src: bytes, dst: bytes, wherefrom: bool, whereto: bool,
           raw_timeout: bytes) -> Any:
    deadline = parse_timeout(raw_timeout, s.now_ms)

    def serve_key(session: Session, key: bytes) -> Any:
        return list_move(session.db, key, dst, wherefrom, whereto, session.now_ms, session)

    return _block_or_answer(s, [src], deadline, LIST, serve_key, exec_reply=None)


def _where(raw: bytes) -> bool:
    word = raw.upper()
    if word == b"LEFT":
        return True
    if word == b"RIGHT":
        return False
    raise CommandError(errors.SYNTAX)


@command("blmove", 6, flags="write denyoom noscript blocking", keys=(1, 2, 1), group="list",
         since="6.2.0", summary="Pop an element from a list, push it to another list and return it; "
         "or block until one is available",
         syntax="source destination (wherefrom: LEFT | RIGHT) (whereto: LEFT | RIGHT) timeout",
         key_specs=("RW access delete", "RW insert"))
def blmove(s: Session, argv: list[bytes]) -> Any:
    return _bmove(s, argv[1], argv[2], _where(argv[3]), _where(argv[4]), argv[5])


@command("brpoplpush", 4, flags="write denyoom noscript blocking", keys=(1, 2, 1), group="list",
         since="2.2.0", summary="Pop an element from a list, push it to another list and return it; "
         "or block until one is available", syntax="source destination timeout",
         key_specs=("RW access delete", "RW insert"), history=_TIMEOUT_HISTORY,
         doc_flags="deprecated", deprecated_since="6.2.0",
         replaced_by="`BLMOVE` with the `RIGHT` and `LEFT` arguments")
def brpoplpush(s: Session, argv: list[bytes]) -> Any:
    return _bmove(s, argv[1], argv[2], False, True, argv[3])


@command("blmpop", -5, flags="write blocking movablekeys", group="list", since="7.0.0",
         complexity="O(N+M) where N is the number of provided keys and M is the number of "
                    "elements returned.",
         summary="Pop elements from a list, or block until one is available",
         syntax="timeout numkeys key [key ...] (where: LEFT | RIGHT) [COUNT count]",
         key_specs=("RW access delete index:2 keynum:0:1:1",))
def blmpop(s: Session, argv: list[bytes]) -> Any:
    keys, left, count = parse_mpop(argv, 2)
    deadline = parse_timeout(argv[1], s.now_ms)  # after the rest, as in Redis

    def serve_key(session: Session, key: bytes) -> Any:
        popped = list_pop(session.db, key, left, count, session.now_ms, session)
        return None if popped is None else [key, popped]

    return _block_or_answer(s, keys, deadline, LIST, serve_key)


# -- sorted sets ---------------------------------------------------------------

def _zset_pop(s: Session, key: bytes, max_side: bool, count: int) -> Any:
    return zset_pop(s.db, key, max_side, count, s.now_ms, s)


def _bzpop(s: Session, argv: list[bytes], max_side: bool) -> Any:
    deadline = parse_timeout(argv[-1], s.now_ms)

    def serve_key(session: Session, key: bytes) -> Any:
        popped = _zset_pop(session, key, max_side, 1)
        if not popped:
            return None
        member, score = popped[0]
        return [key, member, score]

    return _block_or_answer(s, argv[1:-1], deadline, ZSET, serve_key)


@command("bzpopmin", -3, flags="write noscript blocking fast", keys=(1, -2, 1), group="sorted-set",
         since="5.0.0", complexity="O(log(N)) with N being the number of elements in the sorted set.",
         summary="Remove and return the member with the lowest score from one or more sorted sets, "
                 "or block until one is available", syntax="key [key ...] timeout",
         key_specs=("RW access delete",), history=_TIMEOUT_HISTORY)
def bzpopmin(s: Session, argv: list[bytes]) -> Any:
    return _bzpop(s, argv, False)


@command("bzpopmax", -3, flags="write noscript blocking fast", keys=(1, -2, 1), group="sorted-set",
         since="5.0.0", complexity="O(log(N)) with N being the number of elements in the sorted set.",
         summary="Remove and return the member with the highest score from one or more sorted sets, "
                 "or block until one is available", syntax="key [key ...] timeout",
         key_specs=("RW access delete",), history=_TIMEOUT_HISTORY)
def bzpopmax(s: Session, argv: list[bytes]) -> Any:
    return _bzpop(s, argv, True)


@command("bzmpop", -5, flags="write blocking movablekeys", group="sorted-set", since="7.0.0",
         complexity="O(K) + O(M*log(N)) where K is the number of provided keys, N being the number "
                    "of elements in the sorted set, and M being the number of elements popped.",
         summary="Remove and return members with scores in a sorted set or block until one is "
                 "available", syntax="timeout numkeys key [key ...] (where: MIN | MAX) [COUNT count]",
         key_specs=("RW access delete index:2 keynum:0:1:1",))
def bzmpop(s: Session, argv: list[bytes]) -> Any:
    keys, max_side, count = parse_zmpop(argv, 2)
    deadline = parse_timeout(argv[1], s.now_ms)  # after the rest, as in Redis

    def serve_key(session: Session, key: bytes) -> Any:
        popped = _zset_pop(session, key, max_side, count)
        if not popped:
            return None
        return [key, [[member, score] for member, score in popped]]

    return _block_or_answer(s, keys, deadline, ZSET, serve_key)


# -- CLIENT UNBLOCK ------------------------------------------------------------

@command("client|unblock", -3, flags="admin noscript loading stale", group="connection",
         since="5.0.0", complexity="O(log N) where N is the number of client connections",
         summary="Unblock a client blocked in a blocking command from a different connection",
         syntax="client-id [TIMEOUT | ERROR]")
def client_unblock(s: Session, argv: list[bytes]) -> Any:
    if len(argv) > 4:  # Redis's CLIENT takes UNBLOCK with 3 or 4 arguments only
        raise CommandError(errors.subcommand_syntax(argv))
    mode = argv[3].upper() if len(argv) == 4 else b"TIMEOUT"
    if mode not in (b"TIMEOUT", b"ERROR"):  # checked before the id, as in Redis
        raise CommandError(errors.UNBLOCK_MODE)
    client_id = to_int(argv[2])
    target = s.engine.clients.get(client_id)
    if target is None or not isinstance(target.blocked, Waiter):
        return 0
    waiter = target.blocked
    reply = ErrorReply(errors.UNBLOCKED) if mode == b"ERROR" else waiter.timeout_reply
    s.attention = True  # the driver answers the target after this command
    return int(s.engine.blocking.unblock(target, reply))
