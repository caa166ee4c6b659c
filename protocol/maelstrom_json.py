"""Maelstrom's JSON envelope: one message per line, no I/O.

Strategy: a node driver reads one line at a time and hands it to
`decode_line`, which parses it with orjson and validates the envelope exactly
as far as the protocol defines it (maelstrom-spec.md sections 1 to 3):

* the top level is an object with string ``src`` and ``dest`` and an object
  ``body``; any other top-level key (Maelstrom adds ``"id"``) is ignored;
* ``body["type"]`` is a string;
* ``body["msg_id"]`` and ``body["in_reply_to"]``, when present, are JSON
  integers (``3.0`` and ``true`` are rejected, as Maelstrom's ``s/Int`` does).

Anything else raises `MalformedMessage`, a `ProtocolError`. When the bad line
still names its sender and carries a usable ``msg_id``, the exception holds a
ready ``malformed-request`` error reply, so a node can answer instead of
leaving the client to time out. The body is otherwise free-form and is kept
as the parsed ``dict``.

`encode` is the inverse: one JSON object with keys ``src``, ``dest``,
``body``, followed by exactly one ``\\n``. JSON escapes control characters
inside strings, so the only raw newline is the terminator.

Error codes live in one table, the `ErrorCode` enum; names and definiteness
derive from it. Unknown and custom codes (1000 and up) are indefinite and
named ``"unknown"``, as Maelstrom's client treats them (the demo Python
library gets this wrong).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, Final

import orjson

from protocol.errors import ProtocolError

__all__ = [
    "LINE_BYTES_MAX",
    "ErrorCode",
    "MalformedMessage",
    "Message",
    "code_is_definite",
    "decode_line",
    "decode_obj",
    "encode",
    "error_body",
    "error_name",
]

#: Longest line `decode_line` accepts, in bytes (or characters for a str).
#: Generous: a broadcast ``read_ok`` late in a long run can be large.
LINE_BYTES_MAX: Final[int] = 64 * 1024 * 1024

#: Name given to a code that is not in `ErrorCode` (Maelstrom's ``:unknown``).
UNKNOWN_ERROR_NAME: Final[str] = "unknown"


class ErrorCode(enum.IntEnum):
    """Maelstrom's reserved error codes (``resources/errors.edn``).

    The member name, lower-cased with ``_`` turned into ``-``, is the
    Maelstrom error name; `error_name` returns it.
    """

    TIMEOUT = 0
    NODE_NOT_FOUND = 1
    NOT_SUPPORTED = 10
    TEMPORARILY_UNAVAILABLE = 11
    MALFORMED_REQUEST = 12
    CRASH = 13
    ABORT = 14
    KEY_DOES_NOT_EXIST = 20
    KEY_ALREADY_EXISTS = 21
    PRECONDITION_FAILED = 22
    TXN_CONFLICT = 30

    @property
    def error_name(self) -> str:
        """The Maelstrom name, e.g. ``"key-does-not-exist"``."""
        return self.name.lower().replace("_", "-")

    def is_definite(self) -> bool:
        """Whether this error proves the operation did not happen.

        Returns:
            False for `TIMEOUT` and `CRASH` (the operation may or may not have
            taken effect), True for every other reserved code.
        """
        return self not in _INDEFINITE

    @property
    def definite(self) -> bool:
        """Same as `is_definite()`, as a property."""
        return self.is_definite()


_INDEFINITE: Final[frozenset[ErrorCode]] = frozenset({ErrorCode.TIMEOUT, ErrorCode.CRASH})


def _known_code(code: int) -> ErrorCode | None:
    if isinstance(code, bool) or not isinstance(code, int):
        return None
    try:
        return ErrorCode(code)
    except ValueError:
        return None


def code_is_definite(code: int) -> bool:
    """Whether a raw error code from a reply is definite.

    Args:
        code: the ``code`` field of an error body.

    Returns:
        True only for reserved codes listed in `ErrorCode` other than timeout
        (0) and crash (13). Unknown and custom codes (1000 and up) are
        indefinite, as in Maelstrom's client.
    """
    known = _known_code(code)
    return known is not None and known.is_definite()


def error_name(code: int) -> str:
    """The Maelstrom name of an error code.

    Args:
        code: an `ErrorCode` or a raw int.

    Returns:
        e.g. ``"precondition-failed"`` for 22, or ``"unknown"`` for a code
        that is not in `ErrorCode`.
    """
    known = _known_code(code)
    return UNKNOWN_ERROR_NAME if known is None else known.error_name


def error_body(code: int, text: str | None = None, in_reply_to: int | None = None) -> dict[str, Any]:
    """Build the body of a Maelstrom error message.

    Args:
        code: an `ErrorCode` or a custom code (1000 and up by convention).
        text: optional human-readable detail.
        in_reply_to: the ``msg_id`` of the request being answered, if any.

    Returns:
        ``{"type": "error", "in_reply_to": ..., "code": int, "text": ...}``
        with ``in_reply_to`` and ``text`` only when given. ``code`` is a plain
        int, so the body compares and encodes like one decoded from the wire.
    """
    assert isinstance(code, int) and not isinstance(code, bool), code
    body: dict[str, Any] = {"type": "error"}
    if in_reply_to is not None:
        body["in_reply_to"] = in_reply_to
    body["code"] = int(code)
    if text is not None:
        body["text"] = text
    return body


@dataclass(frozen=True, slots=True)
class Message:
    """One Maelstrom message: the envelope plus its free-form body.

    The dataclass is frozen but ``body`` is a plain dict: treat it as
    read-only, and build a new message rather than editing one. Messages are
    not hashable (the body is a dict).

    Attributes:
        src: the sender's id (``"n1"``, ``"c3"``, ``"lin-kv"``...).
        dest: the receiver's id.
        body: the parsed body; always has a string ``"type"`` once decoded.
    """

    src: str
    dest: str
    body: dict[str, Any]

    @property
    def type(self) -> str:
        """The body's ``type``, e.g. ``"read"`` or ``"init_ok"``."""
        value: str = self.body["type"]
        return value

    @property
    def msg_id(self) -> int | None:
        """The body's ``msg_id``, or None when the message has none."""
        value: int | None = self.body.get("msg_id")
        return value

    @property
    def in_reply_to(self) -> int | None:
        """The body's ``in_reply_to``, or None when this is not a reply."""
        value: int | None = self.body.get("in_reply_to")
        return value

    def reply(self, body: dict[str, Any]) -> Message:
        """Build the response to this message.

        Args:
            body: the response body (must have a ``type``). It is copied, not
                modified.

        Returns:
            A message from ``self.dest`` to ``self.src`` whose body is
            ``body`` with ``in_reply_to`` set to this message's ``msg_id``.

        Raises:
            ValueError: this message has no ``msg_id``, so nothing can be
                matched with a reply.
        """
        if self.msg_id is None:
            raise ValueError(f"cannot reply to a {self.body.get('type')!r} message without msg_id")
        return Message(src=self.dest, dest=self.src, body={**body, "in_reply_to": self.msg_id})

    def error_reply(self, code: int, text: str | None = None) -> Message:
        """Build an error response to this message.

        Args:
            code: an `ErrorCode` or a custom code.
            text: optional human-readable detail.

        Returns:
            ``self.reply(error_body(code, text))``.

        Raises:
            ValueError: this message has no ``msg_id``.
        """
        return self.reply(error_body(code, text))


# A message is built for every line read and every message sent: its constructor sets the three
# slots through their descriptors, about twice as fast as the generated frozen ``__init__``
# (which goes through ``object.__setattr__`` by name). Assigning an attribute later still raises
# FrozenInstanceError.
_set_src = Message.src.__set__  # type: ignore[attr-defined]
_set_dest = Message.dest.__set__  # type: ignore[attr-defined]
_set_body = Message.body.__set__  # type: ignore[attr-defined]


def _message_init(self: Message, src: str, dest: str, body: dict[str, Any]) -> None:
    _set_src(self, src)
    _set_dest(self, dest)
    _set_body(self, body)


Message.__init__ = _message_init  # type: ignore[method-assign]


class MalformedMessage(ProtocolError):
    """A line that is not a valid Maelstrom message.

    Attributes:
        text: the human-readable reason (also ``str(exc)``).
        src: the line's ``src`` when it was a string, else None.
        dest: the line's ``dest`` when it was a string, else None.
        msg_id: the body's ``msg_id`` when it was a valid integer, else None.
        error_reply: a ready ``malformed-request`` (code 12) reply when
            ``src``, ``dest`` and ``msg_id`` are all known, else None. Its
            encoded bytes are also in ``reply`` (the `ProtocolError` field).
    """

    def __init__(
        self,
        message: str,
        *,
        src: str | None = None,
        dest: str | None = None,
        msg_id: int | None = None,
    ) -> None:
        self.text = message
        self.src = src
        self.dest = dest
        self.msg_id = msg_id
        self.error_reply: Message | None = self.reply_from(dest) if dest is not None else None
        super().__init__(message, encode(self.error_reply) if self.error_reply is not None else None)

    def reply_from(self, node_id: str) -> Message | None:
        """Build the ``malformed-request`` reply as sent by ``node_id``.

        Useful when the line's ``dest`` was missing or bad but the node knows
        its own id.

        Args:
            node_id: the answering node's id.

        Returns:
            The error reply, or None when the sender or its ``msg_id`` is
            unknown (the client could not match an answer anyway).
        """
        if self.src is None or self.msg_id is None:
            return None
        body = error_body(ErrorCode.MALFORMED_REQUEST, self.text, self.msg_id)
        return Message(src=node_id, dest=self.src, body=body)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def decode_obj(obj: object) -> Message:
    """Validate an already-parsed JSON value as a Maelstrom message.

    Args:
        obj: the result of parsing one line.

    Returns:
        The message. Unknown top-level keys (such as Maelstrom's ``"id"``)
        are dropped.

    Raises:
        MalformedMessage: the envelope or the body's reserved keys are wrong.
    """
    # The usual message, as a JSON parser builds it, in one pass of exact type
    # tests (``type(x) is int`` also refuses booleans); anything else, valid or
    # not, takes the full check below, which names what is wrong.
    if type(obj) is dict:
        src = obj.get("src")
        dest = obj.get("dest")
        body = obj.get("body")
        if type(src) is str and type(dest) is str and type(body) is dict \
                and type(body.get("type")) is str \
                and type(body.get("msg_id", 0)) is int and type(body.get("in_reply_to", 0)) is int:
            return Message(src=src, dest=dest, body=body)
    return _decode_checked(obj)


def _decode_checked(obj: object) -> Message:
    """`decode_obj` for whatever is not the usual message: each check with its own error."""
    if not isinstance(obj, dict):
        raise MalformedMessage(f"message must be a JSON object, not {_json_type(obj)}")
    src = obj.get("src")
    dest = obj.get("dest")
    body = obj.get("body")
    known_msg_id = body.get("msg_id") if isinstance(body, dict) else None

    def fail(text: str) -> MalformedMessage:
        return MalformedMessage(
            text,
            src=src if isinstance(src, str) else None,
            dest=dest if isinstance(dest, str) else None,
            msg_id=known_msg_id if _is_int(known_msg_id) else None,
        )

    for key, value in (("src", src), ("dest", dest)):
        if key not in obj:
            raise fail(f"message has no {key!r}")
        if not isinstance(value, str):
            raise fail(f"{key!r} must be a string, not {_json_type(value)}")
    if "body" not in obj:
        raise fail("message has no 'body'")
    if not isinstance(body, dict):
        raise fail(f"'body' must be a JSON object, not {_json_type(body)}")
    if "type" not in body:
        raise fail("body has no 'type'")
    if not isinstance(body["type"], str):
        raise fail(f"body 'type' must be a string, not {_json_type(body['type'])}")
    for key in ("msg_id", "in_reply_to"):
        if key in body and not _is_int(body[key]):
            raise fail(f"body {key!r} must be an integer, not {_json_type(body[key])}")
    assert isinstance(src, str) and isinstance(dest, str)
    return Message(src=src, dest=dest, body=body)


def decode_line(line: bytes | str, *, max_bytes: int = LINE_BYTES_MAX) -> Message:
    """Parse one line of Maelstrom JSON.

    Args:
        line: one line, with or without its trailing newline.
        max_bytes: reject longer lines (length in bytes, or in characters
            for a str).

    Returns:
        The decoded message.

    Raises:
        MalformedMessage: the line is too long, is not JSON, or is not a valid
            message (see `decode_obj`).
    """
    if len(line) > max_bytes:
        raise MalformedMessage(f"line is {len(line)} long, over the limit of {max_bytes}")
    try:
        obj = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        raise MalformedMessage(f"line is not valid JSON: {exc}") from exc
    return decode_obj(obj)


def encode(msg: Message) -> bytes:
    """Serialise a message as one newline-terminated line.

    Args:
        msg: the message; its body must hold only JSON values (dict keys
            are strings, ints fit in 64 bits).

    Returns:
        UTF-8 JSON ``{"src":...,"dest":...,"body":...}`` followed by exactly
        one ``\\n``; no other raw newline appears.

    Raises:
        TypeError: the body holds something JSON cannot represent
            (``orjson.JSONEncodeError`` is a TypeError).
    """
    assert isinstance(msg.src, str) and isinstance(msg.dest, str), msg
    return orjson.dumps(
        {"src": msg.src, "dest": msg.dest, "body": msg.body},
        option=orjson.OPT_APPEND_NEWLINE,
    )


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a float"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__
