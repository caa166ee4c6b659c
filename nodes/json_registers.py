"""CASPaxos registers whose value is canonical JSON and whose ops carry a JSON request.

Strategy: strong mode's lin-kv keys and RESP keys have change functions of
their own (`nodes.caspaxos.apply_batch`, `nodes.strong_commands`). The
registers of the transactional and kafka workloads (`nodes.strong_txn`,
`nodes.strong_kafka`) share one shape instead: the value is a JSON document
(absent: None), an op's ``value`` is its request as JSON bytes, and a *step*
function applies one request to the decoded document in place and returns
the request's result and whether it wrote. `apply_json_ops` is the round's
change function around a step: the done table (a retried request answers
its recorded result and is not applied twice), done entries only for
requests that wrote, and the document encoded again only when something
changed.

Their register names start with ``x:``, which canonical JSON text (lin-kv
keys) never does and RESP registers (``r:``) do not.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, Final

import orjson

from nodes.caspaxos import DoneEntry, Op, OpKind, RegState, Result, finish_done, live_done

__all__ = ["JSON_PREFIX", "Step", "apply_json_ops", "json_op"]

#: Every JSON register's name starts with this.
JSON_PREFIX: Final[str] = "x:"

#: ``step(document, request) -> (document, result, wrote)``: apply one request.
Step = Callable[[Any, Any], tuple[Any, Result, bool]]


def json_op(rid: str, request: Any, expires_ms: int) -> Op:
    """The op of one JSON request."""
    return Op(rid, OpKind.JSON, value=orjson.dumps(request), expires_ms=expires_ms)


def apply_json_ops(step: Step, current: RegState, ops: Sequence[Op], *, origin: str,
                   live_own: Iterable[str], now_ms: int, gc_margin_ms: int) -> tuple[RegState, dict[str, Result]]:
    """Apply ``ops`` in order to ``current``'s document: the round's change function.

    Args, returns: as `nodes.caspaxos.apply_batch`, with ``step`` applying one request.
    """
    assert current.value is None or isinstance(current.value, bytes), current.value
    doc: Any = None if current.value is None else orjson.loads(current.value)
    done = live_done(current, origin=origin, live_own=live_own, now_ms=now_ms, gc_margin_ms=gc_margin_ms)
    results: dict[str, Result] = {}
    changed = False
    for op in ops:
        assert op.kind is OpKind.JSON and op.value is not None, op
        prior = done.get(op.rid)
        if prior is not None:
            results[op.rid] = prior.result
            continue
        doc, result, wrote = step(doc, orjson.loads(op.value))
        results[op.rid] = result
        if wrote:
            changed = True
            done[op.rid] = DoneEntry(op.rid, origin, op.expires_ms, result)
    value = current.value
    if changed:
        value = None if doc is None else orjson.dumps(doc, option=orjson.OPT_SORT_KEYS)
    return RegState(value, finish_done(done)), results
