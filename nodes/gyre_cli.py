"""The `gyre` command line: click parses, builds a config dataclass and calls trio.run.

Nothing else lives here; each subcommand hands over to its driver module.
"""

from __future__ import annotations

import logging
import sys

import click
import trio

LOG_LEVELS = {"debug": logging.DEBUG, "verbose": logging.INFO, "notice": logging.WARNING,
              "warning": logging.WARNING, "nothing": logging.CRITICAL + 1}


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="gyrekv", prog_name="gyre")
def main() -> None:
    """gyrekv: a Redis-compatible cache and a Maelstrom-style test suite."""


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
@click.option("--config-set", "config_set", multiple=True, nargs=2, metavar="NAME VALUE",
              help="Any other CONFIG parameter at start-up, e.g. --config-set hz 20.")
def serve(host: str, port: int, requirepass: str, maxclients: int, databases: int,
          loglevel: str, config_set: tuple[tuple[str, str], ...]) -> None:
    """Serve the Redis protocol (RESP2/RESP3) until SIGINT or SIGTERM."""
    from nodes.resp_server import ServeConfig, serve as run_server

    logging.basicConfig(stream=sys.stderr, level=LOG_LEVELS[loglevel],
                        format="%(process)d:M %(asctime)s %(levelname).1s %(message)s")
    cfg = ServeConfig(host=host, port=port, requirepass=requirepass, maxclients=maxclients,
                      databases=databases, loglevel=loglevel, extra=dict(config_set))
    try:
        cfg.engine_config()
    except (KeyError, ValueError) as e:
        raise click.BadParameter(f"bad --config-set: {e}") from None
    try:
        trio.run(run_server, cfg)
    except OSError as e:
        click.echo(f"gyre serve: cannot listen on {host}:{port}: {e.strerror}", err=True)
        sys.exit(1)


def _register_subcommands() -> None:
    from maelstrom.check_cli import check
    from maelstrom.compare.cli import compare_command
    from maelstrom.sim.cli import sim_command
    from maelstrom.test_cli import test_command
    from nodes.node_cli import node_group

    main.add_command(node_group, "node")
    main.add_command(test_command, "test")
    main.add_command(check, "check")
    main.add_command(sim_command, "sim")
    main.add_command(compare_command, "compare")


_register_subcommands()

if __name__ == "__main__":
    main()
