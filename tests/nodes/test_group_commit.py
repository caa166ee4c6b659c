"""Strong mode's group commit in `Replication`: what depends on a record leaves only after the fsync covering it.

n1 is a real `Replication` (real engine, real `DurableLog` in a temporary
directory) whose transport's ``send`` is captured; n2 and n3 are bare
`StrongKv` cores the test delivers to by hand. ``os.fsync`` is wrapped so
that an fsync of n1's log blocks on an event the test sets: while it is
held, the test checks what n1 has (not) sent or answered. Waiting is on a
condition under a deadline (`until`), never a bare sleep.
"""

from __future__ import annotations

import os
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import trio

from crdt.engine import DEFERRED, Engine
from nodes.replica_serve import BUNDLE_TYPE, ReplicaOptions, Replication
from nodes.strong import PHASE_REQUESTS, StrongKv
from protocol.maelstrom_json import Message
from tests.nodes.helpers_nodes import roundtrip
from tests.nodes.strong_node import StrongTestNode

#: How long a test waits for anything before failing.
DEADLINE_S = 10.0
NOW_MS = 1_000_000


class FsyncGate:
    """Wraps ``os.fsync``: while closed, an fsync of a file under ``directory`` blocks until `release`."""

    def __init__(self, directory: Path) -> None:
        self.directory = str(directory)
        self.closed = False
        self.entered = threading.Event()
        self.opened = threading.Event()
        self.real = os.fsync

    def fsync(self, fd: int) -> None:
        if self.closed and os.readlink(f"/proc/self/fd/{fd}").startswith(self.directory):
            self.entered.set()
            assert self.opened.wait(DEADLINE_S), "the test never released the fsync"
        self.real(fd)

    def close(self) -> None:
        self.entered.clear()
        self.opened.clear()
        self.closed = True

    def release(self) -> None:
        self.closed = False
        self.opened.set()


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


async def until(condition: Callable[[], bool], step: Callable[[], None] = lambda: None) -> None:
    """Let the other tasks (and the fsync thread) run until ``condition`` holds; fail after DEADLINE_S."""
    with trio.fail_after(DEADLINE_S):
        while True:
            step()
            if condition():
                return
            await trio.sleep(0.001)


async def fsync_entered(gate: FsyncGate) -> None:
    with trio.fail_after(DEADLINE_S):
        assert await trio.to_thread.run_sync(gate.entered.wait, DEADLINE_S)


@pytest.fixture
def gate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FsyncGate:
    gate = FsyncGate(tmp_path)
    monkeypatch.setattr(os, "fsync", gate.fsync)
    return gate


def test_a_reply_and_a_new_reservations_requests_wait_for_the_fsync(tmp_path: Path, gate: FsyncGate) -> None:
    h = Harness(tmp_path / "n1")

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(h.repl._commit_loop)
            # The first round reserves ballots: even its phase requests wait for that record.
            gate.close()
            h.set(b"v1")
            await fsync_entered(gate)
            assert h.sent == [] and h.server.answered == []
            gate.release()
            await until(lambda: bool(h.sent))
            assert {m.body["type"] for m in h.sent} <= PHASE_REQUESTS
            await until(lambda: h.server.answered == [b"+OK\r\n"], h.pump)

            # A warm round: its accepts leave at once (no new reservation); the acks commit
            # it, but the client hears OK only once this node's own accept record is on disk.
            gate.close()
            committed = h.repl.kv.stats.committed
            h.set(b"v2")
            assert h.sent and {m.body["type"] for m in h.sent} <= PHASE_REQUESTS
            h.pump()
            assert h.repl.kv.stats.committed == committed + 1
            await fsync_entered(gate)
            assert h.server.answered == [b"+OK\r\n"]  # the second reply is held
            info = dict(line.split(":", 1) for line in h.repl.info_lines(NOW_MS) if line.startswith("gyre_durable"))
            assert int(info["gyre_durable_held_turns"]) >= 1 and int(info["gyre_durable_unsynced_records"]) >= 1
            gate.release()
            await until(lambda: len(h.server.answered) == 2)
            assert h.server.answered[1] == b"+OK\r\n"
            assert h.repl.durable is not None and h.repl.durable.synced == h.repl.durable.appended
            nursery.cancel_scope.cancel()

    trio.run(main)
    h.repl.durable.close()  # type: ignore[union-attr]


def test_an_acceptors_answer_waits_for_the_fsync_and_keeps_its_order(tmp_path: Path, gate: FsyncGate) -> None:
    h = Harness(tmp_path / "n1")
    n2 = h.peers["n2"]

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(h.repl._commit_loop)
            gate.close()
            out = n2.handle(Message("c1", "n2", {"type": "write", "key": 1, "value": 5, "msg_id": 7}), NOW_MS)
            [request] = [m for m in out if m.dest == "n1"]
            assert request.body["type"] in PHASE_REQUESTS
            h.repl._emit(h.repl._handle(roundtrip(request), NOW_MS))
            await fsync_entered(gate)
            assert h.sent == []  # n1's promise waits for its record
            # A later request of the same peer, answered while that fsync runs, queues
            # behind the first answer (one FIFO of held turns) and needs the next fsync.
            later = Message("n2", "n1", {"type": request.body["type"], "items": [["2", [5, "n2"]]]})
            h.repl._emit(h.repl._handle(later, NOW_MS))
            assert h.sent == []
            gate.release()
            await until(lambda: len(h.sent) == 2)
            assert [(m.dest, m.body["type"]) for m in h.sent] == [("n2", request.body["type"] + "_ok")] * 2
            assert [[item[0] for item in m.body["items"]] for m in h.sent] == [["1"], ["2"]]
            assert h.repl.durable is not None and h.repl.durable.fsyncs >= 2
            nursery.cancel_scope.cancel()

    trio.run(main)
    h.repl.durable.close()  # type: ignore[union-attr]
