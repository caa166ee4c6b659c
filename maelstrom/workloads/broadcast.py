"""The broadcast workload and its topologies (maelstrom ``workload/broadcast.clj``).

RPCs: ``topology{topology}`` → ``topology_ok`` (once per node, at setup);
``broadcast{message}`` → ``broadcast_ok``; ``read{}`` → ``read_ok{messages}``.
Idempotent set {read}, client not reusable. Broadcasts (0, 1, 2…) and reads
at 50/50; the final phase is one ``final`` read per client thread. Checker:
set-full with ``broadcast`` as the add.

Topologies (`topology`): ``grid`` (side ⌈√n⌉, node i·side+j, neighbours
down, up, right, left), ``line``, ``total``, ``tree``/``tree2``/``tree3``/
``tree4`` (breadth-first tiers with branching 2, 2, 3, 4; neighbours are the
parent, then the children).
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Final

from maelstrom.generator import Counter, Mix, Op, OpSource, PerThreadOnce, Repeat
from maelstrom.history import History, Operation
from maelstrom.workloads import Rpc, Workload, WorkloadError, is_list
from maelstrom.workloads.common import read_list_problem, set_full_checker

TOPOLOGIES: Final[tuple[str, ...]] = ("grid", "line", "total", "tree", "tree2", "tree3", "tree4")
TOPOLOGY_RPC: Final = Rpc("topology", "topology_ok")


def grid(nodes: Sequence[str]) -> dict[str, list[str]]:
    """Nodes on a ⌈√n⌉-wide grid, linked to the nodes down, up, right and left."""
    n = len(nodes)
    side = max(1, math.ceil(math.sqrt(n)))
    out: dict[str, list[str]] = {}
    for idx, node in enumerate(nodes):
        i, j = divmod(idx, side)
        nbrs = []
        for di, dj in ((1, 0), (-1, 0), (0, 1), (0, -1)):
            ii, jj = i + di, j + dj
            if 0 <= jj < side and ii >= 0:
                k = ii * side + jj
                if 0 <= k < n:
                    nbrs.append(nodes[k])
        out[node] = nbrs
    return out


def line(nodes: Sequence[str]) -> dict[str, list[str]]:
    """Each node linked to its predecessor and successor."""
    return {x: [nodes[i + d] for d in (-1, 1) if 0 <= i + d < len(nodes)] for i, x in enumerate(nodes)}


def total(nodes: Sequence[str]) -> dict[str, list[str]]:
    """Everyone linked to everyone else."""
    return {x: [y for y in nodes if y != x] for x in nodes}


def tree(nodes: Sequence[str], branching: int) -> dict[str, list[str]]:
    """A breadth-first tree: node i's children are i·b+1 … i·b+b."""
    out: dict[str, list[str]] = {}
    for i, x in enumerate(nodes):
        parent = [nodes[(i - 1) // branching]] if i > 0 else []
        children = [nodes[c] for c in range(i * branching + 1, i * branching + branching + 1)
                    if c < len(nodes)]
        out[x] = parent + children
    return out


def topology(name: str, nodes: Sequence[str]) -> dict[str, list[str]]:
    """The named topology over ``nodes`` (in order).

    Raises:
        WorkloadError: Unknown name.
    """
    if name == "grid":
        return grid(nodes)
    if name == "line":
        return line(nodes)
    if name == "total":
        return total(nodes)
    branching = {"tree": 2, "tree2": 2, "tree3": 3, "tree4": 4}.get(name)
    if branching is None:
        raise WorkloadError(f"unknown topology {name!r}; choose from {', '.join(TOPOLOGIES)}")
    return tree(nodes, branching)


class Broadcast(Workload):
    """Broadcast with a topology given to every node at setup."""

    name: ClassVar[str] = "broadcast"
    idempotent: ClassVar[frozenset[str]] = frozenset({"read"})
    reusable: ClassVar[bool] = False
    has_final: ClassVar[bool] = True
    rpcs: ClassVar[Mapping[str, Rpc]] = {
        "broadcast": Rpc("broadcast", "broadcast_ok"),
        "read": Rpc("read", "read_ok", {"messages": is_list}),
    }

    def validate(self) -> None:
        topology(self.opts.topology, self.opts.nodes)

    def generator(self, rng: random.Random) -> OpSource:
        return Mix([Counter("broadcast"), Repeat(lambda r: Op("read"))])

    def final_generator(self) -> OpSource | None:
        return PerThreadOnce(lambda t: Op("read", final=True))

    def setup_requests(self) -> dict[str, tuple[dict[str, Any], Rpc]]:
        topo = topology(self.opts.topology, self.opts.nodes)
        return {n: ({"type": "topology", "topology": topo}, TOPOLOGY_RPC) for n in self.opts.nodes}

    def request_body(self, op: Op) -> dict[str, Any]:
        if op.f == "broadcast":
            return {"type": "broadcast", "message": op.value}
        return {"type": "read"}

    def ok_value(self, op: Op, body: Mapping[str, Any]) -> Any:
        return body["messages"] if op.f == "read" else op.value

    def check(self, history: History) -> dict[str, Any]:
        return set_full_checker(history, "broadcast")

    def op_problem(self, op: Operation) -> str | None:
        return read_list_problem(op)
