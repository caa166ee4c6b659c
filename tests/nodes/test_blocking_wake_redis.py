"""Who a write wakes, and with what, on gyre serve and on redis-server: the same scenario
run with real connections against both, the transcripts compared byte for byte.

A scenario parks its blockers one by one (each waits, by asking the server with
CLIENT LIST, never sleeping, until it is blocked or has its answer), then a
writer runs its steps (a step of several commands is sent as one pipeline).
The transcript holds the writer's raw replies and, for each blocker, whether it
is still blocked at the end and every byte it received; a blocker still
blocked is released with CLIENT UNBLOCK so its timeout reply is compared too.
In the writer's commands ``@N`` stands for the id of blocker N.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import hiredis
import pytest

from tests.differential import encode_command

SOCKET_TIMEOUT_S = 10.0
STATE_POLLS_MAX = 5_000

Command = Sequence[str | int]


class Conn:
    """One raw client connection that keeps every byte it received."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=SOCKET_TIMEOUT_S)
        self.reader = hiredis.Reader()
        self.raw = b""
        self.replies: list[object] = []

    def send(self, commands: Sequence[Command]) -> None:
        self.sock.sendall(b"".join(encode_command([str(a).encode() for a in c]) for c in commands))

    def _take(self, data: bytes) -> None:
        self.raw += data
        self.reader.feed(data)
        while (reply := self.reader.gets()) is not False:
            self.replies.append(reply)

    def read_replies(self, count: int) -> None:
        """Block (with the socket timeout) until `count` replies in all have arrived."""
        while len(self.replies) < count:
            data = self.sock.recv(65536)
            assert data, f"connection closed after {self.raw!r}"
            self._take(data)

    def poll_replies(self) -> int:
        """Take whatever has arrived without waiting; the replies so far."""
        self.sock.setblocking(False)
        try:
            while data := self.sock.recv(65536):
                self._take(data)
        except BlockingIOError:
            pass
        finally:
            self.sock.settimeout(SOCKET_TIMEOUT_S)
        return len(self.replies)

    def call(self, *argv: str | int) -> object:
        self.send([argv])
        self.read_replies(len(self.replies) + 1)
        return self.replies[-1]

    def close(self) -> None:
        self.sock.close()


def wait_until(what: str, condition: Callable[[], bool]) -> None:
    """Ask the server again until `condition` holds (no sleeping); fail after many asks."""
    for _ in range(STATE_POLLS_MAX):
        if condition():
            return
    raise AssertionError(f"never saw {what}")


def blocked_ids(control: Conn) -> set[int]:
    listing = control.call("CLIENT", "LIST")
    assert isinstance(listing, bytes)
    return {int(line.split(b"id=")[1].split()[0])
            for line in listing.splitlines() if b" flags=b " in line}


@dataclass
class Scenario:
    name: str
    blockers: list[list[Command]]  # each sent as one pipeline; one of them blocks (or errs)
    steps: list[list[Command]]  # the writer's; a step of several commands is one pipeline
    setup: list[Command] = field(default_factory=list)
    resp3: bool = False  # the blockers say HELLO 3 first (its reply is left out)


def run(port: int, sc: Scenario) -> list[object]:
    control = Conn(port)
    conns = [control]
    try:
        control.call("FLUSHALL")
        for argv in sc.setup:
            control.call(*argv)
        blockers = []
        for commands in sc.blockers:
            b = Conn(port)
            conns.append(b)
            client_id = b.call("CLIENT", "ID")
            if sc.resp3:
                b.call("HELLO", "3")
            b.replies.clear()
            b.raw = b""
            b.send(commands)
            for _ in range(STATE_POLLS_MAX):  # blocked, or answered everything (no block)
                if client_id in blocked_ids(control) or b.poll_replies() == len(commands):
                    break
            else:
                raise AssertionError(f"{sc.name}: blocker never blocked nor answered")
            blockers.append((b, client_id, len(commands)))
        writer = Conn(port)
        conns.append(writer)
        ids = {f"@{i}": str(client_id) for i, (_, client_id, _) in enumerate(blockers)}
        for step in sc.steps:
            writer.send([[ids.get(str(a), a) for a in argv] for argv in step])
            writer.read_replies(len(writer.replies) + len(step))
        transcript: list[object] = [writer.raw]
        still = blocked_ids(control)
        for b, client_id, count in blockers:
            if client_id in still:
                assert control.call("CLIENT", "UNBLOCK", client_id) == 1
            b.read_replies(count)
            transcript.append(("still blocked" if client_id in still else "woken", b.raw))
        return transcript
    finally:
        for c in conns:
            c.close()


BLOCKED_Q = ["BLPOP", "q", 0]

SCENARIOS = [
    # -- a key is looked at when it is served, after the whole command or EXEC
    Scenario("exec-push-del-set-wakes-nobody", [[BLOCKED_Q]],
             [[["MULTI"]], [["LPUSH", "q", "a"]], [["DEL", "q"]], [["SET", "q", "x"]], [["EXEC"]],
              [["GET", "q"]]]),
    Scenario("exec-push-pop-push-serves-the-last", [[BLOCKED_Q], [BLOCKED_Q]],
             [[["MULTI"]], [["RPUSH", "q", "a"]], [["LPOP", "q"]], [["RPUSH", "q", "b"]], [["EXEC"]],
              [["LRANGE", "q", 0, -1]]]),
    Scenario("exec-list-then-zset", [[BLOCKED_Q], [["BZPOPMIN", "q", 0]]],
             [[["MULTI"]], [["RPUSH", "q", "a"]], [["DEL", "q"]], [["ZADD", "q", 1, "m"]], [["EXEC"]]]),
    Scenario("expired-before-served", [[BLOCKED_Q]],
             [[["MULTI"]], [["RPUSH", "q", "a"]], [["PEXPIRE", "q", 0]], [["EXEC"]], [["EXISTS", "q"]]]),
    Scenario("pipeline-served-after-each-command", [[BLOCKED_Q]],
             [[["RPUSH", "q", "a", "b"], ["LLEN", "q"], ["LPOP", "q"], ["LLEN", "q"]]]),
    Scenario("released-client-queue-runs-after-the-batch", [[BLOCKED_Q, ["GET", "flag"]]],
             [[["RPUSH", "q", "a"], ["SET", "flag", "1"]]]),
    # -- the wrong type: WRONGTYPE at block time, parked afterwards
    Scenario("wrongtype-at-block-time", [[["BLPOP", "q", 0]], [["BZPOPMAX", "l", "q", 0]],
                                         [["BLPOP", "q", "l", 0]]], [],
             setup=[["ZADD", "q", 1, "a"], ["RPUSH", "l", "x"]]),
    Scenario("zset-waiter-skipped-by-a-list", [[["BZPOPMIN", "q", 0]], [BLOCKED_Q], [BLOCKED_Q]],
             [[["RPUSH", "q", "a", "b", "c"]], [["LRANGE", "q", 0, -1]]]),
    Scenario("list-waiter-skipped-by-a-zset", [[BLOCKED_Q], [["BZPOPMAX", "q", 0]]],
             [[["ZADD", "q", 1, "a", 2, "b"]], [["ZRANGE", "q", 0, -1]]]),
    Scenario("blmove-destination-of-another-type", [[["BLMOVE", "q", "d", "LEFT", "RIGHT", 0]]],
             [[["CONFIG", "RESETSTAT"]], [["SET", "d", "s"]], [["RPUSH", "q", "a"]],
              [["LRANGE", "q", 0, -1]], [["INFO", "errorstats"]]]),
    # -- what wakes: creating the key (dbAdd), not overwriting it nor pushing to it
    Scenario("overwrite-wakes-nobody", [[BLOCKED_Q], [["BZPOPMIN", "z", 0]]],
             [[["SET", "q", "s"], ["SET", "z", "s"]], [["RPUSH", "src", 3, 1, 2]],
              [["SORT", "src", "STORE", "q"]], [["LPUSH", "q", 0]], [["ZADD", "zs", 1, "m"]],
              [["ZUNIONSTORE", "z", 1, "zs"]], [["ZADD", "z", 2, "n"]]]),
    Scenario("a-string-created-is-not-ready", [[BLOCKED_Q]],
             [[["RPUSH", "src", 1]], [["MULTI"], ["SET", "q", "s"], ["SORT", "src", "STORE", "q"], ["EXEC"]],
              [["LRANGE", "q", 0, -1]]]),
    Scenario("a-zset-is-not-ready-while-only-lists-wait", [[["BLPOP", "k", "j", 0]]],
             [[["MULTI"], ["ZADD", "k", 1, "m"], ["RPUSH", "j", "x"], ["DEL", "k"], ["RPUSH", "k", "y"],
               ["EXEC"]], [["LRANGE", "k", 0, -1]], [["LRANGE", "j", 0, -1]]]),
    Scenario("sort-store-creates", [[BLOCKED_Q], [BLOCKED_Q]],
             [[["RPUSH", "src", 3, 1, 2]], [["SORT", "src", "STORE", "q"]], [["LRANGE", "q", 0, -1]]]),
    Scenario("rename-and-copy-replace", [[BLOCKED_Q], [["BLPOP", "q2", 0]]],
             [[["SET", "q", "s"], ["SET", "q2", "s"], ["RPUSH", "src", "a", "b"]],
              [["RENAME", "src", "q"]], [["RPUSH", "src2", "c"]], [["COPY", "src2", "q2", "REPLACE"]],
              [["LRANGE", "q", 0, -1]]]),
    Scenario("move-and-copy-db", [[["SELECT", 1], BLOCKED_Q], [["SELECT", 2], ["BZPOPMIN", "z", 0]]],
             [[["RPUSH", "q", "a", "b"]], [["MOVE", "q", 1]], [["ZADD", "z", 1, "m", 2, "n"]],
              [["COPY", "z", "z", "DB", 2]], [["SELECT", 1], ["LRANGE", "q", 0, -1]]]),
    Scenario("swapdb", [[BLOCKED_Q], [["SELECT", 1], BLOCKED_Q], [["SELECT", 1], ["BZPOPMIN", "q", 0]]],
             [[["SWAPDB", 2, 1]], [["SWAPDB", 3, 0]], [["SWAPDB", 0, 1]],
              [["SELECT", 0], ["EXISTS", "q"], ["SELECT", 1], ["EXISTS", "q"]]],
             setup=[["SELECT", 2], ["RPUSH", "q", "one"], ["SELECT", 3], ["ZADD", "q", 1, "m"]]),
    Scenario("swapdb-twice-in-exec", [[["SELECT", 1], BLOCKED_Q]],
             [[["MULTI"], ["RPUSH", "q", "a"], ["SWAPDB", 0, 1], ["SWAPDB", 0, 1], ["EXEC"]],
              [["LRANGE", "q", 0, -1]]]),
    Scenario("zset-stores-and-lmove-create", [[["BZPOPMAX", "z1", 0]], [["BZPOPMIN", "z2", 0]],
                                              [["BZPOPMIN", "z3", 0]], [["BLPOP", "d", 0]]],
             [[["ZADD", "s", 1, "a", 2, "b"]], [["ZRANGESTORE", "z1", "s", 0, -1]],
              [["ZINTERSTORE", "z2", 1, "s"]], [["ZDIFFSTORE", "z3", 1, "s"]],
              [["RPUSH", "l", "x", "y"]], [["LMOVE", "l", "d", "LEFT", "LEFT"]],
              [["RPOPLPUSH", "l", "d"]], [["LRANGE", "d", 0, -1]]]),
    # -- order: first blocked first served, keys in the order they became ready
    Scenario("ready-keys-in-order", [[["BLPOP", "a", "b", 0]], [["BLPOP", "b", "c", 0]],
                                     [["BLPOP", "c", "a", 0]]],
             [[["MULTI"], ["RPUSH", "c", "c1"], ["RPUSH", "b", "b1"], ["RPUSH", "a", "a1", "a2"],
               ["EXEC"]], [["LRANGE", "a", 0, -1]]]),
    Scenario("blmove-chain", [[["BLMOVE", "a", "b", "LEFT", "RIGHT", 0]], [["BLPOP", "b", 0]],
                              [["BRPOPLPUSH", "b", "a", 0]]],
             [[["RPUSH", "a", "x", "y"]], [["LRANGE", "a", 0, -1]], [["LRANGE", "b", 0, -1]]]),
    Scenario("blmove-rotating", [[["BLMOVE", "a", "a", "LEFT", "RIGHT", 0]],
                                 [["BLMOVE", "a", "a", "LEFT", "RIGHT", 0]]],
             [[["RPUSH", "a", "x", "y", "z"]], [["LRANGE", "a", 0, -1]]]),
    Scenario("counted-pops", [[["BLMPOP", 0, 2, "a", "b", "RIGHT", "COUNT", 2]], [BLOCKED_Q],
                              [["BZMPOP", 0, 1, "z", "MAX", "COUNT", 5]], [["BZPOPMIN", "z", 0]]],
             [[["RPUSH", "a", 1, 2, 3]], [["RPUSH", "q", 1]], [["ZADD", "z", 1, "x", 2, "y"]]]),
    Scenario("resp3-replies", [[["BZPOPMIN", "z", 0]], [["BZMPOP", 0, 1, "z", "MAX", "COUNT", 2]],
                               [BLOCKED_Q], [["BLMOVE", "q", "d", "LEFT", "LEFT", 0]], [["BZPOPMAX", "y", 0]]],
             [[["ZADD", "z", "1.5", "a", 2, "b", 3, "c"]], [["RPUSH", "q", "x"]]], resp3=True),
    # -- unblocking and timeouts
    Scenario("unblocked-replies", [[["BLMOVE", "a", "b", "LEFT", "LEFT", 0]], [["BRPOPLPUSH", "a", "b", 0]],
                                   [["BLMPOP", 0, 1, "a", "LEFT"]], [["BZMPOP", 0, 1, "z", "MIN"]]], []),
    Scenario("client-unblock-error", [[BLOCKED_Q, ["PING"]]],
             [[["MULTI"], ["CLIENT", "UNBLOCK", "@0", "ERROR"], ["EXEC"]],
              [["CLIENT", "UNBLOCK", "@0", "TIMEOUT"]], [["CLIENT", "UNBLOCK", "@0", "TIMEOUT", "x"]],
              [["client", "unBlock", "@0", "later"]], [["CLIENT", "UNBLOCK", "x"]]]),
    Scenario("inside-exec-nothing-blocks", [],
             [[["MULTI"], ["BLPOP", "q", 0], ["BLMOVE", "q", "d", "LEFT", "LEFT", 0],
               ["BRPOPLPUSH", "q", "d", 0], ["BZPOPMIN", "q", 0], ["BLMPOP", 0, 1, "q", "LEFT"],
               ["BZMPOP", 0, 1, "q", "MIN"], ["EXEC"]]]),
    Scenario("timeouts",  # the writer blocks until each of its own times out
             [[["BLPOP", "q", "9223372036854775"]], [["BZPOPMIN", "q", "9223372036854775.807"]],
              [["BLPOP", "q", "-0"]], [["BLPOP", "q", "0x10"]]],
             [[["BLPOP", "q", "0.01"], ["BLMOVE", "q", "d", "LEFT", "LEFT", "0.01"],
               ["BZPOPMIN", "q", "0.001"], ["BLMPOP", "0.0001", 1, "q", "LEFT"]],
              [["BLPOP", "q", "-1"], ["BLPOP", "q", "x"], ["BLPOP", "q", "inf"], ["BLPOP", "q", "nan"],
               ["BLPOP", "q", "1e300"], ["BLPOP", "q", " 1"], ["BLPOP", "q", "92233720368547758"]]]),
]


@pytest.fixture
def ports(real_redis_port: int, gyre_port: int) -> Iterator[tuple[int, int]]:
    yield real_redis_port, gyre_port


@pytest.mark.redis
@pytest.mark.parametrize("sc", SCENARIOS, ids=[sc.name for sc in SCENARIOS])
def test_wakes_as_redis_wakes(sc: Scenario, ports: tuple[int, int]) -> None:
    redis_port, gyre_port = ports
    expected = run(redis_port, sc)
    got = run(gyre_port, sc)
    assert got == expected


@pytest.mark.redis
def test_a_disconnected_waiter_is_skipped(ports: tuple[int, int]) -> None:
    """The first waiter hangs up while blocked: the element goes to the second."""
    out = []
    for port in ports:
        control, first, second, writer = Conn(port), Conn(port), Conn(port), Conn(port)
        control.call("FLUSHALL")
        first_id, second_id = first.call("CLIENT", "ID"), second.call("CLIENT", "ID")
        second.replies.clear()
        second.raw = b""
        first.send([BLOCKED_Q])
        second.send([BLOCKED_Q])
        wait_until("both blocked", lambda: {first_id, second_id} <= blocked_ids(control))
        first.close()
        wait_until("the first gone", lambda: first_id not in blocked_ids(control))
        out.append((writer.call("RPUSH", "q", "a"), writer.call("LLEN", "q")))
        second.read_replies(1)
        out.append(second.raw)
        for c in (control, second, writer):
            c.close()
    assert out[0] == out[2] and out[1] == out[3]
    assert out[1].endswith(b"*2\r\n$1\r\nq\r\n$1\r\na\r\n")


def keyspace_events(port: int, count: int | None) -> list[object]:
    """The keyspace events a subscriber gets when a push serves a BLMOVE and a BLPOP.

    With `count` None the writer then publishes a sentinel, and every event before
    it is returned; else exactly `count` events are read and nothing else is sent
    (the events of serving must go out with no later command to carry them).
    """
    control, sub, mover, taker, writer = (Conn(port) for _ in range(5))
    try:
        control.call("FLUSHALL")
        control.call("CONFIG", "SET", "notify-keyspace-events", "KEA")
        sub.call("PSUBSCRIBE", "__key*__:*", "sentinel")
        mover_id, taker_id = mover.call("CLIENT", "ID"), taker.call("CLIENT", "ID")
        mover.send([["BLMOVE", "q", "d", "LEFT", "RIGHT", 0]])
        taker.send([["BLPOP", "d", 0]])
        wait_until("both blocked", lambda: {mover_id, taker_id} <= blocked_ids(control))
        writer.call("RPUSH", "q", "a")
        if count is None:
            writer.call("PUBLISH", "sentinel", "end")
            sub.read_replies(len(sub.replies) + 1)
            while sub.replies[-1] != [b"pmessage", b"sentinel", b"sentinel", b"end"]:
                sub.read_replies(len(sub.replies) + 1)
            return sub.replies[1:-1]
        sub.read_replies(1 + count)
        return sub.replies[1:]
    finally:
        control.call("CONFIG", "SET", "notify-keyspace-events", "")
        for c in (control, sub, mover, taker, writer):
            c.close()


@pytest.mark.redis
def test_keyspace_events_of_serving_match_redis(ports: tuple[int, int]) -> None:
    redis_port, gyre_port = ports
    expected = keyspace_events(redis_port, None)
    assert len(expected) > 2
    assert keyspace_events(gyre_port, len(expected)) == expected


TIMEOUT_TEXTS = [
    "1e-400", "-1e-400", "-0.001", "-0.002", "-0.0015", "0x10", "9223372036854776",
    "9223372036854775", "1e-5000", "0.0005", "-0.0009999999999999999999",
    "1.0000000000000000000001e-3", "+0.001", ".001", "1e", "0x", "-0x0.001p0", "inf", "-inf",
    # Exponents no long double holds: refused at once (gyre built 10**99999999 and froze).
    "1e99999999", "-1e99999999", "0x1p99999999", "1e-99999999",
]


def timeout_outcome(port: int, timeout: str) -> object:
    """BRPOPLPUSH on a missing key with `timeout`: its error, "times out" (a null reply, or
    blocked with a deadline) or "blocks forever" (blocked with none), told apart by one
    INFO clients snapshot (blocked_clients, clients_in_timeout_table), asked again and
    again until the client answered or blocked; nothing is slept on."""
    client, control = Conn(port), Conn(port)
    try:
        client.call("PING")
        client.send([["BRPOPLPUSH", "timeout-nokey", "timeout-dst", timeout]])
        outcome: list[object] = []

        def settled() -> bool:
            if client.poll_replies() > 1:
                reply = client.replies[-1]
                outcome.append(("error", str(reply)) if isinstance(reply, hiredis.ReplyError)
                               else "times out" if reply is None else reply)
                return True
            info = control.call("INFO", "clients")
            assert isinstance(info, bytes)
            fields = dict(line.split(b":", 1) for line in info.splitlines() if b":" in line)
            if int(fields[b"blocked_clients"]):
                in_table = int(fields[b"clients_in_timeout_table"])
                outcome.append("times out" if in_table else "blocks forever")
                return True
            return False

        wait_until(f"BRPOPLPUSH ... {timeout} to answer or block", settled)
        return outcome[0]
    finally:
        client.close()
        control.close()


@pytest.mark.redis
@pytest.mark.parametrize("timeout", TIMEOUT_TEXTS)
def test_timeouts_read_as_redis_reads_them(ports: tuple[int, int], timeout: str) -> None:
    """A long double, times 1000, rounded up: 1e-400 is 1 ms, -0.001 forever (found by the
    command fuzz: 1e-400 blocked gyre forever, a double sees 0 there)."""
    redis_port, gyre_port = ports
    expected = timeout_outcome(redis_port, timeout)
    assert timeout_outcome(gyre_port, timeout) == expected
