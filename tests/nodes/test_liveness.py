"""`gyre serve` as a process: signals stop it within a second whatever holds its loop; the watchdog; SLOWLOG timing.

A command that holds the loop is sent on a raw socket without waiting for
its reply; the test knows the server is inside it when the watchdog's log
line says so (``watchdog-period`` 200 ms), so nothing here sleeps to wait.
"""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from tests.differential import RealRedis, encode_command
from tests.helpers import LogLines, gyre_process

STOP_LIMIT_S = 1.0  # the promise
WAIT_S = 10.0  # for log lines and replies that must come
SECOND_SIGNAL_LIMIT_S = 0.3  # well under the 0.5 s grace: the kernel ended it
WATCHDOG_ARGS = ("--config-set", "watchdog-period", "200")
ENDLESS_SPIN = b"%d" % 10**15
HELD = re.compile(r"WATCHDOG: the event loop has been held for (\d+) ms \(watchdog-period 200\) "
                  r"by 'debug' of client id=(\d+) addr=127\.0\.0\.1:\d+ name=")


@contextmanager
def served(*args: str) -> Iterator[tuple[int, subprocess.Popen[str], LogLines]]:
    with gyre_process(*args) as (port, proc):
        yield port, proc, LogLines(proc)


def _stop_time(proc: subprocess.Popen[str], sig: int) -> tuple[float, int]:
    start = time.monotonic()
    proc.send_signal(sig)
    code = proc.wait(timeout=WAIT_S)
    return time.monotonic() - start, code


def _hold(port: int, *argv: bytes) -> socket.socket:
    """Send a command that holds the server; its reply is not awaited."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=WAIT_S)
    sock.sendall(encode_command(list(argv)))
    return sock


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_stops_an_idle_server_cleanly(sig: int) -> None:
    with served() as (port, proc, log):
        assert RealRedis(port).call(b"PING") == b"PONG"
        elapsed, code = _stop_time(proc, sig)
        assert code == 0 and elapsed < STOP_LIMIT_S
        assert f"received {signal.Signals(sig).name}, shutting down" in log.rest()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
@pytest.mark.parametrize("held", [(b"DEBUG", b"SLEEP", b"10"), (b"DEBUG", b"SPIN", ENDLESS_SPIN)],
                         ids=["sleep", "python-spin"])
def test_signal_stops_a_server_a_command_holds(sig: int, held: tuple[bytes, ...]) -> None:
    with served(*WATCHDOG_ARGS) as (port, proc, log):
        sock = _hold(port, *held)
        log.wait_for(HELD)
        elapsed, code = _stop_time(proc, sig)
        assert elapsed < STOP_LIMIT_S
        assert code == -sig  # ended by the signal's default action, not cleanly
        text = log.rest()
        name = signal.Signals(sig).name
        assert f"{name}: the event loop did not stop within 0.5 s; it is held by 'debug'" in text
        assert sock.recv(1) == b""  # the held command never answers: the connection just closes
        sock.close()


def test_a_second_signal_ends_the_process_at_once() -> None:
    with served(*WATCHDOG_ARGS) as (port, proc, log):
        sock = _hold(port, b"DEBUG", b"SPIN", ENDLESS_SPIN)
        log.wait_for(HELD)
        proc.send_signal(signal.SIGTERM)
        log.wait_for("received SIGTERM while 'debug' of client id=.* holds the event loop")
        elapsed, code = _stop_time(proc, signal.SIGTERM)
        assert code == -signal.SIGTERM and elapsed < SECOND_SIGNAL_LIMIT_S
        assert "did not stop within" not in log.rest()
        sock.close()


def test_watchdog_names_the_command_and_says_when_it_is_done() -> None:
    with served(*WATCHDOG_ARGS) as (port, proc, log):
        client = RealRedis(port)
        client_id = client.call(b"CLIENT", b"ID")
        client.sock.sendall(encode_command([b"DEBUG", b"SLEEP", b"0.6"]))
        m = log.wait_for(HELD)
        assert int(m.group(1)) >= 200 and int(m.group(2)) == client_id
        assert "in _debug_sleep" in m.string
        done = log.wait_for(r"WATCHDOG: 'debug' of client id=(\d+) .* released the event loop "
                            r"after about (\d+) ms")
        assert int(done.group(1)) == client_id and int(done.group(2)) >= 600
        assert _pipeline(client) == [b"OK"]  # the sleep's reply, sent once it ended
        assert client.call(b"PING") == b"PONG"
        client.close()


def _pipeline(client: RealRedis, *commands: tuple[bytes, ...]) -> list[object]:
    """Send `commands` in one write; their replies (no commands: the one reply awaited)."""
    client.sock.sendall(b"".join(encode_command(list(argv)) for argv in commands))
    replies: list[object] = []
    while len(replies) < max(1, len(commands)):
        reply = client.reader.gets()
        if reply is False:
            client.reader.feed(client.sock.recv(65536))
        else:
            replies.append(reply)
    return replies


def test_slow_commands_in_pipelines() -> None:
    slow = (b"DEBUG", b"SLEEP", b"0.05")
    with served() as (port, proc, log):
        client = RealRedis(port)
        # Its first slow pipeline cannot say which command was slow: not logged...
        assert _pipeline(client, (b"PING",), slow, (b"PING",)) == [b"PONG", b"OK", b"PONG"]
        assert client.call(b"SLOWLOG", b"LEN") == 0
        # ...but the client's next pipelines are timed command by command.
        assert _pipeline(client, (b"PING",), slow, (b"PING",)) == [b"PONG", b"OK", b"PONG"]
        (entry,) = client.call(b"SLOWLOG", b"GET")
        assert entry[3] == list(slow) and entry[2] >= 50_000
        # Below 1 ms every command of every pipeline is timed on its own.
        client.call(b"CONFIG", b"SET", b"slowlog-log-slower-than", b"0")
        client.call(b"SLOWLOG", b"RESET")
        other = RealRedis(port)
        _pipeline(other, (b"SET", b"a", b"1"), (b"GET", b"a"), (b"DEL", b"a"))
        names = [e[3][0] for e in client.call(b"SLOWLOG", b"GET")]
        assert names == [b"DEL", b"GET", b"SET", b"SLOWLOG"]
        client.close()
        other.close()
