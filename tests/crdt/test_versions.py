"""Tests for crdt.replication.versions: the mutable version table is a join, lazy digests, flush marks."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from crdt.replication.clocks import Timestamp
from crdt.replication.images import Image
from crdt.replication.lattices import LWWRegister
from crdt.replication.versions import Ref, VersionTable

Entry = tuple[Ref, LWWRegister[Any]]

# Few keys, databases and timestamps: collisions (same ref, same timestamp) are common.
refs = st.tuples(st.integers(0, 2), st.sampled_from([b"a", b"b", b"c", b"k1", b"\xff"]))
stamps = st.builds(Timestamp, st.integers(0, 4), st.integers(0, 1), st.sampled_from(["n0", "n1"]))
images = st.none() | st.builds(Image, st.just("string"), st.sampled_from([b"x", b"y", b""]),
                               st.none() | st.integers(0, 9))
registers = st.builds(LWWRegister, images, stamps)
entries = st.lists(st.tuples(refs, registers), max_size=12)
marks = st.lists(st.tuples(st.integers(0, 2), stamps), max_size=3)


def table(items: list[Entry], flushes: list[tuple[int, Timestamp]] = ()) -> VersionTable:  # type: ignore[assignment]
    t = VersionTable()
    for db, ts in flushes:
        t.mark_flush(db, ts)
    t.merge_entries(items)
    return t


def fresh_copy(t: VersionTable) -> VersionTable:
    """The same content built from scratch (digests computed once)."""
    out = VersionTable()
    for db, ts in t.marks.items():
        out.mark_flush(db, ts)
    out.merge_entries(list(t.items()))
    return out


@settings(max_examples=40, deadline=None)
@given(entries, marks, st.randoms(use_true_random=False))
def test_merge_is_a_join_whatever_the_order_and_repeats(items: list[Entry], flushes: list[tuple[int, Timestamp]],
                                                        rnd: Any) -> None:
    a = table(items, flushes)
    ops: list[tuple[str, Any]] = [("e", e) for e in items] * 2 + [("m", m) for m in flushes] * 2
    rnd.shuffle(ops)
    b = VersionTable()
    for kind, op in ops:
        if kind == "e":
            b.put(*op)
        else:
            b.mark_flush(*op)
        b.digests()  # settle at random points: laziness must not matter
    assert a == b and a.digests() == b.digests()
    # the winner per ref is the max register not covered by its database's mark
    for ref, reg in a.items():
        rivals = [r for f, r in items if f == ref]
        assert all(reg.wins_over(r) for r in rivals)
        assert not a.covered(ref, reg)
    assert {db: max(ts for d, ts in flushes if d == db) for db, _ in flushes} == a.marks


@settings(max_examples=25, deadline=None)
@given(entries, entries, marks)
def test_merging_tables_commutes(x: list[Entry], y: list[Entry], flushes: list[tuple[int, Timestamp]]) -> None:
    half = len(flushes) // 2
    a, b = table(x, flushes[:half]), table(y, flushes[half:])
    ab, ba = fresh_copy(a), fresh_copy(b)
    for db, ts in b.marks.items():
        ab.mark_flush(db, ts)
    ab.merge_entries(list(b.items()))
    for db, ts in a.marks.items():
        ba.mark_flush(db, ts)
    ba.merge_entries(list(a.items()))
    assert ab == ba and ab.digests() == ba.digests()


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["put", "remove", "mark", "digests"]), refs, registers), max_size=20))
def test_lazy_digests_equal_a_fresh_tables(ops: list[tuple[str, Ref, LWWRegister[Any]]]) -> None:
    t = VersionTable()
    for kind, ref, reg in ops:
        if kind == "put":
            t.put(ref, reg)
        elif kind == "remove":
            t.remove(ref)
        elif kind == "mark":
            t.mark_flush(ref[0], reg.ts)
        else:
            t.digests()
        assert t.digests() == fresh_copy(t).digests()
    empty = VersionTable()
    for ref, _ in list(t.items()):
        t.remove(ref)
    t.marks.clear()
    assert t.digests() == empty.digests() == [0] * 16


def ts(ms: int, node: str = "n0") -> Timestamp:
    return Timestamp(ms, 0, node)


def reg(value: bytes | None, ms: int, node: str = "n0") -> LWWRegister[Any]:
    return LWWRegister(None if value is None else Image("string", value), ts(ms, node))


def test_a_flush_mark_removes_older_entries_and_refuses_them_afterwards() -> None:
    t = VersionTable()
    old, new, other_db = ((0, b"old"), reg(b"1", 10)), ((0, b"new"), reg(b"2", 30)), ((1, b"old"), reg(b"3", 10))
    t.merge_entries([old, new, other_db])
    gone = t.mark_flush(0, ts(20))
    assert gone == [old]  # only db 0's entries older than the mark
    assert t.get((0, b"old")) is None and t.get((0, b"new")) == new[1] and t.get((1, b"old")) == other_db[1]
    assert not t.put((0, b"old"), reg(b"again", 15))  # older than the mark: refused
    assert not t.put((0, b"x"), reg(None, 19, "n9"))  # tombstones too
    assert t.covered((0, b"x"), reg(b"", 19)) and not t.covered((0, b"x"), reg(b"", 21))
    assert t.put((0, b"old"), reg(b"later", 25))  # a concurrent write after the flush survives
    assert t.put((1, b"old"), reg(b"db1", 11))  # another database has no mark
    assert len(t) == 3


def test_marks_merge_by_max() -> None:
    t = VersionTable()
    t.put((0, b"k"), reg(b"v", 15))
    assert t.mark_flush(0, ts(20)) == [((0, b"k"), reg(b"v", 15))]
    assert t.mark_flush(0, ts(10)) is None and t.mark_flush(0, ts(20)) is None  # older, equal: no news
    assert t.marks == {0: ts(20)}
    assert t.mark_flush(0, ts(20, "n1")) == []  # the node id breaks the tie
    assert t.marks == {0: ts(20, "n1")}


def test_digests_differ_when_only_marks_differ() -> None:
    a, b = VersionTable(), VersionTable()
    for t in (a, b):
        t.put((0, b"k"), reg(b"v", 50))
    assert a.digests() == b.digests()
    a.mark_flush(0, ts(10))  # covers nothing
    assert a.digests() != b.digests() and len(a) == len(b) == 1
    b.mark_flush(1, ts(10))  # same time, another database
    assert a.digests() != b.digests()
    b.mark_flush(0, ts(10))
    a.mark_flush(1, ts(10))
    assert a.digests() == b.digests() and a == b


# --- settled digests (a cutoff epoch) -------------------------------------------------------------


def test_a_cutoff_digest_counts_only_older_epochs_so_deltas_in_flight_do_not_differ() -> None:
    old, fresh = reg(b"v", 5_000), reg(b"w", 9_500)
    a, b = VersionTable(), VersionTable()
    a.put((0, b"k"), old)
    b.put((0, b"k"), old)
    a.put((0, b"new"), fresh)  # written on a, not yet arrived at b
    assert a.digests() != b.digests()
    assert a.digests(cutoff=9) == b.digests(cutoff=9)  # entries of epoch 9 (9,000-9,999 ms) left out
    assert a.digests(cutoff=10) != b.digests(cutoff=10)
    assert [r for r, _ in a.shard_items(shard((0, b"new")), cutoff=9)] == [] != a.shard_items(shard((0, b"new")))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([b"a", b"b", b"c", b"d"]), st.integers(0, 400_000)), max_size=40),
       st.integers(0, 420))
def test_cutoff_digests_equal_a_fresh_tables_after_folding(writes: list[tuple[bytes, int]], cutoff: int) -> None:
    t = VersionTable()
    for i, (key, ms) in enumerate(writes):
        t.put((0, key), reg(b"%d" % i, ms))
        if i % 7 == 3:
            t.digests(cutoff=ms // 1000)  # asking folds old epochs along the way
    expected = VersionTable()
    for ref, r in t.items():
        if r.ts.physical_ms < cutoff * 1000:
            expected.put(ref, r)
    if cutoff >= t._fold_below:  # an older cutoff is answered as the fold point: a needless repair at worst
        assert t.digests(cutoff) == expected.digests()


def shard(ref: Ref) -> int:
    from crdt.replication.lattices import shard_of

    return shard_of(ref[1])
