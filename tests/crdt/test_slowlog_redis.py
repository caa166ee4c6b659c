"""SLOWLOG and LATENCY against the real redis-server.

The commands' replies and errors through the engine (`diff`), then the
entries themselves: a `gyre serve` process and a redis-server of their own
run the same commands with everything logged, and their slow logs must
agree except for what differs by nature (timestamps, durations, ports).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import pytest

from tests.differential import Differential, Err, RealRedis
from tests.helpers import gyre_server, real_redis_server

pytestmark = pytest.mark.redis

ADDR = re.compile(rb"127\.0\.0\.1:\d+")
SLEEP_S = b"0.15"
SLEEP_MS = 150
LATENCY_THRESHOLD_MS = b"100"


def _restore(diff: Differential) -> None:
    for side in (diff.real, diff.ours):
        side.call(b"CONFIG", b"SET", b"slowlog-log-slower-than", b"10000", b"slowlog-max-len", b"128",
                  b"latency-monitor-threshold", b"0")
        side.call(b"SLOWLOG", b"RESET")
        side.call(b"LATENCY", b"RESET")


@pytest.fixture
def fresh(diff: Differential) -> Iterator[Differential]:
    _restore(diff)
    yield diff
    _restore(diff)


@pytest.mark.parametrize("argv", [
    ("SLOWLOG",), ("SLOWLOG", "FOO"), ("SLOWLOG", "GET", "-2"), ("SLOWLOG", "GET", "x"),
    ("SLOWLOG", "GET", "1.5"), ("SLOWLOG", "GET", "99999999999999999999"), ("SLOWLOG", "get", "1", "2"),
    ("SLOWLOG", "GET", "0"), ("SLOWLOG", "LEN"), ("SLOWLOG", "LEN", "x"), ("SLOWLOG", "RESET", "x"),
    ("SLOWLOG", "HELP"), ("SLOWLOG", "HELP", "x"),
    ("LATENCY",), ("LATENCY", "FOO"), ("LATENCY", "LATEST"), ("LATENCY", "LATEST", "x"),
    ("LATENCY", "HISTORY"), ("LATENCY", "HISTORY", "command"), ("LATENCY", "HISTORY", "a", "b"),
    ("LATENCY", "RESET"), ("LATENCY", "RESET", "command", "nosuch"), ("LATENCY", "HELP", "x"),
    ("CONFIG", "GET", "slowlog*"), ("CONFIG", "GET", "latency-monitor-threshold"),
    ("CONFIG", "GET", "watchdog*"),
    ("CONFIG", "SET", "slowlog-log-slower-than", "-2"), ("CONFIG", "SET", "slowlog-max-len", "-1"),
    ("CONFIG", "SET", "latency-monitor-threshold", "-1"), ("CONFIG", "SET", "watchdog-period", "-1"),
    ("CONFIG", "SET", "watchdog-period", "x"), ("CONFIG", "SET", "watchdog-period", "2147483648"),
])
def test_replies_and_errors(fresh: Differential, argv: tuple[str, ...]) -> None:
    # CONFIG GET of a glob lists in Redis's hash order: compared as a map.
    fresh.check(*argv, normalise=lambda r: dict(zip(r[::2], r[1::2])) if argv[:2] == ("CONFIG", "GET") else r)


def test_watchdog_period_is_kept_above_two_ticks(fresh: Differential) -> None:
    try:
        for value in ("50", "300", "0"):
            fresh.check("CONFIG", "SET", "watchdog-period", value)
            fresh.check("CONFIG", "GET", "watchdog-period")
    finally:
        fresh.real.call(b"CONFIG", b"SET", b"watchdog-period", b"0")


def test_latency_help_lines_are_redis_lines(fresh: Differential) -> None:
    ours, theirs = fresh.run("LATENCY", "HELP")
    assert ours[0] == theirs[0] and ours[-2:] == theirs[-2:] and set(ours) <= set(theirs)


def _normalised(entries: list[Any]) -> list[Any]:
    """Entries oldest first, ids counted from the first, without times, durations and ports."""
    out = []
    first_id = entries[-1][0]
    for entry_id, time_s, duration_us, argv, addr, name in reversed(entries):
        assert isinstance(time_s, int) and isinstance(duration_us, int) and duration_us >= 0
        assert ADDR.fullmatch(addr), addr
        out.append([entry_id - first_id, argv, name])
    return out


SEQUENCE: tuple[tuple[bytes, ...], ...] = (
    (b"SET", b"k", b"v"),
    (b"MSET", *[b"%d" % i for i in range(40)]),
    (b"SET", b"big", b"x" * 300),
    (b"NOSUCH", b"x"), (b"GET",), (b"CONFIG", b"NOSUCH"),  # refused: not logged
    (b"AUTH", b"secret"), (b"HELLO", b"2", b"AUTH", b"default", b"secret", b"SETNAME", b"named"),
    (b"BLPOP", b"empty", b"0.01"),  # blocked, then timed out: not logged
    (b"CLIENT", b"SETNAME", b"other"),
    (b"GET", b"k"),
)


def test_entries_match_redis() -> None:
    with ExitStack() as stack:
        sides = [RealRedis(stack.enter_context(gyre_server())),
                 RealRedis(stack.enter_context(real_redis_server()))]
        logs = []
        for side in sides:
            stack.callback(side.close)
            assert side.call(b"CONFIG", b"SET", b"slowlog-log-slower-than", b"0") == b"OK"
            side.call(b"SLOWLOG", b"RESET")
            replies = [side.call(*argv) for argv in SEQUENCE]
            logs.append((replies, side.call(b"SLOWLOG", b"GET", b"-1"), side.call(b"SLOWLOG", b"LEN")))
        (our_replies, ours, our_len), (their_replies, theirs, their_len) = logs
        assert [type(r) is Err for r in our_replies] == [type(r) is Err for r in their_replies]
        assert _normalised(ours) == _normalised(theirs)
        assert our_len == their_len == len(ours) + 1  # SLOWLOG GET itself is logged after it ran


def test_a_slow_command_and_the_latency_monitor_match_redis() -> None:
    with ExitStack() as stack:
        sides = [RealRedis(stack.enter_context(gyre_server())),
                 RealRedis(stack.enter_context(real_redis_server("--enable-debug-command", "yes")))]
        for side in sides:
            stack.callback(side.close)
            side.call(b"CONFIG", b"SET", b"latency-monitor-threshold", LATENCY_THRESHOLD_MS)
            assert side.call(b"DEBUG", b"SLEEP", SLEEP_S) == b"OK"
            (entry,) = side.call(b"SLOWLOG", b"GET")  # the default threshold, 10 ms
            assert entry[3] == [b"DEBUG", b"SLEEP", SLEEP_S]
            assert SLEEP_MS * 1000 <= entry[2] < 10 * SLEEP_MS * 1000
            ((event, time_s, latest, worst),) = side.call(b"LATENCY", b"LATEST")
            assert event == b"command" and SLEEP_MS <= latest == worst < 10 * SLEEP_MS
            assert side.call(b"LATENCY", b"HISTORY", b"command") == [[time_s, latest]]
            assert side.call(b"LATENCY", b"RESET", b"command", b"nosuch") == 1
            assert side.call(b"LATENCY", b"LATEST") == []
