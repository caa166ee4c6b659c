"""The g-counter workload: pn-counter with negative adds filtered out and redrawn.

Maelstrom ``workload/g_counter.clj`` wraps the pn-counter generator in
``gen/filter``: a negative add is thrown away and the mix is drawn again,
so deltas are 0…4 and about ⅔ of the ops are reads.
"""

from __future__ import annotations

import random
from typing import ClassVar

from maelstrom.generator import Filtered, OpSource
from maelstrom.workloads.pn_counter import PnCounter


class GCounter(PnCounter):
    """A grow-only counter."""

    name: ClassVar[str] = "g-counter"

    def generator(self, rng: random.Random) -> OpSource:
        return Filtered(super().generator(rng), lambda op: op.f != "add" or op.value >= 0)
