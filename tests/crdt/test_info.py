"""Unit tests of INFO (crdt/info.py through the INFO command): section choice and order,
the CRLF layout, and every value read from the engine, on virtual time.
"""

from __future__ import annotations


import pytest

from crdt.engine import Engine, HostInfo
from crdt.info import bytes_to_human, parse_info, select_sections
from protocol.replies import Verbatim
from protocol.resp import encode
from tests.helpers import EngineBox

T0 = 1_700_000_000_000
DEFAULT_TITLES = ["Server", "Clients", "Memory", "Persistence", "Stats", "Replication", "CPU",
                  "Modules", "Errorstats", "Cluster", "Keyspace"]
ALL_TITLES = ["Server", "Clients", "Memory", "Persistence", "Stats", "Replication", "CPU",
              "Modules", "Commandstats", "Errorstats", "Latencystats", "Cluster", "Keyspace"]


def make_host() -> HostInfo:
    return HostInfo(pid=4242, tcp_port=6390, executable="/usr/bin/gyre", start_ms=T0 - 90_000_000,
                    rss_bytes=lambda: 12_292_096, cpu_seconds=lambda: (1.5, 0.25),
                    os="Linux 6.1.0 x86_64", arch_bits=64)


class Box(EngineBox):
    """An engine with a known host and a session, on a clock that only moves when told."""

    def __init__(self) -> None:
        engine = Engine(now_ms=T0, host=make_host())
        super().__init__(engine=engine, session=engine.open_session(T0, addr="127.0.0.1:5000"))

    def info(self, *sections: str) -> dict[str, dict[str, str]]:
        text = self("INFO", *sections)
        assert isinstance(text, Verbatim)
        return parse_info(text)


@pytest.fixture
def box() -> Box:
    return Box()


def titles(text: bytes) -> list[str]:
    return [line[2:] for line in text.decode().split("\r\n") if line.startswith("# ")]


def test_default_sections_and_layout(box: Box) -> None:
    text = box("INFO")
    assert titles(text) == DEFAULT_TITLES
    assert text.startswith(b"# Server\r\nredis_version:7.0.15\r\n")
    assert text.endswith(b"\r\n") and not text.endswith(b"\r\n\r\n")
    assert b"\r\n\r\n# Clients\r\n" in text
    assert b"\n" not in text.replace(b"\r\n", b"")
    assert titles(box("INFO", "default")) == DEFAULT_TITLES


@pytest.mark.parametrize("args,expected", [
    (("all",), ALL_TITLES), (("everything",), ALL_TITLES), (("EVERYTHING",), ALL_TITLES),
    (("clients", "server"), ["Server", "Clients"]), (("server", "nosuch", "CLIENTS"), ["Server", "Clients"]),
    (("commandstats",), ["Commandstats"]), (("cpu",), ["CPU"]), (("nosuch",), []),
    (("default", "commandstats"), DEFAULT_TITLES[:8] + ["Commandstats"] + DEFAULT_TITLES[8:]),
])
def test_section_selection(box: Box, args: tuple[str, ...], expected: list[str]) -> None:
    assert titles(box("INFO", *args)) == expected


def test_unknown_section_is_empty(box: Box) -> None:
    assert box("INFO", "nosuch") == b""
    assert select_sections([]) == select_sections([b"default"])


def test_resp3_is_verbatim_text(box: Box) -> None:
    wire = encode(box("INFO", "cluster"), True)
    assert wire == b"=34\r\ntxt:# Cluster\r\ncluster_enabled:0\r\n\r\n"
    assert encode(box("INFO", "cluster"), False) == b"$30\r\n# Cluster\r\ncluster_enabled:0\r\n\r\n"


def test_server_section(box: Box) -> None:
    box.now += 5_000
    s = box.info("server")["Server"]
    assert s["redis_version"] == "7.0.15" and s["redis_mode"] == "standalone"
    assert s["os"] == "Linux 6.1.0 x86_64" and s["arch_bits"] == "64"
    assert s["process_id"] == "4242" and s["tcp_port"] == "6390"
    assert s["run_id"] == box.engine.run_id and len(s["run_id"]) == 40
    assert s["uptime_in_seconds"] == "90005" and s["uptime_in_days"] == "1"
    assert s["hz"] == "10" and s["configured_hz"] == "10" and s["executable"] == "/usr/bin/gyre"
    assert s["server_time_usec"] == str(box.now * 1000)
    assert s["lru_clock"] == str((box.now // 1000) & 0xFFFFFF)
    assert s["multiplexing_api"] == "epoll" and s["gyrekv_version"]
    box("CONFIG", "SET", "hz", "100")
    assert box.info("server")["Server"]["hz"] == "100"


def test_clients_section(box: Box) -> None:
    other, timed = box.engine.open_session(box.now), box.engine.open_session(box.now)
    box.engine.execute([b"BLPOP", b"q", b"0"], other, box.now)
    box.engine.execute([b"BLPOP", b"q", b"5"], timed, box.now)
    other.query_buffer_bytes = 77
    c = box.info("clients")["Clients"]
    assert c["connected_clients"] == "3" and c["blocked_clients"] == "2"
    assert c["clients_in_timeout_table"] == "1"  # as Redis: only those blocked with a timeout
    assert c["maxclients"] == "10000" and c["client_recent_max_input_buffer"] == "77"


def test_memory_section(box: Box) -> None:
    m = box.info("memory")["Memory"]
    # used_memory is gyrekv's estimate of its data (crdt.memory_account), the RSS the driver's.
    assert 0 < int(m["used_memory"]) < 1_000_000
    assert m["used_memory_rss"] == "12292096" and m["used_memory_rss_human"] == "11.72M"
    assert m["maxmemory"] == "0" and m["maxmemory_human"] == "0B"
    assert m["maxmemory_policy"] == "noeviction" and m["mem_allocator"]


@pytest.mark.parametrize("n,text", [
    (0, "0B"), (1023, "1023B"), (1024, "1.00K"), (941_192, "919.13K"), (12_292_096, "11.72M"),
    (25_276_514_304, "23.54G"), (2**40, "1.00T"), (2**50, "1.00P"), (2**60, f"{2**60}B"),
])
def test_bytes_to_human(n: int, text: str) -> None:
    assert bytes_to_human(n) == text


def test_persistence_section(box: Box) -> None:
    box("SET", "a", "1")
    box("SET", "b", "2")
    p = box.info("persistence")["Persistence"]
    assert p["aof_enabled"] == "0" and p["rdb_changes_since_last_save"] == "2"
    assert p["rdb_last_save_time"] == str(T0 // 1000) and p["loading"] == "0"


def test_stats_section(box: Box) -> None:
    box("SET", "k", "v")
    box("GET", "k")
    box("GET", "missing")
    box("SET", "t", "v", "PX", "10")
    box.now += 20
    box("GET", "t")
    box("NOSUCH")
    box("GET")
    box.engine.stats.net_input_bytes = 123
    s = box.info("stats")["Stats"]
    assert s["keyspace_hits"] == "1" and s["keyspace_misses"] == "2"
    assert s["expired_keys"] == "1" and s["total_error_replies"] == "2"
    assert s["total_connections_received"] == "1" and s["total_net_input_bytes"] == "123"
    # Like Redis, a command is counted once it has run: this INFO is not in its own count,
    # and neither are the two rejected commands (unknown, wrong arity).
    assert s["total_commands_processed"] == "5" and s["rejected_connections"] == "0"
    assert s["instantaneous_ops_per_sec"] == "0"


def test_stats_pubsub_counts(box: Box) -> None:
    other = box.engine.open_session(box.now)
    pubsub = box.engine.pubsub
    for channel in (b"a", b"b"):
        pubsub.subscribe(box.session, channel)
    pubsub.subscribe(other, b"a")
    pubsub.psubscribe(other, b"p*")
    box.session.resp3 = True  # so INFO may run while subscribed
    s = box.info("stats")["Stats"]
    assert s["pubsub_channels"] == "2" and s["pubsub_patterns"] == "1"


def test_replication_cpu_modules_cluster(box: Box) -> None:
    i = box.info("replication", "cpu", "modules", "cluster")
    assert i["Replication"]["role"] == "master" and i["Replication"]["connected_slaves"] == "0"
    assert i["CPU"]["used_cpu_user"] == "1.500000" and i["CPU"]["used_cpu_sys"] == "0.250000"
    assert i["Modules"] == {} and i["Cluster"] == {"cluster_enabled": "0"}


def test_errorstats_sorted_by_code(box: Box) -> None:
    box("NOSUCH")
    box("NOSUCH")
    box("SET", "k", "v")
    box("INCR", "k")
    box("AUTH", "x", "y")
    e = box.info("errorstats")["Errorstats"]
    assert e == {"errorstat_ERR": "count=3", "errorstat_WRONGPASS": "count=1"}
    assert list(e) == sorted(e)


def test_commandstats(box: Box) -> None:
    box("SET", "k", "v")
    box("SET", "k", "v", "NX", "XX")
    box("CONFIG", "GET", "hz")
    box("COMMAND", "COUNT")
    box("COMMAND", "NOSUCH")
    c = box.info("commandstats")["Commandstats"]
    assert c["cmdstat_set"] == "calls=2,usec=0,usec_per_call=0.00,rejected_calls=0,failed_calls=1"
    assert c["cmdstat_config|get"].startswith("calls=1,")
    assert c["cmdstat_command|count"].startswith("calls=1,")
    assert "cmdstat_command" not in c and "cmdstat_get" not in c


def test_keyspace_section(box: Box) -> None:
    assert box.info("keyspace")["Keyspace"] == {}
    box("SET", "a", "1")
    box("SET", "b", "1", "PX", "1000")
    box("SET", "c", "1", "PX", "3000")
    box("SELECT", "5")
    box("SET", "x", "1")
    k = box.info("keyspace")["Keyspace"]
    assert k == {"db0": "keys=3,expires=2,avg_ttl=2000", "db5": "keys=1,expires=0,avg_ttl=0"}
