"""The Lua side of the sandbox: run once in a fresh Lua state, it returns the runners.

Strategy: `SANDBOX` is Lua source run once (chunk name ``=sandbox``) with
the Python callbacks as its varargs. It builds the `redis` table around them
(each Python callable made a Lua C function with lupa's python.as_function,
so a script's `return redis.call(...)` is not a tail call that loses its
line), keeps private copies of what it needs (debug.getinfo, sethook,
rawset, pcall...), and builds the environments scripts run in: a read-only
proxy over a private globals table holding only what Redis 7.0 offers (no
os, io, debug, require, dofile, loadfile, module, package, setfenv, getfenv,
newproxy, print, lupa's python). The runtime's own _G is left alone (lupa
uses it). Writes to globals or library tables fail with "Attempt to modify
a readonly table", reads of missing globals with "Script attempted to access
nonexistent global variable"; wrapped rawset, setmetatable, pairs and next
see through the proxies, and pcall turns error tables into their text, as
Redis's pcall does. Functions get their own environment, which FUNCTION
LOAD switches to the load-time globals while a library body runs.

Errors are tables ``{err=..., source=..., line=...}``: the message handler
given to xpcall turns a string error into ``{err="ERR " .. msg}`` and notes
the innermost user-script frame, which the Python side formats into Redis's
"<err> script: <sha>, on @user_script:<line>." reply.

The runners take the compiled function and the command's arguments as
varargs (numkeys first), build KEYS and ARGV (or the keys and args tables of
a function) in Lua, and return xpcall's (ok, result).
"""

from __future__ import annotations

SANDBOX = r"""
local py_call, py_pcall, helpers, libs, py_unwrap = ...
local G = _G
local as_function = python.as_function  -- a Python callable as a Lua C function
local getinfo = debug.getinfo
local sethook = debug.sethook
local raw_pcall, raw_xpcall = pcall, xpcall
local raw_rawset, raw_next, raw_pairs, xpcall, type, tostring, error, select, setmetatable, getmetatable =
    rawset, next, pairs, xpcall, type, tostring, error, select, setmetatable, getmetatable
local loadstring, setfenv = loadstring, setfenv

local function readonly_error() error('Attempt to modify a readonly table', 2) end

local proxied = {}  -- proxy -> the table it hides
local function readonly(t)
    local p = setmetatable({}, {__index = t, __newindex = readonly_error, __metatable = false})
    proxied[p] = t
    return p
end

local redis = {
    LOG_DEBUG = 0, LOG_VERBOSE = 1, LOG_NOTICE = 2, LOG_WARNING = 3,
    REPL_NONE = 0, REPL_AOF = 1, REPL_SLAVE = 2, REPL_REPLICA = 2, REPL_ALL = 3,
    REDIS_VERSION = libs.version, REDIS_VERSION_NUM = libs.version_num,
}
-- redis.call and the helpers are Python callables: a call to one is a C call, so
-- a script's `return redis.call(...)` keeps its frame (a Lua wrapper would be
-- tail-called away) and an error names the script's line. Their errors reach
-- Lua as the Python exception; `unwrap` turns them into {err=...}.
redis.call = as_function(py_call)
for name, f in raw_pairs(helpers) do redis[name] = as_function(f) end

-- A Python exception raised through Lua: redis.call's errors become {err=...}; a
-- library's (cjson.decode...) a string error that, like luaL_error's, names
-- the script's line once the handler knows it (`positional`).
local function unwrap(e)
    if type(e) == 'userdata' then
        local text, positional = py_unwrap(e)
        if text ~= nil then return {err = text, positional = positional} end
    end
    return e
end

function redis.pcall(...)
    local r, e = py_pcall(...)
    if e ~= nil then return {err = e} end
    return r
end

local function library(spec)
    local t = {}
    for name, f in raw_pairs(spec.fns) do t[name] = as_function(f) end
    for name, v in raw_pairs(spec.consts) do t[name] = v end
    return t
end
-- math, with Redis's random and randomseed (libs.Rand48) instead of the C library's
local rmath = {}
for name, v in raw_pairs(math) do rmath[name] = v end
for name, f in raw_pairs(libs.math.fns) do rmath[name] = as_function(f) end
local packed = {
    string = string, table = table, math = rmath, coroutine = coroutine,
    bit = library(libs.bit), cjson = library(libs.cjson), cmsgpack = library(libs.cmsgpack),
    struct = library(libs.struct),
}
local allowed = {
    '_VERSION', 'assert', 'collectgarbage', 'error', 'gcinfo', 'getmetatable', 'ipairs',
    'load', 'rawequal', 'rawget', 'select', 'tonumber', 'tostring', 'type', 'unpack',
}

-- An environment: a read-only proxy over a globals table, which `switch`
-- can replace (a function library sees one set of globals while FUNCTION
-- LOAD runs its body and another when FCALL runs its functions). The
-- runtime's own _G stays as it is (lupa needs it); scripts never reach it.
--
-- A global read is a table lookup, not a Lua call: the proxy's __index is the
-- globals table itself, whose own metatable (`strict`) raises the error for a
-- name it lacks. Lua calls that __index function from the reading frame, so
-- level 2 is the script's line, as with Redis's C metamethod.
local strict = {
    __index = function(_, k)
        error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 2)
    end,
    __metatable = false,
}
local function make_env(globals)
    local meta = {__index = globals, __newindex = readonly_error, __metatable = false}
    local env = setmetatable({}, meta)
    local function switch(g)
        if getmetatable(g) == nil then setmetatable(g, strict) end
        meta.__index = g
        proxied[env] = g
    end
    switch(globals)
    return env, switch
end

local function find(t) return proxied[t] or t end
local function fix(ok, ...)
    if ok then return ok, ... end
    local e = unwrap((...))
    if type(e) == 'table' and type(e.err) == 'string' then e = e.err end
    return false, e
end

-- The globals of scripts and of functions: the allowed builtins, the read-only
-- libraries, `redis_table`, and wrappers that keep the read-only tables so.
local function runtime_globals(env, redis_table)
    local g = {}
    for _, k in ipairs(allowed) do g[k] = G[k] end
    for name, t in raw_pairs(packed) do g[name] = readonly(t) end
    g.redis = readonly(redis_table)
    g._G = env
    function g.rawset(t, k, v)
        if proxied[t] then error('Attempt to modify a readonly table', 0) end
        return raw_rawset(t, k, v)
    end
    function g.pcall(f, ...) return fix(raw_pcall(f, ...)) end
    function g.xpcall(f, h)
        return raw_xpcall(f, function(e) return h(unwrap(e)) end)
    end
    function g.setmetatable(t, m)
        if proxied[t] then error({err = 'ERR Attempt to modify a readonly table'}) end
        return setmetatable(t, m)
    end
    function g.next(t, k) return raw_next(find(t), k) end
    function g.pairs(t) return raw_next, find(t), nil end
    function g.loadstring(body, chunk)
        local f, err = loadstring(body, chunk)
        if f then setfenv(f, env) end
        return f, err
    end
    return g
end

local function copy(t, names)
    local out = {}
    for _, k in ipairs(names) do out[k] = t[k] end
    return out
end

-- Scripts (EVAL): Redis 7.0's redis table, KEYS and ARGV set by each run.
local script_redis = copy(redis, {
    'LOG_DEBUG', 'LOG_VERBOSE', 'LOG_NOTICE', 'LOG_WARNING', 'REPL_NONE', 'REPL_AOF',
    'REPL_SLAVE', 'REPL_REPLICA', 'REPL_ALL', 'REDIS_VERSION', 'REDIS_VERSION_NUM', 'call',
    'pcall', 'error_reply', 'status_reply', 'sha1hex', 'log', 'setresp', 'set_repl',
    'replicate_commands', 'acl_check_cmd', 'breakpoint', 'debug'})
local script_env, switch_script = make_env({})
local globals = runtime_globals(script_env, script_redis)
switch_script(globals)

-- Functions (FCALL): no KEYS/ARGV, no debugger helpers; while FUNCTION LOAD runs a
-- library body the globals are only a redis table with register_function and log.
local function_redis = copy(redis, {
    'LOG_DEBUG', 'LOG_VERBOSE', 'LOG_NOTICE', 'LOG_WARNING', 'REPL_NONE', 'REPL_AOF',
    'REPL_SLAVE', 'REPL_REPLICA', 'REPL_ALL', 'REDIS_VERSION', 'REDIS_VERSION_NUM', 'call',
    'pcall', 'error_reply', 'status_reply', 'sha1hex', 'log', 'setresp', 'set_repl',
    'acl_check_cmd'})
local function_env, switch_function = make_env({})
local function_globals = runtime_globals(function_env, function_redis)
local load_redis = make_env(copy(redis, {
    'LOG_DEBUG', 'LOG_VERBOSE', 'LOG_NOTICE', 'LOG_WARNING', 'REDIS_VERSION', 'REDIS_VERSION_NUM',
    'log', 'register_function'}))  -- strict, like the globals: redis.call is "nonexistent" here
local load_globals = {redis = load_redis}
switch_function(function_globals)

local function handler(err)
    -- A killed script's hook fires at every instruction: stop it, or it would
    -- fail this handler too (the Python side sets it again after the run).
    sethook()
    -- Redis's rule: the frame that raised it, or its caller when that is a C
    -- function (redis.call, error...); the sandbox's own frames (its metamethods
    -- stand for Redis's C ones) are skipped too.
    local source, line
    local level = 2
    local info = getinfo(level, 'Sl')
    while info and (info.source == '=sandbox' or info.what == 'C') do
        level = level + 1
        info = getinfo(level, 'Sl')
    end
    if info then source, line = info.source, info.currentline end
    err = unwrap(err)
    if type(err) == 'table' and err.positional then
        local where = ''
        if source and source:sub(1, 1) == '@' then where = source:sub(2) .. ':' .. line .. ': ' end
        err = where .. err.err
    end
    if type(err) ~= 'table' then
        err = {err = 'ERR ' .. tostring(err)}
    elseif type(err.err) ~= 'string' then
        err = {err = 'ERR ' .. tostring(err.err)}
    end
    return {err = err.err, source = source, line = line}
end
globals.__redis__err__handler = handler

-- The command's keys and args as two fresh tables, as Redis makes them for each
-- run; when all or none of them are keys, the varargs' table is one of the two.
local function split(nkeys, ...)
    local all = {...}
    local n = #all
    if nkeys == n then return all, {} end
    if nkeys == 0 then return {}, all end
    local keys, args = {}, {}
    for i = 1, nkeys do keys[i] = all[i] end
    for i = nkeys + 1, n do args[i - nkeys] = all[i] end
    return keys, args
end

local function run_script(f, nkeys, ...)
    globals.KEYS, globals.ARGV = split(nkeys, ...)
    return xpcall(f, handler)
end

local function run_function(f, nkeys, ...)
    local keys, args = split(nkeys, ...)
    return xpcall(function() return f(keys, args) end, handler)
end

local function compile(body, chunk)
    local f, err = loadstring(body, chunk)
    if f then
        setfenv(f, chunk == '@user_function' and function_env or script_env)
        return f
    end
    return nil, err
end

-- Runs a library body (compiled with chunk '@user_function') with the load-time
-- globals; the functions it registers keep the function environment.
local function load_library(f)
    switch_function(load_globals)
    local ok, err = xpcall(f, handler)
    switch_function(function_globals)
    return ok, err
end

local function set_hook(f, count)
    if f == nil then sethook() else sethook(f, '', count) end
end

return run_script, run_function, compile, load_library, set_hook
"""
