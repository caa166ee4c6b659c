"""Unit tests of crdt/keyspace.py's Db: storage, lazy and active expiry, heap compaction, SCAN.

No engine here: the Db is driven directly with explicit `now_ms` values.
"""

from __future__ import annotations

import random
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from crdt.keyspace import (
    HEAP_SLACK_ENTRIES,
    SHARD_COUNT,
    Db,
    encoding_of,
    scan_position,
    shard_of,
    type_name,
)

T0 = 1_000_000


def scan_all(db: Db, count: int = 10) -> list[bytes]:
    cursor, out = 0, []
    while True:
        cursor, batch = db.scan(cursor, count)
        out += batch
        if cursor == 0:
            return out


# --- storage ----------------------------------------------------------------------------

def test_set_lookup_delete() -> None:
    db = Db(0)
    db.set(b"a", b"1", T0)
    assert db.lookup(b"a", T0) == b"1" and len(db) == 1
    db.set(b"a", b"2", T0)
    assert len(db) == 1
    assert db.delete(b"a") and not db.delete(b"a")
    assert len(db) == 0 and db.lookup(b"a", T0) is None


def test_set_clears_ttl_unless_kept() -> None:
    db = Db(0)
    db.set(b"a", b"1", T0, expire_at_ms=T0 + 10)
    db.set(b"a", b"2", T0, keep_ttl=True)
    assert db.ttl_ms(b"a") == T0 + 10
    db.set(b"a", b"3", T0)
    assert db.ttl_ms(b"a") is None


def test_replace_value_keeps_ttl() -> None:
    db = Db(0)
    db.set(b"a", b"1", T0, expire_at_ms=T0 + 10)
    db.replace_value(b"a", b"2")
    assert db.lookup(b"a", T0) == b"2" and db.ttl_ms(b"a") == T0 + 10


def test_read_counts_and_touches() -> None:
    db = Db(0)
    db.set(b"a", b"1", T0)
    db.read(b"a", T0 + 5000)
    db.read(b"b", T0 + 5000)
    assert (db.hits, db.misses) == (1, 1)
    assert db.atime[b"a"] == T0 + 5000


def test_shards_are_stable() -> None:
    assert shard_of(b"key") == shard_of(b"key") < SHARD_COUNT
    assert scan_position(b"key") >> 28 == shard_of(b"key")


def test_type_and_encoding() -> None:
    assert type_name(b"x") == type_name(bytearray(b"x")) == b"string"
    assert encoding_of(b"12", None) == b"int"
    assert encoding_of(b"-9223372036854775808", None) == b"int"
    assert encoding_of(b"9223372036854775808", None) == b"embstr"
    assert encoding_of(b"x" * 44, None) == b"embstr"
    assert encoding_of(b"x" * 45, None) == b"raw"
    assert encoding_of(bytearray(b"1"), None) == b"raw"


def test_signal_marks_watchers_and_delta() -> None:
    class Watcher:
        watch_dirty = False

        def touch_watched(self, db: Db, key: bytes) -> None:
            self.watch_dirty = True

    db = Db(0)
    w = Watcher()
    db.watchers[b"a"] = {w}
    db.delta = []
    db.set(b"b", b"1", T0)
    assert not w.watch_dirty
    db.set(b"a", b"1", T0)
    assert w.watch_dirty and db.delta == [b"b", b"a"]


def test_flush_signals_only_present_watched_keys() -> None:
    class Watcher:
        watch_dirty = False

        def touch_watched(self, db: Db, key: bytes) -> None:
            self.watch_dirty = True

    db = Db(0)
    here, absent = Watcher(), Watcher()
    db.watchers = {b"a": {here}, b"zz": {absent}}
    db.set(b"a", b"1", T0, expire_at_ms=T0 + 5)
    assert db.flush() == 1
    assert here.watch_dirty and not absent.watch_dirty
    assert len(db) == 0 and db.expires == {} and not db.has_expired_pending(T0 + 100)


# --- expiry -----------------------------------------------------------------------------

def test_lazy_expiry_boundary() -> None:
    db = Db(0)
    db.set(b"a", b"1", T0, expire_at_ms=T0 + 10)
    assert db.lookup(b"a", T0 + 10) == b"1"
    assert db.lookup(b"a", T0 + 11) is None
    assert db.expired == 1 and len(db) == 0 and b"a" not in db.expires


def test_on_expire_hook() -> None:
    seen: list[bytes] = []
    db = Db(3)
    db.on_expire = lambda d, k: seen.append(k)
    db.set(b"a", b"1", T0, expire_at_ms=T0)
    db.set(b"b", b"1", T0, expire_at_ms=T0)
    db.lookup(b"a", T0 + 1)
    db.active_expire(T0 + 1, 100)
    assert seen == [b"a", b"b"]


def test_active_expire_earliest_first_within_budget() -> None:
    db = Db(0)
    for i in range(10):
        db.set(b"k%d" % i, b"v", T0, expire_at_ms=T0 + 10 * (10 - i))
    db.set(b"forever", b"v", T0)
    assert db.active_expire(T0 + 1000, 3) == 3
    assert sorted(k for k in db.keys()) == sorted([b"forever"] + [b"k%d" % i for i in range(7)])
    assert db.active_expire(T0 + 65, 100) == 3  # only those whose time has passed
    assert db.lookup(b"k3", T0 + 65) is not None
    assert db.active_expire(T0 + 1000, 100) == 4
    assert list(db.keys()) == [b"forever"] and db.expired == 10


def test_active_expire_skips_stale_entries() -> None:
    db = Db(0)
    db.set(b"a", b"v", T0, expire_at_ms=T0 + 10)
    db.set_expire(b"a", T0 + 100)  # the T0 + 10 heap entry is now stale
    db.set(b"b", b"v", T0, expire_at_ms=T0 + 10)
    db.persist(b"b")
    db.set(b"c", b"v", T0, expire_at_ms=T0 + 10)
    db.set(b"c", b"w", T0)  # SET without TTL
    assert db.active_expire(T0 + 50, 100) == 0
    assert len(db) == 3
    assert db.has_expired_pending(T0 + 50) is False
    assert db.active_expire(T0 + 101, 100) == 1
    assert db.lookup(b"a", T0 + 101) is None


def test_has_expired_pending() -> None:
    db = Db(0)
    assert not db.has_expired_pending(T0)
    db.set(b"a", b"v", T0, expire_at_ms=T0 + 10)
    assert not db.has_expired_pending(T0 + 10)
    assert db.has_expired_pending(T0 + 11)


def test_heap_compaction_bounds_memory() -> None:
    db = Db(0)
    db.set(b"a", b"v", T0)
    db.set(b"b", b"v", T0)
    for i in range(10_000):
        db.set_expire(b"a", T0 + 1000 + i)
        db.set_expire(b"b", T0 + 1000 + i)
    assert len(db._heap) <= 2 * len(db.expires) + HEAP_SLACK_ENTRIES + 1
    assert db.active_expire(T0 + 1000 + 9999, 100) == 0  # compaction kept the latest times
    assert db.active_expire(T0 + 1000 + 10_000, 100) == 2


@settings(max_examples=50, deadline=None)
@given(ops=st.lists(st.tuples(st.sampled_from(["set", "ttl", "persist", "del", "expire"]),
                              st.integers(0, 15), st.integers(0, 200)), max_size=200))
def test_active_expiry_matches_model(ops: list[tuple[str, int, int]]) -> None:
    """Whatever happens to TTLs, one unbounded cycle deletes exactly the keys past their time."""
    db = Db(0)
    model: dict[bytes, int | None] = {}
    for op, k, t in ops:
        key = b"k%d" % k
        if op == "set":
            db.set(key, b"v", T0)
            model[key] = None
        elif op == "ttl" and key in model:
            db.set_expire(key, T0 + t)
            model[key] = T0 + t
        elif op == "persist" and key in model:
            db.persist(key)
            model[key] = None
        elif op == "del" and key in model:
            db.delete(key)
            del model[key]
        elif op == "expire":
            db.active_expire(T0 + t, 10**9)
            model = {k2: w for k2, w in model.items() if w is None or w >= T0 + t}
        assert len(db._heap) <= 2 * len(db.expires) + HEAP_SLACK_ENTRIES + 1
        assert sorted(db.keys()) == sorted(model)
        assert db.expires == {k2: w for k2, w in model.items() if w is not None}


# --- random keys -----------------------------------------------------------------------

def test_random_key_uses_the_given_rng() -> None:
    db = Db(0)
    for i in range(100):
        db.set(b"k%d" % i, b"v", T0)
    a = [db.random_key(random.Random(5), T0) for _ in range(3)]
    b = [db.random_key(random.Random(5), T0) for _ in range(3)]
    assert a == b
    assert db.random_key(random.Random(1), T0) in set(db.keys())
    assert Db(1).random_key(random.Random(1), T0) is None


def test_random_key_skips_expired() -> None:
    db = Db(0)
    for i in range(50):
        db.set(b"e%d" % i, b"v", T0, expire_at_ms=T0)
    db.set(b"live", b"v", T0)
    assert db.random_key(random.Random(3), T0 + 1) == b"live"


# --- SCAN -------------------------------------------------------------------------------

def test_scan_visits_everything_once() -> None:
    db = Db(0)
    keys = {b"key:%d" % i for i in range(1000)}
    for k in keys:
        db.set(k, b"v", T0)
    for count in (1, 10, 1000, 5000):
        out = scan_all(db, count)
        assert len(out) == len(keys) and set(out) == keys


def test_scan_empty_and_foreign_cursor() -> None:
    db = Db(0)
    assert db.scan(0, 10) == (0, [])
    db.set(b"a", b"v", T0)
    assert db.scan(2**40, 10) == (0, [])


def test_scan_cursor_is_position_based() -> None:
    db = Db(0)
    for i in range(50):
        db.set(b"k%d" % i, b"v", T0)
    cursor, first = db.scan(0, 5)
    assert cursor != 0
    positions = [scan_position(k) for k in first]
    assert positions == sorted(positions) and max(positions) < cursor


class ScanChurn(RuleBasedStateMachine):
    """A SCAN in progress while keys come and go: the guarantee and no infinite loop."""

    def __init__(self) -> None:
        super().__init__()
        self.db = Db(0)
        self.live: set[bytes] = set()
        self.start_scan()

    def start_scan(self) -> None:
        self.cursor = 0
        self.throughout = set(self.live)
        self.seen: set[bytes] = set()
        self.steps = 0

    @rule(k=st.integers(0, 300))
    def add(self, k: int) -> None:
        key = b"k%d" % k
        self.db.set(key, b"v", T0)
        self.live.add(key)

    @rule(k=st.integers(0, 300))
    def remove(self, k: int) -> None:
        key = b"k%d" % k
        self.db.delete(key)
        self.live.discard(key)
        self.throughout.discard(key)

    @rule(count=st.integers(1, 20))
    def step(self, count: int) -> None:
        self.cursor, batch = self.db.scan(self.cursor, count)
        self.steps += 1
        assert len(batch) == len(set(batch))
        self.seen.update(k for k in batch if k in self.live)
        if self.cursor == 0:
            assert self.throughout <= self.seen
            self.start_scan()

    @rule(k=st.integers(0, 300))
    def start_another_scan_elsewhere(self, k: int) -> None:
        """A second client's SCAN from 0 rebuilds the index; ours must survive it."""
        self.db.scan(0, 1 + k % 7)

    @invariant()
    def steps_are_bounded(self) -> None:
        assert self.steps <= 400


TestScanChurn = ScanChurn.TestCase
TestScanChurn.settings = settings(max_examples=60, stateful_step_count=60, deadline=None)
