"""Per-client state the engine keeps: selected database, protocol, name, auth, transaction.

Strategy: a `Session` is the handlers' context. The engine sets ``now_ms``
before each command; handlers read ``db``, ``engine`` and ``now_ms`` and
never touch sockets. The driver owns the connection and reads the request
fields (``close_after_reply``, ``kill``, ``sleep_ms``) after each command.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import random

    from crdt.channels import PubSub
    from crdt.config import Config
    from crdt.eviction import Evictor
    from crdt.host import HostInfo, Stats
    from crdt.keyspace import Db
    from crdt.memory_account import Account
    from crdt.table import Command, CommandTable
    from crdt.timings import LatencyMonitor, SlowLog
    from crdt.waiters import Blocking


class EngineView(Protocol):
    """What handlers use of the engine (`crdt.engine.Engine`), through ``session.engine``.

    The engine sits above every command family; the families see it only
    through this view, so the layering reads bottom-up: keyspace, registries,
    session, families, engine.
    """

    config: Config
    rng: random.Random
    dbs: list[Db]
    table: CommandTable
    host: HostInfo
    stats: Stats
    pubsub: PubSub[Session]
    blocking: Blocking[Session]
    slowlog: SlowLog
    latency: LatencyMonitor
    clients: dict[int, Session]
    monitors: dict[Session, None]
    killed: list[Session]
    calls: list[int]
    failed_calls: list[int]
    rejected_calls: list[int]
    run_id: str
    loading: bool
    replication_info: Callable[[int], list[str]] | None
    start_ms: int
    last_save_ms: int
    shutdown_requested: bool
    lua_vm: Any  # crdt.scripting.vm.LuaVM, or None before the first script
    account: Account
    evictor: Evictor

    @property
    def total_commands(self) -> int: ...

    @property
    def expired_keys(self) -> int: ...

    def call(self, cmd: Command, argv: list[bytes], session: Session) -> Any: ...

    def reset_stats(self) -> None: ...


class Session:
    """One client connection as the engine sees it."""

    __slots__ = (
        "id", "engine", "db", "db_index", "resp3", "name", "authenticated",
        "addr", "laddr", "fd", "created_ms", "last_ms", "now_ms", "last_cmd",
        "close_after_reply", "kill", "sleep_ms", "multi", "multi_error",
        "watched", "watch_dirty", "flags", "query_buffer_bytes", "output_buffer_bytes",
        "subscriptions", "patterns", "shard_subscriptions", "pubsub_count", "blocked", "user_data", "in_exec", "outbox", "attention",
        "monitor", "redacted",
    )

    def __init__(self, engine: EngineView, client_id: int, now_ms: int, addr: str = "",
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
        # Set with any of the three above, when AUTH, RESET or CLIENT KILL change
        # what the driver must do, when MULTI changes what the engine checks,
        # and with the replies that are not replies (NO_REPLY, BLOCKED), so the
        # engine and the driver test one flag per command.
        self.attention = False
        # MULTI/WATCH (filled by crdt.commands.transactions).
        self.multi: list[tuple[Any, list[bytes]]] | None = None
        self.multi_error = False
        # WATCHed keys: [db, key, expired when watched] (Redis 7.0's watchedKey).
        self.watched: list[list[Any]] = []
        self.watch_dirty = False
        self.in_exec = False  # blocking commands do not block inside EXEC
        # MONITOR (crdt.monitor_feed): streaming every command; the arguments AUTH/HELLO hide.
        self.monitor = False
        self.redacted: tuple[int, ...] = ()
        self.flags = "N"
        self.query_buffer_bytes = 0
        self.output_buffer_bytes = 0
        # Pub/sub and blocking (filled by their modules).
        # Ordered sets (dicts): unsubscribing from everything goes in subscription order.
        self.subscriptions: dict[bytes, None] = {}
        self.patterns: dict[bytes, None] = {}
        self.shard_subscriptions: dict[bytes, None] = {}
        # All three together (kept by PubSub): non-zero = Redis's CLIENT_PUBSUB flag.
        self.pubsub_count = 0
        self.outbox: list[Any] = []  # pushes (pub/sub) waiting for the driver
        self.blocked: Any = None
        self.user_data: Any = None

    def touch_watched(self, db: Db, key: bytes) -> None:
        """A watched key was written (Db.signal): the next EXEC fails.

        Except, as in Redis 7.0, when the key was already logically expired at
        WATCH time and is now simply deleted: logically nothing changed.
        """
        for entry in self.watched:
            if entry[0] is db and entry[1] == key:
                if entry[2]:
                    entry[2] = False
                    if not db.contains(key):
                        continue
                self.watch_dirty = True

    def discard_transaction(self) -> None:
        """Leave MULTI and forget WATCHed keys (EXEC, DISCARD, an EXEC the engine refuses)."""
        self.multi = None
        self.multi_error = False
        self.unwatch()

    def unwatch(self) -> None:
        """Forget every WATCHed key (EXEC, DISCARD, UNWATCH, RESET, disconnect)."""
        for db, key, _ in self.watched:
            sessions = db.watchers.get(key)
            if sessions is not None:
                sessions.discard(self)
                if not sessions:
                    del db.watchers[key]
        self.watched = []
        self.watch_dirty = False

    def select(self, index: int) -> None:
        self.db_index = index
        self.db = self.engine.dbs[index]
