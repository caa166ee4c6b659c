"""Differential tests of maxmemory against a real redis-server 7.0: the configuration
surface (CONFIG GET/SET of the eviction parameters, their errors, the INFO fields),
the -OOM paths, MULTI/EXEC under OOM, OBJECT FREQ / IDLETIME per policy.

A redis-server of this module's own is used (maxmemory 1 refuses everything
that grows memory there); every test restores its defaults. A limit of one
byte puts both servers over it whatever their memory figure, which is where
the error paths are compared.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from crdt.engine import Engine
from crdt.info import parse_info
from tests.differential import Differential, OurEngine, RealRedis
from tests.helpers import real_redis_server

pytestmark = pytest.mark.redis

PARAMS = ("maxmemory", "maxmemory-policy", "maxmemory-samples", "maxmemory-eviction-tenacity",
          "lfu-log-factor", "lfu-decay-time")
DEFAULTS = {"maxmemory": "0", "maxmemory-policy": "noeviction", "maxmemory-samples": "5",
            "maxmemory-eviction-tenacity": "10", "lfu-log-factor": "10", "lfu-decay-time": "1"}
POLICIES = ("noeviction", "allkeys-lru", "volatile-lru", "allkeys-lfu", "volatile-lfu",
            "allkeys-random", "volatile-random", "volatile-ttl")


@pytest.fixture(scope="module")
def own_redis() -> Iterator[int]:
    with real_redis_server() as port:
        yield port


@pytest.fixture
def both(own_redis: int) -> Iterator[Differential]:
    d = Differential(own_redis)
    yield d
    for name, value in DEFAULTS.items():
        d.real.call(b"CONFIG", b"SET", name.encode(), value.encode())
    d.reset()
    d.close()


def test_defaults_match(both: Differential) -> None:
    for name in PARAMS:
        both.check("CONFIG", "GET", name)
    for pattern in ("maxmemory*", "lfu-*"):  # Redis's order is its dict's; maxmemory-clients is not ours
        both.check("CONFIG", "GET", pattern, normalise=_ours_only)


def _ours_only(reply: list[bytes]) -> dict[bytes, bytes]:
    pairs = dict(zip(reply[::2], reply[1::2]))
    return {k: v for k, v in pairs.items() if k.decode() in PARAMS}


@pytest.mark.parametrize("name,values", [
    ("maxmemory", ("100mb", "1gb", "1GB", "10k", "10KB", "12345", "0", "3G", "7b",
                   "9223372036854775808", "18446744073709551615", "18446744073709551616",
                   "17179869184gb")),
    ("maxmemory-policy", (*POLICIES, "ALLKEYS-LRU", "Volatile-TTL")),
    ("maxmemory-samples", ("1", "64", "2147483647")),
    ("maxmemory-eviction-tenacity", ("0", "55", "100")),
    ("lfu-log-factor", ("0", "100")),
    ("lfu-decay-time", ("0", "60")),
])
def test_valid_values_read_back_alike(both: Differential, name: str, values: tuple[str, ...]) -> None:
    for value in values:
        both.check("CONFIG", "SET", name, value)
        both.check("CONFIG", "GET", name)


@pytest.mark.parametrize("name,values", [
    ("maxmemory", ("-1", "abc", "10xb", "1.5mb", "", "mb", " 1", "1 mb", "9" * 130)),
    ("maxmemory-policy", ("lru", "", "allkeys", "allkeys-lru ")),
    ("maxmemory-samples", ("0", "-1", "x", "2147483648", "01")),
    ("maxmemory-eviction-tenacity", ("101", "-1", "1.5")),
    ("lfu-log-factor", ("-1", "2147483648")),
    ("lfu-decay-time", ("-1", "y")),
])
def test_bad_values_get_the_same_errors(both: Differential, name: str, values: tuple[str, ...]) -> None:
    for value in values:
        both.check("CONFIG", "SET", name, value)
        both.check("CONFIG", "GET", name)  # unchanged


def test_info_fields(both: Differential) -> None:
    both.check("CONFIG", "SET", "maxmemory", "100mb", "maxmemory-policy", "allkeys-lfu")
    ours, theirs = both.run("INFO", "memory")
    ours_m, theirs_m = parse_info(ours)["Memory"], parse_info(theirs)["Memory"]
    for field in ("maxmemory", "maxmemory_human", "maxmemory_policy"):
        assert ours_m[field] == theirs_m[field], field
    for field in ("used_memory", "used_memory_peak", "used_memory_rss", "mem_fragmentation_ratio"):
        assert field in ours_m
    assert "evicted_keys" in parse_info(both.run("INFO", "stats")[0])["Stats"]


def _fill_then_limit(both: Differential, policy: str = "noeviction") -> None:
    both.check("SET", "s", "value")
    both.check("RPUSH", "l", "a", "b")
    both.check("SET", "n", "10")
    both.check("CONFIG", "SET", "maxmemory-policy", policy, "maxmemory", "1")


def test_oom_refuses_denyoom_commands_only(both: Differential) -> None:
    _fill_then_limit(both)
    for argv in (("SET", "s", "other"), ("SET", "new", "x"), ("APPEND", "s", "x"), ("INCR", "n"),
                 ("RPUSH", "l", "c"), ("LPUSH", "new", "x"), ("HSET", "h", "f", "v"),
                 ("SADD", "set", "m"), ("ZADD", "z", "1", "m"), ("SETRANGE", "s", "0", "x"),
                 ("MSET", "a", "1"), ("COPY", "s", "s2"), ("SETBIT", "b", "1", "1")):
        both.check(*argv)
    # Reads, deletes and the rest keep working.
    for argv in (("GET", "s"), ("LRANGE", "l", "0", "-1"), ("EXISTS", "s"), ("EXPIRE", "s", "100"),
                 ("PERSIST", "s"), ("LPOP", "l"), ("DEL", "n"), ("DBSIZE",), ("PING",),
                 ("RENAME", "s", "t"), ("GET", "t")):
        both.check(*argv)
    both.check("CONFIG", "SET", "maxmemory", "0")
    both.check("SET", "s", "again")


def test_nothing_to_evict_is_oom_for_volatile_policies(both: Differential) -> None:
    for policy in ("volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl"):
        both.check("CONFIG", "SET", "maxmemory", "0")
        _fill_then_limit(both, policy)  # no key has a TTL: nothing may go
        both.check("SET", "x", "y")
        both.check("DBSIZE")


def test_allkeys_policies_evict_everything_then_refuse(both: Differential) -> None:
    for policy in ("allkeys-lru", "allkeys-lfu", "allkeys-random"):
        both.check("CONFIG", "SET", "maxmemory", "0")
        _fill_then_limit(both, policy)
        both.check("SET", "x", "y")  # every key evicted, still over one byte
        both.check("DBSIZE")


def test_multi_under_oom(both: Differential) -> None:
    _fill_then_limit(both)
    both.check("MULTI")
    both.check("SET", "a", "1")  # refused while queueing
    both.check("GET", "s")  # in MULTI, anything but EXEC/DISCARD is refused then
    both.check("EXEC")  # the transaction was doomed
    both.check("MULTI")
    both.check("DISCARD")


def test_exec_of_a_denyoom_command_fails_when_memory_ran_out_meanwhile(own_redis: int) -> None:
    """Queued with room to spare, then the limit drops (another client): EXEC is refused."""
    real, real_admin = RealRedis(own_redis), RealRedis(own_redis)
    engine = Engine()
    ours = OurEngine.__new__(OurEngine)
    ours.engine, ours.clock, ours.resp3 = engine, (lambda: 1_000_000), False
    ours.session = engine.open_session(1_000_000)
    admin = engine.open_session(1_000_000)
    try:
        for argv in ((b"FLUSHALL",), (b"SET", b"k", b"v"), (b"MULTI",), (b"SET", b"a", b"1"),
                     (b"GET", b"k")):
            assert ours.call(*argv) == real.call(*argv)
        for side_call in (real_admin.call, lambda *a: engine.execute(list(a), admin, 1_000_000)):
            side_call(b"CONFIG", b"SET", b"maxmemory", b"1")
        assert ours.call(b"EXEC") == real.call(b"EXEC")
        # A transaction of reads only still runs.
        for argv in ((b"MULTI",),):
            assert ours.call(*argv) == real.call(*argv)
    finally:
        real_admin.call(b"CONFIG", b"SET", b"maxmemory", b"0")
        real.call(b"FLUSHALL")
        real.close()
        real_admin.close()


def test_object_freq_and_idletime_follow_the_policy(both: Differential) -> None:
    both.check("SET", "k", "v")
    both.check("OBJECT", "FREQ", "k")  # not LFU: Redis's error
    both.check("OBJECT", "IDLETIME", "k")
    both.check("CONFIG", "SET", "maxmemory-policy", "allkeys-lfu")
    both.check("SET", "fresh", "v")
    both.check("OBJECT", "FREQ", "fresh")  # a new key's counter
    both.check("OBJECT", "IDLETIME", "k")  # LFU: Redis's error
    both.check("OBJECT", "FREQ", "missing")
    both.check("CONFIG", "SET", "maxmemory-policy", "volatile-lru")
    both.check("OBJECT", "FREQ", "k")


LIB = ("#!lua name=ooml\n"
       "redis.register_function('plain', function(k) return redis.call('SET', k[1], 'x') end)\n"
       "redis.register_function{function_name='roomy', callback=function(k) return redis.call('SET', k[1], 'x') end,"
       " flags={'allow-oom'}}\n"
       "redis.register_function{function_name='reader', callback=function(k) return redis.call('GET', k[1]) end,"
       " flags={'no-writes'}}\n")


def test_scripts_and_functions_out_of_memory(both: Differential) -> None:
    both.check("FUNCTION", "FLUSH")
    both.check("FUNCTION", "LOAD", LIB)
    _fill_then_limit(both)
    for script in (
            "return redis.call('SET', KEYS[1], 'x')",  # no flags: runs, its first growing call fails
            "return redis.pcall('SET', KEYS[1], 'x')",
            "redis.call('DEL', 'n') return redis.call('SET', KEYS[1], 'x')",  # wrote first: then allowed
            "return redis.call('GET', 's')",
            "#!lua\nreturn redis.call('SET', KEYS[1], 'x')",  # flags, no allow-oom: refused before it runs
            "#!lua flags=allow-oom\nreturn redis.call('SET', KEYS[1], 'y')",
            "#!lua flags=no-writes\nreturn redis.call('GET', 's')"):
        both.check("EVAL", script, "1", "k")
    for name in ("plain", "roomy", "reader"):
        both.check("FCALL", name, "1", "k2")
    both.check("GET", "k")
    both.check("GET", "k2")
    both.check("CONFIG", "SET", "maxmemory", "0")
    both.check("FUNCTION", "FLUSH")
