"""The simulator's event queue: one-shot callbacks at integer virtual milliseconds.

Strategy: a heap of ``(time_ms, seq, callback)``; ``seq`` is a counter, so
events at the same millisecond run in the order they were scheduled and
never by comparing callbacks (object ids). Nothing here reads a clock. The
driver also polls two other sources of due work at each step, in a fixed
order (the network's queues, then the nodes' timers, then this queue); see
`maelstrom.sim.driver`.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable

Callback = Callable[[int], None]


class EventQueue:
    """One-shot callbacks ordered by ``(time_ms, scheduling order)``."""

    __slots__ = ("_heap", "_seq")

    def __init__(self) -> None:
        self._heap: list[tuple[int, int, Callback]] = []
        self._seq = 0

    def at(self, time_ms: int, callback: Callback) -> None:
        """Run ``callback(now_ms)`` once virtual time reaches ``time_ms``."""
        heapq.heappush(self._heap, (time_ms, self._seq, callback))
        self._seq += 1

    def next_time_ms(self) -> int | None:
        """When the earliest event is due, or None when the queue is empty."""
        return self._heap[0][0] if self._heap else None

    def run_due(self, now_ms: int) -> int:
        """Run every event due at or before ``now_ms`` (including ones they schedule for now).

        Returns:
            How many ran.
        """
        n = 0
        heap = self._heap
        while heap and heap[0][0] <= now_ms:
            _, _, callback = heapq.heappop(heap)
            callback(now_ms)
            n += 1
        return n

    def __len__(self) -> int:
        return len(self._heap)
