"""RESP: parse what clients send to a Redis server, encode what it answers.

Strategy
--------
Requests.  `Reader` is a sans-I/O parser shaped like ``hiredis.Reader``:
`feed()` bytes, then `gets()` returns one command (``list[bytes]``, the argv)
or the `NEED_DATA` sentinel; `gets_all()` returns every complete command
buffered, in order.  It follows Redis 7.0's ``processInputBuffer`` in
``networking.c`` quirk for quirk, because clients (and fuzzers) notice:

* A request starting with ``*`` is multibulk, anything else is inline.
* Header lines end at the first ``\\r`` (C ``strchr``: a NUL byte before it
  hides it) and the byte after that ``\\r`` is skipped unread; the two bytes
  after a bulk payload are skipped unread too.  Numbers follow ``string2ll``
  (no ``+``, no leading zeros, no ``-0``, within int64).
* ``*N`` with N <= 0 and blank inline lines are empty commands: skipped.
* Inline lines end at ``\\n`` (an optional ``\\r`` before it is dropped) and
  are split with ``sdssplitargs`` quoting rules (`split_inline_args`).
* Every request protocol violation raises `ProtocolError` whose ``reply`` is
  Redis's exact error text (checked against a real redis-server in
  ``tests/protocol/test_resp_redis.py``).  Like Redis, the commands before the
  bad bytes still run: `gets_all()` returns them, records the error in
  `Reader.error`, and the *next* call raises it.
  Errors are sticky: once raised, every later call raises the same error.

The buffer is one ``bytearray`` read through an offset.  A multibulk command
is committed element by element (argv so far, elements left, pending bulk
length), exactly like Redis's ``multibulklen``/``bulklen`` state, so a huge
command arriving in small reads is never re-parsed; a header line that is not
complete yet is rolled back (re-read from its start on the next call).  The
consumed prefix is dropped in `feed()` (``del`` from the front of a
bytearray is O(1) in CPython).

Limits carry their units: ``proto_max_bulk_len`` (bytes, Redis's
``proto-max-bulk-len``), ``multibulk_len_max`` (elements), ``inline_max_bytes``
(``PROTO_INLINE_MAX_SIZE``, also the cap on an unterminated header line) and
``query_buffer_max_bytes`` (``client-query-buffer-limit``).

Documented divergences from Redis:

* Redis checks the 64 KB line limits after each 16 KB ``read()``, so whether
  a 70 000-byte line gets an error depends on how the bytes were chunked.  We
  apply them as if bytes arrived one at a time: a line (or header) with more
  than ``inline_max_bytes`` bytes before its terminator is an error, however
  it is split.  Results never depend on chunking.
* Redis 7.0 accepts multibulk counts up to INT_MAX; the default
  ``multibulk_len_max`` here is 1024*1024 (Redis <= 6.2's limit, and what our
  server promises).  Pass ``multibulk_len_max=2**31 - 1`` for 7.0's limit.
* Exceeding ``query_buffer_max_bytes`` (unconsumed bytes after a `feed()`)
  makes that `feed()` raise `QueryBufferLimitError`, whose ``reply`` is
  ``None``: Redis logs it and closes the connection without answering, and
  without running the commands of that read.

`HiredisReader` has the same interface and the same results for every input.
Well-formed multibulk commands are parsed by ``hiredis.Reader`` in C and then
*verified* once per read with a handful of C-level passes.  Every command
must be a non-empty flat list of ``bytes`` within our limits, and the read
must hold one ``*`` per command returned (so hiredis has begun no command
after them: at an item boundary it reports no buffered data).  A read that
`take` gets whole is handed to hiredis behind an array header of as many
items as it holds ``*`` bytes, so one ``gets()`` returns every command; the
array must then complete with no byte left (see `_ARRAY_HEADERS`).  One
``translate()`` of each read (shared with the aggregate guard below) notes
which other type bytes occur: ``%``, ``~``, ``>``, ``|`` and ``=`` can start
replies hiredis returns as lists or bytes, so reads holding them take the
exact path; without them, when ``+`` and ``(`` are absent too, every element
was a ``$`` bulk; when they are present, a ``+simple`` or ``(bignum`` item is
shorter than its canonical bulk, so the commands' canonical length (``*N``,
then ``$len`` per element) must equal the bytes read.  hiredis's
``string2ll`` refuses the numbers Redis refuses, and both skip the two bytes
after a payload unread, so each command took exactly the bytes Redis takes.
Anything else (inline commands, a command not complete yet, hiredis errors, a
failed check) falls back to the exact path, which re-parses the same bytes
from the last command boundary: per command through hiredis with every
element's offset checked, or through the pure parser, which gives Redis's
exact result or error.
hiredis never sees an aggregate header with a count of 100 or more (it would
allocate the list up front; see `_AGGREGATE_SCAN`): such bytes go to the pure
parser too.
`make_reader()` picks `HiredisReader` when hiredis imports.

Replies.  `encode(reply, resp3)` returns bytes; `encode_into(out, reply,
resp3)` appends to a caller's bytearray (the server encodes every reply of one
read into one buffer).  The wire meaning of each Python type is documented in
`protocol.replies`.  Exact types are tested first (``type(x) is bytes``) so
the common replies take a short path; subclasses are resolved after.
"""

from __future__ import annotations

from itertools import chain
from operator import itemgetter
from typing import Final

from protocol.errors import ProtocolError
from protocol.replies import (
    NULL_ARRAY,
    OK,
    BigNumber,
    Bulks,
    ErrorReply,
    Pairs,
    Push,
    Reply,
    SetReply,
    SimpleString,
    Spliced,
    Verbatim,
)

try:  # hiredis is a dependency, but the pure reader must work without it.
    import hiredis as _hiredis
except ImportError:  # pragma: no cover - exercised only without hiredis
    _hiredis = None

__all__ = [
    "HIREDIS_AVAILABLE",
    "INLINE_MAX_BYTES",
    "MULTIBULK_LEN_MAX",
    "NEED_DATA",
    "PROTO_MAX_BULK_LEN",
    "QUERY_BUFFER_MAX_BYTES",
    "Argv",
    "HiredisReader",
    "QueryBufferLimitError",
    "Reader",
    "encode",
    "encode_into",
    "format_double",
    "make_reader",
    "split_inline_args",
]

Argv = list[bytes]

# Limits, named with their units; defaults are Redis 7.0's.
PROTO_MAX_BULK_LEN: Final = 512 * 1024 * 1024  # bytes in one bulk argument
MULTIBULK_LEN_MAX: Final = 1024 * 1024  # arguments in one multibulk command
INLINE_MAX_BYTES: Final = 64 * 1024  # bytes in an inline line or a header line
QUERY_BUFFER_MAX_BYTES: Final = 1024 * 1024 * 1024  # unconsumed request bytes

HIREDIS_AVAILABLE: Final = _hiredis is not None

# Every request error text, exactly as Redis 7.0 sends it (without '-' and CRLF).
ERR_MULTIBULK_LEN: Final = b"ERR Protocol error: invalid multibulk length"
ERR_BULK_LEN: Final = b"ERR Protocol error: invalid bulk length"
ERR_UNAUTH_MULTIBULK_LEN: Final = b"ERR Protocol error: unauthenticated multibulk length"
ERR_UNAUTH_BULK_LEN: Final = b"ERR Protocol error: unauthenticated bulk length"
# Before AUTH, when a password is required, Redis accepts only small requests.
UNAUTHENTICATED_MULTIBULK_LEN_MAX: Final = 10
UNAUTHENTICATED_BULK_LEN_MAX: Final = 16384
ERR_BIG_MBULK_COUNT: Final = b"ERR Protocol error: too big mbulk count string"
ERR_BIG_BULK_COUNT: Final = b"ERR Protocol error: too big bulk count string"
ERR_BIG_INLINE: Final = b"ERR Protocol error: too big inline request"
ERR_UNBALANCED_QUOTES: Final = b"ERR Protocol error: unbalanced quotes in request"
ERR_EXPECTED_DOLLAR: Final = b"ERR Protocol error: expected '$', got '%b'"

_INT64_MAX: Final = 2**63 - 1
_INT64_MIN: Final = -(2**63)
_STAR: Final = 42  # b"*"
_DOLLAR: Final = 36  # b"$"
_CR: Final = 13
_COMPACT_MIN_BYTES: Final = 4096  # drop a consumed prefix at least this long

# hiredis allocates a list for every aggregate header it reads (`*`, `%`, `~`,
# `>`, `|`), nested ones included, before any element arrives: 14 bytes of
# "*2147483647\r\n" cost 16 GB of address space and seconds to free.  So
# hiredis only sees bytes in which no aggregate type byte is followed by three
# digits; commands of 100 arguments or more are parsed in pure Python.
# One translate() pass classifies every byte read for that test and for the
# fast path's checks: digits become "0", "*" stays, the other aggregate type
# bytes and "=" (verbatim, longer than a bulk) become "!", and "+" and "("
# (items hiredis returns as bytes, shorter than a bulk) become "P".
_AGGREGATE_SCAN: Final = bytes(
    48 if 48 <= b <= 57 else 42 if b == 42 else 33 if b in b"%~>|=" else 80 if b in b"+(" else 46
    for b in range(256))
_BIG_AGGREGATE: Final = b"*000"
_BIG_OTHER: Final = b"!000"
# hiredis consumes a reply's type byte at once and then reports no buffered
# data, so "no data left" does not prove it began nothing after the commands it
# returned.  It does when the read holds one "*" per command (no other "*"
# reply began) and ends with "\n", which is no type byte (a lone one would
# have raised): the fast path requires both; other reads take the exact path.
_LF: Final = 10
_BANG: Final = 33  # b"!" (ints: `in` on one byte value is the fastest test)
# A bytes needle is looked for with find(), not `in`: in 3.11 `in` first tries
# the needle as an int and builds (then drops) a TypeError every time.
_P: Final = 80  # b"P"
_BIG_AGGREGATE_SPAN: Final = 3
# `HiredisReader.take` wraps a read holding N "*" bytes in an array header of
# N items. Every command begins with "*", so when that array completes with no
# byte left and every item is a list, its items are the read's commands: a "*"
# in a payload or a nested array leaves the array short or an item not a list.
_ARRAY_HEADERS_N: Final = 64
_ARRAY_HEADERS: Final = tuple(b"*%d\r\n" % n for n in range(_ARRAY_HEADERS_N))
_BYTES_ONLY: Final = frozenset({bytes})
_JOIN: Final = b"".join
_LIST_ONLY: Final = frozenset({list})


class _NeedData:
    __slots__ = ()

    def __repr__(self) -> str:
        return "NEED_DATA"


NEED_DATA: Final = _NeedData()
"""Returned by `gets()` when no complete command is buffered."""


class QueryBufferLimitError(ProtocolError):
    """More than ``query_buffer_max_bytes`` unconsumed request bytes.

    ``reply`` is ``None``: Redis closes such a client without an answer.
    """


# ---------------------------------------------------------------- numbers


def _string2ll(s: bytes | bytearray) -> int | None:
    """Redis's ``string2ll``: the int64 that ``s`` spells canonically, else None."""
    n = len(s)
    if n == 0 or n > 20:
        return None
    if s.isdigit():
        if s[0] == 48 and n > 1:  # leading zero
            return None
        v = int(s)
        return v if v <= _INT64_MAX else None
    if s[0] == 45 and n > 1 and s[1] != 48:  # '-', and no "-0..."
        digits = s[1:]
        if digits.isdigit():
            v = -int(digits)
            return v if v >= _INT64_MIN else None
    return None


# ----------------------------------------------------------- inline split

_ISSPACE: Final = frozenset(b" \t\n\v\f\r")  # C isspace() in the C locale
_TOKEN_END: Final = frozenset(b" \n\r\t")  # plus end of line (C's NUL)
_HEX: Final = frozenset(b"0123456789abcdefABCDEF")
_ESCAPES: Final = {ord("n"): 10, ord("r"): 13, ord("t"): 9, ord("b"): 8, ord("a"): 7}


def split_inline_args(line: bytes) -> Argv:
    """Split one inline request line the way Redis's ``sdssplitargs`` does.

    Tokens are separated by blanks.  ``"..."`` understands ``\\xHH``, ``\\n``,
    ``\\r``, ``\\t``, ``\\b``, ``\\a`` and ``\\<any>`` escapes; ``'...'`` only
    ``\\'``.  A closing quote must be followed by a blank or the end.

    Args:
        line: the line without its terminating ``\\n`` (may still hold ``\\r``);
            it must not contain NUL bytes (the reader guarantees that).

    Returns:
        The arguments; empty for a blank line.

    Raises:
        ProtocolError: unbalanced quotes (reply ``ERR Protocol error:
            unbalanced quotes in request``).
    """
    if b'"' not in line and b"'" not in line and b"\v" not in line and b"\f" not in line:
        return line.split()  # bytes.split() splits on exactly " \t\n\r\v\f"
    return _split_inline_args_slow(line)


# Bytes that make an inline line more than whitespace-separated words: quotes
# and \v \f (sdssplitargs ends words only at " \n\r\t"), and NUL (it hides the
# rest of the line from Redis's strchr).
_INLINE_SPECIAL: Final = bytes(
    33 if b in b"\"'\v\f\0" else 46 for b in range(256))


def _plain_inline_lines(data: bytes, inline_max_bytes: int) -> list[Argv] | None:
    """Every command of a read made only of whole, plain inline lines, else None.

    The batch form of `_next_inline` for what telnet and ``redis-benchmark``'s
    inline tests send: when no line starts with "*" or holds a quote, \v, \f
    or NUL, each line is its words (``bytes.split()`` splits on exactly the
    blanks sdssplitargs skips), blank lines are skipped, and the trailing CR
    is one of those blanks.
    """
    if data[-1] != _LF or len(data) > inline_max_bytes or data[0] == _STAR \
            or data.find(b"\n*") >= 0 or _BANG in data.translate(_INLINE_SPECIAL):
        return None
    lines = data.split(b"\n")
    lines.pop()
    return [argv for line in lines if (argv := line.split())]


def _split_inline_args_slow(line: bytes) -> Argv:
    """`split_inline_args` as a byte-by-byte transcription of ``sdssplitargs``."""
    n = len(line)
    i = 0
    out: Argv = []

    def at(j: int) -> int:  # the C string's byte at j: 0 past the end
        return line[j] if j < n else 0

    while True:
        while i < n and line[i] in _ISSPACE:
            i += 1
        if i >= n:
            return out
        current = bytearray()
        in_dq = in_sq = done = False
        while not done:
            c = at(i)
            if in_dq:
                if c == 92 and at(i + 1) == 120 and at(i + 2) in _HEX and at(i + 3) in _HEX:
                    current.append(int(line[i + 2 : i + 4], 16))
                    i += 3
                elif c == 92 and at(i + 1):
                    i += 1
                    e = line[i]
                    current.append(_ESCAPES.get(e, e))
                elif c == 34:  # closing '"' must be followed by a blank or the end
                    nxt = at(i + 1)
                    if nxt and nxt not in _ISSPACE:
                        raise ProtocolError("unbalanced quotes in inline request", ERR_UNBALANCED_QUOTES)
                    done = True
                elif c == 0:
                    raise ProtocolError("unterminated quotes in inline request", ERR_UNBALANCED_QUOTES)
                else:
                    current.append(c)
            elif in_sq:
                if c == 92 and at(i + 1) == 39:
                    i += 1
                    current.append(39)
                elif c == 39:
                    nxt = at(i + 1)
                    if nxt and nxt not in _ISSPACE:
                        raise ProtocolError("unbalanced quotes in inline request", ERR_UNBALANCED_QUOTES)
                    done = True
                elif c == 0:
                    raise ProtocolError("unterminated quotes in inline request", ERR_UNBALANCED_QUOTES)
                else:
                    current.append(c)
            elif c == 0 or c in _TOKEN_END:
                done = True
            elif c == 34:
                in_dq = True
            elif c == 39:
                in_sq = True
            else:
                current.append(c)
            if i < n:
                i += 1
        out.append(bytes(current))


# ------------------------------------------------------------ pure reader


class Reader:
    """Pure-Python request parser with ``hiredis.Reader``'s shape.

    Args:
        proto_max_bulk_len: largest bulk argument accepted, in bytes.
        multibulk_len_max: most arguments in one multibulk command.
        inline_max_bytes: longest inline line, and longest unterminated
            ``*``/``$`` header line, in bytes.
        query_buffer_max_bytes: most unconsumed bytes held after a `feed()`.
    """

    __slots__ = (
        "_argv",
        "_buf",
        "_bulk_len",
        "_pos",
        "_remaining",
        "error",
        "inline_max_bytes",
        "multibulk_len_max",
        "proto_max_bulk_len",
        "unauthenticated",
        "query_buffer_max_bytes",
    )

    def __init__(
        self,
        *,
        proto_max_bulk_len: int = PROTO_MAX_BULK_LEN,
        multibulk_len_max: int = MULTIBULK_LEN_MAX,
        inline_max_bytes: int = INLINE_MAX_BYTES,
        query_buffer_max_bytes: int = QUERY_BUFFER_MAX_BYTES,
    ) -> None:
        assert proto_max_bulk_len >= 0 and multibulk_len_max >= 0
        assert inline_max_bytes >= 0 and query_buffer_max_bytes >= 0
        self.proto_max_bulk_len = proto_max_bulk_len
        self.multibulk_len_max = multibulk_len_max
        # Set by the server while the client still has to AUTH: Redis's small limits apply.
        self.unauthenticated = False
        self.inline_max_bytes = inline_max_bytes
        self.query_buffer_max_bytes = query_buffer_max_bytes
        # The protocol error this reader stopped at, if any (sticky); read it, never set it.
        self.error: ProtocolError | None = None
        self._buf = bytearray()
        self._pos = 0  # first byte not consumed yet
        self._argv: Argv = []  # arguments read so far of a partial multibulk command
        self._remaining = 0  # arguments still to read; 0 = at a command boundary
        self._bulk_len = -1  # length of the next argument once its header is read

    # -- public interface

    def set_limits(self, *, proto_max_bulk_len: int | None = None,
                   query_buffer_max_bytes: int | None = None) -> None:
        """Change limits of a reader in use, as CONFIG SET does for connected clients.

        They apply from the next header or `feed()` on; what was accepted stays.
        """
        if proto_max_bulk_len is not None:
            assert proto_max_bulk_len >= 0
            self.proto_max_bulk_len = proto_max_bulk_len
        if query_buffer_max_bytes is not None:
            assert query_buffer_max_bytes >= 0
            self.query_buffer_max_bytes = query_buffer_max_bytes

    @property
    def buffered_bytes(self) -> int:
        """Bytes fed but not consumed yet (a partial command, or unread commands)."""
        return len(self._buf) - self._pos

    def feed(self, data: bytes | bytearray | memoryview) -> None:
        """Append bytes received from the client.

        Args:
            data: the bytes of one read.

        Raises:
            QueryBufferLimitError: more than ``query_buffer_max_bytes`` bytes
                would be buffered unconsumed (``reply`` is ``None``: close
                without answering).
            ProtocolError: this reader already failed (the same error again).
        """
        if self.error is not None:
            raise self.error
        buf = self._buf
        pos = self._pos
        if pos:
            if pos == len(buf):
                buf.clear()
                self._pos = 0
            elif pos >= _COMPACT_MIN_BYTES:
                del buf[:pos]
                self._pos = 0
        if len(buf) - self._pos + len(data) > self.query_buffer_max_bytes:
            self.error = QueryBufferLimitError("client reached the query buffer limit", None)
            raise self.error
        buf += data

    def gets(self) -> Argv | _NeedData:
        """Parse the next command.

        Returns:
            The next command's argv (never empty: empty commands are skipped),
            or `NEED_DATA` when no complete command is buffered.

        Raises:
            ProtocolError: the buffered bytes break the protocol; ``reply`` is
                Redis's error text.  Sticky: later calls raise it again.
        """
        if self.error is not None:
            raise self.error
        argv = self._next()
        return NEED_DATA if argv is None else argv

    def gets_all(self) -> list[Argv]:
        """Parse every complete command buffered, in order.

        When a protocol error follows some complete commands, those commands
        are returned, the error is recorded in `error` and raised by the next
        call, so a server can run them, then answer the error and close, as
        Redis does::

            reader.feed(data)
            while cmds := reader.gets_all():   # raises ProtocolError
                run(cmds)

        Returns:
            The commands (possibly none).

        Raises:
            ProtocolError: the next buffered bytes break the protocol; sticky.
        """
        if self.error is not None:
            raise self.error
        out: list[Argv] = []
        append = out.append
        next_command = self._next
        try:
            while (argv := next_command()) is not None:
                append(argv)
        except ProtocolError:
            if out:
                return out
            raise
        return out

    def take(self, data: bytes) -> list[Argv]:
        """`feed` then `gets_all`, in one call: the server's way to read.

        Returns:
            The complete commands; when a protocol error follows them (or
            comes first), it is in `error`, not raised.

        Raises:
            QueryBufferLimitError: as `feed`.
            ProtocolError: this reader already failed (from `feed`).
        """
        if data and self._pos == len(self._buf) and not self._remaining and self.error is None \
                and not self.unauthenticated:  # at a command boundary with nothing buffered
            inline = _plain_inline_lines(data, self.inline_max_bytes)
            if inline is not None:
                return inline
        self.feed(data)
        return self._take_exact()

    def _take_exact(self) -> list[Argv]:
        """`gets_all`, leaving a protocol error in `error` instead of raising it."""
        try:
            return self.gets_all()
        except ProtocolError:
            return []

    # -- parsing

    def _fail(self, message: str, reply: bytes) -> ProtocolError:
        self.error = ProtocolError(message, reply)
        return self.error

    def _find_line_end(self, pos: int) -> int:
        """Index of the first CR at or after ``pos`` (as C ``strchr``: a NUL before it hides it), or -1."""
        buf = self._buf
        cr = buf.find(b"\r", pos)
        if cr > pos and buf.find(b"\0", pos, cr) >= 0:
            return -1
        return cr

    def _next(self) -> Argv | None:
        """The next non-empty command, or None when more bytes are needed."""
        buf = self._buf
        while True:
            if not self._remaining:
                pos = self._pos
                if pos >= len(buf):
                    return None
                if buf[pos] != _STAR:
                    argv = self._next_inline()
                    if argv is None:
                        return None
                    if argv:
                        return argv
                    continue
                cr = self._find_line_end(pos)
                if cr < 0 or cr - pos > self.inline_max_bytes:
                    if cr < 0 and len(buf) - pos <= self.inline_max_bytes:
                        return None
                    raise self._fail("too big mbulk count string", ERR_BIG_MBULK_COUNT)
                if cr + 1 >= len(buf):  # the byte after CR has not arrived
                    return None
                count = _string2ll(buf[pos + 1 : cr])
                if count is None or count > self.multibulk_len_max:
                    raise self._fail("invalid multibulk count", ERR_MULTIBULK_LEN)
                if self.unauthenticated and count > UNAUTHENTICATED_MULTIBULK_LEN_MAX:
                    raise self._fail("unauthenticated multibulk length", ERR_UNAUTH_MULTIBULK_LEN)
                self._pos = cr + 2
                if count <= 0:
                    continue
                self._remaining = count
                self._argv = []
                self._bulk_len = -1
            if self._read_arguments():
                argv = self._argv
                self._argv = []
                return argv
            return None

    def _read_arguments(self) -> bool:
        """Read arguments of the current multibulk command; True once all are in.

        Works on locals and commits the state on the way out (every element
        read stays read); after an error the state no longer matters.
        """
        buf = self._buf
        buf_len = len(buf)
        argv = self._argv
        pos = self._pos
        remaining = self._remaining
        bulk_len = self._bulk_len
        try:
            while remaining:
                if bulk_len < 0:
                    cr = buf.find(b"\r", pos)
                    if cr > pos and buf.find(b"\0", pos, cr) >= 0:
                        cr = -1  # as C strchr: a NUL ends the search
                    if cr < 0 or cr - pos > self.inline_max_bytes:
                        if cr < 0 and buf_len - pos <= self.inline_max_bytes:
                            return False
                        raise self._fail("too big bulk count string", ERR_BIG_BULK_COUNT)
                    if cr + 1 >= buf_len:  # the byte after CR has not arrived
                        return False
                    first = buf[pos]
                    if first != _DOLLAR:
                        got = b" " if first in (10, 13) else bytes((first,))
                        raise self._fail("expected '$'", ERR_EXPECTED_DOLLAR % got)
                    n = _string2ll(buf[pos + 1 : cr])
                    if n is None or n < 0 or n > self.proto_max_bulk_len:
                        raise self._fail("invalid bulk length", ERR_BULK_LEN)
                    if self.unauthenticated and n > UNAUTHENTICATED_BULK_LEN_MAX:
                        raise self._fail("unauthenticated bulk length", ERR_UNAUTH_BULK_LEN)
                    pos = cr + 2
                    bulk_len = n
                end = pos + bulk_len
                if buf_len < end + 2:
                    return False
                if bulk_len < _COMPACT_MIN_BYTES:
                    argv.append(bytes(buf[pos:end]))
                else:  # one copy instead of two
                    with memoryview(buf) as view:
                        argv.append(bytes(view[pos:end]))
                pos = end + 2  # Redis skips the two bytes after a payload unread
                bulk_len = -1
                remaining -= 1
            return True
        finally:
            self._pos = pos
            self._remaining = remaining
            self._bulk_len = bulk_len

    def _next_inline(self) -> Argv | None:
        """The next inline line's arguments (maybe empty), or None when it is incomplete."""
        buf = self._buf
        pos = self._pos
        nl = buf.find(b"\n", pos)
        if nl >= 0 and buf.find(b"\0", pos, nl) >= 0:
            nl = -1  # Redis looks for the newline with strchr: a NUL ends the search
        if nl < 0 or nl - pos > self.inline_max_bytes:
            if nl < 0 and len(buf) - pos <= self.inline_max_bytes:
                return None
            raise self._fail("too big inline request", ERR_BIG_INLINE)
        end = nl - 1 if nl > pos and buf[nl - 1] == _CR else nl
        try:
            argv = split_inline_args(bytes(buf[pos:end]))
        except ProtocolError as e:
            self.error = e
            raise
        self._pos = nl + 1
        return argv


# --------------------------------------------------------- hiredis reader


class HiredisReader(Reader):
    """`Reader` whose well-formed multibulk commands are parsed by hiredis in C.

    Same constructor, methods, results and errors as `Reader` for every
    input (see the module docstring for how that is guaranteed).

    Raises:
        RuntimeError: hiredis is not installed.
    """

    __slots__ = ("_hiredis", "_pure_until_feed", "_fast", "_fast_hr", "_pending", "_pending_len",
                 "_tail", "_plain", "_small_read_max")

    def __init__(
        self,
        *,
        proto_max_bulk_len: int = PROTO_MAX_BULK_LEN,
        multibulk_len_max: int = MULTIBULK_LEN_MAX,
        inline_max_bytes: int = INLINE_MAX_BYTES,
        query_buffer_max_bytes: int = QUERY_BUFFER_MAX_BYTES,
    ) -> None:
        if _hiredis is None:
            raise RuntimeError("hiredis is not installed")
        super().__init__(
            proto_max_bulk_len=proto_max_bulk_len,
            multibulk_len_max=multibulk_len_max,
            inline_max_bytes=inline_max_bytes,
            query_buffer_max_bytes=query_buffer_max_bytes,
        )
        # When set, hiredis has been fed exactly buf[_pos:] and has returned
        # nothing for it yet; the pure state is then at a command boundary.
        self._hiredis: _hiredis.Reader | None = None
        self._pure_until_feed = False
        # Fast mode (see `_gets_all_fast`): every byte fed since the last
        # command boundary is in `_pending` (references, not copies) and in
        # `_fast_hr`; our own buffer is empty.
        self._fast = True
        self._fast_hr = _hiredis.Reader()
        self._pending: list[bytes] = []
        self._pending_len = 0
        self._tail = b""  # the last bytes fed, for aggregate headers split across feeds
        # What `_pending` holds besides bulks and "*" headers: True nothing,
        # False "+" or "(" bytes, None bytes that only the exact path judges.
        self._plain: bool | None = True
        self.set_limits()  # derives _small_read_max

    def set_limits(self, *, proto_max_bulk_len: int | None = None,  # noqa: D102 - as Reader's
                   query_buffer_max_bytes: int | None = None) -> None:
        super().set_limits(proto_max_bulk_len=proto_max_bulk_len,
                           query_buffer_max_bytes=query_buffer_max_bytes)
        # Reads up to this size are within the limits whatever they hold: aggregates
        # of 100+ never reach hiredis, and no element is longer than the read.
        self._small_read_max = self.proto_max_bulk_len if self.multibulk_len_max >= 99 else -1

    @property
    def buffered_bytes(self) -> int:  # noqa: D102 - as Reader.buffered_bytes
        if self._fast:
            return self._pending_len
        return len(self._buf) - self._pos

    def feed(self, data: bytes | bytearray | memoryview) -> None:  # noqa: D102 - as Reader.feed
        if self.unauthenticated:  # the small limits are the exact parser's to apply
            if self._fast:
                self._leave_fast()
            self._hiredis = None
            self._pure_until_feed = True
            Reader.feed(self, data)
            return
        if self._fast:
            if type(data) is not bytes:
                data = bytes(data)
            if self._pending_len:
                scan = (self._tail + data).translate(_AGGREGATE_SCAN)
            elif data and data[0] != _STAR:
                scan = None  # inline commands: the pure parser's
            else:
                scan = data.translate(_AGGREGATE_SCAN)
            # hiredis must never see a large aggregate count
            if scan is not None and scan.find(_BIG_AGGREGATE) < 0 \
                    and (_BANG not in scan or scan.find(_BIG_OTHER) < 0):
                size = self._pending_len + len(data)
                if size > self.query_buffer_max_bytes:
                    self.error = QueryBufferLimitError("client reached the query buffer limit", None)
                    raise self.error
                if self._plain is not None:
                    if _BANG in scan:
                        self._plain = None  # no fast verdict: the exact path decides
                    elif _P in scan:
                        self._plain = False
                self._pending.append(data)
                self._pending_len = size
                self._tail = data[-_BIG_AGGREGATE_SPAN:]
                self._fast_hr.feed(data)
                return
            self._leave_fast()
        old_len = len(self._buf)
        super().feed(data)
        self._pure_until_feed = False
        if self._hiredis is not None:
            if self._big_aggregate_from(max(self._pos, old_len - len(_BIG_AGGREGATE) + 1)):
                self._hiredis = None
            else:
                self._hiredis.feed(data)

    def take(self, data: bytes) -> list[Argv]:  # noqa: D102 - as Reader.take
        if self._fast and not self._pending_len and data and data[0] == _STAR \
                and not self.unauthenticated and len(data) <= self.query_buffer_max_bytes:
            # The usual read: whole commands, nothing before them.  `feed` and
            # `gets_all` folded together, with the same checks.
            scan = data.translate(_AGGREGATE_SCAN)
            if _BANG not in scan and scan.find(_BIG_AGGREGATE) < 0:
                # hiredis reads the commands as one array of as many items as
                # the read has "*" bytes (see _ARRAY_HEADERS): one call for all.
                hr = self._fast_hr
                count = scan.count(_STAR)
                hr.feed((_ARRAY_HEADERS[count] if count < _ARRAY_HEADERS_N else b"*%d\r\n" % count) + data)
                try:
                    out = hr.gets()
                except (_hiredis.HiredisError, TypeError, ValueError):
                    out = False
                if out is not False and not hr.has_data() \
                        and self._verified_commands(out, len(data), _P not in scan):
                    return out  # type: ignore[no-any-return]
                # Not for the fast lane: the exact path reads the same bytes.
                self._pending = [data]
                self._pending_len = len(data)
                self._leave_fast()
                return self._take_exact()
        elif self._fast and not self._pending_len and data and not self.unauthenticated:
            inline = _plain_inline_lines(data, self.inline_max_bytes)
            if inline is not None:
                return inline
        self.feed(data)
        return self._take_exact()

    def _big_aggregate_from(self, start: int) -> bool:
        """Whether buf[start:] holds an aggregate header hiredis must not see."""
        scan = self._buf[start:].translate(_AGGREGATE_SCAN)
        return scan.find(_BIG_AGGREGATE) >= 0 or scan.find(_BIG_OTHER) >= 0

    def gets_all(self) -> list[Argv]:  # noqa: D102 - as Reader.gets_all
        if self._fast:
            fast = self._gets_all_fast()
            if fast is not None:
                return fast
        if self.error is not None:
            raise self.error
        out: list[Argv] = []
        try:
            while True:
                self._take_verified(out)
                argv = self._next()
                if argv is None:
                    break
                out.append(argv)
        except ProtocolError:
            if out:
                return out
            raise
        if self._pos == len(self._buf) and not self._remaining and self.error is None \
                and not self.unauthenticated:
            self._enter_fast()
        return out

    def gets(self) -> Argv | _NeedData:  # noqa: D102 - as Reader.gets
        if self._fast:
            self._leave_fast()
        return super().gets()

    def _gets_all_fast(self) -> list[Argv] | None:
        """Every command fed since the last boundary, if hiredis parsed them as Redis would.

        The checks (see the module docstring) are per read, not per element.
        Anything else, or a command still incomplete, returns None after
        handing the same bytes to the exact path, which re-parses them from
        the boundary: nothing was returned.
        """
        hr = self._fast_hr
        out: list[Argv] = []
        try:
            while (argv := hr.gets()) is not False:
                out.append(argv)
        except (_hiredis.HiredisError, TypeError, ValueError):
            out = []  # the exact path finds the error
        else:
            if out and self._plain is not None:
                pending = self._pending
                data = pending[0] if len(pending) == 1 else b"".join(pending)
                if self._verified(out, data, self._plain):
                    pending.clear()
                    self._pending_len = 0
                    self._plain = True
                    return out
        if not out and not self._pending_len:
            return out
        self._leave_fast()
        return None

    def _verified(self, out: list[Argv], data: bytes, plain: bool) -> bool:
        """Whether `out`, hiredis's commands from exactly `data`, are what Redis reads.

        ``plain``: no "+" or "(" byte was read (reads with other non-bulk
        type bytes never get here).  See the module docstring for why these
        checks suffice.
        """
        # hiredis has begun no command after these (see _LF).
        if not out or data[-1] != _LF or data.count(b"*") != len(out) or self._fast_hr.has_data():
            return False
        return self._verified_commands(out, len(data), plain)

    def _verified_commands(self, out: list[Argv], length: int, plain: bool) -> bool:
        """Whether `out`, hiredis's items from exactly `length` bytes, are commands Redis reads so."""
        # Every item a non-empty list, and every element bytes: joining each
        # item's elements refuses anything else hiredis returns (int, None,
        # float, bool, an error, a nested list) with TypeError, in C.
        try:
            if len(out) == 1:  # the usual read without pipelining
                argv = out[0]
                if type(argv) is not list or not argv:
                    return False
                _JOIN(argv)
            elif _LIST_ONLY.issuperset(map(type, out)) and all(out):
                sum(map(len, map(_JOIN, out)))
            else:
                return False
        except TypeError:
            return False
        return (length <= self._small_read_max or self._within_limits(out)) \
            and (plain or self._bulks_only(out, length))

    @staticmethod
    def _bulks_only(out: list[Argv], length: int) -> bool:
        """Whether every element was a bulk, when "+" or "(" bytes were among ``length`` read.

        A +simple or (bignum item is shorter than the bulk it would be (and
        no longer item type was fed), so the canonical length of the
        commands matches the bytes hiredis consumed only if every item was a
        bulk.
        """
        # "*N\r\n" per command, "$<len>\r\n<data>\r\n" per element; repr(xs)
        # is 2 * len(xs) + the digits of all of xs.
        counts = list(map(len, out))
        sizes = list(map(len, chain.from_iterable(out)))
        canonical = len(repr(counts)) + len(counts) + 3 * len(sizes) + sum(sizes) + len(repr(sizes))
        return canonical == length

    def _within_limits(self, out: list[Argv]) -> bool:
        return max(map(len, out)) <= self.multibulk_len_max \
            and max(map(len, chain.from_iterable(out))) <= self.proto_max_bulk_len

    def _leave_fast(self) -> None:
        """Move what fast mode holds into the exact path's buffer, at a command boundary."""
        self._fast = False
        data = b"".join(self._pending)
        self._pending = []
        self._pending_len = 0
        self._tail = b""
        self._plain = True
        self._buf = bytearray(data)
        self._pos = 0
        self._hiredis = None
        self._pure_until_feed = False

    def _enter_fast(self) -> None:
        self._fast = True
        self._plain = True
        self._fast_hr = _hiredis.Reader()
        self._buf = bytearray()
        self._pos = 0
        self._hiredis = None
        self._pure_until_feed = False

    def _next(self) -> Argv | None:
        """One command: through hiredis when it can be verified, else the pure parser."""
        buf = self._buf
        pos = self._pos
        if pos >= len(buf):
            return None  # keeps hiredis: it is in step, with nothing pending
        if self._remaining or self._pure_until_feed or buf[pos] != _STAR:
            self._hiredis = None
            return super()._next()
        if self._hiredis is None:
            if self._big_aggregate_from(pos):
                self._pure_until_feed = True
                return super()._next()
            self._hiredis = _hiredis.Reader()
            self._hiredis.feed(buf, pos)
        out: list[Argv] = []
        self._take_verified(out, 1)
        if out:
            return out[0]
        return super()._next()

    def _take_verified(self, out: list[Argv], count_max: int = -1) -> None:
        """Append up to ``count_max`` (-1: any number of) commands hiredis parses and we verify.

        Stops at the first command that is not complete or not verified; then
        hiredis is dropped (it read past that command), and unless the
        command was merely incomplete, the rest of this feed is left to the
        pure parser.
        """
        hr = self._hiredis
        if hr is None or self._remaining or self._pure_until_feed:
            return
        buf = self._buf
        buf_len = len(buf)
        pos = self._pos
        arguments_max = self.multibulk_len_max
        bulk_max = self.proto_max_bulk_len
        append = out.append
        while count_max and pos < buf_len and buf[pos] == _STAR:
            try:
                argv = hr.gets()
            except (_hiredis.HiredisError, TypeError, ValueError):
                # Bad RESP, or RESP no request holds (a list as a map key
                # raises TypeError): the pure parser decides.
                argv = None
            if type(argv) is list and 0 < len(argv) <= arguments_max:
                # Each element must start with '$' where a canonical encoding
                # puts it; then hiredis's string2ll made every header canonical.
                n = len(argv)
                p = pos + (4 if n < 10 else 5 if n < 100 else 3 + len(b"%d" % n))
                for a in argv:
                    if type(a) is not bytes or buf[p] != _DOLLAR:
                        break
                    size = len(a)
                    if size > bulk_max:
                        break
                    if size < 10:
                        p += size + 6
                    elif size < 100:
                        p += size + 7
                    else:
                        p += size + 5 + len(b"%d" % size)
                else:
                    pos = p
                    append(argv)
                    count_max -= 1
                    continue
            # Not hiredis's to decide: not complete yet, or not a plain
            # canonical multibulk.  The pure parser gives Redis's answer.
            self._hiredis = None
            if argv is not False:
                self._pure_until_feed = True
            break
        self._pos = pos


def make_reader(
    *,
    proto_max_bulk_len: int = PROTO_MAX_BULK_LEN,
    multibulk_len_max: int = MULTIBULK_LEN_MAX,
    inline_max_bytes: int = INLINE_MAX_BYTES,
    query_buffer_max_bytes: int = QUERY_BUFFER_MAX_BYTES,
) -> Reader:
    """A request reader: `HiredisReader` when hiredis imports, else `Reader`.

    Args:
        proto_max_bulk_len: largest bulk argument accepted, in bytes.
        multibulk_len_max: most arguments in one multibulk command.
        inline_max_bytes: longest inline or header line, in bytes.
        query_buffer_max_bytes: most unconsumed bytes held after a `feed()`.

    Returns:
        A fresh reader for one connection.
    """
    cls = HiredisReader if _hiredis is not None else Reader
    return cls(
        proto_max_bulk_len=proto_max_bulk_len,
        multibulk_len_max=multibulk_len_max,
        inline_max_bytes=inline_max_bytes,
        query_buffer_max_bytes=query_buffer_max_bytes,
    )


# ---------------------------------------------------------------- encoder

_CRLF_TO_SPACE: Final = bytes.maketrans(b"\r\n", b"  ")
_BULK_HEADER: Final = b"\r\n$%d\r\n".__mod__
_JOINED_BULKS_MIN: Final = 8  # shorter arrays are cheaper item by item
# Bulk headers for the usual sizes, formatted once (%-formatting costs ~140 ns
# a header): "\r\n$<n>\r\n" to join with no separator (each ends the line
# before it), and "$<n>\r\n" for one reply at a time.
_BULK_HEADERS_N: Final = 1024
_BULK_HEADERS: Final = tuple(b"\r\n$%d\r\n" % n for n in range(_BULK_HEADERS_N))
_BULK_HEADERS_CRLF: Final = tuple(b"$%d\r\n" % n for n in range(_BULK_HEADERS_N))
# Integer replies 0..N-1 (SADD, HSET, ZADD, EXISTS, DEL... mostly answer 0 or 1).
_INTEGERS_N: Final = 1024
_INTEGERS: Final = tuple(b":%d\r\n" % n for n in range(_INTEGERS_N))


def format_double(value: float) -> bytes:
    """Redis 7.0's text for a double: ``%.17g``, with ``inf``, ``-inf``, ``nan``.

    Args:
        value: the double.

    Returns:
        ASCII text, e.g. ``b"3.1400000000000001"``, ``b"1e+20"``, ``b"-inf"``.
    """
    if value != value:
        return b"nan"  # glibc would print "-nan" for a negative NaN; Redis never sends that
    return b"%.17g" % value


def encode(reply: Reply, resp3: bool) -> bytes:
    """Encode one reply value for the wire.

    Args:
        reply: a reply value (see `protocol.replies` for each type's meaning).
        resp3: the connection's protocol version is 3 (``HELLO 3``), else 2.

    Returns:
        The encoded bytes.

    Raises:
        TypeError: a value (maybe nested) has no wire meaning; our bug.
    """
    out = bytearray()
    encode_into(out, reply, resp3)
    return bytes(out)


def encode_into(out: bytearray, reply: Reply, resp3: bool) -> None:
    """Append one encoded reply to ``out``; the fast form of `encode`.

    Args:
        out: the connection's output buffer.
        reply: a reply value (see `protocol.replies`).
        resp3: RESP3 if true, else RESP2.

    Raises:
        TypeError: a value (maybe nested) has no wire meaning; ``out`` may
            then hold part of the reply.
    """
    t = type(reply)
    # Fast path: exact types, most frequent first.
    if t is SimpleString:
        out += b"+%b\r\n" % reply.translate(_CRLF_TO_SPACE)  # faster than testing for CR/LF
    elif t is bytes:
        out += b"$%d\r\n%b\r\n" % (len(reply), reply)
    elif t is int:
        out += b":%d\r\n" % reply
    elif reply is None:
        out += b"_\r\n" if resp3 else b"$-1\r\n"
    elif t is list or t is Bulks:
        n = len(reply)
        if n >= _JOINED_BULKS_MIN and (t is Bulks or _BYTES_ONLY.issuperset(map(type, reply))):
            # Arrays of bulks (LRANGE, MGET, HGETALL...): headers looked up and
            # everything joined in C, instead of a loop in Python.
            out += b"*%d" % n  # its CRLF starts the first header
            parts = [b"\r\n"] * (2 * n + 1)
            try:  # every header from the table, in one C call
                parts[0:2 * n:2] = itemgetter(*map(len, reply))(_BULK_HEADERS)
            except IndexError:  # an element of 1024 bytes or more
                parts[0:2 * n:2] = map(_BULK_HEADER, map(len, reply))
            parts[1::2] = reply
            out += b"".join(parts)
            return
        out += b"*%d\r\n" % n
        for item in reply:
            if type(item) is bytes:
                out += b"$%d\r\n%b\r\n" % (len(item), item)
            else:
                encode_into(out, item, resp3)
    elif t is ErrorReply:
        # Redis trims CR/LF off the end of a formatted error, then turns the rest into spaces.
        out += b"-%b\r\n" % reply.rstrip(b"\r\n").translate(_CRLF_TO_SPACE)
    else:
        _encode_other(out, reply, resp3)


def encode_many(out: bytearray, replies: list[Reply], resp3: bool) -> None:
    """`encode_into` for each reply in turn: the server's way to encode a pipeline.

    The usual replies (bulk, +OK, integer, null, empty array) are encoded here with no call
    each and collected as parts, joined once: appending to a list is cheaper
    than growing the bytearray per reply.
    """
    parts: list[bytes] = []
    put = parts.append
    for reply in replies:
        if type(reply) is bytes:
            size = len(reply)
            put(_BULK_HEADERS_CRLF[size] if size < _BULK_HEADERS_N else b"$%d\r\n" % size)
            put(reply)
            put(b"\r\n")
        elif reply is OK:
            put(b"+OK\r\n")
        elif type(reply) is int:
            put(_INTEGERS[reply] if 0 <= reply < _INTEGERS_N else b":%d\r\n" % reply)
        elif reply is None:
            put(b"_\r\n" if resp3 else b"$-1\r\n")
        elif type(reply) is list and not reply:  # a missing key's range or pop
            put(b"*0\r\n")
        else:
            if parts:
                out += b"".join(parts)
                parts.clear()
            encode_into(out, reply, resp3)
    if parts:
        out += b"".join(parts)


def _encode_other(out: bytearray, reply: Reply, resp3: bool) -> None:
    """`encode_into` for everything off the fast path; subclasses resolved in order."""
    if reply is NULL_ARRAY:
        out += b"_\r\n" if resp3 else b"*-1\r\n"
    elif isinstance(reply, bool):  # before int: bool is an int subclass
        if resp3:
            out += b"#t\r\n" if reply else b"#f\r\n"
        else:
            out += b":1\r\n" if reply else b":0\r\n"
    elif isinstance(reply, BigNumber):
        if resp3:
            out += b"(%d\r\n" % reply
        else:
            text = b"%d" % reply
            out += b"$%d\r\n%b\r\n" % (len(text), text)
    elif isinstance(reply, float):
        text = format_double(reply)
        if resp3:
            out += b",%b\r\n" % text
        else:
            out += b"$%d\r\n%b\r\n" % (len(text), text)
    elif isinstance(reply, Verbatim):
        if resp3:
            out += b"=%d\r\ntxt:%b\r\n" % (len(reply) + 4, reply)
        else:
            out += b"$%d\r\n%b\r\n" % (len(reply), reply)
    elif isinstance(reply, SimpleString):
        out += b"+%b\r\n" % reply.translate(_CRLF_TO_SPACE)
    elif isinstance(reply, ErrorReply):
        # Redis trims CR/LF off the end of a formatted error, then turns the rest into spaces.
        out += b"-%b\r\n" % reply.rstrip(b"\r\n").translate(_CRLF_TO_SPACE)
    elif isinstance(reply, (bytes, bytearray, memoryview)):
        data = bytes(reply)
        out += b"$%d\r\n%b\r\n" % (len(data), data)
    elif isinstance(reply, int):
        out += b":%d\r\n" % reply
    elif isinstance(reply, dict):
        out += (b"%%%d\r\n" % len(reply)) if resp3 else (b"*%d\r\n" % (2 * len(reply)))
        for key, value in reply.items():
            encode_into(out, key, resp3)
            encode_into(out, value, resp3)
    elif isinstance(reply, Pairs):
        out += (b"%%%d\r\n" % len(reply)) if resp3 else (b"*%d\r\n" % (2 * len(reply)))
        for key, value in reply:
            encode_into(out, key, resp3)
            encode_into(out, value, resp3)
    elif isinstance(reply, Spliced):
        for item in reply:
            encode_into(out, item, resp3)
    elif isinstance(reply, (SetReply, Push, list, tuple)):
        if resp3 and isinstance(reply, SetReply):
            out += b"~%d\r\n" % len(reply)
        elif resp3 and isinstance(reply, Push):
            out += b">%d\r\n" % len(reply)
        else:
            out += b"*%d\r\n" % len(reply)
        for item in reply:
            encode_into(out, item, resp3)
    else:
        raise TypeError(f"no RESP encoding for {type(reply).__name__}: {reply!r}")
