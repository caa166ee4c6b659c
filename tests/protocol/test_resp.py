"""protocol.resp: the request readers (pure and hiredis-backed) and the reply encoder.

Every reader test runs against both readers (the `make` fixture).  Inputs are
fed three ways: whole, one byte at a time, and with trailing data (the next
command, or garbage after an error); all must give the same result.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterable

import hiredis
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol.errors import ProtocolError
from protocol.replies import (
    NULL_ARRAY,
    OK,
    BigNumber,
    Bulks,
    ErrorReply,
    Push,
    SetReply,
    SimpleString,
    Verbatim,
)
from protocol.resp import (
    ERR_BIG_BULK_COUNT,
    ERR_BIG_INLINE,
    ERR_BIG_MBULK_COUNT,
    ERR_BULK_LEN,
    ERR_EXPECTED_DOLLAR,
    ERR_MULTIBULK_LEN,
    ERR_UNBALANCED_QUOTES,
    HIREDIS_AVAILABLE,
    NEED_DATA,
    Argv,
    HiredisReader,
    QueryBufferLimitError,
    Reader,
    _split_inline_args_slow,
    encode,
    encode_into,
    encode_many,
    format_double,
    make_reader,
    split_inline_args,
)

READERS = [Reader, HiredisReader] if HIREDIS_AVAILABLE else [Reader]
MakeReader = Callable[..., Reader]
PING = b"*1\r\n$4\r\nPING\r\n"
GARBAGE = b"*x\r\n$-7\r\n\"\r\n"


def expected_dollar(got: bytes) -> bytes:
    return b"ERR Protocol error: expected '$', got '" + got + b"'"


@pytest.fixture(params=READERS, ids=lambda cls: cls.__name__)
def make(request: pytest.FixtureRequest) -> MakeReader:
    return functools.partial(request.param)


def drain(reader: Reader, chunks: Iterable[bytes]) -> tuple[list[Argv], bytes | None]:
    """Feed chunks as a server would; return the commands and the error reply (or None)."""
    cmds: list[Argv] = []
    try:
        for chunk in chunks:
            reader.feed(chunk)
            while got := reader.gets_all():
                cmds.extend(got)
    except ProtocolError as e:
        return cmds, e.reply
    return cmds, None


def drain_take(reader: Reader, chunks: Iterable[bytes]) -> tuple[list[Argv], bytes | None]:
    """`drain` through `take`, the server's one-call read."""
    cmds: list[Argv] = []
    try:
        for chunk in chunks:
            cmds.extend(reader.take(chunk))
            if reader.error is not None:
                return cmds, reader.error.reply
            while got := reader.gets_all():
                cmds.extend(got)
    except ProtocolError as e:
        return cmds, e.reply
    return cmds, None


def bytewise(data: bytes) -> list[bytes]:
    return [data[i : i + 1] for i in range(len(data))]


def check(make: MakeReader, data: bytes, cmds: list[Argv], error: bytes | None = None, **limits: int) -> None:
    """``data`` ends at a command boundary or at an error: check it three ways."""
    assert drain(make(**limits), [data]) == (cmds, error)
    assert drain(make(**limits), bytewise(data)) == (cmds, error)
    if error is None:
        assert drain(make(**limits), [data + PING]) == ([*cmds, [b"PING"]], None)
    else:
        assert drain(make(**limits), [data + GARBAGE]) == (cmds, error)
        assert drain(make(**limits), [data, GARBAGE, PING]) == (cmds, error)


def check_incomplete(make: MakeReader, data: bytes, cmds: list[Argv], **limits: int) -> None:
    """``data`` ends inside a command: every way of feeding it waits for more."""
    for chunks in ([data], bytewise(data)):
        reader = make(**limits)
        assert drain(reader, chunks) == (cmds, None)
        assert reader.gets() is NEED_DATA


# ---------------------------------------------------------------- multibulk


VALID_MULTIBULK = [
    (b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nvalue\r\n", [[b"SET", b"k", b"value"]]),
    (PING * 3, [[b"PING"]] * 3),
    (b"*1\r\n$0\r\n\r\n", [[b""]]),
    (b"*2\r\n$3\r\nGET\r\n$6\r\na\r\nb\x00c\r\n", [[b"GET", b"a\r\nb\x00c"]]),
    (b"*0\r\n*-1\r\n*-5\r\n" + PING, [[b"PING"]]),  # count <= 0: empty command, skipped
    (b"*-9223372036854775808\r\n" + PING, [[b"PING"]]),  # int64 min is a number, so <= 0
    (b"*1\rX$4\r\nPING\r\n", [[b"PING"]]),  # the byte after CR is skipped unread
    (b"*1\r\n$4\rX" + b"PING\r\n", [[b"PING"]]),
    (b"*1\r\n$4\r\nPINGXY", [[b"PING"]]),  # so are the two bytes after a payload
    (b"*2\r\n$1\r\n*\r\n$1\r\n$\r\n", [[b"*", b"$"]]),
    (b"*1\r\n$12\r\n" + b"x" * 12 + b"\r\n", [[b"x" * 12]]),
    (b"*12\r\n" + b"$1\r\na\r\n" * 12, [[b"a"] * 12]),
]


@pytest.mark.parametrize(("data", "cmds"), VALID_MULTIBULK)
def test_multibulk(make: MakeReader, data: bytes, cmds: list[Argv]) -> None:
    check(make, data, cmds)


BAD_NUMBERS = [b"", b"+1", b"01", b"-0", b" 1", b"1 ", b"1x", b"0x1", b"--1", b"-", b"9223372036854775808",
               b"-9223372036854775809", b"1" * 21, b"\xff"]


@pytest.mark.parametrize("number", BAD_NUMBERS)
def test_invalid_multibulk_count(make: MakeReader, number: bytes) -> None:
    check(make, PING + b"*" + number + b"\r\n", [[b"PING"]], ERR_MULTIBULK_LEN)


@pytest.mark.parametrize("number", [*BAD_NUMBERS, b"-1", b"-9223372036854775808"])
def test_invalid_bulk_length(make: MakeReader, number: bytes) -> None:
    check(make, PING + b"*1\r\n$" + number + b"\r\n", [[b"PING"]], ERR_BULK_LEN)


@pytest.mark.parametrize(
    ("element", "got"),
    [(b"+OK\r\n", b"+"), (b":1\r\n", b":"), (b"*1\r\n", b"*"), (b"\r\n", b" "), (b"\n1\r\n", b" "),
     (b"\xff\r\n", b"\xff"), (b"\x01\r\n", b"\x01"), (b"PING\r\n", b"P")],
)
def test_element_must_be_bulk(make: MakeReader, element: bytes, got: bytes) -> None:
    check(make, b"*2\r\n$4\r\nECHO\r\n" + element, [], expected_dollar(got))


def test_bulk_length_limit(make: MakeReader) -> None:
    check(make, b"*1\r\n$5\r\nabcde\r\n", [[b"abcde"]], proto_max_bulk_len=5)
    # Rejected at the header, before any payload arrives.
    check(make, b"*1\r\n$6\r\n", [], ERR_BULK_LEN, proto_max_bulk_len=5)
    check(make, b"*1\r\n$536870913\r\n", [], ERR_BULK_LEN)
    check_incomplete(make, b"*1\r\n$536870912\r\n", [])


def test_multibulk_count_limit(make: MakeReader) -> None:
    check(make, b"*3\r\n" + b"$1\r\na\r\n" * 3, [[b"a"] * 3], multibulk_len_max=3)
    check(make, b"*4\r\n", [], ERR_MULTIBULK_LEN, multibulk_len_max=3)
    check(make, b"*1048577\r\n", [], ERR_MULTIBULK_LEN)
    check_incomplete(make, b"*1048576\r\n", [])
    check_incomplete(make, b"*2147483647\r\n", [], multibulk_len_max=2**31 - 1)  # Redis 7.0's own limit


def test_huge_aggregate_headers_are_cheap(make: MakeReader) -> None:
    # hiredis would allocate these lists up front; the reader must not let it.
    check(make, PING + b"*2\r\n$1\r\na\r\n" + b"*999999\r\n" * 50, [[b"PING"]], expected_dollar(b"*"))
    check(make, b"*2147483648\r\n", [], ERR_MULTIBULK_LEN, multibulk_len_max=2**31 - 1)
    check(make, PING + b"*2\r\n$1\r\na\r\n~2147483647\r\n", [[b"PING"]], expected_dollar(b"~"))
    check_incomplete(make, PING + b"*3\r\n$1\r\na\r\n$14\r\n*2147483647\r\n", [[b"PING"]])
    check(make, b"*1\r\n%1\r\n*1\r\n$0\r\n\r\n", [], expected_dollar(b"%"))  # hiredis: unhashable key
    check(make, b"*100\r\n" + b"$1\r\na\r\n" * 100 + PING, [[b"a"] * 100, [b"PING"]])


def test_unterminated_header_lines(make: MakeReader) -> None:
    limits = {"inline_max_bytes": 16}
    check_incomplete(make, b"*" + b"1" * 15, [], **limits)
    check(make, b"*" + b"1" * 16, [], ERR_BIG_MBULK_COUNT, **limits)
    check(make, b"*1\r\n$" + b"1" * 16, [], ERR_BIG_BULK_COUNT, **limits)
    check_incomplete(make, b"*1\r\n$" + b"1" * 15, [], **limits)
    # Terminated too late: the same error however the bytes are chunked.
    check(make, b"*" + b"1" * 16 + b"\r\n", [], ERR_BIG_MBULK_COUNT, **limits)
    check(make, b"*1\r\n$" + b"0" * 16 + b"\r\n", [], ERR_BIG_BULK_COUNT, **limits)
    # Exactly at the limit, the line is parsed (and here found invalid).
    check(make, b"*" + b"1" * 15 + b"\r\n", [], ERR_MULTIBULK_LEN, **limits)


def test_unterminated_header_default_limit(make: MakeReader) -> None:
    data = b"*" + b"1" * 70000
    chunks = [data[i : i + 4096] for i in range(0, len(data), 4096)]
    assert drain(make(), [data]) == ([], ERR_BIG_MBULK_COUNT)
    assert drain(make(), chunks) == ([], ERR_BIG_MBULK_COUNT)
    assert drain(make(), [b"*1\r\n$" + b"1" * 70000]) == ([], ERR_BIG_BULK_COUNT)


def test_nul_hides_header_terminator(make: MakeReader) -> None:
    # Redis finds the CR with strchr(), which stops at a NUL byte.
    check_incomplete(make, b"*1\x00\r\n", [])
    check_incomplete(make, PING + b"*1\r\n$4\x00\r\nPING\r\n", [[b"PING"]])
    check(make, b"*1\x00\r\n" + b"x" * 16, [], ERR_BIG_MBULK_COUNT, inline_max_bytes=16)


def test_incomplete_multibulk(make: MakeReader) -> None:
    for data in (b"*", b"*3", b"*3\r", b"*3\r\n$3\r\nSET\r\n$1", b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r"):
        check_incomplete(make, PING + data, [[b"PING"]])


# ------------------------------------------------------------------ inline


VALID_INLINE = [
    (b"PING\r\n", [[b"PING"]]),
    (b"PING\n", [[b"PING"]]),
    (b"\r\n\n  \r\n\t\n", []),  # blank lines are empty commands
    (b"SET  k\tv \r\n", [[b"SET", b"k", b"v"]]),
    (b"a\r\r\n", [[b"a"]]),
    (b"a\rb\r\n", [[b"a", b"b"]]),
    (b"a\x0bb \x0bc\r\n", [[b"a\x0bb", b"c"]]),  # \v separates only where blanks are skipped
    (b'ECHO "\\x41\\n\\q\\\\" \'it\\\'s\'\r\n', [[b"ECHO", b"A\nq\\", b"it's"]]),
    (b'ab"c d" ef\r\n', [[b"abc d", b"ef"]]),
    (b"$3\r\nfoo\r\n", [[b"$3"], [b"foo"]]),
    (b"+OK\r\n:1\r\n", [[b"+OK"], [b":1"]]),
    (b"PING\r\n" + PING + b"ECHO x\n", [[b"PING"], [b"PING"], [b"ECHO", b"x"]]),
]


@pytest.mark.parametrize(("data", "cmds"), VALID_INLINE)
def test_inline(make: MakeReader, data: bytes, cmds: list[Argv]) -> None:
    check(make, data, cmds)


@pytest.mark.parametrize("line", [b'"a"b', b"'a", b'"abc', b"'a'b", b'"a\\"', b'x "a"b c', b"'\\x'y"])
def test_unbalanced_quotes(make: MakeReader, line: bytes) -> None:
    check(make, PING + line + b"\r\n", [[b"PING"]], ERR_UNBALANCED_QUOTES)


def test_inline_length_limit(make: MakeReader) -> None:
    limits = {"inline_max_bytes": 8}
    check(make, b"ECHO abc\n", [[b"ECHO", b"abc"]], **limits)  # 8 bytes before the newline
    check(make, b"ECHO abcd\n", [], ERR_BIG_INLINE, **limits)
    check(make, b"ECHO abc\r\n", [], ERR_BIG_INLINE, **limits)  # the CR counts too
    check(make, PING + b"x" * 9, [[b"PING"]], ERR_BIG_INLINE, **limits)
    check_incomplete(make, PING + b"x" * 8, [[b"PING"]], **limits)
    assert drain(make(), [b"A" * 70000]) == ([], ERR_BIG_INLINE)


def test_nul_hides_inline_newline(make: MakeReader) -> None:
    check_incomplete(make, b"PI\x00NG\r\n", [])
    check(make, b"PI\x00NG\r\nmore", [], ERR_BIG_INLINE, inline_max_bytes=8)


@pytest.mark.parametrize(
    ("line", "args"),
    [
        (b"", []),
        (b"  \t ", []),
        (b"a b", [b"a", b"b"]),
        (b'"a b" c', [b"a b", b"c"]),
        (b'""', [b""]),
        (b"''", [b""]),
        (b'"\\x41\\x4a\\x4A\\x4z"', [b"AJJx4z"]),
        (b'"\\n\\r\\t\\b\\a\\"\\\'"', [b"\n\r\t\b\a\"'"]),
        (b"'a\\nb\\'c\"'", [b"a\\nb'c\""]),
        (b'ab"cd"', [b"abcd"]),
        (b"ab'c d'", [b"abc d"]),
        (b'"a"\x0bb', [b"a", b"b"]),
        (b"\x0b\x0ca\x0c", [b"a\x0c"]),
        (b'"\xff\\xff"', [b"\xff\xff"]),
    ],
)
def test_split_inline_args(line: bytes, args: Argv) -> None:
    assert split_inline_args(line) == args
    assert _split_inline_args_slow(line) == args


@given(st.binary().map(lambda b: b.replace(b"\0", b"")))
def test_split_fast_path_matches_sdssplitargs(line: bytes) -> None:
    try:
        expected: Argv | bytes = _split_inline_args_slow(line)
    except ProtocolError as e:
        expected = e.reply or b""
    try:
        got: Argv | bytes = split_inline_args(line)
    except ProtocolError as e:
        got = e.reply or b""
    assert got == expected


# ------------------------------------------------------- reader behaviour


def test_gets_one_at_a_time(make: MakeReader) -> None:
    reader = make()
    assert reader.gets() is NEED_DATA
    reader.feed(PING + b"*2\r\n$4\r\nECHO\r\n$1")
    assert reader.gets() == [b"PING"]
    assert reader.gets() is NEED_DATA
    reader.feed(b"\r\nx\r\nPING\r\n")
    assert reader.gets() == [b"ECHO", b"x"]
    assert reader.gets() == [b"PING"]
    assert reader.gets() is NEED_DATA
    assert reader.buffered_bytes == 0


def test_error_after_good_commands_is_deferred_and_sticky(make: MakeReader) -> None:
    reader = make()
    reader.feed(PING + PING + b"*1\r\n$x\r\n" + PING)
    assert reader.gets_all() == [[b"PING"], [b"PING"]]
    assert reader.error is not None  # known already; raised by the next call
    for call in (reader.gets_all, reader.gets, lambda: reader.feed(PING)):
        with pytest.raises(ProtocolError) as info:
            call()
        assert info.value.reply == ERR_BULK_LEN
    assert reader.error is info.value


# Inputs on which hiredis returns flat lists of bytes that Redis reads differently.
# The two bytes after a payload are skipped unread, so an item may follow any bytes.
_SHORT_AND_LONG = b"*14\r\n" + b"$1\r\naXY+b\r\n" * 4 + b"$1\r\naXY=7\r\ntxt:abc\r\n" * 3


@pytest.mark.parametrize(("data", "reply"), [
    # +simple items (shorter than bulks) balanced by =verbatim ones (longer).
    (_SHORT_AND_LONG, ERR_EXPECTED_DOLLAR % b"+"),
    # A (bignum item after the skipped bytes.
    (b"*2\r\n$1\r\naXY(12\r\n", ERR_EXPECTED_DOLLAR % b"("),
    # A RESP3 set where a command should start: Redis reads an inline command.
    (b"*1\r\n$1\r\naXY~1\r\n$1\r\nb\r\n", None),
])
def test_items_that_are_not_bulks(make: MakeReader, data: bytes, reply: bytes | None) -> None:
    cmds, error = drain(make(), [data])
    if reply is None:
        assert cmds == [[b"a"], [b"~1"], [b"$1"], [b"b"]] and error is None
    else:
        assert error == reply


def test_command_cut_at_an_item_boundary(make: MakeReader) -> None:
    """hiredis reports no buffered bytes there, yet holds half a command."""
    data = encode_command([b"GET", b"k"]) + encode_command([b"SET", b"k", b"v"])
    reader = make()
    out = []
    for chunk in (data[:23], data[23:]):  # after "*3 $3 SET"
        reader.feed(chunk)
        out += reader.gets_all()
    assert out == [[b"GET", b"k"], [b"SET", b"k", b"v"]]
    assert reader.buffered_bytes == 0


def test_command_cut_after_its_type_byte(make: MakeReader) -> None:
    """hiredis consumes a type byte at once and then reports no buffered bytes."""
    reader = make()
    reader.feed(encode_command([b"GET", b"k"]) + b"$")
    assert reader.gets_all() == [[b"GET", b"k"]]
    assert reader.buffered_bytes == 1
    reader.feed(b"3\r\n")
    assert reader.gets_all() == [[b"$3"]]  # not a "*" request: an inline one


def test_query_buffer_limit(make: MakeReader) -> None:
    reader = make(query_buffer_max_bytes=20)
    for _ in range(10):  # consumed bytes do not count
        reader.feed(PING)
        assert reader.gets_all() == [[b"PING"]]
    reader.feed(b"*2\r\n$4\r\nECHO\r\n$20\r\n")  # headers are consumed as they arrive
    assert reader.gets_all() == []
    reader.feed(b"x" * 20)  # a partial payload is not
    assert reader.gets_all() == []
    assert reader.buffered_bytes == 20
    with pytest.raises(QueryBufferLimitError) as info:
        reader.feed(b"\r")
    assert info.value.reply is None
    with pytest.raises(QueryBufferLimitError):
        reader.gets()


def test_query_buffer_limit_skips_commands_of_that_read(make: MakeReader) -> None:
    reader = make(query_buffer_max_bytes=len(PING) * 2)
    with pytest.raises(QueryBufferLimitError):
        reader.feed(PING * 3)  # Redis closes before running any of them


def test_limits_changed_in_use_apply_from_the_next_read(make: MakeReader) -> None:
    # CONFIG SET lowers or raises a connected client's limits.
    echo6 = b"*2\r\n$4\r\nECHO\r\n$6\r\nabcdef\r\n"
    reader = make()
    assert reader.take(echo6) == [[b"ECHO", b"abcdef"]]
    reader.set_limits(proto_max_bulk_len=5)
    assert drain_take(reader, [PING + echo6]) == ([[b"PING"]], ERR_BULK_LEN)
    reader = make(proto_max_bulk_len=5)
    reader.set_limits(proto_max_bulk_len=6)
    assert drain(reader, [echo6]) == ([[b"ECHO", b"abcdef"]], None)
    reader = make()
    reader.feed(b"*2\r\n$4\r\nECHO\r\n$20\r\n" + b"x" * 10)
    assert reader.gets_all() == []
    reader.set_limits(query_buffer_max_bytes=15)
    with pytest.raises(QueryBufferLimitError):
        reader.feed(b"x" * 6)


def test_large_value_in_small_reads(make: MakeReader) -> None:
    value = bytes(range(256)) * 4000
    data = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$%d\r\n%b\r\n" % (len(value), value)
    chunks = [data[i : i + 1000] for i in range(0, len(data), 1000)]
    assert drain(make(), [*chunks, PING]) == ([[b"SET", b"k", value], [b"PING"]], None)


def test_make_reader() -> None:
    reader = make_reader(proto_max_bulk_len=10)
    assert isinstance(reader, HiredisReader if HIREDIS_AVAILABLE else Reader)
    assert reader.proto_max_bulk_len == 10
    assert repr(NEED_DATA) == "NEED_DATA"


# --------------------------------------------------------- property tests

ARGV = st.lists(st.binary(max_size=40) | st.sampled_from([b"", b"\r\n", b"*1\r\n", b"$", b"x" * 150]),
                min_size=1, max_size=12)


def encode_command(argv: Argv) -> bytes:
    return b"*%d\r\n" % len(argv) + b"".join(b"$%d\r\n%b\r\n" % (len(a), a) for a in argv)


# `take` reads a whole read as one array of as many items as it has "*" bytes;
# each of these makes that array wrong in one way.
@pytest.mark.parametrize(("data", "commands", "error"), [
    # A "*" in a payload: the array is one item short.
    (encode_command([b"SET", b"k", b"a*b"]) + PING, [[b"SET", b"k", b"a*b"], [b"PING"]], None),
    # ... and a bulk item fills it: an item that is no list (Redis reads inline commands).
    (b"*1\r\n$3\r\na*b\r\n$1\r\nx\r\n", [[b"a*b"], [b"$1"], [b"x"]], None),
    # A nested array: Redis refuses it.
    (b"*1\r\n*1\r\n$1\r\na\r\n", [], expected_dollar(b"*")),
    # An element hiredis reads as no bytes (int, null, double, bool, error): Redis refuses it.
    *[(PING + b"*2\r\n$3\r\nGET\r\n" + item + PING, [[b"PING"]], expected_dollar(item[:1]))
      for item in (b":5\r\n", b"_\r\n", b",1.5\r\n", b"#t\r\n", b"-ERR x\r\n", b"!3\r\nerr\r\n")],
    (PING + b"*2\r\n$3\r\nGET\r\n$-1\r\n" + PING, [[b"PING"]], ERR_BULK_LEN),
    (b"*2\r\n$3\r\nGET\r\n:5\r\n", [], expected_dollar(b":")),  # ... alone in its read
    # An empty and a null command: Redis skips them.
    (b"*0\r\n" + PING + b"*-1\r\n" + PING, [[b"PING"], [b"PING"]], None),
    # Bytes after the commands: the array completes with data left.
    (PING + b"$1\r\nx\r\n", [[b"PING"], [b"$1"], [b"x"]], None),
    # More commands than the table of array headers holds.
    (PING * 200 + encode_command([b"GET", b"k"]), [[b"PING"]] * 200 + [[b"GET", b"k"]], None),
])
def test_take_reads_a_read_as_one_array(make: MakeReader, data: bytes, commands: list[Argv],
                                        error: bytes | None) -> None:
    assert drain_take(make(), [data]) == (commands, error)
    assert drain(make(), [data]) == (commands, error)


def split_at(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({0, len(data), *(c % (len(data) + 1) for c in cuts)})
    return [data[a:b] for a, b in zip(points, points[1:])]


@given(st.lists(ARGV, max_size=8), st.lists(st.integers(min_value=0), max_size=10))
def test_property_multibulk_round_trip(commands: list[Argv], cuts: list[int]) -> None:
    data = b"".join(encode_command(argv) for argv in commands)
    for cls in READERS:
        for how in (drain, drain_take):
            assert how(cls(), split_at(data, cuts)) == (commands, None)
            assert how(cls(), [data]) == (commands, None)


FRAGMENTS = st.sampled_from(
    [b"*", b"$", b"+", b":", b"\r", b"\n", b"\r\n", b"\0", b"0", b"1", b"2", b"3", b"12", b"-", b"-1",
     b" ", b'"', b"'", b"\\", b"x", b"PING", b"\t", b"\x0b", b"*1\r\n", b"$1\r\n", b"*2\r\n", b"$3\r\nabc\r\n",
     b"=5\r\n", b"~1\r\n", b">1\r\n", b"|1\r\n", b"%1\r\n", b"_\r\n", b"\\x4", b"99999",
     b"XY", b"+ab\r\n", b"(12\r\n", b"=7\r\ntxt:abc\r\n", b"~2\r\n", b"*"]
)


@settings(max_examples=400)
@given(
    st.lists(st.one_of(FRAGMENTS, ARGV.map(encode_command)), max_size=25),
    st.lists(st.integers(min_value=0), max_size=8),
)
def test_property_readers_agree_on_any_input(pieces: list[bytes], cuts: list[int]) -> None:
    """Pure and hiredis readers, whole and chunked, give one result for any bytes."""
    data = b"".join(pieces)
    limits = {"inline_max_bytes": 24, "proto_max_bulk_len": 64, "multibulk_len_max": 9}
    results = []
    for cls in READERS:
        for chunks in ([data], split_at(data, cuts)):
            for how in (drain, drain_take):
                reader = cls(**limits)
                cmds, error = how(reader, chunks)
                results.append((cmds, error, reader.buffered_bytes if error is None else None))
    assert all(r == results[0] for r in results), results


# ----------------------------------------------------------------- encoder


@pytest.mark.parametrize(
    ("reply", "resp2", "resp3"),
    [
        (OK, b"+OK\r\n", b"+OK\r\n"),
        (SimpleString(b"a\r\nb"), b"+a  b\r\n", b"+a  b\r\n"),
        (ErrorReply(b"ERR bad\r\nthing"), b"-ERR bad  thing\r\n", b"-ERR bad  thing\r\n"),
        (b"", b"$0\r\n\r\n", b"$0\r\n\r\n"),
        (b"a\r\nb", b"$4\r\na\r\nb\r\n", b"$4\r\na\r\nb\r\n"),
        (bytearray(b"xy"), b"$2\r\nxy\r\n", b"$2\r\nxy\r\n"),
        (memoryview(b"xyz"), b"$3\r\nxyz\r\n", b"$3\r\nxyz\r\n"),
        (0, b":0\r\n", b":0\r\n"),
        (-(2**63), b":-9223372036854775808\r\n", b":-9223372036854775808\r\n"),
        (True, b":1\r\n", b"#t\r\n"),
        (False, b":0\r\n", b"#f\r\n"),
        (None, b"$-1\r\n", b"_\r\n"),
        (NULL_ARRAY, b"*-1\r\n", b"_\r\n"),
        (1.5, b"$3\r\n1.5\r\n", b",1.5\r\n"),
        (0.1, b"$19\r\n0.10000000000000001\r\n", b",0.10000000000000001\r\n"),
        (1e20, b"$5\r\n1e+20\r\n", b",1e+20\r\n"),
        (-0.0, b"$2\r\n-0\r\n", b",-0\r\n"),
        (math.inf, b"$3\r\ninf\r\n", b",inf\r\n"),
        (-math.inf, b"$4\r\n-inf\r\n", b",-inf\r\n"),
        (math.nan, b"$3\r\nnan\r\n", b",nan\r\n"),
        (BigNumber(2**70), b"$22\r\n1180591620717411303424\r\n", b"(1180591620717411303424\r\n"),
        (Verbatim(b"a\r\nb"), b"$4\r\na\r\nb\r\n", b"=8\r\ntxt:a\r\nb\r\n"),
        ([], b"*0\r\n", b"*0\r\n"),
        ([b"a", 1, None], b"*3\r\n$1\r\na\r\n:1\r\n$-1\r\n", b"*3\r\n$1\r\na\r\n:1\r\n_\r\n"),
        ((b"a", [OK, []]), b"*2\r\n$1\r\na\r\n*2\r\n+OK\r\n*0\r\n", b"*2\r\n$1\r\na\r\n*2\r\n+OK\r\n*0\r\n"),
        ({b"k": 1, b"l": [b"v"]}, b"*4\r\n$1\r\nk\r\n:1\r\n$1\r\nl\r\n*1\r\n$1\r\nv\r\n",
         b"%2\r\n$1\r\nk\r\n:1\r\n$1\r\nl\r\n*1\r\n$1\r\nv\r\n"),
        (SetReply([b"a", True]), b"*2\r\n$1\r\na\r\n:1\r\n", b"~2\r\n$1\r\na\r\n#t\r\n"),
        (Push([b"message", b"ch", b"hi"]), b"*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n",
         b">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n"),
        ([ErrorReply(b"WRONGTYPE x"), 2.0], b"*2\r\n-WRONGTYPE x\r\n$1\r\n2\r\n", b"*2\r\n-WRONGTYPE x\r\n,2\r\n"),
    ],
)
def test_encode(reply: object, resp2: bytes, resp3: bytes) -> None:
    assert encode(reply, False) == resp2
    assert encode(reply, True) == resp3
    out = bytearray(b"prefix")
    encode_into(out, reply, True)
    encode_into(out, reply, False)
    assert out == b"prefix" + resp3 + resp2


@pytest.mark.parametrize("resp3", [False, True])
def test_long_arrays_of_bulks(resp3: bool) -> None:
    """Long arrays take a joined path; the bytes are those of one bulk after another."""
    items = [b"", b"x", b"a\r\nb", b"y" * 10, b"z" * 100] * 8

    def bulks(xs: list[bytes]) -> bytes:
        return b"".join(b"$%d\r\n%b\r\n" % (len(x), x) for x in xs)

    assert encode(items, resp3) == b"*40\r\n" + bulks(items)
    mixed = [*items[:20], 7, *items[20:]]  # not all bulks: the item-by-item path
    assert encode(mixed, resp3) == b"*41\r\n" + bulks(items[:20]) + b":7\r\n" + bulks(items[20:])
    # Bulks (strings only, known by the handler): the same bytes, long or short,
    # bytearray items and elements too long for the header table included.
    strings = [*items, bytearray(b"edited"), b"w" * 2000]
    for xs in (strings, strings[:3], []):
        assert encode(Bulks(xs), resp3) == b"*%d\r\n" % len(xs) + bulks(xs)


def test_encode_rejects_unknown_types() -> None:
    for bad in ("text", object(), [1, {1.5j}]):
        with pytest.raises(TypeError):
            encode(bad, True)


def test_format_double() -> None:
    assert format_double(3.14) == b"3.1400000000000001"
    assert format_double(-math.nan) == b"nan"
    assert format_double(1e-5) == b"1.0000000000000001e-05"


TEXT = st.binary(max_size=20)
ASCII_LINE = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=20).map(str.encode)
SCALARS = st.one_of(
    TEXT,
    ASCII_LINE.map(SimpleString),
    ASCII_LINE.map(lambda s: ErrorReply(b"ERR " + s)),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.booleans(),
    st.floats(),
    st.none(),
    st.just(NULL_ARRAY),
    st.integers(min_value=2**63, max_value=2**200).map(BigNumber),
    TEXT.map(Verbatim),
)
REPLIES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5),
        st.lists(inner, max_size=5).map(tuple),
        st.lists(inner, max_size=5).map(SetReply),
        st.lists(inner, max_size=5).map(Push),
        st.dictionaries(TEXT, inner, max_size=4),
        st.lists(TEXT, max_size=12).map(Bulks),
    ),
    max_leaves=20,
)


def as_hiredis(reply: object, resp3: bool) -> object:
    """What hiredis.Reader should parse back from `encode(reply, resp3)`."""
    if isinstance(reply, ErrorReply):
        return ("error", reply.decode())
    if isinstance(reply, bool):
        return reply if resp3 else int(reply)
    if isinstance(reply, BigNumber):
        return b"%d" % reply
    if isinstance(reply, float):
        return ("float", format_double(reply)) if resp3 else format_double(reply)
    if isinstance(reply, (bytes, bytearray)):
        return bytes(reply)
    if reply is NULL_ARRAY:
        return None
    if isinstance(reply, dict):
        pairs = {k: as_hiredis(v, resp3) for k, v in reply.items()}
        return pairs if resp3 else [x for kv in pairs.items() for x in kv]
    if isinstance(reply, (list, tuple)):
        return [as_hiredis(x, resp3) for x in reply]
    return reply


def from_hiredis(value: object) -> object:
    if isinstance(value, hiredis.ReplyError):
        return ("error", str(value))
    if isinstance(value, float):
        return ("float", format_double(value))
    if isinstance(value, dict):
        return {k: from_hiredis(v) for k, v in value.items()}
    if isinstance(value, list):
        return [from_hiredis(x) for x in value]
    return value


@settings(max_examples=300)
@given(REPLIES, st.booleans())
def test_property_encode_round_trips_through_hiredis(reply: object, resp3: bool) -> None:
    parser = hiredis.Reader()
    parser.feed(encode(reply, resp3))
    assert from_hiredis(parser.gets()) == as_hiredis(reply, resp3)
    assert parser.gets() is False  # nothing left over


@settings(max_examples=300)
@given(st.lists(REPLIES, max_size=20), st.booleans())
def test_property_encode_many_is_encode_of_each(replies: list[object], resp3: bool) -> None:
    out = bytearray(b"prefix")
    encode_many(out, replies, resp3)
    assert out == b"prefix" + b"".join(encode(reply, resp3) for reply in replies)


def test_encode_many_integers_at_the_table_edges() -> None:
    numbers = [-1, 0, 1, 1023, 1024, -(2**63), 2**63 - 1]
    out = bytearray()
    encode_many(out, numbers, False)
    assert out == b"".join(b":%d\r\n" % n for n in numbers)

