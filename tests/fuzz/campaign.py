"""`make fuzz`: the command fuzz for as long as asked, writing what it finds as regressions.

Usage: ``python -m tests.fuzz.campaign [--minutes M] [--examples N] [--command NAME ...]``

Strategy: start a fresh `gyre serve` and redis-server, then go round the
command table (in a seeded random order, one round after another), running
N hypothesis examples per command at a time, with the same cases and
comparison as the default test run (tests/fuzz/test_fuzz_commands.py), every
other round mixing each command with any other. A difference is shrunk by
hypothesis to a small case, appended to regressions.jsonl (replayed by
tests/fuzz/test_fuzz_regressions.py from then on) and that command is left
out of the rest of the campaign, since it would find the same thing again.
If gyre stops answering or dies, the case is written down and both servers
are started anew. Prints the count of cases and commands run, and exits 1
when it found anything.
"""

from __future__ import annotations

import argparse
import random
import signal
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from crdt.commands import TABLE
from tests.fuzz.pair import Mismatch, Pair, servers
from tests.fuzz.test_fuzz_commands import check_command, fuzzed_commands

REGRESSIONS = Path(__file__).with_name("regressions.jsonl")


def record(found: Mismatch, command: str) -> None:
    case = found.case
    case.note = (f"found by make fuzz on {datetime.now(timezone.utc):%Y-%m-%d} ({command}): "
                 + found.why.splitlines()[0][:300])
    with REGRESSIONS.open("a") as f:
        f.write(case.to_json() + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make fuzz", description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=60.0, help="how long to run (60)")
    parser.add_argument("--examples", type=int, default=50,
                        help="examples per command per round (50)")
    parser.add_argument("--command", action="append", default=[],
                        help="fuzz only this command (repeatable; e.g. zadd, 'config|get')")
    parser.add_argument("--seed", type=int, default=None, help="order of the commands")
    args = parser.parse_args(argv)
    # SIGTERM unwinds like Ctrl-C, so the two servers are stopped on the way out.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))

    names = args.command or [c.name for c in fuzzed_commands()]
    unknown = [n for n in names if n not in TABLE.by_name]
    if unknown:
        parser.error(f"unknown command(s): {', '.join(unknown)}")
    seed = args.seed if args.seed is not None else random.randrange(2**32)
    rng = random.Random(seed)
    deadline = time.monotonic() + args.minutes * 60
    found: list[str] = []
    rounds = 0
    print(f"make fuzz: {len(names)} commands, {args.examples} examples a command a round, "
          f"{args.minutes:g} minutes, seed {seed}", flush=True)
    started = time.monotonic()
    cases = commands = 0
    while time.monotonic() < deadline and len(found) < len(names):
        with servers() as (gyre_port, redis_port):
            pair = Pair(gyre_port, redis_port)
            try:
                while time.monotonic() < deadline and len(found) < len(names):
                    order = [n for n in names if n not in found]
                    rng.shuffle(order)
                    mixed = rounds % 2 == 1
                    for name in order:
                        if time.monotonic() >= deadline:
                            break
                        try:
                            check_command(pair, TABLE.by_name[name], args.examples, mixed)
                        except Exception as e:  # noqa: BLE001  (a flaky replay is an ExceptionGroup)
                            mismatch = _mismatch_in(e)
                            found.append(name)
                            if mismatch is None:  # the harness lost a connection: say so, go on
                                inner = [f"{type(x).__name__}: {x}" for x in getattr(e, "exceptions", ())]
                                print(f"ERROR {name}: {type(e).__name__}: {e} {inner}"[:800], flush=True)
                                raise _Restart from e
                            record(mismatch, name)
                            why = mismatch.why
                            print(f"FOUND {name}: {why.splitlines()[0][:400]}", flush=True)
                            if "gyre" in why and ("no reply" in why or "closed" in why):
                                raise _Restart from mismatch
                    rounds += 1
                    print(f"round {rounds} done: {pair.cases} cases so far in this server pair, "
                          f"{len(found)} found", flush=True)
            except _Restart:
                print("gyre stopped answering: starting both servers anew", flush=True)
            finally:
                cases += pair.cases
                commands += pair.commands
                pair.close()
    minutes = (time.monotonic() - started) / 60
    print(f"make fuzz: {cases} cases ({commands} commands) in {minutes:.1f} minutes, "
          f"{rounds} rounds; {len(found)} difference(s) found"
          + (f", written to {REGRESSIONS}: {', '.join(found)}" if found else ""))
    return 1 if found else 0


def _mismatch_in(error: BaseException) -> Mismatch | None:
    """The `Mismatch` behind an error, also inside hypothesis's flaky-replay group."""
    if isinstance(error, Mismatch):
        return error
    for inner in getattr(error, "exceptions", ()):
        found = _mismatch_in(inner)
        if found is not None:
            return found
    return None


class _Restart(Exception):
    """gyre hung or died: the campaign starts a new pair of servers."""


if __name__ == "__main__":
    sys.exit(main())
