"""Node state machines and their trio drivers (stdin/stdout, RESP over TCP, peers)."""
