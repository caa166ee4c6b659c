"""The RESP listener in process: pipelining, protocol errors, limits, kills, timeouts."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import pytest
import trio
import trio.testing
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nodes.resp_server import RespServer, ServeConfig

RECV_BYTES = 65536


@asynccontextmanager
async def running(cfg: ServeConfig | None = None,
                  clock: Callable[[], int] | None = None) -> AsyncIterator[RespServer]:
    server = RespServer(cfg or ServeConfig(port=0), clock=clock) if clock else \
        RespServer(cfg or ServeConfig(port=0))
    async with trio.open_nursery() as nursery:
        await nursery.start(server.run)
        yield server
        nursery.cancel_scope.cancel()


async def connect(server: RespServer) -> trio.SocketStream:
    return await trio.open_tcp_stream("127.0.0.1", server.port)


async def read_exactly(stream: trio.SocketStream, expected: bytes) -> bytes:
    """Read until as many bytes as `expected` arrived (or EOF); return them."""
    got = b""
    while len(got) < len(expected):
        chunk = await stream.receive_some(RECV_BYTES)
        if not chunk:
            break
        got += chunk
    return got


async def read_to_eof(stream: trio.SocketStream) -> bytes:
    got = b""
    while True:
        try:
            chunk = await stream.receive_some(RECV_BYTES)
        except trio.BrokenResourceError:  # reset by the server
            return got
        if not chunk:
            return got
        got += chunk


async def test_pipelined_commands_answer_in_order_in_one_batch() -> None:
    async with running() as server:
        s = await connect(server)
        await s.send_all(b"PING\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"
                         b"ECHO hello\r\n")
        expected = b"+PONG\r\n+OK\r\n$1\r\nv\r\n$5\r\nhello\r\n"
        assert await read_exactly(s, expected) == expected


async def test_command_split_across_writes_is_answered_once_complete() -> None:
    async with running() as server:
        s = await connect(server)
        for byte in b"*2\r\n$4\r\nECHO\r\n$3\r\nabc\r\n":
            await s.send_all(bytes([byte]))
        assert await read_exactly(s, b"$3\r\nabc\r\n") == b"$3\r\nabc\r\n"


async def test_protocol_error_answers_then_closes_after_earlier_commands() -> None:
    async with running() as server:
        s = await connect(server)
        await s.send_all(b"PING\r\n*x\r\nPING\r\n")
        assert await read_to_eof(s) == b"+PONG\r\n-ERR Protocol error: invalid multibulk length\r\n"
        # The server is still fine for everyone else.
        t = await connect(server)
        await t.send_all(b"PING\r\n")
        assert await read_exactly(t, b"+PONG\r\n") == b"+PONG\r\n"


async def test_unbalanced_quotes_in_inline_command() -> None:
    async with running() as server:
        s = await connect(server)
        await s.send_all(b'SET "a b\r\n')
        assert await read_to_eof(s) == b"-ERR Protocol error: unbalanced quotes in request\r\n"


async def test_quit_replies_ok_then_closes() -> None:
    async with running() as server:
        s = await connect(server)
        await s.send_all(b"QUIT\r\nPING\r\n")
        assert await read_to_eof(s) == b"+OK\r\n"


async def test_maxclients_refuses_with_redis_error() -> None:
    async with running(ServeConfig(port=0, maxclients=1)) as server:
        first = await connect(server)
        await first.send_all(b"PING\r\n")
        assert await read_exactly(first, b"+PONG\r\n") == b"+PONG\r\n"
        second = await connect(server)
        assert await read_to_eof(second) == b"-ERR max number of clients reached\r\n"
        assert server.engine.stats.rejected_connections == 1


async def test_hello_3_switches_encoding_for_the_rest_of_the_batch() -> None:
    async with running() as server:
        s = await connect(server)
        await s.send_all(b"CONFIG GET hz\r\nHELLO 3\r\nCONFIG GET hz\r\n")
        got = b""
        while got.count(b"hz") < 2 or not got.endswith(b"10\r\n"):
            got += await s.receive_some(RECV_BYTES)
        assert got.startswith(b"*2\r\n$2\r\nhz\r\n$2\r\n10\r\n%")
        assert got.endswith(b"%1\r\n$2\r\nhz\r\n$2\r\n10\r\n")


async def test_reset_switches_back_to_resp2_for_the_rest_of_the_batch() -> None:
    async with running() as server:
        s = await connect(server)
        await s.send_all(b"HELLO 3\r\nPING\r\n")
        got = b""
        while not got.endswith(b"+PONG\r\n"):
            got += await s.receive_some(RECV_BYTES)
        await s.send_all(b"GET nokey\r\nRESET\r\nGET nokey\r\n")
        expected = b"_\r\n+RESET\r\n$-1\r\n"
        got = b""
        with trio.move_on_after(10):  # a wrong answer may be shorter: do not wait forever
            got = await read_exactly(s, expected)
        assert got == expected


async def test_client_that_does_not_read_is_disconnected_and_others_are_served() -> None:
    cfg = ServeConfig(port=0, extra={"client-output-buffer-limit": "normal 1mb 0 0"})
    async with running(cfg) as server:
        writer = await connect(server)
        value = b"x" * 100_000
        await writer.send_all(b"*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n$%d\r\n%s\r\n" % (len(value), value))
        assert await read_exactly(writer, b"+OK\r\n") == b"+OK\r\n"
        slow = await connect(server)
        # 200 replies of 100 kB = 20 MB, far past the 1 MB hard limit; never read.
        try:
            await slow.send_all(b"GET big\r\n" * 200)
        except trio.BrokenResourceError:
            pass
        other = await connect(server)
        await other.send_all(b"PING\r\n")
        assert await read_exactly(other, b"+PONG\r\n") == b"+PONG\r\n"
        received = await read_to_eof(slow)
        assert len(received) < 200 * len(value)
        assert len(server.conns) == 2


async def test_client_kill_closes_the_target() -> None:
    async with running() as server:
        victim = await connect(server)
        await victim.send_all(b"CLIENT ID\r\n")
        reply = await victim.receive_some(RECV_BYTES)
        victim_id = int(reply[1:-2])
        killer = await connect(server)
        await killer.send_all(b"CLIENT KILL ID %d\r\n" % victim_id)
        assert await read_exactly(killer, b":1\r\n") == b":1\r\n"
        assert await read_to_eof(victim) == b""


async def test_client_kill_inside_exec_or_mid_pipeline_closes_the_target() -> None:
    async with running() as server:
        victims = []
        for _ in range(2):
            victim = await connect(server)
            await victim.send_all(b"CLIENT ID\r\n")
            victims.append((victim, int((await victim.receive_some(RECV_BYTES))[1:-2])))
        killer = await connect(server)
        (first, first_id), (second, second_id) = victims
        await killer.send_all(b"MULTI\r\nCLIENT KILL ID %d\r\nEXEC\r\n"
                              b"CLIENT KILL ID %d\r\nPING\r\n" % (first_id, second_id))
        expected = b"+OK\r\n+QUEUED\r\n*1\r\n:1\r\n:1\r\n+PONG\r\n"
        assert await read_exactly(killer, expected) == expected
        assert await read_to_eof(first) == b""
        assert await read_to_eof(second) == b""
        assert len(server.conns) == 1


async def test_idle_client_is_closed_after_timeout(autojump_clock: trio.testing.MockClock) -> None:
    def clock() -> int:
        return 1_700_000_000_000 + int(trio.current_time() * 1000)

    cfg = ServeConfig(port=0, extra={"timeout": "5"})
    async with running(cfg, clock=clock) as server:
        s = await connect(server)
        await s.send_all(b"PING\r\n")
        assert await read_exactly(s, b"+PONG\r\n") == b"+PONG\r\n"
        start = trio.current_time()
        assert await read_to_eof(s) == b""
        assert trio.current_time() - start >= 5
        assert not server.conns


async def test_expired_keys_are_reclaimed_by_the_active_cycle(
        autojump_clock: trio.testing.MockClock) -> None:
    def clock() -> int:
        return 1_700_000_000_000 + int(trio.current_time() * 1000)

    async with running(clock=clock) as server:
        s = await connect(server)
        await s.send_all(b"SET a 1 PX 50\r\nSET b 1 PX 80\r\nSET c 1\r\n")
        assert await read_exactly(s, b"+OK\r\n" * 3) == b"+OK\r\n" * 3
        db = server.engine.dbs[0]
        while db.key_count > 1:  # nobody touches a or b: only the active cycle can delete them
            await trio.sleep(0.1)
        assert sorted(db.keys()) == [b"c"]
        assert server.engine.expired_keys == 2


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(garbage=st.lists(st.binary(min_size=1, max_size=200), min_size=1, max_size=5))
def test_garbage_never_takes_the_server_down(garbage: list[bytes]) -> None:
    async def main() -> None:
        async with running() as server:
            s = await connect(server)
            for chunk in garbage:
                try:
                    await s.send_all(chunk)
                except trio.BrokenResourceError:
                    break
            await s.aclose()
            t = await connect(server)
            await t.send_all(b"*1\r\n$4\r\nPING\r\n")
            assert await read_exactly(t, b"+PONG\r\n") == b"+PONG\r\n"

    trio.run(main)


async def test_unauthenticated_clients_get_redis_small_request_limits() -> None:
    async with running(ServeConfig(port=0, requirepass="pw")) as server:
        big = await connect(server)
        await big.send_all(b"*11\r\n")
        assert await read_to_eof(big) == b"-ERR Protocol error: unauthenticated multibulk length\r\n"
        bulk = await connect(server)
        await bulk.send_all(b"*2\r\n$16385\r\n")
        assert await read_to_eof(bulk) == b"-ERR Protocol error: unauthenticated bulk length\r\n"
        # AUTH and a large command in the same write: the limit ends with the AUTH.
        ok = await connect(server)
        value = b"v" * 20000
        await ok.send_all(b"AUTH pw\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$20000\r\n%s\r\nSTRLEN k\r\n" % value)
        expected = b"+OK\r\n+OK\r\n:20000\r\n"
        assert await read_exactly(ok, expected) == expected


async def _shutdown_ends_run(request: bytes) -> None:
    """`request` makes the server shut down: run() returns by itself, every client sees EOF."""
    server = RespServer(ServeConfig(port=0))
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            await nursery.start(server.run)  # the nursery ends only when run() returns
            other = await connect(server)
            await other.send_all(b"PING\r\n")
            assert await read_exactly(other, b"+PONG\r\n") == b"+PONG\r\n"
            caller = await connect(server)
            await caller.send_all(request)
            await read_to_eof(caller)
            assert await read_to_eof(other) == b""
    with pytest.raises(OSError):
        await trio.open_tcp_stream("127.0.0.1", server.port)


async def test_shutdown_closes_every_client_and_ends_the_server() -> None:
    await _shutdown_ends_run(b"SHUTDOWN NOSAVE\r\n")


async def test_shutdown_parked_behind_a_blocking_command_runs_when_it_times_out() -> None:
    await _shutdown_ends_run(b"BLPOP nothing 0.05\r\nSHUTDOWN\r\n")


async def test_refused_shutdown_leaves_the_server_serving() -> None:
    async with running() as server:
        s = await connect(server)
        await s.send_all(b"SHUTDOWN SAVE\r\nSHUTDOWN ABORT\r\nMULTI\r\nSHUTDOWN\r\nEXEC\r\nPING\r\n")
        expected = (b"-ERR Errors trying to SHUTDOWN. gyrekv keeps no persistence, so SAVE cannot be "
                    b"honoured (use NOSAVE, or FORCE to stop anyway)\r\n"
                    b"-ERR No shutdown in progress.\r\n+OK\r\n"
                    b"-ERR Command not allowed inside a transaction\r\n"
                    b"-EXECABORT Transaction discarded because of previous errors.\r\n+PONG\r\n")
        assert await read_exactly(s, expected) == expected
