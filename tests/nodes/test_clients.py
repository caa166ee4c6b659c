"""Real clients against a real `gyre serve` process: redis-py (RESP2 and RESP3) and redis-cli."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import shutil
import signal
import struct
import subprocess
import sys
import termios

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from tests.helpers import GYRE_READY_TEXT, REDIS_START_TIMEOUT_S, gyre_process

REDIS_CLI = shutil.which("redis-cli")
needs_cli = pytest.mark.skipif(REDIS_CLI is None, reason="redis-cli not installed (make test installs it as root)")
PTY_READ_TIMEOUT_S = 10.0


@pytest.fixture(params=[2, 3], ids=["resp2", "resp3"])
def client(request: pytest.FixtureRequest, gyre_port: int) -> redis.Redis:
    c = redis.Redis(port=gyre_port, protocol=request.param, decode_responses=True)
    c.flushall()
    yield c
    c.close()


def test_strings_and_counters(client: redis.Redis) -> None:
    assert client.set("greeting", "hello") is True
    assert client.get("greeting") == "hello"
    assert client.append("greeting", " world") == 11
    assert client.incr("n") == 1
    assert client.incrby("n", 41) == 42
    assert client.incrbyfloat("f", 10.5) == 10.5
    assert client.mget("greeting", "n", "missing") == ["hello world", "42", None]
    assert client.set("greeting", "x", nx=True) is None


def test_expiry(client: redis.Redis) -> None:
    client.set("k", "v", ex=100)
    assert 99 <= client.ttl("k") <= 100
    assert client.persist("k") is True
    assert client.ttl("k") == -1
    assert client.ttl("missing") == -2


def test_pipeline_returns_every_reply_in_order(client: redis.Redis) -> None:
    pipe = client.pipeline(transaction=False)
    for i in range(100):
        pipe.set(f"key:{i}", i)
    for i in range(100):
        pipe.get(f"key:{i}")
    replies = pipe.execute()
    assert replies[:100] == [True] * 100
    assert replies[100:] == [str(i) for i in range(100)]
    assert client.dbsize() == 100


def test_errors_raise_the_right_exceptions(client: redis.Redis) -> None:
    client.set("s", "not a number")
    with pytest.raises(redis.ResponseError, match="value is not an integer or out of range"):
        client.incr("s")
    with pytest.raises(redis.ResponseError, match="unknown command 'NOPE'"):
        client.execute_command("NOPE", "a")


def test_scan_iter_sees_every_key(client: redis.Redis) -> None:
    keys = {f"user:{i}" for i in range(500)}
    for k in keys:
        client.set(k, 1)
    assert set(client.scan_iter(match="user:*", count=37)) == keys


def test_server_introspection(client: redis.Redis) -> None:
    info = client.info()
    assert info["redis_version"]
    assert client.config_get("hz") == {"hz": "10"}
    client.client_setname("tester")
    assert client.client_getname() == "tester"
    assert any(c["name"] == "tester" for c in client.client_list())
    seconds, micros = client.time()
    assert seconds > 1_600_000_000 and 0 <= micros < 1_000_000


def test_resp3_hello_reports_protocol(gyre_port: int) -> None:
    c = redis.Redis(port=gyre_port, protocol=3)
    reply = c.execute_command("HELLO", "3")
    assert reply[b"proto"] == 3
    c.close()


def test_requirepass_is_enforced() -> None:
    from tests.helpers import gyre_server

    with gyre_server("--requirepass", "s3cret") as port:
        anonymous = redis.Redis(port=port)
        with pytest.raises(redis.AuthenticationError):
            anonymous.get("k")
        authed = redis.Redis(port=port, password="s3cret")
        assert authed.ping() is True
        with pytest.raises(redis.AuthenticationError):
            redis.Redis(port=port, password="wrong").ping()


@needs_cli
@pytest.mark.redis
def test_redis_cli_prints_the_same_as_against_redis(gyre_port: int, real_redis_port: int) -> None:
    def cli(port: int, *args: str) -> str:
        return subprocess.run([REDIS_CLI, "-p", str(port), *args], capture_output=True,
                              text=True, check=True, timeout=PTY_READ_TIMEOUT_S).stdout

    script = [
        ("ping",), ("set", "cli-key", "some value"), ("get", "cli-key"), ("incr", "cli-key"),
        ("--no-raw", "exists", "cli-key"), ("--no-raw", "mget", "cli-key", "nope"),
        ("--no-raw", "incrbyfloat", "f", "1.5"), ("--no-raw", "nosuchcommand", "x"),
        ("--no-raw", "config", "get", "hz"), ("--no-raw", "set", "x", "1", "EX", "0"),
        ("del", "cli-key", "f"),
    ]
    for args in script:
        assert cli(gyre_port, *args) == cli(real_redis_port, *args), args


@needs_cli
def test_redis_cli_pipe_mass_insert(gyre_port: int) -> None:
    count = 20_000
    lines = "".join(
        f"*3\r\n$3\r\nSET\r\n${len(f'mass:{i}')}\r\nmass:{i}\r\n${len(str(i))}\r\n{i}\r\n"
        for i in range(count))
    proc = subprocess.run([REDIS_CLI, "-p", str(gyre_port), "--pipe"], input=lines.encode(),
                          capture_output=True, timeout=60, check=True)
    assert b"errors: 0, replies: %d" % count in proc.stdout
    c = redis.Redis(port=gyre_port)
    assert c.get("mass:12345") == b"12345"
    c.delete(*[f"mass:{i}" for i in range(count)])


@needs_cli
def test_redis_cli_bigkeys_and_memkeys(gyre_port: int) -> None:
    """redis-cli's key surveys: --bigkeys (TYPE, SCAN and the length commands), --memkeys
    (MEMORY USAGE), on a database of their own."""
    c = redis.Redis(port=gyre_port, db=7)
    c.flushdb()
    c.set("s", "hello")
    c.rpush("l", *range(30))
    c.hset("h", mapping={"a": 1, "b": 2})
    c.sadd("set", "x")
    c.zadd("z", {"m": 1})
    try:
        def cli(*args: str) -> str:
            return subprocess.run([REDIS_CLI, "-p", str(gyre_port), "-n", "7", *args],
                                  capture_output=True, text=True, check=True,
                                  timeout=PTY_READ_TIMEOUT_S).stdout

        big = cli("--bigkeys")
        assert "Biggest   list found '\"l\"' has 30 items" in big
        assert "Biggest string found '\"s\"' has 5 bytes" in big
        assert "1 hashs with 2 fields" in big and "Sampled 5 keys in the keyspace!" in big
        mem = cli("--memkeys")
        sizes = {m.group(1): int(m.group(2))
                 for m in re.finditer(r"Biggest\s+(\w+) found '\"\w+\"' has (\d+) bytes", mem)}
        assert set(sizes) == {"list", "hash", "string", "set", "zset"}
        assert sizes["list"] > sizes["string"] > 0
    finally:
        c.flushdb()
        c.close()


def _read_until(fd: int, needle: bytes | re.Pattern[bytes]) -> bytes:
    got = b""
    found = (lambda: needle.search(got)) if isinstance(needle, re.Pattern) else (lambda: needle in got)
    while not found():
        ready, _, _ = select.select([fd], [], [], PTY_READ_TIMEOUT_S)
        assert ready, f"redis-cli printed {got!r}, never {needle!r}"
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        if b"\x1b[6n" in chunk:  # linenoise asks where the cursor is: answer like a terminal
            os.write(fd, b"\x1b[1;1R")
        got += chunk
    return got


@needs_cli
def test_redis_cli_interactive_loads_command_docs_for_hints(gyre_port: int) -> None:
    c = redis.Redis(port=gyre_port)
    before = c.info("commandstats").get("cmdstat_command|docs", {}).get("calls", 0)
    pid, fd = pty.fork()
    if pid == 0:  # the child becomes redis-cli on a 120x40 terminal
        fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
        os.execv(REDIS_CLI, [REDIS_CLI, "-p", str(gyre_port)])
    try:
        _read_until(fd, b"> ")
        os.write(fd, b"ECHO interactive\r")
        # linenoise drops what is typed before it is back in raw mode: wait for the next prompt.
        assert b'"interactive"' in _read_until(fd, re.compile(rb'"interactive".*> ', re.S))
        # Typing a command name makes redis-cli show its argument hint from COMMAND DOCS.
        os.write(fd, b"GETEX ")
        hint = _read_until(fd, b"key")
        assert b"key" in hint
        os.write(fd, b"\x15quit\r")
        _read_until(fd, b"quit")
    finally:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        os.close(fd)
    after = c.info("commandstats")["cmdstat_command|docs"]["calls"]
    assert after == before + 1


def test_sigterm_shuts_down_cleanly() -> None:
    proc = subprocess.Popen([sys.executable, "-m", "nodes.gyre_cli", "serve", "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert proc.stdout is not None
    for line in proc.stdout:
        if GYRE_READY_TEXT in line:
            port = int(line.rsplit(":", 1)[1])
            break
    c = redis.Redis(port=port)
    assert c.ping() is True
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=REDIS_START_TIMEOUT_S) == 0
    assert "shutting down" in proc.stdout.read()


def test_transaction_with_watch(client: redis.Redis, gyre_port: int) -> None:
    client.set("balance", 10)
    with client.pipeline() as pipe:
        pipe.watch("balance")
        current = int(pipe.get("balance"))
        pipe.multi()
        pipe.set("balance", current + 5)
        pipe.incr("ops")
        assert pipe.execute() == [True, 1]
    assert client.get("balance") == "15"
    # A write from someone else between WATCH and EXEC aborts the transaction.
    other = redis.Redis(port=gyre_port)
    with client.pipeline() as pipe:
        pipe.watch("balance")
        other.set("balance", 0)
        pipe.multi()
        pipe.set("balance", 99)
        with pytest.raises(redis.WatchError):
            pipe.execute()
    assert client.get("balance") == "0"
    other.close()


def test_transaction_runtime_error_takes_its_slot(client: redis.Redis) -> None:
    client.set("s", "text")
    pipe = client.pipeline(transaction=True)
    pipe.incr("s")
    pipe.set("t", "1")
    replies = pipe.execute(raise_on_error=False)
    assert isinstance(replies[0], redis.ResponseError) and replies[1] is True


def test_shutdown_from_redis_py_ends_the_process() -> None:
    no_retry = Retry(NoBackoff(), 0)  # redis-py would retry the closed connection with backoff
    with gyre_process() as (port, proc):
        c = redis.Redis(port=port, retry=no_retry)
        c.set("k", "v")
        c.shutdown(nosave=True)  # redis-py takes the closed connection for success, as from Redis
        assert proc.wait(timeout=REDIS_START_TIMEOUT_S) == 0
        with pytest.raises(redis.ConnectionError):
            redis.Redis(port=port, retry=no_retry).ping()
