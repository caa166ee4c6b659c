"""The pn-counter workload (maelstrom ``workload/pn_counter.clj``), and the counter checker.

RPCs: ``add{delta}`` → ``add_ok``; ``read{}`` → ``read_ok{value:int}``. No
``with-errors`` (every error is an info crash); client not reusable. Reads
and adds at 50/50, deltas ``rand(10) − 5`` (−5…4). Final phase: one
``final`` read per thread.

Checker: D = the sum of ``ok`` deltas; the acceptable set starts at {D} and
each ``info`` add with delta d turns S into S ∪ (S + d). Only ``ok`` final
reads are tested; with none the check is vacuously valid.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any, ClassVar

from maelstrom.generator import Mix, Op, OpSource, PerThreadOnce, Repeat
from maelstrom.history import History, Operation
from maelstrom.workloads import Rpc, Workload, is_int
from maelstrom.workloads.common import client_ops, event_extra, short_repr

DELTA_SPAN = 10
DELTA_OFFSET = 5


def intervals(values: set[int]) -> list[list[int]]:
    """Sorted integers as maximal ``[lo, hi]`` runs."""
    out: list[list[int]] = []
    for v in sorted(values):
        if out and v == out[-1][1] + 1:
            out[-1][1] = v
        else:
            out.append([v, v])
    return out


def counter_checker(history: History) -> dict[str, Any]:
    """Maelstrom's pn-counter checker (see the module docstring)."""
    ops = client_ops(history)
    total = sum(op.value for op in ops if op.f == "add" and op.outcome == "ok")
    acceptable = {total}
    for op in ops:
        if op.f == "add" and op.outcome == "info" and op.value:
            acceptable |= {s + op.value for s in acceptable}
    final_reads = [op for op in ops if op.f == "read" and op.outcome == "ok"
                   and event_extra(history, op.call_index).get("final")]
    errors = [{"index": op.index, "process": op.process, "value": op.output}
              for op in final_reads if op.output not in acceptable]
    return {"valid": not errors, "errors": errors, "final-reads": [op.output for op in final_reads],
            "acceptable": intervals(acceptable)}


class PnCounter(Workload):
    """An increment/decrement counter."""

    name: ClassVar[str] = "pn-counter"
    reusable: ClassVar[bool] = False
    with_errors: ClassVar[bool] = False
    has_final: ClassVar[bool] = True
    rpcs: ClassVar[Mapping[str, Rpc]] = {
        "add": Rpc("add", "add_ok"),
        "read": Rpc("read", "read_ok", {"value": is_int}),
    }

    def generator(self, rng: random.Random) -> OpSource:
        return Mix([Repeat(lambda r: Op("read")),
                    Repeat(lambda r: Op("add", r.randrange(DELTA_SPAN) - DELTA_OFFSET))])

    def final_generator(self) -> OpSource | None:
        return PerThreadOnce(lambda t: Op("read", final=True))

    def request_body(self, op: Op) -> dict[str, Any]:
        if op.f == "add":
            return {"type": "add", "delta": op.value}
        return {"type": "read"}

    def ok_value(self, op: Op, body: Mapping[str, Any]) -> Any:
        return body["value"] if op.f == "read" else op.value

    def check(self, history: History) -> dict[str, Any]:
        return counter_checker(history)

    def op_problem(self, op: Operation) -> str | None:
        if op.f == "add" and not is_int(op.value):
            return f"an add whose delta {short_repr(op.value)} is not an integer: another workload's add?"
        if op.f == "read" and op.outcome == "ok" and not is_int(op.output):
            return (f"a read that returned {short_repr(op.output)}, not an integer: "
                    f"another workload's read?")
        return None
