"""Workloads: reply schemas, outcome rules, client sessions, checkers, topologies, services."""

from __future__ import annotations

import random
from typing import Any

import pytest

from maelstrom.generator import Op
from maelstrom.history import History
from maelstrom.services import LinKvService, LinTsoService, LwwKvService, SeqKvService
from maelstrom.workloads import ClientSession, WorkloadError, WorkloadOpts, get_workload
from maelstrom.workloads.broadcast import topology
from maelstrom.workloads.common import (availability_checker, exceptions_checker, merge_valid,
                                        set_full_checker, stats_checker)
from maelstrom.workloads.pn_counter import counter_checker
from protocol.maelstrom_json import Message


def wl(name: str, nodes: int = 1, concurrency: int | None = None, **kw: Any):  # type: ignore[no-untyped-def]
    ns = tuple(f"n{i}" for i in range(nodes))
    return get_workload(name, WorkloadOpts(ns, concurrency or 2 * nodes, **kw))


class H:
    """A tiny history builder: ``h.op(p, f, value, outcome, out)`` appends invoke + completion."""

    def __init__(self) -> None:
        self.h = History()
        self.t = 0

    def inv(self, p: int, f: str, value: Any = None, key: Any = None, **extra: Any) -> None:
        self.t += 1000
        self.h.invoke(time=self.t, process=p, f=f, key=key, value=value, **extra)

    def done(self, p: int, type: str = "ok", value: Any = None, error: Any = None, **extra: Any) -> None:
        self.t += 1000
        self.h.complete(time=self.t, process=p, type=type, value=value, error=error, **extra)  # type: ignore[arg-type]

    def op(self, p: int, f: str, value: Any = None, type: str = "ok", out: Any = None,
           key: Any = None, **extra: Any) -> None:
        self.inv(p, f, value, key, **extra)
        self.done(p, type, out if out is not None else value, **extra)


# -- schemas and outcomes ---------------------------------------------------------------

def test_closed_schema_extra_key_is_an_info_crash() -> None:
    w = wl("echo")
    c = w.outcome_for_reply(Op("echo", "hi"), {"type": "echo_ok", "echo": "hi", "in_reply_to": 1,
                                                "extra": 1})
    assert c.type == "info" and c.error == "malformed-rpc-response"
    assert "closed" in c.extra["error_text"] and c.extra["exception"] == "malformed-rpc-response"


@pytest.mark.parametrize("body,ok", [({"type": "read_ok", "value": 3}, True),
                                     ({"type": "read_ok", "value": 3.0}, False),
                                     ({"type": "read_ok", "value": True}, False),
                                     ({"type": "read_ok"}, False),
                                     ({"type": "add_ok"}, False)])
def test_int_schema_rejects_floats_and_bools(body: dict, ok: bool) -> None:
    c = wl("pn-counter").outcome_for_reply(Op("read"), body)
    assert (c.type == "ok") is ok


def test_lin_kv_outcome_rules() -> None:
    w = wl("lin-kv")
    assert w.outcome_for_timeout(Op("read", None, 0)).type == "fail"
    t = w.outcome_for_timeout(Op("write", 1, 0))
    assert (t.type, t.error) == ("info", "net-timeout")
    e = w.outcome_for_reply(Op("cas", [1, 2], 0), {"type": "error", "code": 22, "text": "nope"})
    assert (e.type, e.error, e.extra["error_text"]) == ("fail", "precondition-failed", "nope")
    assert w.outcome_for_reply(Op("write", 1, 0), {"type": "error", "code": 13}).type == "info"
    assert w.outcome_for_reply(Op("write", 1, 0), {"type": "error", "code": 0}).type == "info"
    custom = w.outcome_for_reply(Op("write", 1, 0), {"type": "error", "code": 1000})
    assert (custom.type, custom.error) == ("info", "unknown")
    assert w.outcome_for_reply(Op("read", None, 0), {"type": "error", "code": 1000}).type == "fail"
    ok = w.outcome_for_reply(Op("read", None, 0), {"type": "read_ok", "value": 4, "msg_id": 9})
    assert (ok.type, ok.value) == ("ok", 4)


@pytest.mark.parametrize("name", ["g-set", "g-counter", "pn-counter"])
def test_no_with_errors_turns_every_error_into_info(name: str) -> None:
    w = wl(name)
    c = w.outcome_for_reply(Op("add", 1), {"type": "error", "code": 11, "text": "busy"})
    assert (c.type, c.error) == ("info", "temporarily-unavailable")
    assert c.extra["error_text"].startswith("indeterminate:")
    assert w.outcome_for_timeout(Op("read")).type == "info"


def test_broadcast_read_is_idempotent() -> None:
    w = wl("broadcast")
    assert w.outcome_for_timeout(Op("read")).type == "fail"
    assert w.outcome_for_timeout(Op("broadcast", 3)).type == "info"
    assert not w.reusable and wl("lin-kv").reusable and wl("unique-ids").reusable


def test_client_session_matches_replies_and_drops_late_ones() -> None:
    s = ClientSession("c4", wl("echo"))
    req = s.request("n0", Op("echo", "a"))
    assert req == Message("c4", "n0", {"type": "echo", "echo": "a", "msg_id": 1})
    assert s.on_message(Message("n0", "c4", {"type": "echo_ok", "echo": "a", "in_reply_to": 7})) is None
    done = s.on_message(Message("n0", "c4", {"type": "echo_ok", "echo": "a", "in_reply_to": 1}))
    assert done is not None and done.type == "ok" and done.value["echo"] == "a"
    s.request("n0", Op("echo", "b"))
    assert s.on_timeout().type == "info"
    late = Message("n0", "c4", {"type": "echo_ok", "echo": "b", "in_reply_to": 2})
    assert s.on_message(late) is None and late in s.dropped
    assert s.request("n0", Op("echo", "c")).body["msg_id"] == 3


def test_lin_kv_validation() -> None:
    with pytest.raises(WorkloadError, match="multiple of 2n"):
        wl("lin-kv", nodes=3, concurrency=3)
    with pytest.raises(WorkloadError, match="at most 10 nodes"):
        wl("lin-kv", nodes=11, concurrency=22)
    assert wl("lin-kv", latency_ms=300).rpc_timeout_ms() == 3000
    assert wl("lin-kv", latency_ms=20).rpc_timeout_ms() == 1000
    with pytest.raises(WorkloadError, match="unknown workload"):
        wl("kafka-ish")


# -- checkers ----------------------------------------------------------------------------

def test_echo_checker_fails_on_any_info() -> None:
    h = H()
    h.op(0, "echo", "x", out={"type": "echo_ok", "echo": "x"})
    assert wl("echo").check(h.h)["valid"] is True
    h.op(1, "echo", "y", type="info")
    r = wl("echo").check(h.h)
    assert r["valid"] is False and r["errors"][0]["expected"] == "y"


def test_unique_ids_checker() -> None:
    h = H()
    for i, v in enumerate(["a", "b", "a", 1]):
        h.op(i, "generate", out=v)
    r = wl("unique-ids").check(h.h)
    assert r["valid"] is False and r["duplicated-count"] == 1 and r["duplicated"] == {"a": 2}
    assert r["attempted-count"] == 4 and r["acknowledged-count"] == 4 and r["range"] is None


def test_set_full_stable_lost_never_read_duplicate() -> None:
    h = H()
    h.op(0, "add", 1)
    h.op(0, "add", 2)
    h.op(0, "add", 3, type="info")  # unknown outcome, never seen: never-read
    h.op(1, "read", out=[1, 2])
    h.op(1, "read", out=[1])  # 2 disappears after being seen: lost
    r = set_full_checker(h.h, "add")
    assert (r["stable-count"], r["lost-count"], r["never-read-count"]) == (1, 1, 1)
    assert r["lost"] == [2] and r["valid"] is False
    h2 = H()
    h2.op(0, "add", 1)
    h2.op(1, "read", out=[1, 1])
    r2 = set_full_checker(h2.h, "add")
    assert r2["duplicated-count"] == 1 and r2["valid"] is False


def test_set_full_unknown_when_nothing_stable_and_stale_counted() -> None:
    h = H()
    h.op(0, "add", 5)
    assert set_full_checker(h.h, "add")["valid"] == "unknown"
    h.op(1, "read", out=[])
    h.op(1, "read", out=[5])
    r = set_full_checker(h.h, "add")
    assert r["valid"] is True and r["stale-count"] == 1 and r["worst-stale"][0]["element"] == 5
    h.op(1, "read", out=[5, 99])
    assert set_full_checker(h.h, "add")["unexpected"] == [99]


def test_counter_checker_acceptable_set() -> None:
    h = H()
    h.op(0, "add", 3)
    h.op(1, "add", 2, type="info")
    h.op(0, "add", -1, type="fail")
    h.op(0, "read", out=3, final=True)
    h.op(1 + 2, "read", out=5, final=True)
    h.op(0, "read", out=4)  # not final: ignored
    r = counter_checker(h.h)
    assert r["valid"] is True and r["acceptable"] == [[3, 3], [5, 5]]
    h.op(0, "read", out=4, final=True)
    assert counter_checker(h.h)["valid"] is False


def test_lin_kv_checker_per_key() -> None:
    h = H()
    h.op(0, "write", 1, key=0)
    h.op(1, "read", key=0, out=1)
    h.op(2, "write", 3, key=1)
    h.op(3, "read", key=1, out=2)  # 2 was never written to key 1
    r = wl("lin-kv").check(h.h)
    assert r["valid"] is False and r["failures"] == [1]
    assert r["results"]["0"]["valid"] is True and r["results"]["1"]["linearizable"]["failure"]


def test_stats_availability_exceptions_merge() -> None:
    h = H()
    h.op(0, "read", type="fail")
    h.op(0, "write", 1)
    h.inv(1, "write", 2)
    h.done(1, "info", 2, "net-timeout", exception="timeout")
    s = stats_checker(h.h)
    assert s["valid"] is False and s["by-f"]["read"]["fail-count"] == 1 and s["count"] == 3
    assert availability_checker(h.h, None)["valid"] is True
    assert availability_checker(h.h, "total")["valid"] is False
    assert availability_checker(h.h, 0.3)["valid"] is True
    e = exceptions_checker(h.h)["exceptions"]
    assert e[0]["count"] == 1 and e[0]["class"] == "timeout"
    assert merge_valid([True, "unknown"]) == "unknown" and merge_valid([True, False, "unknown"]) is False


# -- topologies ----------------------------------------------------------------------------

def test_topologies() -> None:
    ns = [f"n{i}" for i in range(5)]
    assert topology("grid", ns) == {"n0": ["n3", "n1"], "n1": ["n4", "n2", "n0"], "n2": ["n1"],
                                    "n3": ["n0", "n4"], "n4": ["n1", "n3"]}
    assert topology("line", ns)["n2"] == ["n1", "n3"]
    assert topology("total", ns)["n0"] == ["n1", "n2", "n3", "n4"]
    assert topology("tree", ns) == topology("tree2", ns)
    assert topology("tree2", ns)["n0"] == ["n1", "n2"] and topology("tree2", ns)["n1"] == ["n0", "n3", "n4"]
    assert topology("tree4", ns)["n0"] == ["n1", "n2", "n3", "n4"]
    assert topology("tree3", ns)["n4"] == ["n1"]
    with pytest.raises(WorkloadError):
        topology("star", ns)


# -- services ----------------------------------------------------------------------------

def call(svc: Any, body: dict, src: str = "n0", rng: random.Random | None = None) -> dict | None:
    r = svc.handle(Message(src, svc.id, {**body, "msg_id": 5}), rng or random.Random(1))
    return None if r is None else r.body


def test_lin_kv_service() -> None:
    s = LinKvService()
    assert call(s, {"type": "read", "key": "a"})["code"] == 20  # type: ignore[index]
    assert call(s, {"type": "cas", "key": "a", "from": 1, "to": 2})["code"] == 20  # type: ignore[index]
    assert call(s, {"type": "cas", "key": "a", "from": 1, "to": 2,
                    "create_if_not_exists": True}) == {"type": "cas_ok", "in_reply_to": 5}
    assert call(s, {"type": "read", "key": "a"}) == {"type": "read_ok", "value": 2, "in_reply_to": 5}
    err = call(s, {"type": "cas", "key": "a", "from": 2.0, "to": 3})
    assert err["code"] == 22 and "current value 2 is not 2.0" in err["text"]  # type: ignore[index]
    assert call(s, {"type": "write", "key": [1], "value": {"x": 1}})["type"] == "write_ok"  # type: ignore[index]
    assert call(s, {"type": "frobnicate"}) is None


def test_seq_kv_service_is_monotonic_per_client() -> None:
    s = SeqKvService()
    rng = random.Random(4)
    for v in range(40):
        call(s, {"type": "write", "key": "k", "value": v}, "n1", rng)
    assert len(s.states) == 32
    seen = -1
    stale = False
    for _ in range(50):
        v = call(s, {"type": "read", "key": "k"}, "n0", rng)["value"]  # type: ignore[index]
        assert v >= seen
        stale |= v < 39
        seen = v
    assert stale  # reads can lag
    assert call(s, {"type": "read", "key": "k"}, "n1", rng)["value"] == 39  # type: ignore[index]


def test_lww_kv_service_converges() -> None:
    s = LwwKvService()
    rng = random.Random(2)
    for v in range(10):
        call(s, {"type": "write", "key": "k", "value": v}, "n0", rng)
    for _ in range(5):
        call(s, {"type": "read", "key": "other"}, "n0", rng)
    assert [r[b'"k"'][1] for r in s.replicas] == [9, 9]
    assert call(s, {"type": "cas", "key": "z", "from": 1, "to": 2, "create_if_not_exists": True},
                "n0", rng)["code"] == 20  # type: ignore[index]


def test_lin_tso_counts_without_gaps() -> None:
    s = LinTsoService()
    assert [call(s, {"type": "ts"})["ts"] for _ in range(3)] == [0, 1, 2]  # type: ignore[index]
