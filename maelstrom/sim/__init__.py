"""``gyre sim``: the deterministic simulator of the Maelstrom harness.

Strategy: the real node objects (`nodes.single.SingleNode`,
`nodes.replicated.ReplicatedNode`) run in one process, in integer virtual
milliseconds, driven by a discrete-event loop (`maelstrom.sim.loop`), with
the same harness (`maelstrom.harness`: network model, nemesis, generators,
clients, services, checkers, store) that ``gyre test`` drives in real time.
Every random choice comes from one ``random.Random(seed)``, so a seed is a
run: the same seed gives the same message trace and history, byte for byte
(`maelstrom.sim.trace`), and a failure replays from one printed line.

Modules: `loop` (the event queue), `driver` (one simulated run),
`trace` (the run's hash and where two runs first differ), `cli` (the
command line).
"""
