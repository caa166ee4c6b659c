"""Run the same commands on our engine and on a real redis-server and compare the replies.

Our side: `Engine.execute` in process, the reply encoded with
`protocol.resp.encode` (so the encoder is checked too) and parsed back with
hiredis. Their side: raw RESP over a socket to Debian's redis-server, parsed
with hiredis. Both sides then look the same: bytes, ints, lists, and errors
as ``Err(text)``. Time: the engine gets the wall clock, like the real server,
so TTLs agree within the normalisation given by the caller.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import hiredis

from crdt.engine import Engine
from protocol.resp import encode

SOCKET_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Err:
    """An error reply, compared by its text."""

    text: bytes


def _normalise(value: Any) -> Any:
    if isinstance(value, hiredis.ReplyError):
        return Err(str(value).encode())
    if isinstance(value, list):
        return [_normalise(v) for v in value]
    return value


def encode_command(argv: list[bytes]) -> bytes:
    out = [b"*%d\r\n" % len(argv)]
    for arg in argv:
        out.append(b"$%d\r\n%s\r\n" % (len(arg), arg))
    return b"".join(out)


class RealRedis:
    """A minimal blocking RESP client for the reference server."""

    def __init__(self, port: int, resp3: bool = False) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=SOCKET_TIMEOUT_S)
        self.reader = hiredis.Reader()
        if resp3:
            self.call(b"HELLO", b"3")

    def call(self, *argv: bytes) -> Any:
        self.send(*argv)
        return self.receive()

    def send(self, *argv: bytes) -> None:
        """Send a command without waiting for its reply (a blocking pop, say)."""
        self.sock.sendall(encode_command(list(argv)))

    def receive(self) -> Any:
        """The next reply on this connection (waits at most SOCKET_TIMEOUT_S)."""
        while True:
            reply = self.reader.gets()
            if reply is not False:
                return _normalise(reply)
            data = self.sock.recv(65536)
            if not data:
                raise ConnectionError("redis-server closed the connection")
            self.reader.feed(data)

    def close(self) -> None:
        self.sock.close()


class OurEngine:
    """The engine with one session, answering like a server would on the wire."""

    def __init__(self, resp3: bool = False, clock: Callable[[], int] | None = None) -> None:
        self.engine = Engine()
        self.clock = clock or (lambda: int(time.time() * 1000))
        self.session = self.engine.open_session(self.clock())
        self.resp3 = resp3
        if resp3:
            self.call(b"HELLO", b"3")

    def call(self, *argv: bytes) -> Any:
        reply = self.engine.execute(list(argv), self.session, self.clock())
        return self.on_the_wire(reply, argv)

    def on_the_wire(self, reply: Any, argv: tuple[bytes, ...] = ()) -> Any:
        """A reply as a client reads it: encoded, parsed by hiredis and normalised."""
        reader = hiredis.Reader()
        reader.feed(encode(reply, self.session.resp3))
        parsed = reader.gets()
        assert parsed is not False, f"our reply to {argv!r} did not parse: {reply!r}"
        return _normalise(parsed)


class Differential:
    """Both servers side by side; `check` runs a command on each and compares."""

    def __init__(self, port: int, resp3: bool = False) -> None:
        self.real = RealRedis(port, resp3)
        self.ours = OurEngine(resp3)
        self.reset()

    def reset(self) -> None:
        for side in (self.real, self.ours):
            side.call(b"SELECT", b"0")
            side.call(b"FLUSHALL")

    def run(self, *argv: bytes | str | int) -> tuple[Any, Any]:
        args = [a if isinstance(a, bytes) else str(a).encode() for a in argv]
        return self.ours.call(*args), self.real.call(*args)

    def check(self, *argv: bytes | str | int,
              normalise: Callable[[Any], Any] | None = None) -> Any:
        """Run on both; assert the replies are equal (after `normalise`); return ours."""
        ours, theirs = self.run(*argv)
        if normalise is not None:
            ours, theirs = normalise(ours), normalise(theirs)
        assert ours == theirs, f"{argv!r}: gyre {ours!r} != redis {theirs!r}"
        return ours

    def close(self) -> None:
        self.real.close()
