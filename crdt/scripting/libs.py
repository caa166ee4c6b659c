"""The Lua libraries Redis adds that lupa's Lua 5.1 lacks: bit, cjson, cmsgpack, struct.

Strategy: each library is a Lua table of Python functions, each wrapped in
Lua so that a Python `LibError` becomes a Lua error with its text, and
several results become several Lua values. Semantics follow the C
libraries Redis bundles:

- bit (LuaBitOp): every operand is normalised to a signed 32-bit integer
  (rounded), results are signed 32-bit; shift counts are taken mod 32;
- cjson: an empty table encodes as ``{}``; a table whose keys are all
  positive integers is an array up to its largest key (holes are null)
  unless it is excessively sparse (largest key > 2 x count and > 10);
  numbers print as ``%.14g``; ``/`` is escaped; ``cjson.null`` is a
  distinct userdata that decodes from and encodes to null;
- cmsgpack: pack/unpack of nil, booleans, numbers (integers when
  integral), strings and tables (arrays as cjson detects them, else maps);
- struct (lua_struct): pack/unpack/size with ``< > ! = x b B h H i I l L
  j J T f d s c z`` and their counts.
"""

from __future__ import annotations

import math
import struct as pystruct
from typing import Any

import orjson
from lupa import lua51

lua_type = lua51.lua_type
VERSION = b"7.0.15"
VERSION_NUM = 0x07000F
MAX_DEPTH = 1000


class LibError(Exception):
    """An error a library function raises in Lua, with this text."""


class Null:
    """cjson.null: the userdata that stands for JSON null."""

    def __repr__(self) -> str:
        return "cjson.null"


NULL = Null()

_WRAP = r"""
local function finish(ok, ...)
    if not ok then error((...), 0) end
    return ...
end
return function(f) return function(...) return finish(f(...)) end end
"""


def build(lua: Any) -> Any:
    """The `libs` table the sandbox reads: version facts and the four libraries."""
    wrap = lua.execute(_WRAP)

    def table(functions: dict[bytes, Any], extra: dict[bytes, Any] | None = None) -> Any:
        entries: dict[bytes, Any] = {}
        for name, fn in functions.items():
            entries[name] = wrap(_guarded(fn))
        entries.update(extra or {})
        return lua.table_from(entries)

    ctx = _Ctx(lua)
    bit = table({b"tobit": _tobit, b"tohex": _tohex, b"bnot": lambda x: _s32(~_n(x)),
                 b"band": _fold(lambda a, b: a & b), b"bor": _fold(lambda a, b: a | b),
                 b"bxor": _fold(lambda a, b: a ^ b), b"lshift": _lshift, b"rshift": _rshift,
                 b"arshift": _arshift, b"rol": _rol, b"ror": _ror, b"bswap": _bswap})
    cjson = table({b"encode": ctx.json_encode, b"decode": ctx.json_decode,
                   b"encode_keep_buffer": _noop, b"encode_max_depth": _noop,
                   b"decode_max_depth": _noop, b"encode_number_precision": _noop,
                   b"encode_sparse_array": _noop, b"encode_invalid_numbers": _noop,
                   b"decode_invalid_numbers": _noop},
                  {b"null": NULL, b"_NAME": b"cjson", b"_VERSION": b"2.1.0"})
    cmsgpack = table({b"pack": ctx.msgpack_pack, b"unpack": ctx.msgpack_unpack,
                      b"unpack_one": ctx.msgpack_unpack_one, b"unpack_limit": ctx.msgpack_unpack_limit},
                     {b"_NAME": b"lua-cmsgpack", b"_VERSION": b"lua-cmsgpack 0.4.0",
                      b"_COPYRIGHT": b"Copyright (C) 2012, Salvatore Sanfilippo",
                      b"_DESCRIPTION": b"MessagePack C implementation for Lua"})
    struct = table({b"pack": _struct_pack, b"unpack": _struct_unpack, b"size": _struct_size})
    return lua.table_from({b"version": VERSION, b"version_num": VERSION_NUM, b"bit": bit,
                           b"cjson": cjson, b"cmsgpack": cmsgpack, b"struct": struct})


def _guarded(fn: Any) -> Any:
    def call(*args: Any) -> Any:
        try:
            result = fn(*args)
        except LibError as e:
            return False, str(e).encode()
        except (TypeError, ValueError, OverflowError, pystruct.error) as e:
            return False, b"bad argument (" + str(e).encode() + b")"
        if type(result) is tuple:
            return (True, *result)
        return True, result
    return call


def _noop(*args: Any) -> Any:
    return None


# -- bit -------------------------------------------------------------------------


def _n(x: Any) -> int:
    if type(x) is bytes:
        try:
            x = float(x)
        except ValueError:
            raise LibError("bad argument #1 (number expected, got string)") from None
    if type(x) not in (int, float):
        raise LibError("bad argument #1 (number expected, got %s)" % ("nil" if x is None else "no value"))
    if type(x) is float:
        if math.isnan(x) or math.isinf(x):
            return 0
        x = round(x)  # the FP addition trick LuaBitOp uses rounds half to even, as round() does
    return int(x) & 0xFFFFFFFF


def _s32(x: int) -> int:
    x &= 0xFFFFFFFF
    return x - 0x100000000 if x & 0x80000000 else x


def _tobit(x: Any) -> int:
    return _s32(_n(x))


def _fold(op: Any) -> Any:
    def f(x: Any, *rest: Any) -> int:
        acc = _n(x)
        for y in rest:
            acc = op(acc, _n(y))
        return _s32(acc)
    return f


def _tohex(x: Any, n: Any = 8) -> bytes:
    value = _n(x)
    digits = 8 if n is None else _s32(_n(n))
    upper = digits < 0
    digits = min(abs(digits), 8)
    text = ("%08x" % value)[8 - digits:]
    return (text.upper() if upper else text).encode()


def _lshift(x: Any, n: Any) -> int:
    return _s32(_n(x) << (_n(n) & 31))


def _rshift(x: Any, n: Any) -> int:
    return _s32(_n(x) >> (_n(n) & 31))


def _arshift(x: Any, n: Any) -> int:
    return _s32(_s32(_n(x)) >> (_n(n) & 31))


def _rol(x: Any, n: Any) -> int:
    v, k = _n(x), _n(n) & 31
    return _s32((v << k) | (v >> (32 - k)))


def _ror(x: Any, n: Any) -> int:
    v, k = _n(x), _n(n) & 31
    return _s32((v >> k) | (v << (32 - k)))


def _bswap(x: Any) -> int:
    return _s32(int.from_bytes(_n(x).to_bytes(4, "little"), "big"))


# -- cjson and cmsgpack ----------------------------------------------------------


def _number_text(x: Any) -> bytes:
    if type(x) is int:
        return b"%d" % x
    if math.isnan(x) or math.isinf(x):
        raise LibError("Cannot serialise number: must not be NaN or Inf")
    return b"%.14g" % x


_JSON_ESCAPES = {i: b"\\u%04x" % i for i in range(32)}
_JSON_ESCAPES.update({8: b"\\b", 9: b"\\t", 10: b"\\n", 12: b"\\f", 13: b"\\r",
                      ord('"'): b'\\"', ord("\\"): b"\\\\", ord("/"): b"\\/", 127: b"\\u007f"})


def _json_string(s: bytes, out: bytearray) -> None:
    out += b'"'
    for byte in s:
        esc = _JSON_ESCAPES.get(byte)
        if esc is None:
            out.append(byte)
        else:
            out += esc
    out += b'"'


def _array_length(items: list[tuple[Any, Any]]) -> int:
    """cjson's test: the array length, 0 for an empty table, -1 for a map."""
    largest = 0
    for k, _ in items:
        if type(k) is int and k >= 1:
            largest = max(largest, k)
        elif type(k) is float and k.is_integer() and k >= 1:
            largest = max(largest, int(k))
        else:
            return -1
    if largest > len(items) * 2 and largest > 10:
        raise LibError("Cannot serialise table: excessively sparse array")
    return largest


class _Ctx:
    """The library functions that build Lua tables (they need the runtime)."""

    def __init__(self, lua: Any) -> None:
        self.lua = lua

    def json_encode(self, value: Any = ..., *rest: Any) -> bytes:
        if value is ... or rest:
            raise LibError("bad argument #1 to 'encode' (expected 1 argument)")
        out = bytearray()
        self._encode(value, out, 0)
        return bytes(out)

    def _encode(self, v: Any, out: bytearray, depth: int) -> None:
        t = type(v)
        if t is bytes:
            _json_string(v, out)
        elif t is bool:
            out += b"true" if v else b"false"
        elif t in (int, float):
            out += _number_text(v)
        elif v is None or v is NULL:
            out += b"null"
        elif lua_type(v) == "table":
            depth += 1
            if depth > MAX_DEPTH:
                raise LibError("Cannot serialise, excessive nesting (%d)" % depth)
            items = list(v.items())
            n = _array_length(items)
            if n > 0:
                out += b"["
                for i in range(1, n + 1):
                    if i > 1:
                        out += b","
                    self._encode(v[i], out, depth)
                out += b"]"
            else:
                out += b"{"
                first = True
                for k, item in items:
                    if not first:
                        out += b","
                    first = False
                    if type(k) is bytes:
                        _json_string(k, out)
                    elif type(k) in (int, float):
                        out += b'"' + _number_text(k) + b'"'
                    else:
                        raise LibError("Cannot serialise %s: table key must be a number or string"
                                       % lua_type(k))
                    out += b":"
                    self._encode(item, out, depth)
                out += b"}"
        else:
            raise LibError("Cannot serialise %s: type not supported" % (lua_type(v) or "userdata"))

    def json_decode(self, text: Any = ..., *rest: Any) -> Any:
        if text is ... or rest:
            raise LibError("bad argument #1 to 'decode' (expected 1 argument)")
        if type(text) in (int, float):
            text = _number_text(text)
        if type(text) is not bytes:
            raise LibError("bad argument #1 to 'decode' (string expected, got %s)"
                           % (lua_type(text) or "nil"))
        try:
            parsed = orjson.loads(text)
        except orjson.JSONDecodeError as e:
            raise LibError("Expected value but found invalid token at character %d" % (e.pos + 1)) from None
        return self._to_lua(parsed, 0)

    def _to_lua(self, v: Any, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise LibError("Found too many nested data structures (%d) at character 1" % depth)
        if isinstance(v, str):
            return v.encode()
        if v is None:
            return NULL
        if isinstance(v, list):
            return self.lua.table_from([self._to_lua(x, depth + 1) for x in v])
        if isinstance(v, dict):
            return self.lua.table_from({k.encode(): self._to_lua(x, depth + 1) for k, x in v.items()})
        return v

    def msgpack_pack(self, *values: Any) -> bytes:
        if not values:
            raise LibError("MessagePack pack needs input.")
        out = bytearray()
        for v in values:
            self._pack(v, out, 0)
        return bytes(out)

    def _pack(self, v: Any, out: bytearray, depth: int) -> None:
        t = type(v)
        if v is None or v is NULL:
            out.append(0xC0)
        elif t is bool:
            out.append(0xC3 if v else 0xC2)
        elif t is float and not v.is_integer() or t is float and math.isinf(v):
            out += b"\xcb" + pystruct.pack(">d", v)
        elif t in (int, float):
            _pack_int(int(v), out)
        elif t is bytes:
            n = len(v)
            if n < 32:
                out.append(0xA0 | n)
            elif n < 256:
                out += b"\xd9" + bytes([n])
            elif n < 65536:
                out += b"\xda" + n.to_bytes(2, "big")
            else:
                out += b"\xdb" + n.to_bytes(4, "big")
            out += v
        elif lua_type(v) == "table" and depth < 16:
            items = list(v.items())
            try:
                n = _array_length(items)
            except LibError:
                n = -1
            if n > 0:
                _pack_header(n, out, 0x90, b"\xdc", b"\xdd")
                for i in range(1, n + 1):
                    self._pack(v[i], out, depth + 1)
            else:
                _pack_header(len(items), out, 0x80, b"\xde", b"\xdf")
                for k, item in items:
                    self._pack(k, out, depth + 1)
                    self._pack(item, out, depth + 1)
        else:
            out.append(0xC0)

    def msgpack_unpack(self, data: Any = None) -> Any:
        if type(data) is not bytes:
            raise LibError("bad argument #1 to 'unpack' (string expected)")
        values = []
        pos = 0
        while pos < len(data):
            value, pos = self._unpack(data, pos)
            values.append(value)
        if not values:
            raise LibError("Bad data format in input.")
        return tuple(values)

    def msgpack_unpack_limit(self, data: Any = None, limit: Any = 0, offset: Any = 0) -> Any:
        """Up to `limit` objects (0: all) from byte `offset`: (next offset or -1, objects...)."""
        if type(data) is not bytes:
            raise LibError("bad argument #1 to 'unpack_limit' (string expected)")
        pos = int(offset)
        if pos < 0 or pos > len(data):
            raise LibError("Start offset %d greater than input length %d." % (pos, len(data)))
        values = []
        while pos < len(data) and (not limit or len(values) < int(limit)):
            value, pos = self._unpack(data, pos)
            values.append(value)
        return (pos if pos < len(data) else -1, *values)

    def msgpack_unpack_one(self, data: Any = None, offset: Any = 0) -> Any:
        return self.msgpack_unpack_limit(data, 1, offset)

    def _unpack(self, d: bytes, p: int) -> tuple[Any, int]:
        try:
            b = d[p]
            p += 1
            if b <= 0x7F:
                return b, p
            if b >= 0xE0:
                return b - 0x100, p
            if 0xA0 <= b <= 0xBF:
                n = b & 0x1F
                return d[p:p + n], p + n
            if 0x90 <= b <= 0x9F:
                return self._array(d, p, b & 0x0F)
            if 0x80 <= b <= 0x8F:
                return self._map(d, p, b & 0x0F)
            simple = {0xC0: None, 0xC2: False, 0xC3: True}
            if b in simple:
                return simple[b], p
            fixed = {0xCA: ">f", 0xCB: ">d", 0xCC: ">B", 0xCD: ">H", 0xCE: ">I", 0xCF: ">Q",
                     0xD0: ">b", 0xD1: ">h", 0xD2: ">i", 0xD3: ">q"}
            if b in fixed:
                fmt = fixed[b]
                size = pystruct.calcsize(fmt)
                if p + size > len(d):
                    raise IndexError
                return pystruct.unpack_from(fmt, d, p)[0], p + size
            lengths = {0xD9: 1, 0xDA: 2, 0xDB: 4, 0xC4: 1, 0xC5: 2, 0xC6: 4}
            if b in lengths:
                k = lengths[b]
                n = int.from_bytes(d[p:p + k], "big")
                p += k
                if p + n > len(d):
                    raise IndexError
                return d[p:p + n], p + n
            if b in (0xDC, 0xDD):
                k = 2 if b == 0xDC else 4
                return self._array(d, p + k, int.from_bytes(d[p:p + k], "big"))
            if b in (0xDE, 0xDF):
                k = 2 if b == 0xDE else 4
                return self._map(d, p + k, int.from_bytes(d[p:p + k], "big"))
        except IndexError:
            pass
        raise LibError("Missing bytes in input.")

    def _array(self, d: bytes, p: int, n: int) -> tuple[Any, int]:
        items = []
        for _ in range(n):
            v, p = self._unpack(d, p)
            items.append(v)
        return self.lua.table_from(items), p

    def _map(self, d: bytes, p: int, n: int) -> tuple[Any, int]:
        t = self.lua.table_from({})
        for _ in range(n):
            k, p = self._unpack(d, p)
            v, p = self._unpack(d, p)
            if k is not None:
                t[k] = v
        return t, p


def _pack_int(v: int, out: bytearray) -> None:
    if 0 <= v <= 0x7F:
        out.append(v)
    elif -32 <= v < 0:
        out.append(v & 0xFF)
    elif v >= 0:
        for code, fmt, top in ((0xCC, ">B", 0xFF), (0xCD, ">H", 0xFFFF), (0xCE, ">I", 0xFFFFFFFF)):
            if v <= top:
                out.append(code)
                out += pystruct.pack(fmt, v)
                return
        out.append(0xCF)
        out += pystruct.pack(">Q", v & 0xFFFFFFFFFFFFFFFF)
    else:
        for code, fmt, low in ((0xD0, ">b", -128), (0xD1, ">h", -32768), (0xD2, ">i", -(2**31))):
            if v >= low:
                out.append(code)
                out += pystruct.pack(fmt, v)
                return
        out.append(0xD3)
        out += pystruct.pack(">q", max(v, -(2**63)))


def _pack_header(n: int, out: bytearray, fix: int, c16: bytes, c32: bytes) -> None:
    if n < 16:
        out.append(fix | n)
    elif n < 65536:
        out += c16 + n.to_bytes(2, "big")
    else:
        out += c32 + n.to_bytes(4, "big")


# -- struct ----------------------------------------------------------------------

_STRUCT_INTS = {"b": 1, "B": 1, "h": 2, "H": 2, "i": 4, "I": 4, "l": 8, "L": 8, "j": 8, "J": 8,
                "T": 8}


def _struct_items(fmt: bytes) -> list[tuple[str, int]]:
    """The format as (letter, count) pairs; endianness letters have count 0."""
    text = fmt.decode("latin-1")
    items = []
    i = 0
    while i < len(text):
        c = text[i]
        i += 1
        j = i
        while j < len(text) and text[j].isdigit():
            j += 1
        count = int(text[i:j]) if j > i else -1
        i = j
        if c == " ":
            continue
        if c not in "<>!=xbBhHiIlLjJTfdscz":
            raise LibError("invalid format option '%s'" % c)
        items.append((c, count))
    return items


def _struct_walk(fmt: bytes) -> list[tuple[str, int, str]]:
    """(letter, size, endianness) for every item."""
    endian = "<"
    out = []
    for c, count in _struct_items(fmt):
        if c in "<>=!":
            endian = {"<": "<", ">": ">", "=": "<", "!": endian}[c]
            continue
        if c in _STRUCT_INTS:
            size = count if count > 0 and c in "iI" else _STRUCT_INTS[c]
            if size > 8:
                raise LibError("integral size %d is larger than limit of 8" % size)
        elif c == "f":
            size = 4
        elif c == "d":
            size = 8
        elif c == "x":
            size = 1
        elif c == "c":
            size = max(count, 0) if count >= 0 else 1
        elif c == "s":
            size = count if count > 0 else 8
        else:
            size = 0
        out.append((c, size, endian))
    return out


def _struct_size(fmt: Any) -> int:
    total = 0
    for c, size, _ in _struct_walk(_bytes(fmt)):
        if c in "sz":
            raise LibError("options 's' and 'z' are variable-length")
        total += size
    return total


def _bytes(v: Any) -> bytes:
    if type(v) is bytes:
        return v
    if type(v) in (int, float):
        return _number_text(v)
    raise LibError("bad argument #1 (string expected)")


def _struct_pack(fmt: Any, *args: Any) -> bytes:
    out = bytearray()
    values = list(args)
    for c, size, endian in _struct_walk(_bytes(fmt)):
        if c == "x":
            out.append(0)
            continue
        if not values:
            raise LibError("bad argument to 'pack' (no value)")
        v = values.pop(0)
        order = "little" if endian == "<" else "big"
        if c in _STRUCT_INTS:
            n = int(v) if type(v) in (int, float) else int(_bytes(v))
            out += (n & ((1 << (8 * size)) - 1)).to_bytes(size, order)
        elif c in "fd":
            out += pystruct.pack(endian + c, float(v))
        elif c == "c":
            s = _bytes(v)
            out += s[:size] if size else s
            if len(s) < size:
                out += bytes(size - len(s))
        elif c == "z":
            out += _bytes(v) + b"\x00"
        elif c == "s":
            s = _bytes(v)
            out += len(s).to_bytes(size, order) + s
    return bytes(out)


def _struct_unpack(fmt: Any, data: Any, start: Any = 1) -> tuple[Any, ...]:
    d = _bytes(data)
    pos = int(start) - 1
    out: list[Any] = []
    for c, size, endian in _struct_walk(_bytes(fmt)):
        order = "little" if endian == "<" else "big"
        if c == "z":
            end = d.find(b"\x00", pos)
            if end < 0:
                raise LibError("unfinished string for format 'z'")
            out.append(d[pos:end])
            pos = end + 1
            continue
        if pos + size > len(d):
            raise LibError("data string too short")
        chunk = d[pos:pos + size]
        pos += size
        if c == "x":
            continue
        if c in _STRUCT_INTS:
            out.append(int.from_bytes(chunk, order, signed=c in "bhilj"))
        elif c in "fd":
            out.append(pystruct.unpack(endian + c, chunk)[0])
        elif c == "c":
            out.append(chunk)
        elif c == "s":
            n = int.from_bytes(chunk, order)
            if pos + n > len(d):
                raise LibError("data string too short")
            out.append(d[pos:pos + n])
            pos += n
    out.append(pos + 1)
    return tuple(out)
