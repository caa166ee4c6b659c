"""Strong mode for txn-list-append and txn-rw-register: every transaction in one CASPaxos register.

Strategy: per-key CASPaxos makes each key linearizable, but a transaction
touching several keys needs one order across keys. Rather than a commit
protocol over the per-key registers (two-phase commit with locks or
intents, recovery of a coordinator that dies between phases), strong mode
puts the whole transactional keyspace in one register, `TXN_REGISTER`, and
makes each transaction a change function of it. One CASPaxos register is
linearizable, so the transactions, each applied whole inside one round, are
strict-serializable: the round's commit is the transaction's one point in
time, between its invocation and its completion. Everything else comes from
the register machinery unchanged: batching (the transactions queued on this
node while a round prepares go into it, in arrival order; those that arrive
while its accept is out, into a round chained to it), the
done table (a retried transaction answers what it got the first time),
chained and pipelined rounds, resends, relays, durable acceptor slots.

The price is throughput and state size: all transactions of the cluster
are ordered by one register, and every accept carries the whole keyspace.
For Maelstrom's workloads (a few hundred keys of at most a few dozen
values) that is a few kilobytes; a keyspace of millions of keys would need
the commit protocol instead (not built).

The register's value is canonical JSON: ``{key: value}`` with each key its
canonical JSON text (``1`` and ``"1"`` are different keys, as in the engine
of the single node), a list-append key's value the JSON array of its
appended values, a register's its last written value. The change function
mirrors the single node's MULTI/EXEC (`nodes.kv_engine.kv_txn`): an append to
a key that holds a register, or a write to a key that holds a list, rejects
the whole transaction before anything of it runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import orjson

from nodes.caspaxos import Result
from nodes.json_registers import JSON_PREFIX
from nodes.kv_engine import TXN_APPEND, TXN_READ, TXN_WRITE, json_bytes
from protocol.maelstrom_json import ErrorCode

__all__ = ["TXN_REGISTER", "run_txn", "txn_step"]

#: The register every transaction changes (a JSON register, `nodes.json_registers`).
TXN_REGISTER: Final[str] = JSON_PREFIX + "txn"


def run_txn(state: dict[str, Any], mops: Sequence[Sequence[Any]]) -> list[list[Any]] | str:
    """Apply one transaction to ``state`` in place.

    Returns:
        The micro-ops with every read's value filled in (a copy of the list
        for a list key), or the reason the transaction is rejected (then
        ``state`` is unchanged).
    """
    kinds: dict[str, type] = {}
    for f, k, _ in mops:
        if f == TXN_READ:
            continue
        name = json_bytes(k).decode()
        kind = kinds.get(name)
        if kind is None:
            held = state.get(name)
            kind = type(None) if held is None else (list if isinstance(held, list) else str)
        want = list if f == TXN_APPEND else str
        if kind not in (type(None), want):
            what = "list" if kind is list else "string"
            return f"{f} to key {name}, which holds a {what}"
        kinds[name] = want
    out: list[list[Any]] = []
    for f, k, v in mops:
        name = json_bytes(k).decode()
        if f == TXN_READ:
            held = state.get(name)
            out.append([f, k, list(held) if isinstance(held, list) else held])
        elif f == TXN_APPEND:
            state.setdefault(name, []).append(v)
            out.append([f, k, v])
        else:
            assert f == TXN_WRITE, f
            state[name] = v
            out.append([f, k, v])
    return out


def txn_step(doc: Any, mops: Any) -> tuple[Any, Result, bool]:
    """`nodes.json_registers.Step` of `TXN_REGISTER`: one transaction (its micro-ops).

    The result's value is the completed micro-ops as JSON; a rejected
    transaction is ``abort`` (14, definite) and writes nothing; a read-only
    one needs no done entry (a retry reads again).
    """
    state: dict[str, Any] = {} if doc is None else doc
    got = run_txn(state, mops)
    if isinstance(got, str):
        return doc, Result(ErrorCode.ABORT, got), False
    return state, Result(value=orjson.dumps(got)), any(m[0] != TXN_READ for m in mops)
