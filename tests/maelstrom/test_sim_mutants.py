"""Planted bugs in the real nodes: ``gyre sim`` finds each within 200 seeds and replays it.

One of them needs a node fault: strong mode keeping its acceptors in memory
only is caught with ``--faults crash`` (`test_crash_mutant_is_caught_and_replayed`).

Each mutant is the real node class with one method patched (pytest's
monkeypatch, so the CLI run in-process sees it too). For each: the first
failing seed is found, ``gyre sim --seeds S..S`` prints a replay line,
running that line gives the same verdict and the same trace hash, and the
unmutated node passes every seed up to S.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from crdt.replication.keystates import KeyTable
from maelstrom.harness import EXIT_INVALID, EXIT_VALID
from maelstrom.sim.cli import sim_command
from nodes.caspaxos import Acceptor, RegState, Round
from nodes.workload_handlers import Broadcast, CounterWorkload, GSetWorkload
from tests.maelstrom.sim_helpers import sim_config, simulate

SEEDS_MAX = 200
RUN = {"time_limit": 4.0, "rate": 60.0}


def _no_majority(mp: pytest.MonkeyPatch) -> None:
    """Strong mode commits (and adopts) on one answer instead of a majority."""
    real = Round.__init__

    def init(self: Round, *a: Any, **kw: Any) -> None:
        real(self, *a, **kw)
        self.quorum = 1

    mp.setattr(Round, "__init__", init)


def _adopt_lowest(mp: pytest.MonkeyPatch) -> None:
    """The proposer adopts the lowest-ballot accepted state of its promises, not the highest
    (a 1RTT round has no promises to choose from: it keeps its granted state)."""
    mp.setattr(Round, "current",
               lambda self: self.adopted if self.adopted is not None
               else min(self.promises.items(), key=lambda kv: (kv[1][0], kv[0]))[1][1])


def _accept_below_promise(mp: pytest.MonkeyPatch) -> None:
    """An acceptor that accepts any ballot, even one below what it promised."""

    def accept(self: Acceptor, key: str, ballot: Any, state: RegState, seq: int = 1) -> tuple[bool, Any]:
        s = self.slot(key)
        s.promised = max(s.promised, ballot)
        s.accepted, s.seq, s.state = ballot, seq, state
        return True, s.promised

    mp.setattr(Acceptor, "accept", accept)


def _chain_past_promise(mp: pytest.MonkeyPatch) -> None:
    """An acceptor that lets a proposer's chain go on at its ballot after promising a higher one
    (as if the chain's prepare still held): the chain's next state overwrites what the newer
    proposer adopted."""
    real = Acceptor.accept

    def accept(self: Acceptor, key: str, ballot: Any, state: RegState, seq: int = 1) -> tuple[bool, Any]:
        s = self.slot(key)
        if seq > s.seq and ballot == s.accepted and ballot < s.promised:
            s.seq, s.state = seq, state
            return True, s.promised
        return real(self, key, ballot, state, seq)

    mp.setattr(Acceptor, "accept", accept)


def _gset_without_anti_entropy(mp: pytest.MonkeyPatch) -> None:
    """g-set pushes each change once and never repairs what a partition lost."""
    mp.setattr(GSetWorkload, "_anti_entropy", lambda self, now_ms: None)


def _merge_drops_remote(mp: pytest.MonkeyPatch) -> None:
    """A counter merge that ignores the remote state."""
    mp.setattr(CounterWorkload, "merge_json", lambda self, data: None)


def _typed_merge_drops_remote(mp: pytest.MonkeyPatch) -> None:
    """The typed keyspace's join ignores what a peer sent (eventual and causal counters are INCRBY on it)."""
    mp.setattr(KeyTable, "merge", lambda self, entry: False)


def _broadcast_without_retry(mp: pytest.MonkeyPatch) -> None:
    """Broadcast's resend timer never fires (nor re-arms)."""
    mp.setattr(Broadcast, "_retry", lambda self, now_ms: None)


MUTANTS: list[tuple[str, Callable[[pytest.MonkeyPatch], None], tuple[str, str, str]]] = [
    ("no-majority", _no_majority, ("lin-kv", "replicated", "strong")),
    ("adopt-lowest", _adopt_lowest, ("lin-kv", "replicated", "strong")),
    ("accept-below-promise", _accept_below_promise, ("lin-kv", "replicated", "strong")),
    ("chain-past-promise", _chain_past_promise, ("lin-kv", "replicated", "strong")),
    ("g-set-without-anti-entropy", _gset_without_anti_entropy, ("g-set", "replicated", "causal")),
    ("counter-merge-drops-remote", _merge_drops_remote, ("g-counter", "replicated", "strong")),
    ("pn-counter-merge-drops-remote", _merge_drops_remote, ("pn-counter", "replicated", "strong")),
    ("typed-counter-merge-drops-remote", _typed_merge_drops_remote, ("pn-counter", "replicated", "eventual")),
    ("broadcast-without-retry", _broadcast_without_retry, ("broadcast", "replicated", "eventual")),
]


def _cli_args(store: Path, workload: str, node: str, mode: str) -> list[str]:
    return ["-w", workload, "--node", node, "--mode", mode, "--node-count", "3",
            "--concurrency", "2n", "--time-limit", str(RUN["time_limit"]), "--rate", str(RUN["rate"]),
            "--latency", "10", "--nemesis", "partition", "--nemesis-interval", "1",
            "--recovery-wait", "3", "--store", str(store)]


def _sha(output: str) -> str:
    m = re.search(r"sha256 ([0-9a-f]{16,64})", output)
    assert m is not None, output
    return m.group(1)


@pytest.mark.parametrize(("name", "plant", "target"), MUTANTS, ids=[m[0] for m in MUTANTS])
def test_mutant_is_caught_and_replayed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str,
                                       plant: Callable[[pytest.MonkeyPatch], None],
                                       target: tuple[str, str, str]) -> None:
    workload, node, mode = target
    with monkeypatch.context() as mp:
        plant(mp)
        found = None
        for seed in range(1, SEEDS_MAX + 1):
            res, digest = simulate(sim_config(tmp_path, workload, node, mode, seed=seed, **RUN))
            if res.exit_code != EXIT_VALID:
                found = (seed, res.exit_code, digest)
                break
        assert found is not None, f"{name} was not caught in {SEEDS_MAX} seeds"
        seed, code, digest = found
        assert code == EXIT_INVALID

        runner = CliRunner()
        args = _cli_args(tmp_path / "cli", workload, node, mode)
        sweep = runner.invoke(sim_command, [*args, "--seeds", f"{seed}..{seed}"])
        assert sweep.exit_code == EXIT_INVALID, sweep.output
        assert digest.startswith(_sha(sweep.output))
        replay = [line for line in sweep.output.splitlines() if "replay: " in line]
        assert len(replay) == 1, sweep.output
        argv = shlex.split(replay[0].split("replay: ", 1)[1])
        assert argv[:2] == ["gyre", "sim"] and argv[-2:] == ["--seed", str(seed)]
        again = runner.invoke(sim_command, argv[2:])
        assert again.exit_code == EXIT_INVALID, again.output
        assert _sha(again.output) == digest
        assert f"replay: {replay[0].split('replay: ', 1)[1]}" in again.output

    for s in range(1, seed + 1):  # the real node passes the same seeds
        res, _ = simulate(sim_config(tmp_path, workload, node, mode, seed=s, **RUN))
        assert res.exit_code == EXIT_VALID, (s, res.summary)


# -- a bug only a crash shows -------------------------------------------------------------------

CRASH_RUN: dict[str, Any] = {"time_limit": 4.0, "rate": 60.0, "nemesis": (), "nemesis_interval_s": 0.5,
                             "faults": ("crash",)}


def _acceptor_in_memory(mp: pytest.MonkeyPatch) -> None:
    """Strong mode declares nothing durable: a restarted acceptor forgets its promises and accepts."""
    from nodes.strong import StrongKv

    mp.setattr(StrongKv, "_save", lambda self, name, value: None)


def test_crash_mutant_is_caught_and_replayed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Acceptor state only in memory: `gyre sim --faults crash` finds it and replays it."""
    with monkeypatch.context() as mp:
        _acceptor_in_memory(mp)
        found = None
        for seed in range(1, SEEDS_MAX + 1):
            res, digest = simulate(sim_config(tmp_path, "lin-kv", "replicated", "strong", seed=seed,
                                              **CRASH_RUN))
            if res.exit_code != EXIT_VALID:
                found = (seed, res.exit_code, digest, res)
                break
        assert found is not None, f"the in-memory acceptor was not caught in {SEEDS_MAX} seeds"
        seed, code, digest, res = found
        assert code == EXIT_INVALID and res.results is not None
        assert res.results["workload"]["valid"] is False  # a linearizability violation, not availability
        assert res.results["faults"]["crashed"] > 0

        runner = CliRunner()
        args = ["-w", "lin-kv", "--node", "replicated", "--mode", "strong", "--node-count", "3",
                "--concurrency", "2n", "--time-limit", "4", "--rate", "60", "--latency", "10",
                "--nemesis-interval", "0.5", "--faults", "crash", "--store", str(tmp_path / "cli")]
        sweep = runner.invoke(sim_command, [*args, "--seeds", f"{seed}..{seed}"])
        assert sweep.exit_code == EXIT_INVALID, sweep.output
        assert digest.startswith(_sha(sweep.output))
        replay = [line for line in sweep.output.splitlines() if "replay: " in line]
        assert len(replay) == 1, sweep.output
        argv = shlex.split(replay[0].split("replay: ", 1)[1])
        assert "--faults" in argv and argv[-2:] == ["--seed", str(seed)]
        again = runner.invoke(sim_command, argv[2:])
        assert again.exit_code == EXIT_INVALID, again.output
        assert _sha(again.output) == digest

    for s in range(1, seed + 1):  # the real node, which persists its acceptors, passes the same seeds
        res, _ = simulate(sim_config(tmp_path, "lin-kv", "replicated", "strong", seed=s, **CRASH_RUN))
        assert res.exit_code == EXIT_VALID, (s, res.summary)
