"""A tiny in-memory network of replicas of one typed CRDT, for the test_typed_* files.

Each replica owns a state, a hybrid clock and a replica id. A local operation
returns a delta, which is queued (as JSON, so every delivery also checks the
wire form) for every other replica. The network delivers queued deltas in a
random order, duplicates some, loses some (kept aside and redelivered on
`heal`), and can hold a partition between two groups. Everything random comes
from one `random.Random`.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from fractions import Fraction
from typing import Any

from crdt.replication.clocks import HybridClock, Timestamp, VectorClock
from crdt.replication.typed import CounterRegister, KeyCRDT, ORHash, ORSet, RList, ZSetCRDT
from crdt.replication.typed.base import Typed

Op = Callable[[Any, str, random.Random, Timestamp], Any]

MEMBERS = [b"a", b"b", b"c", b"d"]


class Net:
    """Replicas plus the messages between them (module doc)."""

    def __init__(self, make: Callable[[], Any], rng: random.Random, n: int = 3) -> None:
        self.rng = rng
        self.ids = [f"r{i}" for i in range(n)]
        self.states = {r: make() for r in self.ids}
        self.clocks = {r: HybridClock(r) for r in self.ids}
        self.queue: list[tuple[str, Any]] = []  # (destination, delta JSON)
        self.lost: list[tuple[str, Any]] = []
        self.cut: set[frozenset[str]] = set()
        self.now = 0
        self.cls = type(self.states[self.ids[0]])

    def op(self, replica: str, fn: Op) -> None:
        self.now += 1
        ts = self.clocks[replica].now(self.now)
        delta = fn(self.states[replica], replica, self.rng, ts)
        if delta is None:
            return
        wire = delta.to_json()
        for other in self.ids:
            if other != replica:
                self.queue.append((other, wire))

    def partition(self, group: list[str]) -> None:
        rest = [r for r in self.ids if r not in group]
        self.cut = {frozenset((a, b)) for a in group for b in rest}

    def deliver_some(self, k: int, loss: float = 0.1, dup: float = 0.1) -> None:
        for _ in range(k):
            if not self.queue:
                return
            i = self.rng.randrange(len(self.queue))
            dest, wire = self.queue.pop(i)
            roll = self.rng.random()
            if roll < loss:
                self.lost.append((dest, wire))
                continue
            if roll < loss + dup:
                self.queue.append((dest, wire))
            self.states[dest].merge(self.cls.from_json(wire))

    def heal(self) -> None:
        """Deliver everything, lost messages included, in a random order."""
        self.cut = set()
        pending = self.queue + self.lost
        self.queue, self.lost = [], []
        self.rng.shuffle(pending)
        for dest, wire in pending:
            self.states[dest].merge(self.cls.from_json(wire))

    def stable(self) -> VectorClock:
        """Pointwise minimum of the replicas' vectors (stable once every replica merged all)."""
        return self.stable_of([self.states[r] for r in self.ids])

    @staticmethod
    def stable_of(states: list[Any]) -> VectorClock:
        """Pointwise minimum of these states' vectors."""
        vvs = [s.store.ctx.vv for s in states]
        keys = set().union(*vvs)
        return VectorClock.of({k: min(v.get(k, 0) for v in vvs) for k in keys})

    def converged(self) -> bool:
        first = self.states[self.ids[0]]
        return all(self.states[r] == first for r in self.ids[1:])


def run(net: Net, ops: list[Op], steps: int, partition_at: int | None = None) -> None:
    """``steps`` random operations with random deliveries; a partition from ``partition_at``."""
    rng = net.rng
    for step in range(steps):
        if partition_at is not None and step == partition_at:
            net.partition(net.ids[:1])
        net.op(rng.choice(net.ids), rng.choice(ops))
        if not net.cut:
            net.deliver_some(rng.randrange(3))
        else:
            held = [m for m in net.queue if any(frozenset((m[0], r)) in net.cut for r in net.ids)]
            free = [m for m in net.queue if m not in held]
            net.queue = free
            net.deliver_some(rng.randrange(3))
            net.queue += held


# --- random operations per type -------------------------------------------------------------------


def _dot(state: Typed | KeyCRDT, r: str) -> tuple[str, int]:
    return state.next_dot(r)


def set_add(s: ORSet, r: str, rng: random.Random, ts: Timestamp) -> ORSet:
    return s.add(rng.choice(MEMBERS), _dot(s, r), ts)


def set_rem(s: ORSet, r: str, rng: random.Random, ts: Timestamp) -> ORSet:
    return s.remove(rng.sample(MEMBERS, rng.randrange(1, 3)))


SET_OPS: list[Op] = [set_add, set_add, set_rem]


def reg_assign(s: CounterRegister, r: str, rng: random.Random, ts: Timestamp) -> CounterRegister:
    return s.assign(rng.choice([b"0", b"10", b"-3", b"abc", b"2.5"]), _dot(s, r), ts)


def reg_incr(s: CounterRegister, r: str, rng: random.Random, ts: Timestamp) -> CounterRegister:
    amount: int | Fraction = rng.choice([1, -1, 5, 100, Fraction(1, 2), Fraction(-5, 4)])
    return s.increment(amount, _dot(s, r), ts)


def reg_del(s: CounterRegister, r: str, rng: random.Random, ts: Timestamp) -> CounterRegister:
    return s.delete()


REGISTER_OPS: list[Op] = [reg_assign, reg_incr, reg_incr, reg_incr, reg_del]


def hash_set(s: ORHash, r: str, rng: random.Random, ts: Timestamp) -> ORHash:
    return s.set(rng.choice(MEMBERS), rng.choice([b"x", b"7", b"y"]), _dot(s, r), ts)


def hash_incr(s: ORHash, r: str, rng: random.Random, ts: Timestamp) -> ORHash:
    return s.increment(rng.choice(MEMBERS), rng.choice([1, 2, -7, Fraction(1, 4)]), _dot(s, r), ts)


def hash_del(s: ORHash, r: str, rng: random.Random, ts: Timestamp) -> ORHash:
    return s.delete(rng.sample(MEMBERS, 2))


HASH_OPS: list[Op] = [hash_set, hash_set, hash_incr, hash_del]


def zset_add(s: ZSetCRDT, r: str, rng: random.Random, ts: Timestamp) -> ZSetCRDT:
    return s.add(rng.choice(MEMBERS), rng.choice([0.0, 1.5, -2.0, 10.0, float("inf")]), _dot(s, r), ts)


def zset_incr(s: ZSetCRDT, r: str, rng: random.Random, ts: Timestamp) -> ZSetCRDT:
    return s.increment(rng.choice(MEMBERS), rng.choice([1.0, 0.5, -3.0]), _dot(s, r), ts)


def zset_rem(s: ZSetCRDT, r: str, rng: random.Random, ts: Timestamp) -> ZSetCRDT:
    return s.remove([rng.choice(MEMBERS)])


ZSET_OPS: list[Op] = [zset_add, zset_add, zset_incr, zset_rem]


def _dots(s: Any, r: str, n: int) -> list[tuple[str, int]]:
    first = s.next_dot(r)[1]
    return [(r, first + i) for i in range(n)]


def list_push(s: RList, r: str, rng: random.Random, ts: Timestamp) -> RList:
    n = rng.randrange(1, 4)
    values = [rng.choice(MEMBERS) + b"%d" % i for i in range(n)]
    push = s.push_left if rng.random() < 0.5 else s.push_right
    return push(values, _dots(s, r, n), ts)


def list_insert(s: RList, r: str, rng: random.Random, ts: Timestamp) -> RList:
    return s.insert(rng.randrange(len(s) + 1), rng.choice(MEMBERS), _dot(s, r), ts)


def list_set(s: RList, r: str, rng: random.Random, ts: Timestamp) -> RList | None:
    if not len(s):
        return None
    return s.set(rng.randrange(len(s)), b"set", _dot(s, r), ts)


def list_pop(s: RList, r: str, rng: random.Random, ts: Timestamp) -> RList:
    pop = s.pop_left if rng.random() < 0.5 else s.pop_right
    return pop(rng.randrange(1, 3))[1]


def list_trim(s: RList, r: str, rng: random.Random, ts: Timestamp) -> RList:
    n = len(s)
    return s.trim(0, max(0, n - 2))


LIST_OPS: list[Op] = [list_push, list_push, list_insert, list_set, list_pop, list_trim]


def key_write(s: KeyCRDT, r: str, rng: random.Random, ts: Timestamp) -> KeyCRDT:
    tag = rng.choice(["string", "set", "list", "hash", "zset"])
    visible = s.type()
    if visible is not None and rng.random() < 0.7:
        tag = visible  # mostly the engine's way: write the type the key has
    delta = s.claim(tag)
    view = s.view(tag)
    op = rng.choice({"string": REGISTER_OPS[:2], "set": SET_OPS[:1], "list": LIST_OPS[:2],
                     "hash": HASH_OPS[:3], "zset": ZSET_OPS[:3]}[tag])
    typed = op(view, r, rng, ts)
    return delta.merge(typed)


def key_del(s: KeyCRDT, r: str, rng: random.Random, ts: Timestamp) -> KeyCRDT:
    return s.delete()


def key_expire(s: KeyCRDT, r: str, rng: random.Random, ts: Timestamp) -> KeyCRDT | None:
    if s.type() is None:
        return None
    return s.expire(rng.choice([None, 1000, 2000]), s.next_dot(r), ts)


KEY_OPS: list[Op] = [key_write, key_write, key_write, key_del, key_expire]

TYPES: dict[str, tuple[Callable[[], Any], list[Op]]] = {
    "set": (ORSet, SET_OPS),
    "register": (CounterRegister, REGISTER_OPS),
    "hash": (ORHash, HASH_OPS),
    "zset": (ZSetCRDT, ZSET_OPS),
    "list": (RList, LIST_OPS),
    "key": (KeyCRDT, KEY_OPS),
}


def read(state: Any) -> Any:
    """A type-independent read, for comparing replicas."""
    if isinstance(state, KeyCRDT):
        return state.read(), state.expire_at()
    if isinstance(state, ORSet):
        return state.members()
    if isinstance(state, CounterRegister):
        return state.text()
    if isinstance(state, RList):
        return state.values()
    return state.items()
