"""Models for the linearizability checker, in the style of porcupine.

Strategy. A model is a sequential specification: an initial state and a pure
``step(state, op_input, op_output) -> (ok, new_state)`` that never mutates
``state``. States, inputs and outputs are small hashable values (JSON lists
become tuples), so the search can memoise ``(linearized set, state)`` pairs.
A model also owns everything that depends on the data type:

- ``encode(op)`` turns a history :class:`~maelstrom.history.Operation` into a
  :class:`ModelOp` (input, output, call/return positions, definite or not), or
  drops it. This is where the outcome rules live.
- ``partition(ops)`` splits a history into independent per-key sub-histories
  (P-compositionality: a history is linearizable iff every key's is).
- ``prepare(ops)`` applies sound shortcuts to one key before the search: it
  drops info ops whose effect nobody can observe, and finds reads that no
  linearization can explain (a value never written, or a stale read) without
  any search.
- ``describe_operation`` / ``describe_state`` for reports.

Outcome rules (Maelstrom lin-kv, knossos ``cas-register``, but stricter):

- ``ok`` operations took effect once, inside their interval.
- ``info`` operations (and invocations that never completed) may take effect
  at any time after their invocation, or never. An info read constrains
  nothing and is dropped.
- ``fail`` operations did not take effect and are dropped, except a cas that
  failed with ``precondition-failed`` (code 22): it observed, at some instant
  inside its interval, a value present and different from its ``from``; and a
  cas that failed with ``key-does-not-exist`` (code 20): it observed that the
  key was absent. Both become read-like observations that must be linearized.
- A read returning ``null`` means the key was absent: it matches only the
  absent state. Knossos lets a ``nil`` read match anything; we do not.
- A key starts at the model's initial value (``None``, i.e. absent, unless
  ``--initial`` says otherwise).

That is the ``strict`` reading, the default. The ``knossos`` reading
(:data:`SEMANTICS`) reproduces Maelstrom's verdicts: every ``fail`` is
dropped (a failed cas observes nothing), and an ``ok`` read of ``null``
constrains nothing (knossos ``cas-register`` accepts a ``nil`` read in any
state; such a read changes nothing, so dropping it is exact). Every history
valid under ``strict`` is valid under ``knossos``; the converse does not hold.

Values compare with Python ``==`` on the decoded JSON (so ``1 == 1.0``; Maelstrom
workloads only use integers and strings).
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final

from maelstrom.history import Operation

State = Hashable
Input = tuple[Any, ...]
Output = Any

#: ``ModelOp.ret`` of an operation that may take effect at any later time.
RET_NEVER: Final[int] = 1 << 62

#: Maelstrom error codes by name (maelstrom ``resources/errors.edn``).
ERROR_CODES: Final[Mapping[str, int]] = MappingProxyType({
    "timeout": 0, "net-timeout": 0, "node-not-found": 1, "not-supported": 10,
    "temporarily-unavailable": 11, "malformed-request": 12, "crash": 13, "abort": 14,
    "key-does-not-exist": 20, "key-already-exists": 21, "precondition-failed": 22,
    "txn-conflict": 30,
})
PRECONDITION_FAILED: Final[int] = 22
#: How outcomes are read: ours (the default) or Maelstrom's (knossos).
SEMANTICS: Final[tuple[str, ...]] = ("strict", "knossos")
KEY_DOES_NOT_EXIST: Final[int] = 20

# Input tags (the first element of every input tuple).
READ: Final = "read"        # ("read",), output = observed value
WRITE: Final = "write"      # ("write", v)
CAS: Final = "cas"          # ("cas", from, to)
APPEND: Final = "append"    # ("append", v)
DIFFERS: Final = "differs"  # ("differs", from): a failed cas saw a present value != from
ABSENT: Final = "absent"    # ("absent",): a failed cas saw the key absent


class ModelError(ValueError):
    """The history holds an operation the model cannot interpret."""


class _Unknown:
    """The output of an operation whose outcome is unknown (info)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "UNKNOWN"

    def __reduce__(self) -> str:
        return "UNKNOWN"


UNKNOWN: Final = _Unknown()
class _Marker:
    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


#: ``produces()``/``wanted()`` results that are not values.
NOT_A_VALUE: Final = _Marker("NOT_A_VALUE")
ANY_VALUE: Final = _Marker("ANY_VALUE")


@dataclass(frozen=True, slots=True)
class ModelOp:
    """An operation as the search sees it.

    Attributes:
        input: The model input (a tuple whose first element is the tag).
        output: The model output (a read's observed value, ``UNKNOWN`` for info).
        call: Position of the invocation in the history.
        ret: Position of the completion; ``RET_NEVER`` for info.
        definite: False for info operations (optional, any time after ``call``).
        source: The history operation, for reports.
    """

    input: Input
    output: Output
    call: int
    ret: int
    definite: bool
    source: Operation


@dataclass(frozen=True, slots=True)
class Violation:
    """A key that fails without search.

    Attributes:
        op: The observation no linearization can explain.
        reason: Why.
        involved: Other operations that prove it (producers, overwrites).
        before: Only operations invoked before this position matter for the proof.
    """

    op: ModelOp
    reason: str
    involved: tuple[ModelOp, ...]
    before: int


@dataclass(frozen=True, slots=True)
class Prepared:
    """One key, ready for the search.

    Attributes:
        ops: The operations to linearize (definite and info).
        dropped: How many operations ``prepare`` dropped as irrelevant.
        violation: A proof of non-linearizability found without search, or None.
        reach: For keys with appends, ``reach(state, read_output)`` says
            whether appends alone can turn a state into what a read saw;
            None when no such pruning applies.
        silent: Per op in ``ops``: a definite write nothing can observe (see
            :func:`silent_writes`); empty means none.
    """

    ops: list[ModelOp]
    dropped: int
    violation: Violation | None
    reach: Callable[[State, Output], bool] | None
    silent: tuple[bool, ...] = ()


def freeze(value: Any) -> Hashable:
    """Make a decoded JSON value hashable: lists become tuples, objects sorted pairs."""
    if isinstance(value, list):
        return tuple(freeze(v) for v in value)
    if isinstance(value, dict):
        return ("{}", tuple(sorted((str(k), freeze(v)) for k, v in value.items())))
    return value  # type: ignore[no-any-return]


def error_code(error: Any) -> int | None:
    """The Maelstrom error code of a completion's ``error`` field.

    Accepts a name (``"precondition-failed"``, ``":precondition-failed"``), a code
    (``22``, ``"22"``), a Jepsen-style ``[name, text]`` pair or ``{"code": 22}``.

    Returns:
        The code, or None when unknown or absent.
    """
    if isinstance(error, (list, tuple)) and error:
        return error_code(error[0])
    if isinstance(error, dict):
        return error_code(error.get("code", error.get("name")))
    if isinstance(error, bool) or error is None:
        return None
    if isinstance(error, int):
        return error
    if isinstance(error, str):
        name = error.strip().lstrip(":").lower()
        if name.isdigit():
            return int(name)
        return ERROR_CODES.get(name)
    return None


def _register_step(state: State, inp: Input, out: Output) -> tuple[bool, State]:
    tag = inp[0]
    if tag == READ:
        return state == out, state
    if tag == WRITE:
        return True, inp[1]
    if tag == CAS:
        if state == inp[1]:
            return True, inp[2]
        return out is UNKNOWN, state
    if tag == DIFFERS:
        return state is not None and state != inp[1], state
    if tag == ABSENT:
        return state is None, state
    if tag == APPEND:
        v = inp[1]
        if state is None:
            return True, v
        if isinstance(state, str) and isinstance(v, str):
            return True, state + v
        return out is UNKNOWN, state
    raise AssertionError(f"unknown input tag {tag!r}")


def _fmt(v: Any) -> str:
    if v is None:
        return "absent"
    if isinstance(v, tuple):
        return "[" + ", ".join(_fmt(x) for x in v) + "]"
    return repr(v) if isinstance(v, str) else str(v)


@dataclass(frozen=True)
class RegisterModel:
    """A map of registers, checked key by key (porcupine's ``Model``).

    ``cas-register`` supports read, write and cas (Maelstrom lin-kv); ``kv`` adds
    append (string concatenation; appending to an absent key stores the value).

    Attributes:
        name: ``"cas-register"`` or ``"kv"``.
        initial: Every key's initial value (``None`` = absent).
        allow_append: Whether ``append`` is part of the model.
        semantics: ``"strict"`` or ``"knossos"`` (see the module docstring).
    """

    name: str
    initial: Any = None
    allow_append: bool = False
    semantics: str = "strict"

    def __post_init__(self) -> None:
        if self.semantics not in SEMANTICS:
            raise ValueError(f"unknown semantics {self.semantics!r}; choose one of "
                             f"{', '.join(SEMANTICS)}")

    # -- porcupine's interface ----------------------------------------------

    def init(self) -> State:
        """The initial state of one key."""
        return freeze(self.initial)

    @staticmethod
    def step(state: State, op_input: Input, op_output: Output) -> tuple[bool, State]:
        """Apply one operation to one key's state.

        Args:
            state: The current value (``None`` = absent).
            op_input: An encoded input (see the tags at the top of the module).
            op_output: The observed value for reads, ``UNKNOWN`` for info ops.

        Returns:
            ``(ok, new_state)``: whether the operation may happen in ``state``,
            and the state after it. ``state`` is never mutated.
        """
        return _register_step(state, op_input, op_output)

    @staticmethod
    def is_blind(op_input: Input) -> bool:
        """True if the step ignores the state (a write): the state after it is known."""
        return op_input[0] == WRITE  # type: ignore[no-any-return]

    @staticmethod
    def is_observation(op_input: Input) -> bool:
        """True if a legal step with this input never changes the state."""
        tag = op_input[0]
        return tag in (READ, DIFFERS, ABSENT) or (tag == CAS and op_input[1] == op_input[2])

    @staticmethod
    def wanted(op_input: Input, op_output: Output) -> Any:
        """The one state in which this definite op can happen, or ``NOT_A_VALUE``."""
        tag = op_input[0]
        if tag == READ:
            return op_output
        if tag == CAS:
            return op_input[1]
        if tag == ABSENT:
            return None
        return NOT_A_VALUE

    @staticmethod
    def produces(op_input: Input) -> Any:
        """The value a state-changing step stores: ``NOT_A_VALUE`` for observations,
        ``ANY_VALUE`` when it depends on the state (append)."""
        tag = op_input[0]
        if tag == WRITE:
            return op_input[1]
        if tag == CAS:
            return op_input[2]
        if tag == APPEND:
            return ANY_VALUE
        return NOT_A_VALUE

    def partition(self, ops: Iterable[Operation]) -> dict[Hashable, list[Operation]]:
        """Split operations per key; key-less operations (nemesis) are ignored.

        Returns:
            Operations by key, each list in invocation order, keys in first-seen order.
        """
        by_key: dict[Hashable, list[Operation]] = {}
        for op in ops:
            if op.key is None:
                continue
            by_key.setdefault(freeze(op.key), []).append(op)
        return by_key

    def describe_operation(self, op_input: Input, op_output: Output) -> str:
        """A short human form, e.g. ``cas 1→4`` or ``read → 3``."""
        tag = op_input[0]
        if tag == READ:
            return f"read → {_fmt(op_output)}" if op_output is not UNKNOWN else "read → ?"
        if tag == WRITE:
            return f"write {_fmt(op_input[1])}"
        if tag == CAS:
            return f"cas {_fmt(op_input[1])}→{_fmt(op_input[2])}"
        if tag == APPEND:
            return f"append {_fmt(op_input[1])}"
        if tag == DIFFERS:
            return f"cas failed: saw a value ≠ {_fmt(op_input[1])}"
        if tag == ABSENT:
            return "cas failed: saw the key absent"
        return repr(op_input)

    @staticmethod
    def describe_state(state: State) -> str:
        """A short human form of one key's value."""
        return _fmt(state)

    # -- history → model ----------------------------------------------------

    def encode(self, op: Operation) -> ModelOp | None:
        """Turn a history operation into a model operation, applying the outcome rules.

        Args:
            op: A keyed operation.

        Returns:
            The model operation, or None when it constrains nothing (a fail
            that took no effect, an info read).

        Raises:
            ModelError: Unsupported ``f`` or a malformed value.
        """
        f, outcome = op.f, op.outcome
        if f == "append" and not self.allow_append:
            raise ModelError(f"history index {op.index}: model {self.name} has no 'append' "
                             f"(use --model kv)")
        if f not in ("read", "write", "cas", "append"):
            raise ModelError(f"history index {op.index}: model {self.name} does not know f={f!r}")
        ret = op.return_index if op.return_index is not None else RET_NEVER
        if outcome == "info":
            if f == "read":
                return None
            return ModelOp(self._input(op), UNKNOWN, op.call_index, RET_NEVER, False, op)
        if outcome == "ok":
            if f == "read":
                if op.output is None and self.semantics == "knossos":
                    return None  # knossos: a nil read is legal in every state
                return ModelOp((READ,), freeze(op.output), op.call_index, ret, True, op)
            return ModelOp(self._input(op), None, op.call_index, ret, True, op)
        # fail
        if f == "cas" and self.semantics == "strict":
            code = error_code(op.error)
            if code == PRECONDITION_FAILED:
                frm = self._input(op)[1]
                return ModelOp((DIFFERS, frm), None, op.call_index, ret, True, op)
            if code == KEY_DOES_NOT_EXIST:
                return ModelOp((ABSENT,), None, op.call_index, ret, True, op)
        return None

    def _input(self, op: Operation) -> Input:
        if op.f == "write":
            return (WRITE, freeze(op.value))
        if op.f == "append":
            return (APPEND, freeze(op.value))
        if op.f == "cas":
            v = op.value
            if not isinstance(v, (list, tuple)) or len(v) != 2:
                raise ModelError(f"history index {op.index}: cas value must be [from, to], got {v!r}")
            return (CAS, freeze(v[0]), freeze(v[1]))
        raise AssertionError(op.f)

    # -- shortcuts ----------------------------------------------------------

    def prepare(self, ops: Sequence[ModelOp], shortcuts: bool = True) -> Prepared:
        """Apply the sound shortcuts to one key's operations.

        - Info operations whose step never changes the state (a cas with
          ``from == to``) are dropped.
        - An info write or cas that stores a value nothing can observe is
          dropped, and such definite writes are flagged (see
          :func:`silent_writes`; keys without appends only).
        - With appends, info appends whose string no read contains are dropped.
        - Without appends, every observation is checked against the writes
          (:func:`find_stale_read`): a value never written, or one certainly
          overwritten before the read began, is a violation found without search.

        Args:
            ops: One key's model operations.
            shortcuts: False keeps every operation and skips the stale-read
                check (to test the search on its own).

        Returns:
            The operations to search, and a violation or a pruning oracle.
        """
        has_append = any(o.input[0] == APPEND for o in ops)
        kept = [o for o in ops if o.definite or not self.is_observation(o.input)]
        silent = [False] * len(kept)
        violation = None
        if shortcuts and not has_append:
            flags = silent_writes(kept)
            pairs = [(o, f) for o, f in zip(kept, flags) if o.definite or not f]
            kept, silent = [o for o, _ in pairs], [f for _, f in pairs]
            violation = find_stale_read(kept, self.init())
        if shortcuts and has_append:
            kept = _drop_unobserved_appends(kept)
            silent = [False] * len(kept)
        reach = None
        if has_append and isinstance(self.init(), (str, type(None))):
            reach = _append_reach
        return Prepared(kept, len(ops) - len(kept), violation, reach, tuple(silent))


def _drop_unobserved_appends(ops: list[ModelOp]) -> list[ModelOp]:
    """Drop info appends whose string no read (or cas) ever contains.

    If one took effect, everything after it until the next write would contain
    its string; nothing does, so a linearization without it exists as well.
    """
    seen: set[str] = set()
    for o in ops:
        tag = o.input[0]
        for v in ((o.output,) if tag == READ and o.definite else
                  o.input[1:2] if tag in (CAS, DIFFERS) else ()):
            if isinstance(v, str):
                seen.add(v)
            elif v is not None:
                return ops  # not strings: keep everything
    # Keep only strings that are not a prefix of another one (a prefix of some
    # string is a prefix of its successor in sorted order).
    ordered = sorted(seen)
    maximal = [a for a, b in zip(ordered, ordered[1:] + [""]) if not b.startswith(a)]
    corpus = "\x00".join(maximal)
    return [o for o in ops if o.definite or o.input[0] != APPEND
            or not isinstance(o.input[1], str) or o.input[1] in corpus]


def _append_reach(state: State, target: Output) -> bool:
    """Can appends alone turn ``state`` into ``target``?"""
    if state is None:
        return True
    return isinstance(target, str) and isinstance(state, str) and target.startswith(state)


def silent_writes(ops: Sequence[ModelOp]) -> list[bool]:
    """Which writes (and info cas) store a value nothing can observe.

    A write of ``v`` invoked at ``c`` is *silent* when no op that returns after
    ``c`` could see ``v``: no definite read of ``v``, no cas (any outcome) from
    ``v``, no failed-cas "differs" observation whose ``from`` is not ``v``, and,
    for ``v = None``, no "absent" observation. Only meaningful for keys without
    appends. In a linearization, whatever follows a silent write before the
    next write cannot observe it, so it can be dropped (info) or placed right
    before any blind write (definite), see :class:`maelstrom.checker.KeySearch`.

    Returns:
        One flag per op.
    """
    seen_until: dict[Any, int] = {}
    differs: dict[Any, int] = {}
    for o in ops:
        tag = o.input[0]
        if tag == READ and o.definite:
            v = o.output
        elif tag == CAS:
            v = o.input[1]
        elif tag == ABSENT:
            v = None
        elif tag == DIFFERS:
            if differs.get(o.input[1], -1) < o.ret:
                differs[o.input[1]] = o.ret
            continue
        else:
            continue
        if seen_until.get(v, -1) < o.ret:
            seen_until[v] = o.ret
    # The two latest "differs" returns with distinct ``from`` values.
    top = sorted(differs.items(), key=lambda kv: -kv[1])[:2]
    flags = []
    for o in ops:
        tag = o.input[0]
        if tag == WRITE or (tag == CAS and not o.definite):
            v = o.input[-1]
            latest_differs = next((r for frm, r in top if frm != v), -1)
            flags.append(seen_until.get(v, -1) < o.call and latest_differs < o.call)
        else:
            flags.append(False)
    return flags


def find_stale_read(ops: Sequence[ModelOp], initial: State) -> Violation | None:
    """Find an observation no linearization can explain, in O(n log n), without search.

    Only for keys without appends. A *pin* is a definite op that fixes the
    state right after its linearization point: an ok read or write, an ok
    cas (to its ``to``), a failed cas that saw the key absent. An
    *observation* fixes the state right before its point: ok reads, ok cas
    (its ``from``), absent-observations. For an observation R of value v,
    each candidate producer P (an ok write or cas storing v, other than R,
    invoked before R returned; or the initial state when it is v) is
    *overwritten* when some pin W leaving a value other than v lies strictly
    between them in real time (P returned before W was invoked and W returned
    before R was invoked). If every producer is overwritten, and no info op
    storing v was invoked before R returned, R cannot be linearized. (Proof:
    in a linearization, take the last producer of v before R; the state is v
    from it to R, so every pin between them in the order leaves v; W would
    have to lie between them.)

    Args:
        ops: One key's model operations.
        initial: The key's initial state.

    Returns:
        The first such observation (by invocation), or None.
    """
    pins: list[tuple[int, int, Any, ModelOp]] = []   # (call, ret, value after, op)
    observations: list[tuple[ModelOp, Any]] = []
    info_first_call: dict[Any, int] = {}
    for o in ops:
        tag = o.input[0]
        if not o.definite:
            v = o.input[-1]
            if info_first_call.get(v, RET_NEVER) > o.call:
                info_first_call[v] = o.call
            continue
        if tag == READ:
            pins.append((o.call, o.ret, o.output, o))
            observations.append((o, o.output))
        elif tag == WRITE:
            pins.append((o.call, o.ret, o.input[1], o))
        elif tag == CAS:
            pins.append((o.call, o.ret, o.input[2], o))
            observations.append((o, o.input[1]))
        elif tag == ABSENT:
            pins.append((o.call, o.ret, None, o))
            observations.append((o, None))
    if not observations:
        return None
    pins.sort(key=lambda p: p[0])
    calls = [p[0] for p in pins]
    n = len(pins)
    # Over pins[i:]: the earliest return (r, index, value) and the earliest return
    # among pins of another value, so "earliest pin of a value != v" is O(1).
    none: tuple[int, int, Any] = (RET_NEVER, -1, NOT_A_VALUE)
    suffix: list[tuple[tuple[int, int, Any], tuple[int, int, Any]]] = [(none, none)] * (n + 1)
    for i in range(n - 1, -1, -1):
        b1, b2 = suffix[i + 1]
        c = (pins[i][1], i, pins[i][2])
        if c[0] < b1[0]:
            b1, b2 = c, (b1 if b1[2] != c[2] else b2)
        elif c[2] != b1[2] and c[0] < b2[0]:
            b2 = c
        suffix[i] = (b1, b2)
    # Producers (writes, ok cas) of each value, by call, with running top-2 maxima of ret.
    by_value: dict[Any, list[int]] = defaultdict(list)
    for i, p in enumerate(pins):
        if p[3].input[0] in (WRITE, CAS):
            by_value[p[2]].append(i)
    top2: dict[Any, tuple[list[int], list[tuple[tuple[int, int], tuple[int, int]]]]] = {}
    for v, idxs in by_value.items():
        vcalls = [pins[i][0] for i in idxs]
        best: list[tuple[tuple[int, int], tuple[int, int]]] = []
        b1, b2 = (-1, -1), (-1, -1)
        for i in idxs:
            cand = (pins[i][1], i)
            if cand > b1:
                b1, b2 = cand, b1
            elif cand > b2:
                b2 = cand
            best.append((b1, b2))
        top2[v] = (vcalls, best)

    stored = {p[2] for p in pins if p[3].input[0] in (WRITE, CAS)} | set(info_first_call)
    stored.add(initial)
    for o, v in sorted(observations, key=lambda x: x[0].call):
        if v not in stored:
            return Violation(o, f"observed {_fmt(v)}, a value no operation wrote", (), o.ret)
        if info_first_call.get(v, RET_NEVER) < o.ret:
            continue  # an info op may have stored v at any time: no conclusion
        best_ret, best_op = (-1, None) if v == initial else (-2, None)
        entry = top2.get(v)
        if entry is not None:
            vcalls, best = entry
            k = bisect.bisect_left(vcalls, o.ret) - 1
            if k >= 0:
                (r1, i1), (r2, i2) = best[k]
                if pins[i1][3] is o:
                    r1, i1 = r2, i2
                if i1 >= 0 and r1 > best_ret:
                    best_ret, best_op = r1, pins[i1][3]
        if best_ret == -2:
            return Violation(o, f"observed {_fmt(v)}, which was only written after this "
                                f"operation returned", (), o.ret)
        b1, b2 = suffix[bisect.bisect_right(calls, best_ret)]
        w_ret, w_idx, _ = b1 if b1[2] != v else b2
        if w_ret < o.call:
            w = pins[w_idx][3]
            what = (f"{_fmt(v)} (last stored by index {best_op.source.index})"
                    if best_op is not None else f"{_fmt(v)} (the initial value)")
            return Violation(o, f"stale: observed {what}, but index {w.source.index} certainly "
                                f"set the key after that and before this operation began",
                             tuple(x for x in (best_op, w) if x is not None), o.ret)
    return None


def cas_register(initial: Any = None, semantics: str = "strict") -> RegisterModel:
    """Maelstrom lin-kv's model: read, write and cas on registers, per key.

    Args:
        initial: Every key's initial value (``None`` = absent).
        semantics: ``"strict"`` or ``"knossos"``.

    Returns:
        The model.
    """
    return RegisterModel("cas-register", initial, allow_append=False, semantics=semantics)


def kv(initial: Any = None, semantics: str = "strict") -> RegisterModel:
    """A map of string registers with read, write, cas and append, per key.

    Args:
        initial: Every key's initial value (``None`` = absent; ``""`` for
            porcupine-style key-value histories).
        semantics: ``"strict"`` or ``"knossos"``.

    Returns:
        The model.
    """
    return RegisterModel("kv", initial, allow_append=True, semantics=semantics)


MODEL_NAMES: Final[tuple[str, ...]] = ("cas-register", "kv")


def get_model(name: str, initial: Any = None, semantics: str = "strict") -> RegisterModel:
    """Build a model by name.

    Args:
        name: One of :data:`MODEL_NAMES`.
        initial: Every key's initial value.
        semantics: One of :data:`SEMANTICS`.

    Returns:
        The model.

    Raises:
        ValueError: Unknown name or semantics.
    """
    if name == "cas-register":
        return cas_register(initial, semantics)
    if name == "kv":
        return kv(initial, semantics)
    raise ValueError(f"unknown model {name!r}; choose one of {', '.join(MODEL_NAMES)}")
