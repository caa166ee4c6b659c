"""The engine's one Lua interpreter: the script cache, running a script, and redis.call.

Strategy: `LuaVM` creates a lupa Lua 5.1 runtime (strings cross as bytes),
runs `crdt.scripting.sandbox.SANDBOX` once and keeps the runners it returns.
A script's commands run through `Engine.call` on a private session (Redis's
"lua client") whose database, time and protocol follow the caller and
redis.setresp, so every command behaves as when a client sends it, with
Redis's extra checks first: unknown command, arity, ``noscript`` commands,
writes from a read-only script (EVAL_RO, FCALL_RO, a no-writes function).

Long scripts: a Lua count hook calls `LuaVM._hook` every `HOOK_INSTRUCTIONS`
instructions. With a clock given (`LuaVM.clock`, set by the driver: the
engine keeps no clock), once the script has run `busy-reply-threshold` ms it
calls `LuaVM.while_busy` on every hook, where the driver serves other
clients (-BUSY, or SCRIPT KILL / FUNCTION KILL, which set `kill_requested`);
the next hook then fails the script with Redis's "Script killed" error, and
keeps failing it at every instruction so a pcall cannot swallow the kill
(SHUTDOWN does the same to a script that wrote). The script's top-level
error handler stops the hook; `run` sets it again afterwards.

The usual redis.call (a plain command, string arguments, allowed here) takes
`_call`'s fast path: one dict lookup for the command's row, arity and write
flag, then the handler run as `Engine.call` runs it (written out: counts,
errors, MONITOR); a bulk or integer reply crosses back unconverted.
Everything else takes `_dispatch`, with Redis's checks in Redis's order.

Per-script cost (EVALSHA of a one-redis.call script, measured in instructions
with callgrind): the sandbox makes a global read one table lookup and builds
KEYS/ARGV from the varargs' table; lupa's own per-call debug.traceback lookup
is avoided by removing `debug` from the runtime's globals once the sandbox
has kept what it needs of it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from lupa import lua51

from crdt import errors, monitor_feed
from crdt.errors import CommandError
from crdt.scripting import convert, libs
from crdt.scripting.functions import Libraries
from crdt.scripting.sandbox import SANDBOX
from crdt.scripting.text import c_string
from crdt.session import Session
from protocol.replies import ErrorReply

if TYPE_CHECKING:
    from crdt.table import Command

HOOK_INSTRUCTIONS = 10_000
LUA_MAX_MEMORY = 1 << 30

ARGS_NONE = b"ERR Please specify at least one argument for this redis lib call"
ARGS_TYPE = b"ERR Lua redis lib command arguments must be strings or integers"
UNKNOWN = b"ERR Unknown Redis command called from script"
ARITY = b"ERR Wrong number of args calling Redis command from script"
NOSCRIPT_CMD = b"ERR This Redis command is not allowed from script"
WRITE_IN_RO = b"ERR Write commands are not allowed from read-only scripts."
KILLED = b"Script killed by user with SCRIPT KILL..."
COMPILE = b"ERR Error compiling script (new function): "
LOAD_TIMEOUT = b"FUNCTION LOAD timeout"
NOSCRIPT = b"NOSCRIPT No matching script. Please use EVAL."
BUSY_EVAL = b"BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE."
BUSY_FUNCTION = (b"BUSY Redis is busy running a script. You can only call FUNCTION KILL or "
                 b"SHUTDOWN NOSAVE.")
NOTBUSY = b"NOTBUSY No scripts in execution right now."
UNKILLABLE = (b"UNKILLABLE Sorry the script already executed write commands against the dataset. "
              b"You can either wait the script termination or kill the server in a hard way "
              b"using the SHUTDOWN NOSAVE command.")

LOG_LEVELS = ("debug", "verbose", "notice", "warning")


def of(engine: Any) -> LuaVM:
    """The engine's Lua VM, created on first use (an engine that runs no script pays nothing)."""
    vm = engine.lua_vm
    if vm is None:
        vm = engine.lua_vm = LuaVM(engine)
    return vm


def announce(s: Session, argv: list[bytes]) -> None:
    """EVAL & co. carry skip_monitor, yet MONITOR shows them before the script's own
    commands ([db lua] lines), as Redis does: their line goes out here, first."""
    engine = s.engine
    if engine.monitors:
        text = monitor_feed.line(s, argv, s.now_ms)
        for monitor in engine.monitors:
            engine.pubsub.push(monitor, text)


#: The usual numkeys, spelled as `check_numkeys` accepts them: a lookup spares the parse.
SMALL_NUMKEYS = {b"%d" % n: n for n in range(16)}


def check_numkeys(argv: list[bytes]) -> int:
    """The numkeys of EVAL/FCALL-like command lines (argv[2]), checked as Redis checks it."""
    raw = argv[2]
    try:
        nkeys = int(raw)
        if raw != b"%d" % nkeys or not -(2**63) <= nkeys < 2**63:
            raise ValueError
    except ValueError:
        raise CommandError(b"ERR value is not an integer or out of range") from None
    if nkeys > len(argv) - 3:
        raise CommandError(b"ERR Number of keys can't be greater than number of args")
    if nkeys < 0:
        raise CommandError(b"ERR Number of keys can't be negative")
    return nkeys


def sha1hex(body: bytes) -> bytes:
    return hashlib.sha1(body).hexdigest().encode()


#: What a script does when the server is out of memory (`LuaVM.run`).
OOM_LEGACY = "legacy"  # no flags: runs; a denyoom call fails until it has written
OOM_DENY = "deny"      # flags without allow-oom or no-writes: refused before it runs
OOM_ALLOW = "allow"    # allow-oom, or no-writes: never refused


def oom_rule(flags: list[bytes] | tuple[bytes, ...]) -> str:
    """The out-of-memory rule of a script or function that declares ``flags``."""
    return OOM_ALLOW if b"allow-oom" in flags or b"no-writes" in flags else OOM_DENY


class LuaVM:
    """The Lua state of one engine and what runs in it."""

    # Slots: each script reads and sets a dozen of these (an instance dict this
    # size is no longer a compact shared-key one, and its lookups are slower).
    __slots__ = (
        "engine", "lua", "prng", "_run_script", "_run_function", "_compile", "_load_library",
        "_set_hook", "scripts", "libraries", "session", "_lookup", "_time", "_fast", "caller",
        "read_only", "resp3", "wrote", "script_oom", "is_eval", "running_name", "running_argv",
        "clock", "while_busy", "started_ms", "busy", "kill_requested", "log", "registering",
        "loading_hooks", "_hook_fn",
    )

    def __init__(self, engine: Any) -> None:
        self.engine = engine
        # max_memory: a script that asks for more gets Lua's "not enough memory" error
        # instead of taking the server down (Redis sets no limit; this one is generous).
        self.lua = lua51.LuaRuntime(encoding=None, register_eval=False, register_builtins=False,
                                    unpack_returned_tuples=True, max_memory=LUA_MAX_MEMORY)
        self.prng = libs.Rand48()
        self.prng.seed(engine.rng.getrandbits(32))  # Redis seeds it once at start; ours comes from the engine
        lib_table = libs.build(self.lua, self.prng)
        sandbox = self.lua.eval("loadstring")(SANDBOX.encode(), b"=sandbox")
        (self._run_script, self._run_function, self._compile, self._load_library,
         self._set_hook) = sandbox(self._call, self._pcall, self._helpers(), lib_table, _unwrap)
        # lupa looks up debug.traceback as the message handler of every call into Lua; the
        # sandbox's runners handle their own errors, and it kept what it needs of debug.
        self.lua.execute("debug = nil")
        self.scripts: dict[bytes, tuple[bytes, Any, bool]] = {}  # sha1 hex -> (body, function, no-writes)
        self.libraries = Libraries()
        self.session = Session(engine, 0, 0)
        self.session.addr = "lua"  # MONITOR shows its commands as [db lua], as Redis does
        self.session.in_exec = True  # blocking commands answer at once
        self._lookup = engine.table.lookup.get
        self._time = engine.table.lookup[b"time"]
        self._fast = self._fast_commands()
        # The current run (None between scripts).
        self.caller: Session | None = None
        self.read_only = False
        self.resp3 = False
        self.wrote = False
        self.script_oom = False  # out of memory when the running script started (`run`)
        self.is_eval = True
        self.running_name = b""
        self.running_argv: list[bytes] = []
        # Long scripts (see the module docstring).
        self.clock: Callable[[], int] | None = None  # ms, set by the driver
        self.while_busy: Callable[[], None] | None = None
        self.started_ms = 0
        self.busy = False
        self.kill_requested = False
        self.log: Callable[[str, bytes], None] = lambda level, text: None
        # While FUNCTION LOAD runs a library body: takes register_function's arguments,
        # answers None or an error text (crdt.scripting.functions).
        self.registering: Callable[[tuple[Any, ...]], bytes | None] | None = None
        self.loading_hooks = -1  # FUNCTION LOAD: hooks left before the body is stopped
        self._hook_fn = self._make_hook()
        self._rearm_hook()

    # -- the cache -----------------------------------------------------------

    def compile(self, body: bytes, chunk: bytes = b"@user_script", error: bytes = COMPILE) -> Any:
        """The Lua function of a script body; raises Redis's compile error."""
        result = self._compile(body, chunk)
        if type(result) is tuple:
            message = result[1] if len(result) > 1 else b""
            raise CommandError(error + _one_line(message if type(message) is bytes else b""))
        return result

    def load(self, body: bytes) -> tuple[bytes, Any, bool, str]:
        """Compile and cache a script (SCRIPT LOAD, EVAL); returns (sha, function, no-writes,
        its out-of-memory rule: `OOM_LEGACY`, `OOM_DENY` or `OOM_ALLOW`, see `run`).

        A script may start with Redis 7.0's shebang, ``#!lua flags=no-writes,...``:
        its flags are checked (no-writes and allow-oom change what gyrekv does) and
        the code after the line is compiled, keeping the line numbers.
        """
        sha = sha1hex(body)
        cached = self.scripts.get(sha)
        if cached is not None:
            return sha, cached[1], cached[2], cached[3]
        no_writes = False
        oom = OOM_LEGACY
        code = body
        if body.startswith(b"#!"):
            flags, code = _shebang(body)
            no_writes = b"no-writes" in flags
            oom = oom_rule(flags)
        f = self.compile(code)
        self.scripts[sha] = (body, f, no_writes, oom)
        return sha, f, no_writes, oom

    def flush(self) -> None:
        """SCRIPT FLUSH: forget every cached script (and let Lua free them)."""
        self.scripts.clear()
        self.lua.execute("collectgarbage()")

    # -- running -------------------------------------------------------------

    def run(self, s: Session, f: Any, name: bytes, argv: list[bytes], nkeys: int, read_only: bool,
            is_eval: bool = True, oom: str = OOM_LEGACY) -> Any:
        """Run a compiled script (or function) for the client `s`; the reply, or raise its error.

        `argv` is the command line: numkeys (`nkeys`, checked) at index 2, then keys and args.
        `name` names it in a raised error's "script: ..." suffix.

        Out of memory (maxmemory set and eviction cannot get under it), as Redis 7.0: a
        script or function with flags but neither allow-oom nor no-writes (`OOM_DENY`) is
        refused before it runs; a script without flags (`OOM_LEGACY`) runs, and its
        redis.call of a command that may grow memory fails with -OOM until the script
        has written something (it cannot be stopped half-way); allow-oom (`OOM_ALLOW`)
        and read-only scripts are never refused.
        """
        self.script_oom = False
        engine = self.engine
        if engine.maxmemory and not read_only and oom != OOM_ALLOW and engine.out_of_memory(s.now_ms):
            if oom == OOM_DENY:
                raise CommandError(errors.OOM)
            self.script_oom = True
        fake = self.session
        fake.db = s.db
        fake.db_index = s.db_index
        fake.now_ms = s.now_ms
        fake.resp3 = False
        self.caller = s
        self.read_only = read_only
        self.resp3 = False
        self.wrote = False
        self.is_eval = is_eval
        self.running_name = name
        self.running_argv = argv
        # busy and kill_requested are False here: the last run's `finally` left them so.
        if self.clock is not None:
            self.started_ms = self.clock()
        try:
            result = (self._run_script if is_eval else self._run_function)(f, nkeys, *argv[3:])
        finally:
            self.caller = None
            self.busy = False
            self.kill_requested = False
        if type(result) is tuple:
            if result[0]:
                value = result[1]
                if type(value) is bytes or type(value) is int:
                    return value
                reply = convert.from_lua(value, self.resp3)
                if isinstance(reply, ErrorReply):
                    raise CommandError(bytes(reply))
                return reply
            self._rearm_hook()  # the error handler stopped the hook (see the sandbox)
            raise CommandError(self._error_text(result[1] if len(result) > 1 else None, name))
        return None  # the script returned nothing

    def _error_text(self, err: Any, name: bytes) -> bytes:
        if type(err) is bytes:  # Lua calls no handler for a memory error: the bare message
            return _one_line(b"ERR " + err)
        if err is None or lua51.lua_type(err) != "table":
            return b"ERR Error running script"
        text = err[b"err"]
        text = text if type(text) is bytes else b"ERR Error running script"
        source = err[b"source"]
        line = err[b"line"]
        if type(source) is bytes and type(line) is int:
            text += b" script: %s, on %s:%d." % (name, source, line)
        return _one_line(text)

    # -- redis.call ----------------------------------------------------------

    def _call(self, *args: Any) -> Any:
        # The usual call: a plain command, string arguments, allowed here (see `_fast_commands`).
        # No arguments (IndexError) or a table for a name (TypeError) go to `_dispatch`.
        try:
            entry = self._fast(args[0])
        except (IndexError, TypeError):
            entry = None
        if entry is not None:
            cmd, least, most, write = entry
            if least <= len(args) <= most and (not write or not self.read_only) and not self.script_oom:
                for a in args:
                    if type(a) is not bytes:
                        break
                else:
                    if write:
                        self.wrote = True
                    fake = self.session
                    engine = self.engine
                    argv = list(args)
                    # `Engine.call`, written out as `Engine.execute_many` does for the usual command.
                    try:
                        reply = cmd.handler(fake, argv)
                    except CommandError as e:
                        engine.failed_calls[cmd.index] += 1
                        reply = engine._error(e.text)
                    except Exception as e:  # our bug: answered as an error (see `Engine._internal`)
                        engine.failed_calls[cmd.index] += 1
                        reply = engine._internal(cmd.name_bytes, argv, e)
                    engine.calls[cmd.index] += 1
                    if engine.monitors:
                        monitor_feed.feed(fake, cmd, argv)
                    if fake.attention:
                        fake.attention = False
                        fake.outbox.clear()
                    if type(reply) is bytes or type(reply) is int:
                        return reply
                    if isinstance(reply, ErrorReply):
                        raise CallError(bytes(reply))
                    return convert.to_lua(self.lua, reply, self.resp3)
        reply = self._dispatch(args)
        if type(reply) is tuple:
            raise CallError(reply[1])
        return reply

    def _fast_commands(self) -> Any:
        """Name (as spelled in the table) -> (row, least argc, most argc, writes) for every
        command a script may call that has no subcommands: `_call`'s one-lookup path."""
        table = {}
        for name, cmd in self.engine.table.lookup.items():
            if cmd.subcommands or cmd.handler is None or "noscript" in cmd.flags or cmd is self._time:
                continue
            most = cmd.arity if cmd.arity > 0 else 1 << 62
            table[name] = (cmd, abs(cmd.arity), most, "write" in cmd.flags)
        return table.get

    def _pcall(self, *args: Any) -> Any:
        return self._dispatch(args)

    def _dispatch(self, args: tuple[Any, ...]) -> Any:
        """One redis.call: the converted reply, or (None, error text) for the Lua side to raise."""
        if not args:
            return None, ARGS_NONE
        argv = []
        for a in args:
            t = type(a)
            if t is bytes:
                argv.append(a)
            elif t is int or t is float:
                argv.append(_number_arg(a))
            else:
                return None, ARGS_TYPE
        cmd = self._command(argv)
        if type(cmd) is bytes:
            return None, cmd
        fake = self.session
        if self.script_oom and not self.wrote and "denyoom" in cmd.flags:
            return None, errors.OOM
        if "write" in cmd.flags:
            if self.read_only:
                return None, WRITE_IN_RO
            self.wrote = True
        engine = self.engine
        if cmd is self._time and self.clock is not None:
            # Keys expire by the script's start time (Redis freezes it), but TIME
            # reads the clock: a script may wait on it.
            frozen = fake.now_ms
            fake.now_ms = self.clock()
            reply = engine.call(cmd, argv, fake)
            fake.now_ms = frozen
            return convert.to_lua(self.lua, reply, self.resp3)
        reply = engine.call(cmd, argv, fake)
        fake.attention = False
        if fake.outbox:
            fake.outbox.clear()
        if isinstance(reply, ErrorReply):
            return None, bytes(reply)
        return convert.to_lua(self.lua, reply, self.resp3)

    def _command(self, argv: list[bytes]) -> Command | bytes:
        """The table row for a script's command line, or the error text Redis gives."""
        lookup = self._lookup
        cmd = lookup(argv[0]) or lookup(argv[0].lower())
        if cmd is None:
            return UNKNOWN
        n = len(argv)
        if cmd.subcommands and n > 1:
            sub = cmd.subcommands.get(argv[1]) or cmd.subcommands.get(argv[1].lower())
            if sub is None:
                return UNKNOWN
            cmd = sub
        elif cmd.handler is None:
            return ARITY
        arity = cmd.arity
        if n != arity and (arity > 0 or n < -arity):
            return ARITY
        if "noscript" in cmd.flags:
            return NOSCRIPT_CMD
        return cmd

    # -- the redis.* helpers (Python callables, see the sandbox) -----------------

    def _helpers(self) -> Any:
        lua = self.lua

        def fail(text: bytes) -> Any:
            raise CallError(b"ERR " + text)

        def error_reply(*args: Any) -> Any:
            if len(args) != 1 or type(args[0]) is not bytes:
                fail(b"wrong number or type of arguments")
            msg = args[0]
            if not msg.startswith(b"-"):
                msg = b"-" + msg
            code, space, rest = msg[1:].partition(b" ")
            text = code + b" " + rest if space else b"ERR " + code
            return lua.table_from({b"err": text.rstrip(b"\r\n")})

        def status_reply(*args: Any) -> Any:
            if len(args) != 1 or type(args[0]) is not bytes:
                fail(b"wrong number or type of arguments")
            return lua.table_from({b"ok": args[0]})

        def sha1(*args: Any) -> bytes:
            if len(args) != 1:
                fail(b"wrong number of arguments")
            v = args[0]
            if type(v) in (int, float):
                v = _number_arg(v)
            elif type(v) is not bytes:
                v = b""
            return sha1hex(v)

        def log(*args: Any) -> None:
            if len(args) < 2:
                fail(b"redis.log() requires two arguments or more.")
            level = args[0]
            if type(level) not in (int, float):
                fail(b"First argument must be a number (log level).")
            if not 0 <= level <= 3:
                fail(b"Invalid debug level.")
            parts = [a if type(a) is bytes else _number_arg(a) if type(a) in (int, float) else b""
                     for a in args[1:]]
            self.log(LOG_LEVELS[int(level)], b" ".join(parts))

        def setresp(*args: Any) -> None:
            if len(args) != 1:
                fail(b"redis.setresp() requires one argument.")
            if args[0] not in (2, 3):
                fail(b"RESP version must be 2 or 3.")
            self.resp3 = args[0] == 3
            self.session.resp3 = self.resp3

        def set_repl(*args: Any) -> None:
            if len(args) != 1:
                fail(b"redis.set_repl() requires two arguments.")
            if type(args[0]) not in (int, float) or not 0 <= args[0] <= 3:
                fail(b"Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.")

        def replicate_commands(*args: Any) -> bool:
            return True  # always on since Redis 7.0: effects replicate

        def acl_check_cmd(*args: Any) -> bool:
            if not args:
                fail(b"Please specify at least one argument for this redis lib call")
            if any(type(a) not in (bytes, int, float) for a in args):
                fail(b"Lua redis lib command arguments must be strings or integers")
            argv = [a if type(a) is bytes else _number_arg(a) for a in args]
            if self._command(argv) == UNKNOWN:
                fail(b"Invalid command passed to redis.acl_check_cmd()")
            return True  # gyrekv has one user, who may run every command

        def breakpoint(*args: Any) -> bool:
            return False  # outside the Lua debugger, as in Redis

        def debug(*args: Any) -> None:
            return None

        def register_function(*args: Any) -> None:
            if self.registering is None:
                fail(b"redis.register_function can only be called on FUNCTION LOAD command")
            error = self.registering(args)
            if error is not None:
                raise CallError(b"ERR " + error)

        return lua.table_from({
            b"error_reply": error_reply, b"status_reply": status_reply, b"sha1hex": sha1,
            b"log": log, b"setresp": setresp, b"set_repl": set_repl,
            b"replicate_commands": replicate_commands, b"acl_check_cmd": acl_check_cmd,
            b"breakpoint": breakpoint, b"debug": debug, b"register_function": register_function,
        })

    # -- long scripts --------------------------------------------------------

    def _make_hook(self) -> Any:
        """The Lua hook function; its chunk is named like the sandbox's, so errors skip its frame."""
        make = self.lua.eval("loadstring")(
            b"local py_hook = ...; "
            b"return function() local e = py_hook(); if e ~= nil then error({err = e}) end end",
            b"=sandbox")
        return make(self._hook)

    def _hook(self) -> Any:
        if self.caller is None:
            if self.loading_hooks > 0:
                self.loading_hooks -= 1
                if self.loading_hooks == 0:
                    self._set_every_instruction()
                    return LOAD_TIMEOUT
            return None
        if self.kill_requested:
            self._set_every_instruction()
            return KILLED  # for functions too: Redis 7.0 names SCRIPT KILL either way
        clock = self.clock
        if clock is None:
            return None
        if not self.busy:
            threshold = self.engine.config["busy-reply-threshold"]
            if clock() - self.started_ms < threshold:
                return None
            self.busy = True
        if self.while_busy is not None:
            self.while_busy()
        if self.engine.shutdown_requested:  # SHUTDOWN NOSAVE: the way out of an unkillable script
            self.kill_requested = True
        if self.kill_requested:
            self._set_every_instruction()
            return KILLED  # for functions too: Redis 7.0 names SCRIPT KILL either way
        return None

    def _set_every_instruction(self) -> None:
        self.lua.execute("local sethook, f = ...; sethook(f, 1)", self._set_hook, self._hook_fn)

    def _rearm_hook(self) -> None:
        self.lua.execute("local sethook, f, n = ...; sethook(f, n)", self._set_hook, self._hook_fn,
                         HOOK_INSTRUCTIONS)

    def kill(self, is_eval: bool) -> bytes:
        """SCRIPT KILL (is_eval) or FUNCTION KILL: OK, or the error text Redis answers."""
        if self.caller is None:
            return NOTBUSY
        if self.wrote:
            return UNKILLABLE
        if is_eval and not self.is_eval:
            return BUSY_FUNCTION
        if not is_eval and self.is_eval:
            return BUSY_EVAL
        self.kill_requested = True
        return b""

    @property
    def busy_error(self) -> bytes:
        return BUSY_EVAL if self.is_eval else BUSY_FUNCTION


class CallError(Exception):
    """A redis.call that failed: Lua sees this exception, the sandbox turns it into {err=text}."""

    def __init__(self, text: bytes) -> None:
        super().__init__(text)
        self.text = text


def _unwrap(e: Any) -> Any:
    """The error text of a Python exception raised through Lua (and whether it names the
    script's line, as a library's luaL_error does), None for other userdata."""
    if isinstance(e, CallError):
        return e.text
    if isinstance(e, libs.LibError):
        return str(e).encode(), True
    if isinstance(e, BaseException):  # a bug of ours inside a callback
        return ("ERR " + type(e).__name__ + ": " + str(e)).encode()
    return None


SHEBANG_FLAGS = (b"no-writes", b"allow-oom", b"allow-stale", b"no-cluster", b"allow-cross-slot-keys")


def _shebang(body: bytes) -> tuple[list[bytes], bytes]:
    """An EVAL script's ``#!lua [flags=a,b]`` line: (its flags, the code after it)."""
    end = body.find(b"\n")
    if end < 0:
        raise CommandError(b"ERR Invalid script shebang")
    parts = body[:end].split()
    if not parts or parts[0] != b"#!lua":
        raise CommandError(b"ERR Unexpected engine in script shebang: %s" % c_string(parts[0] if parts else b""))
    flags: list[bytes] = []
    for part in parts[1:]:
        if not part.startswith(b"flags="):
            raise CommandError(b"ERR Unknown lua shebang option: %s" % c_string(part))
        for flag in part[6:].split(b","):
            if flag and flag not in SHEBANG_FLAGS:
                raise CommandError(b"ERR Unexpected flag in script shebang: %s" % c_string(flag))
            flags.append(flag)
    return flags, body[end:]


def _number_arg(a: float) -> bytes:
    """A Lua number as a command argument: Redis prints the double with %.17g."""
    if type(a) is int and -(10**17) < a < 10**17:
        return b"%d" % a
    return b"%.17g" % float(a)


def _one_line(text: bytes) -> bytes:
    return text.replace(b"\r", b" ").replace(b"\n", b" ")
