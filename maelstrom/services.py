"""Maelstrom's services, reachable by nodes as ``lin-kv``, ``seq-kv``, ``lww-kv``, ``lin-tso``.

Strategy (maelstrom-spec.md section 5, ``service.clj``): a service is a pure
state machine. `Service.handle` takes one request message and the run's
``random.Random`` and returns the reply (``in_reply_to`` set, no
``msg_id``) or None. An unknown request type gets no reply, as in
Maelstrom (its service thread throws). The network gives service traffic the
normal node latency but never partitions it.

- ``lin-kv``: one map, updated atomically. ``read`` → ``read_ok{value}`` or
  20; ``write`` → ``write_ok``; ``cas{key,from,to,create_if_not_exists?}``
  → ``cas_ok``, 22 "current value X is not Y", or 20 unless
  ``create_if_not_exists``.
- ``seq-kv``: the last 32 states; each caller reads from a random state no
  older than the last one it saw. A request that changes nothing there
  stands; otherwise it re-runs on the newest state and appends the result.
- ``lww-kv``: 2 replicas; each op first merges a random pair
  (last-writer-wins per key, by a global version counter), then runs on a
  random replica. Unlike Maelstrom's, the merge is kept, so replicas
  converge.
- ``lin-tso``: ``ts`` → ``ts_ok{ts}`` counting 0, 1, 2….

Values compare with JSON equality: ``1`` and ``1.0`` differ, as in Clojure.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import orjson

from protocol.maelstrom_json import ErrorCode, Message, error_body

SERVICE_IDS: Final[tuple[str, ...]] = ("lin-kv", "seq-kv", "lww-kv", "lin-tso")
SEQ_KV_HISTORY: Final[int] = 32
LWW_KV_REPLICAS: Final[int] = 2

KvMap = Mapping[str, Any]


def _json_key(v: Any) -> bytes:
    """A canonical encoding for JSON equality (int 1 and float 1.0 differ)."""
    return orjson.dumps(v, option=orjson.OPT_SORT_KEYS)


def _same(a: Any, b: Any) -> bool:
    return _json_key(a) == _json_key(b)


def _key(body: Mapping[str, Any]) -> bytes:
    return _json_key(body.get("key"))


def apply_kv(state: dict[bytes, Any], body: Mapping[str, Any], create_ok: bool = True
             ) -> tuple[dict[str, Any] | None, dict[bytes, Any] | None]:
    """Run one kv request on a map (not mutated).

    Returns:
        ``(reply body without in_reply_to, new state or None if unchanged)``;
        the reply is None for an unknown request type.
    """
    t = body.get("type")
    k = _key(body)
    if t == "read":
        if k not in state:
            return error_body(ErrorCode.KEY_DOES_NOT_EXIST, "key does not exist"), None
        return {"type": "read_ok", "value": state[k]}, None
    if t == "write":
        v = body.get("value")
        if k in state and _same(state[k], v):
            return {"type": "write_ok"}, None
        return {"type": "write_ok"}, {**state, k: v}
    if t == "cas":
        frm, to = body.get("from"), body.get("to")
        if k not in state:
            if create_ok and body.get("create_if_not_exists") is True:
                return {"type": "cas_ok"}, {**state, k: to}
            return error_body(ErrorCode.KEY_DOES_NOT_EXIST, "key does not exist"), None
        cur = state[k]
        if not _same(cur, frm):
            text = f"current value {orjson.dumps(cur).decode()} is not {orjson.dumps(frm).decode()}"
            return error_body(ErrorCode.PRECONDITION_FAILED, text), None
        if _same(frm, to):
            return {"type": "cas_ok"}, None
        return {"type": "cas_ok"}, {**state, k: to}
    return None, None


class Service:
    """A node-reachable service: one request in, at most one reply out."""

    id: str = ""

    def handle(self, msg: Message, rng: random.Random) -> Message | None:
        """Answer ``msg`` (None: no reply, e.g. an unknown request type)."""
        if msg.msg_id is None:
            return None
        body = self._answer(msg.src, msg.body, rng)
        if body is None:
            return None
        return Message(self.id, msg.src, {**body, "in_reply_to": msg.msg_id})

    def _answer(self, src: str, body: Mapping[str, Any], rng: random.Random
                ) -> dict[str, Any] | None:
        raise NotImplementedError


@dataclass
class LinKvService(Service):
    """One atomically updated map."""

    id: str = "lin-kv"
    state: dict[bytes, Any] = field(default_factory=dict)

    def _answer(self, src: str, body: Mapping[str, Any], rng: random.Random
                ) -> dict[str, Any] | None:
        reply, new = apply_kv(self.state, body)
        if new is not None:
            self.state = new
        return reply


@dataclass
class SeqKvService(Service):
    """Sequentially consistent: reads may be stale, but never older than the caller has seen."""

    id: str = "seq-kv"
    states: list[dict[bytes, Any]] = field(default_factory=lambda: [{}])
    base: int = 0  # absolute index of states[0]
    seen: dict[str, int] = field(default_factory=dict)

    def _answer(self, src: str, body: Mapping[str, Any], rng: random.Random
                ) -> dict[str, Any] | None:
        newest = self.base + len(self.states) - 1
        lo = max(self.seen.get(src, 0), self.base)
        idx = rng.randint(lo, newest)
        reply, new = apply_kv(self.states[idx - self.base], body)
        if reply is None:
            return None
        if new is None:
            self.seen[src] = idx
            return reply
        reply, new = apply_kv(self.states[-1], body)
        if new is not None:
            self.states.append(new)
            if len(self.states) > SEQ_KV_HISTORY:
                self.states.pop(0)
                self.base += 1
        self.seen[src] = self.base + len(self.states) - 1
        return reply


@dataclass
class LwwKvService(Service):
    """Replicas merged pairwise by last-writer-wins; converges (unlike Maelstrom's)."""

    id: str = "lww-kv"
    replicas: list[dict[bytes, tuple[int, Any]]] = field(
        default_factory=lambda: [{} for _ in range(LWW_KV_REPLICAS)])
    version: int = 0

    @staticmethod
    def merge(a: dict[bytes, tuple[int, Any]], b: dict[bytes, tuple[int, Any]]
              ) -> dict[bytes, tuple[int, Any]]:
        """Per key, the entry with the higher version."""
        out = dict(a)
        for k, e in b.items():
            if k not in out or e[0] > out[k][0]:
                out[k] = e
        return out

    def _answer(self, src: str, body: Mapping[str, Any], rng: random.Random
                ) -> dict[str, Any] | None:
        i, j = rng.sample(range(len(self.replicas)), 2)
        merged = self.merge(self.replicas[i], self.replicas[j])
        self.replicas[i] = merged
        self.replicas[j] = dict(merged)
        r = rng.randrange(len(self.replicas))
        plain = {k: v for k, (_, v) in self.replicas[r].items()}
        reply, new = apply_kv(plain, body, create_ok=False)
        if new is not None:
            self.version += 1
            rep = dict(self.replicas[r])
            for k, v in new.items():
                if k not in plain or not _same(plain[k], v):
                    rep[k] = (self.version, v)
            self.replicas[r] = rep
        return reply


@dataclass
class LinTsoService(Service):
    """A timestamp oracle: 0, 1, 2… with no gaps."""

    id: str = "lin-tso"
    next_ts: int = 0

    def _answer(self, src: str, body: Mapping[str, Any], rng: random.Random
                ) -> dict[str, Any] | None:
        if body.get("type") != "ts":
            return None
        ts = self.next_ts
        self.next_ts += 1
        return {"type": "ts_ok", "ts": ts}


def make_services() -> dict[str, Service]:
    """A fresh instance of every service, by id."""
    services: list[Service] = [LinKvService(), SeqKvService(), LwwKvService(), LinTsoService()]
    return {s.id: s for s in services}
