"""MEMORY USAGE, PURGE, MALLOC-STATS and HELP: what a key costs in this process's memory.

Strategy:
- MEMORY USAGE answers for gyrekv's own memory, not what Redis would use:
  Python's object sizes (``sys.getsizeof``) of the key, its slot in the
  keyspace and the value. Like Redis's objectComputeSize it samples a
  collection: the container itself is measured whole, its elements (members,
  fields and values, list items) by the average of the first SAMPLES of them
  times their count (default 5, 0 = all). Options are checked before the key,
  and the key is found without lazy expiry, as Redis's dictFind does.
- gyrekv does not own its allocator: PURGE has nothing to purge (OK, as Redis
  built without jemalloc answers), MALLOC-STATS says so in Redis's words.
  MEMORY STATS and DOCTOR are not here: their figures are jemalloc's.
"""

from __future__ import annotations

import sys
from itertools import islice
from typing import TYPE_CHECKING, Any

from crdt import errors
from crdt.args import to_int
from crdt.commands.hashes import HashValue
from crdt.commands.lists import ListValue
from crdt.commands.sets import SetValue
from crdt.commands.zsets import ZSet
from crdt.errors import CommandError
from crdt.table import command as register
from crdt.table import container
from protocol.replies import OK

if TYPE_CHECKING:
    from crdt.session import Session

DEFAULT_SAMPLES = 5
# A key's slot in a shard dict: hash, key and value pointers, at CPython's
# two-thirds fill, plus its entry in the compact index.
KEYSPACE_ENTRY_BYTES = 3 * 8 * 3 // 2 + 4
POINTER_BYTES = 8
FLOAT_BYTES = sys.getsizeof(0.0)
PAIR_BYTES = sys.getsizeof((0.0, b""))
NO_ALLOCATOR_STATS = b"Stats not supported for the current allocator"
_ALLOCATOR_COMPLEXITY = "Depends on how much memory is allocated, could be slow"

container("memory", group="server", since="4.0.0",
          summary="A container for memory diagnostics commands")


def _sampled(count: int, sizes: Any, samples: int) -> int:
    """`count` elements' bytes estimated from the sizes of the first `samples` of them."""
    taken = list(islice(sizes, samples))
    return sum(taken) * count // len(taken) if taken else 0


def value_bytes(value: Any, samples: int) -> int:
    """Bytes a stored value takes in this process, collections sampled."""
    size = sys.getsizeof
    t = type(value)
    if t is bytes or t is bytearray or t is int:
        return size(value)
    n = len(value)
    if t is ListValue:
        return size(value) + _sampled(n, map(size, value), samples)
    if t is HashValue:
        return size(value) + _sampled(n, (size(f) + size(v) for f, v in value.items()), samples)
    if t is SetValue:
        # The member list, the member -> position dict, and each member.
        return size(value) + size(value.items) + size(value.index) \
            + _sampled(n, map(size, value.items), samples)
    if t is ZSet:
        # member -> score dict, and the sorted (score, member) pairs with their list slots.
        per_member = FLOAT_BYTES + PAIR_BYTES + POINTER_BYTES
        return size(value) + size(value.scores) \
            + _sampled(n, (size(m) + per_member for m in value.scores), samples)
    raise AssertionError(f"no size for a stored {t.__name__}")


@register("memory|usage", -3, "readonly", keys=(2, 2, 1), group="server", since="4.0.0",
          complexity="O(N) where N is the number of samples.",
          summary="Estimate the memory usage of a key", syntax="key [SAMPLES count]",
          key_specs=("RO index:2 range:0:1:0",))
def memory_usage(s: Session, argv: list[bytes]) -> Any:
    """MEMORY USAGE key [SAMPLES count]: bytes, or null for a missing key."""
    samples = DEFAULT_SAMPLES
    j = 3
    while j < len(argv):
        if argv[j].lower() == b"samples" and j + 1 < len(argv):
            samples = to_int(argv[j + 1])
            if samples < 0:
                raise CommandError(errors.SYNTAX)
            samples = samples or sys.maxsize
            j += 2
        else:
            raise CommandError(errors.SYNTAX)
    key = argv[2]
    value = s.db.peek(key)
    if value is None:
        return None
    return sys.getsizeof(key) + KEYSPACE_ENTRY_BYTES + value_bytes(value, samples)


@register("memory|purge", 2, "", group="server", since="4.0.0",
          complexity=_ALLOCATOR_COMPLEXITY,
          summary="Ask the allocator to release memory",
          tips="request_policy:all_shards response_policy:all_succeeded")
def memory_purge(s: Session, argv: list[bytes]) -> Any:
    """MEMORY PURGE: OK (there is no jemalloc to purge)."""
    return OK


@register("memory|malloc-stats", 2, "", group="server", since="4.0.0",
          complexity=_ALLOCATOR_COMPLEXITY,
          summary="Show allocator internal stats",
          tips="nondeterministic_output request_policy:all_shards response_policy:special")
def memory_malloc_stats(s: Session, argv: list[bytes]) -> Any:
    """MEMORY MALLOC-STATS: Redis's answer when it was not built with jemalloc."""
    return NO_ALLOCATOR_STATS


# Redis 7.0's MEMORY HELP, less DOCTOR and STATS (not here).
MEMORY_HELP = (
    b"MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    b"MALLOC-STATS",
    b"    Return internal statistics report from the memory allocator.",
    b"PURGE",
    b"    Attempt to purge dirty pages for reclamation by the allocator.",
    b"USAGE <key> [SAMPLES <count>]",
    b"    Return memory in bytes used by <key> and its value. Nested values are",
    b"    sampled up to <count> times (default: 5, 0 means sample all).",
    b"HELP",
    b"    Prints this help.",
)


@register("memory|help", 2, "loading stale", group="server", since="4.0.0",
          summary="Show helpful text about the different subcommands")
def memory_help(s: Session, argv: list[bytes]) -> Any:
    """MEMORY HELP: Redis's lines for the subcommands gyrekv has."""
    return list(MEMORY_HELP)
