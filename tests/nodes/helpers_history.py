"""Record a read/write history of redis-py clients in the history.jsonl format `gyre check` reads.

Each worker thread is a process of the history (a number), bound to one
server; it GETs or SETs one of a few keys (integer values, every written
value unique) and records the invoke and the completion: ``ok``, ``fail``
(the server answered that nothing was applied: ``-TRYAGAIN``, or the
connection was refused so nothing was sent) or ``info`` (the outcome is
unknown: ``-TIMEOUT``, a connection lost mid-request, a read timeout).
After an ``info`` the worker continues as a new process, as Jepsen's
clients do. A worker waits while its server is marked down, so a killed
server costs a few ``info``s, not a storm of refused connections.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

KEYS = 3


class Recorder:
    """The history, shared by the workers; `wait_for_ops` lets the test pace a scenario on it."""

    def __init__(self) -> None:
        self.t0 = time.monotonic_ns()
        self.events: list[dict[str, Any]] = []
        self.completed = 0
        self.cond = threading.Condition()

    def add(self, event: dict[str, Any]) -> None:
        with self.cond:
            event = {"index": len(self.events), "time": time.monotonic_ns() - self.t0, **event}
            self.events.append(event)
            if event["type"] != "invoke":
                self.completed += 1
                self.cond.notify_all()

    def wait_for_ops(self, more: int, timeout_s: float = 30.0) -> None:
        """Wait until ``more`` operations completed after now (any outcome)."""
        with self.cond:
            target = self.completed + more
            if not self.cond.wait_for(lambda: self.completed >= target, timeout_s):
                raise AssertionError(f"only {self.completed} of {target} operations completed in {timeout_s} s")

    def write(self, path: Path) -> None:
        with self.cond:
            path.write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in self.events))

    def outcomes(self) -> dict[str, int]:
        with self.cond:
            out: dict[str, int] = {}
            for e in self.events:
                out[e["type"]] = out.get(e["type"], 0) + 1
            return out


def _client(port: int) -> redis.Redis:
    """A client that never retries on its own: redis-py's default retry re-sends a command
    after a lost connection, so a failed retry would hide that the first send arrived."""
    return redis.Redis(port=port, socket_timeout=5, socket_connect_timeout=2, retry=Retry(NoBackoff(), 0))


class Worker(threading.Thread):
    """One client thread (see module doc)."""

    def __init__(self, recorder: Recorder, process: int, stride: int, port: Callable[[], int],
                 up: threading.Event, stop: threading.Event, seed: int) -> None:
        super().__init__(daemon=True)
        self.recorder, self.process, self.stride = recorder, process, stride
        self.port, self.up, self.stop = port, up, stop
        self.rng = random.Random(seed)
        self.written = 0

    def run(self) -> None:
        port = self.port()
        client = _client(port)
        while not self.stop.is_set():
            if not self.up.wait(0.5):
                continue
            if self.port() != port:  # the server was restarted on another port
                client.close()
                port = self.port()
                client = _client(port)
            key = self.rng.randrange(KEYS)
            if self.rng.random() < 0.5:
                self.written += 1
                value = self.process * 1_000_000 + self.written
                self._op(client, "write", key, value, lambda k=key, v=value: client.set(str(k), v))
            else:
                self._op(client, "read", key, None, lambda k=key: client.get(str(k)))
        client.close()

    def _op(self, client: redis.Redis, f: str, key: int, value: Any, call: Any) -> None:
        rec = self.recorder
        rec.add({"process": self.process, "type": "invoke", "f": f, "key": key, "value": value})
        done: dict[str, Any] = {"process": self.process, "f": f, "key": key, "value": value}
        try:
            reply = call()
        except redis.exceptions.ResponseError as exc:
            text = str(exc)
            outcome = "fail" if text.startswith("TRYAGAIN") else "info"
            error = text.split()[0].lower()
        except redis.exceptions.TimeoutError:
            outcome, error = "info", "net-timeout"
        except redis.exceptions.ConnectionError as exc:
            never_sent = "connecting to" in str(exc).lower()  # the connect failed: nothing was sent
            outcome, error = ("fail" if never_sent else "info"), "net-timeout"
        else:
            if f == "read":
                done["value"] = None if reply is None else int(reply)
            rec.add({**done, "type": "ok"})
            return
        rec.add({**done, "type": outcome, "error": error})
        if outcome == "info":
            self.process += self.stride  # a crashed process never comes back (Jepsen's rule)
