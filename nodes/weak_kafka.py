"""kafka in eventual and causal mode: every replica serves from its own engine, coordination-free.

Strategy: the single node's `nodes.workload_handlers.Kafka` (a key's log is
an engine list, committed offsets one engine hash), run on the replica's
`TypedKeyspace` instead of a node of record: every replica serves every
request at once, and what a request wrote replicates like a lin-kv write
of the mode (`KvRequests.replicate_local`: the eventual mode's delta, the
causal mode's dependency-tracked writes). A key's log replicates as a
typed list, so two replicas that append to one key's log concurrently (on
both sides of a partition, or merely within a round trip) both keep their
messages, but each gave its own message the same offset, and at the merge
the two are ordered one after the other: inconsistent offsets and polls
that skip or go back, which the kafka checker reports (no acknowledged
send is lost). That is what these modes promise for kafka; strong mode
(`nodes.strong_kafka`) is the one whose offsets hold.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from crdt.replication.keystates import Entry
from nodes.core import Rpc
from nodes.eventual import KvRequests
from nodes.kv_engine import EngineError
from nodes.workload_handlers import Kafka
from protocol.maelstrom_json import Message
from protocol.replies import ErrorReply

__all__ = ["WeakKafka"]


class WeakKafka(Kafka):
    """kafka on a weak-mode replica (see module doc).

    Args:
        kv: the node's `EventualKv` or `CausalKv`; its keyspace holds the logs.
        now_ms: when the node starts.
    """

    def __init__(self, kv: KvRequests, now_ms: int = 0) -> None:
        # Not durable: a restarted replica is repaired by its peers (a restored log written
        # through the keyspace would be stamped anew and overwrite what the peers hold).
        super().__init__(kv.keyspace.engine, now_ms, durable=False)
        self.kv = kv
        self._written: list[Entry] = []

    def _local(self) -> bool:
        return True  # every replica serves; nothing is forwarded

    def _run(self, argv: list[bytes], now_ms: int) -> Any:
        reply, entries = self.kv.keyspace.execute(argv, now_ms)
        self._written += entries
        if isinstance(reply, ErrorReply):
            raise EngineError(reply.decode("utf-8", "replace"))
        return reply

    def _serve(self, spec: Rpc, fn: Callable[[Mapping[str, Any], int], dict[str, Any]]
               ) -> Callable[[Message, int], None]:
        serve = super()._serve(spec, fn)

        def handle(msg: Message, now_ms: int) -> None:
            serve(msg, now_ms)
            written, self._written = self._written, []
            if written:
                self.kv.replicate_local(written, msg.src)
        return handle
