"""The Redis command engine: dispatch through the table onto the sharded keyspace.

Strategy: `Engine.execute(argv, session, now_ms)` is the one entry point. It
finds the command with one dict lookup, checks arity and auth, runs the
handler and turns a `CommandError` into an `ErrorReply` value, so a bad
command fills its pipeline slot and changes nothing. The engine owns the
databases, the server parameters, the client registry and the statistics;
it takes time (`now_ms`) and randomness (`rng`) from its caller and does no
I/O, so the server, the node programs and the simulator share it.

`execute_with_delta` also returns the keys the command wrote (per database),
which replication turns into the write delta.
"""

from __future__ import annotations

import random
import sys
from collections.abc import Callable, Iterable
from typing import Any

from crdt import errors, monitor_feed
from crdt.channels import SUBSCRIBED_ALLOWED, PubSub
from crdt.commands import TABLE
from crdt.config import Config
from crdt.errors import CommandError
from crdt.eviction import EVICT_FAIL, Evictor
from crdt.host import HostInfo, Stats
from crdt.keyspace import Db
from crdt.memory_account import REFRESH_EVERY, SETTLE_EVERY, SETTLE_MARGIN_SHIFT, Account, refresh, settle
from crdt.session import Session
from crdt.table import Command
from crdt.timings import LatencyMonitor, SlowLog
from crdt.waiters import Blocking
from protocol.replies import QUEUED, ErrorReply

# Work bounds of one active expiry cycle (Redis bounds it by time; we by keys,
# so a cycle is deterministic), multiplied by `active-expire-effort`.
EXPIRE_KEYS_PER_CYCLE = 20_000

# Commands that run at once even inside MULTI (everything else is queued).
MULTI_IMMEDIATE = frozenset({"exec", "discard", "multi", "watch", "quit", "reset"})
# Commands a replica-flagged client (a MONITOR) may not run: they read, write or
# may replicate. Redis hides its may_replicate flag from COMMAND INFO (so our
# table has none); of our commands PUBLISH and SPUBLISH carry it.
_KEYSPACE_FLAGS = frozenset({"readonly", "write"})
_MAY_REPLICATE = frozenset({"publish", "spublish"})
# Inside MULTI, under maxmemory, every command but these is refused when memory is
# short (queueing grows memory too); EXEC only if it holds a denyoom command.
_MULTI_OOM_EXEMPT = frozenset({"exec", "discard", "quit", "reset"})
_EVICTION_PARAMS = frozenset({"maxmemory", "maxmemory-policy", "maxmemory-samples",
                              "maxmemory-eviction-tenacity", "lfu-log-factor", "lfu-decay-time"})


class _Deferred:
    """The reply of a command a driver's `Engine.router` took: it answers the client later."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "DEFERRED"


DEFERRED = _Deferred()


class Engine:
    """All keyspace and server state of one gyrekv instance."""

    def __init__(self, *, config: Config | None = None, rng: random.Random | None = None,
                 host: HostInfo | None = None, now_ms: int = 0) -> None:
        self.config = config if config is not None else Config()
        self.rng = rng if rng is not None else random.Random(0)
        self.host = host if host is not None else HostInfo(start_ms=now_ms)
        self.dbs = [Db(i) for i in range(self.config["databases"])]
        self.table = TABLE
        self._lookup = TABLE.lookup.get
        # Name -> (handler, least argc, most argc, index, name, denyoom) for every command
        # without subcommands: `execute_many`'s one-lookup path.
        self._plain = {
            name: (cmd.handler, abs(cmd.arity), cmd.arity if cmd.arity > 0 else sys.maxsize,
                   cmd.index, cmd.name_bytes, "denyoom" in cmd.flags)
            for name, cmd in TABLE.lookup.items() if not cmd.subcommands and cmd.handler is not None
        }.get
        self.calls = [0] * len(TABLE.by_name)
        self.failed_calls = [0] * len(TABLE.by_name)
        self.rejected_calls = [0] * len(TABLE.by_name)
        self.stats = Stats()
        self.clients: dict[int, Session] = {}
        self.killed: list[Session] = []  # CLIENT KILL's victims, for the driver to close
        self.shutdown_requested = False  # SHUTDOWN ran: the driver closes everything and exits
        # A handler raised something other than CommandError (a bug): counted, and
        # reported to the driver, which logs it (the engine does no I/O).
        self.internal_errors = 0
        self.on_internal_error: Callable[[list[bytes], Exception], None] = lambda argv, exc: None
        self.next_client_id = 1
        self.run_id = "%040x" % self.rng.getrandbits(160)
        self.pubsub: PubSub[Session] = PubSub()
        self.monitors: dict[Session, None] = {}  # MONITOR's clients, in the order they asked
        # A replicated server that has not caught up with its peers yet: commands
        # without the ``loading`` flag answer -LOADING (set and cleared by the driver).
        self.loading = False
        # Lines a replicated driver adds to INFO replication (mode, peers, lag).
        self.replication_info: Callable[[int], list[str]] | None = None
        # A strong-mode server's driver takes the commands it replicates: called with
        # (argv, session) for every command that passed the checks, it answers None
        # (run here), a reply (a refusal), or DEFERRED (submitted; the reply comes later).
        self.router: Callable[[list[bytes], Session], Any] | None = None
        self.blocking: Blocking[Session] = Blocking(failed=self._served_error)
        self.lua_vm: Any = None  # crdt.scripting.vm.LuaVM, made by the first script (vm.of)
        self.slowlog = SlowLog()  # filled by the driver's timing (crdt.timings.record_command)
        self.latency = LatencyMonitor()
        # Memory: the figure (crdt.memory_account) every database adds to, and eviction.
        self.account = Account()
        for db in self.dbs:
            db.on_ready = self.blocking.signal
            db.on_expire = self._key_expired
            db.account = self.account
        self.maxmemory = self.config["maxmemory"]
        if self.maxmemory:
            refresh(self)  # arms the trip of the check before a denyoom command
        self.evictor = Evictor(self)
        self.pubsub.notify_flags = self.config.event_flags
        self.config.listeners.append(self._config_changed)
        self.last_save_ms = now_ms
        self.start_ms = now_ms

    # -- clients -------------------------------------------------------------

    def open_session(self, now_ms: int, addr: str = "", laddr: str = "", fd: int = -1) -> Session:
        """Register a new client and return its session."""
        session = Session(self, self.next_client_id, now_ms, addr, laddr, fd)
        self.next_client_id += 1
        self.clients[session.id] = session
        self.stats.connections_received += 1
        return session

    def close_session(self, session: Session) -> None:
        """Forget a client: its watches and subscriptions go with it."""
        self.clients.pop(session.id, None)
        session.unwatch()
        self.pubsub.forget(session)
        self.blocking.forget(session)
        monitor_feed.stop(session)

    def _key_expired(self, db: Db, key: bytes) -> None:
        self.pubsub.notify("x", b"expired", key, db.index)

    def _config_changed(self, name: str, value: Any) -> None:
        if name == "notify-keyspace-events":
            self.pubsub.notify_flags = self.config.event_flags
        elif name in _EVICTION_PARAMS:
            self.maxmemory = self.config["maxmemory"]
            self.evictor.configure()
            refresh(self)
            if self.maxmemory:  # a lowered limit is reached in steps the driver runs
                self.evictor.pending = True
                self.evictor.on_pending()

    # -- commands ------------------------------------------------------------

    def execute(self, argv: list[bytes], session: Session, now_ms: int) -> Any:
        """Run one command for a client.

        Args:
            argv: the command name and its arguments, as the client sent them.
            session: the client's session.
            now_ms: the current time in milliseconds (wall clock or virtual).

        Returns:
            The reply value (see protocol.replies); errors are `ErrorReply` values.
        """
        replies: list[Any] = []
        self.execute_many((argv,), session, now_ms, replies)
        return replies[0]

    def execute_many(self, commands: Iterable[list[bytes]], session: Session, now_ms: int,
                     replies: list[Any]) -> bool:
        """`execute` each command in turn, appending its reply, until one needs the driver.

        A command needs the driver when it leaves ``session.attention`` set
        (making a key ready for blocked clients sets it: they are served after
        each command, as Redis serves them) or makes pub/sub pushes; its reply
        is then the last one appended.

        Returns:
            True if it stopped at such a command (an iterator passed in keeps
            the commands not run yet), False once every command ran.
        """
        pushes = self.pubsub.pending
        self.blocking.running = session  # a key it makes ready sets its attention
        put = replies.append
        commands = iter(commands)
        # A session that is not authenticated, is in MULTI or is subscribed has
        # every command checked; a command that puts it in such a state stops
        # the run (it sets ``attention``), so the state is tested once a run.
        # While anyone MONITORs, every command goes through `call`, which feeds them.
        if not session.authenticated or session.multi is not None or session.pubsub_count \
                or self.monitors or self.loading or self.router is not None:
            for argv in commands:
                put(self._execute_checked(argv, session, now_ms))
                if pushes or session.attention:
                    return True
                if session.authenticated and session.multi is None and not session.pubsub_count \
                        and not self.monitors and not self.loading and self.router is None:
                    break  # EXEC or DISCARD: the rest takes the usual path
            else:
                return False
        plain_command = self._plain
        calls = self.calls
        account = self.account
        session.now_ms = now_ms
        for argv in commands:
            plain = plain_command(argv[0])
            if plain is None:
                put(self._execute_checked(argv, session, now_ms))
            else:  # the usual command: no subcommand
                handler, least, most, index, name, denyoom = plain
                if least <= len(argv) <= most:
                    session.last_cmd = name
                    # Far from maxmemory, `data` is below the trip and the check ends here.
                    if denyoom and self.maxmemory and account.data > account.trip and self._past_trip(now_ms):
                        self.rejected_calls[index] += 1
                        put(self._error(errors.OOM))
                        continue
                    try:
                        put(handler(session, argv))
                    except CommandError as e:
                        self.failed_calls[index] += 1
                        put(self._error(e.text))
                    except Exception as e:  # our bug: answer it, keep serving (see `_internal`)
                        self.failed_calls[index] += 1
                        put(self._internal(name, argv, e))
                    calls[index] += 1
                else:
                    put(self._execute_checked(argv, session, now_ms))
            if pushes or session.attention:
                return True
        return False

    def _execute_checked(self, argv: list[bytes], session: Session, now_ms: int) -> Any:
        """`execute` for whatever is not the usual command: name, arity and session checks."""
        lookup = self._lookup
        cmd = lookup(argv[0])
        if cmd is None:
            cmd = lookup(argv[0].lower())
            if cmd is None:
                return self._reject(session, errors.unknown_command(argv))
        n = len(argv)
        arity = cmd.arity
        if n != arity and (arity > 0 or n < -arity):
            return self._reject(session, errors.wrong_arity(cmd.name), cmd)
        if cmd.subcommands and (n > 1 or cmd.handler is None):  # dispatch on the subcommand
            sub = cmd.subcommands.get(argv[1])
            if sub is None:
                sub = cmd.subcommands.get(argv[1].lower())
                if sub is None:
                    return self._reject(session, errors.unknown_subcommand(argv[0], argv[1]))
            cmd = sub
            arity = cmd.arity
            if n != arity and (arity > 0 or n < -arity):
                return self._reject(session, errors.wrong_arity(cmd.name), cmd)
        session.now_ms = now_ms
        if not session.authenticated or session.multi is not None or session.pubsub_count \
                or session.monitor or self.loading:
            refused = self._gate(cmd, argv, session)
            if refused is not None:
                return refused
        elif self.maxmemory and "denyoom" in cmd.flags and self.out_of_memory(now_ms):
            return self._reject(session, errors.OOM, cmd)
        session.last_cmd = cmd.name_bytes
        if self.router is not None:
            routed = self.router(argv, session)
            if routed is not None:
                if routed is DEFERRED:
                    session.attention = True  # the driver parks the client until its reply
                    self.calls[cmd.index] += 1  # it runs elsewhere; it counts here (`deferred_error`)
                    if self.monitors:
                        monitor_feed.feed(session, cmd, argv)
                    return routed
                if isinstance(routed, ErrorReply):  # refused where it is: counted as Redis counts a rejection
                    return self._reject(session, bytes(routed), cmd)
                return routed
        return self.call(cmd, argv, session)

    def _gate(self, cmd: Command, argv: list[bytes], session: Session) -> Any:
        """The reply for a command the session's state stops (auth, RESP2 pub/sub, MONITOR,
        MULTI), else None."""
        if not session.authenticated and "no_auth" not in cmd.flags:
            return self._reject(session, errors.NOAUTH, cmd)
        if self.maxmemory and self._refuses_on_oom(cmd, session) and self.out_of_memory(session.now_ms):
            return self._reject(session, errors.OOM, cmd)
        if session.pubsub_count and not session.resp3 \
                and cmd.name not in SUBSCRIBED_ALLOWED:
            return self._reject(session, errors.subscribed_context(cmd.name), cmd)
        if session.monitor and (not _KEYSPACE_FLAGS.isdisjoint(cmd.flags)
                                or cmd.name in _MAY_REPLICATE):  # a replica-flagged client
            return self._reject(session, errors.REPLICA_KEYSPACE, cmd)
        if self.loading and "loading" not in cmd.flags:
            return self._reject(session, errors.LOADING, cmd)
        if session.multi is not None and cmd.name not in MULTI_IMMEDIATE:
            session.last_cmd = cmd.name_bytes
            if "no_multi" in cmd.flags:
                return self._reject(session, errors.NOT_ALLOWED_IN_MULTI, cmd)
            session.multi.append((cmd, argv))
            return QUEUED
        return None

    def _refuses_on_oom(self, cmd: Command, session: Session) -> bool:
        """Whether a command is refused when memory is short (Redis's processCommand rules)."""
        if "denyoom" in cmd.flags:
            return True
        if session.multi is None:
            return False
        if cmd.name == "exec":  # refused if it would run a command that may grow memory
            return any("denyoom" in queued.flags for queued, _ in session.multi)
        return cmd.name not in _MULTI_OOM_EXEMPT

    def out_of_memory(self, now_ms: int) -> bool:
        """Before a command that may grow memory: evict down to maxmemory if over it; True
        if that could not be done (the command is refused with -OOM).

        Far from the limit nothing is done until `data` passes the trip
        (`crdt.memory_account.rearm`), then the figure is refreshed and the trip
        re-armed; near it (or with keys to re-estimate) every check is counted.
        """
        account = self.account
        return account.data > account.trip and self._past_trip(now_ms)

    def _past_trip(self, now_ms: int) -> bool:
        """`out_of_memory` once `data` is past the trip (`execute_many` tests that inline)."""
        account = self.account
        account.checks += 1
        if account.checks >= REFRESH_EVERY or account.trip >= 0:
            refresh(self)  # re-arms the trip
            if account.data <= account.trip:
                return False
        used = account.data + account.structure + account.clients
        limit = self.maxmemory
        if account.dirty and not account.checks % SETTLE_EVERY and used > limit - (limit >> SETTLE_MARGIN_SHIFT):
            # Near the limit: the collections written since are re-estimated now, not at
            # the next refresh (far from it, what a thousand commands add can wait).
            settle(self.dbs)
            used = account.data + account.structure + account.clients
        if used <= limit:
            return False
        return self.evictor.evict(now_ms) == EVICT_FAIL

    def memory_tick(self, now_ms: int) -> bool:
        """The driver's periodic memory work: refresh the figure; one bounded eviction step
        if over maxmemory. True if more steps are wanted at once (`Evictor.pending`)."""
        refresh(self)
        if self.maxmemory and self.account.used > self.maxmemory:
            self.evictor.evict(now_ms)
        else:
            self.evictor.pending = False
        return self.evictor.pending

    def call(self, cmd: Command, argv: list[bytes], session: Session) -> Any:
        """Run an already validated command (EXEC runs its queue through here).

        `execute_many` writes this out for the usual command, to spare a call.
        """
        try:
            reply = cmd.handler(session, argv)  # type: ignore[misc]
        except CommandError as e:
            self.failed_calls[cmd.index] += 1
            reply = self._error(e.text)
        except Exception as e:  # our bug: answer it, keep serving (see `_internal`)
            self.failed_calls[cmd.index] += 1
            reply = self._internal(cmd.name_bytes, argv, e)
        self.calls[cmd.index] += 1
        if self.monitors:
            monitor_feed.feed(session, cmd, argv)
        return reply

    def execute_with_delta(self, argv: list[bytes], session: Session,
                           now_ms: int) -> tuple[Any, dict[int, list[bytes]]]:
        """`execute`, also returning the keys written, per database index, in write order.

        Deltas a driver keeps open (a replicated server records every
        client's writes) are set aside meanwhile and restored after.
        """
        saved = [db.delta for db in self.dbs]
        for db in self.dbs:
            db.delta = []
        try:
            reply = self.execute(argv, session, now_ms)
            delta = {db.index: db.delta for db in self.dbs if db.delta}
        finally:
            for db, kept in zip(self.dbs, saved, strict=True):
                db.delta = kept
        return reply, delta  # type: ignore[return-value]

    def _reject(self, session: Session, text: bytes, cmd: Command | None = None) -> ErrorReply:
        """An error found before the command ran; inside MULTI it also dooms the EXEC.

        A refused EXEC (its arity, a subscribed context, NOAUTH) discards the
        transaction and the watches, in MULTI or not, and its error says why:
        Redis's execCommandAbort.
        """
        if session.multi is not None:
            session.multi_error = True
        if cmd is not None:
            self.rejected_calls[cmd.index] += 1
            if cmd.name == "exec":
                session.discard_transaction()
                text = errors.exec_abort(text)
        return self._error(text)

    def _internal(self, name: bytes, argv: list[bytes], exc: Exception) -> ErrorReply:
        """The reply to a command whose handler raised something other than `CommandError`.

        That is a bug of ours, never the client's: the client gets an error
        reply naming the command, the driver hears of it through
        `on_internal_error` (the server logs it with the traceback), and every
        other client goes on being served. What the command changed before it
        failed stays changed (as with a Redis command that crashed half-way,
        except that the server lives).
        """
        self.internal_errors += 1
        self.on_internal_error(argv, exc)
        return self._error(errors.internal_error(name, exc))

    def deferred_error(self, name: bytes, text: bytes) -> None:
        """A routed command (`router`, `DEFERRED`) named ``name`` was answered with the error
        ``text``: a failed call and an error reply in INFO commandstats and errorstats, as if it
        had failed here. Its call was counted when it was routed."""
        cmd = self._lookup(name) or self._lookup(name.lower())
        if cmd is not None:
            self.failed_calls[cmd.index] += 1
        self._error(text)

    def _served_error(self, command: bytes, text: bytes) -> ErrorReply:
        """The error a blocked client gets when served (`Blocking.failed`), counted as Redis
        counts it: a failed call of its command, an error reply (INFO commandstats, errorstats)."""
        self.failed_calls[self.table.lookup[command].index] += 1
        return self._error(text)

    def _error(self, text: bytes) -> ErrorReply:
        stats = self.stats
        stats.error_replies += 1
        code = text.split(b" ", 1)[0]
        stats.errors_by_code[code] = stats.errors_by_code.get(code, 0) + 1
        return ErrorReply(text)

    # -- time-driven work ----------------------------------------------------

    def active_expire(self, now_ms: int) -> int:
        """One active expiry cycle over every database; returns keys deleted."""
        budget = EXPIRE_KEYS_PER_CYCLE * self.config["active-expire-effort"]
        deleted = 0
        for db in self.dbs:
            if db.expires and db.has_expired_pending(now_ms):
                deleted += db.active_expire(now_ms, budget - deleted)
                if deleted >= budget:
                    break
        self.stats.expire_cycles += 1
        return deleted

    def expire_interval_ms(self) -> int:
        """How often the driver should call `active_expire` (1000 / hz)."""
        return max(1, 1000 // self.config["hz"])

    # -- statistics ----------------------------------------------------------

    @property
    def total_commands(self) -> int:
        return sum(self.calls)

    @property
    def expired_keys(self) -> int:
        return sum(db.expired for db in self.dbs)

    def reset_stats(self) -> None:
        self.stats = Stats()
        for counts in (self.calls, self.failed_calls, self.rejected_calls):
            counts[:] = [0] * len(counts)  # in place: `execute_many` holds the list while it runs
        for db in self.dbs:
            db.hits = db.misses = db.expired = 0

