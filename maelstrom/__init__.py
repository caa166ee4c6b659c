"""The Maelstrom-compatible harness: network model, workloads, checkers, runner, simulator."""
