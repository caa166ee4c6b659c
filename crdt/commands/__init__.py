"""The command families: one module per family, each registering its commands.

This is the one list of families. Importing it imports every family, so each
registers its handlers with `crdt.table.TABLE`, then freezes the table (which
links subcommands to their containers, whatever the order of registration).
Adding a family means adding its module here; nothing else changes.

The families sit above the engine's infrastructure (`crdt.keyspace`,
`crdt.session`, `crdt.table`, `crdt.writes`, ...) and below `crdt.engine`,
which imports this list and nothing else of the families.
"""

from __future__ import annotations

from crdt.commands import (  # noqa: F401  (importing a module registers its commands)
    bitfield,
    bits,
    blocking,
    expiry,
    functions,
    hashes,
    introspection,
    keys,
    lists,
    memory,
    monitor,
    pubsub,
    scripting,
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
