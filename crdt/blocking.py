"""Blocking commands: BLPOP BRPOP BLMOVE BRPOPLPUSH BLMPOP BZPOPMIN BZPOPMAX BZMPOP, CLIENT UNBLOCK.

Strategy, Redis 7.0's: a blocking command first tries its non-blocking core
on each key in order (list_pop, list_move, zset_pop...); a key of the wrong
type answers WRONGTYPE then. If there is nothing to take it answers
`BLOCKED`, and the session is parked as a waiter on each of its keys, in
arrival order, with its deadline (0 = forever) and the type it waits for
(list or zset). Inside EXEC nothing blocks: the command answers at once.

Only the creation of a key someone blocks on (`Db.set` of a new key, Redis's
dbAdd) or SWAPDB marks it ready, once until it is served, and only if it is
of a type some client blocks on; overwriting a key (SORT STORE, ZUNIONSTORE
onto an existing key) or pushing to an existing one marks nothing, as in
Redis 7.0. After the whole command or the whole EXEC the driver calls
`Blocking.serve`, which takes the ready keys in the order they became ready
and looks at each key *then*: a key gone or holding another type serves
nobody, so MULTI; LPUSH k; DEL k; SET k x; EXEC wakes no one. Otherwise the
key's waiters of that type are served from that key, first blocked first
served, until it is emptied; waiters of the other type stay parked. Serving
can create more ready keys (BLMOVE pushes to its destination): they are
served in the same call, after the others. `Blocking.expire` answers the
waiters whose time is up; a disconnected client is forgotten with
`Blocking.forget`.

No clock or I/O here: deadlines are absolute ms from the session's `now_ms`.
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from crdt import errors
from crdt.args import to_int
from crdt.long_double import parse_long_double, round_long_double
from crdt.errors import CommandError
from crdt.keyspace import Db, type_name
from crdt.lists import list_move, list_pop, parse_mpop
from crdt.session import Session
from crdt.table import command
from protocol.replies import NULL_ARRAY, ErrorReply

# Timeouts are milliseconds in a signed 64-bit integer; beyond it Redis wraps negative.
TIMEOUT_MS_LIMIT = 2**63
LIST = b"list"
ZSET = b"zset"


class _Blocked:
    __slots__ = ()

    def __repr__(self) -> str:
        return "BLOCKED"


BLOCKED = _Blocked()

# Takes from one key: the reply, or None when the key holds nothing. Raises
# CommandError (WRONGTYPE) as the command would.
ServeKey = Callable[[Session, bytes], Any]


@dataclass(eq=False)
class Waiter:
    """One parked client."""

    session: Session
    db: Db
    keys: list[bytes]
    deadline_ms: int  # 0 = forever
    kind: bytes  # the type it waits for: LIST or ZSET
    serve_key: ServeKey
    command: bytes  # its name, for the statistics of an error it gets when served
    timeout_reply: Any
    done: bool = False


@dataclass
class Blocking:
    """Every parked client of one engine."""

    waiters: dict[tuple[int, bytes], list[Waiter]] = field(default_factory=dict)
    # Keys made ready and not served yet, in order, each once (Redis's ready_keys).
    ready: deque[tuple[Db, bytes]] = field(default_factory=deque)
    ready_set: set[tuple[int, bytes]] = field(default_factory=set)
    deadlines: list[tuple[int, int, Waiter]] = field(default_factory=list)
    unblocked: list[tuple[Session, Any]] = field(default_factory=list)
    seq: int = 0
    # The session whose commands run now (set by Engine.execute_many): a key its
    # command makes ready sets its ``attention``, so the driver serves the key
    # after that command; the usual command pays nothing for it.
    running: Session | None = None
    kinds_blocked: dict[bytes, int] = field(default_factory=dict)  # LIST/ZSET -> parked clients

    def signal(self, db: Db, key: bytes, value: Any) -> None:
        """`Db.on_ready`: a key someone blocks on was created (or swapped in).

        As Redis's signalKeyAsReady: only a type some client (anywhere) blocks
        on makes the key ready; a string, or a zset while only lists are
        waited for, is not queued (a later creation in the same EXEC may be).
        """
        if not self.kinds_blocked.get(type_name(value)):
            return
        ident = (db.index, key)
        if ident not in self.ready_set:
            self.ready_set.add(ident)
            self.ready.append((db, key))
        if self.running is not None:
            self.running.attention = True

    def park(self, waiter: Waiter) -> None:
        session = waiter.session
        session.blocked = waiter
        self.kinds_blocked[waiter.kind] = self.kinds_blocked.get(waiter.kind, 0) + 1
        for key in dict.fromkeys(waiter.keys):
            self.waiters.setdefault((waiter.db.index, key), []).append(waiter)
            waiter.db.blocked_keys[key] = waiter.db.blocked_keys.get(key, 0) + 1
        if waiter.deadline_ms:
            self.seq += 1
            heapq.heappush(self.deadlines, (waiter.deadline_ms, self.seq, waiter))

    def _unpark(self, waiter: Waiter) -> None:
        waiter.done = True
        waiter.session.blocked = None
        self.kinds_blocked[waiter.kind] -= 1
        for key in dict.fromkeys(waiter.keys):
            queue = self.waiters.get((waiter.db.index, key))
            if queue is not None and waiter in queue:
                queue.remove(waiter)
                if not queue:
                    del self.waiters[(waiter.db.index, key)]
            count = waiter.db.blocked_keys.get(key, 0) - 1
            if count > 0:
                waiter.db.blocked_keys[key] = count
            else:
                waiter.db.blocked_keys.pop(key, None)

    def serve(self, now_ms: int) -> list[tuple[Session, Any]]:
        """Serve the waiters of every key made ready; the replies of those unblocked, in order.

        Each key is looked at now, not when it was signalled: gone or of
        another type, it serves nobody. Its waiters of the key's type are
        served from this key in the order they blocked, until it is emptied.
        Keys made ready meanwhile (BLMOVE's destination) are served after.
        """
        out, self.unblocked = self.unblocked, []
        self.running = None  # keys made ready from here on are served by this loop
        ready = self.ready
        while ready:
            db, key = ready.popleft()
            self.ready_set.discard((db.index, key))
            queue = self.waiters.get((db.index, key))
            if not queue:
                continue
            value = db.lookup(key, now_ms)
            if value is None:
                continue
            kind = type_name(value)
            for waiter in list(queue):
                if waiter.done or waiter.kind != kind:
                    continue  # another type's waiter stays parked
                session = waiter.session
                session.now_ms = now_ms
                try:
                    reply = waiter.serve_key(session, key)
                except CommandError as e:  # BLMOVE to a destination of another type
                    reply = _failed(session, waiter.command, e.text)
                if reply is None:
                    break
                self._unpark(waiter)
                out.append((session, reply))
                if db.peek(key) is not value:
                    break  # emptied and deleted
        return out

    def expire(self, now_ms: int) -> list[tuple[Session, Any]]:
        """Answer the waiters whose deadline has passed."""
        out: list[tuple[Session, Any]] = []
        while self.deadlines and self.deadlines[0][0] <= now_ms:
            _, _, waiter = heapq.heappop(self.deadlines)
            if not waiter.done:
                self._unpark(waiter)
                out.append((waiter.session, waiter.timeout_reply))
        return out

    def next_deadline_ms(self) -> int | None:
        while self.deadlines and self.deadlines[0][2].done:
            heapq.heappop(self.deadlines)
        return self.deadlines[0][0] if self.deadlines else None

    def forget(self, session: Session) -> None:
        """A parked client went away: drop its waiter."""
        waiter = session.blocked
        if isinstance(waiter, Waiter) and not waiter.done:
            self._unpark(waiter)

    def unblock(self, session: Session, reply: Any) -> bool:
        """CLIENT UNBLOCK: answer a parked client now; False if it was not parked."""
        waiter = session.blocked
        if not isinstance(waiter, Waiter) or waiter.done:
            return False
        self._unpark(waiter)
        self.unblocked.append((session, reply))
        return True

    def pending(self) -> bool:
        return bool(self.ready or self.unblocked)


def _failed(session: Session, command: bytes, text: bytes) -> ErrorReply:
    """An error a served client gets, counted as Redis counts it: a failed call of its
    command, an error reply (INFO commandstats, errorstats, total_error_replies)."""
    engine = session.engine
    engine.failed_calls[engine.table.lookup[command].index] += 1
    return engine._error(text)  # the engine's one error counter


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
                     serve_key: ServeKey, exec_reply: Any = NULL_ARRAY) -> Any:
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
    from crdt.zsets import zset_pop  # the sorted-set module owns the structure

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
    keys, max_side, count = _parse_zmpop(argv, 2)
    deadline = parse_timeout(argv[1], s.now_ms)  # after the rest, as in Redis

    def serve_key(session: Session, key: bytes) -> Any:
        popped = _zset_pop(session, key, max_side, count)
        if not popped:
            return None
        return [key, [[member, score] for member, score in popped]]

    return _block_or_answer(s, keys, deadline, ZSET, serve_key)


def _parse_zmpop(argv: list[bytes], numkeys_index: int) -> tuple[list[bytes], bool, int]:
    from crdt.zsets import parse_mpop  # the sorted-set module owns ZMPOP's syntax

    return parse_mpop(argv, numkeys_index)  # type: ignore[no-any-return]


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
