"""Unit tests: keyspace notifications from the write commands, read from a subscriber's outbox.

The engine runs in virtual time. ``expired`` events come through
``Db.on_expire``, which Engine.__init__ wires to ``pubsub.notify``, so lazy
and active expiry are both covered without sleeping.
"""

from __future__ import annotations

from typing import Any

import pytest

from crdt.engine import Engine
from crdt.session import Session
from protocol.replies import Push

T0 = 1_000_000


class Box:
    """An engine, a client session and a listener PSUBSCRIBEd to every key event."""

    def __init__(self, flags: bytes = b"KEA") -> None:
        self.engine = Engine(now_ms=T0)
        self.now = T0
        self.client = self.engine.open_session(T0)
        self.listener = self.engine.open_session(T0)
        self.c("CONFIG", "SET", "notify-keyspace-events", flags)
        self.engine.execute([b"PSUBSCRIBE", b"__key*__:*"], self.listener, T0)
        self.listener.outbox.clear()

    def c(self, *argv: Any, session: Session | None = None) -> Any:
        args = [a if isinstance(a, bytes) else str(a).encode() for a in argv]
        return self.engine.execute(args, session or self.client, self.now)

    def events(self) -> list[tuple[bytes, bytes]]:
        """(channel, message) of every event since the last call."""
        out = []
        for push in self.listener.outbox:
            assert isinstance(push, Push)
            out.append((push[2], push[3]))
        self.listener.outbox.clear()
        return out

    def keyevents(self) -> list[tuple[bytes, bytes]]:
        """(event, key) pairs of the __keyevent@ channels only."""
        return [(ch.split(b":", 1)[1], msg) for ch, msg in self.events()
                if ch.startswith(b"__keyevent@")]


@pytest.fixture
def box() -> Box:
    return Box()


def test_set_publishes_keyspace_then_keyevent(box: Box) -> None:
    box.c("SET", "k", "v")
    assert box.events() == [(b"__keyspace@0__:k", b"set"), (b"__keyevent@0__:set", b"k")]


def test_nothing_when_disabled() -> None:
    box = Box(b"")
    box.c("SET", "k", "v")
    box.c("LPUSH", "l", "a")
    assert box.events() == []


def test_class_selection() -> None:
    box = Box(b"Kl")
    box.c("SET", "k", "v")
    box.c("RPUSH", "l", "a")
    box.c("DEL", "l")
    assert box.events() == [(b"__keyspace@0__:l", b"rpush")]


def test_set_with_ttl_sends_expire(box: Box) -> None:
    box.c("SET", "k", "v", "EX", 10)
    assert box.keyevents() == [(b"set", b"k"), (b"expire", b"k")]


def test_counters_all_send_incrby(box: Box) -> None:
    for cmd in (("INCR", "n"), ("DECR", "n"), ("INCRBY", "n", 2), ("DECRBY", "n", 2)):
        box.c(*cmd)
    box.c("INCRBYFLOAT", "n", "0.5")
    assert [e for e, _ in box.keyevents()] == [b"incrby"] * 4 + [b"incrbyfloat"]


def test_failed_command_sends_nothing(box: Box) -> None:
    box.c("SET", "s", "x")
    box.events()
    box.c("INCR", "s")
    box.c("LPUSH", "s", "a")
    box.c("SETNX", "s", "y")
    assert box.events() == []


def test_list_pop_that_empties_sends_del(box: Box) -> None:
    box.c("RPUSH", "l", "a")
    box.c("LPOP", "l")
    assert box.keyevents() == [(b"rpush", b"l"), (b"lpop", b"l"), (b"del", b"l")]


def test_lmove_order(box: Box) -> None:
    box.c("RPUSH", "src", "a")
    box.events()
    box.c("LMOVE", "src", "dst", "LEFT", "RIGHT")
    assert box.keyevents() == [(b"rpush", b"dst"), (b"lpop", b"src"), (b"del", b"src")]


def test_new_event_only_with_n() -> None:
    box = Box(b"KEg$lshzn")
    box.c("HSET", "h", "f", "v")
    box.c("HSET", "h", "g", "v")
    assert box.keyevents() == [(b"new", b"h"), (b"hset", b"h"), (b"hset", b"h")]


def test_rename_and_move_events(box: Box) -> None:
    box.c("SET", "a", "1")
    box.events()
    box.c("RENAME", "a", "b")
    box.c("MOVE", "b", 3)
    assert box.events() == [
        (b"__keyspace@0__:a", b"rename_from"), (b"__keyevent@0__:rename_from", b"a"),
        (b"__keyspace@0__:b", b"rename_to"), (b"__keyevent@0__:rename_to", b"b"),
        (b"__keyspace@0__:b", b"move_from"), (b"__keyevent@0__:move_from", b"b"),
        (b"__keyspace@3__:b", b"move_to"), (b"__keyevent@3__:move_to", b"b"),
    ]


def test_copy_to_other_db(box: Box) -> None:
    box.c("SET", "a", "1")
    box.events()
    box.c("COPY", "a", "b", "DB", 2)
    assert box.events() == [(b"__keyspace@2__:b", b"copy_to"), (b"__keyevent@2__:copy_to", b"b")]


def test_events_use_the_selected_db(box: Box) -> None:
    box.c("SELECT", 5)
    box.c("SADD", "s", "m")
    assert box.events() == [(b"__keyspace@5__:s", b"sadd"), (b"__keyevent@5__:sadd", b"s")]


def test_expire_in_the_past_sends_del(box: Box) -> None:
    box.c("SET", "k", "v")
    box.events()
    box.c("PEXPIREAT", "k", 1)
    assert box.keyevents() == [(b"del", b"k")]


def test_lazy_expiry_sends_expired_before_the_commands_own_event(box: Box) -> None:
    box.c("SET", "k", "v", "PX", 100)
    box.events()
    box.now = T0 + 200
    box.c("SET", "k", "w")
    assert box.keyevents() == [(b"expired", b"k"), (b"set", b"k")]


def test_active_expiry_sends_expired(box: Box) -> None:
    box.c("SET", "k", "v", "PX", 100)
    box.c("SELECT", 1)
    box.c("SET", "j", "v", "PX", 100)
    box.events()
    box.engine.active_expire(T0 + 200)
    assert box.events() == [
        (b"__keyspace@0__:k", b"expired"), (b"__keyevent@0__:expired", b"k"),
        (b"__keyspace@1__:j", b"expired"), (b"__keyevent@1__:expired", b"j"),
    ]


def test_blocked_pop_served_later_sends_events(box: Box) -> None:
    waiter = box.engine.open_session(T0)
    box.c("BLPOP", "q", 0, session=waiter)
    box.c("RPUSH", "q", "a")
    served = box.engine.blocking.serve(box.now)
    assert served == [(waiter, [b"q", b"a"])]
    assert box.keyevents() == [(b"rpush", b"q"), (b"lpop", b"q"), (b"del", b"q")]


def test_zset_and_hash_events(box: Box) -> None:
    box.c("ZADD", "z", 1, "a")
    box.c("ZINCRBY", "z", 1, "a")
    box.c("ZPOPMIN", "z")
    box.c("HSET", "h", "f", "1")
    box.c("HINCRBY", "h", "f", 1)
    box.c("HDEL", "h", "f")
    assert box.keyevents() == [
        (b"zadd", b"z"), (b"zincr", b"z"), (b"zpopmin", b"z"), (b"del", b"z"),
        (b"hset", b"h"), (b"hincrby", b"h"), (b"hdel", b"h"), (b"del", b"h"),
    ]
