"""Sorted-set ranges and set algebra: ZRANGE and its old forms, ZRANGESTORE, ZCOUNT, ZLEXCOUNT,
ZREMRANGEBY*, ZUNION/ZINTER/ZDIFF (+STORE) and ZINTERCARD.

Strategy:
- One ZRANGE parser (`_zrange`) serves ZRANGE, ZRANGESTORE and the five older
  range commands, which preset the range type and direction exactly as Redis's
  zrangeGenericCommand does, so every option conflict gets Redis's error. The
  range becomes ranks in the `SortedList` (bisect for scores, Redis's listpack
  walk for lex ranges, see `crdt.commands.zsets`), then LIMIT skips and takes as Redis's
  loops do (a negative offset skips everything, a negative count takes all).
- Set algebra follows zunionInterDiffGenericCommand: look up every key first
  (WRONGTYPE before option errors), then options, then sort the inputs by size
  (stable, as glibc's qsort is, and not for DIFF) because the order decides how
  floating-point sums are rounded. A plain set counts as members of score 1.
  NaN from weights or inf + -inf becomes 0, as in Redis.
- A STORE result replaces the destination (TTL cleared) with the encoding
  Redis converts it to; an empty result deletes the destination.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from sortedcontainers import SortedList

from crdt import errors
from crdt.args import to_int
from crdt.commands.zsets import (
    WRONGTYPE,
    ZSet,
    build_zset,
    lex_first,
    lex_last,
    lex_span,
    option_word,
    pairs_reply,
    parse_lex_range,
    parse_score,
    parse_score_range,
    read_zset,
    score_span,
    write_zset,
)
from crdt.errors import CommandError
from crdt.keyspace import type_name
from crdt.table import command
from crdt.writes import lookup_write, notify, notify_new, signal_or_delete
from protocol.replies import Reply

if TYPE_CHECKING:
    from crdt.session import Session

_AUTO = 0
_RANK = 1
_SCORE = 2
_LEX = 3

_RANGE_COMPLEXITY = ("O(log(N)+M) with N being the number of elements in the sorted set and M "
                     "the number of elements being returned. If M is constant (e.g. always asking "
                     "for the first 10 elements with LIMIT), you can consider it O(log(N)).")
_REMRANGE_COMPLEXITY = ("O(log(N)+M) with N being the number of elements in the sorted set and M "
                        "the number of elements removed by the operation.")


# -- ZRANGE and friends ------------------------------------------------------------------


def _rank_items(zs: ZSet, start: int, end: int, reverse: bool) -> list[tuple[float, bytes]]:
    """Ranks start..end (inclusive, negative from the end) as Redis sanitises them."""
    n = len(zs.order)
    if start < 0:
        start += n
    if end < 0:
        end += n
    if start < 0:
        start = 0
    if start > end or start >= n:
        return []
    if end >= n:
        end = n - 1
    if reverse:
        return list(zs.order.islice(n - 1 - end, n - start, reverse=True))
    return list(zs.order.islice(start, end + 1))


def _score_items(zs: ZSet, bounds: tuple[float, bool, float, bool], reverse: bool,
                 offset: int, limit: int) -> list[tuple[float, bytes]]:
    start, stop = score_span(zs, *bounds)
    if offset < 0 or start >= stop:
        return []
    if reverse:
        stop -= offset
        first = start if limit < 0 else max(start, stop - limit)
        return list(zs.order.islice(first, stop, reverse=True)) if first < stop else []
    start += offset
    if limit >= 0:
        stop = min(stop, start + limit)
    return list(zs.order.islice(start, stop)) if start < stop else []


def _lex_items(zs: ZSet, rng: Any, reverse: bool, offset: int, limit: int) -> list[tuple[float, bytes]]:
    """Redis's listpack walk: find the first (last) member in range, skip `offset`
    members unchecked, then take members while they stay under max (over min)."""
    order = zs.order
    first = lex_last(zs, rng) if reverse else lex_first(zs, rng)
    if first is None or offset < 0:
        return []
    out: list[tuple[float, bytes]] = []
    if reverse:
        i = first - offset
        if i < 0:
            return out
        for item in order.islice(0, i + 1, reverse=True):
            if len(out) == limit or not rng.gte_min(item[1]):
                break
            out.append(item)
    else:
        i = first + offset
        for item in order.islice(i):
            if len(out) == limit or not rng.lte_max(item[1]):
                break
            out.append(item)
    return out


def _zrange(s: Session, argv: list[bytes], src_index: int, store: bytes | None,
            rangetype: int, reverse: bool | None) -> Reply:
    """zrangeGenericCommand: parse options from ``src_index + 3``, the range, then the key."""
    withscores = False
    offset, limit = 0, -1
    n = len(argv)
    j = src_index + 3
    while j < n:
        opt = option_word(argv[j])
        if store is None and opt == b"WITHSCORES":
            withscores = True
        elif opt == b"LIMIT" and n - j - 1 >= 2:
            offset = to_int(argv[j + 1])
            limit = to_int(argv[j + 2])
            j += 2
        elif reverse is None and opt == b"REV":
            reverse = True
        elif rangetype == _AUTO and opt == b"BYLEX":
            rangetype = _LEX
        elif rangetype == _AUTO and opt == b"BYSCORE":
            rangetype = _SCORE
        else:
            raise CommandError(errors.SYNTAX)
        j += 1
    reverse = bool(reverse)
    if rangetype == _AUTO:
        rangetype = _RANK
    if limit != -1 and rangetype == _RANK:
        raise CommandError(errors.RANGE_LIMIT)
    if withscores and rangetype == _LEX:
        raise CommandError(errors.RANGE_BYLEX_WITHSCORES)
    raw_min, raw_max = argv[src_index + 1], argv[src_index + 2]
    if reverse and rangetype != _RANK:
        raw_min, raw_max = raw_max, raw_min
    bounds: Any
    if rangetype == _RANK:
        bounds = (to_int(raw_min), to_int(raw_max))
    elif rangetype == _SCORE:
        bounds = parse_score_range(raw_min, raw_max)
    else:
        bounds = parse_lex_range(raw_min, raw_max)
    zs = read_zset(s, argv[src_index])
    if zs is None:
        items: list[tuple[float, bytes]] = []
    elif rangetype == _RANK:
        items = _rank_items(zs, bounds[0], bounds[1], reverse)
    elif rangetype == _SCORE:
        items = _score_items(zs, bounds, reverse, offset, limit)
    else:
        items = _lex_items(zs, bounds, reverse, offset, limit)
    if store is None:
        return pairs_reply(items, withscores, s.resp3)
    return store_result(s, store, [(m, sc) for sc, m in items], b"zrangestore")


def store_result(s: Session, dst: bytes, pairs: list[tuple[bytes, float]], event: bytes) -> int:
    """Replace `dst` with a set of `pairs` (member, score), or delete it when empty; the size.

    Events: ``new`` (when dst is created) and `event` (the command's name) for
    a stored result, ``del`` when an existing dst is deleted.
    """
    db = s.db
    if not pairs:
        if db.delete(dst):
            notify(s, "g", b"del", dst)
        return 0
    zs = build_zset(s.engine.config, pairs)
    created = db.lookup(dst, s.now_ms) is None  # an expired dst goes first, as in Redis's setKey
    db.set(dst, zs, s.now_ms)
    if created:
        notify_new(s, dst)
    notify(s, "z", event, dst)
    return len(zs.scores)


_ZRANGE_SYNTAX = ("key start{string} stop{string} [sortby: BYSCORE | BYLEX]@6.2.0 [REV@6.2.0] "
                  "[LIMIT offset count]@6.2.0 [WITHSCORES]")


@command("zrange", -4, "readonly", keys=(1, 1, 1), group="sorted-set", since="1.2.0",
         complexity=("O(log(N)+M) with N being the number of elements in the sorted set and M "
                     "the number of elements returned."),
         summary="Return a range of members in a sorted set", syntax=_ZRANGE_SYNTAX,
         history=(("6.2.0", "Added the `REV`, `BYSCORE`, `BYLEX` and `LIMIT` options."),))
def zrange(s: Session, argv: list[bytes]) -> Reply:
    """ZRANGE key start stop [BYSCORE|BYLEX] [REV] [LIMIT offset count] [WITHSCORES]."""
    return _zrange(s, argv, 1, None, _AUTO, None)


@command("zrangestore", -5, "write denyoom", keys=(1, 2, 1), group="sorted-set", since="6.2.0",
         complexity=("O(log(N)+M) with N being the number of elements in the sorted set and M the "
                     "number of elements stored into the destination key."),
         summary="Store a range of members from sorted set into another key",
         syntax="dst src min max [sortby: BYSCORE | BYLEX] [REV] [LIMIT offset count]",
         key_specs=("OW update", "RO access"))
def zrangestore(s: Session, argv: list[bytes]) -> Reply:
    """ZRANGESTORE dst src min max [BYSCORE|BYLEX] [REV] [LIMIT offset count]: members stored."""
    return _zrange(s, argv, 2, argv[1], _AUTO, None)


@command("zrevrange", -4, "readonly", keys=(1, 1, 1), group="sorted-set", since="1.2.0",
         complexity=("O(log(N)+M) with N being the number of elements in the sorted set and M "
                     "the number of elements returned."),
         summary="Return a range of members in a sorted set, by index, with scores ordered from high to low",
         syntax="key start stop [WITHSCORES]", doc_flags="deprecated", deprecated_since="6.2.0",
         replaced_by="`ZRANGE` with the `REV` argument")
def zrevrange(s: Session, argv: list[bytes]) -> Reply:
    """ZREVRANGE key start stop [WITHSCORES] (deprecated form of ZRANGE ... REV)."""
    return _zrange(s, argv, 1, None, _RANK, True)


@command("zrangebyscore", -4, "readonly", keys=(1, 1, 1), group="sorted-set", since="1.0.5",
         complexity=_RANGE_COMPLEXITY, summary="Return a range of members in a sorted set, by score",
         syntax="key min{double} max{double} [WITHSCORES@2.0.0] [LIMIT offset count]",
         history=(("2.0.0", "Added the `WITHSCORES` modifier."),), doc_flags="deprecated",
         deprecated_since="6.2.0", replaced_by="`ZRANGE` with the `BYSCORE` argument")
def zrangebyscore(s: Session, argv: list[bytes]) -> Reply:
    """ZRANGEBYSCORE key min max [WITHSCORES] [LIMIT offset count]."""
    return _zrange(s, argv, 1, None, _SCORE, False)


@command("zrevrangebyscore", -4, "readonly", keys=(1, 1, 1), group="sorted-set", since="2.2.0",
         complexity=_RANGE_COMPLEXITY,
         summary="Return a range of members in a sorted set, by score, with scores ordered from high to low",
         syntax="key max{double} min{double} [WITHSCORES] [LIMIT offset count]",
         history=(("2.1.6", "`min` and `max` can be exclusive."),), doc_flags="deprecated",
         deprecated_since="6.2.0",
         replaced_by="`ZRANGE` with the `REV` and `BYSCORE` arguments")
def zrevrangebyscore(s: Session, argv: list[bytes]) -> Reply:
    """ZREVRANGEBYSCORE key max min [WITHSCORES] [LIMIT offset count]."""
    return _zrange(s, argv, 1, None, _SCORE, True)


@command("zrangebylex", -4, "readonly", keys=(1, 1, 1), group="sorted-set", since="2.8.9",
         complexity=_RANGE_COMPLEXITY,
         summary="Return a range of members in a sorted set, by lexicographical range",
         syntax="key min max [LIMIT offset count]", doc_flags="deprecated",
         deprecated_since="6.2.0", replaced_by="`ZRANGE` with the `BYLEX` argument")
def zrangebylex(s: Session, argv: list[bytes]) -> Reply:
    """ZRANGEBYLEX key min max [LIMIT offset count]."""
    return _zrange(s, argv, 1, None, _LEX, False)


@command("zrevrangebylex", -4, "readonly", keys=(1, 1, 1), group="sorted-set", since="2.8.9",
         complexity=_RANGE_COMPLEXITY,
         summary=("Return a range of members in a sorted set, by lexicographical range, "
                  "ordered from higher to lower strings."),
         syntax="key max min [LIMIT offset count]", doc_flags="deprecated",
         deprecated_since="6.2.0", replaced_by="`ZRANGE` with the `REV` and `BYLEX` arguments")
def zrevrangebylex(s: Session, argv: list[bytes]) -> Reply:
    """ZREVRANGEBYLEX key max min [LIMIT offset count]."""
    return _zrange(s, argv, 1, None, _LEX, True)


# -- counting and removing ranges --------------------------------------------------------------


@command("zcount", 4, "readonly fast", keys=(1, 1, 1), group="sorted-set", since="2.0.0",
         complexity="O(log(N)) with N being the number of elements in the sorted set.",
         summary="Count the members in a sorted set with scores within the given values",
         syntax="key min{double} max{double}")
def zcount(s: Session, argv: list[bytes]) -> Reply:
    """ZCOUNT key min max: members with a score in the range."""
    bounds = parse_score_range(argv[2], argv[3])
    zs = read_zset(s, argv[1])
    if zs is None:
        return 0
    start, stop = score_span(zs, *bounds)
    return stop - start


@command("zlexcount", 4, "readonly fast", keys=(1, 1, 1), group="sorted-set", since="2.8.9",
         complexity="O(log(N)) with N being the number of elements in the sorted set.",
         summary="Count the number of members in a sorted set between a given lexicographical range",
         syntax="key min max")
def zlexcount(s: Session, argv: list[bytes]) -> Reply:
    """ZLEXCOUNT key min max: members in the lex range."""
    rng = parse_lex_range(argv[2], argv[3])
    zs = read_zset(s, argv[1])
    if zs is None:
        return 0
    start, stop = lex_span(zs, rng)
    return stop - start


def _remove_span(s: Session, key: bytes, zs: ZSet, start: int, stop: int, event: bytes) -> int:
    removed = zs.remove_span(start, stop)
    if removed:
        notify(s, "z", event, key)
        signal_or_delete(s, s.db, key, bool(zs.scores))
    return removed


@command("zremrangebyrank", 4, "write", keys=(1, 1, 1), group="sorted-set", since="2.0.0",
         complexity=_REMRANGE_COMPLEXITY,
         summary="Remove all members in a sorted set within the given indexes", syntax="key start stop",
         key_specs=("RW delete",))
def zremrangebyrank(s: Session, argv: list[bytes]) -> Reply:
    """ZREMRANGEBYRANK key start stop: members removed (ranks as ZRANGE reads them)."""
    start, end = to_int(argv[2]), to_int(argv[3])
    key = argv[1]
    zs = write_zset(s, key)
    if zs is None:
        return 0
    n = len(zs.order)
    if start < 0:
        start += n
    if end < 0:
        end += n
    if start < 0:
        start = 0
    if start > end or start >= n:
        return 0
    return _remove_span(s, key, zs, start, min(end, n - 1) + 1, b"zremrangebyrank")


@command("zremrangebyscore", 4, "write", keys=(1, 1, 1), group="sorted-set", since="1.2.0",
         complexity=_REMRANGE_COMPLEXITY,
         summary="Remove all members in a sorted set within the given scores",
         syntax="key min{double} max{double}", key_specs=("RW delete",))
def zremrangebyscore(s: Session, argv: list[bytes]) -> Reply:
    """ZREMRANGEBYSCORE key min max: members removed."""
    bounds = parse_score_range(argv[2], argv[3])
    key = argv[1]
    zs = write_zset(s, key)
    if zs is None:
        return 0
    start, stop = score_span(zs, *bounds)
    return _remove_span(s, key, zs, start, stop, b"zremrangebyscore")


@command("zremrangebylex", 4, "write", keys=(1, 1, 1), group="sorted-set", since="2.8.9",
         complexity=_REMRANGE_COMPLEXITY,
         summary="Remove all members in a sorted set between the given lexicographical range",
         syntax="key min max", key_specs=("RW delete",))
def zremrangebylex(s: Session, argv: list[bytes]) -> Reply:
    """ZREMRANGEBYLEX key min max: members removed."""
    rng = parse_lex_range(argv[2], argv[3])
    key = argv[1]
    zs = write_zset(s, key)
    if zs is None:
        return 0
    start, stop = lex_span(zs, rng)
    return _remove_span(s, key, zs, start, stop, b"zremrangebylex")


# -- set algebra --------------------------------------------------------------------------------

_UNION = 0
_INTER = 1
_DIFF = 2
_SUM = 0
_MIN = 1
_MAX = 2
_AGGREGATES = {b"SUM": _SUM, b"MIN": _MIN, b"MAX": _MAX}


def _source_scores(value: Any) -> dict[bytes, float]:
    """member -> score of an input: a sorted set's own dict, or 1.0 per member of a set."""
    if value is None:
        return {}
    if type(value) is ZSet:
        return value.scores
    return dict.fromkeys(_set_members(value), 1.0)


def _set_members(value: Any) -> Iterable[bytes]:
    """The members of a stored plain set (crdt.commands.sets): its ``members`` attribute or itself."""
    members = getattr(value, "members", None)
    return value if members is None else members  # type: ignore[no-any-return]


def _aggregate(target: float, value: float, how: int) -> float:
    if how == _SUM:
        total = target + value
        return 0.0 if total != total else total
    if how == _MIN:
        return value if value < target else target
    return value if value > target else target


def _setop(s: Session, argv: list[bytes], dst: bytes | None, numkeys_index: int, op: int,
           card_only: bool, name: str) -> Reply:
    """zunionInterDiffGenericCommand."""
    setnum = to_int(argv[numkeys_index])
    if setnum < 1:
        raise CommandError((errors.AT_LEAST_ONE_KEY % name).encode())
    first = numkeys_index + 1
    if setnum > len(argv) - first:
        raise CommandError(errors.SYNTAX)
    db, now = s.db, s.now_ms
    values: list[Any] = []
    for key in argv[first:first + setnum]:
        value = lookup_write(db, key, now) if dst is not None else db.read(key, now)
        if value is not None and type(value) is not ZSet and type_name(value) != b"set":
            raise CommandError(WRONGTYPE)
        values.append(value)
    weights = [1.0] * setnum
    how = _SUM
    withscores = False
    limit = 0
    j = first + setnum
    n = len(argv)
    while j < n:
        remaining = n - j
        opt = option_word(argv[j])
        if op != _DIFF and not card_only and remaining >= setnum + 1 and opt == b"WEIGHTS":
            weights = [parse_score(raw, errors.WEIGHT_NOT_FLOAT) for raw in argv[j + 1:j + 1 + setnum]]
            j += 1 + setnum
        elif op != _DIFF and not card_only and remaining >= 2 and opt == b"AGGREGATE":
            agg = _AGGREGATES.get(option_word(argv[j + 1]))
            if agg is None:
                raise CommandError(errors.SYNTAX)
            how = agg
            j += 2
        elif dst is None and not card_only and opt == b"WITHSCORES":
            withscores = True
            j += 1
        elif card_only and remaining >= 2 and opt == b"LIMIT":
            try:
                limit = to_int(argv[j + 1])
            except CommandError:
                raise CommandError(errors.LIMIT_NEGATIVE) from None
            if limit < 0:
                raise CommandError(errors.LIMIT_NEGATIVE)
            j += 2
        else:
            raise CommandError(errors.SYNTAX)
    sources = [(_source_scores(v), w) for v, w in zip(values, weights)]
    if op != _DIFF:
        sources.sort(key=lambda src: len(src[0]))  # stable, like glibc's qsort (a merge sort)
    result: dict[bytes, float] = {}
    if op == _INTER:
        base, base_weight = sources[0]
        rest = sources[1:]
        count = 0
        for member, score in base.items():
            total = base_weight * score
            if total != total:
                total = 0.0
            for other, weight in rest:
                found = other.get(member)
                if found is None:
                    break
                total = _aggregate(total, found * weight, how)
            else:
                if card_only:
                    count += 1
                    if limit and count >= limit:
                        break
                else:
                    result[member] = total
        if card_only:
            return count
    elif op == _UNION:
        for scores, weight in sources:
            for member, score in scores.items():
                value = weight * score
                if value != value:
                    value = 0.0
                old = result.get(member)
                result[member] = value if old is None else _aggregate(old, value, how)
    else:
        base = sources[0][0]
        others = [src for src, _ in sources[1:]]
        for member, score in base.items():
            if not any(member in other for other in others):
                result[member] = score
    if dst is not None:
        return store_result(s, dst, list(result.items()), name.encode())
    ordered = SortedList((sc, m) for m, sc in result.items())
    return pairs_reply(ordered, withscores, s.resp3)


_ALGEBRA_SYNTAX = ("numkeys key [key ...] [WEIGHTS weight [weight ...]] "
                   "[AGGREGATE (aggregate: SUM | MIN | MAX)] [WITHSCORES]")
_STORE_SYNTAX = ("destination numkeys key [key ...] [WEIGHTS weight [weight ...]] "
                 "[AGGREGATE (aggregate: SUM | MIN | MAX)]")
# Key specs of the numkeys commands: the inputs counted by argv[1] (argv[2] with a destination).
_READ_SPECS = ("RO access index:1 keynum:0:1:1",)
_STORE_SPECS = ("OW update index:1 range:0:1:0", "RO access index:2 keynum:0:1:1")
_UNION_COMPLEXITY = ("O(N)+O(M*log(M)) with N being the sum of the sizes of the input sorted sets, "
                     "and M being the number of elements in the resulting sorted set.")
_INTER_COMPLEXITY = ("O(N*K)+O(M*log(M)) worst case with N being the smallest input sorted set, K "
                     "being the number of input sorted sets and M being the number of elements in "
                     "the resulting sorted set.")
_DIFF_COMPLEXITY = ("O(L + (N-K)log(N)) worst case where L is the total number of elements in all "
                    "the sets, N is the size of the first set, and K is the size of the result set.")


@command("zunion", -3, "readonly movablekeys", group="sorted-set", since="6.2.0",
         complexity=_UNION_COMPLEXITY, summary="Add multiple sorted sets", syntax=_ALGEBRA_SYNTAX,
         key_specs=_READ_SPECS)
def zunion(s: Session, argv: list[bytes]) -> Reply:
    """ZUNION numkeys key ... [WEIGHTS w ...] [AGGREGATE SUM|MIN|MAX] [WITHSCORES]."""
    return _setop(s, argv, None, 1, _UNION, False, "zunion")


@command("zinter", -3, "readonly movablekeys", group="sorted-set", since="6.2.0",
         complexity=_INTER_COMPLEXITY, summary="Intersect multiple sorted sets", syntax=_ALGEBRA_SYNTAX,
         key_specs=_READ_SPECS)
def zinter(s: Session, argv: list[bytes]) -> Reply:
    """ZINTER numkeys key ... [WEIGHTS w ...] [AGGREGATE SUM|MIN|MAX] [WITHSCORES]."""
    return _setop(s, argv, None, 1, _INTER, False, "zinter")


@command("zdiff", -3, "readonly movablekeys", group="sorted-set", since="6.2.0",
         complexity=_DIFF_COMPLEXITY, summary="Subtract multiple sorted sets",
         syntax="numkeys key [key ...] [WITHSCORES]", key_specs=_READ_SPECS)
def zdiff(s: Session, argv: list[bytes]) -> Reply:
    """ZDIFF numkeys key ... [WITHSCORES]: members of the first input in none of the others."""
    return _setop(s, argv, None, 1, _DIFF, False, "zdiff")


@command("zunionstore", -4, "write denyoom movablekeys", keys=(1, 1, 1), group="sorted-set",
         since="2.0.0",
         complexity=("O(N)+O(M log(M)) with N being the sum of the sizes of the input sorted sets, "
                     "and M being the number of elements in the resulting sorted set."),
         summary="Add multiple sorted sets and store the resulting sorted set in a new key",
         syntax=_STORE_SYNTAX, key_specs=_STORE_SPECS)
def zunionstore(s: Session, argv: list[bytes]) -> Reply:
    """ZUNIONSTORE destination numkeys key ... [WEIGHTS w ...] [AGGREGATE SUM|MIN|MAX]."""
    return _setop(s, argv, argv[1], 2, _UNION, False, "zunionstore")


@command("zinterstore", -4, "write denyoom movablekeys", keys=(1, 1, 1), group="sorted-set",
         since="2.0.0", complexity=_INTER_COMPLEXITY,
         summary="Intersect multiple sorted sets and store the resulting sorted set in a new key",
         syntax=_STORE_SYNTAX, key_specs=_STORE_SPECS)
def zinterstore(s: Session, argv: list[bytes]) -> Reply:
    """ZINTERSTORE destination numkeys key ... [WEIGHTS w ...] [AGGREGATE SUM|MIN|MAX]."""
    return _setop(s, argv, argv[1], 2, _INTER, False, "zinterstore")


@command("zdiffstore", -4, "write denyoom movablekeys", keys=(1, 1, 1), group="sorted-set",
         since="6.2.0", complexity=_DIFF_COMPLEXITY,
         summary="Subtract multiple sorted sets and store the resulting sorted set in a new key",
         syntax="destination numkeys key [key ...]", key_specs=_STORE_SPECS)
def zdiffstore(s: Session, argv: list[bytes]) -> Reply:
    """ZDIFFSTORE destination numkeys key [key ...]."""
    return _setop(s, argv, argv[1], 2, _DIFF, False, "zdiffstore")


@command("zintercard", -3, "readonly movablekeys", group="sorted-set", since="7.0.0",
         complexity=("O(N*K) worst case with N being the smallest input sorted set, K being the "
                     "number of input sorted sets."),
         summary="Intersect multiple sorted sets and return the cardinality of the result",
         syntax="numkeys key [key ...] [LIMIT limit]", key_specs=_READ_SPECS)
def zintercard(s: Session, argv: list[bytes]) -> Reply:
    """ZINTERCARD numkeys key [key ...] [LIMIT limit]: size of the intersection (capped at limit)."""
    return _setop(s, argv, None, 1, _INTER, True, "zintercard")
