"""MULTI/EXEC/WATCH in the engine, on virtual time (expiry rules need a clock we control)."""

from __future__ import annotations

import pytest

from protocol.replies import NULL_ARRAY
from tests.helpers import EngineBox


@pytest.fixture
def box() -> EngineBox:
    return EngineBox()


def test_queue_then_exec_runs_everything_in_order(box: EngineBox) -> None:
    assert box("MULTI") == b"OK"
    assert box("SET", "k", "1") == b"QUEUED"
    assert box("INCR", "k") == b"QUEUED"
    assert box("LPUSH", "k", "x") == b"QUEUED"  # fails at run time, takes its slot
    replies = box("EXEC")
    assert replies[:2] == [b"OK", 2] and replies[2].startswith(b"WRONGTYPE")


def test_a_refused_command_aborts_the_exec(box: EngineBox) -> None:
    box("MULTI")
    assert box.err("GET").startswith(b"ERR wrong number of arguments")
    assert box("SET", "k", "1") == b"QUEUED"
    assert box.err("EXEC") == b"EXECABORT Transaction discarded because of previous errors."
    assert box("GET", "k") is None


def test_watch_then_a_write_by_another_client_fails_the_exec(box: EngineBox) -> None:
    other = box.engine.open_session(box.now)
    box("WATCH", "k")
    box("SET", "k", "theirs", session=other)
    box("MULTI")
    box("SET", "k", "mine")
    assert box("EXEC") is NULL_ARRAY
    assert box("GET", "k") == b"theirs"


@pytest.mark.parametrize("first", ["absent", "text", "counter"])
def test_an_incr_by_another_client_fails_the_exec(box: EngineBox, first: str) -> None:
    if first == "text":
        box("SET", "n", "5")
    elif first == "counter":
        box("INCRBY", "n", 5)
    other = box.engine.open_session(box.now)
    box("WATCH", "n")
    box("INCR", "n", session=other)
    box("MULTI")
    box("SET", "n", "mine")
    assert box("EXEC") is NULL_ARRAY
    assert box("GET", "n") == (b"1" if first == "absent" else b"6")


def test_a_watched_key_that_expires_before_exec_fails_it(box: EngineBox) -> None:
    box("SET", "k", "v", "PX", "100")
    box("WATCH", "k")
    box.now += 200  # expired, not yet deleted by anyone
    box("MULTI")
    box("SET", "other", "1")
    assert box("EXEC") is NULL_ARRAY


def test_a_key_already_expired_when_watched_does_not_fail_exec_when_deleted(box: EngineBox) -> None:
    box("SET", "k", "v", "PX", "100")
    box.now += 200
    box("WATCH", "k")  # logically gone already
    assert box("GET", "k") is None  # lazy expiry deletes it now
    box("MULTI")
    box("SET", "other", "1")
    assert box("EXEC") == [b"OK"]


def test_exec_unwatches_and_discard_forgets(box: EngineBox) -> None:
    box("WATCH", "k")
    box("MULTI")
    assert box("DISCARD") == b"OK"
    assert not box.session.watched and not box.db.watchers
    assert box.err("EXEC") == b"ERR EXEC without MULTI"
    assert box.err("DISCARD") == b"ERR DISCARD without MULTI"


def test_watch_inside_multi_and_nested_multi_are_refused(box: EngineBox) -> None:
    box("MULTI")
    assert box.err("WATCH", "k") == b"ERR WATCH inside MULTI is not allowed"
    assert box.err("MULTI") == b"ERR MULTI calls can not be nested"
    assert box("EXEC") == []


def test_disconnect_forgets_watches(box: EngineBox) -> None:
    gone = box.engine.open_session(box.now)
    box("WATCH", "k", session=gone)
    box.engine.close_session(gone)
    assert not box.db.watchers
