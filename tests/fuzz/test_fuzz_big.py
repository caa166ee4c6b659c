"""The read-only commands fuzzed over big values: no range materialised, no quadratic step.

Both servers hold the set-up's key names with `BIG_N` elements each (a string
of 10 x `BIG_N` bytes), loaded once; every read-only command of the table is
then fuzzed against them as in test_fuzz_commands.py, replies compared and
each answered within the fuzz's deadline (`pair.REPLY_TIMEOUT_S`). Redis
answers these in milliseconds; a command that builds a whole range to clip
it, or walks a collection once per element, misses the deadline here long
before a user notices it in production.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crdt.commands import TABLE
from crdt.table import Command
from tests.fuzz.grammar import argvs, big_setup
from tests.fuzz.pair import Case, Pair, servers
from tests.fuzz.rules import NOT_FUZZED

pytestmark = pytest.mark.redis

BIG_N = 100_000
EXAMPLES_PER_COMMAND = int(os.environ.get("GYRE_FUZZ_BIG_EXAMPLES", "5"))

# Redis itself does unbounded work on these over big values (LCS of two 1 MB strings
# is a 10^12-cell table), so they are not sent here.
UNBOUNDED_IN_REDIS = {"lcs": "O(N*M) time and memory in Redis too"}
# The order (or the pick) comes from a big hash table, which differs between the
# servers (README, "Where gyrekv differs"): compared by shape.
HASH_TABLE_ORDER = frozenset({"sort_ro", "sort"})


def read_commands() -> list[Command]:
    return [c for c in TABLE.by_name.values()
            if c.handler is not None and "readonly" in c.flags and c.name not in NOT_FUZZED
            and c.name not in UNBOUNDED_IN_REDIS]


@pytest.fixture(scope="module")
def pair() -> Iterator[Pair]:
    with servers() as (gyre_port, redis_port):
        p = Pair(gyre_port, redis_port)
        for side in (p.ours, p.theirs):
            side.call_many([[b"FLUSHALL"], *big_setup(BIG_N)], timeout_s=60.0)
        yield p
        p.close()


def check_reads(pair: Pair, cmd: Command, examples: int) -> None:
    @settings(max_examples=examples, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(argvs(cmd), st.booleans())
    def run(argv: list[bytes], in_multi: bool) -> None:
        commands = [[b"MULTI"], argv, [b"EXEC"]] if in_multi else [argv]
        pair.run_reads(Case(commands, setup="big"), HASH_TABLE_ORDER)

    run()


@pytest.mark.parametrize("name", [c.name for c in read_commands()])
def test_fuzz_reads_over_big_values(pair: Pair, name: str) -> None:
    check_reads(pair, TABLE.by_name[name], EXAMPLES_PER_COMMAND)
