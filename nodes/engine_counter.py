"""g-counter and pn-counter on the replicated keyspace: INCRBY on one key, merged as a typed counter.

Strategy: in eventual and causal mode the counter workloads need no lattice
of their own. ``add{delta}`` runs ``INCRBY`` on one engine key through the
mode's replicated keyspace (`nodes.typed_keyspace.TypedKeyspace`), which
replicates an increment as an increment (a PN-counter in delta form): the
increments of every replica add up after any partition, loss or
duplication. ``read`` is ``GET`` on this replica. The key's name is not
JSON, so no lin-kv key (always canonical JSON) can collide with it.

The increments are not durable: a crash loses those not yet pushed, as the
eventual mode's other writes (strong mode keeps the durable lattice of
`nodes.workload_handlers.CounterWorkload`).
"""

from __future__ import annotations

from typing import Any, Final

from nodes.core import NodeCore
from nodes.workload_handlers import COUNTER_ADD, COUNTER_READ, WorkloadSelector
from protocol.maelstrom_json import ErrorCode, Message
from protocol.replies import ErrorReply

__all__ = ["COUNTER_KEY", "EngineCounter"]

#: The engine key holding the counter (not JSON: lin-kv keys cannot name it).
COUNTER_KEY: Final[bytes] = b"gyre:counter"


class EngineCounter:
    """``add`` and ``read`` of g-counter / pn-counter on a kv handler's replicated keyspace.

    Args:
        selector: decides which workload a bare ``read`` belongs to.
        kv: `nodes.eventual.EventualKv` or `nodes.causal.CausalKv`.
    """

    owner = "counter"

    def __init__(self, selector: WorkloadSelector, kv: Any) -> None:
        self.selector = selector
        self.kv = kv
        self.node: NodeCore | None = None

    def install(self, node: NodeCore) -> None:
        self.node = node
        node.add_route(COUNTER_ADD, self._add, when=lambda body: "delta" in body)
        node.add_route(COUNTER_READ, self._read, when=self.selector.claims(self.owner))

    @property
    def value(self) -> int:
        """The counter as this replica reads it (0 before any add)."""
        assert self.node is not None
        stored = self.kv.keyspace.value_of(COUNTER_KEY)
        return 0 if stored is None else int(stored)

    def _add(self, msg: Message, now_ms: int) -> None:
        node = self.node
        assert node is not None
        self.selector.note(self.owner)
        delta = msg.body["delta"]
        if delta:
            reply, entries = self.kv.keyspace.execute([b"INCRBY", COUNTER_KEY, b"%d" % delta], now_ms)
            if isinstance(reply, ErrorReply):  # beyond int64: nothing was written
                node.reply_error(msg, ErrorCode.TEMPORARILY_UNAVAILABLE, reply.decode("utf-8", "replace"))
                return
            self.kv.replicate_local(entries, msg.src)
        node.reply_ok(msg, COUNTER_ADD)

    def _read(self, msg: Message, now_ms: int) -> None:
        node = self.node
        assert node is not None
        node.reply_ok(msg, COUNTER_READ, value=self.value)
