"""Random scenarios of blocked clients and writers, run on gyre serve and redis-server alike.

Strategy: a seeded generator builds scenarios for `test_blocking_wake_redis.run`
(blockers of every blocking command, in db 0 or 1, on one or two of a few keys;
a writer whose steps are single commands, pipelines or MULTI/EXEC blocks of
pushes, pops, deletions, type changes, renames, copies, moves, stores and
SWAPDB), and each transcript must equal Redis's byte for byte. Fixed seeds, so
a failure replays; a few scenarios run by default, many more under ``slow``.

SWAPDB is generated only while every blocker waits on one key: after it Redis
serves the ready keys in its hash table's order, which a random seed picks
per process (we serve them in the order they were first blocked on).
"""

from __future__ import annotations

import random

import pytest

from tests.nodes.test_blocking_wake_redis import Command, Scenario, run

KEYS = ["a", "b", "c"]
DEFAULT_SCENARIOS = 25
SLOW_SCENARIOS = 400


def _blocker(rng: random.Random) -> tuple[list[Command], int]:
    """A blocker's commands, and how many keys it waits on."""
    keys = rng.sample(KEYS, rng.randint(1, 2))
    kind = rng.choice(["BLPOP", "BRPOP", "BZPOPMIN", "BZPOPMAX", "BLMOVE", "BLMPOP", "BZMPOP"])
    if kind == "BLMOVE":
        keys = keys[:1]
        cmd: Command = ["BLMOVE", keys[0], rng.choice([*KEYS, "d"]), "LEFT",
                        rng.choice(["LEFT", "RIGHT"]), 0]
    elif kind == "BLMPOP":
        cmd = ["BLMPOP", 0, len(keys), *keys, "LEFT", "COUNT", rng.randint(1, 3)]
    elif kind == "BZMPOP":
        cmd = ["BZMPOP", 0, len(keys), *keys, "MIN", "COUNT", rng.randint(1, 3)]
    else:
        cmd = [kind, *keys, 0]
    return ([["SELECT", 1], cmd] if rng.random() < 0.3 else [cmd]), len(keys)


def _write(rng: random.Random, swapdb: bool) -> Command:
    k, k2 = rng.choice(KEYS), rng.choice([*KEYS, "d"])
    choices: list[Command] = [
        ["RPUSH", k, *(f"v{rng.randint(0, 9)}" for _ in range(rng.randint(1, 3)))],
        ["LPUSH", k, f"v{rng.randint(0, 9)}"], ["ZADD", k, rng.randint(0, 5), f"m{rng.randint(0, 5)}"],
        ["ZINCRBY", k, 1, "m1"], ["DEL", k], ["SET", k, "s"], ["LPOP", k], ["ZPOPMIN", k],
        ["LMPOP", 1, k, "LEFT"], ["PEXPIRE", k, 0], ["RENAME", k, k2], ["RENAMENX", k, k2],
        ["COPY", k, k2, "REPLACE"], ["COPY", k, k2, "DB", 1], ["MOVE", k, 1],
        ["LMOVE", k, k2, "LEFT", "RIGHT"], ["RPOPLPUSH", k, k2], ["SORT", k, "ALPHA", "STORE", k2],
        ["ZUNIONSTORE", k2, 1, k], ["ZINTERSTORE", k2, 2, k, k2], ["ZRANGESTORE", k2, k, 0, -1],
        ["SELECT", rng.choice([0, 1])], ["FLUSHDB"],
    ]
    if swapdb:
        choices.append(["SWAPDB", 0, 1])
    return rng.choice(choices)


def scenario(rng: random.Random, name: str) -> Scenario:
    made = [_blocker(rng) for _ in range(rng.randint(1, 4))]
    blockers = [commands for commands, _ in made]
    swapdb = all(key_count == 1 for _, key_count in made)
    steps: list[list[Command]] = []
    for _ in range(rng.randint(1, 6)):
        shape = rng.random()
        if shape < 0.3:
            steps.append([["MULTI"], *(_write(rng, swapdb) for _ in range(rng.randint(1, 4))), ["EXEC"]])
        elif shape < 0.5:
            steps.append([_write(rng, swapdb) for _ in range(rng.randint(2, 4))])
        else:
            steps.append([_write(rng, swapdb)])
    for db in (0, 1):
        steps.append([["SELECT", db], *(["TYPE", k] for k in [*KEYS, "d"])])
    return Scenario(name, blockers, steps)


def _check(ports: tuple[int, int], seed: int, count: int) -> None:
    redis_port, gyre_port = ports
    rng = random.Random(seed)
    for i in range(count):
        sc = scenario(rng, f"seed {seed} #{i}")
        expected = run(redis_port, sc)
        assert run(gyre_port, sc) == expected, sc


@pytest.fixture
def ports(real_redis_port: int, gyre_port: int) -> tuple[int, int]:
    return real_redis_port, gyre_port


@pytest.mark.redis
def test_random_scenarios_as_redis(ports: tuple[int, int]) -> None:
    _check(ports, 7, DEFAULT_SCENARIOS)


@pytest.mark.redis
@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_many_random_scenarios_as_redis(ports: tuple[int, int], seed: int) -> None:
    _check(ports, seed, SLOW_SCENARIOS)
