"""COMMAND, COMMAND COUNT/INFO/DOCS/LIST/GETKEYS/GETKEYSANDFLAGS/HELP, generated from the table.

Strategy: every reply is built from `crdt.table.TABLE` rows, so there is no
second copy of command metadata: name, arity, flags, key positions, ACL
categories, group/since/complexity/summary, and the arguments parsed from
each row's syntax line by `crdt.docs`. Replies have Redis 7.0's shapes:

- an INFO row is [name, arity, [flags], first, last, step, [@categories],
  [tips], [key specs], [subcommand rows]], flags and categories as status
  strings in Redis's bit order;
- key specs are derived from (first, last, step): one ``index``/``range``
  spec whose access flags follow the command's flags (readonly: RO access;
  write: RW update). Redis's own specs are finer (OW/RM, insert/delete,
  several specs for commands like RENAME); the table has no column for
  them yet, see `_PENDING_TIPS` for the same gap with tips;
- a container (CLIENT, CONFIG...) is ``@slow`` only, as in Redis.

COMMAND is both a command (no arguments: every row) and a container; the
engine dispatches only handler-less containers, so `command_` dispatches
its own subcommands and moves the call statistics to the subcommand.
"""

from __future__ import annotations

from typing import Any

from crdt import errors
from crdt.errors import CommandError
from crdt.glob import glob_match
from crdt.table import TABLE, Command
from crdt.table import command as register
from protocol.replies import SimpleString

# Redis 7.0's command flag bits, in order (COMMAND INFO lists flags in this order).
FLAG_ORDER = (
    "write", "readonly", "denyoom", "module", "admin", "pubsub", "noscript", "blocking",
    "loading", "stale", "skip_monitor", "skip_slowlog", "asking", "fast", "no_auth",
    "may_replicate", "sentinel", "only_sentinel", "no_mandatory_keys", "no_async_loading",
    "no_multi", "movablekeys", "allow_busy",
)
_FLAG_RANK = {f: i for i, f in enumerate(FLAG_ORDER)}
# Redis 7.0's ACL category bits, in order.
CATEGORY_ORDER = (
    "keyspace", "read", "write", "set", "sortedset", "list", "hash", "string", "bitmap",
    "hyperloglog", "geo", "stream", "pubsub", "admin", "fast", "slow", "blocking",
    "dangerous", "connection", "transaction", "scripting",
)
_CATEGORY_RANK = {c: i for i, c in enumerate(CATEGORY_ORDER)}
_ARG_FLAG_ORDER = ("optional", "multiple", "multiple_token")
_ARG_KEY_ORDER = ("name", "type", "key_spec_index", "token", "summary", "since",
                  "deprecated_since", "flags", "arguments")

# Command tips (Redis 7.0) the table has no column for yet; the lead moves these into
# the @command rows. Only the connection/server commands of this module are listed.
_PENDING_TIPS: dict[str, tuple[str, ...]] = {
    "ping": ("request_policy:all_shards", "response_policy:all_succeeded"),
    "info": ("nondeterministic_output", "request_policy:all_shards", "response_policy:special"),
    "time": ("nondeterministic_output",),
    "lastsave": ("nondeterministic_output",),
    "client|info": ("nondeterministic_output",),
    "client|list": ("nondeterministic_output",),
    "config|set": ("request_policy:all_nodes", "response_policy:all_succeeded"),
    "function|flush": ("request_policy:all_shards", "response_policy:all_succeeded"),
    "command": ("nondeterministic_output_order",),
    "command|docs": ("nondeterministic_output_order",),
    "command|info": ("nondeterministic_output_order",),
    "command|list": ("nondeterministic_output_order",),
}

INVALID_COMMAND_ERR = b"ERR Invalid command specified"
INVALID_ARG_COUNT_ERR = b"ERR Invalid number of arguments specified for command"
NO_KEY_ARGUMENTS_ERR = b"ERR The command has no key arguments"
INVALID_ARGUMENTS_ERR = b"ERR Invalid arguments specified for command"

_COMMAND_HELP = (
    "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "(no subcommand)",
    "    Return details about all Redis commands.",
    "COUNT",
    "    Return the total number of commands in this Redis server.",
    "LIST",
    "    Return a list of all commands in this Redis server.",
    "INFO [<command-name> ...]",
    "    Return details about multiple Redis commands.",
    "    If no command names are given, documentation details for all",
    "    commands are returned.",
    "DOCS [<command-name> ...]",
    "    Return documentation details about multiple Redis commands.",
    "    If no command names are given, documentation details for all",
    "    commands are returned.",
    "GETKEYS <full-command>",
    "    Return the keys from a full Redis command.",
    "GETKEYSANDFLAGS <full-command>",
    "    Return the keys and the access flags from a full Redis command.",
    "HELP",
    "    Prints this help.",
)


# -- rows ------------------------------------------------------------------------


def command_flags(cmd: Command) -> list[str]:
    """The command's flags in Redis's order."""
    return sorted(cmd.flags, key=lambda f: _FLAG_RANK.get(f, len(FLAG_ORDER)))


def command_categories(cmd: Command) -> list[str]:
    """ACL categories in Redis's order; a handler-less container is @slow only."""
    if cmd.handler is None:
        return ["slow"]
    return sorted(cmd.categories, key=lambda c: _CATEGORY_RANK.get(c, len(CATEGORY_ORDER)))


def command_tips(cmd: Command) -> tuple[str, ...]:
    """The command's tips (nondeterministic_output, request_policy:...)."""
    tips = getattr(cmd, "tips", None)
    if tips is not None:
        return tuple(tips)
    return _PENDING_TIPS.get(cmd.name, ())


def key_spec_flags(cmd: Command) -> list[str]:
    """Access flags of the derived key spec (see the module docstring)."""
    if "readonly" in cmd.flags:
        return ["RO", "access"]
    if "write" in cmd.flags:
        return ["RW", "update"]
    return ["RW", "access", "update"]


def key_specs(cmd: Command) -> list[dict[bytes, Any]]:
    """Redis 7 key specs derived from (first, last, step); [] for keyless commands."""
    if cmd.first_key <= 0:
        return []
    last = cmd.last_key if cmd.last_key < 0 else cmd.last_key - cmd.first_key
    return [{
        b"flags": [SimpleString(f.encode()) for f in key_spec_flags(cmd)],
        b"begin_search": {b"type": b"index", b"spec": {b"index": cmd.first_key}},
        b"find_keys": {b"type": b"range",
                       b"spec": {b"lastkey": last, b"keystep": cmd.key_step, b"limit": 0}},
    }]


def info_row(cmd: Command) -> list[Any]:
    """One COMMAND INFO row (with its subcommands' rows)."""
    subs = [info_row(sub) for sub in _subcommands(cmd)]
    return [
        cmd.name.encode(),
        cmd.arity,
        [SimpleString(f.encode()) for f in command_flags(cmd)],
        cmd.first_key,
        cmd.last_key,
        cmd.key_step,
        [SimpleString(b"@" + c.encode()) for c in command_categories(cmd)],
        [t.encode() for t in command_tips(cmd)],
        key_specs(cmd),
        subs,
    ]


def _subcommands(cmd: Command) -> list[Command]:
    """Distinct subcommands in registration order (the lookup holds two spellings each)."""
    seen: dict[str, Command] = {}
    for sub in cmd.subcommands.values():
        seen.setdefault(sub.name, sub)
    return sorted(seen.values(), key=lambda c: c.index)


def _doc_argument(arg: dict[str, Any]) -> dict[bytes, Any]:
    out: dict[bytes, Any] = {}
    for key in _ARG_KEY_ORDER:
        if key not in arg:
            continue
        value = arg[key]
        if key == "flags":
            flags = sorted(value, key=lambda f: _ARG_FLAG_ORDER.index(f)
                           if f in _ARG_FLAG_ORDER else len(_ARG_FLAG_ORDER))
            out[b"flags"] = [SimpleString(f.encode()) for f in flags]
        elif key == "arguments":
            out[b"arguments"] = [_doc_argument(a) for a in value]
        elif isinstance(value, int):
            out[key.encode()] = value
        else:
            out[key.encode()] = str(value).encode()
    return out


def docs_entry(cmd: Command) -> dict[bytes, Any]:
    """One COMMAND DOCS map: summary, since, group, complexity, arguments, subcommands."""
    out: dict[bytes, Any] = {
        b"summary": cmd.summary.encode(),
        b"since": cmd.since.encode(),
        b"group": cmd.group.encode(),
        b"complexity": cmd.complexity.encode(),
    }
    args = cmd.arguments_doc() if cmd.syntax else []
    if args:
        out[b"arguments"] = [_doc_argument(a) for a in args]
    subs = _subcommands(cmd)
    if subs:
        out[b"subcommands"] = {sub.name.encode(): docs_entry(sub) for sub in subs}
    return out


def find_command(name: bytes) -> Command | None:
    """A command by name, or a subcommand by ``container|sub``; any case."""
    if b"|" in name:
        parent_name, _, sub_name = name.partition(b"|")
        parent = TABLE.get(parent_name)
        if parent is None or b"|" in sub_name:
            return None
        return parent.subcommands.get(sub_name.lower())
    return TABLE.get(name)


def _all_names() -> list[Command]:
    out: list[Command] = []
    for cmd in TABLE.top_level():
        out.append(cmd)
        out += _subcommands(cmd)
    return out


# -- COMMAND ---------------------------------------------------------------------


def _key_positions(args: list[bytes]) -> tuple[Command, list[int]]:
    """GETKEYS: the command an argument vector names and its key positions.

    Checks in Redis's order: the command exists, it has keys at all, the
    argument count fits its arity, at least one key is found.
    """
    cmd = TABLE.get(args[0])
    if cmd is not None and cmd.subcommands and len(args) >= 2:
        cmd = cmd.subcommands.get(args[1].lower())
    if cmd is None:
        raise CommandError(INVALID_COMMAND_ERR)
    if cmd.first_key <= 0:
        raise CommandError(NO_KEY_ARGUMENTS_ERR)
    n = len(args)
    if (cmd.arity > 0 and cmd.arity != n) or n < -cmd.arity:
        raise CommandError(INVALID_ARG_COUNT_ERR)
    last = cmd.last_key if cmd.last_key >= 0 else n + cmd.last_key
    positions = list(range(cmd.first_key, min(last, n - 1) + 1, max(cmd.key_step, 1)))
    if not positions:
        raise CommandError(INVALID_ARGUMENTS_ERR)
    return cmd, positions


def command_(s: Any, argv: list[bytes]) -> Any:
    """COMMAND: every command's INFO row; with a subcommand, run it.

    The engine counted this call under ``command``; a subcommand's call (or
    failure) is moved to the subcommand's counters, and an unknown
    subcommand or bad arity is not counted at all, as Redis rejects those
    before calling anything.
    """
    if len(argv) == 1:
        return [info_row(c) for c in TABLE.top_level()]
    engine = s.engine
    parent = TABLE.by_name["command"]
    sub = parent.subcommands.get(argv[1])
    if sub is None:
        sub = parent.subcommands.get(argv[1].lower())
    n = len(argv)
    # Only move counts the engine made (a caller such as EXEC may count differently).
    counted = engine.calls[parent.index] > 0
    if counted:
        engine.calls[parent.index] -= 1
    if sub is None or (sub.arity > 0 and n != sub.arity) or n < -sub.arity:
        if counted:
            engine.failed_calls[parent.index] -= 1  # the engine counts the raise below
        if sub is None:
            raise CommandError(errors.unknown_subcommand(argv[0], argv[1]))
        raise CommandError(errors.wrong_arity(sub.name))
    engine.calls[sub.index] += 1
    s.last_cmd = sub.name.encode()
    try:
        return sub.handler(s, argv)  # type: ignore[misc]
    except CommandError:
        engine.failed_calls[sub.index] += 1
        if counted:
            engine.failed_calls[parent.index] -= 1
        raise


TABLE.register(Command(
    name="command", arity=-1, flags=frozenset({"loading", "stale"}), first_key=0, last_key=0,
    key_step=0, handler=command_, group="server", summary="Get array of Redis command details",
    since="2.8.13", complexity="O(N) where N is the total number of Redis commands", syntax="",
))


@register("command|count", 2, "loading stale", group="server", since="2.8.13",
          summary="Get total number of Redis commands")
def command_count(s: Any, argv: list[bytes]) -> Any:
    """COMMAND COUNT: the number of top-level commands."""
    return len(TABLE.top_level())


@register("command|info", -2, "loading stale", group="server", since="2.8.13",
          complexity="O(N) where N is the number of commands to look up",
          summary="Get array of specific Redis command details, or all when no argument is given.",
          syntax="[command-name [command-name ...]]")
def command_info(s: Any, argv: list[bytes]) -> Any:
    """COMMAND INFO [name ...]: rows, null for an unknown name; all rows without names."""
    if len(argv) == 2:
        return [info_row(c) for c in TABLE.top_level()]
    out: list[Any] = []
    for name in argv[2:]:
        cmd = find_command(name)
        out.append(info_row(cmd) if cmd is not None else None)
    return out


@register("command|docs", -2, "loading stale", group="server", since="7.0.0",
          complexity="O(N) where N is the number of commands to look up",
          summary="Get array of specific Redis command documentation",
          syntax="[command-name [command-name ...]]")
def command_docs(s: Any, argv: list[bytes]) -> Any:
    """COMMAND DOCS [name ...]: a map name -> docs; unknown names are left out."""
    if len(argv) == 2:
        return {c.name.encode(): docs_entry(c) for c in TABLE.top_level()}
    out: dict[bytes, Any] = {}
    for name in argv[2:]:
        cmd = find_command(name)
        if cmd is not None:
            out[cmd.name.encode()] = docs_entry(cmd)
    return out


@register("command|list", -2, "loading stale", group="server", since="7.0.0",
          complexity="O(N) where N is the total number of Redis commands",
          summary="Get an array of Redis command names",
          syntax="[FILTERBY (MODULE module-name | ACLCAT category | PATTERN pattern)]")
def command_list(s: Any, argv: list[bytes]) -> Any:
    """COMMAND LIST [FILTERBY MODULE name | ACLCAT category | PATTERN pattern]."""
    n = len(argv)
    commands = _all_names()
    if n == 2:
        return [c.name.encode() for c in commands]
    if n != 5 or argv[2].lower() != b"filterby":
        raise CommandError(errors.SYNTAX)
    kind = argv[3].lower()
    value = argv[4]
    if kind == b"module":
        return []  # gyrekv loads no modules
    if kind == b"aclcat":
        category = value.decode(errors="replace").lower()
        return [c.name.encode() for c in commands if category in command_categories(c)]
    if kind == b"pattern":
        return [c.name.encode() for c in commands
                if glob_match(value, c.name.encode(), nocase=True)]
    raise CommandError(errors.SYNTAX)


@register("command|getkeys", -4, "loading stale", group="server", since="2.8.13",
          complexity="O(N) where N is the number of arguments to the command",
          summary="Extract keys given a full Redis command", syntax="command [arg [arg ...]]")
def command_getkeys(s: Any, argv: list[bytes]) -> Any:
    """COMMAND GETKEYS command [arg ...]: the key arguments of a full command."""
    args = argv[2:]
    _, positions = _key_positions(args)
    return [args[i] for i in positions]


@register("command|getkeysandflags", -4, "loading stale", group="server", since="7.0.0",
          complexity="O(N) where N is the number of arguments to the command",
          summary="Extract keys and access flags given a full Redis command",
          syntax="command [arg [arg ...]]")
def command_getkeysandflags(s: Any, argv: list[bytes]) -> Any:
    """COMMAND GETKEYSANDFLAGS command [arg ...]: [[key, [flags]], ...]."""
    args = argv[2:]
    cmd, positions = _key_positions(args)
    flags = [SimpleString(f.encode()) for f in key_spec_flags(cmd)]
    return [[args[i], list(flags)] for i in positions]


@register("command|help", 2, "loading stale", group="server", since="5.0.0",
          summary="Show helpful text about the different subcommands")
def command_help(s: Any, argv: list[bytes]) -> Any:
    """COMMAND HELP."""
    return [line.encode() for line in _COMMAND_HELP]


# COMMAND and its subcommands are @connection in Redis although their group is server.
for _cmd in [TABLE.by_name["command"], *_subcommands(TABLE.by_name["command"])]:
    _cmd.categories = ("slow", "connection")
