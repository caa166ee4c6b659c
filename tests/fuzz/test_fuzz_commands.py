"""The command fuzz: every command of the table, generated arguments, gyre vs redis-server.

One test per command (and subcommand), so a new command is fuzzed as soon as
it is registered. Each example is a case: the set-up keyspace, then the
command with drawn arguments, sometimes inside MULTI/EXEC or followed by a
second command of any family; replies, liveness and the keyspace afterwards
must equal Redis's (see tests/fuzz/pair.py). The default run draws
`EXAMPLES_PER_COMMAND` examples a command (the same ones every time under
CI); `make fuzz` runs the campaign for as long as asked
(tests/fuzz/campaign.py) and writes what it finds to regressions.jsonl,
which tests/fuzz/test_fuzz_regressions.py replays.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from crdt.commands import TABLE
from crdt.table import Command
from tests.fuzz.grammar import argvs
from tests.fuzz.pair import Case, Pair, servers
from tests.fuzz.rules import NOT_FUZZED

pytestmark = pytest.mark.redis

EXAMPLES_PER_COMMAND = int(os.environ.get("GYRE_FUZZ_EXAMPLES", "10"))
# GYRE_FUZZ_SHRINK=0 reports the first failing case as drawn (a quicker survey).
SHRINK = os.environ.get("GYRE_FUZZ_SHRINK", "1") != "0"


def fuzzed_commands() -> list[Command]:
    """Every runnable row of the table that the fuzz may send (see `NOT_FUZZED`)."""
    return [c for c in TABLE.by_name.values()
            if c.handler is not None and c.name not in NOT_FUZZED]


def cases(cmd: Command, mixed: bool = False) -> st.SearchStrategy[Case]:
    """A case around `cmd`: alone, twice, or twice in a transaction.

    ``mixed``: the second command is any command of the table instead.
    """
    second = st.sampled_from(fuzzed_commands()).flatmap(argvs) if mixed else argvs(cmd)

    def build(main: list[bytes], wrap: int, other: list[bytes]) -> Case:
        if wrap == 0:
            return Case([[b"MULTI"], main, other, [b"EXEC"]])
        if wrap == 1:
            return Case([main, other])
        return Case([main])

    return st.builds(build, argvs(cmd), st.integers(0, 5), second)


@pytest.fixture(scope="module")
def pair() -> Iterator[Pair]:
    with servers() as (gyre_port, redis_port):
        p = Pair(gyre_port, redis_port)
        yield p
        p.close()


def check_command(pair: Pair, cmd: Command, examples: int, mixed: bool = False) -> None:
    """Run `examples` cases around `cmd`; raises `Mismatch` (shrunk) on a difference."""
    phases = list(Phase) if SHRINK else [Phase.explicit, Phase.reuse, Phase.generate]

    @settings(max_examples=examples, deadline=None, database=None, phases=phases,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                     HealthCheck.filter_too_much])
    @given(cases(cmd, mixed))
    def run(case: Case) -> None:
        pair.run(case)

    run()


@pytest.mark.parametrize("name", [c.name for c in fuzzed_commands()])
def test_fuzz_command(pair: Pair, name: str) -> None:
    check_command(pair, TABLE.by_name[name], EXAMPLES_PER_COMMAND)


def test_fuzz_commands_mixed(pair: Pair) -> None:
    """Any command after any other (MULTI/EXEC around them now and then)."""
    for cmd in fuzzed_commands()[::7]:
        check_command(pair, cmd, 4, mixed=True)


def test_every_command_is_fuzzed_or_says_why() -> None:
    runnable = {c.name for c in TABLE.by_name.values() if c.handler is not None}
    assert set(NOT_FUZZED) <= runnable, "a NOT_FUZZED entry names no command"
