"""Server parameters for CONFIG GET/SET: one table of what the server honours.

Strategy: each parameter is a row (name, default, kind, mutable, range).
Values are kept parsed (ints, strings); CONFIG GET formats them back as
Redis does. Only parameters that really change behaviour are listed, so
CONFIG SET of anything else fails with Redis's unknown-option error rather
than pretending. Listeners (the server, the engine) read `Config.values`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from crdt.errors import CommandError
from crdt.glob import glob_match

_MEMORY_UNITS = {"": 1, "b": 1, "k": 1000, "kb": 1024, "m": 1000**2, "mb": 1024**2,
                 "g": 1000**3, "gb": 1024**3}
_MEMORY_RE = re.compile(r"^(-?\d+)([a-z]*)$")
INT_MAX = 2**31 - 1
LONG_MAX = 2**63 - 1


@dataclass(frozen=True, slots=True)
class Param:
    name: str
    default: str
    kind: str  # "int" | "memory" | "string" | "bool" | "enum" | "special"
    mutable: bool = True
    low: int = 0
    high: int = LONG_MAX
    choices: tuple[str, ...] = ()
    check: Callable[[str], str | None] | None = None  # returns an error text or None


def _no_persistence(value: str) -> str | None:
    return None if value.strip() == "" else "gyrekv keeps no persistence"


def _appendonly(value: str) -> str | None:
    return None if value == "no" else "gyrekv keeps no persistence"


def _output_limits(value: str) -> str | None:
    words = value.split()
    if len(words) % 4 != 0 or not words:
        return "Wrong number of arguments in buffer limit configuration."
    for i in range(0, len(words), 4):
        if words[i] not in ("normal", "replica", "slave", "pubsub"):
            return "Invalid client class specified in buffer limit configuration."
        for w in words[i + 1:i + 3]:
            if parse_memory(w) is None:
                return "Error in hard or soft limit in buffer limit configuration."
        if not words[i + 3].isdigit():
            return "Error in soft limit seconds in buffer limit configuration."
    return None


def _keyspace_events(value: str) -> str | None:
    return None if all(ch in "KEg$lshzxetmdnA" for ch in value) else "Invalid event class character. Use 'Ag$lshzxeKEtmdn'."


PARAMS: tuple[Param, ...] = (
    Param("bind", "127.0.0.1", "string", mutable=False),
    Param("port", "6379", "int", mutable=False, high=65535),
    Param("databases", "16", "int", mutable=False, low=1, high=INT_MAX),
    Param("requirepass", "", "string"),
    Param("maxclients", "10000", "int", low=1, high=INT_MAX),
    Param("timeout", "0", "int", high=INT_MAX),
    Param("hz", "10", "int", low=1, high=500),
    Param("active-expire-effort", "1", "int", low=1, high=10),
    Param("proto-max-bulk-len", "536870912", "memory", low=1024 * 1024, high=LONG_MAX),
    Param("client-query-buffer-limit", "1073741824", "memory", low=1024 * 1024, high=LONG_MAX),
    Param("client-output-buffer-limit",
          "normal 268435456 67108864 60 slave 268435456 67108864 60 pubsub 33554432 8388608 60",
          "special", check=_output_limits),
    Param("save", "", "special", check=_no_persistence),
    Param("appendonly", "no", "special", check=_appendonly),
    Param("notify-keyspace-events", "", "special", check=_keyspace_events),
    Param("loglevel", "notice", "enum", choices=("debug", "verbose", "notice", "warning", "nothing")),
    Param("list-max-listpack-size", "-2", "int", low=-5, high=INT_MAX),
    Param("list-compress-depth", "0", "int", high=INT_MAX),
    Param("set-max-intset-entries", "512", "int", high=LONG_MAX),
    Param("set-max-listpack-entries", "128", "int", high=LONG_MAX),
    Param("set-max-listpack-value", "64", "int", high=LONG_MAX),
    Param("hash-max-listpack-entries", "128", "int", high=LONG_MAX),
    Param("hash-max-listpack-value", "64", "int", high=LONG_MAX),
    Param("zset-max-listpack-entries", "128", "int", high=LONG_MAX),
    Param("zset-max-listpack-value", "64", "int", high=LONG_MAX),
)

# Redis 7 keeps the old ziplist names as aliases of the listpack ones.
ALIASES = {
    "list-max-ziplist-size": "list-max-listpack-size",
    "hash-max-ziplist-entries": "hash-max-listpack-entries",
    "hash-max-ziplist-value": "hash-max-listpack-value",
    "zset-max-ziplist-entries": "zset-max-listpack-entries",
    "zset-max-ziplist-value": "zset-max-listpack-value",
    "client-output-buffer-limit-normal": "client-output-buffer-limit",
}

BY_NAME = {p.name: p for p in PARAMS}


def parse_memory(text: str) -> int | None:
    """A Redis memory value ("512mb", "1gb", "100") in bytes, or None."""
    m = _MEMORY_RE.match(text.lower())
    if not m or m.group(2) not in _MEMORY_UNITS:
        return None
    return int(m.group(1)) * _MEMORY_UNITS[m.group(2)]


def _parse(p: Param, text: str) -> Any:
    """Parse a value for `p`; raises ValueError with Redis's reason text."""
    if p.kind == "int":
        try:
            value = int(text)
        except ValueError:
            raise ValueError("argument couldn't be parsed into an integer") from None
        if not p.low <= value <= p.high:
            raise ValueError(f"argument must be between {p.low} and {p.high} inclusive")
        return value
    if p.kind == "memory":
        value = parse_memory(text)
        if value is None:
            raise ValueError("argument must be a memory value")
        if not p.low <= value <= p.high:
            raise ValueError(f"argument must be between {p.low} and {p.high} inclusive")
        return value
    if p.kind == "enum":
        if text.lower() not in p.choices:
            raise ValueError("argument(s) must be one of the following: " + ", ".join(p.choices))
        return text.lower()
    if p.check is not None:
        reason = p.check(text)
        if reason is not None:
            raise ValueError(reason)
    return text


class Config:
    """The live parameter values of one server."""

    def __init__(self, overrides: dict[str, str] | None = None) -> None:
        self.values: dict[str, Any] = {p.name: _parse(p, p.default) for p in PARAMS}
        for name, text in (overrides or {}).items():
            p = BY_NAME[ALIASES.get(name, name)]
            self.values[p.name] = _parse(p, text)
        self.listeners: list[Callable[[str, Any], None]] = []

    def __getitem__(self, name: str) -> Any:
        return self.values[name]

    def get(self, patterns: list[bytes]) -> dict[bytes, bytes]:
        """CONFIG GET: every parameter (or alias) matching any glob pattern."""
        out: dict[bytes, bytes] = {}
        names = list(BY_NAME) + list(ALIASES)
        for pattern in patterns:
            for name in names:
                if glob_match(pattern.lower(), name.encode(), nocase=True):
                    canonical = ALIASES.get(name, name)
                    out[name.encode()] = self.format(canonical).encode()
        return out

    def format(self, name: str) -> str:
        return str(self.values[name])

    def set(self, pairs: list[tuple[bytes, bytes]]) -> None:
        """CONFIG SET, all or nothing, with Redis's error texts."""
        staged: dict[str, Any] = {}
        for raw_name, raw_value in pairs:
            name = raw_name.decode(errors="replace").lower()
            p = BY_NAME.get(ALIASES.get(name, name))
            if p is None:
                raise CommandError(
                    f"ERR Unknown option or number of arguments for CONFIG SET - '{name}'".encode())
            if p.name in staged:
                raise CommandError(f"ERR CONFIG SET failed (possibly related to argument '{name}') "
                                   f"- duplicate parameter".encode())
            if not p.mutable:
                raise CommandError(f"ERR CONFIG SET failed (possibly related to argument '{name}') "
                                   f"- can't set immutable config".encode())
            try:
                staged[p.name] = _parse(p, raw_value.decode(errors="replace"))
            except ValueError as e:
                raise CommandError(f"ERR CONFIG SET failed (possibly related to argument '{name}') "
                                   f"- {e}".encode()) from None
        for name, value in staged.items():
            self.values[name] = value
            for listener in self.listeners:
                listener(name, value)
