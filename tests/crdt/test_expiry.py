"""Unit tests of crdt/commands/expiry.py: EXPIRE family, TTL family, PERSIST, on virtual time.

Every test passes explicit `now_ms` values; no clock and no sleeps. Values are
stored with `Db.set` so these tests do not depend on the string commands.
"""

from __future__ import annotations

from typing import Any

import pytest

from crdt.args import INT64_MAX, INT64_MIN
from protocol.replies import ErrorReply
from protocol.resp import encode
from tests.helpers import EngineBox, NOT_INTEGER

T0 = 1_700_000_000_000  # a plausible wall-clock time in ms
NX_XX = b"ERR NX and XX, GT or LT options at the same time are not compatible"
GT_LT = b"ERR GT and LT options at the same time are not compatible"


class Box(EngineBox):
    """An engine, a session and a clock that only moves when told (tests/helpers.py)."""


@pytest.fixture
def box() -> Box:
    return Box()


def err(reply: Any) -> bytes:
    assert isinstance(reply, ErrorReply), reply
    return bytes(reply)


# --- EXPIRE / PEXPIRE / EXPIREAT / PEXPIREAT ------------------------------------------

@pytest.mark.parametrize("cmd,arg,expected", [
    ("EXPIRE", 10, T0 + 10_000),
    ("PEXPIRE", 1500, T0 + 1500),
    ("EXPIREAT", T0 // 1000 + 20, T0 + 20_000),
    ("PEXPIREAT", T0 + 1234, T0 + 1234),
])
def test_setters_store_absolute_ms(box: Box, cmd: str, arg: int, expected: int) -> None:
    box.put(b"k")
    assert box(cmd, "k", arg) == 1
    assert box.db.ttl_ms(b"k") == expected
    assert box("PEXPIRETIME", "k") == expected


@pytest.mark.parametrize("cmd", ["EXPIRE", "PEXPIRE", "EXPIREAT", "PEXPIREAT"])
def test_setters_missing_key_answer_zero(box: Box, cmd: str) -> None:
    assert box(cmd, "nokey", 100) == 0
    assert box.db.ttl_ms(b"nokey") is None


@pytest.mark.parametrize("cmd,arg", [
    ("EXPIRE", 0), ("EXPIRE", -5), ("PEXPIRE", 0), ("PEXPIRE", INT64_MIN),
    ("EXPIREAT", T0 // 1000), ("EXPIREAT", 0), ("PEXPIREAT", T0), ("PEXPIREAT", -1),
])
def test_time_not_in_future_deletes_and_answers_one(box: Box, cmd: str, arg: int) -> None:
    box.put(b"k")
    assert box(cmd, "k", arg) == 1
    assert box("EXISTS", "k") == 0
    assert box.db.expired == 0  # a delete, not an expiry


def test_expiry_boundary_is_inclusive(box: Box) -> None:
    box.put(b"k")
    assert box("PEXPIRE", "k", 1) == 1
    box.now += 1
    assert box("PTTL", "k") == 0  # when == now: still there
    box.now += 1
    assert box("PTTL", "k") == -2
    assert box.db.expired == 1


def test_expired_key_counts_as_missing(box: Box) -> None:
    box.put(b"k", expire_at=T0 + 10)
    box.now += 11
    assert box("EXPIRE", "k", 100) == 0
    assert box("PERSIST", "k") == 0


@pytest.mark.parametrize("cmd,arg", [
    ("EXPIRE", INT64_MAX), ("EXPIRE", INT64_MAX // 1000), ("EXPIRE", INT64_MAX // 1000 + 1),
    ("EXPIRE", INT64_MIN), ("EXPIRE", -(INT64_MAX // 1000) - 1),
    ("PEXPIRE", INT64_MAX), ("PEXPIRE", INT64_MAX - T0 + 1),
    ("EXPIREAT", INT64_MAX // 1000 + 1), ("EXPIREAT", INT64_MIN),
])
def test_overflow_is_invalid_expire_time(box: Box, cmd: str, arg: int) -> None:
    box.put(b"k")
    assert err(box(cmd, "k", arg)) == b"ERR invalid expire time in '%s' command" % cmd.lower().encode()
    assert box("EXISTS", "k") == 1
    # checked before the key: a missing key gets the same error
    assert err(box(cmd, "nokey", arg)).startswith(b"ERR invalid expire time")


@pytest.mark.parametrize("cmd,arg", [
    ("PEXPIRE", INT64_MAX - T0), ("PEXPIREAT", INT64_MAX), ("EXPIREAT", INT64_MAX // 1000),
    ("EXPIRE", -(INT64_MAX // 1000)),
])
def test_extreme_times_that_fit(box: Box, cmd: str, arg: int) -> None:
    box.put(b"k")
    assert box(cmd, "k", arg) == 1


def test_largest_ttl_reads_back(box: Box) -> None:
    box.put(b"k")
    assert box("PEXPIREAT", "k", INT64_MAX) == 1
    assert box("PEXPIRETIME", "k") == INT64_MAX
    assert box("EXPIRETIME", "k") == (INT64_MAX + 500) // 1000  # 9223372036854776, as Redis
    assert box("PTTL", "k") == INT64_MAX - T0


@pytest.mark.parametrize("raw", ["abc", "+5", " 5", "05", "1.5", "", "9223372036854775808"])
def test_non_integer_time(box: Box, raw: str) -> None:
    box.put(b"k")
    assert err(box("EXPIRE", "k", raw)) == NOT_INTEGER
    assert err(box("EXPIRE", "nokey", raw)) == NOT_INTEGER


@pytest.mark.parametrize("opts,text", [
    (["NX", "XX"], NX_XX), (["NX", "GT"], NX_XX), (["lt", "nx"], NX_XX), (["GT", "LT"], GT_LT),
    (["xx", "gt", "lt"], GT_LT), (["NX", "GT", "LT"], NX_XX),
])
def test_incompatible_options(box: Box, opts: list[str], text: bytes) -> None:
    box.put(b"k")
    assert err(box("EXPIRE", "k", 10, *opts)) == text
    # options are checked before the time
    assert err(box("EXPIRE", "k", "abc", *opts)) == text


def test_unsupported_option_wins_over_everything(box: Box) -> None:
    assert err(box("EXPIRE", "k", "abc", "NX", "XX", "FOO")) == b"ERR Unsupported option FOO"
    assert err(box("PEXPIRE", "nokey", 1, "FOO", "NX", "XX")) == b"ERR Unsupported option FOO"
    assert err(box("EXPIRE", "k", 1, "")) == b"ERR Unsupported option "
    # Cut at NUL here; CR/LF become spaces (trailing ones go) in the encoder, as in Redis.
    assert encode(box("EXPIRE", "k", 1, b"a\r\nb\0c"), False) == b"-ERR Unsupported option a  b\r\n"
    assert encode(box("EXPIRE", "k", 1, b"a\r\n"), False) == b"-ERR Unsupported option a\r\n"


def test_nx_and_xx(box: Box) -> None:
    box.put(b"k")
    assert box("EXPIRE", "k", 100, "XX") == 0
    assert box.db.ttl_ms(b"k") is None
    assert box("EXPIRE", "k", 100, "NX") == 1
    assert box("EXPIRE", "k", 200, "nx") == 0
    assert box("TTL", "k") == 100
    assert box("EXPIRE", "k", 200, "xx") == 1
    assert box("TTL", "k") == 200


def test_gt_and_lt(box: Box) -> None:
    box.put(b"k")
    assert box("EXPIRE", "k", 100, "GT") == 0  # no TTL = infinite: nothing is greater
    assert box("EXPIRE", "k", 100, "LT") == 1  # anything is less than infinite
    assert box("EXPIRE", "k", 100, "GT") == 0  # equal is not greater
    assert box("EXPIRE", "k", 100, "LT") == 0  # equal is not less
    assert box("EXPIRE", "k", 200, "GT", "XX") == 1
    assert box("EXPIRE", "k", 50, "GT") == 0
    assert box("EXPIRE", "k", 50, "LT", "lt") == 1
    assert box("TTL", "k") == 50
    assert box("EXPIRE", "k", -1, "GT") == 0
    assert box("EXISTS", "k") == 1
    assert box("EXPIRE", "k", -1, "LT") == 1
    assert box("EXISTS", "k") == 0


def test_repeated_option_is_fine(box: Box) -> None:
    box.put(b"k")
    assert box("EXPIRE", "k", 10, "GT", "GT") == 0
    assert box("EXPIRE", "k", 10, "NX", "nx") == 1


def test_past_time_with_condition_false_keeps_key(box: Box) -> None:
    box.put(b"k")
    assert box("EXPIRE", "k", 0, "XX") == 0
    assert box("EXISTS", "k") == 1
    assert box("EXPIRE", "k", 0, "NX") == 1
    assert box("EXISTS", "k") == 0


def test_expire_signals_watchers_and_replication(box: Box) -> None:
    box.put(b"k")
    reply, delta = box.engine.execute_with_delta([b"EXPIRE", b"k", b"10"], box.session, box.now)
    assert reply == 1 and delta == {0: [b"k"]}
    reply, delta = box.engine.execute_with_delta([b"EXPIRE", b"k", b"10", b"NX"], box.session, box.now)
    assert reply == 0 and delta == {}
    reply, delta = box.engine.execute_with_delta([b"PERSIST", b"k"], box.session, box.now)
    assert reply == 1 and delta == {0: [b"k"]}
    reply, delta = box.engine.execute_with_delta([b"EXPIRE", b"k", b"0"], box.session, box.now)
    assert reply == 1 and delta == {0: [b"k"]}


def test_expire_refreshes_access_time(box: Box) -> None:
    box.put(b"k")
    box.now += 5000
    assert box("OBJECT", "IDLETIME", "k") == 5
    box("EXPIRE", "k", 100)
    assert box("OBJECT", "IDLETIME", "k") == 0


def test_active_expiry_after_expire(box: Box) -> None:
    box.put(b"k")
    box.put(b"other")
    box("PEXPIRE", "k", 10)
    box("PEXPIRE", "other", 10)
    box("PERSIST", "other")
    assert box.engine.active_expire(T0 + 11) == 1
    assert box.db.expired == 1
    assert box("DBSIZE") == 1


# --- TTL / PTTL / EXPIRETIME / PEXPIRETIME ----------------------------------------------

@pytest.mark.parametrize("cmd", ["TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME"])
def test_readers_missing_and_persistent(box: Box, cmd: str) -> None:
    assert box(cmd, "nokey") == -2
    box.put(b"k")
    assert box(cmd, "k") == -1


@pytest.mark.parametrize("left_ms,ttl", [
    (1, 0), (499, 0), (500, 1), (1499, 1), (1500, 2), (10_000, 10),
])
def test_ttl_rounds_to_nearest_second(box: Box, left_ms: int, ttl: int) -> None:
    box.put(b"k", expire_at=T0 + left_ms)
    assert box("TTL", "k") == ttl
    assert box("PTTL", "k") == left_ms


def test_expiretime_rounds(box: Box) -> None:
    box.put(b"k", expire_at=T0 + 1499)
    assert box("EXPIRETIME", "k") == T0 // 1000 + 1
    box.put(b"k", expire_at=T0 + 1500)
    assert box("EXPIRETIME", "k") == T0 // 1000 + 2


def test_ttl_counts_keyspace_hits_without_touching(box: Box) -> None:
    box.put(b"k", expire_at=T0 + 5000)
    box.now += 3000
    box("TTL", "k")
    box("PTTL", "nokey")
    assert (box.db.hits, box.db.misses) == (1, 1)
    assert box("OBJECT", "IDLETIME", "k") == 3


def test_ttl_of_expired_key_deletes_it(box: Box) -> None:
    box.put(b"k", expire_at=T0 + 10)
    box.now += 11
    assert box("TTL", "k") == -2
    assert box("DBSIZE") == 0


@pytest.mark.parametrize("cmd", ["TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME", "PERSIST"])
def test_readers_arity(box: Box, cmd: str) -> None:
    assert err(box(cmd)) == b"ERR wrong number of arguments for '%s' command" % cmd.lower().encode()
    assert err(box(cmd, "a", "b")).startswith(b"ERR wrong number of arguments")


@pytest.mark.parametrize("cmd", ["EXPIRE", "PEXPIRE", "EXPIREAT", "PEXPIREAT"])
def test_setters_arity(box: Box, cmd: str) -> None:
    assert err(box(cmd, "k")) == b"ERR wrong number of arguments for '%s' command" % cmd.lower().encode()


# --- PERSIST ------------------------------------------------------------------------

def test_persist(box: Box) -> None:
    assert box("PERSIST", "nokey") == 0
    box.put(b"k")
    assert box("PERSIST", "k") == 0
    box("EXPIRE", "k", 5)
    assert box("PERSIST", "k") == 1
    assert box("TTL", "k") == -1
    box.now += 10_000
    assert box("EXISTS", "k") == 1  # the stale heap entry does nothing
    assert box.engine.active_expire(box.now) == 0
