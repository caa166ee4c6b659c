"""What the engine knows of its process and what it counts: `HostInfo` and `Stats`.

Plain data below the engine and the session, so the handlers' view of the
engine (`crdt.session.EngineView`) can name them without an import cycle.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(slots=True)
class HostInfo:
    """Facts about the process the engine runs in, given by the driver (INFO server/memory)."""

    pid: int = 0
    tcp_port: int = 0
    executable: str = ""
    config_file: str = ""
    start_ms: int = 0
    rss_bytes: Callable[[], int] = lambda: 0
    cpu_seconds: Callable[[], tuple[float, float]] = lambda: (0.0, 0.0)  # (user, system)
    os: str = ""
    arch_bits: int = 64
    python_version: str = ""
    mode: str = "standalone"


@dataclass(slots=True)
class Stats:
    """Counters reported by INFO stats, reset by CONFIG RESETSTAT."""

    connections_received: int = 0
    rejected_connections: int = 0
    error_replies: int = 0
    net_input_bytes: int = 0
    net_output_bytes: int = 0
    expired_keys: int = 0
    expire_cycles: int = 0
    evicted_keys: int = 0
    errors_by_code: dict[bytes, int] = field(default_factory=dict)
