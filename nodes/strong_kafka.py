"""Strong mode for kafka: each key's log and each key's committed offset a CASPaxos register.

Strategy: a kafka key's log is a JSON register (`nodes.json_registers`)
named ``x:log:<key>`` holding the JSON array of its messages, so a message's
offset is its index: dense from 0, and assigned by the round that commits
the send. A key's committed offset is the register ``x:commit:<key>``
holding an integer that only rises. Every request is one op per key it
names, queued on that key's proposer with every other request for the key
(`nodes.strong.StrongKv.submit_json`), so it inherits what lin-kv has:
batching, chained and pipelined rounds, resends through other peers, durable acceptor slots,
and the done table, which makes a retried ``send`` answer the offset it got
the first time instead of appending the message twice.

* ``send``: one op on the key's log; the answer is the new offset. An
  acknowledged send is in a majority's accepted state, so no later round
  (on any node, after any crash with ``--dir``/durable storage) can lose it.
* ``poll``: one read op per key named (a read is a full round, so it is
  linearizable): the messages from the requested offset on, at most
  `KAFKA_POLL_MAX` per key, keys with nothing left out.
* ``commit_offsets``: one op per key raising its committed offset to the
  given one (never lowering it).
* ``list_committed_offsets``: one read op per key; unknown keys left out.

A request of several keys is answered when all its ops are: ok when every
one is; otherwise the first failure's error, ``timeout`` (indefinite) if
any op that may have written was proposed. Polls and offset commits of
different keys are not atomic together (Maelstrom's kafka asks for no more:
its checker judges each key's log and offsets).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Final

import orjson

from nodes.caspaxos import Result
from nodes.core import NodeCore, Rpc
from nodes.json_registers import JSON_PREFIX
from nodes.workload_handlers import (
    KAFKA_COMMIT,
    KAFKA_LIST_COMMITTED,
    KAFKA_POLL,
    KAFKA_POLL_MAX,
    KAFKA_SEND,
    kafka_offsets,
)
from protocol.maelstrom_json import ErrorCode, Message

if TYPE_CHECKING:
    from nodes.strong import StrongKv

__all__ = ["COMMIT_PREFIX", "LOG_PREFIX", "StrongKafka", "commit_step", "log_step"]

LOG_PREFIX: Final[str] = JSON_PREFIX + "log:"
COMMIT_PREFIX: Final[str] = JSON_PREFIX + "commit:"


def log_step(doc: Any, request: Any) -> tuple[Any, Result, bool]:
    """A log register's step: ``["send", msg]`` appends, ``["poll", offset]`` reads from ``offset``."""
    log: list[Any] = [] if doc is None else doc
    f, arg = request
    if f == "send":
        log.append(arg)
        return log, Result(value=b"%d" % (len(log) - 1)), True
    assert f == "poll", request
    start = max(0, arg)
    got = [[start + i, m] for i, m in enumerate(log[start:start + KAFKA_POLL_MAX])]
    return doc, Result(value=orjson.dumps(got)), False


def commit_step(doc: Any, request: Any) -> tuple[Any, Result, bool]:
    """A committed-offset register's step: ``["commit", offset]`` raises it, ``["read", null]`` reads."""
    f, arg = request
    if f == "commit":
        if doc is None or doc < arg:
            return arg, Result(value=b"null"), True
        return doc, Result(value=b"null"), False
    assert f == "read", request
    return doc, Result(value=b"null" if doc is None else b"%d" % doc), False


class _Gather:
    """The ops of one multi-key request: answers the client once every op has a result."""

    def __init__(self, node: NodeCore, msg: Message, spec: Rpc, keys: list[str],
                 finish: Callable[[dict[str, Any]], dict[str, Any]], writes: bool) -> None:
        self.node = node
        self.msg = msg
        self.spec = spec
        self.waiting = len(keys)
        self.values: dict[str, Any] = {}
        self.failure: Result | None = None
        self.finish = finish
        self.writes = writes

    def result_for(self, key: str) -> Callable[[Result], None]:
        def got(result: Result) -> None:
            if result.ok:
                assert result.value is not None
                self.values[key] = orjson.loads(result.value)
            elif self.failure is None or (self.writes and result.code == ErrorCode.TIMEOUT):
                self.failure = result  # an indefinite failure of a write outranks a definite one
            self.waiting -= 1
            if self.waiting == 0:
                self._answer()
        return got

    def _answer(self) -> None:
        if self.failure is not None:
            assert self.failure.code is not None
            self.node.reply_error(self.msg, self.failure.code, self.failure.text)
        else:
            self.node.reply_ok(self.msg, self.spec, **self.finish(self.values))


class StrongKafka:
    """kafka in strong mode over `StrongKv`'s registers (see module doc).

    Args:
        kv: the node's strong-mode handler, whose proposers and acceptors carry the ops.
    """

    def __init__(self, kv: StrongKv) -> None:
        self.kv = kv
        self.node: NodeCore | None = None

    def install(self, node: NodeCore) -> None:
        self.node = node
        node.add_route(KAFKA_SEND, self._send)
        node.add_route(KAFKA_POLL, self._poll)
        node.add_route(KAFKA_COMMIT, self._commit)
        node.add_route(KAFKA_LIST_COMMITTED, self._list_committed)

    def _gather(self, msg: Message, spec: Rpc, requests: Mapping[str, tuple[str, Any]], now_ms: int,
                finish: Callable[[dict[str, Any]], dict[str, Any]], *, writes: bool = False) -> None:
        """Submit one op per register of ``requests`` (register -> request) and answer when all are done."""
        node = self.node
        assert node is not None
        if not requests:
            node.reply_ok(msg, spec, **finish({}))
            return
        gather = _Gather(node, msg, spec, list(requests), finish, writes)
        for register, request in requests.items():
            self.kv.submit_json(register, request, now_ms, gather.result_for(register))

    def _offsets(self, msg: Message) -> dict[str, int] | None:
        try:
            return kafka_offsets(msg.body["offsets"])
        except ValueError as exc:
            assert self.node is not None
            self.node.reply_error(msg, ErrorCode.MALFORMED_REQUEST, str(exc))
            return None

    def _send(self, msg: Message, now_ms: int) -> None:
        register = LOG_PREFIX + msg.body["key"]
        self._gather(msg, KAFKA_SEND, {register: ("send", msg.body["msg"])}, now_ms,
                     lambda values: {"offset": values[register]}, writes=True)

    def _poll(self, msg: Message, now_ms: int) -> None:
        offsets = self._offsets(msg)
        if offsets is None:
            return

        def finish(values: dict[str, Any]) -> dict[str, Any]:
            return {"msgs": {r[len(LOG_PREFIX):]: got for r, got in sorted(values.items()) if got}}
        self._gather(msg, KAFKA_POLL, {LOG_PREFIX + k: ("poll", o) for k, o in offsets.items()}, now_ms, finish)

    def _commit(self, msg: Message, now_ms: int) -> None:
        offsets = self._offsets(msg)
        if offsets is None:
            return
        self._gather(msg, KAFKA_COMMIT, {COMMIT_PREFIX + k: ("commit", o) for k, o in offsets.items()},
                     now_ms, lambda values: {}, writes=True)

    def _list_committed(self, msg: Message, now_ms: int) -> None:
        keys = list(dict.fromkeys(msg.body["keys"]))

        def finish(values: dict[str, Any]) -> dict[str, Any]:
            return {"offsets": {r[len(COMMIT_PREFIX):]: v for r, v in sorted(values.items()) if v is not None}}
        self._gather(msg, KAFKA_LIST_COMMITTED, {COMMIT_PREFIX + k: ("read", None) for k in keys}, now_ms, finish)
