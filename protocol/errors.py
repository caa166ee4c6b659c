"""The one exception base for bytes from a peer that break a wire protocol.

Strategy: parsers raise a `ProtocolError` subclass; drivers catch only this
base, answer with `reply` when there is one, and close the connection. Our own
bugs are never `ProtocolError`s, so they are not swallowed.
"""

from __future__ import annotations


class ProtocolError(Exception):
    """Bad bytes from a client or a peer.

    Attributes:
        reply: the exact error reply to send before closing (e.g.
            ``b"ERR Protocol error: invalid bulk length"``), or ``None`` when
            the protocol has no way to answer.
    """

    def __init__(self, message: str, reply: bytes | None = None) -> None:
        super().__init__(message)
        self.reply = reply
