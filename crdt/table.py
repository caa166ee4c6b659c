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

Besides dispatch facts, a row carries everything Redis 7.0's COMMAND INFO
and COMMAND DOCS report, declared in the registration:

- ``tips="nondeterministic_output request_policy:all_shards"``;
- ``key_specs=("RW access delete", "OW update")``: one string per key spec,
  see `parse_key_spec`; where a spec gives no position it is derived from
  ``keys=`` (one spec: the whole range; n specs over n consecutive keys: one
  each). Without ``key_specs`` a command with keys gets one spec whose flags
  follow its command flags (RO access for readonly, RW update for write);
- ``acl="dangerous keyspace"``: ACL categories Redis lists besides the ones
  derived from the flags and the group, merged in Redis's order;
- ``doc_flags="deprecated"`` (or ``syscmd``), ``deprecated_since``,
  ``replaced_by``, ``history=(("6.2.0", "Added the `GET` option."), ...)``;
- ``syntax``: the argument line of `crdt.docs` (labels, types, since...).
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

# Redis 7.0's ACL category bits, in order (COMMAND INFO lists categories in this order).
CATEGORY_ORDER = (
    "keyspace", "read", "write", "set", "sortedset", "list", "hash", "string", "bitmap",
    "hyperloglog", "geo", "stream", "pubsub", "admin", "fast", "slow", "blocking",
    "dangerous", "connection", "transaction", "scripting",
)
_CATEGORY_RANK = {c: i for i, c in enumerate(CATEGORY_ORDER)}
# Key-spec flags, in Redis's order.
KEY_SPEC_FLAGS = ("RO", "RW", "OW", "RM", "access", "update", "insert", "delete", "not_key",
                  "incomplete", "variable_flags")
DOC_FLAGS = ("deprecated", "syscmd")

# ACL categories implied by the group, as Redis derives them.
GROUP_CATEGORIES = {
    "string": ("string",), "list": ("list",), "set": ("set",), "sorted-set": ("sortedset",),
    "hash": ("hash",), "generic": ("keyspace",), "pubsub": ("pubsub",),
    "transactions": ("transaction",), "connection": ("connection",), "server": (),
    "bitmap": ("bitmap",), "scripting": ("scripting",),
}


@dataclass(frozen=True, slots=True)
class KeySpec:
    """One Redis 7 key spec: where the keys start (begin_search) and how to find them.

    ``begin`` is ``("index", i)``, ``("keyword", word, startfrom)`` or ``("unknown",)``;
    ``find`` is ``("range", lastkey, keystep, limit)``, ``("keynum", keynumidx,
    firstkey, keystep)`` or ``("unknown",)``.
    """

    flags: tuple[str, ...]
    begin: tuple[Any, ...]
    find: tuple[Any, ...]
    notes: str = ""

    @property
    def simple(self) -> bool:
        """An index + range spec (anything else makes a command movablekeys)."""
        return self.begin[0] == "index" and self.find[0] == "range"


def parse_key_spec(text: str, derived: tuple[tuple[Any, ...], tuple[Any, ...]] | None) -> KeySpec:
    """Read one compact key spec.

    Grammar: space-separated words. Flags (``RO RW OW RM access update insert
    delete not_key incomplete variable_flags``) in any order; optionally the
    position: ``index:N`` or ``keyword:WORD:STARTFROM`` (begin_search), and
    ``range:LASTKEY:STEP:LIMIT`` or ``keynum:IDX:FIRSTKEY:STEP`` (find_keys),
    or ``unknown`` (both unknown); then ``# notes`` up to the end.

    Args:
        text: the spec.
        derived: the (begin, find) to use where the text gives none.

    Raises:
        AssertionError: a malformed spec (a bug in a registration).
    """
    body, _, notes = text.partition("#")
    flags: list[str] = []
    begin: tuple[Any, ...] | None = None
    find: tuple[Any, ...] | None = None
    for word in body.split():
        kind, _, rest = word.partition(":")
        parts = rest.split(":") if rest else []
        numbers = parts[1:] if kind == "keyword" else parts
        assert all(p.lstrip("-").isdigit() for p in numbers), f"key spec {text!r}: {word!r}"
        if word in KEY_SPEC_FLAGS:
            flags.append(word)
        elif kind == "index" and len(parts) == 1:
            begin = ("index", int(parts[0]))
        elif kind == "keyword" and len(parts) == 2:
            begin = ("keyword", parts[0], int(parts[1]))
        elif kind == "range" and len(parts) == 3:
            find = ("range", *(int(p) for p in parts))
        elif kind == "keynum" and len(parts) == 3:
            find = ("keynum", *(int(p) for p in parts))
        elif word == "unknown":
            begin, find = ("unknown",), ("unknown",)
        else:
            raise AssertionError(f"key spec {text!r}: cannot read {word!r}")
    if begin is None or find is None:
        assert derived is not None, f"key spec {text!r}: give its position (index:/range:)"
        begin = begin if begin is not None else derived[0]
        find = find if find is not None else derived[1]
    ordered = tuple(sorted(flags, key=KEY_SPEC_FLAGS.index))
    return KeySpec(ordered, begin, find, notes.strip())


def _derived_positions(keys: tuple[int, int, int], count: int) -> list[Any]:
    """Positions of ``count`` specs derived from (first, last, step), or None where unknown."""
    first, last, step = keys
    if first <= 0:
        return [None] * count
    if count == 1:
        lastkey = last if last < 0 else last - first
        return [(("index", first), ("range", lastkey, step, 0))]
    if step == 1 and last > 0 and last - first + 1 == count:
        return [(("index", first + i), ("range", 0, 1, 0)) for i in range(count)]
    return [None] * count


def default_key_spec_flags(flags: frozenset[str]) -> tuple[str, ...]:
    """Spec flags of a command that declares no key specs, from its command flags."""
    if "readonly" in flags:
        return ("RO", "access")
    if "write" in flags:
        return ("RW", "update")
    return ("RW", "access", "update")


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
    tips: tuple[str, ...] = ()
    key_specs: tuple[KeySpec, ...] = ()
    acl: tuple[str, ...] = ()  # categories beyond the derived ones
    doc_flags: tuple[str, ...] = ()
    deprecated_since: str = ""
    replaced_by: str = ""
    history: tuple[tuple[str, str], ...] = ()

    @property
    def full_name(self) -> str:
        return self.name

    def arguments_doc(self) -> list[dict[str, Any]]:
        """COMMAND DOCS ``arguments`` parsed from the syntax line."""
        return parse_syntax(self.syntax, len(self.key_specs))

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


def _categories(group: str, flags: frozenset[str], extra: tuple[str, ...] = (),
                container: bool = False) -> tuple[str, ...]:
    """ACL categories as Redis derives them, plus ``extra``, in Redis's bit order.

    An ``extra`` word ``-name`` takes a derived category away (Redis files SORT
    under "generic" but leaves it out of @keyspace).
    """
    if container:
        return ("slow",)
    removed = {c[1:] for c in extra if c.startswith("-")}
    cats: list[str] = [c for c in extra if not c.startswith("-")]
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
    cats = [c for c in cats if c not in removed]
    unknown = set(cats) - set(CATEGORY_ORDER)
    assert not unknown, f"unknown ACL categories {sorted(unknown)}"
    return tuple(sorted(set(cats), key=_CATEGORY_RANK.__getitem__))


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
        cmd.categories = _categories(cmd.group, cmd.flags, cmd.acl, cmd.handler is None)
        assert set(cmd.doc_flags) <= set(DOC_FLAGS), f"{cmd.name}: unknown doc flags"
        if any(not spec.simple for spec in cmd.key_specs):
            cmd.flags = cmd.flags | {"movablekeys"}
        cmd.name_bytes = cmd.name.encode()
        if "|" not in cmd.name:
            for spelling in {cmd.name, cmd.name.upper()}:
                self.lookup[spelling.encode()] = cmd
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
        """Link every subcommand to its container and number the rows; no more registrations.

        Done here, not at registration, so the order in which modules register
        decides nothing: rows are kept and numbered by name, and a container
        may be registered after its subcommands.
        """
        self.by_name = dict(sorted(self.by_name.items()))
        for index, cmd in enumerate(self.by_name.values()):
            cmd.index = index
            if "|" in cmd.name:
                parent_name, sub = cmd.name.split("|", 1)
                parent = self.by_name.get(parent_name)
                assert parent is not None, f"{cmd.name}: no container {parent_name} registered"
                cmd.container = parent
                for spelling in {sub, sub.upper()}:
                    parent.subcommands[spelling.encode()] = cmd
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
    *,
    tips: str = "",
    key_specs: tuple[str, ...] | None = None,
    acl: str = "",
    doc_flags: str = "",
    deprecated_since: str = "",
    replaced_by: str = "",
    history: tuple[tuple[str, str], ...] = (),
) -> Callable[[Handler], Handler]:
    """Register a handler in `TABLE`.

    Args:
        name: the command name; ``"container|sub"`` for a subcommand.
        arity: Redis's arity (n exact, -n at least n, counting the name).
        flags: space-separated Redis command flags (``movablekeys`` is added
            when a key spec is not index + range, as Redis does).
        keys: (first key, last key, step); last -1 means the last argument.
        group, since, complexity, summary: COMMAND DOCS fields.
        syntax: the argument line in `crdt.docs` notation
            (``key value [condition: NX | XX]@2.6.12 [GET@6.2.0]``).
        tips: space-separated command tips.
        key_specs: one compact spec per Redis key spec (`parse_key_spec`);
            None: one spec derived from ``keys`` and the flags.
        acl: space-separated ACL categories beyond the derived ones (``-name``
            takes a derived one away).
        doc_flags: ``deprecated`` and/or ``syscmd``.
        deprecated_since, replaced_by, history: COMMAND DOCS fields.
    """

    def register(fn: Handler) -> Handler:
        frozen_flags = frozenset(flags.split())
        TABLE.register(Command(
            name=name.lower(), arity=arity, flags=frozen_flags,
            first_key=keys[0], last_key=keys[1], key_step=keys[2], handler=fn,
            group=group, summary=summary, since=since, complexity=complexity,
            syntax=syntax, tips=tuple(tips.split()),
            key_specs=_key_specs(name, keys, frozen_flags, key_specs),
            acl=tuple(acl.split()), doc_flags=tuple(doc_flags.split()),
            deprecated_since=deprecated_since, replaced_by=replaced_by,
            history=tuple(history),
        ))
        return fn

    return register


def _key_specs(name: str, keys: tuple[int, int, int], flags: frozenset[str],
               specs: tuple[str, ...] | None) -> tuple[KeySpec, ...]:
    if specs is None:
        if keys[0] <= 0:
            return ()
        (position,) = _derived_positions(keys, 1)
        return (KeySpec(default_key_spec_flags(flags), *position),)
    assert not isinstance(specs, str), f"{name}: key_specs is a tuple of strings"
    positions = _derived_positions(keys, len(specs))
    return tuple(parse_key_spec(text, pos) for text, pos in zip(specs, positions))


def container(name: str, group: str, since: str, summary: str, *, doc_flags: str = "",
              history: tuple[tuple[str, str], ...] = ()) -> None:
    """Register a container command whose work is done by its ``name|sub`` subcommands."""
    TABLE.register(Command(
        name=name.lower(), arity=-2, flags=frozenset(), first_key=0, last_key=0,
        key_step=0, handler=None, group=group, summary=summary, since=since,
        complexity="Depends on subcommand.", syntax="", doc_flags=tuple(doc_flags.split()),
        history=tuple(history),
    ))
