"""Start the servers a benchmark compares: gyre serve and Debian's redis-server.

Both run as real processes on free loopback ports, pinned to core 0 where
`taskset` exists (the load generator gets core 1). Readiness is read from
each server's own log line; the log is then drained so a chatty server never
blocks on a full pipe.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from tests.helpers import GYRE_READY_TEXT, free_port

READY_TIMEOUT_S = 30.0
SERVER_CORE = "0"
CLIENT_CORE = "1"


def pin(core: str) -> list[str]:
    """A command prefix that pins to one core, or nothing where taskset is missing."""
    return ["taskset", "-c", core] if shutil.which("taskset") else []


@contextmanager
def server_process(argv: list[str], ready_text: str) -> Iterator[subprocess.Popen[str]]:
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            if ready_text in line:
                break
        else:
            raise RuntimeError(f"{argv[0]} exited with {proc.wait()} before it was ready")
        threading.Thread(target=proc.stdout.read, daemon=True).start()
        yield proc
    finally:
        proc.terminate()
        proc.wait(timeout=READY_TIMEOUT_S)


@contextmanager
def both_servers(gyre_args: tuple[str, ...] = ()) -> Iterator[tuple[tuple[int, int], tuple[int, int]]]:
    """Yields ((gyre port, gyre pid), (redis port, redis pid)); `gyre_args` go to gyre serve."""
    gyre_port, redis_port = free_port(), free_port()
    with tempfile.TemporaryDirectory() as workdir, \
            server_process([*pin(SERVER_CORE), "redis-server", "--port", str(redis_port),
                            "--save", "", "--appendonly", "no", "--dir", workdir, "--logfile", ""],
                           "Ready to accept connections") as redis_proc, \
            server_process([*pin(SERVER_CORE), sys.executable, "-m", "nodes.gyre_cli", "serve",
                            "--port", str(gyre_port), *gyre_args], GYRE_READY_TEXT) as gyre_proc:
        yield (gyre_port, gyre_proc.pid), (redis_port, redis_proc.pid)
