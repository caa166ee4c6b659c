"""DurableLog: a node's durable records kept in an append-only, fsynced file.

Strategy: the records live in memory exactly as in `nodes.core.DurableStore`
(``name -> JSON bytes``, so reads never touch the disk) and every change is
also appended, as one self-checking line, to a log file. Opening a directory
replays the log into memory. The log only grows; once it is mostly dead
records it is rewritten from memory (compaction). This module is the
production counterpart of the simulator keeping ``DurableStore.records``
across a simulated crash: ``core.durable = DurableLog.open(directory)``.

Directory layout (``gyre serve --dir DATA``)::

    DATA/lock                  flock(LOCK_EX) by the owning process; holds its pid (informational)
    DATA/durable.log           the log
    DATA/durable.log.compact   a compaction in progress; never read, removed on open

Log format: one record per line, ``b"%08x %s\\n" % (crc32(json), json)``:
eight lowercase hex digits of the zlib CRC-32 of the JSON bytes, one space,
the JSON, a newline. The JSON is orjson's compact encoding of
``["put", name, value]`` or ``["del", name]``. orjson escapes every control
character inside strings, so a newline only ever ends a record. Names are
any str that is valid Unicode (latin-1-decoded binary keys included; a lone
surrogate is refused with `TypeError`, like a value that is not JSON).

Durability contract for drivers: `put` and `delete` update memory and
append their record with ``os.write`` (no user-space buffer; a ``kill -9``
after they return loses nothing, a power cut may). Each append advances
``appended``, the log's position (a count of records); ``synced`` is the
position an fsync (or a compaction) is known to have made durable. `sync`
fsyncs the log if anything was appended since the last sync and returns
whether it did. A driver calls ``core.durable.sync()`` after each
`NodeCore.handle`/`tick` (or batch of them) and before sending what depends
on the records (a promise, an accept), at one fsync per batch rather than
per record (group commit). The in-memory `DurableStore.sync` is a no-op
returning False, so a driver calls it whatever store the node has.

Replay and crash tolerance: a crash can only cut the log after the last
fsync, so the damage a crash leaves is a *torn tail*: from some offset on,
no valid record (a line without its newline, a bad checksum, zeros a file
system left after a power cut). Replay drops that tail, truncates the file
to the last good record and logs how many bytes went (logger
``gyre.durable``). A bad record *followed by a valid one* is not a crash
artefact but corruption of data that may have been acknowledged:
`DurableLogError` names the file, the byte offset and the problem, and the
server refuses to start rather than silently lose it. So is a line whose
checksum holds but which is not a record (a bug or a hand edit), wherever it
is.

Compaction: when the log exceeds ``max(compact_min_bytes, compact_ratio *
live)``, ``live`` being the size the live records take as lines, every live
record is written to ``durable.log.compact``, which is fsynced,
``os.replace``d over the log, and the directory fsynced. A crash before the
replace leaves the old log (the stray temp file is removed on open); after
it, the new one; both hold every record. Cost: with ratio 2 a compaction
writes ``live < size / 2`` bytes, and summing over compactions shows the
bytes compaction writes never exceed the bytes appended (plus the log
replayed at open), so it is amortised O(1) per byte written.

Compaction off the event loop (``gyre serve``: `DurableLog.background`):
the store then only asks for a compaction (``compaction_wanted``) and the
driver runs it in three steps. `start_compaction` (main thread) takes a
snapshot of the live records (a dict copy); `CompactionJob.run` (a worker
thread) encodes it into ``durable.log.compact``, writes and fsyncs it, while
the main thread keeps appending to the old log, each line also kept in the
job's tail; `finish_compaction` (main thread) appends the tail to the new
file, fsyncs it (a small write), renames it over the log and fsyncs the
directory. The old log holds every record until the rename and the new one
after it, so a crash anywhere leaves a complete log. A large inline
compaction stalled a server for seconds (a few 100k keys: >100 MB written
and fsynced), past strong mode's round deadline.

Failure: an ``OSError`` while appending, fsyncing or compacting leaves the
file in an unknown state (after a failed fsync even the page cache cannot be
trusted), so the store is poisoned: that write and every later one raise
`DurableLogError`. The node must stop; a restart replays what reached the
disk.
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import time
import zlib
from pathlib import Path
from typing import Any, Final, Never

import orjson

from nodes.core import DurableStore

__all__ = [
    "COMPACT_MIN_BYTES",
    "COMPACT_RATIO",
    "CompactionJob",
    "DirectoryLocked",
    "DurableLog",
    "DurableLogError",
    "encode_record",
]

log = logging.getLogger("gyre.durable")

LOG_NAME: Final[str] = "durable.log"
COMPACT_NAME: Final[str] = "durable.log.compact"
LOCK_NAME: Final[str] = "lock"
#: The log is never compacted below this size (a small log is cheap to replay).
COMPACT_MIN_BYTES: Final[int] = 4 << 20
#: Compact once the log is this many times the size of the live records.
COMPACT_RATIO: Final[float] = 2.0
#: Compaction writes its file in chunks of about this size.
COMPACT_CHUNK_BYTES: Final[int] = 1 << 20
#: How much of the lock file is read to name the holder in an error.
LOCK_PID_BYTES_MAX: Final[int] = 64

_HEADER_BYTES: Final[int] = 9  # "%08x "
_HEX: Final[frozenset[int]] = frozenset(b"0123456789abcdef")
_PUT: Final[bytes] = b'["put",'
_DEL: Final[bytes] = b'["del",'


class DurableLogError(Exception):
    """The log cannot be used: corrupt, locked, closed, or an earlier write failed."""


class DirectoryLocked(DurableLogError):
    """Another process (another ``gyre serve``) holds the directory's lock."""


def encode_record(name: str, value_json: bytes | None) -> bytes:
    """The log line for one change.

    Args:
        name: the record's name.
        value_json: the record's value as JSON bytes, or None for a delete.

    Returns:
        ``b"<crc32 hex> <json>\\n"``.

    Raises:
        TypeError: ``name`` is not a str of valid Unicode.
    """
    name_json = orjson.dumps(name)
    if not name_json.startswith(b'"'):
        raise TypeError(f"record name must be a str, not {type(name).__name__}")
    if value_json is None:
        body = _DEL + name_json + b"]"
    else:
        body = _PUT + name_json + b"," + value_json + b"]"
    return b"%08x %b\n" % (zlib.crc32(body), body)


# --- replay ------------------------------------------------------------------------------


def _checksum_problem(line: bytes) -> str | None:
    """Why ``line`` (without its newline) is not a well-framed record, or None if it is."""
    if len(line) < _HEADER_BYTES + 2:
        return f"record of {len(line)} bytes is too short"
    head = line[:8]
    if line[8] != 0x20 or not all(c in _HEX for c in head):
        return f"bad header {line[:_HEADER_BYTES]!r}"
    if int(head, 16) != zlib.crc32(line[_HEADER_BYTES:]):
        return f"checksum mismatch (stored {head.decode()}, computed {zlib.crc32(line[_HEADER_BYTES:]):08x})"
    return None


def _decode(line: bytes) -> tuple[str, bytes | None] | str:
    """``(name, value JSON or None for a delete)`` of a framed line, or what is wrong with it."""
    try:
        op = orjson.loads(line[_HEADER_BYTES:])
    except orjson.JSONDecodeError as exc:
        return f"checksum holds but the JSON does not parse ({exc})"
    if isinstance(op, list) and len(op) == 3 and op[0] == "put" and isinstance(op[1], str):
        return op[1], orjson.dumps(op[2])
    if isinstance(op, list) and len(op) == 2 and op[0] == "del" and isinstance(op[1], str):
        return op[1], None
    return f"checksum holds but the JSON is not a record: {line[_HEADER_BYTES:][:80]!r}"


def _next_good(data: bytes, pos: int) -> int | None:
    """Offset of the first well-framed, newline-terminated record at or after ``pos``."""
    while True:
        nl = data.find(b"\n", pos)
        if nl < 0:
            return None
        if _checksum_problem(data[pos:nl]) is None:
            return pos
        pos = nl + 1


def _replay(path: Path, data: bytes) -> tuple[dict[str, bytes], dict[str, int], int]:
    """Apply the log ``data`` of ``path``.

    Returns:
        The records, the line size of each live record, and the offset where
        the good records end (``len(data)`` unless the tail is torn).

    Raises:
        DurableLogError: corruption that a crash cannot explain (see module doc).
    """
    records: dict[str, bytes] = {}
    sizes: dict[str, int] = {}
    pos = 0
    while pos < len(data):
        nl = data.find(b"\n", pos)
        if nl < 0:
            return records, sizes, pos  # a write cut short: torn tail
        line = data[pos:nl]
        problem = _checksum_problem(line)
        if problem is not None:
            later = _next_good(data, nl + 1)
            if later is None:
                return records, sizes, pos  # nothing valid after it: torn tail
            raise DurableLogError(
                f"{path}: corrupt record at byte offset {pos}: {problem}; a valid record follows at "
                f"byte offset {later}, so this is not a torn write. Refusing to drop data: restore "
                f"the directory or move the file away to start this node empty")
        decoded = _decode(line)
        if isinstance(decoded, str):
            raise DurableLogError(f"{path}: bad record at byte offset {pos}: {decoded}")
        name, value = decoded
        if value is None:
            records.pop(name, None)
            sizes.pop(name, None)
        else:
            records[name] = value
            sizes[name] = nl + 1 - pos
        pos = nl + 1
    return records, sizes, pos


# --- file helpers ------------------------------------------------------------------------


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _read_all(fd: int) -> bytes:
    size = os.fstat(fd).st_size
    chunks: list[bytes] = []
    pos = 0
    while pos < size:
        chunk = os.pread(fd, size - pos, pos)
        if not chunk:
            break
        chunks.append(chunk)
        pos += len(chunk)
    return b"".join(chunks)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _lock(directory: Path) -> int:
    """Take the directory's lock; returns the lock file's descriptor."""
    path = directory / LOCK_NAME
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        holder = os.pread(fd, LOCK_PID_BYTES_MAX, 0).decode("ascii", "replace").strip() or "unknown"
        os.close(fd)
        if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
            raise DirectoryLocked(
                f"{directory} is in use: another gyre serve (pid {holder}) holds its lock {path}") from None
        raise
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return fd


# --- the store ---------------------------------------------------------------------------


class CompactionJob:
    """One compaction off the event loop (module doc): built by `DurableLog.start_compaction`.

    Attributes:
        tail: the lines appended since the snapshot (the main thread adds them).
        error: the worker's OSError, or None.
    """

    __slots__ = ("_fd", "_snapshot", "error", "sizes", "tail", "total")

    def __init__(self, fd: int, snapshot: list[tuple[str, bytes]]) -> None:
        self._fd = fd
        self._snapshot = snapshot
        self.tail: list[tuple[str, bytes | None, bytes]] = []  # (name, value or None, line)
        self.sizes: dict[str, int] = {}
        self.total = 0
        self.error: OSError | None = None

    def run(self) -> None:
        """Encode, write and fsync the snapshot (a worker thread; touches no store state).

        Never raises: an error is kept for `DurableLog.finish_compaction`.
        """
        try:
            sizes = self.sizes
            chunk: list[bytes] = []
            chunk_bytes = 0
            for name, value in sorted(self._snapshot):
                line = encode_record(name, value)
                sizes[name] = len(line)
                chunk.append(line)
                chunk_bytes += len(line)
                if chunk_bytes >= COMPACT_CHUNK_BYTES:
                    _write_all(self._fd, b"".join(chunk))
                    self.total += chunk_bytes
                    chunk, chunk_bytes = [], 0
            _write_all(self._fd, b"".join(chunk))
            self.total += chunk_bytes
            os.fsync(self._fd)
        except OSError as exc:
            self.error = exc
        finally:
            self._snapshot = []


class DurableLog(DurableStore):
    """A `DurableStore` whose records survive the process, in an append-only log (module doc).

    Build it with `DurableLog.open`. Stats for INFO: ``bytes_on_disk``,
    ``len()`` (records), ``fsyncs``, ``compactions``,
    ``last_fsync_s``; `stats` has them as one dict. ``appended`` and
    ``synced`` are the log positions of the durability contract (module doc).
    """

    __slots__ = (
        "_failed",
        "_fd",
        "_job",
        "background",
        "compaction_wanted",
        "_live_bytes",
        "_lock_fd",
        "_sizes",
        "appended",
        "bytes_on_disk",
        "compact_min_bytes",
        "compact_ratio",
        "compactions",
        "directory",
        "fsyncs",
        "last_fsync_s",
        "path",
        "synced",
    )

    def __init__(self, directory: Path, *, fd: int, lock_fd: int, records: dict[str, bytes],
                 sizes: dict[str, int], size: int, compact_min_bytes: int, compact_ratio: float) -> None:
        super().__init__()
        self._records = records
        self.directory = directory
        self.path = directory / LOG_NAME
        self._fd = fd
        self._lock_fd = lock_fd
        self._sizes = sizes
        self._live_bytes = sum(sizes.values())
        self.appended = 0  # records appended by this process (the log position)
        self.synced = 0  # the position known to be on disk
        self._failed: str | None = None
        self.compact_min_bytes = compact_min_bytes
        self.compact_ratio = compact_ratio
        self.bytes_on_disk = size
        self.fsyncs = 0
        self.compactions = 0
        self.last_fsync_s = 0.0
        # Set by a driver that runs compactions off its event loop (module doc): the store then
        # only raises ``compaction_wanted``; ``_job`` is the compaction running meanwhile.
        self.background = False
        self.compaction_wanted = False
        self._job: CompactionJob | None = None

    @classmethod
    def open(cls, directory: Path | str, *, compact_min_bytes: int = COMPACT_MIN_BYTES,
             compact_ratio: float = COMPACT_RATIO) -> DurableLog:
        """Lock ``directory`` (created if needed) and replay its log.

        Args:
            directory: where the lock and the log live.
            compact_min_bytes: never compact a log smaller than this.
            compact_ratio: compact once the log is this many times the live records (> 1).

        Returns:
            The store, holding the directory's lock until `close`.

        Raises:
            DirectoryLocked: another process has the directory open.
            DurableLogError: the log is corrupt (not merely torn by a crash).
            OSError: the directory or its files cannot be created or read.
        """
        assert compact_ratio > 1, compact_ratio
        assert compact_min_bytes >= 0, compact_min_bytes
        directory = Path(directory)
        if not directory.is_dir():
            directory.mkdir(parents=True, exist_ok=True)
            _fsync_dir(directory.parent)
        lock_fd = _lock(directory)
        fd = -1
        try:
            path = directory / LOG_NAME
            created = not path.exists()
            stray = directory / COMPACT_NAME
            if stray.exists():
                log.warning("%s: removing %s left by a compaction cut short; the log is intact",
                            directory, COMPACT_NAME)
                stray.unlink()
                created = True  # the directory changed: fsync it below
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o644)
            data = _read_all(fd)
            records, sizes, good_end = _replay(path, data)
            if good_end < len(data):
                log.warning("%s: dropped a torn tail of %d bytes at byte offset %d (a write cut short "
                            "by a crash, never acknowledged); %d records kept",
                            path, len(data) - good_end, good_end, len(records))
                os.ftruncate(fd, good_end)
                os.fsync(fd)
            if created:
                _fsync_dir(directory)
        except BaseException:
            if fd >= 0:
                os.close(fd)
            os.close(lock_fd)
            raise
        store = cls(directory, fd=fd, lock_fd=lock_fd, records=records, sizes=sizes, size=good_end,
                    compact_min_bytes=compact_min_bytes, compact_ratio=compact_ratio)
        store._maybe_compact()
        return store

    # -- DurableStore interface -----------------------------------------------------------

    def put(self, name: str, value: Any) -> None:
        """Write (replace) one record: memory, then an append to the log (durable after `sync`).

        Raises:
            TypeError: ``value`` is not JSON or ``name`` not a valid str (nothing changes).
            DurableLogError: the store is closed or poisoned (see module doc).
        """
        raw = orjson.dumps(value)
        line = encode_record(name, raw)
        self._append(line, name, raw)
        self._records[name] = raw
        self._live_bytes += len(line) - self._sizes.get(name, 0)
        self._sizes[name] = len(line)
        self.writes += 1
        self._maybe_compact()

    def delete(self, name: str) -> None:
        """Remove one record (no effect, and nothing written, when absent).

        Raises:
            DurableLogError: the store is closed or poisoned.
        """
        if name not in self._records:
            return
        self._append(encode_record(name, None), name, None)
        del self._records[name]
        self._live_bytes -= self._sizes.pop(name)
        self.writes += 1
        self._maybe_compact()

    @property
    def dirty(self) -> bool:
        """Whether records were appended since the last fsync."""
        return self.synced < self.appended

    def sync(self) -> bool:
        """Fsync the log if anything was appended since the last sync.

        Returns:
            Whether an fsync was done.

        Raises:
            DurableLogError: the store is closed or poisoned, or the fsync failed.
        """
        self._check_usable()
        if not self.dirty:
            return False
        position = self.appended
        started = time.perf_counter()
        try:
            os.fsync(self._fd)
        except OSError as exc:
            self._fail("fsync", exc)
        self._synced_to(position, time.perf_counter() - started)
        return True

    def _synced_to(self, position: int, elapsed_s: float) -> None:
        self.last_fsync_s = elapsed_s
        self.fsyncs += 1
        self.synced = max(self.synced, position)

    # -- the file -------------------------------------------------------------------------

    def compact(self) -> None:
        """Rewrite the log as one put per live record, inline (crash-safe; see module doc): the
        three steps of a compaction off the event loop, run one after the other.

        Raises:
            DurableLogError: the store is closed or poisoned, or an I/O error happened.
        """
        job = self.start_compaction()
        job.run()
        self.finish_compaction(job)

    def close(self) -> None:
        """Sync (unless poisoned) and release the directory; idempotent."""
        if self._fd < 0:
            return
        try:
            if self._failed is None:
                self.sync()
        finally:
            os.close(self._fd)
            self._fd = -1
            os.close(self._lock_fd)  # releases the flock
            self._lock_fd = -1

    def __enter__(self) -> DurableLog:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def stats(self) -> dict[str, int | float]:
        """The store's counters, named for an INFO section."""
        return {
            "durable_log_bytes": self.bytes_on_disk,
            "durable_records": len(self._records),
            "durable_fsyncs": self.fsyncs,
            "durable_compactions": self.compactions,
            "durable_last_fsync_us": round(self.last_fsync_s * 1e6),
        }

    def _append(self, line: bytes, name: str, value: bytes | None) -> None:
        self._check_usable()
        try:
            _write_all(self._fd, line)
        except OSError as exc:
            self._fail("append", exc)
        self.bytes_on_disk += len(line)
        self.appended += 1
        if self._job is not None:  # the new log gets it too, after the snapshot
            self._job.tail.append((name, value, line))

    def _maybe_compact(self) -> None:
        if self.bytes_on_disk > max(self.compact_min_bytes, self.compact_ratio * self._live_bytes):
            if not self.background:
                self.compact()
            elif self._job is None:
                self.compaction_wanted = True

    # -- compaction off the event loop (module doc) ------------------------------------------

    def start_compaction(self) -> CompactionJob:
        """Snapshot the live records for a `CompactionJob` (run it in a worker thread, then
        `finish_compaction` here); appends meanwhile go to the old log and the job's tail.

        Raises:
            DurableLogError: the store is closed or poisoned, or the file cannot be created.
        """
        self._check_usable()
        assert self._job is None, "one compaction at a time"
        tmp = self.directory / COMPACT_NAME
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            self._fail("compaction", exc)
        self.compaction_wanted = False
        self._job = CompactionJob(fd, list(self._records.items()))
        return self._job

    def finish_compaction(self, job: CompactionJob) -> None:
        """Append what came since the snapshot, fsync, and put the new log in place.

        Raises:
            DurableLogError: the worker's write or fsync failed, or this one did (the store is
                poisoned), or the store was poisoned meanwhile.
        """
        assert job is self._job
        self._job = None
        fd = job._fd
        if job.error is not None:
            os.close(fd)
            self._fail("compaction", job.error)
        try:
            self._check_usable()
        except DurableLogError:
            os.close(fd)
            raise
        sizes = job.sizes
        total = job.total
        try:
            if job.tail:
                _write_all(fd, b"".join(line for _, _, line in job.tail))
                for name, value, line in job.tail:
                    total += len(line)
                    if value is None:
                        sizes.pop(name, None)
                    else:
                        sizes[name] = len(line)
                os.fsync(fd)
            os.replace(self.directory / COMPACT_NAME, self.path)
            _fsync_dir(self.directory)
        except OSError as exc:
            os.close(fd)
            self._fail("compaction", exc)
        log.debug("%s: compacted %d bytes to %d (%d records)", self.path, self.bytes_on_disk, total, len(sizes))
        os.close(self._fd)
        self._fd = fd
        self._sizes = sizes
        self._live_bytes = sum(sizes.values())
        self.bytes_on_disk = total
        self.synced = self.appended  # the new log holds everything, fsynced, under its name
        self.compactions += 1
        self._maybe_compact()

    def _check_usable(self) -> None:
        if self._fd < 0:
            raise DurableLogError(f"{self.path}: the store is closed")
        if self._failed is not None:
            raise DurableLogError(f"{self.path}: an earlier {self._failed}; no more writes are "
                                  f"accepted, restart to replay what reached the disk")

    def _fail(self, what: str, exc: OSError) -> Never:
        self._failed = f"{what} failed ({exc})"
        raise DurableLogError(f"{self.path}: {what} failed: {exc}; the store accepts no more writes") from exc
