"""The run directory layout, its files and symlinks, and the HTML report."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from maelstrom.history import History
from maelstrom.report import lamport_svg, linearizability_svg, render_report
from maelstrom.store import RunStore, history_text, load_messages, read_history, timestamp_name

WHEN = dt.datetime(2024, 1, 2, 3, 4, 5, 678000, tzinfo=dt.timezone(dt.timedelta(hours=1)))


def small_history() -> History:
    h = History()
    h.invoke(time=1_000_000, process=0, f="write", key=0, value=3)
    h.complete(time=2_000_000, process=0, type="ok", value=3)
    h.invoke(time=3_000_000, process="nemesis", f="start-partition", value="one")
    h.complete(time=3_000_000, process="nemesis", type="info", value=["isolated", {"n0": ["n1"]}])
    h.invoke(time=4_000_000, process=1, f="read", key=0)
    h.complete(time=5_000_000, process=1, type="fail", error="net-timeout")
    return h


def test_timestamp_name() -> None:
    assert timestamp_name(WHEN) == "20240102T030405.678+0100"


def test_layout_symlinks_and_files(tmp_path: Path) -> None:
    s = RunStore(tmp_path, "lin-kv", WHEN)
    assert s.path == tmp_path / "lin-kv" / "20240102T030405.678+0100"
    again = RunStore(tmp_path, "lin-kv", WHEN)
    assert again.path.name == "20240102T030405.678+0100-1"
    assert (tmp_path / "latest").resolve() == again.path.resolve()
    assert (tmp_path / "current").resolve() == again.path.resolve()  # as Maelstrom names it too
    assert (tmp_path / "lin-kv" / "latest").resolve() == again.path.resolve()
    s.message({"event": "send", "time": 5, "id": 0, "src": "c0", "dest": "n0", "body": {"type": "x"}})
    s.node_log("n0", b"hello")
    s.log("phase main")
    s.write_history(small_history())
    s.write_json("results.json", {"valid": True, 1: "int keys are fine"})
    s.close()
    assert load_messages(s.path / "messages.jsonl")[0]["dest"] == "n0"
    assert (s.path / "node-logs" / "n0.log").read_text() == "hello\n"
    assert "phase main" in (s.path / "harness.log").read_text()
    assert read_history(s.path / "history.jsonl").events == small_history().events
    assert json.loads((s.path / "results.json").read_text())["1"] == "int keys are fine"
    again.close()


def test_history_text_is_tab_separated() -> None:
    lines = history_text(small_history()).splitlines()
    assert lines[0] == "0\tinvoke\twrite\t[0,3]"
    assert lines[3] == 'nemesis\tinfo\tstart-partition\t["isolated",{"n0":["n1"]}]'
    assert lines[5] == '1\tfail\tread\t[0,null]\t"net-timeout"'


def test_report_is_self_contained_with_charts() -> None:
    journal = [{"event": "send", "time": 0, "id": 0, "src": "c0", "dest": "n0",
                "body": {"type": "init", "node_id": "n0", "node_ids": ["n0"], "msg_id": 1}},
               {"event": "send", "time": 1, "id": 1, "src": "c1", "dest": "n0",
                "body": {"type": "read", "key": 0, "msg_id": 1}},
               {"event": "recv", "time": 2, "id": 1, "src": "c1", "dest": "n0",
                "body": {"type": "read", "key": 0, "msg_id": 1}},
               {"event": "send", "time": 3, "id": 2, "src": "n0", "dest": "c1",
                "body": {"type": "error", "code": 20, "in_reply_to": 1}},
               {"event": "recv", "time": 4, "id": 2, "src": "n0", "dest": "c1",
                "body": {"type": "error", "code": 20, "in_reply_to": 1}}]
    page = render_report("lin-kv", small_history(), iter(journal),
                         {"valid": True, "stats": {"valid": True}}, 6.0)
    # Summary table, two charts, one Lamport window; nothing fetched from anywhere.
    assert page.startswith("<!DOCTYPE html>") and page.count("<svg") == 3
    assert "<table class=\"summary\">" in page and "1: n0" in page
    assert "http://" not in page.replace("http://www.w3.org/2000/svg", "")
    assert "https://" not in page and " src=" not in page and "<link" not in page
    # The grudge {"n0": ["n1"]} cut n1 off from n0 from 3 ms to the end (6 ms).
    assert page.count('class="partition"') == 2  # shaded in both charts
    assert 'data-start-ms="3.0" data-end-ms="6.0" data-shape="n1↛n0"' in page
    assert "1 window, 4 of the journal's 4 events" in page
    svg = lamport_svg(journal)
    assert "init" not in svg and "#e5549a" in svg and "read {&quot;key&quot;:0}" in svg


def test_linearizability_timeline_marks_prefix_and_culprit() -> None:
    failure = {"reason": "stale: observed 0 (last stored by index 0), but index 2 certainly set "
                         "the key after that and before this operation began", "state": "1",
               "op": {"index": 4, "process": 1, "call_time": 30, "return_time": 40,
                      "description": "read → 0", "type": "ok"},
               "ops": [{"index": 0, "process": 0, "call_time": 0, "return_time": 10,
                        "description": "write 0", "type": "ok"},
                       {"index": 2, "process": 0, "call_time": 12, "return_time": 20,
                        "description": "write 1", "type": "ok"}],
               "prefix": [{"index": 0}, {"index": 2}]}
    svg = linearizability_svg(failure)
    assert "1. #0 write 0" in svg and "2. #2 write 1" in svg and "#4 read → 0" in svg
    assert 'id="failing-op"' in svg and svg.count('class="op named"') == 2
    # The failing operation's lane comes first.
    assert svg.index("process 1") < svg.index("process 0")
