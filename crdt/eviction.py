"""Eviction under maxmemory: the policies, the sampled eviction pool and the LFU counter.

Strategy, after Redis's approximated algorithms (evict.c):
- Before a command that may grow memory (the ``denyoom`` flag) the engine
  compares its memory figure (`crdt.memory_account`) with maxmemory; when
  over, `Evictor.evict` deletes keys chosen by the policy until the figure is
  back under the limit, at most a step's worth of keys per call (see
  `step_keys`, from maxmemory-eviction-tenacity); the driver calls it again
  between clients' batches until done (`Evictor.pending`), so lowering
  maxmemory frees memory at once without stopping the other clients.
- LRU, LFU and volatile-ttl fill a pool of `POOL_SIZE` candidates, kept in
  ascending order of "idleness", from ``maxmemory-samples`` keys drawn at random
  from every database (`Db.sample_keys`; volatile-* draw only keys with a
  TTL) and evict the idlest candidate that still exists. Idleness is the
  time since the last access (LRU, the keyspace's access times in ms), 255
  minus the decayed logarithmic counter (LFU), or how soon the key expires
  (volatile-ttl). The random policies evict a random key (with a TTL, for
  volatile-random), visiting the databases in turn.
- LFU keeps Redis's per-key 24 bits: the minute of the last decrement (16
  bits) over an 8-bit logarithmic counter starting at 5. An access first
  decays the counter by one per ``lfu-decay-time`` minutes elapsed, then
  increments it with probability 1 / ((counter - 5) * lfu-log-factor + 1).
- An evicted key goes through `Db.delete` like any delete, so WATCH,
  replication's write delta (a replicated server sends a delete: eviction is
  a local decision) and the ``evicted`` keyspace event all see it. A strong-mode
  server (`Engine.router` set) never evicts: its deletes must go through the
  replicated log, so over maxmemory it refuses writes as noeviction does.

Randomness comes only from the engine's seeded RNG (``Engine.rng``), time
only from the ``now_ms`` passed in, so the simulator can replay eviction.
"""

from __future__ import annotations

from bisect import insort
from collections.abc import Callable
from typing import TYPE_CHECKING

from crdt.memory_account import refresh, settle

if TYPE_CHECKING:
    import random

    from crdt.engine import Engine
    from crdt.keyspace import Db

POLICIES = ("volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl",
            "allkeys-lru", "allkeys-lfu", "allkeys-random", "noeviction")
POOL_SIZE = 16
LFU_INIT_VAL = 5
LFU_MAX = 255
LFU_MINUTES_MASK = 0xFFFF
MS_PER_MINUTE = 60_000
IDLE_MAX = 2**64 - 1
# Keys one eviction call may delete, per unit of maxmemory-eviction-tenacity
# (Redis bounds a call by time: 50 us per unit up to 10; we bound it by keys,
# so a call is deterministic); at tenacity 100 a call has no bound.
KEYS_PER_TENACITY = 64
TENACITY_UNBOUNDED = 100

# `Evictor.evict` results (Redis's EVICT_OK / EVICT_RUNNING / EVICT_FAIL).
EVICT_OK = 0
EVICT_RUNNING = 1
EVICT_FAIL = 2


def step_keys(tenacity: int) -> int:
    """Most keys one eviction call deletes before it lets other clients run."""
    if tenacity >= TENACITY_UNBOUNDED:
        return 2**62
    return KEYS_PER_TENACITY * (tenacity + 1)


class Lfu:
    """Redis's logarithmic access counter with decay, kept packed per key in `Db.freq`."""

    __slots__ = ("log_factor", "decay_minutes", "rng", "_shared", "_shared_minute")

    def __init__(self, log_factor: int, decay_minutes: int, rng: random.Random) -> None:
        self.log_factor = log_factor
        self.decay_minutes = decay_minutes
        self.rng = rng
        # The packed values of the current minute, one int object each: keys share them
        # (a packed value is past CPython's small ints; 32 bytes a key otherwise).
        self._shared: dict[int, int] = {}
        self._shared_minute = -1

    @staticmethod
    def minutes(now_ms: int) -> int:
        return (now_ms // MS_PER_MINUTE) & LFU_MINUTES_MASK

    def _packed(self, minute: int, counter: int) -> int:
        if minute != self._shared_minute:
            self._shared, self._shared_minute = {}, minute
        packed = (minute << 8) | counter
        return self._shared.setdefault(packed, packed)

    def create(self, freq: dict[bytes, int], key: bytes, now_ms: int) -> None:
        """A new key: counter LFU_INIT_VAL, so it is not evicted before it can be accessed."""
        freq[key] = self._packed(self.minutes(now_ms), LFU_INIT_VAL)

    def decayed(self, packed: int, now_ms: int) -> int:
        """The counter after decay for the minutes elapsed since its last decrement."""
        counter = packed & 0xFF
        if not self.decay_minutes:
            return counter
        last = packed >> 8
        now = self.minutes(now_ms)
        elapsed = now - last if now >= last else LFU_MINUTES_MASK - last + now
        periods = elapsed // self.decay_minutes
        return 0 if periods > counter else counter - periods

    def incremented(self, counter: int) -> int:
        """One logarithmic increment: likelier the smaller the counter."""
        if counter == LFU_MAX:
            return counter
        base = max(0, counter - LFU_INIT_VAL)
        if self.rng.random() < 1.0 / (base * self.log_factor + 1):
            return counter + 1
        return counter

    def touch(self, freq: dict[bytes, int], key: bytes, now_ms: int) -> None:
        """An access: decay, then increment (Redis's updateLFU)."""
        packed = freq.get(key)
        counter = LFU_INIT_VAL if packed is None else self.decayed(packed, now_ms)
        freq[key] = self._packed(self.minutes(now_ms), self.incremented(counter))

    def frequency(self, freq: dict[bytes, int], key: bytes, now_ms: int) -> int:
        """OBJECT FREQ: the decayed counter, without counting this as an access."""
        packed = freq.get(key)
        return LFU_INIT_VAL if packed is None else self.decayed(packed, now_ms)


class Pool:
    """Up to `POOL_SIZE` eviction candidates (idleness, database index, key), least idle first."""

    __slots__ = ("entries",)

    def __init__(self) -> None:
        self.entries: list[tuple[int, int, bytes]] = []

    def offer(self, idle: int, db_index: int, key: bytes) -> None:
        """Take a sampled key if the pool has room or it is idler than the least idle kept."""
        entries = self.entries
        if len(entries) >= POOL_SIZE and idle <= entries[0][0]:
            return
        insort(entries, (idle, db_index, key))
        if len(entries) > POOL_SIZE:
            del entries[0]

    def pop_idlest(self) -> tuple[int, bytes] | None:
        """The idlest candidate (database index, key), removed from the pool."""
        if not self.entries:
            return None
        _, index, key = self.entries.pop()
        return index, key

    def __len__(self) -> int:
        return len(self.entries)


class Evictor:
    """The engine's eviction state: the policy's pool, the LFU counter, the statistics."""

    __slots__ = ("engine", "pool", "next_db", "pending", "lfu", "on_pending", "policy", "volatile",
                 "samples", "budget")

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.pool = Pool()
        self.next_db = 0  # the random policies' round-robin over databases
        self.pending = False  # over the limit after a bounded call: the driver continues
        self.lfu: Lfu | None = None
        self.on_pending: Callable[[], None] = lambda: None
        self.configure()

    def configure(self) -> None:
        """Follow the config (policy, LFU parameters); called when it changes."""
        config = self.engine.config
        policy = self.policy = config["maxmemory-policy"]
        self.volatile = policy.startswith("volatile-")
        self.samples = config["maxmemory-samples"]
        self.budget = step_keys(config["maxmemory-eviction-tenacity"])
        if policy.endswith("-lfu"):
            if self.lfu is None:
                self.lfu = Lfu(config["lfu-log-factor"], config["lfu-decay-time"], self.engine.rng)
            self.lfu.log_factor = config["lfu-log-factor"]
            self.lfu.decay_minutes = config["lfu-decay-time"]
        else:
            self.lfu = None
        for db in self.engine.dbs:
            if db.lfu is not self.lfu:
                db.lfu = self.lfu
                if self.lfu is None:
                    db.freq.clear()
        self.pool = Pool()

    def evict(self, now_ms: int) -> int:
        """Delete keys by the policy until under maxmemory, at most a step's worth.

        Returns:
            EVICT_OK (under the limit), EVICT_RUNNING (a step was used up; the
            driver goes on with `pending` set) or EVICT_FAIL (over the limit
            with nothing the policy may evict: denyoom commands get -OOM).
        """
        engine = self.engine
        account = engine.account
        limit = engine.maxmemory
        if account.dirty:
            settle(engine.dbs)
        if not limit or account.used <= limit:
            self.pending = False
            return EVICT_OK
        policy = self.policy
        # A strong-mode server (its driver routes commands through a replicated log) may
        # not delete on its own: a local delete would bypass the log. It refuses instead.
        if policy == "noeviction" or engine.router is not None:
            self.pending = False
            return EVICT_FAIL
        budget = self.budget
        deleted = 0
        while account.data + account.structure + account.clients > limit:
            if deleted >= budget:
                self.pending = True
                self.on_pending()
                return EVICT_RUNNING
            found = self._choose(policy, now_ms)
            if found is None:
                self.pending = False
                return EVICT_OK if refresh(engine) <= limit else EVICT_FAIL
            db, key = found
            self._evict_key(db, key)
            deleted += 1
        self.pending = False
        return EVICT_OK

    def _evict_key(self, db: Db, key: bytes) -> None:
        db.delete(key)
        self.engine.stats.evicted_keys += 1
        self.engine.pubsub.notify("e", b"evicted", key, db.index)

    def _choose(self, policy: str, now_ms: int) -> tuple[Db, bytes] | None:
        """The key the policy evicts next, or None when it has nothing to evict."""
        volatile = self.volatile
        dbs = self.engine.dbs
        rng = self.engine.rng
        if policy.endswith("-random"):
            for _ in range(len(dbs)):
                db = dbs[self.next_db]
                self.next_db = (self.next_db + 1) % len(dbs)
                keys = db.sample_keys(rng, 1, volatile)
                if keys:
                    return db, keys[0]
            return None
        samples = self.samples
        pool = self.pool
        entries = pool.entries
        idleness = self._idleness(policy, now_ms)
        lru = policy.endswith("-lru")
        for _ in range(2):  # a pool emptied by deletes elsewhere gets one refill
            for db in dbs:
                if not db.key_count or (volatile and not db.expires):
                    continue
                index = db.index
                atime = db.atime
                for key in db.sample_keys(rng, samples, volatile):
                    # LRU, the usual policy, written out: idle ms since the last access.
                    idle = now_ms - atime.get(key, 0) if lru else idleness(db, key)
                    if len(entries) < POOL_SIZE or idle > entries[0][0]:
                        pool.offer(idle, index, key)
            while entries:
                _, index, key = entries.pop()
                db = dbs[index]
                if db.contains(key) and (not volatile or key in db.expires):
                    return db, key
        return None

    def _idleness(self, policy: str, now_ms: int) -> Callable[[Db, bytes], int]:
        if policy.endswith("-lru"):
            return lambda db, key: now_ms - db.atime.get(key, 0)
        if policy.endswith("-lfu"):
            lfu = self.lfu
            assert lfu is not None
            return lambda db, key: LFU_MAX - lfu.frequency(db.freq, key, now_ms)
        return lambda db, key: IDLE_MAX - db.expires.get(key, IDLE_MAX)  # volatile-ttl

