"""How Redis prints what a client sent inside an error text.

Strategy: Redis formats arguments into its error replies with C's %s, which
stops at the first NUL byte; `c_string` cuts there too, so an error that
quotes an argument reads byte for byte as Redis's.
"""

from __future__ import annotations


def c_string(text: bytes) -> bytes:
    """What Redis's %s prints of an argument: up to its first NUL byte."""
    return text.split(b"\0", 1)[0]
