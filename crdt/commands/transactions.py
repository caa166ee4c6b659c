"""MULTI, EXEC, DISCARD, WATCH and UNWATCH with Redis 7.0's rules.

Strategy: the engine queues every command a client sends between MULTI and
EXEC (`Engine.execute` appends to ``session.multi`` and answers QUEUED);
a command refused before queueing (unknown, wrong arity, no_multi flag)
dooms the transaction (``session.multi_error``), and EXEC then answers
EXECABORT without running anything. WATCH registers the session on the key
in its Db; any write to the key (`Db.signal`) marks the session dirty, and a
dirty EXEC answers a null array. A key watched while alive that expires
before EXEC also makes it fail, as in Redis 7.0. Runtime errors inside EXEC
take their slot in the reply array and do not stop the rest.
"""

from __future__ import annotations

from typing import Any

from crdt import errors
from crdt.channels import NO_REPLY
from crdt.errors import CommandError
from crdt.session import Session
from crdt.table import command
from protocol.replies import NULL_ARRAY, OK, Spliced


@command("multi", 1, flags="noscript loading stale fast allow_busy", group="transactions",
         since="1.2.0", summary="Mark the start of a transaction block", syntax="")
def multi(s: Session, argv: list[bytes]) -> Any:
    if s.multi is not None:
        raise CommandError(errors.MULTI_NESTED)
    s.multi = []
    s.multi_error = False
    s.attention = True  # the engine checks the commands after it (see Engine.execute_many)
    return OK


@command("exec", 1, flags="noscript loading stale skip_slowlog", group="transactions",
         since="1.2.0", complexity="Depends on commands in the transaction",
         summary="Execute all commands issued after MULTI", syntax="")
def exec_(s: Session, argv: list[bytes]) -> Any:
    queued = s.multi
    if queued is None:
        raise CommandError(errors.EXEC_WITHOUT_MULTI)
    if s.multi_error:
        s.discard_transaction()
        raise CommandError(errors.EXECABORT)
    now = s.now_ms
    if s.watch_dirty or any(not expired and db.is_expired(key, now)
                            for db, key, expired in s.watched):
        s.discard_transaction()
        return NULL_ARRAY
    # Unwatch first (Redis does too): the transaction's own writes are not conflicts.
    s.multi = None
    s.unwatch()
    engine = s.engine
    replies = []
    s.in_exec = True
    try:
        for cmd, cmd_argv in queued:
            s.now_ms = now
            pushed = len(s.outbox)
            reply = engine.call(cmd, cmd_argv, s)
            if reply is NO_REPLY:  # SUBSCRIBE & co.: their confirmations fill the slot, as in Redis
                reply = Spliced(s.outbox[pushed:])
                del s.outbox[pushed:]
            replies.append(reply)
    finally:
        s.in_exec = False
    return replies


@command("discard", 1, flags="noscript loading stale fast allow_busy", group="transactions",
         since="2.0.0", complexity="O(N), when N is the number of queued commands",
         summary="Discard all commands issued after MULTI", syntax="")
def discard(s: Session, argv: list[bytes]) -> Any:
    if s.multi is None:
        raise CommandError(errors.DISCARD_WITHOUT_MULTI)
    s.discard_transaction()
    return OK


@command("watch", -2, flags="noscript loading stale fast allow_busy", keys=(1, -1, 1),
         key_specs=("RO",), group="transactions", since="2.2.0", complexity="O(1) for every key.",
         summary="Watch the given keys to determine execution of the MULTI/EXEC block",
         syntax="key [key ...]")
def watch(s: Session, argv: list[bytes]) -> Any:
    if s.multi is not None:
        raise CommandError(errors.WATCH_INSIDE_MULTI)
    db = s.db
    now = s.now_ms
    for key in argv[1:]:
        if any(entry[0] is db and entry[1] == key for entry in s.watched):
            continue
        s.watched.append([db, key, db.is_expired(key, now)])
        db.watchers.setdefault(key, set()).add(s)
    return OK


@command("unwatch", 1, flags="noscript loading stale fast allow_busy", group="transactions",
         since="2.2.0", summary="Forget about all watched keys", syntax="")
def unwatch(s: Session, argv: list[bytes]) -> Any:
    s.unwatch()
    return OK
