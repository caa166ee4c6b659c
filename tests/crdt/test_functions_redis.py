"""FUNCTION and FCALL: our engine against the real redis-server.

Libraries are loaded on both sides and every FUNCTION subcommand, FCALL and
FCALL_RO reply (including error texts, with their "script: <function>, on
@user_function:<line>." suffix) is compared. Redis lists libraries in hash
order, so FUNCTION LIST replies are compared sorted by library name.
FUNCTION DUMP payloads differ in bytes (Redis LZF-compresses long code), so
each side's dump is restored into the other.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.differential import Differential, Err

pytestmark = pytest.mark.redis


@pytest.fixture
def d(real_redis_port: int) -> Iterator[Differential]:
    diff = Differential(real_redis_port)
    diff.run(b"FUNCTION", b"FLUSH")
    yield diff
    diff.run(b"FUNCTION", b"FLUSH")
    diff.close()


LIB = """#!lua name=mylib
local function hset(keys, args)
    return redis.call('hset', keys[1], unpack(args))
end
redis.register_function('my_hset', hset)
redis.register_function{function_name='my_get', callback=function(keys, args)
    return redis.call('get', keys[1]) end, flags={'no-writes'}, description='reads'}
redis.register_function{function_name='my_set', callback=function(keys, args)
    return redis.call('set', keys[1], args[1]) end, flags={'allow-oom', 'no-cluster'}}
redis.register_function('boom', function(keys, args)
    return redis.call('incr', keys[1])
end)
redis.register_function('oops', function(keys, args) error('bad ' .. #keys) end)
redis.register_function('ro_write', function(keys, args) return redis.call('set', 'x', 1) end)
redis.register_function{function_name='ro_declared', callback=function(keys, args)
    return redis.call('set', 'x', 1) end, flags={'no-writes'}}
redis.register_function('globals', function(keys, args) return KEYS end)
redis.register_function('show', function(keys, args)
    local s = {} for k in pairs(redis) do s[#s + 1] = k end table.sort(s)
    local g = {} for k in pairs(_G) do g[#g + 1] = k end table.sort(g)
    return {s, g, keys, args}
end)
"""


def _sorted_list(reply: Any) -> Any:
    """FUNCTION LIST: libraries by name, functions by name, flags sorted."""
    if isinstance(reply, Err):
        return reply
    libs = []
    for lib in reply:
        lib = list(lib)
        funcs = lib[lib.index(b"functions") + 1]
        fixed = []
        for fn in funcs:
            fn = list(fn)
            i = fn.index(b"flags") + 1
            fn[i] = sorted(fn[i])
            fixed.append(fn)
        lib[lib.index(b"functions") + 1] = sorted(fixed)
        libs.append(lib)
    return sorted(libs)


def test_load_list_call_delete_match_redis(d: Differential) -> None:
    d.check(b"FUNCTION", b"LOAD", LIB)
    d.check(b"FUNCTION", b"LOAD", LIB)  # exists
    d.check(b"FUNCTION", b"LOAD", b"REPLACE", LIB)
    d.check(b"FUNCTION", b"LOAD", b"replace", b"replace", LIB)
    d.check(b"FUNCTION", b"LOAD", b"NOPE", LIB)
    d.check(b"SET", b"s", b"abc")
    for argv in ([b"my_hset", 1, b"h", b"f", b"v", b"g", b"w"], [b"my_get", 1, b"s"],
                 [b"my_set", 1, b"k", b"v"], [b"boom", 1, b"s"], [b"oops", 2, b"a", b"b"],
                 [b"ro_write", 0], [b"ro_declared", 0], [b"globals", 0], [b"show", 1, b"k", b"a"],
                 [b"nosuch", 0], [b"my_get", b"x"], [b"my_get", -1], [b"my_get", 2, b"a"],
                 [b"MY_GET", 1, b"s"]):
        d.check(b"FCALL", *argv)
        d.check(b"FCALL_RO", *argv)
    d.check(b"FCALL")
    d.check(b"FCALL", b"my_get")
    d.check(b"FUNCTION", b"LIST", normalise=_sorted_list)
    d.check(b"FUNCTION", b"LIST", b"WITHCODE", normalise=_sorted_list)
    d.check(b"FUNCTION", b"LIST", b"LIBRARYNAME", b"my*", b"WITHCODE", normalise=_sorted_list)
    d.check(b"FUNCTION", b"LIST", b"libraryname", b"MYLIB", normalise=_sorted_list)
    d.check(b"FUNCTION", b"LIST", b"LIBRARYNAME", b"x*")
    for bad in ([b"WITHCODE", b"WITHCODE"], [b"LIBRARYNAME"], [b"foo"], [b"LIBRARYNAME", b"a", b"LIBRARYNAME", b"b"]):
        d.check(b"FUNCTION", b"LIST", *bad)
    d.check(b"FUNCTION", b"STATS")
    d.check(b"FUNCTION", b"DELETE", b"nosuch")
    d.check(b"FUNCTION", b"DELETE", b"mylib")
    d.check(b"FCALL", b"my_get", 1, b"s")
    d.check(b"FUNCTION", b"LIST")
    d.check(b"FUNCTION", b"HELP")
    d.check(b"FUNCTION", b"KILL")
    d.check(b"FUNCTION", b"FLUSH", b"LATER")
    d.check(b"FUNCTION", b"NOSUCH")


@pytest.mark.parametrize("code", [
    "return 1", "#!lua", "#!lua\n", "#!lua name=a b=c\n", "#!lua name=\n", "#!js name=x\n",
    "#!lua name=x\nreturn (", "#!lua name=x\nreturn 1", "#!lua name=bad-name\nreturn 1",
    "#!lua name=x\nredis.call('ping')", "#!lua name=x\nreturn KEYS",
    "#!lua name=x\nlocal s = string", "#!lua name=x\nredis.register_function('bad name', function() end)",
    "#!lua name=x\nredis.register_function('f')", "#!lua name=x\nredis.register_function('f', 1)",
    "#!lua name=x\nredis.register_function(1, function() end)",
    "#!lua name=x\nredis.register_function('f', function() end, 3)",
    "#!lua name=x\nredis.register_function{function_name='f', callback=function() end, flags={'bad'}}",
    "#!lua name=x\nredis.register_function{function_name='f', callback=function() end, flags='no-writes'}",
    "#!lua name=x\nredis.register_function{function_name='f', callback=function() end, other=1}",
    "#!lua name=x\nredis.register_function{function_name='f'}",
    "#!lua name=x\nredis.register_function{callback=function() end}",
    "#!lua name=x\nredis.register_function{function_name='f', callback=function() end, description=1}",
    "#!lua name=x\nredis.register_function('f', function() end) redis.register_function('f', function() end)",
    "#!lua name=x\nredis.register_function('f', function() end) x = 1",
    "#!lua name=x\nredis.log(redis.LOG_WARNING, 'loading') redis.register_function('f', function() return 1 end)",
    "#!lua name=x\nerror('at load')", "#!lua name=x\nerror({err='MY load'})",
    "#!LUA NAME=x\nredis.register_function('f', function() return 1 end)",
])
def test_load_errors_match_redis(d: Differential, code: str) -> None:
    d.check(b"FUNCTION", b"LOAD", code)
    d.check(b"FUNCTION", b"LIST", normalise=_sorted_list)


def test_function_name_collisions_match_redis(d: Differential) -> None:
    d.check(b"FUNCTION", b"LOAD", b"#!lua name=a\nredis.register_function('f', function() return 'a' end)")
    d.check(b"FUNCTION", b"LOAD", b"#!lua name=b\nredis.register_function('f', function() return 'b' end)")
    d.check(b"FUNCTION", b"LOAD", b"REPLACE", b"#!lua name=b\nredis.register_function('f', function() end)")
    d.check(b"FUNCTION", b"LOAD", b"REPLACE", b"#!lua name=a\nredis.register_function('g', function() return 'g' end)")
    d.check(b"FCALL", b"f", 0)
    d.check(b"FUNCTION", b"LOAD", b"#!lua name=b\nredis.register_function('f', function() return 'b' end)")
    d.check(b"FCALL", b"f", 0)
    d.check(b"FCALL", b"g", 0)


def test_dump_and_restore_cross_with_redis(d: Differential) -> None:
    d.check(b"FUNCTION", b"LOAD", LIB)
    d.check(b"FUNCTION", b"LOAD", b"#!lua name=small\nredis.register_function('s', function() return 1 end)")
    ours = d.ours.call(b"FUNCTION", b"DUMP")
    theirs = d.real.call(b"FUNCTION", b"DUMP")
    for payload in (ours, theirs):  # each side reads both payloads
        # APPEND collides; which library is named first depends on Redis's hash order
        d.check(b"FUNCTION", b"RESTORE", payload,
                normalise=lambda r: r.text.replace(b"small", b"mylib") if isinstance(r, Err) else r)
        d.check(b"FUNCTION", b"RESTORE", payload, b"REPLACE")
        d.check(b"FUNCTION", b"RESTORE", payload, b"FLUSH")
        d.check(b"FUNCTION", b"LIST", b"WITHCODE", normalise=_sorted_list)
        d.check(b"FUNCTION", b"FLUSH")
        d.check(b"FUNCTION", b"RESTORE", payload, b"APPEND")
        d.check(b"FCALL", b"s", 0)
    d.check(b"FUNCTION", b"RESTORE", ours, b"BAD")
    d.check(b"FUNCTION", b"RESTORE", b"garbage")
    d.check(b"FUNCTION", b"RESTORE", ours[:-1] + bytes([ours[-1] ^ 1]))
    d.check(b"FUNCTION", b"RESTORE", ours, b"FLUSH", b"x")
    d.check(b"FUNCTION", b"FLUSH")
    d.check(b"FUNCTION", b"DUMP")


def test_command_info_of_function_commands_match_redis(d: Differential) -> None:
    for name in (b"fcall", b"fcall_ro", b"function|load", b"function|list", b"function|delete",
                 b"function|flush", b"function|kill", b"function|stats", b"function|dump",
                 b"function|restore", b"function|help"):
        d.check(b"COMMAND", b"INFO", name)
        d.check(b"COMMAND", b"DOCS", name)
