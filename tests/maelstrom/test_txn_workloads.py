"""txn-list-append and txn-rw-register: Elle's generator, the client's outcome rules, gyre check,
and end-to-end runs against our single node (valid) and a stale-reading node (invalid)."""

from __future__ import annotations

import os
import random
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import CliRunner

from maelstrom.check_cli import check
from maelstrom.generator import Op
from maelstrom.sim.cli import sim_command
from maelstrom import test_cli
from maelstrom.workloads import ClientSession, WorkloadOpts, get_workload
from maelstrom.workloads.txn import WrTxns, exponential_slot, parse_consistency_models
from protocol.maelstrom_json import Message

REPO = Path(__file__).resolve().parents[2]
NODE = Path(sys.executable).parent / "gyre-node"
FAULTY = Path(__file__).parent / "nodes" / "faulty.py"
RUN_TIMEOUT_S = 60
TXN_WORKLOADS = ("txn-list-append", "txn-rw-register")
WRITE_F = {"txn-list-append": "append", "txn-rw-register": "w"}


def workload(name: str, **opts: Any) -> Any:
    return get_workload(name, WorkloadOpts(nodes=("n0",), concurrency=1, **opts))


def sample(gen: WrTxns, n: int, seed: int = 1) -> list[list[list[Any]]]:
    rng = random.Random(seed)
    return [gen.txn(rng) for _ in range(n)]


# -- the generator ---------------------------------------------------------------------


@pytest.mark.parametrize("name", TXN_WORKLOADS)
def test_lengths_uniform_and_reads_writes_half_each(name: str) -> None:
    gen = workload(name).generator(random.Random(0))
    txns = sample(gen, 8000)
    lengths = Counter(len(t) for t in txns)
    assert set(lengths) == {1, 2, 3, 4}
    assert all(abs(c / len(txns) - 0.25) < 0.03 for c in lengths.values()), lengths
    fs = Counter(m[0] for t in txns for m in t)
    assert set(fs) == {"r", WRITE_F[name]}
    assert abs(fs["r"] / sum(fs.values()) - 0.5) < 0.03, fs
    assert all(m[2] is None for t in txns for m in t if m[0] == "r")


def test_exponential_slots_each_later_one_twice_as_likely() -> None:
    rng = random.Random(3)
    n = 200_000
    counts = Counter(exponential_slot(rng, 10) for _ in range(n))
    assert set(counts) == set(range(10))
    for i in range(10):
        expected = 2 ** i / (2 ** 10 - 1)
        assert abs(counts[i] / n - expected) < 0.01 + expected * 0.1, (i, counts[i])
    for i in range(5, 10):
        assert 1.7 < counts[i] / counts[i - 1] < 2.3, counts


@pytest.mark.parametrize("name", TXN_WORKLOADS)
def test_values_one_to_max_per_key_then_a_fresh_key(name: str) -> None:
    gen = workload(name).generator(random.Random(0))
    rng = random.Random(1)
    written: dict[int, list[int]] = {}
    ever_active = set(range(10))
    for _ in range(4000):
        for f, k, v in gen.txn(rng):
            assert k in gen.active or k in ever_active
            if f != "r":
                written.setdefault(k, []).append(v)
        # a slot that moved on took the fresh key max + 1
        for k in sorted(set(gen.active) - ever_active):
            assert k == max(ever_active) + 1
            ever_active.add(k)
    # every key's values are 1, 2, ... in order: unique per key, at most 16 of them
    for k, vs in written.items():
        assert vs == list(range(1, len(vs) + 1)), (k, vs)
        assert len(vs) <= 16
    assert len(ever_active) > 30
    # a key no longer active had all 16 of its writes (its slot moved on at the 17th)
    assert len(set(gen.active)) == 10
    retired = [k for k in ever_active if k not in gen.active]
    assert len(retired) > 20 and all(len(written[k]) == 16 for k in retired)


def test_options_reach_the_generator() -> None:
    gen = workload("txn-list-append", key_count=3, max_txn_length=2, max_writes_per_key=2).generator(
        random.Random(0))
    txns = sample(gen, 500)
    assert max(len(t) for t in txns) == 2
    keys = [m[1] for t in txns for m in t]
    assert set(keys[:3]) <= {0, 1, 2}
    per_key = Counter(m[1] for t in txns for m in t if m[0] == "append")
    assert max(per_key.values()) == 2


def test_consistency_models_parse_as_maelstrom_and_plainly() -> None:
    assert parse_consistency_models("serializable , snapshot-isolation") == (
        "serializable", "snapshot-isolation")
    assert parse_consistency_models("serializable,PL-SI") == ("serializable", "PL-SI")
    for bad in ("", "bogus", "serializable,bogus"):
        with pytest.raises(ValueError):
            parse_consistency_models(bad)


# -- the client --------------------------------------------------------------------------


def rpc(name: str, reply: dict[str, Any] | None, value: list[list[Any]] | None = None) -> Any:
    w = workload(name)
    c = ClientSession("c3", w)
    value = value or [["r", 1, None], [WRITE_F[name], 1, 5]]
    req = c.request("n0", Op("txn", value))
    assert req.body == {"type": "txn", "txn": value, "msg_id": 1}
    if reply is None:
        return c.on_timeout()
    return c.on_message(Message("n0", "c3", {"in_reply_to": 1, **reply}))


@pytest.mark.parametrize("name", TXN_WORKLOADS)
def test_txn_ok_records_the_reads(name: str) -> None:
    read = [4] if name == "txn-list-append" else 4
    done = [["r", 1, read], [WRITE_F[name], 1, 5]]
    comp = rpc(name, {"type": "txn_ok", "txn": done})
    assert comp.type == "ok" and comp.value == done
    w = workload(name)
    assert w.reusable and w.idempotent == frozenset()


@pytest.mark.parametrize("code,kind", [(30, "fail"), (11, "fail"), (14, "fail"), (10, "fail"),
                                       (0, "info"), (13, "info"), (1000, "info")])
def test_errors_definite_fail_indefinite_info(code: int, kind: str) -> None:
    comp = rpc("txn-list-append", {"type": "error", "code": code, "text": "no"})
    assert comp.type == kind


def test_a_timeout_is_info_as_nothing_is_idempotent() -> None:
    comp = rpc("txn-rw-register", None)
    assert comp.type == "info" and comp.error == "net-timeout"


@pytest.mark.parametrize("name,bad", [
    ("txn-list-append", {"type": "txn_ok", "txn": [["r", 1, 3], ["append", 1, 5]]}),
    ("txn-list-append", {"type": "txn_ok", "txn": [["r", 2, None], ["append", 1, 5]]}),
    ("txn-list-append", {"type": "txn_ok", "txn": [["r", 1, None], ["append", 1, 6]]}),
    ("txn-list-append", {"type": "txn_ok", "txn": [["r", 1, None]]}),
    ("txn-rw-register", {"type": "txn_ok", "txn": [["r", 1, [4]], ["w", 1, 5]]}),
    ("txn-rw-register", {"type": "txn_ok", "txn": [["r", 1, None], ["w", 1, 5]], "extra": 1}),
])
def test_a_txn_ok_that_does_not_answer_the_txn_is_info(name: str, bad: dict[str, Any]) -> None:
    comp = rpc(name, bad)
    assert comp.type == "info" and comp.error == "malformed-rpc-response"


# -- gyre check --------------------------------------------------------------------------


def history(*ops: tuple[int, list[list[Any]], list[list[Any]] | None]) -> bytes:
    """Sequential txns (process, invocation, ok completion)."""
    events = []
    for p, inv, out in ops:
        events.append({"process": p, "type": "invoke", "f": "txn", "value": inv})
        events.append({"process": p, "type": "ok", "f": "txn", "value": out})
    return b"".join(orjson.dumps({"index": i, "time": i * 1000, **e}) + b"\n"
                    for i, e in enumerate(events))


APPEND_OK = history((0, [["append", 1, 1]], [["append", 1, 1]]),
                    (1, [["r", 1, None], ["append", 1, 2]], [["r", 1, [1]], ["append", 1, 2]]),
                    (0, [["r", 1, None]], [["r", 1, [1, 2]]]))
# The last read, after a read saw both appends, misses the second: a stale read
# (G-single-realtime).
APPEND_STALE = history((0, [["append", 1, 1]], [["append", 1, 1]]),
                       (1, [["append", 1, 2]], [["append", 1, 2]]),
                       (1, [["r", 1, None]], [["r", 1, [1, 2]]]),
                       (0, [["r", 1, None]], [["r", 1, [1]]]))
REGISTER_OK = history((0, [["w", 1, 1]], [["w", 1, 1]]),
                      (1, [["r", 1, None], ["w", 1, 2]], [["r", 1, 1], ["w", 1, 2]]))
REGISTER_STALE = history((0, [["w", 1, 1]], [["w", 1, 1]]),
                         (1, [["r", 1, None]], [["r", 1, None]]))


def gyre_check(path: Path, *args: str) -> tuple[int, str, str]:
    r = CliRunner().invoke(check, [str(path), *args])
    return r.exit_code, r.stdout, r.stderr


@pytest.mark.parametrize("name,good,bad", [("txn-list-append", APPEND_OK, APPEND_STALE),
                                           ("txn-rw-register", REGISTER_OK, REGISTER_STALE)])
def test_gyre_check_valid_and_invalid_with_the_explanation(tmp_path: Path, name: str, good: bytes,
                                                          bad: bytes) -> None:
    (tmp_path / "good.jsonl").write_bytes(good)
    (tmp_path / "bad.jsonl").write_bytes(bad)
    code, out, err = gyre_check(tmp_path / "good.jsonl", "-w", name)
    assert code == 0, out + err
    assert f"{name}: valid (" in out and "models strict-serializable" in out
    code, out, err = gyre_check(tmp_path / "bad.jsonl", "-w", name)
    assert code == 1, out + err
    lines = out.splitlines()
    assert lines[1].startswith(f"  workload ({name}): G-single-realtime")
    assert ", so not " in lines[1]
    assert any(line.strip().startswith("G-single-realtime: T1") and "cycle" in line
               for line in lines), out
    # a stale read is fine under serializability (no realtime order): valid
    code, out, err = gyre_check(tmp_path / "bad.jsonl", "-w", name, "--consistency-models",
                                "serializable")
    assert code == 0, out + err


def test_gyre_check_refuses_bad_models_and_other_histories(tmp_path: Path) -> None:
    p = tmp_path / "h.jsonl"
    p.write_bytes(APPEND_OK)
    code, out, err = gyre_check(p, "-w", "txn-list-append", "--consistency-models", "bogus")
    assert code == 254 and "unknown consistency model 'bogus'" in err
    code, out, err = gyre_check(p, "-w", "txn-rw-register")
    assert code == 254 and "not a txn-rw-register history" in err
    code, out, err = gyre_check(p, "-w", "lin-kv", "--consistency-models", "serializable")
    assert code == 254 and "--consistency-models applies to" in err


def test_gyre_check_uses_the_runs_models(tmp_path: Path) -> None:
    (tmp_path / "history.jsonl").write_bytes(APPEND_STALE)
    (tmp_path / "test.json").write_bytes(orjson.dumps({
        "workload": "txn-list-append", "consistency-models": ["serializable"]}))
    code, out, _ = gyre_check(tmp_path)
    assert code == 0 and "models serializable" in out


@pytest.mark.parametrize("bad", [["--consistency-models", "bogus"], ["--max-txn-length", "0"],
                                 ["--max-writes-per-key", "0"]])
def test_gyre_test_and_sim_refuse_bad_txn_options(tmp_path: Path, bad: list[str]) -> None:
    r = CliRunner().invoke(test_cli.test_command, ["-w", "txn-list-append", "--bin", sys.executable,
                                          "--store", str(tmp_path), *bad])
    assert r.exit_code == 254, r.output
    r = CliRunner().invoke(sim_command, ["-w", "txn-list-append", "--store", str(tmp_path), *bad])
    assert r.exit_code == 254, r.output


# -- end to end ----------------------------------------------------------------------------


def gyre_test(tmp_path: Path, name: str, bin_: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
    return subprocess.run(
        [sys.executable, "-m", "nodes.gyre_cli", "test", "-w", name, "--bin", str(bin_),
         "--node-count", "1", "--concurrency", "2", "--time-limit", "2", "--rate", "40",
         "--store", str(tmp_path / "store"), "--seed", "5", *args],
        capture_output=True, text=True, timeout=RUN_TIMEOUT_S, env=env, cwd=REPO)


@pytest.mark.parametrize("name", TXN_WORKLOADS)
def test_single_node_is_strict_serializable(tmp_path: Path, name: str) -> None:
    r = gyre_test(tmp_path, name, NODE)
    assert r.returncode == 0, r.stdout + r.stderr
    res = orjson.loads((tmp_path / "store" / name / "latest" / "results.json").read_bytes())
    w = res["workload"]
    assert w["valid"] is True and w["ok_count"] > 30 and w["consistency_models"] == [
        "strict-serializable"]
    assert res["stats"]["ok-count"] == res["stats"]["count"]


@pytest.mark.parametrize("name", TXN_WORKLOADS)
def test_a_stale_reading_node_is_caught(tmp_path: Path, name: str) -> None:
    r = gyre_test(tmp_path, name, FAULTY, "txn-stale")
    assert r.returncode == 1, r.stdout + r.stderr
    res = orjson.loads((tmp_path / "store" / name / "latest" / "results.json").read_bytes())
    types = res["workload"]["anomaly_types"]
    assert any(t.startswith(("G-single", "G2")) for t in types), types
    assert f"workload ({name}): " in r.stdout and "a cycle" in r.stdout


@pytest.mark.parametrize("name", TXN_WORKLOADS)
def test_sim_single_node_valid(tmp_path: Path, name: str) -> None:
    r = CliRunner().invoke(sim_command, ["-w", name, "--node", "single", "--node-count", "3",
                                         "--time-limit", "3", "--rate", "50", "--seed", "2",
                                         "--store", str(tmp_path)])
    assert r.exit_code == 0, r.output
    assert "Everything looks good" in r.output
