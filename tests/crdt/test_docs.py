"""COMMAND DOCS and the syntax-line notation of crdt/docs.py.

Unit tests read small lines of the notation; the differential tests compare
every field of COMMAND DOCS (summary, since, group, complexity, doc_flags,
deprecated_since, replaced_by, history, arguments, subcommands) of each of
our commands with the real redis-server, in RESP2 and RESP3, and round-trip
every argument list the real server documents through `format_arguments`
and `parse_syntax`, so the notation can say all that Redis 7.0 says.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import hiredis
import pytest

from crdt.docs import format_arguments, parse_syntax
from crdt.engine import Engine
from crdt.table import TABLE
from protocol.resp import encode
from tests.differential import Differential, encode_command
from tests.helpers import COLLECTION_MODULES, TABLE_MODULES

ARG_FLAG_ORDER = ("optional", "multiple", "multiple_token")
ARG_KEY_ORDER = ("name", "type", "key_spec_index", "token", "summary", "since",
                 "deprecated_since", "flags", "arguments")
SOCKET_TIMEOUT_S = 10.0


def _module_of(name: str) -> str:
    cmd = TABLE.by_name[name]
    if cmd.handler is None:
        cmd = next(iter(cmd.subcommands.values()))
    return str(cmd.handler.__module__)  # type: ignore[union-attr]


def _names(modules: tuple[str, ...]) -> list[str]:
    return [c.name for c in TABLE.top_level() if _module_of(c.name) in modules]


# -- the notation ----------------------------------------------------------------------


def test_plain_key_and_multiple() -> None:
    assert parse_syntax("key [key ...]", 1) == [
        {"name": "key", "type": "key", "key_spec_index": 0, "flags": ["multiple"]}]
    assert parse_syntax("[key [key ...]]") == [
        {"name": "key", "type": "key", "key_spec_index": 0, "flags": ["multiple", "optional"]}]


def test_block_repetition_and_key_spec_numbering() -> None:
    (data,) = parse_syntax("key value [key value ...]", 1)
    assert data == {"name": "key_value", "type": "block", "flags": ["multiple"], "arguments": [
        {"name": "key", "type": "key", "key_spec_index": 0}, {"name": "value", "type": "string"}]}
    assert [a["key_spec_index"] for a in parse_syntax("key1 key2", 1)] == [0, 0]
    assert [a["key_spec_index"] for a in parse_syntax("key newkey", 2)] == [0, 1]
    sort = parse_syntax("key [BY pattern{spec=1}] [STORE destination{spec=2}]", 3)
    assert [a.get("key_spec_index") for a in sort] == [0, 1, 2]


def test_named_oneof_tokens_since_and_types() -> None:
    cond, exp = parse_syntax("[condition: NX | XX]@2.6.12 "
                             "[expiration: EX seconds | EXAT unix-time-seconds@6.2.0]")
    assert cond == {"name": "condition", "type": "oneof", "since": "2.6.12", "flags": ["optional"],
                    "arguments": [{"name": "nx", "type": "pure-token", "token": "NX"},
                                  {"name": "xx", "type": "pure-token", "token": "XX"}]}
    assert exp["arguments"] == [
        {"name": "seconds", "type": "integer", "token": "EX"},
        {"name": "unix-time-seconds", "type": "unix-time", "token": "EXAT", "since": "6.2.0"}]
    (inc,) = parse_syntax("increment{double}")
    assert inc == {"name": "increment", "type": "double"}
    (agg,) = parse_syntax("[AGGREGATE (SUM | MIN | MAX)]")
    assert agg["token"] == "AGGREGATE" and agg["type"] == "oneof" and agg["name"] == "sum_min_max"


def test_blocks_tokens_and_multiple_token() -> None:
    (limit,) = parse_syntax("[LIMIT offset count]")
    assert limit == {"name": "offset_count", "type": "block", "token": "LIMIT",
                     "flags": ["optional"], "arguments": [
                         {"name": "offset", "type": "integer"},
                         {"name": "count", "type": "integer"}]}
    (get,) = parse_syntax("[GET pattern [GET pattern ...]]")
    assert get["token"] == "GET" and get["flags"] == ["multiple", "multiple_token", "optional"]
    (weights,) = parse_syntax("[WEIGHTS weight [weight ...]]")
    assert weights["token"] == "WEIGHTS" and weights["flags"] == ["multiple", "optional"]
    (ids,) = parse_syntax("[id: ID{block} client-id [client-id ...]]")
    assert ids["type"] == "block" and ids["token"] == "ID"
    assert ids["arguments"] == [{"name": "client-id", "type": "integer", "flags": ["multiple"]}]
    (count,) = parse_syntax("[count: (COUNT count) [ANY]]")
    assert count["type"] == "block" and "token" not in count
    assert count["arguments"][0] == {"name": "count", "type": "integer", "token": "COUNT"}
    (param,) = parse_syntax("(parameter){block} [parameter ...]")
    assert param == {"name": "parameter", "type": "block", "flags": ["multiple"],
                     "arguments": [{"name": "parameter", "type": "string"}]}
    (tok,) = parse_syntax('CH{name=change,deprecated=2.0.0}')
    assert tok == {"name": "change", "type": "pure-token", "token": "CH",
                   "deprecated_since": "2.0.0"}


def test_top_level_items_never_merge() -> None:
    assert [a["type"] for a in parse_syntax("NX key")] == ["pure-token", "key"]
    (arg,) = parse_syntax("(STORE destination)")
    assert arg == {"name": "destination", "type": "key", "token": "STORE", "key_spec_index": 0}


@pytest.mark.parametrize("line", ["[key", "key]", "(a | b", "@1.0 key", "key{nosuch}",
                                  "key [x ...] [", "[x ...]"])
def test_malformed_lines_are_registration_bugs(line: str) -> None:
    with pytest.raises(AssertionError):
        parse_syntax(line)


def test_every_row_parses_and_formats_back() -> None:
    for cmd in TABLE.by_name.values():
        args = cmd.arguments_doc()
        assert parse_syntax(format_arguments(args), len(cmd.key_specs)) == args, cmd.name


def test_docs_field_order_and_deprecation() -> None:
    e = Engine(now_ms=0)
    s = e.open_session(0)
    docs = e.execute([b"COMMAND", b"DOCS", b"getset", b"debug"], s, 0)
    assert list(docs[b"getset"]) == [b"summary", b"since", b"group", b"complexity", b"doc_flags",
                                     b"deprecated_since", b"replaced_by", b"arguments"]
    assert docs[b"getset"][b"doc_flags"] == [b"deprecated"]
    assert docs[b"debug"][b"doc_flags"] == [b"syscmd"]
    assert b"arguments" not in docs[b"debug"]


# -- against the real server -------------------------------------------------------------


def _arg_map(arg: dict[str, Any]) -> dict[str, Any]:
    """A decoded argument map in Redis's key order with flags in Redis's order."""
    out: dict[str, Any] = {}
    for key in ARG_KEY_ORDER:
        if key in arg:
            value = arg[key]
            if key == "flags":
                value = sorted(value, key=ARG_FLAG_ORDER.index)
            elif key == "arguments":
                value = [_arg_map(a) for a in value]
            out[key] = value
    return out


def _decode(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if isinstance(value, dict):
        return {_decode(k): _decode(v) for k, v in value.items()}
    return value


@pytest.fixture
def diff3(real_redis_port: int) -> Iterator[Differential]:
    d = Differential(real_redis_port, resp3=True)
    yield d
    d.close()


@pytest.mark.redis
def test_real_argument_lists_round_trip_through_the_notation(diff3: Differential) -> None:
    real = _decode(diff3.real.call(b"COMMAND", b"DOCS"))
    checked = 0
    for name, entry in real.items():
        for sub_name, sub in [(name, entry), *entry.get("subcommands", {}).items()]:
            args = [_arg_map(a) for a in sub.get("arguments", [])]
            if not args:
                continue
            specs = 1 + max([-1] + [_max_spec(a) for a in args])
            back = [_arg_map(a) for a in parse_syntax(format_arguments(args), specs)]
            assert back == args, (sub_name, format_arguments(args))
            checked += 1
    assert checked > 200


def _max_spec(arg: dict[str, Any]) -> int:
    return max([arg.get("key_spec_index", -1)] + [_max_spec(a) for a in arg.get("arguments", [])])


def _entry_differences(d: Differential, name: str) -> list[str]:
    """Names whose COMMAND DOCS entries differ; a container's subcommands one by one.

    Only the subcommands we have are compared (Redis has more), each under the
    name Redis lists it with.
    """
    ours, theirs = d.run("COMMAND", "DOCS", name)
    if not isinstance(ours, dict):  # RESP2: [name, entry]
        ours, theirs = {ours[0]: ours[1]}, {theirs[0]: theirs[1]}
    mine, real = ours[name.encode()], theirs[name.encode()]
    bad: list[str] = []
    if not TABLE.by_name[name].subcommands:
        return [] if mine == real else [name]
    if isinstance(mine, list):
        mine, real = _pairs_to_dict(mine), _pairs_to_dict(real)
    if {k: v for k, v in mine.items() if k != b"subcommands"} != {
            k: v for k, v in real.items() if k != b"subcommands"}:
        bad.append(name)
    for sub in _subcommand_names(name):
        if _entry_differences(d, sub):
            bad.append(sub)
    return bad


def _pairs_to_dict(flat: list[Any]) -> dict[Any, Any]:
    return dict(zip(flat[::2], flat[1::2]))


def _subcommand_names(name: str) -> list[str]:
    return sorted({sub.name for sub in TABLE.by_name[name].subcommands.values()})


@pytest.mark.redis
@pytest.mark.parametrize("resp3", [False, True])
def test_command_docs_of_every_table_module_command_match(real_redis_port: int,
                                                          resp3: bool) -> None:
    d = Differential(real_redis_port, resp3=resp3)
    try:
        bad = [n for name in _names(TABLE_MODULES) for n in _entry_differences(d, name)]
        assert bad == []
    finally:
        d.close()


@pytest.mark.redis
def test_command_docs_of_collection_commands(diff3: Differential) -> None:
    """The collection modules' COMMAND DOCS entries match Redis's."""
    names = _names(COLLECTION_MODULES)
    # Every collection module registers commands now: a module missing here (renamed,
    # moved) would silently drop its commands from this comparison.
    assert {_module_of(n) for n in names} == set(COLLECTION_MODULES)
    bad = [n for name in names for n in _entry_differences(diff3, name)]
    assert bad == []


def _raw(port: int, *argv: bytes) -> bytes:
    """The real server's reply bytes to HELLO 3 then ``argv`` (the reply of ``argv`` only)."""
    with socket.create_connection(("127.0.0.1", port), timeout=SOCKET_TIMEOUT_S) as sock:
        reader = hiredis.Reader()
        data = b""
        sock.sendall(encode_command([b"HELLO", b"3"]))
        while reader.gets() is False:
            reader.feed(sock.recv(65536))
        sock.sendall(encode_command(list(argv)))
        check = hiredis.Reader()
        while True:
            chunk = sock.recv(65536)
            data += chunk
            check.feed(chunk)
            if check.gets() is not False:
                return data


@pytest.mark.redis
@pytest.mark.parametrize("argv", [
    (b"COMMAND", b"INFO", b"set", b"rename", b"getset", b"ping", b"mset"),
    (b"COMMAND", b"INFO", b"object|freq", b"command|docs", b"config|set"),
    (b"COMMAND", b"DOCS", b"set"),
    (b"COMMAND", b"DOCS", b"getset"),
    (b"COMMAND", b"DOCS", b"client|kill"),
    (b"COMMAND", b"GETKEYSANDFLAGS", b"rename", b"a", b"b"),
])
def test_resp3_wire_bytes_match(real_redis_port: int, argv: tuple[bytes, ...]) -> None:
    """Sets go out as RESP3 sets (~), maps as maps, in Redis's field order."""
    e = Engine(now_ms=0)
    s = e.open_session(0)
    e.execute([b"HELLO", b"3"], s, 0)
    assert encode(e.execute(list(argv), s, 0), True) == _raw(real_redis_port, *argv)
