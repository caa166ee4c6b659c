"""Workloads: generator + client + checker each, and the registry by name.

Strategy: a workload is a `Workload` subclass holding Maelstrom's table of
facts about it (maelstrom-spec.md section 4): its idempotent set, whether its
client is reusable, whether it records errors (Jepsen ``with-errors``),
whether it has a final phase, its request bodies and its closed reply
schemas. It builds its `OpSource` generators and runs its checker over a
finished history. None of this does I/O or reads a clock: the trio runner and
a simulator drive the same objects.

`ClientSession` is the pure client: one request in flight, ``msg_id`` 1, 2,
3…, the reply matched by ``in_reply_to`` (anything else dropped), and the
outcome rules of section 2 (`Workload.outcome_for_error`,
`Workload.outcome_for_timeout`) turning a reply or a timeout into a
`Completion`.

New workloads (kafka) drop in by subclassing `Workload` and adding one
line to `_registry`.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Final

from maelstrom.generator import Op, OpSource
from maelstrom.history import History, Operation
from protocol.maelstrom_json import Message, code_is_definite, error_name

#: Default client RPC timeout (Maelstrom ``client.clj``).
RPC_TIMEOUT_MS_DEFAULT: Final[float] = 5000.0
#: How long each node has to answer ``init``.
INIT_TIMEOUT_MS: Final[float] = 10_000.0
#: How long a setup RPC (broadcast ``topology``) may take.
SETUP_TIMEOUT_MS: Final[float] = 5000.0


class WorkloadError(ValueError):
    """Options that the workload cannot run with (reported as bad arguments)."""


@dataclass(frozen=True, slots=True)
class WorkloadOpts:
    """What a workload may depend on.

    Attributes:
        nodes: The node ids, in order.
        concurrency: Client threads.
        latency_ms: Mean network latency (lin-kv's timeout depends on it).
        topology: Broadcast topology name.
        key_count: ``--key-count``: active keys of the txn workloads (None: Elle's 10).
        checker_time_limit_s: Time budget of expensive checkers, or None.
        checker_clock: The driver's monotonic clock that budget is measured on
            (a workload reads no clock of its own); None without a budget.
        semantics: How the linearizability checker reads outcomes: ``strict``
            or ``knossos`` (`maelstrom.models.SEMANTICS`).
        lin_model: The linearizability model of lin-kv (``gyre check --model``).
        lin_initial: Every lin-kv key's initial value (``gyre check --initial``).
        consistency_models: The models the txn workloads' Elle checkers hold a
            history to (``--consistency-models``; Elle names or aliases).
        max_txn_length: ``--max-txn-length``: the longest transaction generated.
        max_writes_per_key: ``--max-writes-per-key``: writes a txn key gets
            before the generator moves to a fresh key.
    """

    nodes: tuple[str, ...]
    concurrency: int
    latency_ms: float = 0.0
    topology: str = "grid"
    key_count: int | None = None
    checker_time_limit_s: float | None = None
    checker_clock: Callable[[], float] | None = None
    semantics: str = "strict"
    lin_model: str = "cas-register"
    lin_initial: Any = None
    consistency_models: tuple[str, ...] = ("strict-serializable",)
    max_txn_length: int = 4
    max_writes_per_key: int = 16


@dataclass(frozen=True, slots=True)
class Completion:
    """How an operation ended.

    Attributes:
        type: ``ok``, ``fail`` or ``info``.
        value: The completion value (a read's observed value, or the input).
        error: The Maelstrom error name for fail/info, e.g. ``net-timeout``.
        extra: Other fields to record (``error_text``, ``exception``).
    """

    type: str
    value: Any = None
    error: Any = None
    extra: Mapping[str, Any] = field(default_factory=dict)


class MalformedResponse(ValueError):
    """A reply that breaks the closed schema of its RPC."""


# -- reply schemas -------------------------------------------------------------------

def is_int(v: Any) -> bool:
    """A JSON integer (``s/Int``: not a bool, not ``3.0``)."""
    return isinstance(v, int) and not isinstance(v, bool)


def is_any(v: Any) -> bool:
    """Any JSON value, including null."""
    return True


def is_list(v: Any) -> bool:
    """A JSON array."""
    return isinstance(v, list)


def is_str(v: Any) -> bool:
    """A JSON string."""
    return isinstance(v, str)


@dataclass(frozen=True, slots=True)
class Rpc:
    """One RPC of a workload: request type and the closed schema of its ``*_ok`` reply.

    Attributes:
        request: The request body ``type``.
        reply: The success reply ``type``.
        fields: Declared reply fields and their validators (all required).
    """

    request: str
    reply: str
    fields: Mapping[str, Callable[[Any], bool]] = field(default_factory=dict)

    def validate(self, body: Mapping[str, Any]) -> None:
        """Check a success reply against the closed schema.

        Raises:
            MalformedResponse: Wrong type, a missing or mistyped field, or an extra key.
        """
        if body.get("type") != self.reply:
            raise MalformedResponse(f"expected a {self.reply!r} reply, got type {body.get('type')!r}")
        allowed = {"type", "msg_id", "in_reply_to", *self.fields}
        extra = sorted(k for k in body if k not in allowed)
        if extra:
            raise MalformedResponse(f"{self.reply} has unexpected key(s) {', '.join(extra)} "
                                    f"(the schema is closed)")
        for name, ok in self.fields.items():
            if name not in body:
                raise MalformedResponse(f"{self.reply} is missing {name!r}")
            if not ok(body[name]):
                raise MalformedResponse(f"{self.reply} field {name!r} has a bad value {body[name]!r}")
        if "msg_id" in body and not is_int(body["msg_id"]):
            raise MalformedResponse(f"{self.reply} msg_id must be an integer")


# -- the workload base ---------------------------------------------------------------

class Workload:
    """Maelstrom's facts about one workload; subclasses fill in the class attributes.

    Attributes:
        name: The ``-w`` name.
        idempotent: ``f`` values that fail rather than go info on a timeout.
        reusable: Keep the client after a crash (else reopen with a new id).
        with_errors: Jepsen ``with-errors``; False turns every error into info.
        has_final: Run the final phase (heal, recovery wait, final ops).
        rpcs: ``f`` → `Rpc`.
    """

    name: ClassVar[str] = ""
    idempotent: ClassVar[frozenset[str]] = frozenset()
    reusable: ClassVar[bool] = False
    with_errors: ClassVar[bool] = True
    has_final: ClassVar[bool] = False
    rpcs: ClassVar[Mapping[str, Rpc]] = {}

    def __init__(self, opts: WorkloadOpts) -> None:
        self.opts = opts

    # -- options ----------------------------------------------------------------

    def validate(self) -> None:
        """Raise `WorkloadError` for options this workload cannot run with."""

    def rpc_timeout_ms(self) -> float:
        """Client RPC timeout."""
        return RPC_TIMEOUT_MS_DEFAULT

    # -- generator ----------------------------------------------------------------

    def generator(self, rng: random.Random) -> OpSource:
        """The main-phase op source."""
        raise NotImplementedError

    def final_generator(self) -> OpSource | None:
        """The final-phase source (one op per thread), or None."""
        return None

    def setup_requests(self) -> dict[str, tuple[dict[str, Any], Rpc]]:
        """Per node: a setup RPC body and its schema (broadcast's ``topology``)."""
        return {}

    # -- client -----------------------------------------------------------------------

    def request_body(self, op: Op) -> dict[str, Any]:
        """The request body for ``op`` (without ``msg_id``)."""
        raise NotImplementedError

    def ok_value(self, op: Op, body: Mapping[str, Any]) -> Any:
        """The value recorded with an ``ok`` completion (input by default)."""
        return op.value

    def outcome_for_error(self, op: Op, code: Any, text: Any) -> Completion:
        """Maelstrom's ``with-errors`` rule for an error body."""
        name = error_name(code) if is_int(code) else "unknown"
        extra: dict[str, Any] = {}
        if text is not None:
            extra["error_text"] = text
        if not self.with_errors:
            extra["exception"] = "rpc-error"
            extra["error_text"] = f"indeterminate: RPC error {code} ({name}): {text}"
            return Completion("info", op.value, name, extra)
        definite = is_int(code) and code_is_definite(code)
        kind = "fail" if definite or op.f in self.idempotent else "info"
        return Completion(kind, op.value, name, extra)

    def outcome_for_timeout(self, op: Op) -> Completion:
        """Maelstrom's rule for an RPC timeout."""
        if not self.with_errors:
            return Completion("info", op.value, "net-timeout",
                              {"exception": "timeout", "error_text": "indeterminate: RPC timed out"})
        kind = "fail" if op.f in self.idempotent else "info"
        return Completion(kind, op.value, "net-timeout")

    # -- stateful clients (kafka) ---------------------------------------------------------
    # A client may keep state (it is per `ClientSession`, so a non-reusable
    # client's crash drops it), answer an op with no RPC at all, or run several
    # RPCs for one op (kafka's poll, then commit_offsets). The defaults are one
    # stateless RPC per op.

    def new_client_state(self) -> Any:
        """A fresh client's state."""
        return None

    def first_step(self, op: Op, state: Any) -> dict[str, Any] | Completion:
        """The op's first request body, or its completion when it needs no RPC."""
        return self.request_body(op)

    def next_step(self, op: Op, state: Any, request: Mapping[str, Any],
                  body: Mapping[str, Any]) -> dict[str, Any] | Completion:
        """After an ok reply ``body`` (already checked) to ``request``: the next request, or
        the op's completion (by default `outcome_for_reply`'s, which a workload may refine)."""
        return self.outcome_for_reply(op, body)

    def rpc_for(self, op: Op, request: Mapping[str, Any]) -> Rpc:
        """The schema that checks the reply to ``request`` (by default the op's own RPC)."""
        return self.rpcs[op.f]

    def outcome_for_reply(self, op: Op, body: Mapping[str, Any]) -> Completion:
        """Turn a reply body into a completion (errors first, then the closed schema)."""
        if body.get("type") == "error":
            return self.outcome_for_error(op, body.get("code"), body.get("text"))
        try:
            self.rpcs[op.f].validate(body)
            return Completion("ok", self.ok_value(op, body))
        except MalformedResponse as exc:
            return Completion("info", op.value, "malformed-rpc-response",
                              {"exception": "malformed-rpc-response",
                               "error_text": f"indeterminate: {exc}"})

    # -- checker -----------------------------------------------------------------------

    def check(self, history: History) -> dict[str, Any]:
        """The workload checker's result (``valid`` plus Maelstrom's fields)."""
        raise NotImplementedError

    def op_problem(self, op: Operation) -> str | None:
        """Why one client operation (of a known ``f``) cannot be judged by this workload's
        checker (a whole clause, e.g. "a read that returned 5, not a list"), or None."""
        return None

    def checked_fs(self) -> frozenset[str]:
        """The ``f`` values its checker understands (its RPCs by default)."""
        return frozenset(self.rpcs)

    def history_problem(self, history: History) -> str | None:
        """Why this workload's checker cannot judge ``history``, or None when it can.

        A checker handed a history it does not understand would pass it (zero
        ops of its kind, nothing wrong), so `gyre check` asks first: there
        must be client operations, every ``f`` must be one of the workload's,
        and the values must have the workload's shapes.
        """
        ops = [op for op in history.operations() if isinstance(op.process, int)]
        if not ops:
            return ("no client operations to check (the history is empty or holds only "
                    "nemesis events)")
        known = self.checked_fs()
        fs = ", ".join(sorted(known))
        for op in ops:
            if op.f not in known:
                return (f"index {op.index}: f={op.f!r} is not an operation of the {self.name} "
                        f"workload ({fs}); is this another workload's history?")
            problem = self.op_problem(op)
            if problem is not None:
                return f"index {op.index}: {problem}"
        return None


class ClientSession:
    """One Maelstrom client (``c<k>``): one request in flight, replies matched by id.

    Args:
        client_id: Its id, e.g. ``"c7"``.
        workload: The workload whose bodies and outcome rules it uses.
    """

    def __init__(self, client_id: str, workload: Workload) -> None:
        self.id = client_id
        self.workload = workload
        self.next_msg_id = 1
        self.in_flight: tuple[int, Op] | None = None
        self.dropped: list[Message] = []
        self.state = workload.new_client_state()
        self._node = ""
        self._request: dict[str, Any] = {}

    def begin(self, node: str, op: Op) -> Message | Completion:
        """Start ``op``: its first request (marked in flight), or its completion when the
        workload answers it with no RPC (kafka's ``crash``)."""
        step = self.workload.first_step(op, self.state)
        if isinstance(step, Completion):
            return step
        return self._send(node, op, step)

    def _send(self, node: str, op: Op, body: dict[str, Any]) -> Message:
        assert self.in_flight is None, self.in_flight
        msg_id = self.next_msg_id
        self.next_msg_id += 1
        self.in_flight = (msg_id, op)
        self._node, self._request = node, body
        return Message(self.id, node, {**body, "msg_id": msg_id})

    def request(self, node: str, op: Op) -> Message:
        """The request message for ``op``; marks it in flight."""
        return self._send(node, op, self.workload.request_body(op))

    def raw_request(self, node: str, body: Mapping[str, Any]) -> tuple[int, Message]:
        """A request outside the workload's ops (init, setup); returns ``(msg_id, msg)``."""
        msg_id = self.next_msg_id
        self.next_msg_id += 1
        return msg_id, Message(self.id, node, {**body, "msg_id": msg_id})

    def on_message(self, msg: Message) -> Completion | None:
        """A message for this client: the completion if it answers the request in flight.

        Other messages (late replies, strays) are kept in ``dropped`` and ignored.
        """
        step = self.on_reply(msg)
        assert not isinstance(step, Message), "a multi-RPC op: use on_reply"
        return step

    def on_reply(self, msg: Message) -> Completion | Message | None:
        """As `on_message`, but an op that needs another RPC gets its next request (in flight)."""
        if self.in_flight is None or msg.in_reply_to != self.in_flight[0]:
            self.dropped.append(msg)
            return None
        _, op = self.in_flight
        self.in_flight = None
        w = self.workload
        body = msg.body
        if body.get("type") == "error":
            return w.outcome_for_error(op, body.get("code"), body.get("text"))
        try:
            w.rpc_for(op, self._request).validate(body)
        except MalformedResponse as exc:
            return Completion("info", op.value, "malformed-rpc-response",
                              {"exception": "malformed-rpc-response",
                               "error_text": f"indeterminate: {exc}"})
        step = w.next_step(op, self.state, self._request, body)
        if isinstance(step, Completion):
            return step
        return self._send(self._node, op, step)

    def on_timeout(self) -> Completion:
        """The request in flight timed out."""
        assert self.in_flight is not None
        _, op = self.in_flight
        self.in_flight = None
        return self.workload.outcome_for_timeout(op)


def _registry() -> dict[str, type[Workload]]:
    from maelstrom.workloads.broadcast import Broadcast
    from maelstrom.workloads.echo import Echo
    from maelstrom.workloads.g_counter import GCounter
    from maelstrom.workloads.g_set import GSet
    from maelstrom.workloads.kafka import Kafka
    from maelstrom.workloads.lin_kv import LinKv
    from maelstrom.workloads.pn_counter import PnCounter
    from maelstrom.workloads.txn_list_append import TxnListAppend
    from maelstrom.workloads.txn_rw_register import TxnRwRegister
    from maelstrom.workloads.unique_ids import UniqueIds

    classes: Sequence[type[Workload]] = (Echo, UniqueIds, Broadcast, GSet, GCounter, PnCounter, LinKv,
                                         TxnListAppend, TxnRwRegister, Kafka)
    return {c.name: c for c in classes}


def workload_names() -> list[str]:
    """Every registered workload name, sorted."""
    return sorted(_registry())


def get_workload(name: str, opts: WorkloadOpts, validate: bool = True) -> Workload:
    """Build a workload by name.

    Args:
        name: A registered name.
        opts: Its options.
        validate: False to skip the run-time option checks (to check a
            recorded history, whose run is over).

    Raises:
        WorkloadError: Unknown name, or options it cannot run with.
    """
    cls = _registry().get(name)
    if cls is None:
        raise WorkloadError(f"unknown workload {name!r}; choose from {', '.join(workload_names())}")
    w = cls(opts)
    if validate:
        w.validate()
    return w
