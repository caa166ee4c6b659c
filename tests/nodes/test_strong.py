"""StrongKv on cores joined by a fake network the test drives message by message.

`Cluster` keeps every message in flight in a list: a test (or Hypothesis)
chooses which to deliver, drop or duplicate and when virtual time moves.
Every message goes through `encode`/`decode_line` before it is received,
its sender must be the core that emitted it, and its destination must exist.
Client answers are recorded as a history the linearizability checker reads.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from maelstrom.linearizable import check_history
from nodes.core import DurableStore, VolatileStore
from nodes.strong import REQUEST_TIMEOUT_MS, StrongKv
from protocol.maelstrom_json import ErrorCode, Message, code_is_definite
from tests.nodes.helpers_nodes import roundtrip
from tests.nodes.strong_node import StrongTestNode


class Cluster:
    """StrongKv cores on a hand-driven network, recording a lin-kv history (see module doc)."""

    def __init__(self, n: int = 3, seed: int = 0, store: Callable[[], DurableStore] | None = None,
                 **kv: Any) -> None:
        self.ids = [f"n{i}" for i in range(n)]
        self.cores = {nid: StrongTestNode(rng=random.Random(seed * 1000 + i), kv=StrongKv(**kv))
                      for i, nid in enumerate(self.ids)}
        if store is not None:
            for core in self.cores.values():
                core.durable = store()
        self.now_ms = 0
        self.flight: list[Message] = []
        self.history: list[dict[str, Any]] = []
        self.open: dict[tuple[str, int], dict[str, Any]] = {}
        self.answers: dict[tuple[str, int], dict[str, Any]] = {}
        self.next_msg_id = 0
        self.drop_if: Callable[[Message], bool] = lambda m: False
        for nid, core in self.cores.items():
            [ok] = core.handle(Message("c-init", nid, {"type": "init", "msg_id": 1, "node_id": nid,
                                                       "node_ids": self.ids}), 0)
            assert ok.body["type"] == "init_ok"

    def kv(self, nid: str) -> StrongKv:
        return self.cores[nid].kv

    # -- the network -----------------------------------------------------------------------

    def _emit(self, sender: str, messages: list[Message]) -> None:
        for m in messages:
            assert m.src == sender, (sender, m)
            assert m.dest in self.cores or m.dest.startswith("c"), m
            self.flight.append(roundtrip(m))

    def deliver(self, i: int = 0) -> None:
        m = self.flight.pop(i)
        if self.drop_if(m):
            return
        if m.dest in self.cores:
            self._emit(m.dest, self.cores[m.dest].handle(m, self.now_ms))
        else:
            self._complete(m)

    def duplicate(self, i: int) -> None:
        """Deliver message ``i`` twice (node-to-node only: Maelstrom never duplicates client traffic)."""
        m = self.flight[i]
        if m.src in self.cores and m.dest in self.cores:
            self.flight.append(m)

    def tick(self, ms: int) -> None:
        """Move virtual time ``ms`` on, firing every timer due on the way, in deadline order."""
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

    def settle(self, limit_ms: int = 20_000, step_ms: int = 5, until: tuple[str, int] | None = None) -> None:
        """Deliver FIFO (dropping what ``drop_if`` says), ticking, until every client (or ``until``) has its answer."""
        end = self.now_ms + limit_ms
        while self.open if until is None else until in self.open:
            assert self.now_ms < end, f"unanswered after {limit_ms} ms: {list(self.open.values())}"
            while self.flight:
                self.deliver(0)
            self.tick(step_ms)
        while until is None and self.flight:  # stragglers (late acks) change nothing a client sees
            self.deliver(0)

    # -- clients and the history ---------------------------------------------------------------

    def invoke(self, process: int, node: str, f: str, key: Any = 0, value: Any = None,
               **extra: Any) -> tuple[str, int]:
        client = f"c{process}"
        assert all(c != client for c, _ in self.open), f"{client} already has a request open"
        self.next_msg_id += 1
        body: dict[str, Any] = {"type": f, "key": key, "msg_id": self.next_msg_id, **extra}
        if f == "write":
            body["value"] = value
        elif f == "cas":
            body["from"], body["to"] = value
        self.flight.append(roundtrip(Message(client, node, body)))
        event = {"process": process, "f": f, "key": key, "value": value if f != "read" else None}
        self.open[(client, self.next_msg_id)] = event
        self._record("invoke", event)
        return client, self.next_msg_id

    def _record(self, type_: str, event: dict[str, Any], **extra: Any) -> None:
        self.history.append({"index": len(self.history), "time": self.now_ms * 1_000_000, "type": type_,
                             **event, **extra})

    def _complete(self, m: Message) -> None:
        ident = (m.dest, m.body["in_reply_to"])
        event = self.open.pop(ident)  # exactly one answer per request
        self.answers[ident] = m.body
        body = m.body
        if body["type"] == "read_ok":
            self._record("ok", event, value=body["value"])
        elif body["type"] in ("write_ok", "cas_ok"):
            self._record("ok", event)
        elif event["f"] == "read" and body["code"] == ErrorCode.KEY_DOES_NOT_EXIST:
            self._record("ok", event, value=None)  # stricter than Maelstrom: absent must be right
        elif code_is_definite(body["code"]):
            self._record("fail", event, error=ErrorCode(body["code"]).error_name)
        else:
            self._record("info", event, error=ErrorCode(body["code"]).error_name)

    def request(self, node: str, f: str, key: Any = 0, value: Any = None, **extra: Any) -> dict[str, Any]:
        ident = self.invoke(900 + self.next_msg_id, node, f, key, value, **extra)
        self.settle(until=ident)
        return self.answers[ident]

    def check(self) -> None:
        for key in sorted({repr(e["key"]) for e in self.history}):
            ops = [e for e in self.history if repr(e["key"]) == key]
            result = check_history(ops, time_limit_s=20, clock=time.monotonic)
            assert result["valid"] is True, (key, result, self.history)


def _type(body: dict[str, Any]) -> str:
    return str(body.get("type"))


# --- the happy path ----------------------------------------------------------------------------


def carries(m: Any, kind: str) -> bool:
    """Whether a message is (or relays) a Paxos message of ``kind``: lost means lost both ways."""
    body = m.body
    return body.get("type") == kind or (body.get("type") in ("paxos_relay", "paxos_relayed")
                                         and body["body"].get("type") == kind)


def test_read_write_cas_across_nodes() -> None:
    c = Cluster()
    assert c.request("n0", "read")["code"] == ErrorCode.KEY_DOES_NOT_EXIST
    assert _type(c.request("n1", "write", value=3)) == "write_ok"
    assert c.request("n2", "read") == {"type": "read_ok", "value": 3, "in_reply_to": c.next_msg_id}
    assert _type(c.request("n0", "cas", value=[3, 4])) == "cas_ok"
    bad = c.request("n1", "cas", value=[3, 5])
    assert bad["code"] == ErrorCode.PRECONDITION_FAILED and bad["text"] == "current value 4 is not 3"
    assert c.request("n1", "cas", key=1, value=[0, 1])["code"] == ErrorCode.KEY_DOES_NOT_EXIST
    assert c.request("n2", "read")["value"] == 4
    c.check()


def test_cas_create_if_not_exists_and_json_keys_and_values() -> None:
    c = Cluster()
    answer = c.request("n0", "cas", key="k", value=[1, {"a": [1]}], create_if_not_exists=True)
    assert _type(answer) == "cas_ok"
    assert c.request("n1", "read", key="k")["value"] == {"a": [1]}
    assert c.request("n1", "read", key=1)["code"] == ErrorCode.KEY_DOES_NOT_EXIST
    c.request("n2", "write", key=1.0, value=1.0)
    assert c.request("n0", "read", key=1)["code"] == ErrorCode.KEY_DOES_NOT_EXIST  # 1 and 1.0 differ
    assert c.request("n0", "cas", key=1.0, value=[1, 2])["code"] == ErrorCode.PRECONDITION_FAILED


def test_ok_replies_are_closed_and_malformed_peer_messages_get_error_12() -> None:
    c = Cluster()
    assert set(c.request("n0", "write", value=1)) == {"type", "in_reply_to"}
    assert set(c.request("n0", "read")) == {"type", "in_reply_to", "value"}
    for body in ({"type": "paxos_prepare", "items": [["0", [1]]]},
                 {"type": "paxos_prepare", "items": [[0, [1, "n1"]]]},
                 {"type": "paxos_prepare", "items": "0"},
                 {"type": "paxos_prepare", "items": [["0", [2, "n1"]], ["0", [1, "n1"], 3]]},
                 {"type": "paxos_accept", "items": [["0", [1, "n1"], {"v": "{"}, None]]},
                 {"type": "paxos_accept", "items": [["0", [1, "n1"], {"v": None, "d": [7]}, None]]},
                 {"type": "paxos_accept", "items": [["0", [1, "n1"], {"v": None, "d": []}, [0]]]}):
        [answer] = c.cores["n0"].handle(Message("n1", "n0", {**body, "msg_id": 77}), c.now_ms)
        assert answer.body["code"] == ErrorCode.MALFORMED_REQUEST, (body, answer)
    assert c.request("n2", "read")["value"] == 1  # nothing harmed


def test_a_batch_of_concurrent_requests_at_one_node_commits_in_one_round() -> None:
    c = Cluster()
    c.invoke(1, "n0", "write", value=1)
    c.invoke(2, "n0", "cas", value=[1, 2])
    c.invoke(3, "n0", "read")
    c.settle()  # the write starts a round; the others arrive before its promises and join its accept
    assert c.kv("n0").stats.committed == 1
    assert [e.get("value") for e in c.history if e["type"] == "ok"] == [1, [1, 2], 2]
    c.check()


# --- definite and indefinite failures -----------------------------------------------------------


def test_minority_node_fails_definitely_when_nothing_was_proposed() -> None:
    c = Cluster()
    c.drop_if = lambda m: "n0" in (m.src, m.dest) and not {m.src, m.dest} & {"c1", "c2"}
    ident = c.invoke(1, "n0", "write", value=1)
    majority = c.invoke(2, "n1", "write", value=2)
    c.settle()
    assert c.answers[majority]["type"] == "write_ok"
    assert c.answers[ident]["code"] == ErrorCode.TEMPORARILY_UNAVAILABLE
    assert c.now_ms >= REQUEST_TIMEOUT_MS
    assert c.kv("n0").stats.definite_failures == 1
    c.drop_if = lambda m: False
    assert c.request("n0", "read")["value"] == 2  # the failed write never takes effect
    c.check()


def test_lost_accept_acks_fail_indefinitely_and_the_value_may_land() -> None:
    c = Cluster()
    c.drop_if = lambda m: carries(m, "paxos_accept_ok")
    ident = c.invoke(1, "n0", "write", value=7)
    c.settle()
    assert c.answers[ident]["code"] == ErrorCode.TIMEOUT
    assert c.kv("n0").stats.indefinite_failures == 1
    c.drop_if = lambda m: False
    assert c.request("n1", "read")["value"] == 7  # it did take effect: hence indefinite
    c.check()


def test_request_expiring_during_prepare_is_never_applied() -> None:
    c = Cluster()
    c.drop_if = lambda m: carries(m, "paxos_prepare_ok")
    ident = c.invoke(1, "n0", "write", value=5)
    c.settle()
    assert c.answers[ident]["code"] == ErrorCode.TEMPORARILY_UNAVAILABLE
    c.drop_if = lambda m: False
    assert c.request("n2", "read")["code"] == ErrorCode.KEY_DOES_NOT_EXIST
    assert c.request("n0", "read")["code"] == ErrorCode.KEY_DOES_NOT_EXIST


# --- chained rounds: one round trip in the steady state ---------------------------------------


def _sent_types(c: Cluster, node: str, f: Callable[[], Any]) -> list[str]:
    """The paxos message types ``node`` sends while ``f`` runs."""
    seen: list[str] = []
    real = c.cores[node].handle

    def spy(m: Message, now_ms: int) -> list[Message]:
        out = real(m, now_ms)
        seen.extend(str(o.body.get("type")) for o in out if str(o.body.get("type")).startswith("paxos"))
        return out

    c.cores[node].handle = spy  # type: ignore[method-assign]
    try:
        f()
    finally:
        del c.cores[node].handle
    return seen


def test_steady_state_rounds_on_a_key_skip_prepare() -> None:
    c = Cluster()
    c.request("n0", "write", value=1)  # a full round; its accept also asks for the next promise
    assert c.kv("n0").stats.warm_rounds == 0
    sent = _sent_types(c, "n0", lambda: c.request("n0", "read"))
    assert c.kv("n0").stats.warm_rounds == 1
    assert "paxos_prepare" not in sent and sent.count("paxos_accept") == 1  # thrifty: n0 and one peer
    assert _type(c.request("n0", "cas", value=[1, 2])) == "cas_ok"
    assert c.request("n0", "read")["value"] == 2
    assert c.kv("n0").stats.warm_rounds == 3 and c.kv("n0").stats.rejected == 0
    c.check()


def _accept_dests(c: Cluster, node: str, f: Callable[[], Any]) -> list[str]:
    """Where ``node``'s paxos_accept messages go while ``f`` runs (its outputs, in order)."""
    dests: list[str] = []
    real = c.cores[node].handle, c.cores[node].tick

    def spy(out: list[Message]) -> list[Message]:
        dests.extend(o.dest for o in out if o.body.get("type") == "paxos_accept")
        return out

    c.cores[node].handle = lambda m, now: spy(real[0](m, now))  # type: ignore[method-assign]
    c.cores[node].tick = lambda now: spy(real[1](now))  # type: ignore[method-assign]
    try:
        f()
    finally:
        del c.cores[node].handle, c.cores[node].tick
    return dests


def test_an_accept_goes_to_a_majority_and_moves_to_the_peer_that_answers_when_one_is_silent() -> None:
    c = Cluster()
    c.request("n0", "write", value=1)  # the prepare asks everyone; the accept just n0 and n1
    assert _accept_dests(c, "n0", lambda: c.request("n0", "write", value=2)) == ["n1"]
    # n1 falls silent: the round is resent to every acceptor that has not answered, n2 acks,
    # and from then on n0's accepts go to n2 only (no resend, no wait for n1).
    c.drop_if = lambda m: m.dest == "n1" or m.src == "n1"
    assert _accept_dests(c, "n0", lambda: c.request("n0", "write", value=3)) == ["n1", "n1", "n2"]
    assert c.kv("n0").stats.resends == 1
    assert _accept_dests(c, "n0", lambda: c.request("n0", "write", value=4)) == ["n2"]
    assert c.kv("n0").stats.resends == 1
    c.drop_if = lambda m: False
    assert c.request("n1", "read")["value"] == 4  # n1 missed three accepts; its prepare finds n2's
    c.check()


def test_without_thrifty_an_accept_goes_to_every_peer() -> None:
    c = Cluster(thrifty=False)
    c.request("n0", "write", value=1)
    assert sorted(_accept_dests(c, "n0", lambda: c.request("n0", "write", value=2))) == ["n1", "n2"]
    c.check()


def test_a_warm_round_falls_back_to_prepare_when_another_proposer_intervened() -> None:
    c = Cluster()
    c.request("n0", "write", value=1)
    c.request("n1", "write", value=2)  # n1 prepares above n0's warm ballot (it saw it in the accept)
    assert c.kv("n1").stats.rejected == 0
    assert _type(c.request("n0", "cas", value=[2, 3])) == "cas_ok"  # warm accept nacked, full round
    st = c.kv("n0").stats
    assert st.warm_rounds == 1 and st.rejected == 1 and st.committed == 2
    assert c.request("n2", "read")["value"] == 3
    c.check()


def test_a_late_warm_accept_never_overwrites_a_newer_state() -> None:
    c = Cluster()
    c.request("n0", "write", value=1)
    # n0's warm accepts are held back while n1 commits a write of its own.
    held: list[Message] = []
    c.drop_if = lambda m: m.src == "n0" and m.body.get("type") == "paxos_accept" and not held.append(m)
    warm = c.invoke(1, "n0", "write", value=5)
    while c.flight:
        c.deliver(0)
    c.drop_if = lambda m: False
    assert c.request("n1", "write", value=7)["type"] == "write_ok"
    c.flight.extend(held)  # the stale accepts arrive now: nacked
    c.settle()
    # n1 had adopted n0's half-accepted write (n0's own acceptor held it) and written over it; n0's
    # retry, a full round, finds its write in the done table: ok, and 7 stays.
    assert c.answers[warm]["type"] == "write_ok"
    assert c.request("n2", "read")["value"] == 7
    assert c.kv("n0").stats.rejected >= 1 and c.kv("n0").stats.deduplicated >= 1
    c.check()


# --- pipelined rounds (several accepts of one key's chain in flight) ------------------------------


def _arrive(c: Cluster, ident: tuple[str, int]) -> None:
    """Deliver one client's request to its node now, ahead of every message in flight."""
    [i] = [i for i, m in enumerate(c.flight) if (m.src, m.body.get("msg_id")) == ident]
    c.deliver(i)


def test_requests_arriving_during_a_round_pipeline_behind_it_and_commit_in_chain_order() -> None:
    c = Cluster()
    c.request("n0", "write", value=0)  # prepares: the chain's ballot
    first = c.invoke(1, "n0", "write", value=1)
    _arrive(c, first)  # a chained accept, in flight
    second = c.invoke(2, "n0", "cas", value=[1, 2])
    _arrive(c, second)  # pipelined behind it: proposed on the first one's state, not yet committed
    third = c.invoke(3, "n0", "read")
    _arrive(c, third)
    fourth = c.invoke(4, "n0", "write", value=9)
    _arrive(c, fourth)  # the pipeline is full (3 rounds in flight): it waits for a commit
    st = c.kv("n0").stats
    assert (st.pipelined_rounds, st.committed) == (2, 1)
    c.settle()
    assert [c.answers[i]["type"] for i in (first, second, third, fourth)] == [
        "write_ok", "cas_ok", "read_ok", "write_ok"]
    assert c.answers[third]["value"] == 2
    assert st.committed == 5 and st.rejected == 0 and st.rounds == 5
    assert c.request("n2", "read")["value"] == 9
    c.check()


def test_an_ack_of_a_later_round_commits_the_earlier_ones_of_its_chain() -> None:
    c = Cluster()
    c.request("n0", "write", value=0)
    first = c.invoke(1, "n0", "write", value=1)
    _arrive(c, first)
    second = c.invoke(2, "n0", "cas", value=[1, 2])
    _arrive(c, second)
    # Every ack of the first round is lost; the second round's acks arrive.
    c.drop_if = lambda m: m.body.get("type") == "paxos_accept_ok" and m.body["items"][0][4] == 2
    c.settle()
    assert c.answers[first]["type"] == "write_ok" and c.answers[second]["type"] == "cas_ok"
    assert c.kv("n0").stats.resends == 0  # committed by the later ack, not by a resend
    c.drop_if = lambda m: False
    assert c.request("n1", "read")["value"] == 2
    c.check()


def test_a_pipelined_chain_cut_by_another_proposer_is_retried_and_applied_once() -> None:
    c = Cluster()
    c.request("n0", "write", value=0)
    held: list[Message] = []
    c.drop_if = lambda m: m.src == "n0" and m.body.get("type") == "paxos_accept" and not held.append(m)
    first = c.invoke(1, "n0", "cas", value=[0, 1])
    _arrive(c, first)
    second = c.invoke(2, "n0", "cas", value=[1, 2])
    _arrive(c, second)
    assert c.kv("n0").stats.pipelined_rounds == 1
    while c.flight:
        c.deliver(0)
    c.drop_if = lambda m: False
    other = c.request("n1", "read")  # prepares above n0's chain: both its pending accepts are refused
    assert other["type"] in ("read_ok", "error")
    c.flight.extend(held)
    c.settle()
    # n0's acceptor holds the chain's last state, so n1 may have adopted it; either way the
    # retry (a full round at a fresh ballot) applies each cas exactly once.
    assert [c.answers[i]["type"] for i in (first, second)] == ["cas_ok", "cas_ok"]
    assert c.request("n2", "read")["value"] == 2
    assert c.kv("n0").stats.rejected >= 1
    c.check()


def test_a_pipeline_depth_of_one_waits_for_each_commit() -> None:
    c = Cluster(pipeline_depth=1)
    c.request("n0", "write", value=0)
    first = c.invoke(1, "n0", "write", value=1)
    _arrive(c, first)
    second = c.invoke(2, "n0", "write", value=2)
    _arrive(c, second)
    assert c.kv("n0").stats.pipelined_rounds == 0
    c.settle()
    assert c.kv("n0").stats.pipelined_rounds == 0 and c.request("n1", "read")["value"] == 2
    c.check()


def test_a_round_of_reads_writes_no_record_and_a_restart_from_the_older_one_reads_the_same() -> None:
    c = Cluster()
    c.request("n0", "write", value=1)
    c.request("n0", "read")  # drops the write's done entry: still the same content
    writes = {nid: core.durable.writes for nid, core in c.cores.items()}
    assert c.request("n0", "read")["value"] == 1
    assert c.request("n0", "read")["value"] == 1
    assert {nid: core.durable.writes for nid, core in c.cores.items()} == writes  # no record, no fsync
    assert c.kv("n0").stats.warm_rounds == 3
    # An acceptor restarted from its older record (same value) serves the chain on.
    kept = c.cores["n1"].durable
    c.cores["n1"] = StrongTestNode(rng=random.Random(7), kv=StrongKv())
    c.cores["n1"].durable = DurableStore(kept.records)
    [ok] = c.cores["n1"].handle(Message("c-init", "n1", {"type": "init", "msg_id": 1, "node_id": "n1",
                                                          "node_ids": c.ids}), c.now_ms)
    assert ok.body["type"] == "init_ok"
    assert _type(c.request("n0", "cas", value=[1, 2])) == "cas_ok"
    assert c.request("n1", "read")["value"] == 2
    c.check()


def test_a_volatile_store_gets_no_slot_records_and_rounds_still_commit() -> None:
    c = Cluster(store=VolatileStore)
    c.request("n0", "write", value=1)
    assert c.request("n1", "read")["value"] == 1
    assert all(len(core.durable) == 0 and core.durable.writes > 0 for core in c.cores.values())
    kept = Cluster()
    kept.request("n0", "write", value=1)
    assert len(kept.cores["n1"].durable.items("paxos/slot/")) == 1  # the default store keeps them
    c.check()


def test_ballots_are_reserved_in_blocks_and_a_restart_starts_above_the_block() -> None:
    from nodes.strong import BALLOT_BLOCK, DURABLE_COUNTER

    c = Cluster()
    kv = c.kv("n0")
    for i in range(5):
        c.request("n0", "write", value=i)  # a round or more each, one reservation for all
    used = kv.counter
    assert 1 <= used < BALLOT_BLOCK
    assert c.cores["n0"].durable.get(DURABLE_COUNTER) == BALLOT_BLOCK  # written once, for the block
    # a new life reads the reservation back: every ballot it makes is above any the old one used
    again = StrongKv()
    core = StrongTestNode(rng=random.Random(9), kv=again)
    core.durable = DurableStore(c.cores["n0"].durable.records)
    core.handle(Message("c-init", "n0", {"type": "init", "msg_id": 1, "node_id": "n0", "node_ids": c.ids}), 0)
    assert again._next_ballot() == (BALLOT_BLOCK + 1, "n0")
    assert again.reserved_this_turn and core.durable.get(DURABLE_COUNTER) == 2 * BALLOT_BLOCK


# --- retries, duels and the done table ----------------------------------------------------------


def test_retried_cas_that_another_proposer_completed_keeps_its_success() -> None:
    c = Cluster()
    c.request("n1", "write", value=1)
    # n0's cas reaches only n0's own acceptor: its accepts to n1 and n2 are lost.
    c.drop_if = lambda m: m.src == "n0" and m.body.get("type") == "paxos_accept"
    cas = c.invoke(1, "n0", "cas", value=[1, 2])
    while c.flight:
        c.deliver(0)
    # n1 reads: n0's promise comes first and carries n0's half-accepted state (cas applied), which
    # n1 adopts and completes; n2 promises n1's higher ballot too.
    c.drop_if = lambda m: m.src == "n0" and m.body.get("type") == "paxos_accept"
    assert c.request("n1", "read")["value"] == 2
    c.drop_if = lambda m: False
    c.settle()
    # n0's retry finds its cas in the done table: success, not "current value 2 is not 1".
    assert c.answers[cas] == {"type": "cas_ok", "in_reply_to": cas[1]}
    assert c.kv("n0").stats.deduplicated >= 1
    assert c.request("n2", "read")["value"] == 2
    c.check()


def test_duelling_proposers_all_finish_and_stay_linearizable() -> None:
    c = Cluster(seed=3)
    for p, node in enumerate(c.ids):
        c.invoke(p, node, "write", value=p)
    rng = random.Random(1)
    for _ in range(2000):
        if not c.open:
            break
        if c.flight:
            c.deliver(rng.randrange(len(c.flight)))
        else:
            c.tick(3)
    c.settle()
    assert len([e for e in c.history if e["type"] == "ok"]) == 3  # every write commits
    assert sum(c.kv(n).stats.rejected for n in c.ids) >= 1  # they did duel
    c.check()


def test_duplicated_and_reordered_messages_change_nothing() -> None:
    c = Cluster(seed=5)
    rng = random.Random(5)
    for round_ in range(6):
        for p, node in enumerate(c.ids):
            c.invoke(p, node, "cas" if round_ % 2 else "write", value=[p, round_] if round_ % 2 else round_)
        while c.open:
            if c.flight:
                i = rng.randrange(len(c.flight))
                if rng.random() < 0.5:
                    c.duplicate(i)
                c.deliver(i)
            else:
                c.tick(5)
        c.settle()
    c.check()


def test_five_nodes_tolerate_two_unreachable() -> None:
    c = Cluster(n=5)
    c.drop_if = lambda m: m.src in ("n3", "n4") and m.dest.startswith("n") or m.dest in ("n3", "n4") and m.src.startswith("n")
    assert _type(c.request("n0", "write", value=1)) == "write_ok"
    assert c.request("n2", "read")["value"] == 1
    assert c.request("n3", "read")["code"] == ErrorCode.TEMPORARILY_UNAVAILABLE
    c.check()


# --- random schedules ---------------------------------------------------------------------------


def run_random_schedule(c: Cluster, rng: random.Random, ops: int, *, loss: float, dup: float,
                        burst_max: int = 30, tick_max_ms: int = 20, clients: int = 6) -> None:
    """Drive ``clients`` closed-loop clients through ``ops`` requests on one key.

    Deliveries pick a random message in flight (reordering); node-to-node
    messages are dropped with probability ``loss`` and duplicated with ``dup``.
    """
    invoked = 0
    while invoked < ops:
        for p in range(clients):
            if invoked < ops and not any(k[0] == f"c{p}" for k in c.open):
                f = rng.choice(["read", "write", "cas"])
                value = (None if f == "read" else rng.randrange(3) if f == "write"
                         else [rng.randrange(3), rng.randrange(3)])
                c.invoke(p, c.ids[p % len(c.ids)], f, 0, value)
                invoked += 1
        for _ in range(rng.randrange(1, burst_max + 1)):
            if not c.flight:
                break
            i = rng.randrange(len(c.flight))
            m = c.flight[i]
            between_nodes = m.src in c.cores and m.dest in c.cores
            roll = rng.random()
            if between_nodes and roll < loss:
                c.flight.pop(i)
                continue
            if roll < loss + dup:
                c.duplicate(i)
            c.deliver(i)
        c.tick(rng.randrange(1, tick_max_ms + 1))
    c.settle()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**32), st.sampled_from([3, 5]), st.floats(0, 0.4), st.floats(0, 0.3),
       st.integers(1, 40), st.integers(1, 60))
def test_random_interleavings_drops_and_duplicates_stay_linearizable(
        seed: int, n: int, loss: float, dup: float, burst_max: int, tick_max_ms: int) -> None:
    """Hypothesis picks the schedule's shape and seed; the schedule comes from that seed."""
    rng = random.Random(seed)
    c = Cluster(n=n, seed=seed)
    run_random_schedule(c, rng, 40, loss=loss, dup=dup, burst_max=burst_max, tick_max_ms=tick_max_ms)
    c.check()
    for answer in c.answers.values():  # every request was answered exactly once (settle checks)
        assert answer["type"] != "error" or answer["code"] in (
            ErrorCode.TIMEOUT, ErrorCode.TEMPORARILY_UNAVAILABLE, ErrorCode.KEY_DOES_NOT_EXIST,
            ErrorCode.PRECONDITION_FAILED), answer


@pytest.mark.parametrize("seed", range(4))
def test_random_load_with_loss_and_duplication_is_linearizable(seed: int) -> None:
    """A longer schedule: 6 clients on 3 nodes, 20 % loss and 10 % duplication between nodes."""
    c = Cluster(seed=seed)
    run_random_schedule(c, random.Random(seed), 150, loss=0.2, dup=0.1)
    c.check()
    assert sum(c.kv(n).stats.committed for n in c.ids) > 20
