"""How `make bench` judges a row: the median of the paired per-round ratios."""

from __future__ import annotations

import pytest

from bench.bench_server import row_figures


def runs(*rps: float, cpu: float = 10.0) -> list[tuple[float, float]]:
    return [(x, cpu) for x in rps]


def test_a_slow_spell_that_starts_inside_the_row_moves_the_ratio_of_medians_not_the_ratio():
    # Rounds 3-5 ran while the machine was slow; in round 3 it slowed between
    # Redis's run and gyre's. Every round but that one says 0.9.
    redis = runs(100, 100, 100, 60, 60)
    gyre = runs(90, 90, 54, 54, 54)
    row = row_figures(redis, gyre)
    assert row.ratio == pytest.approx(0.9)
    assert row.of_medians == pytest.approx(0.54)
    assert (row.lowest, row.highest) == (pytest.approx(0.54), pytest.approx(0.9))
    assert (row.redis_rps, row.gyre_rps) == (100, 54)


def test_rounds_are_paired_by_position():
    redis = runs(100, 50, 80)
    gyre = runs(80, 45, 40)  # ratios 0.8, 0.9, 0.5
    assert row_figures(redis, gyre).ratio == pytest.approx(0.8)
    assert row_figures(redis, list(reversed(gyre))).ratio == pytest.approx(0.9)  # 0.4, 0.9, 1.0


def test_unequal_round_counts_are_refused():
    with pytest.raises(ValueError):
        row_figures(runs(100, 100), runs(90))


def test_a_row_redis_did_not_answer_gives_zero_not_a_crash():
    row = row_figures(runs(0, 0), runs(90, 90))
    assert (row.ratio, row.of_medians) == (0.0, 0.0)


def test_cpu_columns_are_medians_over_the_rounds():
    row = row_figures([(100, 10.0), (100, 30.0), (100, 11.0)], [(90, 15.0), (90, 16.0), (90, 99.0)])
    assert (row.redis_cpu, row.gyre_cpu) == (11.0, 16.0)
