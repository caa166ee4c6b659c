"""MONITOR's stream: every command the server runs, as a line to each monitor.

The MONITOR command is in `crdt.commands.monitor`.

Strategy:
- `Engine.call` hands each command it ran to `feed` once the handler has
  returned (Redis 7.0 feeds after the command, so SELECT shows the new
  database), failed or not, unless the command is flagged ``admin`` or
  ``skip_monitor`` (CONFIG, DEBUG, CLIENT LIST... are never shown). Commands
  refused before they run (unknown, wrong arity, NOAUTH, queued in MULTI)
  are not fed; queued commands are fed when EXEC runs them, before EXEC.
- A line is Redis's: ``+<seconds>.<microseconds> [<db> <addr>] "arg" ...``,
  each argument quoted as sdscatrepr quotes it. The engine's clock is in
  milliseconds, so the microseconds end in 000. AUTH's and HELLO's secrets
  are replaced with ``(redacted)``, as the handlers mark them in
  ``Session.redacted`` (the same arguments, in the same cases, as Redis);
  they mark only while someone monitors, when every command goes through
  `Engine.call` and so through `feed`, which clears the marks.
- Lines travel like pub/sub pushes: into each monitor's outbox, listed in
  ``PubSub.pending``, delivered by the driver. Unlike a push, a monitor's
  line about its own command comes after that command's reply; the driver
  tells them apart by type (a `SimpleString` in an outbox is a monitor line).
- A monitor is Redis's replica-flagged client: it may not run commands that
  read, write or may replicate (the engine's gate refuses them with Redis's
  "Replica can't interact with the keyspace"), it is not closed for being
  idle, CLIENT LIST shows flag ``O``, and RESET or disconnecting ends it.
  MONITOR inside EXEC is refused (Redis's DENY_BLOCKING client); a second
  MONITOR gets no reply at all, as in Redis.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from protocol.replies import SimpleString

if TYPE_CHECKING:
    from crdt.session import Session
    from crdt.table import Command

REDACTED = b"(redacted)"
NOT_FED = frozenset({"admin", "skip_monitor"})
# sdscatrepr: printable ASCII as is, backslash and quote escaped, \n \r \t \a \b
# by name, every other byte as \xhh.
_QUOTED = [b"%c" % i if 32 <= i < 127 else b"\\x%02x" % i for i in range(256)]
for _byte, _escape in ((b"\\", b"\\\\"), (b'"', b'\\"'), (b"\n", b"\\n"), (b"\r", b"\\r"),
                       (b"\t", b"\\t"), (b"\a", b"\\a"), (b"\b", b"\\b")):
    _QUOTED[_byte[0]] = _escape
_PLAIN = bytes(i for i in range(32, 127) if i not in b'\\"')


def quote(arg: bytes) -> bytes:
    """One argument as Redis's sdscatrepr writes it, quotes included."""
    if not arg.translate(None, _PLAIN):
        return b'"%b"' % arg
    return b'"%b"' % b"".join(map(_QUOTED.__getitem__, arg))


def line(session: Session, argv: list[bytes], now_ms: int) -> SimpleString:
    """The monitor line for a command `session` ran (its database as the command left it)."""
    if session.redacted:
        argv = [REDACTED if i in session.redacted else arg for i, arg in enumerate(argv)]
    seconds, ms = divmod(now_ms, 1000)
    return SimpleString(b"%d.%06d [%d %s] %s" % (
        seconds, ms * 1000, session.db_index, session.addr.encode(), b" ".join(map(quote, argv))))


def feed(session: Session, cmd: Command, argv: list[bytes]) -> None:
    """After `cmd` ran: its line to every monitor (nothing for admin commands)."""
    if NOT_FED.isdisjoint(cmd.flags):
        text = line(session, argv, session.now_ms)
        engine = session.engine
        push = engine.pubsub.push
        for monitor in engine.monitors:
            push(monitor, text)  # type: ignore[arg-type]
    session.redacted = ()


def stop(session: Session) -> None:
    """The session is no monitor any more (RESET, disconnect)."""
    if session.monitor:
        session.monitor = False
        session.flags = session.flags.replace("O", "") or "N"
        session.engine.monitors.pop(session, None)
