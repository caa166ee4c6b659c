"""The txn-rw-register workload (maelstrom ``workload/txn_rw_register.clj``, elle ``rw_register.clj``).

``txn{txn: [["r", k, null], ["w", k, v], ...]}`` -> ``txn_ok{txn}`` with
each read filled in as the key's value (a scalar; null for a missing key).
Idempotent set {}, client reusable. Generator: `maelstrom.workloads.txn.WrTxns`
with ``w`` writes (values unique per key). Checker:
`maelstrom.elle.check_rw_register` with ``WorkloadOpts.consistency_models``;
as Maelstrom reads Elle here, no ok transaction at all is invalid.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from maelstrom.elle import check_rw_register
from maelstrom.history import History
from maelstrom.workloads.txn import TxnWorkload


class TxnRwRegister(TxnWorkload):
    """Transactions of reads and writes over registers (Elle's rw-register)."""

    name: ClassVar[str] = "txn-rw-register"
    write_f: ClassVar[str] = "w"
    read_shape: ClassVar[str] = "a scalar or null"

    @staticmethod
    def elle_check(history: History, consistency_models: tuple[str, ...],
                   time_limit_s: float | None, clock: Callable[[], float] | None
                   ) -> dict[str, Any]:
        return check_rw_register(history, consistency_models, time_limit_s, clock)

    def read_ok(self, v: Any) -> bool:
        return not isinstance(v, (list, dict))
