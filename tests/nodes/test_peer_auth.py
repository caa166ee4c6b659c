"""The pure half of the peer transport: config validation, --peers parsing, the handshake, backoff."""

from __future__ import annotations

import random

import orjson
import pytest

from nodes.peer_auth import (
    HANDSHAKE_LINE_BYTES_MAX,
    NONCE_BYTES,
    Handshake,
    HandshakeError,
    PeerConfig,
    PeerConfigError,
    Role,
    UnknownPeer,
    WrongSecret,
    backoff_delay_s,
    is_loopback,
    parse_peers,
    proof,
    validate,
)

SECRET = b"cluster secret"
NONCE_D = bytes(range(NONCE_BYTES))
NONCE_A = bytes(range(100, 100 + NONCE_BYTES))


def pair(dialer_secret: bytes | None = SECRET, acceptor_secret: bytes | None = SECRET,
         dialer_id: str = "n1", acceptor_known: frozenset[str] = frozenset({"n1", "n3"}),
         ) -> tuple[Handshake, Handshake]:
    dialer = Handshake(role=Role.DIALER, node_id=dialer_id, secret=dialer_secret, nonce=NONCE_D,
                       known_peers=frozenset({"n2"}), expected_peer="n2")
    acceptor = Handshake(role=Role.ACCEPTOR, node_id="n2", secret=acceptor_secret, nonce=NONCE_A,
                         known_peers=acceptor_known)
    return dialer, acceptor


def run(dialer: Handshake, acceptor: Handshake) -> list[bytes]:
    """Deliver each side's lines to the other until both are done; return every line sent."""
    wire: list[bytes] = []
    to_acceptor, to_dialer = [dialer.start()], [acceptor.start()]
    while to_acceptor or to_dialer:
        if to_acceptor:
            line = to_acceptor.pop(0)
            wire.append(line)
            answer = acceptor.receive(line)
            if answer:
                to_dialer.append(answer)
        if to_dialer:
            line = to_dialer.pop(0)
            wire.append(line)
            answer = dialer.receive(line)
            if answer:
                to_acceptor.append(answer)
    return wire


def test_handshake_with_the_same_secret_authenticates_both_ids() -> None:
    dialer, acceptor = pair()
    wire = run(dialer, acceptor)
    assert dialer.done and acceptor.done
    assert (dialer.peer_id, acceptor.peer_id) == ("n2", "n1")
    assert all(SECRET not in line and SECRET.hex().encode() not in line for line in wire)
    assert all(len(line) <= HANDSHAKE_LINE_BYTES_MAX and line.endswith(b"\n") for line in wire)


@pytest.mark.parametrize("dialer_secret, acceptor_secret",
                         [(b"other", SECRET), (SECRET, b"other"), (None, SECRET)])
def test_a_wrong_or_missing_secret_is_refused_by_the_side_that_holds_a_secret(
        dialer_secret: bytes | None, acceptor_secret: bytes | None) -> None:
    dialer, acceptor = pair(dialer_secret, acceptor_secret)
    with pytest.raises(WrongSecret, match="wrong cluster secret"):
        run(dialer, acceptor)


def test_without_secrets_ids_are_still_exchanged_and_checked() -> None:
    dialer, acceptor = pair(None, None)
    run(dialer, acceptor)
    assert (dialer.peer_id, acceptor.peer_id) == ("n2", "n1")
    dialer, acceptor = pair(None, None, dialer_id="n9")
    with pytest.raises(UnknownPeer, match="unknown node id 'n9'"):
        run(dialer, acceptor)


def test_the_dialer_refuses_a_node_other_than_the_one_it_dialled() -> None:
    dialer = Handshake(role=Role.DIALER, node_id="n1", secret=None, nonce=NONCE_D,
                       known_peers=frozenset({"n2", "n3"}), expected_peer="n3")
    with pytest.raises(UnknownPeer, match="dialled n3 but node 'n2' answered"):
        dialer.receive(orjson.dumps({"type": "hello", "node_id": "n2", "nonce": NONCE_A.hex()}))


def test_an_acceptor_refuses_a_peer_that_should_not_dial_it() -> None:
    acceptor = Handshake(role=Role.ACCEPTOR, node_id="n2", secret=None, nonce=NONCE_A,
                         known_peers=frozenset({"n1", "n3"}), dialled_by=frozenset({"n1"}))
    with pytest.raises(UnknownPeer, match="smaller id dials"):
        acceptor.receive(orjson.dumps({"type": "hello", "node_id": "n3", "nonce": NONCE_D.hex()}))


def test_a_reflected_proof_fails() -> None:
    """The acceptor's own proof sent back to it, as if from the dialer, does not pass."""
    _, acceptor = pair()
    proof_line = acceptor.receive(orjson.dumps({"type": "hello", "node_id": "n1", "nonce": NONCE_D.hex()}))
    with pytest.raises(WrongSecret):
        acceptor.receive(proof_line)


def test_proofs_differ_by_role_and_by_every_input() -> None:
    base = proof(SECRET, Role.DIALER, "n1", NONCE_D, "n2", NONCE_A)
    assert len(base) == 32
    variants = [proof(SECRET, Role.ACCEPTOR, "n1", NONCE_D, "n2", NONCE_A),
                proof(b"x", Role.DIALER, "n1", NONCE_D, "n2", NONCE_A),
                proof(SECRET, Role.DIALER, "n1", NONCE_A, "n2", NONCE_D),
                proof(SECRET, Role.DIALER, "n2", NONCE_D, "n1", NONCE_A),
                proof(SECRET, Role.DIALER, "n1" + "x", NONCE_D, "n2", NONCE_A)]
    assert base not in variants and len(set(variants)) == len(variants)


@pytest.mark.parametrize("line, match", [
    (b"garbage", "not JSON"),
    (b'{"type": "proof", "proof": ""}', "expected a 'hello'"),
    (b'{"type": "hello", "node_id": "n1"}', "nonce"),
    (b'{"type": "hello", "node_id": "n1", "nonce": "zz"}', "nonce"),
    (b'{"type": "hello", "node_id": 7, "nonce": "00"}', "node_id"),
    (b"x" * (HANDSHAKE_LINE_BYTES_MAX + 1), "over"),
])
def test_bad_hello_lines_are_handshake_errors(line: bytes, match: str) -> None:
    _, acceptor = pair()
    with pytest.raises(HandshakeError, match=match):
        acceptor.receive(line)


def test_a_hello_that_repeats_our_nonce_is_refused() -> None:
    _, acceptor = pair()
    with pytest.raises(HandshakeError, match="our own nonce"):
        acceptor.receive(orjson.dumps({"type": "hello", "node_id": "n1", "nonce": NONCE_A.hex()}))


def test_validate_refuses_listening_beyond_loopback_without_a_secret() -> None:
    for host in ("0.0.0.0", "::", "", "10.0.0.5", "gyre.example"):
        with pytest.raises(PeerConfigError, match="without a cluster secret"):
            validate(PeerConfig("n1", listen_host=host))
        validate(PeerConfig("n1", listen_host=host, secret=SECRET))
    for host in ("127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost"):
        assert is_loopback(host)
        validate(PeerConfig("n1", listen_host=host))


@pytest.mark.parametrize("config, match", [
    (PeerConfig(""), "node id is empty"),
    (PeerConfig("n1", secret=b""), "secret is empty"),
    (PeerConfig("n1", peers={"n1": ("127.0.0.1", 1)}), "own peers"),
    (PeerConfig("n1", peers={"n2": ("127.0.0.1", 0)}), "bad address"),
    (PeerConfig("n1", listen_port=70000), "0..65535"),
    (PeerConfig("n1", queue_messages_max=0), "queue_messages_max"),
    (PeerConfig("n1", heartbeat_interval_s=0), "heartbeat_interval_s"),
    (PeerConfig("n1", backoff_min_s=2, backoff_max_s=1), "backoff_min_s"),
    (PeerConfig("n1", heartbeat_interval_s=2, dead_after_s=1), "dead_after_s"),
])
def test_validate_refuses_unusable_configs(config: PeerConfig, match: str) -> None:
    with pytest.raises(PeerConfigError, match=match):
        validate(config)


def test_parse_peers() -> None:
    assert parse_peers("n2=127.0.0.1:17002, n3=[::1]:17003,n4=db.local:1") == {
        "n2": ("127.0.0.1", 17002), "n3": ("::1", 17003), "n4": ("db.local", 1)}


@pytest.mark.parametrize("text, match", [
    ("", "empty"), ("n2=127.0.0.1:1,", "empty item"), ("127.0.0.1:17002", "not id=host:port"),
    ("=127.0.0.1:1", "not id=host:port"), ("n2=127.0.0.1", "no host:port"), ("n2=:17002", "no host:port"),
    ("n2=127.0.0.1:x", "bad port"), ("n2=127.0.0.1:0", "bad port"), ("n2=127.0.0.1:65536", "bad port"),
    ("n2=::1:5", "brackets"), ("n2=[::1:5", "bracketed"),
    ("n2=127.0.0.1:1,n2=127.0.0.1:2", "listed twice"),
])
def test_parse_peers_errors_say_what_is_wrong(text: str, match: str) -> None:
    with pytest.raises(PeerConfigError, match=match):
        parse_peers(text)


def test_backoff_doubles_to_the_cap_with_jitter_from_the_given_rng() -> None:
    rng = random.Random(7)
    delays = [backoff_delay_s(attempt, 0.1, 1.0, rng) for attempt in range(8)]
    for attempt, delay in enumerate(delays):
        ceiling = min(1.0, 0.1 * 2 ** attempt)
        assert ceiling / 2 <= delay <= ceiling
    assert delays == [backoff_delay_s(a, 0.1, 1.0, r) for r in [random.Random(7)] for a in range(8)]
    assert backoff_delay_s(10_000, 0.1, 1.0, rng) <= 1.0
