"""A free TCP port on the loopback for a server a test starts (the sandbox's bot behind a webhook, 1C, a panel)."""

from __future__ import annotations

import socket


def free_port() -> int:
    """A port the system just handed out and took back: free unless another process takes it meanwhile."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
