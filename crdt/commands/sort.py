"""SORT and SORT_RO over lists, sets and sorted sets, with BY/GET patterns, LIMIT and STORE.

Strategy: follow Redis 7.0's sortCommandGeneric step by step, because the
order of its steps decides the replies:
- Options are parsed first (a syntax or LIMIT integer error wins over
  WRONGTYPE); a ``BY`` pattern without ``*`` means "don't sort" and a later
  ``BY`` with ``*`` does not undo it. SORT_RO refuses STORE as a syntax error.
- The key is looked up once; a missing key sorts as an empty list. A set
  sorted with "don't sort" and STORE is sorted ALPHA instead (Redis does this
  so that replicas get the same list). A sorted set is switched to its
  skiplist encoding, as Redis destructively does, when its class offers
  ``force_skiplist()``.
- LIMIT is clamped to the collection size exactly as Redis clamps it. A list
  or sorted set that is not sorted is read in its own order (DESC reverses
  it) and only the LIMIT range is loaded.
- Numeric weights follow strtod as Redis calls it: leading white space, hex,
  inf; the text is read up to its first NUL; an empty text is 0; trailing
  characters, nan and out-of-range values (ERANGE: overflow, underflow to 0
  or to a subnormal) are conversion errors, reported after all weights are
  read. Equal weights are ordered by the elements' bytes (Redis's
  tie-break), so numeric order is total.
- ALPHA compares with strcoll (the reference server runs under C.UTF-8, so
  byte order up to the first NUL) unless STORE is given, where Redis
  compares the full binary strings. Elements without a BY weight sort
  first. Python's sort is stable, like glibc's merge-sort qsort; reversing
  keeps equal elements in input order, as negating the comparator does.
- Patterns (lookupKeyByPattern): ``#`` (up to a NUL) is the element itself;
  the first ``*`` is replaced by the element; ``->field`` after the ``*``
  (with a non-empty field) reads a hash field; a pattern without ``*``
  gives nothing. A missing value is null in replies and "" in STORE.
- STORE replaces the destination with a new list (TTL cleared) or deletes it
  when the result is empty, and answers the stored length.
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING, Any

from crdt import errors
from crdt.args import c_word, to_int
from crdt.commands.lists import ListValue
from crdt.errors import CommandError
from crdt.keyspace import is_string, string_bytes, type_name
from crdt.table import command
from crdt.writes import notify, notify_new
from protocol.replies import Reply

if TYPE_CHECKING:
    from crdt.keyspace import Db
    from crdt.session import Session

_SORTABLE = (b"list", b"set", b"zset")
_C_SPACE = b" \t\n\v\f\r"
_DBL_MIN = 2.2250738585072014e-308
_DEC_RE = re.compile(rb"[+-]?([0-9]*)\.?([0-9]*)(?:[eE][+-]?[0-9]+)?\Z")
_DEC_SHAPE_RE = re.compile(rb"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\Z")
_HEX_RE = re.compile(rb"[+-]?0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)(?:[pP][+-]?[0-9]+)?\Z")
_INF_RE = re.compile(rb"[+-]?(?:inf|infinity)\Z", re.IGNORECASE)


def _c_string(raw: bytes) -> bytes:
    """What C string functions see of a binary string: up to the first NUL."""
    nul = raw.find(b"\0")
    return raw if nul < 0 else raw[:nul]


def sort_weight(raw: bytes) -> float | None:
    """A numeric SORT weight as Redis reads it with strtod; None for a conversion error.

    Accepted: optional leading C white space, a decimal or hex float, inf or
    infinity; the text ends at its first NUL; an empty text is 0. Refused:
    trailing characters, nan, overflow and underflow (ERANGE).
    """
    text = _c_string(raw)
    if not text:
        return 0.0
    body = text.lstrip(_C_SPACE)
    if _DEC_SHAPE_RE.match(body):
        value = float(body)
        if math.isinf(value):
            return None
        if abs(value) < _DBL_MIN:
            m = _DEC_RE.match(body)
            assert m is not None
            if value != 0.0 or (m.group(1) + m.group(2)).strip(b"0"):
                return None
        return value
    if _INF_RE.match(body):
        return -math.inf if body[:1] == b"-" else math.inf
    if _HEX_RE.match(body):
        try:
            value = float.fromhex(body.decode())
        except OverflowError:
            return None
        if abs(value) < _DBL_MIN:
            mantissa = body.lower().lstrip(b"+-")[2:].split(b"p")[0]
            if value != 0.0 or mantissa.replace(b".", b"").strip(b"0"):
                return None
        return value
    return None


def _hash_field(value: Any, field: bytes) -> bytes | None:
    """A hash's field value, whatever the hash class keeps it in."""
    get = getattr(value, "get", None)
    if get is not None:
        found = get(field)
    else:  # pragma: no cover - depends on crdt/commands/hashes.py's class
        found = getattr(value, "fields", {}).get(field)
    if found is None:
        return None
    return bytes(found) if type(found) is not bytes else found


def lookup_by_pattern(db: Db, pattern: bytes, element: bytes, now_ms: int) -> bytes | None:
    """Redis's lookupKeyByPattern: the value a GET/BY pattern names for `element`, or None."""
    text = _c_string(pattern)
    if text == b"#":
        return element
    star = text.find(b"*")
    if star < 0:
        return None
    arrow = text.find(b"->", star + 1)
    if 0 <= arrow and arrow + 2 < len(text):
        field: bytes | None = pattern[arrow + 2:]
        key = pattern[:star] + element + pattern[star + 1:arrow]
    else:
        field = None
        key = pattern[:star] + element + pattern[star + 1:]
    value = db.read(key, now_ms)
    if value is None:
        return None
    if field is not None:
        if is_string(value) or value.type_name != b"hash":
            return None
        return _hash_field(value, field)
    return string_bytes(value)


def _set_members(value: Any) -> list[bytes]:
    """A set's members in the set's own iteration order."""
    members = getattr(value, "members", None)
    source = members if members is not None and not callable(members) else value
    return [bytes(m) if type(m) is not bytes else m for m in source]


def _zset_members(value: Any) -> list[bytes]:
    """A sorted set's members in score order (ties by member bytes)."""
    ordered = getattr(value, "ordered", None)
    if callable(ordered):
        return [m for m in ordered()]
    pairs: list[Any] = list(value)
    if pairs and isinstance(pairs[0], tuple):
        first = pairs[0]
        if isinstance(first[0], bytes):  # (member, score)
            return [m for m, _ in sorted(pairs, key=lambda p: (p[1], p[0]))]
        return [m for _, m in sorted(pairs)]
    scores = getattr(value, "scores", None) or getattr(value, "dict", None)
    if scores is not None:
        return [m for m, _ in sorted(scores.items(), key=lambda p: (p[1], p[0]))]
    return pairs  # pragma: no cover - the class already iterates in score order


def _parse(argv: list[bytes], readonly: bool) -> tuple[bool, bool, int, int, bytes | None,
                                                       bytes | None, bool, list[bytes]]:
    """SORT's options: (desc, alpha, limit_start, limit_count, store, by, dontsort, gets).

    Raises:
        CommandError: syntax error, or LIMIT's integer error.
    """
    desc = alpha = dontsort = False
    limit_start, limit_count = 0, -1
    store: bytes | None = None
    by: bytes | None = None
    gets: list[bytes] = []
    n = len(argv)
    j = 2
    while j < n:
        word = c_word(argv[j])
        left = n - j - 1
        if word == b"ASC":
            desc = False
        elif word == b"DESC":
            desc = True
        elif word == b"ALPHA":
            alpha = True
        elif word == b"LIMIT" and left >= 2:
            limit_start = to_int(argv[j + 1])
            limit_count = to_int(argv[j + 2])
            j += 2
        elif word == b"STORE" and not readonly and left >= 1:
            store = argv[j + 1]
            j += 1
        elif word == b"BY" and left >= 1:
            by = argv[j + 1]
            if b"*" not in _c_string(by):
                dontsort = True
            j += 1
        elif word == b"GET" and left >= 1:
            gets.append(argv[j + 1])
            j += 1
        else:
            raise CommandError(errors.SYNTAX)
        j += 1
    return desc, alpha, limit_start, limit_count, store, by, dontsort, gets


def sort_generic(s: Session, argv: list[bytes], readonly: bool) -> Reply:
    """SORT / SORT_RO: the sorted (and projected) elements, or with STORE the stored length."""
    desc, alpha, limit_start, limit_count, store, by, dontsort, gets = _parse(argv, readonly)
    db = s.db
    now = s.now_ms
    value = db.read(argv[1], now)
    kind = b"list" if value is None else type_name(value)
    if kind not in _SORTABLE:
        raise CommandError(errors.WRONGTYPE)
    if dontsort and kind == b"set" and store is not None:
        dontsort, alpha, by = False, True, None
    if kind == b"zset":
        convert = getattr(value, "force_skiplist", None)
        if convert is not None:
            convert(s.engine.config)
    size = 0 if value is None else len(value)

    start = min(max(limit_start, 0), size)
    count = min(max(limit_count, -1), size)
    end = size - 1 if count < 0 else start + count - 1
    if start >= size:
        start, end = size - 1, size - 2
    if end >= size:
        end = size - 1

    vector: list[bytes]
    if value is None:
        vector = []
    elif kind == b"list" or kind == b"zset":
        ordered = list(value) if kind == b"list" else _zset_members(value)
        if dontsort:
            if end >= start:
                if desc:
                    ordered.reverse()
                vector = ordered[start:end + 1]
            else:
                vector = []
            end -= start
            start = 0
        else:
            vector = ordered
    else:
        vector = _set_members(value)

    if not dontsort:
        if alpha:
            if by is not None:
                weights: list[Any] = []
                for element in vector:
                    w = lookup_by_pattern(db, by, element, now)
                    if w is None:
                        weights.append((0, b""))
                    else:
                        weights.append((1, w if store is not None else _c_string(w)))
            else:
                weights = vector if store is not None else [_c_string(e) for e in vector]
            order = sorted(range(len(vector)), key=weights.__getitem__, reverse=desc)
            vector = [vector[i] for i in order]
        else:
            failed = False
            scored: list[tuple[float, bytes]] = []
            for element in vector:
                if by is not None:
                    raw = lookup_by_pattern(db, by, element, now)
                    if raw is None:
                        scored.append((0.0, element))
                        continue
                else:
                    raw = element
                w = sort_weight(raw)
                if w is None:
                    failed = True
                    w = 0.0
                scored.append((w, element))
            if failed:
                raise CommandError(errors.SORT_SCORE_NOT_FLOAT)
            scored.sort(reverse=desc)
            vector = [e for _, e in scored]

    selected = vector[start:end + 1] if end >= start else []
    if store is None:
        if not gets:
            return selected
        out: list[bytes | None] = []
        for element in selected:
            for pattern in gets:
                out.append(lookup_by_pattern(db, pattern, element, now))
        return out
    result = ListValue()
    if not gets:
        result.extend(selected)
    else:
        for element in selected:
            for pattern in gets:
                got = lookup_by_pattern(db, pattern, element, now)
                result.append(b"" if got is None else got)
    if result:
        created = db.lookup(store, now) is None  # an expired store key goes first (setKey)
        db.set(store, result, now)
        if created:
            notify_new(s, store)
        notify(s, "l", b"sortstore", store)
    elif db.delete(store):
        notify(s, "g", b"del", store)
    return len(result)


_SORT_COMPLEXITY = ("O(N+M*log(M)) where N is the number of elements in the list or set to sort, "
                    "and M the number of returned elements. When the elements are not sorted, "
                    "complexity is O(N).")


_BY_GET_SPEC = ("RO access unknown # For the optional BY/GET keyword. It is marked 'unknown' because "
                "the key names derive from the content of the key we sort")
_STORE_SPEC = ("OW update unknown # For the optional STORE keyword. It is marked 'unknown' because "
               "the keyword can appear anywhere in the argument array")


@command("sort", -2, "write denyoom movablekeys", keys=(1, 1, 1), group="generic", since="1.0.0",
         complexity=_SORT_COMPLEXITY, summary="Sort the elements in a list, set or sorted set",
         syntax="key [BY pattern{spec=1}] [LIMIT offset count] [GET pattern{spec=1} [GET pattern ...]] "
                "[order: ASC | DESC] [ALPHA{name=sorting}] [STORE destination{spec=2}]",
         key_specs=("RO access index:1 range:0:1:0", _BY_GET_SPEC, _STORE_SPEC),
         acl="-keyspace set sortedset list dangerous")
def sort(s: Session, argv: list[bytes]) -> Reply:
    """SORT key [BY pattern] [LIMIT offset count] [GET pattern ...] [ASC|DESC] [ALPHA] [STORE dst]."""
    return sort_generic(s, argv, False)


@command("sort_ro", -2, "readonly movablekeys", keys=(1, 1, 1), group="generic", since="7.0.0",
         complexity=_SORT_COMPLEXITY,
         summary="Sort the elements in a list, set or sorted set. Read-only variant of SORT.",
         syntax="key [BY pattern{spec=1}] [LIMIT offset count] [GET pattern{spec=1} [GET pattern ...]] "
                "[order: ASC | DESC] [ALPHA{name=sorting}]",
         key_specs=("RO access index:1 range:0:1:0", _BY_GET_SPEC),
         acl="-keyspace set sortedset list dangerous")
def sort_ro(s: Session, argv: list[bytes]) -> Reply:
    """SORT_RO: SORT without STORE."""
    return sort_generic(s, argv, True)
