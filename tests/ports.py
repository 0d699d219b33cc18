"""A free TCP port on the loopback for a server a test starts (the sandbox's bot behind a webhook, 1C, a panel)."""

from __future__ import annotations

import random
import socket
from pathlib import Path


def _ephemeral() -> tuple[int, int]:
    """The ports the system hands out to outgoing connections (Linux's ip_local_port_range)."""
    try:
        low, high = (int(n) for n in Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
        return low, high
    except (OSError, ValueError):
        return 32768, 60999


def free_port() -> int:
    """A free port below the range outgoing connections take theirs from. A port the system hands out and takes
    back (bind to 0) is in that range, and on a loaded machine a test's own HTTP clients took one before its server
    bound it («address already in use»); below it only another test's server could, and a random pick makes that
    unlikely."""
    low = _ephemeral()[0]
    for _ in range(200):
        port = random.randrange(max(1024, low - 12000), low)
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    with socket.socket() as probe:  # the range below is taken: the system's pick, as before
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
