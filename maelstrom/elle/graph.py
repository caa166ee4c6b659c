"""A transaction dependency graph with typed edges, and cycle search per anomaly class.

Strategy (after Elle, Kingsbury & Alvaro, VLDB 2020). Transactions are the
integers ``0..n-1``. An edge ``a -> b`` carries a bit set of kinds: ``WW``
(b overwrote a's version), ``WR`` (b read a's version), ``RW`` (b overwrote
the version a read), ``PROCESS`` (a ran before b on the same process) and
``REALTIME`` (a completed before b began). Each (edge, kind) keeps the first
reason a workload gave for it, so a cycle can be explained step by step.

Finding anomalies:

1. Tarjan's algorithm (iterative) splits the graph, restricted to some edge
   kinds, into strongly connected components. A cycle can only live inside
   one. The widest restriction is done first; only vertices in one of its
   non-trivial components are looked at again, so a valid history costs one
   linear pass.
2. Each anomaly class (`CLASSES`) names the edge kinds it may use and how
   many ``WR``, ``RW`` and extra (process or realtime) edges its cycle needs:
   G0 uses ``WW`` only; G1c ``WW``+``WR`` with at least one ``WR``; G-single
   exactly one ``RW``; G2-item two or more ``RW``; each has a ``-process`` and
   a ``-realtime`` variant that also needs at least one such edge. Inside
   each component of the class's own restriction, the search takes a *pivot*
   edge of the rarest kind the class needs (or any vertex for plain G0),
   and runs a breadth-first search from the pivot's head back to its tail
   over states ``(vertex, has WR, has extra, has RW)``: G-single's path may
   not use RW (the pivot is its one RW edge), G2-item's path must use one.
   The first pivot that closes a simple cycle meeting the class's needs
   gives the shortest such cycle through that pivot; one cycle per class
   and component is reported. Because states carry flags, a breadth-first
   walk can reach a vertex twice; such a walk is not a simple cycle and is
   refused, and in rare graphs that refusal can hide a cycle of the class
   through that pivot (another pivot usually finds one).
3. The search checks an injected clock before each component and every
   `CLOCK_CHECK_STEPS` steps, and stops at the deadline (the caller then
   reports ``cycle-search-timeout``).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final

WW: Final[int] = 1
WR: Final[int] = 2
RW: Final[int] = 4
PROCESS: Final[int] = 8
REALTIME: Final[int] = 16
DATA: Final[int] = WW | WR | RW
#: Edge kinds in the order they are named in reports.
KIND_NAMES: Final[dict[int, str]] = {WW: "ww", WR: "wr", RW: "rw", PROCESS: "process",
                                     REALTIME: "realtime"}
#: BFS steps between two looks at the clock.
CLOCK_CHECK_STEPS: Final[int] = 4096

Clock = Callable[[], float]


class SearchTimeout(Exception):
    """The cycle search passed its deadline."""


@dataclass(frozen=True, slots=True)
class CycleClass:
    """An anomaly class found as a cycle.

    Attributes:
        name: The anomaly's name (``G0``, ``G1c-realtime``, ...).
        allowed: Edge kinds the cycle may use.
        rw: How many RW edges: ``0``, ``1`` (exactly one) or ``2`` (two or more).
        needs_wr: At least one WR edge.
        extra: PROCESS or REALTIME when at least one such edge is needed, else 0.
    """

    name: str
    allowed: int
    rw: int
    needs_wr: bool
    extra: int


def _classes() -> tuple[CycleClass, ...]:
    out: list[CycleClass] = []
    for suffix, extra in (("", 0), ("-process", PROCESS), ("-realtime", REALTIME)):
        out += [CycleClass("G0" + suffix, WW | extra, 0, False, extra),
                CycleClass("G1c" + suffix, WW | WR | extra, 0, True, extra),
                CycleClass("G-single" + suffix, DATA | extra, 1, False, extra),
                CycleClass("G2-item" + suffix, DATA | extra, 2, False, extra)]
    return tuple(out)


#: Every cycle class, in search order: data-only first, then process, then realtime.
CLASSES: Final[tuple[CycleClass, ...]] = _classes()
CLASS_BY_NAME: Final[dict[str, CycleClass]] = {c.name: c for c in CLASSES}


@dataclass(frozen=True, slots=True)
class Cycle:
    """A cycle: ``steps[i] = (from, to, kind)``; the last step's ``to`` is the first's ``from``."""

    anomaly: str
    steps: tuple[tuple[int, int, int], ...]


class DepGraph:
    """A directed graph over transactions ``0..n-1`` with typed edges and their reasons.

    Args:
        n: The number of transactions (vertices).
    """

    def __init__(self, n: int) -> None:
        self.n = n
        self.out: list[dict[int, int]] = [{} for _ in range(n)]
        self.reasons: dict[tuple[int, int, int], Any] = {}

    def add(self, a: int, b: int, kind: int, reason: Any = None) -> None:
        """Add edge ``a -> b`` of ``kind`` (self-edges are ignored); the first reason is kept."""
        if a == b:
            return
        edges = self.out[a]
        bits = edges.get(b, 0)
        if not bits & kind:
            edges[b] = bits | kind
            self.reasons[(a, b, kind)] = reason

    def kinds(self, a: int, b: int) -> int:
        """The kinds of edge ``a -> b`` (0 when there is none)."""
        return self.out[a].get(b, 0)

    def reason(self, a: int, b: int, kind: int) -> Any:
        """The reason given for edge ``a -> b`` of ``kind``."""
        return self.reasons.get((a, b, kind))

    def edge_count(self) -> int:
        """The number of (vertex pair, kind) edges."""
        return len(self.reasons)

    def sccs(self, mask: int, vertices: Iterable[int] | None = None) -> list[list[int]]:
        """Strongly connected components with two or more vertices (iterative Tarjan).

        Args:
            mask: Edge kinds to follow.
            vertices: Restrict the graph to these vertices (default: all).

        Returns:
            The non-trivial components, each sorted, in order of their smallest vertex.
        """
        allowed: set[int] | None = None if vertices is None else set(vertices)
        order = range(self.n) if allowed is None else sorted(allowed)
        index: dict[int, int] = {}
        low: dict[int, int] = {}
        on_stack: set[int] = set()
        stack: list[int] = []
        result: list[list[int]] = []
        counter = 0
        out = self.out
        for root in order:
            if root in index:
                continue
            index[root] = low[root] = counter
            counter += 1
            stack.append(root)
            on_stack.add(root)
            work: list[tuple[int, Any]] = [(root, iter(out[root].items()))]
            while work:
                v, it = work[-1]
                pushed = False
                for w, bits in it:
                    if not bits & mask or (allowed is not None and w not in allowed):
                        continue
                    if w not in index:
                        index[w] = low[w] = counter
                        counter += 1
                        stack.append(w)
                        on_stack.add(w)
                        work.append((w, iter(out[w].items())))
                        pushed = True
                        break
                    if w in on_stack and index[w] < low[v]:
                        low[v] = index[w]
                if pushed:
                    continue
                work.pop()
                if work:
                    u = work[-1][0]
                    if low[v] < low[u]:
                        low[u] = low[v]
                if low[v] == index[v]:
                    comp = []
                    while True:
                        w = stack.pop()
                        on_stack.discard(w)
                        comp.append(w)
                        if w == v:
                            break
                    if len(comp) > 1:
                        result.append(sorted(comp))
        result.sort(key=lambda c: c[0])
        return result


class _Budget:
    """Counts BFS steps and looks at the clock now and then."""

    def __init__(self, deadline: float, clock: Clock) -> None:
        self.deadline = deadline
        self.clock = clock
        self.steps = 0

    def tick(self) -> None:
        self.steps += 1
        if self.steps % CLOCK_CHECK_STEPS == 0 and self.clock() > self.deadline:
            raise SearchTimeout


def _pivot_kind(cls: CycleClass) -> int:
    if cls.rw:
        return RW
    if cls.extra:
        return cls.extra
    if cls.needs_wr:
        return WR
    return 0


def _close_cycle(g: DepGraph, cls: CycleClass, comp: set[int], start: int, target: int,
                 pivot: int, budget: _Budget) -> list[tuple[int, int, int]] | None:
    """Shortest simple path ``start ~> target`` inside ``comp`` that, with the pivot
    edge ``target -> start`` of kind ``pivot`` (0: no pivot, ``start == target``),
    makes a cycle of class ``cls``; as (from, to, kind) steps.

    States are (vertex, has WR, has extra, has RW); RW edges are followed only
    for G2 classes (G-single's one RW is the pivot). The path never passes
    through ``start`` or ``target``; a walk that repeats another vertex is
    not accepted (it would be several cycles, each maybe of another class).
    """
    allowed = cls.allowed & ~RW if cls.rw == 1 else cls.allowed
    extra = cls.extra
    need_wr = cls.needs_wr and pivot != WR
    need_ex = bool(extra) and pivot != extra
    need_rw = cls.rw == 2

    first = (start, 0, 0, 0)
    parent: dict[tuple[int, int, int, int], tuple[tuple[int, int, int, int], int]] = {}
    seen = {first}
    queue = deque([first])
    out = g.out
    while queue:
        cur = queue.popleft()
        v, wr, ex, rw = cur
        for w, bits in out[v].items():
            if w not in comp:
                continue
            bits &= allowed
            while bits:
                kind = bits & -bits
                bits ^= kind
                budget.tick()
                nwr, nex, nrw = wr | (kind == WR), ex | (kind == extra), rw | (kind == RW)
                if w == target:
                    if (nwr or not need_wr) and (nex or not need_ex) and (nrw or not need_rw):
                        path = [(v, w, kind)]
                        node = cur
                        while node != first:
                            prev, k = parent[node]
                            path.append((prev[0], node[0], k))
                            node = prev
                        path.reverse()
                        if len({s[0] for s in path}) == len(path):
                            return path
                    continue
                if w == start:
                    continue
                nxt = (w, nwr, nex, nrw)
                if nxt in seen:
                    continue
                seen.add(nxt)
                parent[nxt] = (cur, kind)
                queue.append(nxt)
    return None


def find_cycle(g: DepGraph, cls: CycleClass, comp: Sequence[int], budget: _Budget) -> Cycle | None:
    """A short cycle of class ``cls`` inside component ``comp`` (of ``cls.allowed``), or None."""
    members = set(comp)
    pivot = _pivot_kind(cls)
    if pivot == 0:
        for v in comp:
            path = _close_cycle(g, cls, members, v, v, 0, budget)
            if path:
                return Cycle(cls.name, tuple(path))
        return None
    for a in comp:
        for b, bits in g.out[a].items():
            if not bits & pivot or b not in members:
                continue
            budget.tick()
            path = _close_cycle(g, cls, members, b, a, pivot, budget)
            if path is not None:
                return Cycle(cls.name, ((a, b, pivot), *path))
    return None


def find_cycles(g: DepGraph, classes: Sequence[CycleClass], deadline: float = math.inf,
                clock: Clock = lambda: 0.0) -> tuple[list[Cycle], bool]:
    """Search every class in every component of its restriction.

    Args:
        g: The graph.
        classes: Which classes to look for (in the order to report them).
        deadline: Clock value after which the search stops.
        clock: The clock ``deadline`` refers to.

    Returns:
        The cycles found (at most one per class and component), and whether
        the search was cut short by the deadline.
    """
    budget = _Budget(deadline, clock)
    widest = 0
    for c in classes:
        widest |= c.allowed
    cycles: list[Cycle] = []
    if not classes:
        return cycles, False
    try:
        outer = g.sccs(widest)
        candidates = sorted({v for comp in outer for v in comp})
        if not candidates:
            return cycles, False
        comps_by_mask: dict[int, list[list[int]]] = {}
        for cls in classes:
            comps = comps_by_mask.get(cls.allowed)
            if comps is None:
                comps = comps_by_mask[cls.allowed] = g.sccs(cls.allowed, candidates)
            for comp in comps:
                if clock() > deadline:
                    raise SearchTimeout
                found = find_cycle(g, cls, comp, budget)
                if found is not None:
                    cycles.append(found)
    except SearchTimeout:
        return cycles, True
    return cycles, False
