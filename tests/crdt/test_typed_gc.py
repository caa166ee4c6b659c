"""GC of the typed CRDTs: compact(stable) shrinks metadata, keeps reads, and joins safely with
replicas that have not compacted yet; plus the metadata-size figure for a hot key.

`hot_key_metadata` is also a script: ``python -m tests.crdt.test_typed_gc 100000`` prints the
figures for 10**5 operations (the test runs 10**4).
"""

from __future__ import annotations

import json
import random
import sys
from typing import Any

from crdt.replication.clocks import HybridClock, VectorClock
from crdt.replication.typed import CounterRegister, KeyCRDT, ORHash, ORSet

REPLICAS = ("r0", "r1", "r2")


def _stable(states: list[Any]) -> VectorClock:
    vvs = [s.store.ctx.vv for s in states]
    return VectorClock.of({r: min(v.get(r, 0) for v in vvs) for r in set().union(*vvs)})


def test_compacting_a_hot_counter_coalesces_each_replicas_increments() -> None:
    states = [CounterRegister() for _ in REPLICAS]
    clocks = [HybridClock(r) for r in REPLICAS]
    for i in range(300):
        k = i % 3
        delta = states[k].increment(1 + i % 5, states[k].next_dot(REPLICAS[k]), clocks[k].now(i))
        for j in range(3):
            if j != k:
                states[j].merge(delta)
    before = states[0].metadata_size()
    text = states[0].text()
    states[0].compact(_stable(states))
    assert states[0].text() == text
    assert before == 300 + 3
    assert states[0].metadata_size() == 3 + 3  # one increment per replica, one vector entry each


def test_a_set_from_a_compacted_replica_resets_parts_an_uncompacted_one_still_holds() -> None:
    a, b = CounterRegister(), CounterRegister()
    clock = HybridClock("A")
    for i in range(10):
        b.merge(a.increment(1, a.next_dot("A"), clock.now(i)))
    a.compact(_stable([a, b]))  # a holds one coalesced increment; b still holds ten
    assert a.metadata_size() < b.metadata_size()
    b.merge(a.assign(b"5", a.next_dot("A"), clock.now(20)))  # the delta carries the ghost range
    assert a.text() == b.text() == b"5"
    b.merge(a.increment(2, a.next_dot("A"), clock.now(21)))
    b.merge(KeyCRDT(a.store).delete())
    assert a.text() is None and b.text() is None


def test_hdel_from_a_compacted_replica_reaches_every_part_of_the_field() -> None:
    a, b = ORHash(), ORHash()
    ca, cb = HybridClock("A"), HybridClock("B")
    for i in range(5):
        b.merge(a.increment(b"f", 1, a.next_dot("A"), ca.now(i)))
        a.merge(b.increment(b"f", 10, b.next_dot("B"), cb.now(i)))
        a.merge(b.increment(b"g", 1, b.next_dot("B"), cb.now(i)))
    a.compact(_stable([a, b]))
    b.merge(a.delete([b"f"]))
    assert a.items() == b.items() == {b"g": b"5"}


def test_forgotten_key_refuses_late_duplicates() -> None:
    k = KeyCRDT()
    clock = HybridClock("A")
    add = k.view("set").add(b"m", k.next_dot("A"), clock.now(1))
    k.delete()
    stable = VectorClock.of(k.store.ctx.vv)
    assert k.forgettable(stable)
    reborn = KeyCRDT.fresh(stable)
    reborn.merge(add)  # a duplicate of the old SADD arrives after the key was forgotten
    assert reborn.read() is None


def hot_key_metadata(ops: int, seed: int = 7, members: int = 100) -> dict[str, Any]:
    """Run ``ops`` random SADD/SREM on one set key on 3 replicas, and as many HINCRBYs on one hash
    field, with a partition in every tenth of the run: r2 is cut off for the first half of the
    period; in the second half new messages flow again while the held ones are still missing (so
    receivers see gaps and their dot clouds grow); at the end of the period the held messages are
    redelivered, shuffled, and every replica compacts with the stable vector.

    Returns:
        Peak and final metadata entries (live dots + context entries), live members, and the JSON
        size of a replica's final state.
    """
    rng = random.Random(seed)
    sets = [ORSet() for _ in REPLICAS]
    hashes = [ORHash() for _ in REPLICAS]
    clocks = [HybridClock(r) for r in REPLICAS]
    held: list[tuple[int, Any, Any]] = []  # (destination, set delta, hash delta) cut off by the partition
    period = max(ops // 10, 2)
    peak_set = peak_hash = 0
    for i in range(ops):
        cut = (i % period) < period // 2  # r2 is cut off in the first half of each period
        k = rng.randrange(3)
        r, ts = REPLICAS[k], clocks[k].now(i)
        m = b"m%d" % rng.randrange(members)
        s = sets[k]
        sd = s.add(m, s.next_dot(r), ts) if rng.random() < 0.6 else s.remove([m])
        h = hashes[k]
        hd = h.increment(b"hits", 1, h.next_dot(r), ts)
        for j in range(3):
            if j == k:
                continue
            if cut and (j == 2 or k == 2):
                held.append((j, sd, hd))
            else:
                sets[j].merge(sd)
                hashes[j].merge(hd)
        if (i + 1) % period == 0:  # heal, then everyone compacts with the stable vector
            rng.shuffle(held)
            for j, sd, hd in held:
                sets[j].merge(sd)
                hashes[j].merge(hd)
            held = []
            peak_set = max(peak_set, max(x.metadata_size() for x in sets))
            peak_hash = max(peak_hash, max(x.metadata_size() for x in hashes))
            for group in (sets, hashes):
                stable = _stable(group)
                for x in group:
                    x.compact(stable)
        peak_set = max(peak_set, sets[0].metadata_size())
    assert all(x == sets[0] for x in sets) and all(x == hashes[0] for x in hashes)
    return {
        "ops": ops,
        "set_members": len(sets[0]),
        "set_metadata_peak": peak_set,
        "set_metadata_final": sets[0].metadata_size(),
        "set_json_bytes": len(json.dumps(sets[0].to_json())),
        "counter_value": hashes[0].get(b"hits"),
        "counter_metadata_peak": peak_hash,
        "counter_metadata_final": hashes[0].metadata_size(),
        "counter_json_bytes": len(json.dumps(hashes[0].to_json())),
    }


def test_hot_key_metadata_does_not_grow_with_operations() -> None:
    small, big = hot_key_metadata(2_000), hot_key_metadata(10_000)
    print(small, big)
    assert big["counter_value"] == b"10000"
    # A set's metadata follows its live members (one dot per concurrent adder), not its history.
    assert big["set_metadata_final"] <= 3 * 100 + 3
    assert big["set_metadata_peak"] <= 3 * 100 + 3
    # A counter holds its unacknowledged increments until compaction, then one per replica.
    assert big["counter_metadata_final"] == small["counter_metadata_final"] <= 3 + 3


if __name__ == "__main__":
    print(hot_key_metadata(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000))
