"""History records: recording, pairing, JSON Lines round trips and bad input."""

from __future__ import annotations

import math
from pathlib import Path

import orjson
import pytest

from maelstrom.history import Event, History, HistoryError
from maelstrom.store import read_history, write_history


def recorded() -> History:
    h = History()
    h.invoke(time=10, process=0, f="write", key=1, value=3)
    h.invoke(time=11, process=1, f="read", key=1)
    h.complete(time=20, process=0, type="ok", value=3)
    h.complete(time=21, process=1, type="ok", value=3)
    h.invoke(time=30, process=1, f="cas", key=1, value=[3, 4])
    h.complete(time=40, process=1, type="fail", value=[3, 4], error="precondition-failed")
    h.invoke(time=50, process=0, f="write", key=1, value=5)
    h.complete(time=60, process=0, type="info", error="net-timeout")
    h.invoke(time=70, process="nemesis", f="start-partition", value="majority")
    h.invoke(time=80, process=2, f="write", key=1, value=6)
    return h


def test_recorder_assigns_indexes_and_copies_f_and_key() -> None:
    h = recorded()
    assert [e.index for e in h] == list(range(len(h)))
    assert h[2].f == "write" and h[2].key == 1
    assert h.open_processes == frozenset({"nemesis", 2})


def test_operations_pair_per_process() -> None:
    ops = recorded().operations()
    assert [(o.f, o.outcome) for o in ops] == [
        ("write", "ok"), ("read", "ok"), ("cas", "fail"), ("write", "info"),
        ("start-partition", "info"), ("write", "info")]
    read = ops[1]
    assert (read.call_time, read.return_time, read.output) == (11, 21.0, 3)
    assert ops[2].error == "precondition-failed"
    assert math.isinf(ops[3].return_time) and ops[3].return_index == 7
    missing = ops[5]
    assert missing.return_index is None and math.isinf(missing.return_time)
    assert ops[4].key is None


def test_round_trip_keeps_extra_fields(tmp_path: Path) -> None:
    h = recorded()
    h.invoke(time=90, process=3, f="read", key=2, final=True)
    path = tmp_path / "h.jsonl"
    write_history(path, h)
    back = read_history(path)
    assert [e.to_dict() for e in back] == [e.to_dict() for e in h]
    assert back[-1].extra == {"final": True}
    assert back.dumps() == h.dumps()


def test_blank_lines_are_skipped() -> None:
    text = ('\n{"index":0,"time":0,"process":0,"type":"invoke","f":"read","key":0}\n\n'
            '{"index":1,"time":5,"process":0,"type":"ok","f":"read","key":0,"value":null}\n')
    assert len(History.loads(text)) == 2


@pytest.mark.parametrize(("line", "message"), [
    ("this is not json", "not valid JSON"),
    ("[1, 2]", "expected a JSON object"),
    ('{"index":0,"time":0,"process":0,"f":"read"}', "missing field 'type'"),
    ('{"index":0,"time":0,"process":0,"type":"begin","f":"read"}', "'type' must be one of"),
    ('{"index":-1,"time":0,"process":0,"type":"invoke","f":"read"}', "'index'"),
    ('{"index":0,"time":"soon","process":0,"type":"invoke","f":"read"}', "'time'"),
    ('{"index":0,"time":0,"process":[1],"type":"invoke","f":"read"}', "'process'"),
    ('{"index":0,"time":0,"process":0,"type":"invoke","f":""}', "'f'"),
    ('{"index":0,"time":0,"process":0,"type":"ok","f":"read"}', "no open invocation"),
])
def test_bad_lines_name_file_and_line(line: str, message: str) -> None:
    good = '{"index":0,"time":0,"process":9,"type":"invoke","f":"read","key":0}'
    with pytest.raises(HistoryError) as err:
        History.loads(f"{good}\n{line}\n", source="bad.jsonl")
    assert str(err.value).startswith("bad.jsonl:2: ")
    assert message in str(err.value)


def test_pairing_errors() -> None:
    h = History(source="rec")
    h.invoke(time=0, process=0, f="read", key=0)
    with pytest.raises(HistoryError, match="has not completed"):
        h.invoke(time=1, process=0, f="write", key=0, value=1)
    with pytest.raises(HistoryError, match="completes 'write' but invoked 'read'"):
        h.append(Event(1, 2, 0, "ok", "write", 0, 1))
    with pytest.raises(HistoryError, match="differs from the invocation's key"):
        h.append(Event(1, 2, 0, "ok", "read", 5, 1))
    with pytest.raises(HistoryError, match="no open invocation"):
        h.complete(time=3, process=7, type="ok")
    with pytest.raises(HistoryError, match="needs ok, fail or info"):
        h.complete(time=3, process=0, type="invoke")


def test_unreadable_file_is_a_history_error(tmp_path: Path) -> None:
    with pytest.raises(HistoryError, match="cannot read"):
        read_history(tmp_path / "missing.jsonl")


def test_event_from_dict_keeps_unknown_fields() -> None:
    e = Event.from_dict({"index": 0, "time": 1, "process": "nemesis", "type": "info",
                         "f": "start-partition", "value": None, "exception": "x"})
    assert e.extra == {"exception": "x"} and e.key is None
    assert orjson.loads(orjson.dumps(e.to_dict()))["exception"] == "x"
