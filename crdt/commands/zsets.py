"""Sorted-set type and its point commands: ZADD, ZINCRBY, ZREM, ZSCORE, ZRANK, ZPOP*, ZMPOP, ZRANDMEMBER, ZSCAN.

Strategy:
- A sorted set is a `ZSet`: a ``member -> score`` dict plus a
  ``sortedcontainers.SortedList`` of ``(score, member)`` tuples. Python's tuple
  order is Redis's order (score, then member bytes as memcmp), so ZADD, ZREM,
  ZRANK and rank/score lookups are O(log n) and ranges are O(log n + m). The
  member bytes object and the score float are shared by both structures, so a
  member costs one tuple more than a dict entry (about 200 bytes in all; see
  bench/bench_zset_memory.py).
- OBJECT ENCODING: ``listpack`` until an insert would pass
  ``zset-max-listpack-entries`` or a member is longer than
  ``zset-max-listpack-value``, then ``skiplist`` for good (`ZSet.big`). A result
  built by a STORE command gets the compact encoding again when it fits, as
  Redis converts it. A listpack stores a score as text, where ``-0`` reads back
  as ``0``: scores are normalised the same way while the set is small.
- Range arguments follow Redis exactly: score bounds are parsed like
  zslParseRange (strtod on the C string, ``(`` exclusive, an empty string is
  0), scores of ZADD like string2d (no spaces, no nan, overflow refused), lex
  bounds like zslParseLexRangeItem. Lexicographic ranges over members with
  different scores are answered by Redis's listpack walk (first member >= min
  from the head, then members while <= max), which is what a small set gives;
  a big set whose scores are all equal is bisected.
- Commands that pop (`zset_pop`) are written as a core the blocking variants
  (BZPOPMIN, BZMPOP) call too. Set algebra and ranges live in
  `crdt.commands.zset_ops`, which imports this module; `crdt.commands` imports
  both, as it does every family, so their commands register with the table.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any
from zlib import crc32

from sortedcontainers import SortedList

from crdt import errors
from crdt.args import parse_random_count, to_float, to_int
from crdt.errors import CommandError
from crdt.scan import parse_scan_cursor, parse_scan_options
from crdt.table import command
from crdt.writes import lookup_write, notify, notify_new, signal_or_delete
from protocol.replies import NULL_ARRAY, Reply

if TYPE_CHECKING:
    from crdt.keyspace import Db
    from crdt.session import Session


WRONGTYPE = errors.WRONGTYPE
INF = math.inf
LONG_MAX = 2**63 - 1
# ZRANDMEMBER ... WITHSCORES refuses counts whose doubled reply length would overflow.
RANDMEMBER_WITHSCORES_MAX = LONG_MAX // 2
_C_SPACE = b" \t\n\v\f\r"
# Scores made of fewer ASCII digits than this are read with float() directly.
_PLAIN_DIGITS_MAX = 300
# A listpack stores an integral score up to LLONG_MAX/2 (as a double) as an integer.
_LISTPACK_INT_MAX = float(LONG_MAX // 2)


def option_word(word: bytes) -> bytes:
    """An option word as Redis's strcasecmp sees it: up to the first NUL, upper case."""
    nul = word.find(b"\0")
    if nul >= 0:
        word = word[:nul]
    return word.upper()


# -- the type ------------------------------------------------------------------------


class ZSet:
    """A sorted set: ``scores`` (member -> score) and ``order`` (sorted (score, member))."""

    __slots__ = ("scores", "order", "big", "_scan_pos", "_scan_members")
    type_name = b"zset"

    def __init__(self, big: bool = False) -> None:
        self.scores: dict[bytes, float] = {}
        self.order: SortedList = SortedList()
        self.big = big  # skiplist encoding: set once, never cleared
        self._scan_pos: list[int] | None = None
        self._scan_members: list[bytes] = []

    def __len__(self) -> int:
        return len(self.scores)

    def __iter__(self) -> Iterator[tuple[float, bytes]]:
        """(score, member) pairs in Redis's order."""
        return iter(self.order)

    def encoding(self, config: Any) -> bytes:
        """OBJECT ENCODING: ``skiplist`` once the set outgrew the listpack limits."""
        return b"skiplist" if self.big else b"listpack"

    def force_skiplist(self, config: Any) -> None:
        """Convert to the ``skiplist`` encoding for good (SORT ... BY nosort does)."""
        self.big = True

    def ordered(self) -> Iterator[bytes]:
        """Members in Redis's order (score, then member bytes)."""
        return (m for _, m in self.order)

    def copy(self) -> ZSet:
        """An independent copy with the same encoding (COPY)."""
        dup = ZSet(self.big)
        dup.scores = self.scores.copy()
        dup.order = self.order.copy()
        return dup

    def add(self, member: bytes, score: float, config: Any) -> None:
        """Insert or re-score a member, converting to ``skiplist`` when it outgrows listpack."""
        scores = self.scores
        old = scores.get(member)
        if not self.big:
            limits = config.values
            if (len(scores) + (old is None) > limits["zset-max-listpack-entries"]
                    or len(member) > limits["zset-max-listpack-value"]):
                self.big = True
            elif score == 0.0:
                score = 0.0  # a listpack keeps "-0" as the integer 0
        if old is not None:
            if old == score:
                return  # Redis leaves an equal score alone (a zero keeps its sign)
            self.order.remove((old, member))
        else:
            self._scan_pos = None
        scores[member] = score
        self.order.add((score, member))

    def remove(self, member: bytes) -> bool:
        """Remove a member; True if it was there."""
        score = self.scores.pop(member, None)
        if score is None:
            return False
        self.order.remove((score, member))
        return True

    def remove_span(self, start: int, stop: int) -> int:
        """Remove the members of ranks ``start <= rank < stop``; returns how many."""
        if start >= stop:
            return 0
        order, scores = self.order, self.scores
        for _, member in order.islice(start, stop):
            del scores[member]
        del order[start:stop]
        return stop - start

    def rank(self, member: bytes) -> int | None:
        """The 0-based rank of a member in ascending order, or None."""
        score = self.scores.get(member)
        if score is None:
            return None
        return self.order.bisect_left((score, member))  # type: ignore[no-any-return]

    def scan_step(self, cursor: int, count: int) -> tuple[int, list[bytes]]:
        """A ZSCAN step over a big set in crc32 order (Db.scan's technique); (next cursor, members)."""
        positions = self._scan_pos
        if positions is None:  # first scan, or members were added: index again, same order
            pairs = sorted((crc32(m), m) for m in self.scores)
            positions = self._scan_pos = [p for p, _ in pairs]
            self._scan_members = [m for _, m in pairs]
        members = self._scan_members
        i =  bisect_left(positions, cursor - 1) if cursor else 0
        n = len(positions)
        out: list[bytes] = []
        while i < n and len(out) < count:
            pos = positions[i]
            while i < n and positions[i] == pos:
                out.append(members[i])
                i += 1
        return (0 if i >= n else positions[i] + 1), out


def new_zset(config: Any, size_hint: int, longest: int) -> ZSet:
    """An empty set with the encoding Redis gives a result of this size and longest member."""
    big = (size_hint > config["zset-max-listpack-entries"]
           or longest > config["zset-max-listpack-value"])
    return ZSet(big)


def build_zset(config: Any, pairs: Iterable[tuple[bytes, float]]) -> ZSet:
    """A set holding `pairs` (member, score), encoded as Redis encodes a STORE result."""
    scores = dict(pairs)
    longest = max(map(len, scores), default=0)
    zs = new_zset(config, len(scores), longest)
    if not zs.big:
        scores = {m: (0.0 if s == 0.0 else s) for m, s in scores.items()}
    zs.scores = scores
    zs.order = SortedList((s, m) for m, s in scores.items())
    return zs


# -- argument parsing ----------------------------------------------------------------


def parse_score(raw: bytes, error: bytes = errors.NOT_FLOAT) -> float:
    """A score as Redis's string2d reads it: the whole text, no space, no nan, no ERANGE.

    Raises:
        CommandError: `error` (default "value is not a valid float").
    """
    if raw.isdigit() and len(raw) < _PLAIN_DIGITS_MAX:
        return float(raw)  # the common case; plain digits round the same in strtod
    value = to_float(raw, error)
    if (value == 0.0 or value == INF or value == -INF) and _out_of_range(raw, value):
        raise CommandError(error)
    return value


def _out_of_range(raw: bytes, value: float) -> bool:
    """strtod's ERANGE: a finite text that overflowed to inf or underflowed to zero."""
    text = raw.lower().lstrip(b"+-")
    if value != 0.0:
        return not text.startswith(b"inf")
    if text.startswith(b"0x"):
        mantissa = text[2:].split(b"p", 1)[0]
        return any(c in b"123456789abcdef" for c in mantissa)
    mantissa = text.split(b"e", 1)[0]
    return any(c in b"123456789" for c in mantissa)


def _strtod_bound(text: bytes) -> float | None:
    """strtod over a whole C string as zslParseRange uses it; None when text is left over."""
    if not text:
        return 0.0  # nothing converted, and the end pointer sits on the NUL
    stripped = text.lstrip(_C_SPACE)
    if not stripped:
        return None
    try:
        value = to_float(stripped)
    except CommandError:
        return None
    return value


def parse_score_range(raw_min: bytes, raw_max: bytes) -> tuple[float, bool, float, bool]:
    """(min, min exclusive, max, max exclusive) from two score bounds (``(`` = exclusive).

    Raises:
        CommandError: "min or max is not a float".
    """
    out: list[Any] = []
    for raw in (raw_min, raw_max):
        nul = raw.find(b"\0")
        text = raw[:nul] if nul >= 0 else raw
        exclusive = text[:1] == b"("
        value = _strtod_bound(text[1:] if exclusive else text)
        if value is None:
            raise CommandError(errors.MIN_MAX_NOT_FLOAT)
        out += (value, exclusive)
    return out[0], out[1], out[2], out[3]


# A lex bound: (member, exclusive); None member is "-" or "+" (given by `kind`).
LEX_MIN = 0
LEX_MAX = 1
LEX_VALUE = 2


def _lex_item(raw: bytes) -> tuple[int, bytes, bool]:
    c = raw[:1]
    if c == b"+" or c == b"-":
        if len(raw) > 1 and raw[1] != 0:
            raise CommandError(errors.MIN_MAX_NOT_LEX)
        return (LEX_MAX if c == b"+" else LEX_MIN), b"", True
    if c == b"(":
        return LEX_VALUE, raw[1:], True
    if c == b"[":
        return LEX_VALUE, raw[1:], False
    raise CommandError(errors.MIN_MAX_NOT_LEX)


class LexRange:
    """A parsed ``[a``/``(a``/``-``/``+`` range with Redis's comparisons."""

    __slots__ = ("min_kind", "min", "min_ex", "max_kind", "max", "max_ex")

    def __init__(self, raw_min: bytes, raw_max: bytes) -> None:
        self.min_kind, self.min, self.min_ex = _lex_item(raw_min)
        self.max_kind, self.max, self.max_ex = _lex_item(raw_max)

    def gte_min(self, member: bytes) -> bool:
        if self.min_kind != LEX_VALUE:
            return self.min_kind == LEX_MIN
        return member > self.min if self.min_ex else member >= self.min

    def lte_max(self, member: bytes) -> bool:
        if self.max_kind != LEX_VALUE:
            return self.max_kind == LEX_MAX
        return member < self.max if self.max_ex else member <= self.max


def parse_lex_range(raw_min: bytes, raw_max: bytes) -> LexRange:
    """A lex range from two bounds.

    Raises:
        CommandError: "min or max not valid string range item".
    """
    return LexRange(raw_min, raw_max)


# -- positions of ranges ---------------------------------------------------------------


def score_span(zs: ZSet, lo: float, lo_ex: bool, hi: float, hi_ex: bool) -> tuple[int, int]:
    """Ranks ``[start, stop)`` of the members whose scores are in the range."""
    order = zs.order
    n = len(order)
    if lo_ex:
        start = n if lo == INF else order.bisect_left((math.nextafter(lo, INF), b""))
    else:
        start = order.bisect_left((lo, b""))
    if hi_ex:
        stop = order.bisect_left((hi, b""))
    else:
        stop = n if hi == INF else order.bisect_left((math.nextafter(hi, INF), b""))
    return start, max(start, stop)


def _equal_scores(zs: ZSet) -> bool:
    order = zs.order
    return bool(order) and order[0][0] == order[-1][0]


def lex_first(zs: ZSet, rng: LexRange) -> int | None:
    """The rank a forward lex walk starts at (zzlFirstInLexRange), or None."""
    order = zs.order
    n = len(order)
    if not n or not rng.gte_min(order[-1][1]) or not rng.lte_max(order[0][1]):
        return None
    if zs.big and _equal_scores(zs):
        score = order[0][0]
        if rng.min_kind == LEX_MIN:
            i = 0
        elif rng.min_kind == LEX_MAX:
            return None
        elif rng.min_ex:
            i = order.bisect_right((score, rng.min))
        else:
            i = order.bisect_left((score, rng.min))
        return i if i < n and rng.lte_max(order[i][1]) else None
    for i, (_, member) in enumerate(order):
        if rng.gte_min(member):
            return i if rng.lte_max(member) else None
    return None


def lex_last(zs: ZSet, rng: LexRange) -> int | None:
    """The rank a backward lex walk starts at (zzlLastInLexRange), or None."""
    order = zs.order
    n = len(order)
    if not n or not rng.gte_min(order[-1][1]) or not rng.lte_max(order[0][1]):
        return None
    if zs.big and _equal_scores(zs):
        score = order[0][0]
        if rng.max_kind == LEX_MAX:
            i = n - 1
        elif rng.max_kind == LEX_MIN:
            return None
        elif rng.max_ex:
            i = order.bisect_left((score, rng.max)) - 1
        else:
            i = order.bisect_right((score, rng.max)) - 1
        return i if i >= 0 and rng.gte_min(order[i][1]) else None
    for i in range(n - 1, -1, -1):
        member = order[i][1]
        if rng.lte_max(member):
            return i if rng.gte_min(member) else None
    return None


def lex_span(zs: ZSet, rng: LexRange) -> tuple[int, int]:
    """Ranks ``[start, stop)`` a forward walk covers: from `lex_first` while <= max.

    When every score is equal (the case Redis defines lex ranges for) the end
    is bisected too, so ZLEXCOUNT is O(log N) as in Redis, not a walk.
    """
    first = lex_first(zs, rng)
    if first is None:
        return 0, 0
    if zs.big and _equal_scores(zs):
        last = lex_last(zs, rng)
        return first, (last + 1 if last is not None and last >= first else first)
    stop = first
    for _, member in zs.order.islice(first):
        if not rng.lte_max(member):
            break
        stop += 1
    return first, stop


# -- shared helpers ----------------------------------------------------------------------


def read_zset(s: Session, key: bytes) -> ZSet | None:
    """The sorted set at `key` for a read command (hit/miss stats), or None.

    Raises:
        CommandError: WRONGTYPE.
    """
    value = s.db.read(key, s.now_ms)
    if value is None or type(value) is ZSet:
        return value
    raise CommandError(WRONGTYPE)


def write_zset(s: Session, key: bytes) -> ZSet | None:
    """The sorted set at `key` for a write command, or None.

    Raises:
        CommandError: WRONGTYPE.
    """
    value = lookup_write(s.db, key, s.now_ms)
    if value is None or type(value) is ZSet:
        return value
    raise CommandError(WRONGTYPE)


def pairs_reply(items: Iterable[tuple[float, bytes]], withscores: bool, resp3: bool) -> list[Any]:
    """A range reply from (score, member) pairs: members; or with scores flat (RESP2) or nested (RESP3)."""
    if not withscores:
        return [m for _, m in items]
    if resp3:
        return [[m, sc] for sc, m in items]
    out: list[Any] = []
    for sc, m in items:
        out.append(m)
        out.append(sc)
    return out


def format_score(score: float, listpack: bool) -> bytes:
    """A score as ZSCAN prints it: a listpack holds an integral score within +-2**62 as an
    integer, so it prints that way; otherwise %.17g (inf, -inf, -0 included)."""
    if score == INF:
        return b"inf"
    if score == -INF:
        return b"-inf"
    if listpack and -_LISTPACK_INT_MAX <= score <= _LISTPACK_INT_MAX and score == int(score):
        return b"%d" % int(score)
    return b"%.17g" % score


# -- ZADD / ZINCRBY ----------------------------------------------------------------------

_NX = 1
_XX = 2
_GT = 4
_LT = 8
_CH = 16
_INCR = 32
_ZADD_OPTIONS = {b"NX": _NX, b"XX": _XX, b"GT": _GT, b"LT": _LT, b"CH": _CH, b"INCR": _INCR}
for _name, _bit in list(_ZADD_OPTIONS.items()):
    _ZADD_OPTIONS[_name.lower()] = _bit


def _zadd(s: Session, argv: list[bytes], flags: int) -> Reply:
    """ZADD and ZINCRBY: Redis's zaddGenericCommand order of checks."""
    n = len(argv)
    i = 2
    options = _ZADD_OPTIONS
    while i < n:
        word = argv[i]
        bit = options.get(word)
        if bit is None:
            if not word[:1].isalpha():
                break
            bit = options.get(option_word(word))
            if bit is None:
                break
        flags |= bit
        i += 1
    pairs = n - i
    if pairs % 2 or not pairs:
        raise CommandError(errors.SYNTAX)
    if flags & _NX and flags & _XX:
        raise CommandError(errors.ZADD_NX_XX)
    if (flags & _GT and flags & (_NX | _LT)) or (flags & _LT and flags & _NX):
        raise CommandError(errors.ZADD_GT_LT_NX)
    incr = flags & _INCR
    if incr and pairs > 2:
        raise CommandError(errors.ZADD_INCR_PAIR)
    scores = [parse_score(argv[j]) for j in range(i, n, 2)]
    db = s.db
    key = argv[1]
    zs = lookup_write(db, key, s.now_ms)
    config = s.engine.config
    created = False
    if zs is None:
        if flags & _XX:
            return None if incr else 0
        zs = ZSet(config["zset-max-listpack-entries"] == 0
                  or config["zset-max-listpack-value"] < len(argv[i + 1]))
        created = True
    elif type(zs) is not ZSet:
        raise CommandError(WRONGTYPE)
    added = updated = processed = 0
    current = zs.scores
    score = 0.0
    for k, score in enumerate(scores):
        member = argv[i + 2 * k + 1]
        old = current.get(member)
        if old is not None:
            if flags & _NX:
                continue
            if incr:
                score += old
                if score != score:
                    raise CommandError(errors.SCORE_NAN)
            if (flags & _LT and score >= old) or (flags & _GT and score <= old):
                continue
            processed += 1
            if score != old:
                zs.add(member, score, config)
                updated += 1
        elif not flags & _XX:
            zs.add(member, score, config)
            added += 1
            processed += 1
    if created:
        db.set(key, zs, s.now_ms)
        notify_new(s, key)
    elif added or updated:
        db.signal(key)
    if processed and not incr and not flags & (_NX | _GT | _LT) and db.delta is not None:
        db.note_touched(key, [argv[j] for j in range(i + 1, n, 2) if argv[j] in current])
    if added or updated:
        if incr:
            db.note_increment(key, argv[i + 1])
        notify(s, "z", b"zincr" if incr else b"zadd", key)
    if incr:
        return score if processed else None
    return added + updated if flags & _CH else added


@command("zadd", -4, "write denyoom fast", keys=(1, 1, 1), group="sorted-set", since="1.2.0",
         complexity="O(log(N)) for each item added, where N is the number of elements in the sorted set.",
         summary="Add one or more members to a sorted set, or update its score if it already exists",
         syntax=("key [condition: NX | XX]@3.0.2 [comparison: GT | LT]@6.2.0 [CH{name=change}@3.0.2] "
                 "[INCR{name=increment}@3.0.2] score member [score member ...]"),
         key_specs=("RW update",),
         history=(("2.4.0", "Accepts multiple elements."),
                  ("3.0.2", "Added the `XX`, `NX`, `CH` and `INCR` options."),
                  ("6.2.0", "Added the `GT` and `LT` options.")))
def zadd(s: Session, argv: list[bytes]) -> Reply:
    """ZADD key [NX|XX] [GT|LT] [CH] [INCR] score member ...: members added (or changed, CH).

    One score and member with no option (the common case) skips option parsing.
    """
    if len(argv) != 4 or argv[2][:1].isalpha():
        return _zadd(s, argv, 0)
    raw = argv[2]
    # parse_score's common case, written out: this is ZADD's hot path.
    score = float(raw) if raw.isdigit() and len(raw) < _PLAIN_DIGITS_MAX else parse_score(raw)
    key, member = argv[1], argv[3]
    db = s.db
    now = s.now_ms
    zs = db.lookup(key, now)
    if zs is None:
        zs = ZSet()
        zs.add(member, score, s.engine.config)
        db.set(key, zs, now)
        if s.engine.pubsub.notify_flags:
            notify_new(s, key)
            notify(s, "z", b"zadd", key)
        return 1
    db.atime[key] = now  # as lookup_write does, before the type check
    if type(zs) is not ZSet:
        raise CommandError(WRONGTYPE)
    old = zs.scores.get(member)
    if db.delta is not None:
        db.note_touched(key, [member])
    if old == score:
        return 0
    zs.add(member, score, s.engine.config)
    db.signal(key)
    if s.engine.pubsub.notify_flags:
        notify(s, "z", b"zadd", key)
    return 1 if old is None else 0


@command("zincrby", 4, "write denyoom fast", keys=(1, 1, 1), group="sorted-set", since="1.2.0",
         complexity="O(log(N)) where N is the number of elements in the sorted set.",
         summary="Increment the score of a member in a sorted set", syntax="key increment member",
         key_specs=("RW access update",))
def zincrby(s: Session, argv: list[bytes]) -> Reply:
    """ZINCRBY key increment member: the new score (options are read as ZADD reads them)."""
    return _zadd(s, argv, _INCR)


# -- ZREM, ZCARD, ZSCORE, ZMSCORE, ZRANK ---------------------------------------------


@command("zrem", -3, "write fast", keys=(1, 1, 1), group="sorted-set", since="1.2.0",
         complexity=("O(M*log(N)) with N being the number of elements in the sorted set "
                     "and M the number of elements to be removed."),
         summary="Remove one or more members from a sorted set", syntax="key member [member ...]",
         key_specs=("RW delete",), history=(("2.4.0", "Accepts multiple elements."),))
def zrem(s: Session, argv: list[bytes]) -> Reply:
    """ZREM key member [member ...]: how many were removed; an emptied set is deleted."""
    key = argv[1]
    zs = write_zset(s, key)
    if zs is None:
        return 0
    removed = 0
    for member in argv[2:]:
        if zs.remove(member):
            removed += 1
            if not zs.scores:
                break
    if removed:
        notify(s, "z", b"zrem", key)
        signal_or_delete(s, s.db, key, bool(zs.scores))
    return removed


@command("zcard", 2, "readonly fast", keys=(1, 1, 1), group="sorted-set", since="1.2.0",
         summary="Get the number of members in a sorted set", syntax="key",
         key_specs=("RO",))
def zcard(s: Session, argv: list[bytes]) -> Reply:
    """ZCARD key: the number of members (0 for a missing key)."""
    zs = read_zset(s, argv[1])
    return 0 if zs is None else len(zs.scores)


@command("zscore", 3, "readonly fast", keys=(1, 1, 1), group="sorted-set", since="1.2.0",
         summary="Get the score associated with the given member in a sorted set", syntax="key member")
def zscore(s: Session, argv: list[bytes]) -> Reply:
    """ZSCORE key member: the score, or null."""
    zs = read_zset(s, argv[1])
    return None if zs is None else zs.scores.get(argv[2])


@command("zmscore", -3, "readonly fast", keys=(1, 1, 1), group="sorted-set", since="6.2.0",
         complexity="O(N) where N is the number of members being requested.",
         summary="Get the score associated with the given members in a sorted set",
         syntax="key member [member ...]")
def zmscore(s: Session, argv: list[bytes]) -> Reply:
    """ZMSCORE key member [member ...]: a score or null per member."""
    zs = read_zset(s, argv[1])
    if zs is None:
        return [None] * (len(argv) - 2)
    get = zs.scores.get
    return [get(m) for m in argv[2:]]


def _rank(s: Session, argv: list[bytes], reverse: bool) -> Reply:
    zs = read_zset(s, argv[1])
    if zs is None:
        return None
    rank = zs.rank(argv[2])
    if rank is None:
        return None
    return len(zs.scores) - 1 - rank if reverse else rank


@command("zrank", 3, "readonly fast", keys=(1, 1, 1), group="sorted-set", since="2.0.0",
         complexity="O(log(N))", summary="Determine the index of a member in a sorted set",
         syntax="key member")
def zrank(s: Session, argv: list[bytes]) -> Reply:
    """ZRANK key member: the 0-based rank by ascending score, or null."""
    return _rank(s, argv, False)


@command("zrevrank", 3, "readonly fast", keys=(1, 1, 1), group="sorted-set", since="2.0.0",
         complexity="O(log(N))",
         summary="Determine the index of a member in a sorted set, with scores ordered from high to low",
         syntax="key member")
def zrevrank(s: Session, argv: list[bytes]) -> Reply:
    """ZREVRANK key member: the 0-based rank by descending score, or null."""
    return _rank(s, argv, True)


# -- popping -----------------------------------------------------------------------------


def zset_pop(db: Db, key: bytes, max_side: bool, count: int, now_ms: int,
             s: Session | None = None) -> list[tuple[bytes, float]] | None:
    """Pop up to `count` members from one end of the set at `key` (ZPOPMIN/MAX, ZMPOP, BZPOP*).

    Args:
        db: the database.
        key: the key.
        max_side: pop the highest scores (ZPOPMAX) instead of the lowest.
        count: how many at most (>= 1).
        now_ms: the command's time (expiry).
        s: the session whose database `db` is, for keyspace events (none without it).

    Returns:
        (member, score) pairs in pop order, or None when the key does not exist.
        An emptied set is deleted; the key is signalled.

    Raises:
        CommandError: WRONGTYPE if the key holds another type.
    """
    zs = lookup_write(db, key, now_ms)
    if zs is None:
        return None
    if type(zs) is not ZSet:
        raise CommandError(WRONGTYPE)
    return _pop_from(db, key, zs, max_side, count, s)


def _pop_from(db: Db, key: bytes, zs: ZSet, max_side: bool, count: int,
              s: Session | None = None) -> list[tuple[bytes, float]]:
    """Pop up to `count` (>= 1) members of a stored set; delete it when emptied, else signal.

    Events as Redis sends them: zpopmin/zpopmax, then del when emptied.
    """
    order, scores = zs.order, zs.scores
    if count == 1:
        score, member = order.pop(-1 if max_side else 0)
        del scores[member]
        out = [(member, score)]
    else:
        n = len(order)
        count = min(count, n)
        if max_side:
            taken = list(order.islice(n - count, n, reverse=True))
            del order[n - count:]
        else:
            taken = list(order.islice(0, count))
            del order[:count]
        out = []
        for score, member in taken:
            del scores[member]
            out.append((member, score))
    if s is not None:
        notify(s, "z", b"zpopmax" if max_side else b"zpopmin", key)
    signal_or_delete(s, db, key, bool(scores))
    return out


@command("zpopmin", -2, "write fast", keys=(1, 1, 1), group="sorted-set", since="5.0.0",
         complexity=("O(log(N)*M) with N being the number of elements in the sorted set, "
                     "and M being the number of elements popped."),
         summary="Remove and return members with the lowest scores in a sorted set",
         syntax="key [count]", key_specs=("RW access delete",))
def zpopmin(s: Session, argv: list[bytes], max_side: bool = False) -> Reply:
    """ZPOPMIN key [count]: [member, score, ...] (RESP3 with count: [[member, score], ...]).

    ZPOPMAX calls it with `max_side`.
    """
    if len(argv) > 3:
        raise CommandError(errors.SYNTAX)
    count = 1
    if len(argv) == 3:
        try:
            count = to_int(argv[2])
        except CommandError:
            raise CommandError(errors.OUT_OF_RANGE) from None
        if count < 0:
            raise CommandError(errors.OUT_OF_RANGE)
    key = argv[1]
    value = lookup_write(s.db, key, s.now_ms)
    if value is None:
        return []
    if type(value) is not ZSet:
        raise CommandError(WRONGTYPE)
    if count == 0:
        return []
    popped = _pop_from(s.db, key, value, max_side, count, s)
    if len(argv) == 3 and s.resp3:
        return [[m, sc] for m, sc in popped]
    out: list[Any] = []
    for m, sc in popped:
        out.append(m)
        out.append(sc)
    return out


@command("zpopmax", -2, "write fast", keys=(1, 1, 1), group="sorted-set", since="5.0.0",
         complexity=("O(log(N)*M) with N being the number of elements in the sorted set, "
                     "and M being the number of elements popped."),
         summary="Remove and return members with the highest scores in a sorted set",
         syntax="key [count]", key_specs=("RW access delete",))
def zpopmax(s: Session, argv: list[bytes]) -> Reply:
    """ZPOPMAX key [count]: as ZPOPMIN from the high end."""
    return zpopmin(s, argv, True)


def parse_mpop(argv: list[bytes], numkeys_index: int) -> tuple[list[bytes], bool, int]:
    """ZMPOP/BZMPOP arguments from ``numkeys``: (keys, max side, count).

    Raises:
        CommandError: numkeys or count not >= 1, missing or unknown MIN|MAX, bad option.
    """
    try:
        numkeys = to_int(argv[numkeys_index])
    except CommandError:
        raise CommandError(errors.NUMKEYS_POSITIVE) from None
    if numkeys < 1:
        raise CommandError(errors.NUMKEYS_POSITIVE)
    where = numkeys_index + numkeys + 1
    if where >= len(argv):
        raise CommandError(errors.SYNTAX)
    side = option_word(argv[where])
    if side not in (b"MIN", b"MAX"):
        raise CommandError(errors.SYNTAX)
    count = -1
    j = where + 1
    while j < len(argv):
        if count == -1 and option_word(argv[j]) == b"COUNT" and j + 1 < len(argv):
            try:
                count = to_int(argv[j + 1])
            except CommandError:
                raise CommandError(errors.COUNT_POSITIVE) from None
            if count < 1:
                raise CommandError(errors.COUNT_POSITIVE)
            j += 2
        else:
            raise CommandError(errors.SYNTAX)
    return argv[numkeys_index + 1:where], side == b"MAX", (1 if count == -1 else count)


@command("zmpop", -4, "write movablekeys", group="sorted-set", since="7.0.0",
         complexity=("O(K) + O(M*log(N)) where K is the number of provided keys, N being the number "
                     "of elements in the sorted set, and M being the number of elements popped."),
         summary="Remove and return members with scores in a sorted set",
         syntax="numkeys key [key ...] (where: MIN | MAX) [COUNT count]",
         key_specs=("RW access delete index:1 keynum:0:1:1",))
def zmpop(s: Session, argv: list[bytes]) -> Reply:
    """ZMPOP numkeys key [key ...] MIN|MAX [COUNT count]: [key, [[member, score], ...]] or null."""
    keys, max_side, count = parse_mpop(argv, 1)
    db = s.db
    for key in keys:
        value = lookup_write(db, key, s.now_ms)
        if value is None:
            continue
        if type(value) is not ZSet:
            raise CommandError(WRONGTYPE)
        popped = _pop_from(db, key, value, max_side, count, s)
        return [key, [[m, sc] for m, sc in popped]]
    return NULL_ARRAY


# -- ZRANDMEMBER -------------------------------------------------------------------------


@command("zrandmember", -2, "readonly", keys=(1, 1, 1), group="sorted-set", since="6.2.0",
         complexity="O(N) where N is the number of elements returned",
         summary="Get one or multiple random elements from a sorted set",
         syntax="key [options: count [WITHSCORES]]",
         tips="nondeterministic_output")
def zrandmember(s: Session, argv: list[bytes]) -> Reply:
    """ZRANDMEMBER key [count [WITHSCORES]]: random members from the engine's RNG.

    A negative count may repeat members; a positive one returns distinct members
    (the whole set, highest first as Redis gives it, when it asks for at least its size).
    """
    rng = s.engine.rng
    if len(argv) == 2:
        zs = read_zset(s, argv[1])
        if zs is None:
            return None
        return zs.order[rng.randrange(len(zs.order))][1]
    count = parse_random_count(argv[2])
    withscores = False
    if len(argv) > 4 or (len(argv) == 4 and option_word(argv[3]) != b"WITHSCORES"):
        raise CommandError(errors.SYNTAX)
    if len(argv) == 4:
        withscores = True
        if count < -RANDMEMBER_WITHSCORES_MAX or count > RANDMEMBER_WITHSCORES_MAX:
            raise CommandError(errors.VALUE_RANGE)
    zs = read_zset(s, argv[1])
    if zs is None or count == 0:
        return []
    order = zs.order
    n = len(order)
    if count < 0:
        items: Iterable[tuple[float, bytes]] = [order[rng.randrange(n)] for _ in range(-count)]
    elif count >= n:
        items = reversed(order)  # Redis walks the whole set from the tail
    else:
        items = [order[i] for i in rng.sample(range(n), count)]
    return pairs_reply(items, withscores, s.resp3)


# -- ZSCAN -----------------------------------------------------------------------------------


@command("zscan", -3, "readonly", keys=(1, 1, 1), group="sorted-set", since="2.8.0",
         complexity=("O(1) for every call. O(N) for a complete iteration, including enough command "
                     "calls for the cursor to return back to 0. N is the number of elements inside "
                     "the collection.."),
         summary="Incrementally iterate sorted sets elements and associated scores",
         syntax="key cursor [MATCH pattern] [COUNT count]", tips="nondeterministic_output")
def zscan(s: Session, argv: list[bytes]) -> Reply:
    """ZSCAN key cursor [MATCH pattern] [COUNT count]: [cursor, [member, score, ...]].

    A listpack-encoded set is returned whole with cursor 0, as Redis does; a
    bigger one walks members in crc32 order (every member present for the
    whole scan is returned at least once). Scores are bulk strings.
    """
    cursor = parse_scan_cursor(argv[2])
    zs = read_zset(s, argv[1])
    if zs is None:
        return [b"0", []]
    matches, count = parse_scan_options(argv, 3)
    if zs.big:
        next_cursor, members = zs.scan_step(cursor, count)
        scores = zs.scores
        found = [(m, scores[m]) for m in members if m in scores]
    else:
        next_cursor = 0
        found = [(m, sc) for sc, m in zs.order]
    out: list[bytes] = []
    for m, sc in found:
        if matches is not None and not matches(m):
            continue
        out.append(m)
        out.append(format_score(sc, not zs.big))
    return [b"%d" % next_cursor, out]
