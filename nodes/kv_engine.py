"""lin-kv's and the txn workloads' keyspace through the Redis command engine.

Strategy: the single node's lin-kv and every replicated mode (eventual,
causal, and CASPaxos's change functions in strong) store a key's value as
its canonical JSON bytes in the same engine a `gyre serve` runs, through
plain GET and SET; these adapters are the one place that does it, turning
an engine error reply into `EngineError`.

`kv_txn` runs one Elle transaction (txn-list-append, txn-rw-register) as a
single MULTI ... EXEC: ``append`` is RPUSH of the value's canonical JSON
(an integer's text) onto a Redis list, ``w`` is SET, and a read is LRANGE
of a list key or GET otherwise (a missing key reads as null). Each key is
the canonical JSON of the Elle key. Which command a read needs is decided
from the key's TYPE, probed just before the MULTI in the same synchronous
step, so nothing runs in between.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import orjson

from crdt.engine import Engine
from crdt.session import Session
from protocol.replies import ErrorReply


def json_bytes(value: Any) -> bytes:
    """Canonical JSON bytes of a value (sorted object keys): the stored form of keys and values."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


class EngineError(Exception):
    """The engine answered a lin-kv step with a Redis error reply."""


class TxnRejected(Exception):
    """A transaction refused before anything ran (a write of the wrong type for its key)."""


#: Elle micro-op functions: read, list append, register write.
TXN_READ: Final[str] = "r"
TXN_APPEND: Final[str] = "append"
TXN_WRITE: Final[str] = "w"
_KIND_OF_WRITE: Final[dict[str, bytes]] = {TXN_APPEND: b"list", TXN_WRITE: b"string"}


@dataclass(frozen=True, slots=True)
class CasOutcome:
    """What `kv_cas` did.

    Attributes:
        ok: the value was replaced.
        current: the stored bytes before the call (None: the key was absent).
    """

    ok: bool
    current: bytes | None


def kv_read(engine: Engine, session: Session, key: bytes, now_ms: int) -> bytes | None:
    """GET ``key``.

    Returns:
        The stored bytes, or None when the key is absent.

    Raises:
        EngineError: the engine answered with an error reply.
    """
    reply = engine.execute([b"GET", key], session, now_ms)
    if isinstance(reply, ErrorReply):
        raise EngineError(reply.decode("utf-8", "replace"))
    assert reply is None or isinstance(reply, bytes), reply
    return None if reply is None else bytes(reply)


def kv_write(engine: Engine, session: Session, key: bytes, value: bytes, now_ms: int) -> None:
    """SET ``key`` to ``value``.

    Raises:
        EngineError: the engine answered with an error reply.
    """
    reply = engine.execute([b"SET", key, value], session, now_ms)
    if isinstance(reply, ErrorReply):
        raise EngineError(reply.decode("utf-8", "replace"))


def kv_cas(engine: Engine, session: Session, key: bytes, expected: bytes, new: bytes, now_ms: int,
           *, create_if_missing: bool = False) -> CasOutcome:
    """Compare-and-set through the engine: GET, compare bytes, SET.

    Atomic because the node core is single-threaded and nothing runs
    between the two commands.

    Args:
        engine: the engine holding the keyspace.
        session: the node's engine session.
        key: the key.
        expected: the bytes the key must hold.
        new: the bytes to store when it does.
        now_ms: the current time.
        create_if_missing: set an absent key to ``new`` instead of failing.

    Returns:
        The outcome; ``ok`` is False when the key is absent (and not
        created) or holds other bytes.

    Raises:
        EngineError: the engine answered with an error reply.
    """
    current = kv_read(engine, session, key, now_ms)
    if current is None and not create_if_missing:
        return CasOutcome(False, None)
    if current is not None and current != expected:
        return CasOutcome(False, current)
    kv_write(engine, session, key, new, now_ms)
    return CasOutcome(True, current)


def _checked(reply: Any) -> Any:
    if isinstance(reply, ErrorReply):
        raise EngineError(reply.decode("utf-8", "replace"))
    return reply


def kv_txn(engine: Engine, session: Session, mops: Sequence[Sequence[Any]],
           now_ms: int) -> list[list[Any]]:
    """Run one Elle transaction atomically: MULTI, one command per micro-op, EXEC.

    Args:
        engine: the engine holding the keyspace.
        session: the node's engine session (not in MULTI).
        mops: ``[f, key, value]`` micro-ops; f is ``r``, ``append`` or ``w``;
            keys and written values are JSON scalars.
        now_ms: the current time.

    Returns:
        The micro-ops with each read's value filled in: a list of the
        appended values for a list key, the value for a register, None for
        a missing key.

    Raises:
        TxnRejected: an append to a register or a write to a list (nothing ran).
        EngineError: the engine answered with an error reply.
    """
    kinds: dict[bytes, bytes] = {}
    commands: list[list[bytes]] = []
    for f, k, v in mops:
        key = json_bytes(k)
        if key not in kinds:
            kinds[key] = bytes(_checked(engine.execute([b"TYPE", key], session, now_ms)))
        kind = kinds[key]
        if f == TXN_READ:
            commands.append([b"LRANGE", key, b"0", b"-1"] if kind == b"list" else [b"GET", key])
            continue
        want = _KIND_OF_WRITE[f]
        if kind not in (b"none", want):
            raise TxnRejected(f"{f} to key {key.decode()}, which holds a {kind.decode()}")
        kinds[key] = want
        commands.append([b"RPUSH" if f == TXN_APPEND else b"SET", key, json_bytes(v)])
    _checked(engine.execute([b"MULTI"], session, now_ms))
    try:
        for argv in commands:
            _checked(engine.execute(argv, session, now_ms))
    except EngineError:
        engine.execute([b"DISCARD"], session, now_ms)
        raise
    replies = _checked(engine.execute([b"EXEC"], session, now_ms))
    assert isinstance(replies, list) and len(replies) == len(commands), replies
    out: list[list[Any]] = []
    for (f, k, v), reply in zip(mops, replies):
        reply = _checked(reply)
        if f != TXN_READ:
            out.append([f, k, v])
        elif isinstance(reply, list):
            out.append([f, k, [orjson.loads(x) for x in reply]])
        else:
            out.append([f, k, None if reply is None else orjson.loads(reply)])
    return out
