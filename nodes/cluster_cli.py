"""`gyre cluster` (and `make cluster`): a local replicated cluster in the foreground, one log, Ctrl-C stops it.

Strategy: start N `gyre serve` processes n1..nN on consecutive RESP ports
(``--port``, ``--port``+1, ...) and peer ports (``--peer-port``, ...), each
told every other's peer address, in one mode; copy each server's log lines
to standard output prefixed with its id; when any server exits, or on
SIGINT/SIGTERM, stop them all (SIGTERM, then SIGKILL after a grace period)
and exit with the first failing server's status.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Final

import click
import trio

__all__ = ["cluster_command", "server_args"]

#: How long servers get to stop after SIGTERM before they are killed.
STOP_GRACE_S: Final[float] = 5.0


def server_args(n: int, i: int, *, mode: str, port: int, peer_port: int, data: Path | None = None,
                extra: Sequence[str] = ()) -> list[str]:
    """The `gyre serve` arguments of server ``i`` (0-based) of ``n``."""
    me = f"n{i + 1}"
    peers = ",".join(f"n{j + 1}=127.0.0.1:{peer_port + j}" for j in range(n) if j != i)
    durable = ["--dir", str(data / me)] if data is not None else (["--volatile"] if mode == "strong" else [])
    return ["serve", "--port", str(port + i), "--node-id", me, "--peer-port", str(peer_port + i),
            "--peers", peers, "--mode", mode, *durable, *extra]


async def _pump(name: str, stream: trio.abc.ReceiveStream, width: int) -> None:
    buffer = b""
    prefix = f"{name:<{width}} | ".encode()
    async for chunk in stream:
        buffer += chunk
        *lines, buffer = buffer.split(b"\n")
        if lines:
            sys.stdout.buffer.write(b"".join(prefix + line + b"\n" for line in lines))
            sys.stdout.buffer.flush()
    if buffer:
        sys.stdout.buffer.write(prefix + buffer + b"\n")
        sys.stdout.buffer.flush()


async def run_cluster(n: int, mode: str, port: int, peer_port: int, data: Path | None,
                      extra: Sequence[str]) -> int:
    """Run the cluster until a server exits or a signal comes; the exit status."""
    procs: list[trio.Process] = []
    status = 0
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async with trio.open_nursery() as nursery:
            for i in range(n):
                args = [sys.executable, "-m", "nodes.gyre_cli",
                        *server_args(n, i, mode=mode, port=port, peer_port=peer_port, data=data, extra=extra)]
                proc = await trio.lowlevel.open_process(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
                procs.append(proc)
                assert proc.stdout is not None
                nursery.start_soon(_pump, f"n{i + 1}", proc.stdout, len(f"n{n}"))
            print(f"cluster of {n} in {mode} mode: redis-cli -p {port} .. -p {port + n - 1}; "
                  "Ctrl-C stops it", flush=True)

            async def first_exit(proc: trio.Process, i: int) -> None:
                nonlocal status
                code = await proc.wait()
                if code not in (0, -signal.SIGTERM) and status == 0:
                    status = code if code > 0 else 1
                    print(f"n{i + 1} exited with {code}; stopping the cluster", flush=True)
                nursery.cancel_scope.cancel()

            async def on_signal() -> None:
                async for _ in signals:
                    nursery.cancel_scope.cancel()
                    return

            for i, proc in enumerate(procs):
                nursery.start_soon(first_exit, proc, i)
            nursery.start_soon(on_signal)
    with trio.move_on_after(STOP_GRACE_S) as grace:
        grace.shield = True
        for proc in procs:
            if proc.returncode is None:
                proc.terminate()
        for proc in procs:
            await proc.wait()
    for proc in procs:
        if proc.returncode is None:
            proc.kill()
    return status


@click.command("cluster", context_settings={"ignore_unknown_options": True})
@click.option("--nodes", "n", default=3, show_default=True, type=click.IntRange(2, 9), help="How many servers.")
@click.option("--mode", default="eventual", show_default=True, type=click.Choice(("eventual", "causal", "strong")),
              help="Consistency mode.")
@click.option("--port", default=7001, show_default=True, type=click.IntRange(1, 65535),
              help="RESP port of n1; the others follow.")
@click.option("--peer-port", default=17001, show_default=True, type=click.IntRange(1, 65535),
              help="Peer port of n1; the others follow.")
@click.option("--data", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Keep each server's durable state in DATA/<id> (--dir); without it, strong mode "
                   "runs --volatile and the others keep nothing.")
@click.argument("serve_args", nargs=-1, type=click.UNPROCESSED)
def cluster_command(n: int, mode: str, port: int, peer_port: int, data: Path | None,
                    serve_args: tuple[str, ...]) -> None:
    """Run N replicated `gyre serve` processes on this machine; extra arguments go to each server."""
    sys.exit(trio.run(run_cluster, n, mode, port, peer_port, data, serve_args))
