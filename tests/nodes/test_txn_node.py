"""The single node's txn handler (one MULTI/EXEC per txn) and the replicated node's, per mode."""

from __future__ import annotations

import random
from typing import Any

import pytest

from nodes.core import DurableStore
from nodes.replicated import ReplicatedConfig, ReplicatedNode
from nodes.single import SingleNode
from protocol.maelstrom_json import Message
from tests.nodes.helpers_nodes import roundtrip

T0 = 1_000


def single(me: str = "n0", ids: tuple[str, ...] = ("n0",),
           durable: DurableStore | None = None) -> SingleNode:
    core = SingleNode(rng=random.Random(3), now_ms=T0)
    if durable is not None:
        core.durable = durable
    core.handle(Message("c0", me, {"type": "init", "msg_id": 1, "node_id": me,
                                   "node_ids": list(ids)}), T0)
    return core


def txn(core: Any, ops: list[list[Any]], msg_id: int = 7) -> dict[str, Any]:
    [reply] = [roundtrip(m) for m in core.handle(
        roundtrip(Message("c1", core.node_id, {"type": "txn", "msg_id": msg_id, "txn": ops})), T0)]
    return dict(reply.body)


def test_list_append_reads_see_earlier_appends_and_missing_keys_are_null() -> None:
    n = single()
    body = txn(n, [["r", 1, None], ["append", 1, 1], ["append", 1, 2], ["r", 1, None],
                   ["r", 2, None]])
    assert body == {"type": "txn_ok", "in_reply_to": 7,
                    "txn": [["r", 1, None], ["append", 1, 1], ["append", 1, 2], ["r", 1, [1, 2]],
                            ["r", 2, None]]}
    assert txn(n, [["r", 1, None]])["txn"] == [["r", 1, [1, 2]]]


def test_rw_register_reads_the_last_write() -> None:
    n = single()
    assert txn(n, [["w", 3, 1], ["r", 3, None]])["txn"] == [["w", 3, 1], ["r", 3, 1]]
    assert txn(n, [["r", 3, None], ["w", 3, 2]])["txn"] == [["r", 3, 1], ["w", 3, 2]]
    assert txn(n, [["r", 3, None]])["txn"] == [["r", 3, 2]]


def test_stored_through_the_engine_as_redis_lists_and_strings() -> None:
    n = single()
    txn(n, [["append", 1, 5], ["w", "k", 9]])
    s = n.engine.open_session(T0)
    assert n.engine.execute([b"LRANGE", b"1", b"0", b"-1"], s, T0) == [b"5"]
    assert n.engine.execute([b"GET", b'"k"'], s, T0) == b"9"


@pytest.mark.parametrize("ops", [[], [["x", 1, 2]], [["append", [1], 2]], [["w", 1, None]],
                                 [["append", 1, [2]]], [["r", 1]]])
def test_malformed_txns_are_refused_definitely(ops: list[Any]) -> None:
    body = txn(single(), ops)
    assert body["type"] == "error" and body["code"] == 12


def test_a_write_of_the_wrong_type_aborts_before_anything_runs() -> None:
    n = single()
    txn(n, [["append", 1, 1]])
    body = txn(n, [["append", 2, 1], ["w", 1, 5]])
    assert body["type"] == "error" and body["code"] == 14
    assert txn(n, [["r", 1, None], ["r", 2, None]])["txn"] == [["r", 1, [1]], ["r", 2, None]]


def test_a_restart_takes_back_acknowledged_appends_and_writes() -> None:
    n = single()
    txn(n, [["append", 1, 1], ["w", 2, 7]])
    txn(n, [["append", 1, 2]])
    again = single(durable=DurableStore(n.durable.records))
    assert txn(again, [["r", 1, None], ["r", 2, None]])["txn"] == [["r", 1, [1, 2]], ["r", 2, 7]]


def test_other_nodes_forward_to_the_node_of_record() -> None:
    home, other = single("n0", ("n0", "n1")), single("n1", ("n0", "n1"))
    [fwd] = other.handle(Message("c1", "n1", {"type": "txn", "msg_id": 7,
                                              "txn": [["append", 1, 1], ["r", 1, None]]}), T0)
    assert fwd.dest == "n0"
    [answer] = home.handle(roundtrip(fwd), T0)
    [reply] = other.handle(roundtrip(answer), T0)
    assert reply.dest == "c1" and reply.body["txn"] == [["append", 1, 1], ["r", 1, [1]]]
    assert home.handle(roundtrip(fwd), T0) == []  # a duplicated forward is served once


@pytest.mark.parametrize("mode", ["eventual", "causal"])
def test_the_replicated_node_runs_a_txn_locally_and_pushes_its_writes(mode: str) -> None:
    core = ReplicatedNode(rng=random.Random(7), config=ReplicatedConfig(mode=mode), now_ms=T0)
    core.handle(Message("c0", "n0", {"type": "init", "msg_id": 1, "node_id": "n0",
                                     "node_ids": ["n0", "n1", "n2"]}), T0)
    out = [roundtrip(m) for m in core.handle(roundtrip(Message(
        "c1", "n0", {"type": "txn", "msg_id": 7, "txn": [["append", 1, 5], ["r", 1, None], ["w", 2, 3]]})), T0)]
    [reply] = [m for m in out if m.dest == "c1"]
    assert reply.body["txn"] == [["append", 1, 5], ["r", 1, [5]], ["w", 2, 3]]
    # both keys the transaction wrote are on their way to both peers (or, causal, at the next sync)
    peer = ReplicatedNode(rng=random.Random(8), config=ReplicatedConfig(mode=mode), now_ms=T0)
    peer.handle(Message("c0", "n1", {"type": "init", "msg_id": 1, "node_id": "n1",
                                     "node_ids": ["n0", "n1", "n2"]}), T0)
    to_peer = [m for m in out if m.dest == "n1"]
    t = T0
    while not to_peer:  # causal mode sends its writes with the next sync round
        t += 100
        to_peer = [roundtrip(m) for m in core.tick(t) if m.dest == "n1"]
        assert t < T0 + 60_000, "the writes never left"
    for m in to_peer:
        peer.handle(m, t)
    answer = txn(peer, [["r", 1, None], ["r", 2, None]])
    assert answer["txn"] == [["r", 1, [5]], ["r", 2, 3]]


@pytest.mark.parametrize("mode", ["eventual", "causal", "strong"])
def test_the_replicated_node_refuses_malformed_txns_and_wrong_types(mode: str) -> None:
    core = ReplicatedNode(rng=random.Random(7), config=ReplicatedConfig(mode=mode), now_ms=T0)
    core.handle(Message("c0", "n0", {"type": "init", "msg_id": 1, "node_id": "n0",
                                     "node_ids": ["n0"]}), T0)
    body = txn(core, [["incr", 1, 1]])
    assert body["type"] == "error" and body["code"] == 12
    assert txn(core, [["w", 1, 1]], msg_id=8)["type"] == "txn_ok"
    body = txn(core, [["append", 1, 2], ["w", 3, 1]], msg_id=9)  # one node: a strong round commits at once
    assert body["type"] == "error" and body["code"] == 14 and "holds a string" in body["text"]
    assert txn(core, [["r", 1, None], ["r", 3, None]], msg_id=10)["txn"] == [["r", 1, 1], ["r", 3, None]]
