"""Replicated `gyre serve`: real processes on loopback, redis-py clients, kill -9, cut links, bad peers.

Waiting is always on something observable (a log line, an answer), never a
sleep: convergence is asked of the servers again until they agree, under a
deadline (`helpers_cluster.converged`).
"""

from __future__ import annotations

import math
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import redis

from tests.helpers import LogLines
from tests.nodes.helpers_cluster import (
    CONVERGE_S,
    START_S,
    Cluster,
    ProxyThread,
    converged,
    free_port_run,
    keyspace,
)

MODES = ("eventual", "causal")


def write_everything(c1: redis.Redis, c2: redis.Redis, c3: redis.Redis) -> None:
    """Writes of every type, spread over three servers and two databases."""
    c1.set("s", "text")
    c1.set("ttl", "soon", ex=500)
    c2.rpush("l", "a", "b", "a")
    c2.sadd("set", "x", "1", "2")
    c3.hset("h", mapping={"f1": "v1", "f2": "v2"})
    c3.zadd("z", {"m1": 1.5, "m2": math.inf, "m3": -0.0})
    c1.incrby("n", 41)
    c1.incr("n")
    c2.set("gone", "x")
    c2.delete("gone")
    c3.set("old", "v")
    c3.rename("old", "new")
    c1.set("mv", "moved")
    c1.move("mv", 2)
    c2.execute_command("SELECT", 3)
    c2.set("db3", "three")
    c2.execute_command("SELECT", 0)


@pytest.mark.parametrize("mode", MODES)
def test_writes_of_every_type_on_different_servers_converge(mode: str) -> None:
    with Cluster(mode) as cluster:
        clients = cluster.clients()
        write_everything(clients["n1"], clients["n2"], clients["n3"])
        agreed = converged(clients)
        db0 = agreed[0]
        assert {k: v[0] for k, v in db0.items()} == {
            b"s": b"string", b"ttl": b"string", b"l": b"list", b"set": b"set", b"h": b"hash",
            b"z": b"zset", b"n": b"string", b"new": b"string"}
        assert db0[b"n"][1] == b"42" and db0[b"l"][1] == [b"a", b"b", b"a"]
        assert db0[b"z"][1] == [[b"m3", 0.0], [b"m1", 1.5], [b"m2", math.inf]]
        assert db0[b"ttl"][2] > 0 and db0[b"s"][2] == -1  # the TTL replicated as an absolute time
        assert agreed[2] == {b"mv": (b"string", b"moved", -1)} and agreed[3][b"db3"][1] == b"three"


@pytest.mark.parametrize("mode", MODES)
def test_a_scripts_writes_replicate_as_its_effects(mode: str) -> None:
    with Cluster(mode) as cluster:
        c = cluster.clients()
        # A lock taken and extended with redis-py's Lua scripts on one server, a script
        # writing two databases on another: every server ends with the same keys.
        lock = c["n1"].lock("lock", timeout=60)
        assert lock.acquire(blocking=False) and lock.extend(30)
        c["n2"].eval("redis.call('rpush', KEYS[1], 'a', 'b') redis.call('select', 1) "
                     "redis.call('set', KEYS[2], ARGV[1]) return 1", 2, "sl", "sk", "v")
        agreed = converged(c)
        assert agreed[0][b"lock"][1] == lock.local.token and agreed[0][b"lock"][2] > 60_000
        assert agreed[0][b"sl"][1] == [b"a", b"b"] and agreed[1] == {b"sk": (b"string", b"v", -1)}
        c["n3"].eval("redis.call('del', 'sl')", 0)
        assert b"sl" not in converged(c)[0]


@pytest.mark.parametrize("mode", MODES)
def test_flushdb_flushall_and_swapdb_replicate(mode: str) -> None:
    with Cluster(mode) as cluster:
        c = cluster.clients()
        c["n1"].set("a", 1)
        c["n1"].execute_command("SELECT", 1)
        c["n1"].set("in1", 1)
        c["n1"].execute_command("SELECT", 0)
        converged(c)
        c["n2"].execute_command("SWAPDB", 0, 1)
        after_swap = converged(c)
        assert set(after_swap) == {0, 1} and set(after_swap[0]) == {b"in1"} and set(after_swap[1]) == {b"a"}
        c["n3"].flushdb()
        c["n3"].set("later", "kept")  # after the flush: survives it everywhere
        assert converged(c) == {0: {b"later": (b"string", b"kept", -1)}, 1: {b"a": (b"string", b"1", -1)}}
        c["n1"].flushall()
        assert converged(c) == {}


@pytest.mark.parametrize("mode", MODES)
def test_concurrent_writes_to_one_key_settle_on_one_value(mode: str) -> None:
    with Cluster(mode) as cluster:
        c = cluster.clients()

        def hammer(node_id: str) -> None:
            client = cluster[node_id].client()
            for i in range(300):
                client.set("k", f"{node_id}-{i}")
                client.rpush("log", f"{node_id}-{i}")

        threads = [threading.Thread(target=hammer, args=(n,)) for n in c]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        agreed = converged(c)[0]
        assert agreed[b"k"][1] in {f"{n}-299".encode() for n in c}  # a string: last writer wins
        # A list keeps every push, each server's in the order it pushed them.
        log = agreed[b"log"][1]
        assert sorted(log) == sorted(f"{n}-{i}".encode() for n in c for i in range(300))
        for n in c:
            mine = [x for x in log if x.startswith(f"{n}-".encode())]
            assert mine == [f"{n}-{i}".encode() for i in range(300)]


def test_a_server_killed_with_sigkill_catches_up_after_a_restart() -> None:
    with Cluster("eventual") as cluster:
        c = cluster.clients()
        c["n1"].set("before", "1")
        converged(c)
        cluster.kill("n3")
        c["n1"].set("while-down", "2")
        c["n2"].hset("h", "f", "v")
        cluster.spawn("n3")
        cluster.wait_ready("n3")
        c["n3"] = cluster["n3"].client()
        agreed = converged(c)[0]
        assert set(agreed) == {b"before", b"while-down", b"h"}


def test_a_new_server_answers_loading_until_a_peer_is_there() -> None:
    with Cluster("eventual", n=2, extra=["--sync-timeout", "60"]) as cluster:
        c = cluster.clients()
        c["n1"].set("k", "v")
        cluster.kill("n1")
        cluster.kill("n2")
        lonely = cluster.spawn("n2")
        assert lonely.log is not None
        m = lonely.log.wait_for(r"ready to accept connections on .*:(\d+)\s*$", START_S)
        lonely.port = int(m.group(1))
        client = lonely.client()
        with pytest.raises(redis.exceptions.BusyLoadingError):
            client.get("k")
        assert client.info("persistence")["loading"] == 1  # INFO works meanwhile
        cluster.spawn("n1")
        cluster.wait_ready("n1")
        lonely.log.wait_for(r"caught up with n1", START_S)
        assert client.get("k") is None  # n1 restarted empty too: both had nothing to give
        cluster["n1"].client().set("k2", "v2")
        assert converged({"n1": cluster["n1"].client(), "n2": client})[0] == {b"k2": (b"string", b"v2", -1)}


def test_info_replication_lists_the_mode_and_every_peer() -> None:
    with Cluster("causal") as cluster:
        cluster.wait_links_up()
        info = cluster["n2"].client().info("replication")
        assert info["role"] == "master" and info["gyre_mode"] == "causal" and info["gyre_node_id"] == "n2"
        assert info["gyre_peers"] == 2
        assert info["peer0"]["id"] == "n1" and info["peer1"]["id"] == "n3"
        assert {info["peer0"]["state"], info["peer1"]["state"]} == {"up"}
        assert info["peer0"]["lag_ms"] == 0 and info["peer0"]["queued"] == 0  # nothing waits for n1
        assert cluster["n2"].client().execute_command("ROLE")[0] == b"master"


def test_a_cut_link_shows_stale_reads_then_heals_without_a_restart() -> None:
    cluster = Cluster("eventual", n=2)
    proxy = ProxyThread(cluster["n2"].peer_port)
    try:
        cluster.route_via("n1", "n2", proxy.port)  # n1 dials n2 (the smaller id dials)
        with cluster:
            c = cluster.clients()
            c["n1"].set("k", "before")
            converged(c)
            proxy.cut()
            c["n1"].set("k", "after")
            assert c["n1"].get("k") == b"after" and c["n2"].get("k") == b"before"  # stale while cut
            proxy.restore()
            assert converged(c)[0] == {b"k": (b"string", b"after", -1)}
            assert cluster["n1"].log is not None
            cluster["n1"].log.wait_for(r"peer n2: link up", START_S)
    finally:
        proxy.close()


def test_writes_on_both_sides_of_a_cut_link_merge_by_type_at_the_heal() -> None:
    cluster = Cluster("eventual", n=2)
    proxy = ProxyThread(cluster["n2"].peer_port)
    try:
        cluster.route_via("n1", "n2", proxy.port)
        with cluster:
            c = cluster.clients()
            c["n1"].set("hits", 100)
            c["n1"].sadd("s", "x", "y")
            c["n1"].hset("h", mapping={"f": "0", "n": "10"})
            converged(c)
            proxy.cut()
            for _ in range(5):
                c["n1"].incr("hits")
                c["n2"].incrby("hits", 10)
            c["n1"].srem("s", "x")
            c["n2"].sadd("s", "x", "z")  # concurrent with the SREM: x stays
            c["n1"].hdel("h", "f")
            c["n2"].hset("h", "f", "kept")
            c["n1"].hincrby("h", "n", 1)
            c["n2"].hincrby("h", "n", 2)
            c["n2"].rpush("l", "from-n2")
            c["n1"].rpush("l", "from-n1")
            assert c["n1"].get("hits") == b"105" and c["n2"].get("hits") == b"150"
            proxy.restore()
            agreed = converged(c)[0]
            assert agreed[b"hits"] == (b"string", b"155", -1)  # every increment of both sides
            assert sorted(agreed[b"s"][1]) == [b"x", b"y", b"z"]
            assert dict(agreed[b"h"][1]) == {b"f": b"kept", b"n": b"13"}
            assert sorted(agreed[b"l"][1]) == [b"from-n1", b"from-n2"]
            # Deleted keys are forgotten once both servers have acknowledged the delete.
            c["n2"].delete("s", "l")
            converged(c)
            end = time.monotonic() + CONVERGE_S
            while not all(cl.info("replication")["gyre_gc_forgotten_keys"] >= 2 for cl in c.values()):
                assert time.monotonic() < end, [cl.info("replication") for cl in c.values()]
    finally:
        proxy.close()


def test_a_peer_with_the_wrong_secret_is_refused_with_a_log_line() -> None:
    cluster = Cluster("eventual", n=2, extra=["--sync-timeout", "0"])
    cluster["n1"].args += ["--cluster-secret", "right"]
    cluster["n2"].args += ["--cluster-secret", "wrong"]
    with cluster:
        logs = [cluster[n].log for n in ("n1", "n2")]
        assert all(log is not None for log in logs)
        cluster["n2"].log.find(r"wrong cluster secret", START_S)  # type: ignore[union-attr]
        cluster["n1"].client().set("k", "v")
        assert cluster["n2"].client().info("replication")["peer0"]["state"] == "down"
        assert cluster["n2"].client().get("k") is None


def test_a_peer_port_beyond_loopback_without_a_secret_refuses_to_start() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "nodes.gyre_cli", "serve", "--port", "0", "--node-id", "n1",
         "--peer-host", "0.0.0.0", "--peers", "n2=127.0.0.1:1"],
        capture_output=True, text=True, timeout=START_S)
    assert result.returncode == 2
    assert "refusing to listen for peers on 0.0.0.0 without a cluster secret" in result.stderr


def test_cluster_options_without_peers_are_refused(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "nodes.gyre_cli", "serve", "--node-id", "n1"],
                            capture_output=True, text=True, timeout=START_S)
    assert result.returncode == 2 and "give --peers too" in result.stderr


def test_keyspace_helper_sees_what_it_should() -> None:
    with Cluster("eventual", n=2) as cluster:
        c = cluster["n1"].client()
        c.set("a", "1", px=900_000)
        ks = keyspace(c)
        assert list(ks) == [0] and ks[0][b"a"][0] == b"string" and ks[0][b"a"][2] > 0


def test_gyre_cluster_runs_its_servers_with_prefixed_logs_and_stops_them_on_sigint() -> None:
    base = free_port_run(6)  # `gyre cluster` numbers the servers' ports from --port and --peer-port
    port, peer_port = base, base + 3
    ports = [port + i for i in range(3)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "nodes.gyre_cli", "cluster", "--nodes", "3", "--mode", "causal",
         "--port", str(port), "--peer-port", str(peer_port), "--loglevel", "verbose"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    log = LogLines(proc)
    try:
        for node_id in ("n1", "n2", "n3"):
            log.find(rf"^{node_id} \| .*caught up with|^{node_id} \| .*no peer answered", START_S)
        redis.Redis(port=ports[0]).set("k", "v")
        third = redis.Redis(port=ports[2])
        assert converged({"n1": redis.Redis(port=ports[0]), "n3": third})[0] == {b"k": (b"string", b"v", -1)}
        assert third.info("replication")["gyre_mode"] == "causal"
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=START_S) == 0
    for p in ports:  # every server stopped (a plain connect: redis-py would retry for seconds)
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", p), timeout=START_S).close()


@pytest.mark.parametrize("mode", MODES)
def test_a_server_restarted_with_its_dir_serves_its_data_at_once_and_catches_up(mode: str, tmp_path: Path) -> None:
    dirs = {n: tmp_path / n for n in ("n1", "n2", "n3")}
    with Cluster(mode, data_dirs=dirs) as cluster:
        c = cluster.clients()
        c["n3"].hset("h", mapping={"a": "1"})
        c["n1"].execute_command("SELECT", 2)
        c["n1"].rpush("l", "x", "y")
        c["n1"].execute_command("SELECT", 0)
        converged(c)
        cluster.kill("n3", signal.SIGTERM)  # a clean stop syncs its log
        cluster.kill("n1")
        c["n2"].set("while-down", "1")
        del c["n1"]
        lonely = cluster.spawn("n3", ["--sync-timeout", "60"])
        assert lonely.log is not None
        lonely.log.find(r"restored 2 keys from", START_S)
        m = lonely.log.find(r"ready to accept connections on .*:(\d+)\s*$", START_S)
        lonely.port = int(m.group(1))
        c["n3"] = lonely.client()
        assert c["n3"].hgetall("h") == {b"a": b"1"}  # no -LOADING: it serves what it kept
        agreed = converged(c)  # and catches up with n2 meanwhile
        assert set(agreed[0]) == {b"h", b"while-down"} and set(agreed[2]) == {b"l"}


def test_garbage_on_a_peer_port_is_refused_with_a_log_line_and_harms_nothing() -> None:
    with Cluster("eventual", n=2) as cluster:
        c = cluster.clients()
        for junk in (b"garbage\n", b"\xff" * 70_000 + b"\n", b'{"hello": "n9"}\n', b"half a line"):
            with socket.create_connection(("127.0.0.1", cluster["n2"].peer_port), timeout=START_S) as sock:
                sock.sendall(junk)
                sock.shutdown(socket.SHUT_WR)
                assert sock.recv(65536) is not None  # the server answers or closes; it does not hang
        assert cluster["n2"].log is not None
        cluster["n2"].log.find(r"refused", START_S)
        c["n1"].set("after", "junk")
        assert converged(c)[0] == {b"after": (b"string", b"junk", -1)}  # the real link was never harmed


def test_strong_mode_without_dir_refuses_to_start_unless_volatile() -> None:
    args = [sys.executable, "-m", "nodes.gyre_cli", "serve", "--port", "0", "--node-id", "n1",
            "--peers", "n2=127.0.0.1:1", "--mode", "strong"]
    result = subprocess.run(args, capture_output=True, text=True, timeout=START_S)
    assert result.returncode == 2
    assert "strong mode keeps its Paxos acceptor state in --dir" in result.stderr
    assert "--volatile" in result.stderr


def test_strong_mode_counts_routed_commands_in_commandstats_errorstats_and_monitor(tmp_path: Path) -> None:
    with Cluster("strong", data_dirs={n: tmp_path / n for n in ("n1", "n2", "n3")}) as cluster:
        c1 = cluster["n1"].client()
        with c1.monitor() as monitor:
            c1.set("k", "v")  # a round on the majority; the command counts on the server that took it
            seen = [monitor.next_command()["command"] for _ in range(2)]  # the new connection's HELLO first
            assert seen[-1] == "SET k v", seen
        c1.rpush("l", "x")
        with pytest.raises(redis.ResponseError, match="WRONGTYPE"):
            c1.get("l")
        with pytest.raises(redis.ResponseError, match="strong mode"):
            c1.mset({"a": "1", "b": "2"})
        stats = c1.info("commandstats")
        assert stats["cmdstat_set"]["calls"] == 1 and stats["cmdstat_set"]["failed_calls"] == 0
        assert stats["cmdstat_get"]["calls"] == 1 and stats["cmdstat_get"]["failed_calls"] == 1
        assert stats["cmdstat_mset"]["calls"] == 0 and stats["cmdstat_mset"]["rejected_calls"] == 1
        errors = c1.info("errorstats")
        assert errors["errorstat_WRONGTYPE"]["count"] == 1 and errors["errorstat_ERR"]["count"] >= 1


def test_strong_mode_answers_a_pipeline_in_order_across_rounds(tmp_path: Path) -> None:
    # A client's second command waits in its reader while the first is in a round; when the
    # first is answered the rest run (the released client's queued commands), in order.
    with Cluster("strong", data_dirs={n: tmp_path / n for n in ("n1", "n2", "n3")}) as cluster:
        c1 = cluster["n1"].client()
        pipe = c1.pipeline(transaction=False)
        pipe.set("k", "1").incr("k").get("k").ping().incrby("k", 5).get("k")
        assert pipe.execute() == [True, 2, b"2", True, 7, b"7"]
        assert c1.get("k") == b"7"  # then one command alone: the reply is all there is to send
        assert cluster["n2"].client().get("k") == b"7"
