"""The peer transport over real loopback sockets: delivery, authentication, bad input, cuts, limits.

Nothing waits with a sleep: tests wait on the transport's own state
(`PeerTransport.wait_until`) or on its inbox, always under a `fail_after`
bound, with short real heartbeat and dead-after times. Node ``nX`` dials
every node with a larger id, so a cluster starts from the largest id down
and a node's config needs real addresses only for the nodes it dials
(`PLACEHOLDER` for the others). A `Proxy` between n1 and n2 cuts, silences
or corrupts that one link.
"""

from __future__ import annotations

import logging
import math
import random
import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from typing import Any

import pytest
import trio
import trio.testing

from nodes.peer_auth import NONCE_BYTES, Handshake, PeerConfig, PeerConfigError, Role
from nodes.peers import LinkStatus, PeerTransport
from protocol.maelstrom_json import Message, encode
from tests.nodes.helpers_peers import Proxy

WAIT_S = 10.0
SECRET = b"test cluster secret"
PLACEHOLDER = ("127.0.0.1", 1)  # the address of a peer this node never dials
LINE_MAX = 4096
BASE = PeerConfig("n?", secret=SECRET, heartbeat_interval_s=0.05, dead_after_s=1.0,
                  backoff_min_s=0.01, backoff_max_s=0.1, handshake_timeout_s=2.0,
                  line_bytes_max=LINE_MAX)


@dataclass
class Node:
    transport: PeerTransport
    inbox: trio.MemoryReceiveChannel[Message]

    @property
    def id(self) -> str:
        return self.transport.config.node_id

    def link(self, peer: str) -> LinkStatus:
        return self.transport.links()[peer]

    def send(self, dest: str, **body: Any) -> None:
        self.transport.send(Message(self.id, dest, {"type": "test", **body}))

    async def receive(self) -> Message:
        with trio.fail_after(WAIT_S):
            return await self.inbox.receive()

    async def wait(self, predicate: Callable[[], bool]) -> None:
        with trio.fail_after(WAIT_S):
            await self.transport.wait_until(predicate)

    async def wait_up(self, *peers: str) -> None:
        await self.wait(lambda: all(self.link(p).up for p in peers))


def into(channel: trio.MemorySendChannel[Message]) -> Callable[[list[Message]], None]:
    """A transport's ``deliver`` that puts each message in ``channel`` (unbounded) for the test."""
    def deliver(messages: list[Message]) -> None:
        for msg in messages:
            channel.send_nowait(msg)
    return deliver


async def start(nursery: trio.Nursery, config: PeerConfig, seed: int = 1) -> Node:
    send, receive = trio.open_memory_channel[Message](math.inf)
    transport = PeerTransport(config, into(send), rng=random.Random(seed))
    await nursery.start(transport.run)
    return Node(transport, receive)


@asynccontextmanager
async def cluster(ids: list[str], *, proxied: bool = False, secrets_by_id: dict[str, bytes] | None = None,
                  **overrides: Any) -> AsyncIterator[tuple[dict[str, Node], Proxy | None]]:
    """Start nodes from the largest id down; with ``proxied``, n1 reaches n2 through a `Proxy`."""
    nodes: dict[str, Node] = {}
    proxy: Proxy | None = None
    async with trio.open_nursery() as nursery:
        for node_id in sorted(ids, reverse=True):
            if proxied and node_id == "n1":
                proxy = Proxy(nodes["n2"].transport.port or 0)
                await nursery.start(proxy.run)
            peers = {}
            for peer in ids:
                if peer == node_id:
                    continue
                if node_id < peer:
                    address = ("127.0.0.1", nodes[peer].transport.port or 0)
                    if proxy is not None and (node_id, peer) == ("n1", "n2"):
                        address = ("127.0.0.1", proxy.port)
                    peers[peer] = address
                else:
                    peers[peer] = PLACEHOLDER
            secret = (secrets_by_id or {}).get(node_id, SECRET)
            config = replace(BASE, node_id=node_id, peers=peers, secret=secret, **overrides)
            nodes[node_id] = await start(nursery, config, seed=len(nodes))
        yield nodes, proxy
        nursery.cancel_scope.cancel()


async def all_up(nodes: dict[str, Node]) -> None:
    for node in nodes.values():
        await node.wait_up(*(p for p in nodes if p != node.id))


async def test_three_transports_exchange_messages_both_ways() -> None:
    async with cluster(["n1", "n2", "n3"]) as (nodes, _):
        await all_up(nodes)
        for src in nodes.values():
            for dest in nodes:
                if dest != src.id:
                    src.send(dest, n=1)
                    src.send(dest, n=2)
        for node in nodes.values():
            got = sorted([(m.src, m.body["n"]) for m in [await node.receive() for _ in range(4)]])
            assert got == sorted((p, n) for p in nodes if p != node.id for n in (1, 2))
        status = nodes["n1"].link("n2")
        assert status.up and status.connects == 1 and status.reconnects == 0 and status.dropped == 0
        assert status.last_contact_ms is not None


async def test_messages_queued_before_the_link_is_up_are_delivered_in_order() -> None:
    async with trio.open_nursery() as nursery:
        n2 = await start(nursery, replace(BASE, node_id="n2", peers={"n1": PLACEHOLDER}))
        n1_send, n1_inbox = trio.open_memory_channel[Message](math.inf)
        n1 = PeerTransport(replace(BASE, node_id="n1", peers={"n2": ("127.0.0.1", n2.transport.port or 0)}),
                           into(n1_send), rng=random.Random(1))
        for i in range(5):
            n1.send(Message("n1", "n2", {"type": "test", "i": i}))
        assert n1.links()["n2"].queued == 5
        await nursery.start(n1.run)
        assert [(await n2.receive()).body["i"] for _ in range(5)] == list(range(5))
        nursery.cancel_scope.cancel()


async def test_sends_to_an_idle_link_go_at_once_and_stay_in_order_when_the_socket_fills() -> None:
    # An idle link's sends are written by `send` itself; once the socket's buffer is full the
    # rest of that message and everything after it go through the writer task, in order.
    big = "x" * 3000
    count = 3000  # ~9 MB: more than loopback buffers hold, so a direct write comes up short
    async with cluster(["n1", "n2"], line_bytes_max=8192, queue_messages_max=count) as (nodes, _):
        await all_up(nodes)
        n1, n2 = nodes["n1"], nodes["n2"]
        await trio.testing.wait_all_tasks_blocked()  # the writers have started and wait: idle links
        n1.send("n2", i=-1)  # idle link: written at once, nothing queued
        assert n1.link("n2").queued == 0
        assert (await n2.receive()).body["i"] == -1
        for i in range(count):
            n1.send("n2", i=i, pad=big)
        assert 0 < n1.link("n2").queued < count  # the first went directly, the socket then filled
        assert [(await n2.receive()).body["i"] for _ in range(count)] == list(range(count))
        assert n1.link("n2").dropped == 0


async def test_the_tail_of_a_message_cut_short_on_an_old_connection_never_goes_on_a_new_one() -> None:
    # A direct write that came up short leaves the message's tail for the writer; if that
    # connection ended first, the tail is garbage anywhere else and is dropped (the message is
    # lost with its connection, as a batch in flight is), so the next connection stays clean.
    async with cluster(["n1", "n2"]) as (nodes, _):
        await all_up(nodes)
        n1, n2 = nodes["n1"], nodes["n2"]
        link = n1.transport._links["n2"]
        link.unsent, link.unsent_serial = b'"tail": "of a message"}}\n', link.connects - 1
        link.idle_fd = None
        link.wakeup.set()
        n1.send("n2", after=1)
        assert (await n2.receive()).body["after"] == 1
        assert n2.link("n1").connects == 1 and n1.link("n2").connects == 1


async def test_a_peer_with_the_wrong_secret_is_refused_with_a_log_line(caplog: pytest.LogCaptureFixture) -> None:
    async with cluster(["n1", "n2"], secrets_by_id={"n1": b"another secret"}) as (nodes, _):
        await nodes["n2"].wait(lambda: nodes["n2"].transport.refused >= 1)
        await nodes["n1"].wait(lambda: nodes["n1"].transport.refused >= 1)
        assert not nodes["n1"].link("n2").up and not nodes["n2"].link("n1").up
        assert nodes["n1"].link("n2").connects == 0
    refusals = [r.getMessage() for r in caplog.records if "wrong cluster secret" in r.getMessage()]
    assert any(m.startswith("peer 127.0.0.1:") and " refused: " in m for m in refusals), refusals


async def test_a_peer_without_a_secret_is_refused_by_one_that_has_one(caplog: pytest.LogCaptureFixture) -> None:
    async with cluster(["n1", "n2"], secrets_by_id={"n1": None}) as (nodes, _):  # type: ignore[dict-item]
        await nodes["n2"].wait(lambda: nodes["n2"].transport.refused >= 1)
    assert "sent no proof" in caplog.text


async def test_without_secrets_on_loopback_the_link_comes_up() -> None:
    async with cluster(["n1", "n2"], secrets_by_id={"n1": None, "n2": None}) as (nodes, _):  # type: ignore[dict-item]
        await all_up(nodes)
        nodes["n2"].send("n1", x=1)
        assert (await nodes["n1"].receive()).body == {"type": "test", "x": 1}


def test_listening_beyond_loopback_without_a_secret_refuses_to_start() -> None:
    with pytest.raises(PeerConfigError, match="without a cluster secret"):
        PeerTransport(replace(BASE, node_id="n1", listen_host="0.0.0.0", secret=None), lambda msgs: None,
                      rng=random.Random(1))


async def read_to_eof(stream: trio.SocketStream) -> bytes:
    got = b""
    with trio.fail_after(WAIT_S):
        while chunk := await stream.receive_some(4096):
            got += chunk
    await stream.aclose()
    return got


async def handshake_as(port: int, node_id: str, secret: bytes, target: str = "n2") -> bytes:
    """Connect as ``node_id``, play our side of the handshake by hand, then read until the
    server closes; return everything the server sent."""
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    shake = Handshake(role=Role.DIALER, node_id=node_id, secret=secret,
                      nonce=secrets.token_bytes(NONCE_BYTES), known_peers=frozenset({target}),
                      expected_peer=target)
    await stream.send_all(shake.start())
    got = pending = b""
    while not shake.done:
        with trio.fail_after(WAIT_S):
            chunk = await stream.receive_some(4096)
        if not chunk:
            break
        got += chunk
        *lines, pending = (pending + chunk).split(b"\n")
        for line in lines:
            if not shake.done:
                await stream.send_all(shake.receive(line))
    return got + await read_to_eof(stream)


async def test_an_unknown_node_id_is_refused_with_its_own_log_line(caplog: pytest.LogCaptureFixture) -> None:
    async with cluster(["n1", "n2", "n3"]) as (nodes, _):
        await all_up(nodes)
        sent = await handshake_as(nodes["n2"].transport.port or 0, "n9", SECRET)
        assert b'"proof"' not in sent  # refused on the hello, before any proof
        assert nodes["n2"].transport.refused == 1
        nodes["n3"].send("n2", still="fine")
        assert (await nodes["n2"].receive()).body["still"] == "fine"
    assert "unknown node id 'n9'" in caplog.text


async def test_a_new_authenticated_connection_replaces_the_old_one(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="gyre.peers")
    async with cluster(["n1", "n2"]) as (nodes, _):
        n1, n2 = nodes["n1"], nodes["n2"]
        await all_up(nodes)
        # A hand-made n1 authenticates and replaces the real n1's connection; the real n1
        # redials and replaces it in turn, which closes the hand-made one.
        sent = await handshake_as(n2.transport.port or 0, "n1", SECRET)
        assert sent.endswith(b'{"type":"ok"}\n') or b"peer_heartbeat" in sent
        await n2.wait(lambda: n2.link("n1").connects >= 3 and n2.link("n1").up)
        n1.send("n2", after="replacement")
        assert (await n2.receive()).body["after"] == "replacement"
    assert caplog.text.count("a new connection from 127.0.0.1:") >= 2


@pytest.mark.parametrize("data, reason", [(b"", "handshake not done within 0.3 s"),
                                          (b"x" * 5000, "line over 4096 bytes"),
                                          (b"nonsense\n", "not JSON")])
async def test_a_stalled_or_broken_handshake_is_refused(
        data: bytes, reason: str, caplog: pytest.LogCaptureFixture) -> None:
    async with cluster(["n1", "n2"], handshake_timeout_s=0.3) as (nodes, _):
        n2 = nodes["n2"]
        await all_up(nodes)
        stream = await trio.open_tcp_stream("127.0.0.1", n2.transport.port or 0)
        await stream.send_all(data)
        assert b'"hello"' in await read_to_eof(stream)
        assert n2.transport.refused == 1 and n2.link("n1").connects == 1
    assert reason in caplog.text


async def test_connections_stuck_in_their_handshake_are_capped_then_a_peer_gets_in(
        caplog: pytest.LogCaptureFixture) -> None:
    async with cluster(["n1", "n2"], proxied=True, handshakes_max=2, handshake_timeout_s=0.5) \
            as (nodes, proxy):
        assert proxy is not None
        n1, n2 = nodes["n1"], nodes["n2"]
        await all_up(nodes)
        idle = [await trio.open_tcp_stream("127.0.0.1", n2.transport.port or 0) for _ in range(2)]
        await n2.wait(lambda: n2.transport.handshakes_in_progress == 2)
        extra = await trio.open_tcp_stream("127.0.0.1", n2.transport.port or 0)
        assert await read_to_eof(extra) == b""  # closed at once, before even a hello
        assert "connections already in their handshake" in caplog.text
        for stream in idle:  # they time out in their handshake
            assert b'"hello"' in await read_to_eof(stream)
        assert n2.transport.refused == 3
        # The cap is free again: n1, cut off and restored, authenticates anew.
        proxy.cut()
        await n2.wait(lambda: not n2.link("n1").up)
        proxy.restore()
        await all_up(nodes)
        assert n1.link("n2").reconnects >= 1


async def test_a_peer_that_should_not_dial_is_refused(caplog: pytest.LogCaptureFixture) -> None:
    async with cluster(["n1", "n2"]) as (nodes, _):
        await handshake_as(nodes["n1"].transport.port or 0, "n2", SECRET, target="n1")
        assert nodes["n1"].transport.refused == 1
    assert "only the one with the smaller id dials" in caplog.text


BAD_INPUT = {
    "garbage": (b"garbage\n", False, "line is not valid JSON"),
    "wrong src": (encode(Message("n3", "n2", {"type": "test"})), False, "a message from 'n3' on the link of n1"),
    "unknown src": (encode(Message("n9", "n2", {"type": "test"})), False, "a message from 'n9'"),
    "wrong dest": (encode(Message("n1", "n3", {"type": "test"})), False, "a message for 'n3'"),
    "not a message": (b'{"src": "n1", "dest": "n2"}\n', False, "no 'body'"),
    "oversized": (b"x" * (LINE_MAX + 100), False, f"line over {LINE_MAX} bytes"),
    "oversized with newline": (b"[" + b"1," * LINE_MAX + b"1]\n", False, f"line over {LINE_MAX} bytes"),
    "truncated": (b'{"src": "n1", "dest": "n2", "bo', True, "truncated"),
}


@pytest.mark.parametrize("case", list(BAD_INPUT))
async def test_bad_peer_input_closes_only_that_link_which_comes_back(
        case: str, caplog: pytest.LogCaptureFixture) -> None:
    data, then_eof, reason = BAD_INPUT[case]
    async with cluster(["n1", "n2", "n3"], proxied=True) as (nodes, proxy):
        assert proxy is not None
        n1, n2, n3 = nodes["n1"], nodes["n2"], nodes["n3"]
        await all_up(nodes)
        assert await proxy.inject(data, then_eof=then_eof) == 1
        await n2.wait(lambda: n2.link("n1").connects == 2 and n2.link("n1").up)
        await n1.wait_up("n2")
        n1.send("n2", after=case)
        assert (await n2.receive()).body["after"] == case
        for a, b in [(n2, n3), (n3, n2), (n1, n3), (n3, n1)]:
            a.send(b.id, ok=True)
            got = await b.receive()
            assert got.src == a.id and got.body["ok"] is True
            assert a.link(b.id).connects == 1
    closed = [r.getMessage() for r in caplog.records
              if r.name == "gyre.peers" and r.getMessage().startswith("peer n1: link to ")]
    assert any(reason in m for m in closed), (reason, closed)


async def test_messages_read_before_a_bad_line_are_delivered_in_order_then_the_link_closes() -> None:
    async with cluster(["n1", "n2"], proxied=True) as (nodes, proxy):
        assert proxy is not None
        n1, n2 = nodes["n1"], nodes["n2"]
        await all_up(nodes)
        good = b"".join(encode(Message("n1", "n2", {"type": "test", "i": i})) for i in range(3))
        assert await proxy.inject(good + b"garbage\n" + encode(Message("n1", "n2", {"type": "test", "i": 9})))
        assert [(await n2.receive()).body["i"] for _ in range(3)] == [0, 1, 2]
        await n2.wait(lambda: n2.link("n1").connects == 2 and n2.link("n1").up)
        n1.send("n2", i=10)
        assert (await n2.receive()).body["i"] == 10  # the line after the garbage was not delivered


async def test_a_cut_link_heals_without_a_restart() -> None:
    async with cluster(["n1", "n2"], proxied=True) as (nodes, proxy):
        assert proxy is not None
        n1, n2 = nodes["n1"], nodes["n2"]
        await all_up(nodes)
        proxy.cut()
        await n1.wait(lambda: not n1.link("n2").up)
        await n2.wait(lambda: not n2.link("n1").up)
        for i in range(3):
            n1.send("n2", during_cut=i)
        proxy.restore()
        assert [(await n2.receive()).body["during_cut"] for _ in range(3)] == [0, 1, 2]
        n2.send("n1", back="again")
        assert (await n1.receive()).body["back"] == "again"
        assert n1.link("n2").reconnects >= 1 and n2.link("n1").reconnects >= 1


async def test_a_dead_peers_queue_stays_bounded_and_counts_drops(caplog: pytest.LogCaptureFixture) -> None:
    async with cluster(["n1", "n2"], proxied=True, queue_messages_max=5) as (nodes, proxy):
        assert proxy is not None
        n1, n2 = nodes["n1"], nodes["n2"]
        await all_up(nodes)
        proxy.cut()
        await n1.wait(lambda: not n1.link("n2").up)
        for i in range(20):
            n1.send("n2", i=i)
        status = n1.link("n2")
        assert (status.queued, status.dropped) == (5, 15)
        assert "send queue full" in caplog.text
        # The lag INFO shows: when the oldest message still waiting was queued (the 16th sent).
        assert status.oldest_queued_ms is not None and status.oldest_queued_ms <= n1.transport.now_ms()
        proxy.restore()
        assert [(await n2.receive()).body["i"] for _ in range(5)] == list(range(15, 20))
        await n1.wait(lambda: n1.link("n2").queued == 0)
        assert n1.link("n2").oldest_queued_ms is None


async def test_heartbeats_keep_an_idle_link_up() -> None:
    async with cluster(["n1", "n2"]) as (nodes, _):
        n1, n2 = nodes["n1"], nodes["n2"]
        await all_up(nodes)
        # 30 heartbeats at 0.05 s take 1.5 dead_after (1 s) of idle link.
        await n1.wait(lambda: n1.link("n2").heartbeats_received >= 30)
        await n2.wait(lambda: n2.link("n1").heartbeats_received >= 30)
        assert n1.link("n2").up and n1.link("n2").connects == 1
        assert n2.link("n1").up and n2.link("n1").connects == 1


async def test_a_silent_link_is_marked_down_after_dead_after_then_recovers(
        caplog: pytest.LogCaptureFixture) -> None:
    async with cluster(["n1", "n2"], proxied=True) as (nodes, proxy):
        assert proxy is not None
        n1, n2 = nodes["n1"], nodes["n2"]
        await all_up(nodes)
        proxy.blackholed = True
        await n1.wait(lambda: not n1.link("n2").up)
        await n2.wait(lambda: not n2.link("n1").up)
        assert "nothing received for 1.0 s" in caplog.text
        proxy.blackholed = False
        await n1.wait(lambda: n1.link("n2").up and n1.link("n2").connects >= 2)
        n1.send("n2", alive=True)
        assert (await n2.receive()).body["alive"] is True


def test_send_to_an_unknown_peer_is_a_caller_bug() -> None:
    transport = PeerTransport(replace(BASE, node_id="n1", peers={"n2": PLACEHOLDER}), lambda msgs: None,
                              rng=random.Random(1))
    with pytest.raises(ValueError, match="no peer 'n5'"):
        transport.send(Message("n1", "n5", {"type": "test"}))


async def test_logs_name_the_peer_when_a_link_comes_up(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="gyre.peers")
    async with cluster(["n1", "n2"]) as (nodes, _):
        await all_up(nodes)
    assert "peer n2: link up (127.0.0.1:" in caplog.text
    assert "listening for peers on 127.0.0.1:" in caplog.text
