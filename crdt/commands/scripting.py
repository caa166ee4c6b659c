"""EVAL, EVALSHA, EVAL_RO, EVALSHA_RO and SCRIPT: the Lua script commands of Redis 7.0.

Strategy: the handlers parse and check the command line, find the compiled
function in the engine's `crdt.scripting.vm.LuaVM` (EVAL compiles and
caches the body under its SHA1, as Redis 7.0 does; EVALSHA takes the SHA in
any case) and let the VM run it. A script is one command: it runs to its
end inside this handler, so WATCH, keyspace events, blocked clients and the
replication delta see its writes as one command's. FUNCTION and FCALL are in
`crdt.commands.functions`.
"""

from __future__ import annotations

from typing import Any

from crdt.errors import CommandError
from crdt.scripting import vm as lua
from crdt.session import Session
from crdt.table import command as register
from crdt.table import container
from protocol.replies import OK

_EVAL_SYNTAX = "script numkeys [key [key ...]] [arg [arg ...]]"
_EVALSHA_SYNTAX = "sha1 numkeys [key [key ...]] [arg [arg ...]]"
_RW_SPEC = ("RW access update index:2 keynum:0:1:1 # We cannot tell how the keys will be used so we "
            "assume the worst, RW and UPDATE",)
_RO_SPEC = ("RO access index:2 keynum:0:1:1 # We cannot tell how the keys will be used so we "
            "assume the worst, RO and ACCESS",)
_RW_SPEC_PLAIN = ("RW access update index:2 keynum:0:1:1",)
_RO_SPEC_PLAIN = ("RO access index:2 keynum:0:1:1",)
_FLAGS = "noscript stale skip_monitor no_mandatory_keys"


def _eval(s: Session, argv: list[bytes], read_only: bool) -> Any:
    vm = lua.of(s.engine)
    lua.announce(s, argv)
    nkeys = lua.check_numkeys(argv)
    sha, f, no_writes, oom = vm.load(argv[1])
    return vm.run(s, f, sha, argv, nkeys, read_only or no_writes, oom=oom)


@register("eval", -3, _FLAGS, group="scripting", since="2.6.0",
          complexity="Depends on the script that is executed.",
          summary="Execute a Lua script server side", syntax=_EVAL_SYNTAX, key_specs=_RW_SPEC)
def eval_(s: Session, argv: list[bytes]) -> Any:
    return _eval(s, argv, False)


@register("evalsha", -3, _FLAGS, group="scripting", since="2.6.0",
          complexity="Depends on the script that is executed.",
          summary="Execute a Lua script server side", syntax=_EVALSHA_SYNTAX,
          key_specs=_RW_SPEC_PLAIN)
def evalsha(s: Session, argv: list[bytes], read_only: bool = False) -> Any:
    # The handler itself (EVALSHA_RO passes read_only): one frame less for the usual script.
    engine = s.engine
    vm = engine.lua_vm or lua.of(engine)
    if engine.monitors:
        lua.announce(s, argv)
    sha = argv[1]
    if len(sha) != 40:  # Redis's order: the SHA's length, numkeys, then the lookup
        raise CommandError(lua.NOSCRIPT)
    nkeys = lua.SMALL_NUMKEYS.get(argv[2])
    if nkeys is None or nkeys > len(argv) - 3:
        nkeys = lua.check_numkeys(argv)
    cached = vm.scripts.get(sha)
    if cached is None:
        sha = sha.lower()
        cached = vm.scripts.get(sha)
        if cached is None:
            raise CommandError(lua.NOSCRIPT)
    return vm.run(s, cached[1], sha, argv, nkeys, read_only or cached[2], True, cached[3])


@register("eval_ro", -3, "readonly " + _FLAGS, group="scripting", since="7.0.0", acl="-read",
          complexity="Depends on the script that is executed.",
          summary="Execute a read-only Lua script server side", syntax=_EVAL_SYNTAX,
          key_specs=_RO_SPEC)
def eval_ro(s: Session, argv: list[bytes]) -> Any:
    return _eval(s, argv, True)


@register("evalsha_ro", -3, "readonly " + _FLAGS, group="scripting", since="7.0.0", acl="-read",
          complexity="Depends on the script that is executed.",
          summary="Execute a read-only Lua script server side", syntax=_EVALSHA_SYNTAX,
          key_specs=_RO_SPEC_PLAIN)
def evalsha_ro(s: Session, argv: list[bytes]) -> Any:
    return evalsha(s, argv, True)


container("script", group="scripting", since="2.6.0",
          summary="A container for Lua scripts management commands")


@register("script|load", 3, "noscript stale", group="scripting", since="2.6.0",
          complexity="O(N) with N being the length in bytes of the script body.",
          summary="Load the specified Lua script into the script cache.", syntax="script",
          tips="request_policy:all_nodes response_policy:all_succeeded")
def script_load(s: Session, argv: list[bytes]) -> Any:
    sha = lua.of(s.engine).load(argv[2])[0]
    return sha


@register("script|exists", -3, "noscript", group="scripting", since="2.6.0",
          complexity="O(N) with N being the number of scripts to check (so checking a single "
                     "script is an O(1) operation).",
          summary="Check existence of scripts in the script cache.", syntax="sha1 [sha1 ...]",
          tips="request_policy:all_shards response_policy:agg_logical_and")
def script_exists(s: Session, argv: list[bytes]) -> Any:
    vm = lua.of(s.engine)
    return [1 if sha.lower() in vm.scripts else 0 for sha in argv[2:]]


@register("script|flush", -2, "noscript", group="scripting", since="2.6.0",
          complexity="O(N) with N being the number of scripts in cache",
          summary="Remove all the scripts from the script cache.",
          syntax="[async: ASYNC | SYNC]@6.2.0",
          history=(("6.2.0", "Added the `ASYNC` and `SYNC` flushing mode modifiers."),),
          tips="request_policy:all_nodes response_policy:all_succeeded")
def script_flush(s: Session, argv: list[bytes]) -> Any:
    if len(argv) > 3 or (len(argv) == 3 and argv[2].lower() not in (b"async", b"sync")):
        raise CommandError(b"ERR SCRIPT FLUSH only support SYNC|ASYNC option")
    lua.of(s.engine).flush()
    return OK


@register("script|kill", 2, "noscript allow_busy", group="scripting", since="2.6.0",
          summary="Kill the script currently in execution.", syntax="",
          tips="request_policy:all_shards response_policy:one_succeeded")
def script_kill(s: Session, argv: list[bytes]) -> Any:
    refused = lua.of(s.engine).kill(is_eval=True)
    if refused:
        raise CommandError(refused)
    return OK


@register("script|debug", 3, "noscript", group="scripting", since="3.2.0",
          summary="Set the debug mode for executed scripts.", syntax="(mode: YES | SYNC | NO)")
def script_debug(s: Session, argv: list[bytes]) -> Any:
    mode = argv[2].lower()
    if s.in_exec:
        raise CommandError(b"ERR SCRIPT DEBUG must be called outside a pipeline")
    if mode == b"no":
        return OK
    if mode in (b"yes", b"sync"):
        # The Lua debugger (LDB) needs the connection itself; gyrekv does not offer it.
        raise CommandError(b"ERR gyrekv does not support the Lua debugger (SCRIPT DEBUG)")
    raise CommandError(b"ERR Use SCRIPT DEBUG YES/SYNC/NO")


_SCRIPT_HELP = (
    "DEBUG (YES|SYNC|NO)",
    "    Set the debug mode for subsequent scripts executed.",
    "EXISTS <sha1> [<sha1> ...]",
    "    Return information about the existence of the scripts in the script cache.",
    "FLUSH [ASYNC|SYNC]",
    "    Flush the Lua scripts cache. Very dangerous on replicas.",
    "    When called without the optional mode argument, the behavior is determined by the",
    "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
    "    * ASYNC: Asynchronously flush the scripts cache.",
    "    * SYNC: Synchronously flush the scripts cache.",
    "KILL",
    "    Kill the currently executing Lua script.",
    "LOAD <script>",
    "    Load a script into the scripts cache without executing it.",
)


@register("script|help", 2, "loading stale", group="scripting", since="5.0.0",
          summary="Show helpful text about the different subcommands", syntax="")
def script_help(s: Session, argv: list[bytes]) -> Any:
    lines = ["SCRIPT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:", *_SCRIPT_HELP,
             "HELP", "    Prints this help."]
    return [line.encode() for line in lines]

