"""Typed CRDTs: every Redis type replicated so that a merge keeps what both sides did.

Pure values (no I/O, no clock reads): the caller passes dots ``(replica,
counter)`` and hybrid timestamps. Delta-state design (Almeida et al.): each
state is a dot store plus a causal context (`context`); a local operation
returns the small delta to ship; merge is the join (commutative,
associative, idempotent), so deltas and full states may arrive in any order,
any number of times. One module per type, each stating its rules; `key`
wraps a whole key.

Rules (the summary the README quotes; Active-Active's rule in brackets where
ours differs or where it states one):

=================  ============================================================================
Strings            SET/APPEND/SETRANGE...: last writer wins by hybrid logical clock.
                   [Active-Active: LWW by wall clock.]
Counters           INCR/DECR/INCRBY/DECRBY/INCRBYFLOAT: concurrent increments add up
                   (PN-counter). A SET resets the counter to its value: increments it had seen
                   are gone, increments concurrent with it are added on top. Integer text while
                   every part is an integer, else INCRBYFLOAT's long-double text.
                   [Active-Active: counters accumulate; 59-bit cap. We do not cap.]
Sets               Add-wins observed-remove set: a concurrent SADD and SREM of one member
                   keep it. [Same as Active-Active.]
Hashes             Per field: HSET last writer wins, HINCRBY fields are counters as above,
                   a concurrent HDEL and HSET keep the HSET. [Same.]
Sorted sets        Add-wins membership; ZADD scores last writer wins; ZINCRBY adds as a
                   counter (on top of a concurrent ZADD). [Active-Active: every score is a
                   counter.]
Lists              Dense total-order positions: concurrent pushes are all kept, each push's
                   batch contiguous, batches at one end ordered by replica id. Pops, LREM and
                   LTRIM remove the elements they returned/dropped by identity: concurrent pops
                   of one element remove it once (both callers get it); a pop never removes a
                   concurrently pushed or concurrently LSET element.
Deletes            DEL/UNLINK/expiry firing/eviction remove what the deleting replica had seen
                   (contents and TTL); a concurrent write survives (add-wins at the key level).
Type conflicts     The type whose newest surviving write has the largest hybrid timestamp wins
                   (ties by type name); the loser's contents are hidden and dropped by the next
                   local write or DEL.
TTL                EXPIRE/PERSIST: last writer wins by hybrid clock; deleted with the key.
Garbage            Removes leave no tombstones (removed dots live only in the causal context,
                   one integer per replica once gaps fill). A write replaces the dots it saw, so
                   an element holds at most one write dot per concurrent writer.
                   `compact(stable)` with a causally stable vector coalesces each replica's
                   increments of an element into one, so metadata is bounded by the live
                   contents times the writers, plus what peers have not acknowledged yet.
=================  ============================================================================
"""

from crdt.replication.typed.context import Add, Assign, CausalContext, Dot, DotStore
from crdt.replication.typed.key import KeyCRDT
from crdt.replication.typed.ormap import ORHash
from crdt.replication.typed.orset import ORSet
from crdt.replication.typed.register import CounterRegister
from crdt.replication.typed.rlist import RList
from crdt.replication.typed.zset import ZSetCRDT

__all__ = [
    "Add", "Assign", "CausalContext", "CounterRegister", "Dot", "DotStore", "KeyCRDT",
    "ORHash", "ORSet", "RList", "ZSetCRDT",
]
