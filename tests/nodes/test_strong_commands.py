"""Strong mode for RESP commands: `StrongKv.submit_command` on cores joined by a hand-driven network.

`CommandCluster` keeps every node-to-node message in flight in a list; a test
chooses which to deliver, drop or duplicate and when virtual time moves, as
tests/nodes/test_strong.py does for lin-kv. Commands are submitted the way the
server driver will submit them (then the node is ticked at ``now``), and their
replies are the RESP bytes ``done`` receives. Where it makes sense, replies are
compared with a single reference `Engine` running the same commands, so "the
change function is the engine command" is checked byte for byte.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any

import pytest

from crdt.engine import Engine
from crdt.replication.images import Image
from maelstrom.linearizable import check_history
from nodes.core import DurableStore, NodeCore
from nodes.replicated import ReplicatedConfig, ReplicatedNode
from nodes.strong import COMMAND_MAY_HAVE_APPLIED, COMMAND_NOT_APPLIED, REQUEST_TIMEOUT_MS, StrongKv
from nodes.strong_commands import REFUSALS, RouteKind, classify, parse_resp_key, resp_key
from protocol.errors import ProtocolError
from protocol.maelstrom_json import ErrorCode, Message
from protocol.resp import encode
from tests.nodes.helpers_nodes import roundtrip
from tests.nodes.strong_node import StrongTestNode


def _argv(text: str) -> list[bytes]:
    return [w.encode() for w in text.split()]


class CommandCluster:
    """StrongKv cores on a hand-driven network; commands in, RESP replies out."""

    def __init__(self, n: int = 3, seed: int = 0,
                 make: Callable[[random.Random], NodeCore] | None = None) -> None:
        self.ids = [f"n{i}" for i in range(n)]
        self.seed = seed
        self.make = make if make is not None else (lambda rng: StrongTestNode(rng=rng, kv=StrongKv()))
        self.cores: dict[str, Any] = {}
        self.now_ms = 0
        self.flight: list[Message] = []
        self.drop_if: Callable[[Message], bool] = lambda m: False
        self.replies: dict[int, bytes] = {}
        self.calls: dict[int, int] = {}  # how many times each done ran (must be once)
        self.next_id = 0
        self.history: list[dict[str, Any]] = []
        for i, nid in enumerate(self.ids):
            self.start(nid, DurableStore(), life=0)

    def start(self, nid: str, durable: DurableStore, life: int) -> None:
        """(Re)start a node from ``durable`` (a crash loses everything else)."""
        core = self.make(random.Random(self.seed * 1000 + life * 100 + self.ids.index(nid)))
        core.durable = durable
        [ok] = core.handle(Message("c-init", nid, {"type": "init", "msg_id": 1, "node_id": nid,
                                                   "node_ids": self.ids}), self.now_ms)
        assert ok.body["type"] == "init_ok"
        self.cores[nid] = core
        self.flight = [m for m in self.flight if nid not in (m.src, m.dest)]

    def kv(self, nid: str) -> StrongKv:
        kv = self.cores[nid].kv
        assert isinstance(kv, StrongKv)
        return kv

    # -- the network -----------------------------------------------------------------------

    def _emit(self, sender: str, messages: list[Message]) -> None:
        for m in messages:
            assert m.src == sender and m.dest in self.cores, m
            self.flight.append(roundtrip(m))

    def deliver(self, i: int = 0) -> None:
        m = self.flight.pop(i)
        if not self.drop_if(m):
            self._emit(m.dest, self.cores[m.dest].handle(m, self.now_ms))

    def tick(self, ms: int) -> None:
        end = self.now_ms + ms
        while True:
            due = sorted((d, nid) for nid, c in self.cores.items()
                         if (d := c.next_deadline_ms()) is not None and d <= end)
            if not due:
                break
            at, nid = due[0]
            self.now_ms = max(self.now_ms, at)
            self._emit(nid, self.cores[nid].tick(self.now_ms))
        self.now_ms = end

    def settle(self, until: int | None = None, limit_ms: int = 20_000, step_ms: int = 5) -> None:
        """Deliver FIFO (minus ``drop_if``) and tick until ``until`` (or every command) is answered."""
        end = self.now_ms + limit_ms
        while (until not in self.replies) if until is not None else len(self.replies) < self.next_id:
            assert self.now_ms < end, "unanswered commands"
            while self.flight:
                self.deliver(0)
            self.tick(step_ms)
        while until is None and self.flight:
            self.deliver(0)

    # -- clients --------------------------------------------------------------------------------

    def submit(self, node: str, command: str | list[bytes], *, db: int = 0, resp3: bool = False) -> int:
        argv = _argv(command) if isinstance(command, str) else command
        self.next_id += 1
        ident = self.next_id
        event = {"process": ident, "key": argv[1].decode("latin-1") if len(argv) > 1 else None}
        name = argv[0].upper()
        if name == b"SET":
            event.update(f="write", value=argv[2].decode("latin-1"))
        elif name == b"GET":
            event.update(f="read", value=None)
        self._record("invoke", event)

        def done(reply: bytes) -> None:
            self.calls[ident] = self.calls.get(ident, 0) + 1
            assert self.calls[ident] == 1, f"done called twice for {argv}"
            self.replies[ident] = reply
            if reply in (COMMAND_MAY_HAVE_APPLIED,):
                self._record("info", event)
            elif reply == COMMAND_NOT_APPLIED:
                self._record("fail", event)
            elif event.get("f") == "read":
                value = None if reply == b"$-1\r\n" else reply.split(b"\r\n")[1].decode("latin-1")
                self._record("ok", event, value=value)
            else:
                self._record("ok", event)

        self.kv(node).submit_command(argv, db, resp3, self.now_ms, done)
        self._emit(node, self.cores[node].tick(self.now_ms))  # the driver ticks after submitting
        return ident

    def run(self, node: str, command: str | list[bytes], **kw: Any) -> bytes:
        ident = self.submit(node, command, **kw)
        self.settle(until=ident)
        return self.replies[ident]

    def _record(self, type_: str, event: dict[str, Any], **extra: Any) -> None:
        if "f" in event:
            self.history.append({"index": len(self.history), "time": self.now_ms * 1_000_000,
                                 "type": type_, **event, **extra})

    def check(self) -> None:
        """SET/GET history per key is linearizable (the register model)."""
        for key in sorted({e["key"] for e in self.history}):
            ops = [e for e in self.history if e["key"] == key]
            result = check_history(ops, time_limit_s=20, clock=time.monotonic)
            assert result["valid"] is True, (key, result)


def _reference(commands: list[str], resp3: bool = False) -> list[bytes]:
    engine = Engine()
    session = engine.open_session(0)
    session.resp3 = resp3
    return [encode(engine.execute(_argv(c), session, 1_000), resp3) for c in commands]


# --- the happy path ----------------------------------------------------------------------------


FAMILY = [
    "SET s hello", "APPEND s _world", "GET s", "GETSET s new", "GET s", "INCR n", "INCR n",
    "INCRBY n 10", "LPUSH l a b c", "RPUSH l z", "LRANGE l 0 -1", "LPOP l", "SADD st x y x",
    "SMEMBERS st", "SISMEMBER st y", "HSET h f1 v1 f2 v2", "HGET h f2", "HGETALL h",
    "ZADD z 1 one 2.5 two", "ZRANGE z 0 -1 WITHSCORES", "ZSCORE z two", "EXPIRE s 100", "TTL s",
    "TTL n", "DEL n", "GET n", "EXISTS n", "TYPE l", "OBJECT ENCODING l", "DEL h", "HGETALL h",
]


@pytest.mark.parametrize("resp3", [False, True])
def test_commands_on_different_nodes_see_each_other_and_match_one_engine(resp3: bool) -> None:
    c = CommandCluster()
    got = [c.run(c.ids[i % 3], cmd, resp3=resp3) for i, cmd in enumerate(FAMILY)]
    assert got == _reference(FAMILY, resp3)
    assert got[FAMILY.index("HGETALL h")].startswith(b"%2" if resp3 else b"*4")


def carries(m: Any, kind: str) -> bool:
    """Whether a message is (or relays) a Paxos message of ``kind``: lost means lost both ways."""
    body = m.body
    return body.get("type") == kind or (body.get("type") in ("paxos_relay", "paxos_relayed")
                                         and body["body"].get("type") == kind)


def test_replicated_nodes_in_strong_mode_evaluate_commands_with_their_engines_config() -> None:
    c = CommandCluster(make=lambda rng: ReplicatedNode(rng=rng, config=ReplicatedConfig(mode="strong")))
    for core in c.cores.values():
        core.engine.config.set([(b"set-max-intset-entries", b"2")])
    assert c.run("n0", "SADD s 1 2 3") == b":3\r\n"
    assert c.run("n1", "OBJECT ENCODING s") == b"$9\r\nhashtable\r\n"  # intset, had the config not reached
    assert _reference(["SADD s 1 2 3", "OBJECT ENCODING s"])[1] == b"$6\r\nintset\r\n"
    assert c.run("n2", "SCARD s") == b":3\r\n"
    assert len(c.cores["n2"].engine.dbs[0]) == 0  # the node's own engine is not the source of truth


def test_commits_of_command_rounds_are_told_to_the_driver() -> None:
    c = CommandCluster()
    seen: list[tuple[int, bytes, Image | None]] = []
    c.kv("n0").on_command_commit = lambda db, key, image: seen.append((db, key, image))
    c.run("n0", "HSET h f v", db=2)
    c.run("n0", "DEL h", db=2)
    c.run("n1", "SET other x")  # another node's round: n0 is not told
    assert seen == [(2, b"h", Image("hash", ((b"f", b"v"),))), (2, b"h", None)]


def test_databases_are_distinct_registers() -> None:
    c = CommandCluster()
    assert c.run("n0", "SET k zero", db=0) == b"+OK\r\n"
    assert c.run("n1", "SET k one", db=1) == b"+OK\r\n"
    assert c.run("n2", "GET k", db=0) == b"$4\r\nzero\r\n"
    assert c.run("n2", "GET k", db=1) == b"$3\r\none\r\n"
    binary = b"k\xff\x00:\r\n"
    assert c.run("n0", [b"SET", binary, b"\x80\x00"], db=3) == b"+OK\r\n"
    assert c.run("n1", [b"GET", binary], db=3) == b"$2\r\n\x80\x00\r\n"


def test_wrongtype_is_the_commands_reply_and_changes_nothing() -> None:
    c = CommandCluster()
    c.run("n0", "SET k v")
    slot_before = c.kv("n1").acceptor.slots["r:0:k"].state.value
    assert c.run("n1", "LPUSH k x").startswith(b"-WRONGTYPE")
    assert c.kv("n1").acceptor.slots["r:0:k"].state.value == slot_before == Image("string", b"v")
    assert c.run("n2", "GET k") == b"$1\r\nv\r\n"


def test_expiry_uses_absolute_times_and_the_proposers_clock() -> None:
    c = CommandCluster()
    c.run("n0", "SET k v PX 300")
    image = c.kv("n0").acceptor.slots["r:0:k"].state.value
    assert isinstance(image, Image) and image.expire_at is not None and image.expire_at <= c.now_ms + 300
    assert c.run("n1", "GET k") == b"$1\r\nv\r\n"
    c.tick(400)
    assert c.run("n2", "GET k") == b"$-1\r\n"
    assert c.kv("n0").acceptor.slots["r:0:k"].state.value is None  # the read wrote back "absent"


def test_commands_submitted_together_share_one_round() -> None:
    c = CommandCluster()
    ids = []
    for cmd in ("SET k 1", "INCR k", "GET k"):
        c.next_id += 1
        ident = c.next_id
        ids.append(ident)
        c.kv("n0").submit_command(_argv(cmd), 0, False, c.now_ms,
                                  lambda r, i=ident: c.replies.__setitem__(i, r))
    assert c.replies == {}  # nothing runs before the node is ticked
    c.tick(0)
    c.settle()
    assert [c.replies[i] for i in ids] == [b"+OK\r\n", b":2\r\n", b"$1\r\n2\r\n"]
    assert c.kv("n0").stats.committed == 1


def test_refused_and_local_commands_submitted_anyway_get_an_error() -> None:
    c = CommandCluster()
    assert c.run("n0", "MSET a 1 b 2") == b"-" + REFUSALS["several-keys"].format(name="MSET").encode() + b"\r\n"
    assert c.run("n0", "PING").startswith(b"-ERR strong mode")


# --- definite and indefinite failures -----------------------------------------------------------


def test_minority_node_answers_definitely_when_nothing_was_proposed() -> None:
    c = CommandCluster()
    c.drop_if = lambda m: "n0" in (m.src, m.dest)
    ident = c.submit("n0", "INCR k")
    c.settle(until=ident)
    assert c.replies[ident] == COMMAND_NOT_APPLIED
    assert c.now_ms >= REQUEST_TIMEOUT_MS
    c.drop_if = lambda m: False
    assert c.run("n1", "GET k") == b"$-1\r\n"  # it never takes effect


def test_lost_accept_acks_answer_indefinitely_and_the_command_may_land() -> None:
    c = CommandCluster()
    c.drop_if = lambda m: carries(m, "paxos_accept_ok")
    ident = c.submit("n0", "INCR k")
    c.settle(until=ident)
    assert c.replies[ident] == COMMAND_MAY_HAVE_APPLIED
    c.drop_if = lambda m: False
    assert c.run("n1", "GET k") == b"$1\r\n1\r\n"  # it did take effect: hence "may or may not"


def test_retried_incr_whose_accept_was_half_done_applies_once() -> None:
    c = CommandCluster()
    # n0's accepts to the others are lost: only n0's own acceptor has INCR applied.
    c.drop_if = lambda m: m.src == "n0" and m.body.get("type") == "paxos_accept"
    incr = c.submit("n0", "INCR k")
    while c.flight:
        c.deliver(0)
    # n1 reads: n0's promise carries the half-accepted state, which n1 adopts and completes.
    assert c.run("n1", "GET k") == b"$1\r\n1\r\n"
    c.drop_if = lambda m: False
    c.settle()
    assert c.replies[incr] == b":1\r\n"  # n0's retry found its INCR in the done table
    assert c.kv("n0").stats.deduplicated >= 1
    assert c.run("n2", "GET k") == b"$1\r\n1\r\n"


def test_duplicated_reordered_and_lost_messages_keep_every_incr_once() -> None:
    c = CommandCluster(seed=7)
    rng = random.Random(7)
    c.drop_if = lambda m: rng.random() < 0.1
    idents = []
    for round_ in range(8):
        idents += [c.submit(node, "INCR k") for node in c.ids]
        while len(c.replies) < c.next_id:
            if c.flight and rng.random() < 0.9:
                i = rng.randrange(len(c.flight))
                if rng.random() < 0.3:
                    c.flight.append(c.flight[i])  # a duplicate
                c.deliver(i)
            else:
                c.tick(5)
    c.drop_if = lambda m: False
    c.settle()
    replies = [c.replies[i] for i in idents]
    ok = sorted(int(r[1:-2]) for r in replies if r.startswith(b":"))
    maybe = sum(1 for r in replies if r == COMMAND_MAY_HAVE_APPLIED)
    assert len(set(ok)) == len(ok)  # every acknowledged INCR saw its own count
    final = int(c.run("n1", "GET k").split(b"\r\n")[1])
    assert len(ok) <= final <= len(ok) + maybe
    assert all(r.startswith(b":") or r in (COMMAND_MAY_HAVE_APPLIED, COMMAND_NOT_APPLIED) for r in replies)


def test_set_get_under_random_delivery_is_linearizable() -> None:
    c = CommandCluster(seed=11)
    rng = random.Random(11)
    for step in range(40):
        node = c.ids[step % 3]
        c.submit(node, f"SET k {step}" if rng.random() < 0.5 else "GET k")
        for _ in range(rng.randrange(6)):
            if c.flight:
                c.deliver(rng.randrange(len(c.flight)))
        if rng.random() < 0.3:
            c.tick(3)
    c.settle()
    c.check()


# --- crashes ---------------------------------------------------------------------------------


def test_crash_restart_with_durable_records_keeps_acknowledged_writes() -> None:
    c = CommandCluster()
    c.drop_if = lambda m: "n2" in (m.src, m.dest)  # n0 and n1 alone make the majority
    assert c.run("n0", "RPUSH l a b") == b":2\r\n"
    c.start("n1", DurableStore(c.cores["n1"].durable.records), life=1)  # n1 crashes and restarts
    c.drop_if = lambda m: "n0" in (m.src, m.dest)  # now only n1 and n2
    assert c.run("n1", "LRANGE l 0 -1") == b"*2\r\n$1\r\na\r\n$1\r\nb\r\n"
    assert c.run("n2", "RPUSH l c") == b":3\r\n"


# --- classification -----------------------------------------------------------------------------


@pytest.mark.parametrize(("command", "reason"), [
    ("MSET a 1 b 2", "several-keys"), ("MGET a b", "several-keys"), ("DEL a b", "several-keys"),
    ("RENAME a b", "several-keys"), ("SINTERSTORE d a", "several-keys"), ("MOVE k 1", "several-keys"),
    ("COPY k k DB 1", "several-keys"), ("SORT k BY w_*", "several-keys"), ("SORT k STORE d", "several-keys"),
    ("ZUNION 2 a b", "several-keys"), ("LMOVE a b LEFT RIGHT", "several-keys"),
    ("KEYS *", "keyspace"), ("SCAN 0", "keyspace"), ("DBSIZE", "keyspace"), ("FLUSHALL", "keyspace"),
    ("RANDOMKEY", "keyspace"), ("SWAPDB 0 1", "keyspace"),
    ("MULTI", "transaction"), ("EXEC", "transaction"), ("WATCH k", "transaction"),
    ("BLPOP k 0", "blocking"), ("BZPOPMIN k 1", "blocking"),
    ("SUBSCRIBE c", "pubsub"), ("PUBLISH c m", "pubsub"), ("FUNCTION FLUSH", "scripting"),
    ("EVAL x 0", "scripting"), ("EVALSHA x 1 k", "scripting"), ("FCALL f 1 k", "scripting"),
])
def test_refused_commands_name_the_mode(command: str, reason: str) -> None:
    route = classify(_argv(command))
    assert route.kind is RouteKind.REFUSED
    assert route.error is not None and b"strong mode" in route.error
    name = " ".join(command.split()[:2]) if command.startswith("FUNCTION") else command.split()[0]
    assert route.error == REFUSALS[reason].format(name=name).encode()


@pytest.mark.parametrize(("command", "key", "readonly"), [
    ("GET k", b"k", True), ("set k v", b"k", False), ("INCR k", b"k", False), ("MGET k", b"k", True),
    ("DEL k k", b"k", False), ("RPOPLPUSH k k", b"k", False), ("SORT k GET #", b"k", False),
    ("OBJECT ENCODING k", b"k", True), ("ZUNION 1 k", b"k", True), ("LMPOP 1 k LEFT", b"k", False),
])
def test_single_key_commands(command: str, key: bytes, readonly: bool) -> None:
    route = classify(_argv(command))
    assert (route.kind, route.key, route.readonly) == (RouteKind.SINGLE_KEY, key, readonly)


@pytest.mark.parametrize("command", [
    "PING", "ECHO x", "INFO", "CONFIG GET maxmemory", "CLIENT ID", "SELECT 1", "TIME", "COMMAND COUNT",
    "HELLO 3", "QUIT", "RESET",
    # the engine answers these with an error, touching no key (as Redis Cluster routes them)
    "NOSUCH k", "GET", "GET a b", "CLIENT NOSUCH", "ZUNION abc k",
])
def test_local_commands(command: str) -> None:
    assert classify(_argv(command)).kind is RouteKind.LOCAL


def test_local_keyed_commands_are_errors_that_touch_nothing() -> None:
    engine = Engine()
    session = engine.open_session(0)
    engine.execute(_argv("SET k v"), session, 0)
    for command in ("ZUNION abc k", "ZUNIONSTORE d 0 k", "LMPOP 0 LEFT", "SINTERCARD 0 k"):
        if classify(_argv(command)).kind is RouteKind.LOCAL:
            assert engine.execute(_argv(command), session, 0).startswith(b"ERR"), command
    assert len(engine.dbs[0]) == 1


# --- peer input -----------------------------------------------------------------------------


@pytest.mark.parametrize(("key", "state"), [
    ("r:0:k", {"i": {"t": "list", "v": []}, "d": []}),  # an empty list cannot be stored
    ("r:0:k", {"i": {"t": "nosuch", "v": ["a"]}, "d": []}),
    ("r:0:k", {"i": 7, "d": []}),
    ("r:0:k", {"i": "\u0100", "d": []}),  # not Latin-1
    ("r:0:k", {"i": "a", "v": None, "d": []}),
    ("r:0:k", {"v": "1", "d": []}),  # a lin-kv value under a RESP key
    ("0", {"i": "a", "d": []}),  # an image under a lin-kv key
    ("r:00:k", {"v": None, "d": []}), ("r:x:k", {"v": None, "d": []}), ("r:0", {"v": None, "d": []}),
    ("r:0:\u0100", {"v": None, "d": []}),
    ("r:0:k", {"v": None, "d": [["r", "n1", 5, None, None, 7]]}),  # a reply that is not text
])
def test_bad_peer_state_is_refused_without_harm(key: str, state: dict[str, Any]) -> None:
    c = CommandCluster()
    c.run("n1", "SET k v")
    body = {"type": "paxos_accept", "items": [[key, [99, "n1"], state, None]], "msg_id": 77}
    [answer] = c.cores["n0"].handle(Message("n1", "n0", body), c.now_ms)
    assert answer.body["code"] == ErrorCode.MALFORMED_REQUEST, (key, state, answer)
    assert c.run("n2", "GET k") == b"$1\r\nv\r\n"


def test_garbage_state_in_a_promise_is_dropped_not_fatal() -> None:
    c = CommandCluster()
    garbage = {"i": {"t": "zset", "v": [["m", "nan"]]}, "d": []}

    def corrupt(m: Message) -> bool:
        if m.body.get("type") == "paxos_prepare_ok" and m.src == "n1":
            for item in m.body["items"]:
                item[5] = garbage
        return False

    c.drop_if = corrupt
    assert c.run("n0", "SET k v") == b"+OK\r\n"  # n2's promise still makes the majority
    assert c.cores["n0"].counters.malformed >= 1


def test_resp_key_names_round_trip_and_reject_garbage() -> None:
    for db, key in ((0, b""), (15, b"a:b"), (3, bytes(range(256)))):
        assert parse_resp_key(resp_key(db, key)) == (db, key)
    for bad in ("0", "r:", "r:-1:k", "r:01:k", "r:1", "r:\u0661:k"):
        with pytest.raises(ProtocolError):
            parse_resp_key(bad)
