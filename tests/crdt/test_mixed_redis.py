"""Differential: long random command sequences across every family, against the real redis-server.

Each family's own differential file goes deep into its options; this one
mixes them so the families meet on the same few keys: strings renamed,
moved between databases, expired, counted, swapped. Replies must be
identical; only time-dependent values are compared with a tolerance.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.differential import Err

KEYS = [b"a", b"b", b"c", b"{a}x"]
VALUES = [b"", b"0", b"1", b"-7", b"3.5", b"10.50", b"abc", b"9223372036854775807", b"x" * 50]
FAR_S = [b"1000", b"2000", b"5000"]  # relative TTLs nothing can reach during a test
PAST_MS = [b"1", b"1000"]  # absolute times long gone: the key is deleted at once

key = st.sampled_from(KEYS)
value = st.sampled_from(VALUES)
small_int = st.sampled_from([b"0", b"1", b"-1", b"2", b"5", b"-3", b"100", b"x", b"1.5"])


def _cmd(*parts: Any) -> st.SearchStrategy[list[bytes]]:
    return st.tuples(*[p if isinstance(p, st.SearchStrategy) else st.just(p) for p in parts]).map(list)


commands = st.one_of(
    _cmd(b"SET", key, value),
    _cmd(b"SET", key, value, st.sampled_from([b"NX", b"XX", b"GET", b"KEEPTTL"])),
    _cmd(b"SET", key, value, st.sampled_from([b"EX", b"PX"]), st.sampled_from(FAR_S + [b"0", b"-1", b"x"])),
    _cmd(b"GET", key), _cmd(b"GETDEL", key), _cmd(b"GETEX", key, b"PERSIST"),
    _cmd(b"APPEND", key, value), _cmd(b"STRLEN", key), _cmd(b"GETRANGE", key, small_int, small_int),
    _cmd(b"SETRANGE", key, small_int, value), _cmd(b"MSET", key, value, key, value),
    _cmd(b"MSETNX", key, value, key, value), _cmd(b"MGET", key, key, key),
    _cmd(st.sampled_from([b"INCR", b"DECR"]), key),
    _cmd(st.sampled_from([b"INCRBY", b"DECRBY"]), key, small_int),
    _cmd(b"INCRBYFLOAT", key, st.sampled_from([b"0.1", b"-2.5", b"1e3", b"x", b"inf"])),
    _cmd(b"SETBIT", key, small_int, st.sampled_from([b"0", b"1"])), _cmd(b"GETBIT", key, small_int),
    _cmd(b"BITCOUNT", key), _cmd(b"BITPOS", key, st.sampled_from([b"0", b"1"])),
    _cmd(st.sampled_from([b"EXPIRE", b"PEXPIRE"]), key, st.sampled_from(FAR_S)),
    _cmd(b"EXPIRE", key, st.sampled_from(FAR_S), st.sampled_from([b"NX", b"XX", b"GT", b"LT"])),
    _cmd(st.sampled_from([b"EXPIREAT", b"PEXPIREAT"]), key, st.sampled_from(PAST_MS)),
    _cmd(st.sampled_from([b"TTL", b"PTTL", b"PERSIST", b"TYPE", b"EXISTS", b"EXPIRETIME"]), key),
    _cmd(st.sampled_from([b"DEL", b"UNLINK", b"TOUCH"]), key, key),
    _cmd(st.sampled_from([b"RENAME", b"RENAMENX"]), key, key),
    _cmd(b"COPY", key, key), _cmd(b"COPY", key, key, b"REPLACE"),
    _cmd(b"COPY", key, key, b"DB", st.sampled_from([b"1", b"2"])),
    _cmd(b"MOVE", key, st.sampled_from([b"0", b"1", b"16"])),
    _cmd(b"SELECT", st.sampled_from([b"0", b"1", b"2"])),
    _cmd(b"SWAPDB", st.sampled_from([b"0", b"1"]), st.sampled_from([b"1", b"2"])),
    _cmd(b"DBSIZE"), _cmd(b"KEYS", st.sampled_from([b"*", b"a*", b"?", b"[ab]", b"{*"])),
    _cmd(b"OBJECT", b"ENCODING", key), _cmd(b"FLUSHDB"),
    _cmd(b"ECHO", value), _cmd(b"PING"),
)


def _tolerant(argv: list[bytes], ours: Any, theirs: Any) -> bool:
    """Equal, or both TTL-like integers within the few ms between the two servers."""
    if ours == theirs:
        return True
    name = argv[0].upper()
    if name in (b"TTL", b"EXPIRETIME") and isinstance(ours, int) and isinstance(theirs, int):
        return abs(ours - theirs) <= 1
    if name == b"PTTL" and isinstance(ours, int) and isinstance(theirs, int):
        return abs(ours - theirs) <= 1500
    if name == b"KEYS" and isinstance(ours, list) and isinstance(theirs, list):
        return sorted(ours) == sorted(theirs)
    if name == b"OBJECT" and (ours, theirs) == (b"int", b"embstr"):
        # Known difference (README): INCRBYFLOAT's integral results are plain bytes
        # to us, so we report them as int where Redis says embstr.
        return True
    return False


@pytest.mark.redis
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(script=st.lists(commands, min_size=5, max_size=40))
def test_random_mixed_sequences_match_redis(diff: Any, script: list[list[bytes]]) -> None:
    diff.reset()
    for argv in script:
        ours, theirs = diff.run(*argv)
        assert _tolerant(argv, ours, theirs), f"{argv!r}: gyre {ours!r} != redis {theirs!r}"
    # Same final state in every database touched.
    for db in (b"0", b"1", b"2"):
        diff.run(b"SELECT", db)
        for k in KEYS:
            ours, theirs = diff.run(b"GET", k)
            if isinstance(ours, Err) and isinstance(theirs, Err):
                continue
            assert ours == theirs, (db, k, ours, theirs)
