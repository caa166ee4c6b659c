"""Connection and server commands: PING, HELLO, AUTH, SELECT, CLIENT, CONFIG, INFO, DEBUG...

Strategy:
- Every command is one table row (`@command`) whose handler reads the
  session and the engine and returns a reply value; nothing here does I/O.
  Requests to the driver go through the session: QUIT and a CLIENT KILL of
  oneself set ``close_after_reply``, CLIENT KILL of another client sets its
  ``kill``, DEBUG SLEEP sets ``sleep_ms`` (the driver pauses the server, as
  Redis does).
- Parsing follows Redis 7.0's order of checks, so the first error a client
  sees is the one Redis would send: HELLO handles its options left to right
  (a SETNAME before a failing AUTH sticks, one after it does not); CONFIG SET
  checks names before values; CLIENT KILL parses every filter before it
  kills anything.
- HELP texts are Redis's own lines, listed only for the subcommands gyrekv
  has. CLIENT LIST/INFO lines carry Redis 7.0's fields in its order; the
  memory fields are estimates (gyrekv does not own its allocator).
- Persistence: gyrekv keeps no persistence. SAVE, BGSAVE and BGREWRITEAOF
  answer `errors.NO_PERSISTENCE` rather than pretend; LASTSAVE reports the
  start of the server; FUNCTION FLUSH succeeds (there are no functions).
- DEBUG is enabled (Redis 7.0 disables it by default): SLEEP, OBJECT, HELP,
  and gyrekv's own SPIN <steps> (not in Redis, not in DEBUG HELP): a loop of
  that many steps in pure Python that never yields, standing for a runaway
  command in the liveness tests (signals, watchdog, SLOWLOG).

The COMMAND family lives in `crdt.commands.introspection`, INFO's text in `crdt.info`.
"""

from __future__ import annotations

import hmac
import math
import re
from typing import Any
from zlib import crc32

from crdt import errors, info, monitor_feed
from crdt.args import c_word, to_int
from crdt.channels import no_reply
from crdt.errors import CommandError
from crdt.keyspace import encoding_of, string_bytes
from crdt.session import Session
from crdt.table import TABLE, container
from crdt.table import command as register
from protocol.replies import OK, PONG, SimpleString, Verbatim

SERVER_NAME = b"redis"
REDIS_VERSION = info.REDIS_VERSION.encode()
DEFAULT_USER = b"default"
INT32_MIN = -(2**31)
INT32_MAX = 2**31 - 1
# Redis's reply buffer of a client (PROTO_REPLY_CHUNK_BYTES), reported as rbs/rbp.
REPLY_BUFFER_BYTES = 16 * 1024
# What a connected client costs besides its buffers: an estimate (Redis reports its
# allocator's view; gyrekv reports this constant plus the buffers it knows).
CLIENT_BASE_MEMORY_BYTES = 20 * 1024
# Shared integers (OBJ_SHARED_INTEGERS) report this refcount in DEBUG OBJECT.
SHARED_INTEGERS = 10_000
SHARED_REFCOUNT = 2**31 - 1
LRU_CLOCK_MAX = (1 << 24) - 1
ADDRESS_BASE = 0x7F0000000000
_STRTOD_PREFIX = re.compile(
    rb"[ \t\n\v\f\r]*[+-]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|inf(?:inity)?|nan)",
    re.IGNORECASE)


# -- connection ----------------------------------------------------------------


@register("ping", -1, "fast", group="connection", since="1.0.0", summary="Ping the server",
          syntax="[message]", tips="request_policy:all_shards response_policy:all_succeeded")
def ping(s: Session, argv: list[bytes]) -> Any:
    """PING [message]: PONG, or the message; in RESP2 subscribed mode a ["pong", msg] array."""
    n = len(argv)
    if n > 2:
        raise CommandError(errors.wrong_arity("ping"))
    if s.pubsub_count and not s.resp3:
        return [b"pong", argv[1] if n == 2 else b""]
    return PONG if n == 1 else argv[1]


@register("echo", 2, "loading stale fast", group="connection", since="1.0.0",
          summary="Echo the given string", syntax="message")
def echo(s: Session, argv: list[bytes]) -> Any:
    """ECHO message."""
    return argv[1]


def _check_client_name(name: bytes) -> None:
    """Redis refuses names with bytes outside '!'..'~' (spaces, newlines, non-ASCII)."""
    for ch in name:
        if ch < 0x21 or ch > 0x7E:
            raise CommandError(errors.CLIENT_NAME)


def _authenticate(s: Session, username: bytes, password: bytes) -> bool:
    """Check a username/password pair against the default user; True on success.

    gyrekv has one user, ``default``: with no requirepass it takes any
    password (Redis's ``nopass``), otherwise only requirepass.
    """
    if username != DEFAULT_USER:
        return False
    required: str = s.engine.config["requirepass"]
    if required and not hmac.compare_digest(password, required.encode()):
        return False
    s.authenticated = True
    s.attention = True  # the driver's request limits change with it
    return True


def _hello_reply(s: Session) -> dict[bytes, Any]:
    host = s.engine.host
    return {
        b"server": SERVER_NAME,
        b"version": REDIS_VERSION,
        b"proto": 3 if s.resp3 else 2,
        b"id": s.id,
        b"mode": host.mode.encode(),
        b"role": b"master",
        b"modules": [],
    }


@register("hello", -1, "noscript loading stale fast no_auth allow_busy", group="connection",
          since="6.0.0", summary="Handshake with Redis",
          syntax="[arguments: protover [AUTH username password] [SETNAME clientname]]",
          history=(("6.2.0", "`protover` made optional; when called without arguments the "
                             "command reports the current connection's context."),))
def hello(s: Session, argv: list[bytes]) -> Any:
    """HELLO [protover [AUTH username password] [SETNAME clientname]].

    Options apply left to right as Redis 7.0 does: a SETNAME takes effect
    even if a later option fails.
    """
    version = 0
    n = len(argv)
    if n >= 2:
        version = to_int(argv[1], errors.PROTOCOL_NOT_INTEGER)
        if version < 2 or version > 3:
            raise CommandError(errors.PROTOCOL_VERSION)
    j = 2
    while j < n:
        more = n - 1 - j
        opt = argv[j].lower()
        if opt == b"auth" and more >= 2:
            if s.engine.monitors:  # hidden from MONITOR, whatever follows
                s.redacted += (j + 1, j + 2)
            if not _authenticate(s, argv[j + 1], argv[j + 2]):
                raise CommandError(errors.WRONGPASS)
            j += 3
        elif opt == b"setname" and more >= 1:
            _check_client_name(argv[j + 1])
            s.name = argv[j + 1]
            j += 2
        else:
            raise CommandError(errors.HELLO_SYNTAX % argv[j])
    if not s.authenticated:
        raise CommandError(errors.HELLO_NOAUTH)
    if version:
        s.resp3 = version == 3
        s.attention = True  # replies before this one were in the old protocol
    return _hello_reply(s)


@register("auth", -2, "noscript loading stale fast no_auth allow_busy", group="connection",
          since="1.0.0", complexity="O(N) where N is the number of passwords defined for the user",
          summary="Authenticate to the server", syntax="[username@6.0.0] password",
          history=(("6.0.0", "Added ACL style (username and password)."),))
def auth(s: Session, argv: list[bytes]) -> Any:
    """AUTH [username] password; a failed AUTH leaves the session as it was."""
    n = len(argv)
    if n > 3:
        raise CommandError(errors.SYNTAX)
    if s.engine.monitors:  # hidden from MONITOR, whatever follows
        s.redacted = (1, 2)
    if n == 2:
        if not s.engine.config["requirepass"]:
            raise CommandError(errors.AUTH_NOT_CONFIGURED)
        username, password = DEFAULT_USER, argv[1]
    else:
        username, password = argv[1], argv[2]
    if not _authenticate(s, username, password):
        raise CommandError(errors.WRONGPASS)
    return OK


@register("select", 2, "loading stale fast", group="connection", since="1.0.0",
          summary="Change the selected database for the current connection", syntax="index")
def select(s: Session, argv: list[bytes]) -> Any:
    """SELECT index: an integer, then an int32 (getIntFromObjectOrReply), then 0..databases-1."""
    index = to_int(argv[1])
    if index < INT32_MIN or index > INT32_MAX:
        raise CommandError(errors.INT_RANGE)
    if index < 0 or index >= len(s.engine.dbs):
        raise CommandError(errors.DB_INDEX)
    s.select(index)
    return OK


@register("quit", -1, "noscript loading stale fast no_auth allow_busy", group="connection",
          since="1.0.0", summary="Close the connection")
def quit_(s: Session, argv: list[bytes]) -> Any:
    """QUIT: reply OK, then the driver closes the connection."""
    s.close_after_reply = s.attention = True
    return OK


@register("reset", 1, "noscript loading stale fast no_auth allow_busy", group="connection",
          since="6.2.0", summary="Reset the connection")
def reset(s: Session, argv: list[bytes]) -> Any:
    """RESET: leave MULTI and WATCH, db 0, RESP2, no name, re-authenticate if a password is set."""
    s.multi = None
    s.multi_error = False
    s.unwatch()
    s.engine.pubsub.forget(s)
    monitor_feed.stop(s)
    s.select(0)
    s.resp3 = False
    s.name = b""
    s.flags = "N"
    s.authenticated = not s.engine.config["requirepass"]
    s.attention = True  # the driver's request limits may change with it
    return SimpleString(b"RESET")


# -- CLIENT --------------------------------------------------------------------

container("client", group="connection", since="2.4.0",
          summary="A container for client connection commands")

# Redis 7.0's CLIENT HELP lines, per subcommand, in its order.
_CLIENT_HELP: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("getname", ("GETNAME", "    Return the name of the current connection.")),
    ("id", ("ID", "    Return the ID of the current connection.")),
    ("info", ("INFO", "    Return information about the current client connection.")),
    ("kill", (
        "KILL <ip:port>",
        "    Kill connection made from <ip:port>.",
        "KILL <option> <value> [<option> <value> [...]]",
        "    Kill connections. Options are:",
        "    * ADDR (<ip:port>|<unixsocket>:0)",
        "      Kill connections made from the specified address",
        "    * LADDR (<ip:port>|<unixsocket>:0)",
        "      Kill connections made to specified local address",
        "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
        "      Kill connections by type.",
        "    * USER <username>",
        "      Kill connections authenticated by <username>.",
        "    * SKIPME (YES|NO)",
        "      Skip killing current connection (default: yes).",
    )),
    ("list", (
        "LIST [options ...]",
        "    Return information about client connections. Options:",
        "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
        "      Return clients of specified type.",
    )),
    ("setname", ("SETNAME <name>", "    Assign the name <name> to the current connection.")),
    ("no-evict", ("NO-EVICT (ON|OFF)", "    Protect current client connection from eviction.")),
)


def _help(container_name: str, lines: list[str]) -> list[bytes]:
    """A HELP reply in Redis's layout: header, the lines, then HELP itself."""
    out = [f"{container_name} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"]
    out += lines
    out += ["HELP", "    Prints this help."]
    return [line.encode() for line in out]


def _client_type(s: Session) -> str:
    """normal | master | replica | pubsub, as Redis's getClientType classifies."""
    if "S" in s.flags:
        return "replica"
    if s.pubsub_count:
        return "pubsub"
    if "M" in s.flags:
        return "master"
    return "normal"


_CLIENT_TYPES = {b"normal": "normal", b"master": "master", b"replica": "replica",
                 b"slave": "replica", b"pubsub": "pubsub"}


def _parse_client_type(raw: bytes) -> str:
    kind = _CLIENT_TYPES.get(raw.lower())
    if kind is None:
        raise CommandError((errors.UNKNOWN_CLIENT_TYPE % raw.decode(errors="replace")).encode())
    return kind


def _client_flags(c: Session) -> str:
    """Redis's flags field: one letter per state, 'N' when there is none."""
    base = c.flags.replace("N", "")
    out = []
    for letter in "OSM":
        if letter in base:
            out.append(letter)
    if c.pubsub_count:
        out.append("P")
    if c.multi is not None:
        out.append("x")
    if c.blocked is not None:
        out.append("b")
    if c.watch_dirty:
        out.append("d")
    if c.close_after_reply:
        out.append("c")
    if c.kill:
        out.append("A")
    for letter in base:
        if letter not in "OSMPxbdcA":
            out.append(letter)
    return "".join(out) or "N"


def client_info_line(c: Session, now_ms: int, caller: Session | None = None,
                     argv_bytes: int = 0) -> bytes:
    """One CLIENT LIST line (without the newline), fields in Redis 7.0's order.

    Args:
        c: the client described.
        now_ms: the current time.
        caller: the client running CLIENT LIST/INFO (it is not idle, and its
            current command's arguments count as argv-mem).
        argv_bytes: size of the caller's current arguments.
    """
    me = c is caller
    idle_ms = 0 if me else max(0, now_ms - c.last_ms)
    multi_mem = 0
    if c.multi is not None:
        multi_mem = sum(len(a) for _, args in c.multi for a in args)
    argv_mem = argv_bytes if me else 0
    qbuf = c.query_buffer_bytes
    obl = c.output_buffer_bytes
    tot_mem = CLIENT_BASE_MEMORY_BYTES + qbuf + argv_mem + multi_mem + obl
    head = f"id={c.id} addr={c.addr} laddr={c.laddr} fd={c.fd} name="
    multi = len(c.multi) if c.multi is not None else -1
    tail = (
        f" age={max(0, now_ms - c.created_ms) // 1000} idle={idle_ms // 1000}"
        f" flags={_client_flags(c)} db={c.db_index} sub={len(c.subscriptions)}"
        f" psub={len(c.patterns)} ssub={len(c.shard_subscriptions)} multi={multi}"
        f" qbuf={qbuf} qbuf-free=0 argv-mem={argv_mem} multi-mem={multi_mem}"
        f" rbs={REPLY_BUFFER_BYTES} rbp={REPLY_BUFFER_BYTES} obl={obl} oll=0 omem=0"
        f" tot-mem={tot_mem} events={'rw' if obl else 'r'}"
        f" cmd={c.last_cmd.decode(errors='replace')} user=default redir=-1"
        f" resp={3 if c.resp3 else 2}"
    )
    return head.encode() + c.name + tail.encode()


def _argv_bytes(argv: list[bytes]) -> int:
    return sum(len(a) for a in argv)


@register("client|id", 2, "noscript loading stale", group="connection", since="5.0.0",
          summary="Returns the client ID for the current connection")
def client_id(s: Session, argv: list[bytes]) -> Any:
    """CLIENT ID."""
    return s.id


@register("client|setname", 3, "noscript loading stale", group="connection", since="2.6.9",
          summary="Set the current connection name", syntax="connection-name")
def client_setname(s: Session, argv: list[bytes]) -> Any:
    """CLIENT SETNAME name (an empty name removes it)."""
    _check_client_name(argv[2])
    s.name = argv[2]
    return OK


@register("client|getname", 2, "noscript loading stale", group="connection", since="2.6.9",
          summary="Get the current connection name")
def client_getname(s: Session, argv: list[bytes]) -> Any:
    """CLIENT GETNAME: the name, or null when there is none."""
    return s.name or None


@register("client|info", 2, "noscript loading stale", group="connection", since="6.2.0",
          summary="Returns information about the current client connection.",
          tips="nondeterministic_output")
def client_info(s: Session, argv: list[bytes]) -> Any:
    """CLIENT INFO: this client's CLIENT LIST line."""
    return Verbatim(client_info_line(s, s.now_ms, s, _argv_bytes(argv)) + b"\n")


@register("client|list", -2, "admin noscript loading stale", group="connection", since="2.4.0",
          complexity="O(N) where N is the number of client connections",
          summary="Get the list of client connections",
          syntax=("[TYPE (NORMAL | MASTER | REPLICA | PUBSUB)@5.0.0] [id: ID{block} client-id "
                  "[client-id ...]]@6.2.0"),
          tips="nondeterministic_output",
          history=(("2.8.12", "Added unique client `id` field."),
                   ("5.0.0", "Added optional `TYPE` filter."),
                   ("6.0.0", "Added `user` field."),
                   ("6.2.0", "Added `argv-mem`, `tot-mem`, `laddr` and `redir` fields and the "
                             "optional `ID` filter."),
                   ("7.0.0", "Added `resp`, `multi-mem`, `rbs` and `rbp` fields."),
                   ("7.0.3", "Added `ssub` field.")))
def client_list(s: Session, argv: list[bytes]) -> Any:
    """CLIENT LIST [TYPE type] | [ID id [id ...]]: one line per client."""
    engine = s.engine
    n = len(argv)
    argv_bytes = _argv_bytes(argv)
    if n == 4 and argv[2].lower() == b"type":
        kind = _parse_client_type(argv[3])
        chosen = [c for c in engine.clients.values() if _client_type(c) == kind]
    elif n > 3 and argv[2].lower() == b"id":
        chosen = []
        for raw in argv[3:]:
            cid = to_int(raw, errors.INVALID_CLIENT_ID)
            c = engine.clients.get(cid)
            if c is not None:
                chosen.append(c)
    elif n != 2:
        raise CommandError(errors.SYNTAX)
    else:
        chosen = list(engine.clients.values())
    now = s.now_ms
    return Verbatim(b"".join(client_info_line(c, now, s, argv_bytes) + b"\n" for c in chosen))


@register("client|kill", -3, "admin noscript loading stale", group="connection", since="2.4.0",
          complexity="O(N) where N is the number of client connections",
          summary="Kill the connection of a client",
          syntax=("(filter: ip:port{deprecated=2.8.12} | (new-format: [ID client-id@2.8.12] | "
                  "[TYPE (normal_master_slave_pubsub: NORMAL | MASTER@3.2.0 | SLAVE | "
                  "REPLICA@5.0.0 | PUBSUB)@2.8.12] | [USER username] | [ADDR ip:port] | [LADDR "
                  "ip:port@6.2.0] | [SKIPME yes/no]) [client-id normal_master_slave_pubsub "
                  "username ip:port ip:port yes/no ...])"),
          history=(("2.8.12", "Added new filter format."),
                   ("2.8.12", "`ID` option."),
                   ("3.2.0", "Added `master` type in for `TYPE` option."),
                   ("5.0.0", "Replaced `slave` `TYPE` with `replica`. `slave` still supported "
                             "for backward compatibility."),
                   ("6.2.0", "`LADDR` option.")))
def client_kill(s: Session, argv: list[bytes]) -> Any:
    """CLIENT KILL addr | CLIENT KILL filter value [filter value ...].

    The old form replies OK (or "No such client") and may kill the caller;
    the new form replies the number killed and skips the caller unless
    ``SKIPME no``. A killed client gets ``kill`` set (the caller gets
    ``close_after_reply``). MAXAGE (seconds connected) is Redis 7.4's filter,
    accepted here as an extension.
    """
    engine = s.engine
    n = len(argv)
    client_id_: int | None = None
    kind: str | None = None
    addr: bytes | None = None
    laddr: bytes | None = None
    maxage: int | None = None
    skipme = True
    if n == 3:
        addr = argv[2]
        skipme = False
    else:
        i = 2
        while i < n:
            opt = argv[i].lower()
            more = i + 1 < n
            if not more:
                raise CommandError(errors.SYNTAX)
            value = argv[i + 1]
            if opt == b"id":
                client_id_ = to_int(value, errors.CLIENT_ID_POSITIVE)
                if client_id_ < 1:
                    raise CommandError(errors.CLIENT_ID_POSITIVE)
            elif opt == b"type":
                kind = _parse_client_type(value)
            elif opt == b"addr":
                addr = value
            elif opt == b"laddr":
                laddr = value
            elif opt == b"user":
                if value != DEFAULT_USER:
                    unknown_user = value.decode(errors="replace")
                    raise CommandError((errors.NO_SUCH_USER % unknown_user).encode())
            elif opt == b"skipme":
                lowered = value.lower()
                if lowered == b"yes":
                    skipme = True
                elif lowered == b"no":
                    skipme = False
                else:
                    raise CommandError(errors.SYNTAX)
            elif opt == b"maxage":
                maxage = to_int(value)
            else:
                raise CommandError(errors.SYNTAX)
            i += 2
    killed = 0
    now = s.now_ms
    for c in list(engine.clients.values()):
        if addr is not None and c.addr.encode() != addr:
            continue
        if laddr is not None and c.laddr.encode() != laddr:
            continue
        if kind is not None and _client_type(c) != kind:
            continue
        if client_id_ is not None and c.id != client_id_:
            continue
        if maxage is not None and (now - c.created_ms) // 1000 < maxage:
            continue
        if c is s:
            if skipme:
                continue
            s.close_after_reply = s.attention = True
        else:
            c.kill = c.attention = True
            s.engine.killed.append(c)
            s.attention = True  # the driver closes the killed clients after this batch
        killed += 1
    if n == 3:
        if not killed:
            raise CommandError(errors.NO_SUCH_CLIENT)
        return OK
    return killed


@register("client|no-evict", 3, "admin noscript loading stale", group="connection", since="7.0.0",
          summary="Set client eviction mode for the current connection",
          syntax="(enabled: ON | OFF)")
def client_no_evict(s: Session, argv: list[bytes]) -> Any:
    """CLIENT NO-EVICT ON|OFF (gyrekv never evicts clients; the flag shows as 'e')."""
    mode = argv[2].lower()
    base = s.flags.replace("N", "").replace("e", "")
    if mode == b"on":
        base += "e"
    elif mode != b"off":
        raise CommandError(errors.SYNTAX)
    s.flags = base or "N"
    return OK


@register("client|help", 2, "loading stale", group="connection", since="5.0.0",
          summary="Show helpful text about the different subcommands")
def client_help(s: Session, argv: list[bytes]) -> Any:
    """CLIENT HELP: Redis's lines for the subcommands gyrekv has."""
    subs = TABLE.by_name["client"].subcommands
    lines: list[str] = []
    for name, text in _CLIENT_HELP:
        if name.encode() in subs:
            lines += text
    return _help("CLIENT", lines)


# -- INFO, CONFIG ----------------------------------------------------------------


@register("info", -1, "loading stale", group="server", since="1.0.0",
          summary="Get information and statistics about the server",
          syntax="[section [section ...]]",
          tips="nondeterministic_output request_policy:all_shards response_policy:special",
          acl="dangerous",
          history=(("7.0.0", "Added support for taking multiple section arguments."),))
def info_(s: Session, argv: list[bytes]) -> Any:
    """INFO [section ...]: CRLF-separated "field:value" lines under "# Section" headers."""
    return Verbatim(info.build_info(s.engine, argv[1:], s.now_ms))


container("config", group="server", since="2.0.0",
          summary="A container for server configuration commands")


@register("config|get", -3, "admin noscript loading stale", group="server", since="2.0.0",
          complexity="O(N) when N is the number of configuration parameters provided",
          summary="Get the values of configuration parameters",
          syntax="(parameter){block} [parameter ...]",
          history=(("7.0.0", "Added the ability to pass multiple pattern parameters in one call"),))
def config_get(s: Session, argv: list[bytes]) -> Any:
    """CONFIG GET pattern [pattern ...]: a map of matching parameters."""
    return s.engine.config.get(argv[2:])


@register("config|set", -4, "admin noscript loading stale", group="server", since="2.0.0",
          complexity="O(N) when N is the number of configuration parameters provided",
          summary="Set configuration parameters to the given values",
          syntax="parameter value [parameter value ...]",
          tips="request_policy:all_nodes response_policy:all_succeeded",
          history=(("7.0.0", "Added the ability to set multiple parameters in one call."),))
def config_set(s: Session, argv: list[bytes]) -> Any:
    """CONFIG SET name value [name value ...]: all or nothing."""
    if len(argv) % 2:
        raise CommandError(errors.SYNTAX)
    s.engine.config.set([(argv[i], argv[i + 1]) for i in range(2, len(argv), 2)])
    return OK


@register("config|resetstat", 2, "admin noscript loading stale", group="server", since="2.0.0",
          summary="Reset the stats returned by INFO")
def config_resetstat(s: Session, argv: list[bytes]) -> Any:
    """CONFIG RESETSTAT: zero the INFO counters."""
    s.engine.reset_stats()
    return OK


@register("config|rewrite", 2, "admin noscript loading stale", group="server", since="2.8.0",
          summary="Rewrite the configuration file with the in memory configuration")
def config_rewrite(s: Session, argv: list[bytes]) -> Any:
    """CONFIG REWRITE: Redis's error without a config file; gyrekv never writes one."""
    if not s.engine.host.config_file:
        raise CommandError(errors.CONFIG_NO_FILE)
    raise CommandError(errors.CONFIG_REWRITE)


_CONFIG_HELP = (
    "GET <pattern>",
    "    Return parameters matching the glob-like <pattern> and their values.",
    "SET <directive> <value>",
    "    Set the configuration <directive> to <value>.",
    "RESETSTAT",
    "    Reset statistics reported by the INFO command.",
    "REWRITE",
    "    Rewrite the configuration file.",
)


@register("config|help", 2, "loading stale", group="server", since="5.0.0",
          summary="Show helpful text about the different subcommands")
def config_help(s: Session, argv: list[bytes]) -> Any:
    """CONFIG HELP."""
    return _help("CONFIG", list(_CONFIG_HELP))


# -- time, persistence, functions ------------------------------------------------


@register("time", 1, "loading stale fast", group="server", since="2.6.0",
          summary="Return the current server time", tips="nondeterministic_output")
def time_(s: Session, argv: list[bytes]) -> Any:
    """TIME: [unix seconds, microseconds] as bulk strings (ms resolution)."""
    now = s.now_ms
    return [str(now // 1000).encode(), str((now % 1000) * 1000).encode()]


@register("role", 1, "noscript loading stale fast", group="server", since="2.8.12",
          summary="Return the role of the instance in the context of replication", acl="admin dangerous")
def role(s: Session, argv: list[bytes]) -> Any:
    """ROLE: a master with no replicas and replication offset 0, as INFO replication says."""
    return [b"master", 0, []]


@register("lastsave", 1, "loading stale fast", group="server", since="1.0.0",
          summary="Get the UNIX time stamp of the last successful save to disk",
          tips="nondeterministic_output", acl="admin dangerous")
def lastsave(s: Session, argv: list[bytes]) -> Any:
    """LASTSAVE: gyrekv never saves, so the time the server started."""
    return s.engine.last_save_ms // 1000


@register("save", 1, "admin noscript no_async_loading no_multi", group="server", since="1.0.0",
          complexity="O(N) where N is the total number of keys in all databases",
          summary="Synchronously save the dataset to disk")
def save(s: Session, argv: list[bytes]) -> Any:
    """SAVE: gyrekv keeps no persistence."""
    raise CommandError(errors.NO_PERSISTENCE)


@register("bgsave", -1, "admin noscript no_async_loading", group="server", since="1.0.0",
          summary="Asynchronously save the dataset to disk", syntax="[SCHEDULE@3.2.2]",
          history=(("3.2.2", "Added the `SCHEDULE` option."),))
def bgsave(s: Session, argv: list[bytes]) -> Any:
    """BGSAVE [SCHEDULE]: option checked as Redis does, then: no persistence."""
    if len(argv) > 2 or (len(argv) == 2 and argv[1].lower() != b"schedule"):
        raise CommandError(errors.SYNTAX)
    raise CommandError(errors.NO_PERSISTENCE)


_SHUTDOWN_FLAGS = {b"NOSAVE", b"SAVE", b"NOW", b"FORCE"}


@register("shutdown", -1, "admin noscript loading stale no_multi allow_busy", group="server",
          since="1.0.0",
          complexity=("O(N) when saving, where N is the total number of keys in all databases when "
                      "saving data, otherwise O(1)"),
          summary="Synchronously save the dataset to disk and then shut down the server",
          syntax="[nosave_save: NOSAVE | SAVE] [NOW@7.0.0] [FORCE@7.0.0] [ABORT@7.0.0]",
          history=(("7.0.0", "Added the `NOW`, `FORCE` and `ABORT` modifiers."),))
def shutdown(s: Session, argv: list[bytes]) -> Any:
    """SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] | ABORT: ask the driver to close every client and exit.

    No reply on success, as Redis exits. gyrekv has nothing to save and no
    replicas to wait for, so a shutdown never stays in progress (ABORT finds
    none) and SAVE fails unless FORCE says to stop anyway.
    """
    flags: set[bytes] = set()
    abort = False
    for raw in argv[1:]:
        word = c_word(raw)
        if word in _SHUTDOWN_FLAGS:
            flags.add(word)
        elif word == b"ABORT":
            abort = True
        else:
            raise CommandError(errors.SYNTAX)
    if (abort and flags) or {b"NOSAVE", b"SAVE"} <= flags:
        raise CommandError(errors.SYNTAX)
    if abort:
        raise CommandError(errors.NO_SHUTDOWN_IN_PROGRESS)
    if b"SAVE" in flags and b"FORCE" not in flags:
        raise CommandError(errors.SHUTDOWN_SAVE_FAILED)
    s.engine.shutdown_requested = True
    return no_reply(s)


@register("bgrewriteaof", 1, "admin noscript no_async_loading", group="server", since="1.0.0",
          summary="Asynchronously rewrite the append-only file")
def bgrewriteaof(s: Session, argv: list[bytes]) -> Any:
    """BGREWRITEAOF: gyrekv keeps no persistence."""
    raise CommandError(errors.NO_PERSISTENCE)


# -- DEBUG -----------------------------------------------------------------------

_DEBUG_HELP = (
    "OBJECT <key>",
    "    Show low level info about `key` and associated value.",
    "SLEEP <seconds>",
    "    Stop the server for <seconds>. Decimals allowed.",
)


def _strtod(raw: bytes) -> float:
    """C strtod on a whole argument: the longest numeric prefix, 0 when there is none."""
    m = _STRTOD_PREFIX.match(raw)
    if not m:
        return 0.0
    return float(m.group(0).strip())


def _len_prefix_bytes(n: int) -> int:
    """Bytes of an RDB length prefix (rdbSaveLen)."""
    if n < 1 << 6:
        return 1
    if n < 1 << 14:
        return 2
    if n <= 0xFFFFFFFF:
        return 5
    return 9


def _int_encoded_bytes(value: int) -> int | None:
    """Bytes of an RDB integer-encoded string, or None if it does not fit 32 bits."""
    if -(2**7) <= value < 2**7:
        return 2
    if -(2**15) <= value < 2**15:
        return 3
    if -(2**31) <= value < 2**31:
        return 5
    return None


def serialized_length(value: Any, encoding: bytes) -> int:
    """DEBUG OBJECT's serializedlength: the RDB size of a value, without LZF compression.

    Strings are exact up to 20 bytes (longer ones Redis may LZF-compress,
    which gyrekv does not model); collections report the sum of their
    elements' sizes if they can list them, else 0.
    """
    data = string_bytes(value)
    if data is not None:
        if encoding == b"int" or (len(data) <= 11 and _looks_int(data)):
            size = _int_encoded_bytes(int(data))
            if size is not None:
                return size
        return _len_prefix_bytes(len(data)) + len(data)
    size = getattr(value, "serialized_length", None)
    return int(size()) if callable(size) else 0


def _looks_int(data: bytes) -> bool:
    return bool(re.fullmatch(rb"0|-?[1-9][0-9]*", data))


def debug_object_line(s: Session, key: bytes, value: Any) -> bytes:
    """Redis's DEBUG OBJECT line for a stored value.

    The address is a stable stand-in derived from the key (gyrekv values have
    no C address); lru is the key's last access in seconds on a 24-bit clock.
    """
    config = s.engine.config
    encoding = encoding_of(value, config)
    refcount = 1
    if encoding == b"int" and 0 <= int(value) < SHARED_INTEGERS:
        refcount = SHARED_REFCOUNT
    now_s = s.now_ms // 1000
    atime_s = s.db.atime.get(key, s.now_ms) // 1000
    lru = atime_s & LRU_CLOCK_MAX
    clock = now_s & LRU_CLOCK_MAX
    idle = clock - lru if clock >= lru else LRU_CLOCK_MAX - lru + clock
    address = ADDRESS_BASE + (crc32(key) << 4)
    return (f"Value at:0x{address:x} refcount:{refcount} encoding:{encoding.decode()} "
            f"serializedlength:{serialized_length(value, encoding)} lru:{lru} "
            f"lru_seconds_idle:{idle}").encode()


def _spin(steps: int) -> int:
    """DEBUG SPIN: `steps` turns of a Python loop (the interpreter still takes signals between them)."""
    acc = 0
    for i in range(steps):
        acc ^= i
    return acc


@register("debug", -2, "admin noscript loading stale", group="server", since="1.0.0",
          complexity="Depends on subcommand.", summary="A container for debugging commands",
          doc_flags="syscmd")
def debug(s: Session, argv: list[bytes]) -> Any:
    """DEBUG SLEEP seconds | OBJECT key | HELP."""
    sub = argv[1].lower()
    n = len(argv)
    if sub == b"help" and n == 2:
        return _help("DEBUG", list(_DEBUG_HELP))
    if sub == b"sleep" and n == 3:
        seconds = _strtod(argv[2])
        if not math.isfinite(seconds) or seconds <= 0:
            seconds = 0.0
        s.sleep_ms = int(seconds * 1000)
        s.attention = True
        return OK
    if sub == b"spin" and n == 3:
        _spin(to_int(argv[2]))
        return OK
    if sub == b"object" and n == 3:
        value = s.db.lookup(argv[2], s.now_ms)
        if value is None:
            raise CommandError(errors.NO_SUCH_KEY)
        return SimpleString(debug_object_line(s, argv[2], value))
    raise CommandError(errors.subcommand_syntax(argv))
