"""The dependency graph's SCCs and cycle search against brute force, and the model lattice."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from maelstrom.elle import models
from maelstrom.elle.graph import (CLASSES, DATA, PROCESS, REALTIME, RW, WR, WW, CycleClass,
                                  DepGraph, find_cycles)

KINDS = (WW, WR, RW, PROCESS, REALTIME)
edges_st = st.lists(st.tuples(st.integers(0, 4), st.integers(0, 4), st.sampled_from(KINDS)),
                    max_size=12)


def make(n: int, edges: list[tuple[int, int, int]]) -> DepGraph:
    g = DepGraph(n)
    for a, b, k in edges:
        g.add(a, b, k, ("test",))
    return g


def reach(g: DepGraph, mask: int) -> list[set[int]]:
    out = []
    for s in range(g.n):
        seen, todo = set(), [s]
        while todo:
            v = todo.pop()
            for w, bits in g.out[v].items():
                if bits & mask and w not in seen:
                    seen.add(w)
                    todo.append(w)
        out.append(seen)
    return out


def meets(cls: CycleClass, kinds: list[int]) -> bool:
    if any(not k & cls.allowed for k in kinds):
        return False
    rw = kinds.count(RW)
    if (cls.rw == 0 and rw) or (cls.rw == 1 and rw != 1) or (cls.rw == 2 and rw < 2):
        return False
    return (not cls.needs_wr or WR in kinds) and (not cls.extra or cls.extra in kinds)


def brute_has(g: DepGraph, cls: CycleClass) -> bool:
    """Does some simple cycle, with some choice of edge kinds, belong to ``cls``?"""
    for size in range(2, g.n + 1):
        for combo in itertools.permutations(range(g.n), size):
            if combo[0] != min(combo):
                continue
            hops = [(combo[i], combo[(i + 1) % size]) for i in range(size)]
            options = [[k for k in KINDS if g.kinds(a, b) & k & cls.allowed] for a, b in hops]
            if all(options) and any(meets(cls, list(ks)) for ks in itertools.product(*options)):
                return True
    return False


@settings(max_examples=150, deadline=None)
@given(edges_st)
def test_sccs_match_mutual_reachability(edges: list[tuple[int, int, int]]) -> None:
    g = make(5, edges)
    r = reach(g, DATA)
    want = {frozenset(v for v in range(5) if v in r[u] and u in r[v]) | {u} for u in range(5)}
    want = {c for c in want if len(c) > 1}
    assert {frozenset(c) for c in g.sccs(DATA)} == want


@settings(max_examples=150, deadline=None)
@given(edges_st)
def test_cycle_search_finds_exactly_the_classes_brute_force_finds(
        edges: list[tuple[int, int, int]]) -> None:
    g = make(5, edges)
    cycles, timed_out = find_cycles(g, CLASSES)
    assert not timed_out
    found = {c.anomaly for c in cycles}
    for c in cycles:
        cls = next(x for x in CLASSES if x.name == c.anomaly)
        assert [s[1] for s in c.steps] == [s[0] for s in c.steps[1:]] + [c.steps[0][0]]
        assert len({s[0] for s in c.steps}) == len(c.steps), "not a simple cycle"
        assert all(g.kinds(a, b) & k for a, b, k in c.steps)
        assert meets(cls, [k for _, _, k in c.steps])
    for cls in CLASSES:
        assert (cls.name in found) == brute_has(g, cls), cls.name


def test_timeout_is_reported() -> None:
    g = make(3, [(0, 1, WW), (1, 2, WW), (2, 0, WW)])
    ticks = iter(range(10**9))
    import maelstrom.elle.graph as graph_mod
    old = graph_mod.CLOCK_CHECK_STEPS
    graph_mod.CLOCK_CHECK_STEPS = 1
    try:
        cycles, timed_out = find_cycles(g, CLASSES, deadline=0.5, clock=lambda: next(ticks))
    finally:
        graph_mod.CLOCK_CHECK_STEPS = old
    assert timed_out


def test_lattice_facts() -> None:
    assert models.boundary(["G0"])[0] == ["read-uncommitted"]
    assert models.boundary(["G1c"])[0] == ["read-committed"]
    assert models.boundary(["G2-item"])[0] == ["repeatable-read"]
    assert models.boundary(["G-single"])[0] == ["consistent-view"]
    assert models.boundary(["G2-item-realtime"]) == (["strict-serializable"], [])
    assert models.boundary(["G-single-process"])[0] == ["strong-session-snapshot-isolation"]
    forbidden = models.forbidden_by(["serializable"])
    assert {"G0", "G1a", "G1b", "G1c", "G-single", "G2-item", "internal"} <= forbidden
    assert not any(a.endswith(("-realtime", "-process")) for a in forbidden)
    assert {"G2-item-realtime", "G1c-process"} <= models.forbidden_by(["strict-serializable"])
    assert models.forbidden_by(["read-uncommitted"]) >= {"G0", "duplicate-elements"}
    assert "G1a" not in models.forbidden_by(["read-uncommitted"])
    for m in models.MODEL_NAMES:
        assert models.canonical(m) == m
    with pytest.raises(models.UnknownModel, match="known models"):
        models.canonical("linearizable-ish")
