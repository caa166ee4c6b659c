"""MULTI/EXEC/WATCH and blocking pops: our engine against the real redis-server.

Single-connection sequences come from hypothesis; the cases that need a
second client (a write that dirties a WATCH, a push that serves a blocked
pop) are scripted, with the second client on each side.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crdt.waiters import BLOCKED
from tests.differential import Differential, RealRedis

KEYS = [b"a", b"b", b"list"]
BLOCK_WAIT_S = 10.0
key = st.sampled_from(KEYS)


def _cmd(*parts: Any) -> st.SearchStrategy[list[bytes]]:
    return st.tuples(*[p if isinstance(p, st.SearchStrategy) else st.just(p) for p in parts]).map(list)


commands = st.one_of(
    _cmd(b"MULTI"), _cmd(b"EXEC"), _cmd(b"DISCARD"), _cmd(b"WATCH", key), _cmd(b"WATCH", key, key),
    _cmd(b"UNWATCH"), _cmd(b"SET", key, st.sampled_from([b"1", b"x"])), _cmd(b"GET", key),
    _cmd(b"INCR", key), _cmd(b"LPUSH", key, b"v"), _cmd(b"LPOP", key), _cmd(b"DEL", key),
    _cmd(b"GET"), _cmd(b"NOSUCHCOMMAND", key), _cmd(b"BLPOP", key, st.sampled_from([b"-1", b"x"])),
    _cmd(b"EXPIRE", key, b"100"), _cmd(b"SELECT", st.sampled_from([b"0", b"1"])),
)


@pytest.mark.redis
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(script=st.lists(commands, min_size=3, max_size=30))
def test_random_transaction_sequences_match_redis(diff: Differential, script: list[list[bytes]]) -> None:
    diff.reset()
    for side in (diff.ours, diff.real):  # a clean connection state on both sides
        side.call(b"DISCARD")
        side.call(b"UNWATCH")
    for argv in script:
        ours, theirs = diff.run(*argv)
        assert ours == theirs, f"{argv!r}: gyre {ours!r} != redis {theirs!r}"
    for side in (diff.ours, diff.real):
        side.call(b"DISCARD")


class TwoClients:
    """Two connections on each side: `first` runs the transaction, `second` interferes."""

    def __init__(self, diff: Differential, port: int) -> None:
        self.diff = diff
        engine = diff.ours.engine
        self.ours_second = engine.open_session(diff.ours.clock())
        self.real_second = RealRedis(port)

    def first(self, *argv: bytes) -> Any:
        return self.diff.check(*argv)

    def second(self, *argv: bytes) -> Any:
        ours = self.diff.ours.engine.execute(list(argv), self.ours_second, self.diff.ours.clock())
        theirs = self.real_second.call(*argv)
        return ours, theirs


@pytest.mark.redis
def test_watch_is_dirtied_by_another_client(diff: Differential, real_redis_port: int) -> None:
    two = TwoClients(diff, real_redis_port)
    two.first(b"SET", b"a", b"1")
    two.first(b"WATCH", b"a")
    two.second(b"SET", b"a", b"2")
    two.first(b"MULTI")
    two.first(b"INCR", b"a")
    two.first(b"EXEC")  # null on both
    two.first(b"GET", b"a")
    # Untouched watch: the transaction runs.
    two.first(b"WATCH", b"a")
    two.second(b"GET", b"a")
    two.first(b"MULTI")
    two.first(b"INCR", b"a")
    assert two.first(b"EXEC") == [3]
    two.real_second.close()


def wait_until_blocked(client: RealRedis, count: int) -> None:
    """Poll INFO clients until redis-server reports `count` blocked clients (10 s at most)."""
    deadline = time.monotonic() + BLOCK_WAIT_S
    while True:
        info = client.call(b"INFO", b"clients")
        if f"blocked_clients:{count}\r\n".encode() in info:
            return
        assert time.monotonic() < deadline, f"redis-server never reported {count} blocked client(s): {info!r}"


@pytest.mark.redis
def test_blocking_pop_is_served_by_a_push_from_another_client(diff: Differential,
                                                               real_redis_port: int) -> None:
    two = TwoClients(diff, real_redis_port)
    engine = diff.ours.engine
    # The first client blocks on an empty list, on both sides.
    assert engine.execute([b"BLPOP", b"list", b"0"], diff.ours.session, diff.ours.clock()) is BLOCKED
    diff.real.send(b"BLPOP", b"list", b"0")
    wait_until_blocked(two.real_second, 1)
    # The second client pushes two elements; the blocked pop takes the first of them.
    ours_push, real_push = two.second(b"RPUSH", b"list", b"x", b"y")
    assert ours_push == real_push == 2  # the length before the waiter is served
    [(served, reply)] = engine.blocking.serve(diff.ours.clock())
    assert served is diff.ours.session
    assert diff.ours.on_the_wire(reply) == diff.real.receive() == [b"list", b"x"]
    wait_until_blocked(two.real_second, 0)
    assert two.second(b"LRANGE", b"list", b"0", b"-1") == ([b"y"], [b"y"])
    two.real_second.close()


@pytest.mark.redis
def test_blocking_pop_that_need_not_block_answers_the_same(diff: Differential) -> None:
    # Data already there: no blocking at all.
    diff.check(b"RPUSH", b"list", b"x")
    diff.check(b"BLPOP", b"list", b"0")
    # Inside MULTI a blocking pop answers at once, as on a timeout.
    diff.check(b"MULTI")
    diff.check(b"BLPOP", b"list", b"0")
    diff.check(b"EXEC")
    # Errors come before blocking.
    diff.check(b"SET", b"a", b"1")
    diff.check(b"BLPOP", b"a", b"0")
    diff.check(b"BLPOP", b"list", b"-1")


@pytest.mark.redis
def test_commands_refused_inside_multi_doom_the_exec(diff: Differential) -> None:
    diff.check(b"MULTI")
    diff.check(b"SAVE")  # no_multi: refused when queued
    diff.check(b"SHUTDOWN")  # no_multi: refused, never run
    diff.check(b"WATCH", b"a")
    diff.check(b"MULTI")
    diff.check(b"SET", b"a", b"1")
    diff.check(b"EXEC")  # EXECABORT on both
    diff.check(b"GET", b"a")
