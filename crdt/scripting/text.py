"""How Redis prints what a client sent inside an error text.

Strategy: Redis formats arguments into its error replies with C's %s, which
stops at the first NUL byte, and addReplyErrorFormat then turns CR and LF
into spaces; `c_string` does both, so an error that quotes an argument reads
byte for byte as Redis's.
"""

from __future__ import annotations


def c_string(text: bytes, at_end: bool = False) -> bytes:
    """What Redis's error formatting prints of an argument: up to its first NUL, CR/LF as
    spaces; `at_end`: the argument ends an error Redis builds as an sds and trims, so the
    CR/LF it ends with go (FUNCTION LOAD's option error; measured against redis-server)."""
    text = text.split(b"\0", 1)[0]
    if at_end:
        text = text.rstrip(b"\r\n")
    return text.replace(b"\r", b" ").replace(b"\n", b" ")
