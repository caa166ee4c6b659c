"""`Replication.after_batch` in eventual mode: every batch stamped at once, sent at most once a window.

Driven by hand with a fake clock and a transport whose `send` is recorded:
no sockets, no trio run (the driver's loop is not started).
"""

from __future__ import annotations

import random
from types import SimpleNamespace
from typing import Any

import orjson

from crdt.engine import Engine
from nodes.replica_serve import BUNDLE_TYPE, REPLICATE_WINDOW_MS, ReplicaOptions, Replication
from protocol.maelstrom_json import Message

T0 = 1_000_000


def _driver(mode: str = "eventual") -> tuple[Replication, list[Message], list[int], Any]:
    engine = Engine(now_ms=T0)
    server = SimpleNamespace(engine=engine, after_external_writes=lambda: None, replication=None)
    clock = [T0]
    rep = Replication(server, ReplicaOptions(node_id="n1", mode=mode, peers={"n2": ("127.0.0.1", 1)}),
                      rng=random.Random(1), clock=lambda: clock[0])
    sent: list[Message] = []
    rep.transport.send = sent.append  # type: ignore[method-assign]
    engine.loading = False
    return rep, sent, clock, engine.open_session(T0, addr="client")


def _replicated(sent: list[Message]) -> list[dict[str, Any]]:
    """The replication messages sent (bundles opened), as JSON would carry them."""
    out = []
    for m in sent:
        bodies = m.body["bodies"] if m.body.get("type") == BUNDLE_TYPE else [m.body]
        for body in bodies:
            if body.get("type") == "kv_delta":
                out.append(orjson.loads(orjson.dumps(body)))
            elif body.get("type") == "causal_writes":
                out += orjson.loads(orjson.dumps(body["writes"]))
    return out


def _keys(body: dict[str, Any]) -> list[str]:
    return [e[0] for e in body["entries"]]


def test_batches_within_the_window_are_stamped_at_once_and_leave_together() -> None:
    rep, sent, _, client = _driver()
    engine = rep.engine
    engine.execute([b"SET", b"a", b"1"], client, T0)
    rep.after_batch(T0)  # the first write after a quiet spell leaves at once
    assert [_keys(b) for b in _replicated(sent)] == [["a"]]
    engine.execute([b"SET", b"b", b"2"], client, T0 + 1)
    rep.after_batch(T0 + 1)
    engine.execute([b"INCR", b"n"], client, T0 + 1)
    engine.execute([b"SET", b"n", b"5"], client, T0 + 1)
    rep.after_batch(T0 + 1)
    assert len(_replicated(sent)) == 1  # held for the window
    assert rep.batches_replicated == 3  # but each batch was stamped on its own
    assert rep._replicate_due_ms == T0 + REPLICATE_WINDOW_MS
    rep.after_batch(T0 + REPLICATE_WINDOW_MS, force=True)  # the timer task at the window's end
    bodies = _replicated(sent)
    assert len(bodies) == 2 and _keys(bodies[1]) == ["b", "n"]
    assert rep._replicate_due_ms is None
    rep.after_batch(T0 + 10)  # nothing written: nothing sent
    assert len(_replicated(sent)) == 2


def test_a_write_after_the_window_leaves_at_once_and_force_sends_what_waits() -> None:
    rep, sent, _, client = _driver("causal")
    engine = rep.engine
    engine.execute([b"SADD", b"s", b"x"], client, T0)
    rep.after_batch(T0)
    engine.execute([b"SADD", b"s", b"y"], client, T0)
    rep.after_batch(T0)
    assert len(_replicated(sent)) == 1
    rep.after_batch(T0, force=True)  # e.g. before a peer's message is handled
    assert len(_replicated(sent)) == 2
    engine.execute([b"DEL", b"s"], client, T0 + REPLICATE_WINDOW_MS)
    rep.after_batch(T0 + REPLICATE_WINDOW_MS)  # a window after the last send: at once
    assert len(_replicated(sent)) == 3
