"""``report.html``: one self-contained page (inline SVG and CSS, nothing fetched).

Strategy: the page is assembled from small pure parts, each data in, text out,
so it renders alike from a live run or a stored one:

- `maelstrom.report.summary`: the run at a glance (counts, msgs/op, latency,
  a verdict per checker);
- `maelstrom.report.failing_key`: for an invalid linearizability check, the
  failing key's operations on a time axis (first on the page, right under
  the summary, so the failing operation is on screen without scrolling);
- `maelstrom.report.cycles`: for a transactional check that found cycles,
  the first cycle of each anomaly type as a small diagram beside its
  explanation (in the same place);
- `maelstrom.report.charts`: latency and rate over time with round ticks,
  legends above the plots and the effective partitions shaded
  (`maelstrom.report.partitions` reads them back from the history);
- `maelstrom.report.lamport`: Lamport diagrams of the journal in windows
  around the failure and the partitions, picked in one pass over the journal.

The page lays the charts side by side when the window is wide (1,600 px) and
one under another when narrow (800 px); SVGs keep their size and shrink only
when the window is narrower than they are.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

from maelstrom.history import History
from maelstrom.report.charts import latency_svg, rate_svg
from maelstrom.report.cycles import cycle_svg
from maelstrom.report.failing_key import linearizability_svg, named_indexes
from maelstrom.report.lamport import AFTER_EVENTS, BEFORE_EVENTS, lamport_svg, pick_windows
from maelstrom.report.partitions import (PartitionSpan, partition_spans,
                                         partitions_that_cut_nothing)
from maelstrom.report.summary import VERDICT_COLOURS, summary_html, verdict_word
from maelstrom.report.svg import esc

__all__ = ["PartitionSpan", "lamport_svg", "latency_svg", "linearizability_svg",
           "partition_spans", "pick_windows", "rate_svg", "render_report"]

#: The failing key's picture for windows of at least WIDE_MIN_PX (the narrow one is 760 px).
WIDE_PX: Final[int] = 1480
WIDE_MIN_PX: Final[int] = 1300
#: Anomaly types whose first cycle is drawn (the rest are named in the results).
CYCLE_TYPES_MAX: Final[int] = 4
#: Lamport windows drawn around partitions (the failure always gets one).
PARTITION_WINDOWS_MAX: Final[int] = 3

LAMPORT_LEGEND: Final[str] = (
    "<p class='note lamport-legend'>Arrows: <span style='color:#2b6cd4'>client traffic</span>, "
    "<span style='color:#222'>between nodes and services</span>, "
    "<span style='color:#e5549a'>error replies</span>, "
    "<span style='color:#c0392b'>dropped (dashed, ending in ✕)</span>; dashed without ✕: the "
    "other end lies outside the window. Hover an arrow for the whole message.</p>")

CSS: Final[str] = """
body{font-family:sans-serif;margin:16px 20px;color:#111;max-width:1560px}
h1{font-size:22px;margin:4px 0 8px} h2{font-size:17px;margin:18px 0 6px}
table.summary{border-collapse:collapse;font-size:13px;margin:4px 0}
table.summary th,table.summary td{border:1px solid #ccd;padding:3px 8px;text-align:left;
 vertical-align:top}
table.summary th{background:#f0f2f6;font-weight:600}
.verdicts{margin:6px 0;font-size:13px;line-height:1.9}
.verdict{color:#fff;border-radius:3px;padding:2px 7px;margin-right:4px;white-space:nowrap}
.reason{font-size:14px;margin:4px 0;max-width:760px}
svg{max-width:100%;height:auto;display:block}
.charts{display:flex;flex-wrap:wrap;gap:12px 24px}
.charts figure{margin:0}
table.partitions{border-collapse:collapse;font-size:12px}
table.partitions td,table.partitions th{border:1px solid #dde;padding:2px 6px;text-align:left}
table.partitions td{white-space:nowrap} .idle-partitions,.note{font-size:13px;color:#444}
.lamport-scroll{overflow-x:auto;border:1px solid #ddd;max-width:100%}
.lamport-scroll svg{max-width:none}
details.lamport-window{margin:8px 0} details.lamport-window summary{cursor:pointer;font-size:14px}
.wide{display:none}
@media (min-width:WIDE_MIN_PXpx){.narrow{display:none}.wide{display:block}}
""".replace("WIDE_MIN_PX", str(WIDE_MIN_PX))


def _node_key(name: str) -> tuple[str, int, str]:
    digits = "".join(ch for ch in name if ch.isdigit())
    return "".join(ch for ch in name if not ch.isdigit()), int(digits) if digits else -1, name


def _lin_failures(results: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    wl = results.get("workload") or {}
    out = []
    for k, r in (wl.get("results") or {}).items() if isinstance(wl, Mapping) else ():
        lin = r.get("linearizable") or {} if isinstance(r, Mapping) else {}
        if lin.get("valid") is False and lin.get("failure"):
            out.append((str(k), lin["failure"]))
    return out


def _failure_html(key: str, failure: Mapping[str, Any]) -> str:
    reason = str(failure.get("reason") or "not linearizable")
    text = esc(reason)
    for i in sorted(set(named_indexes(reason)), reverse=True):
        text = text.replace(f"index {i}", f"<b>index {i}</b>")
    bad = failure.get("op") or {}
    what = (f"operation #{bad.get('index')} ({esc(str(bad.get('description')))}, process "
            f"{esc(str(bad.get('process')))}) cannot be linearized" if bad else "")
    shown = len(failure.get("ops") or [])
    total = failure.get("ops_total")
    more = (f" The checker listed {shown} of the {total} operations involved."
            if isinstance(total, int) and total > shown else "")
    return (f'<section class="failure"><h2>Key {esc(key)} is not linearizable: {what}</h2>'
            f'<p class="reason">{text}. State after the longest linearizable prefix: '
            f'{esc(str(failure.get("state")))}.{more}</p>'
            f'<div class="narrow">{linearizability_svg(failure)}</div>'
            f'<div class="wide">{linearizability_svg(failure, WIDE_PX, "-wide")}</div></section>')


def _cycles_html(results: Mapping[str, Any]) -> str:
    """The first cycle of each anomaly type a transactional checker found, drawn and explained."""
    wl = results.get("workload")
    anomalies = wl.get("anomalies") if isinstance(wl, Mapping) else None
    if not isinstance(anomalies, Mapping):
        return ""
    drawn = []
    for kind, found in anomalies.items():
        first = found[0] if isinstance(found, list) and found else None
        if not isinstance(first, Mapping) or not first.get("cycle"):
            continue
        svg = cycle_svg(first)
        if svg:
            more = f" ({len(found) - 1} more of this type in results.json)" if len(found) > 1 else ""
            drawn.append(f"<figure class='anomaly'><h3>{esc(str(kind))}{esc(more)}</h3>"
                         f"<p class='reason'>{esc(str(first.get('explanation', '')))}</p>{svg}</figure>")
        if len(drawn) == CYCLE_TYPES_MAX:
            break
    if not drawn:
        return ""
    types = [str(k) for k in anomalies]
    return (f"<section class='anomalies'><h2>Anomalies: {esc(', '.join(types))}</h2>"
            "<p class='note'>Each cycle top to bottom: an arrow from one transaction to the next says "
            "why the first must come before the second (ww, wr, rw: the key's versions; realtime: it "
            "completed before the other began; process: same process, earlier); the arrow on the "
            "right closes the cycle.</p>" + "".join(drawn) + "</section>")


def _partitions_table(spans: Sequence[PartitionSpan]) -> str:
    if not spans:
        return ""
    rows = "".join(f'<tr class="partition-row"><td>P{i}</td><td>{s.start_ms / 1000:.2f}–'
                   f'{s.end_ms / 1000:.2f} s</td><td>{esc(s.kind or "–")}</td>'
                   f'<td>{esc(s.shape)}</td></tr>' for i, s in enumerate(spans, 1))
    return ('<table class="partitions"><tr><th></th><th>when</th><th>nemesis</th>'
            '<th>who was cut from whom (a | b: the groups cannot hear each other; '
            'a↛b: a\'s messages to b are dropped)</th></tr>' + rows + "</table>")


def _lamport_html(journal: Iterable[Mapping[str, Any]], spans: Sequence[PartitionSpan],
                  failures: Sequence[tuple[str, Mapping[str, Any]]]) -> tuple[str, list[str]]:
    anchors: list[tuple[float, str]] = []
    marks: list[tuple[float, str]] = []
    for key, f in failures:
        bad = f.get("op") or {}
        if isinstance(bad.get("call_time"), (int, float)):
            anchors.append((bad["call_time"], f"the failing operation #{bad.get('index')} "
                                              f"on key {key}"))
            marks.append((bad["call_time"], f"#{bad.get('index')} invoked "
                                            f"({bad.get('description')}, process {bad.get('process')})"))
            if isinstance(bad.get("return_time"), (int, float)):
                marks.append((bad["return_time"], f"#{bad.get('index')} returned"))
    for i, s in enumerate(spans, 1):
        marks.append((s.start_ms * 1e6, f"P{i} starts: {s.label}"))
        marks.append((s.end_ms * 1e6, f"P{i} ends"))
        if i <= PARTITION_WINDOWS_MAX:
            anchors.append((s.start_ms * 1e6, f"partition P{i} ({s.label})"))
    found = pick_windows(journal, anchors)
    if not found.windows:
        return "<h2>Messages</h2><p>No messages.</p>", found.nodes
    around = " and ".join(filter(None, [
        "the failing operation" if failures else "",
        (f"the first {min(len(spans), PARTITION_WINDOWS_MAX)} of {len(spans)} partitions"
         if len(spans) > PARTITION_WINDOWS_MAX else "the partitions" if spans else "")]))
    around = around or "the start of the run"
    shown = sum(len(w.events) for w in found.windows)
    n = len(found.windows)
    head = (f"<h2>Messages: {n} window{'s' if n != 1 else ''}, {shown} of the journal's "
            f"{found.total} events</h2><p class='note'>Lamport diagrams around {esc(around)}, "
            f"{BEFORE_EVENTS} events before each and {AFTER_EVENTS} from it on (the time of "
            f"every sixth row on the left); every message is in <code>messages.jsonl</code>.</p>"
            + LAMPORT_LEGEND)
    parts = [head]
    for i, w in enumerate(found.windows):
        evs = [e for _, e in w.events]
        t0, t1 = evs[0].get("time", 0) / 1e9, evs[-1].get("time", 0) / 1e9
        parts.append(f'<details class="lamport-window" open><summary>Window {i + 1}: around '
                     f'{esc("; ".join(w.reasons))}: events {w.first_seq + 1}–{w.last_seq + 1}, '
                     f'{t0:.3f}–{t1:.3f} s</summary><div class="lamport-scroll">'
                     f'{lamport_svg(evs, marks, uid=str(i))}</div></details>')
    return "".join(parts), found.nodes


def render_report(workload: str, history: History, journal: Iterable[Mapping[str, Any]],
                  results: Mapping[str, Any], end_ms: float,
                  nodes: Sequence[str] | None = None) -> str:
    """The whole page.

    Args:
        workload: The workload name (title).
        history: The run's history (nemesis operations included: partitions come from it).
        journal: The network journal in order (``messages.jsonl`` records); read once.
        results: ``results.json``.
        end_ms: Length of the run.
        nodes: The node ids; taken from the journal's ``init`` messages when None.
    """
    valid = results.get("valid")
    word = verdict_word(valid)
    spans = partition_spans(history, end_ms)
    failures = _lin_failures(results)
    lamport, seen_nodes = _lamport_html(journal, spans, failures)
    node_list = list(nodes) if nodes is not None else sorted(seen_nodes, key=_node_key)
    sections = [f"<h1>{esc(workload)}: <span class='headline {word}' "
                f"style='color:{VERDICT_COLOURS[word]}'>{word}</span></h1>",
                summary_html(workload, history, results, node_list)]
    sections.extend(_failure_html(k, f) for k, f in failures)
    cycles = _cycles_html(results)
    if cycles:
        sections.append(cycles)
    sections.append("<h2>Operations over time</h2><div class='charts'>"
                    f"<figure>{latency_svg(history, spans, end_ms)}</figure>"
                    f"<figure>{rate_svg(history, spans, end_ms)}</figure></div>")
    idle = partitions_that_cut_nothing(history)
    if spans or idle:
        note = ""
        if idle:
            which = ", ".join(f"{k or 'partition'} at {t / 1000:.2f} s" for t, k in idle)
            note = (f"<p class='idle-partitions'>{len(idle)} more start-partition "
                    f"{'op' if len(idle) == 1 else 'ops'} cut no link ({esc(which)}) and "
                    f"{'is' if len(idle) == 1 else 'are'} not shaded.</p>")
        sections.append(f"<h2>Partitions ({len(spans)})</h2>{_partitions_table(spans)}{note}")
    sections.append(lamport)
    body = "\n".join(sections)
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            f"<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>{esc(workload)}: {word} – gyre test</title><style>{CSS}</style></head>"
            f"<body>{body}</body></html>\n")
