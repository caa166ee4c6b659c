"""Pub/sub on the wire: the bytes a subscriber receives from gyre serve and from redis-server."""

from __future__ import annotations

import socket

import pytest

from tests.differential import encode_command

SOCKET_TIMEOUT_S = 10.0
SENTINEL = b"end-of-script"

SCRIPT = [
    ("sub", ["SUBSCRIBE", "news", "sport"]),
    ("pub", ["PUBLISH", "news", "one"]),
    ("sub", ["PSUBSCRIBE", "wea*"]),
    ("pub", ["PUBLISH", "weather", "rain"]),
    ("sub", ["PING"]),
    ("sub", ["PING", "hello"]),
    ("sub", ["GET", "k"]),
    ("sub", ["UNSUBSCRIBE", "news"]),
    ("pub", ["PUBLISH", "news", "unheard"]),
    ("pub", ["PUBLISH", "sport", "two"]),
    ("sub", ["PUNSUBSCRIBE"]),
    ("sub", ["UNSUBSCRIBE", "nothing"]),
    ("sub", ["SUBSCRIBE", "done"]),
    ("pub", ["PUBLISH", "done", SENTINEL.decode()]),
]


def read_until(sock: socket.socket, got: bytes, marker: bytes) -> bytes:
    while marker not in got:
        chunk = sock.recv(65536)
        assert chunk, got
        got += chunk
    return got


def run_script(port: int, script: list[tuple[str, list[str]]] = SCRIPT, resp3: bool = False) -> bytes:
    """Everything the subscriber receives; after each of its commands it PINGs and waits
    for the answer, so the publisher only publishes once the subscription changed.
    With `resp3` the subscriber first says HELLO 3 (its reply, which names the server, is
    left out)."""
    sub = socket.create_connection(("127.0.0.1", port), timeout=SOCKET_TIMEOUT_S)
    pub = socket.create_connection(("127.0.0.1", port), timeout=SOCKET_TIMEOUT_S)
    got = b""
    if resp3:
        sub.sendall(encode_command([b"HELLO", b"3"]) + encode_command([b"PING", b"hello-done"]))
        read_until(sub, b"", b"hello-done\r\n")
    for step, (who, argv) in enumerate(script):
        if who == "sub":
            marker = b"sync-%d" % step
            sub.sendall(encode_command([a.encode() for a in argv]) + encode_command([b"PING", marker]))
            got = read_until(sub, got, marker)
        else:
            pub.sendall(encode_command([a.encode() for a in argv]))
            got += b"published to " + pub.recv(100)  # the receiver count, part of the comparison
    got = read_until(sub, got, SENTINEL)
    sub.close()
    pub.close()
    return got


@pytest.mark.redis
def test_subscriber_bytes_match_redis(gyre_port: int, real_redis_port: int) -> None:
    assert run_script(gyre_port) == run_script(real_redis_port)


SHARD_SCRIPT = [
    ("sub", ["SSUBSCRIBE", "orders", "stock"]),
    ("pub", ["SPUBLISH", "orders", "one"]),
    ("pub", ["PUBLISH", "orders", "not for shard subscribers"]),
    ("pub", ["PUBSUB", "SHARDNUMSUB", "orders", "nothing"]),
    ("pub", ["PUBSUB", "SHARDCHANNELS", "ord*"]),
    ("pub", ["PUBSUB", "NUMSUB", "orders"]),
    ("sub", ["PSUBSCRIBE", "*"]),
    ("sub", ["SUBSCRIBE", "orders"]),
    ("pub", ["SPUBLISH", "stock", "two"]),
    ("pub", ["PUBLISH", "orders", "three"]),
    ("sub", ["GET", "k"]),
    ("sub", ["SUNSUBSCRIBE", "orders"]),
    ("pub", ["SPUBLISH", "orders", "unheard"]),
    ("sub", ["SUNSUBSCRIBE"]),
    ("sub", ["SUNSUBSCRIBE"]),
    ("sub", ["PUNSUBSCRIBE"]),
    ("sub", ["UNSUBSCRIBE"]),
    ("sub", ["GET", "k"]),
    ("sub", ["SSUBSCRIBE", "done"]),
    ("pub", ["SPUBLISH", "done", SENTINEL.decode()]),
]


@pytest.mark.redis
def test_shard_subscriber_bytes_match_redis(gyre_port: int, real_redis_port: int) -> None:
    assert run_script(gyre_port, SHARD_SCRIPT) == run_script(real_redis_port, SHARD_SCRIPT)


@pytest.mark.redis
def test_resp3_subscriber_bytes_match_redis(gyre_port: int, real_redis_port: int) -> None:
    for script in (SCRIPT, SHARD_SCRIPT):
        assert run_script(gyre_port, script, resp3=True) == \
            run_script(real_redis_port, script, resp3=True)


def _expired_event_bytes(port: int) -> bytes:
    """What a subscriber to expired events receives when the active expiry cycle, not a
    command, removes a key; no other command is sent while it waits."""
    sub = socket.create_connection(("127.0.0.1", port), timeout=SOCKET_TIMEOUT_S)
    cli = socket.create_connection(("127.0.0.1", port), timeout=SOCKET_TIMEOUT_S)
    try:
        cli.sendall(encode_command([b"CONFIG", b"SET", b"notify-keyspace-events", b"Ex"]))
        assert cli.recv(100) == b"+OK\r\n"
        sub.sendall(encode_command([b"SUBSCRIBE", b"__keyevent@0__:expired"]))
        got = read_until(sub, b"", b":1\r\n")
        cli.sendall(encode_command([b"SET", b"expires-soon", b"v", b"PX", b"30"]))
        assert cli.recv(100) == b"+OK\r\n"
        return read_until(sub, got, b"expires-soon\r\n")
    finally:
        cli.sendall(encode_command([b"CONFIG", b"SET", b"notify-keyspace-events", b""]))
        cli.recv(100)
        sub.close()
        cli.close()


@pytest.mark.redis
def test_active_expiry_events_reach_subscribers_at_once(gyre_port: int, real_redis_port: int) -> None:
    assert _expired_event_bytes(gyre_port) == _expired_event_bytes(real_redis_port)


def _subscribe_in_multi_bytes(port: int, resp3: bool) -> bytes:
    """MULTI; SUBSCRIBE a b; GET x; EXEC, then a PING whose answer ends the stream."""
    conn = socket.create_connection(("127.0.0.1", port), timeout=SOCKET_TIMEOUT_S)
    try:
        if resp3:
            conn.sendall(encode_command([b"HELLO", b"3"]) + encode_command([b"PING", b"hello-done"]))
            read_until(conn, b"", b"hello-done\r\n")
        conn.sendall(b"".join(encode_command(argv) for argv in (
            [b"MULTI"], [b"SUBSCRIBE", b"a", b"b"], [b"GET", b"x"], [b"EXEC"],
            [b"PING", b"after-exec"])))
        return read_until(conn, b"", b"after-exec\r\n")
    finally:
        conn.close()


@pytest.mark.redis
@pytest.mark.parametrize("resp3", [False, True])
def test_subscribe_inside_exec_writes_redis_bytes(gyre_port: int, real_redis_port: int,
                                                  resp3: bool) -> None:
    """Found by the command fuzz: SUBSCRIBE queued in MULTI made EXEC's reply unencodable and
    ended the server. Redis writes each confirmation into the command's EXEC slot."""
    assert _subscribe_in_multi_bytes(gyre_port, resp3) == \
        _subscribe_in_multi_bytes(real_redis_port, resp3)
