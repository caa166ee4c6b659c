"""Blocking pops through real connections to `gyre serve`, driven by a second connection."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
import redis

from tests.differential import encode_command

REPLY_TIMEOUT_S = 10.0
BLOCKED_POLLS_MAX = 10_000


@pytest.fixture
def r(gyre_port: int) -> Iterator[redis.Redis]:
    c = redis.Redis(port=gyre_port)
    c.delete("q", "q2", "z")
    yield c
    c.close()


class RawClient:
    """A socket that sends a command and reads its reply later (redis-py would block)."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=REPLY_TIMEOUT_S)

    def send(self, *argv: str) -> None:
        self.sock.sendall(encode_command([a.encode() for a in argv]))

    def expect(self, expected: bytes) -> bool:
        """Read as many bytes as `expected` has; True if they are exactly those."""
        got = self.read(len(expected))
        assert got == expected, got
        return True

    def read(self, size: int) -> bytes:
        data = b""
        while len(data) < size:
            chunk = self.sock.recv(65536)
            if not chunk:
                break
            data += chunk
        return data

    def client_id(self) -> int:
        self.send("CLIENT", "ID")
        return int(self.sock.recv(100)[1:-2])

    def close(self) -> None:
        self.sock.close()


def wait_blocked(r: redis.Redis, count: int) -> None:
    """Ask the server (no sleeping) until `count` clients are blocked."""
    for _ in range(BLOCKED_POLLS_MAX):
        if r.info("clients")["blocked_clients"] == count:
            return
    raise AssertionError(f"never saw {count} blocked clients")


def test_blpop_is_served_by_a_push_from_another_client(r: redis.Redis, gyre_port: int) -> None:
    waiter = RawClient(gyre_port)
    waiter.send("BLPOP", "q", "q2", "0")
    wait_blocked(r, 1)
    assert r.rpush("q2", "hello") == 1
    assert waiter.expect(b"*2\r\n$2\r\nq2\r\n$5\r\nhello\r\n")
    assert r.llen("q2") == 0
    wait_blocked(r, 0)
    waiter.close()


def test_waiters_are_served_in_the_order_they_blocked(r: redis.Redis, gyre_port: int) -> None:
    first, second = RawClient(gyre_port), RawClient(gyre_port)
    first.send("BRPOP", "q", "0")
    wait_blocked(r, 1)
    second.send("BRPOP", "q", "0")
    wait_blocked(r, 2)
    r.lpush("q", "a", "b")  # the list is b, a: BRPOP takes a, then b
    assert first.expect(b"*2\r\n$1\r\nq\r\n$1\r\na\r\n")
    assert second.expect(b"*2\r\n$1\r\nq\r\n$1\r\nb\r\n")
    first.close()
    second.close()


def test_timeout_answers_null(r: redis.Redis) -> None:
    assert r.blpop(["q"], timeout=0.05) is None
    assert r.bzpopmin(["z"], timeout=0.05) is None


def test_commands_pipelined_after_a_blocking_one_wait_for_it(r: redis.Redis, gyre_port: int) -> None:
    waiter = RawClient(gyre_port)
    waiter.send("BLPOP", "q", "0")
    waiter.send("PING")
    wait_blocked(r, 1)
    r.rpush("q", "x")
    assert waiter.expect(b"*2\r\n$1\r\nq\r\n$1\r\nx\r\n+PONG\r\n")
    waiter.close()


def test_disconnected_blocked_client_leaves_no_waiter(r: redis.Redis, gyre_port: int) -> None:
    waiter = RawClient(gyre_port)
    waiter.send("BLPOP", "q", "0")
    wait_blocked(r, 1)
    waiter.close()
    wait_blocked(r, 0)
    assert r.rpush("q", "kept") == 1
    assert r.lrange("q", 0, -1) == [b"kept"]


def test_blmove_and_bzpopmax_wake_up(r: redis.Redis, gyre_port: int) -> None:
    mover = RawClient(gyre_port)
    mover.send("BLMOVE", "q", "q2", "LEFT", "RIGHT", "0")
    wait_blocked(r, 1)
    r.rpush("q", "m")
    assert mover.expect(b"$1\r\nm\r\n")
    assert r.lrange("q2", 0, -1) == [b"m"]
    mover.send("BZPOPMAX", "z", "0")
    wait_blocked(r, 1)
    r.zadd("z", {"low": 1, "high": 2})
    assert mover.expect(b"*3\r\n$1\r\nz\r\n$4\r\nhigh\r\n$1\r\n2\r\n")
    mover.close()


def test_blocking_pop_inside_multi_does_not_block(r: redis.Redis) -> None:
    pipe = r.pipeline(transaction=True)
    pipe.blpop(["q"], timeout=0)
    assert pipe.execute() == [None]


def test_client_unblock(r: redis.Redis, gyre_port: int) -> None:
    waiter = RawClient(gyre_port)
    waiter_id = waiter.client_id()
    waiter.send("BLPOP", "q", "0")
    wait_blocked(r, 1)
    assert r.client_unblock(waiter_id, error=True) is True
    assert waiter.expect(b"-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n")
    assert r.client_unblock(waiter_id) is False
    waiter.close()
