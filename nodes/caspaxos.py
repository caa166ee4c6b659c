"""CASPaxos, the pure parts: ballots, the register state, the acceptor and one proposer round.

Strategy (Rystsov, "CASPaxos: Replicated State Machines without logs"):
every node is an acceptor and a proposer for every key. A proposer changes a
key with one single-decree Paxos round: ``prepare(b)`` to every acceptor,
a majority of promises each carrying its accepted ``(ballot, state)``, the
highest-ballot state is the key's current state, the change function turns
it into a new state, ``accept(b, new)`` to every acceptor, a majority of
acks, done. Nothing here does I/O or reads a clock; `nodes.strong` drives
it from a `NodeCore`.

The register state (`RegState`) is the key's value plus a small *done
table*. The value is of one of two kinds, fixed by the key: a lin-kv key
holds canonical JSON bytes, a RESP key (`nodes.strong_commands`) a key
`Image` (any Redis type with its absolute expiry); either may be absent.
The done table holds, for every write, cas or writing command applied in
the state's history whose proposer may still retry it, the request id and
its result. A proposer whose accept round failed retries its requests with a
higher ballot; when the state it then adopts already has a request applied
(some later proposer carried its half-accepted state forward) the recorded
result is used instead of applying the request twice. A proposer drops its
own entries once it answered the request; every proposer drops entries
``gc_margin_ms`` past their expiry (a proposer never retries a request after
its deadline), so the table stays as small as the number of requests in
flight.

Steady state, one round trip and pipelining (Multi-Paxos's stable leader,
applied to one register): after a prepare at ballot ``b`` a proposer may send
a *chain* of accepts at ``b``, ``(b, 1, v1)``, ``(b, 2, v2)``, ..., where
``v1`` is the change function applied to the adopted state and each
``v(i+1)`` the change function applied to ``vi``. An accepted state is named
by ``(ballot, seq)`` and ordered by that pair; a promise still names a ballot
only. So the key's next round on a proposer whose last round committed goes
straight to accept at ``(b, seq + 1)`` (no prepare: one round trip), and a
proposer may send ``(b, i + 1)`` before ``(b, i)`` committed (several accepts
in flight on one key). Why this is safe:

* ``v1`` is ordinary Paxos: a majority promised ``b`` and reported their
  accepted states, and ``v1`` extends the highest of them, hence every state
  chosen at a lower ballot. Every later ``vi`` extends ``v1``, and ``vj``
  extends ``vi`` for ``j > i``: nothing accepted at ``b`` ever forks, so a
  state chosen at ``(b, i)`` is contained in every state accepted at
  ``(b, j >= i)``, and a later prepare, which adopts the highest ``(ballot,
  seq)`` of a majority, adopts a state that contains it.
* A proposer never sends two states with one ``(b, seq)``, and once any
  round of the chain fails (a nack, or an abandon) it drops the whole chain
  and prepares at a fresh ballot: ``b`` is never used again. A restarted
  proposer never reuses a ballot (the durable counter).
* An acceptor accepts ``(b, seq)`` when ``b`` is at least its promise and the
  pair is above what it accepted; a pair at or below an accepted ``(b, s)``
  of the same ballot is acked without change (the acceptor holds that state
  or a later one of the same chain, which contains it), also after it
  promised a higher ballot to someone else. Anything else is nacked. So an
  ack of ``(b, j)`` also means ``(b, i)`` for ``i <= j``: a majority acking
  ``(b, j)`` commits every round of the chain up to ``j`` (answers are
  given in chain order).
* Another proposer's prepare above ``b`` reaches a majority only by
  promising above ``b`` there; every later accept of the chain is nacked by
  those acceptors, so the chain cannot overwrite what that proposer adopts.

The change function of a round is the batch of requests a node has queued
for the key, applied in arrival order through the Redis engine
(`apply_batch`: GET/SET/compare-and-set on a scratch key holding the current
value), so "the change function is the command applied to the current
value". Every request of the batch takes effect at the round's commit.
A pipelined round's change function runs on the state the round before it
proposed (not yet committed): if that round fails, the later one fails with
it and their requests are retried, which the done table makes safe.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import orjson

from crdt.engine import Engine
from crdt.replication.images import Image, image_from_json, image_to_json
from crdt.replication.lattices import decode_bytes, encode_bytes
from crdt.session import Session
from nodes.kv_engine import kv_cas, kv_read, kv_write
from protocol.errors import ProtocolError
from protocol.maelstrom_json import ErrorCode

__all__ = [
    "ZERO_BALLOT", "AcceptorSlot", "Acceptor", "Ballot", "DoneEntry", "Op", "OpKind", "Outcome",
    "Phase", "Promise", "RegState", "Result", "Round", "apply_batch", "ballot_from_wire",
    "ballot_to_wire", "finish_done", "live_done",
]

Ballot = tuple[int, str]
#: Below every real ballot: what an acceptor that never promised holds.
ZERO_BALLOT: Final[Ballot] = (0, "")
#: Longest done table a state may carry before the oldest entries go (a safety valve only).
DONE_ENTRIES_MAX: Final[int] = 4096


def ballot_to_wire(b: Ballot) -> list[Any]:
    return [b[0], b[1]]


def ballot_from_wire(data: Any) -> Ballot:
    """Parse ``[counter, node_id]``.

    Raises:
        ProtocolError: not a two-element array of a non-negative integer and a string.
    """
    # Exact types (decoded JSON has no subclasses; this also keeps out bool): one check each.
    if type(data) is list and len(data) == 2:
        counter, node = data
        if type(counter) is int and counter >= 0 and type(node) is str:
            return (counter, node)
    raise ProtocolError(f"ballot must be [counter, node_id], not {data!r:.80}")


# --- results and the register state ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Result:
    """What a request got: ok (``code`` None) or a Maelstrom error.

    ``value`` is a lin-kv read's canonical JSON value, or a command op's
    complete RESP reply (encoded in the client's protocol; an error reply
    too, since it is the command's answer).
    """

    code: int | None = None
    text: str | None = None
    value: bytes | None = None

    @property
    def ok(self) -> bool:
        return self.code is None


@dataclass(frozen=True, slots=True)
class DoneEntry:
    """A write or cas applied in a state's history, kept while its proposer may retry it."""

    rid: str
    origin: str
    expires_ms: int
    result: Result

    def to_wire(self) -> list[Any]:
        """``[rid, origin, expires_ms, code, text]``, plus the reply (Latin-1 text) when there is one.

        Only command ops record a reply (lin-kv's write and cas have none), so
        lin-kv entries keep their five elements.
        """
        out = [self.rid, self.origin, self.expires_ms, self.result.code, self.result.text]
        if self.result.value is not None:
            out.append(encode_bytes(self.result.value))
        return out


#: How many parsed done entries `_entry_from_wire` keeps for reuse (emptied when full).
ENTRY_CACHE_MAX: Final[int] = 4096
_ENTRY_CACHE: dict[tuple[str, str, int, int | None, str | None], DoneEntry] = {}


def _entry_from_wire(data: Any) -> DoneEntry:
    # The usual entries (a lin-kv write or cas; a command with its reply), as a JSON parser
    # builds them, in one pass of exact type tests (``type(x) is int`` also refuses booleans);
    # anything else takes the full check, which says what is wrong.
    if type(data) is list and 5 <= len(data) <= 6:
        rid, origin, expires, code, text = data[0], data[1], data[2], data[3], data[4]
        if (type(rid) is str and type(origin) is str and type(expires) is int
                and (code is None or type(code) is int) and (text is None or type(text) is str)):
            if len(data) == 5:
                # A lin-kv entry rides in every state of its key while it lives, so the same
                # one is read again and again: parsed once and shared (it is immutable).
                key = (rid, origin, expires, code, text)
                entry = _ENTRY_CACHE.get(key)
                if entry is None:
                    if len(_ENTRY_CACHE) >= ENTRY_CACHE_MAX:
                        _ENTRY_CACHE.clear()
                    entry = _ENTRY_CACHE[key] = DoneEntry(rid, origin, expires, Result(code, text))
                return entry
            reply = data[5]
            if type(reply) is str and reply.isascii():  # RESP replies are ASCII but for values
                return DoneEntry(rid, origin, expires, Result(code, text, reply.encode()))
    if not isinstance(data, list) or len(data) not in (5, 6):
        raise ProtocolError(f"done entry must be [rid, origin, expires_ms, code, text(, reply)], "
                            f"not {data!r:.80}")
    rid, origin, expires, code, text = data[:5]
    if (not isinstance(rid, str) or not isinstance(origin, str) or not isinstance(expires, int)
            or isinstance(expires, bool) or not (code is None or (isinstance(code, int) and not isinstance(code, bool)))
            or not (text is None or isinstance(text, str))):
        raise ProtocolError(f"bad done entry {data!r:.80}")
    value = decode_bytes(data[5]) if len(data) == 6 else None  # DecodeError is a ProtocolError
    return DoneEntry(rid, origin, expires, Result(code, text, value))


@dataclass(frozen=True, slots=True)
class RegState:
    """One key's replicated state: its value and the done table (see module doc).

    Wire form: ``{"v": JSON text, "d": entries}`` for a lin-kv value,
    ``{"i": image_to_json(image), "d": entries}`` for a key image, and
    ``{"v": null, "d": entries}`` for an absent key of either kind.

    Attributes:
        value: canonical JSON bytes (lin-kv), an `Image` (RESP key), or None
            when the key is absent.
        done: entries sorted by request id.
    """

    value: bytes | Image | None = None
    done: tuple[DoneEntry, ...] = ()
    #: `to_wire`'s answer, kept once made (the state is immutable): a state is sent to two peers
    #: and written to the durable store, and an acceptor answers prepares with the state it holds.
    _wire: dict[str, Any] | None = field(default=None, repr=False, compare=False)

    @property
    def image(self) -> Image | None:
        """The value of a RESP key (asserts it is not a lin-kv value)."""
        assert self.value is None or isinstance(self.value, Image), self.value
        return self.value

    def to_wire(self) -> dict[str, Any]:
        """The wire form (one object per state, made once: treat it as read-only)."""
        wire = self._wire
        if wire is None:
            done = [e.to_wire() for e in self.done]
            if isinstance(self.value, Image):
                wire = {"i": image_to_json(self.value), "d": done}
            else:
                wire = {"v": None if self.value is None else self.value.decode(), "d": done}
            object.__setattr__(self, "_wire", wire)
        return wire

    @staticmethod
    def from_wire(data: Any) -> RegState:
        """Parse a state a peer sent.

        Raises:
            ProtocolError: malformed state (the value must be valid JSON text).
        """
        if not isinstance(data, dict) or not isinstance(data.get("d"), list):
            raise ProtocolError(f"state must be {{v, d}} or {{i, d}}, not {data!r:.80}")
        parsed = [_entry_from_wire(e) for e in data["d"]]
        in_order = all(parsed[i].rid < parsed[i + 1].rid for i in range(len(parsed) - 1))
        entries = tuple(parsed) if in_order else tuple(sorted(parsed, key=lambda e: e.rid))
        if "i" in data:
            if len(data) != 2:
                raise ProtocolError(f"an image state has exactly i and d, not {sorted(data)!r:.80}")
            raw = data["i"]
            # A string without a TTL is a bare JSON string, which writes back as it came, so
            # such a state in to_wire's key order keeps ``data`` as its wire form (an acceptor
            # stores and forwards it without encoding it again); other images are re-encoded.
            canonical = type(raw) is str and in_order and next(iter(data)) == "i"
            return RegState(image_from_json(raw), entries,  # DecodeError is a ProtocolError
                            data if canonical else None)
        v = data.get("v")
        if v is not None and not isinstance(v, str):
            raise ProtocolError(f"state value must be JSON text or null, not {v!r:.80}")
        value = None
        if v is not None:
            try:
                orjson.loads(v)
            except orjson.JSONDecodeError as exc:
                raise ProtocolError(f"state value is not JSON: {exc}") from exc
            value = v.encode()
        # ``data`` is exactly what `to_wire` makes of the result when its keys are in to_wire's
        # order and its entries sorted (each parsed entry, a command's reply included, writes
        # back as it came): then it is kept as the wire form.
        canonical = in_order and len(data) == 2 and next(iter(data)) == "v"
        return RegState(value, entries, data if canonical else None)


# --- the acceptor --------------------------------------------------------------------------------


@dataclass(slots=True)
class AcceptorSlot:
    """An acceptor's memory of one key."""

    promised: Ballot = ZERO_BALLOT
    accepted: Ballot = ZERO_BALLOT
    state: RegState = field(default_factory=RegState)
    seq: int = 0  # the accepted state's place in its ballot's chain (module doc)


@dataclass(frozen=True, slots=True)
class Promise:
    """An acceptor's answer to ``prepare``: ``ok`` or a nack naming what it promised."""

    ok: bool
    promised: Ballot
    accepted: Ballot
    state: RegState
    seq: int = 0  # the accepted state's place in its ballot's chain


class Acceptor:
    """Every key's acceptor slot on one node.

    Both operations are idempotent for a repeated ballot (a duplicated
    message gets the same answer), and a ballot is never reused for another
    value, so ``>=`` is safe where the textbook says ``>``.
    """

    def __init__(self) -> None:
        self.slots: dict[str, AcceptorSlot] = {}

    def slot(self, key: str) -> AcceptorSlot:
        s = self.slots.get(key)
        if s is None:
            s = self.slots[key] = AcceptorSlot()
        return s

    def prepare(self, key: str, ballot: Ballot) -> Promise:
        """Promise to accept nothing below ``ballot`` unless a higher ballot was promised."""
        s = self.slot(key)
        if ballot >= s.promised:
            s.promised = ballot
            return Promise(True, ballot, s.accepted, s.state, s.seq)
        return Promise(False, s.promised, s.accepted, s.state, s.seq)

    def accept(self, key: str, ballot: Ballot, state: RegState, seq: int = 1) -> tuple[bool, Ballot]:
        """Accept ``state`` as ``(ballot, seq)`` of its ballot's chain unless a higher ballot was promised.

        A pair at or below what the acceptor accepted of the same ballot is
        acked without change: it holds that state or a later one of the same
        chain (module doc), also after it promised a higher ballot since, so
        a repeated accept or a lost ack costs no spurious nack.

        Returns:
            ``(accepted, promised ballot after the call)``.
        """
        s = self.slot(key)
        if ballot == s.accepted and seq <= s.seq and ballot != ZERO_BALLOT:
            return True, s.promised
        if ballot >= s.promised:
            s.accepted = s.promised = ballot
            s.seq = seq
            s.state = state
            return True, ballot
        return False, s.promised


# --- the change function --------------------------------------------------------------------


class OpKind(enum.Enum):
    READ = "read"
    WRITE = "write"
    CAS = "cas"
    COMMAND = "command"  # a RESP command on a RESP key (`nodes.strong_commands`)
    JSON = "json"  # a request on a JSON register (`nodes.json_registers`): txn, kafka


@dataclass(frozen=True, slots=True)
class Op:
    """One client request as a change function of the key's value.

    Attributes:
        rid: unique request id (``node.incarnation.n``).
        kind: read, write, cas (lin-kv), command (RESP) or json.
        value: the write's value, or the cas's ``to`` (canonical JSON bytes); a JSON
            register's request (JSON bytes).
        expected: the cas's ``from``.
        create: cas ``create_if_not_exists``.
        expires_ms: when the proposer gives up on it (its done entry lives a margin longer).
        argv: a command op's arguments, the command name first.
        resp3: a command op's reply is encoded in RESP3 (else RESP2).
        readonly: a command op cannot change the key, so it needs no done entry
            (a retry simply reads again).
    """

    rid: str
    kind: OpKind
    value: bytes | None = None
    expected: bytes | None = None
    create: bool = False
    expires_ms: int = 0
    argv: tuple[bytes, ...] = ()
    resp3: bool = False
    readonly: bool = False


def live_done(current: RegState, *, origin: str, live_own: Iterable[str], now_ms: int,
              gc_margin_ms: int) -> dict[str, DoneEntry]:
    """The done entries a new state keeps, by request id (the garbage collection of the module doc).

    Args:
        current: the adopted state.
        origin: this proposer's node id.
        live_own: ids of this node's requests that may still be retried.
        now_ms: the current time.
        gc_margin_ms: how long past its expiry any entry is kept.
    """
    live = set(live_own)
    return {e.rid: e for e in current.done
            if (e.origin != origin or e.rid in live) and e.expires_ms + gc_margin_ms >= now_ms}


def finish_done(done: dict[str, DoneEntry]) -> tuple[DoneEntry, ...]:
    """A new state's done table: at most `DONE_ENTRIES_MAX` (the latest to expire), sorted by id."""
    entries = sorted(done.values(), key=lambda e: (e.expires_ms, e.rid))[-DONE_ENTRIES_MAX:]
    return tuple(sorted(entries, key=lambda e: e.rid))


def apply_batch(engine: Engine, session: Session, key: bytes, current: RegState, ops: Sequence[Op],
                *, origin: str, live_own: Iterable[str], now_ms: int,
                gc_margin_ms: int) -> tuple[RegState, dict[str, Result]]:
    """Apply ``ops`` in order to ``current`` through the engine: the round's change function.

    Args:
        engine: the engine used to evaluate commands; ``key`` is set to the
            current value first and holds the new value afterwards.
        session: the engine session.
        key: the key's canonical JSON bytes (the engine key).
        current: the state adopted in the prepare phase.
        ops: the batch, in arrival order.
        origin: this proposer's node id (the origin of new done entries).
        live_own: ids of this node's requests that may still be retried;
            its other entries are dropped.
        now_ms: the current time.
        gc_margin_ms: how long past its expiry any entry is kept.

    Returns:
        The new state and every op's result. An op already in ``current``'s
        done table gets its recorded result and is not applied again.

    Raises:
        EngineError: the engine refused a command (a bug or a misconfiguration).
    """
    if current.value is None:
        engine.execute([b"DEL", key], session, now_ms)
    else:
        assert isinstance(current.value, bytes), current.value
        kv_write(engine, session, key, current.value, now_ms)
    done = live_done(current, origin=origin, live_own=live_own, now_ms=now_ms, gc_margin_ms=gc_margin_ms)
    results: dict[str, Result] = {}
    for op in ops:
        prior = done.get(op.rid)
        if prior is not None:
            results[op.rid] = prior.result
            continue
        if op.kind is OpKind.READ:
            got = kv_read(engine, session, key, now_ms)
            results[op.rid] = (Result(value=got) if got is not None
                               else Result(ErrorCode.KEY_DOES_NOT_EXIST, "key does not exist"))
            continue
        if op.kind is OpKind.WRITE:
            assert op.value is not None
            kv_write(engine, session, key, op.value, now_ms)
            result = Result()
        else:
            assert op.value is not None and op.expected is not None
            outcome = kv_cas(engine, session, key, op.expected, op.value, now_ms, create_if_missing=op.create)
            if outcome.ok:
                result = Result()
            elif outcome.current is None:
                result = Result(ErrorCode.KEY_DOES_NOT_EXIST, "key does not exist")
            else:
                result = Result(ErrorCode.PRECONDITION_FAILED,
                                f"current value {outcome.current.decode()} is not {op.expected.decode()}")
        results[op.rid] = result
        done[op.rid] = DoneEntry(op.rid, origin, op.expires_ms, result)
    return RegState(kv_read(engine, session, key, now_ms), finish_done(done)), results


# --- fast constructors -------------------------------------------------------------------------

# Results, done entries, states and promises are built for most messages: their constructors set
# the slots through the slot descriptors, about twice as fast as the generated frozen ``__init__``
# (``object.__setattr__`` by name). They stay frozen: assigning an attribute later still raises.


def _slot_setters(cls: type, *names: str) -> tuple[Any, ...]:
    return tuple(getattr(cls, n).__set__ for n in names)


_R_CODE, _R_TEXT, _R_VALUE = _slot_setters(Result, "code", "text", "value")
_E_RID, _E_ORIGIN, _E_EXPIRES, _E_RESULT = _slot_setters(DoneEntry, "rid", "origin", "expires_ms", "result")
_S_VALUE, _S_DONE, _S_WIRE = _slot_setters(RegState, "value", "done", "_wire")
_P_OK, _P_PROMISED, _P_ACCEPTED, _P_STATE, _P_SEQ = _slot_setters(Promise, "ok", "promised", "accepted", "state",
                                                                  "seq")


def _result_init(self: Result, code: int | None = None, text: str | None = None,
                 value: bytes | None = None) -> None:
    _R_CODE(self, code)
    _R_TEXT(self, text)
    _R_VALUE(self, value)


def _entry_init(self: DoneEntry, rid: str, origin: str, expires_ms: int, result: Result) -> None:
    _E_RID(self, rid)
    _E_ORIGIN(self, origin)
    _E_EXPIRES(self, expires_ms)
    _E_RESULT(self, result)


def _state_init(self: RegState, value: bytes | Image | None = None, done: tuple[DoneEntry, ...] = (),
                _wire: dict[str, Any] | None = None) -> None:
    _S_VALUE(self, value)
    _S_DONE(self, done)
    _S_WIRE(self, _wire)


def _promise_init(self: Promise, ok: bool, promised: Ballot, accepted: Ballot, state: RegState,
                  seq: int = 0) -> None:
    _P_OK(self, ok)
    _P_PROMISED(self, promised)
    _P_ACCEPTED(self, accepted)
    _P_STATE(self, state)
    _P_SEQ(self, seq)


Result.__init__ = _result_init  # type: ignore[method-assign]
DoneEntry.__init__ = _entry_init  # type: ignore[method-assign]
RegState.__init__ = _state_init  # type: ignore[method-assign]
Promise.__init__ = _promise_init  # type: ignore[method-assign]


# --- one proposer round ----------------------------------------------------------------------


class Phase(enum.Enum):
    PREPARE = "prepare"
    ACCEPT = "accept"
    COMMITTED = "committed"
    REJECTED = "rejected"


class Outcome(enum.Enum):
    """What an answer did to a round."""

    WAIT = "wait"          # nothing decided yet (or a stale/duplicate answer)
    PREPARED = "prepared"  # a majority promised: call `current` and `start_accept`
    COMMITTED = "committed"  # a majority accepted the new state
    REJECTED = "rejected"  # a majority is out of reach: retry with a higher ballot


class Round:
    """One proposer attempt at one ``(ballot, seq)`` of a chain (pure; the caller sends and delivers).

    Args:
        ballot: the chain's ballot, unique to this proposer.
        acceptors: every node id (self included).
        seq: the round's place in the chain (1 for the round that prepares).
        adopted: the state a chained round starts from (`chained`): the
            state of the chain's round before it; None for a round that prepares.
    """

    def __init__(self, ballot: Ballot, acceptors: Sequence[str], *, seq: int = 1,
                 adopted: RegState | None = None) -> None:
        assert acceptors
        assert seq >= 1 and (seq == 1 or adopted is not None), (seq, adopted)
        self.ballot = ballot
        self.seq = seq
        self.acceptors = tuple(sorted(acceptors))
        self.quorum = len(self.acceptors) // 2 + 1
        self.phase = Phase.PREPARE
        self.promises: dict[str, tuple[tuple[Ballot, int], RegState]] = {}
        self.acks: set[str] = set()
        self.nacks: dict[str, Ballot] = {}
        self.proposal: RegState | None = None
        #: The state a chained round starts from: its phase 1 was the chain's prepare.
        self.adopted = adopted

    @classmethod
    def chained(cls, ballot: Ballot, seq: int, acceptors: Sequence[str], adopted: RegState) -> Round:
        """The round ``(ballot, seq)`` after a round of the same chain that proposed ``adopted``
        (committed or still in flight, module doc): prepared already, call `start_accept` at once."""
        assert seq > 1, seq
        return cls(ballot, acceptors, seq=seq, adopted=adopted)

    @property
    def prepared(self) -> bool:
        """A majority promised this round's ballot (answers to prepare, or the chain's prepare)."""
        return self.adopted is not None or len(self.promises) >= self.quorum

    @property
    def highest_seen(self) -> Ballot:
        """The highest ballot named by a nack (or our own)."""
        return max([self.ballot, *self.nacks.values()])

    def missing(self) -> list[str]:
        """Acceptors that have not answered the current phase, sorted."""
        if self.phase is Phase.PREPARE:
            answered = set(self.promises) | set(self.nacks)
        elif self.phase is Phase.ACCEPT:
            answered = self.acks | set(self.nacks)
        else:
            return []
        return [a for a in self.acceptors if a not in answered]

    def _nack(self, acceptor: str, promised: Ballot) -> Outcome:
        if promised <= self.ballot:
            return Outcome.WAIT  # not a real conflict (cannot happen with a correct acceptor)
        self.nacks[acceptor] = promised
        if len(self.nacks) > len(self.acceptors) - self.quorum:
            self.phase = Phase.REJECTED
            return Outcome.REJECTED
        return Outcome.WAIT

    def on_promise(self, acceptor: str, ballot: Ballot, promise: Promise) -> Outcome:
        """Count one answer to this round's prepare (stale ballots and duplicates are ignored)."""
        if (self.phase is not Phase.PREPARE or ballot != self.ballot or acceptor not in self.acceptors
                or acceptor in self.promises or acceptor in self.nacks):
            return Outcome.WAIT
        if not promise.ok:
            return self._nack(acceptor, promise.promised)
        self.promises[acceptor] = ((promise.accepted, promise.seq), promise.state)
        if len(self.promises) >= self.quorum:
            return Outcome.PREPARED
        return Outcome.WAIT

    def current(self) -> RegState:
        """The adopted state: the highest ``(ballot, seq)`` accepted state among the promises."""
        if self.adopted is not None:
            return self.adopted
        assert len(self.promises) >= self.quorum
        best = max(self.promises.items(), key=lambda kv: (kv[1][0], kv[0]))
        return best[1][1]

    def start_accept(self, proposal: RegState) -> None:
        """Enter the accept phase with ``proposal`` (answers to prepare are ignored from now on)."""
        assert self.phase is Phase.PREPARE and self.prepared
        self.phase = Phase.ACCEPT
        self.proposal = proposal
        self.nacks = {}

    def on_accepted(self, acceptor: str, ballot: Ballot, ok: bool, promised: Ballot) -> Outcome:
        """Count one answer to this round's accept (the caller matched its ``seq``)."""
        if (self.phase is not Phase.ACCEPT or ballot != self.ballot or acceptor not in self.acceptors
                or acceptor in self.acks or acceptor in self.nacks):
            return Outcome.WAIT
        if not ok:
            return self._nack(acceptor, promised)
        self.acks.add(acceptor)
        if len(self.acks) >= self.quorum:
            self.phase = Phase.COMMITTED
            return Outcome.COMMITTED
        return Outcome.WAIT

    def committed_by_chain(self) -> None:
        """A later round of the same chain committed: this one did too (module doc)."""
        assert self.phase is Phase.ACCEPT, self.phase
        self.phase = Phase.COMMITTED

    def abandon(self) -> None:
        """Give up (a resend found a conflict, or the caller stops); later answers are ignored."""
        if self.phase in (Phase.PREPARE, Phase.ACCEPT):
            self.phase = Phase.REJECTED
