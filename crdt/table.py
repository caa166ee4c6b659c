"""The command table: the single source for dispatch, arity, flags, key positions, COMMAND and docs.

Strategy: each command module registers its handlers with `@command(...)`
at import time; `crdt.commands` imports them all and freezes the table.
Dispatch is one dict lookup on the name as the client sent it (the upper
and lower case spellings are both keys), so the hot path allocates nothing.
Containers (CONFIG, CLIENT, OBJECT, COMMAND, ...) hold subcommands named
``container|sub``, each with its own arity and flags, as in Redis 7.

A handler is ``handler(session, argv) -> reply``; it reads ``session.db``,
``session.now_ms`` and ``session.engine`` and raises
`crdt.errors.CommandError` for error replies.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from crdt.docs import parse_syntax

Handler = Callable[[Any, list[bytes]], Any]

# Flags Redis 7.0 knows; a typo in a registration is our bug, so it asserts.
KNOWN_FLAGS = frozenset({
    "write", "readonly", "denyoom", "module", "admin", "pubsub", "noscript",
    "blocking", "loading", "stale", "skip_monitor", "skip_slowlog", "asking",
    "fast", "no_auth", "may_replicate", "sentinel", "only_sentinel",
    "no_mandatory_keys", "no_async_loading", "no_multi", "movablekeys",
    "allow_busy",
})

# ACL categories implied by the group, as Redis derives them.
GROUP_CATEGORIES = {
    "string": ("string",), "list": ("list",), "set": ("set",), "sorted-set": ("sortedset",),
    "hash": ("hash",), "generic": ("keyspace",), "pubsub": ("pubsub",),
    "transactions": ("transaction",), "connection": ("connection",), "server": (),
    "bitmap": ("bitmap",), "scripting": ("scripting",),
}


@dataclass(slots=True, eq=False)
class Command:
    """One row of the table."""

    name: str  # lower case; "container|sub" for a subcommand
    arity: int  # Redis convention: n = exactly n words, -n = at least n (the name counts)
    flags: frozenset[str]
    first_key: int
    last_key: int
    key_step: int
    handler: Handler | None
    group: str
    summary: str
    since: str
    complexity: str
    syntax: str
    index: int = -1
    name_bytes: bytes = b""
    subcommands: dict[bytes, Command] = field(default_factory=dict)
    container: Command | None = None
    categories: tuple[str, ...] = ()

    @property
    def full_name(self) -> str:
        return self.name

    def arguments_doc(self) -> list[dict[str, Any]]:
        """COMMAND DOCS ``arguments`` parsed from the syntax line."""
        return parse_syntax(self.syntax)

    def help_lines(self) -> list[bytes]:
        """HELP output for a container, generated from its subcommands."""
        head = f"{self.name.upper()} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
        lines = [head.encode()]
        for sub in sorted(self.subcommands.values(), key=lambda s: s.name):
            short = sub.name.split("|", 1)[1].upper()
            lines.append(f"{short} {sub.syntax}".rstrip().encode())
            lines.append(f"    {sub.summary}".encode())
        lines.append(b"HELP")
        lines.append(b"    Print this help.")
        return lines


def _categories(group: str, flags: frozenset[str]) -> tuple[str, ...]:
    cats: list[str] = []
    if "write" in flags:
        cats.append("write")
    if "readonly" in flags:
        cats.append("read")
    if "admin" in flags:
        cats += ["admin", "dangerous"]
    if "pubsub" in flags:
        cats.append("pubsub")
    cats.append("fast" if "fast" in flags else "slow")
    if "blocking" in flags:
        cats.append("blocking")
    cats += GROUP_CATEGORIES.get(group, ())
    seen: list[str] = []
    for c in cats:
        if c not in seen:
            seen.append(c)
    return tuple(seen)


class CommandTable:
    """Name -> Command, filled by `@command` at import time, then frozen."""

    def __init__(self) -> None:
        self.by_name: dict[str, Command] = {}
        self.lookup: dict[bytes, Command] = {}
        self.frozen = False

    def register(self, cmd: Command) -> Command:
        assert not self.frozen, f"table is frozen; cannot add {cmd.name}"
        unknown = cmd.flags - KNOWN_FLAGS
        assert not unknown, f"{cmd.name}: unknown flags {sorted(unknown)}"
        assert cmd.name not in self.by_name, f"{cmd.name} registered twice"
        cmd.categories = _categories(cmd.group, cmd.flags)
        cmd.name_bytes = cmd.name.encode()
        if "|" in cmd.name:
            parent_name, sub = cmd.name.split("|", 1)
            parent = self.by_name[parent_name]
            cmd.container = parent
            for spelling in {sub, sub.upper()}:
                parent.subcommands[spelling.encode()] = cmd
        else:
            for spelling in {cmd.name, cmd.name.upper()}:
                self.lookup[spelling.encode()] = cmd
        cmd.index = len(self.by_name)
        self.by_name[cmd.name] = cmd
        return cmd

    def get(self, name: bytes) -> Command | None:
        """The command for a name as a client spelled it, in any case."""
        cmd = self.lookup.get(name)
        if cmd is None:
            cmd = self.lookup.get(name.lower())
        return cmd

    def top_level(self) -> list[Command]:
        return [c for c in self.by_name.values() if c.container is None]

    def freeze(self) -> None:
        self.frozen = True


TABLE = CommandTable()


def command(
    name: str,
    arity: int,
    flags: str = "",
    keys: tuple[int, int, int] = (0, 0, 0),
    group: str = "generic",
    since: str = "1.0.0",
    complexity: str = "O(1)",
    summary: str = "",
    syntax: str = "",
) -> Callable[[Handler], Handler]:
    """Register a handler in `TABLE`.

    Args:
        name: the command name; ``"container|sub"`` for a subcommand.
        arity: Redis's arity (n exact, -n at least n, counting the name).
        flags: space-separated Redis command flags.
        keys: (first key, last key, step); last -1 means the last argument.
        group, since, complexity, summary: COMMAND DOCS fields.
        syntax: the argument syntax line as Redis's docs write it
            (``key value [NX | XX] [EX seconds | PX milliseconds]``).
    """

    def register(fn: Handler) -> Handler:
        TABLE.register(Command(
            name=name.lower(), arity=arity, flags=frozenset(flags.split()),
            first_key=keys[0], last_key=keys[1], key_step=keys[2], handler=fn,
            group=group, summary=summary, since=since, complexity=complexity,
            syntax=syntax,
        ))
        return fn

    return register


def container(name: str, group: str, since: str, summary: str) -> None:
    """Register a container command whose work is done by its ``name|sub`` subcommands."""
    TABLE.register(Command(
        name=name.lower(), arity=-2, flags=frozenset(), first_key=0, last_key=0,
        key_step=0, handler=None, group=group, summary=summary, since=since,
        complexity="Depends on subcommand.", syntax="",
    ))
