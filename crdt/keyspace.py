"""One logical database: 16 hash shards of keys, their expiry times and access times.

Strategy:
- A key lives in shard ``crc32(key) & 15``. crc32 is stable across processes
  (Python's ``hash()`` is not), so replicas agree on shards: the shard is the
  unit of gossip digests and anti-entropy.
- A value's Python type is its Redis type. A string has three forms:
  ``bytes``; ``bytearray``, a string edited in place (Redis's ``raw``); and
  ``int``, a counter INCR/DECR/INCRBY/DECRBY stored (Redis's ``int``
  encoding), which stands for its canonical decimal text: every reader of a
  string takes it through `string_bytes` or tests for it. The collection types
  carry a ``type_name`` class attribute.
- Expiry times (ms) sit in one ``expires`` dict, as in Redis, plus a heap of
  ``(when, key)`` for the active cycle. Heap entries go stale when a TTL is
  changed or removed; they are skipped on pop and compacted when they
  outnumber live TTLs. A key is expired once ``now_ms > when``. Expiry is lazy
  on every access and active from `active_expire`, which the driver calls.
- SCAN walks keys in the order of (shard, crc32) with the position as cursor.
  The sorted index is rebuilt when a scan starts (cursor 0) and only if keys
  were added since; an index built after a scan started holds every key that
  is present for the whole scan, which is Redis's guarantee.
- Every write calls `signal(key)`: it counts changes, marks WATCHers dirty and
  records the key in the open write delta (replication reads the keys' values
  after the command); a flush records `FLUSHED` there, a SWAPDB `SWAPPED`, an
  increment an `Incremented` note after its key, SADD/HSET/ZADD a `Touched`
  note of the elements they named.
- Blocked clients are told only when a key they block on is *created* (`set`
  of a key not stored), as Redis's dbAdd signals it ready, with the new value
  (the engine ignores types nobody blocks on); an overwrite or an in-place
  change tells them nothing (Redis 7.0 wakes nobody then either). SWAPDB
  calls `wake_blocked`, which tells them of every such key stored now.

No I/O, clock or randomness here: `now_ms` and the RNG are passed in.
"""

from __future__ import annotations

import heapq
import random
import sys
from bisect import bisect_left
from collections.abc import Callable, Iterator
from itertools import chain, islice
from typing import Any
from zlib import crc32

from crdt.args import is_int
from crdt.memory_account import (
    ALIGN_MASK,
    BYTES_OVERHEAD,
    INT_BYTES,
    KEY_FIXED_BYTES,
    TRIPPED,
    TTL_BYTES,
    Account,
    key_cost,
    recount,
    value_cost,
)

EMBSTR_MAX_BYTES = 44
SHARD_COUNT = 16
SHARD_MASK = SHARD_COUNT - 1
HEAP_SLACK_ENTRIES = 64
# The keyspace tables as the memory figure counts them (see `Db.table_bytes`). A dict
# entry's average cost: CPython keeps 1.5-3 slots an entry while a dict grows and 3-6
# under churn (deletes and inserts), each slot an index of 2-4 bytes plus two thirds of
# a 24-byte entry; averaged over a resize cycle ~40 bytes an entry while growing, ~85
# under churn. A cache under maxmemory lives under churn; a fill is counted a little
# high (2-4%).
DICT_ENTRY_BYTES = 80
POINTER_BYTES = 8
DB_FIXED_BYTES = 19 * sys.getsizeof({})  # the empty tables: 16 shards, access times, TTLs
# An eviction snapshot is taken again once more than 1 in SNAPSHOT_STALE_DRAWS of its
# draws (after SNAPSHOT_MIN_DRAWS) found a deleted key: about as many keys created since
# are then out of the eviction's sight.
SNAPSHOT_STALE_DRAWS = 10
SNAPSHOT_MIN_DRAWS = 50


class _Mark:
    """A whole-database write recorded in a `Db.delta` among the keys (see `FLUSHED`)."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


class Incremented:
    """Recorded in an open write delta right after the key an increment wrote (INCR and friends,
    HINCRBY, ZINCRBY): replication keeps an increment an increment, so that concurrent ones on
    different replicas add up (`crdt.replication.typed.local`).

    Attributes:
        key: the key.
        element: None for a string, the field of a hash, the member of a sorted set.
    """

    __slots__ = ("key", "element")

    def __init__(self, key: bytes, element: bytes | None) -> None:
        self.key = key
        self.element = element

    def __repr__(self) -> str:
        return f"Incremented({self.key!r}, {self.element!r})"


class Touched:
    """Recorded in an open write delta by SADD, HSET and ZADD with the members or fields they named,
    changed or not: in Redis they are written again, and replication keeps such a write concurrent
    with a remove of the same element (add-wins, `crdt.replication.typed.local`).

    Attributes:
        key: the key.
        elements: the members (SADD, ZADD) or fields (HSET).
    """

    __slots__ = ("key", "elements")

    def __init__(self, key: bytes, elements: list[bytes]) -> None:
        self.key = key
        self.elements = elements

    def __repr__(self) -> str:
        return f"Touched({self.key!r}, {self.elements!r})"


#: Recorded in an open write delta when the database was flushed (FLUSHDB, FLUSHALL).
FLUSHED = _Mark("FLUSHED")
#: Recorded in the open write deltas of both databases of a SWAPDB.
SWAPPED = _Mark("SWAPPED")


def _ignore_ready(db: Db, key: bytes, value: Any) -> None:
    """`Db.on_ready` of a database no engine serves (nobody can block on it)."""


def shard_of(key: bytes) -> int:
    """The shard (0..15) a key lives in, identical in every process."""
    return crc32(key) & SHARD_MASK


def scan_position(key: bytes) -> int:
    """A key's place in SCAN order: the shard in the top 4 bits of a 32-bit number."""
    h = crc32(key)
    return ((h & SHARD_MASK) << 28) | (h >> 4)


def string_bytes(value: Any) -> bytes | None:
    """A stored string's text as `bytes` (a copy of a bytearray, the digits of
    an int); None for any other type."""
    t = type(value)
    if t is bytes:
        return value  # type: ignore[no-any-return]
    if t is bytearray:
        return bytes(value)
    if t is int:
        return b"%d" % value
    return None


def is_string(value: Any) -> bool:
    """Whether a stored value is a string, in any of its three forms."""
    t = type(value)
    return t is bytes or t is bytearray or t is int


def type_name(value: Any) -> bytes:
    """The Redis type name (b"string", b"list", ...) of a stored value."""
    t = type(value)
    if t is bytes or t is bytearray or t is int:
        return b"string"
    return value.type_name  # type: ignore[no-any-return]


def encoding_of(value: Any, config: Any) -> bytes:
    """OBJECT ENCODING: what Redis 7.0 would report for this value at its size.

    Strings: ``int`` for a 64-bit integer of up to 20 characters, ``embstr`` up to
    44 bytes, else ``raw``; a string edited in place (bytearray) is ``raw``, a
    counter (int) is ``int``.
    Collections answer through their own ``encoding(config)`` method.
    """
    t = type(value)
    if t is bytes:
        if len(value) <= 20 and is_int(value):
            return b"int"
        return b"embstr" if len(value) <= EMBSTR_MAX_BYTES else b"raw"
    if t is bytearray:
        return b"raw"
    if t is int:
        return b"int"
    return value.encoding(config)  # type: ignore[no-any-return]


class _Snapshot:
    """The keys eviction draws from (`Db.sample_keys`), and how many draws found them gone."""

    __slots__ = ("keys", "draws", "misses")

    def __init__(self, keys: list[bytes]) -> None:
        self.keys = keys
        self.draws = 0
        self.misses = 0


class Db:
    """The keys of one logical database (SELECT index)."""

    __slots__ = (
        "index", "shards", "expires", "_heap", "atime", "key_count",
        "hits", "misses", "expired", "changes", "watchers", "delta",
        "on_expire", "_scan_keys", "_scan_pos", "_scan_stale", "blocked_keys", "on_ready",
        "account", "sized", "dirty", "averages", "lfu", "freq", "samples",
    )

    def __init__(self, index: int) -> None:
        self.index = index
        self.shards: list[dict[bytes, Any]] = [{} for _ in range(SHARD_COUNT)]
        self.expires: dict[bytes, int] = {}
        self._heap: list[tuple[int, bytes]] = []
        # Last access (ms; read in whole seconds, Redis's LRU clock), for OBJECT IDLETIME.
        self.atime: dict[bytes, int] = {}
        self.key_count = 0
        self.hits = 0
        self.misses = 0
        self.expired = 0
        self.changes = 0
        # key -> sessions watching it (MULTI/WATCH); empty when nobody watches.
        self.watchers: dict[bytes, set[Any]] = {}
        # Keys written by the commands now running, when replication wants them
        # (plus FLUSHED / SWAPPED marks for whole-database writes).
        self.delta: list[bytes] | None = None
        # Called with (db, key) when a key expires (keyspace events, replication).
        self.on_expire: Callable[[Db, bytes], None] | None = None
        # key -> how many clients block on it; creating such a key calls on_ready.
        self.blocked_keys: dict[bytes, int] = {}
        self.on_ready: Callable[[Db, bytes, Any], None] = _ignore_ready
        self._scan_keys: list[bytes] = []
        self._scan_pos: list[int] = []
        self._scan_stale = True
        # Memory accounting (crdt.memory_account): the engine's shared figure; the last
        # estimate of each value that changes in place; the keys written since.
        self.account = Account()
        self.sized: dict[bytes, int] = {}
        self.dirty: set[bytes] = set()
        # key -> (a collection's sampled element average, its length then); see settle_db.
        self.averages: dict[bytes, tuple[int, int]] = {}
        # Under an LFU policy: key -> Redis's packed counter (minutes << 8 | log counter).
        self.lfu: Any = None  # the crdt.eviction.Lfu of the engine, when the policy is LFU
        self.freq: dict[bytes, int] = {}
        # Snapshots of the keys and of the keys with a TTL that eviction samples from.
        self.samples: list[_Snapshot | None] = [None, None]

    # -- reads -------------------------------------------------------------

    def lookup(self, key: bytes, now_ms: int) -> Any:
        """The live value of `key`, or None. Deletes it first if it has expired."""
        value = self.shards[crc32(key) & SHARD_MASK].get(key)
        if value is None:
            return None
        if self.expires:
            when = self.expires.get(key)
            if when is not None and now_ms > when:
                self._expire(key)
                return None
        return value

    def read(self, key: bytes, now_ms: int) -> Any:
        """`lookup` for a read command: counts a keyspace hit or miss and the access time.

        `lookup` is written out here: this is every read command's path.
        """
        value = self.shards[crc32(key) & SHARD_MASK].get(key)
        if value is not None:
            if self.expires:
                when = self.expires.get(key)
                if when is not None and now_ms > when:
                    self._expire(key)
                    self.misses += 1
                    return None
            self.hits += 1
            self.atime[key] = now_ms
            if self.lfu is not None:
                self.lfu.touch(self.freq, key, now_ms)
            return value
        self.misses += 1
        return None

    def peek(self, key: bytes) -> Any:
        """The stored value, expired or not (Redis's dictFind: no lazy expiry, no statistics)."""
        return self.shards[crc32(key) & SHARD_MASK].get(key)

    def contains(self, key: bytes) -> bool:
        """Whether the key is stored, expired or not (no lazy expiry)."""
        return key in self.shards[crc32(key) & SHARD_MASK]

    def is_expired(self, key: bytes, now_ms: int) -> bool:
        """Whether the key is stored with a TTL that has passed (no lazy expiry)."""
        when = self.expires.get(key)
        return when is not None and now_ms > when

    def exists(self, key: bytes, now_ms: int) -> bool:
        return self.lookup(key, now_ms) is not None

    def ttl_ms(self, key: bytes) -> int | None:
        """The absolute expiry time of a key (ms), or None if it has none."""
        return self.expires.get(key)

    def __len__(self) -> int:
        return self.key_count

    def keys(self) -> Iterator[bytes]:
        """Every stored key, expired or not (callers filter with `lookup`)."""
        for shard in self.shards:
            yield from shard

    def items(self) -> Iterator[tuple[bytes, Any]]:
        for shard in self.shards:
            yield from shard.items()

    # -- writes ------------------------------------------------------------

    def set(self, key: bytes, value: Any, now_ms: int, expire_at_ms: int | None = None,
            keep_ttl: bool = False) -> None:
        """Store `value` under `key`, replacing any value; the TTL is cleared unless kept."""
        shard = self.shards[crc32(key) & SHARD_MASK]
        old = shard.get(key)
        if old is None:  # Redis's dbAdd: the key is created
            self.key_count += 1
            self._scan_stale = True
            grow = ((len(key) + BYTES_OVERHEAD) & ALIGN_MASK) + KEY_FIXED_BYTES
            if self.blocked_keys and key in self.blocked_keys:
                self.on_ready(self, key, value)
            if self.lfu is not None:
                self.lfu.create(self.freq, key, now_ms)
        else:
            t = type(old)
            if t is bytes:
                grow = -((len(old) + BYTES_OVERHEAD) & ALIGN_MASK)
            elif t is int:
                grow = -INT_BYTES
            else:
                grow = -self.sized.pop(key, 0)
                self.averages.pop(key, None)
            if self.lfu is not None:
                self.lfu.touch(self.freq, key, now_ms)
        shard[key] = value
        t = type(value)
        if t is bytes:
            grow += (len(value) + BYTES_OVERHEAD) & ALIGN_MASK
        elif t is int:
            grow += INT_BYTES
        else:
            self._mark_sized(key)
        self.atime[key] = now_ms
        if expire_at_ms is not None:
            self.set_expire(key, expire_at_ms)
        elif not keep_ttl and self.expires and self.expires.pop(key, None) is not None:
            grow -= TTL_BYTES
        self.account.data += grow
        self.changes += 1  # `signal`, written out: every SET's path
        if self.watchers or self.delta is not None:
            self.tell_observers(key)

    def _mark_sized(self, key: bytes) -> None:
        """Account a value that changes in place: estimated at the next settle."""
        self.sized[key] = 0
        dirty = self.dirty
        if not dirty:  # its growth is not in `data` until settled: the next check looks
            account = self.account
            account.dirty = True
            account.trip = TRIPPED
        dirty.add(key)

    def account_swap(self, key: bytes, old: Any, value: Any) -> None:
        """Account the swap of `old` for `value` under an existing key."""
        cost = value_cost(old)
        if cost is None:
            grow = -self.sized.pop(key, 0)
            self.averages.pop(key, None)
        else:
            grow = -cost
        cost = value_cost(value)
        if cost is None:
            self._mark_sized(key)
        else:
            grow += cost
        self.account.data += grow

    def replace_value(self, key: bytes, value: Any) -> None:
        """Swap the value of an existing key in place, keeping its TTL (INCR, APPEND...)."""
        shard = self.shards[crc32(key) & SHARD_MASK]
        self.account_swap(key, shard.get(key), value)
        shard[key] = value
        self.signal(key)

    def unshare(self, key: bytes, value: Any) -> None:
        """Swap in an equal value of another form (a string made editable, as
        Redis's dbUnshareStringValue): not a write, so nothing is signalled."""
        shard = self.shards[crc32(key) & SHARD_MASK]
        self.account_swap(key, shard.get(key), value)
        shard[key] = value

    def set_expire(self, key: bytes, when_ms: int) -> None:
        """Give an existing key an absolute expiry time in ms."""
        if key not in self.expires:
            self.account.data += TTL_BYTES
        self.expires[key] = when_ms
        heap = self._heap
        heapq.heappush(heap, (when_ms, key))
        if len(heap) > 2 * len(self.expires) + HEAP_SLACK_ENTRIES:
            self._heap = [(w, k) for k, w in self.expires.items()]
            heapq.heapify(self._heap)

    def persist(self, key: bytes) -> bool:
        """Remove a key's TTL; True if it had one."""
        if self.expires.pop(key, None) is None:
            return False
        self.account.data -= TTL_BYTES
        return True

    def delete(self, key: bytes) -> bool:
        """Remove a key and its TTL; True if it was stored (expired or not)."""
        shard = self.shards[crc32(key) & SHARD_MASK]
        value = shard.pop(key, None)
        if value is None:
            return False
        self.key_count -= 1
        cost = value_cost(value)
        if cost is None:
            cost = self.sized.pop(key, 0)
            self.averages.pop(key, None)
        shrink = key_cost(key) + cost
        if self.expires and self.expires.pop(key, None) is not None:
            shrink += TTL_BYTES
        self.account.data -= shrink
        self.atime.pop(key, None)
        if self.freq:
            self.freq.pop(key, None)
        self.signal(key)
        return True

    def flush(self) -> int:
        """Remove every key; returns how many there were. Watchers of every key are told."""
        removed = self.key_count
        self.account.data -= recount(self)
        if self.watchers:
            for key in list(self.watchers):
                if self.shards[crc32(key) & SHARD_MASK].get(key) is not None:
                    self.signal(key)
        self.shards = [{} for _ in range(SHARD_COUNT)]
        self.expires = {}
        self._heap = []
        self.atime = {}
        self.key_count = 0
        self.sized, self.dirty, self.averages, self.freq = {}, set(), {}, {}
        self.samples = [None, None]
        self._scan_keys, self._scan_pos, self._scan_stale = [], [], True
        self.changes += removed
        if self.delta is not None:
            self.delta.append(FLUSHED)  # type: ignore[arg-type]
        return removed

    def signal(self, key: bytes) -> None:
        """Note a write to `key` (WATCH, change counters, replication delta, memory accounting)."""
        self.changes += 1
        if key in self.sized:  # a value changed in place: re-estimated at the next settle
            dirty = self.dirty
            if not dirty:
                account = self.account
                account.dirty = True
                account.trip = TRIPPED
            dirty.add(key)
        if self.watchers or self.delta is not None:
            self.tell_observers(key)

    def tell_observers(self, key: bytes) -> None:
        """`signal` for a write someone waits on: WATCH, replication."""
        if self.watchers:
            sessions = self.watchers.get(key)
            if sessions:
                for session in list(sessions):
                    session.touch_watched(self, key)
        if self.delta is not None:
            self.delta.append(key)

    def note_increment(self, key: bytes, element: bytes | None) -> None:
        """Record that the write just signalled for ``key`` was an increment (`Incremented`)."""
        if self.delta is not None:
            self.delta.append(Incremented(key, element))  # type: ignore[arg-type]

    def note_touched(self, key: bytes, elements: list[bytes]) -> None:
        """Record the members or fields a SADD, HSET or ZADD named (`Touched`)."""
        if self.delta is not None:
            self.delta.append(Touched(key, elements))  # type: ignore[arg-type]

    def wake_blocked(self) -> None:
        """Mark ready every key a client blocks on that is stored now (after SWAPDB).

        Redis scans its blocking_keys dict (hash order); we go in the order the
        keys were first blocked on. Serving checks each key's type again.
        """
        if self.blocked_keys:
            for key in list(self.blocked_keys):
                value = self.shards[crc32(key) & SHARD_MASK].get(key)
                if value is not None:
                    self.on_ready(self, key, value)

    def _expire(self, key: bytes) -> None:
        self.delete(key)
        self.expired += 1
        if self.on_expire is not None:
            self.on_expire(self, key)

    # -- expiry ------------------------------------------------------------

    def active_expire(self, now_ms: int, budget: int) -> int:
        """Delete up to `budget` keys whose time has passed, earliest first.

        Redis samples random keys with a TTL and repeats while more than a
        quarter of a sample was expired; a deadline-ordered heap finds exactly
        the expired keys with no sampling and no randomness, so the simulator
        can replay it. The budget bounds one cycle's work.

        Returns:
            How many keys were deleted.
        """
        heap, expires = self._heap, self.expires
        deleted = 0
        while heap and deleted < budget:
            when, key = heap[0]
            if when >= now_ms:
                break
            heapq.heappop(heap)
            if expires.get(key) == when:
                self._expire(key)
                deleted += 1
        return deleted

    def has_expired_pending(self, now_ms: int) -> bool:
        """True if the next active cycle would find something to delete."""
        return bool(self._heap) and self._heap[0][0] < now_ms

    # -- memory and eviction sampling ---------------------------------------

    def table_bytes(self) -> int:
        """This database's tables (`crdt.memory_account`'s structure part): a fixed part plus
        `DICT_ENTRY_BYTES` a dict entry and a pointer a list slot.

        A CPython dict's real size is a step function of its history (it
        doubles, keeps deleted slots until it resizes, and resizes to 3x its
        live entries): counted as it is allocated, the figure jumps by a
        quarter of a small maxmemory at one resize, and eviction swings the
        keys held by half. Counted per entry it moves with the keys.
        """
        entries = self.key_count + len(self.atime) + len(self.expires) + len(self.sized) + len(self.freq) \
            + 2 * len(self.averages)  # an entry and its tuple
        slots = len(self._heap) + len(self._scan_keys) + len(self._scan_pos) + len(self.dirty)
        slots += sum(len(sample.keys) for sample in self.samples if sample is not None)
        return DB_FIXED_BYTES + DICT_ENTRY_BYTES * entries + POINTER_BYTES * slots

    def sample_keys(self, rng: random.Random, count: int, volatile: bool) -> list[bytes]:
        """Up to `count` live keys drawn at random (with the injected RNG), for eviction.

        Python's dicts cannot be indexed, so draws are made from a snapshot of
        the keys (or, for `volatile`, of the keys with a TTL), taken when first
        needed and taken again once it holds under four fifths of the keys or
        a tenth of its draws found deleted keys. Keys created since a snapshot
        are not drawn until the next one (at most about a tenth of the keys in
        steady eviction): they are the most recently used, the last an LRU
        policy would pick.
        """
        n = len(self.expires) if volatile else self.key_count
        if not n:
            return []
        slot = 1 if volatile else 0
        sample = self.samples[slot]
        shards = self.shards
        expires = self.expires
        draw = rng.random
        out: list[bytes] = []
        for _ in range(2):  # a snapshot that gave nothing but deleted keys is taken again
            if sample is None or 5 * len(sample.keys) < 4 * n:
                sample = self.samples[slot] = _Snapshot(
                    list(expires) if volatile else list(chain.from_iterable(shards)))
            snap = sample.keys
            size = len(snap)
            misses = 0
            for _ in range(3 * count):
                key = snap[int(draw() * size)]
                if (key in expires) if volatile else (key in shards[crc32(key) & SHARD_MASK]):
                    out.append(key)
                    if len(out) == count:
                        break
                else:
                    misses += 1
            sample.draws += len(out) + misses
            sample.misses += misses
            if sample.misses * SNAPSHOT_STALE_DRAWS > sample.draws and sample.draws >= SNAPSHOT_MIN_DRAWS:
                sample = self.samples[slot] = None  # too many keys gone (and as many new unseen)
            if out:
                break
        return out

    # -- random and scan ---------------------------------------------------

    def random_key(self, rng: random.Random, now_ms: int) -> bytes | None:
        """A random live key (RANDOMKEY), chosen with the injected RNG.

        An expired pick is deleted and another drawn, as on a Redis master, so
        this ends: every miss removes a key.
        """
        while self.key_count:
            pick = rng.randrange(self.key_count)
            for shard in self.shards:
                if pick < len(shard):
                    key = next(islice(shard, pick, None))
                    break
                pick -= len(shard)
            else:  # pragma: no cover - key_count and the shards agree
                raise AssertionError("key_count out of step with shards")
            if self.lookup(key, now_ms) is not None:
                return key
        return None

    def scan(self, cursor: int, count: int) -> tuple[int, list[bytes]]:
        """One SCAN step: about `count` keys from `cursor` on, and the next cursor (0 = done).

        Keys sharing one scan position are returned together, so a cursor never
        splits them.
        """
        if cursor == 0 and self._scan_stale:
            pairs = sorted((scan_position(k), k) for k in self.keys())
            self._scan_pos = [p for p, _ in pairs]
            self._scan_keys = [k for _, k in pairs]
            self._scan_stale = False
        positions, keys = self._scan_pos, self._scan_keys
        # A cursor is a position plus one, so that 0 can mean both start and end.
        i = bisect_left(positions, cursor - 1) if cursor else 0
        out: list[bytes] = []
        n = len(positions)
        while i < n and len(out) < count:
            pos = positions[i]
            while i < n and positions[i] == pos:
                out.append(keys[i])
                i += 1
        next_cursor = 0 if i >= n else positions[i] + 1
        return next_cursor, out
