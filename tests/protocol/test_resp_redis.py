"""Differential tests: our request readers against Debian's real redis-server.

Each input's raw bytes go to redis-server over a socket.  The readers parse
the same bytes, and a tiny model of PING/ECHO/QUIT turns the commands they
return into the replies Redis should have sent, followed by the ``-ERR``
line of the `ProtocolError` they raise.  Equal bytes prove both the argv
parsing and the error texts.  Inputs avoid the cases where Redis's answer
depends on how its 16 KB reads chunk the stream (see protocol.resp).
"""

from __future__ import annotations

import socket

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from protocol.errors import ProtocolError
from protocol.resp import QueryBufferLimitError, Reader
from tests.helpers import read_until_closed, real_redis_server
from tests.protocol.test_resp import BAD_NUMBERS, PING, READERS, Argv

pytestmark = pytest.mark.redis

SOCKET_TIMEOUT_S = 10.0
QUERY_BUFFER_LIMIT_BYTES = 1024 * 1024  # the smallest client-query-buffer-limit Redis accepts
QUIT = b"QUIT\r\n"


def redis_answer(port: int, data: bytes) -> bytes:
    """Everything redis-server sends back for ``data`` until it closes the connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=SOCKET_TIMEOUT_S) as sock:
        try:
            sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # closed before reading everything: what it sent is still readable or lost
        return read_until_closed(sock)


def model_reply(argv: Argv) -> bytes:
    """Redis's reply to the few commands these inputs use."""
    name = argv[0].upper()
    if name == b"PING" and len(argv) == 1:
        return b"+PONG\r\n"
    if name == b"QUIT" and len(argv) == 1:
        return b"+OK\r\n"
    if name in (b"ECHO", b"PING") and len(argv) == 2:
        return b"$%d\r\n%b\r\n" % (len(argv[1]), argv[1])
    if name in (b"ECHO", b"PING"):
        return b"-ERR wrong number of arguments for '%b' command\r\n" % name.lower()
    raise AssertionError(f"no model for {argv!r}")


def our_answer(cls: type[Reader], data: bytes, **limits: int) -> bytes:
    reader = cls(**limits)
    out = b""
    try:
        reader.feed(data)
        while cmds := reader.gets_all():
            for argv in cmds:
                out += model_reply(argv)
                if argv[0].upper() == b"QUIT":
                    return out
    except ProtocolError as e:
        if e.reply is not None:
            out += b"-" + e.reply + b"\r\n"
        return out
    raise AssertionError("input neither failed nor quit")


MALFORMED = [
    *(PING + b"*" + n + b"\r\n" for n in BAD_NUMBERS),
    *(PING + b"*1\r\n$" + n + b"\r\n" for n in [*BAD_NUMBERS, b"-1"]),
    *(b"*2\r\n$4\r\nECHO\r\n" + e for e in [b"+OK\r\n", b":1\r\n", b"*1\r\n", b"\r\n", b"\n1\r\n", b"\xff\r\n",
                                             b"\x01\r\n", b"PING\r\n"]),
    b"*1\r\n$536870913\r\n",
    b"*2147483648\r\n",
    b"*" + b"1" * 70000,
    b"*1\r\n$" + b"1" * 70000,
    b"A" * 70000,
    PING + b"PI\x00NG\r\n" + b"x" * 70000,  # the NUL hides the newline
    b"*1\x00\r\n" + b"x" * 70000,
    b"*1\r\n$4\x00\r\nPING\r\n" + b"x" * 70000,
    *(PING + line + b"\r\n" for line in [b'"a"b', b"'a", b'"abc', b"'a'b", b'"a\\"', b'ECHO "a"b c']),
    PING + b"PING\n" + b"*2\r\n$4\r\nECHO\r\n$3\r\na\r\n\r\n" + b"*1\r\n$x\r\n",
]


@pytest.mark.parametrize("data", MALFORMED, ids=lambda d: repr(d[:24]))
@pytest.mark.parametrize("cls", READERS, ids=lambda cls: cls.__name__)
def test_malformed_request(real_redis_port: int, cls: type[Reader], data: bytes) -> None:
    expected = redis_answer(real_redis_port, data)
    assert expected.endswith(b"\r\n") and b"-ERR Protocol error" in expected
    assert our_answer(cls, data) == expected


ODD_BUT_VALID = [
    b"*1\rX$4\r\nPING\r\n",
    b"*1\r\n$4\rXPING\r\n",
    b"*1\r\n$4\r\nPINGXY",
    b"*0\r\n*-1\r\n*-5\r\n*-9223372036854775808\r\n" + PING,
    b"*2\r\n$4\r\nECHO\r\n$6\r\na\r\nb\x00c\r\n",
    b"*2\r\n$4\r\nECHO\r\n$0\r\n\r\n",
    b"\r\n\n  \r\n\t\nPING\n",
    b"ECHO  x\t\r\n",
    b"echo \x0bx\x0by\r\r\n",
    b'ECHO "\\x41\\x4a\\x4z\\n\\r\\t\\b\\a\\q\\\\\\"\'"\r\n',
    b"ECHO 'a\\nb\\'c\"'\r\n",
    b'ECHO ab"c d"\r\n',
    b'ECHO "a"\x0bPING\r\n',
    b"ECHO \"\xff\\xff\"\n",
    b"PING a b\r\n",
    b"ECHO " + b"y" * 65000 + b"\r\n",
]


@pytest.mark.parametrize("data", ODD_BUT_VALID, ids=lambda d: repr(d[:24]))
@pytest.mark.parametrize("cls", READERS, ids=lambda cls: cls.__name__)
def test_odd_but_valid_request(real_redis_port: int, cls: type[Reader], data: bytes) -> None:
    expected = redis_answer(real_redis_port, data + QUIT)
    assert expected.endswith(b"+OK\r\n")
    assert our_answer(cls, data + QUIT) == expected


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from([b"a", b" ", b"\t", b"\x0b", b"\r", b'"', b"'", b"\\", b"\\x4", b"1", b"f",
                                 b"\\n", b"\\'", b'\\"', b"\xff"]), max_size=12).map(b"".join))
def test_inline_quoting_matches_redis(real_redis_port: int, args: bytes) -> None:
    data = b"ECHO " + args + b"\r\n" + QUIT
    expected = redis_answer(real_redis_port, data)
    for cls in READERS:
        assert our_answer(cls, data) == expected


@pytest.mark.parametrize("cls", READERS, ids=lambda cls: cls.__name__)
def test_query_buffer_limit_closes_without_reply(cls: type[Reader]) -> None:
    data = PING + b"*2\r\n$4\r\nECHO\r\n$%d\r\n" % (2 * QUERY_BUFFER_LIMIT_BYTES) + b"v" * (QUERY_BUFFER_LIMIT_BYTES + 1)
    with real_redis_server("--client-query-buffer-limit", str(QUERY_BUFFER_LIMIT_BYTES)) as port:
        answer = redis_answer(port, data)
    assert answer in (b"", b"+PONG\r\n", b"<reset>", b"+PONG\r\n<reset>")  # depends on where its reads split
    reader = cls(query_buffer_max_bytes=QUERY_BUFFER_LIMIT_BYTES)
    with pytest.raises(QueryBufferLimitError) as info:
        reader.feed(data)
    assert info.value.reply is None
