"""gyrekv's estimate of the memory its data takes: what INFO's used_memory reports and
what eviction compares with maxmemory.

Strategy: gyrekv has no allocator of its own to ask (Redis reads jemalloc's
counter), and the process's RSS cannot be the figure eviction compares with:
it moves in pages, lags frees, and never shrinks below the interpreter's
baseline. So the figure is an estimate, kept in three parts:

- ``data``: the keys and values, kept incrementally by the keyspace
  (`crdt.keyspace.Db`) as commands store, replace and delete them. A string
  value (``bytes``, ``int``) costs what CPython allocates for it, known from
  its length alone, so it is added and taken off exactly; a key costs its
  ``bytes`` object plus the fixed parts of its entries (its access time's
  ``int``). A value that changes in place (a collection, a ``bytearray``) has
  its last estimate kept in ``Db.sized``; a write marks the key dirty and
  `settle` re-estimates the dirty keys (sampled, as MEMORY USAGE is:
  the container measured whole, its elements by the average of a few) before
  the figure is next read. A TTL adds its heap tuple and deadline ``int``.
- ``structure``: the keyspace's own tables (the shard dicts, access times,
  expiries, the expiry heap, LFU counters, eviction's key snapshots), a fixed
  cost per dict entry and list slot (`crdt.keyspace.Db.table_bytes`): an
  average of what CPython's dicts take while they grow and under churn, not
  their allocated size, which jumps at each resize (the figure would swing,
  and eviction with it).
- ``clients``: every client's query and output buffers.

`structure` and `clients` are refreshed, and the dirty keys settled, by
`refresh` (INFO, the server's tick, a trip, every `REFRESH_EVERY` eviction
checks near the limit); within a sixteenth of maxmemory the dirty keys are
also settled every `SETTLE_EVERY` checks, and always before anything is
evicted. A collection written many times between two settles is re-estimated
once.

The check before a denyoom command is one comparison while the figure is far
from maxmemory: ``data > trip``. Each refresh re-arms `Account.trip` (`rearm`):
far from the limit (more than two sixteenths of it left) it is ``data`` plus a
`TRIP_SHARE`-th of the room up to the last sixteenth, since a new key's table
entries cost at most about twice its data (`TRIP_SHARE` covers them), so
`data` reaching it is the first moment the whole figure may have come near;
the engine then refreshes and re-arms. Near the limit, with no limit, or with
dirty keys (a collection's growth is not in `data` until it is settled) the
trip is -1 or unreachable and every check takes the counted path above. Far
from the limit the parts `data` does not follow (client buffers, scan
snapshots) are thus refreshed by the driver's tick and at trips rather than
every `REFRESH_EVERY` checks; the sixteenth kept free covers them.

What it does not count: the interpreter itself and the imported code (the
process's baseline RSS at start-up), free memory pymalloc keeps in its arenas
after deletes (fragmentation; INFO's mem_fragmentation_ratio shows it), and
transient objects of the command running.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from itertools import islice
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from crdt.engine import Engine
    from crdt.keyspace import Db

# CPython's small-object allocator hands out 16-byte aligned blocks; a bytes
# object is a 33-byte header and its text. (n + BYTES_OVERHEAD) & ALIGN_MASK
# is its block.
BYTES_OVERHEAD = 33 + 15
ALIGN_MASK = -16
# A stored int (INCR's counters, access times, deadlines): a 32-byte object.
INT_BYTES = 32
# A key's fixed cost beyond its bytes object: its access-time int (each
# command's clock reading is one object, so keys rarely share one).
KEY_FIXED_BYTES = INT_BYTES
# A TTL: the heap's (deadline, key) tuple and the deadline int it shares with ``expires``.
TTL_BYTES = 64 + INT_BYTES
# Elements sampled per collection re-estimate (MEMORY USAGE's default).
SAMPLES = 5
POINTER_BYTES = 8
FLOAT_BYTES = sys.getsizeof(0.0)
PAIR_BYTES = sys.getsizeof((0.0, b""))
# A sorted set's SortedList: the object, its attribute dict, its list of lists and index.
SORTED_LIST_BYTES = 640
# Eviction checks between refreshes of the structure and client parts.
REFRESH_EVERY = 1024
# Eviction checks between settles of the dirty keys, once the figure is within
# 1/2**SETTLE_MARGIN_SHIFT of maxmemory (farther from it, only each refresh settles).
SETTLE_EVERY = 32
SETTLE_MARGIN_SHIFT = 4
# A collection's element average is sampled again at least once in this many settles.
RESAMPLE_EVERY = 16
# Far from maxmemory, `data` may grow by 1/TRIP_SHARE of the room left before the figure is
# refreshed: a new key's table entries (key count, access time, LFU counter: 3 x 80 bytes)
# cost at most ~2.2x its data (at least a 48-byte key block, its 32-byte access time and a
# 32-byte int), so the whole figure grows at most ~3.2x as fast as `data`.
TRIP_SHARE = 4
# `Account.trip` with no maxmemory: `data` never reaches it.
NO_TRIP = sys.maxsize
# `Account.trip` when every check must look at the whole figure: `data` is never below it.
TRIPPED = -1


def bytes_cost(n: int) -> int:
    """What CPython allocates for a bytes object of `n` bytes."""
    return (n + BYTES_OVERHEAD) & ALIGN_MASK


def key_cost(key: bytes) -> int:
    """A key's part of `data`: its bytes object and its access time."""
    return ((len(key) + BYTES_OVERHEAD) & ALIGN_MASK) + KEY_FIXED_BYTES


def value_cost(value: Any) -> int | None:
    """The cost of an immutable string value; None for a value that changes in place."""
    t = type(value)
    if t is bytes:
        return (len(value) + BYTES_OVERHEAD) & ALIGN_MASK  # type: ignore[no-any-return]
    if t is int:
        return INT_BYTES
    return None


def _block(n: int) -> int:
    """The allocator block an object of `n` bytes takes."""
    return (n + 15) & ALIGN_MASK


def _sampled(count: int, sizes: Iterator[int]) -> int:
    """`count` elements' blocks estimated from the first `SAMPLES` of them."""
    taken = [_block(n) for n in islice(sizes, SAMPLES)]
    return sum(taken) * count // len(taken) if taken else 0


def containers(value: Any) -> int:
    """A collection's own tables, measured whole (O(1))."""
    size = sys.getsizeof
    kind = value.type_name
    if kind == b"set":
        return _block(size(value)) + size(value.items) + size(value.index)
    if kind == b"zset":
        return _block(size(value)) + size(value.scores) + SORTED_LIST_BYTES
    return _block(size(value))  # a list's deque blocks, a hash's dict


def element_average(value: Any) -> int:
    """The average blocks of one element (a member, an item, a field and its value), sampled."""
    size = sys.getsizeof
    kind = value.type_name
    if kind == b"list":
        sizes: Iterator[int] = map(size, value)
    elif kind == b"hash":
        sizes = (_block(size(f)) + size(v) for f, v in value.items())
    elif kind == b"set":
        sizes = map(size, value.items)
    elif kind == b"zset":
        # a member, its score's float, its (score, member) tuple and list slot
        per_member = _block(FLOAT_BYTES) + _block(PAIR_BYTES) + POINTER_BYTES
        sizes = (size(m) + per_member for m in value.scores)
    else:
        raise AssertionError(f"no estimate for a stored {type(value).__name__}")
    taken = [_block(n) for n in islice(sizes, SAMPLES)]
    return sum(taken) // len(taken) if taken else 0


def estimate(value: Any) -> int:
    """The sampled cost of a value that changes in place (a collection or a bytearray).

    Like MEMORY USAGE (crdt.commands.memory) it measures the containers whole
    and the elements by a sample, but counts each object as the allocator
    block it takes, and a sorted set's SortedList too, so that the figure
    follows the RSS rather than the objects' own sizes.
    """
    if type(value) is bytearray:
        return _block(sys.getsizeof(value))
    return containers(value) + len(value) * element_average(value)


class Account:
    """The engine's memory figure; every `Db` of the engine adds to `data` and marks `dirty`."""

    __slots__ = ("data", "dirty", "structure", "clients", "peak", "checks", "trip")

    def __init__(self) -> None:
        self.data = 0
        self.dirty = False  # some database has keys to re-estimate (`Db.dirty`)
        self.structure = 0
        self.clients = 0
        self.peak = 0
        self.checks = 0
        # While `data` <= trip, a denyoom command needs no eviction check (`rearm`);
        # marking a key dirty sets it to TRIPPED.
        self.trip = NO_TRIP

    @property
    def used(self) -> int:
        """The figure as last settled and refreshed."""
        return self.data + self.structure + self.clients


def settle(dbs: list[Db]) -> None:
    """Re-estimate every dirty key of every database (the account's `data` follows)."""
    for db in dbs:
        if db.dirty:
            settle_db(db)
    if dbs:
        dbs[0].account.dirty = False


def settle_db(db: Db) -> None:
    """Re-estimate one database's dirty keys. A collection's element average is sampled
    again only when its length halved or doubled since, or one settle in `RESAMPLE_EVERY`
    (by the database's change count); otherwise the estimate is its containers' size plus
    length x the kept average, a few O(1) calls."""
    sized = db.sized
    averages = db.averages
    resample = not db.changes % RESAMPLE_EVERY
    grow = 0
    for key in db.dirty:
        old = sized.get(key)
        if old is None:  # deleted, or a string now
            continue
        value = db.peek(key)
        if type(value) is bytearray:
            new = _block(sys.getsizeof(value))
        else:
            n = len(value)
            kept = averages.get(key)
            if kept is None or resample or n > 2 * kept[1] + 8 or 2 * n < kept[1]:
                kept = averages[key] = (element_average(value), n)
            new = containers(value) + n * kept[0]
        sized[key] = new
        grow += new - old
    db.dirty.clear()
    db.account.data += grow


def structure_bytes(db: Db) -> int:
    """The keyspace tables of one database (`Db.table_bytes`)."""
    return db.table_bytes()


def client_bytes(engine: Engine) -> int:
    return sum(c.output_buffer_bytes + c.query_buffer_bytes for c in engine.clients.values())


def refresh(engine: Engine) -> int:
    """Settle the dirty keys, re-measure tables and client buffers; the figure now."""
    account = engine.account
    if account.dirty:
        settle(engine.dbs)
    account.structure = sum(structure_bytes(db) for db in engine.dbs)
    account.clients = client_bytes(engine)
    account.checks = 0
    used = account.used
    if used > account.peak:
        account.peak = used
    rearm(account, engine.maxmemory)
    return used


def rearm(account: Account, limit: int) -> None:
    """Set the `data` level up to which the check before a denyoom command is skipped.

    Called right after the figure was refreshed. Far from `limit` (more than two
    sixteenths of it left) and with no dirty keys: `data` plus a `TRIP_SHARE`-th of
    the room up to the last sixteenth. Otherwise every check takes the counted path.
    """
    if not limit:
        account.trip = NO_TRIP
        return
    margin = limit >> SETTLE_MARGIN_SHIFT
    room = limit - margin - account.used
    if room > margin and not account.dirty:
        account.trip = account.data + room // TRIP_SHARE
    else:
        account.trip = TRIPPED


def recount(db: Db) -> int:
    """A database's whole `data` part, counted from scratch (FLUSHDB, tests)."""
    total = 0
    sized = db.sized
    for key, value in db.items():
        total += key_cost(key)
        cost = value_cost(value)
        total += sized.get(key, 0) if cost is None else cost
    return total + TTL_BYTES * len(db.expires)
