"""The stdin/stdout driver that runs a `NodeCore` under Maelstrom (or our harness).

Strategy: one trio nursery and four small tasks around the sans-I/O core.

* The reader owns stdin: it reads chunks (a blocking ``os.read`` in a worker
  thread, so pipes, ttys and regular files all work and stdin's blocking
  mode is left alone), splits them into lines and feeds a bounded memory
  channel, one batch of lines per chunk. A line over `LINE_BYTES_MAX` is
  discarded up to its newline.
* The message loop decodes each line and calls ``core.handle``. A line that
  is not a valid message gets the ``malformed-request`` reply built by
  `protocol.maelstrom_json` when the sender and ``msg_id`` are known, and
  a log line otherwise.
* The timer loop sleeps until ``core.next_deadline_ms()`` (a cancel scope
  whose deadline the message loop pulls earlier when a handler arms a
  sooner timer), then calls ``core.tick``.
* The writer is the only task that touches stdout: it takes batches of
  messages from a bounded channel, encodes whatever is queued and writes it
  in one call. Batches (not single messages) cross the channels, so a busy
  node pays one trio checkpoint per chunk of input, not per message.

Backpressure is end to end: a slow stdout fills the out channel, which
stalls the core, which stops the reader. Logs go to stderr only.

The core's time base is the wall clock in milliseconds (`wall_ms`), which
hybrid timestamps need; trio's clock only measures how long to sleep.
Maelstrom never closes stdin; when it is closed anyway the driver flushes
what the core produced and returns (the process exits 0).

An exception escaping the core is a bug. The driver logs it with its
traceback and answers the request with the indefinite ``crash`` (13)
instead of dying, because a node that exits ruins the whole Maelstrom run
(maelstrom-spec.md section 1); the simulator and the tests call the core
directly and see the exception.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Callable
from typing import Final

import trio

from nodes.core import NodeCore
from protocol.maelstrom_json import (
    LINE_BYTES_MAX,
    ErrorCode,
    MalformedMessage,
    Message,
    decode_line,
    encode,
)

__all__ = ["INBOX_BATCHES_MAX", "OUTBOX_BATCHES_MAX", "READ_BYTES", "run_stdio", "wall_ms"]

log = logging.getLogger("gyre.node")

#: Bytes asked of one ``os.read`` on stdin.
READ_BYTES: Final[int] = 256 * 1024
#: Batches of lines (one per read) waiting to be handled before the reader waits.
INBOX_BATCHES_MAX: Final[int] = 64
#: Batches of messages waiting to be written before the core waits.
OUTBOX_BATCHES_MAX: Final[int] = 64


def wall_ms() -> int:
    """The wall clock in whole milliseconds (the production time base)."""
    return time.time_ns() // 1_000_000


async def run_stdio(core: NodeCore, *, now_ms: Callable[[], int] = wall_ms,
                    stdin_fd: int = 0, stdout_fd: int = 1) -> None:
    """Run ``core`` on stdin/stdout until stdin reaches EOF.

    Args:
        core: the node.
        now_ms: the time base handed to the core.
        stdin_fd: where lines come from.
        stdout_fd: where lines go (nothing else is written there).
    """
    out_send, out_recv = trio.open_memory_channel[list[Message]](OUTBOX_BATCHES_MAX)
    in_send, in_recv = trio.open_memory_channel[list[bytes]](INBOX_BATCHES_MAX)
    driver = _Driver(core, now_ms, out_send)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(_write_lines, stdout_fd, out_recv)
        async with out_send:
            async with trio.open_nursery() as inner:
                inner.start_soon(_read_lines, stdin_fd, in_send)
                inner.start_soon(driver.timer_loop)
                await driver.message_loop(in_recv)
                inner.cancel_scope.cancel()
        # out_send is closed: the writer drains what is queued and returns.
    log.info("stdin closed; exiting")


class _Driver:
    """The two tasks that call into the core, and the scope that wakes the timer loop."""

    def __init__(self, core: NodeCore, now_ms: Callable[[], int],
                 out: trio.MemorySendChannel[list[Message]]) -> None:
        self.core = core
        self.now_ms = now_ms
        self.out = out
        self.sleep_scope: trio.CancelScope | None = None

    def _trio_deadline(self, deadline_ms: int | None) -> float:
        if deadline_ms is None:
            return math.inf
        return trio.current_time() + max(0, deadline_ms - self.now_ms()) / 1000

    async def _emit(self, messages: list[Message]) -> None:
        if messages:
            await self.out.send(messages)

    async def message_loop(self, batches: trio.MemoryReceiveChannel[list[bytes]]) -> None:
        async with batches:
            async for batch in batches:
                out: list[Message] = []
                for line in batch:
                    out += self._handle_line(line)
                await self._emit(out)
                scope = self.sleep_scope
                if scope is not None:
                    deadline = self._trio_deadline(self.core.next_deadline_ms())
                    if deadline < scope.deadline:
                        scope.deadline = deadline

    def _handle_line(self, line: bytes) -> list[Message]:
        try:
            msg = decode_line(line)
        except MalformedMessage as exc:
            node_id = self.core.node_id
            reply = exc.reply_from(node_id) if node_id is not None else exc.error_reply
            log.warning("bad input line (%s)%s: %.200r", exc.text,
                        "" if reply is not None else ", cannot answer", line)
            return [reply] if reply is not None else []
        try:
            return self.core.handle(msg, self.now_ms())
        except Exception:  # a bug in the core: keep the node alive (see module doc)
            log.exception("node failed on %s from %s", msg.type, msg.src)
            if msg.msg_id is None or msg.in_reply_to is not None:
                return []
            src = self.core.node_id or msg.dest
            return [Message(src, msg.src, {"type": "error", "in_reply_to": msg.msg_id,
                                           "code": int(ErrorCode.CRASH),
                                           "text": f"node failed on {msg.type}"})]

    async def timer_loop(self) -> None:
        while True:
            with trio.CancelScope(deadline=self._trio_deadline(self.core.next_deadline_ms())) as scope:
                self.sleep_scope = scope
                await trio.sleep_forever()
            self.sleep_scope = None
            try:
                messages = self.core.tick(self.now_ms())
            except Exception:  # a bug in a timer callback: keep the node alive
                log.exception("node failed in tick")
                messages = []
            await self._emit(messages)


async def _read_lines(fd: int, lines: trio.MemorySendChannel[list[bytes]]) -> None:
    """Split stdin into batches of lines (without the newline); blank lines are skipped."""
    async with lines:
        pieces: list[bytes] = []  # the line being read, in chunks (no quadratic re-joining)
        pending = 0
        skipping = False  # inside an over-long line: drop up to the next newline
        while True:
            chunk = await trio.to_thread.run_sync(os.read, fd, READ_BYTES, abandon_on_cancel=True)
            if not chunk:
                break
            if b"\n" not in chunk:
                if not skipping:
                    pieces.append(chunk)
                    pending += len(chunk)
                    if pending > LINE_BYTES_MAX:
                        log.warning("input line over %d bytes; discarded", LINE_BYTES_MAX)
                        pieces, pending, skipping = [], 0, True
                continue
            first, *complete, rest = chunk.split(b"\n")
            if skipping:
                skipping = False
            else:
                complete.insert(0, b"".join(pieces) + first)
            batch = [line for line in complete if line.strip()]
            if batch:
                await lines.send(batch)
            pieces, pending = [rest], len(rest)
        tail = b"".join(pieces)
        if tail.strip() and not skipping:
            await lines.send([tail])


async def _write_lines(fd: int, batches: trio.MemoryReceiveChannel[list[Message]]) -> None:
    """Encode messages and write them, joining whatever batches are already queued."""
    async with batches:
        async for first in batches:
            batch = list(first)
            while True:
                try:
                    batch += batches.receive_nowait()
                except trio.WouldBlock:
                    break
            data = b"".join(_encode_or_log(m) for m in batch)
            view = memoryview(data)
            while view:
                written = await trio.to_thread.run_sync(os.write, fd, view, abandon_on_cancel=True)
                view = view[written:]


def _encode_or_log(msg: Message) -> bytes:
    try:
        return encode(msg)
    except TypeError:  # a body the core built with a non-JSON value: a bug, but not fatal
        log.exception("cannot encode %s to %s; dropped", msg.body.get("type"), msg.dest)
        return b""
