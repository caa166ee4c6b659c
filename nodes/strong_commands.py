"""Strong mode for RESP commands: which commands are one CASPaxos round, and their change function.

Strategy: in strong mode every command that touches exactly one key is one
CASPaxos round on that key (`nodes.strong.StrongKv.submit_command`), reads
included. The register holds the key's `Image` (any Redis type with its
absolute expiry, or absent); the change function loads that image into a
private scratch `Engine`, runs the command through `Engine.execute` exactly
as a client's command runs, and reads the key back as the new image. So the
command's semantics, its error texts and its reply are the engine's, byte
for byte, and nothing but the one key can be seen or changed.

`classify(argv)` reads the command table (`crdt.commands.TABLE`: flags,
group, key specs) and sorts every command into one of three routes:

* ``LOCAL``: runs on the serving node's own engine, no round. Keyless
  commands that do not read or write the keyspace (PING, ECHO, HELLO, AUTH,
  SELECT, QUIT, RESET, INFO, CONFIG, CLIENT, COMMAND, TIME, LASTSAVE, ROLE,
  SLOWLOG, LATENCY, MEMORY's keyless subcommands, DEBUG, MONITOR, SAVE,
  BGSAVE, BGREWRITEAOF, SHUTDOWN). What they report about keys (INFO
  keyspace, MONITOR, DEBUG) is this node's own engine, not the replicated
  keyspace. Also LOCAL, as Redis Cluster does it: an unknown command or
  subcommand, a wrong argument count, and a keyed command whose keys
  cannot be found (``ZUNION abc``): the engine answers their error without
  touching a key.
* ``SINGLE_KEY``: the command's key specs find exactly one distinct key
  (``EXISTS k k`` and ``RPOPLPUSH k k`` count as one), and it is none of the
  refused classes below.
* ``REFUSED``: answered at once with an error naming the mode (`REFUSALS`):

  - several keys: MSET, MGET, DEL/EXISTS/UNLINK/TOUCH of several keys,
    RENAME, COPY (and COPY ... DB), LMOVE, SMOVE, SINTERSTORE and the other
    *STORE commands, ZUNION & co., LCS, MOVE (the key in two databases),
    SORT/SORT_RO with ``STORE`` or a ``BY``/``GET`` pattern (they read other
    keys);
  - the whole keyspace: KEYS, SCAN, DBSIZE, RANDOMKEY, FLUSHDB, FLUSHALL,
    SWAPDB;
  - transactions: MULTI, EXEC, DISCARD, WATCH, UNWATCH;
  - blocking commands: BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP, BZPOPMIN,
    BZPOPMAX, BZMPOP (even with one key: a round cannot wait for a
    push; the non-blocking forms LPOP, RPOP, ... work);
  - scripting: the ``scripting`` group (FUNCTION; EVAL and SCRIPT once they
    exist);
  - pub/sub: SUBSCRIBE, PUBLISH and the rest (messages are not replicated
    between nodes, so a subscriber would miss what other nodes publish).

A RESP key's register is named ``r:<db>:<key as Latin-1>`` (`resp_key`): the
database in canonical decimal, so one Redis key has one name. Lin-kv keys
are canonical JSON text, which never starts with ``r``, so the two never
collide; `check_state` makes sure a peer's state is of the key's kind.

A command op's result is its complete RESP reply, encoded in the client's
protocol (RESP2 or RESP3), error replies included (a WRONGTYPE is the
command's answer and changes nothing). A command that can write (not
flagged ``readonly``) records that reply in the done table (Latin-1 text in
JSON, see `nodes.caspaxos.DoneEntry`), so a retried op answers what it did
the first time; a read-only one records nothing and simply reads again.
"""

from __future__ import annotations

import enum
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

from crdt.commands import TABLE
from crdt.commands.introspection import find_keys
from crdt.config import Config
from crdt.engine import Engine
from crdt.errors import CommandError
from crdt.replication.images import image_of, restore
from crdt.table import Command
from nodes.caspaxos import DoneEntry, Op, OpKind, RegState, Result, finish_done, live_done
from protocol.errors import ProtocolError
from protocol.resp import encode

__all__ = [
    "REFUSALS", "RESP_KEY_PREFIX", "CommandScratch", "Route", "RouteKind", "apply_commands",
    "check_state", "classify", "is_resp_key", "parse_resp_key", "resp_key",
]

#: Register names of RESP keys start with this (lin-kv's canonical JSON keys never do).
RESP_KEY_PREFIX: Final[str] = "r:"
#: Highest database index a peer may name (Redis's ``databases`` is at most this).
DB_INDEX_MAX: Final[int] = (1 << 31) - 1

_WHY_ONE_KEY = "(strong mode replicates one key per command)"
#: Why a command is refused in strong mode -> the error text (``{name}``: the command, upper case).
REFUSALS: Final[dict[str, str]] = {
    "several-keys": "ERR '{name}' is not allowed in strong mode: it touches several keys " + _WHY_ONE_KEY,
    "keyspace": "ERR '{name}' is not allowed in strong mode: it reads or writes the whole keyspace "
                + _WHY_ONE_KEY,
    "transaction": "ERR '{name}' is not allowed in strong mode: transactions (MULTI/EXEC/WATCH) are not "
                   "supported " + _WHY_ONE_KEY,
    "blocking": "ERR '{name}' is not allowed in strong mode: blocking commands are not supported; "
                "use the non-blocking form",
    "scripting": "ERR '{name}' is not allowed in strong mode: scripts and functions are not supported",
    "pubsub": "ERR '{name}' is not allowed in strong mode: pub/sub messages are not replicated "
              "between nodes",
}


class RouteKind(enum.Enum):
    LOCAL = "local"  # run on the node's own engine, no round
    SINGLE_KEY = "single-key"  # one CASPaxos round on the key
    REFUSED = "refused"  # answer `Route.error`


@dataclass(frozen=True, slots=True)
class Route:
    """Where a command goes in strong mode (see module doc).

    Attributes:
        kind: the route.
        key: SINGLE_KEY: the key.
        readonly: SINGLE_KEY: the command never writes (its reply is not recorded).
        error: REFUSED: the error text (an `ErrorReply`'s bytes, without ``-`` and CRLF).
    """

    kind: RouteKind
    key: bytes | None = None
    readonly: bool = False
    error: bytes | None = None


LOCAL: Final = Route(RouteKind.LOCAL)


def _display_name(cmd: Command) -> str:
    return cmd.name.upper().replace("|", " ")


def _refusal(cmd: Command, reason: str) -> Route:
    return Route(RouteKind.REFUSED, error=REFUSALS[reason].format(name=_display_name(cmd)).encode())


def _static_route(cmd: Command) -> Route | None:
    """The route a command gets whatever its arguments, or None when its keys decide."""
    if cmd.group == "transactions":
        return _refusal(cmd, "transaction")
    if cmd.group == "scripting":
        return _refusal(cmd, "scripting")
    if "pubsub" in cmd.flags:
        return _refusal(cmd, "pubsub")
    if "blocking" in cmd.flags:
        return _refusal(cmd, "blocking")
    if cmd.name == "move":
        return _refusal(cmd, "several-keys")  # the key in two databases
    if not cmd.key_specs:
        if "readonly" in cmd.flags or "write" in cmd.flags:
            return _refusal(cmd, "keyspace")
        return LOCAL
    return None


#: Command row name -> its argument-independent route (None: look at the keys).
_STATIC: Final[dict[str, Route | None]] = {name: _static_route(cmd) for name, cmd in TABLE.by_name.items()}


def _key_is_first_argument(cmd: Command) -> bool:
    """Whether the command's one key is always ``argv[1]`` (GET, SET, INCR, LPUSH, HSET, ...):
    one key spec, index 1, a range of that key alone."""
    if _STATIC[cmd.name] is not None or len(cmd.key_specs) != 1 or cmd.name in ("sort", "sort_ro", "copy"):
        return False
    spec = cmd.key_specs[0]
    return spec.begin == ("index", 1) and spec.find[0] == "range" and spec.find[1] == 0


#: Command row name -> readonly, for the commands whose key is ``argv[1]`` (`classify`'s fast path).
_FIRST_ARGUMENT_KEY: Final[dict[str, bool]] = {
    name: "readonly" in cmd.flags for name, cmd in TABLE.by_name.items() if _key_is_first_argument(cmd)}


def _resolve(argv: Sequence[bytes]) -> Command | None:
    """The table row ``argv`` runs, or None when the engine will refuse it (name, subcommand, arity)."""
    cmd = TABLE.get(argv[0])
    if cmd is None:
        return None
    n = len(argv)
    if n != cmd.arity and (cmd.arity > 0 or n < -cmd.arity):
        return None
    if cmd.subcommands and (n > 1 or cmd.handler is None):
        sub = cmd.subcommands.get(argv[1]) or cmd.subcommands.get(argv[1].lower())
        if sub is None or (n != sub.arity and (sub.arity > 0 or n < -sub.arity)):
            return None
        cmd = sub
    return cmd


def _sort_reads_other_keys(argv: Sequence[bytes]) -> bool:
    """SORT/SORT_RO with STORE, or a BY or GET pattern that looks keys up."""
    i = 2
    n = len(argv)
    while i < n:
        word = argv[i].lower()
        if word == b"store":
            return True
        if word in (b"by", b"get") and i + 1 < n:
            pattern = argv[i + 1]
            if b"*" in pattern:  # Redis looks a pattern up only when it has a "*"
                return True
            i += 2
        elif word == b"limit":
            i += 3
        else:
            i += 1
    return False


def classify(argv: Sequence[bytes]) -> Route:
    """Where a command goes in strong mode (the rules are the module doc's).

    Args:
        argv: the command as the client sent it (name first).

    Returns:
        The route: LOCAL, SINGLE_KEY with its key, or REFUSED with its error text.
    """
    if not argv:
        return LOCAL
    cmd = _resolve(argv)
    if cmd is None:
        return LOCAL  # the engine answers the unknown command or the arity error
    static = _STATIC[cmd.name]
    if static is not None:
        return static
    readonly = _FIRST_ARGUMENT_KEY.get(cmd.name)
    if readonly is not None:  # arity is checked (`_resolve`): argv[1] is there
        return Route(RouteKind.SINGLE_KEY, key=argv[1], readonly=readonly)
    try:
        _, found = find_keys(list(argv))
    except CommandError:
        return LOCAL  # the keys cannot be found: the engine answers the command's own error
    keys = {argv[i] for i, _ in found}
    if not keys:
        return LOCAL
    if len(keys) > 1:
        return _refusal(cmd, "several-keys")
    if cmd.name in ("sort", "sort_ro") and _sort_reads_other_keys(argv):
        return _refusal(cmd, "several-keys")
    if cmd.name == "copy" and any(a.lower() == b"db" for a in argv[3:]):
        return _refusal(cmd, "several-keys")  # COPY k k DB n: the key in two databases
    (key,) = keys
    return Route(RouteKind.SINGLE_KEY, key=key, readonly="readonly" in cmd.flags)


# --- register names ------------------------------------------------------------------------


def resp_key(db: int, key: bytes) -> str:
    """The register name of ``key`` in database ``db``: ``r:<db>:<key as Latin-1>``."""
    assert 0 <= db <= DB_INDEX_MAX, db
    return f"{RESP_KEY_PREFIX}{db}:{key.decode('latin-1')}"


def is_resp_key(name: str) -> bool:
    """Whether a register name is a RESP key's (else it is a lin-kv key's)."""
    return name.startswith(RESP_KEY_PREFIX)


def parse_resp_key(name: str) -> tuple[int, bytes]:
    """``(db, key)`` of a RESP register name, validating a peer's input.

    Raises:
        ProtocolError: not ``r:<canonical decimal db>:<Latin-1 text>``.
    """
    if not name.startswith(RESP_KEY_PREFIX):
        raise ProtocolError(f"not a RESP key name: {name!r:.80}")
    db_text, colon, key_text = name[len(RESP_KEY_PREFIX):].partition(":")
    if (not colon or not db_text.isascii() or not db_text.isdigit()
            or (len(db_text) > 1 and db_text[0] == "0") or int(db_text) > DB_INDEX_MAX):
        raise ProtocolError(f"RESP key name needs a canonical database number: {name!r:.80}")
    try:
        key = key_text.encode("latin-1")
    except UnicodeEncodeError as exc:
        raise ProtocolError(f"RESP key name is not Latin-1 text: {name!r:.80}") from exc
    return int(db_text), key


def check_state(name: str, state: RegState, *, known: bool = False) -> None:
    """Check that a peer's state is of the key's kind (an image for a RESP key, JSON for lin-kv).

    Args:
        name: the register name.
        state: the state a peer sent for it.
        known: the name was checked before (a key this node has a slot or a proposer for).

    Raises:
        ProtocolError: a malformed RESP key name, or a value of the other kind.
    """
    if is_resp_key(name):
        if not known:
            parse_resp_key(name)
        if isinstance(state.value, bytes):
            raise ProtocolError(f"state for RESP key {name!r:.60} holds a lin-kv value")
    elif state.value is not None and not isinstance(state.value, bytes):
        raise ProtocolError(f"state for lin-kv key {name!r:.60} holds a key image")


# --- the change function ---------------------------------------------------------------------


class CommandScratch:
    """A private engine in which command ops run on one key at a time.

    It holds no key between batches: `apply_commands` loads the key's image,
    runs the batch and takes the key out again. Its config is the server's
    (shared, so CONFIG SET of an encoding limit applies here too); only
    database 0 is used, whatever database the key belongs to.

    Args:
        config: the serving engine's config.
        rng: randomness for SPOP, SRANDMEMBER & co.
    """

    def __init__(self, config: Config, rng: random.Random) -> None:
        self.engine = Engine(config=config, rng=rng)
        self.session = self.engine.open_session(0, addr="strong-scratch")
        self.session.authenticated = True  # the client was authenticated by its own node
        self.db = self.engine.dbs[0]

    def run(self, argv: Sequence[bytes], resp3: bool, now_ms: int) -> bytes:
        """Run one command in database 0; return its encoded reply."""
        session = self.session
        session.resp3 = resp3
        reply = self.engine.execute(list(argv), session, now_ms)
        session.attention = False  # nothing blocks or subscribes here (classify refuses them)
        return encode(reply, resp3)


def apply_commands(scratch: CommandScratch, key: bytes, current: RegState, ops: Sequence[Op], *,
                   origin: str, live_own: Iterable[str], now_ms: int,
                   gc_margin_ms: int) -> tuple[RegState, dict[str, Result]]:
    """Apply command ops in order to ``current``: a RESP key's change function (module doc).

    Args:
        scratch: the engine the commands run in.
        key: the Redis key (its database does not matter in the scratch engine).
        current: the state adopted in the prepare phase (its value an `Image` or None).
        ops: command ops on ``key``, in arrival order.
        origin, live_own, now_ms, gc_margin_ms: as `nodes.caspaxos.apply_batch`;
            ``now_ms`` (the proposer's clock) also decides expiry.

    Returns:
        The new state and every op's result (``value``: the RESP reply). An op
        already in ``current``'s done table gets its recorded result and is
        not run again.

    Raises:
        TypeError: the engine left a value replication has no image for (a bug).
    """
    db = scratch.db
    db.delete(key)
    image = current.image
    if image is not None and not image.expired(now_ms):
        db.set(key, restore(image, scratch.engine.config), now_ms, expire_at_ms=image.expire_at)
    done = live_done(current, origin=origin, live_own=live_own, now_ms=now_ms, gc_margin_ms=gc_margin_ms)
    results: dict[str, Result] = {}
    try:
        for op in ops:
            assert op.kind is OpKind.COMMAND, op
            prior = done.get(op.rid)
            if prior is not None:
                results[op.rid] = prior.result
                continue
            result = Result(value=scratch.run(op.argv, op.resp3, now_ms))
            results[op.rid] = result
            if not op.readonly:
                done[op.rid] = DoneEntry(op.rid, origin, op.expires_ms, result)
        value = db.lookup(key, now_ms)
        new = None if value is None else image_of(value, db.ttl_ms(key))
    finally:
        db.delete(key)
    return RegState(new, finish_done(done)), results
