"""lin-kv's keyspace through the Redis command engine: read, write and compare-and-set.

Strategy: the single node's lin-kv and every replicated mode (eventual,
causal, and CASPaxos's change functions in strong) store a key's value as
its canonical JSON bytes in the same engine a `gyre serve` runs, through
plain GET and SET; these adapters are the one place that does it, turning
an engine error reply into `EngineError`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from crdt.engine import Engine
from crdt.session import Session
from protocol.replies import ErrorReply


def json_bytes(value: Any) -> bytes:
    """Canonical JSON bytes of a value (sorted object keys): the stored form of keys and values."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


class EngineError(Exception):
    """The engine answered a lin-kv step with a Redis error reply."""


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
