"""A fake network joining `NodeCore`s in one process, on virtual time.

Every message a core emits goes through `encode` and `decode_line` before
the receiver sees it (and must come back equal), its sender must be the
core that emitted it and its destination must exist, as Maelstrom's network
asserts. Clients are plain ids whose inboxes the test reads. Links can be
cut one way (`cut`) and healed; messages on a cut link are dropped.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

from nodes.core import NodeCore, Rpc
from protocol.maelstrom_json import Message, decode_line, encode


def roundtrip(msg: Message) -> Message:
    """Check that ``msg`` survives the wire unchanged and return the received copy."""
    received = decode_line(encode(msg))
    assert received == msg, (msg, received)
    return received


def assert_closed_ok(body: dict[str, Any], spec: Rpc, in_reply_to: int) -> None:
    """A ``*_ok`` body has exactly ``type``, ``in_reply_to`` and the spec's reply fields."""
    assert body["type"] == spec.reply_type, body
    assert body["in_reply_to"] == in_reply_to, body
    assert set(body) == {"type", "in_reply_to", *spec.reply_fields}, body


def assert_error(body: dict[str, Any], code: int, in_reply_to: int) -> None:
    """An error body with ``code`` answering ``in_reply_to`` and a text."""
    assert body["type"] == "error", body
    assert body["code"] == code, body
    assert body["in_reply_to"] == in_reply_to, body
    assert isinstance(body.get("text"), str), body


class Net:
    """Cores on one virtual clock, joined by checked, cuttable FIFO links.

    Args:
        cores: node id -> core (not yet initialised).
        now_ms: the starting virtual time.
    """

    def __init__(self, cores: dict[str, NodeCore], now_ms: int = 0) -> None:
        self.cores = cores
        self.now_ms = now_ms
        self.queue: deque[Message] = deque()
        self.inbox: dict[str, list[Message]] = {}
        self.cut_links: set[tuple[str, str]] = set()
        self.delivered = 0
        self.dropped = 0
        self.trace: list[tuple[int, bytes]] = []  # (time, encoded message) of every delivery
        self._client_msg_ids: dict[str, int] = {}

    def init_all(self) -> None:
        """Send every core its init, as Maelstrom does, and check the init_ok."""
        ids = list(self.cores)
        for i, node in enumerate(ids):
            client = f"c-init{i}"
            self.client_send(client, node, {"type": "init", "node_id": node, "node_ids": ids})
        self.deliver_all()
        for i, _ in enumerate(ids):
            [reply] = self.take(f"c-init{i}")
            assert reply.body["type"] == "init_ok", reply

    def client_send(self, client: str, dest: str, body: dict[str, Any]) -> int:
        """Queue a request from ``client``; returns the msg_id it got."""
        msg_id = self._client_msg_ids.get(client, 0) + 1
        self._client_msg_ids[client] = msg_id
        self.inbox.setdefault(client, [])
        self.queue.append(roundtrip(Message(client, dest, {**body, "msg_id": msg_id})))
        return msg_id

    def take(self, client: str) -> list[Message]:
        """Everything delivered to ``client`` so far (the inbox is emptied)."""
        got, self.inbox[client] = self.inbox.get(client, []), []
        return got

    def cut(self, a: str, b: str) -> None:
        """Drop every message between ``a`` and ``b`` (both ways) until `heal`."""
        self.cut_links |= {(a, b), (b, a)}

    def heal(self) -> None:
        self.cut_links.clear()

    def _emit(self, sender: str, messages: Iterable[Message]) -> None:
        for m in messages:
            assert m.src == sender, (sender, m)
            assert m.dest in self.cores or m.dest in self.inbox, f"{sender} sent to unknown {m.dest}: {m}"
            self.queue.append(roundtrip(m))

    def deliver_all(self) -> None:
        """Deliver queued messages (and what they cause) until the queue is empty."""
        while self.queue:
            m = self.queue.popleft()
            if (m.src, m.dest) in self.cut_links:
                self.dropped += 1
                continue
            self.delivered += 1
            self.trace.append((self.now_ms, encode(m)))
            core = self.cores.get(m.dest)
            if core is None:
                self.inbox[m.dest].append(m)
            else:
                self._emit(m.dest, core.handle(m, self.now_ms))

    def advance(self, until_ms: int) -> None:
        """Deliver, then fire timers in deadline order, up to virtual time ``until_ms``."""
        self.deliver_all()
        while True:
            deadlines = [(d, n) for n, c in self.cores.items() if (d := c.next_deadline_ms()) is not None]
            if not deadlines:
                break
            at, node = min(deadlines)
            if at > until_ms:
                break
            self.now_ms = max(self.now_ms, at)
            self._emit(node, self.cores[node].tick(self.now_ms))
            self.deliver_all()
        self.now_ms = max(self.now_ms, until_ms)

    def run_until(self, done: Callable[[], bool], limit_ms: int, step_ms: int = 10) -> None:
        """`advance` in steps until ``done()`` holds; fail after ``limit_ms`` of virtual time."""
        end = self.now_ms + limit_ms
        self.deliver_all()
        while not done():
            assert self.now_ms < end, f"not done after {limit_ms} ms of virtual time"
            self.advance(self.now_ms + step_ms)

    def request(self, client: str, dest: str, body: dict[str, Any], limit_ms: int = 5000) -> dict[str, Any]:
        """Send one request and run until its answer arrives; return the answer's body."""
        msg_id = self.client_send(client, dest, body)
        answers: list[Message] = []

        def answered() -> bool:
            answers.extend(m for m in self.take(client) if m.body.get("in_reply_to") == msg_id)
            return bool(answers)

        self.run_until(answered, limit_ms)
        assert len(answers) == 1, answers
        return answers[0].body
