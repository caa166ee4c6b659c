"""The lin-kv workload (maelstrom ``workload/lin_kv.clj``, Jepsen ``independent.clj``).

RPCs: ``read{key}`` → ``read_ok{value}``; ``write{key,value}`` →
``write_ok``; ``cas{key,from,to}`` → ``cas_ok``. Idempotent set {read},
client reusable, RPC timeout ``max(10 × latency, 1 s)``. Keys are the
integers 0, 1, 2…; values ``rand(5)``.

Generator (Jepsen ``independent/concurrent-generator`` with group size 2n):
threads form groups of 2n, each working on one key. Inside a key, threads
whose *absolute* id is below n read and the rest write or cas at 1:2
(``gen/reserve`` uses absolute ids, so groups after the first get no reads).
A key changes only through ``gen/process-limit 20``: once more than 20
distinct process ids have belonged to the group's threads, the group moves
to the next unused key. Concurrency must be a positive multiple of 2n.

Checker: the history is split per key and each key checked with
`maelstrom.linearizable.check_history` (model ``cas-register``, initial
absent, outcomes read as ``WorkloadOpts.semantics`` says: ``strict`` by
default, ``knossos`` for Maelstrom's reading). Validity merges false >
"unknown" > true.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Final

from maelstrom.generator import GenContext, Op, OpSource
from maelstrom.history import History, Operation
from maelstrom.linearizable import check_history
from maelstrom.workloads import Rpc, Workload, WorkloadError, is_any
from maelstrom.workloads.common import client_ops, merge_valid

VALUE_COUNT: Final[int] = 5
PROCESS_LIMIT: Final[int] = 20
TIMEOUT_LATENCY_FACTOR: Final[float] = 10.0
TIMEOUT_MS_MIN: Final[float] = 1000.0


@dataclass
class _Group:
    key: int
    processes: set[int] = field(default_factory=set)


@dataclass
class IndependentGenerator:
    """Groups of ``group_size`` threads, one key per group, rotating on process-limit.

    Args:
        node_count: n; threads below n read.
        group_size: Threads per group (2n).
        process_limit: Distinct processes a key may see (20).
    """

    node_count: int
    group_size: int
    process_limit: int = PROCESS_LIMIT
    groups: dict[int, _Group] = field(default_factory=dict)
    next_key: int = 0

    def _group(self, ctx: GenContext) -> _Group:
        g = ctx.thread // self.group_size
        members = range(g * self.group_size, (g + 1) * self.group_size)
        current = {ctx.processes[t] for t in members if t < len(ctx.processes)}
        if g not in self.groups:
            # keys are handed out in group order, as Jepsen seeds every group at once
            for gg in range(len(ctx.processes) // self.group_size):
                if gg not in self.groups:
                    self.groups[gg] = _Group(self.next_key)
                    self.next_key += 1
        group = self.groups[g]
        group.processes |= current
        if len(group.processes) > self.process_limit:
            group.key = self.next_key
            self.next_key += 1
            group.processes = set(current)
        return group

    def op(self, ctx: GenContext) -> Op | None:
        group = self._group(ctx)
        r = ctx.rng
        if ctx.thread < self.node_count:
            return Op("read", None, group.key)
        if r.randrange(3) == 0:
            return Op("write", r.randrange(VALUE_COUNT), group.key)
        return Op("cas", [r.randrange(VALUE_COUNT), r.randrange(VALUE_COUNT)], group.key)


def check_per_key(ops: list[Operation], time_limit_s: float | None = None,
                  semantics: str = "strict", model: str = "cas-register",
                  initial: Any = None, clock: Callable[[], float] | None = None) -> dict[str, Any]:
    """Split keyed operations per key and check each for linearizability.

    Args:
        ops: The client operations.
        time_limit_s: Each key's time budget (None: no limit).
        semantics: ``strict`` or ``knossos`` (see `maelstrom.models`).
        model: The model's name.
        initial: Every key's initial value.
        clock: The driver's monotonic clock (required with a time limit).

    Returns:
        ``{"valid", "results": {str(key): {"valid", "linearizable"}}, "failures": [key…],
        "semantics"}``.
    """
    by_key: dict[Any, list[Operation]] = {}
    for op in ops:
        if op.key is not None:
            by_key.setdefault(op.key, []).append(op)
    results: dict[str, Any] = {}
    failures = []
    for k in sorted(by_key, key=lambda k: (type(k).__name__, k)):
        res = check_history(by_key[k], model=model, initial=initial,
                            time_limit_s=time_limit_s, clock=clock, semantics=semantics)
        results[str(k)] = {"valid": res["valid"], "linearizable": res}
        if res["valid"] is False:
            failures.append(k)
    return {"valid": merge_valid(r["valid"] for r in results.values()), "results": results,
            "failures": failures, "semantics": semantics}


class LinKv(Workload):
    """A linearizable key-value store of cas registers."""

    name: ClassVar[str] = "lin-kv"
    idempotent: ClassVar[frozenset[str]] = frozenset({"read"})
    reusable: ClassVar[bool] = True
    rpcs: ClassVar[Mapping[str, Rpc]] = {
        "read": Rpc("read", "read_ok", {"value": is_any}),
        "write": Rpc("write", "write_ok"),
        "cas": Rpc("cas", "cas_ok"),
    }

    @property
    def group_size(self) -> int:
        return 2 * len(self.opts.nodes)

    def validate(self) -> None:
        g = self.group_size
        if self.opts.concurrency % g != 0:
            raise WorkloadError(
                f"lin-kv needs --concurrency to be a positive multiple of 2n = {g} "
                f"(got {self.opts.concurrency}); try --concurrency 2n")
        if g > PROCESS_LIMIT:
            raise WorkloadError(
                f"lin-kv supports at most {PROCESS_LIMIT // 2} nodes: a group of 2n = {g} threads "
                f"exceeds the process limit of {PROCESS_LIMIT} at once")

    def rpc_timeout_ms(self) -> float:
        return max(TIMEOUT_LATENCY_FACTOR * self.opts.latency_ms, TIMEOUT_MS_MIN)

    def generator(self, rng: random.Random) -> OpSource:
        return IndependentGenerator(len(self.opts.nodes), self.group_size)

    def request_body(self, op: Op) -> dict[str, Any]:
        if op.f == "read":
            return {"type": "read", "key": op.key}
        if op.f == "write":
            return {"type": "write", "key": op.key, "value": op.value}
        return {"type": "cas", "key": op.key, "from": op.value[0], "to": op.value[1]}

    def ok_value(self, op: Op, body: Mapping[str, Any]) -> Any:
        return body["value"] if op.f == "read" else op.value

    def check(self, history: History) -> dict[str, Any]:
        o = self.opts
        return check_per_key(client_ops(history), o.checker_time_limit_s, o.semantics,
                             o.lin_model, o.lin_initial, o.checker_clock)

    def checked_fs(self) -> frozenset[str]:
        return frozenset({*self.rpcs, "append"})

    def op_problem(self, op: Operation) -> str | None:
        if op.f == "append" and self.opts.lin_model != "kv":
            return (f"an append, which model {self.opts.lin_model} does not have "
                    f"(--model kv checks appends)")
        if op.key is None:
            return f"a {op.f} without a key, which no lin-kv client records"
        if op.f == "cas" and not (isinstance(op.value, list) and len(op.value) == 2):
            return f"a cas whose value {op.value!r} is not [from, to]"
        return None
