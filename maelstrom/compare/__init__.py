"""``gyre compare``: the consistency modes side by side, over a grid of runs.

Strategy: the grid (`maelstrom.compare.grid`) names every run: workload ×
mode × node count × fault × seed, each a ``gyre sim`` (or, with ``--real``,
a ``gyre test``) run. Each finished run is reduced at once to a small
`maelstrom.compare.measure.RunMeasure` (verdict, anomaly kind, availability,
latencies, messages, convergence time), a pure function of its
``results.json``, history and message journal; the runs of a grid cell are
pooled by `maelstrom.compare.aggregate`; `maelstrom.compare.render` writes
``compare.md`` and ``compare.html`` from the pooled rows. Only
`maelstrom.compare.cli` runs simulations, reads and deletes run directories
and writes files.
"""
