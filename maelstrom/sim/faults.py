"""The simulator's faults beyond ``gyre test``'s nemesis: what is on for a seed, and how it is drawn.

Strategy: ``gyre sim --faults LIST`` names the faults of a run; ``--nemesis``
(``gyre test``'s option: partition, loss, duplicate) stays as it is, and the
faults on are the union of the two lists. `draw_plan` turns that, the seed
and ``--swarm`` into a `FaultPlan`: every setting the run's faults use, all
drawn from the seed, so the plan is printed first and replays exactly.

The faults (`SIM_FAULTS`):

- ``partition``, ``loss``, ``duplicate``: ``gyre test``'s nemeses, unchanged
  (`maelstrom.nemesis`).
- ``one-way``: asymmetric partitions (`maelstrom.nemesis.grudge_one_way`):
  the partition schedule also draws that shape (only that shape, when
  ``partition`` is off).
- ``pause`` and ``crash``: scheduled like the nemeses (``start-``/``stop-``
  ops alternating, gaps uniform on ``[0, 2·interval)``, recorded in the
  history as ``process: "nemesis"``), with Jepsen's targets (`TARGETS`: one
  node, a minority, a majority or all of them) drawn among the nodes that
  are running. A paused node hears nothing and runs no timers until it is
  resumed, then gets what was held for it, in order (SIGSTOP/SIGCONT). A
  crashed node's object is dropped (memory, timers, pending RPCs; messages
  to it are lost), and at ``stop-crash`` a new object (a fresh RNG) is
  built with the durable records of its previous life
  (`nodes.core.DurableStore`) and gets a fresh ``init``.
- ``skew``: every node gets its own clock, ``offset + t·(1 + drift)``
  (`NodeClock`, integer ms, an offset in ``[0, skew_max_ms]`` and a drift in
  ``±drift_max_ppm`` parts per million), fixed for the run (a restarted
  node keeps its machine's clock). Bounded well under what the nodes assume
  (strong mode's done-table margin is 10 s; its request deadline must stay
  under the client's 1 s timeout).
- ``buggify``: `nodes.core.NodeCore.buggify` answers True now and then,
  FoundationDB style: each point is enabled for the run with probability
  ``buggify_enable`` (drawn from the seed and the point's name, so the order
  points are first asked in does not matter), and an enabled point fires
  with probability ``buggify_fire`` each time it is asked.

``--swarm`` (swarm testing): each seed also draws which of the candidate
faults are on (each with probability 1/2; the candidates are the faults
named by ``--faults`` and ``--nemesis``, or all of `SIM_FAULTS` when neither
names any) and their settings: the interval, the loss and duplication
rates, the skew and drift bounds and the BUGGIFY probabilities.

Every random draw here comes from ``derive_rng(seed, "sim/...")``, a stream
of its own, so a run without these faults draws exactly what it drew before
they existed.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Final

from maelstrom.harness import TestConfig, derive_rng
from maelstrom.nemesis import FAULTS as NET_FAULTS
from maelstrom.nemesis import PARTITION_SHAPES, NemesisSchedule

#: Every fault ``--faults`` knows, in the order plans list them.
SIM_FAULTS: Final[tuple[str, ...]] = ("partition", "one-way", "loss", "duplicate", "pause", "crash",
                                      "skew", "buggify")
#: The faults scheduled on nodes (start/stop) by the simulator itself.
NODE_FAULTS: Final[tuple[str, ...]] = ("pause", "crash")
#: Who a pause or crash hits (Jepsen's ``db/kill`` and ``db/pause`` targets).
TARGETS: Final[tuple[str, ...]] = ("one", "minority", "majority", "all")

#: Clock skew: the largest offset of a node's clock, and the largest drift (parts per million).
SKEW_MAX_MS_DEFAULT: Final[int] = 1000
DRIFT_MAX_PPM_DEFAULT: Final[int] = 20_000
#: BUGGIFY: the chance a point is enabled for a run, and that an enabled point fires when asked.
BUGGIFY_ENABLE_DEFAULT: Final[float] = 0.25
BUGGIFY_FIRE_DEFAULT: Final[float] = 0.05
_PPM: Final[int] = 1_000_000

# What --swarm draws from.
_SWARM_INTERVAL_FACTORS: Final[tuple[float, ...]] = (0.25, 0.5, 1.0, 2.0)
_SWARM_RATES: Final[tuple[float, ...]] = (0.05, 0.1, 0.25, 0.5)
_SWARM_SKEW_MS: Final[tuple[int, ...]] = (10, 200, 1000)
_SWARM_DRIFT_PPM: Final[tuple[int, ...]] = (100, 2000, 20_000)
_SWARM_BUGGIFY_ENABLE: Final[tuple[float, ...]] = (0.1, 0.25, 0.5)
_SWARM_BUGGIFY_FIRE: Final[tuple[float, ...]] = (0.01, 0.05, 0.1)


def parse_sim_faults(spec: str | Sequence[str] | None) -> tuple[str, ...]:
    """Parse ``--faults`` (comma-separated) into a tuple in `SIM_FAULTS` order.

    Raises:
        ValueError: An unknown fault.
    """
    if spec is None:
        return ()
    items = spec.split(",") if isinstance(spec, str) else list(spec)
    kinds = {s.strip() for s in items if s.strip()}
    bad = sorted(kinds - set(SIM_FAULTS))
    if bad:
        raise ValueError(f"unknown fault {', '.join(map(repr, bad))}; choose from {', '.join(SIM_FAULTS)}")
    return tuple(k for k in SIM_FAULTS if k in kinds)


@dataclass(frozen=True, slots=True)
class NodeClock:
    """A node's own clock: ``offset_ms + t + floor(t · drift_ppm / 10⁶)`` at simulator time ``t``.

    Integer arithmetic only; monotonic (``drift_ppm > -10⁶``).
    """

    offset_ms: int = 0
    drift_ppm: int = 0

    def __post_init__(self) -> None:
        assert self.offset_ms >= 0 and -_PPM < self.drift_ppm < _PPM, self

    def to_node(self, t: int) -> int:
        """The node's reading at simulator time ``t``."""
        return self.offset_ms + t + (t * self.drift_ppm) // _PPM

    def to_sim(self, d: int) -> int:
        """The earliest simulator time at which the node's clock reads ``d`` or more."""
        x = d - self.offset_ms
        if x <= 0:
            return 0
        t = -((-x * _PPM) // (_PPM + self.drift_ppm))  # ceil(x / (1 + drift))
        while self.to_node(t) < d:
            t += 1
        while t > 0 and self.to_node(t - 1) >= d:
            t -= 1
        return t


@dataclass(frozen=True)
class FaultPlan:
    """Every fault setting of one run (see module doc).

    Attributes:
        faults: The faults on, in `SIM_FAULTS` order.
        interval_s: The nemesis interval of every scheduled fault.
        loss_rate: Loss probability while ``loss`` is active (None: the nemesis default).
        duplicate_rate: Duplication probability while ``duplicate`` is active (idem).
        skew_max_ms: ``skew``: the largest clock offset.
        drift_max_ppm: ``skew``: the largest clock drift.
        clocks: ``skew``: each node's clock (empty without skew).
        buggify_enable: ``buggify``: the chance a point is enabled for the run.
        buggify_fire: ``buggify``: the chance an enabled point fires when asked.
        swarm: The faults and settings were drawn by ``--swarm``.
    """

    faults: tuple[str, ...] = ()
    interval_s: float = 10.0
    loss_rate: float | None = None
    duplicate_rate: float | None = None
    skew_max_ms: int = SKEW_MAX_MS_DEFAULT
    drift_max_ppm: int = DRIFT_MAX_PPM_DEFAULT
    clocks: dict[str, NodeClock] = field(default_factory=dict)
    buggify_enable: float = BUGGIFY_ENABLE_DEFAULT
    buggify_fire: float = BUGGIFY_FIRE_DEFAULT
    swarm: bool = False

    def on(self, fault: str) -> bool:
        return fault in self.faults

    @property
    def net_faults(self) -> tuple[str, ...]:
        """The ``gyre test`` nemeses this plan runs (``one-way`` rides on ``partition``)."""
        kinds = set(self.faults)
        if "one-way" in kinds:
            kinds.add("partition")
        return tuple(k for k in NET_FAULTS if k in kinds)

    @property
    def node_faults(self) -> tuple[str, ...]:
        return tuple(k for k in NODE_FAULTS if k in self.faults)

    @property
    def shapes(self) -> tuple[str, ...]:
        """The partition shapes drawn: Maelstrom's with ``partition``, plus ``one-way``."""
        shapes = PARTITION_SHAPES if self.on("partition") else ()
        return shapes + (("one-way",) if self.on("one-way") else ())

    def test_config(self, test: TestConfig) -> TestConfig:
        """``test`` with the nemeses, interval and rates this plan runs (``test`` itself when unchanged)."""
        changes: dict[str, Any] = {}
        if self.net_faults != test.nemesis:
            changes["nemesis"] = self.net_faults
        if self.interval_s != test.nemesis_interval_s:
            changes["nemesis_interval_s"] = self.interval_s
        if self.loss_rate != test.loss_rate:
            changes["loss_rate"] = self.loss_rate
        if self.duplicate_rate != test.duplicate_rate:
            changes["duplicate_rate"] = self.duplicate_rate
        return replace(test, **changes) if changes else test

    def node_schedule(self, rng: random.Random) -> NodeFaultSchedule | None:
        """The pause/crash schedule, or None when neither is on."""
        kinds = self.node_faults
        return NodeFaultSchedule(kinds, self.interval_s, rng) if kinds else None

    def describe(self) -> str:
        """One line: every setting (printed before the run starts)."""
        parts = [f"faults {','.join(self.faults) or 'none'}" + (" (swarm)" if self.swarm else "")]
        if self.faults:
            parts.append(f"interval {self.interval_s:g} s")
        if self.on("loss"):
            parts.append(f"loss rate {self.loss_rate if self.loss_rate is not None else 'default'}")
        if self.on("duplicate"):
            parts.append(f"duplicate rate "
                         f"{self.duplicate_rate if self.duplicate_rate is not None else 'default'}")
        if self.on("partition") or self.on("one-way"):
            parts.append(f"shapes {','.join(self.shapes)}")
        if self.node_faults:
            parts.append(f"targets {','.join(TARGETS)}")
        if self.on("skew"):
            clocks = " ".join(f"{n}{c.offset_ms:+d}ms{c.drift_ppm:+d}ppm" for n, c in self.clocks.items())
            parts.append(f"clocks (skew <= {self.skew_max_ms} ms, drift <= {self.drift_max_ppm} ppm): {clocks}")
        if self.on("buggify"):
            parts.append(f"buggify enable {self.buggify_enable:g} fire {self.buggify_fire:g}")
        return "; ".join(parts)

    def as_dict(self) -> dict[str, Any]:
        """The plan for ``results.json``."""
        return {"faults": list(self.faults), "swarm": self.swarm, "interval-s": self.interval_s,
                "loss-rate": self.loss_rate, "duplicate-rate": self.duplicate_rate,
                "shapes": list(self.shapes),
                "clocks": {n: [c.offset_ms, c.drift_ppm] for n, c in self.clocks.items()},
                "buggify-enable": self.buggify_enable, "buggify-fire": self.buggify_fire}


def draw_plan(test: TestConfig, faults: Sequence[str] = (), swarm: bool = False) -> FaultPlan:
    """The fault plan of one seed (``test.seed``): ``--faults`` ∪ ``--nemesis``, or a swarm draw.

    Args:
        test: The run's options (seed, nodes, nemesis, interval, rates).
        faults: ``--faults``.
        swarm: ``--swarm``.
    """
    named = set(faults) | set(test.nemesis)
    chosen = tuple(k for k in SIM_FAULTS if k in named)
    interval, loss, dup = test.nemesis_interval_s, test.loss_rate, test.duplicate_rate
    skew, drift = SKEW_MAX_MS_DEFAULT, DRIFT_MAX_PPM_DEFAULT
    enable, fire = BUGGIFY_ENABLE_DEFAULT, BUGGIFY_FIRE_DEFAULT
    if swarm:
        rng = derive_rng(test.seed, "sim/swarm")
        candidates = chosen or SIM_FAULTS
        chosen = tuple(k for k in candidates if rng.random() < 0.5)
        interval = test.nemesis_interval_s * rng.choice(_SWARM_INTERVAL_FACTORS)
        loss, dup = rng.choice(_SWARM_RATES), rng.choice(_SWARM_RATES)
        skew, drift = rng.choice(_SWARM_SKEW_MS), rng.choice(_SWARM_DRIFT_PPM)
        enable, fire = rng.choice(_SWARM_BUGGIFY_ENABLE), rng.choice(_SWARM_BUGGIFY_FIRE)
    clocks: dict[str, NodeClock] = {}
    if "skew" in chosen:
        crng = derive_rng(test.seed, "sim/clocks")
        for node in test.nodes:
            clocks[node] = NodeClock(crng.randint(0, skew), crng.randint(-drift, drift))
    return FaultPlan(chosen, interval, loss, dup, skew, drift, clocks, enable, fire, swarm)


def pick_victims(target: str, candidates: Sequence[str], node_count: int,
                 rng: random.Random) -> list[str]:
    """The nodes a pause or crash hits: ``target``'s share of the cluster, among ``candidates``.

    ``one`` is one node, ``minority`` ⌊(n−1)/2⌋ (at least one), ``majority``
    ⌊n/2⌋+1, ``all`` every node; fewer when fewer candidates are running.
    Returns them sorted.
    """
    want = {"one": 1, "minority": max(1, (node_count - 1) // 2), "majority": node_count // 2 + 1,
            "all": node_count}[target]
    pool = sorted(candidates)
    rng.shuffle(pool)
    return sorted(pool[:want])


@dataclass
class NodeFaultSchedule(NemesisSchedule):
    """``start-``/``stop-`` ops of ``pause`` and ``crash``, timed like the nemeses; a start's value is its target."""

    def __post_init__(self) -> None:
        import heapq

        for i, kind in enumerate(self.faults):
            assert kind in NODE_FAULTS, kind
            heapq.heappush(self._heap, (0.0, i, kind, True))

    def _value(self, kind: str) -> Any:
        return self.rng.choice(TARGETS)


class Buggify:
    """The simulator's answer to `nodes.core.NodeCore.buggify` (see module doc).

    Args:
        seed: The run's seed.
        enable: Chance a point is enabled for the run.
        fire: Chance an enabled point fires when asked.
    """

    def __init__(self, seed: int, enable: float, fire: float) -> None:
        self.seed = seed
        self.enable = enable
        self.fire = fire
        self.active = True
        # point -> [enabled, asked, fired], and the point's own firing stream
        self.points: dict[str, list[Any]] = {}
        self._rngs: dict[str, random.Random] = {}

    def __call__(self, point: str) -> bool:
        if not self.active:
            return False
        p = self.points.get(point)
        if p is None:
            enabled = derive_rng(self.seed, f"sim/buggify/{point}").random() < self.enable
            p = self.points[point] = [enabled, 0, 0]
            self._rngs[point] = derive_rng(self.seed, f"sim/buggify/{point}/fire")
        p[1] += 1
        if not p[0] or self._rngs[point].random() >= self.fire:
            return False
        p[2] += 1
        return True

    def stats(self) -> dict[str, dict[str, Any]]:
        """Per point asked so far: ``{"enabled", "asked", "fired"}``, sorted by point."""
        return {k: {"enabled": v[0], "asked": v[1], "fired": v[2]} for k, v in sorted(self.points.items())}
