"""Import every command module so its handlers register, then freeze the table.

Adding a command family means adding its module here; nothing else changes.
"""

from __future__ import annotations

from crdt import (  # noqa: F401  (importing a module registers its commands)
    bitfield,
    bits,
    blocking,
    expiry,
    hashes,
    introspection,
    keys,
    lists,
    memory,
    monitor,
    pubsub,
    server,
    sets,
    slowlog,
    sort,
    strings,
    transactions,
    zset_ops,
    zsets,
)
from crdt.table import TABLE

TABLE.freeze()

__all__ = ["TABLE"]
