"""Unit tests of the connection commands in crdt/commands/server.py: PING, ECHO, HELLO, AUTH, SELECT,
QUIT, RESET and the CLIENT family, every error path, on virtual time.

Sessions are opened with explicit addresses and times, as the driver would;
requests to the driver (close_after_reply, kill) are read back from them.
"""

from __future__ import annotations


import pytest

from crdt.config import Config
from crdt.engine import Engine
from crdt.commands.server import client_info_line
from crdt.session import Session
from protocol.replies import SimpleString, Verbatim
from protocol.resp import encode
from tests.helpers import EngineBox, NOT_INTEGER, SYNTAX

T0 = 1_700_000_000_000
WRONGPASS = b"WRONGPASS invalid username-password pair or user is disabled."
NOAUTH = b"NOAUTH Authentication required."
NAME_ERR = b"ERR Client names cannot contain spaces, newlines or special characters."
CLIENT_FIELDS = [
    "id", "addr", "laddr", "fd", "name", "age", "idle", "flags", "db", "sub", "psub", "ssub",
    "multi", "qbuf", "qbuf-free", "argv-mem", "multi-mem", "rbs", "rbp", "obl", "oll", "omem",
    "tot-mem", "events", "cmd", "user", "redir", "resp",
]


class Box(EngineBox):
    """An engine (optionally with a password) and sessions with addresses, on a still clock."""

    def __init__(self, password: str = "") -> None:
        super().__init__(engine=Engine(config=Config({"requirepass": password}), now_ms=T0), session=False)
        self.session = self.open(5000)

    def open(self, port: int) -> Session:
        return self.engine.open_session(self.now, addr=f"127.0.0.1:{port}",
                                        laddr="127.0.0.1:6379", fd=port % 100)


@pytest.fixture
def box() -> Box:
    return Box()


def fields(line: bytes) -> dict[str, str]:
    """CLIENT LIST line -> {field: value}, checking Redis 7.0's field order."""
    pairs = [p.split("=", 1) for p in line.decode().rstrip("\n").split(" ")]
    assert [k for k, _ in pairs] == CLIENT_FIELDS
    return dict(pairs)


# --- PING / ECHO --------------------------------------------------------------------------


def test_ping(box: Box) -> None:
    assert box("PING") == b"PONG" and isinstance(box("PING"), SimpleString)
    assert box("PING", "hi") == b"hi" and not isinstance(box("PING", "hi"), SimpleString)
    assert box.err("PING", "a", "b") == b"ERR wrong number of arguments for 'ping' command"


def test_ping_in_resp2_subscribed_mode_is_an_array(box: Box) -> None:
    box("SUBSCRIBE", "ch")
    assert box("PING") == [b"pong", b""]
    assert box("PING", "x") == [b"pong", b"x"]
    box.session.resp3 = True
    assert box("PING") == b"PONG"


def test_echo(box: Box) -> None:
    assert box("ECHO", b"a\r\nb") == b"a\r\nb"
    assert box.err("ECHO") == b"ERR wrong number of arguments for 'echo' command"
    assert box.err("ECHO", "a", "b") == b"ERR wrong number of arguments for 'echo' command"


# --- HELLO --------------------------------------------------------------------------------


def test_hello_reply_and_protocol_switch(box: Box) -> None:
    reply = box("HELLO")
    assert reply == {b"server": b"redis", b"version": b"7.0.15", b"proto": 2,
                     b"id": box.session.id, b"mode": b"standalone", b"role": b"master",
                     b"modules": []}
    assert box("HELLO", "3")[b"proto"] == 3 and box.session.resp3
    assert box("HELLO")[b"proto"] == 3  # no version: keep the current one
    assert box("HELLO", "2")[b"proto"] == 2 and not box.session.resp3
    assert encode(box("HELLO"), False).startswith(b"*14\r\n$6\r\nserver\r\n")


@pytest.mark.parametrize("version", ["1", "4", "0", "-1"])
def test_hello_unsupported_version(box: Box, version: str) -> None:
    assert box.err("HELLO", version) == b"NOPROTO unsupported protocol version"


@pytest.mark.parametrize("version", ["abc", "2.0", "99999999999999999999", " 2"])
def test_hello_version_not_an_integer(box: Box, version: str) -> None:
    assert box.err("HELLO", version) == b"ERR Protocol version is not an integer or out of range"


def test_hello_setname_and_option_errors(box: Box) -> None:
    box("HELLO", "2", "SETNAME", "n1")
    assert box("CLIENT", "GETNAME") == b"n1"
    assert box.err("HELLO", "2", "SETNAME") == b"ERR Syntax error in HELLO option 'SETNAME'"
    assert box.err("HELLO", "2", "AUTH", "default") == b"ERR Syntax error in HELLO option 'AUTH'"
    assert box.err("HELLO", "2", "Foo") == b"ERR Syntax error in HELLO option 'Foo'"
    assert box.err("HELLO", "3", "SETNAME", "a b") == NAME_ERR
    assert not box.session.resp3
    # Options apply left to right: the name sticks although a later option fails.
    assert box.err("HELLO", "3", "SETNAME", "n2", "FOO") == b"ERR Syntax error in HELLO option 'FOO'"
    assert box("CLIENT", "GETNAME") == b"n2" and not box.session.resp3
    assert box.err("HELLO", "4", "SETNAME", "n3") == b"NOPROTO unsupported protocol version"
    assert box("CLIENT", "GETNAME") == b"n2"


def test_hello_auth_without_password_configured(box: Box) -> None:
    assert box("HELLO", "2", "AUTH", "default", "anything")[b"proto"] == 2
    assert box.err("HELLO", "2", "AUTH", "someone", "x") == WRONGPASS


def test_hello_with_requirepass() -> None:
    b = Box("sekret")
    s = b.session
    assert not s.authenticated
    noauth = bytes(b.err("HELLO"))
    assert noauth.startswith(b"NOAUTH HELLO must be called with the client already authenticated")
    assert b.err("HELLO", "3", "SETNAME", "x") == noauth
    assert not s.resp3 and s.name == b"x"
    assert b.err("HELLO", "3", "AUTH", "default", "wrong", "SETNAME", "y") == WRONGPASS
    assert s.name == b"x" and not s.resp3 and not s.authenticated
    reply = b("HELLO", "3", "AUTH", "default", "sekret", "SETNAME", "y")
    assert reply[b"proto"] == 3 and s.authenticated and s.name == b"y"


# --- AUTH ---------------------------------------------------------------------------------


def test_auth_without_password_configured(box: Box) -> None:
    assert box.err("AUTH", "x").startswith(b"ERR AUTH <password> called without any password")
    assert box("AUTH", "default", "whatever") == b"OK"
    assert box.err("AUTH", "nobody", "x") == WRONGPASS
    assert box.err("AUTH", "a", "b", "c") == SYNTAX
    assert box.err("AUTH") == b"ERR wrong number of arguments for 'auth' command"


def test_auth_with_requirepass() -> None:
    b = Box("sekret")
    assert b.err("PING") == NOAUTH
    assert b.err("AUTH", "wrong") == WRONGPASS
    assert b.err("AUTH", "default", "wrong") == WRONGPASS
    assert b.err("PING") == NOAUTH
    assert b("AUTH", "sekret") == b"OK"
    assert b("PING") == b"PONG"
    assert b.err("AUTH", "nope") == WRONGPASS
    assert b("PING") == b"PONG"  # a failed AUTH does not log out
    other = b.open(5001)
    assert b("AUTH", "default", "sekret", session=other) == b"OK"


# --- SELECT / QUIT / RESET ----------------------------------------------------------------


def test_select(box: Box) -> None:
    assert box("SELECT", "15") == b"OK" and box.session.db_index == 15
    assert box.session.db is box.engine.dbs[15]
    assert box.err("SELECT", "16") == b"ERR DB index is out of range"
    assert box.err("SELECT", "-1") == b"ERR DB index is out of range"
    for bad in ("abc", "1.5", "", "99999999999999999999", "+1", "01"):
        assert box.err("SELECT", bad) == NOT_INTEGER, bad
    for bad in ("2147483648", "-2147483649"):
        assert box.err("SELECT", bad) == (
            b"ERR value is out of range, value must between -2147483648 and 2147483647")
    assert box.session.db_index == 15


def test_quit(box: Box) -> None:
    assert box("QUIT") == b"OK" and box.session.close_after_reply
    b = Box("pw")
    assert b("QUIT") == b"OK"  # allowed before AUTH


def test_reset(box: Box) -> None:
    s = box.session
    box("SELECT", "3")
    box("HELLO", "3", "SETNAME", "me")
    box("CLIENT", "NO-EVICT", "on")
    box("SUBSCRIBE", "c")
    s.multi = []
    db = s.db
    db.watchers[b"k"] = {s}
    s.watched = [[db, b"k", False]]
    s.watch_dirty = True
    reply = box("RESET")
    assert reply == b"RESET" and isinstance(reply, SimpleString)
    assert s.db_index == 0 and not s.resp3 and s.name == b"" and s.multi is None
    assert s.watched == [] and not db.watchers and not s.watch_dirty
    assert not s.subscriptions and s.flags == "N" and s.authenticated


def test_reset_logs_out_when_a_password_is_set() -> None:
    b = Box("pw")
    assert b("AUTH", "pw") == b"OK"
    assert b("RESET") == b"RESET"
    assert b.err("PING") == NOAUTH


# --- CLIENT -------------------------------------------------------------------------------


def test_client_id_setname_getname(box: Box) -> None:
    assert box("CLIENT", "ID") == box.session.id
    assert box("CLIENT", "GETNAME") is None
    assert box("CLIENT", "SETNAME", "worker-1") == b"OK"
    assert box("CLIENT", "GETNAME") == b"worker-1"
    for bad in (b"a b", b"a\nb", b"\x00", b"caf\xc3\xa9", b"\x7f"):
        assert box.err("CLIENT", "SETNAME", bad) == NAME_ERR
    assert box("CLIENT", "SETNAME", "") == b"OK"
    assert box("CLIENT", "GETNAME") is None


@pytest.mark.parametrize("argv,name", [
    (("CLIENT", "ID", "x"), "client|id"), (("CLIENT", "GETNAME", "x"), "client|getname"),
    (("CLIENT", "SETNAME"), "client|setname"), (("CLIENT", "INFO", "x"), "client|info"),
    (("CLIENT", "KILL"), "client|kill"), (("CLIENT", "HELP", "x"), "client|help"),
    (("CLIENT",), "client"), (("CLIENT", "NO-EVICT"), "client|no-evict"),
])
def test_client_arity(box: Box, argv: tuple[str, ...], name: str) -> None:
    assert box.err(*argv) == f"ERR wrong number of arguments for '{name}' command".encode()


def test_client_unknown_subcommand(box: Box) -> None:
    assert box.err("CLIENT", "foo") == b"ERR unknown subcommand 'foo'. Try CLIENT HELP."


def test_client_info_line(box: Box) -> None:
    box.now += 5_000
    reply = box("CLIENT", "INFO")
    assert isinstance(reply, Verbatim) and reply.endswith(b"\n")
    f = fields(reply)
    assert f["id"] == str(box.session.id) and f["addr"] == "127.0.0.1:5000"
    assert f["laddr"] == "127.0.0.1:6379" and f["age"] == "5" and f["idle"] == "0"
    assert f["flags"] == "N" and f["db"] == "0" and f["multi"] == "-1"
    assert f["cmd"] == "client|info" and f["user"] == "default" and f["resp"] == "2"
    assert f["argv-mem"] == str(len(b"CLIENT") + len(b"INFO"))


def test_client_list_fields_and_flags(box: Box) -> None:
    other = box.open(5001)
    box("SELECT", "2", session=other)
    box("CLIENT", "SETNAME", "bob", session=other)
    box("SUBSCRIBE", "news", session=other)
    other.multi = [(None, [b"SET", b"k", b"v"])]
    other.last_ms = box.now
    box.now += 3_000
    lines = box("CLIENT", "LIST").splitlines()
    assert len(lines) == 2
    mine, theirs = fields(lines[0]), fields(lines[1])
    assert mine["cmd"] == "client|list"
    assert theirs["name"] == "bob" and theirs["db"] == "2" and theirs["multi"] == "1"
    assert theirs["flags"] == "Px" and theirs["sub"] == "1" and theirs["idle"] == "3"
    assert theirs["multi-mem"] == "5" and theirs["cmd"] == "subscribe"
    other.kill = True
    other.watch_dirty = True
    assert fields(box("CLIENT", "LIST", "ID", str(other.id)))["flags"] == "PxdA"


def test_client_list_filters(box: Box) -> None:
    other = box.open(5001)
    box("PSUBSCRIBE", "n*", session=other)
    ids = [box.session.id, other.id]
    assert len(box("CLIENT", "LIST", "TYPE", "normal").splitlines()) == 1
    assert fields(box("CLIENT", "LIST", "TYPE", "PUBSUB"))["id"] == str(other.id)
    assert box("CLIENT", "LIST", "TYPE", "master") == b""
    assert box("CLIENT", "LIST", "TYPE", "replica") == b""
    assert box("CLIENT", "LIST", "TYPE", "slave") == b""
    listed = box("CLIENT", "LIST", "ID", str(ids[1]), "999", str(ids[0]), str(ids[1]))
    assert [fields(line)["id"] for line in listed.splitlines()] == [str(ids[1]), str(ids[0]), str(ids[1])]
    assert box("CLIENT", "LIST", "ID", "0") == b""
    assert box("CLIENT", "LIST", "ID", "-5") == b""


@pytest.mark.parametrize("argv,error", [
    (("TYPE", "foo"), b"ERR Unknown client type 'foo'"),
    (("TYPE",), SYNTAX), (("ID",), SYNTAX), (("foo",), SYNTAX),
    (("TYPE", "normal", "ID", "1"), SYNTAX),
    (("ID", "abc"), b"ERR Invalid client ID"), (("ID", "1", "abc"), b"ERR Invalid client ID"),
    (("ID", "1", "TYPE", "normal"), b"ERR Invalid client ID"),
])
def test_client_list_errors(box: Box, argv: tuple[str, ...], error: bytes) -> None:
    assert box.err("CLIENT", "LIST", *argv) == error


def test_client_kill_old_form(box: Box) -> None:
    other = box.open(5001)
    assert box.err("CLIENT", "KILL", "1.2.3.4:5") == b"ERR No such client"
    assert box("CLIENT", "KILL", "127.0.0.1:5001") == b"OK"
    assert other.kill and not box.session.close_after_reply
    assert box("CLIENT", "KILL", "127.0.0.1:5000") == b"OK"  # the old form may kill oneself
    assert box.session.close_after_reply and not box.session.kill


def test_client_kill_filters(box: Box) -> None:
    a, b = box.open(5001), box.open(5002)
    box("SUBSCRIBE", "x", session=b)
    assert box("CLIENT", "KILL", "ID", str(a.id)) == 1 and a.kill and not b.kill
    assert box("CLIENT", "KILL", "TYPE", "pubsub") == 1 and b.kill
    assert box("CLIENT", "KILL", "ID", "9999") == 0
    assert box("CLIENT", "KILL", "ADDR", "127.0.0.1:5000") == 0  # skipme by default
    assert box("CLIENT", "KILL", "ADDR", "127.0.0.1:5000", "SKIPME", "no") == 1
    assert box.session.close_after_reply
    c = box.open(5003)
    assert box("CLIENT", "KILL", "LADDR", "127.0.0.1:6379", "USER", "default") == 3
    assert c.kill


def test_client_kill_maxage_extension(box: Box) -> None:
    old = box.open(5001)
    box.now += 10_000
    young = box.open(5002)
    box.now += 2_000
    assert box("CLIENT", "KILL", "MAXAGE", "10") == 1
    assert old.kill and not young.kill


@pytest.mark.parametrize("argv,error", [
    (("ID", "abc"), b"ERR client-id should be greater than 0"),
    (("ID", "0"), b"ERR client-id should be greater than 0"),
    (("ID", "1", "ADDR"), SYNTAX),
    (("TYPE", "foo"), b"ERR Unknown client type 'foo'"),
    (("USER", "nobody"), b"ERR No such user 'nobody'"),
    (("USER", "default", "SKIPME", "maybe"), SYNTAX),
    (("a", "b", "c"), SYNTAX), (("FOO", "bar"), SYNTAX),
    (("MAXAGE", "abc"), NOT_INTEGER),
])
def test_client_kill_errors(box: Box, argv: tuple[str, ...], error: bytes) -> None:
    other = box.open(5001)
    assert box.err("CLIENT", "KILL", *argv) == error
    assert not other.kill


def test_client_no_evict(box: Box) -> None:
    assert box("CLIENT", "NO-EVICT", "on") == b"OK"
    assert fields(box("CLIENT", "INFO"))["flags"] == "e"
    assert box("CLIENT", "NO-EVICT", "OFF") == b"OK"
    assert fields(box("CLIENT", "INFO"))["flags"] == "N"
    assert box.err("CLIENT", "NO-EVICT", "maybe") == SYNTAX


def test_client_help(box: Box) -> None:
    lines = box("CLIENT", "HELP")
    assert lines[0] == b"CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
    assert lines[-2:] == [b"HELP", b"    Prints this help."]
    assert b"KILL <ip:port>" in lines and b"SETNAME <name>" in lines
    assert b"CACHING (YES|NO)" not in lines  # only subcommands gyrekv has


def test_client_info_line_of_unnamed_idle_client(box: Box) -> None:
    other = box.open(5001)
    box.now += 7_000
    line = client_info_line(other, box.now)
    f = fields(line)
    assert f["idle"] == "7" and f["age"] == "7" and f["cmd"] == "NULL" and f["argv-mem"] == "0"
