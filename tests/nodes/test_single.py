"""SingleNode driven directly with Messages on virtual time: every workload, errors, closed schemas."""

from __future__ import annotations

import math
import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nodes import kv_engine as kv
from nodes import workload_handlers as w
from nodes.single import SingleConfig, SingleNode
from protocol.maelstrom_json import ErrorCode, Message
from protocol.replies import ErrorReply
from tests.nodes.helpers_nodes import Net, assert_closed_ok, assert_error, roundtrip

E = ErrorCode


def node(workload: str = "auto", seed: int = 0, ids: tuple[str, ...] = ("n1",),
         me: str | None = None) -> SingleNode:
    me = ids[0] if me is None else me
    core = SingleNode(rng=random.Random(seed), config=SingleConfig(workload=workload), now_ms=1_000)
    [reply] = core.handle(Message("c0", me, {"type": "init", "msg_id": 1, "node_id": me,
                                              "node_ids": list(ids)}), 1_000)
    assert reply.body == {"type": "init_ok", "in_reply_to": 1}
    return core


class Client:
    """Talks to one node, numbering requests and checking each answer is a single closed reply."""

    def __init__(self, core: SingleNode, name: str = "c1") -> None:
        self.core = core
        self.name = name
        self.msg_id = 0
        self.now_ms = 1_000

    def call(self, body: dict[str, Any]) -> dict[str, Any]:
        self.msg_id += 1
        out = self.core.handle(roundtrip(Message(self.name, self.core.node_id or "n1",
                                                 {**body, "msg_id": self.msg_id})), self.now_ms)
        [reply] = [roundtrip(m) for m in out if m.dest == self.name]
        assert reply.body["in_reply_to"] == self.msg_id
        return reply.body

    def ok(self, spec: w.Rpc, **fields: Any) -> dict[str, Any]:
        body = self.call({"type": spec.type, **fields})
        assert_closed_ok(body, spec, self.msg_id)
        return body

    def error(self, code: int, body: dict[str, Any]) -> dict[str, Any]:
        reply = self.call(body)
        assert_error(reply, code, self.msg_id)
        return reply


def cluster(n: int, seed: int = 0, workload: str = "auto") -> Net:
    ids = [f"n{i}" for i in range(n)]
    net = Net({i: SingleNode(rng=random.Random(seed * 100 + k), config=SingleConfig(workload=workload))
               for k, i in enumerate(ids)})
    net.init_all()
    return net


def grid(ids: list[str]) -> dict[str, list[str]]:
    """Maelstrom's default broadcast topology."""
    side = math.ceil(math.sqrt(len(ids)))
    topo: dict[str, list[str]] = {}
    for k, me in enumerate(ids):
        i, j = divmod(k, side)
        nbrs = [(i + 1, j), (i - 1, j), (i, j + 1), (i, j - 1)]
        topo[me] = [ids[a * side + b] for a, b in nbrs
                    if 0 <= a and 0 <= b < side and a * side + b < len(ids)]
    return topo


# --- echo and unique ids --------------------------------------------------------------------------


@pytest.mark.parametrize("payload", ["Please echo 7", 0, None, [1, {"a": [True, 2.5]}], {"x": "y"}])
def test_echo_returns_the_payload_in_a_closed_body(payload: Any) -> None:
    c = Client(node())
    assert c.ok(w.ECHO, echo=payload)["echo"] == payload


def test_unique_ids_across_nodes_and_restarts() -> None:
    seen: list[Any] = []
    for seed, node_id in [(1, "n1"), (2, "n2"), (3, "n1")]:  # the third is n1 restarted
        c = Client(node(seed=seed, ids=(node_id, "n1" if node_id == "n2" else "n2")))
        seen += [c.ok(w.GENERATE)["id"] for _ in range(200)]
    assert len(set(seen)) == len(seen) == 600


# --- broadcast ---------------------------------------------------------------------------------------


def test_broadcast_single_node_stores_and_reads() -> None:
    c = Client(node())
    c.ok(w.TOPOLOGY, topology={"n1": []})
    for m in [3, 1, 2, 1]:
        c.ok(w.BROADCAST, message=m)
    assert c.ok(w.BROADCAST_READ)["messages"] == [1, 2, 3]


def test_broadcast_read_before_any_message_after_topology() -> None:
    c = Client(node())
    c.ok(w.TOPOLOGY, topology={"n1": []})
    assert c.ok(w.BROADCAST_READ)["messages"] == []


def test_broadcast_gossips_along_a_grid_to_every_node() -> None:
    net = cluster(5)
    ids = list(net.cores)
    topo = grid(ids)
    for i in ids:
        assert net.request("c1", i, {"type": "topology", "topology": topo})["type"] == "topology_ok"
    for k in range(20):
        assert net.request("c1", ids[k % 5], {"type": "broadcast", "message": k})["type"] == "broadcast_ok"
    net.advance(net.now_ms + 100)
    for i in ids:
        assert net.request("c1", i, {"type": "read"})["messages"] == list(range(20))
    # Only neighbours were talked to.
    for i in ids:
        bc = net.cores[i].broadcast
        assert isinstance(bc, w.Broadcast) and set(bc.targets()) == set(topo[i])


def test_broadcast_survives_a_partition_by_retrying_until_acknowledged() -> None:
    net = cluster(3)
    ids = list(net.cores)
    line = {"n0": ["n1"], "n1": ["n0", "n2"], "n2": ["n1"]}
    for i in ids:
        net.request("c1", i, {"type": "topology", "topology": line})
    net.cut("n1", "n2")
    for k in range(5):
        net.request("c1", "n0", {"type": "broadcast", "message": k})
    net.advance(net.now_ms + 3_000)  # several gossip timeouts and retries while cut
    assert net.request("c1", "n2", {"type": "read"})["messages"] == []
    assert net.cores["n1"].broadcast.unacked["n2"] == set(range(5))
    net.heal()

    def converged() -> bool:
        return net.cores["n2"].broadcast.seen.to_json() == list(range(5))

    net.run_until(converged, limit_ms=2_000)
    net.run_until(lambda: not net.cores["n1"].broadcast.unacked["n2"], limit_ms=2_000)
    assert net.request("c1", "n2", {"type": "read"})["messages"] == list(range(5))


def _broadcast_run(seed: int) -> list[tuple[int, bytes]]:
    net = cluster(4, seed=seed)
    net.cut("n0", "n3")
    for k in range(8):
        net.request("c1", f"n{k % 4}", {"type": "broadcast", "message": k})
        net.advance(net.now_ms + 37)
    net.heal()
    net.advance(net.now_ms + 2_000)
    return net.trace


def test_same_seed_same_trace_different_seed_different_timing() -> None:
    assert _broadcast_run(5) == _broadcast_run(5)
    assert _broadcast_run(5) != _broadcast_run(6)


def test_broadcast_without_topology_gossips_to_all_peers() -> None:
    net = cluster(3)
    net.request("c1", "n0", {"type": "broadcast", "message": "hello"})
    net.advance(net.now_ms + 50)
    for i in net.cores:
        assert net.request("c1", i, {"type": "read"})["messages"] == ["hello"]


def test_topology_ignores_unknown_nodes_and_a_missing_entry() -> None:
    core = node(ids=("n1", "n2", "n3"))
    c = Client(core)
    c.ok(w.TOPOLOGY, topology={"n1": ["n2", "n9", "n2"]})
    assert core.broadcast.targets() == ("n2",)
    c.ok(w.TOPOLOGY, topology={"n2": ["n1"]})  # nothing for n1: keep the last neighbours
    assert core.broadcast.targets() == ("n2",)


# --- g-set and counters ---------------------------------------------------------------------------


def test_gset_add_and_read() -> None:
    c = Client(node())
    for e in [5, 1, 5, 3]:
        c.ok(w.GSET_ADD, element=e)
    assert c.ok(w.GSET_READ)["value"] == [1, 3, 5]


def test_counters_add_any_sign_and_read_the_sum() -> None:
    c = Client(node())
    for d in [4, -5, 0, 3, -1]:
        c.ok(w.COUNTER_ADD, delta=d)
    assert c.ok(w.COUNTER_READ)["value"] == 1


@pytest.mark.parametrize("workload,expected", [("g-set", []), ("g-counter", 0), ("pn-counter", 0)])
def test_configured_workload_answers_a_first_bare_read(workload: str, expected: Any) -> None:
    c = Client(node(workload))
    spec = w.GSET_READ if workload == "g-set" else w.COUNTER_READ
    assert c.ok(spec)["value"] == expected


def test_configured_broadcast_answers_a_first_bare_read() -> None:
    assert Client(node("broadcast")).ok(w.BROADCAST_READ)["messages"] == []


def test_bare_read_with_no_workload_known_is_a_definite_error() -> None:
    c = Client(node())
    text = c.error(E.TEMPORARILY_UNAVAILABLE, {"type": "read"})["text"]
    assert "--workload" in text


def test_gset_and_counter_converge_across_nodes_after_a_partition() -> None:
    net = cluster(3, seed=4)
    net.cut("n0", "n1")
    net.cut("n0", "n2")
    for k in range(6):
        node_id = f"n{k % 3}"
        net.request("c1", node_id, {"type": "add", "element": k})
        net.request("c2", node_id, {"type": "add", "delta": k - 2})
    net.advance(net.now_ms + 500)
    net.cores["n0"].selector.configured = "g-set"
    assert net.request("c1", "n0", {"type": "read"})["value"] == [0, 3]
    net.heal()
    net.advance(net.now_ms + 1_500)  # at least one anti-entropy round
    for i in net.cores:
        net.cores[i].selector.configured = "g-set"
        assert net.request("c1", i, {"type": "read"})["value"] == list(range(6))
        net.cores[i].selector.configured = "pn-counter"
        assert net.request("c2", i, {"type": "read"})["value"] == sum(k - 2 for k in range(6))


def test_bad_state_from_a_peer_is_refused_without_harm() -> None:
    core = node(ids=("n1", "n2"))
    out = core.handle(Message("n2", "n1", {"type": "gset_state", "state": [1, [2]]}), 0)
    assert out == [] and core.gset.set.to_json() == []
    [reply] = core.handle(Message("n2", "n1", {"type": "counter_state", "msg_id": 3,
                                               "state": {"p": {"n2": -1}, "n": {}}}), 0)
    assert_error(reply.body, E.MALFORMED_REQUEST, 3)
    core.handle(Message("n2", "n1", {"type": "counter_state", "state": {"p": {"n2": 4}, "n": {"n2": 1}}}), 0)
    assert core.counter.counter.value == 3


# --- lin-kv -----------------------------------------------------------------------------------------


def test_linkv_read_write_cas() -> None:
    c = Client(node())
    c.error(E.KEY_DOES_NOT_EXIST, {"type": "read", "key": 0})
    c.error(E.KEY_DOES_NOT_EXIST, {"type": "cas", "key": 0, "from": 1, "to": 2})
    c.ok(w.WRITE, key=0, value=1)
    assert c.ok(w.KV_READ, key=0)["value"] == 1
    c.ok(w.CAS, key=0, **{"from": 1, "to": 4})
    assert c.ok(w.KV_READ, key=0)["value"] == 4
    text = c.error(E.PRECONDITION_FAILED, {"type": "cas", "key": 0, "from": 1, "to": 2})["text"]
    assert "4" in text and "1" in text
    assert c.ok(w.KV_READ, key=0)["value"] == 4


def test_linkv_values_compare_as_json_not_as_python() -> None:
    c = Client(node())
    c.ok(w.WRITE, key="k", value=1)
    c.error(E.PRECONDITION_FAILED, {"type": "cas", "key": "k", "from": 1.0, "to": 2})
    c.error(E.PRECONDITION_FAILED, {"type": "cas", "key": "k", "from": True, "to": 2})
    c.ok(w.WRITE, key="o", value={"b": [1, None], "a": "x"})
    c.ok(w.CAS, key="o", **{"from": {"a": "x", "b": [1, None]}, "to": None})
    assert c.ok(w.KV_READ, key="o")["value"] is None


def test_linkv_keys_of_different_json_types_are_distinct() -> None:
    c = Client(node())
    c.ok(w.WRITE, key=1, value="int")
    c.ok(w.WRITE, key="1", value="str")
    c.ok(w.WRITE, key=[1], value="list")
    assert [c.ok(w.KV_READ, key=k)["value"] for k in (1, "1", [1])] == ["int", "str", "list"]


def test_linkv_cas_create_if_not_exists() -> None:
    c = Client(node())
    c.ok(w.CAS, key=9, create_if_not_exists=True, **{"from": 0, "to": 3})
    assert c.ok(w.KV_READ, key=9)["value"] == 3


def test_linkv_goes_through_the_redis_engine() -> None:
    core = node()
    c = Client(core)
    c.ok(w.WRITE, key=5, value=[1, 2])
    session = core.engine.open_session(0)
    assert core.engine.execute([b"GET", b"5"], session, 0) == b"[1,2]"
    core.engine.execute([b"SET", b"5", b"7"], session, 0)
    assert c.ok(w.KV_READ, key=5)["value"] == 7


def test_kv_cas_helper_outcomes() -> None:
    core = node()
    engine, session = core.engine, core.engine.open_session(0)
    assert kv.kv_cas(engine, session, b"k", b"1", b"2", 0) == kv.CasOutcome(False, None)
    kv.kv_write(engine, session, b"k", b"1", 0)
    assert kv.kv_cas(engine, session, b"k", b"0", b"2", 0) == kv.CasOutcome(False, b"1")
    assert kv.kv_cas(engine, session, b"k", b"1", b"2", 0) == kv.CasOutcome(True, b"1")
    assert kv.kv_read(engine, session, b"k", 0) == b"2"


def test_kv_engine_error_becomes_a_definite_error(monkeypatch: pytest.MonkeyPatch) -> None:
    core = node()
    wrongtype = ErrorReply(b"WRONGTYPE Operation against a key holding the wrong kind of value")
    monkeypatch.setattr(core.engine, "execute", lambda argv, session, now_ms: wrongtype)
    c = Client(core)
    for body in ({"type": "read", "key": 1}, {"type": "write", "key": 1, "value": 2},
                 {"type": "cas", "key": 1, "from": 1, "to": 2}):
        assert "WRONGTYPE" in c.error(E.TEMPORARILY_UNAVAILABLE, body)["text"]


def test_linkv_is_served_by_the_first_node_and_forwarded_by_others() -> None:
    net = cluster(3)
    assert net.request("c1", "n2", {"type": "write", "key": 0, "value": 3}) == {"type": "write_ok", "in_reply_to": 1}
    assert net.request("c2", "n1", {"type": "read", "key": 0}) == {"type": "read_ok", "value": 3, "in_reply_to": 1}
    body = net.request("c2", "n1", {"type": "cas", "key": 0, "from": 2, "to": 1})
    assert_error(body, E.PRECONDITION_FAILED, 2)
    body = net.request("c2", "n2", {"type": "read", "key": 7})
    assert_error(body, E.KEY_DOES_NOT_EXIST, 3)
    assert kv.kv_read(net.cores["n0"].engine, net.cores["n0"].kv.session, b"0", 0) == b"3"
    assert kv.kv_read(net.cores["n2"].engine, net.cores["n2"].kv.session, b"0", 0) is None


def test_linkv_forward_timeout_is_indefinite() -> None:
    net = cluster(2)
    net.cut("n0", "n1")
    body = net.request("c1", "n1", {"type": "write", "key": 0, "value": 3})
    assert_error(body, E.TIMEOUT, 1)
    assert not E.TIMEOUT.is_definite()


def test_linkv_home_serves_a_duplicated_forwarded_request_once() -> None:
    # The network may deliver a peer's forwarded request twice: the copy must not
    # change the key again, nor answer "precondition failed" for a cas that took effect.
    home = node(workload="lin-kv", ids=("n0", "n1", "n2"))
    c = Client(home)
    c.ok(w.WRITE, key=0, value=1)

    def forwarded(body: dict[str, Any], msg_id: int, src: str = "n1") -> list[Message]:
        return home.handle(roundtrip(Message(src, "n0", {**body, "msg_id": msg_id})), 1_000)

    cas = {"type": "cas", "key": 0, "from": 1, "to": 2}
    [first] = forwarded(cas, 7)
    assert first.dest == "n1" and first.body == {"type": "cas_ok", "in_reply_to": 7}
    assert forwarded(cas, 7) == []  # the copy: served already, dropped
    write = {"type": "write", "key": 0, "value": 5}
    [ok] = forwarded(write, 8)
    assert ok.body == {"type": "write_ok", "in_reply_to": 8}
    c.ok(w.WRITE, key=0, value=6)
    assert forwarded(write, 8) == []  # an old write again would undo the client's
    assert c.ok(w.KV_READ, key=0)["value"] == 6
    # Another peer's request with the same msg_id is a request of its own.
    [other] = forwarded({"type": "cas", "key": 0, "from": 6, "to": 7}, 7, src="n2")
    assert other.dest == "n2" and other.body == {"type": "cas_ok", "in_reply_to": 7}
    assert c.ok(w.KV_READ, key=0)["value"] == 7


# --- malformed requests -------------------------------------------------------------------------------


@pytest.mark.parametrize("body", [
    {"type": "echo"},
    {"type": "topology"},
    {"type": "topology", "topology": {"n1": "n2"}},
    {"type": "topology", "topology": [["n1"]]},
    {"type": "broadcast"},
    {"type": "broadcast", "message": [1]},
    {"type": "broadcast", "message": 1.5},
    {"type": "add"},
    {"type": "add", "element": None},
    {"type": "add", "delta": 1.0},
    {"type": "add", "delta": "1"},
    {"type": "write", "key": 1},
    {"type": "write", "value": 1},
    {"type": "cas", "key": 1, "from": 1},
    {"type": "cas", "key": 1, "to": 1},
    {"type": "cas", "key": 1, "from": 1, "to": 2, "create_if_not_exists": "yes"},
    {"type": "gossip", "messages": 3},
    {"type": "gossip", "messages": [[1]]},
])
def test_malformed_requests_get_error_12(body: dict[str, Any]) -> None:
    core = node("lin-kv")
    Client(core).error(E.MALFORMED_REQUEST, body)


def test_unknown_type_gets_error_10() -> None:
    Client(node()).error(E.NOT_SUPPORTED, {"type": "frobnicate", "txn": []})


def test_ok_replies_never_echo_extra_request_fields() -> None:
    c = Client(node())
    c.ok(w.WRITE, key=1, value=2, extra="x", create_if_not_exists=True)
    c.ok(w.KV_READ, key=1, more=[1])
    c.ok(w.ECHO, echo=1, other=2)


# --- fuzz: no input breaks the node -----------------------------------------------------------------

# Only what JSON can carry: decode_line never yields inf or nan.
_json = st.recursive(st.none() | st.booleans() | st.integers(-3, 3) |
                     st.floats(allow_nan=False, allow_infinity=False) |
                     st.text(max_size=3), lambda inner: st.lists(inner, max_size=3) |
                     st.dictionaries(st.text(max_size=3), inner, max_size=3), max_leaves=6)
_field_names = st.sampled_from(["key", "value", "from", "to", "element", "delta", "message", "messages",
                                "topology", "echo", "state", "create_if_not_exists", "node_id"])
_types = st.sampled_from(["echo", "generate", "topology", "broadcast", "read", "add", "write", "cas",
                          "gossip", "gset_state", "counter_state", "init", "read_ok", "error", "zap"])


@settings(max_examples=100, deadline=None)
@given(bodies=st.lists(st.tuples(_types, st.dictionaries(_field_names, _json, max_size=4),
                                 st.none() | st.integers(1, 5), st.sampled_from(["c1", "n2"])), max_size=8))
def test_arbitrary_bodies_never_raise_and_get_at_most_one_answer(bodies: list[Any]) -> None:
    core = node(ids=("n1", "n2"))
    for kind, fields, msg_id, src in bodies:
        body = {**fields, "type": kind}
        if msg_id is not None:
            body["msg_id"] = msg_id
        out = core.handle(Message(src, "n1", body), 2_000)
        answers = [m for m in out if m.dest == src and "in_reply_to" in m.body]
        assert len(answers) <= 1
        if msg_id is None:
            assert answers == []
        for m in out:
            roundtrip(m)
            assert m.src == "n1" and m.dest in ("c1", "n2")
        core.tick(2_000 + 5_000)


@pytest.mark.parametrize("answer,code", [
    ({"type": "write_ok", "extra": 1}, None),
    ({"type": "error", "code": 22, "text": "nope", "more": 1}, E.PRECONDITION_FAILED),
    ({"type": "error", "code": 1001}, 1001),
    ({"type": "error", "code": "22"}, E.CRASH),
    ({"type": "read_ok", "value": 1}, E.CRASH),
])
def test_forwarded_answers_are_relayed_with_closed_bodies(answer: dict[str, Any], code: int | None) -> None:
    core = node(ids=("n0", "n1"), me="n1")
    out = core.handle(Message("c1", "n1", {"type": "write", "msg_id": 4, "key": 1, "value": 2}), 0)
    [forward] = out
    assert forward.dest == "n0" and forward.body == {"type": "write", "key": 1, "value": 2,
                                                      "msg_id": forward.body["msg_id"]}
    [relayed] = core.handle(Message("n0", "n1", {**answer, "in_reply_to": forward.body["msg_id"]}), 5)
    assert relayed.dest == "c1"
    if code is None:
        assert_closed_ok(relayed.body, w.WRITE, 4)
    else:
        assert relayed.body["code"] == code and relayed.body["in_reply_to"] == 4
        assert set(relayed.body) <= {"type", "code", "text", "in_reply_to"}
    assert all(m.dest != "c1" for m in core.tick(10_000))  # no second answer at the timeout
