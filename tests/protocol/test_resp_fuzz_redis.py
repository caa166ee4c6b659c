"""Protocol fuzzing: the same random request bytes to `gyre serve` and to Debian's redis-server.

Strategy
--------
Hypothesis builds a *case*: a pipeline of frames (canonical multibulk
commands, inline commands with quotes and escapes, blank lines, RESP3 and
other reply-looking frames no request is made of, lines near the 64 KB
inline limit, huge declared lengths), then maybe mutates it (bytes flipped,
inserted or deleted, a declared length replaced by a bad number), maybe
truncates it, and cuts it into chunks.  Both servers get the same chunks
over a fresh connection each; between two chunks the test waits until the
server answered a PING on a second connection (it then has most likely read
the first chunk on its own: a condition, not a sleep).  Then the client
half-closes and reads until the server closes: the bytes must be equal.
A server that closes early (or never) shows in those bytes, because later
chunks then go unanswered (or the read times out, a hang).

After every case the gyre process must still be running and must answer a
PING on its second connection (liveness: other clients are served).

Only harmless commands are generated (PING, ECHO, SET/GET/EXISTS on a few
``fz:`` keys); both servers run the same commands in the same order, so
their keyspaces stay equal.  Cases where Redis's answer depends on how its
reads happened to chunk the stream, and gyrekv's deliberate differences, are
listed in `KNOWN_DIFFERENCES` with the reason; such cases are not compared.

Runs: `test_fuzz_against_redis` is the short run of the default suite
(derandomised under CI by the ``ci`` profile). The long run is
``GYRE_FUZZ_SECONDS=3600 pytest tests/protocol/test_resp_fuzz_redis.py -m slow``:
it keeps drawing fresh batches of examples until the time is up.
"""

from __future__ import annotations

import errno
import os
import re
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Final

import hiredis
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from protocol.errors import ProtocolError
from protocol.resp import INLINE_MAX_BYTES, MULTIBULK_LEN_MAX, Reader
from tests.helpers import gyre_process, real_redis_server

pytestmark = pytest.mark.redis

SOCKET_TIMEOUT_S = 10.0  # a server that sends nothing for this long is hung
SHORT_RUN_EXAMPLES = 300
AUTH_RUN_EXAMPLES = 150
LONG_RUN_BATCH_EXAMPLES = 500
LONG_RUN_DEFAULT_S = 60.0
REDIS_MULTIBULK_LEN_MAX = 2**31 - 1  # Redis 7.0's limit (INT_MAX)
PING_INLINE = b"PING\r\n"
PONG = b"+PONG\r\n"


# ------------------------------------------------------- known differences


def _multibulk_count_over_our_limit(data: bytes) -> bool:
    """Whether a multibulk count Redis 7.0 accepts and we refuse is parsed anywhere in ``data``."""
    return _pure_outcome(data, MULTIBULK_LEN_MAX) != _pure_outcome(data, REDIS_MULTIBULK_LEN_MAX)


def _long_line_that_ends(data: bytes) -> bool:
    """Whether a line longer than 64 KB is terminated (Redis's verdict depends on its read sizes)."""
    return len(data) > INLINE_MAX_BYTES and any(
        max(map(len, data.split(end)[:-1]), default=0) > INLINE_MAX_BYTES for end in (b"\n", b"\r"))


@dataclass(frozen=True)
class KnownDifference:
    """A class of inputs on which gyrekv answers differently from Redis, on purpose."""

    name: str
    reason: str
    applies: Callable[[bytes], bool]


KNOWN_DIFFERENCES: Final = (
    KnownDifference(
        "multibulk count over 1,048,576",
        "Redis 7.0 accepts counts up to INT_MAX (and then waits for the arguments); gyrekv keeps "
        "Redis 6.2's limit of 1,048,576 arguments and answers 'invalid multibulk length' "
        "(README, Limits; protocol.resp's docstring)",
        _multibulk_count_over_our_limit),
    KnownDifference(
        "a line over 64 KB that is terminated",
        "Redis checks the 64 KB line limit after each read, whose size grows with its query "
        "buffer, so whether such a line is refused depends on how the bytes were chunked; "
        "gyrekv refuses it however it is chunked (protocol.resp's docstring)",
        _long_line_that_ends),
)


def _pure_outcome(data: bytes, multibulk_len_max: int) -> tuple[list[list[bytes]], bytes | None]:
    reader = Reader(multibulk_len_max=multibulk_len_max)
    commands: list[list[bytes]] = []
    try:
        reader.feed(data)
        while got := reader.gets_all():
            commands.extend(got)
    except ProtocolError as e:
        return commands, e.reply
    return commands, None


def known_difference(data: bytes) -> KnownDifference | None:
    return next((d for d in KNOWN_DIFFERENCES if d.applies(data)), None)


# ------------------------------------------------------------ generators

KEYS: Final = (b"fz:a", b"fz:b", b"fz:c")
VALUE = st.binary(max_size=24) | st.sampled_from(
    [b"", b"\r\n", b"*1\r\n", b"$", b"\0", b"x" * 300, b"'", b'"', b"\\", b"a b"])
KEY = st.sampled_from(KEYS)
ARGV = st.one_of(
    st.sampled_from([[b"PING"], [b"ping"], [b"PiNg"], [b"EXISTS"], [b"GET"]]),
    st.tuples(st.sampled_from([b"PING", b"ECHO", b"echo"]), VALUE).map(list),
    st.tuples(st.sampled_from([b"SET", b"set"]), KEY, VALUE).map(list),
    st.tuples(st.sampled_from([b"GET", b"get"]), KEY).map(list),
    st.lists(KEY, min_size=1, max_size=4).map(lambda keys: [b"EXISTS", *keys]),
    st.lists(VALUE, min_size=2, max_size=4).map(lambda args: [b"ECHO", *args]),  # wrong arity
    st.tuples(st.sampled_from([b"NOSUCH", b"G\0ET", b"", b"x" * 200]), VALUE).map(list),
)


def multibulk(argv: list[bytes]) -> bytes:
    return b"*%d\r\n" % len(argv) + b"".join(b"$%d\r\n%b\r\n" % (len(a), a) for a in argv)


def quote(arg: bytes) -> bytes:
    """``arg`` as one inline word: bare when it is plain, else in escaped double quotes."""
    if arg and all(0x21 <= b <= 0x7E and b not in b"\"'\\" for b in arg):
        return arg
    return b'"' + b"".join(b"\\x%02x" % b if not 0x20 <= b <= 0x7E or b in b'"\\' else bytes((b,))
                           for b in arg) + b'"'


def inline(argv: list[bytes], end: bytes) -> bytes:
    return b" ".join(map(quote, argv)) + end


INLINE_PIECES: Final = [b"a", b" ", b"  ", b"\t", b"\x0b", b"\r", b'"', b"'", b"\\", b"\\x4", b"\\x41",
                        b"1", b"\\n", b"\\'", b'\\"', b"\xff", b"\0", b"*", b"$"]
RAW_INLINE = st.builds(
    lambda first, pieces, end: first + b"".join(pieces) + end,
    st.sampled_from([b"ECHO ", b"PING ", b"echo", b"", b" ", b'"ECHO" ', b"'PING' "]),
    st.lists(st.sampled_from(INLINE_PIECES), max_size=12),
    st.sampled_from([b"\r\n", b"\n", b"\r\r\n"]),
)
# Frames a reply may hold but no request: Redis reads each as an inline command.
RESP3_LOOKING = st.builds(
    lambda kind, head, body: kind + head + b"\r\n" + body,
    st.sampled_from([b"%", b"~", b"#", b",", b"_", b"(", b">", b"|", b"=", b"!", b":", b"+", b"-"]),
    st.sampled_from([b"", b"1", b"2", b"0", b"-1", b"t", b"f", b"1.5", b"inf", b"3", b"123456789012345678901"]),
    st.sampled_from([b"", b"+a\r\n", b"$1\r\na\r\n", b"+a\r\n+b\r\n", b":1\r\n", b"txt:abc\r\n"]),
)
BLANK = st.sampled_from([b"\r\n", b"\n", b"   \r\n", b"\t\n", b"\r\r\n"])
LONG_LINE = st.builds(
    lambda size, kind: {"inline": b"ECHO " + b"y" * size + b"\r\n",
                        "mbulk": b"*" + b"1" * size + b"\r\n",
                        "bulk": b"*1\r\n$" + b"1" * size + b"\r\n"}[kind],
    st.integers(INLINE_MAX_BYTES - 5000, INLINE_MAX_BYTES - 16),  # room for a few inserted bytes
    st.sampled_from(["inline", "mbulk", "bulk"]),
)
BAD_NUMBERS: Final = [b"-1", b"-5", b"0", b"536870912", b"536870913", b"1048576", b"1048577",
                      b"2147483647", b"2147483648", b"9223372036854775807", b"9223372036854775808",
                      b"18446744073709551616", b"+4", b" 4", b"4 ", b"04", b"-0", b"", b"4x", b"x"]
HUGE_DECLARED = st.builds(
    lambda head, tail: head + tail,
    st.sampled_from([b"*1\r\n$536870912\r\n", b"*1\r\n$536870911\r\n", b"*1\r\n$536870913\r\n",
                     b"*2\r\n$4\r\nECHO\r\n$9223372036854775807\r\n", b"*1048576\r\n", b"*1048577\r\n",
                     b"*2147483647\r\n", b"*-2147483648\r\n", b"*1\r\n$-1\r\n"]),
    st.sampled_from([b"", b"abc", b"abc\r\n", PING_INLINE]),
)
FRAME = st.one_of(
    ARGV.map(multibulk),
    ARGV.map(multibulk),
    st.builds(inline, ARGV, st.sampled_from([b"\r\n", b"\n"])),
    RAW_INLINE,
    RESP3_LOOKING,
    BLANK,
    HUGE_DECLARED,
)
# Ends of a case that are cut short on purpose; long ones are refused however chunked.
TRUNCATED_END = st.sampled_from([
    b"", b"*", b"*1", b"*1\r", b"*1\r\n$", b"*1\r\n$4\r\nPI", b"*1\r\n$4\r\nPING\r", b"PING",
    b"ECHO \"a", b"*1\r\n$4\x00\r\n", b"y" * (INLINE_MAX_BYTES + 10), b"*" + b"1" * (INLINE_MAX_BYTES + 10),
    b"*1\r\n$" + b"1" * (INLINE_MAX_BYTES + 10), b"PI\x00NG\r\n" + b"x" * (INLINE_MAX_BYTES + 10)])
_NUMBER_AFTER_TYPE = re.compile(rb"(?:^|\n)[*$](-?\d+)\r")
INSERTED = st.sampled_from([b"\r", b"\n", b"\0", b"*", b"$", b"-", b"+", b" ", b"9", b'"', b"%"]) \
    | st.binary(min_size=1, max_size=1)


@st.composite
def mutated(draw: st.DrawFn, data: bytes) -> bytes:
    """``data`` with one to three mutations: bytes flipped, inserted, deleted, a length replaced."""
    for _ in range(draw(st.integers(1, 3))):
        if not data:
            return data
        kind = draw(st.sampled_from(["flip", "insert", "delete", "number", "number"]))
        at = draw(st.integers(0, len(data) - 1))
        if kind == "flip":
            data = data[:at] + bytes((draw(st.integers(0, 255)),)) + data[at + 1:]
        elif kind == "insert":
            data = data[:at] + draw(INSERTED) + data[at:]
        elif kind == "delete":
            data = data[:at] + data[at + 1:]
        else:
            numbers = list(_NUMBER_AFTER_TYPE.finditer(data))
            if numbers:
                m = numbers[draw(st.integers(0, len(numbers) - 1))]
                data = data[:m.start(1)] + draw(st.sampled_from(BAD_NUMBERS)) + data[m.end(1):]
    return data


@dataclass(frozen=True)
class Case:
    """What one connection sends: the chunks, each written after the server served the last.

    With ``resp3`` the connection first switches to RESP3 (``HELLO 3``, whose
    reply names the server and is not compared).
    """

    chunks: tuple[bytes, ...]
    resp3: bool = False

    @property
    def data(self) -> bytes:
        return b"".join(self.chunks)


def cut(data: bytes, points: list[int], resp3: bool = False) -> Case:
    bounds = sorted({p for p in points if 0 < p < len(data)})
    return Case(tuple(data[a:b] for a, b in zip([0, *bounds], [*bounds, len(data)])), resp3)


# Commands that must never run here: they would block, stop, reconfigure or
# flush a server, or answer with values that differ by nature (time, ids).
_FORBIDDEN: Final = frozenset(
    b"shutdown debug monitor subscribe psubscribe ssubscribe sync psync replicaof slaveof flushall "
    b"flushdb config client failover wait waitaof blpop brpop blmove brpoplpush blmpop bzpopmin "
    b"bzpopmax bzmpop xread xreadgroup eval evalsha eval_ro evalsha_ro fcall fcall_ro script function "
    b"info time hello select multi exec swapdb migrate cluster acl module save bgsave bgrewriteaof "
    b"lastsave randomkey memory object latency slowlog command role keys scan reset expire pexpire "
    b"expireat pexpireat sort sort_ro restore".split())
_WORD = re.compile(rb"[a-z_]+")


def _forbidden(data: bytes) -> bool:
    """Whether any word of ``data`` (letters and '_', any case) names a forbidden command."""
    return not _FORBIDDEN.isdisjoint(_WORD.findall(data.lower()))


PASSWORD: Final = b"fuzzpass"
# Before AUTH, Redis allows 10 arguments of 16 KB each: frames on both sides of those limits.
AUTH_FRAME = st.sampled_from([
    multibulk([b"AUTH", PASSWORD]), b"AUTH " + PASSWORD + b"\r\n", multibulk([b"AUTH", b"wrong"]),
    multibulk([b"AUTH", b"default", PASSWORD]), multibulk([b"ECHO", b"z" * 16384]),
    multibulk([b"ECHO", b"z" * 16385]), multibulk([b"EXISTS", *KEYS * 3]), multibulk([b"EXISTS", *KEYS * 4]),
    b"*11\r\n", b"*1\r\n$16385\r\n", b"ECHO " + b"z" * 20000 + b"\r\n"])


@st.composite
def cases(draw: st.DrawFn, auth: bool = False) -> Case:
    """One case; ``auth``: for a server with a password, with AUTH and the pre-AUTH limits in play."""
    frame = st.one_of(FRAME, AUTH_FRAME) if auth else FRAME
    frames = draw(st.lists(frame, min_size=1, max_size=6))
    if draw(st.integers(0, 9)) == 0:
        frames.insert(draw(st.integers(0, len(frames))), draw(LONG_LINE))
    data = b"".join(frames)
    if draw(st.booleans()):
        data = draw(mutated(data))
    if draw(st.integers(0, 3)) == 0:
        data = data[:draw(st.integers(0, len(data)))]
    if draw(st.integers(0, 4)) == 0:
        data += draw(TRUNCATED_END)
    if _forbidden(data) or not data:
        data = multibulk([b"PING"])  # cannot happen with the frames above, short of mutations
    points = draw(st.lists(st.integers(0, len(data)), max_size=3))
    return cut(data, points, resp3=not auth and draw(st.integers(0, 3)) == 0)


# ---------------------------------------------------------------- runner


@dataclass
class Server:
    """One server under test and a second connection to it, kept open for barriers and liveness."""

    name: str
    port: int
    side: socket.socket
    proc: subprocess.Popen[str] | None = None

    def ping(self) -> None:
        """Round-trip a PING on the side connection: the server is serving other clients."""
        self.side.sendall(PING_INLINE)
        got = b""
        while len(got) < len(PONG):
            chunk = self.side.recv(64)
            assert chunk, f"{self.name} closed its side connection"
            got += chunk
        assert got == PONG, (self.name, got)

    def answer(self, case: Case) -> bytes:
        """Everything the server sends for ``case`` until it closes (``<hang>`` if it never does)."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=SOCKET_TIMEOUT_S) as sock:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if case.resp3:
                hello_3(sock)
            try:
                for i, chunk in enumerate(case.chunks):
                    if i:
                        self.ping()  # the server has most likely read the chunk before
                    sock.sendall(chunk)
                sock.shutdown(socket.SHUT_WR)
            except (BrokenPipeError, ConnectionResetError):
                pass  # it closed early: what it sent before is still to read
            except OSError as e:
                if e.errno != errno.ENOTCONN:  # shutdown() after the server reset the connection
                    raise
            out = b""
            try:
                while chunk := sock.recv(1 << 16):
                    out += chunk
            except ConnectionResetError:
                pass  # closed with our bytes unread (Redis reads 16 KB at a time): the same bytes
            except TimeoutError:
                out += b"<hang>"
            return out


def hello_3(sock: socket.socket) -> None:
    """Switch ``sock`` to RESP3 and read HELLO's reply exactly (a map, parsed by hiredis)."""
    sock.sendall(b"HELLO 3\r\n")
    reader = hiredis.Reader()
    reply: object = False
    while reply is False:
        chunk = sock.recv(4096)
        assert chunk, "closed during HELLO 3"
        reader.feed(chunk)
        reply = reader.gets()
    assert isinstance(reply, dict) and reply.get(b"proto") == 3, reply
    assert not reader.has_data()


@dataclass
class Outcome:
    compared: int = 0
    known: int = 0


def _side(port: int, password: bytes) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=SOCKET_TIMEOUT_S)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if password:
        sock.sendall(b"AUTH %b\r\n" % password)
        assert sock.recv(64) == b"+OK\r\n"
    return sock


@contextmanager
def server_pair(*args: str, password: bytes = b"") -> Iterator[tuple[Server, Server]]:
    """`gyre serve` and redis-server, both started with ``args``, each with a side connection."""
    with gyre_process(*args) as (gyre_port, proc), real_redis_server(*args) as redis_port:
        # Its log is read (and dropped) so a full pipe can never stall the server.
        threading.Thread(target=proc.stdout.read, daemon=True).start()  # type: ignore[union-attr]
        gyre = Server("gyre", gyre_port, _side(gyre_port, password), proc)
        redis = Server("redis", redis_port, _side(redis_port, password))
        try:
            yield gyre, redis
        finally:
            gyre.side.close()
            redis.side.close()


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[Server, Server]]:
    with server_pair() as pair:
        yield pair


@pytest.fixture(scope="module")
def auth_servers() -> Iterator[tuple[Server, Server]]:
    """A pair started with ``--requirepass``: every case's connection begins unauthenticated."""
    with server_pair("--requirepass", PASSWORD.decode(), password=PASSWORD) as pair:
        yield pair


def check_case(servers: tuple[Server, Server], case: Case, outcome: Outcome | None = None) -> None:
    """Both servers answer ``case`` with the same bytes, and gyre keeps serving others."""
    gyre, redis = servers
    ours = gyre.answer(case)
    assert gyre.proc is not None and gyre.proc.poll() is None, "gyre serve died"
    gyre.ping()
    theirs = redis.answer(case)
    redis.ping()
    if known_difference(case.data) is not None:
        if outcome is not None:
            outcome.known += 1
        return
    assert b"<hang>" not in theirs, f"redis-server hung on {case!r}"
    assert ours == theirs, f"{case!r}\n gyre:  {ours[:400]!r}\n redis: {theirs[:400]!r}"
    if outcome is not None:
        outcome.compared += 1


# ------------------------------------------------------------------ tests

FUZZ_SETTINGS = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                HealthCheck.data_too_large])


@settings(FUZZ_SETTINGS, max_examples=SHORT_RUN_EXAMPLES)
@given(case=cases())
def test_fuzz_against_redis(servers: tuple[Server, Server], case: Case) -> None:
    check_case(servers, case)


@settings(FUZZ_SETTINGS, max_examples=AUTH_RUN_EXAMPLES)
@given(case=cases(auth=True))
def test_fuzz_unauthenticated_against_redis(auth_servers: tuple[Server, Server], case: Case) -> None:
    check_case(auth_servers, case)


PIPELINE: Final = (multibulk([b"SET", b"fz:a", b"v\r\n1"]) + b"GET fz:a\r\n" + multibulk([b"ECHO", b""])
                   + b"\r\n" + b'ECHO "a\\x41" \'b\'\n' + multibulk([b"EXISTS", b"fz:a", b"fz:b"])
                   + b"%1\r\n" + multibulk([b"PING"]) + b"*1\r\n$x\r\n" + PING_INLINE)


def test_pipeline_cut_at_every_byte(servers: tuple[Server, Server]) -> None:
    whole = servers[1].answer(Case((PIPELINE,)))
    assert whole.endswith(b"-ERR Protocol error: invalid bulk length\r\n")
    for at in range(1, len(PIPELINE)):
        check_case(servers, cut(PIPELINE, [at]))


def test_pipeline_cut_into_single_bytes(servers: tuple[Server, Server]) -> None:
    data = PIPELINE[:PIPELINE.index(b"*1\r\n$x")]  # up to the error: no byte goes unread
    check_case(servers, cut(data, list(range(len(data)))))


def test_known_differences_still_differ(servers: tuple[Server, Server]) -> None:
    """Each entry of the table is a real difference today (else it should leave the table)."""
    examples = {"multibulk count over 1,048,576": b"*1048577\r\n$4\r\nPING\r\n",
                "a line over 64 KB that is terminated": b"ECHO " + b"y" * (INLINE_MAX_BYTES + 10) + b"\r\n"}
    assert set(examples) == {d.name for d in KNOWN_DIFFERENCES}
    gyre, redis = servers
    for name, data in examples.items():
        difference = known_difference(data)
        assert difference is not None and difference.name == name
        assert gyre.answer(Case((data,))) != redis.answer(Case((data,))), name


@pytest.mark.slow
def test_fuzz_against_redis_long(servers: tuple[Server, Server], auth_servers: tuple[Server, Server]) -> None:
    """`GYRE_FUZZ_SECONDS` (default 60) of fresh examples, in batches."""
    seconds = float(os.environ.get("GYRE_FUZZ_SECONDS", LONG_RUN_DEFAULT_S))
    deadline = time.monotonic() + seconds
    outcome = Outcome()

    @settings(FUZZ_SETTINGS, max_examples=LONG_RUN_BATCH_EXAMPLES, derandomize=False, database=None)
    @given(case=cases())
    def batch(case: Case) -> None:
        if time.monotonic() < deadline:
            check_case(servers, case, outcome)

    @settings(FUZZ_SETTINGS, max_examples=LONG_RUN_BATCH_EXAMPLES, derandomize=False, database=None)
    @given(case=cases(auth=True))
    def auth_batch(case: Case) -> None:
        if time.monotonic() < deadline:
            check_case(auth_servers, case, outcome)

    batches = 0
    while time.monotonic() < deadline:
        (auth_batch if batches % 4 == 3 else batch)()  # one batch in four before AUTH
        batches += 1
    print(f"\nprotocol fuzz: {outcome.compared} cases compared, {outcome.known} known differences "
          f"skipped, {batches} batches in {seconds:.0f} s")
    assert outcome.compared > 0
