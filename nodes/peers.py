"""Peers over TCP: a trio driver that carries Maelstrom `Message`s between nodes as JSON lines.

Strategy: one `PeerTransport` per node, one *link* per peer. The pure parts
(configuration, the authenticated handshake, the backoff schedule) are in
`nodes.peer_auth`; this module only moves bytes and keeps time.

* **Who dials.** Of two nodes, the one with the smaller id (plain string
  order, the same on both sides) dials; the other only accepts. So there is
  one connection per pair and no duplicate to break ties over. A peer that
  should not dial us is refused in the handshake, with a log line. A newer
  authenticated connection from a peer replaces the older one (the peer
  restarted, or the old one is half-open).
* **Handshake.** Every new connection runs `peer_auth.Handshake` under one
  deadline (`PeerConfig.handshake_timeout_s`; the TCP connect gets the same
  bound), with lines capped at `HANDSHAKE_LINE_BYTES_MAX`. A wrong proof is
  logged as "wrong cluster secret" with the peer's address, an unknown id
  with its own line, and the connection is closed. Refusals are counted.
* **Sending never blocks.** `send` appends to the peer's queue and returns.
  The queue is bounded (`queue_messages_max`) and outlives connections:
  while a link is slow or down, messages wait there, and past the bound the
  *oldest* is dropped and counted (the newest state is worth more, and the
  replicated cores' anti-entropy repairs what was lost). A writer task per
  connection drains the queue in batches, one ``send_all`` per batch, and
  sends a heartbeat when it has sent nothing for ``heartbeat_interval_s``.
  While that writer is idle (nothing queued), `send` writes the message to
  the socket itself (non-blocking): a strong-mode accept or ack leaves
  without waiting for the writer task's turn (measured: it left 80-130 us
  sooner on a busy proposer). What the socket does not take goes to the
  writer, first, and later messages queue behind it.
  A write that makes no progress for ``dead_after_s`` closes the link. A
  batch in flight when a connection breaks is lost (at most once delivery).
* **Receiving.** A reader task per connection splits the stream into lines
  of at most ``line_bytes_max`` bytes and decodes each with `decode_line`.
  Garbage, an oversized line, a line cut off by EOF, or a message whose
  ``src`` is not the authenticated peer (or whose ``dest`` is not us) closes
  that link with a log line naming the peer, its address and the reason;
  nothing else is affected and the link reconnects. Heartbeats are consumed
  here. Nothing received for ``dead_after_s`` closes the link too. Other
  messages go to the driver's ``deliver`` callback, called by the reader
  with every message of one read (those before a bad line too), so the
  node handles them as one turn without a task switch between the socket
  and the core; while it runs, that reader reads nothing more (the peer's
  TCP window is the backpressure, never the whole transport).
* **Reconnecting.** The dialling side retries forever with exponential
  backoff and jitter from the injected `random.Random`
  (`peer_auth.backoff_delay_s`); a link that stayed up for
  ``backoff_max_s`` starts again from the minimum.
* **State.** `links()` returns a `LinkStatus` per peer (up, last contact,
  queued, dropped, connects, reconnects, heartbeats received) for INFO
  replication; `refused` counts refused handshakes. `wait_until` lets a
  caller (tests, a later INFO) wait on any of these without polling.

Time: ``now_ms`` (the wall clock by default) stamps last contact; trio's
clock measures timeouts. Logs go to the ``gyre.peers`` logger.
"""

from __future__ import annotations

import logging
import math
import os
import random
import secrets
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Final

import trio

from nodes.peer_auth import (
    HANDSHAKE_LINE_BYTES_MAX,
    NONCE_BYTES,
    Handshake,
    HandshakeError,
    PeerConfig,
    Role,
    backoff_delay_s,
    validate,
)
from nodes.stdio import wall_ms
from protocol.errors import ProtocolError
from protocol.maelstrom_json import MalformedMessage, Message, decode_line, encode

__all__ = ["HEARTBEAT_TYPE", "LinkStatus", "PeerInputError", "PeerTransport", "WRITE_BATCH_MAX"]

log = logging.getLogger("gyre.peers")

#: Body type of the transport's own keep-alive message (never delivered).
HEARTBEAT_TYPE: Final[str] = "peer_heartbeat"
#: Messages encoded into one ``send_all`` at most.
WRITE_BATCH_MAX: Final[int] = 1024
#: Bytes asked of one ``receive_some``.
RECEIVE_BYTES: Final[int] = 64 * 1024
#: A batch is written in chunks of this size, each of which must go within ``dead_after_s``.
SEND_CHUNK_BYTES: Final[int] = 64 * 1024


class PeerInputError(ProtocolError):
    """Bytes from an authenticated peer that break the line protocol; the link is closed."""


class LinkSilent(Exception):
    """Nothing arrived on a link for ``dead_after_s``; the link is closed."""


@dataclass(frozen=True, slots=True)
class LinkStatus:
    """A snapshot of one peer's link.

    Attributes:
        peer_id: the peer.
        up: an authenticated connection is open.
        last_contact_ms: ``now_ms`` of the last line received (or of the link
            coming up), or None before the first connection.
        queued: messages waiting to be written.
        oldest_queued_ms: ``now_ms`` when the oldest of them was queued (None
            when none waits): how far behind this peer is.
        dropped: messages dropped because the queue was full.
        connects: authenticated connections so far.
        reconnects: connections after the first (``connects - 1``, at least 0).
        heartbeats_received: heartbeats received so far.
    """

    peer_id: str
    up: bool
    last_contact_ms: int | None
    queued: int
    oldest_queued_ms: int | None
    dropped: int
    connects: int
    reconnects: int
    heartbeats_received: int


class _Link:
    """What the transport keeps for one peer across its connections."""

    def __init__(self, peer_id: str, address: tuple[str, int]) -> None:
        self.peer_id = peer_id
        self.address = address
        self.queue: deque[Message] = deque()
        self.queued_at: deque[int] = deque()  # when each queued message was queued (now_ms)
        # The connection's socket while its writer is idle (`PeerTransport.send` writes to it
        # directly), else None; and the bytes a direct write left unsent, which go first, and
        # the socket they belong to (a message's tail is garbage on any other connection).
        self.idle_fd: int | None = None
        self.idle_serial = 0  # the connection (its `connects` count) idle_fd belongs to
        self.unsent = b""
        self.unsent_serial = 0
        self.wakeup = trio.Event()  # set when the queue gains a message
        self.scope: trio.CancelScope | None = None  # of the current connection
        self.last_contact_ms: int | None = None
        self.dropped = 0
        self.dropping = False  # the overflow was logged since the link was last up
        self.connects = 0
        self.heartbeats_received = 0

    def status(self) -> LinkStatus:
        return LinkStatus(self.peer_id, self.scope is not None, self.last_contact_ms, len(self.queue),
                          self.queued_at[0] if self.queued_at else None,
                          self.dropped, self.connects, max(0, self.connects - 1),
                          self.heartbeats_received)


class _LineReader:
    """Splits a stream into lines, with a cap on a line's length; bytes past a line are kept."""

    def __init__(self, stream: trio.abc.ReceiveStream) -> None:
        self.stream = stream
        self.ready: deque[bytes] = deque()  # complete lines not yet taken
        self.partial = bytearray()  # the start of the next line

    async def line(self, max_bytes: int, idle_s: float = math.inf) -> bytes | None:
        """The next line (without its newline), or None at a clean EOF.

        Args:
            max_bytes: the longest line accepted.
            idle_s: how long one read may wait for bytes.

        Raises:
            PeerInputError: a line over ``max_bytes``, or EOF in the middle of one.
            LinkSilent: nothing arrived for ``idle_s``.
        """
        while not self.ready:
            if len(self.partial) > max_bytes:
                raise PeerInputError(f"line over {max_bytes} bytes")
            chunk = None
            with trio.move_on_after(idle_s):
                chunk = await self.stream.receive_some(RECEIVE_BYTES)
            if chunk is None:
                raise LinkSilent(f"nothing received for {idle_s} s")
            if not chunk:
                if self.partial:
                    raise PeerInputError(f"connection closed in the middle of a line "
                                         f"(truncated after {len(self.partial)} bytes)")
                return None
            if b"\n" not in chunk:
                self.partial += chunk
                continue
            first, *rest = chunk.split(b"\n")
            self.ready.append(bytes(self.partial) + first)
            self.ready.extend(rest[:-1])
            self.partial = bytearray(rest[-1])
        line = self.take_ready(max_bytes)
        assert line is not None
        return line

    def take_ready(self, max_bytes: int) -> bytes | None:
        """The next line already received, or None if none is complete yet (never waits).

        Raises:
            PeerInputError: a line over ``max_bytes``.
        """
        if not self.ready:
            return None
        line = self.ready.popleft()
        if len(line) > max_bytes:
            raise PeerInputError(f"line over {max_bytes} bytes")
        return line


def _address(stream: trio.SocketStream) -> str:
    try:
        host, port, *_ = stream.socket.getpeername()
    except OSError:
        return "?"
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class PeerTransport:
    """Links to every peer of one node (see the module's docstring).

    Args:
        config: the node's peer configuration; validated here.
        deliver: called with the messages of each read from a peer, in order per link
            (see the module's docstring).
        rng: the source of reconnect jitter.
        now_ms: the clock that stamps last contact.

    Raises:
        PeerConfigError: the configuration is refused by `peer_auth.validate`
            (notably: listening beyond loopback without a secret).
    """

    def __init__(self, config: PeerConfig, deliver: Callable[[list[Message]], None], *,
                 rng: random.Random, now_ms: Callable[[], int] = wall_ms) -> None:
        validate(config)
        self.config = config
        self.deliver = deliver
        self.rng = rng
        self.now_ms = now_ms
        # The bound port once `run` started. With port 0 and a host name that resolves to
        # several addresses ("localhost"), each listener gets its own port: this is the first's.
        self.port: int | None = None
        self.refused = 0  # handshakes refused (wrong secret, unknown id, broken handshake)
        self._handshaking = 0  # accepted connections in their handshake now
        self._overflowing = False  # logged that `handshakes_max` was reached (once a burst)
        self._links = {peer_id: _Link(peer_id, address) for peer_id, address in sorted(config.peers.items())}
        self._known = frozenset(self._links)
        self._dialled_by = frozenset(p for p in self._links if not self._dials(p))
        self._changed = trio.Event()

    # ---- the caller's API -------------------------------------------------

    def send(self, msg: Message) -> None:
        """Queue ``msg`` for its ``dest``; never blocks.

        Raises:
            ValueError: ``msg.dest`` is not a configured peer (a bug in the caller).
        """
        link = self._links.get(msg.dest)
        if link is None:
            raise ValueError(f"no peer {msg.dest!r} to send a {msg.body.get('type')!r} to")
        assert msg.src == self.config.node_id, msg
        if link.idle_fd is not None and not link.queue:  # nothing ahead of it: write it now
            self._write_now(link, link.idle_fd, msg)
            return
        if len(link.queue) >= self.config.queue_messages_max:
            link.queue.popleft()
            link.queued_at.popleft()
            link.dropped += 1
            if not link.dropping:
                link.dropping = True
                log.warning("peer %s: send queue full (%d messages); dropping the oldest until it drains",
                            link.peer_id, self.config.queue_messages_max)
            self._notify()
        link.queue.append(msg)
        link.queued_at.append(self.now_ms())
        link.wakeup.set()

    def _write_now(self, link: _Link, fd: int, msg: Message) -> None:
        """Write ``msg`` on the idle writer's socket at once (no task switch before it leaves).

        What the socket does not take (a full buffer), or a failed write, goes to the
        writer, which sends the rest first or closes the link with the reason.
        """
        data = _encode_or_log(msg)
        try:
            sent = os.write(fd, data)
        except OSError:  # a full buffer; or a broken link, which the writer's send_all meets and reports
            sent = 0
        if sent == len(data):
            return
        link.unsent, link.unsent_serial = data[sent:], link.idle_serial
        link.idle_fd = None
        link.wakeup.set()

    @property
    def handshakes_in_progress(self) -> int:
        """Accepted connections in their handshake now (at most ``handshakes_max``)."""
        return self._handshaking

    def backlog(self, peer_id: str) -> int:
        """Messages waiting to be written to ``peer_id`` (cheaper than `links` on a hot path)."""
        return len(self._links[peer_id].queue)

    def links(self) -> dict[str, LinkStatus]:
        """A snapshot of every link, by peer id."""
        return {peer_id: link.status() for peer_id, link in self._links.items()}

    async def wait_until(self, predicate: Callable[[], bool]) -> None:
        """Return once ``predicate()`` is true, re-checking whenever link state changes."""
        while not predicate():
            await self._changed.wait()

    async def run(self, *, task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED) -> None:
        """Listen, dial the peers this node dials, and serve until cancelled.

        ``task_status.started`` gets the bound port (for ``nursery.start``).

        Raises:
            OSError: the listening port cannot be bound.
        """
        cfg = self.config
        async with trio.open_nursery() as nursery:
            listeners = await nursery.start(
                partial(trio.serve_tcp, self._accepted, cfg.listen_port, host=cfg.listen_host))
            self.port = listeners[0].socket.getsockname()[1]
            log.info("node %s listening for peers on %s:%d", cfg.node_id, cfg.listen_host, self.port)
            for link in self._links.values():
                if self._dials(link.peer_id):
                    nursery.start_soon(self._dial_loop, link)
            task_status.started(self.port)

    # ---- internals --------------------------------------------------------

    def _notify(self) -> None:
        self._changed.set()
        self._changed = trio.Event()

    def _dials(self, peer_id: str) -> bool:
        return self.config.node_id < peer_id

    async def _dial_loop(self, link: _Link) -> None:
        cfg = self.config
        attempt = 0
        while True:
            stream: trio.SocketStream | None = None
            with trio.move_on_after(cfg.handshake_timeout_s):
                try:
                    stream = await trio.open_tcp_stream(*link.address)
                except OSError as exc:
                    log.log(logging.INFO if attempt == 0 else logging.DEBUG,
                            "peer %s: cannot connect to %s:%d (%s); retrying with backoff",
                            link.peer_id, *link.address, exc.strerror or exc)
            if stream is not None:
                shaken = await self._handshake(stream, Role.DIALER, link.peer_id)
                if shaken is not None:
                    up_since = trio.current_time()
                    await self._serve(link, stream, shaken[1])
                    if trio.current_time() - up_since >= cfg.backoff_max_s:
                        attempt = 0
            await trio.sleep(backoff_delay_s(attempt, cfg.backoff_min_s, cfg.backoff_max_s, self.rng))
            attempt += 1

    async def _accepted(self, stream: trio.SocketStream) -> None:
        if self._handshaking >= self.config.handshakes_max:
            # Connections that do not authenticate must not pile up: refused at once,
            # with one log line per burst.
            self.refused += 1
            if not self._overflowing:
                self._overflowing = True
                log.warning("peer %s refused: %d connections already in their handshake; refusing "
                            "more until they finish", _address(stream), self._handshaking)
            await trio.aclose_forcefully(stream)
            self._notify()
            return
        self._handshaking += 1
        self._notify()
        try:
            shaken = await self._handshake(stream, Role.ACCEPTOR, None)
        finally:
            self._handshaking -= 1
            if self._handshaking < self.config.handshakes_max // 2:
                self._overflowing = False
            self._notify()
        if shaken is None:
            return
        peer_id, reader = shaken
        await self._serve(self._links[peer_id], stream, reader)

    def _refuse(self, stream: trio.SocketStream, reason: str) -> None:
        self.refused += 1
        log.warning("peer %s refused: %s", _address(stream), reason)
        self._notify()

    async def _handshake(self, stream: trio.SocketStream, role: Role,
                         expected: str | None) -> tuple[str, _LineReader] | None:
        """Run the handshake: the authenticated peer id and the reader holding any bytes
        past it, or None (refusal logged, stream closed)."""
        shake = Handshake(role=role, node_id=self.config.node_id, secret=self.config.secret,
                          nonce=secrets.token_bytes(NONCE_BYTES), known_peers=self._known,
                          expected_peer=expected,
                          dialled_by=None if role is Role.DIALER else self._dialled_by)
        reader = _LineReader(stream)
        reason = f"handshake not done within {self.config.handshake_timeout_s} s"
        with trio.move_on_after(self.config.handshake_timeout_s):
            try:
                await stream.send_all(shake.start())
                while not shake.done:
                    line = await reader.line(HANDSHAKE_LINE_BYTES_MAX)
                    if line is None:
                        raise HandshakeError("connection closed during the handshake")
                    answer = shake.receive(line)
                    if answer:
                        await stream.send_all(answer)
            except (HandshakeError, PeerInputError) as exc:
                reason = str(exc)
            except (trio.BrokenResourceError, OSError) as exc:
                reason = f"connection failed during the handshake ({exc})"
        if shake.done:
            assert shake.peer_id is not None
            return shake.peer_id, reader
        self._refuse(stream, reason)
        await trio.aclose_forcefully(stream)
        return None

    async def _serve(self, link: _Link, stream: trio.SocketStream, reader: _LineReader) -> None:
        """Carry messages over one authenticated connection until it closes."""
        address = _address(stream)
        if link.scope is not None:
            log.info("peer %s: a new connection from %s replaces the old one", link.peer_id, address)
            link.scope.cancel()
        reasons: list[str] = []
        with trio.CancelScope() as scope:
            link.scope = scope
            link.connects += 1
            link.dropping = False
            link.last_contact_ms = self.now_ms()
            log.info("peer %s: link up (%s)", link.peer_id, address)
            self._notify()
            try:
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(self._read_loop, link, reader, reasons, nursery.cancel_scope)
                    nursery.start_soon(self._write_loop, link, stream, reasons, nursery.cancel_scope)
            finally:
                if reasons:
                    log.warning("peer %s: link to %s closed: %s", link.peer_id, address, reasons[0])
                if link.scope is scope:
                    link.scope = None
                    self._notify()
                with trio.CancelScope(shield=True):
                    await trio.aclose_forcefully(stream)

    async def _read_loop(self, link: _Link, reader: _LineReader, reasons: list[str],
                         done: trio.CancelScope) -> None:
        try:
            while True:
                batch, closing = await self._read_batch(link, reader)
                if batch:  # outside the link's error handling: the core's errors are not the link's
                    self.deliver(batch)
                if closing is not None:
                    reasons.append(closing)
                    return
        finally:
            done.cancel()

    async def _read_batch(self, link: _Link, reader: _LineReader) -> tuple[list[Message], str | None]:
        """The messages of the next read (heartbeats consumed), and why the link must close after
        them (None: it stays up)."""
        cfg = self.config
        batch: list[Message] = []
        try:
            line = await reader.line(cfg.line_bytes_max, cfg.dead_after_s)
            if line is None:
                return batch, "the peer closed the connection"
            link.last_contact_ms = self.now_ms()
            while line is not None:
                msg = decode_line(line, max_bytes=cfg.line_bytes_max)
                if msg.src != link.peer_id:
                    raise PeerInputError(f"a message from {msg.src!r} on the link of {link.peer_id}")
                if msg.dest != cfg.node_id:
                    raise PeerInputError(f"a message for {msg.dest!r} on the link to {cfg.node_id}")
                if msg.type == HEARTBEAT_TYPE:
                    link.heartbeats_received += 1
                    self._notify()
                else:
                    batch.append(msg)
                line = reader.take_ready(cfg.line_bytes_max)
        except MalformedMessage as exc:
            return batch, f"bad message: {exc.text}"
        except (PeerInputError, LinkSilent) as exc:
            return batch, str(exc)
        except (trio.BrokenResourceError, trio.ClosedResourceError, OSError) as exc:
            return batch, f"read failed ({exc!r})"
        return batch, None

    async def _write_loop(self, link: _Link, stream: trio.SocketStream, reasons: list[str],
                          done: trio.CancelScope) -> None:
        cfg = self.config
        heartbeat = encode(Message(cfg.node_id, link.peer_id, {"type": HEARTBEAT_TYPE}))
        fd = stream.socket.fileno()
        serial = link.connects  # this connection's (descriptor numbers are reused)
        try:
            while True:
                if not link.queue and not link.unsent:
                    link.wakeup = trio.Event()
                    link.idle_fd, link.idle_serial = fd, serial  # `send` writes directly meanwhile
                    try:
                        with trio.move_on_after(cfg.heartbeat_interval_s):
                            await link.wakeup.wait()
                    finally:
                        if link.idle_serial == serial:  # (a newer connection's writer may have set its own)
                            link.idle_fd = None
                data, link.unsent = link.unsent, b""
                if link.unsent_serial != serial:  # the rest of a message cut short on an earlier
                    data = b""  # connection: lost with it, as a batch in flight is
                if link.queue:
                    n = min(len(link.queue), WRITE_BATCH_MAX)
                    batch = [link.queue.popleft() for _ in range(n)]
                    for _ in range(n):
                        link.queued_at.popleft()
                    data += b"".join(_encode_or_log(msg) for msg in batch)
                elif not data:
                    data = heartbeat
                view = memoryview(data)
                while view:  # in chunks: a slow reader of a big batch is not a stuck one
                    with trio.move_on_after(cfg.dead_after_s) as stuck:
                        await stream.send_all(view[:SEND_CHUNK_BYTES])
                    if stuck.cancelled_caught:
                        reasons.append(f"a write made no progress for {cfg.dead_after_s} s")
                        return
                    view = view[SEND_CHUNK_BYTES:]
        except (trio.BrokenResourceError, trio.ClosedResourceError, OSError) as exc:
            reasons.append(f"write failed ({exc!r})")
        finally:
            done.cancel()


def _encode_or_log(msg: Message) -> bytes:
    try:
        return encode(msg)
    except TypeError:  # a body the core built with a non-JSON value: a bug, but not fatal
        log.exception("cannot encode %s to %s; dropped", msg.body.get("type"), msg.dest)
        return b""
