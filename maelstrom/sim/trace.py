"""A simulated run's fingerprint: SHA-256 of its message trace and history, and where two differ.

Strategy: a run's store already holds everything it did, in order:
``messages.jsonl`` (every send, receive, drop and duplicate with its
virtual time) and ``history.jsonl`` (every invoke and completion). The
fingerprint hashes both files (with a separator), so two runs of one seed
match only when they are byte-identical. `first_difference` walks two
stores line by line and names the file, the line and both versions.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Final

from maelstrom.store import HISTORY_FILE, MESSAGES_FILE

TRACE_FILES: Final[tuple[str, ...]] = (MESSAGES_FILE, HISTORY_FILE)
#: How much of a differing line to show.
SHOW_CHARS: Final[int] = 400


def trace_hash(store_path: str | Path) -> str:
    """The SHA-256 (hex) of a run's message trace and history."""
    h = hashlib.sha256()
    for name in TRACE_FILES:
        p = Path(store_path) / name
        h.update(name.encode() + b"\0")
        h.update(p.read_bytes() if p.exists() else b"(missing)")
        h.update(b"\0")
    return h.hexdigest()


def first_difference(a: str | Path, b: str | Path) -> str | None:
    """Where the traces of two runs first differ (None when identical)."""
    for name in TRACE_FILES:
        la = _lines(Path(a) / name)
        lb = _lines(Path(b) / name)
        for i in range(max(len(la), len(lb))):
            x = la[i] if i < len(la) else "(end of file)"
            y = lb[i] if i < len(lb) else "(end of file)"
            if x != y:
                return (f"{name} line {i + 1} first differs:\n  run 1: {x[:SHOW_CHARS]}\n"
                        f"  run 2: {y[:SHOW_CHARS]}")
    return None


def _lines(p: Path) -> list[str]:
    return p.read_text(encoding="utf-8", errors="replace").splitlines() if p.exists() else []
