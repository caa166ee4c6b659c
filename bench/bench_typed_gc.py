"""Metadata of the typed CRDTs over a long run: a hot set, a counter and a hash written on 3 replicas.

Three replicated keyspaces (`nodes.typed_keyspace.TypedKeyspace`, each with
its own engine) take 10^5 commands between them (SADD/SREM on one hot set
of 1,000 possible members, INCRBY on one counter, HSET/HDEL/HINCRBY on one
hash), in rounds; each round a partition may cut one replica off, holding
what it would have sent and received until the partition heals (every 5
rounds). After each round the replicas that hear each other exchange their
acknowledgements and run GC, as the anti-entropy round does.

Printed at checkpoints: live elements, live dots and causal-context entries
over every key, and metadata (dots + context entries) per live element,
with GC and, for contrast, without. Deterministic (seed 1).

    python -m bench.bench_typed_gc [--ops 100000]
"""

from __future__ import annotations

import argparse
import random
from typing import Any

from crdt.engine import Engine
from nodes.typed_keyspace import Stamped, TypedKeyspace

REPLICAS = ("n0", "n1", "n2")
OPS_PER_ROUND = 50


class Replica:
    def __init__(self, name: str) -> None:
        self.name = name
        self.ks = TypedKeyspace(Engine(now_ms=0), 0)
        self.ks.start(name, f"{name}:1")
        for db in self.ks.engine.dbs:
            db.delta = []
        self.session = self.ks.engine.open_session(0, addr="bench")

    def run(self, argv: list[bytes], now: int) -> None:
        self.ks.engine.execute(argv, self.session, now)

    def stamp(self, now: int) -> Stamped:
        delta = {db.index: db.delta for db in self.ks.engine.dbs if db.delta}
        for db in self.ks.engine.dbs:
            db.delta = []
        return self.ks.stamp(delta, now)


def command(rng: random.Random) -> list[bytes]:
    r = rng.random()
    member = b"m%d" % rng.randrange(1000)
    if r < 0.45:
        return [b"SADD", b"hot", member]
    if r < 0.8:
        return [b"SREM", b"hot", member]
    if r < 0.9:
        return [b"INCRBY", b"counter", b"%d" % rng.randrange(-5, 10)]
    field = b"f%d" % rng.randrange(50)
    if r < 0.95:
        return [b"HINCRBY", b"hash", field, b"1"]
    return [b"HDEL", b"hash", field] if r < 0.97 else [b"HSET", b"hash", field, b"v"]


def metadata(rep: Replica) -> tuple[int, int, int]:
    live = 0
    for entry in rep.ks.table.items():
        read = entry.crdt.read()
        if read is not None:
            live += 1 if read[0] == "string" else len(read[1])
    dots, ctx = rep.ks.table.metadata()
    return live, dots, ctx


def run(ops: int, gc: bool, checkpoints: list[int]) -> list[tuple[int, tuple[int, int, int]]]:
    rng = random.Random(1)
    reps = {n: Replica(n) for n in REPLICAS}
    held: dict[str, list[Stamped]] = {n: [] for n in REPLICAS}  # what a cut-off replica has not received
    cut: str | None = None
    out = []
    done = 0
    round_no = 0
    while done < ops:
        round_no += 1
        now = round_no * 10
        if round_no % 5 == 0:
            cut = rng.choice([None, *REPLICAS])
        for _ in range(OPS_PER_ROUND):
            rep = reps[rng.choice(REPLICAS)]
            rep.run(command(rng), now)
            stamped = rep.stamp(now)
            done += 1
            for other in REPLICAS:
                if other == rep.name:
                    continue
                if cut in (other, rep.name):
                    held[other].append(stamped)
                else:
                    reps[other].ks.merge(stamped.entries, now, stamped.marks.items())
        for name in REPLICAS:
            if name != cut and held[name]:
                for stamped in held[name]:
                    reps[name].ks.merge(stamped.entries, now, stamped.marks.items())
                held[name].clear()
        if gc:
            talking = [n for n in REPLICAS if n != cut]
            for n in talking:
                for m in talking:
                    if m != n:
                        reps[n].ks.table.note_ack(m, reps[m].ks.table.acknowledgement())
            for n in talking:
                reps[n].ks.collect([m for m in REPLICAS if m != n])
        while checkpoints and done >= checkpoints[0]:
            out.append((checkpoints.pop(0), metadata(reps["n0"])))
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ops", type=int, default=100_000)
    args = parser.parse_args(argv)
    marks = [m for m in (1_000, 10_000, 50_000, 100_000) if m <= args.ops] or [args.ops]
    print(f"typed CRDT metadata on replica n0, {args.ops:,} commands over 3 replicas with partitions")
    print(f"{'ops':>8} {'GC':>4} {'live':>6} {'dots':>6} {'ctx':>6} {'per live element':>17}")
    for gc in (True, False):
        for n, (live, dots, ctx) in run(args.ops, gc, list(marks)):
            per: Any = f"{(dots + ctx) / live:.2f}" if live else "-"
            print(f"{n:>8} {'on' if gc else 'off':>4} {live:>6} {dots:>6} {ctx:>6} {per:>17}", flush=True)


if __name__ == "__main__":
    main()
