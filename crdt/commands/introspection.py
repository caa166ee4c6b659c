"""COMMAND, COMMAND COUNT/INFO/DOCS/LIST/GETKEYS/GETKEYSANDFLAGS/HELP, generated from the table.

Strategy: every reply is built from `crdt.table.TABLE` rows, so there is no
second copy of command metadata: name, arity, flags, key positions, ACL
categories, group/since/complexity/summary, and the arguments parsed from
each row's syntax line by `crdt.docs`. Replies have Redis 7.0's shapes:

- an INFO row is [name, arity, [flags], first, last, step, [@categories],
  [tips], [key specs], [subcommand rows]], flags and categories as status
  strings in Redis's bit order;
- key specs, tips, extra ACL categories, doc flags and history are the
  row's own declarations (see `crdt.table`); sets (flags, categories, tips,
  key specs, subcommands) are `SetReply`s, as Redis sends them in RESP3;
- a container (CLIENT, CONFIG...) is ``@slow`` only, as in Redis.

COMMAND is both a command (no arguments: every row) and a container. An
engine that dispatches subcommands of any command with subcommands calls
`command_` with the bare ``COMMAND`` only; one that dispatches only
handler-less containers leaves ``COMMAND <sub>`` to `command_`, which then
dispatches it itself and moves the call statistics to the subcommand.

GETKEYS and GETKEYSANDFLAGS walk the key specs as Redis does (index or
keyword begin_search; range or keynum find_keys; unknown specs skipped).
"""

from __future__ import annotations

from typing import Any

from crdt import errors
from crdt.errors import CommandError
from crdt.glob import glob_match
from crdt.table import CATEGORY_ORDER, TABLE, Command, KeySpec
from crdt.table import command as register
from protocol.replies import Pairs, SetReply, SimpleString

# Redis 7.0's command flag bits, in order (COMMAND INFO lists flags in this order).
FLAG_ORDER = (
    "write", "readonly", "denyoom", "module", "admin", "pubsub", "noscript", "blocking",
    "loading", "stale", "skip_monitor", "skip_slowlog", "asking", "fast", "no_auth",
    "may_replicate", "sentinel", "only_sentinel", "no_mandatory_keys", "no_async_loading",
    "no_multi", "movablekeys", "allow_busy",
)
_FLAG_RANK = {f: i for i, f in enumerate(FLAG_ORDER)}
__all__ = ["CATEGORY_ORDER", "FLAG_ORDER", "docs_entry", "find_command", "find_keys", "info_row"]
_ARG_FLAG_ORDER = ("optional", "multiple", "multiple_token")
_ARG_KEY_ORDER = ("name", "type", "key_spec_index", "token", "summary", "since",
                  "deprecated_since", "flags", "arguments")

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
    """ACL categories in Redis's order (the table derives and orders them)."""
    return list(cmd.categories)


def _status_set(words: tuple[str, ...] | list[str]) -> SetReply:
    return SetReply(SimpleString(w.encode()) for w in words)


def _key_spec_reply(spec: KeySpec) -> dict[bytes, Any]:
    out: dict[bytes, Any] = {}
    if spec.notes:
        out[b"notes"] = spec.notes.encode()
    out[b"flags"] = _status_set(spec.flags)
    kind = spec.begin[0]
    if kind == "index":
        begin = {b"type": b"index", b"spec": {b"index": spec.begin[1]}}
    elif kind == "keyword":
        begin = {b"type": b"keyword",
                 b"spec": {b"keyword": spec.begin[1].encode(), b"startfrom": spec.begin[2]}}
    else:
        begin = {b"type": b"unknown", b"spec": {}}
    kind = spec.find[0]
    if kind == "range":
        find = {b"type": b"range", b"spec": {b"lastkey": spec.find[1], b"keystep": spec.find[2],
                                             b"limit": spec.find[3]}}
    elif kind == "keynum":
        find = {b"type": b"keynum", b"spec": {b"keynumidx": spec.find[1],
                                              b"firstkey": spec.find[2], b"keystep": spec.find[3]}}
    else:
        find = {b"type": b"unknown", b"spec": {}}
    out[b"begin_search"] = begin
    out[b"find_keys"] = find
    return out


def key_specs(cmd: Command) -> SetReply:
    """The row's Redis 7 key specs; empty for keyless commands."""
    return SetReply(_key_spec_reply(spec) for spec in cmd.key_specs)


def info_row(cmd: Command) -> list[Any]:
    """One COMMAND INFO row (with its subcommands' rows)."""
    # Redis sends a container's subcommands as an array, a leaf's none as an empty set.
    subs = [info_row(sub) for sub in _subcommands(cmd)] or SetReply()
    return [
        cmd.name.encode(),
        cmd.arity,
        _status_set(command_flags(cmd)),
        cmd.first_key,
        cmd.last_key,
        cmd.key_step,
        SetReply(SimpleString(b"@" + c.encode()) for c in cmd.categories),
        SetReply(t.encode() for t in cmd.tips),
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
            out[b"flags"] = _status_set(flags)
        elif key == "arguments":
            out[b"arguments"] = [_doc_argument(a) for a in value]
        elif isinstance(value, int):
            out[key.encode()] = value
        else:
            out[key.encode()] = str(value).encode()
    return out


def docs_entry(cmd: Command) -> dict[bytes, Any]:
    """One COMMAND DOCS map, fields in Redis's order: summary, since, group, complexity,
    doc_flags, deprecated_since, replaced_by, history, arguments, subcommands."""
    out: dict[bytes, Any] = {
        b"summary": cmd.summary.encode(),
        b"since": cmd.since.encode(),
        b"group": cmd.group.encode(),
    }
    if cmd.complexity:  # MONITOR has none
        out[b"complexity"] = cmd.complexity.encode()
    if cmd.doc_flags:
        out[b"doc_flags"] = _status_set(cmd.doc_flags)
    if cmd.deprecated_since:
        out[b"deprecated_since"] = cmd.deprecated_since.encode()
    if cmd.replaced_by:
        out[b"replaced_by"] = cmd.replaced_by.encode()
    if cmd.history:
        out[b"history"] = SetReply([v.encode(), text.encode()] for v, text in cmd.history)
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


def _spec_positions(spec: KeySpec, args: list[bytes]) -> list[int] | None:
    """Key positions one spec finds in ``args`` (the command name at 0); None if invalid."""
    argc = len(args)
    kind = spec.begin[0]
    if kind == "index":
        first = spec.begin[1]
    elif kind == "keyword":
        word, start_from = spec.begin[1].lower().encode(), spec.begin[2]
        start = start_from if start_from > 0 else argc + start_from
        stop = argc if start_from > 0 else 0
        step = 1 if start_from > 0 else -1
        first = 0
        for i in range(start, stop, step):
            if 1 <= i < argc and args[i].lower() == word:
                first = i + 1
                break
        if not first:
            return []
    else:
        return []  # unknown: nothing to find by the spec
    kind = spec.find[0]
    if kind == "range":
        _, lastkey, step, limit = spec.find
        if lastkey >= 0:
            last = first + lastkey
        elif not limit:
            last = argc + lastkey
        else:
            last = first + ((argc - first) // limit + lastkey)
    elif kind == "keynum":
        _, keynumidx, firstkey, step = spec.find
        if keynumidx >= argc - first:
            return None
        try:
            numkeys = int(args[first + keynumidx])
        except ValueError:
            return None
        if numkeys < 0:
            return None
        first += firstkey
        last = first + (numkeys - 1) * step
    else:
        return []
    if last >= argc or last < first or first >= argc:
        return None
    return list(range(first, last + 1, max(step, 1)))


def _key_positions(args: list[bytes]) -> tuple[Command, list[tuple[int, KeySpec]]]:
    """GETKEYS: the command an argument vector names and its keys, each with its spec.

    Checks in Redis's order: the command exists, it has keys at all, the
    argument count fits its arity, the specs find their keys.
    """
    cmd = TABLE.get(args[0])
    if cmd is not None and cmd.subcommands and len(args) >= 2:
        cmd = cmd.subcommands.get(args[1].lower())
    if cmd is None:
        raise CommandError(errors.INVALID_COMMAND)
    if not cmd.key_specs:
        raise CommandError(errors.NO_KEY_ARGUMENTS)
    n = len(args)
    if (cmd.arity > 0 and cmd.arity != n) or n < -cmd.arity:
        raise CommandError(errors.INVALID_ARG_COUNT)
    found: list[tuple[int, KeySpec]] = []
    for spec in cmd.key_specs:
        positions = _spec_positions(spec, args)
        if positions is None:
            found = []
            break
        found += [(i, spec) for i in positions]
    if not found:
        if "no_mandatory_keys" in cmd.flags:
            return cmd, []
        raise CommandError(errors.INVALID_ARGUMENTS)
    return cmd, found


def find_keys(args: list[bytes]) -> tuple[Command, list[tuple[int, KeySpec]]]:
    """The command an argument vector runs and the positions of its keys, as COMMAND GETKEYS finds them.

    Keys that a spec cannot locate (``unknown`` begin_search, e.g. SORT's BY
    and STORE) are not listed.

    Raises:
        CommandError: GETKEYS's error (unknown command, no keys, bad arguments).
    """
    return _key_positions(args)


@register("command", -1, "loading stale", group="server", since="2.8.13",
          complexity="O(N) where N is the total number of Redis commands",
          summary="Get array of Redis command details", tips="nondeterministic_output_order",
          acl="connection")
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


@register("command|count", 2, "loading stale", group="server", since="2.8.13",
          summary="Get total number of Redis commands", acl="connection")
def command_count(s: Any, argv: list[bytes]) -> Any:
    """COMMAND COUNT: the number of top-level commands."""
    return len(TABLE.top_level())


@register("command|info", -2, "loading stale", group="server", since="2.8.13",
          complexity="O(N) where N is the number of commands to look up",
          summary="Get array of specific Redis command details, or all when no argument is given.",
          syntax="[command-name [command-name ...]]", tips="nondeterministic_output_order",
          acl="connection",
          history=(("7.0.0", "Allowed to be called with no argument to get info on all "
                             "commands."),))
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
          syntax="[command-name [command-name ...]]", tips="nondeterministic_output_order",
          acl="connection")
def command_docs(s: Any, argv: list[bytes]) -> Any:
    """COMMAND DOCS [name ...]: a map name -> docs; unknown names are left out."""
    if len(argv) == 2:
        return {c.name.encode(): docs_entry(c) for c in TABLE.top_level()}
    pairs = Pairs()
    for name in argv[2:]:
        cmd = find_command(name)
        if cmd is not None:
            pairs.append((cmd.name.encode(), docs_entry(cmd)))
    out = dict(pairs)
    return out if len(out) == len(pairs) else pairs  # a name asked twice: twice, as Redis


@register("command|list", -2, "loading stale", group="server", since="7.0.0",
          complexity="O(N) where N is the total number of Redis commands",
          summary="Get an array of Redis command names",
          syntax="[FILTERBY (filterby: MODULE module-name | ACLCAT category | PATTERN pattern)]",
          tips="nondeterministic_output_order", acl="connection")
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
          summary="Extract keys given a full Redis command", acl="connection")
def command_getkeys(s: Any, argv: list[bytes]) -> Any:
    """COMMAND GETKEYS command [arg ...]: the key arguments of a full command."""
    args = argv[2:]
    _, found = _key_positions(args)
    return [args[i] for i, _ in found]


@register("command|getkeysandflags", -4, "loading stale", group="server", since="7.0.0",
          complexity="O(N) where N is the number of arguments to the command",
          summary="Extract keys and access flags given a full Redis command", acl="connection")
def command_getkeysandflags(s: Any, argv: list[bytes]) -> Any:
    """COMMAND GETKEYSANDFLAGS command [arg ...]: [[key, [flags]], ...]."""
    args = argv[2:]
    _, found = _key_positions(args)
    return [[args[i], _status_set(spec.flags)] for i, spec in found]


@register("command|help", 2, "loading stale", group="server", since="5.0.0",
          summary="Show helpful text about the different subcommands", acl="connection")
def command_help(s: Any, argv: list[bytes]) -> Any:
    """COMMAND HELP."""
    return [line.encode() for line in _COMMAND_HELP]
