"""The pub/sub commands: (P|S)SUBSCRIBE, their UNSUBSCRIBEs, PUBLISH, SPUBLISH and PUBSUB.

The registry they act on, its delivery order and keyspace notifications are
`crdt.channels.PubSub`'s.
"""

from __future__ import annotations

from typing import Any

from crdt import errors
from crdt.channels import no_reply, subscription_count
from crdt.errors import CommandError
from crdt.glob import glob_match
from crdt.session import Session
from crdt.table import command, container
from protocol.replies import Push


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
        ps.push(s, Push([b"unsubscribe", None, subscription_count(s, s.subscriptions)]))
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
        ps.push(s, Push([b"punsubscribe", None, subscription_count(s, s.patterns)]))
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
