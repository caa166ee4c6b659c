"""The summary table at the top of the report: the run at a glance.

Strategy: one row of figures a reader checks first (workload, nodes,
operations by outcome, messages per operation, latency p50/p99 of the
successful operations) and one badge per checker with its verdict. Counts
and latencies come from the history itself; messages per operation from the
``net`` result. A missing figure prints as a dash, never as a guess.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Final

from maelstrom.history import History
from maelstrom.report.svg import esc

VERDICT_COLOURS: Final[dict[str, str]] = {"valid": "#2a9d3a", "invalid": "#d62828",
                                          "unknown": "#c77c02"}


def verdict_word(valid: Any) -> str:
    """valid | invalid | unknown, for a checker's ``valid``."""
    return "valid" if valid is True else "invalid" if valid is False else "unknown"


def quantile(sorted_values: Sequence[float], q: float) -> float:
    """The nearest-rank quantile of already sorted values (non-empty)."""
    i = max(0, min(len(sorted_values) - 1, math.ceil(q * len(sorted_values)) - 1))
    return sorted_values[i]


def _num(v: Any, fmt: str) -> str:
    return format(v, fmt) if isinstance(v, (int, float)) and not isinstance(v, bool) else "–"


def summary_html(workload: str, history: History, results: Mapping[str, Any],
                 nodes: Sequence[str]) -> str:
    """The summary table and the verdict badges."""
    ops = [op for op in history.operations() if isinstance(op.process, int)]
    counts = {k: sum(1 for op in ops if op.outcome == k) for k in ("ok", "fail", "info")}
    lats = sorted((op.return_time - op.call_time) / 1e6 for op in ops if op.outcome == "ok")
    p50 = f"{quantile(lats, 0.5):.2f} ms" if lats else "–"
    p99 = f"{quantile(lats, 0.99):.2f} ms" if lats else "–"
    net = results.get("net") if isinstance(results.get("net"), Mapping) else {}
    all_mpo = (net.get("all") or {}).get("msgs-per-op") if isinstance(net, Mapping) else None
    srv_mpo = (net.get("servers") or {}).get("msgs-per-op") if isinstance(net, Mapping) else None
    cells = [
        ("workload", esc(workload)),
        ("nodes", f"{len(nodes)}: " + esc(" ".join(nodes)) if nodes else "–"),
        ("operations", f"{len(ops)}: <b>{counts['ok']}</b> ok · <b>{counts['fail']}</b> fail · "
                       f"<b>{counts['info']}</b> info"),
        ("msgs/op", f"{_num(all_mpo, '.2f')} <small>({_num(srv_mpo, '.2f')} between "
                    f"servers)</small>"),
        ("latency of ok ops", f"p50 {p50} · p99 {p99}"),
    ]
    head = "".join(f"<th>{k}</th>" for k, _ in cells)
    row = "".join(f'<td class="{k.split()[0].replace("/", "-")}">{v}</td>' for k, v in cells)
    badges = []
    # The workload's own checker first: it is the verdict that matters most.
    for name, r in sorted(results.items(), key=lambda kv: kv[0] != "workload"):
        if isinstance(r, Mapping) and "valid" in r:
            word = verdict_word(r.get("valid"))
            badges.append(f'<span class="verdict {word}" data-checker="{esc(str(name))}" '
                          f'style="background:{VERDICT_COLOURS[word]}">{esc(str(name))}: {word}'
                          f'</span>')
    return (f'<table class="summary"><tr>{head}</tr><tr>{row}</tr></table>'
            f'<p class="verdicts">Checkers: {" ".join(badges) or "none ran"}</p>')
