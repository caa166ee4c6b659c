"""The report's parts without a browser: ticks, partition spans, the failing key's layout, Lamport windows."""

from __future__ import annotations

import html
import re
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from maelstrom.history import History
from maelstrom.report import lamport_svg, linearizability_svg, pick_windows, render_report
from maelstrom.report.partitions import describe_grudge, partition_spans
from maelstrom.report.svg import MONO_ADVANCE, fmt_tick, linear_ticks, log_ticks


def test_ticks_are_round() -> None:
    assert linear_ticks(0, 4.64)[0] == [0, 1, 2, 3, 4]  # not 1.55, 3.09, 4.64
    ticks, step = linear_ticks(0, 2.6, 8)
    assert step == 0.5 and [fmt_tick(t, step) for t in ticks] == ["0", "0.5", "1.0", "1.5",
                                                                   "2.0", "2.5"]
    ticks, step = linear_ticks(640.3, 781.9, 7)
    assert step == 20 and ticks[0] == 660 and ticks[-1] == 780
    assert log_ticks(0.1, 100) == [0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100]
    assert log_ticks(0.01, 10_000) == [0.01, 0.1, 1, 10, 100, 1000, 10_000]
    assert fmt_tick(0.30000000000000004, 0.1) == "0.3" and fmt_tick(-0.0, 1) == "0"


def nemesis_history(*partitions: tuple[int, str, Any, int | None]) -> History:
    """Client ops every 10 ms and the given (start ms, shape, completion value, stop ms) partitions."""
    h = History()
    events: list[tuple[int, str, dict[str, Any]]] = []
    for t in range(0, 100, 10):
        events.append((t * 1_000_000, "op", {"process": 0, "f": "read", "key": 0}))
    for start, shape, value, stop in partitions:
        events.append((start * 1_000_000, "start", {"value": shape, "done": value}))
        if stop is not None:
            events.append((stop * 1_000_000, "stop", {}))
    for t, kind, d in sorted(events, key=lambda e: e[0]):
        if kind == "op":
            h.invoke(time=t, process=0, f="read", key=0)
            h.complete(time=t + 1_000_000, process=0, type="ok", value=None)
        elif kind == "start":
            h.invoke(time=t, process="nemesis", f="start-partition", value=d["value"])
            h.complete(time=t, process="nemesis", type="info", value=d["done"])
        else:
            h.invoke(time=t, process="nemesis", f="stop-partition")
            h.complete(time=t, process="nemesis", type="info", value="network-healed")
    return h


def test_a_partition_that_cut_nothing_is_not_shaded() -> None:
    h = nemesis_history((10, "minority-third", ["isolated", {}], 30),
                        (40, "majority", ["isolated", {"n0": ["n1", "n2"], "n1": ["n0"],
                                                       "n2": ["n0"]}], 60),
                        (70, "majorities-ring", ["isolated", {"n0": ["n2"], "n1": ["n0"],
                                                              "n2": ["n1"]}], None))
    spans = partition_spans(h, 100.0)
    assert [(s.start_ms, s.end_ms, s.kind, s.shape) for s in spans] == [
        (40.0, 60.0, "majority", "n0 | n1 n2"),
        (70.0, 100.0, "majorities-ring", "n2↛n0 n0↛n1 n1↛n2")]
    page = render_report("lin-kv", h, iter(()), {"valid": True}, 100.0)
    assert page.count('class="partition"') == 4  # two spans, in each of the two charts
    assert 'data-start-ms="10.0"' not in page and 'data-start-ms="40.0"' in page
    assert page.count('class="partition-row"') == 2
    assert "1 more start-partition op cut no link (minority-third at 0.01 s) and is not shaded" in page


def test_a_partition_value_from_elsewhere_is_shown_as_unknown() -> None:
    spans = partition_spans(nemesis_history((10, "", ":majority", 20)), 50.0)
    assert len(spans) == 1 and spans[0].grudge is None and "unknown" in spans[0].shape


def test_grudge_shapes() -> None:
    assert describe_grudge({"n1": ["n0", "n2"], "n0": ["n1"], "n2": ["n1"]}) == "n1 | n0 n2"
    five = {"n0": ["n3", "n4"], "n1": ["n3", "n4"], "n2": ["n3", "n4"], "n3": ["n0", "n1", "n2"],
            "n4": ["n0", "n1", "n2"]}
    assert describe_grudge(five) == "n3 n4 | n0 n1 n2"
    assert describe_grudge({"n10": ["n2"]}) == "n2↛n10"


def journal(n: int) -> list[dict[str, Any]]:
    """n messages c0 → n0, each sent then received 1 ms later, after an init exchange."""
    out: list[dict[str, Any]] = [
        {"event": "send", "time": 0, "id": -1, "src": "c9", "dest": "n0",
         "body": {"type": "init", "node_id": "n0", "node_ids": ["n0"], "msg_id": 1}}]
    for i in range(n):
        body = {"type": "read", "key": i, "msg_id": i}
        out.append({"event": "send", "time": i * 2_000_000, "id": i, "src": "c0", "dest": "n0",
                    "body": body})
        out.append({"event": "recv", "time": i * 2_000_000 + 1_000_000, "id": i, "src": "c0",
                    "dest": "n0", "body": body})
    return out


def test_windows_around_anchors_from_one_pass() -> None:
    j = journal(500)  # 1,000 events, 2 ms per message
    found = pick_windows(iter(j), [(400_000_000, "a"), (402_000_000, "b"), (900_000_000, "c")],
                         before=10, after=20)
    assert found.total == 1000 and found.nodes == ["n0"]
    assert [w.reasons for w in found.windows] == [["a", "b"], ["c"]]  # a and b overlap: merged
    a, c = found.windows
    assert a.first_seq == 390 and a.last_seq == 421  # 10 before "a", 20 from "b" on
    assert c.first_seq == 890 and len(c.events) == 30
    tail = pick_windows(iter(j), [(10**12, "after the end")], before=10, after=20)
    assert tail.windows[0].first_seq == 990 and tail.windows[0].last_seq == 999
    first = pick_windows(iter(j), [], before=10, after=20)
    assert first.windows[0].first_seq == 0 and len(first.windows[0].events) == 30


def test_lamport_labels_have_a_row_each_and_fit_their_arrow() -> None:
    j = journal(40)
    svg = lamport_svg(j, marks=[(10_000_000, "P1 starts: one: n0 | n1 n2")])
    ys = re.findall(r'<text class="label" x="[\d.]+" y="([\d.]+)"', svg)
    assert len(ys) == 40 and len(set(ys)) == 40  # one label per message, each on its own row
    assert "P1 starts" in svg and "init" not in svg
    for text in re.findall(r'<text class="label"[^>]*>([^<]*)</text>', svg):
        assert len(html.unescape(text)) * 9.5 * MONO_ADVANCE <= 150 - 12  # the gap c0 to n0


ops = st.lists(st.tuples(st.integers(0, 3), st.integers(0, 10_000), st.integers(0, 4_000),
                         st.sampled_from(["read → 3", "write 12", "cas 1→4",
                                          "cas failed: saw a value ≠ 17", "read → 1234567"])),
               min_size=1, max_size=40)


@settings(max_examples=60, deadline=None)
@given(ops)
def test_failing_key_labels_stay_in_the_picture_and_apart(spec: list[tuple[int, int, int, str]]) -> None:
    busy: dict[int, int] = {}
    failure_ops = []
    for i, (proc, gap, length, desc) in enumerate(spec):
        call = busy.get(proc, 0) + gap * 1000
        ret = call + length * 1000 + 1
        busy[proc] = ret
        failure_ops.append({"index": i, "process": proc, "call_time": call, "return_time": ret,
                            "description": desc, "type": "ok"})
    bad = failure_ops[-1]
    failure = {"reason": f"index {bad['index']} and index 0", "op": bad, "ops": failure_ops,
               "prefix": failure_ops[:2]}
    for width in (760, 1480):
        svg = linearizability_svg(failure, width)
        assert 'id="failing-op"' in svg
        boxes = []
        for x, y, anchor, text in re.findall(r'<text class="op-label" data-index="\d+" '
                                             r'x="([\d.-]+)" y="([\d.]+)" text-anchor="(\w+)"'
                                             r'[^>]*>([^<]*)</text>', svg):
            w = len(html.unescape(text)) * 11 * MONO_ADVANCE
            x0 = float(x) if anchor == "start" else float(x) - w
            assert 0 <= x0 and x0 + w <= width + 0.01, (text, x0, w)
            boxes.append((x0, x0 + w, float(y)))
        assert len(boxes) == len(spec)
        for i, a in enumerate(boxes):
            for b in boxes[i + 1:]:
                assert a[2] != b[2] or a[1] <= b[0] or b[1] <= a[0], (a, b)


def test_an_empty_run_still_renders() -> None:
    page = render_report("echo", History(), iter(()), {"valid": "unknown"}, 0.0)
    assert "echo: <span class='headline unknown'" in page and "No messages." in page
    assert "0: <b>0</b> ok" in page and "p50 – · p99 –" in page


# -- Elle cycles ----------------------------------------------------------------------------------


def _checked_cycle() -> dict[str, Any]:
    """A real G-single-realtime found by the list-append checker, as results.json holds it."""
    from maelstrom.elle import check_list_append
    from tests.maelstrom.elle_histories import build

    h = build(("txn", 0, [["append", "x", 1]], [["append", "x", 1]]),
              ("txn", 1, [["r", "x", None], ["append", "y", 2]], [["r", "x", []], ["append", "y", 2]]),
              ("txn", 2, [["r", "x", None]], [["r", "x", [1]]]))  # shows that 1 is x's first element
    res = check_list_append(h, ("strict-serializable",))
    assert res["valid"] is False
    return res


def test_a_cycle_is_drawn_box_by_box_with_every_edge_labelled() -> None:
    from maelstrom.report.cycles import EDGE_COLOURS, cycle_svg

    [anomaly] = _checked_cycle()["anomalies"]["G-single-realtime"]
    svg = cycle_svg(anomaly)
    texts = [html.unescape(t) for t in re.findall(r"<text[^>]*>([^<]*)</text>", svg)]
    names = [t.split()[0] for t in texts if re.match(r"T\d ", t)]
    assert names == [t["name"] for t in anomaly["cycle"]] == ["T1", "T2"]
    # one arrow down per step but the last, which closes the cycle on the right
    assert svg.count("class='edge'") == 1 and svg.count("class='edge closing'") == 1
    kinds = [s["type"] for s in anomaly["steps"]]
    assert kinds == ["rw", "realtime"]
    assert "rw, key x" in texts and "realtime" in texts
    assert all(EDGE_COLOURS[k] in svg for k in kinds)
    width = int(re.search(r"width='(\d+)'", svg).group(1))  # type: ignore[union-attr]
    for x, text in re.findall(r"<text x='(\d+)'[^>]*>([^<]*)</text>", svg):
        assert int(x) + len(html.unescape(text)) * 12 * MONO_ADVANCE <= width, text


def test_the_report_shows_each_anomaly_types_first_cycle_and_nothing_without_cycles() -> None:
    res = _checked_cycle()
    page = render_report("txn-list-append", History(), iter([]), {"valid": False, "workload": res}, 1000.0)
    assert "Anomalies: G-single-realtime" in page and page.count("<svg class='cycle'") == 1
    assert html.escape(res["explanations"][0].split(": ", 1)[-1][:40]) in page
    plain = render_report("lin-kv", History(), iter([]), {"valid": True, "workload": {"valid": True}}, 1000.0)
    assert "class='cycle'" not in plain and "Anomalies" not in plain
