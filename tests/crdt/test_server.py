"""Unit tests of the server commands in crdt/commands/server.py and the parameter table in
crdt/config.py: CONFIG GET/SET/RESETSTAT/REWRITE/HELP, TIME, LASTSAVE, DEBUG,
FUNCTION, SAVE/BGSAVE/BGREWRITEAOF, every error path, on virtual time.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crdt import errors
from crdt.config import ALIASES, PARAMS, Config, parse_memory
from crdt.engine import Engine, HostInfo
from crdt.errors import CommandError
from crdt.commands.server import serialized_length
from protocol.replies import SimpleString
from tests.helpers import EngineBox, SYNTAX

T0 = 1_700_000_000_123


class Box(EngineBox):
    """An engine (optionally with a given host) and a session on a still clock."""

    def __init__(self, host: HostInfo | None = None) -> None:
        super().__init__(engine=Engine(now_ms=T0, host=host), now=T0)


@pytest.fixture
def box() -> Box:
    return Box()


def failed(name: str, reason: str) -> bytes:
    return f"ERR CONFIG SET failed (possibly related to argument '{name}') - {reason}".encode()


# --- CONFIG GET ---------------------------------------------------------------------------


def test_config_get_exact_and_glob(box: Box) -> None:
    assert box("CONFIG", "GET", "hz") == {b"hz": b"10"}
    assert box("CONFIG", "GET", "HZ", "hz", "Hz") == {b"HZ": b"10"}  # one entry, as spelled
    assert box("CONFIG", "GET", "nosuch") == {}
    assert box("CONFIG", "GET", "timeout", "databases", "maxclients") == {
        b"timeout": b"0", b"databases": b"16", b"maxclients": b"10000"}
    got = box("CONFIG", "GET", "*max*entries*")
    assert got[b"hash-max-listpack-entries"] == b"512"
    assert got[b"hash-max-ziplist-entries"] == b"512"  # the alias too
    assert got[b"zset-max-listpack-entries"] == b"128"
    assert box("CONFIG", "GET", "hash-max-ziplist-value") == {b"hash-max-ziplist-value": b"64"}
    everything = box("CONFIG", "GET", "*")
    assert len(everything) == len([p for p in PARAMS if not p.hidden]) + len(ALIASES)  # watchdog-period is hidden
    assert everything[b"client-output-buffer-limit"] == (
        b"normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60")


def test_config_get_arity(box: Box) -> None:
    assert box.err("CONFIG", "GET") == b"ERR wrong number of arguments for 'config|get' command"


# --- CONFIG SET ---------------------------------------------------------------------------


def test_config_set_several_pairs(box: Box) -> None:
    assert box("CONFIG", "SET", "hz", "20", "timeout", "30") == b"OK"
    assert box("CONFIG", "GET", "hz", "timeout") == {b"hz": b"20", b"timeout": b"30"}


def test_config_set_is_all_or_nothing(box: Box) -> None:
    assert box.err("CONFIG", "SET", "hz", "5", "timeout", "-1") == failed(
        "timeout", "argument must be between 0 and 2147483647 inclusive")
    assert box.engine.config["hz"] == 10
    assert box.err("CONFIG", "SET", "hz", "5", "nosuch", "1") == (
        b"ERR Unknown option or number of arguments for CONFIG SET - 'nosuch'")
    assert box.engine.config["hz"] == 10


def test_config_set_name_errors_come_before_value_errors(box: Box) -> None:
    assert box.err("CONFIG", "SET", "hz", "abc", "NoSuch", "1") == (
        b"ERR Unknown option or number of arguments for CONFIG SET - 'NoSuch'")
    assert box.err("CONFIG", "SET", "hz", "abc", "DataBases", "1") == failed(
        "DataBases", "can't set immutable config")
    assert box.err("CONFIG", "SET", "hz", "5", "HZ", "6") == failed("HZ", "duplicate parameter")
    # An alias is not a duplicate for Redis 7.0: the later value wins.
    assert box("CONFIG", "SET", "hash-max-ziplist-entries", "1", "hash-max-listpack-entries", "2") == b"OK"
    assert box.engine.config["hash-max-listpack-entries"] == 2
    assert box.err("CONFIG", "SET", "HZ", "abc") == failed(
        "hz", "argument couldn't be parsed into an integer")


@pytest.mark.parametrize("name,value,reason", [
    ("hz", "abc", "argument couldn't be parsed into an integer"),
    ("hz", "-1", "argument must be between 0 and 2147483647 inclusive"),
    ("hz", "99999999999", "argument must be between 0 and 2147483647 inclusive"),
    ("timeout", "1.5", "argument couldn't be parsed into an integer"),
    ("timeout", "+5", "argument couldn't be parsed into an integer"),
    ("timeout", "05", "argument couldn't be parsed into an integer"),
    ("timeout", "0x10", "argument couldn't be parsed into an integer"),
    ("maxclients", "0", "argument must be between 1 and 4294967295 inclusive"),
    ("maxclients", "4294967296", "argument must be between 1 and 4294967295 inclusive"),
    ("active-expire-effort", "11", "argument must be between 1 and 10 inclusive"),
    ("proto-max-bulk-len", "1", "argument must be between 1048576 and 9223372036854775807 inclusive"),
    ("proto-max-bulk-len", "1024k", "argument must be between 1048576 and 9223372036854775807 inclusive"),
    ("proto-max-bulk-len", "1x", "argument must be a memory value"),
    ("proto-max-bulk-len", "-5", "argument must be a memory value"),
    ("proto-max-bulk-len", "1.5mb", "argument must be a memory value"),
    ("hash-max-listpack-value", "+5", "argument must be a memory value"),
    ("hash-max-listpack-value", "18446744073709551615",
     "argument must be between 0 and 9223372036854775807 inclusive"),
    ("hash-max-listpack-entries", "1k", "argument couldn't be parsed into an integer"),
    ("set-max-intset-entries", "-1", "argument must be between 0 and 9223372036854775807 inclusive"),
    ("list-compress-depth", "-1", "argument must be between 0 and 2147483647 inclusive"),
    ("loglevel", "foo", "argument(s) must be one of the following: debug, verbose, notice, warning"),
    ("loglevel", "nothing", "argument(s) must be one of the following: debug, verbose, notice, warning"),
    ("appendonly", "maybe", "argument must be 'yes' or 'no'"),
    ("appendonly", "yes", "gyrekv keeps no persistence"),
    ("save", "abc", "Invalid save parameters"),
    ("save", "100", "Invalid save parameters"),
    ("save", "-1 5", "Invalid save parameters"),
    ("save", "3600 1", "gyrekv keeps no persistence"),
    ("notify-keyspace-events", "Q", "Invalid event class character. Use 'Ag$lshzxeKEtmdn'."),
    ("client-output-buffer-limit", "normal 1 2",
     "Wrong number of arguments in buffer limit configuration."),
    ("client-output-buffer-limit", "foo 1 2 3",
     "Invalid client class specified in buffer limit configuration."),
    ("client-output-buffer-limit", "normal x 2 3",
     "Error in hard, soft or soft_seconds setting in buffer limit configuration."),
    ("client-output-buffer-limit", "normal 1 2 x",
     "Error in hard, soft or soft_seconds setting in buffer limit configuration."),
])
def test_config_set_value_errors(box: Box, name: str, value: str, reason: str) -> None:
    before = dict(box.engine.config.values)
    assert box.err("CONFIG", "SET", name, value) == failed(name, reason)
    assert box.engine.config.values == before


@pytest.mark.parametrize("name,value,shown", [
    ("hz", "0", b"1"), ("hz", "1000", b"500"), ("hz", "42", b"42"),
    ("proto-max-bulk-len", "1MB", b"1048576"), ("proto-max-bulk-len", "2g", b"2000000000"),
    ("hash-max-listpack-value", "05", b"5"), ("hash-max-listpack-value", "1Kb", b"1024"),
    ("hash-max-listpack-value", "", b"0"), ("hash-max-listpack-value", "1b", b"1"),
    ("list-max-listpack-size", "-6", b"-6"), ("loglevel", "WARNING", b"warning"),
    ("notify-keyspace-events", "KEA", b"AKE"), ("notify-keyspace-events", "Elg", b"glE"),
    ("notify-keyspace-events", "gg$", b"g$"), ("notify-keyspace-events", "An", b"A"),
    ("notify-keyspace-events", "nmKgx", b"gxnKm"), ("notify-keyspace-events", "", b""),
    ("appendonly", "NO", b"no"), ("save", "", b""), ("requirepass", "pw", b"pw"),
    ("client-output-buffer-limit", "normal 1mb 2gb 3 replica 1 2 3",
     b"normal 1048576 2147483648 3 slave 1 2 3 pubsub 33554432 8388608 60"),
    ("client-output-buffer-limit", "", b"normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60"),
])
def test_config_set_values(box: Box, name: str, value: str, shown: bytes) -> None:
    assert box("CONFIG", "SET", name, value) == b"OK"
    assert box("CONFIG", "GET", name) == {name.encode(): shown}


def test_config_set_immutable_and_arity(box: Box) -> None:
    for name in ("databases", "port", "bind"):
        assert box.err("CONFIG", "SET", name, "1") == failed(name, "can't set immutable config")
    assert box.err("CONFIG", "SET", "hz") == b"ERR wrong number of arguments for 'config|set' command"
    assert box.err("CONFIG", "SET", "hz", "5", "timeout") == SYNTAX


def test_config_set_calls_listeners(box: Box) -> None:
    seen: list[tuple[str, Any]] = []
    box.engine.config.listeners.append(lambda name, value: seen.append((name, value)))
    box("CONFIG", "SET", "hz", "7", "timeout", "3")
    assert seen == [("hz", 7), ("timeout", 3)]


def test_requirepass_applies_to_new_sessions(box: Box) -> None:
    box("CONFIG", "SET", "requirepass", "pw")
    assert box("PING") == b"PONG"  # the current session stays authenticated
    s2 = box.engine.open_session(box.now)
    assert box.engine.execute([b"PING"], s2, box.now) == b"NOAUTH Authentication required."


def test_config_overrides_and_parse_memory() -> None:
    c = Config({"hz": "1000", "hash-max-ziplist-entries": "7"})
    assert c["hz"] == 500 and c["hash-max-listpack-entries"] == 7
    assert parse_memory("1KB") == 1024 and parse_memory("5") == 5 and parse_memory("1t") is None
    assert parse_memory("-1") is None and parse_memory("") == 0
    with pytest.raises(CommandError):
        c.set([(b"nosuch", b"1")])


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="0123456789abkmgKMGB+-. x", max_size=8))
def test_parse_memory_never_raises(text: str) -> None:
    value = parse_memory(text)
    assert value is None or 0 <= value < 2**64


def test_config_resetstat(box: Box) -> None:
    box("SET", "k", "v")
    box("GET", "k")
    box("NOSUCHCMD")
    assert box("CONFIG", "RESETSTAT") == b"OK"
    assert box.engine.stats.error_replies == 0 and box.engine.stats.errors_by_code == {}
    # CONFIG RESETSTAT itself is counted after the reset, as Redis does.
    assert sum(box.engine.calls) == 1 and box.session.db.hits == 0


def test_config_resetstat_inside_a_pipeline_counts_what_follows(box: Box) -> None:
    replies: list[object] = []
    commands = [[b"INCR", b"a"], [b"CONFIG", b"RESETSTAT"], [b"INCR", b"a"], [b"GET", b"a"]]
    box.engine.execute_many(commands, box.session, box.now, replies)
    assert replies == [1, b"OK", 2, b"2"]
    assert sum(box.engine.calls) == 3  # CONFIG RESETSTAT, then INCR and GET


def test_config_rewrite() -> None:
    assert Box().err("CONFIG", "REWRITE") == b"ERR The server is running without a config file"
    b = Box(HostInfo(config_file="/etc/gyrekv.conf"))
    assert b.err("CONFIG", "REWRITE") == b"ERR gyrekv cannot rewrite its configuration file"
    assert b.err("CONFIG", "REWRITE", "x") == b"ERR wrong number of arguments for 'config|rewrite' command"


def test_config_help_and_errors(box: Box) -> None:
    assert box("CONFIG", "HELP") == [
        b"CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        b"GET <pattern>",
        b"    Return parameters matching the glob-like <pattern> and their values.",
        b"SET <directive> <value>",
        b"    Set the configuration <directive> to <value>.",
        b"RESETSTAT",
        b"    Reset statistics reported by the INFO command.",
        b"REWRITE",
        b"    Rewrite the configuration file.",
        b"HELP",
        b"    Prints this help.",
    ]
    assert box.err("CONFIG", "foo") == b"ERR unknown subcommand 'foo'. Try CONFIG HELP."
    assert box.err("CONFIG") == b"ERR wrong number of arguments for 'config' command"


# --- TIME / LASTSAVE / persistence ----------------------------------------------------


def test_time(box: Box) -> None:
    assert box("TIME") == [b"1700000000", b"123000"]
    box.now = 5
    assert box("TIME") == [b"0", b"5000"]
    assert box.err("TIME", "x") == b"ERR wrong number of arguments for 'time' command"


def test_lastsave(box: Box) -> None:
    box.now += 100_000
    assert box("LASTSAVE") == T0 // 1000
    assert box.err("LASTSAVE", "x") == b"ERR wrong number of arguments for 'lastsave' command"


def test_persistence_commands_are_honest(box: Box) -> None:
    for argv in (("SAVE",), ("BGSAVE",), ("BGSAVE", "SCHEDULE"), ("BGSAVE", "schedule"),
                 ("BGREWRITEAOF",)):
        assert box.err(*argv) == errors.NO_PERSISTENCE
    assert box.err("BGSAVE", "foo") == SYNTAX
    assert box.err("BGSAVE", "SCHEDULE", "x") == SYNTAX
    assert box.err("SAVE", "x") == b"ERR wrong number of arguments for 'save' command"
    assert box.err("BGREWRITEAOF", "x") == b"ERR wrong number of arguments for 'bgrewriteaof' command"


def test_function_flush_and_help(box: Box) -> None:
    assert box("FUNCTION", "FLUSH") == b"OK"
    assert box("FUNCTION", "FLUSH", "async") == b"OK"
    assert box("FUNCTION", "FLUSH", "SYNC") == b"OK"
    assert box.err("FUNCTION", "FLUSH", "foo") == b"ERR FUNCTION FLUSH only supports SYNC|ASYNC option"
    assert box.err("FUNCTION", "FLUSH", "sync", "x") == (
        b"ERR unknown subcommand or wrong number of arguments for 'FLUSH'. Try FUNCTION HELP.")
    help_ = box("FUNCTION", "HELP")
    assert help_[0].startswith(b"FUNCTION <subcommand>") and b"FLUSH [ASYNC|SYNC]" in help_
    assert box.err("FUNCTION", "LOAD", "x") == b"ERR Missing library metadata"


# --- DEBUG --------------------------------------------------------------------------------


@pytest.mark.parametrize("arg,ms", [
    ("0.1", 100), ("1", 1000), ("abc", 0), ("-1", 0), ("1.5x", 1500), ("inf", 0), ("nan", 0),
    (" 2", 2000), ("1e-3", 1), ("", 0),
])
def test_debug_sleep(box: Box, arg: str, ms: int) -> None:
    assert box("DEBUG", "SLEEP", arg) == b"OK"
    assert box.session.sleep_ms == ms


def test_debug_object(box: Box) -> None:
    box("SET", "small", "1")
    box("SET", "big", "123456")
    box("SET", "s", "hello")
    box("SET", "long", "x" * 100)
    line = box("DEBUG", "OBJECT", "small")
    assert isinstance(line, SimpleString)
    parts = dict(p.split(":", 1) for p in line.decode().split(" ")[2:])
    assert line.startswith(b"Value at:0x")
    assert parts == {"refcount": "2147483647", "encoding": "int", "serializedlength": "2",
                     "lru": str((T0 // 1000) & 0xFFFFFF), "lru_seconds_idle": "0"}
    assert b" refcount:1 encoding:int serializedlength:5 " in box("DEBUG", "OBJECT", "big")
    assert b" encoding:embstr serializedlength:6 " in box("DEBUG", "OBJECT", "s")
    assert b" encoding:raw serializedlength:102 " in box("DEBUG", "OBJECT", "long")
    box("INCRBY", "counter", 123456)  # kept as a number: reported as the same text would be
    assert b" refcount:1 encoding:int serializedlength:5 " in box("DEBUG", "OBJECT", "counter")
    box("INCRBY", "shared", 7)
    assert b" refcount:2147483647 encoding:int serializedlength:2 " in box("DEBUG", "OBJECT", "shared")
    box.now += 7_000
    assert box("DEBUG", "OBJECT", "s").endswith(b"lru_seconds_idle:7")
    assert box.err("DEBUG", "OBJECT", "nokey") == b"ERR no such key"


@pytest.mark.parametrize("argv,word", [
    (("SLEEP",), "SLEEP"), (("sleep", "1", "2"), "sleep"), (("FOO",), "FOO"),
    (("OBJECT",), "OBJECT"), (("OBJECT", "a", "b"), "OBJECT"), (("HELP", "x"), "HELP"),
])
def test_debug_errors(box: Box, argv: tuple[str, ...], word: str) -> None:
    assert box.err("DEBUG", *argv) == (
        f"ERR unknown subcommand or wrong number of arguments for '{word}'. Try DEBUG HELP.".encode())


def test_debug_help_and_arity(box: Box) -> None:
    lines = box("DEBUG", "HELP")
    assert lines[0] == b"DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
    assert b"SLEEP <seconds>" in lines and b"OBJECT <key>" in lines
    assert box.err("DEBUG") == b"ERR wrong number of arguments for 'debug' command"


@pytest.mark.parametrize("value,encoding,size", [
    (b"0", b"int", 2), (b"-128", b"int", 2), (b"128", b"int", 3), (b"-32768", b"int", 3),
    (b"40000", b"int", 5), (b"2147483648", b"int", 11), (b"", b"embstr", 1),
    (b"x" * 63, b"embstr", 64), (b"x" * 64, b"raw", 66), (b"x" * 16384, b"raw", 16389),
    (bytearray(b"12"), b"raw", 2),
])
def test_serialized_length(value: bytes, encoding: bytes, size: int) -> None:
    assert serialized_length(value, encoding) == size
