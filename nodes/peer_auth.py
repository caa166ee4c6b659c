"""The pure half of the peer transport: configuration, the handshake, backoff. No I/O.

Strategy: everything `nodes.peers` decides that does not need a socket or a
clock lives here, so it is tested without either.

* `PeerConfig` is what a deployment says about its peers; `validate` refuses
  a configuration that could not work or would be unsafe, with a message a
  CLI prints as it is (`PeerConfigError`). The one safety rule: a node that
  listens for peers beyond loopback must have a cluster secret, because
  anyone who can reach the port could otherwise join the cluster.
  `parse_peers` reads the ``n2=127.0.0.1:17002,n3=[::1]:17003`` syntax.
* `Handshake` is the sans-I/O state machine each new connection runs before
  any Maelstrom message crosses it: a driver feeds it the lines it reads and
  writes the bytes it returns. Both sides are authenticated, with a mutual
  HMAC-SHA256 challenge-response:

  1. each side sends ``hello``: its node id and a fresh 32-byte nonce (the
     driver draws it from `secrets`);
  2. on the other's hello, each side sends ``proof`` =
     HMAC(secret, label(role), dialer id, dialer nonce, acceptor id,
     acceptor nonce), every field length-prefixed. The role label
     (``dialer``/``acceptor``) makes a proof useless in the other direction,
     so a proof reflected back to its maker fails; the fresh nonces make an
     old proof useless on a new connection;
  3. each side checks the other's proof with `hmac.compare_digest` and sends
     ``ok``; the link is up once the other's ``ok`` arrived.

  The secret never crosses the wire. Without a secret (allowed on loopback
  only) the proofs are empty and not checked, but ids are still exchanged
  and checked. The handshake authenticates who is at the far end when the
  connection opens; it neither encrypts nor signs the messages that follow,
  so an on-path attacker is out of its scope (use a private network or a
  tunnel). Handshake lines are short (`HANDSHAKE_LINE_BYTES_MAX`); the
  driver puts a deadline on the whole exchange.
* `backoff_delay_s` is the reconnect schedule: exponential from the minimum
  to the maximum, with "equal jitter" (a uniform draw from the upper half)
  from the `random.Random` the driver was given.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import ipaddress
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

import orjson

from protocol.errors import ProtocolError
from protocol.maelstrom_json import LINE_BYTES_MAX

__all__ = [
    "HANDSHAKE_LINE_BYTES_MAX",
    "NONCE_BYTES",
    "Handshake",
    "HandshakeError",
    "PeerConfig",
    "PeerConfigError",
    "Role",
    "UnknownPeer",
    "WrongSecret",
    "backoff_delay_s",
    "is_loopback",
    "parse_peers",
    "proof",
    "validate",
]

#: Longest handshake line, in bytes (ids and hex nonces and proofs fit easily).
HANDSHAKE_LINE_BYTES_MAX: Final[int] = 4096
#: Bytes of each side's nonce.
NONCE_BYTES: Final[int] = 32
#: Longest node id accepted in a hello, in characters.
NODE_ID_CHARS_MAX: Final[int] = 256
#: Tag of this handshake's version, bound into every proof.
PROTOCOL_TAG: Final[bytes] = b"gyre-peer-v1"


class PeerConfigError(ValueError):
    """A peer configuration that cannot be used; ``str(exc)`` is ready for a CLI."""


@dataclass(frozen=True, slots=True)
class PeerConfig:
    """How one node reaches its peers.

    Attributes:
        node_id: this node's id (``"n1"``).
        peers: every other node's id and its ``(host, port)``.
        listen_host: where this node listens for peers (loopback by default).
        listen_port: its port; 0 picks a free one.
        secret: the cluster secret shared by every node, or None (loopback only).
        queue_messages_max: messages kept per peer while its link is slow or
            down; past it the oldest is dropped (anti-entropy repairs).
        heartbeat_interval_s: a link that sent nothing this long sends a heartbeat.
        dead_after_s: a link that received nothing this long is closed (down).
        backoff_min_s: first reconnect delay.
        backoff_max_s: largest reconnect delay; a link that stayed up this
            long starts again from the minimum.
        handshake_timeout_s: deadline for connecting plus the whole handshake.
        line_bytes_max: longest message line accepted from a peer.
        handshakes_max: accepted connections allowed in their handshake at once;
            past it a new one is closed at once (so connections that never
            authenticate cost at most this many sockets, each for at most
            ``handshake_timeout_s``).
    """

    node_id: str
    peers: Mapping[str, tuple[str, int]] = field(default_factory=dict)
    listen_host: str = "127.0.0.1"
    listen_port: int = 0
    secret: bytes | None = None
    queue_messages_max: int = 10_000
    heartbeat_interval_s: float = 1.0
    dead_after_s: float = 5.0
    backoff_min_s: float = 0.1
    backoff_max_s: float = 5.0
    handshake_timeout_s: float = 5.0
    line_bytes_max: int = LINE_BYTES_MAX
    handshakes_max: int = 32


def is_loopback(host: str) -> bool:
    """Whether listening on ``host`` keeps the port on this machine.

    Args:
        host: an address or host name as given to bind.

    Returns:
        True for ``localhost`` and loopback addresses (127.0.0.0/8, ::1);
        False for anything else, including ``""``, ``0.0.0.0``, ``::`` and
        other host names (which may resolve anywhere).
    """
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def validate(config: PeerConfig) -> None:
    """Refuse a configuration that could not work or would be unsafe.

    Args:
        config: the configuration.

    Raises:
        PeerConfigError: listening beyond loopback without a secret, an empty
            secret, this node's id among its peers, a bad port, or a limit
            that is not positive (or a dead-after not above the heartbeat).
    """
    if not config.node_id:
        raise PeerConfigError("the node id is empty")
    if config.secret is not None and not config.secret:
        raise PeerConfigError("the cluster secret is empty")
    if config.secret is None and not is_loopback(config.listen_host):
        raise PeerConfigError(
            f"refusing to listen for peers on {config.listen_host} without a cluster secret: "
            "anyone who reaches that port could join; set a secret or listen on 127.0.0.1")
    if config.node_id in config.peers:
        raise PeerConfigError(f"node {config.node_id} is listed among its own peers")
    if not 0 <= config.listen_port <= 65535:
        raise PeerConfigError(f"peer port {config.listen_port} is not in 0..65535")
    for peer_id, (host, port) in config.peers.items():
        if not peer_id or not host or not 1 <= port <= 65535:
            raise PeerConfigError(f"peer {peer_id!r} has a bad address {host}:{port}")
    for name in ("queue_messages_max", "line_bytes_max", "handshakes_max"):
        if getattr(config, name) < 1:
            raise PeerConfigError(f"{name} must be at least 1, not {getattr(config, name)}")
    for name in ("heartbeat_interval_s", "dead_after_s", "backoff_min_s", "backoff_max_s",
                 "handshake_timeout_s"):
        if not getattr(config, name) > 0:
            raise PeerConfigError(f"{name} must be positive, not {getattr(config, name)}")
    if config.backoff_min_s > config.backoff_max_s:
        raise PeerConfigError(f"backoff_min_s ({config.backoff_min_s}) is above "
                              f"backoff_max_s ({config.backoff_max_s})")
    if config.dead_after_s <= config.heartbeat_interval_s:
        raise PeerConfigError(f"dead_after_s ({config.dead_after_s}) must be above "
                              f"heartbeat_interval_s ({config.heartbeat_interval_s}), "
                              "or an idle link would be declared dead")


def parse_peers(text: str) -> dict[str, tuple[str, int]]:
    """Parse ``n2=127.0.0.1:17002,n3=[::1]:17003``.

    Args:
        text: comma-separated ``id=host:port`` items; an IPv6 host is written
            in brackets.

    Returns:
        ``{"n2": ("127.0.0.1", 17002), "n3": ("::1", 17003)}``.

    Raises:
        PeerConfigError: an empty list or item, a missing ``=`` or ``:``, an
            empty id or host, a port that is not an integer in 1..65535, or an
            id given twice.
    """
    peers: dict[str, tuple[str, int]] = {}
    if not text.strip():
        raise PeerConfigError("the peer list is empty (expected id=host:port,...)")
    for item in text.split(","):
        item = item.strip()
        if not item:
            raise PeerConfigError(f"empty item in peer list {text!r}")
        peer_id, eq, address = item.partition("=")
        peer_id = peer_id.strip()
        if not eq or not peer_id:
            raise PeerConfigError(f"peer {item!r} is not id=host:port")
        host, colon, port_text = address.strip().rpartition(":")
        if not colon or not host:
            raise PeerConfigError(f"peer {item!r} has no host:port")
        if host.startswith("["):
            if not host.endswith("]") or len(host) < 3:
                raise PeerConfigError(f"peer {item!r} has a bad bracketed host")
            host = host[1:-1]
        elif ":" in host:
            raise PeerConfigError(f"peer {item!r}: write an IPv6 host in brackets, [::1]:port")
        if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
            raise PeerConfigError(f"peer {item!r} has a bad port {port_text!r} (1..65535)")
        if peer_id in peers:
            raise PeerConfigError(f"peer {peer_id} is listed twice")
        peers[peer_id] = (host, int(port_text))
    return peers


def backoff_delay_s(attempt: int, min_s: float, max_s: float, rng: random.Random) -> float:
    """How long to wait before reconnect attempt ``attempt`` (0 for the first retry).

    Args:
        attempt: failed attempts since the link was last up long enough.
        min_s: the base delay.
        max_s: the cap.
        rng: the driver's random source (jitter).

    Returns:
        A delay drawn uniformly from the upper half of
        ``min(max_s, min_s * 2**attempt)``.
    """
    ceiling = min(max_s, min_s * 2.0 ** min(attempt, 64))
    return rng.uniform(ceiling / 2, ceiling)


class Role(enum.Enum):
    """Which end of a connection a node is; bound into its proof."""

    DIALER = b"dialer"
    ACCEPTOR = b"acceptor"


class HandshakeError(ProtocolError):
    """A peer broke the handshake; the connection is closed."""


class WrongSecret(HandshakeError):
    """The peer's proof does not match: it does not hold our cluster secret."""


class UnknownPeer(HandshakeError):
    """The peer says it is a node we do not know (or not the one we dialled)."""


def _field(data: bytes) -> bytes:
    return len(data).to_bytes(4, "big") + data


def proof(secret: bytes, role: Role, dialer_id: str, dialer_nonce: bytes,
          acceptor_id: str, acceptor_nonce: bytes) -> bytes:
    """The HMAC-SHA256 by which the side in ``role`` proves it holds ``secret``.

    Args:
        secret: the cluster secret.
        role: the prover's role.
        dialer_id: the dialling node's id.
        dialer_nonce: the dialling node's nonce.
        acceptor_id: the accepting node's id.
        acceptor_nonce: the accepting node's nonce.

    Returns:
        32 bytes over the protocol tag, the role label and all four values,
        each length-prefixed so no two different inputs share a message.
    """
    message = b"".join(_field(x) for x in (PROTOCOL_TAG, role.value, dialer_id.encode(), dialer_nonce,
                                           acceptor_id.encode(), acceptor_nonce))
    return hmac.new(secret, message, hashlib.sha256).digest()


def _line(obj: dict[str, str]) -> bytes:
    return orjson.dumps(obj, option=orjson.OPT_APPEND_NEWLINE)


class _Step(enum.Enum):
    HELLO = "hello"
    PROOF = "proof"
    OK = "ok"
    DONE = "done"


class Handshake:
    """One side of the handshake of one connection (see the module's docstring).

    Usage: write `start()`'s bytes; for each line read, write what
    `receive(line)` returns; the link is up once ``done`` is True, with
    ``peer_id`` the authenticated id. Any `HandshakeError` means: log it
    and close.

    Args:
        role: which end this node is.
        node_id: this node's id.
        secret: the cluster secret, or None (no proofs checked).
        nonce: this side's fresh nonce (`NONCE_BYTES` from `secrets`).
        known_peers: the ids this node accepts.
        expected_peer: the id a dialer dialled (the acceptor passes None).
        dialled_by: for an acceptor, the known ids allowed to dial it (None: all).
    """

    def __init__(self, *, role: Role, node_id: str, secret: bytes | None, nonce: bytes,
                 known_peers: frozenset[str], expected_peer: str | None = None,
                 dialled_by: frozenset[str] | None = None) -> None:
        assert len(nonce) == NONCE_BYTES
        assert (expected_peer is not None) == (role is Role.DIALER)
        self.role = role
        self.node_id = node_id
        self.secret = secret
        self.nonce = nonce
        self.known_peers = known_peers
        self.expected_peer = expected_peer
        self.dialled_by = dialled_by
        self.peer_id: str | None = None
        self.peer_nonce = b""
        self._step = _Step.HELLO

    @property
    def done(self) -> bool:
        """Whether both sides proved themselves and acknowledged."""
        return self._step is _Step.DONE

    def start(self) -> bytes:
        """The hello line to send as soon as the connection is open."""
        return _line({"type": "hello", "node_id": self.node_id, "nonce": self.nonce.hex()})

    def _proof_for(self, role: Role) -> bytes:
        assert self.secret is not None and self.peer_id is not None
        mine = (self.node_id, self.nonce)
        theirs = (self.peer_id, self.peer_nonce)
        (d_id, d_nonce), (a_id, a_nonce) = (mine, theirs) if self.role is Role.DIALER else (theirs, mine)
        return proof(self.secret, role, d_id, d_nonce, a_id, a_nonce)

    def receive(self, line: bytes) -> bytes:
        """Take one line from the peer.

        Args:
            line: one line, with or without its newline.

        Returns:
            The bytes to send in answer (possibly empty).

        Raises:
            UnknownPeer: the hello names a node we do not know, ourselves, not
                the node we dialled, or one not allowed to dial us.
            WrongSecret: the proof does not match our secret.
            HandshakeError: anything else out of place (bad JSON, wrong type,
                a line after the handshake ended, an overlong line).
        """
        if len(line) > HANDSHAKE_LINE_BYTES_MAX:
            raise HandshakeError(f"handshake line over {HANDSHAKE_LINE_BYTES_MAX} bytes")
        try:
            obj = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            raise HandshakeError(f"handshake line is not JSON: {line[:80]!r}") from exc
        expected = self._step.value
        if not isinstance(obj, dict) or obj.get("type") != expected or self.done:
            raise HandshakeError(f"expected a {expected!r} handshake line, got {line[:80]!r}")
        if self._step is _Step.HELLO:
            return self._on_hello(obj)
        if self._step is _Step.PROOF:
            return self._on_proof(obj)
        self._step = _Step.DONE
        return b""

    def _on_hello(self, obj: dict[str, object]) -> bytes:
        peer_id, nonce_hex = obj.get("node_id"), obj.get("nonce")
        if not isinstance(peer_id, str) or not peer_id or len(peer_id) > NODE_ID_CHARS_MAX:
            raise HandshakeError("hello without a usable node_id")
        try:
            nonce = bytes.fromhex(nonce_hex) if isinstance(nonce_hex, str) else b""
        except ValueError:
            nonce = b""
        if len(nonce) != NONCE_BYTES:
            raise HandshakeError(f"hello from {peer_id!r} without a {NONCE_BYTES}-byte hex nonce")
        if peer_id not in self.known_peers:
            raise UnknownPeer(f"unknown node id {peer_id!r}")
        if self.expected_peer is not None and peer_id != self.expected_peer:
            raise UnknownPeer(f"dialled {self.expected_peer} but node {peer_id!r} answered")
        if self.dialled_by is not None and peer_id not in self.dialled_by:
            raise UnknownPeer(f"node {peer_id!r} dialled {self.node_id}, but of two nodes "
                              "only the one with the smaller id dials")
        if nonce == self.nonce:
            raise HandshakeError(f"hello from {peer_id!r} repeats our own nonce")
        self.peer_id, self.peer_nonce = peer_id, nonce
        self._step = _Step.PROOF
        mine = b"" if self.secret is None else self._proof_for(self.role)
        return _line({"type": "proof", "proof": mine.hex()})

    def _on_proof(self, obj: dict[str, object]) -> bytes:
        got_hex = obj.get("proof")
        if not isinstance(got_hex, str):
            raise HandshakeError("proof line without a proof")
        if self.secret is not None:
            if not got_hex:
                raise WrongSecret(f"wrong cluster secret: node {self.peer_id} sent no proof "
                                  "(has it no secret configured?)")
            other = Role.ACCEPTOR if self.role is Role.DIALER else Role.DIALER
            want = self._proof_for(other).hex()
            if not hmac.compare_digest(got_hex.encode(), want.encode()):
                raise WrongSecret(f"wrong cluster secret: node {self.peer_id}'s proof does not match")
        self._step = _Step.OK
        return _line({"type": "ok"})
