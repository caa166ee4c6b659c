"""Unit tests of crdt/monitor_feed.py and crdt/commands/monitor.py: MONITOR's lines, what is fed and what a monitor may do."""

from __future__ import annotations

from typing import Any

import pytest

from crdt.monitor_feed import quote
from protocol.replies import SimpleString
from tests.helpers import EngineBox

T0 = 1_700_000_000_123
REPLICA_KEYSPACE = b"ERR Replica can't interact with the keyspace"


class Pair(EngineBox):
    """A client session (the box's own) and a monitor session on one engine."""

    def __init__(self) -> None:
        super().__init__(now=T0)
        self.session.addr = "127.0.0.1:4000"
        self.mon = self.engine.open_session(T0, addr="127.0.0.1:5000")
        assert self("MONITOR", session=self.mon) == b"OK"

    def lines(self) -> list[bytes]:
        """What the monitor received since last asked (and no one else got anything)."""
        pending = self.engine.pubsub.take_pending()
        assert set(pending) <= {self.mon}
        out = list(self.mon.outbox)
        self.mon.outbox.clear()
        assert all(type(x) is SimpleString for x in out)
        return [bytes(x) for x in out]


@pytest.fixture
def pair() -> Pair:
    return Pair()


def test_line_format_and_database_after_the_command(pair: Pair) -> None:
    pair("SET", "k", "v")
    pair("SELECT", 2)
    pair("GET", "k")
    assert pair.lines() == [
        b'1700000000.123000 [0 127.0.0.1:4000] "SET" "k" "v"',
        b'1700000000.123000 [2 127.0.0.1:4000] "SELECT" "2"',
        b'1700000000.123000 [2 127.0.0.1:4000] "GET" "k"',
    ]


@pytest.mark.parametrize(("arg", "text"), [
    (b"plain text", b'"plain text"'),
    (b"", b'""'),
    (b'q"b\\', b'"q\\"b\\\\"'),
    (b"\n\r\t\a\b", b'"\\n\\r\\t\\a\\b"'),
    (b"\x00\x01\x7f\x80\xff~ ", b'"\\x00\\x01\\x7f\\x80\\xff~ "'),
])
def test_arguments_are_quoted_as_sdscatrepr_does(arg: bytes, text: bytes) -> None:
    assert quote(arg) == text


def test_what_is_not_fed(pair: Pair) -> None:
    pair("CONFIG", "GET", "port")  # admin
    pair("CLIENT", "LIST")  # admin subcommand
    pair("DEBUG", "SLEEP", 0)
    pair("NOSUCH", "x")  # refused before it runs
    pair("GET")  # wrong arity
    assert pair.lines() == []
    pair("CLIENT", "SETNAME", "x")  # not admin
    assert pair.lines() == [b'1700000000.123000 [0 127.0.0.1:4000] "CLIENT" "SETNAME" "x"']


def test_transactions_feed_queued_commands_when_exec_runs_them(pair: Pair) -> None:
    pair("MULTI")
    pair("INCR", "c")
    pair("SET", "k", "v")
    assert [x.split(b"] ")[1] for x in pair.lines()] == [b'"MULTI"']
    pair("EXEC")
    assert [x.split(b"] ")[1] for x in pair.lines()] == [b'"INCR" "c"', b'"SET" "k" "v"', b'"EXEC"']
    pair("MULTI")
    pair("GET")  # refused: dooms the transaction, not fed
    pair("EXEC")
    assert [x.split(b"] ")[1] for x in pair.lines()] == [b'"MULTI"', b'"EXEC"']


@pytest.mark.parametrize(("argv", "shown"), [
    (("AUTH", "secret"), b'"AUTH" "(redacted)"'),
    (("AUTH", "user", "secret"), b'"AUTH" "(redacted)" "(redacted)"'),
    (("AUTH", "a", "b", "c"), b'"AUTH" "a" "b" "c"'),  # a syntax error comes before redaction
    (("HELLO", "2", "AUTH", "u", "p"), b'"HELLO" "2" "AUTH" "(redacted)" "(redacted)"'),
    (("HELLO", "4", "AUTH", "u", "p"), b'"HELLO" "4" "AUTH" "u" "p"'),  # NOPROTO first
    (("HELLO", "2", "FOO", "AUTH", "u", "p"), b'"HELLO" "2" "FOO" "AUTH" "u" "p"'),
    (("HELLO", "2", "SETNAME", "n", "AUTH", "u", "p"),
     b'"HELLO" "2" "SETNAME" "n" "AUTH" "(redacted)" "(redacted)"'),
])
def test_secrets_are_redacted_as_redis_does(pair: Pair, argv: tuple[str, ...], shown: bytes) -> None:
    pair(*argv)
    pair("PING")  # a redaction never outlives its command
    assert [x.split(b"] ")[1] for x in pair.lines()] == [shown, b'"PING"']


def test_redaction_marks_do_not_outlive_commands_run_without_monitors() -> None:
    box = EngineBox(now=T0)
    box("AUTH", "a", "b")
    mon = box.engine.open_session(T0)
    box("MONITOR", session=mon)
    box("ECHO", "x", "y")  # refused (arity): not fed
    box("SET", "x", "y")
    assert [bytes(x).split(b"] ")[1] for x in mon.outbox] == [b'"SET" "x" "y"']


def test_a_monitor_may_not_touch_the_keyspace(pair: Pair) -> None:
    mon = pair.mon
    for argv in (("GET", "k"), ("SET", "k", "v"), ("PUBLISH", "c", "m"), ("BITFIELD_RO", "k")):
        assert pair.err(*argv, session=mon) == REPLICA_KEYSPACE
    assert pair("PING", session=mon) == b"PONG"
    assert pair("MULTI", session=mon) == b"OK"
    assert pair.err("GET", "k", session=mon) == REPLICA_KEYSPACE
    assert pair.err("EXEC", session=mon).startswith(b"EXECABORT")
    assert [x.split(b"] ")[1] for x in pair.lines()] == [b'"PING"', b'"MULTI"', b'"EXEC"']


def test_monitor_again_inside_exec_and_flags(pair: Pair) -> None:
    mon = pair.mon
    mon.attention = False
    from crdt.channels import NO_REPLY

    assert pair("MONITOR", session=mon) is NO_REPLY and mon.attention
    pair("MULTI")
    pair("MONITOR")
    assert pair("EXEC") == [b"ERR MONITOR isn't allowed for DENY BLOCKING client"]
    assert not pair.session.monitor
    assert b" flags=O " in pair("CLIENT", "LIST", "ID", mon.id)


def test_reset_and_disconnect_end_monitoring(pair: Pair) -> None:
    other = pair.engine.open_session(T0)
    pair("MONITOR", session=other)
    assert list(pair.engine.monitors) == [pair.mon, other]
    pair("RESET", session=pair.mon)
    assert not pair.mon.monitor
    assert b" flags=N " in pair("CLIENT", "LIST", "ID", pair.mon.id)
    pair.engine.close_session(other)
    assert not pair.engine.monitors
    pair("SET", "k", "v")
    assert pair.engine.pubsub.take_pending() == []


def test_commands_take_the_usual_path_again_once_monitors_leave(pair: Pair) -> None:
    replies: list[Any] = []
    stopped = pair.engine.execute_many([[b"SET", b"k", b"v"]], pair.session, T0, replies)
    assert stopped  # the line is waiting for the driver
    pair.engine.close_session(pair.mon)
    pair.engine.pubsub.take_pending()
    replies.clear()
    assert not pair.engine.execute_many([[b"GET", b"k"]], pair.session, T0, replies)
    assert replies == [b"v"]
