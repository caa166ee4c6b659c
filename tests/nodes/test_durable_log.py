"""DurableLog against real files: round trips, torn tails, corruption, compaction, locking, kill -9."""

from __future__ import annotations

import errno
import logging
import os
import signal
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nodes.core import DurableStore
from nodes.durable_log import (
    COMPACT_NAME,
    LOG_NAME,
    DirectoryLocked,
    DurableLog,
    DurableLogError,
    _replay,
    encode_record,
)

ROOT = Path(__file__).resolve().parents[2]
#: How many acknowledged records the kill -9 test waits for before killing.
KILL_AFTER_ACKS = 150


def log_bytes(directory: Path) -> bytes:
    return (directory / LOG_NAME).read_bytes()


def reopened(directory: Path, **kwargs: Any) -> dict[str, Any]:
    with DurableLog.open(directory, **kwargs) as store:
        return dict(store.items())


def test_round_trip_across_close_and_reopen(tmp_path: Path) -> None:
    with DurableLog.open(tmp_path / "data") as store:
        store.put("paxos/slot/a", [1, 2, None])
        store.put("paxos/counter", 7)
        store.put("other", {"nested": [1.5, "x", True]})
        store.delete("other")
        store.delete("never-there")  # no effect, nothing written
        assert store.writes == 4
        assert store.items("paxos/") == [("paxos/counter", 7), ("paxos/slot/a", [1, 2, None])]
    with DurableLog.open(tmp_path / "data") as again:
        assert again.items() == [("paxos/counter", 7), ("paxos/slot/a", [1, 2, None])]
        assert again.get("other") is None and again.get("other", 0) == 0
        assert len(again) == 2 and again.writes == 0
        assert again.records == {"paxos/counter": b"7", "paxos/slot/a": b"[1,2,null]"}


def test_value_changes_after_put_do_not_leak(tmp_path: Path) -> None:
    value = {"a": [1, 2]}
    with DurableLog.open(tmp_path) as store:
        store.put("x", value)
        value["a"].append(3)
        assert store.get("x") == {"a": [1, 2]}
        with pytest.raises(TypeError):
            store.put("bad", {1, 2})
        with pytest.raises(TypeError):
            store.put("\ud800", 1)  # a lone surrogate cannot be written
        assert store.get("bad") is None and len(store) == 1
    assert reopened(tmp_path) == {"x": {"a": [1, 2]}}


def test_unicode_and_latin1_binary_names(tmp_path: Path) -> None:
    binary = bytes(range(256)).decode("latin-1")  # every byte, newline and NUL included
    names = {binary: "all bytes", "clé/日本/🙂": "unicode", "\n": "newline", "": "empty", '"]\\': "json"}
    with DurableLog.open(tmp_path) as store:
        for name, value in names.items():
            store.put(name, value)
    assert log_bytes(tmp_path).count(b"\n") == len(names)  # one line per record
    assert reopened(tmp_path) == names


def test_replay_after_many_overwrites_is_the_last_state(tmp_path: Path) -> None:
    model: dict[str, Any] = {}
    with DurableLog.open(tmp_path) as store:
        for i in range(2000):
            name = f"k{i % 37}"
            if i % 11 == 0:
                store.delete(name)
                model.pop(name, None)
            else:
                store.put(name, {"i": i})
                model[name] = {"i": i}
        assert store.compactions == 0  # below compact_min_bytes: all history is in the log
    assert reopened(tmp_path) == model


def test_sync_returns_true_only_when_dirty(tmp_path: Path) -> None:
    assert DurableStore().sync() is False
    with DurableLog.open(tmp_path) as store:
        assert store.sync() is False
        store.put("a", 1)
        store.put("b", 2)
        assert store.sync() is True and store.fsyncs == 1  # one fsync for the batch
        assert store.sync() is False
        store.delete("zzz")  # absent: nothing to sync
        assert store.sync() is False
        store.delete("a")
        assert store.sync() is True and store.fsyncs == 2
        assert store.last_fsync_s > 0
        assert store.stats()["durable_records"] == 1
        assert store.bytes_on_disk == len(log_bytes(tmp_path))


def test_a_failed_fsync_poisons_the_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = DurableLog.open(tmp_path)
    store.put("a", 1)

    def failing_fsync(fd: int) -> None:
        raise OSError(errno.EIO, "I/O error")

    monkeypatch.setattr(os, "fsync", failing_fsync)
    with pytest.raises(DurableLogError, match="fsync failed"):
        store.sync()
    monkeypatch.undo()
    assert store.synced == 0 and store.dirty  # nothing counts as durable
    with pytest.raises(DurableLogError, match="accepted"):
        store.put("b", 2)
    with pytest.raises(DurableLogError):
        store.sync()  # even with a working disk: the page cache cannot be trusted after a failure
    store.close()


def write_three_then_last(directory: Path) -> tuple[int, bytes]:
    """A log of three records and a fourth; returns the size before the fourth, and the file."""
    with DurableLog.open(directory) as store:
        store.put("a", 1)
        store.put("b", "two")
        store.delete("a")
        store.sync()
        before = store.bytes_on_disk
        store.put("last", {"big": "x" * 40})
    return before, log_bytes(directory)


def test_torn_last_record_is_dropped_at_every_cut(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    before, full = write_three_then_last(tmp_path / "src")
    for cut in range(before, len(full)):
        directory = tmp_path / f"cut{cut}"
        directory.mkdir()
        (directory / LOG_NAME).write_bytes(full[:cut])
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="gyre.durable"):
            assert reopened(directory) == {"b": "two"}
        assert len(log_bytes(directory)) == before  # truncated to the last good record
        if cut > before:
            assert f"torn tail of {cut - before} bytes" in caplog.text
        assert reopened(directory) == {"b": "two"}  # and the second open has nothing to drop


@pytest.mark.parametrize("damage", ["checksum", "zero-fill", "garbage-lines"])
def test_torn_tail_forms_are_dropped(tmp_path: Path, damage: str) -> None:
    before, full = write_three_then_last(tmp_path)
    last = bytearray(full[before:])
    if damage == "checksum":
        last[20] ^= 0x01  # a complete line whose checksum fails
        tail = bytes(last)
    elif damage == "zero-fill":
        tail = b"\0" * 4096  # what a file system may leave after a power cut
    else:
        tail = b"not a record\n\xff\xfe\n" + bytes(last[:-1])
    (tmp_path / LOG_NAME).write_bytes(full[:before] + tail)
    assert reopened(tmp_path) == {"b": "two"}
    assert len(log_bytes(tmp_path)) == before


def test_corruption_in_the_middle_raises_and_keeps_the_file(tmp_path: Path) -> None:
    with DurableLog.open(tmp_path) as store:
        for i in range(5):
            store.put(f"k{i}", i)
    data = bytearray(log_bytes(tmp_path))
    offset = data.index(b"\n") + 1  # the second record
    data[offset + 15] ^= 0x20
    (tmp_path / LOG_NAME).write_bytes(data)
    with pytest.raises(DurableLogError) as err:
        DurableLog.open(tmp_path)
    text = str(err.value)
    assert str(tmp_path / LOG_NAME) in text and f"byte offset {offset}" in text and "checksum mismatch" in text
    assert log_bytes(tmp_path) == bytes(data)  # nothing truncated
    with pytest.raises(DurableLogError) as again:  # the same error: the failed open released the lock
        DurableLog.open(tmp_path)
    assert not isinstance(again.value, DirectoryLocked)


def test_valid_checksum_on_a_non_record_raises_even_at_the_end(tmp_path: Path) -> None:
    with DurableLog.open(tmp_path) as store:
        store.put("k", 1)
    good = log_bytes(tmp_path)
    for body in (b'["frob","k"]', b'{"put":1}', b'["put",1,2]', b"[1,"):
        (tmp_path / LOG_NAME).write_bytes(good + b"%08x %b\n" % (zlib.crc32(body), body))
        with pytest.raises(DurableLogError, match=f"byte offset {len(good)}"):
            DurableLog.open(tmp_path)


def test_compaction_triggers_and_the_reopened_store_is_equal(tmp_path: Path) -> None:
    model: dict[str, Any] = {}
    with DurableLog.open(tmp_path, compact_min_bytes=1024) as store:
        for i in range(3000):
            name = f"slot/{i % 20}"
            store.put(name, [i, "v" * (i % 50)])
            model[name] = [i, "v" * (i % 50)]
            if i % 7 == 0:
                store.delete(f"slot/{(i + 3) % 20}")
                model.pop(f"slot/{(i + 3) % 20}", None)
            live = sum(len(encode_record(n, v)) for n, v in store.records.items())
            assert store.bytes_on_disk <= max(1024, 2 * live)
        assert store.compactions > 10
        for name in sorted(model)[1:]:  # deleting nearly everything shrinks the log too
            store.delete(name)
            model.pop(name)
        assert store.bytes_on_disk <= 1024
        assert store.bytes_on_disk == len(log_bytes(tmp_path))
        assert dict(store.items()) == model
    assert reopened(tmp_path) == model
    assert not (tmp_path / COMPACT_NAME).exists()


def test_a_background_compaction_keeps_what_is_written_while_it_runs(tmp_path: Path) -> None:
    model: dict[str, Any] = {}
    with DurableLog.open(tmp_path, compact_min_bytes=1024) as store:
        store.background = True
        for i in range(400):
            store.put(f"k{i % 10}", i)
            model[f"k{i % 10}"] = i
        assert store.compactions == 0 and store.compaction_wanted  # asked for, not done inline
        job = store.start_compaction()
        assert not store.compaction_wanted
        store.put("k1", "after the snapshot")  # meanwhile: the old log and the job's tail get them
        store.delete("k2")
        store.put("new", [1, 2])
        model.update({"k1": "after the snapshot", "new": [1, 2]})
        del model["k2"]
        job.run()  # the worker thread's part
        assert job.error is None
        store.put("k3", "before the switch")
        model["k3"] = "before the switch"
        assert reopened_while_open(tmp_path) == model  # the old log is complete until the switch
        store.finish_compaction(job)
        assert store.compactions == 1 and store.synced == store.appended
        assert store.bytes_on_disk == len(log_bytes(tmp_path)) < 1024
        assert dict(store.items()) == model
        store.put("k4", "after the switch")  # appends go to the new log
        model["k4"] = "after the switch"
    assert reopened(tmp_path) == model
    assert not (tmp_path / COMPACT_NAME).exists()


def test_a_background_compaction_that_fails_poisons_the_store_and_keeps_the_old_log(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = DurableLog.open(tmp_path, compact_min_bytes=0)
    store.background = True
    store.put("a", 1)
    store.put("a", 2)
    job = store.start_compaction()

    def failing_fsync(fd: int) -> None:
        raise OSError(errno.EIO, "I/O error")

    monkeypatch.setattr(os, "fsync", failing_fsync)
    job.run()
    monkeypatch.undo()
    assert isinstance(job.error, OSError)
    with pytest.raises(DurableLogError, match="compaction failed"):
        store.finish_compaction(job)
    with pytest.raises(DurableLogError, match="accepted"):
        store.put("b", 3)
    store.close()
    assert reopened(tmp_path) == {"a": 2}  # the stray file of the failed compaction is removed
    assert not (tmp_path / COMPACT_NAME).exists()


def reopened_while_open(directory: Path) -> dict[str, Any]:
    """What a restart would find, read without taking the lock (the store is still open)."""
    data = log_bytes(directory)
    records, _, _ = _replay(directory / "durable.log", data)
    return {name: orjson.loads(value) for name, value in records.items()}


def test_compaction_work_is_amortised(tmp_path: Path) -> None:
    """Bytes rewritten by compaction stay within the bytes appended (module doc)."""
    rewritten = appended = 0
    with DurableLog.open(tmp_path, compact_min_bytes=0) as store:
        for i in range(3000):
            name, compactions = f"k{i % 100}" if i % 3 else f"big{i % 10}", store.compactions
            value = i if i % 3 else "x" * (i % 200)
            store.put(name, value)
            appended += len(encode_record(name, store.records[name]))
            if i % 13 == 0:
                store.delete(f"big{i % 10}")
                appended += len(encode_record(f"big{i % 10}", None))
            if store.compactions != compactions:
                rewritten += store.bytes_on_disk
    assert store.compactions > 5 and rewritten <= appended


def test_stray_compaction_file_is_ignored_and_removed(tmp_path: Path) -> None:
    with DurableLog.open(tmp_path, compact_min_bytes=0) as store:
        store.put("a", 1)
        store.put("a", 2)
        store.put("a", 3)  # compacts: three puts of one name
        store.put("b", [1])
    # a compaction cut short before its rename: a half-written temp file next to the intact log
    (tmp_path / COMPACT_NAME).write_bytes(encode_record("a", b"999")[:-5])
    assert reopened(tmp_path) == {"a": 3, "b": [1]}
    assert not (tmp_path / COMPACT_NAME).exists()
    # cut short after its fsync, before the rename: a complete temp file, still ignored
    (tmp_path / COMPACT_NAME).write_bytes(encode_record("a", b"999"))
    assert reopened(tmp_path) == {"a": 3, "b": [1]}
    assert not (tmp_path / COMPACT_NAME).exists()


def test_second_open_of_the_directory_is_refused(tmp_path: Path) -> None:
    with DurableLog.open(tmp_path) as store:
        store.put("a", 1)
        with pytest.raises(DirectoryLocked, match="another gyre serve") as err:
            DurableLog.open(tmp_path)
        assert str(tmp_path) in str(err.value) and f"pid {os.getpid()}" in str(err.value)
    with DurableLog.open(tmp_path) as again:  # released on close
        assert again.get("a") == 1


def test_closed_store_refuses_writes(tmp_path: Path) -> None:
    store = DurableLog.open(tmp_path)
    store.put("a", 1)
    store.close()
    store.close()  # idempotent
    with pytest.raises(DurableLogError, match="closed"):
        store.put("b", 2)
    assert store.get("a") == 1  # reads still come from memory


CHILD = """
import sys
from nodes.durable_log import DurableLog
store = DurableLog.open(sys.argv[1], compact_min_bytes=8192)
for i in range(1_000_000):
    store.put(f"rec/{i:07d}", {"i": i, "pad": "p" * (i % 90)})
    store.put("last", i)
    if i % 5 == 0 and i > 0:
        store.delete(f"rec/{i - 1:07d}")
    store.sync()
    print(i, flush=True)
"""


def test_kill_9_loses_no_acknowledged_record(tmp_path: Path) -> None:
    directory = tmp_path / "data"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(directory)], stdout=subprocess.PIPE,
                             env=env, cwd=ROOT)
    assert child.stdout is not None
    acked: list[int] = []
    try:
        for line in child.stdout:
            acked.append(int(line))
            if len(acked) == 1:
                with pytest.raises(DirectoryLocked, match=f"pid {child.pid}"):
                    DurableLog.open(directory)
            if len(acked) == KILL_AFTER_ACKS:
                child.send_signal(signal.SIGKILL)
                break
        acked.extend(int(line) for line in child.stdout)  # printed before it died: acknowledged too
    finally:
        child.kill()
        child.wait()
        child.stdout.close()
    assert len(acked) >= KILL_AFTER_ACKS, "the child died before it was killed (see its stderr)"
    assert child.returncode == -signal.SIGKILL
    with DurableLog.open(directory, compact_min_bytes=8192) as store:
        assert store.get("last") >= acked[-1]
        for i in acked:
            value = store.get(f"rec/{i:07d}")
            if (i + 1) % 5 != 0:
                assert value == {"i": i, "pad": "p" * (i % 90)}
            elif i + 1 <= acked[-1]:
                assert value is None  # its acknowledged delete
            else:
                assert value in (None, {"i": i, "pad": "p" * (i % 90)})  # delete not acknowledged


OPS = st.lists(
    st.one_of(
        st.tuples(st.just("put"), st.sampled_from(["a", "b", "é", "\x00\n", "paxos/slot/x"]),
                  st.recursive(st.none() | st.booleans() | st.integers(-2**63, 2**63 - 1) | st.text(max_size=20),
                               lambda inner: st.lists(inner, max_size=3), max_leaves=5)),
        st.tuples(st.just("del"), st.sampled_from(["a", "b", "é", "zz"])),
        st.tuples(st.sampled_from(["reopen", "compact", "sync"])),
    ),
    max_size=40,
)


@settings(max_examples=40, deadline=None)
@given(ops=OPS, compact_min_bytes=st.sampled_from([0, 200, 1 << 20]))
def test_random_operations_match_a_dict_model(ops: list[tuple[Any, ...]], compact_min_bytes: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        model: dict[str, Any] = {}
        store = DurableLog.open(tmp, compact_min_bytes=compact_min_bytes)
        try:
            for op in ops:
                if op[0] == "put":
                    store.put(op[1], op[2])
                    model[op[1]] = op[2]
                elif op[0] == "del":
                    store.delete(op[1])
                    model.pop(op[1], None)
                elif op[0] == "reopen":
                    store.close()
                    store = DurableLog.open(tmp, compact_min_bytes=compact_min_bytes)
                elif op[0] == "compact":
                    store.compact()
                else:
                    store.sync()
                assert dict(store.items()) == model
                assert store.bytes_on_disk == os.path.getsize(Path(tmp) / LOG_NAME)
        finally:
            store.close()
        assert reopened(Path(tmp)) == model
