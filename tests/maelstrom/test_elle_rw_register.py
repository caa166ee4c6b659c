"""The rw-register checker on hand-built histories."""

from __future__ import annotations

from typing import Any

import pytest

from maelstrom.elle import ElleError, check_rw_register
from tests.maelstrom.elle_histories import build


def w(k: Any, v: Any) -> list[Any]:
    return ["w", k, v]


def r(k: Any, v: Any = None) -> list[Any]:
    return ["r", k, v]


def check(h: Any, *models: str) -> dict[str, Any]:
    return check_rw_register(h, models or ("strict-serializable",))


def only(res: dict[str, Any], kind: str) -> dict[str, Any]:
    assert kind in res["anomaly_types"], res["anomaly_types"]
    return res["anomalies"][kind][0]


def test_serial_history_is_valid() -> None:
    h = build(("txn", 0, [r("x"), w("x", 1)], [r("x", None), w("x", 1)]),
              ("txn", 1, [r("x"), w("x", 2), r("x")], [r("x", 1), w("x", 2), r("x", 2)]),
              ("txn", 2, [r("x"), r("y")], [r("x", 2), r("y", None)]))
    res = check(h)
    assert res["valid"] is True and res["anomaly_types"] == []


def test_null_read_after_a_completed_write_is_a_realtime_anomaly() -> None:
    h = build(("txn", 0, [w("x", 1)], [w("x", 1)]), ("txn", 1, [r("x")], [r("x", None)]))
    res = check(h)
    a = only(res, "G-single-realtime")
    assert 'read key "x" as null (its initial state), which T2' in a["explanation"]
    assert "overwrote with 1 (rw)" in a["explanation"]
    assert check(h, "serializable")["valid"] is True


def test_writes_follow_reads_orders_versions() -> None:
    # T2 read x=1 and wrote x=2, so 1 < 2; T3 saw 1 on x but T2's y.
    h = build(("txn", 0, [w("x", 1)], [w("x", 1)]),
              ("inv", 2, [r("x"), r("y")]),
              ("txn", 1, [r("x"), w("x", 2), w("y", 1)], [r("x", 1), w("x", 2), w("y", 1)]),
              ("ok", 2, [r("x", 1), r("y", 1)]))
    res = check(h, "serializable")
    a = only(res, "G-single")
    assert sorted(s["type"] for s in a["steps"]) == ["rw", "wr"]
    assert "read it too and then overwrote it with 2 (rw)" in a["explanation"]


def test_write_skew_is_g2_item() -> None:
    h = build(("inv", 0, [r("x"), w("y", 1)]), ("inv", 1, [r("y"), w("x", 1)]),
              ("ok", 0, [r("x", None), w("y", 1)]), ("ok", 1, [r("y", None), w("x", 1)]))
    res = check(h, "serializable")
    assert only(res, "G2-item")["steps"][0]["type"] == "rw"
    assert check(h, "snapshot-isolation")["valid"] is True


def test_g1a_g1b_garbage_and_internal() -> None:
    h = build(("inv", 0, [w("x", 1)]), ("fail", 0),
              ("inv", 1, [w("y", 1), w("y", 2)]),
              ("txn", 2, [r("x"), r("y"), r("z")], [r("x", 1), r("y", 1), r("z", 7)]),
              ("ok", 1, [w("y", 1), w("y", 2)]),
              ("txn", 3, [w("q", 1), r("q")], [w("q", 1), r("q", None)]))
    res = check(h)
    assert "which failed (an aborted read)" in only(res, "G1a")["explanation"]
    assert "intermediate write" in only(res, "G1b")["explanation"]
    assert "no transaction wrote" in only(res, "garbage-read")["explanation"]
    internal = only(res, "internal")
    assert internal["expected"] == 1 and "right after it wrote 1" in internal["explanation"]


def test_lost_update() -> None:
    h = build(("txn", 0, [w("x", 1)], [w("x", 1)]),
              ("inv", 1, [r("x"), w("x", 2)]), ("inv", 2, [r("x"), w("x", 3)]),
              ("ok", 1, [r("x", 1), w("x", 2)]), ("ok", 2, [r("x", 1), w("x", 3)]))
    res = check(h, "repeatable-read")
    assert set(res["anomaly_types"]) >= {"lost-update", "G2-item"}
    assert check(h, "read-committed")["valid"] is True


def test_info_write_seen_by_a_read_participates() -> None:
    h = build(("inv", 0, [w("x", 1), w("y", 1)]), ("info", 0),
              ("txn", 1, [r("x"), r("y")], [r("x", 1), r("y", None)]))
    a = only(check(h, "serializable"), "G-single")
    assert "info" in [t["type"] for t in a["cycle"]]


def test_info_write_never_seen_is_harmless() -> None:
    h = build(("inv", 0, [w("x", 1)]), ("info", 0), ("txn", 1, [r("x")], [r("x", None)]))
    assert check(h)["valid"] is True


def test_no_ok_transaction_is_invalid() -> None:
    res = check(build(("inv", 0, [w("x", 1)]), ("info", 0)))
    assert res["valid"] is False and res["anomaly_types"] == ["empty-transaction-graph"]
    assert res["not"] == []


def test_bad_histories_raise() -> None:
    with pytest.raises(ElleError, match="null"):
        check(build(("txn", 0, [w("x", None)], [w("x", None)])))
    with pytest.raises(ElleError, match="unique"):
        check(build(("txn", 0, [w("x", 1)], [w("x", 1)]), ("txn", 1, [w("x", 1)], [w("x", 1)])))
    with pytest.raises(ElleError, match="micro-op"):
        check(build(("txn", 0, [["append", "x", 1]], [["append", "x", 1]])))


def test_future_read() -> None:
    h = build(("txn", 0, [r("x"), w("x", 1)], [r("x", 1), w("x", 1)]))
    assert "writes there only later" in only(check(h), "future-read")["explanation"]
