"""The Lua side of the sandbox: run once in a fresh Lua state, it returns the runners.

Strategy: `SANDBOX` is Lua source executed with the Python callbacks as its
varargs. It builds the `redis` table around them, keeps private copies of
what it needs (debug.getinfo, rawset, xpcall...), then removes every global
Redis 7.0 does not offer (os, io, debug, require, dofile, loadfile, module,
package, setfenv, getfenv, newproxy, print, lupa's python). Library tables
are replaced by read-only proxies and the global table gets a metatable that
refuses new globals ("Attempt to modify a readonly table") and reads of
missing ones ("Script attempted to access nonexistent global variable"); a
wrapped rawset and pairs/next see through the proxies.

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
local py_call, py_pcall, py_log, py_sha1, py_setresp, py_ignore, libs, py_unwrap = ...
local G = _G
local getinfo = debug.getinfo
local sethook = debug.sethook
local raw_pcall, raw_xpcall = pcall, xpcall
local raw_rawset, raw_next, raw_pairs, xpcall, type, tostring, error, select, setmetatable, concat =
    rawset, next, pairs, xpcall, type, tostring, error, select, setmetatable, table.concat
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

-- redis.call is the Python callable itself: a call to it is a C call, so a
-- script's `return redis.call(...)` keeps its frame (a Lua wrapper would be
-- tail-called away) and an error still names the script's line. Its errors
-- reach Lua as the Python exception; `unwrap` turns them into {err=...}.
redis.call = py_call

local function unwrap(e)
    if type(e) == 'userdata' then
        local text = py_unwrap(e)
        if text ~= nil then return {err = text} end
    end
    return e
end

function redis.pcall(...)
    local r, e = py_pcall(...)
    if e ~= nil then return {err = e} end
    return r
end

function redis.error_reply(msg)
    if type(msg) ~= 'string' then error('wrong number or type of arguments', 2) end
    if msg:sub(1, 1) ~= '-' then msg = '-' .. msg end
    local space = msg:find(' ', 1, true)
    if space then return {err = msg:sub(2, space - 1) .. ' ' .. msg:sub(space + 1)} end
    return {err = 'ERR ' .. msg:sub(2)}
end

function redis.status_reply(msg)
    if type(msg) ~= 'string' then error('wrong number or type of arguments', 2) end
    return {ok = msg}
end

function redis.sha1hex(s)
    if type(s) ~= 'string' and type(s) ~= 'number' then
        error('wrong number of arguments', 2)
    end
    return py_sha1(tostring(s))
end

function redis.log(level, ...)
    if select('#', ...) == 0 then error('redis.log() requires two arguments or more.', 2) end
    if type(level) ~= 'number' then error('First argument must be a number (log level).', 2) end
    if level < 0 or level > 3 then error('Invalid debug level.', 2) end
    local parts = {}
    for i = 1, select('#', ...) do
        local v = select(i, ...)
        parts[#parts + 1] = tostring(v)
    end
    py_log(level, concat(parts, ' '))
end

function redis.setresp(v)
    if select('#', v) == 0 or type(v) ~= 'number' then
        error('redis.setresp() requires one argument.', 2)
    end
    if v ~= 2 and v ~= 3 then error('RESP version must be 2 or 3.', 2) end
    py_setresp(v)
end

function redis.set_repl(flags)
    if type(flags) ~= 'number' then error('redis.set_repl() requires one argument.', 2) end
    if flags < 0 or flags > 3 then error('Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.', 2) end
end

function redis.replicate_commands() return true end

function redis.acl_check_cmd(...)
    local r, e = py_ignore(...)
    if e ~= nil then error(e, 2) end
    return r
end

-- FUNCTION LOAD runs a library's body with this as redis.register_function (see libs.register).
local registrar = nil
function redis.register_function(...)
    if registrar == nil then
        error('redis.register_function can only be called on FUNCTION LOAD command', 2)
    end
    local e = registrar(...)
    if e ~= nil then error(e, 2) end
end

local cjson = libs.cjson
local packed = {
    string = string, table = table, math = math, coroutine = coroutine,
    bit = libs.bit, cjson = cjson, cmsgpack = libs.cmsgpack, struct = libs.struct,
}

local allowed = {
    '_VERSION', 'assert', 'collectgarbage', 'error', 'gcinfo', 'getmetatable', 'ipairs',
    'load', 'rawequal', 'rawget', 'select', 'setmetatable', 'tonumber', 'tostring', 'type',
    'unpack',
}
-- What scripts see as globals: a private table behind a read-only proxy. The
-- runtime's own _G stays as it is (lupa needs it), scripts never reach it.
local globals = {}
for _, k in ipairs(allowed) do globals[k] = G[k] end
for name, t in raw_pairs(packed) do globals[name] = readonly(t) end
globals.redis = readonly(redis)

local env = setmetatable({}, {
    __index = function(_, k)
        local v = globals[k]
        if v == nil then
            error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 2)
        end
        return v
    end,
    __newindex = readonly_error,
    __metatable = false,
})
proxied[env] = globals
globals._G = env

local function find(t) return proxied[t] or t end
function globals.rawset(t, k, v)
    if proxied[t] then error('Attempt to modify a readonly table', 0) end
    return raw_rawset(t, k, v)
end
local function fix(ok, ...)
    if ok then return ok, ... end
    return false, unwrap((...))
end
function globals.pcall(f, ...) return fix(raw_pcall(f, ...)) end
function globals.xpcall(f, h)
    return raw_xpcall(f, function(e) return h(unwrap(e)) end)
end
function globals.next(t, k) return raw_next(find(t), k) end
function globals.pairs(t) return raw_next, find(t), nil end
function globals.loadstring(body, chunk)
    local f, err = loadstring(body, chunk)
    if f then setfenv(f, env) end
    return f, err
end

local function handler(err)
    local source, line
    local level = 2
    while true do
        local info = getinfo(level, 'Sl')
        if info == nil then break end
        if info.source == '@user_script' or info.source == '@user_function' then
            source, line = info.source, info.currentline
            break
        end
        level = level + 1
    end
    err = unwrap(err)
    if type(err) ~= 'table' then
        err = {err = 'ERR ' .. tostring(err)}
    elseif type(err.err) ~= 'string' then
        err = {err = 'ERR ' .. tostring(err.err)}
    end
    return {err = err.err, source = source, line = line}
end
globals.__redis__err__handler = handler

local function split(nkeys, ...)
    local all = {...}
    local keys, args = {}, {}
    for i = 1, nkeys do keys[i] = all[i] end
    for i = nkeys + 1, #all do args[i - nkeys] = all[i] end
    return keys, args
end

local function run_script(f, nkeys, ...)
    local keys, args = split(nkeys, ...)
    globals.KEYS = keys
    globals.ARGV = args
    return xpcall(f, handler)
end

local function run_function(f, nkeys, ...)
    local keys, args = split(nkeys, ...)
    return xpcall(function() return f(keys, args) end, handler)
end

local function compile(body, chunk)
    local f, err = loadstring(body, chunk)
    if f then
        setfenv(f, env)
        return f
    end
    return nil, err
end

-- Runs a library body with redis.register_function bound to `register` (a Python
-- callable answering nil or an error text); the body sees only a limited
-- environment, as in Redis: redis (with register_function, log, setresp...)
-- and the pure libraries.
local function load_library(f, register)
    registrar = register
    local ok, err = xpcall(f, handler)
    registrar = nil
    return ok, err
end

local function set_hook(f, count)
    if f == nil then sethook() else sethook(f, '', count) end
end

return run_script, run_function, compile, load_library, set_hook, readonly_error
"""
