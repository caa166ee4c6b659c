"""The simulated network between clients, nodes and services: no I/O, no clock.

Strategy (maelstrom-spec.md section 7, Maelstrom ``net.clj``): in-flight
messages wait in one heap keyed by ``(deliver_at_ms, seq)``, ``seq`` unique,
so they leave it in the same order as from Maelstrom's per-destination
queues merged by deadline (one heap makes the next deadline a look at its
top instead of a scan of every destination's queue). `NetModel.send` stamps
a message with the next network-wide message id, draws its latency and
pushes it; a driver asks `NetModel.next_deadline_ms` when to wake up and
calls `NetModel.deliver_due` to pop everything whose deadline has passed, in
deadline order. The messages of a held destination wait apart until it is
released.

- Latency is 0 for any message to or from a client (an id starting with
  ``c``). Node↔node and node↔service latency is drawn from the configured
  distribution with mean ``latency_ms`` and truncated to whole milliseconds:
  ``constant`` is the mean, ``uniform`` an integer in ``[0, 2·mean)``,
  ``exponential`` has rate ``1/mean``. A mean of 0 gives 0 for all three
  (Maelstrom divides by zero there).
- Partitions are grudges: ``{dest: {srcs it drops}}``. They are checked when
  a message leaves its queue, as Maelstrom's delivery thread does, so a cut
  made while a message is in flight still drops it. A dropped message is
  journaled as a send but never as a receive. Grudges only ever name test
  nodes: clients and services are never partitioned.
- Our extensions: random loss and duplication, applied only to node↔node
  messages at send time. A duplicate is a second copy with the same message
  id and its own latency draw. `hold`/`release` stop and resume delivery to
  one destination (messages wait in its heap). `set_down` marks a node as
  crashed: what leaves its queue while it is down is dropped (journaled as
  ``drop`` with reason ``down``), as a dead process reads nothing.

All randomness comes from the injected ``random.Random``; time is the
``now_ms`` the caller passes. The deterministic simulator drives the same
object with virtual time; the trio runner with the real clock.
"""

from __future__ import annotations

import heapq
import math
import random
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

import orjson

from protocol.maelstrom_json import Message

LatencyDist = Literal["constant", "uniform", "exponential"]
LATENCY_DISTS: Final[tuple[str, ...]] = ("constant", "uniform", "exponential")

#: The journal callback receives one event as its ``messages.jsonl`` line: a JSON
#: object ``{"time" (ns), "event", "id", "src", "dest", "body"[, "reason"]}`` and a
#: newline (see `journal_line`).
Journal = Callable[[bytes], None]
Grudge = Mapping[str, frozenset[str]]


def envelope_json(msg: Message) -> bytes:
    """``{"src":...,"dest":...,"body":...}`` (anything JSON cannot hold becomes its repr)."""
    return orjson.dumps({"src": msg.src, "dest": msg.dest, "body": msg.body},
                        option=orjson.OPT_NON_STR_KEYS, default=repr)


def journal_line(event: str, env: Envelope, now_ms: float, reason: str | None = None) -> bytes:
    """One ``messages.jsonl`` line: the event, then the envelope's JSON spliced in as it is.

    A message is encoded once however many events it has (send, recv, drop...).
    """
    json = env.json if env.json is not None else envelope_json(env.msg)[1:-1]
    if reason is None:
        return b'{"time":%d,"event":"%b","id":%d,%b}\n' % (int(now_ms * 1e6), event.encode(), env.id, json)
    return b'{"time":%d,"event":"%b","id":%d,%b,"reason":"%b"}\n' % (
        int(now_ms * 1e6), event.encode(), env.id, json, reason.encode())


def is_client(node_id: str) -> bool:
    """Maelstrom's ``client?``: any id whose first character is ``c``."""
    return node_id.startswith("c")


@dataclass(frozen=True, slots=True)
class NetConfig:
    """Every knob of the network, fixed for a run.

    Attributes:
        latency_ms: Mean node↔node latency in ms (``--latency``).
        latency_dist: ``constant``, ``uniform`` or ``exponential``.
        loss_rate: Probability that a node↔node message is dropped at send.
        duplicate_rate: Probability that a node↔node message is sent twice.
    """

    latency_ms: float = 0.0
    latency_dist: LatencyDist = "constant"
    loss_rate: float = 0.0
    duplicate_rate: float = 0.0

    def __post_init__(self) -> None:
        if self.latency_dist not in LATENCY_DISTS:
            raise ValueError(f"latency distribution must be one of {', '.join(LATENCY_DISTS)}, "
                             f"not {self.latency_dist!r}")
        if not (self.latency_ms >= 0 and math.isfinite(self.latency_ms)):
            raise ValueError(f"latency must be a finite number of ms >= 0, not {self.latency_ms!r}")
        for name in ("loss_rate", "duplicate_rate"):
            rate = getattr(self, name)
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"{name.replace('_', '-')} must be in [0, 1], not {rate!r}")


def draw_latency_ms(config: NetConfig, rng: random.Random) -> int:
    """One node↔node latency, in whole milliseconds."""
    mean = config.latency_ms
    if mean <= 0:
        return 0
    if config.latency_dist == "constant":
        return int(mean)
    if config.latency_dist == "uniform":
        return int(rng.uniform(0, 2 * mean))
    return int(rng.expovariate(1.0 / mean))


class Envelope:
    """A message in flight (treat as read-only; a plain slotted class, not a frozen
    dataclass, because one is built for every message sent and a frozen dataclass's
    constructor costs several times as much).

    Attributes:
        id: The network-wide message id (Maelstrom's top-level ``"id"``).
        msg: The message.
        sent_ms: When it was sent.
        deliver_at_ms: When it leaves its destination's queue.
        json: ``"src":...,"dest":...,"body":...`` as JSON without the braces, made once per
            message for the journal (None when there is no journal).
    """

    __slots__ = ("id", "msg", "sent_ms", "deliver_at_ms", "json")

    def __init__(self, id: int, msg: Message, sent_ms: float, deliver_at_ms: float,  # noqa: A002
                 json: bytes | None = None) -> None:
        self.id = id
        self.msg = msg
        self.sent_ms = sent_ms
        self.deliver_at_ms = deliver_at_ms
        self.json = json

    def __repr__(self) -> str:
        return (f"Envelope(id={self.id!r}, msg={self.msg!r}, sent_ms={self.sent_ms!r}, "
                f"deliver_at_ms={self.deliver_at_ms!r})")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Envelope):
            return NotImplemented
        return (self.id, self.msg, self.sent_ms, self.deliver_at_ms, self.json) == (
            other.id, other.msg, other.sent_ms, other.deliver_at_ms, other.json)

    __hash__ = None  # type: ignore[assignment]  # equal by value, like the message it holds

    def wire(self) -> dict[str, Any]:
        """The JSON object written to a node's stdin: envelope plus ``id``."""
        return {"id": self.id, "src": self.msg.src, "dest": self.msg.dest, "body": self.msg.body}


@dataclass(slots=True)
class LinkStats:
    """Counters for one class of traffic (``all``, ``clients`` or ``servers``).

    Every send takes a fresh message id (a duplicate shares its original's and is
    not a send), so the count of distinct ids is the send count.
    """

    send_count: int = 0
    recv_count: int = 0

    @property
    def msg_count(self) -> int:
        """How many distinct message ids were sent."""
        return self.send_count

    def as_dict(self) -> dict[str, int]:
        """Maelstrom's field names (``msg-count`` counts distinct message ids)."""
        return {"send-count": self.send_count, "recv-count": self.recv_count,
                "msg-count": self.msg_count}


class NetModel:
    """Per-destination heaps of in-flight messages, with partitions, loss and duplication.

    Args:
        config: The fixed knobs.
        rng: The run's random source (latency, loss and duplication draws).
        nodes: The test node ids (the only ids grudges, loss and duplication apply to).
        journal: Called with ``{"time", "event": "send"|"recv"|"drop"|"duplicate",
            "id", "src", "dest", "body"}`` (plus ``"reason"`` for a drop) for every
            event, if given; ``time`` is in integer nanoseconds. This is the
            ``messages.jsonl`` record as is, built once per event.
    """

    def __init__(self, config: NetConfig, rng: random.Random, nodes: Iterable[str],
                 journal: Journal | None = None) -> None:
        self.config = config
        self.rng = rng
        self.nodes: frozenset[str] = frozenset(nodes)
        self.journal = journal
        # In flight, as (deliver_at_ms, seq, envelope): a heap of everything
        # deliverable, and a list per held destination.
        self._heap: list[tuple[float, int, Envelope]] = []
        self._held: dict[str, list[tuple[float, int, Envelope]]] = {}
        self._registered: set[str] = set()
        self._down: set[str] = set()
        self._grudge: dict[str, frozenset[str]] = {}
        self._seq = 0
        self._next_id = 0
        self.loss_rate = config.loss_rate
        self.duplicate_rate = config.duplicate_rate
        # How a duplicated message gets its own copy (None: both envelopes share
        # one message). The simulator hands a delivered message to its node
        # as it is, so each copy on the wire must be a separate object.
        self.clone: Callable[[Message], Message] | None = None
        self.stats = {"all": LinkStats(), "clients": LinkStats(), "servers": LinkStats()}
        self._all, self._clients, self._servers = (self.stats[k] for k in ("all", "clients", "servers"))

    # -- membership -----------------------------------------------------------

    def register(self, node_id: str) -> None:
        """Make ``node_id`` a valid source and destination."""
        self._registered.add(node_id)

    def unregister(self, node_id: str) -> list[Envelope]:
        """Remove ``node_id`` (a closed client); returns what was still queued for it."""
        self._registered.discard(node_id)
        gone = sorted(self._take(lambda env: env.msg.dest == node_id))
        gone += self._held.pop(node_id, [])
        return [e for _, _, e in gone]

    def is_registered(self, node_id: str) -> bool:
        """Whether ``node_id`` may send and receive right now."""
        return node_id in self._registered

    # -- faults -----------------------------------------------------------------

    @property
    def grudge(self) -> dict[str, frozenset[str]]:
        """The current grudges: ``{dest: srcs whose messages it drops}``."""
        return dict(self._grudge)

    def partition(self, grudge: Grudge) -> None:
        """Replace the grudges (only test nodes are kept on either side)."""
        self._grudge = {dest: frozenset(s for s in srcs if s in self.nodes)
                        for dest, srcs in grudge.items() if dest in self.nodes}

    def heal(self) -> None:
        """Drop every grudge."""
        self._grudge = {}

    def set_flaky(self, loss_rate: float | None = None, duplicate_rate: float | None = None) -> None:
        """Change the node↔node loss and duplication rates (None keeps one as is)."""
        if loss_rate is not None:
            assert 0.0 <= loss_rate <= 1.0, loss_rate
            self.loss_rate = loss_rate
        if duplicate_rate is not None:
            assert 0.0 <= duplicate_rate <= 1.0, duplicate_rate
            self.duplicate_rate = duplicate_rate

    def hold(self, dest: str) -> None:
        """Stop delivering to ``dest``; its messages wait apart until `release`."""
        if dest not in self._held:
            self._held[dest] = self._take(lambda env: env.msg.dest == dest)

    def release(self, dest: str) -> None:
        """Resume delivery to ``dest``."""
        waiting = self._held.pop(dest, None)
        if waiting:
            self._heap += waiting
            heapq.heapify(self._heap)

    def set_down(self, node_id: str, down: bool) -> None:
        """Mark ``node_id`` as crashed (its messages are dropped on delivery) or up again."""
        if down:
            self._down.add(node_id)
        else:
            self._down.discard(node_id)

    # -- traffic -----------------------------------------------------------------

    def latency_ms(self, src: str, dest: str) -> int:
        """Draw the latency of one message (0 when a client is involved)."""
        if src[:1] == "c" or dest[:1] == "c":  # is_client, inlined: this runs for every message
            return 0
        return draw_latency_ms(self.config, self.rng)

    def _log(self, event: str, env: Envelope, now_ms: float, reason: str | None = None) -> None:
        journal = self.journal
        if journal is not None:
            journal(journal_line(event, env, now_ms, reason))

    # `send` and `deliver_due` run for every message: each does its work in one frame (the
    # journal line, the counters and the latency draw are inlined), in the order the
    # separate steps had, so the journal and every RNG draw are unchanged.

    def send(self, msg: Message, now_ms: float, wire: bytes | None = None) -> Envelope:
        """Put a message on the wire.

        Args:
            msg: The message; its ``src`` and ``dest`` must be registered.
            now_ms: The current time.
            wire: ``msg`` as the JSON object ``{"src":...,"dest":...,"body":...}``
                when the caller has it already (a node's stdout line), so the
                journal does not encode it again.

        Returns:
            The envelope (with its id), even when loss dropped it.

        Raises:
            KeyError: ``src`` or ``dest`` is not registered (the caller
                diagnoses; Maelstrom asserts here).
        """
        src = msg.src
        dest = msg.dest
        registered = self._registered
        if src not in registered or dest not in registered:
            for role, who in (("source", src), ("destination", dest)):
                if who not in registered:
                    raise KeyError(f"unknown {role} {who!r}")
        journal = self.journal
        json = None
        if journal is not None:
            if wire is not None and wire[:1] == b"{" and wire[-2:] == b"}\n":  # `encode`'s line
                json = wire[1:-2]
            else:
                json = (wire if wire is not None else envelope_json(msg)).strip()[1:-1]
        msg_id = self._next_id
        self._next_id = msg_id + 1
        client = src[:1] == "c" or dest[:1] == "c"  # is_client, inlined
        # `_push`, inlined
        if client:
            at = now_ms
        else:
            config = self.config
            mean = config.latency_ms
            if mean <= 0:
                at = now_ms
            elif config.latency_dist == "constant":
                at = now_ms + int(mean)
            else:
                at = now_ms + draw_latency_ms(config, self.rng)
        env = Envelope(msg_id, msg, now_ms, at, json)
        seq = self._seq
        self._seq = seq + 1
        held = self._held.get(dest) if self._held else None
        if held is None:
            heapq.heappush(self._heap, (at, seq, env))
        else:
            held.append((at, seq, env))
        st = self._all
        st.send_count += 1
        st = self._clients if client else self._servers
        st.send_count += 1
        if journal is not None:
            journal(b'{"time":%d,"event":"send","id":%d,%b}\n' % (int(now_ms * 1e6), msg_id, json))
        if not client and src in self.nodes and dest in self.nodes:
            if self.loss_rate and self.rng.random() < self.loss_rate:
                self._remove(env)
                self._log("drop", env, now_ms, reason="loss")
                return env
            if self.duplicate_rate and self.rng.random() < self.duplicate_rate:
                dup = self._push(msg if self.clone is None else self.clone(msg), now_ms, env.id, json, client)
                self._log("duplicate", dup, now_ms)
        return env

    def _push(self, msg: Message, now_ms: float, msg_id: int, json: bytes | None, client: bool) -> Envelope:
        if client:
            at = now_ms
        else:
            config = self.config
            mean = config.latency_ms
            if mean <= 0:
                at = now_ms
            elif config.latency_dist == "constant":
                at = now_ms + int(mean)
            else:
                at = now_ms + draw_latency_ms(config, self.rng)
        env = Envelope(msg_id, msg, now_ms, at, json)
        seq = self._seq
        self._seq = seq + 1
        held = self._held.get(msg.dest) if self._held else None
        if held is None:
            heapq.heappush(self._heap, (at, seq, env))
        else:
            held.append((at, seq, env))
        return env

    def _remove(self, env: Envelope) -> None:
        held = self._held.get(env.msg.dest)
        if held is None:
            self._take(lambda e: e is env)
        else:
            held[:] = [item for item in held if item[2] is not env]

    def _take(self, which: Callable[[Envelope], bool]) -> list[tuple[float, int, Envelope]]:
        """Remove the deliverable messages ``which`` picks from the heap and return them."""
        taken = [item for item in self._heap if which(item[2])]
        if taken:
            self._heap = [item for item in self._heap if not which(item[2])]
            heapq.heapify(self._heap)
        return taken

    def next_deadline_ms(self) -> float | None:
        """The earliest deadline among deliverable messages, or None when idle."""
        return self._heap[0][0] if self._heap else None

    def in_flight(self) -> int:
        """How many messages are queued, held ones included."""
        return len(self._heap) + sum(len(q) for q in self._held.values())

    def deliver_due(self, now_ms: float) -> list[Envelope]:
        """Pop every message whose deadline is at or before ``now_ms``.

        Messages from a source the destination holds a grudge against are
        dropped here (journaled as ``drop``, not ``recv``).

        Returns:
            The delivered envelopes, in ``(deadline, seq)`` order.
        """
        heap = self._heap
        out: list[Envelope] = []
        if not heap or heap[0][0] > now_ms:
            return out
        due: list[Envelope] = []
        pop = heapq.heappop
        while heap and heap[0][0] <= now_ms:
            due.append(pop(heap)[2])
        down = self._down
        grudge = self._grudge
        journal = self.journal
        time_ns = int(now_ms * 1e6)
        st_all, st_clients, st_servers = self._all, self._clients, self._servers
        for env in due:
            msg = env.msg
            if grudge and msg.src in grudge.get(msg.dest, ()):
                self._log("drop", env, now_ms, reason="partition")
                continue
            if down and msg.dest in down:
                self._log("drop", env, now_ms, reason="down")
                continue
            st_all.recv_count += 1
            if msg.src[:1] == "c" or msg.dest[:1] == "c":  # is_client, inlined
                st_clients.recv_count += 1
            else:
                st_servers.recv_count += 1
            if journal is not None:
                json = env.json
                if json is None:
                    journal(journal_line("recv", env, now_ms))
                else:
                    journal(b'{"time":%d,"event":"recv","id":%d,%b}\n' % (time_ns, env.id, json))
            out.append(env)
        return out

    def stats_dict(self, invoke_count: int) -> dict[str, Any]:
        """Maelstrom's ``:net`` result: counts per traffic class and msgs-per-op.

        Args:
            invoke_count: Client invocations in the history.
        """
        res: dict[str, Any] = {}
        for name, st in self.stats.items():
            d: dict[str, Any] = st.as_dict()
            if name != "clients":
                d["msgs-per-op"] = (st.msg_count / invoke_count) if invoke_count else None
            res[name] = d
        res["valid"] = True
        return res
