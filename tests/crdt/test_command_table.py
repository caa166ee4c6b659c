"""Unit tests of the COMMAND family (crdt/commands/introspection.py): rows, docs, lists and key
extraction are generated from the table, in Redis 7.0's shapes, with every error path.
"""

from __future__ import annotations

import pathlib
import re
from typing import Any

import pytest

from crdt.commands.introspection import CATEGORY_ORDER, FLAG_ORDER, find_command, info_row
from crdt.table import KNOWN_FLAGS, TABLE
from protocol.replies import SimpleString
from protocol.resp import encode
from tests.helpers import EngineBox, SYNTAX

T0 = 1_700_000_000_000


class Box(EngineBox):
    """An engine, a session and a clock that only moves when told (tests/helpers.py)."""


@pytest.fixture
def box() -> Box:
    return Box()


def check_row(row: list[Any]) -> None:
    """The 10-field shape of a COMMAND INFO row, recursively."""
    name, arity, flags, first, last, step, cats, tips, specs, subs = row
    cmd = find_command(name)
    assert cmd is not None and cmd.name.encode() == name and arity == cmd.arity
    assert all(isinstance(f, SimpleString) for f in flags)
    ranks = [FLAG_ORDER.index(f.decode()) for f in flags]
    assert ranks == sorted(ranks)
    assert (first, last, step) == (cmd.first_key, cmd.last_key, cmd.key_step)
    assert all(isinstance(c, SimpleString) and c.startswith(b"@") for c in cats)
    cat_ranks = [CATEGORY_ORDER.index(c[1:].decode()) for c in cats]
    assert cat_ranks == sorted(cat_ranks) and (b"@fast" in cats) != (b"@slow" in cats)
    assert all(type(t) is bytes for t in tips)
    if first > 0:
        assert specs
    for sub in subs:
        check_row(sub)


def test_flag_order_covers_known_flags() -> None:
    assert set(FLAG_ORDER) == set(KNOWN_FLAGS)


def test_command_without_arguments_lists_every_top_level_command(box: Box) -> None:
    rows = box("COMMAND")
    assert len(rows) == box("COMMAND", "COUNT") == len(TABLE.top_level())
    for row in rows:
        check_row(row)
    assert encode(rows, False) and encode(rows, True)
    assert box("COMMAND", "INFO") == rows


def test_command_info_rows(box: Box) -> None:
    ping, unknown, cfg = box("COMMAND", "INFO", "PING", "nosuch", "config|get")
    assert ping == [b"ping", -1, [b"fast"], 0, 0, 0, [b"@fast", b"@connection"],
                    [b"request_policy:all_shards", b"response_policy:all_succeeded"], [], []]
    assert unknown is None
    assert cfg == [b"config|get", -3, [b"admin", b"noscript", b"loading", b"stale"], 0, 0, 0,
                   [b"@admin", b"@slow", b"@dangerous"], [], [], []]
    assert box("COMMAND", "INFO", "config|nosuch", "nosuch|get", "config|get|x") == [None] * 3


def test_container_rows(box: Box) -> None:
    (client,) = box("COMMAND", "INFO", "client")
    assert client[:9] == [b"client", -2, [], 0, 0, 0, [b"@slow"], [], []]
    names = [sub[0] for sub in client[9]]
    assert b"client|list" in names and len(names) == len(set(names))
    (command,) = box("COMMAND", "INFO", "command")
    assert command[:8] == [b"command", -1, [b"loading", b"stale"], 0, 0, 0,
                           [b"@slow", b"@connection"], [b"nondeterministic_output_order"]]
    assert {sub[0] for sub in command[9]} == {
        b"command|count", b"command|info", b"command|docs", b"command|list",
        b"command|getkeys", b"command|getkeysandflags", b"command|help"}


def test_key_specs_positions_agree_with_the_legacy_key_range(box: Box) -> None:
    """A simple spec starts at the first key; a lone one spans the legacy range."""
    for cmd in TABLE.by_name.values():
        specs = info_row(cmd)[8]
        if cmd.first_key <= 0 or not all(sp.simple for sp in cmd.key_specs):
            continue
        assert specs[0][b"begin_search"] == {b"type": b"index", b"spec": {b"index": cmd.first_key}}
        if len(specs) == 1:
            lastkey = specs[0][b"find_keys"][b"spec"][b"lastkey"]
            assert lastkey == (cmd.last_key if cmd.last_key < 0 else cmd.last_key - cmd.first_key)


def test_command_docs(box: Box) -> None:
    docs = box("COMMAND", "DOCS", "ping", "nosuch", "CONFIG")
    assert set(docs) == {b"ping", b"config"}
    assert docs[b"ping"] == {
        b"summary": b"Ping the server", b"since": b"1.0.0", b"group": b"connection",
        b"complexity": b"O(1)",
        b"arguments": [{b"name": b"message", b"type": b"string", b"flags": [b"optional"]}]}
    assert list(docs[b"ping"]) == [b"summary", b"since", b"group", b"complexity", b"arguments"]
    cfg = docs[b"config"]
    assert cfg[b"complexity"] == b"Depends on subcommand." and b"arguments" not in cfg
    assert cfg[b"subcommands"][b"config|get"][b"since"] == b"2.0.0"
    assert box("COMMAND", "DOCS", "nosuch") == {}
    assert box("COMMAND", "DOCS", "config|set")[b"config|set"][b"group"] == b"server"
    everything = box("COMMAND", "DOCS")
    assert len(everything) == len(TABLE.top_level())
    assert encode(everything, False) and encode(everything, True)


def test_command_docs_arguments_are_valid_for_redis_cli(box: Box) -> None:
    types = {b"string", b"integer", b"double", b"key", b"pattern", b"unix-time",
             b"pure-token", b"oneof", b"block"}

    def walk(args: list[dict[bytes, Any]]) -> None:
        for a in args:
            assert a[b"type"] in types and a[b"name"]
            if a[b"type"] in (b"oneof", b"block"):
                walk(a[b"arguments"])
            if a[b"type"] == b"pure-token":
                assert a[b"token"]
            for f in a.get(b"flags", []):
                assert f in (b"optional", b"multiple", b"multiple_token")

    for entry in box("COMMAND", "DOCS").values():
        walk(entry.get(b"arguments", []))
        for sub in entry.get(b"subcommands", {}).values():
            walk(sub.get(b"arguments", []))


def test_command_count_and_list(box: Box) -> None:
    names = box("COMMAND", "LIST")
    assert b"get" in names and b"config|get" in names and b"client|kill" in names
    assert len(names) == len(set(names)) == len(TABLE.by_name)
    assert box("COMMAND", "LIST", "FILTERBY", "PATTERN", "config*") == [
        n for n in names if n.startswith(b"config")]
    assert box("COMMAND", "LIST", "FILTERBY", "pattern", "PIN?") == [b"ping"]
    conn = box("COMMAND", "LIST", "FILTERBY", "ACLCAT", "CONNECTION")
    assert b"ping" in conn and b"client|list" in conn and b"client" not in conn
    assert b"get" not in conn
    assert b"client" in box("COMMAND", "LIST", "FILTERBY", "ACLCAT", "slow")
    assert box("COMMAND", "LIST", "FILTERBY", "ACLCAT", "nosuch") == []
    assert box("COMMAND", "LIST", "FILTERBY", "MODULE", "foo") == []


@pytest.mark.parametrize("argv", [
    ("FILTERBY",), ("FILTERBY", "FOO", "x"), ("FOO",), ("FILTERBY", "PATTERN", "x", "y"),
    ("FILTER", "PATTERN", "x"),
])
def test_command_list_syntax_errors(box: Box, argv: tuple[str, ...]) -> None:
    assert box.err("COMMAND", "LIST", *argv) == SYNTAX


def test_command_getkeys(box: Box) -> None:
    assert box("COMMAND", "GETKEYS", "get", "a") == [b"a"]
    assert box("COMMAND", "GETKEYS", "MSET", "a", "1", "b", "2") == [b"a", b"b"]
    assert box("COMMAND", "GETKEYS", "mset", "a", "1", "b") == [b"a", b"b"]
    assert box("COMMAND", "GETKEYSANDFLAGS", "get", "a") == [[b"a", [b"RO", b"access"]]]
    assert box.err("COMMAND", "GETKEYS", "nosuch", "a") == b"ERR Invalid command specified"
    assert box.err("COMMAND", "GETKEYS", "config", "nosuch") == b"ERR Invalid command specified"
    assert box.err("COMMAND", "GETKEYS", "get", "a", "b") == (
        b"ERR Invalid number of arguments specified for command")
    assert box.err("COMMAND", "GETKEYS", "config", "get") == (  # keys are checked before arity
        b"ERR The command has no key arguments")
    assert box.err("COMMAND", "GETKEYS", "ping", "x") == b"ERR The command has no key arguments"
    assert box.err("COMMAND", "GETKEYS", "config", "get", "x") == (
        b"ERR The command has no key arguments")
    assert box.err("COMMAND", "GETKEYSANDFLAGS", "echo", "x") == (
        b"ERR The command has no key arguments")
    assert box.err("COMMAND", "GETKEYS", "get") == (
        b"ERR wrong number of arguments for 'command|getkeys' command")


def test_command_help_and_errors(box: Box) -> None:
    lines = box("COMMAND", "HELP")
    assert lines[0] == b"COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
    assert lines[1] == b"(no subcommand)" and lines[-1] == b"    Prints this help."
    assert box.err("COMMAND", "foo") == b"ERR unknown subcommand 'foo'. Try COMMAND HELP."
    assert box.err("COMMAND", "COUNT", "x") == b"ERR wrong number of arguments for 'command|count' command"
    assert box.err("COMMAND", "HELP", "x") == b"ERR wrong number of arguments for 'command|help' command"


def test_command_subcommand_statistics_move_to_the_subcommand(box: Box) -> None:
    e = box.engine
    parent = TABLE.by_name["command"]
    box("COMMAND", "COUNT")
    box("COMMAND", "GETKEYS", "nosuch", "x")
    box("COMMAND", "NOSUCH")
    box("COMMAND", "COUNT", "x")
    box("COMMAND")
    assert e.calls[parent.index] == 1 and e.failed_calls[parent.index] == 0
    assert e.calls[TABLE.by_name["command|count"].index] == 1
    getkeys = TABLE.by_name["command|getkeys"].index
    assert e.calls[getkeys] == 1 and e.failed_calls[getkeys] == 1
    assert box.session.last_cmd == b"command"


def test_command_handler_sees_only_the_bare_form_under_subcommand_dispatch(box: Box) -> None:
    """An engine that dispatches every command with subcommands calls COMMAND's handler bare."""
    parent = TABLE.by_name["command"]
    assert parent.handler is not None and parent.subcommands
    s = box.session
    rows = parent.handler(s, [b"COMMAND"])
    assert len(rows) == len(TABLE.top_level())
    sub = parent.subcommands[b"count"]
    assert sub.handler is not None and sub.handler(s, [b"COMMAND", b"COUNT"]) == len(rows)
    docs_handler = parent.subcommands[b"docs"].handler
    assert docs_handler is not None
    docs = docs_handler(s, [b"COMMAND", b"DOCS", b"get"])
    assert set(docs) == {b"get"}
    # and an engine that leaves COMMAND <sub> to the handler gets the same answers
    assert box("COMMAND", "COUNT") == len(rows) and box("COMMAND", "DOCS", "get") == docs


def test_getkeys_follow_the_key_specs(box: Box) -> None:
    assert box("COMMAND", "GETKEYSANDFLAGS", "rename", "a", "b") == [
        [b"a", [b"RW", b"access", b"delete"]], [b"b", [b"OW", b"update"]]]
    assert box("COMMAND", "GETKEYSANDFLAGS", "lcs", "a", "b") == [
        [b"a", [b"RO", b"access"]], [b"b", [b"RO", b"access"]]]
    assert box("COMMAND", "GETKEYS", "object", "encoding", "k") == [b"k"]


def test_key_spec_notation() -> None:
    from crdt.table import KeySpec, parse_key_spec

    derived = (("index", 1), ("range", 0, 1, 0))
    assert parse_key_spec("access RW # why", derived) == KeySpec(("RW", "access"), *derived, "why")
    assert parse_key_spec("RO access index:2 keynum:0:1:1", None) == KeySpec(
        ("RO", "access"), ("index", 2), ("keynum", 0, 1, 1))
    assert parse_key_spec("OW update keyword:STORE:6 range:0:1:0", None).begin == (
        "keyword", "STORE", 6)
    assert parse_key_spec("RO unknown", None).find == ("unknown",)
    with pytest.raises(AssertionError):
        parse_key_spec("RO", None)
    with pytest.raises(AssertionError):
        parse_key_spec("RO index:x", derived)


# Error-looking byte literals; every error text lives in crdt/errors.py (STYLE.md).
_ERROR_LITERAL = re.compile(
    r"""b["'](?:ERR |WRONGTYPE|NOAUTH|WRONGPASS|NOPROTO|EXECABORT|BUSY|NOSCRIPT|LOADING|"""
    r"""READONLY|MOVED|ASK |OOM|NOPERM|NOREPLICAS|MASTERDOWN|MISCONF|CROSSSLOT)|"""
    r"""["'](?:ERR |WRONGTYPE )""")
# errors.py is where the texts live; every other module is scanned.
_NOT_SCANNED = {"errors.py"}


def test_no_error_text_outside_errors_py() -> None:
    root = pathlib.Path(__file__).resolve().parents[2] / "crdt"
    found = []
    for path in sorted(root.glob("*.py")):
        if path.name in _NOT_SCANNED:
            continue
        for lineno, line in enumerate(path.read_text().splitlines(), 1):
            if _ERROR_LITERAL.search(line):
                found.append(f"{path.name}:{lineno}: {line.strip()}")
    assert found == []


def test_registration_order_decides_nothing() -> None:
    """Every row registered again, in shuffled orders (subcommands before their container
    too), makes the same table: same numbering, same links, same lookups."""
    import dataclasses
    import random

    from crdt.commands import TABLE
    from crdt.table import CommandTable

    def shape(table: CommandTable) -> dict[str, object]:
        return {name: (cmd.index, cmd.container.name if cmd.container else None,
                       sorted(cmd.subcommands), cmd.categories, sorted(cmd.flags))
                for name, cmd in table.by_name.items()} | {"lookup": sorted(table.lookup)}

    rows = list(TABLE.by_name.values())
    for seed in range(5):
        order = rows[:]
        random.Random(seed).shuffle(order)
        table = CommandTable()
        for cmd in order:
            table.register(dataclasses.replace(cmd, subcommands={}, container=None, index=-1))
        table.freeze()
        assert shape(table) == shape(TABLE)
        assert list(table.by_name) == sorted(table.by_name)
