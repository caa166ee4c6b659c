"""SingleNode: every Maelstrom workload on one node's own state.

Strategy: a `NodeCore` with the handlers of `nodes.workload_handlers` installed:
echo, unique-ids, broadcast (gossip along the topology), g-set and the
counters (state-based CRDTs pushed to peers), and lin-kv, the txn workloads
(each txn one MULTI/EXEC) and kafka on the Redis engine. Run alone it simply
stores; run as several nodes it still passes every workload, because broadcast
and the CRDTs gossip and lin-kv, txn and kafka are served by one node of record
(the first of ``node_ids``) that the others forward
to. The replicated node keeps the same handlers except lin-kv.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from crdt.config import Config
from crdt.engine import Engine
from nodes.core import RPC_TIMEOUT_MS, NodeCore
from nodes.workload_handlers import (
    Broadcast,
    CounterWorkload,
    Echo,
    GSetWorkload,
    Kafka,
    LinKv,
    TxnKv,
    UniqueIds,
    WorkloadSelector,
    install_unknown_read,
)

__all__ = ["SingleConfig", "SingleNode"]


@dataclass(frozen=True, slots=True)
class SingleConfig:
    """Knobs of a single node.

    Attributes:
        workload: a name from `nodes.workload_handlers.WORKLOADS`; "auto" infers it.
        rpc_timeout_ms: default timeout of the node's RPCs.
    """

    workload: str = "auto"
    rpc_timeout_ms: int = RPC_TIMEOUT_MS


class SingleNode(NodeCore):
    """The single node (see module doc).

    Args:
        rng: the node's only source of randomness.
        config: node knobs.
        engine: the keyspace for lin-kv; a fresh one by default.
        now_ms: the time the node starts (the engine's clock origin).
    """

    def __init__(self, *, rng: random.Random, config: SingleConfig | None = None,
                 engine: Engine | None = None, now_ms: int = 0) -> None:
        cfg = config if config is not None else SingleConfig()
        super().__init__(rng=rng, rpc_timeout_ms=cfg.rpc_timeout_ms)
        self.config = cfg
        self.engine = engine if engine is not None else Engine(config=Config(), rng=rng, now_ms=now_ms)
        self.selector = WorkloadSelector(cfg.workload)
        self.echo = Echo()
        self.unique_ids = UniqueIds()
        self.broadcast = Broadcast(self.selector)
        self.gset = GSetWorkload(self.selector)
        self.counter = CounterWorkload(self.selector)
        self.kv = LinKv(self.engine, now_ms)
        self.txn = TxnKv(self.engine, now_ms)
        self.kafka = Kafka(self.engine, now_ms)
        for handler in (self.echo, self.unique_ids, self.broadcast, self.gset, self.counter, self.kv,
                        self.txn, self.kafka):
            handler.install(self)
        install_unknown_read(self, self.selector)
