"""Unit tests of crdt/commands/memory.py: MEMORY USAGE's estimates of gyrekv's own memory, and the rest."""

from __future__ import annotations

import sys

import pytest

from tests.helpers import EngineBox, SYNTAX


@pytest.fixture
def box() -> EngineBox:
    return EngineBox()


def test_strings_count_key_value_and_keyspace_slot(box: EngineBox) -> None:
    box("SET", "k", "x" * 1000)
    small = box("MEMORY", "USAGE", "k")
    assert small >= sys.getsizeof(b"k") + sys.getsizeof(b"x" * 1000)
    box("SET", "k", "x" * 5000)
    assert box("MEMORY", "USAGE", "k") - small == 4000
    box("INCR", "n")
    assert box("MEMORY", "USAGE", "n") < small


@pytest.mark.parametrize("fill", [
    ("RPUSH", "c"), ("SADD", "c"), ("ZADD", "c", "score"), ("HSET", "c", "value"),
])
def test_collections_grow_with_their_elements(box: EngineBox, fill: tuple[str, ...]) -> None:
    def add(i: int) -> None:
        member = f"member:{i:06d}"
        if fill[-1] == "score":
            box("ZADD", "c", i, member)
        elif fill[-1] == "value":
            box("HSET", "c", member, "v")
        else:
            box(fill[0], "c", member)

    add(0)
    one = box("MEMORY", "USAGE", "c")
    for i in range(1, 1000):
        add(i)
    thousand = box("MEMORY", "USAGE", "c")
    # Each element adds at least its own bytes object; the container is counted once.
    assert thousand - one >= 999 * sys.getsizeof(b"member:000000")
    assert box("MEMORY", "USAGE", "c", "SAMPLES", 0) > 0


def test_sampling_extrapolates_from_the_first_elements(box: EngineBox) -> None:
    box("RPUSH", "l", "a" * 1000, *(["b"] * 99))
    sampled_one = box("MEMORY", "USAGE", "l", "SAMPLES", 1)
    every = box("MEMORY", "USAGE", "l", "SAMPLES", 0)
    assert sampled_one > every  # the big first element taken as typical
    assert box("MEMORY", "USAGE", "l", "SAMPLES", 100) == every


def test_expired_keys_still_count_and_missing_ones_are_null(box: EngineBox) -> None:
    box("SET", "k", "v", "PX", 10)
    box.now += 1000
    assert isinstance(box("MEMORY", "USAGE", "k"), int)  # found as Redis's dictFind finds it
    assert box("EXISTS", "k") == 0
    assert box("MEMORY", "USAGE", "k") is None
    assert box.err("MEMORY", "USAGE", "nosuch", "SAMPLES", -1) == SYNTAX


def test_purge_malloc_stats_and_help(box: EngineBox) -> None:
    assert box("MEMORY", "PURGE") == b"OK"
    assert box("MEMORY", "MALLOC-STATS") == b"Stats not supported for the current allocator"
    help_lines = box("MEMORY", "HELP")
    assert help_lines[0].startswith(b"MEMORY <subcommand>")
    assert b"USAGE <key> [SAMPLES <count>]" in help_lines and help_lines[-2] == b"HELP"
