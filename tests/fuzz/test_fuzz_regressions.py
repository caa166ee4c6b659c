"""Every case the command fuzz ever found, replayed on gyre serve and redis-server.

`make fuzz` appends what it finds to regressions.jsonl (one case a line: the
set-up, the command lines, a note); this test replays each, so a difference
found once stays fixed. Cases fixed by hand are added the same way.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fuzz.pair import Case, Pair, servers

pytestmark = pytest.mark.redis

REGRESSIONS = Path(__file__).with_name("regressions.jsonl")


def load_cases() -> list[Case]:
    return [Case.from_json(line) for line in REGRESSIONS.read_text().splitlines() if line.strip()]


@pytest.fixture(scope="module")
def pair() -> Iterator[Pair]:
    with servers() as (gyre_port, redis_port):
        p = Pair(gyre_port, redis_port)
        yield p
        p.close()


@pytest.mark.parametrize("case", load_cases(), ids=lambda c: c.note[:60])
def test_regression(pair: Pair, case: Case) -> None:
    pair.run(case)


def test_cases_round_trip_through_json() -> None:
    for case in load_cases():
        assert Case.from_json(case.to_json()) == case
