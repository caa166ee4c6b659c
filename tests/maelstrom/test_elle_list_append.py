"""The list-append checker on hand-built histories, one anomaly class at a time."""

from __future__ import annotations

from typing import Any

import pytest

from maelstrom.elle import ElleError, UnknownModel, check_list_append
from tests.maelstrom.elle_histories import build


def ap(k: Any, v: Any) -> list[Any]:
    return ["append", k, v]


def r(k: Any, v: Any = None) -> list[Any]:
    return ["r", k, v]


def check(h: Any, *models: str) -> dict[str, Any]:
    return check_list_append(h, models or ("strict-serializable",))


def only(res: dict[str, Any], kind: str) -> dict[str, Any]:
    assert kind in res["anomaly_types"], res["anomaly_types"]
    return res["anomalies"][kind][0]


def test_serial_history_is_valid() -> None:
    h = build(("txn", 0, [ap("x", 1)], [ap("x", 1)]),
              ("txn", 1, [r("x"), ap("x", 2)], [r("x", [1]), ap("x", 2)]),
              ("txn", 0, [r("x"), r("y")], [r("x", [1, 2]), r("y", None)]))
    res = check(h)
    assert res["valid"] is True
    assert res["anomaly_types"] == [] and res["not"] == [] and res["explanations"] == []
    assert res["ok_count"] == 3


def test_concurrent_but_serializable_is_valid() -> None:
    # T2 read x empty while T1's append was in flight: T2 serializes before T1.
    h = build(("inv", 0, [ap("x", 1)]), ("inv", 1, [r("x"), ap("y", 1)]),
              ("ok", 1, [r("x", []), ap("y", 1)]), ("ok", 0, [ap("x", 1)]),
              ("txn", 2, [r("x"), r("y")], [r("x", [1]), r("y", [1])]))
    assert check(h)["valid"] is True


def test_g0_write_cycle() -> None:
    h = build(("inv", 0, [ap("x", 1), ap("y", 1)]), ("inv", 1, [ap("x", 2), ap("y", 2)]),
              ("ok", 0, [ap("x", 1), ap("y", 1)]), ("ok", 1, [ap("x", 2), ap("y", 2)]),
              ("txn", 2, [r("x"), r("y")], [r("x", [1, 2]), r("y", [2, 1])]))
    res = check(h)
    assert res["valid"] is False
    a = only(res, "G0")
    assert [s["type"] for s in a["steps"]] == ["ww", "ww"]
    assert 'appended 1 to key "x"' in a["explanation"]
    assert 'appended 2 right after it (ww)' in a["explanation"]
    assert "index 0, process 0" in a["explanation"] and "index 1, process 1" in a["explanation"]
    assert "a cycle" in a["explanation"]
    assert a["diagram"].splitlines()[0].startswith("T1 (index")
    assert res["not"] == ["read-uncommitted"]
    assert "serializable" in res["also_not"]


def test_g1c_circular_information_flow() -> None:
    h = build(("inv", 0, [ap("x", 1), r("y")]), ("inv", 1, [ap("y", 1), r("x")]),
              ("ok", 0, [ap("x", 1), r("y", [1])]), ("ok", 1, [ap("y", 1), r("x", [1])]))
    res = check(h)
    a = only(res, "G1c")
    assert sorted(s["type"] for s in a["steps"]) == ["wr", "wr"]
    assert "which T2 read (wr)" in a["explanation"] or "which T1 read (wr)" in a["explanation"]
    assert res["not"] == ["read-committed"]
    assert check(h, "read-uncommitted")["valid"] is True


def read_skew() -> Any:
    # T2 saw T1's y but not T1's x.
    return build(("inv", 0, [ap("x", 1), ap("y", 1)]), ("inv", 1, [r("x"), r("y")]),
                 ("ok", 0, [ap("x", 1), ap("y", 1)]), ("ok", 1, [r("x", []), r("y", [1])]),
                 ("txn", 2, [r("x")], [r("x", [1])]))


def test_g_single_read_skew() -> None:
    res = check(read_skew(), "serializable")
    a = only(res, "G-single")
    assert sorted(s["type"] for s in a["steps"]) == ["rw", "wr"]
    assert 'read key "x" before anything was appended to it, missing 1' in a["explanation"]
    assert res["not"] == ["consistent-view"]
    assert "snapshot-isolation" in res["also_not"]
    assert check(read_skew(), "snapshot-isolation")["valid"] is False
    assert check(read_skew(), "read-committed")["valid"] is True


def write_skew() -> Any:
    return build(("inv", 0, [r("x"), ap("y", 1)]), ("inv", 1, [r("y"), ap("x", 1)]),
                 ("ok", 0, [r("x", []), ap("y", 1)]), ("ok", 1, [r("y", []), ap("x", 1)]),
                 ("txn", 2, [r("x"), r("y")], [r("x", [1]), r("y", [1])]))


def test_g2_item_write_skew() -> None:
    res = check(write_skew(), "serializable")
    a = only(res, "G2-item")
    assert [s["type"] for s in a["steps"]] == ["rw", "rw"]
    assert res["not"] == ["repeatable-read"]
    assert check(write_skew(), "snapshot-isolation")["valid"] is True
    assert check(write_skew(), "repeatable-read")["valid"] is False


def stale_read(same_process: bool) -> Any:
    p2 = 0 if same_process else 1
    return build(("txn", 0, [ap("x", 1)], [ap("x", 1)]),
                 ("txn", p2, [r("x")], [r("x", [])]),
                 ("txn", 2, [r("x")], [r("x", [1])]))


def test_stale_read_is_a_realtime_anomaly_only_for_strict_models() -> None:
    res = check(stale_read(False))
    a = only(res, "G-single-realtime")
    assert sorted(s["type"] for s in a["steps"]) == ["realtime", "rw"]
    assert "completed before" in a["explanation"]
    assert res["not"] == ["strong-snapshot-isolation"]
    assert "strict-serializable" in res["also_not"]
    assert check(stale_read(False), "serializable")["valid"] is True
    assert check(stale_read(False), "strong-session-serializable")["valid"] is True


def test_stale_read_on_one_process_is_a_process_anomaly() -> None:
    res = check(stale_read(True), "strong-session-serializable")
    a = only(res, "G-single-process")
    assert "ran on process 0" in a["explanation"]
    assert "G-single-realtime" not in res["anomaly_types"]
    assert check(stale_read(True), "serializable")["valid"] is True


def test_g1a_aborted_read() -> None:
    h = build(("inv", 0, [ap("x", 1)]), ("fail", 0),
              ("txn", 1, [r("x")], [r("x", [1])]))
    res = check(h)
    a = only(res, "G1a")
    assert a["element"] == 1 and a["writer"]["type"] == "fail"
    assert "which failed (an aborted read)" in a["explanation"]
    assert res["not"] == ["read-committed"]


def test_dirty_update() -> None:
    h = build(("inv", 0, [ap("x", 1)]), ("fail", 0),
              ("txn", 1, [ap("x", 2)], [ap("x", 2)]),
              ("txn", 2, [r("x")], [r("x", [1, 2])]))
    res = check(h)
    a = only(res, "dirty-update")
    assert (a["failed"], a["element"]) == (1, 2)
    assert "G1a" in res["anomaly_types"]


def test_g1b_intermediate_read() -> None:
    h = build(("inv", 0, [ap("x", 1), ap("x", 2)]), ("txn", 1, [r("x")], [r("x", [1])]),
              ("ok", 0, [ap("x", 1), ap("x", 2)]))
    a = only(check(h), "G1b")
    assert a["element"] == 1
    assert "intermediate" in a["explanation"] and "appended 2" in a["explanation"]


def test_internal_inconsistency() -> None:
    h = build(("txn", 0, [ap("x", 1), r("x")], [ap("x", 1), r("x", [])]),
              ("txn", 1, [r("y"), r("y")], [r("y", []), r("y", [5])]))
    res = check(h)
    got = {a["key"]: a for a in res["anomalies"]["internal"]}
    assert got["x"]["expected"] == [1] and not got["x"]["expected_exact"]
    assert got["y"]["expected"] == [] and got["y"]["expected_exact"]
    assert "its own earlier micro-ops" in got["x"]["explanation"]
    assert check(h, "read-committed")["anomaly_types"] == ["garbage-read"]


def test_duplicate_elements() -> None:
    h = build(("txn", 0, [ap("x", 1)], [ap("x", 1)]),
              ("txn", 1, [r("x")], [r("x", [1, 1])]))
    a = only(check(h), "duplicate-elements")
    assert a["element"] == 1 and "appears 2 times" in a["explanation"]


def test_incompatible_order() -> None:
    h = build(("txn", 0, [ap("x", 1)], [ap("x", 1)]), ("txn", 1, [ap("x", 2)], [ap("x", 2)]),
              ("txn", 2, [r("x")], [r("x", [1, 2])]), ("txn", 3, [r("x")], [r("x", [2])]))
    res = check(h)
    a = only(res, "incompatible-order")
    assert a["values"] == [[2], [1, 2]] and "neither is a prefix" in a["explanation"]
    assert res["not"] == ["read-committed"]


def test_garbage_read() -> None:
    h = build(("txn", 0, [r("x")], [r("x", [99])]))
    a = only(check(h), "garbage-read")
    assert "no transaction appended" in a["explanation"]


def test_lost_update() -> None:
    h = build(("inv", 0, [r("x"), ap("x", 1)]), ("inv", 1, [r("x"), ap("x", 2)]),
              ("ok", 0, [r("x", []), ap("x", 1)]), ("ok", 1, [r("x", []), ap("x", 2)]))
    res = check(h, "repeatable-read")
    a = only(res, "lost-update")
    assert len(a["txns"]) == 2 and "without seeing" in a["explanation"]
    assert res["not"] == ["cursor-stability"]
    assert check(h, "read-committed")["valid"] is True


def test_info_append_seen_by_a_read_participates() -> None:
    h = build(("inv", 0, [ap("x", 1), ap("y", 1)]), ("info", 0),
              ("txn", 1, [r("x"), r("y")], [r("x", [1]), r("y", [])]),
              ("txn", 2, [r("y")], [r("y", [1])]))
    a = only(check(h, "serializable"), "G-single")
    assert "info" in [t["type"] for t in a["cycle"]]
    assert "process 0, info" in a["explanation"]


def test_info_append_never_seen_is_harmless() -> None:
    h = build(("inv", 0, [ap("x", 1)]), ("info", 0),
              ("txn", 1, [r("x")], [r("x", [])]), ("txn", 2, [r("x")], [r("x", None)]))
    assert check(h)["valid"] is True


def test_no_ok_transaction_is_unknown() -> None:
    h = build(("inv", 0, [ap("x", 1)]), ("fail", 0), ("inv", 1, [r("x")]), ("info", 1))
    res = check(h)
    assert res["valid"] == "unknown"
    assert res["anomaly_types"] == ["empty-transaction-graph"]


def test_models_are_checked() -> None:
    h = build(("txn", 0, [ap("x", 1)], [ap("x", 1)]))
    with pytest.raises(UnknownModel, match="snapshot-serializable"):
        check(h, "snapshot-serializable")
    assert check(h, "PL-3", "strong-serializable")["consistency_models"] == [
        "serializable", "strict-serializable"]


def test_bad_histories_raise() -> None:
    with pytest.raises(ElleError, match="unique"):
        check(build(("txn", 0, [ap("x", 1)], [ap("x", 1)]), ("txn", 1, [ap("x", 1)], [ap("x", 1)])))
    with pytest.raises(ElleError, match="micro-op"):
        check(build(("txn", 0, [["w", "x", 1]], [["w", "x", 1]])))
    with pytest.raises(ElleError, match="does not match"):
        check(build(("txn", 0, [ap("x", 1)], [ap("x", 2)])))
    with pytest.raises(ValueError, match="clock"):
        check_list_append([], time_limit_s=1.0)


def g0_history() -> Any:
    return build(("inv", 0, [ap("x", 1), ap("y", 1)]), ("inv", 1, [ap("x", 2), ap("y", 2)]),
                 ("ok", 0, [ap("x", 1), ap("y", 1)]), ("ok", 1, [ap("x", 2), ap("y", 2)]),
                 ("txn", 2, [r("x"), r("y")], [r("x", [1, 2]), r("y", [2, 1])]))


def test_cycle_search_past_its_time_limit_is_unknown() -> None:
    ticks = iter(range(0, 10**9, 10))
    res = check_list_append(g0_history(), time_limit_s=1.0, clock=lambda: float(next(ticks)))
    assert res["valid"] == "unknown"
    assert res["anomaly_types"] == ["cycle-search-timeout"]
    assert "1.0 s limit" in res["explanations"][0]


def test_results_are_json_ready() -> None:
    import orjson
    for h in (g0_history(), write_skew(), stale_read(True)):
        res = check(h)
        assert orjson.loads(orjson.dumps(res))["valid"] is False


def test_future_read() -> None:
    h = build(("txn", 0, [r("x"), ap("x", 1)], [r("x", [1]), ap("x", 1)]))
    res = check(h)
    a = only(res, "future-read")
    assert a["element"] == 1 and "appends only later" in a["explanation"]
    assert res["not"] == ["read-committed"]


def test_an_info_txn_orders_nothing_after_it() -> None:
    # The info append may take effect after its process moved on: T2 missing it is fine.
    h = build(("inv", 0, [ap("x", 1)]), ("info", 0),
              ("txn", 0, [r("x")], [r("x", [])]),
              ("txn", 1, [r("x")], [r("x", [1])]))
    assert check(h, "strong-session-serializable")["valid"] is True
    assert check(h)["valid"] is True


def test_accepts_events_dicts_and_operations() -> None:
    from maelstrom.history import History
    h = write_skew()
    want = check(h, "serializable")["anomaly_types"]
    again = History.loads(h.dumps())
    for form in (again, list(again), [e.to_dict() for e in again], again.operations()):
        assert check_list_append(form, ["serializable"])["anomaly_types"] == want == ["G2-item"]
