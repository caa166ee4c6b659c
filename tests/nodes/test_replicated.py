"""ReplicatedNode in every mode, driven directly: config, workloads, spanning tree, convergence.

The convergence tests run `ReplicatedNode` cores on virtual time through the
pure network model of the harness (`maelstrom.net.NetModel`: latency,
partitions as grudges, loss, duplication), then heal and require every
replica to hold the same value for every key.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from typing import Any

import pytest

from crdt.replication.typed.codec import CODEC
from maelstrom.net import NetConfig, NetModel
from nodes import workload_handlers as w
from nodes.causal import CausalKv
from nodes.eventual import EventualKv
from nodes.replicated import BROADCAST_BATCH_MS, ReplicatedConfig, ReplicatedNode
from protocol.maelstrom_json import Message
from tests.nodes.helpers_nodes import Net

T0 = 1_000_000
LOCAL_MODES = ("eventual", "causal")


def cluster(n: int, mode: str = "eventual", seed: int = 0, **knobs: Any) -> Net:
    ids = [f"n{i}" for i in range(n)]
    net = Net({i: ReplicatedNode(rng=random.Random(seed * 100 + k), config=ReplicatedConfig(mode=mode, **knobs),
                                 now_ms=T0) for k, i in enumerate(ids)}, now_ms=T0)
    net.init_all()
    return net


def grid(ids: list[str]) -> dict[str, list[str]]:
    """Maelstrom's grid topology."""
    side = math.ceil(math.sqrt(len(ids)))
    topo: dict[str, list[str]] = {}
    for k, me in enumerate(ids):
        i, j = divmod(k, side)
        nbrs = [(i + 1, j), (i - 1, j), (i, j + 1), (i, j - 1)]
        topo[me] = [ids[a * side + b] for a, b in nbrs if 0 <= a and 0 <= b < side and a * side + b < len(ids)]
    return topo


# --- config and wiring -----------------------------------------------------------------------------


def test_config_rejects_unknown_mode_and_workload() -> None:
    with pytest.raises(ValueError, match="mode"):
        ReplicatedConfig(mode="weird")
    with pytest.raises(ValueError, match="workload"):
        ReplicatedConfig(workload="kafka-streams")


@pytest.mark.parametrize("mode,kind", [("eventual", EventualKv), ("causal", CausalKv)])
def test_mode_picks_the_kv_handler(mode: str, kind: type) -> None:
    node = ReplicatedNode(rng=random.Random(1), config=ReplicatedConfig(mode=mode))
    assert isinstance(node.kv, kind)


def test_strong_mode_uses_strong_kv() -> None:
    strong = pytest.importorskip("nodes.strong")
    node = ReplicatedNode(rng=random.Random(1), config=ReplicatedConfig(mode="strong"))
    assert isinstance(node.kv, strong.StrongKv)


@pytest.mark.parametrize("mode", LOCAL_MODES)
def test_every_node_answers_lin_kv_and_converges(mode: str) -> None:
    net = cluster(3, mode)
    assert net.request("c1", "n0", {"type": "write", "key": 1, "value": 3})["type"] == "write_ok"
    assert net.request("c2", "n1", {"type": "read", "key": 1}) == {"type": "read_ok", "value": 3, "in_reply_to": 1}
    assert net.request("c2", "n2", {"type": "cas", "key": 1, "from": 3, "to": 4})["type"] == "cas_ok"
    assert net.request("c2", "n2", {"type": "cas", "key": 1, "from": 3, "to": 5})["code"] == 22
    assert net.request("c2", "n1", {"type": "cas", "key": 2, "from": 3, "to": 5})["code"] == 20
    assert net.request("c2", "n1", {"type": "read", "key": 2})["code"] == 20
    for i in net.cores:
        assert net.request("c3", i, {"type": "read", "key": 1})["value"] == 4


@pytest.mark.parametrize("mode", LOCAL_MODES)
def test_both_sides_of_a_partition_answer_then_agree(mode: str) -> None:
    net = cluster(2, mode)
    net.cut("n0", "n1")
    net.request("c1", "n0", {"type": "write", "key": "k", "value": "left"})
    net.advance(net.now_ms + 5)
    net.request("c2", "n1", {"type": "write", "key": "k", "value": "right"})  # later HLC timestamp
    assert net.request("c1", "n0", {"type": "read", "key": "k"})["value"] == "left"
    assert net.request("c2", "n1", {"type": "read", "key": "k"})["value"] == "right"
    net.heal()
    net.advance(net.now_ms + 3_000)  # anti-entropy rounds repair what the cut dropped
    assert [net.request("c3", i, {"type": "read", "key": "k"})["value"] for i in net.cores] == ["right", "right"]


@pytest.mark.parametrize("mode", LOCAL_MODES)
def test_idle_nodes_stay_silent(mode: str) -> None:
    net = cluster(3, mode)
    before = net.delivered
    net.advance(net.now_ms + 5_000)
    assert net.delivered == before


# --- CRDT workloads and broadcast in every mode ------------------------------------------------------


@pytest.mark.parametrize("mode", LOCAL_MODES)
def test_gset_and_counters_converge_after_a_partition(mode: str) -> None:
    net = cluster(3, mode)
    net.cut("n0", "n1")
    net.cut("n0", "n2")
    for k in range(6):
        net.request("c1", f"n{k % 3}", {"type": "add", "element": k})
        net.request("c1", f"n{k % 3}", {"type": "add", "delta": k - 2})
    net.advance(net.now_ms + 1_500)
    assert net.request("c1", "n0", {"type": "add", "element": 99})["type"] == "add_ok"
    net.heal()
    net.advance(net.now_ms + 2_500)
    for i in net.cores:
        net.cores[i].selector.configured = "g-set"
        assert net.request("c2", i, {"type": "read"})["value"] == [0, 1, 2, 3, 4, 5, 99]
        net.cores[i].selector.configured = "pn-counter"
        assert net.request("c2", i, {"type": "read"})["value"] == sum(k - 2 for k in range(6))


def test_spanning_tree_of_a_grid_is_a_shallow_tree() -> None:
    ids = [f"n{i}" for i in range(25)]
    tree = w.spanning_tree(grid(ids), ids)
    assert tree is not None
    edges = {frozenset((a, b)) for a, nbrs in tree.items() for b in nbrs}
    assert len(edges) == 24  # a tree: n - 1 edges, all of them grid edges
    topo = grid(ids)
    assert all(b in topo[a] for a, nbrs in tree.items() for b in nbrs)
    assert all(a in tree[b] for a, nbrs in tree.items() for b in nbrs)  # symmetric
    assert tree["n12"] == ("n7", "n11", "n13", "n17")  # rooted at the centre
    reached, frontier = {"n0"}, ["n0"]
    while frontier:
        frontier = [b for a in frontier for b in tree[a] if b not in reached and not reached.add(b)]
    assert reached == set(ids)


def test_spanning_tree_forest_and_gaps() -> None:
    ids = ["a", "b", "c", "d"]
    assert w.spanning_tree({"a": ["b"], "c": ["d"]}, ids) == {"a": ("b",), "b": ("a",), "c": ("d",), "d": ("c",)}
    assert w.spanning_tree({"a": ["b"], "b": ["c"]}, ids) is None  # d has no link
    assert w.spanning_tree({}, ["a"]) == {"a": ()}


def _broadcast_gossip_count(mode: str, **knobs: Any) -> int:
    net = cluster(9, mode, **knobs)
    ids = list(net.cores)
    topo = grid(ids)
    for i in ids:
        net.request("c1", i, {"type": "topology", "topology": topo})
    before = net.delivered
    for k in range(20):
        net.request("c1", ids[(k * 5) % 9], {"type": "broadcast", "message": k})
        net.advance(net.now_ms + 20)
    net.advance(net.now_ms + 10 * BROADCAST_BATCH_MS)
    gossip = net.delivered - before - 2 * 20
    for i in ids:
        assert net.request("c2", i, {"type": "read"})["messages"] == list(range(20))
        assert set(net.cores[i].broadcast.targets()) <= set(topo[i])
    return gossip


@pytest.mark.parametrize("mode", LOCAL_MODES)
def test_broadcast_reaches_every_node_along_the_tree_with_batches(mode: str) -> None:
    batched = _broadcast_gossip_count(mode)
    flooded = _broadcast_gossip_count(mode, broadcast_batch_ms=0, broadcast_tree=False)
    # Flooding: an RPC and its ack per message and directed grid edge (but the one it came
    # from); the tree has 8 of the 12 edges, and a batch carries many messages.
    assert flooded >= 2 * 20 * (24 - 8), flooded
    assert batched * 4 < flooded, (batched, flooded)


@pytest.mark.parametrize("mode", LOCAL_MODES)
def test_broadcast_retries_across_a_partition(mode: str) -> None:
    net = cluster(3, mode)
    line = {"n0": ["n1"], "n1": ["n0", "n2"], "n2": ["n1"]}
    for i in net.cores:
        net.request("c1", i, {"type": "topology", "topology": line})
    net.cut("n1", "n2")
    for k in range(5):
        net.request("c1", "n0", {"type": "broadcast", "message": k})
    net.advance(net.now_ms + 3_000)
    assert net.request("c1", "n2", {"type": "read"})["messages"] == []
    net.heal()
    net.advance(net.now_ms + 2_000)
    assert net.request("c1", "n2", {"type": "read"})["messages"] == list(range(5))
    assert not any(net.cores[i].broadcast.unacked.get(j) for i in net.cores for j in net.cores)


# --- convergence through the harness's network model -----------------------------------------------------


class Sim:
    """ReplicatedNode cores and clients on virtual time, joined by a `NetModel`."""

    def __init__(self, mode: str, n: int, seed: int, config: NetConfig) -> None:
        rng = random.Random(seed)
        self.ids = [f"n{i}" for i in range(n)]
        self.net = NetModel(config, random.Random(rng.getrandbits(32)), self.ids)
        self.cores = {i: ReplicatedNode(rng=random.Random(rng.getrandbits(32)),
                                        config=ReplicatedConfig(mode=mode), now_ms=T0) for i in self.ids}
        self.now = T0
        self.inbox: dict[str, list[Message]] = {}
        self.msg_ids: dict[str, int] = {}
        for i in self.ids:
            self.net.register(i)
        for k, i in enumerate(self.ids):
            self.request(f"c-init{k}", i, {"type": "init", "node_id": i, "node_ids": self.ids})
        self.run(self.now + 1)

    def request(self, client: str, dest: str, body: dict[str, Any]) -> int:
        if client not in self.inbox:
            self.net.register(client)
            self.inbox[client] = []
        msg_id = self.msg_ids.get(client, 0) + 1
        self.msg_ids[client] = msg_id
        self.net.send(Message(client, dest, {**body, "msg_id": msg_id}), self.now)
        return msg_id

    def run(self, until: int) -> None:
        while True:
            times = [t for t in [self.net.next_deadline_ms(),
                                 *(c.next_deadline_ms() for c in self.cores.values())] if t is not None]
            if not times or min(times) > until:
                break
            self.now = max(self.now, math.ceil(min(times)))
            for env in self.net.deliver_due(self.now):
                core = self.cores.get(env.msg.dest)
                if core is None:
                    self.inbox[env.msg.dest].append(env.msg)
                else:
                    self._emit(core.handle(env.msg, self.now))
            for core in self.cores.values():
                due = core.next_deadline_ms()
                if due is not None and due <= self.now:
                    self._emit(core.tick(self.now))
        self.now = max(self.now, until)

    def _emit(self, out: list[Message]) -> None:
        for m in out:
            self.net.send(m, self.now)

    def answer(self, client: str, msg_id: int) -> dict[str, Any]:
        [reply] = [m.body for m in self.inbox[client] if m.body.get("in_reply_to") == msg_id]
        return reply


def _random_grudge(rng: random.Random, ids: list[str]) -> dict[str, frozenset[str]]:
    shuffled = ids[:]
    rng.shuffle(shuffled)
    cut = rng.randrange(1, len(ids))
    left, right = set(shuffled[:cut]), set(shuffled[cut:])
    return {n: frozenset(right if n in left else left) for n in ids}


def live_contents(table: Any) -> dict[Any, Any]:
    """Each key's live dots and values (what it reads, and which writes made it so)."""
    return {e.ref: e.crdt.store.entries_json(CODEC) for e in table.items() if e.crdt.store.entries}


def _faulty_then_healed(mode: str, seed: int, ops: Callable[[Sim, random.Random, int], None]) -> Sim:
    sim = Sim(mode, 4, seed, NetConfig(latency_ms=5, latency_dist="exponential", loss_rate=0.2,
                                       duplicate_rate=0.2))
    rng = random.Random(seed)
    for step in range(60):  # 6 s of faults: partitions changing every 0.5 s
        if step % 5 == 0:
            if rng.random() < 0.7:
                sim.net.partition(_random_grudge(rng, sim.ids))
            else:
                sim.net.heal()
        ops(sim, rng, step)
        sim.run(sim.now + 100)
    sim.net.heal()
    sim.net.set_flaky(loss_rate=0.0, duplicate_rate=0.0)
    sim.run(sim.now + 4_000)  # a few anti-entropy rounds
    return sim


@pytest.mark.parametrize("mode", LOCAL_MODES)
@pytest.mark.parametrize("seed", [1, 2])
def test_lin_kv_replicas_converge_after_partitions_loss_and_duplication(mode: str, seed: int) -> None:
    keys = [0, 1, 2, "x"]
    sent: list[tuple[str, int]] = []

    def ops(sim: Sim, rng: random.Random, step: int) -> None:
        for _ in range(4):
            client = f"c{rng.randrange(6)}"
            node = sim.ids[int(client[1:]) % len(sim.ids)]  # clients stick to a node, as in Maelstrom
            key = rng.choice(keys)
            if rng.random() < 0.5:
                body = {"type": "write", "key": key, "value": rng.randrange(5)}
            else:
                body = {"type": "cas", "key": key, "from": rng.randrange(5), "to": rng.randrange(5)}
            sent.append((client, sim.request(client, node, body)))

    sim = _faulty_then_healed(mode, seed, ops)
    # Every request got exactly one answer, ok or a definite cas failure: every side answers.
    for client, msg_id in sent:
        assert sim.answer(client, msg_id)["type"] in ("write_ok", "cas_ok", "error")
    reads: dict[str, list[Any]] = {}
    for i in sim.ids:
        ids = [sim.request("c-check", i, {"type": "read", "key": k}) for k in keys]
        sim.run(sim.now + 1)
        reads[i] = [sim.answer("c-check", m).get("value") for m in ids]
    assert len({repr(v) for v in reads.values()}) == 1, reads
    assert any(v is not None for v in reads["n0"])
    # Every key holds the same live dots everywhere (contexts may differ by what GC folded when).
    contents = [live_contents(sim.cores[i].kv.keyspace.table) for i in sim.ids]
    assert all(c == contents[0] for c in contents) and contents[0]


@pytest.mark.parametrize("mode", LOCAL_MODES)
def test_crdt_workloads_converge_after_partitions_loss_and_duplication(mode: str) -> None:
    added: list[int] = []
    total = 0

    def ops(sim: Sim, rng: random.Random, step: int) -> None:
        nonlocal total
        node = rng.choice(sim.ids)
        sim.request("c1", node, {"type": "add", "element": step})
        added.append(step)
        delta = rng.randrange(-5, 5)
        sim.request("c2", node, {"type": "add", "delta": delta})
        total += delta

    sim = _faulty_then_healed(mode, 3, ops)
    for i in sim.ids:
        assert sim.cores[i].gset.set.to_json() == added
        assert sim.cores[i].counter.value == total  # INCRBY on the typed keyspace


@pytest.mark.parametrize("mode", LOCAL_MODES)
def test_same_seed_same_run(mode: str) -> None:
    def run(seed: int) -> tuple[Any, ...]:
        def ops(sim: Sim, rng: random.Random, step: int) -> None:
            sim.request("c1", rng.choice(sim.ids), {"type": "write", "key": step % 3, "value": step})

        sim = _faulty_then_healed(mode, seed, ops)
        return (sim.net.stats_dict(1), sim.cores["n0"].kv.keyspace.table, sim.now)

    assert run(4) == run(4)
