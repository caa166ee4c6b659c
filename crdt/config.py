"""Server parameters for CONFIG GET/SET: one table of what the server honours.

Strategy: each parameter is a row (name, default, kind, mutable, range),
with Redis 7.0's default, range and parsing rules, so CONFIG GET/SET answer
byte for byte as Redis does. Values are kept parsed (ints, strings); CONFIG
GET formats them back as Redis does. Only parameters that really change
behaviour are listed, so CONFIG SET of anything else fails with Redis's
unknown-option error rather than pretending. Listeners (the server, the
engine) read `Config.values`.

Parsing follows Redis's config.c:
- integer parameters use string2ll (no '+', no leading zeros, no spaces);
- memory parameters take digits and an optional unit (b, k, kb, m, mb, g, gb;
  any case), wrap at 2**64 like memtoull, then are range checked as signed;
- CONFIG SET checks every name first (unknown, immutable, duplicate: the
  first problem wins), then parses every value, then commits all or nothing;
  a parameter named twice under different spellings (an alias) is not a
  duplicate for Redis 7.0, and the later value wins.

Where gyrekv cannot do what a value asks (persistence: ``save``,
``appendonly yes``; ``port``/``bind`` are fixed at start-up) it says so with an
error instead of pretending.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from crdt import errors
from crdt.errors import CommandError
from crdt.glob import glob_match

_MEMORY_UNITS = {"": 1, "b": 1, "k": 1000, "kb": 1024, "m": 1000**2, "mb": 1024**2,
                 "g": 1000**3, "gb": 1024**3}
_MEMORY_RE = re.compile(r"^([0-9]*)([a-zA-Z]*)$")
_INT_RE = re.compile(r"^(?:0|-?[1-9][0-9]*)$")
_SAVE_NUMBER_RE = re.compile(r"^[ \t]*[+-]?[0-9]+$")
# memtoull copies its text into a 128-byte buffer first; longer text is refused.
MEMORY_TEXT_MAX_CHARS = 128
# A buffer limit's seconds past this many characters are refused (and Python's int()
# stops at 4,300 digits).
_SECONDS_TEXT_MAX_CHARS = 64
INT_MIN = -(2**31)
INT_MAX = 2**31 - 1
UINT_MAX = 2**32 - 1
LONG_MAX = 2**63 - 1
ULLONG_MAX = 2**64 - 1
HZ_MIN = 1
HZ_MAX = 500
# Redis 7.0's event classes, in the order keyspaceEventsFlagsToString prints them.
_EVENT_CLASSES = "g$lshzxetd"  # together: 'A'
_EVENT_CHARS = frozenset("A" + _EVENT_CLASSES + "KEmn")


@dataclass(frozen=True, slots=True)
class Param:
    """One CONFIG parameter: how it parses, its range and whether CONFIG SET may change it."""

    name: str
    default: str
    kind: str  # "int" | "memory" | "string" | "bool" | "enum" | "special"
    mutable: bool = True
    low: int = 0
    high: int = LONG_MAX
    choices: tuple[str, ...] = ()
    # For "special": returns the value to store (canonical form) or raises ValueError(reason).
    check: Callable[[str], str] | None = None
    clamp: tuple[int, int] | None = None  # stored value is clamped (Redis's hz)
    hidden: bool = False  # listed by CONFIG GET only when named exactly (Redis's HIDDEN_CONFIG)
    unsigned: bool = False  # a memory value Redis keeps unsigned (size_t): no wrap to negative


def _save(value: str) -> str:
    words = value.split()
    if len(words) % 2:
        raise ValueError(errors.CONFIG_BAD_SAVE)
    for w in words:
        if not _SAVE_NUMBER_RE.match(w) or int(w) < 0:
            raise ValueError(errors.CONFIG_BAD_SAVE)
    if words:
        raise ValueError(errors.CONFIG_NO_PERSISTENCE)
    return ""


def _appendonly(value: str) -> str:
    lowered = value.lower()
    if lowered not in ("yes", "no"):
        raise ValueError(errors.CONFIG_YES_NO)
    if lowered == "yes":
        raise ValueError(errors.CONFIG_NO_PERSISTENCE)
    return "no"


_BUFFER_CLASSES = {"normal": "normal", "slave": "slave", "replica": "slave", "pubsub": "pubsub"}
_BUFFER_ORDER = ("normal", "slave", "pubsub")
_DEFAULT_OUTPUT_LIMITS = "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60"


def _parse_output_limits(value: str, current: str) -> str:
    """client-output-buffer-limit: merge the given classes into `current`, canonical text."""
    words = value.split()
    if len(words) % 4:
        raise ValueError(errors.CONFIG_BUFFER_LIMIT_ARGS)
    limits = {}
    cur = current.split()
    for i in range(0, len(cur), 4):
        limits[cur[i]] = (int(cur[i + 1]), int(cur[i + 2]), int(cur[i + 3]))
    for i in range(0, len(words), 4):
        cls = _BUFFER_CLASSES.get(words[i].lower())
        if cls is None:
            raise ValueError(errors.CONFIG_BUFFER_LIMIT_CLASS)
        hard = parse_memory(words[i + 1])
        soft = parse_memory(words[i + 2])
        secs_text = words[i + 3]
        if (hard is None or soft is None or not _SAVE_NUMBER_RE.match(secs_text)
                or len(secs_text) > _SECONDS_TEXT_MAX_CHARS or int(secs_text) < 0):
            raise ValueError(errors.CONFIG_BUFFER_LIMIT_VALUES)
        limits[cls] = (hard, soft, int(secs_text))
    return " ".join(f"{c} {limits[c][0]} {limits[c][1]} {limits[c][2]}" for c in _BUFFER_ORDER)


def expand_event_flags(value: str) -> str:
    """The event classes a notify-keyspace-events value selects, with 'A' spelled out."""
    return "".join(sorted(set(value.replace("A", _EVENT_CLASSES))))


def _keyspace_events(value: str) -> str:
    flags: set[str] = set()
    for ch in value:
        if ch not in _EVENT_CHARS:
            raise ValueError(errors.CONFIG_EVENT_CLASS)
        if ch == "A":
            flags.update(_EVENT_CLASSES)
        else:
            flags.add(ch)
    if all(c in flags for c in _EVENT_CLASSES):
        out = "A"  # Redis prints 'n' only when not every class is on
    else:
        out = "".join(c for c in _EVENT_CLASSES + "n" if c in flags)
    out += "".join(c for c in "KEm" if c in flags)
    return out


PARAMS: tuple[Param, ...] = (
    Param("bind", "127.0.0.1", "string", mutable=False),
    Param("port", "6379", "int", mutable=False, high=65535),
    Param("databases", "16", "int", mutable=False, low=1, high=INT_MAX),
    Param("requirepass", "", "string"),
    Param("maxclients", "10000", "int", low=1, high=UINT_MAX),
    Param("timeout", "0", "int", high=INT_MAX),
    Param("hz", "10", "int", high=INT_MAX, clamp=(HZ_MIN, HZ_MAX)),
    Param("active-expire-effort", "1", "int", low=1, high=10),
    Param("proto-max-bulk-len", "536870912", "memory", low=1024 * 1024, high=LONG_MAX),
    Param("client-query-buffer-limit", "1073741824", "memory", low=1024 * 1024, high=LONG_MAX),
    Param("client-output-buffer-limit", _DEFAULT_OUTPUT_LIMITS, "special"),
    Param("save", "", "special", check=_save),
    Param("appendonly", "no", "special", check=_appendonly),
    Param("notify-keyspace-events", "", "special", check=_keyspace_events),
    Param("loglevel", "notice", "enum", choices=("debug", "verbose", "notice", "warning")),
    Param("list-max-listpack-size", "-2", "int", low=INT_MIN, high=INT_MAX),
    Param("list-compress-depth", "0", "int", high=INT_MAX),
    Param("set-max-intset-entries", "512", "int", high=LONG_MAX),
    Param("hash-max-listpack-entries", "512", "int", high=LONG_MAX),
    Param("hash-max-listpack-value", "64", "memory", high=LONG_MAX),
    Param("zset-max-listpack-entries", "128", "int", high=LONG_MAX),
    Param("zset-max-listpack-value", "64", "memory", high=LONG_MAX),
    Param("slowlog-log-slower-than", "10000", "int", low=-1, high=LONG_MAX),
    Param("slowlog-max-len", "128", "int", high=LONG_MAX),
    Param("latency-monitor-threshold", "0", "int", high=LONG_MAX),
    Param("busy-reply-threshold", "5000", "int", high=LONG_MAX),  # ms a script runs before -BUSY
    # Eviction (crdt.eviction); maxmemory is compared with crdt.memory_account's figure.
    Param("maxmemory", "0", "memory", high=ULLONG_MAX, unsigned=True),
    Param("maxmemory-policy", "noeviction", "enum", choices=(
        "volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl",
        "allkeys-lru", "allkeys-lfu", "allkeys-random", "noeviction")),
    Param("maxmemory-samples", "5", "int", low=1, high=INT_MAX),
    Param("maxmemory-eviction-tenacity", "10", "int", high=100),
    Param("lfu-log-factor", "10", "int", high=INT_MAX),
    Param("lfu-decay-time", "1", "int", high=INT_MAX),
    # Redis's default is 0 (off); gyrekv's watchdog is on by default (nodes/watchdog.py).
    Param("watchdog-period", "1000", "int", high=INT_MAX, hidden=True),
)

# Redis 7 keeps the old ziplist names as aliases of the listpack ones.
ALIASES = {
    "list-max-ziplist-size": "list-max-listpack-size",
    "hash-max-ziplist-entries": "hash-max-listpack-entries",
    "hash-max-ziplist-value": "hash-max-listpack-value",
    "zset-max-ziplist-entries": "zset-max-listpack-entries",
    "zset-max-ziplist-value": "zset-max-listpack-value",
    "lua-time-limit": "busy-reply-threshold",
}

BY_NAME = {p.name: p for p in PARAMS}
# Aliases first: a glob then lists both spellings, as Redis 7.0 does for `CONFIG GET *`.
_ALL_NAMES = tuple(ALIASES) + tuple(p.name for p in PARAMS if not p.hidden)


def parse_memory(text: str) -> int | None:
    """A Redis memory value ("512mb", "1gb", "100") in bytes, or None.

    Digits, then an optional unit in any case; the number wraps at 2**64 as
    Redis's memtoull does (range checks then see it as a signed value), which
    refuses text of `MEMORY_TEXT_MAX_CHARS` or more (its buffer).
    """
    if len(text) >= MEMORY_TEXT_MAX_CHARS:
        return None
    m = _MEMORY_RE.match(text)
    if not m or m.group(2).lower() not in _MEMORY_UNITS:
        return None
    digits = m.group(1)
    number = min(int(digits), ULLONG_MAX) if digits else 0
    return (number * _MEMORY_UNITS[m.group(2).lower()]) & ULLONG_MAX


def _as_signed(value: int) -> int:
    return value - 2**64 if value > LONG_MAX else value


def watchdog_floor(period_ms: int, hz: int) -> int:
    """watchdog-period as Redis stores it: when on, at least two server ticks (2 * 1000/hz ms)."""
    return max(period_ms, (1000 // hz) * 2) if period_ms else 0


def _parse(p: Param, text: str, current: Any = None) -> Any:
    """Parse a value for `p`; raises ValueError with Redis's reason text."""
    if p.kind == "int":
        if not _INT_RE.match(text) or len(text) > 20 or not -(2**63) <= int(text) <= LONG_MAX:
            raise ValueError(errors.CONFIG_NOT_INTEGER)
        value = int(text)
        if not p.low <= value <= p.high:
            raise ValueError(errors.CONFIG_RANGE % (p.low, p.high))
        if p.clamp is not None:
            value = min(max(value, p.clamp[0]), p.clamp[1])
        return value
    if p.kind == "memory":
        raw = parse_memory(text)
        if raw is None:
            raise ValueError(errors.CONFIG_NOT_MEMORY)
        value = raw if p.unsigned else _as_signed(raw)
        if not p.low <= value <= p.high:
            raise ValueError(errors.CONFIG_RANGE % (p.low, p.high))
        return value
    if p.kind == "enum":
        if text.lower() not in p.choices:
            raise ValueError(errors.CONFIG_CHOICES % ", ".join(p.choices))
        return text.lower()
    if p.name == "client-output-buffer-limit":
        return _parse_output_limits(text, current if current is not None else p.default)
    if p.check is not None:
        return p.check(text)
    return text


class Config:
    """The live parameter values of one server."""

    def __init__(self, overrides: dict[str, str] | None = None) -> None:
        self.values: dict[str, Any] = {}
        for p in PARAMS:
            self.values[p.name] = _parse(p, p.default)
        # Keyspace-event classes as set, before printing folds them ('KEAn' prints
        # as 'AKE' yet still sends 'new' events).
        self.event_flags = ""
        for name, text in (overrides or {}).items():
            p = BY_NAME[ALIASES.get(name, name)]
            self.values[p.name] = _parse(p, text, self.values[p.name])
            if p.name == "notify-keyspace-events":
                self.event_flags = expand_event_flags(text)
        self.values["watchdog-period"] = watchdog_floor(self.values["watchdog-period"],
                                                        self.values["hz"])
        self.listeners: list[Callable[[str, Any], None]] = []

    def __getitem__(self, name: str) -> Any:
        return self.values[name]

    def get(self, patterns: list[bytes]) -> dict[bytes, bytes]:
        """CONFIG GET: every parameter (or alias) matching any glob pattern.

        A pattern without glob characters is looked up by name (any case) and
        echoed as spelled; a parameter already listed is not listed again.
        """
        out: dict[bytes, bytes] = {}
        seen: set[str] = set()
        for pattern in patterns:
            if not any(ch in pattern for ch in b"[*?"):
                name = pattern.decode(errors="replace").lower()
                if name in seen:
                    continue
                canonical = ALIASES.get(name, name)
                if canonical in BY_NAME:
                    seen.add(name)
                    out[pattern] = self.format(canonical).encode()
                continue
            for name in _ALL_NAMES:
                canonical = ALIASES.get(name, name)
                if canonical in seen or name in seen:
                    continue
                if glob_match(pattern, name.encode(), nocase=True):
                    seen.add(name)
                    out[name.encode()] = self.format(canonical).encode()
        return out

    def format(self, name: str) -> str:
        """A value as CONFIG GET prints it."""
        return str(self.values[name])

    def set(self, pairs: list[tuple[bytes, bytes]]) -> None:
        """CONFIG SET, all or nothing, with Redis's error texts and precedence.

        Raises:
            CommandError: unknown option, immutable or duplicate parameter,
                or a value Redis would refuse (nothing is changed then).
        """
        params: list[Param] = []
        names: list[str] = []
        for raw_name, _ in pairs:
            name = raw_name.decode(errors="replace")
            p = BY_NAME.get(ALIASES.get(name.lower(), name.lower()))
            if p is None:
                raise CommandError((errors.CONFIG_SET_UNKNOWN % name).encode())
            if not p.mutable:
                raise CommandError(errors.config_set_failed(name, errors.CONFIG_IMMUTABLE))
            # Redis 7.0 treats an alias as a parameter of its own here: "hash-max-ziplist-entries 1
            # hash-max-listpack-entries 2" is accepted and the later value wins.
            if name.lower() in names:
                raise CommandError(errors.config_set_failed(name, errors.CONFIG_DUPLICATE))
            names.append(name.lower())
            params.append(p)
        staged: dict[str, Any] = {}
        event_flags = self.event_flags
        for p, (raw_name, raw_value) in zip(params, pairs):
            try:
                staged[p.name] = _parse(p, raw_value.decode(errors="replace"), self.values[p.name])
                if p.name == "notify-keyspace-events":
                    event_flags = expand_event_flags(raw_value.decode(errors="replace"))
            except ValueError as e:
                # Redis names the argument here as given, but lower-cased.
                name = raw_name.decode(errors="replace").lower()
                raise CommandError(errors.config_set_failed(name, str(e))) from None
        self.event_flags = event_flags
        if "watchdog-period" in staged:  # against the hz before this CONFIG SET, as Redis applies it
            staged["watchdog-period"] = watchdog_floor(staged["watchdog-period"], self.values["hz"])
        for name, value in staged.items():
            self.values[name] = value
            for listener in self.listeners:
                listener(name, value)
