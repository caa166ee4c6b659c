"""What a write command does around its change: the lookup, the keyspace events, the emptied key.

Strategy: every command family calls these instead of reaching into the
pub/sub registry or the keyspace's access times itself, so the events go
out where Redis 7.0 sends them (notifyKeyspaceEvent), with the same class
letter and name, in the same order, and an emptied collection is deleted
the one way Redis deletes it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from crdt.keyspace import Db
    from crdt.session import Session


def notify(s: Session, event_class: str, event: bytes, key: bytes) -> None:
    """Publish a keyspace event for `key` in the session's database, if configured.

    Write commands call it where Redis 7.0 calls notifyKeyspaceEvent, with the
    same class letter (g $ l s h z n ...) and event name, in the same order.
    """
    ps = s.engine.pubsub
    if ps.notify_flags:
        ps.notify(event_class, event, key, s.db_index)


def notify_new(s: Session, key: bytes) -> None:
    """The ``new`` event (class n) Redis sends when a command adds a key (dbAdd)."""
    ps = s.engine.pubsub
    if "n" in ps.notify_flags:
        ps.notify("n", b"new", key, s.db_index)


def lookup_write(db: Db, key: bytes, now_ms: int) -> Any:
    """Redis's lookupKeyWrite: the live value (None if absent), refreshing its access time."""
    value = db.lookup(key, now_ms)
    if value is not None:
        db.atime[key] = now_ms
    return value


def signal_or_delete(s: Session | None, db: Db, key: bytes, left: bool) -> None:
    """The tail of a command that took elements out of a collection (HDEL, SREM, ZREM, pops...).

    Something `left`: the key was written (blocked clients, WATCH). Nothing:
    the key goes, with the ``del`` event Redis sends then. `s` is None when
    a blocked client is served (its events were sent by the serving side).
    """
    if left:
        db.signal(key)
    else:
        db.delete(key)
        if s is not None:
            notify(s, "g", b"del", key)
