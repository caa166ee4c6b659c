"""Replies across the Lua boundary, both ways, with Redis 7.0's conversion rules.

Strategy: `to_lua` turns an engine reply (see protocol.replies) into the
value `redis.call` hands the script, as the script's protocol (redis.setresp)
says: under RESP2 an integer is a number, a bulk a string, a status
``{ok=...}``, a null ``false``, a map a flat array, a double a string; under
RESP3 a null is nil, a boolean a boolean, a double ``{double=n}``, a map
``{map={...}}``, a set ``{set={m=true}}``, a big number ``{big_number=s}``.
Error replies never reach it: the caller raises them (redis.call) or wraps
them (redis.pcall).

`from_lua` turns what the script returned into an engine reply: strings are
bulks, numbers integers (truncated), true 1, false null (or a RESP3 boolean
when the script chose RESP3), tables with ``err``/``ok``/``double``/
``map``/``set``/``big_number`` their RESP type, other tables arrays up to
the first nil. An ``err`` table comes back as an `ErrorReply` for the
handler to raise. Nesting is bounded so a self-referencing table cannot
recurse without end.
"""

from __future__ import annotations

from typing import Any

from lupa import lua51

from protocol.replies import (
    NULL_ARRAY,
    BigNumber,
    ErrorReply,
    SetReply,
    SimpleString,
)
from protocol.resp_encoder import format_double

lua_type = lua51.lua_type
MAX_DEPTH = 100  # Python frames per level: well inside the interpreter's recursion limit


def to_lua(lua: Any, reply: Any, resp3: bool) -> Any:
    """The Lua value of one non-error engine reply."""
    t = type(reply)
    if t is bytes:
        return reply
    if t is int:
        return reply
    if reply is None or reply is NULL_ARRAY:
        return None if resp3 else False
    if isinstance(reply, SimpleString):
        return lua.table_from({b"ok": bytes(reply)})
    if t is bool:
        return reply if resp3 else int(reply)
    if isinstance(reply, BigNumber):
        return lua.table_from({b"big_number": b"%d" % reply}) if resp3 else b"%d" % reply
    if isinstance(reply, (bytes, bytearray)):
        return bytes(reply)
    if isinstance(reply, int):
        return int(reply)
    if isinstance(reply, float):
        return lua.table_from({b"double": reply}) if resp3 else format_double(reply)
    if isinstance(reply, dict):
        if resp3:
            inner = lua.table_from({to_lua(lua, k, resp3): to_lua(lua, v, resp3) for k, v in reply.items()})
            return lua.table_from({b"map": inner})
        flat = []
        for k, v in reply.items():
            flat.append(to_lua(lua, k, resp3))
            flat.append(to_lua(lua, v, resp3))
        return lua.table_from(flat)
    if isinstance(reply, SetReply) and resp3:
        return lua.table_from({b"set": lua.table_from({to_lua(lua, m, resp3): True for m in reply})})
    if isinstance(reply, (list, tuple)):
        return lua.table_from([to_lua(lua, item, resp3) for item in reply])
    return False


def from_lua(value: Any, resp3: bool, depth: int = 0) -> Any:
    """The engine reply for a value a script returned (or put in a returned table)."""
    t = type(value)
    if t is bytes:
        return value
    if t is int:
        return value
    if t is float:
        if value != value or not -(2.0**63) <= value < 2.0**63:
            return -(2**63)  # what a C cast of these gives on x86-64
        return int(value)
    if t is bool:
        if resp3:
            return value
        return 1 if value else None
    if value is None or lua_type(value) != "table":
        return None
    if depth >= MAX_DEPTH:
        return ErrorReply(b"ERR reached lua stack limit")
    err = value[b"err"]
    if type(err) is bytes:
        return ErrorReply(err.replace(b"\r", b" ").replace(b"\n", b" "))
    ok = value[b"ok"]
    if type(ok) is bytes:
        return SimpleString(ok.replace(b"\r", b" ").replace(b"\n", b" "))
    double = value[b"double"]
    if type(double) in (int, float):
        return float(double)
    big = value[b"big_number"]
    if type(big) is bytes:
        try:
            return BigNumber(int(big))
        except ValueError:
            return big
    m = value[b"map"]
    if m is not None and lua_type(m) == "table":
        return {_key(k, resp3, depth): from_lua(v, resp3, depth + 1) for k, v in m.items()}
    s = value[b"set"]
    if s is not None and lua_type(s) == "table":
        return SetReply(_key(k, resp3, depth) for k in s.keys())
    out = []
    i = 1
    while True:
        item = value[i]
        if item is None:
            break
        out.append(from_lua(item, resp3, depth + 1))
        i += 1
    return out


def _key(k: Any, resp3: bool, depth: int) -> Any:
    r = from_lua(k, resp3, depth + 1)
    return r if not isinstance(r, list) else tuple(r)
