"""The replicated keyspace: clocks, lattices, the sharded keyspace with TTLs and the Redis command engine."""
