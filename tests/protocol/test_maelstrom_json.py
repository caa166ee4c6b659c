"""Tests for protocol.maelstrom_json: envelope decoding, encoding and error codes."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocol.errors import ProtocolError
from protocol.maelstrom_json import (
    ErrorCode,
    MalformedMessage,
    Message,
    code_is_definite,
    decode_line,
    decode_obj,
    encode,
    error_body,
    error_name,
)

INT64_MIN = -(2**63)
UINT64_MAX = 2**64 - 1

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=INT64_MIN, max_value=UINT64_MAX)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)
ids = st.text(min_size=1, max_size=8)
msg_ids = st.integers(min_value=0, max_value=2**53)


@st.composite
def messages(draw: st.DrawFn) -> Message:
    reserved = {"type", "msg_id", "in_reply_to"}
    extra = draw(st.dictionaries(st.text().filter(lambda k: k not in reserved), json_values, max_size=5))
    body: dict[str, Any] = {"type": draw(st.text()), **extra}
    if draw(st.booleans()):
        body["msg_id"] = draw(msg_ids)
    if draw(st.booleans()):
        body["in_reply_to"] = draw(msg_ids)
    return Message(src=draw(ids), dest=draw(ids), body=body)


def line(obj: object) -> bytes:
    return orjson.dumps(obj)


# --- decoding valid lines ----------------------------------------------------


def test_decode_init() -> None:
    msg = decode_line(
        b'{"id":0,"src":"c0","dest":"n1","body":{"type":"init","msg_id":1,'
        b'"node_id":"n1","node_ids":["n1","n2"]}}\n'
    )
    assert msg == Message("c0", "n1", {"type": "init", "msg_id": 1, "node_id": "n1", "node_ids": ["n1", "n2"]})
    assert msg.type == "init"
    assert msg.msg_id == 1
    assert msg.in_reply_to is None


def test_decode_accepts_str_and_crlf() -> None:
    msg = decode_line('{"src":"n1","dest":"n2","body":{"type":"x","in_reply_to":7}}\r\n')
    assert msg.in_reply_to == 7
    assert msg.msg_id is None


def test_unknown_top_level_keys_are_ignored() -> None:
    msg = decode_line(line({"id": 42, "src": "c1", "dest": "n1", "extra": [1, 2], "body": {"type": "read"}}))
    assert msg == Message("c1", "n1", {"type": "read"})


def test_body_extra_keys_are_kept() -> None:
    body = {"type": "cas", "msg_id": 3, "key": 0, "from": 1, "to": None, "nested": {"a": [1.5]}}
    assert decode_line(line({"src": "c1", "dest": "n1", "body": body})).body == body


# --- decoding malformed lines --------------------------------------------------

MALFORMED: list[tuple[str, bytes | str, str]] = [
    ("not json", b"hello", "not valid JSON"),
    ("empty line", b"", "not valid JSON"),
    ("truncated", b'{"src":"c1","dest":', "not valid JSON"),
    ("invalid utf-8", b'{"src":"\xff"}', "not valid JSON"),
    ("array", b"[1,2]", "JSON object"),
    ("string", b'"x"', "JSON object"),
    ("null", b"null", "JSON object"),
    ("missing src", line({"dest": "n1", "body": {"type": "x"}}), "no 'src'"),
    ("missing dest", line({"src": "c1", "body": {"type": "x"}}), "no 'dest'"),
    ("missing body", line({"src": "c1", "dest": "n1"}), "no 'body'"),
    ("missing type", line({"src": "c1", "dest": "n1", "body": {}}), "no 'type'"),
    ("int src", line({"src": 1, "dest": "n1", "body": {"type": "x"}}), "'src' must be a string"),
    ("null dest", line({"src": "c1", "dest": None, "body": {"type": "x"}}), "'dest' must be a string"),
    ("list body", line({"src": "c1", "dest": "n1", "body": [1]}), "'body' must be a JSON object"),
    ("string body", line({"src": "c1", "dest": "n1", "body": "x"}), "'body' must be a JSON object"),
    ("int type", line({"src": "c1", "dest": "n1", "body": {"type": 3}}), "'type' must be a string"),
    ("null type", line({"src": "c1", "dest": "n1", "body": {"type": None}}), "'type' must be a string"),
    ("float msg_id", line({"src": "c1", "dest": "n1", "body": {"type": "x", "msg_id": 3.0}}), "'msg_id' must be an integer"),
    ("bool msg_id", line({"src": "c1", "dest": "n1", "body": {"type": "x", "msg_id": True}}), "'msg_id' must be an integer"),
    ("string msg_id", line({"src": "c1", "dest": "n1", "body": {"type": "x", "msg_id": "1"}}), "'msg_id' must be an integer"),
    ("float in_reply_to", line({"src": "c1", "dest": "n1", "body": {"type": "x", "in_reply_to": 1.5}}), "'in_reply_to' must be an integer"),
    ("bool in_reply_to", line({"src": "c1", "dest": "n1", "body": {"type": "x", "in_reply_to": False}}), "'in_reply_to' must be an integer"),
    ("null in_reply_to", line({"src": "c1", "dest": "n1", "body": {"type": "x", "in_reply_to": None}}), "'in_reply_to' must be an integer"),
]


@pytest.mark.parametrize(("raw", "reason"), [(raw, reason) for _, raw, reason in MALFORMED], ids=[c[0] for c in MALFORMED])
def test_malformed_lines_raise(raw: bytes, reason: str) -> None:
    with pytest.raises(MalformedMessage, match=reason) as info:
        decode_line(raw)
    assert isinstance(info.value, ProtocolError)
    assert info.value.text == str(info.value)


def test_too_long_line_is_rejected() -> None:
    raw = line({"src": "c1", "dest": "n1", "body": {"type": "x"}})
    assert decode_line(raw, max_bytes=len(raw)).type == "x"
    with pytest.raises(MalformedMessage, match="over the limit"):
        decode_line(raw, max_bytes=len(raw) - 1)


def test_malformed_with_sender_and_msg_id_carries_error_reply() -> None:
    with pytest.raises(MalformedMessage) as info:
        decode_line(line({"id": 9, "src": "c4", "dest": "n2", "body": {"msg_id": 17, "type": 5}}))
    exc = info.value
    assert (exc.src, exc.dest, exc.msg_id) == ("c4", "n2", 17)
    assert exc.error_reply == Message(
        "n2", "c4", {"type": "error", "in_reply_to": 17, "code": 12, "text": exc.text}
    )
    assert exc.reply == encode(exc.error_reply)


def test_malformed_without_dest_can_be_answered_by_node_id() -> None:
    with pytest.raises(MalformedMessage) as info:
        decode_line(line({"src": "c4", "body": {"type": "read", "msg_id": 2}}))
    exc = info.value
    assert exc.error_reply is None and exc.reply is None
    answer = exc.reply_from("n1")
    assert answer is not None
    assert (answer.src, answer.dest, answer.in_reply_to) == ("n1", "c4", 2)
    assert answer.body["code"] == ErrorCode.MALFORMED_REQUEST


@pytest.mark.parametrize(
    "obj",
    [
        {"src": "c1", "dest": "n1", "body": {"type": "x", "msg_id": 1.0}},  # msg_id unusable
        {"dest": "n1", "body": {"type": 1, "msg_id": 1}},  # no sender
        {"src": 3, "dest": "n1", "body": {"type": 1, "msg_id": 1}},  # sender not a string
        {"src": "c1", "dest": "n1", "body": {"type": 1}},  # no msg_id
    ],
)
def test_malformed_without_answerable_context_has_no_reply(obj: dict[str, Any]) -> None:
    with pytest.raises(MalformedMessage) as info:
        decode_obj(obj)
    assert info.value.error_reply is None
    assert info.value.reply_from("n1") is None


# --- encoding ------------------------------------------------------------------


def test_encode_exact_bytes() -> None:
    msg = Message("n1", "c1", {"type": "echo_ok", "echo": "hi", "in_reply_to": 1})
    assert encode(msg) == b'{"src":"n1","dest":"c1","body":{"type":"echo_ok","echo":"hi","in_reply_to":1}}\n'


def test_encode_escapes_newlines() -> None:
    msg = Message("n1", "c1", {"type": "echo", "echo": "a\nb\r\n\n", "k\n": ["\n"]})
    out = encode(msg)
    assert out.endswith(b"\n") and not out.endswith(b"\n\n")
    assert out.count(b"\n") == 1
    assert decode_line(out) == msg


def test_encode_rejects_non_json_body() -> None:
    with pytest.raises(TypeError):
        encode(Message("n1", "c1", {"type": "x", "v": b"bytes"}))
    with pytest.raises(TypeError):
        encode(Message("n1", "c1", {"type": "x", "v": 2**64}))


@given(messages())
def test_round_trip(msg: Message) -> None:
    out = encode(msg)
    assert out.count(b"\n") == 1 and out.endswith(b"\n")
    back = decode_line(out)
    assert back == msg
    assert encode(back) == out


@given(messages(), st.dictionaries(st.text().filter(lambda k: k not in {"src", "dest", "body"}), json_values, max_size=3))
def test_round_trip_ignores_unknown_top_level_keys(msg: Message, extra: dict[str, Any]) -> None:
    obj = {**extra, "src": msg.src, "dest": msg.dest, "body": msg.body}
    assert decode_line(orjson.dumps(obj)) == msg


@given(json_values)
def test_arbitrary_json_never_raises_anything_but_malformed(value: Any) -> None:
    try:
        decode_line(orjson.dumps(value))
    except MalformedMessage:
        pass


# --- replies -------------------------------------------------------------------


def test_reply_swaps_and_sets_in_reply_to() -> None:
    req = Message("c3", "n1", {"type": "read", "msg_id": 5, "key": 1})
    body = {"type": "read_ok", "value": 4}
    rep = req.reply(body)
    assert rep == Message("n1", "c3", {"type": "read_ok", "value": 4, "in_reply_to": 5})
    assert body == {"type": "read_ok", "value": 4}  # not mutated


def test_reply_needs_msg_id() -> None:
    with pytest.raises(ValueError, match="without msg_id"):
        Message("n2", "n1", {"type": "gossip"}).reply({"type": "gossip_ok"})


def test_error_reply() -> None:
    req = Message("c3", "n1", {"type": "read", "msg_id": 5, "key": 1})
    rep = req.error_reply(ErrorCode.KEY_DOES_NOT_EXIST, "not found")
    assert rep.body == {"type": "error", "in_reply_to": 5, "code": 20, "text": "not found"}
    assert type(rep.body["code"]) is int


def test_message_is_frozen_and_slotted() -> None:
    msg = Message("a", "b", {"type": "x"})
    with pytest.raises(AttributeError):
        msg.src = "c"  # type: ignore[misc]
    assert not hasattr(msg, "__dict__")


# --- error codes -----------------------------------------------------------------

EXPECTED_CODES = {
    0: ("timeout", False),
    1: ("node-not-found", True),
    10: ("not-supported", True),
    11: ("temporarily-unavailable", True),
    12: ("malformed-request", True),
    13: ("crash", False),
    14: ("abort", True),
    20: ("key-does-not-exist", True),
    21: ("key-already-exists", True),
    22: ("precondition-failed", True),
    30: ("txn-conflict", True),
}


def test_error_code_table_matches_maelstrom() -> None:
    assert {int(c): (c.error_name, c.is_definite()) for c in ErrorCode} == EXPECTED_CODES
    for code, (name, definite) in EXPECTED_CODES.items():
        assert error_name(code) == name
        assert code_is_definite(code) is definite
        assert ErrorCode(code).definite is definite


@pytest.mark.parametrize("code", [2, 15, 99, 999, 1000, 1234, -1])
def test_unknown_codes_are_indefinite_and_unknown(code: int) -> None:
    assert error_name(code) == "unknown"
    assert code_is_definite(code) is False


def test_bool_is_not_an_error_code() -> None:
    assert error_name(True) == "unknown"
    assert code_is_definite(True) is False


def test_error_body() -> None:
    assert error_body(ErrorCode.ABORT) == {"type": "error", "code": 14}
    assert error_body(1001, "custom", in_reply_to=3) == {"type": "error", "in_reply_to": 3, "code": 1001, "text": "custom"}
