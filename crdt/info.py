"""The text of INFO: Redis 7.0's sections and field names, filled from the engine.

Strategy: each section is a function returning its "field:value" lines;
`build_info` picks the sections the arguments ask for (any case; "default",
"all", "everything"; unknown names add nothing) and prints them in Redis's
fixed order, each under "# Name", separated by a blank line, every line
ending in CRLF. Field names are Redis's, so monitoring tools and client
libraries that parse INFO find what they look for; gyrekv adds one field of
its own, ``gyrekv_version`` in Server.

Values come from the engine (`host`, `stats`, `calls`, the databases,
the config, the client sessions). Where gyrekv has no counterpart the field
keeps Redis's idle value (no persistence, no replication links, no forks,
no per-command timing: usec fields are 0), rather than inventing numbers.
Memory: gyrekv does not own an allocator; used_memory is its own estimate
of its data (crdt.memory_account), the figure eviction compares with
maxmemory, and used_memory_rss the process's resident set size as the driver
reports it (mem_fragmentation_ratio is their quotient).

No I/O, clock or randomness: time is the ``now_ms`` passed in.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from crdt.session import EngineView

REDIS_VERSION = "7.0.15"
GYREKV_VERSION = "0.1.0"  # keep in step with pyproject.toml
# avg_ttl averages at most this many keys with a TTL per database (in
# insertion order, so the value is deterministic), as Redis estimates it too.
AVG_TTL_SAMPLE_KEYS = 10_000
REPL_BACKLOG_BYTES = 1024 * 1024
LRU_CLOCK_MAX = (1 << 24) - 1
SECONDS_PER_DAY = 86_400

SECTION_ORDER = (
    "server", "clients", "memory", "persistence", "stats", "replication", "cpu",
    "modules", "commandstats", "errorstats", "latencystats", "cluster", "keyspace",
)
DEFAULT_SECTIONS = frozenset({
    "server", "clients", "memory", "persistence", "stats", "replication", "cpu",
    "modules", "errorstats", "cluster", "keyspace",
})
ALL_SECTIONS = frozenset(SECTION_ORDER)
_TITLES = {"cpu": "CPU"}


def bytes_to_human(n: int) -> str:
    """Redis's bytesToHuman: 1023B, 1.00K, 919.13K, 11.72M, 23.54G..."""
    if n < 1024:
        return f"{n}B"
    for unit, power in (("K", 1), ("M", 2), ("G", 3), ("T", 4), ("P", 5)):
        if n < 1024 ** (power + 1):
            return f"{n / 1024 ** power:.2f}{unit}"
    return f"{n}B"


def select_sections(args: list[bytes]) -> set[str]:
    """The sections INFO prints for these arguments (none: the default set)."""
    if not args:
        return set(DEFAULT_SECTIONS)
    chosen: set[str] = set()
    for raw in args:
        name = raw.decode(errors="replace").lower()
        if name == "default":
            chosen |= DEFAULT_SECTIONS
        elif name in ("all", "everything"):
            chosen |= ALL_SECTIONS
        elif name in ALL_SECTIONS:
            chosen.add(name)
    return chosen


def _server(e: EngineView, now_ms: int) -> list[str]:
    host = e.host
    uptime = max(0, now_ms - host.start_ms) // 1000
    hz = e.config["hz"]
    bsd = host.os.startswith(("Darwin", "FreeBSD", "OpenBSD", "NetBSD"))
    return [
        f"redis_version:{REDIS_VERSION}",
        "redis_git_sha1:00000000",
        "redis_git_dirty:0",
        "redis_build_id:0",
        f"redis_mode:{host.mode}",
        f"os:{host.os}",
        f"arch_bits:{host.arch_bits}",
        "monotonic_clock:POSIX clock_gettime",
        f"multiplexing_api:{'kqueue' if bsd else 'epoll'}",
        "atomicvar_api:none",
        "gcc_version:0.0.0",
        f"process_id:{host.pid}",
        "process_supervised:no",
        f"run_id:{e.run_id}",
        f"tcp_port:{host.tcp_port}",
        f"server_time_usec:{now_ms * 1000}",
        f"uptime_in_seconds:{uptime}",
        f"uptime_in_days:{uptime // SECONDS_PER_DAY}",
        f"hz:{hz}",
        f"configured_hz:{hz}",
        f"lru_clock:{(now_ms // 1000) & LRU_CLOCK_MAX}",
        f"executable:{host.executable}",
        f"config_file:{host.config_file}",
        "io_threads_active:0",
        f"gyrekv_version:{GYREKV_VERSION}",
    ]


def _clients(e: EngineView, now_ms: int) -> list[str]:
    sessions = list(e.clients.values())
    max_in = max((c.query_buffer_bytes for c in sessions), default=0)
    max_out = max((c.output_buffer_bytes for c in sessions), default=0)
    blocked = sum(1 for c in sessions if c.blocked is not None)
    # Redis's timeout table holds only the clients blocked with a timeout.
    timed = sum(1 for c in sessions if c.blocked is not None and c.blocked.deadline_ms)
    return [
        f"connected_clients:{len(sessions)}",
        "cluster_connections:0",
        f"maxclients:{e.config['maxclients']}",
        f"client_recent_max_input_buffer:{max_in}",
        f"client_recent_max_output_buffer:{max_out}",
        f"blocked_clients:{blocked}",
        "tracking_clients:0",
        f"clients_in_timeout_table:{timed}",
    ]


def _script_counts(e: EngineView) -> list[str]:
    """INFO memory's script counts (crdt.scripting): cached scripts, functions, libraries."""
    vm = e.lua_vm
    scripts, functions, libraries = (0, 0, 0) if vm is None else (
        len(vm.scripts), len(vm.libraries.functions), len(vm.libraries.libraries))
    return [f"number_of_cached_scripts:{scripts}", f"number_of_functions:{functions}",
            f"number_of_libraries:{libraries}"]


def _memory(e: EngineView, now_ms: int) -> list[str]:
    # used_memory is gyrekv's estimate of its data (crdt.memory_account), as
    # eviction compares it with maxmemory; the RSS is the process's real size.
    from crdt.memory_account import refresh

    used = refresh(e)  # type: ignore[arg-type]
    account = e.account
    rss = e.host.rss_bytes()
    human = bytes_to_human(used)
    maxmemory = e.config["maxmemory"]
    ratio = rss / used if used else 0.0
    return [
        f"used_memory:{used}",
        f"used_memory_human:{human}",
        f"used_memory_rss:{rss}",
        f"used_memory_rss_human:{bytes_to_human(rss)}",
        f"used_memory_peak:{account.peak}",
        f"used_memory_peak_human:{bytes_to_human(account.peak)}",
        f"used_memory_peak_perc:{100 * used / account.peak if account.peak else 100:.2f}%",
        f"used_memory_overhead:{account.structure + account.clients}",
        "used_memory_startup:0",
        f"used_memory_dataset:{account.data}",
        f"used_memory_dataset_perc:{100 * account.data / used if used else 0:.2f}%",
        f"allocator_allocated:{used}",
        f"allocator_active:{used}",
        f"allocator_resident:{rss}",
        "total_system_memory:0",
        "total_system_memory_human:0B",
        "used_memory_lua:0",
        "used_memory_vm_eval:0",
        "used_memory_lua_human:0B",
        "used_memory_scripts_eval:0",
        *_script_counts(e),
        "used_memory_vm_functions:0",
        "used_memory_vm_total:0",
        "used_memory_vm_total_human:0B",
        "used_memory_functions:0",
        "used_memory_scripts:0",
        "used_memory_scripts_human:0B",
        f"maxmemory:{maxmemory}",
        f"maxmemory_human:{bytes_to_human(maxmemory)}",
        f"maxmemory_policy:{e.config['maxmemory-policy']}",
        "allocator_frag_ratio:1.00",
        "allocator_frag_bytes:0",
        "allocator_rss_ratio:1.00",
        "allocator_rss_bytes:0",
        "rss_overhead_ratio:1.00",
        "rss_overhead_bytes:0",
        f"mem_fragmentation_ratio:{ratio:.2f}",
        f"mem_fragmentation_bytes:{rss - used}",
        "mem_not_counted_for_evict:0",
        "mem_replication_backlog:0",
        "mem_total_replication_buffers:0",
        "mem_clients_slaves:0",
        f"mem_clients_normal:{sum(c.output_buffer_bytes + c.query_buffer_bytes for c in e.clients.values())}",
        "mem_cluster_links:0",
        "mem_aof_buffer:0",
        "mem_allocator:pymalloc",
        "active_defrag_running:0",
        "lazyfree_pending_objects:0",
        "lazyfreed_objects:0",
    ]


def _persistence(e: EngineView, now_ms: int) -> list[str]:
    changes = sum(db.changes for db in e.dbs)
    return [
        f"loading:{int(e.loading)}",
        "async_loading:0",
        "current_cow_peak:0",
        "current_cow_size:0",
        "current_cow_size_age:0",
        "current_fork_perc:0.00",
        "current_save_keys_processed:0",
        "current_save_keys_total:0",
        f"rdb_changes_since_last_save:{changes}",
        "rdb_bgsave_in_progress:0",
        f"rdb_last_save_time:{e.last_save_ms // 1000}",
        "rdb_last_bgsave_status:ok",
        "rdb_last_bgsave_time_sec:-1",
        "rdb_current_bgsave_time_sec:-1",
        "rdb_saves:0",
        "rdb_last_cow_size:0",
        "rdb_last_load_keys_expired:0",
        "rdb_last_load_keys_loaded:0",
        "aof_enabled:0",
        "aof_rewrite_in_progress:0",
        "aof_rewrite_scheduled:0",
        "aof_last_rewrite_time_sec:-1",
        "aof_current_rewrite_time_sec:-1",
        "aof_last_bgrewrite_status:ok",
        "aof_rewrites:0",
        "aof_rewrites_consecutive_failures:0",
        "aof_last_write_status:ok",
        "aof_last_cow_size:0",
        "module_fork_in_progress:0",
        "module_fork_last_cow_size:0",
    ]


def _stats(e: EngineView, now_ms: int) -> list[str]:
    st = e.stats
    channels = e.pubsub.channels
    patterns = e.pubsub.patterns
    return [
        f"total_connections_received:{st.connections_received}",
        f"total_commands_processed:{e.total_commands}",
        "instantaneous_ops_per_sec:0",
        f"total_net_input_bytes:{st.net_input_bytes}",
        f"total_net_output_bytes:{st.net_output_bytes}",
        "total_net_repl_input_bytes:0",
        "total_net_repl_output_bytes:0",
        "instantaneous_input_kbps:0.00",
        "instantaneous_output_kbps:0.00",
        "instantaneous_input_repl_kbps:0.00",
        "instantaneous_output_repl_kbps:0.00",
        f"rejected_connections:{st.rejected_connections}",
        "sync_full:0",
        "sync_partial_ok:0",
        "sync_partial_err:0",
        f"expired_keys:{e.expired_keys}",
        "expired_stale_perc:0.00",
        "expired_time_cap_reached_count:0",
        "expire_cycle_cpu_milliseconds:0",
        f"evicted_keys:{st.evicted_keys}",
        "evicted_clients:0",
        "total_eviction_exceeded_time:0",
        "current_eviction_exceeded_time:0",
        f"keyspace_hits:{sum(db.hits for db in e.dbs)}",
        f"keyspace_misses:{sum(db.misses for db in e.dbs)}",
        f"pubsub_channels:{len(channels)}",
        f"pubsub_patterns:{len(patterns)}",
        f"pubsubshard_channels:{len(e.pubsub.shard_channels)}",
        "latest_fork_usec:0",
        "total_forks:0",
        "migrate_cached_sockets:0",
        "slave_expires_tracked_keys:0",
        "active_defrag_hits:0",
        "active_defrag_misses:0",
        "active_defrag_key_hits:0",
        "active_defrag_key_misses:0",
        "total_active_defrag_time:0",
        "current_active_defrag_time:0",
        "tracking_total_keys:0",
        "tracking_total_items:0",
        "tracking_total_prefixes:0",
        "unexpected_error_replies:0",
        f"total_error_replies:{st.error_replies}",
        "dump_payload_sanitizations:0",
        "total_reads_processed:0",
        "total_writes_processed:0",
        "io_threaded_reads_processed:0",
        "io_threaded_writes_processed:0",
        "reply_buffer_shrinks:0",
        "reply_buffer_expands:0",
    ]


def _replication(e: EngineView, now_ms: int) -> list[str]:
    return [
        "role:master",
        "connected_slaves:0",
        "master_failover_state:no-failover",
        f"master_replid:{e.run_id}",
        "master_replid2:" + "0" * 40,
        "master_repl_offset:0",
        "second_repl_offset:-1",
        "repl_backlog_active:0",
        f"repl_backlog_size:{REPL_BACKLOG_BYTES}",
        "repl_backlog_first_byte_offset:0",
        "repl_backlog_histlen:0",
    ] + (e.replication_info(now_ms) if e.replication_info is not None else [])


def _cpu(e: EngineView, now_ms: int) -> list[str]:
    user, system = e.host.cpu_seconds()
    return [
        f"used_cpu_sys:{system:.6f}",
        f"used_cpu_user:{user:.6f}",
        "used_cpu_sys_children:0.000000",
        "used_cpu_user_children:0.000000",
        f"used_cpu_sys_main_thread:{system:.6f}",
        f"used_cpu_user_main_thread:{user:.6f}",
    ]


def _modules(e: EngineView, now_ms: int) -> list[str]:
    return []


def _commandstats(e: EngineView, now_ms: int) -> list[str]:
    rejected = getattr(e, "rejected_calls", None)
    lines = []
    for cmd in e.table.by_name.values():
        i = cmd.index
        calls = e.calls[i]
        failed = e.failed_calls[i]
        rej = rejected[i] if rejected is not None else 0
        if calls or failed or rej:
            lines.append(f"cmdstat_{cmd.name}:calls={calls},usec=0,usec_per_call=0.00,"
                         f"rejected_calls={rej},failed_calls={failed}")
    return lines


def _errorstats(e: EngineView, now_ms: int) -> list[str]:
    codes = e.stats.errors_by_code
    return [f"errorstat_{code.decode(errors='replace')}:count={codes[code]}"
            for code in sorted(codes)]


def _latencystats(e: EngineView, now_ms: int) -> list[str]:
    return []  # gyrekv keeps no per-command latency histograms


def _cluster(e: EngineView, now_ms: int) -> list[str]:
    return ["cluster_enabled:0"]


def _avg_ttl_ms(expires: dict[bytes, int], now_ms: int) -> int:
    total = 0
    count = 0
    for when in expires.values():
        if count >= AVG_TTL_SAMPLE_KEYS:
            break
        total += max(0, when - now_ms)
        count += 1
    return total // count if count else 0


def _keyspace(e: EngineView, now_ms: int) -> list[str]:
    lines = []
    for db in e.dbs:
        keys = len(db)
        if keys:
            lines.append(f"db{db.index}:keys={keys},expires={len(db.expires)},"
                         f"avg_ttl={_avg_ttl_ms(db.expires, now_ms)}")
    return lines


_BUILDERS: dict[str, Callable[[EngineView, int], list[str]]] = {
    "server": _server, "clients": _clients, "memory": _memory, "persistence": _persistence,
    "stats": _stats, "replication": _replication, "cpu": _cpu, "modules": _modules,
    "commandstats": _commandstats, "errorstats": _errorstats, "latencystats": _latencystats,
    "cluster": _cluster, "keyspace": _keyspace,
}


def build_info(engine: EngineView, args: list[bytes], now_ms: int) -> bytes:
    """The INFO reply text for the given section arguments.

    Args:
        engine: the engine reported on.
        args: the section names given to INFO (may be empty).
        now_ms: the current time in milliseconds.

    Returns:
        "# Section\\r\\nfield:value\\r\\n..." with a blank line between sections,
        or b"" if no known section was asked for.
    """
    chosen = select_sections(args)
    parts = []
    for name in SECTION_ORDER:
        if name in chosen:
            title = _TITLES.get(name, name.capitalize())
            lines = [f"# {title}"] + _BUILDERS[name](engine, now_ms)
            parts.append("".join(line + "\r\n" for line in lines))
    return "\r\n".join(parts).encode()


def parse_info(text: bytes) -> dict[str, dict[str, str]]:
    """Split INFO text into {section title: {field: value}} (for tests and tools)."""
    out: dict[str, dict[str, str]] = {}
    current: dict[str, str] | None = None
    for line in text.decode(errors="replace").split("\r\n"):
        if line.startswith("# "):
            current = out.setdefault(line[2:], {})
        elif line and current is not None:
            field, _, value = line.partition(":")
            current[field] = value
    return out
