"""Turn a command's syntax line into COMMAND DOCS ``arguments``, and back.

Strategy: the table stores one syntax line per command, close to how Redis's
documentation writes it, with a few annotations so that the line alone gives
Redis 7.0's argument maps exactly (name, type, key_spec_index, token, since,
deprecated_since, flags, nested arguments). `parse_syntax` reads a line;
`format_arguments` writes argument maps back as a line (used by the tests to
round-trip every argument list the real server reports).

Notation (whitespace separates items):

- ``name`` is an argument. Its type comes from its name (``key``,
  ``destination``... are keys; ``count``, ``seconds``... integers; ``score``,
  ``timeout``... doubles; ``unix-time-*`` unix-time; ``pattern``; anything
  else string; see `_TYPE_OF`), or from an annotation ``{integer}``.
- ``WORD`` (no lower-case letter) is a token; alone it is a pure-token
  argument named after it in lower case (``CH{name=change}`` renames it,
  ``""`` is the empty token).
- ``[ ... ]`` makes what it holds optional, ``( ... )`` just groups. A group
  may start with a label, ``[condition: NX | XX]``, which names the argument
  the group becomes. Inside a group, ``a | b`` is a oneof (named by the label,
  else by its alternatives' names joined with ``_``, as Redis names them).
  A group (or one alternative) holding one item is that item; ``TOKEN arg``
  is one token-led argument (``[EX seconds]``), and ``TOKEN x`` where x is a
  group gives that group the token (``[AGGREGATE (SUM | MIN | MAX)]``); a
  token followed by several items is a block with that token
  (``[LIMIT offset count]``), and several items without a leading token are
  a block (``[index: start end [unit: BYTE | BIT]]``). Outside groups items
  never merge: write ``(TOKEN arg)`` for a required token-led argument.
- ``x [x ...]`` (or ``x ...``) marks x multiple; ``key value [key value ...]``
  makes the last two items one block flagged multiple (the bracket's item
  count says how many; after a group it is always the group alone).
  ``PREFIX prefix [PREFIX prefix ...]`` - the repetition repeats the token -
  also sets ``multiple_token``.
- Annotations follow an item or a closing bracket with no space:
  ``@6.2.0`` is ``since``; ``{...}`` holds comma-separated entries: a type
  (``integer``, ``double``, ``string``, ``key``, ``pattern``, ``unix-time``;
  ``block`` wraps the item in a block of its own), ``name=...``,
  ``spec=N`` (key_spec_index), ``deprecated=X.Y.Z``.

key_spec_index: each key argument (or one annotated ``spec=N``) gets the
next spec index, never beyond the command's last key spec, so ``key1 key2``
of one spec both get 0 while ``key newkey`` of two specs get 0 and 1.
"""

from __future__ import annotations

import re
from typing import Any

Arg = dict[str, Any]

_TOKEN_RE = re.compile(r"\[|\]|\(|\)|\||[^\s\[\]()|]+")
_WORD_RE = re.compile(r"^(?P<base>.*?)(?P<ann>(?:@[0-9.]+|\{[^{}]*\})*)$")
_ANN_RE = re.compile(r"@[0-9.]+|\{[^{}]*\}")

ARG_TYPES = ("string", "integer", "double", "key", "pattern", "unix-time", "pure-token",
             "oneof", "block")

# An argument's type when the line does not say: its name's usual type in Redis 7.0's docs.
_TYPE_OF: dict[str, str] = {}
for _t, _names in (
    ("key", "key key1 key2 destination source newkey destkey sourcekey dst src"),
    ("integer", "count cursor db offset seconds milliseconds numkeys client-id decrement "
                "destination-db index index1 index2 len limit num-matches numreplicas port "
                "protover rank ttl version weight bit bits ms slot start-slot end-slot frequency "
                "entries_read entries_added config-epoch cluster_bus_port start end stop "
                "increment"),
    ("double", "latitude longitude radius score height width timeout"),
    ("unix-time", "unix-time-seconds unix-time-milliseconds"),
    ("pattern", "pattern"),
):
    for _n in _names.split():
        _TYPE_OF[_n] = _t


def default_type(name: str) -> str:
    """The type an argument called ``name`` gets when the line does not annotate one."""
    return _TYPE_OF.get(name, "string")


def _is_token(word: str) -> bool:
    return not any(ch.islower() for ch in word)


class _Parser:
    """Recursive descent over the tokens of one syntax line."""

    def __init__(self, syntax: str) -> None:
        self.tokens = _TOKEN_RE.findall(syntax)
        self.pos = 0
        self.syntax = syntax

    def fail(self, why: str) -> AssertionError:
        return AssertionError(f"syntax line {self.syntax!r}: {why}")

    def matching(self, start: int) -> int:
        """Index of the bracket closing the one at ``start``."""
        depth = 0
        for i in range(start, len(self.tokens)):
            tok = self.tokens[i]
            if tok in ("[", "("):
                depth += 1
            elif tok in ("]", ")"):
                depth -= 1
                if depth == 0:
                    return i
        raise self.fail("unbalanced brackets")

    def sequence(self, closer: str | None) -> list[list[Arg]]:
        """Items up to ``closer`` (or the end), split into alternatives on ``|``."""
        alternatives: list[list[Arg]] = [[]]
        tokens = self.tokens
        while self.pos < len(tokens):
            tok = tokens[self.pos]
            if tok == closer:
                return alternatives
            items = alternatives[-1]
            if tok == "|":
                alternatives.append([])
                self.pos += 1
            elif tok in ("[", "("):
                end = self.matching(self.pos)
                if tok == "[" and tokens[end - 1] == "...":
                    self.repeat(items, tokens[self.pos + 1:end - 1])
                    self.pos = end + 1
                    continue
                self.pos += 1
                label = None
                if self.pos < end and tokens[self.pos].endswith(":") and len(tokens[self.pos]) > 1:
                    label = tokens[self.pos][:-1]
                    self.pos += 1
                inner = self.sequence("]" if tok == "[" else ")")
                self.pos += 1  # the closer
                arg = _resolve_group(inner, label)
                if tok == "[":
                    _add_flag(arg, "optional")
                arg["_group"] = True
                items.append(arg)
            elif tok in ("]", ")"):
                raise self.fail(f"unexpected {tok!r}")
            elif tok == "...":
                self.repeat(items, [])
                self.pos += 1
            else:
                m = _WORD_RE.match(tok)
                assert m is not None
                base, ann = m.group("base"), m.group("ann")
                if base:
                    items.append(_word(base))
                if ann:
                    if not items:
                        raise self.fail(f"annotation {ann!r} follows nothing")
                    items[-1] = _annotate(items[-1], ann, self)
                self.pos += 1
        if closer is not None:
            raise self.fail(f"missing {closer!r}")
        return alternatives

    def repeat(self, items: list[Arg], content: list[str]) -> None:
        """``x [x ...]``: flag the repeated trailing item(s) multiple."""
        if not items:
            raise self.fail("a repetition follows nothing")
        count = _count_items(content) if content else 1
        if items[-1].get("_group") or count <= 1:
            count = 1
        if count > len(items):
            raise self.fail("the repetition repeats more items than precede it")
        group = items[-count:]
        del items[-count:]
        arg = group[0] if count == 1 else _resolve_alternative(group, None)
        _add_flag(arg, "multiple")
        head = _WORD_RE.match(content[0]) if content else None
        if head is not None and _is_token(head.group("base")):
            _add_flag(arg, "multiple_token")
        items.append(arg)


def _count_items(content: list[str]) -> int:
    """Top-level items in the tokens of a repetition (groups count once)."""
    depth = 0
    count = 0
    for tok in content:
        if tok in ("[", "("):
            if depth == 0:
                count += 1
            depth += 1
        elif tok in ("]", ")"):
            depth -= 1
        elif depth == 0 and tok not in ("|", "...") and not _ANN_RE.fullmatch(tok):
            count += 1
    return count


def _word(base: str) -> Arg:
    if _is_token(base):
        token = "" if base == '""' else base
        return {"name": token.lower(), "type": "pure-token", "token": token, "_bare": True}
    return {"name": base, "type": default_type(base)}


def _annotate(arg: Arg, ann: str, parser: _Parser) -> Arg:
    for part in _ANN_RE.findall(ann):
        if part.startswith("@"):
            arg["since"] = part[1:]
            continue
        for entry in part[1:-1].split(","):
            entry = entry.strip()
            key, _, value = entry.partition("=")
            if key == "block" and arg.get("_bare"):
                arg["_lead_block"] = True  # TOKEN{block} x: a block led by TOKEN, even of one item
            elif key == "block":
                inner = {k: v for k, v in arg.items() if k not in ("flags", "since", "_group")}
                arg = {"name": inner["name"], "type": "block", "arguments": [inner],
                       **{k: arg[k] for k in ("since", "flags") if k in arg}, "_group": True}
            elif key in ARG_TYPES:
                arg["type"] = key
            elif key == "name":
                arg["name"] = value
            elif key == "spec":
                arg["key_spec_index"] = int(value)
            elif key == "deprecated":
                arg["deprecated_since"] = value
            else:
                raise parser.fail(f"unknown annotation {entry!r}")
    return arg


def _add_flag(arg: Arg, flag: str) -> None:
    flags = arg.setdefault("flags", [])
    if flag not in flags:
        flags.append(flag)


def _joined(args: list[Arg]) -> str:
    return "_".join(str(a["name"]) for a in args)


def _resolve_alternative(items: list[Arg], label: str | None) -> Arg:
    """One alternative of a group (a sequence of items) as one argument."""
    if not items:
        raise AssertionError("empty group or alternative in a syntax line")
    head = items[0]
    if len(items) == 1:
        arg = head
    elif head.get("_bare") and "flags" not in head:
        rest = items[1:]
        if (len(rest) == 1 and "token" not in rest[0] and rest[0]["type"] != "pure-token"
                and not head.get("_lead_block")):
            arg = {**rest[0], "token": head["token"]}
            if "since" in head:
                arg.setdefault("since", head["since"])
        else:
            arg = {"name": _joined(rest), "type": "block", "token": head["token"],
                   "arguments": rest}
            if "since" in head:
                arg["since"] = head["since"]
    else:
        arg = {"name": _joined(items), "type": "block", "arguments": items}
    arg = {k: v for k, v in arg.items() if k != "_bare"}
    if label is not None:
        arg["name"] = label
    return arg


def _resolve_group(alternatives: list[list[Arg]], label: str | None) -> Arg:
    if len(alternatives) == 1:
        return _resolve_alternative(alternatives[0], label)
    choices = [_resolve_alternative(alt, None) for alt in alternatives]
    return {"name": label if label is not None else _joined(choices), "type": "oneof",
            "arguments": choices}


def _clean(args: list[Arg]) -> list[Arg]:
    out = []
    for a in args:
        a = {k: v for k, v in a.items() if not k.startswith("_")}
        if "arguments" in a:
            a["arguments"] = _clean(a["arguments"])
        out.append(a)
    return out


def parse_syntax(syntax: str, key_specs: int = 0) -> list[Arg]:
    """Parse a syntax line (see the module docstring) into COMMAND DOCS argument maps.

    Args:
        syntax: the line, without the command name.
        key_specs: how many key specs the command has (key_spec_index never
            goes beyond the last); 0 numbers key arguments 0, 1, 2...

    Returns:
        Redis 7 argument dicts (keys in no particular order; flags in the
        order they were met).

    Raises:
        AssertionError: the line is malformed (a bug in a registration).
    """
    parser = _Parser(syntax)
    alternatives = parser.sequence(None)
    if len(alternatives) > 1:
        args = [_resolve_group(alternatives, None)]
    else:
        args = alternatives[0]
    args = _clean(args)
    _number_keys(args, key_specs)
    return args


def _number_keys(args: list[Arg], key_specs: int) -> None:
    counter = 0

    def walk(items: list[Arg]) -> None:
        nonlocal counter
        for a in items:
            if "key_spec_index" in a:
                counter = a["key_spec_index"] + 1
            elif a["type"] == "key":
                index = counter if key_specs <= 0 else min(counter, key_specs - 1)
                a["key_spec_index"] = index
                counter = index + 1
            if "arguments" in a:
                walk(a["arguments"])

    walk(args)


# -- formatting (the inverse) ----------------------------------------------------------


def format_arguments(args: list[Arg]) -> str:
    """Write argument maps as a syntax line that `parse_syntax` reads back into the same maps.

    Args:
        args: Redis 7 argument dicts (as COMMAND DOCS gives them, decoded to str).

    Returns:
        The line; labels, types and spec indexes written only where the defaults differ.
    """
    fmt = _Formatter(_max_spec(args) + 1)
    return " ".join(fmt.unit(a, "top") for a in args)


def _max_spec(args: list[Arg]) -> int:
    best = -1
    for a in args:
        best = max(best, a.get("key_spec_index", -1), _max_spec(a.get("arguments", [])))
    return best


class _Formatter:
    """Formats arguments so each one reads back as exactly one item."""

    def __init__(self, specs: int) -> None:
        self.specs = specs
        self.counter = 0

    def annotations(self, a: Arg) -> str:
        entries: list[str] = []
        kind = a["type"]
        if kind not in ("pure-token", "oneof", "block") and kind != default_type(a["name"]):
            entries.append(kind)
        if kind == "pure-token" and a["name"] != a["token"].lower():
            entries.append(f"name={a['name']}")
        if "key_spec_index" in a:
            index = a["key_spec_index"]
            predicted = None
            if kind == "key":
                predicted = self.counter if self.specs <= 0 else min(self.counter, self.specs - 1)
            if predicted != index:
                entries.append(f"spec={index}")
            self.counter = index + 1
        if "deprecated_since" in a:
            entries.append(f"deprecated={a['deprecated_since']}")
        out = "{" + ",".join(entries) + "}" if entries else ""
        if "since" in a:
            out = f"@{a['since']}" + out
        return out

    def unit(self, a: Arg, where: str) -> str:
        """``where``: "top" (items never merge), "alt" (a oneof alternative) or "block"."""
        flags = a.get("flags", [])
        optional = "optional" in flags
        multiple = "multiple" in flags
        multi_token = "multiple_token" in flags
        kind = a["type"]
        token = a.get("token")
        tok = None if token is None else (token if token else '""')
        # body: the argument's words; grouped: whether body is already one bracketed group.
        if kind == "pure-token":
            body = str(tok) + self.annotations(a)
            grouped, needs_group = False, False
            rep = tok
        elif kind == "oneof":
            ann = self.annotations(a)
            alts = " | ".join(self.unit(x, "alt") for x in a["arguments"])
            label = "" if a["name"] == _joined(a["arguments"]) else f"{a['name']}: "
            if tok is None:
                body, grouped, needs_group = f"({label}{alts}){ann}", True, False
            else:
                body, grouped, needs_group = f"{tok} ({label}{alts}){ann}", False, True
            rep = " ".join(str(x["name"]) for x in a["arguments"])
        elif kind == "block":
            ann = self.annotations(a)
            inner = a["arguments"]
            parts = [self.unit(x, "block") for x in inner]
            label = "" if a["name"] == _joined(inner) else f"{a['name']}: "
            if tok is None:
                if inner[0]["type"] == "pure-token" and "flags" not in inner[0]:
                    parts[0] = f"({parts[0]})"
                simple = not label and not ann and all(
                    p == x["name"] and "flags" not in x for p, x in zip(parts, inner))
                if len(inner) == 1:
                    extra = "" if a["name"] == inner[0]["name"] else f",name={a['name']}"
                    body, grouped, needs_group = f"({parts[0]}){{block{extra}}}{ann}", True, False
                elif simple and (multiple or optional):
                    body, grouped, needs_group = " ".join(parts), False, False
                else:
                    body, grouped, needs_group = f"({label}{' '.join(parts)}){ann}", True, False
            else:
                lead = tok
                single = (len(inner) == 1 and "token" not in inner[0]
                          and inner[0]["type"] != "pure-token")
                if single:
                    lead += "{block}"
                content = f"{lead} {' '.join(parts)}"
                names = " ".join(str(x["name"]) for x in inner)
                if multiple and multi_token:
                    content += f" [{tok} {names} ...]"
                elif multiple:
                    content = f"({label}{content}){ann} [{names} ...]"
                    label = ann = ""
                    return f"[{content}]" if optional else f"({content})"
                if optional:
                    return f"[{label}{content}]{ann}"
                if label or ann or where != "alt":
                    return f"({label}{content}){ann}"
                return content
            rep = " ".join(str(x["name"]) for x in inner)
            if tok is not None and multi_token:
                rep = f"{tok} {rep}"
        else:
            body = a["name"] + self.annotations(a)
            rep = str(a["name"])
            if tok is None:
                grouped, needs_group = False, False
            else:
                body, grouped, needs_group = f"{tok} {body}", False, True
                if multi_token:
                    rep = f"{tok} {rep}"
        if multiple:
            if grouped:
                body = f"{body} [{rep} ...]"
            else:
                body = f"{body} [{rep} ...]"
        if optional:
            if grouped and not multiple and not body.endswith("}"):
                close = _closing(body)
                if close is not None:  # "(x | y)@1.0" -> "[x | y]@1.0"
                    return f"[{body[1:close]}]{body[close + 1:]}"
            return f"[{body}]"
        if needs_group and where != "alt":
            return f"({body})"
        if multiple and kind == "block" and not grouped and where == "alt":
            return f"({body})"
        return body


def _closing(text: str) -> int | None:
    """Where the group opening ``text`` closes, if only a since annotation follows."""
    depth = 0
    for i, ch in enumerate(text):
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
            if depth == 0:
                rest = text[i + 1:]
                return i if rest == "" or re.fullmatch(r"@[0-9.]+", rest) else None
    return None
