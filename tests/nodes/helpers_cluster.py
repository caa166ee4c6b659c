"""A local cluster of replicated `gyre serve` processes for tests: start, kill -9, restart, talk to each.

Peer ports are chosen free before the servers start (each server's
``--peers`` must name the others'); RESP ports are ``--port 0`` and read from
each server's own "ready" log line. Every server's log is read by a thread
(`tests.helpers.LogLines`), so a test can wait for a line with a deadline
and a verbose server never blocks on a full pipe.
"""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis
import trio

from tests.helpers import GYRE_READY_TEXT, LogLines
from tests.nodes.helpers_peers import Proxy

START_S = 15.0  # a server's ready line, and its catching up, must come within this
CONVERGE_S = 15.0  # replicas must agree within this (anti-entropy rounds are ~1 s)
DATABASES = 4


def free_ports(n: int) -> list[int]:
    """``n`` distinct ports free now (bound to port 0 together, then released)."""
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def free_port_run(n: int, *, low: int = 20_000, high: int = 32_000) -> int:
    """The first of ``n`` consecutive ports free now, below the kernel's ephemeral range
    (where other tests' port-0 sockets land), for a program that numbers ports from a base."""
    import random

    rng = random.Random()
    for _ in range(1000):
        base = rng.randrange(low, high - n)
        socks: list[socket.socket] = []
        try:
            for port in range(base, base + n):
                s = socket.socket()
                socks.append(s)
                s.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError(f"no {n} consecutive free ports in {low}..{high}")


@dataclass
class Server:
    """One server of the cluster."""

    node_id: str
    peer_port: int
    args: list[str]
    port: int = 0
    proc: subprocess.Popen[str] | None = None
    log: LogLines | None = None
    clients: list[redis.Redis] = field(default_factory=list)

    def client(self, **kwargs: Any) -> redis.Redis:
        c = redis.Redis(port=self.port, socket_timeout=10, **kwargs)
        self.clients.append(c)
        return c


class Cluster:
    """``n`` servers n1..nN replicating in ``mode`` on loopback.

    Args:
        mode: "eventual" or "causal".
        n: how many servers.
        extra: more `gyre serve` arguments for every server.
        peer_address: maps (server, peer) to the address the server dials for
            that peer (a test proxy), default the peer's own port.
    """

    def __init__(self, mode: str, n: int = 3, *, extra: Sequence[str] = (),
                 peer_address: Callable[[str, str], int | None] | None = None,
                 data_dirs: dict[str, Path] | None = None) -> None:
        self.mode = mode
        ids = [f"n{i + 1}" for i in range(n)]
        ports = dict(zip(ids, free_ports(n), strict=True))
        self.servers: dict[str, Server] = {}
        for me in ids:
            peers = []
            for other in ids:
                if other != me:
                    port = peer_address(me, other) if peer_address is not None else None
                    peers.append(f"{other}=127.0.0.1:{port or ports[other]}")
            args = ["serve", "--port", "0", "--node-id", me, "--peer-port", str(ports[me]),
                    "--peers", ",".join(peers), "--mode", mode, "--databases", str(DATABASES),
                    "--loglevel", "verbose", *extra]
            if data_dirs and me in data_dirs:
                args += ["--dir", str(data_dirs[me])]
            self.servers[me] = Server(me, ports[me], args)

    def route_via(self, me: str, peer: str, port: int) -> None:
        """Make ``me`` reach ``peer`` through ``port`` (a test proxy); before the servers start."""
        args = self.servers[me].args
        i = args.index("--peers") + 1
        args[i] = ",".join(f"{peer}=127.0.0.1:{port}" if item.startswith(f"{peer}=") else item
                           for item in args[i].split(","))

    def __getitem__(self, node_id: str) -> Server:
        return self.servers[node_id]

    def __enter__(self) -> Cluster:
        try:
            for node_id in self.servers:
                self.spawn(node_id)
            for node_id in self.servers:
                self.wait_ready(node_id)
        except BaseException:
            self.__exit__()  # a server that never got ready must not outlive the test
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        for server in self.servers.values():
            self.stop(server.node_id)

    # -- processes ----------------------------------------------------------------------

    def spawn(self, node_id: str, extra: Sequence[str] = ()) -> Server:
        server = self.servers[node_id]
        server.proc = subprocess.Popen([sys.executable, "-m", "nodes.gyre_cli", *server.args, *extra],
                                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        server.log = LogLines(server.proc)
        server.port = 0
        return server

    def wait_ready(self, node_id: str) -> None:
        """Wait for the RESP port, then until the server stopped answering -LOADING."""
        server = self.servers[node_id]
        assert server.log is not None
        m = server.log.wait_for(re.escape(GYRE_READY_TEXT) + r".*:(\d+)\s*$", START_S)
        server.port = int(m.group(1))
        server.log.find(r"; serving", START_S)

    def kill(self, node_id: str, sig: int = signal.SIGKILL) -> None:
        server = self.servers[node_id]
        assert server.proc is not None
        for c in server.clients:
            c.close()
        server.clients.clear()
        server.proc.send_signal(sig)
        server.proc.wait(timeout=START_S)

    def stop(self, node_id: str) -> None:
        server = self.servers[node_id]
        if server.proc is not None and server.proc.poll() is None:
            try:
                self.kill(node_id, signal.SIGTERM)
            except subprocess.TimeoutExpired:
                server.proc.kill()
                server.proc.wait()

    def wait_links_up(self, deadline_s: float = START_S) -> None:
        """Ask every server's INFO replication again until all its peer links are up."""
        end = time.monotonic() + deadline_s
        for server in self.servers.values():
            client = server.client()
            while True:
                info = client.info("replication")
                if all(info[f"peer{i}"]["state"] == "up" for i in range(info["gyre_peers"])):
                    break
                if time.monotonic() > end:
                    raise AssertionError(f"{server.node_id}'s links never all came up: {info}")

    def clients(self) -> dict[str, redis.Redis]:
        return {node_id: s.client() for node_id, s in self.servers.items()}


def keyspace(client: redis.Redis, databases: int = DATABASES) -> dict[int, dict[bytes, Any]]:
    """Every key of every database: its type, contents and whether it has a TTL (not its
    remaining time, which differs by the moment each server is asked)."""
    out: dict[int, dict[bytes, Any]] = {}
    for db in range(databases):
        pipe = client.pipeline(transaction=False)
        pipe.execute_command("SELECT", db)
        pipe.execute_command("KEYS", "*")
        keys = sorted(pipe.execute()[1])
        if not keys:
            continue
        pipe = client.pipeline(transaction=False)
        pipe.execute_command("SELECT", db)
        for key in keys:
            pipe.execute_command("TYPE", key)
            pipe.execute_command("PEXPIRETIME", key)
        answers = pipe.execute()[1:]
        pipe = client.pipeline(transaction=False)
        pipe.execute_command("SELECT", db)
        kinds = answers[0::2]
        for key, kind in zip(keys, kinds, strict=True):
            pipe.execute_command(*_reader(kind, key))
        values = pipe.execute()[1:]
        out[db] = {key: (kind, _canonical(kind, value), expire_at)
                   for key, kind, value, expire_at in zip(keys, kinds, values, answers[1::2], strict=True)}
    client.execute_command("SELECT", 0)
    return out


def _reader(kind: bytes, key: bytes) -> tuple[Any, ...]:
    return {b"string": ("GET", key), b"list": ("LRANGE", key, 0, -1), b"set": ("SMEMBERS", key),
            b"hash": ("HGETALL", key), b"zset": ("ZRANGE", key, 0, -1, "WITHSCORES"),
            b"none": ("EXISTS", key)}[kind]


def _canonical(kind: bytes, value: Any) -> Any:
    if kind == b"set":
        return sorted(value)
    if kind == b"hash":
        return sorted(value.items()) if isinstance(value, dict) else sorted(zip(value[::2], value[1::2]))
    return value


def converged(clients: dict[str, redis.Redis], deadline_s: float = CONVERGE_S) -> dict[int, dict[bytes, Any]]:
    """Ask every server for its keyspace again until all agree (no sleeping); the agreed keyspace.

    Raises:
        AssertionError: they still differ after ``deadline_s``, with what each holds.
    """
    end = time.monotonic() + deadline_s
    while True:
        seen = {node_id: keyspace(c) for node_id, c in clients.items()}
        first = next(iter(seen.values()))
        if all(ks == first for ks in seen.values()):
            return first
        if time.monotonic() > end:
            raise AssertionError(f"replicas never agreed: {seen!r}")


class ProxyThread:
    """A `Proxy` (tests.nodes.helpers_peers) run by trio in a thread of its own, driven from a test."""

    def __init__(self, upstream_port: int) -> None:
        self.proxy = Proxy(upstream_port)
        self.ready = threading.Event()
        self.token: trio.lowlevel.TrioToken | None = None
        self.cancel: trio.CancelScope | None = None
        self.thread = threading.Thread(target=trio.run, args=(self._main,), daemon=True)
        self.thread.start()
        assert self.ready.wait(START_S)

    @property
    def port(self) -> int:
        return self.proxy.port

    async def _main(self) -> None:
        self.token = trio.lowlevel.current_trio_token()
        with trio.CancelScope() as scope:
            self.cancel = scope
            async with trio.open_nursery() as nursery:
                await nursery.start(self.proxy.run)
                self.ready.set()

    def cut(self) -> None:
        trio.from_thread.run_sync(self.proxy.cut, trio_token=self.token)

    def restore(self) -> None:
        trio.from_thread.run_sync(self.proxy.restore, trio_token=self.token)

    def close(self) -> None:
        assert self.cancel is not None
        trio.from_thread.run_sync(self.cancel.cancel, trio_token=self.token)
        self.thread.join(START_S)
