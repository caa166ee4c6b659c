"""The clients parked by blocking commands, and Redis 7.0's rules for waking them.

The commands themselves (BLPOP BRPOP BLMOVE BRPOPLPUSH BLMPOP BZPOPMIN
BZPOPMAX BZMPOP, CLIENT UNBLOCK) are in `crdt.commands.blocking`.

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
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from crdt.errors import CommandError
from crdt.keyspace import Db, type_name
from protocol.replies import ErrorReply

LIST = b"list"
ZSET = b"zset"


class _Blocked:
    __slots__ = ()

    def __repr__(self) -> str:
        return "BLOCKED"


BLOCKED = _Blocked()


class Parked(Protocol):
    """What the registry reads and sets of a client (a `crdt.session.Session`)."""

    blocked: Any
    attention: bool
    now_ms: int

    def __hash__(self) -> int: ...


P = TypeVar("P", bound=Parked)


# Takes from one key: the reply, or None when the key holds nothing. Raises
# CommandError (WRONGTYPE) as the command would.
ServeKey = Callable[[P, bytes], Any]


@dataclass(eq=False)
class Waiter(Generic[P]):
    """One parked client."""

    session: P
    db: Db
    keys: list[bytes]
    deadline_ms: int  # 0 = forever
    kind: bytes  # the type it waits for: LIST or ZSET
    serve_key: ServeKey[P]
    command: bytes  # its name, for the statistics of an error it gets when served
    timeout_reply: Any
    done: bool = False


@dataclass
class Blocking(Generic[P]):
    """Every parked client of one engine."""

    waiters: dict[tuple[int, bytes], list[Waiter[P]]] = field(default_factory=dict)
    # Keys made ready and not served yet, in order, each once (Redis's ready_keys).
    ready: deque[tuple[Db, bytes]] = field(default_factory=deque)
    ready_set: set[tuple[int, bytes]] = field(default_factory=set)
    deadlines: list[tuple[int, int, Waiter[P]]] = field(default_factory=list)
    unblocked: list[tuple[P, Any]] = field(default_factory=list)
    seq: int = 0
    # The session whose commands run now (set by Engine.execute_many): a key its
    # command makes ready sets its ``attention``, so the driver serves the key
    # after that command; the usual command pays nothing for it.
    running: P | None = None
    kinds_blocked: dict[bytes, int] = field(default_factory=dict)  # LIST/ZSET -> parked clients
    # The reply to a served client whose command fails (BLMOVE to a destination of
    # another type), given the command's name and the error text: the engine
    # counts it as Redis does (a failed call of the command, an error reply).
    failed: Callable[[bytes, bytes], ErrorReply] = lambda command, text: ErrorReply(text)

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

    def park(self, waiter: Waiter[P]) -> None:
        session = waiter.session
        session.blocked = waiter
        self.kinds_blocked[waiter.kind] = self.kinds_blocked.get(waiter.kind, 0) + 1
        for key in dict.fromkeys(waiter.keys):
            self.waiters.setdefault((waiter.db.index, key), []).append(waiter)
            waiter.db.blocked_keys[key] = waiter.db.blocked_keys.get(key, 0) + 1
        if waiter.deadline_ms:
            self.seq += 1
            heapq.heappush(self.deadlines, (waiter.deadline_ms, self.seq, waiter))

    def _unpark(self, waiter: Waiter[P]) -> None:
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

    def serve(self, now_ms: int) -> list[tuple[P, Any]]:
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
                    reply = self.failed(waiter.command, e.text)
                if reply is None:
                    break
                self._unpark(waiter)
                out.append((session, reply))
                if db.peek(key) is not value:
                    break  # emptied and deleted
        return out

    def expire(self, now_ms: int) -> list[tuple[P, Any]]:
        """Answer the waiters whose deadline has passed."""
        out: list[tuple[P, Any]] = []
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

    def forget(self, session: P) -> None:
        """A parked client went away: drop its waiter."""
        waiter = session.blocked
        if isinstance(waiter, Waiter) and not waiter.done:
            self._unpark(waiter)

    def unblock(self, session: P, reply: Any) -> bool:
        """CLIENT UNBLOCK: answer a parked client now; False if it was not parked."""
        waiter = session.blocked
        if not isinstance(waiter, Waiter) or waiter.done:
            return False
        self._unpark(waiter)
        self.unblocked.append((session, reply))
        return True

    def pending(self) -> bool:
        return bool(self.ready or self.unblocked)
