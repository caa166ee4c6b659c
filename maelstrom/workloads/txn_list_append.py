"""The txn-list-append workload (maelstrom ``workload/txn_list_append.clj``, elle ``list_append.clj``).

``txn{txn: [["r", k, null], ["append", k, v], ...]}`` -> ``txn_ok{txn}``
with each read filled in as the key's whole list (null for a missing key).
Idempotent set {}, client reusable. Generator: `maelstrom.workloads.txn.WrTxns`
with ``append`` writes. Checker: `maelstrom.elle.check_list_append` with
``WorkloadOpts.consistency_models`` (default strict-serializable); no ok
transaction at all is "unknown" (Elle's empty transaction graph).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from maelstrom.elle import check_list_append
from maelstrom.history import History
from maelstrom.workloads.txn import TxnWorkload


class TxnListAppend(TxnWorkload):
    """Transactions of reads and appends over lists (Elle's list-append)."""

    name: ClassVar[str] = "txn-list-append"
    write_f: ClassVar[str] = "append"
    read_shape: ClassVar[str] = "a list or null"

    @staticmethod
    def elle_check(history: History, consistency_models: tuple[str, ...],
                   time_limit_s: float | None, clock: Callable[[], float] | None
                   ) -> dict[str, Any]:
        return check_list_append(history, consistency_models, time_limit_s, clock)

    def read_ok(self, v: Any) -> bool:
        return v is None or isinstance(v, list)
