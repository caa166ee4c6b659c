"""What txn-list-append and txn-rw-register share: Elle's generator, the txn RPC, the checker hook.

Strategy (maelstrom-spec.md section 4; maelstrom ``workload/txn_list_append.clj``,
``txn_rw_register.clj``; elle ``txn.clj wr-txns``). Both workloads send one
RPC, ``txn{txn: [[f, k, v], ...]}`` -> ``txn_ok{txn}``, with the reads
filled in. Their idempotent set is empty (so a timeout, or an error with an
indefinite code, is ``info``) and the client is reusable.

`WrTxns` is Elle's ``wr-txns`` generator, one shared sequence for every
thread:

- a transaction's length is uniform on ``[1, max_txn_length]``;
- each micro-op is a read or a write with probability 1/2;
- its key is one of ``key_count`` *active* keys (slots), picked
  exponentially with base 2: slot i has weight 2^i, so each later slot is
  twice as likely as the one before (Elle draws ``floor(log2(2 + U * 2 *
  (2^n - 1)) - 1)`` for U uniform on [0, 1));
- a write's value is the key's write count plus one, so a key's values are
  1, 2, ... ``max_writes_per_key``, each written once. A write that would
  pass the limit retires the key: its slot takes the fresh key ``max(active)
  + 1`` and the micro-op is drawn again (function and key), as Elle does.

`TxnWorkload` subclasses name the write micro-op (``append`` or ``w``), what
a read must return, and the Elle checker to call with ``WorkloadOpts``'
consistency models, time limit and clock.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Final

from maelstrom.elle import ElleError, UnknownModel
from maelstrom.elle.models import canonical
from maelstrom.elle.txn import parse_txns
from maelstrom.generator import GenContext, Op, OpSource
from maelstrom.history import History, Operation
from maelstrom.workloads import Completion, MalformedResponse, Rpc, Workload, WorkloadError, is_list
from maelstrom.workloads.common import client_ops, short_repr

#: Elle's ``key-count`` default for the exponential key distribution.
KEY_COUNT_DEFAULT: Final[int] = 10
#: The exponential key distribution's base: each later slot is this many times as likely.
KEY_DIST_BASE: Final[int] = 2
#: Maelstrom's ``--max-txn-length`` and ``--max-writes-per-key`` defaults.
MAX_TXN_LENGTH_DEFAULT: Final[int] = 4
MAX_WRITES_PER_KEY_DEFAULT: Final[int] = 16
#: Maelstrom's ``--consistency-models`` default.
CONSISTENCY_MODELS_DEFAULT: Final[tuple[str, ...]] = ("strict-serializable",)


def parse_consistency_models(text: str) -> tuple[str, ...]:
    """``--consistency-models``: a comma-separated list of Elle model names.

    Maelstrom splits on commas with spaces around them (``a , b``); plain
    ``a,b`` is accepted too. Aliases (``PL-SS``...) are kept as given.

    Raises:
        ValueError: An empty list or an unknown model name.
    """
    names = tuple(part.strip() for part in text.split(",") if part.strip())
    if not names:
        raise ValueError("give at least one consistency model")
    for name in names:
        try:
            canonical(name)
        except UnknownModel as exc:
            raise ValueError(str(exc)) from None
    return names


def exponential_slot(rng: random.Random, slots: int, base: int = KEY_DIST_BASE) -> int:
    """Elle's exponential key choice: slot i (0-based) with probability proportional to base^i."""
    scale = (base ** slots - 1) * base / (base - 1)
    offset = base / (base - 1)
    i = math.floor(math.log(offset + rng.random() * scale) / math.log(base) - 1)
    return min(max(i, 0), slots - 1)  # float rounding at the edges


@dataclass
class WrTxns:
    """Elle's ``wr-txns``: transactions over a pool of active keys (see module doc).

    Args:
        write_f: The write micro-op's name (``append`` or ``w``).
        key_count: Active keys (slots).
        max_txn_length: Longest transaction.
        max_writes_per_key: Writes a key gets before its slot moves on.
    """

    write_f: str
    key_count: int = KEY_COUNT_DEFAULT
    max_txn_length: int = MAX_TXN_LENGTH_DEFAULT
    max_writes_per_key: int = MAX_WRITES_PER_KEY_DEFAULT
    active: list[int] = field(default_factory=list)
    writes: dict[int, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        assert self.key_count >= 1 and self.max_txn_length >= 1 and self.max_writes_per_key >= 1
        if not self.active:
            self.active = list(range(self.key_count))

    def txn(self, rng: random.Random) -> list[list[Any]]:
        """The next transaction: ``[[f, k, v], ...]`` (``v`` null for reads)."""
        length = 1 + rng.randrange(self.max_txn_length)
        out: list[list[Any]] = []
        while len(out) < length:
            f = rng.choice(("r", self.write_f))
            i = exponential_slot(rng, len(self.active))
            k = self.active[i]
            if f == "r":
                out.append(["r", k, None])
                continue
            v = self.writes.get(k, 0) + 1
            if v > self.max_writes_per_key:
                self.active[i] = max(self.active) + 1
                continue
            self.writes[k] = v
            out.append([f, k, v])
        return out

    def op(self, ctx: GenContext) -> Op | None:
        return Op("txn", self.txn(ctx.rng))


class TxnWorkload(Workload):
    """A transactional workload over Elle micro-ops (subclasses set the names and the checker)."""

    idempotent: ClassVar[frozenset[str]] = frozenset()
    reusable: ClassVar[bool] = True
    rpcs: ClassVar[Mapping[str, Rpc]] = {"txn": Rpc("txn", "txn_ok", {"txn": is_list})}
    #: The write micro-op (``append`` or ``w``).
    write_f: ClassVar[str] = ""
    #: What a read of this workload returns, for messages ("a list or null").
    read_shape: ClassVar[str] = ""

    @staticmethod
    def elle_check(history: History, consistency_models: tuple[str, ...],
                   time_limit_s: float | None, clock: Callable[[], float] | None
                   ) -> dict[str, Any]:
        raise NotImplementedError

    def read_ok(self, v: Any) -> bool:
        """Whether ``v`` is a value a read of this workload may return."""
        raise NotImplementedError

    # -- options and generator ----------------------------------------------------------

    def validate(self) -> None:
        try:
            for m in self.opts.consistency_models:
                canonical(m)
        except UnknownModel as exc:
            raise WorkloadError(str(exc)) from None
        if not self.opts.consistency_models:
            raise WorkloadError("give at least one consistency model")

    def generator(self, rng: random.Random) -> OpSource:
        o = self.opts
        return WrTxns(self.write_f, o.key_count or KEY_COUNT_DEFAULT, o.max_txn_length,
                      o.max_writes_per_key)

    # -- client -------------------------------------------------------------------------

    def request_body(self, op: Op) -> dict[str, Any]:
        return {"type": "txn", "txn": op.value}

    def ok_value(self, op: Op, body: Mapping[str, Any]) -> Any:
        return body["txn"]

    def outcome_for_reply(self, op: Op, body: Mapping[str, Any]) -> Completion:
        """As `Workload.outcome_for_reply`, and a ``txn_ok`` must answer the very txn sent."""
        if body.get("type") == "txn_ok":
            problem = self._reply_problem(op.value, body.get("txn"))
            if problem is not None:
                return Completion("info", op.value, "malformed-rpc-response",
                                  {"exception": "malformed-rpc-response",
                                   "error_text": f"indeterminate: {MalformedResponse(problem)}"})
        return super().outcome_for_reply(op, body)

    def _reply_problem(self, sent: list[list[Any]], got: Any) -> str | None:
        if not isinstance(got, list) or len(got) != len(sent):
            return f"txn_ok's txn {short_repr(got)} does not list the {len(sent)} micro-ops sent"
        for a, b in zip(sent, got):
            if not (isinstance(b, list) and len(b) == 3 and b[0] == a[0] and b[1] == a[1]):
                return f"txn_ok micro-op {short_repr(b)} does not answer {short_repr(a)}"
            if a[0] == "r" and not self.read_ok(b[2]):
                return f"txn_ok read {short_repr(b)} must return {self.read_shape}"
            if a[0] != "r" and b[2] != a[2]:
                return f"txn_ok micro-op {short_repr(b)} changed the written value of {short_repr(a)}"
        return None

    # -- checker ------------------------------------------------------------------------

    def check(self, history: History) -> dict[str, Any]:
        o = self.opts
        return self.elle_check(history, tuple(o.consistency_models), o.checker_time_limit_s,
                               o.checker_clock)

    def op_problem(self, op: Operation) -> str | None:
        allowed = ("r", self.write_f)
        if not isinstance(op.value, list) or not op.value:
            return f"a txn whose value {short_repr(op.value)} is not a list of micro-ops"
        for m in op.value:
            if not (isinstance(m, list) and len(m) == 3 and m[0] in allowed):
                return (f"a txn micro-op {short_repr(m)}, not [f, key, value] with f one of "
                        f"{', '.join(allowed)}: another transactional workload's history?")
        if op.outcome == "ok" and isinstance(op.output, list):
            for m in op.output:
                if isinstance(m, list) and len(m) == 3 and m[0] == "r" and not self.read_ok(m[2]):
                    return (f"a read of key {short_repr(m[1])} that returned "
                            f"{short_repr(m[2])}, not {self.read_shape}: another "
                            f"transactional workload's history?")
        return None

    def history_problem(self, history: History) -> str | None:
        problem = super().history_problem(history)
        if problem is not None:
            return problem
        try:
            parse_txns(client_ops(history), self.write_f)
        except ElleError as exc:
            return str(exc)
        return None
