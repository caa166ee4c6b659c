"""Op generation and scheduling for client threads: no I/O, no clock.

Strategy (maelstrom-spec.md section 6; Jepsen ``generator.clj`` and
``generator/interpreter.clj``): a workload supplies an `OpSource` that, asked
for one thread, returns the next `Op` for it or None when it has nothing for
that thread. The `Scheduler` owns everything Maelstrom's interpreter decides:

- threads ``0…c−1``; thread ``i`` always talks to ``nodes[i mod N]``;
- process ids: thread ``i`` starts as process ``i`` and moves to
  ``p + concurrency`` after each ``info`` completion;
- one request in flight per thread; ops go to free threads round-robin;
- a global rate: the gap after each op is uniform on ``[0, 2/rate)`` s
  (Jepsen ``stagger``), the first op at the start; ``rate = 0`` means no ops;
- the time limit, counted from the start of the main phase: after it no new
  op starts;
- the final phase: one op per thread from the workload's final source.

The driver calls `Scheduler.poll` whenever time passes or a thread frees up,
and `Scheduler.wake_ms` tells it when to poll next. Randomness comes from the
injected ``random.Random``; time from the ``now_ms`` the caller passes. The
same scheduler runs under the trio runner and under a simulator.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class Op:
    """What a client should do.

    Attributes:
        f: The function (``read``, ``write``, ``add``, ``broadcast``...).
        value: The invocation value.
        key: The key, for keyed workloads (lin-kv); None otherwise.
        final: A final-phase op (recorded as ``final: true``).
    """

    f: str
    value: Any = None
    key: Any = None
    final: bool = False


@dataclass(frozen=True, slots=True)
class GenContext:
    """What a source may know when asked for an op.

    Attributes:
        thread: The asking thread.
        process: Its current process id.
        processes: The current process of every thread, by thread.
        rng: The run's random source.
        now_ms: When the op is asked for (sources with their own pacing, e.g.
            kafka's staggered crashes, read it; most ignore it).
    """

    thread: int
    process: int
    processes: Sequence[int]
    rng: random.Random
    now_ms: float = 0.0


@dataclass(frozen=True, slots=True)
class Wait:
    """A final-phase source's answer "nothing yet, ask again at ``until_ms``" (Jepsen's
    pending ops; kafka paces its final polls this way)."""

    until_ms: float


class OpSource(Protocol):
    """A workload's op generator.

    A source may also define ``update(op, completion)`` (Jepsen
    ``gen/update``): the scheduler calls it with every completion of an op
    it handed out, so a source can follow what the system answered (kafka
    tracks the offsets sent and polled).
    """

    def op(self, ctx: GenContext) -> Op | Wait | None:
        """The next op for ``ctx.thread``, or None when it has nothing for that thread
        (a `Wait` only in the final phase)."""


@dataclass
class Repeat:
    """The same op, built fresh each time by ``make(rng)``."""

    make: Callable[[random.Random], Op]

    def op(self, ctx: GenContext) -> Op | None:
        return self.make(ctx.rng)


@dataclass
class Counter:
    """Ops whose value is 0, 1, 2… (``f`` fixed), shared by every thread."""

    f: str
    next_value: int = 0

    def op(self, ctx: GenContext) -> Op | None:
        v = self.next_value
        self.next_value += 1
        return Op(self.f, v)


@dataclass
class Mix:
    """Jepsen ``gen/mix``: each op comes from a uniformly chosen source."""

    sources: Sequence[OpSource]

    def op(self, ctx: GenContext) -> Op | None:
        return ctx.rng.choice(self.sources).op(ctx)


@dataclass
class Filtered:
    """Jepsen ``gen/filter``: draw again (up to ``tries``) until ``keep(op)``."""

    source: OpSource
    keep: Callable[[Op], bool]
    tries: int = 1000

    def op(self, ctx: GenContext) -> Op | None:
        for _ in range(self.tries):
            o = self.source.op(ctx)
            if o is None or self.keep(o):
                return o
        return None


@dataclass
class PerThreadOnce:
    """A final phase: exactly one op per thread, built by ``make(thread)``."""

    make: Callable[[int], Op]
    done: set[int] = field(default_factory=set)

    def op(self, ctx: GenContext) -> Op | None:
        if ctx.thread in self.done:
            return None
        self.done.add(ctx.thread)
        return self.make(ctx.thread)


@dataclass(frozen=True, slots=True)
class Invocation:
    """An op bound to a thread, ready to run.

    Attributes:
        thread: The worker thread.
        process: The process id to record.
        node: The node the thread talks to.
        op: The op.
        time_ms: When the scheduler handed it out.
    """

    thread: int
    process: int
    node: str
    op: Op
    time_ms: float


class Scheduler:
    """Hands ops to free client threads at a global staggered rate.

    Args:
        source: The main-phase op source.
        nodes: The node ids, in order (thread i talks to ``nodes[i % N]``).
        concurrency: Number of client threads.
        rate: Ops per second across all threads; 0 means no ops.
        time_limit_s: Length of the main phase.
        rng: The run's random source.
        start_ms: When the main phase starts.
    """

    def __init__(self, source: OpSource, nodes: Sequence[str], concurrency: int, rate: float,
                 time_limit_s: float, rng: random.Random, start_ms: float = 0.0) -> None:
        assert concurrency >= 1 and nodes, (concurrency, nodes)
        assert rate >= 0 and time_limit_s >= 0, (rate, time_limit_s)
        self.source = source
        self.nodes = list(nodes)
        self.concurrency = concurrency
        self.rate = rate
        self.rng = rng
        self.start_ms = start_ms
        self.end_ms = start_ms + time_limit_s * 1000.0
        self.processes = list(range(concurrency))
        self.busy: set[int] = set()
        self.next_ms = start_ms
        self._rr = 0
        self._exhausted: set[int] = set()
        self.final_source: OpSource | None = None

    def node_of(self, thread: int) -> str:
        """The node thread ``thread`` talks to."""
        return self.nodes[thread % len(self.nodes)]

    def _gap_ms(self) -> float:
        return self.rng.uniform(0, 2.0 / self.rate) * 1000.0

    def main_over(self, now_ms: float) -> bool:
        """No new main-phase op will start (time is up or the source is spent)."""
        return now_ms >= self.end_ms or len(self._exhausted) == self.concurrency

    def done(self, now_ms: float) -> bool:
        """The main phase is over and every thread is idle."""
        # `main_over`, inlined: the simulator asks this once per step
        return (now_ms >= self.end_ms or len(self._exhausted) == self.concurrency) and not self.busy

    def wake_ms(self, now_ms: float) -> float | None:
        """When `poll` may next return an op without a completion happening first."""
        if self.main_over(now_ms):
            return None
        if self.rate == 0:
            return self.end_ms  # Maelstrom: one thread sleeps out the time limit
        if len(self.busy) + len(self._exhausted - self.busy) >= self.concurrency:
            return self.end_ms  # wait for a completion, or the end of the phase
        return min(max(self.next_ms, now_ms), self.end_ms)

    def _free_threads(self) -> list[int]:
        order = [(self._rr + i) % self.concurrency for i in range(self.concurrency)]
        return [t for t in order if t not in self.busy and t not in self._exhausted]

    def poll(self, now_ms: float) -> Invocation | None:
        """The next op to start now, if the rate, the limit and a free thread allow one."""
        if self.main_over(now_ms) or self.rate == 0 or now_ms < self.next_ms:
            return None
        for t in self._free_threads():
            ctx = GenContext(t, self.processes[t], tuple(self.processes), self.rng, now_ms)
            op = self.source.op(ctx)
            assert not isinstance(op, Wait), "a Wait is for final-phase sources only"
            if op is None:
                self._exhausted.add(t)
                continue
            self.busy.add(t)
            self._rr = (t + 1) % self.concurrency
            self.next_ms = max(self.next_ms, now_ms) + self._gap_ms()
            return Invocation(t, self.processes[t], self.node_of(t), op, now_ms)
        return None

    def complete(self, thread: int, outcome: str, op: Op | None = None, completion: Any = None) -> None:
        """Free ``thread``; an ``info`` outcome moves it to process ``p + concurrency``.

        With ``op`` given, the sources that define ``update`` see ``(op, completion)``.
        """
        assert thread in self.busy, thread
        self.busy.discard(thread)
        if outcome == "info":
            self.processes[thread] += self.concurrency
        if op is not None:
            for source in (self.source, self.final_source):
                update = getattr(source, "update", None)
                if update is not None:
                    update(op, completion)

    def final_next(self, final: OpSource, thread: int, now_ms: float) -> Invocation | Wait | None:
        """The final phase, one thread at a time: its next op, a `Wait`, or None when it is done.

        Sources with one op per thread (`PerThreadOnce`) end after one op;
        kafka's runs crash, assign and polls until it has caught up.
        """
        assert thread not in self.busy, thread
        self.final_source = final
        ctx = GenContext(thread, self.processes[thread], tuple(self.processes), self.rng, now_ms)
        op = final.op(ctx)
        if op is None or isinstance(op, Wait):
            return op
        self.busy.add(thread)
        return Invocation(thread, self.processes[thread], self.node_of(thread), op, now_ms)

    def final_invocations(self, final: OpSource, now_ms: float) -> list[Invocation]:
        """One op per thread from the final source (threads must be idle)."""
        assert not self.busy, self.busy
        out = []
        for t in range(self.concurrency):
            ctx = GenContext(t, self.processes[t], tuple(self.processes), self.rng, now_ms)
            op = final.op(ctx)
            if op is not None and not isinstance(op, Wait):
                self.busy.add(t)
                out.append(Invocation(t, self.processes[t], self.node_of(t), op, now_ms))
        return out


def parse_concurrency(text: str | int, node_count: int) -> int:
    """``--concurrency``: an int, or ``Kn`` meaning K × node count.

    Raises:
        ValueError: Not a positive int or ``Kn``.
    """
    s = str(text).strip()
    try:
        value = int(s[:-1] or "1") * node_count if s.endswith("n") else int(s)
    except ValueError:
        raise ValueError(f"concurrency must be an integer or Kn (e.g. 2n), not {text!r}") from None
    if value < 1:
        raise ValueError(f"concurrency must be at least 1, not {text!r}")
    return value
