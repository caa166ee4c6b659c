"""Import every command module so its handlers register, then freeze the table.

Adding a command family means adding its module here; nothing else changes.
"""

from __future__ import annotations

from crdt import bits, expiry, keys, server, strings  # noqa: F401  (they register commands)
from crdt.table import TABLE

TABLE.freeze()

__all__ = ["TABLE"]
