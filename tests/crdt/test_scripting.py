"""Scripts inside the engine: one command to replication, notifications and blocked clients;
long scripts, kills and hostile input (no redis-server needed).

The busy/kill machinery is driven by a fake clock and a `while_busy` callback
that plays the other client, so the whole flow runs in-process.
"""

from __future__ import annotations

import pytest

from crdt.scripting import vm as lua
from protocol.replies import ErrorReply
from tests.helpers import EngineBox


@pytest.fixture
def box() -> EngineBox:
    return EngineBox()


def test_writes_inside_a_script_are_the_commands_delta(box: EngineBox) -> None:
    reply, delta = box.engine.execute_with_delta(
        [b"EVAL", b"redis.call('set', KEYS[1], 'v') redis.call('select', 2) "
                  b"redis.call('rpush', KEYS[2], 'x') return redis.call('get', 'nokey')",
         b"2", b"a", b"b"], box.session, box.now)
    assert reply is None
    assert delta == {0: [b"a"], 2: [b"b"]}
    assert box.session.db_index == 0  # SELECT in a script is the script's own


def test_read_only_scripts_write_nothing(box: EngineBox) -> None:
    reply, delta = box.engine.execute_with_delta(
        [b"EVAL_RO", b"return redis.pcall('set', 'k', 'v')", b"0"], box.session, box.now)
    assert isinstance(reply, ErrorReply) and delta == {}


def test_keyspace_events_of_a_script_go_out(box: EngineBox) -> None:
    box("CONFIG", "SET", "notify-keyspace-events", "KEA")
    listener = box.engine.open_session(box.now)
    box("PSUBSCRIBE", "__key*__:*", session=listener)
    listener.outbox.clear()
    box("EVAL", "redis.call('set', KEYS[1], '1') redis.call('incr', KEYS[1])", 1, "k")
    events = [bytes(m[-1]) for m in listener.outbox]
    assert events == [b"set", b"k", b"incrby", b"k"]


def test_a_script_unblocks_a_waiting_pop_after_it_ends(box: EngineBox) -> None:
    waiter = box.engine.open_session(box.now)
    box("BLPOP", "q", 0, session=waiter)
    assert waiter.blocked is not None
    box("EVAL", "redis.call('rpush', 'q', 'a', 'b') return redis.call('lpop', 'q')", 0)
    assert box.session.attention  # the driver serves the ready keys after the command
    answered = box.engine.blocking.serve(box.now)
    assert [(s is waiter, reply) for s, reply in answered] == [(True, [b"q", b"b"])]


def test_monitor_shows_a_scripts_commands_as_lua(box: EngineBox) -> None:
    watcher = box.engine.open_session(box.now)
    box("MONITOR", session=watcher)
    watcher.outbox.clear()
    box("EVAL", "return redis.call('get', 'k')", 0)
    lines = [bytes(m) for m in watcher.outbox]
    assert len(lines) == 2 and b'"EVAL"' in lines[0] and lines[1].endswith(b'[0 lua] "get" "k"')


def test_eval_in_multi_runs_at_exec(box: EngineBox) -> None:
    assert box("MULTI") == b"OK"
    assert box("EVAL", "return redis.call('incr', 'n')", 0) == b"QUEUED"
    assert box("EXEC") == [1]


class FakeClock:
    def __init__(self) -> None:
        self.ms = 0

    def __call__(self) -> int:
        self.ms += 1  # every reading moves time on: a running script ages
        return self.ms


def test_busy_then_kill_in_process(box: EngineBox) -> None:
    vm = lua.of(box.engine)
    vm.clock = FakeClock()
    box("CONFIG", "SET", "busy-reply-threshold", 5)
    other = box.engine.open_session(box.now)
    seen: list[object] = []

    def while_busy() -> None:
        seen.append(vm.busy_error)
        seen.append(box("FUNCTION", "KILL", session=other))
        seen.append(box("SCRIPT", "KILL", session=other))

    vm.while_busy = while_busy
    reply = box("EVAL", "local i = 0 while true do i = i + 1 end", 0)
    assert bytes(reply).startswith(b"Script killed by user with SCRIPT KILL... script: ")
    assert seen[0].startswith(b"BUSY ")
    assert bytes(seen[1]).startswith(b"BUSY Redis is busy running a script. You can only call SCRIPT KILL")
    assert seen[2] == b"OK"
    assert box("EVAL", "return 1", 0) == 1  # the hook is armed again, the VM usable


def test_pcall_cannot_swallow_a_kill(box: EngineBox) -> None:
    vm = lua.of(box.engine)
    vm.clock = FakeClock()
    box("CONFIG", "SET", "busy-reply-threshold", 5)
    vm.while_busy = lambda: box("SCRIPT", "KILL", session=box.engine.open_session(box.now))
    reply = box("EVAL", "while true do pcall(function() while true do end end) end", 0)
    assert bytes(reply).startswith(b"Script killed by user")


def test_a_script_that_wrote_is_unkillable(box: EngineBox) -> None:
    vm = lua.of(box.engine)
    vm.clock = FakeClock()
    box("CONFIG", "SET", "busy-reply-threshold", 5)
    answers: list[object] = []

    def while_busy() -> None:
        answers.append(box("SCRIPT", "KILL", session=box.engine.open_session(box.now)))

    vm.while_busy = while_busy
    reply = box("EVAL", "redis.call('set', 'k', 1) for i = 1, 300000 do end return 'done'", 0)
    assert reply == b"done"
    assert answers and all(bytes(a).startswith(b"UNKILLABLE") for a in answers)


def test_script_kill_with_nothing_running(box: EngineBox) -> None:
    assert box.err("SCRIPT", "KILL") == b"NOTBUSY No scripts in execution right now."
    assert box.err("FUNCTION", "KILL") == b"NOTBUSY No scripts in execution right now."


def test_a_library_body_that_never_ends_is_stopped(box: EngineBox) -> None:
    text = box.err("FUNCTION", "LOAD", "#!lua name=x\nwhile true do end")
    assert text == b"ERR Error registering functions: FUNCTION LOAD timeout"
    assert box("FUNCTION", "LOAD", "#!lua name=x\nredis.register_function('f', function() return 1 end)") == b"x"
    assert box("FCALL", "f", 0) == 1


@pytest.mark.parametrize("body", [
    "local function f() return f() + 1 end return f()",  # Lua stack overflow
    "local t = {} t[1] = t return t",  # a self-referencing reply
    "return string.rep('x', 1e6):len()",
    "return redis.call(string.rep('x', 1e5))",
    "local s = '' for i = 1, 2000 do s = s .. 'return (' end return loadstring(s)",
    "\0\1\2",
    "return cjson.decode(string.rep('[', 100000))",
    "return cmsgpack.unpack(string.rep('\\220', 10))",
    "return struct.pack('i17', 1)",
    "return #string.rep('x', 2^31)",
])
def test_hostile_scripts_get_an_error_or_a_reply(box: EngineBox, body: str) -> None:
    box("EVAL", body, 0)  # whatever it answers, the engine lives and stays usable
    assert box.engine.internal_errors == 0
    assert box("EVAL", "return redis.call('ping')", 0) == b"PONG"


def test_a_script_past_the_memory_limit_gets_an_error(box: EngineBox) -> None:
    vm = lua.of(box.engine)
    assert vm.lua.get_max_memory() == lua.LUA_MAX_MEMORY
    vm.lua.set_max_memory(32 << 20)  # the same check as the server's 1 GiB, sooner
    text = box.err("EVAL", "local t, s = {}, string.rep('x', 2^20) for i = 1, 1e9 do t[i] = s .. i end", 0)
    assert text == b"ERR not enough memory"
    assert box("EVAL", "return #string.rep('x', 1000)", 0) == 1000


def test_huge_script_bodies_compile_or_fail_cleanly(box: EngineBox) -> None:
    body = "return " + " + ".join(["1"] * 100_000)
    reply = box("EVAL", body, 0)
    assert reply == 100_000 or bytes(reply).startswith(b"ERR Error compiling script")


def test_math_random_comes_from_the_engines_seeded_rng() -> None:
    import random as pyrandom

    from crdt.engine import Engine

    def draws(seed: int) -> list[object]:
        e = Engine(now_ms=1000, rng=pyrandom.Random(seed))
        s = e.open_session(1000, addr="t")
        return [e.execute([b"EVAL", b"return tostring(math.random())", b"0"], s, 1000) for _ in range(3)]

    first = draws(5)
    assert first == draws(5)  # the same engine seed replays the same numbers
    assert len(set(first)) == 3  # one sequence runs on across scripts
    assert first != draws(6)
