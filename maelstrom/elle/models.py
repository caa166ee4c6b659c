"""Consistency models, the anomalies each forbids, and the models an anomaly rules out.

Strategy: three tables of facts, as in Elle's consistency-model lattice
(which follows Adya's thesis, Bailis et al. "Highly Available Transactions",
Cerone et al. and Daudjee & Salem), restricted to the transactional models
and to anomalies this checker can report:

- `STRONGER_THAN`: model -> the models it directly implies (a history that
  satisfies the left one satisfies each on the right).
- `FORBIDS`: model -> the anomalies it forbids *directly*; a model also
  forbids what every model it implies forbids.
- `IMPLIES`: anomaly -> the anomalies its presence also shows (G0 is also a
  G1c; a G-single is also a G-nonadjacent and so a G2; a realtime or process
  cycle follows from a plain one, because a plain cycle is also a cycle of
  the bigger graph).

From these: `forbidden_by(models)` is what a check must look for (it decides
which edges to build and which anomalies to report), and `boundary(found)`
gives Elle's ``not`` (the weakest models the anomalies rule out) and
``also_not`` (the stronger ones ruled out with them). Names are Elle's
friendly names; Adya's PL-names and a few synonyms are accepted as aliases.
``garbage-read`` (a read of a value nobody wrote) is ours: Elle has no such
class, and we treat it as forbidden by every model (read-uncommitted up).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Final


class UnknownModel(ValueError):
    """A consistency model name this checker does not know."""


STRONGER_THAN: Final[Mapping[str, tuple[str, ...]]] = {
    "strict-serializable": ("serializable", "snapshot-isolation", "strong-snapshot-isolation",
                            "strong-session-serializable"),
    "strong-session-serializable": ("serializable", "strong-session-snapshot-isolation"),
    "serializable": ("repeatable-read", "snapshot-isolation", "update-serializable"),
    "strong-snapshot-isolation": ("strong-session-snapshot-isolation", "strong-read-committed"),
    "strong-session-snapshot-isolation": ("snapshot-isolation", "strong-session-read-committed"),
    "snapshot-isolation": ("forward-consistent-view", "monotonic-atomic-view",
                           "monotonic-snapshot-read", "parallel-snapshot-isolation", "prefix"),
    "update-serializable": ("forward-consistent-view",),
    "forward-consistent-view": ("consistent-view",),
    "consistent-view": ("cursor-stability", "monotonic-view"),
    "repeatable-read": ("cursor-stability", "monotonic-atomic-view"),
    "cursor-stability": ("read-committed",),
    "monotonic-view": ("read-committed",),
    "monotonic-snapshot-read": ("read-committed",),
    "parallel-snapshot-isolation": ("causal-cerone",),
    "prefix": ("causal-cerone",),
    "causal-cerone": ("read-atomic",),
    "read-atomic": ("monotonic-atomic-view",),
    "monotonic-atomic-view": ("read-committed",),
    "read-committed": ("read-uncommitted",),
    "strong-read-committed": ("strong-session-read-committed", "strong-read-uncommitted"),
    "strong-session-read-committed": ("read-committed", "strong-session-read-uncommitted"),
    "strong-read-uncommitted": ("strong-session-read-uncommitted",),
    "strong-session-read-uncommitted": ("read-uncommitted",),
    "read-uncommitted": (),
}

FORBIDS: Final[Mapping[str, tuple[str, ...]]] = {
    "read-uncommitted": ("G0", "duplicate-elements", "garbage-read"),
    "read-committed": ("G1",),
    "cursor-stability": ("G1", "lost-update"),
    "monotonic-view": ("G1",),
    "monotonic-snapshot-read": ("G1",),
    "consistent-view": ("G1", "G-single"),
    "forward-consistent-view": ("G1",),
    "update-serializable": ("G1",),
    "repeatable-read": ("G1", "G2-item", "lost-update"),
    "snapshot-isolation": ("internal", "G1", "G-nonadjacent"),
    "serializable": ("internal", "G1", "G2"),
    "strict-serializable": ("G1", "G1c-realtime", "G2-realtime"),
    "strong-session-serializable": ("G1-process", "G2-process"),
    "strong-session-snapshot-isolation": ("internal", "G1-process", "G-nonadjacent-process"),
    "strong-snapshot-isolation": ("internal", "G1-realtime", "G-nonadjacent-realtime"),
    "strong-session-read-uncommitted": ("G0-process",),
    "strong-session-read-committed": ("G1c-process",),
    "strong-read-uncommitted": ("G0-realtime",),
    "strong-read-committed": ("G1c-realtime",),
    "read-atomic": ("internal", "G1a", "future-read"),
    "causal-cerone": ("internal", "G1a"),
    "prefix": ("internal", "G1a"),
    "parallel-snapshot-isolation": ("internal", "G1a"),
    "monotonic-atomic-view": (),
}

IMPLIES: Final[Mapping[str, tuple[str, ...]]] = {
    "G0": ("G1c", "G0-process"),
    "G0-process": ("G1c-process", "G0-realtime"),
    "G0-realtime": ("G1c-realtime",),
    "G1a": ("G1",),
    "G1b": ("G1",),
    "G1c": ("G1", "G1c-process"),
    "G1c-process": ("G1c-realtime", "G1-process"),
    "G1c-realtime": ("G1-realtime",),
    "G1": ("G1-process",),
    "G1-process": ("G1-realtime",),
    "G-single": ("G-nonadjacent", "G-single-process"),
    "G-single-process": ("G-nonadjacent-process", "G-single-realtime"),
    "G-single-realtime": ("G-nonadjacent-realtime",),
    "G-nonadjacent": ("G2", "G-nonadjacent-process"),
    "G-nonadjacent-process": ("G2-process", "G-nonadjacent-realtime"),
    "G-nonadjacent-realtime": ("G2-realtime",),
    "G2-item": ("G2", "G2-item-process"),
    "G2-item-process": ("G2-process", "G2-item-realtime"),
    "G2-item-realtime": ("G2-realtime",),
    "G2": ("G2-process",),
    "G2-process": ("G2-realtime",),
    "incompatible-order": ("G1a",),
    "dirty-update": ("G1a",),
    "future-read": ("G1c",),
    "lost-update": ("write-skew", "G2-item"),
    "write-skew": ("G2",),
}

ALIASES: Final[Mapping[str, str]] = {
    "PL-1": "read-uncommitted", "PL-2": "read-committed", "PL-2.99": "repeatable-read",
    "PL-3": "serializable", "conflict-serializable": "serializable",
    "PL-SI": "snapshot-isolation", "PL-SS": "strict-serializable",
    "strong-serializable": "strict-serializable", "PL-CS": "cursor-stability",
    "PL-2+": "consistent-view", "PL-FCV": "forward-consistent-view",
    "PL-MSR": "monotonic-snapshot-read", "PL-2L": "monotonic-view",
    "PL-3U": "update-serializable",
}

#: Anomalies that make a verdict "unknown", not false: nothing was wrong, the check fell short.
UNKNOWN_ANOMALIES: Final[frozenset[str]] = frozenset(("empty-transaction-graph",
                                                      "cycle-search-timeout"))

MODEL_NAMES: Final[tuple[str, ...]] = tuple(sorted(STRONGER_THAN))


def canonical(model: str) -> str:
    """The model's canonical name.

    Raises:
        UnknownModel: The name is neither a model nor an alias.
    """
    name = ALIASES.get(model, model)
    if name not in STRONGER_THAN:
        raise UnknownModel(f"unknown consistency model {model!r}; known models: "
                           f"{', '.join(MODEL_NAMES)} (aliases: {', '.join(sorted(ALIASES))})")
    return name


def _closure(start: Iterable[str], edges: Mapping[str, tuple[str, ...]]) -> set[str]:
    seen: set[str] = set()
    todo = list(start)
    while todo:
        x = todo.pop()
        if x in seen:
            continue
        seen.add(x)
        todo.extend(edges.get(x, ()))
    return seen


def _reverse(edges: Mapping[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
    rev: dict[str, list[str]] = {}
    for a, bs in edges.items():
        for b in bs:
            rev.setdefault(b, []).append(a)
    return {b: tuple(sorted(a)) for b, a in rev.items()}


_WEAKER_THAN: Final = _reverse(STRONGER_THAN)
_IMPLIED_BY: Final = _reverse(IMPLIES)
_FORBIDDEN_BY: Final = _reverse(FORBIDS)


def implied_models(models: Iterable[str]) -> set[str]:
    """The models and every weaker model they imply (canonical names)."""
    return _closure((canonical(m) for m in models), STRONGER_THAN)


def forbidden_by(models: Iterable[str]) -> frozenset[str]:
    """Every anomaly that cannot occur if all of ``models`` hold.

    Raises:
        UnknownModel: A name is not known.
    """
    direct = {a for m in implied_models(models) for a in FORBIDS.get(m, ())}
    return frozenset(_closure(direct, _IMPLIED_BY))


def ruled_out(anomalies: Iterable[str]) -> set[str]:
    """Every model that some of ``anomalies`` (or what they imply) rules out."""
    shown = _closure(anomalies, IMPLIES)
    direct = {m for a in shown for m in _FORBIDDEN_BY.get(a, ())}
    return _closure(direct, _WEAKER_THAN)


def boundary(anomalies: Iterable[str]) -> tuple[list[str], list[str]]:
    """Elle's boundary: ``(not, also_not)``.

    Returns:
        ``not``: the weakest ruled-out models (none of them implies another
        ruled-out model); ``also_not``: the other ruled-out models. Both sorted.
    """
    out = ruled_out(anomalies)
    weakest = sorted(m for m in out
                     if not (_closure(STRONGER_THAN.get(m, ()), STRONGER_THAN) & out))
    return weakest, sorted(out - set(weakest))
