"""Per-client state the engine keeps: selected database, protocol, name, auth, transaction.

Strategy: a `Session` is the handlers' context. The engine sets ``now_ms``
before each command; handlers read ``db``, ``engine`` and ``now_ms`` and
never touch sockets. The driver owns the connection and reads the request
fields (``close_after_reply``, ``kill``, ``sleep_ms``) after each command.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from crdt.engine import Engine
    from crdt.keyspace import Db


class Session:
    """One client connection as the engine sees it."""

    __slots__ = (
        "id", "engine", "db", "db_index", "resp3", "name", "authenticated",
        "addr", "laddr", "fd", "created_ms", "last_ms", "now_ms", "last_cmd",
        "close_after_reply", "kill", "sleep_ms", "multi", "multi_error",
        "watched", "watch_dirty", "flags", "query_buffer_bytes", "output_buffer_bytes",
        "commands", "subscriptions", "patterns", "blocked", "user_data",
    )

    def __init__(self, engine: Engine, client_id: int, now_ms: int, addr: str = "",
                 laddr: str = "", fd: int = -1) -> None:
        self.id = client_id
        self.engine = engine
        self.db_index = 0
        self.db: Db = engine.dbs[0]
        self.resp3 = False
        self.name = b""
        self.authenticated = not engine.config["requirepass"]
        self.addr = addr
        self.laddr = laddr
        self.fd = fd
        self.created_ms = now_ms
        self.last_ms = now_ms
        self.now_ms = now_ms
        self.last_cmd = b"NULL"
        # Requests to the driver, read after every command.
        self.close_after_reply = False  # QUIT, protocol error: send what is queued, then close
        self.kill = False  # CLIENT KILL: close as soon as possible
        self.sleep_ms = 0  # DEBUG SLEEP: the server pauses, as Redis does
        # MULTI/WATCH (filled by the transactions module).
        self.multi: list[tuple[Any, list[bytes]]] | None = None
        self.multi_error = False
        self.watched: list[tuple[Any, bytes]] = []
        self.watch_dirty = False
        self.flags = "N"
        self.query_buffer_bytes = 0
        self.output_buffer_bytes = 0
        self.commands = 0
        # Pub/sub and blocking (filled by their modules).
        self.subscriptions: set[bytes] = set()
        self.patterns: set[bytes] = set()
        self.blocked: Any = None
        self.user_data: Any = None

    def select(self, index: int) -> None:
        self.db_index = index
        self.db = self.engine.dbs[index]
