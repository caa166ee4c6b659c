"""The run directory: ``store/<workload>/<timestamp>/`` and its files.

Strategy (maelstrom-spec.md section 9): one `RunStore` per test run creates
the directory named by the wall-clock start time
(``YYYYMMDDTHHMMSS.mmm±ZZZZ``; a ``-1``, ``-2``… suffix if two runs share a
millisecond), streams ``messages.jsonl`` and ``node-logs/<id>.log`` while the
run goes, and writes at the end:

- ``history.jsonl``: the ARCHITECTURE.md event format, one event per line;
- ``history.txt``: process, type, f, value, error, tab-separated (with the
  key in front of the value for keyed workloads);
- ``results.json``: the keys of Maelstrom's ``results.edn`` (``workload``,
  ``stats``, ``availability``, ``net``, ``exceptions``, ``perf``, ``valid``);
- ``test.json``: the options and the seed;
- ``report.html`` (see `maelstrom.report`).

The symlinks ``store/latest``, ``store/current`` and ``store/<workload>/latest`` point at the
newest run. This is a driver module: it touches files and the wall clock;
the clock is read once, by the caller or here when none is given.
"""

from __future__ import annotations

import datetime as _dt
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any, Final

import orjson

from maelstrom.history import History, HistoryError

MESSAGES_FILE: Final[str] = "messages.jsonl"
HISTORY_FILE: Final[str] = "history.jsonl"
HISTORY_TEXT_FILE: Final[str] = "history.txt"
RESULTS_FILE: Final[str] = "results.json"
TEST_FILE: Final[str] = "test.json"
NODE_LOGS_DIR: Final[str] = "node-logs"
HARNESS_LOG_FILE: Final[str] = "harness.log"

#: Write buffer of ``messages.jsonl`` (two events per message: the default 8 KiB costs a
#: system call every few dozen messages).
MESSAGES_BUFFER_BYTES: Final[int] = 1 << 20

_JSON_OPTS: Final[int] = orjson.OPT_NON_STR_KEYS | orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS
#: ``to_json(value, indent=False) + b"\n"`` in one call (a journal line, once per event).
_JSONL_OPTS: Final[int] = orjson.OPT_NON_STR_KEYS | orjson.OPT_APPEND_NEWLINE


def timestamp_name(when: _dt.datetime) -> str:
    """``20240102T030405.678+0100`` for an aware datetime (Jepsen's store naming)."""
    return when.strftime("%Y%m%dT%H%M%S.") + f"{when.microsecond // 1000:03d}" + when.strftime("%z")


def to_json(value: Any, indent: bool = True) -> bytes:
    """orjson with non-string keys allowed; anything else becomes its ``repr``."""
    opts = _JSON_OPTS if indent else orjson.OPT_NON_STR_KEYS
    return orjson.dumps(value, option=opts, default=repr)


def history_text(history: History) -> str:
    """Jepsen's ``history.txt``: process, type, f, value, error, tab-separated."""
    lines = []
    for e in history:
        value = e.value if e.key is None else [e.key, e.value]
        cols = [str(e.process), e.type, e.f, to_json(value, indent=False).decode()]
        if e.error is not None:
            cols.append(to_json(e.error, indent=False).decode())
        lines.append("\t".join(cols))
    return "\n".join(lines) + ("\n" if lines else "")


class RunStore:
    """The directory of one run.

    Args:
        root: The store root (``store`` by default in the CLI).
        workload: The workload name (first path level).
        started: The run's wall-clock start (aware); now when None.
    """

    def __init__(self, root: str | os.PathLike[str], workload: str,
                 started: _dt.datetime | None = None) -> None:
        self.root = Path(root)
        self.workload = workload
        when = started or _dt.datetime.now().astimezone()
        base = self.root / workload / timestamp_name(when)
        path, n = base, 0
        while True:
            try:
                path.mkdir(parents=True)
                break
            except FileExistsError:
                n += 1
                path = base.with_name(f"{base.name}-{n}")
        self.path = path
        (self.path / NODE_LOGS_DIR).mkdir()
        self._messages: IO[bytes] | None = open(self.path / MESSAGES_FILE, "wb",  # noqa: SIM115
                                                buffering=MESSAGES_BUFFER_BYTES)
        self._node_logs: dict[str, IO[bytes]] = {}
        self._harness_log: IO[str] = open(self.path / HARNESS_LOG_FILE, "w")  # noqa: SIM115
        self._link_latest()

    def _link_latest(self) -> None:
        run = self.path.relative_to(self.root)
        for link, target in ((self.root / "latest", run), (self.root / "current", run),
                             (self.root / self.workload / "latest", Path(self.path.name))):
            tmp = link.with_name(f".{link.name}.{os.getpid()}")
            try:
                if tmp.is_symlink():
                    tmp.unlink()
                tmp.symlink_to(target)
                os.replace(tmp, link)
            except OSError:  # a filesystem without symlinks: the run still works
                pass

    # -- streamed while running --------------------------------------------------

    def message(self, event: dict[str, Any]) -> None:
        """Append one network journal event to ``messages.jsonl``."""
        if self._messages is not None:
            self._messages.write(orjson.dumps(event, option=_JSONL_OPTS, default=repr))

    def message_line(self, line: bytes) -> None:
        """Append one network journal event, already its ``messages.jsonl`` line."""
        if self._messages is not None:
            self._messages.write(line)

    def message_writer(self) -> Callable[[bytes], object] | None:
        """What `message_line` does, as the open file's own ``write`` (no Python frame per
        line): for a driver that sends nothing once the store is closed (the simulator).
        None once closed."""
        return None if self._messages is None else self._messages.write

    def node_log(self, node_id: str, line: bytes) -> None:
        """Append one stderr line of a node to ``node-logs/<id>.log``."""
        f = self._node_logs.get(node_id)
        if f is None:
            f = self._node_logs[node_id] = open(self.path / NODE_LOGS_DIR / f"{node_id}.log", "ab")  # noqa: SIM115
        f.write(line if line.endswith(b"\n") else line + b"\n")
        f.flush()

    def log(self, text: str) -> None:
        """Append one line to ``harness.log`` (diagnoses, phases)."""
        self._harness_log.write(text.rstrip("\n") + "\n")
        self._harness_log.flush()

    # -- written at the end --------------------------------------------------------

    def write_json(self, name: str, value: Any) -> Path:
        """Write ``value`` as indented JSON to ``name``."""
        p = self.path / name
        p.write_bytes(to_json(value))
        return p

    def write_text(self, name: str, text: str) -> Path:
        """Write a text file in the run directory."""
        p = self.path / name
        p.write_text(text)
        return p

    def write_history(self, history: History) -> None:
        """``history.jsonl`` and ``history.txt``."""
        write_history(self.path / HISTORY_FILE, history)
        self.write_text(HISTORY_TEXT_FILE, history_text(history))

    def flush(self) -> None:
        """Flush ``messages.jsonl`` so it can be read back while the store is open."""
        if self._messages is not None:
            self._messages.flush()

    def close(self) -> None:
        """Flush and close the streamed files."""
        if self._messages is not None:
            self._messages.close()
            self._messages = None
        for f in self._node_logs.values():
            f.close()
        self._node_logs.clear()
        self._harness_log.close()


def read_history(path: str | os.PathLike[str]) -> History:
    """Read a JSON Lines history file (`History.loads` parses it; the file is the store's).

    Raises:
        HistoryError: The file cannot be read or holds a bad line.
    """
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise HistoryError(f"{path}: cannot read ({exc.strerror or exc})") from None
    return History.loads(data, source=str(path))


def write_history(path: str | os.PathLike[str], history: History) -> None:
    """Write a history as JSON Lines.

    Raises:
        OSError: The file cannot be written.
    """
    Path(path).write_bytes(history.dumps())


def iter_messages(path: str | os.PathLike[str]) -> Iterator[dict[str, Any]]:
    """Stream a ``messages.jsonl`` back, one event at a time (the report reads it once)."""
    with open(path, "rb") as f:
        for line in f:
            if line.strip():
                yield orjson.loads(line)


def load_messages(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Read a ``messages.jsonl`` back (for tests)."""
    return list(iter_messages(path))
