"""Blocking pops in the engine: parking, first-come service, timeouts, unblocking, cleanup."""

from __future__ import annotations

import pytest

from crdt.waiters import BLOCKED
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
    # Near 2**63 ms Redis's long double decides: these still fit (and never end)...
    waiter = box.engine.open_session(box.now)
    assert box("BLPOP", "q", "9223372036854775.807", session=waiter) is BLOCKED
    assert box.engine.blocking.next_deadline_ms() == box.now + 2**63 - 1
    # ...and ten times more does not.
    assert box.err("BLPOP", "q", "92233720368547758") == b"ERR timeout is negative"


# -- the key is looked at when it is served (Redis 7.0's handleClientsBlockedOnKeys) ----

def test_exec_push_del_set_wakes_nobody(box: EngineBox) -> None:
    waiter = box.engine.open_session(box.now)
    assert box("BLPOP", "q", "0", session=waiter) is BLOCKED
    for argv in (("MULTI",), ("LPUSH", "q", "a"), ("DEL", "q"), ("SET", "q", "x")):
        box(*argv)
    assert box("EXEC") == [1, 1, b"OK"]
    assert box.engine.blocking.serve(box.now) == []
    assert waiter.blocked is not None
    assert box("GET", "q") == b"x"


def test_a_type_change_before_serving_leaves_the_waiter_parked(box: EngineBox) -> None:
    lister, zsetter = box.engine.open_session(box.now), box.engine.open_session(box.now)
    box("BLPOP", "q", "0", session=lister)
    box("BZPOPMIN", "q", "0", session=zsetter)
    box("RPUSH", "q", "a")  # ready, but replaced before it is served
    box("DEL", "q")
    box("ZADD", "q", "1", "m")
    assert box.engine.blocking.serve(box.now) == [(zsetter, [b"q", b"m", 1.0])]
    assert lister.blocked is not None
    box("SET", "q", "s")  # created as a string: nobody's type
    assert box.engine.blocking.serve(box.now) == []
    assert lister.blocked is not None and box("GET", "q") == b"s"


def test_waiters_of_the_other_type_are_skipped_not_answered(box: EngineBox) -> None:
    zsetter, first, second = (box.engine.open_session(box.now) for _ in range(3))
    box("BZPOPMAX", "q", "0", session=zsetter)
    box("BLPOP", "q", "0", session=first)
    box("BRPOP", "q", "0", session=second)
    box("RPUSH", "q", "a", "b", "c")
    assert box.engine.blocking.serve(box.now) == [(first, [b"q", b"a"]), (second, [b"q", b"c"])]
    assert zsetter.blocked is not None
    assert box("LRANGE", "q", "0", "-1") == [b"b"]


def test_only_creating_the_key_makes_it_ready(box: EngineBox) -> None:
    waiter = box.engine.open_session(box.now)
    box("BLPOP", "q", "0", session=waiter)
    box("SET", "q", "s")  # created, as a string
    assert box.engine.blocking.serve(box.now) == []
    box("RPUSH", "src", "2", "1")
    assert box("SORT", "src", "STORE", "q") == 2  # an overwrite: Redis's dbOverwrite signals nothing
    box("LPUSH", "q", "0")  # a push to an existing list signals nothing either
    assert not box.engine.blocking.ready
    assert box.engine.blocking.serve(box.now) == []
    assert waiter.blocked is not None


def test_only_a_type_someone_blocks_on_makes_a_key_ready(box: EngineBox) -> None:
    waiter = box.engine.open_session(box.now)
    box("BLPOP", "k", "j", "0", session=waiter)
    box("MULTI")
    box("SET", "k", "s")  # a string: never ready
    box("DEL", "k")
    box("ZADD", "k", "1", "m")  # a zset while only lists are waited for: not ready either
    box("RPUSH", "j", "x")
    box("DEL", "k")
    box("RPUSH", "k", "y")
    box("EXEC")
    assert [key for _, key in box.engine.blocking.ready] == [b"j", b"k"]
    assert box.engine.blocking.serve(box.now) == [(waiter, [b"j", b"x"])]


def test_a_key_is_ready_once_until_served(box: EngineBox) -> None:
    box.engine.open_session(box.now)
    waiter = box.engine.open_session(box.now)
    box("BLPOP", "q", "0", session=waiter)
    box("MULTI")
    for argv in (("RPUSH", "q", "a"), ("LPOP", "q"), ("RPUSH", "q", "b")):
        box(*argv)
    box("EXEC")
    assert [key for _, key in box.engine.blocking.ready] == [b"q"]
    assert box.engine.blocking.serve(box.now) == [(waiter, [b"q", b"b"])]


def test_a_waiter_is_served_from_the_key_made_ready(box: EngineBox) -> None:
    one, two, three = (box.engine.open_session(box.now) for _ in range(3))
    box("BLPOP", "a", "b", "0", session=one)
    box("BLPOP", "b", "c", "0", session=two)
    box("BLPOP", "c", "a", "0", session=three)
    box("MULTI")
    box("RPUSH", "c", "c1")
    box("RPUSH", "b", "b1")
    box("RPUSH", "a", "a1")
    box("EXEC")
    # c is ready first: its first waiter is two; then b (one), then a (three).
    assert box.engine.blocking.serve(box.now) == [
        (two, [b"c", b"c1"]), (one, [b"b", b"b1"]), (three, [b"a", b"a1"])]


def test_the_writer_gets_attention_only_when_it_makes_a_key_ready(box: EngineBox) -> None:
    box("RPUSH", "nobody-waits", "x")
    assert box.session.attention is False
    waiter = box.engine.open_session(box.now)
    box("BLPOP", "q", "0", session=waiter)
    box("RPUSH", "q", "x")
    assert box.session.attention is True  # the driver serves q before the next command


def test_swapdb_rename_copy_and_move_wake(box: EngineBox) -> None:
    in_db1, renamed, copied, moved = (box.engine.open_session(box.now) for _ in range(4))
    box("SELECT", "1", session=in_db1)
    box("BLPOP", "q", "0", session=in_db1)
    box("RPUSH", "q", "swapped")  # db 0: nobody waits here
    box("SWAPDB", "0", "1")
    assert box.engine.blocking.serve(box.now) == [(in_db1, [b"q", b"swapped"])]
    box("BLPOP", "r", "0", session=renamed)
    box("SET", "r", "s")
    box("RPUSH", "src", "renamed")
    assert box("RENAME", "src", "r") == b"OK"  # dst deleted, then added
    box("BZPOPMIN", "c", "0", session=copied)
    box("ZADD", "zsrc", "1", "copied")
    box("COPY", "zsrc", "c")
    box("SELECT", "1", session=moved)
    box("BLPOP", "m", "0", session=moved)
    box("RPUSH", "m", "moved")
    box("MOVE", "m", "1")
    assert box.engine.blocking.serve(box.now) == [
        (renamed, [b"r", b"renamed"]), (copied, [b"c", b"copied", 1.0]), (moved, [b"m", b"moved"])]


def test_an_expired_store_destination_is_created_again(box: EngineBox) -> None:
    waiter = box.engine.open_session(box.now)
    box("BZPOPMIN", "z", "0", session=waiter)
    box("SET", "z", "s", "PX", "10")
    assert box.engine.blocking.serve(box.now) == []  # the driver serves after each command
    box.now += 11
    box("ZADD", "src", "5", "m")
    assert box("ZUNIONSTORE", "z", "1", "src") == 1
    assert box.engine.blocking.serve(box.now) == [(waiter, [b"z", b"m", 5.0])]


def test_blmove_answers_null_bulk_in_exec_and_null_array_on_timeout(box: EngineBox) -> None:
    box("MULTI")
    box("BLMOVE", "q", "d", "LEFT", "LEFT", "0")
    box("BRPOPLPUSH", "q", "d", "0")
    assert box("EXEC") == [None, None]
    waiter = box.engine.open_session(box.now)
    assert box("BLMOVE", "q", "d", "LEFT", "LEFT", "0.01", session=waiter) is BLOCKED
    assert box.engine.blocking.expire(box.now + 10) == [(waiter, NULL_ARRAY)]


def test_blmove_to_a_destination_of_another_type_answers_wrongtype_when_served(box: EngineBox) -> None:
    mover, taker = box.engine.open_session(box.now), box.engine.open_session(box.now)
    box("BLMOVE", "q", "d", "LEFT", "LEFT", "0", session=mover)
    box("BLPOP", "q", "0", session=taker)
    box("SET", "d", "s")
    box("RPUSH", "q", "a")
    errors_before = box.engine.stats.error_replies
    [(who, reply), (next_one, popped)] = box.engine.blocking.serve(box.now)
    assert who is mover and bytes(reply).startswith(b"WRONGTYPE")
    assert (next_one, popped) == (taker, [b"q", b"a"])
    # Counted as Redis counts it: an error reply, and a failed BLMOVE.
    assert box.engine.stats.error_replies == errors_before + 1
    assert box.engine.failed_calls[box.engine.table.by_name["blmove"].index] == 1


def test_client_unblock_with_too_many_arguments(box: EngineBox) -> None:
    assert box.err("CLIENT", "unblock", "1", "TIMEOUT", "x") == (
        b"ERR unknown subcommand or wrong number of arguments for 'unblock'. Try CLIENT HELP.")
