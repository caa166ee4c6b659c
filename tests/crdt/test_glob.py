"""Tests of crdt/glob.py against Redis's stringmatchlen.

Three layers: the quirks seen on the real server written out as cases; a
hypothesis comparison with `reference_match`, a plain recursive matcher
written from the rules in crdt/glob.py's docstring (slow, obviously
faithful, no regex); and a differential run of random patterns through the
real server's KEYS (nocase=False) and CONFIG GET (nocase=True).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crdt.glob import glob_match, glob_matcher, tokenize

# --- a slow, literal reference ---------------------------------------------------------


def _char(b: int) -> int:
    return b - 256 if b >= 128 else b


def _low(c: int) -> int:
    return c + 32 if 65 <= c <= 90 else c


def _class_at(p: bytes, i: int, c: int, nocase: bool) -> tuple[bool, int]:
    """Does byte `c` match the class opened just before p[i]? Returns (match, index after)."""
    n = len(p)
    negate = i < n and p[i] == ord("^")
    if negate:
        i += 1
    hit = False
    while True:
        if i < n and p[i] == ord("\\") and n - i >= 2:
            hit |= p[i + 1] == c
            i += 2
        elif i < n and p[i] == ord("]"):
            i += 1
            break
        elif i >= n:
            break
        elif n - i >= 3 and p[i + 1] == ord("-"):
            lo, hi, v = _char(p[i]), _char(p[i + 2]), _char(c)
            if lo > hi:
                lo, hi = hi, lo
            if nocase:
                lo, hi, v = _low(lo), _low(hi), _low(v)
            hit |= lo <= v <= hi
            i += 3
        else:
            hit |= (_low(p[i]) == _low(c)) if nocase else p[i] == c
            i += 1
    return hit != negate, i


def reference_match(p: bytes, s: bytes, nocase: bool = False, stars: int = 0) -> bool:
    """stringmatchlen, recursively, with its nesting limit; subjects are short in tests."""
    if stars > 1000:
        return False
    if not s:
        return not p if stars == 0 else all(ch == ord("*") for ch in p)
    i = 0
    n = len(p)
    j = 0
    while i < n:
        ch = p[i]
        if ch == ord("*"):
            while i + 1 < n and p[i + 1] == ord("*"):
                i += 1
            if i == n - 1:
                return True
            return any(reference_match(p[i + 1:], s[k:], nocase, stars + 1) for k in range(j, len(s)))
        if j >= len(s):
            return False
        if ch == ord("?"):
            i += 1
        elif ch == ord("["):
            ok, i = _class_at(p, i + 1, s[j], nocase)
            if not ok:
                return False
        else:
            if ch == ord("\\") and n - i >= 2:
                i += 1
                ch = p[i]
            if (_low(ch) != _low(s[j])) if nocase else ch != s[j]:
                return False
            i += 1
        j += 1
        if j == len(s):
            return all(c == ord("*") for c in p[i:])
    return j == len(s)


# --- cases seen on redis-server 7.0.15 ------------------------------------------------

KEYS_SEEN = [b"", b"a", b"ab", b"]", b"b", b"\xff"]
CASES = [
    (b"**", [b"a", b"ab", b"]", b"b", b"\xff"]),
    (b"[", []),
    (b"[^", [b"a", b"]", b"b", b"\xff"]),
    (b"[a-]", [b"a", b"]"]),
    (b"[a-", [b"a"]),
    (b"[ab", [b"a", b"b"]),
    (b"[\\", []),
    (b"\\", []),
    (b"a\\", []),
    (b"[^a", [b"]", b"b", b"\xff"]),
    (b"[]]", []),
    (b"[]", []),
    (b"[]a]", []),
    (b"[!-a]", [b"a", b"]"]),
    (b"[a-\xff]", [b"a", b"]", b"\xff"]),  # signed chars: -1..97
    (b"[\x80-b]", [b"a", b"]", b"b", b"\xff"]),
    (b"", [b""]),
]


@pytest.mark.parametrize("pattern,expected", CASES)
def test_cases_seen_on_redis(pattern: bytes, expected: list[bytes]) -> None:
    assert sorted(k for k in KEYS_SEEN if glob_match(pattern, k)) == sorted(expected)


@pytest.mark.parametrize("pattern,subject,nocase,expected", [
    (b"*", b"", False, False),  # Redis's loop never runs on an empty subject
    (b"*", b"x", False, True),
    (b"a*b*c", b"aXbYc", False, True),
    (b"a*b*c", b"aXbY", False, False),
    (b"h?llo", b"hello", False, True),
    (b"h\\?llo", b"hello", False, False),
    (b"h\\?llo", b"h?llo", False, True),
    (b"[\\]]", b"]", False, True),
    (b"[\\]", b"]", False, True),  # an unclosed class holding an escaped ]
    (b"[\\-a]", b"-", False, True),
    (b"[a-\\]", b"_", False, True),  # range a..\ swapped: 92..97
    (b"HELLO", b"hello", True, True),
    (b"HE\\LLO", b"hello", True, True),  # escapes outside classes honour nocase
    (b"[\\H]ello", b"hello", True, False),  # ... but not inside a class
    (b"[H]ello", b"hello", True, True),
    (b"m[a-Z]x", b"max", True, False),  # ends swapped, then lowered: 122..97 is empty
    (b"m[A-a]x", b"max", True, True),
    (b"[^M]ax", b"max", True, False),
    (b"a\x00b", b"a\x00b", False, True),
    (b"\n", b"\n", False, True),
])
def test_single_cases(pattern: bytes, subject: bytes, nocase: bool, expected: bool) -> None:
    assert glob_match(pattern, subject, nocase) is expected
    assert glob_matcher(pattern, nocase)(subject) is expected
    assert reference_match(pattern, subject, nocase) is expected


def test_star_nesting_limit() -> None:
    long_a = b"a" * 1200
    for n, trailing, expected in [(1000, False, True), (1001, False, False),
                                  (1001, True, True), (1002, True, False)]:
        pattern = b"*a" * (n - 1) + b"*" if trailing else b"*a" * n
        assert glob_match(pattern, long_a) is expected, (n, trailing)
    assert glob_match(b"a*" * 1001, long_a)
    assert not glob_match(b"a*" * 1002, long_a)


def test_no_catastrophic_backtracking() -> None:
    pattern = b"*a" * 30 + b"b"
    assert not glob_match(pattern, b"a" * 5000)


def test_tokenize_collapses_stars() -> None:
    assert tokenize(b"a**b***") == tokenize(b"a*b*")


ALPHABET = b"ab]\\[^-*?\xff\x80A"
patterns = st.binary(max_size=8).map(lambda b: bytes(ALPHABET[x % len(ALPHABET)] for x in b))
subjects = st.binary(max_size=6).map(lambda b: bytes(b"ab]\\[^-*?\xffA"[x % 11] for x in b))


@settings(max_examples=1500, deadline=None)
@given(pattern=patterns, subject=subjects, nocase=st.booleans())
def test_matches_reference(pattern: bytes, subject: bytes, nocase: bool) -> None:
    assert glob_match(pattern, subject, nocase) == reference_match(pattern, subject, nocase)


# --- the real server --------------------------------------------------------------------


@pytest.fixture
def real(real_redis_port: int) -> Iterator[redis.Redis]:
    client = redis.Redis(port=real_redis_port)
    client.select(15)
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


@pytest.mark.redis
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(keys=st.sets(subjects, max_size=12), pattern=patterns)
def test_keys_differential(real: redis.Redis, keys: set[bytes], pattern: bytes) -> None:
    real.flushdb()
    for k in keys:
        real.set(k, b"1")
    theirs = sorted(real.keys(pattern))
    ours = sorted(k for k in keys if pattern == b"*" or glob_match(pattern, k))
    assert ours == theirs, pattern


CONFIG_NAMES = [b"maxmemory", b"maxmemory-policy", b"hz", b"port", b"dbfilename", b"appendonly"]


@pytest.mark.redis
@pytest.mark.parametrize("pattern", [
    b"m[a-Z]xmemory", b"m[A-a]xmemory", b"maxmemory-[--Z]olicy", b"ma[\\X]memory",
    b"ma[X]memory", b"MA\\XME*MORY", b"max[^M]emory", b"max[^\\M]emory", b"*MEMORY*", b"H?",
])
def test_nocase_differential(real: redis.Redis, pattern: bytes) -> None:
    """CONFIG GET matches parameter names with nocase=1: our nocase rules must agree."""
    reply = real.execute_command(b"CONFIG", b"GET", pattern)  # redis-py makes it a dict
    theirs = set(reply) if isinstance(reply, dict) else set(reply[::2])
    ours = {name for name in CONFIG_NAMES if glob_match(pattern, name, nocase=True)}
    assert ours == theirs & set(CONFIG_NAMES)
