"""NodeCore on its own: handshake, dispatch, validation, RPC matching, timers."""

from __future__ import annotations

import random
from typing import Any

import pytest

from nodes.core import DurableStore, Field, Kind, NodeCore, Rpc, VolatileStore
from protocol.maelstrom_json import ErrorCode, Message
from tests.nodes.helpers_nodes import Net, assert_closed_ok, assert_error, roundtrip

PING = Rpc("ping", fields=(Field("n", Kind.INT),), optional=(Field("loud", Kind.BOOL),),
           reply_fields=("n",))
RAISE = Rpc("boom")


class Toy(NodeCore):
    """A core with one ``ping`` route and hooks the tests inspect."""

    def __init__(self, seed: int = 0) -> None:
        super().__init__(rng=random.Random(seed), rpc_timeout_ms=100)
        self.inits: list[int] = []
        self.add_route(PING, lambda msg, now: self.reply_ok(msg, PING, n=msg.body["n"] + 1))
        self.add_route(RAISE, self._boom)
        self.on_init(self.inits.append)

    def _boom(self, msg: Message, now_ms: int) -> None:
        from crdt.replication.clocks import DecodeError
        raise DecodeError("bad payload from peer")


def handle(core: NodeCore, src: str, body: dict[str, Any], now: int = 0, dest: str = "n1") -> list[Message]:
    out = core.handle(roundtrip(Message(src, dest, body)), now)
    for m in out:
        roundtrip(m)
    return out


def init(core: NodeCore, node_id: str = "n1", ids: tuple[str, ...] = ("n1", "n2")) -> None:
    [reply] = handle(core, "c0", {"type": "init", "msg_id": 1, "node_id": node_id, "node_ids": list(ids)},
                     dest=node_id)
    assert reply.body == {"type": "init_ok", "in_reply_to": 1}
    assert (reply.src, reply.dest) == (node_id, "c0")


# --- init ------------------------------------------------------------------------------------


def test_init_sets_ids_and_runs_hooks_once() -> None:
    core = Toy()
    init(core)
    assert core.node_id == "n1" and core.node_ids == ("n1", "n2") and core.peers == ("n2",)
    assert core.inits == [0]
    init(core)  # a duplicated init is answered again, without re-running the hooks
    assert core.inits == [0]


@pytest.mark.parametrize("body", [
    {"node_ids": ["n1"]},
    {"node_id": "n1"},
    {"node_id": 1, "node_ids": ["n1"]},
    {"node_id": "n1", "node_ids": "n1"},
    {"node_id": "n1", "node_ids": ["n1", 2]},
    {"node_id": "n3", "node_ids": ["n1", "n2"]},
])
def test_bad_init_is_malformed(body: dict[str, Any]) -> None:
    core = Toy()
    [reply] = handle(core, "c0", {"type": "init", "msg_id": 7, **body})
    assert_error(reply.body, ErrorCode.MALFORMED_REQUEST, 7)
    assert core.node_id is None


def test_reinit_as_another_node_is_refused() -> None:
    core = Toy()
    init(core)
    [reply] = handle(core, "c0", {"type": "init", "msg_id": 2, "node_id": "n2", "node_ids": ["n1", "n2"]})
    assert_error(reply.body, ErrorCode.MALFORMED_REQUEST, 2)
    assert core.node_id == "n1"


def test_requests_before_init_are_temporarily_unavailable() -> None:
    core = Toy()
    [reply] = handle(core, "c1", {"type": "ping", "msg_id": 3, "n": 1})
    assert_error(reply.body, ErrorCode.TEMPORARILY_UNAVAILABLE, 3)
    assert reply.src == "n1"  # answered as the node it was addressed to
    assert handle(core, "c1", {"type": "ping", "n": 1}) == []


# --- dispatch and validation -------------------------------------------------------------------


def test_route_reply_is_closed() -> None:
    core = Toy()
    init(core)
    [reply] = handle(core, "c1", {"type": "ping", "msg_id": 5, "n": 41, "extra": [1]})
    assert_closed_ok(reply.body, PING, 5)
    assert reply.body["n"] == 42 and reply.dest == "c1" and reply.src == "n1"


def test_unknown_type_is_not_supported() -> None:
    core = Toy()
    init(core)
    [reply] = handle(core, "c1", {"type": "frobnicate", "msg_id": 9})
    assert_error(reply.body, ErrorCode.NOT_SUPPORTED, 9)
    assert handle(core, "c1", {"type": "frobnicate"}) == []  # nobody to answer
    assert core.counters.unsupported == 2


@pytest.mark.parametrize("body", [
    {},
    {"n": "1"},
    {"n": 1.0},
    {"n": True},
    {"n": None},
    {"n": 1, "loud": 1},
])
def test_ill_typed_fields_are_malformed(body: dict[str, Any]) -> None:
    core = Toy()
    init(core)
    [reply] = handle(core, "c1", {"type": "ping", "msg_id": 4, **body})
    assert_error(reply.body, ErrorCode.MALFORMED_REQUEST, 4)
    assert "ping" in reply.body["text"]


def test_protocol_error_in_a_handler_becomes_malformed() -> None:
    core = Toy()
    init(core)
    [reply] = handle(core, "n2", {"type": "boom", "msg_id": 4})
    assert_error(reply.body, ErrorCode.MALFORMED_REQUEST, 4)
    assert handle(core, "n2", {"type": "boom"}) == []


def test_wrong_destination_is_node_not_found() -> None:
    core = Toy()
    init(core)
    [reply] = handle(core, "c1", {"type": "ping", "msg_id": 4, "n": 1}, dest="n7")
    assert_error(reply.body, ErrorCode.NODE_NOT_FOUND, 4)
    assert reply.src == "n1"


def test_routes_sharing_a_type_are_chosen_by_predicate() -> None:
    core = Toy()
    a, b = Rpc("get", fields=(Field("a"),), reply_fields=("which",)), Rpc("get", reply_fields=("which",))
    core.add_route(a, lambda m, t: core.reply_ok(m, a, which="a"), when=lambda body: "a" in body)
    core.add_route(b, lambda m, t: core.reply_ok(m, b, which="b"), when=lambda body: "b" in body)
    init(core)
    assert handle(core, "c1", {"type": "get", "msg_id": 1, "a": 0})[0].body["which"] == "a"
    assert handle(core, "c1", {"type": "get", "msg_id": 2, "b": 0})[0].body["which"] == "b"
    [reply] = handle(core, "c1", {"type": "get", "msg_id": 3})
    assert_error(reply.body, ErrorCode.MALFORMED_REQUEST, 3)


# --- RPCs ----------------------------------------------------------------------------------------


def test_rpc_reply_is_matched_once() -> None:
    core = Toy()
    init(core)
    got: list[tuple[dict[str, Any], int]] = []
    msg_id = core.rpc("n2", {"type": "ping", "n": 1}, 10, on_reply=lambda m, t: got.append((m.body, t)))
    [sent] = core.tick(10)  # the outbox drains with the next handle or tick
    assert (sent.dest, sent.body) == ("n2", {"type": "ping", "n": 1, "msg_id": msg_id})
    assert core.pending_rpcs() == 1
    handle(core, "n2", {"type": "ping_ok", "n": 2, "in_reply_to": msg_id}, now=20)
    assert got == [({"type": "ping_ok", "n": 2, "in_reply_to": msg_id}, 20)]
    handle(core, "n2", {"type": "ping_ok", "n": 2, "in_reply_to": msg_id}, now=21)  # duplicate
    assert len(got) == 1 and core.pending_rpcs() == 0
    assert core.next_deadline_ms() is None  # the timeout timer was cancelled


def test_rpc_emits_request_with_fresh_msg_ids() -> None:
    core = Toy()
    init(core)
    core.rpc("n2", {"type": "ping", "n": 1}, 0, on_reply=lambda m, t: None)
    core.rpc("n2", {"type": "ping", "n": 2}, 0, on_reply=lambda m, t: None)
    out = handle(core, "c1", {"type": "ping", "msg_id": 1, "n": 0})  # outbox drains with the next call
    requests = [m for m in out if m.dest == "n2"]
    assert [m.body["msg_id"] for m in requests] == [1, 2]
    assert all(m.src == "n1" for m in out)


def test_rpc_reply_from_the_wrong_node_is_ignored() -> None:
    core = Toy()
    init(core)
    got: list[Message] = []
    msg_id = core.rpc("n2", {"type": "ping", "n": 1}, 0, on_reply=lambda m, t: got.append(m))
    handle(core, "c9", {"type": "ping_ok", "n": 2, "in_reply_to": msg_id})
    assert got == [] and core.pending_rpcs() == 1


def test_rpc_timeout_fires_at_its_deadline_and_late_replies_drop() -> None:
    core = Toy()
    init(core)
    timeouts: list[int] = []
    replies: list[Message] = []
    msg_id = core.rpc("n2", {"type": "ping", "n": 1}, 1000, on_reply=lambda m, t: replies.append(m),
                      on_timeout=timeouts.append, timeout_ms=50)
    assert core.next_deadline_ms() == 1050
    core.tick(1049)
    assert timeouts == []
    core.tick(1050)
    assert timeouts == [1050] and core.counters.timeouts == 1
    handle(core, "n2", {"type": "ping_ok", "n": 2, "in_reply_to": msg_id}, now=1060)
    assert replies == [] and core.counters.dropped == 1


def test_stray_reply_is_dropped_silently() -> None:
    core = Toy()
    init(core)
    assert handle(core, "c1", {"type": "error", "code": 0, "in_reply_to": 999}) == []


def test_error_reply_goes_to_on_reply() -> None:
    core = Toy()
    init(core)
    got: list[Message] = []
    msg_id = core.rpc("n2", {"type": "ping", "n": 1}, 0, on_reply=lambda m, t: got.append(m))
    handle(core, "n2", {"type": "error", "code": 11, "in_reply_to": msg_id})
    assert got[0].body["code"] == 11


# --- timers --------------------------------------------------------------------------------------


def test_timers_fire_in_deadline_then_creation_order() -> None:
    core = Toy()
    fired: list[str] = []
    core.call_at(20, lambda t: fired.append("b"))
    core.call_at(10, lambda t: fired.append("a"))
    core.call_at(20, lambda t: fired.append("c"))
    cancelled = core.call_at(15, lambda t: fired.append("x"))
    cancelled.cancel()
    assert core.next_deadline_ms() == 10
    core.tick(30)
    assert fired == ["a", "b", "c"]
    assert core.next_deadline_ms() is None


def test_timer_armed_while_ticking_waits_for_the_next_tick() -> None:
    core = Toy()
    fired: list[int] = []

    def again(t: int) -> None:
        fired.append(t)
        core.call_at(t, again)  # due at once, but must not spin inside this tick

    core.call_at(5, again)
    core.tick(5)
    assert fired == [5]
    core.tick(6)
    assert fired == [5, 6]


def test_late_older_timer_is_not_starved_by_a_new_one() -> None:
    core = Toy()
    fired: list[str] = []
    core.call_at(10, lambda t: (fired.append("old"), core.call_at(1, lambda u: fired.append("new"))))
    core.call_at(20, lambda t: fired.append("older-but-later"))
    core.tick(30)
    assert fired == ["old", "older-but-later"]
    core.tick(30)
    assert fired == ["old", "older-but-later", "new"]


# --- two cores over the checked fake link ------------------------------------------------------


class Asker(Toy):
    """Answers ``ask{n}`` by pinging its peer and relaying the answer."""

    ASK = Rpc("ask", fields=(Field("n", Kind.INT),), reply_fields=("n",))

    def __init__(self, seed: int = 0) -> None:
        super().__init__(seed)
        self.add_route(self.ASK, self._ask)

    def _ask(self, msg: Message, now_ms: int) -> None:
        peer = self.peers[0]
        self.rpc(peer, {"type": "ping", "n": msg.body["n"]}, now_ms,
                 on_reply=lambda m, t: self.reply_ok(msg, self.ASK, n=m.body["n"]),
                 on_timeout=lambda t: self.reply_error(msg, ErrorCode.TIMEOUT, "peer silent"))


def test_rpc_between_two_cores_over_the_fake_link() -> None:
    net = Net({"n1": Asker(1), "n2": Asker(2)})
    net.init_all()
    body = net.request("c1", "n1", {"type": "ask", "n": 1})
    assert body["n"] == 2
    net.cut("n1", "n2")
    start = net.now_ms
    body = net.request("c1", "n1", {"type": "ask", "n": 1})
    assert body["code"] == ErrorCode.TIMEOUT and net.now_ms - start >= 100


def test_put_later_encodes_only_what_is_read_and_as_put_would() -> None:
    made: list[str] = []

    def maker(name: str, value: Any) -> Any:
        def make() -> Any:
            made.append(name)
            return value
        return make

    d = DurableStore()
    d.put_later("a", maker("a1", [[1, "n0"], {"v": "2", "d": []}]))
    d.put_later("a", maker("a2", [[2, "n0"], {"v": "3", "d": []}]))  # replaces a1 unread
    d.put_later("b", maker("b", 7))
    assert made == [] and d.writes == 3 and len(d) == 2
    assert d.get("b") == 7 and made == ["b"]
    plain = DurableStore()
    plain.put("a", [[2, "n0"], {"v": "3", "d": []}])
    plain.put("b", 7)
    assert d.records == plain.records and made == ["b", "a2"]  # a1 was never encoded
    assert DurableStore(d.records).items() == plain.items()
    v = VolatileStore()  # a store that overrides put gets put(name, make()) at once
    v.put_later("x", maker("x", 1))
    assert made[-1] == "x" and v.writes == 1 and len(v) == 0
