#!/usr/bin/env python3
"""A test-only Maelstrom node serving lin-kv with `StrongKv` alone, no other handler.

nodes/replicated.py's strong mode wires the same `StrongKv` into the full node;
this one keeps the end-to-end tests of the CASPaxos store free of everything else.

Usage: ``python tests/nodes/strong_node.py [SEED]``; run it under ``gyre test``
with ``--bin <venv python> -- tests/nodes/strong_node.py``. Imports only
installed packages, so it runs from any working directory.
"""

from __future__ import annotations

import logging
import random
import secrets
import sys

import trio

from nodes.core import NodeCore
from nodes.stdio import run_stdio
from nodes.strong import StrongKv


class StrongTestNode(NodeCore):
    """A `NodeCore` with only the strong lin-kv handler installed."""

    def __init__(self, *, rng: random.Random, kv: StrongKv | None = None) -> None:
        super().__init__(rng=rng)
        self.kv = kv if kv is not None else StrongKv()
        self.kv.install(self)


def main() -> None:
    seed = int(sys.argv[1]) if len(sys.argv) > 1 else secrets.randbits(63)
    logging.basicConfig(stream=sys.stderr, level=logging.INFO,
                        format="%(asctime)s %(levelname).1s %(name)s %(message)s")
    logging.getLogger("gyre.node").info("strong test node: seed=%d", seed)
    trio.run(run_stdio, StrongTestNode(rng=random.Random(seed)))


if __name__ == "__main__":
    main()
