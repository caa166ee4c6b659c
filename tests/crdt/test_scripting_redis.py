"""EVAL, EVALSHA, SCRIPT and the Lua sandbox: our engine against the real redis-server.

Every case runs the same command on both sides and compares the replies as
a client reads them, so conversions, error texts (with their "script: <sha>,
on @user_script:<line>." suffix), the sandbox's refusals and the SCRIPT
surface are checked against Redis 7.0 itself. What a script receives from
redis.call is shown by `DESCRIBE`, Lua that renders any value (tables sorted
by key) as text, so the comparison sees the Lua side of the conversion too.
Hypothesis builds random Lua return values and random command replies.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.differential import Differential

pytestmark = pytest.mark.redis

DESCRIBE = r"""
local function describe(v, depth)
    depth = depth or 0
    local t = type(v)
    if t ~= 'table' then return t .. ':' .. tostring(v) end
    if depth > 8 then return '...' end
    local keys = {}
    for k in pairs(v) do keys[#keys + 1] = k end
    table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
    local parts = {}
    for _, k in ipairs(keys) do
        parts[#parts + 1] = tostring(k) .. '=' .. describe(v[k], depth + 1)
    end
    return '{' .. table.concat(parts, ',') .. '}'
end
"""


@pytest.fixture
def d(real_redis_port: int) -> Iterator[Differential]:
    diff = Differential(real_redis_port)
    diff.run(b"SCRIPT", b"FLUSH")
    yield diff
    diff.close()


@pytest.fixture
def d3(real_redis_port: int) -> Iterator[Differential]:
    diff = Differential(real_redis_port, resp3=True)
    yield diff
    diff.close()


RETURNS = [
    "return 1", "return -7", "return 1.5", "return -2.5", "return 0.1", "return 1e300",
    "return 'x'", "return ''", "return true", "return false", "return nil",
    "return {1, 'two', {3, {4}}, false, 5}", "return {1, nil, 3}", "return {}",
    "return {ok='fine'}", "return {err='fine'}", "return {err='MYCODE spaced out'}",
    "return {ok='a\\nb'}", "return {err='a\\r\\nb'}", "return {1, {err='inner'}, {ok='st'}}",
    "return redis.error_reply('x')", "return redis.error_reply('-x')",
    "return redis.error_reply('MY x')", "return redis.status_reply('PONG')",
    "return {a=1}", "return {1, 2, a=3}", "return print", "return {double=1.5}",
    "return {map={a=1}}", "return {set={a=true}}", "return {big_number='123'}",
    "return redis.sha1hex('')", "return redis.sha1hex(12)", "return redis.REDIS_VERSION_NUM > 0",
    "return KEYS", "return ARGV", "return #KEYS + #ARGV",
    "return {KEYS[1], ARGV[1], ARGV[2]}", "return _VERSION",
    "return type(redis.call)=='nil'", "return {redis.LOG_DEBUG, redis.LOG_VERBOSE, "
    "redis.LOG_NOTICE, redis.LOG_WARNING}",
    "return {redis.REPL_NONE, redis.REPL_AOF, redis.REPL_SLAVE, redis.REPL_REPLICA, redis.REPL_ALL}",
    "redis.set_repl(redis.REPL_ALL) return redis.replicate_commands()",
    "return redis.set_repl(9)", "redis.log(redis.LOG_WARNING, 'hello', 1) return 1",
    "return redis.log(9, 'x')", "return redis.log(1)", "return redis.setresp(4)",
    "return {type(redis.breakpoint), type(redis.debug), type(redis.call), redis.breakpoint()}",
    "return redis.debug('x')",
]

ERRORS = [
    "error('boom')", "error({err='MY bad'})", "error('x', 0)", "error(12)",
    "x = 1", "return y", "local a = nil; return a.b", "return 1 + {}",
    "syntax error here", "return (", "string.x = 1", "redis.x = 1", "_G.x = 1",
    "rawset(_G, 'x', 1) return x", "return os", "return io", "return debug", "return require",
    "return loadfile", "return dofile", "return module", "return package", "return setfenv",
    "return getfenv", "return newproxy", "return print",
    "local function f()\n  error('deep')\nend\nlocal x = 1\nf()",
    "\n\nreturn redis.call('incr', 'str')", "return redis.call('nosuch')",
    "return redis.call('get')", "return redis.call()", "return redis.call({})",
    "return redis.call('get', {})", "return redis.call('get', true)",
    "return redis.call('subscribe', 'c')", "return redis.call('multi')",
    "return redis.call('eval', 'return 1', 0)", "return redis.call('blpop', 'l', 0)",
    "return redis.call('client', 'nosuch')", "return redis.call('config')",
    "return redis.pcall('incr', 'str')", "return redis.pcall('nosuch')",
    "return redis.pcall()", "local ok, e = pcall(redis.call, 'incr', 'str') return {tostring(ok), e.err}",
    "local ok, e = pcall(error, {err='T x'}) return e.err",
    "local ok, e = pcall(error, 'plain') return e",
    "return xpcall(function() return redis.call('incr', 'str') end, function(e) return e.err end)",
    "while true do local t = redis.call('incr', 'str') end",
    "return redis.call('set', 'k')",
    "return redis.call('incr', 1.5)", "return redis.call('echo', 1.5)", "return redis.call('echo', 3)",
    "return redis.call('echo', 1e20)", "return redis.call('echo', -0.25)",
    "#!lua flags=no-writes\nreturn redis.call('set','x','1')", "#!lua flags=no-writes,bad\nreturn 1",
    "#!lua foo=bar\nreturn 1", "#!js\nreturn 1", "#!lua\nreturn error('x')", "#!lua",
    "#!lua flags=no-writes\nreturn redis.call('get','x')", "#!lua name=x\nreturn 1",
    "#!lua flags=\nreturn 2", "#!lua flags=allow-oom,no-cluster\n\nreturn redis.call('incr', 'n')",
]


@pytest.mark.parametrize("body", RETURNS)
def test_return_values_convert_as_in_redis(d: Differential, body: str) -> None:
    d.check(b"EVAL", body, 2, b"k1", b"k2", b"a1", b"a2")


@pytest.mark.parametrize("body", ERRORS)
def test_script_errors_read_as_in_redis(d: Differential, body: str) -> None:
    d.run(b"SET", b"str", b"abc")
    d.check(b"EVAL", body, 0)


@pytest.mark.parametrize("body", [
    "string.len = nil", "table.insert = 1", "math.pi = 3", "setmetatable(_G, nil)",
    "return getmetatable(_G) == nil", "return pcall(setmetatable, string, {})",
    "local s = 0 for k in pairs(redis) do s = s + 1 end return s",
    "local s = {} for k in pairs(_G) do s[#s + 1] = k end table.sort(s) return s",
    "local s = {} for k in pairs(bit) do s[#s + 1] = k end table.sort(s) return s",
    "local s = {} for k in pairs(string) do s[#s + 1] = k end table.sort(s) return s",
    "local s = {} for k in pairs(table) do s[#s + 1] = k end table.sort(s) return s",
    "local s = {} for k in pairs(math) do s[#s + 1] = k end table.sort(s) return s",
    "local s = {} for k in pairs(struct) do s[#s + 1] = k end table.sort(s) return s",
    "local s = {} for k in pairs(cmsgpack) do s[#s + 1] = k end table.sort(s) return s",
    "local f = loadstring('return 1 + 1') return f()", "return loadstring('x =')",
    "local f = loadstring('y = 1') return f()", "return type(coroutine.create)",
    "local ok, e = pcall(function() x = 1 end) return e",
])
def test_the_sandbox_matches_redis(d: Differential, body: str) -> None:
    d.check(b"EVAL", body, 0)


CALLS = [
    ("SET", "k", "v"), ("GET", "k"), ("GET", "nokey"), ("INCR", "n"), ("DEL", "k", "nokey"),
    ("RPUSH", "l", "a", "b"), ("LRANGE", "l", "0", "-1"), ("LRANGE", "nolist", "0", "-1"),
    ("HSET", "h", "f", "1", "g", "2"), ("HGETALL", "h"), ("HGETALL", "noh"), ("HGET", "h", "nof"),
    ("SADD", "s", "a"), ("SMEMBERS", "s"), ("SISMEMBER", "s", "a"), ("ZADD", "z", "1.5", "m"),
    ("ZSCORE", "z", "m"), ("ZRANGE", "z", "0", "-1", "WITHSCORES"), ("ZSCORE", "z", "nom"),
    ("PING",), ("ECHO", "hi"), ("TYPE", "h"), ("EXISTS", "k", "h"), ("SET", "k", "v", "GET"),
    ("SET", "k2", "v", "NX"), ("SET", "k2", "v", "NX"), ("LPOP", "nolist"), ("LPOP", "l", "5"),
    ("INCRBYFLOAT", "f", "1.5"), ("HINCRBYFLOAT", "h", "x", "0.1"), ("SMISMEMBER", "s", "a", "b"),
    ("ZPOPMIN", "z"), ("LPOS", "l", "zz"), ("MGET", "k", "nokey"),
    ("OBJECT", "ENCODING", "h"), ("TTL", "k"), ("SELECT", "1"),
]


@pytest.mark.parametrize("resp", [2, 3])
def test_redis_call_replies_reach_lua_as_in_redis(d: Differential, resp: int) -> None:
    for call in CALLS:
        args = ", ".join(f"'{a}'" for a in call)
        body = (DESCRIBE + f"redis.setresp({resp})\n"
                f"local r = redis.call({args})\nreturn describe(r)")
        d.check(b"EVAL", body, 0)


@pytest.mark.parametrize("resp", [2, 3])
def test_script_returns_reach_a_resp3_client_as_in_redis(d3: Differential, resp: int) -> None:
    d3.run(b"FLUSHALL")
    d3.run(b"HSET", b"h", b"f", b"1")
    d3.run(b"SADD", b"s", b"a")
    d3.run(b"ZADD", b"z", b"1.5", b"m")
    for body in ["return redis.call('hgetall', 'h')", "return redis.call('smembers', 's')",
                 "return redis.call('zscore', 'z', 'm')", "return redis.call('get', 'nokey')",
                 "return redis.call('sismember', 's', 'a') ", "return {double=2.5}",
                 "return {map={a=1, b={1, 2}}}", "return {set={x=true}}", "return {false, true}",
                 "return true", "return {big_number='1234567890123456789012'}",
                 "return redis.call('hello')['map'] == nil"]:
        d3.check(b"EVAL", f"redis.setresp({resp}) " + body, 0)


def test_keys_and_argv_split_and_numkeys_as_in_redis(d: Differential) -> None:
    # All, none or some of the arguments are keys (the sandbox's three ways of making
    # KEYS and ARGV); EVALSHA's numkeys: the usual spellings, then what Redis refuses.
    sha = d.check(b"SCRIPT", b"LOAD", (DESCRIBE + "KEYS[9] = 'w' return describe({KEYS, ARGV})").encode())
    for tail in ([b"0"], [b"0", b"a"], [b"0", b"a", b"b"], [b"1", b"k"], [b"2", b"k", b"j"],
                 [b"1", b"k", b"a", b"b"], [b"2", b"k", b"j", b"a"], [b"15", *[b"k"] * 15]):
        d.check(b"EVALSHA", sha, *tail)
        d.check(b"EVALSHA", sha, *tail)  # a run's changes to KEYS stay in that run
    for numkeys in (b"3", b"01", b"+1", b"-1", b"1.0", b" 1", b"x", b"16", b"99999999999999999999"):
        d.check(b"EVALSHA", sha, numkeys, b"k", b"a")


def test_script_and_evalsha_surfaces_match_redis(d: Differential) -> None:
    sha = d.check(b"SCRIPT", b"LOAD", b"return ARGV[1]")
    d.check(b"EVALSHA", sha, 0, b"x")
    d.check(b"EVALSHA", sha.upper(), 0, b"x")
    d.check(b"EVALSHA_RO", sha, 0, b"y")
    d.check(b"EVALSHA", b"ffffffffffffffffffffffffffffffffffffffff", 0)
    d.check(b"EVALSHA", b"abc", 0)
    d.check(b"SCRIPT", b"EXISTS", sha, sha.upper(), b"nope")
    d.check(b"EVAL", b"return 2", 0)
    d.check(b"SCRIPT", b"EXISTS", b"7f923f79fe76194c868d7e1d0820de36700eb649")  # EVAL caches
    d.check(b"SCRIPT", b"FLUSH", b"ASYNC")
    d.check(b"SCRIPT", b"EXISTS", sha)
    d.check(b"SCRIPT", b"FLUSH", b"SYNC")
    d.check(b"SCRIPT", b"FLUSH", b"LATER")
    d.check(b"SCRIPT", b"FLUSH", b"SYNC", b"ASYNC")
    d.check(b"SCRIPT", b"LOAD", b"return (")
    d.check(b"SCRIPT", b"LOAD")
    d.check(b"SCRIPT", b"KILL")
    d.check(b"SCRIPT", b"NOSUCH")
    d.check(b"SCRIPT", b"HELP")
    d.check(b"SCRIPT", b"EXISTS")
    d.check(b"SCRIPT", b"DEBUG", b"NO")
    d.check(b"SCRIPT", b"DEBUG", b"MAYBE")
    d.check(b"SCRIPT")
    for name in (b"EVAL", b"EVALSHA", b"EVAL_RO", b"EVALSHA_RO"):
        d.check(name)
        d.check(name, b"return 1")
        d.check(name, sha, b"-1")
        d.check(name, sha, b"x")
        d.check(name, sha, b"2", b"a")
        d.check(name, sha, b"99999999999999999999")
    d.check(b"EVAL_RO", b"return redis.call('set', 'k', 'v')", 0)
    d.check(b"EVAL_RO", b"return redis.call('get', 'k')", 0)
    d.check(b"EVAL_RO", b"return redis.pcall('del', 'k')", 0)


def _sorted_subcommands(reply: object) -> object:
    """COMMAND INFO rows with their subcommand rows sorted: Redis lists them in hash order."""
    return [row[:9] + [sorted(row[9])] if isinstance(row, list) and len(row) > 9 else row
            for row in reply]  # type: ignore[attr-defined]


SCRIPT_SUBCOMMANDS = (b"script|load", b"script|exists", b"script|flush", b"script|kill",
                      b"script|debug", b"script|help")


def test_info_counts_cached_scripts_as_redis_does(d: Differential) -> None:
    def cached(info: object) -> object:
        return [line for line in bytes(info).split(b"\r\n") if line.startswith(b"number_of_")]  # type: ignore[arg-type]

    d.check(b"INFO", b"memory", normalise=cached)
    d.check(b"SCRIPT", b"LOAD", b"return 'info'")
    d.check(b"EVAL", b"return 'info2'", 0)
    d.check(b"FUNCTION", b"LOAD", b"#!lua name=infolib\nredis.register_function('infof', function() end)")
    d.check(b"INFO", b"memory", normalise=cached)
    d.check(b"FUNCTION", b"DELETE", b"infolib")


def test_command_info_and_docs_of_the_script_commands_match_redis(d: Differential) -> None:
    for name in (b"eval", b"evalsha", b"eval_ro", b"evalsha_ro", *SCRIPT_SUBCOMMANDS):
        d.check(b"COMMAND", b"INFO", name)
        d.check(b"COMMAND", b"DOCS", name)
    d.check(b"COMMAND", b"INFO", b"script", normalise=_sorted_subcommands)
    d.check(b"COMMAND", b"GETKEYS", b"EVAL", b"return 1", b"2", b"a", b"b", b"c")


def test_scripts_select_their_own_database(d: Differential) -> None:
    d.check(b"EVAL", b"redis.call('select', 1) return redis.call('set', 'k', 'in1')", 0)
    d.check(b"GET", b"k")
    d.check(b"SELECT", b"1")
    d.check(b"GET", b"k")
    d.check(b"EVAL", b"return redis.call('get', 'k')", 0)
    d.check(b"SELECT", b"0")


lua_scalar = st.one_of(
    st.integers(-(2**53), 2**53).map(str),
    st.floats(allow_nan=False, allow_infinity=False, width=32).map(lambda f: repr(float(f))),
    st.text(alphabet="abc xyz\t", max_size=6).map(lambda s: "'" + s + "'"),
    st.sampled_from(["true", "false", "nil", "{ok='s'}", "{err='E e'}", "{}"]),
)
lua_value = st.recursive(
    lua_scalar,
    lambda inner: st.lists(inner, max_size=4).map(lambda xs: "{" + ", ".join(xs) + "}"),
    max_leaves=12,
)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=lua_value)
def test_random_return_values_match_redis(d: Differential, value: str) -> None:
    d.check(b"EVAL", "return " + value, 0)
