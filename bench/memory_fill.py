"""Fill a server with every data type, pipelined, and watch its memory: used_memory vs RSS.

Strategy: a deterministic stream of writes (strings of 50-400 bytes, hashes,
lists, sets and sorted sets of 5-40 elements, a third of the keys with a
TTL far in the future), sent in pipelined batches over one socket; after
every `CHECK_EVERY_BYTES` of payload the server's INFO memory is read and
its RSS taken from /proc. `python -m bench.memory_fill` fills a gyre serve
with no limit to 1 GB of used_memory (``--target``) and prints how far RSS
growth and used_memory growth are apart; tests/nodes/test_eviction_server.py
uses `Filler` against a server with a small maxmemory.
"""

from __future__ import annotations

import argparse
import random
import socket
import sys
from dataclasses import dataclass, field

from tests.differential import encode_command

BATCH = 200
CHECK_EVERY_BYTES = 32 * 1024 * 1024
SOCKET_TIMEOUT_S = 60.0


def rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


class Client:
    """A minimal pipelining RESP client: sends a batch, counts the replies, keeps the errors."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=SOCKET_TIMEOUT_S)
        self.buf = b""

    def pipeline(self, commands: list[list[bytes]]) -> list[bytes]:
        """Send the commands; return each reply's first line (b'+OK', b':3', b'-OOM ...')."""
        self.sock.sendall(b"".join(encode_command(c) for c in commands))
        return [self._reply() for _ in commands]

    def call(self, *argv: bytes | str) -> bytes:
        """One command; a bulk reply's payload, or the first line of anything else."""
        args = [a if isinstance(a, bytes) else a.encode() for a in argv]
        self.sock.sendall(encode_command(args))
        line = self._line()
        if line.startswith(b"$") and line != b"$-1":
            n = int(line[1:])
            return self._exactly(n + 2)[:-2]
        return line

    def _line(self) -> bytes:
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise ConnectionError("server closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _exactly(self, n: int) -> bytes:
        while len(self.buf) < n:
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise ConnectionError("server closed")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def _reply(self) -> bytes:
        line = self._line()
        kind = line[:1]
        if kind == b"$" and line != b"$-1":
            self._exactly(int(line[1:]) + 2)
        elif kind == b"*" and line != b"*-1":
            for _ in range(int(line[1:])):
                self._reply()
        return line

    def info_memory(self) -> dict[str, str]:
        text = self.call("INFO", "memory").decode()
        return dict(line.split(":", 1) for line in text.split("\r\n") if ":" in line)

    def close(self) -> None:
        self.sock.close()


@dataclass
class Filler:
    """The write stream: `batch()` gives the next pipelined batch and its payload bytes."""

    seed: int = 1
    sent_keys: int = 0
    with_ttl: set[bytes] = field(default_factory=set)
    without_ttl: set[bytes] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def command(self) -> tuple[list[bytes], int]:
        rng = self.rng
        i = self.sent_keys
        self.sent_keys += 1
        kind = rng.choice(("string", "string", "string", "hash", "list", "set", "zset"))
        key = b"%s:%d" % (kind.encode(), i)
        n = rng.randint(5, 40)
        if kind == "string":
            argv = [b"SET", key, rng.randbytes(rng.randint(25, 200)).hex().encode()]
        elif kind == "hash":
            argv = [b"HSET", key]
            for j in range(n):
                argv += [b"field%d" % j, b"v" * rng.randint(5, 60)]
        elif kind == "list":
            argv = [b"RPUSH", key, *(b"item-%d-" % j + b"x" * rng.randint(5, 60) for j in range(n))]
        elif kind == "set":
            argv = [b"SADD", key, *(b"member:%d:%d" % (i, j) for j in range(n))]
        else:
            argv = [b"ZADD", key]
            for j in range(n):
                argv += [b"%d" % rng.randint(0, 10**6), b"m:%d:%d" % (i, j)]
        (self.with_ttl if rng.random() < 1 / 3 else self.without_ttl).add(key)
        return argv, sum(map(len, argv))

    def batch(self) -> tuple[list[list[bytes]], int]:
        commands: list[list[bytes]] = []
        payload = 0
        for _ in range(BATCH):
            argv, size = self.command()
            commands.append(argv)
            payload += size
            if argv[1] in self.with_ttl:
                commands.append([b"PEXPIRE", argv[1], b"%d" % 10**9])
        return commands, payload


def track(port: int, pid: int, target: int) -> list[tuple[int, int]]:
    """Fill until used_memory grew by `target` bytes; (used growth, RSS growth) at each check."""
    client = Client(port)
    filler = Filler()
    used0, rss0 = int(client.info_memory()["used_memory"]), rss_bytes(pid)
    points = []
    since_check = 0
    while True:
        commands, payload = filler.batch()
        for reply in client.pipeline(commands):
            if reply.startswith(b"-"):
                raise RuntimeError(f"write refused: {reply!r}")
        since_check += payload
        if since_check >= CHECK_EVERY_BYTES:
            since_check = 0
            used = int(client.info_memory()["used_memory"]) - used0
            rss = rss_bytes(pid) - rss0
            points.append((used, rss))
            print(f"used_memory +{used / 2**20:8.1f} MB   RSS +{rss / 2**20:8.1f} MB   "
                  f"RSS/used {rss / used:5.2f}   keys {filler.sent_keys:,}", flush=True)
            if used >= target:
                break
    client.close()
    return points


def main() -> int:
    from bench.servers import pin, server_process
    from tests.helpers import GYRE_READY_TEXT, free_port

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--target", default=1 << 30, type=int, help="used_memory growth to stop at (bytes)")
    parser.add_argument("--quick", action="store_true", help="fill to 256 MB instead")
    opts = parser.parse_args()
    target = (256 << 20) if opts.quick else opts.target
    port = free_port()
    with server_process([*pin("0"), sys.executable, "-m", "nodes.gyre_cli", "serve", "--port", str(port)],
                        GYRE_READY_TEXT) as proc:
        points = track(port, proc.pid, target)
    used, rss = points[-1]
    worst = max(abs(r / u - 1) for u, r in points if u > 64 << 20)
    print(f"\nat the end: RSS growth / used_memory growth = {rss / used:.3f} "
          f"(worst past 64 MB: {worst:.1%} apart)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
