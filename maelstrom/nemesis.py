"""Fault schedules and partition shapes: no I/O, no clock.

Strategy (maelstrom-spec.md section 6, Jepsen ``nemesis.clj`` and
``nemesis/combined.clj``): a fault kind is a pair of ops, ``start-<kind>`` and
``stop-<kind>``, that alternate, start first. Each kind has its own stream:
the first op at t = 0, then gaps drawn uniformly from ``[0, 2·interval)``, so
faulty and healed periods average ``interval`` each. `NemesisSchedule`
merges the streams; `NemesisSchedule.due` returns the ops whose time has
come, and `apply_op` performs one on a `NetModel` and returns the value to
record as the completion.

Kinds:

- ``partition`` (Maelstrom's only fault): the grudge is drawn uniformly from
  ``one``, ``minority-third``, ``majority``, ``majorities-ring`` (see the
  ``grudge_*`` functions). Completion value ``["isolated", {dest: [srcs]}]``;
  stop gives ``"network-healed"``.
- ``loss`` and ``duplicate`` (ours): while active, node↔node messages are
  dropped (duplicated) with the configured probability.

Beyond Maelstrom's four shapes, ``one-way`` (`grudge_one_way`) cuts links in
one direction only; it is not among the shapes ``--nemesis partition``
draws (that stays Maelstrom's), but a schedule may be given its own list of
shapes (``gyre sim --faults one-way`` does).

Every choice draws from the injected ``random.Random``; node lists are
sorted before shuffling, so a seed decides everything.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from maelstrom.net import NetModel

FAULTS: Final[tuple[str, ...]] = ("partition", "loss", "duplicate")
PARTITION_SHAPES: Final[tuple[str, ...]] = ("one", "minority-third", "majority", "majorities-ring")
#: Loss/duplication probability while the fault is active, unless configured.
FLAKY_RATE_DEFAULT: Final[float] = 0.25

Grudge = dict[str, frozenset[str]]


def majority(n: int) -> int:
    """Smallest majority of ``n`` (Jepsen ``util/majority``)."""
    return n // 2 + 1


def minority_third(n: int) -> int:
    """Largest group smaller than a third (Jepsen ``util/minority-third``)."""
    return (n - 1) // 3


def complete_grudge(components: Sequence[Sequence[str]]) -> Grudge:
    """Every node drops messages from every node outside its own component."""
    universe = frozenset(n for c in components for n in c)
    grudge: Grudge = {}
    for comp in components:
        others = universe - frozenset(comp)
        for node in comp:
            if others:
                grudge[node] = others
    return grudge


def _shuffled(nodes: Sequence[str], rng: random.Random) -> list[str]:
    out = sorted(nodes)
    rng.shuffle(out)
    return out


def grudge_one(nodes: Sequence[str], rng: random.Random) -> Grudge:
    """A random node is cut off from everyone else."""
    victim = rng.choice(sorted(nodes))
    return complete_grudge([[victim], [n for n in sorted(nodes) if n != victim]])


def grudge_majority(nodes: Sequence[str], rng: random.Random) -> Grudge:
    """Shuffle, split at ⌊n/2⌋, and fully separate the halves."""
    s = _shuffled(nodes, rng)
    cut = len(s) // 2
    return complete_grudge([s[:cut], s[cut:]])


def grudge_minority_third(nodes: Sequence[str], rng: random.Random) -> Grudge:
    """Cut off ⌊(n−1)/3⌋ shuffled nodes as a group (nothing when n < 4)."""
    s = _shuffled(nodes, rng)
    cut = minority_third(len(s))
    if cut == 0:
        return {}
    return complete_grudge([s[:cut], s[cut:]])


def grudge_majorities_ring(nodes: Sequence[str], rng: random.Random) -> Grudge:
    """Everyone sees a majority, but no two nodes see the same one.

    For n ≤ 5 (Jepsen ``majorities-ring-perfect``): shuffle into a ring; each
    window of ``majority(n)`` consecutive nodes belongs to its centre node,
    which accepts messages only from that window. At n = 3 this makes the
    links one-directional. For n > 5 (``majorities-ring-stochastic``): build a
    random symmetric graph by repeatedly linking a least-connected node to a
    random least-connected stranger until everyone sees a majority (itself
    included); each node drops the rest.
    """
    s = _shuffled(nodes, rng)
    n = len(s)
    m = majority(n)
    universe = frozenset(s)
    grudge: Grudge = {}
    if n <= 5:
        ring = s * 3
        for start in range(n):
            window = ring[start:start + m]
            centre = window[len(window) // 2]
            dropped = universe - frozenset(window)
            if dropped:
                grudge[centre] = dropped
        return grudge
    seen: dict[str, set[str]] = {x: {x} for x in s}
    while True:
        short = [x for x in s if len(seen[x]) < m]
        if not short:
            break
        fewest = min(len(seen[x]) for x in short)
        a = rng.choice([x for x in short if len(seen[x]) == fewest])
        strangers = [x for x in s if x not in seen[a]]
        low = min(len(seen[x]) for x in strangers)
        b = rng.choice([x for x in strangers if len(seen[x]) == low])
        seen[a].add(b)
        seen[b].add(a)
    for x in s:
        dropped = universe - frozenset(seen[x])
        if dropped:
            grudge[x] = dropped
    return grudge


def grudge_one_way(nodes: Sequence[str], rng: random.Random) -> Grudge:
    """An asymmetric cut: a random group stops hearing everyone else, who still hear it.

    Shuffle, split at a random point (each side non-empty); the first group
    drops every message from the second, the second drops nothing. So the
    first group's messages arrive, but no answer reaches it.
    """
    s = _shuffled(nodes, rng)
    if len(s) < 2:
        return {}
    cut = rng.randrange(1, len(s))
    deaf, heard = s[:cut], frozenset(s[cut:])
    return {n: heard for n in deaf}


GRUDGES: Final = {
    "one": grudge_one,
    "minority-third": grudge_minority_third,
    "majority": grudge_majority,
    "majorities-ring": grudge_majorities_ring,
    "one-way": grudge_one_way,
}


def grudge_value(grudge: Grudge) -> list[Any]:
    """The recorded completion of a start-partition: ``["isolated", {dest: [srcs]}]``."""
    return ["isolated", {dest: sorted(srcs) for dest, srcs in sorted(grudge.items())}]


def parse_faults(spec: str | Sequence[str] | None) -> tuple[str, ...]:
    """Parse ``--nemesis`` (comma-separated) into a sorted tuple of known fault kinds.

    Raises:
        ValueError: An unknown kind.
    """
    if spec is None:
        return ()
    items = spec.split(",") if isinstance(spec, str) else list(spec)
    kinds = {s.strip() for s in items if s.strip()}
    bad = sorted(kinds - set(FAULTS))
    if bad:
        raise ValueError(f"unknown nemesis {', '.join(map(repr, bad))}; "
                         f"choose from {', '.join(FAULTS)}")
    return tuple(k for k in FAULTS if k in kinds)


@dataclass(frozen=True, slots=True)
class NemesisOp:
    """One scheduled fault op.

    Attributes:
        time_ms: When it should run.
        f: ``start-partition``, ``stop-partition``, ``start-loss``, ...
        value: The invocation value (the partition shape, the rate, or None).
    """

    time_ms: float
    f: str
    value: Any = None


@dataclass
class NemesisSchedule:
    """Alternating start/stop ops per fault kind, staggered around ``interval``.

    Args:
        faults: Fault kinds (see `FAULTS`).
        interval_s: ``--nemesis-interval``; gaps are uniform on ``[0, 2·interval)``.
        rng: The run's random source.
        loss_rate: Loss probability while ``loss`` is active.
        duplicate_rate: Duplication probability while ``duplicate`` is active.
        shapes: The partition shapes drawn from (default Maelstrom's four).
    """

    faults: tuple[str, ...]
    interval_s: float
    rng: random.Random
    loss_rate: float = FLAKY_RATE_DEFAULT
    duplicate_rate: float = FLAKY_RATE_DEFAULT
    shapes: tuple[str, ...] = PARTITION_SHAPES
    _heap: list[tuple[float, int, str, bool]] = field(default_factory=list)

    def __post_init__(self) -> None:
        for i, kind in enumerate(self.faults):
            assert kind in FAULTS, kind
            heapq.heappush(self._heap, (0.0, i, kind, True))

    def _gap_ms(self) -> float:
        return self.rng.uniform(0, 2 * self.interval_s) * 1000.0

    def next_time_ms(self) -> float | None:
        """When the next op is due, or None with no faults."""
        return self._heap[0][0] if self._heap else None

    def due(self, now_ms: float) -> list[NemesisOp]:
        """Pop the ops due at ``now_ms`` and schedule each kind's next one."""
        out: list[NemesisOp] = []
        while self._heap and self._heap[0][0] <= now_ms:
            t, i, kind, start = heapq.heappop(self._heap)
            out.append(NemesisOp(t, f"{'start' if start else 'stop'}-{kind}",
                                 self._value(kind) if start else None))
            heapq.heappush(self._heap, (t + self._gap_ms(), i, kind, not start))
        return out

    def _value(self, kind: str) -> Any:
        if kind == "partition":
            return self.rng.choice(self.shapes)
        if kind == "loss":
            return self.loss_rate
        return self.duplicate_rate

    def heal_ops(self) -> list[NemesisOp]:
        """The stop ops of the final heal (Maelstrom logs only ``stop-partition``)."""
        return [NemesisOp(0.0, f"stop-{k}") for k in self.faults]


def apply_op(net: NetModel, op: NemesisOp, nodes: Sequence[str], rng: random.Random) -> Any:
    """Perform one nemesis op on the network.

    Returns:
        The completion value to record.
    """
    if op.f == "start-partition":
        grudge = GRUDGES[op.value](nodes, rng)
        net.partition(grudge)
        return grudge_value(grudge)
    if op.f == "stop-partition":
        net.heal()
        return "network-healed"
    if op.f == "start-loss":
        net.set_flaky(loss_rate=op.value)
        return ["loss", op.value]
    if op.f == "stop-loss":
        net.set_flaky(loss_rate=net.config.loss_rate)
        return "loss-stopped"
    if op.f == "start-duplicate":
        net.set_flaky(duplicate_rate=op.value)
        return ["duplicate", op.value]
    if op.f == "stop-duplicate":
        net.set_flaky(duplicate_rate=net.config.duplicate_rate)
        return "duplicate-stopped"
    raise ValueError(f"unknown nemesis op {op.f!r}")
