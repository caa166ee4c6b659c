"""Causal mode: causal delivery, repair by clocks and snapshots, sessions, convergence."""

from __future__ import annotations

import random
from typing import Any

import pytest

from crdt.replication.clocks import VectorClock
from nodes.causal import (
    CAUSAL_SNAPSHOT,
    CAUSAL_SYNC,
    CAUSAL_WRITES,
    CausalKv,
    CausalWrite,
)
from nodes.replicated import ReplicatedConfig, ReplicatedNode
from protocol.maelstrom_json import ErrorCode, Message
from tests.nodes.helpers_nodes import assert_error, roundtrip

T0 = 1_000_000
IDS = ("n0", "n1", "n2")


def node(me: str, ids: tuple[str, ...] = IDS, seed: int = 0) -> ReplicatedNode:
    core = ReplicatedNode(rng=random.Random(seed * 10 + int(me[1:])), config=ReplicatedConfig(mode="causal"),
                          now_ms=T0)
    core.handle(Message("c0", me, {"type": "init", "msg_id": 1, "node_id": me, "node_ids": list(ids)}), T0)
    return core


def kv(core: ReplicatedNode) -> CausalKv:
    assert isinstance(core.kv, CausalKv)
    return core.kv


class Client:
    def __init__(self, name: str) -> None:
        self.name = name
        self.msg_id = 0

    def send(self, core: ReplicatedNode, body: dict[str, Any], now_ms: int = T0) -> tuple[list[Message], int]:
        """Returns (messages to peers, msg_id); the answer, if any, is in ``self.answers``."""
        self.msg_id += 1
        out = [roundtrip(m) for m in core.handle(roundtrip(Message(self.name, core.node_id or "",
                                                                   {**body, "msg_id": self.msg_id})), now_ms)]
        self.answers = [m.body for m in out if m.dest == self.name]
        return [m for m in out if m.dest != self.name], self.msg_id

    def read(self, core: ReplicatedNode, key: Any) -> Any:
        self.send(core, {"type": "read", "key": key})
        [answer] = self.answers
        return answer.get("value", answer.get("code"))

    def write(self, core: ReplicatedNode, key: Any, value: Any, now_ms: int = T0) -> list[Message]:
        out, _ = self.send(core, {"type": "write", "key": key, "value": value}, now_ms)
        assert self.answers[0]["type"] == "write_ok"
        return out


def to(dest: str, messages: list[Message]) -> list[Message]:
    return [m for m in messages if m.dest == dest]


def test_a_write_stays_invisible_until_its_dependencies_are() -> None:
    n0, n1, n2 = node("n0"), node("n1"), node("n2")
    alice, bob, carol = Client("c1"), Client("c2"), Client("c3")
    w1 = alice.write(n0, "question", "?")
    [n1.handle(m, T0) for m in to("n1", w1)]
    assert bob.read(n1, "question") == "?"
    w2 = bob.write(n1, "answer", "!")  # depends on w1
    for m in to("n2", w2):
        assert n2.handle(m, T0) == []
    assert carol.read(n2, "answer") == ErrorCode.KEY_DOES_NOT_EXIST  # buffered, not visible
    assert kv(n2).pending_count == 1
    for m in to("n2", w1) * 2:  # the dependency arrives (twice)
        n2.handle(m, T0)
    assert carol.read(n2, "question") == "?" and carol.read(n2, "answer") == "!"
    assert kv(n2).pending_count == 0 and kv(n2).clock == kv(n1).clock


def test_causally_later_writes_win_even_against_a_faster_clock() -> None:
    n0, n1 = node("n0", ("n0", "n1")), node("n1", ("n0", "n1"))
    alice, bob = Client("c1"), Client("c2")
    w1 = alice.write(n0, "k", "early", now_ms=T0 + 60_000)  # n0's clock runs a minute ahead
    [n1.handle(m, T0) for m in w1]
    w2 = bob.write(n1, "k", "late", now_ms=T0)  # after reading n0's write: must win everywhere
    [n0.handle(m, T0 + 60_000) for m in w2]
    assert alice.read(n0, "k") == bob.read(n1, "k") == "late"


def test_concurrent_writes_resolve_the_same_everywhere() -> None:
    n0, n1 = node("n0", ("n0", "n1")), node("n1", ("n0", "n1"))
    w0 = Client("c1").write(n0, "k", "zero", now_ms=T0 + 1)
    w1 = Client("c2").write(n1, "k", "one", now_ms=T0 + 2)
    [n1.handle(m, T0 + 3) for m in w0]
    [n0.handle(m, T0 + 3) for m in w1]
    assert Client("c3").read(n0, "k") == Client("c4").read(n1, "k") == "one"
    assert kv(n0).keyspace.table == kv(n1).keyspace.table


def test_anti_entropy_resends_lost_writes() -> None:
    n0, n1 = node("n0", ("n0", "n1")), node("n1", ("n0", "n1"))
    for k in range(3):
        Client("c1").write(n0, k, k)  # every push is lost
    [sync] = n0.tick(T0 + 5_000)
    assert sync.body["type"] == CAUSAL_SYNC.type
    [back] = n1.handle(sync, T0 + 5_000)  # n1 is behind: it syncs back once
    assert back.body["type"] == CAUSAL_SYNC.type and back.body["reply"] is True
    [writes] = n0.handle(back, T0 + 5_000)
    assert writes.body["type"] == CAUSAL_WRITES.type and len(writes.body["writes"]) == 3
    assert n1.handle(writes, T0 + 5_000) == []
    assert [Client("c2").read(n1, k) for k in range(3)] == [0, 1, 2]
    assert n1.handle(sync, T0 + 5_001) == []  # in sync now: nothing to say


def test_no_repair_goes_to_a_peer_whose_link_holds_a_backlog_and_a_repair_is_bounded() -> None:
    n0, n1 = node("n0", ("n0", "n1")), node("n1", ("n0", "n1"))
    for k in range(30):
        Client("c1").write(n0, k, k)  # every push is lost (or still queued for n1)
    [sync] = n0.tick(T0 + 5_000)
    [back] = n1.handle(sync, T0 + 5_000)
    kv(n0).peer_ready = lambda peer: False  # the link to n1 still holds a backlog
    assert n0.handle(back, T0 + 5_000) == []  # what n1 lacks is on its way: nothing resent
    kv(n0).peer_ready = lambda peer: True
    [writes] = n0.handle(back, T0 + 5_000)
    assert len(writes.body["writes"]) == 30


def test_a_repair_stops_near_the_entry_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("nodes.causal.ENTRIES_PER_MESSAGE_MAX", 10)
    n0, n1 = node("n0", ("n0", "n1")), node("n1", ("n0", "n1"))
    for k in range(30):
        Client("c1").write(n0, k, k)
    [sync] = n0.tick(T0 + 5_000)
    [back] = n1.handle(sync, T0 + 5_000)
    [writes] = n0.handle(back, T0 + 5_000)
    assert len(writes.body["writes"]) == 10  # one entry each: the rest next round
    n1.handle(writes, T0 + 5_000)
    assert [Client("c2").read(n1, k) for k in range(10)] == list(range(10))


def test_collected_log_falls_back_to_a_snapshot_for_a_restarted_peer() -> None:
    ids = ("n0", "n1")
    n0, n1 = node("n0", ids), node("n1", ids)
    for k in range(3):
        for m in Client("c1").write(n0, k, k):
            n1.handle(m, T0)
    [sync1] = n1.tick(T0 + 5_000)
    assert n0.handle(sync1, T0 + 5_000) == []
    assert all(not log for log in kv(n0).log.values())  # every peer has it all: collected
    fresh = node("n1", ids, seed=1)  # n1 restarted with empty memory and a new incarnation
    assert kv(fresh).origin != kv(n1).origin
    [sync0] = n0.tick(T0 + 10_000)
    [back] = fresh.handle(sync0, T0 + 10_000)
    [snap] = n0.handle(back, T0 + 10_000)
    assert snap.body["type"] == CAUSAL_SNAPSHOT.type and kv(n0).snapshots_sent == 1
    fresh.handle(snap, T0 + 10_000)
    assert [Client("c2").read(fresh, k) for k in range(3)] == [0, 1, 2]
    assert kv(fresh).clock == kv(n0).clock
    [m] = Client("c2").write(fresh, 0, "new")  # the new incarnation numbers from 1 again
    n0.handle(m, T0 + 10_001)
    assert Client("c1").read(n0, 0) == "new"


def test_a_moved_client_waits_for_its_own_writes() -> None:
    ids = ("n0", "n1")
    n0, n1 = node("n0", ids), node("n1", ids)
    alice = Client("c1")
    lost = alice.write(n0, "k", "mine")  # the push to n1 is delayed
    [sync] = n0.tick(T0 + 1_000)  # but the session record travels with the sync
    assert sync.body["sessions"] == {"c1": kv(n0).clock.to_json()}
    n1.handle(sync, T0 + 1_000)
    out, msg_id = alice.send(n1, {"type": "read", "key": "k"}, T0 + 1_001)
    assert alice.answers == [] and len(kv(n1).waiting) == 1  # not visible yet: wait
    answered = [roundtrip(m) for m in n1.handle(lost[0], T0 + 1_002)]
    assert [m.body for m in answered] == [{"type": "read_ok", "value": "mine", "in_reply_to": msg_id}]


def test_a_session_that_cannot_catch_up_fails_definitely() -> None:
    n1 = node("n1", ("n0", "n1"))
    kv(n1).sessions["c9"] = VectorClock.of({"n0:00000001": 4})
    bob = Client("c9")
    bob.send(n1, {"type": "write", "key": "k", "value": 1}, T0)
    assert bob.answers == []
    [reply] = [m for m in n1.tick(T0 + 10_000) if m.dest == "c9"]
    assert_error(reply.body, ErrorCode.TEMPORARILY_UNAVAILABLE, bob.msg_id)
    assert Client("c1").read(n1, "k") == ErrorCode.KEY_DOES_NOT_EXIST  # nothing was written


def test_write_wire_form_roundtrips_and_is_validated() -> None:
    n0 = node("n0", ("n0", "n1"))
    [push] = Client("c1").write(n0, "k", {"a": [1]})
    [data] = push.body["writes"]
    w = CausalWrite.from_json(data)
    assert w.to_json() == data and w.seq == 1 and w.client == "c1"
    n1 = node("n1", ("n0", "n1"))
    for bad in ({**data, "seq": 2}, {**data, "origin": 3}, {**data, "client": 5}, {**data, "deps": []}, 7):
        [reply] = n1.handle(Message("n0", "n1", {"type": "causal_writes", "writes": [bad], "msg_id": 3}), T0)
        assert_error(reply.body, ErrorCode.MALFORMED_REQUEST, 3)
    assert kv(n1).pending_count == 0 and not kv(n1).applied


@pytest.mark.parametrize("order", [[0, 1, 2, 3], [3, 2, 1, 0], [2, 0, 3, 1]])
def test_any_delivery_order_gives_the_same_state(order: list[int]) -> None:
    n0, n1 = node("n0"), node("n1")
    alice = Client("c1")
    pushes = [to("n2", alice.write(n0 if k % 2 == 0 else n1, "k", k))[0] for k in range(2)]
    pushes += [to("n2", alice.write(n0, "j", k))[0] for k in range(2)]
    # n1's write did not reach n0, so n0's later writes are concurrent with it
    n2 = node("n2")
    for i in order:
        n2.handle(pushes[i], T0)
    assert kv(n2).pending_count == 0
    assert Client("c2").read(n2, "j") == 1
