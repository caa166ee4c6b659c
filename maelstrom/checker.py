"""The linearizability search: Wing-Gong-Lowe with memoisation, per key.

Strategy.

1. **Per-key decomposition.** The model partitions the history per key
   (P-compositionality): the history is linearizable iff every key's
   sub-history is, so each key is searched on its own.
2. **Shortcuts before search** (:meth:`RegisterModel.prepare`): info reads and
   failed ops that took no effect are gone already; info writes nobody could
   observe are dropped; a read of a value no one wrote, or of a value
   certainly overwritten before the read began, fails the key at once.
3. **The search** is Lowe's improvement of Wing & Gong's algorithm, as in
   porcupine: a depth-first search over configurations (the set of operations
   linearized so far, the model state), memoising every configuration
   reached so a subtree is never explored twice. An operation is a candidate
   when it is invoked before the earliest return among the operations not yet
   linearized. Instead of porcupine's doubly linked entry list we keep the
   definite operations sorted by invocation and the linearized set as two
   bitsets relative to the first unlinearized operation (one in invocation
   order, one in return order), so a step scans only the concurrent window
   and the memo key stays small however long the history is. The lift/unlift
   of the list becomes pushing/popping a frame that holds the previous
   configuration.
4. **Reductions inside the search**, all exact:

   - *Observations first.* An enabled read-like op (read, failed-cas
     observation) changes nothing, so it can always be linearized at once: if
     any is enabled, all enabled ones are linearized together as the only
     move (no branching).
   - *Info ops* have no return, so they never block; the search succeeds as
     soon as every definite op is linearized (the info ops left over never
     took effect, or took effect at the end). Identical pending info ops are
     interchangeable, so only the earliest unused one of each kind is a
     candidate, and one whose step would not change the state is skipped.
   - *Lazy info ops.* An info op is tried only where it matters: when its
     new state is exactly what a waiting op (or some info cas) needs, or when
     a waiting failed-cas observation ("saw not ``from``") is blocked. Any
     linearization can be rearranged so that every info op that took effect
     is at such a point (move it later, or drop it).
   - *Silent writes* (writes of a value nothing can observe, see
     :func:`maelstrom.models.silent_writes`) are never chosen on their own
     unless their return blocks: they ride along with the next blind write
     that is linearized (in any linearization they can be moved right before
     it), which removes the exponential choice of where to put them.
   - *No abandoning a needed value.* A move that leaves state ``s`` while an
     unlinearized op (even one not invoked yet) needs ``s`` and no
     unlinearized op can store ``s`` again leads nowhere, so it is pruned.
     With unique written values this detects a wrong guess as soon as it is
     made rather than when some later return blocks.
   - *Candidate order*: ops whose new state is what a waiting read or cas
     needs come first, then definite ops by return, then info ops.
   - In keys with appends, a state that is not a prefix of what a pending
     read saw is pruned, unless a write left unlinearized could restart
     the value from a prefix of it.

5. **Time budgets.** Each key's search is resumable. Keys are visited
   round-robin, smallest first, with a step budget per visit that doubles
   each round, so a hard key cannot starve the others; the first key found
   illegal ends the check; past the overall time limit the verdict is
   "unknown".

On failure the result has the longest linearizable prefix the search found
(the partial linearization with most operations) and the operations that
were concurrent where it got stuck. The only clock is the one passed in
(for the time limit); nothing else here is time- or random-dependent.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

from maelstrom.history import Operation
from maelstrom.models import (ANY_VALUE, CAS, NOT_A_VALUE, READ, RET_NEVER, UNKNOWN, WRITE, ModelOp,
                              Prepared, RegisterModel, State, Violation)

Verdict = bool | Literal["unknown"]

#: Steps a key gets on its first visit; each round doubles it, up to the cap.
SLICE_STEPS_INITIAL: Final[int] = 2_000
SLICE_STEPS_MAX: Final[int] = 500_000
#: How often (in steps) a running slice looks at the clock.
CLOCK_CHECK_STEPS: Final[int] = 512
#: Step budget for re-deriving a prefix after a shortcut found a violation.
VIOLATION_PREFIX_STEPS: Final[int] = 20_000
#: Operations listed in a failure report, at most.
REPORT_OPS_MAX: Final[int] = 50

Clock = Callable[[], float]


def no_clock() -> float:
    """The clock of a check without a time limit: it never moves (and "seconds" reads 0)."""
    return 0.0
# A move: (definite op ids, new state, info class or -1).
_Move = tuple[tuple[int, ...], State, int]


@dataclass(frozen=True, slots=True)
class _Stuck:
    """The deepest dead end of a search: the longest partial linearization."""

    prefix: tuple[ModelOp, ...]
    state: State
    blocking: ModelOp | None
    concurrent: tuple[ModelOp, ...]


class KeySearch:
    """A resumable WGL search over one key's operations.

    Args:
        key: The key (for reports).
        model: The model.
        prepared: The key's operations after :meth:`RegisterModel.prepare`.
    """

    def __init__(self, key: Hashable, model: RegisterModel, prepared: Prepared,
                 prune_abandon: bool = True, record: bool = True) -> None:
        self.key = key
        self.model = model
        self.dropped = prepared.dropped
        self.violation: Violation | None = prepared.violation
        self._reach = prepared.reach
        definite = sorted((o for o in prepared.ops if o.definite), key=lambda o: o.call)
        infos = sorted((o for o in prepared.ops if not o.definite), key=lambda o: o.call)
        self.ops = definite
        self.op_count = len(prepared.ops)
        m = self.m = len(definite)
        self._inp = [o.input for o in definite]
        self._out = [o.output for o in definite]
        self._obs = [model.is_observation(o.input) for o in definite]
        self._want = [model.wanted(o.input, o.output) for o in definite]
        self._blind = [model.is_blind(o.input) for o in definite]
        silent_ids = {id(o) for o, f in zip(prepared.ops, prepared.silent) if f}
        self._silent = [id(o) in silent_ids for o in definite]
        calls = self._calls = [o.call for o in definite]
        order = sorted(range(m), key=lambda i: definite[i].ret)
        self._order = order
        rank = [0] * m
        for r, i in enumerate(order):
            rank[i] = r
        self._rank = rank
        self._limit = [definite[i].ret for i in order]
        self._hi = [bisect.bisect_left(calls, definite[i].ret) for i in order]
        # Info ops grouped by input; classes in order of their first invocation.
        classes: dict[Any, list[ModelOp]] = {}
        for o in infos:
            classes.setdefault(o.input, []).append(o)
        self._cinp = list(classes)
        self._cblind = [model.is_blind(inp) for inp in self._cinp]
        self._cops = list(classes.values())
        self._ccalls = [[o.call for o in lst] for lst in self._cops]
        self._cstart = [c[0] for c in self._ccalls]
        bit = 0
        cbits: list[list[int]] = []
        for lst in self._cops:
            cbits.append([1 << (bit + k) for k in range(len(lst))])
            bit += len(lst)
        self._cbits = cbits
        # Values still needed by unlinearized observations, and ops that can still store them.
        nav = NOT_A_VALUE
        self._prod = [model.produces(o.input) for o in definite]
        self._cprod = [model.produces(inp) for inp in self._cinp]
        self._track = all(p is not ANY_VALUE for p in (*self._prod, *self._cprod))
        self._prune_abandon = prune_abandon and self._track
        self._record = record
        self._need_left: dict[Any, int] = {}
        self._prod_left: dict[Any, int] = {}
        # Counts are kept for every concrete value (appends store no single value).
        for w in self._want:
            if w is not nav:
                self._need_left[w] = self._need_left.get(w, 0) + 1
        for p in self._prod:
            if p is not nav and p is not ANY_VALUE:
                self._prod_left[p] = self._prod_left.get(p, 0) + 1
        for p, lst in zip(self._cprod, self._cops):
            if p is not nav and p is not ANY_VALUE:
                self._prod_left[p] = self._prod_left.get(p, 0) + len(lst)
        # Indexes of info classes for lazy info moves.
        self._cfroms = {inp[1] for inp in self._cinp if inp[0] == CAS}
        self._cwrite_by_value: dict[Any, list[int]] = {}
        self._ccas_by_from: dict[Any, list[int]] = {}
        self._calways: list[int] = []
        for c, inp in enumerate(self._cinp):
            if inp[0] == CAS:
                self._ccas_by_from.setdefault(inp[1], []).append(c)
            elif inp[0] == WRITE:
                self._cwrite_by_value.setdefault(inp[1], []).append(c)
                if inp[1] in self._cfroms:
                    self._calways.append(c)
            else:
                self._calways.append(c)
        # Pending reads that bound an append-only key: by invocation, and the last to return.
        self._read_calls: list[int] = []
        self._read_ids: list[int] = []
        self._last_read = -1
        if self._reach is not None:
            for i in range(m):
                if self._inp[i][0] == READ:
                    self._read_calls.append(calls[i])
                    self._read_ids.append(i)
            if self._read_ids:
                self._last_read = max(self._read_ids, key=lambda i: definite[i].ret)
        # Search state (kept between slices).
        self.steps = 0
        self.verdict: Verdict = "unknown"
        self._first = self._rel = self._rfirst = self._rrel = self._infobits = 0
        self._state: State = model.init()
        self._used = [0] * len(self._cops)
        self._stack: list[tuple[Any, ...]] = []
        self._path: list[tuple[_Move, int]] = []
        self._nlin = 0
        self._cache: set[tuple[int, int, int, State]] = set()
        self._cands: list[_Move] | None = None
        self._idx = 0
        self._best_nlin = -1
        self._best_raw: tuple[Any, ...] | None = None
        self.finished = m == 0
        if self.finished:
            self.verdict = True

    # -- candidates ----------------------------------------------------------

    def _expand(self, first: int, rel: int, rfirst: int, state: State) -> list[_Move]:
        step = self.model.step
        inp, out, obs = self._inp, self._out, self._obs
        limitpos = self._limit[rfirst]
        silent = self._silent
        blocking = self._order[rfirst]
        forced: list[int] = []
        changers: list[int] = []
        waiting: list[int] = []
        absorb: list[int] = []
        for i in range(first, self._hi[rfirst]):
            if (rel >> (i - first)) & 1:
                continue
            if obs[i]:
                if step(state, inp[i], out[i])[0]:
                    forced.append(i)
                else:
                    waiting.append(i)
            elif silent[i]:
                # Nothing can observe it: it rides along with any blind write (see below),
                # and goes alone only when its return blocks everything else.
                absorb.append(i)
                if i == blocking:
                    changers.append(i)
            else:
                changers.append(i)
        if forced:
            return [(tuple(forced), state, -1)]
        scored: list[tuple[int, int, _Move]] = []
        blind = self._blind
        for i in changers:
            ok, ns = step(state, inp[i], out[i])
            if ok:
                ids = (i, *(a for a in absorb if a != i)) if absorb and blind[i] else (i,)
                scored.append((0, self._rank[i], (ids, ns, -1)))
            else:
                waiting.append(i)
        if self._cops:
            self._info_moves(scored, waiting, absorb, state, limitpos)
        if not scored:
            return []
        if self._prune_abandon:
            need_s = self._need_left.get(state, 0)
            if need_s:
                scored = self._abandon_filter(scored, state, need_s)
        primary: Any = NOT_A_VALUE
        if self._reach is not None:
            scored, primary = self._reach_filter(scored, waiting, first, rel, limitpos)
        if len(scored) > 1:
            want = self._want
            wanted = {want[j] for j in waiting}
            if primary is NOT_A_VALUE:
                scored.sort(key=lambda s: (s[2][1] not in wanted, s[0], s[1]))
            else:
                reach = self._reach
                assert reach is not None
                scored.sort(key=lambda s: (s[2][1] not in wanted and
                                           not (s[2][1] is not None and reach(s[2][1], primary)),
                                           s[0], s[1]))
        return [s[2] for s in scored]

    def _info_moves(self, scored: list[tuple[int, int, _Move]], waiting: list[int],
                    absorb: list[int], state: State, limitpos: int) -> None:
        """Append the info moves worth trying now to ``scored``.

        Lazy info ops (when values are tracked): an info op is tried only if its
        new state is wanted by a waiting op or by some info cas, or if a waiting
        read-like op that wants no single value ("differs") is blocked. Any
        linearization can be rearranged into one where every info op that took
        effect sits at such a point: move it later, up to the first op that
        cannot happen without it, or drop it if there is none.
        """
        step = self.model.step
        inp, out, obs, want = self._inp, self._out, self._obs, self._want
        used, ccalls, cinp = self._used, self._ccalls, self._cinp
        wanted: set[Any] | None = None
        weak: list[int] = []
        if self._track:
            weak = [j for j in waiting if obs[j] and want[j] is NOT_A_VALUE]
        if not self._track or weak:
            classes: Sequence[int] = range(len(cinp))
        else:
            wanted = {want[j] for j in waiting}
            pick: set[int] = set(self._calways)
            for v in wanted:
                pick.update(self._cwrite_by_value.get(v, ()))
            pick.update(self._ccas_by_from.get(state, ()))
            classes = sorted(pick)
        cstart = self._cstart
        for c in classes:
            if cstart[c] >= limitpos:
                if wanted is None:
                    break
                continue
            k = used[c]
            if k >= len(ccalls[c]) or ccalls[c][k] >= limitpos:
                continue
            ok, ns = step(state, cinp[c], UNKNOWN)
            if not ok or ns == state:
                continue
            if self._track and ns not in self._cfroms and (wanted is None or ns not in wanted):
                if wanted is None:
                    wanted = {want[j] for j in waiting}
                if ns not in wanted and not any(step(ns, inp[j], out[j])[0] for j in weak):
                    continue
            ids = tuple(absorb) if self._cblind[c] else ()
            scored.append((1, ccalls[c][k], (ids, ns, c)))

    def _abandon_filter(self, scored: list[tuple[int, int, _Move]], state: State,
                        need_s: int) -> list[tuple[int, int, _Move]]:
        """Drop moves that leave ``state`` while an unlinearized op still needs it
        and nothing left can store it again: no linearization goes through them."""
        want, prod, cprod = self._want, self._prod, self._cprod
        prod_s = self._prod_left.get(state, 0)
        kept = []
        for sc in scored:
            ids, ns, cls = sc[2]
            if ns != state:
                n = need_s - sum(1 for i in ids if want[i] == state)
                p = prod_s - sum(1 for i in ids if prod[i] == state)
                if cls >= 0 and cprod[cls] == state:
                    p -= 1
                if n > 0 and p <= 0:
                    continue
            kept.append(sc)
        return kept

    def _reach_filter(self, scored: list[tuple[int, int, _Move]], waiting: list[int], first: int,
                      rel: int, limitpos: int) -> tuple[list[tuple[int, int, _Move]], Any]:
        """Prune moves no pending read can follow; also return the read to aim for
        (the waiting read that returns first, else the next read), for ordering."""
        reach = self._reach
        assert reach is not None
        out, rank = self._out, self._rank
        reads = [j for j in waiting if self._inp[j][0] == READ]
        k = bisect.bisect_left(self._read_calls, limitpos)
        if k < len(self._read_ids):
            reads.append(self._read_ids[k])
        primary: Any = out[min(reads, key=rank.__getitem__)] if reads else NOT_A_VALUE
        # A read that no write invoked before it returned could restart from must
        # extend the new state.
        targets = [out[j] for j in reads if not self._restartable(j, first, rel)]
        lr = self._last_read
        if lr >= first and not (rel >> (lr - first)) & 1:
            t = out[lr]
            if not any(reach(w, t) for w, n in self._prod_left.items() if n > 0):
                targets.append(t)
        if not targets:
            return scored, primary
        return [s for s in scored if all(reach(s[2][1], t) for t in targets)], primary

    def _restartable(self, j: int, first: int, rel: int) -> bool:
        """Could an unlinearized write invoked before read ``j`` returned start its value?"""
        reach = self._reach
        assert reach is not None
        target, ret = self._out[j], self.ops[j].ret
        prod = self._prod
        for i in range(first, self._hi_of_pos(ret)):
            p = prod[i]
            if p is not NOT_A_VALUE and p is not ANY_VALUE and not (rel >> (i - first)) & 1 \
                    and reach(p, target):
                return True
        used, ccalls = self._used, self._ccalls
        for c, p in enumerate(self._cprod):
            if self._cstart[c] >= ret:
                break
            k = used[c]
            if p is not NOT_A_VALUE and p is not ANY_VALUE and k < len(ccalls[c]) \
                    and ccalls[c][k] < ret and reach(p, target):
                return True
        return False

    def _hi_of_pos(self, pos: int) -> int:
        return bisect.bisect_left(self._calls, pos)

    # -- the search ------------------------------------------------------------

    def run(self, max_steps: int, deadline: float = math.inf,
            clock: Clock = no_clock) -> Verdict:
        """Continue the search for at most ``max_steps`` steps or until ``deadline``.

        Args:
            max_steps: Step budget for this slice.
            deadline: Clock value after which the slice stops.
            clock: The clock ``deadline`` refers to.

        Returns:
            True (linearizable), False (not), or "unknown" (budget spent; call again).
        """
        if self.finished:
            return self.verdict
        m = self.m
        rank = self._rank
        cache = self._cache
        stack = self._stack
        path = self._path
        used = self._used
        cbits = self._cbits
        want, prod, cprod = self._want, self._prod, self._cprod
        need_left, prod_left = self._need_left, self._prod_left
        nav, anyv = NOT_A_VALUE, ANY_VALUE
        first, rel, rfirst, rrel = self._first, self._rel, self._rfirst, self._rrel
        infobits, state, nlin = self._infobits, self._state, self._nlin
        cands = self._cands
        idx = self._idx
        if cands is None:
            cands = self._expand(first, rel, rfirst, state)
            idx = 0
        steps = 0
        verdict: Verdict = "unknown"
        while True:
            if idx < len(cands):
                move = cands[idx]
                idx += 1
                steps += 1
                ids, ns, cls = move
                nrel, nrrel, nfirst, nrfirst, ninfo = rel, rrel, first, rfirst, infobits
                for i in ids:
                    nrel |= 1 << (i - first)
                    nrrel |= 1 << (rank[i] - rfirst)
                if nrel & 1:
                    t = (~nrel & (nrel + 1)).bit_length() - 1
                    nrel >>= t
                    nfirst += t
                if nrrel & 1:
                    t = (~nrrel & (nrrel + 1)).bit_length() - 1
                    nrrel >>= t
                    nrfirst += t
                k = 0
                if cls >= 0:
                    k = used[cls]
                    ninfo |= cbits[cls][k]
                ckey = (nfirst, nrel, ninfo, ns)
                if ckey in cache:
                    continue
                cache.add(ckey)
                stack.append((cands, idx, first, rel, rfirst, rrel, infobits, state, cls, nlin))
                path.append((move, k))
                first, rel, rfirst, rrel, infobits, state = nfirst, nrel, nrfirst, nrrel, ninfo, ns
                nlin += len(ids) + (cls >= 0)
                if cls >= 0:
                    used[cls] = k + 1
                for i in ids:
                    w = want[i]
                    if w is not nav:
                        need_left[w] -= 1
                    p = prod[i]
                    if p is not nav and p is not anyv:
                        prod_left[p] -= 1
                if cls >= 0:
                    p = cprod[cls]
                    if p is not nav and p is not anyv:
                        prod_left[p] -= 1
                if first == m:
                    verdict = True
                    break
                cands = self._expand(first, rel, rfirst, state)
                idx = 0
                if steps % CLOCK_CHECK_STEPS == 0 and (steps >= max_steps or clock() > deadline):
                    break
            else:
                if nlin > self._best_nlin and self._record:
                    self._best_nlin = nlin
                    self._best_raw = (path.copy(), first, rel, rfirst, state, used.copy())
                if not stack:
                    verdict = False
                    break
                cands, idx, first, rel, rfirst, rrel, infobits, state, cls, nlin = stack.pop()
                (ids, _, _), _ = path.pop()
                if cls >= 0:
                    used[cls] -= 1
                for i in ids:
                    w = want[i]
                    if w is not nav:
                        need_left[w] += 1
                    p = prod[i]
                    if p is not nav and p is not anyv:
                        prod_left[p] += 1
                if cls >= 0:
                    p = cprod[cls]
                    if p is not nav and p is not anyv:
                        prod_left[p] += 1
                steps += 1
                if steps % CLOCK_CHECK_STEPS == 0 and (steps >= max_steps or clock() > deadline):
                    break
        self.steps += steps
        if verdict != "unknown":
            self.finished = True
            self.verdict = verdict
            self._cache = set()
            self._stack = []
            self._cands = None
            return verdict
        self._first, self._rel, self._rfirst, self._rrel = first, rel, rfirst, rrel
        self._infobits, self._state, self._nlin = infobits, state, nlin
        self._cands, self._idx = cands, idx
        return "unknown"

    def _stuck(self, path: list[tuple[_Move, int]], first: int, rel: int, rfirst: int,
               state: State, used: list[int]) -> _Stuck:
        prefix: list[ModelOp] = []
        for (ids, _, cls), k in path:
            prefix.extend(self.ops[i] for i in ids)
            if cls >= 0:
                prefix.append(self._cops[cls][k])
        blocking = self.ops[self._order[rfirst]] if rfirst < self.m else None
        concurrent: list[ModelOp] = []
        limitpos = self._limit[rfirst] if rfirst < self.m else RET_NEVER
        hi = self._hi[rfirst] if rfirst < self.m else self.m
        for i in range(first, hi):
            if not (rel >> (i - first)) & 1:
                concurrent.append(self.ops[i])
        for c, lst in enumerate(self._cops):
            k = used[c]
            if k < len(lst) and lst[k].call < limitpos:
                concurrent.append(lst[k])
        concurrent.sort(key=lambda o: o.call)
        return _Stuck(tuple(prefix), state, blocking, tuple(concurrent))

    @property
    def stuck(self) -> _Stuck | None:
        """The deepest dead end seen so far (meaningful once the verdict is False)."""
        return self._stuck(*self._best_raw) if self._best_raw is not None else None


# -- reports ---------------------------------------------------------------------


def describe_op(model: RegisterModel, mop: ModelOp) -> dict[str, Any]:
    """A JSON-ready description of one operation in a failure report."""
    d = mop.source.to_dict()
    d["description"] = model.describe_operation(mop.input, mop.output)
    return d


def _failure(model: RegisterModel, key: Hashable, stuck: _Stuck | None,
             violation: Violation | None) -> dict[str, Any]:
    ops: list[ModelOp] = []
    if violation is not None:
        ops.extend(violation.involved)
    if stuck is not None:
        ops.extend(stuck.concurrent)
    if violation is not None and violation.op not in ops:
        ops.append(violation.op)
    seen: set[int] = set()
    uniq = []
    for o in sorted(ops, key=lambda o: o.call):
        if id(o) not in seen:
            seen.add(id(o))
            uniq.append(o)
    blocking = violation.op if violation is not None else (stuck.blocking if stuck else None)
    if violation is not None:
        reason = violation.reason
    elif blocking is not None:
        reason = (f"no order of the concurrent operations lets "
                  f"'{model.describe_operation(blocking.input, blocking.output)}' "
                  f"(index {blocking.source.index}) take effect before it returned")
    else:
        reason = "not linearizable"
    return {
        "key": key,
        "reason": reason,
        "op": describe_op(model, blocking) if blocking is not None else None,
        "ops": [describe_op(model, o) for o in uniq[:REPORT_OPS_MAX]],
        "ops_total": len(uniq),
        "prefix": [describe_op(model, o) for o in stuck.prefix] if stuck is not None else [],
        "state": model.describe_state(stuck.state) if stuck is not None else None,
    }


def _violation_search(key: Hashable, model: RegisterModel, prepared: Prepared,
                      violation: Violation, deadline: float, clock: Clock) -> _Stuck | None:
    """Search the part of the key that proves ``violation``, to find the longest prefix."""
    part = [o for o in prepared.ops if o.call < violation.before]
    sub = KeySearch(key, model, Prepared(part, 0, None, prepared.reach), prune_abandon=False)
    if sub.run(VIOLATION_PREFIX_STEPS, deadline, clock) is False:
        return sub.stuck
    return None


def _report_search(s: KeySearch, prepared: Prepared, deadline: float, clock: Clock
                   ) -> _Stuck | None:
    """Redo a failed search, recording its dead ends this time (copying the path at
    each one costs O(length), which the first pass avoids). First without the
    abandonment pruning, which stops wrong paths early and so hides how far a
    linearization really gets; if that does not finish in its budget, the same
    search as the first pass (which is sure to end the same way)."""
    if s._prune_abandon:
        sub = KeySearch(s.key, s.model, prepared, prune_abandon=False)
        if sub.run(VIOLATION_PREFIX_STEPS, deadline, clock) is False:
            return sub.stuck
    again = KeySearch(s.key, s.model, prepared)
    if again.run(SLICE_STEPS_MAX * 1000, deadline, clock) is False:
        return again.stuck
    return None


def check_operations(ops: Sequence[Operation], model: RegisterModel, *,
                     time_limit_s: float | None = None, clock: Clock | None = None,
                     shortcuts: bool = True) -> dict[str, Any]:
    """Check a paired history for linearizability against ``model``.

    Args:
        ops: Operations (from :meth:`History.operations`). Key-less ones are ignored.
        model: The model.
        time_limit_s: Give up with "unknown" after this many seconds (None: no limit).
        clock: The driver's monotonic clock in seconds, for the time limit and
            the ``seconds`` reported; required with a time limit (a core reads
            no clock of its own), `no_clock` without one.
        shortcuts: False disables the pre-search shortcuts (for testing the search).

    Returns:
        ``{"valid": True|False|"unknown", "model", "semantics", "seconds", "op_count",
        "keys": {key: {"valid", "ops", "dropped", "steps"}}, "failure": {...} | None}``.
        A failure has ``key``, ``reason``, ``op`` (the operation that could
        not be linearized), ``ops`` (those involved: concurrent with the
        point where the search got stuck), ``prefix`` (the longest
        linearizable prefix, in linearization order) and ``state`` (the
        model state after that prefix).

    Raises:
        maelstrom.models.ModelError: An operation the model cannot interpret.
    """
    if clock is None:
        if time_limit_s is not None:
            raise ValueError("a time limit needs the clock it is measured on")
        clock = no_clock
    start = clock()
    deadline = start + time_limit_s if time_limit_s is not None else math.inf
    searches: list[KeySearch] = []
    prepared_by_key: dict[int, Prepared] = {}
    op_count = 0
    for key, key_ops in model.partition(ops).items():
        encoded = [e for e in (model.encode(o) for o in key_ops) if e is not None]
        op_count += len(key_ops)
        prepared = model.prepare(encoded, shortcuts)
        s = KeySearch(key, model, prepared, record=False)
        prepared_by_key[id(s)] = prepared
        searches.append(s)
    failure: dict[str, Any] | None = None
    failed = next((s for s in searches if s.violation is not None), None)
    if failed is not None:
        assert failed.violation is not None
        failed.finished, failed.verdict = True, False
        stuck = _violation_search(failed.key, model, prepared_by_key[id(failed)], failed.violation,
                                  deadline, clock)
        failure = _failure(model, failed.key, stuck, failed.violation)
    pending = sorted((s for s in searches if not s.finished), key=lambda s: s.m)
    budget = SLICE_STEPS_INITIAL
    timed_out = False
    while pending and failure is None and not timed_out:
        still: list[KeySearch] = []
        for s in pending:
            if clock() > deadline:
                timed_out = True
                break
            v = s.run(budget, deadline, clock)
            if v is False:
                stuck = _report_search(s, prepared_by_key[id(s)], deadline, clock)
                failure = _failure(model, s.key, stuck, None)
                break
            if v == "unknown":
                still.append(s)
        pending = still
        budget = min(budget * 2, SLICE_STEPS_MAX)
    keys: dict[Hashable, dict[str, Any]] = {}
    for s in searches:
        entry: dict[str, Any] = {"valid": s.verdict if s.finished else "unknown",
                                 "ops": s.op_count, "dropped": s.dropped, "steps": s.steps}
        if not s.finished:
            entry["reason"] = "stopped at the first failure" if failure else "time limit"
        keys[s.key] = entry
    valid: Verdict
    if failure is not None:
        valid = False
    elif all(s.finished for s in searches):
        valid = True
    else:
        valid = "unknown"
    return {"valid": valid, "model": model.name, "semantics": model.semantics,
            "seconds": clock() - start, "op_count": op_count, "keys": keys, "failure": failure}
