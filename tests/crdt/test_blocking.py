"""Blocking pops in the engine: parking, first-come service, timeouts, unblocking, cleanup."""

from __future__ import annotations

import pytest

from crdt.blocking import BLOCKED
from protocol.replies import NULL_ARRAY, ErrorReply
from tests.helpers import EngineBox


@pytest.fixture
def box() -> EngineBox:
    return EngineBox()


def test_pop_answers_at_once_when_there_is_data(box: EngineBox) -> None:
    box("RPUSH", "q", "a")
    assert box("BLPOP", "none", "q", "0") == [b"q", b"a"]
    assert box.session.blocked is None


def test_waiters_are_served_first_come_first_served(box: EngineBox) -> None:
    first, second = box.engine.open_session(box.now), box.engine.open_session(box.now)
    assert box("BRPOP", "q", "0", session=first) is BLOCKED
    assert box("BRPOP", "q", "0", session=second) is BLOCKED
    box("LPUSH", "q", "x", "y")  # the list is y, x
    served = box.engine.blocking.serve(box.now)
    assert served == [(first, [b"q", b"x"]), (second, [b"q", b"y"])]
    assert first.blocked is None and second.blocked is None
    assert box("EXISTS", "q") == 0


def test_timeouts_answer_null_at_their_deadline(box: EngineBox) -> None:
    waiter = box.engine.open_session(box.now)
    assert box("BLPOP", "q", "0.25", session=waiter) is BLOCKED
    assert box.engine.blocking.next_deadline_ms() == box.now + 250
    assert box.engine.blocking.expire(box.now + 249) == []
    assert box.engine.blocking.expire(box.now + 250) == [(waiter, NULL_ARRAY)]
    assert box.engine.blocking.next_deadline_ms() is None


def test_blmove_chains_wake_up_waiters_of_the_destination(box: EngineBox) -> None:
    mover, taker = box.engine.open_session(box.now), box.engine.open_session(box.now)
    assert box("BLMOVE", "src", "dst", "LEFT", "RIGHT", "0", session=mover) is BLOCKED
    assert box("BLPOP", "dst", "0", session=taker) is BLOCKED
    box("RPUSH", "src", "m")
    served = box.engine.blocking.serve(box.now)
    assert served == [(mover, b"m"), (taker, [b"dst", b"m"])]


def test_inside_exec_nothing_blocks(box: EngineBox) -> None:
    box("MULTI")
    box("BLPOP", "q", "0")
    box("BZPOPMIN", "z", "0")
    assert box("EXEC") == [NULL_ARRAY, NULL_ARRAY]


def test_a_closed_client_leaves_no_waiter(box: EngineBox) -> None:
    gone = box.engine.open_session(box.now)
    box("BLPOP", "q", "0", session=gone)
    box.engine.close_session(gone)
    box("RPUSH", "q", "kept")
    assert box.engine.blocking.serve(box.now) == []
    assert box("LRANGE", "q", "0", "-1") == [b"kept"]
    assert not box.db.blocked_keys


def test_client_unblock_with_timeout_or_error(box: EngineBox) -> None:
    waiter = box.engine.open_session(box.now)
    box("BZPOPMAX", "z", "0", session=waiter)
    assert box("CLIENT", "UNBLOCK", str(waiter.id)) == 1
    assert box.engine.blocking.serve(box.now) == [(waiter, NULL_ARRAY)]
    box("BLPOP", "q", "0", session=waiter)
    assert box("CLIENT", "UNBLOCK", str(waiter.id), "ERROR") == 1
    [(who, reply)] = box.engine.blocking.serve(box.now)
    assert who is waiter and isinstance(reply, ErrorReply) and reply.startswith(b"UNBLOCKED")
    assert box("CLIENT", "UNBLOCK", str(waiter.id)) == 0
    assert box.err("CLIENT", "UNBLOCK", str(waiter.id), "LATER").startswith(b"ERR CLIENT UNBLOCK")


def test_timeout_errors(box: EngineBox) -> None:
    assert box.err("BLPOP", "q", "-1") == b"ERR timeout is negative"
    assert box.err("BLPOP", "q", "soon") == b"ERR timeout is not a float or out of range"
    # Milliseconds past int64 wrap negative in Redis 7.0, so it calls them negative.
    assert box.err("BLPOP", "q", "inf") == b"ERR timeout is negative"
    assert box.err("BLPOP", "q", "1e300") == b"ERR timeout is negative"
