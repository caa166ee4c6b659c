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
the register machinery unchanged: batching (every transaction queued on this
node while a round is out goes into the next one, in arrival order), the
done table (a retried transaction answers what it got the first time),
1RTT rounds, resends, relays, durable acceptor slots.

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

from collections.abc import Iterable, Sequence
from typing import Any, Final

import orjson

from nodes.caspaxos import DoneEntry, Op, OpKind, RegState, Result, finish_done, live_done
from nodes.kv_engine import TXN_APPEND, TXN_READ, TXN_WRITE, json_bytes
from protocol.maelstrom_json import ErrorCode

__all__ = ["TXN_REGISTER", "apply_txns", "run_txn", "txn_op_value"]

#: The register every transaction changes. Lin-kv keys are canonical JSON text and RESP
#: registers start with ``r:``; JSON text never starts with ``x``.
TXN_REGISTER: Final[str] = "x:txn"


def txn_op_value(txn: Sequence[Any]) -> bytes:
    """A ``txn`` body's micro-ops as an op's value (JSON bytes)."""
    return orjson.dumps(txn)


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


def apply_txns(current: RegState, ops: Sequence[Op], *, origin: str, live_own: Iterable[str],
               now_ms: int, gc_margin_ms: int) -> tuple[RegState, dict[str, Result]]:
    """The round's change function for `TXN_REGISTER`: ``ops`` (kind TXN) applied in order.

    Args, returns: as `nodes.caspaxos.apply_batch`. A transaction already
    in ``current``'s done table gets its recorded result and is not applied
    again; a read-only transaction records nothing (a retry reads again).
    """
    assert current.value is None or isinstance(current.value, bytes), current.value
    state: dict[str, Any] = {} if current.value is None else orjson.loads(current.value)
    done = live_done(current, origin=origin, live_own=live_own, now_ms=now_ms, gc_margin_ms=gc_margin_ms)
    results: dict[str, Result] = {}
    changed = False
    for op in ops:
        assert op.kind is OpKind.TXN and op.value is not None, op
        prior = done.get(op.rid)
        if prior is not None:
            results[op.rid] = prior.result
            continue
        mops = orjson.loads(op.value)
        got = run_txn(state, mops)
        if isinstance(got, str):
            result = Result(ErrorCode.ABORT, got)
        else:
            result = Result(value=orjson.dumps(got))
        results[op.rid] = result
        if all(m[0] == TXN_READ for m in mops):
            continue
        changed = changed or result.ok
        done[op.rid] = DoneEntry(op.rid, origin, op.expires_ms, result)
    value = current.value if not changed else orjson.dumps(state, option=orjson.OPT_SORT_KEYS)
    return RegState(value, finish_done(done)), results
