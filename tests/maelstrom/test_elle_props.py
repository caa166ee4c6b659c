"""Properties: serial executions are valid; one stale read makes them invalid."""

from __future__ import annotations

import copy
import random
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from maelstrom.elle import check_list_append, check_rw_register
from tests.maelstrom.elle_histories import build, concurrent_steps, serial_steps

seeds = st.integers(0, 2**32 - 1)
sizes = st.integers(1, 40)
key_counts = st.integers(1, 4)


@settings(max_examples=60, deadline=None)
@given(seeds, sizes, key_counts)
def test_serial_list_append_is_strict_serializable(seed: int, n: int, keys: int) -> None:
    res = check_list_append(build(*serial_steps(random.Random(seed), n, keys, "append")))
    assert res["valid"] is True, res["explanations"]


@settings(max_examples=60, deadline=None)
@given(seeds, sizes, key_counts)
def test_serial_rw_register_is_strict_serializable(seed: int, n: int, keys: int) -> None:
    res = check_rw_register(build(*serial_steps(random.Random(seed), n, keys, "w")))
    assert res["valid"] is True, res["explanations"]


@settings(max_examples=60, deadline=None)
@given(seeds, sizes, key_counts, st.integers(1, 5))
def test_concurrent_atomic_executions_are_strict_serializable(seed: int, n: int, keys: int,
                                                              procs: int) -> None:
    for check, write_f in ((check_list_append, "append"), (check_rw_register, "w")):
        steps = concurrent_steps(random.Random(seed), n, keys, write_f, procs)
        res = check(build(*steps))
        assert res["valid"] in (True, False, "unknown")
        if res["ok_count"]:
            assert res["valid"] is True, res["explanations"]


def _external_reads(steps: list[tuple[Any, ...]]) -> list[tuple[int, int]]:
    """(step, micro-op) of every read that is the txn's first micro-op on its key."""
    out = []
    for i, s in enumerate(steps):
        seen: set[Any] = set()
        for j, (f, k, _) in enumerate(s[3]):
            if f == "r" and k not in seen:
                out.append((i, j))
            seen.add(k)
    return out


@settings(max_examples=60, deadline=None)
@given(seeds, st.integers(2, 40), key_counts, st.randoms(use_true_random=False))
def test_a_stale_list_read_is_caught(seed: int, n: int, keys: int, pick: random.Random) -> None:
    steps = serial_steps(random.Random(seed), n, keys, "append")
    # A read whose key some *other* txn saw longer than the stale prefix we give it.
    choices = []
    for i, j in _external_reads(steps):
        k, v = steps[i][3][j][1], steps[i][3][j][2] or []
        longest_elsewhere = max((len(m[2] or []) for s_i, s in enumerate(steps) if s_i != i
                                 for m in s[3] if m[0] == "r" and m[1] == k), default=0)
        for stale in range(min(len(v), longest_elsewhere)):
            choices.append((i, j, stale))
    assume(choices)
    i, j, stale = pick.choice(choices)
    tampered = copy.deepcopy(steps)
    mop = tampered[i][3][j]
    mop[2] = mop[2][:stale]
    res = check_list_append(build(*tampered))
    assert res["valid"] is False, (i, j, stale)
    assert res["explanations"]


@settings(max_examples=60, deadline=None)
@given(seeds, st.integers(2, 40), key_counts, st.randoms(use_true_random=False))
def test_a_null_register_read_after_a_write_is_caught(seed: int, n: int, keys: int,
                                                      pick: random.Random) -> None:
    steps = serial_steps(random.Random(seed), n, keys, "w")
    choices = [(i, j) for i, j in _external_reads(steps) if steps[i][3][j][2] is not None]
    assume(choices)
    i, j = pick.choice(choices)
    tampered = copy.deepcopy(steps)
    tampered[i][3][j][2] = None
    res = check_rw_register(build(*tampered))
    assert res["valid"] is False, (i, j)
    assert res["explanations"]


@pytest.mark.parametrize("write_f", ["append", "w"])
def test_the_benchmarks_planted_stale_read_is_always_found(write_f: str) -> None:
    from bench.bench_elle import Case, history

    check = check_list_append if write_f == "append" else check_rw_register
    for seed in range(1, 6):
        case = Case("planted", 300, write_f, anomaly=True)
        assert check(history(case, seed), ("strict-serializable",))["valid"] is False, seed
        assert check(history(Case("clean", 300, write_f, anomaly=False), seed),
                     ("strict-serializable",))["valid"] is True, seed
