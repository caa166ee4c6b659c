"""Pub/sub through redis-py against a real `gyre serve` (RESP2 and RESP3)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis

MESSAGE_TIMEOUT_S = 5.0


@pytest.fixture(params=[2, 3], ids=["resp2", "resp3"])
def client(request: pytest.FixtureRequest, gyre_port: int) -> Iterator[redis.Redis]:
    c = redis.Redis(port=gyre_port, protocol=request.param)
    yield c
    c.close()


def _next_message(ps: redis.client.PubSub) -> dict:
    msg = ps.get_message(timeout=MESSAGE_TIMEOUT_S, ignore_subscribe_messages=True)
    assert msg is not None, "no message arrived"
    return msg


def test_subscribe_publish_unsubscribe(client: redis.Redis, gyre_port: int) -> None:
    publisher = redis.Redis(port=gyre_port)
    ps = client.pubsub()
    ps.subscribe("news", "sport")
    assert ps.get_message(timeout=MESSAGE_TIMEOUT_S)["type"] == "subscribe"
    assert ps.get_message(timeout=MESSAGE_TIMEOUT_S)["type"] == "subscribe"
    assert publisher.pubsub_numsub("news") == [(b"news", 1)]
    assert publisher.publish("news", "hello") == 1
    msg = _next_message(ps)
    assert (msg["type"], msg["channel"], msg["data"]) == ("message", b"news", b"hello")
    ps.psubscribe("s*")
    assert ps.get_message(timeout=MESSAGE_TIMEOUT_S)["type"] == "psubscribe"
    assert publisher.publish("sport", "goal") == 2  # the channel and the pattern
    got = sorted((m["type"], m["data"]) for m in (_next_message(ps), _next_message(ps)))
    assert got == [("message", b"goal"), ("pmessage", b"goal")]
    assert publisher.pubsub_numpat() == 1
    ps.unsubscribe()
    ps.punsubscribe()
    confirmations = [ps.get_message(timeout=MESSAGE_TIMEOUT_S) for _ in range(3)]
    assert [m["type"] for m in confirmations] == ["unsubscribe", "unsubscribe", "punsubscribe"]
    assert confirmations[-1]["data"] == 0  # no subscriptions left
    ps.close()
    assert publisher.publish("news", "nobody") == 0


def test_resp2_subscribed_client_may_only_run_pubsub_commands(gyre_port: int) -> None:
    c = redis.Redis(port=gyre_port, protocol=2)
    conn = c.connection_pool.get_connection()
    conn.send_command("SUBSCRIBE", "x")
    assert conn.read_response() == [b"subscribe", b"x", 1]
    conn.send_command("GET", "k")
    with pytest.raises(redis.ResponseError, match="only \\(P\\|S\\)SUBSCRIBE"):
        conn.read_response()
    conn.send_command("PING")
    assert conn.read_response() == [b"pong", b""]
    conn.disconnect()
