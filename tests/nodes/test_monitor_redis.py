"""MONITOR on the wire: what a monitor receives from gyre serve and from redis-server, byte for byte.

Timestamps and client addresses differ between the two servers and are
replaced by placeholders; everything else (which commands are shown, in
which order, with which database, quoting and redaction, and the monitor's
own replies) must be identical. redis-cli and redis-py read the stream too.
"""

from __future__ import annotations

import re
import select
import shutil
import socket
import subprocess

import pytest
import redis

from tests.differential import encode_command

SOCKET_TIMEOUT_S = 10.0
READ_TIMEOUT_S = 10.0
DONE = b"monitor-script-done"
LINE_RE = re.compile(rb"^\+\d+\.\d{6} \[(\d+) [^\]]+\] ", re.MULTILINE)
REDIS_CLI = shutil.which("redis-cli")

# What a second client runs while the monitor watches (replies compared too).
CLIENT_SCRIPT: list[list[bytes]] = [
    [b"SET", b"k", b"v"], [b"GET", b"k"], [b"SET", b"odd", b'a"\n\x01\\\t\r\x7f\xff \x00'],
    [b"SELECT", b"3"], [b"DEL", b"k"], [b"SELECT", b"0"],
    [b"CONFIG", b"GET", b"maxclients"],  # admin: not shown
    [b"AUTH", b"x"], [b"AUTH", b"a", b"b"], [b"AUTH", b"a", b"b", b"c"],
    [b"HELLO", b"2", b"AUTH", b"a", b"b"], [b"HELLO", b"4", b"AUTH", b"a", b"b"],
    [b"HELLO", b"2", b"FOO", b"AUTH", b"a", b"b"],
    [b"HELLO", b"2", b"SETNAME", b"n1", b"AUTH", b"u", b"p", b"SETNAME", b"n2"],
    [b"MULTI"], [b"INCR", b"c"], [b"SET", b"x", b"y"], [b"EXEC"],
    [b"MULTI"], [b"GET"], [b"INCR", b"c"], [b"EXEC"],
    [b"NOSUCH", b"x"], [b"GET"],  # refused before running: not shown
    [b"CLIENT", b"SETNAME", b"x"], [b"CLIENT", b"GETNAME"], [b"PING"], [b"ECHO", b"two words"],
    [b"BITFIELD", b"bf", b"SET", b"u8", b"0", b"255"], [b"BLPOP", b"nolist", b"0.01"],
    [b"WATCH", b"k"], [b"UNWATCH"], [b"PUBLISH", b"chan", b"msg"],
    # Scripts: the EVAL/FCALL line first, then the script's commands as [db lua] lines.
    [b"EVAL", b"redis.call('set', KEYS[1], ARGV[1]) redis.call('select', 2) return redis.call('get', 'x')",
     b"1", b"sk", b"sv"],
    [b"EVAL", b"return redis.call('incr', 'sk')", b"0"], [b"EVALSHA", b"f" * 40, b"0"],
    [b"FCALL", b"nosuch", b"0"], [b"EVAL", b"return 1"],
    [b"MULTI"], [b"EVAL", b"return redis.call('ping')", b"0"], [b"EXEC"],
    [b"ECHO", DONE],
]
# Then the monitor's own commands: replies, refusals and its own lines.
MONITOR_SCRIPT: list[list[bytes]] = [
    [b"PING"], [b"GET", b"k"], [b"SET", b"k", b"v"], [b"PUBLISH", b"chan", b"m"], [b"MONITOR"],
    [b"MULTI"], [b"GET", b"k"], [b"PING"], [b"EXEC"], [b"ECHO", DONE],
]


def _read_until(sock: socket.socket, got: bytes, marker: bytes, count: int = 1) -> bytes:
    while got.count(marker) < count:
        chunk = sock.recv(65536)
        assert chunk, got
        got += chunk
    return got


def run_monitor_script(port: int, resp3: bool = False) -> tuple[bytes, bytes]:
    """(what the monitor received, what the other client received), addresses and times masked."""
    mon = socket.create_connection(("127.0.0.1", port), timeout=SOCKET_TIMEOUT_S)
    cli = socket.create_connection(("127.0.0.1", port), timeout=SOCKET_TIMEOUT_S)
    done_line = b'"ECHO" "%s"\r\n' % DONE
    try:
        if resp3:
            mon.sendall(encode_command([b"HELLO", b"3"]) + encode_command([b"PING", b"hello-done"]))
            _read_until(mon, b"", b"hello-done\r\n")
        mon.sendall(encode_command([b"MONITOR"]))
        got = _read_until(mon, b"", b"+OK\r\n")
        cli.sendall(b"".join(encode_command(argv) for argv in CLIENT_SCRIPT))
        replies = _read_until(cli, b"", DONE + b"\r\n")
        got = _read_until(mon, got, done_line)
        mon.sendall(b"".join(encode_command(argv) for argv in MONITOR_SCRIPT))
        got = _read_until(mon, got, done_line, 2)  # the monitor's own ECHO, after its reply
    finally:
        mon.close()
        cli.close()
    return LINE_RE.sub(rb"+TIME [\1 ADDR] ", got), replies


@pytest.mark.redis
@pytest.mark.parametrize("resp3", [False, True], ids=["resp2", "resp3"])
def test_monitor_stream_matches_redis(gyre_port: int, real_redis_port: int, resp3: bool) -> None:
    ours = run_monitor_script(gyre_port, resp3)
    theirs = run_monitor_script(real_redis_port, resp3)
    assert ours[0].split(b"\r\n") == theirs[0].split(b"\r\n")
    assert ours[1] == theirs[1]


def _readline(proc: subprocess.Popen[bytes]) -> bytes:
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], READ_TIMEOUT_S)
    assert ready, "redis-cli printed nothing"
    return proc.stdout.readline()


@pytest.mark.skipif(REDIS_CLI is None, reason="redis-cli not installed (make test installs it as root)")
def test_redis_cli_monitor(gyre_port: int) -> None:
    proc = subprocess.Popen([REDIS_CLI, "-p", str(gyre_port), "monitor"], stdout=subprocess.PIPE)
    try:
        assert _readline(proc) == b"OK\n"
        with socket.create_connection(("127.0.0.1", gyre_port), timeout=SOCKET_TIMEOUT_S) as client:
            client.sendall(encode_command([b"SET", b"watched", b"value"]))
            assert client.recv(100) == b"+OK\r\n"
        line = _readline(proc)
        assert re.fullmatch(rb'\d+\.\d{6} \[0 127\.0\.0\.1:\d+\] "SET" "watched" "value"\n', line), line
    finally:
        proc.terminate()
        proc.wait(timeout=READ_TIMEOUT_S)


@pytest.mark.parametrize("protocol", [2, 3])
def test_redis_py_monitor(gyre_port: int, protocol: int) -> None:
    watcher = redis.Redis(port=gyre_port, protocol=protocol, decode_responses=True)
    client = redis.Redis(port=gyre_port, protocol=protocol, decode_responses=True)
    try:
        address = client.client_info()["addr"]  # before monitoring: CLIENT INFO is shown too
        with watcher.monitor() as m:
            client.set("a key", 'say "hi"')
            client.lpush("list", "x")
            first = m.next_command()
            second = m.next_command()
        assert first["command"] == 'SET a key say "hi"'
        assert first["db"] == 0 and first["client_type"] == "tcp"
        assert f"{first['client_address']}:{first['client_port']}" == address
        assert second["command"] == "LPUSH list x"
    finally:
        watcher.close()
        client.close()
