"""The echo workload: ``echo{echo}`` → ``echo_ok{echo}`` (maelstrom ``workload/echo.clj``).

Idempotent set {}, client not reusable. The ``ok`` value is the whole reply
body; the checker wants every invocation's value echoed back, so any
``fail`` or ``info`` makes the run invalid.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any, ClassVar

from maelstrom.generator import Op, OpSource, Repeat
from maelstrom.history import History
from maelstrom.workloads import Rpc, Workload, is_any
from maelstrom.workloads.common import client_ops

ECHO_VARIANTS = 128


class Echo(Workload):
    """Echo: each thread loops ``{"f": "echo", "value": "Please echo <0..127>"}``."""

    name: ClassVar[str] = "echo"
    reusable: ClassVar[bool] = False
    rpcs: ClassVar[Mapping[str, Rpc]] = {"echo": Rpc("echo", "echo_ok", {"echo": is_any})}

    def generator(self, rng: random.Random) -> OpSource:
        return Repeat(lambda r: Op("echo", f"Please echo {r.randrange(ECHO_VARIANTS)}"))

    def request_body(self, op: Op) -> dict[str, Any]:
        return {"type": "echo", "echo": op.value}

    def ok_value(self, op: Op, body: Mapping[str, Any]) -> Any:
        return dict(body)

    def check(self, history: History) -> dict[str, Any]:
        errors = []
        for op in client_ops(history):
            got = op.output.get("echo") if op.outcome == "ok" and isinstance(op.output, dict) else None
            if op.outcome != "ok" or got != op.value:
                errors.append({"expected": op.value, "type": op.outcome,
                               "received": op.output if op.outcome == "ok" else None,
                               "error": op.error, "index": op.index})
        return {"valid": not errors, "errors": errors[:48], "error-count": len(errors)}
