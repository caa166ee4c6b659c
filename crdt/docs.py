"""Turn a command's syntax line into COMMAND DOCS ``arguments``.

Strategy: the table stores one syntax line per command, written as Redis's
documentation writes it::

    key value [NX | XX] [GET] [EX seconds | PX milliseconds | KEEPTTL]

and this module parses it into Redis 7's argument maps (name, type, token,
flags optional/multiple, nested arguments for oneof and block). The line
stays the single source: help text and COMMAND DOCS both come from it.

Grammar: a sequence of items; ``[ ... ]`` is optional; ``a | b`` inside a
group is a oneof; a trailing ``...`` (or ``[x ...]``) marks the previous item
multiple; an UPPERCASE word is a token, and a token followed by lowercase
words in the same group forms a block (``EX seconds``).
"""

from __future__ import annotations

import re
from typing import Any

_TOKEN_RE = re.compile(r"\[|\]|\(|\)|\||\.\.\.|[^\s\[\]()|]+")

_INTEGER_NAMES = {
    "seconds", "milliseconds", "unix-time-seconds", "unix-time-milliseconds", "count",
    "increment", "decrement", "offset", "start", "end", "index", "numkeys", "db",
    "destination-db", "timeout", "cursor", "len", "rank", "num-locals", "limit",
    "client-id", "bit", "numerator", "denominator", "port", "delta", "index1", "index2",
    "min-match-len", "maxlen", "numreplicas", "protover", "value-int",
}
_DOUBLE_NAMES = {"score", "min", "max", "float-increment", "weight"}
_PATTERN_NAMES = {"pattern"}


def _arg_type(word: str) -> str:
    if word in ("key", "source", "destination", "newkey") or word.endswith("key"):
        return "key"
    if word in _INTEGER_NAMES:
        return "integer"
    if word in _DOUBLE_NAMES:
        return "double"
    if word in _PATTERN_NAMES:
        return "pattern"
    return "string"


def _is_token(word: str) -> bool:
    return word.upper() == word and any(ch.isalpha() for ch in word)


def parse_syntax(syntax: str) -> list[dict[str, Any]]:
    """Parse a syntax line into COMMAND DOCS argument maps.

    Returns:
        A list of argument dicts in Redis 7's shape.
    """
    tokens = _TOKEN_RE.findall(syntax)
    pos = 0

    def parse_seq(closers: tuple[str, ...]) -> list[list[dict[str, Any]]]:
        """Items until a closer; returns alternatives split on '|'."""
        nonlocal pos
        alternatives: list[list[dict[str, Any]]] = [[]]
        while pos < len(tokens) and tokens[pos] not in closers:
            tok = tokens[pos]
            pos += 1
            items = alternatives[-1]
            if tok == "|":
                alternatives.append([])
            elif tok in ("[", "("):
                inner = parse_seq(("]",) if tok == "[" else (")",))
                pos += 1  # the closer
                arg = _group(inner)
                if tok == "[":
                    arg.setdefault("flags", []).append("optional")
                items.append(arg)
            elif tok == "...":
                if items:
                    flags = items[-1].setdefault("flags", [])
                    if "multiple" not in flags:
                        flags.append("multiple")
            else:
                items.append(_word(tok))
        return alternatives

    args = parse_seq(())
    flat = [_merge_blocks(alt) for alt in args]
    if len(flat) == 1:
        return _number_keys(flat[0])
    return _number_keys([{"name": "choice", "type": "oneof",
                          "arguments": [_as_one(a) for a in flat]}])


def _word(tok: str) -> dict[str, Any]:
    if _is_token(tok):
        return {"name": tok.lower(), "type": "pure-token", "token": tok}
    return {"name": tok, "type": _arg_type(tok)}


def _merge_blocks(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A pure token followed by plain arguments is one token-led argument or block."""
    out: list[dict[str, Any]] = []
    i = 0
    while i < len(items):
        item = items[i]
        if item["type"] == "pure-token" and "flags" not in item:
            follow: list[dict[str, Any]] = []
            j = i + 1
            while j < len(items) and items[j]["type"] not in ("pure-token", "oneof", "block"):
                follow.append(items[j])
                j += 1
            if len(follow) == 1 and "flags" not in follow[0]:
                out.append({**follow[0], "token": item["token"]})
                i = j
                continue
            if len(follow) > 1:
                out.append({"name": item["name"], "type": "block", "token": item["token"],
                            "arguments": follow})
                i = j
                continue
        out.append(item)
        i += 1
    return out


def _as_one(items: list[dict[str, Any]]) -> dict[str, Any]:
    if len(items) == 1:
        return items[0]
    return {"name": "-".join(str(a["name"]) for a in items), "type": "block", "arguments": items}


def _group(alternatives: list[list[dict[str, Any]]]) -> dict[str, Any]:
    merged = [_merge_blocks(a) for a in alternatives]
    if len(merged) > 1:
        choices = [_as_one(a) for a in merged]
        return {"name": "-".join(str(c["name"]) for c in choices)[:40] or "choice",
                "type": "oneof", "arguments": choices}
    return dict(_as_one(merged[0]))


def _number_keys(args: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Give key arguments their key_spec_index, in order of appearance."""
    counter = 0

    def walk(items: list[dict[str, Any]]) -> None:
        nonlocal counter
        for a in items:
            if a.get("type") == "key":
                a["key_spec_index"] = counter
                counter += 1
            if "arguments" in a:
                walk(a["arguments"])

    walk(args)
    return args
