"""A real `gyre serve` with a small maxmemory, fed every data type well past it: its RSS
stays within maxmemory plus the process's baseline, it keeps answering, and the
volatile-* policies never evict a key without a TTL.

The baseline is the RSS of the idle server (the interpreter and the code), which
the memory figure leaves out by design (crdt/memory_account.py). The slack on top
of maxmemory covers what the figure does not see either: the allocator's free
lists after evictions and the transient objects of a batch.
"""

from __future__ import annotations

import pytest

from bench.memory_fill import Client, Filler, rss_bytes
from tests.helpers import gyre_process

MAXMEMORY = 16 << 20
SLACK = 0.15  # of maxmemory
OOM = b"-OOM command not allowed when used memory > 'maxmemory'."


@pytest.fixture
def server(request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    policy = request.param
    with gyre_process("--maxmemory", str(MAXMEMORY), "--maxmemory-policy", policy) as (port, proc):
        yield policy, port, proc.pid


def _feed_in(port: int, pid: int, times_maxmemory: float) -> tuple[int, int, set[bytes], Filler, Client]:
    """Feed `times_maxmemory` x maxmemory of payload: (baseline RSS, peak RSS, the keys whose
    write was refused with -OOM, the filler, the client)."""
    client = Client(port)
    assert client.call("PING") == b"+PONG"
    baseline = rss_bytes(pid)
    filler = Filler(seed=5)
    sent = peak = 0
    refused: set[bytes] = set()
    while sent < times_maxmemory * MAXMEMORY:
        commands, payload = filler.batch()
        for argv, reply in zip(commands, client.pipeline(commands), strict=True):
            if reply == OOM:
                refused.add(argv[1])
            else:
                assert not reply.startswith(b"-"), (argv[:2], reply)
        sent += payload
        peak = max(peak, rss_bytes(pid))
    return baseline, peak, refused, filler, client


def _info(client: Client, section: str) -> dict[str, str]:
    text = client.call("INFO", section).decode()
    return dict(line.split(":", 1) for line in text.split("\r\n") if ":" in line)


@pytest.mark.parametrize("server", ["allkeys-lru"], indirect=True)
def test_rss_stays_within_maxmemory_plus_baseline(server) -> None:  # type: ignore[no-untyped-def]
    _, port, pid = server
    baseline, peak, refused, filler, client = _feed_in(port, pid, 2.0)
    memory, stats = _info(client, "memory"), _info(client, "stats")
    assert not refused  # allkeys: there is always something to evict
    assert int(stats["evicted_keys"]) > filler.sent_keys // 2
    assert int(memory["used_memory"]) <= MAXMEMORY * 1.01
    assert peak - baseline <= MAXMEMORY * (1 + SLACK), (peak - baseline) / MAXMEMORY
    assert client.call("SET", "still", "answering") == b"+OK"
    assert client.call("GET", "still") == b"answering"


@pytest.mark.parametrize("server", ["volatile-lru"], indirect=True)
def test_volatile_policy_keeps_keys_without_ttl(server) -> None:  # type: ignore[no-untyped-def]
    _, port, pid = server
    baseline, peak, refused, filler, client = _feed_in(port, pid, 1.5)
    stats = _info(client, "stats")
    assert int(stats["evicted_keys"]) > 0
    assert refused  # once the keys with a TTL are gone, writes are refused
    # Every key without a TTL whose write was accepted is still there.
    stored = sorted(filler.without_ttl - refused)
    missing = []
    for i in range(0, len(stored), 500):
        chunk = stored[i:i + 500]
        replies = client.pipeline([[b"EXISTS", k] for k in chunk])
        missing += [k for k, r in zip(chunk, replies, strict=True) if r != b":1"]
    assert not missing, missing[:5]
    assert peak - baseline <= MAXMEMORY * (1 + SLACK)
    assert client.call("GET", "nothing") == b"$-1"  # reads go on


@pytest.mark.slow
@pytest.mark.parametrize("server", ["allkeys-lfu", "allkeys-random", "volatile-lfu", "volatile-random",
                                    "volatile-ttl", "noeviction"], indirect=True)
def test_every_policy_bounds_rss(server) -> None:  # type: ignore[no-untyped-def]
    policy, port, pid = server
    baseline, peak, refused, filler, client = _feed_in(port, pid, 2.0)
    assert peak - baseline <= MAXMEMORY * (1 + SLACK), (policy, (peak - baseline) / MAXMEMORY)
    if policy.startswith("allkeys"):
        assert not refused
    else:
        assert refused  # noeviction, or volatile-* once the keys with a TTL are gone
    if policy.startswith("volatile"):
        stored = sorted(filler.without_ttl - refused)
        replies = client.pipeline([[b"EXISTS", k] for k in stored])
        assert all(r == b":1" for r in replies)
    assert client.call("GET", "nothing") == b"$-1"


@pytest.mark.parametrize("server", ["noeviction"], indirect=True)
def test_lowering_maxmemory_evicts_at_once_while_others_are_served(server) -> None:  # type: ignore[no-untyped-def]
    """CONFIG SET maxmemory far below the data: the server evicts down to it in steps
    between other clients' commands (no command waits for the whole eviction)."""
    import time

    _, port, pid = server
    client, other = Client(port), Client(port)
    assert client.call("CONFIG", "SET", "maxmemory", "0") == b"+OK"
    filler = Filler(seed=9)
    while int(_info(client, "memory")["used_memory"]) < 2 * MAXMEMORY:
        client.pipeline(filler.batch()[0])
    assert client.call("CONFIG", "SET", "maxmemory-policy", "allkeys-lru") == b"+OK"
    assert client.call("CONFIG", "SET", "maxmemory", str(MAXMEMORY // 8)) == b"+OK"
    slowest = 0.0
    pings = 0
    deadline = time.monotonic() + 30
    while int(_info(other, "memory")["used_memory"]) > MAXMEMORY // 8:
        assert time.monotonic() < deadline, "eviction did not reach the new maxmemory"
        start = time.monotonic()
        assert other.call("PING") == b"+PONG"
        slowest = max(slowest, time.monotonic() - start)
        pings += 1
    assert pings > 1, "the eviction ran in one piece"
    assert int(_info(other, "stats")["evicted_keys"]) > 0
    assert slowest < 0.25, (slowest, pings)  # each step is bounded; other clients go between them
