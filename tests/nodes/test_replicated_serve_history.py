"""Replicated `gyre serve` judged by the linearizability checker: redis-py clients on every server
record a history while a server is killed with SIGKILL and restarted and a peer link is cut;
`gyre check` must find strong mode linearizable, and must find eventual mode's stale read.

The scenario is paced by the history itself (`Recorder.wait_for_ops`), not by sleeps.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import orjson

from tests.nodes.helpers_cluster import START_S, Cluster, ProxyThread, converged
from tests.nodes.helpers_history import Recorder, Worker

WORKERS_PER_SERVER = 2
OPS_PER_PHASE = 60


def gyre_check(history: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "nodes.gyre_cli", "check", str(history), "--json"],
                          capture_output=True, text=True, timeout=120)


def test_strong_mode_stays_linearizable_through_kill_9_restart_and_a_cut_link(tmp_path: Path) -> None:
    dirs = {n: tmp_path / n for n in ("n1", "n2", "n3")}
    cluster = Cluster("strong", data_dirs=dirs)
    proxy = ProxyThread(cluster["n2"].peer_port)
    cluster.route_via("n1", "n2", proxy.port)
    recorder = Recorder()
    stop = threading.Event()
    try:
        with cluster:
            up = {n: threading.Event() for n in cluster.servers}
            for event in up.values():
                event.set()
            ids = sorted(cluster.servers)
            stride = len(ids) * WORKERS_PER_SERVER
            workers = [Worker(recorder, p, stride, lambda n=ids[p % len(ids)]: cluster[n].port,
                              up[ids[p % len(ids)]], stop, seed=p) for p in range(stride)]
            for w in workers:
                w.start()
            recorder.wait_for_ops(OPS_PER_PHASE)
            up["n3"].clear()
            cluster.kill("n3")  # SIGKILL: what n3 acknowledged must survive in its --dir
            recorder.wait_for_ops(OPS_PER_PHASE)
            cluster.spawn("n3")
            cluster.wait_ready("n3")  # on a new RESP port, which its workers pick up
            up["n3"].set()
            recorder.wait_for_ops(OPS_PER_PHASE)
            proxy.cut()  # n1 and n2 no longer talk; each still has n3 for a majority
            recorder.wait_for_ops(OPS_PER_PHASE)
            proxy.restore()
            recorder.wait_for_ops(OPS_PER_PHASE)
            stop.set()
            for w in workers:
                w.join(START_S)
    finally:
        stop.set()
        proxy.close()
    history = tmp_path / "history.jsonl"
    recorder.write(history)
    outcomes = recorder.outcomes()
    assert outcomes.get("ok", 0) >= 4 * OPS_PER_PHASE, outcomes
    result = gyre_check(history)
    verdict = orjson.loads(result.stdout.splitlines()[0])
    assert result.returncode == 0 and verdict["valid"] is True, (outcomes, result.stdout, result.stderr)


def test_the_checker_finds_eventual_modes_stale_read_under_a_cut_link(tmp_path: Path) -> None:
    """The same history format and checker, on a history that is not linearizable: the test above
    can fail."""
    cluster = Cluster("eventual", n=2)
    proxy = ProxyThread(cluster["n2"].peer_port)
    cluster.route_via("n1", "n2", proxy.port)
    recorder = Recorder()
    try:
        with cluster:
            c = cluster.clients()
            steps = [("n1", "write", 1), ("n1", "write", 2), ("n2", "read", None)]
            for process, (node, f, value) in enumerate(steps):
                if process == 1:
                    converged(c)  # both hold 1
                    proxy.cut()
                recorder.add({"process": process, "type": "invoke", "f": f, "key": 0, "value": value})
                if f == "write":
                    c[node].set("0", value)
                else:
                    value = int(c[node].get("0"))
                recorder.add({"process": process, "type": "ok", "f": f, "key": 0, "value": value})
    finally:
        proxy.close()
    assert [e["value"] for e in recorder.events if e["type"] == "ok"] == [1, 2, 1]  # n2 still read 1
    history = tmp_path / "history.jsonl"
    recorder.write(history)
    result = gyre_check(history)
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert orjson.loads(result.stdout.splitlines()[0])["valid"] is False
