"""The pub/sub registry: who listens to what, delivery order and keyspace notifications.

The commands ((P|S)SUBSCRIBE, their UNSUBSCRIBEs, PUBLISH, SPUBLISH, PUBSUB)
are in `crdt.commands.pubsub`.

Strategy: the registry (`PubSub`, one per engine) maps each channel, each
pattern and each shard channel to its subscribed sessions in subscription order (a dict used as an
ordered set, so delivery order never depends on hashing). Messages are not
written anywhere here: `push(session, message)` appends a `Push` value to the
session's outbox and lists the session in ``pending``; the driver delivers
outboxes after each command, before that command's own reply, which is the
order Redis writes them in. Subscription confirmations are pushes too, and
the command itself then answers `NO_REPLY`.

In RESP2 a subscribed client may only run the (P|S)(UN)SUBSCRIBE commands,
PING, QUIT and RESET (the engine enforces it); in RESP3 anything goes and
messages arrive as push frames.

Shard channels (Redis 7.0's SSUBSCRIBE/SPUBLISH) are a namespace of their
own: SPUBLISH reaches only shard subscribers, patterns never match them, and
their confirmations count shard subscriptions only. Without a cluster every
channel is in this one shard, so no slot checks apply.

Keyspace notifications follow ``notify-keyspace-events``: `notify` is called
by write commands with Redis's event class and name, and publishes to
``__keyspace@<db>__:<key>`` and/or ``__keyevent@<db>__:<event>``.
"""

from __future__ import annotations

from typing import Any, Generic, Protocol, TypeVar

from crdt.glob import glob_match
from protocol.replies import Push


class Subscriber(Protocol):
    """What the registry reads and keeps of a client (a `crdt.session.Session`)."""

    resp3: bool
    attention: bool
    subscriptions: dict[bytes, None]
    patterns: dict[bytes, None]
    shard_subscriptions: dict[bytes, None]
    pubsub_count: int
    outbox: list[Any]

    def __hash__(self) -> int: ...


S = TypeVar("S", bound=Subscriber)


# Commands a RESP2 client may run while subscribed.
SUBSCRIBED_ALLOWED = frozenset({
    "subscribe", "psubscribe", "unsubscribe", "punsubscribe", "ssubscribe", "sunsubscribe",
    "ping", "quit", "reset",
})


class _NoReply:
    __slots__ = ()

    def __repr__(self) -> str:
        return "NO_REPLY"


NO_REPLY = _NoReply()


def no_reply(session: Subscriber) -> _NoReply:
    """A handler's `NO_REPLY`; it flags the session, so the driver looks at it."""
    session.attention = True
    return NO_REPLY


class PubSub(Generic[S]):
    """Who listens to what, for one engine."""

    __slots__ = ("channels", "patterns", "shard_channels", "pending", "notify_flags")

    def __init__(self) -> None:
        self.channels: dict[bytes, dict[S, None]] = {}
        self.patterns: dict[bytes, dict[S, None]] = {}
        self.shard_channels: dict[bytes, dict[S, None]] = {}
        # Sessions with pushes (or MONITOR lines, crdt.monitor_feed) waiting in their outbox, for the driver.
        self.pending: list[S] = []
        self.notify_flags = ""

    def push(self, session: S, message: Push) -> None:
        if not session.outbox:
            self.pending.append(session)
        session.outbox.append(message)

    def take_pending(self) -> list[S]:
        """The sessions to deliver to, each once; the list is emptied (and stays the same object)."""
        pending = self.pending[:]
        self.pending.clear()
        return pending

    def publish(self, channel: bytes, message: bytes) -> int:
        """Deliver to channel and pattern subscribers; returns how many got it."""
        receivers = self._deliver(self.channels, b"message", channel, message)
        for pattern, sessions in self.patterns.items():
            if glob_match(pattern, channel):
                for session in sessions:
                    self.push(session, Push([b"pmessage", pattern, channel, message]))
                    receivers += 1
        return receivers

    def spublish(self, channel: bytes, message: bytes) -> int:
        """Deliver to the shard channel's subscribers; returns how many got it."""
        return self._deliver(self.shard_channels, b"smessage", channel, message)

    def _deliver(self, registry: dict[bytes, dict[S, None]], kind: bytes, channel: bytes,
                 message: bytes) -> int:
        sessions = registry.get(channel, ())
        for session in sessions:
            self.push(session, Push([kind, channel, message]))
        return len(sessions)

    def subscribe(self, session: S, channel: bytes) -> None:
        self._join(session, channel, session.subscriptions, self.channels, b"subscribe")

    def unsubscribe(self, session: S, channel: bytes) -> None:
        self._leave(session, channel, session.subscriptions, self.channels, b"unsubscribe")

    def psubscribe(self, session: S, pattern: bytes) -> None:
        self._join(session, pattern, session.patterns, self.patterns, b"psubscribe")

    def punsubscribe(self, session: S, pattern: bytes) -> None:
        self._leave(session, pattern, session.patterns, self.patterns, b"punsubscribe")

    def ssubscribe(self, session: S, channel: bytes) -> None:
        self._join(session, channel, session.shard_subscriptions, self.shard_channels,
                   b"ssubscribe")

    def sunsubscribe(self, session: S, channel: bytes) -> None:
        self._leave(session, channel, session.shard_subscriptions, self.shard_channels,
                    b"sunsubscribe")

    def forget(self, session: S) -> None:
        """Drop every subscription of a session quietly (disconnect, RESET)."""
        for mine, registry in ((session.subscriptions, self.channels),
                               (session.patterns, self.patterns),
                               (session.shard_subscriptions, self.shard_channels)):
            for name in mine:
                _discard(registry, name, session)
            mine.clear()
        session.pubsub_count = 0
        session.outbox.clear()
        if session in self.pending:
            self.pending.remove(session)

    def _join(self, session: S, name: bytes, mine: dict[bytes, None],
              registry: dict[bytes, dict[S, None]], kind: bytes) -> None:
        if name not in mine:
            mine[name] = None
            registry.setdefault(name, {})[session] = None
            session.pubsub_count += 1
        self.push(session, Push([kind, name, subscription_count(session, mine)]))

    def _leave(self, session: S, name: bytes, mine: dict[bytes, None],
               registry: dict[bytes, dict[S, None]], kind: bytes) -> None:
        if name in mine:
            del mine[name]
            _discard(registry, name, session)
            session.pubsub_count -= 1
        self.push(session, Push([kind, name, subscription_count(session, mine)]))

    # -- keyspace notifications ---------------------------------------------

    def notify(self, event_class: str, event: bytes, key: bytes, db_index: int) -> None:
        """Publish a keyspace event if ``notify-keyspace-events`` selects it.

        Args:
            event_class: Redis's class letter: g $ l s h z x e t m d n.
            event: the event name (b"set", b"lpush", b"expired", ...).
            key: the key concerned.
            db_index: its database.
        """
        flags = self.notify_flags
        if not flags or event_class not in flags:
            return
        if "K" in flags:
            self.publish(b"__keyspace@%d__:%s" % (db_index, key), event)
        if "E" in flags:
            self.publish(b"__keyevent@%d__:%s" % (db_index, event), key)


def _discard(registry: dict[bytes, dict[S, None]], name: bytes, session: S) -> None:
    sessions = registry.get(name)
    if sessions is not None:
        sessions.pop(session, None)
        if not sessions:
            del registry[name]


def subscription_count(session: Subscriber, mine: dict[bytes, None]) -> int:
    """The count a (un)subscribe confirmation carries: shard subscriptions count apart."""
    if mine is session.shard_subscriptions:
        return len(mine)
    return len(session.subscriptions) + len(session.patterns)


def in_subscribed_context(session: Subscriber) -> bool:
    """RESP2 clients with a subscription are restricted to the pub/sub commands."""
    return not session.resp3 and session.pubsub_count > 0
