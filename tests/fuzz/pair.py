"""Run one fuzz case on `gyre serve` and on Debian's redis-server, and compare.

Strategy: a case is a keyspace set-up (`grammar.SETUP`) and a few command
lines. Both servers get the same bytes over raw sockets: RESET and FLUSHALL,
the set-up, then each command, one at a time, every reply read with a
deadline, so a request that is never answered is caught as such (and a
crashed server as a closed connection). Replies are compared exactly, except
where a command's own table row says its output is not deterministic (the
``nondeterministic_output`` tip: compared by shape) or its order is not
(``nondeterministic_output_order``: compared sorted), and for the differences
gyrekv documents in `DIFFERENCES`. After the commands, each server's whole
keyspace (every database, every key's type, value and whether it has a TTL)
is read back and compared too, so a wrong write that answers right is caught.

A command answered by neither server within its deadline (a blocking command
with nothing to take, on both sides alike) ends the case as agreement; both
connections are opened anew.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import hiredis

from crdt.commands import TABLE
from crdt.table import Command
from tests.differential import Err, encode_command
from tests.fuzz.grammar import SETUP

# Every request is answered within this bound (a blocking command's within the shorter
# one, after which it counts as blocked).
REPLY_TIMEOUT_S = 5.0
# Unread replies a case may leave behind (pushes, a subscription's confirmations).
SYNC_REPLIES_MAX = 10_000
BLOCKING_TIMEOUT_S = 0.5
DATABASES = 16


class Timeout(Exception):
    """No reply within the deadline."""


class Closed(Exception):
    """The server closed the connection (or reset it)."""


class Mismatch(AssertionError):
    """The servers disagree; carries the case so it can be written down and replayed."""

    def __init__(self, case: Case, why: str) -> None:
        super().__init__(f"{why}\n  case: {case.to_json()}")
        self.case = case
        self.why = why


# Commands the fuzz does not send, and why. Everything else in the table is fuzzed.
NOT_FUZZED: dict[str, str] = {
    "shutdown": "ends the server under test",
    "debug": "DEBUG SLEEP pauses the server on purpose; Redis's other DEBUG subcommands "
             "crash or reconfigure it on purpose",
    "monitor": "turns the connection into a stream of other clients' commands "
               "(compared byte for byte in tests/nodes/test_monitor_redis.py)",
    "quit": "closes the connection (tests/crdt/test_connection.py)",
    "client|kill": "picks connections by id and address, which differ between the two servers",
    "config|set": "would reconfigure the servers under test (ports, directories, passwords); "
                  "CONFIG SET is compared parameter by parameter in tests/crdt/test_server_redis.py",
    "config|rewrite": "writes the servers' configuration files",
    "save": "documented: gyrekv keeps no persistence",
    "bgsave": "documented: gyrekv keeps no persistence",
    "bgrewriteaof": "documented: gyrekv keeps no persistence",
    "command": "Redis 7.0 has command families gyrekv does not (README): the whole table differs",
    "command|count": "as COMMAND",
    "command|list": "as COMMAND",
}

# Commands whose replies differ from Redis's on purpose (README, "Where gyrekv differs"),
# compared by shape only: error or not, type, length.
SHAPE_ONLY: dict[str, str] = {
    "client|id": "connection ids differ between the servers",
    "client|unblock": "takes connection ids, which differ",
    "hello": "reports the server's id, version and mode",
    "memory|usage": "documented: gyrekv reports its own memory",
    "memory|malloc-stats": "documented: no jemalloc",
    "object|encoding": "documented: an integral INCRBYFLOAT result says int",
}
# Compared by type alone: error or not, and which type.
TYPE_ONLY: dict[str, str] = {
    "client|help": "lists the subcommands gyrekv has; Redis has more (PAUSE, TRACKING...)",
    "memory|help": "documented: MEMORY STATS and DOCTOR are not offered",
    "function|help": "FUNCTION offers FLUSH and HELP only (scripting is its own issue)",
    "latency|help": "LATENCY DOCTOR, GRAPH and HISTOGRAM are not offered",
    "slowlog|get": "which commands ran slowly depends on each server's own timing",
    "slowlog|len": "as SLOWLOG GET",
    "latency|latest": "as SLOWLOG GET",
    "latency|history": "as SLOWLOG GET",
}
# Without arguments these confirm every channel the client left, in Redis in its hash
# table's order (which changes from one start to the next): compared as sets.
UNSUBSCRIBE_ALL = frozenset({"unsubscribe", "punsubscribe", "sunsubscribe"})
# Without arguments these list every command, and Redis 7.0 has families gyrekv does not.
ALL_COMMANDS_WITHOUT_ARGUMENTS = frozenset({"command|docs", "command|info"})


def command_of(argv: list[bytes]) -> Command | None:
    """The table row a command line runs (its subcommand's, for a container)."""
    if not argv:
        return None
    cmd = TABLE.get(argv[0])
    if cmd is not None and cmd.subcommands and len(argv) > 1:
        sub = cmd.subcommands.get(argv[1]) or cmd.subcommands.get(argv[1].lower())
        if sub is not None:
            return sub
    return cmd


def comparison(cmd: Command | None, argv: list[bytes]) -> str:
    """How replies of `cmd` are compared: ``exact``, ``sorted``, ``shape`` or ``type``."""
    if cmd is None:
        return "exact"
    if cmd.name in TYPE_ONLY or (cmd.name in ALL_COMMANDS_WITHOUT_ARGUMENTS and len(argv) == 2):
        return "type"
    if cmd.name == "config|get" and any(c in a for a in argv[2:] for c in b"*?["):
        return "type"  # a pattern: Redis 7.0 has parameters gyrekv does not
    if cmd.name in ("sort", "sort_ro") and any(a.upper() == b"BY" for a in argv[2:]):
        return "shape"  # BY may leave the order to a hash table's (README)
    if cmd.name in UNSUBSCRIBE_ALL and len(argv) == 1:
        return "unsubscribe-all"  # every channel, in a hash table's order in Redis (README)
    if cmd.name in SHAPE_ONLY or "nondeterministic_output" in cmd.tips:
        return "shape"
    if "nondeterministic_output_order" in cmd.tips:
        return "sorted"
    return "exact"


def shape(value: Any) -> Any:
    if isinstance(value, Err):
        return value
    if isinstance(value, list):
        return ("list", len(value))
    if isinstance(value, dict):
        return ("map", len(value))
    return type(value).__name__


def sort_deep(value: Any) -> Any:
    if isinstance(value, list):
        return sorted((sort_deep(v) for v in value), key=repr)
    return value


def normalise(value: Any, how: str) -> Any:
    if how == "unsubscribe-all" and isinstance(value, list) \
            and all(isinstance(p, list) and len(p) == 3 for p in value):
        return ("channels", sorted(p[1] or b"" for p in value), sorted(p[2] for p in value))
    if how == "type":
        return value if isinstance(value, Err) else type(value).__name__
    if how == "shape":
        return shape(value)
    if how == "sorted":
        return sort_deep(value)
    return value


def _parsed(value: Any) -> Any:
    if isinstance(value, hiredis.ReplyError):
        return Err(str(value).encode("utf-8", "surrogateescape"))
    if isinstance(value, list):
        return [_parsed(v) for v in value]
    if isinstance(value, dict):
        return {_parsed(k): _parsed(v) for k, v in value.items()}
    return value


class Client:
    """A raw RESP connection whose every read has a deadline."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=REPLY_TIMEOUT_S)
        self.reader = hiredis.Reader(errors="surrogateescape")
        self.syncs = 0

    def send(self, argvs: list[list[bytes]]) -> None:
        try:
            self.sock.sendall(b"".join(encode_command(a) for a in argvs))
        except OSError as e:
            raise Closed(str(e)) from e

    def read(self, timeout_s: float) -> Any:
        deadline = time.monotonic() + timeout_s
        while True:
            reply = self.reader.gets()
            if reply is not False:
                return _parsed(reply)
            left = deadline - time.monotonic()
            if left <= 0:
                raise Timeout
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(1 << 20)
            except socket.timeout as e:
                raise Timeout from e
            except OSError as e:
                raise Closed(str(e)) from e
            if not data:
                raise Closed("connection closed")
            self.reader.feed(data)

    def sync(self) -> list[Any]:
        """RESET, then read up to the echo of a fresh token.

        Returns:
            The replies a case left unread before RESET's own (a push, a
            command's second reply): the caller compares them between the
            servers, and none is left to shift the next case's replies.
        """
        self.syncs += 1
        token = b"fuzz-sync-%d" % self.syncs
        self.send([[b"RESET"], [b"ECHO", token]])
        left: list[Any] = []
        for _ in range(SYNC_REPLIES_MAX):
            reply = self.read(REPLY_TIMEOUT_S)
            if reply == token:
                return left[:-1]  # the last one is RESET's
            left.append(reply)
        raise Closed(f"no echo of {token!r} after {SYNC_REPLIES_MAX} replies")

    def call_many(self, argvs: list[list[bytes]], timeout_s: float = REPLY_TIMEOUT_S) -> list[Any]:
        self.send(argvs)
        return [self.read(timeout_s) for _ in argvs]

    def close(self) -> None:
        self.sock.close()


@dataclass
class Case:
    """A replayable fuzz case: a set-up name and the command lines run after it."""

    commands: list[list[bytes]]
    setup: str = "v1"
    note: str = ""

    def to_json(self) -> str:
        return json.dumps({"setup": self.setup,
                           "commands": [[a.decode("latin-1") for a in argv] for argv in self.commands],
                           "note": self.note}, ensure_ascii=True)

    @classmethod
    def from_json(cls, line: str) -> Case:
        data = json.loads(line)
        return cls([[a.encode("latin-1") for a in argv] for argv in data["commands"]],
                   data.get("setup", "v1"), data.get("note", ""))


@dataclass
class Pair:
    """One connection to each server; reopened after a case that left them blocked."""

    gyre_port: int
    redis_port: int
    ours: Client = field(init=False)
    theirs: Client = field(init=False)
    cases: int = 0
    commands: int = 0

    def __post_init__(self) -> None:
        self.reconnect()

    def reconnect(self) -> None:
        for attr in ("ours", "theirs"):
            old = getattr(self, attr, None)
            if old is not None:
                old.close()
        self.ours = Client(self.gyre_port)
        self.theirs = Client(self.redis_port)

    def close(self) -> None:
        self.ours.close()
        self.theirs.close()

    def run(self, case: Case) -> None:
        """Run `case` on both servers.

        Raises:
            Mismatch: a reply, the keyspace afterwards, or liveness differs (both
            connections are opened anew first: one may be left blocked).
        """
        try:
            self._run(case)
        except Mismatch:
            self.reconnect()
            raise

    def _run(self, case: Case) -> None:
        self.cases += 1
        start = [[b"FLUSHALL"], *SETUP[case.setup]]
        try:
            for side in (self.ours, self.theirs):
                side.sync()
                side.call_many(start)
        except (Closed, Timeout):  # the case before left a connection closed or blocked
            self.reconnect()
            for side in (self.ours, self.theirs):
                side.call_many(start)
        # Inside MULTI: the queued commands and their argument lists.
        queued: list[tuple[Command | None, list[bytes]]] | None = None
        diverged = False
        for argv in case.commands:
            cmd = command_of(argv)
            self.commands += 1
            timeout_s = BLOCKING_TIMEOUT_S if cmd is not None and "blocking" in cmd.flags \
                else REPLY_TIMEOUT_S
            name = cmd.name if cmd is not None else ""
            # Subscriptions answer a reply per channel, also from inside EXEC.
            many = (queued is None and name in SUBSCRIPTION_COMMANDS) or (
                name == "exec" and queued is not None
                and any(c is not None and c.name in SUBSCRIPTION_COMMANDS for c, _ in queued))
            ours, theirs = self._both(case, argv, timeout_s, many)
            if ours is _BLOCKED:
                self.reconnect()
                return
            if diverged:
                continue
            if queued is not None and name not in ("exec", "discard", "multi", "watch"):
                queued.append((cmd, argv))
            if name == "exec" and queued is not None:
                hows = [comparison(c, a) for c, a in queued]
                # With subscriptions queued the replies read are [EXEC's array, strays...].
                ours, theirs = (_normalise_exec(r, hows, many) for r in (ours, theirs))
                diverged = any(how != "exact" and c is not None and "write" in c.flags
                               for how, (c, _) in zip(hows, queued))
            else:
                how = comparison(cmd, argv) if queued is None or name in ("exec", "multi") \
                    else "exact"
                ours, theirs = normalise(ours, how), normalise(theirs, how)
                if how != "exact" and cmd is not None and "write" in cmd.flags and queued is None:
                    diverged = True  # a random write (SPOP): the keyspaces part ways
            if ours != theirs:
                raise Mismatch(case, f"{_show(argv)}: gyre {ours!r} != redis {theirs!r}")
            if name == "multi" and not isinstance(ours, Err):
                queued = []
            elif name in ("exec", "discard", "reset") and queued is not None:
                queued = None
        ours_left, theirs_left = self.ours.sync(), self.theirs.sync()
        if diverged:
            ours_left, theirs_left = shape(ours_left), shape(theirs_left)
        if ours_left != theirs_left:
            raise Mismatch(case, f"replies left after the last command: gyre {_short(ours_left)} "
                                 f"!= redis {_short(theirs_left)}")
        if not diverged:
            ours_keys, theirs_keys = comparable(keyspace(self.ours), keyspace(self.theirs))
            if ours_keys != theirs_keys:
                raise Mismatch(case, "keyspace after the case:\n"
                               + "\n".join(_diff_lines(ours_keys, theirs_keys)))

    def run_reads(self, case: Case, shape_only: frozenset[str] = frozenset()) -> None:
        """Run a case of read-only commands on whatever both servers hold, comparing replies.

        No set-up and no keyspace read afterwards: the big values stay in place
        from one case to the next (tests/fuzz/test_fuzz_big.py). ``shape_only``
        names commands compared by shape there (orders a big hash table decides).

        Raises:
            Mismatch: a reply or liveness differs.
        """
        self.cases += 1
        for side in (self.ours, self.theirs):
            side.sync()  # whatever a case before left open or unread
        queued: list[tuple[Command | None, list[bytes]]] | None = None
        for argv in case.commands:
            cmd = command_of(argv)
            self.commands += 1
            name = cmd.name if cmd is not None else ""
            ours, theirs = self._both(case, argv, REPLY_TIMEOUT_S)
            if queued is not None and name not in ("exec", "discard", "multi"):
                queued.append((cmd, argv))
            hows = [self._how(c, a, shape_only) for c, a in (queued or [(cmd, argv)])]
            if name == "exec" and isinstance(ours, list) and isinstance(theirs, list) \
                    and len(ours) == len(theirs) == len(hows):
                ours = [normalise(o, h) for o, h in zip(ours, hows)]
                theirs = [normalise(t, h) for t, h in zip(theirs, hows)]
            elif queued is None:
                ours, theirs = normalise(ours, hows[0]), normalise(theirs, hows[0])
            if ours != theirs:
                raise Mismatch(case, f"{_show(argv)}: gyre {_short(ours)} != redis {_short(theirs)}")
            if name == "multi" and not isinstance(ours, Err):
                queued = []
            elif name in ("exec", "discard"):
                queued = None

    @staticmethod
    def _how(cmd: Command | None, argv: list[bytes], shape_only: frozenset[str]) -> str:
        if cmd is not None and cmd.name in shape_only:
            return "shape"
        return comparison(cmd, argv)

    def _both(self, case: Case, argv: list[bytes], timeout_s: float,
              many: bool = False) -> tuple[Any, Any]:
        """Send `argv` to both servers, then read both replies.

        A blocking command's own timeout may run out close to our deadline:
        when one server answered and the other did not, the other gets
        `LATE_GRACE_S` more before it counts as not answering.
        """
        sides = ((self.ours, "gyre"), (self.theirs, "redis"))
        for side, who in sides:
            try:
                side.send([argv, [b"ECHO", SENTINEL]] if many else [argv])
            except Closed as e:
                if who == "gyre":
                    raise Mismatch(case, f"{_show(argv)}: gyre closed the connection ({e})") from e
        replies = [self._read(case, argv, side, who, timeout_s, many) for side, who in sides]
        if (replies[0] is _BLOCKED) != (replies[1] is _BLOCKED):
            late = 0 if replies[0] is _BLOCKED else 1
            side, who = sides[late]
            replies[late] = self._read(case, argv, side, who, LATE_GRACE_S, many)
        ours, theirs = replies
        if ours is _BLOCKED and theirs is not _BLOCKED:
            raise Mismatch(case, f"{_show(argv)}: gyre gave no reply within "
                                 f"{timeout_s + LATE_GRACE_S} s; redis answered {theirs!r}")
        if theirs is _BLOCKED and ours is not _BLOCKED:
            raise Mismatch(case, f"{_show(argv)}: redis gave no reply within "
                                 f"{timeout_s + LATE_GRACE_S} s; gyre answered {ours!r}")
        if theirs is _CLOSED:
            raise Mismatch(case, f"{_show(argv)}: redis closed the connection; gyre answered "
                                 f"{ours!r}")
        return ours, theirs

    @staticmethod
    def _read(case: Case, argv: list[bytes], side: Client, who: str, timeout_s: float,
              many: bool) -> Any:
        try:
            return _until_sentinel(side, timeout_s) if many else side.read(timeout_s)
        except Timeout:
            return _BLOCKED
        except Closed as e:
            if who == "gyre":
                raise Mismatch(case, f"{_show(argv)}: gyre closed the connection ({e})") from e
            return _CLOSED


LATE_GRACE_S = 2.0


# These answer one reply per channel (or none, or one, by state): a sentinel ECHO
# after them marks where their replies end.
SUBSCRIPTION_COMMANDS = frozenset({"subscribe", "unsubscribe", "psubscribe", "punsubscribe",
                                   "ssubscribe", "sunsubscribe"})
SENTINEL = b"fuzz-sentinel-9f1c"


def _until_sentinel(side: Client, timeout_s: float) -> list[Any]:
    """Every reply up to the answer to the ECHO `SENTINEL` sent after the command.

    In a subscribed RESP2 context ECHO is refused, with an error that names it.
    """
    out: list[Any] = []
    while True:
        reply = side.read(timeout_s)
        if reply == SENTINEL or (isinstance(reply, Err) and b"'echo'" in reply.text):
            return out
        out.append(reply)


_BLOCKED = object()
_CLOSED = object()


def _normalise_exec(reply: Any, hows: list[str], many: bool) -> Any:
    """EXEC's replies compared slot by slot, each as its queued command's are."""
    def slots(array: Any) -> Any:
        if isinstance(array, list) and len(array) == len(hows):
            return [normalise(r, how) for r, how in zip(array, hows)]
        return array

    if many and isinstance(reply, list) and reply:
        if any(how != "exact" for how in hows):
            # A slot of several confirmations pushes the later slots out of EXEC's array
            # (Redis's stream): they cannot be lined up with their commands any more.
            return shape(reply)
        return [slots(reply[0]), *reply[1:]]
    return slots(reply)


def _show(argv: list[bytes]) -> str:
    return " ".join(repr(a)[2:-1] if len(a) < 80 else f"<{len(a)} bytes>" for a in argv)


def keyspace(side: Client) -> dict[tuple[int, bytes], Any]:
    """Every key of every database: (db, key) -> (type, has a TTL, value)."""
    side.sync()
    replies = side.call_many([c for db in range(DATABASES)
                              for c in ([b"SELECT", b"%d" % db], [b"DBSIZE"])])
    sizes = replies[1::2]
    found: dict[tuple[int, bytes], Any] = {}
    for db, size in enumerate(sizes):
        if not size:
            continue
        (_, keys) = side.call_many([[b"SELECT", b"%d" % db], [b"KEYS", b"*"]])
        meta = side.call_many([c for k in keys for c in ([b"TYPE", k], [b"PTTL", k])])
        reads = []
        for k, kind in zip(keys, meta[0::2]):
            reads.append(_READ_BY_TYPE.get(kind, lambda k: [b"TYPE", k])(k))
        values = side.call_many(reads)
        for k, kind, pttl, value in zip(keys, meta[0::2], meta[1::2], values):
            if kind == b"none":
                continue  # expired between KEYS and TYPE
            if kind in (b"hash", b"set"):
                value = sorted(value) if kind == b"set" else sorted(zip(value[::2], value[1::2]))
            found[(db, k)] = (kind, pttl, value)
    side.call_many([[b"SELECT", b"0"]])
    return found


# A key due to expire this soon may be gone on one server and not yet on the other
# when the keyspaces are read (a few ms apart): such keys are not compared.
EXPIRING_SOON_MS = 2_000


def comparable(ours: dict[Any, Any], theirs: dict[Any, Any]) -> tuple[dict[Any, Any], dict[Any, Any]]:
    """Both keyspaces without keys about to expire on either side, TTLs as has-one or not."""
    soon = {key for side in (ours, theirs) for key, (_, pttl, _) in side.items()
            if isinstance(pttl, int) and 0 <= pttl < EXPIRING_SOON_MS}

    def strip(side: dict[Any, Any]) -> dict[Any, Any]:
        return {key: (kind, "ttl" if isinstance(pttl, int) and pttl >= 0 else pttl, value)
                for key, (kind, pttl, value) in side.items() if key not in soon}

    return strip(ours), strip(theirs)


_READ_BY_TYPE: dict[Any, Callable[[bytes], list[bytes]]] = {
    b"string": lambda k: [b"GET", k],
    b"list": lambda k: [b"LRANGE", k, b"0", b"-1"],
    b"hash": lambda k: [b"HGETALL", k],
    b"set": lambda k: [b"SMEMBERS", k],
    b"zset": lambda k: [b"ZRANGE", k, b"0", b"-1", b"WITHSCORES"],
}


def _diff_lines(ours: dict[Any, Any], theirs: dict[Any, Any]) -> Iterator[str]:
    for key in sorted(set(ours) | set(theirs), key=repr):
        a, b = ours.get(key), theirs.get(key)
        if a != b:
            yield f"  db {key[0]} key {key[1]!r}: gyre {_short(a)} != redis {_short(b)}"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) < 300 else text[:300] + "..."


@contextmanager
def servers() -> Iterator[tuple[int, int]]:
    """A fresh `gyre serve` and a fresh redis-server for a fuzz run: (gyre port, redis port)."""
    from tests.helpers import gyre_server, real_redis_server

    with real_redis_server() as redis_port, gyre_server() as gyre_port:
        yield gyre_port, redis_port
