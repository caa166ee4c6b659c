"""Pub/sub: (P|S)SUBSCRIBE, their UNSUBSCRIBEs, PUBLISH, SPUBLISH, PUBSUB and keyspace notifications.

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

from typing import Any

from crdt import errors
from crdt.errors import CommandError
from crdt.glob import glob_match
from crdt.session import Session
from crdt.table import command, container
from protocol.replies import Push

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


def no_reply(session: Session) -> _NoReply:
    """A handler's `NO_REPLY`; it flags the session, so the driver looks at it."""
    session.attention = True
    return NO_REPLY


class PubSub:
    """Who listens to what, for one engine."""

    __slots__ = ("channels", "patterns", "shard_channels", "pending", "notify_flags")

    def __init__(self) -> None:
        self.channels: dict[bytes, dict[Session, None]] = {}
        self.patterns: dict[bytes, dict[Session, None]] = {}
        self.shard_channels: dict[bytes, dict[Session, None]] = {}
        # Sessions with pushes (or MONITOR lines, crdt.monitor) waiting in their outbox, for the driver.
        self.pending: list[Session] = []
        self.notify_flags = ""

    def push(self, session: Session, message: Push) -> None:
        if not session.outbox:
            self.pending.append(session)
        session.outbox.append(message)

    def take_pending(self) -> list[Session]:
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

    def _deliver(self, registry: dict[bytes, dict[Session, None]], kind: bytes, channel: bytes,
                 message: bytes) -> int:
        sessions = registry.get(channel, ())
        for session in sessions:
            self.push(session, Push([kind, channel, message]))
        return len(sessions)

    def subscribe(self, session: Session, channel: bytes) -> None:
        self._join(session, channel, session.subscriptions, self.channels, b"subscribe")

    def unsubscribe(self, session: Session, channel: bytes) -> None:
        self._leave(session, channel, session.subscriptions, self.channels, b"unsubscribe")

    def psubscribe(self, session: Session, pattern: bytes) -> None:
        self._join(session, pattern, session.patterns, self.patterns, b"psubscribe")

    def punsubscribe(self, session: Session, pattern: bytes) -> None:
        self._leave(session, pattern, session.patterns, self.patterns, b"punsubscribe")

    def ssubscribe(self, session: Session, channel: bytes) -> None:
        self._join(session, channel, session.shard_subscriptions, self.shard_channels,
                   b"ssubscribe")

    def sunsubscribe(self, session: Session, channel: bytes) -> None:
        self._leave(session, channel, session.shard_subscriptions, self.shard_channels,
                    b"sunsubscribe")

    def forget(self, session: Session) -> None:
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

    def _join(self, session: Session, name: bytes, mine: dict[bytes, None],
              registry: dict[bytes, dict[Session, None]], kind: bytes) -> None:
        if name not in mine:
            mine[name] = None
            registry.setdefault(name, {})[session] = None
            session.pubsub_count += 1
        self.push(session, Push([kind, name, _count(session, mine)]))

    def _leave(self, session: Session, name: bytes, mine: dict[bytes, None],
               registry: dict[bytes, dict[Session, None]], kind: bytes) -> None:
        if name in mine:
            del mine[name]
            _discard(registry, name, session)
            session.pubsub_count -= 1
        self.push(session, Push([kind, name, _count(session, mine)]))

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


def _discard(registry: dict[bytes, dict[Session, None]], name: bytes, session: Session) -> None:
    sessions = registry.get(name)
    if sessions is not None:
        sessions.pop(session, None)
        if not sessions:
            del registry[name]


def _count(session: Session, mine: dict[bytes, None]) -> int:
    """The count a (un)subscribe confirmation carries: shard subscriptions count apart."""
    if mine is session.shard_subscriptions:
        return len(mine)
    return len(session.subscriptions) + len(session.patterns)


def in_subscribed_context(session: Session) -> bool:
    """RESP2 clients with a subscription are restricted to the pub/sub commands."""
    return not session.resp3 and session.pubsub_count > 0


# -- commands ------------------------------------------------------------------

@command("subscribe", -2, flags="pubsub noscript loading stale", group="pubsub", since="2.0.0",
         complexity="O(N) where N is the number of channels to subscribe to.",
         summary="Listen for messages published to the given channels", syntax="channel [channel ...]")
def subscribe(s: Session, argv: list[bytes]) -> Any:
    ps = s.engine.pubsub
    for channel in argv[1:]:
        ps.subscribe(s, channel)
    return no_reply(s)


@command("psubscribe", -2, flags="pubsub noscript loading stale", group="pubsub", since="2.0.0",
         complexity="O(N) where N is the number of patterns the client is already subscribed to.",
         summary="Listen for messages published to channels matching the given patterns",
         syntax="(pattern){block} [pattern ...]")
def psubscribe(s: Session, argv: list[bytes]) -> Any:
    ps = s.engine.pubsub
    for pattern in argv[1:]:
        ps.psubscribe(s, pattern)
    return no_reply(s)


@command("unsubscribe", -1, flags="pubsub noscript loading stale", group="pubsub", since="2.0.0",
         complexity="O(N) where N is the number of clients already subscribed to a channel.",
         summary="Stop listening for messages posted to the given channels",
         syntax="[channel [channel ...]]")
def unsubscribe(s: Session, argv: list[bytes]) -> Any:
    ps = s.engine.pubsub
    channels = argv[1:] or list(s.subscriptions)
    if not channels:
        ps.push(s, Push([b"unsubscribe", None, _count(s, s.subscriptions)]))
    for channel in channels:
        ps.unsubscribe(s, channel)
    return no_reply(s)


@command("punsubscribe", -1, flags="pubsub noscript loading stale", group="pubsub", since="2.0.0",
         complexity="O(N+M) where N is the number of patterns the client is already subscribed and M "
                    "is the number of total patterns subscribed in the system (by any client).",
         summary="Stop listening for messages posted to channels matching the given patterns",
         syntax="[pattern [pattern ...]]")
def punsubscribe(s: Session, argv: list[bytes]) -> Any:
    ps = s.engine.pubsub
    patterns = argv[1:] or list(s.patterns)
    if not patterns:
        ps.push(s, Push([b"punsubscribe", None, _count(s, s.patterns)]))
    for pattern in patterns:
        ps.punsubscribe(s, pattern)
    return no_reply(s)


@command("publish", 3, flags="pubsub loading stale fast", group="pubsub",
         since="2.0.0", complexity="O(N+M) where N is the number of clients subscribed to the "
         "receiving channel and M is the total number of subscribed patterns (by any client).",
         summary="Post a message to a channel", syntax="channel message")
def publish(s: Session, argv: list[bytes]) -> Any:
    return s.engine.pubsub.publish(argv[1], argv[2])


@command("ssubscribe", -2, flags="pubsub noscript loading stale", keys=(1, -1, 1), group="pubsub",
         since="7.0.0", complexity="O(N) where N is the number of shard channels to subscribe to.",
         summary="Listen for messages published to the given shard channels",
         syntax="shardchannel [shardchannel ...]", key_specs=("not_key",))
def ssubscribe(s: Session, argv: list[bytes]) -> Any:
    if s.in_exec:  # Redis's DENY_BLOCKING client (unlike SUBSCRIBE, no exception for MULTI)
        raise CommandError(errors.SSUBSCRIBE_DENY_BLOCKING)
    ps = s.engine.pubsub
    for channel in argv[1:]:
        ps.ssubscribe(s, channel)
    return no_reply(s)


@command("sunsubscribe", -1, flags="pubsub noscript loading stale", keys=(1, -1, 1),
         group="pubsub", since="7.0.0",
         complexity="O(N) where N is the number of clients already subscribed to a shard channel.",
         summary="Stop listening for messages posted to the given shard channels",
         syntax="[shardchannel [shardchannel ...]]", key_specs=("not_key",))
def sunsubscribe(s: Session, argv: list[bytes]) -> Any:
    ps = s.engine.pubsub
    channels = argv[1:] or list(s.shard_subscriptions)
    if not channels:
        ps.push(s, Push([b"sunsubscribe", None, 0]))
    for channel in channels:
        ps.sunsubscribe(s, channel)
    return no_reply(s)


@command("spublish", 3, flags="pubsub loading stale fast", keys=(1, 1, 1), group="pubsub",
         since="7.0.0",
         complexity="O(N) where N is the number of clients subscribed to the receiving shard channel.",
         summary="Post a message to a shard channel", syntax="shardchannel message",
         key_specs=("not_key",))
def spublish(s: Session, argv: list[bytes]) -> Any:
    return s.engine.pubsub.spublish(argv[1], argv[2])


container("pubsub", group="pubsub", since="2.8.0", summary="A container for Pub/Sub commands")


@command("pubsub|channels", -2, flags="pubsub loading stale", group="pubsub", since="2.8.0",
         complexity="O(N) where N is the number of active channels, and assuming constant time "
                    "pattern matching (relatively short channels and patterns)",
         summary="List active channels", syntax="[pattern]")
def pubsub_channels(s: Session, argv: list[bytes]) -> Any:
    return _active(s.engine.pubsub.channels, argv)


@command("pubsub|numsub", -2, flags="pubsub loading stale", group="pubsub", since="2.8.0",
         complexity="O(N) for the NUMSUB subcommand, where N is the number of requested channels",
         summary="Get the count of subscribers for channels", syntax="[channel [channel ...]]")
def pubsub_numsub(s: Session, argv: list[bytes]) -> Any:
    return _subscriber_counts(s.engine.pubsub.channels, argv[2:])


def _active(registry: dict[bytes, dict[Session, None]], argv: list[bytes]) -> list[bytes]:
    """PUBSUB (SHARD)CHANNELS [pattern]: the channels someone listens to, matching the pattern."""
    if len(argv) > 3:
        raise CommandError(errors.subcommand_syntax(argv))
    pattern = argv[2] if len(argv) == 3 else None
    return [c for c in registry if pattern is None or glob_match(pattern, c)]


def _subscriber_counts(registry: dict[bytes, dict[Session, None]], channels: list[bytes]) -> list[Any]:
    """PUBSUB (SHARD)NUMSUB: channel, count, channel, count..."""
    out: list[Any] = []
    for channel in channels:
        out += [channel, len(registry.get(channel, ()))]
    return out


@command("pubsub|shardchannels", -2, flags="pubsub loading stale", group="pubsub", since="7.0.0",
         complexity="O(N) where N is the number of active shard channels, and assuming constant "
                    "time pattern matching (relatively short shard channels).",
         summary="List active shard channels", syntax="[pattern]")
def pubsub_shardchannels(s: Session, argv: list[bytes]) -> Any:
    return _active(s.engine.pubsub.shard_channels, argv)


@command("pubsub|shardnumsub", -2, flags="pubsub loading stale", group="pubsub", since="7.0.0",
         complexity="O(N) for the SHARDNUMSUB subcommand, where N is the number of requested shard "
                    "channels",
         summary="Get the count of subscribers for shard channels",
         syntax="[shardchannel [shardchannel ...]]")
def pubsub_shardnumsub(s: Session, argv: list[bytes]) -> Any:
    return _subscriber_counts(s.engine.pubsub.shard_channels, argv[2:])


@command("pubsub|numpat", 2, flags="pubsub loading stale", group="pubsub", since="2.8.0",
         summary="Get the count of unique patterns pattern subscriptions", syntax="")
def pubsub_numpat(s: Session, argv: list[bytes]) -> Any:
    return len(s.engine.pubsub.patterns)


@command("pubsub|help", 2, flags="loading stale", group="pubsub", since="6.2.0",
         summary="Show helpful text about the different subcommands", syntax="")
def pubsub_help(s: Session, argv: list[bytes]) -> Any:
    return [
        b"PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        b"CHANNELS [<pattern>]",
        b"    Return the currently active channels matching a <pattern> (default: '*').",
        b"NUMPAT",
        b"    Return number of subscriptions to patterns.",
        b"NUMSUB [<channel> ...]",
        b"    Return the number of subscribers for the specified channels, excluding",
        b"    pattern subscriptions(default: no channels).",
        b"SHARDCHANNELS [<pattern>]",
        b"    Return the currently active shard level channels matching a <pattern> (default: '*').",
        b"SHARDNUMSUB [<shardchannel> ...]",
        b"    Return the number of subscribers for the specified shard level channel(s)",
        b"HELP",
        b"    Prints this help.",
    ]

