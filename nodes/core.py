"""NodeCore: the sans-I/O base of every Maelstrom node program.

Strategy: a node is a state machine driven from outside. A driver (the trio
stdin/stdout loop in `nodes.stdio`, the deterministic simulator, a test)
feeds it decoded messages and the current time and writes out whatever it
returns. The core never reads a clock, never draws randomness except from
the `random.Random` it was given, and never touches a file or a socket, so
the same object runs under Maelstrom, under our harness and inside the
simulator.

Driver API (the whole contract; nothing else is needed to run a node)::

    core = SomeNode(rng=random.Random(seed), ...)
    out: list[Message] = core.handle(msg, now_ms)   # one inbound message
    out = core.tick(now_ms)                         # fire due timers and RPC timeouts
    core.next_deadline_ms() -> int | None           # when tick() next has work

and, optionally, for drivers that inject faults (see below)::

    core.durable = DurableStore(records)            # before init: a previous life's records
    core.set_buggify(hook)                          # hook(point) -> bool

* ``now_ms`` is an int in one time base chosen by the driver (wall-clock ms
  in production, virtual ms in the simulator). It should not go backwards;
  if it does, nothing breaks, timers just fire late.
* `handle` never runs timers; a driver calls `tick` once ``now_ms`` reaches
  `next_deadline_ms` (calling it early or often is harmless).
* Output order is the order the node produced messages; a driver keeps it.
* Peer and client input never raises: a bad body gets a
  ``malformed-request`` (12) error reply, an unknown type ``not-supported``
  (10), a request before ``init`` ``temporarily-unavailable`` (11), and
  anything that cannot be answered (no ``msg_id``, a late or stray reply) is
  logged on the ``gyre.node`` logger and dropped. An exception escaping
  `handle` or `tick` is a bug in the node; the simulator lets it propagate.

Subclass API (what workload handlers and node kinds use):

* `add_route(spec, handler, when=None)`: dispatch requests of ``spec.type``
  to ``handler(msg, now_ms)`` after the body was validated against the
  `Rpc` spec (required and optional fields with their `Kind`). Several
  routes may share a type (Maelstrom's ``read`` means four things); the
  first whose ``when(body)`` is true wins. When none claims the body, the
  request is malformed.
* `on_init(callback)`: ``callback(now_ms)`` runs once the ``init`` message
  gave the node its id (start periodic timers there).
* `on_drain(callback)`: ``callback()`` runs as each `handle`/`tick`/`drain`
  is about to return its messages (a handler batching per peer sends there).
* `reply_ok(req, spec, **fields)`: the ``*_ok`` reply, closed by
  construction: exactly ``type``, ``in_reply_to`` and the spec's
  ``reply_fields`` (asserted). `reply_error(req, code, text)` for errors.
* `send(dest, body)`: fire and forget (no ``msg_id``).
* `rpc(dest, body, now_ms, on_reply=..., on_timeout=..., timeout_ms=...)`:
  allocates the ``msg_id``, matches the answer by ``in_reply_to`` (and its
  sender), calls ``on_reply(msg, now_ms)`` once, or ``on_timeout(now_ms)``
  from `tick` once ``timeout_ms`` passed; a late answer is dropped.
* `call_at(at_ms, callback)` / `call_later(now_ms, delay_ms, callback)`:
  one-shot timers returning a cancellable `Timer`.
* ``node_id``, ``node_ids`` (as given by init), `peers` (the others, in
  init order), ``rng``.

Crash, restart and durable state: a crash drops the core (its memory, its
timers, its pending RPCs); a restart builds a new one (with a fresh RNG draw)
that gets a fresh ``init``, as at start. What must survive is declared
through one small interface, `durable` (a `DurableStore`): named JSON records
that a handler writes through on every change that must outlive a crash
(``node.durable.put(name, value)``, ``delete(name)``) and reads back in its
`on_init` callback (``get(name)``, ``items(prefix)``). A record counts as
fsynced once `put` returns in memory (the simulator); a file-backed store
(`nodes.durable_log.DurableLog`) makes it so at its ``sync()``, which a
driver calls after `handle`/`tick` and before sending what came out (group
commit). Either way, since a handler runs to completion before the node's
answer leaves, "written before answering" holds by construction.
Everything not put there is lost in a crash. A fresh node's store is empty;
a driver that models restarts hands the records of one life to the next
(`DurableStore.records` / ``DurableStore(records)``, the driver's business:
the simulator keeps them in memory, a production driver may keep them in a
file). Nodes that declare nothing keep state in memory only. The core itself
keeps one record, ``core/lives``: each life starts its ``msg_id``s in a range
of its own (`MSG_ID_LIFE_SPAN` apart), so a late answer to an RPC of a
previous life never matches an RPC of this one.

BUGGIFY (FoundationDB's name): `buggify(point)` asks the driver whether to
take an unusual but legal path at a named point (delay a reply, skip a
gossip round, shrink a timeout). It is always False unless a driver set a
hook with `set_buggify` (only the simulator does), so production code pays
one attribute test. Points are dotted names, e.g. ``strong.delay-reply``.

Handlers append to an outbox through those calls; `handle` and `tick` drain
it. Timers that are due fire in ``(at_ms, creation order)`` order, so a run
is a pure function of the inputs, the times and the RNG seed.
"""

from __future__ import annotations

import enum
import heapq
import logging
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import orjson

from protocol.errors import ProtocolError
from protocol.maelstrom_json import ErrorCode, Message, error_body

__all__ = [
    "INIT",
    "DurableStore",
    "RPC_TIMEOUT_MS",
    "Field",
    "Kind",
    "NodeCore",
    "Rpc",
    "Timer",
    "VolatileStore",
]

log = logging.getLogger("gyre.node")

#: Default time an `rpc` waits for its answer before ``on_timeout`` runs.
RPC_TIMEOUT_MS: Final[int] = 1000
#: How far apart the ``msg_id`` ranges of two lives of a node start (see module doc).
MSG_ID_LIFE_SPAN: Final[int] = 1 << 32
#: The core's own durable record: how many lives this node has started.
LIVES_RECORD: Final[str] = "core/lives"


# --- request schemas ---------------------------------------------------------------------


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_topology(value: object) -> bool:
    return isinstance(value, dict) and all(
        isinstance(k, str) and isinstance(v, list) and all(isinstance(x, str) for x in v)
        for k, v in value.items()
    )


class Kind(enum.Enum):
    """The JSON type a body field must have, with the text used in errors."""

    ANY = ("any JSON value", lambda v: True)
    INT = ("an integer", _is_int)
    STR = ("a string", lambda v: isinstance(v, str))
    BOOL = ("a boolean", lambda v: isinstance(v, bool))
    LIST = ("an array", lambda v: isinstance(v, list))
    OBJECT = ("an object", lambda v: isinstance(v, dict))
    STR_LIST = ("an array of strings", lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v))
    ELEMENT = ("an integer or a string", lambda v: _is_int(v) or isinstance(v, str))
    ELEMENT_LIST = ("an array of integers and strings",
                    lambda v: isinstance(v, list) and all(_is_int(x) or isinstance(x, str) for x in v))
    TOPOLOGY = ("an object mapping node ids to arrays of node ids", _is_topology)

    def __init__(self, text: str, check: Callable[[object], bool]) -> None:
        self.text = text
        self.check = check


@dataclass(frozen=True, slots=True)
class Field:
    """One body field of a request: its name and JSON kind."""

    name: str
    kind: Kind = Kind.ANY


@dataclass(frozen=True, slots=True)
class Rpc:
    """The schema of one request type and of its ``*_ok`` reply.

    Attributes:
        type: the request's ``body["type"]``.
        fields: fields that must be present, with their kinds.
        optional: fields that may be present, with their kinds.
        reply_fields: the exact fields of the ``*_ok`` reply besides
            ``type`` and ``in_reply_to`` (Maelstrom's schemas are closed).
        reply_type: defaults to ``type + "_ok"``.
    """

    type: str
    fields: tuple[Field, ...] = ()
    optional: tuple[Field, ...] = ()
    reply_fields: tuple[str, ...] = ()
    reply_type: str = ""
    #: ``reply_fields`` as a set, for `NodeCore.reply_ok`'s assertion on every reply.
    reply_keys: frozenset[str] = field(init=False, repr=False, compare=False)
    #: ``(name, check)`` of the required fields, for `problem` on every request.
    _required: tuple[tuple[str, Callable[[object], bool]], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.reply_type:
            object.__setattr__(self, "reply_type", self.type + "_ok")
        object.__setattr__(self, "reply_keys", frozenset(self.reply_fields))
        object.__setattr__(self, "_required", tuple((f.name, f.kind.check) for f in self.fields))

    def problem(self, body: Mapping[str, Any]) -> str | None:
        """Check a request body against this schema.

        Args:
            body: the decoded body (``type`` already checked by the decoder).

        Returns:
            None when the body is valid, else the text of the
            ``malformed-request`` error. Unknown extra fields are allowed.
        """
        for name, check in self._required:  # the usual body: one lookup and one check per field
            if name not in body or not check(body[name]):
                break
        else:
            if not self.optional:
                return None
        for f in self.fields:
            if f.name not in body:
                return f"{self.type}: body has no {f.name!r} (expected {f.kind.text})"
            if not f.kind.check(body[f.name]):
                return f"{self.type}: {f.name!r} must be {f.kind.text}"
        for f in self.optional:
            if f.name in body and not f.kind.check(body[f.name]):
                return f"{self.type}: {f.name!r} must be {f.kind.text}"
        return None


INIT: Final = Rpc("init", fields=(Field("node_id", Kind.STR), Field("node_ids", Kind.STR_LIST)))


# --- timers ------------------------------------------------------------------------------


@dataclass(eq=False, slots=True)
class Timer:
    """A one-shot callback at ``at_ms``; `cancel` it to stop it firing."""

    at_ms: int
    seq: int
    callback: Callable[[int], None]
    cancelled: bool = False

    def cancel(self) -> None:
        """Stop the timer from firing (no effect once it fired)."""
        self.cancelled = True


@dataclass(slots=True)
class _Pending:
    """An RPC waiting for its answer."""

    dest: str
    on_reply: Callable[[Message, int], None]
    on_timeout: Callable[[int], None] | None
    timer: Timer


@dataclass(frozen=True, slots=True)
class _Route:
    spec: Rpc
    handler: Callable[[Message, int], None]
    when: Callable[[Mapping[str, Any]], bool] | None


# --- durable state -----------------------------------------------------------------------


class DurableStore:
    """What a node keeps across a crash: named JSON records, as an fsynced file would hold them.

    Values are encoded when `put` is called (the bytes a file would hold), so
    later changes to the object put do not leak into the record, and a value
    that is not JSON fails at once rather than at the crash.

    Args:
        records: the records of a previous life (``name -> JSON bytes``), if any.
    """

    __slots__ = ("_records", "writes")
    #: True for a store that keeps nothing (`VolatileStore`): writers may skip building records.
    discards = False

    def __init__(self, records: Mapping[str, bytes] | None = None) -> None:
        self._records: dict[str, bytes] = dict(records) if records else {}
        self.writes = 0  # puts and deletes in this life (for tests and stats)

    def put(self, name: str, value: Any) -> None:
        """Write (replace) one record.

        Raises:
            TypeError: ``value`` is not JSON-serialisable.
        """
        self._records[name] = orjson.dumps(value)
        self.writes += 1

    def put_later(self, name: str, make: Callable[[], Any]) -> None:
        """Write (replace) one record whose value is ``make()``.

        For a writer whose record is built from immutable parts that ``make``
        holds (strong mode's acceptor slots, rewritten on most messages): this
        in-memory store keeps ``make`` and encodes its value only when the record
        is read or copied (`get`, `items`, `records`: a crash), so a record
        written over first is never encoded, and what a crash keeps is byte for
        byte what `put` would have kept. A store that overrides `put` (a file,
        `VolatileStore`) gets ``put(name, make())`` at once.

        Raises:
            TypeError: (when encoded) the value is not JSON-serialisable.
        """
        if type(self).put is not DurableStore.put:
            self.put(name, make())
            return
        self._records[name] = make  # type: ignore[assignment]  # encoded by `_encoded`
        self.writes += 1

    def _encoded(self, name: str) -> bytes | None:
        raw: Any = self._records.get(name)
        if raw is not None and type(raw) is not bytes:
            raw = self._records[name] = orjson.dumps(raw())
        return raw  # type: ignore[no-any-return]

    def delete(self, name: str) -> None:
        """Remove one record (no effect when absent)."""
        if self._records.pop(name, None) is not None:
            self.writes += 1

    def get(self, name: str, default: Any = None) -> Any:
        """The decoded value of one record, or ``default``."""
        raw = self._encoded(name)
        return default if raw is None else orjson.loads(raw)

    def items(self, prefix: str = "") -> list[tuple[str, Any]]:
        """Every record whose name starts with ``prefix``, decoded, sorted by name."""
        return [(k, orjson.loads(self._encoded(k) or b"null")) for k in sorted(self._records)
                if k.startswith(prefix)]

    @property
    def records(self) -> dict[str, bytes]:
        """A copy of the raw records (what survives a crash)."""
        return {k: self._encoded(k) or b"null" for k in self._records}

    def __len__(self) -> int:
        return len(self._records)

    def sync(self) -> bool:
        """Make every write so far durable; returns whether there was anything to do.

        In memory there never is (a record counts as fsynced once `put`
        returns), so this is a no-op returning False. It exists so a driver
        can call ``core.durable.sync()`` after `NodeCore.handle`/`tick` and
        before sending their output whatever store the node has; the
        file-backed `nodes.durable_log.DurableLog` fsyncs there (group commit).
        """
        return False


class VolatileStore(DurableStore):
    """A store that keeps nothing, for a process whose records no later life reads (``gyre serve``
    without ``--dir``: a restart starts empty whatever was put). `put` only counts."""

    __slots__ = ()
    discards = True

    def put(self, name: str, value: Any) -> None:
        self.writes += 1


# --- the core ----------------------------------------------------------------------------


@dataclass(slots=True)
class _Counters:
    """What the node has seen, for logs and tests."""

    received: int = 0
    sent: int = 0
    malformed: int = 0
    unsupported: int = 0
    dropped: int = 0
    timeouts: int = 0
    by_type: dict[str, int] = field(default_factory=dict)


class NodeCore:
    """Base of every node: handshake, dispatch, RPCs and timers (see module doc).

    Args:
        rng: the node's only source of randomness.
        rpc_timeout_ms: default timeout of `rpc`.
    """

    def __init__(self, *, rng: random.Random, rpc_timeout_ms: int = RPC_TIMEOUT_MS) -> None:
        assert rpc_timeout_ms > 0, rpc_timeout_ms
        self.rng = rng
        self.rpc_timeout_ms = rpc_timeout_ms
        self.node_id: str | None = None
        self.node_ids: tuple[str, ...] = ()
        self.counters = _Counters()
        self._routes: dict[str, list[_Route]] = {}
        # The route of each type that has only one, without a predicate (`handle`'s short cut).
        self._single: dict[str, _Route] = {}
        self._init_callbacks: list[Callable[[int], None]] = []
        self._outbox: list[Message] = []
        self._timers: list[tuple[int, int, Timer]] = []
        self._timer_seq = 0
        self._next_msg_id = 1
        self._pending: dict[int, _Pending] = {}
        self.durable = DurableStore()
        self._buggify: Callable[[str], bool] | None = None
        self._drain_callbacks: list[Callable[[], None]] = []

    # -- driver API -----------------------------------------------------------------------

    def handle(self, msg: Message, now_ms: int) -> list[Message]:
        """Process one inbound message.

        Args:
            msg: a decoded message (`protocol.maelstrom_json.decode_line`).
            now_ms: the current time in the driver's time base.

        Returns:
            The messages to send, in order.
        """
        self.counters.received += 1
        body = msg.body
        if body.get("in_reply_to") is not None:
            self._on_reply(msg, now_ms)
        elif (route := self._single.get(body["type"])) is not None and msg.dest == self.node_id:
            # `_dispatch` for a type with a single route, inlined (init has no route, and a node
            # without an id matches no ``dest``: both go the long way below)
            kind = body["type"]
            by_type = self.counters.by_type
            by_type[kind] = by_type.get(kind, 0) + 1
            problem = route.spec.problem(body)
            if problem is not None:
                self._refuse(msg, ErrorCode.MALFORMED_REQUEST, problem)
            else:
                try:
                    route.handler(msg, now_ms)
                except ProtocolError as exc:  # a peer's payload failed deeper validation
                    self._refuse(msg, ErrorCode.MALFORMED_REQUEST, f"{kind}: {exc}")
        elif body["type"] == "init":  # INIT.type
            self._on_init(msg, now_ms)
        elif self.node_id is None:
            self._refuse(msg, ErrorCode.TEMPORARILY_UNAVAILABLE, "node is not initialised yet (no init received)")
        elif msg.dest != self.node_id:
            self._refuse(msg, ErrorCode.NODE_NOT_FOUND, f"this is node {self.node_id}, not {msg.dest}")
        else:
            self._dispatch(msg, now_ms)
        return self._drain()

    def tick(self, now_ms: int) -> list[Message]:
        """Fire every timer and RPC timeout due at ``now_ms``.

        Timers created while ticking run at a later tick, even if already
        due, so a callback that re-arms itself cannot spin.

        Args:
            now_ms: the current time.

        Returns:
            The messages to send, in order.
        """
        last_seq = self._timer_seq
        heap = self._timers
        deferred = []
        while heap and heap[0][0] <= now_ms:
            entry = heapq.heappop(heap)
            timer = entry[2]
            if timer.cancelled:
                continue
            if entry[1] >= last_seq:  # armed during this tick: next tick
                deferred.append(entry)
                continue
            timer.cancelled = True
            timer.callback(now_ms)
        for entry in deferred:
            heapq.heappush(heap, entry)
        return self._drain()

    def next_deadline_ms(self) -> int | None:
        """When `tick` next has work, or None when no timer is armed."""
        heap = self._timers
        while heap and heap[0][2].cancelled:
            heapq.heappop(heap)
        return heap[0][0] if heap else None

    def set_buggify(self, hook: Callable[[str], bool] | None) -> None:
        """Driver API: answer `buggify` with ``hook(point)`` (None: always False)."""
        self._buggify = hook

    # -- subclass API: faults the driver may inject ----------------------------------------

    def buggify(self, point: str) -> bool:
        """Whether to take the unusual path at ``point`` now (see module doc; False outside simulation)."""
        hook = self._buggify
        return hook is not None and hook(point)

    # -- subclass API: routing ------------------------------------------------------------

    def add_route(self, spec: Rpc, handler: Callable[[Message, int], None],
                  when: Callable[[Mapping[str, Any]], bool] | None = None) -> None:
        """Dispatch requests of ``spec.type`` to ``handler`` (see module doc).

        Args:
            spec: the request schema; the body is validated before the call.
            handler: ``handler(msg, now_ms)``; it answers through the reply
                methods and must not raise on any body valid for ``spec``.
            when: optional predicate on the body choosing between routes of
                the same type; routes are tried in the order they were added.
        """
        assert spec.type != INIT.type, "init is handled by NodeCore"
        routes = self._routes.setdefault(spec.type, [])
        routes.append(_Route(spec, handler, when))
        if len(routes) == 1 and when is None:
            self._single[spec.type] = routes[0]
        else:
            self._single.pop(spec.type, None)

    def on_init(self, callback: Callable[[int], None]) -> None:
        """Run ``callback(now_ms)`` once init has set ``node_id``."""
        self._init_callbacks.append(callback)

    def on_drain(self, callback: Callable[[], None]) -> None:
        """Run ``callback()`` whenever `handle`, `tick` or `drain` is about to return its messages:
        a handler that gathers what it sends to one peer during a turn sends it there, as one message."""
        self._drain_callbacks.append(callback)

    @property
    def peers(self) -> tuple[str, ...]:
        """The other nodes, in init order."""
        return tuple(n for n in self.node_ids if n != self.node_id)

    # -- subclass API: output -------------------------------------------------------------

    def send(self, dest: str, body: dict[str, Any]) -> None:
        """Queue a message that expects no answer.

        Args:
            dest: a node, client or service id.
            body: the body; it must have a ``type``.
        """
        assert self.node_id is not None, "send before init"
        assert isinstance(body.get("type"), str), body
        self._outbox.append(Message(self.node_id, dest, body))

    def reply_ok(self, req: Message, spec: Rpc, **fields: Any) -> None:
        """Answer ``req`` with ``spec``'s ``*_ok`` body, closed by construction.

        Args:
            req: the request (nothing is sent when it has no ``msg_id``).
            spec: its schema; ``fields`` must be exactly ``spec.reply_fields``.
            fields: the reply's fields.
        """
        assert fields.keys() == spec.reply_keys, (spec, sorted(fields))
        self._answer(req, {"type": spec.reply_type, **fields})

    def reply_error(self, req: Message, code: int, text: str | None = None) -> None:
        """Answer ``req`` with a Maelstrom error (nothing when it has no ``msg_id``).

        Args:
            req: the request.
            code: an `ErrorCode` or a custom code.
            text: human-readable detail.
        """
        self._answer(req, error_body(code, text))

    def rpc(self, dest: str, body: dict[str, Any], now_ms: int, *,
            on_reply: Callable[[Message, int], None],
            on_timeout: Callable[[int], None] | None = None,
            timeout_ms: int | None = None) -> int:
        """Send a request and call back once with its answer or its timeout.

        Args:
            dest: the node or service to ask.
            body: the request body, without ``msg_id`` (it is added).
            now_ms: the current time.
            on_reply: ``on_reply(answer, now_ms)``; the answer may be an
                error body (``type == "error"``): check it.
            on_timeout: ``on_timeout(now_ms)`` when no answer came in time.
            timeout_ms: defaults to the node's ``rpc_timeout_ms``.

        Returns:
            The ``msg_id`` used.
        """
        assert "msg_id" not in body, body
        msg_id = self._next_msg_id
        self._next_msg_id += 1
        wait_ms = self.rpc_timeout_ms if timeout_ms is None else timeout_ms
        timer = self.call_at(now_ms + wait_ms, lambda t: self._on_rpc_timeout(msg_id, t))
        self._pending[msg_id] = _Pending(dest, on_reply, on_timeout, timer)
        self.send(dest, {**body, "msg_id": msg_id})
        return msg_id

    def call_at(self, at_ms: int, callback: Callable[[int], None]) -> Timer:
        """Run ``callback(now_ms)`` from the first `tick` at or after ``at_ms``."""
        timer = Timer(at_ms, self._timer_seq, callback)
        self._timer_seq += 1
        heapq.heappush(self._timers, (at_ms, timer.seq, timer))
        return timer

    def call_later(self, now_ms: int, delay_ms: int, callback: Callable[[int], None]) -> Timer:
        """`call_at` ``now_ms + delay_ms``."""
        return self.call_at(now_ms + delay_ms, callback)

    def pending_rpcs(self) -> int:
        """How many RPCs still wait for an answer."""
        return len(self._pending)

    # -- internals ------------------------------------------------------------------------

    def drain(self) -> list[Message]:
        """Driver API: the messages handlers queued outside `handle`/`tick`.

        A driver that calls a handler's method directly (a RESP server
        replicating its clients' writes) sends these right after.
        """
        return self._drain()

    def _drain(self) -> list[Message]:
        for callback in self._drain_callbacks:
            callback()
        out = self._outbox
        if out:
            self._outbox = []
            self.counters.sent += len(out)
            return out
        return []

    def _answer(self, req: Message, body: dict[str, Any]) -> None:
        if req.msg_id is None:
            log.debug("no msg_id on %s from %s: answer %s dropped", req.type, req.src, body.get("type"))
            return
        src = self.node_id if self.node_id is not None else req.dest
        self._outbox.append(Message(src=src, dest=req.src, body={**body, "in_reply_to": req.msg_id}))

    def _refuse(self, msg: Message, code: ErrorCode, text: str) -> None:
        if code == ErrorCode.MALFORMED_REQUEST:
            self.counters.malformed += 1
        elif code == ErrorCode.NOT_SUPPORTED:
            self.counters.unsupported += 1
        if msg.msg_id is None:
            self.counters.dropped += 1
            log.warning("dropped %s from %s: %s", msg.type, msg.src, text)
            return
        self.reply_error(msg, code, text)

    def _on_init(self, msg: Message, now_ms: int) -> None:
        problem = INIT.problem(msg.body)
        if problem is None and msg.body["node_id"] not in msg.body["node_ids"]:
            problem = f"init: node_id {msg.body['node_id']!r} is not in node_ids"
        if problem is None and self.node_id is not None and msg.body["node_id"] != self.node_id:
            problem = f"init: already initialised as {self.node_id}"
        if problem is not None:
            self._refuse(msg, ErrorCode.MALFORMED_REQUEST, problem)
            return
        first = self.node_id is None
        if first:
            lives = self.durable.get(LIVES_RECORD, 0)
            self.durable.put(LIVES_RECORD, lives + 1)
            self._next_msg_id += lives * MSG_ID_LIFE_SPAN
            self.node_id = msg.body["node_id"]
            self.node_ids = tuple(msg.body["node_ids"])
            log.info("initialised as %s of %s", self.node_id, list(self.node_ids))
        self.reply_ok(msg, INIT)
        if first:
            for callback in self._init_callbacks:
                callback(now_ms)

    def _dispatch(self, msg: Message, now_ms: int) -> None:
        body = msg.body
        kind = body["type"]
        by_type = self.counters.by_type
        by_type[kind] = by_type.get(kind, 0) + 1
        routes = self._routes.get(kind)
        if routes is None:
            self._refuse(msg, ErrorCode.NOT_SUPPORTED, f"message type {kind!r} is not supported")
            return
        for route in routes:
            if route.when is None or route.when(body):
                break
        else:
            shapes = " or ".join(
                "{" + ", ".join(f.name for f in r.spec.fields) + "}" for r in routes)
            self._refuse(msg, ErrorCode.MALFORMED_REQUEST, f"{kind}: body does not match {shapes}")
            return
        problem = route.spec.problem(body)
        if problem is not None:
            self._refuse(msg, ErrorCode.MALFORMED_REQUEST, problem)
            return
        try:
            route.handler(msg, now_ms)
        except ProtocolError as exc:  # a peer's payload failed deeper validation
            self._refuse(msg, ErrorCode.MALFORMED_REQUEST, f"{kind}: {exc}")

    def _on_reply(self, msg: Message, now_ms: int) -> None:
        msg_id = msg.body["in_reply_to"]
        pending = self._pending.get(msg_id)
        if pending is None or pending.dest != msg.src:
            self.counters.dropped += 1
            log.debug("dropped %s from %s: no RPC %s waits for it", msg.type, msg.src, msg_id)
            return
        del self._pending[msg_id]
        pending.timer.cancel()
        try:
            pending.on_reply(msg, now_ms)
        except ProtocolError as exc:
            self.counters.malformed += 1
            log.warning("bad %s from %s: %s", msg.type, msg.src, exc)

    def _on_rpc_timeout(self, msg_id: int, now_ms: int) -> None:
        pending = self._pending.pop(msg_id, None)
        if pending is None:
            return
        self.counters.timeouts += 1
        if pending.on_timeout is not None:
            pending.on_timeout(now_ms)
