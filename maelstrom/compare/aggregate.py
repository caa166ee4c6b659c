"""The runs of one grid cell pooled into one report row: pure.

Strategy: counts are summed over the seeds, never averaged per seed, so a
seed with few operations weighs little: availability is answered over
invoked (in faults, healed), messages per operation is node-to-node messages
over client operations, and the latency percentiles are taken over every ok
operation of every seed (nearest rank). Convergence times are per seed:
the median and the worst, with the seeds that never converged counted
apart. Anomalies are grouped by kind, each with how many seeds found it
and the replay line and why of the lowest such seed.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from maelstrom.compare.grid import Cell
from maelstrom.compare.measure import RunMeasure


@dataclass(frozen=True)
class AnomalySummary:
    """One kind of anomaly in a cell: how many seeds, and the first one's replay."""

    kind: str
    seeds: int
    first_seed: int
    replay: str
    why: str


@dataclass(frozen=True)
class CellSummary:
    """One row of the report (see module doc). None: nothing to measure."""

    cell: Cell
    seeds: int
    valid: int
    invalid: int
    unknown: int
    crashed: int
    anomalies: tuple[AnomalySummary, ...]
    avail_fault: float | None
    avail_healed: float | None
    fault_ops: int
    p50_ms: float | None
    p99_ms: float | None
    msgs_per_op: float | None
    converge_p50_ms: float | None
    converge_max_ms: float | None
    not_converged: int

    @property
    def valid_fraction(self) -> float:
        return self.valid / self.seeds if self.seeds else math.nan

    def to_json(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        d["cell"] = dict(self.cell.__dict__)
        d["anomalies"] = [dict(a.__dict__) for a in self.anomalies]
        return d


def percentile(values: Sequence[float], q: float) -> float | None:
    """The nearest-rank ``q`` quantile (0 < q <= 1) of ``values``; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def _ratio(num: int, den: int) -> float | None:
    return num / den if den else None


def summarise_cell(cell: Cell, runs: Sequence[RunMeasure]) -> CellSummary:
    """Pool the runs of one cell (see module doc)."""
    verdicts = [r.verdict for r in runs]
    by_kind: dict[str, list[RunMeasure]] = {}
    for r in sorted(runs, key=lambda r: r.seed):
        if r.anomaly is not None:
            by_kind.setdefault(r.anomaly.kind, []).append(r)
    anomalies = tuple(
        AnomalySummary(kind, len(rs), rs[0].seed, rs[0].replay,
                       rs[0].anomaly.why if rs[0].anomaly is not None else "")
        for kind, rs in sorted(by_kind.items(), key=lambda kv: (-len(kv[1]), kv[0])))
    lats = [x for r in runs for x in r.latencies_ms]
    conv = [r.converge_ms for r in runs if r.converged and r.converge_ms is not None]
    fault_ops = sum(r.fault_ops for r in runs)
    return CellSummary(
        cell=cell, seeds=len(runs), valid=verdicts.count("valid"),
        invalid=verdicts.count("invalid"), unknown=verdicts.count("unknown"),
        crashed=len(runs) - verdicts.count("valid") - verdicts.count("invalid")
        - verdicts.count("unknown"),
        anomalies=anomalies,
        avail_fault=_ratio(sum(r.fault_answered for r in runs), fault_ops),
        avail_healed=_ratio(sum(r.healed_answered for r in runs), sum(r.healed_ops for r in runs)),
        fault_ops=fault_ops,
        p50_ms=percentile(lats, 0.5), p99_ms=percentile(lats, 0.99),
        msgs_per_op=_ratio(sum(r.server_msgs for r in runs), sum(r.client_ops for r in runs)),
        converge_p50_ms=percentile(conv, 0.5), converge_max_ms=max(conv) if conv else None,
        not_converged=sum(1 for r in runs if r.converged is False))


def summarise(runs: Iterable[tuple[Cell, RunMeasure]],
              order: Sequence[Cell] | None = None) -> list[CellSummary]:
    """One row per cell, in ``order`` (default: sorted), from ``(cell, run)`` pairs."""
    by_cell: dict[Cell, list[RunMeasure]] = {}
    for cell, run in runs:
        by_cell.setdefault(cell, []).append(run)
    cells = [c for c in order if c in by_cell] if order is not None else sorted(by_cell)
    return [summarise_cell(c, by_cell[c]) for c in cells]


def anomaly_totals(rows: Iterable[CellSummary]) -> Mapping[str, int]:
    """Seeds per anomaly kind over all rows, most frequent first."""
    totals: dict[str, int] = {}
    for row in rows:
        for a in row.anomalies:
            totals[a.kind] = totals.get(a.kind, 0) + a.seeds
    return dict(sorted(totals.items(), key=lambda kv: (-kv[1], kv[0])))
