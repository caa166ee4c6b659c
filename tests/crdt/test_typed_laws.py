"""Property tests of every typed CRDT (crdt/replication/typed): join laws, convergence, GC.

Random histories run on 3 replicas (tests/crdt/typed_sim.py): random operations, deliveries in
random order with duplicates and losses, sometimes a partition; `heal` then redelivers
everything. One parametrized test per property covers each type and the whole key.
"""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.crdt.typed_sim import TYPES, Net, read, run

KINDS = sorted(TYPES)
SEEDS = st.integers(0, 2**32 - 1)
FEW = settings(max_examples=15, deadline=None)


def history(kind: str, seed: int, steps: int = 40, partition: bool = True) -> Net:
    make, ops = TYPES[kind]
    rng = random.Random(seed)
    net = Net(make, rng)
    run(net, ops, steps, partition_at=rng.randrange(steps) if partition and rng.random() < 0.5 else None)
    return net


@pytest.mark.parametrize("kind", KINDS)
@FEW
@given(seed=SEEDS)
def test_join_is_commutative_associative_idempotent(kind: str, seed: int) -> None:
    net = history(kind, seed)
    a, b, c = (net.states[r] for r in net.ids)
    assert a.copy().merge(b) == b.copy().merge(a)
    assert a.copy().merge(b).merge(c) == a.copy().merge(b.copy().merge(c))
    assert a.copy().merge(a) == a
    ab = a.copy().merge(b)
    assert ab.copy().merge(b) == ab  # absorbing what was already joined changes nothing


@pytest.mark.parametrize("kind", KINDS)
@FEW
@given(seed=SEEDS)
def test_any_delivery_order_with_duplicates_and_losses_converges(kind: str, seed: int) -> None:
    net = history(kind, seed)
    net.heal()
    assert net.converged(), [read(s) for s in net.states.values()]
    reads = {repr(read(s)) for s in net.states.values()}
    assert len(reads) == 1
    for s in net.states.values():
        assert type(s).from_json(s.to_json()) == s


@pytest.mark.parametrize("kind", KINDS)
@FEW
@given(seed=SEEDS)
def test_compact_keeps_reads_and_joins_to_the_same_state(kind: str, seed: int) -> None:
    net = history(kind, seed, steps=60)
    net.heal()
    stable = net.stable()
    before = {r: (repr(read(s)), s.metadata_size()) for r, s in net.states.items()}
    first = net.ids[0]
    net.states[first].compact(stable)  # only one replica compacts; the others lag behind
    assert repr(read(net.states[first])) == before[first][0]
    assert net.states[first].metadata_size() <= before[first][1]
    # Life goes on with a mix of compacted and uncompacted replicas.
    make, ops = TYPES[kind]
    run(net, ops, 20)
    net.heal()
    assert len({repr(read(s)) for s in net.states.values()}) == 1
    # Full-state anti-entropy brings even the representation together.
    full = [s.copy() for s in net.states.values()]
    for s in net.states.values():
        for f in full:
            s.merge(f)
    assert net.converged()


@pytest.mark.parametrize("kind", KINDS)
@FEW
@given(seed=SEEDS)
def test_deltas_equal_the_state_they_came_from(kind: str, seed: int) -> None:
    """A replica that receives every delta (no full states) ends equal to one rebuilt from the
    join of all deltas: local operations are exactly 'merge my delta'."""
    make, ops = TYPES[kind]
    rng = random.Random(seed)
    net = Net(make, rng)
    run(net, ops, 30)
    net.heal()
    rebuilt = make()
    for s in net.states.values():
        rebuilt.merge(s)
    assert rebuilt == net.states[net.ids[0]]


@pytest.mark.parametrize("kind", KINDS)
@FEW
@given(seed=SEEDS)
def test_compacting_mid_run_under_the_stability_contract_converges(kind: str, seed: int) -> None:
    """One replica merges everyone's state (so it holds every dot their acknowledgements cover),
    compacts with the minimum of their vectors, and the run goes on with messages in flight."""
    net = history(kind, seed, steps=40)
    first = net.ids[0]
    acks = {r: net.states[r].copy() for r in net.ids}  # what each replica acknowledges now
    for r in net.ids[1:]:
        net.states[first].merge(acks[r])
    stable = net.stable_of([acks[r] for r in net.ids])
    expect = repr(read(net.states[first]))
    net.states[first].compact(stable)
    assert repr(read(net.states[first])) == expect
    make, ops = TYPES[kind]
    run(net, ops, 30)
    net.heal()
    assert len({repr(read(s)) for s in net.states.values()}) == 1
