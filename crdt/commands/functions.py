"""FUNCTION and FCALL/FCALL_RO: Redis 7.0's function libraries.

Strategy: the libraries live in the engine's Lua VM
(`crdt.scripting.functions.Libraries`); these handlers parse arguments
with Redis's error texts and shape the replies (FUNCTION LIST's maps,
FUNCTION STATS). FCALL runs a registered function like EVAL runs a script:
one command, through `LuaVM.run`, read-only when called as FCALL_RO or
when the function has the ``no-writes`` flag (FCALL_RO refuses a function
without it).
"""

from __future__ import annotations

from typing import Any

from crdt import errors
from crdt.errors import CommandError
from crdt.glob import glob_match
from crdt.scripting import vm as lua
from crdt.scripting.text import c_string
from crdt.session import Session
from crdt.table import command as register
from crdt.table import container
from protocol.replies import OK, SetReply

_FCALL_SYNTAX = "function numkeys [key [key ...]] [arg [arg ...]]"
_FLAGS = "noscript stale skip_monitor no_mandatory_keys"


def _fcall(s: Session, argv: list[bytes], read_only: bool) -> Any:
    vm = lua.of(s.engine)
    lua.announce(s, argv)
    fn = vm.libraries.function(argv[1])
    if fn is None:
        raise CommandError(b"ERR Function not found")
    try:
        int(argv[2])
        if argv[2] != b"%d" % int(argv[2]):
            raise ValueError
    except ValueError:
        raise CommandError(b"ERR Bad number of keys provided") from None
    nkeys = lua.check_numkeys(argv)
    no_writes = b"no-writes" in fn.flags
    if read_only and not no_writes:
        raise CommandError(b"ERR Can not execute a script with write flag using *_ro command.")
    return vm.run(s, fn.callback, fn.name, argv, nkeys, read_only or no_writes, is_eval=False,
                  oom=lua.oom_rule(fn.flags))


@register("fcall", -3, _FLAGS, group="scripting", since="7.0.0",
          complexity="Depends on the function that is executed.",
          summary="Invoke a function", syntax=_FCALL_SYNTAX,
          key_specs=("RW access update index:2 keynum:0:1:1 # We cannot tell how the keys will be "
                     "used so we assume the worst, RW and UPDATE",))
def fcall(s: Session, argv: list[bytes]) -> Any:
    return _fcall(s, argv, False)


@register("fcall_ro", -3, "readonly " + _FLAGS, group="scripting", since="7.0.0", acl="-read",
          complexity="Depends on the function that is executed.",
          summary="Invoke a read-only function", syntax=_FCALL_SYNTAX,
          key_specs=("RO access index:2 keynum:0:1:1 # We cannot tell how the keys will be used so "
                     "we assume the worst, RO and ACCESS",))
def fcall_ro(s: Session, argv: list[bytes]) -> Any:
    return _fcall(s, argv, True)


container("function", group="scripting", since="7.0.0",
          summary="A container for function commands")


@register("function|load", -3, "write denyoom noscript", group="scripting", since="7.0.0",
          complexity="O(1) (considering compilation time is redundant)",
          summary="Create a function with the given arguments (name, code, description)",
          syntax="[REPLACE] function-code",
          tips="request_policy:all_shards response_policy:all_succeeded")
def function_load(s: Session, argv: list[bytes]) -> Any:
    replace = False
    i = 2
    while i < len(argv) - 1:
        if argv[i].lower() == b"replace":
            replace = True
            i += 1
        else:
            raise CommandError(b"ERR Unknown option given: %s" % c_string(argv[i], at_end=True))
    if i != len(argv) - 1:
        raise CommandError(b"ERR Function code is missing")
    vm = lua.of(s.engine)
    return vm.libraries.load(vm, argv[-1], replace)


@register("function|delete", 3, "write noscript", group="scripting", since="7.0.0",
          summary="Delete a function by name", syntax="library-name",
          tips="request_policy:all_shards response_policy:all_succeeded")
def function_delete(s: Session, argv: list[bytes]) -> Any:
    if not lua.of(s.engine).libraries.delete(argv[2]):
        raise CommandError(b"ERR Library not found")
    return OK


@register("function|flush", -2, "write noscript", group="scripting", since="7.0.0",
          complexity="O(N) where N is the number of functions deleted",
          summary="Deleting all functions", syntax="[async: ASYNC | SYNC]",
          tips="request_policy:all_shards response_policy:all_succeeded")
def function_flush(s: Session, argv: list[bytes]) -> Any:
    if len(argv) > 3:
        raise CommandError(errors.subcommand_syntax(argv))
    if len(argv) == 3 and argv[2].lower() not in (b"async", b"sync"):
        raise CommandError(errors.FUNCTION_FLUSH_MODE)
    lua.of(s.engine).libraries.flush()
    return OK


@register("function|kill", 2, "noscript allow_busy", group="scripting", since="7.0.0",
          summary="Kill the function currently in execution.", syntax="",
          tips="request_policy:all_shards response_policy:one_succeeded")
def function_kill(s: Session, argv: list[bytes]) -> Any:
    refused = lua.of(s.engine).kill(is_eval=False)
    if refused:
        raise CommandError(refused)
    return OK


@register("function|list", -2, "noscript", group="scripting", since="7.0.0",
          complexity="O(N) where N is the number of functions",
          summary="List information about all the functions",
          syntax="[LIBRARYNAME library-name-pattern] [WITHCODE]",
          tips="nondeterministic_output_order")
def function_list(s: Session, argv: list[bytes]) -> Any:
    with_code = False
    pattern = None
    i = 2
    while i < len(argv):
        word = argv[i].lower()
        if word == b"withcode" and not with_code:
            with_code = True
            i += 1
        elif word == b"libraryname" and pattern is None:
            if i + 1 >= len(argv):
                raise CommandError(b"ERR library name argument was not given")
            pattern = argv[i + 1]
            i += 2
        else:
            raise CommandError(b"ERR Unknown argument %s" % c_string(argv[i]))
    out = []
    for library in lua.of(s.engine).libraries.libraries.values():
        if pattern is not None and not glob_match(pattern, library.name, nocase=True):
            continue
        functions = [{b"name": fn.name, b"description": fn.description, b"flags": SetReply(fn.flags)}
                     for fn in library.functions.values()]
        entry: dict[bytes, Any] = {b"library_name": library.name, b"engine": b"LUA",
                                   b"functions": functions}
        if with_code:
            entry[b"library_code"] = library.code
        out.append(entry)
    return out


@register("function|stats", 2, "noscript allow_busy", group="scripting", since="7.0.0",
          summary="Return information about the function currently running (name, description, "
                  "duration)", syntax="",
          tips="nondeterministic_output request_policy:all_shards response_policy:special")
def function_stats(s: Session, argv: list[bytes]) -> Any:
    vm = lua.of(s.engine)
    running = None
    if vm.caller is not None and not vm.is_eval:
        duration = (vm.clock() - vm.started_ms) if vm.clock is not None else 0
        running = {b"name": vm.running_name, b"command": list(vm.running_argv),
                   b"duration_ms": duration}
    libraries = vm.libraries
    return {b"running_script": running,
            b"engines": {b"LUA": {b"libraries_count": len(libraries.libraries),
                                  b"functions_count": len(libraries.functions)}}}


@register("function|dump", 2, "noscript", group="scripting", since="7.0.0",
          complexity="O(N) where N is the number of functions",
          summary="Dump all functions into a serialized binary payload", syntax="")
def function_dump(s: Session, argv: list[bytes]) -> Any:
    return lua.of(s.engine).libraries.dump()


@register("function|restore", -3, "write denyoom noscript", group="scripting", since="7.0.0",
          complexity="O(N) where N is the number of functions on the payload",
          summary="Restore all the functions on the given payload",
          syntax="serialized-value [policy: FLUSH | APPEND | REPLACE]",
          tips="request_policy:all_shards response_policy:all_succeeded")
def function_restore(s: Session, argv: list[bytes]) -> Any:
    if len(argv) > 4:
        raise CommandError(errors.subcommand_syntax(argv))
    policy = argv[3].lower() if len(argv) == 4 else b"append"
    if policy not in (b"flush", b"append", b"replace"):
        raise CommandError(b"ERR Wrong restore policy given, value should be either FLUSH, APPEND or "
                           b"REPLACE.")
    vm = lua.of(s.engine)
    vm.libraries.restore(vm, argv[2], policy)
    return OK


_FUNCTION_HELP = (
    "LOAD [REPLACE] <FUNCTION CODE>",
    "    Create a new library with the given library name and code.",
    "DELETE <LIBRARY NAME>",
    "    Delete the given library.",
    "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
    "    Return general information on all the libraries:",
    "    * Library name",
    "    * The engine used to run the Library",
    "    * Library description",
    "    * Functions list",
    "    * Library code (if WITHCODE is given)",
    "    It also possible to get only function that matches a pattern using LIBRARYNAME argument.",
    "STATS",
    "    Return information about the current function running:",
    "    * Function name",
    "    * Command used to run the function",
    "    * Duration in MS that the function is running",
    "    If no function is running, return nil",
    "    In addition, returns a list of available engines.",
    "KILL",
    "    Kill the current running function.",
    "FLUSH [ASYNC|SYNC]",
    "    Delete all the libraries.",
    "    When called without the optional mode argument, the behavior is determined by the",
    "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
    "    * ASYNC: Asynchronously flush the libraries.",
    "    * SYNC: Synchronously flush the libraries.",
    "DUMP",
    "    Return a serialized payload representing the current libraries, can be restored using "
    "FUNCTION RESTORE command",
    "RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
    "    Restore the libraries represented by the given payload, it is possible to give a restore "
    "policy to",
    "    control how to handle existing libraries (default APPEND):",
    "    * FLUSH: delete all existing libraries.",
    "    * APPEND: appends the restored libraries to the existing libraries. On collision, abort.",
    "    * REPLACE: appends the restored libraries to the existing libraries, On collision, replace "
    "the old",
    "      libraries with the new libraries (notice that even on this option there is a chance of "
    "failure",
    "      in case of functions name collision with another library).",
)


@register("function|help", 2, "loading stale", group="scripting", since="7.0.0",
          summary="Show helpful text about the different subcommands", syntax="")
def function_help(s: Session, argv: list[bytes]) -> Any:
    lines = ["FUNCTION <subcommand> [<arg> [value] [opt] ...]. Subcommands are:", *_FUNCTION_HELP,
             "HELP", "    Prints this help."]
    return [line.encode() for line in lines]
