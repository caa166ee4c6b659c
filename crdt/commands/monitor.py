"""MONITOR: the command that makes a client a monitor; `crdt.monitor_feed` writes its lines."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from crdt import errors
from crdt.channels import no_reply
from crdt.errors import CommandError
from crdt.table import command
from protocol.replies import OK

if TYPE_CHECKING:
    from crdt.session import Session


@command("monitor", 1, "admin noscript loading stale", group="server", since="1.0.0",
         complexity="", summary="Listen for all requests received by the server in real time")
def monitor(s: Session, argv: list[bytes]) -> Any:
    """MONITOR: OK, then a line for every command any client runs."""
    if s.in_exec:
        raise CommandError(errors.MONITOR_DENY_BLOCKING)
    if s.monitor:
        return no_reply(s)  # Redis ignores a second MONITOR without a word
    s.attention = True  # the engine now gates this session's commands
    s.monitor = True
    s.flags = s.flags.replace("N", "") + "O"
    s.engine.monitors[s] = None
    return OK
