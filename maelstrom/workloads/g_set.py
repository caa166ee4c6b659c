"""The g-set workload: ``add{element}`` → ``add_ok``; ``read{}`` → ``read_ok{value}``.

Maelstrom ``workload/g_set.clj``: no ``with-errors`` (every error or timeout
is an info crash), client not reusable. Adds (0, 1, 2…) and reads at 50/50;
the final phase is one read per thread, without ``final``. Checker: set-full.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any, ClassVar

from maelstrom.generator import Counter, Mix, Op, OpSource, PerThreadOnce, Repeat
from maelstrom.history import History, Operation
from maelstrom.workloads import Rpc, Workload, is_list
from maelstrom.workloads.common import read_list_problem, set_full_checker


class GSet(Workload):
    """A grow-only set."""

    name: ClassVar[str] = "g-set"
    reusable: ClassVar[bool] = False
    with_errors: ClassVar[bool] = False
    has_final: ClassVar[bool] = True
    rpcs: ClassVar[Mapping[str, Rpc]] = {
        "add": Rpc("add", "add_ok"),
        "read": Rpc("read", "read_ok", {"value": is_list}),
    }

    def generator(self, rng: random.Random) -> OpSource:
        return Mix([Counter("add"), Repeat(lambda r: Op("read"))])

    def final_generator(self) -> OpSource | None:
        return PerThreadOnce(lambda t: Op("read"))

    def request_body(self, op: Op) -> dict[str, Any]:
        if op.f == "add":
            return {"type": "add", "element": op.value}
        return {"type": "read"}

    def ok_value(self, op: Op, body: Mapping[str, Any]) -> Any:
        return body["value"] if op.f == "read" else op.value

    def check(self, history: History) -> dict[str, Any]:
        return set_full_checker(history, "add")

    def op_problem(self, op: Operation) -> str | None:
        return read_list_problem(op)
