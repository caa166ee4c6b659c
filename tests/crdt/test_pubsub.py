"""Pub/sub in the engine: registries, confirmations, delivery order, RESP2 rules, cleanup."""

from __future__ import annotations

from typing import Any

import pytest

from crdt.channels import NO_REPLY
from protocol.replies import ErrorReply, Push
from tests.helpers import EngineBox


@pytest.fixture
def box() -> EngineBox:
    return EngineBox()


def drain(session: Any) -> list[Any]:
    """The pushes waiting for a session, as the server would take them."""
    out = list(session.outbox)
    session.outbox.clear()
    session.engine.pubsub.take_pending()
    return out


def test_subscribe_confirms_each_channel_with_the_running_count(box: EngineBox) -> None:
    assert box("SUBSCRIBE", "a", "b", "a") is NO_REPLY
    assert drain(box.session) == [[b"subscribe", b"a", 1], [b"subscribe", b"b", 2],
                                  [b"subscribe", b"a", 2]]
    assert all(type(m) is Push for m in box.session.outbox)


def test_publish_reaches_channel_and_pattern_subscribers_in_subscription_order(box: EngineBox) -> None:
    first, second = box.engine.open_session(box.now), box.engine.open_session(box.now)
    box("SUBSCRIBE", "news", session=first)
    box("PSUBSCRIBE", "n*", session=second)
    drain(first), drain(second)
    assert box("PUBLISH", "news", "hi") == 2
    assert drain(first) == [[b"message", b"news", b"hi"]]
    assert drain(second) == [[b"pmessage", b"n*", b"news", b"hi"]]
    assert box("PUBLISH", "other", "x") == 0


def test_unsubscribe_without_arguments_leaves_everything_in_order(box: EngineBox) -> None:
    box("SUBSCRIBE", "c1", "c2")
    box("PSUBSCRIBE", "p*")
    drain(box.session)
    box("UNSUBSCRIBE")
    assert drain(box.session) == [[b"unsubscribe", b"c1", 2], [b"unsubscribe", b"c2", 1]]
    box("PUNSUBSCRIBE")
    assert drain(box.session) == [[b"punsubscribe", b"p*", 0]]
    box("UNSUBSCRIBE")
    assert drain(box.session) == [[b"unsubscribe", None, 0]]


def test_resp2_subscribed_client_may_only_run_pubsub_commands(box: EngineBox) -> None:
    box("SUBSCRIBE", "x")
    reply = box("GET", "k")
    assert isinstance(reply, ErrorReply) and reply.startswith(b"ERR Can't execute 'get': only")
    assert box("PING") == [b"pong", b""]
    box.session.resp3 = True  # RESP3 clients may run anything while subscribed
    assert box("GET", "k") is None


def test_pubsub_introspection(box: EngineBox) -> None:
    other = box.engine.open_session(box.now)
    box("SUBSCRIBE", "alpha", "beta")
    box("SUBSCRIBE", "alpha", session=other)
    box("PSUBSCRIBE", "a*", session=other)
    box.session.resp3 = True
    assert sorted(box("PUBSUB", "CHANNELS")) == [b"alpha", b"beta"]
    assert box("PUBSUB", "CHANNELS", "b*") == [b"beta"]
    assert box("PUBSUB", "NUMSUB", "alpha", "beta", "none") == [b"alpha", 2, b"beta", 1, b"none", 0]
    assert box("PUBSUB", "NUMPAT") == 1


def test_a_disconnected_subscriber_leaves_no_trace(box: EngineBox) -> None:
    gone = box.engine.open_session(box.now)
    box("SUBSCRIBE", "c", session=gone)
    box("PSUBSCRIBE", "p*", session=gone)
    box.engine.close_session(gone)
    assert box("PUBLISH", "c", "x") == 0
    assert not box.engine.pubsub.channels and not box.engine.pubsub.patterns
    assert not box.engine.pubsub.pending


def test_reset_unsubscribes(box: EngineBox) -> None:
    box("SUBSCRIBE", "c")
    drain(box.session)
    assert box("RESET") == b"RESET"
    assert box("PUBLISH", "c", "x") == 0 and box("GET", "k") is None


def test_shard_channels_are_a_namespace_of_their_own(box: EngineBox) -> None:
    shard, plain = box.engine.open_session(box.now), box.engine.open_session(box.now)
    box("SUBSCRIBE", "c", session=plain)
    box("PSUBSCRIBE", "*", session=plain)
    assert box("SSUBSCRIBE", "c", "d", session=shard) is NO_REPLY
    # Confirmations count shard subscriptions only.
    assert drain(shard) == [[b"ssubscribe", b"c", 1], [b"ssubscribe", b"d", 2]]
    drain(plain)
    assert box("SPUBLISH", "c", "hi") == 1  # no pattern ever matches a shard channel
    assert drain(shard) == [[b"smessage", b"c", b"hi"]] and drain(plain) == []
    assert box("PUBLISH", "c", "x") == 2  # the channel and the pattern subscriber, not the shard one
    assert drain(shard) == []
    box("SUBSCRIBE", "e", session=shard)
    assert drain(shard) == [[b"subscribe", b"e", 1]]


def test_sunsubscribe_leaves_shard_channels_only(box: EngineBox) -> None:
    box("SSUBSCRIBE", "a", "b")
    box("SUBSCRIBE", "x")
    drain(box.session)
    box("SUNSUBSCRIBE")
    assert drain(box.session) == [[b"sunsubscribe", b"a", 1], [b"sunsubscribe", b"b", 0]]
    box("SUNSUBSCRIBE")
    assert drain(box.session) == [[b"sunsubscribe", None, 0]]
    assert box.session.pubsub_count == 1  # still subscribed to x: still in subscribed context
    assert isinstance(box("GET", "k"), ErrorReply)
    box("UNSUBSCRIBE")
    assert box.session.pubsub_count == 0 and box("GET", "k") is None


def test_shard_subscription_alone_restricts_a_resp2_client(box: EngineBox) -> None:
    box("SSUBSCRIBE", "s")
    reply = box("GET", "k")
    assert isinstance(reply, ErrorReply) and reply.startswith(b"ERR Can't execute 'get': only")
    assert box("PING", "x") == [b"pong", b"x"]


def test_shard_introspection_and_cleanup(box: EngineBox) -> None:
    other = box.engine.open_session(box.now)
    box("SSUBSCRIBE", "alpha", "beta")
    box("SSUBSCRIBE", "alpha", session=other)
    box.session.resp3 = True
    assert sorted(box("PUBSUB", "SHARDCHANNELS")) == [b"alpha", b"beta"]
    assert box("PUBSUB", "SHARDCHANNELS", "b*") == [b"beta"]
    assert box("PUBSUB", "SHARDNUMSUB", "alpha", "none") == [b"alpha", 2, b"none", 0]
    assert box("PUBSUB", "CHANNELS") == [] and box("PUBSUB", "NUMSUB", "alpha") == [b"alpha", 0]
    assert "ssub=2" in box("CLIENT", "INFO").decode()
    box.engine.close_session(other)
    assert box("RESET") == b"RESET"
    assert not box.engine.pubsub.shard_channels and box.session.pubsub_count == 0


def test_ssubscribe_inside_exec_is_refused(box: EngineBox) -> None:
    box("MULTI")
    box("SSUBSCRIBE", "s")
    (reply,) = box("EXEC")
    assert reply == b"ERR SSUBSCRIBE isn't allowed for a DENY BLOCKING client"
    assert box.session.pubsub_count == 0
