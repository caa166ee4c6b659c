"""The unique-ids workload: ``generate{}`` → ``generate_ok{id}`` (Jepsen ``checker/unique-ids``).

Idempotent set {}, client reusable. Valid iff no ``ok`` id repeats; ids of
mixed, unorderable types give no ``range``.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Mapping
from typing import Any, ClassVar

from maelstrom.generator import Op, OpSource, Repeat
from maelstrom.history import History
from maelstrom.workloads import Rpc, Workload, is_any
from maelstrom.workloads.common import EXAMPLES_MAX, _hashable, client_ops


class UniqueIds(Workload):
    """Unique ids: every thread repeats ``{"f": "generate"}``."""

    name: ClassVar[str] = "unique-ids"
    reusable: ClassVar[bool] = True
    rpcs: ClassVar[Mapping[str, Rpc]] = {"generate": Rpc("generate", "generate_ok", {"id": is_any})}

    def generator(self, rng: random.Random) -> OpSource:
        return Repeat(lambda r: Op("generate"))

    def request_body(self, op: Op) -> dict[str, Any]:
        return {"type": "generate"}

    def ok_value(self, op: Op, body: Mapping[str, Any]) -> Any:
        return body["id"]

    def check(self, history: History) -> dict[str, Any]:
        ops = [op for op in client_ops(history) if op.f == "generate"]
        acked = [op.output for op in ops if op.outcome == "ok"]
        counts = Counter(_hashable(x) for x in acked)
        dups = {repr(k) if not isinstance(k, (str, int)) else k: c for k, c in counts.items() if c > 1}
        dup_items = sorted(dups.items(), key=lambda kv: -kv[1])[:EXAMPLES_MAX]
        try:
            rng = [min(counts), max(counts)] if counts else None
        except TypeError:
            rng = None
        return {"valid": not dups, "attempted-count": len(ops), "acknowledged-count": len(acked),
                "duplicated-count": len(dups), "duplicated": {str(k): v for k, v in dup_items},
                "range": rng}
