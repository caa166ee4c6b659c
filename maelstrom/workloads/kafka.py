"""The kafka workload: append-only logs per key, with offsets and committed offsets.

Maelstrom ``workload/kafka.clj`` over Jepsen ``tests/kafka.clj``
(maelstrom-spec.md section 4). RPCs: ``send{key,msg}`` → ``send_ok{offset}``;
``poll{offsets}`` → ``poll_ok{msgs}`` (per key, ``[offset, msg]`` pairs from
the requested offset); ``commit_offsets{offsets}`` → ``commit_offsets_ok``;
``list_committed_offsets{keys}`` → ``list_committed_offsets_ok{offsets}``.
Keys are elle integers written as strings. Idempotent set {assign}; the
client is not reusable, so a crash drops its offsets.

Strategy, in three parts:

- `KafkaSource` is the generator: elle list-append transactions of length 1
  rewritten as ``send [["send", k, v]]`` or ``poll [["poll"]]``; about 1/64
  of ops become ``assign [k]`` (a third of those also take every key sent
  but not yet polled, `KafkaSource.update` tracks both); a ``crash`` every
  ``30 / concurrency`` s on average (gaps uniform on twice that), answered
  info with no RPC. `KafkaFinal` is the final phase: each thread crashes,
  assigns every key seen from offset 0 and polls every ~0.2 s until the
  polls reach the highest offsets seen, cut at 10 s.
- The client is `Kafka.first_step`/`Kafka.next_step` over a `KafkaClient`
  state: ``assign`` takes the local offset, else the committed one
  (``list_committed_offsets``), else 0; ``poll`` sends the offsets, moves each
  polled key to its highest offset + 1, then commits the highest polled
  offsets with a second RPC before the op completes.
- `check_kafka` is a pure function of the history with Jepsen's anomaly
  classes (see its docstring); valid iff every anomaly type found is in
  `ALLOWED_ERRORS`, with the G0/G1c cycle search of `maelstrom.workloads.kafka_cycles`.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Final

from maelstrom.generator import GenContext, Op, OpSource, Wait
from maelstrom.history import History, Operation
from maelstrom.workloads import Completion, Rpc, Workload, is_int
from maelstrom.workloads.common import client_ops, short_repr
from maelstrom.workloads.kafka_cycles import kafka_cycles

#: Elle list-append defaults (active keys, appends per key before it retires).
KEY_COUNT_DEFAULT: Final[int] = 10
MAX_WRITES_PER_KEY: Final[int] = 16
#: Jepsen ``:sub-p``: the share of ops turned into an assign.
ASSIGN_P: Final[float] = 1 / 64
#: Of those assigns, the share that also picks up keys sent but not yet polled.
ASSIGN_UNSEEN_P: Final[float] = 1 / 3
#: Jepsen ``:crash-client-interval``: each client crashes about this often.
CRASH_INTERVAL_S: Final[float] = 30.0
#: Final phase: Maelstrom cuts it at 10 s; polls are staggered at 5 per second.
FINAL_LIMIT_MS: Final[float] = 10_000.0
FINAL_POLL_GAP_MS: Final[float] = 200.0
#: Anomaly types that do not make a run invalid (Jepsen ``allowed-error-types`` with assign).
ALLOWED_ERRORS: Final[frozenset[str]] = frozenset({
    "int-send-skip", "G0", "G0-process", "G0-realtime",
    "PL-1-cycle-exists", "strong-PL-1-cycle-exists"})
#: Which anomaly the one-line verdict explains first: the most telling.
WHY_ORDER: Final[tuple[str, ...]] = (
    "lost-write", "inconsistent-offsets", "duplicate", "G1a", "G1c-realtime", "precommitted-read",
    "poll-skip",
    "nonmonotonic-poll", "nonmonotonic-send", "int-poll-skip", "int-nonmonotonic-poll",
    "int-nonmonotonic-send", "unseen")
#: Examples kept per anomaly type.
ERRS_SHOWN_MAX: Final[int] = 32
#: Messages of a key listed under ``unseen``.
UNSEEN_SHOWN_MAX: Final[int] = 32


# -- reply schemas ----------------------------------------------------------------------------

def _is_offsets(v: Any) -> bool:
    return isinstance(v, dict) and all(isinstance(k, str) and is_int(o) for k, o in v.items())


def _is_msgs(v: Any) -> bool:
    return isinstance(v, dict) and all(
        isinstance(k, str) and isinstance(pairs, list)
        and all(isinstance(p, list) and len(p) == 2 and is_int(p[0]) for p in pairs)
        for k, pairs in v.items())


SEND: Final = Rpc("send", "send_ok", {"offset": is_int})
POLL: Final = Rpc("poll", "poll_ok", {"msgs": _is_msgs})
COMMIT: Final = Rpc("commit_offsets", "commit_offsets_ok")
LIST_COMMITTED: Final = Rpc("list_committed_offsets", "list_committed_offsets_ok",
                            {"offsets": _is_offsets})
_BY_REQUEST: Final = {r.request: r for r in (SEND, POLL, COMMIT, LIST_COMMITTED)}


# -- what ops say about offsets ---------------------------------------------------------------

def sent_offsets(value: Any) -> dict[str, int]:
    """Key → highest offset in an ok send's completion value ``[["send", k, [offset, msg]]…]``."""
    out: dict[str, int] = {}
    for mop in value if isinstance(value, list) else ():
        if isinstance(mop, list) and len(mop) == 3 and mop[0] == "send" and isinstance(mop[2], list) \
                and mop[2] and is_int(mop[2][0]):
            out[mop[1]] = max(out.get(mop[1], -1), mop[2][0])
    return out


def polled_offsets(value: Any) -> dict[str, int]:
    """Key → highest offset in an ok poll's completion value ``[["poll", {k: pairs}]…]``."""
    out: dict[str, int] = {}
    for mop in value if isinstance(value, list) else ():
        if isinstance(mop, list) and len(mop) == 2 and mop[0] == "poll" and isinstance(mop[1], dict):
            for k, pairs in mop[1].items():
                offs = [p[0] for p in pairs if isinstance(p, list) and p and is_int(p[0])]
                if offs:
                    out[k] = max(out.get(k, -1), *offs)
    return out


def _merge_max(into: dict[str, int], more: Mapping[str, int]) -> None:
    for k, o in more.items():
        into[k] = max(into.get(k, -1), o)


# -- generator ------------------------------------------------------------------------------------

@dataclass
class KafkaSource:
    """The main phase (see module doc). ``tracked`` is every key's highest offset seen ok.

    Args:
        concurrency: Client threads (crashes come every ``30 / concurrency`` s on average).
        key_count: Active elle keys.
    """

    concurrency: int
    key_count: int = KEY_COUNT_DEFAULT
    active: list[int] = field(default_factory=list)
    writes: dict[int, int] = field(default_factory=dict)
    sent: dict[str, int] = field(default_factory=dict)
    polled: dict[str, int] = field(default_factory=dict)
    tracked: dict[str, int] = field(default_factory=dict)
    next_crash_ms: float | None = None

    def __post_init__(self) -> None:
        if not self.active:
            self.active = list(range(self.key_count))

    def crash_gap_ms(self, rng: random.Random) -> float:
        """Jepsen ``stagger``: uniform on [0, 2 × 30/concurrency s)."""
        return rng.uniform(0, 2 * CRASH_INTERVAL_S / self.concurrency) * 1000.0

    def _key_slot(self, rng: random.Random) -> int:
        # elle: each later slot twice as likely as the one before
        n = len(self.active)
        return rng.choices(range(n), weights=[2 ** i for i in range(n)])[0]

    def op(self, ctx: GenContext) -> Op | None:
        rng = ctx.rng
        if self.next_crash_ms is None:
            self.next_crash_ms = ctx.now_ms  # Jepsen's stagger emits its first op at once
        if ctx.now_ms >= self.next_crash_ms:
            self.next_crash_ms = max(self.next_crash_ms, ctx.now_ms) + self.crash_gap_ms(rng)
            return Op("crash")
        slot = self._key_slot(rng)
        key = self.active[slot]
        if rng.random() < ASSIGN_P:
            keys = [str(key)]
            if self.sent and rng.random() < ASSIGN_UNSEEN_P:
                keys += [k for k in sorted(self.sent, key=_key_order) if k not in keys]
            return Op("assign", keys)
        if rng.random() < 0.5:
            return Op("poll", [["poll"]])
        v = self.writes.get(key, 0) + 1
        self.writes[key] = v
        if v >= MAX_WRITES_PER_KEY:
            self.active[slot] = max(self.active) + 1
        return Op("send", [["send", str(key), v]])

    def update(self, op: Op, completion: Any) -> None:
        """Follow ok sends and polls: what was sent but not polled yet, and every offset seen."""
        if not isinstance(completion, Completion) or completion.type != "ok":
            return
        s, p = sent_offsets(completion.value), polled_offsets(completion.value)
        _merge_max(self.sent, s)
        _merge_max(self.polled, p)
        _merge_max(self.tracked, s)
        _merge_max(self.tracked, p)
        for k in [k for k in self.sent if self.polled.get(k, -1) >= self.sent[k]]:
            del self.sent[k]
            self.polled.pop(k, None)


def _key_order(k: str) -> tuple[int, Any]:
    return (0, int(k)) if k.isdigit() else (1, k)


@dataclass
class KafkaFinal:
    """The final phase: per thread ``crash``, ``assign`` (every key seen, from 0), then polls
    until they reach the offsets seen in the main phase; cut at `FINAL_LIMIT_MS`."""

    main: KafkaSource
    target: dict[str, int] | None = None
    start_ms: float = 0.0
    stage: dict[int, int] = field(default_factory=dict)
    next_poll_ms: dict[int, float] = field(default_factory=dict)

    def op(self, ctx: GenContext) -> Op | Wait | None:
        if self.target is None:
            self.target = dict(self.main.tracked)
            self.start_ms = ctx.now_ms
        if not self.target or ctx.now_ms >= self.start_ms + FINAL_LIMIT_MS:
            return None
        t = ctx.thread
        stage = self.stage.get(t, 0)
        self.stage[t] = stage + 1
        if stage == 0:
            return Op("crash", final=True)
        if stage == 1:
            return Op("assign", sorted(self.target, key=_key_order), final=True)
        due = self.next_poll_ms.get(t, ctx.now_ms)
        if ctx.now_ms < due:
            self.stage[t] = stage
            return Wait(min(due, self.start_ms + FINAL_LIMIT_MS))
        self.next_poll_ms[t] = ctx.now_ms + ctx.rng.uniform(0, 2 * FINAL_POLL_GAP_MS)
        return Op("poll", [["poll"]], final=True)

    def update(self, op: Op, completion: Any) -> None:
        """An ok poll that reached a key's target offset ends the wait for that key."""
        if self.target is None or op.f != "poll" or not isinstance(completion, Completion) \
                or completion.type != "ok":
            return
        for k, o in polled_offsets(completion.value).items():
            if k in self.target and self.target[k] <= o:
                del self.target[k]


# -- client ---------------------------------------------------------------------------------------

@dataclass
class KafkaClient:
    """One client's state: each assigned key's next offset to poll; a poll awaiting its commit."""

    offsets: dict[str, int] = field(default_factory=dict)
    polled: dict[str, Any] | None = None


class Kafka(Workload):
    """Kafka-style logs (see module doc)."""

    name: ClassVar[str] = "kafka"
    idempotent: ClassVar[frozenset[str]] = frozenset({"assign"})
    reusable: ClassVar[bool] = False
    has_final: ClassVar[bool] = True
    # f → the RPC it starts with; commit_offsets follows a poll, assign may need no RPC
    rpcs: ClassVar[Mapping[str, Rpc]] = {"send": SEND, "poll": POLL, "assign": LIST_COMMITTED}

    def __init__(self, opts: Any) -> None:
        super().__init__(opts)
        self._main: KafkaSource | None = None

    def generator(self, rng: random.Random) -> OpSource:
        self._main = KafkaSource(self.opts.concurrency, self.opts.key_count or KEY_COUNT_DEFAULT)
        return self._main

    def final_generator(self) -> OpSource | None:
        main = self._main if self._main is not None else KafkaSource(self.opts.concurrency)
        return KafkaFinal(main)

    def checked_fs(self) -> frozenset[str]:
        return frozenset({"send", "poll", "assign", "crash", "debug-topic-partitions"})

    def new_client_state(self) -> KafkaClient:
        return KafkaClient()

    def request_body(self, op: Op) -> dict[str, Any]:
        step = self.first_step(op, KafkaClient())
        assert isinstance(step, dict), op
        return step

    def first_step(self, op: Op, state: Any) -> dict[str, Any] | Completion:
        assert isinstance(state, KafkaClient)
        if op.f == "crash":
            return Completion("info", op.value)
        if op.f == "assign":
            if op.final:  # the final phase seeks to the beginning: no RPC
                state.offsets = {k: 0 for k in op.value}
                return Completion("ok", op.value)
            return {"type": "list_committed_offsets", "keys": list(op.value)}
        if op.f == "send":
            [[_, key, msg]] = op.value
            return {"type": "send", "key": key, "msg": msg}
        assert op.f == "poll", op
        return {"type": "poll", "offsets": dict(state.offsets)}

    def rpc_for(self, op: Op, request: Mapping[str, Any]) -> Rpc:
        return _BY_REQUEST[request["type"]]

    def next_step(self, op: Op, state: Any, request: Mapping[str, Any],
                  body: Mapping[str, Any]) -> dict[str, Any] | Completion:
        assert isinstance(state, KafkaClient)
        kind = request["type"]
        if kind == "list_committed_offsets":
            committed = body["offsets"]
            new = {}
            for k in op.value:
                local = state.offsets.get(k)
                new[k] = local if local is not None else committed.get(k, 0)
            state.offsets = new
            return Completion("ok", op.value)
        if kind == "send":
            [[_, key, msg]] = op.value
            return Completion("ok", [["send", key, [body["offset"], msg]]])
        if kind == "poll":
            msgs = body["msgs"]
            highest: dict[str, int] = {}
            for k, pairs in msgs.items():
                top = max((p[0] for p in pairs), default=-1)
                state.offsets[k] = max(state.offsets.get(k, 0), top + 1)
                if pairs:
                    highest[k] = max(0, top)
            if not highest:
                return Completion("ok", [["poll", msgs]])
            state.polled = msgs
            return {"type": "commit_offsets", "offsets": highest}
        assert kind == "commit_offsets", kind
        msgs, state.polled = state.polled, None
        return Completion("ok", [["poll", msgs]])

    def check(self, history: History) -> dict[str, Any]:
        return check_kafka(history)

    def op_problem(self, op: Operation) -> str | None:
        if op.f in ("send", "poll") and not (isinstance(op.value, list) and len(op.value) == 1):
            return f"a {op.f} whose value {short_repr(op.value)} is not one micro-op"
        if op.f == "assign" and not isinstance(op.value, list):
            return f"an assign whose value {short_repr(op.value)} is not a list of keys"
        return None


# -- checker --------------------------------------------------------------------------------------

def _pairs_of(mops: Any, kind: str) -> Iterable[tuple[str, Any, Any]]:
    """(key, offset, msg) of each send (``kind="send"``) or polled pair (``"poll"``) in a value."""
    for mop in mops if isinstance(mops, list) else ():
        if not isinstance(mop, list) or not mop or mop[0] != kind:
            continue
        if kind == "send" and len(mop) == 3:
            v = mop[2]
            if isinstance(v, list) and len(v) == 2:
                yield mop[1], v[0], v[1]
            else:
                yield mop[1], None, v
        elif kind == "poll" and len(mop) == 2 and isinstance(mop[1], dict):
            for k, pairs in mop[1].items():
                for p in pairs:
                    if isinstance(p, list) and len(p) == 2:
                        yield k, p[0], p[1]


def _h(x: Any) -> Any:
    if isinstance(x, list):
        return tuple(_h(v) for v in x)
    if isinstance(x, dict):
        return tuple(sorted((k, _h(v)) for k, v in x.items()))
    return x


def _who(op: Operation) -> str:
    return f"process {op.process} (op index {op.index}, {op.outcome})"


class _Orders:
    """Per key: the log (offset → messages seen there) and its dense version order."""

    def __init__(self) -> None:
        self.log: dict[str, dict[int, list[Any]]] = defaultdict(dict)
        self.index: dict[str, dict[Any, int]] = {}   # key → message → first dense index
        self.by_index: dict[str, list[int]] = {}      # key → dense index → offset

    def add(self, k: str, offset: Any, msg: Any) -> None:
        if not is_int(offset):
            return
        at = self.log[k].setdefault(offset, [])
        if _h(msg) not in [_h(m) for m in at]:
            at.append(msg)

    def build(self) -> None:
        for k, log in self.log.items():
            offsets = sorted(log)
            self.by_index[k] = offsets
            idx: dict[Any, int] = {}
            for i, o in enumerate(offsets):
                for m in log[o]:
                    idx.setdefault(_h(m), i)
            self.index[k] = idx

    def pos(self, k: str, msg: Any) -> int | None:
        return self.index.get(k, {}).get(_h(msg))

    def offset_of(self, k: str, i: int) -> int:
        return self.by_index[k][i]

    def skipped(self, k: str, i1: int, i2: int) -> list[list[Any]]:
        """The [offset, msg] pairs strictly between dense indices i1 and i2."""
        return [[o, self.log[k][o][0]] for o in self.by_index[k][i1 + 1:i2]]


def check_kafka(history: History) -> dict[str, Any]:
    """Jepsen's kafka checker (pure).

    Anomaly types (each example has an ``explanation``):

    - ``inconsistent-offsets``: one offset of a key holds two different messages.
    - ``duplicate``: one message at two offsets of a key.
    - ``G1a``: a poll saw a message whose send failed.
    - ``lost-write``: a message sent ok was polled by nobody, though a poll read a
      later offset of its key (Jepsen's version-order bound).
    - ``unseen``: messages sent ok that no poll saw by the end.
    - ``poll-skip`` / ``nonmonotonic-poll``: a process's consecutive ok polls of a key
      (no ``assign`` of other keys in between) jump over known offsets, or go back.
    - ``nonmonotonic-send``: a process's sends to a key get non-increasing positions.
    - ``int-poll-skip`` / ``int-nonmonotonic-poll`` / ``int-send-skip`` /
      ``int-nonmonotonic-send``: the same inside one op.
    - ``precommitted-read``: an op polled a message it sent itself (needs
      multi-micro-op ops, which Maelstrom never generates).
    - ``G1c-realtime``: a poll returned before the send of a message it read was
      invoked (each such pair listed), or a longer cycle of the kind below.
    - ``G0``, ``G1c`` and their ``-process`` and ``-realtime`` variants: cycles of
      ww, wr, process and realtime edges (`maelstrom.workloads.kafka_cycles`), one
      shortest cycle per class and strongly connected component; G0 is allowed.

    Positions are dense indices in each key's version order (offsets may be
    sparse). Unlike Jepsen, a key a poll returned empty keeps the process's
    previous position for poll-skip (Jepsen forgets it, missing a skip after an
    empty poll).

    Returns:
        ``valid`` (every type found is in `ALLOWED_ERRORS`), ``error-types``,
        ``bad-error-types``, one entry per type found (``count``, ``errs``), and
        ``why`` (one sentence) when invalid.
    """
    ops = [op for op in client_ops(history) if op.f in ("send", "poll", "assign", "txn")]
    orders = _Orders()
    writer: dict[tuple[str, Any], Operation] = {}
    failed: dict[tuple[str, Any], Operation] = {}
    reads: dict[tuple[str, Any], Operation] = {}  # first ok poll that read (k, msg)
    readers: dict[tuple[str, Any], list[Operation]] = defaultdict(list)  # every ok poll of (k, msg)
    claims: dict[tuple[str, int], list[tuple[Any, Operation]]] = defaultdict(list)
    for op in ops:
        if op.f in ("send", "txn"):
            src = op.output if op.outcome == "ok" else op.value
            for k, o, m in _pairs_of(src, "send"):
                if op.outcome == "fail":
                    failed.setdefault((k, _h(m)), op)
                    continue
                writer.setdefault((k, _h(m)), op)
                if op.outcome == "ok":
                    orders.add(k, o, m)
                    if is_int(o):
                        claims[(k, o)].append((m, op))
        if op.f in ("poll", "txn") and op.outcome == "ok":
            for k, o, m in _pairs_of(op.output, "poll"):
                orders.add(k, o, m)
                reads.setdefault((k, _h(m)), op)
                readers[(k, _h(m))].append(op)
                if is_int(o):
                    claims[(k, o)].append((m, op))
    orders.build()
    errors: dict[str, list[dict[str, Any]]] = defaultdict(list)

    # inconsistent offsets
    for k in sorted(orders.log, key=_key_order):
        for o in sorted(orders.log[k]):
            msgs = orders.log[k][o]
            if len(msgs) > 1:
                seen = {}
                for m, op in claims[(k, o)]:
                    seen.setdefault(_h(m), op)
                how = "; ".join(f"{short_repr(m)} by {_who(seen[_h(m)])}" for m in msgs)
                errors["inconsistent-offsets"].append({
                    "key": k, "offset": o, "values": msgs,
                    "explanation": f"key {k!r} offset {o} holds {len(msgs)} different messages: {how}"})
    # duplicates
    for k in sorted(orders.log, key=_key_order):
        at: dict[Any, list[int]] = defaultdict(list)
        shown: dict[Any, Any] = {}
        for o in sorted(orders.log[k]):
            for m in orders.log[k][o]:
                at[_h(m)].append(o)
                shown[_h(m)] = m
        for hm, offs in at.items():
            if len(offs) > 1:
                errors["duplicate"].append({
                    "key": k, "value": shown[hm], "offsets": offs, "count": len(offs),
                    "explanation": f"key {k!r}: message {short_repr(shown[hm])} is at offsets "
                                   f"{offs}"})
    # G1a: reads of failed sends
    for (k, hm), op in sorted(reads.items(), key=lambda kv: kv[1].index):
        w = failed.get((k, hm))
        if w is not None and (k, hm) not in writer:
            m = next(m for kk, _, m in _pairs_of(op.output, "poll") if kk == k and _h(m) == hm)
            errors["G1a"].append({
                "key": k, "value": m, "writer": w.index, "reader": op.index,
                "explanation": f"{_who(op)} polled message {short_repr(m)} of key {k!r}, whose "
                               f"send by {_who(w)} failed"})
    # lost writes and unseen
    unseen: dict[str, list[Any]] = defaultdict(list)
    bounds: dict[str, int] = {}
    for (k, hm) in reads:
        i = orders.index.get(k, {}).get(hm)
        if i is not None:
            bounds[k] = max(bounds.get(k, -1), i)
    for k in sorted(orders.log, key=_key_order):
        bound = bounds.get(k, -1)
        for o in orders.by_index[k]:
            for m in orders.log[k][o]:
                key = (k, _h(m))
                w = writer.get(key)
                if w is None or w.outcome != "ok" or key in reads:
                    continue
                unseen[k].append(m)
                i = orders.pos(k, m)
                if i is not None and i <= bound:
                    top_o = orders.offset_of(k, bound)
                    top_m = next(x for x in orders.log[k][top_o] if (k, _h(x)) in reads)
                    top_r = reads[(k, _h(top_m))]
                    errors["lost-write"].append({
                        "key": k, "value": m, "offset": o, "writer": w.index,
                        "max-read-offset": top_o, "max-read": top_r.index,
                        "explanation": f"key {k!r}: message {short_repr(m)} at offset {o} was sent "
                                       f"ok by {_who(w)} but no poll ever returned it, though "
                                       f"{_who(top_r)} polled offset {top_o} ({short_repr(top_m)}), "
                                       f"at or past it in the log"})
    if unseen:
        counts = {k: len(v) for k, v in unseen.items()}
        first = next(iter(unseen))
        errors["unseen"].append({
            "unseen": counts, "messages": {k: v[:UNSEEN_SHOWN_MAX] for k, v in unseen.items()},
            "explanation": f"{sum(counts.values())} message(s) sent ok were never polled by the end "
                           f"of the run, e.g. key {first!r}: {short_repr(unseen[first][:5])}"})
    _process_order(ops, orders, errors)
    _internal(ops, orders, errors)
    # G1c-realtime, two-op cycles only: a poll read a message whose send began after the poll
    # had returned (wr send → poll, realtime poll → send)
    for (k, hm), op in sorted(reads.items(), key=lambda kv: kv[1].index):
        w = writer.get((k, hm))
        if w is not None and w is not op and op.return_time < w.call_time:
            m = next(m for kk, _, m in _pairs_of(op.output, "poll") if kk == k and _h(m) == hm)
            errors["G1c-realtime"].append({
                "key": k, "value": m, "writer": w.index, "reader": op.index, "cycle": [w.index, op.index],
                "explanation": f"{_who(op)} polled message {short_repr(m)} of key {k!r} before "
                               f"its send by {_who(w)} had even begun (a read from the future)"})
    # Every other G0/G1c cycle over ww, wr, process and realtime edges (the two-op
    # G1c-realtime ones are listed above, each with its message).
    version_order = {k: [[_h(m) for m in orders.log[k][o]] for o in orders.by_index[k]] for k in orders.log}
    for kind, found in kafka_cycles(ops, version_order, writer, readers, short_repr).items():
        errors[kind].extend(c for c in found if kind != "G1c-realtime" or len(c["cycle"]) > 2)
        if not errors[kind]:
            del errors[kind]
    # precommitted reads: an op polling what it sent itself
    for op in ops:
        if op.outcome != "ok":
            continue
        mine = {(k, _h(m)) for k, _, m in _pairs_of(op.output, "send")}
        for k, o, m in _pairs_of(op.output, "poll"):
            if (k, _h(m)) in mine:
                errors["precommitted-read"].append({
                    "key": k, "value": m, "op": op.index,
                    "explanation": f"{_who(op)} polled message {short_repr(m)} of key {k!r} that "
                                   f"it sent itself, before it committed"})
    types = sorted(errors)
    bad = [t for t in types if t not in ALLOWED_ERRORS]
    res: dict[str, Any] = {
        "valid": not bad, "error-types": types, "bad-error-types": bad,
        "send-count": sum(1 for op in ops if op.f == "send"),
        "poll-count": sum(1 for op in ops if op.f == "poll"),
        "key-count": len(orders.log),
    }
    for t in types:
        errs = errors[t]
        res[t] = {"count": len(errs), "errs": errs[:ERRS_SHOWN_MAX]}
    if bad:
        head = min(bad, key=lambda t: WHY_ORDER.index(t) if t in WHY_ORDER else len(WHY_ORDER))
        res["why"] = f"{', '.join(bad)}; {head}: {errors[head][0]['explanation']}"
    return res


def _process_order(ops: list[Operation], orders: _Orders, errors: dict[str, list[dict[str, Any]]]
                   ) -> None:
    """poll-skip, nonmonotonic-poll and nonmonotonic-send: each process's ops in order."""
    by_process: dict[Any, list[Operation]] = defaultdict(list)
    for op in ops:
        by_process[op.process].append(op)
    for p in sorted(by_process, key=repr):
        last_read: dict[str, tuple[Any, Operation]] = {}
        last_send: dict[str, tuple[Any, Operation]] = {}
        for op in by_process[p]:
            if op.f == "assign":
                if op.outcome in ("ok", "info") and isinstance(op.value, list):
                    keep = set(op.value)
                    last_read = {k: v for k, v in last_read.items() if k in keep}
                    last_send = {k: v for k, v in last_send.items() if k in keep}
                continue
            if op.f in ("poll", "txn") and op.outcome == "ok":
                per_key: dict[str, list[Any]] = defaultdict(list)
                for k, _, m in _pairs_of(op.output, "poll"):
                    per_key[k].append(m)
                for k, ms in per_key.items():
                    prev = last_read.get(k)
                    if prev is not None:
                        _pair_error(orders, k, prev[0], ms[0], prev[1], op, "poll-skip",
                                    "nonmonotonic-poll", errors, "polled")
                    last_read[k] = (ms[-1], op)
            if op.f in ("send", "txn") and op.outcome in ("ok", "info"):
                src = op.output if op.outcome == "ok" else op.value
                per_send: dict[str, list[Any]] = defaultdict(list)
                for k, _, m in _pairs_of(src, "send"):
                    per_send[k].append(m)
                for k, ms in per_send.items():
                    prev = last_send.get(k)
                    if prev is not None:
                        _pair_error(orders, k, prev[0], ms[0], prev[1], op, None,
                                    "nonmonotonic-send", errors, "sent")
                    last_send[k] = (ms[-1], op)


def _pair_error(orders: _Orders, k: str, m1: Any, m2: Any, op1: Operation, op2: Operation,
                skip: str | None, nonmono: str, errors: dict[str, list[dict[str, Any]]],
                verb: str) -> None:
    i1, i2 = orders.pos(k, m1), orders.pos(k, m2)
    if i1 is None or i2 is None:
        return
    delta = i2 - i1
    o1, o2 = orders.offset_of(k, i1), orders.offset_of(k, i2)
    same = op1 is op2
    where = (f"{_who(op2)}" if same else f"process {op2.process}")
    first, then = ((f"{verb} {short_repr(m1)} (offset {o1})", f"then {short_repr(m2)} (offset {o2})")
                   if same else
                   (f"{verb} {short_repr(m1)} (offset {o1}) in op index {op1.index}",
                    f"then {short_repr(m2)} (offset {o2}) in op index {op2.index}"))
    base = {"key": k, "values": [m1, m2], "offsets": [o1, o2], "delta": delta,
            "ops": [op1.index, op2.index] if not same else [op2.index]}
    if delta > 1 and skip is not None:
        gone = orders.skipped(k, i1, i2)
        errors[skip].append({**base, "skipped": gone,
                             "explanation": f"{where} {first}, {then}, skipping {len(gone)} known "
                                            f"message(s) of key {k!r}: {short_repr(gone)}"})
    elif delta < 1:
        errors[nonmono].append({**base,
                                "explanation": f"{where} {first}, {then} on key {k!r}: offsets went "
                                               f"{'backwards' if delta < 0 else 'nowhere'}"})


def _internal(ops: list[Operation], orders: _Orders, errors: dict[str, list[dict[str, Any]]]) -> None:
    """int-poll-skip, int-nonmonotonic-poll, int-send-skip, int-nonmonotonic-send: inside one op."""
    for op in ops:
        if op.outcome != "ok":
            continue
        for kind, skip, nonmono, verb in (("poll", "int-poll-skip", "int-nonmonotonic-poll", "polled"),
                                          ("send", "int-send-skip", "int-nonmonotonic-send", "sent")):
            per_key: dict[str, list[Any]] = defaultdict(list)
            for k, _, m in _pairs_of(op.output, kind):
                per_key[k].append(m)
            for k, ms in per_key.items():
                for m1, m2 in zip(ms, ms[1:]):
                    _pair_error(orders, k, m1, m2, op, op, skip, nonmono, errors, verb)
