"""Run one fuzz case on `gyre serve` and on Debian's redis-server, and compare.

Strategy: a case is a keyspace set-up (`grammar.SETUP`) and a few command
lines. Both servers get the same bytes over raw sockets (`tests.fuzz.client`):
FLUSHALL and the set-up, then each command, one at a time, every reply read
with a deadline, so a request that is never answered is caught as such (and
a crashed server as a closed connection). Replies are compared as
`tests.fuzz.rules` says. After the commands, each connection is synced
(RESET, then an ECHO token) and the replies a case left unread compared, so
a stray second reply shows in the case that made it; then each server's
whole keyspace (every database, every key's type, value and whether it has
a TTL) is read back and compared too, so a wrong write that answers right
is caught.

A command answered by neither server within its deadline (a blocking command
with nothing to take, on both sides alike) ends the case as agreement; both
connections are opened anew.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from crdt.table import Command
from tests.differential import Err
from tests.fuzz.client import REPLY_TIMEOUT_S, Client, Closed, Timeout
from tests.fuzz.grammar import SETUP
from tests.fuzz.rules import command_of, comparison, normalise, normalise_exec, shape

# A blocking command that has not answered within this counts as blocked.
BLOCKING_TIMEOUT_S = 0.5
DATABASES = 16

class Mismatch(AssertionError):
    """The servers disagree; carries the case so it can be written down and replayed."""

    def __init__(self, case: Case, why: str) -> None:
        super().__init__(f"{why}\n  case: {case.to_json()}")
        self.case = case
        self.why = why


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
                ours, theirs = (normalise_exec(r, hows, many) for r in (ours, theirs))
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
        meta = side.call_many([c for k in keys
                               for c in ([b"TYPE", k], [b"PTTL", k], [b"STRLEN", k])])
        kinds, pttls, lengths = meta[0::3], meta[1::3], meta[2::3]
        # A huge string (SETRANGE at 512 MB) is compared by a summary (its length, its
        # ends, its bit count), not read whole over the wire twice.
        big = {k for k, kind, n in zip(keys, kinds, lengths)
               if kind == b"string" and isinstance(n, int) and n > STRING_READ_MAX_BYTES}
        whole = side.call_many([_READ_BY_TYPE.get(kind, lambda k: [b"TYPE", k])(k)
                                for k, kind in zip(keys, kinds) if k not in big])
        summaries = {k: tuple(side.call_many([[b"STRLEN", k], [b"GETRANGE", k, b"0", b"4095"],
                                              [b"GETRANGE", k, b"-4096", b"-1"],
                                              [b"BITCOUNT", k]])) for k in big}
        whole.reverse()
        values = [summaries[k] if k in big else whole.pop() for k in keys]
        for k, kind, pttl, value in zip(keys, kinds, pttls, values):
            if kind == b"none":
                continue  # expired between KEYS and TYPE
            if kind in (b"hash", b"set"):
                value = sorted(value) if kind == b"set" else sorted(zip(value[::2], value[1::2]))
            found[(db, k)] = (kind, pttl, value)
    side.call_many([[b"SELECT", b"0"]])
    return found


# Strings longer than this are compared by a summary (length, ends, bit count).
STRING_READ_MAX_BYTES = 1 << 20


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
