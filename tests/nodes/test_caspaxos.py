"""The pure CASPaxos parts: acceptor, one proposer round, the register state and the change function."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from crdt.engine import Engine
from crdt.replication.images import Image
from nodes.caspaxos import (
    ZERO_BALLOT,
    Acceptor,
    DoneEntry,
    Op,
    OpKind,
    Outcome,
    Phase,
    Promise,
    RegState,
    Result,
    Round,
    apply_batch,
    ballot_from_wire,
    ballot_to_wire,
)
from protocol.errors import ProtocolError
from protocol.maelstrom_json import ErrorCode

NODES = ("n0", "n1", "n2")


# --- acceptor ------------------------------------------------------------------------------


def test_acceptor_promises_higher_ballots_and_nacks_lower_ones() -> None:
    a = Acceptor()
    p = a.prepare("0", (2, "n1"))
    assert p == Promise(True, (2, "n1"), ZERO_BALLOT, RegState())
    assert a.prepare("0", (1, "n2")) == Promise(False, (2, "n1"), ZERO_BALLOT, RegState())
    assert a.prepare("0", (2, "n0")).ok is False  # same counter, lower node id
    assert a.prepare("0", (2, "n2")).ok is True
    assert a.prepare("1", (1, "n0")).ok is True  # keys are independent


def test_acceptor_accepts_at_or_above_its_promise_and_is_idempotent() -> None:
    a = Acceptor()
    s1 = RegState(b"1")
    a.prepare("0", (3, "n0"))
    assert a.accept("0", (2, "n1"), s1) == (False, (3, "n0"))
    assert a.accept("0", (3, "n0"), s1) == (True, (3, "n0"))
    assert a.accept("0", (3, "n0"), s1) == (True, (3, "n0"))  # a duplicate gets the same answer
    p = a.prepare("0", (4, "n1"))
    assert p.accepted == (3, "n0") and p.state == s1
    assert a.prepare("0", (4, "n1")) == p  # duplicated prepare: same promise
    # An accept at a higher ballot with no prepare is fine (it implies the promise).
    assert a.accept("0", (9, "n2"), RegState(b"2")) == (True, (9, "n2"))
    assert a.prepare("0", (5, "n0")).ok is False


def test_a_chain_of_accepts_at_one_ballot_moves_on_by_seq_and_acks_what_it_contains() -> None:
    a = Acceptor()
    s1, s2, s3 = RegState(b"1"), RegState(b"2"), RegState(b"3")
    assert a.prepare("0", (3, "n0")).ok
    assert a.accept("0", (3, "n0"), s1, 1) == (True, (3, "n0"))
    assert a.accept("0", (3, "n0"), s3, 3) == (True, (3, "n0"))  # seq 2 lost or late: 3 contains it
    slot = a.slots["0"]
    assert (slot.promised, slot.accepted, slot.seq, slot.state) == ((3, "n0"), (3, "n0"), 3, s3)
    # The late seq 2 (and a repeated 1) are acked without change: the state held contains them.
    assert a.accept("0", (3, "n0"), s2, 2) == (True, (3, "n0"))
    assert a.accept("0", (3, "n0"), s1, 1) == (True, (3, "n0"))
    assert a.slots["0"].state == s3 and a.slots["0"].seq == 3
    # A prepare reports the pair, so a proposer adopts the latest state of the chain.
    p = a.prepare("0", (4, "n1"))
    assert p.ok and (p.accepted, p.seq, p.state) == ((3, "n0"), 3, s3)


def test_a_chain_is_cut_by_a_higher_promise_but_what_it_holds_is_still_acked() -> None:
    a = Acceptor()
    assert a.accept("0", (3, "n0"), RegState(b"1"), 1) == (True, (3, "n0"))
    assert a.prepare("0", (5, "n1")).ok  # another proposer prepares above the chain
    # The chain's next state is refused (it was derived without what n1 may adopt)...
    assert a.accept("0", (3, "n0"), RegState(b"2"), 2) == (False, (5, "n1"))
    # ...and so is any other ballot below the promise, while a repeat of what is held is acked.
    assert a.accept("0", (4, "n2"), RegState(b"x"), 1) == (False, (5, "n1"))
    assert a.accept("0", (3, "n0"), RegState(b"1"), 1) == (True, (5, "n1"))
    assert a.accept("0", (5, "n1"), RegState(b"9"), 1) == (True, (5, "n1"))
    # Once n1's state is accepted, an old pair of n0's chain is nacked, not acked again.
    assert a.accept("0", (3, "n0"), RegState(b"1"), 1) == (False, (5, "n1"))
    assert a.slots["0"].state == RegState(b"9") and (a.slots["0"].accepted, a.slots["0"].seq) == ((5, "n1"), 1)


def test_acceptor_never_acks_a_zero_ballot_it_did_not_store() -> None:
    a = Acceptor()
    assert a.accept("0", ZERO_BALLOT, RegState(b"1")) == (True, ZERO_BALLOT)  # a fresh slot takes it
    a.prepare("1", (1, "n0"))
    assert a.accept("1", ZERO_BALLOT, RegState(b"1"))[0] is False


# --- wire forms ------------------------------------------------------------------------------


def test_ballot_and_state_round_trip_and_reject_garbage() -> None:
    assert ballot_from_wire(ballot_to_wire((7, "n3"))) == (7, "n3")
    for bad in (None, [1], [1, 2], ["1", "n0"], [True, "n0"], [-1, "n0"], {"a": 1}):
        with pytest.raises(ProtocolError):
            ballot_from_wire(bad)
    s = RegState(b'{"a":[1,2.5]}', (DoneEntry("n0.1.1", "n0", 5, Result(22, "no")),
                                   DoneEntry("n1.1.1", "n1", 6, Result())))
    assert RegState.from_wire(s.to_wire()) == s
    assert RegState.from_wire(RegState().to_wire()) == RegState()
    for bad in (None, {"v": 1, "d": []}, {"v": "{", "d": []}, {"v": None}, {"v": None, "d": [[1]]},
                {"v": None, "d": [["r", "n0", 1.5, None, None]]}):
        with pytest.raises(ProtocolError):
            RegState.from_wire(bad)


def test_a_canonical_command_state_keeps_the_peers_wire_form_and_others_round_trip() -> None:
    # Entries of commands carry their RESP reply; a string image without a TTL is a bare string.
    entries = (DoneEntry("n0.1.1", "n0", 5, Result(value=b"+OK\r\n")),
               DoneEntry("n0.1.2", "n0", 5, Result(value=b"$2\r\n\xe9\xff\r\n")))  # a non-ASCII reply
    for image in (Image("string", b"v\xe9"), Image("string", b"v", 99), Image("hash", ((b"f", b"1"),))):
        state = RegState(image, entries)
        wire = orjson.loads(orjson.dumps(state.to_wire()))  # as a peer's message arrives
        parsed = RegState.from_wire(wire)
        assert parsed == state
        assert orjson.dumps(parsed.to_wire()) == orjson.dumps(state.to_wire())
        # Kept as it came (nothing to encode again) only where it writes back byte for byte.
        assert (parsed.to_wire() is wire) == (image.expire_at is None and image.type == "string")
    unsorted = {"i": "v", "d": [entries[1].to_wire(), entries[0].to_wire()]}
    parsed = RegState.from_wire(unsorted)
    assert parsed.done == entries and parsed.to_wire() is not unsorted
    for bad in ({"i": "v", "d": [["r", "n0", 5, None, None, 7]]},
                {"i": "v", "d": [["r", "n0", 5, None, None, "\u0100"]]}):
        with pytest.raises(ProtocolError):
            RegState.from_wire(bad)


# --- one round ----------------------------------------------------------------------------------


def test_round_prepares_with_a_majority_and_adopts_the_highest_accepted_state() -> None:
    r = Round((5, "n0"), NODES)
    assert r.quorum == 2
    assert r.on_promise("n0", (5, "n0"), Promise(True, (5, "n0"), (1, "n2"), RegState(b"1"))) is Outcome.WAIT
    assert r.on_promise("n0", (5, "n0"), Promise(True, (5, "n0"), (1, "n2"), RegState(b"1"))) is Outcome.WAIT
    assert r.on_promise("n1", (4, "n0"), Promise(True, (4, "n0"), ZERO_BALLOT, RegState())) is Outcome.WAIT
    assert r.missing() == ["n1", "n2"]
    assert r.on_promise("n1", (5, "n0"), Promise(True, (5, "n0"), (3, "n1"), RegState(b"3"))) is Outcome.PREPARED
    assert r.current() == RegState(b"3")
    r.start_accept(RegState(b"4"))
    assert r.missing() == ["n0", "n1", "n2"]
    # Late promises are ignored once accepting.
    assert r.on_promise("n2", (5, "n0"), Promise(True, (5, "n0"), ZERO_BALLOT, RegState())) is Outcome.WAIT
    assert r.on_accepted("n0", (5, "n0"), True, (5, "n0")) is Outcome.WAIT
    assert r.on_accepted("n0", (5, "n0"), True, (5, "n0")) is Outcome.WAIT  # duplicate
    assert r.on_accepted("n2", (5, "n0"), True, (5, "n0")) is Outcome.COMMITTED
    assert r.phase is Phase.COMMITTED
    assert r.on_accepted("n1", (5, "n0"), True, (5, "n0")) is Outcome.WAIT


def test_round_is_rejected_once_a_majority_is_out_of_reach() -> None:
    r = Round((5, "n0"), NODES)
    assert r.on_promise("n1", (5, "n0"), Promise(False, (6, "n1"), ZERO_BALLOT, RegState())) is Outcome.WAIT
    assert r.highest_seen == (6, "n1")
    assert r.on_promise("n2", (5, "n0"), Promise(False, (8, "n2"), ZERO_BALLOT, RegState())) is Outcome.REJECTED
    assert r.highest_seen == (8, "n2") and r.phase is Phase.REJECTED
    r2 = Round((5, "n0"), NODES)
    for n in ("n0", "n1"):
        r2.on_promise(n, (5, "n0"), Promise(True, (5, "n0"), ZERO_BALLOT, RegState()))
    r2.start_accept(RegState(b"1"))
    assert r2.on_accepted("n1", (5, "n0"), False, (7, "n2")) is Outcome.WAIT
    assert r2.on_accepted("n2", (5, "n0"), False, (7, "n2")) is Outcome.REJECTED


def test_five_node_round_needs_three() -> None:
    r = Round((1, "n0"), [f"n{i}" for i in range(5)])
    assert r.quorum == 3
    outs = [r.on_promise(f"n{i}", (1, "n0"), Promise(True, (1, "n0"), ZERO_BALLOT, RegState())) for i in range(3)]
    assert outs == [Outcome.WAIT, Outcome.WAIT, Outcome.PREPARED]


def test_prepare_adopts_the_highest_ballot_then_seq() -> None:
    r = Round((9, "n0"), NODES)
    r.on_promise("n1", (9, "n0"), Promise(True, (9, "n0"), (4, "n2"), RegState(b"old"), 7))
    r.on_promise("n2", (9, "n0"), Promise(True, (9, "n0"), (4, "n2"), RegState(b"new"), 8))
    assert r.current() == RegState(b"new")
    r2 = Round((9, "n0"), NODES)
    r2.on_promise("n1", (9, "n0"), Promise(True, (9, "n0"), (5, "n1"), RegState(b"higher ballot"), 1))
    r2.on_promise("n2", (9, "n0"), Promise(True, (9, "n0"), (4, "n2"), RegState(b"longer chain"), 50))
    assert r2.current() == RegState(b"higher ballot")


def test_a_chained_round_starts_prepared_from_the_state_before_it() -> None:
    r = Round.chained((6, "n0"), 2, NODES, RegState(b"1"))
    assert r.prepared and r.current() == RegState(b"1") and r.seq == 2
    r.start_accept(RegState(b"2"))
    assert r.missing() == list(NODES)
    assert r.on_accepted("n1", (6, "n0"), False, (7, "n2")) is Outcome.WAIT
    assert r.on_accepted("n2", (6, "n0"), False, (7, "n2")) is Outcome.REJECTED
    assert r.highest_seen == (7, "n2")
    with pytest.raises(AssertionError):
        Round.chained((6, "n0"), 1, NODES, RegState(b"1"))  # seq 1 is the round that prepares


# --- the change function ---------------------------------------------------------------------


def _apply(current: RegState, ops: list[Op], *, origin: str = "n0", live: list[str] | None = None,
           now_ms: int = 1000) -> tuple[RegState, dict[str, Result]]:
    engine = Engine(now_ms=0)
    session = engine.open_session(0)
    return apply_batch(engine, session, b"0", current, ops, origin=origin,
                       live_own=[o.rid for o in ops] if live is None else live, now_ms=now_ms,
                       gc_margin_ms=100)


def test_batch_applies_in_order_through_the_engine() -> None:
    ops = [Op("a", OpKind.READ), Op("b", OpKind.CAS, value=b"2", expected=b"1", expires_ms=2000),
           Op("c", OpKind.WRITE, value=b"1", expires_ms=2000), Op("d", OpKind.READ),
           Op("e", OpKind.CAS, value=b"[3]", expected=b"1", expires_ms=2000),
           Op("f", OpKind.CAS, value=b"9", expected=b"1", expires_ms=2000), Op("g", OpKind.READ)]
    new, res = _apply(RegState(), ops)
    assert res["a"] == Result(ErrorCode.KEY_DOES_NOT_EXIST, "key does not exist")
    assert res["b"].code == ErrorCode.KEY_DOES_NOT_EXIST
    assert res["c"] == Result() and res["d"] == Result(value=b"1") and res["e"] == Result()
    assert res["f"] == Result(ErrorCode.PRECONDITION_FAILED, "current value [3] is not 1")
    assert res["g"] == Result(value=b"[3]")
    assert new.value == b"[3]"
    assert [e.rid for e in new.done] == ["b", "c", "e", "f"]  # reads leave no entry


def test_cas_create_if_missing_and_json_exactness() -> None:
    new, res = _apply(RegState(), [Op("a", OpKind.CAS, value=b"1", expected=b"0", create=True)])
    assert res["a"].ok and new.value == b"1"
    new, res = _apply(RegState(b"1.0"), [Op("a", OpKind.CAS, value=b"2", expected=b"1")])
    assert res["a"].code == ErrorCode.PRECONDITION_FAILED and new.value == b"1.0"


def test_an_op_already_applied_keeps_its_recorded_result() -> None:
    # The cas was applied by an earlier (abandoned) round that another proposer carried forward.
    done = (DoneEntry("a", "n0", 2000, Result()),)
    new, res = _apply(RegState(b"2", done), [Op("a", OpKind.CAS, value=b"2", expected=b"1", expires_ms=2000)])
    assert res["a"] == Result() and new.value == b"2"
    assert [e.rid for e in new.done] == ["a"]


def test_done_table_garbage_collection() -> None:
    done = (DoneEntry("mine-done", "n0", 5000, Result()), DoneEntry("mine-live", "n0", 5000, Result()),
            DoneEntry("theirs", "n1", 5000, Result()), DoneEntry("theirs-old", "n1", 800, Result()))
    new, _ = _apply(RegState(b"1", done), [Op("x", OpKind.READ)], live=["mine-live"], now_ms=1000)
    # Our answered entries go; others stay until their expiry plus the margin (100 ms here).
    assert [e.rid for e in new.done] == ["mine-live", "theirs"]


@given(st.lists(st.tuples(st.sampled_from(["read", "write", "cas"]), st.integers(0, 3), st.integers(0, 3)),
                max_size=12),
       st.one_of(st.none(), st.integers(0, 3)))
def test_batch_matches_a_dict_model(steps: list[tuple[str, int, int]], initial: int | None) -> None:
    ops = []
    for i, (f, a, b) in enumerate(steps):
        if f == "read":
            ops.append(Op(str(i), OpKind.READ))
        elif f == "write":
            ops.append(Op(str(i), OpKind.WRITE, value=str(a).encode()))
        else:
            ops.append(Op(str(i), OpKind.CAS, value=str(b).encode(), expected=str(a).encode()))
    current = RegState(None if initial is None else str(initial).encode())
    new, res = _apply(current, ops)
    model: Any = initial
    for i, (f, a, b) in enumerate(steps):
        r = res[str(i)]
        if f == "read":
            assert r == (Result(value=str(model).encode()) if model is not None
                         else Result(ErrorCode.KEY_DOES_NOT_EXIST, "key does not exist"))
        elif f == "write":
            model = a
            assert r.ok
        elif model is None:
            assert r.code == ErrorCode.KEY_DOES_NOT_EXIST
        elif model == a:
            model = b
            assert r.ok
        else:
            assert r.code == ErrorCode.PRECONDITION_FAILED
    assert new.value == (None if model is None else str(model).encode())
