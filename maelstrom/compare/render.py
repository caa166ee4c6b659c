"""``compare.md`` and ``compare.html`` from the pooled rows: pure, data in, text out.

Strategy: both files open with how the grid was run (`Meta`), then one
table, a row per grid cell (`maelstrom.compare.aggregate.CellSummary`),
and the replay line of the first seed of each anomaly kind in each cell.
The HTML adds one grouped bar chart (`maelstrom.compare.charts`) per metric
and fault, the modes side by side, and stays self-contained like
report.html: inline CSS and SVG, no script, nothing fetched.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

from maelstrom.compare.aggregate import CellSummary, anomaly_totals
from maelstrom.compare.charts import grouped_bars
from maelstrom.compare.grid import CONVERGING_WORKLOADS
from maelstrom.report.svg import esc

#: The table's columns: (heading, what it means) — the legend under both tables.
COLUMNS: Final[tuple[tuple[str, str], ...]] = (
    ("workload", ""), ("mode", ""), ("nodes", ""), ("faults", "none, partition, or loss "
                                                    "(message loss with duplication)"),
    ("valid", "seeds whose every checker passed (linearizable, for lin-kv)"),
    ("anomalies", "what the failing seeds found, by kind (seeds)"),
    ("answered in faults", "client requests invoked while a fault was active that got an "
                           "answer (ok, or a cas precondition-failed / key-does-not-exist)"),
    ("answered healed", "the same for requests invoked while the network was whole "
                        "(between faults and after the heal)"),
    ("p50 ms", "latency of ok requests, pooled over the seeds"),
    ("p99 ms", ""),
    ("msgs/op", "node-to-node messages per client request"),
    ("converge ms", "from the heal (or the last update) until every node knew every update, "
                    "read from the message journal: median / worst seed; ✗N: N seeds never "
                    "converged"),
)


@dataclass(frozen=True)
class Meta:
    """How the grid was run: shown at the top of both files."""

    command: str
    engine: str
    seeds: str
    knobs: str
    machine: str
    started: str
    wall_s: float
    runs: int
    time_unit: str = "virtual ms"
    replay_title: str = "Replay lines"


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{x:.2f}"


def _ms(x: float | None) -> str:
    if x is None:
        return "–"
    return f"{x:.0f}" if x >= 10 else f"{x:.1f}"


def _num(x: float | None) -> str:
    return "–" if x is None else f"{x:.1f}"


def valid_text(row: CellSummary) -> str:
    text = f"{row.valid}/{row.seeds}"
    extra = [f"{n} {w}" for n, w in ((row.unknown, "unknown"), (row.crashed, "crashed")) if n]
    return text + (f" ({', '.join(extra)})" if extra else "")


def anomalies_text(row: CellSummary) -> str:
    return ", ".join(f"{a.kind} ×{a.seeds}" for a in row.anomalies) or "–"


def converge_text(row: CellSummary) -> str:
    if row.cell.workload not in CONVERGING_WORKLOADS:
        return "–"
    text = ("–" if row.converge_p50_ms is None
            else f"{_ms(row.converge_p50_ms)} / {_ms(row.converge_max_ms)}")
    return text + (f" ✗{row.not_converged}" if row.not_converged else "")


def row_cells(row: CellSummary) -> list[str]:
    """The table cells of a row, as text (the same in markdown and HTML)."""
    c = row.cell
    return [c.workload, c.mode, str(c.node_count), c.fault, valid_text(row), anomalies_text(row),
            _pct(row.avail_fault), _pct(row.avail_healed), _ms(row.p50_ms), _ms(row.p99_ms),
            _num(row.msgs_per_op), converge_text(row)]


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|")


def markdown_table(rows: Sequence[CellSummary]) -> str:
    """The table alone (what the README quotes)."""
    head = [h for h, _ in COLUMNS]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(_md_escape(x) for x in row_cells(r)) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def replays(rows: Sequence[CellSummary]) -> list[tuple[str, str, int, str, str]]:
    """``(cell label, kind, seed, replay line, why)`` of the first seed of each anomaly kind."""
    return [(r.cell.label(), a.kind, a.first_seed, a.replay, a.why)
            for r in rows for a in r.anomalies]


def _header_lines(meta: Meta, rows: Sequence[CellSummary]) -> list[str]:
    totals = anomaly_totals(rows)
    found = ", ".join(f"{k} ×{n}" for k, n in totals.items()) or "nothing"
    return [f"Command: `{meta.command}`",
            f"Engine: {meta.engine}; seeds {meta.seeds}; {meta.knobs}",
            f"Machine: {meta.machine}; started {meta.started}; {meta.runs} runs in "
            f"{meta.wall_s:.0f} s of wall time",
            f"Anomalies found (seeds): {found}"]


def render_markdown(rows: Sequence[CellSummary], meta: Meta) -> str:
    """The whole ``compare.md``."""
    out = ["# Consistency modes compared (gyre compare)", ""]
    out += [f"- {line}" for line in _header_lines(meta, rows)]
    out += ["", markdown_table(rows), "Columns (times in " + meta.time_unit + "):", ""]
    out += [f"- **{h}**: {d}" for h, d in COLUMNS if d]
    rep = replays(rows)
    out += ["", f"## {meta.replay_title}", ""]
    if not rep:
        out.append("No seed failed.")
    for label, kind, seed, line, why in rep:
        out.append(f"- {label}, {kind} (seed {seed}): `{line}`  ")
        out.append(f"  {why}")
    return "\n".join(out) + "\n"


# -- HTML ---------------------------------------------------------------------------------------

CSS: Final[str] = """
body{font-family:sans-serif;margin:16px 20px;color:#111;max-width:1560px}
h1{font-size:22px;margin:4px 0 8px} h2{font-size:17px;margin:18px 0 6px}
h3{font-size:15px;margin:12px 0 4px}
ul.meta{font-size:13px;margin:4px 0 10px;padding-left:18px}
table.compare{border-collapse:collapse;font-size:12px;margin:4px 0}
table.compare th,table.compare td{border:1px solid #ccd;padding:2px 6px;text-align:left;
 vertical-align:top;white-space:nowrap}
table.compare th{background:#f0f2f6;font-weight:600;position:sticky;top:0}
table.compare td.num{text-align:right}
table.compare tr.all-valid td.valid{color:#2a7a2a} table.compare tr.some-invalid td.valid{
 color:#c62828;font-weight:600}
.note,.legend-list{font-size:13px;color:#444}
svg{max-width:100%;height:auto;display:block}
.charts{display:flex;flex-wrap:wrap;gap:12px 24px} .charts figure{margin:0}
ul.replays{font-size:12px} ul.replays code{word-break:break-all}
"""

_NUMERIC: Final[frozenset[int]] = frozenset({2, 6, 7, 8, 9, 10})

#: Metric charts: (id, title, y label, value of a row, text, y max, only for faults / workloads).
Metric = tuple[str, str, str, Callable[[CellSummary], float | None], Callable[[float], str],
               float | None, Callable[[CellSummary], bool]]
METRICS: Final[tuple[Metric, ...]] = (
    ("valid", "Seeds judged valid", "fraction of seeds", lambda r: r.valid_fraction,
     lambda v: f"{v:.2f}", 1.0, lambda r: True),
    ("avail-fault", "Requests answered during faults", "fraction answered",
     lambda r: r.avail_fault, lambda v: f"{v:.2f}", 1.0, lambda r: r.cell.fault != "none"),
    ("avail-healed", "Requests answered while healed", "fraction answered",
     lambda r: r.avail_healed, lambda v: f"{v:.2f}", 1.0, lambda r: True),
    ("p50", "Latency p50", "ms", lambda r: r.p50_ms, lambda v: f"{v:.1f} ms", None,
     lambda r: True),
    ("p99", "Latency p99", "ms", lambda r: r.p99_ms, lambda v: f"{v:.1f} ms", None,
     lambda r: True),
    ("msgs", "Node-to-node messages per request", "messages", lambda r: r.msgs_per_op,
     lambda v: f"{v:.2f}", None, lambda r: True),
    ("converge", "Time to converge after the heal (median seed)", "ms",
     lambda r: r.converge_p50_ms, lambda v: f"{v:.0f} ms", None,
     lambda r: r.cell.workload in CONVERGING_WORKLOADS),
)


def _html_table(rows: Sequence[CellSummary]) -> str:
    head = "".join(f"<th title='{esc(d)}'>{esc(h)}</th>" for h, d in COLUMNS)
    body = []
    for r in rows:
        cls = "all-valid" if r.valid == r.seeds else "some-invalid"
        tds = []
        for i, text in enumerate(row_cells(r)):
            kind = "valid" if i == 4 else "num" if i in _NUMERIC else ""
            tds.append(f"<td class='{kind}'>{esc(text)}</td>" if kind else f"<td>{esc(text)}</td>")
        c = r.cell
        body.append(f"<tr class='row {cls}' data-workload='{esc(c.workload)}' "
                    f"data-mode='{esc(c.mode)}' data-nodes='{c.node_count}' "
                    f"data-fault='{esc(c.fault)}' data-valid='{r.valid}' data-seeds='{r.seeds}'>"
                    + "".join(tds) + "</tr>")
    return f"<table class='compare'><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _charts(rows: Sequence[CellSummary]) -> str:
    modes = list(dict.fromkeys(r.cell.mode for r in rows))
    faults = list(dict.fromkeys(r.cell.fault for r in rows))
    parts = []
    for mid, mtitle, ylabel, value, fmt, ymax, applies in METRICS:
        figs = []
        for fault in faults:
            chosen = [r for r in rows if r.cell.fault == fault and applies(r)]
            if not chosen:
                continue
            groups = list(dict.fromkeys(
                (f"{r.cell.workload} {r.cell.node_count}",
                 f"{r.cell.workload}\n{r.cell.node_count} nodes") for r in chosen))
            values = {(f"{r.cell.workload} {r.cell.node_count}", r.cell.mode): _finite(value(r))
                      for r in chosen}
            if all(v is None for v in values.values()):
                continue  # e.g. no request fell in a fault: nothing to draw
            figs.append(f"<figure data-metric='{mid}' data-fault='{esc(fault)}'>"
                        + grouped_bars(f"{mtitle}, faults: {fault}", groups, modes, values, ylabel,
                                       fmt, ymax, cls=f"metric-{mid}") + "</figure>")
        if figs:
            parts.append(f"<h3>{esc(mtitle)}</h3><div class='charts'>{''.join(figs)}</div>")
    return "".join(parts)


def _finite(v: float | None) -> float | None:
    return None if v is None or not math.isfinite(v) else v


def render_html(rows: Sequence[CellSummary], meta: Meta) -> str:
    """The whole ``compare.html``."""
    meta_items = "".join(f"<li>{esc(line).replace('`', '')}</li>"
                         for line in _header_lines(meta, rows))
    legend_items = "".join(f"<li><b>{esc(h)}</b>: {esc(d)}</li>" for h, d in COLUMNS if d)
    rep = replays(rows)
    rep_items = "".join(f"<li class='replay'><b>{esc(label)}</b>, {esc(kind)} (seed {seed}): "
                        f"<code>{esc(line)}</code><br><span class='note'>{esc(why)}</span></li>"
                        for label, kind, seed, line, why in rep) or "<li>No seed failed.</li>"
    body = (f"<h1>Consistency modes compared</h1><ul class='meta'>{meta_items}</ul>"
            f"<h2>Every cell of the grid</h2>{_html_table(rows)}"
            f"<ul class='legend-list'>{legend_items}</ul>"
            f"<p class='note'>Times in {esc(meta.time_unit)}.</p>"
            f"<h2>Charts</h2>{_charts(rows)}"
            f"<h2>{esc(meta.replay_title)}</h2><ul class='replays'>{rep_items}</ul>")
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            f"<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>gyre compare</title><style>{CSS}</style></head><body>{body}</body></html>\n")
