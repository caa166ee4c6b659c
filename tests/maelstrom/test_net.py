"""NetModel: latency, client traffic, partitions at dequeue, loss, duplication, stats."""

from __future__ import annotations

import random

import orjson
import pytest

from maelstrom.net import NetConfig, NetModel, draw_latency_ms, is_client
from protocol.maelstrom_json import Message

NODES = ("n0", "n1", "n2")


def make(config: NetConfig = NetConfig(), seed: int = 1, journal: list | None = None) -> NetModel:
    net = NetModel(config, random.Random(seed), NODES,
                   (lambda line: journal.append(orjson.loads(line))) if journal is not None else None)
    for x in (*NODES, "c0", "c1", "lin-kv"):
        net.register(x)
    return net


def msg(src: str, dest: str, t: str = "x", **kw: object) -> Message:
    return Message(src, dest, {"type": t, **kw})


def test_is_client() -> None:
    assert is_client("c12") and not is_client("n1") and not is_client("lin-kv")


@pytest.mark.parametrize("dist", ["constant", "uniform", "exponential"])
def test_latency_distributions(dist: str) -> None:
    cfg = NetConfig(latency_ms=10, latency_dist=dist)  # type: ignore[arg-type]
    rng = random.Random(7)
    draws = [draw_latency_ms(cfg, rng) for _ in range(4000)]
    assert all(isinstance(d, int) and d >= 0 for d in draws)
    mean = sum(draws) / len(draws)
    if dist == "constant":
        assert set(draws) == {10}
    elif dist == "uniform":
        assert max(draws) < 20 and 8 < mean < 10.5  # truncation lowers the mean by ~0.5
    else:
        assert 8 < mean < 11 and max(draws) > 30


def test_zero_mean_never_divides() -> None:
    for dist in ("constant", "uniform", "exponential"):
        assert draw_latency_ms(NetConfig(0, dist), random.Random(1)) == 0  # type: ignore[arg-type]


def test_bad_config_rejected() -> None:
    with pytest.raises(ValueError):
        NetConfig(latency_dist="pareto")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        NetConfig(loss_rate=1.5)


def test_client_traffic_has_zero_latency_but_nodes_do_not() -> None:
    net = make(NetConfig(latency_ms=50))
    a = net.send(msg("c0", "n0"), 100.0)
    b = net.send(msg("n0", "n1"), 100.0)
    c = net.send(msg("n0", "lin-kv"), 100.0)
    assert a.deliver_at_ms == 100.0
    assert b.deliver_at_ms == 150.0 and c.deliver_at_ms == 150.0
    assert net.next_deadline_ms() == 100.0
    assert [e.id for e in net.deliver_due(100.0)] == [a.id]
    assert [e.id for e in net.deliver_due(150.0)] == [b.id, c.id]
    assert net.next_deadline_ms() is None


def test_ids_are_global_and_wire_carries_id() -> None:
    net = make()
    e0 = net.send(msg("c0", "n0"), 0)
    e1 = net.send(msg("c1", "n1"), 0)
    assert (e0.id, e1.id) == (0, 1)
    assert e1.wire() == {"id": 1, "src": "c1", "dest": "n1", "body": {"type": "x"}}


def test_fifo_for_equal_deadlines() -> None:
    net = make()
    ids = [net.send(msg("n1", "n0", n=i), 5.0).id for i in range(5)]
    assert [e.id for e in net.deliver_due(5.0)] == ids


def test_client_overtakes_delayed_node_traffic() -> None:
    net = make(NetConfig(latency_ms=20))
    slow = net.send(msg("n1", "n0"), 0.0)
    fast = net.send(msg("c0", "n0"), 1.0)
    assert [e.id for e in net.deliver_due(25.0)] == [fast.id, slow.id]


def test_unknown_endpoints_raise() -> None:
    net = make()
    with pytest.raises(KeyError, match="destination 'n9'"):
        net.send(msg("n0", "n9"), 0)
    with pytest.raises(KeyError, match="source 'c7'"):
        net.send(msg("c7", "n0"), 0)
    net.unregister("c0")
    with pytest.raises(KeyError):
        net.send(msg("n0", "c0"), 0)


def test_journal_lines_are_the_full_records() -> None:
    lines: list[bytes] = []
    net = NetModel(NetConfig(latency_ms=10), random.Random(1), NODES, lines.append)
    for x in (*NODES, "c0"):
        net.register(x)
    body = {"type": "write", "key": 1, "value": [1, "\u00e9"], "msg_id": 4}
    first = net.send(Message("c0", "n0", body), 1.5)
    # a node's own stdout line is spliced in as it is, without encoding the message again
    wire = b'{"src":"n0","dest":"n1","body":{"type":"x"}}\n'
    second = net.send(Message("n0", "n1", {"type": "x"}), 2.0, wire)
    net.partition({"n1": frozenset({"n0"})})
    net.deliver_due(20.0)
    assert all(line.endswith(b"\n") and line.count(b"\n") == 1 for line in lines)
    assert [orjson.loads(line) for line in lines] == [
        {"time": 1_500_000, "event": "send", "id": first.id, "src": "c0", "dest": "n0", "body": body},
        {"time": 2_000_000, "event": "send", "id": second.id, "src": "n0", "dest": "n1", "body": {"type": "x"}},
        {"time": 20_000_000, "event": "recv", "id": first.id, "src": "c0", "dest": "n0", "body": body},
        {"time": 20_000_000, "event": "drop", "id": second.id, "src": "n0", "dest": "n1", "body": {"type": "x"},
         "reason": "partition"},
    ]


def test_duplicates_get_their_own_copy_when_the_driver_asks() -> None:
    net = make(NetConfig(latency_ms=10, duplicate_rate=1.0))
    net.clone = lambda m: Message(m.src, m.dest, dict(m.body))
    sent = msg("n0", "n1", n=1)
    net.send(sent, 0.0)
    got = net.deliver_due(100.0)
    assert [e.id for e in got] == [got[0].id] * 2
    assert got[0].msg.body == got[1].msg.body == sent.body
    assert got[0].msg is not got[1].msg


def test_partition_checked_at_dequeue_and_journaled_as_drop() -> None:
    journal: list = []
    net = make(NetConfig(latency_ms=10), journal=journal)
    in_flight = net.send(msg("n1", "n0"), 0.0)
    net.partition({"n0": frozenset({"n1"})})  # cut after the send
    assert net.deliver_due(10.0) == []
    assert [j["event"] for j in journal] == ["send", "drop"]
    assert journal[-1]["id"] == in_flight.id and journal[-1]["reason"] == "partition"
    # one-directional: n0 -> n1 still flows
    back = net.send(msg("n0", "n1"), 10.0)
    assert [e.id for e in net.deliver_due(20.0)] == [back.id]
    net.heal()
    again = net.send(msg("n1", "n0"), 20.0)
    assert [e.id for e in net.deliver_due(30.0)] == [again.id]


def test_partitions_never_touch_clients_or_services() -> None:
    net = make()
    net.partition({"n0": frozenset({"c0", "lin-kv", "n1"}), "c0": frozenset({"n0"})})
    assert net.grudge == {"n0": frozenset({"n1"})}
    sent = [net.send(msg("c0", "n0"), 0).id, net.send(msg("lin-kv", "n0"), 0).id,
            net.send(msg("n0", "c0"), 0).id]
    assert sorted(e.id for e in net.deliver_due(0)) == sent


def test_loss_applies_only_between_nodes() -> None:
    net = make(NetConfig(loss_rate=1.0))
    net.send(msg("n0", "n1"), 0)
    c = net.send(msg("c0", "n1"), 0)
    s = net.send(msg("n0", "lin-kv"), 0)
    assert sorted(e.id for e in net.deliver_due(0)) == [c.id, s.id]
    assert net.stats["all"].send_count == 3 and net.stats["all"].recv_count == 2


def test_duplication_delivers_same_id_twice() -> None:
    net = make(NetConfig(latency_ms=5, latency_dist="uniform", duplicate_rate=1.0))
    e = net.send(msg("n0", "n1"), 0)
    got = net.deliver_due(100)
    assert [g.id for g in got] == [e.id, e.id]
    assert net.stats["all"].as_dict() == {"send-count": 1, "recv-count": 2, "msg-count": 1}


def test_set_flaky_changes_rates_at_runtime() -> None:
    net = make()
    net.set_flaky(loss_rate=1.0)
    net.send(msg("n0", "n1"), 0)
    assert net.deliver_due(0) == []
    net.set_flaky(loss_rate=0.0)
    net.send(msg("n0", "n1"), 0)
    assert len(net.deliver_due(0)) == 1


def test_hold_and_release() -> None:
    net = make()
    e = net.send(msg("c0", "n0"), 0)
    net.hold("n0")
    assert net.next_deadline_ms() is None and net.deliver_due(10) == []
    assert net.in_flight() == 1
    net.release("n0")
    assert [x.id for x in net.deliver_due(10)] == [e.id]


def test_stats_dict_classes() -> None:
    net = make()
    net.send(msg("c0", "n0"), 0)
    net.send(msg("n0", "n1"), 0)
    net.send(msg("n0", "lin-kv"), 0)
    net.deliver_due(0)
    s = net.stats_dict(invoke_count=1)
    assert s["clients"] == {"send-count": 1, "recv-count": 1, "msg-count": 1}
    assert s["servers"]["msg-count"] == 2 and s["servers"]["msgs-per-op"] == 2.0
    assert s["all"]["msgs-per-op"] == 3.0 and s["valid"] is True


def test_same_seed_same_schedule() -> None:
    def run(seed: int) -> list[float]:
        net = make(NetConfig(latency_ms=10, latency_dist="exponential", loss_rate=0.3), seed)
        return [net.send(msg("n0", "n1"), float(i)).deliver_at_ms for i in range(50)]

    assert run(3) == run(3) and run(3) != run(4)
