"""Function libraries (FUNCTION LOAD, FCALL): parsing, registration, and the DUMP payload.

Strategy: a library is its code plus the functions its body registered.
`Libraries.load` parses the ``#!lua name=<lib>`` line as Redis 7.0 does,
compiles the rest (keeping the first line's newline, so line numbers match)
under the chunk name ``@user_function``, and runs it with the load-time
globals (only ``redis.register_function``, ``redis.log`` and the LOG
constants), collecting registrations through `LuaVM.registering`. Nothing
changes unless the whole load succeeds: the registrations are checked
against the other libraries and then swapped in at once. A body that runs
too long is stopped by the VM's hook (instruction count, so the simulator
stays deterministic).

`dump` writes Redis's payload: per library the RDB function opcode and the
code as an RDB string, then the RDB version and a CRC-64 (Jones) of it all.
gyrekv never LZF-compresses (Redis compresses long code, so the bytes can
differ from Redis's for the same libraries), but reads both forms.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from lupa import lua51

from crdt.errors import CommandError
from crdt.scripting.text import c_string

lua_type = lua51.lua_type
FLAGS = (b"no-writes", b"allow-oom", b"allow-stale", b"no-cluster", b"allow-cross-slot-keys")
_NAME_RE = re.compile(rb"^[A-Za-z0-9_]+$")
NAME_ERROR = (b"Library names can only contain letters, numbers, or underscores(_) and must be "
              b"at least one character long")
# Hooks (of `vm.HOOK_INSTRUCTIONS` instructions each) a library body may run.
LOAD_HOOKS = 500
RDB_OPCODE_FUNCTION2 = 0xF5
RDB_VERSION = 10
RDB_ENC_LZF = 3


@dataclass
class Function:
    name: bytes
    callback: Any
    flags: tuple[bytes, ...]
    description: bytes | None
    library: Library | None = None


@dataclass
class Library:
    name: bytes
    code: bytes
    functions: dict[bytes, Function] = field(default_factory=dict)


class Libraries:
    """Every loaded library, and every function by name."""

    def __init__(self) -> None:
        self.libraries: dict[bytes, Library] = {}
        # Function names are case-insensitive (library names are not): keyed lower-cased.
        self.functions: dict[bytes, Function] = {}

    def function(self, name: bytes) -> Function | None:
        return self.functions.get(name.lower())

    # -- LOAD ------------------------------------------------------------------

    def load(self, vm: Any, code: bytes, replace: bool) -> bytes:
        """FUNCTION LOAD: the library's name; raises Redis's error text."""
        library = self.create(vm, code)
        self.install([library], replace)
        return library.name

    def create(self, vm: Any, code: bytes) -> Library:
        """Parse, compile and run a library's code; the library, not installed yet."""
        name, body = parse_metadata(code)
        f = vm.compile(body, b"@user_function", b"ERR Error compiling function: ")
        library = Library(name, code)

        def register(args: tuple[Any, ...]) -> bytes | None:
            return _register(library, args)

        vm.registering = register
        vm.loading_hooks = LOAD_HOOKS
        try:
            result = vm._load_library(f)
        finally:
            vm.registering = None
            vm.loading_hooks = -1
        if type(result) is not tuple:
            result = (result,)
        if not result[0]:
            vm._rearm_hook()
            err = result[1] if len(result) > 1 else None
            text = err[b"err"] if err is not None and lua_type(err) == "table" else None
            raise CommandError(b"ERR Error registering functions: "
                               + (text if type(text) is bytes else b"ERR unknown error"))
        if not library.functions:
            raise CommandError(b"ERR No functions registered")
        return library

    def install(self, new: list[Library], replace: bool, quoted: bool = True) -> None:
        """Add libraries all at once, or none: Redis's collision rules (and texts: LOAD quotes
        the library's name, RESTORE does not)."""
        for library in new:
            if library.name in self.libraries and not replace:
                text = b"ERR Library '%s' already exists" if quoted else b"ERR Library %s already exists"
                raise CommandError(text % c_string(library.name))
        replaced = {lib.name for lib in new}
        for library in new:
            for fname in library.functions:
                owner = self.functions.get(fname.lower())
                if owner is not None and owner.library is not None \
                        and owner.library.name not in replaced:
                    raise CommandError(b"ERR Function %s already exists" % c_string(fname))
        for library in new:
            self.delete(library.name)
            self.libraries[library.name] = library
            for fname, fn in library.functions.items():
                fn.library = library
                self.functions[fname.lower()] = fn

    def delete(self, name: bytes) -> bool:
        library = self.libraries.pop(name, None)
        if library is None:
            return False
        for fname in library.functions:
            self.functions.pop(fname.lower(), None)
        return True

    def flush(self) -> None:
        self.libraries.clear()
        self.functions.clear()

    # -- DUMP / RESTORE --------------------------------------------------------

    def dump(self) -> bytes:
        out = bytearray()
        for library in self.libraries.values():
            out.append(RDB_OPCODE_FUNCTION2)
            out += _rdb_length(len(library.code)) + library.code
        out += RDB_VERSION.to_bytes(2, "little")
        out += crc64(bytes(out)).to_bytes(8, "little")
        return bytes(out)

    def restore(self, vm: Any, payload: bytes, policy: bytes) -> None:
        codes = parse_payload(payload)
        libraries = [self.create(vm, code) for code in codes]
        if policy == b"flush":
            saved_libraries, saved_functions = self.libraries, self.functions
            self.libraries, self.functions = {}, {}
            try:
                self.install(libraries, False, quoted=False)
            except CommandError:
                self.libraries, self.functions = saved_libraries, saved_functions
                raise
        else:
            self.install(libraries, policy == b"replace", quoted=False)


def parse_metadata(code: bytes) -> tuple[bytes, bytes]:
    """The library name and the code to compile (from the first newline on)."""
    if not code.startswith(b"#!"):
        raise CommandError(b"ERR Missing library metadata")
    end = code.find(b"\n")
    if end < 0:
        raise CommandError(b"ERR Invalid library metadata")
    parts = code[2:end].split()
    if not parts:
        raise CommandError(b"ERR Invalid library metadata")
    engine, name = parts[0], None
    for part in parts[1:]:
        if part[:5].lower() == b"name=":
            name = part[5:]
        else:
            raise CommandError(b"ERR Invalid metadata value given: %s" % c_string(part))
    if name is None:
        raise CommandError(b"ERR Library name was not given")
    if engine.lower() != b"lua":
        raise CommandError(b"ERR Engine '%s' not found" % c_string(engine))
    if not _NAME_RE.match(name):
        raise CommandError(b"ERR " + NAME_ERROR)
    return name, code[end:]


def _register(library: Library, args: tuple[Any, ...]) -> bytes | None:
    """redis.register_function's checks; None when the function was added to `library`."""
    flags: list[bytes] = []
    description = None
    if len(args) == 1:
        table = args[0]
        if lua_type(table) != "table":
            return (b"calling redis.register_function with a single argument is only applicable "
                    b"to Lua table (representing named arguments).")
        name = callback = None
        for key, value in table.items():
            if key == b"function_name":
                name = value
            elif key == b"callback":
                callback = value
            elif key == b"flags":
                if lua_type(value) != "table":
                    return b"flags argument to redis.register_function must be a table representing function flags"
                for _, flag in value.items():
                    if type(flag) is not bytes or flag not in FLAGS:
                        return b"unknown flag given"
                    flags.append(flag)
            elif key == b"description":
                if type(value) in (int, float):
                    value = b"%d" % value if float(value).is_integer() else b"%.14g" % value
                if type(value) is not bytes:
                    return b"description argument given to redis.register_function must be a string"
                description = value
            else:
                return b"unknown argument given to redis.register_function"
        if name is None:
            return b"redis.register_function must get a function name argument"
        if callback is None:
            return b"redis.register_function must get a callback argument"
    elif len(args) == 2:
        name, callback = args
        if lua_type(callback) != "function":
            return b"second argument to redis.register_function must be a function"
    else:
        return b"wrong number of arguments to redis.register_function"
    if type(name) in (int, float):  # Lua's tostring of a number, as lua_tostring gives
        name = b"%d" % name if float(name).is_integer() else b"%.14g" % name
    if type(name) is not bytes:
        return b"function_name argument given to redis.register_function must be a string"
    if lua_type(callback) != "function":
        return b"callback argument given to redis.register_function must be a function"
    if not _NAME_RE.match(name):
        return NAME_ERROR
    if any(name.lower() == other.lower() for other in library.functions):
        return b"Function already exists in the library"
    ordered = tuple(f for f in FLAGS if f in flags)
    library.functions[name] = Function(name, callback, ordered, description)
    return None


# -- the payload -------------------------------------------------------------------


def _rdb_length(n: int) -> bytes:
    if n < 1 << 6:
        return bytes([n])
    if n < 1 << 14:
        return bytes([0x40 | (n >> 8), n & 0xFF])
    if n < 1 << 32:
        return b"\x80" + n.to_bytes(4, "big")
    return b"\x81" + n.to_bytes(8, "big")


def _read_length(data: bytes, pos: int) -> tuple[int, bool, int]:
    """(length or encoding, is an encoding, next position)."""
    first = data[pos]
    kind = first >> 6
    if kind == 0:
        return first & 0x3F, False, pos + 1
    if kind == 1:
        return ((first & 0x3F) << 8) | data[pos + 1], False, pos + 2
    if kind == 3:
        return first & 0x3F, True, pos + 1
    if first == 0x80:
        return int.from_bytes(data[pos + 1:pos + 5], "big"), False, pos + 5
    if first == 0x81:
        return int.from_bytes(data[pos + 1:pos + 9], "big"), False, pos + 9
    raise ValueError("bad length")


def _read_string(data: bytes, pos: int) -> tuple[bytes, int]:
    n, encoded, pos = _read_length(data, pos)
    if not encoded:
        if pos + n > len(data):
            raise ValueError("short")
        return data[pos:pos + n], pos + n
    if n == RDB_ENC_LZF:
        clen, _, pos = _read_length(data, pos)
        ulen, _, pos = _read_length(data, pos)
        return lzf_decompress(data[pos:pos + clen], ulen), pos + clen
    if n in (0, 1, 2):  # an integer stored in 1, 2 or 4 bytes
        size = 1 << n
        return b"%d" % int.from_bytes(data[pos:pos + size], "little", signed=True), pos + size
    raise ValueError("bad encoding")


def parse_payload(payload: bytes) -> list[bytes]:
    """The library codes in a FUNCTION DUMP payload; raises Redis's errors."""
    if len(payload) < 10:
        raise CommandError(b"ERR DUMP payload version or checksum are wrong")
    body, footer = payload[:-8], payload[-8:]
    version = int.from_bytes(payload[-10:-8], "little")
    if version > RDB_VERSION or crc64(body) != int.from_bytes(footer, "little"):
        raise CommandError(b"ERR DUMP payload version or checksum are wrong")
    data = payload[:-10]
    codes = []
    pos = 0
    try:
        while pos < len(data):
            if data[pos] != RDB_OPCODE_FUNCTION2:
                raise CommandError(b"ERR given type is not a function")
            code, pos = _read_string(data, pos + 1)
            codes.append(code)
    except (ValueError, IndexError):
        raise CommandError(b"ERR payload is not a valid functions payload") from None
    return codes


def lzf_decompress(data: bytes, size: int) -> bytes:
    out = bytearray()
    i = 0
    while i < len(data):
        ctrl = data[i]
        i += 1
        if ctrl < 32:
            out += data[i:i + ctrl + 1]
            i += ctrl + 1
        else:
            length = ctrl >> 5
            if length == 7:
                length += data[i]
                i += 1
            ref = len(out) - ((ctrl & 0x1F) << 8) - data[i] - 1
            i += 1
            if ref < 0:
                raise ValueError("bad back reference")
            for _ in range(length + 2):
                out.append(out[ref])
                ref += 1
    if len(out) != size:
        raise ValueError("bad size")
    return bytes(out)


def _crc64_table() -> list[int]:
    poly = 0x95AC9329AC4BC9B5  # Jones's polynomial 0xad93d23594c935a9, bit-reversed
    table = []
    for i in range(256):
        crc = i
        for _ in range(8):
            crc = (crc >> 1) ^ poly if crc & 1 else crc >> 1
        table.append(crc)
    return table


_CRC64 = _crc64_table()


def crc64(data: bytes, crc: int = 0) -> int:
    """Redis's CRC-64 (Jones, reflected, no final xor): crc64(b"123456789") = 0xe9c6d914c4b8d9ca."""
    table = _CRC64
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc
