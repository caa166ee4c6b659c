"""The conflict-free replicated data types the replicated nodes merge.

`clocks`: hybrid logical timestamps and vector clocks. `lattices`: the
join-semilattices Anna-style replication is built from (last-writer-wins
registers and maps, grow-only sets, PN-counters) and their wire encoding.
Typed merges of Redis's data types (counters, add-wins sets, per-field
hashes, sequence lists) belong here, beside them: the single-node value
types they replicate are in `crdt.commands` (one family each).
"""
