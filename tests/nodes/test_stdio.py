"""The real node program over pipes: JSON lines in, JSON lines out, logs on stderr.

Lines are read as they arrive by a thread feeding a queue; a test waits on
the queue with a generous bound (a hang fails instead of blocking the run),
never with a sleep.
"""

from __future__ import annotations

import os
import queue
import random
import subprocess
import sys
import threading
from collections.abc import Iterator
from functools import partial
from typing import Any

import orjson
import pytest
import trio

from nodes import stdio
from nodes.core import NodeCore, Rpc
from protocol.maelstrom_json import ErrorCode, Message

LINE_WAIT_S = 20.0
EXIT_WAIT_S = 20.0
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class NodeProcess:
    """A node program with helpers to write messages and read its stdout lines."""

    def __init__(self, argv: list[str]) -> None:
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, cwd=REPO)
        self.lines: queue.Queue[bytes | None] = queue.Queue()
        self.stderr = b""  # complete once `close()` returned
        threading.Thread(target=self._pump, daemon=True).start()
        self._stderr_pump = threading.Thread(target=self._pump_stderr, daemon=True)
        self._stderr_pump.start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def _pump_stderr(self) -> None:
        assert self.proc.stderr is not None
        self.stderr = self.proc.stderr.read()

    def write_raw(self, data: bytes) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def send(self, src: str, body: dict[str, Any], dest: str = "n1", **top: Any) -> None:
        self.write_raw(orjson.dumps({**top, "src": src, "dest": dest, "body": body}) + b"\n")

    def recv(self) -> dict[str, Any]:
        line = self.lines.get(timeout=LINE_WAIT_S)
        assert line is not None, "node closed stdout"
        assert line.endswith(b"\n") and line.count(b"\n") == 1, line
        msg = orjson.loads(line)
        assert set(msg) == {"src", "dest", "body"}, msg
        return msg  # type: ignore[no-any-return]

    def call(self, src: str, body: dict[str, Any]) -> dict[str, Any]:
        self.send(src, body)
        msg = self.recv()
        assert (msg["src"], msg["dest"]) == ("n1", src), msg
        assert msg["body"]["in_reply_to"] == body["msg_id"], msg
        return msg["body"]  # type: ignore[no-any-return]

    def close(self) -> int:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        code = self.proc.wait(timeout=EXIT_WAIT_S)
        self._stderr_pump.join(timeout=EXIT_WAIT_S)  # it may still be storing what it read
        return code


@pytest.fixture
def node() -> Iterator[NodeProcess]:
    p = NodeProcess([sys.executable, "-m", "nodes.node_cli", "single", "--seed", "7"])
    p.send("c0", {"type": "init", "msg_id": 1, "node_id": "n1", "node_ids": ["n1", "n2"]})
    assert p.recv() == {"src": "n1", "dest": "c0", "body": {"type": "init_ok", "in_reply_to": 1}}
    yield p
    if p.proc.poll() is None:
        p.proc.kill()
        p.proc.wait(timeout=EXIT_WAIT_S)


def test_echo_and_top_level_id_ignored(node: NodeProcess) -> None:
    node.send("c1", {"type": "echo", "msg_id": 1, "echo": "Please echo 35"}, id=17)
    assert node.recv() == {"src": "n1", "dest": "c1",
                           "body": {"type": "echo_ok", "echo": "Please echo 35", "in_reply_to": 1}}


def test_linkv_read_write_cas_and_errors(node: NodeProcess) -> None:
    body = node.call("c1", {"type": "read", "msg_id": 1, "key": 0})
    assert (body["type"], body["code"]) == ("error", ErrorCode.KEY_DOES_NOT_EXIST)
    assert node.call("c1", {"type": "write", "msg_id": 2, "key": 0, "value": 3}) == \
        {"type": "write_ok", "in_reply_to": 2}
    body = node.call("c1", {"type": "cas", "msg_id": 3, "key": 0, "from": 1, "to": 2})
    assert (body["type"], body["code"]) == ("error", ErrorCode.PRECONDITION_FAILED)
    body = node.call("c1", {"type": "cas", "msg_id": 4, "key": 1, "from": 1, "to": 2})
    assert (body["type"], body["code"]) == ("error", ErrorCode.KEY_DOES_NOT_EXIST)
    assert node.call("c1", {"type": "cas", "msg_id": 5, "key": 0, "from": 3, "to": 4}) == \
        {"type": "cas_ok", "in_reply_to": 5}
    assert node.call("c1", {"type": "read", "msg_id": 6, "key": 0}) == \
        {"type": "read_ok", "value": 4, "in_reply_to": 6}


def test_garbage_and_malformed_lines_keep_the_node_alive(node: NodeProcess) -> None:
    node.write_raw(b"this is not json\n\n   \n[1,2]\n{\"src\": \"c1\"}\n")
    # A bad body that names its sender and msg_id gets error 12.
    node.write_raw(b'{"src":"c1","dest":"n1","body":{"msg_id":4}}\n')
    body = node.recv()["body"]
    assert (body["type"], body["code"], body["in_reply_to"]) == ("error", ErrorCode.MALFORMED_REQUEST, 4)
    body = node.call("c1", {"type": "cas", "msg_id": 5, "key": 0})
    assert (body["code"], body["in_reply_to"]) == (ErrorCode.MALFORMED_REQUEST, 5)
    body = node.call("c1", {"type": "nope", "msg_id": 6})
    assert body["code"] == ErrorCode.NOT_SUPPORTED
    assert node.call("c1", {"type": "echo", "msg_id": 7, "echo": 1})["echo"] == 1
    assert node.close() == 0
    assert b"bad input line" in node.stderr


def test_pipelined_requests_in_one_write_are_answered_in_order(node: NodeProcess) -> None:
    n = 300
    node.write_raw(b"".join(
        orjson.dumps({"src": "c2", "dest": "n1", "body": {"type": "generate", "msg_id": i}}) + b"\n"
        for i in range(1, n + 1)))
    replies = [node.recv()["body"] for _ in range(n)]
    assert [r["in_reply_to"] for r in replies] == list(range(1, n + 1))
    assert len({r["id"] for r in replies}) == n


def test_gossip_is_retried_by_the_timer_loop(node: NodeProcess) -> None:
    node.send("c1", {"type": "topology", "msg_id": 1, "topology": {"n1": ["n2"], "n2": ["n1"]}})
    assert node.recv()["body"] == {"type": "topology_ok", "in_reply_to": 1}
    node.send("c1", {"type": "broadcast", "msg_id": 2, "message": 9})
    got = [node.recv(), node.recv()]
    gossip = next(m for m in got if m["dest"] == "n2")
    assert gossip["body"]["messages"] == [9]
    # n2 stays silent: the node resends after its gossip timeout, from the timer loop.
    again = node.recv()
    assert again["dest"] == "n2" and again["body"]["type"] == "gossip"
    assert again["body"]["msg_id"] != gossip["body"]["msg_id"]
    node.send("n2", {"type": "gossip_ok", "in_reply_to": again["body"]["msg_id"]})
    assert node.call("c1", {"type": "read", "msg_id": 3}) == {"type": "read_ok", "messages": [9], "in_reply_to": 3}


def test_eof_exits_zero_and_stdout_carries_only_protocol(node: NodeProcess) -> None:
    node.send("c1", {"type": "echo", "msg_id": 1, "echo": "last"})
    assert node.close() == 0
    assert node.recv()["body"]["echo"] == "last"
    assert node.lines.get(timeout=LINE_WAIT_S) is None
    assert b"initialised as n1" in node.stderr


def test_entry_function_runs_the_single_node() -> None:
    p = NodeProcess([sys.executable, "-c", "from nodes.node_cli import single_main; single_main()",
                     "--workload", "g-set"])
    p.send("c0", {"type": "init", "msg_id": 1, "node_id": "n1", "node_ids": ["n1"]})
    assert p.recv()["body"]["type"] == "init_ok"
    assert p.call("c1", {"type": "read", "msg_id": 2}) == {"type": "read_ok", "value": [], "in_reply_to": 2}
    assert p.close() == 0



def test_bad_mode_is_a_usage_error() -> None:
    proc = subprocess.run([sys.executable, "-m", "nodes.node_cli", "replicated", "--mode", "weird"],
                          capture_output=True, cwd=REPO, timeout=EXIT_WAIT_S, stdin=subprocess.DEVNULL)
    assert proc.returncode == 2 and b"weird" in proc.stderr


# --- the line splitter in process -------------------------------------------------------------


async def _split(data: bytes) -> list[bytes]:
    r, w = os.pipe()
    os.write(w, data)
    os.close(w)
    send, recv = trio.open_memory_channel[list[bytes]](100)
    try:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(stdio._read_lines, r, send)
            got = [line async for batch in recv for line in batch]
    finally:
        os.close(r)
    return got


async def test_reader_splits_lines_skips_blanks_and_keeps_a_last_unterminated_line() -> None:
    assert await _split(b'a\n\n  \nb\r\nc') == [b"a", b"b\r", b"c"]


async def test_reader_discards_an_over_long_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stdio, "LINE_BYTES_MAX", 8)
    monkeypatch.setattr(stdio, "READ_BYTES", 4)
    assert await _split(b"short\n" + b"x" * 30 + b"\nafter\n") == [b"short", b"after"]


# --- the driver in process, over pipes ------------------------------------------------------------


class _Buggy(NodeCore):
    """``bug`` raises (a node bug); ``later`` answers from a timer 5 ms on."""

    BUG = Rpc("bug")
    LATER = Rpc("later")

    def __init__(self) -> None:
        super().__init__(rng=random.Random(0))
        self.add_route(self.BUG, self._bug)
        self.add_route(self.LATER, lambda m, t: self.call_later(t, 5, lambda u: self.reply_ok(m, self.LATER)))

    def _bug(self, msg: Message, now_ms: int) -> None:
        raise RuntimeError("oops")


async def test_driver_survives_a_core_bug_runs_timers_and_flushes_at_eof() -> None:
    in_r, in_w = os.pipe()
    out_r, out_w = os.pipe()
    lines = [{"src": "c0", "dest": "n1", "body": {"type": "init", "msg_id": 1, "node_id": "n1", "node_ids": ["n1"]}},
             {"src": "c1", "dest": "n1", "body": {"type": "later", "msg_id": 2}},
             {"src": "c1", "dest": "n1", "body": {"type": "bug", "msg_id": 3}},
             {"src": "c1", "dest": "n1", "body": {"type": "bug"}}]
    os.write(in_w, b"".join(orjson.dumps(x) + b"\n" for x in lines))
    core = _Buggy()
    got: list[dict[str, Any]] = []
    try:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(partial(stdio.run_stdio, core, stdin_fd=in_r, stdout_fd=out_w))
            reader = trio.lowlevel.FdStream(os.dup(out_r))
            buf = b""
            while len(got) < 3:
                buf += await reader.receive_some(65536)
                *done, buf = buf.split(b"\n")
                got += [orjson.loads(x)["body"] for x in done]
            os.close(in_w)  # EOF: the driver returns
            in_w = -1
            await reader.aclose()
    finally:
        for fd in (in_r, out_r, out_w, in_w):
            if fd >= 0:
                os.close(fd)
    assert got[0] == {"type": "init_ok", "in_reply_to": 1}
    assert got[1]["code"] == ErrorCode.CRASH and got[1]["in_reply_to"] == 3
    assert got[2] == {"type": "later_ok", "in_reply_to": 2}
