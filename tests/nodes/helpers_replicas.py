"""A replicated RESP server without sockets: an engine with open write deltas and its typed keyspace.

`Server` runs commands as a RESP client would, stamps a batch the way
`nodes.replica_serve.Replication.after_batch` does, and merges another
server's stamped batch after a JSON round trip, as it travels.
"""

from __future__ import annotations

from typing import Any

import orjson

from crdt.engine import Engine
from crdt.replication.images import Image, image_of
from crdt.replication.typed.local import image_of_key
from nodes.typed_keyspace import (
    Stamped,
    TypedKeyspace,
    entries_from_json,
    entries_to_json,
    marks_from_json,
    marks_to_json,
)

T0 = 1_000_000


def b(*args: Any) -> list[bytes]:
    return [a if isinstance(a, bytes) else str(a).encode() for a in args]


class Server:
    """An engine with open deltas, a client session and the replicated keyspace."""

    def __init__(self, node_id: str = "n0", keyspace: TypedKeyspace | None = None) -> None:
        if keyspace is None:
            keyspace = TypedKeyspace(Engine(now_ms=T0), T0)
            keyspace.start(node_id, f"{node_id}:1")
        self.ks = keyspace
        self.engine = keyspace.engine
        for db in self.engine.dbs:
            db.delta = []
        self.client = self.engine.open_session(T0, addr="client")

    def __call__(self, *argv: Any, now: int = T0) -> Any:
        """Run one command as the RESP client (not stamped yet)."""
        return self.engine.execute(b(*argv), self.client, now)

    def batch(self, *commands: tuple[Any, ...], now: int = T0) -> Stamped:
        """Run commands, then stamp what they wrote (`Replication.after_batch`)."""
        for argv in commands:
            self(*argv, now=now)
        return self.stamp(now)

    def stamp(self, now: int) -> Stamped:
        delta: dict[int, list[Any]] = {}
        for db in self.engine.dbs:
            if db.delta:
                delta[db.index] = db.delta
                db.delta = []
        stamped = self.ks.stamp(delta, now)
        self.check_agrees(now)
        return stamped

    def check_agrees(self, now: int) -> None:
        """Every key the engine holds reads the same through its CRDT (and no CRDT holds more)."""
        table = self.ks.table
        for db in self.engine.dbs:
            for key in list(db.keys()):
                value = db.peek(key)
                expire_at = db.expires.get(key)
                if expire_at is not None and now > expire_at:
                    continue
                state = table.get((db.index, key))
                assert state is not None, key
                assert image_of_key(state.crdt, now) == image_of(value, expire_at), key
            for ref in table.refs_of_db(db.index):
                state = table.get(ref)
                if image_of_key(state.crdt, now) is not None:  # type: ignore[union-attr]
                    assert db.peek(ref[1]) is not None, ref

    def images(self, stamped: Stamped) -> dict[tuple[int, bytes], Image | None]:
        """What each key a batch stamped holds now, as the key's CRDT reads it."""
        return {e.ref: image_of_key(self.ks.table.get(e.ref).crdt) for e in stamped.entries}  # type: ignore[union-attr]

    def live(self, db: int) -> list[tuple[int, bytes]]:
        """The refs of one database whose CRDT holds something."""
        return [ref for ref in self.ks.table.refs_of_db(db) if self.ks.table.get(ref).crdt.read() is not None]  # type: ignore[union-attr]

    def merge(self, stamped: Stamped, now: int = T0) -> None:
        """Merge another server's stamped batch, as it travels (JSON both ways)."""
        entries = entries_from_json(orjson.loads(orjson.dumps(entries_to_json(stamped.entries))))
        marks = marks_from_json(orjson.loads(orjson.dumps(marks_to_json(stamped.marks))))
        self.ks.merge(entries, now, marks)
        assert not any(db.delta for db in self.engine.dbs), "a merged write must not be stamped again"
        self.check_agrees(now)

    def state(self, now: int) -> dict[int, dict[bytes, tuple[Any, ...]]]:
        """Every live key of every database through commands: type, contents, absolute expiry."""
        session = self.engine.open_session(now, addr="probe")
        out: dict[int, dict[bytes, tuple[Any, ...]]] = {}

        def run(*argv: Any) -> Any:
            return self.engine.execute(b(*argv), session, now)

        for index in range(len(self.engine.dbs)):
            run("SELECT", index)
            keys = sorted(run("KEYS", "*"))
            saved = [db.delta for db in self.engine.dbs]
            db_state = {}
            for key in keys:
                kind = run("TYPE", key)
                kind = getattr(kind, "text", kind)
                contents = {b"string": ("GET", key), b"list": ("LRANGE", key, 0, -1), b"set": ("SMEMBERS", key),
                            b"hash": ("HGETALL", key), b"zset": ("ZRANGE", key, 0, -1, "WITHSCORES")}
                reply = run(*contents[bytes(kind)])
                if kind == b"set":
                    reply = sorted(map(bytes, reply))
                elif kind == b"hash":
                    pairs = reply.items() if isinstance(reply, dict) else zip(reply[::2], reply[1::2], strict=True)
                    reply = sorted((bytes(f), bytes(v)) for f, v in pairs)
                db_state[bytes(key)] = (bytes(kind), reply, run("PEXPIRETIME", key))
            for db, kept in zip(self.engine.dbs, saved, strict=True):
                db.delta = kept  # reads that expire keys lazily are not this test's writes
            if db_state:
                out[index] = db_state
        return out


