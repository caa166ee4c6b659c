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
import re
import struct as pystruct
from typing import Any

from lupa import lua51

lua_type = lua51.lua_type
VERSION = b"7.0.15"
VERSION_NUM = 0x07000F
MAX_DEPTH = 1000


class LibError(Exception):
    """An error a library function raises in Lua, with this text.

    Like the C libraries' luaL_error, it names the calling script's line
    ("user_script:1: ...") when it ends a script; see the sandbox's handler.
    """


def argerror(n: int, fname: str, msg: str) -> LibError:
    """luaL_argerror's text."""
    return LibError("bad argument #%d to '%s' (%s)" % (n, fname, msg))


class Null:
    """cjson.null: the userdata that stands for JSON null (Redis's is a NULL light userdata)."""

    def __repr__(self) -> str:
        return "userdata: (nil)"

    __str__ = __repr__


NULL = Null()


class Rand48:
    """math.random's generator, as Redis replaces Lua's (rand.c: drand48's 48-bit congruence).

    Not the C library's rand(): one sequence runs on across scripts, as in Redis
    7.0, and its seed comes from the engine's RNG (`Engine.rng`), so the
    simulator replays it; math.randomseed(n) gives Redis's own numbers.
    """

    MASK = (1 << 48) - 1
    MAX = 0x7FFFFFFF  # REDIS_LRAND48_MAX

    def __init__(self) -> None:
        self.x = 0
        self.seed(0)

    def seed(self, n: int) -> None:
        """srand48: the seed's 32 bits above 0x330E."""
        self.x = ((n & 0xFFFFFFFF) << 16) | 0x330E

    def next31(self) -> int:
        self.x = (0x5DEECE66D * self.x + 0xB) & self.MASK
        return self.x >> 17

    def random(self, *args: Any) -> float:
        """math.random([m [, n]]), as Redis's redis_math_random."""
        r = (self.next31() % self.MAX) / self.MAX
        if not args:
            return r
        if len(args) == 1:
            u = _checkint(args, 1, "random")
            if u < 1:
                raise argerror(1, "random", "interval is empty")
            return float(math.floor(r * u) + 1)
        if len(args) == 2:
            lo, hi = _checkint(args, 1, "random"), _checkint(args, 2, "random")
            if lo > hi:
                raise argerror(2, "random", "interval is empty")
            return float(math.floor(r * (hi - lo + 1)) + lo)
        raise LibError("wrong number of arguments")

    def randomseed(self, *args: Any) -> None:
        self.seed(_checkint(args, 1, "randomseed"))


def _checkint(args: tuple[Any, ...], i: int, fname: str) -> int:
    """luaL_checkint: argument `i` (1-based) as a number (numeric strings too), truncated."""
    x = args[i - 1] if len(args) >= i else None
    if type(x) is bytes:
        try:
            x = float(x)
        except ValueError:
            raise argerror(i, fname, "number expected, got string") from None
    if type(x) not in (int, float):
        raise argerror(i, fname, "number expected, got %s" % ("no value" if len(args) < i else lua_type(x) or "nil"))
    if type(x) is float and (math.isnan(x) or math.isinf(x)):
        return -(2**31)  # what C's cast gives on x86
    return int(x)


def build(lua: Any, prng: Rand48) -> Any:
    """The `libs` table the sandbox reads: version facts, the four libraries, and
    math.random/math.randomseed on `prng`.

    Each library is ``{fns = {...}, consts = {...}}``: the sandbox turns every
    function into a Lua C function (python.as_function), so a script's call
    to one is a C call, as with Redis's libraries.
    """
    def spec(fns: dict[bytes, Any], consts: dict[bytes, Any] | None = None) -> Any:
        return lua.table_from({b"fns": lua.table_from({k: _guarded(f, k.decode()) for k, f in fns.items()}),
                               b"consts": lua.table_from(consts or {})})

    ctx = _Ctx(lua)
    bit = spec({b"tobit": _tobit, b"tohex": _tohex, b"bnot": lambda *a: _s32(~_n(a, 1, "bnot")),
                b"band": _fold("band", lambda a, b: a & b), b"bor": _fold("bor", lambda a, b: a | b),
                b"bxor": _fold("bxor", lambda a, b: a ^ b), b"lshift": _shift("lshift"),
                b"rshift": _shift("rshift"), b"arshift": _shift("arshift"), b"rol": _shift("rol"),
                b"ror": _shift("ror"), b"bswap": lambda *a: _bswap(_n(a, 1, "bswap"))})
    cjson = spec({b"encode": ctx.json_encode, b"decode": ctx.json_decode,
                  b"encode_keep_buffer": _noop, b"encode_max_depth": _noop,
                  b"decode_max_depth": _noop, b"encode_number_precision": _noop,
                  b"encode_sparse_array": _noop, b"encode_invalid_numbers": _noop,
                  b"decode_invalid_numbers": _noop, b"new": _noop},
                 {b"null": NULL, b"_NAME": b"cjson", b"_VERSION": b"2.1.0"})
    cmsgpack = spec({b"pack": ctx.msgpack_pack, b"unpack": ctx.msgpack_unpack,
                     b"unpack_one": ctx.msgpack_unpack_one, b"unpack_limit": ctx.msgpack_unpack_limit},
                    {b"_NAME": b"lua-cmsgpack", b"_VERSION": b"lua-cmsgpack 0.4.0",
                     b"_COPYRIGHT": b"Copyright (C) 2012, Salvatore Sanfilippo",
                     b"_DESCRIPTION": b"MessagePack C implementation for Lua"})
    struct = spec({b"pack": _struct_pack, b"unpack": _struct_unpack, b"size": _struct_size})
    rmath = spec({b"random": prng.random, b"randomseed": prng.randomseed})
    return lua.table_from({b"version": VERSION, b"version_num": VERSION_NUM, b"bit": bit,
                           b"cjson": cjson, b"cmsgpack": cmsgpack, b"struct": struct, b"math": rmath})


def _guarded(fn: Any, fname: str) -> Any:
    def call(*args: Any) -> Any:
        try:
            return fn(*args)
        except LibError:
            raise
        except (TypeError, ValueError, OverflowError, pystruct.error, IndexError) as e:
            raise LibError("bad argument to '%s' (%s)" % (fname, e)) from None
    return call


def _noop(*args: Any) -> Any:
    return None


# -- bit -------------------------------------------------------------------------


def _n(args: tuple[Any, ...], i: int, fname: str) -> int:
    """Argument `i` (1-based) as LuaBitOp reads it: a number, normalised to 32 bits."""
    x = args[i - 1] if len(args) >= i else None
    if type(x) is bytes:
        try:
            x = float(x)
        except ValueError:
            raise argerror(i, fname, "number expected, got string") from None
    if type(x) not in (int, float):
        raise argerror(i, fname, "number expected, got %s" % ("no value" if len(args) < i else lua_type(x) or "nil"))
    if type(x) is float:
        if math.isnan(x) or math.isinf(x):
            return 0
        x = round(x)  # the FP addition trick LuaBitOp uses rounds half to even, as round() does
    return int(x) & 0xFFFFFFFF


def _s32(x: int) -> int:
    x &= 0xFFFFFFFF
    return x - 0x100000000 if x & 0x80000000 else x


def _tobit(*args: Any) -> int:
    return _s32(_n(args, 1, "tobit"))


def _fold(fname: str, op: Any) -> Any:
    def f(*args: Any) -> int:
        acc = _n(args, 1, fname)
        for i in range(2, len(args) + 1):
            acc = op(acc, _n(args, i, fname))
        return _s32(acc)
    return f


def _tohex(*args: Any) -> bytes:
    value = _n(args, 1, "tohex")
    digits = 8 if len(args) < 2 or args[1] is None else _s32(_n(args, 2, "tohex"))
    upper = digits < 0
    digits = min(abs(digits), 8)
    text = ("%08x" % value)[8 - digits:]
    return (text.upper() if upper else text).encode()


def _shift(fname: str) -> Any:
    def f(*args: Any) -> int:
        v, k = _n(args, 1, fname), _n(args, 2, fname) & 31
        if fname == "lshift":
            return _s32(v << k)
        if fname == "rshift":
            return _s32(v >> k)
        if fname == "arshift":
            return _s32(_s32(v) >> k)
        if fname == "rol":
            return _s32((v << k) | (v >> (32 - k)))
        return _s32((v >> k) | (v << (32 - k)))
    return f


def _bswap(v: int) -> int:
    return _s32(int.from_bytes(v.to_bytes(4, "little"), "big"))


# -- cjson and cmsgpack ----------------------------------------------------------


def _number_text(x: Any) -> bytes:
    """A Lua number as cjson prints it (%.14g: 1e+14, not 100000000000000)."""
    x = float(x)
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

    def json_decode(self, *args: Any) -> Any:
        if len(args) != 1:
            raise argerror(1, "decode", "expected 1 argument")
        text = args[0]
        if type(text) in (int, float):
            text = _number_text(text)
        if type(text) is not bytes:
            raise argerror(1, "decode", "string expected, got %s" % (lua_type(text) or "nil"))
        return _JsonDecoder(self.lua, text).document()

    def msgpack_pack(self, *values: Any) -> bytes:
        if not values:
            raise argerror(0, "pack", "MessagePack pack needs input.")
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
        elif t is float and (not v.is_integer() or math.isinf(v)):
            single = pystruct.unpack(">f", pystruct.pack(">f", v))[0] if abs(v) < 3.4e38 or math.isinf(v) else None
            if single == v or (single != single and v != v):
                out += b"\xca" + pystruct.pack(">f", v)
            else:
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
            if n >= 0:  # an empty table is an (empty) array
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
            raise argerror(1, "unpack", "string expected, got %s" % (lua_type(data) or "nil"))
        values = []
        pos = 0
        while pos < len(data):
            value, pos = self._unpack(data, pos)
            values.append(value)
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
# lua_struct (Roberto Ierusalimschy's): ">" big endian, "<" and "=" little, "!n" alignment;
# "b B h H l L T i I" integers (i/I take an optional size, "l" is 8 bytes), "f d" floats,
# "s" a zero-terminated string, "cn" n chars ("c0": the length is the value before), "x"
# a padding byte.

_STRUCT_SIZES = {"b": 1, "B": 1, "h": 2, "H": 2, "l": 8, "L": 8, "T": 8, "i": 4, "I": 4,
                 "f": 4, "d": 8, "x": 1, "s": 0, "c": 1}
MAXINTSIZE = 32
MAXALIGN = 8


class _Walk:
    """The format's items in order: (option, size, little endian, padding before it)."""

    def __init__(self, fmt: Any, fname: str) -> None:
        if type(fmt) in (int, float):
            fmt = _number_text(fmt)
        if type(fmt) is not bytes:
            raise argerror(1, fname, "string expected, got %s" % (lua_type(fmt) or "nil"))
        self.text = fmt.decode("latin-1")
        self.name = fname

    def items(self, total_of: Any) -> Any:
        text = self.text
        little = True
        align = 1
        i = 0
        while i < len(text):
            opt = text[i]
            i += 1
            j = i
            while j < len(text) and text[j].isdigit():
                j += 1
            number = int(text[i:j]) if j > i else None
            if opt == " ":
                continue
            if opt in "<=":
                little = True
                continue
            if opt == ">":
                little = False
                continue
            if opt == "!":
                align = number if number is not None else MAXALIGN
                i = j
                continue
            if opt not in _STRUCT_SIZES:
                raise argerror(1, self.name, "invalid format option '%s'" % opt)
            size = _STRUCT_SIZES[opt]
            if opt in "iI" and number is not None:
                size = number
                i = j
                if size > MAXINTSIZE:
                    raise LibError("integral size %d is larger than limit of %d" % (size, MAXINTSIZE))
            elif opt == "c":
                size = number if number is not None else 1
                i = j
            elif number is not None:
                raise argerror(1, self.name, "invalid format option '%s'" % text[i])
            pad = 0
            if size > 1 and opt not in "cs":
                a = min(size, align)
                if a & (a - 1):
                    raise argerror(1, self.name, "alignment must be power of 2")
                pad = (a - (total_of() & (a - 1))) & (a - 1)
            yield opt, size, little, pad


def _struct_size(*args: Any) -> int:
    walk = _Walk(args[0] if args else None, "size")
    total = 0
    for opt, size, _, pad in walk.items(lambda: total):
        if opt == "s" or (opt == "c" and size == 0):
            raise argerror(1, "size", "option '%s' has no fixed size" % opt)
        total += pad + size
    return total


def _struct_pack(*args: Any) -> bytes:
    walk = _Walk(args[0] if args else None, "pack")
    out = bytearray()
    arg = 1
    for opt, size, little, pad in walk.items(lambda: len(out)):
        out += bytes(pad)
        if opt == "x":
            out.append(0)
            continue
        arg += 1
        v = args[arg - 1] if len(args) >= arg else None
        order = "little" if little else "big"
        if opt in "bBhHlLTiI":
            got = "string" if type(v) is bytes else lua_type(v) or ("nil" if len(args) >= arg else "no value")
            if type(v) is bytes:
                try:
                    v = float(v)
                except ValueError:
                    v = None
            if type(v) not in (int, float):
                raise argerror(arg, "pack", "number expected, got %s" % got)
            n = int(v)
            out += (n & ((1 << (8 * size)) - 1)).to_bytes(size, order)
        elif opt in "fd":
            if type(v) not in (int, float):
                raise argerror(arg, "pack", "number expected, got %s" % (lua_type(v) or "no value"))
            out += pystruct.pack(("<" if little else ">") + opt, float(v))
        else:  # c, s
            if type(v) in (int, float):
                v = _number_text(v)
            if type(v) is not bytes:
                raise argerror(arg, "pack", "string expected, got %s" % (lua_type(v) or "no value"))
            if opt == "c":
                n = size or len(v)
                if len(v) < n:  # lua_struct names the argument after it here
                    raise argerror(arg + 1, "pack", "string too short")
                out += v[:n]
            else:
                out += v + b"\x00"
    return bytes(out)


def _struct_unpack(*args: Any) -> tuple[Any, ...]:
    walk = _Walk(args[0] if args else None, "unpack")
    data = args[1] if len(args) > 1 else None
    if type(data) in (int, float):
        data = _number_text(data)
    if type(data) is not bytes:
        raise argerror(2, "unpack", "string expected, got %s" % (lua_type(data) or "no value"))
    pos = int(args[2]) - 1 if len(args) > 2 and type(args[2]) in (int, float) else 0
    if pos < 0 or pos > len(data):
        raise argerror(3, "unpack", "offset must be 1 or greater")
    out: list[Any] = []
    for opt, size, little, pad in walk.items(lambda: pos):
        pos += pad
        if opt == "s":
            end = data.find(b"\x00", pos)
            if end < 0:
                raise argerror(2, "unpack", "unfinished string in data")
            out.append(data[pos:end])
            pos = end + 1
            continue
        if opt == "c" and size == 0:
            if not out or type(out[-1]) not in (int, float):
                raise argerror(1, "unpack", "format 'c0' needs a previous size")
            size = int(out.pop())
        if pos + size > len(data):
            raise argerror(2, "unpack", "data string too short")
        chunk = data[pos:pos + size]
        pos += size
        order = "little" if little else "big"
        if opt == "x":
            continue
        if opt in "bBhHlLTiI":
            out.append(int.from_bytes(chunk, order, signed=opt in "bhli"))
        elif opt in "fd":
            out.append(pystruct.unpack(("<" if little else ">") + opt, chunk)[0])
        else:
            out.append(chunk)
    out.append(pos + 1)
    return tuple(out)


# -- the cjson decoder -------------------------------------------------------------


class _JsonDecoder:
    """Redis's cjson decoding, with its error texts: token by token, doubles for numbers."""

    _SIMPLE = {ord("{"): "T_OBJ_BEGIN", ord("}"): "T_OBJ_END", ord("["): "T_ARR_BEGIN",
               ord("]"): "T_ARR_END", ord(":"): "T_COLON", ord(","): "T_COMMA"}
    _NUMBER = re.compile(rb"-?(?:0[xX][0-9a-fA-F]+|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|inf(?:inity)?|nan)",
                         re.IGNORECASE)

    def __init__(self, lua: Any, text: bytes) -> None:
        self.lua = lua
        self.text = text
        self.pos = 0
        self.depth = 0

    def _token(self) -> tuple[str, Any, int]:
        text, pos = self.text, self.pos
        while pos < len(text) and text[pos] in b" \t\r\n":
            pos += 1
        start = pos
        if pos >= len(text):
            self.pos = pos
            return "T_END", None, start
        c = text[pos]
        if c in self._SIMPLE:
            self.pos = pos + 1
            return self._SIMPLE[c], None, start
        if c == ord('"'):
            return self._string(pos)
        for word, kind, value in ((b"true", "T_BOOLEAN", True), (b"false", "T_BOOLEAN", False),
                                  (b"null", "T_NULL", NULL)):
            if text.startswith(word, pos):
                self.pos = pos + len(word)
                return kind, value, start
        m = self._NUMBER.match(text, pos)
        if m and (c in b"-0123456789"):
            raw = m.group(0)
            try:
                value = float(int(raw, 16)) if raw.lower().lstrip(b"-").startswith(b"0x") else float(raw)
            except ValueError:
                return "T_ERROR", "invalid number", start
            if raw.lower().lstrip(b"-").startswith((b"inf", b"nan")):
                return "T_ERROR", "invalid number", start
            self.pos = m.end()
            if value.is_integer() and abs(value) < 2**63:
                return "T_NUMBER", int(value), start
            return "T_NUMBER", value, start
        return "T_ERROR", "invalid token", start

    def _string(self, pos: int) -> tuple[str, Any, int]:
        text = self.text
        start = pos
        pos += 1
        out = bytearray()
        escapes = {ord('"'): b'"', ord("\\"): b"\\", ord("/"): b"/", ord("b"): b"\b",
                   ord("f"): b"\f", ord("n"): b"\n", ord("r"): b"\r", ord("t"): b"\t"}
        while True:
            if pos >= len(text):
                return "T_ERROR", "unexpected end of string", start
            c = text[pos]
            if c == ord('"'):
                self.pos = pos + 1
                return "T_STRING", bytes(out), start
            if c == ord("\\"):
                if pos + 1 >= len(text):
                    return "T_ERROR", "invalid escape code", start
                e = text[pos + 1]
                if e in escapes:
                    out += escapes[e]
                    pos += 2
                    continue
                if e == ord("u"):
                    code = self._unicode(pos)
                    if code is None:
                        return "T_ERROR", "invalid unicode escape code", start
                    ch, pos = code
                    out += ch
                    continue
                return "T_ERROR", "invalid escape code", start
            out.append(c)
            pos += 1

    def _unicode(self, pos: int) -> tuple[bytes, int] | None:
        hex4 = self.text[pos + 2:pos + 6]
        try:
            code = int(hex4, 16)
        except ValueError:
            return None
        if len(hex4) != 4:
            return None
        pos += 6
        if 0xD800 <= code <= 0xDBFF:
            if self.text[pos:pos + 2] != b"\\u":
                return None
            try:
                low = int(self.text[pos + 2:pos + 6], 16)
            except ValueError:
                return None
            if not 0xDC00 <= low <= 0xDFFF:
                return None
            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
            pos += 6
        elif 0xDC00 <= code <= 0xDFFF:
            return None
        return chr(code).encode("utf-8", "surrogatepass"), pos

    def _fail(self, expected: str, token: tuple[str, Any, int]) -> LibError:
        kind, value, start = token
        found = value if kind == "T_ERROR" else kind
        return LibError("Expected %s but found %s at character %d" % (expected, found, start + 1))

    def document(self) -> Any:
        value = self._value(self._token())
        end = self._token()
        if end[0] != "T_END":
            raise self._fail("the end", end)
        return value

    def _value(self, token: tuple[str, Any, int]) -> Any:
        kind, value, start = token
        if kind in ("T_STRING", "T_NUMBER", "T_BOOLEAN", "T_NULL"):
            return value
        if kind == "T_OBJ_BEGIN":
            return self._object(start)
        if kind == "T_ARR_BEGIN":
            return self._array(start)
        raise self._fail("value", token)

    def _nest(self, start: int) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise LibError("Found too many nested data structures (%d) at character %d"
                           % (self.depth, start + 1))

    def _object(self, start: int) -> Any:
        self._nest(start)
        table = self.lua.table_from({})
        token = self._token()
        if token[0] == "T_OBJ_END":
            self.depth -= 1
            return table
        while True:
            if token[0] != "T_STRING":
                raise self._fail("object key string", token)
            key = token[1]
            colon = self._token()
            if colon[0] != "T_COLON":
                raise self._fail("colon", colon)
            table[key] = self._value(self._token())
            token = self._token()
            if token[0] == "T_OBJ_END":
                self.depth -= 1
                return table
            if token[0] != "T_COMMA":
                raise self._fail("comma or object end", token)
            token = self._token()

    def _array(self, start: int) -> Any:
        self._nest(start)
        table = self.lua.table_from({})
        token = self._token()
        if token[0] == "T_ARR_END":
            self.depth -= 1
            return table
        i = 1
        while True:
            table[i] = self._value(token)
            i += 1
            token = self._token()
            if token[0] == "T_ARR_END":
                self.depth -= 1
                return table
            if token[0] != "T_COMMA":
                raise self._fail("comma or array end", token)
            token = self._token()
