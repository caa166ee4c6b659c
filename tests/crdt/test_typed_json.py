"""Peer input to the typed CRDTs: `from_json` either decodes a value every read and merge accepts,
or raises `DecodeError`, never anything else.

Inputs are random JSON, and valid states with one node swapped for random JSON.
"""

from __future__ import annotations

import copy
import json
import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crdt.replication.clocks import DecodeError
from crdt.replication.typed import KeyCRDT
from tests.crdt.typed_sim import TYPES, Net, read, run

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False)
    | st.sampled_from(["", "=", "+", "inf", "nan", "1/0", "3/4", "list", "set", "zset", "hash", "string",
                       "ttl", "r0", "\u0100"]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(["ctx", "e", "g", "vv", "cloud", "x"]), inner, max_size=4),
    max_leaves=20,
)


def _valid(kind: str, seed: int) -> tuple[Any, Any]:
    make, ops = TYPES[kind]
    net = Net(make, random.Random(seed))
    run(net, ops, 25)
    state = net.states[net.ids[0]]
    return state, state.to_json()


def _paths(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [path]
    if isinstance(node, list):
        for i, x in enumerate(node):
            out += _paths(x, (*path, i))
    elif isinstance(node, dict):
        for k, x in node.items():
            out += _paths(x, (*path, k))
    return out


def _replace(node: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    node = copy.deepcopy(node)
    target = node
    for p in path[:-1]:
        target = target[p]
    target[path[-1]] = new
    return node


def _use(cls: type, state: Any, data: Any) -> None:
    try:
        decoded = cls.from_json(data)
    except DecodeError:
        return
    read(decoded)
    merged = state.copy().merge(decoded)
    read(merged)
    json.dumps(merged.to_json())


@pytest.mark.parametrize("kind", sorted(TYPES))
@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**16), pick=st.integers(0, 2**16), new=json_values)
def test_mutated_states_decode_or_raise_decode_error(kind: str, seed: int, pick: int, new: Any) -> None:
    state, data = _valid(kind, seed)
    paths = _paths(data)
    _use(type(state), state, _replace(data, paths[pick % len(paths)], new))


@settings(max_examples=60, deadline=None)
@given(data=json_values)
def test_random_json_decodes_or_raises_decode_error(data: Any) -> None:
    _use(KeyCRDT, KeyCRDT(), data)


def test_a_live_dot_outside_the_context_is_refused() -> None:
    bad = {"ctx": {"vv": {}, "cloud": []}, "e": [[["set", "m"], [["r", 1, ["=", [1, 0, "r"], None]]]]]}
    with pytest.raises(DecodeError):
        KeyCRDT.from_json(bad)


@pytest.mark.parametrize("amount", [2**200, "1/0", "12/x", "nan", True, "%s/1" % ("f" * 7000)])
def test_bad_amounts_are_refused(amount: Any) -> None:
    bad = {"ctx": {"vv": {"r": 1}, "cloud": []}, "e": [[["zset", "m"], [["r", 1, ["+", amount, 1, [1, 0, "r"]]]]]]}
    with pytest.raises(DecodeError):
        KeyCRDT.from_json(bad)


def test_tiny_and_huge_fractions_travel_exactly() -> None:
    from fractions import Fraction

    from crdt.replication.typed.context import amount_from_json, amount_to_json

    for x in (Fraction(1, 2**16000), Fraction(-(3**5000), 7), Fraction(5, 4)):
        assert amount_from_json(json.loads(json.dumps(amount_to_json(x)))) == x


def test_an_increment_on_a_set_member_is_refused() -> None:
    bad = {"ctx": {"vv": {"r": 1}, "cloud": []}, "e": [[["set", "m"], [["r", 1, ["+", 1, 1, [1, 0, "r"]]]]]]}
    with pytest.raises(DecodeError):
        KeyCRDT.from_json(bad)
