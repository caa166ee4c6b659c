"""A raw RESP connection for the fuzz, whose every read has a deadline."""

from __future__ import annotations

import socket
import time
from typing import Any

import hiredis

from tests.differential import Err, encode_command


# Every request is answered within this bound (a blocking command's within a shorter
# one: tests.fuzz.pair).
REPLY_TIMEOUT_S = 5.0
# Unread replies a case may leave behind (pushes, a subscription's confirmations).
SYNC_REPLIES_MAX = 10_000


class Timeout(Exception):
    """No reply within the deadline."""


class Closed(Exception):
    """The server closed the connection (or reset it)."""


def _parsed(value: Any) -> Any:
    if isinstance(value, hiredis.ReplyError):
        return Err(str(value).encode("utf-8", "surrogateescape"))
    if isinstance(value, list):
        return [_parsed(v) for v in value]
    if isinstance(value, dict):
        return {_parsed(k): _parsed(v) for k, v in value.items()}
    return value


class Client:
    """A raw RESP connection whose every read has a deadline."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=REPLY_TIMEOUT_S)
        self.reader = hiredis.Reader(errors="surrogateescape")
        self.syncs = 0

    def send(self, argvs: list[list[bytes]]) -> None:
        try:
            self.sock.sendall(b"".join(encode_command(a) for a in argvs))
        except OSError as e:
            raise Closed(str(e)) from e

    def read(self, timeout_s: float) -> Any:
        deadline = time.monotonic() + timeout_s
        while True:
            reply = self.reader.gets()
            if reply is not False:
                return _parsed(reply)
            left = deadline - time.monotonic()
            if left <= 0:
                raise Timeout
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(1 << 20)
            except socket.timeout as e:
                raise Timeout from e
            except OSError as e:
                raise Closed(str(e)) from e
            if not data:
                raise Closed("connection closed")
            self.reader.feed(data)

    def sync(self) -> list[Any]:
        """RESET, then read up to the echo of a fresh token.

        Returns:
            The replies a case left unread before RESET's own (a push, a
            command's second reply): the caller compares them between the
            servers, and none is left to shift the next case's replies.
        """
        self.syncs += 1
        token = b"fuzz-sync-%d" % self.syncs
        self.send([[b"RESET"], [b"ECHO", token]])
        left: list[Any] = []
        for _ in range(SYNC_REPLIES_MAX):
            reply = self.read(REPLY_TIMEOUT_S)
            if reply == token:
                return left[:-1]  # the last one is RESET's
            left.append(reply)
        raise Closed(f"no echo of {token!r} after {SYNC_REPLIES_MAX} replies")

    def call_many(self, argvs: list[list[bytes]], timeout_s: float = REPLY_TIMEOUT_S) -> list[Any]:
        self.send(argvs)
        return [self.read(timeout_s) for _ in argvs]

    def close(self) -> None:
        self.sock.close()
