"""A TCP proxy for peer-transport tests: forwards, cuts, black-holes and injects bytes.

The proxy stands between a dialling node and the node it dials (the dialler's
config names the proxy's port). `cut` closes every forwarded connection and
closes new ones at once until `restore`; `blackhole` keeps connections open
but forwards nothing (a silent link); `inject` writes bytes into every
current connection towards the upstream node, between two forwarded chunks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial

import trio

RECEIVE_BYTES = 65536


@dataclass
class _Pair:
    down: trio.SocketStream
    up: trio.SocketStream
    scope: trio.CancelScope
    up_lock: trio.Lock = field(default_factory=trio.Lock)
    up_closed: bool = False


class Proxy:
    """Forwards connections on `port` to 127.0.0.1:`upstream_port`."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.port = 0
        self.cut_off = False
        self.blackholed = False
        self.pairs: list[_Pair] = []
        self.connected = trio.Event()  # set whenever a connection is forwarded

    async def run(self, *, task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED) -> None:
        async with trio.open_nursery() as nursery:
            listeners = await nursery.start(partial(trio.serve_tcp, self._handle, 0, host="127.0.0.1"))
            self.port = listeners[0].socket.getsockname()[1]
            task_status.started(self.port)

    def cut(self) -> None:
        self.cut_off = True
        for pair in self.pairs:
            pair.scope.cancel()

    def restore(self) -> None:
        self.cut_off = False

    async def inject(self, data: bytes, *, then_eof: bool = False) -> int:
        """Write ``data`` upstream on every open connection; the number of connections."""
        pairs = list(self.pairs)
        for pair in pairs:
            async with pair.up_lock:
                await pair.up.send_all(data)
                if then_eof:
                    await pair.up.send_eof()
                    pair.up_closed = True
        return len(pairs)

    async def _handle(self, down: trio.SocketStream) -> None:
        if self.cut_off:
            await down.aclose()
            return
        try:
            up = await trio.open_tcp_stream("127.0.0.1", self.upstream_port)
        except OSError:
            await down.aclose()
            return
        with trio.CancelScope() as scope:
            pair = _Pair(down, up, scope)
            self.pairs.append(pair)
            self.connected.set()
            self.connected = trio.Event()
            try:
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(self._pump, down, up, pair, True, nursery.cancel_scope)
                    nursery.start_soon(self._pump, up, down, pair, False, nursery.cancel_scope)
            finally:
                self.pairs.remove(pair)
        for stream in (down, up):
            await trio.aclose_forcefully(stream)

    async def _pump(self, src: trio.SocketStream, dst: trio.SocketStream, pair: _Pair,
                    upstream: bool, done: trio.CancelScope) -> None:
        try:
            while data := await src.receive_some(RECEIVE_BYTES):
                if self.blackholed or (upstream and pair.up_closed):
                    continue
                if upstream:
                    async with pair.up_lock:
                        await dst.send_all(data)
                else:
                    await dst.send_all(data)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass
        if upstream and pair.up_closed:
            return  # the other direction still drains what the upstream node says
        done.cancel()
