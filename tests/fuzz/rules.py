"""How the fuzz compares gyre's replies with Redis's: what is not sent, and what is compared how.

Replies are compared exactly, except where a command's own table row says
its output is not deterministic (the ``nondeterministic_output`` tip:
compared by shape) or its order is not (``nondeterministic_output_order``:
compared sorted), and for the differences gyrekv documents (README, "Where
gyrekv differs"), each listed here with its reason.
"""

from __future__ import annotations

from typing import Any

from crdt.commands import TABLE
from crdt.table import Command
from tests.differential import Err

# Commands the fuzz does not send, and why. Everything else in the table is fuzzed.
NOT_FUZZED: dict[str, str] = {
    "shutdown": "ends the server under test",
    "debug": "DEBUG SLEEP pauses the server on purpose; Redis's other DEBUG subcommands "
             "crash or reconfigure it on purpose",
    "monitor": "turns the connection into a stream of other clients' commands "
               "(compared byte for byte in tests/nodes/test_monitor_redis.py)",
    "quit": "closes the connection (tests/crdt/test_connection.py)",
    "client|kill": "picks connections by id and address, which differ between the two servers",
    "config|set": "would reconfigure the servers under test (ports, directories, passwords); "
                  "CONFIG SET is compared parameter by parameter in tests/crdt/test_server_redis.py",
    "config|rewrite": "writes the servers' configuration files",
    "script|debug": "YES/SYNC turn Redis's connection into a Lua debugger session; documented: "
                    "gyrekv does not offer the debugger",
    "save": "documented: gyrekv keeps no persistence",
    "bgsave": "documented: gyrekv keeps no persistence",
    "bgrewriteaof": "documented: gyrekv keeps no persistence",
    "command": "Redis 7.0 has command families gyrekv does not (README): the whole table differs",
    "command|count": "as COMMAND",
    "command|list": "as COMMAND",
}

# Commands whose replies differ from Redis's on purpose (README, "Where gyrekv differs"),
# compared by shape only: error or not, type, length.
SHAPE_ONLY: dict[str, str] = {
    "client|id": "connection ids differ between the servers",
    "client|unblock": "takes connection ids, which differ",
    "hello": "reports the server's id, version and mode",
    "memory|usage": "documented: gyrekv reports its own memory",
    "memory|malloc-stats": "documented: no jemalloc",
    "object|encoding": "documented: an integral INCRBYFLOAT result says int",
}
# Compared by type alone: error or not, and which type.
TYPE_ONLY: dict[str, str] = {
    "client|help": "lists the subcommands gyrekv has; Redis has more (PAUSE, TRACKING...)",
    "memory|help": "documented: MEMORY STATS and DOCTOR are not offered",
    "latency|help": "LATENCY DOCTOR, GRAPH and HISTOGRAM are not offered",
    "slowlog|get": "which commands ran slowly depends on each server's own timing",
    "slowlog|len": "as SLOWLOG GET",
    "latency|latest": "as SLOWLOG GET",
    "latency|history": "as SLOWLOG GET",
}
# Without arguments these confirm every channel the client left, in Redis in its hash
# table's order (which changes from one start to the next): compared as sets.
UNSUBSCRIBE_ALL = frozenset({"unsubscribe", "punsubscribe", "sunsubscribe"})
# Without arguments these list every command, and Redis 7.0 has families gyrekv does not.
ALL_COMMANDS_WITHOUT_ARGUMENTS = frozenset({"command|docs", "command|info"})


def command_of(argv: list[bytes]) -> Command | None:
    """The table row a command line runs (its subcommand's, for a container)."""
    if not argv:
        return None
    cmd = TABLE.get(argv[0])
    if cmd is not None and cmd.subcommands and len(argv) > 1:
        sub = cmd.subcommands.get(argv[1]) or cmd.subcommands.get(argv[1].lower())
        if sub is not None:
            return sub
    return cmd


def comparison(cmd: Command | None, argv: list[bytes]) -> str:
    """How replies of `cmd` are compared: ``exact``, ``sorted``, ``shape`` or ``type``."""
    if cmd is None:
        return "exact"
    if cmd.name in TYPE_ONLY or (cmd.name in ALL_COMMANDS_WITHOUT_ARGUMENTS and len(argv) == 2):
        return "type"
    if cmd.name == "config|get" and any(c in a for a in argv[2:] for c in b"*?["):
        return "type"  # a pattern: Redis 7.0 has parameters gyrekv does not
    if cmd.name in ("sort", "sort_ro") and any(a.upper() == b"BY" for a in argv[2:]):
        return "shape"  # BY may leave the order to a hash table's (README)
    if cmd.name in UNSUBSCRIBE_ALL and len(argv) == 1:
        return "unsubscribe-all"  # every channel, in a hash table's order in Redis (README)
    if cmd.name in SHAPE_ONLY or "nondeterministic_output" in cmd.tips:
        return "shape"
    if "nondeterministic_output_order" in cmd.tips:
        return "sorted"
    return "exact"


def shape(value: Any) -> Any:
    if isinstance(value, Err):
        return value
    if isinstance(value, list):
        return ("list", len(value))
    if isinstance(value, dict):
        return ("map", len(value))
    return type(value).__name__


def sort_deep(value: Any) -> Any:
    if isinstance(value, list):
        return sorted((sort_deep(v) for v in value), key=repr)
    return value


def normalise(value: Any, how: str) -> Any:
    if how == "unsubscribe-all" and isinstance(value, list) \
            and all(isinstance(p, list) and len(p) == 3 for p in value):
        return ("channels", sorted(p[1] or b"" for p in value), sorted(p[2] for p in value))
    if how == "type":
        return value if isinstance(value, Err) else type(value).__name__
    if how == "shape":
        return shape(value)
    if how == "sorted":
        return sort_deep(value)
    return value


def normalise_exec(reply: Any, hows: list[str], many: bool) -> Any:
    """EXEC's replies compared slot by slot, each as its queued command's are."""
    def slots(array: Any) -> Any:
        if isinstance(array, list) and len(array) == len(hows):
            return [normalise(r, how) for r, how in zip(array, hows)]
        return array

    if many and isinstance(reply, list) and reply:
        if any(how != "exact" for how in hows):
            # A slot of several confirmations pushes the later slots out of EXEC's array
            # (Redis's stream): they cannot be lined up with their commands any more.
            return shape(reply)
        return [slots(reply[0]), *reply[1:]]
    return slots(reply)
