"""Scripts through real clients against a real `gyre serve`: redis-py's Lock, register_script,
pipelines, WATCH, and the BUSY / SCRIPT KILL / FUNCTION KILL flow with two connections.

The BUSY cases run the same two-client sequence against redis-server and
compare what each client reads; a client waits for the script to pass
``busy-reply-threshold`` by polling PING until it answers -BUSY (never a
sleep).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
import redis
from redis.exceptions import LockError, LockNotOwnedError, NoScriptError, ResponseError

DEADLINE_S = 10.0


@pytest.fixture
def r(gyre_port: int) -> Iterator[redis.Redis]:
    client = redis.Redis(port=gyre_port)
    client.flushall()
    client.script_flush()
    yield client
    client.close()


def test_lock_acquire_extend_reacquire_release(r: redis.Redis) -> None:
    lock = r.lock("l", timeout=10)
    assert lock.acquire(blocking=False)
    assert r.get("l") == lock.local.token
    assert not r.lock("l").acquire(blocking=False)  # held
    assert lock.extend(5)
    assert 10 < r.pttl("l") <= 15_000
    assert lock.extend(30, replace_ttl=True)
    assert 15_000 < r.pttl("l") <= 30_000
    assert lock.reacquire()
    assert 9_000 < r.pttl("l") <= 10_000
    assert lock.owned() and lock.locked()
    lock.release()
    assert r.get("l") is None and not lock.locked()
    with pytest.raises(LockError):
        lock.release()  # released already: no token


def test_release_by_the_wrong_owner_is_refused(r: redis.Redis) -> None:
    mine = r.lock("l", timeout=10)
    assert mine.acquire(blocking=False)
    theirs = r.lock("l", timeout=10)
    theirs.local.token = b"not-the-owner"
    with pytest.raises(LockNotOwnedError):
        theirs.do_release(b"not-the-owner")
    with pytest.raises(LockNotOwnedError):
        theirs.extend(5)
    with pytest.raises(LockNotOwnedError):
        theirs.reacquire()
    assert r.get("l") == mine.local.token
    mine.release()


def test_lock_as_context_manager_and_blocking_acquire(r: redis.Redis) -> None:
    with r.lock("l", timeout=5, blocking_timeout=2):
        assert r.exists("l")
    assert not r.exists("l")


def test_register_script_loads_on_noscript_and_runs(r: redis.Redis) -> None:
    incr_by = r.register_script("return redis.call('incrby', KEYS[1], ARGV[1])")
    assert incr_by(keys=["n"], args=[5]) == 5
    r.script_flush()  # the next call meets NOSCRIPT, loads, retries
    assert incr_by(keys=["n"], args=[2]) == 7
    assert r.script_exists(incr_by.sha) == [True]
    with pytest.raises(NoScriptError):
        r.evalsha("0" * 40, 0)


def test_pipelines_with_scripts(r: redis.Redis) -> None:
    script = r.register_script("redis.call('rpush', KEYS[1], ARGV[1]) return redis.call('llen', KEYS[1])")
    r.script_flush()
    for transaction in (False, True):
        r.delete("q")
        pipe = r.pipeline(transaction=transaction)
        pipe.set("x", 1)
        script(keys=["q"], args=["a"], client=pipe)
        script(keys=["q"], args=["b"], client=pipe)
        pipe.get("x")
        assert pipe.execute() == [True, 1, 2, b"1"]
    pipe = r.pipeline(transaction=False)
    pipe.eval("return redis.call('incr', KEYS[1])", 1, "x")
    pipe.eval("return redis.call('nosuch')", 0)
    results = pipe.execute(raise_on_error=False)
    assert results[0] == 2 and isinstance(results[1], ResponseError)


def test_a_script_write_dirties_a_watch(r: redis.Redis, gyre_port: int) -> None:
    other = redis.Redis(port=gyre_port)
    with r.pipeline() as pipe:
        pipe.watch("w")
        other.eval("redis.call('set', KEYS[1], 'changed')", 1, "w")
        pipe.multi()
        pipe.set("w", "mine")
        with pytest.raises(redis.WatchError):
            pipe.execute()
    assert r.get("w") == b"changed"
    other.close()


def test_blocked_client_is_served_after_the_script(r: redis.Redis, gyre_port: int) -> None:
    popped: list[object] = []
    waiter = redis.Redis(port=gyre_port)
    thread = threading.Thread(target=lambda: popped.append(waiter.blpop(["q"], timeout=DEADLINE_S)))
    thread.start()
    deadline = time.monotonic() + DEADLINE_S
    while r.info("clients")["blocked_clients"] < 1:
        assert time.monotonic() < deadline
    r.eval("redis.call('rpush', KEYS[1], 'a', 'b') redis.call('lpop', KEYS[1])", 1, "q")
    thread.join(DEADLINE_S)
    assert popped == [(b"q", b"b")]
    waiter.close()


# -- BUSY and KILL: two clients, on gyre and on redis-server ---------------------


def _busy_flow(port: int, script: str, kills: list[list[str]], fcall: bool) -> list[object]:
    """Client A runs a long script; B waits for -BUSY, tries commands, then the kill commands.

    Returns what B read at each step (errors as their text), then what A read.
    """
    a = redis.Redis(port=port)
    b = redis.Redis(port=port)
    a.flushall()
    a.config_set("busy-reply-threshold", 100)
    outcome: list[object] = []
    if fcall:
        a.function_flush()
        a.function_load("#!lua name=busy\nredis.register_function('spin', function(keys, args)\n"
                        + script + "\nend)")

    def run() -> None:
        try:
            outcome.append(a.fcall("spin", 0) if fcall else a.eval(script, 0))
        except ResponseError as e:
            outcome.append(str(e))

    thread = threading.Thread(target=run)
    thread.start()
    seen: list[object] = []
    deadline = time.monotonic() + DEADLINE_S
    while True:
        assert time.monotonic() < deadline, "the script never made the server busy"
        try:
            b.ping()
        except ResponseError as e:
            seen.append(str(e))
            break
    for command in (["GET", "k"], ["MULTI"], ["DISCARD"], *kills):
        try:
            seen.append(b.execute_command(*command))
        except ResponseError as e:
            seen.append(str(e))
    thread.join(DEADLINE_S)
    assert not thread.is_alive()
    seen.append(b.get("x"))
    a.config_set("busy-reply-threshold", 5000)
    a.close()
    b.close()
    return seen + outcome


SPIN = "local i = 0 while true do i = i + 1 end"
# Writes, then runs about a second (TIME is allowed in scripts): SCRIPT KILL must refuse.
WRITE_THEN_SPIN = ("redis.call('set', 'x', '1') local t0 = tonumber(redis.call('time')[1]) "
                   "while tonumber(redis.call('time')[1]) < t0 + 2 do end return 'done'")

BUSY_CASES = {
    "eval, SCRIPT KILL": (SPIN, [["SCRIPT", "KILL"]], False),
    "fcall, FUNCTION KILL": (SPIN, [["FUNCTION", "KILL"]], True),
    "eval, FUNCTION KILL then SCRIPT KILL": (SPIN, [["FUNCTION", "KILL"], ["SCRIPT", "KILL"]], False),
    "fcall, SCRIPT KILL then FUNCTION KILL": (SPIN, [["SCRIPT", "KILL"], ["FUNCTION", "KILL"]], True),
    "eval that wrote: unkillable": (WRITE_THEN_SPIN, [["SCRIPT", "KILL"]], False),
}


@pytest.mark.redis
@pytest.mark.parametrize("case", list(BUSY_CASES))
def test_busy_and_kill_match_redis(case: str, gyre_port: int, real_redis_port: int) -> None:
    script, kills, fcall = BUSY_CASES[case]
    ours = _busy_flow(gyre_port, script, kills, fcall)
    theirs = _busy_flow(real_redis_port, script, kills, fcall)
    assert ours == theirs


def test_shutdown_nosave_stops_an_unkillable_script_and_the_server() -> None:
    from tests.helpers import gyre_process, read_until_closed

    with gyre_process() as (port, proc):
        a = redis.Redis(port=port)
        b = redis.Redis(port=port)
        a.config_set("busy-reply-threshold", 50)
        outcome: list[object] = []

        def run() -> None:
            try:
                outcome.append(a.eval("redis.call('set', 'x', 1) while true do end", 0))
            except (ResponseError, redis.ConnectionError) as e:
                outcome.append(type(e).__name__)

        thread = threading.Thread(target=run)
        thread.start()
        deadline = time.monotonic() + DEADLINE_S
        while True:
            assert time.monotonic() < deadline, "the script never made the server busy"
            try:
                b.ping()
            except ResponseError:
                break
        with pytest.raises(ResponseError, match="^UNKILLABLE"):
            b.script_kill()
        # A raw socket: redis-py would retry the dropped connection with back-off.
        with socket.create_connection(("127.0.0.1", port), timeout=DEADLINE_S) as raw:
            raw.sendall(b"SHUTDOWN NOSAVE\r\n")
            assert read_until_closed(raw) == b""  # no reply: the server closes and exits
        thread.join(DEADLINE_S)
        assert not thread.is_alive() and outcome in (["ResponseError"], ["ConnectionError"])
        assert proc.wait(timeout=DEADLINE_S) == 0
