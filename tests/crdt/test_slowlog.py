"""SLOWLOG and LATENCY in the engine: what `record_command` keeps, and the commands' replies.

Durations are handed in as the driver hands them; time is the box's virtual clock.
"""

from __future__ import annotations

import pytest

from crdt.config import Config
from crdt.timings import entry_argv, record_command, record_event, timing_threshold_us
from protocol.replies import ErrorReply
from tests.helpers import T0_MS, EngineBox


@pytest.fixture
def box() -> EngineBox:
    return EngineBox()


def _record(box: EngineBox, *argv: bytes | str, us: int) -> None:
    args = [a if isinstance(a, bytes) else a.encode() for a in argv]
    record_command(box.engine, box.session, args, us, box.now)


def test_entries_newest_first_with_redis_fields(box: EngineBox) -> None:
    box.session.addr = "127.0.0.1:4000"
    _record(box, "SET", "k", "v", us=20_000)
    box.now += 3000
    box("CLIENT", "SETNAME", "me")
    _record(box, "GET", "k", us=10_000)
    _record(box, "GET", "k", us=9_999)  # under the default 10000 µs
    assert box("SLOWLOG", "LEN") == 2
    assert box("SLOWLOG", "GET") == [
        [1, T0_MS // 1000 + 3, 10_000, [b"GET", b"k"], b"127.0.0.1:4000", b"me"],
        [0, T0_MS // 1000, 20_000, [b"SET", b"k", b"v"], b"127.0.0.1:4000", b""],
    ]
    assert [e[0] for e in box("SLOWLOG", "GET", "1")] == [1]
    assert box("SLOWLOG", "GET", "0") == []
    assert len(box("SLOWLOG", "GET", "-1")) == 2


def test_reset_keeps_counting_ids_and_max_len_trims_on_the_next_entry(box: EngineBox) -> None:
    for _ in range(3):
        _record(box, "GET", "k", us=50_000)
    assert box("SLOWLOG", "RESET") == b"OK" and box("SLOWLOG", "LEN") == 0
    _record(box, "GET", "k", us=50_000)
    assert box("SLOWLOG", "GET")[0][0] == 3
    _record(box, "GET", "k", us=50_000)
    box("CONFIG", "SET", "slowlog-max-len", "1")
    assert box("SLOWLOG", "LEN") == 2  # Redis trims when it adds an entry, not on CONFIG SET
    _record(box, "GET", "k", us=50_000)
    assert [e[0] for e in box("SLOWLOG", "GET")] == [5]


def test_threshold_minus_one_disables_and_zero_logs_everything(box: EngineBox) -> None:
    box("CONFIG", "SET", "slowlog-log-slower-than", "-1")
    _record(box, "GET", "k", us=10**9)
    box("CONFIG", "SET", "slowlog-log-slower-than", "0")
    _record(box, "GET", "k", us=0)
    assert [e[3] for e in box("SLOWLOG", "GET")] == [[b"GET", b"k"]]


def test_commands_redis_would_not_log(box: EngineBox) -> None:
    box("CONFIG", "SET", "slowlog-log-slower-than", "0")
    _record(box, "NOSUCH", "x", us=5)
    _record(box, "GET", us=5)  # wrong arity
    _record(box, "CONFIG", "NOSUCH", us=5)  # unknown subcommand
    _record(box, "EXEC", us=5)  # skip_slowlog
    _record(box, "config", "get", "hz", us=5)
    assert [e[3] for e in box("SLOWLOG", "GET")] == [[b"config", b"get", b"hz"]]


def test_truncation_notes_as_redis_writes_them() -> None:
    argv = [b"MSET"] + [b"%d" % i for i in range(40)]
    kept = entry_argv(argv)
    assert len(kept) == 32 and kept[-1] == b"... (10 more arguments)" and kept[30] == b"29"
    assert entry_argv([b"SET", b"k", b"x" * 200]) == (b"SET", b"k", b"x" * 128 + b"... (72 more bytes)")
    assert entry_argv([b"x" * 128]) == (b"x" * 128,)


def test_passwords_are_redacted(box: EngineBox) -> None:
    box("CONFIG", "SET", "slowlog-log-slower-than", "0")
    _record(box, "AUTH", "user", "secret", us=1)
    _record(box, "HELLO", "3", "SETNAME", "n", "AUTH", "default", "secret", us=1)
    hello, auth = box("SLOWLOG", "GET")
    assert auth[3] == [b"AUTH", b"(redacted)", b"(redacted)"]
    assert hello[3] == [b"HELLO", b"3", b"SETNAME", b"n", b"AUTH", b"(redacted)", b"(redacted)"]


def test_latency_samples_per_event_and_second(box: EngineBox) -> None:
    assert box("LATENCY", "LATEST") == []
    _record(box, "DEBUG", "SLEEP", "1", us=500_000)  # the monitor is off by default
    box("CONFIG", "SET", "latency-monitor-threshold", "100")
    _record(box, "DEBUG", "SLEEP", "1", us=250_000)
    _record(box, "DEBUG", "SLEEP", "1", us=150_000)  # the same second keeps the worst
    _record(box, "GET", "k", us=99_999)  # under the threshold
    box.now += 1000
    _record(box, "GET", "k", us=120_000)  # fast: its own event
    record_event(box.engine, "expire-cycle", 130_000, box.now)
    t0 = T0_MS // 1000
    assert box("LATENCY", "LATEST") == [[b"command", t0, 250, 250],
                                        [b"fast-command", t0 + 1, 120, 120],
                                        [b"expire-cycle", t0 + 1, 130, 130]]
    assert box("LATENCY", "HISTORY", "command") == [[t0, 250]]
    assert box("LATENCY", "HISTORY", "nosuch") == []
    assert box("LATENCY", "RESET", "command", "command", "nosuch") == 1
    assert box("LATENCY", "RESET") == 2 and box("LATENCY", "LATEST") == []


def test_history_keeps_160_seconds(box: EngineBox) -> None:
    box("CONFIG", "SET", "latency-monitor-threshold", "1")
    for i in range(170):
        _record(box, "DEBUG", "SLEEP", "1", us=(i + 1) * 1000)
        box.now += 1000
    history = box("LATENCY", "HISTORY", "command")
    assert len(history) == 160 and history[0][1] == 11 and history[-1][1] == 170


def test_timing_threshold_is_the_smaller_of_the_two() -> None:
    assert timing_threshold_us(Config()) == 10_000
    assert timing_threshold_us(Config({"slowlog-log-slower-than": "-1"})) is None
    assert timing_threshold_us(Config({"slowlog-log-slower-than": "-1",
                                       "latency-monitor-threshold": "5"})) == 5000
    assert timing_threshold_us(Config({"slowlog-log-slower-than": "50000",
                                       "latency-monitor-threshold": "20"})) == 20_000


def test_watchdog_period_is_hidden_and_kept_above_two_ticks(box: EngineBox) -> None:
    assert box("CONFIG", "GET", "*watchdog*") == {}
    assert box("CONFIG", "GET", "watchdog-period") == {b"watchdog-period": b"1000"}
    box("CONFIG", "SET", "watchdog-period", "50")
    assert box("CONFIG", "GET", "watchdog-period") == {b"watchdog-period": b"200"}
    box("CONFIG", "SET", "watchdog-period", "0")
    assert box("CONFIG", "GET", "watchdog-period") == {b"watchdog-period": b"0"}
    assert Config({"hz": "1", "watchdog-period": "300"})["watchdog-period"] == 2000


@pytest.mark.parametrize("argv", [("SLOWLOG", "GET", "-2"), ("SLOWLOG", "GET", "x"),
                                  ("SLOWLOG", "GET", "1", "2")])
def test_bad_slowlog_get(box: EngineBox, argv: tuple[str, ...]) -> None:
    assert isinstance(box(*argv), ErrorReply)
