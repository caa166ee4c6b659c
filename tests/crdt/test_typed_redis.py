"""Each typed CRDT, driven by one replica alone, reads as our Redis engine does.

Hypothesis draws a command list per type; every command runs on `crdt.engine.Engine`
(tests/helpers.py `EngineBox`) and, when the engine accepts it, the matching CRDT operation runs
on a lone replica, as the integration will do (the engine decides validity and arguments such as
LINSERT's index; the CRDT records the outcome). After every command the CRDT's read equals the
engine's.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from crdt.long_double import parse_long_double
from crdt.replication.clocks import HybridClock
from crdt.replication.typed import CounterRegister, ORHash, ORSet, RList, ZSetCRDT
from protocol.replies import ErrorReply
from tests.helpers import EngineBox

SOME = settings(max_examples=40, deadline=None)
R = "solo"
K = b"k"
members = st.sampled_from([b"a", b"b", b"c", b"10"])


class Solo:
    """One replica: a state, a clock and the engine beside it."""

    def __init__(self, state: Any) -> None:
        self.state = state
        self.box = EngineBox()
        self.clock = HybridClock(R)
        self.now = 0

    def ts(self) -> Any:
        self.now += 1
        return self.clock.now(self.now)

    def dot(self) -> tuple[str, int]:
        return self.state.next_dot(R)

    def redis(self, *argv: Any) -> Any:
        reply = self.box(*argv)
        return None if isinstance(reply, ErrorReply) else reply if reply is not None else b"nil"


# --- strings ---------------------------------------------------------------------------------------

string_cmds = st.lists(st.one_of(
    st.tuples(st.just("SET"), st.sampled_from([b"0", b"7", b"-2", b"x", b"1.5", b"10"])),
    st.tuples(st.just("INCRBY"), st.integers(-100, 100)),
    st.tuples(st.just("INCRBYFLOAT"), st.sampled_from([b"0.5", b"-1.25", b"3", b"2.75"])),
    st.tuples(st.just("APPEND"), st.sampled_from([b"0", b"z"])),
    st.tuples(st.just("DEL"), st.none()),
), max_size=25)


@SOME
@given(string_cmds)
def test_string_register_reads_like_redis(cmds: list[tuple[str, Any]]) -> None:
    solo = Solo(CounterRegister())
    s: CounterRegister = solo.state
    for name, arg in cmds:
        if name == "DEL":
            solo.redis("DEL", K)
            s.delete()
        elif solo.redis(name, K, arg) is not None:
            if name == "SET":
                s.assign(arg, solo.dot(), solo.ts())
            elif name == "APPEND":
                s.assign(solo.box("GET", K), solo.dot(), solo.ts())  # the engine's new text
            elif name == "INCRBY":
                s.increment(arg, solo.dot(), solo.ts())
            else:
                amount = parse_long_double(arg)
                assert isinstance(amount, Fraction)
                s.increment(amount, solo.dot(), solo.ts())
        assert s.text() == solo.box("GET", K), (name, arg)


# --- sets ------------------------------------------------------------------------------------------

set_cmds = st.lists(st.tuples(st.sampled_from(["SADD", "SREM", "DEL"]), members), max_size=30)


@SOME
@given(set_cmds)
def test_orset_reads_like_redis(cmds: list[tuple[str, bytes]]) -> None:
    solo = Solo(ORSet())
    s: ORSet = solo.state
    for name, m in cmds:
        if name == "SADD":
            solo.redis("SADD", K, m)
            s.add(m, solo.dot(), solo.ts())
        elif name == "SREM":
            solo.redis("SREM", K, m)
            s.remove([m])
        else:
            solo.redis("DEL", K)
            s.remove(s.members())
        assert s.members() == sorted(solo.box("SMEMBERS", K))


# --- hashes ----------------------------------------------------------------------------------------

hash_cmds = st.lists(st.one_of(
    st.tuples(st.just("HSET"), members, st.sampled_from([b"1", b"v", b"-4"])),
    st.tuples(st.just("HINCRBY"), members, st.integers(-5, 5)),
    st.tuples(st.just("HINCRBYFLOAT"), members, st.sampled_from([b"0.5", b"-2.25"])),
    st.tuples(st.just("HDEL"), members, st.none()),
), max_size=30)


@SOME
@given(hash_cmds)
def test_orhash_reads_like_redis(cmds: list[tuple[str, bytes, Any]]) -> None:
    solo = Solo(ORHash())
    h: ORHash = solo.state
    for name, f, arg in cmds:
        if name == "HDEL":
            solo.redis("HDEL", K, f)
            h.delete([f])
        elif solo.redis(name, K, f, arg) is not None:
            if name == "HSET":
                h.set(f, arg, solo.dot(), solo.ts())
            elif name == "HINCRBY":
                h.increment(f, arg, solo.dot(), solo.ts())
            else:
                amount = parse_long_double(arg)
                assert isinstance(amount, Fraction)
                h.increment(f, amount, solo.dot(), solo.ts())
        reply = solo.box("HGETALL", K)
        pairs = reply.items() if isinstance(reply, dict) else zip(reply[::2], reply[1::2], strict=True)
        assert h.items() == {bytes(f): bytes(v) for f, v in sorted(pairs)}


# --- sorted sets ---------------------------------------------------------------------------------------

zset_cmds = st.lists(st.one_of(
    st.tuples(st.just("ZADD"), members, st.sampled_from([0.0, 1.5, -3.0, 8.0])),
    st.tuples(st.just("ZINCRBY"), members, st.sampled_from([1.0, -0.5, 2.0])),
    st.tuples(st.just("ZREM"), members, st.none()),
), max_size=30)


@SOME
@given(zset_cmds)
def test_zset_reads_like_redis(cmds: list[tuple[str, bytes, Any]]) -> None:
    solo = Solo(ZSetCRDT())
    z: ZSetCRDT = solo.state
    for name, m, arg in cmds:
        if name == "ZADD":
            solo.redis("ZADD", K, repr(arg), m)
            z.add(m, arg, solo.dot(), solo.ts())
        elif name == "ZINCRBY":
            solo.redis("ZINCRBY", K, repr(arg), m)
            z.increment(m, arg, solo.dot(), solo.ts())
        else:
            solo.redis("ZREM", K, m)
            z.remove([m])
        flat = solo.box("ZRANGE", K, 0, -1, "WITHSCORES")
        assert z.items() == [(m, float(s)) for m, s in zip(flat[::2], flat[1::2], strict=True)]


# --- lists ---------------------------------------------------------------------------------------------

list_cmds = st.lists(st.one_of(
    st.tuples(st.sampled_from(["LPUSH", "RPUSH"]), st.lists(members, min_size=1, max_size=3)),
    st.tuples(st.sampled_from(["LPOP", "RPOP"]), st.integers(1, 3)),
    st.tuples(st.just("LSET"), st.integers(-4, 4)),
    st.tuples(st.sampled_from(["BEFORE", "AFTER"]), members),
    st.tuples(st.just("LREM"), st.tuples(st.integers(-2, 2), members)),
    st.tuples(st.just("LTRIM"), st.tuples(st.integers(-5, 5), st.integers(-5, 5))),
), max_size=30)


def _norm(i: int, n: int) -> int:
    return i + n if i < 0 else i


@SOME
@given(list_cmds)
def test_rlist_reads_like_redis(cmds: list[tuple[str, Any]]) -> None:
    solo = Solo(RList())
    lst: RList = solo.state
    for name, arg in cmds:
        before = lst.values()
        n = len(before)
        if name in ("LPUSH", "RPUSH"):
            solo.redis(name, K, *arg)
            first = solo.dot()[1]
            dots = [(R, first + i) for i in range(len(arg))]
            (lst.push_left if name == "LPUSH" else lst.push_right)(arg, dots, solo.ts())
        elif name in ("LPOP", "RPOP"):
            reply = solo.redis(name, K, arg)
            got, _ = (lst.pop_left if name == "LPOP" else lst.pop_right)(arg)
            assert got == (list(reply) if isinstance(reply, list) else [])  # nil / null array: empty
        elif name == "LSET":
            if solo.redis("LSET", K, arg, b"new") is not None:
                lst.set(_norm(arg, n), b"new", solo.dot(), solo.ts())
        elif name in ("BEFORE", "AFTER"):
            if solo.redis("LINSERT", K, name, arg, b"ins") not in (None, -1, 0) and arg in before:
                i = before.index(arg)
                lst.insert(i if name == "BEFORE" else i + 1, b"ins", solo.dot(), solo.ts())
        elif name == "LREM":
            count, value = arg
            solo.redis("LREM", K, count, value)
            hits = [i for i, v in enumerate(before) if v == value]
            if count > 0:
                hits = hits[:count]
            elif count < 0:
                hits = hits[count:]
            lst.remove_at(hits)
        else:
            start, stop = arg
            solo.redis("LTRIM", K, start, stop)
            s, e = max(_norm(start, n), 0), min(_norm(stop, n), n - 1)
            lst.trim(s, e) if s <= e else lst.remove_at(range(n))
        assert lst.values() == solo.box("LRANGE", K, 0, -1), (name, arg)
