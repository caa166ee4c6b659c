"""RESP requests through hiredis: `HiredisReader`, and `make_reader`, which picks a reader.

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
"""

from __future__ import annotations

from itertools import chain
from typing import Final

from protocol.errors import ProtocolError
from protocol.resp_reader import (
    _AGGREGATE_SCAN,
    _ARRAY_HEADERS,
    _ARRAY_HEADERS_N,
    _BANG,
    _BIG_AGGREGATE,
    _BIG_AGGREGATE_SPAN,
    _BIG_OTHER,
    _DOLLAR,
    _JOIN,
    _LF,
    _LIST_ONLY,
    _P,
    _STAR,
    INLINE_MAX_BYTES,
    MULTIBULK_LEN_MAX,
    PROTO_MAX_BULK_LEN,
    QUERY_BUFFER_MAX_BYTES,
    Argv,
    QueryBufferLimitError,
    Reader,
    _NeedData,
    _plain_inline_lines,
)

try:  # hiredis is a dependency, but the pure reader must work without it.
    import hiredis as _hiredis
except ImportError:  # pragma: no cover - exercised only without hiredis
    _hiredis = None

HIREDIS_AVAILABLE: Final = _hiredis is not None

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
