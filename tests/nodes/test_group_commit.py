"""Strong mode's group commit in `Replication`: what depends on a record leaves only after the fsync covering it.

n1 is a real `Replication` (real engine, real `DurableLog` in a temporary
directory) whose transport's ``send`` is captured; n2 and n3 are bare
`StrongKv` cores the test delivers to by hand. ``os.fsync`` is wrapped so
that each fsync of n1's log records what n1 had sent and answered at that
moment: the fsync runs inline at the end of a turn, so the snapshot shows
what left before it and what waited for it.
"""

from __future__ import annotations

import gc
import os
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import trio

from crdt.engine import DEFERRED, Engine
from nodes.durable_log import DurableLog
from nodes.replica_serve import BUNDLE_TYPE, ReplicaOptions, Replication, _freeze_survivors
from nodes.strong import PHASE_REQUESTS, StrongKv
from protocol.maelstrom_json import Message
from tests.nodes.helpers_nodes import roundtrip
from tests.nodes.strong_node import StrongTestNode

NOW_MS = 1_000_000


@dataclass
class Session:
    db_index: int = 0
    resp3: bool = False
    now_ms: int = NOW_MS


class FakeServer:
    """What `Replication` uses of a `RespServer`: the engine and the deferred replies."""

    def __init__(self) -> None:
        self.engine = Engine(now_ms=NOW_MS)
        self.replication: Any = None
        self.answered: list[bytes] = []

    def answer_deferred(self, session: Session, reply: bytes) -> None:
        self.answered.append(reply)

    def after_external_writes(self) -> None:
        pass


class Harness:
    """n1 (a `Replication`) and the cores n2, n3, joined by lists the test delivers from."""

    def __init__(self, data: Path) -> None:
        self.server = FakeServer()
        options = ReplicaOptions(node_id="n1", mode="strong", data_dir=data,
                                 peers={"n2": ("127.0.0.1", 1), "n3": ("127.0.0.1", 1)})
        self.repl = Replication(self.server, options, rng=random.Random(1), clock=lambda: NOW_MS)
        self.sent: list[Message] = []  # what n1 handed its transport, bundles opened
        self.repl.transport.send = self._capture  # type: ignore[method-assign]
        self.peers = {nid: StrongTestNode(rng=random.Random(i), kv=StrongKv()) for i, nid in enumerate(("n2", "n3"))}
        for nid, core in self.peers.items():
            core.handle(Message("c-init", nid, {"type": "init", "msg_id": 1, "node_id": nid,
                                                "node_ids": ["n1", "n2", "n3"]}), NOW_MS)
        self.to_n1: list[Message] = []

    def _capture(self, msg: Message) -> None:
        if msg.body["type"] == BUNDLE_TYPE:
            self.sent += [Message(msg.src, msg.dest, body) for body in msg.body["bodies"]]
        else:
            self.sent.append(msg)

    def set(self, value: bytes) -> None:
        """A client's SET routed into a round, and the batch's end (the round starts)."""
        assert self.repl._route([b"SET", b"k", value], Session()) is DEFERRED
        self.repl.after_batch(NOW_MS)

    def deliver_to_peers(self) -> None:
        while self.sent:
            msg = roundtrip(self.sent.pop(0))
            self.to_n1 += self.peers[msg.dest].handle(msg, NOW_MS)

    def deliver_to_n1(self) -> None:
        while self.to_n1:
            msg = roundtrip(self.to_n1.pop(0))
            self.repl._emit(self.repl._handle(msg, NOW_MS))

    def pump(self) -> None:
        while self.sent or self.to_n1:
            self.deliver_to_peers()
            self.deliver_to_n1()


@dataclass
class Snapshot:
    """What n1 had sent (message types) and answered (replies) when an fsync of its log ran."""

    sent: list[str]
    answered: list[bytes]


class FsyncRecorder:
    """Wraps ``os.fsync``: an fsync of a file under ``directory`` records a `Snapshot` first."""

    def __init__(self, directory: Path) -> None:
        self.directory = str(directory)
        self.harness: Harness | None = None
        self.snapshots: list[Snapshot] = []
        self.real = os.fsync

    def fsync(self, fd: int) -> None:
        if self.harness is not None and os.readlink(f"/proc/self/fd/{fd}").startswith(self.directory):
            h = self.harness
            self.snapshots.append(Snapshot([m.body["type"] for m in h.sent], list(h.server.answered)))
        self.real(fd)


@pytest.fixture
def fsyncs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FsyncRecorder:
    recorder = FsyncRecorder(tmp_path)
    monkeypatch.setattr(os, "fsync", recorder.fsync)
    return recorder


def test_a_reply_and_a_new_reservations_requests_wait_for_the_fsync(tmp_path: Path, fsyncs: FsyncRecorder) -> None:
    h = fsyncs.harness = Harness(tmp_path / "n1")
    # The first round reserves ballots: even its phase requests wait for that record.
    h.set(b"v1")
    assert fsyncs.snapshots == [Snapshot([], [])]
    assert h.sent and {m.body["type"] for m in h.sent} <= PHASE_REQUESTS
    h.pump()
    assert h.server.answered == [b"+OK\r\n"]

    # A warm round: its accepts leave before the fsync of this node's own accept record (so
    # the peers' fsyncs overlap it); the client hears OK only after the acks commit the round.
    fsyncs.snapshots.clear()
    h.set(b"v2")
    [at_accept] = fsyncs.snapshots
    assert at_accept.sent and set(at_accept.sent) <= PHASE_REQUESTS
    assert at_accept.answered == [b"+OK\r\n"]
    committed = h.repl.kv.stats.committed
    h.pump()
    assert h.repl.kv.stats.committed == committed + 1
    assert h.server.answered == [b"+OK\r\n"] * 2
    durable = h.repl.durable
    assert durable is not None and durable.synced == durable.appended
    durable.close()


def test_an_acceptors_answers_wait_for_one_fsync_and_keep_their_order(tmp_path: Path, fsyncs: FsyncRecorder) -> None:
    h = fsyncs.harness = Harness(tmp_path / "n1")
    n2 = h.peers["n2"]
    out = n2.handle(Message("c1", "n2", {"type": "write", "key": 1, "value": 5, "msg_id": 7}), NOW_MS)
    [request] = [m for m in out if m.dest == "n1"]
    kind = request.body["type"]
    assert kind in PHASE_REQUESTS
    # Two requests of n2 in one bundle: one turn, one fsync, both answers after it, in order.
    later = Message("n2", "n1", {"type": kind, "items": [["2", [5, "n2"]]]})
    bundle = Message("n2", "n1", {"type": BUNDLE_TYPE, "bodies": [request.body, later.body]})
    fsyncs_before = h.repl.durable.fsyncs  # type: ignore[union-attr]
    h.repl._emit(h.repl._handle(roundtrip(bundle), NOW_MS))
    assert fsyncs.snapshots == [Snapshot([], [])]  # nothing answered before the records were on disk
    assert h.repl.durable.fsyncs == fsyncs_before + 1  # type: ignore[union-attr]
    assert [(m.dest, m.body["type"]) for m in h.sent] == [("n2", kind + "_ok")] * 2
    assert [[item[0] for item in m.body["items"]] for m in h.sent] == [["1"], ["2"]]
    h.repl.durable.close()  # type: ignore[union-attr]


def test_a_turn_that_appends_nothing_sends_at_once_without_an_fsync(tmp_path: Path, fsyncs: FsyncRecorder) -> None:
    h = fsyncs.harness = Harness(tmp_path / "n1")
    h.set(b"v1")
    h.pump()
    fsyncs.snapshots.clear()
    # A read of an unchanged key: its round writes no acceptor record, so nothing to fsync.
    assert h.repl._route([b"GET", b"k"], Session()) is DEFERRED
    h.repl.after_batch(NOW_MS)
    h.pump()
    assert h.server.answered[-1] == b"$2\r\nv1\r\n"
    assert fsyncs.snapshots == []
    h.repl.durable.close()  # type: ignore[union-attr]


def test_the_durable_log_is_compacted_off_the_event_loop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    h = Harness(tmp_path / "n1")
    durable = h.repl.durable
    assert durable is not None and durable.background
    durable.compact_min_bytes = 2048
    finished = trio.Event()
    real_finish = DurableLog.finish_compaction

    def finish(store: DurableLog, job: Any) -> None:
        real_finish(store, job)
        finished.set()

    monkeypatch.setattr(DurableLog, "finish_compaction", finish)

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(h.repl._compact_loop)
            with trio.fail_after(10):
                while not durable.compaction_wanted:  # rounds until the log asks (it never compacts inline)
                    h.set(b"v%d" % durable.appended)
                    h.pump()
                    assert durable.compactions == 0
                await finished.wait()  # the compaction task ran it, its worker thread wrote the file
            nursery.cancel_scope.cancel()

    trio.run(main)
    assert durable.compactions == 1 and h.server.answered[-1] == b"+OK\r\n"
    assert durable.bytes_on_disk == (tmp_path / "n1" / "durable.log").stat().st_size
    records = dict(durable.items())
    durable.close()
    reopened = DurableLog.open(tmp_path / "n1")
    assert dict(reopened.items()) == records
    reopened.close()


def test_what_survives_a_middle_collection_is_frozen_and_never_traversed_again() -> None:
    gc.callbacks.append(_freeze_survivors)
    enabled = gc.isenabled()
    gc.disable()  # only the collections this test runs
    try:
        gc.collect(0)
        before = gc.get_freeze_count()
        kept = [[i] for i in range(1_000)]  # long-lived containers, as a keyspace's
        gc.collect(0)
        assert gc.get_freeze_count() == before  # a young collection freezes nothing
        gc.collect(1)
        assert gc.get_freeze_count() >= before + len(kept)
        assert gc.get_count()[2] == 0  # nothing left for a full collection to traverse
    finally:
        gc.callbacks.remove(_freeze_survivors)
        gc.unfreeze()
        if enabled:
            gc.enable()
