"""RESP requests: the pure, sans-I/O parser of what clients send to a Redis server.

Strategy
--------
`Reader` is a sans-I/O parser shaped like ``hiredis.Reader``:
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

The hiredis-backed reader (`protocol.resp_hiredis`) and the encoder
(`protocol.resp_encoder`) live beside this module; `protocol.resp` is the
face that hands on all three's public names.
"""

from __future__ import annotations

from typing import Final

from protocol.errors import ProtocolError

Argv = list[bytes]

# Limits, named with their units; defaults are Redis 7.0's.
PROTO_MAX_BULK_LEN: Final = 512 * 1024 * 1024  # bytes in one bulk argument
MULTIBULK_LEN_MAX: Final = 1024 * 1024  # arguments in one multibulk command
INLINE_MAX_BYTES: Final = 64 * 1024  # bytes in an inline line or a header line
QUERY_BUFFER_MAX_BYTES: Final = 1024 * 1024 * 1024  # unconsumed request bytes


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
