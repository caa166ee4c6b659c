"""The linearizability checker on hand-built histories, one rule at a time.

Every history is checked twice: with the pre-search shortcuts and with the
search alone, which must agree.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from maelstrom.checker import check_operations
from maelstrom.history import History
from maelstrom.linearizable import check_history
from maelstrom.models import ModelError, error_code, get_model


def build(*steps: tuple[Any, ...], key: Any = 0) -> History:
    """Events from a compact script.

    ``("inv", p, f, value)``, ``("ok", p, value)``, ``("fail", p, error)``,
    ``("info", p)``; optional trailing key on "inv". Times are the positions.
    """
    h = History()
    for t, s in enumerate(steps):
        kind, p = s[0], s[1]
        if kind == "inv":
            h.invoke(time=t, process=p, f=s[2], key=s[4] if len(s) > 4 else key,
                     value=s[3] if len(s) > 3 else None)
        elif kind == "ok":
            h.complete(time=t, process=p, type="ok", value=s[2] if len(s) > 2 else None)
        elif kind == "fail":
            h.complete(time=t, process=p, type="fail", error=s[2])
        else:
            h.complete(time=t, process=p, type="info", error="net-timeout")
    return h


def verdicts(h: History, model: str = "cas-register", initial: Any = None) -> Iterator[Any]:
    m = get_model(model, initial)
    for shortcuts in (True, False):
        yield check_operations(h.operations(), m, shortcuts=shortcuts)["valid"]


def assert_valid(h: History, expected: Any, model: str = "cas-register", initial: Any = None
                 ) -> None:
    assert list(verdicts(h, model, initial)) == [expected, expected]


def w(p: int, v: Any) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    return ("inv", p, "write", v), ("ok", p, v)


def r(p: int, v: Any) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    return ("inv", p, "read"), ("ok", p, v)


def test_sequential_register() -> None:
    assert_valid(build(*w(0, 1), *r(0, 1), *w(1, 2), *r(0, 2)), True)
    assert_valid(build(*w(0, 1), *w(1, 2), *r(0, 1)), False)


def test_concurrent_read_may_see_old_or_new() -> None:
    for seen in (None, 1):
        h = build(("inv", 0, "write", 1), ("inv", 1, "read"), ("ok", 1, seen), ("ok", 0, 1))
        assert_valid(h, True)


def test_two_concurrent_reads_cannot_disagree_backwards() -> None:
    # r1 sees the new value and finishes before r2 starts; r2 sees the old one.
    h = build(("inv", 0, "write", 1), *r(1, 1), *r(2, None), ("ok", 0, 1))
    assert_valid(h, False)


def test_null_read_means_absent() -> None:
    assert_valid(build(*r(0, None), *w(0, 1)), True)
    # Knossos would accept this (a nil read matches anything); we do not.
    assert_valid(build(*w(0, 1), *r(1, None)), False)


def test_read_of_a_value_never_written() -> None:
    assert_valid(build(*w(0, 1), *r(1, 7)), False)
    result = check_history(build(*w(0, 1), *r(1, 7)))
    assert "no operation wrote" in result["failure"]["reason"]


def test_initial_value() -> None:
    assert_valid(build(*r(0, 0)), False)
    assert_valid(build(*r(0, 0)), True, initial=0)
    assert_valid(build(*r(0, None)), False, initial=0)


def test_info_write_may_take_effect_late_or_never() -> None:
    info_w = (("inv", 1, "write", 2), ("info", 1))
    assert_valid(build(*w(0, 1), *info_w, *r(0, 1), *r(0, 1)), True)           # never
    assert_valid(build(*w(0, 1), *info_w, *r(0, 1), *r(0, 2), *r(0, 2)), True)  # late
    assert_valid(build(*w(0, 1), *info_w, *r(0, 2), *r(0, 1)), False)           # not twice


def test_info_cannot_take_effect_before_its_invocation() -> None:
    assert_valid(build(*w(0, 1), *r(0, 2), ("inv", 1, "write", 2), ("info", 1)), False)


def test_missing_completion_counts_as_info() -> None:
    h = build(*w(0, 1), ("inv", 1, "write", 2), *r(0, 1), *r(0, 2))
    assert h.operations()[1].outcome == "info"
    assert_valid(h, True)
    assert_valid(build(*w(0, 1), ("inv", 1, "cas", [1, 3]), *r(0, 3), *r(0, 3)), True)
    assert_valid(build(*w(0, 1), ("inv", 1, "cas", [2, 3]), *r(0, 3)), False)


def test_cas_ok_needs_from_equal_current() -> None:
    ok_cas = (("inv", 1, "cas", [1, 2]), ("ok", 1, [1, 2]))
    assert_valid(build(*w(0, 1), *ok_cas, *r(0, 2)), True)
    assert_valid(build(*w(0, 5), *ok_cas, *r(0, 2)), False)
    assert_valid(build(*ok_cas), False)  # absent is not 1


def test_failed_cas_precondition_observes_a_different_present_value() -> None:
    for err in ("precondition-failed", 22, [":precondition-failed", "expected 1"]):
        bad = (("inv", 1, "cas", [1, 2]), ("fail", 1, err))
        assert_valid(build(*w(0, 1), *bad), False)      # it was 1
        assert_valid(build(*w(0, 3), *bad), True)       # it was 3
        assert_valid(build(*bad), False)                # absent: that is key-does-not-exist
        # Concurrent with a write of 3: it may have seen 3.
        assert_valid(build(*w(0, 1), ("inv", 1, "cas", [1, 2]), *w(0, 3), ("fail", 1, err)), True)


def test_failed_cas_key_does_not_exist_observes_absence() -> None:
    for err in ("key-does-not-exist", 20):
        missing = (("inv", 1, "cas", [1, 2]), ("fail", 1, err))
        assert_valid(build(*missing), True)
        assert_valid(build(*w(0, 1), *missing), False)
        assert_valid(build(("inv", 0, "write", 1), *missing, ("ok", 0, 1)), True)


def test_other_failures_take_no_effect() -> None:
    h = build(("inv", 0, "write", 2), ("fail", 0, "temporarily-unavailable"), *r(1, 2))
    assert_valid(h, False)
    h = build(*w(0, 1), ("inv", 1, "cas", [1, 2]), ("fail", 1, "temporarily-unavailable"),
              *r(0, 1))
    assert_valid(h, True)
    assert_valid(build(("inv", 0, "read"), ("fail", 0, "key-does-not-exist"), *w(0, 1)), True)


def test_kv_append_concatenates() -> None:
    a = (("inv", 0, "append", "a"), ("ok", 0, "a"))
    b = (("inv", 1, "append", "b"), ("ok", 1, "b"))
    assert_valid(build(*a, *b, *r(2, "ab")), True, model="kv")
    assert_valid(build(*a, *b, *r(2, "ba")), False, model="kv")
    assert_valid(build(*a, *r(2, "a"), *b, *r(2, "ab"), *r(2, "a")), False, model="kv")
    concurrent = build(("inv", 0, "append", "a"), ("inv", 1, "append", "b"), *r(2, "ba"),
                       ("ok", 0, "a"), ("ok", 1, "b"), *r(2, "ba"))
    assert_valid(concurrent, True, model="kv")
    assert_valid(build(*w(0, "x"), *a, *r(2, "xa")), True, model="kv")
    assert_valid(build(*a, *r(2, "xa")), True, model="kv", initial="x")


def test_append_needs_the_kv_model() -> None:
    with pytest.raises(ModelError, match="use --model kv"):
        check_history(build(("inv", 0, "append", "a"), ("ok", 0, "a")))


def test_keys_are_independent_and_keyless_ops_ignored() -> None:
    h = build(("inv", 0, "write", 1, "a"), ("ok", 0, 1),
              ("inv", "nemesis", "start-partition", "majority", None), ("info", "nemesis"),
              ("inv", 1, "read", None, "b"), ("ok", 1, None),
              ("inv", 1, "read", None, "a"), ("ok", 1, 1))
    result = check_history(h)
    assert result["valid"] is True
    assert set(result["keys"]) == {"a", "b"}
    bad = build(*w(0, 1), *w(0, 2), *r(0, 2), ("inv", 1, "write", 1, "k"), ("ok", 1, 1),
                ("inv", 1, "read", None, "k"), ("ok", 1, 2))
    result = check_history(bad)
    assert result["valid"] is False
    assert result["keys"]["k"]["valid"] is False and result["failure"]["key"] == "k"


def test_failure_report_has_prefix_and_involved_ops() -> None:
    # Stale read after two writes, with a concurrent read to make it non-trivial.
    h = build(*w(0, 1), ("inv", 1, "read"), *w(0, 2), ("ok", 1, 1), *r(2, 2), *r(2, 1))
    m = get_model("cas-register")
    for shortcuts in (True, False):
        result = check_operations(h.operations(), m, shortcuts=shortcuts)
        f = result["failure"]
        assert result["valid"] is False and f["key"] == 0
        assert f["op"]["description"] == "read → 1" and f["op"]["index"] == 8
        assert [op["description"] for op in f["prefix"]][:1] == ["write 1"]
        assert len(f["prefix"]) >= 4 and f["state"] == "2"
        assert any(op["index"] == 8 for op in f["ops"])


def test_time_limit_gives_unknown() -> None:
    ticks = iter(range(1_000_000))
    h = build(*w(0, 1), *r(0, 1))
    result = check_history(h, time_limit_s=0.5, clock=lambda: float(next(ticks)))
    assert result["valid"] == "unknown"
    assert result["keys"][0] == {"valid": "unknown", "ops": 2, "dropped": 0, "steps": 0,
                                 "reason": "time limit"}


def test_empty_history_is_valid() -> None:
    assert check_history([])["valid"] is True
    assert check_history(build(("inv", "nemesis", "kill", None, None), ("info", "nemesis")))["keys"] == {}


def test_inputs_of_every_shape() -> None:
    h = build(*w(0, 1), *r(0, 1))
    for given in (h, list(h), [e.to_dict() for e in h], h.operations()):
        assert check_history(given)["valid"] is True


@pytest.mark.parametrize(("error", "code"), [
    ("precondition-failed", 22), (":key-does-not-exist", 20), (22, 22), ("22", 22),
    (["precondition-failed", "text"], 22), ({"code": 20}, 20), ("net-timeout", 0),
    ("what", None), (None, None), (True, None)])
def test_error_codes(error: Any, code: int | None) -> None:
    assert error_code(error) == code


# -- strict (ours) and knossos (Maelstrom's) readings of outcomes ------------------------------


def semantics_verdicts(h: History) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for semantics in ("strict", "knossos"):
        m = get_model("cas-register", None, semantics)
        out[semantics] = [check_operations(h.operations(), m, shortcuts=s)["valid"]
                          for s in (True, False)]
    return out


@pytest.mark.parametrize("steps", [
    # A null read after a write was acknowledged: strict reads it as "absent", which
    # nothing made true; knossos lets a nil read match any value.
    (*w(0, 1), *r(1, None)),
    # A cas that failed with precondition-failed (22) saw a value other than 1 while the
    # key held 1: strict keeps it as an observation, knossos drops every fail.
    (*w(0, 1), ("inv", 1, "cas", [1, 2]), ("fail", 1, "precondition-failed"), *r(0, 1)),
    # A cas that failed with key-does-not-exist (20) after the key was written.
    (*w(0, 3), ("inv", 1, "cas", [4, 2]), ("fail", 1, 20), *r(0, 3)),
    # precondition-failed on a key that was never written: 22 means present and different.
    (("inv", 1, "cas", [1, 2]), ("fail", 1, "precondition-failed"), *r(0, None)),
])
def test_strict_and_knossos_disagree(steps: tuple[tuple[Any, ...], ...]) -> None:
    assert semantics_verdicts(build(*steps)) == {"strict": [False, False],
                                                 "knossos": [True, True]}


@pytest.mark.parametrize("steps", [
    (*w(0, 1), *r(1, 2)),                 # a value nobody wrote
    (*w(0, 1), *w(0, 2), *r(1, 1)),       # a stale read
    (*w(0, 1), *r(1, None), *r(1, 3)),    # the nil read is forgiven, the 3 is not
])
def test_knossos_still_finds_what_it_can_see(steps: tuple[tuple[Any, ...], ...]) -> None:
    assert semantics_verdicts(build(*steps)) == {"strict": [False, False],
                                                 "knossos": [False, False]}


def test_both_readings_accept_what_is_consistent_with_absence() -> None:
    # A null read before any write, and a failed cas on an absent key (20).
    h = build(*r(1, None), ("inv", 1, "cas", [1, 2]), ("fail", 1, "key-does-not-exist"), *w(0, 1),
              *r(1, 1))
    assert semantics_verdicts(h) == {"strict": [True, True], "knossos": [True, True]}


def test_unknown_semantics_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown semantics"):
        get_model("cas-register", None, "lenient")
    assert check_history(build(*w(0, 1), *r(1, None)), semantics="knossos")["semantics"] == "knossos"


def test_a_time_limit_needs_the_drivers_clock() -> None:
    """The checker reads no clock of its own: a time limit without one is refused, and
    without a limit nothing is timed."""
    h = build(*w(0, 1), *r(1, 1))
    with pytest.raises(ValueError, match="clock"):
        check_history(h, time_limit_s=1.0)
    result = check_history(h)
    assert result["valid"] is True and result["seconds"] == 0.0
