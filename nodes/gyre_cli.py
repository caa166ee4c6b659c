"""The `gyre` command line: click parses, builds a config dataclass and calls trio.run.

Nothing else lives here; each subcommand hands over to its driver module.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Any

import click
import trio

# The modes a replicated `gyre serve` runs (nodes.replica_serve.SERVE_MODES, kept
# here too so that `gyre --help` imports nothing heavy).
SERVE_MODES = ("eventual", "causal", "strong")

LOG_LEVELS = {"debug": logging.DEBUG, "verbose": logging.INFO, "notice": logging.WARNING,
              "warning": logging.WARNING, "nothing": logging.CRITICAL + 1}


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="gyrekv", prog_name="gyre")
def main() -> None:
    """gyrekv: a Redis-compatible cache and a Maelstrom-style test suite."""


def _memory_flags(maxmemory: str | None, policy: str | None) -> dict[str, str]:
    """--maxmemory and --maxmemory-policy as the CONFIG parameters they stand for."""
    flags = {}
    if maxmemory is not None:
        flags["maxmemory"] = maxmemory
    if policy is not None:
        flags["maxmemory-policy"] = policy
    return flags


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (loopback by default).")
@click.option("--port", default=6379, show_default=True, type=click.IntRange(0, 65535),
              help="TCP port; 0 picks a free one and logs it.")
@click.option("--requirepass", default="", help="Password clients must AUTH with.")
@click.option("--maxclients", default=10000, show_default=True, type=click.IntRange(1),
              help="Connections beyond this get '-ERR max number of clients reached'.")
@click.option("--databases", default=16, show_default=True, type=click.IntRange(1),
              help="Number of logical databases (SELECT 0..N-1).")
@click.option("--loglevel", default="notice", show_default=True,
              type=click.Choice(sorted(LOG_LEVELS)), help="Log verbosity (stderr).")
@click.option("--maxmemory", default=None, metavar="BYTES",
              help="Memory limit of the data (100mb, 1gb...); 0 = none. Same as --config-set maxmemory.")
@click.option("--maxmemory-policy", default=None,
              type=click.Choice(("noeviction", "allkeys-lru", "volatile-lru", "allkeys-lfu", "volatile-lfu",
                                 "allkeys-random", "volatile-random", "volatile-ttl")),
              help="What goes when memory is over maxmemory [default: noeviction].")
@click.option("--config-set", "config_set", multiple=True, nargs=2, metavar="NAME VALUE",
              help="Any other CONFIG parameter at start-up, e.g. --config-set hz 20.")
@click.option("--peers", default=None, metavar="ID=HOST:PORT,...",
              help="Replicate with these servers (their peer ports), e.g. n2=127.0.0.1:17002,n3=127.0.0.1:17003.")
@click.option("--node-id", default=None, help="This server's id in the cluster (with --peers).")
@click.option("--peer-port", default=0, show_default=True, type=click.IntRange(0, 65535),
              help="Port other servers reach this one on (with --peers).")
@click.option("--peer-host", default="127.0.0.1", show_default=True,
              help="Address the peer port listens on; beyond loopback it needs --cluster-secret.")
@click.option("--mode", default=None, type=click.Choice(SERVE_MODES),
              help="Consistency mode of the cluster [default: $GYRE_MODE or eventual].")
@click.option("--cluster-secret", default=None, envvar="GYRE_CLUSTER_SECRET",
              help="Shared secret peers authenticate with (HMAC; never sent). Also $GYRE_CLUSTER_SECRET.")
@click.option("--dir", "data_dir", default=None, type=click.Path(file_okay=False, path_type=Path),
              help="Directory for durable state (locked: one server per directory).")
@click.option("--volatile", is_flag=True,
              help="Strong mode without --dir: acceptor state in memory only (a restarted server may "
                   "break linearizability).")
@click.option("--sync-timeout", default=5.0, show_default=True, type=click.FloatRange(0),
              help="Seconds a new server answers -LOADING while it waits for a peer to catch up from.")
def serve(host: str, port: int, requirepass: str, maxclients: int, databases: int,
          loglevel: str, maxmemory: str | None, maxmemory_policy: str | None,
          config_set: tuple[tuple[str, str], ...], peers: str | None, node_id: str | None,
          peer_port: int, peer_host: str, mode: str | None, cluster_secret: str | None,
          data_dir: Path | None, volatile: bool, sync_timeout: float) -> None:
    """Serve the Redis protocol (RESP2/RESP3) until SIGINT or SIGTERM; with --peers, replicated."""
    from nodes.resp_server import ServeConfig
    from nodes.resp_server import serve as run_server

    logging.basicConfig(stream=sys.stderr, level=LOG_LEVELS[loglevel],
                        format=f"%(process)d:{'M' if node_id is None else node_id} %(asctime)s "
                               "%(levelname).1s %(message)s")
    cfg = ServeConfig(host=host, port=port, requirepass=requirepass, maxclients=maxclients,
                      databases=databases, loglevel=loglevel,
                      extra=_memory_flags(maxmemory, maxmemory_policy) | dict(config_set))
    try:
        cfg.engine_config()
    except (KeyError, ValueError) as e:
        raise click.BadParameter(f"bad --config-set, --maxmemory or --maxmemory-policy: {e}") from None
    attach = None
    if peers is not None:
        attach = _replication(peers, node_id, peer_port, peer_host, mode, cluster_secret, data_dir,
                              volatile, sync_timeout)
    elif node_id is not None or mode is not None or data_dir is not None:
        raise click.UsageError("--node-id, --mode and --dir configure a replicated server: give --peers too")
    try:
        trio.run(run_server, cfg, attach)
    except OSError as e:
        click.echo(f"gyre serve: cannot listen: {e}", err=True)
        sys.exit(1)
    # Stopped cleanly (SHUTDOWN, SIGTERM): the sockets and the durable log are closed. What is
    # left is the interpreter freeing the keyspace object by object, seconds for a few 100k
    # replicated keys (measured: SIGTERM to exit 2.4 s on a causal server after 100,000 random-key
    # SETs, 25 ms of it the server's own shutdown); leave at once instead, as Redis does.
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def _replication(peers: str, node_id: str | None, peer_port: int, peer_host: str, mode: str | None,
                 secret: str | None, data_dir: Path | None, volatile: bool, sync_timeout: float) -> Any:
    """Check the cluster options; return what `serve` attaches to the server."""
    import random

    from nodes.peer_auth import PeerConfigError, parse_peers, validate
    from nodes.replica_serve import ReplicaOptions, Replication

    if not node_id:
        raise click.UsageError("--peers needs --node-id (this server's id in the cluster)")
    chosen = mode or os.environ.get("GYRE_MODE") or "eventual"
    if chosen not in SERVE_MODES:
        raise click.BadParameter(f"GYRE_MODE={chosen!r} is not one of {', '.join(SERVE_MODES)}",
                                 param_hint="--mode")
    if chosen == "strong" and data_dir is None and not volatile:
        raise click.UsageError(
            "strong mode keeps its Paxos acceptor state in --dir (fsynced before every promise and "
            "accept), so that a restarted server never breaks linearizability; give --dir DIR, or "
            "--volatile to keep it in memory only")
    try:
        options = ReplicaOptions(node_id=node_id, mode=chosen, peers=parse_peers(peers), peer_host=peer_host,
                                 peer_port=peer_port, secret=None if secret is None else secret.encode(),
                                 data_dir=data_dir, sync_timeout_s=sync_timeout)
        validate(options.peer_config())
    except (PeerConfigError, ValueError) as e:
        raise click.UsageError(str(e)) from None
    return lambda server: Replication(server, options, rng=random.Random())


def _register_subcommands() -> None:
    from maelstrom.check_cli import check
    from maelstrom.compare.cli import compare_command
    from maelstrom.sim.cli import sim_command
    from maelstrom.test_cli import test_command
    from nodes.cluster_cli import cluster_command
    from nodes.node_cli import node_group

    main.add_command(node_group, "node")
    main.add_command(test_command, "test")
    main.add_command(check, "check")
    main.add_command(sim_command, "sim")
    main.add_command(compare_command, "compare")
    main.add_command(cluster_command, "cluster")


_register_subcommands()

if __name__ == "__main__":
    main()
