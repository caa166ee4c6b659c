"""Lua scripting (EVAL, SCRIPT, FUNCTION, FCALL) on lupa's Lua 5.1, with Redis 7.0's rules.

Strategy: one `crdt.scripting.vm.LuaVM` per engine owns the Lua state, the
sandbox (`crdt.scripting.sandbox`, Lua source run once at start), the script
cache and the function libraries. A script runs synchronously inside the
command that started it; its `redis.call`s go through `Engine.call` on a
private script session, so they write the same keys, send the same keyspace
events and fill the same replication delta as the caller's own commands.
Replies cross the boundary through `crdt.scripting.convert`. The libraries
Redis adds to Lua that lupa's Lua lacks (bit, cjson, cmsgpack, struct) are in
`crdt.scripting.libs`, backed by Python; function libraries (FUNCTION LOAD,
FCALL, DUMP/RESTORE payloads) in `crdt.scripting.functions`. The commands
themselves are `crdt.commands.scripting` and `crdt.commands.functions`.
"""
