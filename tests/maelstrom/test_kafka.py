"""The kafka workload: generator shapes, the client's state machine, the checker, end to end."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from maelstrom.generator import GenContext, Op, Scheduler, Wait
from maelstrom.history import History
from maelstrom.workloads import ClientSession, Completion, WorkloadOpts, get_workload
from maelstrom.workloads.kafka import (ALLOWED_ERRORS, FINAL_LIMIT_MS, Kafka, KafkaFinal,
                                       KafkaSource, check_kafka)
from protocol.maelstrom_json import Message

NODES = Path(__file__).parent / "nodes"
KAFKA_FAULTY = str(NODES / "kafka_faulty.py")
GYRE_NODE = Path(sys.executable).parent / "gyre-node"
RUN_TIMEOUT_S = 60


def kafka(concurrency: int = 1) -> Kafka:
    w = get_workload("kafka", WorkloadOpts(nodes=("n0",), concurrency=concurrency))
    assert isinstance(w, Kafka)
    return w


def ctx(thread: int = 0, now_ms: float = 0.0, rng: random.Random | None = None) -> GenContext:
    return GenContext(thread, thread, (thread,), rng or random.Random(1), now_ms)


# -- generator --------------------------------------------------------------------------------

def test_generator_shapes_keys_and_assign_rate() -> None:
    src = KafkaSource(concurrency=4)
    src.next_crash_ms = 1e12  # no crashes here
    rng = random.Random(5)
    ops = [src.op(ctx(rng=rng)) for _ in range(6400)]
    fs = {f: sum(1 for o in ops if o is not None and o.f == f) for f in ("send", "poll", "assign")}
    assert 60 <= fs["assign"] <= 150  # about 1/64 of 6400 = 100
    assert abs(fs["send"] - fs["poll"]) < 600
    for o in ops:
        assert o is not None
        if o.f == "send":
            [[tag, k, v]] = o.value
            assert tag == "send" and isinstance(k, str) and k.isdigit() and isinstance(v, int)
        elif o.f == "poll":
            assert o.value == [["poll"]]
        else:
            assert all(isinstance(k, str) and k.isdigit() for k in o.value)
    # elle: values per key are 1, 2, 3… and a key retires after 16 appends
    per_key: dict[str, list[int]] = {}
    for o in ops:
        if o is not None and o.f == "send":
            per_key.setdefault(o.value[0][1], []).append(o.value[0][2])
    assert all(vs == list(range(1, len(vs) + 1)) and len(vs) <= 16 for vs in per_key.values())


def test_assign_picks_up_keys_sent_but_not_polled() -> None:
    src = KafkaSource(concurrency=1)
    src.next_crash_ms = 1e12
    src.update(Op("send"), Completion("ok", [["send", "77", [3, 1]]]))
    assigns = []
    rng = random.Random(2)
    while len(assigns) < 60:
        o = src.op(ctx(rng=rng))
        if o is not None and o.f == "assign":
            assigns.append(o.value)
    with_unseen = sum(1 for a in assigns if "77" in a)
    assert 8 <= with_unseen <= 35  # about a third
    # once polled up to the sent offset, the key is caught up and no longer offered
    src.update(Op("poll"), Completion("ok", [["poll", {"77": [[3, 1]]}]]))
    assert src.sent == {} and src.tracked == {"77": 3}


def test_crashes_are_staggered_by_thirty_seconds_over_concurrency() -> None:
    src = KafkaSource(concurrency=10)
    rng = random.Random(3)
    crashes = [t for t in range(0, 600_000, 50) if (o := src.op(ctx(now_ms=t, rng=rng))) is not None
               and o.f == "crash"]
    assert crashes[0] == 0  # Jepsen's stagger emits the first at once
    gaps = [b - a for a, b in zip(crashes, crashes[1:])]
    mean = sum(gaps) / len(gaps)
    assert 2400 <= mean <= 3600  # 30 s / 10 threads = 3 s on average
    assert max(gaps) <= 6050


def test_final_phase_crash_assign_polls_until_caught_up() -> None:
    main = KafkaSource(concurrency=1)
    main.tracked = {"1": 4, "2": 0}
    fin = KafkaFinal(main)
    seq = [fin.op(ctx(now_ms=0)), fin.op(ctx(now_ms=0)), fin.op(ctx(now_ms=0))]
    assert [o.f for o in seq if isinstance(o, Op)] == ["crash", "assign", "poll"]
    assert all(isinstance(o, Op) and o.final for o in seq)
    assert seq[1].value == ["1", "2"]  # type: ignore[union-attr]
    nxt = fin.op(ctx(now_ms=1))
    assert isinstance(nxt, Wait) and nxt.until_ms <= 401  # polls about every 0.2 s
    fin.update(Op("poll"), Completion("ok", [["poll", {"1": [[0, 1], [4, 5]], "2": [[0, 1]]}]]))
    assert fin.op(ctx(now_ms=500)) is None  # caught up: done
    late = KafkaFinal(KafkaSource(concurrency=1, tracked={"1": 9}))
    late.op(ctx(now_ms=0))
    assert late.op(ctx(now_ms=FINAL_LIMIT_MS)) is None  # cut at 10 s


def test_scheduler_hands_completions_to_the_source() -> None:
    w = kafka()
    src = w.generator(random.Random(1))
    sched = Scheduler(src, ["n0"], 1, 10.0, 10.0, random.Random(1))
    inv = sched.poll(0.0)
    assert inv is not None and inv.op.f == "crash"
    sched.complete(inv.thread, "info", inv.op, Completion("info"))
    assert sched.processes == [1]
    inv = sched.poll(1000.0)
    assert inv is not None
    if inv.op.f == "send":
        k = inv.op.value[0][1]
        sched.complete(inv.thread, "ok", inv.op, Completion("ok", [["send", k, [0, 1]]]))
        assert isinstance(src, KafkaSource) and src.tracked == {k: 0}


# -- client -------------------------------------------------------------------------------------

def reply(req: Message, **body: Any) -> Message:
    return Message("n0", req.src, {**body, "in_reply_to": req.msg_id})


def test_client_assign_poll_commit_and_reset_on_crash() -> None:
    w = kafka()
    s = ClientSession("c0", w)
    # poll before any assign sends {}
    req = s.begin("n0", Op("poll", [["poll"]]))
    assert isinstance(req, Message) and req.body["offsets"] == {}
    done = s.on_reply(reply(req, type="poll_ok", msgs={}))
    assert done == Completion("ok", [["poll", {}]])
    # assign: local offset, else committed, else 0
    s.state.offsets = {"1": 7}
    req = s.begin("n0", Op("assign", ["1", "2", "3"]))
    assert isinstance(req, Message) and req.body == {"type": "list_committed_offsets",
                                                     "keys": ["1", "2", "3"], "msg_id": 2}
    done = s.on_reply(reply(req, type="list_committed_offsets_ok", offsets={"1": 2, "2": 5}))
    assert done == Completion("ok", ["1", "2", "3"])
    assert s.state.offsets == {"1": 7, "2": 5, "3": 0}
    # poll sends the offsets, advances to max+1, then commits the highest polled offsets
    req = s.begin("n0", Op("poll", [["poll"]]))
    assert isinstance(req, Message) and req.body["offsets"] == {"1": 7, "2": 5, "3": 0}
    commit = s.on_reply(reply(req, type="poll_ok", msgs={"2": [[5, 10], [6, 11]], "3": []}))
    assert isinstance(commit, Message)
    assert commit.body == {"type": "commit_offsets", "offsets": {"2": 6}, "msg_id": 4}
    assert s.state.offsets == {"1": 7, "2": 7, "3": 0}
    done = s.on_reply(reply(commit, type="commit_offsets_ok"))
    assert done == Completion("ok", [["poll", {"2": [[5, 10], [6, 11]], "3": []}]])
    # send
    req = s.begin("n0", Op("send", [["send", "4", 9]]))
    assert isinstance(req, Message) and req.body == {"type": "send", "key": "4", "msg": 9, "msg_id": 5}
    assert s.on_reply(reply(req, type="send_ok", offset=3)) == Completion("ok", [["send", "4", [3, 9]]])
    # crash: info with no RPC; a new client (non-reusable) starts from nothing
    assert s.begin("n0", Op("crash")) == Completion("info")
    assert not w.reusable and ClientSession("c1", w).state.offsets == {}
    # the final assign seeks to the beginning with no RPC
    assert s.begin("n0", Op("assign", ["1", "2"], final=True)) == Completion("ok", ["1", "2"])
    assert s.state.offsets == {"1": 0, "2": 0}


def test_client_errors_and_schemas() -> None:
    w = kafka()
    s = ClientSession("c0", w)
    req = s.begin("n0", Op("assign", ["1"]))
    assert isinstance(req, Message)
    assert s.on_timeout().type == "fail"  # assign is idempotent
    req = s.begin("n0", Op("send", [["send", "1", 1]]))
    assert isinstance(req, Message)
    assert s.on_timeout().type == "info"
    req = s.begin("n0", Op("poll", [["poll"]]))
    assert isinstance(req, Message)
    bad = s.on_reply(reply(req, type="poll_ok", msgs={"1": [["x", 1]]}))
    assert isinstance(bad, Completion) and bad.type == "info" and bad.error == "malformed-rpc-response"
    req = s.begin("n0", Op("send", [["send", "1", 1]]))
    assert isinstance(req, Message)
    err = s.on_reply(reply(req, type="error", code=11, text="busy"))
    assert isinstance(err, Completion) and err.type == "fail"


# -- checker ----------------------------------------------------------------------------------------

class H:
    """Builds kafka histories op by op (each op completes before the next starts)."""

    def __init__(self) -> None:
        self.h = History()
        self.t = 0

    def op(self, p: int, f: str, value: Any, out: Any = None, type: str = "ok") -> "H":
        self.t += 1
        self.h.invoke(time=self.t, process=p, f=f, value=value)
        self.t += 1
        self.h.complete(time=self.t, process=p, type=type,  # type: ignore[arg-type]
                        value=out if out is not None else value)
        return self

    def send(self, p: int, k: str, m: int, offset: int | None, type: str = "ok") -> "H":
        out = [["send", k, [offset, m]]] if type == "ok" else None
        return self.op(p, "send", [["send", k, m]], out, type)

    def poll(self, p: int, msgs: dict[str, list[list[int]]]) -> "H":
        return self.op(p, "poll", [["poll"]], [["poll", msgs]])


def errs(res: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return res[kind]["errs"]


def test_valid_history_is_valid() -> None:
    h = (H().send(0, "1", 1, 0).send(0, "1", 2, 1).send(1, "2", 1, 0)
         .op(1, "assign", ["1", "2"]).poll(1, {"1": [[0, 1]], "2": [[0, 1]]})
         .poll(1, {"1": [[1, 2]]}).op(0, "crash", None, type="info"))
    res = check_kafka(h.h)
    assert res["valid"] is True and res["error-types"] == []


def test_lost_write_and_unseen() -> None:
    h = H().send(0, "1", 1, 0).send(0, "1", 2, 1).send(0, "1", 3, 2).poll(1, {"1": [[0, 1], [2, 3]]})
    res = check_kafka(h.h)
    assert res["valid"] is False
    lost = errs(res, "lost-write")
    assert [(e["key"], e["value"], e["offset"]) for e in lost] == [("1", 2, 1)]
    assert "message 2 at offset 1" in lost[0]["explanation"] and "process 0" in lost[0]["explanation"]
    assert errs(res, "unseen")[0]["unseen"] == {"1": 1}
    assert "int-poll-skip" in res["error-types"]
    # a message at the end of the log that no poll reached is unseen, not lost
    res = check_kafka(H().send(0, "1", 1, 0).send(0, "1", 2, 1).poll(1, {"1": [[0, 1]]}).h)
    assert res["error-types"] == ["unseen"] and "1 message(s)" in res["why"]


def test_poll_skip_and_nonmonotonic_poll_between_a_process_polls() -> None:
    base = H().send(0, "1", 1, 0).send(0, "1", 2, 1).send(0, "1", 3, 2).poll(2, {"1": [[0, 1], [1, 2], [2, 3]]})
    res = check_kafka(base.poll(1, {"1": [[0, 1]]}).poll(1, {"1": [[2, 3]]}).h)
    [e] = errs(res, "poll-skip")
    assert e["skipped"] == [[1, 2]] and "process 1" in e["explanation"] and "skipping 1" in e["explanation"]
    base = H().send(0, "1", 1, 0).send(0, "1", 2, 1)
    res = check_kafka(base.poll(1, {"1": [[0, 1], [1, 2]]}).poll(1, {"1": [[1, 2]]}).h)
    [e] = errs(res, "nonmonotonic-poll")
    assert e["values"] == [2, 2] and "went nowhere" in e["explanation"]
    # an assign in between resets the expectation for keys it drops
    base = H().send(0, "1", 1, 0).send(0, "1", 2, 1).send(0, "1", 3, 2).poll(2, {"1": [[0, 1], [1, 2], [2, 3]]})
    res = check_kafka(base.poll(1, {"1": [[0, 1]]}).op(1, "assign", ["5"]).poll(1, {"1": [[2, 3]]}).h)
    assert res["valid"] is True


def test_internal_poll_anomalies() -> None:
    base = H().send(0, "1", 1, 0).send(0, "1", 2, 1).send(0, "1", 3, 2)
    res = check_kafka(base.poll(1, {"1": [[0, 1], [1, 2], [2, 3]]}).poll(2, {"1": [[1, 2], [0, 1]]}).h)
    [e] = errs(res, "int-nonmonotonic-poll")
    assert e["values"] == [2, 1] and "backwards" in e["explanation"]


def test_longer_cycles_over_ww_wr_and_realtime_or_process_edges() -> None:
    # The send of offset 1 is polled; only then is offset 0 sent (by another process): offset 0
    # precedes offset 1 in the log (ww), offset 1 was polled (wr), and the poll completed
    # before offset 0's send began (realtime). No two-op cycle, no other anomaly.
    h = (H().send(1, "k", 2, 1).poll(2, {"k": [[1, 2]]}).send(0, "k", 1, 0)
         .poll(3, {"k": [[0, 1], [1, 2]]}))
    res = check_kafka(h.h)
    assert res["valid"] is False and res["bad-error-types"] == ["G1c-realtime"]
    [e] = errs(res, "G1c-realtime")
    # the poll (op 2), the send of offset 0 (op 4), the send of offset 1 (op 0), round
    assert e["cycle"] == [2, 4, 0]
    assert [s["type"] for s in e["steps"]] == ["realtime", "ww", "wr"]
    assert e["explanation"] == (
        "T1 (poll, process 2, op index 2) completed before T2 (send, process 0, op index 4) began "
        "(realtime); T2 sent 1 to key 'k' right before T3 (send, process 1, op index 0)'s 2 in the log "
        "(ww); T3 sent 2 to key 'k', which T1 polled (wr). So T1 would have to come before itself: a cycle.")
    # the two sends alone, in real time against the log's order: G0-realtime, which is allowed
    assert "G0-realtime" in res["error-types"] and "G0-realtime" not in res["bad-error-types"]
    # the same on one process: the process edge closes it first
    h = H().send(1, "k", 2, 1).poll(2, {"k": [[1, 2]]}).send(2, "k", 1, 0).poll(3, {"k": [[0, 1], [1, 2]]})
    assert "G1c-process" in check_kafka(h.h)["bad-error-types"]


def test_nonmonotonic_send_duplicate_inconsistent_and_g1a() -> None:
    res = check_kafka(H().send(0, "1", 1, 5).send(0, "1", 2, 3).poll(1, {"1": [[3, 2], [5, 1]]}).h)
    [e] = errs(res, "nonmonotonic-send")
    assert e["offsets"] == [5, 3] and "process 0" in e["explanation"]
    res = check_kafka(H().send(0, "1", 1, 0).poll(1, {"1": [[0, 1], [1, 1]]}).h)
    [e] = errs(res, "duplicate")
    assert e["offsets"] == [0, 1] and "message 1 is at offsets [0, 1]" in e["explanation"]
    res = check_kafka(H().send(0, "1", 1, 0).send(1, "1", 2, 0).poll(2, {"1": [[0, 1]]}).h)
    [e] = errs(res, "inconsistent-offsets")
    assert e["values"] == [1, 2] and "offset 0 holds 2 different messages" in e["explanation"]
    res = check_kafka(H().send(0, "1", 1, None, type="fail").poll(1, {"1": [[0, 1]]}).h)
    [e] = errs(res, "G1a")
    assert "whose send by process 0" in e["explanation"] and "failed" in e["explanation"]
    assert res["valid"] is False


def test_allowed_types_and_info_sends() -> None:
    assert "int-send-skip" in ALLOWED_ERRORS and "G0" in ALLOWED_ERRORS
    # an info send that was never read is neither lost nor unseen (it may never have happened)
    res = check_kafka(H().send(0, "1", 1, None, type="info").send(1, "1", 2, 1).poll(2, {"1": [[1, 2]]}).h)
    assert res["valid"] is True


# -- nodes ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("mode", ["eventual", "causal", "strong"])
def test_replicated_node_serves_kafka_in_every_mode(mode: str) -> None:
    from nodes.replicated import ReplicatedConfig, ReplicatedNode

    node = ReplicatedNode(rng=random.Random(1), config=ReplicatedConfig(mode=mode, workload="kafka"))
    node.handle(Message("c0", "n0", {"type": "init", "msg_id": 1, "node_id": "n0", "node_ids": ["n0"]}), 0)

    def call(body: dict[str, Any]) -> dict[str, Any]:  # one node: a strong round commits at once
        [out] = [m for m in node.handle(Message("c1", "n0", {**body, "msg_id": 9}), 1) if m.dest == "c1"]
        return {k: v for k, v in out.body.items() if k != "in_reply_to"}

    assert call({"type": "send", "key": "a", "msg": {"x": 1}}) == {"type": "send_ok", "offset": 0}
    assert call({"type": "send", "key": "a", "msg": 2}) == {"type": "send_ok", "offset": 1}
    assert call({"type": "poll", "offsets": {"a": 1, "b": 0}}) == {"type": "poll_ok", "msgs": {"a": [[1, 2]]}}
    assert call({"type": "poll", "offsets": {}}) == {"type": "poll_ok", "msgs": {}}
    assert call({"type": "commit_offsets", "offsets": {"a": 1}}) == {"type": "commit_offsets_ok"}
    assert call({"type": "commit_offsets", "offsets": {"a": 0}}) == {"type": "commit_offsets_ok"}
    assert call({"type": "list_committed_offsets", "keys": ["a", "b"]}) == {
        "type": "list_committed_offsets_ok", "offsets": {"a": 1}}  # never lowered
    bad = call({"type": "poll", "offsets": {"a": "x"}})
    assert bad["type"] == "error" and bad["code"] == 12


def test_strong_kafka_log_and_offset_steps() -> None:
    from nodes.strong_kafka import commit_step, log_step

    doc, res, wrote = log_step(None, ["send", "m0"])
    assert (doc, res.value, wrote) == (["m0"], b"0", True)
    doc, res, wrote = log_step(doc + ["m1", "m2"], ["poll", 1])
    assert (json.loads(res.value or b""), wrote) == ([[1, "m1"], [2, "m2"]], False)
    assert json.loads(log_step(doc, ["poll", -5])[1].value or b"")[0] == [0, "m0"]
    assert commit_step(None, ["read", None])[1].value == b"null"
    assert commit_step(3, ["commit", 2])[0] == 3 and commit_step(3, ["commit", 2])[2] is False
    assert commit_step(3, ["commit", 5])[:1] == (5,)


@pytest.mark.parametrize("seed", [1, 2])
def test_simulated_strong_kafka_loses_nothing_through_partitions_loss_and_duplication(
        tmp_path: Path, seed: int) -> None:
    from tests.maelstrom.sim_helpers import sim_config, simulate

    cfg = sim_config(tmp_path, "kafka", "replicated", "strong", seed=seed,
                     nemesis=("partition", "loss", "duplicate"))
    res, _ = simulate(cfg)
    assert res.valid is True, res.summary
    assert res.results is not None and res.results["workload"]["send-count"] > 30


@pytest.mark.parametrize("mode", ["eventual", "causal"])
def test_simulated_weak_kafka_keeps_concurrent_sends_but_not_their_offsets(tmp_path: Path, mode: str) -> None:
    from tests.maelstrom.sim_helpers import sim_config, simulate

    res, _ = simulate(sim_config(tmp_path, "kafka", "replicated", mode, seed=1))
    assert res.valid is False
    workload = res.results["workload"] if res.results else {}
    kinds = set(workload["bad-error-types"])
    assert "inconsistent-offsets" in kinds and "lost-write" not in kinds, workload  # typed lists keep every push


def test_single_node_serves_kafka() -> None:
    from nodes.single import SingleNode

    node = SingleNode(rng=random.Random(1))
    node.handle(Message("c0", "n0", {"type": "init", "msg_id": 1, "node_id": "n0", "node_ids": ["n0"]}), 0)

    def call(body: dict[str, Any]) -> dict[str, Any]:
        [out] = node.handle(Message("c1", "n0", {**body, "msg_id": 9}), 1)
        return {k: v for k, v in out.body.items() if k != "in_reply_to"}

    assert call({"type": "send", "key": "a", "msg": {"x": 1}}) == {"type": "send_ok", "offset": 0}
    assert call({"type": "send", "key": "a", "msg": 2}) == {"type": "send_ok", "offset": 1}
    assert call({"type": "poll", "offsets": {"a": 1, "b": 0}}) == {"type": "poll_ok", "msgs": {"a": [[1, 2]]}}
    assert call({"type": "commit_offsets", "offsets": {"a": 1}}) == {"type": "commit_offsets_ok"}
    assert call({"type": "commit_offsets", "offsets": {"a": 0}}) == {"type": "commit_offsets_ok"}
    assert call({"type": "list_committed_offsets", "keys": ["a", "b"]}) == {
        "type": "list_committed_offsets_ok", "offsets": {"a": 1}}  # never lowered


def test_a_restarted_single_node_takes_back_every_acknowledged_send_and_commit() -> None:
    from nodes.core import DurableStore
    from nodes.single import SingleNode

    def start(durable: DurableStore) -> SingleNode:
        node = SingleNode(rng=random.Random(1))
        node.durable = durable
        node.handle(Message("c0", "n0", {"type": "init", "msg_id": 1, "node_id": "n0", "node_ids": ["n0"]}), 0)
        return node

    def call(node: SingleNode, body: dict[str, Any]) -> dict[str, Any]:
        [out] = node.handle(Message("c1", "n0", {**body, "msg_id": 9}), 1)
        return {k: v for k, v in out.body.items() if k != "in_reply_to"}

    durable = DurableStore()
    first = start(durable)
    for i in range(12):  # offsets 10 and 11 sort before 2 by name: the restore must not care
        assert call(first, {"type": "send", "key": "k/1", "msg": i})["offset"] == i
    call(first, {"type": "commit_offsets", "offsets": {"k/1": 7}})
    again = start(DurableStore(durable.records))  # what a crash leaves
    assert call(again, {"type": "poll", "offsets": {"k/1": 9}})["msgs"] == {"k/1": [[9, 9], [10, 10], [11, 11]]}
    assert call(again, {"type": "list_committed_offsets", "keys": ["k/1"]})["offsets"] == {"k/1": 7}
    assert call(again, {"type": "send", "key": "k/1", "msg": "next"})["offset"] == 12


# -- end to end --------------------------------------------------------------------------------------

def gyre_test(tmp_path: Path, bin_: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "nodes.gyre_cli", "test", "-w", "kafka", "--bin", bin_, "--node-count", "1",
         "--time-limit", "3", "--rate", "50", "--recovery-wait", "0.2", "--store",
         str(tmp_path / "store"), "--seed", "3", *args],
        capture_output=True, text=True, timeout=RUN_TIMEOUT_S)


@pytest.mark.skipif(not GYRE_NODE.exists(), reason="gyre-node is not installed in this venv")
def test_gyre_node_is_valid(tmp_path: Path) -> None:
    r = gyre_test(tmp_path, str(GYRE_NODE))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Everything looks good" in r.stdout


def test_node_reusing_offsets_is_invalid(tmp_path: Path) -> None:
    r = gyre_test(tmp_path, KAFKA_FAULTY, "--", "reuse")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "inconsistent-offsets" in r.stdout
    res = json.loads((tmp_path / "store" / "kafka" / "latest" / "results.json").read_text())["workload"]
    assert res["valid"] is False and "inconsistent-offsets" in res["bad-error-types"]
    assert "different messages" in res["inconsistent-offsets"]["errs"][0]["explanation"]


# -- simulated --------------------------------------------------------------------------------------

def test_simulated_kafka_with_partitions_is_valid_and_deterministic(tmp_path: Path) -> None:
    from maelstrom.harness import EXIT_VALID
    from maelstrom.store import HISTORY_FILE
    from tests.maelstrom.sim_helpers import sim_config, simulate

    for seed in (1, 2, 3):
        cfg = sim_config(tmp_path, "kafka", seed=seed, time_limit=6.0, rate=30.0)
        res, digest = simulate(cfg)
        assert res.exit_code == EXIT_VALID, (seed, res.summary)
        assert res.results is not None and res.results["workload"]["send-count"] > 20
        events = [json.loads(line) for line in
                  (Path(res.store_path or "") / HISTORY_FILE).read_text().splitlines()]
        fs = {(e["f"], e["type"], bool(e.get("final"))) for e in events}
        assert ("crash", "info", False) in fs and ("crash", "info", True) in fs
        assert ("assign", "ok", True) in fs and ("poll", "ok", True) in fs
        if seed == 1:
            assert simulate(cfg)[1] == digest


def test_a_poll_reading_a_message_sent_after_it_returned_is_g1c_realtime() -> None:
    h = H().poll(1, {"1": [[0, 1]]}).send(0, "1", 1, 0)
    res = check_kafka(h.h)
    [e] = errs(res, "G1c-realtime")
    assert res["valid"] is False and "from the future" in e["explanation"]
    # overlapping in time is fine
    h = H()
    h.h.invoke(time=1, process=0, f="send", value=[["send", "1", 1]])
    h.h.invoke(time=2, process=1, f="poll", value=[["poll"]])
    h.h.complete(time=3, process=1, type="ok", value=[["poll", {"1": [[0, 1]]}]])
    h.h.complete(time=4, process=0, type="ok", value=[["send", "1", [0, 1]]])
    assert check_kafka(h.h)["valid"] is True


def test_an_empty_poll_does_not_hide_a_skip() -> None:
    base = H().send(0, "1", 1, 0).send(0, "1", 2, 1).send(0, "1", 3, 2).poll(2, {"1": [[0, 1], [1, 2], [2, 3]]})
    res = check_kafka(base.poll(1, {"1": [[0, 1]]}).poll(1, {"1": []}).poll(1, {"1": [[2, 3]]}).h)
    assert [e["skipped"] for e in errs(res, "poll-skip")] == [[[1, 2]]]
