"""ReplicatedNode: every Maelstrom workload, with lin-kv replicated in one of three modes.

Strategy: the same handler objects as the single node (`nodes.workload_handlers`),
installed on one `NodeCore`; only lin-kv changes with the mode:

* ``eventual``: `nodes.eventual.EventualKv` (every key a typed CRDT,
  deltas pushed at once, per-shard digest anti-entropy);
* ``causal``: `nodes.causal.CausalKv` (vector-clock dependencies, causal
  delivery, session guarantees, clock-based anti-entropy);
* ``strong``: ``nodes.strong.StrongKv`` (per-key CASPaxos), imported only
  when that mode is asked for.

Every node serves reads and writes from its own engine, so every side of a
partition answers in eventual and causal mode. g-set (and, in strong mode,
g-counter and pn-counter) are the state-based lattices of
`nodes.workload_handlers`, pushed after each change and on every
anti-entropy round, so they converge after a partition heals whatever was
lost or duplicated; in eventual and causal mode the counters are INCRBY on
the replicated keyspace, whose typed merge adds concurrent increments up
(`nodes.engine_counter`). Broadcast gossips
along a spanning tree of the given topology, batching per neighbour
(``broadcast_batch_ms``), with retries until acknowledged.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, Final

from crdt.config import Config
from crdt.engine import Engine
from nodes.causal import SESSION_WAIT_MS, CausalKv
from nodes.core import RPC_TIMEOUT_MS, NodeCore
from nodes.engine_counter import EngineCounter
from nodes.eventual import EventualKv
from nodes.weak_kafka import WeakKafka
from nodes.workload_handlers import (
    ANTI_ENTROPY_MS,
    WORKLOADS,
    Broadcast,
    CounterWorkload,
    Echo,
    GSetWorkload,
    UniqueIds,
    WorkloadSelector,
    install_unknown_read,
)

__all__ = ["BROADCAST_BATCH_MS", "BROADCAST_RELAY_MS", "MODES", "ReplicatedConfig", "ReplicatedNode", "make_kafka",
           "make_kv"]

#: The consistency modes, in the order the CLI lists them.
MODES: Final = ("eventual", "causal", "strong")
#: How long broadcast holds a client's new message (resp. messages relayed from
#: a peer) for a neighbour so that they share one RPC.
BROADCAST_BATCH_MS: Final[int] = 300
BROADCAST_RELAY_MS: Final[int] = 0


@dataclass(frozen=True, slots=True)
class ReplicatedConfig:
    """Knobs of a replicated node.

    Attributes:
        mode: "eventual", "causal" or "strong".
        workload: a name from `nodes.workload_handlers.WORKLOADS`; "auto" infers it.
        rpc_timeout_ms: default timeout of the node's RPCs.
        anti_entropy_ms: period of the kv and CRDT anti-entropy rounds.
        session_wait_ms: causal mode: how long a request may wait for its
            client's causal past.
        broadcast_batch_ms: broadcast batching delay per neighbour for a
            client's message (0: send at once).
        broadcast_relay_ms: the same for messages relayed from a peer.
        broadcast_tree: gossip broadcast along a spanning tree of the topology.
    """

    mode: str = "eventual"
    workload: str = "auto"
    rpc_timeout_ms: int = RPC_TIMEOUT_MS
    anti_entropy_ms: int = ANTI_ENTROPY_MS
    session_wait_ms: int = SESSION_WAIT_MS
    broadcast_batch_ms: int = BROADCAST_BATCH_MS
    broadcast_relay_ms: int = BROADCAST_RELAY_MS
    broadcast_tree: bool = True

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, not {self.mode!r}")
        if self.workload not in WORKLOADS:
            raise ValueError(f"workload must be one of {', '.join(WORKLOADS)}, not {self.workload!r}")


def make_kv(config: ReplicatedConfig, engine: Engine, now_ms: int) -> Any:
    """The lin-kv handler for ``config.mode`` (an object with ``install(node)``).

    Args:
        config: the node's config.
        engine: the node's engine.
        now_ms: when the node starts.

    Returns:
        `EventualKv`, `CausalKv` or ``StrongKv``.
    """
    if config.mode == "eventual":
        return EventualKv(engine, now_ms, anti_entropy_ms=config.anti_entropy_ms)
    if config.mode == "causal":
        return CausalKv(engine, now_ms, anti_entropy_ms=config.anti_entropy_ms,
                        session_wait_ms=config.session_wait_ms)
    from nodes.strong import StrongKv  # written separately; only strong mode needs it

    return StrongKv(engine=engine)


def make_kafka(config: ReplicatedConfig, kv: Any, now_ms: int) -> Any:
    """The kafka handler for ``config.mode``, on the lin-kv handler's replication.

    Returns:
        ``StrongKafka`` (each key's log a CASPaxos register) in strong mode,
        else `WeakKafka` (each replica serves from its own engine).
    """
    if config.mode == "strong":
        from nodes.strong_kafka import StrongKafka

        return StrongKafka(kv)
    return WeakKafka(kv, now_ms)


class ReplicatedNode(NodeCore):
    """The replicated node (see module doc).

    Args:
        rng: the node's only source of randomness.
        config: node knobs (the mode among them).
        engine: the keyspace for lin-kv; a fresh one by default.
        now_ms: the time the node starts (the engine's clock origin).
    """

    def __init__(self, *, rng: random.Random, config: ReplicatedConfig | None = None,
                 engine: Engine | None = None, now_ms: int = 0) -> None:
        cfg = config if config is not None else ReplicatedConfig()
        super().__init__(rng=rng, rpc_timeout_ms=cfg.rpc_timeout_ms)
        self.config = cfg
        self.engine = engine if engine is not None else Engine(config=Config(), rng=rng, now_ms=now_ms)
        self.selector = WorkloadSelector(cfg.workload)
        self.echo = Echo()
        self.unique_ids = UniqueIds()
        self.broadcast = Broadcast(self.selector, batch_ms=cfg.broadcast_batch_ms,
                                   relay_ms=cfg.broadcast_relay_ms, tree=cfg.broadcast_tree)
        self.gset = GSetWorkload(self.selector, anti_entropy_ms=cfg.anti_entropy_ms)
        self.kv = make_kv(cfg, self.engine, now_ms)
        self.counter: Any = (CounterWorkload(self.selector, anti_entropy_ms=cfg.anti_entropy_ms)
                             if cfg.mode == "strong" else EngineCounter(self.selector, self.kv))
        self.kafka = make_kafka(cfg, self.kv, now_ms)
        for handler in (self.echo, self.unique_ids, self.broadcast, self.gset, self.counter, self.kv,
                        self.kafka):
            handler.install(self)
        install_unknown_read(self, self.selector)
