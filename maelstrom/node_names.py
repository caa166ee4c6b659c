"""The node ids of a run, from ``--node-count``, ``-n/--node``, ``--nodes`` and ``--nodes-file``.

Strategy: Maelstrom's own order of steps, so every combination names the
same nodes it would. Maelstrom first turns ``--node-count N`` into the list
``n0…n{N-1}``, replacing whatever ``--nodes`` gave (its help: "Overrides
--nodes"); then Jepsen's ``parse-nodes`` concatenates the names read from
``--nodes-file`` (split on newlines, blanks around them dropped), that list,
and the ``-n`` names, where the ``-n`` default ``n1…n5`` counts only when
neither of the other two was given. ``--nodes`` is split on commas (blanks
after a comma dropped); the file, like Java's ``String.split``, keeps a
leading empty name and drops trailing ones.

Maelstrom checks nothing further. We refuse, with a message, the names that
would make a run silently wrong: empty ones, duplicates, names Maelstrom's
network takes for clients (they start with ``c``: no latency, never
partitioned) or for services, and names that cannot be a log file name
(``node-logs/<id>.log``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final

from maelstrom.services import SERVICE_IDS

DEFAULT_NODES: Final[tuple[str, ...]] = ("n1", "n2", "n3", "n4", "n5")
_NODES_SEPARATOR: Final = re.compile(r",\s*")
_FILE_SEPARATOR: Final = re.compile(r"\s*\n\s*")


def split_nodes_file(text: str) -> list[str]:
    """The names in a ``--nodes-file``: Java's ``split`` on blank-padded newlines."""
    names = _FILE_SEPARATOR.split(text)
    while len(names) > 1 and names[-1] == "":
        names.pop()
    return names


def node_names(node_count: int | None = None, node: Sequence[str] = (),
               nodes: str | None = None, nodes_file_text: str | None = None) -> tuple[str, ...]:
    """Maelstrom's node list for these options (see the module docstring).

    Args:
        node_count: ``--node-count``.
        node: every ``-n/--node`` value, in order.
        nodes: ``--nodes`` as given (comma-separated).
        nodes_file_text: the contents of the ``--nodes-file``.

    Raises:
        ValueError: a name that would make the run wrong, with which and why.
    """
    listed = _NODES_SEPARATOR.split(nodes) if nodes is not None else None
    if node_count is not None:
        listed = [f"n{i}" for i in range(node_count)]
    from_file = split_nodes_file(nodes_file_text) if nodes_file_text is not None else None
    named = list(node) if node else (
        [] if listed is not None or from_file is not None else list(DEFAULT_NODES))
    names = (from_file or []) + (listed or []) + named
    check_node_names(names)
    return tuple(names)


def check_node_names(names: Sequence[str]) -> None:
    """Raise ValueError for the first name that would make a run wrong."""
    if not names:
        raise ValueError("no nodes: give --node-count, -n/--node, --nodes or --nodes-file")
    seen: set[str] = set()
    for name in names:
        if not name.strip():
            raise ValueError(f"empty node name in {list(names)!r}")
        if name in seen:
            raise ValueError(f"node {name!r} is named twice")
        if name.startswith("c"):
            raise ValueError(f"node {name!r}: ids starting with 'c' are clients' "
                             "(no latency, never partitioned)")
        if name in SERVICE_IDS:
            raise ValueError(f"node {name!r} has the name of a Maelstrom service")
        if "/" in name or "\0" in name or name in (".", ".."):
            raise ValueError(f"node {name!r} cannot name its log file node-logs/<id>.log")
        seen.add(name)
