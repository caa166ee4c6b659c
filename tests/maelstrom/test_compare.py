"""``gyre compare``: a small grid through the simulator, and the pure parts on hand-built values.

The grid run (one module fixture, a few seconds): every workload in every
mode on 3 nodes with partitions over two seeds. Eventual and causal lin-kv
must be judged non-linearizable, strong linearizable, the CRDT workloads
and broadcast valid in every mode; the replay line of a finding must
reproduce it; compare.md and compare.html are parsed (the table's rows, the
charts' bars) and checked against compare.json and against each other,
never string-compared as whole files. The aggregation, classification,
availability and convergence functions are checked on hand-built results,
histories and journals.
"""

from __future__ import annotations

import json
import math
import shlex
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from maelstrom.compare.aggregate import percentile, summarise, summarise_cell
from maelstrom.compare.cli import compare_command
from maelstrom.compare.grid import WORKLOADS, Cell, Knobs, expand, sim_args
from maelstrom.compare.measure import (CRASH, IMPOSSIBLE_READ, LOST_ELEMENT, LOST_UPDATE,
                                       NON_MONOTONIC_READ, NOT_LIVE, STALE_READ, WRONG_COUNT,
                                       Anomaly, RunMeasure, availability, classify, convergence,
                                       fault_windows, quiet_since_ms)
from maelstrom.compare.render import COLUMNS, Meta, markdown_table, render_html, render_markdown
from maelstrom.harness import EXIT_CRASH, EXIT_INVALID, EXIT_VALID
from maelstrom.history import History
from maelstrom.sim.cli import sim_command

MODES = ("eventual", "causal", "strong")
CRDTS = ("g-counter", "pn-counter", "g-set", "broadcast")
LIN_KV_KINDS = {STALE_READ, NON_MONOTONIC_READ, LOST_UPDATE, IMPOSSIBLE_READ}
GRID = ["--seeds", "1..2", "--node-counts", "3", "--faults", "partition", "--time-limit", "4",
        "--rate", "40", "--nemesis-interval", "1", "--recovery-wait", "2"]


# -- parsing the outputs ------------------------------------------------------------------------


def md_table(text: str) -> tuple[list[str], list[list[str]]]:
    """The header and rows of the first markdown table in ``text``."""
    lines = [ln for ln in text.splitlines() if ln.startswith("|")]
    split = [[c.strip().replace("\\|", "|") for c in ln.strip().strip("|").split(" | ")]
             for ln in lines]
    return split[0], split[2:]


class PageParser(HTMLParser):
    """Table rows (data attributes and cell texts), figures and bars of compare.html."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[dict[str, Any]] = []
        self.figures: list[dict[str, Any]] = []
        self.replays: list[str] = []
        self._cell: list[str] | None = None
        self._in_code = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "tr" and "row" in (a.get("class") or "").split():
            self.rows.append({**{k[5:]: v for k, v in a.items() if k.startswith("data-")},
                              "cells": []})
        elif tag == "td" and self.rows:
            self._cell = []
        elif tag == "figure":
            self.figures.append({"metric": a.get("data-metric"), "fault": a.get("data-fault"),
                                 "bars": [], "svg": 0})
        elif tag == "svg" and self.figures:
            self.figures[-1]["svg"] += 1
        elif tag == "rect" and "bar" in (a.get("class") or "").split():
            self.figures[-1]["bars"].append((a["data-group"], a["data-series"],
                                             float(a["data-value"] or "nan"),
                                             float(a["height"] or "nan")))
        elif tag == "code":
            self._in_code = True
            self.replays.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._cell is not None:
            self.rows[-1]["cells"].append("".join(self._cell))
            self._cell = None
        elif tag == "code":
            self._in_code = False

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)
        if self._in_code:
            self.replays[-1] += data


def parse_html(text: str) -> PageParser:
    p = PageParser()
    p.feed(text)
    return p


# -- the grid, through the command line ---------------------------------------------------------


@pytest.fixture(scope="module")
def grid(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("compare")
    r = CliRunner().invoke(compare_command, [*GRID, "--out", str(out)], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    report = json.loads((out / "compare.json").read_text())
    return {"out": out, "json": report, "md": (out / "compare.md").read_text(),
            "html": (out / "compare.html").read_text(), "output": r.output}


def rows_by(report: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(r["cell"]["workload"], r["cell"]["mode"]): r for r in report["rows"]}


def test_the_grid_has_every_workload_and_mode_and_keeps_no_run_directory(grid: dict[str, Any]) -> None:
    rows = rows_by(grid["json"])
    assert set(rows) == {(w, m) for w in WORKLOADS for m in MODES}
    assert all(r["seeds"] == 2 for r in rows.values())
    assert len(grid["json"]["runs"]) == len(WORKLOADS) * len(MODES) * 2
    assert not (grid["out"] / "runs").exists()


@pytest.mark.parametrize("mode", ["eventual", "causal"])
def test_weak_modes_are_not_linearizable_under_partitions(grid: dict[str, Any], mode: str) -> None:
    row = rows_by(grid["json"])[("lin-kv", mode)]
    assert row["valid"] < row["seeds"]
    assert row["anomalies"], row
    for a in row["anomalies"]:
        assert a["kind"] in LIN_KV_KINDS
        assert a["replay"].startswith(f"gyre sim --node replicated --mode {mode} -w lin-kv ")
        assert a["replay"].endswith(f"--seed {a['first_seed']}")
        assert "not linearizable" in a["why"]


def test_strong_mode_is_linearizable_and_pays_in_messages_and_latency(grid: dict[str, Any]) -> None:
    rows = rows_by(grid["json"])
    strong = rows[("lin-kv", "strong")]
    assert strong["valid"] == strong["seeds"] and not strong["anomalies"]
    eventual = rows[("lin-kv", "eventual")]
    assert strong["msgs_per_op"] > eventual["msgs_per_op"]
    assert strong["p50_ms"] > eventual["p50_ms"]
    # eventual answers on every side of a partition; strong fails some minority requests
    assert eventual["avail_fault"] == 1.0
    assert 0 < strong["avail_fault"] < 1.0


@pytest.mark.parametrize("workload", CRDTS)
def test_crdt_workloads_are_valid_and_converge_in_every_mode(grid: dict[str, Any],
                                                             workload: str) -> None:
    for mode in MODES:
        row = rows_by(grid["json"])[(workload, mode)]
        assert row["valid"] == row["seeds"], row
        assert row["not_converged"] == 0
        assert row["converge_p50_ms"] is not None and row["converge_p50_ms"] >= 0
        # every node learned everything before the final reads
        assert row["converge_max_ms"] <= 2000


def test_a_replay_line_reproduces_its_finding(grid: dict[str, Any], tmp_path: Path) -> None:
    row = rows_by(grid["json"])[("lin-kv", "eventual")]
    a = row["anomalies"][0]
    argv = shlex.split(a["replay"])
    assert argv[:2] == ["gyre", "sim"]
    r = CliRunner().invoke(sim_command, [*argv[2:], "--store", str(tmp_path)],
                           catch_exceptions=False)
    assert r.exit_code == EXIT_INVALID
    # the checker's reason, word for word (the why line holds it before the "; at index" part)
    assert a["why"].split("; at ")[0].split(": ", 1)[1] in r.output


def test_markdown_has_one_table_matching_the_json(grid: dict[str, Any]) -> None:
    header, rows = md_table(grid["md"])
    assert header == [h for h, _ in COLUMNS]
    assert sum(1 for ln in grid["md"].splitlines() if ln.startswith("|---")) == 1
    assert len(rows) == len(grid["json"]["rows"])
    for cells, row in zip(rows, grid["json"]["rows"]):
        c = row["cell"]
        assert cells[:4] == [c["workload"], c["mode"], str(c["node_count"]), c["fault"]]
        assert cells[4].startswith(f"{row['valid']}/{row['seeds']}")
        for a in row["anomalies"]:
            assert f"{a['kind']} ×{a['seeds']}" in cells[5]
            assert f"`{a['replay']}`" in grid["md"]


def test_html_table_and_charts_match_the_json(grid: dict[str, Any]) -> None:
    page = parse_html(grid["html"])
    assert "http://" not in grid["html"].replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "<script" not in grid["html"]
    assert len(page.rows) == len(grid["json"]["rows"])
    for html_row, row in zip(page.rows, grid["json"]["rows"]):
        assert html_row["workload"] == row["cell"]["workload"]
        assert int(html_row["valid"]) == row["valid"]
        assert html_row["cells"][4].startswith(f"{row['valid']}/{row['seeds']}")
    metrics = {f["metric"] for f in page.figures}
    assert {"valid", "avail-fault", "p50", "p99", "msgs", "converge"} <= metrics
    assert all(f["svg"] == 1 for f in page.figures)
    valid = next(f for f in page.figures if f["metric"] == "valid")
    by_group = {(g, s): v for g, s, v, _ in valid["bars"]}
    for row in grid["json"]["rows"]:
        c = row["cell"]
        assert by_group[(f"{c['workload']} {c['node_count']}", c["mode"])] == pytest.approx(
            row["valid"] / row["seeds"], abs=1e-5)
    conv = next(f for f in page.figures if f["metric"] == "converge")
    assert {g.split()[0] for g, *_ in conv["bars"]} == set(CRDTS)
    for f in page.figures:
        heights = [(v, h) for *_, v, h in f["bars"]]
        top = max(v for v, _ in heights)
        for v, h in heights:  # bar height is proportional to the value
            if top > 0 and v == top:
                assert h > 0
    replays = {a["replay"] for row in grid["json"]["rows"] for a in row["anomalies"]}
    assert replays == set(page.replays)


def test_default_out_is_a_timestamped_store_directory_with_a_latest_link(tmp_path: Path) -> None:
    r = CliRunner().invoke(compare_command, ["--seeds", "1..1", "--workloads", "g-set", "--modes",
                                             "eventual", "--node-counts", "3", "--faults", "none",
                                             "--time-limit", "1", "--recovery-wait", "0.5",
                                             "--store", str(tmp_path)], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    latest = tmp_path / "compare" / "latest"
    assert latest.is_symlink() and (latest / "compare.html").is_file()
    assert (latest / "compare.md").read_text().count("| g-set | eventual | 3 | none |") == 1


@pytest.mark.parametrize("args", [["--workloads", "lin-kv,nope"], ["--modes", "weak"],
                                  ["--faults", "fire"], ["--seeds", "3..1"],
                                  ["--node-counts", "0"]])
def test_bad_grid_options_exit_254(args: list[str], tmp_path: Path) -> None:
    r = CliRunner().invoke(compare_command, [*args, "--out", str(tmp_path / "o")])
    assert r.exit_code == 254
    assert not (tmp_path / "o").exists()


# -- hand-built values --------------------------------------------------------------------------


def ev(i: int, t_ms: float, process: Any, type_: str, f: str, key: Any = None,
       value: Any = None, error: Any = None) -> dict[str, Any]:
    d = {"index": i, "time": int(t_ms * 1e6), "process": process, "type": type_, "f": f,
         "value": value}
    if key is not None:
        d["key"] = key
    if error is not None:
        d["error"] = error
    return d


def history(*events: dict[str, Any]) -> History:
    return History.loads("\n".join(json.dumps(e) for e in events))


def lin_failure(op: dict[str, Any], reason: str) -> dict[str, Any]:
    return {"valid": False, "failures": [0], "results": {"0": {"valid": False, "linearizable": {
        "valid": False, "failure": {"key": 0, "reason": reason, "op": op}}}}}


def op_dict(index: int, f: str, type_: str, process: int, call_ms: float, value: Any,
            output: Any) -> dict[str, Any]:
    return {"index": index, "f": f, "type": type_, "process": process, "key": 0,
            "call_time": int(call_ms * 1e6), "return_time": int(call_ms * 1e6), "value": value,
            "output": output, "description": f"{f}", "error": None}


def classify_lin(op: dict[str, Any], reason: str, h: History | None = None) -> str:
    results = {"workload": lin_failure(op, reason), "valid": False}
    a = classify("lin-kv", EXIT_INVALID, results, (h or History()).operations())
    assert a is not None
    return a.kind


#: p0 writes 1 (index 0), p1 writes 2 (index 2); p2 reads 2, then reads 1 again.
MONOTONIC = [ev(0, 0, 0, "invoke", "write", 0, 1), ev(1, 1, 0, "ok", "write", 0, 1),
             ev(2, 2, 1, "invoke", "write", 0, 2), ev(3, 3, 1, "ok", "write", 0, 2),
             ev(4, 4, 2, "invoke", "read", 0, None), ev(5, 5, 2, "ok", "read", 0, 2),
             ev(6, 6, 2, "invoke", "read", 0, None), ev(7, 7, 2, "ok", "read", 0, 1)]
STALE_REASON = ("stale: observed 1 (last stored by index 0), but index 2 certainly set the key "
                "after that and before this operation began")


def test_a_read_going_back_to_an_older_value_is_non_monotonic() -> None:
    bad = op_dict(6, "read", "ok", 2, 6, None, 1)
    assert classify_lin(bad, STALE_REASON, history(*MONOTONIC)) == NON_MONOTONIC_READ


def test_a_first_stale_read_of_a_process_is_a_stale_read() -> None:
    # p2's earlier read is dropped: it never saw the newer value
    h = history(*MONOTONIC[:4], ev(4, 6, 2, "invoke", "read", 0, None),
                ev(5, 7, 2, "ok", "read", 0, 1))
    assert classify_lin(op_dict(4, "read", "ok", 2, 6, None, 1), STALE_REASON, h) == STALE_READ
    # an earlier read of the same old value is no newer state either
    h2 = history(*MONOTONIC[:5], ev(5, 5, 2, "ok", "read", 0, 1), *MONOTONIC[6:])
    assert classify_lin(op_dict(6, "read", "ok", 2, 6, None, 1), STALE_REASON, h2) == STALE_READ


def test_lin_kv_anomaly_kinds_from_the_failing_operation() -> None:
    assert classify_lin(op_dict(9, "cas", "ok", 1, 9, [0, 4], [0, 4]), STALE_REASON) == LOST_UPDATE
    assert classify_lin(op_dict(9, "write", "ok", 1, 9, 3, 3), "no order of the concurrent "
                        "operations lets 'write 3' (index 9) take effect") == LOST_UPDATE
    # a failed cas observed the key: a stale observation, not an update
    assert classify_lin(op_dict(9, "cas", "fail", 1, 9, [0, 4], None),
                        "stale: observed absent (the initial value), but index 8 certainly set "
                        "the key") == STALE_READ
    assert classify_lin(op_dict(9, "read", "ok", 1, 9, None, 7),
                        "observed 7, a value no operation wrote") == IMPOSSIBLE_READ


def test_other_workloads_and_checkers_name_their_anomaly() -> None:
    lost = {"valid": False, "workload": {"valid": False, "lost-count": 2, "lost": [3, 4],
                                          "attempt-count": 9}}
    a = classify("g-set", EXIT_INVALID, lost, [])
    assert a == Anomaly(LOST_ELEMENT, a.why) and "2 of 9 elements lost" in a.why
    count = {"valid": False, "workload": {"valid": False, "acceptable": [[3, 3]], "errors": [
        {"index": 40, "process": 1, "value": 2}]}}
    assert classify("g-counter", EXIT_INVALID, count, []).kind == WRONG_COUNT  # type: ignore[union-attr]
    live = {"valid": False, "workload": {"valid": True},
            "liveness": {"valid": False, "why": "n2 answered nothing"}}
    assert classify("lin-kv", EXIT_INVALID, live, []) == Anomaly(NOT_LIVE, "liveness: n2 answered nothing")
    assert classify("lin-kv", EXIT_CRASH, None, [], crash="node-crashed: n0 raised\ntrace") == \
        Anomaly(CRASH, "node-crashed: n0 raised")
    assert classify("lin-kv", EXIT_VALID, {"valid": True}, []) is None


def test_transactional_and_kafka_runs_name_the_checkers_first_anomaly() -> None:
    txn = {"valid": False, "workload": {"valid": False, "anomaly_types": ["G-single-realtime", "lost-update"],
                                         "explanations": ["G-single-realtime: T1 read ..."]}}
    for workload in ("txn-list-append", "txn-rw-register"):
        assert classify(workload, EXIT_INVALID, txn, []).kind == "G-single-realtime"  # type: ignore[union-attr]
    kafka = {"valid": False, "workload": {"valid": False, "bad-error-types": ["inconsistent-offsets", "lost-write"]}}
    assert classify("kafka", EXIT_INVALID, kafka, []).kind == "inconsistent-offsets"  # type: ignore[union-attr]


NEMESIS = [ev(0, 0, "nemesis", "invoke", "start-partition", value="one"),
           ev(1, 0, "nemesis", "info", "start-partition", value=["isolated", {"n0": ["n1"]}]),
           ev(2, 100, "nemesis", "invoke", "stop-partition"),
           ev(3, 100, "nemesis", "info", "stop-partition", value="network-healed"),
           ev(4, 200, "nemesis", "invoke", "start-partition", value="minority-third"),
           ev(5, 200, "nemesis", "info", "start-partition", value=["isolated", {}]),
           ev(6, 300, "nemesis", "invoke", "stop-partition"),
           ev(7, 300, "nemesis", "info", "stop-partition", value="network-healed"),
           *(e for i, (t, f) in enumerate([(400, "start-loss"), (450, "start-duplicate"),
                                            (500, "stop-loss"), (600, "stop-duplicate")])
             for e in (ev(8 + 2 * i, t, "nemesis", "invoke", f),
                       ev(9 + 2 * i, t, "nemesis", "info", f)))]


def test_fault_windows_skip_partitions_that_cut_nothing_and_merge_overlaps() -> None:
    assert fault_windows(history(*NEMESIS), 1000) == [(0, 100), (400, 600)]
    assert fault_windows(history(ev(0, 50, "nemesis", "invoke", "start-loss"),
                                 ev(1, 50, "nemesis", "info", "start-loss")), 80) == [(50, 80)]


def test_availability_counts_application_answers_but_not_outages() -> None:
    ops = history(
        *NEMESIS,
        ev(16, 10, 0, "invoke", "read", 0), ev(17, 20, 0, "fail", "read", 0,
                                               error="temporarily-unavailable"),
        ev(18, 30, 1, "invoke", "cas", 0, [1, 2]), ev(19, 40, 1, "fail", "cas", 0, [1, 2],
                                                      error="precondition-failed"),
        ev(20, 250, 0, "invoke", "read", 0), ev(21, 260, 0, "ok", "read", 0, 3),
        ev(22, 420, 1, "invoke", "write", 0, 4), ev(23, 2000, 1, "info", "write", 0, 4,
                                                     error="net-timeout"),
    ).operations()
    clients = [o for o in ops if isinstance(o.process, int)]
    # in faults: the unavailable read, the answered cas, the write lost in the loss window
    assert availability(clients, [(0, 100), (400, 600)]) == (3, 1, 1, 1)


def journal(*msgs: tuple[float, str, str, str, dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"time": int(t * 1e6), "event": e, "src": s, "dest": d, "body": b}
            for t, e, s, d, b in msgs]


def test_convergence_is_when_the_last_node_learned_the_last_update() -> None:
    j = journal((5, "recv", "c1", "n0", {"type": "add", "element": 7}),
                (6, "recv", "c2", "n1", {"type": "add", "element": 8}),
                (20, "send", "n0", "n1", {"type": "gset_state", "state": [7]}),
                (30, "recv", "n0", "n1", {"type": "gset_state", "state": [7]}),
                (40, "send", "n1", "n0", {"type": "gset_state", "state": [7, 8]}),
                (55, "recv", "n1", "n0", {"type": "gset_state", "state": [7, 8]}),
                (90, "recv", "n1", "n0", {"type": "gset_state", "state": [8, 7]}))  # nothing new
    assert convergence(j, ["n0", "n1"], since_ms=10) == (True, 45)
    assert convergence(j, ["n0", "n1"], since_ms=60) == (True, 0)
    assert convergence(j[:5], ["n0", "n1"], since_ms=10) == (False, None)


def test_counter_convergence_merges_entries_by_maximum() -> None:
    j = journal((1, "send", "n0", "n1", {"type": "counter_state", "state": {"p": {"n0": 3}, "n": {}}}),
                (2, "send", "n0", "n1", {"type": "counter_state", "state": {"p": {"n0": 2}, "n": {}}}),
                (11, "recv", "n0", "n1", {"type": "counter_state", "state": {"p": {"n0": 2}, "n": {}}}),
                (12, "recv", "n0", "n1", {"type": "counter_state", "state": {"p": {"n0": 3}, "n": {}}}))
    assert convergence(j, ["n0", "n1"], 0) == (True, 12)
    assert convergence(j[:3], ["n0", "n1"], 0) == (False, None)  # n1 saw only the older 2


def test_quiet_since_is_the_heal_or_the_last_update() -> None:
    h = history(*NEMESIS[:4], ev(12, 150, 0, "invoke", "add", None, 1),
                ev(13, 160, 0, "ok", "add", None, 1))
    assert quiet_since_ms(h, h.operations()) == 160
    assert quiet_since_ms(history(*NEMESIS[:4]), []) == 100


def measure(seed: int, verdict: str = "valid", anomaly: Anomaly | None = None,
            fault: tuple[int, int] = (0, 0), healed: tuple[int, int] = (0, 0),
            lats: tuple[float, ...] = (), msgs: int = 0, ops: int = 0,
            conv: tuple[bool | None, float | None] = (None, None)) -> RunMeasure:
    return RunMeasure(seed, verdict, anomaly, f"replay {seed}", fault[0], fault[1], healed[0],
                      healed[1], lats, ops, msgs, conv[0], conv[1])


def test_a_cell_pools_counts_over_seeds_rather_than_averaging_ratios() -> None:
    cell = Cell("lin-kv", "eventual", 3, "partition")
    runs = [measure(2, "invalid", Anomaly(STALE_READ, "why 2"), fault=(10, 10), healed=(90, 80),
                    lats=(1.0, 2.0, 3.0), msgs=100, ops=100),
            measure(1, "invalid", Anomaly(STALE_READ, "why 1"), fault=(90, 0), healed=(10, 10),
                    lats=(4.0,), msgs=500, ops=100),
            measure(3, "valid", fault=(0, 0), healed=(100, 100), lats=tuple(range(5, 101)),
                    msgs=0, ops=100),
            measure(4, "invalid", Anomaly(LOST_UPDATE, "why 4"))]
    row = summarise_cell(cell, runs)
    assert (row.seeds, row.valid, row.invalid, row.unknown, row.crashed) == (4, 1, 3, 0, 0)
    assert row.avail_fault == pytest.approx(10 / 100)  # not the mean of 1.0 and 0.0
    assert row.avail_healed == pytest.approx(190 / 200)
    assert row.msgs_per_op == pytest.approx(600 / 300)
    assert row.p50_ms == 50 and row.p99_ms == 99
    assert [(a.kind, a.seeds, a.first_seed, a.replay, a.why) for a in row.anomalies] == [
        (STALE_READ, 2, 1, "replay 1", "why 1"), (LOST_UPDATE, 1, 4, "replay 4", "why 4")]
    assert row.converge_p50_ms is None and row.not_converged == 0


def test_convergence_pools_per_seed_and_counts_the_seeds_that_never_converged() -> None:
    cell = Cell("g-set", "strong", 5, "loss")
    row = summarise_cell(cell, [measure(1, conv=(True, 30.0)), measure(2, conv=(True, 10.0)),
                                measure(3, conv=(True, 500.0)), measure(4, conv=(False, None))])
    assert (row.converge_p50_ms, row.converge_max_ms, row.not_converged) == (30.0, 500.0, 1)
    assert row.avail_fault is None and row.p50_ms is None


def test_percentile_is_nearest_rank() -> None:
    assert percentile([], 0.5) is None
    assert percentile([5.0], 0.99) == 5.0
    assert percentile([4.0, 1.0, 3.0, 2.0], 0.5) == 2.0
    assert percentile([float(i) for i in range(1, 201)], 0.99) == 198.0


def test_summarise_keeps_the_grid_order() -> None:
    cells = expand(["g-set", "lin-kv"], ["strong", "eventual"], [3], ["none"])
    runs = [(c, measure(s)) for s in (1, 2) for c in reversed(cells)]
    assert [r.cell for r in summarise(runs, cells)] == cells


def test_rendered_outputs_of_hand_built_rows() -> None:
    cells = expand(["lin-kv", "g-set"], ["eventual", "strong"], [3], ["partition"])
    rows = [summarise_cell(cells[0], [measure(1, "invalid", Anomaly(STALE_READ, "a | b"),
                                              fault=(4, 4), healed=(6, 6), lats=(0.0,), ops=10)]),
            summarise_cell(cells[1], [measure(1, fault=(4, 2), healed=(6, 6), lats=(30.0,),
                                              msgs=80, ops=10)]),
            summarise_cell(cells[2], [measure(1, fault=(0, 0), healed=(5, 5), lats=(0.0,),
                                              conv=(True, 12.0), ops=5)]),
            summarise_cell(cells[3], [measure(1, conv=(False, None))])]
    meta = Meta("gyre compare --x", "sim", "1..1", "knobs", "machine", "now", 1.0, 4)
    header, md_rows = md_table(markdown_table(rows))
    assert len(md_rows) == 4 and len(header) == len(COLUMNS)
    col = {h: i for i, h in enumerate(header)}
    assert md_rows[0][col["anomalies"]] == "stale read ×1"
    assert md_rows[1][col["answered in faults"]] == "0.50"
    assert md_rows[1][col["msgs/op"]] == "8.0"
    assert md_rows[2][col["converge ms"]] == "12 / 12"
    assert md_rows[3][col["converge ms"]] == "– ✗1"
    md = render_markdown(rows, meta)
    assert "`replay 1`" in md and "a \\| b" not in md.split("## Replay lines")[1]
    page = parse_html(render_html(rows, meta))
    assert page.replays == ["replay 1"]
    fault = next(f for f in page.figures if f["metric"] == "avail-fault")
    assert {(g, s): v for g, s, v, _ in fault["bars"]} == {
        ("lin-kv 3", "eventual"): 1.0, ("lin-kv 3", "strong"): 0.5}
    conv = next(f for f in page.figures if f["metric"] == "converge")
    assert [(g, s) for g, s, *_ in conv["bars"]] == [("g-set 3", "eventual")]  # no bar for None
    assert math.isclose(next(h for *_, v, h in fault["bars"] if v == 1.0),
                        2 * next(h for *_, v, h in fault["bars"] if v == 0.5), rel_tol=0.02)


def test_grid_expands_in_order_and_refuses_unknown_names() -> None:
    cells = expand(["lin-kv"], ["strong", "eventual"], [5, 3], ["loss"])
    assert [(c.mode, c.node_count) for c in cells] == [("strong", 5), ("strong", 3),
                                                       ("eventual", 5), ("eventual", 3)]
    with pytest.raises(ValueError, match="unknown mode 'weak'"):
        expand(["lin-kv"], ["weak"], [3], ["none"])
    args = sim_args(Cell("g-set", "causal", 5, "loss"), Knobs())
    assert args[args.index("--nemesis") + 1] == "loss,duplicate"
    assert "--nemesis" not in sim_args(Cell("g-set", "causal", 5, "none"), Knobs())


REPO = Path(__file__).resolve().parents[2]
MAKE = shutil.which("make")
MAKE_TIMEOUT_S = 120


@pytest.mark.skipif(MAKE is None, reason="make is not installed")
def test_make_compare_runs_gyre_compare_with_its_arguments(tmp_path: Path) -> None:
    assert MAKE is not None
    args = ("--seeds 1..1 --workloads broadcast --modes strong --node-counts 3 --faults none "
            f"--time-limit 1 --recovery-wait 1 --out {tmp_path}")
    # -o: never rebuild the virtualenv from inside a test
    r = subprocess.run([MAKE, "-s", "-C", str(REPO), "-o", ".venv/.installed", "compare",
                        f"COMPARE_ARGS={args}"], capture_output=True, text=True,
                       timeout=MAKE_TIMEOUT_S)
    assert r.returncode == 0, r.stderr
    _, rows = md_table((tmp_path / "compare.md").read_text())
    assert [row[:5] for row in rows] == [["broadcast", "strong", "3", "none", "1/1"]]
    help_text = subprocess.run([MAKE, "-s", "-C", str(REPO), "help"], capture_output=True,
                               text=True, timeout=MAKE_TIMEOUT_S).stdout
    assert any(line.startswith("make compare ") for line in help_text.splitlines())


def test_real_runs_go_through_gyre_test_with_the_replicated_node(tmp_path: Path) -> None:
    r = CliRunner().invoke(compare_command, ["--real", "--seeds", "1..1", "--workloads", "g-set",
                                             "--modes", "strong", "--node-counts", "3", "--faults",
                                             "none", "--time-limit", "1", "--recovery-wait", "0.5",
                                             "--out", str(tmp_path)], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    report = json.loads((tmp_path / "compare.json").read_text())
    assert report["meta"]["engine"].startswith("real node processes")
    (run,) = report["runs"]
    assert run["verdict"] == "valid" and run["converged"] is True
    assert run["replay"].startswith("gyre test -w g-set ")
    assert run["replay"].endswith("-- --mode strong --workload g-set")
    assert "## Re-run lines" in (tmp_path / "compare.md").read_text()


def test_real_runs_refuse_a_missing_node_program(tmp_path: Path) -> None:
    r = CliRunner().invoke(compare_command, ["--real", "--node-bin", str(tmp_path / "nope"),
                                             "--out", str(tmp_path / "o")])
    assert r.exit_code == 254 and not (tmp_path / "o").exists()
