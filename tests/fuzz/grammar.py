"""Argument lists for any command, drawn from the command table's own argument docs.

Strategy: every command registers a syntax line, which `Command.arguments_doc`
turns into Redis's COMMAND DOCS argument tree (types, tokens, optional,
multiple, oneof, block). `draw_argv` walks that tree with hypothesis,
drawing each typed value from a mix of ordinary values and edge values
(0, -1, ±2^31, ±2^63, 2^64, inf, nan, 1e308, "", long and non-UTF-8
strings...), and then, some of the time, mutates the result (drops, repeats
or inserts an argument, swaps two), so that a command's error paths are
exercised as much as its valid ones. A new command is covered by its
registration alone: no code here names a command except the few value
bounds in `BOUNDED`.

Keys come from a small pool that `SETUP` fills with one value of each type,
so wrong-type keys, missing keys and existing ones all turn up.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from crdt.table import Command

# -- the keyspace each case starts from ------------------------------------------------------

# One key of each type (and a missing one); with a TTL far in the future on one key, so
# EXPIRETIME is the same on both servers.
SETUP: dict[str, list[list[bytes]]] = {
    "v1": [
        [b"SET", b"str", b"hello"],
        [b"SET", b"num", b"42"],
        [b"SET", b"flt", b"3.5"],
        [b"SET", b"ttl", b"v", b"PXAT", b"4102444800000"],
        [b"RPUSH", b"list", b"a", b"b", b"c", b"1", b"2", b"a"],
        [b"HSET", b"hash", b"f1", b"v1", b"f2", b"2", b"f3", b"1.5"],
        [b"SADD", b"set", b"a", b"b", b"c"],
        [b"SADD", b"iset", b"1", b"2", b"3"],
        [b"ZADD", b"zset", b"1", b"a", b"2", b"b", b"2", b"c", b"3.5", b"d"],
        [b"ZADD", b"zlex", b"0", b"a", b"0", b"b", b"0", b"c"],
        [b"SELECT", b"1"],
        [b"SET", b"str", b"in db 1"],
        [b"SELECT", b"0"],
    ],
}


def big_setup(n: int) -> list[list[bytes]]:
    """The same key names, each holding a big value: `n` elements, a string of `n` * 10 bytes.

    For the read-only fuzz over big values (tests/fuzz/test_fuzz_big.py), where a
    command that materialises a range before clipping it, or takes a quadratic
    step, shows as a missed deadline. Sent in chunks, as a client would.
    """
    chunk = 10_000
    out: list[list[bytes]] = [[b"SET", b"str", b"x" * (n * 10)], [b"SET", b"num", b"42"],
                              [b"SET", b"flt", b"3.5"]]
    for lo in range(0, n, chunk):
        ids = [b"%d" % i for i in range(lo, min(n, lo + chunk))]
        out.append([b"RPUSH", b"list", *ids])
        out.append([b"SADD", b"set", *(b"m" + i for i in ids)])
        out.append([b"SADD", b"iset", *ids])
        out.append([b"HSET", b"hash", *(x for i in ids for x in (b"f" + i, i))])
        out.append([b"ZADD", b"zset", *(x for i in ids for x in (i, b"m" + i))])
        out.append([b"ZADD", b"zlex", *(x for i in ids for x in (b"0", b"m" + i))])
    return out


KEYS = (b"str", b"num", b"flt", b"ttl", b"list", b"hash", b"set", b"iset", b"zset", b"zlex",
        b"missing", b"new")

# -- typed values -------------------------------------------------------------------------------

INT64_MIN = -(2**63)
EDGE_INTS = (
    0, -1, 1, 2, -2, 2**31 - 1, 2**31, -(2**31), -(2**31) - 1, 2**32, 2**53, 2**62,
    2**63 - 1, 2**63, INT64_MIN, INT64_MIN + 1, INT64_MIN - 1, 2**64, 2**64 - 1, -(2**64),
    10**20, 4294967295, 536870911, 536870912, 4294967296,
)
EDGE_NUMBER_TEXTS = (
    b"", b" ", b"1 ", b" 1", b"+1", b"-0", b"00", b"0x10", b"1e3", b"1.5", b"-1.5", b"1.", b".5",
    b"inf", b"-inf", b"+inf", b"nan", b"-nan", b"NaN", b"Infinity", b"1e308", b"-1e308",
    b"1e309", b"5e-324", b"1e-400", b"(1", b"[1", b"abc", b"1\x00", b"\xff", b"9" * 40,
    b"-" + b"9" * 40, b"0.1", b"3.5", b"2.5e1", b"1_000", b"1e99999999", b"-1e-99999999",
    b"0x1p99999999", b"1" * 5000 + b".5", b"9" * 5000, b"0" * 5000 + b"1",
)
STRINGS = (
    b"", b"a", b"b", b"c", b"d", b"f1", b"f2", b"hello", b"v", b"1", b"2", b"-1", b"0", b"a b",
    b"*", b"?", b"[", b"[a", b"(a", b"-", b"+", b"\x00", b"\xff\xfe", "é".encode(), b"\r\n",
    b"\\", b"x" * 100, b"y" * 70_000,
)
PATTERNS = (b"*", b"s*", b"*t*", b"?et", b"[a-z]*", b"[", b"\\", b"h[^a]sh", b"*" * 30 + b"x",
            b"a*a*a*a*a*a*a*a*a*b", b"[z-a]", b"", b"str")


def _int_text(value: int) -> bytes:
    return str(value).encode()


def integers() -> st.SearchStrategy[bytes]:
    """An integer argument: mostly small, often an edge value, sometimes not a number."""
    return st.one_of(
        st.integers(-3, 12).map(_int_text),
        st.sampled_from(EDGE_INTS).map(_int_text),
        st.sampled_from(EDGE_NUMBER_TEXTS),
    )


def doubles() -> st.SearchStrategy[bytes]:
    """A double argument: small numbers, the edges of double parsing, and non-numbers."""
    return st.one_of(
        st.integers(-3, 12).map(_int_text),
        st.sampled_from((b"0.5", b"-0.5", b"2.5", b"3.5", b"(2", b"(1.5", b"-inf", b"+inf")),
        st.sampled_from(EDGE_INTS).map(_int_text),
        st.sampled_from(EDGE_NUMBER_TEXTS),
    )


def strings() -> st.SearchStrategy[bytes]:
    return st.one_of(st.sampled_from(STRINGS), st.binary(max_size=8))


def keys() -> st.SearchStrategy[bytes]:
    return st.sampled_from(KEYS)


# Arguments whose valid range makes Redis itself do unbounded work (a negative count of
# a random-with-repetition read returns |count| elements): both servers would spend
# minutes and gigabytes, so values past the bound are not drawn. The exact overflow
# edges (LLONG_MIN) stay, since those are the ones a server must refuse at once.
BOUNDED: dict[tuple[str, str], int] = {
    ("srandmember", "count"): 100_000,
    ("hrandfield", "count"): 100_000,
    ("zrandmember", "count"): 100_000,
}


def _bounded(text: bytes, bound: int) -> bytes:
    try:
        value = int(text)
    except ValueError:
        return text
    if value in (INT64_MIN, INT64_MIN - 1, 2**63, 2**64) or abs(value) <= bound:
        return text
    return _int_text(bound if value > 0 else -bound)


# -- walking the argument tree ------------------------------------------------------------------

def _value(draw: st.DrawFn, cmd: str, arg: dict[str, Any]) -> list[bytes]:
    kind = arg["type"]
    name = arg.get("name", "")
    if kind == "pure-token":
        return [_token(draw, arg["token"])]
    if kind == "oneof":
        choice = draw(st.sampled_from(arg["arguments"]))
        return _argument(draw, cmd, choice)
    if kind == "block":
        out: list[bytes] = []
        for sub in arg["arguments"]:
            out += _argument(draw, cmd, sub)
        return out
    if kind == "key":
        return [draw(keys())]
    if kind in ("integer", "unix-time"):
        text = draw(integers())
        bound = BOUNDED.get((cmd, name))
        return [_bounded(text, bound) if bound is not None else text]
    if kind == "double":
        return [draw(doubles())]
    if kind == "pattern":
        return [draw(st.one_of(st.sampled_from(PATTERNS), strings()))]
    return [draw(strings())]


def _token(draw: st.DrawFn, token: str) -> bytes:
    """A token as a client may spell it (Redis matches tokens case-insensitively)."""
    if draw(st.integers(0, 9)) == 0:
        return token.lower().encode()
    return token.encode()


def _argument(draw: st.DrawFn, cmd: str, arg: dict[str, Any]) -> list[bytes]:
    """One argument of the tree: its token (if any), then its value(s)."""
    flags = arg.get("flags", ())
    if "optional" in flags and not draw(st.booleans()):
        return []
    times = draw(st.integers(1, 3)) if "multiple" in flags else 1
    token = arg.get("token") if arg["type"] != "pure-token" else None
    out: list[bytes] = []
    for i in range(times):
        if token is not None and (i == 0 or "multiple_token" in flags):
            out.append(_token(draw, token))
        out += _value(draw, cmd, arg)
    return out


def _mutate(draw: st.DrawFn, argv: list[bytes], cmd: Command) -> list[bytes]:
    """Break a well-formed argument list in one of the ways clients do."""
    args = argv[:]
    how = draw(st.sampled_from(("drop", "repeat", "insert", "swap", "truncate")))
    if not args:
        how = "insert"
    if how == "drop":
        del args[draw(st.integers(0, len(args) - 1))]
    elif how == "repeat":
        i = draw(st.integers(0, len(args) - 1))
        j = draw(st.integers(i, len(args) - 1))
        args[j + 1:j + 1] = args[i:j + 1]
    elif how == "insert":
        extra = draw(st.one_of(integers(), doubles(), strings(), keys(),
                               st.sampled_from(_tokens_of(cmd) or [b"NX"])))
        args.insert(draw(st.integers(0, len(args))), extra)
    elif how == "swap" and len(args) > 1:
        i, j = draw(st.integers(0, len(args) - 1)), draw(st.integers(0, len(args) - 1))
        args[i], args[j] = args[j], args[i]
    else:
        args = args[:draw(st.integers(0, len(args)))]
    return args


def _tokens_of(cmd: Command) -> list[bytes]:
    found: list[bytes] = []

    def walk(args: list[dict[str, Any]]) -> None:
        for arg in args:
            if arg.get("token"):
                found.append(arg["token"].encode())
            walk(arg.get("arguments", []))

    walk(cmd.arguments_doc())
    return found


def name_words(cmd: Command) -> list[bytes]:
    """The words that name a command: ``[b"GET"]`` or ``[b"CONFIG", b"GET"]``."""
    return [w.upper().encode() for w in cmd.name.split("|")]


@st.composite
def argvs(draw: st.DrawFn, cmd: Command) -> list[bytes]:
    """A whole command line for `cmd`: its name, then drawn (and sometimes mutated) arguments."""
    args: list[bytes] = []
    for arg in cmd.arguments_doc():
        args += _argument(draw, cmd.name, arg)
    if draw(st.integers(0, 3)) == 0:
        args = _mutate(draw, args, cmd)
    bounds = {bound for (name, _), bound in BOUNDED.items() if name == cmd.name}
    if bounds:  # a mutation may have put an unbounded count anywhere
        args = [_bounded(a, min(bounds)) for a in args]
    return name_words(cmd) + args
