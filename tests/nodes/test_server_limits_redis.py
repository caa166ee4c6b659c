"""CONFIG SET of a request limit reaches clients already connected, as in Redis.

The same bytes go to a `gyre serve` process and to Debian's redis-server,
each started for this module (the change is server-wide): a client connects
first, a second one lowers the limit, then the first sends a request over
the new limit. Both servers must answer it the same way.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from tests.helpers import gyre_server, read_until_closed, real_redis_server

pytestmark = pytest.mark.redis

SOCKET_TIMEOUT_S = 10.0
ONE_MB = 1024 * 1024  # the lowest value Redis accepts for both limits


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, int]]:
    with gyre_server() as gyre, real_redis_server() as redis:
        yield {"gyre": gyre, "redis": redis}


def read_reply_line(sock: socket.socket) -> bytes:
    out = b""
    while not out.endswith(b"\r\n"):
        chunk = sock.recv(65536)
        if not chunk:
            break
        out += chunk
    return out


def config_set(port: int, name: bytes, value: bytes) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=SOCKET_TIMEOUT_S) as admin:
        admin.sendall(b"CONFIG SET %b %b\r\n" % (name, value))
        assert read_reply_line(admin) == b"+OK\r\n"


def answer_after_lowering(port: int, name: bytes, default: bytes, request: bytes) -> bytes:
    """What a client connected before `CONFIG SET name 1mb` gets for `request`."""
    with socket.create_connection(("127.0.0.1", port), timeout=SOCKET_TIMEOUT_S) as client:
        client.sendall(b"PING\r\n")
        assert read_reply_line(client) == b"+PONG\r\n"  # connected and registered
        config_set(port, name, b"%d" % ONE_MB)
        try:
            client.sendall(request)
            answer = read_until_closed(client)
        finally:
            config_set(port, name, default)
        return answer


def test_lowered_proto_max_bulk_len_refuses_a_bulk_from_a_connected_client(
        servers: dict[str, int]) -> None:
    request = b"*2\r\n$4\r\nECHO\r\n$%d\r\n" % (ONE_MB + 1)
    answers = {name: answer_after_lowering(port, b"proto-max-bulk-len", b"536870912", request)
               for name, port in servers.items()}
    assert answers["gyre"] == answers["redis"]
    assert answers["gyre"] == b"-ERR Protocol error: invalid bulk length\r\n"


def test_raised_proto_max_bulk_len_accepts_what_was_too_long(servers: dict[str, int]) -> None:
    value = b"v" * (ONE_MB + 10)
    request = b"*2\r\n$6\r\nSTRLEN\r\n$1\r\nk\r\n"
    answers = {}
    for name, port in servers.items():
        config_set(port, b"proto-max-bulk-len", b"%d" % ONE_MB)  # before the client connects
        with socket.create_connection(("127.0.0.1", port), timeout=SOCKET_TIMEOUT_S) as client:
            try:
                client.sendall(b"PING\r\n")
                assert read_reply_line(client) == b"+PONG\r\n"
                config_set(port, b"proto-max-bulk-len", b"%d" % (2 * ONE_MB))
                client.sendall(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$%d\r\n%b\r\n%b"
                               % (len(value), value, request))
                answers[name] = read_reply_line(client)
                if answers[name] == b"+OK\r\n":
                    answers[name] += read_reply_line(client)
            finally:
                config_set(port, b"proto-max-bulk-len", b"536870912")
    assert answers["gyre"] == answers["redis"] == b"+OK\r\n:%d\r\n" % len(value)
